//! The commit log: every message of every topic, appended to a chain of fixed-size mapped files
//! (RocketMQ's `CommitLog`). Two halves, both synchronous and free of any runtime:
//!
//! * [`recover`]: opening the files at start-up and finding where the log ends;
//! * [`CommitLog`]: the append state machine the `CommitLogWriter` actor drives — the file table,
//!   the write and published offsets, every topic-queue's next queue offset, rolling to the next
//!   file behind a blank marker, the sync-flush mode's staged write (one `pwrite` per turn) and its
//!   unwinding when that write fails, sealing and retention's deletions.
//!
//! Bytes become visible to readers only when published (`FileWriter::publish` per file, and the
//! log-wide published offset for the flusher): a record is published once it is completely in the
//! file, never before. The records appended and published are handed out as [`DispatchRun`]s so
//! the consume queues can index them without re-reading the log.

mod recover;
mod replica;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tracing::{debug, error, info, warn};

pub use recover::{recover, RecoveredLog, Scan, CLEAN_START_SCANNED_FILES};
pub use replica::ReplicaError;

use super::consume_queue::{CqEntry, DispatchRun, RunEntries};
use super::index::IndexedKey;
use super::mapped_file::{FileWriter, MappedFile};
use super::message::{patch_offsets, write_blank};
use super::{now_ms, paths, StoreError};
use crate::FastMap;

/// Next queue offset per topic and queue id.
pub type QueueOffsets = FastMap<String, FastMap<i32, i64>>;

/// The commit log's files, oldest first: an immutable snapshot, replaced on every roll.
pub type FileTable = Arc<Vec<Arc<MappedFile>>>;

/// RocketMQ's `END_FILE_MIN_BLANK_LENGTH`: room always kept for the end-of-file marker.
pub const BLANK_MARKER_LEN: u64 = 8;

/// Files the allocator keeps ready beyond the one being written.
const FILES_AHEAD: u64 = 2;

/// Where one append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Commit-log offset of the first record.
    pub physical_offset: i64,
    /// Queue offset of the first record; the others follow consecutively.
    pub queue_offset: i64,
    /// Bytes written (all records).
    pub bytes: u64,
    pub store_timestamp: i64,
}

impl Appended {
    /// Commit-log offset just past the last record.
    pub fn end(&self) -> u64 {
        self.physical_offset as u64 + self.bytes
    }
}

/// Why an append did not happen, or did but is not durable yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// The next file could not be created (disk full, permissions). Nothing was written.
    CreateMappedFileFailed(String),
    /// Writing the bytes into the file failed (an I/O error). Nothing was published.
    WriteFailed(String),
    /// The batch is larger than one commit-log file.
    TooLarge { bytes: u64, file_size: u64 },
    /// The store is shutting down.
    Sealed,
    /// The writer's mailbox is full: flow control (`SYSTEM_BUSY`).
    Busy,
    /// Stored, but not flushed within `flush.sync_timeout_ms`.
    FlushTimeout(Appended),
    /// The store's disk is full (`store::disk_space`): nothing was written. Carries the disk's
    /// percent used, in hundredths, for the refusal's remark.
    NotWritable { used_hundredths: u32 },
    /// SYNC_MASTER: stored here, but no slave is connected or the slave is too far behind.
    SlaveNotAvailable(Appended),
    /// SYNC_MASTER: stored here, but no slave acknowledged it within `ha.slave_timeout_ms`.
    SlaveTimeout(Appended),
    /// This broker is a slave: only its master's bytes enter its commit log.
    NotMaster,
}

impl AppendError {
    /// Where the records went when they were stored in spite of the error (a flush or a slave
    /// that did not confirm in time); `None` when nothing was stored.
    pub fn stored(&self) -> Option<&Appended> {
        match self {
            AppendError::FlushTimeout(a)
            | AppendError::SlaveNotAvailable(a)
            | AppendError::SlaveTimeout(a) => Some(a),
            _ => None,
        }
    }
}

