//! `HaClient`: a slave's connection to its master's HA port (RocketMQ's `DefaultHAClient`).
//!
//! *Owns* the master's HA address (from `ha.master_addr`, or set later by `SetMasterAddr`, the
//! entry point for an address learned from the name servers), the connection (transfers read as
//! a stream through `TransferCodec`, reports written through an actix `FramedWrite`), its
//! reconnect backoff, and the slave's view of replication (the master's offset as last heard, the
//! local end, when it last read and reported). *Receives* transfers (stream), `SetMasterAddr`,
//! `AskHaStatus` from the `AdminProcessor` (907), its 1 s tick (reports every
//! heartbeat interval, housekeeping). *Sends* `AppendReplicated` to the `CommitLogWriter`, one at
//! a time (the stream waits for each: the slave applies in order and the socket backs up instead
//! of memory), `MasterOnline` to the `Dispatcher` (pull suggestions) and `ReplicationGauges` to
//! the `Metrics` actor.
//!
//! A transfer must start at the local end (Java: "master pushed offset not equal the max phy
//! offset in slave"); the writer checks every record before storing. Anything else closes the
//! connection, logged, and it is retried after the backoff: a slave never stores bytes that do not
//! continue its own log. *Runs on* the system arbiter, beside the writer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use tracing::{error, info, warn};

use super::admin_processor::AskHaStatus;
use super::commit_log_writer::{AppendReplicated, CommitLogWriter};
use super::dispatcher::MasterOnline;
use super::mailbox::{counted_stream, timer_tick, CountedRecipient, Mailbox};
use super::metrics::{stats, ReplicationGauges};
use super::registrar::MasterChanged;
use actormq::ha::status::{self, ClientFigures};
use actormq::ha::wire::{HaWireError, ReportCodec, Transfer, TransferCodec};
use actormq::metrics::Gauge;
use actormq::store::now_ms;

const TICK: Duration = Duration::from_secs(1);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The `[ha]` settings a slave needs.
#[derive(Debug, Clone)]
pub struct HaClientConfig {
    pub master_addr: Option<String>,
    pub heartbeat: Duration,
    pub housekeeping: Duration,
    pub reconnect_max: Duration,
    /// The largest transfer accepted: one commit-log file.
    pub max_transfer: usize,
}

struct Link {
    reports: FramedWrite<u64, OwnedWriteHalf, ReportCodec>,
    transfers: SpawnHandle,
    last_read: Instant,
    last_report: Instant,
}

pub struct HaClient {
    config: HaClientConfig,
    writer: Mailbox<CommitLogWriter>,
    /// The local commit log's end (published by the writer).
    local_end: Arc<AtomicU64>,
    link: Option<Link>,
    connecting: bool,
    backoff: Duration,
    /// The master's offset as last heard (transfer header + size).
    master_offset: Option<u64>,
    /// Milliseconds since the epoch of the last read from / report to the master (907's
    /// `lastReadTimestamp` / `lastWriteTimestamp`; the start time until then, as Java).
    last_read_ms: i64,
    last_write_ms: i64,
    /// Told whether the master is up (`suggestWhichBrokerId`).
    dispatcher: CountedRecipient<MasterOnline>,
    metrics: CountedRecipient<ReplicationGauges>,
}

impl HaClient {
    pub fn new(
        config: HaClientConfig,
        writer: Mailbox<CommitLogWriter>,
        local_end: Arc<AtomicU64>,
        dispatcher: CountedRecipient<MasterOnline>,
        metrics: CountedRecipient<ReplicationGauges>,
    ) -> Self {
        HaClient {
            config,
            writer,
            local_end,
            link: None,
            connecting: false,
            backoff: FIRST_BACKOFF,
            master_offset: None,
            last_read_ms: now_ms(),
            last_write_ms: now_ms(),
            dispatcher,
            metrics,
        }
    }

