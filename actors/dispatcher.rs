//! `Dispatcher`: RocketMQ's reput service and the read side of the store.
//!
//! Owns every consume queue (`<root>/consumequeue/<topic>/<queueId>/`), the parked long-poll pulls,
//! a snapshot of the commit log's file table and of the topic table. Receives `NewRecords` from the
//! `CommitLogWriter` (the facts of each appended record: no re-parse of the commit log), the file
//! table on every roll (`FilesChanged`), `Flushed` from the `Flusher` in sync-flush mode (only
//! flushed records are dispatched then), `TopicsChanged` from the `SendProcessor`, and `Query`s from
//! the `PullProcessor` / `OffsetProcessor` (pull, min/max offset, search by time, view by offset,
//! topic config), which it answers through the request's `ReplyTo`. Runs on its own arbiter: consume
//! queue file creation and record copies never stall the network or the writer.
//!
//! Reading the commit log without a lock: the writer publishes by message, so every record a CQ
//! entry points at was completely written before the `NewRecords` that announced it arrived here.
//! Start-up recovery ([`recover_consume_queues`]) runs before any actor and makes the consume queues
//! match the commit log exactly: entries past its end are cut, missing ones rebuilt from the records.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::metrics::stats;
use bytes::BytesMut;
use tracing::{debug, error, info, warn};

use super::connection::ReplyTo;
use super::flusher::{FileTable, FilesChanged};
use actormq::protocol::{response_code, RemotingCommand};
use actormq::store::commit_log::QueueOffsets;
use actormq::store::consume_queue::{ConsumeQueue, CqEntry};
use actormq::store::mapped_file::MappedFile;
use actormq::store::message::{decode, tags_hash_code, Decoded};
use actormq::store::recovery::scan;
use actormq::store::{paths, StoreError};
use actormq::topic::{TopicTable, PERM_READ};

/// Entries per consume-queue file (RocketMQ's `mapedFileSizeConsumeQueue` / 20): 6,000,000 bytes.
pub const CQ_ENTRIES_PER_FILE: u64 = 300_000;
/// Most records one pull returns, whatever `maxMsgNums` asks (RocketMQ caps hot reads at 32; we
/// allow larger batches so a consumer can trade latency for throughput).
pub const MAX_PULL_MSGS: usize = 1024;
/// Most bytes one pull returns unless the request's `maxMsgBytes` is lower (at least one record).
pub const MAX_PULL_BYTES: usize = 1 << 20;
/// Most consume-queue entries one pull looks at when a tag filter skips them
/// (RocketMQ's `maxFilterMessageSize`).
const MAX_FILTER_SCAN: i64 = 16_000;
/// How often written consume-queue entries are msynced (RocketMQ's `flushIntervalConsumeQueue`).
const CQ_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// How often consume queues that failed to take records are retried.
const CQ_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// Every consume queue: topic -> queue id -> queue.
pub type ConsumeQueues = HashMap<String, HashMap<i32, ConsumeQueue>>;

