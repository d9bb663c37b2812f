//! VIEW_BROKER_STATS_DATA (315): per-topic puts (`TOPIC_PUT_NUMS` / `TOPIC_PUT_SIZE`), per
//! topic@group gets (`GROUP_GET_NUMS` / `GROUP_GET_SIZE`) and the broker totals
//! (`BROKER_PUT_NUMS` / `BROKER_GET_NUMS`, keyed by the cluster name) over a minute, an hour and a
//! day, as the Java broker answers them; Java's refusals for a name or key it does not have; and
//! (with the Java jars) the stock `mqadmin statsAll`, which reads them.
//!
//! As Java, only completed samples count; the tests sample faster than Java's 10 s
//! (`metrics.stats_sample_interval_ms`) so the first sample comes soon.

mod common;

use std::time::Duration;

use actormq::client::{Client, OutgoingMessage, PullRequest};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use common::TestBroker;
use serde_json::Value;

const N: usize = 20;

fn view_request(name: &str, key: &str) -> RemotingCommand {
    RemotingCommand::request(request_code::VIEW_BROKER_STATS_DATA, 0)
        .with_ext("statsName", name)
        .with_ext("statsKey", key)
}

/// The answer's code, remark and body (JSON, `Null` without one).
async fn view(client: &Client, name: &str, key: &str) -> (i32, Option<String>, Value) {
    let resp = client.request(view_request(name, key)).await.unwrap();
    let body = match resp.body.is_empty() {
        true => Value::Null,
        false => serde_json::from_slice(&resp.body).unwrap(),
    };
    (resp.code, resp.remark, body)
}

/// Sends `n` messages to `topic`, then pulls every queue of it once with `group` (committing
/// the offsets, so the group consumes the topic); returns how many messages the pulls carried.
async fn send_and_consume(client: &Client, topic: &str, group: &str, n: usize) -> usize {
    for i in 0..n {
        client
            .send(&OutgoingMessage::new(topic, format!("stats-body-{i}")))
            .await
            .unwrap();
    }
    let queues = client.read_queue_nums(topic).await.unwrap();
    let mut pulled = 0;
    for queue in 0..queues {
        let bodies = common::pull_queue_bodies(client, group, topic, queue, 32).await;
        pulled += bodies.len();
        let mut commit = PullRequest::new(group, topic, queue, bodies.len() as i64);
        commit.commit_offset = Some(bodies.len() as i64);
        client.pull(&commit).await.unwrap();
    }
    pulled
}

