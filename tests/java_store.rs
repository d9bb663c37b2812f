//! A store directory the stock Java broker (5.3.3) wrote, taken over by actormq (issue 14 item 4,
//! `docs/cluster.md` "Moving a store from a Java broker"): the commit log and consume queues are
//! the same bytes, so actormq serves every message the Java broker acked, record for record, at
//! the same queue offsets, keeps the consumer offsets the Java broker persisted (fastjson's
//! `{0:664}` keys), and continues at the next offsets. Also: while the Java broker runs, actormq
//! refuses its store (the Java broker's POSIX lock on `lock`). And the way back: a Java broker
//! serves a store actormq wrote.
//!
//! The message index goes both ways too: actormq answers key and unique-key lookups from the index
//! files the Java broker wrote (and keeps adding to them), and the Java broker answers them from
//! the files actormq wrote (both at RocketMQ's default index sizes).
//!
//! Needs the jars of `tests/java-server` (`ACTORMQ_JAVA_SERVER`, see `common/java_server.rs`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use actormq::client::Client;
use actormq::client::{OutgoingMessage, PullRequest};
use actormq::protocol::response_code;
use common::java_server::{self, broker_properties, JavaProcess};
use common::TestBroker;

const TOPICS: [&str; 2] = ["MigA", "MigB"];
const GROUP: &str = "MigG";
/// Commit-log file size of both brokers: small, so the messages span several files.
const FILE_BYTES: u64 = 1024 * 1024;

/// A Java name server and broker on free ports, storing under `<dir>/store`.
struct JavaBroker {
    _namesrv: JavaProcess,
    broker: JavaProcess,
    addr: String,
}

fn start_java(lib: &Path, dir: &Path) -> JavaBroker {
    let ns_port = java_server::free_java_port();
    let namesrv = JavaProcess::namesrv(lib, dir, ns_port);
    let port = java_server::free_broker_port();
    let props = broker_properties(
        "broker-j",
        port,
        &dir.join("store"),
        &format!("127.0.0.1:{ns_port}"),
        &format!("mappedFileSizeCommitLog={FILE_BYTES}\nmaxMessageSize=262144"),
    );
    let broker = JavaProcess::broker(lib, dir, &props);
    JavaBroker {
        _namesrv: namesrv,
        broker,
        addr: format!("127.0.0.1:{port}"),
    }
}

/// Sends `n` messages of varied sizes, tags and keys over [`TOPICS`]; every one must be acked.
async fn send(client: &Client, n: usize, from: usize) {
    for i in from..from + n {
        let mut msg = OutgoingMessage::new(
            TOPICS[i % 2],
            format!("m{i}-{}", "x".repeat(200 + (i * 37) % 1500)),
        );
        msg.tags = Some(format!("T{}", i % 3));
        msg.keys = Some(format!("k{i}"));
        let r = client.send(&msg).await.expect("send to the Java broker");
        assert_eq!(r.code, response_code::SUCCESS, "message {i}");
    }
}

/// Every stored record of every queue of [`TOPICS`], keyed by (topic, queue, queue offset): the
/// raw bytes a pull returns.
async fn read_all(client: &Client) -> BTreeMap<(String, i32, i64), Vec<u8>> {
    let mut out = BTreeMap::new();
    for topic in TOPICS {
        let queues = client.read_queue_nums(topic).await.expect("topic config");
        for queue in 0..queues {
            let mut offset = 0;
            loop {
                let mut req = PullRequest::new("reader", topic, queue, offset);
                req.max_msgs = 32;
                let r = client.pull(&req).await.expect("pull");
                if r.messages.is_empty() {
                    break;
                }
                for m in r.messages {
                    assert_eq!(m.queue_offset, offset, "{topic}/{queue}");
                    out.insert((topic.to_string(), queue, offset), m.raw.to_vec());
                    offset += 1;
                }
            }
        }
    }
    out
}

