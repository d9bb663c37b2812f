//! `Connection`: one actor per accepted TCP socket.
//!
//! Owns the socket: a framed reader (added as a stream, one `RemotingCommand` per frame) and a
//! framed writer. Receives decoded frames and `Reply`s; sends each request to the processor its
//! registry snapshot maps the code to, with a `ReplyTo` inside so the answer comes straight back here
//! from whichever actor finishes the work (the writer, or the flusher in sync mode) without another
//! hop through the processor. Runs on the system arbiter next to the processors and the writer, so
//! the hot send path crosses no thread.
//!
//! Overload: requests are handed over with `try_send`; a full processor mailbox or too many requests
//! in flight on this connection answer `SYSTEM_BUSY` at once. A frame that does not decode closes
//! this connection only.
//!
//! Metrics: the connections' shared mailbox counters cover the `Reply` messages coming back; frames
//! read from the socket are not mailbox traffic and are counted by the processors they go to.

use std::net::SocketAddr;
use std::sync::Arc;

use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use tokio::io::WriteHalf;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use tracing::{debug, warn};

use super::mailbox::{CountedRecipient, Mailbox};
use super::metrics::{stats, ConnectionEvent};
use super::processor_table::ProcessorTable;
use actormq::metrics::MailboxStats;
use actormq::protocol::{
    response_code, ProtocolError, RemotingCodec, RemotingCommand, OVERLOAD_REMARK,
};

/// A request handed to a processor. The processor answers through `reply`, exactly once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Request {
    pub cmd: RemotingCommand,
    /// The client's address (RocketMQ's born host).
    pub peer: SocketAddr,
    /// The broker's address on this connection (RocketMQ's store host).
    pub local: SocketAddr,
    pub reply: ReplyTo,
}

/// Where a request's answer goes. Consumed by `send`, so a request is answered at most once.
pub struct ReplyTo {
    connection: CountedRecipient<Reply>,
    oneway: bool,
}

impl ReplyTo {
    /// Delivers the response; for a oneway request only the in-flight count is released.
    pub fn send(self, response: RemotingCommand) {
        let response = if self.oneway { None } else { Some(response) };
        self.connection.do_send(Reply(response));
    }
}

/// A processor's answer on its way back to the connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reply(pub Option<RemotingCommand>);

/// Per-connection limits from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_frame: usize,
    pub max_inflight: usize,
}

/// Stop reading new requests, answer the ones in flight, then close.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

pub struct Connection {
    id: u64,
    /// This connection's own counters (the shared `stats().connection` sums all connections):
    /// enqueued when a request is handed to a processor (its reply will come), handled per reply,
    /// so depth = requests in flight here.
    own: Arc<MailboxStats>,
    metrics: CountedRecipient<ConnectionEvent>,
    peer: SocketAddr,
    local: SocketAddr,
    writer: FramedWrite<RemotingCommand, WriteHalf<TcpStream>, RemotingCodec>,
    processors: ProcessorTable,
    inflight: usize,
    max_inflight: usize,
    draining: bool,
}

impl Connection {
    /// Starts a connection actor on the current arbiter.
    pub fn start(
        id: u64,
        stream: TcpStream,
        peer: SocketAddr,
        processors: ProcessorTable,
        limits: ConnectionLimits,
        metrics: CountedRecipient<ConnectionEvent>,
    ) -> Mailbox<Connection> {
        let ConnectionLimits {
            max_frame,
            max_inflight,
        } = limits;
        let local = stream.local_addr().unwrap_or(peer);
        let _ = stream.set_nodelay(true);
        let addr = Connection::create(move |ctx| {
            let (read, write) = tokio::io::split(stream);
            ctx.add_stream(FramedRead::new(read, RemotingCodec::new(max_frame)));
            Connection {
                id,
                own: MailboxStats::new("connection", max_inflight, stats().connection.is_enabled()),
                metrics,
                peer,
                local,
                writer: FramedWrite::new(write, RemotingCodec::new(max_frame), ctx),
                processors,
                inflight: 0,
                max_inflight,
                draining: false,
            }
        });
        Mailbox::new(addr)
    }

    fn answer(&mut self, request: &RemotingCommand, code: i32, remark: String) {
        if !request.is_oneway() {
            self.writer.write(request.response_to(code, Some(remark)));
        }
    }

    fn dispatch(&mut self, cmd: RemotingCommand, ctx: &mut Context<Self>) {
        let Some(processor) = self.processors.get(&cmd.code) else {
            let remark = format!(" request type {} not supported", cmd.code);
            self.answer(&cmd, response_code::REQUEST_CODE_NOT_SUPPORTED, remark);
            return;
        };
        if self.inflight >= self.max_inflight {
            self.answer(&cmd, response_code::SYSTEM_BUSY, OVERLOAD_REMARK.into());
            return;
        }
        let request = Request {
            reply: ReplyTo {
                connection: Mailbox::new(ctx.address()).recipient(),
                oneway: cmd.is_oneway(),
            },
            cmd,
            peer: self.peer,
            local: self.local,
        };
        match processor.try_send(request) {
            Ok(()) => {
                // Not a mailbox send: this connection's own row counts requests in flight (a reply
                // is now owed to it), so its depth is what it waits for.
                self.own.enqueued();
                self.inflight += 1
            }
            Err(SendError::Full(request)) => self.answer(
                &request.cmd,
                response_code::SYSTEM_BUSY,
                OVERLOAD_REMARK.into(),
            ),
            Err(SendError::Closed(request)) => self.answer(
                &request.cmd,
                response_code::SYSTEM_ERROR,
                "processor is shutting down".into(),
            ),
        }
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        debug!(peer = %self.peer, "connection opened");
        self.metrics.do_send(ConnectionEvent::Opened {
            id: self.id,
            peer: self.peer,
            stats: self.own.clone(),
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        debug!(peer = %self.peer, "connection closed");
        self.metrics
            .do_send(ConnectionEvent::Closed { id: self.id });
    }
}

impl StreamHandler<Result<RemotingCommand, ProtocolError>> for Connection {
    fn handle(&mut self, item: Result<RemotingCommand, ProtocolError>, ctx: &mut Context<Self>) {
        match item {
            Ok(_) if self.draining => {}
            // Responses to requests we never sent: nothing to match them with.
            Ok(cmd) if cmd.is_response() => {}
            Ok(cmd) => self.dispatch(cmd, ctx),
            Err(e) => {
                warn!(peer = %self.peer, error = %e, "closing connection: undecodable frame");
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The peer closed its side: answer what is in flight, then stop.
        self.draining = true;
        if self.inflight == 0 {
            ctx.stop();
        }
    }
}

impl Handler<Reply> for Connection {
    type Result = ();

    fn handle(&mut self, Reply(response): Reply, ctx: &mut Context<Self>) {
        let _timer = stats().connection.handling_with(&self.own);
        self.inflight = self.inflight.saturating_sub(1);
        if let Some(response) = response {
            self.writer.write(response);
        }
        if self.draining && self.inflight == 0 {
            self.writer.close();
            ctx.stop();
        }
    }
}

impl Handler<Drain> for Connection {
    type Result = ();

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) {
        let _timer = stats().connection.handling();
        self.draining = true;
        if self.inflight == 0 {
            self.writer.close();
            ctx.stop();
        }
    }
}

impl WriteHandler<ProtocolError> for Connection {
    fn error(&mut self, err: ProtocolError, _ctx: &mut Self::Context) -> Running {
        warn!(peer = %self.peer, error = %err, "write failed; closing connection");
        Running::Stop
    }
}