/// How appended bytes reach the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Async flush: a copy into the mapping, published at once.
    Mapped,
    /// Sync flush: staged, written with one `pwrite` per turn ([`CommitLog::write_staged`]) and
    /// published after it. What a sender waits for there is the flush, and pages dirtied by
    /// `write(2)` flush several times faster than pages dirtied through the mapping
    /// (`FileWriter::write_through`); in async mode a system call per append would be the cost
    /// (4x64 sends: -15..25% msgs/s).
    Staged,
}

/// Mapped mode: how far ahead of the write position the active file is kept written with zeros
/// through its descriptor, and how little may be left before the next stretch is written
/// ([`CommitLog::zero_ahead`]).
const ZERO_AHEAD: usize = 1 << 20;
const ZERO_REFILL: usize = 512 << 10;

/// How the commit log is set up.
#[derive(Debug, Clone)]
pub struct CommitLogOptions {
    pub dir: PathBuf,
    pub file_size: u64,
    pub write_mode: WriteMode,
    /// Fault injection (tests only): the staged write that fails (1 = the first).
    pub fail_write: Option<u64>,
}

/// Sync mode: the bytes appended during one turn, contiguous in the active file, written with a
/// single `pwrite` instead of one per append. Each `pwrite` costs ext4 a `write_begin`/`write_end`
/// per page it touches; at 25 sends per flush, per-append `pwrite`s were a quarter of the main
/// thread's time (perf, 4x16).
#[derive(Default)]
struct Staged {
    /// Position in the active file of `bytes[0]`.
    pos: usize,
    bytes: Vec<u8>,
}

/// The append state machine (see the module comment).
pub struct CommitLog {
    dir: PathBuf,
    file_size: u64,
    mode: WriteMode,
    files: Vec<Arc<MappedFile>>,
    /// The writer of the last file while the write offset is inside it.
    active: Option<FileWriter>,
    /// End of everything appended (in sync mode possibly not written yet).
    write_offset: u64,
    /// Everything below it is in the file: shared with the flusher and the metrics.
    published: Arc<AtomicU64>,
    /// Each topic's next queue offsets, and its name as the dispatch runs share it.
    queue_offsets: FastMap<String, TopicQueues>,
    /// Files prepared ahead (by the allocator), in offset order.
    prepared: VecDeque<FileWriter>,
    /// Start offset of the furthest file asked for.
    requested_upto: Option<u64>,
    staged: Staged,
    /// Staged writes so far, and the one to fail on purpose.
    writes: u64,
    fail_write: Option<u64>,
    /// Appended records not yet handed out for dispatch.
    to_dispatch: Vec<DispatchRun>,
    table_changed: bool,
    sealed: bool,
    /// Bytes an allocation or write failed to get for lack of space (`ENOSPC`), not yet reported
    /// ([`CommitLog::take_out_of_space`]).
    out_of_space: Option<u64>,
    /// A slave's log: local appends are refused, only `append_replicated` writes.
    replica: bool,
    /// Slave whose records are indexed: `append_replicated` derives each record's index keys
    /// while it checks the record (`take_dispatch`).
    replica_index: bool,
    /// Those keys, for the records in `to_dispatch`.
    to_index: Vec<IndexedKey>,
    /// Slave: where the next replicated record begins (parsing resumes there; above the write
    /// offset after a blank marker, until the rest of its file has arrived).
    replica_parse_at: u64,
    /// Mapped mode: log offset up to which the active file was written with zeros ahead.
    zeroed_upto: u64,
    /// `ZERO_AHEAD` zeros, allocated on first use.
    zeros: Vec<u8>,
}

