//! The admin reads of the stock `mqadmin` (rocketmq-tools 5.3.3) that look at every group or at
//! raw consume-queue entries: GET_BROKER_CONSUME_STATS (317, `mqadmin brokerConsumeStats`) and
//! QUERY_CONSUME_QUEUE (321, `mqadmin queryCq`), raw through the client with Java 5.3.3's
//! answers (bodies, totals, remarks and error codes), and (with the Java jars,
//! `ACTORMQ_JAVA_SERVER`) through the stock tool, whose printed values are checked.

mod common;

use std::time::Duration;

use actormq::client::{Client, OutgoingMessage};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::paths;
use common::TestBroker;

/// The default `[broker] name` of a test broker.
const BROKER: &str = "broker-a";

/// `UPDATE_AND_CREATE_TOPIC` with `queues` read and write queues.
async fn create_topic(client: &Client, topic: &str, queues: i32, order: bool) {
    create_topic_with(client, topic, (queues, queues), order).await;
}

/// `UPDATE_AND_CREATE_TOPIC` with `(read, write)` queues.
async fn create_topic_with(client: &Client, topic: &str, (read, write): (i32, i32), order: bool) {
    let cmd = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 0)
        .with_ext("topic", topic)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", read)
        .with_ext("writeQueueNums", write)
        .with_ext("perm", 6)
        .with_ext("order", order)
        .with_ext("topicFilterType", "SINGLE_TAG");
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
}

/// Sends `n` messages tagged `tag` to `topic`'s queue `queue_id`; each one's commit-log offset
/// (read out of its offset msgId), once the queue's end shows them all.
async fn send_to(client: &Client, topic: &str, queue_id: i32, n: usize, tag: &str) -> Vec<i64> {
    let mut offsets = Vec::new();
    for i in 0..n {
        let mut m = OutgoingMessage::new(topic, format!("{topic}-{queue_id}-{i}"));
        m.queue_id = queue_id;
        m.tags = Some(tag.to_string());
        let r = client.send(&m).await.unwrap();
        assert_eq!(r.queue_id, queue_id);
        let hex = &r.msg_id[r.msg_id.len() - 16..];
        offsets.push(i64::from_str_radix(hex, 16).unwrap());
    }
    let end = client.max_offset(topic, queue_id).await.unwrap() as usize;
    common::wait_until_async(Duration::from_secs(5), "the queue's entries", || async {
        client.max_offset(topic, queue_id).await.unwrap() as usize >= end.max(n)
    })
    .await;
    offsets
}

/// A topic of two queues holding 6 and 4 messages (tag `A`): what the stock-tool tests read.
async fn two_queue_backlog(client: &Client, topic: &str) {
    create_topic(client, topic, 2, false).await;
    send_to(client, topic, 0, 6, "A").await;
    send_to(client, topic, 1, 4, "A").await;
}

/// Commits an offset (oneway) of `group`, created first (a commit needs its group, as Java
/// 5.2+), then round-trips a query so it has landed.
async fn commit(client: &Client, group: &str, topic: &str, queue_id: i32, offset: i64) {
    client.create_subscription_group(group).await.unwrap();
    client
        .update_consumer_offset(group, topic, queue_id, offset)
        .await
        .unwrap();
    let stored = client
        .query_consumer_offset(group, topic, queue_id)
        .await
        .unwrap();
    assert_eq!(stored, Some(offset));
}

/// A Java 5.3 client's heartbeat: consumer group `group` subscribed to `topics` (tag `*`).
fn heartbeat(client_id: &str, group: &str, topics: &[&str]) -> RemotingCommand {
    common::java_consumer_heartbeat(client_id, group, topics, "CONSUME_FROM_FIRST_OFFSET", None)
}

async fn broker_consume_stats(client: &Client, is_order: Option<&str>) -> String {
    let mut cmd = RemotingCommand::request(request_code::GET_BROKER_CONSUME_STATS, 0);
    if let Some(v) = is_order {
        cmd = cmd.with_ext("isOrder", v);
    }
    let r = client.request(cmd).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    String::from_utf8(r.body.to_vec()).unwrap()
}

/// The queue key of a `ConsumeStats` offset table, as fastjson writes a `MessageQueue`.
fn mq(topic: &str, queue_id: i32) -> String {
    format!("{{\"brokerName\":\"{BROKER}\",\"queueId\":{queue_id},\"topic\":\"{topic}\"}}:")
}

