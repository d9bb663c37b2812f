//! `actormq store check`: do the consume queues agree with the commit log?
//!
//! A pure, read-only audit of a store that no broker is writing: every commit-log file is scanned
//! as recovery scans it ([`scan`]), giving, per topic and queue, the records in log order with
//! their queue offset, physical offset, size and tag code; every consume-queue file is read as
//! entries. They agree when each record has the entry at its queue offset that names exactly it,
//! and each entry (of a record still in the commit log) names a record of its own topic and queue.
//! Entries pointing below the first commit-log file (deleted by retention) and the blank entries
//! a rebuilt queue starts with (`fillPreBlank`) are not checked. In the delay-level and timer
//! topics the tag code is not compared: the send path stores the delivery time there (computed from
//! the configured levels), recovery's rebuild the tag hash (docs/architecture.md, "Known edges"). The crash tests run it after
//! every kill -9 round; operators run it through the CLI.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::consume_queue::{CqEntry, CQ_ENTRY_SIZE};
use super::error::{IoContext, Result};
use super::mapped_file::MappedFile;
use super::paths;
use super::recovery::{scan, StopReason};

/// At most this many problems are listed (the count goes on).
const MAX_LISTED: usize = 100;

/// What [`consume_queues_agree`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Records scanned in the commit log.
    pub records: u64,
    /// Queues (topic, queue id) seen in either the commit log or the consume-queue folders.
    pub queues: usize,
    /// Consume-queue entries compared against a record.
    pub entries: u64,
    /// Disagreements, the first `MAX_LISTED` of them, each one line.
    pub problems: Vec<String>,
    /// How many disagreements there were in all.
    pub problem_count: usize,
}

impl CheckReport {
    /// Whether every queue agrees with the commit log.
    pub fn ok(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, what: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(what);
        }
    }

    /// One line: the counts and, on disagreement, the first problem.
    pub fn summary(&self) -> String {
        let counts = format!(
            "{} records, {} queues, {} entries",
            self.records, self.queues, self.entries
        );
        match self.problems.first() {
            None => format!("consume queues agree with the commit log: {counts}"),
            Some(first) => format!(
                "consume queues disagree with the commit log ({} problems; {counts}): {first}",
                self.problem_count
            ),
        }
    }
}

type QueueKey = (String, i32);

/// The commit log's records per queue: queue offset -> the entry the record calls for.
type Expected = HashMap<QueueKey, BTreeMap<i64, CqEntry>>;

/// Compares every consume queue under `root` with a scan of `root/commitlog` (see the module
/// doc). Read-only; I/O errors (a file that cannot be opened) are errors, disagreements are
/// listed in the report.
pub fn consume_queues_agree(root: &Path) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let (expected, log_start) = scan_commit_log(root, &mut report)?;
    let dirs = paths::consume_queue_dirs(root)?;
    let mut keys: Vec<QueueKey> = expected.keys().cloned().collect();
    keys.extend(dirs.iter().map(|d| (d.topic.clone(), d.queue_id)));
    keys.sort();
    keys.dedup();
    report.queues = keys.len();
    let empty = BTreeMap::new();
    for key in keys {
        // A topic read from a damaged record may name no directory of this store (`/x`, `..`):
        // it has no queue, and its records are reported as unqueued.
        let entries = if paths::is_safe_dir_name(&key.0) {
            read_queue(&paths::consume_queue_dir(root, &key.0, key.1))?
        } else {
            BTreeMap::new()
        };
        let records = expected.get(&key).unwrap_or(&empty);
        compare(&key, &entries, records, log_start, &mut report);
    }
    Ok(report)
}

