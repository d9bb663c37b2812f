//! Mailbox metrics: how many messages wait in each actor's mailbox, how fast it drains, how long a
//! handler takes, and how many sends were refused because the mailbox was full.
//!
//! actix does not expose mailbox length, so the broker counts it: the sender bumps `enqueued` after a
//! successful send, the handler bumps `handled` and records its duration, and depth is the
//! difference. Everything is a relaxed atomic (no lock on the hot path); handling time goes into a
//! fixed log2 histogram of atomic buckets, from which p50/p99 are derived. Every run is timed, so the
//! histogram's count is the handled count (two clock reads, ~30 ns each through the vDSO, and three
//! relaxed adds: ~60 ns a run). A `MailboxSnapshot` is plain data that travels by message and over the
//! wire (JSON), and the difference of two snapshots gives the "recent" figures `actormq stats --watch`
//! shows.
//!
//! Peak depth is a max over a window, not since start (which says nothing once it has been reached):
//! the largest depth in the current and the previous [`PEAK_WINDOW`], rotated by
//! [`MailboxStats::rotate_peak_window`] (the broker's `Metrics` actor does it every window). Any
//! reader sees every peak for at least one whole window after it, so a Prometheus scraping at least
//! that often misses none, and `max_over_time(actormq_mailbox_peak_depth[5m])` is the 5-minute peak.
//! Readers do not reset it, so several scrapers and `actormq stats` can read it side by side.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::put_latency;
use crate::rates::Totals;

/// Length of one peak-depth window: `peak_depth` is the largest depth in the last one to two of them.
pub const PEAK_WINDOW: Duration = Duration::from_secs(30);

/// Histogram buckets: upper bounds 1 us, 2 us, 4 us, ... 2^(BUCKETS-1) us (~8.4 s), then +Inf.
pub const BUCKETS: usize = 24;

/// Upper bound of bucket `i`, in seconds.
pub fn bucket_bound_secs(i: usize) -> f64 {
    (1u64 << i) as f64 * 1e-6
}

/// The counters of one actor kind (all connections share one).
#[derive(Debug)]
pub struct MailboxStats {
    actor: &'static str,
    /// Off (`[metrics] mailbox_stats = false`): every call returns at once, for A/B cost measurement.
    enabled: bool,
    capacity: AtomicU64,
    enqueued: AtomicU64,
    handled: AtomicU64,
    rejected: AtomicU64,
    /// Largest depth in the current peak window.
    peak_depth: AtomicU64,
    /// Largest depth in the previous peak window.
    previous_peak_depth: AtomicU64,
    handle_ns_sum: AtomicU64,
    handle_ns_max: AtomicU64,
    buckets: [AtomicU64; BUCKETS + 1],
}

impl MailboxStats {
    pub fn new(actor: &'static str, capacity: usize, enabled: bool) -> Arc<MailboxStats> {
        Arc::new(MailboxStats {
            actor,
            enabled,
            capacity: AtomicU64::new(capacity as u64),
            enqueued: AtomicU64::new(0),
            handled: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            peak_depth: AtomicU64::new(0),
            previous_peak_depth: AtomicU64::new(0),
            handle_ns_sum: AtomicU64::new(0),
            handle_ns_max: AtomicU64::new(0),
            buckets: Default::default(),
        })
    }

    pub fn actor(&self) -> &'static str {
        self.actor
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// A message was accepted into the mailbox.
    pub fn enqueued(&self) {
        if !self.enabled {
            return;
        }
        let enqueued = self.enqueued.fetch_add(1, Relaxed) + 1;
        let depth = enqueued.saturating_sub(self.handled.load(Relaxed));
        // A plain load first: a new peak is rare, a locked read-modify-write per send is not.
        if depth > self.peak_depth.load(Relaxed) {
            self.peak_depth.fetch_max(depth, Relaxed);
        }
    }

    /// A send was refused because the mailbox was full.
    pub fn rejected(&self) {
        if !self.enabled {
            return;
        }
        self.rejected.fetch_add(1, Relaxed);
    }

