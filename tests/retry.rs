//! Consume retry and dead letters against the real broker: `CONSUMER_SEND_MSG_BACK` (36) moves a
//! message to `%RETRY%<group>` with the retry properties and, after the max, to `%DLQ%<group>`;
//! a plain send to `%RETRY%<group>` above the max is redirected to the DLQ.

mod common;

use actormq::client::{Client, ClientError, OutgoingMessage, PullRequest, ReceivedMessage};
use actormq::protocol::header::SendMessageRequestHeader;
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::message::{find_property, offset_msg_id, property};
use common::TestBroker;

const GROUP: &str = "cg";

/// Every delay level 1 s, so a retry (scheduled by its level like any delayed message) comes back
/// within a test's patience.
const FAST_LEVELS: &str =
    "[broker]\nmessage_delay_level = \"1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s\"";

/// The messages of queue 0 of `topic` once there are at least `n` (the scheduler delivers
/// retries when their level's delay is over).
async fn messages_at_least(client: &Client, topic: &str, n: usize) -> Vec<ReceivedMessage> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = messages(client, topic).await;
        if found.len() >= n || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// What was scheduled at delay `level` (`SCHEDULE_TOPIC_XXXX` queue level - 1): the stored
/// records still carry their `DELAY` and `REAL_TOPIC`.
async fn scheduled(client: &Client, level: i32) -> Vec<ReceivedMessage> {
    let r = client
        .pull(&PullRequest::new(
            GROUP,
            "SCHEDULE_TOPIC_XXXX",
            level - 1,
            0,
        ))
        .await
        .unwrap();
    r.messages
}

/// The last record scheduled at `level` was a retry for `%RETRY%cg` with that `DELAY`.
async fn assert_scheduled_retry(client: &Client, level: i32) {
    let at_level = scheduled(client, level).await;
    let last = at_level.last().expect("a scheduled record");
    assert_eq!(
        prop(last, property::DELAY),
        Some(level.to_string().as_str())
    );
    assert_eq!(prop(last, "REAL_TOPIC"), Some("%RETRY%cg"));
}

/// Sends one message to `topic` and reads it back as a consumer would (by pull).
async fn send_and_pull(client: &Client, topic: &str, body: &'static [u8]) -> ReceivedMessage {
    let sent = client
        .send(&OutgoingMessage {
            tags: Some("TagA".into()),
            queue_id: 0,
            ..OutgoingMessage::new(topic, body)
        })
        .await
        .unwrap();
    let pulled = client
        .pull(&PullRequest::new(GROUP, topic, 0, sent.queue_offset))
        .await
        .unwrap();
    assert_eq!(pulled.code, response_code::SUCCESS, "{}", pulled.status);
    pulled.messages.into_iter().next().unwrap()
}

/// `CONSUMER_SEND_MSG_BACK` as the Java push consumer sends it.
async fn send_back(
    client: &Client,
    offset: i64,
    delay_level: i32,
    max: Option<i32>,
) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request_code::CONSUMER_SEND_MSG_BACK, 0)
        .with_ext("offset", offset)
        .with_ext("group", GROUP)
        .with_ext("delayLevel", delay_level)
        .with_ext("originTopic", "RetryTopic")
        .with_ext("unitMode", "false");
    if let Some(max) = max {
        cmd = cmd.with_ext("maxReconsumeTimes", max);
    }
    client.request(cmd).await.unwrap()
}

/// Every message in queue 0 of `topic` (none if the topic does not exist).
async fn messages(client: &Client, topic: &str) -> Vec<ReceivedMessage> {
    let r = match client.pull(&PullRequest::new(GROUP, topic, 0, 0)).await {
        Ok(r) => r,
        Err(ClientError::Broker { code, .. }) if code == response_code::TOPIC_NOT_EXIST => {
            return Vec::new()
        }
        Err(e) => panic!("{topic}: {e}"),
    };
    assert!(
        r.code == response_code::SUCCESS || r.code == response_code::PULL_NOT_FOUND,
        "{topic}: {}",
        r.status
    );
    r.messages
}

fn prop<'a>(m: &'a ReceivedMessage, key: &str) -> Option<&'a str> {
    find_property(&m.properties, key)
}

