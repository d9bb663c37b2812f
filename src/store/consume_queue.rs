//! Consume queues: the per topic-queue index into the commit log.
//!
//! A consume queue is a sequence of fixed 20-byte entries
//! `i64 commitLogOffset | i32 size | i64 tagsCode` (RocketMQ `ConsumeQueue`), where entry
//! `n` sits at byte `n * 20` of the logical queue. The bytes are split over fixed-size,
//! memory-mapped files named by their starting byte offset. Consumers address messages
//! by entry index ("queue offset"); the entry gives the record's place in the commit log
//! and the tag hash used for server-side filtering.
//!
//! Entries always have `size > 0`, so on restart the end of the queue is the first
//! entry with `size <= 0` in the last file. After commit-log recovery,
//! [`ConsumeQueue::truncate_from_physical`] drops entries pointing past the recovered end.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::{IoContext, Result, StoreError};
use super::mapped_file::MappedFile;
use super::paths;

/// Size of one consume-queue entry (`CQ_STORE_UNIT_SIZE`).
pub const CQ_ENTRY_SIZE: usize = 20;

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
    pub topic: String,
    pub queue_id: i32,
    pub first_queue_offset: i64,
    pub entries: Vec<CqEntry>,
}

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
    /// Files in order of start offset; contiguous.
    files: Vec<MappedFile>,
    /// Next index to write.
    max_index: u64,
    /// Retention: first index whose record is still in the commit log (RocketMQ's
    /// `minLogicOffset`); entries below it are gone even if their file is still here.
    min_logical: u64,
    /// Byte offset (logical) below which everything is flushed.
    flushed: AtomicU64,
}

