use super::*;

const LIVE: u64 = 60_000;

fn mq(topic: &str, queue_id: i32) -> MessageQueue {
    MessageQueue {
        broker_name: "broker-a".into(),
        queue_id,
        topic: topic.into(),
    }
}

fn set(mqs: &[&MessageQueue]) -> BTreeSet<MessageQueue> {
    mqs.iter().map(|&mq| mq.clone()).collect()
}

/// A free queue goes to the first client; a second client gets only the queues still free.
#[test]
fn free_queues_are_granted_and_held_queues_refused() {
    let mut locks = QueueLocks::new(LIVE);
    let (q0, q1, q2) = (mq("T", 0), mq("T", 1), mq("T", 2));
    assert_eq!(
        locks.try_lock_batch("g", "c1", [&q0, &q1], 1_000),
        set(&[&q0, &q1])
    );
    assert_eq!(
        locks.try_lock_batch("g", "c2", [&q0, &q1, &q2], 2_000),
        set(&[&q2])
    );
    assert_eq!(locks.holder("g", &q0, 2_000), Some("c1"));
    assert_eq!(locks.holder("g", &q2, 2_000), Some("c2"));
    // Another group's locks are separate.
    assert_eq!(
        locks.try_lock_batch("other", "c2", [&q0], 2_000),
        set(&[&q0])
    );
}

/// Re-locking refreshes the caller's lock, so it outlives the first lock's expiry.
#[test]
fn own_lock_is_refreshed() {
    let mut locks = QueueLocks::new(LIVE);
    let q = mq("T", 0);
    locks.try_lock_batch("g", "c1", [&q], 0);
    assert_eq!(locks.try_lock_batch("g", "c1", [&q], 50_000), set(&[&q]));
    // 60 s after the first lock but only 10 s after the refresh: still c1's.
    assert!(locks.try_lock_batch("g", "c2", [&q], 60_001).is_empty());
    assert_eq!(locks.holder("g", &q, 60_001), Some("c1"));
}

/// A lock is live for exactly `max_live_ms` (Java: expired when strictly more has passed), then
/// another client takes it over.
#[test]
fn expired_lock_is_taken_over() {
    let mut locks = QueueLocks::new(LIVE);
    let q = mq("T", 3);
    locks.try_lock_batch("g", "c1", [&q], 1_000);
    assert!(locks
        .try_lock_batch("g", "c2", [&q], 1_000 + LIVE)
        .is_empty());
    assert_eq!(locks.holder("g", &q, 1_000 + LIVE + 1), None);
    assert_eq!(
        locks.try_lock_batch("g", "c2", [&q], 1_000 + LIVE + 1),
        set(&[&q])
    );
    assert_eq!(locks.holder("g", &q, 1_000 + LIVE + 1), Some("c2"));
    // The former holder is now refused.
    assert!(locks
        .try_lock_batch("g", "c1", [&q], 1_000 + LIVE + 2)
        .is_empty());
}

/// A holder whose lock expired but was not taken over gets it back by locking again.
#[test]
fn expired_own_lock_is_renewed() {
    let mut locks = QueueLocks::new(LIVE);
    let q = mq("T", 0);
    locks.try_lock_batch("g", "c1", [&q], 0);
    assert!(!locks.holds_unexpired_lock("g", LIVE + 1));
    assert_eq!(locks.try_lock_batch("g", "c1", [&q], LIVE + 1), set(&[&q]));
    assert!(locks.holds_unexpired_lock("g", LIVE + 1));
}

/// Unlock removes only the caller's own locks; another client's unlock changes nothing.
#[test]
fn unlock_removes_only_the_callers_locks() {
    let mut locks = QueueLocks::new(LIVE);
    let (q0, q1) = (mq("T", 0), mq("T", 1));
    locks.try_lock_batch("g", "c1", [&q0], 0);
    locks.try_lock_batch("g", "c2", [&q1], 0);
    assert_eq!(locks.unlock_batch("g", "c2", [&q0, &q1]), 1);
    assert_eq!(locks.holder("g", &q0, 1), Some("c1"));
    assert_eq!(locks.holder("g", &q1, 1), None);
    assert_eq!(locks.unlock_batch("nobody", "c1", [&q0]), 0);
    // The freed queue goes to whoever asks next.
    assert_eq!(locks.try_lock_batch("g", "c3", [&q1], 2), set(&[&q1]));
}

/// The retry path's question: does the group hold any lock that has not expired?
#[test]
fn holds_unexpired_lock_follows_expiry_and_unlock() {
    let mut locks = QueueLocks::new(1_000);
    let (q0, q1) = (mq("T", 0), mq("T", 1));
    assert!(!locks.holds_unexpired_lock("g", 0));
    locks.try_lock_batch("g", "c1", [&q0], 0);
    locks.try_lock_batch("g", "c1", [&q1], 500);
    assert!(locks.holds_unexpired_lock("g", 1_000));
    // q0 expired at 1001, q1 still live until 1500.
    assert!(locks.holds_unexpired_lock("g", 1_200));
    assert!(!locks.holds_unexpired_lock("g", 1_501));
    assert!(!locks.holds_unexpired_lock("other", 0));
    locks.try_lock_batch("g", "c1", [&q0], 2_000);
    locks.unlock_batch("g", "c1", [&q0]);
    assert!(!locks.holds_unexpired_lock("g", 2_000));
}

