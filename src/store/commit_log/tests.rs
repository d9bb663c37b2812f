//! The commit log's state machine on a temp dir: appends, rolls at every boundary, the blank
//! marker, the staged write and its unwinding, retention's deletions, and start-up recovery of
//! what it wrote (the cases `tests/recovery.rs` covers end to end through the broker).

use bytes::BytesMut;

use super::*;
use crate::store::message::tests::sample;
use crate::store::message::{decode, encode, tags_hash_code, Decoded};
use crate::store::recovery::StopReason;

/// The queue id `sample` encodes into its records.
const QUEUE: i32 = 3;

/// One encoded record of `body_len` bytes for `topic`.
fn record(topic: &str, body_len: usize) -> BytesMut {
    let body = vec![b'x'; body_len];
    let props = "TAGS\u{1}t\u{2}";
    let mut out = BytesMut::new();
    encode(&sample(topic, &body, props), &mut out).unwrap();
    out
}

/// Length of `record(topic, body_len)`.
fn record_len(topic: &str, body_len: usize) -> u64 {
    record(topic, body_len).len() as u64
}

fn open(dir: &std::path::Path, file_size: u64, mode: WriteMode, fail: Option<u64>) -> CommitLog {
    let log = recover(dir, file_size, Scan::Everything { check_crc: true }).unwrap();
    CommitLog::new(
        log,
        CommitLogOptions {
            dir: dir.to_path_buf(),
            file_size,
            write_mode: mode,
            fail_write: fail,
        },
    )
}

fn append(log: &mut CommitLog, topic: &str, body_len: usize) -> Result<Appended, AppendError> {
    let mut r = record(topic, body_len);
    log.append(topic.to_string(), QUEUE, &mut r, 1, &[tags_hash_code("t")])
}

/// The record at `offset`, decoded from the published file table.
fn read_back(log: &CommitLog, offset: u64) -> (String, i64, i64) {
    let table = log.table();
    let file = table
        .iter()
        .find(|f| f.start_offset() <= offset && offset < f.start_offset() + f.size())
        .expect("a file holds the offset");
    let pos = (offset - file.start_offset()) as usize;
    let head = file.read(pos, 4).expect("published");
    let len = i32::from_be_bytes(head.try_into().unwrap()) as usize;
    match decode(file.read(pos, len).expect("published"), true).unwrap() {
        Decoded::Record(r) => (r.topic.to_string(), r.queue_offset, r.physical_offset),
        other => panic!("not a record: {other:?}"),
    }
}

#[test]
fn appends_get_consecutive_offsets_per_queue_and_are_patched_in() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open(d.path(), 1 << 16, WriteMode::Mapped, None);
    assert_eq!(log.missing_file(), Some(0));
    let a = append(&mut log, "A", 10).unwrap();
    let b = append(&mut log, "B", 10).unwrap();
    let c = append(&mut log, "A", 10).unwrap();
    assert_eq!((a.queue_offset, b.queue_offset, c.queue_offset), (0, 0, 1));
    assert_eq!(a.physical_offset, 0);
    assert_eq!(b.physical_offset as u64, a.end());
    assert_eq!(log.write_offset(), c.end());
    assert_eq!(log.published(), c.end(), "async mode publishes at once");
    assert_eq!(
        read_back(&log, c.physical_offset as u64),
        ("A".into(), 1, c.physical_offset)
    );
    let runs = log.take_runs();
    assert_eq!(runs.len(), 3);
    assert_eq!((&*runs[2].topic, runs[2].first_queue_offset), ("A", 1));
    assert_eq!(runs[2].entries[0].tags_code, tags_hash_code("t"));
    assert!(
        log.take_table_change().is_some(),
        "the first file was created"
    );
    assert!(log.take_table_change().is_none());
}

