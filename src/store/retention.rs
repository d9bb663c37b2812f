//! Which commit-log files to delete (RocketMQ's `CleanCommitLogService.deleteExpiredFiles`), as a
//! pure function of what the files and the disk look like, so the policy is testable without a
//! clock or a full disk. The `Retention` actor gathers the facts and the `CommitLogWriter` deletes.
//!
//! A check deletes anything only when it is the hour (`delete_when`), an admin asked for it
//! (`DELETE_EXPIRED_COMMITLOG`, `mqadmin deleteExpiredCommitLog`: Java's manual deletion, which
//! counts for the next [`MANUAL_DELETE_CHECKS`] checks), the disk is fuller than
//! `disk_max_used_percent`, or fuller than `disk_clean_forcibly_percent`. Then it walks the files
//! oldest first and deletes while each is expired (last written more than `file_reserved_hours`
//! ago) — or, above the forcible ratio, regardless of age — stopping at the first file it keeps and
//! after `max_files_per_check`. The newest file is never a candidate: it is the one being written.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::RetentionConfig;

/// One commit-log file as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts {
    pub start_offset: u64,
    /// When it was last written (its mtime).
    pub modified: SystemTime,
}

/// Why files are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The configured hour came.
    Hour,
    /// An admin asked (`DELETE_EXPIRED_COMMITLOG`): expired files go at any hour.
    Manual,
    /// The disk is at or above `disk_max_used_percent`.
    DiskFull,
    /// The disk is at or above `disk_clean_forcibly_percent`: age does not matter.
    DiskCritical,
}

/// How many checks a `DELETE_EXPIRED_COMMITLOG` counts for (Java's
/// `MAX_MANUAL_DELETE_FILE_TIMES`; one check every `check_interval_ms`, 10 s by default).
pub const MANUAL_DELETE_CHECKS: u32 = 20;

/// How many of `files` (oldest first) to delete now, and why; `(0, None)` when nothing goes.
/// `hour` is the hour of the day `delete_when` is matched against ([`local_hour`] of `now`);
/// `manual` says an admin's deletion still counts for this check.
pub fn files_to_delete(
    files: &[FileFacts],
    now: SystemTime,
    hour: usize,
    manual: bool,
    disk_used_percent: f64,
    config: &RetentionConfig,
) -> (usize, Option<Trigger>) {
    let hours = config.delete_hours().unwrap_or([false; 24]);
    let trigger = if disk_used_percent >= f64::from(config.disk_clean_forcibly_percent) {
        Trigger::DiskCritical
    } else if disk_used_percent >= f64::from(config.disk_max_used_percent) {
        Trigger::DiskFull
    } else if hours.get(hour).copied().unwrap_or(false) {
        Trigger::Hour
    } else if manual {
        Trigger::Manual
    } else {
        return (0, None);
    };
    let reserved = Duration::from_secs(config.file_reserved_hours.saturating_mul(3600));
    let expired = |f: &FileFacts| {
        now.duration_since(f.modified)
            .is_ok_and(|age| age >= reserved)
    };
    let candidates = &files[..files.len().saturating_sub(1)];
    let n = candidates
        .iter()
        .take(config.max_files_per_check)
        .take_while(|f| trigger == Trigger::DiskCritical || expired(f))
        .count();
    (n, (n > 0).then_some(trigger))
}

/// The hour of the day at `t` in the machine's local time zone, as RocketMQ matches `deleteWhen`
/// (`localtime_r`, which honours `TZ`); UTC if the conversion fails.
pub fn local_hour(t: SystemTime) -> usize {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let utc = ((secs / 3600) % 24) as usize;
    super::paths::local_tm(i64::try_from(secs).unwrap_or(i64::MAX))
        .and_then(|tm| usize::try_from(tm.tm_hour).ok())
        .filter(|h| *h < 24)
        .unwrap_or(utc)
}

