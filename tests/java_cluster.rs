//! actormq brokers in a cluster run by the stock Java name server (issue 14 item 2):
//! `org.apache.rocketmq:rocketmq-namesrv` 5.3.3 (pinned in `tests/java-server/pom.xml`). Two
//! actormq brokers register with it; its routes and cluster info list both; the stock Java producer
//! (rocketmq-client 5.3.3, `tests/java` scenario `cluster-send`) spreads sends over both and a stock
//! lite-pull consumer reads every message back; then one broker is killed in the middle of a steady
//! stream of sends: every send still succeeds (the client's own retry on the other broker), and the
//! Java name server drops the dead broker's routes. It also takes the broker's lighter requests:
//! REGISTER_TOPIC_IN_NAMESRV for a created topic and QUERY_DATA_VERSION (`force_register = false`).
//!
//! Needs `mvn -q -B package` in `tests/java` (the scenario jars, `ACTORMQ_JAVA_CLIENTS=tests/java/target`)
//! and in `tests/java-server` (the name server, `ACTORMQ_JAVA_SERVER=tests/java-server/target/lib`);
//! without them the test says why it skipped and passes. `.ci/run` runs it.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use actormq::client::Client;
use actormq::cluster::route_table::{ClusterInfo, TopicRouteData};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::java;
use common::java_server::{self, JavaProcess};
use common::scenario::num;
use common::{wait_until_async, TestBroker};

/// An actormq broker registering every second with `ns`, no name-server role of its own.
fn broker(name: &str, ns: &str) -> TestBroker {
    TestBroker::start_with(&format!(
        "[broker]\nname = \"{name}\"\ndefault_topic_queue_nums = 4\n\
         [cluster]\nnamesrv_addr = [\"{ns}\"]\nregister_interval_ms = 1000\n\
         [namesrv]\nenabled = false"
    ))
}

async fn route(ns: &Client, topic: &str) -> Option<TopicRouteData> {
    let cmd =
        RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC, 0).with_ext("topic", topic);
    let resp = ns.request(cmd).await.unwrap();
    (resp.code == response_code::SUCCESS).then(|| TopicRouteData::decode(&resp.body).unwrap())
}

/// Broker names in a route, sorted (none when the topic has no route).
async fn routed(ns: &Client, topic: &str) -> Vec<String> {
    let mut n: Vec<String> = route(ns, topic)
        .await
        .map(|r| r.broker_datas.into_iter().map(|b| b.broker_name).collect())
        .unwrap_or_default();
    n.sort();
    n
}

