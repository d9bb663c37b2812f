use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::BytesMut;

use super::format::{LogEntry, Slot, TimerLog, TimerWheel, LOG_ENTRY_LEN};
use super::*;
use crate::protocol::response_code;
use crate::schedule::rewrite::without as without_properties;
use crate::store::message::{decode, encode, find_property, properties_to_string, Decoded};
use crate::store::paths;

const NOW: i64 = 1_700_000_000_000;
const HOST: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 10911);

fn props(pairs: &[(&str, &str)]) -> String {
    properties_to_string(pairs.iter().copied())
}

fn rules() -> TimerRules {
    TimerRules::default()
}

// ---- the put rewrite ----

#[test]
fn a_delay_in_seconds_is_scheduled_with_timer_out_and_real_topic() {
    let p = props(&[("TAGS", "A"), ("TIMER_DELAY_SEC", "5"), ("UNIQ_KEY", "U1")]);
    let r = rewrite(&p, "Orders", 3, 0, NOW, rules()).unwrap();
    let Rewrite::Scheduled {
        properties,
        deliver_ms,
    } = r
    else {
        panic!("not scheduled: {r:?}");
    };
    assert_eq!(deliver_ms, NOW + 5000);
    assert_eq!(
        find_property(&properties, "TIMER_OUT_MS"),
        Some("1700000005000")
    );
    assert_eq!(find_property(&properties, "REAL_TOPIC"), Some("Orders"));
    assert_eq!(find_property(&properties, "REAL_QID"), Some("3"));
    assert_eq!(find_property(&properties, "TAGS"), Some("A"));
    assert_eq!(find_property(&properties, "TIMER_DELAY_SEC"), Some("5"));
}

#[test]
fn the_first_present_of_sec_ms_deliver_wins_in_java_order() {
    let p = props(&[("TIMER_DELIVER_MS", "1"), ("TIMER_DELAY_MS", "1500")]);
    let r = rewrite(&p, "T", 0, 0, NOW, rules()).unwrap();
    assert!(matches!(r, Rewrite::Scheduled { deliver_ms, .. } if deliver_ms == NOW + 1500));
    let p = props(&[("TIMER_DELAY_MS", "1500"), ("TIMER_DELAY_SEC", "2")]);
    let r = rewrite(&p, "T", 0, 0, NOW, rules()).unwrap();
    assert!(matches!(r, Rewrite::Scheduled { deliver_ms, .. } if deliver_ms == NOW + 2000));
    let at = (NOW + 60_000).to_string();
    let p = props(&[("TIMER_DELIVER_MS", &at)]);
    let r = rewrite(&p, "T", 0, 0, NOW, rules()).unwrap();
    assert!(matches!(r, Rewrite::Scheduled { deliver_ms, .. } if deliver_ms == NOW + 60_000));
}

#[test]
fn unparsable_or_too_long_delays_are_message_illegal_with_javas_remark() {
    for v in ["abc", " 5", "5s", "99999999999999999999"] {
        let p = format!("TIMER_DELAY_SEC\u{1}{v}\u{2}");
        let (code, remark) = rewrite(&p, "T", 0, 0, NOW, rules()).unwrap_err();
        assert_eq!(code, response_code::MESSAGE_ILLEGAL, "{v:?}");
        assert!(remark.contains("max delay 259200000ms"), "{remark}");
    }
    let p = props(&[("TIMER_DELAY_SEC", "259201")]);
    let (code, _) = rewrite(&p, "T", 0, 0, NOW, rules()).unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
    // Exactly the maximum is accepted.
    let p = props(&[("TIMER_DELAY_SEC", "259200")]);
    assert!(matches!(
        rewrite(&p, "T", 0, 0, NOW, rules()).unwrap(),
        Rewrite::Scheduled { .. }
    ));
}