/// The number after `"field":` following `from` in `s`.
fn number_after(s: &str, from: &str, field: &str) -> i64 {
    let start = s.find(from).unwrap_or_else(|| panic!("{from} not in {s}")) + from.len();
    let rest = &s[start..];
    let key = format!("\"{field}\":");
    let at = rest
        .find(&key)
        .unwrap_or_else(|| panic!("{field} not in {rest}"))
        + key.len();
    let digits: String = rest[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().unwrap()
}

/// The `ConsumeStats` list of `group` in a `ConsumeStatsList` body (`{"<group>":[...]}`; no `]`
/// occurs inside a `ConsumeStats`).
fn group_section<'a>(body: &'a str, group: &str) -> Option<&'a str> {
    let start = body.find(&format!("{{\"{group}\":["))?;
    let end = body[start..].find("]}")?;
    Some(&body[start..start + end + 2])
}

/// One `OffsetWrapper` of `group`'s list: (brokerOffset, consumerOffset, lastTimestamp,
/// pullOffset).
fn wrapper(body: &str, group: &str, topic: &str, queue_id: i32) -> (i64, i64, i64, i64) {
    let section = group_section(body, group).unwrap_or_else(|| panic!("{group} in {body}"));
    let key = mq(topic, queue_id);
    let f = |field| number_after(section, &key, field);
    (
        f("brokerOffset"),
        f("consumerOffset"),
        f("lastTimestamp"),
        f("pullOffset"),
    )
}

/// GET_CONSUME_STATS (208) walks a topic's read queues and GET_BROKER_CONSUME_STATS (317) its
/// write queues, as Java 5.3.3 does: 2 rows and 4 rows for a topic of 2 read and 4 write queues.
#[tokio::test]
async fn consume_stats_walk_the_read_queues_and_broker_consume_stats_the_write_queues() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    create_topic_with(&client, "Uneven", (2, 4), false).await;
    commit(&client, "uneven_cg", "Uneven", 0, 0).await;
    let ask = RemotingCommand::request(request_code::GET_CONSUME_STATS, 0)
        .with_ext("consumerGroup", "uneven_cg");
    let r = client.request(ask).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let one = String::from_utf8(r.body.to_vec()).unwrap();
    assert_eq!(one.matches("\"topic\":\"Uneven\"").count(), 2, "{one}");
    let all = broker_consume_stats(&client, None).await;
    let section = group_section(&all, "uneven_cg").unwrap_or_else(|| panic!("{all}"));
    assert_eq!(
        section.matches("\"topic\":\"Uneven\"").count(),
        4,
        "{section}"
    );
}

