//! The `Dispatcher`'s long polling (RocketMQ's `PullRequestHoldService`): a pull that finds
//! nothing at its queue's end is parked (`actormq::long_poll::ParkedPulls`) until records its filter takes are
//! dispatched to that queue or its `suspendTimeoutMillis` passes; at shutdown every parked pull
//! is answered at once (`ReleaseParked`).

use std::time::Duration;

use actix::prelude::*;

use super::super::connection::ReplyTo;
use super::super::metrics::stats;
use super::super::query::{pull_response, refuse};
use super::{Dispatcher, PullQuery, TagFilter};
use actormq::protocol::{response_code, RemotingCommand};
use actormq::store::consume_queue::DispatchRun;
use actormq::store::read::{GetStatus, PullRead};

/// What answers a parked pull: its prepared response, the way back and its timeout timer.
pub(super) struct Parked {
    response: RemotingCommand,
    reply: ReplyTo,
    timer: SpawnHandle,
}

impl Dispatcher {
    /// Answers the pulls parked on the queues of runs just indexed, where the new entries match.
    pub(super) fn wake_parked(&mut self, runs: Vec<DispatchRun>, ctx: &mut Context<Self>) {
        if self.parked.is_empty() {
            return;
        }
        for run in runs {
            for (id, query, p) in self.parked.woken_by(&run) {
                let r = self.read(&query);
                if self.waits_on(&query, &r) {
                    let query = PullQuery {
                        offset: r.next_begin,
                        ..query
                    };
                    self.parked.repark(id, query, p);
                    continue;
                }
                ctx.cancel_future(p.timer);
                self.reply_pull(query, r, p.response, p.reply);
            }
        }
    }

    /// Whether a woken pull stays parked: an SQL92 selector is checked against the records
    /// themselves, and none of those up to the queue's end passed, so it waits on from past
    /// them (Java keeps it parked too; its consume-queue bloom filter decides before reading).
    fn waits_on(&self, q: &PullQuery, r: &PullRead) -> bool {
        !self.closing
            && matches!(q.filter, TagFilter::Sql(_))
            && r.status == GetStatus::NoMatchedMessage
            && r.next_begin >= r.max
    }

    fn answer_pull(&mut self, q: PullQuery, response: RemotingCommand, reply: ReplyTo) {
        let r = self.read(&q);
        self.reply_pull(q, r, response, reply);
    }

    fn reply_pull(&mut self, q: PullQuery, r: PullRead, response: RemotingCommand, reply: ReplyTo) {
        self.gets.pulled(&q, &r);
        reply.send(pull_response(response, &q, r, &self.role));
    }

    pub(super) fn pull(
        &mut self,
        q: PullQuery,
        response: RemotingCommand,
        reply: ReplyTo,
        ctx: &mut Context<Self>,
    ) {
        if let Err((code, remark)) = self.topics.check_readable(&q.topic, q.queue_id) {
            reply.send(refuse(response, code, remark));
            return;
        }
        let r = self.read(&q);
        self.gets.pulled(&q, &r);
        let code = r.status.response_code(q.offset);
        match q.suspend {
            Some(timeout) if code == response_code::PULL_NOT_FOUND && !self.closing => {
                self.park(q, response, reply, timeout, ctx)
            }
            _ => reply.send(pull_response(response, &q, r, &self.role)),
        }
    }

    fn park(
        &mut self,
        query: PullQuery,
        response: RemotingCommand,
        reply: ReplyTo,
        timeout: Duration,
        ctx: &mut Context<Self>,
    ) {
        let (topic, queue_id, id) = (query.topic.clone(), query.queue_id, self.parked.next_id());
        let timer = ctx.run_later(timeout, move |act, _| {
            // Its `suspendTimeoutMillis` passed: answer with whatever is there now.
            if let Some((query, p)) = act.parked.take(&topic, queue_id, id) {
                act.answer_pull(query, p.response, p.reply);
            }
        });
        let parked = Parked {
            response,
            reply,
            timer,
        };
        self.parked.park(query, parked);
    }
}

/// Shutdown, first step: answer every parked pull now and park no more.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ReleaseParked;

impl Handler<ReleaseParked> for Dispatcher {
    type Result = usize;

    fn handle(&mut self, _: ReleaseParked, ctx: &mut Context<Self>) -> usize {
        let _timer = stats().dispatcher.handling();
        self.closing = true;
        let parked = self.parked.drain();
        let released = parked.len();
        for (query, p) in parked {
            ctx.cancel_future(p.timer);
            self.answer_pull(query, p.response, p.reply);
        }
        released
    }
}
