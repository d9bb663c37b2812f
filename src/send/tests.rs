use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::{Bytes, BytesMut};

use super::*;
use crate::protocol::header::SendMessageRequestHeader;
use crate::store::message::{decode, encode_batch_entry, Decoded};

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
        .prepare(&send(&header("T", 0, None), b"x"), HOSTS, &mut topics)
        .unwrap();
    assert!(first.created_topic);
    // The client asked for 8; the broker caps auto-created topics at 4.
    assert_eq!(topics.get("T").unwrap().write_queue_nums, 4);
    let second = p
        .prepare(&send(&header("T", 0, None), b"x"), HOSTS, &mut topics)
        .unwrap();
    assert!(!second.created_topic);
}

#[test]
fn an_unknown_topic_is_refused_without_auto_creation() {
    let mut p = preparer(false);
    let mut topics = TopicTable::default();
    let (code, remark) = p
        .prepare(&send(&header("T", 0, None), b"x"), HOSTS, &mut topics)
        .unwrap_err();
    assert_eq!(code, response_code::TOPIC_NOT_EXIST);
    assert!(remark.contains("topic[T] not exist"), "{remark}");
    assert!(topics.get("T").is_none());
}

#[test]
fn a_queue_id_past_the_write_queues_is_refused() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    topics.insert(TopicConfig::new("T", 2));
    let (code, _) = p
        .prepare(&send(&header("T", 2, None), b"x"), HOSTS, &mut topics)
        .unwrap_err();
    assert_eq!(code, response_code::INVALID_PARAMETER);
    let ok = p
        .prepare(&send(&header("T", 1, None), b"x"), HOSTS, &mut topics)
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
            p.prepare(&send(&header("T", -1, None), b"x"), HOSTS, &mut topics)
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
        )
        .unwrap();
    assert_eq!(kept.uniq_keys, vec!["ABC".to_string()]);
    assert_eq!(kept.tags_codes, vec![0]);
}

#[test]
fn empty_and_oversized_bodies_are_illegal() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let (code, remark) = p
        .prepare(&send(&header("T", 0, None), b""), HOSTS, &mut topics)
        .unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
    assert!(remark.contains("empty"), "{remark}");
    let big: &'static [u8] = Box::leak(vec![7u8; 1025].into_boxed_slice());
    let (code, _) = p
        .prepare(&send(&header("T", 0, None), big), HOSTS, &mut topics)
        .unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
}

#[test]
fn a_bad_header_value_gets_the_header_error_code() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let cmd = send(&header("T", 0, None), b"x").with_ext("e", "one");
    let (code, _) = p.prepare(&cmd, HOSTS, &mut topics).unwrap_err();
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
    let prepared = p.prepare(&batch_to("T", body), HOSTS, &mut topics).unwrap();
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
    let (code, _) = p.prepare(&empty, HOSTS, &mut topics).unwrap_err();
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

fn response() -> RemotingCommand {
    RemotingCommand::request(request_code::SEND_MESSAGE_V2, 9)
        .response_to(response_code::SUCCESS, None)
}

#[test]
fn a_stored_batch_is_answered_with_one_offset_id_per_record() {
    let keys = vec!["U1".to_string(), "U2".to_string()];
    let r = send_response(response(), Ok(appended(1000)), STORE, 3, &[100, 200], &keys);
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
    ];
    for (error, code) in cases {
        let r = send_response(response(), Err(error), STORE, 0, &[10], &["U".into()]);
        assert_eq!(r.code, code);
        assert!(r.remark.is_some());
        assert_eq!(r.ext(send_response::MSG_ID), None, "nothing stored, no id");
    }
    assert_eq!(
        send_response(response(), Err(AppendError::Busy), STORE, 0, &[], &[]).remark,
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
    );
    assert_eq!(r.code, response_code::FLUSH_DISK_TIMEOUT);
    assert_eq!(
        r.ext(send_response::MSG_ID),
        Some(offset_msg_id(STORE, 64).as_str())
    );
}

/// A future TIMER_DELAY_MS goes to rmq_sys_wheel_timer queue 0 with the deliver time as its tag
/// code; the response still names the request's queue.
#[test]
fn a_timer_message_is_rewritten_to_the_timer_topic() {
    let mut p = preparer(true);
    let mut topics = TopicTable::default();
    let props = "TAGS\u{1}A\u{2}TIMER_DELAY_MS\u{1}60000\u{2}";
    let before = crate::store::now_ms();
    let prepared = p
        .prepare(
            &send(&header("T", 2, Some(props)), b"x"),
            HOSTS,
            &mut topics,
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
    let mut topics = TopicTable::default();
    let long = "TIMER_DELAY_SEC\u{1}11\u{2}";
    let (code, remark) = p
        .prepare(&send(&header("T", 0, Some(long)), b"x"), HOSTS, &mut topics)
        .unwrap_err();
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
    assert!(remark.contains("max delay 10000ms"), "{remark}");
    let mut off = preparer(true).with_timer_rules(crate::timer::TimerRules {
        enabled: false,
        max_delay_sec: 10,
    });
    let (code, _) = off
        .prepare(&send(&header("T", 0, Some(long)), b"x"), HOSTS, &mut topics)
        .unwrap_err();
    assert_eq!(code, response_code::SYSTEM_ERROR);

    let mut body = BytesMut::new();
    encode_batch_entry(0, b"a", "TIMER_DELAY_SEC\u{1}5\u{2}", &mut body);
    let prepared = p.prepare(&batch_to("T", body), HOSTS, &mut topics).unwrap();
    assert_eq!(prepared.topic, "T");
}
