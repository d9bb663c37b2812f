//! Offsets: consumer offsets are stored, queried and persisted across clean and unclean restarts;
//! queue min/max, search by time and view by id answer from the consume queues; and after a
//! kill -9 the consume queues match the commit log exactly.

mod common;

use std::time::Duration;

use actormq::client::{OutgoingMessage, PullRequest};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::consume_queue::{ConsumeQueue, CqLayout};
use actormq::store::message::{decode, Decoded};
use actormq::store::paths;
use common::{wait_until, wait_until_async, TestBroker};

async fn send_n(client: &actormq::client::Client, topic: &str, n: u32) -> Vec<i64> {
    let mut per_queue = vec![0i64; 4];
    for i in 0..n {
        let q = (i % 4) as i32;
        let m = OutgoingMessage {
            queue_id: q,
            tags: Some(format!("T{}", i % 2)),
            ..OutgoingMessage::new(topic, format!("message {i}"))
        };
        client.send(&m).await.unwrap();
        per_queue[q as usize] += 1;
    }
    per_queue
}

/// UPDATE_CONSUMER_OFFSET (oneway) and a pull with COMMIT_OFFSET both store offsets;
/// QUERY_CONSUMER_OFFSET reads them; a clean stop writes RocketMQ's consumerOffset.json shape and a
/// restart reads it back.
#[tokio::test]
async fn consumer_offsets_survive_a_clean_restart() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    send_n(&client, "OffTopic", 8).await;
    // Java 5.2+ stores commits of groups and topics that exist only.
    client.create_subscription_group("cg").await.unwrap();
    assert_eq!(
        client
            .query_consumer_offset("cg", "OffTopic", 0)
            .await
            .unwrap(),
        None
    );
    client
        .update_consumer_offset("cg", "OffTopic", 0, 2)
        .await
        .unwrap();
    assert_eq!(
        client
            .query_consumer_offset("cg", "OffTopic", 0)
            .await
            .unwrap(),
        Some(2)
    );
    let r = client
        .pull(&PullRequest {
            commit_offset: Some(1),
            ..PullRequest::new("cg", "OffTopic", 1, 1)
        })
        .await
        .unwrap();
    assert_eq!(r.messages.len(), 1);
    assert_eq!(
        client
            .query_consumer_offset("cg", "OffTopic", 1)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        client
            .query_consumer_offset("other", "OffTopic", 1)
            .await
            .unwrap(),
        None
    );
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(paths::consumer_offsets_json(&broker.root())).unwrap(),
    )
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"offsetTable": {"OffTopic@cg": {"0": 2, "1": 1}}})
    );
    broker.restart();
    let client = broker.client().await;
    assert_eq!(
        client
            .query_consumer_offset("cg", "OffTopic", 0)
            .await
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        client
            .query_consumer_offset("cg", "OffTopic", 1)
            .await
            .unwrap(),
        Some(1)
    );
}

/// Offsets committed before a kill -9 are back after the restart once the periodic persist (5 s)
/// has written them.
#[tokio::test]
async fn consumer_offsets_survive_kill9() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    send_n(&client, "KillTopic", 4).await;
    client.create_subscription_group("cg").await.unwrap();
    client
        .update_consumer_offset("cg", "KillTopic", 3, 42)
        .await
        .unwrap();
    // Round trip: the oneway update has been applied.
    client
        .query_consumer_offset("cg", "KillTopic", 3)
        .await
        .unwrap();
    let path = paths::consumer_offsets_json(&broker.root());
    wait_until(
        Duration::from_secs(15),
        "consumerOffset.json written",
        || std::fs::read_to_string(&path).is_ok_and(|s| s.contains("42")),
    )
    .await;
    broker.kill9();
    broker.restart();
    let client = broker.client().await;
    assert_eq!(
        client
            .query_consumer_offset("cg", "KillTopic", 3)
            .await
            .unwrap(),
        Some(42)
    );
}

