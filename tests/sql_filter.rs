//! SQL92 subscriptions on the wire (`docs/consume.md`, "Pull"), against the real broker: a pull
//! with `expressionType=SQL92` gets exactly the records whose properties the expression selects
//! (system properties such as TAGS included), skipping the others; a push consumer's pull, which
//! carries no expression, is filtered by what its group's heartbeat registered; a bad expression
//! and a broker without `enable_property_filter` are refused with Java's codes and remarks, and
//! so is CHECK_CLIENT_CONFIG (46). The stock Java push consumers: `tests/java_clients.rs` `sql92_*`.

mod common;

use actormq::client::{
    consumer_heartbeat, parse_pull_response, Client, OutgoingMessage, PullRequest, Subscribe,
};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::TestBroker;

const TOPIC: &str = "Sql";

fn filtering_broker() -> TestBroker {
    TestBroker::start_with("[broker]\nenable_property_filter = true")
}

/// Sends message i (body `m-i`) with `a=i`, `color` red (even) / blue (odd) and tag `T(i%3)`, all
/// to queue 0.
async fn send(client: &Client, n: usize) {
    for i in 0..n {
        let color = if i % 2 == 0 { "red" } else { "blue" };
        let m = OutgoingMessage {
            queue_id: 0,
            tags: Some(format!("T{}", i % 3)),
            properties: vec![("a".into(), i.to_string()), ("color".into(), color.into())],
            ..OutgoingMessage::new(TOPIC, format!("m-{i}"))
        };
        client.send(&m).await.unwrap();
    }
}

/// A pull of queue 0 from `offset` with an SQL92 `expression` (`None`: none in the header, as a
/// push consumer sends it) at `sub_version`.
fn sql_pull(offset: i64, expression: Option<&str>, sub_version: i64) -> RemotingCommand {
    let mut cmd = PullRequest {
        max_msgs: 32,
        ..PullRequest::new("cg", TOPIC, 0, offset)
    }
    .to_command()
    .with_ext("expressionType", "SQL92")
    .with_ext("subVersion", sub_version);
    match expression {
        Some(e) => cmd = cmd.with_ext("subscription", e),
        None => {
            cmd.ext_fields.remove("subscription");
        }
    }
    cmd
}

/// The `i` of every message the pulls from offset 0 return, following `nextBeginOffset`.
async fn selected(client: &Client, expression: Option<&str>, sub_version: i64) -> Vec<usize> {
    let (mut offset, mut got) = (0, Vec::new());
    loop {
        let resp = client
            .request(sql_pull(offset, expression, sub_version))
            .await
            .unwrap();
        let r = parse_pull_response(&resp).unwrap();
        for m in &r.messages {
            let body = std::str::from_utf8(&m.body).unwrap();
            got.push(body[2..].parse().unwrap());
        }
        if r.next_begin_offset >= r.max_offset || r.next_begin_offset == offset {
            return got;
        }
        offset = r.next_begin_offset;
    }
}

/// Client c1's heartbeat: a push consumer of group `cg` subscribed to `TOPIC` with an SQL92
/// `expression` at `version`.
fn heartbeat(version: i64, expression: &str) -> RemotingCommand {
    let sub = Subscribe {
        topic: TOPIC,
        expression_type: "SQL92",
        expression,
        sub_version: version,
    };
    consumer_heartbeat("c1", "cg", &[sub])
}

#[tokio::test]
async fn a_pull_gets_what_its_expression_selects() {
    let b = filtering_broker();
    let client = b.client().await;
    send(&client, 40).await;
    let got = selected(
        &client,
        Some("a BETWEEN 10 AND 29 AND color = 'red' OR a = 3"),
        1,
    )
    .await;
    let want: Vec<usize> = (0..40)
        .filter(|i| (10..=29).contains(i) && i % 2 == 0 || *i == 3)
        .collect();
    assert_eq!(got, want);
    // System properties count too.
    let got = selected(&client, Some("TAGS = 'T1' AND a < 10"), 1).await;
    assert_eq!(got, [1, 4, 7]);
    // Nothing selected: the pulls walk past every record.
    assert!(selected(&client, Some("a > 1000"), 1).await.is_empty());
}

