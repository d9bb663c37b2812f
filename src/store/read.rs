//! The read side of the store (RocketMQ's `DefaultMessageStore.getMessage` and friends): pulls
//! through a consume queue with a tag filter, the pull status and its response code, the record
//! at a commit-log offset, and the search of a queue by store timestamp.
//!
//! Reads need no lock: [`CommitLogReader`] holds a snapshot of the file table and reads only below
//! the dispatched offset, and `MappedFile::read` only ever returns published bytes.
//!
//! Nothing is served unverified: every record a pull or a lookup returns is decoded and its body
//! CRC checked, and a pull also checks that the record is the one its consume-queue entry names
//! (size, topic, queue id, queue offset, physical offset). A record that fails is skipped and
//! reported ([`PullRead::damaged`]), never sent: a flipped bit on disk, a consume-queue entry that
//! points mid-record or at the wrong record. The check costs a CRC over the body (crc32fast, SIMD)
//! and a header decode per record; `docs/benchmarks.md` has the measurement.

use bytes::BytesMut;

use super::commit_log::FileTable;
use super::consume_queue::{ConsumeQueue, CqEntry};
use super::message::{decode, find_property, tags_hash_code, verify_record, Decoded};
use crate::protocol::response_code;

/// Most records one pull returns, whatever `maxMsgNums` asks (RocketMQ caps hot reads at 32; we
/// allow larger batches so a consumer can trade latency for throughput).
pub const MAX_PULL_MSGS: usize = 1024;
/// Most bytes one pull returns unless the request's `maxMsgBytes` is lower (at least one record).
pub const MAX_PULL_BYTES: usize = 1 << 20;
/// Most consume-queue entries one pull looks at when a tag filter skips them
/// (RocketMQ's `maxFilterMessageSize`).
const MAX_FILTER_SCAN: i64 = 16_000;

/// Filter of a subscription: `*` (or empty) = all, the hash codes of `TagA || TagB`, or an SQL92
/// selector over the record's properties (`crate::subscription_filter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    All,
    Codes(Vec<i64>),
    Sql(SqlSelector),
}

/// A compiled SQL92 selector, compared by its text.
#[derive(Debug, Clone)]
pub struct SqlSelector(pub std::sync::Arc<crate::filter::Sql92Filter>);

impl PartialEq for SqlSelector {
    fn eq(&self, other: &Self) -> bool {
        self.0.expression() == other.0.expression()
    }
}

impl Eq for SqlSelector {}

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

    /// A filter passing what either passes, for two TAG filters (an SQL92 selector is kept
    /// only when both are the same one; with any other it is `All`, which drops nothing).
    pub fn union(self, other: TagFilter) -> TagFilter {
        match (self, other) {
            (TagFilter::Codes(mut a), TagFilter::Codes(b)) => {
                for code in b {
                    if !a.contains(&code) {
                        a.push(code);
                    }
                }
                TagFilter::Codes(a)
            }
            (a, b) if a == b => a,
            _ => TagFilter::All,
        }
    }

    /// Whether a consume-queue entry's tag code passes the filter (an SQL92 selector passes
    /// every entry here: it looks at the record, [`TagFilter::matches_record`]).
    pub fn matches(&self, tags_code: i64) -> bool {
        match self {
            TagFilter::All | TagFilter::Sql(_) => true,
            TagFilter::Codes(c) => c.contains(&tags_code),
        }
    }

    /// Whether a verified record passes: only an SQL92 selector looks, at the record's properties
    /// (Java's `ExpressionMessageFilter.isMatchedByCommitLog`; a record it cannot read does not).
    pub fn matches_record(&self, record: &[u8]) -> bool {
        let TagFilter::Sql(SqlSelector(selector)) = self else {
            return true;
        };
        match decode(record, false) {
            Ok(Decoded::Record(r)) => selector.matches(|key| find_property(r.properties, key)),
            _ => false,
        }
    }
}

/// One pull, already validated by the `PullProcessor`.
#[derive(Debug, Clone)]
pub struct PullQuery {
    pub topic: String,
    /// The pulling consumer group (`GROUP_GET_NUMS`'s `topic@group` key).
    pub group: String,
    pub queue_id: i32,
    pub offset: i64,
    pub max_msgs: usize,
    pub max_bytes: usize,
    pub filter: TagFilter,
    /// `Some(timeout)` when the SUSPEND flag is set: park at the end of the queue.
    pub suspend: Option<std::time::Duration>,
    /// An offset reset (`INVOKE_BROKER_TO_RESET_OFFSET`) waiting for the pulling group on this
    /// queue: the pull is answered `OffsetReset` with this as the next offset instead of read.
    pub reset_to: Option<i64>,
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
    /// The group's offset on this queue was reset by an admin (Java 5.2+'s server-side reset):
    /// the consumer is told to move to `next_begin`.
    OffsetReset,
}

