//! The message index (`<root>/index/`): lookup by key and by unique key, RocketMQ's
//! `IndexService` over its `IndexFile`s (rocketmq-reference.md §9.4, rocketmq-reference-2.md §6).
//!
//! * **Writes.** Every dispatched record is indexed under `topic#UNIQ_KEY` and `topic#<word>` for
//!   each space-separated word of `KEYS`, the topic being the *stored* one (`%RETRY%g`,
//!   `SCHEDULE_TOPIC_XXXX`: a delivered delay message is indexed again under its real topic when
//!   it is stored there). Transaction rollback records are skipped, prepared ones indexed (Java's
//!   `buildIndex`). A record below the last file's `endPhyOffset` is skipped (already indexed:
//!   Java's replay rule); the record *at* it is the last one indexed, and only the keys its chain
//!   does not hold yet are added, so a restart does not index it twice. A full file rolls to a new
//!   one named by the current local time (`yyyyMMddHHmmssSSS`).
//! * **Hash.** `abs(String.hashCode("topic#key"))` over UTF-16 code units, computed on the fly
//!   without building the string ([`key_hash`]).
//! * **Reads.** [`IndexService::query_offsets`] walks the files newest first whose time range
//!   overlaps the query (`queryOffset`); [`IndexService::query_message`] adds the store's three
//!   tries and reads the records back (`DefaultMessageStore.queryMessage`).
//! * **Recovery** ([`IndexService::recover`]): files that cannot be read (wrong size, a header
//!   whose counts lie outside the file) are renamed `<name>.damaged` with an error line, never a
//!   panic; files ending past the commit log's end likewise (the log lost those records); then the
//!   records from the last file's `endPhyOffset` to the commit log's end are indexed again (all of
//!   the log when no index file is left).
//! * **Retention.** [`IndexService::delete_below`]: files whose `endPhyOffset` is below the commit
//!   log's first offset go, never the last one (`deleteExpiredFile`).
//!
//! Synchronous and owned by one user (the `Dispatcher`), which both writes and reads: no lock.

mod file;
mod keys;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

pub use file::{IndexEntry, IndexFile, IndexHeader, IndexShape, ENTRY_SIZE, HEADER_SIZE};
pub use keys::{push_keys, IndexedKey};

use super::commit_log::FileTable;
use super::consume_queue::DispatchRun;
use super::error::{IoContext, Result};
use super::mapped_file::MappedFile;
use super::message::{decode, Decoded, KnownProperties};
use super::paths;
use super::read::CommitLogReader;

/// `maxMsgsNumBatch`: the most offsets one lookup returns.
pub const MAX_MSGS_NUM_BATCH: usize = 64;
/// `defaultQueryMaxNum`: the `maxNum` of a unique-key query (`_UNIQUE_KEY_QUERY=true`).
pub const DEFAULT_QUERY_MAX_NUM: i32 = 32;
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`.
pub const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";
/// `MessageConst.KEY_SEPARATOR`.
pub const KEY_SEPARATOR: char = ' ';
/// How long after a failed file creation the next one is tried.
const CREATE_RETRY: Duration = Duration::from_secs(1);

pub use crate::store::message::java_hash_extend;

/// `hashCode(topic + "#")`: the part of [`key_hash`] shared by every key of a record.
pub fn topic_hash(topic: &str) -> i32 {
    java_hash_extend(java_hash_extend(0, topic), "#")
}

/// `indexKeyHashMethod(topic + "#" + key)` from [`topic_hash`]: `Math.abs(hashCode)`, with
/// `Integer.MIN_VALUE` (whose `abs` stays negative) as 0.
pub fn key_hash_from(topic_hash: i32, key: &str) -> i32 {
    let h = java_hash_extend(topic_hash, key);
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

/// The index hash of `topic#key`.
pub fn key_hash(topic: &str, key: &str) -> i32 {
    key_hash_from(topic_hash(topic), key)
}

/// What the index needs of one stored record.
#[derive(Debug, Clone, Copy)]
pub struct RecordKeys<'a> {
    /// The stored topic.
    pub topic: &'a str,
    pub phy_offset: i64,
    pub store_timestamp: i64,
    pub sys_flag: i32,
    pub properties: &'a str,
}

impl<'a> RecordKeys<'a> {
    /// From a record's bytes (`None` unless they decode as a record).
    pub fn from_record(bytes: &'a [u8]) -> Option<RecordKeys<'a>> {
        match decode(bytes, false) {
            Ok(Decoded::Record(r)) => Some(RecordKeys {
                topic: r.topic,
                phy_offset: r.physical_offset,
                store_timestamp: r.store_timestamp,
                sys_flag: r.sys_flag,
                properties: r.properties,
            }),
            _ => None,
        }
    }
}

/// A lookup (`QueryMessageRequestHeader`): records indexed under `topic#key`, stored within
/// `[begin, end]` (ms), at most `max_num` (capped at [`MAX_MSGS_NUM_BATCH`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLookup {
    pub topic: String,
    pub key: String,
    pub max_num: i32,
    pub begin: i64,
    pub end: i64,
}

