//! `TransactionChecker`: asks producers about the transactions they left open (RocketMQ's
//! `TransactionalMessageCheckService`).
//!
//! *Drives* the pure [`PendingHalves`] table: the `SendProcessor` reports each half it stored
//! ([`HalfStored`]) and each half it ended ([`HalfEnded`]); at start the table is rebuilt from the
//! op and half queues, read through the `Dispatcher` (`ReadQueue`). Every check interval the halves
//! due are looked up (`LookMessage`) and a `CHECK_TRANSACTION_STATE` goes to one of the producer
//! group's connections through the `ClientManager`; the producer answers with END_TRANSACTION,
//! which the `SendProcessor` serves. A half unanswered after `check_max` checks is ended without
//! being stored (`EndHalf` to the `SendProcessor`, which writes its op record). After each round
//! the lowest open half's offset is committed as `CID_RMQ_SYS_TRANS`'s offset of the half queue
//! (`CommitOffset` to the `OffsetProcessor`), as Java keeps its check progress: a restart reads the
//! half queue from there. Masters only; *runs on* the system arbiter.

use std::collections::BTreeSet;
use std::time::Duration;

use actix::prelude::*;
use tracing::{info, warn};

use super::client_manager::{ClientManager, PushToProducer};
use super::dispatcher::{Dispatcher, LookMessage, MessageLooked, ReadQueue};
use super::mailbox::{timer_tick, CountedRecipient, Mailbox};
use super::metrics::stats;
use super::offset_processor::CommitOffset;
use actormq::config::TransactionConfig;
use actormq::store::message::{decode, property, Decoded};
use actormq::store::now_ms;
use actormq::transaction::pending::{CheckRules, Due, PendingHalf, PendingHalves};
use actormq::transaction::{self, check_request, first_check_ms, op_offsets};

/// Entries asked of the dispatcher at a time while rebuilding.
const RECOVERY_BATCH: usize = 1024;

pub struct TransactionChecker {
    pending: PendingHalves,
    rules: CheckRules,
    timeout_ms: i64,
    dispatcher: Mailbox<Dispatcher>,
    clients: Mailbox<ClientManager>,
    /// Writes the op record of a half given up.
    ender: CountedRecipient<EndHalf>,
    broker_name: String,
    opaque: i32,
    /// The half-queue offset after the last half known.
    next_half: i64,
    /// Where [`transaction::CHECK_GROUP`]'s offset of the half queue was last committed: halves
    /// below it are all ended, so a restart (or a Java broker on this store) reads from there.
    committed: i64,
    offsets: CountedRecipient<CommitOffset>,
}

impl TransactionChecker {
    /// `half_from`: [`transaction::CHECK_GROUP`]'s committed offset of the half queue (0 if none).
    pub fn new(
        config: &TransactionConfig,
        (dispatcher, clients): (Mailbox<Dispatcher>, Mailbox<ClientManager>),
        ender: CountedRecipient<EndHalf>,
        (offsets, half_from): (CountedRecipient<CommitOffset>, i64),
        broker_name: String,
    ) -> Self {
        TransactionChecker {
            pending: PendingHalves::recovering(),
            rules: CheckRules {
                interval_ms: config.check_interval_ms as i64,
                max_checks: config.check_max,
            },
            timeout_ms: config.timeout_ms as i64,
            dispatcher,
            clients,
            ender,
            broker_name,
            opaque: 0,
            next_half: half_from,
            committed: half_from,
            offsets,
        }
    }

    /// Commits the check progress when it moved.
    fn commit_progress(&mut self) {
        let progress = self.pending.progress(self.next_half);
        if progress != self.committed {
            self.committed = progress;
            self.offsets.do_send(CommitOffset {
                group: transaction::CHECK_GROUP.to_string(),
                topic: transaction::HALF_TOPIC.to_string(),
                queue_id: 0,
                offset: progress,
            });
        }
    }

    fn check_round(&mut self, ctx: &mut Context<Self>) {
        if self.pending.is_recovering() {
            return;
        }
        let me = Mailbox::new(ctx.address()).recipient();
        for due in self.pending.due(now_ms(), self.rules) {
            match due {
                Due::Check { queue_offset, half } => {
                    self.dispatcher.do_send(LookMessage {
                        offset: half.commit_log_offset,
                        then: (queue_offset, half),
                        reply: me.clone(),
                    });
                }
                Due::GiveUp { queue_offset, half } => {
                    warn!(queue_offset, group = %half.producer_group, checks = half.checks,
                        "transaction half given up: its producer never answered the checks");
                    self.ender.do_send(EndHalf { queue_offset });
                }
            }
        }
        self.commit_progress();
    }
}

impl Actor for TransactionChecker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let dispatcher = self.dispatcher.clone();
        let (timeout_ms, half_from) = (self.timeout_ms, self.committed);
        ctx.spawn(
            async move { read_open_halves(dispatcher, timeout_ms, half_from).await }
                .into_actor(self)
                .map(|read, act, _ctx| {
                    let (open, next_half) = read;
                    act.next_half = act.next_half.max(next_half);
                    // Ends reported live while this read ran are remembered by `pending`.
                    for (queue_offset, half) in open {
                        act.pending.stored(queue_offset, half);
                    }
                    act.pending.recovered();
                    if !act.pending.is_empty() {
                        info!(
                            open = act.pending.len(),
                            "open transaction halves found at start"
                        );
                    }
                }),
        );
        let every = Duration::from_millis(self.rules.interval_ms.max(1) as u64);
        ctx.run_interval(every, |act, ctx| {
            let _tick = timer_tick::<TransactionChecker>();
            act.check_round(ctx);
        });
    }
}

