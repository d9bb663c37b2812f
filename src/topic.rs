//! Topic configurations (RocketMQ's `TopicConfig`) and the persisted table in
//! `<root>/config/topics.json`, in RocketMQ's own JSON shape so its admin tools read it.
//!
//! Plain data: the actor that owns the table decides when to change and save it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::paths::{load_json, save_json};
use crate::store::Result;
use crate::store::StoreError;

/// Java's `TopicValidator.getSystemTopicSet()`: what a broker answers to
/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305), which `mqadmin exportMetadata` / `exportMetrics` use to
/// leave system topics out. The whole set, as Java answers it, whether or not this broker has
/// each one.
pub const SYSTEM_TOPIC_SET: [&str; 10] = [
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

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

    /// Values a broker can serve: a valid name, 1..=[`MAX_QUEUE_NUMS`] read and write queues, a
    /// permission of PermName bits only (RocketMQ's 1 INHERIT, 2 WRITE, 4 READ).
    pub fn validate(&self) -> std::result::Result<(), String> {
        validate_topic_name(&self.topic_name)?;
        for (what, n) in [
            ("readQueueNums", self.read_queue_nums),
            ("writeQueueNums", self.write_queue_nums),
        ] {
            if !(1..=MAX_QUEUE_NUMS).contains(&n) {
                return Err(format!(
                    "topic {}: {what} {n} is not in 1..={MAX_QUEUE_NUMS}",
                    self.topic_name
                ));
            }
        }
        if !(0..=7).contains(&self.perm) {
            return Err(format!(
                "topic {}: perm {} is not a combination of 1, 2 and 4",
                self.topic_name, self.perm
            ));
        }
        Ok(())
    }
}

