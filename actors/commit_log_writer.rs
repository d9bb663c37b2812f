//! `CommitLogWriter`: the only code that writes the commit log (RocketMQ's `CommitLog.asyncPutMessage`
//! under its put lock — here the actor's mailbox is the lock).
//!
//! *Drives* the store's [`CommitLog`] state machine (offsets, rolls, the staged write) and, in
//! sync-flush mode, a [`GroupCommit`] of the sends waiting for their flush, and on a SYNC_MASTER a
//! [`SlaveSync`] of the sends waiting for a slave (released by `SlaveAcked`). *Receives* `Append`
//! (one message or a batch, encoded by the SendProcessor; on a slave `AppendReplicated` instead:
//! the master's bytes at their offsets, from the `HaClient`), `DeleteFilesBefore` and `SetWritable`
//! (Retention, which owns the disk-full state: sent only when it changes) and `Seal` (shutdown).
//! While the disk is full an append is refused before anything is written
//! (`SERVICE_NOT_AVAILABLE`): one bool field read per append. A file it cannot create for lack of
//! space makes it refuse at once, and it reports `OutOfSpace` to Retention. *Sends* `Allocate` to
//! the `FileAllocator` (the next two files, asked for as
//! soon as a file is started, so a roll finds them ready), `FilesChanged` to the `Flusher` and the
//! `Dispatcher` on every roll, `SyncFlush` to the `Flusher` (sync mode: one round trip releases
//! every waiter below the flushed offset — group commit), `Published` to the `HaServer` of a
//! master (new bytes, new file tables) and `NewRecords` to the `Dispatcher`: the
//! facts of every appended record, batched, one message per turn of this mailbox rather than one
//! per append (plus each flushed offset in sync mode: the dispatcher indexes only flushed records
//! then). A turn ends with `EndOfTurn` (scheduled by its first append): the sync-mode `pwrite`, the
//! dispatch, the flush request. *Runs on* the system arbiter beside the connections: the hot send
//! path crosses no thread.

mod replication;

pub use replication::{AppendReplicated, SlaveAcked};

use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use tracing::{info, warn};

use super::dispatcher::{Dispatcher, Flushed, NewRecords};
use super::file_allocator::{Allocate, FileAllocator};
use super::flusher::{FilesChanged, Flusher, SyncFlush};
use super::ha_server::Published;
use super::mailbox::{CountedRecipient, Mailbox};
use super::metrics::stats;
use super::retention::OutOfSpace;
use actormq::ha::sync::{Admitted, SlaveSync};
use actormq::store::commit_log::CommitLog;
pub use actormq::store::commit_log::{AppendError, Appended, ReplicaError};
use actormq::store::group_commit::GroupCommit;
use actormq::store::mapped_file::MappedFile;

/// Sync flush: how long to wait before asking again after a flush that made no progress.
const FLUSH_RETRY: Duration = Duration::from_millis(10);
/// Sync flush: how often waiters are checked against their deadline.
const FLUSH_TIMEOUT_CHECK: Duration = Duration::from_millis(10);
/// Appends slower than this are logged, like RocketMQ's "putMessage in lock cost time".
const SLOW_APPEND: Duration = Duration::from_millis(100);
/// A slave hands replicated records to the dispatcher at most once per this long, so its consume
/// queues trail its commit log by at most this (Java's `ReputMessageService` rounds every 1 ms).
/// Per transfer, as a master does per turn, a SYNC_MASTER's small transfers cost the slave a
/// dispatcher wake-up each; at 1 ms, under SYNC load at 4x16, the wake-ups were an eighth of
/// the slave's CPU (3.42 -> 2.98 us per message at 5 ms, 6 interleaved rounds).
const SLAVE_DISPATCH_INTERVAL: Duration = Duration::from_millis(5);

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
    /// SYNC_MASTER: answer only once a slave has the records (`SlaveSync`).
    pub wait_slave: bool,
    pub done: AppendDone,
}

/// Environment variable naming the sync-mode commit-log write (1 = the first) that fails with an
/// injected I/O error: a test hook for the unwinding of unpublished appends (a real `pwrite` into
/// preallocated blocks practically never fails).
pub const WRITE_FAIL_ENV: &str = "ACTORMQ_FAULT_WRITE_FAIL_NTH";