#[test]
fn past_times_are_stored_as_they_are_unless_they_cancel() {
    let p = props(&[("TIMER_DELIVER_MS", &(NOW - 1).to_string())]);
    assert_eq!(
        rewrite(&p, "T", 0, 0, NOW, rules()).unwrap(),
        Rewrite::Unchanged
    );
    let p = props(&[("TIMER_DELAY_MS", "-5")]);
    assert_eq!(
        rewrite(&p, "T", 0, 0, NOW, rules()).unwrap(),
        Rewrite::Unchanged
    );
    let p = props(&[("TIMER_DELAY_MS", "0"), ("TIMER_DEL_UNIQKEY", "x")]);
    let (code, _) = rewrite(&p, "T", 0, 0, NOW, rules()).unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
}

#[test]
fn a_delay_level_wins_and_the_timer_properties_go() {
    let p = props(&[("DELAY", "3"), ("TIMER_DELAY_SEC", "5"), ("TAGS", "A")]);
    let r = rewrite(&p, "T", 0, 0, NOW, rules()).unwrap();
    assert_eq!(
        r,
        Rewrite::Stripped(props(&[("DELAY", "3"), ("TAGS", "A")]))
    );
}

#[test]
fn disabled_timer_is_system_error_and_other_cases_pass_through() {
    let off = TimerRules {
        enabled: false,
        ..rules()
    };
    let p = props(&[("TIMER_DELAY_SEC", "5")]);
    let (code, remark) = rewrite(&p, "T", 0, 0, NOW, off).unwrap_err();
    assert_eq!(code, response_code::SYSTEM_ERROR);
    assert_eq!(
        remark,
        "accurate timer message is not enabled, timerWheelEnable is false"
    );
    // Fired copies (TIMER_OUT_MS), the timer topic itself, prepared transactions: untouched.
    let fired = props(&[("TIMER_DELAY_SEC", "5"), ("TIMER_OUT_MS", "1")]);
    assert_eq!(
        rewrite(&fired, "T", 0, 0, NOW, rules()).unwrap(),
        Rewrite::Unchanged
    );
    assert_eq!(
        rewrite(&p, TIMER_TOPIC, 0, 0, NOW, rules()).unwrap(),
        Rewrite::Unchanged
    );
    assert_eq!(
        rewrite(&p, "T", 0, 0x4, NOW, rules()).unwrap(),
        Rewrite::Unchanged
    );
    // A property that only mentions TIMER_ somewhere else.
    let other = props(&[("KEYS", "TIMER_X")]);
    assert_eq!(
        rewrite(&other, "T", 0, 0, NOW, rules()).unwrap(),
        Rewrite::Unchanged
    );
}

#[test]
fn without_properties_keeps_the_rest_in_order() {
    let p = props(&[("A", "1"), ("B", "2"), ("C", "3")]);
    assert_eq!(
        without_properties(&p, &["B"]),
        props(&[("A", "1"), ("C", "3")])
    );
    assert_eq!(without_properties("A\u{1}1", &[]), "A\u{1}1\u{2}");
}

// ---- the fired copy ----

