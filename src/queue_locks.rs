//! Queue locks for ordered consumption (RocketMQ's `RebalanceLockManager`,
//! `rocketmq-reference-2.md` §4): per consumer group, which client holds each message queue.
//!
//! An orderly push consumer asks the broker to lock the queues rebalancing gave it
//! (`LOCK_BATCH_MQ`, 41) and consumes only those it got; it renews them every 20 s and frees them
//! with `UNLOCK_BATCH_MQ` (42). A lock is granted for a free queue, for the caller's own lock
//! (refreshed), or over a lock not refreshed for more than `max_live_ms` (taken over). Only the
//! holder's unlock removes a lock; a closed connection frees nothing, expiry does.
//!
//! [`QueueLocks`] is the pure table: the caller passes the time in (milliseconds on any clock that
//! does not go back), so nothing here reads a clock and the tests are deterministic.
//! [`QueueLocks::lock_batch`] / [`QueueLocks::unlock_batch`] take the request body as received and
//! return the response body or the refusal Java's broker gives ([`LockBodyError`]); the
//! `LockProcessor` actor only routes. [`QueueLocks::holds_unexpired_lock`] answers the retry path's
//! question (Java sends an orderly consumer's message past max reconsume to `%RETRY%`, and the 5.x
//! broker dead-letters it when the group holds a live lock).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// The refusals of a lock body that Java's broker fails on (Java's own text, see
/// [`crate::protocol::java_body`]).
pub use crate::protocol::java_body::JavaBodyError as LockBodyError;

/// RocketMQ's `MessageQueue`. Field order is fastjson's (alphabetical), so the JSON we write reads
/// byte for byte as Java's; missing fields read as Java's defaults would (empty, 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    pub broker_name: String,
    pub queue_id: i32,
    pub topic: String,
}

/// The body of `LOCK_BATCH_MQ` and of `UNLOCK_BATCH_MQ` (Java's `LockBatchRequestBody` and
/// `UnlockBatchRequestBody` have the same fields). `onlyThisBroker` (5.x, absent from 4.9 and go)
/// matters only in Java's strict mode across replicas, which actormq does not have; it is accepted
/// and ignored, like any unknown field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockBatchRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Missing reads as Java's initial empty set; an explicit `null` as `None` (Java's `null`).
    #[serde(default = "empty_mq_set")]
    pub mq_set: Option<Vec<MessageQueue>>,
}

impl LockBatchRequest {
    /// The body a client sends to lock or unlock `mqs` for `client_id` in `group`.
    pub fn new(group: &str, client_id: &str, mqs: &[MessageQueue]) -> LockBatchRequest {
        LockBatchRequest {
            consumer_group: Some(group.to_string()),
            client_id: Some(client_id.to_string()),
            mq_set: Some(mqs.to_vec()),
        }
    }
}

fn empty_mq_set() -> Option<Vec<MessageQueue>> {
    Some(Vec::new())
}

/// Java's `LockBatchResponseBody`: the queues the caller holds after the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockBatchResponse {
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

const LOCK_BODY: &str = "LockBatchRequestBody";
const UNLOCK_BODY: &str = "UnlockBatchRequestBody";

impl LockBatchRequest {
    /// Reads a request body as Java's `RemotingSerializable.decode` does, `body` naming the class.
    fn decode(bytes: &[u8], body: &'static str) -> Result<LockBatchRequest, LockBodyError> {
        crate::protocol::java_body::decode(bytes, body)
    }
}

/// Who holds one queue, and when they last locked it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LockEntry {
    client_id: String,
    last_update_ms: u64,
}

impl LockEntry {
    /// Java's `isExpired`: strictly more than `max_live_ms` since the last lock.
    fn is_expired(&self, now_ms: u64, max_live_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_update_ms) > max_live_ms
    }
}

/// The lock table: consumer group -> message queue -> holder.
#[derive(Debug, Clone)]
pub struct QueueLocks {
    max_live_ms: u64,
    groups: HashMap<String, HashMap<MessageQueue, LockEntry>>,
}

impl QueueLocks {
    /// An empty table whose locks expire `max_live_ms` after their last refresh
    /// (`broker.rebalance_lock_max_live_ms`, Java's `rocketmq.broker.rebalance.lockMaxLiveTime`).
    pub fn new(max_live_ms: u64) -> QueueLocks {
        QueueLocks {
            max_live_ms,
            groups: HashMap::new(),
        }
    }

