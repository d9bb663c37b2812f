//! REGISTER_BROKER (103) and UNREGISTER_BROKER (104), both ends: the request a broker sends
//! (`BrokerOuterAPI.registerBrokerAll`, 5.x shape), the answer it reads (`RegisterBrokerResponseHeader`:
//! `masterAddr`, `haServerAddr`), and the name server's parse of both requests
//! (`DefaultRequestProcessor.registerBroker` / `unregisterBroker`). `rocketmq-reference-2.md` §8.1.
//!
//! The body is the uncompressed JSON `RegisterBrokerBody`
//! `{"topicConfigSerializeWrapper":{"topicConfigTable":{..},"dataVersion":{..}},"filterServerList":[]}`,
//! with header `compressed=false` and `bodyCrc32` = Java's `UtilAll.crc32` of the body, as a 5.3
//! broker with the default `compressedRegister=false` sends it. The name server also reads the
//! compressed form a Java broker sends with `compressedRegister=true` ([`compressed_register`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{compressed_register, ClusterError};
use crate::broker_permission::BrokerPermission;
use crate::protocol::code::version::V3_0_11;
use crate::protocol::fastjson::quote_bare_keys;
use crate::protocol::header::{java_parse_boolean, java_parse_long};
use crate::protocol::{request_code, RemotingCommand};
use crate::topic::{self, TopicConfig, TopicTable, PERM_READ, PERM_WRITE};

/// RocketMQ's default topic, the template of auto-created topics (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// PermName.PERM_INHERIT: TBW102 carries it.
pub const PERM_INHERIT: i32 = 1;

/// Java's `UtilAll.crc32`: CRC-32 of the bytes with the sign bit cleared.
pub fn java_crc32(bytes: &[u8]) -> i32 {
    (crc32fast::hash(bytes) & 0x7FFF_FFFF) as i32
}

/// `DataVersion` as it travels: `{"counter":n,"stateVersion":0,"timestamp":ms}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireDataVersion {
    pub counter: i64,
    pub state_version: i64,
    pub timestamp: i64,
}

impl From<&topic::DataVersion> for WireDataVersion {
    fn from(v: &topic::DataVersion) -> Self {
        WireDataVersion {
            counter: v.counter,
            state_version: 0,
            timestamp: v.timestamp,
        }
    }
}

/// `TopicConfigSerializeWrapper`: the broker's topic table and its data version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigWrapper {
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub data_version: WireDataVersion,
}

/// `RegisterBrokerBody` (uncompressed JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RegisterBrokerBody {
    topic_config_serialize_wrapper: TopicConfigWrapper,
    filter_server_list: Vec<String>,
}

/// The topics a broker registers: its topic table, plus TBW102 (perm RW|INHERIT, the default queue
/// count) while topics are auto-created, as Java's `TopicConfigManager` keeps it in the table. A
/// stock producer finds a not-yet-existing topic's brokers through TBW102's route. Each perm is
/// masked with the broker's `permission` when that is not read-write (Java's `registerBrokerAll`):
/// a read-only broker is routed no sends.
pub fn registered_topics(
    table: &TopicTable,
    auto_create_topic: bool,
    default_queue_nums: i32,
    permission: BrokerPermission,
) -> TopicConfigWrapper {
    let mut topics = table.topic_config_table.clone();
    if auto_create_topic && !topics.contains_key(AUTO_CREATE_TOPIC) {
        let mut t = TopicConfig::new(AUTO_CREATE_TOPIC, default_queue_nums);
        t.perm = PERM_READ | PERM_WRITE | PERM_INHERIT;
        topics.insert(AUTO_CREATE_TOPIC.to_string(), t);
    }
    for t in topics.values_mut() {
        t.perm = permission.registered_perm(t.perm);
    }
    TopicConfigWrapper {
        topic_config_table: topics,
        data_version: (&table.data_version).into(),
    }
}

/// Who this broker is, as every registration names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub cluster: String,
    pub broker_name: String,
    /// brokerIP1:listenPort, what clients connect to.
    pub broker_addr: String,
    pub broker_id: u64,
    /// brokerIP2:haPort, what slaves connect to.
    pub ha_server_addr: String,
}

impl BrokerRegistration {
    /// A REGISTER_BROKER request carrying `topics` (uncompressed body, its CRC in the header).
    pub fn register_request(&self, topics: &TopicConfigWrapper) -> RemotingCommand {
        let body = RegisterBrokerBody {
            topic_config_serialize_wrapper: topics.clone(),
            filter_server_list: Vec::new(),
        };
        let body = serde_json::to_vec(&body).expect("plain data serializes");
        RemotingCommand::request(request_code::REGISTER_BROKER, 0)
            .with_ext("brokerName", &self.broker_name)
            .with_ext("brokerAddr", &self.broker_addr)
            .with_ext("clusterName", &self.cluster)
            .with_ext("haServerAddr", &self.ha_server_addr)
            .with_ext("brokerId", self.broker_id)
            .with_ext("enableActingMaster", false)
            .with_ext("compressed", false)
            .with_ext("bodyCrc32", java_crc32(&body))
            .with_body(body.into())
    }

    /// The registration as a name server reads it, without the round trip through bytes (how the
    /// built-in name-server role registers the broker it runs in).
    pub fn as_request(
        &self,
        topics: TopicConfigWrapper,
        heartbeat_timeout_ms: Option<u64>,
    ) -> RegisterBrokerRequest {
        RegisterBrokerRequest {
            cluster: self.cluster.clone(),
            broker_name: self.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            broker_id: self.broker_id,
            ha_server_addr: self.ha_server_addr.clone(),
            heartbeat_timeout_ms,
            enable_acting_master: Some(false),
            topics,
        }
    }

