//! A stock RocketMQ client against actormq: `rocketmq-client-rust` 1.0.0's `DefaultMQProducer`,
//! pointed at actormq's name-server role, sends through actormq as its broker; what it stored is read
//! back with actormq's own client and with a stock lite-pull consumer; a stock consumer reads
//! what actormq's own client sent; and a stock push consumer (`DefaultMQPushConsumer`, clustering,
//! tag expression) consumes what the stock producer sent, once each, and one message once more
//! after a ReconsumeLater, not before its delay level. Built only with
//! `--features compat` (the stock client takes minutes to compile); `.ci/run` runs it.

#![cfg(feature = "compat")]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actormq::client::PullRequest;
use common::TestBroker;
use rocketmq_client_rust::{
    ClientError, ClientResult, ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    MessageListenerConcurrently,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::result::SendStatus;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

/// The stock client's runtime, set up as its examples do. Keep the first two alive while it runs.
fn stock_runtime(
    name: &str,
) -> (
    RuntimeOwner,
    rocketmq_observability::TelemetryRuntimeGuard,
    std::sync::Arc<ClientRuntime>,
) {
    let owner = RuntimeOwner::plan(RuntimeConfig {
        thread_name: name.into(),
        ..Default::default()
    })
    .expect("runtime plan")
    .build()
    .map_err(|e| ClientError::internal("runtime", e))
    .unwrap();
    let telemetry = rocketmq_observability::install_global(
        &rocketmq_observability::TelemetryBootstrapConfig::default(),
    )
    .unwrap();
    let runtime = ClientRuntime::try_new(
        owner.root_context().component("client"),
        ClientRuntimeConfig::default(),
        telemetry.handle(),
    )
    .unwrap();
    (owner, telemetry, runtime)
}

/// A stock lite-pull consumer (subscribe mode, from the first offset) polling `topic` until it has
/// `count` messages or a minute passes.
async fn stock_consume(
    runtime: std::sync::Arc<ClientRuntime>,
    namesrv: &str,
    group: &str,
    topic: &str,
    count: usize,
) -> Vec<rocketmq_model::common::message::message_ext::MessageExt> {
    use rocketmq_client_rust::DefaultLitePullConsumer;
    use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
    let consumer = DefaultLitePullConsumer::builder(runtime)
        .consumer_group(group.to_string())
        .name_server_addr(namesrv.to_string())
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build()
        .unwrap();
    consumer.subscribe(topic).await.unwrap();
    consumer.start().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut received = Vec::new();
    while received.len() < count && std::time::Instant::now() < deadline {
        received.extend(consumer.poll_with_timeout(1000).await);
    }
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_producer_sends_through_actormq() {
    let broker = TestBroker::start();
    let namesrv = broker
        .namesrv_addr
        .clone()
        .expect("name-server role is on by default");

    let (_owner, _telemetry, runtime) = stock_runtime("compat-producer");
    let mut producer = DefaultMQProducer::builder(runtime.clone())
        .producer_group("compat_pg".to_string())
        .name_server_addr(namesrv)
        .build();
    producer.start().await.unwrap();

    // 1,000 sync sends to a topic that does not exist yet: auto-created through the TBW102 route.
    let mut sent: HashMap<(i32, i64), (String, String, String, String)> = HashMap::new();
    for i in 0..1000 {
        let (body, tag, key) = (
            format!("stock {i}"),
            format!("Tag{}", i % 3),
            format!("key{i}"),
        );
        let msg = Message::builder()
            .topic("CompatTopic")
            .tags(tag.clone())
            .key(key.clone())
            .body_slice(body.as_bytes())
            .build_unchecked();
        let r = producer
            .send_with_timeout(msg, 5000)
            .await
            .unwrap_or_else(|e| panic!("send {i}: {e}"))
            .expect("a sync send has a result");
        assert_eq!(r.send_status, SendStatus::SendOk);
        let queue = r.message_queue.expect("queue").queue_id();
        let offset_id = r.offset_msg_id.expect("offset msgId");
        assert!(
            sent.insert((queue, r.queue_offset as i64), (body, tag, key, offset_id))
                .is_none(),
            "offset handed out twice"
        );
    }

    // A batch send.
    let batch: Vec<Message> = (0..10)
        .map(|i| {
            Message::builder()
                .topic("CompatTopic")
                .body_slice(format!("batch {i}").as_bytes())
                .build_unchecked()
        })
        .collect();
    let r = producer.send_batch(batch).await.unwrap();
    assert_eq!(r.send_status, SendStatus::SendOk);
    producer.shutdown().await;

    // Read everything back with actormq's client: each acknowledged message at its queue offset,
    // with body, tag, key and offset msgId intact.
    let client = broker.client().await;
    let queues = client.read_queue_nums("CompatTopic").await.unwrap();
    let mut found = 0;
    for q in 0..queues {
        let mut req = PullRequest::new("compat_check", "CompatTopic", q, 0);
        req.max_msgs = 1024;
        loop {
            let result = client.pull(&req).await.unwrap();
            if result.messages.is_empty() {
                break;
            }
            for m in &result.messages {
                if let Some((body, tag, key, offset_id)) = sent.get(&(q, m.queue_offset)) {
                    assert_eq!(m.body, body.as_bytes());
                    assert_eq!(m.tags.as_deref(), Some(tag.as_str()));
                    assert_eq!(m.keys.as_deref(), Some(key.as_str()));
                    assert_eq!(&m.msg_id, offset_id);
                    found += 1;
                }
            }
            req.offset = result.next_begin_offset;
        }
    }
    assert_eq!(found, 1000);
    tokio::time::timeout(Duration::from_secs(10), runtime.shutdown())
        .await
        .ok();
}

/// A stock `DefaultLitePullConsumer` (subscribe mode: heartbeat, rebalance with
/// GET_CONSUMER_LIST_BY_GROUP, offsets, LITE_PULL_MESSAGE) reads what actormq's own client sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_lite_pull_consumer_reads_actormq_messages() {
    let broker = TestBroker::start();
    let namesrv = broker
        .namesrv_addr
        .clone()
        .expect("name-server role is on by default");
    let client = broker.client().await;
    let mut expected = std::collections::HashSet::new();
    for i in 0..50 {
        let body = format!("from actormq {i}");
        let msg = actormq::client::OutgoingMessage {
            tags: Some("TagB".into()),
            ..actormq::client::OutgoingMessage::new("CompatConsume", body.clone())
        };
        client.send(&msg).await.unwrap();
        expected.insert(body);
    }
    let (_owner, _telemetry, runtime) = stock_runtime("compat-consumer");
    let got = stock_consume(runtime.clone(), &namesrv, "compat_cg", "CompatConsume", 50).await;
    let mut received = std::collections::HashSet::new();
    for m in &got {
        assert_eq!(m.get_tags().map(|t| t.to_string()).as_deref(), Some("TagB"));
        received.insert(String::from_utf8(m.body().expect("body").to_vec()).unwrap());
    }
    assert_eq!(received, expected);
    tokio::time::timeout(Duration::from_secs(10), runtime.shutdown())
        .await
        .ok();
}

/// One delivery as the listener saw it.
#[derive(Clone, Copy, Debug)]
struct Delivery {
    reconsume_times: i32,
    /// When the listener got it, ms since the epoch.
    at_ms: i64,
    /// The broker's store timestamp of this copy (same clock: the broker runs on this machine).
    stored_ms: i64,
}

/// What a stock push consumer's listener saw: per key, each delivery; and anything that was not
/// as sent.
#[derive(Default)]
struct Deliveries {
    by_key: Mutex<HashMap<String, Vec<Delivery>>>,
    problems: Mutex<Vec<String>>,
}

impl Deliveries {
    fn total(&self) -> usize {
        self.by_key.lock().unwrap().values().map(Vec::len).sum()
    }
}

/// Checks each message against what was sent (`expected`: key -> tag; the body is `push <key>`)
/// and answers ReconsumeLater the first time it sees `retry_key`.
struct CheckingListener {
    topic: String,
    expected: HashMap<String, String>,
    retry_key: Option<String>,
    seen: Arc<Deliveries>,
}

impl MessageListenerConcurrently for CheckingListener {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _context: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        let mut status = ConsumeConcurrentlyStatus::ConsumeSuccess;
        for m in msgs {
            let key = m
                .message_inner()
                .keys()
                .and_then(|k| k.into_iter().next())
                .unwrap_or_default();
            let body = m.body().map(|b| b.to_vec()).unwrap_or_default();
            let tag = m.get_tags().map(|t| t.to_string()).unwrap_or_default();
            let problem = match self.expected.get(&key) {
                None => Some(format!("unexpected key {key:?} (tag {tag:?})")),
                Some(_) if m.topic().as_str() != self.topic => {
                    Some(format!("{key}: topic {}", m.topic()))
                }
                Some(want) if *want != tag => Some(format!("{key}: tag {tag:?}, sent {want:?}")),
                Some(_) if body != format!("push {key}").as_bytes() => {
                    Some(format!("{key}: body {:?}", String::from_utf8_lossy(&body)))
                }
                Some(_) => None,
            };
            if let Some(p) = problem {
                self.seen.problems.lock().unwrap().push(p);
            }
            let mut by_key = self.seen.by_key.lock().unwrap();
            let deliveries = by_key.entry(key.clone()).or_default();
            let at_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            deliveries.push(Delivery {
                reconsume_times: m.reconsume_times(),
                at_ms,
                stored_ms: m.store_timestamp(),
            });
            if self.retry_key.as_deref() == Some(key.as_str()) && deliveries.len() == 1 {
                status = ConsumeConcurrentlyStatus::ReconsumeLater;
            }
        }
        Ok(status)
    }
}

