//! `Timer`: delivers 5.x timer messages (RocketMQ's `TimerMessageStore` services) when due.
//!
//! *Drives* the [`TimerStore`] (timer log, timing wheel, cursors; `src/timer/`). *Sends*
//! `ReadQueue` to the `Dispatcher` every [`ENQUEUE_POLL`] for new entries of
//! `rmq_sys_wheel_timer` queue 0 from the enqueue cursor and files them; `ReadRecords` for the
//! records of due messages; `Append` to the `CommitLogWriter` with each fired copy
//! (`actormq::timer::fired`: real topic and queue, REAL_* removed, TIMER_ENQUEUE_MS /
//! TIMER_DEQUEUE_MS added). *Receives* `Delivered` from the append's completion (the dequeue
//! cursor moves only then) and `StopTimer` at shutdown. *Wakes* at the next due message or
//! read-ahead, and checkpoints every [`CHECKPOINT_EVERY`]. *Runs on* its own arbiter: the timer
//! files' `pread`/`pwrite` never stall the network or the writer.

use std::net::SocketAddr;
use std::time::Duration;

use actix::prelude::*;
use bytes::BytesMut;
use tracing::{error, info, warn};

use super::commit_log_writer::{Append, AppendError, CommitLogWriter};
use super::dispatcher::Dispatcher;
use super::mailbox::{timer_tick, Mailbox};
use super::metrics::stats;
use super::query::{QueueGrew, ReadQueue, ReadRecords, WatchTopic};
use actormq::store::message::{decode, encode, property, Decoded, RecordView};
use actormq::store::now_ms;
use actormq::store::read::QueueSlice;
use actormq::timer::{fired, Due, TimerError, TimerStore, TIMER_TOPIC};

/// How often the timer topic's consume queue is read for new messages.
/// The dispatcher reports new timer-queue entries ([`QueueGrew`]); this poll is only the fallback.
const ENQUEUE_POLL: Duration = Duration::from_secs(1);
/// How often the cursors are persisted.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Entries read per `ReadQueue`, and messages per delivery batch.
const BATCH: usize = 2048;
/// Delivery batches in flight at once.
const MAX_IN_FLIGHT: usize = 4;
/// After a failed append, wait this long before handing the messages out again (Java: 100 ms).
const RETRY_AFTER: Duration = Duration::from_millis(100);

pub struct Timer {
    store: TimerStore,
    dispatcher: Mailbox<Dispatcher>,
    writer: Mailbox<CommitLogWriter>,
    store_host: SocketAddr,
    /// A `ReadQueue` is out.
    reading: bool,
    /// The timer queue grew while a read was out: read again when it is answered.
    repoll: bool,
    /// Delivery batches out (records being read or appended).
    in_flight: usize,
    wake: Option<SpawnHandle>,
    /// Shutting down, or the store failed: nothing new is started.
    stopped: bool,
    /// The store failed: its files may disagree with each other, so no checkpoint is written
    /// (the next start recovers from the last good one).
    failed: bool,
}

impl Timer {
    pub fn new(
        store: TimerStore,
        dispatcher: Mailbox<Dispatcher>,
        writer: Mailbox<CommitLogWriter>,
        store_host: SocketAddr,
    ) -> Self {
        Timer {
            store,
            dispatcher,
            writer,
            store_host,
            reading: false,
            repoll: false,
            in_flight: 0,
            wake: None,
            stopped: false,
            failed: false,
        }
    }

    fn fail(&mut self, e: TimerError) {
        error!(error = %e, "timer store failed; timer messages are not delivered until restart");
        self.stopped = true;
        self.failed = true;
    }

    /// Asks the dispatcher for the timer queue's entries after the enqueue cursor.
    fn poll(&mut self, ctx: &mut Context<Self>) {
        if self.reading {
            self.repoll = true;
            return;
        }
        if self.stopped {
            return;
        }
        self.reading = true;
        let read = ReadQueue {
            topic: TIMER_TOPIC.to_string(),
            queue_id: 0,
            from: self.store.enqueue_offset(),
            max: BATCH,
        };
        self.dispatcher
            .send(read)
            .into_actor(self)
            .map(|res, act, ctx| {
                act.reading = false;
                // A continuation, not a mailbox message: counted like a timer run.
                let _tick = timer_tick::<Timer>();
                match res {
                    Ok(records) => act.enqueue(records, ctx),
                    Err(e) => warn!(error = %e, "timer: reading the timer queue failed"),
                }
                if std::mem::take(&mut act.repoll) {
                    act.poll(ctx);
                }
            })
            .spawn(ctx);
    }

