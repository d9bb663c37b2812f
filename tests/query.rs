//! The message index and QUERY_MESSAGE (12): messages are found by each word of their KEYS and by
//! their unique key, after a clean restart and after kill -9, with Java's limits and answers; the
//! `actormq query` command; and (with the Java jars) the stock `mqadmin queryMsgByKey` and
//! `topicStatus` (GET_TOPIC_STATS_INFO, 202), and the other stock `mqadmin` commands actormq
//! answers (among them `clusterList`, which reads GET_BROKER_RUNTIME_INFO's rates and totals, and
//! `topicList -c`, which reads QUERY_TOPIC_CONSUME_BY_WHO).

mod common;

use actormq::client::{Client, OutgoingMessage};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::TestBroker;

const ALL_TIME: (i64, i64) = (0, i64::MAX);

/// Sends `n` messages to `topic` with KEYS `"k<i % 3> common"`; returns each one's UNIQ_KEY.
async fn send_keyed(client: &Client, topic: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let r = client
            .send(&OutgoingMessage {
                keys: Some(format!("k{} common", i % 3)),
                ..OutgoingMessage::new(topic, format!("body-{i}"))
            })
            .await
            .unwrap();
        ids.push(r.transaction_id);
    }
    ids
}

/// Bodies of the messages a key query finds (after the client-side filter), sorted.
async fn bodies(client: &Client, topic: &str, key: &str, unique: bool) -> Vec<String> {
    let r = client
        .query_message(topic, key, 64, ALL_TIME, unique)
        .await
        .unwrap();
    let mut b: Vec<String> = r
        .matching(topic, key, unique)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    b.sort();
    b
}

fn expected(n: usize, filter: impl Fn(usize) -> bool) -> Vec<String> {
    let mut v: Vec<String> = (0..n)
        .filter(|i| filter(*i))
        .map(|i| format!("body-{i}"))
        .collect();
    v.sort();
    v
}

/// By key: every message with that KEYS word, in the topic asked; by unique key: exactly one;
/// an unknown key or another topic: QUERY_NOT_FOUND with Java's remark.
#[tokio::test]
async fn lookup_by_key_and_unique_key() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let ids = send_keyed(&client, "QueryTopic", 30).await;
    send_keyed(&client, "OtherTopic", 3).await;

    assert_eq!(
        bodies(&client, "QueryTopic", "k1", false).await,
        expected(30, |i| i % 3 == 1)
    );
    assert_eq!(
        bodies(&client, "QueryTopic", "common", false).await,
        expected(30, |_| true)
    );
    for (i, id) in ids.iter().enumerate().step_by(7) {
        assert_eq!(
            bodies(&client, "QueryTopic", id, true).await,
            vec![format!("body-{i}")]
        );
    }
    let r = client
        .query_message("QueryTopic", "k1", 64, ALL_TIME, false)
        .await
        .unwrap();
    assert!(r.index_last_update_phy_offset > 0 && r.index_last_update_timestamp > 0);

    // Not found: Java's code and remark.
    let cmd = RemotingCommand::request(request_code::QUERY_MESSAGE, 0)
        .with_ext("topic", "QueryTopic")
        .with_ext("key", "no-such-key")
        .with_ext("maxNum", 64)
        .with_ext("beginTimestamp", 0)
        .with_ext("endTimestamp", i64::MAX);
    let resp = client.request(cmd).await.unwrap();
    assert_eq!(resp.code, response_code::QUERY_NOT_FOUND);
    assert_eq!(
        resp.remark.as_deref(),
        Some("can not find message, maybe time range not correct")
    );
    assert!(bodies(&client, "NoTopic", "k1", false).await.is_empty());
    // A time range before the messages were stored finds nothing.
    let r = client
        .query_message("QueryTopic", "k1", 64, (0, 1_000), false)
        .await
        .unwrap();
    assert!(r.messages.is_empty());
}

