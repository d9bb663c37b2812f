//! Master/slave replication between two real brokers (`docs/cluster.md`, "Replication"): the
//! slave's commit log is byte-identical to the master's, every message is pullable from the
//! slave, SYNC_MASTER answers only after the slave has the bytes, a killed master loses no acked
//! message, a restarted slave catches up, a slave ahead of its master never diverges silently,
//! and garbage on the HA port is refused without harm.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use actormq::client::{producer_request as send_request, Client, OutgoingMessage, PullRequest};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::paths;
use common::{read_commit_log, wait_until, TestBroker};

const TOPICS: [&str; 2] = ["HaA", "HaB"];
const QUEUES: i32 = 4;

fn master(role: &str) -> TestBroker {
    TestBroker::start_with(&format!(
        "[cluster]\nrole = \"{role}\"\n[ha]\nheartbeat_interval_ms = 1000\nhousekeeping_interval_ms = 4000\nslave_timeout_ms = 3000"
    ))
}

fn slave_config(master_ha: &str) -> String {
    format!(
        "[cluster]\nrole = \"SLAVE\"\nbroker_id = 1\n[ha]\nmaster_addr = \"{master_ha}\"\nheartbeat_interval_ms = 1000\nhousekeeping_interval_ms = 4000\nreconnect_max_ms = 1000"
    )
}

fn slave(master: &TestBroker) -> TestBroker {
    TestBroker::start_with(&slave_config(master.ha_addr.as_ref().expect("a master")))
}

/// Creates the test topics (same queue counts on both sides, as slave sync would).
async fn create_topics(b: &TestBroker) {
    let c = b.client().await;
    for t in TOPICS {
        let cmd = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
            .with_ext("topic", t)
            .with_ext("defaultTopic", "TBW102")
            .with_ext("readQueueNums", QUEUES)
            .with_ext("writeQueueNums", QUEUES)
            .with_ext("perm", 6)
            .with_ext("topicFilterType", "SINGLE_TAG");
        let r = c.request(cmd).await.unwrap();
        assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    }
}

fn message(i: usize) -> OutgoingMessage {
    let mut m = OutgoingMessage::new(
        TOPICS[i % 2],
        format!("ha-body-{i}-{}", "x".repeat(i % 300)),
    );
    m.tags = Some(format!("T{}", i % 3));
    m.keys = Some(format!("K{i}"));
    m
}

/// Sends `n` messages (from `first`) and returns the response codes.
async fn send_all(c: &Client, first: usize, n: usize) -> Vec<i32> {
    let mut codes = Vec::with_capacity(n);
    for i in first..first + n {
        let r = c.request(send_request(&message(i))).await.unwrap();
        codes.push(r.code);
    }
    codes
}

/// Every commit-log file's bytes, by name.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    paths::list_files(&paths::commitlog_dir(root))
        .unwrap()
        .into_iter()
        .map(|(_, p)| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(p).unwrap())
        })
        .collect()
}

/// The two stores' commit logs are byte-identical: every file both have is equal, and a file only
/// one side has (prepared ahead of the writer) holds only zeros.
fn assert_same_bytes(master: &Path, slave: &Path) {
    let (m, s) = (files(master), files(slave));
    assert!(!m.is_empty());
    for name in m.keys().chain(s.keys()) {
        match (m.get(name), s.get(name)) {
            (Some(a), Some(b)) => assert!(a == b, "commit-log file {name} differs"),
            (Some(only), None) | (None, Some(only)) => {
                assert!(
                    only.iter().all(|&x| x == 0),
                    "{name} on one side only holds data"
                )
            }
            (None, None) => unreachable!(),
        }
    }
}

/// Waits until the slave has every record the master has (same records at the same offsets).
async fn wait_caught_up(master: &TestBroker, slave: &TestBroker) {
    let want = read_commit_log(&master.root()).len();
    wait_until(Duration::from_secs(20), "the slave to catch up", || {
        read_commit_log(&slave.root()).len() == want
    })
    .await;
}

/// Pulls every message of the test topics from `b`.
async fn pull_bodies(b: &TestBroker) -> Vec<Vec<u8>> {
    let c = b.client().await;
    let mut out = Vec::new();
    for t in TOPICS {
        for q in 0..QUEUES {
            let mut offset = 0;
            loop {
                let mut req = PullRequest::new("ha-group", t, q, offset);
                req.max_msgs = 32;
                let r = c.pull(&req).await.unwrap();
                if r.code != response_code::SUCCESS {
                    break;
                }
                offset = r.next_begin_offset;
                out.extend(r.messages.into_iter().map(|m| m.body.to_vec()));
            }
        }
    }
    out.sort();
    out
}

fn expected_bodies(n: usize) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = (0..n).map(|i| message(i).body.to_vec()).collect();
    v.sort();
    v
}

/// ASYNC_MASTER + slave: every message reaches the slave at the same offsets, byte for byte,
/// across several commit-log files, and is pullable there; the slave refuses sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_master_slave_copy_is_byte_identical_and_pullable() {
    let master = master("ASYNC_MASTER");
    let slave = slave(&master);
    create_topics(&master).await;
    create_topics(&slave).await;
    let c = master.client().await;
    let n = 3000; // ~1.3 MB of records: more than one 1 MiB file
    assert!(send_all(&c, 0, n)
        .await
        .iter()
        .all(|&code| code == response_code::SUCCESS));
    wait_caught_up(&master, &slave).await;
    assert!(
        files(&master.root()).len() >= 2,
        "the log rolled at least once"
    );
    assert_same_bytes(&master.root(), &slave.root());
    assert_eq!(pull_bodies(&slave).await, expected_bodies(n));

    let refused = slave
        .client()
        .await
        .request(send_request(&message(0)))
        .await
        .unwrap();
    assert_eq!(refused.code, response_code::SYSTEM_BUSY);
    assert!(refused
        .remark
        .unwrap_or_default()
        .contains("[REJECTREQUEST]"));
    assert!(!master
        .log_lines("HAService receive new connection")
        .is_empty());
}