/// Reads the op queue (which halves were ended) and the half queue from `half_from` (below it
/// every half is ended); returns the halves without an op and the offset after the last half. A
/// half whose record is gone (retention) is not open any more.
async fn read_open_halves(
    dispatcher: Mailbox<Dispatcher>,
    timeout_ms: i64,
    half_from: i64,
) -> (Vec<(i64, PendingHalf)>, i64) {
    let mut ended = BTreeSet::new();
    let mut open = Vec::new();
    let mut next_half = half_from;
    for topic in [transaction::OP_TOPIC, transaction::HALF_TOPIC] {
        let mut from = if topic == transaction::HALF_TOPIC {
            half_from
        } else {
            0
        };
        loop {
            let read = ReadQueue {
                topic: topic.to_string(),
                queue_id: 0,
                from,
                max: RECOVERY_BATCH,
            };
            let Ok(slice) = dispatcher.send(read).await else {
                return (open, next_half);
            };
            let Some(last) = slice.records.last() else {
                if from < slice.min {
                    // Below the queue's first entry (its files were deleted): start there.
                    from = slice.min;
                    continue;
                }
                break;
            };
            from = last.queue_offset + 1;
            if topic == transaction::HALF_TOPIC {
                next_half = from;
            }
            for entry in &slice.records {
                let Some(bytes) = entry.record.as_deref() else {
                    continue;
                };
                let Ok(Decoded::Record(view)) = decode(bytes, false) else {
                    continue;
                };
                if topic == transaction::OP_TOPIC {
                    ended.extend(op_offsets(view.body));
                } else if !ended.contains(&entry.queue_offset) {
                    let group = view.property(property::PGROUP).unwrap_or_default();
                    open.push((
                        entry.queue_offset,
                        PendingHalf {
                            commit_log_offset: entry.commit_log_offset,
                            producer_group: group.to_string(),
                            next_check_ms: first_check_ms(&view, timeout_ms),
                            checks: 0,
                        },
                    ));
                }
            }
        }
    }
    (open, next_half)
}

/// A half was stored (by the `SendProcessor`, once its append completed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct HalfStored {
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub producer_group: String,
    pub store_timestamp: i64,
}

impl Handler<HalfStored> for TransactionChecker {
    type Result = ();

    fn handle(&mut self, h: HalfStored, _ctx: &mut Context<Self>) {
        let _timer = stats().transaction_checker.handling();
        let half = PendingHalf {
            commit_log_offset: h.commit_log_offset,
            producer_group: h.producer_group,
            next_check_ms: h.store_timestamp.saturating_add(self.timeout_ms),
            checks: 0,
        };
        self.pending.stored(h.queue_offset, half);
        self.next_half = self.next_half.max(h.queue_offset + 1);
    }
}

/// A half was ended: its op record is stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct HalfEnded {
    pub queue_offset: i64,
}

impl Handler<HalfEnded> for TransactionChecker {
    type Result = ();

    fn handle(&mut self, h: HalfEnded, _ctx: &mut Context<Self>) {
        let _timer = stats().transaction_checker.handling();
        self.pending.ended(h.queue_offset);
    }
}

/// Asks the `SendProcessor` to end a half without storing it (write its op record).
#[derive(Message)]
#[rtype(result = "()")]
pub struct EndHalf {
    pub queue_offset: i64,
}

/// A due half, looked up: checked with its producer group, or put off while the producer's
/// immunity time lasts, or forgotten when its record is gone.
impl Handler<MessageLooked<(i64, PendingHalf)>> for TransactionChecker {
    type Result = ();

    fn handle(&mut self, msg: MessageLooked<(i64, PendingHalf)>, ctx: &mut Context<Self>) {
        let _timer = stats().transaction_checker.handling();
        let (queue_offset, half) = msg.then;
        let record = msg.record.as_deref().map(|b| decode(b, false));
        let Some(Ok(Decoded::Record(view))) = record else {
            warn!(
                queue_offset,
                "transaction half no longer in the commit log: not checked again"
            );
            self.pending.ended(queue_offset);
            return;
        };
        let first = first_check_ms(&view, self.timeout_ms);
        if first > now_ms() {
            self.pending.defer(queue_offset, first);
            return;
        }
        self.opaque = self.opaque.wrapping_add(1);
        let Some(cmd) = check_request(&view, &self.broker_name, self.opaque) else {
            warn!(
                queue_offset,
                "transaction half names no real topic and queue: not checked"
            );
            return;
        };
        let group = half.producer_group.clone();
        let clients = self.clients.clone();
        ctx.spawn(
            async move {
                if !matches!(clients.send(PushToProducer { group: group.clone(), cmd }).await, Ok(true)) {
                    warn!(%group, queue_offset, "no producer of the group is connected to check a transaction half");
                }
            }
            .into_actor(self),
        );
    }
}
