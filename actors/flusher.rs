//! `Flusher`: makes written commit-log bytes durable (RocketMQ's FlushRealTimeService and
//! GroupCommitService in one actor).
//!
//! Owns the flushed position. It learns the written position from an atomic the writer publishes
//! (Release after the copy, Acquire here: everything below it is in the map) and the file table from
//! `FilesChanged`, so async mode costs the writer no message per append. In sync mode the writer keeps
//! the waiting sends itself and asks `SyncFlush` whenever waiters exist and no flush is running; the
//! answer (the flushed offset) releases every waiter below it: one msync and two messages per group,
//! not per send (group commit). Runs on its own arbiter, so a slow msync never stalls the network or
//! the writer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::metrics::stats;
use tracing::{error, info};

use actormq::config::{FlushConfig, FlushMode, PAGE_SIZE};
pub use actormq::store::commit_log::FileTable;

pub struct Flusher {
    files: FileTable,
    written: Arc<AtomicU64>,
    flushed: u64,
    config: FlushConfig,
    last_thorough: Instant,
    /// Fault injection ([`FLUSH_STALL_ENV`]): a stall before every msync, to make the disk slow on
    /// purpose in tests. Zero in production.
    stall: Duration,
}

/// Environment variable naming milliseconds to sleep before every commit-log msync: a test hook
/// that makes `FLUSH_DISK_TIMEOUT` reproducible (no portable way exists to make a real disk slow).
pub const FLUSH_STALL_ENV: &str = "ACTORMQ_FAULT_FLUSH_STALL_MS";

impl Flusher {
    pub fn new(files: FileTable, written: Arc<AtomicU64>, config: FlushConfig) -> Self {
        let flushed = written.load(Ordering::Acquire);
        Flusher {
            files,
            written,
            flushed,
            config,
            last_thorough: Instant::now(),
            stall: Duration::from_millis(
                super::fault_hook(
                    FLUSH_STALL_ENV,
                    "every commit-log flush is delayed on purpose",
                )
                .unwrap_or(0),
            ),
        }
    }

    /// msyncs `[flushed, written)` if at least `least_pages` pages are dirty (0 = any byte).
    fn flush(&mut self, least_pages: u64) {
        // Bytes in a file this table does not list yet (its `FilesChanged` is still on the way)
        // cannot be synced here, so they must not count as flushed either.
        let table_end = self.files.last().map_or(0, |f| f.start_offset() + f.size());
        let target = self.written.load(Ordering::Acquire).min(table_end);
        if target <= self.flushed {
            return;
        }
        let dirty_pages = target / PAGE_SIZE - self.flushed / PAGE_SIZE;
        if least_pages > 0 && dirty_pages < least_pages {
            return;
        }
        if !self.stall.is_zero() {
            std::thread::sleep(self.stall);
        }
        for file in self.files.iter() {
            let (start, end) = (file.start_offset(), file.start_offset() + file.size());
            if end <= self.flushed || start >= target {
                continue;
            }
            let from = self.flushed.max(start) - start;
            let to = target.min(end) - start;
            if let Err(e) = file.flush_range(from as usize, (to - from) as usize) {
                error!(error = %e, "flushing the commit log failed; will retry");
                return;
            }
        }
        self.flushed = target;
        stats().flushed_offset.store(target, Ordering::Relaxed);
    }
}

impl Actor for Flusher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Everything recovery found is on disk.
        stats()
            .flushed_offset
            .store(self.flushed, Ordering::Relaxed);
        match self.config.mode {
            FlushMode::Async => {
                let every = Duration::from_millis(self.config.interval_ms);
                ctx.run_interval(every, |act, _| {
                    let thorough = Duration::from_millis(act.config.thorough_interval_ms);
                    let least = if act.last_thorough.elapsed() >= thorough {
                        act.last_thorough = Instant::now();
                        0
                    } else {
                        act.config.least_pages
                    };
                    act.flush(least);
                });
            }
            // The writer asks for each flush; a slow thorough pass still guards against a lost ask.
            FlushMode::Sync => {
                let every = Duration::from_millis(self.config.thorough_interval_ms);
                ctx.run_interval(every, |act, _| act.flush(0));
            }
        }
    }
}

/// The writer moved to a new file: here is the new table.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FilesChanged(pub FileTable);

impl Handler<FilesChanged> for Flusher {
    type Result = ();

    fn handle(&mut self, FilesChanged(files): FilesChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().flusher.handling();
        self.files = files;
    }
}

/// Sync flush: flush everything written so far and answer the flushed offset.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct SyncFlush;

impl Handler<SyncFlush> for Flusher {
    type Result = u64;

    fn handle(&mut self, _: SyncFlush, _ctx: &mut Context<Self>) -> u64 {
        let _timer = stats().flusher.handling();
        self.flush(0);
        self.flushed
    }
}

/// Shutdown: flush everything written and report the flushed offset.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct FlushAll;

impl Handler<FlushAll> for Flusher {
    type Result = u64;

    fn handle(&mut self, _: FlushAll, _ctx: &mut Context<Self>) -> u64 {
        let _timer = stats().flusher.handling();
        self.flush(0);
        info!(flushed = self.flushed, "commit log flushed");
        self.flushed
    }
}
