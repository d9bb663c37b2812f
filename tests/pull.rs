//! Pulling: messages come back byte-exact and in order per queue, out-of-range offsets get
//! RocketMQ's statuses, tag filters apply, and long polls park until a message arrives.

mod common;

use std::time::{Duration, Instant};

use actormq::client::{ClientError, OutgoingMessage, PullRequest};
use actormq::protocol::response_code;
use actormq::store::message::decode_offset_msg_id;
use common::TestBroker;

fn pull(topic: &str, queue_id: i32, offset: i64) -> PullRequest {
    PullRequest::new("cg", topic, queue_id, offset)
}

/// N messages over four queues (bodies large enough to roll the 1 MiB commit-log files) read back
/// in batches: every queue yields its messages in send order with consecutive offsets, each body,
/// tag and msgId equal to what was sent, and each record byte-equal to VIEW_MESSAGE_BY_ID's.
#[tokio::test]
async fn pulls_return_every_message_in_order_per_queue() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let mut sent: Vec<Vec<(String, Vec<u8>, String)>> = vec![Vec::new(); 4];
    for i in 0..600u32 {
        let queue = (i % 4) as i32;
        let body: Vec<u8> = (0..4000u32).map(|b| ((b * 7 + i) % 251) as u8).collect();
        let tag = format!("Tag{}", i % 3);
        let r = client
            .send(&OutgoingMessage {
                tags: Some(tag.clone()),
                queue_id: queue,
                ..OutgoingMessage::new("PullTopic", body.clone())
            })
            .await
            .unwrap();
        assert_eq!(r.queue_offset, sent[queue as usize].len() as i64);
        sent[queue as usize].push((r.msg_id, body, tag));
    }
    for (queue, expected) in sent.iter().enumerate() {
        let mut got = Vec::new();
        let mut offset = 0;
        loop {
            let r = client
                .pull(&pull("PullTopic", queue as i32, offset))
                .await
                .unwrap();
            if r.code == response_code::PULL_NOT_FOUND {
                assert_eq!((r.next_begin_offset, r.max_offset), (offset, 150));
                break;
            }
            assert_eq!(r.code, response_code::SUCCESS, "{}", r.status);
            assert!(!r.messages.is_empty() && r.messages.len() <= 32);
            assert_eq!(r.next_begin_offset, offset + r.messages.len() as i64);
            assert_eq!((r.min_offset, r.max_offset), (0, 150));
            offset = r.next_begin_offset;
            got.extend(r.messages);
        }
        assert_eq!(got.len(), expected.len());
        for (i, (m, (msg_id, body, tag))) in got.iter().zip(expected).enumerate() {
            assert_eq!((m.queue_id, m.queue_offset), (queue as i32, i as i64));
            assert_eq!(&m.msg_id, msg_id);
            assert_eq!(&m.body[..], &body[..]);
            assert_eq!(m.tags.as_deref(), Some(tag.as_str()));
            assert_eq!(m.topic, "PullTopic");
        }
        let last = got.last().unwrap();
        let (_, phys) = decode_offset_msg_id(&last.msg_id).unwrap();
        assert_eq!(client.view_message(phys).await.unwrap().raw, last.raw);
    }
}

/// A larger maxMsgNums returns larger batches (up to the broker's caps).
#[tokio::test]
async fn large_batches() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let msgs: Vec<_> = (0..300)
        .map(|i| OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("BatchTopic", format!("m{i}"))
        })
        .collect();
    client.send_batch(&msgs[..150]).await.unwrap();
    client.send_batch(&msgs[150..]).await.unwrap();
    let r = client
        .pull(&PullRequest {
            max_msgs: 1000,
            ..pull("BatchTopic", 0, 0)
        })
        .await
        .unwrap();
    assert_eq!(r.messages.len(), 300);
    assert_eq!(&r.messages[299].body[..], b"m299");
}

