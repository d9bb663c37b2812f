//! Master/slave replication between two real brokers (`docs/cluster.md`, "Replication"): the
//! slave's commit log is byte-identical to the master's, every message is pullable from the
//! slave, SYNC_MASTER answers only after the slave has the bytes, a killed master loses no acked
//! message, a restarted slave catches up, a slave ahead of its master never diverges silently, a
//! slave whose disk fills waits for space and catches up, and garbage on the HA port is refused
//! without harm.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use actormq::client::{producer_request as send_request, Client, OutgoingMessage, PullRequest};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::paths;
use common::{pull_queue_bodies, read_commit_log, wait_until, wait_until_async, TestBroker};

const TOPICS: [&str; 2] = ["HaA", "HaB"];
const QUEUES: i32 = 4;

fn master(role: &str) -> TestBroker {
    TestBroker::start_with(&format!(
        "[cluster]\nrole = \"{role}\"\n[ha]\nheartbeat_interval_ms = 1000\nhousekeeping_interval_ms = 4000\nslave_timeout_ms = 3000"
    ))
}

fn slave_config(master_ha: &str, master_broker: &str) -> String {
    format!(
        "[cluster]\nrole = \"SLAVE\"\nbroker_id = 1\n[ha]\nmaster_addr = \"{master_ha}\"\nmaster_broker_addr = \"{master_broker}\"\nheartbeat_interval_ms = 1000\nhousekeeping_interval_ms = 4000\nreconnect_max_ms = 1000\nslave_sync_interval_ms = 500"
    )
}

fn slave_of(master: &TestBroker) -> String {
    slave_config(master.ha_addr.as_ref().expect("a master"), &master.addr)
}

/// A slave of `master`, once its metadata sync has brought the test topics over.
async fn slave(master: &TestBroker) -> TestBroker {
    let slave = TestBroker::start_with(&slave_of(master));
    wait_topics(&slave).await;
    slave
}

/// Waits until `b` knows the test topics (the slave's metadata sync).
async fn wait_topics(b: &TestBroker) {
    let c = b.client().await;
    wait_until_async(
        Duration::from_secs(10),
        "the topics synced from the master",
        || async {
            let r = c
                .request(RemotingCommand::request(
                    request_code::GET_ALL_TOPIC_CONFIG,
                    0,
                ))
                .await
                .unwrap();
            let table: actormq::topic::TopicTable = serde_json::from_slice(&r.body).unwrap();
            TOPICS.iter().all(|t| table.get(t).is_some())
        },
    )
    .await;
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
            out.extend(pull_queue_bodies(&c, "ha-group", t, q, 32).await);
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
/// across several commit-log files, and is pullable and found by key there; the slave refuses
/// sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_master_slave_copy_is_byte_identical_and_pullable() {
    let master = master("ASYNC_MASTER");
    create_topics(&master).await;
    let slave = slave(&master).await;
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
    // The slave indexes what it copies: a key finds the same message on both.
    for i in [0, 1, 1234, n - 1] {
        let (topic, key) = (TOPICS[i % 2], format!("K{i}"));
        for b in [&master, &slave] {
            let found = b
                .client()
                .await
                .query_message(topic, &key, 64, (0, i64::MAX), false)
                .await
                .unwrap();
            let bodies: Vec<Vec<u8>> = found
                .matching(topic, &key, false)
                .iter()
                .map(|m| m.body.to_vec())
                .collect();
            assert_eq!(
                bodies,
                vec![message(i).body.to_vec()],
                "{key} on {}",
                b.root().display()
            );
        }
    }
    // The master is up: a pull at the end of a slave's queue is sent to the master.
    let sc = slave.client().await;
    let max = sc.max_offset(TOPICS[0], 0).await.unwrap();
    let mut at_end = PullRequest::new("ha-group", TOPICS[0], 0, max);
    at_end.max_msgs = 1;
    let cmd = at_end.to_command();
    let r = sc.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::PULL_RETRY_IMMEDIATELY);
    assert_eq!(r.ext("suggestWhichBrokerId"), Some("0"));

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

