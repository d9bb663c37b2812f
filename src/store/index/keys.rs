//! The keys a record is indexed under, as the index stores them (hashes), derived from the
//! record's decoded fields. The dispatcher derives them for records appended here; a slave's
//! writer derives them while it checks each replicated record anyway, which saves the dispatcher
//! a second decode and a second walk over the properties (about a sixth of a slave's
//! instructions per message).

use super::{key_hash_from, topic_hash, KEY_SEPARATOR};
use crate::store::message::{sys_flag, KnownProperties};

/// One key of one record: `hash` of `topic#key` ([`super::key_hash`]), where the record sits and
/// when it was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedKey {
    pub hash: i32,
    pub phy_offset: i64,
    pub store_timestamp: i64,
}

/// Appends the keys Java's `buildIndex` indexes a record under: its unique key, then each
/// space-separated word of `KEYS`; none for a transaction rollback record. `topic` is the stored
/// topic, `found` the record's properties.
pub fn push_keys(
    topic: &str,
    phy_offset: i64,
    store_timestamp: i64,
    flag: i32,
    found: &KnownProperties<'_>,
    out: &mut Vec<IndexedKey>,
) {
    if sys_flag::transaction_type(flag) == sys_flag::TRANSACTION_ROLLBACK {
        return;
    }
    let keys = found.keys.unwrap_or("");
    if found.uniq_key.is_none() && keys.is_empty() {
        return;
    }
    let topic_hash = topic_hash(topic);
    let mut push = |key: &str| {
        out.push(IndexedKey {
            hash: key_hash_from(topic_hash, key),
            phy_offset,
            store_timestamp,
        })
    };
    if let Some(uniq) = found.uniq_key {
        push(uniq);
    }
    for word in keys.split(KEY_SEPARATOR).filter(|k| !k.is_empty()) {
        push(word);
    }
}
