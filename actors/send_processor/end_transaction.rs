//! Transactions on the send side: `END_TRANSACTION` (37) looks the half up (the `Dispatcher`),
//! checks it names the request exactly, then a commit appends the message to its real queue and,
//! once that is stored, the op record that ends the half; a rollback appends only the op. The
//! `TransactionChecker` hears of every half stored and ended, and has halves it gave up ended
//! here (`EndHalf`). The decisions and records are `actormq::transaction`.

use std::net::SocketAddr;

use super::super::transaction_checker::{EndHalf, HalfEnded, HalfStored};
use super::*;
use actormq::store::commit_log::Appended;
use actormq::store::message::{decode, Decoded};
use actormq::transaction::{
    self, check_half, commit_message, op_message, EndTransactionHeader, Outcome,
};

/// The append, when the record was stored (also when a flush or slave wait timed out).
fn stored(outcome: &Result<Appended, AppendError>) -> Option<&Appended> {
    match outcome {
        Ok(a) => Some(a),
        Err(e) => e.stored(),
    }
}

/// An END_TRANSACTION between the half's lookup and the append.
pub struct PendingEnd {
    header: EndTransactionHeader,
    store_host: SocketAddr,
    reply: ReplyTo,
    response: RemotingCommand,
}

impl SendProcessor {
    /// `END_TRANSACTION` (37): decoded, then the half is looked up. An unknown outcome (0) is
    /// not answered, as Java's processor returns no response; the half waits for its check.
    pub(super) fn end_transaction(&mut self, req: Request, ctx: &mut Context<Self>) {
        let response = req.cmd.response_to(response_code::SUCCESS, None);
        if self.slave {
            let mut response = response;
            response.code = response_code::SLAVE_NOT_AVAILABLE;
            return req.reply.send(response);
        }
        let header = match EndTransactionHeader::decode(&req.cmd) {
            Ok(h) => h,
            Err(refusal) => return refuse(req.reply, response, refusal),
        };
        if header.outcome == Outcome::Unknown {
            debug!(msg_id = %header.msg_id, "transaction outcome unknown: left for the check");
            return req.reply.send_nothing(response);
        }
        let offset = header.commit_log_offset;
        let then = PendingEnd {
            header,
            store_host: self.store_host,
            reply: req.reply,
            response,
        };
        let look = LookMessage {
            offset,
            then,
            reply: Mailbox::new(ctx.address()).recipient(),
        };
        if let Err(SendError::Full(m) | SendError::Closed(m)) = self.dispatcher.try_send(look) {
            let busy = (response_code::SYSTEM_BUSY, OVERLOAD_REMARK.to_string());
            refuse(m.then.reply, m.then.response, busy);
        }
    }

    /// The op record that ends the half at `queue_offset`; the checker is told once it is stored.
    /// `then` runs when the op is stored or failed (the END_TRANSACTION's answer).
    fn write_op(&mut self, queue_offset: i64, host: SocketAddr, then: AppendDone) {
        if let Err(refusal) = self.ensure_topic(transaction::OP_TOPIC, 1, 0) {
            warn!(queue_offset, remark = %refusal.1, "transaction op topic could not be created");
        }
        let prepared = match Prepared::single(op_message(queue_offset, host), &self.delay_levels) {
            Ok(p) => p,
            Err((_, why)) => {
                warn!(queue_offset, %why, "transaction op record could not be encoded");
                return then(Err(AppendError::Busy));
            }
        };
        let checker = self.checker.clone();
        let done = Box::new(move |outcome: Result<Appended, AppendError>| {
            match (stored(&outcome), checker) {
                (Some(_), Some(checker)) => checker.do_send(HalfEnded { queue_offset }),
                (Some(_), None) => {}
                (None, _) => {
                    warn!(queue_offset, outcome = ?outcome.as_ref().err(), "transaction op record not stored: the half stays open and is checked again")
                }
            }
            then(outcome)
        });
        self.append_one(prepared, done);
    }

    /// The completion of a send whose record is a half: the checker learns of it once stored.
    pub(super) fn report_half(
        &self,
        group: String,
    ) -> impl FnOnce(&Result<Appended, AppendError>) + Send + 'static {
        let checker = self.checker.clone();
        move |outcome| {
            if let (Some(appended), Some(checker)) = (stored(outcome), checker) {
                checker.do_send(HalfStored {
                    queue_offset: appended.queue_offset,
                    commit_log_offset: appended.physical_offset,
                    producer_group: group,
                    store_timestamp: appended.store_timestamp,
                });
            }
        }
    }
}

/// The half of an END_TRANSACTION, looked up: checked, then committed or rolled back.
impl Handler<MessageLooked<PendingEnd>> for SendProcessor {
    type Result = ();

    fn handle(&mut self, msg: MessageLooked<PendingEnd>, ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        let PendingEnd {
            header,
            store_host,
            reply,
            response,
        } = msg.then;
        let record = msg.record.as_deref().map(|b| decode(b, false));
        let view = match &record {
            Some(Ok(Decoded::Record(v))) => Some(v),
            _ => None,
        };
        if let Err(refusal) = check_half(view, &header) {
            warn!(group = %header.producer_group, offset = header.commit_log_offset, remark = %refusal.1, "END_TRANSACTION refused");
            return refuse(reply, response, refusal);
        }
        let half = view.expect("checked");
        let queue_offset = half.queue_offset;
        if header.outcome == Outcome::Rollback {
            let answer = move |_: Result<Appended, AppendError>| reply.send(response);
            return self.write_op(queue_offset, store_host, Box::new(answer));
        }
        let message = match commit_message(half, store_host) {
            Ok(m) => m,
            Err(refusal) => return refuse(reply, response, refusal),
        };
        let prepared = match Prepared::single(message, &self.delay_levels) {
            Ok(p) => p,
            Err((_, why)) => return refuse(reply, response, retry::put_refusal(&why)),
        };
        let me = Mailbox::new(ctx.address()).recipient();
        let done = move |outcome| {
            me.do_send(Committed {
                queue_offset,
                store_host,
                outcome,
                reply,
                response,
            })
        };
        self.append_one(prepared, Box::new(done));
    }
}

/// A commit's message is stored (or failed): on success the half is ended with its op record.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Committed {
    queue_offset: i64,
    store_host: SocketAddr,
    outcome: Result<Appended, AppendError>,
    reply: ReplyTo,
    response: RemotingCommand,
}

impl Handler<Committed> for SendProcessor {
    type Result = ();

    fn handle(&mut self, c: Committed, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        // Not stored: the half stays open and is checked again later. Stored: the op only keeps
        // the half from being checked, so the answer does not wait for it.
        let commit_stored = stored(&c.outcome).is_some();
        c.reply
            .send(retry::send_back_response(c.response, c.outcome));
        if commit_stored {
            self.write_op(c.queue_offset, c.store_host, Box::new(|_| {}));
        }
    }
}

/// A half the checker gave up: ended without being stored.
impl Handler<EndHalf> for SendProcessor {
    type Result = ();

    fn handle(&mut self, e: EndHalf, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        if self.checker.is_none() {
            return;
        }
        self.write_op(e.queue_offset, self.store_host, Box::new(|_| {}));
    }
}