impl GetStatus {
    /// The name RocketMQ puts in the response remark.
    pub fn name(self) -> &'static str {
        match self {
            GetStatus::Found => "FOUND",
            GetStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
            GetStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetStatus::OffsetReset => "OFFSET_RESET",
        }
    }

    /// `PullMessageProcessor.composeResponseHeader` (reference §3.3): the response code for a
    /// pull that asked for queue offset `requested`.
    pub fn response_code(self, requested: i64) -> i32 {
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
            GetStatus::OffsetOverflowBadly | GetStatus::OffsetTooSmall | GetStatus::OffsetReset => {
                response_code::PULL_OFFSET_MOVED
            }
        }
    }
}

/// The outcome of reading a queue.
#[derive(Debug)]
pub struct PullRead {
    pub status: GetStatus,
    pub next_begin: i64,
    pub min: i64,
    pub max: i64,
    /// The records found, back to back (empty unless `Found`).
    pub body: BytesMut,
    /// How many records `body` holds.
    pub count: usize,
    /// Entries skipped because their record did not verify: (queue offset, commit-log offset,
    /// why). The caller logs and counts them.
    pub damaged: Vec<(i64, i64, String)>,
    /// How far the last record looked at lies behind the readable end (Java's
    /// `maxOffsetPy - maxPhyOffsetPulling`, for `isSuggestPullingFromSlave`); 0 if none.
    pub behind: u64,
}

/// Checks that `bytes` (read at the commit-log offset of `entry`) hold the record that entry of
/// queue `topic`/`queue_id` at `index` names, with an intact body.
pub fn verify_entry(
    bytes: &[u8],
    entry: &CqEntry,
    topic: &str,
    queue_id: i32,
    index: i64,
) -> Result<(), String> {
    let r = verify_record(bytes).map_err(|e| e.to_string())?;
    if r.physical_offset != entry.commit_log_offset
        || r.queue_id != queue_id
        || r.queue_offset != index
        || r.topic != topic.as_bytes()
    {
        return Err(format!(
            "entry names {topic}/{queue_id}@{index} ({} bytes at {}), the record there is \
             {}/{}@{} ({} bytes at {})",
            bytes.len(),
            entry.commit_log_offset,
            String::from_utf8_lossy(r.topic),
            r.queue_id,
            r.queue_offset,
            r.total_size,
            r.physical_offset
        ));
    }
    Ok(())
}

/// One consume-queue entry and its record, as the scheduler reads a level's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedRecord {
    pub queue_offset: i64,
    /// The entry: where the record is, its size and its tag code.
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
    /// The record's bytes; `None` when its commit-log file was deleted (retention).
    pub record: Option<bytes::Bytes>,
}

/// Entries of a queue from an offset, with the queue's bounds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueSlice {
    pub min: i64,
    pub max: i64,
    pub records: Vec<QueuedRecord>,
}

/// Reads the commit log through a snapshot of its file table, below a readable end (the
/// dispatched offset).
#[derive(Debug, Clone, Copy)]
pub struct CommitLogReader<'a> {
    pub files: &'a FileTable,
    /// Only bytes below this offset are read.
    pub end: u64,
}

