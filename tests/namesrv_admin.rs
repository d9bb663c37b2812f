//! The name server's KV config and its configuration codes, as the stock Java name server 5.3.3
//! serves them (`docs/cluster.md`, "KV config and configuration"): PUT_KV_CONFIG (100),
//! GET_KV_CONFIG (101), DELETE_KV_CONFIG (102), GET_KVLIST_BY_NAMESPACE (219), the order-topic
//! namespace in routes and REGISTER_BROKER answers, GET_NAMESRV_CONFIG (319) and
//! UPDATE_NAMESRV_CONFIG (318); on a broker's name-server role and on a `--namesrv-only` node;
//! `kvConfig.json` across restarts and damaged; and (with `ACTORMQ_JAVA_SERVER`) the stock
//! `mqadmin` commands, and the same raw requests answered alike by the stock Java name server.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use actormq::client::{Client, OutgoingMessage};
use actormq::cluster::register::{BrokerRegistration, TopicConfigWrapper, WireDataVersion};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::topic::TopicConfig;
use common::answer::Answer;
use common::TestBroker;

fn req(code: i32, fields: &[(&'static str, &str)]) -> RemotingCommand {
    fields
        .iter()
        .fold(RemotingCommand::request(code, 0), |cmd, (k, v)| {
            cmd.with_ext(k, v)
        })
}

fn put(ns: &str, key: &str, value: &str) -> RemotingCommand {
    req(
        request_code::PUT_KV_CONFIG,
        &[("namespace", ns), ("key", key), ("value", value)],
    )
}

fn get(ns: &str, key: &str) -> RemotingCommand {
    req(
        request_code::GET_KV_CONFIG,
        &[("namespace", ns), ("key", key)],
    )
}

fn delete(ns: &str, key: &str) -> RemotingCommand {
    req(
        request_code::DELETE_KV_CONFIG,
        &[("namespace", ns), ("key", key)],
    )
}

fn list(ns: &str) -> RemotingCommand {
    req(request_code::GET_KVLIST_BY_NAMESPACE, &[("namespace", ns)])
}

fn update_config(body: &str) -> RemotingCommand {
    RemotingCommand::request(request_code::UPDATE_NAMESRV_CONFIG, 0)
        .with_body(body.as_bytes().to_vec().into())
}

fn route(topic: &str) -> RemotingCommand {
    req(request_code::GET_ROUTEINFO_BY_TOPIC, &[("topic", topic)])
}

/// An answer with its `value` header (GET_KV_CONFIG's).
async fn ask(client: &Client, cmd: RemotingCommand) -> Answer {
    common::answer::ask(client, cmd, "value").await
}

fn success() -> Answer {
    Answer::success()
}

fn refused(code: i32, remark: &str) -> Answer {
    Answer::refused(code, remark)
}

fn value(v: &str) -> Answer {
    Answer {
        header: Some(v.to_string()),
        ..success()
    }
}

fn table(v: serde_json::Value) -> Answer {
    Answer {
        body: Some(v),
        ..success()
    }
}

/// GET_NAMESRV_CONFIG's body as key -> value.
async fn namesrv_config(client: &Client) -> BTreeMap<String, String> {
    let resp = client
        .request(RemotingCommand::request(
            request_code::GET_NAMESRV_CONFIG,
            0,
        ))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    String::from_utf8(resp.body.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

async fn connect(addr: &str) -> Client {
    Client::connect(addr).await.expect("connect")
}

/// Every KV code on a broker's name-server role, with Java's codes and remarks for what is not
/// there and for headers that lack fields; the table lands in `<store>/config/kvConfig.json`.
#[tokio::test]
async fn kv_codes_on_a_broker_name_server_role() {
    let broker = TestBroker::start();
    let ns = connect(broker.namesrv_addr.as_deref().unwrap()).await;

    assert_eq!(ask(&ns, put("ns1", "k1", "v1")).await, success());
    assert_eq!(ask(&ns, put("ns1", "k2", "")).await, success());
    assert_eq!(ask(&ns, put("ns1", "k1", "v1b")).await, success());
    assert_eq!(ask(&ns, get("ns1", "k1")).await, value("v1b"));
    assert_eq!(ask(&ns, get("ns1", "k2")).await, value(""));
    assert_eq!(
        ask(&ns, get("ns1", "nope")).await,
        refused(
            response_code::QUERY_NOT_FOUND,
            "No config item, Namespace: ns1 Key: nope"
        )
    );
    assert_eq!(
        ask(&ns, list("ns1")).await,
        table(serde_json::json!({"table": {"k1": "v1b", "k2": ""}}))
    );
    assert_eq!(
        ask(&ns, list("ns2")).await,
        refused(
            response_code::QUERY_NOT_FOUND,
            "No config item, Namespace: ns2"
        )
    );

    assert_eq!(ask(&ns, delete("ns1", "k2")).await, success());
    assert_eq!(ask(&ns, delete("ns1", "k2")).await, success());
    assert_eq!(ask(&ns, delete("ns2", "k")).await, success());
    assert_eq!(
        ask(&ns, get("ns1", "k2")).await.code,
        response_code::QUERY_NOT_FOUND
    );
    assert_eq!(ask(&ns, delete("ns1", "k1")).await, success());
    // The emptied namespace stays, as in Java.
    assert_eq!(
        ask(&ns, list("ns1")).await,
        table(serde_json::json!({"table": {}}))
    );

    // Missing header fields, answered as Java answers them.
    assert_eq!(
        ask(
            &ns,
            req(request_code::PUT_KV_CONFIG, &[("key", "k"), ("value", "v")])
        )
        .await,
        refused(response_code::SYSTEM_ERROR, "namespace or key is null")
    );
    let no_value = ask(
        &ns,
        req(
            request_code::PUT_KV_CONFIG,
            &[("namespace", "n"), ("key", "k")],
        ),
    )
    .await;
    assert_eq!(no_value.code, response_code::SYSTEM_ERROR);
    assert!(
        no_value
            .remark
            .as_deref()
            .unwrap()
            .contains("value is null"),
        "{no_value:?}"
    );
    assert_eq!(
        ask(&ns, req(request_code::GET_KV_CONFIG, &[])).await,
        refused(
            response_code::QUERY_NOT_FOUND,
            "No config item, Namespace: null Key: null"
        )
    );
    assert_eq!(
        ask(&ns, req(request_code::GET_KVLIST_BY_NAMESPACE, &[])).await,
        refused(
            response_code::QUERY_NOT_FOUND,
            "No config item, Namespace: null"
        )
    );
    assert_eq!(
        ask(&ns, req(request_code::DELETE_KV_CONFIG, &[])).await,
        success()
    );

    // Awkward strings and a large value go through unchanged.
    let big = "x".repeat(1 << 20);
    let odd = "line\nbreak \"quoted\" \\ é 中";
    assert_eq!(ask(&ns, put(odd, odd, &big)).await, success());
    assert_eq!(ask(&ns, get(odd, odd)).await.header.as_deref(), Some(&*big));

    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(broker.root().join("config/kvConfig.json")).unwrap())
            .unwrap();
    assert_eq!(file["configTable"]["ns1"], serde_json::json!({}));
    assert_eq!(
        file["configTable"][odd][odd].as_str().map(str::len),
        Some(1 << 20)
    );
}

/// A name-server-only node keeps its table in `namesrv.kv_config_path` and has it back after a
/// restart, clean or not; nothing else is created under its store root.
#[tokio::test]
async fn kv_config_survives_restarts_of_a_namesrv_only_node() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("kv/kvConfig.json");
    let mut node = TestBroker::start_namesrv_only(&format!(
        "[namesrv]\nkv_config_path = {:?}",
        path.display().to_string()
    ));
    let ns = connect(&node.addr).await;
    assert_eq!(ask(&ns, put("a", "k", "1")).await, success());
    assert_eq!(ask(&ns, put("b", "k", "2")).await, success());
    assert_eq!(ask(&ns, delete("a", "k")).await, success());
    drop(ns);
    let config = namesrv_config(&connect(&node.addr).await).await;
    assert_eq!(config["kvConfigPath"], path.display().to_string());
    assert!(!node.root().exists(), "nothing under the store root");

    node.stop();
    node.restart();
    let ns = connect(&node.addr).await;
    assert_eq!(ask(&ns, get("b", "k")).await, value("2"));
    assert_eq!(
        ask(&ns, get("a", "k")).await.code,
        response_code::QUERY_NOT_FOUND
    );
    assert_eq!(ask(&ns, put("c", "k", "3")).await, success());

    node.kill9();
    node.restart();
    let ns = connect(&node.addr).await;
    assert_eq!(ask(&ns, get("c", "k")).await, value("3"));
    assert_eq!(
        ask(&ns, list("a")).await,
        table(serde_json::json!({"table": {}}))
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        file,
        serde_json::json!({"configTable": {"a": {}, "b": {"k": "2"}, "c": {"k": "3"}}})
    );
}

/// Runs the broker binary expecting it to refuse to start; its exit code and stderr.
fn start_fails(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_actormq-broker"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run the broker");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A damaged `kvConfig.json` stops a broker (with its name-server role) and a name-server-only
/// node at start, with one line naming the file, as a damaged `topics.json` does; the file is
/// left as it was. With the role off the file is not read.
#[tokio::test]
async fn a_damaged_kv_config_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let kv = root.join("config/kvConfig.json");
    std::fs::create_dir_all(kv.parent().unwrap()).unwrap();
    let damaged = br#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"#;
    std::fs::write(&kv, damaged).unwrap();
    let config = dir.path().join("broker.toml");
    std::fs::write(&config, common::config_text(&root, "")).unwrap();

    for args in [&[][..], &["--namesrv-only"][..]] {
        let (code, stderr) = start_fails(&config, args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("actormq-broker: "))
            .unwrap_or_else(|| panic!("{args:?}: {stderr}"));
        assert!(
            line.contains(&kv.display().to_string()) && line.contains("kvConfig.json"),
            "{line}"
        );
        assert_eq!(std::fs::read(&kv).unwrap(), damaged);
    }

    let mut b = TestBroker::start_with("[namesrv]\nenabled = false");
    std::fs::create_dir_all(b.root().join("config")).unwrap();
    std::fs::write(b.root().join("config/kvConfig.json"), damaged).unwrap();
    b.stop();
    b.restart();
    assert!(b.namesrv_addr.is_none());
}

/// Two topics, so a first registration is taken (Java refuses one with exactly one).
fn two_topics() -> TopicConfigWrapper {
    TopicConfigWrapper {
        topic_config_table: ["OrderedTopic", "Other"]
            .iter()
            .map(|t| (t.to_string(), TopicConfig::new(t, 4)))
            .collect(),
        data_version: WireDataVersion {
            counter: 1,
            state_version: 0,
            timestamp: 1,
        },
    }
}

/// `ORDER_TOPIC_CONFIG`: a route carries the topic's value as `orderTopicConf` only while
/// `orderMessageEnable` is on (off by default, as in Java 5.3.3; UPDATE_NAMESRV_CONFIG turns it on
/// until restart, `namesrv.order_message_enable` for good); a REGISTER_BROKER answer carries the
/// whole namespace as its body.
#[tokio::test]
async fn order_topic_config_in_routes_and_registrations() {
    let mut node = TestBroker::start_namesrv_only("");
    let ns = connect(&node.addr).await;
    let other_broker = BrokerRegistration {
        cluster: "DefaultCluster".into(),
        broker_name: "broker-x".into(),
        broker_addr: "127.0.0.1:1".into(),
        broker_id: 0,
        ha_server_addr: "127.0.0.1:2".into(),
    };
    let resp = ns
        .request(other_broker.register_request(&two_topics()))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    assert!(resp.body.is_empty(), "no order config yet");

    let conf = "broker-x:4";
    assert_eq!(
        ask(&ns, put("ORDER_TOPIC_CONFIG", "OrderedTopic", conf)).await,
        success()
    );
    let r = ask(&ns, route("OrderedTopic")).await.body.unwrap();
    assert_eq!(r["orderTopicConf"], serde_json::Value::Null, "{r}");
    assert_eq!(r["brokerDatas"][0]["brokerName"], "broker-x");

    assert_eq!(
        ask(&ns, update_config("orderMessageEnable=true\n")).await,
        success()
    );
    assert_eq!(namesrv_config(&ns).await["orderMessageEnable"], "true");
    let r = ask(&ns, route("OrderedTopic")).await.body.unwrap();
    assert_eq!(r["orderTopicConf"], conf);
    let r = ask(&ns, route("Other")).await.body.unwrap();
    assert!(r.get("orderTopicConf").is_none(), "{r}");

    let resp = ns
        .request(other_broker.register_request(&two_topics()))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(body, serde_json::json!({"table": {"OrderedTopic": conf}}));

    // The runtime switch does not outlive the process; the config key does.
    drop(ns);
    node.stop();
    node.restart();
    let ns = connect(&node.addr).await;
    assert_eq!(namesrv_config(&ns).await["orderMessageEnable"], "false");
    drop(ns);
    node.stop();
    node.reconfigure("[namesrv]\norder_message_enable = true");
    node.restart();
    let ns = connect(&node.addr).await;
    assert_eq!(namesrv_config(&ns).await["orderMessageEnable"], "true");
    ns.request(other_broker.register_request(&two_topics()))
        .await
        .unwrap();
    let r = ask(&ns, route("OrderedTopic")).await.body.unwrap();
    assert_eq!(r["orderTopicConf"], conf);
}

/// GET_NAMESRV_CONFIG prints Java's keys with this node's values; UPDATE_NAMESRV_CONFIG applies
/// `orderMessageEnable` and refuses everything else whole: Java's black list with its remark, any
/// other key by name (NO_PERMISSION), a body that is not properties text or a value that is not
/// a boolean (SYSTEM_ERROR).
#[tokio::test]
async fn namesrv_config_get_and_update() {
    let broker = TestBroker::start_with("[server]\nidle_timeout_secs = 77");
    let addr = broker.namesrv_addr.as_deref().unwrap();
    let ns = connect(addr).await;
    let config = namesrv_config(&ns).await;
    let keys: Vec<&str> = config.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "bindAddress",
            "enableAllTopicList",
            "enableTopicList",
            "kvConfigPath",
            "listenPort",
            "orderMessageEnable",
            "returnOrderTopicConfigToBroker",
            "scanNotActiveBrokerInterval",
            "serverChannelMaxIdleTimeSeconds",
        ]
    );
    assert_eq!(config["bindAddress"], "127.0.0.1");
    assert_eq!(config["serverChannelMaxIdleTimeSeconds"], "77");
    assert_eq!(config["scanNotActiveBrokerInterval"], "5000");
    assert_eq!(config["orderMessageEnable"], "false");
    assert!(
        config["kvConfigPath"].ends_with("store/config/kvConfig.json"),
        "{config:?}"
    );

    assert_eq!(ask(&ns, update_config("")).await, success());
    assert_eq!(
        ask(
            &ns,
            update_config("orderMessageEnable=true\nlistenPort=1\n")
        )
        .await,
        refused(
            response_code::NO_PERMISSION,
            "Can not update config at runtime: \"listenPort\"; only orderMessageEnable can be, \
             the rest is set in the config file and takes a restart"
        )
    );
    assert_eq!(
        ask(&ns, update_config("kvConfigPath=/tmp/elsewhere.json")).await,
        refused(
            response_code::NO_PERMISSION,
            "Can not update config in black list."
        )
    );
    assert_eq!(
        ask(&ns, update_config("orderMessageEnable=\\u00zz")).await,
        refused(
            response_code::SYSTEM_ERROR,
            "string2Properties error: Malformed \\uxxxx encoding."
        )
    );
    assert_eq!(
        ask(&ns, update_config("orderMessageEnable=yes")).await,
        refused(
            response_code::SYSTEM_ERROR,
            "orderMessageEnable=\"yes\": not true or false"
        )
    );
    assert_eq!(namesrv_config(&ns).await, config, "nothing was applied");

    assert_eq!(
        ask(
            &ns,
            update_config("# set by a test\norderMessageEnable = TRUE\n")
        )
        .await,
        success()
    );
    assert_eq!(namesrv_config(&ns).await["orderMessageEnable"], "true");
    // The broker's own route now carries the order config it has.
    broker
        .client()
        .await
        .send(&OutgoingMessage::new("Ordered", "x"))
        .await
        .unwrap();
    ask(&ns, put("ORDER_TOPIC_CONFIG", "Ordered", "broker-a:4")).await;
    let r = ask(&ns, route("Ordered")).await.body.unwrap();
    assert_eq!(r["orderTopicConf"], "broker-a:4");
}

