//! Loading and recovering the commit log's files at start-up (synchronous, before any actor runs).
//!
//! The writer needs three facts to resume: the files, the write offset and each topic-queue's next
//! queue offset. After a clean shutdown everything was flushed and dispatched, so only the last few
//! files are scanned (like RocketMQ's `recoverNormally`, from the third-last file): they give the
//! write offset, and the consume queues' max offsets (merged in by `recover_consume_queues`) give
//! the queue offsets of everything older — start-up time does not grow with the store. After a crash every
//! file is scanned, the queue offsets come from the records themselves, and each record's body CRC
//! is checked; the first torn or corrupt record ends the log: the rest of its file is zeroed and
//! later files are removed, so no offset is ever handed out twice for different data
//! (`rocketmq-reference.md` §10).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::QueueOffsets;
use crate::store::mapped_file::MappedFile;
use crate::store::paths;
use crate::store::recovery::{scan, StopReason};
use crate::store::{Result, StoreError};

/// What recovery found.
pub struct RecoveredLog {
    /// The files, oldest first, still owned (nothing is shared before recovery ends): the last
    /// one's readable end is the write position, every other file is readable to its end.
    pub files: Vec<MappedFile>,
    /// Absolute offset where the next record goes.
    pub write_offset: u64,
    pub queue_offsets: QueueOffsets,
    /// Records found in the files scanned.
    pub records: u64,
    /// Files scanned (the rest were only opened).
    pub scanned_files: usize,
    /// Set when a torn or corrupt tail was cut off: (offset, why).
    pub truncated: Option<(u64, String)>,
    /// Files after the end of the log that were removed (empty pre-allocations).
    pub removed_files: usize,
    /// Records kept whose body failed its CRC (scans with CRC checks only): offset, why. Readers
    /// verify what they serve, so these are skipped, never sent.
    pub damaged: Vec<(u64, String)>,
    /// Where the bytes cut at a bad frame and the files after it went (never deleted).
    pub quarantine: Option<Quarantined>,
}

/// What recovery set aside when it cut the log at a bad frame: the rest of the file the cut is
/// in, and every later file that held data, moved to `dir` with a `REPORT.txt` saying what they
/// are. The operator decides what to do with them; the broker never reads them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub dir: PathBuf,
    /// Files (or file tails) moved there.
    pub entries: Vec<PathBuf>,
    /// Bytes set aside.
    pub bytes: u64,
}

/// How much of the commit log start-up reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// After a clean shutdown: only the last `n` files.
    LastFiles(usize),
    /// After a crash: every file, verifying each record's body CRC if `check_crc`.
    Everything { check_crc: bool },
}

/// Files a clean start scans (RocketMQ's `recoverNormally` starts at the third-last file).
pub const CLEAN_START_SCANNED_FILES: usize = 3;

/// Opens every commit-log file under `dir` (creating `dir`), scans them in order (all or the last
/// few, per `scan`) and cuts the log at the first record that does not verify.
pub fn recover(dir: &Path, file_size: u64, scan_scope: Scan) -> Result<RecoveredLog> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut listed = paths::list_files(dir)?;
    // A 0-byte last file is a creation that never finished (RocketMQ deletes it too).
    if let Some((_, path)) = listed.last() {
        if std::fs::metadata(path)
            .map(|m| m.len() == 0)
            .unwrap_or(false)
        {
            remove(path)?;
            listed.pop();
        }
    }
    let mut files = Vec::with_capacity(listed.len());
    for (start, path) in &listed {
        if start % file_size != 0 {
            return Err(StoreError::Invalid(format!(
                "{}: start offset {start} is not a multiple of the file size {file_size} \
                 (was store.commitlog_file_bytes changed?)",
                path.display()
            )));
        }
        if let Some(prev) = files.last().map(|f: &MappedFile| f.start_offset()) {
            if *start != prev + file_size {
                return Err(StoreError::Corruption(format!(
                    "{}: commit-log files are not contiguous (previous starts at {prev})",
                    path.display()
                )));
            }
        }
        files.push(MappedFile::open(path, *start, file_size)?);
    }

    let (check_crc, skip) = match scan_scope {
        Scan::Everything { check_crc } => (check_crc, 0),
        // The last `n` files that hold data: files the allocator prepared ahead are still all
        // zeros (a file with data starts with a record's non-zero TOTALSIZE).
        Scan::LastFiles(n) => {
            let with_data = files.iter().rposition(has_data).map_or(0, |last| last + 1);
            (false, with_data.saturating_sub(n.max(1)))
        }
    };
    let mut log = RecoveredLog {
        write_offset: files.get(skip).map(|f| f.start_offset()).unwrap_or(0),
        files: Vec::new(),
        queue_offsets: QueueOffsets::default(),
        records: 0,
        scanned_files: 0,
        truncated: None,
        removed_files: 0,
        damaged: Vec::new(),
        quarantine: None,
    };
    let mut quarantine = QuarantineDir::new(dir);
    let mut end_index = files.len();
    for (i, file) in files.iter_mut().enumerate().skip(skip) {
        log.scanned_files += 1;
        let bytes = file.read(0, file_size as usize).unwrap_or_default();
        let result = scan(bytes, file.start_offset(), check_crc);
        for (at, why) in &result.damaged {
            log.damaged
                .push((file.start_offset() + *at as u64, why.to_string()));
        }
        for r in &result.records {
            log.records += 1;
            // Every record got a queue offset from the writer (transactions are not implemented,
            // so prepared/rollback records are not special-cased there either): count them all.
            let next = log
                .queue_offsets
                .entry(r.topic.clone())
                .or_default()
                .entry(r.queue_id)
                .or_insert(0);
            // Saturating: a damaged queue-offset field (not under the body CRC) must not
            // overflow; the consume-queue rebuild skips such a record.
            *next = (*next).max(r.queue_offset.saturating_add(1));
        }
        log.write_offset = file.start_offset() + result.valid_len as u64;
        match result.stop {
            StopReason::Blank | StopReason::FileFull => {
                log.write_offset = file.start_offset() + file_size;
                continue;
            }
            StopReason::End => {
                file.set_readable_end(result.valid_len);
                end_index = i + 1;
                break;
            }
            StopReason::Incomplete | StopReason::Corrupt(_) => {
                let why = match &result.stop {
                    StopReason::Corrupt(e) => {
                        // Bytes after a bad frame may be intact records nobody can find the
                        // start of any more: keep them aside. (A torn tail after a crash is
                        // just an unfinished write, cut as RocketMQ does.)
                        quarantine.keep_tail(file, result.valid_len, &format!("{e}"))?;
                        format!("{e:?}")
                    }
                    _ => "half-written record".to_string(),
                };
                file.truncate(result.valid_len);
                file.flush_range(0, file_size as usize)?;
                log.truncated = Some((log.write_offset, why));
                end_index = i + 1;
                break;
            }
        }
    }
    // Files after the one that holds the write offset are unused pre-allocations (dropped: the
    // writer asks the allocator for fresh ones) or data past a cut (quarantined).
    let cut = log.truncated.clone();
    for file in files.drain(end_index..) {
        if has_data(&file) {
            let why = cut.as_ref().map_or("after the end of the log", |(_, w)| w);
            quarantine.keep_file(file, why)?;
        } else {
            file.destroy()?;
            log.removed_files += 1;
        }
    }
    log.files = files;
    log.quarantine = quarantine.finish(log.write_offset)?;
    Ok(log)
}

