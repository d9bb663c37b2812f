//! Whether the store may take new messages: the disk-space state machine (RocketMQ's
//! `RunningFlags` disk-full bit, set and cleared by `CleanCommitLogService.isSpaceToDelete`).
//!
//! Two things make the store **full**: the file system holding it is at or above the high-water
//! mark (`store.disk_max_used_ratio_percent`, Java's `diskSpaceWarningLevelRatio`, 90 %), or an
//! allocation failed for lack of space (`ENOSPC`/`EDQUOT`) whatever the ratio said. It becomes
//! **writable** again by itself, with hysteresis so that it does not flap around one threshold:
//! a ratio-full store once the ratio falls below `store.disk_resume_used_ratio_percent` (Java marks
//! the disk OK again only below `diskSpaceCleanForciblyRatio`, 85 %); an out-of-space store once
//! the ratio is below the high-water mark and the space available is at least what the failed
//! allocation asked for (a commit-log file, say), so that the next roll does not fail at once.
//!
//! Pure and synchronous: the `Retention` actor measures ([`DiskUsage::measure`], one `statvfs`)
//! and the `CommitLogWriter` owns the state, so the send path's check is one field read
//! ([`DiskSpace::writable`]). Each transition is returned once ([`Change`]), for one log line.

use std::path::Path;

/// What `statvfs` says about the file system holding the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    /// Size of the file system in bytes.
    pub total: u64,
    /// Bytes not in use (blocks reserved for root count as free, as Java's `File.getFreeSpace`).
    pub free: u64,
    /// Bytes an unprivileged process may still allocate (`f_bavail`).
    pub available: u64,
}

impl DiskUsage {
    /// Measures the file system holding `path` (one `statvfs`).
    pub fn measure(path: &Path) -> std::io::Result<DiskUsage> {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        // SAFETY: `c_path` is a valid NUL-terminated string.
        DiskUsage::from_call(|stat| unsafe { libc::statvfs(c_path.as_ptr(), stat) })
    }

    /// Measures the file system holding the open `file` (one `fstatvfs`).
    pub fn of_file(file: &std::fs::File) -> std::io::Result<DiskUsage> {
        use std::os::unix::io::AsRawFd;
        // SAFETY: a valid, open descriptor owned by `file`.
        DiskUsage::from_call(|stat| unsafe { libc::fstatvfs(file.as_raw_fd(), stat) })
    }

    /// Runs `call` (`statvfs` or `fstatvfs`) on a zeroed struct and converts what it filled in.
    fn from_call(
        call: impl FnOnce(*mut libc::statvfs) -> libc::c_int,
    ) -> std::io::Result<DiskUsage> {
        // SAFETY: `statvfs` is a plain C struct of integers, valid when zeroed; the calls fill it
        // completely on success, and it is only read after checking for that.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        if call(&mut stat) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(DiskUsage::from_statvfs(&stat))
    }

    // The fields are `c_ulong` / `fsblkcnt_t`: `u64` here, narrower on other targets.
    #[allow(clippy::unnecessary_cast)]
    fn from_statvfs(stat: &libc::statvfs) -> DiskUsage {
        let unit = stat.f_frsize as u64;
        DiskUsage {
            total: (stat.f_blocks as u64).saturating_mul(unit),
            free: (stat.f_bfree as u64).saturating_mul(unit),
            available: (stat.f_bavail as u64).saturating_mul(unit),
        }
    }

    /// Percent of the file system in use (0 for a file system reporting no size).
    pub fn used_percent(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        self.total.saturating_sub(self.free) as f64 / self.total as f64 * 100.0
    }
}

/// Why the store is full.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FullBecause {
    /// The used ratio reached the high-water mark (percent used when it did).
    Ratio(f64),
    /// An allocation of `needed` bytes failed for lack of space.
    OutOfSpace { needed: u64 },
}

/// The store's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DiskState {
    Writable,
    Full(FullBecause),
}

/// A transition, reported once for one log line and the metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    BecameFull(FullBecause),
    /// Writable again; the used percent at that moment.
    BecameWritable(f64),
}

/// The thresholds, in percent used of the file system.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At or above: full (`store.disk_max_used_ratio_percent`).
    pub max_used_percent: f64,
    /// A ratio-full store is writable again below this (`store.disk_resume_used_ratio_percent`).
    pub resume_used_percent: f64,
}

/// The state machine (see the module comment).
#[derive(Debug, Clone)]
pub struct DiskSpace {
    thresholds: Thresholds,
    state: DiskState,
    /// The last measured percent used (for the metrics and the send refusal's remark).
    used_percent: f64,
}

impl DiskSpace {
    /// Writable until told otherwise.
    pub fn new(thresholds: Thresholds) -> DiskSpace {
        DiskSpace {
            thresholds,
            state: DiskState::Writable,
            used_percent: 0.0,
        }
    }

    /// The send path's check: one field read.
    #[inline]
    pub fn writable(&self) -> bool {
        matches!(self.state, DiskState::Writable)
    }

    pub fn state(&self) -> DiskState {
        self.state
    }

    /// The last measured percent used.
    pub fn used_percent(&self) -> f64 {
        self.used_percent
    }

    /// A new measurement: may make the store full (high-water mark) or writable again.
    pub fn observe(&mut self, usage: DiskUsage) -> Option<Change> {
        let used = usage.used_percent();
        self.used_percent = used;
        let t = self.thresholds;
        match self.state {
            DiskState::Writable if used >= t.max_used_percent => {
                self.full(FullBecause::Ratio(used))
            }
            DiskState::Writable => None,
            DiskState::Full(FullBecause::Ratio(_)) if used < t.resume_used_percent => {
                self.writable_again()
            }
            DiskState::Full(FullBecause::Ratio(_)) => None,
            DiskState::Full(FullBecause::OutOfSpace { needed }) => {
                if used >= t.max_used_percent {
                    // Still full, now for the ratio: no transition to report.
                    self.state = DiskState::Full(FullBecause::Ratio(used));
                    None
                } else if usage.available >= needed {
                    self.writable_again()
                } else {
                    None
                }
            }
        }
    }

    /// An allocation of `needed` bytes failed for lack of space: full until that much is
    /// available again (the largest such allocation counts).
    pub fn out_of_space(&mut self, needed: u64) -> Option<Change> {
        match self.state {
            DiskState::Writable => self.full(FullBecause::OutOfSpace { needed }),
            DiskState::Full(FullBecause::OutOfSpace { needed: before }) => {
                self.state = DiskState::Full(FullBecause::OutOfSpace {
                    needed: needed.max(before),
                });
                None
            }
            // Ratio-full resumes below the resume mark; a failed allocation on top of that
            // must also see its space back.
            DiskState::Full(FullBecause::Ratio(_)) => {
                self.state = DiskState::Full(FullBecause::OutOfSpace { needed });
                None
            }
        }
    }

    fn full(&mut self, why: FullBecause) -> Option<Change> {
        self.state = DiskState::Full(why);
        Some(Change::BecameFull(why))
    }

    fn writable_again(&mut self) -> Option<Change> {
        self.state = DiskState::Writable;
        Some(Change::BecameWritable(self.used_percent))
    }
}

#[cfg(test)]
mod tests;