#[test]
fn a_fired_copy_goes_to_its_real_topic_without_real_properties() {
    let stored = crate::store::message::MessageToStore {
        topic: TIMER_TOPIC.into(),
        queue_id: 0,
        flag: 7,
        body: bytes::Bytes::from_static(b"hello"),
        properties: props(&[
            ("TAGS", "A"),
            ("UNIQ_KEY", "U1"),
            ("TIMER_OUT_MS", "123"),
            ("REAL_TOPIC", "Orders"),
            ("REAL_QID", "2"),
        ]),
        sys_flag: 0,
        born_timestamp: 5,
        born_host: HOST,
        store_host: HOST,
        reconsume_times: 1,
        prepared_transaction_offset: 0,
    };
    let mut buf = BytesMut::new();
    encode(&stored, &mut buf).unwrap();
    let Ok(Decoded::Record(r)) = decode(&buf, true) else {
        panic!("record");
    };
    let m = fired(&r, 999, HOST).unwrap();
    assert_eq!((m.topic.as_str(), m.queue_id, m.flag), ("Orders", 2, 7));
    assert_eq!(&m.body[..], b"hello");
    assert_eq!(m.reconsume_times, 1);
    for (k, v) in [("UNIQ_KEY", Some("U1")), ("TIMER_OUT_MS", Some("123"))] {
        assert_eq!(find_property(&m.properties, k), v);
    }
    assert_eq!(find_property(&m.properties, "REAL_TOPIC"), None);
    assert_eq!(find_property(&m.properties, "REAL_QID"), None);
    assert_eq!(
        find_property(&m.properties, "TIMER_DEQUEUE_MS"),
        Some("999")
    );
    assert!(find_property(&m.properties, "TIMER_ENQUEUE_MS").is_some());
    // Without REAL_QID it cannot be placed.
    let mut no_qid = stored.clone();
    no_qid.properties = props(&[("REAL_TOPIC", "Orders")]);
    let mut buf = BytesMut::new();
    encode(&no_qid, &mut buf).unwrap();
    let Ok(Decoded::Record(r)) = decode(&buf, true) else {
        panic!("record");
    };
    assert_eq!(
        to_real_topic(&r, &[], HOST),
        Err(RedeliverError::Missing {
            offset: r.physical_offset,
            key: "REAL_QID"
        })
    );
}

// ---- file formats ----

#[test]
fn log_entries_and_slots_round_trip_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TimerLog::open(&dir.path().join("log")).unwrap();
    let e = LogEntry {
        prev: -1,
        commit_log_offset: 4096,
        size: 300,
        deliver_ms: NOW + 17,
        slot_ms: NOW,
    };
    assert_eq!(log.append(&e).unwrap(), 0);
    let e2 = LogEntry { prev: 0, ..e };
    assert_eq!(log.append(&e2).unwrap(), LOG_ENTRY_LEN as i64);
    assert_eq!(log.read(0).unwrap(), Some(e));
    assert_eq!(log.read(40).unwrap(), Some(e2));
    assert_eq!(log.read(80).unwrap(), None);
    assert_eq!(LogEntry::decode(&[0u8; 40]), None);

    let wheel = TimerWheel::open(&dir.path().join("wheel"), 10, 1000).unwrap();
    let s = Slot {
        slot_ms: NOW,
        last_pos: 40,
        count: 2,
    };
    wheel.put(&s).unwrap();
    assert_eq!(wheel.get(NOW).unwrap(), s);
    // The same slot index one revolution later is empty for that time.
    assert_eq!(wheel.get(NOW + 10_000).unwrap(), Slot::empty(NOW + 10_000));
    assert_eq!(wheel.raw(NOW + 10_000).unwrap(), s);
    assert_eq!(
        std::fs::metadata(dir.path().join("wheel")).unwrap().len(),
        240
    );
}

// ---- the store ----

fn shape() -> TimerShape {
    TimerShape::new(100, 60)
}

/// Hands out everything due at `now` and reports it delivered; returns the deliver times.
fn deliver_all(s: &mut TimerStore, now: i64) -> Vec<i64> {
    s.load(now).unwrap();
    let due = s.due(now, usize::MAX);
    s.done(&due, true);
    due.iter().map(|d| d.deliver_ms).collect()
}