#[test]
fn a_batch_is_one_append_with_consecutive_queue_offsets() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open(d.path(), 1 << 16, WriteMode::Mapped, None);
    let mut batch = record("T", 5);
    batch.extend_from_slice(&record("T", 7));
    batch.extend_from_slice(&record("T", 9));
    let a = log
        .append("T".into(), 2, &mut batch, 3, &[1, 2, 3])
        .unwrap();
    assert_eq!((a.queue_offset, a.bytes), (0, batch.len() as u64));
    let runs = log.take_runs();
    assert_eq!(runs[0].entries.len(), 3);
    assert_eq!(
        runs[0]
            .entries
            .iter()
            .map(|e| e.tags_code)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let third = runs[0].entries[2];
    assert_eq!(read_back(&log, third.commit_log_offset as u64).1, 2);
    assert_eq!(
        append(&mut log, "T", 1).unwrap().queue_offset,
        0,
        "another queue id"
    );
}

/// A record that leaves exactly the blank marker's 8 bytes stays; one byte more rolls, with the
/// marker covering the rest of the file; the next file starts at the file size.
#[test]
fn roll_at_every_boundary() {
    let len = record_len("T", 100);
    for (room_left, rolls) in [
        (len + BLANK_MARKER_LEN, false),
        (len + BLANK_MARKER_LEN - 1, true),
        (len, true),
    ] {
        for mode in [WriteMode::Mapped, WriteMode::Staged] {
            let d = tempfile::tempdir().unwrap();
            let file_size = 4096;
            let mut log = open(d.path(), file_size, mode, None);
            // Fill to exactly `room_left` bytes before the end.
            let filler_body = (file_size - room_left) as usize - record_len("F", 0) as usize;
            append(&mut log, "F", filler_body).unwrap();
            log.write_staged().unwrap();
            assert_eq!(log.write_offset(), file_size - room_left);
            let _ = log.take_table_change();
            let a = append(&mut log, "T", 100).unwrap();
            log.write_staged().unwrap();
            let what = format!("room {room_left}, {mode:?}");
            if rolls {
                assert_eq!(a.physical_offset as u64, file_size, "{what}");
                assert_eq!(log.table().len(), 2, "{what}");
                assert!(log.take_table_change().is_some(), "{what}");
                // The marker: TOTALSIZE = the room left, BLANK magic.
                let old = &log.table()[0];
                let pos = (file_size - room_left) as usize;
                let marker = old.read(pos, 8).expect("published with the roll");
                assert_eq!(
                    i32::from_be_bytes(marker[..4].try_into().unwrap()) as u64,
                    room_left
                );
                assert_eq!(old.readable_end(), file_size as usize, "{what}");
            } else {
                assert_eq!(a.physical_offset as u64, file_size - room_left, "{what}");
                assert_eq!(log.table().len(), 1, "{what}");
            }
            assert_eq!(log.published(), a.end(), "{what}");
            assert_eq!(read_back(&log, a.physical_offset as u64).0, "T");
            drop(log);
            // Recovery reads the marker and continues after it.
            let again = recover(d.path(), file_size, Scan::Everything { check_crc: true }).unwrap();
            assert_eq!(again.write_offset, a.end(), "{what}");
            assert_eq!(again.queue_offsets["T"][&QUEUE], 1, "{what}");
            assert!(again.truncated.is_none(), "{what}");
        }
    }
}

#[test]
fn too_large_and_sealed_are_refused_without_a_trace() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open(d.path(), 4096, WriteMode::Mapped, None);
    let big = 4096 - record_len("T", 0) as usize - 7;
    assert!(matches!(
        append(&mut log, "T", big),
        Err(AppendError::TooLarge { .. })
    ));
    assert_eq!(log.write_offset(), 0);
    assert_eq!(log.seal().unwrap(), 0);
    assert_eq!(append(&mut log, "T", 1), Err(AppendError::Sealed));
    assert!(log.take_runs().is_empty());
}

