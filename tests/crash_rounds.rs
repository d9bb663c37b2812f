//! kill -9 rounds in both flush modes (issue 13, item 4): on one store, round after round, several
//! connections send to several topics and queues (and to a topic new in that round), the broker is
//! killed at a random moment, restarted, and then
//!
//! * every message acknowledged in any round so far is in the commit log, with its topic, queue,
//!   queue offset and body. In async mode too: kill -9 ends the process, not the machine, and the
//!   page cache holding what was written (mapped or not yet flushed) survives it;
//! * the consume queues agree with a scan of the commit log
//!   (`actormq::store::check::consume_queues_agree`: every record has the entry at its queue
//!   offset naming exactly it, no entry names anything else), checked after a clean stop, and once
//!   through `actormq store check`;
//! * every queue continues right after its last record.
//!
//! Consume-queue files start at 4 KiB here, so queues grow (remap) and are recovered short.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actormq::client::{Client, OutgoingMessage};
use actormq::store::check::consume_queues_agree;
use actormq::store::message::decode_offset_msg_id;
use actormq::store::paths;
use common::TestBroker;

const ROUNDS: usize = 5;
const TOPICS: [&str; 3] = ["CrashA", "CrashB", "CrashC"];
const QUEUES: i32 = 4;

/// One acknowledged send.
#[derive(Debug, Clone)]
struct Acked {
    physical: i64,
    topic: String,
    queue: i32,
    queue_offset: i64,
    body: String,
}

/// A random number below `n` (std only: a randomly keyed hasher).
fn random_below(n: u64) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    h.finish() % n.max(1)
}

/// Sends from 3 connections x 4 tasks to the three topics and this round's new topic until the
/// broker dies; returns the acknowledged sends once it has been killed after a random number of
/// acknowledgements (between `min` and `min + spread`) and a random extra few milliseconds.
async fn load_then_kill(
    broker: &mut TestBroker,
    round: usize,
    min: usize,
    spread: u64,
) -> Vec<Acked> {
    let acked = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    let new_topic = format!("Round{round}");
    for conn in 0..3 {
        let client: Arc<Client> = Arc::new(broker.client().await);
        for slot in 0..4usize {
            let (client, tx, acked) = (client.clone(), tx.clone(), acked.clone());
            let topic = if slot == 3 && conn == 0 {
                new_topic.clone()
            } else {
                TOPICS[(conn + slot) % TOPICS.len()].to_string()
            };
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let body = format!("r{round}-c{conn}-s{slot}-m{i}-{}", "x".repeat(200));
                    let msg = OutgoingMessage {
                        queue_id: ((slot + i) % QUEUES as usize) as i32,
                        ..OutgoingMessage::new(topic.clone(), body.clone())
                    };
                    match client.send(&msg).await {
                        Ok(r) => {
                            let (_, physical) = decode_offset_msg_id(&r.msg_id).expect("msg id");
                            acked.fetch_add(1, Ordering::Relaxed);
                            let _ = tx.send(Acked {
                                physical,
                                topic: topic.clone(),
                                queue: r.queue_id,
                                queue_offset: r.queue_offset,
                                body,
                            });
                        }
                        Err(_) => break, // the broker died
                    }
                }
            }));
        }
    }
    drop(tx);
    let target = min + random_below(spread) as usize;
    common::wait_until(Duration::from_secs(30), "acknowledged sends", || {
        acked.load(Ordering::Relaxed) >= target
    })
    .await;
    tokio::time::sleep(Duration::from_millis(random_below(20))).await;
    broker.kill9();
    for t in tasks {
        t.await.unwrap();
    }
    let mut out = Vec::new();
    while let Some(a) = rx.recv().await {
        out.push(a);
    }
    out
}

/// Every acknowledged send is a record of the commit log, where its id says, with its topic,
/// queue, queue offset and body.
fn assert_all_stored(root: &std::path::Path, acked: &[Acked], mode: &str, round: usize) {
    let log: HashMap<i64, common::StoredRecord> = common::read_commit_log(root)
        .into_iter()
        .map(|s| (s.physical, s))
        .collect();
    for a in acked {
        let stored = log.get(&a.physical).unwrap_or_else(|| {
            panic!("{mode} round {round}: acknowledged {a:?} missing from the commit log")
        });
        assert_eq!(
            (
                stored.topic.as_str(),
                stored.queue,
                stored.queue_offset,
                stored.body.as_slice()
            ),
            (a.topic.as_str(), a.queue, a.queue_offset, a.body.as_bytes()),
            "{mode} round {round}: record at {}",
            a.physical
        );
    }
}

/// Each queue's next offset is its record count in the commit log.
async fn assert_queues_continue(broker: &TestBroker, mode: &str, round: usize) {
    let mut counts: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for r in common::read_commit_log(&broker.root()) {
        *counts.entry((r.topic, r.queue)).or_default() += 1;
    }
    let client = broker.client().await;
    for ((topic, queue), n) in counts {
        let max = client.max_offset(&topic, queue).await.unwrap();
        assert_eq!(max, n, "{mode} round {round}: {topic}/{queue} max offset");
    }
}

async fn rounds(mode: &str, min: usize, spread: u64) {
    let mut broker = TestBroker::start_with(&format!(
        "[flush]\nmode = \"{mode}\"\n[store]\nconsume_queue_initial_bytes = 4096"
    ));
    let mut all: Vec<Acked> = Vec::new();
    for round in 0..ROUNDS {
        let acked = load_then_kill(&mut broker, round, min, spread).await;
        assert!(
            acked.len() >= min,
            "{mode} round {round}: {} acked",
            acked.len()
        );
        all.extend(acked);
        broker.restart();
        assert_all_stored(&broker.root(), &all, mode, round);
        assert_queues_continue(&broker, mode, round).await;
        assert_eq!(broker.stop(), Some(0), "{mode} round {round}: clean stop");
        let report = consume_queues_agree(&broker.root()).unwrap();
        assert!(report.ok(), "{mode} round {round}: {}", report.summary());
        assert!(report.records as usize >= all.len());
        broker.restart();
    }
    broker.stop();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_actormq"))
        .args(["store", "check", "--root"])
        .arg(broker.root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("consume queues agree"), "{stdout}");
    // The queues grew past their 4 KiB start while being killed, and were recovered short.
    let lengths: Vec<u64> = paths::consume_queue_dirs(&broker.root())
        .unwrap()
        .iter()
        .flat_map(|d| paths::list_files(&d.path).unwrap())
        .map(|(_, p)| std::fs::metadata(p).unwrap().len())
        .collect();
    assert!(
        lengths.iter().any(|l| *l > 4096),
        "{mode}: no queue grew: {lengths:?}"
    );
    assert!(
        lengths.iter().all(|l| *l < 6_000_000),
        "{mode}: {lengths:?}"
    );
}

/// Sync flush: a send is acknowledged once flushed.
#[tokio::test]
async fn kill9_rounds_sync_flush() {
    rounds("sync", 300, 700).await;
}

/// Async flush: acknowledged before the flush, and still never lost to a process kill.
#[tokio::test]
async fn kill9_rounds_async_flush() {
    rounds("async", 1000, 2000).await;
}