#[test]
fn messages_come_due_at_their_exact_time_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    for (i, at) in [NOW + 250, NOW + 120, NOW + 5_000, NOW + 121]
        .iter()
        .enumerate()
    {
        s.enqueue(i as i64, 1000 * i as i64, 100, *at).unwrap();
    }
    assert_eq!(s.enqueue_offset(), 4);
    assert_eq!(s.pending(), 4);
    assert_eq!(deliver_all(&mut s, NOW + 119), Vec::<i64>::new());
    assert_eq!(deliver_all(&mut s, NOW + 121), vec![NOW + 120, NOW + 121]);
    assert_eq!(deliver_all(&mut s, NOW + 249), Vec::<i64>::new());
    assert_eq!(deliver_all(&mut s, NOW + 300), vec![NOW + 250]);
    // Only slots up to now + one slot are in memory.
    assert_eq!(s.window_len(), 0);
    assert_eq!(s.next_wake(), NOW + 400, "the next read-ahead");
    assert_eq!(deliver_all(&mut s, NOW + 5_000), vec![NOW + 5_000]);
    assert_eq!(s.pending(), 0);
    // Already filed offsets are ignored.
    s.enqueue(2, 0, 1, NOW).unwrap();
    assert_eq!(s.pending(), 0);
}

#[test]
fn a_late_or_past_message_is_due_at_once_and_failures_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    s.load(NOW + 1_000).unwrap();
    s.enqueue(0, 0, 1, NOW - 60_000).unwrap();
    s.enqueue(1, 1, 1, NOW + 500).unwrap();
    let due = s.due(NOW + 1_000, 10);
    assert_eq!(due.len(), 2);
    assert!(
        s.due(NOW + 1_000, 10).is_empty(),
        "in flight is not handed out twice"
    );
    s.done(&due[..1], false);
    s.done(&due[1..], true);
    let again = s.due(NOW + 1_000, 10);
    assert_eq!(again, due[..1].to_vec());
    s.done(&again, true);
    assert_eq!(s.pending(), 0);
}

#[test]
fn a_clean_restart_keeps_both_cursors_and_delivers_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    // Three in one slot, one of them delivered before the stop.
    for (i, at) in [NOW + 210, NOW + 220, NOW + 230, NOW + 900]
        .iter()
        .enumerate()
    {
        s.enqueue(i as i64, i as i64, 1, *at).unwrap();
    }
    assert_eq!(deliver_all(&mut s, NOW + 215), vec![NOW + 210]);
    s.checkpoint().unwrap();
    drop(s);

    let mut s = TimerStore::open(dir.path(), shape(), NOW + 50_000).unwrap();
    assert_eq!(s.enqueue_offset(), 4);
    assert_eq!(s.pending(), 3);
    assert_eq!(s.dequeue_ms(), NOW + 200);
    assert_eq!(
        deliver_all(&mut s, NOW + 1_000),
        vec![NOW + 220, NOW + 230, NOW + 900]
    );
}

#[test]
fn after_a_kill_the_unsaved_tail_is_undone_and_filed_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    s.enqueue(0, 0, 1, NOW + 300).unwrap();
    s.checkpoint().unwrap();
    // Filed after the checkpoint, then "kill -9" (no checkpoint): one into the same slot, one
    // into a new slot.
    s.enqueue(1, 10, 1, NOW + 310).unwrap();
    s.enqueue(2, 20, 1, NOW + 700).unwrap();
    drop(s);

    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    assert_eq!(s.enqueue_offset(), 1, "the cursor of the checkpoint");
    assert_eq!(s.pending(), 1);
    // The dispatcher hands entries 1 and 2 again.
    s.enqueue(1, 10, 1, NOW + 310).unwrap();
    s.enqueue(2, 20, 1, NOW + 700).unwrap();
    let got: Vec<i64> = {
        s.load(NOW + 1_000).unwrap();
        let due = s.due(NOW + 1_000, 100);
        s.done(&due, true);
        due.iter().map(|d| d.commit_log_offset).collect()
    };
    assert_eq!(got, vec![0, 10, 20], "each exactly once");
}

