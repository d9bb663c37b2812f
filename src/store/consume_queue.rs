//! Consume queues: the per topic-queue index into the commit log.
//!
//! A consume queue is a sequence of fixed 20-byte entries
//! `i64 commitLogOffset | i32 size | i64 tagsCode` (RocketMQ `ConsumeQueue`), where entry
//! `n` sits at byte `n * 20` of the logical queue. The bytes are split over fixed-size,
//! memory-mapped files named by their starting byte offset. Consumers address messages
//! by entry index ("queue offset"); the entry gives the record's place in the commit log
//! and the tag hash used for server-side filtering.
//!
//! A file's name and logical size are RocketMQ's (name = first byte offset, 300,000 entries of 20
//! bytes), so entry positions never change; but a new file starts with a short disk length
//! ([`CqLayout::initial_bytes`], 64 KiB by default) and doubles, by `fallocate` and a new mapping,
//! when an append would pass it, up to the full size: a new topic's queue with one message costs
//! 64 KiB instead of 5.7 MiB. Only the last file can be short; a full (sealed) file is exactly
//! `entries_per_file * 20` bytes. Recovery accepts a short last file (valid entries, then zeros or
//! the end of the file); [`finalize_dir`] extends short files to full size for a Java broker,
//! which refuses files of another length.
//!
//! Entries always have `size > 0`, so on restart the end of the queue is the first
//! entry with `size <= 0` in the last file. After commit-log recovery,
//! [`ConsumeQueue::truncate_from_physical`] drops entries pointing past the recovered end.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::error::{IoContext, Result, StoreError};
use super::mapped_file::MappedFile;
use super::paths;
use crate::stats_items::Tally;

/// Size of one consume-queue entry (`CQ_STORE_UNIT_SIZE`).
pub const CQ_ENTRY_SIZE: usize = 20;

/// Disk length a new consume-queue file starts with: 64 KiB (3,276 entries).
pub const DEFAULT_CQ_INITIAL_BYTES: u64 = 64 * 1024;

/// The geometry of consume-queue files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqLayout {
    /// Entries per file (RocketMQ: 300,000); fixes the names and the full size.
    pub entries_per_file: u64,
    /// Disk length a new file starts with (clamped to the full size); it doubles as entries
    /// arrive.
    pub initial_bytes: u64,
}

impl CqLayout {
    /// `entries_per_file` entries per file, starting at [`DEFAULT_CQ_INITIAL_BYTES`].
    pub fn new(entries_per_file: u64) -> CqLayout {
        CqLayout {
            entries_per_file,
            initial_bytes: DEFAULT_CQ_INITIAL_BYTES,
        }
    }

    /// The same, with new files starting at `initial_bytes`.
    pub fn with_initial_bytes(self, initial_bytes: u64) -> CqLayout {
        CqLayout {
            initial_bytes,
            ..self
        }
    }

    /// Full size of a file in bytes; an error naming `dir` if 0 or overflowing.
    pub fn file_size(&self, dir: &Path) -> Result<u64> {
        self.entries_per_file
            .checked_mul(CQ_ENTRY_SIZE as u64)
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "{}: bad entries_per_file {}",
                    dir.display(),
                    self.entries_per_file
                ))
            })
    }
}

/// The largest queue offset a consume queue can hold: its entry's byte offset must fit an `i64`
/// (RocketMQ's logical offsets are `long`s). A record claiming a larger one is damaged.
pub const MAX_QUEUE_OFFSET: u64 = i64::MAX as u64 / CQ_ENTRY_SIZE as u64 - 1;

