//! Sending: every send code stores RocketMQ-format records and answers with the right header;
//! bad input is refused with a remark and nothing is stored.

mod common;

use std::collections::HashMap;

use actormq::client::{producer_request, ClientError, OutgoingMessage};
use actormq::protocol::{request_code, response_code};
use actormq::store::message::{decode, decode_offset_msg_id, Decoded};
use actormq::store::paths;
use common::TestBroker;

/// SEND_MESSAGE_V2 assigns consecutive queue offsets, returns the offset msgId, and the stored
/// record carries the body, tags and broker-added properties.
#[tokio::test]
async fn v2_send_stores_rocketmq_records() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    let mut results = Vec::new();
    for i in 0..3 {
        let msg = OutgoingMessage {
            tags: Some("TagA".into()),
            keys: Some("k1 k2".into()),
            queue_id: 0,
            ..OutgoingMessage::new("TopicTest", format!("hello {i}"))
        };
        results.push(client.send(&msg).await.unwrap());
    }
    assert_eq!(
        results.iter().map(|r| r.queue_offset).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(results
        .iter()
        .all(|r| r.queue_id == 0 && r.code == response_code::SUCCESS));
    let (_, first_offset) = decode_offset_msg_id(&results[0].msg_id).unwrap();
    assert_eq!(first_offset, 0);
    assert_eq!(results[0].msg_id.len(), 32);
    assert_eq!(broker.stop(), Some(0));

    let log = common::read_commit_log(&broker.root());
    assert_eq!(log.len(), 3);
    for (i, r) in log.iter().enumerate() {
        let (body, props) = (&r.body, &r.properties);
        assert_eq!(
            decode_offset_msg_id(&results[i].msg_id).unwrap().1,
            r.physical
        );
        assert_eq!(
            (r.topic.as_str(), r.queue, r.queue_offset),
            ("TopicTest", 0, i as i64)
        );
        assert_eq!(body, format!("hello {i}").as_bytes());
        assert!(props.contains("TAGS\u{1}TagA\u{2}"), "{props:?}");
        assert!(props.contains("KEYS\u{1}k1 k2\u{2}"), "{props:?}");
        assert!(
            props.contains("CLUSTER\u{1}DefaultCluster\u{2}"),
            "{props:?}"
        );
        let uniq = format!("UNIQ_KEY\u{1}{}\u{2}", results[i].transaction_id);
        assert!(props.contains(&uniq), "{props:?}");
    }
}

/// SEND_MESSAGE (10, long header names) is served by the same processor.
#[tokio::test]
async fn v1_send_is_served() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let mut cmd = producer_request(&OutgoingMessage::new("V1Topic", "body"));
    let names: HashMap<&str, &str> = [
        ("a", "producerGroup"),
        ("b", "topic"),
        ("c", "defaultTopic"),
        ("d", "defaultTopicQueueNums"),
        ("e", "queueId"),
        ("f", "sysFlag"),
        ("g", "bornTimestamp"),
        ("h", "flag"),
        ("i", "properties"),
        ("j", "reconsumeTimes"),
        ("k", "unitMode"),
        ("l", "maxReconsumeTimes"),
        ("m", "batch"),
        ("n", "brokerName"),
    ]
    .into();
    cmd.code = request_code::SEND_MESSAGE;
    cmd.ext_fields = cmd
        .ext_fields
        .iter()
        .map(|(k, v)| (names[k], v.to_string()))
        .collect();
    let resp = client.request(cmd).await.unwrap();
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.ext("queueOffset"), Some("0"));
}

/// A batch gets consecutive queue offsets and one msgId per message.
#[tokio::test]
async fn batch_send_assigns_consecutive_offsets() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    let msgs: Vec<_> = (0..5)
        .map(|i| OutgoingMessage {
            queue_id: 1,
            ..OutgoingMessage::new("Batch", format!("m{i}"))
        })
        .collect();
    let first = client.send_batch(&msgs).await.unwrap();
    let second = client.send_batch(&msgs[..2]).await.unwrap();
    assert_eq!((first.queue_id, first.queue_offset), (1, 0));
    assert_eq!(second.queue_offset, 5);
    let ids: Vec<_> = first.msg_id.split(',').collect();
    assert_eq!(ids.len(), 5);
    broker.stop();
    let log = common::read_commit_log(&broker.root());
    assert_eq!(log.len(), 7);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(decode_offset_msg_id(id).unwrap().1, log[i].physical);
        assert_eq!(log[i].queue_offset, i as i64);
        assert_eq!(log[i].body, format!("m{i}").as_bytes());
    }
}