/// Opens the consume queues under `root` and makes them match the commit log (start-up, before any
/// actor runs): entries whose record ends past `write_offset` are dropped, every queue with fewer
/// entries than `expected` (the next queue offsets commit-log recovery found) is rebuilt by scanning
/// the commit log from the end of its last entry (a queue with no file left starts at its first
/// surviving record, `ConsumeQueue::start_at`), and entries below the first commit-log file
/// (deleted by retention) are forgotten. `expected` is then raised to every queue's max offset:
/// a queue whose records lie only in unscanned or deleted files continues where it was, so no queue
/// offset is ever handed out twice. Returns the queues and how many entries were added.
pub fn recover_consume_queues(
    root: &Path,
    files: &[Arc<MappedFile>],
    write_offset: u64,
    expected: &mut QueueOffsets,
) -> Result<(ConsumeQueues, u64), StoreError> {
    let mut queues: ConsumeQueues = HashMap::new();
    let cq_root = root.join("consumequeue");
    if let Ok(topics) = std::fs::read_dir(&cq_root) {
        for topic_dir in topics {
            let topic_dir = topic_dir.map_err(|e| StoreError::io(&cq_root, e))?;
            let Some(topic) = topic_dir.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(ids) = std::fs::read_dir(topic_dir.path()) else {
                continue;
            };
            for id_dir in ids {
                let id_dir = id_dir.map_err(|e| StoreError::io(topic_dir.path(), e))?;
                let Some(queue_id) = id_dir.file_name().to_str().and_then(|s| s.parse().ok())
                else {
                    continue;
                };
                let mut cq = ConsumeQueue::open(id_dir.path(), CQ_ENTRIES_PER_FILE)?;
                let before = cq.max_offset();
                cq.truncate_from_physical(write_offset as i64)?;
                if cq.max_offset() != before {
                    warn!(
                        topic,
                        queue_id,
                        from = before,
                        to = cq.max_offset(),
                        "consume queue truncated to the commit-log end"
                    );
                }
                queues
                    .entry(topic.clone())
                    .or_default()
                    .insert(queue_id, cq);
            }
        }
    }
    // The earliest commit-log offset some queue is missing entries from.
    let mut from: Option<u64> = None;
    for (topic, ids) in expected.iter() {
        for (queue_id, next) in ids {
            let cq = queues.get(topic).and_then(|q| q.get(queue_id));
            let have = cq.map(|q| q.max_offset() as i64).unwrap_or(0);
            if have < *next {
                let start = cq
                    .and_then(|q| q.last_entry())
                    .map(|e| e.end() as u64)
                    .unwrap_or(0);
                from = Some(from.map_or(start, |f| f.min(start)));
            }
        }
    }
    let mut added = 0u64;
    if let Some(from) = from {
        for file in files {
            let size = file.size();
            if file.start_offset() + size <= from || file.start_offset() >= write_offset {
                continue;
            }
            let result = scan(file.read(0, size as usize), file.start_offset(), false);
            for r in result.records {
                let physical = file.start_offset() + r.offset_in_file as u64;
                if physical < from || physical + r.size as u64 > write_offset {
                    continue;
                }
                let cq = queue_entry(&mut queues, root, &r.topic, r.queue_id)?;
                let index = r.queue_offset as u64;
                if r.queue_offset < 0 || index < cq.max_offset() {
                    continue;
                }
                if index > cq.max_offset() && cq.file_count() == 0 {
                    // Its consume queue is gone and retention deleted the commit log's beginning:
                    // the queue starts at its first surviving record.
                    info!(
                        topic = r.topic,
                        queue_id = r.queue_id,
                        index,
                        "consume queue rebuilt from its first record still in the commit log"
                    );
                    cq.start_at(index)?;
                }
                if index > cq.max_offset() {
                    warn!(
                        topic = r.topic,
                        queue_id = r.queue_id,
                        index,
                        next = cq.max_offset(),
                        "record's queue offset leaves a gap in its consume queue; not indexed"
                    );
                    continue;
                }
                cq.append(
                    index,
                    CqEntry {
                        commit_log_offset: physical as i64,
                        size: r.size as i32,
                        tags_code: r.tags_code,
                    },
                )?;
                added += 1;
            }
        }
    }
    if let Some(first) = files.first().map(|f| f.start_offset()).filter(|s| *s > 0) {
        forget_below(&mut queues, first);
    }
    for (topic, ids) in &queues {
        let next_offsets = expected.entry(topic.clone()).or_default();
        for (queue_id, cq) in ids {
            let next = next_offsets.entry(*queue_id).or_insert(0);
            *next = (*next).max(cq.max_offset() as i64);
        }
        for cq in ids.values() {
            cq.flush()?;
        }
    }
    Ok((queues, added))
}

/// The queue for `topic`/`queue_id`, opened (or created empty) on first use.
fn queue_entry<'a>(
    queues: &'a mut ConsumeQueues,
    root: &Path,
    topic: &str,
    queue_id: i32,
) -> Result<&'a mut ConsumeQueue, StoreError> {
    if !queues.contains_key(topic) {
        queues.insert(topic.to_string(), HashMap::new());
    }
    let ids = queues.get_mut(topic).expect("just inserted");
    Ok(match ids.entry(queue_id) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let dir = paths::consume_queue_dir(root, topic, queue_id);
            e.insert(ConsumeQueue::open(dir, CQ_ENTRIES_PER_FILE)?)
        }
    })
}

