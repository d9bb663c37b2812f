//! The client registry against the real broker: GET_CONSUMER_CONNECTION_LIST (203) and
//! GET_PRODUCER_CONNECTION_LIST (204) name each client with its address, language and version; a
//! consumer whose connection closes leaves GET_CONSUMER_LIST_BY_GROUP (38) at once instead of 120 s
//! later; and NOTIFY_CONSUMER_IDS_CHANGED (40) reaches a group's consumers when one joins or
//! leaves, so they rebalance without waiting for their timer; QUERY_TOPIC_CONSUME_BY_WHO (300)
//! names a topic's online subscribers and the groups with offsets on it. The stock `mqadmin
//! consumerConnection` / `producerConnection` / `topicList -c` run in `tests/query.rs`.

mod common;

use std::time::Duration;

use actormq::client::{Client, OutgoingMessage};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::TestBroker;
use serde_json::{json, Value};
use tokio::sync::mpsc::Receiver;

/// How long a push may take to arrive.
const PUSH_WAIT: Duration = Duration::from_secs(5);

/// A Java push consumer's heartbeat for `group` (subscribed to `topic`, all tags), also producing
/// for `producer_group` if given, sent as a Java 5.3 client would (language JAVA, version 479).
fn heartbeat(
    client_id: &str,
    group: &str,
    topic: &str,
    producer_group: Option<&str>,
) -> RemotingCommand {
    let from = "CONSUME_FROM_LAST_OFFSET";
    common::java_consumer_heartbeat(client_id, group, &[topic], from, producer_group)
}

/// A connection that heartbeated as `client_id`, with the broker's own requests to it readable.
async fn consumer(
    broker: &TestBroker,
    client_id: &str,
    group: &str,
    producer_group: Option<&str>,
) -> (Client, Receiver<RemotingCommand>) {
    let mut client = broker.client().await;
    let pushes = client.take_pushes().expect("first take");
    let r = client
        .request(heartbeat(client_id, group, "T", producer_group))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    (client, pushes)
}

/// The consumer ids GET_CONSUMER_LIST_BY_GROUP answers (none on an error).
async fn consumer_ids(client: &Client, group: &str) -> Vec<String> {
    let cmd = RemotingCommand::request(request_code::GET_CONSUMER_LIST_BY_GROUP, 0)
        .with_ext("consumerGroup", group);
    let r = client.request(cmd).await.unwrap();
    if r.code != response_code::SUCCESS {
        return Vec::new();
    }
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    serde_json::from_value(v["consumerIdList"].clone()).unwrap()
}

/// Asks `probe` every 20 ms, for up to 2 s, until it answers `want`; its last answer (which the
/// caller asserts on, so a timeout shows what was listed instead).
async fn poll_for<F, Fut>(want: &[&str], mut probe: F) -> Vec<String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let last = probe().await;
        if last == want || std::time::Instant::now() >= deadline {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next push on a connection, within [`PUSH_WAIT`].
async fn next_push(pushes: &mut Receiver<RemotingCommand>) -> RemotingCommand {
    tokio::time::timeout(PUSH_WAIT, pushes.recv())
        .await
        .expect("a push in time")
        .expect("connection open")
}

fn assert_notify(cmd: &RemotingCommand, group: &str) {
    assert_eq!(cmd.code, request_code::NOTIFY_CONSUMER_IDS_CHANGED);
    assert!(cmd.is_oneway());
    assert_eq!(cmd.ext("consumerGroup"), Some(group));
}

/// 203 lists both consumers of a group with the address the broker sees, the heartbeat's language
/// and version, and the group's consume settings and subscription; 204 lists both producers.
#[tokio::test]
async fn connection_lists_name_every_client() {
    let broker = TestBroker::start();
    let (a, _pa) = consumer(&broker, "client-a", "cg", Some("pg")).await;
    let (b, _pb) = consumer(&broker, "client-b", "cg", Some("pg")).await;

    let cmd = RemotingCommand::request(request_code::GET_CONSUMER_CONNECTION_LIST, 0)
        .with_ext("consumerGroup", "cg");
    let r = a.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    let expected_set = json!([
        {"clientAddr": a.local_addr().to_string(), "clientId": "client-a", "language": "JAVA", "version": 479},
        {"clientAddr": b.local_addr().to_string(), "clientId": "client-b", "language": "JAVA", "version": 479},
    ]);
    assert_eq!(body["connectionSet"], expected_set, "{body}");
    assert_eq!(body["consumeType"], "CONSUME_PASSIVELY");
    assert_eq!(body["messageModel"], "CLUSTERING");
    assert_eq!(body["consumeFromWhere"], "CONSUME_FROM_LAST_OFFSET");
    let sub = &body["subscriptionTable"]["T"];
    assert_eq!(
        (&sub["topic"], &sub["subString"]),
        (&json!("T"), &json!("*")),
        "{body}"
    );
    assert_eq!(sub["subVersion"], 1_700_000_000_000i64);

    let cmd = RemotingCommand::request(request_code::GET_PRODUCER_CONNECTION_LIST, 0)
        .with_ext("producerGroup", "pg");
    let r = a.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, json!({"connectionSet": expected_set}));
}