    /// Files new timer-queue entries; the deliver time is the record's `TIMER_OUT_MS` (the entry's
    /// tag code when the record cannot be read).
    fn enqueue(&mut self, read: QueueSlice, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        self.store.skip_to(read.min);
        let more = read.records.len() == BATCH;
        for entry in read.records {
            let offset = entry.queue_offset;
            let out_ms = entry
                .record
                .as_deref()
                .and_then(|b| match decode(b, false) {
                    Ok(Decoded::Record(r)) => r.property(property::TIMER_OUT_MS)?.parse().ok(),
                    _ => None,
                });
            let deliver_ms = out_ms.unwrap_or(entry.tags_code);
            let filed = self
                .store
                .enqueue(offset, entry.commit_log_offset, entry.size, deliver_ms);
            match filed {
                Ok(()) => {}
                Err(e @ TimerError::SlotTaken { .. }) => {
                    warn!(error = %e, offset, "timer: filing waits for delivery to free the slot");
                    break;
                }
                Err(e) => return self.fail(e),
            }
        }
        self.step(ctx);
        if more {
            self.poll(ctx);
        }
    }

    /// Reads ahead, hands out what is due, and sleeps until the next thing to do.
    fn step(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        let now = now_ms();
        if let Err(e) = self.store.load(now) {
            return self.fail(e);
        }
        while self.in_flight < MAX_IN_FLIGHT {
            let due = self.store.due(now, BATCH);
            if due.is_empty() {
                break;
            }
            self.deliver(due, ctx);
        }
        if let Some(h) = self.wake.take() {
            ctx.cancel_future(h);
        }
        let wait = (self.store.next_wake() - now_ms()).clamp(1, 1000) as u64;
        let handle = ctx.run_later(Duration::from_millis(wait), |act, ctx| {
            act.wake = None;
            let _tick = timer_tick::<Timer>();
            act.step(ctx);
        });
        self.wake = Some(handle);
    }

    /// Reads the due records and appends their fired copies.
    fn deliver(&mut self, due: Vec<Due>, ctx: &mut Context<Self>) {
        self.in_flight += 1;
        let offsets = due.iter().map(|d| d.commit_log_offset).collect();
        self.dispatcher
            .send(ReadRecords(offsets))
            .into_actor(self)
            .map(move |res, act, ctx| {
                let _tick = timer_tick::<Timer>();
                match res {
                    Ok(records) => act.append(due, records, ctx),
                    Err(e) => {
                        warn!(error = %e, "timer: reading due records failed");
                        act.delivered(due, false, ctx);
                    }
                }
            })
            .spawn(ctx);
    }

    fn append(
        &mut self,
        due: Vec<Due>,
        records: Vec<Option<bytes::Bytes>>,
        ctx: &mut Context<Self>,
    ) {
        let now = now_ms();
        let mut batches = FiredBatches::default();
        for (d, bytes) in due.iter().zip(&records) {
            let view = bytes.as_deref().and_then(|b| match decode(b, false) {
                Ok(Decoded::Record(r)) => Some(r),
                _ => None,
            });
            match view {
                Some(r) => batches.add(&r, now, self.store_host),
                // Deleted by retention or never readable: nothing left to deliver.
                None => warn!(
                    offset = d.commit_log_offset,
                    "timer: due record not found; dropped"
                ),
            }
        }
        if batches.0.is_empty() {
            return self.delivered(due, true, ctx);
        }
        let me = Mailbox::new(ctx.address());
        let total = batches.0.len();
        let tally = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let due = std::sync::Arc::new(due);
        for batch in batches.0 {
            let (me, tally, failed, due) = (me.clone(), tally.clone(), failed.clone(), due.clone());
            let append = Append {
                wait_slave: false,
                topic: batch.topic,
                queue_id: batch.queue_id,
                count: batch.tags_codes.len() as u32,
                records: batch.records,
                tags_codes: batch.tags_codes,
                done: Box::new(move |outcome: Result<_, AppendError>| {
                    use std::sync::atomic::Ordering::SeqCst;
                    if outcome.is_err() {
                        failed.store(true, SeqCst);
                    }
                    // The last append of the batch reports the batch.
                    if tally.fetch_add(1, SeqCst) + 1 == total {
                        let due = (*due).clone();
                        me.do_send(Delivered {
                            due,
                            ok: !failed.load(SeqCst),
                        });
                    }
                }),
            };
            if let Err(SendError::Full(a) | SendError::Closed(a)) = self.writer.try_send(append) {
                (a.done)(Err(AppendError::Busy));
            }
        }
    }