    /// Starts timing one handler run; the guard records it when dropped.
    pub fn handling(&self) -> HandleTimer<'_> {
        HandleTimer {
            stats: self,
            also: None,
            began: self.enabled.then(Instant::now),
        }
    }

    /// As [`handling`](Self::handling), recording the same run (one pair of clock reads) on `also`
    /// too: a connection's reply counts on the connections' shared row and on its own.
    pub fn handling_with<'a>(&'a self, also: &'a MailboxStats) -> HandleTimer<'a> {
        HandleTimer {
            stats: self,
            also: Some(also),
            began: (self.enabled || also.enabled).then(Instant::now),
        }
    }

    /// Starts a new peak window: the current window's peak becomes the previous one, and the new
    /// window starts from the depth now (a standing queue stays visible).
    pub fn rotate_peak_window(&self) {
        if !self.enabled {
            return;
        }
        let depth = self
            .enqueued
            .load(Relaxed)
            .saturating_sub(self.handled.load(Relaxed));
        let peak = self.peak_depth.swap(depth, Relaxed);
        self.previous_peak_depth.store(peak, Relaxed);
    }

    /// Messages handled so far (0 with `[metrics] mailbox_stats = false`).
    pub fn handled_count(&self) -> u64 {
        self.handled.load(Relaxed)
    }

    /// A handler finished after `elapsed`.
    pub fn handled(&self, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        let ns = elapsed.as_nanos().min(u64::MAX as u128) as u64;
        self.handled.fetch_add(1, Relaxed);
        self.handle_ns_sum.fetch_add(ns, Relaxed);
        if ns > self.handle_ns_max.load(Relaxed) {
            self.handle_ns_max.fetch_max(ns, Relaxed);
        }
        let us = ns.div_ceil(1000).max(1);
        // Smallest i with us <= 2^i.
        let i = (64 - (us - 1).leading_zeros()) as usize;
        self.buckets[i.min(BUCKETS)].fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> MailboxSnapshot {
        let handled = self.handled.load(Relaxed);
        let enqueued = self.enqueued.load(Relaxed);
        MailboxSnapshot {
            actor: self.actor.to_string(),
            capacity: self.capacity.load(Relaxed),
            depth: enqueued.saturating_sub(handled),
            peak_depth: self
                .peak_depth
                .load(Relaxed)
                .max(self.previous_peak_depth.load(Relaxed)),
            enqueued,
            handled,
            rejected: self.rejected.load(Relaxed),
            handle_seconds_sum: self.handle_ns_sum.load(Relaxed) as f64 * 1e-9,
            handle_seconds_max: self.handle_ns_max.load(Relaxed) as f64 * 1e-9,
            buckets: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
        }
    }
}

/// Records a handler's duration on drop.
pub struct HandleTimer<'a> {
    stats: &'a MailboxStats,
    also: Option<&'a MailboxStats>,
    /// `None` when counting is off.
    began: Option<Instant>,
}

impl Drop for HandleTimer<'_> {
    fn drop(&mut self) {
        if let Some(began) = self.began {
            let elapsed = began.elapsed();
            self.stats.handled(elapsed);
            if let Some(also) = self.also {
                also.handled(elapsed);
            }
        }
    }
}

/// The store's message counters on the send path, bumped by the `CommitLogWriter` once per append.
///
/// `#[repr(align(128))]` keeps them alone on their cache lines: the writer (on the system arbiter's
/// thread) and the dispatcher ([`PullCounters`], on its own thread) each add to theirs for every
/// message, and two counters on one line would bounce it between the cores on every add (false
/// sharing). 128, not 64: x86's adjacent-line prefetcher fetches lines in pairs (crossbeam's
/// `CachePadded` uses 128 for the same reason).
#[derive(Debug)]
#[repr(align(128))]
pub struct PutCounters {
    messages: AtomicU64,
    bytes: AtomicU64,
    /// Appends per [`put_latency::BOUNDS_MS`] bucket of their time in the writer.
    latency: [AtomicU64; put_latency::BUCKETS],
}