/// GET_MAX_OFFSET / GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP and VIEW_MESSAGE_BY_ID.
#[tokio::test]
async fn queue_offsets_search_and_view() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let mut stored = Vec::new();
    for i in 0..10 {
        let m = OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("QTopic", format!("m{i}"))
        };
        client.send(&m).await.unwrap();
        let r = client
            .pull(&PullRequest::new("cg", "QTopic", 0, i))
            .await
            .unwrap();
        stored.push(r.messages[0].clone());
    }
    assert_eq!(client.max_offset("QTopic", 0).await.unwrap(), 10);
    assert_eq!(client.min_offset("QTopic", 0).await.unwrap(), 0);
    assert_eq!(client.max_offset("QTopic", 1).await.unwrap(), 0);
    assert_eq!(client.max_offset("Nope", 0).await.unwrap(), 0);
    let t5 = stored[5].store_timestamp;
    let first_at_t5 = stored.iter().position(|m| m.store_timestamp >= t5).unwrap() as i64;
    assert_eq!(
        client.search_offset("QTopic", 0, t5).await.unwrap(),
        first_at_t5
    );
    assert_eq!(client.search_offset("QTopic", 0, 0).await.unwrap(), 0);
    assert_eq!(
        client.search_offset("QTopic", 0, i64::MAX).await.unwrap(),
        10
    );
    let viewed = client
        .view_message(stored[7].physical_offset)
        .await
        .unwrap();
    assert_eq!(viewed, stored[7]);
    let e = client
        .view_message(stored[7].physical_offset + 1)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("SYSTEM_ERROR"), "{e}");
    assert_eq!(client.read_queue_nums("QTopic").await.unwrap(), 4);
    let e = client.read_queue_nums("Nope").await.unwrap_err();
    assert!(
        matches!(e, actormq::client::ClientError::Broker { code, .. } if code == response_code::TOPIC_NOT_EXIST),
        "{e}"
    );
}

/// Every consume-queue entry under `root` points at a record of its topic, queue and queue offset;
/// returns the entry count per `topic/queue`.
fn check_consume_queues(root: &std::path::Path) -> std::collections::BTreeMap<String, u64> {
    let mut log = Vec::new();
    let mut starts = Vec::new();
    for (start, path) in paths::list_files(&paths::commitlog_dir(root)).unwrap() {
        starts.push(start);
        log.push(std::fs::read(path).unwrap());
    }
    let file_size = log[0].len() as u64;
    let mut counts = std::collections::BTreeMap::new();
    for topic in std::fs::read_dir(root.join("consumequeue")).unwrap() {
        let topic = topic.unwrap();
        let name = topic.file_name().to_string_lossy().to_string();
        for q in std::fs::read_dir(topic.path()).unwrap() {
            let q = q.unwrap();
            let queue_id: i32 = q.file_name().to_string_lossy().parse().unwrap();
            let cq = ConsumeQueue::open(q.path(), CqLayout::new(300_000)).unwrap();
            for i in cq.min_offset()..cq.max_offset() {
                let e = cq.get(i).unwrap();
                let f = ((e.commit_log_offset as u64 - starts[0]) / file_size) as usize;
                let pos = (e.commit_log_offset as u64 - starts[f]) as usize;
                let Ok(Decoded::Record(r)) = decode(&log[f][pos..], true) else {
                    panic!("{name}/{queue_id} entry {i} points at no record");
                };
                assert_eq!(
                    (r.topic, r.queue_id, r.queue_offset, r.len()),
                    (name.as_str(), queue_id, i as i64, e.size as usize)
                );
            }
            counts.insert(format!("{name}/{queue_id}"), cq.max_offset());
        }
    }
    counts
}