#[tokio::test]
async fn a_push_consumers_pull_uses_its_groups_heartbeat() {
    let b = filtering_broker();
    let client = b.client().await;
    send(&client, 12).await;
    // Not registered yet: Java's SUBSCRIPTION_NOT_EXIST.
    let resp = client.request(sql_pull(0, None, 5)).await.unwrap();
    assert_eq!(
        resp.code,
        response_code::SUBSCRIPTION_NOT_EXIST,
        "{:?}",
        resp.remark
    );
    let r = client.request(heartbeat(5, "a >= 9")).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    common::wait_until_async(
        std::time::Duration::from_secs(5),
        "the registration",
        || async { selected(&client, None, 5).await == [9, 10, 11] },
    )
    .await;
    // A pull newer than the registration: Java's SUBSCRIPTION_NOT_LATEST, until the heartbeat.
    let resp = client.request(sql_pull(0, None, 6)).await.unwrap();
    assert_eq!(resp.code, response_code::SUBSCRIPTION_NOT_LATEST);
    client.request(heartbeat(6, "a < 2")).await.unwrap();
    common::wait_until_async(
        std::time::Duration::from_secs(5),
        "the new registration",
        || async { selected(&client, None, 6).await == [0, 1] },
    )
    .await;
}

#[tokio::test]
async fn bad_expressions_and_brokers_without_property_filters_are_refused() {
    let b = filtering_broker();
    let client = b.client().await;
    send(&client, 2).await;
    let resp = client.request(sql_pull(0, Some("a >"), 1)).await.unwrap();
    assert_eq!(
        (resp.code, resp.remark.as_deref()),
        (
            response_code::SUBSCRIPTION_PARSE_FAILED,
            Some("parse the consumer's subscription failed")
        )
    );
    let check = |expression: &str| {
        let body = serde_json::json!({
            "clientId": "c1", "group": "cg",
            "subscriptionData": {"topic": TOPIC, "subString": expression, "expressionType": "SQL92"}
        });
        RemotingCommand::request(request_code::CHECK_CLIENT_CONFIG, 0)
            .with_body(body.to_string().into_bytes().into())
    };
    assert_eq!(
        client.request(check("a > 1")).await.unwrap().code,
        response_code::SUCCESS
    );
    let resp = client.request(check("a >")).await.unwrap();
    assert_eq!(resp.code, response_code::SUBSCRIPTION_PARSE_FAILED);
    assert!(resp.remark.is_some_and(|r| !r.is_empty()));

    let plain = TestBroker::start();
    let client = plain.client().await;
    send(&client, 2).await;
    let refusal = Some("The broker does not support consumer to filter message by SQL92");
    let resp = client.request(sql_pull(0, Some("a > 1"), 1)).await.unwrap();
    assert_eq!(
        (resp.code, resp.remark.as_deref()),
        (response_code::SYSTEM_ERROR, refusal)
    );
    let resp = client.request(check("a > 1")).await.unwrap();
    assert_eq!(
        (resp.code, resp.remark.as_deref()),
        (response_code::SYSTEM_ERROR, refusal)
    );
    // TAG subscriptions are served as before.
    let r = client
        .pull(&PullRequest::new("cg", TOPIC, 0, 0))
        .await
        .unwrap();
    assert_eq!(r.messages.len(), 2);
}

/// A long poll of a group whose selector takes `a >= 100` stays parked through a record it does
/// not take and is answered with the one it does (Java keeps it parked too).
#[tokio::test]
async fn a_parked_push_pull_waits_through_records_its_selector_skips() {
    let b = filtering_broker();
    let client = b.client().await;
    send(&client, 2).await;
    client.request(heartbeat(5, "a >= 100")).await.unwrap();
    common::wait_until_async(
        std::time::Duration::from_secs(5),
        "the registration",
        || async { selected(&client, None, 5).await.is_empty() },
    )
    .await;
    let puller = b.client().await;
    let parked = tokio::spawn(async move {
        let pull = sql_pull(2, None, 5)
            .with_ext("sysFlag", actormq::protocol::pull_sys_flag::SUSPEND)
            .with_ext("suspendTimeoutMillis", 10_000);
        puller.request(pull).await.unwrap()
    });
    let one = |a: usize| OutgoingMessage {
        queue_id: 0,
        properties: vec![("a".into(), a.to_string())],
        ..OutgoingMessage::new(TOPIC, format!("m-{a}"))
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    client.send(&one(7)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !parked.is_finished(),
        "answered for a record the selector skips"
    );
    client.send(&one(100)).await.unwrap();
    let resp = tokio::time::timeout(std::time::Duration::from_secs(5), parked)
        .await
        .expect("the selected record wakes the pull")
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
    let r = parse_pull_response(&resp).unwrap();
    let bodies: Vec<&[u8]> = r.messages.iter().map(|m| &m.body[..]).collect();
    assert_eq!(bodies, [b"m-100"]);
}
