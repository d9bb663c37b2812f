//! `Flusher`: makes written commit-log bytes durable (RocketMQ's FlushRealTimeService and
//! GroupCommitService in one actor).
//!
//! Owns the flushed position and the sync-flush waiters. It learns the written position from an
//! atomic the writer publishes (Release after the copy, Acquire here: everything below it is in the
//! map) and the file table from `FilesChanged`, so async mode costs the writer no message per append.
//! In sync mode the writer sends one `WaitFlush` per append; waiters that arrive while an msync runs
//! queue up and the next msync serves all of them (group commit). Runs on its own arbiter, so a slow
//! msync never stalls the network or the writer.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tracing::{error, info};

use actormq::config::{FlushConfig, FlushMode, PAGE_SIZE};
use actormq::store::mapped_file::MappedFile;

/// The commit log's files, oldest first: an immutable snapshot replaced on every roll.
pub type FileTable = Arc<Vec<Arc<MappedFile>>>;

/// What a sync-flush waiter is told: flushed in time, or not.
pub type FlushDone = Box<dyn FnOnce(bool) + Send>;

pub struct Flusher {
    files: FileTable,
    written: Arc<AtomicU64>,
    flushed: u64,
    config: FlushConfig,
    last_thorough: Instant,
    waiters: VecDeque<WaitFlush>,
    flush_scheduled: bool,
}

impl Flusher {
    pub fn new(files: FileTable, written: Arc<AtomicU64>, config: FlushConfig) -> Self {
        let flushed = written.load(Ordering::Acquire);
        Flusher {
            files,
            written,
            flushed,
            config,
            last_thorough: Instant::now(),
            waiters: VecDeque::new(),
            flush_scheduled: false,
        }
    }

    /// msyncs `[flushed, written)` if at least `least_pages` pages are dirty (0 = any byte).
    fn flush(&mut self, least_pages: u64) {
        let target = self.written.load(Ordering::Acquire);
        if target <= self.flushed {
            return;
        }
        let dirty_pages = target / PAGE_SIZE - self.flushed / PAGE_SIZE;
        if least_pages > 0 && dirty_pages < least_pages {
            return;
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
    }

    fn release_waiters(&mut self) {
        while self
            .waiters
            .front()
            .is_some_and(|w| w.until <= self.flushed)
        {
            let w = self.waiters.pop_front().expect("checked");
            (w.done)(true);
        }
    }

    fn expire_waiters(&mut self) {
        let now = Instant::now();
        while self.waiters.front().is_some_and(|w| w.deadline <= now) {
            let w = self.waiters.pop_front().expect("checked");
            (w.done)(false);
        }
    }
}

impl Actor for Flusher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
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
            FlushMode::Sync => {
                ctx.run_interval(Duration::from_millis(10), |act, _| act.expire_waiters());
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
        self.files = files;
    }
}

/// Sync flush: call `done` once everything below `until` is flushed, or with `false` at `deadline`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WaitFlush {
    pub until: u64,
    pub deadline: Instant,
    pub done: FlushDone,
}

impl Handler<WaitFlush> for Flusher {
    type Result = ();

    fn handle(&mut self, msg: WaitFlush, ctx: &mut Context<Self>) {
        if msg.until <= self.flushed {
            (msg.done)(true);
            return;
        }
        self.waiters.push_back(msg);
        if !self.flush_scheduled {
            // Run after the waiters already queued behind this one, so one msync serves them all.
            self.flush_scheduled = true;
            ctx.notify(FlushNow);
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct FlushNow;

impl Handler<FlushNow> for Flusher {
    type Result = ();

    fn handle(&mut self, _: FlushNow, _ctx: &mut Context<Self>) {
        self.flush_scheduled = false;
        self.flush(0);
        self.release_waiters();
    }
}

/// Shutdown: flush everything written, answer every waiter, report the flushed offset.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct FlushAll;

impl Handler<FlushAll> for Flusher {
    type Result = u64;

    fn handle(&mut self, _: FlushAll, _ctx: &mut Context<Self>) -> u64 {
        self.flush(0);
        self.release_waiters();
        self.expire_waiters();
        info!(flushed = self.flushed, "commit log flushed");
        self.flushed
    }
}
