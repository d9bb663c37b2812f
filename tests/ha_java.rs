//! Replication with the stock Java broker (`org.apache.rocketmq:rocketmq-broker` 5.3.3), both ways,
//! and the live migration path (issue 14 items 3 and 4, `docs/cluster.md`):
//! - a Java master and an actormq slave: the slave connects to the Java master's HA port, copies
//!   its commit log byte for byte, syncs its metadata from it (Java serves 21, 43, 45, 201 on its
//!   main port) and serves every message; then the Java master is stopped and the actormq slave is
//!   restarted as the master of the same broker name: it continues at the same queue and commit-log
//!   offsets with the consumer offsets the Java master had;
//! - an actormq master and a Java slave: the Java slave learns its master from the name server
//!   (an actormq name-server-only node; a 5.3.3 slave cannot use a configured `haMasterAddress`),
//!   copies the commit log byte for byte over the HA port and syncs its metadata over the master's
//!   VIP channel (`server.vip_listen`, listen port - 2).
//!
//! Needs the jars of `tests/java-server` (`ACTORMQ_JAVA_SERVER`, see `common/java_server.rs`);
//! without them each test says why it skipped and passes.

mod common;

use std::path::Path;
use std::time::Duration;

use actormq::client::{Client, OutgoingMessage, PullRequest};
use actormq::protocol::response_code;
use actormq::store::paths;
use common::java_server::{self, broker_properties, JavaProcess};
use common::{pull_queue_bodies, read_commit_log, wait_until, wait_until_async, TestBroker};

const TOPIC: &str = "JavaHaTopic";
const GROUP: &str = "JavaHaGroup";
/// Commit-log file size on both sides (the test broker's).
const FILE_BYTES: u64 = 1024 * 1024;

async fn send(c: &Client, prefix: &str, n: usize) {
    for i in 0..n {
        let mut m = OutgoingMessage::new(TOPIC, format!("{prefix}-{i}"));
        m.tags = Some("J".into());
        let r = c.send(&m).await.expect("send");
        assert_eq!(r.code, response_code::SUCCESS);
    }
}

/// Every body of [`TOPIC`] on `c`, sorted, once the topic is known there (within `wait`).
async fn bodies(c: &Client, wait: Duration) -> Vec<Vec<u8>> {
    wait_until_async(wait, "the topic on the slave", || async {
        c.read_queue_nums(TOPIC).await.unwrap_or(0) > 0
    })
    .await;
    let queues = c.read_queue_nums(TOPIC).await.unwrap();
    let mut out = Vec::new();
    for q in 0..queues {
        out.extend(pull_queue_bodies(c, "reader", TOPIC, q, 32).await);
    }
    out.sort();
    out
}

fn expected(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    let mut want: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{prefix}-{i}").into_bytes())
        .collect();
    want.sort();
    want
}

/// Waits until `copy` holds as many records as `original`, then compares every commit-log file
/// the records reach, byte for byte.
async fn assert_copied(original: &Path, copy: &Path) {
    let records = read_commit_log(original).len();
    wait_until(Duration::from_secs(30), "the slave to catch up", || {
        read_commit_log(copy).len() == records
    })
    .await;
    let end = read_commit_log(original)
        .last()
        .map_or(0, |r| r.physical as u64);
    for (start, path) in paths::list_files(&paths::commitlog_dir(original)).unwrap() {
        if start > end {
            continue;
        }
        let theirs = paths::commitlog_dir(copy).join(path.file_name().unwrap());
        assert!(
            std::fs::read(&path).unwrap() == std::fs::read(&theirs).unwrap(),
            "commit-log file {} differs",
            path.display()
        );
    }
}

