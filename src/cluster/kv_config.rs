//! The name server's KV config (RocketMQ's `KVConfigManager`): namespace -> key -> value, set and
//! read by admin tools (PUT_KV_CONFIG 100, GET_KV_CONFIG 101, DELETE_KV_CONFIG 102,
//! GET_KVLIST_BY_NAMESPACE 219). The one namespace RocketMQ itself reads is `ORDER_TOPIC_CONFIG`
//! (topic -> `brokerName:queueNums;...`, `mqadmin updateOrderConf`): routes carry it as
//! `orderTopicConf` when `orderMessageEnable` is on, and REGISTER_BROKER answers carry the whole
//! namespace (Java's `returnOrderTopicConfigToBroker`, on by default).
//!
//! Kept in `kvConfig.json` as Java writes it, `{"configTable":{namespace:{key:value}}}`, rewritten
//! (temp file, rename, fsync) on every change, so either program reads the other's file. Java
//! persists after changing memory and answers SUCCESS even when the write failed; here a change
//! that cannot be written is undone and refused, so the answer says what is on disk. A file that
//! does not parse at start stops the process with a one-line error, as a damaged `topics.json`
//! does (and as Java's name server, whose fastjson exception escapes `initialize`): starting empty
//! would overwrite the operator's table at the next PUT.
//!
//! Plain data and `std::fs`: the `NameServer` actor owns one and maps the results to wire codes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::BrokerConfig;
use crate::protocol::header::{Decode, ExtReader, HeaderError};
use crate::protocol::RemotingCommand;
use crate::store::{paths, StoreError};

/// `NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`: topic -> order config, read into routes.
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// The KV file of a node: `namesrv.kv_config_path`, else `<store.root>/config/kvConfig.json`.
pub fn kv_config_path(config: &BrokerConfig) -> PathBuf {
    config
        .namesrv
        .kv_config_path
        .clone()
        .unwrap_or_else(|| paths::kv_config_json(&config.store.root))
}

/// `KVConfigSerializeWrapper`, the file's shape.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KvConfigFile {
    #[serde(default)]
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

/// `KVTable`, the GET_KVLIST_BY_NAMESPACE and REGISTER_BROKER body.
#[derive(Serialize)]
struct KvTableBody<'a> {
    table: &'a BTreeMap<String, String>,
}

/// The table and the file it lives in.
#[derive(Debug)]
pub struct KvConfig {
    table: BTreeMap<String, BTreeMap<String, String>>,
    path: PathBuf,
}

impl KvConfig {
    /// Reads `path`; a missing file is an empty table. Unreadable or not a KV table: an error
    /// naming the file.
    pub fn load(path: PathBuf) -> Result<KvConfig, StoreError> {
        let file: KvConfigFile = paths::load_json(&path, "KV config table (kvConfig.json)")?;
        Ok(KvConfig {
            table: file.config_table,
            path,
        })
    }

    /// The file this table is written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `getKVConfig`: `None` for an absent namespace or key (Java's null too).
    pub fn get(&self, namespace: Option<&str>, key: Option<&str>) -> Option<&str> {
        self.table.get(namespace?)?.get(key?).map(String::as_str)
    }

    /// `getKVListByNamespace`: `{"table":{key:value}}`, or `None` when the namespace was never
    /// written. A namespace whose last key was deleted stays, empty, as in Java.
    pub fn namespace_json(&self, namespace: Option<&str>) -> Option<Vec<u8>> {
        let table = self.table.get(namespace?)?;
        Some(serde_json::to_vec(&KvTableBody { table }).unwrap_or_default())
    }

    /// `putKVConfig`: sets the value and rewrites the file; the previous value, if any. When the
    /// file cannot be written the table is left as it was.
    pub fn put(
        &mut self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        let before = self.table.clone();
        let previous = self
            .table
            .entry(namespace.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
        self.persist_or_undo(before)?;
        Ok(previous)
    }

    /// `deleteKVConfig`: removes the key (its namespace stays) and rewrites the file; the removed
    /// value, `None` (nothing written) when there was none.
    pub fn delete(
        &mut self,
        namespace: Option<&str>,
        key: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let (Some(namespace), Some(key)) = (namespace, key) else {
            return Ok(None);
        };
        if self.get(Some(namespace), Some(key)).is_none() {
            return Ok(None);
        }
        let before = self.table.clone();
        let removed = self.table.get_mut(namespace).and_then(|kv| kv.remove(key));
        self.persist_or_undo(before)?;
        Ok(removed)
    }

    fn persist_or_undo(
        &mut self,
        before: BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<(), StoreError> {
        let file = KvConfigFile {
            config_table: std::mem::take(&mut self.table),
        };
        let result = paths::save_json(&self.path, &file);
        self.table = match result {
            Ok(()) => file.config_table,
            Err(_) => before,
        };
        result
    }
}

/// Why a PUT_KV_CONFIG is refused (SYSTEM_ERROR either way, as in Java).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PutKvError {
    /// Java's own check, before anything is stored.
    #[error("namespace or key is null")]
    NamespaceOrKeyNull,
    /// No `value`: Java would store a null, which then reads as absent and is not written to
    /// its file; refused here instead.
    #[error("{0}")]
    Header(HeaderError),
}

/// A PUT_KV_CONFIG header (`PutKVConfigRequestHeader`).
#[derive(Debug, PartialEq, Eq)]
pub struct PutKv<'a> {
    pub namespace: &'a str,
    pub key: &'a str,
    pub value: &'a str,
}

/// Reads a PUT_KV_CONFIG header.
pub fn parse_put(cmd: &RemotingCommand) -> Result<PutKv<'_>, PutKvError> {
    let h = ExtReader::new(
        &cmd.ext_fields,
        "PutKVConfigRequestHeader",
        Decode::Reflective,
    );
    let (Some(namespace), Some(key)) = (h.opt_str("namespace"), h.opt_str("key")) else {
        return Err(PutKvError::NamespaceOrKeyNull);
    };
    let value = h.str("value").map_err(PutKvError::Header)?;
    Ok(PutKv {
        namespace,
        key,
        value,
    })
}

/// The `namespace` and `key` of a GET_KV_CONFIG or DELETE_KV_CONFIG header, `None` where absent
/// (Java reads on with a null, which finds nothing).
pub fn parse_key(cmd: &RemotingCommand) -> (Option<&str>, Option<&str>) {
    (cmd.ext("namespace"), cmd.ext("key"))
}

/// The QUERY_NOT_FOUND remark of GET_KV_CONFIG (Java's, `null` for an absent field).
pub fn no_item_remark(namespace: Option<&str>, key: Option<&str>) -> String {
    let (n, k) = (namespace.unwrap_or("null"), key.unwrap_or("null"));
    format!("No config item, Namespace: {n} Key: {k}")
}

/// The QUERY_NOT_FOUND remark of GET_KVLIST_BY_NAMESPACE.
pub fn no_namespace_remark(namespace: Option<&str>) -> String {
    format!("No config item, Namespace: {}", namespace.unwrap_or("null"))
}

#[cfg(test)]
mod tests;