impl Default for PutCounters {
    fn default() -> Self {
        PutCounters {
            messages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl PutCounters {
    /// An append of `messages` records, `bytes` in all, is in the commit log, after `took` in the
    /// writer (the time it measures anyway, for its slow-append warning).
    pub fn appended(&self, messages: u64, bytes: u64, took: Duration) {
        self.messages.fetch_add(messages, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
        self.latency[put_latency::bucket(took)].fetch_add(1, Relaxed);
    }

    /// Appends so far per put-latency bucket.
    pub fn latency_counts(&self) -> [u64; put_latency::BUCKETS] {
        std::array::from_fn(|i| self.latency[i].load(Relaxed))
    }
}

/// The store's counters on the pull path, bumped by the `Dispatcher` once per pull answer; on
/// cache lines of their own (see [`PutCounters`]).
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct PullCounters {
    found: AtomicU64,
    missed: AtomicU64,
    transferred: AtomicU64,
}

impl PullCounters {
    /// A pull was answered: FOUND with `records` messages (`found`), or with none.
    pub fn answered(&self, found: bool, records: usize) {
        if found {
            self.found.fetch_add(1, Relaxed);
            self.transferred.fetch_add(records as u64, Relaxed);
        } else {
            self.missed.fetch_add(1, Relaxed);
        }
    }
}

/// The totals of both, as the rates want them.
pub fn store_totals(put: &PutCounters, pull: &PullCounters) -> Totals {
    Totals {
        put: put.messages.load(Relaxed),
        put_bytes: put.bytes.load(Relaxed),
        transferred: pull.transferred.load(Relaxed),
        pulls_found: pull.found.load(Relaxed),
        pulls_missed: pull.missed.load(Relaxed),
    }
}

/// Every actor's counters, fixed at start-up and shared read-only.
pub type MailboxRegistry = Arc<Vec<Arc<MailboxStats>>>;

/// One actor's figures at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailboxSnapshot {
    pub actor: String,
    pub capacity: u64,
    pub depth: u64,
    /// Largest depth in the last one to two [`PEAK_WINDOW`]s.
    pub peak_depth: u64,
    pub enqueued: u64,
    pub handled: u64,
    pub rejected: u64,
    pub handle_seconds_sum: f64,
    pub handle_seconds_max: f64,
    /// Handler runs per bucket (see `bucket_bound_secs`; every run is timed), the last one
    /// unbounded.
    pub buckets: Vec<u64>,
}

impl MailboxSnapshot {
    /// The handling time below which a fraction `q` of runs finished (bucket upper bound), seconds.
    pub fn quantile_secs(&self, q: f64) -> f64 {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return if i < BUCKETS {
                    bucket_bound_secs(i).min(self.handle_seconds_max.max(1e-6))
                } else {
                    self.handle_seconds_max
                };
            }
        }
        self.handle_seconds_max
    }

    /// An estimate of how long the oldest queued message has waited, in seconds (RocketMQ's
    /// `headSlowTimeMills` of a thread-pool queue): the messages queued now times the mean handling
    /// time so far; 0 with nothing queued. The counters keep no enqueue times, so this is how long
    /// the queue takes to drain at the mean pace, which under steady load is about what its head
    /// has waited (it had about as many ahead of it when it came).
    pub fn head_wait_estimate_secs(&self) -> f64 {
        if self.depth == 0 || self.handled == 0 {
            return 0.0;
        }
        self.depth as f64 * self.handle_seconds_sum / self.handled as f64
    }

    /// The activity between `earlier` and `self` (counters subtracted; gauges and max kept).
    pub fn since(&self, earlier: &MailboxSnapshot) -> MailboxSnapshot {
        MailboxSnapshot {
            enqueued: self.enqueued.saturating_sub(earlier.enqueued),
            handled: self.handled.saturating_sub(earlier.handled),
            rejected: self.rejected.saturating_sub(earlier.rejected),
            handle_seconds_sum: (self.handle_seconds_sum - earlier.handle_seconds_sum).max(0.0),
            buckets: self
                .buckets
                .iter()
                .zip(earlier.buckets.iter().chain(std::iter::repeat(&0)))
                .map(|(a, b)| a.saturating_sub(*b))
                .collect(),
            ..self.clone()
        }
    }
}

/// A broker-wide figure exported next to the mailboxes (store offsets, request counts, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gauge {
    /// Prometheus name without the `actormq_` prefix, e.g. `commitlog_max_offset_bytes`.
    pub name: String,
    pub help: String,
    /// `gauge` or `counter`.
    pub kind: String,
    pub value: f64,
    /// Constant labels, e.g. `build_info`'s `version` (bounded values only).
    #[serde(default)]
    pub labels: Vec<(String, String)>,
}

