//! Consumer offsets (RocketMQ's `ConsumerOffsetManager`): the next offset each consumer group will
//! read, per topic and queue, persisted to `<root>/config/consumerOffset.json` in RocketMQ's own shape
//! `{"offsetTable":{"topic@group":{"0":5}}}` so its admin tools can read it.
//!
//! Plain data: the actor that owns the table decides when to change and save it. Saving goes through
//! [`write_atomic`](crate::store::paths::write_atomic) (temp file, fsync, rename, fsync of the
//! directory), so a crash leaves the old or the new table, never a torn one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::paths::{load_json, save_json};
use crate::store::Result;

/// RocketMQ's key separator: `topic@group`.
pub const KEY_SEPARATOR: char = '@';

/// One group's offsets: per topic (by name), queue id -> next offset to consume.
pub type TopicOffsets = Vec<(String, BTreeMap<i32, i64>)>;

/// The persisted table: `topic@group` -> queue id -> next offset to consume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerOffsetTable {
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

fn key(topic: &str, group: &str) -> String {
    let mut k = String::with_capacity(topic.len() + group.len() + 1);
    k.push_str(topic);
    k.push(KEY_SEPARATOR);
    k.push_str(group);
    k
}

impl ConsumerOffsetTable {
    /// Loads the table, or an empty one when the file does not exist yet.
    pub fn load(path: &Path) -> Result<ConsumerOffsetTable> {
        load_json(path, "consumer offset table")
    }

    /// Writes the table atomically, creating the directory if needed.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_json(path, self)
    }

    /// The committed offset of `group` on `topic`/`queue_id`, if any.
    pub fn get(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.offset_table
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id))
            .copied()
    }

    /// Every topic `group` has offsets for (only `topic`, if given), with its queues' offsets
    /// (`whichTopicByConsumer` and `queryOffset` of GET_CONSUME_STATS).
    pub fn group_offsets(
        &self,
        group: &str,
        topic: Option<&str>,
    ) -> Vec<(String, BTreeMap<i32, i64>)> {
        self.offset_table
            .iter()
            .filter_map(|(k, queues)| {
                let (t, g) = k.split_once(KEY_SEPARATOR)?;
                (g == group && topic.is_none_or(|want| want == t))
                    .then(|| (t.to_string(), queues.clone()))
            })
            .collect()
    }

    /// Every group with committed offsets, each with its topics' offsets (what
    /// GET_BROKER_CONSUME_STATS walks: `whichTopicByConsumer` and `queryOffset` per group), by
    /// group then topic. A key without `@` names no group and is left out.
    pub fn offsets_by_group(&self) -> Vec<(String, TopicOffsets)> {
        let mut groups: BTreeMap<String, TopicOffsets> = BTreeMap::new();
        for (k, queues) in &self.offset_table {
            if let Some((topic, group)) = k.split_once(KEY_SEPARATOR) {
                let topics = groups.entry(group.to_string()).or_default();
                topics.push((topic.to_string(), queues.clone()));
            }
        }
        for topics in groups.values_mut() {
            topics.sort_by(|a, b| a.0.cmp(&b.0));
        }
        groups.into_iter().collect()
    }

    /// The groups with committed offsets on `topic` (Java's `whichGroupByTopic`, half of
    /// QUERY_TOPIC_CONSUME_BY_WHO). A key is read as Java's `split("@")` reads it: trailing
    /// separators dropped, then exactly one `@` left, so `T@x@g` names no group.
    pub fn groups_of_topic(&self, topic: &str) -> BTreeSet<String> {
        self.offset_table
            .keys()
            .filter_map(|k| {
                let (t, g) = k
                    .trim_end_matches(KEY_SEPARATOR)
                    .split_once(KEY_SEPARATOR)?;
                (t == topic && !g.contains(KEY_SEPARATOR)).then(|| g.to_string())
            })
            .collect()
    }

    /// Stores `offset`; returns whether the table changed.
    pub fn commit(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64) -> bool {
        let queues = self.offset_table.entry(key(topic, group)).or_default();
        queues.insert(queue_id, offset) != Some(offset)
    }

    /// The topics `group` has offsets on (Java's `whichTopicByConsumer`).
    pub fn topics_of_group(&self, group: &str) -> BTreeSet<String> {
        self.offset_table
            .keys()
            .filter_map(|k| {
                let (t, g) = k.split_once(KEY_SEPARATOR)?;
                (g == group).then(|| t.to_string())
            })
            .collect()
    }

    /// `CLONE_GROUP_OFFSET` (Java's `cloneOffset`): for each of `topics` on which `src` has
    /// offsets, `dest`'s offsets on it become a copy of `src`'s (replacing what `dest` had there);
    /// a topic `src` has no offsets on is left alone. Returns whether the table changed.
    pub fn clone_offsets<'a>(
        &mut self,
        src: &str,
        dest: &str,
        topics: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        let mut changed = false;
        for topic in topics {
            let Some(queues) = self.offset_table.get(&key(topic, src)).cloned() else {
                continue;
            };
            changed |= self.offset_table.insert(key(topic, dest), queues.clone()) != Some(queues);
        }
        changed
    }

    /// Forgets every offset of a group (`DELETE_SUBSCRIPTIONGROUP` with `cleanOffset`, Java's
    /// `removeOffset`) or on a topic (`DELETE_TOPIC_IN_BROKER`, Java's `cleanOffsetByTopic`);
    /// returns whether the table changed.
    pub fn remove(&mut self, of: &OffsetsOf) -> bool {
        let before = self.offset_table.len();
        self.offset_table.retain(|k, _| !of.owns(k));
        self.offset_table.len() != before
    }
}

