//! `CommitLogWriter`: the only code that writes the commit log (RocketMQ's `CommitLog.asyncPutMessage`
//! under its put lock — here the actor's mailbox is the lock).
//!
//! Owns the file table, the write offset and every topic-queue's next queue offset. Receives `Append`
//! (one message or a whole batch, already encoded by the SendProcessor); patches queue offset,
//! physical offset and store timestamp in, puts the bytes into the file (async flush: a copy into the
//! mapping, published at once; sync flush: staged and written with one `pwrite` per mailbox turn,
//! published after it — see `MappedFile::write_through` for why), and calls the append's completion
//! at once (async flush) or once the `Flusher` reports the bytes durable (sync flush: the waiters
//! wait here, and one `SyncFlush` round trip releases every waiter below the flushed offset — group
//! commit). Talks to the `FileAllocator` for the next files
//! (asked for as soon as a file is started, so a roll finds them ready), to the `Flusher`, and to the
//! `Dispatcher`: the facts of every appended record (topic, queue, offsets, size, tag code) go there
//! batched, one `NewRecords` per turn of this actor's mailbox rather than one message per append,
//! plus the file table on every roll and, in sync-flush mode, each flushed offset (the dispatcher
//! indexes only flushed records then). As owner of the file table it is also the one that drops old
//! files when the `Retention` actor asks (`DeleteFilesBefore`), never the file it writes.
//! Runs on the system arbiter beside the connections: the hot send path crosses no thread.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::BytesMut;
use tracing::{error, info, warn};

use super::dispatcher::{DispatchRun, Dispatcher, Flushed, NewRecords};
use super::file_allocator::{Allocate, FileAllocator};
use super::flusher::{FilesChanged, Flusher, SyncFlush};
use super::metrics::stats;
use actormq::store::commit_log::{QueueOffsets, RecoveredLog};
use actormq::store::consume_queue::CqEntry;
use actormq::store::mapped_file::MappedFile;
use actormq::store::message::{patch_offsets, write_blank};
use actormq::store::{now_ms, paths, StoreError};

/// RocketMQ's `END_FILE_MIN_BLANK_LENGTH`: room always kept for the end-of-file marker.
const BLANK_MARKER_LEN: u64 = 8;
/// Sync flush: how long to wait before asking again after a flush that made no progress.
const FLUSH_RETRY: Duration = Duration::from_millis(10);
/// Appends slower than this are logged, like RocketMQ's "putMessage in lock cost time".
const SLOW_APPEND: Duration = Duration::from_millis(100);

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
}

pub type AppendDone = Box<dyn FnOnce(Result<Appended, AppendError>) + Send>;

/// Append encoded records (one, or a batch for one topic-queue) and call `done` with the outcome.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Append {
    pub topic: String,
    pub queue_id: i32,
    /// Encoded records back to back; each begins with its TOTALSIZE.
    pub records: BytesMut,
    pub count: u32,
    /// One per record: the consume-queue tag code (`tags_hash_code` of TAGS, 0 without tags).
    pub tags_codes: Vec<i64>,
    pub done: AppendDone,
}

pub struct CommitLogWriter {
    dir: PathBuf,
    file_size: u64,
    files: Vec<Arc<MappedFile>>,
    write_offset: u64,
    queue_offsets: QueueOffsets,
    /// Files the allocator has ready, in offset order.
    prepared: VecDeque<Arc<MappedFile>>,
    /// Start offset of the furthest file asked of the allocator.
    requested_upto: Option<u64>,
    allocator: Option<Addr<FileAllocator>>,
    warm: bool,
    flusher: Addr<Flusher>,
    /// `Some(timeout)` in sync-flush mode.
    sync_flush: Option<Duration>,
    /// The write offset as published to readers and the flusher (only this actor stores it): every
    /// byte below it is in the file. Async mode publishes each append at once; sync mode at the end
    /// of the mailbox turn, after `staged` is written.
    written: Arc<AtomicU64>,
    /// Sync mode: this turn's appended bytes, written with one `pwrite` when the turn ends.
    staged: StagedWrite,
    /// Sync-mode writes so far, and the one to fail on purpose ([`WRITE_FAIL_ENV`], tests only).
    writes: u64,
    fail_write: Option<u64>,
    sealed: bool,
    dispatcher: Addr<Dispatcher>,
    /// Appended records not yet sent to the dispatcher; sent at the end of the turn (`EndOfTurn`).
    to_dispatch: Vec<DispatchRun>,
    /// Sync flush: sends waiting for their bytes to be flushed, in offset order.
    flush_waiters: VecDeque<FlushWaiter>,
    /// Sync flush: a `SyncFlush` is on its way or running.
    flush_in_flight: bool,
    /// Sync flush: the flushed offset the last `SyncFlush` answered. Flushes continue until it
    /// reaches the write offset even when no sender waits any more (all timed out): in sync mode
    /// consumers see only flushed records, so a record nobody waits for must still get flushed.
    synced: u64,
}

