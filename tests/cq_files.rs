//! Consume-queue files on disk (issue 13, item 3): a new queue costs its initial 64 KiB, not
//! RocketMQ's 6,000,000 bytes; `actormq store finalize` extends short files for a Java broker (and
//! refuses while a broker runs), and the broker keeps serving a finalized store.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use actormq::client::{OutgoingMessage, PullRequest};
use actormq::store::paths;
use common::TestBroker;

/// (length, allocated bytes) of every consume-queue file of the store.
fn cq_files(root: &std::path::Path) -> Vec<(u64, u64)> {
    paths::consume_queue_dirs(root)
        .unwrap()
        .iter()
        .flat_map(|d| paths::list_files(&d.path).unwrap())
        .map(|(_, p)| {
            let m = std::fs::metadata(p).unwrap();
            (m.len(), m.blocks() * 512)
        })
        .collect()
}

fn cli(args: &[&str], root: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_actormq"))
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// 40 one-byte sends to 40 new topics make 40 consume-queue files of 64 KiB each (allocated, not
/// sparse), 2.5 MiB in all instead of 229 MiB.
#[tokio::test]
async fn a_message_to_a_new_topic_costs_64_kib_of_consume_queue() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    for i in 0..40 {
        let msg = OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new(format!("New{i}"), "x")
        };
        client.send(&msg).await.unwrap();
    }
    common::wait_until_async(std::time::Duration::from_secs(10), "40 queues", || async {
        client.max_offset("New39", 0).await.unwrap_or(0) == 1
    })
    .await;
    let files: Vec<(u64, u64)> = cq_files(&broker.root())
        .into_iter()
        .filter(|(len, _)| *len > 0)
        .collect();
    assert!(files.len() >= 40, "{files:?}");
    assert!(files.iter().all(|(len, _)| *len == 65_536), "{files:?}");
    assert!(
        files.iter().all(|(_, alloc)| *alloc >= 65_536),
        "allocated: {files:?}"
    );
}

/// `store finalize` refuses a store a broker runs on; once stopped it extends every consume-queue
/// file to 6,000,000 bytes, `store check` agrees, and a broker restarted on the finalized store
/// serves every message and appends after them.
#[tokio::test]
async fn finalize_makes_full_files_the_broker_still_serves() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    for i in 0..10 {
        let msg = OutgoingMessage {
            queue_id: i % 2,
            ..OutgoingMessage::new("Fin", format!("m{i}"))
        };
        client.send(&msg).await.unwrap();
    }
    let root = broker.root();
    let (ok, text) = cli(&["store", "finalize"], &root);
    assert!(
        !ok && text.contains("locked by another running broker"),
        "{text}"
    );
    broker.stop();

    let (ok, text) = cli(&["store", "finalize"], &root);
    assert!(ok, "{text}");
    assert!(text.contains("extended to full size"), "{text}");
    let files = cq_files(&root);
    assert!(!files.is_empty());
    assert!(files.iter().all(|(len, _)| *len == 6_000_000), "{files:?}");
    let (ok, text) = cli(&["store", "check"], &root);
    assert!(ok && text.starts_with("consume queues agree"), "{text}");
    let (ok, text) = cli(&["store", "check"], &root.join("nothing"));
    assert!(!ok && text.contains("is not a store"), "{text}");

    broker.restart();
    let client = broker.client().await;
    for q in 0..2 {
        let r = client
            .pull(&PullRequest::new("g", "Fin", q, 0))
            .await
            .unwrap();
        assert_eq!(r.messages.len(), 5, "queue {q}");
        let sent = client
            .send(&OutgoingMessage {
                queue_id: q,
                ..OutgoingMessage::new("Fin", "after")
            })
            .await
            .unwrap();
        assert_eq!(sent.queue_offset, 5);
    }
}
