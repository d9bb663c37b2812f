//! `Retention`: deletes old commit-log files (RocketMQ's `CleanCommitLogService`), and owns the
//! store's disk-full state (`store::disk_space::DiskSpace`, the `RunningFlags` disk bit Java's
//! `CleanCommitLogService` sets and clears).
//!
//! Every `store.disk_check_interval_ms` (and right after deleting files) it measures the disk (one
//! `statvfs`, off the writer's thread); `OutOfSpace` tells it of an allocation that failed for lack
//! of space (from the writer, the dispatcher's consume queues, the send processor's topic table).
//! A change of state is logged once (warn when full, info when writable again), shown in the
//! metrics (`disk_used_ratio`, `store_writable`) and sent to the writer (`SetWritable`): only
//! changes (and, while full, a changed usage for the refusals' remark), so a writable store's writer
//! mailbox carries appends and nothing periodic. That is how a full store notices space coming back
//! by itself.
//!
//! Every `check_interval_ms` it looks at the commit-log directory (each file's mtime) and at how
//! full the store's disk is, and lets `store::retention::files_to_delete` decide; an admin's
//! [`DeleteExpiredManually`] (329) lets the next checks delete expired files at any hour. The
//! writer owns the file table, so the retention actor only asks: `DeleteFilesBefore` makes the
//! writer drop those files from its table (never the one being written) and publish the shorter
//! table — the dispatcher then moves every consume queue's minimum past them — and hand the files
//! back. The unlinking happens here, on this actor's own thread: deleting a 1 GiB file can take a
//! while on some file systems, and neither the writer nor the network may wait for it. Readers that
//! still hold a file (an answer being sent) keep its mapping until they drop it.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use tracing::{error, info, warn};

use super::commit_log_writer::{CommitLogWriter, DeleteFilesBefore, SetWritable};
use super::mailbox::{timer_tick, Mailbox};
use super::metrics::stats;
use actormq::config::RetentionConfig;
use actormq::store::disk_space::{Change, DiskSpace, DiskUsage, FullBecause, Thresholds};
use actormq::store::paths;
use actormq::store::retention::{
    disk_used_percent, files_to_delete, local_hour, FileFacts, MANUAL_DELETE_CHECKS,
};

pub struct Retention {
    root: PathBuf,
    file_size: u64,
    config: RetentionConfig,
    /// Set once the writer exists (`StoreWriter`): it is started after this actor, whose
    /// address it needs for `OutOfSpace`.
    writer: Option<Mailbox<CommitLogWriter>>,
    /// Whether the store takes new messages.
    disk: DiskSpace,
    /// The percent used (hundredths) the writer was last told, for its refusals' remark.
    told_hundredths: u32,
    /// How often the disk is measured.
    disk_check_every: Duration,
    /// The last measurement failed (logged once until one succeeds again).
    measure_failed: bool,
    /// A deletion is under way (the writer has not answered yet): skip checks meanwhile.
    busy: bool,
    /// Checks an admin's `DELETE_EXPIRED_COMMITLOG` still counts for ([`DeleteExpiredManually`]).
    manual_checks_left: u32,
}

impl Retention {
    pub fn new(
        root: PathBuf,
        file_size: u64,
        config: RetentionConfig,
        disk: Thresholds,
        disk_check_every: Duration,
    ) -> Self {
        Retention {
            root,
            file_size,
            config,
            writer: None,
            disk: DiskSpace::new(disk),
            told_hundredths: 0,
            disk_check_every,
            measure_failed: false,
            busy: false,
            manual_checks_left: 0,
        }
    }

    /// Measures the disk and feeds the state machine.
    fn measure_disk(&mut self) {
        match DiskUsage::measure(&self.root) {
            Ok(usage) => {
                self.measure_failed = false;
                let change = self.disk.observe(usage);
                self.disk_changed(change);
            }
            Err(e) if !self.measure_failed => {
                self.measure_failed = true;
                warn!(error = %e, root = %self.root.display(), "cannot measure the store's disk");
            }
            Err(_) => {}
        }
    }

    /// Shows the disk in the metrics; a change of state is logged (once) and sent to the writer.
    fn disk_changed(&mut self, change: Option<Change>) {
        let used = self.disk.used_percent();
        let used_hundredths = (used * 100.0) as u32;
        stats()
            .disk_used_hundredths
            .store(u64::from(used_hundredths), Ordering::Relaxed);
        let Some(change) = change else {
            // While full, the refusals' remark follows the usage (a change of a hundredth).
            if !self.disk.writable() && used_hundredths != self.told_hundredths {
                self.tell_writer(used_hundredths);
            }
            return;
        };
        let writable = self.disk.writable();
        stats()
            .store_writable
            .store(u64::from(writable), Ordering::Relaxed);
        match change {
            Change::BecameFull(FullBecause::Ratio(used)) => warn!(
                disk_used_percent = format!("{used:.2}"),
                "disk full: used ratio at or above store.disk_max_used_ratio_percent; \
                 sends are refused until space returns"
            ),
            Change::BecameFull(FullBecause::OutOfSpace { needed }) => warn!(
                needed_bytes = needed,
                disk_used_percent = format!("{used:.2}"),
                "disk full: no space for a store file (ENOSPC); sends are refused until space \
                 returns"
            ),
            Change::BecameWritable(used) => info!(
                disk_used_percent = format!("{used:.2}"),
                "disk space OK again; sends are accepted"
            ),
        }
        self.tell_writer(used_hundredths);
    }