/// After a kill -9, a lost consume queue and a truncated one, the restarted broker's consume
/// queues match the commit log: every entry points at the right record and the max offsets equal
/// the message counts.
#[tokio::test]
async fn consume_queues_consistent_after_kill9() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    let per_queue = send_n(&client, "CrashTopic", 400).await;
    broker.kill9();
    let root = broker.root();
    // Lose one queue entirely and cut another short: start-up must rebuild both.
    std::fs::remove_dir_all(paths::consume_queue_dir(&root, "CrashTopic", 0)).unwrap();
    let dir = paths::consume_queue_dir(&root, "CrashTopic", 1);
    let mut cq = ConsumeQueue::open(dir, CqLayout::new(300_000)).unwrap();
    cq.truncate_from_physical(cq.get(40).unwrap().commit_log_offset)
        .unwrap();
    assert_eq!(cq.max_offset(), 40);
    drop(cq);
    broker.restart();
    let client = broker.client().await;
    for (q, n) in per_queue.iter().enumerate() {
        assert_eq!(client.max_offset("CrashTopic", q as i32).await.unwrap(), *n);
        let r = client
            .pull(&PullRequest {
                max_msgs: 1000,
                ..PullRequest::new("cg", "CrashTopic", q as i32, 0)
            })
            .await
            .unwrap();
        assert_eq!(r.messages.len() as i64, *n);
        for (i, m) in r.messages.iter().enumerate() {
            assert_eq!(m.queue_offset, i as i64);
            assert_eq!(m.body, format!("message {}", i * 4 + q).into_bytes());
        }
    }
    // More sends after recovery continue the queues without a gap.
    send_n(&client, "CrashTopic", 4).await;
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    let counts = check_consume_queues(&root);
    let expected: std::collections::BTreeMap<String, u64> = per_queue
        .iter()
        .enumerate()
        .map(|(q, n)| (format!("CrashTopic/{q}"), *n as u64 + 1))
        .collect();
    assert_eq!(counts, expected);
}

/// Sync flush + kill -9 (the store crash test): consume queues still match the commit log.
#[tokio::test]
async fn consume_queues_consistent_after_kill9_in_sync_mode() {
    let mut broker = TestBroker::start_with("[flush]\nmode = \"sync\"");
    let client = broker.client().await;
    let per_queue = send_n(&client, "SyncCrash", 100).await;
    broker.kill9();
    broker.restart();
    let client = broker.client().await;
    for (q, n) in per_queue.iter().enumerate() {
        assert_eq!(client.max_offset("SyncCrash", q as i32).await.unwrap(), *n);
    }
    drop(client);
    broker.stop();
    let counts = check_consume_queues(&broker.root());
    assert_eq!(counts.values().sum::<u64>(), 100);
}

/// QUERY_CONSUMER_OFFSET for a group with no offset, as RocketMQ's broker answers it: with
/// `setZeroIfNotFound=false` (RocketMQ 5 clients) QUERY_NOT_FOUND; without it, 0 when the queue
/// still starts at 0 and that message is in memory, else QUERY_NOT_FOUND.
#[tokio::test]
async fn a_group_without_an_offset_gets_zero_only_when_asked_and_in_memory() {
    use actormq::protocol::{request_code, RemotingCommand};
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_n(&client, "ZeroTopic", 8).await; // some messages on every queue of the topic
    let query = |queue_id: i32, zero: Option<bool>| {
        let mut cmd = RemotingCommand::request(request_code::QUERY_CONSUMER_OFFSET, 0)
            .with_ext("consumerGroup", "fresh")
            .with_ext("topic", "ZeroTopic")
            .with_ext("queueId", queue_id);
        if let Some(zero) = zero {
            cmd = cmd.with_ext("setZeroIfNotFound", zero);
        }
        cmd
    };
    let answer = |cmd| async { client.request(cmd).await.unwrap() };

    let r = answer(query(0, None)).await;
    assert_eq!(
        (r.code, r.ext("offset")),
        (response_code::SUCCESS, Some("0"))
    );
    let r = answer(query(0, Some(true))).await;
    assert_eq!(
        (r.code, r.ext("offset")),
        (response_code::SUCCESS, Some("0"))
    );
    let r = answer(query(0, Some(false))).await;
    assert_eq!(r.code, response_code::QUERY_NOT_FOUND, "{:?}", r.remark);
    // A queue with nothing in it has no first message to be in memory.
    let r = answer(query(7, None)).await;
    assert_eq!(r.code, response_code::QUERY_NOT_FOUND, "{:?}", r.remark);
    // A stored offset wins either way.
    client.create_subscription_group("fresh").await.unwrap();
    client
        .update_consumer_offset("fresh", "ZeroTopic", 0, 3)
        .await
        .unwrap();
    common::wait_until_async(Duration::from_secs(5), "the committed offset", || async {
        answer(query(0, Some(false))).await.ext("offset") == Some("3")
    })
    .await;
}

