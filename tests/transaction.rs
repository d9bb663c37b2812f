//! Transactional messages against the real broker: a half (`TRAN_MSG=true`) is invisible until
//! END_TRANSACTION (37) commits it, a rollback drops it, a request that does not name the half
//! exactly gets Java's remark, and a half left open is checked (CHECK_TRANSACTION_STATE, 39, on the
//! producer's heartbeat connection), also after a restart. The stock Java producers run in
//! `tests/java_clients.rs`.

mod common;

use std::time::Duration;

use actormq::client::{Client, OutgoingMessage, ReceivedMessage, SendResult};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::message::{decode, decode_offset_msg_id, property, Decoded};
use actormq::transaction;
use common::TestBroker;

const GROUP: &str = "pg";
/// Halves checked one second after they are stored, then every second.
const FAST_CHECKS: &str = "[transaction]\ntimeout_ms = 1000\ncheck_interval_ms = 1000";

async fn send_half(client: &Client, topic: &str, body: &str) -> SendResult {
    let mut msg = OutgoingMessage::new(topic, body.to_string());
    msg.queue_id = 0;
    msg.properties = vec![
        (property::TRAN_MSG.into(), "true".into()),
        (property::PGROUP.into(), GROUP.into()),
    ];
    client.send(&msg).await.unwrap()
}

/// END_TRANSACTION for `half` (its queue offset and offset msgId), as a request so the answer
/// can be read (clients send it oneway).
fn end_request(group: &str, half: &SendResult, outcome: i32) -> RemotingCommand {
    let (_, offset) = decode_offset_msg_id(&half.msg_id).expect("offset msgId");
    RemotingCommand::request(request_code::END_TRANSACTION, 0)
        .with_ext("producerGroup", group)
        .with_ext("tranStateTableOffset", half.queue_offset)
        .with_ext("commitLogOffset", offset)
        .with_ext("commitOrRollback", outcome)
        .with_ext("fromTransactionCheck", "false")
        .with_ext("msgId", &half.transaction_id)
}

async fn queue0(client: &Client, topic: &str) -> Vec<ReceivedMessage> {
    let req = actormq::client::PullRequest::new("cg", topic, 0, 0);
    client.pull(&req).await.unwrap().messages
}

const COMMIT: i32 = 8;
const ROLLBACK: i32 = 12;

#[tokio::test]
async fn a_half_is_delivered_only_once_committed_and_never_when_rolled_back() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let kept = send_half(&client, "Tx", "kept").await;
    let dropped = send_half(&client, "Tx", "dropped").await;
    assert_eq!(kept.queue_id, 0, "the reply names the real queue");
    assert!(
        queue0(&client, "Tx").await.is_empty(),
        "a half is not consumable"
    );

    // Requests that do not name the half exactly, with Java's remarks; nothing is stored.
    let remark = |r: RemotingCommand| (r.code, r.remark.unwrap_or_default());
    let wrong_group = client
        .request(end_request("other", &kept, COMMIT))
        .await
        .unwrap();
    let want = (
        response_code::SYSTEM_ERROR,
        "The producer group wrong".to_string(),
    );
    assert_eq!(remark(wrong_group), want);
    let mut wrong_offset = end_request(GROUP, &kept, COMMIT);
    wrong_offset = wrong_offset.with_ext("tranStateTableOffset", 99);
    let r = remark(client.request(wrong_offset).await.unwrap());
    assert_eq!(r.1, "The transaction state table offset wrong");
    let r = remark(client.request(end_request(GROUP, &kept, 5)).await.unwrap());
    assert_eq!(
        r,
        (
            response_code::SYSTEM_ERROR,
            "commitOrRollback field wrong".into()
        )
    );
    let plain = client
        .send(&OutgoingMessage::new("Plain", "x"))
        .await
        .unwrap();
    let mut not_half = end_request(GROUP, &kept, COMMIT);
    let (_, plain_offset) = decode_offset_msg_id(&plain.msg_id).unwrap();
    not_half = not_half.with_ext("commitLogOffset", plain_offset);
    let r = remark(client.request(not_half).await.unwrap());
    assert_eq!(r.1, "Find prepared transaction message failed");
    assert!(queue0(&client, "Tx").await.is_empty());

    let ok = client
        .request(end_request(GROUP, &kept, COMMIT))
        .await
        .unwrap();
    assert_eq!(ok.code, response_code::SUCCESS, "{:?}", ok.remark);
    let ok = client
        .request(end_request(GROUP, &dropped, ROLLBACK))
        .await
        .unwrap();
    assert_eq!(ok.code, response_code::SUCCESS, "{:?}", ok.remark);
    let got = queue0(&client, "Tx").await;
    assert_eq!(got.len(), 1, "only the committed one");
    let m = &got[0];
    assert_eq!(&m.body[..], b"kept");
    assert_eq!(m.uniq_key.as_deref(), Some(kept.transaction_id.as_str()));
    assert!(
        !m.properties.contains(property::TRAN_MSG),
        "{:?}",
        m.properties
    );
    assert!(
        !m.properties.contains(property::REAL_TOPIC),
        "{:?}",
        m.properties
    );
}

/// A producer connection as the broker sees one: registered by heartbeat, with the broker's own
/// requests (checks) readable.
async fn producer(broker: &TestBroker) -> (Client, tokio::sync::mpsc::Receiver<RemotingCommand>) {
    let mut client = broker.client().await;
    let pushes = client.take_pushes().expect("first take");
    let body = format!(
        r#"{{"clientID":"tx-client","producerDataSet":[{{"groupName":"{GROUP}"}}],"consumerDataSet":[]}}"#
    );
    let hb = RemotingCommand::request(request_code::HEART_BEAT, 0).with_body(body.into());
    let r = client.request(hb).await.unwrap();
    assert_eq!(r.code, response_code::SUCCESS);
    (client, pushes)
}

