//! A slave's metadata sync (RocketMQ's `SlaveSynchronize`): what it fetches from its master and
//! how each table is applied. The bodies are the master's own persisted shapes (`topics.json`,
//! `consumerOffset.json`, `delayOffset.json`, `subscriptionGroup.json`), whichever broker wrote
//! them; every one is checked before anything is applied.
//!
//! * topics (21) and subscription groups (201): replaced wholesale, only when the master's data
//!   version differs from the slave's (Java's `syncTopicConfig` / `syncSubscriptionGroupConfig`);
//! * consumer offsets (43): the master's entries overwrite the slave's per `topic@group`
//!   (Java's `putAll`), entries only the slave has are kept;
//! * delay offsets (45): replaced (Java writes the master's file over its own).

use crate::consumer_offsets::ConsumerOffsetTable;
use crate::protocol::fastjson::quote_bare_keys;
use crate::protocol::request_code;
use crate::schedule::offsets::DelayOffsets;
use crate::subscription_group::SubscriptionGroupTable;
use crate::topic::TopicTable;

/// The requests of one sync round, in Java's order.
pub const SYNC_CODES: [i32; 4] = [
    request_code::GET_ALL_TOPIC_CONFIG,
    request_code::GET_ALL_CONSUMER_OFFSET,
    request_code::GET_ALL_DELAY_OFFSET,
    request_code::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
];

/// A master's answer that is not what the request asks for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("master's {what} cannot be used: {why}")]
pub struct SyncError {
    pub what: &'static str,
    pub why: String,
}

fn err(what: &'static str) -> impl Fn(String) -> SyncError {
    move |why| SyncError { what, why }
}

/// A master's JSON answer: a Java master writes fastjson, whose integer map keys are bare
/// (`{"offsetTable":{"T@G":{0:2}}}`), so they are quoted first ([`quote_bare_keys`]).
fn decode_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    body: &[u8],
) -> Result<T, SyncError> {
    let text = std::str::from_utf8(body).map_err(|x| err(what)(x.to_string()))?;
    serde_json::from_str(&quote_bare_keys(text)).map_err(|x| err(what)(x.to_string()))
}

/// The master's topic table (21), checked entry by entry.
pub fn decode_topics(body: &[u8]) -> Result<TopicTable, SyncError> {
    let table: TopicTable = decode_json("topic table", body)?;
    table.validate().map_err(err("topic table"))?;
    Ok(table)
}

/// The master's consumer offsets (43).
pub fn decode_offsets(body: &[u8]) -> Result<ConsumerOffsetTable, SyncError> {
    decode_json("consumer offsets", body)
}

/// The master's delay offsets (45).
pub fn decode_delay_offsets(body: &[u8]) -> Result<DelayOffsets, SyncError> {
    let text = std::str::from_utf8(body).map_err(|x| err("delay offsets")(x.to_string()))?;
    DelayOffsets::decode(text).map_err(err("delay offsets"))
}

/// The master's subscription groups (201).
pub fn decode_groups(body: &[u8]) -> Result<SubscriptionGroupTable, SyncError> {
    decode_json("subscription groups", body)
}

/// The master's topics, if they are to replace `local` (their data versions differ).
pub fn topics_to_apply(local: &TopicTable, master: TopicTable) -> Option<TopicTable> {
    (local.data_version != master.data_version).then_some(master)
}

/// The master's groups, if they are to replace `local` (their data versions differ).
pub fn groups_to_apply(
    local: &SubscriptionGroupTable,
    master: SubscriptionGroupTable,
) -> Option<SubscriptionGroupTable> {
    (local.data_version != master.data_version).then_some(master)
}

/// Overwrites `local`'s entries with the master's (per `topic@group`); true if anything changed.
pub fn merge_offsets(local: &mut ConsumerOffsetTable, master: ConsumerOffsetTable) -> bool {
    let mut changed = false;
    for (key, queues) in master.offset_table {
        if local.offset_table.get(&key) != Some(&queues) {
            local.offset_table.insert(key, queues);
            changed = true;
        }
    }
    changed
}
