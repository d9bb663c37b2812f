//! The consume queues and the reput state machine on a temp dir: start-up recovery against the
//! commit log (the cases `tests/recovery.rs` covers end to end), retention's forgetting, sync
//! mode's hold until flushed, and a stalled queue that catches up without loss or duplicates.

use std::path::Path;

use bytes::BytesMut;

use super::*;
use crate::store::commit_log::{
    recover as recover_log, Appended, CommitLog, CommitLogOptions, RecoveredLog, Scan, WriteMode,
};
use crate::store::message::tests::sample;
use crate::store::message::{encode, tags_hash_code};

/// The queue id `sample` encodes into its records.
pub(crate) const QUEUE: i32 = 3;
/// Small files so a few records roll the commit log.
const LOG_FILE: u64 = 4096;

pub(crate) fn open_log(root: &Path) -> CommitLog {
    let dir = paths::commitlog_dir(root);
    let found = recover_log(&dir, LOG_FILE, Scan::Everything { check_crc: true }).unwrap();
    CommitLog::new(
        found,
        CommitLogOptions {
            dir,
            file_size: LOG_FILE,
            write_mode: WriteMode::Mapped,
            fail_write: None,
        },
    )
}

pub(crate) fn append(log: &mut CommitLog, topic: &str) -> Appended {
    let mut r = BytesMut::new();
    encode(&sample(topic, &[b'x'; 300], "TAGS\u{1}t\u{2}"), &mut r).unwrap();
    log.append(topic.to_string(), QUEUE, &mut r, 1, &[tags_hash_code("t")])
        .unwrap()
}

/// The commit log as start-up finds it after a crash.
fn recovered(root: &Path) -> RecoveredLog {
    recover_log(
        &paths::commitlog_dir(root),
        LOG_FILE,
        Scan::Everything { check_crc: true },
    )
    .unwrap()
}

/// The consume queues as start-up recovers them against `found`.
fn recover_queues(root: &Path, found: &mut RecoveredLog) -> (ConsumeQueues, u64) {
    ConsumeQueues::recover(
        root,
        CqLayout::new(4),
        &found.files,
        found.write_offset,
        &mut found.queue_offsets,
    )
    .unwrap()
}

/// Every entry of a queue as (queue offset, commit-log offset).
fn entries(queues: &ConsumeQueues, topic: &str) -> Vec<(u64, i64)> {
    let cq = queues.get(topic, QUEUE).expect("queue exists");
    (cq.min_offset()..cq.max_offset())
        .map(|i| (i, cq.get(i).expect("readable").commit_log_offset))
        .collect()
}

#[test]
fn recovery_rebuilds_the_entries_a_crash_never_indexed() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open_log(d.path());
    let mut reput = Reput::new(
        ConsumeQueues::new(d.path().into(), CqLayout::new(4)),
        0,
        false,
    );
    let a0 = append(&mut log, "A");
    reput.records(log.take_runs());
    // Appended but never dispatched before the "crash".
    let b0 = append(&mut log, "B");
    let a1 = append(&mut log, "A");
    drop(reput);
    drop(log);

    let mut found = recovered(d.path());
    let (queues, added) = recover_queues(d.path(), &mut found);
    assert_eq!(added, 2);
    assert_eq!(
        entries(&queues, "A"),
        vec![(0, a0.physical_offset), (1, a1.physical_offset)]
    );
    assert_eq!(entries(&queues, "B"), vec![(0, b0.physical_offset)]);
}

#[test]
fn recovery_cuts_entries_past_the_commit_log_end() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open_log(d.path());
    let mut reput = Reput::new(
        ConsumeQueues::new(d.path().into(), CqLayout::new(4)),
        0,
        false,
    );
    let kept = append(&mut log, "A");
    append(&mut log, "A");
    append(&mut log, "A");
    assert_eq!(reput.records(log.take_runs()).len(), 3);
    drop(reput);
    drop(log);

    // The commit log ends after the first record (its tail was cut by commit-log recovery).
    let mut expected = QueueOffsets::default();
    expected.entry("A".into()).or_default().insert(QUEUE, 1);
    let (queues, added) =
        ConsumeQueues::recover(d.path(), CqLayout::new(4), &[], kept.end(), &mut expected).unwrap();
    assert_eq!(added, 0);
    assert_eq!(entries(&queues, "A"), vec![(0, kept.physical_offset)]);
    assert_eq!(expected["A"][&QUEUE], 1);
}