/// A oneway send is stored and never answered; later requests on the connection still are.
#[tokio::test]
async fn oneway_send_is_stored_without_reply() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let msg = OutgoingMessage {
        queue_id: 2,
        ..OutgoingMessage::new("Oneway", "x")
    };
    client.oneway(producer_request(&msg)).await.unwrap();
    client.oneway(producer_request(&msg)).await.unwrap();
    // Same connection, processed in order: this one is the third message of the queue.
    let r = client.send(&msg).await.unwrap();
    assert_eq!(r.queue_offset, 2);
}

fn refused(result: Result<actormq::client::SendResult, ClientError>) -> (i32, String) {
    match result {
        Err(ClientError::Broker { code, remark, .. }) => (code, remark),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Bad input is answered with MESSAGE_ILLEGAL / INVALID_PARAMETER / SYSTEM_ERROR (as Java) and a
/// remark; nothing is stored.
#[tokio::test]
async fn invalid_sends_are_refused_and_not_stored() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    let (code, remark) = refused(client.send(&OutgoingMessage::new("T", "")).await);
    assert_eq!(code, response_code::MESSAGE_ILLEGAL, "{remark}");
    let big = vec![0u8; 262_145];
    let (code, remark) = refused(client.send(&OutgoingMessage::new("T", big)).await);
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
    assert!(remark.contains("262145"), "{remark}");
    let (code, _) = refused(client.send(&OutgoingMessage::new("bad topic", "x")).await);
    assert_eq!(code, response_code::INVALID_PARAMETER);
    let (code, _) = refused(
        client
            .send(&OutgoingMessage::new("x".repeat(128), "x"))
            .await,
    );
    assert_eq!(code, response_code::INVALID_PARAMETER);
    let huge_key = "k".repeat(40_000);
    let msg = OutgoingMessage {
        keys: Some(huge_key),
        ..OutgoingMessage::new("T", "x")
    };
    let (code, remark) = refused(client.send(&msg).await);
    assert_eq!(code, response_code::MESSAGE_ILLEGAL);
    assert!(remark.contains("properties"), "{remark}");
    let msg = OutgoingMessage {
        queue_id: 99,
        ..OutgoingMessage::new("T", "x")
    };
    let (code, _) = refused(client.send(&msg).await);
    assert_eq!(code, response_code::INVALID_PARAMETER);
    let mut missing = producer_request(&OutgoingMessage::new("T", "x"));
    missing.ext_fields.remove("b");
    // Java leaves the @CFNotNull topic null and its processor fails on it: SYSTEM_ERROR.
    let resp = client.request(missing).await.unwrap();
    assert_eq!(resp.code, response_code::SYSTEM_ERROR);
    assert!(resp
        .remark
        .unwrap()
        .contains("SendMessageRequestHeaderV2.b is null"));

    let ok = client
        .send(&OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("T", "x")
        })
        .await
        .unwrap();
    assert_eq!(
        decode_offset_msg_id(&ok.msg_id).unwrap().1,
        0,
        "refused sends wrote nothing"
    );
    broker.stop();
    assert_eq!(common::read_commit_log(&broker.root()).len(), 1);
}

/// With auto_create_topic off, unknown topics get TOPIC_NOT_EXIST.
#[tokio::test]
async fn unknown_topic_without_auto_create() {
    let broker = TestBroker::start_with("[broker]\nauto_create_topic = false");
    let client = broker.client().await;
    let (code, remark) = refused(client.send(&OutgoingMessage::new("Nope", "x")).await);
    assert_eq!(code, response_code::TOPIC_NOT_EXIST);
    assert!(remark.contains("Nope"));
}