    fn delivered(&mut self, due: Vec<Due>, ok: bool, ctx: &mut Context<Self>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.store.done(&due, ok);
        if ok {
            self.step(ctx);
        } else {
            ctx.run_later(RETRY_AFTER, |act, ctx| act.step(ctx));
        }
    }
}

/// Fired copies grouped into one `Append` per run of the same topic-queue.
#[derive(Default)]
struct FiredBatches(Vec<FiredBatch>);

struct FiredBatch {
    topic: String,
    queue_id: i32,
    records: BytesMut,
    tags_codes: Vec<i64>,
}

impl FiredBatches {
    fn add(&mut self, r: &RecordView<'_>, now: i64, store_host: SocketAddr) {
        let m = match fired(r, now, store_host) {
            Ok(m) => m,
            Err(e) => return warn!(error = %e, offset = r.physical_offset, "timer: dropped"),
        };
        let same = |b: &FiredBatch| b.topic == m.topic && b.queue_id == m.queue_id;
        if !self.0.last().is_some_and(same) {
            self.0.push(FiredBatch {
                topic: m.topic.clone(),
                queue_id: m.queue_id,
                records: BytesMut::new(),
                tags_codes: Vec::new(),
            });
        }
        let batch = self.0.last_mut().expect("pushed above");
        if let Err(e) = encode(&m, &mut batch.records) {
            return warn!(error = %e, offset = r.physical_offset, "timer: dropped");
        }
        batch.tags_codes.push(r.tags_code());
    }
}

impl Actor for Timer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let me = Mailbox::new(ctx.address());
        self.dispatcher.do_send(WatchTopic {
            topic: TIMER_TOPIC.to_string(),
            to: me.recipient(),
        });
        ctx.run_interval(ENQUEUE_POLL, |act, ctx| act.poll(ctx));
        ctx.run_interval(CHECKPOINT_EVERY, |act, _| {
            let _tick = timer_tick::<Timer>();
            if !act.stopped {
                if let Err(e) = act.store.checkpoint() {
                    warn!(error = %e, "timer: checkpoint failed");
                }
            }
        });
        info!(
            enqueue_offset = self.store.enqueue_offset(),
            dequeue_ms = self.store.dequeue_ms(),
            pending = self.store.pending(),
            "timer started"
        );
        self.step(ctx);
    }
}

/// The appends of one delivery batch completed (`ok`: all of them succeeded).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Delivered {
    due: Vec<Due>,
    ok: bool,
}

impl Handler<Delivered> for Timer {
    type Result = ();

    fn handle(&mut self, msg: Delivered, ctx: &mut Context<Self>) {
        let _timer = stats().timer.handling();
        self.delivered(msg.due, msg.ok, ctx);
    }
}

/// Shutdown: start nothing new; once no delivery is in flight, checkpoint and answer true (false:
/// ask again).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct StopTimer;

impl Handler<StopTimer> for Timer {
    type Result = bool;

    fn handle(&mut self, _: StopTimer, _ctx: &mut Context<Self>) -> bool {
        let _timer = stats().timer.handling();
        self.stopped = true;
        if self.in_flight > 0 {
            return false;
        }
        if self.failed {
            return true;
        }
        if let Err(e) = self.store.checkpoint() {
            warn!(error = %e, "timer: final checkpoint failed");
        }
        info!(
            pending = self.store.pending(),
            dequeue_ms = self.store.dequeue_ms(),
            "timer stopped"
        );
        true
    }
}

/// New entries in `rmq_sys_wheel_timer`: file them now.
impl Handler<QueueGrew> for Timer {
    type Result = ();

    fn handle(&mut self, _: QueueGrew, ctx: &mut Context<Self>) {
        let _timer = stats().timer.handling();
        self.poll(ctx);
    }
}
