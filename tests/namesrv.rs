//! The name-server role and client management: routes (with TBW102 while topics are auto-created),
//! cluster info, topic list, heartbeats, consumer lists and retry topics.

mod common;

use actormq::client::{Client, OutgoingMessage};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::TestBroker;

async fn json_of(client: &Client, cmd: RemotingCommand) -> (i32, serde_json::Value) {
    let resp = client.request(cmd).await.unwrap();
    let body = if resp.body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&resp.body).unwrap()
    };
    (resp.code, body)
}

fn route(topic: &str) -> RemotingCommand {
    RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC, 0).with_ext("topic", topic)
}

/// Routes name this broker under broker id "0" (quoted), with the topic's queue counts; TBW102 has a
/// route while auto-create is on; unknown topics get TOPIC_NOT_EXIST.
#[tokio::test]
async fn routes_point_at_this_broker() {
    let broker = TestBroker::start_with("[broker]\ndefault_topic_queue_nums = 4");
    let ns = Client::connect(broker.namesrv_addr.as_deref().unwrap())
        .await
        .unwrap();

    let (code, tbw) = json_of(&ns, route("TBW102")).await;
    assert_eq!(code, response_code::SUCCESS);
    assert_eq!(
        tbw["brokerDatas"][0]["brokerAddrs"]["0"],
        broker.addr.as_str()
    );
    assert_eq!(tbw["queueDatas"][0]["writeQueueNums"], 4);

    let (code, _) = json_of(&ns, route("NotYet")).await;
    assert_eq!(code, response_code::TOPIC_NOT_EXIST);

    broker
        .client()
        .await
        .send(&OutgoingMessage::new("NotYet", "x"))
        .await
        .unwrap();
    let (code, r) = json_of(&ns, route("NotYet")).await;
    assert_eq!(code, response_code::SUCCESS, "the new topic is routed");
    assert_eq!(r["queueDatas"][0]["readQueueNums"], 4);
    assert_eq!(r["queueDatas"][0]["perm"], 6);
    assert_eq!(r["brokerDatas"][0]["brokerName"], "broker-a");

    let (_, list) = json_of(
        &ns,
        RemotingCommand::request(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER, 0),
    )
    .await;
    let names: Vec<&str> = list["topicList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"NotYet") && names.contains(&"TBW102"),
        "{names:?}"
    );

    let (_, cluster) = json_of(
        &ns,
        RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO, 0),
    )
    .await;
    assert_eq!(cluster["clusterAddrTable"]["DefaultCluster"][0], "broker-a");
    assert_eq!(
        cluster["brokerAddrTable"]["broker-a"]["brokerAddrs"]["0"],
        broker.addr.as_str()
    );

    // The broker port does not serve name-server codes, as in RocketMQ.
    let (code, _) = json_of(&broker.client().await, route("NotYet")).await;
    assert_eq!(code, response_code::REQUEST_CODE_NOT_SUPPORTED);
}

/// Without auto-create there is no TBW102 route.
#[tokio::test]
async fn no_tbw102_route_without_auto_create() {
    let broker = TestBroker::start_with("[broker]\nauto_create_topic = false");
    let ns = Client::connect(broker.namesrv_addr.as_deref().unwrap())
        .await
        .unwrap();
    let (code, _) = json_of(&ns, route("TBW102")).await;
    assert_eq!(code, response_code::TOPIC_NOT_EXIST);
}

fn heartbeat(client_id: &str, consumer_group: &str) -> RemotingCommand {
    let body = serde_json::json!({
        "clientID": client_id, "heartbeatFingerprint": 0, "withoutSub": false,
        "producerDataSet": [{"groupName": "pg"}],
        "consumerDataSet": [{"groupName": consumer_group, "consumeType": "CONSUME_ACTIVELY",
            "messageModel": "CLUSTERING", "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET", "unitMode": false,
            "subscriptionDataSet": [{"classFilterMode": false, "topic": "T", "subString": "*", "tagsSet": [],
                "codeSet": [], "subVersion": 1700000000000i64, "expressionType": "TAG"}]}]
    });
    RemotingCommand::request(request_code::HEART_BEAT, 0)
        .with_body(serde_json::to_vec(&body).unwrap().into())
}