/// Runs the stock mqadmin; its stdout and stderr (a failure's exception is printed there),
/// whatever the exit status.
fn mqadmin(lib: &std::path::Path, namesrv: &str, args: &[&str]) -> String {
    let out = common::java_server::mqadmin(lib, namesrv, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("[mqadmin {args:?}] {text}");
    text
}

/// The stock `mqadmin` (rocketmq-tools 5.3.3): `updateKvConfig`, `deleteKvConfig`,
/// `updateOrderConf` (put, get, delete), `getNamesrvConfig` and `updateNamesrvConfig` against a
/// name-server-only node, which answered REQUEST_CODE_NOT_SUPPORTED to all of them before.
#[tokio::test]
async fn stock_mqadmin_kv_and_config_commands() {
    let Some(lib) = common::java_server::server_lib("namesrv_admin") else {
        return;
    };
    let node = TestBroker::start_namesrv_only("");
    let addr = node.addr.as_str();
    let ns = connect(addr).await;

    let out = mqadmin(
        &lib,
        addr,
        &[
            "updateKvConfig",
            "-s",
            "myns",
            "-k",
            "mykey",
            "-v",
            "myvalue",
        ],
    );
    assert!(
        out.contains("create or update kv config to namespace success"),
        "{out}"
    );
    assert_eq!(ask(&ns, get("myns", "mykey")).await, value("myvalue"));
    let out = mqadmin(&lib, addr, &["deleteKvConfig", "-s", "myns", "-k", "mykey"]);
    assert!(
        out.contains("delete kv config from namespace success"),
        "{out}"
    );
    assert_eq!(
        ask(&ns, get("myns", "mykey")).await.code,
        response_code::QUERY_NOT_FOUND
    );

    let args = [
        "updateOrderConf",
        "-t",
        "OrderT",
        "-m",
        "put",
        "-v",
        "broker-a:4;broker-b:4",
    ];
    let out = mqadmin(&lib, addr, &args);
    assert!(out.contains("update orderConf success"), "{out}");
    let out = mqadmin(
        &lib,
        addr,
        &["updateOrderConf", "-t", "OrderT", "-m", "get"],
    );
    assert!(
        out.contains("get orderConf success. topic=[OrderT], orderConf=[broker-a:4;broker-b:4]"),
        "{out}"
    );
    let out = mqadmin(
        &lib,
        addr,
        &["updateOrderConf", "-t", "OrderT", "-m", "delete"],
    );
    assert!(out.contains("delete orderConf success"), "{out}");
    assert_eq!(
        ask(&ns, list("ORDER_TOPIC_CONFIG")).await,
        table(serde_json::json!({"table": {}}))
    );

    let out = mqadmin(&lib, addr, &["getNamesrvConfig"]);
    assert!(
        out.contains(&format!("============{addr}============")),
        "{out}"
    );
    // `%-50s=  %s`: the configured port (0 in tests, which bind a free one).
    assert!(
        out.lines()
            .any(|l| l.starts_with("listenPort ") && l.ends_with("=  0")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("orderMessageEnable ") && l.ends_with("=  false")),
        "{out}"
    );

    let out = mqadmin(
        &lib,
        addr,
        &[
            "updateNamesrvConfig",
            "-k",
            "orderMessageEnable",
            "-v",
            "true",
        ],
    );
    assert!(out.contains("update name server config success"), "{out}");
    assert_eq!(namesrv_config(&ns).await["orderMessageEnable"], "true");
    let out = mqadmin(
        &lib,
        addr,
        &["updateNamesrvConfig", "-k", "listenPort", "-v", "1"],
    );
    assert!(
        !out.contains("update name server config success")
            && out.contains("Can not update config at runtime"),
        "{out}"
    );
}

/// The same raw requests get the same codes, remarks, values and bodies from the stock Java name
/// server 5.3.3 and from actormq (PUT without a value aside: Java stores a null there, actormq
/// refuses it).
#[tokio::test]
async fn answers_match_the_java_name_server() {
    let Some(lib) = common::java_server::server_lib("namesrv_admin") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = common::java_server::free_java_port();
    let _java = common::java_server::JavaProcess::namesrv(&lib, dir.path(), port);
    let java = connect(&format!("127.0.0.1:{port}")).await;
    let node = TestBroker::start_namesrv_only("");
    let ours = connect(&node.addr).await;

    let script = [
        put("ns", "k", "v"),
        put("ns", "k2", "v2"),
        put("ns", "k", "v3"),
        get("ns", "k"),
        get("ns", "missing"),
        get("nons", "k"),
        list("ns"),
        list("nons"),
        delete("ns", "k2"),
        delete("ns", "k2"),
        delete("nons", "k"),
        list("ns"),
        delete("ns", "k"),
        list("ns"),
        req(request_code::GET_KV_CONFIG, &[]),
        req(request_code::GET_KV_CONFIG, &[("namespace", "ns")]),
        req(request_code::GET_KVLIST_BY_NAMESPACE, &[]),
        req(request_code::DELETE_KV_CONFIG, &[]),
        req(request_code::PUT_KV_CONFIG, &[("value", "v")]),
        req(
            request_code::PUT_KV_CONFIG,
            &[("namespace", "ns"), ("value", "v")],
        ),
        update_config(""),
        update_config("kvConfigPath=/x"),
        update_config("configStorePath=/x\norderMessageEnable=true"),
        update_config("rocketmqHome=/x"),
        update_config("orderMessageEnable=true"),
    ];
    for cmd in script {
        let what = format!("{} {:?} {:?}", cmd.code, cmd.ext_fields, cmd.body);
        let (j, o) = (ask(&java, cmd.clone()).await, ask(&ours, cmd).await);
        assert_eq!(o, j, "{what}");
    }
    // GET_NAMESRV_CONFIG: every key actormq prints is one Java prints.
    let java_config = namesrv_config(&java).await;
    for (k, v) in namesrv_config(&ours).await {
        assert!(java_config.contains_key(&k), "{k} is not a Java key");
        if ![
            "bindAddress",
            "listenPort",
            "kvConfigPath",
            "serverChannelMaxIdleTimeSeconds",
        ]
        .contains(&k.as_str())
        {
            assert_eq!(java_config[&k], v, "{k}");
        }
    }
}