    /// Locks every queue of `mqs` it can for `client_id` and returns those the client now holds:
    /// free queues, its own (refreshed to `now_ms`) and expired ones (taken over).
    pub fn try_lock_batch<'a>(
        &mut self,
        group: &str,
        client_id: &str,
        mqs: impl IntoIterator<Item = &'a MessageQueue>,
        now_ms: u64,
    ) -> BTreeSet<MessageQueue> {
        let max_live_ms = self.max_live_ms;
        let table = self.groups.entry(group.to_string()).or_default();
        let mut locked = BTreeSet::new();
        for mq in mqs {
            let granted = match table.get_mut(mq) {
                None => {
                    table.insert(
                        mq.clone(),
                        LockEntry {
                            client_id: client_id.to_string(),
                            last_update_ms: now_ms,
                        },
                    );
                    true
                }
                Some(entry) if entry.client_id == client_id => {
                    // Java refreshes its own lock even when it had expired.
                    entry.last_update_ms = now_ms;
                    true
                }
                Some(entry) if entry.is_expired(now_ms, max_live_ms) => {
                    tracing::warn!(
                        group,
                        topic = %mq.topic,
                        queue_id = mq.queue_id,
                        old_client = %entry.client_id,
                        new_client = client_id,
                        "queue lock expired, taken over"
                    );
                    entry.client_id = client_id.to_string();
                    entry.last_update_ms = now_ms;
                    true
                }
                Some(_) => false,
            };
            if granted {
                locked.insert(mq.clone());
            }
        }
        if table.is_empty() {
            self.groups.remove(group);
        }
        locked
    }

    /// Removes the locks of `mqs` that `client_id` holds (expired or not); returns how many. Locks
    /// held by another client are left alone.
    pub fn unlock_batch<'a>(
        &mut self,
        group: &str,
        client_id: &str,
        mqs: impl IntoIterator<Item = &'a MessageQueue>,
    ) -> usize {
        let Some(table) = self.groups.get_mut(group) else {
            return 0;
        };
        let mut removed = 0;
        for mq in mqs {
            if table.get(mq).is_some_and(|e| e.client_id == client_id) {
                table.remove(mq);
                removed += 1;
            }
        }
        if table.is_empty() {
            self.groups.remove(group);
        }
        removed
    }

    /// Whether `group` holds at least one lock that has not expired (the negation of Java's
    /// `isLockAllExpired`). The retry path asks this: a 5.x broker dead-letters an orderly
    /// consumer's message sent back to `%RETRY%` past max reconsume when this is true.
    pub fn holds_unexpired_lock(&self, group: &str, now_ms: u64) -> bool {
        self.groups.get(group).is_some_and(|table| {
            table
                .values()
                .any(|e| !e.is_expired(now_ms, self.max_live_ms))
        })
    }

    /// The client holding `mq` for `group` at `now_ms`, if its lock has not expired.
    pub fn holder(&self, group: &str, mq: &MessageQueue, now_ms: u64) -> Option<&str> {
        let entry = self.groups.get(group)?.get(mq)?;
        (!entry.is_expired(now_ms, self.max_live_ms)).then_some(entry.client_id.as_str())
    }

    /// Drops expired entries (memory only: an expired entry is granted to whoever asks, as an
    /// absent one is). Returns how many went.
    pub fn purge_expired(&mut self, now_ms: u64) -> usize {
        let max_live_ms = self.max_live_ms;
        let mut purged = 0;
        for table in self.groups.values_mut() {
            let before = table.len();
            table.retain(|_, e| !e.is_expired(now_ms, max_live_ms));
            purged += before - table.len();
        }
        self.groups.retain(|_, table| !table.is_empty());
        purged
    }

    /// `LOCK_BATCH_MQ` (41): decodes the body, locks, and returns the `{"lockOKMQSet":[...]}`
    /// response body.
    pub fn lock_batch(&mut self, body: &[u8], now_ms: u64) -> Result<Vec<u8>, LockBodyError> {
        let req = LockBatchRequest::decode(body, LOCK_BODY)?;
        let null = |field| LockBodyError::Null {
            body: LOCK_BODY,
            field,
        };
        let mqs = req.mq_set.ok_or(null("mqSet"))?;
        let lock_ok_mq_set = if mqs.is_empty() {
            // Java loops over nothing and never looks at the group or client id.
            BTreeSet::new()
        } else {
            let group = req.consumer_group.ok_or(null("consumerGroup"))?;
            let client = req.client_id.ok_or(null("clientId"))?;
            self.try_lock_batch(&group, &client, &mqs, now_ms)
        };
        let response = LockBatchResponse { lock_ok_mq_set };
        Ok(serde_json::to_vec(&response).expect("a set of queues serializes"))
    }

    /// `UNLOCK_BATCH_MQ` (42): decodes the body and removes the caller's locks. A lock held by
    /// another client, or a missing client id, is not an error (Java answers SUCCESS).
    pub fn unlock_batch_request(&mut self, body: &[u8]) -> Result<usize, LockBodyError> {
        let req = LockBatchRequest::decode(body, UNLOCK_BODY)?;
        let null = |field| LockBodyError::Null {
            body: UNLOCK_BODY,
            field,
        };
        let group = req.consumer_group.ok_or(null("consumerGroup"))?;
        if !self.groups.contains_key(&group) {
            return Ok(0);
        }
        let mqs = req.mq_set.ok_or(null("mqSet"))?;
        Ok(match req.client_id {
            Some(client) => self.unlock_batch(&group, &client, &mqs),
            None => 0,
        })
    }
}

#[cfg(test)]
mod tests;