/// A half left open is checked with its producer group, after a restart too; answering the check
/// with a commit delivers it, and it is not checked again.
#[tokio::test]
async fn an_open_half_is_checked_after_a_restart_and_committed_by_the_answer() {
    let mut broker = TestBroker::start_with(FAST_CHECKS);
    let client = broker.client().await;
    let half = send_half(&client, "TxOpen", "open").await;
    drop(client);
    assert_eq!(broker.stop(), Some(0));
    broker.restart();

    let (client, mut pushes) = producer(&broker).await;
    let check = tokio::time::timeout(Duration::from_secs(10), pushes.recv())
        .await
        .expect("a check within 10 s")
        .expect("connection open");
    assert_eq!(check.code, request_code::CHECK_TRANSACTION_STATE);
    assert!(check.is_oneway());
    let (_, offset) = decode_offset_msg_id(&half.msg_id).unwrap();
    assert_eq!(
        check.ext("commitLogOffset"),
        Some(offset.to_string().as_str())
    );
    assert_eq!(
        check.ext("tranStateTableOffset"),
        Some(half.queue_offset.to_string().as_str())
    );
    assert_eq!(check.ext("msgId"), Some(half.transaction_id.as_str()));
    let Ok(Decoded::Record(body)) = decode(&check.body, false) else {
        panic!("the check's body is not a record");
    };
    assert_eq!(
        (body.topic, body.queue_id, body.body),
        ("TxOpen", 0, &b"open"[..])
    );
    assert_eq!(body.property(property::PGROUP), Some(GROUP));

    // The producer's answer, as the Java client sends it (from the check's header).
    let mut answer = end_request(GROUP, &half, COMMIT).with_ext("fromTransactionCheck", "true");
    answer.set_oneway();
    client.oneway(answer).await.unwrap();
    common::wait_until_async(Duration::from_secs(10), "the committed message", || async {
        queue0(&client, "TxOpen").await.len() == 1
    })
    .await;
    // Ended: a later round does not ask again (two intervals).
    while pushes.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        pushes.try_recv().is_err(),
        "an ended half was checked again"
    );
}

/// Nobody answers: after `check_max` checks the half is given up (ended, never delivered).
#[tokio::test]
async fn an_unanswered_half_is_given_up_after_the_max_checks() {
    let broker = TestBroker::start_with(&format!("{FAST_CHECKS}\ncheck_max = 2"));
    let (client, mut pushes) = producer(&broker).await;
    send_half(&client, "TxLost", "lost").await;
    let mut checks = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(4), pushes.recv()).await {
        checks += 1;
    }
    assert_eq!(checks, 2, "checked check_max times, then given up");
    assert!(queue0(&client, "TxLost").await.is_empty());
    assert_eq!(broker.log_lines("transaction half given up").len(), 1);
    // Every half below 1 is ended: Java's check progress, kept as CID_RMQ_SYS_TRANS's offset.
    let (group, half_topic) = (transaction::CHECK_GROUP, transaction::HALF_TOPIC);
    common::wait_until_async(Duration::from_secs(5), "the check progress", || async {
        client
            .query_consumer_offset(group, half_topic, 0)
            .await
            .unwrap()
            == Some(1)
    })
    .await;

    // Its op record is stored: after a restart it is not open any more.
    drop((client, pushes));
    let mut broker = broker;
    assert_eq!(broker.stop(), Some(0));
    broker.restart();
    let (client, mut pushes) = producer(&broker).await;
    let again = tokio::time::timeout(Duration::from_millis(2_500), pushes.recv()).await;
    assert!(
        again.is_err(),
        "a given-up half was checked after the restart"
    );
    assert!(queue0(&client, "TxLost").await.is_empty());
}

/// A client cannot write halves or ops itself (Java's `NOT_ALLOWED_SEND_TOPIC_SET`): a forged
/// half with a real topic in its properties would otherwise be committed by an END_TRANSACTION.
#[tokio::test]
async fn the_transaction_topics_refuse_direct_sends() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    for topic in [transaction::HALF_TOPIC, transaction::OP_TOPIC] {
        let mut forged = OutgoingMessage::new(topic, "forged");
        forged.properties = vec![(property::REAL_TOPIC.into(), "Victim".into())];
        let refused = client.send(&forged).await.unwrap_err().to_string();
        assert!(refused.contains("NO_PERMISSION"), "{topic}: {refused}");
    }
}

/// A SYNC_MASTER without a slave stores a half but answers SLAVE_NOT_AVAILABLE (as Java): the
/// half is stored all the same, so it is checked like any other.
#[tokio::test]
async fn a_half_stored_without_a_slave_is_still_checked() {
    let broker =
        TestBroker::start_with(&format!("{FAST_CHECKS}\n[cluster]\nrole = \"SYNC_MASTER\""));
    let (client, mut pushes) = producer(&broker).await;
    let mut msg = OutgoingMessage::new("TxSync", "sync");
    msg.properties = vec![
        (property::TRAN_MSG.into(), "true".into()),
        (property::PGROUP.into(), GROUP.into()),
    ];
    let r = client
        .request(actormq::client::producer_request(&msg))
        .await
        .unwrap();
    assert_eq!(r.code, response_code::SLAVE_NOT_AVAILABLE, "{:?}", r.remark);
    let check = tokio::time::timeout(Duration::from_secs(10), pushes.recv()).await;
    let check = check
        .expect("a check within 10 s")
        .expect("connection open");
    assert_eq!(check.code, request_code::CHECK_TRANSACTION_STATE);
}
