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

use std::collections::HashMap;
use std::path::Path;

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
    /// Files after the end of the log that were removed.
    pub removed_files: usize,
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
            let with_data = files
                .iter()
                .rposition(|f| f.read(0, 4).is_some_and(|head| head != [0u8; 4]))
                .map_or(0, |last| last + 1);
            (false, with_data.saturating_sub(n.max(1)))
        }
    };
    let mut log = RecoveredLog {
        write_offset: files.get(skip).map(|f| f.start_offset()).unwrap_or(0),
        files: Vec::new(),
        queue_offsets: HashMap::new(),
        records: 0,
        scanned_files: 0,
        truncated: None,
        removed_files: 0,
    };
    let mut end_index = files.len();
    for (i, file) in files.iter_mut().enumerate().skip(skip) {
        log.scanned_files += 1;
        let bytes = file.read(0, file_size as usize).unwrap_or_default();
        let result = scan(bytes, file.start_offset(), check_crc);
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
            *next = (*next).max(r.queue_offset + 1);
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
                    StopReason::Corrupt(e) => format!("{e:?}"),
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
    // Files after the one that holds the write offset are unused pre-allocations or data past a
    // cut: drop them (the writer asks the allocator for fresh ones).
    for file in files.drain(end_index..) {
        file.destroy()?;
        log.removed_files += 1;
    }
    log.files = files;
    Ok(log)
}

fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}
