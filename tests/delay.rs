//! Delay levels end to end (`docs/consume.md`, "Delayed messages"): a `DELAY=n` message waits in
//! `SCHEDULE_TOPIC_XXXX` and reaches its topic only when due, with `REAL_TOPIC` / `REAL_QID` and
//! its own body, tags, keys and UNIQ_KEY; the delivery progress survives a clean restart (nothing
//! twice) and a kill -9 (nothing lost); `GET_ALL_DELAY_OFFSET` (45) returns `delayOffset.json`.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actormq::client::{Client, OutgoingMessage, PullRequest, ReceivedMessage, SendResult};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::schedule::offsets::DelayOffsets;
use actormq::store::message::find_property;
use common::{config_text, run_broker_expecting_failure, wait_until_async, TestBroker};

const SCHEDULE: &str = "SCHEDULE_TOPIC_XXXX";
const LEVELS: &str = "[broker]\nmessage_delay_level = \"1s 2s 3s\"";

fn start() -> TestBroker {
    TestBroker::start_with(LEVELS)
}

async fn send_delayed(client: &Client, topic: &str, level: i32, i: usize) -> SendResult {
    let msg = OutgoingMessage {
        tags: Some(format!("tag{}", i % 2)),
        keys: Some(format!("key-{i}")),
        queue_id: 0,
        properties: vec![("DELAY".into(), level.to_string())],
        ..OutgoingMessage::new(topic, format!("body-{i}"))
    };
    client.send(&msg).await.unwrap()
}

/// Every message in queue 0 of `topic`, from offset 0.
async fn pull_all(client: &Client, topic: &str, queue_id: i32) -> Vec<ReceivedMessage> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let r = client
            .pull(&PullRequest::new("cg", topic, queue_id, offset))
            .await
            .unwrap();
        if r.code != response_code::SUCCESS {
            return out;
        }
        offset = r.next_begin_offset;
        out.extend(r.messages);
    }
}

async fn wait_for_count(client: &Client, topic: &str, n: usize, limit: Duration) {
    wait_until_async(limit, &format!("{n} messages in {topic}"), || async {
        pull_all(client, topic, 0).await.len() >= n
    })
    .await;
}

/// Count of each UNIQ_KEY delivered to `topic`.
async fn deliveries(client: &Client, topic: &str) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for m in pull_all(client, topic, 0).await {
        *seen.entry(m.uniq_key.clone().unwrap()).or_default() += 1;
    }
    seen
}

async fn all_delay_offsets(client: &Client) -> DelayOffsets {
    let cmd = RemotingCommand::request(request_code::GET_ALL_DELAY_OFFSET, 0);
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    let body = std::str::from_utf8(&r.body).unwrap();
    assert!(body.contains("\"offsetTable\":{"), "{body}");
    DelayOffsets::decode(body).unwrap()
}

/// A DELAY=1 (1 s) message is not in its topic before its second is up, and is after, with the
/// REAL_* properties, its body, tags, keys and client id, and still DELAY=1 (as Java stores it: its
/// `messageTimeUp` clears DELAY only after building the stored property string); the send response
/// names the real queue. It waited in SCHEDULE_TOPIC_XXXX queue 0, and 45 reports level 1 done.
#[tokio::test]
async fn delayed_message_arrives_when_due_with_its_properties() {
    let broker = start();
    let client = broker.client().await;
    let sent_at = Instant::now();
    let r = send_delayed(&client, "DelayT", 1, 7).await;
    assert_eq!(r.queue_id, 0);
    assert_eq!(pull_all(&client, SCHEDULE, 0).await.len(), 1);
    assert!(pull_all(&client, "DelayT", 0).await.is_empty());
    wait_for_count(&client, "DelayT", 1, Duration::from_secs(10)).await;
    let waited = sent_at.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "delivered after {waited:?}"
    );
    let m = &pull_all(&client, "DelayT", 0).await[0];
    assert_eq!(&m.body[..], b"body-7");
    assert_eq!(m.tags.as_deref(), Some("tag1"));
    assert_eq!(m.keys.as_deref(), Some("key-7"));
    assert_eq!(m.uniq_key.as_deref(), Some(r.transaction_id.as_str()));
    assert_eq!(find_property(&m.properties, "REAL_TOPIC"), Some("DelayT"));
    assert_eq!(find_property(&m.properties, "REAL_QID"), Some("0"));
    assert_eq!(find_property(&m.properties, "DELAY"), Some("1"));
    assert_ne!(m.msg_id, r.msg_id, "a new record with its own offset msgId");
    // A tag filter sees the delivered message by its own tag.
    let mut tagged = PullRequest::new("cg", "DelayT", 0, 0);
    tagged.subscription = "tag1".into();
    assert_eq!(client.pull(&tagged).await.unwrap().messages.len(), 1);
    let offsets = all_delay_offsets(&client).await;
    assert_eq!(offsets.get(1), Some(1));
    // GET_BROKER_RUNTIME_INFO: "delayOffset,maxOffset" per level, as Java's.
    let cmd = RemotingCommand::request(request_code::GET_BROKER_RUNTIME_INFO, 0);
    let r = client.request(cmd).await.unwrap();
    let kv: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(kv["table"]["scheduleMessageOffset_1"], "1,1", "{kv}");
    assert!(kv["table"].get("scheduleMessageOffset_2").is_none());
}

