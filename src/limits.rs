//! Per-client and broker-wide bounds on connections (`[server]` limits): the accounting behind them,
//! pure and synchronous, so the `Connection` and `Server` actors only route.
//!
//! - [`FrameBudget`]: a broker-wide budget of bytes for frames in progress. A frame whose header has
//!   arrived but whose body has not reserves its announced length; the reservation is released when
//!   the frame completes or the connection goes away (it is a drop guard). Beyond the budget the
//!   connection stops reading until budget frees up (bounded by the frame read timeout).
//! - [`ReadFlow`]: one connection's shared read/write state: frames read, whether a frame is half
//!   read, reply bytes queued and written, and whether reading is paused (unread replies above the
//!   bound, or waiting for frame budget). The decoder, the reply encoder, the socket writer and the
//!   read gate (`protocol::bounded`) each update it with a few integer operations; it lives on the
//!   connection's thread (`Rc` + `Cell`, no lock).
//! - [`Watchdog`]: decides on each tick whether a half-read frame has taken longer than the frame
//!   read timeout, or the connection has been silent longer than the idle timeout (RocketMQ's
//!   `serverChannelMaxIdleTimeSeconds`, whose Netty `IdleStateHandler` counts reads and writes).
//! - [`ConnectionCap`]: admits or refuses a new socket against `max_connections`, and says when a
//!   refusal starts a burst (logged once per burst).
//! - [`RejectedRequests`]: lock-free counters of non-SUCCESS responses by (request code, response
//!   code), with a fixed number of label pairs so a hostile client cannot grow the metric.
//! - [`GuardStats`]: counters of what the guards did, exported as metrics.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::metrics::Gauge;
use crate::protocol::{request_code, response_code};

/// Broker-wide budget for bytes of frames in progress, shared by every connection.
#[derive(Debug)]
pub struct FrameBudget {
    capacity: usize,
    used: AtomicUsize,
}

impl FrameBudget {
    pub fn new(capacity: usize) -> Arc<FrameBudget> {
        Arc::new(FrameBudget {
            capacity,
            used: AtomicUsize::new(0),
        })
    }

    /// Reserves `bytes`, or `None` if that would exceed the budget. A compare-and-swap loop, so
    /// two connections can never together overshoot it.
    pub fn try_reserve(self: &Arc<Self>, bytes: usize) -> Option<FrameReservation> {
        let mut used = self.used.load(Relaxed);
        loop {
            let next = used.checked_add(bytes)?;
            if next > self.capacity {
                return None;
            }
            match self
                .used
                .compare_exchange_weak(used, next, Relaxed, Relaxed)
            {
                Ok(_) => {
                    return Some(FrameReservation {
                        budget: self.clone(),
                        bytes,
                    })
                }
                Err(now) => used = now,
            }
        }
    }

    /// Bytes reserved by frames in progress right now.
    pub fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Bytes held from a [`FrameBudget`]; given back when dropped.
#[derive(Debug)]
pub struct FrameReservation {
    budget: Arc<FrameBudget>,
    bytes: usize,
}

impl FrameReservation {
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for FrameReservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Relaxed);
    }
}

/// Why reading from a connection is paused, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// Replies not yet written to the socket exceed `max_unread_reply_bytes`.
    UnreadReplies,
    /// A frame's header arrived but the frame budget has no room for it.
    FrameBudget,
}

/// One connection's read and write accounting, shared (on its own thread) by the decoder, the reply
/// encoder, the socket writer, the read gate and the actor.
pub struct ReadFlow {
    /// Frames decoded so far.
    frames: Cell<u64>,
    /// Times bytes arrived (each read hands the decoder new bytes).
    reads: Cell<u64>,
    /// A frame is partly in the read buffer.
    partial: Cell<bool>,
    /// Reply bytes encoded into the write buffer, and of those, written to the socket.
    queued: Cell<u64>,
    written: Cell<u64>,
    max_unread: u64,
    replies_paused: Cell<bool>,
    budget_wait: Cell<bool>,
    /// Times reading was paused for unread replies (also added to `guards.stats` as it happens).
    reply_pauses: Cell<u64>,
    waker: Cell<Option<Waker>>,
    guards: Arc<ConnectionGuards>,
}

