//! Consume retry and dead letters, the decisions (`rocketmq-reference-2.md` §2; Java's
//! `AbstractSendMessageProcessor.consumerSendMsgBack` and `SendMessageProcessor.handleRetryAndDLQ`,
//! 5.3.3).
//!
//! A push consumer whose listener fails sends the message back with `CONSUMER_SEND_MSG_BACK` (36):
//! [`SendBackHeader`] decodes it, [`max_reconsume_times`] and [`send_back_target`] decide between the
//! group's `%RETRY%` topic (with a delay level) and its `%DLQ%` topic, and [`send_back_message`]
//! builds the new record from the stored original. When 36 fails the client sends the message itself
//! to `%RETRY%<group>`; [`retry_send_dead_letters`] decides whether that send goes to the DLQ
//! instead. No actors: the `SendProcessor` owns the topic and group tables, looks the original up
//! through the `Dispatcher`, and only routes.
//!
//! The record lands in `%RETRY%<group>` carrying `DELAY=<level>`; turning a `DELAY>0` record into a
//! scheduled one (and so the backoff) is the put path's job (delay messages), not this module's.

use std::net::SocketAddr;

use crate::property_edit::PropertyEdit;
use crate::protocol::header::{ExtReader, HeaderError};
use crate::protocol::{code::version, response_code, RemotingCommand, OVERLOAD_REMARK};
use crate::store::commit_log::{AppendError, Appended};
use crate::store::message::{decode, offset_msg_id, property, Decoded, MessageToStore, RecordView};

#[cfg(test)]
mod tests;

/// `MixAll.RETRY_GROUP_TOPIC_PREFIX`.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// `MixAll.DLQ_GROUP_TOPIC_PREFIX`.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// `DLQ_NUMS_PER_GROUP`: a group's dead-letter topic has one queue.
pub const DLQ_NUMS_PER_GROUP: i32 = 1;
/// The highest delay level of RocketMQ's default `messageDelayLevel` (18 levels, 1 s ... 2 h); a
/// higher level is stored as this one (`HookUtils`: the put clamps it).
pub const MAX_DELAY_LEVEL: i32 = 18;
/// `TopicSysFlag.buildSysFlag(false, true)`: the retry topic of a unit-mode consumer.
pub const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 0x2;

/// `%RETRY%<group>`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// `%DLQ%<group>`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// `KeyBuilder.parseGroup`: the group of a `%RETRY%` topic (`None` for any other topic). A 5.x POP
/// retry topic `%RETRY%<group>+<topic>` names its group before the `+`.
pub fn group_of_retry_topic(topic: &str) -> Option<&str> {
    let rest = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX)?;
    if rest.contains('+') {
        // Java's `split("\\+")` drops trailing empty parts; exactly two parts name the group.
        let parts: Vec<&str> = rest.trim_end_matches('+').split('+').collect();
        if parts.len() == 2 {
            return Some(parts[0]);
        }
    }
    Some(rest)
}

/// `ConsumerSendMsgBackRequestHeader`, decoded by reflection as Java does (a value that does not
/// parse leaves the field `null`; a null required field fails with Java's NullPointerException).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBackHeader {
    /// Commit-log offset of the message that failed.
    pub offset: i64,
    pub group: String,
    /// 0: the broker picks `3 + reconsumeTimes`; negative: straight to the DLQ.
    pub delay_level: i32,
    pub origin_msg_id: Option<String>,
    pub origin_topic: Option<String>,
    /// Primitive `boolean`: absent is false.
    pub unit_mode: bool,
    pub max_reconsume_times: Option<i32>,
}

impl SendBackHeader {
    /// The required fields are checked in the order the Java processor first uses them: `group`
    /// (the group lookup), `offset` (the record lookup), `delayLevel`.
    pub fn decode(cmd: &RemotingCommand) -> Result<Self, HeaderError> {
        let r = ExtReader::for_request(cmd);
        Ok(SendBackHeader {
            group: r.str("group")?.to_string(),
            offset: r.parse("offset")?,
            delay_level: r.parse("delayLevel")?,
            origin_msg_id: r.opt_str("originMsgId").map(str::to_string),
            origin_topic: r.opt_str("originTopic").map(str::to_string),
            unit_mode: r.opt_java_bool("unitMode").unwrap_or(false),
            max_reconsume_times: r.opt_parse("maxReconsumeTimes")?,
        })
    }
}

