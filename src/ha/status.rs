//! `GET_BROKER_HA_STATUS` (907)'s body: RocketMQ's `HARuntimeInfo`, as Java 5.3.3's
//! `DefaultHAService.getRuntimeInfo` builds it, from plain figures the `HaServer` (a master) or
//! the `HaClient` (a slave) hands over.
//!
//! Java serializes with fastjson: fields sorted by name, null fields left out, only fields with a
//! getter. So the structs below declare their fields in name order, a slave without a master
//! address has no `masterAddr`, and `HAClientRuntimeInfo.isActivated` (a field without a getter in
//! 5.3.3) never appears. A master answers a default `haClientRuntimeInfo` (zeros, no
//! `masterAddr`); a slave an empty `haConnectionInfo`, `masterCommitLogMaxOffset` 0 and
//! `inSyncSlaveNums` 0.
//!
//! `inSync` is Java's `isInSyncSlave`: the slave's ack is less than
//! [`MAX_GAP_NOT_IN_SYNC`] (`haMaxGapNotInSync`) behind the master's log end, the same threshold
//! SYNC_MASTER uses.

use serde::{Deserialize, Serialize};

use super::sync::MAX_GAP_NOT_IN_SYNC;

/// One slave connection as the master sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveFigures {
    /// The slave's address as the master's socket sees it (`ip:port`).
    pub addr: String,
    /// The slave's latest report; `None` before its first (Java: -1).
    pub acked: Option<u64>,
    /// Where the next transfer to it starts; `None` before its first report (Java: -1).
    pub transfer_from: Option<u64>,
}

/// A slave's link to its master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFigures {
    /// The master's HA address, if known.
    pub master_addr: Option<String>,
    /// The slave's own commit-log end.
    pub max_offset: u64,
    /// Milliseconds since the epoch of the last read from the master (Java: start time until one).
    pub last_read_ms: i64,
    /// Milliseconds since the epoch of the last report to the master (Java: start time until one).
    pub last_write_ms: i64,
}

/// `HARuntimeInfo`, fields in fastjson's (name) order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HaRuntimeInfo {
    pub ha_client_runtime_info: HaClientRuntimeInfo,
    pub ha_connection_info: Vec<HaConnectionRuntimeInfo>,
    pub in_sync_slave_nums: i32,
    pub master: bool,
    pub master_commit_log_max_offset: i64,
}

/// `HARuntimeInfo.HAConnectionRuntimeInfo`, fields in name order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HaConnectionRuntimeInfo {
    pub addr: String,
    /// `masterCommitLogMaxOffset - slaveAckOffset` (negative for a slave ahead, as Java).
    pub diff: i64,
    pub in_sync: bool,
    pub slave_ack_offset: i64,
    pub transfer_from_where: i64,
    /// Always 0: actormq keeps no per-connection transfer rate (Java's `FlowMonitor`); counting
    /// would add work on the send path.
    pub transferred_byte_in_second: i64,
}

/// `HARuntimeInfo.HAClientRuntimeInfo`, fields in name order (no `isActivated`: no getter in Java).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HaClientRuntimeInfo {
    pub last_read_timestamp: i64,
    pub last_write_timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_addr: Option<String>,
    /// Always 0: Java's checkpoint field is only written in controller mode, which actormq has not.
    pub master_flush_offset: i64,
    pub max_offset: i64,
    /// Always 0: actormq keeps no transfer rate (Java's `FlowMonitor`).
    pub transferred_byte_in_second: i64,
}