/// Whose offsets (and waiting resets) go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsOf {
    Group(String),
    Topic(String),
}

impl OffsetsOf {
    /// Whether the key `topic@group` is one of these.
    fn owns(&self, key: &str) -> bool {
        key.split_once(KEY_SEPARATOR)
            .is_some_and(|(t, g)| match self {
                OffsetsOf::Group(group) => g == group,
                OffsetsOf::Topic(topic) => t == topic,
            })
    }
}

/// Offsets an admin reset (`INVOKE_BROKER_TO_RESET_OFFSET`) that the group's consumer has not
/// been moved to yet (Java 5.2+'s `resetOffsetTable`): `topic@group` -> queue -> offset. While a
/// queue is marked, the consumer's own commits for it are stale (they come from before the reset)
/// and are ignored; its next pull of the queue is answered with the reset offset, which takes the
/// mark. In memory only, as in Java: the reset offsets themselves are committed to the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetMarks {
    marks: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl ResetMarks {
    /// Nothing marked: the pull path's only check in the common case.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    pub fn mark(&mut self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let queues = self.marks.entry(key(topic, group)).or_default();
        queues.insert(queue_id, offset);
    }

    pub fn get(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.marks
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id))
            .copied()
    }

    /// Removes and returns the mark of `group` on `topic`/`queue_id`.
    pub fn take(&mut self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let k = key(topic, group);
        let queues = self.marks.get_mut(&k)?;
        let offset = queues.remove(&queue_id);
        if queues.is_empty() {
            self.marks.remove(&k);
        }
        offset
    }

    pub fn remove(&mut self, of: &OffsetsOf) {
        self.marks.retain(|k, _| !of.owns(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_copies_the_source_groups_queues_and_replaces_the_destinations() {
        let mut t = ConsumerOffsetTable::default();
        t.commit("src", "A", 0, 5);
        t.commit("src", "A", 1, 7);
        t.commit("src", "B", 0, 3);
        t.commit("dest", "A", 3, 99);
        t.commit("dest", "C", 0, 1);
        assert_eq!(
            t.topics_of_group("src"),
            ["A", "B"].map(String::from).into()
        );
        assert!(t.clone_offsets("src", "dest", ["A", "Missing"]));
        assert_eq!(t.get("dest", "A", 0), Some(5));
        assert_eq!(t.get("dest", "A", 1), Some(7));
        assert_eq!(
            t.get("dest", "A", 3),
            None,
            "replaced, not merged (as Java)"
        );
        assert_eq!(t.get("dest", "B", 0), None, "a topic not asked for");
        assert_eq!(t.get("dest", "C", 0), Some(1), "its other topics stay");
        assert_eq!(t.get("dest", "Missing", 0), None);
        assert!(
            !t.clone_offsets("src", "dest", ["A"]),
            "the same again changes nothing"
        );
        assert_eq!(t.get("src", "A", 0), Some(5), "the source is untouched");
    }

    #[test]
    fn a_groups_offsets_by_topic() {
        let mut t = ConsumerOffsetTable::default();
        t.commit("g", "A", 0, 5);
        t.commit("g", "B", 1, 7);
        t.commit("other", "A", 0, 9);
        let all = t.group_offsets("g", None);
        assert_eq!(
            all.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            ["A", "B"]
        );
        assert_eq!(all[0].1.get(&0), Some(&5));
        let b = t.group_offsets("g", Some("B"));
        assert_eq!((b.len(), b[0].1.get(&1)), (1, Some(&7)));
        assert!(t.group_offsets("nobody", None).is_empty());
    }

    #[test]
    fn every_groups_offsets_by_group_then_topic() {
        let mut t = ConsumerOffsetTable::default();
        t.commit("g2", "B", 0, 1);
        t.commit("g1", "B", 1, 7);
        t.commit("g1", "A", 0, 5);
        t.offset_table
            .insert("no-separator".into(), BTreeMap::new());
        let all = t.offsets_by_group();
        let shape: Vec<(&str, Vec<&str>)> = all
            .iter()
            .map(|(g, ts)| (g.as_str(), ts.iter().map(|(t, _)| t.as_str()).collect()))
            .collect();
        assert_eq!(shape, [("g1", vec!["A", "B"]), ("g2", vec!["B"])]);
        assert_eq!(all[0].1[1].1.get(&1), Some(&7));
    }

    #[test]
    fn the_groups_of_a_topic_are_those_with_offsets_on_it() {
        let mut t = ConsumerOffsetTable::default();
        t.commit("g1", "T", 0, 5);
        t.commit("g1", "T", 1, 6);
        t.commit("g2", "T", 3, 0);
        t.commit("g3", "U", 0, 9);
        t.commit("g4", "TT", 0, 1);
        let groups: Vec<String> = t.groups_of_topic("T").into_iter().collect();
        assert_eq!(groups, ["g1", "g2"]);
        assert_eq!(
            t.groups_of_topic("U").into_iter().collect::<Vec<_>>(),
            ["g3"]
        );
        assert!(t.groups_of_topic("nobody").is_empty());
    }

    #[test]
    fn keys_java_would_not_split_in_two_name_no_group() {
        let mut t = ConsumerOffsetTable::default();
        for k in ["T@x@g", "T@@g", "T@", "T", "T@g@"] {
            t.offset_table
                .insert(k.to_string(), BTreeMap::from([(0, 1)]));
        }
        // Java's split drops the trailing empty string of "T@g@": ["T", "g"].
        let groups: Vec<String> = t.groups_of_topic("T").into_iter().collect();
        assert_eq!(groups, ["g"]);
    }

    #[test]
    fn a_group_is_removed_with_all_its_topics_and_only_it() {
        let mut t = ConsumerOffsetTable::default();
        t.commit("g", "A", 0, 5);
        t.commit("g", "B", 1, 7);
        t.commit("g2", "A", 0, 9);
        t.commit("x@g", "A", 0, 1);
        let g = OffsetsOf::Group("g".into());
        assert!(t.remove(&g));
        assert!(!t.remove(&g));
        let keys: Vec<&String> = t.offset_table.keys().collect();
        assert_eq!(keys, ["A@g2", "A@x@g"]);
    }

    #[test]
    fn a_topic_is_removed_with_every_groups_offsets_on_it_and_only_it() {
        let mut t = ConsumerOffsetTable::default();
        t.commit("g", "A", 0, 5);
        t.commit("g", "AB", 0, 5);
        t.commit("h", "A", 1, 7);
        t.commit("h", "B", 0, 9);
        let a = OffsetsOf::Topic("A".into());
        assert!(t.remove(&a));
        assert!(!t.remove(&a));
        let keys: Vec<&String> = t.offset_table.keys().collect();
        assert_eq!(keys, ["AB@g", "B@h"]);
        let mut m = ResetMarks::default();
        m.mark("g", "A", 0, 3);
        m.mark("g", "B", 0, 3);
        m.remove(&a);
        assert_eq!((m.get("g", "A", 0), m.get("g", "B", 0)), (None, Some(3)));
    }

    #[test]
    fn reset_marks_are_taken_once() {
        let mut m = ResetMarks::default();
        assert!(m.is_empty());
        m.mark("g", "T", 0, 3);
        m.mark("g", "T", 1, 4);
        m.mark("h", "T", 0, 9);
        assert_eq!(m.get("g", "T", 1), Some(4));
        assert_eq!(m.get("g", "U", 1), None);
        assert_eq!(m.take("g", "T", 0), Some(3));
        assert_eq!(m.take("g", "T", 0), None);
        m.remove(&OffsetsOf::Group("h".into()));
        assert_eq!(m.get("h", "T", 0), None);
        assert_eq!(m.take("g", "T", 1), Some(4));
        assert!(m.is_empty());
    }

    #[test]
    fn rocketmq_shape_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config/consumerOffset.json");
        assert_eq!(
            ConsumerOffsetTable::load(&path).unwrap(),
            ConsumerOffsetTable::default()
        );
        let mut t = ConsumerOffsetTable::default();
        assert!(t.commit("cg", "T", 0, 5));
        assert!(!t.commit("cg", "T", 0, 5));
        assert!(t.commit("cg", "T", 3, 7));
        assert_eq!(t.get("cg", "T", 0), Some(5));
        assert_eq!(t.get("cg", "T", 1), None);
        assert_eq!(t.get("other", "T", 0), None);
        let json: serde_json::Value = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"offsetTable": {"T@cg": {"0": 5, "3": 7}}})
        );
        t.save(&path).unwrap();
        assert_eq!(ConsumerOffsetTable::load(&path).unwrap(), t);
        std::fs::write(&path, b"{").unwrap();
        let e = ConsumerOffsetTable::load(&path).unwrap_err();
        assert!(e.to_string().contains("consumerOffset.json"), "{e}");
    }
}
