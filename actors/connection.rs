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
//! Bounds (`src/limits.rs`, `src/protocol/bounded.rs`): the socket is read through a gate that stops
//! reading while the replies not yet written exceed `max_unread_reply_bytes` or while a frame waits
//! for broker-wide frame budget; a watchdog tick closes a connection whose half-read frame is older
//! than `frame_read_timeout_ms` or that has been silent for `idle_timeout_secs`. Every reply passes
//! through the `Reply` handler (or `answer`, for the ones this actor gives itself), which is where
//! non-SUCCESS responses are logged and counted by request and response code.
//!
//! Metrics: the connections' shared mailbox counters cover the `Reply` messages coming back; frames
//! read from the socket are not mailbox traffic and are counted by the processors they go to.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use tokio::io::WriteHalf;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_util::codec::FramedRead;
use tracing::{debug, info, warn};

mod to_client;
pub use to_client::{Call, Push};

use super::mailbox::{timer_tick, CountedRecipient, Mailbox};
use super::metrics::{stats, ConnectionEvent};
use super::processor_table::ProcessorTable;
use actormq::limits::{ConnectionGuards, ReadFlow, Verdict, Watchdog};
use actormq::metrics::MailboxStats;
use actormq::protocol::bounded::{BoundedDecoder, CountingEncoder, CountingWrite, Gated, Inbound};
use actormq::protocol::{
    response_code, ProtocolError, RemotingCodec, RemotingCommand, OVERLOAD_REMARK,
};

/// How long a connection waiting for frame budget waits before it tries again.
const BUDGET_RETRY: Duration = Duration::from_millis(10);

/// A request handed to a processor. The processor answers through `reply`, exactly once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Request {
    pub cmd: RemotingCommand,
    /// The client's address (RocketMQ's born host).
    pub peer: SocketAddr,
    pub reply: ReplyTo,
}

/// Where a request's answer goes. Consumed by `send`, so a request is answered at most once.
pub struct ReplyTo {
    /// The connection's own address, not a `Recipient`: that would box a sender per request.
    connection: Mailbox<Connection>,
    request_code: i32,
    oneway: bool,
}

impl ReplyTo {
    /// Delivers the response (for a oneway request it is only counted, not written).
    pub fn send(self, response: RemotingCommand) {
        self.connection.do_send(Reply {
            request_code: self.request_code,
            response,
            oneway: self.oneway,
        });
    }

    /// Releases the request without writing any answer, as Java does when its processor returns
    /// no response (END_TRANSACTION with an unknown outcome); `response` is only counted.
    pub fn send_nothing(self, response: RemotingCommand) {
        self.connection.do_send(Reply {
            request_code: self.request_code,
            response,
            oneway: true,
        });
    }

    /// The connection the request came on: where the broker's own requests to that client go
    /// ([`Push`]).
    pub fn connection(&self) -> Mailbox<Connection> {
        self.connection.clone()
    }
}

/// A processor's answer on its way back to the connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reply {
    pub request_code: i32,
    pub response: RemotingCommand,
    /// The request was oneway: release the in-flight slot and count, but write nothing.
    pub oneway: bool,
}

/// Per-connection limits from `[server]`, and the guards all connections share.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_frame: usize,
    pub max_inflight: usize,
    pub frame_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_unread_reply_bytes: usize,
    /// Per listener.
    pub max_connections: usize,
    pub guards: Arc<ConnectionGuards>,
}

/// Stop reading new requests, answer the ones in flight, then close.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

/// The socket's write half, counting reply bytes queued and written.
type Writer = FramedWrite<RemotingCommand, CountingWrite<WriteHalf<TcpStream>>, CountingEncoder>;

