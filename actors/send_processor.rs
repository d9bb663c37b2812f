//! `SendProcessor`: the send side (RocketMQ's `SendMessageProcessor`) for `SEND_MESSAGE` (10),
//! `SEND_MESSAGE_V2` (310), `SEND_BATCH_MESSAGE` (320), `CONSUMER_SEND_MSG_BACK` (36) and
//! `END_TRANSACTION` (37, `end_transaction.rs`).
//!
//! Owns the topic table (auto-creating topics, the topic-admin codes 17/18/21/215, persisting
//! `config/topics.json`) and the consumer-group table (`config/subscriptionGroup.json`; the
//! group-admin codes 200/201/207/225/352), which a send-back and a send to `%RETRY%<group>`
//! need together with the topics. A send-back asks the
//! `Dispatcher` for the original record (`LookMessage`, answered here with `MessageLooked`); the
//! decisions and the new record are `actormq::retry`, and the record is appended like any send. Turning a request into records (queue choice, broker-added properties,
//! record encoding, tag codes) is `actormq::send::SendPreparer`, pure and unit-tested; this actor
//! only routes: it sends `Append` to the `CommitLogWriter` with a completion that builds the
//! response (`actormq::send::send_response`) and hands it straight to the connection, and a new
//! topic-table snapshot to the `Dispatcher` and name server whenever a topic is created. Rejected
//! input is answered here and never stored.

use std::path::PathBuf;

use actix::prelude::*;
use tracing::{debug, info, warn};

use super::client_manager::{ClientManager, QuietGroups};
use super::commit_log_writer::{Append, AppendDone, AppendError, CommitLogWriter};
use super::connection::{ReplyTo, Request};
use super::dispatcher::{
    ClearTopic, Dispatcher, LookMessage, MessageLooked, ResetTargets, TopicsChanged,
};
use super::mailbox::{CountedRecipient, Mailbox};
use super::metrics::stats;
use super::offset_processor::{GroupsKnown, OffsetProcessor, RemoveOffsets, ResetOffsets};
use super::processor_table::Processor;
use super::pull_processor::GroupsChanged;
use super::retention::OutOfSpace;
use super::transaction_checker::TransactionChecker;
use actormq::broker_permission::BrokerPermission;
use actormq::config::{BrokerIdentity, BrokerRole};
use actormq::consumer_offsets::OffsetsOf;
use actormq::ha::slave_sync;
use actormq::protocol::header::{ExtReader, HeaderError};
use actormq::protocol::{
    request_code, response_code, RemotingCommand, OVERLOAD_REMARK, REJECT_REQUEST_REMARK,
};
use actormq::retry::{self, SendBackHeader, SendBackPlan, SendBackTarget};
use actormq::schedule::{self, DelayLevels};
use actormq::send::{
    ensure_topic, send_response, topic_not_persisted, Hosts, Prepared, Refusal, SendPreparer,
    TraceSettings,
};
use actormq::subscription_group::{
    validate_group_name, PullGate, SubscriptionGroupConfig, SubscriptionGroupTable,
};
use actormq::topic::{validate_topic_name, TopicConfig, TopicTable};

mod end_transaction;
mod lists;
mod offsets;
mod reply;
mod send_back;
mod tables;

pub use offsets::CheckCommit;
pub use tables::{ApplyMasterTables, EnsureGroup, EnsureRetryTopic, SetBrokerPermission};

/// Space a failed write of `topics.json` is taken to have needed (its temp copy; a table rarely
/// exceeds this).
const TOPIC_TABLE_SPACE: u64 = 1 << 20;

/// The tables the `SendProcessor` owns, and where each is persisted.
pub struct SendTables {
    pub topics: TopicTable,
    pub topics_path: PathBuf,
    pub groups: SubscriptionGroupTable,
    pub groups_path: PathBuf,
}