/// The end of the last whole record in a store's commit log.
fn log_end(root: &Path) -> u64 {
    use actormq::store::message::{decode, Decoded};
    let mut end = 0;
    for (start, path) in paths::list_files(&paths::commitlog_dir(root)).unwrap() {
        let bytes = std::fs::read(path).unwrap();
        let mut at = 0;
        while let Ok(Decoded::Record(r)) = decode(&bytes[at..], true) {
            at += r.total_size as usize;
            end = start + at as u64;
        }
    }
    end
}

/// The bytes `[0, end)` of both stores are equal.
fn assert_same_prefix(master: &Path, slave: &Path, end: u64) {
    let (m, s) = (files(master), files(slave));
    for (name, mb) in &m {
        let start: u64 = name.parse().unwrap();
        if start >= end {
            continue;
        }
        let upto = ((end - start) as usize).min(mb.len());
        let sb = s.get(name).unwrap_or_else(|| panic!("slave lacks {name}"));
        assert!(mb[..upto] == sb[..upto], "{name} differs below {end}");
    }
}

/// SYNC_MASTER: without a slave a send is stored but answered SLAVE_NOT_AVAILABLE (11); with one,
/// SUCCESS only once the slave has it. Then the master is killed (-9) under load from several
/// producers: every message it acknowledged is on the slave, and the slave's log is the master's,
/// byte for byte, up to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_acks_only_replicated_sends_and_loses_none_when_killed() {
    let mut master = master("SYNC_MASTER");
    create_topics(&master).await;
    let c = master.client().await;
    let alone = c.request(send_request(&message(0))).await.unwrap();
    assert_eq!(
        alone.code,
        response_code::SLAVE_NOT_AVAILABLE,
        "{:?}",
        alone.remark
    );
    assert!(alone.ext("msgId").is_some(), "stored: the ids are answered");

    let slave = slave(&master).await;
    wait_until(Duration::from_secs(10), "the slave to connect", || {
        !master.log_lines("master transfer data from").is_empty()
    })
    .await;
    let mut tasks = Vec::new();
    for p in 0..4 {
        let addr = master.addr.clone();
        tasks.push(tokio::spawn(async move {
            let c = Client::connect(&addr).await.unwrap();
            let mut acked = Vec::new();
            for i in 0..100_000 {
                let m = message(1 + p + 4 * i);
                match c.request(send_request(&m)).await {
                    Ok(r) if r.code == response_code::SUCCESS => acked.push(m.body.to_vec()),
                    Ok(r) => panic!("unexpected answer {} {:?}", r.code, r.remark),
                    Err(_) => break, // the master is gone
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    master.kill9();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(acked.len() > 50, "only {} sends acked", acked.len());
    // Give the slave a moment to apply what was on the wire (more is fine; less is not).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let on_slave: std::collections::HashSet<Vec<u8>> = read_commit_log(&slave.root())
        .into_iter()
        .map(|r| r.body)
        .collect();
    let missing = acked.iter().filter(|b| !on_slave.contains(*b)).count();
    assert_eq!(
        missing,
        0,
        "{missing} of {} acked messages are not on the slave",
        acked.len()
    );
    assert_same_prefix(&master.root(), &slave.root(), log_end(&slave.root()));
}

/// A slave killed (-9) while the master takes sends restarts, resumes from its own offset and
/// catches up: byte-identical again, everything pullable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_killed_mid_stream_resumes_from_its_offset_and_catches_up() {
    let master = master("ASYNC_MASTER");
    create_topics(&master).await;
    let mut slave = slave(&master).await;
    let c = master.client().await;
    assert!(send_all(&c, 0, 800)
        .await
        .iter()
        .all(|&x| x == response_code::SUCCESS));
    slave.kill9();
    assert!(send_all(&c, 800, 800)
        .await
        .iter()
        .all(|&x| x == response_code::SUCCESS));
    slave.restart();
    assert!(send_all(&c, 1600, 400)
        .await
        .iter()
        .all(|&x| x == response_code::SUCCESS));
    wait_caught_up(&master, &slave).await;
    assert_same_bytes(&master.root(), &slave.root());
    assert_eq!(pull_bodies(&slave).await, expected_bodies(2000));
    let resumed = slave.log_lines("HAClient connect to master");
    assert!(
        resumed.iter().any(|l| !l.contains("slave_offset=0")),
        "the restarted slave reported its own offset: {resumed:?}"
    );
}

/// A slave whose log is longer than its master's (it held data of another master) is what Java
/// tolerates with heartbeats: the master logs it, the slave keeps its log unchanged, and when
/// the master's log passes it, the master's bytes do not continue the slave's log and are refused
/// (logged) instead of stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_ahead_of_its_master_is_logged_and_never_diverges() {
    let mut other = master("ASYNC_MASTER");
    create_topics(&other).await;
    let oc = other.client().await;
    assert!(send_all(&oc, 10_000, 200)
        .await
        .iter()
        .all(|&x| x == response_code::SUCCESS));
    drop(oc);
    other.stop();
    let records = |root: &Path| -> Vec<(i64, Vec<u8>)> {
        read_commit_log(root)
            .into_iter()
            .map(|r| (r.physical, r.body))
            .collect()
    };
    let before = records(&other.root());
    let ahead_end = log_end(&other.root());

    let master = master("ASYNC_MASTER");
    create_topics(&master).await;
    let c = master.client().await;
    assert!(send_all(&c, 0, 20)
        .await
        .iter()
        .all(|&x| x == response_code::SUCCESS));
    other.reconfigure(&slave_of(&master));
    other.restart();
    wait_until(
        Duration::from_secs(10),
        "the master to log the slave ahead",
        || !master.log_lines("ahead of its master").is_empty(),
    )
    .await;
    assert_eq!(
        records(&other.root()),
        before,
        "nothing written while ahead"
    );
    // The master passes the slave's offset: its bytes there are not the slave's log.
    let mut i = 20;
    while log_end(&master.root()) < ahead_end + 4096 {
        send_all(&c, i, 100).await;
        i += 100;
    }
    wait_until(
        Duration::from_secs(10),
        "the slave to refuse the master's bytes",
        || {
            !other.log_lines("replicated bytes refused").is_empty()
                || !other.log_lines("master pushed offset not equal").is_empty()
        },
    )
    .await;
    assert_eq!(
        log_end(&other.root()),
        ahead_end,
        "the slave's log never took foreign bytes"
    );
}

/// Garbage on the HA port: text and a negative offset are refused and the connection closed;
/// a slave pointed at a port that is not an HA master retries without harm; a real slave still
/// replicates afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_ha_port_is_refused_and_nothing_breaks() {
    use std::io::{Read, Write};
    let master = master("ASYNC_MASTER");
    let ha = master.ha_addr.clone().unwrap();
    for garbage in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        (-1i64).to_be_bytes().to_vec(),
    ] {
        let mut s = std::net::TcpStream::connect(&ha).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&garbage).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(s.read(&mut buf).unwrap_or(0), 0, "closed by the master");
    }
    wait_until(Duration::from_secs(5), "both refusals logged", || {
        master.log_lines("not a RocketMQ slave").len() == 2
    })
    .await;

    // A slave whose "master" is a remoting port, not an HA port.
    let confused = TestBroker::start_with(&slave_config(&master.addr, &master.addr));
    wait_until(Duration::from_secs(10), "the slave to retry", || {
        confused.log_lines("HA connection to master lost").len() >= 2
    })
    .await;
    let probe = confused
        .client()
        .await
        .request(send_request(&message(0)))
        .await
        .unwrap();
    assert_eq!(
        probe.code,
        response_code::SYSTEM_BUSY,
        "alive, and still a slave"
    );

    create_topics(&master).await;
    let slave = slave(&master).await;
    let c = master.client().await;
    assert!(send_all(&c, 0, 100)
        .await
        .iter()
        .all(|&x| x == response_code::SUCCESS));
    wait_caught_up(&master, &slave).await;
    assert_same_bytes(&master.root(), &slave.root());
}