/// Renders snapshots and gauges in the Prometheus text exposition format (version 0.0.4).
pub fn render_prometheus(mailboxes: &[MailboxSnapshot], gauges: &[Gauge]) -> String {
    let mut out = String::new();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP actormq_{name} {help}");
        let _ = writeln!(out, "# TYPE actormq_{name} {kind}");
    };
    type Field = fn(&MailboxSnapshot) -> f64;
    let simple: [(&str, &str, &str, Field); 6] = [
        (
            "mailbox_capacity",
            "gauge",
            "Mailbox capacity of the actor.",
            |m| m.capacity as f64,
        ),
        (
            "mailbox_depth",
            "gauge",
            "Messages waiting in the actor's mailbox.",
            |m| m.depth as f64,
        ),
        (
            "mailbox_peak_depth",
            "gauge",
            "Largest mailbox depth in the last 30 to 60 s (max over the current and the previous 30 s window; never reset by reading).",
            |m| m.peak_depth as f64,
        ),
        (
            "mailbox_enqueued_total",
            "counter",
            "Messages accepted into the mailbox.",
            |m| m.enqueued as f64,
        ),
        (
            "mailbox_handled_total",
            "counter",
            "Messages the actor has handled.",
            |m| m.handled as f64,
        ),
        (
            "mailbox_rejected_total",
            "counter",
            "Sends refused because the mailbox was full.",
            |m| m.rejected as f64,
        ),
    ];
    for (name, kind, help, field) in simple {
        family(&mut out, name, kind, help);
        for m in mailboxes {
            let _ = writeln!(out, "actormq_{name}{{actor=\"{}\"}} {}", m.actor, field(m));
        }
    }
    family(
        &mut out,
        "handle_duration_seconds",
        "histogram",
        "Time an actor spends handling one message (every run is timed: _count = handled).",
    );
    for m in mailboxes {
        let mut cumulative = 0;
        for (i, n) in m.buckets.iter().enumerate() {
            cumulative += n;
            let le = if i < BUCKETS {
                format!("{:e}", bucket_bound_secs(i))
            } else {
                "+Inf".into()
            };
            let _ = writeln!(
                out,
                "actormq_handle_duration_seconds_bucket{{actor=\"{}\",le=\"{le}\"}} {cumulative}",
                m.actor
            );
        }
        let _ = writeln!(
            out,
            "actormq_handle_duration_seconds_sum{{actor=\"{}\"}} {}",
            m.actor, m.handle_seconds_sum
        );
        let _ = writeln!(
            out,
            "actormq_handle_duration_seconds_count{{actor=\"{}\"}} {cumulative}",
            m.actor
        );
    }
    let mut previous: Option<&str> = None;
    for g in gauges {
        // One HELP/TYPE header per family, however many labelled series follow it.
        if previous != Some(g.name.as_str()) {
            family(&mut out, &g.name, &g.kind, &g.help);
        }
        previous = Some(g.name.as_str());
        let labels: Vec<String> = g
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
            .collect();
        let labels = match labels.is_empty() {
            true => String::new(),
            false => format!("{{{}}}", labels.join(",")),
        };
        let _ = writeln!(out, "actormq_{}{labels} {}", g.name, g.value);
    }
    out
}