    fn local_end(&self) -> u64 {
        self.local_end.load(Ordering::Acquire)
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        let Some(addr) = self.config.master_addr.clone() else {
            return;
        };
        if self.link.is_some() || self.connecting {
            return;
        }
        self.connecting = true;
        let connect = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr.clone()));
        connect
            .into_actor(self)
            .map(move |result, act, ctx| {
                act.connecting = false;
                match result {
                    Ok(Ok(socket)) => act.connected(socket, &addr, ctx),
                    Ok(Err(e)) => act.retry(ctx, &format!("connect to {addr}: {e}")),
                    Err(_) => act.retry(ctx, &format!("connect to {addr}: timed out")),
                }
            })
            .spawn(ctx);
    }

    fn connected(&mut self, socket: TcpStream, addr: &str, ctx: &mut Context<Self>) {
        let _ = socket.set_nodelay(true);
        let (read, write) = socket.into_split();
        let codec = TransferCodec {
            max_body: self.config.max_transfer,
        };
        let transfers = ctx.add_stream(counted_stream::<HaClient, _>(FramedRead::new(read, codec)));
        let mut reports = FramedWrite::new(write, ReportCodec, ctx);
        let local = self.local_end();
        reports.write(local);
        self.last_write_ms = now_ms();
        let now = Instant::now();
        self.link = Some(Link {
            reports,
            transfers,
            last_read: now,
            last_report: now,
        });
        info!(master = %addr, slave_offset = local, "HAClient connect to master");
        self.dispatcher.do_send(MasterOnline(true));
    }

    /// Drops the connection (logged by the caller) and tries again after the backoff.
    fn disconnect(&mut self, ctx: &mut Context<Self>, why: &str) {
        if let Some(mut link) = self.link.take() {
            ctx.cancel_future(link.transfers);
            link.reports.close();
        }
        self.retry(ctx, why);
    }

    fn retry(&mut self, ctx: &mut Context<Self>, why: &str) {
        self.dispatcher.do_send(MasterOnline(false));
        let wait = self.backoff;
        warn!(
            error = why,
            retry_in_ms = wait.as_millis() as u64,
            "HA connection to master lost"
        );
        self.backoff = (self.backoff * 2).min(self.config.reconnect_max);
        ctx.run_later(wait, |act, ctx| act.connect(ctx));
    }

    fn report(&mut self) {
        let local = self.local_end();
        if let Some(link) = &mut self.link {
            link.reports.write(local);
            link.last_report = Instant::now();
            self.last_write_ms = now_ms();
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        if let Some(link) = &self.link {
            if now.duration_since(link.last_read) > self.config.housekeeping {
                return self.disconnect(
                    ctx,
                    "nothing read from the master within the housekeeping interval",
                );
            }
            if now.duration_since(link.last_report) >= self.config.heartbeat {
                self.report();
            }
        }
        self.metrics.do_send(ReplicationGauges {
            source: "ha_client",
            gauges: self.gauges(),
        });
    }

    fn gauges(&self) -> Vec<Gauge> {
        let local = self.local_end();
        let gauge = |name: &str, help: &str, value: f64| Gauge {
            name: name.into(),
            help: help.into(),
            kind: "gauge".into(),
            value,
            labels: Vec::new(),
        };
        vec![
            gauge(
                "ha_master_connected",
                "1 while this slave is connected to its master's HA port.",
                self.link.is_some() as u8 as f64,
            ),
            gauge(
                "ha_master_offset_bytes",
                "The master's commit-log offset as this slave last heard it.",
                self.master_offset.unwrap_or(0) as f64,
            ),
            gauge(
                "ha_slave_behind_bytes",
                "Bytes this slave lacks of what its master last said it has.",
                self.master_offset.unwrap_or(0).saturating_sub(local) as f64,
            ),
        ]
    }
}

impl Actor for HaClient {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.connect(ctx);
        ctx.run_interval(TICK, |act, ctx| {
            let _tick = timer_tick::<HaClient>();
            act.tick(ctx);
        });
    }
}

