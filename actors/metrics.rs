//! `Metrics`: one place that turns every actor's mailbox counters and the store's positions into a
//! snapshot, served three ways: `GET_BROKER_RUNTIME_INFO` (through the `AdminProcessor`), the
//! `actormq stats` CLI (which reads that same request), and a Prometheus text endpoint.
//!
//! Owns the (immutable) list of every actor's `MailboxStats` and the store's published positions,
//! and the message rates: once a second its own timer samples the store's put and pull counters
//! (`stats().puts` / `stats().pulls`) into a [`RateSampler`] (10 s / 60 s / 600 s rates, day
//! totals). Receives `TakeSnapshot`; nothing on the hot path talks to it — the counters are atomics
//! the actors bump themselves. Also keeps the per-topic and per-group statistics of
//! `VIEW_BROKER_STATS_DATA` (`metrics/broker_stats.rs`: `StoreStats` from the `Dispatcher`,
//! `ViewStats` from the `AdminProcessor`). Runs on the system arbiter; a snapshot is a few hundred
//! relaxed loads.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;

use std::sync::OnceLock;

mod broker_stats;
mod prometheus;
pub use broker_stats::{GroupGetTps, StoreStats, ViewStats};
pub use prometheus::serve_prometheus;

use super::mailbox::timer_tick;
use actormq::config::BrokerConfig;
use actormq::limits::ConnectionGuards;
use actormq::metrics::{
    store_totals, Gauge, MailboxRegistry, MailboxSnapshot, MailboxStats, PullCounters, PutCounters,
    PEAK_WINDOW,
};
use actormq::rates::{FlowReport, RateSampler, Totals};
use actormq::stats_items::{BrokerStats, DEFAULT_SAMPLE_INTERVAL_MS};

/// How often the message counters are sampled for the rates (Java's `FREQUENCY_OF_SAMPLING`).
const RATE_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Every actor kind's mailbox counters, created once at start-up ([`init`]) and read-only after:
/// actors bump them through [`stats`] without any constructor plumbing or lock.
pub struct ActorStats {
    pub server: Arc<MailboxStats>,
    pub connection: Arc<MailboxStats>,
    /// Retired: the processor table is built once at start-up and is no longer an actor, so this row
    /// stays at 0. Kept so dashboards, scripts and tests that list every row still find it.
    pub processor_registry: Arc<MailboxStats>,
    pub send_processor: Arc<MailboxStats>,
    pub pull_processor: Arc<MailboxStats>,
    pub offset_processor: Arc<MailboxStats>,
    pub admin_processor: Arc<MailboxStats>,
    pub commit_log_writer: Arc<MailboxStats>,
    pub file_allocator: Arc<MailboxStats>,
    pub flusher: Arc<MailboxStats>,
    pub dispatcher: Arc<MailboxStats>,
    pub retention: Arc<MailboxStats>,
    pub timer: Arc<MailboxStats>,
    pub metrics: Arc<MailboxStats>,
    pub name_server: Arc<MailboxStats>,
    pub registrar: Arc<MailboxStats>,
    pub client_manager: Arc<MailboxStats>,
    pub lock_processor: Arc<MailboxStats>,
    pub scheduler: Arc<MailboxStats>,
    pub transaction_checker: Arc<MailboxStats>,
    pub ha_server: Arc<MailboxStats>,
    pub ha_connection: Arc<MailboxStats>,
    pub ha_client: Arc<MailboxStats>,
    pub slave_synchronize: Arc<MailboxStats>,
    /// Records a read found damaged (body CRC, or not the record its consume-queue entry names)
    /// and skipped instead of serving.
    pub damaged_records_skipped: AtomicU64,
    /// Percent of the store's file system in use, in hundredths (the writer's last measurement).
    pub disk_used_hundredths: AtomicU64,
    /// 1 while the store takes new messages, 0 while its disk is full.
    pub store_writable: AtomicU64,
    /// The commit log's flushed offset (the `Flusher`, after each flush).
    pub flushed_offset: AtomicU64,
    /// Messages and bytes appended (the `CommitLogWriter`, per append).
    pub puts: PutCounters,
    /// Pull answers, found or not, and the messages they carried (the `Dispatcher`, per answer).
    pub pulls: PullCounters,
}