/// Sync mode stages a turn's appends: nothing is published or handed out before `write_staged`.
#[test]
fn staged_appends_are_published_by_one_write() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open(d.path(), 1 << 16, WriteMode::Staged, None);
    let a = append(&mut log, "T", 10).unwrap();
    let b = append(&mut log, "T", 10).unwrap();
    assert_eq!(log.published(), 0);
    assert!(log.turn_open());
    assert!(log.take_runs().is_empty(), "not written yet");
    assert_eq!(log.table()[0].read(0, 4), None, "readers see nothing");
    log.write_staged().unwrap();
    assert_eq!(log.published(), b.end());
    assert_eq!(log.take_runs().len(), 2);
    assert_eq!(read_back(&log, a.physical_offset as u64).1, 0);
    assert_eq!(read_back(&log, b.physical_offset as u64).1, 1);
}

/// A failed write undoes every unpublished append: no dispatch, queue offsets given back, the
/// write offset back at the published one; the next write stores the next appends there.
#[test]
fn failed_staged_write_unwinds_the_unpublished_appends() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open(d.path(), 1 << 16, WriteMode::Staged, Some(2));
    let first = append(&mut log, "T", 10).unwrap();
    log.write_staged().unwrap();
    let _ = log.take_runs();
    append(&mut log, "T", 10).unwrap();
    append(&mut log, "U", 10).unwrap();
    assert!(matches!(
        log.write_staged(),
        Err(AppendError::WriteFailed(_))
    ));
    assert_eq!(log.write_offset(), first.end());
    assert_eq!(log.published(), first.end());
    assert!(log.take_runs().is_empty());
    let again = append(&mut log, "T", 10).unwrap();
    let other = append(&mut log, "U", 10).unwrap();
    assert_eq!((again.queue_offset, other.queue_offset), (1, 0), "no gap");
    assert_eq!(again.physical_offset as u64, first.end());
    log.write_staged().unwrap();
    assert_eq!(read_back(&log, again.physical_offset as u64).1, 1);
    assert_eq!(log.take_runs().len(), 2);
}

/// The write of a roll's marker (with the turn's earlier appends) fails: all of the turn is
/// undone, the file keeps its place, and the next append rolls again.
#[test]
fn failed_write_at_a_roll_undoes_the_turn() {
    let d = tempfile::tempdir().unwrap();
    let file_size = 4096;
    let mut log = open(d.path(), file_size, WriteMode::Staged, Some(1));
    let near_full = file_size as usize - record_len("F", 0) as usize - 100;
    append(&mut log, "F", near_full).unwrap();
    let e = append(&mut log, "T", 200).unwrap_err();
    assert!(matches!(e, AppendError::WriteFailed(_)), "{e:?}");
    assert_eq!((log.write_offset(), log.published()), (0, 0));
    assert_eq!(log.table().len(), 1, "no roll");
    append(&mut log, "F", near_full).unwrap();
    let t = append(&mut log, "T", 200).unwrap();
    assert_eq!(t.physical_offset as u64, file_size);
    log.write_staged().unwrap();
    assert_eq!(log.take_runs().len(), 2);
    assert_eq!(
        read_back(&log, 0).1,
        0,
        "the filler got queue offset 0 again"
    );
}

#[test]
fn retention_never_drops_the_active_file() {
    let d = tempfile::tempdir().unwrap();
    let file_size = 4096;
    let mut log = open(d.path(), file_size, WriteMode::Mapped, None);
    for _ in 0..12 {
        append(&mut log, "T", 1000).unwrap();
    }
    let files = log.table().len();
    assert!(files >= 3);
    let _ = log.take_table_change();
    assert!(log.delete_files_before(0).is_empty());
    assert!(log.take_table_change().is_none());
    let removed = log.delete_files_before(file_size * 2);
    assert_eq!(removed.len(), 2);
    assert_eq!(log.table()[0].start_offset(), file_size * 2);
    assert!(log.take_table_change().is_some());
    let removed = log.delete_files_before(u64::MAX);
    assert_eq!(removed.len(), files - 3);
    assert_eq!(log.table().len(), 1, "the file being written stays");
}

