//! Sync flush on a slow disk: a send whose flush takes longer than `flush.sync_timeout_ms` is answered
//! `FLUSH_DISK_TIMEOUT`, and the message stays stored at the offsets that answer gave.
//!
//! The disk is made slow with the broker's fault-injection hook (`ACTORMQ_FAULT_FLUSH_STALL_MS`: a
//! sleep before every commit-log msync), as no portable way exists to slow a real disk down; a failed
//! write is injected the same way (`ACTORMQ_FAULT_WRITE_FAIL_NTH`).

mod common;

use std::time::Duration;

use actormq::client::{Client, ClientError, OutgoingMessage, PullRequest, SendResult};
use actormq::protocol::response_code;
use common::TestBroker;

const SLOW_SYNC_FLUSH: &str = "[flush]\nmode = \"sync\"\nsync_timeout_ms = 200\n";

async fn send(client: &Client, body: &'static str) -> SendResult {
    client
        .send(&OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("SlowDisk", body)
        })
        .await
        .expect("FLUSH_DISK_TIMEOUT is a send result, not an error")
}

#[tokio::test]
async fn flush_slower_than_the_timeout_answers_flush_disk_timeout_and_keeps_the_message() {
    let broker =
        TestBroker::start_with_env(SLOW_SYNC_FLUSH, &[("ACTORMQ_FAULT_FLUSH_STALL_MS", "1500")]);
    let client = broker.client().await;

    let first = send(&client, "first").await;
    assert_eq!(first.code, response_code::FLUSH_DISK_TIMEOUT);
    assert_eq!((first.queue_id, first.queue_offset), (0, 0));
    assert!(
        !first.msg_id.is_empty(),
        "the timeout answer still names the message"
    );
    let second = send(&client, "second").await;
    assert_eq!(second.code, response_code::FLUSH_DISK_TIMEOUT);
    assert_eq!(second.queue_offset, 1, "offsets continue after a timeout");

    // In sync mode consumers only see flushed records: once the stalled flushes complete, both
    // messages are readable at the offsets the timeout answers gave.
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while got.len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "messages never became pullable"
        );
        let r = client
            .pull(&PullRequest::new("cg", "SlowDisk", 0, got.len() as i64))
            .await
            .unwrap();
        got.extend(r.messages);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let read: Vec<_> = got
        .iter()
        .map(|m| (m.queue_offset, m.msg_id.clone(), m.body.to_vec()))
        .collect();
    assert_eq!(
        read,
        vec![
            (0, first.msg_id, b"first".to_vec()),
            (1, second.msg_id, b"second".to_vec())
        ]
    );
}

/// The same broker without the stall answers SUCCESS: the test above fails for the right reason.
#[tokio::test]
async fn sync_flush_within_the_timeout_answers_success() {
    let broker = TestBroker::start_with(SLOW_SYNC_FLUSH);
    let client = broker.client().await;
    assert_eq!(send(&client, "quick").await.code, response_code::SUCCESS);
}

/// A commit-log write that fails (the 4th, injected) answers its send SYSTEM_ERROR and stores
/// nothing of it; the next sends take the queue offsets it would have had (no gap), and the commit
/// log, read back after a clean stop, holds exactly the successful sends.
#[tokio::test]
async fn failed_write_answers_system_error_and_leaves_no_gap() {
    let mut broker = TestBroker::start_with_env(
        "[flush]\nmode = \"sync\"\n",
        &[("ACTORMQ_FAULT_WRITE_FAIL_NTH", "4")],
    );
    assert!(!broker
        .log_lines("ACTORMQ_FAULT_WRITE_FAIL_NTH is set")
        .is_empty());
    let client = broker.client().await;
    let msg = |body: &str| OutgoingMessage {
        queue_id: 0,
        ..OutgoingMessage::new("WriteFails", body.to_string())
    };
    let mut stored = Vec::new();
    for i in 0..7 {
        let body = format!("m{i}");
        match client.send(&msg(&body)).await {
            Ok(r) => {
                assert_ne!(i, 3, "the 4th write was to fail");
                assert_eq!(r.queue_offset, stored.len() as i64);
                stored.push(body);
            }
            Err(ClientError::Broker { code, remark, .. }) => {
                assert_eq!(i, 3, "only the 4th write fails");
                assert_eq!(code, response_code::SYSTEM_ERROR);
                assert!(remark.contains("write commit log failed"), "{remark}");
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(stored.len(), 6);
    let r = client
        .pull(&PullRequest::new("cg", "WriteFails", 0, 0))
        .await
        .unwrap();
    let pulled: Vec<_> = r.messages.iter().map(|m| m.body.to_vec()).collect();
    let expected: Vec<_> = stored.iter().map(|b| b.as_bytes().to_vec()).collect();
    assert_eq!(pulled, expected);
    drop(client);
    broker.stop();
    let log = common::read_commit_log(&broker.root());
    let bodies: Vec<_> = log.iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies, expected);
    let offsets: Vec<_> = log.iter().map(|r| r.queue_offset).collect();
    assert_eq!(offsets, (0..6).collect::<Vec<i64>>());
}
