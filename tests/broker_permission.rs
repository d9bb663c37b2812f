//! The broker's permission (`brokerPermission`, `broker.permission`) and UPDATE_BROKER_CONFIG (25):
//! how an operator drains a broker without stopping it, as with a Java broker. Read-only: the name
//! servers route no sends to it (registered perms masked: a topic's 6 and TBW102's 7 become 4),
//! ordered topics and send-backs refuse sends, other sends arriving on stale routes are taken,
//! pulls go on. Write-only: pulls are refused (`forbiddenType` 1). Also the stock `mqadmin
//! updateBrokerConfig` / `getBrokerConfig` against it (with `ACTORMQ_JAVA_SERVER`), and the
//! refusals of keys that cannot change at runtime.

mod common;

use std::time::Duration;

use actormq::client::{Client, ClientError, OutgoingMessage, PullRequest};
use actormq::cluster::route_table::TopicRouteData;
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::{wait_until_async, TestBroker};

async fn update_config(client: &Client, body: &str) -> RemotingCommand {
    let cmd = RemotingCommand::request(request_code::UPDATE_BROKER_CONFIG, 0)
        .with_body(body.as_bytes().to_vec().into());
    client.request(cmd).await.unwrap()
}

async fn broker_config(client: &Client) -> String {
    let cmd = RemotingCommand::request(request_code::GET_BROKER_CONFIG, 0);
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    String::from_utf8(r.body.to_vec()).unwrap()
}

async fn create_topic(client: &Client, topic: &str, order: bool) {
    let cmd = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
        .with_ext("topic", topic)
        .with_ext("readQueueNums", 2)
        .with_ext("writeQueueNums", 2)
        .with_ext("perm", 6)
        .with_ext("order", order)
        .with_ext("topicFilterType", "SINGLE_TAG");
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
}

/// The perm `ns` routes `topic` with on this broker.
async fn routed_perm(ns: &Client, topic: &str) -> Option<i32> {
    let cmd =
        RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC, 0).with_ext("topic", topic);
    let resp = ns.request(cmd).await.unwrap();
    if resp.code != response_code::SUCCESS {
        return None;
    }
    let route = TopicRouteData::decode(&resp.body).unwrap();
    route.queue_datas.first().map(|q| q.perm)
}

async fn wait_for_perm(ns: &Client, topic: &str, perm: i32) {
    wait_until_async(
        Duration::from_secs(10),
        &format!("{topic} routed with perm {perm}"),
        || async { routed_perm(ns, topic).await == Some(perm) },
    )
    .await;
}

