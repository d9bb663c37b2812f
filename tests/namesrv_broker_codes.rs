//! The name-server codes a stock Java 5.3.3 broker or mqadmin sends besides registering, as the
//! stock Java name server answers them (`docs/cluster.md`, "Name-server-only nodes"):
//! QUERY_DATA_VERSION (322) and BROKER_HEARTBEAT (904), which keep a registration alive;
//! REGISTER_TOPIC_IN_NAMESRV (217); GET_BROKER_MEMBER_GROUP (901); the unit topic lists (311-313);
//! and compressed REGISTER_BROKER bodies, on a `--namesrv-only` node. With `ACTORMQ_JAVA_SERVER`:
//! the same raw requests answered alike by the stock Java name server, and a stock Java broker
//! with `compressedRegister=true`, `forceRegister=false` and `enableSingleTopicRegister=true`
//! kept registered by its data-version queries, its created topic routed by 217.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use actormq::client::Client;
use actormq::cluster::compressed_register;
use actormq::cluster::register::{
    java_crc32, BrokerRegistration, TopicConfigWrapper, WireDataVersion,
};
use actormq::cluster::route_table::{ClusterInfo, TopicRouteData};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::topic::TopicConfig;
use common::answer::Answer;
use common::{wait_until_async, TestBroker};

/// Expiry 3 s, scanned every 0.2 s.
const SHORT_EXPIRY: &str = "[namesrv]\nbroker_expiry_ms = 3000\nscan_interval_ms = 200";

/// Stock Java 5.3.3's `RegisterBrokerBody.encode(true)`, made by
/// `src/cluster/compressed_register/JavaBody.java`: data version {counter 7, stateVersion 2,
/// timestamp 1700000000123}, topics `orders` (8 read, 4 write, perm 6), `TBW102`, `tagged`.
const JAVA_BODY: &[u8] = include_bytes!("../src/cluster/compressed_register/java-5.3.3-body.bin");

