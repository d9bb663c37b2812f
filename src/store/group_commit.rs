//! Sync flush's group commit (RocketMQ's `GroupCommitService`): sends wait, in commit-log order,
//! until a flush covers their bytes; one flush answers every waiter below the flushed offset.
//!
//! [`GroupCommit`] keeps the waiters and decides when to ask for a flush: never while one is
//! running (its answer asks again if more was written meanwhile: that forms the next group), and
//! until everything published is flushed even when no sender waits any more (all timed out) — in
//! sync mode consumers see only flushed records, so a record nobody waits for must still get
//! flushed. `T` is whatever answers a sender (the writer actor's completion callback).

use std::collections::VecDeque;
use std::time::Instant;

struct Waiter<T> {
    end: u64,
    deadline: Instant,
    done: T,
}

/// Senders waiting, in commit-log order, for an offset to pass the end of their bytes (a flush, or
/// a slave's acknowledgement under SYNC_MASTER), each until its deadline.
pub struct OffsetWaiters<T> {
    waiters: VecDeque<Waiter<T>>,
}

impl<T> Default for OffsetWaiters<T> {
    fn default() -> Self {
        OffsetWaiters {
            waiters: VecDeque::new(),
        }
    }
}

impl<T> OffsetWaiters<T> {
    /// A send whose bytes end at `end` waits until `deadline`. Sends are added in commit-log order.
    pub fn wait(&mut self, end: u64, deadline: Instant, done: T) {
        debug_assert!(self.waiters.back().is_none_or(|w| w.end <= end));
        self.waiters.push_back(Waiter {
            end,
            deadline,
            done,
        });
    }

    /// The waiters whose bytes end at or below `offset`, oldest first.
    pub fn release(&mut self, offset: u64) -> Vec<T> {
        let mut released = Vec::new();
        while self.waiters.front().is_some_and(|w| w.end <= offset) {
            released.push(self.waiters.pop_front().expect("checked").done);
        }
        released
    }

    /// Waiters past their deadline, oldest first.
    pub fn expire(&mut self, now: Instant) -> Vec<T> {
        let mut expired = Vec::new();
        while self.waiters.front().is_some_and(|w| w.deadline <= now) {
            expired.push(self.waiters.pop_front().expect("checked").done);
        }
        expired
    }

    /// The waiters whose bytes end above `offset`, newest first.
    pub fn above(&mut self, offset: u64) -> Vec<T> {
        let mut taken = Vec::new();
        while self.waiters.back().is_some_and(|w| w.end > offset) {
            taken.push(self.waiters.pop_back().expect("checked").done);
        }
        taken
    }

    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }
}

/// Waiting senders and the state of the flush requests.
pub struct GroupCommit<T> {
    waiters: OffsetWaiters<T>,
    /// The flushed offset the last flush answered.
    synced: u64,
    in_flight: bool,
}

impl<T> GroupCommit<T> {
    /// Everything below `flushed` is durable already (the log's end at start-up).
    pub fn new(flushed: u64) -> GroupCommit<T> {
        GroupCommit {
            waiters: OffsetWaiters::default(),
            synced: flushed,
            in_flight: false,
        }
    }

    /// A stored send whose bytes end at `end` waits for a flush until `deadline`. Sends are added
    /// in commit-log order.
    pub fn wait(&mut self, end: u64, deadline: Instant, done: T) {
        self.waiters.wait(end, deadline, done);
    }

    /// Whether to ask for a flush now, given the published offset; if so, a flush counts as
    /// running until [`GroupCommit::flushed`].
    pub fn start_flush(&mut self, published: u64) -> bool {
        if self.in_flight || self.synced >= published {
            return false;
        }
        self.in_flight = true;
        true
    }

    /// A flush answered `flushed` (`None`: the flusher is gone). Returns the waiters it releases
    /// and whether it made progress (if not, ask again only after a pause: a failed msync or bytes
    /// in a file the flusher has not been told of yet).
    pub fn flushed(&mut self, flushed: Option<u64>) -> (Vec<T>, bool) {
        self.in_flight = false;
        let Some(flushed) = flushed else {
            return (Vec::new(), false);
        };
        let progressed = flushed > self.synced;
        self.synced = self.synced.max(flushed);
        (self.waiters.release(flushed), progressed)
    }

    /// The flushed offset the last flush answered.
    pub fn synced(&self) -> u64 {
        self.synced
    }

    /// Waiters past their deadline, oldest first (their bytes stay stored: `FLUSH_DISK_TIMEOUT`).
    pub fn expire(&mut self, now: Instant) -> Vec<T> {
        self.waiters.expire(now)
    }

    /// A write failed: the waiters whose bytes end above `published` were never written.
    pub fn unwritten(&mut self, published: u64) -> Vec<T> {
        self.waiters.above(published)
    }

    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_flush_releases_every_waiter_below_it() {
        let now = Instant::now();
        let mut g = GroupCommit::new(100);
        assert!(!g.start_flush(100), "nothing new to flush");
        for (end, id) in [(150, 1), (200, 2), (260, 3)] {
            g.wait(end, now + Duration::from_secs(5), id);
        }
        assert!(g.start_flush(260));
        assert!(!g.start_flush(260), "one flush at a time");
        let (released, progressed) = g.flushed(Some(200));
        assert_eq!((released, progressed), (vec![1, 2], true));
        assert_eq!(g.synced(), 200);
        assert!(g.start_flush(260), "the rest forms the next group");
        let (released, progressed) = g.flushed(Some(200));
        assert_eq!((released, progressed), (vec![], false));
        assert!(g.start_flush(260));
        assert_eq!(g.flushed(Some(260)).0, vec![3]);
        assert!(g.is_empty());
    }

    #[test]
    fn flushes_continue_with_no_waiter_left() {
        let now = Instant::now();
        let mut g = GroupCommit::new(0);
        g.wait(10, now, "late");
        assert_eq!(g.expire(now), vec!["late"]);
        assert!(g.is_empty());
        assert!(
            g.start_flush(10),
            "a record nobody waits for still gets flushed"
        );
        assert_eq!(g.flushed(None), (vec![], false), "flusher gone");
        assert!(g.start_flush(10));
    }

    #[test]
    fn expiry_and_failed_writes_take_the_right_ends() {
        let now = Instant::now();
        let mut g = GroupCommit::new(0);
        g.wait(10, now, 1);
        g.wait(20, now + Duration::from_secs(1), 2);
        g.wait(30, now + Duration::from_secs(1), 3);
        assert_eq!(g.expire(now), vec![1]);
        assert_eq!(g.len(), 2);
        assert_eq!(
            g.unwritten(20),
            vec![3],
            "newest first, only above published"
        );
        assert_eq!(g.unwritten(20), Vec::<i32>::new());
        assert_eq!(g.len(), 1);
    }
}
