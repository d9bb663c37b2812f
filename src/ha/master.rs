//! The master's side of one slave connection (RocketMQ's `DefaultHAConnection`): where the stream
//! to this slave stands, what the slave acknowledged, and how far behind it is.
//!
//! * The first report fixes where the stream starts: 0 (a new slave) means from the master's first
//!   file, so the slave gets every message the master still has (Java starts a new slave at the
//!   master's *last* file, leaving it without the older messages), anything else that offset. An offset below the
//!   master's first file is gone (retention deleted it): the connection is refused, since the
//!   slave could never fill the hole.
//! * Every report is the slave's ack (SYNC_MASTER waits on it) and must not go backwards within a
//!   connection.
//! * A slave ahead of the master (it reports more than the master has) is what Java tolerates:
//!   the master sends heartbeats at the slave's offset until its own log passes it, then streams
//!   from there; it is logged once, since such a slave holds bytes its master never wrote.
//! * Chunks are the readable rest of one file, at most the batch size; heartbeats go out after
//!   the heartbeat interval without a write.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::mapped_file::MappedFile;

/// Samples of the master's end kept for the lag in time (one per report at most).
const MAX_LAG_MARKS: usize = 4096;

/// Why a slave's connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaveError {
    #[error("slave asks for offset {asked}, below the master's first commit-log file at {first} (deleted by retention): wipe the slave's store and let it copy again")]
    OffsetGone { asked: u64, first: u64 },
    #[error("slave's acknowledged offset went back from {from} to {to} within one connection")]
    WentBack { from: u64, to: u64 },
}

/// What a report changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// The first report: streaming starts at `from`.
    Started { from: u64 },
    /// An acknowledgement.
    Acked,
    /// The slave reports more than the master has (logged once per connection).
    Ahead { slave: u64, master: u64 },
}

/// One slave connection's stream state.
#[derive(Debug)]
pub struct SlaveStream {
    /// Where the next transfer starts; `None` before the first report.
    next: Option<u64>,
    /// The slave's latest report.
    acked: Option<u64>,
    last_write: Option<Instant>,
    /// When the last chunk (not heartbeat) went out.
    last_chunk: Option<Instant>,
    /// The latest time at which the master's log ended at or below what the slave has now: the
    /// slave's data is as of then (lag in time).
    caught_up_at: Instant,
    /// (master end, when) samples taken at reports, not yet reached by the slave.
    marks: VecDeque<(u64, Instant)>,
    ahead_logged: bool,
}

impl SlaveStream {
    pub fn new(now: Instant) -> SlaveStream {
        SlaveStream {
            next: None,
            acked: None,
            last_write: None,
            last_chunk: None,
            caught_up_at: now,
            marks: VecDeque::new(),
            ahead_logged: false,
        }
    }

    /// A report of `offset` while the master's log spans `[first, end)`.
    pub fn report(
        &mut self,
        offset: u64,
        first: u64,
        end: u64,
        now: Instant,
    ) -> Result<Reported, SlaveError> {
        if let Some(prev) = self.acked {
            if offset < prev {
                return Err(SlaveError::WentBack {
                    from: prev,
                    to: offset,
                });
            }
        }
        self.acked = Some(offset);
        self.track_lag(offset, end, now);
        let started = if self.next.is_none() {
            let from = if offset == 0 { first } else { offset };
            if from < first {
                return Err(SlaveError::OffsetGone { asked: from, first });
            }
            self.next = Some(from);
            Some(from)
        } else {
            None
        };
        if offset > end && !self.ahead_logged {
            self.ahead_logged = true;
            return Ok(Reported::Ahead {
                slave: offset,
                master: end,
            });
        }
        Ok(started.map_or(Reported::Acked, |from| Reported::Started { from }))
    }

    fn track_lag(&mut self, acked: u64, end: u64, now: Instant) {
        while let Some(&(mark, at)) = self.marks.front() {
            if mark > acked {
                break;
            }
            self.caught_up_at = at;
            self.marks.pop_front();
        }
        if acked >= end {
            self.caught_up_at = now;
            self.marks.clear();
        } else if self.marks.len() < MAX_LAG_MARKS && self.marks.back().is_none_or(|m| m.0 < end) {
            self.marks.push_back((end, now));
        }
    }

    /// The next chunk to send from `table`: at most `batch` bytes of one file, below its readable
    /// end. Advances the stream past it.
    pub fn next_chunk<'a>(
        &mut self,
        table: &'a [Arc<MappedFile>],
        batch: usize,
        now: Instant,
    ) -> Result<Option<(u64, &'a [u8])>, SlaveError> {
        let Some(next) = self.next else {
            return Ok(None);
        };
        let Some(file) = table
            .iter()
            .find(|f| f.start_offset() <= next && next < f.start_offset() + f.size())
        else {
            return match table.first() {
                Some(f) if next < f.start_offset() => Err(SlaveError::OffsetGone {
                    asked: next,
                    first: f.start_offset(),
                }),
                // Beyond the master's log (a slave ahead), or a file not in this table yet.
                _ => Ok(None),
            };
        };
        let pos = (next - file.start_offset()) as usize;
        let readable = file.readable_end();
        if pos >= readable {
            return Ok(None);
        }
        let len = (readable - pos).min(batch);
        let Some(bytes) = file.read(pos, len) else {
            return Ok(None);
        };
        self.next = Some(next + len as u64);
        self.last_write = Some(now);
        self.last_chunk = Some(now);
        Ok(Some((next, bytes)))
    }

    /// The offset for a heartbeat header, if one is due (`interval` without a write since the
    /// stream started).
    pub fn heartbeat_due(&mut self, now: Instant, interval: Duration) -> Option<u64> {
        let next = self.next?;
        if self
            .last_write
            .is_some_and(|w| now.duration_since(w) < interval)
        {
            return None;
        }
        self.last_write = Some(now);
        Some(next)
    }

    /// Bytes of a log ending at `end` not sent yet (0 before the first report).
    pub fn unsent(&self, end: u64) -> u64 {
        self.next.map_or(0, |next| end.saturating_sub(next))
    }

    /// ASYNC_MASTER coalescing: how long the next chunk of a log ending at `end` should wait so
    /// that chunks go out at most once per `interval`, unless a full `batch` is ready (a slave
    /// catching up is never held back). `None`: send now.
    pub fn coalesce_wait(
        &self,
        end: u64,
        batch: usize,
        interval: Duration,
        now: Instant,
    ) -> Option<Duration> {
        let due = self.last_chunk? + interval;
        let unsent = self.unsent(end);
        let wait = now < due && unsent > 0 && unsent < batch as u64;
        wait.then(|| due - now)
    }

    /// Where the next transfer starts (`None` before the first report): Java's
    /// `transferFromWhere`.
    pub fn transfer_from(&self) -> Option<u64> {
        self.next
    }

    /// The slave's latest report.
    pub fn acked(&self) -> Option<u64> {
        self.acked
    }

    /// Bytes the slave lacks of a log ending at `end`.
    pub fn lag_bytes(&self, end: u64) -> u64 {
        end.saturating_sub(self.acked.unwrap_or(0))
    }

    /// Time since the slave last had everything the master had (zero while it has).
    pub fn lag_time(&self, end: u64, now: Instant) -> Duration {
        if self.lag_bytes(end) == 0 {
            Duration::ZERO
        } else {
            now.saturating_duration_since(self.caught_up_at)
        }
    }
}