/// Slave metadata sync: topics, consumer offsets, delay offsets and subscription groups come from
/// the master (21, 43, 45, 201) and are persisted on the slave; offsets committed on the master
/// later arrive at the next round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_syncs_topics_offsets_delay_offsets_and_groups_from_its_master() {
    let master = master("ASYNC_MASTER");
    create_topics(&master).await;
    let c = master.client().await;
    c.create_subscription_group("SyncGroup").await.unwrap();
    c.update_consumer_offset("SyncGroup", "HaA", 1, 7)
        .await
        .unwrap();
    let mut delayed = message(0);
    delayed.properties.push(("DELAY".into(), "1".into()));
    assert_eq!(
        c.request(send_request(&delayed)).await.unwrap().code,
        response_code::SUCCESS
    );
    let body = |b: &TestBroker, code: i32| {
        let addr = b.addr.clone();
        async move {
            let c = Client::connect(&addr).await.unwrap();
            let r = c.request(RemotingCommand::request(code, 0)).await.unwrap();
            assert_eq!(r.code, response_code::SUCCESS);
            r.body
        }
    };
    let all = |b: &TestBroker, code: i32| {
        let f = body(b, code);
        async move { serde_json::from_slice::<serde_json::Value>(&f.await).unwrap() }
    };
    let delay = |b: &TestBroker| {
        let f = body(b, request_code::GET_ALL_DELAY_OFFSET);
        async move {
            let text = String::from_utf8(f.await.to_vec()).unwrap();
            let offsets = actormq::schedule::offsets::DelayOffsets::decode(&text).unwrap();
            offsets.iter().collect::<Vec<_>>()
        }
    };
    wait_until_async(
        Duration::from_secs(10),
        "the delayed message delivered",
        || async { delay(&master).await == vec![(1, 1)] },
    )
    .await;

    let slave = slave(&master).await;
    let sc = slave.client().await;
    wait_until_async(Duration::from_secs(10), "the offset synced", || async {
        sc.query_consumer_offset("SyncGroup", "HaA", 1)
            .await
            .unwrap()
            == Some(7)
    })
    .await;
    wait_until_async(
        Duration::from_secs(10),
        "the delay offsets synced",
        || async { delay(&slave).await == vec![(1, 1)] },
    )
    .await;
    let groups = request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG;
    assert_eq!(
        all(&slave, groups).await["dataVersion"],
        all(&master, groups).await["dataVersion"]
    );
    // A later commit on the master arrives at the next round.
    c.update_consumer_offset("SyncGroup", "HaB", 2, 11)
        .await
        .unwrap();
    wait_until_async(Duration::from_secs(10), "the new offset synced", || async {
        sc.query_consumer_offset("SyncGroup", "HaB", 2)
            .await
            .unwrap()
            == Some(11)
    })
    .await;
    let root = slave.root();
    let persisted = std::fs::read_to_string(paths::consumer_offsets_json(&root)).unwrap();
    assert!(persisted.contains("HaB@SyncGroup"), "{persisted}");
    assert!(std::fs::read_to_string(root.join("config/topics.json"))
        .unwrap()
        .contains("HaA"));
    assert!(
        std::fs::read_to_string(root.join("config/delayOffset.json"))
            .unwrap()
            .contains("offsetTable")
    );
}

