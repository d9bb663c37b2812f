//! An async RocketMQ remoting client: one TCP connection, many requests in flight, matched to their
//! responses by `opaque`.
//!
//! One task owns the socket and the table of pending requests, so no lock is shared: callers hand it
//! requests over a channel with a oneshot for the answer. The task writes every request that is
//! waiting before it flushes, so a burst costs one syscall, not one per request.

mod consumer;
mod producer;

pub use consumer::{
    consumer_heartbeat, decode_messages, parse_pull_response, pull_sys_flag, PullRequest,
    PullResult, QueryResult, ReceivedMessage, Subscribe, GET_TOPIC_CONFIG,
};
pub use producer::{
    parse_send_response, send_request as producer_request, OutgoingMessage, SendResult,
};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Framed;

use crate::protocol::{response_code, ProtocolError, RemotingCodec, RemotingCommand};

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("the connection is closed")]
    Closed,
    #[error("broker answered {name} ({code}): {remark}")]
    Broker {
        code: i32,
        name: &'static str,
        remark: String,
    },
    #[error("bad response: {0}")]
    BadResponse(String),
}

impl ClientError {
    /// The error for a non-success response.
    pub fn from_response(resp: &RemotingCommand) -> ClientError {
        ClientError::Broker {
            code: resp.code,
            name: response_code::name(resp.code),
            remark: resp.remark.clone().unwrap_or_default(),
        }
    }
}

enum Outgoing {
    Request(RemotingCommand, oneshot::Sender<RemotingCommand>),
    Oneway(RemotingCommand),
}

/// Broker-initiated requests kept unread per connection ([`Client::take_pushes`]).
pub const PUSHES_KEPT: usize = 1024;

/// A connection to a broker. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Client {
    tx: mpsc::Sender<Outgoing>,
    next_opaque: AtomicI32,
    peer: SocketAddr,
    local: SocketAddr,
    /// Deadline for `request` calls that do not give their own.
    pub timeout: Duration,
    /// Requests the broker sends on its own (a transaction check), until taken.
    pushes: Option<mpsc::Receiver<RemotingCommand>>,
}

impl Client {
    /// Connects to `addr` (`host:port`).
    pub async fn connect(addr: &str) -> Result<Client, ClientError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect {
                addr: addr.to_string(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().map_err(|source| ClientError::Connect {
            addr: addr.to_string(),
            source,
        })?;
        let local = stream.local_addr().map_err(|source| ClientError::Connect {
            addr: addr.to_string(),
            source,
        })?;
        let (tx, rx) = mpsc::channel(4096);
        let (push_tx, pushes) = mpsc::channel(PUSHES_KEPT);
        tokio::spawn(run_connection(
            Framed::new(stream, RemotingCodec::default()),
            rx,
            push_tx,
        ));
        Ok(Client {
            tx,
            next_opaque: AtomicI32::new(1),
            peer,
            local,
            timeout: Duration::from_secs(10),
            pushes: Some(pushes),
        })
    }

    /// The requests the broker sends on its own on this connection (CHECK_TRANSACTION_STATE to a
    /// producer); the first call takes them, later calls get `None`. Up to [`PUSHES_KEPT`] wait
    /// unread; beyond that they are dropped.
    pub fn take_pushes(&mut self) -> Option<mpsc::Receiver<RemotingCommand>> {
        self.pushes.take()
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// This end's address (what the broker sees as the peer).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// A fresh request id.
    pub fn next_opaque(&self) -> i32 {
        self.next_opaque.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends `cmd` (its opaque is replaced) and waits for the response, whatever its code.
    pub async fn request(&self, cmd: RemotingCommand) -> Result<RemotingCommand, ClientError> {
        self.request_timeout(cmd, self.timeout).await
    }

    /// [`Client::request`] with its own deadline (long polls wait longer than other requests).
    pub async fn request_timeout(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        cmd.opaque = self.next_opaque();
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Outgoing::Request(cmd, done))
            .await
            .map_err(|_| ClientError::Closed)?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }

    /// Answers a request the broker sent this client (from [`Client::take_pushes`]): `response`
    /// (made with `request.response_to(..)`, so it carries the request's opaque) is written as is.
    pub async fn respond(&self, response: RemotingCommand) -> Result<(), ClientError> {
        self.tx
            .send(Outgoing::Oneway(response))
            .await
            .map_err(|_| ClientError::Closed)
    }

    /// Sends `cmd` with the oneway flag; no response is expected.
    pub async fn oneway(&self, mut cmd: RemotingCommand) -> Result<(), ClientError> {
        cmd.opaque = self.next_opaque();
        cmd.set_oneway();
        self.tx
            .send(Outgoing::Oneway(cmd))
            .await
            .map_err(|_| ClientError::Closed)
    }
}

/// Owns the socket: writes queued requests, routes responses to their waiters by opaque.
async fn run_connection(
    mut framed: Framed<TcpStream, RemotingCodec>,
    mut rx: mpsc::Receiver<Outgoing>,
    pushes: mpsc::Sender<RemotingCommand>,
) {
    let mut pending: HashMap<i32, oneshot::Sender<RemotingCommand>> = HashMap::new();
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(mut out) = out else { break };
                // Write everything that is queued, then flush once.
                loop {
                    let cmd = match out {
                        Outgoing::Request(cmd, done) => {
                            pending.insert(cmd.opaque, done);
                            cmd
                        }
                        Outgoing::Oneway(cmd) => cmd,
                    };
                    if framed.feed(cmd).await.is_err() {
                        return;
                    }
                    match rx.try_recv() {
                        Ok(next) => out = next,
                        Err(_) => break,
                    }
                }
                if SinkExt::<RemotingCommand>::flush(&mut framed).await.is_err() {
                    return;
                }
            }
            frame = framed.next() => match frame {
                Some(Ok(resp)) if resp.is_response() => {
                    if let Some(done) = pending.remove(&resp.opaque) {
                        let _ = done.send(resp);
                    }
                }
                Some(Ok(request)) => {
                    // A request of the broker's own: kept for `take_pushes` (dropped when full).
                    let _ = pushes.try_send(request);
                }
                Some(Err(_)) | None => return,
            },
        }
    }
}
