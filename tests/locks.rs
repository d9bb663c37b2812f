//! Queue locks (LOCK_BATCH_MQ 41, UNLOCK_BATCH_MQ 42) against the real broker: two clients of
//! one group competing for queues, expiry with a short configured lifetime, an unlock by a
//! non-holder ignored, and Java's answers to bad bodies.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::queue_locks::MessageQueue;
use common::TestBroker;

fn mqs(topic: &str, ids: &[i32]) -> Vec<MessageQueue> {
    ids.iter()
        .map(|&queue_id| MessageQueue {
            broker_name: "broker-a".into(),
            queue_id,
            topic: topic.into(),
        })
        .collect()
}

fn set(topic: &str, ids: &[i32]) -> BTreeSet<MessageQueue> {
    mqs(topic, ids).into_iter().collect()
}

/// Two consumers of one group: the first gets the queues it asks for, the second only the free
/// ones; renewing keeps them; an unlock by the non-holder changes nothing, the holder's frees the
/// queue for the other; another group is independent.
#[tokio::test]
async fn two_clients_compete_for_queues() {
    let broker = TestBroker::start();
    let (a, b) = (broker.client().await, broker.client().await);
    let all = mqs("Orders", &[0, 1, 2, 3]);
    assert_eq!(
        a.lock_batch_mq("cg", "10.0.0.1@1", &all[..2])
            .await
            .unwrap(),
        set("Orders", &[0, 1])
    );
    assert_eq!(
        b.lock_batch_mq("cg", "10.0.0.2@2", &all).await.unwrap(),
        set("Orders", &[2, 3])
    );
    // Renewal by the holder, asking again for everything: still only its own.
    assert_eq!(
        a.lock_batch_mq("cg", "10.0.0.1@1", &all).await.unwrap(),
        set("Orders", &[0, 1])
    );
    // b tries to unlock a's queue 0 (and its own 2): only its own goes.
    b.unlock_batch_mq("cg", "10.0.0.2@2", &[all[0].clone(), all[2].clone()])
        .await
        .unwrap();
    assert_eq!(
        b.lock_batch_mq("cg", "10.0.0.2@2", &all[..1])
            .await
            .unwrap(),
        set("Orders", &[])
    );
    assert_eq!(
        a.lock_batch_mq("cg", "10.0.0.1@1", &all).await.unwrap(),
        set("Orders", &[0, 1, 2])
    );
    // a unlocks (oneway, as Java's rebalance does); then b can take them.
    let body = serde_json::json!({
        "consumerGroup": "cg", "clientId": "10.0.0.1@1",
        "mqSet": &all[..2], "onlyThisBroker": false,
    });
    let mut cmd = RemotingCommand::request(request_code::UNLOCK_BATCH_MQ, 0)
        .with_body(serde_json::to_vec(&body).unwrap().into());
    cmd.set_oneway();
    a.oneway(cmd).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = b.lock_batch_mq("cg", "10.0.0.2@2", &all).await.unwrap();
        if got == set("Orders", &[0, 1, 3]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "oneway unlock not applied: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another group's locks are separate.
    assert_eq!(
        a.lock_batch_mq("other", "10.0.0.1@1", &all).await.unwrap(),
        set("Orders", &[0, 1, 2, 3])
    );
}

/// With `broker.rebalance_lock_max_live_ms = 300`, a lock nobody renews is taken over by another
/// client once it is older than that, and not before.
#[tokio::test]
async fn an_unrenewed_lock_expires_and_is_taken_over() {
    let broker = TestBroker::start_with("[broker]\nrebalance_lock_max_live_ms = 300");
    let client = broker.client().await;
    let q = mqs("Expiry", &[0]);
    let locked_at = Instant::now();
    assert_eq!(
        client.lock_batch_mq("cg", "first", &q).await.unwrap(),
        set("Expiry", &[0])
    );
    let second = client.lock_batch_mq("cg", "second", &q).await.unwrap();
    if locked_at.elapsed() < Duration::from_millis(250) {
        assert!(second.is_empty(), "taken over too early: {second:?}");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        client.lock_batch_mq("cg", "second", &q).await.unwrap(),
        set("Expiry", &[0])
    );
    // Now the first client is the one refused.
    assert!(client
        .lock_batch_mq("cg", "first", &q)
        .await
        .unwrap()
        .is_empty());
}

/// The answers Java gives: the reply body's exact JSON, SUCCESS for an unlock of nothing, and
/// SYSTEM_ERROR with the exception's text for a missing or malformed body.
#[tokio::test]
async fn wire_format_and_bad_bodies() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let request = |code: i32, body: &'static [u8]| {
        RemotingCommand::request(code, 0).with_body(bytes::Bytes::from_static(body))
    };
    // go's body (no onlyThisBroker); the reply is fastjson's field order.
    let resp = client
        .request(request(
            request_code::LOCK_BATCH_MQ,
            br#"{"consumerGroup":"g","clientId":"c","mqSet":[{"topic":"T","brokerName":"b","queueId":2}]}"#,
        ))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
    assert_eq!(
        &resp.body[..],
        br#"{"lockOKMQSet":[{"brokerName":"b","queueId":2,"topic":"T"}]}"#
    );
    let resp = client
        .request(request(
            request_code::UNLOCK_BATCH_MQ,
            br#"{"consumerGroup":"nobody","clientId":"c","mqSet":[]}"#,
        ))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    for (code, body, remark) in [
        (
            request_code::LOCK_BATCH_MQ,
            &b""[..],
            "java.lang.NullPointerException",
        ),
        (
            request_code::UNLOCK_BATCH_MQ,
            &b""[..],
            "java.lang.NullPointerException",
        ),
        (
            request_code::LOCK_BATCH_MQ,
            &b"{\"consumerGroup\":"[..],
            "com.alibaba.fastjson.JSONException",
        ),
    ] {
        let resp = client.request(request(code, body)).await.unwrap();
        assert_eq!(resp.code, response_code::SYSTEM_ERROR, "{code}");
        let got = resp.remark.unwrap_or_default();
        assert!(got.starts_with(remark), "{code}: {got}");
    }
}
