//! A stored record back into a message for its real topic (`ScheduleMessageService.messageTimeUp`),
//! shared by delay levels and timer messages: topic and queue from `REAL_TOPIC` / `REAL_QID`; body,
//! flag, sysFlag, born host and time, reconsume times copied; the named properties removed, every
//! other one kept (`REAL_TOPIC` / `REAL_QID` stay, as Java leaves them; `UNIQ_KEY` stays, so the
//! client's message id is unchanged). The store host is this broker's; the writer gives the new
//! record its own offsets and store time.

use std::net::SocketAddr;

use crate::store::message::{find_property, property, tags_hash_code, MessageToStore, RecordView};

use super::rewrite::without;

/// Why a stored record cannot go back to its real topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedeliverError {
    #[error("the record at commit-log offset {offset} has no {key} property")]
    Missing { offset: i64, key: &'static str },
    #[error("the record at commit-log offset {offset} has {key} = {value:?}")]
    Invalid {
        offset: i64,
        key: &'static str,
        value: String,
    },
}

/// The message to store in the record's real topic and queue, without the properties in `remove`.
pub fn to_real_topic(
    record: &RecordView<'_>,
    remove: &[&str],
    store_host: SocketAddr,
) -> Result<MessageToStore, RedeliverError> {
    let offset = record.physical_offset;
    let get = |key: &'static str| {
        record
            .property(key)
            .ok_or(RedeliverError::Missing { offset, key })
    };
    let topic = get(property::REAL_TOPIC)?;
    let qid = get(property::REAL_QID)?;
    let queue_id: i32 =
        qid.parse()
            .ok()
            .filter(|q| *q >= 0)
            .ok_or_else(|| RedeliverError::Invalid {
                offset,
                key: property::REAL_QID,
                value: qid.to_string(),
            })?;
    let properties = if remove.iter().any(|k| record.property(k).is_some()) {
        without(record.properties, remove)
    } else {
        record.properties.to_string()
    };
    Ok(MessageToStore {
        topic: topic.to_string(),
        queue_id,
        flag: record.flag,
        body: bytes::Bytes::copy_from_slice(record.body),
        properties,
        sys_flag: record.sys_flag,
        born_timestamp: record.born_timestamp,
        born_host: record.born_host,
        store_host,
        reconsume_times: record.reconsume_times,
        prepared_transaction_offset: 0,
    })
}

/// The consume-queue tag code of a message for its real topic: the hash of `TAGS`, 0 without.
pub fn tags_code(message: &MessageToStore) -> i64 {
    find_property(&message.properties, property::TAGS)
        .map(tags_hash_code)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
