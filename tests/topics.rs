//! Topic administration: create/update, list, delete with RocketMQ's codes, persisted across a
//! restart, visible to the name-server role; GET_BROKER_CONFIG; topic stats (202); consumer-group
//! create/update (200); and the `actormq topic` CLI.

mod common;

use std::process::Command;

use actormq::client::{Client, OutgoingMessage};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::topic::TopicTable;
use common::TestBroker;

fn create(topic: &str, read: i32, write: i32, perm: i32) -> RemotingCommand {
    RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
        .with_ext("topic", topic)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", read)
        .with_ext("writeQueueNums", write)
        .with_ext("perm", perm)
        .with_ext("topicFilterType", "SINGLE_TAG")
}

async fn table(client: &Client) -> TopicTable {
    let resp = client
        .request(RemotingCommand::request(
            request_code::GET_ALL_TOPIC_CONFIG,
            0,
        ))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    serde_json::from_slice(&resp.body).unwrap()
}

#[tokio::test]
async fn create_list_delete_and_restart() {
    let mut broker = TestBroker::start_with("[broker]\nauto_create_topic = false");
    let client = broker.client().await;
    assert_eq!(
        client
            .request(create("Orders", 4, 4, 6))
            .await
            .unwrap()
            .code,
        response_code::SUCCESS
    );
    assert_eq!(
        client
            .request(create("ReadOnly", 2, 2, 4))
            .await
            .unwrap()
            .code,
        response_code::SUCCESS
    );
    let bad = client.request(create("bad topic", 4, 4, 6)).await.unwrap();
    assert_eq!(bad.code, response_code::INVALID_PARAMETER);

    // Created topics take sends even with auto-create off; a read-only one refuses them.
    let r = client
        .send(&OutgoingMessage {
            queue_id: 3,
            ..OutgoingMessage::new("Orders", "x")
        })
        .await
        .unwrap();
    assert_eq!(r.queue_id, 3);
    assert!(client
        .send(&OutgoingMessage::new("ReadOnly", "x"))
        .await
        .is_err());

    let t = table(&client).await;
    assert_eq!(t.get("Orders").unwrap().write_queue_nums, 4);
    assert_eq!(t.get("ReadOnly").unwrap().perm, 4);

    let ns = Client::connect(broker.namesrv_addr.as_deref().unwrap())
        .await
        .unwrap();
    let route = RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC, 0)
        .with_ext("topic", "Orders");
    assert_eq!(
        ns.request(route.clone()).await.unwrap().code,
        response_code::SUCCESS
    );

    let delete = RemotingCommand::request(request_code::DELETE_TOPIC_IN_BROKER, 0)
        .with_ext("topic", "ReadOnly");
    assert_eq!(
        client.request(delete).await.unwrap().code,
        response_code::SUCCESS
    );
    assert!(table(&client).await.get("ReadOnly").is_none());

    let config = client
        .request(RemotingCommand::request(request_code::GET_BROKER_CONFIG, 0))
        .await
        .unwrap();
    let text = String::from_utf8(config.body.to_vec()).unwrap();
    assert!(
        text.contains("brokerName=broker-a\n") && text.contains("autoCreateTopicEnable=false\n"),
        "{text}"
    );

    drop((client, ns));
    broker.stop();
    broker.restart();
    let t = table(&broker.client().await).await;
    assert!(
        t.get("Orders").is_some() && t.get("ReadOnly").is_none(),
        "persisted in topics.json"
    );
}

/// `actormq topic create|list|describe|delete` against a real broker.
#[tokio::test]
async fn topic_cli() {
    let broker = TestBroker::start();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_actormq"))
            .arg("--broker")
            .arg(&broker.addr)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    cli(&["topic", "create", "--topic", "CliTopic", "--queues", "3"]);
    assert!(cli(&["topic", "list"]).contains("CliTopic"));
    broker
        .client()
        .await
        .send(&OutgoingMessage {
            queue_id: 2,
            ..OutgoingMessage::new("CliTopic", "x")
        })
        .await
        .unwrap();
    let described = cli(&["topic", "describe", "--topic", "CliTopic"]);
    assert!(described.contains("queue 2: offsets 0..1"), "{described}");
    cli(&["topic", "delete", "--topic", "CliTopic"]);
    assert!(!cli(&["topic", "list"]).contains("CliTopic"));
}