impl ReadFlow {
    pub fn new(max_unread_reply_bytes: usize, guards: Arc<ConnectionGuards>) -> ReadFlow {
        ReadFlow {
            frames: Cell::new(0),
            reads: Cell::new(0),
            partial: Cell::new(false),
            queued: Cell::new(0),
            written: Cell::new(0),
            max_unread: max_unread_reply_bytes as u64,
            replies_paused: Cell::new(false),
            budget_wait: Cell::new(false),
            reply_pauses: Cell::new(0),
            waker: Cell::new(None),
            guards,
        }
    }

    /// The decoder was handed the read buffer (new bytes arrived, or it is drained after a frame).
    #[inline]
    pub fn on_decode(&self) {
        self.reads.set(self.reads.get() + 1);
    }

    /// A whole frame was taken from the buffer; `rest` bytes of the next one remain.
    #[inline]
    pub fn on_frame(&self, rest: usize) {
        self.frames.set(self.frames.get() + 1);
        self.partial.set(rest != 0);
    }

    /// The buffer holds part of a frame (`true`) or nothing (`false`) and more bytes are needed.
    #[inline]
    pub fn on_incomplete(&self, partial: bool) {
        self.partial.set(partial);
    }

    /// `bytes` of replies were encoded into the write buffer. Returns true when this pauses reading
    /// (the unread replies just crossed the bound).
    #[inline]
    pub fn on_queued(&self, bytes: usize) -> bool {
        self.queued.set(self.queued.get() + bytes as u64);
        if !self.replies_paused.get() && self.unread_replies() > self.max_unread {
            self.replies_paused.set(true);
            self.reply_pauses.set(self.reply_pauses.get() + 1);
            self.guards.stats.reply_pauses.fetch_add(1, Relaxed);
            return true;
        }
        false
    }

    /// `bytes` of replies reached the socket. Reading resumes once the unread replies are down to
    /// half the bound (hysteresis, so a client at the edge does not flip it per reply).
    #[inline]
    pub fn on_written(&self, bytes: usize) {
        self.written.set(self.written.get() + bytes as u64);
        if self.replies_paused.get() && self.unread_replies() <= self.max_unread / 2 {
            self.replies_paused.set(false);
            self.wake();
        }
    }

    /// The decoder found no budget for a frame: stop reading until [`ReadFlow::retry_budget`].
    pub fn wait_for_budget(&self) {
        self.budget_wait.set(true);
    }

    /// Let the decoder try to reserve budget again.
    pub fn retry_budget(&self) {
        if self.budget_wait.replace(false) {
            self.wake();
        }
    }

    /// Why reading is paused, if it is (replies first: they are the client's to fix).
    #[inline]
    pub fn paused(&self) -> Option<Pause> {
        if self.replies_paused.get() {
            Some(Pause::UnreadReplies)
        } else if self.budget_wait.get() {
            Some(Pause::FrameBudget)
        } else {
            None
        }
    }

    /// The read side is paused: remember whom to wake when it may go on.
    pub fn park(&self, waker: &Waker) {
        self.waker.set(Some(waker.clone()));
    }

    fn wake(&self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    pub fn unread_replies(&self) -> u64 {
        self.queued.get().saturating_sub(self.written.get())
    }

    pub fn reply_pauses(&self) -> u64 {
        self.reply_pauses.get()
    }

    /// What the watchdog looks at.
    pub fn observe(&self) -> Observed {
        Observed {
            activity: self
                .reads
                .get()
                .wrapping_add(self.frames.get())
                .wrapping_add(self.written.get()),
            frames: self.frames.get(),
            partial: self.partial.get(),
            reading: self.paused() != Some(Pause::UnreadReplies),
        }
    }
}

/// A connection's state as one watchdog tick sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// Changes whenever bytes are read or written.
    pub activity: u64,
    /// Frames decoded so far.
    pub frames: u64,
    /// A frame is half read.
    pub partial: bool,
    /// The broker is reading this connection (not paused for unread replies: then a half frame
    /// waits on us, not on the client).
    pub reading: bool,
}

/// What a watchdog tick decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Healthy,
    /// A frame has been half read for longer than the frame read timeout.
    FrameTimeout,
    /// No byte read or written for longer than the idle timeout.
    Idle,
}

/// Frame-read and idle deadlines, checked on a timer (no clock read per frame). A half frame is
/// noticed at the first tick that sees it, so it is closed between `frame_timeout` and
/// `frame_timeout` + one tick after its header arrived.
#[derive(Debug)]
pub struct Watchdog {
    frame_timeout: Duration,
    idle_timeout: Duration,
    last_activity: u64,
    active_at: Instant,
    /// The frame count when a half frame was first seen, and when.
    half_frame: Option<(u64, Instant)>,
}