/// Offsets outside `[min, max)` answer as RocketMQ does (reference §3.3), and so do unknown topics
/// and queue ids.
#[tokio::test]
async fn out_of_range_offsets_get_documented_statuses() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    for i in 0..3 {
        let m = OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("RangeTopic", format!("m{i}"))
        };
        client.send(&m).await.unwrap();
    }
    let status = |offset: i64, queue: i32| {
        let client = &client;
        async move {
            let r = client
                .pull(&pull("RangeTopic", queue, offset))
                .await
                .unwrap();
            (r.code, r.next_begin_offset, r.status)
        }
    };
    // At the end: nothing yet (OFFSET_OVERFLOW_ONE).
    assert_eq!(
        status(3, 0).await,
        (
            response_code::PULL_NOT_FOUND,
            3,
            "OFFSET_OVERFLOW_ONE".into()
        )
    );
    // Past the end: moved back to max (OFFSET_OVERFLOW_BADLY).
    assert_eq!(
        status(10, 0).await,
        (
            response_code::PULL_OFFSET_MOVED,
            3,
            "OFFSET_OVERFLOW_BADLY".into()
        )
    );
    // Below the start: moved to min (OFFSET_TOO_SMALL).
    assert_eq!(
        status(-1, 0).await,
        (
            response_code::PULL_OFFSET_MOVED,
            0,
            "OFFSET_TOO_SMALL".into()
        )
    );
    // A queue of the topic that holds nothing: NOT_FOUND at 0, MOVED elsewhere.
    assert_eq!(status(0, 1).await.0, response_code::PULL_NOT_FOUND);
    let (code, next, _) = status(5, 1).await;
    assert_eq!((code, next), (response_code::PULL_OFFSET_MOVED, 0));
    // Unknown topic, queue id out of range.
    let e = client.pull(&pull("NoSuchTopic", 0, 0)).await.unwrap_err();
    assert!(
        matches!(e, ClientError::Broker { code, .. } if code == response_code::TOPIC_NOT_EXIST),
        "{e}"
    );
    let e = client.pull(&pull("RangeTopic", 9, 0)).await.unwrap_err();
    assert!(
        matches!(e, ClientError::Broker { code, .. } if code == response_code::INVALID_PARAMETER),
        "{e}"
    );
}

/// `TagA || TagC` returns only those tags; a subscription nothing matches moves on with
/// PULL_RETRY_IMMEDIATELY.
#[tokio::test]
async fn tag_filter_by_hash_code() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    for (i, tag) in ["TagA", "TagB", "TagC", "TagB", "TagA"].iter().enumerate() {
        let m = OutgoingMessage {
            queue_id: 0,
            tags: Some(tag.to_string()),
            ..OutgoingMessage::new("TagTopic", format!("m{i}"))
        };
        client.send(&m).await.unwrap();
    }
    let r = client
        .pull(&PullRequest {
            subscription: "TagA || TagC".into(),
            ..pull("TagTopic", 0, 0)
        })
        .await
        .unwrap();
    let tags: Vec<_> = r.messages.iter().map(|m| m.tags.clone().unwrap()).collect();
    assert_eq!(tags, ["TagA", "TagC", "TagA"]);
    assert_eq!(r.next_begin_offset, 5);
    let r = client
        .pull(&PullRequest {
            subscription: "TagZ".into(),
            ..pull("TagTopic", 0, 0)
        })
        .await
        .unwrap();
    assert_eq!(
        (r.code, r.next_begin_offset),
        (response_code::PULL_RETRY_IMMEDIATELY, 5)
    );
}

/// A suspended pull at the end of a queue is parked: it is still unanswered after a later request
/// on the same connection has been answered, and it returns the message sent after that.
#[tokio::test]
async fn parked_pull_returns_when_a_message_arrives() {
    let broker = TestBroker::start();
    let client = std::sync::Arc::new(broker.client().await);
    client
        .send(&OutgoingMessage {
            queue_id: 2,
            ..OutgoingMessage::new("LongPoll", "first")
        })
        .await
        .unwrap();
    let suspend = Duration::from_secs(20);
    let parked = {
        let client = client.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = client
                .pull(&PullRequest {
                    suspend: Some(suspend),
                    ..pull("LongPoll", 2, 1)
                })
                .await
                .unwrap();
            (r, started.elapsed())
        })
    };
    // A round trip through the same dispatcher: the pull, sent first, has been parked by now.
    let r = client.pull(&pull("LongPoll", 2, 0)).await.unwrap();
    assert_eq!(r.messages.len(), 1);
    assert!(
        !parked.is_finished(),
        "the suspended pull was answered at once"
    );
    client
        .send(&OutgoingMessage {
            queue_id: 2,
            ..OutgoingMessage::new("LongPoll", "second")
        })
        .await
        .unwrap();
    let (r, waited) = parked.await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{}", r.status);
    assert_eq!(&r.messages[0].body[..], b"second");
    assert_eq!(r.messages[0].queue_offset, 1);
    assert!(waited < suspend, "woken by the message, not by the timeout");
}

