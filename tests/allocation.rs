//! File allocation failure: when the next commit-log file cannot be created, sends get
//! SYSTEM_ERROR "create mapped file failed", nothing already stored is harmed, and once the cause
//! is gone the broker rolls and carries on.

mod common;

use actormq::client::{ClientError, OutgoingMessage};
use actormq::protocol::response_code;
use actormq::store::paths;
use common::TestBroker;

#[tokio::test]
async fn failed_file_creation_is_reported_and_harmless() {
    let mut broker = TestBroker::start();
    broker.stop();
    // A directory where the third 1 MiB file must go: creating that file fails.
    let blocker = paths::commitlog_dir(&broker.root()).join(paths::file_name(2 * 1_048_576));
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