/// A stored send waiting for the flush that makes it durable.
struct FlushWaiter {
    end: u64,
    deadline: Instant,
    appended: Appended,
    done: AppendDone,
}

/// Sync mode: the bytes appended during one turn of the writer's mailbox, contiguous in one file,
/// written with a single `pwrite` when the turn ends instead of one per append. Each `pwrite` costs
/// ext4 a `write_begin`/`write_end` per page it touches; at 25 sends per flush, per-append `pwrite`s
/// were a quarter of the main thread's time (perf, 4x16).
#[derive(Default)]
struct StagedWrite {
    file: Option<Arc<MappedFile>>,
    /// Position in `file` of `bytes[0]`.
    pos: usize,
    bytes: Vec<u8>,
}

/// Environment variable naming the sync-mode commit-log write (1 = the first) that fails with an
/// injected I/O error: a test hook for the unwinding of unpublished appends (a real `pwrite` into
/// preallocated blocks practically never fails).
pub const WRITE_FAIL_ENV: &str = "ACTORMQ_FAULT_WRITE_FAIL_NTH";

/// How the writer is set up.
pub struct WriterOptions {
    pub dir: PathBuf,
    pub file_size: u64,
    pub allocator: Option<Addr<FileAllocator>>,
    pub warm: bool,
    pub sync_flush: Option<Duration>,
}

impl CommitLogWriter {
    pub fn new(
        log: RecoveredLog,
        options: WriterOptions,
        flusher: Addr<Flusher>,
        dispatcher: Addr<Dispatcher>,
        written: Arc<AtomicU64>,
    ) -> Self {
        written.store(log.write_offset, Ordering::Release);
        CommitLogWriter {
            dir: options.dir,
            file_size: options.file_size,
            files: log.files,
            write_offset: log.write_offset,
            queue_offsets: log.queue_offsets,
            prepared: VecDeque::new(),
            requested_upto: None,
            allocator: options.allocator,
            warm: options.warm,
            flusher,
            sync_flush: options.sync_flush,
            written,
            staged: StagedWrite::default(),
            writes: 0,
            fail_write: super::fault_hook(
                WRITE_FAIL_ENV,
                "a commit-log write will fail on purpose",
            ),
            sealed: false,
            dispatcher,
            to_dispatch: Vec::new(),
            flush_waiters: VecDeque::new(),
            flush_in_flight: false,
            synced: log.write_offset,
        }
    }

    /// The file that `write_offset` falls in, if it exists yet.
    fn active_file(&self) -> Option<&Arc<MappedFile>> {
        self.files
            .last()
            .filter(|f| self.write_offset < f.start_offset() + self.file_size)
    }