/// Records the writer appended for one topic-queue, with consecutive queue offsets.
#[derive(Debug)]
pub struct DispatchRun {
    pub topic: String,
    pub queue_id: i32,
    pub first_queue_offset: i64,
    pub entries: Vec<CqEntry>,
}

impl DispatchRun {
    fn end(&self) -> u64 {
        self.entries.last().map(|e| e.end() as u64).unwrap_or(0)
    }
}

/// Tag filter of a subscription: `*` (or empty) = all, else the hash codes of `TagA || TagB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    All,
    Codes(Vec<i64>),
}

impl TagFilter {
    /// Parses a `TAG` subscription expression (`SubscriptionData.buildSubscriptionData`).
    pub fn parse(expression: Option<&str>) -> TagFilter {
        let e = expression.map(str::trim).unwrap_or("");
        if e.is_empty() || e == "*" {
            return TagFilter::All;
        }
        let codes: Vec<i64> = e
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(tags_hash_code)
            .collect();
        if codes.is_empty() {
            TagFilter::All
        } else {
            TagFilter::Codes(codes)
        }
    }

    fn matches(&self, tags_code: i64) -> bool {
        match self {
            TagFilter::All => true,
            TagFilter::Codes(c) => c.contains(&tags_code),
        }
    }
}

/// One pull, already validated by the `PullProcessor`.
#[derive(Debug, Clone)]
pub struct PullQuery {
    pub topic: String,
    pub queue_id: i32,
    pub offset: i64,
    pub max_msgs: usize,
    pub max_bytes: usize,
    pub filter: TagFilter,
    /// `Some(timeout)` when the SUSPEND flag is set: park at the end of the queue.
    pub suspend: Option<Duration>,
}

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

/// RocketMQ's `GetMessageStatus` (the response remark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    NoMessageInQueue,
    NoMatchedLogicQueue,
    OffsetOverflowOne,
    OffsetOverflowBadly,
    OffsetTooSmall,
}

impl GetStatus {
    fn name(self) -> &'static str {
        match self {
            GetStatus::Found => "FOUND",
            GetStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
            GetStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
        }
    }

    /// `PullMessageProcessor.composeResponseHeader` (reference §3.3).
    fn response_code(self, requested: i64) -> i32 {
        match self {
            GetStatus::Found => response_code::SUCCESS,
            GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving => {
                response_code::PULL_RETRY_IMMEDIATELY
            }
            GetStatus::NoMessageInQueue | GetStatus::NoMatchedLogicQueue => {
                if requested != 0 {
                    response_code::PULL_OFFSET_MOVED
                } else {
                    response_code::PULL_NOT_FOUND
                }
            }
            GetStatus::OffsetOverflowOne => response_code::PULL_NOT_FOUND,
            GetStatus::OffsetOverflowBadly | GetStatus::OffsetTooSmall => {
                response_code::PULL_OFFSET_MOVED
            }
        }
    }
}

/// The outcome of reading a queue.
struct PullRead {
    status: GetStatus,
    next_begin: i64,
    min: i64,
    max: i64,
    body: BytesMut,
}

/// A pull waiting for data at the end of its queue.
struct Parked {
    id: u64,
    query: PullQuery,
    response: RemotingCommand,
    reply: ReplyTo,
    timer: SpawnHandle,
}

pub struct Dispatcher {
    root: PathBuf,
    queues: ConsumeQueues,
    files: FileTable,
    /// End of the last record dispatched: every byte below it may be read.
    dispatched: u64,
    /// Sync-flush mode: the flushed offset; records beyond it wait in `held`.
    flushed: Option<u64>,
    held: VecDeque<DispatchRun>,
    /// Runs a consume queue could not take (its file could not be created or written: disk full,
    /// permissions), per queue in arrival order. Retried every `CQ_RETRY_INTERVAL`, so the queue
    /// catches up without a restart; later runs for a stalled queue wait behind them.
    stalled: HashMap<(String, i32), VecDeque<DispatchRun>>,
    topics: Arc<TopicTable>,
    parked: HashMap<String, HashMap<i32, Vec<Parked>>>,
    next_park_id: u64,
    /// Shutting down: pulls are answered at once, never parked.
    closing: bool,
    mailbox: usize,
}