/// Scrapes a broker's Prometheus endpoint.
async fn scrape(b: &TestBroker) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = b.metrics_addr.clone().expect("metrics line printed");
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    text
}

/// Scrapes until `done` holds (the HA actors push their gauges every second), at most 10 s;
/// returns the last text either way.
async fn scrape_until(b: &TestBroker, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(b).await;
        if done(&text) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    text
}

/// Replication lag per slave in Prometheus (`actormq_ha_slave_lag_bytes{slave=..}` and seconds)
/// and `actormq stats` on the master; the slave's own view (connected, master offset, behind).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_lag_in_prometheus_and_stats() {
    let master = TestBroker::start_with(
        "[cluster]\nrole = \"ASYNC_MASTER\"\n[metrics]\nlisten = \"127.0.0.1:0\"",
    );
    create_topics(&master).await;
    let slave = TestBroker::start_with(&format!(
        "{}\n[metrics]\nlisten = \"127.0.0.1:0\"",
        slave_of(&master)
    ));
    wait_topics(&slave).await;
    let c = master.client().await;
    assert!(send_all(&c, 0, 200)
        .await
        .iter()
        .all(|&x| x == response_code::SUCCESS));
    wait_caught_up(&master, &slave).await;
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(&master).await;
        if text.contains("actormq_ha_slave_lag_bytes{slave=")
            && text.contains("actormq_ha_slaves 1")
        {
            let lag_line = text
                .lines()
                .find(|l| l.starts_with("actormq_ha_slave_lag_bytes{"))
                .unwrap();
            if lag_line.ends_with(" 0") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        text.contains("# TYPE actormq_ha_slave_lag_bytes gauge"),
        "{text}"
    );
    assert!(
        text.contains("actormq_ha_slave_lag_seconds{slave="),
        "{text}"
    );
    let lag_line = text
        .lines()
        .find(|l| l.starts_with("actormq_ha_slave_lag_bytes{"))
        .unwrap();
    assert!(lag_line.ends_with(" 0"), "caught up: {lag_line}");
    assert_eq!(text.matches("# TYPE actormq_ha_slave_lag_bytes").count(), 1);

    let slave_text = scrape_until(&slave, |t| t.contains("actormq_ha_slave_behind_bytes 0")).await;
    assert!(
        slave_text.contains("actormq_ha_master_connected 1"),
        "{slave_text}"
    );
    assert!(
        slave_text.contains("actormq_ha_slave_behind_bytes 0"),
        "{slave_text}"
    );
    assert!(
        !slave_text.contains("actormq_ha_master_offset_bytes 0\n"),
        "{slave_text}"
    );

    let stats = std::process::Command::new(env!("CARGO_BIN_EXE_actormq"))
        .args(["--broker", &master.addr, "stats"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&stats.stdout);
    assert!(out.contains("replication: 1 slave(s)"), "{out}");
    assert!(out.contains("lag 0 bytes"), "{out}");
    let stats = std::process::Command::new(env!("CARGO_BIN_EXE_actormq"))
        .args(["--broker", &slave.addr, "stats"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&stats.stdout);
    assert!(
        out.contains("replication (slave): master connected"),
        "{out}"
    );
}

/// SYNC_MASTER with a slave that never acknowledges (a bare HA peer that reports 0 once): a send
/// waits `ha.slave_timeout_ms`, then is answered FLUSH_SLAVE_TIMEOUT (12), stored; a send with
/// `WAIT=false` does not wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_answers_flush_slave_timeout_when_the_slave_does_not_ack() {
    use std::io::Write;
    let master =
        TestBroker::start_with("[cluster]\nrole = \"SYNC_MASTER\"\n[ha]\nslave_timeout_ms = 500");
    create_topics(&master).await;
    let mut peer = std::net::TcpStream::connect(master.ha_addr.as_ref().unwrap()).unwrap();
    peer.write_all(&0i64.to_be_bytes()).unwrap();
    wait_until(
        Duration::from_secs(10),
        "the peer to be taken as a slave",
        || !master.log_lines("master transfer data from").is_empty(),
    )
    .await;
    let c = master.client().await;
    let began = std::time::Instant::now();
    let r = c.request(send_request(&message(1))).await.unwrap();
    assert_eq!(r.code, response_code::FLUSH_SLAVE_TIMEOUT, "{:?}", r.remark);
    assert!(
        began.elapsed() >= Duration::from_millis(450),
        "{:?}",
        began.elapsed()
    );
    assert!(r.ext("msgId").is_some(), "stored: the ids are answered");
    let mut no_wait = message(2);
    no_wait.properties.push(("WAIT".into(), "false".into()));
    let r = c.request(send_request(&no_wait)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    let stored = read_commit_log(&master.root());
    assert!(stored.iter().any(|m| m.body == message(1).body.to_vec()));
    drop(peer);
}

/// A slave configured with neither `ha.master_addr` nor `ha.master_broker_addr` learns both from
/// the name server both brokers register with (the master registers its HA address; the answer to
/// the slave's registration names it), then replicates and syncs metadata as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_learns_its_master_from_the_name_server() {
    let ns = TestBroker::start_namesrv_only("");
    let namesrv = format!("[cluster]\nnamesrv_addr = [\"{}\"]\n", ns.addr);
    let master = TestBroker::start_with(&format!(
        "{namesrv}role = \"ASYNC_MASTER\"\n[ha]\nheartbeat_interval_ms = 1000"
    ));
    create_topics(&master).await;
    let slave = TestBroker::start_with(&format!(
        "{namesrv}role = \"SLAVE\"\nbroker_id = 1\n[ha]\nheartbeat_interval_ms = 1000\n\
         reconnect_max_ms = 1000\nslave_sync_interval_ms = 500"
    ));
    wait_topics(&slave).await;
    let c = master.client().await;
    let n = 500;
    assert!(send_all(&c, 0, n)
        .await
        .iter()
        .all(|&code| code == response_code::SUCCESS));
    wait_caught_up(&master, &slave).await;
    assert_same_bytes(&master.root(), &slave.root());
    assert_eq!(pull_bodies(&slave).await, expected_bodies(n));
}