/// The fault hook [`WRITE_FAIL_ENV`] as commit-log options want it.
pub fn write_fail_hook() -> Option<u64> {
    super::fault_hook(WRITE_FAIL_ENV, "a commit-log write will fail on purpose")
}

pub struct CommitLogWriter {
    log: CommitLog,
    allocator: Option<Mailbox<FileAllocator>>,
    warm: bool,
    flusher: Mailbox<Flusher>,
    dispatcher: Mailbox<Dispatcher>,
    /// `Some(timeout)` in sync-flush mode.
    sync_flush: Option<Duration>,
    /// Sync flush: the sends waiting for their bytes to be flushed.
    group_commit: GroupCommit<Waiter>,
    /// SYNC_MASTER: the sends waiting for a slave's acknowledgement.
    slave_sync: Option<SlaveSync<(Appended, AppendDone)>>,
    /// A master's HA server: told when new bytes are published (once per turn).
    ha: Option<CountedRecipient<Published>>,
    /// A slave is connected (the last `SlaveAcked` named an offset).
    slaves_connected: bool,
    /// Whether the disk takes new messages (Retention's `DiskSpace` decides; an `ENOSPC` here
    /// clears it at once), and its percent used in hundredths, for the refusal's remark.
    writable: bool,
    used_hundredths: u32,
    /// Retention, told of an allocation that failed for lack of space.
    disk: CountedRecipient<OutOfSpace>,
}

/// A send waiting for its flush: where it landed, its answer, whether it then waits for a slave.
type Waiter = (Appended, AppendDone, bool);

impl CommitLogWriter {
    pub fn new(
        log: CommitLog,
        allocator: Option<Mailbox<FileAllocator>>,
        warm: bool,
        sync_flush: Option<Duration>,
        flusher: Mailbox<Flusher>,
        dispatcher: Mailbox<Dispatcher>,
        disk: CountedRecipient<OutOfSpace>,
    ) -> Self {
        let group_commit = GroupCommit::new(log.write_offset());
        CommitLogWriter {
            log,
            allocator,
            warm,
            flusher,
            dispatcher,
            sync_flush,
            group_commit,
            writable: true,
            used_hundredths: 0,
            disk,
            slave_sync: None,
            ha: None,
            slaves_connected: false,
        }
    }

    /// After a failed append: an allocation or write that failed for lack of space makes the
    /// store full at once (the next measurement may not see it: the disk may be below the ratio).
    fn check_out_of_space(&mut self) {
        if let Some(needed) = self.log.take_out_of_space() {
            self.writable = false;
            self.disk.do_send(OutOfSpace { needed });
        }
    }

    /// A master's writer: the `HaServer` hears of every turn's published bytes and of new file
    /// tables; with `slave_timeout` (SYNC_MASTER), sends that ask to wait are held until a slave
    /// has them.
    pub fn with_ha(
        mut self,
        slave_timeout: Option<Duration>,
        ha: CountedRecipient<Published>,
    ) -> Self {
        self.slave_sync = slave_timeout.map(SlaveSync::new);
        self.ha = Some(ha);
        self
    }

    /// A stored (and, in sync-flush mode, flushed) send: answered now, or held for a slave.
    fn complete(&mut self, appended: Appended, done: AppendDone, wait_slave: bool) {
        let Some(sync) = self.slave_sync.as_mut().filter(|_| wait_slave) else {
            return done(Ok(appended));
        };
        match sync.admit(appended.end(), Instant::now(), (appended, done)) {
            Admitted::Waiting => {}
            Admitted::Done((a, done)) => done(Ok(a)),
            Admitted::NotAvailable((a, done)) => done(Err(AppendError::SlaveNotAvailable(a))),
        }
    }

    /// Sends a new file table (after a roll or a deletion) to the flusher and the dispatcher;
    /// true if there was one.
    fn publish_table_change(&mut self) -> bool {
        let Some(table) = self.log.take_table_change() else {
            return false;
        };
        self.flusher.do_send(FilesChanged(table.clone()));
        if let Some(ha) = &self.ha {
            ha.do_send(Published(Some(table.clone())));
        }
        self.dispatcher.do_send(FilesChanged(table));
        true
    }

