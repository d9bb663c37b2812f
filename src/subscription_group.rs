//! Consumer-group configurations (RocketMQ's `SubscriptionGroupConfig`) and the persisted table in
//! `<root>/config/subscriptionGroup.json`, in RocketMQ's JSON shape so its admin tools read it and a
//! Java broker's file loads here: fields actormq does not use (5.x's `groupRetryPolicy`,
//! `attributes`, the table's `forbiddenTable`, ...) are kept as they were read and written back.
//!
//! Plain data: the actor that owns the table (the `SendProcessor`, which needs a group's retry
//! settings on every send-back and retry send) decides when to change and save it. Like Java's
//! `SubscriptionGroupManager.findSubscriptionGroupConfig`, an unknown group is created on first use
//! with the defaults (`retryQueueNums` 1, `retryMaxTimes` 16) when `broker.auto_create_subscription_group`
//! is on, which is Java's default.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::paths::{load_json, save_json};
use crate::store::Result;
use crate::topic::DataVersion;

/// RocketMQ's `TopicValidator.GROUP_MAX_LENGTH`.
pub const GROUP_MAX_LEN: usize = 120;

/// `MixAll.CID_RMQ_SYS_PREFIX`: a system group, created on first use even when
/// `auto_create_subscription_group` is off (Java's `enableCreateSysGroup`, on by default).
pub const SYS_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// The groups every Java broker has (`SubscriptionGroupManager.init`; with 5.x's defaults, which
/// let all of them consume by broadcast): the admin tools pull as `TOOLS_CONSUMER`, transactions'
/// checks commit as `CID_RMQ_SYS_TRANS`, whatever `auto_create_subscription_group` says.
const PREDEFINED_GROUPS: [&str; 8] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_RMQ_SYS_TRANS",
];

mod pull_gate;
pub use pull_gate::{GroupVerdict, PullGate};

/// One group's settings (`SubscriptionGroupConfig`), Java's defaults in [`SubscriptionGroupConfig::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupConfig {
    pub group_name: String,
    #[serde(default = "yes")]
    pub consume_enable: bool,
    #[serde(default = "yes")]
    pub consume_from_min_enable: bool,
    #[serde(default = "yes")]
    pub consume_broadcast_enable: bool,
    #[serde(default)]
    pub consume_message_orderly: bool,
    /// Queues of the group's `%RETRY%` topic; 0 or less: send-backs are acknowledged and dropped.
    #[serde(default = "one")]
    pub retry_queue_nums: i32,
    /// Send-backs before a message goes to the group's `%DLQ%` topic.
    #[serde(default = "sixteen")]
    pub retry_max_times: i32,
    #[serde(default)]
    pub broker_id: i64,
    #[serde(default = "one_long")]
    pub which_broker_when_consume_slowly: i64,
    #[serde(default = "yes")]
    pub notify_consumer_ids_changed_enable: bool,
    /// Fields of other RocketMQ versions, kept verbatim.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

fn yes() -> bool {
    true
}
fn one() -> i32 {
    1
}
fn sixteen() -> i32 {
    16
}
fn one_long() -> i64 {
    1
}

impl SubscriptionGroupConfig {
    /// A group with Java's defaults.
    pub fn new(group: &str) -> Self {
        SubscriptionGroupConfig {
            group_name: group.to_string(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: one(),
            retry_max_times: sixteen(),
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            other: BTreeMap::new(),
        }
    }
}

/// `subscriptionGroup.json`: `{"subscriptionGroupTable":{name: config}, "dataVersion": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupTable {
    #[serde(default)]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    #[serde(default)]
    pub data_version: DataVersion,
    /// Fields of other RocketMQ versions (`forbiddenTable`), kept verbatim.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// Why a group cannot be used (answered `SUBSCRIPTION_GROUP_NOT_EXIST`, as Java does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("subscription group not exist, {0}")]
    NotExist(String),
}

