//! `LockProcessor`: queue locks of ordered consumers (the `lockBatchMQ` / `unlockBatchMQ` part of
//! RocketMQ's `AdminBrokerProcessor`, with its `RebalanceLockManager`).
//!
//! Owns the lock table (`actormq::queue_locks::QueueLocks`, consumer group -> queue -> holder);
//! nothing else reads it. Receives `Request`s for `LOCK_BATCH_MQ` (41) and `UNLOCK_BATCH_MQ` (42)
//! from connections and answers each through its `ReplyTo`; the table decides, with the time this
//! actor passes in (milliseconds since it started, a clock that does not go back). A timer drops
//! expired entries. Runs on the system arbiter: a lock request is a few map operations.

use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;

use super::connection::Request;
use super::mailbox::timer_tick;
use super::metrics::stats;
use super::processor_table::Processor;
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::queue_locks::QueueLocks;

pub struct LockProcessor {
    locks: QueueLocks,
    /// The table's clock starts here.
    started: Instant,
    /// How often expired entries are dropped (the lock lifetime, at least 1 s).
    purge_interval: Duration,
    mailbox: usize,
}

impl LockProcessor {
    pub fn new(max_live_ms: u64, mailbox: usize) -> Self {
        LockProcessor {
            locks: QueueLocks::new(max_live_ms),
            started: Instant::now(),
            purge_interval: Duration::from_millis(max_live_ms.max(1_000)),
            mailbox,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn answer(&mut self, cmd: &RemotingCommand) -> RemotingCommand {
        let now = self.now_ms();
        let result = match cmd.code {
            request_code::LOCK_BATCH_MQ => self.locks.lock_batch(&cmd.body, now).map(Some),
            _ => self.locks.unlock_batch_request(&cmd.body).map(|_| None),
        };
        match result {
            Ok(body) => {
                let response = cmd.response_to(response_code::SUCCESS, None);
                match body {
                    Some(body) => response.with_body(Bytes::from(body)),
                    None => response,
                }
            }
            Err(e) => cmd.response_to(response_code::SYSTEM_ERROR, Some(e.to_string())),
        }
    }
}

impl Actor for LockProcessor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
        ctx.run_interval(self.purge_interval, |act, _| {
            let _timer = timer_tick::<LockProcessor>();
            let now = act.now_ms();
            act.locks.purge_expired(now);
        });
    }
}

/// The request codes connections hand this actor.
impl Processor for LockProcessor {
    const CODES: &'static [i32] = &[request_code::LOCK_BATCH_MQ, request_code::UNLOCK_BATCH_MQ];
}

impl Handler<Request> for LockProcessor {
    type Result = ();

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) {
        let _timer = stats().lock_processor.handling();
        let response = self.answer(&req.cmd);
        req.reply.send(response);
    }
}
