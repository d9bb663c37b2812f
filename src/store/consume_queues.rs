//! Every consume queue of the store (`<root>/consumequeue/<topic>/<queueId>/`), and the reput
//! state machine that fills them from the commit log (RocketMQ's `ReputMessageService`).
//!
//! * [`ConsumeQueues::recover`] runs at start-up, before anything is shared, and makes the queues
//!   match the commit log exactly: entries past its end are cut, missing ones rebuilt from the
//!   records, entries below its first file (deleted by retention) forgotten.
//! * [`Reput`] indexes the runs the commit log hands out as it appends. In sync-flush mode it holds
//!   them until the flushed offset covers them (consumers see only durable records). A queue whose
//!   file cannot be created or written (disk full, permissions) keeps its runs in order and is
//!   retried ([`Reput::retry_stalled`]), so it catches up without a restart.
//!
//! The caller (the `Dispatcher` actor) learns which runs were indexed, to wake the pulls parked on
//! their queues.

use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::{debug, error, info, warn};

use super::commit_log::QueueOffsets;
use super::consume_queue::{
    ConsumeQueue, CqEntry, CqLayout, DispatchRun, CQ_ENTRY_SIZE, MAX_QUEUE_OFFSET,
};
use super::mapped_file::MappedFile;
use super::recovery::scan;
use super::{paths, StoreError};
use crate::stats_items::Tally;
use crate::FastMap;

/// `MixAll.LMQ_PREFIX`: light message queue topics, which `cleanUnusedTopic` leaves alone.
const LMQ_PREFIX: &str = "%LMQ%";

/// Entries per consume-queue file (RocketMQ's `mapedFileSizeConsumeQueue` / 20): 6,000,000 bytes.
pub const CQ_ENTRIES_PER_FILE: u64 = 300_000;

/// Every consume queue: topic -> queue id -> queue.
#[derive(Debug)]
pub struct ConsumeQueues {
    root: PathBuf,
    layout: CqLayout,
    queues: FastMap<String, FastMap<i32, ConsumeQueue>>,
}

impl ConsumeQueues {
    /// No queues yet, under store root `root`.
    pub fn new(root: PathBuf, layout: CqLayout) -> ConsumeQueues {
        ConsumeQueues {
            root,
            layout,
            queues: FastMap::default(),
        }
    }

    /// Opens the consume queues under `root` and makes them match the commit log (start-up):
    /// entries whose record ends past `write_offset` are dropped, every queue with fewer entries
    /// than `expected` (the next queue offsets commit-log recovery found) is rebuilt by scanning
    /// `files` from the end of its last entry (a queue with no file left starts at its first
    /// surviving record, `ConsumeQueue::start_at`), and entries below the first commit-log file
    /// (deleted by retention) are forgotten. `expected` is then raised to every queue's max
    /// offset: a queue whose records lie only in unscanned or deleted files continues where it
    /// was, so no queue offset is ever handed out twice. Returns the queues and how many entries
    /// were added.
    pub fn recover(
        root: &Path,
        layout: CqLayout,
        files: &[MappedFile],
        write_offset: u64,
        expected: &mut QueueOffsets,
    ) -> Result<(ConsumeQueues, u64), StoreError> {
        let mut queues = ConsumeQueues::open_all(root, layout)?;
        queues.truncate_past(write_offset)?;
        let mut added = 0;
        if let Some(from) = queues.rebuild_from(expected) {
            added = queues.rebuild(files, from, write_offset)?;
        }
        if let Some(first) = files.first().map(|f| f.start_offset()).filter(|s| *s > 0) {
            queues.forget_below(first);
        }
        for (topic, ids) in &queues.queues {
            let next_offsets = expected.entry(topic.clone()).or_default();
            for (queue_id, cq) in ids {
                let next = next_offsets.entry(*queue_id).or_insert(0);
                *next = (*next).max(cq.max_offset() as i64);
                cq.flush()?;
            }
        }
        Ok((queues, added))
    }

    /// Opens every queue directory under `<root>/consumequeue` (names that are not a topic and a
    /// queue id are skipped).
    fn open_all(root: &Path, layout: CqLayout) -> Result<ConsumeQueues, StoreError> {
        let mut queues = ConsumeQueues::new(root.to_path_buf(), layout);
        for dir in paths::consume_queue_dirs(root)? {
            let cq = ConsumeQueue::open(dir.path, layout)?;
            queues
                .queues
                .entry(dir.topic)
                .or_default()
                .insert(dir.queue_id, cq);
        }
        Ok(queues)
    }