fn req(code: i32, fields: &[(&'static str, &str)]) -> RemotingCommand {
    fields
        .iter()
        .fold(RemotingCommand::request(code, 0), |cmd, (k, v)| {
            cmd.with_ext(k, v)
        })
}

fn broker(name: &str, id: u64, port: u16) -> BrokerRegistration {
    BrokerRegistration {
        cluster: "DefaultCluster".into(),
        broker_name: name.into(),
        broker_addr: format!("127.0.0.1:{port}"),
        broker_id: id,
        ha_server_addr: format!("127.0.0.1:{}", port + 1),
    }
}

fn version(counter: i64) -> WireDataVersion {
    WireDataVersion {
        counter,
        state_version: 0,
        timestamp: 1_700_000_000_000,
    }
}

/// Topics named with their `topicSysFlag`, at data version `counter`.
fn topics(names: &[(&str, i32)], counter: i64) -> TopicConfigWrapper {
    TopicConfigWrapper {
        topic_config_table: names
            .iter()
            .map(|(n, flag)| {
                let mut t = TopicConfig::new(n, 4);
                t.topic_sys_flag = *flag;
                (n.to_string(), t)
            })
            .collect(),
        data_version: version(counter),
    }
}

/// A QUERY_DATA_VERSION for `b` with `v` as its body (none: no body).
fn query(b: &BrokerRegistration, v: Option<&WireDataVersion>) -> RemotingCommand {
    let id = b.broker_id.to_string();
    let cmd = req(
        request_code::QUERY_DATA_VERSION,
        &[
            ("brokerName", &b.broker_name),
            ("brokerAddr", &b.broker_addr),
            ("clusterName", &b.cluster),
            ("brokerId", &id),
        ],
    );
    match v {
        Some(v) => cmd.with_body(serde_json::to_vec(v).unwrap().into()),
        None => cmd,
    }
}

fn heartbeat(b: &BrokerRegistration) -> RemotingCommand {
    req(
        request_code::BROKER_HEARTBEAT,
        &[
            ("clusterName", &b.cluster),
            ("brokerAddr", &b.broker_addr),
            ("brokerName", &b.broker_name),
        ],
    )
}

/// A REGISTER_TOPIC_IN_NAMESRV as a Java broker's `registerSingleTopicAll` sends it.
fn register_topic(topic: &str, broker_names: &[&str], queues: i32) -> RemotingCommand {
    let queue_datas: Vec<serde_json::Value> = broker_names
        .iter()
        .map(|b| {
            serde_json::json!({"brokerName": b, "perm": 6, "readQueueNums": queues,
                "topicSysFlag": 0, "writeQueueNums": queues})
        })
        .collect();
    let body =
        serde_json::json!({"brokerDatas": [], "filterServerTable": {}, "queueDatas": queue_datas});
    req(request_code::REGISTER_TOPIC_IN_NAMESRV, &[("topic", topic)])
        .with_body(serde_json::to_vec(&body).unwrap().into())
}

fn member_group(name: &str) -> RemotingCommand {
    req(
        request_code::GET_BROKER_MEMBER_GROUP,
        &[("clusterName", "DefaultCluster"), ("brokerName", name)],
    )
}

/// A REGISTER_BROKER whose body is `body` with `compressed=true` and its CRC, from a 5.3.3 broker.
fn compressed_registration(b: &BrokerRegistration, body: Vec<u8>) -> RemotingCommand {
    let mut cmd = b.register_request(&TopicConfigWrapper::default());
    cmd.ext_fields.insert("compressed", "true");
    cmd.ext_fields
        .insert("bodyCrc32", java_crc32(&body).to_string());
    cmd.body = body.into();
    cmd
}

/// An answer with its `changed` header (QUERY_DATA_VERSION's).
async fn ask(client: &Client, cmd: RemotingCommand) -> Answer {
    common::answer::ask(client, cmd, "changed").await
}

fn success() -> Answer {
    Answer::success()
}

/// A QUERY_DATA_VERSION answer: `changed`, and the stored version as the body.
fn data_version(changed: bool, stored: Option<&WireDataVersion>) -> Answer {
    Answer {
        header: Some(changed.to_string()),
        body: stored.map(|v| serde_json::to_value(v).unwrap()),
        ..success()
    }
}

async fn route(ns: &Client, topic: &str) -> Option<TopicRouteData> {
    let cmd = req(request_code::GET_ROUTEINFO_BY_TOPIC, &[("topic", topic)]);
    let resp = ns.request(cmd).await.unwrap();
    (resp.code == response_code::SUCCESS).then(|| TopicRouteData::decode(&resp.body).unwrap())
}

/// The addresses of the cluster info, sorted.
async fn registered(ns: &Client) -> Vec<String> {
    let cmd = RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO, 0);
    let info = ClusterInfo::decode(&ns.request(cmd).await.unwrap().body).unwrap();
    let mut addrs: Vec<String> = info
        .broker_addr_table
        .values()
        .flat_map(|b| b.broker_addrs.values().cloned())
        .collect();
    addrs.sort();
    addrs
}

/// A `topicList` body as a set (Java's order is its hash set's).
async fn topic_list(ns: &Client, code: i32) -> BTreeSet<String> {
    let a = ask(ns, RemotingCommand::request(code, 0)).await;
    assert_eq!(a.code, response_code::SUCCESS, "{a:?}");
    a.body.unwrap()["topicList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// 322 answers `changed` by Java's `DataVersion.equals` with the stored version as its body; 322
/// and 904 each keep a registration alive past the expiry, and without them it expires.
#[tokio::test]
async fn data_version_queries_and_heartbeats_keep_a_broker_registered() {
    let node = TestBroker::start_namesrv_only(SHORT_EXPIRY);
    let ns = Client::connect(&node.addr).await.unwrap();
    let x = broker("broker-x", 0, 1);
    let v1 = version(1);
    let resp = ns
        .request(x.register_request(&topics(&[("A", 0), ("B", 0)], 1)))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);

    assert_eq!(
        ask(&ns, query(&x, Some(&v1))).await,
        data_version(false, Some(&v1))
    );
    let mut other = v1.clone();
    other.state_version = 1;
    for v in [version(2), other, WireDataVersion::default()] {
        assert_eq!(
            ask(&ns, query(&x, Some(&v))).await,
            data_version(true, Some(&v1)),
            "{v:?}"
        );
    }
    assert_eq!(
        ask(&ns, query(&x, None)).await,
        data_version(true, Some(&v1))
    );
    let unknown = broker("broker-x", 0, 9);
    assert_eq!(
        ask(&ns, query(&unknown, Some(&v1))).await,
        data_version(true, None)
    );
    // A body that is not a DataVersion, a header without the cluster.
    let garbage = query(&x, None).with_body(bytes::Bytes::from_static(b"{nope"));
    let a = ask(&ns, garbage).await;
    assert_eq!(a.code, response_code::SYSTEM_ERROR);
    assert!(a
        .remark
        .unwrap()
        .starts_with("Failed to decode DataVersion"));
    let a = ask(&ns, without(query(&x, Some(&v1)), "clusterName")).await;
    assert_eq!(a.code, response_code::SYSTEM_ERROR);
    assert!(a
        .remark
        .unwrap()
        .contains("QueryDataVersionRequestHeader.clusterName"),);

    // Twice the 3 s expiry on 322s alone, then on 904s alone: still registered.
    for keepalive in [query(&x, Some(&v1)), heartbeat(&x)] {
        let until = Instant::now() + Duration::from_secs(6);
        while Instant::now() < until {
            assert_eq!(
                ask(&ns, keepalive.clone()).await.code,
                response_code::SUCCESS
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(registered(&ns).await, std::slice::from_ref(&x.broker_addr));
        }
    }
    // A heartbeat for an address not registered registers nothing.
    assert_eq!(ask(&ns, heartbeat(&unknown)).await, success());
    // Unattended, it expires.
    wait_until_async(Duration::from_secs(10), "broker-x expired", || async {
        registered(&ns).await.is_empty()
    })
    .await;
    assert_eq!(
        ask(&ns, query(&x, Some(&v1))).await,
        data_version(true, None)
    );
    assert_eq!(node.log_lines("The broker channel expired").len(), 1);
}

/// 217 adds the topic's queue data for a registered group; one naming a group not registered is
/// ignored (SUCCESS all the same, as Java); a body that is not JSON is SYSTEM_ERROR.
#[tokio::test]
async fn register_topic_routes_a_created_topic() {
    let node = TestBroker::start_namesrv_only("");
    let ns = Client::connect(&node.addr).await.unwrap();
    let x = broker("broker-x", 0, 1);
    let y = broker("broker-y", 0, 3);
    for b in [&x, &y] {
        let r = ns
            .request(b.register_request(&topics(&[("A", 0), ("B", 0)], 1)))
            .await
            .unwrap();
        assert_eq!(r.code, response_code::SUCCESS);
    }
    assert!(route(&ns, "Created").await.is_none());
    assert_eq!(
        ask(&ns, register_topic("Created", &["broker-x"], 2)).await,
        success()
    );
    let r = route(&ns, "Created").await.expect("routed");
    assert_eq!(r.queue_datas.len(), 1);
    assert_eq!(r.queue_datas[0].write_queue_nums, 2);
    assert_eq!(r.broker_datas[0].broker_addrs[&0], x.broker_addr);

    // A second group joins the topic; an unknown one is ignored.
    assert_eq!(
        ask(&ns, register_topic("Created", &["broker-y", "nope"], 3)).await,
        success()
    );
    let r = route(&ns, "Created").await.unwrap();
    assert_eq!(r.queue_datas.len(), 2);
    assert_eq!(
        ask(&ns, register_topic("Stray", &["broker-x", "nope"], 2)).await,
        success()
    );
    assert!(route(&ns, "Stray").await.is_none());
    assert_eq!(node.log_lines("contains illegal broker").len(), 2);

    let garbage = req(request_code::REGISTER_TOPIC_IN_NAMESRV, &[("topic", "G")])
        .with_body(bytes::Bytes::from_static(b"not json"));
    let a = ask(&ns, garbage).await;
    assert_eq!(a.code, response_code::SYSTEM_ERROR);
    assert!(a
        .remark
        .unwrap()
        .starts_with("Failed to decode TopicRouteData"));
    let no_body = req(request_code::REGISTER_TOPIC_IN_NAMESRV, &[("topic", "G")]);
    assert_eq!(ask(&ns, no_body).await, success());
    assert!(route(&ns, "G").await.is_none());
}

/// 901 lists a group's members with fastjson's bare id keys, as Java's name server writes them;
/// 311-313 list topics by their unit flags.
#[tokio::test]
async fn member_group_and_unit_topic_lists() {
    let node = TestBroker::start_namesrv_only("");
    let ns = Client::connect(&node.addr).await.unwrap();
    let master = broker("broker-x", 0, 1);
    let slave = broker("broker-x", 1, 3);
    let flagged = topics(&[("plain", 0), ("unit", 1), ("sub", 2), ("both", 3)], 1);
    for b in [&master, &slave] {
        let r = ns.request(b.register_request(&flagged)).await.unwrap();
        assert_eq!(r.code, response_code::SUCCESS);
    }
    let text = |s: &str| Some(serde_json::Value::String(s.to_string()));
    assert_eq!(
        ask(&ns, member_group("broker-x")).await.body,
        text(
            r#"{"brokerMemberGroup":{"brokerAddrs":{0:"127.0.0.1:1",1:"127.0.0.1:3"},"brokerName":"broker-x","cluster":"DefaultCluster"}}"#
        )
    );
    let none = ask(&ns, member_group("nope")).await;
    assert_eq!(none.code, response_code::SUCCESS);
    // Java's quirk, kept: its handler never clears the remark the response was created with.
    assert_eq!(none.remark.as_deref(), Some("not set any response code"));
    assert_eq!(
        none.body,
        Some(
            serde_json::json!({"brokerMemberGroup": {"brokerAddrs": {}, "brokerName": "nope",
            "cluster": "DefaultCluster"}})
        )
    );

    assert_eq!(
        topic_list(&ns, request_code::GET_UNIT_TOPIC_LIST).await,
        set(&["unit", "both"])
    );
    assert_eq!(
        topic_list(&ns, request_code::GET_HAS_UNIT_SUB_TOPIC_LIST).await,
        set(&["sub", "both"])
    );
    assert_eq!(
        topic_list(&ns, request_code::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST).await,
        set(&["sub"])
    );
}

/// A compressed registration (Java's `compressedRegister=true`) is taken like a JSON one: from
/// actormq's encoder and from a stock Java broker's bytes; its data version answers 322; a body
/// that does not inflate is SYSTEM_ERROR.
#[tokio::test]
async fn a_compressed_registration_is_taken() {
    let node = TestBroker::start_namesrv_only("");
    let ns = Client::connect(&node.addr).await.unwrap();
    let x = broker("broker-x", 0, 1);
    let t = topics(&[("A", 0), ("B", 0)], 5);
    let resp = ns
        .request(compressed_registration(&x, compressed_register::encode(&t)))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
    assert_eq!(
        route(&ns, "A").await.unwrap().queue_datas[0].read_queue_nums,
        4
    );
    assert_eq!(
        ask(&ns, query(&x, Some(&version(5)))).await,
        data_version(false, Some(&version(5)))
    );

    let j = broker("broker-j", 0, 5);
    let resp = ns
        .request(compressed_registration(&j, JAVA_BODY.to_vec()))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
    let orders = route(&ns, "orders").await.unwrap();
    let q = &orders.queue_datas[0];
    assert_eq!(
        (
            q.read_queue_nums,
            q.write_queue_nums,
            q.perm,
            q.topic_sys_flag
        ),
        (8, 4, 6, 0)
    );
    assert!(route(&ns, "tagged").await.is_some());
    let java_version = WireDataVersion {
        counter: 7,
        state_version: 2,
        timestamp: 1_700_000_000_123,
    };
    assert_eq!(
        ask(&ns, query(&j, Some(&java_version))).await,
        data_version(false, Some(&java_version))
    );

    // As a 5.x Java broker sends it: `compressed=false` (a Java name server refuses it).
    let mut mislabelled = compressed_registration(&broker("broker-m", 0, 11), JAVA_BODY.to_vec());
    mislabelled.ext_fields.insert("compressed", "false");
    assert_eq!(ask(&ns, mislabelled).await.code, response_code::SUCCESS);

    let bad = compressed_registration(&broker("broker-z", 0, 7), b"not zlib".to_vec());
    let a = ask(&ns, bad).await;
    assert_eq!(a.code, response_code::SYSTEM_ERROR);
    assert!(
        a.remark
            .as_deref()
            .unwrap()
            .starts_with("Failed to decode RegisterBrokerBody: compressed body: "),
        "{a:?}"
    );
    let truncated = compressed_registration(&broker("broker-z", 0, 7), JAVA_BODY[..100].to_vec());
    assert_eq!(ask(&ns, truncated).await.code, response_code::SYSTEM_ERROR);
    assert_eq!(registered(&ns).await.len(), 3);
}

/// An answer as compared across name servers: topic lists as sets, routes without their order.
async fn comparable(client: &Client, cmd: RemotingCommand) -> Answer {
    let code = cmd.code;
    let mut a = ask(client, cmd).await;
    if let Some(body) = a.body.as_mut() {
        if let Some(list) = body.get_mut("topicList").and_then(|l| l.as_array_mut()) {
            list.sort_by_key(|t| t.to_string());
        }
    }
    if code == request_code::GET_ROUTEINFO_BY_TOPIC && a.code == response_code::SUCCESS {
        let bytes = match a.body.take().unwrap() {
            serde_json::Value::String(text) => text.into_bytes(),
            json => serde_json::to_vec(&json).unwrap(),
        };
        // What actormq's routes carry (a Java route's static-topic mappings are not read).
        let mut r = TopicRouteData::decode(&bytes).unwrap();
        r.broker_datas
            .sort_by(|x, y| x.broker_name.cmp(&y.broker_name));
        r.queue_datas
            .sort_by(|x, y| x.broker_name.cmp(&y.broker_name));
        a.body = Some(serde_json::to_value(r).unwrap());
    }
    if code == request_code::REGISTER_BROKER {
        a.remark = None; // Java's exception text against actormq's
    }
    a
}

/// `cmd` without header field `key`.
fn without(mut cmd: RemotingCommand, key: &str) -> RemotingCommand {
    cmd.ext_fields = cmd
        .ext_fields
        .iter()
        .filter(|(k, _)| *k != key)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    cmd
}

/// The same raw requests get the same codes, `changed` headers and bodies from the stock Java
/// name server 5.3.3 and from actormq: registrations JSON and compressed (Java's own bytes), 322
/// and 904, 217 for known and unknown groups, 901 (byte for byte), 311-313 and the routes that
/// result.
#[tokio::test]
async fn answers_match_the_java_name_server() {
    let Some(lib) = common::java_server::server_lib("namesrv_broker_codes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = common::java_server::free_java_port();
    let _java = common::java_server::JavaProcess::namesrv(&lib, dir.path(), port);
    let java = Client::connect(&format!("127.0.0.1:{port}")).await.unwrap();
    let node = TestBroker::start_namesrv_only("");
    let ours = Client::connect(&node.addr).await.unwrap();

    let x = broker("broker-x", 0, 1);
    let x1 = broker("broker-x", 1, 3);
    let j = broker("broker-j", 0, 5);
    let flagged = topics(&[("plain", 0), ("unit", 1), ("sub", 2), ("both", 3)], 4);
    let java_version = WireDataVersion {
        counter: 7,
        state_version: 2,
        timestamp: 1_700_000_000_123,
    };
    let script = vec![
        x.register_request(&flagged),
        x1.register_request(&flagged),
        compressed_registration(&j, JAVA_BODY.to_vec()),
        query(&x, Some(&version(4))),
        query(&x, Some(&version(5))),
        query(&x, None),
        query(&x1, Some(&version(4))),
        query(&j, Some(&java_version)),
        query(&broker("broker-q", 0, 9), Some(&version(4))),
        heartbeat(&x),
        heartbeat(&broker("broker-q", 0, 9)),
        register_topic("Created", &["broker-x"], 2),
        register_topic("Created", &["broker-j", "nope", "broker-x"], 5),
        register_topic("Stray", &["broker-x", "nope"], 2),
        register_topic("orders", &["broker-x"], 1),
        req(
            request_code::REGISTER_TOPIC_IN_NAMESRV,
            &[("topic", "NoBody")],
        ),
        without(register_topic("NoTopic", &["nope"], 1), "topic"),
        without(
            without(query(&x, Some(&version(4))), "brokerId"),
            "brokerName",
        ),
        member_group("broker-x"),
        member_group("broker-j"),
        member_group("nope"),
        req(request_code::GET_BROKER_MEMBER_GROUP, &[]),
        RemotingCommand::request(request_code::GET_UNIT_TOPIC_LIST, 0),
        RemotingCommand::request(request_code::GET_HAS_UNIT_SUB_TOPIC_LIST, 0),
        RemotingCommand::request(request_code::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST, 0),
        req(
            request_code::GET_ROUTEINFO_BY_TOPIC,
            &[("topic", "Created")],
        ),
        req(request_code::GET_ROUTEINFO_BY_TOPIC, &[("topic", "Stray")]),
        req(request_code::GET_ROUTEINFO_BY_TOPIC, &[("topic", "orders")]),
        req(request_code::GET_ROUTEINFO_BY_TOPIC, &[("topic", "tagged")]),
        req(request_code::GET_ROUTEINFO_BY_TOPIC, &[("topic", "NoBody")]),
    ];
    for cmd in script {
        let what = format!("{} {:?}", cmd.code, cmd.ext_fields);
        let (j, o) = (
            comparable(&java, cmd.clone()).await,
            comparable(&ours, cmd).await,
        );
        if j.code == response_code::TOPIC_NOT_EXIST {
            assert_eq!(o.code, j.code, "{what}");
            continue;
        }
        assert_eq!(o, j, "{what}");
    }

    // Refusals: the same codes (Java's remarks are its exceptions' text).
    let refusals = vec![
        without(query(&x, Some(&version(4))), "clusterName"),
        without(query(&x, Some(&version(4))), "brokerAddr"),
        query(&x, None).with_body(bytes::Bytes::from_static(b"{nope")),
        without(heartbeat(&x), "brokerAddr"),
        register_topic("G", &["broker-x"], 1).with_body(bytes::Bytes::from_static(b"nope")),
        compressed_registration(&broker("broker-z", 0, 7), b"not zlib".to_vec()),
        compressed_registration(&broker("broker-z", 0, 7), JAVA_BODY[..100].to_vec()),
    ];
    for cmd in refusals {
        let what = format!("{} {:?} {:?}", cmd.code, cmd.ext_fields, cmd.body);
        let (j, o) = (ask(&java, cmd.clone()).await, ask(&ours, cmd).await);
        assert_eq!(
            (o.code, j.code),
            (response_code::SYSTEM_ERROR, response_code::SYSTEM_ERROR),
            "{what}: {j:?}"
        );
    }

    // The one difference: a 5.x Java broker with `compressedRegister=true` labels its compressed
    // body `compressed=false`; Java's name server fails on it, actormq's reads it.
    let mut mislabelled = compressed_registration(&broker("broker-m", 0, 11), JAVA_BODY.to_vec());
    mislabelled.ext_fields.insert("compressed", "false");
    let j = ask(&java, mislabelled.clone()).await;
    // (5.3.3's remark names a NullPointerException, 5.5.0's another failure.)
    assert_eq!(j.code, response_code::SYSTEM_ERROR, "{j:?}");
    assert_eq!(ask(&ours, mislabelled).await.code, response_code::SUCCESS);
}

/// Finds `needle` in the Java broker's logs (`<home>/logs/rocketmqlogs/*.log`): how many lines.
fn java_log_count(home: &std::path::Path, needle: &str) -> usize {
    let dir = home.join("logs/rocketmqlogs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(needle))
                .count()
        })
        .sum()
}

/// A stock Java 5.3.3 broker with `compressedRegister=true`, `forceRegister=false` and
/// `enableSingleTopicRegister=true` on a name-server-only node with a 15 s expiry: its compressed
/// registration is taken; its QUERY_DATA_VERSION every 10 s is answered `changed=false`, so it
/// does not register again, and those queries alone keep it registered past the expiry; a topic
/// created with the stock mqadmin is routed at once by its REGISTER_TOPIC_IN_NAMESRV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_broker_registering_compressed_kept_alive_by_data_version_queries() {
    let Some(lib) = common::java_server::server_lib("namesrv_broker_codes") else {
        return;
    };
    // A Java broker sends no heartbeatTimeoutMillis (only with enableSlaveActingMaster), so the
    // node's expiry applies; its 322 period is registerNameServerPeriod, at least 10 s.
    let node = TestBroker::start_namesrv_only(
        "[namesrv]\nbroker_expiry_ms = 15000\nscan_interval_ms = 200",
    );
    let ns = Client::connect(&node.addr).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = common::java_server::free_broker_port();
    let props = common::java_server::broker_properties(
        "broker-j",
        port,
        &dir.path().join("store"),
        &node.addr,
        "compressedRegister=true\nforceRegister=false\nenableSingleTopicRegister=true\n\
         registerNameServerPeriod=10000",
    );
    let java = common::java_server::JavaProcess::broker(&lib, dir.path(), &props);
    let addr = format!("127.0.0.1:{port}");
    wait_until_async(Duration::from_secs(20), "broker-j registered", || async {
        registered(&ns).await == [addr.clone()]
    })
    .await;
    assert!(route(&ns, "TBW102").await.is_some());

    // Once a data-version query was answered "not changed", watch 20 s (more than the expiry):
    // the broker stays registered throughout and registers no more.
    let unchanged = "OK, changed false";
    let registrations = "Registering current broker to name server completed";
    wait_until_async(
        Duration::from_secs(30),
        "a 322 answered unchanged",
        || async { java_log_count(&java.home, unchanged) >= 1 },
    )
    .await;
    let registered_before = java_log_count(&java.home, registrations);
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        assert_eq!(
            registered(&ns).await,
            std::slice::from_ref(&addr),
            "broker-j dropped"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(java_log_count(&java.home, unchanged) >= 2);
    assert_eq!(
        java_log_count(&java.home, registrations),
        registered_before,
        "broker-j registered again"
    );
    assert!(node.log_lines("The broker channel expired").is_empty());

    // mqadmin updateTopic: the broker announces the topic alone (217), routed at once.
    let lib2 = lib.clone();
    let (node_addr, broker_addr) = (node.addr.clone(), addr.clone());
    let out = tokio::task::spawn_blocking(move || {
        common::java_server::mqadmin(
            &lib2,
            &node_addr,
            &["updateTopic", "-b", &broker_addr, "-t", "JavaCreated"],
        )
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("success"), "{text}");
    wait_until_async(Duration::from_secs(5), "JavaCreated routed", || async {
        route(&ns, "JavaCreated").await.is_some()
    })
    .await;
    let r = route(&ns, "JavaCreated").await.unwrap();
    assert_eq!(r.broker_datas[0].broker_addrs[&0], addr);
    wait_until_async(Duration::from_secs(5), "the 217 logged", || async {
        java_log_count(
            &java.home,
            "Register single topic JavaCreated to broker broker-j with response code 0",
        ) == 1
    })
    .await;
    assert!(node.log_lines("topic route registered").len() == 1);
}