impl SubscriptionGroupTable {
    /// Loads the table, or an empty one when the file does not exist yet.
    pub fn load(path: &Path) -> Result<SubscriptionGroupTable> {
        load_json(path, "subscription group table")
    }

    /// The table with Java's predefined groups added where absent (as a Java broker has them
    /// before it reads its file; saved with the table's next change).
    pub fn with_predefined(mut self) -> Self {
        for name in PREDEFINED_GROUPS {
            self.subscription_group_table
                .entry(name.to_string())
                .or_insert_with(|| SubscriptionGroupConfig::new(name));
        }
        self
    }

    /// Writes the table atomically (temp file, rename, fsync).
    pub fn save(&self, path: &Path) -> Result<()> {
        save_json(path, self)
    }

    pub fn get(&self, group: &str) -> Option<&SubscriptionGroupConfig> {
        self.subscription_group_table.get(group)
    }

    /// `updateSubscriptionGroupConfig` (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 200): `config`
    /// replaces the group's settings (or adds the group), and the data version moves on so a slave
    /// takes the table. The caller checks the name and persists the table.
    pub fn upsert(&mut self, config: SubscriptionGroupConfig) {
        self.subscription_group_table
            .insert(config.group_name.clone(), config);
        self.data_version.counter += 1;
        self.data_version.timestamp = crate::store::now_ms();
    }

    /// `deleteSubscriptionGroupConfig` (DELETE_SUBSCRIPTIONGROUP, 207): removes the group; the
    /// data version moves on when it existed (the `bool`; the caller persists the table).
    pub fn remove(&mut self, group: &str) -> bool {
        let removed = self.subscription_group_table.remove(group).is_some();
        if removed {
            self.data_version.counter += 1;
            self.data_version.timestamp = crate::store::now_ms();
        }
        removed
    }

    /// `findSubscriptionGroupConfig`: the group's config, created with Java's defaults when it is
    /// unknown, `auto_create` is on and the name is valid (`TopicValidator.validateGroup`). The
    /// `bool` says the table changed (the caller persists it).
    pub fn find_or_create(
        &mut self,
        group: &str,
        auto_create: bool,
    ) -> std::result::Result<(&SubscriptionGroupConfig, bool), GroupError> {
        let created = if self.subscription_group_table.contains_key(group) {
            false
        } else if may_create(group, auto_create) && validate_group_name(group).is_ok() {
            let config = SubscriptionGroupConfig::new(group);
            self.subscription_group_table
                .insert(group.to_string(), config);
            self.data_version.counter += 1;
            self.data_version.timestamp = crate::store::now_ms();
            true
        } else {
            return Err(GroupError::NotExist(group.to_string()));
        };
        let config = self
            .subscription_group_table
            .get(group)
            .ok_or_else(|| GroupError::NotExist(group.to_string()))?;
        Ok((config, created))
    }
}

/// Whether an unknown group is created on first use: all are with `auto_create`, system groups
/// always (`MixAll.isSysConsumerGroupAndEnableCreate`).
pub fn may_create(group: &str, auto_create: bool) -> bool {
    auto_create || group.starts_with(SYS_GROUP_PREFIX)
}

/// `TopicValidator.validateGroup`: not blank, at most 120 characters, `[%|a-zA-Z0-9_-]` only.
pub fn validate_group_name(group: &str) -> std::result::Result<(), String> {
    if group.trim().is_empty() {
        return Err("the specified group is blank".into());
    }
    if let Some(c) = group
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')))
    {
        // Escaped, as topic names are: the remark stays on one line.
        return Err(format!(
            "the specified group {} contains illegal character {c:?}, allowing only ^[%|a-zA-Z0-9_-]+$",
            group.escape_debug()
        ));
    }
    if group.len() > GROUP_MAX_LEN {
        return Err(format!(
            "the specified group is longer than group max length {GROUP_MAX_LEN}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