    /// Takes the file starting at `start`: the allocator's if ready, else created here (on-demand
    /// mode, or the allocator fell behind).
    fn take_file(&mut self, start: u64) -> Result<Arc<MappedFile>, AppendError> {
        while let Some(f) = self.prepared.pop_front() {
            if f.start_offset() == start {
                return Ok(f);
            }
        }
        let path = self.dir.join(paths::file_name(start));
        let began = Instant::now();
        // The allocator links a file under its real name only once it is complete, so a file found
        // there (made, but its answer not here yet) is safe to open; if the allocator links one in
        // between our check and our create, the create fails and the finished file is opened.
        let open = || MappedFile::open(&path, start, self.file_size);
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
                // Never zero-filled here: that takes seconds for a 1 GiB file on this thread.
                if self.allocator.is_some() {
                    warn!(
                        path = %path.display(),
                        warm_skipped = self.warm,
                        "allocator fell behind; file created inline"
                    );
                }
                info!(
                    path = %path.display(),
                    elapsed_ms = began.elapsed().as_secs_f64() * 1e3,
                    "created commit-log file"
                );
                Ok(Arc::new(f))
            }
            Err(e) => {
                error!(path = %path.display(), error = %e, "create mapped file failed");
                Err(AppendError::CreateMappedFileFailed(e.to_string()))
            }
        }
    }

    /// Moves to a new file at `start` and asks the allocator for the ones after it.
    fn roll_to(&mut self, start: u64, ctx: &mut Context<Self>) -> Result<(), AppendError> {
        let file = self.take_file(start)?;
        info!(file = %file.path().display(), "commit log rolled to a new file");
        self.files.push(file);
        self.publish_files();
        self.request_ahead(ctx);
        Ok(())
    }

    /// Sends the current file table to the flusher and the dispatcher.
    fn publish_files(&self) {
        let table = Arc::new(self.files.clone());
        stats().flusher.enqueued();
        self.flusher.do_send(FilesChanged(table.clone()));
        stats().dispatcher.enqueued();
        self.dispatcher.do_send(FilesChanged(table));
    }

    /// Keeps the next file and the one after it on order with the allocator.
    fn request_ahead(&mut self, ctx: &mut Context<Self>) {
        let Some(allocator) = self.allocator.clone() else {
            return;
        };
        // The next file the writer will need, and the one after it.
        let next = match self.files.last() {
            Some(f) => f.start_offset() + self.file_size,
            None => self.write_offset - self.write_offset % self.file_size,
        };
        for ahead in 0..2 {
            let start = next + ahead * self.file_size;
            if self.requested_upto.is_some_and(|r| r >= start) {
                continue;
            }
            self.requested_upto = Some(start);
            let request = Allocate::commit_log_file(&self.dir, start, self.file_size, self.warm);
            allocator
                .send({
                    stats().file_allocator.enqueued();
                    request
                })
                .into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(Ok(file)) => {
                        let in_use = act.files.last().is_some_and(|f| f.start_offset() >= start);
                        if !in_use {
                            act.prepared.push_back(file);
                        }
                    }
                    Ok(Err(_)) | Err(_) => {
                        // Logged by the allocator. If the writer already made that file itself
                        // (the allocator lost the race), nothing is missing; otherwise order it
                        // again at the next roll, which meanwhile creates it inline if needed.
                        let in_use = act.files.last().is_some_and(|f| f.start_offset() >= start);
                        if !in_use {
                            act.requested_upto = start.checked_sub(act.file_size);
                        }
                    }
                })
                .spawn(ctx);
        }
    }

    fn append(
        &mut self,
        msg: &mut Append,
        ctx: &mut Context<Self>,
    ) -> Result<Appended, AppendError> {
        if self.sealed {
            return Err(AppendError::Sealed);
        }
        let len = msg.records.len() as u64;
        if len + BLANK_MARKER_LEN > self.file_size {
            return Err(AppendError::TooLarge {
                bytes: len,
                file_size: self.file_size,
            });
        }
        match self.active_file() {
            Some(file) => {
                let pos = self.write_offset - file.start_offset();
                let room = self.file_size - pos;
                if len + BLANK_MARKER_LEN > room {
                    // The marker goes in first (in sync mode out to the file with this turn's
                    // earlier appends), unpublished until the roll: if the roll fails, the write
                    // offset stays put, and a marker past the last record says what is true, the
                    // file holds no more records.
                    let file = file.clone();
                    let mut marker = [0u8; BLANK_MARKER_LEN as usize];
                    write_blank(&mut marker, room as i32);
                    self.put(&file, pos as usize, &marker);
                    if self.sync_flush.is_some() {
                        self.write_staged(marker.len())?;
                    }
                    self.roll_to(file.start_offset() + self.file_size, ctx)?;
                    self.write_offset += room;
                    self.publish(self.write_offset);
                }
            }
            None => {
                let start = self.write_offset - self.write_offset % self.file_size;
                self.roll_to(start, ctx)?;
            }
        }
        let file = self.files.last().expect("a file was just ensured").clone();
        let store_timestamp = now_ms();
        let queue_offset = self.next_queue_offsets(&msg.topic, msg.queue_id, msg.count);
        let mut physical = self.write_offset as i64;
        let mut queue = queue_offset;
        let mut at = 0usize;
        let mut entries = Vec::with_capacity(msg.count as usize);
        while at + 4 <= msg.records.len() {
            let size =
                i32::from_be_bytes(msg.records[at..at + 4].try_into().expect("4 bytes")) as usize;
            patch_offsets(
                &mut msg.records[at..at + size],
                queue,
                physical,
                store_timestamp,
            );
            entries.push(CqEntry {
                commit_log_offset: physical,
                size: size as i32,
                tags_code: msg.tags_codes.get(entries.len()).copied().unwrap_or(0),
            });
            at += size;
            physical += size as i64;
            queue += 1;
        }
        let pos = (self.write_offset - file.start_offset()) as usize;
        self.put(&file, pos, &msg.records);
        let appended = Appended {
            physical_offset: self.write_offset as i64,
            queue_offset,
            bytes: len,
            store_timestamp,
        };
        self.write_offset += len;
        if self.sync_flush.is_none() {
            self.publish(self.write_offset);
        }
        if self.to_dispatch.is_empty() {
            // Runs after the appends already in the mailbox: one write (sync mode) and one
            // message to the dispatcher carry them all.
            ctx.notify(EndOfTurn);
        }
        self.to_dispatch.push(DispatchRun {
            topic: std::mem::take(&mut msg.topic),
            queue_id: msg.queue_id,
            first_queue_offset: queue_offset,
            entries,
        });
        Ok(appended)
    }

    /// Puts `bytes` at `pos` of `file`. Async mode copies them into the mapping and the caller
    /// publishes them at once. Sync mode stages them for one write through the file descriptor at
    /// the end of the turn (`settle`): what a sender waits for there is the flush, and pages dirtied
    /// by `write(2)` flush several times faster than pages dirtied through the mapping
    /// (`MappedFile::write_through`); in async mode a system call per append would be the cost
    /// (4x64 sends: -15..25% msgs/s).
    fn put(&mut self, file: &Arc<MappedFile>, pos: usize, bytes: &[u8]) {
        if self.sync_flush.is_none() {
            file.write(pos, bytes);
            return;
        }
        let staged = &mut self.staged;
        debug_assert!(
            staged.bytes.is_empty()
                || (staged.file.as_ref().is_some_and(|f| Arc::ptr_eq(f, file))
                    && staged.pos + staged.bytes.len() == pos),
            "staged bytes must be contiguous in one file"
        );
        if staged.bytes.is_empty() {
            staged.file = Some(file.clone());
            staged.pos = pos;
        }
        staged.bytes.extend_from_slice(bytes);
    }

    /// Stores the new published offset for readers and the flusher.
    fn publish(&self, offset: u64) {
        self.written.store(offset, Ordering::Release);
    }

    /// The offset last published (this actor is the only one that stores it).
    fn published(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Sync mode: writes the staged bytes and publishes them, all but the last `hold_back` (a blank
    /// marker, published with the roll it announces). On failure every append not yet published is
    /// undone (`unwind_unpublished`) and the error is returned.
    fn write_staged(&mut self, hold_back: usize) -> Result<(), AppendError> {
        let Some(file) = self.staged.file.take() else {
            return Ok(());
        };
        let (pos, len) = (self.staged.pos, self.staged.bytes.len());
        self.writes += 1;
        let written = if self.fail_write == Some(self.writes) {
            Err(StoreError::Io {
                path: file.path().to_path_buf(),
                source: std::io::Error::other(format!("{WRITE_FAIL_ENV}: injected write failure")),
            })
        } else {
            file.write_through(pos, &self.staged.bytes)
        };
        self.staged.bytes.clear();
        match written {
            Ok(()) => {
                self.publish(file.start_offset() + (pos + len - hold_back) as u64);
                Ok(())
            }
            Err(e) => {
                error!(error = %e, bytes = len, "commit-log write failed");
                let err = AppendError::WriteFailed(e.to_string());
                self.unwind_unpublished(&err);
                Err(err)
            }
        }
    }

    /// A write failed: the appends above the published offset never reached the file. Their
    /// senders get the error, their dispatch notices are dropped, their queues get the offsets
    /// back (no gap) and the write offset returns to the published one, to be written again.
    fn unwind_unpublished(&mut self, err: &AppendError) {
        let published = self.published();
        while self.flush_waiters.back().is_some_and(|w| w.end > published) {
            let w = self.flush_waiters.pop_back().expect("checked");
            (w.done)(Err(err.clone()));
        }
        while let Some(run) = self.to_dispatch.last() {
            if run.entries.first().map_or(0, |e| e.commit_log_offset) < published as i64 {
                break;
            }
            let run = self.to_dispatch.pop().expect("checked");
            if let Some(next) = self
                .queue_offsets
                .get_mut(&run.topic)
                .and_then(|q| q.get_mut(&run.queue_id))
            {
                *next = (*next).min(run.first_queue_offset);
            }
        }
        self.write_offset = published;
    }

    /// Ends a turn of the mailbox (and anything that must see the log settled): sync mode writes
    /// the staged bytes; then the dispatcher gets this turn's records, and in sync mode the flusher
    /// is asked for them.
    fn settle(&mut self, ctx: &mut Context<Self>) {
        self.write_and_dispatch();
        if self.sync_flush.is_some() {
            self.request_flush(ctx);
        }
    }

    /// Reserves `count` consecutive queue offsets and returns the first.
    fn next_queue_offsets(&mut self, topic: &str, queue_id: i32, count: u32) -> i64 {
        let queues = match self.queue_offsets.get_mut(topic) {
            Some(q) => q,
            None => self.queue_offsets.entry(topic.to_string()).or_default(),
        };
        let next = queues.entry(queue_id).or_insert(0);
        let first = *next;
        *next += count as i64;
        first
    }
}

impl Actor for CommitLogWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        info!(
            write_offset = self.write_offset,
            files = self.files.len(),
            "commit-log writer started"
        );
        self.request_ahead(ctx);
        if self.sync_flush.is_some() {
            ctx.run_interval(Duration::from_millis(10), |act, _| {
                act.expire_flush_waiters()
            });
        }
    }
}

