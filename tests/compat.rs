//! A stock RocketMQ client against actormq: `rocketmq-client-rust` 1.0.0's `DefaultMQProducer`,
//! pointed at actormq's name-server role, sends through actormq as its broker; what it stored is read
//! back with actormq's own client and with a stock lite-pull consumer; and a stock consumer reads
//! what actormq's own client sent. Built only with `--features compat` (the stock
//! client takes minutes to compile); `.ci/run` runs it.

#![cfg(feature = "compat")]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use actormq::client::PullRequest;
use common::TestBroker;
use rocketmq_client_rust::{ClientError, ClientRuntime, ClientRuntimeConfig, DefaultMQProducer};
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
