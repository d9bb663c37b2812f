//! How a broker keeps its name servers current (issue 14 item 1, `docs/cluster.md` "Registering"):
//! a created topic is announced alone with REGISTER_TOPIC_IN_NAMESRV (217) to a name server the
//! broker is registered with, and with a whole REGISTER_BROKER (103) to one that refuses the code
//! (RocketMQ 4.x) or when `single_topic_register` is off; with `force_register` off the periodic
//! round asks QUERY_DATA_VERSION (322) and registers only when the name server's version differs.
//!
//! The name server here is scripted (it records every request and answers as a policy says), so
//! the tests see exactly which requests the broker sends. `tests/namesrv.rs` has actormq's own name
//! server answer the same codes, and `tests/java_cluster.rs` the stock Java one.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actormq::client::Client;
use actormq::cluster::route_table::TopicRouteData;
use actormq::protocol::{request_code, response_code, RemotingCodec, RemotingCommand};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

use common::{wait_until, TestBroker};

/// What the scripted name server answers.
#[derive(Default)]
struct Policy {
    /// REGISTER_TOPIC_IN_NAMESRV is answered REQUEST_CODE_NOT_SUPPORTED (a 4.x name server).
    refuse_single_topic: AtomicBool,
    /// QUERY_DATA_VERSION is answered `changed=true`.
    report_changed: AtomicBool,
}

/// A name server that records each request (code, `topic` field, body) and answers by `policy`.
struct ScriptedNameServer {
    addr: String,
    seen: Arc<Mutex<Vec<RemotingCommand>>>,
    policy: Arc<Policy>,
}