impl CommitLog {
    /// Takes over what recovery found: the last file becomes the active one if it has room.
    pub fn new(log: RecoveredLog, options: CommitLogOptions) -> CommitLog {
        let mut files: Vec<MappedFile> = log.files;
        let last_has_room = files
            .last()
            .is_some_and(|f| log.write_offset < f.start_offset() + f.size());
        let active = if last_has_room {
            files.pop().map(MappedFile::into_writer)
        } else {
            None
        };
        let mut files: Vec<Arc<MappedFile>> = files.into_iter().map(Arc::new).collect();
        files.extend(active.as_ref().map(|w| w.file().clone()));
        CommitLog {
            dir: options.dir,
            file_size: options.file_size,
            mode: options.write_mode,
            files,
            active,
            write_offset: log.write_offset,
            published: Arc::new(AtomicU64::new(log.write_offset)),
            queue_offsets: log
                .queue_offsets
                .into_iter()
                .map(|(topic, next)| {
                    let name = topic.as_str().into();
                    (topic, TopicQueues { name, next })
                })
                .collect(),
            prepared: VecDeque::new(),
            requested_upto: None,
            staged: Staged::default(),
            writes: 0,
            fail_write: options.fail_write,
            to_dispatch: Vec::new(),
            table_changed: false,
            sealed: false,
            out_of_space: None,
            replica: false,
            replica_index: false,
            to_index: Vec::new(),
            replica_parse_at: log.write_offset,
            zeroed_upto: log.write_offset,
            zeros: Vec::new(),
        }
    }