impl WriteHandler<HaWireError> for HaClient {
    fn error(&mut self, err: HaWireError, _ctx: &mut Context<Self>) -> Running {
        warn!(error = %err, "HA report to master failed");
        Running::Continue
    }

    /// A closed report writer ends a connection, not this actor (actix's default stops it).
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl StreamHandler<Result<Transfer, HaWireError>> for HaClient {
    fn handle(&mut self, item: Result<Transfer, HaWireError>, ctx: &mut Context<Self>) {
        let _timer = stats().ha_client.handling();
        let t = match item {
            Ok(t) => t,
            Err(e) => return self.disconnect(ctx, &e.to_string()),
        };
        if let Some(link) = &mut self.link {
            link.last_read = Instant::now();
        }
        self.last_read_ms = now_ms();
        let local = self.local_end();
        self.master_offset = Some(
            self.master_offset
                .unwrap_or(0)
                .max(t.offset + t.bytes.len() as u64),
        );
        if t.offset != local {
            error!(
                master_offset = t.offset,
                slave_offset = local,
                "master pushed offset not equal the max phy offset in slave"
            );
            return self.disconnect(ctx, "offset mismatch");
        }
        if t.bytes.is_empty() {
            return;
        }
        let applied = self.writer.send(AppendReplicated {
            offset: t.offset,
            bytes: t.bytes,
        });
        // `wait`: the next transfer is applied only after this one.
        applied
            .into_actor(self)
            .map(|result, act, ctx| match result {
                Ok(Ok(_)) => {
                    act.backoff = FIRST_BACKOFF;
                    act.report();
                }
                Ok(Err(e)) => {
                    error!(error = %e, "replicated bytes refused; the slave keeps its log as it is");
                    act.disconnect(ctx, &e.to_string());
                }
                Err(e) => act.disconnect(ctx, &format!("commit-log writer gone: {e}")),
            })
            .wait(ctx);
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // The master closed the connection: not the end of this actor.
        if self.link.is_some() {
            self.disconnect(ctx, "master closed the connection");
        }
    }
}

/// The master's HA address, learned after start (e.g. from a name server's REGISTER_BROKER
/// answer, RocketMQ's `haServerAddr`). A new address drops the current connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetMasterAddr(pub String);

impl Handler<SetMasterAddr> for HaClient {
    type Result = ();

    fn handle(&mut self, SetMasterAddr(addr): SetMasterAddr, ctx: &mut Context<Self>) {
        let _timer = stats().ha_client.handling();
        if self.config.master_addr.as_deref() == Some(addr.as_str()) {
            return;
        }
        info!(master = %addr, "HA master address set");
        self.config.master_addr = Some(addr);
        if let Some(mut link) = self.link.take() {
            ctx.cancel_future(link.transfers);
            link.reports.close();
        }
        self.backoff = FIRST_BACKOFF;
        self.connect(ctx);
    }
}

/// The name servers named a (new) master (the `Registrar`'s answer; subscribed only when
/// `ha.master_addr` is not configured, as Java updates its HA master address only then).
impl Handler<MasterChanged> for HaClient {
    type Result = ();

    fn handle(&mut self, changed: MasterChanged, ctx: &mut Context<Self>) {
        if let Some(addr) = changed.ha_server_addr {
            <Self as Handler<SetMasterAddr>>::handle(self, SetMasterAddr(addr), ctx);
        }
    }
}

/// From the `AdminProcessor` (907): this slave's link as Java's `HARuntimeInfo` shows it.
impl Handler<AskHaStatus> for HaClient {
    type Result = MessageResult<AskHaStatus>;

    fn handle(&mut self, _: AskHaStatus, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().ha_client.handling();
        MessageResult(status::slave(&ClientFigures {
            master_addr: self.config.master_addr.clone(),
            max_offset: self.local_end(),
            last_read_ms: self.last_read_ms,
            last_write_ms: self.last_write_ms,
        }))
    }
}