/// Auto-created topics are capped by default_topic_queue_nums and survive a restart.
#[tokio::test]
async fn auto_created_topic_is_persisted() {
    let mut broker = TestBroker::start_with("[broker]\ndefault_topic_queue_nums = 2");
    let client = broker.client().await;
    let mut queues = std::collections::BTreeSet::new();
    for _ in 0..6 {
        queues.insert(
            client
                .send(&OutgoingMessage::new("Auto", "x"))
                .await
                .unwrap()
                .queue_id,
        );
    }
    assert_eq!(queues.into_iter().collect::<Vec<_>>(), [0, 1]);
    broker.stop();
    let table = actormq::topic::TopicTable::load(&paths::topics_json(&broker.root())).unwrap();
    assert_eq!(table.get("Auto").unwrap().write_queue_nums, 2);
}

/// Records never span files: with 1 MiB files, 3 MiB of messages roll twice, each file ends with
/// a blank marker, and every message is readable in order.
#[tokio::test]
async fn commit_log_rolls_files_with_blank_markers() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    let body = vec![b'z'; 100_000];
    for _ in 0..30 {
        client
            .send(&OutgoingMessage {
                queue_id: 0,
                ..OutgoingMessage::new("Roll", body.clone())
            })
            .await
            .unwrap();
    }
    broker.stop();
    let log = common::read_commit_log(&broker.root());
    assert_eq!(log.len(), 30);
    assert!(log
        .iter()
        .enumerate()
        .all(|(i, r)| r.queue_offset == i as i64 && r.body == body));
    let files = paths::list_files(&paths::commitlog_dir(&broker.root())).unwrap();
    assert!(files.len() >= 3, "{files:?}");
    let first = std::fs::read(&files[0].1).unwrap();
    let last_in_first = log.iter().rfind(|r| r.physical < 1_048_576).unwrap();
    let blank_at = last_in_first.physical as usize + {
        let Decoded::Record(r) = decode(&first[last_in_first.physical as usize..], true).unwrap()
        else {
            panic!()
        };
        r.total_size as usize
    };
    assert!(matches!(
        decode(&first[blank_at..], true).unwrap(),
        Decoded::Blank { .. }
    ));
}

/// `actormq send --delay-level / --deliver-at / --deliver-in` store the property the Java
/// client's setter would (DELAY, TIMER_DELIVER_MS, TIMER_DELAY_MS), read back by the returned
/// msgId whatever topic the broker files it under; two flags at once, or a bad value, are a
/// one-line error and nothing is sent.
#[tokio::test]
async fn cli_send_scheduling_flags_set_java_properties() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let cli = |topic: &str, flags: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_actormq"))
            .args(["--broker", &broker.addr, "send", "--topic", topic])
            .args(flags)
            .arg("scheduled body")
            .output()
            .unwrap()
    };
    for (flags, name, value) in [
        (&["--delay-level", "3"][..], "DELAY", "3"),
        (
            &["--deliver-at", "2020-01-01T01:00:00+01:00"][..],
            "TIMER_DELIVER_MS",
            "1577836800000",
        ),
        (&["--deliver-in", "1m30s"][..], "TIMER_DELAY_MS", "90000"),
    ] {
        let out = cli("CliSchedule", flags);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let msg_id = stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix("msgId="))
            .unwrap_or_else(|| panic!("no msgId in {stdout}"));
        let (_, offset) = decode_offset_msg_id(msg_id).expect("offset msgId");
        let stored = client.view_message(offset).await.unwrap();
        let props: HashMap<_, _> = actormq::store::message::parse_properties(&stored.properties)
            .into_iter()
            .collect();
        assert_eq!(
            props.get(name).copied(),
            Some(value),
            "{flags:?}: {props:?}"
        );
        assert_eq!(&stored.body[..], b"scheduled body");
    }
    for (flags, says) in [
        (
            &["--delay-level", "2", "--deliver-in", "5s"][..],
            "--delay-level and --deliver-in cannot be used together",
        ),
        (
            &["--deliver-in", "5 minutes"][..],
            "--deliver-in \"5 minutes\": ",
        ),
        (&["--deliver-at", "noon"][..], "--deliver-at \"noon\": "),
        (&["--delay-level", "0"][..], "--delay-level \"0\": "),
    ] {
        let out = cli("CliRefused", flags);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{flags:?}: {stderr}");
    }
    // Nothing was sent: the topic a send would have created does not exist.
    assert!(client.read_queue_nums("CliRefused").await.is_err());
}