    /// Keeps the next file and the one after it on order with the allocator.
    fn request_ahead(&mut self, ctx: &mut Context<Self>) {
        let Some(allocator) = self.allocator.clone() else {
            return;
        };
        for start in self.log.files_to_prepare() {
            let request =
                Allocate::commit_log_file(self.log.dir(), start, self.log.file_size(), self.warm);
            allocator
                .send(request)
                .into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(Ok(file)) => act.log.prepared(file),
                    // Logged by the allocator; asked for again at the next roll.
                    Ok(Err(_)) | Err(_) => act.log.preparation_failed(start),
                })
                .spawn(ctx);
        }
    }

    /// Answers the senders whose appends a failed write undid.
    fn fail_unwritten(&mut self, err: &AppendError) {
        for (_, done, _) in self.group_commit.unwritten(self.log.published()) {
            done(Err(err.clone()));
        }
    }

    /// Writes what is staged (sync mode), then tells the dispatcher of every record written: the
    /// dispatcher never hears of a record before its bytes are in the file.
    fn write_and_dispatch(&mut self) {
        if let Err(e) = self.log.write_staged() {
            self.fail_unwritten(&e);
            self.check_out_of_space();
        }
        let (runs, index_keys) = self.log.take_dispatch();
        if !runs.is_empty() {
            // `do_send`: records must never be dropped; one message per mailbox turn bounds the rate.
            self.dispatcher.do_send(NewRecords { runs, index_keys });
            // New bytes concern the HA server only while a slave is connected (a master without
            // slaves pays no message per turn); new file tables always go (below).
            if let Some(ha) = self.ha.as_ref().filter(|_| self.slaves_connected) {
                ha.do_send(Published(None));
            }
        }
    }

    /// Sync flush: asks the flusher to flush everything written so far, unless a flush is already
    /// running (its answer asks again if more was written meanwhile: that forms the next group).
    fn request_flush(&mut self, ctx: &mut Context<Self>) {
        if !self.group_commit.start_flush(self.log.published()) {
            return;
        }
        self.flusher
            .send(SyncFlush)
            .into_actor(self)
            .map(|flushed, act, ctx| {
                let (released, progressed) = act.group_commit.flushed(flushed.ok());
                if let Ok(flushed) = flushed {
                    // The dispatcher must hear of records before a flushed offset covering them,
                    // and only of written ones (this may run before the turn's `EndOfTurn`).
                    act.write_and_dispatch();
                    act.dispatcher.do_send(Flushed(flushed));
                }
                for (appended, done, wait_slave) in released {
                    act.complete(appended, done, wait_slave);
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

    /// Answers `FLUSH_DISK_TIMEOUT` / `FLUSH_SLAVE_TIMEOUT` to waiters past their deadline
    /// (still stored).
    fn expire_waiters(&mut self) {
        let now = Instant::now();
        for (appended, done, _) in self.group_commit.expire(now) {
            done(Err(AppendError::FlushTimeout(appended)));
        }
        if let Some(sync) = &mut self.slave_sync {
            for (appended, done) in sync.expire(now) {
                done(Err(AppendError::SlaveTimeout(appended)));
            }
        }
    }
}

impl Actor for CommitLogWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        info!(
            write_offset = self.log.write_offset(),
            files = self.log.table().len(),
            "commit-log writer started"
        );
        self.request_ahead(ctx);
        if self.sync_flush.is_some() || self.slave_sync.is_some() {
            ctx.run_interval(FLUSH_TIMEOUT_CHECK, |act, _| act.expire_waiters());
        }
        if let Some(ha) = &self.ha {
            ha.do_send(Published(Some(self.log.table())));
        }
    }
}

impl Handler<Append> for CommitLogWriter {
    type Result = ();

    fn handle(&mut self, mut msg: Append, ctx: &mut Context<Self>) {
        let _timer = stats().commit_log_writer.handling();
        if !self.writable {
            let used_hundredths = self.used_hundredths;
            return (msg.done)(Err(AppendError::NotWritable { used_hundredths }));
        }
        let began = Instant::now();
        let first_of_turn = !self.log.turn_open();
        let topic = std::mem::take(&mut msg.topic);
        let result = self.log.append(
            topic,
            msg.queue_id,
            &mut msg.records,
            msg.count,
            &msg.tags_codes,
        );
        if self.publish_table_change() {
            self.request_ahead(ctx);
        }
        let elapsed = began.elapsed();
        if elapsed > SLOW_APPEND {
            warn!(
                elapsed_ms = elapsed.as_millis() as u64,
                "slow commit-log append"
            );
        }
        if first_of_turn && self.log.turn_open() {
            // Runs after the appends already in the mailbox: one write (sync mode) and one
            // message to the dispatcher carry them all.
            ctx.notify(EndOfTurn);
        }
        match &result {
            Ok(a) => stats().puts.appended(msg.count.into(), a.bytes, elapsed),
            Err(_) => self.check_out_of_space(),
        }
        match (result, self.sync_flush) {
            (Ok(appended), Some(timeout)) => {
                // Written and flushed when the turn ends (`EndOfTurn`).
                let deadline = Instant::now() + timeout;
                let waiter = (appended, msg.done, msg.wait_slave);
                self.group_commit.wait(appended.end(), deadline, waiter);
            }
            (Ok(appended), None) => self.complete(appended, msg.done, msg.wait_slave),
            (Err(e @ AppendError::WriteFailed(_)), _) => {
                // The roll's write undid this turn's earlier appends too.
                self.fail_unwritten(&e);
                (msg.done)(Err(e));
            }
            (result, _) => (msg.done)(result),
        }
    }
}

/// Retention: drop the files that end at or below `before` from the table — never the file being
/// written — and hand them back for deletion (unlinking is the caller's job, off this thread).
/// The dispatcher learns the new first offset with the new table and forgets the entries below it.
#[derive(Message)]
#[rtype(result = "Vec<std::sync::Arc<MappedFile>>")]
pub struct DeleteFilesBefore(pub u64);

impl Handler<DeleteFilesBefore> for CommitLogWriter {
    type Result = MessageResult<DeleteFilesBefore>;

    fn handle(&mut self, msg: DeleteFilesBefore, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().commit_log_writer.handling();
        let removed = self.log.delete_files_before(msg.0);
        self.publish_table_change();
        MessageResult(removed)
    }
}

/// Retention's disk-full state changed: appends are refused (`writable == false`) or taken again.
/// `used_hundredths`: the disk's percent used, in hundredths, for the refusal's remark.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetWritable {
    pub writable: bool,
    pub used_hundredths: u32,
}