#[test]
fn recovery_keeps_queue_offsets_of_records_it_did_not_scan() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open_log(d.path());
    let mut reput = Reput::new(
        ConsumeQueues::new(d.path().into(), CqLayout::new(4)),
        0,
        false,
    );
    for _ in 0..5 {
        append(&mut log, "A");
    }
    reput.records(log.take_runs());
    let end = log.write_offset();
    drop(reput);
    drop(log);
    // A clean start scans only the last files: their records say nothing of queue A's offsets.
    let mut expected = QueueOffsets::default();
    let (queues, added) =
        ConsumeQueues::recover(d.path(), CqLayout::new(4), &[], end, &mut expected).unwrap();
    assert_eq!(added, 0);
    assert_eq!(queues.get("A", QUEUE).unwrap().max_offset(), 5);
    assert_eq!(
        expected["A"][&QUEUE], 5,
        "the writer continues after the queue's entries"
    );
}

#[test]
fn a_lost_queue_restarts_at_its_first_record_left_after_retention() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open_log(d.path());
    let all: Vec<Appended> = (0..30).map(|_| append(&mut log, "A")).collect();
    drop(log);
    // Retention deleted the first commit-log file; the queue's files are lost too.
    let first = paths::commitlog_dir(d.path()).join(paths::file_name(0));
    std::fs::remove_file(first).unwrap();
    let _ = std::fs::remove_dir_all(d.path().join("consumequeue"));

    let mut found = recovered(d.path());
    assert_eq!(found.files[0].start_offset(), LOG_FILE);
    let (queues, added) = recover_queues(d.path(), &mut found);
    let survivors: Vec<(u64, i64)> = all
        .iter()
        .enumerate()
        .filter(|(_, a)| a.physical_offset as u64 >= LOG_FILE)
        .map(|(i, a)| (i as u64, a.physical_offset))
        .collect();
    assert_eq!(added, survivors.len() as u64);
    assert_eq!(entries(&queues, "A"), survivors);
    assert_eq!(found.queue_offsets["A"][&QUEUE], 30);
}

#[test]
fn forget_below_moves_every_queue_past_deleted_log_files() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open_log(d.path());
    let mut reput = Reput::new(
        ConsumeQueues::new(d.path().into(), CqLayout::new(4)),
        0,
        false,
    );
    let all: Vec<Appended> = (0..30).map(|_| append(&mut log, "A")).collect();
    reput.records(log.take_runs());
    let queues = reput.queues_mut();
    let files_before = queues.get("A", QUEUE).unwrap().file_count();
    queues.forget_below(LOG_FILE);
    let cq = queues.get("A", QUEUE).unwrap();
    let first_kept = all
        .iter()
        .position(|a| a.physical_offset as u64 >= LOG_FILE)
        .unwrap() as u64;
    assert_eq!(cq.min_offset(), first_kept);
    assert_eq!(cq.max_offset(), 30);
    assert!(cq.file_count() < files_before, "whole files removed");
    assert_eq!(cq.get(first_kept - 1), None);
}

fn run(topic: &str, first_queue_offset: i64, physical: i64) -> DispatchRun {
    DispatchRun {
        topic: topic.into(),
        queue_id: QUEUE,
        first_queue_offset,
        entries: smallvec::smallvec![CqEntry {
            commit_log_offset: physical,
            size: 100,
            tags_code: 0,
        }],
    }
}

#[test]
fn sync_mode_holds_runs_until_the_flushed_offset_covers_them() {
    let d = tempfile::tempdir().unwrap();
    let mut reput = Reput::new(
        ConsumeQueues::new(d.path().into(), CqLayout::new(4)),
        0,
        true,
    );
    let indexed = reput.records(vec![run("A", 0, 0), run("A", 1, 100), run("A", 2, 200)]);
    assert!(indexed.is_empty());
    assert_eq!(reput.dispatched(), 0);
    assert!(reput.queues().get("A", QUEUE).is_none());
    // Only the first two records are durable.
    let indexed = reput.flushed(250);
    assert_eq!(indexed.len(), 2);
    assert_eq!(reput.dispatched(), 200);
    assert_eq!(reput.queues().get("A", QUEUE).unwrap().max_offset(), 2);
    assert_eq!(reput.flushed(300).len(), 1);
    assert_eq!(reput.dispatched(), 300);

    let mut async_reput = Reput::new(
        ConsumeQueues::new(d.path().join("b"), CqLayout::new(4)),
        0,
        false,
    );
    assert_eq!(async_reput.records(vec![run("A", 0, 0)]).len(), 1);
}