/// Heartbeats register consumers for GET_CONSUMER_LIST_BY_GROUP, create `%RETRY%<group>`, and
/// UNREGISTER_CLIENT removes them.
#[tokio::test]
async fn heartbeats_register_consumers() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let list = || {
        RemotingCommand::request(request_code::GET_CONSUMER_LIST_BY_GROUP, 0)
            .with_ext("consumerGroup", "cg")
    };
    let (code, _) = json_of(&client, list()).await;
    assert_eq!(code, response_code::SYSTEM_ERROR, "no consumer yet");

    for id in ["10.0.0.5@1#1", "10.0.0.6@2#2"] {
        let (code, _) = json_of(&client, heartbeat(id, "cg")).await;
        assert_eq!(code, response_code::SUCCESS);
    }
    let (code, ids) = json_of(&client, list()).await;
    assert_eq!(code, response_code::SUCCESS);
    assert_eq!(
        ids["consumerIdList"],
        serde_json::json!(["10.0.0.5@1#1", "10.0.0.6@2#2"])
    );

    let unregister = RemotingCommand::request(request_code::UNREGISTER_CLIENT, 0)
        .with_ext("clientID", "10.0.0.5@1#1")
        .with_ext("consumerGroup", "cg");
    assert_eq!(json_of(&client, unregister).await.0, response_code::SUCCESS);
    let (_, ids) = json_of(&client, list()).await;
    assert_eq!(ids["consumerIdList"], serde_json::json!(["10.0.0.6@2#2"]));

    // The retry topic exists: its route is served.
    let ns = Client::connect(broker.namesrv_addr.as_deref().unwrap())
        .await
        .unwrap();
    common::wait_until_async(
        std::time::Duration::from_secs(5),
        "%RETRY%cg route",
        || async { json_of(&ns, route("%RETRY%cg")).await.0 == response_code::SUCCESS },
    )
    .await;

    let bad = RemotingCommand::request(request_code::HEART_BEAT, 0).with_body("{not json".into());
    assert_eq!(
        json_of(&client, bad).await.0,
        response_code::INVALID_PARAMETER
    );
}

/// The name server's admin codes on the local broker's routes: WIPE_WRITE_PERM_OF_BROKER (205)
/// leaves its topics read-only in the routes (a producer stops sending there) until
/// ADD_WRITE_PERM_OF_BROKER (327); DELETE_TOPIC_IN_NAMESRV (216) drops a topic's route, for the
/// cluster named or everywhere; GET_TOPICS_BY_CLUSTER (224) and GET_SYSTEM_TOPIC_LIST_FROM_NS (304)
/// list what Java lists.
#[tokio::test]
async fn write_perm_topic_deletion_and_topic_lists() {
    let broker = TestBroker::start();
    let ns = Client::connect(broker.namesrv_addr.as_deref().unwrap())
        .await
        .unwrap();
    let client = broker.client().await;
    for topic in ["PermA", "PermB"] {
        client
            .send(&OutgoingMessage::new(topic, "x"))
            .await
            .unwrap();
    }
    let perm = |r: &serde_json::Value| r["queueDatas"][0]["perm"].as_i64().unwrap();
    let (_, r) = json_of(&ns, route("PermA")).await;
    assert_eq!(perm(&r), 6);

    let wipe = RemotingCommand::request(request_code::WIPE_WRITE_PERM_OF_BROKER, 0)
        .with_ext("brokerName", "broker-a");
    let resp = ns.request(wipe).await.unwrap();
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
    let wiped: usize = resp.ext("wipeTopicCount").unwrap().parse().unwrap();
    assert!(wiped >= 2, "{wiped}");
    let (_, r) = json_of(&ns, route("PermB")).await;
    assert_eq!(perm(&r), 4, "read only: {r}");
    let add = RemotingCommand::request(request_code::ADD_WRITE_PERM_OF_BROKER, 0)
        .with_ext("brokerName", "broker-a");
    let resp = ns.request(add).await.unwrap();
    assert_eq!(resp.ext("addTopicCount"), Some(wiped.to_string().as_str()));
    let (_, r) = json_of(&ns, route("PermB")).await;
    assert_eq!(perm(&r), 6);

    let by_cluster = |cluster: &str| {
        RemotingCommand::request(request_code::GET_TOPICS_BY_CLUSTER, 0)
            .with_ext("cluster", cluster)
    };
    let (code, list) = json_of(&ns, by_cluster("DefaultCluster")).await;
    assert_eq!(code, response_code::SUCCESS);
    assert!(
        list["topicList"]
            .as_array()
            .unwrap()
            .contains(&"PermA".into()),
        "{list}"
    );
    let (_, none) = json_of(&ns, by_cluster("NoCluster")).await;
    assert_eq!(none["topicList"], serde_json::json!([]));

    let delete = |cluster: Option<&str>| {
        let cmd = RemotingCommand::request(request_code::DELETE_TOPIC_IN_NAMESRV, 0)
            .with_ext("topic", "PermA");
        match cluster {
            Some(c) => cmd.with_ext("clusterName", c),
            None => cmd,
        }
    };
    assert_eq!(
        ns.request(delete(Some("NoCluster"))).await.unwrap().code,
        response_code::SUCCESS
    );
    assert_eq!(json_of(&ns, route("PermA")).await.0, response_code::SUCCESS);
    assert_eq!(
        ns.request(delete(Some("DefaultCluster")))
            .await
            .unwrap()
            .code,
        response_code::SUCCESS
    );
    assert_eq!(
        json_of(&ns, route("PermA")).await.0,
        response_code::TOPIC_NOT_EXIST
    );
    assert_eq!(json_of(&ns, route("PermB")).await.0, response_code::SUCCESS);
    assert_eq!(
        ns.request(delete(None)).await.unwrap().code,
        response_code::SUCCESS
    );

    let system = RemotingCommand::request(request_code::GET_SYSTEM_TOPIC_LIST_FROM_NS, 0);
    let (_, sys) = json_of(&ns, system).await;
    assert_eq!(
        sys["topicList"],
        serde_json::json!(["DefaultCluster", "broker-a"])
    );
    assert_eq!(sys["brokerAddr"], broker.addr.as_str());
}