/// How far behind the commit-log end a record still counts as in memory: 40% of physical RAM
/// (RocketMQ's `accessMessageInMemoryMaxRatio` default).
fn in_memory_bytes() -> u64 {
    static BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        // SAFETY: `sysconf` only reads system configuration; negative means unknown.
        let (pages, page) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages <= 0 || page <= 0 {
            return 0;
        }
        (pages as u64).saturating_mul(page as u64) / 100 * 40
    })
}

/// Retention: every consume queue forgets the entries whose records lie below `commit_log_min`
/// (the commit log's first offset after files were deleted); consumers asking for them get
/// `OFFSET_TOO_SMALL` with the new minimum. Failures are logged: the entries then stay, unreadable.
pub fn forget_below(queues: &mut ConsumeQueues, commit_log_min: u64) {
    let mut files = 0;
    for (topic, by_id) in queues.iter_mut() {
        for (queue_id, cq) in by_id.iter_mut() {
            match cq.delete_below_physical(commit_log_min as i64) {
                Ok(n) => files += n,
                Err(e) => {
                    error!(topic, queue_id, error = %e, "deleting expired consume-queue files failed")
                }
            }
        }
    }
    info!(
        commit_log_min,
        files, "consume queues moved past deleted commit-log files"
    );
}

impl Dispatcher {
    /// `write_offset`: the commit-log end at start-up (everything below is dispatched by
    /// [`recover_consume_queues`]); `sync_flush`: hold records until `Flushed` covers them.
    pub fn new(
        root: PathBuf,
        queues: ConsumeQueues,
        files: FileTable,
        write_offset: u64,
        sync_flush: bool,
        topics: Arc<TopicTable>,
        mailbox: usize,
    ) -> Self {
        Dispatcher {
            root,
            queues,
            files,
            dispatched: write_offset,
            flushed: sync_flush.then_some(write_offset),
            held: VecDeque::new(),
            stalled: HashMap::new(),
            topics,
            parked: HashMap::new(),
            next_park_id: 0,
            closing: false,
            mailbox,
        }
    }

    fn queue(&self, topic: &str, queue_id: i32) -> Option<&ConsumeQueue> {
        self.queues.get(topic).and_then(|q| q.get(&queue_id))
    }

    /// Dispatches held runs the flushed offset now covers (all of them in async mode).
    fn drain_held(&mut self, ctx: &mut Context<Self>) {
        while let Some(run) = self.held.front() {
            if self.flushed.is_some_and(|f| run.end() > f) {
                break;
            }
            let run = self.held.pop_front().expect("checked");
            self.dispatch(run, ctx);
        }
    }

    /// Appends a run's entries to its consume queue and wakes the pulls parked on it.
    fn dispatch(&mut self, run: DispatchRun, ctx: &mut Context<Self>) {
        self.dispatched = self.dispatched.max(run.end());
        if !self.stalled.is_empty() {
            if let Some(waiting) = self.stalled.get_mut(&(run.topic.clone(), run.queue_id)) {
                waiting.push_back(run);
                return;
            }
        }
        match self.index(&run) {
            Ok(()) => self.wake(&run, ctx),
            Err(e) => {
                error!(topic = run.topic, queue_id = run.queue_id, error = %e,
                    "consume-queue append failed; the queue's records are held and retried");
                self.stalled
                    .entry((run.topic.clone(), run.queue_id))
                    .or_default()
                    .push_back(run);
            }
        }
    }

    /// Appends `run`'s entries to its consume queue (opening it on first use). Entries already
    /// there are skipped, so a run that failed half way can simply be indexed again.
    fn index(&mut self, run: &DispatchRun) -> Result<(), StoreError> {
        let cq = queue_entry(&mut self.queues, &self.root, &run.topic, run.queue_id)?;
        for (i, entry) in run.entries.iter().enumerate() {
            let index = (run.first_queue_offset + i as i64) as u64;
            if index >= cq.max_offset() {
                cq.append(index, *entry)?;
            }
        }
        Ok(())
    }

