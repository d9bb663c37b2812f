use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::{Bytes, BytesMut};

use super::*;
use crate::protocol::header::SendMessageRequestHeader;
use crate::store::message::{decode, encode_batch_entry, Decoded};
use crate::subscription_group::SubscriptionGroupTable;

const BORN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)), 40000);
const STORE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 10911);
const HOSTS: Hosts = Hosts {
    born: BORN,
    store: STORE,
};

fn preparer(auto_create: bool) -> SendPreparer {
    let broker = BrokerIdentity {
        auto_create_topic: auto_create,
        default_topic_queue_nums: 4,
        max_message_bytes: 1024,
        ..BrokerIdentity::default()
    };
    SendPreparer::new(broker, STORE.ip())
}

fn header(topic: &str, queue_id: i32, properties: Option<&str>) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 8,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: properties.map(str::to_string),
        reconsume_times: 0,
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    }
}

fn send(h: &SendMessageRequestHeader, body: &'static [u8]) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request_code::SEND_MESSAGE_V2, 1)
        .with_body(Bytes::from_static(body));
    cmd.ext_fields = h.to_ext_v2();
    cmd
}

/// A SEND_BATCH_MESSAGE of the encoded entries in `body` to `topic` queue 0.
fn batch_to(topic: &str, body: BytesMut) -> RemotingCommand {
    let mut h = header(topic, 0, None);
    h.batch = true;
    let mut cmd =
        RemotingCommand::request(request_code::SEND_BATCH_MESSAGE, 1).with_body(body.freeze());
    cmd.ext_fields = h.to_ext_v2();
    cmd
}

/// Every record in `prepared`, decoded: (queue id, properties, body).
fn records(prepared: &Prepared) -> Vec<(i32, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for size in &prepared.sizes {
        let bytes = &prepared.records[pos..pos + *size as usize];
        match decode(bytes, true).unwrap() {
            Decoded::Record(r) => {
                assert_eq!(r.born_host, BORN);
                assert_eq!(r.store_host, STORE);
                out.push((r.queue_id, r.properties.to_string(), r.body.to_vec()))
            }
            other => panic!("not a record: {other:?}"),
        }
        pos += *size as usize;
    }
    assert_eq!(pos, prepared.records.len());
    out
}

