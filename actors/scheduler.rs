//! `Scheduler`: delivers delayed messages when due (RocketMQ's `ScheduleMessageService`).
//!
//! *Drives* the pure [`Schedule`] state machine (one cursor per delay level over its queue of
//! `SCHEDULE_TOPIC_XXXX`) and *owns* `config/delayOffset.json`. Per level it asks the `Dispatcher`
//! for entries with their records (`ReadQueue`), sends a due message for its real topic to the
//! `CommitLogWriter` as an `Append` (like the SendProcessor, `try_send`; the completion comes back
//! as `Delivered`), or sleeps on a timer. It also answers `GET_ALL_DELAY_OFFSET` (45). The offsets
//! are written every 10 s when changed (`flushDelayOffsetInterval`) and at shutdown after `Pause`.
//! *Runs on* the system arbiter beside the writer: an append is a local hop; reads cross to the
//! dispatcher's thread.

use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;
use tracing::{error, info, warn};

use super::commit_log_writer::{Append, AppendError, CommitLogWriter};
use super::connection::Request;
use super::dispatcher::{Dispatcher, QueueGrew, ReadQueue, WatchTopic};
use super::mailbox::{timer_tick, Mailbox};
use super::metrics::stats;
use super::processor_table::Processor;
use actormq::protocol::{request_code, response_code};
use actormq::schedule::offsets::DelayOffsets;
use actormq::schedule::state::{Schedule, Step};
use actormq::schedule::{self, SCHEDULE_TOPIC};
use actormq::store::now_ms;
use actormq::store::StoreError;

/// Java's `FIRST_DELAY_TIME`: each level's first look, after start.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Java's `flushDelayOffsetInterval`.
const PERSIST_INTERVAL: Duration = Duration::from_secs(10);

pub struct Scheduler {
    schedule: Schedule,
    path: PathBuf,
    dispatcher: Mailbox<Dispatcher>,
    writer: Mailbox<CommitLogWriter>,
}

impl Scheduler {
    pub fn new(
        schedule: Schedule,
        path: PathBuf,
        dispatcher: Mailbox<Dispatcher>,
        writer: Mailbox<CommitLogWriter>,
    ) -> Self {
        Scheduler {
            schedule,
            path,
            dispatcher,
            writer,
        }
    }

    /// Does what `level` wants until it waits for an answer or a timer.
    fn drive(&mut self, level: i32, ctx: &mut Context<Self>) {
        loop {
            match self.schedule.next(level, now_ms()) {
                Step::Read {
                    queue_id,
                    from,
                    max,
                } => {
                    let read = ReadQueue {
                        topic: SCHEDULE_TOPIC.to_string(),
                        queue_id,
                        from,
                        max,
                    };
                    self.dispatcher
                        .send(read)
                        .into_actor(self)
                        .map(move |slice, act, ctx| {
                            // The answer is handled like a message to itself (counted both ways).
                            let _tick = timer_tick::<Scheduler>();
                            // A stopped dispatcher reads as an empty queue: look again later.
                            act.schedule.read(level, slice.unwrap_or_default());
                            act.drive(level, ctx);
                        })
                        .spawn(ctx);
                    return;
                }
                Step::Deliver {
                    queue_offset,
                    topic,
                    queue_id,
                    record,
                    tags_code,
                } => {
                    let me = Mailbox::new(ctx.address());
                    let append = Append {
                        wait_slave: false,
                        topic,
                        queue_id,
                        records: record,
                        count: 1,
                        tags_codes: vec![tags_code],
                        done: Box::new(move |outcome| {
                            let stored =
                                matches!(outcome, Ok(_) | Err(AppendError::FlushTimeout(_)));
                            me.do_send(Delivered {
                                level,
                                queue_offset,
                                stored,
                            });
                        }),
                    };
                    if let Err(SendError::Full(a) | SendError::Closed(a)) =
                        self.writer.try_send(append)
                    {
                        (a.done)(Err(AppendError::Busy));
                    }
                    return;
                }
                Step::Sleep { ms } => {
                    let after = Duration::from_millis(ms.max(1) as u64);
                    ctx.run_later(after, move |act, ctx| {
                        let _tick = timer_tick::<Scheduler>();
                        act.drive(level, ctx);
                    });
                    return;
                }
                Step::Skipped {
                    queue_offset,
                    reason,
                } => warn!(level, queue_offset, %reason, "delayed message skipped"),
                Step::Wait => return,
            }
        }
    }

