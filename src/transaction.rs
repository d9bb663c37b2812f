//! Transactional messages, the decisions (`rocketmq-reference-2.md` §5; Java's
//! `TransactionalMessageBridge`, `EndTransactionProcessor` and
//! `AbstractTransactionalMessageCheckListener`, 5.3.3).
//!
//! A producer's half message (`TRAN_MSG=true`) is stored in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0
//! with its real topic and queue in properties ([`half_message`]), so no consumer sees it. The
//! producer then ends it with `END_TRANSACTION` (37, [`EndTransactionHeader`]): a commit stores
//! the message again in its real queue ([`commit_message`]); commit and rollback both write an op
//! record to `RMQ_SYS_TRANS_OP_HALF_TOPIC` naming the half's queue offset ([`op_message`]), which
//! marks it ended. A half left open past the timeout is asked about: `CHECK_TRANSACTION_STATE`
//! (39) to one of the producer group's connections ([`check_request`]), which answers with 37.
//! [`pending`] keeps the open halves and decides when each is checked. No actors here.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use crate::property_edit::PropertyEdit;
use crate::protocol::header::{ExtReader, HeaderError};
use crate::protocol::{request_code, response_code, RemotingCommand};
use crate::send::{push_property, Refusal};
use crate::store::message::{
    encode, offset_msg_id, patch_offsets, properties_to_string, property, sys_flag, MessageToStore,
    RecordView,
};

pub mod pending;

/// `TopicValidator.RMQ_SYS_TRANS_HALF_TOPIC`: every half message, queue 0.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// `TopicValidator.RMQ_SYS_TRANS_OP_HALF_TOPIC`: one op record per ended half.
pub const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// `TransactionalMessageUtil.buildConsumerGroup()`: the group whose offset of the half queue marks
/// how far every half is ended (Java's check progress; kept here as the lowest open half).
pub const CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// `TransactionalMessageUtil.REMOVETAG`: an op record's tag.
pub const REMOVE_TAG: &str = "d";
/// `TransactionalMessageUtil.TRANSACTION_ID`: the half's transaction id (its UNIQ_KEY).
pub const TRANSACTION_ID: &str = "__transactionId__";
/// `MessageConst.PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS`: the producer's own first-check delay.
pub const CHECK_IMMUNITY_SECS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";

/// Whether a send stores a half: `Boolean.parseBoolean(TRAN_MSG)` (`tran_msg`, the property's
/// value), unless the message is a
/// consumer's retry with a delay level (Java's `SendMessageProcessor` check).
pub fn is_half(tran_msg: Option<&str>, reconsume_times: i32, delay_level: i32) -> bool {
    tran_msg.is_some_and(|v| v.eq_ignore_ascii_case("true"))
        && !(reconsume_times > 0 && delay_level > 0)
}

/// `parseHalfMessageInner`: the half is stored in [`HALF_TOPIC`] queue 0, its sysflag's
/// transaction bits cleared (so it is queued there), its real topic and queue and its transaction
/// id (`uniq`) in properties.
pub fn half_message(mut message: MessageToStore, uniq: &str) -> MessageToStore {
    let props = &mut message.properties;
    if !uniq.is_empty() {
        push_property(props, TRANSACTION_ID, uniq);
    }
    push_property(props, property::REAL_TOPIC, &message.topic);
    push_property(props, property::REAL_QID, &message.queue_id.to_string());
    message.sys_flag &= !sys_flag::TRANSACTION_MASK;
    message.topic = HALF_TOPIC.to_string();
    message.queue_id = 0;
    message
}

/// How the producer ended its local transaction (`commitOrRollback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: not known yet; the broker answers nothing and asks again later.
    Unknown,
    /// 8: store the message in its real queue.
    Commit,
    /// 12: drop it.
    Rollback,
}

/// `EndTransactionRequestHeader`, decoded as Java does (required fields in its order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTransactionHeader {
    pub producer_group: String,
    /// The half's consume-queue offset (the send result's queue offset).
    pub tran_state_table_offset: i64,
    /// The half's commit-log offset (from the offset msgId).
    pub commit_log_offset: i64,
    pub outcome: Outcome,
    /// The answer to a check (39), not the producer's first word.
    pub from_transaction_check: bool,
    pub msg_id: String,
}

impl EndTransactionHeader {
    pub fn decode(cmd: &RemotingCommand) -> Result<Self, Refusal> {
        let r = ExtReader::for_request(cmd);
        let bad = |e: HeaderError| (e.response_code(), e.to_string());
        let producer_group = r.str("producerGroup").map_err(bad)?.to_string();
        let tran_state_table_offset = r.parse("tranStateTableOffset").map_err(bad)?;
        let commit_log_offset = r.parse("commitLogOffset").map_err(bad)?;
        let outcome = match r.parse::<i32>("commitOrRollback").map_err(bad)? {
            sys_flag::TRANSACTION_NOT_TYPE => Outcome::Unknown,
            sys_flag::TRANSACTION_COMMIT => Outcome::Commit,
            sys_flag::TRANSACTION_ROLLBACK => Outcome::Rollback,
            _ => {
                let remark = "commitOrRollback field wrong".to_string();
                return Err((response_code::SYSTEM_ERROR, remark));
            }
        };
        Ok(EndTransactionHeader {
            producer_group,
            tran_state_table_offset,
            commit_log_offset,
            outcome,
            from_transaction_check: r.opt_java_bool("fromTransactionCheck").unwrap_or(false),
            msg_id: r.str("msgId").map_err(bad)?.to_string(),
        })
    }
}

