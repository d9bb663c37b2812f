//! The consume-queue check on stores written by the commit log and the reput state machine.

use super::*;
use crate::store::consume_queue::{ConsumeQueue, CqLayout};
use crate::store::consume_queues::tests::{append, open_log, QUEUE};
use crate::store::consume_queues::{ConsumeQueues, Reput};

/// A store with 6 records of queue A and 3 of B (small commit-log files, so several files), all
/// dispatched and flushed.
fn store(root: &Path) {
    let mut log = open_log(root);
    let mut reput = Reput::new(
        ConsumeQueues::new(root.into(), CqLayout::new(4).with_initial_bytes(40)),
        0,
        false,
    );
    for topic in ["A", "B", "A", "A", "B", "A", "B", "A", "A"] {
        append(&mut log, topic);
        reput.records(log.take_runs());
    }
    reput.queues().flush_all();
}

fn queue(root: &Path, topic: &str) -> ConsumeQueue {
    ConsumeQueue::open(
        paths::consume_queue_dir(root, topic, QUEUE),
        CqLayout::new(4).with_initial_bytes(40),
    )
    .unwrap()
}

#[test]
fn queues_written_by_the_store_agree() {
    let d = tempfile::tempdir().unwrap();
    store(d.path());
    let r = consume_queues_agree(d.path()).unwrap();
    assert!(r.ok(), "{}", r.summary());
    assert_eq!((r.records, r.queues, r.entries), (9, 2, 9));
    assert!(
        r.summary().starts_with("consume queues agree"),
        "{}",
        r.summary()
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(consume_queues_agree(empty.path()).unwrap().ok());
}

#[test]
fn a_missing_entry_is_reported() {
    let d = tempfile::tempdir().unwrap();
    store(d.path());
    let mut a = queue(d.path(), "A");
    let cut = a.get(4).unwrap().commit_log_offset;
    a.truncate_from_physical(cut).unwrap();
    drop(a);
    let r = consume_queues_agree(d.path()).unwrap();
    assert_eq!(r.problem_count, 2, "{:?}", r.problems);
    assert!(
        r.problems[0].starts_with("A/3: no entry 4 for the record"),
        "{:?}",
        r.problems
    );
    assert!(r.summary().contains("2 problems"), "{}", r.summary());
}

#[test]
fn a_wrong_entry_and_an_extra_entry_are_reported() {
    let d = tempfile::tempdir().unwrap();
    store(d.path());
    let mut b = queue(d.path(), "B");
    let last = b.last_entry().unwrap();
    // An extra entry past the queue's records (a copy of the last one), then a wrong tag code in
    // a queue's entry.
    b.append(3, last).unwrap();
    drop(b);
    let path = paths::consume_queue_dir(d.path(), "A", QUEUE).join(paths::file_name(0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20 + 19] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let r = consume_queues_agree(d.path()).unwrap();
    assert_eq!(r.problem_count, 2, "{:?}", r.problems);
    assert!(
        r.problems[0].starts_with("A/3: entry 1 is ("),
        "{:?}",
        r.problems
    );
    assert!(
        r.problems[1].starts_with("B/3: entry 3 (")
            && r.problems[1].ends_with("names no record of this queue"),
        "{:?}",
        r.problems
    );
}

#[test]
fn a_lost_queue_is_reported() {
    let d = tempfile::tempdir().unwrap();
    store(d.path());
    std::fs::remove_dir_all(paths::consume_queue_dir(d.path(), "B", QUEUE)).unwrap();
    let r = consume_queues_agree(d.path()).unwrap();
    assert_eq!(r.problem_count, 3, "{:?}", r.problems);
    assert!(r.problems.iter().all(|p| p.starts_with("B/3: no entry")));
}

/// In the delay-level topic the entry's tag code is the delivery time: not compared; its offset
/// and size are.
#[test]
fn delay_topic_tag_codes_are_delivery_times() {
    let d = tempfile::tempdir().unwrap();
    let mut log = open_log(d.path());
    let mut reput = Reput::new(
        ConsumeQueues::new(d.path().into(), CqLayout::new(4)),
        0,
        false,
    );
    let topic = crate::schedule::SCHEDULE_TOPIC;
    append(&mut log, topic);
    let mut runs = log.take_runs();
    runs[0].entries[0].tags_code = 1_700_000_000_000;
    reput.records(runs);
    reput.queues().flush_all();
    drop(reput);
    let r = consume_queues_agree(d.path()).unwrap();
    assert!(r.ok(), "{}", r.summary());
    let path = paths::consume_queue_dir(d.path(), topic, QUEUE).join(paths::file_name(0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[11] ^= 1; // the size
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(consume_queues_agree(d.path()).unwrap().problem_count, 1);
}

/// A record whose topic names no directory of the store (`../A` would be the store's parent's
/// `A`) is reported as unqueued; the check reads nothing outside the store.
#[test]
fn a_topic_that_is_no_directory_name_is_reported_unqueued() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("store");
    store(&root);
    // What `consume_queue_dir(root, "../consumequeue/A", ..)` would reach is queue A itself.
    let mut log = open_log(&root);
    append(&mut log, "../consumequeue/A");
    let r = consume_queues_agree(&root).unwrap();
    assert!(!r.ok(), "{}", r.summary());
    assert_eq!(r.problem_count, 1, "{:?}", r.problems);
}
