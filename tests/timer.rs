//! 5.x timer messages against the real broker: delivered to their topic when due (not before,
//! and within the slack of the schedule), across a clean restart (nothing lost, nothing twice) and
//! a kill -9 (nothing lost), refused like Java when too long or disabled, and stored at once when
//! the time has passed.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use actormq::client::{Client, ClientError, OutgoingMessage, PullRequest, ReceivedMessage};
use actormq::protocol::response_code;
use actormq::store::message::find_property;
use actormq::store::now_ms;
use common::TestBroker;

/// How late a message may arrive: the broker's wake-up and append, plus a loaded test machine.
const SLACK_MS: i64 = 700;

fn timer_message(topic: &str, key: &str, value: String) -> OutgoingMessage {
    OutgoingMessage {
        queue_id: 0,
        tags: Some("TagT".into()),
        properties: vec![(key.to_string(), value)],
        ..OutgoingMessage::new(topic, "timer body")
    }
}

/// Everything in `topic` queue 0 from `from`.
async fn pull_all(client: &Client, topic: &str, from: i64) -> Vec<ReceivedMessage> {
    let mut out = Vec::new();
    let mut offset = from;
    loop {
        let mut req = PullRequest::new("timer-test", topic, 0, offset);
        req.max_msgs = 32;
        let r = client.pull(&req).await.expect("pull");
        if r.messages.is_empty() {
            return out;
        }
        offset = r.next_begin_offset;
        out.extend(r.messages);
    }
}

/// Polls `topic` until `n` messages are there (or `limit` passes); returns them with the client
/// clock at which each was first seen.
async fn wait_for(
    client: &Client,
    topic: &str,
    n: usize,
    limit: Duration,
) -> Vec<(ReceivedMessage, i64)> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while seen.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} arrived in {topic}",
            seen.len()
        );
        let got = pull_all(client, topic, seen.len() as i64).await;
        let at = now_ms();
        seen.extend(got.into_iter().map(|m| (m, at)));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen
}

fn out_ms(m: &ReceivedMessage) -> i64 {
    find_property(&m.properties, "TIMER_OUT_MS")
        .expect("TIMER_OUT_MS kept")
        .parse()
        .unwrap()
}

/// A message due in 2 s is not in its topic before then, arrives no earlier than due and within
/// the slack, as a copy with REAL_* removed, TIMER_ENQUEUE_MS / TIMER_DEQUEUE_MS added and the
/// same UNIQ_KEY; the send was answered with the request's queue.
#[tokio::test]
async fn a_message_due_in_two_seconds_arrives_on_time() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let sent_at = now_ms();
    let r = client
        .send(&timer_message(
            "TimerOnTime",
            "TIMER_DELAY_MS",
            "2000".into(),
        ))
        .await
        .unwrap();
    assert_eq!((r.code, r.queue_id), (response_code::SUCCESS, 0));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        pull_all(&client, "TimerOnTime", 0).await.is_empty(),
        "delivered early"
    );

    let got = wait_for(&client, "TimerOnTime", 1, Duration::from_secs(10)).await;
    let (m, seen_at) = &got[0];
    let due = out_ms(m);
    assert!(
        (sent_at + 2000..sent_at + 2000 + SLACK_MS).contains(&due),
        "due {due}, sent {sent_at}"
    );
    assert!(
        m.store_timestamp >= due,
        "stored {} before due {due}",
        m.store_timestamp
    );
    assert!(
        m.store_timestamp - due <= SLACK_MS,
        "stored {} ms late",
        m.store_timestamp - due
    );
    assert!(*seen_at >= due);
    let p = &m.properties;
    assert_eq!(find_property(p, "REAL_TOPIC"), None);
    assert_eq!(find_property(p, "REAL_QID"), None);
    assert!(find_property(p, "TIMER_ENQUEUE_MS").is_some(), "{p:?}");
    assert!(find_property(p, "TIMER_DEQUEUE_MS").is_some(), "{p:?}");
    assert_eq!(
        find_property(p, "UNIQ_KEY"),
        Some(r.transaction_id.as_str())
    );
    assert_eq!(m.tags.as_deref(), Some("TagT"));
    assert_eq!(&m.body[..], b"timer body");
}

/// A deliver time in the past stores the message in its topic at once, properties as sent.
#[tokio::test]
async fn a_past_deliver_time_is_stored_at_once() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let past = (now_ms() - 5_000).to_string();
    client
        .send(&timer_message(
            "TimerPast",
            "TIMER_DELIVER_MS",
            past.clone(),
        ))
        .await
        .unwrap();
    let got = pull_all(&client, "TimerPast", 0).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        find_property(&got[0].properties, "TIMER_DELIVER_MS"),
        Some(past.as_str())
    );
    assert_eq!(find_property(&got[0].properties, "TIMER_OUT_MS"), None);
}

