//! `PullProcessor`: the read side of the request table (RocketMQ's `PullMessageProcessor`, its
//! `QueryMessageProcessor`, and the record and topic lookups of its `AdminBrokerProcessor`):
//! `PULL_MESSAGE` (11), `LITE_PULL_MESSAGE` (361), `CHECK_CLIENT_CONFIG` (46, whether an SQL92
//! subscription is served), `VIEW_MESSAGE_BY_ID` (33), `GET_TOPIC_CONFIG`
//! (351), `GET_TOPIC_STATS_INFO` (202, `mqadmin topicStatus`), `QUERY_MESSAGE` (12, lookup by key in
//! the index) and `GET_EARLIEST_MSG_STORETIME` (32).
//!
//! Owns nothing but the header parsing: it turns each `Request` from a connection into a typed
//! `Query` and hands it, with the prepared response and the connection's `ReplyTo`, to the
//! `Dispatcher`, which reads the consume queues and the commit log, parks long polls, and answers.
//! A pull with the COMMIT_OFFSET flag also sends `CommitOffset` to the `OffsetProcessor`. It also
//! holds the offset resets (`INVOKE_BROKER_TO_RESET_OFFSET`) no pull has seen yet ([`MarkReset`],
//! from the `OffsetProcessor`): the next pull of such a queue by that group is answered
//! PULL_OFFSET_MOVED to the reset offset (Java 5.2+'s server-side reset). A broker without read
//! permission (`brokerPermission`, from `TopicsChanged`) refuses pulls here, a pull's consumer
//! group is checked against the `SendProcessor`'s snapshot of the group table (`GroupsChanged`;
//! `checks.rs`), and a pull's subscription becomes its filter (`actormq::subscription_filter`: TAG, or SQL92 with
//! `broker.enable_property_filter`, compiled once per expression). Runs on the
//! system arbiter beside the connections, so parsing costs no thread hop; a full dispatcher mailbox
//! answers `SYSTEM_BUSY` at once.

use std::time::Duration;

use actix::prelude::*;
use tracing::debug;

use super::metrics::stats;

use super::connection::Request;
use super::dispatcher::{
    Dispatcher, PullQuery, QueryKind, TagFilter, TopicsChanged, MAX_PULL_BYTES,
};
use super::mailbox::{CountedRecipient, Mailbox};
use super::offset_processor::{CommitOffset, OffsetProcessor, ResetTaken};
use super::processor_table::Processor;
use super::query::forward;
use super::send_processor::EnsureGroup;
use actormq::broker_permission::BrokerPermission;
use actormq::consumer_offsets::{OffsetsOf, ResetMarks};
use actormq::protocol::header::{ExtReader, HeaderError};
use actormq::protocol::{pull_sys_flag, request_code, response_code, RemotingCommand};
use actormq::store::index::{KeyLookup, DEFAULT_QUERY_MAX_NUM, UNIQUE_MSG_QUERY_FLAG};
use actormq::subscription_filter::{
    check_client_config, is_tag_type, pull_filter, HeartbeatSubscription, PullSubscription,
    Refusal, RegisteredFilters, SelectorCache,
};
use actormq::subscription_group::{GroupVerdict, PullGate};

mod checks;
use checks::{is_pull, own_subscription};

pub struct PullProcessor {
    dispatcher: Mailbox<Dispatcher>,
    offsets: Mailbox<OffsetProcessor>,
    mailbox: usize,
    /// Keys the queues of a `GET_TOPIC_STATS_INFO` answer.
    broker_name: String,
    /// Resets waiting for their group's next pull of the queue; almost always empty.
    resets: ResetMarks,
    /// `brokerPermission` (kept current by `TopicsChanged`): without read, pulls are refused.
    permission: BrokerPermission,
    /// What those refusals name (Java: `brokerIP1`).
    broker_ip: String,
    /// `broker.enable_property_filter`: SQL92 subscriptions are served.
    property_filter: bool,
    /// Compiled SQL92 selectors, by text.
    selectors: SelectorCache,
    /// What consumer groups registered with their heartbeats (`RegisterFilters`): subscriptions
    /// (SQL92 selectors compiled) and which groups consume by broadcast.
    registered: RegisteredFilters,
    /// The group table's snapshot (`GroupsChanged`; until the first, every group is served), and
    /// where unknown groups are announced for creation.
    groups: Option<(PullGate, CountedRecipient<EnsureGroup>)>,
}

impl PullProcessor {
    pub fn new(
        dispatcher: Mailbox<Dispatcher>,
        offsets: Mailbox<OffsetProcessor>,
        mailbox: usize,
    ) -> Self {
        PullProcessor {
            dispatcher,
            offsets,
            mailbox,
            broker_name: String::new(),
            resets: ResetMarks::default(),
            permission: BrokerPermission::default(),
            broker_ip: String::new(),
            property_filter: false,
            selectors: SelectorCache::default(),
            registered: RegisteredFilters::default(),
            groups: None,
        }
    }

    /// `broker.enable_property_filter`: serve SQL92 subscriptions.
    pub fn with_property_filter(mut self, on: bool) -> Self {
        self.property_filter = on;
        self
    }