impl ScriptedNameServer {
    async fn start() -> ScriptedNameServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let policy = Arc::new(Policy::default());
        let (s, p) = (seen.clone(), policy.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (seen, policy) = (s.clone(), p.clone());
                tokio::spawn(async move {
                    let mut frames = Framed::new(socket, RemotingCodec::default());
                    while let Some(Ok(cmd)) = frames.next().await {
                        let answer = answer(&cmd, &policy);
                        seen.lock().unwrap().push(cmd);
                        if frames.send(answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        ScriptedNameServer { addr, seen, policy }
    }

    fn codes(&self) -> Vec<i32> {
        self.seen.lock().unwrap().iter().map(|c| c.code).collect()
    }

    fn count(&self, code: i32) -> usize {
        self.codes().iter().filter(|c| **c == code).count()
    }

    /// The body of the last REGISTER_BROKER, as text.
    fn last_registration(&self) -> String {
        let seen = self.seen.lock().unwrap();
        let last = seen
            .iter()
            .rev()
            .find(|c| c.code == request_code::REGISTER_BROKER)
            .expect("a registration");
        String::from_utf8_lossy(&last.body).into_owned()
    }

    /// Every REGISTER_TOPIC_IN_NAMESRV so far: its topic and route body.
    fn single_topics(&self) -> Vec<(String, TopicRouteData)> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|c| c.code == request_code::REGISTER_TOPIC_IN_NAMESRV)
            .map(|c| {
                let topic = c.ext("topic").unwrap_or_default().to_string();
                (topic, TopicRouteData::decode(&c.body).unwrap())
            })
            .collect()
    }
}

fn answer(cmd: &RemotingCommand, policy: &Policy) -> RemotingCommand {
    let ok = cmd.response_to(response_code::SUCCESS, None);
    match cmd.code {
        request_code::REGISTER_TOPIC_IN_NAMESRV
            if policy.refuse_single_topic.load(Ordering::SeqCst) =>
        {
            let remark = format!(" request type {} not supported", cmd.code);
            cmd.response_to(response_code::REQUEST_CODE_NOT_SUPPORTED, Some(remark))
        }
        // The name server holds the version the broker asks about, unless told otherwise.
        request_code::QUERY_DATA_VERSION => ok
            .with_ext("changed", policy.report_changed.load(Ordering::SeqCst))
            .with_body(cmd.body.clone()),
        _ => ok,
    }
}

/// A broker registering with `ns` every `interval_ms`, plus `extra` in its `[cluster]` section.
fn broker(ns: &str, interval_ms: u64, extra: &str) -> TestBroker {
    TestBroker::start_with(&format!(
        "[cluster]\nnamesrv_addr = [\"{ns}\"]\nregister_interval_ms = {interval_ms}\n{extra}\n\
         [namesrv]\nenabled = false"
    ))
}

async fn create_topic(client: &Client, topic: &str, queues: i32) {
    let cmd = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
        .with_ext("topic", topic)
        .with_ext("readQueueNums", queues)
        .with_ext("writeQueueNums", queues)
        .with_ext("perm", 6)
        .with_ext("topicFilterType", "SINGLE_TAG");
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
}

const LONG: Duration = Duration::from_secs(10);

/// A created topic goes to the name server alone, as its queue data; no registration follows.
#[tokio::test]
async fn a_created_topic_is_announced_alone() {
    let ns = ScriptedNameServer::start().await;
    let b = broker(&ns.addr, 60_000, "");
    wait_until(LONG, "the first registration", || {
        ns.count(request_code::REGISTER_BROKER) == 1
    })
    .await;
    let client = b.client().await;
    create_topic(&client, "Created", 3).await;
    wait_until(LONG, "the topic announced", || {
        !ns.single_topics().is_empty()
    })
    .await;
    let (topic, route) = ns.single_topics().remove(0);
    assert_eq!(topic, "Created");
    assert_eq!(route.queue_datas.len(), 1);
    let q = &route.queue_datas[0];
    assert_eq!(
        (
            q.broker_name.as_str(),
            q.read_queue_nums,
            q.write_queue_nums,
            q.perm
        ),
        ("broker-a", 3, 3, 6)
    );
    // A change of the topic is announced too; still no whole registration.
    create_topic(&client, "Created", 5).await;
    wait_until(LONG, "the change announced", || {
        ns.single_topics().len() == 2
    })
    .await;
    assert_eq!(ns.single_topics()[1].1.queue_datas[0].write_queue_nums, 5);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ns.count(request_code::REGISTER_BROKER),
        1,
        "{:?}",
        ns.codes()
    );
}

/// A name server that refuses 217 gets the whole table instead, and from then on only that.
#[tokio::test]
async fn a_name_server_refusing_single_topics_gets_the_table() {
    let ns = ScriptedNameServer::start().await;
    ns.policy.refuse_single_topic.store(true, Ordering::SeqCst);
    let b = broker(&ns.addr, 60_000, "");
    wait_until(LONG, "the first registration", || {
        ns.count(request_code::REGISTER_BROKER) == 1
    })
    .await;
    let client = b.client().await;
    create_topic(&client, "First", 2).await;
    wait_until(LONG, "a registration after the refusal", || {
        ns.count(request_code::REGISTER_BROKER) == 2
    })
    .await;
    assert!(ns.last_registration().contains("\"First\""));
    assert_eq!(ns.single_topics().len(), 1);
    create_topic(&client, "Second", 2).await;
    wait_until(LONG, "the next topic registered whole", || {
        ns.count(request_code::REGISTER_BROKER) == 3
    })
    .await;
    assert!(ns.last_registration().contains("\"Second\""));
    assert_eq!(
        ns.single_topics().len(),
        1,
        "not asked again: {:?}",
        ns.codes()
    );
}

/// `single_topic_register = false`: every created topic re-sends the table (Java's default).
#[tokio::test]
async fn without_single_topic_register_the_table_is_sent() {
    let ns = ScriptedNameServer::start().await;
    let b = broker(&ns.addr, 60_000, "single_topic_register = false");
    wait_until(LONG, "the first registration", || {
        ns.count(request_code::REGISTER_BROKER) == 1
    })
    .await;
    create_topic(&b.client().await, "Whole", 2).await;
    wait_until(LONG, "a second registration", || {
        ns.count(request_code::REGISTER_BROKER) == 2
    })
    .await;
    assert!(ns.last_registration().contains("\"Whole\""));
    assert!(ns.single_topics().is_empty());
}

/// `force_register = false`: each round asks QUERY_DATA_VERSION; a registration follows only when
/// the name server reports the version changed.
#[tokio::test]
async fn without_force_register_a_round_asks_the_version_first() {
    let ns = ScriptedNameServer::start().await;
    let _b = broker(&ns.addr, 1_000, "force_register = false");
    wait_until(LONG, "three queries", || {
        ns.count(request_code::QUERY_DATA_VERSION) >= 3
    })
    .await;
    assert_eq!(
        ns.count(request_code::REGISTER_BROKER),
        1,
        "{:?}",
        ns.codes()
    );
    // The query names the broker and carries its version.
    {
        let seen = ns.seen.lock().unwrap();
        let q = seen
            .iter()
            .find(|c| c.code == request_code::QUERY_DATA_VERSION)
            .unwrap();
        assert_eq!(q.ext("brokerName"), Some("broker-a"));
        assert_eq!(q.ext("brokerId"), Some("0"));
        let v: serde_json::Value = serde_json::from_slice(&q.body).unwrap();
        assert!(v["counter"].is_i64() && v["timestamp"].is_i64(), "{v}");
    }
    ns.policy.report_changed.store(true, Ordering::SeqCst);
    wait_until(LONG, "a registration after a changed version", || {
        ns.count(request_code::REGISTER_BROKER) >= 2
    })
    .await;
}