#[test]
fn a_stalled_queue_keeps_its_runs_in_order_and_catches_up() {
    let d = tempfile::tempdir().unwrap();
    let mut reput = Reput::new(
        ConsumeQueues::new(d.path().into(), CqLayout::new(4)),
        0,
        false,
    );
    // A regular file where queue A's directory goes: its files cannot be created.
    let blocked = paths::consume_queue_dir(d.path(), "A", QUEUE);
    std::fs::create_dir_all(blocked.parent().unwrap()).unwrap();
    std::fs::write(&blocked, b"in the way").unwrap();

    let indexed = reput.records(vec![run("A", 0, 0), run("B", 0, 100), run("A", 1, 200)]);
    assert_eq!(indexed, vec![run("B", 0, 100)], "other queues go on");
    assert_eq!(reput.stalled_queues(), 1);
    assert_eq!(reput.dispatched(), 300, "readers may still read the log");
    assert!(reput.retry_stalled().is_empty(), "still blocked");
    // A later run waits behind the stalled ones even if it could be written.
    assert!(reput.records(vec![run("A", 2, 300)]).is_empty());

    std::fs::remove_file(&blocked).unwrap();
    let caught_up = reput.retry_stalled();
    assert_eq!(
        caught_up,
        vec![run("A", 0, 0), run("A", 1, 200), run("A", 2, 300)]
    );
    assert_eq!(reput.stalled_queues(), 0);
    assert_eq!(
        entries(reput.queues(), "A"),
        vec![(0, 0), (1, 200), (2, 300)]
    );
    // A run indexed twice (a retry after a half-written run) adds nothing.
    reput.queues_mut().index(&run("A", 2, 300)).unwrap();
    assert_eq!(reput.queues().get("A", QUEUE).unwrap().max_offset(), 3);
}

/// Found by the `recovery_scan` fuzz target: a record whose queue-offset field is damaged (the
/// body CRC does not cover it) to a value past any consume queue's reach used to start its queue
/// at a wrapped byte offset. It is skipped now; the records around it are indexed.
#[test]
fn a_record_with_an_out_of_range_queue_offset_is_not_indexed() {
    let d = tempfile::tempdir().unwrap();
    let mut file = vec![0u8; LOG_FILE as usize];
    let mut pos = 0;
    for (topic, queue_offset) in [("A", 0), ("Z", i64::MAX - 3), ("A", 1)] {
        let mut r = BytesMut::new();
        encode(&sample(topic, b"body", ""), &mut r).unwrap();
        crate::store::message::patch_offsets(&mut r, queue_offset, pos as i64, 1);
        file[pos..pos + r.len()].copy_from_slice(&r);
        pos += r.len();
    }
    let dir = paths::commitlog_dir(d.path());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(paths::file_name(0)), &file).unwrap();

    let mut found = recovered(d.path());
    assert_eq!(found.records, 3);
    assert_eq!(found.queue_offsets["Z"][&QUEUE], i64::MAX - 2);
    let (queues, added) = recover_queues(d.path(), &mut found);
    assert_eq!(added, 2);
    assert!(queues.get("Z", QUEUE).is_none());
    assert_eq!(entries(&queues, "A").len(), 2);
}

/// A record whose topic cannot be a directory name (a damaged store, a master's stream) is left
/// unqueued, by the dispatch path and by start-up's rebuild alike: no directory outside the
/// store, no stalled queue, and the other records are queued.
#[test]
fn a_topic_that_is_no_directory_name_is_not_queued() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("store");
    let mut log = open_log(&root);
    let mut reput = Reput::new(ConsumeQueues::new(root.clone(), CqLayout::new(4)), 0, false);
    for topic in ["ok", "../escape", "..", "ok"] {
        append(&mut log, topic);
    }
    reput.records(log.take_runs());
    assert_eq!(reput.stalled_queues(), 0);
    assert_eq!(entries(reput.queues(), "ok").len(), 2);
    assert!(!root.join("escape").exists() && !d.path().join(QUEUE.to_string()).exists());
    // Start-up after losing the queues: the rebuild skips them too.
    drop(reput);
    std::fs::remove_dir_all(paths::consume_queue_root(&root)).unwrap();
    let (queues, added) = recover_queues(&root, &mut recovered(&root));
    assert_eq!((added, entries(&queues, "ok").len()), (2, 2));
    assert!(queues.get("../escape", QUEUE).is_none());
    assert!(!root.join("escape").exists());
    assert!(!paths::is_safe_dir_name("/abs") && !paths::is_safe_dir_name("a/b"));
    assert!(paths::is_safe_dir_name("%RETRY%group") && paths::is_safe_dir_name("TopicTest"));
}

