//! The stock Node.js client `ali-ons` 3.12.0 (npm; the pure-JavaScript RocketMQ 4.x remoting client
//! egg.js applications use) against actormq, with actormq as its name server. `tests/node` is one
//! script with a subcommand per scenario (`scenarios.js`; `package-lock.json` pins ali-ons and its
//! dependencies); each scenario runs as its own `node` process against the real broker binary,
//! checks what it got, and ends with `OK <scenario> key=value ...` (exit 0) or
//! `FAIL <scenario>: why` (exit 1).
//!
//! Gated by `ACTORMQ_NODE_CLIENTS=1`: without it each test says why it skipped and passes, so a
//! plain `cargo test` needs no Node.js. With it, the first test copies `tests/node` to
//! `CARGO_TARGET_TMPDIR/node-clients/app` and runs `npm ci` there once (packages from the npm
//! registry, nothing installed in the checkout). `.ci/run` runs
//! `ACTORMQ_NODE_CLIENTS=1 cargo test --test node_clients`.
//!
//! ali-ons does not create topics (a send to a topic without a route fails with the name server's
//! TOPIC_NOT_EXIST, against the stock name server too): each test creates its topics first with
//! UPDATE_AND_CREATE_TOPIC, as an operator would with `mqadmin updateTopic`.
//!
//! With `ACTORMQ_JAVA_SERVER` set as well, `scenarios_pass_against_the_stock_java_broker` runs the
//! same scenarios against the stock Java name server and broker 5.3.3: what the scenarios require
//! is what the stock broker does.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use actormq::client::Client;
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::scenario::{self, num};
use common::TestBroker;

/// Set to `1` to run these tests.
const GATE_ENV: &str = "ACTORMQ_NODE_CLIENTS";
/// A scenario process that runs longer than this is killed (each has its own 120 s deadline).
const PROCESS_TIMEOUT: Duration = Duration::from_secs(180);
/// Queues of each topic the tests create.
const QUEUES: i32 = 4;

/// The scenario directory with its packages installed, on first use (once per test run).
fn app() -> Option<&'static Path> {
    if std::env::var(GATE_ENV).as_deref() != Ok("1") {
        // Straight to stderr (eprintln! would be captured by the test harness), once.
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "node_clients: skipped, {GATE_ENV} is not 1. With Node.js (20 or later) and npm \
                 on PATH, run `{GATE_ENV}=1 cargo test --test node_clients`"
            );
        });
        return None;
    }
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    Some(INSTALLED.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-clients/app");
        std::fs::create_dir_all(&dir).expect("scenario dir");
        for file in ["package.json", "package-lock.json", "scenarios.js"] {
            std::fs::copy(src.join(file), dir.join(file))
                .unwrap_or_else(|e| panic!("copy tests/node/{file}: {e}"));
        }
        let started = Instant::now();
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .env("npm_config_update_notifier", "false")
            .status()
            .expect("run `npm ci` (npm on PATH)");
        assert!(
            status.success(),
            "npm ci in {} failed: {status}",
            dir.display()
        );
        eprintln!("node_clients: npm ci took {:?}", started.elapsed());
        dir
    }))
}