/// maxNum is capped at 64 (`maxMsgsNumBatch`); `_UNIQUE_KEY_QUERY` makes it 32.
#[tokio::test]
async fn max_num_caps() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    for i in 0..80 {
        client
            .send(&OutgoingMessage {
                keys: Some("many".into()),
                ..OutgoingMessage::new("CapTopic", format!("{i}"))
            })
            .await
            .unwrap();
    }
    let count = |max, unique| {
        let client = &client;
        async move {
            client
                .query_message("CapTopic", "many", max, ALL_TIME, unique)
                .await
                .unwrap()
                .messages
                .len()
        }
    };
    assert_eq!(count(1000, false).await, 64);
    assert_eq!(count(5, false).await, 5);
    assert_eq!(
        count(5, true).await,
        32,
        "the unique flag sets maxNum to 32"
    );
}

/// A clean restart finds every message once (the last record is not indexed twice); after
/// kill -9 the records the index had not seen are indexed again from the commit log, and a lost
/// index directory is rebuilt whole.
#[tokio::test]
async fn survives_restart_kill9_and_lost_index() {
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    let ids = send_keyed(&client, "DurableTopic", 12).await;
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    broker.restart();
    let client = broker.client().await;
    assert_eq!(
        bodies(&client, "DurableTopic", "common", false).await,
        expected(12, |_| true),
        "after a clean restart, each message once"
    );
    let index_files = || {
        std::fs::read_dir(broker.root().join("index"))
            .unwrap()
            .count()
    };
    assert_eq!(index_files(), 1);

    let more: Vec<String> = send_keyed(&client, "DurableTopic", 24).await;
    drop(client);
    broker.kill9();
    broker.restart();
    let client = broker.client().await;
    assert_eq!(
        bodies(&client, "DurableTopic", "k2", false).await.len(),
        4 + 8
    );
    assert_eq!(
        bodies(&client, "DurableTopic", &more[23], true).await,
        vec!["body-23".to_string()]
    );
    assert_eq!(
        bodies(&client, "DurableTopic", &ids[0], true).await,
        vec!["body-0".to_string()]
    );

    drop(client);
    broker.kill9();
    std::fs::remove_dir_all(broker.root().join("index")).unwrap();
    broker.restart();
    let client = broker.client().await;
    assert_eq!(
        bodies(&client, "DurableTopic", "common", false).await.len(),
        36,
        "rebuilt from the commit log"
    );
    assert!(!broker.log_lines("index loaded").is_empty());
}

/// `store.index_enabled = false`: no index files, and lookups find nothing.
#[tokio::test]
async fn disabled_index_writes_nothing() {
    let broker = TestBroker::start_with("[store]\nindex_enabled = false");
    let client = broker.client().await;
    send_keyed(&client, "NoIndex", 3).await;
    let r = client
        .query_message("NoIndex", "common", 64, ALL_TIME, false)
        .await
        .unwrap();
    assert!(r.messages.is_empty());
    assert!(!broker.root().join("index").exists());
}

/// GET_EARLIEST_MSG_STORETIME (32): the first message's store time, -1 for an empty queue.
#[tokio::test]
async fn earliest_message_store_time() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let before = actormq::store::now_ms();
    client
        .send(&OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("EarlyTopic", "x")
        })
        .await
        .unwrap();
    let t = client
        .earliest_msg_store_time("EarlyTopic", 0)
        .await
        .unwrap();
    assert!(t >= before && t <= actormq::store::now_ms(), "{t}");
    assert_eq!(
        client
            .earliest_msg_store_time("EarlyTopic", 3)
            .await
            .unwrap(),
        -1
    );
}

/// `actormq query --key` / `--unique-key` print the messages found, like `pull`.
#[tokio::test]
async fn cli_query() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let ids = send_keyed(&client, "CliTopic", 6).await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_actormq"))
            .args(["--broker", &broker.addr, "query", "--topic", "CliTopic"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let by_key = run(&["--key", "k0"]);
    assert_eq!(by_key.lines().count(), 2, "{by_key}");
    assert!(
        by_key.contains("body-0") && by_key.contains("body-3"),
        "{by_key}"
    );
    let by_id = run(&["--unique-key", &ids[4]]);
    assert_eq!(by_id.lines().count(), 1, "{by_id}");
    assert!(
        by_id.contains("body-4") && by_id.contains("keys=k1 common"),
        "{by_id}"
    );
}

/// The stock `mqadmin queryMsgByKey` (rocketmq-tools 5.3.3) against actormq as its own name
/// server: it lists exactly the messages with that key, by unique id. Needs the jars of
/// `tests/java-server` (`ACTORMQ_JAVA_SERVER`).
#[tokio::test]
async fn mqadmin_query_msg_by_key() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    let ids = send_keyed(&client, "AdminTopic", 9).await;
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = ["queryMsgByKey", "-t", "AdminTopic", "-k", "k2"];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let mut listed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|id| ids.iter().any(|u| u == id))
        .collect();
    listed.sort();
    let mut want: Vec<&str> = [2, 5, 8].iter().map(|i| ids[*i].as_str()).collect();
    want.sort();
    assert_eq!(listed, want, "{stdout}");
}

