//! `Dispatcher`: RocketMQ's reput service and the read side of the store.
//!
//! *Drives* the store's [`Reput`] state machine (every consume queue, held and stalled runs) and
//! reads through [`CommitLogReader`]; *owns* the parked long-poll pulls and snapshots of the commit
//! log's file table and of the topic table. *Receives* `NewRecords` from the `CommitLogWriter` (the
//! facts of each appended record: no re-parse of the commit log), the file table on every roll
//! (`FilesChanged`), `Flushed` in sync-flush mode (only flushed records are dispatched then),
//! `TopicsChanged` from the `SendProcessor`, and `Query`s from the `PullProcessor` /
//! `OffsetProcessor` (pull, min/max offset, search by time, view by offset, topic config), answered
//! through the request's `ReplyTo`, and `ReadQueue` from the `Scheduler` (a delay level's entries
//! with their records), answered to it. *Counts* puts per topic (in the consume queues) and gets
//! per topic and group, shipped to `Metrics` on a timer after `ShipStats` (`dispatcher/stats.rs`).
//! *Runs on* its own arbiter: consume-queue file creation and record copies never stall the
//! network or the writer.
//!
//! Reading the commit log without a lock: the writer publishes by message, so every record a CQ
//! entry points at was completely written before the `NewRecords` that announced it arrived here
//! (and `MappedFile::read` returns only published bytes in any case).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{error, info};

use super::flusher::{FileTable, FilesChanged};
use super::mailbox::CountedRecipient;
use super::metrics::stats;
use super::query::{pull_response, refuse};
pub use super::query::{
    AskStoreBounds, LookMessage, MessageLooked, Query, QueryKind, QueueGrew, ReadQueue,
    ResetTargets, StoreBounds, WatchTopic,
};
use super::retention::OutOfSpace;
use actormq::broker_permission::BrokerPermission;
use actormq::ha::pull::PullRole;
use actormq::long_poll::ParkedPulls;
use actormq::protocol::{response_code, RemotingCommand};
use actormq::store::consume_queue::{ConsumeQueue, DispatchRun};
use actormq::store::consume_queues::Reput;
use actormq::store::index::{IndexService, IndexedKey};
use actormq::store::read::{in_memory_bytes, CommitLogReader, PullRead, QueueSlice};
pub use actormq::store::read::{PullQuery, TagFilter, MAX_PULL_BYTES};
use actormq::topic::TopicTable;

mod answer;
mod clean;
mod long_poll;
mod stats;
pub use clean::{CleanQueues, ClearTopic};
use long_poll::Parked;
pub use long_poll::ReleaseParked;
pub use stats::ShipStats;

/// How often written consume-queue entries are msynced (RocketMQ's `flushIntervalConsumeQueue`).
const CQ_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// How often the index file being written is msynced. Java never flushes it on a timer (only a
/// full file, and at shutdown); once in a while bounds what an OS crash loses without rewriting
/// its randomly dirtied slot pages every second.
const INDEX_FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// How often consume queues that failed to take records are retried.
const CQ_RETRY_INTERVAL: Duration = Duration::from_millis(500);

pub struct Dispatcher {
    reput: Reput,
    files: FileTable,
    topics: Arc<TopicTable>,
    parked: ParkedPulls<Parked>,
    /// Shutting down: pulls are answered at once, never parked.
    closing: bool,
    mailbox: usize,
    /// Who is told when a watched topic's queues grow (the scheduler, the timer).
    watchers: Vec<(String, CountedRecipient<QueueGrew>)>,
    /// The message index (`store.index_enabled`), a second consumer of every dispatch.
    index: Option<IndexService>,
    /// Told when a consume-queue file cannot be created for lack of space (Retention, which owns
    /// the disk-full state).
    disk: CountedRecipient<OutOfSpace>,
    /// Role facts for `suggestWhichBrokerId` (a slave's master state comes by `MasterOnline`).
    role: PullRole,
    /// What FOUND pull answers carried, per topic and group (`VIEW_BROKER_STATS_DATA`).
    gets: stats::GetCounts,
}

