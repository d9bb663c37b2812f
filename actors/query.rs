//! Store queries (`Query`) and the one way of handing them to the `Dispatcher` (`forward`), shared
//! by the `PullProcessor` and the `OffsetProcessor` (both turn requests into queries the dispatcher
//! answers). They live apart from both processors so neither imports the other; the dispatcher
//! answers them in its `Handler<Query>`.
//!
//! The store reads of actors (not of requests) live here too, answered to the asking actor:
//! [`LookMessage`] (one record by commit-log offset, for the send-back of `CONSUMER_SEND_MSG_BACK`,
//! answered with [`MessageLooked`]), [`ReadQueue`] (consume-queue entries and their records from an
//! offset: the `Scheduler` reads the delay levels' queues with it, the `Timer`
//! `rmq_sys_wheel_timer`) and [`ReadRecords`] (records by commit-log offset, the `Timer`'s due
//! messages). Neither actor ever opens a store file itself. [`ResetTargets`] computes an admin's
//! offset reset for the `OffsetProcessor`.
//!
//! Also here, as `Dispatcher` methods and helpers its answers share: the key lookups of
//! `QUERY_MESSAGE` (the index) and `GET_EARLIEST_MSG_STORETIME`, and the pull response header.

use actix::prelude::*;

use super::connection::ReplyTo;
use super::dispatcher::{Dispatcher, PullQuery};
use super::mailbox::{CountedRecipient, Mailbox};
use super::metrics::stats;
use actormq::ha::pull::PullRole;
use actormq::protocol::{response_code, RemotingCommand, OVERLOAD_REMARK};
use actormq::store::index::KeyLookup;
use actormq::store::read::{in_memory_bytes, GetStatus, PullRead, QueueSlice};

/// What a store query asks.
#[derive(Debug, Clone)]
pub enum QueryKind {
    Pull(PullQuery),
    /// `GET_MAX_OFFSET`: the queue's entry count.
    MaxOffset {
        topic: String,
        queue_id: i32,
    },
    /// `GET_MIN_OFFSET`: the first stored index.
    MinOffset {
        topic: String,
        queue_id: i32,
    },
    /// `SEARCH_OFFSET_BY_TIMESTAMP`: lower boundary = first entry stored at or after `timestamp`;
    /// upper = last entry stored at or before it.
    SearchOffset {
        topic: String,
        queue_id: i32,
        timestamp: i64,
        upper: bool,
    },
    /// `QUERY_CONSUMER_OFFSET` for a group with no stored offset (and no `setZeroIfNotFound=false`):
    /// offset 0 if the queue still starts at 0 and its first record is "in memory" (within 40% of
    /// physical RAM of the commit-log end, RocketMQ's `accessMessageInMemoryMaxRatio`), else
    /// `QUERY_NOT_FOUND`.
    ZeroIfInMemory {
        topic: String,
        queue_id: i32,
    },
    /// `VIEW_MESSAGE_BY_ID`: the record at a commit-log offset.
    ViewMessage {
        offset: i64,
    },
    /// `GET_TOPIC_CONFIG`: the topic's configuration as JSON.
    TopicConfig {
        topic: String,
    },
    /// `GET_CONSUME_STATS`: for each topic (with the group's committed offsets per queue), every
    /// write queue's end against the group's offset; `broker_name` keys the queues.
    ConsumeStats {
        group: String,
        offsets: Vec<(String, std::collections::BTreeMap<i32, i64>)>,
        broker_name: String,
    },
    /// `GET_BROKER_CONSUME_STATS`: `ConsumeStats` as above for every group with offsets (group
    /// -> its topics' offsets), over each topic's write queues, only order topics if
    /// `order_only`; answered as a `ConsumeStatsList` naming `broker_addr`.
    BrokerConsumeStats {
        groups: Vec<(String, actormq::consumer_offsets::TopicOffsets)>,
        order_only: bool,
        broker_name: String,
        broker_addr: String,
    },
    /// `QUERY_CONSUME_QUEUE`: raw consume-queue entries, with the group's online subscription of
    /// the topic when the query names a group that has one.
    ConsumeQueue {
        query: actormq::consume_queue_query::QueryConsumeQueue,
        subscription: Option<actormq::client_registry::Subscription>,
    },
    /// `GET_TOPIC_STATS_INFO`: every queue's bounds and last store time (`TopicStatsTable`);
    /// `broker_name` keys its queues.
    TopicStats {
        topic: String,
        broker_name: String,
    },
    /// `QUERY_CONSUME_TIME_SPAN`: per write queue of `topic`, the store times around the
    /// group's `offsets` (queue -> committed offset) and the wait of its next message.
    ConsumeTimeSpan {
        topic: String,
        offsets: std::collections::BTreeMap<i32, i64>,
        broker_name: String,
    },
    /// `QUERY_MESSAGE`: the records indexed under `topic#key` stored within `[begin, end]`.
    ByKey(KeyLookup),
    /// `GET_EARLIEST_MSG_STORETIME`: the store time of the queue's first entry, else -1.
    EarliestStoreTime {
        topic: String,
        queue_id: i32,
    },
}