/// Sync flush (records written through the descriptor, published after the write): indexed too.
#[tokio::test]
async fn sync_flush_mode_indexes_too() {
    let broker = TestBroker::start_with("[flush]\nmode = \"sync\"");
    let client = broker.client().await;
    let ids = send_keyed(&client, "SyncTopic", 6).await;
    assert_eq!(
        bodies(&client, "SyncTopic", "k0", false).await,
        expected(6, |i| i % 3 == 0)
    );
    assert_eq!(
        bodies(&client, "SyncTopic", &ids[5], true).await,
        vec!["body-5".to_string()]
    );
}

/// Retention: when commit-log files are deleted, the index files whose `endPhyOffset` lies below
/// the commit log's new first offset go with them (never the last one); lookups of the messages
/// still stored keep working. Tiny index files (99 entries) so there are many.
#[tokio::test]
async fn index_files_go_with_the_commit_log() {
    let broker = TestBroker::start_with(
        "[retention]\ndelete_when = \"*\"\ncheck_interval_ms = 50\nfile_reserved_hours = 1\n\
         [store]\nmax_hash_slot_num = 64\nmax_index_num = 100",
    );
    let client = broker.client().await;
    let mut ids = Vec::new();
    for i in 0..700usize {
        let body: Vec<u8> = (0..4000).map(|b| ((b + i) % 251) as u8).collect();
        ids.push(
            client
                .send(&OutgoingMessage::new("RetainedTopic", body))
                .await
                .unwrap()
                .transaction_id,
        );
    }
    let index_dir = broker.root().join("index");
    let end_phy_offsets = || {
        let mut files: Vec<_> = std::fs::read_dir(&index_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        // A file may go between the listing and the read: skip it.
        files
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .map(|b| i64::from_be_bytes(b[24..32].try_into().unwrap()))
            .collect::<Vec<i64>>()
    };
    // Everything indexed (dispatch runs behind the send replies) before counting files.
    assert_eq!(
        bodies(&client, "RetainedTopic", &ids[699], true)
            .await
            .len(),
        1
    );
    let before = end_phy_offsets();
    assert!(before.len() >= 7, "{before:?}");
    // Age the first two commit-log files (1 MiB each).
    let log_dir = broker.root().join("commitlog");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    for name in ["00000000000000000000", "00000000000001048576"] {
        let f = std::fs::File::options()
            .write(true)
            .open(log_dir.join(name))
            .unwrap();
        f.set_modified(old).unwrap();
    }
    let min = 2 << 20;
    common::wait_until(
        std::time::Duration::from_secs(10),
        "index files below the new commit-log start deleted",
        || end_phy_offsets().iter().all(|end| *end >= min),
    )
    .await;
    let after = end_phy_offsets();
    assert_eq!(
        after.len(),
        before.iter().filter(|end| **end >= min).count(),
        "{before:?} -> {after:?}"
    );
    assert_eq!(
        bodies(&client, "RetainedTopic", &ids[699], true)
            .await
            .len(),
        1
    );
}

/// The stock `mqadmin topicStatus` (rocketmq-tools 5.3.3): GET_TOPIC_CONFIG (351), then
/// GET_TOPIC_STATS_INFO (202); it lists every queue of the topic with its min and max offset.
#[tokio::test]
async fn mqadmin_topic_status() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_keyed(&client, "StatusTopic", 9).await;
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let out = common::java_server::mqadmin(&lib, namesrv, &["topicStatus", "-t", "StatusTopic"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains("Exception"),
        "{stdout}"
    );
    // "#Broker Name #QID #Min Offset #Max Offset #Last Updated": one row per queue of the topic,
    // whose max offsets add up to the 9 messages.
    let queues = client.read_queue_nums("StatusTopic").await.unwrap() as usize;
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.first() == Some(&"broker-a"))
        .collect();
    assert_eq!(rows.len(), queues, "{stdout}");
    let total: i64 = rows.iter().map(|w| w[3].parse::<i64>().unwrap()).sum();
    assert_eq!(total, 9, "{stdout}");
}

