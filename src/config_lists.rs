//! Topic and subscription-group configurations created or updated in batches:
//! `UPDATE_AND_CREATE_TOPIC_LIST` (18, `mqadmin updateTopicList`, body
//! `CreateTopicListRequestBody`) and `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST` (225, `mqadmin
//! updateSubGroupList`, body `SubscriptionGroupList`), as Java 5.3.3's `AdminBrokerProcessor`.
//!
//! [`topic_list`] and [`group_list`] read a body and check every entry before anything changes;
//! the `SendProcessor`, which owns both tables, then applies them all and persists once. A body
//! Java fails on is refused with Java's exception text (`SYSTEM_ERROR`,
//! [`crate::protocol::java_body`]); an entry actormq cannot serve with `INVALID_PARAMETER`, naming
//! it, and then nothing of the request is applied.
//!
//! Differences from Java, deliberate: each entry is checked as `UPDATE_AND_CREATE_TOPIC` (17) and
//! `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP` (200) check theirs here (a topic's name, queue counts and
//! permission, a group's name; Java checks a topic's name and nothing of a group); and a topic
//! whose configuration is already the broker's is skipped, where Java 5.3.3 answers SUCCESS at
//! the first such topic without creating the ones after it.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::protocol::java_body::{self, JavaBodyError};
use crate::protocol::response_code;
use crate::schedule::system_topic_conflict;
use crate::send::Refusal;
use crate::subscription_group::{validate_group_name, SubscriptionGroupConfig};
use crate::topic::TopicConfig;

const TOPIC_LIST_BODY: &str = "CreateTopicListRequestBody";
const GROUP_LIST_BODY: &str = "SubscriptionGroupList";

/// Java's `CreateTopicListRequestBody`; a `null` list or entry is Java's NullPointerException.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTopicListRequestBody {
    #[serde(default)]
    topic_config_list: Option<Vec<Option<ListedTopic>>>,
}

/// A `TopicConfig` as fastjson writes it, with the `attributes` actormq does not keep.
#[derive(Deserialize)]
struct ListedTopic {
    #[serde(flatten)]
    config: TopicConfig,
    #[serde(default)]
    attributes: Option<BTreeMap<String, String>>,
}

/// Java's `SubscriptionGroupList`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionGroupList {
    #[serde(default)]
    group_config_list: Option<Vec<Option<SubscriptionGroupConfig>>>,
}

/// The topics of an `UPDATE_AND_CREATE_TOPIC_LIST` body, every one checked, in the body's order.
pub fn topic_list(body: &[u8]) -> Result<Vec<TopicConfig>, Refusal> {
    let listed = entries(
        body,
        TOPIC_LIST_BODY,
        "topicConfigList",
        |b: CreateTopicListRequestBody| b.topic_config_list,
    )?;
    listed
        .into_iter()
        .map(|ListedTopic { config, attributes }| {
            let invalid = |remark: String| (response_code::INVALID_PARAMETER, remark);
            config.validate().map_err(invalid)?;
            if let Some(remark) = system_topic_conflict(&config.topic_name) {
                return Err(invalid(remark));
            }
            // Java's `enableMixedMessageType` is off by default.
            let message_type = attributes.as_ref().and_then(|a| a.get("+message.type"));
            if message_type.map(String::as_str) == Some("MIXED") {
                return Err(invalid("MIXED message type is not supported.".into()));
            }
            Ok(config)
        })
        .collect()
}

/// The groups of an `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST` body, every name checked, in the
/// body's order.
pub fn group_list(body: &[u8]) -> Result<Vec<SubscriptionGroupConfig>, Refusal> {
    let listed = entries(
        body,
        GROUP_LIST_BODY,
        "groupConfigList",
        |b: SubscriptionGroupList| b.group_config_list,
    )?;
    for config in &listed {
        validate_group_name(&config.group_name)
            .map_err(|remark| (response_code::INVALID_PARAMETER, remark))?;
    }
    Ok(listed)
}