/// Percent of the file system holding `path` that is in use (RocketMQ counts blocks reserved for
/// root as free, as `File.getFreeSpace` does).
pub fn disk_used_percent(path: &Path) -> std::io::Result<f64> {
    super::disk_space::DiskUsage::measure(path).map(|u| u.used_percent())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// 04:30 UTC on some day.
    fn at_four_thirty() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400) + HOUR * 4 + HOUR / 2
    }

    fn files(now: SystemTime, ages_hours: &[u64]) -> Vec<FileFacts> {
        ages_hours
            .iter()
            .enumerate()
            .map(|(i, age)| FileFacts {
                start_offset: i as u64 * 1024,
                modified: now - HOUR * *age as u32,
            })
            .collect()
    }

    #[test]
    fn at_the_hour_expired_files_go_oldest_first_until_a_fresh_one() {
        let now = at_four_thirty();
        let config = RetentionConfig::default(); // 72 h, at 04
        let f = files(now, &[100, 80, 10, 90, 75]);
        assert_eq!(
            files_to_delete(&f, now, 4, false, 10.0, &config),
            (2, Some(Trigger::Hour))
        );
        let outside_the_hour = now + HOUR;
        assert_eq!(
            files_to_delete(&f, outside_the_hour, 5, false, 10.0, &config),
            (0, None)
        );
    }

    #[test]
    fn a_full_disk_deletes_expired_files_at_any_hour_and_a_critical_one_any_file() {
        let now = at_four_thirty() + HOUR * 5;
        let config = RetentionConfig::default();
        let f = files(now, &[100, 10, 5, 1]);
        assert_eq!(
            files_to_delete(&f, now, 9, false, 80.0, &config),
            (1, Some(Trigger::DiskFull))
        );
        assert_eq!(
            files_to_delete(&f, now, 9, false, 90.0, &config),
            (3, Some(Trigger::DiskCritical)),
            "never the newest file"
        );
    }

    #[test]
    fn at_most_max_files_per_check_and_never_the_only_file() {
        let now = at_four_thirty();
        let config = RetentionConfig {
            max_files_per_check: 2,
            ..RetentionConfig::default()
        };
        let f = files(now, &[100, 100, 100, 100]);
        assert_eq!(files_to_delete(&f, now, 4, false, 10.0, &config).0, 2);
        assert_eq!(
            files_to_delete(&f[..1], now, 4, false, 99.0, &config),
            (0, None)
        );
        assert_eq!(
            files_to_delete(&[], now, 4, false, 99.0, &config),
            (0, None)
        );
    }

    /// The local hour is an hour of the day and moves with the clock (the test instant, early
    /// October 2024, is far from any daylight-saving change).
    #[test]
    fn local_hour_is_an_hour_of_the_day() {
        let t = at_four_thirty();
        let h = local_hour(t);
        assert!(h < 24);
        assert_eq!(local_hour(t + HOUR), (h + 1) % 24);
    }

    /// An admin's deletion takes expired files at any hour, and only expired ones.
    #[test]
    fn a_manual_deletion_takes_expired_files_at_any_hour() {
        let now = at_four_thirty() + HOUR * 3;
        let config = RetentionConfig::default();
        let f = files(now, &[100, 80, 10, 1]);
        assert_eq!(files_to_delete(&f, now, 7, false, 10.0, &config), (0, None));
        assert_eq!(
            files_to_delete(&f, now, 7, true, 10.0, &config),
            (2, Some(Trigger::Manual))
        );
        let fresh = files(now, &[10, 1]);
        assert_eq!(
            files_to_delete(&fresh, now, 7, true, 10.0, &config),
            (0, None)
        );
        assert_eq!(
            files_to_delete(&f, now, 7, true, 80.0, &config),
            (2, Some(Trigger::DiskFull)),
            "a full disk names itself"
        );
    }

    #[test]
    fn star_means_every_hour() {
        let config = RetentionConfig {
            delete_when: "*".into(),
            ..RetentionConfig::default()
        };
        let now = at_four_thirty() + HOUR * 7;
        let f = files(now, &[100, 1]);
        assert_eq!(
            files_to_delete(&f, now, 11, false, 1.0, &config),
            (1, Some(Trigger::Hour))
        );
    }

    #[test]
    fn disk_usage_of_a_real_path_is_a_percentage() {
        let used = disk_used_percent(Path::new(".")).unwrap();
        assert!((0.0..=100.0).contains(&used), "{used}");
    }
}
