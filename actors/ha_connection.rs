//! `HaConnection`: one slave's connection on the master (RocketMQ's `DefaultHAConnection`, its
//! read and write services in one actor).
//!
//! *Owns* the TCP stream (reports read as a stream through `ReportCodec`; the write half held
//! between writes, so one transfer is in flight at a time and a slow slave backs the stream up
//! instead of memory), a [`SlaveStream`] (start, next chunk, heartbeats, ack, lag) and the file
//! table snapshot it reads from. It reads the mapped commit-log files below their published end
//! (the read path every reader uses) and never writes them. *Receives* reports (stream), `Pump`
//! (new bytes or a new table, from the `HaServer`), its 1 s tick (heartbeats, housekeeping).
//! *Sends* `SlaveReport` / `SlaveGone` to the `HaServer`. Anything that is not a RocketMQ slave
//! (text, negative or impossible offsets, an offset the master no longer has, acks going back)
//! is logged and the connection closed. *Runs on* the system arbiter.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use tracing::{error, info, warn};

use super::ha_server::{HaServer, SlaveGone, SlaveReport};
use super::mailbox::{counted_stream, timer_tick, Mailbox};
use super::metrics::stats;
use actormq::ha::master::{Reported, SlaveStream};
use actormq::ha::wire::{transfer_header, HaWireError, ReportCodec, HEADER_LEN};
use actormq::store::commit_log::FileTable;

/// How often heartbeats and housekeeping are checked.
const TICK: Duration = Duration::from_secs(1);

/// The `[ha]` settings a connection needs.
#[derive(Debug, Clone)]
pub struct HaConnectionConfig {
    pub batch_bytes: usize,
    pub heartbeat: Duration,
    pub housekeeping: Duration,
    /// ASYNC_MASTER's `ha.async_transfer_interval_ms`: a transfer waits until this long after the
    /// previous one unless a full batch is ready; zero sends at once (SYNC_MASTER).
    pub coalesce: Duration,
}

pub struct HaConnection {
    id: u64,
    peer: SocketAddr,
    stream: SlaveStream,
    table: FileTable,
    /// `None` while a write is in flight.
    writer: Option<OwnedWriteHalf>,
    config: HaConnectionConfig,
    server: Mailbox<HaServer>,
    last_read: Instant,
    /// A deferred pump is scheduled.
    deferred: bool,
}

impl HaConnection {
    pub fn start(
        id: u64,
        socket: TcpStream,
        peer: SocketAddr,
        table: FileTable,
        config: HaConnectionConfig,
        server: Mailbox<HaServer>,
    ) -> Mailbox<HaConnection> {
        let (read, write) = socket.into_split();
        Mailbox::new(HaConnection::create(move |ctx| {
            let reports = FramedRead::new(read, ReportCodec);
            ctx.add_stream(counted_stream::<HaConnection, _>(reports));
            HaConnection {
                id,
                peer,
                stream: SlaveStream::new(Instant::now()),
                table,
                writer: Some(write),
                config,
                server,
                last_read: Instant::now(),
                deferred: false,
            }
        }))
    }

    /// The master's log: first offset and published end, as this table shows them.
    fn log_span(&self) -> (u64, u64) {
        let first = self.table.first().map_or(0, |f| f.start_offset());
        let end = self
            .table
            .last()
            .map_or(0, |f| f.start_offset() + f.readable_end() as u64);
        (first, end)
    }

    /// Sends the next chunk if the socket is free and there is one, unless coalescing defers it.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.writer.is_none() || self.deferred {
            return;
        }
        let now = Instant::now();
        let (_, end) = self.log_span();
        let (batch, interval) = (self.config.batch_bytes, self.config.coalesce);
        if let Some(wait) = self.stream.coalesce_wait(end, batch, interval, now) {
            self.deferred = true;
            ctx.run_later(wait, |act, ctx| {
                act.deferred = false;
                act.pump(ctx);
            });
            return;
        }
        let table = self.table.clone();
        let chunk = self.stream.next_chunk(&table, self.config.batch_bytes, now);
        match chunk {
            Ok(Some((offset, bytes))) => {
                let mut frame = Vec::with_capacity(HEADER_LEN + bytes.len());
                frame.extend_from_slice(&transfer_header(offset, bytes.len() as u32));
                frame.extend_from_slice(bytes);
                self.write(frame, ctx);
            }
            Ok(None) => {}
            Err(e) => {
                error!(peer = %self.peer, error = %e, "HA slave refused");
                ctx.stop();
            }
        }
    }

    /// Writes `frame`, then looks for more.
    fn write(&mut self, frame: Vec<u8>, ctx: &mut Context<Self>) {
        let Some(mut writer) = self.writer.take() else {
            return;
        };
        async move {
            let written = writer.write_all(&frame).await;
            (writer, written)
        }
        .into_actor(self)
        .map(|(writer, written), act, ctx| match written {
            Ok(()) => {
                act.writer = Some(writer);
                act.pump(ctx);
            }
            Err(e) => {
                warn!(peer = %act.peer, error = %e, "HA write to slave failed");
                ctx.stop();
            }
        })
        .spawn(ctx);
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        if now.duration_since(self.last_read) > self.config.housekeeping {
            warn!(peer = %self.peer, "HA slave silent past the housekeeping interval; closing");
            return ctx.stop();
        }
        if self.writer.is_some() {
            if let Some(offset) = self.stream.heartbeat_due(now, self.config.heartbeat) {
                self.write(transfer_header(offset, 0).to_vec(), ctx);
            }
        }
    }
}

impl Actor for HaConnection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |act, ctx| {
            let _tick = timer_tick::<HaConnection>();
            act.tick(ctx);
        });
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.server.do_send(SlaveGone { id: self.id });
    }
}

impl StreamHandler<Result<u64, HaWireError>> for HaConnection {
    fn handle(&mut self, report: Result<u64, HaWireError>, ctx: &mut Context<Self>) {
        let _timer = stats().ha_connection.handling();
        let offset = match report {
            Ok(o) => o,
            Err(e) => {
                warn!(peer = %self.peer, error = %e, "HA peer is not a RocketMQ slave; closing");
                return ctx.stop();
            }
        };
        self.last_read = Instant::now();
        let (first, end) = self.log_span();
        match self.stream.report(offset, first, end, self.last_read) {
            Ok(Reported::Started { from }) => {
                info!(peer = %self.peer, slave_offset = offset, from, "master transfer data from");
            }
            Ok(Reported::Acked) => {}
            Ok(Reported::Ahead { slave, master }) => warn!(
                peer = %self.peer,
                slave,
                master,
                "HA slave is ahead of its master (it holds bytes this master never wrote): \
                 waiting for the master's log to pass it, as RocketMQ does; wipe the slave's store \
                 to copy this master exactly"
            ),
            Err(e) => {
                error!(peer = %self.peer, error = %e, "HA slave refused");
                return ctx.stop();
            }
        }
        self.server.do_send(SlaveReport {
            id: self.id,
            acked: offset,
            lag: self.stream.lag_time(end, self.last_read),
            transfer_from: self.stream.transfer_from(),
        });
        self.pump(ctx);
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// From the `HaServer`: new bytes were published (and the new file table, after a roll).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Pump(pub Option<FileTable>);

impl Handler<Pump> for HaConnection {
    type Result = ();

    fn handle(&mut self, Pump(table): Pump, ctx: &mut Context<Self>) {
        let _timer = stats().ha_connection.handling();
        if let Some(t) = table {
            self.table = t;
        }
        self.pump(ctx);
    }
}