/// `QueryOffsetResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOffsets {
    pub offsets: Vec<i64>,
    /// The newest file's `endTimestamp` and `endPhyOffset`.
    pub last_update_timestamp: i64,
    pub last_update_phy_offset: i64,
}

/// `QueryMessageResult`: the records found (whole, verified), and the index's last update.
#[derive(Debug, Default)]
pub struct QueryMessages<'a> {
    pub records: Vec<&'a [u8]>,
    pub last_update_timestamp: i64,
    pub last_update_phy_offset: i64,
}

impl QueryMessages<'_> {
    /// The response body: the records back to back (`QueryMessageTransfer`).
    pub fn body(&self) -> bytes::Bytes {
        let mut body = bytes::BytesMut::with_capacity(self.records.iter().map(|r| r.len()).sum());
        for r in &self.records {
            body.extend_from_slice(r);
        }
        body.freeze()
    }
}

/// What recovery did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexRecovery {
    pub files: usize,
    /// Files renamed `<name>.damaged`, with why.
    pub set_aside: Vec<(PathBuf, String)>,
    /// Records indexed again from the commit log.
    pub replayed: u64,
}

/// Every index file of the store, oldest first, and the writes and lookups over them.
#[derive(Debug)]
pub struct IndexService {
    dir: PathBuf,
    shape: IndexShape,
    files: Vec<IndexFile>,
    /// A file could not be created: records are not indexed until this instant.
    create_failed_until: Option<Instant>,
    /// One record's keys, reused record after record.
    scratch: Vec<IndexedKey>,
}

