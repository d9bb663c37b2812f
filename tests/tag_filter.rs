//! TAG subscriptions of push consumers on the wire (`docs/consume.md`, "Pull"), against the real
//! broker. A push consumer's pull carries no expression (no SUBSCRIPTION sys flag): the broker
//! filters it by what the group's live consumers subscribed to in their heartbeats (together: one
//! client's tags never hide another's messages), serves it unfiltered while nothing is
//! registered or when the pull names a newer subscription than any heard of (every client filters
//! tags again itself), and keeps its long poll parked through records of other tags. SQL92
//! registrations: `tests/sql_filter.rs`.

mod common;

use std::time::Duration;

use actormq::client::{
    consumer_heartbeat, parse_pull_response, Client, OutgoingMessage, PullRequest, Subscribe,
};
use actormq::protocol::{pull_sys_flag, request_code, response_code, RemotingCommand};
use common::TestBroker;

const TOPIC: &str = "Tagged";
const GROUP: &str = "cg";

/// Sends message i (body `m-i`) with tag `T(i%3)`, all to queue 0.
async fn send(client: &Client, from: usize, to: usize) {
    for i in from..to {
        let m = OutgoingMessage {
            queue_id: 0,
            tags: Some(format!("T{}", i % 3)),
            ..OutgoingMessage::new(TOPIC, format!("m-{i}"))
        };
        client.send(&m).await.unwrap();
    }
}

/// A push consumer's pull of queue 0 from `offset`: expression type TAG, no expression, no
/// SUBSCRIPTION flag, `subVersion` as given (the Go client sends 0); held up to `suspend`.
fn push_pull(offset: i64, sub_version: i64, suspend: Option<Duration>) -> RemotingCommand {
    let mut cmd = PullRequest {
        max_msgs: 32,
        suspend,
        ..PullRequest::new(GROUP, TOPIC, 0, offset)
    }
    .to_command()
    .with_ext("subVersion", sub_version);
    cmd.ext_fields.remove("subscription");
    let flag = if suspend.is_some() {
        pull_sys_flag::SUSPEND
    } else {
        0
    };
    cmd.with_ext("sysFlag", flag)
}

/// The `i` of every message push pulls from offset 0 return, following `nextBeginOffset`.
async fn pulled(client: &Client, sub_version: i64) -> Vec<usize> {
    let (mut offset, mut got) = (0, Vec::new());
    loop {
        let resp = client
            .request(push_pull(offset, sub_version, None))
            .await
            .unwrap();
        let r = parse_pull_response(&resp).unwrap();
        got.extend(r.messages.iter().map(number));
        if r.next_begin_offset >= r.max_offset || r.next_begin_offset == offset {
            return got;
        }
        offset = r.next_begin_offset;
    }
}

fn number(m: &actormq::client::ReceivedMessage) -> usize {
    std::str::from_utf8(&m.body).unwrap()[2..].parse().unwrap()
}

/// Client `client`'s heartbeat: a push consumer of `GROUP` subscribed to `TOPIC` with `tags`.
fn heartbeat(client: &str, tags: &str, sub_version: i64) -> RemotingCommand {
    let sub = Subscribe {
        topic: TOPIC,
        expression_type: "TAG",
        expression: tags,
        sub_version,
    };
    consumer_heartbeat(client, GROUP, &[sub])
}

fn numbers_with_tags(n: usize, tags: &[usize]) -> Vec<usize> {
    (0..n).filter(|i| tags.contains(&(i % 3))).collect()
}

/// Waits until push pulls at `sub_version` return exactly `want` (registrations travel from the
/// client manager to the pull processor as a message).
async fn expect(client: &Client, sub_version: i64, want: Vec<usize>) {
    let what = format!("push pulls at subVersion {sub_version} to return {want:?}");
    common::wait_until_async(Duration::from_secs(5), &what, || async {
        pulled(client, sub_version).await == want
    })
    .await;
}

#[tokio::test]
async fn a_push_consumers_pulls_are_filtered_by_its_groups_subscriptions() {
    let b = TestBroker::start();
    let client = b.client().await;
    send(&client, 0, 12).await;
    // Nothing registered: every record (the client filters).
    assert_eq!(pulled(&client, 5).await, (0..12).collect::<Vec<_>>());

    let r = client
        .request(heartbeat("c1", "T1 || T2", 5))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    expect(&client, 5, numbers_with_tags(12, &[1, 2])).await;
    // The Go client's pulls say subVersion 0: filtered the same.
    assert_eq!(pulled(&client, 0).await, numbers_with_tags(12, &[1, 2]));
    // A subscription newer than any heard of: unfiltered, not the old tags.
    assert_eq!(pulled(&client, 6).await, (0..12).collect::<Vec<_>>());

    // A second client of the group subscribing differently: what either takes.
    client.request(heartbeat("c2", "T0", 4)).await.unwrap();
    expect(&client, 5, (0..12).collect()).await;
    // It leaves: the first one's tags alone again.
    let unregister = RemotingCommand::request(request_code::UNREGISTER_CLIENT, 0)
        .with_ext("clientID", "c2")
        .with_ext("consumerGroup", GROUP);
    let r = client.request(unregister).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    expect(&client, 5, numbers_with_tags(12, &[1, 2])).await;

    // c1 subscribes to everything.
    client.request(heartbeat("c1", "*", 7)).await.unwrap();
    expect(&client, 7, (0..12).collect()).await;
}

/// A long poll of a group subscribed to T1 stays parked through a T0 record and is answered
/// with the T1 one (Java's `PullRequestHoldService` checks each arrival against the filter).
#[tokio::test]
async fn a_parked_push_pull_is_not_woken_by_other_tags() {
    let b = TestBroker::start();
    let client = b.client().await;
    send(&client, 0, 3).await;
    client.request(heartbeat("c1", "T1", 5)).await.unwrap();
    expect(&client, 5, vec![1]).await;

    let puller = b.client().await;
    let parked = tokio::spawn(async move {
        puller
            .request(push_pull(3, 5, Some(Duration::from_secs(10))))
            .await
            .unwrap()
    });
    // Message 3 (T0) first, then 4 (T1).
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&client, 3, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!parked.is_finished(), "woken by a record of another tag");
    send(&client, 4, 5).await;
    let resp = tokio::time::timeout(Duration::from_secs(5), parked)
        .await
        .expect("the T1 record wakes the pull")
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
    let r = parse_pull_response(&resp).unwrap();
    assert_eq!(r.messages.iter().map(number).collect::<Vec<_>>(), [4]);
}