impl ConsumeQueue {
    /// Opens the queue stored in `dir` (which need not exist yet). Loads the existing
    /// files (a trailing 0-byte file is deleted, as RocketMQ does) and finds the end: the
    /// first entry with `size <= 0` scanning from the start of the last file.
    pub fn open(dir: PathBuf, entries_per_file: u64) -> Result<ConsumeQueue> {
        let file_size = entries_per_file
            .checked_mul(CQ_ENTRY_SIZE as u64)
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "{}: bad entries_per_file {entries_per_file}",
                    dir.display()
                ))
            })?;
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
            files.push(MappedFile::open(&path, start, file_size)?);
        }
        let end_byte = match files.last_mut() {
            None => 0,
            Some(last) => {
                let used = last
                    .read(0, file_size as usize)
                    .unwrap_or_default()
                    .chunks_exact(CQ_ENTRY_SIZE)
                    .position(|c| CqEntry::decode(c).size <= 0)
                    .map(|i| i * CQ_ENTRY_SIZE)
                    .unwrap_or(file_size as usize);
                last.set_readable_end(used);
                last.start_offset() + used as u64
            }
        };
        Ok(ConsumeQueue {
            dir,
            entries_per_file,
            file_size,
            files,
            max_index: end_byte / CQ_ENTRY_SIZE as u64,
            min_logical: 0,
            flushed: AtomicU64::new(end_byte),
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
        let blanks: Vec<u8> = (first.start_offset()..byte)
            .step_by(CQ_ENTRY_SIZE)
            .flat_map(|_| BLANK_ENTRY.encode())
            .collect();
        first.write(0, &blanks)?;
        self.max_index = index;
        self.min_logical = index;
        Ok(())
    }

    /// Creates (with the directory) the file holding logical byte `byte` and appends it to the
    /// queue's files; the first file also sets where flushing starts.
    fn add_file_for(&mut self, byte: u64) -> Result<()> {
        let start = byte - byte % self.file_size;
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let path = self.dir.join(paths::file_name(start));
        let f = MappedFile::create(&path, start, self.file_size)?;
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
        last.write((byte - last.start_offset()) as usize, &e.encode())?;
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
                last.flush_range(pos, self.file_size as usize - pos)?;
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
            let upto = (end - f.start_offset()).min(self.file_size);
            f.flush_range(pos as usize, (upto - pos) as usize)?;
            from = f.start_offset() + upto;
        }
        self.flushed.store(end, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(i: u64) -> CqEntry {
        CqEntry {
            commit_log_offset: (i * 100) as i64,
            size: 100,
            tags_code: i as i64 - 3,
        }
    }

    /// Found by the `recovery_scan` fuzz target: a queue offset whose byte offset does not fit
    /// wrapped around (a file named by the wrapped offset, entries unreadable); now refused.
    #[test]
    fn a_queue_offset_without_a_byte_offset_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let mut q = ConsumeQueue::open(d.path().join("q"), 300).unwrap();
        for index in [MAX_QUEUE_OFFSET + 1, 8_101_786_613_639_544_832, u64::MAX] {
            let err = q.start_at(index).unwrap_err().to_string();
            assert!(err.contains("past the largest"), "{err}");
        }
        assert_eq!((q.file_count(), q.max_offset()), (0, 0));
        q.start_at(MAX_QUEUE_OFFSET).unwrap();
        q.append(MAX_QUEUE_OFFSET, entry(1)).unwrap();
        assert_eq!(q.get(MAX_QUEUE_OFFSET), Some(entry(1)));
        let err = q.append(MAX_QUEUE_OFFSET + 1, entry(2)).unwrap_err();
        assert!(err.to_string().contains("past the largest"), "{err}");
    }

    /// A queue started at 1000 (files of 300 entries: its first file starts at 900) reads from
    /// 1000, survives a reopen (the blank entries before 1000 are not taken for the end), and
    /// retention moves its minimum past the blanks again; a queue with entries cannot be restarted.
    #[test]
    fn start_at_begins_a_rebuilt_queue_at_its_first_surviving_record() {
        let d = tempfile::tempdir().unwrap();
        let mut q = ConsumeQueue::open(d.path().join("q"), 300).unwrap();
        q.start_at(1000).unwrap();
        assert_eq!((q.min_offset(), q.max_offset()), (1000, 1000));
        q.append(1000, entry(1000)).unwrap();
        q.append(1001, entry(1001)).unwrap();
        assert_eq!(q.get(999), None);
        assert_eq!(q.get(1001), Some(entry(1001)));
        q.flush().unwrap();
        assert!(q
            .start_at(5)
            .unwrap_err()
            .to_string()
            .contains("holds entries"));
        drop(q);

        let mut q = ConsumeQueue::open(d.path().join("q"), 300).unwrap();
        assert_eq!(q.max_offset(), 1002);
        assert_eq!(
            q.min_offset(),
            900,
            "before retention runs: the file's start"
        );
        q.truncate_from_physical(1002 * 100).unwrap();
        assert_eq!(
            q.max_offset(),
            1002,
            "blank entries are not records past the end"
        );
        q.delete_below_physical(1000 * 100).unwrap();
        assert_eq!((q.min_offset(), q.max_offset()), (1000, 1002));
        assert_eq!(q.get(1000), Some(entry(1000)));
        q.append(1002, entry(1002)).unwrap();
    }

    #[test]
    fn entry_layout() {
        let e = CqEntry {
            commit_log_offset: 0x0102030405060708,
            size: 0x0A0B0C0D,
            tags_code: -1,
        };
        let b = e.encode();
        assert_eq!(&b[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[8..12], &[0xA, 0xB, 0xC, 0xD]);
        assert_eq!(&b[12..], &[0xFF; 8]);
        assert_eq!(CqEntry::decode(&b), e);
    }

    #[test]
    fn retention_removes_whole_files_below_and_moves_the_min() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("T").join("0");
        let mut q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        for i in 0..10 {
            q.append(i, entry(i)).unwrap(); // entry i's record is at commit-log offset i * 100
        }
        // Records below 650 are gone: file [0, 4) entirely, file [4, 8) up to index 6.
        assert_eq!(q.delete_below_physical(650).unwrap(), 1);
        assert_eq!((q.min_offset(), q.max_offset(), q.file_count()), (7, 10, 2));
        assert_eq!((q.get(6), q.get(7)), (None, Some(entry(7))));
        // Everything gone: the last file stays so the max offset survives.
        assert_eq!(q.delete_below_physical(10_000).unwrap(), 1);
        assert_eq!(
            (q.min_offset(), q.max_offset(), q.file_count()),
            (10, 10, 1)
        );
        q.append(10, entry(10)).unwrap();
        assert_eq!((q.min_offset(), q.get(10)), (10, Some(entry(10))));
        drop(q);
        let q = ConsumeQueue::open(dir, 4).unwrap();
        assert_eq!(
            (q.min_offset(), q.max_offset()),
            (8, 11),
            "after a restart the file start is the min until retention runs again"
        );
    }

    #[test]
    fn append_get_restart() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("T").join("0");
        let mut q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        assert_eq!(
            (q.min_offset(), q.max_offset(), q.last_entry()),
            (0, 0, None)
        );
        assert!(q.get(0).is_none());
        assert!(q.append(1, entry(1)).is_err());
        for i in 0..10 {
            q.append(i, entry(i)).unwrap();
        }
        assert!(q.append(3, entry(3)).is_err());
        assert!(q
            .append(
                10,
                CqEntry {
                    size: 0,
                    ..entry(10)
                }
            )
            .is_err());
        assert_eq!(q.file_count(), 3);
        assert_eq!(q.get(7), Some(entry(7)));
        assert_eq!(q.get(10), None);
        q.flush().unwrap();
        drop(q);

        let names: Vec<u64> = paths::list_files(&dir)
            .unwrap()
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        assert_eq!(names, vec![0, 80, 160]);

        let mut q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        assert_eq!((q.min_offset(), q.max_offset()), (0, 10));
        assert_eq!(q.last_entry(), Some(entry(9)));
        for i in 10..12 {
            q.append(i, entry(i)).unwrap();
        }
        drop(q);
        // Exactly full last file: end is the file end.
        let mut q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        assert_eq!(q.max_offset(), 12);
        q.append(12, entry(12)).unwrap();
        assert_eq!(q.file_count(), 4);
        q.flush().unwrap();
    }

    #[test]
    fn deleted_prefix_and_empty_trailing_file() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        let mut q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        for i in 0..9 {
            q.append(i, entry(i)).unwrap();
        }
        drop(q);
        std::fs::remove_file(dir.join(paths::file_name(0))).unwrap();
        std::fs::write(dir.join(paths::file_name(240)), b"").unwrap();
        let q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        assert!(!dir.join(paths::file_name(240)).exists());
        assert_eq!((q.min_offset(), q.max_offset()), (4, 9));
        assert_eq!(q.get(3), None);
        assert_eq!(q.get(4), Some(entry(4)));
        // A gap is corruption.
        drop(q);
        std::fs::remove_file(dir.join(paths::file_name(80))).unwrap();
        std::fs::write(dir.join(paths::file_name(0)), [0u8; 80]).unwrap();
        let e = ConsumeQueue::open(dir.clone(), 4).unwrap_err();
        assert!(e.to_string().contains("gap"), "{e}");
    }

    #[test]
    fn truncation() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        let mut q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        for i in 0..11 {
            q.append(i, entry(i)).unwrap();
        }
        // Record 5 spans [500, 600): keep it at end 600, drop it at 599.
        q.truncate_from_physical(1_000_000).unwrap();
        assert_eq!(q.max_offset(), 11);
        q.truncate_from_physical(600).unwrap();
        assert_eq!(q.max_offset(), 6);
        assert_eq!(q.file_count(), 2);
        q.truncate_from_physical(599).unwrap();
        assert_eq!(q.max_offset(), 5);
        assert_eq!(q.last_entry(), Some(entry(4)));
        assert_eq!(q.get(5), None);
        drop(q);
        let mut q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        assert_eq!(q.max_offset(), 5);
        assert_eq!(paths::list_files(&dir).unwrap().len(), 2);
        q.append(5, entry(5)).unwrap();
        // Truncate at a file boundary: the later file is removed entirely.
        q.truncate_from_physical(400).unwrap();
        assert_eq!((q.max_offset(), q.file_count()), (4, 1));
        q.truncate_from_physical(0).unwrap();
        assert_eq!((q.min_offset(), q.max_offset(), q.file_count()), (0, 0, 1));
        drop(q);
        let mut q = ConsumeQueue::open(dir.clone(), 4).unwrap();
        assert_eq!(q.max_offset(), 0);
        for i in 0..6 {
            q.append(i, entry(i)).unwrap();
        }
        assert_eq!(q.get(5), Some(entry(5)));
    }

    proptest! {
        #[test]
        fn entry_round_trip(o in any::<i64>(), s in any::<i32>(), t in any::<i64>()) {
            let e = CqEntry { commit_log_offset: o, size: s, tags_code: t };
            prop_assert_eq!(CqEntry::decode(&e.encode()), e);
        }

        #[test]
        fn queue_round_trip(n in 0u64..40, per_file in 1u64..7, cut in 0i64..5000) {
            let d = tempfile::tempdir().unwrap();
            let mut q = ConsumeQueue::open(d.path().to_path_buf(), per_file).unwrap();
            for i in 0..n { q.append(i, entry(i)).unwrap(); }
            q.truncate_from_physical(cut).unwrap();
            let expect = n.min((cut / 100).max(0) as u64);
            prop_assert_eq!(q.max_offset(), expect);
            drop(q);
            let q = ConsumeQueue::open(d.path().to_path_buf(), per_file).unwrap();
            prop_assert_eq!(q.max_offset(), expect);
            for i in 0..expect { prop_assert_eq!(q.get(i), Some(entry(i))); }
        }
    }
}
