//! `OffsetProcessor`: offsets (RocketMQ's `ConsumerManageProcessor` and the offset requests of its
//! `AdminBrokerProcessor`).
//!
//! Owns the consumer offset table (`config/consumerOffset.json`): answers `QUERY_CONSUMER_OFFSET`
//! (14) and `UPDATE_CONSUMER_OFFSET` (15, usually oneway; its group and topic must exist,
//! `commits.rs`) itself, and takes `CommitOffset` from the `PullProcessor` (pulls with the
//! COMMIT_OFFSET flag). Queue offsets live with the consume queues, so
//! `SEARCH_OFFSET_BY_TIMESTAMP` (29), `GET_MAX_OFFSET` (30) and `GET_MIN_OFFSET` (31) are parsed
//! here and forwarded to the `Dispatcher`, which answers through the request's `ReplyTo`; so is
//! `GET_CONSUME_STATS` (208, `mqadmin consumerProgress`), with the group's offsets from the table,
//! and, with the online consumers' subscriptions asked of the `ClientManager` first (`admin.rs`),
//! `GET_BROKER_CONSUME_STATS` (317, every group's) and `QUERY_CONSUME_QUEUE` (321); the
//! Dashboard's `QUERY_CONSUME_TIME_SPAN` (303) and `QUERY_TOPICS_BY_CONSUMER` (343) read one
//! group's offsets (`by_group.rs`).
//! An offset reset (`INVOKE_BROKER_TO_RESET_OFFSET`, 222, checked by the `SendProcessor`, which owns
//! the topic and group tables) arrives as [`ResetOffsets`]: the `Dispatcher` computes the offsets,
//! this actor commits them and marks the queues (the consumer's own commits for a marked queue are
//! stale and ignored, as Java 5.2+ does) until the `PullProcessor` has moved the consumer
//! ([`ResetTaken`]). The `ClientManager` asks it which groups have offsets on a topic
//! ([`GroupsWithOffsets`], for `QUERY_TOPIC_CONSUME_BY_WHO`, 300). Persists the table every 5 s
//! when it changed and on `PersistOffsets` at shutdown (temp file + rename). Runs on the system
//! arbiter beside the connections: a table update is a map insert.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;

use super::metrics::stats;
use tracing::{error, info};

use super::connection::ReplyTo;
use super::connection::Request;
use super::dispatcher::{Dispatcher, QueryKind, ResetTargets};
use super::mailbox::{CountedRecipient, Mailbox};
use super::processor_table::Processor;
use super::pull_processor::{ForgetResets, MarkReset};
use super::query::forward;
use actormq::consumer_offsets::{ConsumerOffsetTable, OffsetsOf, ResetMarks};
use actormq::ha::slave_sync;
use actormq::protocol::header::{ExtReader, HeaderError};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::StoreError;
use actormq::topic_stats::reset_offset_body;

mod admin;
mod by_group;
mod commits;

pub use admin::SubscriptionSource;
pub use commits::{CommitChecked, GroupsKnown};

/// How often a changed table is written (RocketMQ's `flushConsumerOffsetInterval`).
const PERSIST_INTERVAL: Duration = Duration::from_secs(5);

pub struct OffsetProcessor {
    table: ConsumerOffsetTable,
    path: PathBuf,
    dirty: bool,
    dispatcher: Mailbox<Dispatcher>,
    mailbox: usize,
    /// Keys the queues of a `GET_CONSUME_STATS` answer.
    broker_name: String,
    /// This broker's advertised address (`brokerAddr` of a `GET_BROKER_CONSUME_STATS` answer).
    broker_addr: String,
    /// Asked for the online consumers' subscriptions (set once the `ClientManager` started).
    clients: Option<Mailbox<super::client_manager::ClientManager>>,
    /// Queues reset whose consumer has not pulled since: its commits for them are ignored.
    resets: ResetMarks,
    /// Where resets go to be answered on the next pull (set once the PullProcessor exists).
    pulls: Option<(CountedRecipient<MarkReset>, CountedRecipient<ForgetResets>)>,
    /// What a commit's group and topic are checked against.
    commit_gate: commits::CommitGate,
}