impl Watchdog {
    pub fn new(frame_timeout: Duration, idle_timeout: Duration, now: Instant) -> Watchdog {
        Watchdog {
            frame_timeout,
            idle_timeout,
            last_activity: 0,
            active_at: now,
            half_frame: None,
        }
    }

    /// How often to tick: a quarter of the shorter deadline, between 10 ms and 1 s.
    pub fn tick_interval(&self) -> Duration {
        (self.frame_timeout.min(self.idle_timeout) / 4)
            .clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    pub fn check(&mut self, now: Instant, seen: Observed) -> Verdict {
        if seen.activity != self.last_activity {
            self.last_activity = seen.activity;
            self.active_at = now;
        }
        if seen.partial && seen.reading {
            match self.half_frame {
                Some((frames, since)) if frames == seen.frames => {
                    if now.duration_since(since) >= self.frame_timeout {
                        return Verdict::FrameTimeout;
                    }
                }
                _ => self.half_frame = Some((seen.frames, now)),
            }
        } else {
            self.half_frame = None;
        }
        if now.duration_since(self.active_at) >= self.idle_timeout {
            return Verdict::Idle;
        }
        Verdict::Healthy
    }
}

/// Whether a new socket may become a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Accept,
    /// Close it at once; `first_of_burst` is true for the first refusal since the count was last
    /// below the cap (log that one).
    Refuse {
        first_of_burst: bool,
    },
}

/// `max_connections` for one listener.
#[derive(Debug)]
pub struct ConnectionCap {
    max: usize,
    refusing: bool,
}

impl ConnectionCap {
    pub fn new(max: usize) -> ConnectionCap {
        ConnectionCap {
            max,
            refusing: false,
        }
    }

    /// Decides for a new socket while `open` connections are open.
    pub fn admit(&mut self, open: usize) -> Admission {
        if open < self.max {
            self.refusing = false;
            return Admission::Accept;
        }
        let first_of_burst = !self.refusing;
        self.refusing = true;
        Admission::Refuse { first_of_burst }
    }
}

/// Most distinct (request code, response code) pairs [`RejectedRequests`] keeps apart; further
/// pairs are counted together as `OVERFLOW_CODE`/`OVERFLOW_CODE`.
pub const REJECTED_LABEL_PAIRS: usize = 128;
/// The request and response code of the catch-all pair.
pub const OVERFLOW_CODE: i32 = -1;

/// Non-SUCCESS responses counted by (request code, response code), lock-free: an open-addressing
/// table of atomic keys, claimed by compare-and-swap, with a fixed number of slots.
#[derive(Debug)]
pub struct RejectedRequests {
    /// `pair_key(request, response)`, 0 = free slot.
    keys: Box<[AtomicU64]>,
    counts: Box<[AtomicU64]>,
    overflow: AtomicU64,
}

