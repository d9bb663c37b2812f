//! Topic configurations (RocketMQ's `TopicConfig`) and the persisted table in
//! `<root>/config/topics.json`, in RocketMQ's own JSON shape so its admin tools read it.
//!
//! Plain data: the actor that owns the table decides when to change and save it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::paths::{load_json, save_json};
use crate::store::Result;

/// RocketMQ's `TOPIC_MAX_LENGTH`.
pub const TOPIC_MAX_LEN: usize = 127;
/// PermName: readable.
pub const PERM_READ: i32 = 4;
/// PermName: writable.
pub const PERM_WRITE: i32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    #[serde(default = "single_tag")]
    pub topic_filter_type: String,
    #[serde(default)]
    pub topic_sys_flag: i32,
    #[serde(default)]
    pub order: bool,
}

fn single_tag() -> String {
    "SINGLE_TAG".into()
}

impl TopicConfig {
    pub fn new(name: &str, queue_nums: i32) -> Self {
        TopicConfig {
            topic_name: name.to_string(),
            read_queue_nums: queue_nums,
            write_queue_nums: queue_nums,
            perm: PERM_READ | PERM_WRITE,
            topic_filter_type: single_tag(),
            topic_sys_flag: 0,
            order: false,
        }
    }

    pub fn writable(&self) -> bool {
        self.perm & PERM_WRITE != 0
    }
}

/// `topics.json`: `{"topicConfigTable":{name: TopicConfig}, "dataVersion": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicTable {
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    #[serde(default)]
    pub data_version: DataVersion,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVersion {
    pub timestamp: i64,
    pub counter: i64,
}

impl TopicTable {
    /// Loads the table, or an empty one when the file does not exist yet.
    pub fn load(path: &Path) -> Result<TopicTable> {
        load_json(path, "topic table")
    }

    /// Writes the table atomically (temp file, rename, fsync).
    pub fn save(&self, path: &Path) -> Result<()> {
        save_json(path, self)
    }

    pub fn get(&self, name: &str) -> Option<&TopicConfig> {
        self.topic_config_table.get(name)
    }

    /// Pull precondition (`PullMessageProcessor`): the topic exists and is readable, and the queue
    /// id is in range; otherwise the response code and remark a Java broker answers.
    pub fn check_readable(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> std::result::Result<(), (i32, String)> {
        use crate::protocol::response_code;
        let Some(config) = self.get(topic) else {
            return Err((
                response_code::TOPIC_NOT_EXIST,
                format!("topic[{topic}] not exist, apply first please!"),
            ));
        };
        if config.perm & PERM_READ == 0 {
            return Err((
                response_code::NO_PERMISSION,
                format!("the topic[{topic}] pulling message is forbidden"),
            ));
        }
        if queue_id < 0 || queue_id >= config.read_queue_nums {
            return Err((
                response_code::INVALID_PARAMETER,
                format!(
                    "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                    config.read_queue_nums
                ),
            ));
        }
        Ok(())
    }

    pub fn insert(&mut self, config: TopicConfig) {
        self.topic_config_table
            .insert(config.topic_name.clone(), config);
        self.touch();
    }

    /// Removes a topic's config; true if it existed.
    pub fn remove(&mut self, name: &str) -> bool {
        let existed = self.topic_config_table.remove(name).is_some();
        if existed {
            self.touch();
        }
        existed
    }

    /// A new data version, as RocketMQ's `DataVersion.nextVersion`.
    fn touch(&mut self) {
        self.data_version.counter += 1;
        self.data_version.timestamp = crate::store::now_ms();
    }
}

/// RocketMQ's `TopicValidator.validateTopic`: non-empty, at most 127 bytes, `[%|a-zA-Z0-9_-]` only.
pub fn validate_topic_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("the specified topic is blank".into());
    }
    if name.len() > TOPIC_MAX_LEN {
        return Err(format!(
            "the specified topic is longer than topic max length {TOPIC_MAX_LEN}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')))
    {
        return Err(format!(
            "the specified topic[{name}] contains illegal character {c:?}, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("TopicTest").is_ok());
        assert!(validate_topic_name("%RETRY%cg").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("a b").is_err());
        assert!(validate_topic_name(&"x".repeat(128)).is_err());
    }

    #[test]
    fn table_round_trips_through_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/topics.json");
        assert_eq!(TopicTable::load(&path).unwrap(), TopicTable::default());
        let mut t = TopicTable::default();
        t.insert(TopicConfig::new("T", 4));
        t.save(&path).unwrap();
        assert_eq!(TopicTable::load(&path).unwrap(), t);
    }
}