pub struct Connection {
    id: u64,
    /// This connection's own counters (the shared `stats().connection` sums all connections):
    /// enqueued when a request is handed to a processor (its reply will come), handled per reply,
    /// so depth = requests in flight here.
    own: Arc<MailboxStats>,
    metrics: CountedRecipient<ConnectionEvent>,
    peer: SocketAddr,
    writer: Writer,
    processors: ProcessorTable,
    inflight: usize,
    max_inflight: usize,
    draining: bool,
    /// Shared with the decoder, the encoder, the socket writer and the read gate.
    flow: Rc<ReadFlow>,
    watchdog: Watchdog,
    guards: Arc<ConnectionGuards>,
    /// `flow.reply_pauses()` already logged.
    reply_pauses_logged: u64,
    /// Frame budget waits already counted (once per frame).
    waiting_for_budget: bool,
    /// The broker's own requests to this client whose answers are awaited ([`Call`]), by opaque.
    calls: HashMap<i32, oneshot::Sender<RemotingCommand>>,
    /// The opaque of the next [`Call`].
    next_call: i32,
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
        let _ = stream.set_nodelay(true);
        let addr = Connection::create(move |ctx| {
            let guards = limits.guards.clone();
            let flow = Rc::new(ReadFlow::new(limits.max_unread_reply_bytes, guards));
            let codec = RemotingCodec::new(limits.max_frame);
            let (read, write) = tokio::io::split(stream);
            let budget = limits.guards.budget.clone();
            let decoder = BoundedDecoder::new(codec.clone(), flow.clone(), budget);
            ctx.add_stream(Gated::new(FramedRead::new(read, decoder), flow.clone()));
            let write = CountingWrite::new(write, flow.clone());
            let encoder = CountingEncoder::new(codec, flow.clone());
            let mut writer = FramedWrite::new(write, encoder, ctx);
            // Backpressure is the read gate's (max_unread_reply_bytes); actix's own high watermark
            // would freeze the whole actor, watchdog included, while a client does not read.
            writer.set_buffer_capacity(limits.max_unread_reply_bytes / 2, usize::MAX);
            Connection {
                id,
                own: MailboxStats::new(
                    "connection",
                    limits.max_inflight,
                    stats().connection.is_enabled(),
                ),
                metrics,
                peer,
                writer,
                processors,
                inflight: 0,
                max_inflight: limits.max_inflight,
                draining: false,
                flow,
                watchdog: Watchdog::new(
                    limits.frame_read_timeout,
                    limits.idle_timeout,
                    Instant::now(),
                ),
                guards: limits.guards,
                reply_pauses_logged: 0,
                waiting_for_budget: false,
                calls: HashMap::new(),
                next_call: 0,
            }
        });
        Mailbox::new(addr)
    }

    /// Answers a request this actor refuses itself (unknown code, overload).
    fn answer(&mut self, request: &RemotingCommand, code: i32, remark: String) {
        let response = request.response_to(code, Some(remark));
        let (writer, guards) = (&mut self.writer, &self.guards);
        write_reply(
            writer,
            guards,
            self.peer,
            request.code,
            response,
            request.is_oneway(),
        );
    }

    /// One watchdog tick: close a connection whose half frame or silence has lasted too long.
    fn check_deadlines(&mut self, ctx: &mut Context<Self>) {
        let guard_stats = &self.guards.stats;
        let pauses = self.flow.reply_pauses();
        if pauses > self.reply_pauses_logged {
            debug!(peer = %self.peer, unread = self.flow.unread_replies(), "not reading: client is not reading its replies");
            self.reply_pauses_logged = pauses;
        }
        match self.watchdog.check(Instant::now(), self.flow.observe()) {
            Verdict::Healthy => {}
            Verdict::FrameTimeout => {
                warn!(peer = %self.peer, "closing connection: frame not complete within server.frame_read_timeout_ms");
                guard_stats.frame_timeouts.fetch_add(1, Relaxed);
                ctx.stop();
            }
            Verdict::Idle => {
                info!(peer = %self.peer, "closing idle connection (server.idle_timeout_secs)");
                guard_stats.idle_closes.fetch_add(1, Relaxed);
                ctx.stop();
            }
        }
    }

    /// The decoder found no frame budget: reading is paused; try again shortly.
    fn wait_for_budget(&mut self, frame_len: usize, ctx: &mut Context<Self>) {
        if !self.waiting_for_budget {
            self.waiting_for_budget = true;
            self.guards.stats.budget_waits.fetch_add(1, Relaxed);
            debug!(peer = %self.peer, frame_len, "frame budget exhausted; waiting to read on");
        }
        ctx.run_later(BUDGET_RETRY, |act, _| {
            let _tick = timer_tick::<Connection>();
            act.flow.retry_budget();
        });
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
                connection: Mailbox::new(ctx.address()),
                request_code: cmd.code,
                oneway: cmd.is_oneway(),
            },
            cmd,
            peer: self.peer,
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

/// The one place every response leaves through: non-SUCCESS ones are logged and counted.
fn write_reply(
    writer: &mut Writer,
    guards: &ConnectionGuards,
    peer: SocketAddr,
    request_code: i32,
    response: RemotingCommand,
    oneway: bool,
) {
    if response.code != response_code::SUCCESS {
        debug!(
            %peer,
            request_code,
            response_code = response.code,
            remark = response.remark.as_deref().unwrap_or(""),
            "request rejected"
        );
        guards.rejected.record(request_code, response.code);
    }
    if !oneway {
        writer.write(response);
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        debug!(peer = %self.peer, "connection opened");
        ctx.run_interval(self.watchdog.tick_interval(), |act, ctx| {
            let _tick = timer_tick::<Connection>();
            act.check_deadlines(ctx);
        });
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

impl StreamHandler<Result<Inbound, ProtocolError>> for Connection {
    fn handle(&mut self, item: Result<Inbound, ProtocolError>, ctx: &mut Context<Self>) {
        match item {
            Ok(Inbound::WaitForBudget { frame_len }) => self.wait_for_budget(frame_len, ctx),
            Ok(Inbound::Frame(_)) if self.draining => {}
            // The answer to one of the broker's own requests ([`Call`]); anything else is a
            // response to nothing and is dropped.
            Ok(Inbound::Frame(cmd)) if cmd.is_response() => {
                if let Some(answer) = self.calls.remove(&cmd.opaque) {
                    let _ = answer.send(cmd);
                }
            }
            Ok(Inbound::Frame(cmd)) => {
                self.waiting_for_budget = false;
                self.dispatch(cmd, ctx)
            }
            // The peer went away mid-frame, or the socket failed: its doing, not bad bytes.
            Err(ProtocolError::Io(e)) => {
                debug!(peer = %self.peer, error = %e, "closing connection: read failed");
                ctx.stop();
            }
            Err(e) => {
                warn!(peer = %self.peer, error = %e, "closing connection: undecodable frame");
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The peer closed its side: the connection is gone, as Java's broker treats it (Netty
        // closes a channel whose input ended). Answers still in flight are dropped; waiting for
        // them would keep a dead client's connection, and with it the client's registration
        // (its consumer group's queues), alive until its parked long poll ended (up to 15 s).
        debug!(peer = %self.peer, inflight = self.inflight, "peer closed the connection");
        ctx.stop();
    }
}

impl Handler<Reply> for Connection {
    type Result = ();

    fn handle(&mut self, reply: Reply, ctx: &mut Context<Self>) {
        let _timer = stats().connection.handling_with(&self.own);
        self.inflight = self.inflight.saturating_sub(1);
        let Reply {
            request_code,
            response,
            oneway,
        } = reply;
        write_reply(
            &mut self.writer,
            &self.guards,
            self.peer,
            request_code,
            response,
            oneway,
        );
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