/// actormq on the Java broker's store (same commit-log file size, Java's index sizes).
fn actormq_on(store: &Path) -> TestBroker {
    TestBroker::start_with(&format!(
        "[store]\nroot = {:?}\ncommitlog_file_bytes = {FILE_BYTES}\n\
         max_hash_slot_num = 5000000\nmax_index_num = 20000000",
        store.display().to_string()
    ))
}

/// Looks up every 97th message [`send`] sent by its key `k<i>` and by its unique key (read from
/// the stored record), through `client` (actormq or the Java broker): each is found, exactly
/// once, byte for byte as stored.
async fn lookups_find(client: &Client, written: &BTreeMap<(String, i32, i64), Vec<u8>>) {
    let by_key: BTreeMap<String, (&str, &Vec<u8>)> = written
        .iter()
        .map(|((topic, _, _), raw)| {
            let m = &actormq::client::decode_messages(&raw.clone().into()).unwrap()[0];
            (m.keys.clone().unwrap(), (topic.as_str(), raw))
        })
        .collect();
    for i in (0..written.len()).step_by(97) {
        let key = format!("k{i}");
        let (topic, raw) = by_key[&key];
        let r = client
            .query_message(topic, &key, 64, (0, i64::MAX), false)
            .await
            .expect("query by key");
        let found = r.matching(topic, &key, false);
        assert_eq!(found.len(), 1, "key {key}");
        assert_eq!(found[0].raw.as_ref(), raw.as_slice(), "key {key}");
        let uniq = found[0].uniq_key.clone().expect("UNIQ_KEY");
        let r = client
            .query_message(topic, &uniq, 32, (0, i64::MAX), true)
            .await
            .expect("query by unique key");
        let found = r.matching(topic, &uniq, true);
        assert_eq!(found.len(), 1, "unique key {uniq}");
        assert_eq!(found[0].raw.as_ref(), raw.as_slice());
    }
}

/// Commits offset `queue_count / 2` of every queue of `MigA` for [`GROUP`]; returns them.
async fn commit_half(client: &Client, read: &BTreeMap<(String, i32, i64), Vec<u8>>) -> Vec<i64> {
    let mut committed = Vec::new();
    for queue in 0..client.read_queue_nums(TOPICS[0]).await.unwrap() {
        let count = read
            .keys()
            .filter(|(t, q, _)| t == TOPICS[0] && *q == queue)
            .count() as i64;
        // A pull by the group creates it on the Java broker (autoCreateSubscriptionGroup); an
        // offset commit for an unknown group is refused there.
        client
            .pull(&PullRequest::new(GROUP, TOPICS[0], queue, 0))
            .await
            .unwrap();
        client
            .update_consumer_offset(GROUP, TOPICS[0], queue, count / 2)
            .await
            .unwrap();
        committed.push(count / 2);
    }
    // Oneway commits: wait until the Java broker shows all of them.
    for (queue, want) in committed.iter().enumerate() {
        common::wait_until_async(std::time::Duration::from_secs(10), "commits", || async {
            client
                .query_consumer_offset(GROUP, TOPICS[0], queue as i32)
                .await
                .ok()
                .flatten()
                == Some(*want)
        })
        .await;
    }
    committed
}

