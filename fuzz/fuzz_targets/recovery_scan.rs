//! Start-up recovery over arbitrary files: the input becomes one or two commit-log files (and,
//! optionally, a consume-queue file) in a temporary store, then the commit log is recovered
//! (`store::commit_log::recover`) and the consume queues rebuilt from it
//! (`store::consume_queues::ConsumeQueues::recover`), as the broker does before anything starts.
//!
//! Input: `u8 flags | bytes` (`actormq_fuzz::recovery`): one or two 4 KiB commit-log files
//! (padded with zeros), which scan (after a crash, with or without CRC checks, or after a clean
//! stop), and optionally a consume-queue file of topic `TopicTest` queue 0 from the bytes after
//! them.
//!
//! Checked: recovery never panics (a damaged store is an error or a cut, never a crash); the
//! recovered end lies inside the files; every record below it is a well-formed frame at its own
//! physical offset whose body verifies, unless recovery reported it damaged (or did not check
//! CRCs); every consume-queue entry rebuilt from the log points at a record of its topic, queue
//! and queue offset below that end.
#![no_main]

use std::path::Path;

use actormq::store::commit_log::{recover, QueueOffsets, RecoveredLog};
use actormq::store::consume_queue::CqLayout;
use actormq::store::consume_queues::ConsumeQueues;
use actormq::store::message::{decode, verify_record, DecodeError, Decoded};
use actormq::store::paths;
use actormq_fuzz::recovery::{
    scan_of, CQ_ENTRIES_PER_FILE, CQ_TOPIC, FILE_SIZE, TWO_FILES, WITH_CONSUME_QUEUE,
};
use libfuzzer_sys::fuzz_target;

/// Fast scratch space: tmpfs when there is one.
fn tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("temporary directory")
}

fn write_file(dir: &Path, name: String, bytes: &[u8], size: usize) {
    let mut content = bytes[..bytes.len().min(size)].to_vec();
    content.resize(size, 0);
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join(name), content).expect("write file");
}

/// Every record below `write_offset` in the files recovery scanned is a frame at its own offset;
/// its body verifies unless it is among `damaged` or CRCs were not checked. (A clean start does
/// not scan older files: they were verified when written.)
fn check_log(log: &RecoveredLog, files_on_disk: u64, check_crc: bool) {
    assert!(
        log.write_offset <= files_on_disk * FILE_SIZE,
        "recovered end {} past the files",
        log.write_offset
    );
    assert!(log.scanned_files <= log.files.len());
    for file in &log.files[log.files.len() - log.scanned_files..] {
        let start = file.start_offset();
        let end = log.write_offset.saturating_sub(start).min(FILE_SIZE) as usize;
        let bytes = file.read(0, end).expect("bytes below the end are readable");
        let mut pos = 0;
        while pos < end {
            match decode(&bytes[pos..], false) {
                Ok(Decoded::Record(r)) => {
                    assert_eq!(r.physical_offset as u64, start + pos as u64);
                    let len = r.len();
                    match verify_record(&bytes[pos..pos + len]) {
                        Ok(_) => {}
                        Err(DecodeError::BodyCrc { .. }) if !check_crc => {}
                        Err(e) => assert!(
                            log.damaged.iter().any(|(at, _)| *at == start + pos as u64),
                            "record at {} kept unreported: {e}",
                            start + pos as u64
                        ),
                    }
                    pos += len;
                }
                // The end-of-file marker covers the rest of a full file.
                Ok(Decoded::Blank { len }) => {
                    assert_eq!(pos + len, FILE_SIZE as usize);
                    pos = end;
                }
                other => panic!(
                    "below the recovered end at {}: {other:?}",
                    start + pos as u64
                ),
            }
        }
    }
}

/// Every entry the consume queues hold points at a record of their topic/queue and queue offset.
fn check_queues(queues: &ConsumeQueues, log: &RecoveredLog, expected: &QueueOffsets) {
    for (topic, ids) in expected {
        for queue_id in ids.keys() {
            let Some(cq) = queues.get(topic, *queue_id) else {
                continue;
            };
            for index in cq.min_offset()..cq.max_offset() {
                let Some(e) = cq.get(index) else {
                    panic!(
                        "{topic}/{queue_id}: entry {index} of [{}, {}) unreadable ({} files)",
                        cq.min_offset(),
                        cq.max_offset(),
                        cq.file_count()
                    );
                };
                let end = e.commit_log_offset as u64 + e.size as u64;
                assert!(end <= log.write_offset, "entry {index} past the log end");
                let file = log
                    .files
                    .iter()
                    .rfind(|f| f.start_offset() <= e.commit_log_offset as u64)
                    .filter(|f| end <= f.start_offset() + FILE_SIZE)
                    .expect("entry inside one file");
                let at = (e.commit_log_offset as u64 - file.start_offset()) as usize;
                let bytes = file.read(at, e.size as usize).expect("readable");
                let r = match decode(bytes, false) {
                    Ok(Decoded::Record(r)) => r,
                    other => panic!("entry {index} points at {other:?}"),
                };
                assert_eq!(
                    (r.topic, r.queue_id, r.queue_offset),
                    (topic.as_str(), *queue_id, index as i64)
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let two_files = flags & TWO_FILES != 0;
    let (scope, check_crc) = scan_of(flags);
    let with_cq = flags & WITH_CONSUME_QUEUE != 0;

    let root = tempdir();
    let log_dir = paths::commitlog_dir(root.path());
    let size = FILE_SIZE as usize;
    let files = if two_files { 2 } else { 1 };
    let (log_bytes, cq_bytes) = rest.split_at(rest.len().min(files * size));
    for i in 0..files {
        let chunk = log_bytes.get(i * size..).unwrap_or_default();
        write_file(
            &log_dir,
            paths::file_name(i as u64 * FILE_SIZE),
            chunk,
            size,
        );
    }
    if with_cq {
        let dir = paths::consume_queue_dir(root.path(), CQ_TOPIC, 0);
        let cq_size = (CQ_ENTRIES_PER_FILE * 20) as usize;
        write_file(&dir, paths::file_name(0), cq_bytes, cq_size);
    }

    let Ok(log) = recover(&log_dir, FILE_SIZE, scope) else {
        return;
    };
    check_log(&log, files as u64, check_crc);
    let mut expected = log.queue_offsets.clone();
    let Ok((queues, _added)) = ConsumeQueues::recover(
        root.path(),
        CqLayout::new(CQ_ENTRIES_PER_FILE),
        &log.files,
        log.write_offset,
        &mut expected,
    ) else {
        return;
    };
    // A consume-queue file from the input may hold anything below the end (readers check each
    // entry against the log); the queues recovery built itself must be exact.
    if !with_cq {
        check_queues(&queues, &log, &expected);
    }
});