    /// Indexes the stalled runs again, each queue in order, stopping at a queue's first failure.
    fn retry_stalled(&mut self, ctx: &mut Context<Self>) {
        let keys: Vec<(String, i32)> = self.stalled.keys().cloned().collect();
        for key in keys {
            while let Some(run) = self.stalled.get_mut(&key).and_then(VecDeque::pop_front) {
                if let Err(e) = self.index(&run) {
                    debug!(topic = key.0, queue_id = key.1, error = %e, "consume queue still failing");
                    self.stalled.get_mut(&key).expect("present").push_front(run);
                    break;
                }
                self.wake(&run, ctx);
            }
            if self.stalled.get(&key).is_some_and(VecDeque::is_empty) {
                self.stalled.remove(&key);
                info!(
                    topic = key.0,
                    queue_id = key.1,
                    "consume queue caught up after failures"
                );
            }
        }
    }

    /// Answers the pulls parked on `run`'s queue that the new entries satisfy.
    fn wake(&mut self, run: &DispatchRun, ctx: &mut Context<Self>) {
        let Some(waiting) = self
            .parked
            .get_mut(&run.topic)
            .and_then(|q| q.remove(&run.queue_id))
        else {
            return;
        };
        let mut still = Vec::new();
        for p in waiting {
            let matched = run
                .entries
                .iter()
                .any(|e| p.query.filter.matches(e.tags_code));
            if matched {
                ctx.cancel_future(p.timer);
                self.answer_pull(p.query, p.response, p.reply);
            } else {
                still.push(p);
            }
        }
        if !still.is_empty() {
            self.parked
                .entry(run.topic.clone())
                .or_default()
                .insert(run.queue_id, still);
        }
    }

    /// `DefaultMessageStore.getMessage`: reads up to the query's limits (reference §9.3).
    fn read(&self, q: &PullQuery) -> PullRead {
        let mut r = PullRead {
            status: GetStatus::NoMatchedLogicQueue,
            next_begin: 0,
            min: 0,
            max: 0,
            body: BytesMut::new(),
        };
        let Some(cq) = self.queue(&q.topic, q.queue_id) else {
            return r;
        };
        (r.min, r.max) = (cq.min_offset() as i64, cq.max_offset() as i64);
        if r.max == 0 {
            r.status = GetStatus::NoMessageInQueue;
            return r;
        }
        if q.offset < r.min {
            (r.status, r.next_begin) = (GetStatus::OffsetTooSmall, r.min);
            return r;
        }
        if q.offset == r.max {
            (r.status, r.next_begin) = (GetStatus::OffsetOverflowOne, q.offset);
            return r;
        }
        if q.offset > r.max {
            (r.status, r.next_begin) = (GetStatus::OffsetOverflowBadly, r.max);
            return r;
        }
        let max_msgs = q.max_msgs.clamp(1, MAX_PULL_MSGS);
        let max_bytes = q.max_bytes.min(MAX_PULL_BYTES);
        let scan_end = r.max.min(q.offset + MAX_FILTER_SCAN.max(max_msgs as i64));
        let (mut index, mut count, mut removed) = (q.offset, 0usize, false);
        while index < scan_end && count < max_msgs {
            let Some(entry) = cq.get(index as u64) else {
                break;
            };
            if !q.filter.matches(entry.tags_code) {
                index += 1;
                continue;
            }
            if count > 0 && r.body.len() + entry.size as usize > max_bytes {
                break;
            }
            match self.record_bytes(entry.commit_log_offset, entry.size) {
                Some(bytes) => {
                    if r.body.is_empty() {
                        r.body
                            .reserve(max_bytes.min(entry.size as usize * max_msgs));
                    }
                    r.body.extend_from_slice(bytes);
                    count += 1;
                }
                None => removed = true,
            }
            index += 1;
        }
        r.next_begin = index;
        r.status = match (count, removed) {
            (0, true) => GetStatus::MessageWasRemoving,
            (0, false) => GetStatus::NoMatchedMessage,
            _ => GetStatus::Found,
        };
        r
    }