/// Saturating `u64` → Java `long`.
fn long(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Whether a slave that acknowledged `acked` is in sync with a master log ending at `end`.
pub fn in_sync(end: u64, acked: Option<u64>) -> bool {
    let acked = acked.map_or(-1, long);
    long(end).saturating_sub(acked) < long(MAX_GAP_NOT_IN_SYNC)
}

/// A master's answer: its log ends at `end`, these slaves are connected.
pub fn master(end: u64, slaves: &[SlaveFigures]) -> HaRuntimeInfo {
    let connections: Vec<HaConnectionRuntimeInfo> = slaves
        .iter()
        .map(|s| {
            let ack = s.acked.map_or(-1, long);
            HaConnectionRuntimeInfo {
                addr: s.addr.clone(),
                diff: long(end).saturating_sub(ack),
                in_sync: in_sync(end, s.acked),
                slave_ack_offset: ack,
                transfer_from_where: s.transfer_from.map_or(-1, long),
                transferred_byte_in_second: 0,
            }
        })
        .collect();
    HaRuntimeInfo {
        ha_client_runtime_info: HaClientRuntimeInfo::default(),
        in_sync_slave_nums: connections.iter().filter(|c| c.in_sync).count() as i32,
        ha_connection_info: connections,
        master: true,
        master_commit_log_max_offset: long(end),
    }
}

/// A slave's answer.
pub fn slave(c: &ClientFigures) -> HaRuntimeInfo {
    HaRuntimeInfo {
        ha_client_runtime_info: HaClientRuntimeInfo {
            last_read_timestamp: c.last_read_ms,
            last_write_timestamp: c.last_write_ms,
            master_addr: c.master_addr.clone(),
            master_flush_offset: 0,
            max_offset: long(c.max_offset),
            transferred_byte_in_second: 0,
        },
        ha_connection_info: Vec::new(),
        in_sync_slave_nums: 0,
        master: false,
        master_commit_log_max_offset: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn slave_fig(addr: &str, acked: Option<u64>, from: Option<u64>) -> SlaveFigures {
        SlaveFigures {
            addr: addr.into(),
            acked,
            transfer_from: from,
        }
    }

    #[test]
    fn master_without_slaves_is_javas_json() {
        let body = serde_json::to_string(&master(1234, &[])).unwrap();
        assert_eq!(
            body,
            r#"{"haClientRuntimeInfo":{"lastReadTimestamp":0,"lastWriteTimestamp":0,"masterFlushOffset":0,"maxOffset":0,"transferredByteInSecond":0},"haConnectionInfo":[],"inSyncSlaveNums":0,"master":true,"masterCommitLogMaxOffset":1234}"#
        );
    }

    #[test]
    fn master_with_one_slave_caught_up() {
        let info = master(500, &[slave_fig("127.0.0.1:4000", Some(500), Some(500))]);
        let v = serde_json::to_value(&info).unwrap();
        assert_eq!(
            v["haConnectionInfo"],
            json!([{"addr":"127.0.0.1:4000","diff":0,"inSync":true,"slaveAckOffset":500,
                    "transferFromWhere":500,"transferredByteInSecond":0}])
        );
        assert_eq!(v["inSyncSlaveNums"], 1);
        assert_eq!(v["masterCommitLogMaxOffset"], 500);
        // Field order as fastjson's.
        let text = serde_json::to_string(&info.ha_connection_info[0]).unwrap();
        let keys: Vec<usize> = [
            "addr",
            "diff",
            "inSync",
            "slaveAckOffset",
            "transferFromWhere",
            "transferredByteInSecond",
        ]
        .iter()
        .map(|k| text.find(&format!("\"{k}\"")).unwrap())
        .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn master_with_two_slaves_one_behind_the_gap() {
        let end = MAX_GAP_NOT_IN_SYNC + 100;
        let info = master(
            end,
            &[
                slave_fig("10.0.0.1:1", Some(100), Some(200)),
                slave_fig("10.0.0.2:2", Some(101), Some(101)),
            ],
        );
        assert_eq!(info.in_sync_slave_nums, 1);
        let c = &info.ha_connection_info;
        assert!(!c[0].in_sync, "exactly the gap behind is not in sync");
        assert_eq!(c[0].diff, MAX_GAP_NOT_IN_SYNC as i64);
        assert!(c[1].in_sync);
        assert_eq!(c[1].slave_ack_offset, 101);
    }

    #[test]
    fn slave_before_its_first_report_and_ahead() {
        let info = master(
            10,
            &[
                slave_fig("a:1", None, None),
                slave_fig("b:2", Some(20), Some(20)),
            ],
        );
        let c = &info.ha_connection_info;
        assert_eq!((c[0].slave_ack_offset, c[0].diff), (-1, 11));
        assert_eq!(c[0].transfer_from_where, -1);
        assert!(c[0].in_sync, "Java's rule: 11 bytes behind");
        assert_eq!(c[1].diff, -10);
    }

    #[test]
    fn slave_connected_is_javas_json() {
        let info = slave(&ClientFigures {
            master_addr: Some("127.0.0.1:10912".into()),
            max_offset: 777,
            last_read_ms: 1_700_000_000_001,
            last_write_ms: 1_700_000_000_002,
        });
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"haClientRuntimeInfo":{"lastReadTimestamp":1700000000001,"lastWriteTimestamp":1700000000002,"masterAddr":"127.0.0.1:10912","masterFlushOffset":0,"maxOffset":777,"transferredByteInSecond":0},"haConnectionInfo":[],"inSyncSlaveNums":0,"master":false,"masterCommitLogMaxOffset":0}"#
        );
    }

    #[test]
    fn slave_without_master_address_leaves_it_out() {
        let info = slave(&ClientFigures {
            master_addr: None,
            max_offset: 0,
            last_read_ms: 5,
            last_write_ms: 6,
        });
        let v = serde_json::to_value(&info).unwrap();
        assert!(v["haClientRuntimeInfo"].get("masterAddr").is_none());
        assert_eq!(v["haClientRuntimeInfo"]["maxOffset"], 0);
        assert_eq!(v["master"], false);
    }
}