/// The minute window's sum of `name` / `key` once a sample has it (it stays there for six
/// sampling intervals).
async fn minute_sum_reaches(client: &Client, name: &str, key: &str, want: u64) -> Value {
    let mut last = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        let (code, _, body) = view(client, name, key).await;
        if code == response_code::SUCCESS && body["statsMinute"]["sum"] == want {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{name} {key}: minute sum never reached {want}; last {last}");
}

/// Sends and pulls, then 315 answers every window: puts per topic, gets per topic@group, the
/// broker totals under the cluster name; the bytes put and pulled are the same stored records;
/// avgpt is messages per send (or per pull answer), 0 for the broker totals, as Java.
#[tokio::test]
async fn puts_and_gets_per_topic_group_and_broker() {
    let broker = TestBroker::start_with("[metrics]\nstats_sample_interval_ms = 500");
    let client = broker.client().await;
    let pulled = send_and_consume(&client, "StatsTopic", "StatsGroup", N).await;
    assert_eq!(pulled, N);
    let n = N as u64;

    let put = minute_sum_reaches(&client, "TOPIC_PUT_NUMS", "StatsTopic", n).await;
    // One message per send: avgpt 1; the rate is over the window's samples (> 0).
    assert_eq!(put["statsMinute"]["avgpt"], 1.0, "{put}");
    assert!(put["statsMinute"]["tps"].as_f64().unwrap() > 0.0, "{put}");
    // The hour and day windows sample every 60 and 360 intervals (from the first): they hold
    // the sends only if those came before the first sample; never more.
    for window in ["statsHour", "statsDay"] {
        let sum = put[window]["sum"].as_u64().unwrap();
        assert!(sum == 0 || sum == n, "{put}");
    }

    let get = minute_sum_reaches(&client, "GROUP_GET_NUMS", "StatsTopic@StatsGroup", n).await;
    // At most 32 per pull: each pull that found messages counts once.
    assert!(
        get["statsMinute"]["avgpt"].as_f64().unwrap() >= 1.0,
        "{get}"
    );

    // The records put are the records pulled: the same bytes.
    let (code, _, put_size) = view(&client, "TOPIC_PUT_SIZE", "StatsTopic").await;
    assert_eq!(code, response_code::SUCCESS);
    let (code, _, get_size) = view(&client, "GROUP_GET_SIZE", "StatsTopic@StatsGroup").await;
    assert_eq!(code, response_code::SUCCESS);
    let bytes = put_size["statsMinute"]["sum"].as_u64().unwrap();
    assert!(bytes > n * "stats-body-0".len() as u64, "{put_size}");
    assert_eq!(
        get_size["statsMinute"]["sum"].as_u64(),
        Some(bytes),
        "{get_size}"
    );

    // The broker totals, keyed by the cluster name; Java counts no times for them.
    let total = minute_sum_reaches(&client, "BROKER_PUT_NUMS", "DefaultCluster", n).await;
    assert_eq!(total["statsMinute"]["avgpt"], 0.0, "{total}");
    minute_sum_reaches(&client, "BROKER_GET_NUMS", "DefaultCluster", n).await;
}

/// A name or key not counted: SYSTEM_ERROR with Java's remark; a missing header field: SYSTEM_ERROR.
#[tokio::test]
async fn unknown_stats_are_refused_as_java_does() {
    let broker = TestBroker::start_with("[metrics]\nstats_sample_interval_ms = 200");
    let client = broker.client().await;
    send_and_consume(&client, "KnownTopic", "KnownGroup", 2).await;
    minute_sum_reaches(&client, "TOPIC_PUT_NUMS", "KnownTopic", 2).await;

    for (name, key) in [
        ("TOPIC_PUT_NUMS", "NoSuchTopic"),
        ("GROUP_GET_NUMS", "KnownTopic@NoSuchGroup"),
        ("GROUP_GET_NUMS", "KnownTopic"),
        ("NO_SUCH_STATS", "KnownTopic"),
        ("BROKER_PUT_NUMS", "OtherCluster"),
    ] {
        let (code, remark, body) = view(&client, name, key).await;
        assert_eq!(code, response_code::SYSTEM_ERROR, "{name} {key}");
        assert_eq!(
            remark.as_deref(),
            Some(format!("The stats <{name}> <{key}> not exist").as_str())
        );
        assert_eq!(body, Value::Null);
    }
    let no_key = RemotingCommand::request(request_code::VIEW_BROKER_STATS_DATA, 0)
        .with_ext("statsName", "TOPIC_PUT_NUMS");
    let resp = client.request(no_key).await.unwrap();
    assert_eq!(resp.code, response_code::SYSTEM_ERROR);
    assert!(
        resp.remark.as_deref().unwrap_or("").contains("statsKey"),
        "{:?}",
        resp.remark
    );
}

/// The stock `mqadmin statsAll` (rocketmq-tools 5.3.3): for the topic and its consuming group,
/// #InMsg24Hour and #OutMsg24Hour are the messages sent and pulled (it reads the day window,
/// then the hour, then the minute: the first not 0). Needs the jars of `tests/java-server`
/// (`ACTORMQ_JAVA_SERVER`).
#[tokio::test]
async fn mqadmin_stats_all() {
    let Some(lib) = common::java_server::server_lib("broker_stats") else {
        return;
    };
    // A minute window of 6 x 3 s: long enough for the JVM to start and ask.
    let broker = TestBroker::start_with("[metrics]\nstats_sample_interval_ms = 3000");
    let client = broker.client().await;
    send_and_consume(&client, "StatsAllTopic", "StatsAllGroup", N).await;
    minute_sum_reaches(&client, "TOPIC_PUT_NUMS", "StatsAllTopic", N as u64).await;
    let key = "StatsAllTopic@StatsAllGroup";
    minute_sum_reaches(&client, "GROUP_GET_NUMS", key, N as u64).await;
    // mqadmin blocks this (single-threaded) runtime: everything async is done.
    let namesrv = broker.namesrv_addr.as_deref().expect("name server");
    let out = common::java_server::mqadmin(&lib, namesrv, &["statsAll", "-t", "StatsAllTopic"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // "#Topic #Consumer Group #Accumulation #InTPS #OutTPS #InMsg24Hour #OutMsg24Hour"
    let row: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.first() == Some(&"StatsAllTopic"))
        .unwrap_or_else(|| panic!("no row for the topic: {stdout}"));
    assert_eq!(row.len(), 7, "{stdout}");
    assert_eq!(row[1], "StatsAllGroup", "{stdout}");
    assert!(row[3].parse::<f64>().unwrap() > 0.0, "InTPS: {stdout}");
    assert!(row[4].parse::<f64>().unwrap() > 0.0, "OutTPS: {stdout}");
    assert_eq!(row[5], N.to_string(), "InMsg24Hour: {stdout}");
    assert_eq!(row[6], N.to_string(), "OutMsg24Hour: {stdout}");
}

/// `consumeTps` of GET_CONSUME_STATS (208, `mqadmin consumerProgress`'s #TPS) and of
/// GET_BROKER_CONSUME_STATS (317) is the group's get rate over the minute window, as Java's
/// `tpsGroupGetNums`: the N messages pulled over the window's time between samples.
#[tokio::test]
async fn consume_stats_report_the_groups_get_rate() {
    let broker = TestBroker::start_with("[metrics]\nstats_sample_interval_ms = 200");
    let client = broker.client().await;
    let ask = || {
        RemotingCommand::request(request_code::GET_CONSUME_STATS, 0)
            .with_ext("consumerGroup", "TpsGroup")
    };
    // `{"consumeTps":<rate>,"offsetTable":{...}}` (fastjson: the table's keys are objects).
    let rate_after = |body: &str, prefix: &str| -> f64 {
        let at = body
            .find(prefix)
            .unwrap_or_else(|| panic!("{prefix} in {body}"))
            + prefix.len();
        let value = body[at..].split(',').next().unwrap_or_default();
        value
            .parse()
            .unwrap_or_else(|_| panic!("{value:?} in {body}"))
    };
    let tps = |r: RemotingCommand| -> f64 {
        assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
        rate_after(&String::from_utf8_lossy(&r.body), "{\"consumeTps\":")
    };
    assert_eq!(
        send_and_consume(&client, "TpsTopic", "TpsGroup", N).await,
        N
    );
    minute_sum_reaches(&client, "GROUP_GET_NUMS", "TpsTopic@TpsGroup", N as u64).await;
    // One more sample for the Dispatcher to hear the rate back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rate = tps(client.request(ask()).await.unwrap());
    assert!(rate > 0.0, "consumeTps {rate}");
    let all = RemotingCommand::request(request_code::GET_BROKER_CONSUME_STATS, 0);
    let r = client.request(all).await.unwrap();
    let body = String::from_utf8_lossy(&r.body).into_owned();
    let rate = rate_after(&body, "{\"TpsGroup\":[{\"consumeTps\":");
    assert!(rate > 0.0, "{body}");
}