    /// The commit-log bytes `[offset, offset + size)`, if they are below the dispatched end and in
    /// a file still held.
    fn record_bytes(&self, offset: i64, size: i32) -> Option<&[u8]> {
        let (offset, size) = (u64::try_from(offset).ok()?, u64::try_from(size).ok()?);
        if size == 0 || offset + size > self.dispatched {
            return None;
        }
        let first = self.files.first()?;
        let file_size = first.size();
        let index = offset.checked_sub(first.start_offset())? / file_size;
        let file = self.files.get(index as usize)?;
        let pos = offset - file.start_offset();
        if pos + size > file_size {
            return None;
        }
        Some(file.read(pos as usize, size as usize))
    }

    /// The whole record starting at commit-log `offset`.
    fn record_at(&self, offset: i64) -> Option<&[u8]> {
        let head = self.record_bytes(offset, 4)?;
        let size = i32::from_be_bytes(head.try_into().ok()?);
        let bytes = self.record_bytes(offset, size)?;
        match decode(bytes, false) {
            Ok(Decoded::Record(r)) if r.physical_offset == offset => Some(bytes),
            _ => None,
        }
    }

    fn store_timestamp(&self, entry: &CqEntry) -> Option<i64> {
        let bytes = self.record_bytes(entry.commit_log_offset, entry.size)?;
        match decode(bytes, false) {
            Ok(Decoded::Record(r)) => Some(r.store_timestamp),
            _ => None,
        }
    }

    /// Binary search over the queue's entries by store timestamp.
    fn search_offset(&self, topic: &str, queue_id: i32, timestamp: i64, upper: bool) -> i64 {
        let Some(cq) = self.queue(topic, queue_id) else {
            return 0;
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        // First index whose timestamp is > t (upper) or >= t (lower).
        let (mut lo, mut hi) = (min, max);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let ts = cq
                .get(mid)
                .and_then(|e| self.store_timestamp(&e))
                .unwrap_or(i64::MAX);
            let after = if upper {
                ts > timestamp
            } else {
                ts >= timestamp
            };
            if after {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if upper {
            lo.saturating_sub(1).max(min) as i64
        } else {
            lo as i64
        }
    }

    /// Pull precondition: the topic exists and is readable, and the queue id is in range.
    fn check_topic(&self, topic: &str, queue_id: i32) -> Result<(), (i32, String)> {
        let Some(config) = self.topics.get(topic) else {
            return Err((
                response_code::TOPIC_NOT_EXIST,
                format!("topic[{topic}] not exist, apply first please!"),
            ));
        };
        if config.perm & PERM_READ == 0 {
            return Err((
                response_code::NO_PERMISSION,
                format!("the topic[{topic}] pulling message is forbidden"),
            ));
        }
        if queue_id < 0 || queue_id >= config.read_queue_nums {
            return Err((
                response_code::INVALID_PARAMETER,
                format!(
                    "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                    config.read_queue_nums
                ),
            ));
        }
        Ok(())
    }

    fn answer_pull(&self, q: PullQuery, response: RemotingCommand, reply: ReplyTo) {
        let r = self.read(&q);
        reply.send(pull_response(response, &q, r));
    }

    fn pull(
        &mut self,
        q: PullQuery,
        response: RemotingCommand,
        reply: ReplyTo,
        ctx: &mut Context<Self>,
    ) {
        if let Err((code, remark)) = self.check_topic(&q.topic, q.queue_id) {
            reply.send(refuse(response, code, remark));
            return;
        }
        let r = self.read(&q);
        let code = r.status.response_code(q.offset);
        match q.suspend {
            Some(timeout) if code == response_code::PULL_NOT_FOUND && !self.closing => {
                self.park(q, response, reply, timeout, ctx)
            }
            _ => reply.send(pull_response(response, &q, r)),
        }
    }

    fn park(
        &mut self,
        query: PullQuery,
        response: RemotingCommand,
        reply: ReplyTo,
        timeout: Duration,
        ctx: &mut Context<Self>,
    ) {
        let id = self.next_park_id;
        self.next_park_id += 1;
        let (topic, queue_id) = (query.topic.clone(), query.queue_id);
        let timer = ctx.run_later(timeout, move |act, _| act.expire(&topic, queue_id, id));
        self.parked
            .entry(query.topic.clone())
            .or_default()
            .entry(query.queue_id)
            .or_default()
            .push(Parked {
                id,
                query,
                response,
                reply,
                timer,
            });
    }

    /// A parked pull reached its `suspendTimeoutMillis`: answer with whatever is there now.
    fn expire(&mut self, topic: &str, queue_id: i32, id: u64) {
        let Some(list) = self
            .parked
            .get_mut(topic)
            .and_then(|q| q.get_mut(&queue_id))
        else {
            return;
        };
        let Some(at) = list.iter().position(|p| p.id == id) else {
            return;
        };
        let p = list.swap_remove(at);
        self.answer_pull(p.query, p.response, p.reply);
    }
}

fn refuse(mut response: RemotingCommand, code: i32, remark: String) -> RemotingCommand {
    response.code = code;
    response.remark = Some(remark);
    response
}

/// The pull response header (`PullMessageResponseHeader`) and body for a read.
fn pull_response(mut response: RemotingCommand, q: &PullQuery, r: PullRead) -> RemotingCommand {
    response.code = r.status.response_code(q.offset);
    response.remark = Some(r.status.name().to_string());
    let ext = &mut response.ext_fields;
    ext.insert(
        "suggestWhichBrokerId",
        actormq::protocol::ByteString::from_static("0"),
    );
    ext.insert("nextBeginOffset", r.next_begin.to_string());
    ext.insert("minOffset", r.min.to_string());
    ext.insert("maxOffset", r.max.to_string());
    if r.status == GetStatus::Found {
        response.body = r.body.freeze();
    }
    response
}

impl Actor for Dispatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
        ctx.run_interval(CQ_FLUSH_INTERVAL, |act, _| act.flush_queues());
        ctx.run_interval(CQ_RETRY_INTERVAL, |act, ctx| {
            if !act.stalled.is_empty() {
                act.retry_stalled(ctx);
            }
        });
        info!(
            queues = self.queues.values().map(HashMap::len).sum::<usize>(),
            dispatched = self.dispatched,
            "dispatcher started"
        );
    }
}

