//! SYNC_MASTER: sends answered only once a slave has their bytes (RocketMQ 4.9's
//! `CommitLog.handleHA` + `HAService.isSlaveOK` + `GroupTransferService`, which 5.x keeps with
//! `inSyncReplicas = 2`).
//!
//! * No slave connected, or the best slave more than [`MAX_GAP_NOT_IN_SYNC`] behind the send's
//!   end: `SLAVE_NOT_AVAILABLE` at once (the message is stored on the master).
//! * Otherwise the send waits until a slave's acknowledged offset reaches its end, at most the
//!   slave timeout; then `FLUSH_SLAVE_TIMEOUT` (stored on the master, too).
//!
//! `T` answers the sender; the waiters are an [`OffsetWaiters`] like sync flush's, released by
//! the best acknowledged offset instead of the flushed one.

use std::time::{Duration, Instant};

use crate::store::group_commit::OffsetWaiters;

/// RocketMQ's `haMaxGapNotInSync`: 256 MiB.
pub const MAX_GAP_NOT_IN_SYNC: u64 = 256 * 1024 * 1024;

/// The sends waiting for a slave, and the best acknowledged offset.
pub struct SlaveSync<T> {
    waiters: OffsetWaiters<T>,
    /// The best slave's acknowledged offset; `None` while no slave is connected.
    acked: Option<u64>,
    timeout: Duration,
}

impl<T> SlaveSync<T> {
    pub fn new(timeout: Duration) -> SlaveSync<T> {
        SlaveSync {
            waiters: OffsetWaiters::default(),
            acked: None,
            timeout,
        }
    }

    /// A send stored up to `end`: waits (`None`), or comes back at once when no slave can take it
    /// (`Some(done)`: answer `SLAVE_NOT_AVAILABLE`). Already acknowledged: also back at once, as
    /// `Ok`.
    pub fn admit(&mut self, end: u64, now: Instant, done: T) -> Admitted<T> {
        match self.acked {
            None => Admitted::NotAvailable(done),
            Some(acked) if end.saturating_sub(acked) >= MAX_GAP_NOT_IN_SYNC => {
                Admitted::NotAvailable(done)
            }
            Some(acked) if acked >= end => Admitted::Done(done),
            Some(_) => {
                self.waiters.wait(end, now + self.timeout, done);
                Admitted::Waiting
            }
        }
    }

    /// The best acknowledged offset is now `acked` (`None`: no slave connected). Returns the sends
    /// it completes; with no slave left, waiting sends still wait for their deadline (a slave may
    /// come back).
    pub fn acked(&mut self, acked: Option<u64>) -> Vec<T> {
        self.acked = acked;
        acked.map_or_else(Vec::new, |a| self.waiters.release(a))
    }

    /// Sends past their deadline (`FLUSH_SLAVE_TIMEOUT`).
    pub fn expire(&mut self, now: Instant) -> Vec<T> {
        self.waiters.expire(now)
    }

    /// Every waiting send (shutdown).
    pub fn drain(&mut self) -> Vec<T> {
        self.waiters.above(0)
    }

    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }
}

/// What [`SlaveSync::admit`] did with a send.
#[derive(Debug, PartialEq, Eq)]
pub enum Admitted<T> {
    Waiting,
    /// A slave has its bytes already.
    Done(T),
    /// No slave can take it now.
    NotAvailable(T),
}