/// `DELETE_TOPIC_IN_BROKER`: a deleted topic's queues are empty from then on — after a restart
/// too, although the commit log still holds the records — and a topic created again continues at
/// the next offset (so recovery never finds a queue with fewer entries than its records say).
#[test]
fn a_cleared_topic_stays_empty_across_a_restart_and_continues_at_its_next_offset() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open_log(d.path());
    let layout = CqLayout::new(4);
    let mut reput = Reput::new(ConsumeQueues::new(d.path().into(), layout), 0, false);
    // 10 records: the queue spans three 4-entry files.
    for _ in 0..10 {
        append(&mut log, "Gone");
    }
    let kept = append(&mut log, "Kept");
    reput.records(log.take_runs());
    let queues = reput.queues_mut();
    assert_eq!(queues.clear_topic("Gone"), 1);
    let cq = queues.get("Gone", QUEUE).unwrap();
    assert_eq!((cq.min_offset(), cq.max_offset()), (10, 10));
    assert_eq!(cq.get(9), None);
    assert_eq!(
        cq.file_count(),
        1,
        "one file of blanks holds the next offset"
    );
    assert!(cq.is_cleared());
    assert_eq!(entries(queues, "Kept"), vec![(0, kept.physical_offset)]);
    // Clearing again changes nothing.
    assert_eq!(queues.clear_topic("Gone"), 1);
    assert_eq!(queues.get("Gone", QUEUE).unwrap().file_count(), 1);

    // The topic is created again: its next record continues at 10.
    let again = append(&mut log, "Gone");
    reput.records(log.take_runs());
    assert_eq!(
        entries(reput.queues(), "Gone"),
        vec![(10, again.physical_offset)]
    );
    drop(reput);
    drop(log);

    // A crash restart scans every record (the old ones say the queue has 10 below): nothing
    // comes back, nothing is rebuilt, and the next offset is 11.
    let mut found = recovered(d.path());
    let (queues, added) = recover_queues(d.path(), &mut found);
    assert_eq!(added, 0);
    assert_eq!(entries(&queues, "Gone"), vec![(10, again.physical_offset)]);
    assert_eq!(found.queue_offsets["Gone"][&QUEUE], 11);
}

#[test]
fn a_cleared_queue_that_never_held_an_entry_goes_with_its_directory() {
    let d = tempfile::tempdir().unwrap();
    let mut queues = ConsumeQueues::new(d.path().into(), CqLayout::new(4));
    queues.index(&run("Empty", 0, 0)).unwrap();
    // A topic that is cleared with nothing in it, and one cleared before its first record.
    let mut empty = ConsumeQueues::new(d.path().into(), CqLayout::new(4));
    assert_eq!(empty.clear_topic("Never"), 0);
    let dir = paths::consume_queue_root(d.path()).join("Empty");
    assert!(dir.exists());
    assert_eq!(queues.clear_topic("Empty"), 1);
    // Its one entry is gone, its offset kept.
    let cq = queues.get("Empty", QUEUE).unwrap();
    assert_eq!((cq.min_offset(), cq.max_offset()), (1, 1));
}

/// `cleanUnusedTopic`: topics no longer in the table lose their entries; kept, system and LMQ
/// topics do not.
#[test]
fn clear_unused_spares_kept_system_and_lmq_topics() {
    let d = tempfile::tempdir().unwrap();
    let mut queues = ConsumeQueues::new(d.path().into(), CqLayout::new(4));
    for (i, topic) in ["Kept", "Dropped", "rmq_sys_x", "%LMQ%q"]
        .iter()
        .enumerate()
    {
        queues.index(&run(topic, 0, 100 * i as i64)).unwrap();
    }
    let cleared = queues.clear_unused(|t| t == "Kept", |t| t.starts_with("rmq_sys_"));
    assert_eq!(cleared, vec!["Dropped".to_string()]);
    for topic in ["Kept", "rmq_sys_x", "%LMQ%q"] {
        assert_eq!(queues.get(topic, QUEUE).unwrap().min_offset(), 0, "{topic}");
    }
    assert_eq!(queues.get("Dropped", QUEUE).unwrap().min_offset(), 1);
    // Already empty: not counted again.
    assert!(queues
        .clear_unused(|t| t == "Kept", |t| t.starts_with("rmq_sys_"))
        .is_empty());
}