impl OffsetProcessor {
    pub fn new(
        table: ConsumerOffsetTable,
        path: PathBuf,
        dispatcher: Mailbox<Dispatcher>,
        mailbox: usize,
    ) -> Self {
        OffsetProcessor {
            table,
            path,
            dirty: false,
            dispatcher,
            mailbox,
            broker_name: String::new(),
            broker_addr: String::new(),
            clients: None,
            resets: ResetMarks::default(),
            pulls: None,
            commit_gate: Default::default(),
        }
    }

    /// The PullProcessor, which moves a consumer to a reset offset on its next pull.
    pub fn with_pulls(
        mut self,
        mark: CountedRecipient<MarkReset>,
        forget: CountedRecipient<ForgetResets>,
    ) -> Self {
        self.pulls = Some((mark, forget));
        self
    }

    /// Stores a consumer's offset unless an admin reset of that queue is still waiting for it.
    fn commit(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        if self.resets.is_empty() || self.resets.get(group, topic, queue_id).is_none() {
            self.dirty |= self.table.commit(group, topic, queue_id, offset);
        }
    }

    /// Commits the reset offsets, marks them here and hands them to the PullProcessor.
    fn assign_resets(&mut self, group: &str, topic: &str, offsets: &[(i32, i64)]) {
        for &(queue_id, offset) in offsets {
            self.dirty |= self.table.commit(group, topic, queue_id, offset);
            self.resets.mark(group, topic, queue_id, offset);
        }
        if let Some((mark, _)) = &self.pulls {
            mark.do_send(MarkReset {
                group: group.to_string(),
                topic: topic.to_string(),
                offsets: offsets.to_vec(),
            });
        }
        info!(group, topic, ?offsets, "consumer offsets reset");
    }

    /// This broker's name (`broker.name`), for `GET_CONSUME_STATS`.
    pub fn with_broker_name(mut self, name: &str) -> Self {
        self.broker_name = name.to_string();
        self
    }

    /// This broker's advertised address, for `GET_BROKER_CONSUME_STATS`.
    pub fn with_broker_addr(mut self, addr: &str) -> Self {
        self.broker_addr = addr.to_string();
        self
    }

    fn persist(&mut self) -> Result<(), StoreError> {
        if self.dirty {
            self.table.save(&self.path)?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Answers 14 here; returns the query to forward for 29 / 30 / 31.
    fn handle_request(
        &mut self,
        cmd: &RemotingCommand,
    ) -> Result<Result<RemotingCommand, QueryKind>, HeaderError> {
        let h = ExtReader::for_request(cmd);
        let topic = h.str("topic")?;
        let queue_id: i32 = h.parse("queueId")?;
        Ok(match cmd.code {
            request_code::QUERY_CONSUMER_OFFSET => {
                let group = h.str("consumerGroup")?;
                // A stored negative offset counts as none (Java: `offset >= 0`, else the rules
                // below); ali-ons commits -1 for a queue at offset 0.
                match self.table.get(group, topic, queue_id).filter(|o| *o >= 0) {
                    Some(offset) => Ok(cmd
                        .response_to(response_code::SUCCESS, None)
                        .with_ext("offset", offset)),
                    // RocketMQ 5 clients send `setZeroIfNotFound=false`: they pick their start
                    // themselves (consumeFromWhere).
                    None if h.opt_java_bool("setZeroIfNotFound") == Some(false) => Ok(cmd
                        .response_to(
                            response_code::QUERY_NOT_FOUND,
                            Some(
                                "Not found, do not set to zero, maybe this group boot first".into(),
                            ),
                        )),
                    // Older clients: 0 if the queue still starts at 0 and that is in memory.
                    None => Err(QueryKind::ZeroIfInMemory {
                        topic: topic.to_string(),
                        queue_id,
                    }),
                }
            }
            request_code::GET_MAX_OFFSET => Err(QueryKind::MaxOffset {
                topic: topic.to_string(),
                queue_id,
            }),
            request_code::GET_MIN_OFFSET => Err(QueryKind::MinOffset {
                topic: topic.to_string(),
                queue_id,
            }),
            _ => Err(QueryKind::SearchOffset {
                topic: topic.to_string(),
                queue_id,
                timestamp: h.parse("timestamp")?,
                upper: h
                    .opt_str("boundaryType")
                    .is_some_and(|b| b.eq_ignore_ascii_case("UPPER")),
            }),
        })
    }
}

impl Actor for OffsetProcessor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
        ctx.run_interval(PERSIST_INTERVAL, |act, _| {
            if let Err(e) = act.persist() {
                error!(error = %e, "persisting consumer offsets failed; will retry");
            }
        });
    }
}