impl ActorStats {
    fn new(config: &BrokerConfig) -> ActorStats {
        let on = config.metrics.mailbox_stats;
        let processor = config.server.processor_mailbox;
        // actix's default mailbox capacity, for actors that keep it.
        let default = 16;
        ActorStats {
            server: MailboxStats::new("server", default, on),
            connection: MailboxStats::new(
                "connection",
                config.server.max_inflight_per_connection,
                on,
            ),
            processor_registry: MailboxStats::new("processor_registry", default, on),
            send_processor: MailboxStats::new("send_processor", processor, on),
            pull_processor: MailboxStats::new("pull_processor", processor, on),
            offset_processor: MailboxStats::new("offset_processor", processor, on),
            admin_processor: MailboxStats::new("admin_processor", default, on),
            commit_log_writer: MailboxStats::new(
                "commit_log_writer",
                config.store.writer_mailbox,
                on,
            ),
            file_allocator: MailboxStats::new("file_allocator", default, on),
            flusher: MailboxStats::new("flusher", default, on),
            dispatcher: MailboxStats::new("dispatcher", processor, on),
            retention: MailboxStats::new("retention", default, on),
            timer: MailboxStats::new("timer", default, on),
            metrics: MailboxStats::new("metrics", default, on),
            name_server: MailboxStats::new("name_server", default, on),
            registrar: MailboxStats::new("registrar", default, on),
            client_manager: MailboxStats::new("client_manager", default, on),
            lock_processor: MailboxStats::new("lock_processor", processor, on),
            scheduler: MailboxStats::new("scheduler", default, on),
            transaction_checker: MailboxStats::new("transaction_checker", default, on),
            ha_server: MailboxStats::new("ha_server", default, on),
            ha_connection: MailboxStats::new("ha_connection", default, on),
            ha_client: MailboxStats::new("ha_client", default, on),
            slave_synchronize: MailboxStats::new("slave_synchronize", default, on),
            damaged_records_skipped: AtomicU64::new(0),
            disk_used_hundredths: AtomicU64::new(0),
            store_writable: AtomicU64::new(1),
            flushed_offset: AtomicU64::new(0),
            puts: PutCounters::default(),
            pulls: PullCounters::default(),
        }
    }

    /// The message counters now.
    pub fn store_totals(&self) -> Totals {
        store_totals(&self.puts, &self.pulls)
    }

    /// All of them, in data-flow order (the order `actormq stats` prints).
    pub fn all(&self) -> MailboxRegistry {
        Arc::new(vec![
            self.server.clone(),
            self.connection.clone(),
            self.processor_registry.clone(),
            self.send_processor.clone(),
            self.commit_log_writer.clone(),
            self.file_allocator.clone(),
            self.flusher.clone(),
            self.dispatcher.clone(),
            self.retention.clone(),
            self.timer.clone(),
            self.pull_processor.clone(),
            self.offset_processor.clone(),
            self.admin_processor.clone(),
            self.name_server.clone(),
            self.registrar.clone(),
            self.client_manager.clone(),
            self.lock_processor.clone(),
            self.scheduler.clone(),
            self.transaction_checker.clone(),
            self.ha_server.clone(),
            self.ha_connection.clone(),
            self.ha_client.clone(),
            self.slave_synchronize.clone(),
            self.metrics.clone(),
        ])
    }
}

static STATS: OnceLock<ActorStats> = OnceLock::new();

/// Creates the counters from the config; call once before starting actors.
pub fn init(config: &BrokerConfig) -> &'static ActorStats {
    STATS.get_or_init(|| ActorStats::new(config))
}

/// The counters (disabled ones if `init` was never called).
pub fn stats() -> &'static ActorStats {
    STATS.get_or_init(|| {
        let mut off = BrokerConfig::default();
        off.metrics.mailbox_stats = false;
        ActorStats::new(&off)
    })
}