/// The stock `mqadmin updateSubGroup` (5.3.3): UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) with the
/// tool's own body; the group then has the retry settings it was given.
#[tokio::test]
async fn mqadmin_update_sub_group() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = [
        "updateSubGroup",
        "-b",
        &broker.addr,
        "-g",
        "admin_cg",
        "-r",
        "5",
        "-q",
        "2",
    ];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("create subscription group to"), "{stdout}");
    let client = broker.client().await;
    let all = actormq::protocol::RemotingCommand::request(
        actormq::protocol::request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        0,
    );
    let table: serde_json::Value =
        serde_json::from_slice(&client.request(all).await.unwrap().body).unwrap();
    let g = &table["subscriptionGroupTable"]["admin_cg"];
    assert_eq!(
        (g["retryMaxTimes"].as_i64(), g["retryQueueNums"].as_i64()),
        (Some(5), Some(2)),
        "{table}"
    );
}

/// The stock `mqadmin consumerProgress` (5.3.3): the route of `%RETRY%<group>` (created by the
/// group's heartbeat), then GET_CONSUME_STATS (208); one row per queue with the queue's end and
/// the group's offset.
#[tokio::test]
async fn mqadmin_consumer_progress() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_keyed(&client, "ProgTopic", 9).await;
    let hb =
        r#"{"clientID":"c1","producerDataSet":[],"consumerDataSet":[{"groupName":"prog_cg"}]}"#;
    let hb =
        actormq::protocol::RemotingCommand::request(actormq::protocol::request_code::HEART_BEAT, 0)
            .with_body(hb.to_string().into());
    assert_eq!(client.request(hb).await.unwrap().code, 0);
    client
        .update_consumer_offset("prog_cg", "ProgTopic", 0, 1)
        .await
        .unwrap();
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let mut stdout = String::new();
    for _ in 0..10 {
        // The retry topic reaches the name server's routes a moment after the heartbeat.
        let out =
            common::java_server::mqadmin(&lib, namesrv, &["consumerProgress", "-g", "prog_cg"]);
        stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && stdout.contains("ProgTopic") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.first() == Some(&"ProgTopic"))
        .collect();
    let queues = client.read_queue_nums("ProgTopic").await.unwrap() as usize;
    assert_eq!(rows.len(), queues, "{stdout}");
    let ends: i64 = rows.iter().map(|w| w[3].parse::<i64>().unwrap()).sum();
    assert_eq!(ends, 9, "{stdout}");
    let q0 = rows.iter().find(|w| w[2] == "0").expect("queue 0");
    assert_eq!(q0[4], "1", "the group's offset of queue 0: {stdout}");
}

/// A heartbeat for consumer group `group` subscribed to `topic` and producer group
/// `producer_group`, as a Java 5.3 client sends it.
fn client_heartbeat(
    client_id: &str,
    group: &str,
    topic: &str,
    producer_group: &str,
) -> RemotingCommand {
    let from = "CONSUME_FROM_FIRST_OFFSET";
    common::java_consumer_heartbeat(client_id, group, &[topic], from, Some(producer_group))
}