#[test]
fn a_new_topic_is_created_once_with_the_capped_queue_count() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let first = p
        .prepare(
            &send(&header("T", 0, None), b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap();
    assert_eq!(first.created_topics, ["T"]);
    // The client asked for 8; the broker caps auto-created topics at 4.
    assert_eq!(topics.get("T").unwrap().write_queue_nums, 4);
    let second = p
        .prepare(
            &send(&header("T", 0, None), b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap();
    assert!(second.created_topics.is_empty());
}

#[test]
fn an_unknown_topic_is_refused_without_auto_creation() {
    let mut p = preparer(false);
    let mut topics = TopicTable::default();
    let (code, remark) = p
        .prepare(
            &send(&header("T", 0, None), b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap_err();
    assert_eq!(code, response_code::TOPIC_NOT_EXIST);
    assert!(remark.contains("topic[T] not exist"), "{remark}");
    assert!(topics.get("T").is_none());
}

/// At `auto_create_topic_limit` topics (any kind counts), a send to an unknown topic is refused
/// as without auto-creation, with a remark naming the limit; known topics still take sends, a
/// consumer's retry topic is still created, and below the limit creation resumes.
#[test]
fn auto_creation_stops_at_the_topic_limit() {
    let broker = BrokerIdentity {
        auto_create_topic_limit: 3,
        ..BrokerIdentity::default()
    };
    let mut p = SendPreparer::new(broker, STORE.ip());
    let mut topics = TopicTable::default();
    topics.insert(TopicConfig::new("Admin", 1));
    let mut send_to = |topics: &mut TopicTable, topic: &str| {
        p.prepare(
            &send(&header(topic, 0, None), b"x"),
            HOSTS,
            topics,
            &mut SubscriptionGroupTable::default(),
        )
        .map(|prepared| !prepared.created_topics.is_empty())
    };
    assert_eq!(send_to(&mut topics, "T1"), Ok(true));
    assert_eq!(send_to(&mut topics, "T2"), Ok(true));
    let (code, remark) = send_to(&mut topics, "T3").unwrap_err();
    assert_eq!(code, response_code::TOPIC_NOT_EXIST);
    assert_eq!(
        remark,
        "topic[T3] not exist, apply first please! (not auto-created: the broker holds 3 topics, \
         broker.auto_create_topic_limit = 3)"
    );
    assert!(topics.get("T3").is_none());
    assert_eq!(
        send_to(&mut topics, "T1"),
        Ok(false),
        "known topics still take sends"
    );
    assert_eq!(
        send_to(&mut topics, "%RETRY%g"),
        Ok(true),
        "msgCheck's retry topic"
    );
    topics.remove("T1");
    topics.remove("T2");
    assert_eq!(
        send_to(&mut topics, "T3"),
        Ok(true),
        "below the limit again"
    );
}

#[test]
fn a_queue_id_past_the_write_queues_is_refused() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    topics.insert(TopicConfig::new("T", 2));
    let (code, _) = p
        .prepare(
            &send(&header("T", 2, None), b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap_err();
    assert_eq!(code, response_code::INVALID_PARAMETER);
    let ok = p
        .prepare(
            &send(&header("T", 1, None), b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap();
    assert_eq!(ok.queue_id, 1);
}

#[test]
fn a_negative_queue_id_goes_round_robin_over_the_write_queues() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    topics.insert(TopicConfig::new("T", 3));
    let chosen: Vec<i32> = (0..6)
        .map(|_| {
            p.prepare(
                &send(&header("T", -1, None), b"x"),
                HOSTS,
                &mut topics,
                &mut SubscriptionGroupTable::default(),
            )
            .unwrap()
            .queue_id
        })
        .collect();
    let mut seen = chosen[..3].to_vec();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2], "{chosen:?}");
    assert_eq!(chosen[..3], chosen[3..]);
}

#[test]
fn the_broker_adds_uniq_key_when_absent_keeps_it_when_present_and_adds_cluster() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let added = p
        .prepare(
            &send(&header("T", 0, Some("TAGS\u{1}A")), b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap();
    let (_, props, body) = &records(&added)[0];
    assert_eq!(body, b"x");
    assert_eq!(
        find_property(props, property::UNIQ_KEY),
        Some(added.uniq_keys[0].as_str())
    );
    assert_eq!(find_property(props, property::TAGS), Some("A"));
    assert_eq!(
        find_property(props, property::CLUSTER),
        Some("DefaultCluster")
    );
    assert_eq!(added.tags_codes, vec![tags_hash_code("A")]);

    let kept = p
        .prepare(
            &send(&header("T", 0, Some("UNIQ_KEY\u{1}ABC\u{2}")), b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap();
    assert_eq!(kept.uniq_keys, vec!["ABC".to_string()]);
    assert_eq!(kept.tags_codes, vec![0]);
}

/// Java 5.x's send processor puts the broker's `regionId` and `traceOn` into every sent
/// message's properties (replacing a client's) and into the answer; 5.x clients drop a
/// consumer's trace records for a message without a region.
#[test]
fn the_broker_stores_its_region_and_trace_switch_in_every_message_and_answer() {
    let broker = BrokerIdentity {
        region_id: "eu-1".into(),
        trace_on: false,
        ..BrokerIdentity::default()
    };
    let mut p = SendPreparer::new(broker.clone(), STORE.ip());
    let mut topics = TopicTable::default();
    let sent = "MSG_REGION\u{1}client\u{2}TRACE_ON\u{1}true\u{2}TAGS\u{1}A\u{2}";
    for properties in [None, Some(sent)] {
        let prepared = p
            .prepare(
                &send(&header("T", 0, properties), b"x"),
                HOSTS,
                &mut topics,
                &mut SubscriptionGroupTable::default(),
            )
            .unwrap();
        let (_, props, _) = &records(&prepared)[0];
        assert_eq!(find_property(props, property::MSG_REGION), Some("eu-1"));
        assert_eq!(find_property(props, property::TRACE_ON), Some("false"));
    }
    let settings = TraceSettings::new(&broker);
    let r = send_response(response(), Ok(appended(0)), STORE, 0, &[10], &[], &settings);
    assert_eq!(r.ext(send_response::MSG_REGION), Some("eu-1"));
    assert_eq!(r.ext(send_response::TRACE_ON), Some("false"));
    let r = send_response(response(), Ok(appended(0)), STORE, 0, &[10], &[], &trace());
    assert_eq!(r.ext(send_response::MSG_REGION), Some("DefaultRegion"));
    assert_eq!(r.ext(send_response::TRACE_ON), Some("true"));
}

#[test]
fn empty_and_oversized_bodies_are_illegal() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let (code, remark) = p
        .prepare(
            &send(&header("T", 0, None), b""),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
    assert!(remark.contains("empty"), "{remark}");
    let big: &'static [u8] = Box::leak(vec![7u8; 1025].into_boxed_slice());
    let (code, _) = p
        .prepare(
            &send(&header("T", 0, None), big),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
}

#[test]
fn a_bad_header_value_gets_the_header_error_code() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let cmd = send(&header("T", 0, None), b"x").with_ext("e", "one");
    let (code, _) = p
        .prepare(
            &cmd,
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap_err();
    assert_ne!(code, response_code::SUCCESS);
    assert!(
        topics.get("T").is_none(),
        "nothing is created for a refused send"
    );
}

#[test]
fn a_batch_becomes_one_record_per_entry_with_its_own_properties() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let mut body = BytesMut::new();
    encode_batch_entry(0, b"one", "TAGS\u{1}A\u{2}", &mut body);
    encode_batch_entry(0, b"two", "TAGS\u{1}B\u{2}", &mut body);
    let prepared = p
        .prepare(
            &batch_to("T", body),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap();
    let recs = records(&prepared);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].2, b"one");
    assert_eq!(recs[1].2, b"two");
    assert_eq!(
        prepared.tags_codes,
        vec![tags_hash_code("A"), tags_hash_code("B")]
    );
    assert_ne!(prepared.uniq_keys[0], prepared.uniq_keys[1]);

    let empty = batch_to("T", BytesMut::new());
    let (code, _) = p
        .prepare(
            &empty,
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
}

#[test]
fn push_property_adds_the_separator_a_client_left_off() {
    let mut props = String::from("TAGS\u{1}T0");
    push_property(&mut props, "K", "v");
    assert_eq!(props, "TAGS\u{1}T0\u{2}K\u{1}v\u{2}");
    let mut empty = String::new();
    push_property(&mut empty, "K", "v");
    assert_eq!(empty, "K\u{1}v\u{2}");
}

fn appended(physical_offset: i64) -> Appended {
    Appended {
        physical_offset,
        queue_offset: 42,
        bytes: 300,
        store_timestamp: 0,
    }
}

fn trace() -> TraceSettings {
    TraceSettings::new(&BrokerIdentity::default())
}

fn response() -> RemotingCommand {
    RemotingCommand::request(request_code::SEND_MESSAGE_V2, 9)
        .response_to(response_code::SUCCESS, None)
}

#[test]
fn a_stored_batch_is_answered_with_one_offset_id_per_record() {
    let keys = vec!["U1".to_string(), "U2".to_string()];
    let r = send_response(
        response(),
        Ok(appended(1000)),
        STORE,
        3,
        &[100, 200],
        &keys,
        &trace(),
    );
    assert_eq!(r.code, response_code::SUCCESS);
    let ids = format!(
        "{},{}",
        offset_msg_id(STORE, 1000),
        offset_msg_id(STORE, 1100)
    );
    assert_eq!(r.ext(send_response::MSG_ID), Some(ids.as_str()));
    assert_eq!(r.ext(send_response::QUEUE_ID), Some("3"));
    assert_eq!(r.ext(send_response::QUEUE_OFFSET), Some("42"));
    assert_eq!(r.ext(send_response::TRANSACTION_ID), Some("U1,U2"));
}

/// Java's `SERVICE_NOT_AVAILABLE` remark, `diskUtil()` printing ratios as fractions (`%5.2f`).
#[test]
fn disk_full_is_answered_with_the_java_remark() {
    let e = AppendError::NotWritable {
        used_hundredths: 9_312,
    };
    let r = send_response(response(), Err(e), STORE, 0, &[10], &["U".into()], &trace());
    assert_eq!(r.code, 14);
    assert_eq!(
        r.remark.as_deref(),
        Some(
            "service not available now. It may be caused by one of the following reasons: the \
             broker's disk is full [CL:  0.93 CQ:  0.93 INDEX:  0.93], messages are put to the \
             slave, message store has been shut down, etc."
        )
    );
}

/// A topic that could not be persisted: Java's disk-full answer on `ENOSPC`, else SYSTEM_ERROR.
#[test]
fn unpersisted_topic_is_refused() {
    use crate::store::StoreError;
    let d = tempfile::tempdir().unwrap();
    let full = StoreError::io(
        "/s/topics.json",
        std::io::Error::from_raw_os_error(libc::ENOSPC),
    );
    let (code, remark) = topic_not_persisted(d.path(), &full);
    assert_eq!(code, response_code::SERVICE_NOT_AVAILABLE);
    assert!(
        remark.contains("the broker's disk is full [CL: "),
        "{remark}"
    );
    let denied = StoreError::io(
        "/s/topics.json",
        std::io::Error::from_raw_os_error(libc::EACCES),
    );
    let (code, remark) = topic_not_persisted(d.path(), &denied);
    assert_eq!(code, response_code::SYSTEM_ERROR);
    assert!(remark.contains("/s/topics.json"), "{remark}");
}

#[test]
fn append_failures_map_to_the_java_broker_codes() {
    let cases = [
        (AppendError::Busy, response_code::SYSTEM_BUSY),
        (AppendError::Sealed, response_code::SERVICE_NOT_AVAILABLE),
        (
            AppendError::CreateMappedFileFailed("ENOSPC".into()),
            response_code::SYSTEM_ERROR,
        ),
        (
            AppendError::WriteFailed("EIO".into()),
            response_code::SYSTEM_ERROR,
        ),
        (
            AppendError::TooLarge {
                bytes: 10,
                file_size: 5,
            },
            response_code::MESSAGE_ILLEGAL,
        ),
        (
            AppendError::NotWritable {
                used_hundredths: 9_312,
            },
            response_code::SERVICE_NOT_AVAILABLE,
        ),
    ];
    for (error, code) in cases {
        let r = send_response(
            response(),
            Err(error),
            STORE,
            0,
            &[10],
            &["U".into()],
            &trace(),
        );
        assert_eq!(r.code, code);
        assert!(r.remark.is_some());
        assert_eq!(r.ext(send_response::MSG_ID), None, "nothing stored, no id");
    }
    assert_eq!(
        send_response(
            response(),
            Err(AppendError::Busy),
            STORE,
            0,
            &[],
            &[],
            &trace()
        )
        .remark,
        Some(OVERLOAD_REMARK.to_string())
    );
}

#[test]
fn a_flush_timeout_still_carries_the_stored_ids() {
    let r = send_response(
        response(),
        Err(AppendError::FlushTimeout(appended(64))),
        STORE,
        0,
        &[10],
        &["U".into()],
        &trace(),
    );
    assert_eq!(r.code, response_code::FLUSH_DISK_TIMEOUT);
    assert_eq!(
        r.ext(send_response::MSG_ID),
        Some(offset_msg_id(STORE, 64).as_str())
    );
}

/// A send to `%RETRY%<group>` with reconsumeTimes (header `j`) above the max goes to the group's
/// DLQ (created, one queue, queue 0) with `DELAY=-1`; at the max it stays a retry (5.x: `>`).
#[test]
fn a_retry_send_above_the_max_goes_to_the_dead_letter_queue() {
    let mut p = preparer(true);
    let (mut topics, mut groups) = (TopicTable::default(), SubscriptionGroupTable::default());
    let mut h = header(
        "%RETRY%cg",
        -1,
        Some("DELAY\u{1}19\u{2}RETRY_TOPIC\u{1}T\u{2}"),
    );
    h.reconsume_times = 16;
    let kept = p
        .prepare(&send(&h, b"x"), HOSTS, &mut topics, &mut groups)
        .unwrap();
    // Kept as a retry, and its DELAY (clamped to the highest level) schedules it.
    assert_eq!(kept.topic, crate::schedule::SCHEDULE_TOPIC);
    assert!(!kept.created_topics.is_empty() && kept.created_group);
    assert_eq!(groups.get("cg").unwrap().retry_max_times, 16);
    let kept_props = &records(&kept)[0].1;
    assert_eq!(find_property(kept_props, property::DELAY), Some("18"));
    assert_eq!(find_property(kept_props, "REAL_TOPIC"), Some("%RETRY%cg"));

    h.reconsume_times = 17;
    let dlq = p
        .prepare(&send(&h, b"x"), HOSTS, &mut topics, &mut groups)
        .unwrap();
    assert_eq!((dlq.topic.as_str(), dlq.queue_id), ("%DLQ%cg", 0));
    assert!(!dlq.created_topics.is_empty() && !dlq.created_group);
    assert_eq!(topics.get("%DLQ%cg").unwrap().write_queue_nums, 1);
    let (_, props, _) = &records(&dlq)[0];
    assert_eq!(find_property(props, property::DELAY), Some("-1"));
    assert_eq!(find_property(props, property::RETRY_TOPIC), Some("T"));
    match decode(&dlq.records, true).unwrap() {
        Decoded::Record(r) => assert_eq!((r.topic, r.reconsume_times), ("%DLQ%cg", 17)),
        other => panic!("{other:?}"),
    }
}

/// The header's maxReconsumeTimes (`l`) overrides the group's from V3_4_9 on.
#[test]
fn a_retry_send_uses_the_header_max_from_v3_4_9() {
    let mut p = preparer(true);
    let (mut topics, mut groups) = (TopicTable::default(), SubscriptionGroupTable::default());
    let mut h = header("%RETRY%cg", 0, None);
    h.reconsume_times = 3;
    h.max_reconsume_times = Some(2);
    let mut cmd = send(&h, b"x");
    cmd.version = crate::protocol::code::version::V3_4_9;
    let r = p.prepare(&cmd, HOSTS, &mut topics, &mut groups).unwrap();
    assert_eq!(r.topic, "%DLQ%cg");
    cmd.version = crate::protocol::code::version::V3_4_9 - 1;
    let r = p.prepare(&cmd, HOSTS, &mut topics, &mut groups).unwrap();
    assert_eq!(r.topic, "%RETRY%cg");
}

#[test]
fn retry_sends_refused_as_java_refuses_them() {
    let mut broker = BrokerIdentity {
        auto_create_subscription_group: false,
        auto_create_topic: false,
        ..BrokerIdentity::default()
    };
    let mut p = SendPreparer::new(broker.clone(), STORE.ip());
    let (mut topics, mut groups) = (TopicTable::default(), SubscriptionGroupTable::default());
    let h = header("%RETRY%cg", 0, None);
    let err = p
        .prepare(&send(&h, b"x"), HOSTS, &mut topics, &mut groups)
        .unwrap_err();
    assert_eq!(err.0, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    // Even with auto_create_topic off, the retry topic itself was created (one queue).
    assert_eq!(topics.get("%RETRY%cg").unwrap().write_queue_nums, 1);
    assert!(p
        .prepare(
            &send(&header("T", 0, None), b"x"),
            HOSTS,
            &mut topics,
            &mut groups
        )
        .is_err());

    broker.auto_create_subscription_group = true;
    let mut p = SendPreparer::new(broker, STORE.ip());
    let mut batch = send(&h, b"x");
    batch.code = request_code::SEND_BATCH_MESSAGE;
    let err = p
        .prepare(&batch, HOSTS, &mut topics, &mut groups)
        .unwrap_err();
    assert_eq!(err.0, response_code::MESSAGE_ILLEGAL);
    assert_eq!(
        err.1,
        "batch request does not support retry group %RETRY%cg"
    );
    assert!(p
        .prepare(&send(&h, b"x"), HOSTS, &mut topics, &mut groups)
        .is_ok());
}

/// A broker-made record (a send-back's) goes through the same put as a send's: one record, its
/// UNIQ_KEY, and its `DELAY` scheduled like a delayed send's (the retry backoff); without `DELAY`
/// (a dead letter) it is stored in its topic with its tag code.
#[test]
fn a_single_broker_made_record_is_prepared_like_a_send() {
    let message = MessageToStore {
        topic: "%RETRY%cg".into(),
        queue_id: 0,
        flag: 0,
        body: Bytes::from_static(b"x"),
        properties: "TAGS\u{1}A\u{2}UNIQ_KEY\u{1}U1\u{2}DELAY\u{1}3\u{2}".into(),
        sys_flag: 0,
        born_timestamp: 1,
        born_host: BORN,
        store_host: STORE,
        reconsume_times: 1,
        prepared_transaction_offset: 0,
    };
    let levels = crate::schedule::DelayLevels::default();
    let before = crate::store::now_ms();
    let p = Prepared::single(message.clone(), &levels).unwrap();
    assert_eq!(
        (p.topic.as_str(), p.queue_id, p.sizes.len()),
        (crate::schedule::SCHEDULE_TOPIC, 2, 1)
    );
    assert_eq!(p.uniq_keys, vec!["U1".to_string()]);
    assert!(
        p.tags_codes[0] >= before + 10_000,
        "delivery time of level 3 (10 s)"
    );
    let props = &records(&p)[0].1;
    assert_eq!(find_property(props, "REAL_TOPIC"), Some("%RETRY%cg"));
    assert_eq!(find_property(props, "REAL_QID"), Some("0"));

    let dead_letter = MessageToStore {
        topic: "%DLQ%cg".into(),
        properties: "TAGS\u{1}A\u{2}UNIQ_KEY\u{1}U1\u{2}DELAY\u{1}0\u{2}".into(),
        ..message
    };
    let p = Prepared::single(dead_letter.clone(), &levels).unwrap();
    assert_eq!((p.topic.as_str(), p.queue_id), ("%DLQ%cg", 0));
    assert_eq!(p.tags_codes, vec![tags_hash_code("A")]);
    assert_eq!(records(&p)[0].1, dead_letter.properties);
}

/// A single message with DELAY=n goes to SCHEDULE_TOPIC_XXXX queue n-1 (clamped), with REAL_* and
/// the delivery time as its tag code; the response still names the chosen queue of the real topic.
#[test]
fn a_delayed_message_is_stored_in_the_schedule_topic() {
    let mut p = preparer(true);
    let (mut topics, mut groups) = (TopicTable::default(), SubscriptionGroupTable::default());
    let before = crate::store::now_ms();
    let h = header("T", 2, Some("TAGS\u{1}tg\u{2}DELAY\u{1}99\u{2}"));
    let prepared = p
        .prepare(&send(&h, b"x"), HOSTS, &mut topics, &mut groups)
        .unwrap();
    assert_eq!(prepared.topic, crate::schedule::SCHEDULE_TOPIC);
    assert_eq!(prepared.queue_id, 17, "level 99 clamped to 18");
    assert_eq!(prepared.reply_queue_id, 2);
    let delay = 2 * 3_600_000;
    let code = prepared.tags_codes[0];
    assert!(
        code >= before + delay && code <= crate::store::now_ms() + delay,
        "{code}"
    );
    let recs = records(&prepared);
    assert_eq!(recs[0].0, 17);
    let props = &recs[0].1;
    assert_eq!(find_property(props, "REAL_TOPIC"), Some("T"));
    assert_eq!(find_property(props, "REAL_QID"), Some("2"));
    assert_eq!(find_property(props, "DELAY"), Some("18"));
    assert_eq!(find_property(props, "TAGS"), Some("tg"));
    assert!(
        topics.get("T").is_some(),
        "the real topic is created as usual"
    );
}

/// Java 5.3: a batch whose header properties carry DELAY is MESSAGE_ILLEGAL; DELAY inside the
/// entries is stored as sent in the batch's own topic. A bad DELAY is the NumberFormatException.
/// Sending to SCHEDULE_TOPIC_XXXX itself is forbidden.
#[test]
fn batches_bad_levels_and_the_schedule_topic_itself() {
    let mut p = preparer(true);
    let (mut topics, mut groups) = (TopicTable::default(), SubscriptionGroupTable::default());
    let mut body = BytesMut::new();
    encode_batch_entry(0, b"one", "DELAY\u{1}1\u{2}", &mut body);
    let body = body.freeze();
    let mut h = header("T", 0, None);
    h.batch = true;
    let batch = |h: &SendMessageRequestHeader| {
        let mut cmd =
            RemotingCommand::request(request_code::SEND_BATCH_MESSAGE, 1).with_body(body.clone());
        cmd.ext_fields = h.to_ext_v2();
        cmd
    };
    let prepared = p
        .prepare(&batch(&h), HOSTS, &mut topics, &mut groups)
        .unwrap();
    assert_eq!((prepared.topic.as_str(), prepared.queue_id), ("T", 0));
    assert_eq!(find_property(&records(&prepared)[0].1, "REAL_TOPIC"), None);
    h.properties = Some("DELAY\u{1}2\u{2}".into());
    let (code, remark) = p
        .prepare(&batch(&h), HOSTS, &mut topics, &mut groups)
        .unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL, "{remark}");

    let bad = header("T", 0, Some("DELAY\u{1}soon\u{2}"));
    let (code, remark) = p
        .prepare(&send(&bad, b"x"), HOSTS, &mut topics, &mut groups)
        .unwrap_err();
    assert_eq!(code, response_code::SYSTEM_ERROR);
    assert!(remark.contains("NumberFormatException"), "{remark}");

    let direct = header(crate::schedule::SCHEDULE_TOPIC, 0, None);
    let (code, remark) = p
        .prepare(&send(&direct, b"x"), HOSTS, &mut topics, &mut groups)
        .unwrap_err();
    assert_eq!(code, response_code::NO_PERMISSION);
    assert_eq!(
        remark,
        "Sending message to topic[SCHEDULE_TOPIC_XXXX] is forbidden."
    );
}

/// A future TIMER_DELAY_MS goes to rmq_sys_wheel_timer queue 0 with the deliver time as its tag
/// code; the response still names the request's queue.
#[test]
fn a_timer_message_is_rewritten_to_the_timer_topic() {
    let mut p = preparer(true);
    let (mut topics, mut groups) = (TopicTable::default(), SubscriptionGroupTable::default());
    let props = "TAGS\u{1}A\u{2}TIMER_DELAY_MS\u{1}60000\u{2}";
    let before = crate::store::now_ms();
    let prepared = p
        .prepare(
            &send(&header("T", 2, Some(props)), b"x"),
            HOSTS,
            &mut topics,
            &mut groups,
        )
        .unwrap();
    assert_eq!(
        (prepared.topic.as_str(), prepared.queue_id),
        ("rmq_sys_wheel_timer", 0)
    );
    assert_eq!(prepared.reply_queue_id, 2);
    let at = prepared.tags_codes[0];
    assert!((before + 60_000..before + 70_000).contains(&at), "{at}");
    let (queue, stored, _) = &records(&prepared)[0];
    assert_eq!(*queue, 0);
    assert_eq!(find_property(stored, "REAL_TOPIC"), Some("T"));
    assert_eq!(find_property(stored, "REAL_QID"), Some("2"));
    assert_eq!(
        find_property(stored, "TIMER_OUT_MS"),
        Some(at.to_string().as_str())
    );
    assert!(find_property(stored, "UNIQ_KEY").is_some());
}

/// Refusals follow `[timer]`: too long -> 13, disabled -> SYSTEM_ERROR; batches are not intercepted.
#[test]
fn timer_refusals_and_batches() {
    let mut p = preparer(true).with_timer_rules(crate::timer::TimerRules {
        enabled: true,
        max_delay_sec: 10,
    });
    let (mut topics, mut groups) = (TopicTable::default(), SubscriptionGroupTable::default());
    let long = "TIMER_DELAY_SEC\u{1}11\u{2}";
    let (code, remark) = p
        .prepare(
            &send(&header("T", 0, Some(long)), b"x"),
            HOSTS,
            &mut topics,
            &mut groups,
        )
        .unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
    assert!(remark.contains("max delay 10000ms"), "{remark}");
    let mut off = preparer(true).with_timer_rules(crate::timer::TimerRules {
        enabled: false,
        max_delay_sec: 10,
    });
    let (code, _) = off
        .prepare(
            &send(&header("T", 0, Some(long)), b"x"),
            HOSTS,
            &mut topics,
            &mut groups,
        )
        .unwrap_err();
    assert_eq!(code, response_code::SYSTEM_ERROR);

    let mut body = BytesMut::new();
    encode_batch_entry(0, b"a", "TIMER_DELAY_SEC\u{1}5\u{2}", &mut body);
    let prepared = p
        .prepare(&batch_to("T", body), HOSTS, &mut topics, &mut groups)
        .unwrap();
    assert_eq!(prepared.topic, "T");
}

/// `TRAN_MSG=true`: the record is a half in the half topic's queue 0 (never delayed), the reply
/// names the real queue, and the producer group comes back for the check-back.
#[test]
fn a_transaction_half_goes_to_the_half_topic_undelayed() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let props = "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}pg\u{2}DELAY\u{1}3\u{2}TAGS\u{1}A\u{2}";
    let mut h = header("T", 2, Some(props));
    h.sys_flag = crate::store::message::sys_flag::TRANSACTION_PREPARED;
    let half = p
        .prepare(
            &send(&h, b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap();
    assert_eq!(
        (half.topic.as_str(), half.queue_id),
        (transaction::HALF_TOPIC, 0)
    );
    assert_eq!(half.reply_queue_id, 2);
    assert_eq!(half.half.as_deref(), Some("pg"));
    assert_eq!(half.tags_codes, vec![tags_hash_code("A")]);
    let (queue, props, _) = &records(&half)[0];
    assert_eq!(*queue, 0);
    assert_eq!(find_property(props, property::REAL_TOPIC), Some("T"));
    assert_eq!(find_property(props, property::REAL_QID), Some("2"));
    let uniq = half.uniq_keys[0].as_str();
    assert_eq!(
        find_property(props, transaction::TRANSACTION_ID),
        Some(uniq)
    );

    // "1" is not Java's true: an ordinary send.
    let h = header("T", 2, Some("TRAN_MSG\u{1}1\u{2}"));
    let plain = p
        .prepare(
            &send(&h, b"x"),
            HOSTS,
            &mut topics,
            &mut SubscriptionGroupTable::default(),
        )
        .unwrap();
    assert_eq!((plain.topic.as_str(), plain.half.is_none()), ("T", true));
}