/// A parked pull nothing arrives for is answered PULL_NOT_FOUND at its suspend timeout; one on an
/// empty queue of a new topic parks too and is woken by the first message.
#[tokio::test]
async fn parked_pull_times_out_or_wakes_on_first_message() {
    let broker = TestBroker::start();
    let client = std::sync::Arc::new(broker.client().await);
    client
        .send(&OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("Quiet", "x")
        })
        .await
        .unwrap();
    let r = client
        .pull(&PullRequest {
            suspend: Some(Duration::from_millis(100)),
            ..pull("Quiet", 0, 1)
        })
        .await
        .unwrap();
    assert_eq!(
        (r.code, r.next_begin_offset),
        (response_code::PULL_NOT_FOUND, 1)
    );
    let parked = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .pull(&PullRequest {
                    suspend: Some(Duration::from_secs(20)),
                    ..pull("Quiet", 3, 0)
                })
                .await
                .unwrap()
        })
    };
    client.max_offset("Quiet", 3).await.unwrap();
    assert!(!parked.is_finished());
    client
        .send(&OutgoingMessage {
            queue_id: 3,
            ..OutgoingMessage::new("Quiet", "wake")
        })
        .await
        .unwrap();
    let r = parked.await.unwrap();
    assert_eq!(&r.messages[0].body[..], b"wake");
}

/// With `flush.mode = "sync"` records are dispatched once flushed, and pulls see all of them.
#[tokio::test]
async fn sync_flush_mode_dispatches_flushed_records() {
    let broker = TestBroker::start_with("[flush]\nmode = \"sync\"");
    let client = broker.client().await;
    for i in 0..20 {
        let m = OutgoingMessage {
            queue_id: 1,
            ..OutgoingMessage::new("SyncTopic", format!("m{i}"))
        };
        client.send(&m).await.unwrap();
    }
    let r = client.pull(&pull("SyncTopic", 1, 0)).await.unwrap();
    assert_eq!(r.messages.len(), 20);
    assert_eq!(r.max_offset, 20);
}