/// GET_BROKER_CONSUME_STATS lists every group with offsets, each with a `ConsumeStats` per topic
/// it has offsets on (over the topic's write queues): the queue's end, the group's offset, the
/// store time of the message before it, `pullOffset` 0; Java's totals; this broker's address.
/// `isOrder=true` keeps only order topics ("1" is false, as Java's `parseBoolean`); a topic the
/// broker does not have is left out; a group with a consumer online keeps only the topics it
/// subscribes to.
#[tokio::test]
async fn broker_consume_stats_raw() {
    let mut broker = TestBroker::start();
    // Offsets on a topic the broker does not have (no commit can store them: a table kept from
    // elsewhere).
    assert_eq!(broker.stop(), Some(0));
    let offsets = r#"{"offsetTable":{"NoSuchTopic@g3":{"0":4}}}"#;
    std::fs::write(paths::consumer_offsets_json(&broker.root()), offsets).unwrap();
    broker.restart();
    let client = broker.client().await;
    create_topic(&client, "StatsA", 2, false).await;
    create_topic(&client, "StatsOrder", 1, true).await;
    let before = actormq::store::now_ms();
    send_to(&client, "StatsA", 0, 5, "A").await;
    send_to(&client, "StatsA", 1, 2, "A").await;
    send_to(&client, "StatsOrder", 0, 3, "A").await;
    let after = actormq::store::now_ms();
    commit(&client, "g1", "StatsA", 0, 3).await;
    commit(&client, "g1", "StatsA", 1, 0).await;
    commit(&client, "g1", "StatsOrder", 0, 1).await;
    commit(&client, "g2", "StatsA", 1, 2).await;

    let body = broker_consume_stats(&client, Some("false")).await;
    assert!(
        body.starts_with(&format!("{{\"brokerAddr\":\"{}\",", broker.addr)),
        "{body}"
    );
    let (b, c, last, pull) = wrapper(&body, "g1", "StatsA", 0);
    assert_eq!((b, c, pull), (5, 3, 0), "{body}");
    assert!((before..=after).contains(&last), "{last} {body}");
    // Nothing consumed: no last time.
    assert_eq!(wrapper(&body, "g1", "StatsA", 1), (2, 0, 0, 0), "{body}");
    assert_eq!(wrapper(&body, "g1", "StatsOrder", 0).0, 3, "{body}");
    // g2 committed only queue 1: queue 0 still listed, with offset 0.
    assert_eq!(wrapper(&body, "g2", "StatsA", 0), (5, 0, 0, 0), "{body}");
    assert_eq!(wrapper(&body, "g2", "StatsA", 1).1, 2, "{body}");
    assert_eq!(group_section(&body, "g3"), Some("{\"g3\":[]}"), "{body}");
    // Diff: g1 (5-3)+(2-0)+(3-1), g2 (5-0)+(2-2); in flight: -(sum of consumer offsets).
    assert!(
        body.ends_with(",\"totalDiff\":11,\"totalInflightDiff\":-6}"),
        "{body}"
    );
    assert_eq!(broker_consume_stats(&client, None).await, body);
    assert_eq!(broker_consume_stats(&client, Some("1")).await, body);

    let order = broker_consume_stats(&client, Some("true")).await;
    let g1 = group_section(&order, "g1").unwrap();
    assert!(
        g1.contains("StatsOrder") && !g1.contains("StatsA"),
        "{order}"
    );
    assert_eq!(group_section(&order, "g2"), Some("{\"g2\":[]}"), "{order}");
    assert!(
        order.ends_with(",\"totalDiff\":2,\"totalInflightDiff\":-1}"),
        "{order}"
    );

    // g1 online, subscribed to StatsOrder only: its StatsA offsets are not reported.
    let online = broker.client().await;
    let r = online
        .request(heartbeat("c1", "g1", &["StatsOrder"]))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    let body = broker_consume_stats(&client, None).await;
    let g1 = group_section(&body, "g1").unwrap();
    assert!(
        g1.contains("StatsOrder") && !g1.contains("StatsA"),
        "{body}"
    );
    assert!(
        group_section(&body, "g2").unwrap().contains("StatsA"),
        "{body}"
    );
}