/// Runs mqadmin until it succeeds with `want` in its output (the retry topic a heartbeat creates
/// reaches the name server's routes a moment later), at most 10 times; the last output.
async fn mqadmin_until(lib: &std::path::Path, namesrv: &str, args: &[&str], want: &str) -> String {
    let mut stdout = String::new();
    for _ in 0..10 {
        let out = common::java_server::mqadmin(lib, namesrv, args);
        stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && stdout.contains(want) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    stdout
}

/// The stock `mqadmin consumerConnection` (5.3.3): the route of `%RETRY%<group>`, then
/// GET_CONSUMER_CONNECTION_LIST (203); it lists both clients of the group with their addresses,
/// the subscription and the group's consume settings.
#[tokio::test]
async fn mqadmin_consumer_connection() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let (a, b) = (broker.client().await, broker.client().await);
    for (client, id) in [(&a, "conn-client-a"), (&b, "conn-client-b")] {
        let hb = client_heartbeat(id, "conn_cg", "ConnTopic", "conn_pg");
        assert_eq!(client.request(hb).await.unwrap().code, 0);
    }
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = ["consumerConnection", "-g", "conn_cg"];
    let stdout = mqadmin_until(&lib, namesrv, &args, "conn-client-b").await;
    for (id, client) in [("conn-client-a", &a), ("conn-client-b", &b)] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("no row for {id}: {stdout}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[1], client.local_addr().to_string(), "{stdout}");
        assert_eq!(cells[2], "JAVA", "{stdout}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["ConnTopic", "*"]),
        "{stdout}"
    );
    for line in [
        "ConsumeType: CONSUME_PASSIVELY",
        "MessageModel: CLUSTERING",
        "ConsumeFromWhere: CONSUME_FROM_FIRST_OFFSET",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
}

/// The stock `mqadmin topicList -c` (5.3.3): GET_BROKER_CLUSTER_INFO (106) and the topic list
/// (206) from the name server, then per topic its route (105) and QUERY_TOPIC_CONSUME_BY_WHO
/// (300): the topic's rows name the group online that subscribes to it and the group with offsets
/// on it, and no group of another topic.
#[tokio::test]
async fn mqadmin_topic_list_with_consumer_groups() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_keyed(&client, "WhoListTopic", 1).await;
    let hb = client_heartbeat("who-client", "who_list_online", "WhoListTopic", "who_pg");
    assert_eq!(client.request(hb).await.unwrap().code, 0);
    let hb = client_heartbeat("who-other", "who_list_other", "WhoOtherTopic", "who_pg");
    assert_eq!(client.request(hb).await.unwrap().code, 0);
    client
        .create_subscription_group("who_list_offsets")
        .await
        .unwrap();
    client
        .update_consumer_offset("who_list_offsets", "WhoListTopic", 0, 1)
        .await
        .unwrap();
    // Landed before mqadmin blocks this (single-threaded) runtime.
    let committed = client.query_consumer_offset("who_list_offsets", "WhoListTopic", 0);
    assert_eq!(committed.await.unwrap(), Some(1));
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let stdout = mqadmin_until(&lib, namesrv, &["topicList", "-c"], "who_list_offsets").await;
    // "#Cluster Name  #Topic  #Consumer Group": one row per group of each topic.
    let mut groups: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() == 3 && w[1] == "WhoListTopic")
        .map(|w| w[2])
        .collect();
    groups.sort();
    assert_eq!(groups, ["who_list_offsets", "who_list_online"], "{stdout}");
}

/// The stock `mqadmin producerConnection` (5.3.3): the route of the topic, then
/// GET_PRODUCER_CONNECTION_LIST (204); one row per producer of the group.
#[tokio::test]
async fn mqadmin_producer_connection() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let (a, b) = (broker.client().await, broker.client().await);
    send_keyed(&a, "ProdTopic", 1).await;
    for (client, id) in [(&a, "prod-client-a"), (&b, "prod-client-b")] {
        let hb = client_heartbeat(id, "prod_cg", "ProdTopic", "prod_pg");
        assert_eq!(client.request(hb).await.unwrap().code, 0);
    }
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = ["producerConnection", "-g", "prod_pg", "-t", "ProdTopic"];
    let stdout = mqadmin_until(&lib, namesrv, &args, "prod-client-b").await;
    // "0001  <clientId> <clientAddr> <language> <version>"
    let mut rows: Vec<(String, String, String)> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() >= 4 && w[1].starts_with("prod-client-"))
        .map(|w| (w[1].to_string(), w[2].to_string(), w[3].to_string()))
        .collect();
    rows.sort();
    let want = vec![
        (
            "prod-client-a".to_string(),
            a.local_addr().to_string(),
            "JAVA".to_string(),
        ),
        (
            "prod-client-b".to_string(),
            b.local_addr().to_string(),
            "JAVA".to_string(),
        ),
    ];
    assert_eq!(rows, want, "{stdout}");
}