fn send_refusal(r: Result<actormq::client::SendResult, ClientError>) -> (i32, String) {
    match r {
        Err(ClientError::Broker { code, remark, .. }) => (code, remark),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A consumed message sent back (36) as a push consumer does.
async fn send_back(client: &Client, offset: i64) -> RemotingCommand {
    let cmd = RemotingCommand::request(request_code::CONSUMER_SEND_MSG_BACK, 0)
        .with_ext("offset", offset)
        .with_ext("group", "cg")
        .with_ext("delayLevel", 0)
        .with_ext("originTopic", "Drain")
        .with_ext("unitMode", "false");
    client.request(cmd).await.unwrap()
}

#[tokio::test]
async fn a_read_only_broker_is_drained_and_a_write_only_one_refuses_pulls() {
    // The broker's own name-server role routes it (the one-node default).
    let b = TestBroker::start();
    let client = b.client().await;
    let ns = Client::connect(b.namesrv_addr.as_deref().unwrap())
        .await
        .unwrap();
    create_topic(&client, "Drain", false).await;
    create_topic(&client, "DrainOrdered", true).await;
    client
        .send(&OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("Drain", "before")
        })
        .await
        .unwrap();
    assert_eq!(routed_perm(&ns, "Drain").await, Some(6));
    assert_eq!(routed_perm(&ns, "TBW102").await, Some(7));
    assert!(broker_config(&client)
        .await
        .contains("brokerPermission=6\n"));

    // Read only.
    let r = update_config(&client, "brokerPermission=4\n").await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert!(broker_config(&client)
        .await
        .contains("brokerPermission=4\n"));
    wait_for_perm(&ns, "Drain", 4).await;
    wait_for_perm(&ns, "TBW102", 4).await;
    // A send on a stale route is taken; an ordered topic's is not.
    client
        .send(&OutgoingMessage::new("Drain", "stale route"))
        .await
        .unwrap();
    let (code, remark) = send_refusal(
        client
            .send(&OutgoingMessage::new("DrainOrdered", "x"))
            .await,
    );
    assert_eq!(code, response_code::NO_PERMISSION);
    assert_eq!(remark, "the broker[127.0.0.1] sending message is forbidden");
    // The permission is checked before the record is looked up (any offset does).
    let r = send_back(&client, 0).await;
    assert_eq!(r.code, response_code::NO_PERMISSION, "{:?}", r.remark);
    // The backlog is still read.
    let pulled = client
        .pull(&PullRequest::new("cg", "Drain", 0, 0))
        .await
        .unwrap();
    assert_eq!(pulled.code, response_code::SUCCESS, "{}", pulled.status);

    // Write only: pulls are refused, BROKER_FORBIDDEN.
    let r = update_config(&client, "brokerPermission=2").await;
    assert_eq!(r.code, response_code::SUCCESS);
    let pull = PullRequest::new("cg", "Drain", 0, 0).to_command();
    let refused = wait_for_pull_refusal(&client, pull).await;
    assert_eq!(
        refused.remark.as_deref(),
        Some("the broker[127.0.0.1] pulling message is forbidden")
    );
    assert_eq!(refused.ext("forbiddenType"), Some("1"));
    wait_for_perm(&ns, "Drain", 2).await;

    // Back to read-write.
    let r = update_config(&client, "brokerPermission=6").await;
    assert_eq!(r.code, response_code::SUCCESS);
    wait_for_perm(&ns, "Drain", 6).await;
    wait_for_perm(&ns, "TBW102", 7).await;
    client
        .send(&OutgoingMessage::new("DrainOrdered", "again"))
        .await
        .unwrap();
    let pulled = client
        .pull(&PullRequest::new("cg", "Drain", 0, 0))
        .await
        .unwrap();
    assert_eq!(pulled.code, response_code::SUCCESS, "{}", pulled.status);
}

async fn wait_for_pull_refusal(client: &Client, pull: RemotingCommand) -> RemotingCommand {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = client.request(pull.clone()).await.unwrap();
        if r.code == response_code::NO_PERMISSION {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "pulls not refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// As Java rewrites its broker.conf: the new permission is written to the configuration file
/// (nothing else in it changes), so a drained broker is still drained after a restart.
#[tokio::test]
async fn a_new_permission_is_written_back_and_survives_a_restart() {
    let mut b = TestBroker::start();
    let client = b.client().await;
    let before = std::fs::read_to_string(b.config_path()).unwrap();
    let r = update_config(&client, "brokerPermission=4").await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let after = std::fs::read_to_string(b.config_path()).unwrap();
    let parse = |text: &str| actormq::config::BrokerConfig::parse(text, &b.config_path()).unwrap();
    let mut expected = parse(&before);
    expected.broker.permission = parse("[broker]\npermission = 4\n").broker.permission;
    assert_eq!(parse(&after), expected, "{after}");
    let others: Vec<&str> = after.lines().filter(|l| *l != "permission = 4").collect();
    assert_eq!(
        others,
        before.lines().collect::<Vec<_>>(),
        "only the key is added"
    );

    b.stop();
    b.restart_on_its_config();
    let client = b.client().await;
    assert!(broker_config(&client)
        .await
        .contains("brokerPermission=4\n"));
}

#[tokio::test]
async fn keys_that_cannot_change_at_runtime_are_refused_whole() {
    let b = TestBroker::start();
    let client = b.client().await;
    let r = update_config(&client, "flushDiskType=SYNC_FLUSH\nbrokerPermission=4\n").await;
    assert_eq!(r.code, response_code::NO_PERMISSION);
    assert!(
        r.remark
            .as_deref()
            .unwrap()
            .starts_with("Can not update config at runtime: \"flushDiskType\""),
        "{:?}",
        r.remark
    );
    let r = update_config(&client, "rocketmqHome=/tmp\n").await;
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (
            response_code::NO_PERMISSION,
            Some("Can not update config in black list.")
        )
    );
    let r = update_config(&client, "brokerPermission=rw\n").await;
    assert_eq!(r.code, response_code::SYSTEM_ERROR, "{:?}", r.remark);
    // Nothing was applied.
    assert!(broker_config(&client)
        .await
        .contains("brokerPermission=6\n"));
    // An empty update is answered SUCCESS, as Java.
    assert_eq!(
        update_config(&client, "").await.code,
        response_code::SUCCESS
    );
}

/// A broker registered with a name-server-only node re-registers at once on a change (its next
/// periodic registration is a minute away); one configured read-only registers read-only.
#[tokio::test]
async fn name_servers_hear_of_a_change_at_once_and_of_the_configured_permission() {
    let ns_node = TestBroker::start_namesrv_only("");
    let ns = Client::connect(&ns_node.addr).await.unwrap();
    let broker = |name: &str, extra: &str| {
        TestBroker::start_with(&format!(
            "[broker]\nname = \"{name}\"\n{extra}\n\
             [cluster]\nnamesrv_addr = [\"{}\"]\nregister_interval_ms = 60000\n\
             [namesrv]\nenabled = false",
            ns_node.addr
        ))
    };
    let a = broker("broker-a", "");
    let client = a.client().await;
    create_topic(&client, "Registered", false).await;
    wait_for_perm(&ns, "Registered", 6).await;
    assert_eq!(
        update_config(&client, "brokerPermission=4").await.code,
        response_code::SUCCESS
    );
    wait_for_perm(&ns, "Registered", 4).await;

    let ro = broker("broker-ro", "permission = 4");
    let ro_client = ro.client().await;
    create_topic(&ro_client, "ReadOnly", false).await;
    wait_for_perm(&ns, "ReadOnly", 4).await;
    assert!(broker_config(&ro_client)
        .await
        .contains("brokerPermission=4\n"));
}

/// The stock `mqadmin updateBrokerConfig` and `getBrokerConfig` (rocketmq-tools 5.3.3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_mqadmin_updates_the_permission() {
    let Some(lib) = common::java_server::server_lib("broker_permission") else {
        return;
    };
    let b = TestBroker::start();
    let namesrv = b.namesrv_addr.clone().unwrap();
    let out = common::java_server::mqadmin(
        &lib,
        &namesrv,
        &[
            "updateBrokerConfig",
            "-b",
            &b.addr,
            "-k",
            "brokerPermission",
            "-v",
            "4",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("update broker config success"), "{text}");
    let ns = Client::connect(&namesrv).await.unwrap();
    wait_for_perm(&ns, "TBW102", 4).await;
    let out = common::java_server::mqadmin(&lib, &namesrv, &["getBrokerConfig", "-b", &b.addr]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("brokerPermission"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.trim_end().ends_with('4'), "{line}");
}