/// The most send-backs before the DLQ: the group's `retryMaxTimes`, or the request's
/// `maxReconsumeTimes` when present and the client is at least V3_4_9 (both 36 and retry sends).
pub fn max_reconsume_times(group_max: i32, header_max: Option<i32>, request_version: i32) -> i32 {
    match header_max {
        Some(max) if request_version >= version::V3_4_9 => max,
        _ => group_max,
    }
}

/// Where a sent-back message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBackTarget {
    /// `%RETRY%<group>`, redelivered after this delay level.
    Retry { delay_level: i32 },
    /// `%DLQ%<group>`: consumed no more.
    DeadLetter,
}

/// 36's decision: the DLQ when the original was already reconsumed `max` times or the client asks
/// for it (`delayLevel < 0`); otherwise a retry at the requested level, or `3 + reconsumeTimes`
/// when the request says 0 (10 s, 30 s, 1 min, ...), never above `max_delay_level`.
pub fn send_back_target(
    reconsume_times: i32,
    max: i32,
    delay_level: i32,
    max_delay_level: i32,
) -> SendBackTarget {
    if reconsume_times >= max || delay_level < 0 {
        return SendBackTarget::DeadLetter;
    }
    let level = match delay_level {
        0 => reconsume_times.saturating_add(3),
        n => n,
    };
    SendBackTarget::Retry {
        delay_level: level.min(max_delay_level),
    }
}

/// 36's new record: the original's body (still compressed if it was), flag, sysFlag, born time and
/// host and properties, with `RETRY_TOPIC` (its topic, unless already set), `WAIT=false`, `DELAY`
/// (the level; 0 for the DLQ, as Java's `setDelayTimeLevel(0)`) and `ORIGIN_MESSAGE_ID` (kept, else
/// the original's offset msgId); stored by this broker (`store_host`) with `reconsumeTimes + 1`.
pub fn send_back_message(
    original: &RecordView<'_>,
    group: &str,
    target: SendBackTarget,
    queue_id: i32,
    store_host: SocketAddr,
) -> MessageToStore {
    let mut props = PropertyEdit::parse(original.properties);
    if props.get(property::RETRY_TOPIC).is_none() {
        props.set(property::RETRY_TOPIC, original.topic.to_string());
    }
    props.set(property::WAIT, "false".to_string());
    let (topic, level) = match target {
        SendBackTarget::Retry { delay_level } => (retry_topic(group), delay_level),
        SendBackTarget::DeadLetter => (dlq_topic(group), 0),
    };
    props.set(property::DELAY, level.to_string());
    let origin = match props.get(property::ORIGIN_MESSAGE_ID) {
        Some(id) if !id.trim().is_empty() => id.to_string(),
        _ => offset_msg_id(original.store_host, original.physical_offset),
    };
    props.set(property::ORIGIN_MESSAGE_ID, origin);
    MessageToStore {
        topic,
        queue_id,
        flag: original.flag,
        body: bytes::Bytes::copy_from_slice(original.body),
        properties: props.to_string(),
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: original.born_host,
        store_host,
        reconsume_times: original.reconsume_times.saturating_add(1),
        prepared_transaction_offset: 0,
    }
}

/// What a send-back decided before its original was looked up (Java's steps 1-3 and 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBackPlan {
    pub group: String,
    /// Commit-log offset of the original.
    pub offset: i64,
    /// The request's `delayLevel`.
    pub delay_level: i32,
    /// [`max_reconsume_times`].
    pub max: i32,
    /// The `%RETRY%` queue the record goes to if it is retried.
    pub retry_queue_id: i32,
    /// This broker: the new record's store host.
    pub store_host: SocketAddr,
}

/// A send-back's new record.
#[derive(Debug, Clone, PartialEq)]
pub struct SendBackRecord {
    pub target: SendBackTarget,
    pub message: MessageToStore,
    /// The original's topic and reconsume times (for the log).
    pub original_topic: String,
    pub reconsume_times: i32,
}