    /// This broker's name (`broker.name`, for `GET_TOPIC_STATS_INFO`), advertised IP and
    /// permission at start.
    pub fn with_broker(mut self, name: &str, ip: String, permission: BrokerPermission) -> Self {
        self.broker_name = name.to_string();
        self.broker_ip = ip;
        self.permission = permission;
        self
    }

    /// A pull's filter, from its `expressionType` and `subscription` (`None` for other codes); a
    /// subscription the broker does not serve is refused before anything else happens, as Java.
    fn subscription(&mut self, cmd: &RemotingCommand) -> Result<Option<TagFilter>, Refusal> {
        if !is_pull(cmd.code) {
            return Ok(None);
        }
        let h = ExtReader::for_request(cmd);
        let kind = h.opt_str("expressionType");
        let tag = is_tag_type(kind);
        // The common cases, kept to the header lookups they took before registrations: nothing
        // registered that could override a TAG pull's own expression, or a lite pull's own one.
        if tag && self.registered.is_empty() {
            return Ok(Some(TagFilter::parse(h.opt_str("subscription"))));
        }
        let own = own_subscription(cmd);
        if tag && own {
            return Ok(Some(TagFilter::parse(h.opt_str("subscription"))));
        }
        let pull = PullSubscription {
            group: h.opt_str("consumerGroup").unwrap_or_default(),
            topic: h.opt_str("topic").unwrap_or_default(),
            expression_type: kind,
            expression: h.opt_str("subscription"),
            sub_version: h
                .opt_str("subVersion")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            own_subscription: own,
        };
        let (on, selectors) = (self.property_filter, &mut self.selectors);
        pull_filter(&pull, on, selectors, &self.registered).map(Some)
    }

    /// Parses the request into a query (a pull with `filter`, of `group`, its `consumerGroup`);
    /// a pull with COMMIT_OFFSET also stores the offset.
    fn query(
        &mut self,
        cmd: &RemotingCommand,
        group: Option<&str>,
        filter: Option<TagFilter>,
    ) -> Result<QueryKind, HeaderError> {
        let h = ExtReader::for_request(cmd);
        Ok(match cmd.code {
            request_code::VIEW_MESSAGE_BY_ID => QueryKind::ViewMessage {
                offset: h.parse("offset")?,
            },
            request_code::GET_TOPIC_CONFIG => QueryKind::TopicConfig {
                topic: h.str("topic")?.to_string(),
            },
            request_code::GET_TOPIC_STATS_INFO => QueryKind::TopicStats {
                topic: h.str("topic")?.to_string(),
                broker_name: self.broker_name.clone(),
            },
            request_code::QUERY_MESSAGE => {
                let (topic, key) = (h.str("topic")?, h.str("key")?);
                let mut max_num: i32 = h.parse("maxNum")?;
                let (begin, end) = (h.parse("beginTimestamp")?, h.parse("endTimestamp")?);
                if h.opt_str(UNIQUE_MSG_QUERY_FLAG) == Some("true") {
                    max_num = DEFAULT_QUERY_MAX_NUM;
                }
                QueryKind::ByKey(KeyLookup {
                    topic: topic.to_string(),
                    key: key.to_string(),
                    max_num,
                    begin,
                    end,
                })
            }
            request_code::GET_EARLIEST_MSG_STORETIME => QueryKind::EarliestStoreTime {
                topic: h.str("topic")?.to_string(),
                queue_id: h.parse("queueId")?,
            },
            _ => {
                // Missing: the lookup again, for Java's refusal of a missing field.
                let group = match group {
                    Some(group) => group,
                    None => h.str("consumerGroup")?,
                };
                let topic = h.str("topic")?.to_string();
                let queue_id: i32 = h.parse("queueId")?;
                let offset: i64 = h.parse("queueOffset")?;
                let max_msgs: i32 = h.parse("maxMsgNums")?;
                let sys_flag: i32 = h.parse("sysFlag")?;
                let commit_offset: i64 = h.opt_parse("commitOffset")?.unwrap_or(-1);
                let suspend_ms: i64 = h.opt_parse("suspendTimeoutMillis")?.unwrap_or(0);
                let max_bytes: Option<i32> = h.opt_parse("maxMsgBytes")?;
                let reset_to = self.take_reset(group, &topic, queue_id);
                // While a reset waits, the consumer's offset is from before it: not stored.
                if reset_to.is_none()
                    && sys_flag & pull_sys_flag::COMMIT_OFFSET != 0
                    && commit_offset >= 0
                {
                    self.offsets.do_send(CommitOffset {
                        group: group.to_string(),
                        topic: topic.clone(),
                        queue_id,
                        offset: commit_offset,
                    });
                }
                let suspend = (sys_flag & pull_sys_flag::SUSPEND != 0 && suspend_ms > 0)
                    .then(|| Duration::from_millis(suspend_ms as u64));
                QueryKind::Pull(PullQuery {
                    topic,
                    group: group.to_string(),
                    queue_id,
                    offset,
                    max_msgs: max_msgs.max(1) as usize,
                    max_bytes: max_bytes
                        .filter(|b| *b > 0)
                        .map_or(MAX_PULL_BYTES, |b| b as usize),
                    filter: filter.unwrap_or(TagFilter::All),
                    suspend,
                    // A consumer already at the reset offset needs no move.
                    reset_to: reset_to.filter(|to| *to != offset),
                })
            }
        })
    }