/// Most queues a topic may have: a sanity bound on `topics.json` (each queue is a directory of
/// consume-queue files), far above any real topic.
pub const MAX_QUEUE_NUMS: i32 = 65_536;

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

    /// Loads the table for start-up and checks every entry ([`TopicConfig::validate`], and that
    /// each is filed under its own name): a bad value is an error naming the topic, never served.
    pub fn load_validated(path: &Path) -> Result<TopicTable> {
        let table = TopicTable::load(path)?;
        table
            .validate()
            .map_err(|why| StoreError::Invalid(format!("{}: {why}", path.display())))?;
        Ok(table)
    }

    /// Checks every entry ([`TopicConfig::validate`], and that each is filed under its own name).
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (name, config) in &self.topic_config_table {
            if *name != config.topic_name {
                return Err(format!("entry {name} holds topic {}", config.topic_name));
            }
            config.validate()?;
        }
        Ok(())
    }

    /// A table for the topics whose consume queues exist under `<root>/consumequeue` (each with
    /// as many read and write queues as its highest queue id + 1, readable and writable): what
    /// start-up falls back to when `topics.json` is missing, so the stored messages stay
    /// reachable. Directory names that are not a valid topic or queue id are skipped.
    pub fn from_consume_queues(root: &Path) -> Result<TopicTable> {
        let mut table = TopicTable::default();
        let dir = root.join("consumequeue");
        let topics = match std::fs::read_dir(&dir) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(table),
            Err(source) => return Err(StoreError::Io { path: dir, source }),
        };
        for topic in topics.flatten() {
            let Some(name) = topic.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(ids) = std::fs::read_dir(topic.path()) else {
                continue;
            };
            let max_id = ids
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|id| (0..MAX_QUEUE_NUMS).contains(id))
                .max();
            if let (Some(max_id), Ok(())) = (max_id, validate_topic_name(&name)) {
                table.insert(TopicConfig::new(&name, max_id + 1));
            }
        }
        Ok(table)
    }

    /// Writes the table atomically (temp file, rename, fsync).
    pub fn save(&self, path: &Path) -> Result<()> {
        save_json(path, self)
    }

    /// Persists the table after the topics `created` were inserted into it. If the file cannot
    /// be written (a full disk), they are taken out again, so that no topic exists only in memory
    /// (a send to it would be acknowledged and the topic lost at the next start), and the error
    /// is returned.
    pub fn persist_created(&mut self, path: &Path, created: &[String]) -> Result<()> {
        let saved = self.save(path);
        if saved.is_err() {
            for name in created {
                self.remove(name);
            }
        }
        saved
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

    /// Number of topics.
    pub fn len(&self) -> usize {
        self.topic_config_table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.topic_config_table.is_empty()
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

    /// A new data version, as RocketMQ's `DataVersion.nextVersion` (also when the broker's
    /// permission changes: what it registers changed).
    pub fn touch(&mut self) {
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
        // Escaped: the remark (and a start-up error naming topics.json) stays on one line.
        return Err(format!(
            "the specified topic[{}] contains illegal character {c:?}, allowing only ^[%|a-zA-Z0-9_-]+$",
            name.escape_debug()
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

    /// Found by the `header_decode` fuzz target: a topic with a newline made a two-line remark.
    #[test]
    fn a_refused_topic_is_named_on_one_line() {
        let err = validate_topic_name("Top\0\nTest").unwrap_err();
        assert_eq!(
            err,
            "the specified topic[Top\\0\\nTest] contains illegal character '\\0', \
             allowing only ^[%|a-zA-Z0-9_-]+$"
        );
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

    /// A topic created for a send exists only if the table could be written: otherwise it is
    /// taken out again (the table stays what the file holds) and the error returned.
    #[test]
    fn created_topics_that_cannot_be_persisted_are_taken_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/topics.json");
        let mut t = TopicTable::default();
        t.insert(TopicConfig::new("Kept", 4));
        t.persist_created(&path, &["Kept".into()]).unwrap();
        assert!(TopicTable::load(&path).unwrap().get("Kept").is_some());

        // A parent that is a file: the write fails like a full disk would.
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, b"x").unwrap();
        let bad = blocked.join("topics.json");
        t.insert(TopicConfig::new("New", 4));
        assert!(t.persist_created(&bad, &["New".into()]).is_err());
        assert!(t.get("New").is_none(), "not created");
        assert!(t.get("Kept").is_some(), "only the new topics go");
    }

    #[test]
    fn invalid_values_are_refused_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        let write = |read: i32, write: i32, perm: i32, key: &str| {
            let json = format!(
                r#"{{"topicConfigTable":{{"{key}":{{"topicName":"T","readQueueNums":{read},"writeQueueNums":{write},"perm":{perm}}}}}}}"#
            );
            std::fs::write(&path, json).unwrap();
            TopicTable::load_validated(&path)
        };
        assert!(write(4, 4, 6, "T").is_ok());
        for (r, w, p, key, needle) in [
            (0, 4, 6, "T", "readQueueNums 0"),
            (4, -1, 6, "T", "writeQueueNums -1"),
            (4, 4, 6, "T", "entry U holds topic T"),
            (4, 4, 9, "T", "perm 9"),
            (70_000, 4, 6, "T", "readQueueNums 70000"),
        ] {
            let key = if needle.starts_with("entry") {
                "U"
            } else {
                key
            };
            let e = write(r, w, p, key).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn a_lost_table_is_rebuilt_from_the_consume_queue_folders() {
        let dir = tempfile::tempdir().unwrap();
        let cq = dir.path().join("consumequeue");
        for (topic, id) in [
            ("A", "0"),
            ("A", "3"),
            ("B", "0"),
            ("bad name", "0"),
            ("C", "x"),
        ] {
            std::fs::create_dir_all(cq.join(topic).join(id)).unwrap();
        }
        let t = TopicTable::from_consume_queues(dir.path()).unwrap();
        let names: Vec<&String> = t.topic_config_table.keys().collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(t.get("A").unwrap().read_queue_nums, 4);
        assert_eq!(t.get("B").unwrap().write_queue_nums, 1);
        let empty = tempfile::tempdir().unwrap();
        assert!(TopicTable::from_consume_queues(empty.path())
            .unwrap()
            .topic_config_table
            .is_empty());
    }
}