    /// A control message, rare (state changes, and usage changes while full): `do_send`, never
    /// dropped.
    fn tell_writer(&mut self, used_hundredths: u32) {
        self.told_hundredths = used_hundredths;
        if let Some(writer) = &self.writer {
            let writable = self.disk.writable();
            writer.do_send(SetWritable {
                writable,
                used_hundredths,
            });
        }
    }

    /// Decides, and if files are to go asks the writer for them and unlinks what it hands back.
    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        let Some(writer) = self.writer.clone() else {
            return;
        };
        let dir = paths::commitlog_dir(&self.root);
        let files = match list_with_mtime(&dir) {
            Ok(files) => files,
            Err(e) => {
                warn!(error = %e, dir = %dir.display(), "retention: cannot list the commit log");
                return;
            }
        };
        let used = match disk_used_percent(&self.root) {
            Ok(used) => used,
            Err(e) => {
                warn!(error = %e, "retention: cannot read the disk usage; assuming 0%");
                0.0
            }
        };
        let now = SystemTime::now();
        // As Java's `manualDeleteFileSeveralTimes`: each check spends one, whatever it finds.
        let manual = self.manual_checks_left > 0;
        self.manual_checks_left = self.manual_checks_left.saturating_sub(1);
        if manual && self.manual_checks_left == 0 {
            info!("retention: the manual deletion's checks are spent; back to delete_when");
        }
        let hour = local_hour(now);
        let (count, trigger) = files_to_delete(&files, now, hour, manual, used, &self.config);
        let Some(trigger) = trigger else {
            return;
        };
        let before = files[count - 1].start_offset + self.file_size;
        self.busy = true;
        writer
            .send(DeleteFilesBefore(before))
            .into_actor(self)
            .map(move |removed, act, _ctx| {
                act.busy = false;
                let Ok(removed) = removed else { return };
                let deleted = !removed.is_empty();
                for file in removed {
                    let path = file.path().to_path_buf();
                    drop(file);
                    match std::fs::remove_file(&path) {
                        Ok(()) => info!(
                            file = %path.display(),
                            ?trigger,
                            disk_used_percent = format!("{used:.1}"),
                            "retention: deleted commit-log file"
                        ),
                        Err(e) => error!(
                            file = %path.display(),
                            error = %e,
                            "retention: deleting commit-log file failed"
                        ),
                    }
                }
                if deleted {
                    // Space came back: a full store need not wait for the next measurement.
                    act.measure_disk();
                }
            })
            .spawn(ctx);
    }
}

/// The commit-log files in `dir`, oldest first, with their mtimes.
fn list_with_mtime(dir: &std::path::Path) -> std::io::Result<Vec<FileFacts>> {
    let listed = paths::list_files(dir).map_err(std::io::Error::other)?;
    let mut files = Vec::with_capacity(listed.len());
    for (start_offset, path) in listed {
        let modified = std::fs::metadata(&path)?.modified()?;
        files.push(FileFacts {
            start_offset,
            modified,
        });
    }
    Ok(files)
}

impl Actor for Retention {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let every = Duration::from_millis(self.config.check_interval_ms);
        ctx.run_interval(every, |act, ctx| {
            let _tick = timer_tick::<Retention>();
            act.check(ctx)
        });
        self.measure_disk();
        ctx.run_interval(self.disk_check_every, |act, _ctx| {
            let _tick = timer_tick::<Retention>();
            act.measure_disk()
        });
    }
}

/// Start-up: the writer, once started (it needs this actor's address first). If the disk is
/// already full, the writer is told at once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StoreWriter(pub Mailbox<CommitLogWriter>);

impl Handler<StoreWriter> for Retention {
    type Result = ();

    fn handle(&mut self, StoreWriter(writer): StoreWriter, _ctx: &mut Context<Self>) {
        let _timer = stats().retention.handling();
        self.writer = Some(writer);
        if !self.disk.writable() {
            self.tell_writer((self.disk.used_percent() * 100.0) as u32);
        }
    }
}

/// An allocation of `needed` bytes failed for lack of space (a commit-log or consume-queue file,
/// the topic table): the store is full until that much is available again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct OutOfSpace {
    pub needed: u64,
}

impl Handler<OutOfSpace> for Retention {
    type Result = ();

    fn handle(&mut self, msg: OutOfSpace, _ctx: &mut Context<Self>) {
        let _timer = stats().retention.handling();
        let change = self.disk.out_of_space(msg.needed);
        self.disk_changed(change);
    }
}

/// `DELETE_EXPIRED_COMMITLOG` (329, `mqadmin deleteExpiredCommitLog`, from the
/// `AdminProcessor`): for the next [`MANUAL_DELETE_CHECKS`] checks, expired files are deleted
/// whatever the hour (Java's `executeDeleteFilesManually`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DeleteExpiredManually;

impl Handler<DeleteExpiredManually> for Retention {
    type Result = ();

    fn handle(&mut self, _: DeleteExpiredManually, _ctx: &mut Context<Self>) {
        let _timer = stats().retention.handling();
        info!(
            checks = MANUAL_DELETE_CHECKS,
            "retention: expired commit-log files are deleted at any hour for the next checks \
             (deleteExpiredCommitLog)"
        );
        self.manual_checks_left = MANUAL_DELETE_CHECKS;
    }
}