#[test]
fn prepared_files_are_used_and_never_asked_for_twice() {
    let d = tempfile::tempdir().unwrap();
    let file_size = 4096;
    let mut log = open(d.path(), file_size, WriteMode::Mapped, None);
    let prepare = |start: u64| {
        let path = d.path().join(paths::file_name(start));
        MappedFile::create(&path, start, file_size)
            .unwrap()
            .into_writer()
    };
    assert_eq!(log.missing_file(), Some(0));
    log.prepared(prepare(0));
    assert_eq!(log.missing_file(), None);
    assert_eq!(
        log.files_to_prepare(),
        vec![file_size, file_size * 2],
        "two ahead of the file the first append goes to, before any append"
    );
    assert!(log.files_to_prepare().is_empty());
    log.preparation_failed(file_size);
    assert_eq!(log.files_to_prepare(), vec![file_size, file_size * 2]);
    append(&mut log, "T", 10).unwrap();
    assert_eq!(log.table()[0].start_offset(), 0);
    assert!(log.files_to_prepare().is_empty(), "all asked for already");
    // Rolling into the next file asks for the one after the two ahead.
    while log.write_offset() < file_size {
        append(&mut log, "T", 1000).unwrap();
    }
    assert_eq!(log.files_to_prepare(), vec![file_size * 3]);
}

/// Clean restart: only the last files are scanned, the write offset and queue offsets continue.
#[test]
fn clean_restart_continues_where_the_log_ended() {
    let d = tempfile::tempdir().unwrap();
    let file_size = 4096;
    let mut log = open(d.path(), file_size, WriteMode::Mapped, None);
    let mut last = None;
    for i in 0..20 {
        last = Some(append(&mut log, if i % 2 == 0 { "A" } else { "B" }, 600).unwrap());
    }
    let last = last.unwrap();
    let files = log.table().len();
    drop(log);
    let found = recover(d.path(), file_size, Scan::LastFiles(3)).unwrap();
    assert_eq!(found.scanned_files, 3);
    assert_eq!(found.files.len(), files);
    assert_eq!(found.write_offset, last.end());
    assert_eq!(
        found.files.last().unwrap().readable_end() as u64,
        last.end() % file_size
    );
    let mut log = CommitLog::new(
        found,
        CommitLogOptions {
            dir: d.path().to_path_buf(),
            file_size,
            write_mode: WriteMode::Mapped,
            fail_write: None,
        },
    );
    let next = append(&mut log, "B", 10).unwrap();
    assert_eq!(next.physical_offset as u64, last.end());
    assert_eq!(next.queue_offset, 10);
}

/// After a crash: a flipped body byte costs that record only (kept, reported damaged: readers
/// skip it); the records after it stay in the log.
#[test]
fn crash_recovery_keeps_the_records_after_a_damaged_body() {
    let d = tempfile::tempdir().unwrap();
    let file_size = 1 << 16;
    let mut log = open(d.path(), file_size, WriteMode::Mapped, None);
    let offsets: Vec<Appended> = (0..10)
        .map(|_| append(&mut log, "T", 50).unwrap())
        .collect();
    drop(log);
    let path = d.path().join(paths::file_name(0));
    let mut bytes = std::fs::read(&path).unwrap();
    // Inside the body (the topic and the properties follow it: 2 + 7 and 1 + 1 bytes).
    let bad = offsets[6].end() as usize - 15;
    bytes[bad] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let found = recover(d.path(), file_size, Scan::Everything { check_crc: true }).unwrap();
    assert_eq!(found.write_offset, offsets[9].end());
    assert_eq!(found.queue_offsets["T"][&QUEUE], 10);
    assert_eq!(found.truncated, None);
    assert_eq!(found.quarantine, None);
    assert_eq!(found.damaged.len(), 1);
    assert_eq!(found.damaged[0].0, offsets[6].physical_offset as u64);
    assert!(found.damaged[0].1.contains("CRC"), "{:?}", found.damaged);
}

