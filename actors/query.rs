//! Store queries (`Query`) and the one way of handing them to the `Dispatcher` (`forward`), shared
//! by the `PullProcessor` and the `OffsetProcessor` (both turn requests into queries the dispatcher
//! answers). They live apart from both processors so neither imports the other; the dispatcher
//! answers them in its `Handler<Query>`.
//!
//! The store reads of actors (not of requests) live here too: [`ReadQueue`] (consume-queue entries
//! and their records from an offset) and [`ReadRecords`] (records by commit-log offset), both
//! answered to the asking actor, with their `Dispatcher` handlers. The `Timer` actor reads
//! `rmq_sys_wheel_timer` through them and never opens a store file itself.

use actix::prelude::*;

use super::connection::ReplyTo;
use super::dispatcher::{Dispatcher, PullQuery};
use super::mailbox::Mailbox;
use super::metrics::stats;
use actormq::protocol::{response_code, RemotingCommand, OVERLOAD_REMARK};
use actormq::store::consume_queue::CqEntry;

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

/// Up to `max` consume-queue entries of a queue from `from`, each with its record's bytes.
#[derive(Message)]
#[rtype(result = "QueueRecords")]
pub struct ReadQueue {
    pub topic: String,
    pub queue_id: i32,
    pub from: i64,
    pub max: usize,
}

/// The answer to [`ReadQueue`]: the queue's first offset and the entries read (queue offset, entry,
/// record bytes; `None` when the commit log no longer holds the record).
#[derive(Debug, Default, MessageResponse)]
pub struct QueueRecords {
    pub min_offset: i64,
    pub entries: Vec<(i64, CqEntry, Option<bytes::Bytes>)>,
}

impl Handler<ReadQueue> for Dispatcher {
    type Result = QueueRecords;

    fn handle(&mut self, q: ReadQueue, _ctx: &mut Context<Self>) -> QueueRecords {
        let _timer = stats().dispatcher.handling();
        let Some(cq) = self.queue(&q.topic, q.queue_id) else {
            return QueueRecords::default();
        };
        let (min, max) = (cq.min_offset() as i64, cq.max_offset() as i64);
        let reader = self.reader();
        let from = q.from.max(min);
        let entries = (from..max.min(from.saturating_add(q.max as i64)))
            .map_while(|i| cq.get(i as u64).map(|e| (i, e)))
            .map(|(i, e)| {
                let bytes = reader.bytes(e.commit_log_offset, e.size);
                (i, e, bytes.map(bytes::Bytes::copy_from_slice))
            })
            .collect();
        QueueRecords {
            min_offset: min,
            entries,
        }
    }
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