/// A slave whose disk fills up is a state, not a crash: it stays up with its log a prefix of the
/// master's (nothing half-written, nothing skipped), the master keeps taking sends, and when space
/// returns the slave catches up by itself, byte-identical again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_whose_disk_fills_waits_for_space_then_catches_up() {
    use common::small_disk::{write_file, Fs, SmallDisk};
    let disk = match SmallDisk::mount(Fs::Tmpfs, 32) {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED a slave's full disk: {why}");
            return;
        }
    };
    let ballast = disk.path("ballast");
    write_file(&ballast, 16 << 20);
    let master = master("ASYNC_MASTER");
    create_topics(&master).await;
    let root = disk.path("store").display().to_string();
    let mut slave = TestBroker::start_with(&format!(
        "{}\n[store]\nroot = {root:?}\ndisk_check_interval_ms = 100",
        slave_of(&master)
    ));
    wait_topics(&slave).await;
    // 20 MiB of messages, more than the slave's disk has room for.
    let c = master.client().await;
    for i in 0..320u32 {
        let mut body = vec![(i % 251) as u8; 64 * 1024];
        body[..4].copy_from_slice(&i.to_be_bytes());
        let m = OutgoingMessage::new(TOPICS[0], body);
        c.send(&m).await.expect("the master takes sends");
    }
    let end = log_end(&master.root());
    wait_until(Duration::from_secs(20), "the slave to stop short", || {
        !slave.log_lines("No space left on device").is_empty()
    })
    .await;
    assert!(
        log_end(&disk.path("store")) < end,
        "the slave had room after all"
    );
    assert_same_prefix(
        &master.root(),
        &disk.path("store"),
        log_end(&disk.path("store")),
    );
    std::fs::remove_file(&ballast).unwrap();
    wait_until(Duration::from_secs(30), "the slave to catch up", || {
        log_end(&disk.path("store")) == end
    })
    .await;
    assert_same_bytes(&master.root(), &disk.path("store"));
    assert_eq!(slave.stop(), Some(0), "a clean stop");
}