/// Scans every commit-log file; returns the records per queue and the log's first offset.
fn scan_commit_log(root: &Path, report: &mut CheckReport) -> Result<(Expected, u64)> {
    let mut expected = Expected::new();
    let files = paths::list_files(&paths::commitlog_dir(root))?;
    let log_start = files.first().map_or(0, |(start, _)| *start);
    let mut ended: Option<(u64, StopReason)> = None;
    for (start, path) in files {
        let len = std::fs::metadata(&path).at(&path)?.len();
        if len == 0 {
            continue;
        }
        let file = MappedFile::open(&path, start, len)?;
        let bytes = file.read(0, file.readable_end()).unwrap_or_default();
        let scanned = scan(bytes, start, false);
        if let (Some((at, why)), Some(first)) = (&ended, scanned.records.first()) {
            report.problem(format!(
                "commit log: records from {} on follow the end of the log at {at} ({why:?})",
                start + first.offset_in_file as u64
            ));
        }
        for r in &scanned.records {
            report.records += 1;
            let entry = CqEntry {
                commit_log_offset: (start + r.offset_in_file as u64) as i64,
                size: r.size as i32,
                tags_code: r.tags_code,
            };
            let queue = expected.entry((r.topic.clone(), r.queue_id)).or_default();
            if let Some(other) = queue.insert(r.queue_offset, entry) {
                report.problem(format!(
                    "commit log: {}/{} queue offset {} is held by the records at {} and {}",
                    r.topic,
                    r.queue_id,
                    r.queue_offset,
                    other.commit_log_offset,
                    entry.commit_log_offset
                ));
            }
        }
        if !matches!(scanned.stop, StopReason::Blank | StopReason::FileFull) && ended.is_none() {
            ended = Some((start + scanned.valid_len as u64, scanned.stop));
        }
    }
    Ok((expected, log_start))
}

/// The entries of the queue in `dir`, by index: every whole entry of every file, up to the first
/// entry with `size <= 0` (the end, as the broker finds it).
fn read_queue(dir: &Path) -> Result<BTreeMap<i64, CqEntry>> {
    let mut entries = BTreeMap::new();
    for (start, path) in paths::list_files(dir)? {
        let bytes = std::fs::read(&path).at(&path)?;
        let first = (start / CQ_ENTRY_SIZE as u64) as i64;
        for (i, chunk) in bytes.chunks_exact(CQ_ENTRY_SIZE).enumerate() {
            let e = CqEntry::decode(chunk);
            if e.size <= 0 {
                return Ok(entries);
            }
            entries.insert(first + i as i64, e);
        }
    }
    Ok(entries)
}

/// Blank entries written before a rebuilt queue's first record (`ConsumeQueue::start_at`).
fn is_blank(e: &CqEntry) -> bool {
    e.commit_log_offset == 0 && e.size == i32::MAX
}

/// Topics whose consume-queue tag code is a delivery time, not the tag hash a scan gives.
fn tag_code_is_a_time(topic: &str) -> bool {
    topic == crate::schedule::SCHEDULE_TOPIC || topic == crate::timer::TIMER_TOPIC
}

fn compare(
    (topic, queue_id): &QueueKey,
    entries: &BTreeMap<i64, CqEntry>,
    records: &BTreeMap<i64, CqEntry>,
    log_start: u64,
    report: &mut CheckReport,
) {
    let show = |e: &CqEntry| format!("({}, {}, {})", e.commit_log_offset, e.size, e.tags_code);
    let times = tag_code_is_a_time(topic);
    for (index, record) in records {
        let entry = entries.get(index).map(|e| CqEntry {
            tags_code: if times { record.tags_code } else { e.tags_code },
            ..*e
        });
        match entry.as_ref() {
            None => report.problem(format!(
                "{topic}/{queue_id}: no entry {index} for the record {}",
                show(record)
            )),
            Some(e) if e != record => report.problem(format!(
                "{topic}/{queue_id}: entry {index} is {}, the commit log says {}",
                show(e),
                show(record)
            )),
            Some(_) => report.entries += 1,
        }
    }
    for (index, e) in entries {
        let live = !is_blank(e) && e.commit_log_offset >= log_start as i64;
        if live && !records.contains_key(index) {
            report.problem(format!(
                "{topic}/{queue_id}: entry {index} {} names no record of this queue",
                show(e)
            ));
        }
    }
}

#[cfg(test)]
mod tests;