impl Dispatcher {
    /// `QueryMessageProcessor.queryMessage`: the records found, back to back, with the index's
    /// last update in `indexLastUpdateTimestamp` / `indexLastUpdatePhyoffset`; none (or no index,
    /// `store.index_enabled = false`): `QUERY_NOT_FOUND`.
    pub(super) fn answer_by_key(&self, q: KeyLookup, response: RemotingCommand) -> RemotingCommand {
        let reader = self.reader();
        let found = self
            .index()
            .map(|index| index.query_message(&q, |o| reader.record_at(o)));
        let found = found.unwrap_or_default();
        let mut response = response
            .with_ext("indexLastUpdateTimestamp", found.last_update_timestamp)
            .with_ext("indexLastUpdatePhyoffset", found.last_update_phy_offset);
        if found.records.is_empty() {
            response.code = response_code::QUERY_NOT_FOUND;
            response.remark = Some("can not find message, maybe time range not correct".into());
            return response;
        }
        response.with_body(found.body())
    }

    /// `getEarliestMessageTime`: the store time of the record at the queue's minimum offset.
    pub(super) fn earliest_store_time(
        &self,
        topic: &str,
        queue_id: i32,
        response: RemotingCommand,
    ) -> RemotingCommand {
        let timestamp = self
            .queue(topic, queue_id)
            .and_then(|cq| cq.get(cq.min_offset()))
            .and_then(|e| self.reader().store_timestamp(&e))
            .unwrap_or(-1);
        response.with_ext("timestamp", timestamp)
    }
}

/// The `Scheduler`'s read of a delay level's queue: up to `max` entries of `topic`/`queue_id` from
/// queue offset `from`, each with a copy of its record, and the queue's bounds (answered to the
/// asking actor, not to a connection).
#[derive(Message, Debug, Clone)]
#[rtype(result = "QueueSlice")]
pub struct ReadQueue {
    pub topic: String,
    pub queue_id: i32,
    pub from: i64,
    pub max: usize,
}

/// `INVOKE_BROKER_TO_RESET_OFFSET` (Java 5.2+'s `resetOffsetInner`): the offset each queue resets
/// to, asked by the `OffsetProcessor` (which commits them). For one queue (`queue_id` >= 0) with
/// an `offset`, that offset if the queue holds it; else, for that queue or every read queue of
/// `topic`, the first entry stored at or after `timestamp` (a negative one: the queue's end).
/// `Err` is the remark of a SYSTEM_ERROR.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<Vec<(i32, i64)>, String>")]
pub struct ResetTargets {
    pub topic: String,
    pub queue_id: i32,
    pub timestamp: i64,
    pub offset: Option<i64>,
}

/// The commit log's bounds for GET_BROKER_RUNTIME_INFO, asked by the `AdminProcessor`: its first
/// offset still held (`commitLogMinOffset`, 0 with no file) and its first record's store time
/// (`earliestMessageTimeStamp`, -1 when there is none, as Java answers).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "StoreBounds")]
pub struct AskStoreBounds;

/// The answer to [`AskStoreBounds`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, MessageResponse)]
pub struct StoreBounds {
    pub min_offset: i64,
    pub earliest_store_time: i64,
    /// End of the records handed to the consume queues (`dispatchBehindBytes`).
    pub dispatched: u64,
    /// The commit log's file system (`commitLogDirCapacity`), if it could be measured.
    pub disk: Option<actormq::store::disk_space::DiskUsage>,
}

