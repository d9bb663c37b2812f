use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::BytesMut;

use super::*;
use crate::protocol::request_code;
use crate::store::message::{decode, encode, find_property, Decoded};

const BORN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)), 40000);
const OLD_STORE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 10911);
const STORE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 10911);

/// A stored record as the commit log holds it (physical offset 4096).
fn stored(topic: &str, props: &str, reconsume_times: i32) -> Vec<u8> {
    let m = MessageToStore {
        topic: topic.into(),
        queue_id: 2,
        flag: 5,
        body: bytes::Bytes::from_static(b"\x01compressed?"),
        properties: props.into(),
        sys_flag: crate::store::message::sys_flag::COMPRESSED,
        born_timestamp: 1_700_000_000_123,
        born_host: BORN,
        store_host: OLD_STORE,
        reconsume_times,
        prepared_transaction_offset: 0,
    };
    let mut buf = BytesMut::new();
    encode(&m, &mut buf).unwrap();
    crate::store::message::patch_offsets(&mut buf, 7, 4096, 1_700_000_000_999);
    buf.to_vec()
}

fn view(bytes: &[u8]) -> RecordView<'_> {
    match decode(bytes, true).unwrap() {
        Decoded::Record(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn retry_and_dlq_topic_names() {
    assert_eq!(retry_topic("cg"), "%RETRY%cg");
    assert_eq!(dlq_topic("cg"), "%DLQ%cg");
    assert_eq!(group_of_retry_topic("%RETRY%cg"), Some("cg"));
    assert_eq!(group_of_retry_topic("%RETRY%cg+TopicA"), Some("cg"));
    assert_eq!(group_of_retry_topic("%RETRY%a+b+c"), Some("a+b+c"));
    assert_eq!(group_of_retry_topic("%RETRY%cg+"), Some("cg+"));
    assert_eq!(group_of_retry_topic("TopicA"), None);
    assert_eq!(group_of_retry_topic("%DLQ%cg"), None);
}

fn send_back_cmd(pairs: &[(&'static str, &'static str)]) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request_code::CONSUMER_SEND_MSG_BACK, 1);
    for (k, v) in pairs {
        cmd = cmd.with_ext(k, *v);
    }
    cmd
}