#[test]
fn a_kill_between_log_append_and_slot_write_is_undone_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    s.enqueue(0, 0, 1, NOW + 300).unwrap();
    s.checkpoint().unwrap();
    drop(s);
    // An entry appended to the log whose slot write never happened.
    let mut log = TimerLog::open(&paths::timer_log(dir.path())).unwrap();
    log.append(&LogEntry {
        prev: 0,
        commit_log_offset: 10,
        size: 1,
        deliver_ms: NOW + 310,
        slot_ms: NOW + 300,
    })
    .unwrap();
    drop(log);
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    s.enqueue(1, 10, 1, NOW + 310).unwrap();
    assert_eq!(deliver_all(&mut s, NOW + 400), vec![NOW + 300, NOW + 310]);
}

#[test]
fn delays_up_to_the_maximum_use_the_whole_wheel() {
    let dir = tempfile::tempdir().unwrap();
    // 60 s maximum at 100 ms: 1200 slots spanning 120 s.
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    s.enqueue(0, 0, 1, NOW + 60_000).unwrap();
    s.enqueue(1, 1, 1, NOW + 150).unwrap();
    assert_eq!(deliver_all(&mut s, NOW + 59_999), vec![NOW + 150]);
    assert_eq!(deliver_all(&mut s, NOW + 60_000), vec![NOW + 60_000]);
    // Beyond the span: a message 2 revolutions away shares a slot index with an undelivered one
    // and waits; once that one is delivered the slot is free.
    let t = NOW + 70_000;
    s.enqueue(2, 2, 1, t).unwrap();
    let err = s.enqueue(3, 3, 1, t + 120_000).unwrap_err();
    assert!(matches!(err, TimerError::SlotTaken { .. }), "{err}");
    assert_eq!(deliver_all(&mut s, t), vec![t]);
    s.enqueue(3, 3, 1, t + 120_000).unwrap();
    assert_eq!(deliver_all(&mut s, t + 120_000), vec![t + 120_000]);
}

#[test]
fn three_day_delays_at_the_default_shape_fire_after_catching_up() {
    let dir = tempfile::tempdir().unwrap();
    let shape = TimerShape::new(1000, 259_200);
    assert_eq!(shape.slots, 518_400);
    let mut s = TimerStore::open(dir.path(), shape, NOW).unwrap();
    let at = NOW + 259_200_000;
    s.enqueue(0, 0, 1, at).unwrap();
    s.checkpoint().unwrap();
    drop(s);
    // The broker comes back just after the time: the read-ahead walks the empty slots in steps.
    let mut s = TimerStore::open(dir.path(), shape, at + 10).unwrap();
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(deliver_all(&mut s, at + 10));
    }
    assert_eq!(got, vec![at]);
}

#[test]
fn the_log_starts_over_when_nothing_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    s.enqueue(0, 0, 1, NOW + 150).unwrap();
    deliver_all(&mut s, NOW + 200);
    s.checkpoint().unwrap();
    assert_eq!(
        std::fs::metadata(paths::timer_log(dir.path()))
            .unwrap()
            .len(),
        0
    );
    s.enqueue(1, 1, 1, NOW + 250).unwrap();
    s.checkpoint().unwrap();
    drop(s);
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    assert_eq!(deliver_all(&mut s, NOW + 300), vec![NOW + 250]);
}

#[test]
fn a_changed_shape_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TimerStore::open(dir.path(), shape(), NOW).unwrap();
    s.checkpoint().unwrap();
    drop(s);
    let err = TimerStore::open(dir.path(), TimerShape::new(1000, 60), NOW)
        .err()
        .unwrap();
    assert!(matches!(err, TimerError::ShapeChanged { .. }), "{err}");
}

#[test]
fn a_million_pending_messages_keep_memory_to_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TimerStore::open(dir.path(), TimerShape::new(1000, 259_200), NOW).unwrap();
    // 200k spread over a day (a million takes too long in a debug test; the shape is the same).
    let n = 200_000i64;
    for i in 0..n {
        s.enqueue(i, i, 1, NOW + 1_000 + i * 432).unwrap();
    }
    s.load(NOW).unwrap();
    assert!(s.window_len() < 10, "window {}", s.window_len());
    assert_eq!(s.pending(), n as u64);
}
