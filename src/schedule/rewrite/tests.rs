use std::net::SocketAddr;

use super::*;
use crate::store::message::properties_to_string;

fn message(props: &str, sys_flag: i32) -> MessageToStore {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    MessageToStore {
        topic: "T".into(),
        queue_id: 3,
        flag: 0,
        body: bytes::Bytes::from_static(b"b"),
        properties: props.into(),
        sys_flag,
        born_timestamp: 1,
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

fn levels() -> DelayLevels {
    DelayLevels::parse("1s 2s 3s").unwrap()
}

#[test]
fn delayed_message_moves_to_the_schedule_topic() {
    let props = properties_to_string([("TAGS", "a"), ("DELAY", "2"), ("UNIQ_KEY", "U")]);
    let mut m = message(&props, 0);
    let code = schedule(&mut m, &levels(), || 1_000_000).unwrap();
    assert_eq!(code, Some(1_002_000));
    assert_eq!(m.topic, SCHEDULE_TOPIC);
    assert_eq!(m.queue_id, 1);
    assert_eq!(find_property(&m.properties, "REAL_TOPIC"), Some("T"));
    assert_eq!(find_property(&m.properties, "REAL_QID"), Some("3"));
    assert_eq!(find_property(&m.properties, "DELAY"), Some("2"));
    assert_eq!(find_property(&m.properties, "TAGS"), Some("a"));
    assert!(m.properties.starts_with(&props), "unchanged prefix");
}

#[test]
fn level_above_the_highest_is_clamped_and_said_so() {
    let props = properties_to_string([("DELAY", "40"), ("KEYS", "k")]);
    let mut m = message(&props, sys_flag::TRANSACTION_COMMIT);
    assert_eq!(schedule(&mut m, &levels(), || 0).unwrap(), Some(3000));
    assert_eq!(m.queue_id, 2);
    assert_eq!(find_property(&m.properties, "DELAY"), Some("3"));
    assert_eq!(parse_properties(&m.properties).len(), 4);
    assert_eq!(find_property(&m.properties, "KEYS"), Some("k"));
}

#[test]
fn left_alone_without_delay_or_for_prepared_and_rollback() {
    let levels = levels();
    for (props, flag) in [
        (String::new(), 0),
        (properties_to_string([("DELAY", "0")]), 0),
        (properties_to_string([("DELAY", "-3")]), 0),
        (
            properties_to_string([("DELAY", "1")]),
            sys_flag::TRANSACTION_PREPARED,
        ),
        (
            properties_to_string([("DELAY", "1")]),
            sys_flag::TRANSACTION_ROLLBACK,
        ),
    ] {
        let mut m = message(&props, flag);
        let before = m.clone();
        assert_eq!(schedule(&mut m, &levels, || 5).unwrap(), None, "{props:?}");
        assert_eq!(m, before);
    }
}

#[test]
fn any_topic_is_rewritten_and_a_bad_level_is_refused() {
    let mut m = message(&properties_to_string([("DELAY", "1")]), 0);
    m.topic = "%RETRY%cg".into();
    m.queue_id = 0;
    assert_eq!(schedule(&mut m, &levels(), || 0).unwrap(), Some(1000));
    assert_eq!(
        find_property(&m.properties, "REAL_TOPIC"),
        Some("%RETRY%cg")
    );
    let mut bad = message(&properties_to_string([("DELAY", "x")]), 0);
    let e = schedule(&mut bad, &levels(), || 0).unwrap_err();
    assert!(e.to_string().contains("For input string: \"x\""), "{e}");
}

/// Found by the `header_decode` fuzz target: a `DELAY` value with a newline (a property string
/// whose separator was replaced) made a multi-line remark.
#[test]
fn a_bad_delay_level_is_quoted_on_one_line() {
    let e = delay_level("DELAY\u{1}3\nTAGS\u{1}TagB\u{2}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "java.lang.NumberFormatException: For input string: \"3\\nTAGS\\u{1}TagB\""
    );
    let long = delay_level(&format!("DELAY\u{1}{}\u{2}", "9".repeat(40_000))).unwrap_err();
    assert!(long.to_string().len() < 200, "{long}");
}

#[test]
fn without_drops_named_properties() {
    let props = properties_to_string([("A", "1"), ("DELAY", "2"), ("B", "3")]);
    assert_eq!(
        without(&props, &["DELAY"]),
        properties_to_string([("A", "1"), ("B", "3")])
    );
}