/// A stored negative offset counts as none, as in Java's `queryConsumerOffset` (`offset >= 0`,
/// else the not-found rules above). The Node.js client ali-ons commits -1 for every queue whose
/// offset is 0 (`offsetTable.get(key) || -1`): answered as offset -1, it starts that queue at its
/// end (`CONSUME_FROM_LAST_OFFSET`) and never sees what was sent while it was down.
#[tokio::test]
async fn a_stored_negative_offset_is_answered_as_no_offset() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_n(&client, "MinusOne", 8).await; // two messages on each of queues 0..3; 7 stays empty
    client.create_subscription_group("ali").await.unwrap();
    let query = |queue_id: i32, zero: Option<bool>| {
        let mut cmd = RemotingCommand::request(request_code::QUERY_CONSUMER_OFFSET, 0)
            .with_ext("consumerGroup", "ali")
            .with_ext("topic", "MinusOne")
            .with_ext("queueId", queue_id);
        if let Some(zero) = zero {
            cmd = cmd.with_ext("setZeroIfNotFound", zero);
        }
        cmd
    };
    let answer = |cmd| async { client.request(cmd).await.unwrap() };
    // Each queue gets a real offset first, then -1 (UPDATE_CONSUMER_OFFSET is oneway: wait for
    // the answer to change).
    for queue in [0, 7] {
        client
            .update_consumer_offset("ali", "MinusOne", queue, 2)
            .await
            .unwrap();
        wait_until_async(Duration::from_secs(5), "offset 2", || async {
            answer(query(queue, None)).await.ext("offset") == Some("2")
        })
        .await;
        client
            .update_consumer_offset("ali", "MinusOne", queue, -1)
            .await
            .unwrap();
    }
    // Queue 0 starts at 0 and that message is in memory: 0, as for a group without an offset.
    wait_until_async(Duration::from_secs(5), "queue 0 answered 0", || async {
        let r = answer(query(0, None)).await;
        r.code == response_code::SUCCESS && r.ext("offset") == Some("0")
    })
    .await;
    let r = answer(query(0, Some(false))).await;
    assert_eq!(r.code, response_code::QUERY_NOT_FOUND, "{:?}", r.remark);
    // Queue 7 is empty: not found.
    let r = answer(query(7, None)).await;
    assert_eq!(
        (r.code, r.ext("offset")),
        (response_code::QUERY_NOT_FOUND, None),
        "{:?}",
        r.remark
    );
}