pub struct SendProcessor {
    writer: Mailbox<CommitLogWriter>,
    /// Looks originals up for send-backs.
    dispatcher: Mailbox<Dispatcher>,
    topics: TopicTable,
    topics_path: PathBuf,
    groups: SubscriptionGroupTable,
    groups_path: PathBuf,
    auto_create_group: bool,
    /// Round robin over a group's retry queues.
    send_backs: u32,
    preparer: SendPreparer,
    /// A send-back's retry is scheduled by its delay level like any delayed message.
    delay_levels: DelayLevels,
    mailbox: usize,
    /// Told the new table whenever a topic is created (dispatcher, name server).
    topics_changed: Vec<CountedRecipient<TopicsChanged>>,
    /// Told when the topic table cannot be written for lack of space (Retention).
    disk: Option<CountedRecipient<OutOfSpace>>,
    /// A slave refuses sends (`[cluster] role = "SLAVE"`).
    slave: bool,
    /// Hears of every transaction half stored and ended (masters; set once it is started).
    checker: Option<Mailbox<TransactionChecker>>,
    /// The store host every record this broker writes names (`cluster::advertise::store_host`).
    store_host: std::net::SocketAddr,
    /// Owns consumer offsets: a deleted group's offsets and offset resets go there.
    offsets: Option<Mailbox<OffsetProcessor>>,
    /// Owns the clients' connections: where a reply to a request message is pushed.
    clients: Option<Mailbox<ClientManager>>,
    /// `brokerPermission`: registered with the topics (`TopicsChanged`), checked on send-backs
    /// here and on sends by the preparer.
    permission: BrokerPermission,
    /// `MSG_REGION` and `TRACE_ON` of every send answer.
    trace: TraceSettings,
    /// With every change of the group table, the pull path's snapshot of it goes there, and the
    /// `OffsetProcessor` gets its names; both name this actor (`me`), where pulls announce unknown
    /// groups and commits of unknown groups are checked.
    group_snapshots: Option<(CountedRecipient<GroupsChanged>, Mailbox<SendProcessor>)>,
}

impl SendProcessor {
    pub fn new(
        writer: Mailbox<CommitLogWriter>,
        dispatcher: Mailbox<Dispatcher>,
        tables: SendTables,
        broker: BrokerIdentity,
        store_host: std::net::SocketAddr,
        mailbox: usize,
        topics_changed: Vec<CountedRecipient<TopicsChanged>>,
    ) -> Self {
        SendProcessor {
            writer,
            dispatcher,
            topics: tables.topics,
            topics_path: tables.topics_path,
            groups: tables.groups,
            groups_path: tables.groups_path,
            auto_create_group: broker.auto_create_subscription_group,
            permission: broker.permission,
            send_backs: 0,
            delay_levels: broker.message_delay_level.clone(),
            trace: TraceSettings::new(&broker),
            preparer: SendPreparer::new(broker, store_host.ip()),
            mailbox,
            topics_changed,
            disk: None,
            slave: false,
            checker: None,
            store_host,
            offsets: None,
            clients: None,
            group_snapshots: None,
        }
    }

    /// The `ClientManager`, for pushing replies (324 / 325) to their requesters.
    pub fn with_clients(mut self, clients: Mailbox<ClientManager>) -> Self {
        self.clients = Some(clients);
        self
    }

    /// The `OffsetProcessor`, for `DELETE_SUBSCRIPTIONGROUP` and `INVOKE_BROKER_TO_RESET_OFFSET`.
    pub fn with_offsets(mut self, offsets: Mailbox<OffsetProcessor>) -> Self {
        self.offsets = Some(offsets);
        self
    }

    /// Where a topic table that cannot be written for lack of space is reported.
    pub fn with_disk(mut self, disk: CountedRecipient<OutOfSpace>) -> Self {
        self.disk = Some(disk);
        self
    }