/// A consumed message sent back with 36 appears in `%RETRY%cg` with reconsumeTimes 1, RETRY_TOPIC,
/// ORIGIN_MESSAGE_ID (the original's offset msgId), DELAY=3 and the same body and tags; sending the
/// retried message back again raises reconsumeTimes and the level and keeps the origin; after the
/// max (2 here, from the header) it lands in `%DLQ%cg` with reconsumeTimes 3.
#[tokio::test]
async fn send_back_goes_to_retry_then_to_the_dead_letter_queue() {
    let broker = TestBroker::start_with(FAST_LEVELS);
    let client = broker.client().await;
    let original = send_and_pull(&client, "RetryTopic", b"fails").await;
    assert_eq!(original.reconsume_times, 0);

    let r = send_back(&client, original.physical_offset, 0, Some(2)).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let retried = messages_at_least(&client, "%RETRY%cg", 1).await;
    assert_eq!(retried.len(), 1);
    let first = &retried[0];
    assert_eq!(&first.body[..], b"fails");
    assert_eq!(first.reconsume_times, 1);
    assert_eq!(first.tags.as_deref(), Some("TagA"));
    assert_eq!(first.uniq_key, original.uniq_key);
    assert_eq!(prop(first, property::RETRY_TOPIC), Some("RetryTopic"));
    // Scheduled at level 3; the copy delivered to the retry topic still says DELAY=3, as the stock
    // 5.3.3 broker's does (its `messageTimeUp` clears DELAY after building the stored properties).
    assert_scheduled_retry(&client, 3).await;
    assert_eq!(prop(first, property::DELAY), Some("3"));
    assert_eq!(prop(first, property::WAIT), Some("false"));
    assert_eq!(
        prop(first, property::ORIGIN_MESSAGE_ID),
        Some(original.msg_id.as_str())
    );
    assert_eq!(first.born_timestamp, original.born_timestamp);

    // The retried message fails again: level 3 + 1, origin kept.
    let r = send_back(&client, first.physical_offset, 0, Some(2)).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let retried = messages_at_least(&client, "%RETRY%cg", 2).await;
    let second = &retried[1];
    assert_eq!(second.reconsume_times, 2);
    assert_scheduled_retry(&client, 4).await;
    assert_eq!(prop(second, property::RETRY_TOPIC), Some("RetryTopic"));
    assert_eq!(
        prop(second, property::ORIGIN_MESSAGE_ID),
        Some(original.msg_id.as_str())
    );
    assert!(messages(&client, "%DLQ%cg").await.is_empty());

    // reconsumeTimes 2 >= max 2: the dead-letter queue.
    let r = send_back(&client, second.physical_offset, 0, Some(2)).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert_eq!(messages(&client, "%RETRY%cg").await.len(), 2);
    let dead = messages(&client, "%DLQ%cg").await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reconsume_times, 3);
    assert_eq!(&dead[0].body[..], b"fails");
    assert_eq!(prop(&dead[0], property::RETRY_TOPIC), Some("RetryTopic"));
    assert_eq!(
        prop(&dead[0], property::ORIGIN_MESSAGE_ID),
        Some(original.msg_id.as_str())
    );
    assert_eq!(client.read_queue_nums("%DLQ%cg").await.unwrap(), 1);

    // The group was created with Java's defaults and persisted in Java's format.
    let path = broker.root().join("config/subscriptionGroup.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let cg = &json["subscriptionGroupTable"]["cg"];
    assert_eq!(
        (cg["retryMaxTimes"].as_i64(), cg["retryQueueNums"].as_i64()),
        (Some(16), Some(1))
    );
}

/// Without a header max the group's retryMaxTimes (16) applies: the 17th failure is a dead letter.
#[tokio::test]
async fn without_a_header_max_the_groups_sixteen_apply() {
    let broker = TestBroker::start_with(FAST_LEVELS);
    let client = broker.client().await;
    let mut offset = send_and_pull(&client, "RetryTopic", b"x")
        .await
        .physical_offset;
    for n in 1..=16 {
        let r = send_back(&client, offset, 0, None).await;
        assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
        let retried = messages_at_least(&client, "%RETRY%cg", n as usize).await;
        let last = retried.last().unwrap();
        assert_eq!(last.reconsume_times, n);
        // Level 3 + n - 1, clamped to the highest level (18).
        assert_scheduled_retry(&client, (2 + n).min(18)).await;
        offset = last.physical_offset;
    }
    assert!(messages(&client, "%DLQ%cg").await.is_empty());
    let r = send_back(&client, offset, 0, None).await;
    assert_eq!(r.code, response_code::SUCCESS);
    assert_eq!(messages(&client, "%DLQ%cg").await.len(), 1);
}

/// delayLevel -1 sends the message straight to the DLQ (DELAY=0 there).
#[tokio::test]
async fn a_negative_delay_level_is_a_dead_letter_at_once() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let original = send_and_pull(&client, "RetryTopic", b"poison").await;
    let r = send_back(&client, original.physical_offset, -1, None).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let dead = messages(&client, "%DLQ%cg").await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reconsume_times, 1);
    assert_eq!(prop(&dead[0], property::DELAY), Some("0"));
    assert!(messages(&client, "%RETRY%cg").await.is_empty());
}

/// An offset where no record starts is Java's SYSTEM_ERROR "look message by offset failed, N";
/// a request without a group is Java's NullPointerException.
#[tokio::test]
async fn a_send_back_for_no_message_is_a_system_error() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let original = send_and_pull(&client, "RetryTopic", b"x").await;
    for offset in [original.physical_offset + 1, 1 << 40] {
        let r = send_back(&client, offset, 0, None).await;
        assert_eq!(r.code, response_code::SYSTEM_ERROR);
        assert_eq!(
            r.remark.as_deref(),
            Some(format!("look message by offset failed, {offset}").as_str())
        );
    }
    let cmd = RemotingCommand::request(request_code::CONSUMER_SEND_MSG_BACK, 0)
        .with_ext("offset", 0)
        .with_ext("delayLevel", 0);
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("group is null"));
    // An invalid group name does not exist.
    let cmd = RemotingCommand::request(request_code::CONSUMER_SEND_MSG_BACK, 0)
        .with_ext("offset", original.physical_offset)
        .with_ext("group", "bad group")
        .with_ext("delayLevel", 0);
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
}