/// One consume-queue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqEntry {
    /// The 20-byte big-endian encoding.
    pub fn encode(&self) -> [u8; CQ_ENTRY_SIZE] {
        let mut b = [0u8; CQ_ENTRY_SIZE];
        b[0..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        b
    }

    /// Decodes the first 20 bytes of `b`. Panics if `b` is shorter than 20 bytes.
    pub fn decode(b: &[u8]) -> CqEntry {
        let b: &[u8; CQ_ENTRY_SIZE] = b[..CQ_ENTRY_SIZE].try_into().expect("20 bytes");
        CqEntry {
            commit_log_offset: i64::from_be_bytes(b[0..8].try_into().expect("8 bytes")),
            size: i32::from_be_bytes(b[8..12].try_into().expect("4 bytes")),
            tags_code: i64::from_be_bytes(b[12..20].try_into().expect("8 bytes")),
        }
    }

    /// End of the referenced record in the commit log.
    pub fn end(&self) -> i64 {
        self.commit_log_offset.saturating_add(self.size as i64)
    }
}

/// Records the commit log appended for one topic-queue, with consecutive queue offsets: what the
/// consume queue needs to index them without re-reading the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchRun {
    /// Shared with the commit log's table of topics (one per topic, not one per run): no
    /// allocation per send on the writer's thread, no free of it on the dispatcher's.
    pub topic: Arc<str>,
    pub queue_id: i32,
    pub first_queue_offset: i64,
    /// Inline when the run is one record (a single send, or a replicated record between
    /// records of other queues): most runs, and no allocation for them.
    pub entries: RunEntries,
}

/// The entries of a [`DispatchRun`].
pub type RunEntries = smallvec::SmallVec<[CqEntry; 1]>;

impl DispatchRun {
    /// Commit-log offset just past the run's last record.
    pub fn end(&self) -> u64 {
        self.entries.last().map(|e| e.end() as u64).unwrap_or(0)
    }
}

/// Stands for an index whose record is not in the commit log (see `ConsumeQueue::start_at`).
const BLANK_ENTRY: CqEntry = CqEntry {
    commit_log_offset: 0,
    size: i32::MAX,
    tags_code: 0,
};

/// One topic-queue's consume queue: a directory of fixed-size entry files.
#[derive(Debug)]
pub struct ConsumeQueue {
    dir: PathBuf,
    entries_per_file: u64,
    file_size: u64,
    /// Disk length of a new file (see [`CqLayout`]).
    initial_bytes: u64,
    /// Files in order of start offset; contiguous.
    files: Vec<MappedFile>,
    /// Next index to write.
    max_index: u64,
    /// Retention: first index whose record is still in the commit log (RocketMQ's
    /// `minLogicOffset`); entries below it are gone even if their file is still here.
    min_logical: u64,
    /// Byte offset (logical) below which everything is flushed.
    flushed: AtomicU64,
    /// Entries the reput appended since start-up (not recovery's), and their records' bytes:
    /// the topic's `TOPIC_PUT_NUMS` / `TOPIC_PUT_SIZE`.
    puts: Tally,
}