    /// The codes a slave refuses (Java 5.x: 10, 310, 320, 36).
    const SEND_CODES: &'static [i32] = &[
        request_code::SEND_MESSAGE,
        request_code::SEND_MESSAGE_V2,
        request_code::SEND_BATCH_MESSAGE,
        request_code::CONSUMER_SEND_MSG_BACK,
        request_code::SEND_REPLY_MESSAGE,
        request_code::SEND_REPLY_MESSAGE_V2,
    ];

    /// The broker's role: a SYNC_MASTER's sends wait for a slave, a slave refuses sends.
    pub fn with_role(mut self, role: BrokerRole) -> Self {
        self.preparer = self
            .preparer
            .with_sync_master(role == BrokerRole::SyncMaster);
        self.slave = role == BrokerRole::Slave;
        self
    }

    /// A master's transactions: halves are reported to `checker`.
    pub fn with_transactions(mut self, checker: Mailbox<TransactionChecker>) -> Self {
        self.checker = Some(checker);
        self
    }

    /// Timer messages follow `rules` (`[timer]`).
    pub fn with_timer_rules(mut self, rules: actormq::timer::TimerRules) -> Self {
        self.preparer = self.preparer.with_timer_rules(rules);
        self
    }

    /// Adds a topic, persists the table and tells the actors that keep a snapshot of it.
    fn create_topic(&mut self, config: TopicConfig) {
        self.topics.insert(config);
        self.publish_topics();
    }

    /// Persists the table and tells the actors that keep a snapshot of it.
    fn publish_topics(&mut self) {
        if let Err(e) = self.topics.save(&self.topics_path) {
            warn!(error = %e, "persisting the topic table failed");
        }
        self.notify_topics();
    }

    fn notify_topics(&self) {
        let snapshot = std::sync::Arc::new(self.topics.clone());
        for r in &self.topics_changed {
            r.do_send(TopicsChanged {
                topics: snapshot.clone(),
                permission: self.permission,
            });
        }
    }

    /// Makes topics auto-created for a send durable before anything may be acknowledged: the
    /// table is written first (temp file, fsync, rename); if it cannot be, the topics are taken
    /// out again and the send refused, and a full disk makes the whole store full.
    fn persist_created(&mut self, created: &[String]) -> Result<(), Refusal> {
        if let Err(e) = self.topics.persist_created(&self.topics_path, created) {
            warn!(error = %e, topics = ?created, "topic not created: the topic table could not be persisted");
            if let Some(disk) = self.disk.as_ref().filter(|_| e.is_out_of_space()) {
                let needed = TOPIC_TABLE_SPACE;
                disk.do_send(OutOfSpace { needed });
            }
            let dir = self.topics_path.parent().unwrap_or(&self.topics_path);
            return Err(topic_not_persisted(dir, &e));
        }
        self.notify_topics();
        Ok(())
    }

    /// Hands records to the writer; a full or closed mailbox completes the append with `Busy`.
    fn append(&self, append: Append) {
        if let Err(SendError::Full(a) | SendError::Closed(a)) = self.writer.try_send(append) {
            (a.done)(Err(AppendError::Busy));
        }
    }

    /// Appends one record the broker made itself (`Prepared::single`: a send-back's retry, a
    /// transaction's commit or op); `done` gets the outcome.
    fn append_one(&self, prepared: Prepared, done: AppendDone) {
        self.append(Append {
            wait_slave: false,
            topic: prepared.topic,
            queue_id: prepared.queue_id,
            records: prepared.records,
            count: 1,
            tags_codes: prepared.tags_codes,
            done,
        });
    }

    /// `createTopicInSendMessageBackMethod`: creates `name` unless it exists, persisting and
    /// publishing the table (refused, and not created, if it cannot be persisted).
    fn ensure_topic(
        &mut self,
        name: &str,
        queue_nums: i32,
        sys_flag: i32,
    ) -> Result<&TopicConfig, Refusal> {
        if ensure_topic(&mut self.topics, name, queue_nums, sys_flag) {
            self.persist_created(&[name.to_string()])?;
        }
        self.topics.get(name).ok_or_else(|| {
            let remark = format!("topic[{name}] could not be created");
            (response_code::SYSTEM_ERROR, remark)
        })
    }

    /// The group's config and its `%RETRY%` topic, created if absent with the group's
    /// `retryQueueNums` queues, for a send-back or a consumer's heartbeat; `None` when the group
    /// has no retry queues (`retryQueueNums <= 0`: send-backs are acknowledged and dropped).
    fn retry_topic_of(
        &mut self,
        group: &str,
        unit_mode: bool,
    ) -> Result<Option<(SubscriptionGroupConfig, TopicConfig)>, Refusal> {
        let config = self.group(group)?;
        if !self.permission.writable() {
            let ip = self.store_host.ip();
            let remark = format!("the broker[{ip}] sending message is forbidden");
            return Err((response_code::NO_PERMISSION, remark));
        }
        if config.retry_queue_nums <= 0 {
            return Ok(None);
        }
        let flag = unit_mode.then_some(retry::TOPIC_SYS_FLAG_UNIT_SUB);
        let name = retry::retry_topic(group);
        let topic = self.ensure_topic(&name, config.retry_queue_nums, flag.unwrap_or(0))?;
        Ok(Some((config, topic.clone())))
    }
}

impl Actor for SendProcessor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
        self.publish_groups();
    }
}

