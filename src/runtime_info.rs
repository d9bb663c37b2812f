//! The store figures of `GET_BROKER_RUNTIME_INFO` (28) that Java's `DefaultMessageStore` and
//! `StoreStatsService` add, in Java's formats. Monitoring tools parse them strictly:
//! rocketmq-exporter's `BrokerRuntimeStats` reads each with `Long.parseLong` /
//! `Double.parseDouble`, `commitLogDirCapacity` and `remainHowManyDataToFlush` by splitting on
//! spaces, so one missing key fails the whole broker's collection.

use crate::protocol::CURRENT_VERSION;
use crate::store::disk_space::DiskUsage;

/// What the runtime-info keys below are computed from.
#[derive(Debug, Clone, Default)]
pub struct StoreFigures {
    /// When the broker started, ms since the epoch (Java's `messageStoreBootTimestamp`).
    pub boot_unix_ms: i64,
    /// The longest commit-log append so far (the writer's longest mailbox turn), seconds.
    pub put_max_secs: f64,
    /// The longest read so far (the dispatcher's longest mailbox turn, which serves every pull
    /// and query read), seconds.
    pub get_max_secs: f64,
    /// Commit-log write, flushed and dispatched offsets.
    pub written: u64,
    pub flushed: u64,
    pub dispatched: u64,
    /// The store's file system (`None`: it could not be measured; Java then leaves the key out).
    pub disk: Option<DiskUsage>,
    /// Fraction of that file system in use (Retention's last measurement).
    pub disk_used_ratio: f64,
}

/// The keys, in Java's formats.
pub fn store_runtime_info(f: &StoreFigures) -> Vec<(&'static str, String)> {
    let ms = |secs: f64| ((secs * 1000.0).round() as u64).to_string();
    let mut out = vec![
        ("bootTimestamp", f.boot_unix_ms.to_string()),
        ("putMessageEntireTimeMax", ms(f.put_max_secs)),
        ("getMessageEntireTimeMax", ms(f.get_max_secs)),
        // Java 5.x declares it and never sets it.
        ("dispatchMaxBuffer", "0".into()),
        (
            "dispatchBehindBytes",
            f.written.saturating_sub(f.dispatched).to_string(),
        ),
        (
            "remainHowManyDataToFlush",
            human_bytes(f.written.saturating_sub(f.flushed)),
        ),
        // No transient store pool: Java answers Integer.MAX_VALUE then.
        ("remainTransientStoreBufferNumbs", i32::MAX.to_string()),
        // Java's `startAcceptSendRequestTimeStamp` setting, 0 by default: sends are taken from
        // the start.
        ("startAcceptSendRequestTimeStamp", "0".into()),
        // The consume queues live under the store root, on the commit log's file system.
        ("consumeQueueDiskRatio", format!("{:?}", f.disk_used_ratio)),
        ("brokerVersion", CURRENT_VERSION.to_string()),
    ];
    if let Some(d) = f.disk {
        let capacity = format!(
            "Total : {}, Free : {}.",
            human_bytes(d.total),
            human_bytes(d.free)
        );
        out.push(("commitLogDirCapacity", capacity));
    }
    out
}

/// Java's `MixAll.humanReadableByteCount(bytes, false)`: `512 B`, `1.5 KiB`, `251.9 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNIT: f64 = 1024.0;
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / UNIT.ln()) as i32;
    let prefix = "KMGTPE".as_bytes()[(exp as usize - 1).min(5)] as char;
    format!("{:.1} {prefix}iB", bytes as f64 / UNIT.powi(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_java_prints_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(270_479_740_928), "251.9 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    /// The parsing rocketmq-exporter does on each key must succeed.
    #[test]
    fn every_key_parses_as_the_exporter_parses_it() {
        let figures = StoreFigures {
            boot_unix_ms: 1_796_677_507_823,
            put_max_secs: 0.0123,
            written: 5000,
            flushed: 1000,
            dispatched: 4000,
            disk: Some(DiskUsage {
                total: 270_479_740_928,
                free: 65_000_000_000,
                available: 60_000_000_000,
            }),
            disk_used_ratio: 0.76,
            ..StoreFigures::default()
        };
        let info: std::collections::HashMap<_, _> =
            store_runtime_info(&figures).into_iter().collect();
        for key in [
            "bootTimestamp",
            "putMessageEntireTimeMax",
            "getMessageEntireTimeMax",
            "dispatchMaxBuffer",
            "dispatchBehindBytes",
            "remainTransientStoreBufferNumbs",
            "startAcceptSendRequestTimeStamp",
            "brokerVersion",
        ] {
            assert!(info[key].parse::<i64>().is_ok(), "{key}: {}", info[key]);
        }
        assert_eq!(info["putMessageEntireTimeMax"], "12");
        assert_eq!(info["dispatchBehindBytes"], "1000");
        assert!(info["consumeQueueDiskRatio"].parse::<f64>().is_ok());
        // `split(" ")`, then the unit's first letter looked up in "KMGTPE".
        let flush: Vec<&str> = info["remainHowManyDataToFlush"].split(' ').collect();
        assert_eq!(flush, ["3.9", "KiB"]);
        // arr[2], arr[3] less its last character, arr[6], arr[7] less its last character.
        let cap: Vec<&str> = info["commitLogDirCapacity"].split(' ').collect();
        assert_eq!(cap[2..4], ["251.9", "GiB,"]);
        assert_eq!(cap[6..8], ["60.5", "GiB."]);
    }
}