impl<'a> CommitLogReader<'a> {
    /// The commit-log bytes `[offset, offset + size)`, if they are below the readable end and in
    /// a file still held.
    pub fn bytes(&self, offset: i64, size: i32) -> Option<&'a [u8]> {
        let (offset, size) = (u64::try_from(offset).ok()?, u64::try_from(size).ok()?);
        if size == 0 || offset.checked_add(size)? > self.end {
            return None;
        }
        let first = self.files.first()?;
        let file_size = first.size();
        let index = offset.checked_sub(first.start_offset())? / file_size;
        let file = self.files.get(usize::try_from(index).ok()?)?;
        let pos = offset.checked_sub(file.start_offset())?;
        file.read(usize::try_from(pos).ok()?, size as usize)
    }

    /// The whole record starting at commit-log `offset` (`VIEW_MESSAGE_BY_ID`), if one starts
    /// there.
    pub fn record_at(&self, offset: i64) -> Option<&'a [u8]> {
        let head = self.bytes(offset, 4)?;
        let size = i32::from_be_bytes(head.try_into().ok()?);
        let bytes = self.bytes(offset, size)?;
        match decode(bytes, true) {
            Ok(Decoded::Record(r)) if r.physical_offset == offset => Some(bytes),
            _ => None,
        }
    }

    /// The commit log's first offset still held (Java's `getMinPhyOffset`): where its first
    /// file starts; `None` with no file.
    pub fn min_offset(&self) -> Option<i64> {
        let first = self.files.first()?;
        i64::try_from(first.start_offset()).ok()
    }

    /// The store time of the commit log's first record (Java's `getEarliestMessageTime`), -1 when
    /// there is none (as Java answers).
    pub fn earliest_store_time(&self) -> i64 {
        let Some(offset) = self.min_offset() else {
            return -1;
        };
        match self.record_at(offset).map(|bytes| decode(bytes, false)) {
            Some(Ok(Decoded::Record(r))) => r.store_timestamp,
            _ => -1,
        }
    }

    /// The store timestamp of the record an entry points at.
    pub fn store_timestamp(&self, entry: &CqEntry) -> Option<i64> {
        let bytes = self.bytes(entry.commit_log_offset, entry.size)?;
        match decode(bytes, false) {
            Ok(Decoded::Record(r)) => Some(r.store_timestamp),
            _ => None,
        }
    }

    /// `DefaultMessageStore.getMessage`: reads `q`'s queue (`None`: no such queue) up to the
    /// query's limits (reference §9.3).
    pub fn get_message(&self, cq: Option<&ConsumeQueue>, q: &PullQuery) -> PullRead {
        let mut r = PullRead {
            status: GetStatus::NoMatchedLogicQueue,
            next_begin: 0,
            min: 0,
            max: 0,
            body: BytesMut::new(),
            count: 0,
            damaged: Vec::new(),
            behind: 0,
        };
        if let Some(reset) = q.reset_to {
            if let Some(cq) = cq {
                (r.min, r.max) = (cq.min_offset() as i64, cq.max_offset() as i64);
            }
            (r.status, r.next_begin) = (GetStatus::OffsetReset, reset);
            return r;
        }
        let Some(cq) = cq else {
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
            r.behind = self
                .end
                .saturating_sub(entry.commit_log_offset.max(0) as u64);
            if !q.filter.matches(entry.tags_code) {
                index += 1;
                continue;
            }
            if count > 0 && r.body.len() + entry.size as usize > max_bytes {
                break;
            }
            match self.bytes(entry.commit_log_offset, entry.size) {
                Some(bytes) => {
                    if let Err(why) = verify_entry(bytes, &entry, &q.topic, q.queue_id, index) {
                        r.damaged.push((index, entry.commit_log_offset, why));
                        index += 1;
                        continue;
                    }
                    if !q.filter.matches_record(bytes) {
                        index += 1;
                        continue;
                    }
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
        (r.next_begin, r.count) = (index, count);
        r.status = match (count, removed) {
            (0, true) => GetStatus::MessageWasRemoving,
            (0, false) => GetStatus::NoMatchedMessage,
            _ => GetStatus::Found,
        };
        r
    }

    /// Up to `max_count` entries of `cq` from queue offset `from` (raised to the queue's minimum)
    /// with a copy of each record. Stops early at an entry whose record is not readable yet; an
    /// entry whose record lies below the first commit-log file (deleted) comes with `None`.
    pub fn read_queue(&self, cq: Option<&ConsumeQueue>, from: i64, max_count: usize) -> QueueSlice {
        let Some(cq) = cq else {
            return QueueSlice::default();
        };
        let (min, max) = (cq.min_offset() as i64, cq.max_offset() as i64);
        let mut slice = QueueSlice {
            min,
            max,
            records: Vec::new(),
        };
        let first_file = self.files.first().map_or(0, |f| f.start_offset());
        let mut index = from.max(min);
        while index < max && slice.records.len() < max_count {
            let Some(entry) = cq.get(index as u64) else {
                break;
            };
            let record = match self.bytes(entry.commit_log_offset, entry.size) {
                Some(b) => Some(bytes::Bytes::copy_from_slice(b)),
                None if (entry.commit_log_offset.max(0) as u64) < first_file => None,
                None => break,
            };
            slice.records.push(QueuedRecord {
                queue_offset: index,
                commit_log_offset: entry.commit_log_offset,
                size: entry.size,
                tags_code: entry.tags_code,
                record,
            });
            index += 1;
        }
        slice
    }

    /// `SEARCH_OFFSET_BY_TIMESTAMP`, a binary search over the queue's entries by store timestamp:
    /// the first entry stored at or after `timestamp` (lower), or the last stored at or before it
    /// (`upper`). 0 for no queue.
    pub fn search_offset(&self, cq: Option<&ConsumeQueue>, timestamp: i64, upper: bool) -> i64 {
        let Some(cq) = cq else {
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

    /// Whether the queue still starts at 0 and its first record lies within `in_memory_bytes` of
    /// the readable end (RocketMQ's "in memory" test for a group with no stored offset).
    pub fn first_record_in_memory(&self, cq: Option<&ConsumeQueue>, in_memory_bytes: u64) -> bool {
        cq.filter(|q| q.min_offset() == 0)
            .and_then(|q| q.get(0))
            .is_some_and(|e| {
                self.end.saturating_sub(e.commit_log_offset.max(0) as u64) <= in_memory_bytes
            })
    }
}

/// How far behind the commit-log end a record still counts as in memory: 40% of physical RAM
/// (RocketMQ's `accessMessageInMemoryMaxRatio` default). 0 if the system does not say.
pub fn in_memory_bytes() -> u64 {
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

#[cfg(test)]
mod tests;