impl Dispatcher {
    pub fn new(
        reput: Reput,
        index: Option<IndexService>,
        files: FileTable,
        topics: Arc<TopicTable>,
        mailbox: usize,
        disk: CountedRecipient<OutOfSpace>,
    ) -> Self {
        Dispatcher {
            reput,
            files,
            topics,
            parked: ParkedPulls::default(),
            closing: false,
            mailbox,
            watchers: Vec::new(),
            index,
            disk,
            role: PullRole::default(),
            gets: stats::GetCounts::default(),
        }
    }

    /// A slave's dispatcher (`slave`), and whether slave reads are on (`ha.slave_read_enable`).
    pub fn with_role(mut self, slave: bool, slave_read_enable: bool) -> Self {
        self.role = PullRole {
            slave,
            slave_read_enable,
            master_online: false,
        };
        self
    }

    pub(super) fn index(&self) -> Option<&IndexService> {
        self.index.as_ref()
    }

    /// msyncs the index file being written; returns the durable `indexMsgTimestamp`.
    fn flush_index(&self) -> i64 {
        self.index.as_ref().map_or(0, IndexService::flush_logged)
    }

    pub(super) fn queue(&self, topic: &str, queue_id: i32) -> Option<&ConsumeQueue> {
        self.reput.queues().get(topic, queue_id)
    }

    /// The commit log as readers may see it: below the dispatched offset.
    pub(super) fn reader(&self) -> CommitLogReader<'_> {
        CommitLogReader {
            files: &self.files,
            end: self.reput.dispatched(),
        }
    }

    fn read(&self, q: &PullQuery) -> PullRead {
        let read = self
            .reader()
            .get_message(self.queue(&q.topic, q.queue_id), q);
        for (queue_offset, offset, why) in &read.damaged {
            stats()
                .damaged_records_skipped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            error!(topic = q.topic, queue_id = q.queue_id, queue_offset, offset, reason = %why,
                "damaged record skipped, not served");
        }
        read
    }

    /// Answers the pulls parked on the queues of runs just indexed, where the new entries match.
    fn wake(&mut self, runs: Vec<DispatchRun>, ctx: &mut Context<Self>) {
        if let Some(needed) = self.reput.take_out_of_space() {
            self.disk.do_send(OutOfSpace { needed });
        }
        for (topic, to) in &self.watchers {
            for run in runs.iter().filter(|r| *r.topic == **topic) {
                to.do_send(QueueGrew {
                    queue_id: run.queue_id,
                });
            }
        }
        self.wake_parked(runs, ctx);
    }
}

impl Actor for Dispatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
        ctx.run_interval(CQ_FLUSH_INTERVAL, |act, _| act.reput.queues().flush_all());
        if self.index.is_some() {
            ctx.run_interval(INDEX_FLUSH_INTERVAL, |act, _| {
                act.flush_index();
            });
        }
        ctx.run_interval(CQ_RETRY_INTERVAL, |act, ctx| {
            if act.reput.stalled_queues() > 0 {
                let indexed = act.reput.retry_stalled();
                act.wake(indexed, ctx);
            }
        });
        info!(
            queues = self.reput.queues().len(),
            dispatched = self.reput.dispatched(),
            "dispatcher started"
        );
    }
}

/// Records the writer appended, in commit-log order (one message per writer batch, not per record),
/// and on a slave their index keys, derived as the writer checked them (`None`: read the records
/// back for them).
#[derive(Message)]
#[rtype(result = "()")]
pub struct NewRecords {
    pub runs: Vec<DispatchRun>,
    pub index_keys: Option<Vec<IndexedKey>>,
}

impl Handler<NewRecords> for Dispatcher {
    type Result = ();