impl Dispatcher {
    fn flush_queues(&self) {
        for (topic, ids) in &self.queues {
            for (queue_id, cq) in ids {
                if let Err(e) = cq.flush() {
                    error!(topic, queue_id, error = %e, "flushing a consume queue failed");
                }
            }
        }
    }
}

/// Records the writer appended, in commit-log order (one message per writer batch, not per record).
#[derive(Message)]
#[rtype(result = "()")]
pub struct NewRecords(pub Vec<DispatchRun>);

impl Handler<NewRecords> for Dispatcher {
    type Result = ();

    fn handle(&mut self, NewRecords(runs): NewRecords, ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        self.held.extend(runs);
        self.drain_held(ctx);
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
            forget_below(&mut self.queues, min);
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
        if let Some(f) = &mut self.flushed {
            *f = (*f).max(offset);
        }
        self.drain_held(ctx);
    }
}

/// The topic table changed (a topic was created): here is the new snapshot.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TopicsChanged(pub Arc<TopicTable>);

impl Handler<TopicsChanged> for Dispatcher {
    type Result = ();

    fn handle(&mut self, TopicsChanged(topics): TopicsChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().dispatcher.handling();
        self.topics = topics;
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
        let response = match kind {
            QueryKind::Pull(q) => return self.pull(q, response, reply, ctx),
            QueryKind::MaxOffset { topic, queue_id } => {
                let max = self.queue(&topic, queue_id).map_or(0, |q| q.max_offset());
                response.with_ext("offset", max)
            }
            QueryKind::MinOffset { topic, queue_id } => {
                let min = self.queue(&topic, queue_id).map_or(0, |q| q.min_offset());
                response.with_ext("offset", min)
            }
            QueryKind::SearchOffset {
                topic,
                queue_id,
                timestamp,
                upper,
            } => response.with_ext(
                "offset",
                self.search_offset(&topic, queue_id, timestamp, upper),
            ),
            QueryKind::ZeroIfInMemory { topic, queue_id } => {
                let first = self
                    .queue(&topic, queue_id)
                    .filter(|q| q.min_offset() == 0)
                    .and_then(|q| q.get(0));
                let in_memory = first.is_some_and(|e| {
                    self.dispatched
                        .saturating_sub(e.commit_log_offset.max(0) as u64)
                        <= in_memory_bytes()
                });
                if in_memory {
                    response.with_ext("offset", 0)
                } else {
                    refuse(
                        response,
                        response_code::QUERY_NOT_FOUND,
                        "Not found, V3_0_6_SNAPSHOT maybe this group consume message first".into(),
                    )
                }
            }
            QueryKind::ViewMessage { offset } => match self.record_at(offset) {
                Some(bytes) => response.with_body(bytes::Bytes::copy_from_slice(bytes)),
                None => refuse(
                    response,
                    response_code::SYSTEM_ERROR,
                    format!("can not find message by the offset, {offset}"),
                ),
            },
            QueryKind::TopicConfig { topic } => match self.topics.get(&topic) {
                Some(config) => {
                    let json = serde_json::json!({ "topicConfig": config });
                    response.with_body(json.to_string().into())
                }
                None => refuse(
                    response,
                    response_code::TOPIC_NOT_EXIST,
                    format!("No topic in this broker. topic: {topic}"),
                ),
            },
        };
        reply.send(response);
    }
}