/// Stock `mqadmin resetOffsetByTime` (5.3.3 sends INVOKE_BROKER_TO_RESET_OFFSET, 222, to the
/// topic's broker): a group that had consumed everything is reset to a time before the first
/// message; the tool prints each queue at offset 0 and the broker holds 0.
#[tokio::test]
async fn mqadmin_reset_offset_by_time() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        - 1;
    send_keyed(&client, "ResetTopic", 8).await;
    let hb =
        r#"{"clientID":"c1","producerDataSet":[],"consumerDataSet":[{"groupName":"reset_cg"}]}"#;
    let hb =
        actormq::protocol::RemotingCommand::request(actormq::protocol::request_code::HEART_BEAT, 0)
            .with_body(hb.to_string().into());
    assert_eq!(client.request(hb).await.unwrap().code, 0);
    let queues = client.read_queue_nums("ResetTopic").await.unwrap();
    for q in 0..queues {
        let end = client.max_offset("ResetTopic", q).await.unwrap();
        client
            .update_consumer_offset("reset_cg", "ResetTopic", q, end)
            .await
            .unwrap();
        // Landed before mqadmin blocks this (single-threaded) runtime.
        let committed = client.query_consumer_offset("reset_cg", "ResetTopic", q);
        assert_eq!(committed.await.unwrap(), Some(end));
    }
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let before = before.to_string();
    let args = [
        "resetOffsetByTime",
        "-g",
        "reset_cg",
        "-t",
        "ResetTopic",
        "-s",
        &before,
    ];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() == 3 && w[0] == "broker-a")
        .collect();
    assert_eq!(rows.len(), queues as usize, "{stdout}");
    assert!(rows.iter().all(|w| w[2] == "0"), "{stdout}");
    for q in 0..queues {
        let offset = client.query_consumer_offset("reset_cg", "ResetTopic", q);
        assert_eq!(offset.await.unwrap(), Some(0), "queue {q}");
    }
}

/// Stock `mqadmin deleteSubGroup -b <broker> -g G -r true` (DELETE_SUBSCRIPTIONGROUP, 207 with
/// `cleanOffset`): the group's config and offsets are gone.
#[tokio::test]
async fn mqadmin_delete_sub_group() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_keyed(&client, "DelGroupTopic", 4).await;
    client.create_subscription_group("del_cg").await.unwrap();
    client
        .update_consumer_offset("del_cg", "DelGroupTopic", 0, 1)
        .await
        .unwrap();
    // The oneway commit is written before mqadmin blocks this (single-threaded) runtime.
    let committed = client.query_consumer_offset("del_cg", "DelGroupTopic", 0);
    assert_eq!(committed.await.unwrap(), Some(1));
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = [
        "deleteSubGroup",
        "-b",
        &broker.addr,
        "-g",
        "del_cg",
        "-r",
        "true",
    ];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("delete subscription group [del_cg]"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let groups = actormq::protocol::RemotingCommand::request(
        actormq::protocol::request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        0,
    );
    let table = client.request(groups).await.unwrap();
    assert!(!String::from_utf8_lossy(&table.body).contains("\"del_cg\""));
    common::wait_until_async(
        std::time::Duration::from_secs(5),
        "offsets removed",
        || async {
            let offset = client.query_consumer_offset("del_cg", "DelGroupTopic", 0);
            offset.await.unwrap().is_none()
        },
    )
    .await;
}

/// The line of `stdout` that lists `broker`, split on whitespace (`None` if there is none).
fn broker_row<'a>(stdout: &'a str, broker: &str) -> Option<(&'a str, Vec<&'a str>)> {
    stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| (l, l.split_whitespace().collect::<Vec<_>>()))
        .find(|(_, w)| w.get(1) == Some(&broker))
}