async fn query_cq(client: &Client, fields: &[(&'static str, String)]) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request_code::QUERY_CONSUME_QUEUE, 0);
    for (k, v) in fields {
        cmd = cmd.with_ext(k, v);
    }
    client.request(cmd).await.unwrap()
}

fn cq_fields(topic: &str, queue_id: i32, index: i64, count: i32) -> Vec<(&'static str, String)> {
    vec![
        ("topic", topic.to_string()),
        ("queueId", queue_id.to_string()),
        ("index", index.to_string()),
        ("count", count.to_string()),
    ]
}

/// QUERY_CONSUME_QUEUE: `count` entries from `index` (each its record's commit-log offset and
/// size, and the tag's hash code), up to the queue's end, with the queue's bounds; Java's answers
/// to a queue or an index that does not exist, to a count of 0 or less and to a missing topic;
/// with a group, its online subscription or Java's "not online" text.
#[tokio::test]
async fn query_consume_queue_raw() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    create_topic(&client, "CqTopic", 2, false).await;
    let offsets = send_to(&client, "CqTopic", 1, 5, "A").await;

    let r = query_cq(&client, &cq_fields("CqTopic", 1, 1, 3)).await;
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (response_code::SUCCESS, None)
    );
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (
            body["maxQueueIndex"].as_i64(),
            body["minQueueIndex"].as_i64()
        ),
        (Some(5), Some(0))
    );
    assert!(body.get("filterData").is_none() && body.get("subscriptionData").is_none());
    let data = body["queueData"].as_array().unwrap();
    let physic: Vec<i64> = data
        .iter()
        .map(|e| e["physicOffset"].as_i64().unwrap())
        .collect();
    assert_eq!(physic, offsets[1..4], "{body}");
    for (i, e) in data.iter().enumerate() {
        // "A".hashCode() is 65; each record ends where the next begins.
        assert_eq!(e["tagsCode"], 65, "{e}");
        assert_eq!(e["eval"], false, "{e}");
        let size = e["physicSize"].as_i64().unwrap();
        assert_eq!(offsets[i + 1] + size, offsets[i + 2], "{e}");
    }

    // Up to the queue's end; none for a count of 0 or less.
    let r = query_cq(&client, &cq_fields("CqTopic", 1, 2, i32::MAX)).await;
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["queueData"].as_array().unwrap().len(), 3, "{body}");
    for count in [0, -4] {
        let r = query_cq(&client, &cq_fields("CqTopic", 1, 0, count)).await;
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["queueData"], serde_json::json!([]), "{body}");
    }

    // An index the queue does not hold: SUCCESS with a remark and no body.
    for index in [5, -1, i64::MAX] {
        let r = query_cq(&client, &cq_fields("CqTopic", 1, index, 3)).await;
        assert_eq!(r.code, response_code::SUCCESS);
        let remark = format!("Index {index} of 1@CqTopic is not exist!");
        assert_eq!(r.remark.as_deref(), Some(remark.as_str()));
        assert!(r.body.is_empty());
    }
    // No such queue: an empty one of the topic, one past its queues, another topic.
    for (topic, queue_id) in [("CqTopic", 0), ("CqTopic", 7), ("CqTopic", -1), ("Nope", 1)] {
        let r = query_cq(&client, &cq_fields(topic, queue_id, 0, 3)).await;
        assert_eq!(r.code, response_code::SYSTEM_ERROR);
        let remark = format!("{queue_id}@{topic} is not exist!");
        assert_eq!(r.remark.as_deref(), Some(remark.as_str()));
    }
    // No topic: Java's NullPointerException.
    let r = query_cq(&client, &cq_fields("CqTopic", 1, 0, 3)[1..]).await;
    assert_eq!(r.code, response_code::SYSTEM_ERROR);
    assert!(r
        .remark
        .unwrap()
        .contains("QueryConsumeQueueRequestHeader.topic"));

    // With a group: not online, then online (its subscription of the topic).
    let mut fields = cq_fields("CqTopic", 1, 0, 1);
    fields.push(("consumerGroup", "cq_group".to_string()));
    let r = query_cq(&client, &fields).await;
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body["filterData"], "cq_group@CqTopic is not online!",
        "{body}"
    );
    assert!(body.get("subscriptionData").is_none(), "{body}");
    let online = broker.client().await;
    let hb = heartbeat("c1", "cq_group", &["CqTopic", "Other"]);
    assert_eq!(
        online.request(hb).await.unwrap().code,
        response_code::SUCCESS
    );
    let r = query_cq(&client, &fields).await;
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["filterData"], "null", "{body}");
    assert_eq!(body["subscriptionData"]["topic"], "CqTopic", "{body}");
    assert_eq!(body["subscriptionData"]["subString"], "*", "{body}");
    assert_eq!(body["queueData"].as_array().unwrap().len(), 1, "{body}");
}

/// The stock `mqadmin brokerConsumeStats -b <addr>`: a row per queue where the group consumed
/// something (it prints only those with a last time), with the queue's end, the group's offset
/// and the difference, and "Diff Total".
#[tokio::test]
async fn mqadmin_broker_consume_stats() {
    let Some(lib) = common::java_server::server_lib("admin_tools") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    two_queue_backlog(&client, "ToolStats").await;
    // Landed before mqadmin blocks this (single-threaded) runtime.
    commit(&client, "tool_cg", "ToolStats", 0, 2).await;
    commit(&client, "tool_cg", "ToolStats", 1, 4).await;
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = ["brokerConsumeStats", "-b", &broker.addr];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains("Exception"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "#Topic #Group #Broker Name #QID #Broker Offset #Consumer Offset #Diff #LastTime"
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.first() == Some(&"ToolStats"))
        .collect();
    let row = |q: &str| rows.iter().find(|w| w[3] == q).map(|w| w[1..7].to_vec());
    assert_eq!(
        row("0"),
        Some(vec!["tool_cg", BROKER, "0", "6", "2", "4"]),
        "{stdout}"
    );
    assert_eq!(
        row("1"),
        Some(vec!["tool_cg", BROKER, "1", "4", "4", "0"]),
        "{stdout}"
    );
    assert!(stdout.contains("Diff Total: 4"), "{stdout}");
}