/// The request codes connections hand this actor.
impl Processor for OffsetProcessor {
    const CODES: &'static [i32] = &[
        request_code::QUERY_CONSUMER_OFFSET,
        request_code::UPDATE_CONSUMER_OFFSET,
        request_code::SEARCH_OFFSET_BY_TIMESTAMP,
        request_code::GET_MAX_OFFSET,
        request_code::GET_MIN_OFFSET,
        request_code::GET_ALL_CONSUMER_OFFSET,
        request_code::GET_CONSUME_STATS,
        request_code::GET_BROKER_CONSUME_STATS,
        request_code::QUERY_CONSUME_QUEUE,
        request_code::CLONE_GROUP_OFFSET,
        request_code::QUERY_CONSUME_TIME_SPAN,
        request_code::QUERY_TOPICS_BY_CONSUMER,
    ];
}

impl Handler<Request> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, req: Request, ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        match req.cmd.code {
            request_code::GET_CONSUME_STATS => return self.consume_stats(req),
            request_code::GET_BROKER_CONSUME_STATS => return self.broker_consume_stats(req, ctx),
            request_code::QUERY_CONSUME_QUEUE => return self.query_consume_queue(req, ctx),
            request_code::CLONE_GROUP_OFFSET => return self.clone_group_offset(req, ctx),
            request_code::QUERY_CONSUME_TIME_SPAN => return self.consume_time_span(req),
            request_code::UPDATE_CONSUMER_OFFSET => return self.update_offset(req, false),
            request_code::QUERY_TOPICS_BY_CONSUMER => {
                return req.reply.send(self.topics_by_consumer(&req.cmd))
            }
            _ => {}
        }
        if req.cmd.code == request_code::GET_ALL_CONSUMER_OFFSET {
            // `ConsumerOffsetManager.encode()`: the table as `consumerOffset.json` has it (a
            // slave's metadata sync reads it).
            let body = serde_json::to_vec(&self.table).unwrap_or_default();
            let response = req.cmd.response_to(response_code::SUCCESS, None);
            return req.reply.send(response.with_body(body.into()));
        }
        match self.handle_request(&req.cmd) {
            Ok(Ok(response)) => req.reply.send(response),
            Ok(Err(kind)) => forward(&self.dispatcher, kind, &req.cmd, req.reply),
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                req.reply.send(response);
            }
        }
    }
}

/// A pull with the COMMIT_OFFSET flag carried the consumer's offset (stored if the topic exists).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CommitOffset {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
    pub offset: i64,
}

impl Handler<CommitOffset> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, m: CommitOffset, _ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        // A pull of a topic the broker does not have is refused (TOPIC_NOT_EXIST, by the
        // Dispatcher) and stores nothing, as Java checks the topic first: a consumer still
        // pulling after its topic was deleted does not bring the offsets back. The group passed
        // the pull's checks (created on first use or known).
        if self.commit_gate.has_topic(&m.topic) {
            self.commit(&m.group, &m.topic, m.queue_id, m.offset);
        }
    }
}