    /// Drops the entries whose records end past the commit log's end.
    fn truncate_past(&mut self, write_offset: u64) -> Result<(), StoreError> {
        for (topic, ids) in &mut self.queues {
            for (queue_id, cq) in ids {
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
            }
        }
        Ok(())
    }

    /// The earliest commit-log offset some queue is missing entries from, if any.
    fn rebuild_from(&self, expected: &QueueOffsets) -> Option<u64> {
        let mut from: Option<u64> = None;
        for (topic, ids) in expected {
            for (queue_id, next) in ids {
                let cq = self.get(topic, *queue_id);
                let have = cq.map_or(0, |q| q.max_offset() as i64);
                if have < *next {
                    let start = cq
                        .and_then(ConsumeQueue::last_entry)
                        .map_or(0, |e| e.end() as u64);
                    from = Some(from.map_or(start, |f| f.min(start)));
                }
            }
        }
        from
    }

    /// Indexes every record in `[from, write_offset)` that its queue does not hold yet.
    fn rebuild(
        &mut self,
        files: &[MappedFile],
        from: u64,
        write_offset: u64,
    ) -> Result<u64, StoreError> {
        let mut added = 0;
        for file in files {
            let size = file.size();
            if file.start_offset() + size <= from || file.start_offset() >= write_offset {
                continue;
            }
            let bytes = file.read(0, file.readable_end()).unwrap_or_default();
            for r in scan(bytes, file.start_offset(), false).records {
                let physical = file.start_offset() + r.offset_in_file as u64;
                if physical < from || physical + r.size as u64 > write_offset {
                    continue;
                }
                let index = r.queue_offset as u64;
                if r.queue_offset < 0 || index > MAX_QUEUE_OFFSET {
                    // Not a queue offset the writer hands out: the field is damaged (the body
                    // CRC does not cover it). Indexing it would start the queue there.
                    warn!(
                        topic = r.topic,
                        queue_id = r.queue_id,
                        queue_offset = r.queue_offset,
                        physical,
                        "record's queue offset is out of range; not indexed"
                    );
                    continue;
                }
                if !paths::is_safe_dir_name(&r.topic) {
                    warn!(
                        topic = r.topic.escape_debug().to_string(),
                        physical,
                        "record's topic cannot name a consume-queue directory; not indexed"
                    );
                    continue;
                }
                let cq = self.open_or_create(&r.topic, r.queue_id)?;
                if index < cq.max_offset() {
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
                let entry = CqEntry {
                    commit_log_offset: physical as i64,
                    size: r.size as i32,
                    tags_code: r.tags_code,
                };
                cq.append(index, entry)?;
                added += 1;
            }
        }
        Ok(added)
    }

    /// The queue for `topic`/`queue_id`, if it exists.
    pub fn get(&self, topic: &str, queue_id: i32) -> Option<&ConsumeQueue> {
        self.queues.get(topic).and_then(|q| q.get(&queue_id))
    }

    /// Number of queues.
    pub fn len(&self) -> usize {
        self.queues.values().map(FastMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue for `topic`/`queue_id`, opened (or created empty) on first use.
    fn open_or_create(
        &mut self,
        topic: &str,
        queue_id: i32,
    ) -> Result<&mut ConsumeQueue, StoreError> {
        if !self.queues.contains_key(topic) {
            if !paths::is_safe_dir_name(topic) {
                return Err(StoreError::Invalid(format!(
                    "topic {topic:?} cannot name a consume-queue directory"
                )));
            }
            self.queues.insert(topic.to_string(), FastMap::default());
        }
        let ids = self.queues.get_mut(topic).expect("just inserted");
        Ok(match ids.entry(queue_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let dir = paths::consume_queue_dir(&self.root, topic, queue_id);
                e.insert(ConsumeQueue::open(dir, self.layout)?)
            }
        })
    }

    /// Appends `run`'s entries to its consume queue (opening it on first use). Entries already
    /// there are skipped, so a run that failed half way can simply be indexed again.
    pub fn index(&mut self, run: &DispatchRun) -> Result<(), StoreError> {
        // A topic with queues here passed this check when its first queue was opened.
        if !self.queues.contains_key(&*run.topic) && !paths::is_safe_dir_name(&run.topic) {
            // Only a damaged or foreign record gets here (sends check topic names): retrying
            // would never succeed, so the records stay in the commit log, unqueued.
            warn!(
                topic = run.topic.escape_debug().to_string(),
                records = run.entries.len(),
                "topic cannot name a consume-queue directory; records not queued"
            );
            return Ok(());
        }
        let cq = self.open_or_create(&run.topic, run.queue_id)?;
        let (mut appended, mut bytes) = (0, 0);
        for (i, entry) in run.entries.iter().enumerate() {
            let index = (run.first_queue_offset + i as i64) as u64;
            if index >= cq.max_offset() {
                if let Err(e) = cq.append(index, *entry) {
                    cq.count_put(appended, bytes);
                    return Err(e);
                }
                appended += 1;
                bytes += entry.size.max(0) as u64;
            }
        }
        // One run is one append (a send, a batch): Java's `times` of TOPIC_PUT_NUMS.
        cq.count_put(appended, bytes);
        Ok(())
    }

    /// What each topic's queues took since start-up (topics with nothing yet left out).
    pub fn put_tallies(&self) -> Vec<(String, Tally)> {
        let mut tallies = Vec::new();
        for (topic, ids) in &self.queues {
            let mut sum = Tally::default();
            ids.values().for_each(|cq| sum.merge(&cq.puts()));
            if !sum.is_zero() {
                tallies.push((topic.clone(), sum));
            }
        }
        tallies
    }

    /// Retention: every queue forgets the entries whose records lie below `commit_log_min` (the
    /// commit log's first offset after files were deleted); consumers asking for them get
    /// `OFFSET_TOO_SMALL` with the new minimum. Failures are logged: the entries then stay,
    /// unreadable. Returns the files removed.
    pub fn forget_below(&mut self, commit_log_min: u64) -> usize {
        let mut files = 0;
        for (topic, by_id) in self.queues.iter_mut() {
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
        files
    }

    /// Empties every queue of `topic` ([`ConsumeQueue::clear`]: each keeps its next offset, so
    /// a topic created again continues there and a restart does not bring the old entries back);
    /// a queue that never held an entry goes with its directory. Returns the queues emptied;
    /// failures are logged and the other queues still emptied (a queue that failed is retried
    /// by the next call).
    pub fn clear_topic(&mut self, topic: &str) -> usize {
        let Some(ids) = self.queues.get_mut(topic) else {
            return 0;
        };
        let mut cleared = 0;
        ids.retain(|queue_id, cq| match cq.clear() {
            Ok(()) if cq.max_offset() == 0 => {
                let _ = std::fs::remove_dir(cq.dir());
                cleared += 1;
                false
            }
            Ok(()) => {
                cleared += 1;
                true
            }
            Err(e) => {
                error!(topic, queue_id, error = %e, "emptying a deleted topic's consume queue failed");
                true
            }
        });
        if ids.is_empty() {
            self.queues.remove(topic);
            let _ = std::fs::remove_dir(paths::consume_queue_root(&self.root).join(topic));
        }
        info!(
            topic,
            queues = cleared,
            "consume queues of a deleted topic emptied"
        );
        cleared
    }

    /// Java's `cleanUnusedTopic` (`mqadmin cleanUnusedTopic`): empties the queues of every topic
    /// that `is_kept` refuses (one no longer in the topic table), except the broker's own
    /// (`is_system`) and LMQ topics. Topics already empty are left as they are. Returns the
    /// topics emptied.
    pub fn clear_unused(
        &mut self,
        is_kept: impl Fn(&str) -> bool,
        is_system: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let unused: Vec<String> = self
            .queues
            .iter()
            .filter(|(t, _)| !is_kept(t) && !is_system(t) && !t.starts_with(LMQ_PREFIX))
            .filter(|(_, ids)| ids.values().any(|cq| !cq.is_cleared()))
            .map(|(t, _)| t.clone())
            .collect();
        for topic in &unused {
            self.clear_topic(topic);
        }
        unused
    }

    /// msyncs every queue's written entries; failures are logged (the next flush tries again).
    pub fn flush_all(&self) {
        for (topic, ids) in &self.queues {
            for (queue_id, cq) in ids {
                if let Err(e) = cq.flush() {
                    error!(topic, queue_id, error = %e, "flushing a consume queue failed");
                }
            }
        }
    }
}

/// The reput state machine: indexes the commit log's runs into the consume queues.
#[derive(Debug)]
pub struct Reput {
    queues: ConsumeQueues,
    /// End of the last record handed to the queues: every byte below it may be read.
    dispatched: u64,
    /// Sync-flush mode: the flushed offset; runs beyond it wait in `held`.
    flushed: Option<u64>,
    held: VecDeque<DispatchRun>,
    /// Runs a queue could not take, per queue in arrival order; later runs for a stalled queue
    /// wait behind them.
    stalled: FastMap<(Arc<str>, i32), VecDeque<DispatchRun>>,
    /// A consume-queue file could not be created for lack of space since the last
    /// [`Reput::take_out_of_space`]: the bytes it needed.
    out_of_space: Option<u64>,
}

impl Reput {
    /// `write_offset`: the commit-log end at start-up (everything below is indexed by
    /// [`ConsumeQueues::recover`]); `sync_flush`: hold runs until [`Reput::flushed`] covers them.
    pub fn new(queues: ConsumeQueues, write_offset: u64, sync_flush: bool) -> Reput {
        Reput {
            queues,
            dispatched: write_offset,
            flushed: sync_flush.then_some(write_offset),
            held: VecDeque::new(),
            stalled: FastMap::default(),
            out_of_space: None,
        }
    }

    /// The bytes a consume-queue file failed to get for lack of space since the last call (its
    /// records are held and retried): the store is full until they are available.
    pub fn take_out_of_space(&mut self) -> Option<u64> {
        self.out_of_space.take()
    }

    fn note_failure(&mut self, e: &StoreError) {
        if e.is_out_of_space() {
            let file = self.queues.layout.entries_per_file * CQ_ENTRY_SIZE as u64;
            self.out_of_space = self.out_of_space.max(Some(file));
        }
    }

    pub fn queues(&self) -> &ConsumeQueues {
        &self.queues
    }

    pub fn queues_mut(&mut self) -> &mut ConsumeQueues {
        &mut self.queues
    }

    /// End of the last record handed to the queues (readers may read below it).
    pub fn dispatched(&self) -> u64 {
        self.dispatched
    }

    /// Queues that could not take their records and are being retried.
    pub fn stalled_queues(&self) -> usize {
        self.stalled.len()
    }

    /// New runs from the commit log, in its order. Returns the runs indexed now.
    pub fn records(&mut self, runs: Vec<DispatchRun>) -> Vec<DispatchRun> {
        if self.flushed.is_some() || !self.held.is_empty() {
            self.held.extend(runs);
            return self.drain_held();
        }
        // Async flush, nothing held: every run is dispatched now, in order, and the ones indexed
        // are returned in the vector they came in (collected in place: no copy, no allocation).
        runs.into_iter()
            .filter_map(|run| self.dispatch(run))
            .collect()
    }

    /// Sync-flush mode: the commit log is durable below `offset`. Returns the runs indexed now.
    pub fn flushed(&mut self, offset: u64) -> Vec<DispatchRun> {
        if let Some(f) = &mut self.flushed {
            *f = (*f).max(offset);
        }
        self.drain_held()
    }

    /// Dispatches the held runs the flushed offset covers (all of them in async mode).
    fn drain_held(&mut self) -> Vec<DispatchRun> {
        let mut indexed = Vec::with_capacity(self.held.len());
        while let Some(run) = self.held.front() {
            if self.flushed.is_some_and(|f| run.end() > f) {
                break;
            }
            let run = self.held.pop_front().expect("checked");
            indexed.extend(self.dispatch(run));
        }
        indexed
    }

    /// Indexes one run, or queues it behind its stalled queue's earlier runs; either way it counts
    /// as handed to the queues.
    fn dispatch(&mut self, run: DispatchRun) -> Option<DispatchRun> {
        self.dispatched = self.dispatched.max(run.end());
        if !self.stalled.is_empty() {
            if let Some(waiting) = self.stalled.get_mut(&(run.topic.clone(), run.queue_id)) {
                waiting.push_back(run);
                return None;
            }
        }
        match self.queues.index(&run) {
            Ok(()) => Some(run),
            Err(e) => {
                error!(topic = &*run.topic, queue_id = run.queue_id, error = %e,
                    "consume-queue append failed; the queue's records are held and retried");
                self.note_failure(&e);
                self.stalled
                    .entry((run.topic.clone(), run.queue_id))
                    .or_default()
                    .push_back(run);
                None
            }
        }
    }

    /// Indexes the stalled runs again, each queue in order, stopping at a queue's first failure.
    /// Returns the runs indexed now.
    pub fn retry_stalled(&mut self) -> Vec<DispatchRun> {
        let mut indexed = Vec::new();
        let keys: Vec<(Arc<str>, i32)> = self.stalled.keys().cloned().collect();
        for key in keys {
            while let Some(run) = self.stalled.get_mut(&key).and_then(VecDeque::pop_front) {
                if let Err(e) = self.queues.index(&run) {
                    debug!(topic = &*key.0, queue_id = key.1, error = %e, "consume queue still failing");
                    self.note_failure(&e);
                    self.stalled.get_mut(&key).expect("present").push_front(run);
                    break;
                }
                indexed.push(run);
            }
            if self.stalled.get(&key).is_some_and(VecDeque::is_empty) {
                self.stalled.remove(&key);
                info!(
                    topic = &*key.0,
                    queue_id = key.1,
                    "consume queue caught up after failures"
                );
            }
        }
        indexed
    }
}

#[cfg(test)]
pub(crate) mod tests;