    /// An UNREGISTER_BROKER request (sent at a clean stop).
    pub fn unregister_request(&self) -> RemotingCommand {
        RemotingCommand::request(request_code::UNREGISTER_BROKER, 0)
            .with_ext("brokerName", &self.broker_name)
            .with_ext("brokerAddr", &self.broker_addr)
            .with_ext("clusterName", &self.cluster)
            .with_ext("brokerId", self.broker_id)
    }
}

/// What a successful REGISTER_BROKER answer tells a broker: for a slave whose master is live, the
/// master's address and HA address (`RegisterBrokerResult`); both absent otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterInfo {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
}

impl MasterInfo {
    /// Reads the answer's header (empty values count as absent, as Java's `StringUtils.isEmpty`).
    pub fn from_answer(resp: &RemotingCommand) -> MasterInfo {
        let field = |k: &str| resp.ext(k).filter(|v| !v.is_empty()).map(str::to_string);
        MasterInfo {
            master_addr: field("masterAddr"),
            ha_server_addr: field("haServerAddr"),
        }
    }
}

/// A REGISTER_BROKER request as the name server reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterBrokerRequest {
    pub cluster: String,
    pub broker_name: String,
    pub broker_addr: String,
    pub broker_id: u64,
    pub ha_server_addr: String,
    /// `heartbeatTimeoutMillis`; absent = the name server's default (120 s).
    pub heartbeat_timeout_ms: Option<u64>,
    /// `enableActingMaster`; absent means a pre-5.0 broker.
    pub enable_acting_master: Option<bool>,
    pub topics: TopicConfigWrapper,
}

/// An UNREGISTER_BROKER request as the name server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnregisterBrokerRequest {
    pub cluster: String,
    pub broker_name: String,
    pub broker_addr: String,
    pub broker_id: u64,
}

fn required<'a>(cmd: &'a RemotingCommand, key: &str) -> Result<&'a str, ClusterError> {
    cmd.ext(key)
        .ok_or_else(|| ClusterError::Header(format!("the custom field <{key}> is null")))
}

fn required_id(cmd: &RemotingCommand) -> Result<u64, ClusterError> {
    let raw = required(cmd, "brokerId")?;
    java_parse_long(raw)
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| {
            ClusterError::Header(format!(
                "the custom field <brokerId> is not a broker id: {raw:?}"
            ))
        })
}

/// Parses a REGISTER_BROKER request: header, CRC check (when `bodyCrc32` is not 0, over the body
/// as sent, compressed or not), body (a `RegisterBrokerBody`, JSON or, with `compressed=true` or
/// a zlib header, the compressed form of [`compressed_register`]; or a bare wrapper from a
/// pre-3.0.11 broker; no body = no topics, version 0).
pub fn parse_register_request(
    cmd: &RemotingCommand,
) -> Result<RegisterBrokerRequest, ClusterError> {
    let crc = cmd.ext("bodyCrc32").and_then(java_parse_long).unwrap_or(0);
    if crc != 0 && crc != i64::from(java_crc32(&cmd.body)) {
        return Err(ClusterError::Crc);
    }
    // A 5.x Java broker labels its compressed body `compressed=false` (module doc of
    // `compressed_register`), which Java's name server then fails to read; actormq's reads it.
    let compressed = cmd.ext("compressed").is_some_and(java_parse_boolean)
        || compressed_register::is_zlib(&cmd.body);
    let topics = if cmd.body.is_empty() {
        TopicConfigWrapper::default()
    } else if compressed && cmd.version >= V3_0_11 {
        // Before V3_0_11 Java reads the bare wrapper whatever `compressed` says.
        compressed_register::decode(&cmd.body, cmd.version)
            .map_err(|e| ClusterError::Body(e.to_string()))?
    } else {
        // fastjson writes integer map keys bare (a 5.x body's static-topic mappings).
        let text = std::str::from_utf8(&cmd.body).map_err(|e| ClusterError::Body(e.to_string()))?;
        let text = quote_bare_keys(text);
        let body = if cmd.version >= V3_0_11 {
            serde_json::from_str::<RegisterBrokerBody>(&text)
                .map(|b| b.topic_config_serialize_wrapper)
        } else {
            serde_json::from_str(&text)
        };
        body.map_err(|e| ClusterError::Body(e.to_string()))?
    };
    Ok(RegisterBrokerRequest {
        cluster: required(cmd, "clusterName")?.to_string(),
        broker_name: required(cmd, "brokerName")?.to_string(),
        broker_addr: required(cmd, "brokerAddr")?.to_string(),
        broker_id: required_id(cmd)?,
        ha_server_addr: required(cmd, "haServerAddr")?.to_string(),
        heartbeat_timeout_ms: cmd
            .ext("heartbeatTimeoutMillis")
            .and_then(java_parse_long)
            .and_then(|v| u64::try_from(v).ok()),
        enable_acting_master: cmd.ext("enableActingMaster").map(java_parse_boolean),
        topics,
    })
}

/// Parses an UNREGISTER_BROKER request's header.
pub fn parse_unregister_request(
    cmd: &RemotingCommand,
) -> Result<UnregisterBrokerRequest, ClusterError> {
    Ok(UnregisterBrokerRequest {
        cluster: required(cmd, "clusterName")?.to_string(),
        broker_name: required(cmd, "brokerName")?.to_string(),
        broker_addr: required(cmd, "brokerAddr")?.to_string(),
        broker_id: required_id(cmd)?,
    })
}

#[cfg(test)]
mod tests;
