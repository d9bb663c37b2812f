//! Master/slave replication, RocketMQ's classic HA protocol (`rocketmq-reference-2.md` §9,
//! `docs/cluster.md` "Replication"). Pure parts only; the actors `HaServer`, `HaConnection` and
//! `HaClient` drive them.
//!
//! * [`wire`]: the 8-byte slave reports and the 12-byte-header transfers, as tokio-util codecs;
//! * [`master`]: one slave connection on the master: where its stream starts, the next chunk,
//!   heartbeats, its acknowledged offset and lag;
//! * [`pull`]: `suggestWhichBrokerId` in pull responses, and a slave sending consumers to its master;
//! * [`sync`]: SYNC_MASTER's sends waiting for a slave's acknowledgement;
//! * [`slave_sync`]: a slave's metadata sync from its master (topics, offsets, groups);
//! * [`status`]: `GET_BROKER_HA_STATUS`'s `HARuntimeInfo` body from a master's or a slave's figures.
//!
//! The slave's write side is the commit log's own [`append_replicated`](crate::store::commit_log::CommitLog::append_replicated).

pub mod master;
pub mod pull;
pub mod slave_sync;
pub mod status;
pub mod sync;
pub mod wire;

#[cfg(test)]
mod tests;