/// `checkPrepareMessage`: the record at the header's commit-log offset must be a half of this
/// producer group at the header's queue offset, with Java's remarks. A record that is not a half
/// at all (another topic) is "not found": committing it would store an arbitrary message twice.
pub fn check_half(
    record: Option<&RecordView<'_>>,
    h: &EndTransactionHeader,
) -> Result<(), Refusal> {
    let err = |remark: &str| Err((response_code::SYSTEM_ERROR, remark.to_string()));
    let Some(half) = record.filter(|r| r.topic == HALF_TOPIC) else {
        return err("Find prepared transaction message failed");
    };
    if half.property(property::PGROUP) != Some(h.producer_group.as_str()) {
        return err("The producer group wrong");
    }
    if half.queue_offset != h.tran_state_table_offset {
        return err("The transaction state table offset wrong");
    }
    if half.physical_offset != h.commit_log_offset {
        return err("The commit log offset wrong");
    }
    Ok(())
}

/// `endMessageTransaction`: the committed message, stored in its real topic and queue with the
/// half's body, flag, born time and host; REAL_TOPIC, REAL_QID and TRAN_MSG removed; the
/// transaction bits COMMIT; `preparedTransactionOffset` the half's offset.
pub fn commit_message(
    half: &RecordView<'_>,
    store_host: SocketAddr,
) -> Result<MessageToStore, Refusal> {
    let mut props = PropertyEdit::parse(half.properties);
    let topic = props.remove(property::REAL_TOPIC);
    let queue = props
        .remove(property::REAL_QID)
        .and_then(|q| q.parse::<i32>().ok());
    let (Some(topic), Some(queue_id)) = (topic, queue) else {
        let remark = "the prepared message names no real topic and queue".to_string();
        return Err((response_code::SYSTEM_ERROR, remark));
    };
    props.remove(property::TRAN_MSG);
    Ok(MessageToStore {
        topic,
        queue_id,
        flag: half.flag,
        body: Bytes::copy_from_slice(half.body),
        properties: props.to_string(),
        sys_flag: (half.sys_flag & !sys_flag::TRANSACTION_MASK) | sys_flag::TRANSACTION_COMMIT,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        store_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: half.physical_offset,
    })
}

/// The op record that ends the half at `half_queue_offset` (4.9's one op per half): tag `d`, the
/// offset as text, same queue id as the half (0).
pub fn op_message(half_queue_offset: i64, host: SocketAddr) -> MessageToStore {
    let properties =
        properties_to_string([(property::TAGS, REMOVE_TAG), (property::WAIT, "false")]);
    MessageToStore {
        topic: OP_TOPIC.to_string(),
        queue_id: 0,
        flag: 0,
        body: Bytes::from(half_queue_offset.to_string()),
        properties,
        sys_flag: 0,
        born_timestamp: crate::store::now_ms(),
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// The half queue offsets an op record's body names: one (4.9) or several, comma-separated (5.x
/// batches them). Anything that is not a number is skipped.
pub fn op_offsets(body: &[u8]) -> impl Iterator<Item = i64> + '_ {
    body.split(|b| *b == b',')
        .filter_map(|part| std::str::from_utf8(part).ok()?.trim().parse().ok())
}

/// `CHECK_TRANSACTION_STATE` (39), oneway, for the half `half`: the header names the half's
/// offsets and ids, the body is the half as a record with its real topic and queue (what the
/// client's `MessageDecoder.decode` reads; it finds its producer by the body's PGROUP).
pub fn check_request(
    half: &RecordView<'_>,
    broker_name: &str,
    opaque: i32,
) -> Option<RemotingCommand> {
    let real_topic = half.property(property::REAL_TOPIC)?;
    let real_queue = half.property(property::REAL_QID)?.parse::<i32>().ok()?;
    let uniq = half.uniq_key().unwrap_or_default();
    let message = MessageToStore {
        topic: real_topic.to_string(),
        queue_id: real_queue,
        flag: half.flag,
        body: Bytes::copy_from_slice(half.body),
        properties: half.properties.to_string(),
        sys_flag: half.sys_flag,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        store_host: half.store_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: half.prepared_transaction_offset,
    };
    let mut body = BytesMut::new();
    encode(&message, &mut body).ok()?;
    patch_offsets(
        &mut body,
        half.queue_offset,
        half.physical_offset,
        half.store_timestamp,
    );
    let mut cmd = RemotingCommand::request(request_code::CHECK_TRANSACTION_STATE, opaque)
        .with_ext("topic", real_topic)
        .with_ext("tranStateTableOffset", half.queue_offset)
        .with_ext("commitLogOffset", half.physical_offset)
        .with_ext("msgId", uniq)
        .with_ext("transactionId", uniq)
        .with_ext(
            "offsetMsgId",
            offset_msg_id(half.store_host, half.physical_offset),
        )
        .with_ext("bname", broker_name)
        .with_body(body.freeze());
    cmd.set_oneway();
    Some(cmd)
}

/// When a half may first be checked: its store time plus the timeout, or plus the producer's
/// `CHECK_IMMUNITY_TIME_IN_SECONDS` when that is longer (Java's `needSkip` / immunity rule).
pub fn first_check_ms(half: &RecordView<'_>, timeout_ms: i64) -> i64 {
    let immunity_ms = half
        .property(CHECK_IMMUNITY_SECS)
        .and_then(|s| s.parse::<i64>().ok())
        .map_or(0, |s| s.saturating_mul(1000));
    half.store_timestamp
        .saturating_add(timeout_ms.max(immunity_ms))
}

#[cfg(test)]
mod tests;