/// A label value as the exposition format wants it: backslash, double quote and newline escaped.
fn escape_label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn depth_peak_and_histogram() {
        let s = MailboxStats::new("commit_log_writer", 16, true);
        for _ in 0..3 {
            s.enqueued();
        }
        s.handled(Duration::from_micros(3)); // bucket 2 (<= 4 us)
        s.handled(Duration::from_micros(1)); // bucket 0
        s.rejected();
        let snap = s.snapshot();
        assert_eq!(
            (snap.depth, snap.peak_depth, snap.handled, snap.rejected),
            (1, 3, 2, 1)
        );
        assert_eq!(snap.buckets[0], 1);
        assert_eq!(snap.buckets[2], 1);
        assert!((snap.quantile_secs(0.5) - 1e-6).abs() < 1e-9);
        assert!(
            (snap.quantile_secs(0.99) - 3e-6).abs() < 1e-9,
            "{}",
            snap.quantile_secs(0.99)
        );
    }

    #[test]
    fn since_subtracts_counters() {
        let s = MailboxStats::new("a", 1, true);
        s.enqueued();
        s.handled(Duration::from_micros(10));
        let early = s.snapshot();
        s.enqueued();
        s.handled(Duration::from_micros(10));
        let d = s.snapshot().since(&early);
        assert_eq!((d.handled, d.enqueued), (1, 1));
        assert_eq!(d.buckets.iter().sum::<u64>(), 1);
    }

    #[test]
    fn exposition_format_is_well_formed() {
        let s = MailboxStats::new("send_processor", 8, true);
        s.enqueued();
        s.handled(Duration::from_millis(2));
        let gauge = Gauge {
            name: "commitlog_max_offset_bytes".into(),
            help: "x".into(),
            kind: "gauge".into(),
            value: 42.0,
            labels: Vec::new(),
        };
        let text = render_prometheus(&[s.snapshot()], &[gauge]);
        for line in text.lines() {
            if line.starts_with('#') {
                assert!(
                    line.starts_with("# HELP actormq_") || line.starts_with("# TYPE actormq_"),
                    "{line}"
                );
                continue;
            }
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("actormq_"), "{line}");
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value in {line}"));
        }
        assert!(text.contains("actormq_handle_duration_seconds_count{actor=\"send_processor\"} 1"));
        assert!(text.contains("actormq_commitlog_max_offset_bytes 42"));
    }
    /// Every handler run is timed: the histogram's count is the handled count, in the snapshot and
    /// in the exposition (`_count` = `actormq_mailbox_handled_total`).
    #[test]
    fn every_run_is_timed() {
        let s = MailboxStats::new("send_processor", 8, true);
        for _ in 0..13 {
            s.enqueued();
            let _timer = s.handling();
        }
        let snap = s.snapshot();
        assert_eq!(snap.handled, 13);
        assert_eq!(snap.buckets.iter().sum::<u64>(), 13);
        let text = render_prometheus(&[snap], &[]);
        assert!(text.contains("actormq_handle_duration_seconds_count{actor=\"send_processor\"} 13"));
        assert!(text.contains("actormq_mailbox_handled_total{actor=\"send_processor\"} 13"));
    }

    /// `handling_with` records one run on both rows; with counting off nothing is recorded.
    #[test]
    fn handling_with_records_on_both_rows() {
        let (shared, own) = (
            MailboxStats::new("connection", 4, true),
            MailboxStats::new("connection", 4, true),
        );
        drop(shared.handling_with(&own));
        assert_eq!((shared.snapshot().handled, own.snapshot().handled), (1, 1));
        assert_eq!(own.snapshot().buckets.iter().sum::<u64>(), 1);
        let off = MailboxStats::new("x", 1, false);
        drop(off.handling());
        off.enqueued();
        off.rotate_peak_window();
        assert_eq!((off.snapshot().handled, off.snapshot().enqueued), (0, 0));
    }

    /// The peak is the largest depth of the current and the previous window: it survives one
    /// rotation, is gone after the second, and a new window starts from the standing depth.
    #[test]
    fn peak_depth_is_a_max_over_two_windows() {
        let s = MailboxStats::new("dispatcher", 16, true);
        for _ in 0..5 {
            s.enqueued();
        }
        for _ in 0..4 {
            s.handled(Duration::from_micros(1));
        }
        assert_eq!((s.snapshot().depth, s.snapshot().peak_depth), (1, 5));
        s.rotate_peak_window();
        assert_eq!(s.snapshot().peak_depth, 5, "still in the previous window");
        s.rotate_peak_window();
        assert_eq!(s.snapshot().peak_depth, 1, "the standing depth");
        s.handled(Duration::from_micros(1));
        s.rotate_peak_window();
        s.rotate_peak_window();
        assert_eq!(s.snapshot().peak_depth, 0);
        s.enqueued();
        s.enqueued();
        assert_eq!(s.snapshot().peak_depth, 2);
    }

    /// Puts and pulls land on their own counters, each kind on cache lines of its own.
    #[test]
    fn message_counters() {
        let (put, pull) = (PutCounters::default(), PullCounters::default());
        put.appended(1, 200, Duration::ZERO);
        put.appended(4, 800, Duration::ZERO);
        pull.answered(true, 5);
        pull.answered(false, 0);
        pull.answered(false, 0);
        let t = store_totals(&put, &pull);
        assert_eq!(
            (
                t.put,
                t.put_bytes,
                t.transferred,
                t.pulls_found,
                t.pulls_missed
            ),
            (5, 1000, 5, 1, 2)
        );
        assert_eq!(std::mem::align_of::<PutCounters>(), 128);
        assert_eq!(std::mem::align_of::<PullCounters>(), 128);
    }

    /// Head wait: queued messages times the mean handling time; 0 when nothing waits.
    #[test]
    fn head_wait_estimate() {
        let s = MailboxStats::new("send_processor", 8, true);
        assert_eq!(s.snapshot().head_wait_estimate_secs(), 0.0);
        for _ in 0..5 {
            s.enqueued();
        }
        s.handled(Duration::from_millis(2));
        s.handled(Duration::from_millis(4));
        let snap = s.snapshot();
        assert_eq!(snap.depth, 3);
        assert!((snap.head_wait_estimate_secs() - 0.009).abs() < 1e-9);
        for _ in 0..3 {
            s.handled(Duration::from_millis(1));
        }
        assert_eq!(s.snapshot().head_wait_estimate_secs(), 0.0);
    }

    /// Gauge labels are rendered (and escaped) on the sample line.
    #[test]
    fn gauge_labels() {
        let gauge = Gauge {
            name: "build_info".into(),
            help: "Always 1.".into(),
            kind: "gauge".into(),
            value: 1.0,
            labels: vec![("version".into(), "1.2.3-\"x\"".into())],
        };
        let text = render_prometheus(&[], &[gauge]);
        assert!(
            text.contains("actormq_build_info{version=\"1.2.3-\\\"x\\\"\"} 1\n"),
            "{text}"
        );
    }
}
