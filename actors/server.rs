//! `Server`: owns the listening socket (RocketMQ's `NettyRemotingServer` acceptor).
//!
//! Receives accepted sockets as a stream; for each it starts a `Connection` on this arbiter with the
//! frozen processor table it was given at start. Keeps the connections' mailboxes so `Shutdown` can
//! stop accepting and drain every connection before the store is sealed.
//!
//! `server.max_connections` (per listener): a socket accepted while that many connections are open
//! is closed at once, counted, and logged once per burst of refusals (`limits::ConnectionCap`).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

use actix::prelude::*;
use tokio::net::{TcpListener, TcpStream};
use tracing::{info, warn};

use super::connection::{Connection, ConnectionLimits, Drain};
use super::mailbox::{counted_stream, CountedRecipient, Mailbox};
use super::metrics::{stats, ConnectionEvent};
use super::processor_table::ProcessorTable;
use actormq::limits::{Admission, ConnectionCap};

pub struct Server {
    processors: ProcessorTable,
    metrics: CountedRecipient<ConnectionEvent>,
    connections: HashMap<u64, Mailbox<Connection>>,
    next_id: u64,
    limits: ConnectionLimits,
    cap: ConnectionCap,
    accepting: Option<SpawnHandle>,
}

impl Server {
    pub fn start(
        listener: TcpListener,
        processors: ProcessorTable,
        limits: ConnectionLimits,
        metrics: CountedRecipient<ConnectionEvent>,
    ) -> Mailbox<Server> {
        Mailbox::new(Server::create(move |ctx| {
            let handle = ctx.add_stream(counted_stream::<Server, _>(accepts(listener)));
            Server {
                processors,
                metrics,
                connections: HashMap::new(),
                next_id: 0,
                cap: ConnectionCap::new(limits.max_connections),
                limits,
                accepting: Some(handle),
            }
        }))
    }
}

impl Actor for Server {
    type Context = Context<Self>;
}

/// One result of `accept()`.
pub struct Accepted(pub io::Result<(TcpStream, SocketAddr)>);

/// Every `accept()` of `listener`, as a stream for `add_stream` (the broker's and the HA listener).
pub fn accepts(listener: TcpListener) -> impl futures_util::Stream<Item = Accepted> {
    futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await;
        Some((Accepted(accepted), listener))
    })
}

impl StreamHandler<Accepted> for Server {
    fn handle(&mut self, Accepted(result): Accepted, _ctx: &mut Context<Self>) {
        let _timer = stats().server.handling();
        let (stream, peer) = match result {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE and friends: keep the listener, the next accept may succeed.
                warn!(error = %e, "accept failed");
                return;
            }
        };
        self.connections.retain(|_, c| c.connected());
        if let Admission::Refuse { first_of_burst } = self.cap.admit(self.connections.len()) {
            if first_of_burst {
                warn!(
                    %peer,
                    max = self.limits.max_connections,
                    "server.max_connections reached: refusing new connections"
                );
            }
            self.limits
                .guards
                .stats
                .connections_refused
                .fetch_add(1, Relaxed);
            drop(stream);
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let (table, metrics) = (self.processors.clone(), self.metrics.clone());
        let limits = self.limits.clone();
        let connection = Connection::start(id, stream, peer, table, limits, metrics);
        self.connections.insert(id, connection);
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

/// Stop accepting and drain every connection; resolves when all of them have closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl Handler<Shutdown> for Server {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().server.handling();
        if let Some(handle) = self.accepting.take() {
            ctx.cancel_future(handle);
        }
        let open: Vec<_> = self.connections.drain().map(|(_, c)| c).collect();
        info!(
            connections = open.len(),
            "stopped accepting; draining connections"
        );
        let drained = async move {
            for c in &open {
                let _ = c.send(Drain).await;
            }
            // A connection stops once its last reply is written; wait for that, bounded.
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
            while open.iter().any(|c| c.connected()) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        Box::pin(drained.into_actor(self))
    }
}