/// After a crash: a damaged record frame in the first of three files ends the log there (where
/// the next record starts cannot be known), and everything after the cut — the rest of that file
/// and the later files — is moved to a quarantine folder with a report, never deleted.
#[test]
fn crash_recovery_quarantines_what_follows_a_damaged_frame() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("commitlog");
    let file_size = 4096;
    let mut log = open(&dir, file_size, WriteMode::Mapped, None);
    let all: Vec<Appended> = (0..30)
        .map(|_| append(&mut log, "T", 200).unwrap())
        .collect();
    let files = log.table().len();
    assert!(files >= 3, "{files} files");
    drop(log);
    let first = dir.join(paths::file_name(0));
    let mut bytes = std::fs::read(&first).unwrap();
    let bad = all[2].physical_offset as usize;
    bytes[bad + 4..bad + 8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // magic
    std::fs::write(&first, &bytes).unwrap();

    let found = recover(&dir, file_size, Scan::Everything { check_crc: true }).unwrap();
    assert_eq!(found.write_offset, all[2].physical_offset as u64);
    assert_eq!(found.queue_offsets["T"][&QUEUE], 2);
    assert_eq!(found.files.len(), 1);
    let q = found.quarantine.clone().expect("quarantined");
    assert_eq!(
        q.entries.len(),
        files,
        "the first file's tail and every later file"
    );
    assert!(q.dir.starts_with(root.path().join("quarantine")));
    let report = std::fs::read_to_string(q.dir.join("REPORT.txt")).unwrap();
    assert!(
        report.contains(&format!("offset {}", all[2].physical_offset)),
        "{report}"
    );
    // The tail is kept byte for byte, and the later files are whole.
    let tail = std::fs::read(&q.entries[0]).unwrap();
    assert_eq!(&tail[..8], &bytes[bad..bad + 8]);
    let second = std::fs::read(q.dir.join(paths::file_name(file_size))).unwrap();
    assert_eq!(second.len() as u64, file_size);
    assert!(
        crate::store::recovery::scan(&second, file_size, true)
            .records
            .len()
            > 1
    );
    drop(found);
    assert!(!dir.join(paths::file_name(file_size)).exists());
}

/// A torn record (half written before the crash) at the end of the log is cut off; a file after
/// it (prepared, or data past the cut) is removed.
#[test]
fn crash_recovery_cuts_a_torn_tail_and_removes_later_files() {
    // The commit log in a folder of its own: what a cut quarantines goes beside it.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("commitlog");
    let file_size = 4096;
    let mut log = open(&dir, file_size, WriteMode::Mapped, None);
    let a = append(&mut log, "T", 50).unwrap();
    let b = append(&mut log, "T", 50).unwrap();
    drop(log);
    let path = dir.join(paths::file_name(0));
    let mut bytes = std::fs::read(&path).unwrap();
    let end = b.end() as usize;
    bytes[end - 20..end].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    MappedFile::create(&dir.join(paths::file_name(file_size)), file_size, file_size).unwrap();
    let found = recover(&dir, file_size, Scan::Everything { check_crc: true }).unwrap();
    assert_eq!(found.write_offset, a.end());
    assert_eq!(found.removed_files, 1);
    assert_eq!(found.files.len(), 1);
    assert!(found.truncated.is_some());
    assert_eq!(found.files[0].readable_end() as u64, a.end());
    drop(found);
    let bytes = std::fs::read(&path).unwrap();
    let scan = crate::store::recovery::scan(&bytes, 0, true);
    assert_eq!((scan.records.len(), scan.stop), (1, StopReason::End));
}

/// The master's published bytes as `(offset, chunk)` pieces of at most `piece` bytes, never
/// crossing a file (what the HA master sends).
fn master_chunks(log: &CommitLog, from: u64, piece: usize) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    for f in log.table().iter() {
        let readable = f.readable_end();
        let mut pos = from.saturating_sub(f.start_offset()) as usize;
        while pos < readable {
            let len = (readable - pos).min(piece);
            out.push((
                f.start_offset() + pos as u64,
                f.read(pos, len).unwrap().to_vec(),
            ));
            pos += len;
        }
    }
    out
}

