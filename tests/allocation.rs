//! File allocation failure: when the next commit-log file cannot be created, sends get
//! SYSTEM_ERROR "create mapped file failed", nothing already stored is harmed, and once the cause
//! is gone the broker rolls and carries on.

mod common;

use actormq::client::{ClientError, OutgoingMessage, PullRequest};
use actormq::protocol::response_code;
use actormq::store::paths;
use common::TestBroker;

#[tokio::test]
async fn failed_file_creation_is_reported_and_harmless() {
    let mut broker = TestBroker::start();
    broker.stop();
    // A directory where the third 1 MiB file must go: creating that file fails.
    let blocker = paths::commitlog_dir(&broker.root()).join(paths::file_name(2 * 1_048_576));
    let _ = std::fs::remove_file(&blocker); // prepared ahead by the first run's allocator
    std::fs::create_dir_all(&blocker).unwrap();
    broker.restart();

    let client = broker.client().await;
    let body = vec![b'a'; 100_000];
    let msg = OutgoingMessage {
        queue_id: 0,
        ..OutgoingMessage::new("Alloc", body.clone())
    };
    let mut stored = 0;
    let failure = loop {
        match client.send(&msg).await {
            Ok(r) => {
                assert_eq!(r.queue_offset, stored);
                stored += 1;
                assert!(
                    stored < 100,
                    "the blocked file should have been needed by now"
                );
            }
            Err(e) => break e,
        }
    };
    match failure {
        ClientError::Broker { code, remark, .. } => {
            assert_eq!(code, response_code::SYSTEM_ERROR);
            assert!(remark.contains("create mapped file failed"), "{remark}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Still failing while blocked, and still serving.
    assert!(client.send(&msg).await.is_err());

    std::fs::remove_dir(&blocker).unwrap();
    let r = client.send(&msg).await.unwrap();
    assert_eq!(
        r.queue_offset, stored,
        "no offset was consumed by the failed sends"
    );
    drop(client);
    broker.stop();

    let log = common::read_commit_log(&broker.root());
    assert_eq!(log.len() as i64, stored + 1);
    for (i, rec) in log.iter().enumerate() {
        assert_eq!(rec.queue_offset, i as i64);
        assert_eq!(rec.body, body);
    }
}

/// A consume-queue file that cannot be created holds that queue's records back — sends still
/// succeed, other queues are unaffected — and once the cause is gone the queue catches up without a
/// restart, in order.
#[tokio::test]
async fn failed_consume_queue_file_is_retried_until_it_works() {
    use actormq::client::PullRequest;
    use std::time::Duration;

    let broker = TestBroker::start();
    // A directory where queue 0's first consume-queue file must go.
    let blocker = paths::consume_queue_dir(&broker.root(), "CqFail", 0).join(paths::file_name(0));
    std::fs::create_dir_all(&blocker).unwrap();
    let client = broker.client().await;
    for (queue_id, body) in [(0, "a"), (1, "other queue"), (0, "b"), (0, "c")] {
        let r = client
            .send(&OutgoingMessage {
                queue_id,
                ..OutgoingMessage::new("CqFail", body)
            })
            .await
            .unwrap();
        assert_eq!(r.code, response_code::SUCCESS);
    }
    let pull = |queue_id| PullRequest::new("cg", "CqFail", queue_id, 0);
    let r = client.pull(&pull(1)).await.unwrap();
    assert_eq!(r.messages.len(), 1, "queue 1 is indexed as usual");
    let r = client.pull(&pull(0)).await.unwrap();
    assert!(r.messages.is_empty(), "queue 0's records are held back");

    std::fs::remove_dir(&blocker).unwrap();
    let mut bodies = Vec::new();
    common::wait_until_async(Duration::from_secs(10), "queue 0 caught up", || {
        let client = &client;
        async move { client.pull(&pull(0)).await.unwrap().messages.len() == 3 }
    })
    .await;
    for m in client.pull(&pull(0)).await.unwrap().messages {
        bodies.push(String::from_utf8(m.body.to_vec()).unwrap());
    }
    assert_eq!(bodies, ["a", "b", "c"]);
}

/// Sync mode warms files by default (`warm_mapped_file` unset): the first file of a new store comes
/// from the allocator, zero-filled, before the broker listens; every later file too (rolls happen
/// every few sends here).
/// Sends written through the descriptor onto those files come back byte for byte, in order, from
/// the commit log and through pulls, also after a restart.
#[tokio::test]
async fn warm_files_in_sync_mode_hold_every_record_across_rolls() {
    let mut broker = TestBroker::start_with("[flush]\nmode = \"sync\"\nsync_timeout_ms = 10000");
    let first = paths::file_name(0);
    let prepared = broker.log_lines("allocated commit-log file");
    assert!(
        prepared
            .iter()
            .any(|l| l.contains(&first) && l.contains("warm=true")),
        "the first file should be zero-filled by the allocator before listening: {prepared:?}"
    );
    assert!(!broker
        .log_lines("preparing the first commit-log file")
        .is_empty());

    let client = broker.client().await;
    let bodies: Vec<Vec<u8>> = (0..40u8).map(|i| vec![b'a' + i % 26; 60_000]).collect();
    for (i, body) in bodies.iter().enumerate() {
        let msg = OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("Warm", body.clone())
        };
        let r = client.send(&msg).await.unwrap();
        assert_eq!(r.queue_offset, i as i64);
    }
    let files = paths::list_files(&paths::commitlog_dir(&broker.root())).unwrap();
    assert!(files.len() >= 3, "expected rolls, files: {}", files.len());
    let mut offset = 0;
    while offset < bodies.len() as i64 {
        let r = client
            .pull(&PullRequest::new("cg", "Warm", 0, offset))
            .await
            .unwrap();
        assert_eq!(r.code, response_code::SUCCESS, "{}", r.status);
        for m in &r.messages {
            assert_eq!(m.queue_offset, offset);
            assert_eq!(&m.body[..], &bodies[offset as usize][..]);
            offset += 1;
        }
    }
    drop(client);

    broker.stop();
    let log = common::read_commit_log(&broker.root());
    assert_eq!(log.len(), bodies.len());
    for (i, (rec, body)) in log.iter().zip(&bodies).enumerate() {
        assert_eq!((rec.topic.as_str(), rec.queue_offset), ("Warm", i as i64));
        assert_eq!(&rec.body, body);
    }
    broker.restart();
    let client = broker.client().await;
    let r = client
        .send(&OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("Warm", b"after restart".to_vec())
        })
        .await
        .unwrap();
    assert_eq!(r.queue_offset, bodies.len() as i64);
}