/// The stock producer sync-sends `count` messages tagged TagA/TagB (key `k<i>`, body `push k<i>`)
/// plus `count / 10` tagged TagC; returns key -> tag of the TagA/TagB ones.
async fn stock_send_tagged(
    runtime: Arc<ClientRuntime>,
    namesrv: &str,
    topic: &str,
    count: usize,
) -> HashMap<String, String> {
    let mut producer = DefaultMQProducer::builder(runtime)
        .producer_group(format!("{topic}_pg"))
        .name_server_addr(namesrv.to_string())
        .build();
    producer.start().await.unwrap();
    let mut expected = HashMap::new();
    for i in 0..count + count / 10 {
        let key = format!("k{i}");
        let tag = match i {
            i if i >= count => "TagC",
            i if i % 2 == 0 => "TagA",
            _ => "TagB",
        };
        let msg = Message::builder()
            .topic(topic)
            .tags(tag)
            .key(key.clone())
            .body_slice(format!("push {key}").as_bytes())
            .build_unchecked();
        let r = producer
            .send_with_timeout(msg, 5000)
            .await
            .unwrap_or_else(|e| panic!("send {key}: {e}"))
            .expect("a sync send has a result");
        assert_eq!(r.send_status, SendStatus::SendOk);
        if i < count {
            expected.insert(key, tag.to_string());
        }
    }
    producer.shutdown().await;
    expected
}