/// A level above the highest configured (9 with "1s 2s 3s") is clamped to 3: it waits in queue 2
/// for about 3 s.
#[tokio::test]
async fn level_above_max_is_clamped() {
    let broker = start();
    let client = broker.client().await;
    let sent_at = Instant::now();
    send_delayed(&client, "ClampT", 9, 0).await;
    let waiting = pull_all(&client, SCHEDULE, 2).await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(find_property(&waiting[0].properties, "DELAY"), Some("3"));
    wait_for_count(&client, "ClampT", 1, Duration::from_secs(10)).await;
    assert!(
        sent_at.elapsed() >= Duration::from_millis(2950),
        "{:?}",
        sent_at.elapsed()
    );
}

/// A clean stop with messages still waiting: after the restart each message is delivered exactly
/// once (the offsets written at shutdown say where to resume), and delayOffset.json is Java's.
#[tokio::test]
async fn clean_restart_delivers_exactly_once() {
    let mut broker = start();
    let client = broker.client().await;
    for i in 0..10 {
        send_delayed(&client, "RestartT", 1, i).await;
    }
    for i in 10..20 {
        send_delayed(&client, "RestartT", 3, i).await;
    }
    wait_for_count(&client, "RestartT", 10, Duration::from_secs(10)).await;
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    let saved = std::fs::read_to_string(broker.root().join("config/delayOffset.json")).unwrap();
    let offsets = DelayOffsets::decode(&saved).unwrap();
    assert_eq!(offsets.get(1), Some(10), "{saved}");
    assert!(
        saved.contains("\"offsetTable\":{") && saved.contains("1:10"),
        "{saved}"
    );
    broker.restart();
    let client = broker.client().await;
    wait_for_count(&client, "RestartT", 20, Duration::from_secs(15)).await;
    // Time for any duplicate to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = deliveries(&client, "RestartT").await;
    assert_eq!(seen.len(), 20);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    let offsets = all_delay_offsets(&client).await;
    assert_eq!((offsets.get(1), offsets.get(3)), (Some(10), Some(10)));
}

/// kill -9 (offsets not written for up to 10 s): after the restart every message is delivered at
/// least once, both those delivered before the crash and those not yet due.
#[tokio::test]
async fn kill9_delivers_at_least_once() {
    let mut broker = start();
    let client = broker.client().await;
    for i in 0..5 {
        send_delayed(&client, "CrashT", 1, i).await;
    }
    for i in 5..10 {
        send_delayed(&client, "CrashT", 3, i).await;
    }
    wait_for_count(&client, "CrashT", 5, Duration::from_secs(10)).await;
    drop(client);
    broker.kill9();
    broker.restart();
    let client = broker.client().await;
    wait_until_async(Duration::from_secs(15), "10 distinct messages", || async {
        deliveries(&client, "CrashT").await.len() == 10
    })
    .await;
}

/// A bad `message_delay_level` stops the broker at start with one line naming the key and level.
#[test]
fn bad_delay_level_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(
        &dir.path().join("s"),
        "[broker]\nmessage_delay_level = \"1s 5s 1y\"",
    );
    let path = dir.path().join("broker.toml");
    std::fs::write(&path, text).unwrap();
    let (code, stderr) = run_broker_expecting_failure(&path);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("broker.message_delay_level") && stderr.contains("level 3"),
        "{stderr}"
    );
}

/// SCHEDULE_TOPIC_XXXX is in the topic table with 18 queues; clients may not send to it, and
/// topic admin may neither change nor delete it (Java: "conflict with system topic").
#[tokio::test]
async fn schedule_topic_exists_and_is_not_for_sending() {
    let broker = start();
    let client = broker.client().await;
    assert_eq!(client.read_queue_nums(SCHEDULE).await.unwrap(), 18);
    let err = client
        .send(&OutgoingMessage::new(SCHEDULE, "x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("forbidden"), "{err}");
    let update = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
        .with_ext("topic", SCHEDULE)
        .with_ext("readQueueNums", 1)
        .with_ext("writeQueueNums", 1)
        .with_ext("perm", 6);
    let delete = RemotingCommand::request(request_code::DELETE_TOPIC_IN_BROKER, 0)
        .with_ext("topic", SCHEDULE);
    for cmd in [update, delete] {
        let r = client.request(cmd).await.unwrap();
        assert_eq!(r.code, response_code::INVALID_PARAMETER);
        assert_eq!(
            r.remark.as_deref(),
            Some("The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic.")
        );
    }
    assert_eq!(client.read_queue_nums(SCHEDULE).await.unwrap(), 18);
}

/// Sync flush: the scheduler's appends complete only once flushed; delivery works the same, and
/// the clean stop waits for them. GET_BROKER_CONFIG reports the levels as `messageDelayLevel`.
#[tokio::test]
async fn sync_flush_mode_delivers_and_stops_cleanly() {
    let mut broker = TestBroker::start_with(&format!("{LEVELS}\n[flush]\nmode = \"sync\""));
    let client = broker.client().await;
    for i in 0..5 {
        send_delayed(&client, "SyncT", 1, i).await;
    }
    wait_for_count(&client, "SyncT", 5, Duration::from_secs(10)).await;
    let cmd = RemotingCommand::request(request_code::GET_BROKER_CONFIG, 0);
    let r = client.request(cmd).await.unwrap();
    let props = String::from_utf8_lossy(&r.body).into_owned();
    assert!(props.contains("messageDelayLevel=1s 2s 3s\n"), "{props}");
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    broker.restart();
    let client = broker.client().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = deliveries(&client, "SyncT").await;
    assert_eq!(seen.len(), 5);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}
