use super::*;
use crate::store::message::{decode, find_property, Decoded};

fn host() -> SocketAddr {
    "10.0.0.1:10911".parse().unwrap()
}

fn sent(props: &str) -> MessageToStore {
    MessageToStore {
        topic: "Orders".into(),
        queue_id: 3,
        flag: 7,
        body: Bytes::from_static(b"order-1"),
        properties: props.to_string(),
        sys_flag: sys_flag::TRANSACTION_PREPARED,
        born_timestamp: 1_000,
        born_host: "10.0.0.2:5000".parse().unwrap(),
        store_host: host(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// The record bytes of `m` as stored at (`queue_offset`, `physical_offset`).
fn stored(m: &MessageToStore, queue_offset: i64, physical_offset: i64) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(m, &mut out).unwrap();
    patch_offsets(&mut out, queue_offset, physical_offset, 2_000);
    out.to_vec()
}

fn view(bytes: &[u8]) -> RecordView<'_> {
    match decode(bytes, true).unwrap() {
        Decoded::Record(v) => v,
        other => panic!("not a record: {other:?}"),
    }
}

const PROPS: &str = "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}pg\u{2}UNIQ_KEY\u{1}ID1\u{2}TAGS\u{1}t\u{2}";

#[test]
fn tran_msg_is_read_as_java_parse_boolean() {
    assert!(is_half(Some("TRUE"), 0, 0));
    assert!(!is_half(Some("1"), 0, 0));
    assert!(!is_half(None, 0, 0));
    assert!(!is_half(Some("true"), 1, 3), "a retry with a delay level");
    assert!(is_half(Some("true"), 1, 0));
    let found = crate::store::message::KnownProperties::scan(PROPS);
    assert_eq!(found.tran_msg, Some("true"));
}

/// The half goes to the half topic's queue 0, transaction bits cleared, real place in properties.
#[test]
fn a_half_keeps_its_real_topic_and_queue_in_properties() {
    let half = half_message(sent(PROPS), "ID1");
    assert_eq!((half.topic.as_str(), half.queue_id), (HALF_TOPIC, 0));
    assert_eq!(half.sys_flag & sys_flag::TRANSACTION_MASK, 0);
    let p = &half.properties;
    assert_eq!(find_property(p, property::REAL_TOPIC), Some("Orders"));
    assert_eq!(find_property(p, property::REAL_QID), Some("3"));
    assert_eq!(find_property(p, TRANSACTION_ID), Some("ID1"));
    assert_eq!(find_property(p, property::PGROUP), Some("pg"));
}

fn header(group: &str, queue_offset: i64, offset: i64) -> EndTransactionHeader {
    EndTransactionHeader {
        producer_group: group.into(),
        tran_state_table_offset: queue_offset,
        commit_log_offset: offset,
        outcome: Outcome::Commit,
        from_transaction_check: false,
        msg_id: "ID1".into(),
    }
}

/// Java's checks and remarks, and a record of another topic is not a half.
#[test]
fn end_transaction_must_name_the_half_exactly() {
    let bytes = stored(&half_message(sent(PROPS), "ID1"), 4, 800);
    let half = view(&bytes);
    assert!(check_half(Some(&half), &header("pg", 4, 800)).is_ok());
    let remark = |r: Result<(), Refusal>| r.unwrap_err().1;
    assert_eq!(
        remark(check_half(None, &header("pg", 4, 800))),
        "Find prepared transaction message failed"
    );
    assert_eq!(
        remark(check_half(Some(&half), &header("other", 4, 800))),
        "The producer group wrong"
    );
    assert_eq!(
        remark(check_half(Some(&half), &header("pg", 5, 800))),
        "The transaction state table offset wrong"
    );
    assert_eq!(
        remark(check_half(Some(&half), &header("pg", 4, 801))),
        "The commit log offset wrong"
    );
    let plain = stored(&sent(PROPS), 4, 800);
    assert_eq!(
        remark(check_half(Some(&view(&plain)), &header("pg", 4, 800))),
        "Find prepared transaction message failed"
    );
}

/// The commit restores the real place, drops the transaction properties, marks COMMIT and names
/// the half's offset.
#[test]
fn a_commit_is_the_message_in_its_real_queue() {
    let bytes = stored(&half_message(sent(PROPS), "ID1"), 4, 800);
    let c = commit_message(&view(&bytes), host()).unwrap();
    assert_eq!((c.topic.as_str(), c.queue_id, c.flag), ("Orders", 3, 7));
    assert_eq!(&c.body[..], b"order-1");
    assert_eq!(
        c.sys_flag & sys_flag::TRANSACTION_MASK,
        sys_flag::TRANSACTION_COMMIT
    );
    assert_eq!(c.prepared_transaction_offset, 800);
    assert_eq!(c.born_timestamp, 1_000);
    for gone in [property::REAL_TOPIC, property::REAL_QID, property::TRAN_MSG] {
        assert_eq!(find_property(&c.properties, gone), None, "{gone}");
    }
    assert_eq!(
        find_property(&c.properties, property::UNIQ_KEY),
        Some("ID1")
    );
    assert_eq!(find_property(&c.properties, property::TAGS), Some("t"));
}

#[test]
fn op_records_name_half_offsets() {
    let op = op_message(42, host());
    assert_eq!((op.topic.as_str(), op.queue_id), (OP_TOPIC, 0));
    assert_eq!(
        find_property(&op.properties, property::TAGS),
        Some(REMOVE_TAG)
    );
    assert_eq!(op_offsets(&op.body).collect::<Vec<_>>(), [42]);
    assert_eq!(op_offsets(b"5,6,x,").collect::<Vec<_>>(), [5, 6]);
}

/// The check's body decodes as a record of the real topic and queue at the half's offsets; the
/// header names them and the ids.
#[test]
fn a_check_carries_the_half_as_its_real_message() {
    let bytes = stored(&half_message(sent(PROPS), "ID1"), 4, 800);
    let cmd = check_request(&view(&bytes), "broker-a", 9).unwrap();
    assert_eq!(cmd.code, request_code::CHECK_TRANSACTION_STATE);
    assert!(cmd.is_oneway());
    assert_eq!(cmd.ext("tranStateTableOffset"), Some("4"));
    assert_eq!(cmd.ext("commitLogOffset"), Some("800"));
    assert_eq!(cmd.ext("msgId"), Some("ID1"));
    assert_eq!(cmd.ext("transactionId"), Some("ID1"));
    assert_eq!(
        cmd.ext("offsetMsgId"),
        Some(offset_msg_id(host(), 800).as_str())
    );
    let body = view(&cmd.body);
    assert_eq!(
        (
            body.topic,
            body.queue_id,
            body.queue_offset,
            body.physical_offset
        ),
        ("Orders", 3, 4, 800)
    );
    assert_eq!(body.property(property::PGROUP), Some("pg"));
}

#[test]
fn the_first_check_waits_for_the_timeout_or_the_producers_immunity() {
    let bytes = stored(&half_message(sent(PROPS), "ID1"), 4, 800);
    assert_eq!(first_check_ms(&view(&bytes), 6_000), 8_000);
    let immune = format!("{PROPS}{CHECK_IMMUNITY_SECS}\u{1}60\u{2}");
    let bytes = stored(&half_message(sent(&immune), "ID1"), 4, 800);
    assert_eq!(first_check_ms(&view(&bytes), 6_000), 62_000);
}