/// Groups nobody is in: 203 answers CONSUMER_NOT_ONLINE and 204 SYSTEM_ERROR, with Java's remarks;
/// a request without the group header is Java's null-field SYSTEM_ERROR.
#[tokio::test]
async fn unknown_groups_are_refused_as_java_does() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let cmd = RemotingCommand::request(request_code::GET_CONSUMER_CONNECTION_LIST, 0)
        .with_ext("consumerGroup", "nobody");
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::CONSUMER_NOT_ONLINE);
    assert_eq!(r.code, 206);
    assert_eq!(
        r.remark.as_deref(),
        Some("the consumer group[nobody] not online")
    );

    let cmd = RemotingCommand::request(request_code::GET_PRODUCER_CONNECTION_LIST, 0)
        .with_ext("producerGroup", "nobody");
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("the producer group[nobody] not exist")
    );

    let r = client
        .request(RemotingCommand::request(
            request_code::GET_CONSUMER_CONNECTION_LIST,
            0,
        ))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR);
    assert!(r.remark.unwrap_or_default().contains("consumerGroup"));
}

/// A consumer whose connection goes away without unregistering (a killed process) leaves the
/// group's consumer list within about a second, and the consumer left is told to rebalance.
#[tokio::test]
async fn a_consumer_whose_connection_closes_leaves_at_once() {
    let broker = TestBroker::start();
    let (a, mut pushes_a) = consumer(&broker, "client-a", "cg", None).await;
    let (b, _pb) = consumer(&broker, "client-b", "cg", None).await;
    assert_eq!(consumer_ids(&a, "cg").await, ["client-a", "client-b"]);
    // a's own registration and b's joining.
    assert_notify(&next_push(&mut pushes_a).await, "cg");
    assert_notify(&next_push(&mut pushes_a).await, "cg");

    drop(b);
    let last = poll_for(&["client-a"], || consumer_ids(&a, "cg")).await;
    assert_eq!(
        last,
        ["client-a"],
        "the closed consumer is still listed after 2 s"
    );
    // Once swept (within the sweep interval), the survivor is told.
    assert_notify(&next_push(&mut pushes_a).await, "cg");
}

/// NOTIFY_CONSUMER_IDS_CHANGED (40): a second consumer joining makes the first one receive it
/// (oneway, header `consumerGroup`); a repeated heartbeat changes nothing and pushes nothing; an
/// UNREGISTER_CLIENT (35) of the second tells the first again.
#[tokio::test]
async fn a_joining_or_leaving_consumer_makes_the_others_rebalance() {
    let broker = TestBroker::start();
    let (a, mut pushes_a) = consumer(&broker, "client-a", "ng", None).await;
    // Java tells every consumer of the group, the newcomer included.
    assert_notify(&next_push(&mut pushes_a).await, "ng");

    let (b, mut pushes_b) = consumer(&broker, "client-b", "ng", None).await;
    assert_notify(&next_push(&mut pushes_a).await, "ng");
    assert_notify(&next_push(&mut pushes_b).await, "ng");

    // The broker writes a push before the answer to the heartbeat that caused it, so once the
    // answer is in, a push would be too.
    let r = a
        .request(heartbeat("client-a", "ng", "T", None))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    assert!(
        pushes_a.try_recv().is_err(),
        "a repeated heartbeat notified"
    );

    let unregister = RemotingCommand::request(request_code::UNREGISTER_CLIENT, 0)
        .with_ext("clientID", "client-b")
        .with_ext("consumerGroup", "ng");
    assert_eq!(
        b.request(unregister).await.unwrap().code,
        response_code::SUCCESS
    );
    assert_notify(&next_push(&mut pushes_a).await, "ng");
    assert_eq!(consumer_ids(&a, "ng").await, ["client-a"]);
}

