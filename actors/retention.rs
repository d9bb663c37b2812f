//! `Retention`: deletes old commit-log files (RocketMQ's `CleanCommitLogService`), and watches how
//! full the store's disk is.
//!
//! Every `store.disk_check_interval_ms` (and right after deleting files) it measures the disk (one
//! `statvfs`) and sends the figures to the writer (`DiskMeasured`), which owns the disk-full state
//! (`store::disk_space`): that is how a full store notices space coming back by itself.
//!
//! Every `check_interval_ms` it looks at the commit-log directory (each file's mtime) and at how
//! full the store's disk is, and lets `store::retention::files_to_delete` decide. The writer owns
//! the file table, so the retention actor only asks: `DeleteFilesBefore` makes the writer drop those
//! files from its table (never the one being written) and publish the shorter table — the
//! dispatcher then moves every consume queue's minimum past them — and hand the files back. The
//! unlinking happens here, on this actor's own thread: deleting a 1 GiB file can take a while on
//! some file systems, and neither the writer nor the network may wait for it. Readers that still
//! hold a file (an answer being sent) keep its mapping until they drop it.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use tracing::{error, info, warn};

use super::commit_log_writer::{CommitLogWriter, DeleteFilesBefore, DiskMeasured};
use super::mailbox::{timer_tick, Mailbox};
use actormq::config::RetentionConfig;
use actormq::store::disk_space::DiskUsage;
use actormq::store::paths;
use actormq::store::retention::{disk_used_percent, files_to_delete, local_hour, FileFacts};

pub struct Retention {
    root: PathBuf,
    file_size: u64,
    config: RetentionConfig,
    writer: Mailbox<CommitLogWriter>,
    /// How often the disk is measured for the writer's disk-full state.
    disk_check_every: Duration,
    /// The last measurement failed (logged once until one succeeds again).
    measure_failed: bool,
    /// A deletion is under way (the writer has not answered yet): skip checks meanwhile.
    busy: bool,
}

impl Retention {
    pub fn new(
        root: PathBuf,
        file_size: u64,
        config: RetentionConfig,
        writer: Mailbox<CommitLogWriter>,
        disk_check_every: Duration,
    ) -> Self {
        Retention {
            root,
            file_size,
            config,
            writer,
            disk_check_every,
            measure_failed: false,
            busy: false,
        }
    }

    /// Measures the disk and tells the writer (a control message: `do_send`, never dropped).
    fn measure_disk(&mut self) {
        match DiskUsage::measure(&self.root) {
            Ok(usage) => {
                self.measure_failed = false;
                self.writer.do_send(DiskMeasured(usage));
            }
            Err(e) if !self.measure_failed => {
                self.measure_failed = true;
                warn!(error = %e, root = %self.root.display(), "cannot measure the store's disk");
            }
            Err(_) => {}
        }
    }

    /// Decides, and if files are to go asks the writer for them and unlinks what it hands back.
    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
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
        let (count, trigger) = files_to_delete(&files, now, local_hour(now), used, &self.config);
        let Some(trigger) = trigger else {
            return;
        };
        let before = files[count - 1].start_offset + self.file_size;
        self.busy = true;
        self.writer
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