/// The entries of list body `class` (its `field`, taken out by `list`), as Java reads them:
/// a body that does not decode, a `null` list or a `null` entry is Java's exception.
fn entries<B: DeserializeOwned, T>(
    body: &[u8],
    class: &'static str,
    field: &'static str,
    list: impl FnOnce(B) -> Option<Vec<Option<T>>>,
) -> Result<Vec<T>, Refusal> {
    let refusal = |e: JavaBodyError| (e.response_code(), e.to_string());
    let null = || refusal(JavaBodyError::Null { body: class, field });
    let parsed: B = java_body::decode(body, class).map_err(refusal)?;
    list(parsed)
        .ok_or_else(null)?
        .into_iter()
        .map(|entry| entry.ok_or_else(null))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `mqadmin updateTopicList` sends for a file of two topics (fastjson, every field).
    const JAVA_TOPICS: &str = r#"{"topicConfigList":[{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"ListA","topicSysFlag":0,"writeQueueNums":4},{"attributes":{},"order":true,"perm":4,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"ListB","topicSysFlag":0,"writeQueueNums":8}]}"#;

    #[test]
    fn a_java_topic_list_is_read() {
        let topics = topic_list(JAVA_TOPICS.as_bytes()).unwrap();
        let mut b = TopicConfig::new("ListB", 8);
        (b.read_queue_nums, b.perm, b.order) = (2, 4, true);
        assert_eq!(topics, [TopicConfig::new("ListA", 4), b]);
        assert_eq!(topic_list(br#"{"topicConfigList":[]}"#), Ok(vec![]));
    }

    #[test]
    fn one_bad_topic_refuses_the_list() {
        let with = |entry: &str| {
            let body = format!(
                r#"{{"topicConfigList":[{{"perm":6,"readQueueNums":1,"topicName":"Ok","writeQueueNums":1}},{entry}]}}"#
            );
            topic_list(body.as_bytes()).unwrap_err()
        };
        let invalid = response_code::INVALID_PARAMETER;
        let (code, remark) =
            with(r#"{"perm":6,"readQueueNums":1,"topicName":"bad topic","writeQueueNums":1}"#);
        assert_eq!(code, invalid);
        assert!(remark.contains("illegal character"), "{remark}");
        let (code, remark) =
            with(r#"{"perm":6,"readQueueNums":0,"topicName":"Zero","writeQueueNums":1}"#);
        assert_eq!(code, invalid);
        assert!(remark.contains("readQueueNums 0"), "{remark}");
        assert_eq!(
            with(
                r#"{"perm":6,"readQueueNums":1,"topicName":"SCHEDULE_TOPIC_XXXX","writeQueueNums":1}"#
            ),
            (
                invalid,
                "The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic.".into()
            )
        );
        assert_eq!(
            with(
                r#"{"attributes":{"+message.type":"MIXED"},"perm":6,"readQueueNums":1,"topicName":"Mixed","writeQueueNums":1}"#
            ),
            (invalid, "MIXED message type is not supported.".into())
        );
        let (code, remark) = with("null");
        assert_eq!(code, response_code::SYSTEM_ERROR);
        assert!(
            remark.starts_with("java.lang.NullPointerException"),
            "{remark}"
        );
    }

    #[test]
    fn bodies_java_fails_on() {
        let system_error = |body: &[u8], starts: &str| {
            let (code, remark) = topic_list(body).unwrap_err();
            assert_eq!(code, response_code::SYSTEM_ERROR, "{remark}");
            assert!(remark.starts_with(starts), "{remark}");
            let (code, remark) = group_list(body).unwrap_err();
            assert_eq!(code, response_code::SYSTEM_ERROR, "{remark}");
            assert!(remark.starts_with(starts), "{remark}");
        };
        system_error(b"", "java.lang.NullPointerException");
        system_error(b"null", "java.lang.NullPointerException");
        system_error(b"{}", "java.lang.NullPointerException, the field");
        system_error(b"{oops", "com.alibaba.fastjson.JSONException");
        system_error(b"[1]", "com.alibaba.fastjson.JSONException");
    }

    #[test]
    fn a_java_group_list_is_read_and_checked() {
        let body = br#"{"groupConfigList":[{"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"ga","groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":3,"retryQueueNums":2,"whichBrokerWhenConsumeSlowly":1},{"groupName":"gb"}]}"#;
        let groups = group_list(body).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(
            (
                groups[0].group_name.as_str(),
                groups[0].retry_max_times,
                groups[0].retry_queue_nums
            ),
            ("ga", 3, 2)
        );
        // Fields actormq does not use are kept, to be written back.
        assert_eq!(groups[0].other["consumeTimeoutMinute"], 15);
        assert_eq!(groups[1], SubscriptionGroupConfig::new("gb"));
        let (code, remark) =
            group_list(br#"{"groupConfigList":[{"groupName":"ok"},{"groupName":"no way"}]}"#)
                .unwrap_err();
        assert_eq!(code, response_code::INVALID_PARAMETER);
        assert!(remark.contains("illegal character"), "{remark}");
        let (code, _) = group_list(br#"{"groupConfigList":[null]}"#).unwrap_err();
        assert_eq!(code, response_code::SYSTEM_ERROR);
    }
}