impl SendBackPlan {
    /// Steps 4-8 on the looked-up record (`None`: no record starts at the offset): the target
    /// ([`send_back_target`]) and the new message ([`send_back_message`]), which the caller puts
    /// like any send's. The DLQ queue is 0 (its topic has [`DLQ_NUMS_PER_GROUP`] queue); creating
    /// that topic is the caller's.
    pub fn apply(&self, record: Option<&[u8]>) -> Result<SendBackRecord, (i32, String)> {
        let original = match record.map(|r| decode(r, false)) {
            Some(Ok(Decoded::Record(r))) => r,
            _ => {
                let remark = format!("look message by offset failed, {}", self.offset);
                return Err((response_code::SYSTEM_ERROR, remark));
            }
        };
        let target = send_back_target(
            original.reconsume_times,
            self.max,
            self.delay_level,
            MAX_DELAY_LEVEL,
        );
        let queue_id = match target {
            SendBackTarget::Retry { .. } => self.retry_queue_id,
            SendBackTarget::DeadLetter => 0,
        };
        Ok(SendBackRecord {
            target,
            message: send_back_message(&original, &self.group, target, queue_id, self.store_host),
            original_topic: original.topic.to_string(),
            reconsume_times: original.reconsume_times,
        })
    }
}

/// 36's answer when the new record cannot be encoded (Java's put fails with MESSAGE_ILLEGAL or
/// PROPERTIES_SIZE_EXCEEDED, which 36 reports as SYSTEM_ERROR with the status name).
pub fn put_refusal(why: &str) -> (i32, String) {
    (
        response_code::SYSTEM_ERROR,
        format!("MESSAGE_ILLEGAL ({why})"),
    )
}

/// 36's answer for the append of the new record: `SUCCESS` once stored, else `SYSTEM_ERROR` named
/// after Java's `PutMessageStatus`. A sync-flush timeout counts as stored: the record says
/// `WAIT=false`, and Java does not wait for the flush of such a record. A full writer mailbox is
/// flow control, answered `SYSTEM_BUSY` as Java's busy processors are.
pub fn send_back_response(
    mut response: RemotingCommand,
    outcome: Result<Appended, AppendError>,
) -> RemotingCommand {
    let (code, remark) = match outcome {
        Ok(_)
        | Err(AppendError::FlushTimeout(_))
        | Err(AppendError::SlaveNotAvailable(_))
        | Err(AppendError::SlaveTimeout(_)) => (response_code::SUCCESS, None),
        Err(AppendError::Busy) => (response_code::SYSTEM_BUSY, Some(OVERLOAD_REMARK.into())),
        Err(AppendError::CreateMappedFileFailed(why)) => (
            response_code::SYSTEM_ERROR,
            Some(format!("CREATE_MAPPED_FILE_FAILED ({why})")),
        ),
        Err(AppendError::WriteFailed(why)) => (
            response_code::SYSTEM_ERROR,
            Some(format!("UNKNOWN_ERROR (write failed: {why})")),
        ),
        Err(AppendError::TooLarge { .. }) => {
            (response_code::SYSTEM_ERROR, Some("MESSAGE_ILLEGAL".into()))
        }
        Err(AppendError::Sealed | AppendError::NotWritable { .. }) => (
            response_code::SYSTEM_ERROR,
            Some("SERVICE_NOT_AVAILABLE".into()),
        ),
        Err(AppendError::NotMaster) => (
            response_code::SYSTEM_BUSY,
            Some(crate::protocol::REJECT_REQUEST_REMARK.into()),
        ),
    };
    response.code = code;
    response.remark = remark;
    response
}

/// A plain send to `%RETRY%<group>` (the client's fallback when 36 failed) goes to the DLQ when the
/// message was already reconsumed more than `max` times (5.x: `>`, where 4.9.8 used `>=`), or when
/// the group holds an unexpired order lock (`order_locked`: ordered consumers must not see a retry).
pub fn retry_send_dead_letters(reconsume_times: i32, max: i32, order_locked: bool) -> bool {
    reconsume_times > max || order_locked
}

/// The properties of a retry send redirected to the DLQ: the client's, with `DELAY=-1`. Java 5.3.3
/// puts `-1` into the request's property map and stores that map (`handleRetryAndDLQ`), so the
/// record is never scheduled.
pub fn dead_letter_properties(client_props: &str) -> String {
    let mut props = PropertyEdit::parse(client_props);
    props.set(property::DELAY, "-1".to_string());
    props.to_string()
}
