//! Retention: expired commit-log files are deleted, consumers are moved past what went, and queue
//! offsets never restart — also across a restart, and for a queue whose every record was deleted.
//!
//! Files are aged by setting their mtime back (what retention reads), not by waiting hours.

mod common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use actormq::client::{Client, OutgoingMessage, PullRequest, ReceivedMessage};
use actormq::protocol::response_code;
use actormq::store::paths;
use common::TestBroker;

/// Checks every 50 ms at any hour; 1 MiB files (the test default).
const FAST_RETENTION: &str =
    "[retention]\ndelete_when = \"*\"\ncheck_interval_ms = 50\nfile_reserved_hours = 1\n";

fn commit_log_files(broker: &TestBroker) -> Vec<(u64, PathBuf)> {
    paths::list_files(&paths::commitlog_dir(&broker.root())).unwrap()
}

/// Sets the mtime of every commit-log file starting below `below` two hours back.
fn age_files_below(broker: &TestBroker, below: u64) {
    let old = SystemTime::now() - Duration::from_secs(2 * 3600);
    for (start, path) in commit_log_files(broker) {
        if start < below {
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(old).unwrap();
        }
    }
}

fn body(i: usize) -> Vec<u8> {
    (0..4000).map(|b| ((b * 13 + i) % 251) as u8).collect()
}

async fn send(client: &Client, topic: &str, body: Vec<u8>) -> i64 {
    client
        .send(&OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new(topic, body)
        })
        .await
        .unwrap()
        .queue_offset
}

/// Pulls "Old" queue 0 at `offset` and checks that the first message is the one sent there.
async fn first_old_message_at(client: &Client, offset: i64) -> ReceivedMessage {
    let r = client
        .pull(&PullRequest::new("cg", "Old", 0, offset))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{}", r.status);
    let first = r.messages.into_iter().next().expect("a message");
    assert_eq!(first.queue_offset, offset);
    assert_eq!(first.body.to_vec(), body(offset as usize));
    first
}

#[tokio::test]
async fn expired_files_are_deleted_and_offsets_carry_on() {
    let mut broker = TestBroker::start_with(FAST_RETENTION);
    let client = broker.client().await;
    // "Gone" lives only in the first file; "Old" spans about three files.
    for i in 0..5 {
        assert_eq!(send(&client, "Gone", body(i)).await, i as i64);
    }
    for i in 0..700 {
        assert_eq!(send(&client, "Old", body(i)).await, i as i64);
    }
    let mib = 1 << 20;
    assert!(commit_log_files(&broker).len() >= 3);

    // Fresh files are kept, however often the check runs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(commit_log_files(&broker)[0].0, 0);

    age_files_below(&broker, 2 * mib);
    common::wait_until(
        Duration::from_secs(20),
        "the two aged files deleted",
        || commit_log_files(&broker)[0].0 == 2 * mib,
    )
    .await;

    // Consumers of what went are moved to the new minimum; the rest reads as before.
    let min = client.min_offset("Old", 0).await.unwrap();
    assert!(min > 0 && min < 700, "{min}");
    let r = client
        .pull(&PullRequest::new("cg", "Old", 0, 0))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::PULL_OFFSET_MOVED, "{}", r.status);
    assert_eq!(
        (r.status.as_str(), r.next_begin_offset),
        ("OFFSET_TOO_SMALL", min)
    );
    let first = first_old_message_at(&client, min).await;
    assert!(first.physical_offset >= 2 * mib as i64);
    assert_eq!(
        (
            client.min_offset("Gone", 0).await.unwrap(),
            client.max_offset("Gone", 0).await.unwrap()
        ),
        (5, 5),
        "every record of Gone was deleted; its max offset stays"
    );

    // Sends continue at the next offsets, and still do after a restart, which keeps the minimum.
    assert_eq!(send(&client, "Old", body(700)).await, 700);
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    broker.restart();
    let client = broker.client().await;
    assert_eq!(client.min_offset("Old", 0).await.unwrap(), min);
    assert_eq!(
        send(&client, "Gone", body(5)).await,
        5,
        "not 0: offsets never restart"
    );
    assert_eq!(send(&client, "Old", body(701)).await, 701);
    let r = client
        .pull(&PullRequest::new("cg", "Gone", 0, 5))
        .await
        .unwrap();
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.messages[0].body.to_vec(), body(5));

    // Consume queues lost (an operator removing consumequeue/ to have them rebuilt): the rebuild
    // from a commit log that no longer starts at 0 begins each queue at its first surviving record.
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    std::fs::remove_dir_all(broker.root().join("consumequeue")).unwrap();
    broker.restart();
    let client = broker.client().await;
    assert_eq!(client.min_offset("Old", 0).await.unwrap(), min);
    assert_eq!(client.max_offset("Old", 0).await.unwrap(), 702);
    first_old_message_at(&client, min).await;
    assert_eq!(
        (
            client.min_offset("Gone", 0).await.unwrap(),
            client.max_offset("Gone", 0).await.unwrap()
        ),
        (5, 6)
    );
    assert_eq!(send(&client, "Old", body(702)).await, 702);
    assert!(broker.log_lines("not indexed").is_empty());
}