/// `INVOKE_BROKER_TO_RESET_OFFSET`, checked by the `SendProcessor` (topic and group exist, not a
/// slave): the offsets are computed by the `Dispatcher`, committed and marked here, and answered
/// (`ResetOffsetBody`) through `reply`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResetOffsets {
    pub group: String,
    pub targets: ResetTargets,
    /// The prepared SUCCESS response.
    pub response: RemotingCommand,
    pub reply: ReplyTo,
}

impl Handler<ResetOffsets> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, m: ResetOffsets, ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        let ResetOffsets {
            group,
            targets,
            mut response,
            reply,
        } = m;
        let topic = targets.topic.clone();
        self.dispatcher
            .send(targets)
            .into_actor(self)
            .map(move |answer, act, _| {
                match answer {
                    Ok(Ok(offsets)) => {
                        act.assign_resets(&group, &topic, &offsets);
                        let body = reset_offset_body(&act.broker_name, &topic, &offsets);
                        response = response.with_body(body.into());
                    }
                    Ok(Err(remark)) => {
                        response.code = response_code::SYSTEM_ERROR;
                        response.remark = Some(remark);
                    }
                    Err(_) => {
                        response.code = response_code::SYSTEM_ERROR;
                        response.remark = Some("the store is shutting down".into());
                    }
                }
                reply.send(response);
            })
            .spawn(ctx);
    }
}

/// The `PullProcessor` moved the group's consumer to the reset offset of this queue: its commits
/// count again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResetTaken {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
}

impl Handler<ResetTaken> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, m: ResetTaken, _ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        self.resets.take(&m.group, &m.topic, m.queue_id);
    }
}

/// `DELETE_SUBSCRIPTIONGROUP` with `cleanOffset` (every offset of the group, Java's
/// `removeOffset`) or `DELETE_TOPIC_IN_BROKER` (every group's offsets on the topic, Java's
/// `cleanOffsetByTopic`): the offsets go, and any reset waiting for them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoveOffsets(pub OffsetsOf);

impl Handler<RemoveOffsets> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, RemoveOffsets(of): RemoveOffsets, _ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        self.resets.remove(&of);
        if let Some((_, forget)) = &self.pulls {
            forget.do_send(ForgetResets(of.clone()));
        }
        if self.table.remove(&of) {
            info!(of = ?of, "consumer offsets removed");
            self.dirty = true;
        }
    }
}

/// The consumer groups with committed offsets on `topic` (Java's `whichGroupByTopic`): the
/// `ClientManager` asks, for `QUERY_TOPIC_CONSUME_BY_WHO` (300).
#[derive(Message)]
#[rtype(result = "BTreeSet<String>")]
pub struct GroupsWithOffsets {
    pub topic: String,
}

impl Handler<GroupsWithOffsets> for OffsetProcessor {
    type Result = MessageResult<GroupsWithOffsets>;

    fn handle(&mut self, m: GroupsWithOffsets, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().offset_processor.handling();
        MessageResult(self.table.groups_of_topic(&m.topic))
    }
}

/// A slave's metadata sync: the master's offsets overwrite this table's (per `topic@group`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ApplyMasterOffsets(pub ConsumerOffsetTable);

impl Handler<ApplyMasterOffsets> for OffsetProcessor {
    type Result = ();

    fn handle(&mut self, ApplyMasterOffsets(master): ApplyMasterOffsets, _ctx: &mut Context<Self>) {
        let _timer = stats().offset_processor.handling();
        if slave_sync::merge_offsets(&mut self.table, master) {
            self.dirty = true;
            if let Err(e) = self.persist() {
                error!(error = %e, "persisting the master's consumer offsets failed; will retry");
            }
        }
    }
}

/// Shutdown: write the table now if it changed.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct PersistOffsets;

impl Handler<PersistOffsets> for OffsetProcessor {
    type Result = Result<(), StoreError>;

    fn handle(&mut self, _: PersistOffsets, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().offset_processor.handling();
        self.persist()?;
        info!(path = %self.path.display(), "consumer offsets persisted");
        Ok(())
    }
}
