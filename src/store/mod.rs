//! The message store: RocketMQ-compatible on-disk formats and the building blocks of
//! the commit log and consume queues.
//!
//! Everything here is synchronous and free of any runtime, so it can be driven from
//! whatever threads or actors the broker uses:
//!
//! * [`error`]: typed errors naming the path/offsets involved;
//! * [`paths`]: file naming and the store directory layout, atomic file replace;
//! * [`message`]: the stored-message record codec, properties, message ids, batches;
//! * [`mapped_file`]: a fixed-size mmapped file; one writer / many readers, enforced by its types;
//!   growable files (consume queues) that start short and are extended by remapping;
//! * [`fallocate`]: block allocation for mapped files, never sparse;
//! * [`commit_log`]: start-up recovery of the commit log and its append state machine (roll,
//!   blank marker, staged write and unwind, seal, retention's deletions);
//! * [`group_commit`]: sync flush's waiting senders and flush requests;
//! * [`consume_queue`]: the per topic-queue 20-byte entry index;
//! * [`consume_queues`]: every queue, their start-up recovery, and the reput state machine;
//! * [`index`]: the message index files (lookup by key / unique key), RocketMQ's `IndexService`;
//! * [`read`]: pulls with tag filters, pull statuses, records by offset, search by time;
//! * [`recovery`]: the pure scan that finds the valid end of a commit-log file;
//! * [`checkpoint`]: the 4 KiB checkpoint page;
//! * [`check`]: the read-only audit of the consume queues against a scan of the commit log;
//! * [`retention`]: which old commit-log files to delete, and the disk usage it depends on;
//! * [`disk_space`]: whether the store may take new messages (full by ratio or by `ENOSPC`).

pub mod check;
pub mod checkpoint;
pub mod commit_log;
pub mod consume_queue;
pub mod consume_queues;
pub mod disk_space;
pub mod error;
pub mod fallocate;
pub mod group_commit;
pub mod index;
pub mod lock;
pub mod mapped_file;
pub mod message;
pub mod paths;
pub mod read;
pub mod recovery;
pub mod retention;

pub use error::{Result, StoreError};

/// Milliseconds since the Unix epoch: RocketMQ's unit for born/store timestamps, checkpoints and
/// data versions (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
