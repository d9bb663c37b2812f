//! The broker's own permission (RocketMQ's `brokerPermission`) and the one runtime configuration
//! change it takes, UPDATE_BROKER_CONFIG (25, `mqadmin updateBrokerConfig`).
//!
//! The permission is how an operator drains a broker without stopping it: read-only (4) makes the
//! name servers route no sends to it (every registered topic's perm is masked with it), refuses
//! sends to its ordered topics and consumers' send-backs, and keeps serving pulls until the
//! backlog is read; write-only (2) or none (0) refuse pulls too. Java applies the same rules in
//! `BrokerController.registerBrokerAll`, `AbstractSendMessageProcessor` and
//! `PullMessageProcessor`.
//!
//! Java's UPDATE_BROKER_CONFIG sets any known field by reflection and answers SUCCESS for the
//! rest; actormq's configuration is its TOML file, so only `brokerPermission` can change while
//! running (written back to the configuration file's `broker.permission`, `crate::config_update`),
//! and a request naming any other key is refused whole, with the keys named, rather than answered
//! SUCCESS and ignored.

use std::fmt;

use serde::Deserialize;

use crate::cluster::namesrv_config::{parse_properties, PropertiesError};
use crate::protocol::header::Quoted;
use crate::topic::{PERM_READ, PERM_WRITE};

/// `PermName` bits: priority 8, read 4, write 2, inherit 1.
const PERM_BITS: i32 = 0b1111;

/// RocketMQ's `brokerPermission`: `PermName` bits for the whole broker. Default: read and write (6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i32")]
pub struct BrokerPermission(i32);

impl Default for BrokerPermission {
    fn default() -> Self {
        BrokerPermission(PERM_READ | PERM_WRITE)
    }
}

impl TryFrom<i32> for BrokerPermission {
    type Error = String;

    /// Any combination of `PermName` bits (0..=15); Java takes any int.
    fn try_from(bits: i32) -> Result<Self, String> {
        if bits & !PERM_BITS != 0 {
            return Err(format!(
                "{bits} is not a permission: PermName bits, 0..=15 (4 read, 2 write; 6 both)"
            ));
        }
        Ok(BrokerPermission(bits))
    }
}

impl fmt::Display for BrokerPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl BrokerPermission {
    pub fn bits(self) -> i32 {
        self.0
    }

    pub fn readable(self) -> bool {
        self.0 & PERM_READ != 0
    }

    pub fn writable(self) -> bool {
        self.0 & PERM_WRITE != 0
    }

    /// A topic's perm as the name servers are told it: masked with the broker's when the broker
    /// is not both readable and writable, as Java's `registerBrokerAll` and
    /// `registerSingleTopicAll` do (so TBW102's 7 becomes 4 on a read-only broker).
    pub fn registered_perm(self, topic_perm: i32) -> i32 {
        if self.readable() && self.writable() {
            topic_perm
        } else {
            topic_perm & self.0
        }
    }
}

/// The key UPDATE_BROKER_CONFIG applies.
pub const BROKER_PERMISSION: &str = "brokerPermission";

/// Keys Java refuses with NO_PERMISSION "Can not update config in black list." (its fixed list plus
/// `BrokerConfig.configBlackList`'s default).
pub const BLACK_LIST: [&str; 3] = ["brokerConfigPath", "configBlackList", "rocketmqHome"];

/// Why an UPDATE_BROKER_CONFIG is refused; nothing of it is applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BrokerConfigUpdateError {
    /// The body is not properties text (Java: SYSTEM_ERROR "string2Properties error").
    #[error("string2Properties error: {0}")]
    Properties(PropertiesError),
    /// Java's remark, exactly (NO_PERMISSION).
    #[error("Can not update config in black list.")]
    BlackList,
    /// Keys actormq cannot change while running (NO_PERMISSION), quoted.
    #[error(
        "Can not update config at runtime: {}; only {BROKER_PERMISSION} can be, the rest is set \
         in the config file and takes a restart",
        .0.join(", ")
    )]
    NotAtRuntime(Vec<String>),
    /// `brokerPermission` is not a permission (SYSTEM_ERROR); the value quoted.
    #[error("{BROKER_PERMISSION}={0}: {1}")]
    BadPermission(String, String),
}