impl Default for RejectedRequests {
    fn default() -> Self {
        RejectedRequests {
            keys: (0..REJECTED_LABEL_PAIRS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            counts: (0..REJECTED_LABEL_PAIRS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            overflow: AtomicU64::new(0),
        }
    }
}

/// The key of a pair; nonzero because SUCCESS (0) is never recorded, so 0 can mark a free slot.
fn pair_key(request: i32, response: i32) -> u64 {
    (request as u32 as u64) << 32 | (response as u32 as u64)
}

impl RejectedRequests {
    /// Counts one response; SUCCESS (0) is not a rejection and is ignored.
    pub fn record(&self, request: i32, response: i32) {
        if response == 0 {
            return;
        }
        let key = pair_key(request, response);
        let n = self.keys.len();
        let start = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % n;
        for i in 0..n {
            let slot = (start + i) % n;
            let current = self.keys[slot].load(Relaxed);
            let claimed = current == key
                || (current == 0
                    && match self.keys[slot].compare_exchange(0, key, Relaxed, Relaxed) {
                        Ok(_) => true,
                        Err(other) => other == key,
                    });
            if claimed {
                self.counts[slot].fetch_add(1, Relaxed);
                return;
            }
        }
        self.overflow.fetch_add(1, Relaxed);
    }

    /// Every pair seen, `(request code, response code, count)`, sorted by codes; the catch-all pair
    /// last when it is nonzero.
    pub fn snapshot(&self) -> Vec<(i32, i32, u64)> {
        let mut pairs: Vec<_> = self
            .keys
            .iter()
            .zip(self.counts.iter())
            .filter_map(|(k, c)| {
                let key = k.load(Relaxed);
                let count = c.load(Relaxed);
                (key != 0 && count != 0).then_some(((key >> 32) as i32, key as u32 as i32, count))
            })
            .collect();
        pairs.sort_unstable();
        let overflow = self.overflow.load(Relaxed);
        if overflow != 0 {
            pairs.push((OVERFLOW_CODE, OVERFLOW_CODE, overflow));
        }
        pairs
    }
}

/// What the guards did, broker-wide; exported as `actormq_connections_*` metrics.
#[derive(Debug, Default)]
pub struct GuardStats {
    pub connections_refused: AtomicU64,
    pub frame_timeouts: AtomicU64,
    pub idle_closes: AtomicU64,
    pub budget_waits: AtomicU64,
    pub reply_pauses: AtomicU64,
}

/// Everything connections share: the frame budget, the counters and the rejected-request table.
#[derive(Debug)]
pub struct ConnectionGuards {
    pub budget: Arc<FrameBudget>,
    pub stats: GuardStats,
    pub rejected: RejectedRequests,
}

impl ConnectionGuards {
    pub fn new(frame_budget_bytes: usize) -> Arc<ConnectionGuards> {
        Arc::new(ConnectionGuards {
            budget: FrameBudget::new(frame_budget_bytes),
            stats: GuardStats::default(),
            rejected: RejectedRequests::default(),
        })
    }

    /// The guards' figures as metrics: `actormq_connections_*`, `actormq_frame_budget_*` and
    /// `actormq_requests_rejected_total{request_code, response_code, request, response}` (the
    /// names are the codes' RocketMQ names, `UNKNOWN` for codes this broker does not know).
    pub fn gauges(&self) -> Vec<Gauge> {
        let s = &self.stats;
        let plain =
            |name: &str, kind: &str, help: &str, value: u64, labels: &[(&str, &str)]| Gauge {
                name: name.into(),
                help: help.into(),
                kind: kind.into(),
                value: value as f64,
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            };
        let closed = "Connections the broker closed, by reason (frame_timeout: a frame not complete within server.frame_read_timeout_ms; idle: silent for server.idle_timeout_secs).";
        let mut gauges = vec![
            plain(
                "connections_refused_total",
                "counter",
                "Sockets closed at accept because server.max_connections connections were open.",
                s.connections_refused.load(Relaxed),
                &[],
            ),
            plain(
                "connections_closed_total",
                "counter",
                closed,
                s.frame_timeouts.load(Relaxed),
                &[("reason", "frame_timeout")],
            ),
            plain(
                "connections_closed_total",
                "counter",
                closed,
                s.idle_closes.load(Relaxed),
                &[("reason", "idle")],
            ),
            plain(
                "connections_read_paused_total",
                "counter",
                "Times a connection stopped being read, by reason (unread_replies: above server.max_unread_reply_bytes; frame_budget: server.frame_budget_bytes exhausted).",
                s.reply_pauses.load(Relaxed),
                &[("reason", "unread_replies")],
            ),
            plain(
                "connections_read_paused_total",
                "counter",
                "",
                s.budget_waits.load(Relaxed),
                &[("reason", "frame_budget")],
            ),
            plain(
                "frame_budget_used_bytes",
                "gauge",
                "Bytes of frames in progress reserved from server.frame_budget_bytes.",
                self.budget.used() as u64,
                &[],
            ),
            plain(
                "frame_budget_capacity_bytes",
                "gauge",
                "server.frame_budget_bytes.",
                self.budget.capacity() as u64,
                &[],
            ),
        ];
        for (request, response, count) in self.rejected.snapshot() {
            let (req, resp) = (request.to_string(), response.to_string());
            gauges.push(plain(
                "requests_rejected_total",
                "counter",
                "Non-SUCCESS responses sent, by request code and response code.",
                count,
                &[
                    ("request_code", &req),
                    ("response_code", &resp),
                    ("request", request_code::name(request)),
                    ("response", response_code::name(response)),
                ],
            ));
        }
        gauges
    }
}

#[cfg(test)]
mod tests;