fn broker_code(e: ClientError) -> (i32, String) {
    match e {
        ClientError::Broker { code, remark, .. } => (code, remark),
        other => panic!("not a broker refusal: {other}"),
    }
}

/// Longer than `max_delay_sec` or unparsable -> MESSAGE_ILLEGAL with Java's remark; with the timer
/// disabled -> SYSTEM_ERROR. Nothing is stored.
#[tokio::test]
async fn refusals_follow_java() {
    let broker = TestBroker::start_with("[timer]\nmax_delay_sec = 60");
    let client = broker.client().await;
    for (key, value) in [("TIMER_DELAY_SEC", "61"), ("TIMER_DELAY_MS", "soon")] {
        let e = client
            .send(&timer_message("TimerRefused", key, value.into()))
            .await
            .unwrap_err();
        let (code, remark) = broker_code(e);
        assert_eq!(code, response_code::MESSAGE_ILLEGAL);
        assert!(remark.starts_with("timer message illegal, the delay time should not be bigger than the max delay 60000ms"), "{remark}");
    }
    drop(broker);
    let broker = TestBroker::start_with("[timer]\nenabled = false");
    let client = broker.client().await;
    let e = client
        .send(&timer_message(
            "TimerRefused",
            "TIMER_DELAY_SEC",
            "5".into(),
        ))
        .await
        .unwrap_err();
    let (code, remark) = broker_code(e);
    assert_eq!(code, response_code::SYSTEM_ERROR);
    assert_eq!(
        remark,
        "accurate timer message is not enabled, timerWheelEnable is false"
    );
    drop(client);
    let mut broker = broker;
    broker.stop();
    assert!(
        common::read_commit_log(&broker.root()).is_empty(),
        "a refused message was stored"
    );
}

/// Sends `n` messages due 1..3 s from now; returns uniq key -> due time.
async fn schedule(client: &Client, topic: &str, n: usize) -> HashMap<String, i64> {
    let mut due = HashMap::new();
    for i in 0..n {
        let delay = 1000 + (i as i64 * 2000) / n as i64;
        let r = client
            .send(&timer_message(topic, "TIMER_DELAY_MS", delay.to_string()))
            .await
            .unwrap();
        due.insert(r.transaction_id, now_ms() + delay);
    }
    due
}

/// Every scheduled message arrived, none before it was due; returns the distinct keys seen.
fn check_arrivals(due: &HashMap<String, i64>, got: &[(ReceivedMessage, i64)]) -> HashSet<String> {
    let mut keys = HashSet::new();
    for (m, _) in got {
        let key = m.uniq_key.clone().expect("UNIQ_KEY");
        assert!(due.contains_key(&key), "unknown message {key}");
        assert!(m.store_timestamp >= out_ms(m), "{key} stored before due");
        keys.insert(key);
    }
    keys
}

/// A broker with 40 messages for `topic` due 1..3 s from now, 1.8 s into that schedule.
async fn start_and_schedule(topic: &str) -> (TestBroker, HashMap<String, i64>) {
    let broker = TestBroker::start();
    let due = schedule(&broker.client().await, topic, 40).await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    (broker, due)
}

/// A clean stop in the middle of a schedule: after the restart every message arrives exactly once.
#[tokio::test]
async fn a_clean_restart_loses_nothing_and_repeats_nothing() {
    let (mut broker, due) = start_and_schedule("TimerRestart").await;
    let before = pull_all(&broker.client().await, "TimerRestart", 0)
        .await
        .len();
    assert_eq!(broker.stop(), Some(0));
    broker.restart();
    let client = broker.client().await;
    let got = wait_for(&client, "TimerRestart", due.len(), Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = pull_all(&client, "TimerRestart", 0).await;
    assert_eq!(
        all.len(),
        due.len(),
        "{before} before the stop; duplicates after it"
    );
    assert_eq!(check_arrivals(&due, &got).len(), due.len());
}

/// kill -9 in the middle of a schedule: after the restart every message arrives (at least once),
/// none before it was due.
#[tokio::test]
async fn a_kill_loses_nothing() {
    let (mut broker, due) = start_and_schedule("TimerKill").await;
    broker.kill9();
    broker.restart();
    let client = broker.client().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all = pull_all(&client, "TimerKill", 0).await;
        let pairs: Vec<_> = all.into_iter().map(|m| (m, 0)).collect();
        if check_arrivals(&due, &pairs).len() == due.len() {
            break;
        }
        assert!(Instant::now() < deadline, "not all arrived after the kill");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