impl Handler<Append> for CommitLogWriter {
    type Result = ();

    fn handle(&mut self, mut msg: Append, ctx: &mut Context<Self>) {
        let _timer = stats().commit_log_writer.handling();
        let began = Instant::now();
        let result = self.append(&mut msg, ctx);
        let elapsed = began.elapsed();
        if elapsed > SLOW_APPEND {
            warn!(
                elapsed_ms = elapsed.as_millis() as u64,
                "slow commit-log append"
            );
        }
        match (result, self.sync_flush) {
            (Ok(appended), Some(timeout)) => {
                self.flush_waiters.push_back(FlushWaiter {
                    end: appended.physical_offset as u64 + appended.bytes,
                    deadline: Instant::now() + timeout,
                    appended,
                    done: msg.done,
                });
                // Written and flushed when the turn ends (`EndOfTurn`).
            }
            (result, _) => (msg.done)(result),
        }
    }
}

impl CommitLogWriter {
    /// Sync flush: asks the flusher to flush everything written so far, unless a flush is already
    /// running (its answer asks again if more was written meanwhile: that forms the next group).
    fn request_flush(&mut self, ctx: &mut Context<Self>) {
        if self.flush_in_flight || self.synced >= self.published() {
            return;
        }
        self.flush_in_flight = true;
        self.flusher
            .send({
                stats().flusher.enqueued();
                SyncFlush
            })
            .into_actor(self)
            .map(|flushed, act, ctx| {
                act.flush_in_flight = false;
                let Ok(flushed) = flushed else { return };
                let progressed = flushed > act.synced;
                act.synced = act.synced.max(flushed);
                // The dispatcher must hear of records before a flushed offset covering them, and
                // only of written ones (this may run before the turn's `EndOfTurn`).
                act.write_and_dispatch();
                stats().dispatcher.enqueued();
                act.dispatcher.do_send(Flushed(flushed));
                while act.flush_waiters.front().is_some_and(|w| w.end <= flushed) {
                    let w = act.flush_waiters.pop_front().expect("checked");
                    (w.done)(Ok(w.appended));
                }
                if progressed {
                    act.request_flush(ctx);
                } else {
                    // A failed msync (logged by the flusher) or bytes in a file the flusher has
                    // not been told of yet: ask again shortly instead of spinning.
                    ctx.run_later(FLUSH_RETRY, |act, ctx| act.request_flush(ctx));
                }
            })
            .spawn(ctx);
    }

