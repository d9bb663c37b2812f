//! Damaged and missing store files (issue 13): nothing damaged is served, a bad file stops the
//! broker at start with a one-line error (no panic, nothing half started), a lost `topics.json`
//! is rebuilt, and a deleted lock file does not admit a second broker.

mod common;

use actormq::client::{OutgoingMessage, PullRequest};
use actormq::store::paths;
use common::TestBroker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn send_bodies(broker: &TestBroker, topic: &str, n: usize) {
    let client = broker.client().await;
    for i in 0..n {
        let msg = OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new(topic, format!("body-{i:04}"))
        };
        client.send(&msg).await.unwrap();
    }
}

async fn pulled_bodies(broker: &TestBroker, topic: &str) -> Vec<String> {
    let r = broker
        .client()
        .await
        .pull(&PullRequest::new("g", topic, 0, 0))
        .await
        .unwrap();
    r.messages
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

async fn prometheus(broker: &TestBroker) -> String {
    let addr = broker.metrics_addr.clone().expect("metrics line printed");
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    text
}

/// After a clean stop only the last files are scanned, without CRC checks: a body byte flipped on
/// disk must still never reach a consumer.
#[tokio::test]
async fn a_flipped_body_byte_after_a_clean_stop_is_skipped_and_counted() {
    let mut broker = TestBroker::start_with("[metrics]\nlisten = \"127.0.0.1:0\"");
    send_bodies(&broker, "D", 5).await;
    broker.stop();
    let log = common::read_commit_log(&broker.root());
    let (_, file) = paths::list_files(&paths::commitlog_dir(&broker.root()))
        .unwrap()
        .remove(0);
    let mut bytes = std::fs::read(&file).unwrap();
    // Record 2's body starts after the 84-byte fixed part and its 4-byte length (IPv4 hosts).
    bytes[log[2].physical as usize + 88] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();

    broker.restart();
    let bodies = pulled_bodies(&broker, "D").await;
    assert_eq!(
        bodies,
        ["body-0000", "body-0001", "body-0003", "body-0004"],
        "the damaged record is not served"
    );
    let text = prometheus(&broker).await;
    assert!(
        text.lines()
            .any(|l| l == "actormq_damaged_records_skipped_total 1"),
        "{}",
        text.lines()
            .filter(|l| l.contains("damaged"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(broker.log_lines("damaged record skipped").len(), 1);
}

/// A deleted `topics.json` no longer makes every stored message unreachable.
#[tokio::test]
async fn a_lost_topic_table_is_rebuilt_from_the_consume_queues() {
    let mut broker = TestBroker::start();
    send_bodies(&broker, "Kept", 3).await;
    broker.stop();
    let topics = paths::topics_json(&broker.root());
    std::fs::remove_file(&topics).unwrap();

    broker.restart();
    assert_eq!(
        pulled_bodies(&broker, "Kept").await,
        ["body-0000", "body-0001", "body-0002"]
    );
    assert_eq!(broker.log_lines("topics.json is missing").len(), 1);
    assert!(topics.exists(), "written back");
}

fn assert_refused_cleanly(broker: &TestBroker, needle: &str) {
    let (code, stderr) = common::run_broker_expecting_failure(&broker.config_path());
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("commit-log writer started"),
        "nothing starts before the files are checked: {stderr}"
    );
}

#[tokio::test]
async fn invalid_topic_values_are_refused_at_start() {
    let mut broker = TestBroker::start();
    send_bodies(&broker, "T", 1).await;
    broker.stop();
    let path = paths::topics_json(&broker.root());
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = text.replacen("\"readQueueNums\": 4", "\"readQueueNums\": 0", 1);
    assert_ne!(bad, text, "{text}");
    std::fs::write(&path, bad).unwrap();
    assert_refused_cleanly(&broker, "readQueueNums 0");
}

#[tokio::test]
async fn a_damaged_consumer_offset_file_is_refused_at_start_without_a_panic() {
    let mut broker = TestBroker::start();
    broker.stop();
    let path = paths::consumer_offsets_json(&broker.root());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"{\"offsetTable\": {\"T@g\": {\"0\": ").unwrap();
    assert_refused_cleanly(&broker, "consumerOffset.json");
}

/// The store lock is an OS lock on the store directory as well as on `lock`: deleting the lock
/// file while a broker runs does not let a second one in.
#[tokio::test]
async fn a_deleted_lock_file_does_not_admit_a_second_broker() {
    let broker = TestBroker::start();
    std::fs::remove_file(paths::lock_path(&broker.root())).unwrap();
    let (code, stderr) = common::run_broker_expecting_failure(&broker.config_path());
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("locked by another running broker"),
        "{stderr}"
    );
}