/// A stock push consumer (clustering, from the first offset, `TagA || TagB`) with a
/// [`CheckingListener`], until it has seen `want` deliveries (or 90 s pass) and a second more, so
/// duplicates show up.
async fn stock_push_consume(
    runtime: Arc<ClientRuntime>,
    namesrv: &str,
    topic: &str,
    expected: HashMap<String, String>,
    retry_key: Option<String>,
    want: usize,
) -> Arc<Deliveries> {
    let seen = Arc::new(Deliveries::default());
    let mut consumer = DefaultMQPushConsumer::builder(runtime)
        .consumer_group(format!("{topic}_cg"))
        .name_server_addr(namesrv.to_string())
        // Clustering is the default message model.
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .consume_message_batch_max_size(1)
        .build();
    consumer.subscribe(topic, "TagA || TagB").await.unwrap();
    consumer.register_message_listener_concurrently(CheckingListener {
        topic: topic.to_string(),
        expected,
        retry_key,
        seen: seen.clone(),
    });
    consumer.start().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while seen.total() < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // anything delivered twice shows up now
    consumer.shutdown().await;
    seen
}

/// Asserts every expected key was delivered once, `retry_key` twice; returns the deliveries.
fn assert_each_once(
    seen: &Deliveries,
    expected: &HashMap<String, String>,
    retry_key: Option<&str>,
) -> HashMap<String, Vec<Delivery>> {
    let problems = seen.problems.lock().unwrap();
    assert!(
        problems.is_empty(),
        "{} bad deliveries: {problems:?}",
        problems.len()
    );
    let by_key = seen.by_key.lock().unwrap().clone();
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !by_key.contains_key(*k))
        .collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    let wrong: Vec<_> = by_key
        .iter()
        .filter(|(k, d)| d.len() != if Some(k.as_str()) == retry_key { 2 } else { 1 })
        .map(|(k, d)| (k, d.len()))
        .collect();
    assert!(wrong.is_empty(), "wrong delivery counts: {wrong:?}");
    by_key
}