/// Purging drops expired entries only, and changes no later decision.
#[test]
fn purge_drops_only_expired_entries() {
    let mut locks = QueueLocks::new(1_000);
    let (q0, q1) = (mq("T", 0), mq("T", 1));
    locks.try_lock_batch("g", "c1", [&q0], 0);
    locks.try_lock_batch("g", "c2", [&q1], 900);
    assert_eq!(locks.purge_expired(1_500), 1);
    assert_eq!(locks.holder("g", &q1, 1_500), Some("c2"));
    assert_eq!(
        locks.try_lock_batch("g", "c3", [&q0, &q1], 1_500),
        set(&[&q0])
    );
    assert_eq!(locks.purge_expired(10_000), 2);
    assert!(locks.groups.is_empty());
}

/// The wire format: Java's field names, a duplicate queue counted once, `onlyThisBroker` and
/// unknown fields accepted, and the response in fastjson's (alphabetical) field order.
#[test]
fn lock_body_round_trip_as_java_writes_it() {
    let mut locks = QueueLocks::new(LIVE);
    let body = br#"{"consumerGroup":"cg","clientId":"127.0.0.1@1#1","onlyThisBroker":false,
        "mqSet":[{"brokerName":"b","queueId":1,"topic":"T"},{"topic":"T","brokerName":"b","queueId":0},
                 {"brokerName":"b","queueId":1,"topic":"T"}],"extra":7}"#;
    let out = locks.lock_batch(body, 0).unwrap();
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        r#"{"lockOKMQSet":[{"brokerName":"b","queueId":0,"topic":"T"},{"brokerName":"b","queueId":1,"topic":"T"}]}"#
    );
    // go's body: no onlyThisBroker. Another client gets nothing.
    let go = br#"{"consumerGroup":"cg","clientId":"other","mqSet":[{"topic":"T","brokerName":"b","queueId":0}]}"#;
    assert_eq!(locks.lock_batch(go, 1).unwrap(), br#"{"lockOKMQSet":[]}"#);
    let parsed: LockBatchResponse = serde_json::from_slice(&out).unwrap();
    assert_eq!(parsed.lock_ok_mq_set.len(), 2);
}

/// Bodies Java's broker fails on: no body, `null`, not JSON, a wrong type, a null field; an
/// empty queue set is answered without looking at the group, as Java's loop over nothing.
#[test]
fn bad_lock_bodies_are_javas_exceptions() {
    let mut locks = QueueLocks::new(LIVE);
    let missing = locks.lock_batch(b"", 0).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "java.lang.NullPointerException, the LockBatchRequestBody is missing"
    );
    assert_eq!(locks.lock_batch(b"null", 0).unwrap_err(), missing);
    let json = locks.lock_batch(b"{not json", 0).unwrap_err();
    assert!(matches!(json, LockBodyError::Json { .. }), "{json}");
    assert!(
        json.to_string()
            .starts_with("com.alibaba.fastjson.JSONException: "),
        "{json}"
    );
    let typed = br#"{"consumerGroup":"g","clientId":"c","mqSet":[{"queueId":"x"}]}"#;
    assert!(matches!(
        locks.lock_batch(typed, 0),
        Err(LockBodyError::Json { .. })
    ));
    let no_group = br#"{"clientId":"c","mqSet":[{"topic":"T","queueId":0}]}"#;
    assert_eq!(
        locks.lock_batch(no_group, 0).unwrap_err().to_string(),
        "java.lang.NullPointerException, the field LockBatchRequestBody.consumerGroup is null"
    );
    let no_client = br#"{"consumerGroup":"g","mqSet":[{"topic":"T","queueId":0}]}"#;
    assert!(matches!(
        locks.lock_batch(no_client, 0),
        Err(LockBodyError::Null {
            field: "clientId",
            ..
        })
    ));
    let null_set = br#"{"consumerGroup":"g","clientId":"c","mqSet":null}"#;
    assert!(matches!(
        locks.lock_batch(null_set, 0),
        Err(LockBodyError::Null { field: "mqSet", .. })
    ));
    assert_eq!(
        locks.lock_batch(b"{}", 0).unwrap(),
        br#"{"lockOKMQSet":[]}"#
    );
    // Nothing above left a lock behind.
    assert!(locks.groups.is_empty());
}

/// UNLOCK_BATCH_MQ bodies: the holder's unlock frees the queue, anyone else's (or one without a
/// client id) is ignored; a missing group is Java's NullPointerException.
#[test]
fn unlock_bodies() {
    let mut locks = QueueLocks::new(LIVE);
    let lock = br#"{"consumerGroup":"g","clientId":"c1","mqSet":[{"brokerName":"b","queueId":0,"topic":"T"}]}"#;
    locks.lock_batch(lock, 0).unwrap();
    let by = |client: &str| {
        format!(
            r#"{{"consumerGroup":"g","clientId":"{client}","onlyThisBroker":true,
               "mqSet":[{{"brokerName":"b","queueId":0,"topic":"T"}}]}}"#
        )
    };
    assert_eq!(locks.unlock_batch_request(by("c2").as_bytes()), Ok(0));
    let no_client =
        br#"{"consumerGroup":"g","mqSet":[{"brokerName":"b","queueId":0,"topic":"T"}]}"#;
    assert_eq!(locks.unlock_batch_request(no_client), Ok(0));
    assert!(locks.holds_unexpired_lock("g", 1));
    assert_eq!(locks.unlock_batch_request(by("c1").as_bytes()), Ok(1));
    assert!(!locks.holds_unexpired_lock("g", 1));
    assert_eq!(
        locks.unlock_batch_request(br#"{"clientId":"c1","mqSet":[]}"#),
        Err(LockBodyError::Null {
            body: "UnlockBatchRequestBody",
            field: "consumerGroup"
        })
    );
    assert_eq!(
        locks.unlock_batch_request(b""),
        Err(LockBodyError::Missing {
            body: "UnlockBatchRequestBody"
        })
    );
}