    fn handle(&mut self, records: NewRecords, ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        let NewRecords { runs, index_keys } = records;
        if let Some(index) = &mut self.index {
            match &index_keys {
                Some(keys) => index.put_keys(keys),
                None => index.put_runs(&runs, &self.files),
            }
        }
        let indexed = self.reput.records(runs);
        self.wake(indexed, ctx);
    }
}

impl Handler<FilesChanged> for Dispatcher {
    type Result = ();

    fn handle(&mut self, FilesChanged(files): FilesChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        let first = |t: &FileTable| t.first().map(|f| f.start_offset());
        let moved = first(&files).filter(|new| first(&self.files).is_some_and(|old| new > &old));
        self.files = files;
        if let Some(min) = moved {
            self.reput.queues_mut().forget_below(min);
            if let Some(index) = &mut self.index {
                index.delete_below(min);
            }
        }
    }
}

/// Sync-flush mode: the commit log is durable below this offset.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flushed(pub u64);

impl Handler<Flushed> for Dispatcher {
    type Result = ();

    fn handle(&mut self, Flushed(offset): Flushed, ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        let indexed = self.reput.flushed(offset);
        self.wake(indexed, ctx);
    }
}

/// The topic table changed (a topic created or changed), or the broker's permission (which is
/// registered with it): the new snapshot and the permission.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TopicsChanged {
    pub topics: Arc<TopicTable>,
    pub permission: BrokerPermission,
}

impl Handler<TopicsChanged> for Dispatcher {
    type Result = ();

    fn handle(&mut self, changed: TopicsChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        self.topics = changed.topics;
    }
}

impl Handler<Query> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: Query, ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        let Query {
            kind,
            response,
            reply,
        } = msg;
        match kind {
            QueryKind::Pull(q) => self.pull(q, response, reply, ctx),
            kind => reply.send(self.answer(kind, response)),
        }
    }
}

impl<T: Send + 'static> Handler<LookMessage<T>> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: LookMessage<T>, _ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        let record = self.reader().record_at(msg.offset);
        msg.reply.do_send(MessageLooked {
            record: record.map(bytes::Bytes::copy_from_slice),
            then: msg.then,
        });
    }
}

impl Handler<ReadQueue> for Dispatcher {
    type Result = MessageResult<ReadQueue>;

    fn handle(&mut self, q: ReadQueue, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().dispatcher.handling();
        let cq = self.queue(&q.topic, q.queue_id);
        let slice: QueueSlice = self.reader().read_queue(cq, q.from, q.max);
        MessageResult(slice)
    }
}

/// Shutdown, last step: index what is left, msync every consume queue and the index. Answers
/// the checkpoint's `indexMsgTimestamp` (0 without an index).
#[derive(Message)]
#[rtype(result = "i64")]
pub struct FlushQueues;

impl Handler<FlushQueues> for Dispatcher {
    type Result = i64;

    fn handle(&mut self, _: FlushQueues, ctx: &mut Context<Self>) -> i64 {
        let _timer = stats().dispatcher.handling();
        let mut indexed = self.reput.records(Vec::new());
        indexed.extend(self.reput.retry_stalled());
        self.wake(indexed, ctx);
        if self.reput.stalled_queues() > 0 {
            tracing::warn!(
                queues = self.reput.stalled_queues(),
                "some consume queues could not take their records; the next start rebuilds them"
            );
        }
        self.reput.queues().flush_all();
        let index_msg_timestamp = self.flush_index();
        info!(
            dispatched = self.reput.dispatched(),
            index_msg_timestamp, "consume queues and index flushed"
        );
        index_msg_timestamp
    }
}

impl Handler<WatchTopic> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: WatchTopic, _ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        self.watchers.push((msg.topic, msg.to));
    }
}

/// From a slave's `HaClient`: its master is up (connected) or not; a slave sends consumers that
/// keep up to an online master (`suggestWhichBrokerId`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct MasterOnline(pub bool);

impl Handler<MasterOnline> for Dispatcher {
    type Result = ();

    fn handle(&mut self, MasterOnline(online): MasterOnline, _ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        self.role.master_online = online;
    }
}