    /// Sync flush: answers `FLUSH_DISK_TIMEOUT` to waiters past their deadline (still stored).
    fn expire_flush_waiters(&mut self) {
        let now = Instant::now();
        while self
            .flush_waiters
            .front()
            .is_some_and(|w| w.deadline <= now)
        {
            let w = self.flush_waiters.pop_front().expect("checked");
            (w.done)(Err(AppendError::FlushTimeout(w.appended)));
        }
    }
}

/// Retention: drop the files that end at or below `before` from the table — never the file being
/// written — and hand them back for deletion (unlinking is the caller's job, off this thread).
/// The dispatcher learns the new first offset with the new table and forgets the entries below it.
#[derive(Message)]
#[rtype(result = "Vec<Arc<MappedFile>>")]
pub struct DeleteFilesBefore(pub u64);

impl Handler<DeleteFilesBefore> for CommitLogWriter {
    type Result = MessageResult<DeleteFilesBefore>;

    fn handle(
        &mut self,
        DeleteFilesBefore(before): DeleteFilesBefore,
        _ctx: &mut Context<Self>,
    ) -> Self::Result {
        let _timer = stats().commit_log_writer.handling();
        let count = self
            .files
            .iter()
            .take_while(|f| f.start_offset() + f.size() <= before)
            .count()
            .min(self.files.len().saturating_sub(1));
        let removed: Vec<_> = self.files.drain(..count).collect();
        if !removed.is_empty() {
            self.publish_files();
        }
        MessageResult(removed)
    }
}