/// A Java broker on `<dir>/store` that has acked `n` messages; with what a pull reads back.
async fn java_with_messages(
    lib: &Path,
    dir: &Path,
    n: usize,
) -> (JavaBroker, Client, BTreeMap<(String, i32, i64), Vec<u8>>) {
    let java = start_java(lib, dir);
    let client = Client::connect(&java.addr).await.unwrap();
    send(&client, n, 0).await;
    let written = read_all(&client).await;
    assert_eq!(written.len(), n);
    (java, client, written)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actormq_serves_a_store_the_java_broker_wrote_after_a_clean_stop() {
    let Some(lib) = java_server::server_lib("java_store") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (mut java, client, written) = java_with_messages(&lib, dir.path(), 3000).await;
    let committed = commit_half(&client, &written).await;

    // The Java broker holds its store: actormq refuses it with a one-line error.
    let probe = tempfile::tempdir().unwrap();
    let config = probe.path().join("broker.toml");
    std::fs::write(
        &config,
        common::config_text(
            &store,
            &format!("[store]\ncommitlog_file_bytes = {FILE_BYTES}"),
        ),
    )
    .unwrap();
    let (code, stderr) = common::run_broker_expecting_failure(&config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("locked by another running broker"),
        "{stderr}"
    );

    java.broker.stop();
    let files = std::fs::read_dir(store.join("commitlog")).unwrap().count();
    assert!(files >= 3, "the messages span {files} commit-log files");

    assert_eq!(
        std::fs::read_dir(store.join("index")).unwrap().count(),
        1,
        "the Java broker wrote one index file"
    );
    let broker = actormq_on(&store);
    let ours = broker.client().await;
    assert_eq!(
        read_all(&ours).await,
        written,
        "every record, byte for byte"
    );
    lookups_find(&ours, &written).await;
    assert!(broker.log_lines(".damaged").is_empty());
    for (queue, want) in committed.iter().enumerate() {
        let got = ours
            .query_consumer_offset(GROUP, TOPICS[0], queue as i32)
            .await
            .unwrap();
        assert_eq!(got, Some(*want), "consumer offset of queue {queue}");
    }
    // New sends continue each queue at its next offset and the log at its end.
    let last = written
        .iter()
        .filter(|((t, q, _), _)| t == TOPICS[1] && *q == 0)
        .map(|((_, _, o), _)| *o)
        .max()
        .unwrap();
    let mut msg = OutgoingMessage::new(TOPICS[1], "after the move");
    msg.queue_id = 0;
    msg.keys = Some("after-move".into());
    let r = ours.send(&msg).await.unwrap();
    assert_eq!((r.code, r.queue_offset), (response_code::SUCCESS, last + 1));
    // Indexed into the Java broker's file, found with the records it indexed.
    let r = ours
        .query_message(TOPICS[1], "after-move", 64, (0, i64::MAX), false)
        .await
        .unwrap();
    assert_eq!(r.matching(TOPICS[1], "after-move", false).len(), 1);
    assert_eq!(
        std::fs::read_dir(store.join("index")).unwrap().count(),
        1,
        "no second file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actormq_recovers_a_store_the_java_broker_left_by_kill_9() {
    let Some(lib) = java_server::server_lib("java_store") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (mut java, _client, written) = java_with_messages(&lib, dir.path(), 2000).await;
    java.broker.kill9();
    assert!(
        store.join("abort").exists(),
        "a killed Java broker leaves abort"
    );

    // Acked means in the page cache: a process crash loses none of it.
    let broker = actormq_on(&store);
    assert!(
        !broker.log_lines("abort marker found").is_empty(),
        "recovered by scanning"
    );
    let ours = broker.client().await;
    assert_eq!(read_all(&ours).await, written);
    lookups_find(&ours, &written).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_java_broker_serves_a_store_actormq_wrote() {
    let Some(lib) = java_server::server_lib("java_store") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut broker = actormq_on(&store);
    let ours = broker.client().await;
    send(&ours, 3000, 0).await;
    let written = read_all(&ours).await;
    let committed = commit_half(&ours, &written).await;
    assert_eq!(broker.stop(), Some(0));
    // actormq's consume-queue files start small; the Java broker wants them full size.
    let finalize = std::process::Command::new(env!("CARGO_BIN_EXE_actormq"))
        .args(["store", "finalize", "--root"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(finalize.status.success(), "{finalize:?}");

    // The way back: a Java broker on actormq's store serves the same records and offsets.
    let java = start_java(&lib, dir.path());
    let client = Client::connect(&java.addr).await.unwrap();
    assert_eq!(
        read_all(&client).await,
        written,
        "every record, byte for byte"
    );
    for (queue, want) in committed.iter().enumerate() {
        let got = client
            .query_consumer_offset(GROUP, TOPICS[0], queue as i32)
            .await
            .unwrap();
        assert_eq!(got, Some(*want), "consumer offset of queue {queue}");
    }
    // The Java broker answers key lookups from the index files actormq wrote.
    lookups_find(&client, &written).await;
}