/// The stock `mqadmin queryCq`: the queue's bounds, then one `ConsumeQueueData` per entry from
/// the index, with each record's commit-log offset; with `-g`, the group's filter text.
#[tokio::test]
async fn mqadmin_query_cq() {
    let Some(lib) = common::java_server::server_lib("admin_tools") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    create_topic(&client, "ToolCq", 1, false).await;
    let offsets = send_to(&client, "ToolCq", 0, 4, "A").await;
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = [
        "queryCq",
        "-t",
        "ToolCq",
        "-q",
        "0",
        "-i",
        "1",
        "-c",
        "2",
        "-b",
        &broker.addr,
        "-g",
        "cq_tool_group",
    ];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains("Exception"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Filter data: \ncq_tool_group@ToolCq is not online!"),
        "{stdout}"
    );
    assert!(stdout.contains("max: 4, min: 0"), "{stdout}");
    for (idx, offset) in [(1, offsets[1]), (2, offsets[2])] {
        let entry = format!("idx: {idx}\nConsumeQueueData{{physicOffset={offset}, physicSize=");
        assert!(stdout.contains(&entry), "{entry} in {stdout}");
    }
    assert!(
        stdout
            .contains("tagsCode=65, extendDataJson='null', bitMap='null', eval=false, msg='null'}"),
        "{stdout}"
    );
    assert!(!stdout.contains("idx: 3"), "{stdout}");
}

/// `CLONE_GROUP_OFFSET` (314) raw.
fn clone_request(src: &str, dest: &str, topic: Option<&str>, offline: bool) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request_code::CLONE_GROUP_OFFSET, 0)
        .with_ext("srcGroup", src)
        .with_ext("destGroup", dest)
        .with_ext("offline", offline);
    if let Some(topic) = topic {
        cmd = cmd.with_ext("topic", topic);
    }
    cmd
}

/// CLONE_GROUP_OFFSET (314): the source's offsets on the topic replace the destination's there
/// (other topics of either group untouched); a blank topic clones every topic of the source; a
/// source group online clones only the topics it subscribes to unless `offline`; a missing group
/// header is refused.
#[tokio::test]
async fn clone_group_offset_raw() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    for topic in ["CloneA", "CloneB"] {
        create_topic(&client, topic, 4, false).await;
    }
    commit(&client, "clone_src", "CloneA", 0, 5).await;
    commit(&client, "clone_src", "CloneA", 1, 7).await;
    commit(&client, "clone_src", "CloneB", 2, 3).await;
    commit(&client, "clone_dest", "CloneA", 3, 99).await;
    let offset = |group: &'static str, topic: &'static str, q: i32| {
        let client = &client;
        async move { client.query_consumer_offset(group, topic, q).await.unwrap() }
    };

    let r = client
        .request(clone_request(
            "clone_src",
            "clone_dest",
            Some("CloneA"),
            false,
        ))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert_eq!(offset("clone_dest", "CloneA", 0).await, Some(5));
    assert_eq!(offset("clone_dest", "CloneA", 1).await, Some(7));
    assert_eq!(offset("clone_dest", "CloneA", 3).await, None, "replaced");
    assert_eq!(
        offset("clone_dest", "CloneB", 2).await,
        None,
        "not asked for"
    );

    let r = client
        .request(clone_request("clone_src", "clone_all", None, false))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    assert_eq!(offset("clone_all", "CloneA", 1).await, Some(7));
    assert_eq!(offset("clone_all", "CloneB", 2).await, Some(3));

    // Online, subscribed to CloneA only: CloneB is not cloned unless offline.
    let consumer = broker.client().await;
    let r = consumer
        .request(heartbeat("clone-client", "clone_src", &["CloneA"]))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    client
        .request(clone_request("clone_src", "clone_online", None, false))
        .await
        .unwrap();
    assert_eq!(offset("clone_online", "CloneA", 0).await, Some(5));
    assert_eq!(offset("clone_online", "CloneB", 2).await, None);
    client
        .request(clone_request("clone_src", "clone_online", None, true))
        .await
        .unwrap();
    assert_eq!(offset("clone_online", "CloneB", 2).await, Some(3));

    let bad = RemotingCommand::request(request_code::CLONE_GROUP_OFFSET, 0)
        .with_ext("destGroup", "clone_dest");
    let r = client.request(bad).await.unwrap();
    assert_ne!(r.code, response_code::SUCCESS);
    assert!(r.remark.unwrap_or_default().contains("srcGroup"));
}