pub struct Metrics {
    mailboxes: MailboxRegistry,
    /// Open connections' own counters, by connection id (for per-connection figures on request).
    connections: HashMap<u64, (SocketAddr, Arc<MailboxStats>)>,
    /// The commit log's write offset as the writer publishes it.
    written: Arc<AtomicU64>,
    /// Connection bounds' counters and the rejected-request table (atomics the connections bump).
    guards: Arc<ConnectionGuards>,
    started: Instant,
    /// Replication gauges as the HA actors last sent them, by source.
    replication: HashMap<&'static str, Vec<Gauge>>,
    /// The message counters, sampled once a second.
    rates: RateSampler,
    /// Per-topic and per-group statistics (`VIEW_BROKER_STATS_DATA`), sampled as they arrive.
    broker_stats: BrokerStats,
}

impl Metrics {
    pub fn new(
        mailboxes: MailboxRegistry,
        written: Arc<AtomicU64>,
        guards: Arc<ConnectionGuards>,
    ) -> Self {
        Metrics {
            mailboxes,
            connections: HashMap::new(),
            written,
            guards,
            started: Instant::now(),
            replication: HashMap::new(),
            rates: RateSampler::new(),
            broker_stats: BrokerStats::new("DefaultCluster", DEFAULT_SAMPLE_INTERVAL_MS),
        }
    }

    /// Samples the message counters for the rates and the day totals.
    fn sample_rates(&mut self) {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.rates.sample(at_ms, unix_ms, stats().store_totals());
        self.rates
            .sample_put_latency(at_ms, stats().puts.latency_counts());
    }
}

impl Actor for Metrics {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Peak depth is a max over the current and the previous window (src/metrics.rs).
        ctx.run_interval(PEAK_WINDOW, |act, _| {
            let _tick = timer_tick::<Metrics>();
            for stats in act.mailboxes.iter() {
                stats.rotate_peak_window();
            }
            for (_, stats) in act.connections.values() {
                stats.rotate_peak_window();
            }
        });
        // The first sample now, so the first rate is there a second after start.
        self.sample_rates();
        ctx.run_interval(RATE_SAMPLE_INTERVAL, |act, _| {
            let _tick = timer_tick::<Metrics>();
            act.sample_rates();
        });
    }
}

/// Everything the broker reports, at one moment.
#[derive(Debug, Clone)]
pub struct MetricsSnapshot {
    pub mailboxes: Vec<MailboxSnapshot>,
    pub gauges: Vec<Gauge>,
    /// One entry per open connection (`actor` = `connection:<peer>`), when asked for.
    pub connections: Vec<MailboxSnapshot>,
    /// Message totals now, rates over 10 s / 60 s / 600 s, day totals.
    pub flow: FlowReport,
}

impl MetricsSnapshot {
    pub fn gauge(&self, name: &str) -> f64 {
        self.gauges
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.value)
            .unwrap_or(0.0)
    }
}

/// Take a snapshot; `per_connection` adds every open connection's own figures.
#[derive(Message)]
#[rtype(result = "MetricsSnapshot")]
pub struct TakeSnapshot {
    pub per_connection: bool,
}

/// A connection opened (with its own counters) or closed.
#[derive(Message)]
#[rtype(result = "()")]
pub enum ConnectionEvent {
    Opened {
        id: u64,
        peer: SocketAddr,
        stats: Arc<MailboxStats>,
    },
    Closed {
        id: u64,
    },
}

impl Handler<ConnectionEvent> for Metrics {
    type Result = ();

    fn handle(&mut self, event: ConnectionEvent, _ctx: &mut Context<Self>) {
        let _timer = stats().metrics.handling();
        match event {
            ConnectionEvent::Opened { id, peer, stats } => {
                self.connections.insert(id, (peer, stats));
            }
            ConnectionEvent::Closed { id } => {
                self.connections.remove(&id);
            }
        }
    }
}