/// Shutdown, first step: answer every parked pull now and park no more.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ReleaseParked;

impl Handler<ReleaseParked> for Dispatcher {
    type Result = usize;

    fn handle(&mut self, _: ReleaseParked, ctx: &mut Context<Self>) -> usize {
        self.closing = true;
        let mut released = 0;
        for (_, ids) in std::mem::take(&mut self.parked) {
            for (_, list) in ids {
                for p in list {
                    ctx.cancel_future(p.timer);
                    self.answer_pull(p.query, p.response, p.reply);
                    released += 1;
                }
            }
        }
        released
    }
}

/// Shutdown, last step: msync every consume queue.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FlushQueues;

impl Handler<FlushQueues> for Dispatcher {
    type Result = ();

    fn handle(&mut self, _: FlushQueues, ctx: &mut Context<Self>) {
        self.drain_held(ctx);
        self.retry_stalled(ctx);
        if !self.stalled.is_empty() {
            warn!(
                queues = self.stalled.len(),
                "some consume queues could not take their records; the next start rebuilds them"
            );
        }
        self.flush_queues();
        info!(dispatched = self.dispatched, "consume queues flushed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filters() {
        assert_eq!(TagFilter::parse(None), TagFilter::All);
        assert_eq!(TagFilter::parse(Some(" * ")), TagFilter::All);
        assert_eq!(TagFilter::parse(Some("")), TagFilter::All);
        let f = TagFilter::parse(Some("TagA || TagB"));
        assert_eq!(
            f,
            TagFilter::Codes(vec![tags_hash_code("TagA"), tags_hash_code("TagB")])
        );
        assert!(f.matches(tags_hash_code("TagB")));
        assert!(!f.matches(tags_hash_code("TagC")));
        assert!(!f.matches(0));
    }

    #[test]
    fn status_mapping() {
        use response_code::*;
        assert_eq!(GetStatus::Found.response_code(3), SUCCESS);
        assert_eq!(
            GetStatus::NoMatchedMessage.response_code(3),
            PULL_RETRY_IMMEDIATELY
        );
        assert_eq!(GetStatus::NoMessageInQueue.response_code(0), PULL_NOT_FOUND);
        assert_eq!(
            GetStatus::NoMessageInQueue.response_code(5),
            PULL_OFFSET_MOVED
        );
        assert_eq!(
            GetStatus::NoMatchedLogicQueue.response_code(5),
            PULL_OFFSET_MOVED
        );
        assert_eq!(
            GetStatus::OffsetOverflowOne.response_code(5),
            PULL_NOT_FOUND
        );
        assert_eq!(
            GetStatus::OffsetOverflowBadly.response_code(9),
            PULL_OFFSET_MOVED
        );
        assert_eq!(
            GetStatus::OffsetTooSmall.response_code(0),
            PULL_OFFSET_MOVED
        );
    }
}