/// Whether a push has reached `pushes` before the answer to a request on the same connection
/// (a repeated heartbeat, which changes nothing): the broker enqueues a push on a connection
/// before anything it does later, so what is not there then was not sent.
async fn pushed_yet(
    client: &Client,
    client_id: &str,
    group: &str,
    pushes: &mut Receiver<RemotingCommand>,
) -> bool {
    let r = client
        .request(heartbeat(client_id, group, "T", None))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    pushes.try_recv().is_ok()
}

/// As Java 5.x's `ConsumerManager`: a group with `notifyConsumerIdsChangedEnable` false
/// (`mqadmin updateSubGroup -n false`) is not told of its members' heartbeats and
/// unregistrations, nor is a broadcasting group; a member whose connection closes is told to every
/// group all the same (Java's channel-close event).
#[tokio::test]
async fn groups_that_turned_it_off_and_broadcasting_groups_are_not_told_of_joins() {
    let broker = TestBroker::start();
    let admin = broker.client().await;
    let quiet = json!({"groupName": "quiet", "notifyConsumerIdsChangedEnable": false});
    let create = RemotingCommand::request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 0)
        .with_body(quiet.to_string().into());
    assert_eq!(
        admin.request(create).await.unwrap().code,
        response_code::SUCCESS
    );

    let (a, mut pushes_a) = consumer(&broker, "client-a", "quiet", None).await;
    let (b, _pushes_b) = consumer(&broker, "client-b", "quiet", None).await;
    assert!(
        !pushed_yet(&a, "client-a", "quiet", &mut pushes_a).await,
        "a join was told"
    );
    let unregister = RemotingCommand::request(request_code::UNREGISTER_CLIENT, 0)
        .with_ext("clientID", "client-b")
        .with_ext("consumerGroup", "quiet");
    assert_eq!(
        b.request(unregister).await.unwrap().code,
        response_code::SUCCESS
    );
    assert!(
        !pushed_yet(&a, "client-a", "quiet", &mut pushes_a).await,
        "a leave was told"
    );

    // Broadcasting: each member reads every queue, nobody rebalances.
    let broadcast = |id: &str| {
        let hb = heartbeat(id, "bc", "T", None);
        let body = String::from_utf8(hb.body.to_vec()).unwrap();
        hb.with_body(body.replace("CLUSTERING", "BROADCASTING").into())
    };
    let mut c = broker.client().await;
    let mut pushes_c = c.take_pushes().unwrap();
    assert_eq!(
        c.request(broadcast("client-c")).await.unwrap().code,
        response_code::SUCCESS
    );
    let d = broker.client().await;
    assert_eq!(
        d.request(broadcast("client-d")).await.unwrap().code,
        response_code::SUCCESS
    );
    assert_eq!(
        c.request(broadcast("client-c")).await.unwrap().code,
        response_code::SUCCESS
    );
    assert!(
        pushes_c.try_recv().is_err(),
        "a broadcasting group was told of a join"
    );

    // A closed connection is told, whatever the group's setting.
    let (e, _pushes_e) = consumer(&broker, "client-e", "quiet", None).await;
    drop(e);
    assert_notify(&next_push(&mut pushes_a).await, "quiet");
}