/// A stock `DefaultMQPushConsumer` (heartbeat, rebalance, offsets, PULL_MESSAGE with a tag
/// expression, offset commits) gets every TagA/TagB message the stock producer sent, exactly
/// once and as sent, and none of the TagC ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_push_consumer_gets_each_message_once() {
    let broker = TestBroker::start();
    let namesrv = broker.namesrv_addr.clone().expect("name-server role on");
    let (_owner, _telemetry, runtime) = stock_runtime("compat-push");
    let expected = stock_send_tagged(runtime.clone(), &namesrv, "CompatPush", 200).await;
    let seen = stock_push_consume(
        runtime.clone(),
        &namesrv,
        "CompatPush",
        expected.clone(),
        None,
        expected.len(),
    )
    .await;
    assert_each_once(&seen, &expected, None);
    tokio::time::timeout(Duration::from_secs(10), runtime.shutdown())
        .await
        .ok();
}

/// One ReconsumeLater for key `k7` of 20: returns its two deliveries after checking that every
/// message arrived once, `k7` twice.
async fn stock_reconsume_later_once(topic: &str) -> Vec<Delivery> {
    let broker = TestBroker::start();
    let namesrv = broker.namesrv_addr.clone().expect("name-server role on");
    let (_owner, _telemetry, runtime) = stock_runtime("compat-push-retry");
    let expected = stock_send_tagged(runtime.clone(), &namesrv, topic, 20).await;
    let retry_key = "k7".to_string();
    let seen = stock_push_consume(
        runtime.clone(),
        &namesrv,
        topic,
        expected.clone(),
        Some(retry_key.clone()),
        expected.len() + 1,
    )
    .await;
    let mut by_key = assert_each_once(&seen, &expected, Some(&retry_key));
    tokio::time::timeout(Duration::from_secs(10), runtime.shutdown())
        .await
        .ok();
    by_key.remove(&retry_key).expect("checked above")
}

/// ReconsumeLater once for one message: the client sends it back, and it comes back once, from
/// `%RETRY%<group>`, with reconsume times 1; all others exactly once. Where actormq refuses
/// CONSUMER_SEND_MSG_BACK (36), this passes through the client's fallback (as Java's: a plain send
/// to `%RETRY%<group>` with reconsume times + 1, reference-2 §2.3); with 36 served, through 36.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_push_consumer_reconsume_later_redelivers_once() {
    let d = stock_reconsume_later_once("CompatRetry").await;
    assert_eq!(
        (d[0].reconsume_times, d[1].reconsume_times),
        (0, 1),
        "reconsume times of the two deliveries: {d:?}"
    );
}

/// As above, and not before the delay: the listener leaves the delay level at 0, so the broker
/// takes 3 + reconsume times, level 3, 10 s (the client's fallback send carries the same
/// `DELAY=3`). Measured to the retry copy's store timestamp: a delaying broker stores it in
/// `%RETRY%<group>` when it is due, whereas its delivery also waits for the client's routing and
/// rebalancing. Today the copy is stored within milliseconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_push_consumer_reconsume_later_waits_its_delay_level() {
    let d = stock_reconsume_later_once("CompatRetryDelay").await;
    let gap_ms = d[1].stored_ms - d[0].at_ms;
    assert!(
        gap_ms >= 9_000,
        "retry copy stored {gap_ms} ms after the first delivery, before delay level 3 (10 s): {d:?}"
    );
}