fn run_facts(
    runs: &[crate::store::consume_queue::DispatchRun],
) -> Vec<(String, i32, i64, i64, i32, i64)> {
    runs.iter()
        .flat_map(|r| {
            r.entries.iter().enumerate().map(move |(i, e)| {
                let q = r.first_queue_offset + i as i64;
                (
                    r.topic.to_string(),
                    r.queue_id,
                    q,
                    e.commit_log_offset,
                    e.size,
                    e.tags_code,
                )
            })
        })
        .collect()
}

/// Every run of a topic shares one name (no string allocated per run, on a master's appends
/// or a slave's parse).
fn assert_one_name_per_topic(runs: &[crate::store::consume_queue::DispatchRun]) {
    let mut names: Vec<&Arc<str>> = Vec::new();
    for run in runs {
        match names.iter().find(|n| n[..] == run.topic[..]) {
            Some(name) => assert!(Arc::ptr_eq(name, &run.topic), "{} shared", run.topic),
            None => names.push(&run.topic),
        }
    }
    assert!(
        names.len() >= 2 && runs.len() > names.len(),
        "{}",
        runs.len()
    );
}

#[test]
fn replicated_bytes_land_at_the_same_offsets_and_dispatch_the_same_records() {
    let (dm, ds) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let size = 4096;
    let mut master = open(dm.path(), size, WriteMode::Mapped, None);
    for i in 0..40 {
        append(&mut master, if i % 3 == 0 { "A" } else { "B" }, 50 + i * 7).unwrap();
    }
    assert!(master.table().len() >= 3, "several rolls");
    let runs = master.take_runs();
    assert_one_name_per_topic(&runs);
    let master_runs = run_facts(&runs);
    // Odd pieces split records (pieces of 1 and 7 bytes also split total-size fields and spread
    // a record over many chunks); each must start at the slave's own end.
    let modes = [WriteMode::Mapped, WriteMode::Staged];
    for (mode, piece) in modes.into_iter().flat_map(|m| [(m, 1), (m, 7), (m, 333)]) {
        let d = tempfile::tempdir().unwrap();
        let mut slave = open(d.path(), size, mode, None);
        slave.set_replica();
        for (offset, bytes) in master_chunks(&master, 0, piece) {
            assert_eq!(
                slave.append_replicated(offset, &bytes),
                Ok(offset + bytes.len() as u64)
            );
        }
        assert_eq!(slave.write_offset(), master.write_offset());
        assert_eq!(slave.published(), master.write_offset());
        let runs = slave.take_runs();
        assert_one_name_per_topic(&runs);
        assert_eq!(run_facts(&runs), master_runs);
        for (m, s) in master.table().iter().zip(slave.table().iter()) {
            assert_eq!(m.start_offset(), s.start_offset());
            let n = m.readable_end();
            assert_eq!(m.read(0, n), s.read(0, n), "byte-identical file");
        }
        let mut r = record("A", 10);
        assert_eq!(
            slave.append("A".into(), QUEUE, &mut r, 1, &[0]),
            Err(AppendError::NotMaster)
        );
    }
    drop(ds);
}