/// `UPDATE_AND_CREATE_TOPIC` on `broker` for each of `topics`, then waits until the name server
/// `namesrv` routes them (ali-ons fails a send or subscription to a topic without a route).
fn create_topics(broker: &str, namesrv: &str, topics: &[&str]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let b = Client::connect(broker)
            .await
            .expect("connect to the broker");
        for topic in topics {
            let cmd = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
                .with_ext("topic", *topic)
                .with_ext("defaultTopic", "TBW102")
                .with_ext("readQueueNums", QUEUES)
                .with_ext("writeQueueNums", QUEUES)
                .with_ext("perm", 6)
                .with_ext("topicFilterType", "SINGLE_TAG")
                .with_ext("topicSysFlag", 0)
                .with_ext("order", false);
            let r = b.request(cmd).await.unwrap();
            assert_eq!(r.code, response_code::SUCCESS, "create {topic}: {r:?}");
        }
        let ns = Client::connect(namesrv)
            .await
            .expect("connect to the name server");
        let deadline = Instant::now() + Duration::from_secs(30);
        for topic in topics {
            loop {
                let cmd = RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC, 0)
                    .with_ext("topic", *topic);
                if ns.request(cmd).await.unwrap().code == response_code::SUCCESS {
                    break;
                }
                assert!(Instant::now() < deadline, "no route for {topic} after 30 s");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
}

/// Runs scenarios as `node` processes against one name server.
struct Node {
    app: &'static Path,
    logs: PathBuf,
    namesrv: String,
}

impl Node {
    /// Logs of `test` go to `CARGO_TARGET_TMPDIR/node-clients/<test>/`.
    fn new(app: &'static Path, test: &str, namesrv: &str) -> Node {
        let logs = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("node-clients")
            .join(test);
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir_all(&logs).expect("log dir");
        Node {
            app,
            logs,
            namesrv: namesrv.to_string(),
        }
    }

    /// Runs one scenario to completion and returns the `key=value` pairs of its `OK` line;
    /// panics with its output if it fails or runs past the timeout.
    fn run(&self, scenario: &str, topic: &str, count: usize) -> HashMap<String, String> {
        self.run_round(scenario, topic, count, None)
    }

    /// As `run`, with the optional `round` argument (the key prefix of a second `produce`).
    fn run_round(
        &self,
        scenario: &str,
        topic: &str,
        count: usize,
        round: Option<&str>,
    ) -> HashMap<String, String> {
        let log = self.logs.join(format!("{scenario}.log"));
        let mut cmd = Command::new("node");
        cmd.arg(self.app.join("scenarios.js"))
            .args([scenario, &self.namesrv, topic, &count.to_string()])
            .args(round)
            .current_dir(self.app)
            .env("ACTORMQ_NODE_LOG", &log);
        let (code, out) = scenario::run(&mut cmd, PROCESS_TIMEOUT);
        match scenario::ok_fields(scenario, code, &out) {
            Some(fields) => {
                eprintln!("--- node {scenario} {topic} {count}:\n{out}");
                fields
            }
            None => panic!(
                "node {scenario} {topic} {count} exited with {code:?} (client log {}):\n{out}",
                log.display()
            ),
        }
    }
}

/// An actormq broker (its name-server role on) with `extra` configuration, its `topics` created,
/// and the scenario runner pointed at it. `None` (with a message) when the tests are not enabled.
fn start(test: &str, extra: &str, topics: &[&str]) -> Option<(TestBroker, Node)> {
    let app = app()?;
    let broker = TestBroker::start_with(extra);
    let namesrv = broker.namesrv_addr.clone().expect("name-server role on");
    create_topics(&broker.addr, &namesrv, topics);
    let node = Node::new(app, test, &namesrv);
    Some((broker, node))
}

/// `produce` of `count` checked: `2 * count` TagA/TagB messages and `count / 10` TagC.
fn produce(node: &Node, topic: &str, count: usize, round: Option<&str>) {
    let sent = node.run_round("produce", topic, count, round);
    assert_eq!(num(&sent, "sent"), 2 * count);
    assert_eq!(num(&sent, "skipped"), count / 10);
}

/// Awaited and concurrent `Producer.send`s (tags, keys; plus TagC messages the consumer does not
/// subscribe to), then a clustering push consumer subscribed with `TagA || TagB` gets every
/// TagA/TagB message exactly once, as sent, and the broker returns it no TagC message.
#[test]
fn sends_then_push_consumer_gets_each_once() {
    let Some((_broker, node)) = start("sends_push", "", &["NodeSendsPush"]) else {
        return;
    };
    produce(&node, "NodeSendsPush", 100, None);
    let got = node.run("push", "NodeSendsPush", 100);
    assert_eq!(num(&got, "received"), 200);
    assert_eq!(num(&got, "deliveries"), 200);
}

/// The push consumer commits its offsets (UPDATE_CONSUMER_OFFSET, and on pulls) and on close; the
/// group's next consumer gets exactly what was sent after, nothing again.
#[test]
fn push_consumer_restart_resumes_from_committed_offsets() {
    let Some((_broker, node)) = start("resume", "", &["NodeResume"]) else {
        return;
    };
    produce(&node, "NodeResume", 20, None);
    assert_eq!(num(&node.run("push", "NodeResume", 20), "deliveries"), 40);
    produce(&node, "NodeResume", 20, Some("r2"));
    let got = node.run("push-resume", "NodeResume", 20);
    assert_eq!(num(&got, "received"), 40);
    assert_eq!(num(&got, "deliveries"), 40);
}

/// A consumer with ali-ons' default start (CONSUME_FROM_LAST_OFFSET) stops while the topic is
/// empty, committing -1 for every queue (ali-ons' `offsetTable.get(key) || -1` for offset 0);
/// messages sent while it is down all reach the group's next consumer, because the broker answers
/// QUERY_CONSUMER_OFFSET for a stored -1 as for no offset (0 while the queue's first message is in
/// memory), as Java's does, not as offset -1 (which ali-ons takes as "start at the end").
#[test]
fn default_consumer_restart_gets_what_was_sent_while_it_was_down() {
    let Some((_broker, node)) = start("restart_last", "", &["NodeRestartLast"]) else {
        return;
    };
    let got = node.run("restart-last", "NodeRestartLast", 20);
    assert_eq!(num(&got, "received"), 20);
    assert_eq!(num(&got, "deliveries"), 20);
}

/// The listener throws once for one message: ali-ons sends it back with CONSUMER_SEND_MSG_BACK
/// (36), delay level 0, which must succeed (no fallback send); it comes back once through
/// `%RETRY%<group>` with reconsume times 1, stored no earlier than the broker's level 3 (10 s)
/// after the first delivery; every other message once.
#[test]
fn push_consumer_failed_listener_is_retried_once() {
    let Some((_broker, node)) = start("retry", "", &["NodeRetry"]) else {
        return;
    };
    produce(&node, "NodeRetry", 20, None);
    let got = node.run("push-retry", "NodeRetry", 20);
    assert_eq!(num(&got, "received"), 40);
    assert_eq!(num(&got, "deliveries"), 41);
    assert_eq!(num(&got, "send_back_ok"), 1);
    assert!(num(&got, "gap_ms") >= 9500, "{got:?}");
}

/// `maxReconsumeTimes: 1` and a listener that always throws for one message: delivered twice
/// (the retry after the broker's 10 s), then the second 36 puts it in `%DLQ%<group>` (the header's
/// maximum counts: ali-ons says version 121, V3_4_9), where another group reads it once with
/// reconsume times 2.
#[test]
fn push_consumer_failing_past_its_max_goes_to_the_dead_letter_queue() {
    let Some((_broker, node)) = start("dlq", "", &["NodeDlq"]) else {
        return;
    };
    produce(&node, "NodeDlq", 20, None);
    let got = node.run("push-dlq", "NodeDlq", 20);
    assert_eq!(num(&got, "deliveries"), 41);
    assert_eq!(num(&got, "dead"), 1);
    assert_eq!(num(&got, "send_back_ok"), 2);
}

/// Two broadcasting consumers of one group each get every TagA/TagB message exactly once.
#[test]
fn broadcast_consumers_each_get_every_message() {
    let Some((_broker, node)) = start("broadcast", "", &["NodeBroadcast"]) else {
        return;
    };
    produce(&node, "NodeBroadcast", 50, None);
    let got = node.run("broadcast", "NodeBroadcast", 50);
    assert_eq!(num(&got, "consumers"), 2);
    assert_eq!(num(&got, "deliveries"), 100);
}

/// `delayTimeLevel = 2`: each message arrives once, in its topic, stored 5 s or more after it was
/// born, with `DELAY=2` and `REAL_TOPIC` kept in its properties as the stock broker stores them.
#[test]
fn delay_level_send_is_delivered_when_due() {
    let Some((_broker, node)) = start("delay", "", &["NodeDelay"]) else {
        return;
    };
    let got = node.run("delay", "NodeDelay", 20);
    assert_eq!(num(&got, "deliveries"), 20);
    assert!(num(&got, "min_wait_ms") >= 4900, "{got:?}");
}

/// `shardingKey` sends (ali-ons' way of sending in order): each key's messages in one queue at
/// rising offsets, and the push consumer gets each key's messages in the order sent.
#[test]
fn sharding_key_sends_keep_each_key_in_one_queue_in_order() {
    let Some((_broker, node)) = start("sharding", "", &["NodeSharding"]) else {
        return;
    };
    let got = node.run("sharding", "NodeSharding", 100);
    assert_eq!(num(&got, "deliveries"), 100);
}

/// An SQL92 subscription (`TAGS = 'TagA'`) on a broker with `enable_property_filter`: exactly the
/// TagA messages, each once (ali-ons does not filter SQL92 itself).
#[test]
fn sql92_push_consumer_gets_what_its_selector_selects() {
    let Some((_broker, node)) = start(
        "sql",
        "[broker]\nenable_property_filter = true",
        &["NodeSql"],
    ) else {
        return;
    };
    produce(&node, "NodeSql", 40, None);
    let got = node.run("push-sql", "NodeSql", 40);
    assert_eq!(num(&got, "received"), 40);
    assert_eq!(num(&got, "deliveries"), 40);
}

/// Every scenario above against the stock Java name server and broker 5.3.3 (needs
/// `ACTORMQ_JAVA_SERVER` too): the scenarios ask for what the stock broker does.
#[test]
fn scenarios_pass_against_the_stock_java_broker() {
    use common::java_server::{
        broker_properties, free_broker_port, free_java_port, server_lib, JavaProcess,
    };
    let Some(app) = app() else {
        return;
    };
    let Some(lib) = server_lib("node_clients") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ns_port = free_java_port();
    let _namesrv = JavaProcess::namesrv(&lib, dir.path(), ns_port);
    let namesrv = format!("127.0.0.1:{ns_port}");
    let port = free_broker_port();
    let props = broker_properties(
        "broker-java",
        port,
        &dir.path().join("store"),
        &namesrv,
        "enablePropertyFilter=true",
    );
    let _broker = JavaProcess::broker(&lib, dir.path(), &props);
    let topics = [
        "JPush",
        "JRestartLast",
        "JRetry",
        "JDlq",
        "JBroadcast",
        "JDelay",
        "JSharding",
        "JSql",
    ];
    create_topics(&format!("127.0.0.1:{port}"), &namesrv, &topics);
    let node = Node::new(app, "java_broker", &namesrv);

    produce(&node, "JPush", 20, None);
    assert_eq!(num(&node.run("push", "JPush", 20), "deliveries"), 40);
    produce(&node, "JPush", 20, Some("r2"));
    assert_eq!(num(&node.run("push-resume", "JPush", 20), "deliveries"), 40);
    let got = node.run("restart-last", "JRestartLast", 20);
    assert_eq!(num(&got, "deliveries"), 20);
    produce(&node, "JRetry", 20, None);
    assert_eq!(num(&node.run("push-retry", "JRetry", 20), "deliveries"), 41);
    produce(&node, "JDlq", 20, None);
    assert_eq!(num(&node.run("push-dlq", "JDlq", 20), "dead"), 1);
    produce(&node, "JBroadcast", 20, None);
    assert_eq!(
        num(&node.run("broadcast", "JBroadcast", 20), "deliveries"),
        40
    );
    assert_eq!(num(&node.run("delay", "JDelay", 20), "deliveries"), 20);
    assert_eq!(
        num(&node.run("sharding", "JSharding", 40), "deliveries"),
        40
    );
    produce(&node, "JSql", 20, None);
    assert_eq!(num(&node.run("push-sql", "JSql", 20), "deliveries"), 20);
}