    fn persist(&mut self) -> Result<(), StoreError> {
        if let Some(offsets) = self.schedule.take_changed(now_ms()) {
            if let Err(e) = offsets.save(&self.path) {
                self.schedule.persist_failed();
                return Err(e);
            }
        }
        Ok(())
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let me = Mailbox::new(ctx.address());
        self.dispatcher.do_send(WatchTopic {
            topic: SCHEDULE_TOPIC.to_string(),
            to: me.recipient(),
        });
        let levels: Vec<i32> = self.schedule.levels().levels().collect();
        for level in levels {
            ctx.run_later(FIRST_DELAY, move |act, ctx| {
                let _tick = timer_tick::<Scheduler>();
                act.drive(level, ctx);
            });
        }
        ctx.run_interval(PERSIST_INTERVAL, |act, _| {
            let _tick = timer_tick::<Scheduler>();
            if let Err(e) = act.persist() {
                error!(error = %e, "persisting delay offsets failed; will retry");
            }
        });
        info!(
            levels = self.schedule.levels().max_level(),
            "scheduler started"
        );
    }
}

/// The outcome of a delivery's append (sent by the append's completion).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Delivered {
    level: i32,
    queue_offset: i64,
    stored: bool,
}

impl Handler<Delivered> for Scheduler {
    type Result = ();

    fn handle(&mut self, d: Delivered, ctx: &mut Context<Self>) {
        let _timer = stats().scheduler.handling();
        if !d.stored {
            warn!(
                level = d.level,
                queue_offset = d.queue_offset,
                "delivering a delayed message failed; retrying"
            );
        }
        self.schedule.appended(d.level, d.queue_offset, d.stored);
        self.drive(d.level, ctx);
    }
}

/// The request codes connections hand this actor.
impl Processor for Scheduler {
    const CODES: &'static [i32] = &[request_code::GET_ALL_DELAY_OFFSET];
}

/// `GET_ALL_DELAY_OFFSET` (45): the offsets as `delayOffset.json` has them (compact).
impl Handler<Request> for Scheduler {
    type Result = ();

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) {
        let _timer = stats().scheduler.handling();
        let body = self.schedule.offsets().encode(false);
        let response = req
            .cmd
            .response_to(response_code::SUCCESS, None)
            .with_body(body.into());
        req.reply.send(response);
    }
}

/// `GET_BROKER_RUNTIME_INFO`'s `scheduleMessageOffset_<level>`: (level, next offset to deliver,
/// the level queue's max offset) for each level in the offset table.
#[derive(Message)]
#[rtype(result = "Vec<(i32, i64, i64)>")]
pub struct DelayProgress;

impl Handler<DelayProgress> for Scheduler {
    type Result = ResponseFuture<Vec<(i32, i64, i64)>>;

    fn handle(&mut self, _: DelayProgress, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().scheduler.handling();
        let offsets: Vec<(i32, i64)> = self.schedule.offsets().iter().collect();
        let dispatcher = self.dispatcher.clone();
        Box::pin(async move {
            let mut out = Vec::with_capacity(offsets.len());
            for (level, offset) in offsets {
                // No records asked for: only the queue's bounds.
                let bounds = ReadQueue {
                    topic: SCHEDULE_TOPIC.to_string(),
                    queue_id: schedule::queue_id(level),
                    from: 0,
                    max: 0,
                };
                let max = dispatcher.send(bounds).await.map_or(0, |s| s.max);
                out.push((level, offset, max));
            }
            out
        })
    }
}

/// Shutdown: start no more reads or deliveries; answers the appends still out (call again until 0).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Pause;

impl Handler<Pause> for Scheduler {
    type Result = usize;

    fn handle(&mut self, _: Pause, _ctx: &mut Context<Self>) -> usize {
        let _timer = stats().scheduler.handling();
        self.schedule.pause();
        self.schedule.appends_in_flight()
    }
}

/// A slave's metadata sync: the master's delay offsets replace this broker's and are written.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ApplyMasterDelayOffsets(pub DelayOffsets);

impl Handler<ApplyMasterDelayOffsets> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: ApplyMasterDelayOffsets, _ctx: &mut Context<Self>) {
        let _timer = stats().scheduler.handling();
        if self.schedule.replace_offsets(msg.0) {
            if let Err(e) = self.persist() {
                error!(error = %e, "persisting the master's delay offsets failed; will retry");
            }
        }
    }
}

/// Shutdown: write the offsets now if they changed.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct PersistDelayOffsets;

impl Handler<PersistDelayOffsets> for Scheduler {
    type Result = Result<(), StoreError>;

    fn handle(&mut self, _: PersistDelayOffsets, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().scheduler.handling();
        self.persist()?;
        info!(path = %self.path.display(), "delay offsets persisted");
        Ok(())
    }
}

/// New entries in a level's queue: that level looks now instead of after its empty back-off.
impl Handler<QueueGrew> for Scheduler {
    type Result = ();

    fn handle(&mut self, msg: QueueGrew, ctx: &mut Context<Self>) {
        let _timer = stats().scheduler.handling();
        let level = msg.queue_id + 1;
        self.schedule.grew(level);
        self.drive(level, ctx);
    }
}