/// A store query with its prepared (SUCCESS) response and the way back to the connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Query {
    pub kind: QueryKind,
    pub response: RemotingCommand,
    pub reply: ReplyTo,
}

/// Hands a query to the dispatcher; a full or closed mailbox is answered here.
pub fn forward(
    dispatcher: &Mailbox<Dispatcher>,
    kind: QueryKind,
    cmd: &RemotingCommand,
    reply: ReplyTo,
) {
    let query = Query {
        kind,
        response: cmd.response_to(response_code::SUCCESS, None),
        reply,
    };
    match dispatcher.try_send(query) {
        Ok(()) => {}
        Err(SendError::Full(q)) => {
            let mut r = q.response;
            r.code = response_code::SYSTEM_BUSY;
            r.remark = Some(OVERLOAD_REMARK.into());
            q.reply.send(r);
        }
        Err(SendError::Closed(q)) => {
            let mut r = q.response;
            r.code = response_code::SYSTEM_ERROR;
            r.remark = Some("the store is shutting down".into());
            q.reply.send(r);
        }
    }
}

/// `lookMessageByOffset`: the record stored at a commit-log offset (`None` if no record starts
/// there), handed with `then` to `reply`. For processors that continue with the record themselves
/// (the send-back of `CONSUMER_SEND_MSG_BACK`), where a `Query` answers the connection directly.
pub struct LookMessage<T: Send + 'static> {
    pub offset: i64,
    pub then: T,
    pub reply: CountedRecipient<MessageLooked<T>>,
}

impl<T: Send + 'static> Message for LookMessage<T> {
    type Result = ();
}

/// The answer to a [`LookMessage`]: a copy of the record's bytes, and what the asker handed along.
pub struct MessageLooked<T: Send + 'static> {
    pub record: Option<bytes::Bytes>,
    pub then: T,
}

impl<T: Send + 'static> Message for MessageLooked<T> {
    type Result = ();
}

/// Asks the `Dispatcher` to report every run it indexes into `topic` ([`QueueGrew`]): the
/// `Scheduler` and the `Timer` read their queues when told, instead of polling the dispatcher's
/// thread many times a second.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WatchTopic {
    pub topic: String,
    pub to: CountedRecipient<QueueGrew>,
}

/// A watched topic's queue `queue_id` has new entries.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct QueueGrew {
    pub queue_id: i32,
}

/// The records at these commit-log offsets, in order (`None` where none is readable).
#[derive(Message)]
#[rtype(result = "Vec<Option<bytes::Bytes>>")]
pub struct ReadRecords(pub Vec<i64>);

impl Handler<ReadRecords> for Dispatcher {
    type Result = MessageResult<ReadRecords>;

    fn handle(
        &mut self,
        ReadRecords(offsets): ReadRecords,
        _ctx: &mut Context<Self>,
    ) -> Self::Result {
        let _timer = stats().dispatcher.handling();
        let reader = self.reader();
        MessageResult(
            offsets
                .into_iter()
                .map(|o| reader.record_at(o).map(bytes::Bytes::copy_from_slice))
                .collect(),
        )
    }
}

pub(super) fn refuse(mut response: RemotingCommand, code: i32, remark: String) -> RemotingCommand {
    response.code = code;
    response.remark = Some(remark);
    response
}

/// The pull response header (`PullMessageResponseHeader`) and body for a read, with the broker
/// the consumer should pull from next (`suggestWhichBrokerId`, [`PullRole::suggest`]).
pub(super) fn pull_response(
    mut response: RemotingCommand,
    q: &PullQuery,
    r: PullRead,
    role: &PullRole,
) -> RemotingCommand {
    response.code = r.status.response_code(q.offset);
    response.remark = Some(r.status.name().to_string());
    let found = r.status == GetStatus::Found;
    stats().pulls.answered(found, r.count);
    let suggestion = role.suggest(r.behind, in_memory_bytes(), found);
    if suggestion.retry_at_master {
        response.code = response_code::PULL_RETRY_IMMEDIATELY;
    }
    let ext = &mut response.ext_fields;
    ext.insert("suggestWhichBrokerId", suggestion.broker_id.to_string());
    ext.insert("nextBeginOffset", r.next_begin.to_string());
    ext.insert("minOffset", r.min.to_string());
    ext.insert("maxOffset", r.max.to_string());
    if found {
        response.body = r.body.freeze();
    }
    response
}
