//! The broker's own requests to the client on a connection: [`Push`] (written, no answer read:
//! transaction checks, NOTIFY_CONSUMER_IDS_CHANGED, a request's reply) and [`Call`] (the answer,
//! matched by opaque, handed back: GET_CONSUMER_RUNNING_INFO). Neither is a request of the
//! client's in flight, so they count on the shared connection row only.

use actix::prelude::*;
use tokio::sync::oneshot;

use super::super::metrics::stats;
use super::Connection;
use actormq::protocol::RemotingCommand;

/// A request of the broker's own to the client on this connection, written as it is (the
/// transaction check, CHECK_TRANSACTION_STATE, is oneway: no answer is read).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Push(pub RemotingCommand);

impl Handler<Push> for Connection {
    type Result = ();

    fn handle(&mut self, Push(cmd): Push, _ctx: &mut Context<Self>) {
        // The shared row only: this connection's own row counts requests in flight, and a push
        // was never one (counting it there would hide a request in flight per push).
        let _timer = stats().connection.handling();
        if !self.draining {
            self.writer.write(cmd);
        }
    }
}

/// A request of the broker's own to this connection's client whose answer is awaited (Java's
/// `Broker2Client.callClient`, e.g. GET_CONSUMER_RUNNING_INFO): written with an opaque of this
/// connection's, and the response with that opaque goes to `answer`. A connection that is closing,
/// or closes first, drops `answer` (the asker sees it closed); an asker that gave up is forgotten
/// at the next call.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Call {
    pub cmd: RemotingCommand,
    pub answer: oneshot::Sender<RemotingCommand>,
}

impl Handler<Call> for Connection {
    type Result = ();

    fn handle(&mut self, Call { mut cmd, answer }: Call, _ctx: &mut Context<Self>) {
        // The shared row only, as `Push`: a call is not a request of the client's in flight.
        let _timer = stats().connection.handling();
        if self.draining {
            return;
        }
        self.calls.retain(|_, waiting| !waiting.is_closed());
        self.next_call = self.next_call.wrapping_add(1);
        cmd.opaque = self.next_call;
        self.calls.insert(cmd.opaque, answer);
        self.writer.write(cmd);
    }
}