impl ConsumeQueue {
    /// Opens the queue stored in `dir` (which need not exist yet). Loads the existing
    /// files (a trailing 0-byte file is deleted, as RocketMQ does) and finds the end: the
    /// first entry with `size <= 0` scanning from the start of the last file, or the last whole
    /// entry of a short last file. Only the last file may be shorter than the full size.
    pub fn open(dir: PathBuf, layout: CqLayout) -> Result<ConsumeQueue> {
        let file_size = layout.file_size(&dir)?;
        let mut listed = paths::list_files(&dir)?;
        if let Some((_, last)) = listed.last() {
            if std::fs::metadata(last).at(last)?.len() == 0 {
                std::fs::remove_file(last).at(last)?;
                listed.pop();
            }
        }
        let mut files: Vec<MappedFile> = Vec::with_capacity(listed.len());
        for (start, path) in listed {
            if start % file_size != 0 {
                return Err(StoreError::Corruption(format!(
                    "{}: start offset {start} is not a multiple of the file size {file_size}",
                    path.display()
                )));
            }
            if let Some(prev) = files.last() {
                if prev.start_offset() + file_size != start {
                    return Err(StoreError::Corruption(format!(
                        "{}: gap in consume queue, previous file starts at {} (size {file_size}), next at {start}",
                        dir.display(),
                        prev.start_offset()
                    )));
                }
            }
            if let Some(prev) = files.last().filter(|p| p.mapped_len() as u64 != file_size) {
                return Err(StoreError::Corruption(format!(
                    "{}: file is {} bytes, expected {file_size} (only the last file may be shorter)",
                    prev.path().display(),
                    prev.mapped_len()
                )));
            }
            files.push(MappedFile::open_growable(&path, start, file_size)?);
        }
        let min_logical = files.first().map_or(0, leading_blanks);
        let end_byte = match files.last_mut() {
            None => 0,
            Some(last) => {
                let bytes = last.read(0, last.mapped_len()).unwrap_or_default();
                let used = bytes
                    .chunks_exact(CQ_ENTRY_SIZE)
                    .position(|c| CqEntry::decode(c).size <= 0)
                    .unwrap_or(bytes.len() / CQ_ENTRY_SIZE)
                    * CQ_ENTRY_SIZE;
                last.set_readable_end(used);
                last.start_offset() + used as u64
            }
        };
        Ok(ConsumeQueue {
            dir,
            entries_per_file: layout.entries_per_file,
            file_size,
            initial_bytes: layout.initial_bytes,
            files,
            max_index: end_byte / CQ_ENTRY_SIZE as u64,
            min_logical,
            flushed: AtomicU64::new(end_byte),
            puts: Tally::default(),
        })
    }

    /// Directory of the queue.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Entries per file.
    pub fn entries_per_file(&self) -> u64 {
        self.entries_per_file
    }

    /// Number of files currently held.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// First index still readable (start of the first file, or later once retention removed the
    /// records below), or `max_offset()` when empty.
    pub fn min_offset(&self) -> u64 {
        self.files
            .first()
            .map(|f| f.start_offset() / CQ_ENTRY_SIZE as u64)
            .unwrap_or(self.max_index)
            .max(self.min_logical)
            .min(self.max_index)
    }