#[test]
fn replicated_bytes_are_refused_when_they_do_not_continue_this_log() {
    let (dm, ds) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let size = 4096;
    let mut master = open(dm.path(), size, WriteMode::Mapped, None);
    for _ in 0..5 {
        append(&mut master, "A", 100).unwrap();
    }
    let chunks = master_chunks(&master, 0, 200);
    let mut slave = open(ds.path(), size, WriteMode::Mapped, None);
    slave.set_replica();
    let (o0, b0) = &chunks[0];
    slave.append_replicated(*o0, b0).unwrap();
    // A gap or a repeat: the offset must be the slave's own end.
    let (o2, b2) = &chunks[2];
    assert_eq!(
        slave.append_replicated(*o2, b2),
        Err(ReplicaError::OffsetMismatch {
            expected: 200,
            got: *o2
        })
    );
    // A flipped body byte fails the CRC of the record it completes: nothing is written.
    let (o1, b1) = &chunks[1];
    let mut bad = b1.clone();
    bad[b1.len() - 60] ^= 0xff;
    let before = slave.write_offset();
    assert!(matches!(
        slave.append_replicated(*o1, &bad),
        Err(ReplicaError::Corrupt { .. })
    ));
    assert_eq!(slave.write_offset(), before);
    // Garbage that is no record at all.
    let garbage = vec![0x47u8; 64];
    assert!(matches!(
        slave.append_replicated(*o1, &garbage),
        Err(ReplicaError::Corrupt { .. })
    ));
    // Crossing a file end.
    assert!(matches!(
        slave.append_replicated(before, &vec![0u8; size as usize]),
        Err(ReplicaError::CrossesFile { .. })
    ));
    // The right bytes still go in afterwards.
    for (o, b) in &chunks[1..] {
        slave.append_replicated(*o, b).unwrap();
    }
    assert_eq!(slave.write_offset(), master.write_offset());
}

#[test]
fn a_slave_reopened_mid_record_resumes_from_its_last_whole_record() {
    let (dm, ds) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The slave's log in a folder of its own: the cut partial record is quarantined beside it.
    let slave_dir = ds.path().join("commitlog");
    let size = 4096;
    let mut master = open(dm.path(), size, WriteMode::Mapped, None);
    for i in 0..30 {
        append(&mut master, "A", 60 + i).unwrap();
    }
    let chunks = master_chunks(&master, 0, 500);
    let mut slave = open(&slave_dir, size, WriteMode::Mapped, None);
    slave.set_replica();
    for (o, b) in &chunks[..5] {
        slave.append_replicated(*o, b).unwrap();
    }
    let dispatched: u64 = slave.take_runs().iter().map(|r| r.end()).max().unwrap();
    slave.seal().unwrap();
    drop(slave);
    // Recovery cuts the partial record: the slave reports its last whole record's end.
    let mut slave = open(&slave_dir, size, WriteMode::Mapped, None);
    slave.set_replica();
    assert_eq!(slave.write_offset(), dispatched);
    for (o, b) in master_chunks(&master, dispatched, 500) {
        slave.append_replicated(o, &b).unwrap();
    }
    assert_eq!(slave.write_offset(), master.write_offset());
    let first_new = run_facts(&slave.take_runs())[0].2;
    assert!(first_new > 0, "queue offsets continue after the reopen");
}

/// Mapped mode writes zeros ahead of the write position, never over written bytes: a small file
/// to its end at the first append; in a large file, the next stretch once less than the refill
/// distance is left, and again from the start of the next file; every record reads back intact
/// (body CRC checked) after many stretches.
#[test]
fn zeros_run_ahead_of_the_writer_and_never_over_its_records() {
    let d = tempfile::tempdir().unwrap();
    let small = 1 << 20;
    let mut log = open(d.path(), small, WriteMode::Mapped, None);
    append(&mut log, "T", 100).unwrap();
    assert_eq!(
        log.zeroed_upto, small,
        "a small file is zeroed to its end at once"
    );

    let d = tempfile::tempdir().unwrap();
    let big = 4 * ZERO_AHEAD as u64;
    let mut log = open(d.path(), big, WriteMode::Mapped, None);
    append(&mut log, "T", 100).unwrap();
    assert_eq!(log.zeroed_upto, log.write_offset() + ZERO_AHEAD as u64);
    let mut offsets = Vec::new();
    let mut stretches = 0;
    let mut prev = log.zeroed_upto;
    for i in 0..400 {
        // Not 4 KiB multiples, so stretches start and end inside records.
        let a = append(&mut log, "T", 20_000 + i * 37).unwrap();
        log.publish(log.write_offset());
        offsets.push(a.physical_offset as u64);
        assert!(log.zeroed_upto >= log.write_offset() || log.write_offset().is_multiple_of(big));
        if log.zeroed_upto != prev {
            stretches += 1;
            prev = log.zeroed_upto;
        }
    }
    assert!(log.write_offset() > 2 * big, "rolled twice");
    assert!(stretches > 10, "{stretches} stretches");
    for o in offsets {
        assert_eq!(read_back(&log, o).2, o as i64);
    }
}