impl Handler<SetWritable> for CommitLogWriter {
    type Result = ();

    fn handle(&mut self, msg: SetWritable, _ctx: &mut Context<Self>) {
        let _timer = stats().commit_log_writer.handling();
        self.writable = msg.writable;
        self.used_hundredths = msg.used_hundredths;
    }
}

/// Shutdown: refuse further appends and report the final write offset.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct Seal;

impl Handler<Seal> for CommitLogWriter {
    type Result = u64;

    fn handle(&mut self, _: Seal, _ctx: &mut Context<Self>) -> u64 {
        let _timer = stats().commit_log_writer.handling();
        if let Err(e) = self.log.seal() {
            self.fail_unwritten(&e);
        }
        self.write_and_dispatch();
        for (appended, done) in self
            .slave_sync
            .as_mut()
            .map(|s| s.drain())
            .unwrap_or_default()
        {
            done(Err(AppendError::SlaveTimeout(appended)));
        }
        info!(
            write_offset = self.log.write_offset(),
            "commit-log writer sealed"
        );
        self.log.write_offset()
    }
}

/// The end of a turn of the writer's mailbox (scheduled with `notify` by the turn's first append,
/// so it runs after the appends already queued): sync mode writes the staged bytes; then the
/// dispatcher gets this turn's records, and in sync mode the flusher is asked for them. A slave
/// without sync flush hands its records over `SLAVE_DISPATCH_INTERVAL` later instead.
#[derive(Message)]
#[rtype(result = "()")]
struct EndOfTurn;

impl Handler<EndOfTurn> for CommitLogWriter {
    type Result = ();

    fn handle(&mut self, _: EndOfTurn, ctx: &mut Context<Self>) {
        // Not a mailbox message (`notify` bypasses the mailbox), so not in the writer's figures.
        if self.log.is_replica() && self.sync_flush.is_none() {
            // The turn stays open (no `EndOfTurn` for the appends meanwhile) until this runs.
            ctx.run_later(SLAVE_DISPATCH_INTERVAL, |act, _| act.write_and_dispatch());
            return;
        }
        self.write_and_dispatch();
        if self.sync_flush.is_some() {
            self.request_flush(ctx);
        }
    }
}