impl IndexService {
    /// Opens `<root>/index` (created on the first file). Unreadable files are renamed
    /// `<name>.damaged` and reported.
    pub fn open(root: &Path, shape: IndexShape) -> Result<(IndexService, IndexRecovery)> {
        let dir = paths::index_dir(root);
        let mut service = IndexService {
            dir,
            shape,
            files: Vec::new(),
            create_failed_until: None,
            scratch: Vec::new(),
        };
        let mut report = IndexRecovery::default();
        let mut names: Vec<String> = match std::fs::read_dir(&service.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| paths::is_index_file_name(n))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).at(&service.dir),
        };
        names.sort();
        for name in names {
            let path = service.dir.join(&name);
            match IndexFile::open(&path, name, shape) {
                Ok(f) => service.files.push(f),
                Err(e) => report.set_aside.push(set_aside(&path, e.to_string())?),
            }
        }
        report.files = service.files.len();
        Ok((service, report))
    }

    /// Start-up, before the index is shared: drops files that end past the commit log's end
    /// (`write_offset`) or lie wholly below its first file, then indexes the records from the
    /// last file's `endPhyOffset` (the whole log if no file is left) up to `write_offset`.
    pub fn recover(
        &mut self,
        log_files: &[MappedFile],
        write_offset: u64,
        report: &mut IndexRecovery,
    ) -> Result<()> {
        while let Some(last) = self.files.last() {
            let end = last.header().end_phy_offset;
            if last.entries() == 0 || (end as u64) < write_offset {
                break;
            }
            let f = self.files.pop().expect("checked");
            let why = format!("ends at record {end}, past the commit log's end {write_offset}");
            report.set_aside.push(set_aside(f.path(), why)?);
        }
        if let Some(first) = log_files.first() {
            self.delete_below(first.start_offset());
        }
        let from = self
            .files
            .last()
            .map_or(0, |f| f.header().end_phy_offset.max(0) as u64);
        for file in log_files {
            let start = file.start_offset();
            if start + file.size() <= from || start >= write_offset {
                continue;
            }
            let bytes = file.read(0, file.readable_end()).unwrap_or_default();
            let pos = from.saturating_sub(start) as usize;
            let (n, ok) = self.replay(bytes, start, pos, write_offset);
            report.replayed += n;
            if !ok && pos > 0 {
                // `endPhyOffset` is not a record boundary in this file: walk it from its start.
                report.replayed += self.replay(bytes, start, 0, write_offset).0;
            }
        }
        Ok(())
    }

    /// Indexes the records of one commit-log file from `pos`; returns how many, and whether the
    /// first position held a record (or the end of the data).
    fn replay(&mut self, bytes: &[u8], file_start: u64, mut pos: usize, end: u64) -> (u64, bool) {
        let (mut n, mut first) = (0, true);
        while pos < bytes.len() && file_start + (pos as u64) < end {
            match decode(&bytes[pos..], false) {
                Ok(Decoded::Record(r)) if r.physical_offset == (file_start + pos as u64) as i64 => {
                    self.put(&RecordKeys {
                        topic: r.topic,
                        phy_offset: r.physical_offset,
                        store_timestamp: r.store_timestamp,
                        sys_flag: r.sys_flag,
                        properties: r.properties,
                    });
                    pos += r.len();
                    n += 1;
                }
                Ok(Decoded::Blank { .. }) | Ok(Decoded::End) => return (n, true),
                _ => return (n, !first),
            }
            first = false;
        }
        (n, true)
    }

    /// The dispatch path: indexes the records of `runs` (just appended, in commit-log order),
    /// read back through `files`. A record that cannot be read or decoded is skipped.
    pub fn put_runs(&mut self, runs: &[DispatchRun], files: &FileTable) {
        let reader = CommitLogReader {
            files,
            // Bytes are only ever read below each file's published end.
            end: u64::MAX,
        };
        for e in runs.iter().flat_map(|r| r.entries.iter()) {
            let keys = reader
                .bytes(e.commit_log_offset, e.size)
                .and_then(RecordKeys::from_record);
            if let Some(keys) = keys {
                self.put(&keys);
            }
        }
    }

    /// Number of files.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The files, oldest first.
    pub fn files(&self) -> &[IndexFile] {
        &self.files
    }

    /// `buildIndex`: indexes one record under its unique key and each of its keys.
    pub fn put(&mut self, r: &RecordKeys<'_>) {
        // One walk over the properties (runs for every message dispatched).
        let found = KnownProperties::scan(r.properties);
        let mut keys = std::mem::take(&mut self.scratch);
        keys.clear();
        push_keys(
            r.topic,
            r.phy_offset,
            r.store_timestamp,
            r.sys_flag,
            &found,
            &mut keys,
        );
        self.put_record(&keys);
        self.scratch = keys;
    }

    /// The dispatch path for keys derived already (a slave's writer, [`push_keys`]): records'
    /// keys in commit-log order.
    pub fn put_keys(&mut self, keys: &[IndexedKey]) {
        for record in keys.chunk_by(|a, b| a.phy_offset == b.phy_offset) {
            self.put_record(record);
        }
    }

    /// Indexes the keys of one record (all at one physical offset).
    fn put_record(&mut self, keys: &[IndexedKey]) {
        let Some(first) = keys.first() else {
            return;
        };
        let Some(last) = self.writable() else {
            return;
        };
        let end = last.header().end_phy_offset;
        if first.phy_offset < end {
            return;
        }
        let replay = first.phy_offset == end && last.entries() > 0;
        for k in keys {
            if replay
                && self
                    .files
                    .last()
                    .is_some_and(|f| f.contains(k.hash, k.phy_offset))
            {
                continue;
            }
            if !self.put_key(k.hash, k.phy_offset, k.store_timestamp) {
                return;
            }
        }
    }

    /// Puts one key into the last file, rolling to a new file when it is full. False if no file
    /// could take it.
    fn put_key(&mut self, hash: i32, phy_offset: i64, store_timestamp: i64) -> bool {
        loop {
            let Some(last) = self.writable() else {
                return false;
            };
            match last.put(hash, phy_offset, store_timestamp) {
                Ok(true) => return true,
                Ok(false) => continue, // full: `writable` rolls
                Err(e) => {
                    error!(file = %last.path().display(), error = %e, "index write failed; key not indexed");
                    return false;
                }
            }
        }
    }

    /// The file to write: the last one, or a new one if there is none or it is full
    /// (`getAndCreateLastIndexFile`). `None` while creation fails (retried after a second).
    fn writable(&mut self) -> Option<&mut IndexFile> {
        if self.files.last().is_none_or(IndexFile::is_full) {
            if self.create_failed_until.is_some_and(|t| Instant::now() < t) {
                return None;
            }
            match self.create_next() {
                Ok(()) => self.create_failed_until = None,
                Err(e) => {
                    if self.create_failed_until.is_none() {
                        error!(dir = %self.dir.display(), error = %e,
                            "creating an index file failed; records are not indexed until it succeeds");
                    }
                    self.create_failed_until = Some(Instant::now() + CREATE_RETRY);
                    return None;
                }
            }
        }
        self.files.last_mut()
    }

    fn create_next(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let (end_phy, end_ts) = self.files.last().map_or((0, 0), |f| {
            (f.header().end_phy_offset, f.header().end_timestamp)
        });
        let mut name = paths::index_file_name(super::now_ms());
        if let Some(last) = self.files.last() {
            // Names sort in creation order; two files within one millisecond must too.
            if name.as_str() <= last.name() {
                let next = last.name().parse::<u64>().map_or(0, |n| n + 1);
                name = format!("{next:017}");
            }
            // The full file is complete: make it durable before moving on (Java flushes it too).
            if let Err(e) = last.flush() {
                error!(file = %last.path().display(), error = %e, "flushing a full index file failed");
            }
        }
        let f = IndexFile::create(&self.dir, name, self.shape, end_phy, end_ts)?;
        info!(file = %f.path().display(), bytes = self.shape.file_size(), "index file created");
        self.files.push(f);
        Ok(())
    }

    /// `queryOffset`: up to `min(max, 64)` commit-log offsets of records indexed under
    /// `topic#key` and stored within `[begin, end]` (ms), newest file first.
    pub fn query_offsets(&self, q: &KeyLookup) -> QueryOffsets {
        let (begin, end) = (q.begin, q.end);
        let max = (q.max_num.max(0) as usize).min(MAX_MSGS_NUM_BATCH);
        let mut result = QueryOffsets::default();
        if let Some(last) = self.files.last() {
            result.last_update_timestamp = last.header().end_timestamp;
            result.last_update_phy_offset = last.header().end_phy_offset;
        }
        let hash = key_hash(&q.topic, &q.key);
        for f in self.files.iter().rev() {
            if f.is_time_matched(begin, end) {
                f.select(hash, max, begin, end, &mut result.offsets);
            }
            if f.header().begin_timestamp < begin || result.offsets.len() >= max {
                break;
            }
        }
        result
    }

    /// `DefaultMessageStore.queryMessage`: the records of [`IndexService::query_offsets`], in
    /// commit-log order, read with `record_at` (`None` for an offset with no readable record:
    /// skipped). Up to three tries, each ending before the first record found by the previous.
    pub fn query_message<'a>(
        &self,
        lookup: &KeyLookup,
        record_at: impl Fn(i64) -> Option<&'a [u8]>,
    ) -> QueryMessages<'a> {
        let mut result = QueryMessages::default();
        let (begin, mut last_query_time) = (lookup.begin, lookup.end);
        for _ in 0..3 {
            let mut q = self.query_offsets(&KeyLookup {
                end: last_query_time,
                ..lookup.clone()
            });
            if q.offsets.is_empty() {
                break;
            }
            q.offsets.sort_unstable();
            result.last_update_timestamp = q.last_update_timestamp;
            result.last_update_phy_offset = q.last_update_phy_offset;
            for (m, offset) in q.offsets.iter().enumerate() {
                let Some(record) = record_at(*offset) else {
                    continue;
                };
                if m == 0 {
                    if let Some(r) = RecordKeys::from_record(record) {
                        last_query_time = r.store_timestamp;
                    }
                }
                result.records.push(record);
            }
            if !result.records.is_empty() || last_query_time < begin {
                break;
            }
        }
        result
    }

    /// Retention (`deleteExpiredFile`): deletes the files, oldest first and never the last,
    /// whose `endPhyOffset` is below `commit_log_min`. Returns how many went.
    pub fn delete_below(&mut self, commit_log_min: u64) -> usize {
        let mut n = 0;
        while self.files.len() > 1
            && (self.files[0].header().end_phy_offset as u64) < commit_log_min
        {
            let f = self.files.remove(0);
            let path = f.path().to_path_buf();
            match f.destroy() {
                Ok(()) => {
                    info!(file = %path.display(), commit_log_min, "index file deleted with the commit log it indexed");
                    n += 1;
                }
                Err(e) => {
                    error!(file = %path.display(), error = %e, "deleting an expired index file failed");
                    break;
                }
            }
        }
        n
    }

    /// [`IndexService::flush`], a failure logged (the next flush tries again) and answered 0.
    pub fn flush_logged(&self) -> i64 {
        self.flush().unwrap_or_else(|e| {
            error!(error = %e, "flushing the index failed; will retry");
            0
        })
    }

    /// msyncs the file being written (full files were flushed when they filled). Returns the
    /// `endTimestamp` now durable (the checkpoint's `indexMsgTimestamp`), 0 without files.
    pub fn flush(&self) -> Result<i64> {
        match self.files.last() {
            Some(f) => {
                f.flush()?;
                Ok(f.header().end_timestamp)
            }
            None => Ok(0),
        }
    }
}

/// Renames a file recovery cannot use to `<name>.damaged` (kept for inspection, ignored by
/// actormq and by Java's broker) and logs why.
fn set_aside(path: &Path, why: String) -> Result<(PathBuf, String)> {
    let mut to = path.as_os_str().to_owned();
    to.push(".damaged");
    let to = PathBuf::from(to);
    std::fs::rename(path, &to).at(path)?;
    warn!(file = %path.display(), to = %to.display(), reason = %why,
        "index file set aside; its records are indexed again from the commit log");
    Ok((to, why))
}

#[cfg(test)]
mod tests;