/// Replication figures (`HaServer`: per-slave lag; `HaClient`: the slave's own view), replacing
/// what `source` sent before.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReplicationGauges {
    pub source: &'static str,
    pub gauges: Vec<Gauge>,
}

impl Handler<ReplicationGauges> for Metrics {
    type Result = ();

    fn handle(&mut self, msg: ReplicationGauges, _ctx: &mut Context<Self>) {
        let _timer = stats().metrics.handling();
        self.replication.insert(msg.source, msg.gauges);
    }
}

impl Handler<TakeSnapshot> for Metrics {
    type Result = MessageResult<TakeSnapshot>;

    fn handle(&mut self, msg: TakeSnapshot, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().metrics.handling();
        let gauge = |name: &str, kind: &str, help: &str, value: f64| Gauge {
            name: name.into(),
            help: help.into(),
            kind: kind.into(),
            value,
            labels: Vec::new(),
        };
        let connections = match msg.per_connection {
            false => Vec::new(),
            true => {
                let mut list: Vec<_> = self
                    .connections
                    .values()
                    .map(|(peer, s)| MailboxSnapshot {
                        actor: format!("connection:{peer}"),
                        ..s.snapshot()
                    })
                    .collect();
                list.sort_by(|a, b| a.actor.cmp(&b.actor));
                list
            }
        };
        let flow = self.rates.report(stats().store_totals());
        let mut gauges = vec![
            gauge(
                "commitlog_max_offset_bytes",
                "gauge",
                "Commit-log write offset (bytes ever written).",
                self.written.load(Ordering::Acquire) as f64,
            ),
            gauge(
                "commitlog_flushed_offset_bytes",
                "gauge",
                "Commit-log offset below which everything is flushed to disk.",
                stats().flushed_offset.load(Ordering::Relaxed) as f64,
            ),
            gauge(
                "damaged_records_skipped_total",
                "counter",
                "Records a read found damaged (body CRC, or not the record its consume-queue \
                 entry names) and skipped instead of serving.",
                stats().damaged_records_skipped.load(Ordering::Relaxed) as f64,
            ),
            gauge(
                "messages_put_total",
                "counter",
                "Messages appended to the commit log (a batch counts its messages).",
                flow.now.put as f64,
            ),
            gauge(
                "message_bytes_put_total",
                "counter",
                "Bytes of the messages appended to the commit log (whole records, as stored).",
                flow.now.put_bytes as f64,
            ),
            gauge(
                "messages_transferred_total",
                "counter",
                "Messages handed to consumers in FOUND pull answers.",
                flow.now.transferred as f64,
            ),
            gauge(
                "pulls_found_total",
                "counter",
                "Pull answers that carried messages (FOUND).",
                flow.now.pulls_found as f64,
            ),
            gauge(
                "pulls_missed_total",
                "counter",
                "Pull answers that carried none (not found, offset moved, retry).",
                flow.now.pulls_missed as f64,
            ),
            gauge(
                "disk_used_ratio",
                "gauge",
                "Fraction of the store's file system in use (last measurement).",
                stats().disk_used_hundredths.load(Ordering::Relaxed) as f64 / 10_000.0,
            ),
            gauge(
                "store_writable",
                "gauge",
                "1 while the store takes new messages, 0 while its disk is full \
                 (store.disk_max_used_ratio_percent or ENOSPC).",
                stats().store_writable.load(Ordering::Relaxed) as f64,
            ),
            gauge(
                "uptime_seconds",
                "gauge",
                "Seconds since the broker started.",
                self.started.elapsed().as_secs_f64(),
            ),
            Gauge {
                labels: vec![("version".into(), env!("CARGO_PKG_VERSION").into())],
                ..gauge(
                    "build_info",
                    "gauge",
                    "Always 1; the label version is the broker's version.",
                    1.0,
                )
            },
        ];
        gauges.extend(self.guards.gauges());
        gauges.extend(self.replication.values().flatten().cloned());
        MessageResult(MetricsSnapshot {
            connections,
            mailboxes: self.mailboxes.iter().map(|m| m.snapshot()).collect(),
            gauges,
            flow,
        })
    }
}