/// The stock `mqadmin clusterList` (5.3.3): GET_BROKER_CLUSTER_INFO (106) from actormq's
/// name-server role, then GET_BROKER_RUNTIME_INFO (28) from the broker. With `-m` its day totals
/// (`msgPutTotalTodayNow - msgPutTotalTodayMorning`, the same for gets) are the messages sent and
/// pulled; the base view, taken while sends flow, shows InTPS (`putTps`'s 10 s rate) above 0 and
/// no `null` (the pool sizes, head wait times, `pageCacheLockTimeMills` are all there).
#[tokio::test]
async fn mqadmin_cluster_list() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_keyed(&client, "ClusterTopic", 12).await;
    let queues = client.read_queue_nums("ClusterTopic").await.unwrap();
    let mut pulled = 0;
    for queue in 0..queues {
        let got = common::pull_queue_bodies(&client, "cl_cg", "ClusterTopic", queue, 32).await;
        pulled += got.len();
    }
    assert_eq!(pulled, 12);
    let namesrv = broker.namesrv_addr.clone().expect("name server");

    // "#Cluster Name #Broker Name #InTotalYest #OutTotalYest #InTotalToday #OutTotalToday"
    let out = common::java_server::mqadmin(&lib, &namesrv, &["clusterList", "-m"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    let (_, w) = broker_row(&stdout, "broker-a").unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(w[2..], ["0", "0", "12", "12"], "{stdout}");

    // The base view, with sends flowing so the 10 s rate is above 0 whenever mqadmin asks.
    let args = ["clusterList"];
    let mut admin =
        tokio::task::spawn_blocking(move || common::java_server::mqadmin(&lib, &namesrv, &args));
    let out = loop {
        tokio::select! {
            out = &mut admin => break out.unwrap(),
            _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {
                let msg = OutgoingMessage::new("ClusterTopic", "flowing");
                client.send(&msg).await.unwrap();
            }
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    let (line, w) = broker_row(&stdout, "broker-a").unwrap_or_else(|| panic!("{stdout}"));
    assert!(!line.contains("null"), "{stdout}");
    // "#InTPS(LOAD)" is "<putTps>(<queue size>,<head wait>ms)"; the version before it has a
    // space, so find it as the first field with a parenthesis.
    let in_tps = w
        .iter()
        .find_map(|f| f.split_once('(').map(|(tps, _)| tps))
        .unwrap_or_else(|| panic!("no InTPS in {line}"));
    let in_tps: f64 = in_tps.parse().unwrap_or_else(|_| panic!("{line}"));
    assert!(in_tps > 0.0, "{stdout}");
    assert_eq!(w.last(), Some(&"true"), "#ACTIVATED: {stdout}");
}

/// Stock `mqadmin wipeWritePerm` / `addWritePerm` (205 / 327 to the name server) and
/// `deleteTopic -c` (215 to the cluster's masters, then 216 to the name server): the routes lose
/// and regain write permission, and the deleted topic has no route and no config.
#[tokio::test]
async fn mqadmin_write_perm_and_delete_topic() {
    let Some(lib) = common::java_server::server_lib("query") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    send_keyed(&client, "PermTopic", 2).await;
    send_keyed(&client, "GoneTopic", 2).await;
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let ns = actormq::client::Client::connect(namesrv).await.unwrap();
    let route = |topic: &str| {
        actormq::protocol::RemotingCommand::request(
            actormq::protocol::request_code::GET_ROUTEINFO_BY_TOPIC,
            0,
        )
        .with_ext("topic", topic)
    };
    let perm = |r: actormq::protocol::RemotingCommand| {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["queueDatas"][0]["perm"].as_i64().unwrap()
    };
    let run = |args: &[&str]| {
        let out = common::java_server::mqadmin(&lib, namesrv, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };

    let out = run(&["wipeWritePerm", "-b", "broker-a"]);
    assert!(
        out.contains("wipe write perm of broker[broker-a]") && out.contains("OK"),
        "{out}"
    );
    assert_eq!(perm(ns.request(route("PermTopic")).await.unwrap()), 4);
    let out = run(&["addWritePerm", "-b", "broker-a"]);
    assert!(
        out.contains("add write perm of broker[broker-a]") && out.contains("OK"),
        "{out}"
    );
    assert_eq!(perm(ns.request(route("PermTopic")).await.unwrap()), 6);

    let out = run(&["deleteTopic", "-t", "GoneTopic", "-c", "DefaultCluster"]);
    assert!(
        out.contains("delete topic [GoneTopic] from NameServer success"),
        "{out}"
    );
    let gone = ns.request(route("GoneTopic")).await.unwrap();
    assert_eq!(gone.code, actormq::protocol::response_code::TOPIC_NOT_EXIST);
    let all = actormq::protocol::RemotingCommand::request(
        actormq::protocol::request_code::GET_ALL_TOPIC_CONFIG,
        0,
    );
    let table = client.request(all).await.unwrap();
    assert!(!String::from_utf8_lossy(&table.body).contains("GoneTopic"));
    assert_eq!(ns.request(route("PermTopic")).await.unwrap().code, 0);
}