/// Above `disk_clean_forcibly_percent` files go even though they are fresh — but never the file
/// being written. (1% is below any real disk's usage, so the forced path is taken.)
#[tokio::test]
async fn a_critically_full_disk_deletes_fresh_files_but_never_the_active_one() {
    let broker = TestBroker::start_with(
        "[retention]\ndelete_when = \"00\"\ncheck_interval_ms = 50\n\
         disk_max_used_percent = 1\ndisk_clean_forcibly_percent = 1\n",
    );
    let client = broker.client().await;
    for i in 0..700 {
        send(&client, "Busy", body(i)).await;
    }
    let last_sent = send(&client, "Busy", body(700)).await;
    common::wait_until(
        Duration::from_secs(20),
        "all but the active file deleted",
        || files_on_disk(&broker) <= 3,
    )
    .await;
    // The active file and its records are intact: the last message reads back, sends go on.
    let r = client
        .pull(&PullRequest::new("cg", "Busy", 0, last_sent))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{}", r.status);
    assert_eq!(r.messages[0].body.to_vec(), body(700));
    assert_eq!(send(&client, "Busy", body(701)).await, last_sent + 1);
}

/// Commit-log files on disk: the active one plus up to two the allocator prepared.
fn files_on_disk(broker: &TestBroker) -> usize {
    commit_log_files(broker).len()
}

/// Retention whose hour (`delete_when`) is twelve hours away, checking every 50 ms, files
/// expired after an hour, and a disk never counted as full.
fn retention_off_the_hour() -> String {
    let hour = (actormq::store::retention::local_hour(SystemTime::now()) + 12) % 24;
    format!(
        "[retention]\ndelete_when = \"{hour:02}\"\ncheck_interval_ms = 50\n\
         file_reserved_hours = 1\ndisk_max_used_percent = 100\ndisk_clean_forcibly_percent = 100\n"
    )
}

/// A broker holding about three commit-log files, the first one aged past its reserved time.
async fn broker_with_an_expired_file() -> (TestBroker, Client) {
    let broker = TestBroker::start_with(&retention_off_the_hour());
    let client = broker.client().await;
    for i in 0..700 {
        send(&client, "Old", body(i)).await;
    }
    assert!(commit_log_files(&broker).len() >= 3);
    age_files_below(&broker, 1 << 20);
    // Off the hour: an expired file stays, however often the check runs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(commit_log_files(&broker)[0].0, 0);
    (broker, client)
}

/// DELETE_EXPIRED_COMMITLOG (329), as Java's `executeDeleteFilesManually`: answered SUCCESS at
/// once, then expired files go whatever the hour, for the next 20 checks only, and never a file
/// that has not expired.
#[tokio::test]
async fn an_admin_deletes_expired_files_off_the_hour() {
    use actormq::protocol::{request_code, RemotingCommand};
    let (broker, client) = broker_with_an_expired_file().await;
    let ask = || RemotingCommand::request(request_code::DELETE_EXPIRED_COMMITLOG, 0);
    let r = client.request(ask()).await.unwrap();
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (response_code::SUCCESS, None)
    );
    let mib = 1 << 20;
    common::wait_until(Duration::from_secs(10), "the expired file deleted", || {
        commit_log_files(&broker)[0].0 == mib
    })
    .await;
    // The second file has not expired: it stays.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(commit_log_files(&broker)[0].0, mib);
    // After its 20 checks the request no longer counts: a file expiring now stays.
    common::wait_until(Duration::from_secs(20), "the manual checks spent", || {
        !broker
            .log_lines("manual deletion's checks are spent")
            .is_empty()
    })
    .await;
    age_files_below(&broker, 2 * mib);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(commit_log_files(&broker)[0].0, mib);
    let r = client.request(ask()).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    common::wait_until(
        Duration::from_secs(10),
        "the second expired file deleted",
        || commit_log_files(&broker)[0].0 == 2 * mib,
    )
    .await;
    assert!(client.min_offset("Old", 0).await.unwrap() > 0);
}

/// The stock `mqadmin deleteExpiredCommitLog -b <addr>` prints "success" and the expired file goes.
#[tokio::test]
async fn mqadmin_delete_expired_commit_log() {
    let Some(lib) = common::java_server::server_lib("retention") else {
        return;
    };
    let (broker, _client) = broker_with_an_expired_file().await;
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = ["deleteExpiredCommitLog", "-b", &broker.addr];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("success"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::wait_until(Duration::from_secs(10), "the expired file deleted", || {
        commit_log_files(&broker)[0].0 == 1 << 20
    })
    .await;
}
