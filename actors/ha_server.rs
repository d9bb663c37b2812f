//! `HaServer`: a master's HA listener (RocketMQ's `DefaultHAService` acceptor and its
//! `GroupTransferService` bookkeeping).
//!
//! *Owns* the HA listening socket, the commit log's file-table snapshot (as the writer last
//! announced it), and every open slave connection with its acknowledged offset
//! and lag. *Receives* accepted sockets (stream), `Published` from the `CommitLogWriter` (new bytes
//! or a new file table, at most once per writer turn), `SlaveReport` / `SlaveGone` from its
//! `HaConnection`s, `AskHaStatus` from the `AdminProcessor` (907). *Sends* `Pump` to each connection, `SlaveAcked` to the writer (the best
//! acknowledged offset: SYNC_MASTER's waits), `ReplicationGauges` to the `Metrics` actor (within
//! 100 ms of a change, at least every second). *Runs on* the system arbiter, beside the writer, so
//! a published offset reaches the slaves' connections without crossing a thread.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::net::TcpListener;
use tracing::{info, warn};

use super::admin_processor::AskHaStatus;
use super::commit_log_writer::{CommitLogWriter, SlaveAcked};
use super::ha_connection::{HaConnection, HaConnectionConfig, Pump};
use super::mailbox::{counted_stream, timer_tick, CountedRecipient, Mailbox};
use super::metrics::{stats, ReplicationGauges};
use super::server::{accepts, Accepted};
use actormq::ha::status::{self, HaRuntimeInfo, SlaveFigures};
use actormq::metrics::Gauge;
use actormq::store::commit_log::FileTable;

/// How often the lag gauges are looked at: they go to the metrics actor when a slave's
/// acknowledged offset, the log's end or the set of slaves changed (so a scrape sees a slave catch
/// up within this, not within a second), ...
const GAUGE_CHECK: Duration = Duration::from_millis(100);
/// ... and at least this often (the lag in time grows while nothing changes).
const GAUGE_REFRESH: Duration = Duration::from_secs(1);

/// One slave as the server sees it.
struct Slave {
    peer: SocketAddr,
    conn: Mailbox<HaConnection>,
    acked: Option<u64>,
    /// Where the connection's next transfer starts, as of the slave's last report (907's
    /// `transferFromWhere`).
    transfer_from: Option<u64>,
    lag_seconds: f64,
}

pub struct HaServer {
    table: FileTable,
    slaves: HashMap<u64, Slave>,
    next_id: u64,
    config: HaConnectionConfig,
    writer: Mailbox<CommitLogWriter>,
    metrics: CountedRecipient<ReplicationGauges>,
    /// The best ack last sent to the writer.
    best_sent: Option<Option<u64>>,
    /// What the gauges last sent showed ([`HaServer::gauge_key`]), and when.
    gauges_sent: Option<(GaugeKey, Instant)>,
}

/// The figures that decide whether the gauges changed: slaves, the sum of their acknowledged
/// offsets, the log's end.
type GaugeKey = (usize, u64, u64);

impl HaServer {
    /// Starts, in `ctx` (created first so the writer could be given its address), accepting on
    /// `listener`; the file table arrives with the writer's first `Published`.
    pub fn start(
        mut ctx: Context<HaServer>,
        listener: TcpListener,
        config: HaConnectionConfig,
        writer: Mailbox<CommitLogWriter>,
        metrics: CountedRecipient<ReplicationGauges>,
    ) -> Mailbox<HaServer> {
        ctx.add_stream(counted_stream::<HaServer, _>(accepts(listener)));
        Mailbox::new(ctx.run(HaServer {
            table: FileTable::default(),
            slaves: HashMap::new(),
            next_id: 0,
            config,
            writer,
            metrics,
            best_sent: None,
            gauges_sent: None,
        }))
    }

    /// The end of the published log, as the file table shows it.
    fn log_end(&self) -> u64 {
        self.table
            .last()
            .map_or(0, |f| f.start_offset() + f.readable_end() as u64)
    }

    fn gauge_key(&self) -> GaugeKey {
        let acked = self.slaves.values().map(|s| s.acked.unwrap_or(0)).sum();
        (self.slaves.len(), acked, self.log_end())
    }

    /// Sends the gauges to the metrics actor if they changed or are a second old.
    fn refresh_gauges(&mut self) {
        let key = self.gauge_key();
        let now = Instant::now();
        if let Some((sent, at)) = self.gauges_sent {
            if sent == key && now.duration_since(at) < GAUGE_REFRESH {
                return;
            }
        }
        self.gauges_sent = Some((key, now));
        self.metrics.do_send(ReplicationGauges {
            source: "ha_server",
            gauges: self.gauges(),
        });
    }

    /// Tells the writer the best acknowledged offset when it changed.
    fn publish_best_ack(&mut self) {
        let best = self.slaves.values().filter_map(|s| s.acked).max();
        let best = if self.slaves.is_empty() {
            None
        } else {
            best.or(Some(0))
        };
        if self.best_sent != Some(best) {
            self.best_sent = Some(best);
            self.writer.do_send(SlaveAcked(best));
        }
    }