/// The `broker:count` pairs of a `brokers=` field.
fn per_broker(field: &str) -> Vec<(String, usize)> {
    field
        .split(',')
        .filter_map(|kv| kv.split_once(':'))
        .map(|(b, n)| (b.to_string(), n.parse().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actormq_brokers_in_a_java_name_servers_cluster() {
    let (Some(jars), Some(lib)) = (
        java::jars_dir("java_cluster"),
        java_server::server_lib("java_cluster"),
    ) else {
        return;
    };
    let jar = jars.join("clients-5.3.3.jar");
    let logs: PathBuf = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("java-cluster");
    let _ = std::fs::remove_dir_all(&logs);
    let ns_dir = tempfile::tempdir().unwrap();
    let ns_port = java_server::free_java_port();
    let _namesrv = JavaProcess::namesrv(&lib, ns_dir.path(), ns_port);
    let namesrv_addr = format!("127.0.0.1:{ns_port}");
    let a = broker("broker-a", &namesrv_addr);
    let mut b = broker("broker-b", &namesrv_addr);
    let ns = Client::connect(&namesrv_addr).await.unwrap();

    // Both registered: the Java name server's cluster info (fastjson keys) and TBW102's route.
    wait_until_async(
        Duration::from_secs(20),
        "both brokers registered",
        || async {
            let cmd = RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO, 0);
            let resp = ns.request(cmd).await.unwrap();
            ClusterInfo::decode(&resp.body).is_ok_and(|i| i.broker_addr_table.len() == 2)
        },
    )
    .await;
    let tbw = route(&ns, "TBW102").await.expect("TBW102 is routed");
    let addrs: Vec<&String> = tbw
        .broker_datas
        .iter()
        .map(|d| &d.broker_addrs[&0])
        .collect();
    assert!(
        addrs.contains(&&a.addr) && addrs.contains(&&b.addr),
        "{tbw:?}"
    );

    // The stock producer spreads a new topic over both; the stock consumer reads all of it.
    let sent = java::run_scenario(
        &jar,
        &logs,
        "cluster-send",
        &namesrv_addr,
        "JavaSpread",
        100,
    );
    assert_eq!(num(&sent, "sent"), 100);
    let spread = per_broker(&sent["brokers"]);
    assert_eq!(spread.len(), 2, "sends on both brokers: {spread:?}");
    assert!(spread.iter().all(|(_, n)| *n >= 10), "{spread:?}");
    assert_eq!(routed(&ns, "JavaSpread").await, ["broker-a", "broker-b"]);
    let got = java::run_scenario(
        &jar,
        &logs,
        "pull-subscribe",
        &namesrv_addr,
        "JavaSpread",
        100,
    );
    assert_eq!(num(&got, "received"), 100);

    // A steady stream of sends; broker-b is killed once it has taken some of them.
    let steady = {
        let (jar, logs, addr) = (jar.clone(), logs.clone(), namesrv_addr.clone());
        std::thread::spawn(move || {
            java::run_scenario(
                &jar,
                &logs,
                "cluster-send-steady",
                &addr,
                "JavaFailover",
                80,
            )
        })
    };
    let on_b = b.client().await;
    wait_until_async(
        Duration::from_secs(60),
        "broker-b stores 5 sends",
        || async {
            let mut stored = 0;
            for q in 0..4 {
                stored += on_b.max_offset("JavaFailover", q).await.unwrap_or(0);
            }
            stored >= 5
        },
    )
    .await;
    b.kill9();
    // The Java name server drops a broker whose connection closed.
    wait_until_async(
        Duration::from_secs(10),
        "broker-b's routes dropped",
        || async { routed(&ns, "TBW102").await == ["broker-a"] },
    )
    .await;
    let result = tokio::task::spawn_blocking(move || steady.join().expect("scenario thread"))
        .await
        .unwrap();
    assert_eq!(num(&result, "sent"), 80, "every send succeeded: {result:?}");
    let after = per_broker(&result["brokers"]);
    assert_eq!(
        after.len(),
        2,
        "sends on both, then on the survivor: {after:?}"
    );
    assert!(after.iter().all(|(_, n)| *n >= 5), "{after:?}");
    assert_eq!(routed(&ns, "JavaFailover").await, ["broker-a"]);
    drop(a);
}

/// The stock Java name server takes the broker's lighter requests: a topic created on the broker
/// is routed at once through REGISTER_TOPIC_IN_NAMESRV (the next registration is a minute away),
/// and with `force_register = false` its QUERY_DATA_VERSION answers say it holds the broker's
/// version, so no second registration is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_name_server_takes_single_topics_and_version_queries() {
    let Some(lib) = java_server::server_lib("java_cluster") else {
        return;
    };
    let ns_dir = tempfile::tempdir().unwrap();
    let ns_port = java_server::free_java_port();
    let _namesrv = JavaProcess::namesrv(&lib, ns_dir.path(), ns_port);
    let namesrv_addr = format!("127.0.0.1:{ns_port}");
    let single = TestBroker::start_with(&format!(
        "[broker]\nname = \"broker-s\"\n\
         [cluster]\nnamesrv_addr = [\"{namesrv_addr}\"]\nregister_interval_ms = 60000\n\
         [namesrv]\nenabled = false"
    ));
    let querying = TestBroker::start_with(&format!(
        "[broker]\nname = \"broker-q\"\n\
         [cluster]\nnamesrv_addr = [\"{namesrv_addr}\"]\nregister_interval_ms = 1000\n\
         force_register = false\n[namesrv]\nenabled = false\n\
         [log]\nlevel = \"info,actormq_broker::actors::registrar=debug\""
    ));
    let ns = Client::connect(&namesrv_addr).await.unwrap();
    wait_until_async(Duration::from_secs(20), "both registered", || async {
        routed(&ns, "TBW102").await == ["broker-q", "broker-s"]
    })
    .await;

    let create = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
        .with_ext("topic", "OneTopic")
        .with_ext("readQueueNums", 3)
        .with_ext("writeQueueNums", 3)
        .with_ext("perm", 6)
        .with_ext("topicFilterType", "SINGLE_TAG");
    let r = single.client().await.request(create).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    wait_until_async(Duration::from_secs(10), "the topic routed", || async {
        routed(&ns, "OneTopic").await == ["broker-s"]
    })
    .await;
    let r = route(&ns, "OneTopic").await.unwrap();
    assert_eq!(
        (
            r.queue_datas[0].read_queue_nums,
            r.queue_datas[0].write_queue_nums
        ),
        (3, 3)
    );

    let held = || {
        querying
            .log_lines("holds this broker's topic version")
            .len()
    };
    common::wait_until(
        Duration::from_secs(15),
        "three rounds answered unchanged",
        || held() >= 3,
    )
    .await;
    let registrations = querying
        .log_lines("Registering current broker to name server completed")
        .len();
    assert_eq!(registrations, 1, "only the first round registered");
}