/// GET_CONSUME_STATS (208, `mqadmin consumerProgress`): for each topic the group has offsets for,
/// every read queue with its end (brokerOffset), the group's offset and the store time of the
/// message before it; a topic filter keeps one topic; an unknown group has an empty table.
#[tokio::test]
async fn consume_stats_compare_the_groups_offsets_with_the_queue_ends() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let per_queue = send_n(&client, "Progress", 8).await;
    send_n(&client, "Other", 4).await;
    client.create_subscription_group("cg").await.unwrap();
    client
        .update_consumer_offset("cg", "Progress", 0, 1)
        .await
        .unwrap();
    client
        .update_consumer_offset("cg", "Other", 1, 1)
        .await
        .unwrap();
    let stats = |group: &str, topic: Option<&str>| {
        let cmd = actormq::protocol::RemotingCommand::request(
            actormq::protocol::request_code::GET_CONSUME_STATS,
            0,
        )
        .with_ext("consumerGroup", group);
        match topic {
            Some(t) => cmd.with_ext("topic", t),
            None => cmd,
        }
    };
    let body = |r: actormq::protocol::RemotingCommand| {
        assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
        String::from_utf8(r.body.to_vec()).unwrap()
    };
    // The oneway commits land before the stats are read.
    let mut all = String::new();
    for _ in 0..100 {
        all = body(client.request(stats("cg", None)).await.unwrap());
        if all.contains("\"topic\":\"Other\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let q0 = "{\"brokerName\":\"broker-a\",\"queueId\":0,\"topic\":\"Progress\"}:";
    let at = all
        .find(q0)
        .unwrap_or_else(|| panic!("no queue 0 of Progress: {all}"));
    let entry = &all[at + q0.len()..];
    let entry = &entry[..entry.find('}').unwrap() + 1];
    assert!(
        entry.starts_with(&format!(
            "{{\"brokerOffset\":{},\"consumerOffset\":1,",
            per_queue[0]
        )),
        "{entry}"
    );
    assert!(
        !entry.contains("\"lastTimestamp\":0,"),
        "the consumed message's store time: {entry}"
    );
    let q1 = "{\"brokerName\":\"broker-a\",\"queueId\":1,\"topic\":\"Progress\"}:{\"brokerOffset\":2,\"consumerOffset\":0,\"lastTimestamp\":0,";
    assert!(all.contains(q1), "{all}");
    assert!(all.contains("\"topic\":\"Other\""), "{all}");

    let one = body(client.request(stats("cg", Some("Progress"))).await.unwrap());
    assert!(
        one.contains("\"topic\":\"Progress\"") && !one.contains("\"topic\":\"Other\""),
        "{one}"
    );
    let none = body(client.request(stats("nobody", None)).await.unwrap());
    assert_eq!(none, "{\"consumeTps\":0.0,\"offsetTable\":{}}");
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG's body.
async fn group_table(client: &actormq::client::Client) -> String {
    let cmd = RemotingCommand::request(request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, 0);
    String::from_utf8(client.request(cmd).await.unwrap().body.to_vec()).unwrap()
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222) for every queue of `topic`.
fn reset(topic: &str, group: &str, timestamp: i64) -> RemotingCommand {
    RemotingCommand::request(request_code::INVOKE_BROKER_TO_RESET_OFFSET, 0)
        .with_ext("topic", topic)
        .with_ext("group", group)
        .with_ext("timestamp", timestamp)
        .with_ext("isForce", "true")
}

/// Java 5.2+'s server-side reset: the offsets by time are committed at once; the consumer's stale
/// commits (oneway, request, or carried by a pull) are ignored until its next pull of the queue is
/// answered PULL_OFFSET_MOVED to the reset offset; a consumer already there is served; unknown
/// topics and groups and offsets outside the queue are refused.
#[tokio::test]
async fn an_offset_reset_moves_the_next_pull_and_outranks_stale_commits() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_n(&client, "ResetT", 4).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let middle = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    tokio::time::sleep(Duration::from_millis(30)).await;
    send_n(&client, "ResetT", 4).await;
    client.create_subscription_group("rg").await.unwrap();
    for q in 0..4 {
        client
            .update_consumer_offset("rg", "ResetT", q, 2)
            .await
            .unwrap();
    }
    let answer = |r: RemotingCommand, code: i32| {
        assert_eq!(r.code, code, "{:?}", r.remark);
        (
            String::from_utf8(r.body.to_vec()).unwrap(),
            r.remark.unwrap_or_default(),
        )
    };

    let r = client
        .request(reset("NoSuchTopic", "rg", middle))
        .await
        .unwrap();
    let (_, remark) = answer(r, response_code::TOPIC_NOT_EXIST);
    assert_eq!(remark, "Topic NoSuchTopic does not exist");
    let r = client
        .request(reset("ResetT", "nogroup", middle))
        .await
        .unwrap();
    let (_, remark) = answer(r, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    assert_eq!(remark, "Group nogroup does not exist");
    let mut no_force = reset("ResetT", "rg", middle);
    no_force.ext_fields.remove("isForce");
    let r = client.request(no_force).await.unwrap();
    assert_ne!(r.code, response_code::SUCCESS);

    let r = client.request(reset("ResetT", "rg", middle)).await.unwrap();
    let (body, _) = answer(r, response_code::SUCCESS);
    for q in 0..4 {
        let entry =
            format!("{{\"brokerName\":\"broker-a\",\"queueId\":{q},\"topic\":\"ResetT\"}}:1");
        assert!(body.contains(&entry), "{body}");
    }
    let committed = |q| client.query_consumer_offset("rg", "ResetT", q);
    assert_eq!(committed(0).await.unwrap(), Some(1));

    // A stale commit, as a request: SUCCESS with Java's remark, not stored.
    let stale = RemotingCommand::request(request_code::UPDATE_CONSUMER_OFFSET, 0)
        .with_ext("consumerGroup", "rg")
        .with_ext("topic", "ResetT")
        .with_ext("queueId", 0)
        .with_ext("commitOffset", 2);
    let (_, remark) = answer(client.request(stale).await.unwrap(), response_code::SUCCESS);
    assert_eq!(remark, "Offset has been previously reset");
    assert_eq!(committed(0).await.unwrap(), Some(1));

    // The next pull from the old position is moved, and its commit is not stored.
    let moved = client
        .pull(&PullRequest {
            commit_offset: Some(2),
            ..PullRequest::new("rg", "ResetT", 0, 2)
        })
        .await
        .unwrap();
    assert_eq!(
        (
            moved.code,
            moved.status.as_str(),
            moved.next_begin_offset,
            moved.max_offset
        ),
        (response_code::PULL_OFFSET_MOVED, "OFFSET_RESET", 1, 2)
    );
    assert_eq!(committed(0).await.unwrap(), Some(1));
    // Moved once: the pull from the reset offset reads, and commits count again.
    let read = client
        .pull(&PullRequest::new("rg", "ResetT", 0, 1))
        .await
        .unwrap();
    assert_eq!(
        (read.code, read.messages.len()),
        (response_code::SUCCESS, 1)
    );
    client
        .update_consumer_offset("rg", "ResetT", 0, 2)
        .await
        .unwrap();
    wait_until_async(
        Duration::from_secs(5),
        "the commit after the move",
        || async { committed(0).await.unwrap() == Some(2) },
    )
    .await;
    // A consumer already at the reset offset is served, not moved.
    let at = client
        .pull(&PullRequest::new("rg", "ResetT", 1, 1))
        .await
        .unwrap();
    assert_eq!((at.code, at.messages.len()), (response_code::SUCCESS, 1));

    // Timestamp -1: every queue's end.
    let r = client.request(reset("ResetT", "rg", -1)).await.unwrap();
    let (body, _) = answer(r, response_code::SUCCESS);
    assert!(
        body.contains("\"queueId\":3,\"topic\":\"ResetT\"}:2"),
        "{body}"
    );
    // One queue at an explicit offset, inside the queue or not.
    let one = |offset: i64| {
        reset("ResetT", "rg", middle)
            .with_ext("queueId", 2)
            .with_ext("offset", offset)
    };
    let (body, _) = answer(
        client.request(one(0)).await.unwrap(),
        response_code::SUCCESS,
    );
    assert_eq!(
        body,
        "{\"offsetTable\":{{\"brokerName\":\"broker-a\",\"queueId\":2,\"topic\":\"ResetT\"}:0}}"
    );
    assert_eq!(committed(2).await.unwrap(), Some(0));
    let (_, remark) = answer(
        client.request(one(9)).await.unwrap(),
        response_code::SYSTEM_ERROR,
    );
    assert_eq!(remark, "Target offset 9 not in consume queue range [0-2]");
}

/// DELETE_SUBSCRIPTIONGROUP (207): the group's config goes (also after a restart); its offsets
/// stay unless `cleanOffset`, then every topic's go and only that group's.
#[tokio::test]
async fn deleting_a_group_removes_its_config_and_with_clean_offset_its_offsets() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    send_n(&client, "DelA", 4).await;
    send_n(&client, "DelB", 4).await;
    client.create_subscription_group("dg").await.unwrap();
    client.create_subscription_group("keep").await.unwrap();
    for (group, topic) in [("dg", "DelA"), ("dg", "DelB"), ("keep", "DelA")] {
        client
            .update_consumer_offset(group, topic, 0, 1)
            .await
            .unwrap();
    }
    let delete = |clean: bool| {
        RemotingCommand::request(request_code::DELETE_SUBSCRIPTIONGROUP, 0)
            .with_ext("groupName", "dg")
            .with_ext("cleanOffset", clean)
    };
    assert!(group_table(&client).await.contains("\"dg\""));
    let r = client.request(delete(false)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert!(!group_table(&client).await.contains("\"dg\""));
    assert_eq!(
        client.query_consumer_offset("dg", "DelA", 0).await.unwrap(),
        Some(1)
    );

    client.create_subscription_group("dg").await.unwrap();
    let r = client.request(delete(true)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    wait_until_async(
        Duration::from_secs(5),
        "the group's offsets removed",
        || async {
            client
                .query_consumer_offset("dg", "DelA", 0)
                .await
                .unwrap()
                .is_none()
        },
    )
    .await;
    assert_eq!(
        client.query_consumer_offset("dg", "DelB", 0).await.unwrap(),
        None
    );
    assert_eq!(
        client
            .query_consumer_offset("keep", "DelA", 0)
            .await
            .unwrap(),
        Some(1)
    );
    // Deleting a group that does not exist is not an error (Java only warns).
    let r = client.request(delete(false)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);

    drop(client);
    broker.stop();
    broker.restart();
    let client = broker.client().await;
    assert!(!group_table(&client).await.contains("\"dg\""));
    assert_eq!(
        client.query_consumer_offset("dg", "DelA", 0).await.unwrap(),
        None
    );
    assert_eq!(
        client
            .query_consumer_offset("keep", "DelA", 0)
            .await
            .unwrap(),
        Some(1)
    );
}

/// UPDATE_CONSUMER_OFFSET (15) answered, not oneway, so the test sees the broker's answer.
async fn commit(
    client: &actormq::client::Client,
    group: &str,
    topic: &str,
    offset: i64,
) -> RemotingCommand {
    let cmd = RemotingCommand::request(request_code::UPDATE_CONSUMER_OFFSET, 0)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", 0)
        .with_ext("commitOffset", offset);
    client.request(cmd).await.unwrap()
}

/// As Java 5.2+ (`ConsumerManageProcessor.updateConsumerOffset`): a commit needs its group
/// (SUBSCRIPTION_GROUP_NOT_EXIST, checked first) and its topic (TOPIC_NOT_EXIST), so a consumer
/// still committing after its topic was deleted does not bring offsets back, by
/// UPDATE_CONSUMER_OFFSET or by a pull's COMMIT_OFFSET; a group born of a pull a moment ago can
/// commit at once.
#[tokio::test]
async fn a_commit_needs_its_group_and_its_topic() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_n(&client, "CommitT", 8).await;

    let r = commit(&client, "nobody", "NoSuchTopic", 1).await;
    assert_eq!(r.code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    assert_eq!(r.remark.as_deref(), Some("Group nobody not exist!"));
    client.create_subscription_group("cg").await.unwrap();
    let r = commit(&client, "cg", "NoSuchTopic", 1).await;
    assert_eq!(r.code, response_code::TOPIC_NOT_EXIST);
    assert_eq!(r.remark.as_deref(), Some("Topic NoSuchTopic not exist!"));
    assert_eq!(
        client
            .query_consumer_offset("cg", "NoSuchTopic", 0)
            .await
            .unwrap(),
        None
    );
    let r = commit(&client, "cg", "CommitT", 1).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert_eq!(
        client
            .query_consumer_offset("cg", "CommitT", 0)
            .await
            .unwrap(),
        Some(1)
    );

    // A group the broker first hears of in a pull (created on first use) commits right after.
    let pulled = client
        .pull(&PullRequest::new("pulled", "CommitT", 0, 0))
        .await
        .unwrap();
    assert!(!pulled.messages.is_empty());
    let r = commit(&client, "pulled", "CommitT", 2).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert_eq!(
        client
            .query_consumer_offset("pulled", "CommitT", 0)
            .await
            .unwrap(),
        Some(2)
    );

    let delete = RemotingCommand::request(request_code::DELETE_TOPIC_IN_BROKER, 0)
        .with_ext("topic", "CommitT");
    let r = client.request(delete).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let r = commit(&client, "cg", "CommitT", 3).await;
    assert_eq!(r.code, response_code::TOPIC_NOT_EXIST, "{:?}", r.remark);
    // Nor does a pull that carries the offset (COMMIT_OFFSET): refused, nothing stored.
    let pull = PullRequest {
        commit_offset: Some(3),
        ..PullRequest::new("cg", "CommitT", 0, 0)
    };
    assert!(client.pull(&pull).await.is_err());
    assert_eq!(
        client
            .query_consumer_offset("cg", "CommitT", 0)
            .await
            .unwrap(),
        None
    );
}