/// Whether a file holds any record (a prepared file is all zeros; a file with data starts with a
/// record's non-zero TOTALSIZE).
fn has_data(file: &MappedFile) -> bool {
    file.read(0, 4).is_some_and(|head| head != [0u8; 4])
}

/// The quarantine folder of one recovery, `<root>/quarantine/<unix ms>/`, created on first use.
struct QuarantineDir {
    dir: PathBuf,
    report: String,
    entries: Vec<PathBuf>,
    bytes: u64,
}

impl QuarantineDir {
    /// Beside the commit-log directory `commitlog_dir` (in the store root).
    fn new(commitlog_dir: &Path) -> QuarantineDir {
        let root = commitlog_dir.parent().unwrap_or(commitlog_dir);
        let stamp = crate::store::now_ms();
        QuarantineDir {
            dir: root.join("quarantine").join(stamp.to_string()),
            report: String::new(),
            entries: Vec::new(),
            bytes: 0,
        }
    }

    fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|source| StoreError::Io {
            path: self.dir.clone(),
            source,
        })
    }

    /// Copies the bytes of `file` from `from` to its last non-zero byte (before they are zeroed).
    fn keep_tail(&mut self, file: &MappedFile, from: usize, why: &str) -> Result<()> {
        let bytes = file.read(0, file.size() as usize).unwrap_or_default();
        let end = bytes
            .iter()
            .rposition(|b| *b != 0)
            .map_or(from, |last| last + 1);
        if end <= from {
            return Ok(());
        }
        self.create()?;
        let name = format!(
            "{}.from-{}",
            paths::file_name(file.start_offset()),
            file.start_offset() + from as u64
        );
        let path = self.dir.join(name);
        std::fs::write(&path, &bytes[from..end]).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        self.report.push_str(&format!(
            "{}: bytes [{}, {}) of commit-log file {} (cut there: {why})\n",
            path.display(),
            file.start_offset() + from as u64,
            file.start_offset() + end as u64,
            paths::file_name(file.start_offset()),
        ));
        self.bytes += (end - from) as u64;
        self.entries.push(path);
        Ok(())
    }

    /// Moves a whole file after the cut into the folder.
    fn keep_file(&mut self, file: MappedFile, why: &str) -> Result<()> {
        self.create()?;
        let from = file.path().to_path_buf();
        let to = self.dir.join(from.file_name().unwrap_or_default());
        let size = file.size();
        let start = file.start_offset();
        drop(file);
        std::fs::rename(&from, &to).map_err(|source| StoreError::Io {
            path: from.clone(),
            source,
        })?;
        self.report.push_str(&format!(
            "{}: commit-log file starting at {start}, after the cut ({why})\n",
            to.display()
        ));
        self.bytes += size;
        self.entries.push(to);
        Ok(())
    }

    /// Writes `REPORT.txt` if anything was kept.
    fn finish(self, write_offset: u64) -> Result<Option<Quarantined>> {
        if self.entries.is_empty() {
            return Ok(None);
        }
        let path = self.dir.join("REPORT.txt");
        let text = format!(
            "actormq recovery cut the commit log at offset {write_offset}: the records from there \
             on could not be trusted (a damaged record frame). What was after the cut is here, \
             byte for byte; the broker does not read it. Files named by their commit-log start \
             offset are whole RocketMQ commit-log files.\n\n{}",
            self.report
        );
        let mut f = std::fs::File::create(&path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Some(Quarantined {
            dir: self.dir,
            entries: self.entries,
            bytes: self.bytes,
        }))
    }
}

fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}