/// A reply to a request message (SEND_REPLY_MESSAGE_V2, 325) names its requester in
/// `REPLY_TO_CLIENT`: the broker pushes it to that producer's connection
/// (PUSH_REPLY_MESSAGE_TO_CLIENT, 326, every header field in full, the body as sent) and stores it
/// in `<cluster>_REPLY_TOPIC`. A requester that is not connected, or a reply that names none, is
/// answered SYSTEM_ERROR with Java's remark (the reply is still stored, as Java does).
#[tokio::test]
async fn a_reply_is_pushed_to_its_requester_and_stored() {
    let broker = TestBroker::start();
    // The requester: a producer (heartbeat with a producer group only).
    let mut requester = broker.client().await;
    let mut pushes = requester.take_pushes().expect("first take");
    let hb = json!({"clientID": "req-1", "producerDataSet": [{"groupName": "rpg"}], "consumerDataSet": []});
    let hb = RemotingCommand::request(request_code::HEART_BEAT, 0).with_body(hb.to_string().into());
    assert_eq!(
        requester.request(hb).await.unwrap().code,
        response_code::SUCCESS
    );

    let replier = broker.client().await;
    let reply_topic = "DefaultCluster_REPLY_TOPIC";
    let reply = |to: Option<&str>, body: &'static str| {
        let mut msg = actormq::client::OutgoingMessage::new(reply_topic, body);
        msg.properties
            .push(("CORRELATION_ID".into(), "corr-1".into()));
        msg.properties.push(("MSG_TYPE".into(), "reply".into()));
        if let Some(to) = to {
            msg.properties.push(("REPLY_TO_CLIENT".into(), to.into()));
        }
        let mut cmd = actormq::client::producer_request(&msg);
        cmd.code = request_code::SEND_REPLY_MESSAGE_V2;
        cmd
    };
    let r = replier.request(reply(Some("req-1"), "pong")).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let push = next_push(&mut pushes).await;
    assert_eq!(push.code, request_code::PUSH_REPLY_MESSAGE_TO_CLIENT);
    assert_eq!(&push.body[..], b"pong");
    assert_eq!(push.ext("topic"), Some(reply_topic));
    assert_eq!(push.ext("producerGroup"), Some("actormq-cli"));
    let props = push.ext("properties").unwrap();
    assert!(
        props.contains("CORRELATION_ID\u{1}corr-1\u{2}"),
        "{props:?}"
    );
    assert!(props.contains("PUSH_REPLY_TIME\u{1}"), "{props:?}");

    let r = replier
        .request(reply(Some("nobody"), "lost"))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("push reply message fail, channel of <nobody> not found.")
    );
    let r = replier.request(reply(None, "anonymous")).await.unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("reply message properties[REPLY_TO_CLIENT] is null")
    );
    // All three are stored in the reply topic's one queue.
    let pulled = replier
        .pull(&actormq::client::PullRequest::new("g", reply_topic, 0, 0))
        .await
        .unwrap();
    let bodies: Vec<&[u8]> = pulled.messages.iter().map(|m| &m.body[..]).collect();
    assert_eq!(bodies, [&b"pong"[..], b"lost", b"anonymous"]);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), pushes.recv())
            .await
            .is_err(),
        "only the reply naming req-1 is pushed to it"
    );
}

/// The groups QUERY_TOPIC_CONSUME_BY_WHO (300) answers for `topic`, sorted.
async fn consume_by_who(client: &Client, topic: &str) -> Vec<String> {
    let cmd = RemotingCommand::request(request_code::QUERY_TOPIC_CONSUME_BY_WHO, 0)
        .with_ext("topic", topic);
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    let mut groups: Vec<String> = serde_json::from_value(body["groupList"].clone()).unwrap();
    groups.sort();
    groups
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300): a group online that subscribes to the topic and a group with
/// offsets on it (none of its consumers online) are listed; a group online on another topic, with
/// offsets there too, is not. Once the subscriber's connection closes, only the offsets name a
/// group. A topic nobody consumes gets an empty list; a request without `topic` is Java's
/// null-field SYSTEM_ERROR.
#[tokio::test]
async fn topic_consume_by_who_names_subscribers_and_groups_with_offsets() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let online = broker.client().await;
    let r = online
        .request(heartbeat("who-a", "who_online", "WhoTopic", None))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let r = client
        .request(heartbeat("who-b", "who_other", "OtherTopic", None))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    for (group, topic) in [("who_offsets", "WhoTopic"), ("who_other", "OtherTopic")] {
        // A commit needs its topic and its group (Java 5.2+).
        let created = OutgoingMessage::new(topic, "m");
        client.send(&created).await.unwrap();
        client.create_subscription_group(group).await.unwrap();
        client
            .update_consumer_offset(group, topic, 0, 3)
            .await
            .unwrap();
        // The commit is oneway: read it back so it has landed.
        let committed = client.query_consumer_offset(group, topic, 0).await.unwrap();
        assert_eq!(committed, Some(3));
    }

    assert_eq!(
        consume_by_who(&client, "WhoTopic").await,
        ["who_offsets", "who_online"]
    );
    assert_eq!(consume_by_who(&client, "OtherTopic").await, ["who_other"]);
    assert!(consume_by_who(&client, "NobodysTopic").await.is_empty());

    drop(online);
    let last = poll_for(&["who_offsets"], || consume_by_who(&client, "WhoTopic")).await;
    assert_eq!(
        last,
        ["who_offsets"],
        "the closed subscriber is still listed"
    );

    let cmd = RemotingCommand::request(request_code::QUERY_TOPIC_CONSUME_BY_WHO, 0);
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR);
    let remark = r.remark.unwrap_or_default();
    assert!(
        remark.contains("QueryTopicConsumeByWhoRequestHeader.topic"),
        "{remark}"
    );
}

