//! Cluster membership, the pure part: what a broker registers with its name servers and how it reads
//! the answers ([`register`]), the name server's table of many brokers ([`route_table`]), and which
//! address a broker advertises ([`advertise`]). `docs/cluster.md` is the operator's view.
//!
//! The actors that drive this (`Registrar` on the broker side, `NameServer` on the name-server side)
//! only route messages; every format and every rule of RocketMQ's `BrokerOuterAPI` /
//! `RouteInfoManager` (`rocketmq-reference-2.md` §8) lives here, unit-tested.

pub mod advertise;
pub mod register;
pub mod route_table;

pub use register::MasterInfo;

/// `MixAll.MASTER_ID`: the broker id of a group's master.
pub const MASTER_ID: u64 = 0;

/// Why a registration request or answer could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClusterError {
    /// A header field Java marks `@CFNotNull` is missing or not a number.
    #[error("{0}")]
    Header(String),
    /// `bodyCrc32` is set and does not match the body (Java: SYSTEM_ERROR "crc32 not match").
    #[error("crc32 not match")]
    Crc,
    /// The body is not a `RegisterBrokerBody` (or a compressed one, which actormq does not read).
    #[error("Failed to decode RegisterBrokerBody: {0}")]
    Body(String),
}