/// Shutdown: refuse further appends and report the final write offset.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct Seal;

impl Handler<Seal> for CommitLogWriter {
    type Result = u64;

    fn handle(&mut self, _: Seal, _ctx: &mut Context<Self>) -> u64 {
        self.sealed = true;
        self.write_and_dispatch();
        info!(write_offset = self.write_offset, "commit-log writer sealed");
        self.write_offset
    }
}

/// The end of a turn of the writer's mailbox (scheduled with `notify` by the turn's first append,
/// so it runs after the appends already queued): see `settle`.
#[derive(Message)]
#[rtype(result = "()")]
struct EndOfTurn;

impl CommitLogWriter {
    /// Writes what is staged (sync mode), then tells the dispatcher of every record written: the
    /// dispatcher never hears of a record before its bytes are in the file. A failed write was
    /// answered to its senders and logged, and its records are no longer in `to_dispatch`.
    fn write_and_dispatch(&mut self) {
        let _ = self.write_staged(0);
        self.flush_dispatch();
    }

    fn flush_dispatch(&mut self) {
        if !self.to_dispatch.is_empty() {
            let runs = std::mem::take(&mut self.to_dispatch);
            // `do_send`: records must never be dropped; one message per mailbox turn bounds the rate.
            stats().dispatcher.enqueued();
            self.dispatcher.do_send(NewRecords(runs));
        }
    }
}

impl Handler<EndOfTurn> for CommitLogWriter {
    type Result = ();

    fn handle(&mut self, _: EndOfTurn, ctx: &mut Context<Self>) {
        // Not a mailbox message (`notify` bypasses the mailbox), so not in the writer's figures;
        // in sync mode the turn's `pwrite` happens here.
        self.settle(ctx);
    }
}