    /// One gauge family after another (Prometheus wants each family's series together).
    fn gauges(&self) -> Vec<Gauge> {
        let gauge = |name: &str, help: &str, value: f64, labels| Gauge {
            name: name.into(),
            help: help.into(),
            kind: "gauge".into(),
            value,
            labels,
        };
        let slaves = self.slaves.len() as f64;
        let mut out = vec![gauge(
            "ha_slaves",
            "Slaves connected to this master's HA port.",
            slaves,
            vec![],
        )];
        type Figure = fn(&Slave, u64) -> f64;
        let families: [(&str, &str, Figure); 3] = [
            (
                "ha_slave_lag_bytes",
                "Commit-log bytes the slave has not acknowledged yet.",
                |s, end| end.saturating_sub(s.acked.unwrap_or(0)) as f64,
            ),
            (
                "ha_slave_lag_seconds",
                "How old the slave's newest data is: time since the master's log ended where the \
                 slave's acknowledged offset is now.",
                |s, _| s.lag_seconds,
            ),
            (
                "ha_slave_ack_offset_bytes",
                "The slave's acknowledged commit-log offset.",
                |s, _| s.acked.unwrap_or(0) as f64,
            ),
        ];
        let mut slaves: Vec<&Slave> = self.slaves.values().collect();
        slaves.sort_by_key(|s| s.peer);
        for (name, help, figure) in families {
            for s in &slaves {
                let label = vec![("slave".to_string(), s.peer.to_string())];
                out.push(gauge(name, help, figure(s, self.log_end()), label));
            }
        }
        out
    }
}

impl Actor for HaServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(GAUGE_CHECK, |act, _| {
            let _tick = timer_tick::<HaServer>();
            act.refresh_gauges();
        });
    }
}

impl StreamHandler<Accepted> for HaServer {
    fn handle(&mut self, Accepted(accepted): Accepted, ctx: &mut Context<Self>) {
        let _timer = stats().ha_server.handling();
        let (socket, peer) = match accepted {
            Ok(s) => s,
            Err(e) => return warn!(error = %e, "HA accept failed"),
        };
        let _ = socket.set_nodelay(true);
        let id = self.next_id;
        self.next_id += 1;
        info!(%peer, "HAService receive new connection");
        let conn = HaConnection::start(
            id,
            socket,
            peer,
            self.table.clone(),
            self.config.clone(),
            Mailbox::new(ctx.address()),
        );
        self.slaves.insert(
            id,
            Slave {
                peer,
                conn,
                acked: None,
                transfer_from: None,
                lag_seconds: 0.0,
            },
        );
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {
        warn!("HA listener stopped accepting");
    }
}

/// From the writer: new bytes are published (sent while a slave is connected), or, with a table,
/// the file table changed (always sent).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Published(pub Option<FileTable>);

impl Handler<Published> for HaServer {
    type Result = ();

    fn handle(&mut self, Published(table): Published, _ctx: &mut Context<Self>) {
        let _timer = stats().ha_server.handling();
        if let Some(t) = &table {
            self.table = t.clone();
        }
        for s in self.slaves.values() {
            s.conn.do_send(Pump(table.clone()));
        }
    }
}

/// From a connection: its slave reported `acked` (lag in time as the connection computes it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SlaveReport {
    pub id: u64,
    pub acked: u64,
    pub lag: Duration,
    /// Where the next transfer to this slave starts.
    pub transfer_from: Option<u64>,
}

impl Handler<SlaveReport> for HaServer {
    type Result = ();

    fn handle(&mut self, msg: SlaveReport, _ctx: &mut Context<Self>) {
        let _timer = stats().ha_server.handling();
        if let Some(s) = self.slaves.get_mut(&msg.id) {
            s.acked = Some(msg.acked);
            s.transfer_from = msg.transfer_from;
            s.lag_seconds = msg.lag.as_secs_f64();
        }
        self.publish_best_ack();
    }
}

/// From a connection that stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SlaveGone {
    pub id: u64,
}

impl Handler<SlaveGone> for HaServer {
    type Result = ();

    fn handle(&mut self, msg: SlaveGone, _ctx: &mut Context<Self>) {
        let _timer = stats().ha_server.handling();
        if let Some(s) = self.slaves.remove(&msg.id) {
            info!(peer = %s.peer, acked = ?s.acked, "HA slave connection closed");
        }
        self.publish_best_ack();
    }
}

/// From the `AdminProcessor` (907): the slaves as Java's `HARuntimeInfo` shows them, against the
/// published log end.
impl Handler<AskHaStatus> for HaServer {
    type Result = MessageResult<AskHaStatus>;

    fn handle(&mut self, _: AskHaStatus, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().ha_server.handling();
        let mut slaves: Vec<&Slave> = self.slaves.values().collect();
        slaves.sort_by_key(|s| s.peer);
        let figures: Vec<SlaveFigures> = slaves
            .iter()
            .map(|s| SlaveFigures {
                addr: s.peer.to_string(),
                acked: s.acked,
                transfer_from: s.transfer_from,
            })
            .collect();
        let info: HaRuntimeInfo = status::master(self.log_end(), &figures);
        MessageResult(info)
    }
}