impl BrokerConfigUpdateError {
    /// The response code Java would answer (NO_PERMISSION for what it refuses by policy).
    pub fn response_code(&self) -> i32 {
        use crate::protocol::response_code;
        match self {
            Self::BlackList | Self::NotAtRuntime(_) => response_code::NO_PERMISSION,
            Self::Properties(_) | Self::BadPermission(..) => response_code::SYSTEM_ERROR,
        }
    }
}

/// Reads an UPDATE_BROKER_CONFIG body: the new permission, or `None` when the body names nothing
/// (Java: SUCCESS).
pub fn plan_update(body: &[u8]) -> Result<Option<BrokerPermission>, BrokerConfigUpdateError> {
    let props = parse_properties(body).map_err(BrokerConfigUpdateError::Properties)?;
    if props.iter().any(|(k, _)| BLACK_LIST.contains(&k.as_str())) {
        return Err(BrokerConfigUpdateError::BlackList);
    }
    // Named in the remark: the first 20 distinct keys.
    let mut refused: Vec<String> = Vec::new();
    for (k, _) in &props {
        let named = Quoted(k).to_string();
        if k != BROKER_PERMISSION && !refused.contains(&named) && refused.len() < 20 {
            refused.push(named);
        }
    }
    if !refused.is_empty() {
        return Err(BrokerConfigUpdateError::NotAtRuntime(refused));
    }
    // Later lines win, as in `Properties.load`.
    let Some((_, v)) = props.iter().rev().find(|(k, _)| k == BROKER_PERMISSION) else {
        return Ok(None);
    };
    let bad = |why: String| BrokerConfigUpdateError::BadPermission(Quoted(v).to_string(), why);
    let bits: i32 = v
        .trim()
        .parse()
        .map_err(|_| bad("not a whole number".into()))?;
    BrokerPermission::try_from(bits).map(Some).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(bits: i32) -> BrokerPermission {
        BrokerPermission::try_from(bits).unwrap()
    }

    #[test]
    fn permission_bits() {
        assert_eq!(BrokerPermission::default().bits(), 6);
        assert!(perm(4).readable() && !perm(4).writable());
        assert!(!perm(2).readable() && perm(2).writable());
        assert!(BrokerPermission::try_from(16).is_err());
        assert!(BrokerPermission::try_from(-1).is_err());
    }

    #[test]
    fn registered_perms_are_masked_only_when_the_broker_is_restricted() {
        assert_eq!(perm(6).registered_perm(7), 7);
        assert_eq!(perm(7).registered_perm(6), 6);
        assert_eq!(perm(4).registered_perm(7), 4);
        assert_eq!(perm(4).registered_perm(6), 4);
        assert_eq!(perm(2).registered_perm(6), 2);
        assert_eq!(perm(0).registered_perm(7), 0);
    }

    #[test]
    fn updates_as_mqadmin_sends_them() {
        // `updateBrokerConfig -k brokerPermission -v 4` sends `brokerPermission=4\n`.
        assert_eq!(plan_update(b"brokerPermission=4\n"), Ok(Some(perm(4))));
        assert_eq!(plan_update(b"brokerPermission = 6"), Ok(Some(perm(6))));
        assert_eq!(
            plan_update(b"brokerPermission=2\nbrokerPermission=4"),
            Ok(Some(perm(4)))
        );
        assert_eq!(plan_update(b""), Ok(None));
        assert_eq!(plan_update(b"# nothing\n"), Ok(None));
    }

    #[test]
    fn refusals() {
        let e = plan_update(b"rocketmqHome=/x\nbrokerPermission=4").unwrap_err();
        assert_eq!(e, BrokerConfigUpdateError::BlackList);
        assert_eq!(e.response_code(), 16);
        let e = plan_update(b"flushDiskType=SYNC_FLUSH\nbrokerPermission=4").unwrap_err();
        assert_eq!(e.response_code(), 16);
        assert!(
            e.to_string().starts_with(
                "Can not update config at runtime: \"flushDiskType\"; only brokerPermission"
            ),
            "{e}"
        );
        let e = plan_update(b"brokerPermission=rw").unwrap_err();
        assert_eq!(e.response_code(), 1);
        assert_eq!(e.to_string(), "brokerPermission=\"rw\": not a whole number");
        let e = plan_update(b"brokerPermission=32").unwrap_err();
        assert!(e.to_string().contains("not a permission"), "{e}");
    }
}