/// A slave that indexes derives each replicated record's index keys as it checks the record:
/// the same keys, in the same order, as the dispatcher derives from the master's records, handed
/// out with the runs they belong to; a slave that does not index derives none.
#[test]
fn a_replica_derives_the_index_keys_of_what_it_dispatches() {
    use crate::store::index::{push_keys, IndexedKey};
    use crate::store::message::KnownProperties;
    let dm = tempfile::tempdir().unwrap();
    let size = 4096;
    let mut master = open(dm.path(), size, WriteMode::Mapped, None);
    for i in 0..30 {
        let props = match i % 3 {
            0 => format!("UNIQ_KEY\u{1}U{i}\u{2}KEYS\u{1}k{i} shared\u{2}"),
            1 => format!("UNIQ_KEY\u{1}U{i}\u{2}TAGS\u{1}t\u{2}"),
            _ => "TAGS\u{1}t\u{2}".to_string(),
        };
        let mut r = BytesMut::new();
        encode(&sample("T", &[b'x'; 40], &props), &mut r).unwrap();
        let tags_code = if i % 3 == 0 { 0 } else { tags_hash_code("t") };
        master
            .append("T".into(), QUEUE, &mut r, 1, &[tags_code])
            .unwrap();
    }
    let master_runs = master.take_runs();
    let mut expected: Vec<IndexedKey> = Vec::new();
    for e in master_runs.iter().flat_map(|r| r.entries.iter()) {
        let table = master.table();
        let f = table
            .iter()
            .find(|f| {
                f.start_offset() as i64 <= e.commit_log_offset
                    && (e.commit_log_offset as u64) < f.start_offset() + size
            })
            .unwrap();
        let pos = (e.commit_log_offset as u64 - f.start_offset()) as usize;
        let Decoded::Record(v) = decode(f.read(pos, e.size as usize).unwrap(), false).unwrap()
        else {
            panic!("a record");
        };
        let found = KnownProperties::scan(v.properties);
        push_keys(
            v.topic,
            v.physical_offset,
            v.store_timestamp,
            v.sys_flag,
            &found,
            &mut expected,
        );
    }
    assert_eq!(expected.len(), 40, "10 x (U, k, shared) + 10 x U");
    for piece in [7, 333] {
        let d = tempfile::tempdir().unwrap();
        let mut slave = open(d.path(), size, WriteMode::Mapped, None);
        slave.set_replica();
        slave.derive_index_keys();
        let (mut runs, mut keys) = (Vec::new(), Vec::new());
        for (offset, bytes) in master_chunks(&master, 0, piece) {
            slave.append_replicated(offset, &bytes).unwrap();
            let (r, k) = slave.take_dispatch();
            let k = k.expect("an indexing replica hands out keys");
            let end = r.last().map_or(0, |r| r.end() as i64);
            assert!(
                k.iter().all(|k| k.phy_offset < end),
                "keys go with their runs"
            );
            runs.extend(r);
            keys.extend(k);
        }
        assert_eq!(run_facts(&runs), run_facts(&master_runs));
        assert_eq!(keys, expected, "piece {piece}");
    }
    let d = tempfile::tempdir().unwrap();
    let mut plain = open(d.path(), size, WriteMode::Mapped, None);
    plain.set_replica();
    for (offset, bytes) in master_chunks(&master, 0, 333) {
        plain.append_replicated(offset, &bytes).unwrap();
    }
    assert_eq!(plain.take_dispatch().1, None);
}