    /// The reset waiting for `group` on the queue, taken: the `OffsetProcessor` is told, so it
    /// stores the consumer's commits for the queue again.
    fn take_reset(&mut self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        if self.resets.is_empty() {
            return None;
        }
        let to = self.resets.take(group, topic, queue_id)?;
        self.offsets.do_send(ResetTaken {
            group: group.to_string(),
            topic: topic.to_string(),
            queue_id,
        });
        Some(to)
    }
}

impl Actor for PullProcessor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

/// The request codes connections hand this actor.
impl Processor for PullProcessor {
    const CODES: &'static [i32] = &[
        request_code::PULL_MESSAGE,
        request_code::LITE_PULL_MESSAGE,
        request_code::CHECK_CLIENT_CONFIG,
        request_code::VIEW_MESSAGE_BY_ID,
        request_code::GET_TOPIC_CONFIG,
        request_code::GET_TOPIC_STATS_INFO,
        request_code::QUERY_MESSAGE,
        request_code::GET_EARLIEST_MSG_STORETIME,
    ];
}

impl Handler<Request> for PullProcessor {
    type Result = ();

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) {
        let _timer = stats().pull_processor.handling();
        // Read once: the group check and the pull's query both need it.
        let group = is_pull(req.cmd.code)
            .then(|| req.cmd.ext("consumerGroup"))
            .flatten();
        if let Some(refusal) = self
            .refuse_pull(&req.cmd)
            .or_else(|| self.refuse_group(&req.cmd, group))
        {
            req.reply.send(refusal);
            return;
        }
        if req.cmd.code == request_code::CHECK_CLIENT_CONFIG {
            req.reply.send(self.check_client_config(&req.cmd));
            return;
        }
        let filter = match self.subscription(&req.cmd) {
            Ok(filter) => filter,
            Err((code, remark)) => {
                req.reply.send(req.cmd.response_to(code, Some(remark)));
                return;
            }
        };
        let kind = match self.query(&req.cmd, group, filter) {
            Ok(kind) => kind,
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                req.reply.send(response);
                return;
            }
        };
        forward(&self.dispatcher, kind, &req.cmd, req.reply);
    }
}

/// A consumer group's subscriptions, those of all its clients, from their heartbeats (the
/// `ClientManager`, whenever they change): what its pulls without an expression (a push
/// consumer's) are filtered by. Empty: the group has no consumer left.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RegisterFilters {
    pub group: String,
    pub subscriptions: Vec<HeartbeatSubscription>,
    /// The group's consumers consume by broadcast (`MessageModel.BROADCASTING`).
    pub broadcasting: bool,
}

impl Handler<RegisterFilters> for PullProcessor {
    type Result = ();

    fn handle(&mut self, m: RegisterFilters, _ctx: &mut Context<Self>) {
        let _timer = stats().pull_processor.handling();
        let (on, cache) = (self.property_filter, &mut self.selectors);
        self.registered
            .register(&m.group, &m.subscriptions, on, cache);
        let broadcasting = m.broadcasting && !m.subscriptions.is_empty();
        self.registered.set_broadcasting(&m.group, broadcasting);
    }
}

/// The group table changed (from the `SendProcessor`, which owns it; also once at its start).
#[derive(Message)]
#[rtype(result = "()")]
pub struct GroupsChanged {
    pub gate: PullGate,
    pub creator: CountedRecipient<EnsureGroup>,
}

impl Handler<GroupsChanged> for PullProcessor {
    type Result = ();

    fn handle(&mut self, m: GroupsChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().pull_processor.handling();
        self.groups = Some((m.gate, m.creator));
    }
}

/// Only the permission is kept: the `Dispatcher` checks topics.
impl Handler<TopicsChanged> for PullProcessor {
    type Result = ();

    fn handle(&mut self, changed: TopicsChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().pull_processor.handling();
        self.permission = changed.permission;
    }
}

/// An offset reset for `group` on `queue_id` of `topic`, at `offset` (and each further pair), to
/// answer that group's next pull of the queue with.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MarkReset {
    pub group: String,
    pub topic: String,
    pub offsets: Vec<(i32, i64)>,
}

impl Handler<MarkReset> for PullProcessor {
    type Result = ();

    fn handle(&mut self, m: MarkReset, _ctx: &mut Context<Self>) {
        let _timer = stats().pull_processor.handling();
        for (queue_id, offset) in m.offsets {
            self.resets.mark(&m.group, &m.topic, queue_id, offset);
        }
    }
}

/// A group or topic deleted with its offsets: its waiting resets go too.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForgetResets(pub OffsetsOf);

impl Handler<ForgetResets> for PullProcessor {
    type Result = ();

    fn handle(&mut self, m: ForgetResets, _ctx: &mut Context<Self>) {
        let _timer = stats().pull_processor.handling();
        self.resets.remove(&m.0);
    }
}
