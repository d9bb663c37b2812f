use super::*;
use crate::schedule::SCHEDULE_TOPIC;
use crate::store::message::{find_property, patch_offsets, properties_to_string, MessageToStore};

const NOW: i64 = 1_700_000_000_000;

fn host() -> SocketAddr {
    "127.0.0.1:10911".parse().unwrap()
}

fn schedule() -> Schedule {
    Schedule::new(
        DelayLevels::parse("1s 2s 3s").unwrap(),
        DelayOffsets::default(),
        host(),
    )
}

/// A stored SCHEDULE_TOPIC record of `level` for topic T queue 1, stored at `stored_at`.
fn entry(queue_offset: i64, level: i32, stored_at: i64, real_topic: &str) -> QueuedRecord {
    let props = properties_to_string([
        ("TAGS", "tg"),
        ("UNIQ_KEY", "U"),
        ("DELAY", &level.to_string()),
        ("REAL_TOPIC", real_topic),
        ("REAL_QID", "1"),
    ]);
    let m = MessageToStore {
        topic: SCHEDULE_TOPIC.into(),
        queue_id: level - 1,
        flag: 0,
        body: bytes::Bytes::from_static(b"body"),
        properties: props,
        sys_flag: 0,
        born_timestamp: 5,
        born_host: host(),
        store_host: host(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    let mut b = BytesMut::new();
    encode(&m, &mut b).unwrap();
    patch_offsets(&mut b, queue_offset, 1000 + queue_offset, stored_at);
    QueuedRecord {
        queue_offset,
        commit_log_offset: 1000 + queue_offset,
        size: b.len() as i32,
        tags_code: stored_at + 1000 * level as i64,
        record: Some(b.freeze()),
    }
}

fn slice(records: Vec<QueuedRecord>, max: i64) -> QueueSlice {
    QueueSlice {
        min: 0,
        max,
        records,
    }
}

#[test]
fn reads_then_sleeps_until_due_then_delivers() {
    let mut s = schedule();
    assert_eq!(
        s.next(1, NOW),
        Step::Read {
            queue_id: 0,
            from: 0,
            max: READ_BATCH
        }
    );
    assert_eq!(s.next(1, NOW), Step::Wait, "a read is out");
    s.read(1, slice(vec![entry(0, 1, NOW - 300, "T")], 1));
    assert_eq!(s.next(1, NOW), Step::Sleep { ms: 700 });
    assert_eq!(s.offsets().get(1), Some(0), "not due: offset saved as is");
    match s.next(1, NOW + 700) {
        Step::Deliver {
            queue_offset,
            topic,
            queue_id,
            record,
            tags_code,
        } => {
            assert_eq!((queue_offset, topic.as_str(), queue_id), (0, "T", 1));
            assert_eq!(tags_code, crate::store::message::tags_hash_code("tg"));
            let Ok(Decoded::Record(r)) = decode(&record, true) else {
                panic!()
            };
            assert_eq!(r.body, b"body");
            // Kept, as Java stores it (`REMOVED_PROPERTIES`).
            assert_eq!(find_property(r.properties, "DELAY"), Some("1"));
            assert_eq!(find_property(r.properties, "REAL_TOPIC"), Some("T"));
            assert_eq!(find_property(r.properties, "UNIQ_KEY"), Some("U"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.appends_in_flight(), 1);
    assert_eq!(s.offsets().get(1), Some(0), "no advance before the append");
    s.appended(1, 0, true);
    assert_eq!(s.offsets().get(1), Some(1));
    assert_eq!(s.appends_in_flight(), 0);
    assert!(matches!(s.next(1, NOW + 700), Step::Read { from: 1, .. }));
}

#[test]
fn failed_append_keeps_the_offset_and_retries_after_a_while() {
    let mut s = schedule();
    s.next(2, NOW);
    s.read(2, slice(vec![entry(0, 2, NOW - 5000, "T")], 1));
    assert!(matches!(s.next(2, NOW), Step::Deliver { .. }));
    s.appended(2, 0, false);
    assert_eq!(s.offsets().get(2), None);
    assert_eq!(s.next(2, NOW), Step::Sleep { ms: RETRY_MS });
    assert!(matches!(
        s.next(2, NOW),
        Step::Deliver {
            queue_offset: 0,
            ..
        }
    ));
    s.appended(2, 7, true); // not the append that is out: ignored
    assert_eq!(s.appends_in_flight(), 1);
    s.appended(2, 0, true);
    assert_eq!(s.offsets().get(2), Some(1));
}

#[test]
fn clock_going_back_delivers_now() {
    assert_eq!(deliver_at(NOW, 1000, NOW + 10), NOW + 1000);
    assert_eq!(deliver_at(NOW, 1000, NOW + 5000), NOW + 1000);
    // Stored "in the future" (the clock went back by an hour): due at once.
    assert_eq!(deliver_at(NOW + 3_600_000, 1000, NOW), NOW);
    let mut s = schedule();
    s.next(1, NOW);
    s.read(1, slice(vec![entry(0, 1, NOW + 3_600_000, "T")], 1));
    assert!(matches!(s.next(1, NOW), Step::Deliver { .. }));
}

#[test]
fn empty_queue_backs_off_and_bad_records_are_skipped() {
    let mut s = schedule();
    s.next(3, NOW);
    s.read(3, slice(vec![], 0));
    assert_eq!(
        s.next(3, NOW),
        Step::Sleep {
            ms: EMPTY_RECHECK_MS
        }
    );
    assert!(matches!(s.next(3, NOW), Step::Read { from: 0, .. }));
    // New entries reported by the dispatcher end the empty back-off at once.
    s.read(3, slice(vec![], 0));
    s.grew(3);
    assert!(matches!(s.next(3, NOW), Step::Read { from: 0, .. }));
    // Entries that arrive while a read is out make its empty answer stale: read again at once.
    s.grew(3);
    s.read(3, slice(vec![], 0));
    assert!(matches!(s.next(3, NOW), Step::Read { from: 0, .. }));
    let mut gone = entry(1, 3, NOW - 9000, "T");
    gone.record = None;
    s.read(
        3,
        slice(
            vec![
                entry(0, 3, NOW - 9000, TRANS_HALF_TOPIC),
                gone,
                entry(2, 3, NOW - 9000, "T"),
            ],
            3,
        ),
    );
    assert!(matches!(
        s.next(3, NOW),
        Step::Skipped {
            queue_offset: 0,
            ..
        }
    ));
    assert!(matches!(
        s.next(3, NOW),
        Step::Skipped {
            queue_offset: 1,
            ..
        }
    ));
    assert_eq!(s.offsets().get(3), Some(2));
    assert!(matches!(
        s.next(3, NOW),
        Step::Deliver {
            queue_offset: 2,
            ..
        }
    ));
}

#[test]
fn starts_from_saved_offsets_and_pauses() {
    let mut saved = DelayOffsets::default();
    saved.set(1, 4);
    let mut s = Schedule::new(DelayLevels::parse("1s 2s").unwrap(), saved, host());
    assert!(matches!(s.next(1, NOW), Step::Read { from: 4, .. }));
    // Entries below the queue's minimum are gone: the cursor moves to the first one there.
    s.read(1, slice(vec![entry(6, 1, NOW - 5000, "T")], 7));
    assert!(matches!(
        s.next(1, NOW),
        Step::Deliver {
            queue_offset: 6,
            ..
        }
    ));
    assert_eq!(s.next(9, NOW), Step::Wait, "no such level");
    s.pause();
    assert_eq!(s.next(2, NOW), Step::Wait);
    s.appended(1, 6, true);
    assert_eq!(s.offsets().get(1), Some(7));
    let changed = s.take_changed(NOW).unwrap();
    assert_eq!(changed.get(1), Some(7));
    assert_eq!(s.take_changed(NOW), None);
    s.persist_failed();
    assert!(s.take_changed(NOW).is_some());
}