/// GET_CONSUMER_RUNNING_INFO (307, `mqadmin consumerStatus`) is forwarded to the consumer named
/// (same header and body, the broker's own opaque) and the consumer's answer comes back as it
/// is; a consumer not online is SYSTEM_ERROR with Java's remark.
/// The consumer answers a request the broker forwarded to it with `body`; the admin who asked
/// (`asked`) gets SUCCESS with that body.
async fn answer_and_expect_it_back(
    consumer: &Client,
    forwarded: &RemotingCommand,
    body: &str,
    asked: tokio::task::JoinHandle<RemotingCommand>,
) {
    let answer = forwarded
        .response_to(response_code::SUCCESS, None)
        .with_body(body.as_bytes().to_vec().into());
    consumer.respond(answer).await.unwrap();
    let got = tokio::time::timeout(PUSH_WAIT, asked)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.code, response_code::SUCCESS, "{:?}", got.remark);
    assert_eq!(&got.body[..], body.as_bytes());
}

#[tokio::test]
async fn running_info_is_forwarded_to_the_consumer_and_its_answer_returned() {
    let broker = TestBroker::start();
    let (consumer_client, mut pushes) = consumer(&broker, "c-307", "g307", None).await;
    // The NOTIFY_CONSUMER_IDS_CHANGED of its own joining.
    assert_notify(&next_push(&mut pushes).await, "g307");
    let admin = std::sync::Arc::new(broker.client().await);
    let ask = |client_id: &str| {
        RemotingCommand::request(request_code::GET_CONSUMER_RUNNING_INFO, 0)
            .with_ext("consumerGroup", "g307")
            .with_ext("clientId", client_id)
            .with_ext("jstackEnable", "false")
    };
    let asked = tokio::spawn({
        let admin = std::sync::Arc::clone(&admin);
        let cmd = ask("c-307");
        async move { admin.request(cmd).await.unwrap() }
    });
    let forwarded = next_push(&mut pushes).await;
    assert_eq!(forwarded.code, request_code::GET_CONSUMER_RUNNING_INFO);
    assert!(!forwarded.is_oneway());
    assert_eq!(forwarded.ext("clientId"), Some("c-307"));
    assert_eq!(forwarded.ext("jstackEnable"), Some("false"));
    let info = r#"{"properties":{"consumeType":"CONSUME_PASSIVELY"},"subscriptionSet":[]}"#;
    answer_and_expect_it_back(&consumer_client, &forwarded, info, asked).await;

    let r = admin.request(ask("nobody")).await.unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("The Consumer <g307> <nobody> not online")
    );
}

/// CONSUME_MESSAGE_DIRECTLY (309, `mqadmin queryMsgById -d`): the record the offset msgId names
/// goes to the consumer as the body of the forwarded request, with this broker's `brokerName`; the
/// consumer's answer comes back; a msgId that names no record is SYSTEM_ERROR.
#[tokio::test]
async fn a_message_is_handed_to_one_consumer_directly() {
    let broker = TestBroker::start();
    let admin = std::sync::Arc::new(broker.client().await);
    let sent = admin
        .send(&actormq::client::OutgoingMessage::new("D309", "hello309"))
        .await
        .unwrap();
    let (consumer_client, mut pushes) = consumer(&broker, "c-309", "g309", None).await;
    assert_notify(&next_push(&mut pushes).await, "g309");
    let ask = |msg_id: &str| {
        RemotingCommand::request(request_code::CONSUME_MESSAGE_DIRECTLY, 0)
            .with_ext("consumerGroup", "g309")
            .with_ext("clientId", "c-309")
            .with_ext("msgId", msg_id)
            .with_ext("topic", "D309")
    };
    let asked = tokio::spawn({
        let admin = std::sync::Arc::clone(&admin);
        let cmd = ask(&sent.msg_id);
        async move { admin.request(cmd).await.unwrap() }
    });
    let forwarded = next_push(&mut pushes).await;
    assert_eq!(forwarded.code, request_code::CONSUME_MESSAGE_DIRECTLY);
    assert_eq!(forwarded.ext("brokerName"), Some("broker-a"));
    let records = actormq::client::decode_messages(&forwarded.body).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0].body[..], b"hello309");
    let result =
        r#"{"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,"spentTimeMills":1}"#;
    answer_and_expect_it_back(&consumer_client, &forwarded, result, asked).await;

    let nowhere = actormq::store::message::offset_msg_id(broker.addr.parse().unwrap(), 1 << 40);
    let r = admin.request(ask(&nowhere)).await.unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR, "{:?}", r.remark);
    let r = admin.request(ask("not-a-msg-id")).await.unwrap();
    assert_eq!(r.code, response_code::SYSTEM_ERROR, "{:?}", r.remark);
}