/// Commits offset 2 of every queue of [`TOPIC`] for [`GROUP`] (a pull by the group creates it
/// first, as a Java broker wants); returns the queue count.
async fn commit_offsets(c: &Client) -> i32 {
    let queues = c.read_queue_nums(TOPIC).await.unwrap();
    for q in 0..queues {
        c.pull(&PullRequest::new(GROUP, TOPIC, q, 0)).await.unwrap();
        c.update_consumer_offset(GROUP, TOPIC, q, 2).await.unwrap();
    }
    queues
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_master_actormq_slave_then_the_slave_is_promoted() {
    let Some(lib) = java_server::server_lib("ha_java") else {
        return;
    };
    let ns = TestBroker::start_namesrv_only("");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let port = java_server::free_broker_port();
    let props = broker_properties(
        "broker-java",
        port,
        &store,
        &ns.addr,
        &format!("mappedFileSizeCommitLog={FILE_BYTES}"),
    );
    let mut java = JavaProcess::broker(&lib, dir.path(), &props);
    let java_addr = format!("127.0.0.1:{port}");
    let mut slave = TestBroker::start_with(&format!(
        "[broker]\nname = \"broker-java\"\n[cluster]\nrole = \"SLAVE\"\nbroker_id = 1\n[ha]\n\
         master_addr = \"127.0.0.1:{}\"\nmaster_broker_addr = \"{java_addr}\"\n\
         slave_sync_interval_ms = 500\nheartbeat_interval_ms = 1000",
        port + 1
    ));
    let c = Client::connect(&java_addr).await.unwrap();
    send(&c, "from-java-master", 300).await;
    let queues = commit_offsets(&c).await;
    assert_copied(&store, &slave.root()).await;
    let sc = slave.client().await;
    assert_eq!(
        bodies(&sc, Duration::from_secs(20)).await,
        expected("from-java-master", 300)
    );
    // The consumer offsets arrive with the metadata sync.
    for q in 0..queues {
        wait_until_async(Duration::from_secs(20), "the offsets synced", || async {
            sc.query_consumer_offset(GROUP, TOPIC, q)
                .await
                .ok()
                .flatten()
                == Some(2)
        })
        .await;
    }
    let next_offset = sc.max_offset(TOPIC, 0).await.unwrap();
    let log_end = read_commit_log(&store).last().map(|r| r.physical).unwrap();

    // Promotion: the Java master goes, the actormq slave restarts as the group's master.
    java.stop();
    assert_eq!(slave.stop(), Some(0));
    slave.reconfigure("[broker]\nname = \"broker-java\"");
    slave.restart();
    let pc = slave.client().await;
    assert_eq!(
        bodies(&pc, Duration::from_secs(20)).await,
        expected("from-java-master", 300)
    );
    for q in 0..queues {
        let got = pc.query_consumer_offset(GROUP, TOPIC, q).await.unwrap();
        assert_eq!(got, Some(2), "consumer offset of queue {q} after promotion");
    }
    let mut m = OutgoingMessage::new(TOPIC, "after promotion");
    m.queue_id = 0;
    let r = pc.send(&m).await.unwrap();
    assert_eq!(
        (r.code, r.queue_offset),
        (response_code::SUCCESS, next_offset)
    );
    let physical = i64::from_str_radix(&r.msg_id[r.msg_id.len() - 16..], 16).unwrap();
    assert!(
        physical > log_end,
        "the log continues after the Java master's last record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actormq_master_java_slave() {
    let Some(lib) = java_server::server_lib("ha_java") else {
        return;
    };
    let ns = TestBroker::start_namesrv_only("");
    // The Java slave reaches its master's metadata on the VIP channel: listen port - 2.
    let port = java_server::free_broker_port();
    let master = TestBroker::start_with(&format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nvip_listen = \"127.0.0.1:{}\"\n\
         [cluster]\nnamesrv_addr = [\"{}\"]\nrole = \"ASYNC_MASTER\"",
        port - 2,
        ns.addr
    ));
    let c = master.client().await;
    send(&c, "from-actormq-master", 300).await;
    // More than a file, so the slave catches up in full transfers of 256 KiB (Java's are 32 KiB).
    send(&c, "backlog", 6000).await;
    let last = read_commit_log(&master.root()).last().unwrap().physical;
    assert!(
        last >= FILE_BYTES as i64,
        "the log rolled: last record at {last}"
    );

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let slave_port = java_server::free_broker_port();
    let props = broker_properties(
        "broker-a",
        slave_port,
        &store,
        &ns.addr,
        &format!(
            "brokerId=1\nbrokerRole=SLAVE\nslaveReadEnable=true\nmappedFileSizeCommitLog={FILE_BYTES}\n\
             timerWheelEnable=false"
        ),
    );
    let _java = JavaProcess::broker(&lib, dir.path(), &props);
    assert_copied(&master.root(), &store).await;
    let jc = Client::connect(&format!("127.0.0.1:{slave_port}"))
        .await
        .unwrap();
    // A 5.3.3 slave syncs its metadata (the topic among it) once a minute, the first time a
    // minute after it starts (`BrokerController`: `lastSyncTimeMs`, 60 s).
    let minute = Duration::from_secs(100);
    let mut want = expected("from-actormq-master", 300);
    want.extend(expected("backlog", 6000));
    want.sort();
    assert_eq!(bodies(&jc, minute).await, want);
}