/// The request codes connections hand this actor.
impl Processor for SendProcessor {
    const CODES: &'static [i32] = &[
        request_code::SEND_MESSAGE,
        request_code::SEND_MESSAGE_V2,
        request_code::SEND_BATCH_MESSAGE,
        request_code::UPDATE_AND_CREATE_TOPIC,
        request_code::UPDATE_AND_CREATE_TOPIC_LIST,
        request_code::GET_ALL_TOPIC_CONFIG,
        request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST,
        request_code::GET_SUBSCRIPTIONGROUP_CONFIG,
        request_code::DELETE_TOPIC_IN_BROKER,
        request_code::DELETE_SUBSCRIPTIONGROUP,
        request_code::INVOKE_BROKER_TO_RESET_OFFSET,
        request_code::CONSUMER_SEND_MSG_BACK,
        request_code::END_TRANSACTION,
        request_code::SEND_REPLY_MESSAGE,
        request_code::SEND_REPLY_MESSAGE_V2,
    ];
}

impl Handler<Request> for SendProcessor {
    type Result = ();

    fn handle(&mut self, req: Request, ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        if self.slave && Self::SEND_CODES.contains(&req.cmd.code) {
            // Java 5.x's `SendMessageProcessor.rejectRequest` on a slave: the client retries
            // another broker (its master).
            let response = req.cmd.response_to(
                response_code::SYSTEM_BUSY,
                Some(REJECT_REQUEST_REMARK.into()),
            );
            return req.reply.send(response);
        }
        if req.cmd.code == request_code::CONSUMER_SEND_MSG_BACK {
            return self.send_back(req, ctx);
        }
        if req.cmd.code == request_code::END_TRANSACTION {
            return self.end_transaction(req, ctx);
        }
        if req.cmd.code == request_code::INVOKE_BROKER_TO_RESET_OFFSET {
            return self.reset_offset(req);
        }
        if actormq::reply::is_reply(req.cmd.code) {
            return self.reply(req, ctx);
        }
        if let Some(response) = self.topic_admin(&req.cmd) {
            req.reply.send(response);
            return;
        }
        self.send(req, None);
    }
}

impl SendProcessor {
    /// A send (10, 310, 320, or a reply's store): prepared, appended, answered. `push_failure`
    /// (a reply that could not be pushed to its requester) turns the answer into SYSTEM_ERROR
    /// with that remark, as Java answers whatever the store did.
    fn send(&mut self, req: Request, push_failure: Option<String>) {
        let hosts = Hosts {
            born: req.peer,
            store: self.store_host,
        };
        let prepared =
            match self
                .preparer
                .prepare(&req.cmd, hosts, &mut self.topics, &mut self.groups)
            {
                Ok(p) => p,
                Err((code, remark)) => {
                    let response = req.cmd.response_to(code, Some(remark));
                    req.reply.send(response);
                    return;
                }
            };
        if !prepared.created_topics.is_empty() {
            if let Err((code, remark)) = self.persist_created(&prepared.created_topics) {
                req.reply.send(req.cmd.response_to(code, Some(remark)));
                return;
            }
        }
        if prepared.created_group {
            self.save_groups();
        }
        let half = prepared.half.map(|group| {
            if let Err(refusal) = self.ensure_topic(actormq::transaction::HALF_TOPIC, 1, 0) {
                warn!(remark = %refusal.1, "transaction half topic could not be created");
            }
            self.report_half(group)
        });
        let response = req.cmd.response_to(response_code::SUCCESS, None);
        let (reply, store_host, queue_id) = (req.reply, self.store_host, prepared.reply_queue_id);
        let (sizes, uniq_keys, trace) = (prepared.sizes, prepared.uniq_keys, self.trace.clone());
        let count = sizes.len() as u32;
        let append = Append {
            wait_slave: prepared.wait_slave,
            topic: prepared.topic,
            queue_id: prepared.queue_id,
            records: prepared.records,
            count,
            tags_codes: prepared.tags_codes,
            done: Box::new(move |outcome| {
                if let Some(report) = half {
                    report(&outcome);
                }
                let mut response = send_response(
                    response, outcome, store_host, queue_id, &sizes, &uniq_keys, &trace,
                );
                if let Some(remark) = push_failure {
                    (response.code, response.remark) = (response_code::SYSTEM_ERROR, Some(remark));
                }
                reply.send(response)
            }),
        };
        self.append(append);
    }
}

fn refuse(reply: ReplyTo, mut response: RemotingCommand, (code, remark): Refusal) {
    (response.code, response.remark) = (code, Some(remark));
    reply.send(response);
}