/// A pull's consumer group is checked as Java's `PullMessageProcessor` checks it: an unknown group
/// is served and created (listed by GET_ALL_SUBSCRIPTIONGROUP_CONFIG, so `mqadmin
/// resetOffsetByTime` and `getConsumerConfig` find it), a group disabled with
/// `consumeEnable: false` is refused NO_PERMISSION (forbiddenType 2) until enabled again, and
/// without auto-creation an unknown group is refused SUBSCRIPTION_GROUP_NOT_EXIST while Java's
/// predefined groups (`TOOLS_CONSUMER`, the admin tools') are served.
#[tokio::test]
async fn pulls_check_their_consumer_group() {
    use actormq::protocol::{request_code, RemotingCommand};
    let mut broker = TestBroker::start();
    let client = broker.client().await;
    let send = OutgoingMessage {
        queue_id: 0,
        ..OutgoingMessage::new("GroupGate", b"m".to_vec())
    };
    client.send(&send).await.unwrap();
    let raw_pull = |group: &str| PullRequest::new(group, "GroupGate", 0, 0).to_command();
    async fn groups(client: &actormq::client::Client) -> serde_json::Value {
        let cmd = RemotingCommand::request(request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, 0);
        let r = client.request(cmd).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["subscriptionGroupTable"].clone()
    }
    let set_group = |enabled: bool| {
        let body = format!("{{\"groupName\":\"gate_g\",\"consumeEnable\":{enabled}}}");
        RemotingCommand::request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 0)
            .with_body(body.into_bytes().into())
    };

    assert!(groups(&client).await.get("gate_g").is_none());
    let r = client.request(raw_pull("gate_g")).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    let deadline = Instant::now() + Duration::from_secs(5);
    while groups(&client).await.get("gate_g").is_none() {
        assert!(
            Instant::now() < deadline,
            "the pulled group was never created"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(groups(&client).await["gate_g"]["consumeEnable"], true);

    let r = client.request(set_group(false)).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    let r = client.request(raw_pull("gate_g")).await.unwrap();
    assert_eq!(r.code, response_code::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("subscription group no permission, gate_g")
    );
    assert_eq!(r.ext("forbiddenType"), Some("2"));
    client.request(set_group(true)).await.unwrap();
    let r = client.request(raw_pull("gate_g")).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
    drop(client);

    broker.stop();
    broker.reconfigure("[broker]\nauto_create_subscription_group = false");
    broker.restart();
    let client = broker.client().await;
    let r = client.request(raw_pull("gate_unknown")).await.unwrap();
    assert_eq!(r.code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    let remark = r.remark.unwrap_or_default();
    assert!(
        remark.starts_with("subscription group [gate_unknown] does not exist"),
        "{remark}"
    );
    for served in ["gate_g", "TOOLS_CONSUMER"] {
        let r = client.request(raw_pull(served)).await.unwrap();
        assert_eq!(r.code, response_code::SUCCESS, "{served}: {:?}", r.remark);
    }
    assert!(groups(&client).await.get("gate_unknown").is_none());
}

/// A broadcasting consumer's pulls (by its heartbeat's subscription, no expression of their own)
/// are refused NO_PERMISSION with forbiddenType 4 when its group does not allow broadcast
/// (`consumeBroadcastEnable` false), as Java refuses them; clustering consumers of such a group,
/// and pulls carrying their own subscription, are served.
#[tokio::test]
async fn broadcast_pulls_follow_the_groups_consume_broadcast_enable() {
    use actormq::protocol::{pull_sys_flag, request_code, RemotingCommand};
    let broker = TestBroker::start();
    let client = broker.client().await;
    let send = OutgoingMessage {
        queue_id: 0,
        ..OutgoingMessage::new("CastT", b"m".to_vec())
    };
    client.send(&send).await.unwrap();
    let heartbeat = |group: &str, model: &str| {
        let hb = common::java_consumer_heartbeat(
            "cast@1",
            group,
            &["CastT"],
            "CONSUME_FROM_FIRST_OFFSET",
            None,
        );
        let mut body: serde_json::Value = serde_json::from_slice(&hb.body).unwrap();
        body["consumerDataSet"][0]["messageModel"] = model.into();
        hb.with_body(body.to_string().into_bytes().into())
    };
    for (group, broadcast) in [("cast_no", false), ("cast_yes", true)] {
        let body = format!("{{\"groupName\":\"{group}\",\"consumeBroadcastEnable\":{broadcast}}}");
        let cmd = RemotingCommand::request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 0)
            .with_body(body.into_bytes().into());
        assert_eq!(
            client.request(cmd).await.unwrap().code,
            response_code::SUCCESS
        );
    }
    let push_pull = |group: &str| {
        PullRequest::new(group, "CastT", 0, 0)
            .to_command()
            .with_ext("sysFlag", 0)
    };
    let own_pull = |group: &str| {
        PullRequest::new(group, "CastT", 0, 0)
            .to_command()
            .with_ext("sysFlag", pull_sys_flag::SUBSCRIPTION)
    };
    // A heartbeat reaches the pull processor through the ClientManager, so a pull sent right
    // after it may not see it yet: ask again until the answer changes (or 5 s pass).
    async fn code_eventually(
        client: &actormq::client::Client,
        cmd: &RemotingCommand,
        want: i32,
    ) -> RemotingCommand {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = client.request(cmd.clone()).await.unwrap();
            if r.code == want || Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    assert_eq!(
        client
            .request(heartbeat("cast_no", "CLUSTERING"))
            .await
            .unwrap()
            .code,
        response_code::SUCCESS
    );
    let r = code_eventually(&client, &push_pull("cast_no"), response_code::SUCCESS).await;
    assert_eq!(r.code, response_code::SUCCESS, "clustering: {:?}", r.remark);

    assert_eq!(
        client
            .request(heartbeat("cast_no", "BROADCASTING"))
            .await
            .unwrap()
            .code,
        response_code::SUCCESS
    );
    let r = code_eventually(&client, &push_pull("cast_no"), response_code::NO_PERMISSION).await;
    assert_eq!(r.code, response_code::NO_PERMISSION, "{:?}", r.remark);
    assert_eq!(
        r.remark.as_deref(),
        Some("the consumer group[cast_no] can not consume by broadcast way")
    );
    assert_eq!(r.ext("forbiddenType"), Some("4"));
    let r = client.request(own_pull("cast_no")).await.unwrap();
    assert_eq!(
        r.code,
        response_code::SUCCESS,
        "own subscription: {:?}",
        r.remark
    );

    assert_eq!(
        client
            .request(heartbeat("cast_yes", "BROADCASTING"))
            .await
            .unwrap()
            .code,
        response_code::SUCCESS
    );
    let r = code_eventually(&client, &push_pull("cast_yes"), response_code::SUCCESS).await;
    assert_eq!(r.code, response_code::SUCCESS, "{:?}", r.remark);
}