/// Reflective decoding: optional fields take Java's defaults, a bad optional number is null, a
/// missing or unparsable required field is Java's NullPointerException (SYSTEM_ERROR).
#[test]
fn the_header_decodes_as_java_decodes_it() {
    let h = SendBackHeader::decode(&send_back_cmd(&[
        ("offset", "4096"),
        ("group", "cg"),
        ("delayLevel", "0"),
        ("originMsgId", "ID"),
        ("originTopic", "T"),
        ("maxReconsumeTimes", "3"),
        ("unitMode", "1"),
    ]))
    .unwrap();
    assert_eq!(
        h,
        SendBackHeader {
            offset: 4096,
            group: "cg".into(),
            delay_level: 0,
            origin_msg_id: Some("ID".into()),
            origin_topic: Some("T".into()),
            unit_mode: false,
            max_reconsume_times: Some(3),
        }
    );
    let h = SendBackHeader::decode(&send_back_cmd(&[
        ("offset", "+1"),
        ("group", "cg"),
        ("delayLevel", "-1"),
        ("maxReconsumeTimes", "x"),
        ("unitMode", "TRUE"),
    ]))
    .unwrap();
    assert_eq!((h.offset, h.delay_level), (1, -1));
    assert_eq!((h.max_reconsume_times, h.unit_mode), (None, true));
    let err = SendBackHeader::decode(&send_back_cmd(&[("group", "cg"), ("delayLevel", "0")]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "java.lang.NullPointerException, the custom field ConsumerSendMsgBackRequestHeader.offset is null"
    );
    let err = SendBackHeader::decode(&send_back_cmd(&[("offset", "0x10"), ("delayLevel", "0")]))
        .unwrap_err();
    assert!(
        matches!(err, HeaderError::Null { field: "group", .. }),
        "{err}"
    );
    let err = SendBackHeader::decode(&send_back_cmd(&[
        ("offset", "0x10"),
        ("group", "cg"),
        ("delayLevel", "0"),
    ]))
    .unwrap_err();
    assert!(
        err.to_string().contains("offset is null (\"0x10\""),
        "{err}"
    );
}

#[test]
fn the_header_max_overrides_the_groups_from_v3_4_9() {
    assert_eq!(max_reconsume_times(16, None, 400), 16);
    assert_eq!(max_reconsume_times(16, Some(2), 400), 2);
    assert_eq!(max_reconsume_times(16, Some(2), version::V3_4_9), 2);
    assert_eq!(max_reconsume_times(16, Some(2), version::V3_4_9 - 1), 16);
}

#[test]
fn dead_letter_at_the_max_or_on_a_negative_level() {
    use SendBackTarget::*;
    assert_eq!(send_back_target(0, 16, 0, 18), Retry { delay_level: 3 });
    assert_eq!(send_back_target(15, 16, 0, 18), Retry { delay_level: 18 });
    // The 17th failure (reconsumeTimes 16 with max 16) goes to the DLQ.
    assert_eq!(send_back_target(16, 16, 0, 18), DeadLetter);
    assert_eq!(send_back_target(17, 16, 5, 18), DeadLetter);
    assert_eq!(send_back_target(0, 0, 0, 18), DeadLetter);
    assert_eq!(send_back_target(0, 16, -1, 18), DeadLetter);
    assert_eq!(send_back_target(3, 16, i32::MIN, 18), DeadLetter);
}

#[test]
fn the_level_is_three_plus_reconsume_times_unless_asked_and_never_above_the_max() {
    use SendBackTarget::*;
    for n in 0..15 {
        assert_eq!(send_back_target(n, 16, 0, 18), Retry { delay_level: 3 + n });
    }
    assert_eq!(send_back_target(1, 16, 7, 18), Retry { delay_level: 7 });
    assert_eq!(send_back_target(1, 16, 40, 18), Retry { delay_level: 18 });
    assert_eq!(send_back_target(12, 100, 0, 18), Retry { delay_level: 15 });
    assert_eq!(send_back_target(20, 100, 0, 18), Retry { delay_level: 18 });
    assert_eq!(
        send_back_target(i32::MAX - 1, i32::MAX, 0, 18),
        Retry { delay_level: 18 }
    );
}

/// The new record: same body/flag/sysFlag/born time and host, this broker as store host,
/// reconsumeTimes + 1, RETRY_TOPIC, WAIT=false, DELAY, ORIGIN_MESSAGE_ID = the offset msgId.
#[test]
fn the_retry_record_copies_the_original_and_adds_the_retry_properties() {
    let bytes = stored(
        "TopicA",
        "TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}U1\u{2}WAIT\u{1}true\u{2}",
        0,
    );
    let original = view(&bytes);
    let m = send_back_message(
        &original,
        "cg",
        SendBackTarget::Retry { delay_level: 3 },
        0,
        STORE,
    );
    assert_eq!((m.topic.as_str(), m.queue_id), ("%RETRY%cg", 0));
    assert_eq!(&m.body[..], original.body);
    assert_eq!((m.flag, m.sys_flag), (5, original.sys_flag));
    assert_eq!((m.born_timestamp, m.born_host), (1_700_000_000_123, BORN));
    assert_eq!((m.store_host, m.reconsume_times), (STORE, 1));
    let p = |k| find_property(&m.properties, k);
    assert_eq!(p(property::RETRY_TOPIC), Some("TopicA"));
    assert_eq!(p(property::WAIT), Some("false"));
    assert_eq!(p(property::DELAY), Some("3"));
    assert_eq!(p(property::TAGS), Some("TagA"));
    assert_eq!(p(property::UNIQ_KEY), Some("U1"));
    assert_eq!(
        p(property::ORIGIN_MESSAGE_ID),
        Some(offset_msg_id(OLD_STORE, 4096).as_str())
    );
    // Existing keys are replaced in place, not repeated.
    assert_eq!(m.properties.matches("WAIT\u{1}").count(), 1);
    assert!(m
        .properties
        .starts_with("TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}U1\u{2}WAIT\u{1}false\u{2}"));
    // It encodes to a valid record.
    let mut buf = BytesMut::new();
    encode(&m, &mut buf).unwrap();
    assert!(matches!(decode(&buf, true), Ok(Decoded::Record(_))));
}

/// A message sent back a second time (it came from %RETRY%) keeps its RETRY_TOPIC and origin id.
#[test]
fn a_retried_message_keeps_its_retry_topic_and_origin_id() {
    let props = "RETRY_TOPIC\u{1}TopicA\u{2}ORIGIN_MESSAGE_ID\u{1}FIRST\u{2}DELAY\u{1}3\u{2}";
    let bytes = stored("%RETRY%cg", props, 1);
    let m = send_back_message(
        &view(&bytes),
        "cg",
        SendBackTarget::Retry { delay_level: 4 },
        0,
        STORE,
    );
    let p = |k| find_property(&m.properties, k);
    assert_eq!(p(property::RETRY_TOPIC), Some("TopicA"));
    assert_eq!(p(property::ORIGIN_MESSAGE_ID), Some("FIRST"));
    assert_eq!(p(property::DELAY), Some("4"));
    assert_eq!(m.reconsume_times, 2);
    // A blank origin id counts as absent (`UtilAll.isBlank`).
    let bytes = stored("TopicA", "ORIGIN_MESSAGE_ID\u{1} \u{2}", 0);
    let m = send_back_message(&view(&bytes), "cg", SendBackTarget::DeadLetter, 0, STORE);
    assert_eq!(
        find_property(&m.properties, property::ORIGIN_MESSAGE_ID),
        Some(offset_msg_id(OLD_STORE, 4096).as_str())
    );
}

#[test]
fn the_dead_letter_record_goes_to_dlq_with_delay_zero() {
    let bytes = stored("TopicA", "TAGS\u{1}TagA\u{2}", 16);
    let m = send_back_message(&view(&bytes), "cg", SendBackTarget::DeadLetter, 0, STORE);
    assert_eq!((m.topic.as_str(), m.reconsume_times), ("%DLQ%cg", 17));
    assert_eq!(find_property(&m.properties, property::DELAY), Some("0"));
    assert_eq!(
        find_property(&m.properties, property::RETRY_TOPIC),
        Some("TopicA")
    );
}

/// 5.x: DLQ only above the max (4.9.8 used >=), or when the group holds an order lock.
#[test]
fn a_retry_send_dead_letters_above_the_max() {
    assert!(!retry_send_dead_letters(0, 16, false));
    assert!(!retry_send_dead_letters(16, 16, false));
    assert!(retry_send_dead_letters(17, 16, false));
    assert!(retry_send_dead_letters(1, 0, false));
    assert!(retry_send_dead_letters(0, 16, true));
}

#[test]
fn dead_letter_properties_set_delay_minus_one() {
    let p = dead_letter_properties("DELAY\u{1}4\u{2}TAGS\u{1}T\u{2}");
    assert_eq!(p, "DELAY\u{1}-1\u{2}TAGS\u{1}T\u{2}");
    assert_eq!(dead_letter_properties(""), "DELAY\u{1}-1\u{2}");
    // The Java 4.9 client's last property has no trailing separator.
    assert_eq!(
        dead_letter_properties("TAGS\u{1}T"),
        "TAGS\u{1}T\u{2}DELAY\u{1}-1\u{2}"
    );
}

#[test]
fn the_put_outcome_becomes_javas_answer() {
    let appended = Appended {
        physical_offset: 0,
        queue_offset: 0,
        bytes: 100,
        store_timestamp: 1,
    };
    let cmd = send_back_cmd(&[]);
    let answer = |outcome| {
        let r = send_back_response(cmd.response_to(response_code::SUCCESS, None), outcome);
        (r.code, r.remark)
    };
    assert_eq!(answer(Ok(appended)), (response_code::SUCCESS, None));
    assert_eq!(
        answer(Err(AppendError::FlushTimeout(appended))).0,
        response_code::SUCCESS
    );
    assert_eq!(answer(Err(AppendError::Busy)).0, response_code::SYSTEM_BUSY);
    assert_eq!(
        answer(Err(AppendError::Sealed)),
        (
            response_code::SYSTEM_ERROR,
            Some("SERVICE_NOT_AVAILABLE".into())
        )
    );
    let (code, remark) = answer(Err(AppendError::CreateMappedFileFailed("disk full".into())));
    assert_eq!(code, response_code::SYSTEM_ERROR);
    assert_eq!(remark.unwrap(), "CREATE_MAPPED_FILE_FAILED (disk full)");
}

fn plan(delay_level: i32, max: i32) -> SendBackPlan {
    SendBackPlan {
        group: "cg".into(),
        offset: 4096,
        delay_level,
        max,
        retry_queue_id: 1,
        store_host: STORE,
    }
}

/// The plan on the looked-up record: no record is Java's "look message by offset failed, N";
/// a retry goes to the planned queue, a dead letter to queue 0.
#[test]
fn the_plan_applies_to_the_looked_up_record() {
    let err = plan(0, 16).apply(None).unwrap_err();
    assert_eq!(
        err,
        (
            response_code::SYSTEM_ERROR,
            "look message by offset failed, 4096".to_string()
        )
    );
    // Bytes that are not a record (a blank marker) are no record either.
    let mut blank = [0u8; 8];
    crate::store::message::write_blank(&mut blank, 8);
    assert!(plan(0, 16).apply(Some(&blank)).is_err());

    let bytes = stored("TopicA", "TAGS\u{1}TagA\u{2}", 2);
    let retry = plan(0, 16).apply(Some(&bytes)).unwrap();
    assert_eq!(retry.target, SendBackTarget::Retry { delay_level: 5 });
    assert_eq!(
        (retry.message.topic.as_str(), retry.message.queue_id),
        ("%RETRY%cg", 1)
    );
    assert_eq!(
        (retry.original_topic.as_str(), retry.reconsume_times),
        ("TopicA", 2)
    );
    let dead = plan(0, 2).apply(Some(&bytes)).unwrap();
    assert_eq!(dead.target, SendBackTarget::DeadLetter);
    assert_eq!(
        (dead.message.topic.as_str(), dead.message.queue_id),
        ("%DLQ%cg", 0)
    );
}