    /// Mapped mode, before bytes go to `[pos, pos + len)` of the active file: when less than
    /// `ZERO_REFILL` bytes past them are written with zeros, writes zeros from the first byte not
    /// yet zeroed (never below `pos`: nothing there is written yet) up to `ZERO_AHEAD` past them,
    /// with `pwrite`.
    ///
    /// Why: a copy through the mapping into a `fallocate`d page the page cache does not hold yet
    /// faults, and the fault reads the page in as zeros, one 4 KiB page at a time. A `pwrite` of a
    /// large stretch fills the page cache in large folios instead. On the reference VM (host
    /// free-page reporting) that is 0.08-0.13 s of machine time per 256 MiB against 0.75-0.91 s
    /// (`docs/benchmarks.md`), ~1 us per 300-byte record. The stretch stays dirty for the
    /// milliseconds until the records replace it, so it is written back once, with the records
    /// (Java's transient store pool writes the commit log through its channel the same way). A
    /// failed `pwrite` costs nothing but the speed-up: the copy faults the pages in as before.
    fn zero_ahead(&mut self, pos: usize, len: usize) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let start = active.file().start_offset();
        let size = active.file().size() as usize;
        let zeroed = self.zeroed_upto.saturating_sub(start) as usize;
        let end = pos.saturating_add(len);
        if zeroed >= size || zeroed >= end.saturating_add(ZERO_REFILL) {
            return;
        }
        let to = end.saturating_add(ZERO_AHEAD).min(size);
        if self.zeros.is_empty() {
            self.zeros = vec![0; ZERO_AHEAD];
        }
        let mut at = zeroed.max(pos);
        while at < to {
            let n = (to - at).min(self.zeros.len());
            if let Err(e) = active.write_through(at, &self.zeros[..n]) {
                debug!(error = %e, "writing zeros ahead of the commit log's write position failed");
                break;
            }
            at += n;
        }
        self.zeroed_upto = start + to as u64;
    }

    /// The log-wide published offset, shared (acquire to read): every byte below it is written.
    pub fn published_offset(&self) -> Arc<AtomicU64> {
        self.published.clone()
    }

    /// Makes this a slave's log: local appends are refused from now on.
    pub fn set_replica(&mut self) {
        self.replica = true;
    }

    /// A slave's log whose records the dispatcher indexes: the keys are derived as each
    /// replicated record is checked, and handed out by [`CommitLog::take_dispatch`].
    pub fn derive_index_keys(&mut self) {
        self.replica_index = true;
    }

    /// A slave's log (`set_replica`).
    pub fn is_replica(&self) -> bool {
        self.replica
    }

    /// The published offset (this state machine is the only one that stores it).
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// End of everything appended.
    pub fn write_offset(&self) -> u64 {
        self.write_offset
    }

    /// The commit-log directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The file table as readers see it.
    pub fn table(&self) -> FileTable {
        Arc::new(self.files.clone())
    }

    /// A new file table since the last call (a roll or a deletion): the readers need it.
    pub fn take_table_change(&mut self) -> Option<FileTable> {
        std::mem::take(&mut self.table_changed).then(|| self.table())
    }

    /// True while appends of the current turn wait to be handed out (`take_runs`).
    pub fn turn_open(&self) -> bool {
        !self.to_dispatch.is_empty()
    }

    /// Appends encoded records (one, or a batch for one topic-queue, back to back, each beginning
    /// with its TOTALSIZE): patches queue offset, physical offset and store timestamp in, rolls to
    /// the next file first if they do not fit in this one (writing the blank marker), and puts
    /// the bytes in the file (`WriteMode`). `tags_codes` has the consume-queue tag code of each
    /// record.
    pub fn append(
        &mut self,
        topic: String,
        queue_id: i32,
        records: &mut [u8],
        count: u32,
        tags_codes: &[i64],
    ) -> Result<Appended, AppendError> {
        if self.sealed {
            return Err(AppendError::Sealed);
        }
        if self.replica {
            return Err(AppendError::NotMaster);
        }
        let len = records.len() as u64;
        if len + BLANK_MARKER_LEN > self.file_size {
            return Err(AppendError::TooLarge {
                bytes: len,
                file_size: self.file_size,
            });
        }
        self.ensure_room(len)?;
        let store_timestamp = now_ms();
        let (queue_offset, topic) = self.next_queue_offsets(&topic, queue_id, count);
        let (mut physical, mut queue, mut at) = (self.write_offset as i64, queue_offset, 0usize);
        let mut entries = RunEntries::with_capacity(count as usize);
        while at + 4 <= records.len() {
            let head: [u8; 4] = records[at..at + 4].try_into().expect("4 bytes");
            let size = (i32::from_be_bytes(head).max(4) as usize).min(records.len() - at);
            patch_offsets(
                &mut records[at..at + size],
                queue,
                physical,
                store_timestamp,
            );
            entries.push(CqEntry {
                commit_log_offset: physical,
                size: size as i32,
                tags_code: tags_codes.get(entries.len()).copied().unwrap_or(0),
            });
            at += size;
            physical += size as i64;
            queue += 1;
        }
        let pos = self.position_in_active();
        if let Err(e) = self.put(pos, records) {
            self.give_back_queue_offsets(&topic, queue_id, queue_offset);
            return Err(e);
        }
        let appended = Appended {
            physical_offset: self.write_offset as i64,
            queue_offset,
            bytes: len,
            store_timestamp,
        };
        self.write_offset += len;
        if self.mode == WriteMode::Mapped {
            self.publish(self.write_offset);
        }
        self.to_dispatch.push(DispatchRun {
            topic,
            queue_id,
            first_queue_offset: queue_offset,
            entries,
        });
        Ok(appended)
    }

    /// Makes sure the active file has room for `len` more bytes and the blank marker, rolling to
    /// the next file (or opening the first) otherwise.
    fn ensure_room(&mut self, len: u64) -> Result<(), AppendError> {
        let Some(active) = &self.active else {
            let start = self.write_offset - self.write_offset % self.file_size;
            return self.roll_to(start);
        };
        let start = active.file().start_offset();
        let pos = self.write_offset - start;
        let room = self.file_size - pos;
        if len + BLANK_MARKER_LEN <= room {
            return Ok(());
        }
        // The marker goes in first (in sync mode out to the file with this turn's earlier
        // appends), unpublished until the roll: if the roll fails, the write offset stays put, and
        // a marker past the last record says what is true, the file holds no more records.
        let mut marker = [0u8; BLANK_MARKER_LEN as usize];
        write_blank(&mut marker, room as i32);
        self.put(pos as usize, &marker)?;
        if self.mode == WriteMode::Staged {
            self.write_staged_holding_back(marker.len())?;
        }
        self.roll_to(start + self.file_size)?;
        self.write_offset += room;
        self.publish(self.write_offset);
        Ok(())
    }

    /// Position of the write offset in the active file.
    fn position_in_active(&self) -> usize {
        let start = self.active.as_ref().map_or(0, |w| w.file().start_offset());
        (self.write_offset - start) as usize
    }

    /// Puts `bytes` at `pos` of the active file: a copy into the mapping, or staged (`WriteMode`).
    fn put(&mut self, pos: usize, bytes: &[u8]) -> Result<(), AppendError> {
        if self.mode == WriteMode::Mapped {
            self.zero_ahead(pos, bytes.len());
        }
        let active = self.active.as_mut().ok_or(AppendError::Sealed)?;
        match self.mode {
            WriteMode::Mapped => active
                .write(pos, bytes)
                .map_err(|e| AppendError::WriteFailed(e.to_string())),
            WriteMode::Staged => {
                let staged = &mut self.staged;
                debug_assert!(
                    staged.bytes.is_empty() || staged.pos + staged.bytes.len() == pos,
                    "staged bytes must be contiguous"
                );
                if staged.bytes.is_empty() {
                    staged.pos = pos;
                }
                staged.bytes.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Moves to a new file at `start`: the prepared one if ready, else created here.
    fn roll_to(&mut self, start: u64) -> Result<(), AppendError> {
        let next = self.take_file(start)?;
        if let Some(mut done) = self.active.take() {
            // Everything in it is written now, the blank marker included.
            done.publish(self.file_size as usize);
        }
        info!(file = %next.file().path().display(), "commit log rolled to a new file");
        self.files.push(next.file().clone());
        self.active = Some(next);
        self.table_changed = true;
        Ok(())
    }

    /// The file starting at `start`: the allocator's if ready, else created here (on-demand mode,
    /// or the allocator fell behind). Never zero-filled here: that takes seconds for 1 GiB.
    fn take_file(&mut self, start: u64) -> Result<FileWriter, AppendError> {
        while let Some(f) = self.prepared.pop_front() {
            if f.file().start_offset() == start {
                return Ok(f);
            }
        }
        let path = self.dir.join(paths::file_name(start));
        let began = Instant::now();
        // The allocator links a file under its real name only once it is complete, so a file
        // found there (made, but not handed over yet) is safe to open; if the allocator links one
        // between our check and our create, the create fails and the finished file is opened.
        let open = || {
            MappedFile::open(&path, start, self.file_size).map(|mut f| {
                f.set_readable_end(0);
                f
            })
        };
        let created = if path.exists() {
            open()
        } else {
            MappedFile::create(&path, start, self.file_size).or_else(|e| {
                if path.exists() {
                    open()
                } else {
                    Err(e)
                }
            })
        };
        match created {
            Ok(f) => {
                if self.requested_upto.is_some() {
                    warn!(path = %path.display(), "allocator fell behind; file created inline");
                }
                info!(
                    path = %path.display(),
                    elapsed_ms = began.elapsed().as_secs_f64() * 1e3,
                    "created commit-log file"
                );
                Ok(f.into_writer())
            }
            Err(e) => {
                error!(path = %path.display(), error = %e, "create mapped file failed");
                if e.is_out_of_space() {
                    self.note_out_of_space(self.file_size);
                }
                Err(AppendError::CreateMappedFileFailed(e.to_string()))
            }
        }
    }

    fn note_out_of_space(&mut self, needed: u64) {
        self.out_of_space = self.out_of_space.max(Some(needed));
    }

    /// The bytes a file creation or write failed to get for lack of space since the last call:
    /// the writer makes the store full (`DiskSpace::out_of_space`). Only worth asking after an
    /// append failed.
    pub fn take_out_of_space(&mut self) -> Option<u64> {
        self.out_of_space.take()
    }

    /// Start offsets of the files to ask the allocator for now: the next file and the one after
    /// it, each asked for once.
    pub fn files_to_prepare(&mut self) -> Vec<u64> {
        // The file the next append goes to (on a new store: prepared at start-up, not yet in
        // `files`), and FILES_AHEAD after it, so that a roll finds its file ready and the
        // zero-filling of a new store's second-ahead file does not wait for the first send.
        let current = self.write_offset - self.write_offset % self.file_size;
        let first = match self.files.last() {
            Some(f) if f.start_offset() >= current => f.start_offset() + self.file_size,
            _ => current,
        };
        let last = current + FILES_AHEAD * self.file_size;
        let mut wanted = Vec::new();
        let mut start = first;
        while start <= last {
            if self.requested_upto.is_none_or(|r| r < start) {
                self.requested_upto = Some(start);
                wanted.push(start);
            }
            start += self.file_size;
        }
        wanted
    }

    /// A file the allocator prepared: kept for the roll that needs it, unless the log already
    /// created that file itself.
    pub fn prepared(&mut self, file: FileWriter) {
        let start = file.file().start_offset();
        if !self.in_use(start) {
            self.requested_upto = self.requested_upto.max(Some(start));
            self.prepared.push_back(file);
        }
    }

    /// Start offset of the file the next append goes to, if that file does not exist yet (a new
    /// store, or the last file is full): start-up has it prepared before the first send.
    pub fn missing_file(&self) -> Option<u64> {
        let start = self.write_offset - self.write_offset % self.file_size;
        let exists = self.active.is_some()
            || self
                .prepared
                .iter()
                .any(|f| f.file().start_offset() == start);
        (!exists).then_some(start)
    }

    /// The allocator could not prepare the file at `start` (it logged why): unless the log made
    /// it itself meanwhile, it is asked for again at the next roll, which creates it inline if
    /// still needed.
    pub fn preparation_failed(&mut self, start: u64) {
        if !self.in_use(start) {
            self.requested_upto = start.checked_sub(self.file_size);
        }
    }

    fn in_use(&self, start: u64) -> bool {
        self.files.last().is_some_and(|f| f.start_offset() >= start)
    }

    fn publish(&mut self, offset: u64) {
        if let Some(active) = &mut self.active {
            let start = active.file().start_offset();
            active.publish(offset.saturating_sub(start) as usize);
        }
        self.published.store(offset, Ordering::Release);
    }

    /// Sync mode: writes this turn's staged bytes with one `pwrite` and publishes them. On failure
    /// every append not yet published is undone (`unwind_unpublished`) and the error returned:
    /// the caller fails the senders waiting above [`CommitLog::published`].
    pub fn write_staged(&mut self) -> Result<(), AppendError> {
        self.write_staged_holding_back(0)
    }

    /// `write_staged`, publishing all but the last `hold_back` bytes (a blank marker, published
    /// with the roll it announces).
    fn write_staged_holding_back(&mut self, hold_back: usize) -> Result<(), AppendError> {
        if self.staged.bytes.is_empty() {
            return Ok(());
        }
        let (pos, len) = (self.staged.pos, self.staged.bytes.len());
        self.writes += 1;
        let Some(active) = self.active.as_mut() else {
            return Err(AppendError::Sealed);
        };
        let written = if self.fail_write == Some(self.writes) {
            Err(StoreError::Io {
                path: active.file().path().to_path_buf(),
                source: std::io::Error::other("injected write failure (fault injection)"),
            })
        } else {
            active.write_through(pos, &self.staged.bytes)
        };
        self.staged.bytes.clear();
        let start = active.file().start_offset();
        match written {
            Ok(()) => {
                self.publish(start + (pos + len - hold_back) as u64);
                Ok(())
            }
            Err(e) => {
                error!(error = %e, bytes = len, "commit-log write failed");
                if e.is_out_of_space() {
                    self.note_out_of_space(len as u64);
                }
                self.unwind_unpublished();
                Err(AppendError::WriteFailed(e.to_string()))
            }
        }
    }

    /// A write failed: the appends above the published offset never reached the file. Their
    /// dispatch runs are dropped, their queues get the offsets back (no gap) and the write offset
    /// returns to the published one, to be written again.
    fn unwind_unpublished(&mut self) {
        let published = self.published();
        while let Some(run) = self.to_dispatch.last() {
            if run.entries.first().map_or(0, |e| e.commit_log_offset) < published as i64 {
                break;
            }
            let run = self.to_dispatch.pop().expect("checked");
            self.give_back_queue_offsets(&run.topic, run.queue_id, run.first_queue_offset);
        }
        self.to_index.retain(|k| k.phy_offset < published as i64);
        self.write_offset = published;
    }

    fn give_back_queue_offsets(&mut self, topic: &str, queue_id: i32, first: i64) {
        if let Some(next) = self
            .queue_offsets
            .get_mut(topic)
            .and_then(|q| q.next.get_mut(&queue_id))
        {
            *next = (*next).min(first);
        }
    }

    /// The runs appended and published since the last call, in commit-log order: the consume
    /// queues never hear of a record before its bytes are in the file.
    pub fn take_runs(&mut self) -> Vec<DispatchRun> {
        self.take_dispatch().0
    }

    /// [`CommitLog::take_runs`], and with [`CommitLog::derive_index_keys`] the index keys of
    /// their records, in commit-log order (`None`: the dispatcher derives them itself).
    pub fn take_dispatch(&mut self) -> (Vec<DispatchRun>, Option<Vec<IndexedKey>>) {
        let published = self.published() as i64;
        let written = self
            .to_dispatch
            .iter()
            .take_while(|r| r.entries.last().is_some_and(|e| e.end() <= published))
            .count();
        let runs = take_front(&mut self.to_dispatch, written);
        if !self.replica_index {
            return (runs, None);
        }
        let upto = runs.last().map_or(0, |r| r.end() as i64);
        let keyed = self
            .to_index
            .iter()
            .take_while(|k| k.phy_offset < upto)
            .count();
        (runs, Some(take_front(&mut self.to_index, keyed)))
    }

    /// Reserves `count` consecutive queue offsets and returns the first, with the topic's shared
    /// name.
    fn next_queue_offsets(&mut self, topic: &str, queue_id: i32, count: u32) -> (i64, Arc<str>) {
        let name = || topic.into();
        self.with_topic_queues(topic, name, |queues| {
            let next = queues.next.entry(queue_id).or_insert(0);
            let first = *next;
            *next += count as i64;
            (first, queues.name.clone())
        })
    }

    /// Runs `f` on `topic`'s queues, created empty (the topic named `name()`) on first use: one
    /// lookup, and the topic copied only then (this runs for every append). A slave's runs of a
    /// new topic already share a name, and pass it.
    fn with_topic_queues<R>(
        &mut self,
        topic: &str,
        name: impl FnOnce() -> Arc<str>,
        f: impl FnOnce(&mut TopicQueues) -> R,
    ) -> R {
        if let Some(queues) = self.queue_offsets.get_mut(topic) {
            return f(queues);
        }
        let queues = TopicQueues {
            name: name(),
            next: FastMap::default(),
        };
        f(self
            .queue_offsets
            .entry(topic.to_string())
            .or_insert(queues))
    }

    /// Retention: drops the files that end at or below `before` from the table — never the file
    /// being written — and returns them for deletion (unlinking is the caller's job).
    pub fn delete_files_before(&mut self, before: u64) -> Vec<Arc<MappedFile>> {
        let count = self
            .files
            .iter()
            .take_while(|f| f.start_offset() + f.size() <= before)
            .count()
            .min(self.files.len().saturating_sub(1));
        let removed: Vec<_> = self.files.drain(..count).collect();
        if !removed.is_empty() {
            self.table_changed = true;
        }
        removed
    }

    /// Shutdown: writes what is staged, refuses further appends, returns the final write offset.
    pub fn seal(&mut self) -> Result<u64, AppendError> {
        let written = self.write_staged();
        self.sealed = true;
        written.map(|()| self.write_offset)
    }
}

/// The first `n` items of `v`, taken out (the whole vector without a copy when that is all).
/// One topic's queues in the log: the next queue offset of each, and the topic's name as every
/// dispatch run of it shares it.
#[derive(Debug)]
struct TopicQueues {
    name: Arc<str>,
    next: FastMap<i32, i64>,
}

fn take_front<T>(v: &mut Vec<T>, n: usize) -> Vec<T> {
    if n == v.len() {
        std::mem::take(v)
    } else {
        v.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests;