    /// Retention: forgets the entries whose records lie below `commit_log_min` (the commit-log
    /// files holding them were deleted). Removes whole files whose entries are all below it —
    /// never the last file, so `max_offset` survives a restart — and moves `min_offset` to the
    /// first entry at or above it (a queue's commit-log offsets only grow, so that is a binary
    /// search). Returns the number of files removed.
    pub fn delete_below_physical(&mut self, commit_log_min: i64) -> Result<usize> {
        let mut removed = 0;
        while self.files.len() > 1 {
            let last_in_first =
                (self.files[0].start_offset() + self.file_size) / CQ_ENTRY_SIZE as u64 - 1;
            match self.get(last_in_first) {
                Some(e) if e.commit_log_offset < commit_log_min => {
                    self.files.remove(0).destroy()?;
                    removed += 1;
                }
                _ => break,
            }
        }
        let (mut lo, mut hi) = (self.min_offset(), self.max_index);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(e) if e.commit_log_offset < commit_log_min => lo = mid + 1,
                _ => hi = mid,
            }
        }
        self.min_logical = self.min_logical.max(lo);
        Ok(removed)
    }

    /// What the reput appended since start-up ([`ConsumeQueue::count_put`]).
    pub fn puts(&self) -> Tally {
        self.puts
    }

    /// Counts one dispatched run: `entries` appended, of records of `bytes` bytes in all.
    pub fn count_put(&mut self, entries: u64, bytes: u64) {
        if entries > 0 {
            self.puts.count(entries, bytes);
        }
    }

    /// Next index to write: the entry count including entries in deleted-prefix files.
    pub fn max_offset(&self) -> u64 {
        self.max_index
    }

    fn file_for_byte(&self, byte: u64) -> Option<&MappedFile> {
        let first = self.files.first()?.start_offset();
        if byte < first {
            return None;
        }
        let idx = ((byte - first) / self.file_size) as usize;
        self.files.get(idx)
    }

    /// Makes an empty queue begin at `index` instead of 0: a queue rebuilt from a commit log whose
    /// beginning retention deleted (its consume-queue files were lost, say) starts at its first
    /// surviving record. The entries before `index` in its first file are written as blank entries
    /// (RocketMQ's `fillPreBlank`: offset 0, size `i32::MAX`) so that a reopen, which finds the end
    /// as the first entry of size <= 0, finds it after them; they lie below `min_offset` (after a
    /// reopen, retention's `delete_below_physical` moves the minimum past them again).
    pub fn start_at(&mut self, index: u64) -> Result<()> {
        if !self.files.is_empty() || self.max_index != 0 {
            return Err(StoreError::Invalid(format!(
                "{}: start_at({index}) on a queue that holds entries",
                self.dir.display()
            )));
        }
        self.check_index(index)?;
        let byte = index * CQ_ENTRY_SIZE as u64;
        self.add_file_for(byte)?;
        let first = self.files.last_mut().expect("just added");
        grow_for(first, (byte - first.start_offset()) as usize)?;
        first.write(0, &blanks(first.start_offset(), byte))?;
        self.max_index = index;
        self.min_logical = index;
        Ok(())
    }

    /// Drops every entry but keeps the queue's next offset (a deleted topic's queues,
    /// `DELETE_TOPIC_IN_BROKER`): afterwards `min_offset() == max_offset()` as it was, on disk
    /// too. Queue offsets never go back (Java restarts a deleted topic's queues at 0; here the
    /// commit log still holds the old records with their offsets, and recovery rebuilds a queue
    /// from them whenever it holds fewer than they say — a queue restarted at 0 would get them
    /// back). What is left is one file holding blank entries up to the next offset (as
    /// [`ConsumeQueue::start_at`] writes, found again by `open`).
    ///
    /// Crash-safe at every step: the new file is written and synced under a temporary name, then
    /// replaces the old files so that a crash (or a failed unlink) leaves the old queue, the old
    /// queue without some of its first files, or the new one: always contiguous files.
    pub fn clear(&mut self) -> Result<()> {
        if self.is_cleared() {
            return Ok(());
        }
        let next = self.max_index;
        if next == 0 {
            return self.destroy_first(self.files.len());
        }
        let byte = next * CQ_ENTRY_SIZE as u64;
        let start = byte - byte % self.file_size;
        let target = self.dir.join(paths::file_name(start));
        let temp = self
            .dir
            .join(format!("{}.clearing", paths::file_name(start)));
        // Left by a crash in an earlier clear (start-up never reads it): replaced.
        match std::fs::remove_file(&temp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e).at(&temp),
            _ => {}
        }
        let mut fresh =
            MappedFile::create_growable(&temp, start, self.file_size, self.initial_bytes)?;
        grow_for(&mut fresh, (byte - start) as usize)?;
        fresh.write(0, &blanks(start, byte))?;
        fresh.flush()?;
        drop(fresh);
        let replaces_last = self.files.last().is_some_and(|f| f.start_offset() == start);
        if replaces_last {
            // The older files go first: a crash then leaves the old last file, still a queue.
            self.destroy_first(self.files.len() - 1)?;
        }
        std::fs::rename(&temp, &target).at(&target)?;
        let mut file = MappedFile::open_growable(&target, start, self.file_size)?;
        file.set_readable_end((byte - start) as usize);
        if replaces_last {
            // Its name now holds the new file.
            self.files.pop();
        }
        self.files.push(file);
        self.min_logical = next;
        self.flushed.store(byte, Ordering::Relaxed);
        // The new file follows whatever old files are left; they go.
        self.destroy_first(self.files.len() - 1)
    }

    /// Destroys the first `n` files, oldest first, so that a failure (or a crash) leaves the
    /// files after it: still contiguous.
    fn destroy_first(&mut self, n: usize) -> Result<()> {
        for _ in 0..n {
            self.files.remove(0).destroy()?;
        }
        Ok(())
    }

    /// Whether the queue is as [`ConsumeQueue::clear`] leaves it: no file, or one file of blank
    /// entries up to the next offset.
    pub fn is_cleared(&self) -> bool {
        match self.files.as_slice() {
            [] => self.max_index == 0,
            [only] => self.max_index > 0 && leading_blanks(only) >= self.max_index,
            _ => false,
        }
    }

    /// Creates (with the directory) the file holding logical byte `byte` and appends it to the
    /// queue's files; the first file also sets where flushing starts.
    fn add_file_for(&mut self, byte: u64) -> Result<()> {
        let start = byte - byte % self.file_size;
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let path = self.dir.join(paths::file_name(start));
        let f = MappedFile::create_growable(&path, start, self.file_size, self.initial_bytes)?;
        if self.files.is_empty() {
            self.flushed.store(start, Ordering::Relaxed);
        }
        self.files.push(f);
        Ok(())
    }

    /// A queue offset past [`MAX_QUEUE_OFFSET`] has no byte offset: refused, never wrapped.
    fn check_index(&self, index: u64) -> Result<()> {
        if index > MAX_QUEUE_OFFSET {
            return Err(StoreError::Invalid(format!(
                "{}: queue offset {index} is past the largest a consume queue holds ({MAX_QUEUE_OFFSET})",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Appends entry `e` at `index`, which must equal `max_offset()`. Creates the next
    /// file (and the directory) when needed. `e.size` must be positive.
    pub fn append(&mut self, index: u64, e: CqEntry) -> Result<()> {
        self.check_index(index)?;
        if index != self.max_index {
            return Err(StoreError::Invalid(format!(
                "{}: append at index {index} but the next index is {}",
                self.dir.display(),
                self.max_index
            )));
        }
        if e.size <= 0 {
            return Err(StoreError::Invalid(format!(
                "{}: entry at index {index} has non-positive size {}",
                self.dir.display(),
                e.size
            )));
        }
        let byte = index * CQ_ENTRY_SIZE as u64;
        let need_new = match self.files.last() {
            None => true,
            Some(last) => byte >= last.start_offset() + self.file_size,
        };
        if need_new {
            self.add_file_for(byte)?;
        }
        let last = self.files.last_mut().expect("a file exists");
        let pos = (byte - last.start_offset()) as usize;
        if pos + CQ_ENTRY_SIZE > last.mapped_len() {
            grow_for(last, pos + CQ_ENTRY_SIZE)?;
        }
        last.write(pos, &e.encode())?;
        self.max_index = index + 1;
        Ok(())
    }

    /// Entry at `index`, if `min_offset() <= index < max_offset()`.
    pub fn get(&self, index: u64) -> Option<CqEntry> {
        if index >= self.max_index || index < self.min_offset() {
            return None;
        }
        let byte = index.checked_mul(CQ_ENTRY_SIZE as u64)?;
        let f = self.file_for_byte(byte)?;
        f.read((byte - f.start_offset()) as usize, CQ_ENTRY_SIZE)
            .map(CqEntry::decode)
    }

    /// The last entry written, if any (and still readable).
    pub fn last_entry(&self) -> Option<CqEntry> {
        self.max_index.checked_sub(1).and_then(|i| self.get(i))
    }

    /// Drops every entry whose record ends past `commit_log_end`
    /// (`commit_log_offset + size > commit_log_end`): zeroes them in their file and removes
    /// whole later files. The first file is always kept so `min_offset` survives.
    pub fn truncate_from_physical(&mut self, commit_log_end: i64) -> Result<()> {
        let min = self.min_offset();
        let mut new_max = self.max_index;
        while new_max > min {
            match self.get(new_max - 1) {
                Some(e) if e != BLANK_ENTRY && e.end() > commit_log_end => new_max -= 1,
                _ => break,
            }
        }
        if new_max == self.max_index {
            return Ok(());
        }
        let end_byte = new_max * CQ_ENTRY_SIZE as u64;
        while self.files.len() > 1
            && self.files.last().expect("non-empty").start_offset() >= end_byte
        {
            let f = self.files.pop().expect("non-empty");
            f.destroy()?;
        }
        if let Some(last) = self.files.last_mut() {
            if end_byte < last.start_offset() + self.file_size {
                let pos = end_byte.saturating_sub(last.start_offset()) as usize;
                last.truncate(pos);
                last.flush_range(pos, last.mapped_len().saturating_sub(pos))?;
            }
        }
        self.max_index = new_max;
        self.flushed.fetch_min(end_byte, Ordering::Relaxed);
        Ok(())
    }

    /// Flushes everything written since the last flush.
    pub fn flush(&self) -> Result<()> {
        let end = self.max_index * CQ_ENTRY_SIZE as u64;
        let mut from = self.flushed.load(Ordering::Relaxed);
        while from < end {
            let Some(f) = self.file_for_byte(from) else {
                break;
            };
            let pos = from - f.start_offset();
            let upto = (end - f.start_offset()).min(f.mapped_len() as u64);
            f.flush_range(pos as usize, (upto - pos) as usize)?;
            from = f.start_offset() + upto;
        }
        self.flushed.store(end, Ordering::Relaxed);
        Ok(())
    }
}

/// Grows `f` so that its first `end` bytes are mapped: its length doubles until it covers `end`,
/// capped at the full size (an `end` past the full size is the caller's bug and fails on write).
/// Lengths stay `initial * 2^k`, so page multiples stay page multiples.
/// Blank entries for the logical bytes `[from, to)`.
fn blanks(from: u64, to: u64) -> Vec<u8> {
    (from..to)
        .step_by(CQ_ENTRY_SIZE)
        .flat_map(|_| BLANK_ENTRY.encode())
        .collect()
}

/// Entries at the start of `first` (a queue's first file) that are blank: indexes below the
/// queue's first record ([`ConsumeQueue::start_at`], [`ConsumeQueue::clear`]), so below its
/// minimum after a reopen too.
fn leading_blanks(first: &MappedFile) -> u64 {
    let bytes = first.read(0, first.readable_end()).unwrap_or_default();
    let blanks = bytes
        .chunks_exact(CQ_ENTRY_SIZE)
        .take_while(|c| CqEntry::decode(c) == BLANK_ENTRY)
        .count();
    first.start_offset() / CQ_ENTRY_SIZE as u64 + blanks as u64
}

fn grow_for(f: &mut MappedFile, end: usize) -> Result<()> {
    let mut len = f.mapped_len().max(1) as u64;
    while len < end as u64 && len < f.size() {
        len = len.saturating_mul(2);
    }
    f.grow_to(len)
}

/// What [`finalize_dir`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Finalized {
    /// Consume-queue files looked at.
    pub files: usize,
    /// Files that were short and were extended to full size.
    pub extended: usize,
}

/// Extends every short consume-queue file under `<root>/consumequeue` to its full size
/// (`layout.entries_per_file * 20` bytes, allocated, zeros after the entries), so that a Java
/// broker, which refuses a file of any other length (`MappedFileQueue.load`), can load the store.
/// Files already full, and names that are not a topic / queue id / offset, are left alone. The
/// broker must not be running.
pub fn finalize_dir(root: &Path, layout: CqLayout) -> Result<Finalized> {
    let cq_root = paths::consume_queue_root(root);
    let file_size = layout.file_size(&cq_root)?;
    let mut done = Finalized::default();
    for dir in paths::consume_queue_dirs(root)? {
        for (start, path) in paths::list_files(&dir.path)? {
            done.files += 1;
            let len = std::fs::metadata(&path).at(&path)?.len();
            if len == file_size {
                continue;
            }
            if len > file_size {
                return Err(StoreError::Corruption(format!(
                    "{}: file is {len} bytes, more than the full {file_size}",
                    path.display()
                )));
            }
            let mut f = MappedFile::open_growable(&path, start, file_size)?;
            f.grow_to_full()?;
            done.extended += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests;