/// The client's fallback: a plain send to `%RETRY%cg` with reconsumeTimes (header j) above the max
/// (header l) goes to `%DLQ%cg` with DELAY=-1; at the max it stays in `%RETRY%cg`.
#[tokio::test]
async fn a_plain_retry_send_above_the_max_is_a_dead_letter() {
    let broker = TestBroker::start_with(FAST_LEVELS);
    let client = broker.client().await;
    let retry_send = |reconsume_times: i32| {
        let h = SendMessageRequestHeader {
            producer_group: "CLIENT_INNER_PRODUCER".into(),
            topic: "%RETRY%cg".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            born_timestamp: 1_700_000_000_000,
            properties: Some(format!(
                "RETRY_TOPIC\u{1}RetryTopic\u{2}ORIGIN_MESSAGE_ID\u{1}{}\u{2}DELAY\u{1}{}\u{2}",
                offset_msg_id("127.0.0.1:10911".parse().unwrap(), 0),
                3 + reconsume_times - 1
            )),
            reconsume_times,
            max_reconsume_times: Some(3),
            ..Default::default()
        };
        let mut cmd = RemotingCommand::request(request_code::SEND_MESSAGE_V2, 0)
            .with_body(bytes::Bytes::from_static(b"fallback"));
        cmd.ext_fields = h.to_ext_v2();
        cmd
    };
    let r = client.request(retry_send(3)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let retried = messages_at_least(&client, "%RETRY%cg", 1).await;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].reconsume_times, 3);
    assert_scheduled_retry(&client, 5).await;

    let r = client.request(retry_send(4)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert_eq!(messages(&client, "%RETRY%cg").await.len(), 1);
    let dead = messages(&client, "%DLQ%cg").await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reconsume_times, 4);
    assert_eq!(prop(&dead[0], property::DELAY), Some("-1"));
    assert_eq!(prop(&dead[0], property::RETRY_TOPIC), Some("RetryTopic"));
    assert_eq!(&dead[0].body[..], b"fallback");
}

/// A group configured in `subscriptionGroup.json` (Java's format) keeps its settings across a
/// restart: retryMaxTimes 1 dead-letters the second failure; a retry topic created for it has its
/// retryQueueNums (2) queues.
#[tokio::test]
async fn a_configured_group_uses_its_own_retry_settings() {
    let mut broker = TestBroker::start_with(FAST_LEVELS);
    broker.stop();
    let path = broker.root().join("config/subscriptionGroup.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let table = serde_json::json!({
        "dataVersion": {"counter": 1, "stateVersion": 0, "timestamp": 1700000000000i64},
        "forbiddenTable": {},
        "subscriptionGroupTable": {"cg": {
            "groupName": "cg", "consumeEnable": true, "retryQueueNums": 2, "retryMaxTimes": 1,
            "groupRetryPolicy": {"type": "CUSTOMIZED"}, "attributes": {}
        }}
    });
    std::fs::write(&path, serde_json::to_vec(&table).unwrap()).unwrap();
    broker.restart();
    let client = broker.client().await;
    let original = send_and_pull(&client, "RetryTopic", b"x").await;
    let r = send_back(&client, original.physical_offset, 0, None).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert_eq!(client.read_queue_nums("%RETRY%cg").await.unwrap(), 2);
    // Two retry queues: the retry is delivered to one of them once its level's delay is over.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut retried = Vec::new();
    while retried.is_empty() && std::time::Instant::now() < deadline {
        for queue in 0..2 {
            let r = client
                .pull(&PullRequest::new(GROUP, "%RETRY%cg", queue, 0))
                .await
                .unwrap();
            retried.extend(r.messages);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(retried.len(), 1);
    let r = send_back(&client, retried[0].physical_offset, 0, None).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert_eq!(messages(&client, "%DLQ%cg").await.len(), 1);
    // A new group rewrites the file; what actormq does not use is written back as it was read.
    let cmd = RemotingCommand::request(request_code::CONSUMER_SEND_MSG_BACK, 0)
        .with_ext("offset", original.physical_offset)
        .with_ext("group", "cg2")
        .with_ext("delayLevel", 0);
    assert_eq!(
        client.request(cmd).await.unwrap().code,
        response_code::SUCCESS
    );
    broker.stop();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["subscriptionGroupTable"]["cg2"]["retryMaxTimes"], 16);
    assert_eq!(
        json["subscriptionGroupTable"]["cg"]["groupRetryPolicy"]["type"],
        "CUSTOMIZED"
    );
    assert_eq!(json["forbiddenTable"], serde_json::json!({}));
}