/// `broker.auto_create_topic_limit`: once the broker holds that many topics, a send to an unknown
/// topic is refused with TOPIC_NOT_EXIST and a remark naming the limit (nothing is created, also
/// not after a restart), while an admin-created topic is still created and takes sends.
#[tokio::test]
async fn auto_creation_stops_at_the_topic_limit() {
    // The broker's own system topics already reach a limit of 1.
    let mut broker = TestBroker::start_with("[broker]\nauto_create_topic_limit = 1");
    let client = broker.client().await;
    let held = table(&client).await.topic_config_table.len();
    assert!(held >= 1, "system topics exist");
    let e = client
        .send(&OutgoingMessage::new("Flood1", "x"))
        .await
        .unwrap_err();
    match e {
        actormq::client::ClientError::Broker { code, remark, .. } => {
            assert_eq!(code, response_code::TOPIC_NOT_EXIST);
            assert!(
                remark.contains("topic[Flood1] not exist")
                    && remark.contains("broker.auto_create_topic_limit = 1"),
                "{remark}"
            );
        }
        other => panic!("expected TOPIC_NOT_EXIST, got {other}"),
    }
    assert_eq!(
        client.request(create("Admin", 2, 2, 6)).await.unwrap().code,
        response_code::SUCCESS
    );
    client
        .send(&OutgoingMessage::new("Admin", "x"))
        .await
        .unwrap();
    broker.stop();
    broker.restart();
    let client = broker.client().await;
    let t = table(&client).await;
    assert!(t.get("Flood1").is_none());
    assert!(t.get("Admin").is_some());
    assert_eq!(t.topic_config_table.len(), held + 1);
}

/// GET_TOPIC_STATS_INFO (202): every queue of the topic (max of read and write queues), keyed by
/// the MessageQueue object as fastjson writes it, with min/max offsets and the last store time;
/// an unknown topic is TOPIC_NOT_EXIST with Java's remark.
#[tokio::test]
async fn topic_stats_list_every_queue() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let r = client.request(create("Stats", 2, 3, 6)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    let mut msg = OutgoingMessage::new("Stats", "x");
    msg.queue_id = 1;
    client.send(&msg).await.unwrap();
    client.send(&msg).await.unwrap();
    let stats = |topic: &str| {
        RemotingCommand::request(request_code::GET_TOPIC_STATS_INFO, 0).with_ext("topic", topic)
    };
    let r = client.request(stats("Stats")).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let body = String::from_utf8(r.body.to_vec()).unwrap();
    for q in 0..3 {
        let key = format!("{{\"brokerName\":\"broker-a\",\"queueId\":{q},\"topic\":\"Stats\"}}:");
        assert!(body.contains(&key), "queue {q} missing: {body}");
    }
    assert!(!body.contains("\"queueId\":3"), "{body}");
    assert!(body.contains("\"maxOffset\":2,\"minOffset\":0"), "{body}");
    let r = client.request(stats("Nope")).await.unwrap();
    assert_eq!(r.code, response_code::TOPIC_NOT_EXIST);
    assert_eq!(r.remark.as_deref(), Some("topic[Nope] not exist"));
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200, `mqadmin updateSubGroup`): the body's settings
/// replace the group's, unknown fields are kept, the table is persisted across a restart; a bad
/// group name or body is INVALID_PARAMETER.
#[tokio::test]
async fn subscription_groups_are_created_and_updated() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    let update = |body: &str| {
        RemotingCommand::request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 0)
            .with_body(body.to_string().into())
    };
    let body = r#"{"groupName":"orders_cg","consumeEnable":true,"retryQueueNums":2,"retryMaxTimes":3,"consumeTimeoutMinute":15,"groupSysFlag":0}"#;
    let r = client.request(update(body)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    for bad in [r#"{"groupName":"bad group"}"#, "not json"] {
        let r = client.request(update(bad)).await.unwrap();
        assert_eq!(
            r.code,
            response_code::INVALID_PARAMETER,
            "{bad}: {:?}",
            r.remark
        );
    }
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    broker.restart();
    let client = broker.client().await;
    let all = RemotingCommand::request(request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, 0);
    let r = client.request(all).await.unwrap();
    let table: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let g = &table["subscriptionGroupTable"]["orders_cg"];
    assert_eq!(g["retryMaxTimes"], 3, "{table}");
    assert_eq!(g["retryQueueNums"], 2, "{table}");
    assert_eq!(g["consumeTimeoutMinute"], 15, "kept as sent: {table}");
    assert!(table["subscriptionGroupTable"].get("bad group").is_none());
}

async fn delete_topic(client: &Client, topic: &str) {
    let delete =
        RemotingCommand::request(request_code::DELETE_TOPIC_IN_BROKER, 0).with_ext("topic", topic);
    let resp = client.request(delete).await.unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
}

