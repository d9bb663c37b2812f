//! Cluster membership, the pure part: what a broker registers with its name servers and how it reads
//! the answers ([`register`]; the lighter queries and single-topic announcements of
//! [`broker_requests`]; the compressed body a Java broker may send, [`compressed_register`]), the
//! name server's table of many brokers and what it answers from it ([`route_table`]), its KV
//! config ([`kv_config`]) and its own configuration over the wire ([`namesrv_config`]), and which
//! address a broker advertises ([`advertise`]). `docs/cluster.md` is the operator's view.
//!
//! The actors that drive this (`Registrar` on the broker side, `NameServer` on the name-server side)
//! only route messages; every format and every rule of RocketMQ's `BrokerOuterAPI` /
//! `RouteInfoManager` (`rocketmq-reference-2.md` §8) lives here, unit-tested.

pub mod advertise;
pub mod broker_requests;
pub mod compressed_register;
pub mod kv_config;
pub mod namesrv_config;
pub mod register;
pub mod route_table;

pub use register::MasterInfo;

/// `MixAll.MASTER_ID`: the broker id of a group's master.
pub const MASTER_ID: u64 = 0;

/// How long a broker waits before registering again with a name server that failed `failures`
/// times in a row: 1 s, doubling, never longer than the register interval (Java simply waits for
/// the next 30 s round; retrying sooner shortens the time a restarted name server lacks routes).
pub fn register_backoff(failures: u32, interval: std::time::Duration) -> std::time::Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (std::time::Duration::from_secs(1) * 2u32.pow(doublings)).min(interval)
}

/// Why a registration request or answer could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClusterError {
    /// A header field Java marks `@CFNotNull` is missing or not a number.
    #[error("{0}")]
    Header(String),
    /// `bodyCrc32` is set and does not match the body (Java: SYSTEM_ERROR "crc32 not match").
    #[error("crc32 not match")]
    Crc,
    /// The body is not a `RegisterBrokerBody`, JSON or compressed ([`compressed_register`]).
    #[error("Failed to decode RegisterBrokerBody: {0}")]
    Body(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let i = Duration::from_secs(30);
        let got: Vec<u64> = (1..=7).map(|f| register_backoff(f, i).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(register_backoff(u32::MAX, i), i);
    }
}