/// The stock `mqadmin cloneGroupOffset` (it reads the source's consume stats first, so the group
/// has a consumer and its `%RETRY%` topic): the destination group then has the source's offsets.
/// The tool stores each with UPDATE_CONSUMER_OFFSET, so the destination group must exist, as on
/// a Java 5.3.3 broker (else "CODE: 26 DESC: Group tool_dest not exist!").
#[tokio::test]
async fn mqadmin_clone_group_offset() {
    let Some(lib) = common::java_server::server_lib("admin_tools") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    two_queue_backlog(&client, "ToolClone").await;
    let consumer = broker.client().await;
    let r = consumer
        .request(heartbeat("tool-clone-client", "tool_src", &["ToolClone"]))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    commit(&client, "tool_src", "ToolClone", 0, 2).await;
    commit(&client, "tool_src", "ToolClone", 1, 4).await;
    client.create_subscription_group("tool_dest").await.unwrap();
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = [
        "cloneGroupOffset",
        "-s",
        "tool_src",
        "-d",
        "tool_dest",
        "-t",
        "ToolClone",
    ];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("clone group offset success"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (q, want) in [(0, 2), (1, 4)] {
        let got = client
            .query_consumer_offset("tool_dest", "ToolClone", q)
            .await
            .unwrap();
        assert_eq!(got, Some(want), "queue {q}");
    }
}

/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305): Java's system topic set, as its `TopicList`.
#[tokio::test]
async fn system_topic_list_from_broker() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let ask = RemotingCommand::request(request_code::GET_SYSTEM_TOPIC_LIST_FROM_BROKER, 0);
    let r = client.request(ask).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let topics = body["topicList"].as_array().expect("topicList");
    assert_eq!(topics.len(), 10, "{body}");
    for t in ["TBW102", "SCHEDULE_TOPIC_XXXX", "RMQ_SYS_TRANS_HALF_TOPIC"] {
        assert!(topics.iter().any(|v| v == t), "{t} in {body}");
    }
}

/// The stock `mqadmin exportMetadata` (305, then every topic and group config): the file names
/// the user's topic and leaves the system topics out.
#[tokio::test]
async fn mqadmin_export_metadata() {
    let Some(lib) = common::java_server::server_lib("admin_tools") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    create_topic(&client, "ToolExport", 2, false).await;
    let out_dir = tempfile::tempdir().unwrap();
    let path = out_dir.path().to_str().unwrap().to_string();
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let args = ["exportMetadata", "-c", "DefaultCluster", "-f", &path];
    let out = common::java_server::mqadmin(&lib, namesrv, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("success"), "{stdout}");
    let file = std::fs::read_to_string(out_dir.path().join("metadata.json")).unwrap();
    assert!(file.contains("\"ToolExport\""), "{file}");
    assert!(!file.contains("SCHEDULE_TOPIC_XXXX"), "{file}");
}

/// `mqadmin deleteTopic` empties the topic's queues on the broker (215), and `cleanExpiredCQ`
/// (306) and `cleanUnusedTopic` (316) run to "success" against an actormq broker.
#[tokio::test]
async fn mqadmin_delete_topic_and_clean_queues() {
    let Some(lib) = common::java_server::server_lib("admin_tools") else {
        return;
    };
    let broker = TestBroker::start();
    let client = broker.client().await;
    create_topic(&client, "ToolDel", 1, false).await;
    send_to(&client, "ToolDel", 0, 3, "A").await;
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let run = |args: &[&str]| {
        let out = common::java_server::mqadmin(&lib, namesrv, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && !stdout.contains("Exception"),
            "{args:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let out = run(&["deleteTopic", "-t", "ToolDel", "-c", "DefaultCluster"]);
    assert!(
        out.contains("delete topic [ToolDel] from cluster [DefaultCluster] success"),
        "{out}"
    );
    let span = (
        client.min_offset("ToolDel", 0).await.unwrap(),
        client.max_offset("ToolDel", 0).await.unwrap(),
    );
    assert_eq!(span, (3, 3));
    for command in ["cleanExpiredCQ", "cleanUnusedTopic"] {
        let out = run(&[command, "-b", &broker.addr]);
        assert!(out.contains("success"), "{command}: {out}");
    }
}