async fn send_bodies(client: &Client, topic: &str, bodies: &[&str]) {
    for body in bodies {
        let msg = OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new(topic, body.to_string())
        };
        client.send(&msg).await.unwrap();
    }
}

async fn bodies(client: &Client, topic: &str) -> Vec<String> {
    let min = client.min_offset(topic, 0).await.unwrap();
    let mut req = actormq::client::PullRequest::new("Reader", topic, 0, min);
    req.max_msgs = 32;
    let r = client.pull(&req).await.unwrap();
    let found = r
        .messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned());
    found.collect()
}

/// Java's `deleteTopicInBroker`: a deleted topic's messages are out of reach and its consumer
/// offsets gone, also after a restart (the commit log still holds the records), and a topic of
/// the same name created again holds only what is sent to it afterwards.
#[tokio::test]
async fn a_deleted_topic_loses_its_messages_and_offsets_and_starts_empty_again() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    send_bodies(&client, "Doomed", &["a", "b", "c"]).await;
    client.create_subscription_group("G").await.unwrap();
    client
        .update_consumer_offset("G", "Doomed", 0, 2)
        .await
        .unwrap();
    // The oneway commit has landed once a query sees it.
    common::wait_until_async(
        std::time::Duration::from_secs(5),
        "offset committed",
        || async {
            client
                .query_consumer_offset("G", "Doomed", 0)
                .await
                .unwrap()
                == Some(2)
        },
    )
    .await;

    delete_topic(&client, "Doomed").await;
    assert!(table(&client).await.get("Doomed").is_none());
    let (min, max) = (
        client.min_offset("Doomed", 0).await.unwrap(),
        client.max_offset("Doomed", 0).await.unwrap(),
    );
    assert_eq!((min, max), (3, 3), "emptied, the next offset kept");
    assert_eq!(
        client
            .query_consumer_offset("G", "Doomed", 0)
            .await
            .unwrap(),
        None
    );

    // Created again (by a send): only the new message.
    send_bodies(&client, "Doomed", &["d"]).await;
    assert_eq!(bodies(&client, "Doomed").await, ["d"]);

    // A clean restart and a crash restart (which scans every record) bring nothing back.
    drop(client);
    broker.stop();
    broker.restart();
    let client = broker.client().await;
    assert_eq!(bodies(&client, "Doomed").await, ["d"]);
    drop(client);
    broker.kill9();
    broker.restart();
    let client = broker.client().await;
    assert_eq!(bodies(&client, "Doomed").await, ["d"]);
    send_bodies(&client, "Doomed", &["e"]).await;
    assert_eq!(bodies(&client, "Doomed").await, ["d", "e"]);
    assert_eq!(client.max_offset("Doomed", 0).await.unwrap(), 5);
}

/// `mqadmin cleanUnusedTopic` (316) empties the queues of topics no longer in the topic table
/// (here: taken out of `topics.json` while the broker was down) and spares the rest;
/// `mqadmin cleanExpiredCQ` (306) is answered SUCCESS.
#[tokio::test]
async fn clean_unused_topic_empties_the_queues_of_topics_not_in_the_table() {
    let mut broker = TestBroker::start_with("[broker]\nauto_create_topic = false");
    let client = broker.client().await;
    for topic in ["Kept", "Unused"] {
        let resp = client.request(create(topic, 1, 1, 6)).await.unwrap();
        assert_eq!(resp.code, response_code::SUCCESS);
        send_bodies(&client, topic, &["x"]).await;
    }
    drop(client);
    broker.stop();
    let path = broker.root().join("config/topics.json");
    let mut topics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let table = topics["topicConfigTable"].as_object_mut().unwrap();
    assert!(table.remove("Unused").is_some());
    std::fs::write(&path, topics.to_string()).unwrap();
    broker.restart();
    let client = broker.client().await;
    let span = |topic: &'static str| {
        let client = &client;
        async move {
            let min = client.min_offset(topic, 0).await.unwrap();
            (min, client.max_offset(topic, 0).await.unwrap())
        }
    };
    assert_eq!(span("Unused").await, (0, 1));
    for code in [
        request_code::CLEAN_UNUSED_TOPIC,
        request_code::CLEAN_EXPIRED_CONSUMEQUEUE,
    ] {
        let resp = client
            .request(RemotingCommand::request(code, 0))
            .await
            .unwrap();
        assert_eq!(resp.code, response_code::SUCCESS, "{code}");
    }
    assert_eq!(span("Unused").await, (1, 1), "emptied");
    assert_eq!(span("Kept").await, (0, 1));
    assert_eq!(bodies(&client, "Kept").await, ["x"]);
}
