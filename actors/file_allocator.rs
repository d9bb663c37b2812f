//! `FileAllocator`: creates, sizes, maps and (optionally) pre-touches commit-log files ahead of need
//! (RocketMQ's `AllocateMappedFileService`).
//!
//! Owns nothing but the work: each `Allocate` creates one file and answers with it mapped. It runs on
//! a `SyncArbiter` thread of its own because every step blocks (fallocate, mmap, page faults while
//! warming), and the writer must never wait for that. The writer asks for the next file (and the one
//! after) as soon as it starts a file, so a roll normally finds the file ready.
//!
//! A file is prepared under a temporary name (`<name>.allocating`) and hard-linked to its real name
//! only when complete, so the real name never shows a half-made file: if the writer ever has to
//! create a file itself (the allocator fell behind), either it finds the finished file or it creates
//! its own and the allocator's link fails and its copy is discarded — never two owners of one path.

use std::path::{Path, PathBuf};
use std::time::Instant;

use actix::prelude::*;

use super::metrics::stats;
use tracing::{info, warn};

use actormq::store::mapped_file::{FileWriter, MappedFile};
use actormq::store::{paths, StoreError};

pub struct FileAllocator;

impl Actor for FileAllocator {
    type Context = SyncContext<Self>;
}

/// Create `path` as a mapped file of `size` bytes starting at commit-log offset `start_offset`;
/// the answer is its writer (nothing in it readable yet).
#[derive(Message)]
#[rtype(result = "Result<FileWriter, StoreError>")]
pub struct Allocate {
    pub path: PathBuf,
    pub start_offset: u64,
    pub size: u64,
    pub warm: bool,
}

impl Allocate {
    /// The commit-log file starting at `start` in `dir` (named by its 20-digit start offset).
    pub fn commit_log_file(dir: &Path, start: u64, size: u64, warm: bool) -> Allocate {
        Allocate {
            path: dir.join(paths::file_name(start)),
            start_offset: start,
            size,
            warm,
        }
    }
}

impl Handler<Allocate> for FileAllocator {
    type Result = Result<FileWriter, StoreError>;

    fn handle(&mut self, msg: Allocate, _ctx: &mut SyncContext<Self>) -> Self::Result {
        let _timer = stats().file_allocator.handling();
        let began = Instant::now();
        let result = prepare(&msg);
        match &result {
            Ok(_) => info!(
                path = %msg.path.display(),
                size = msg.size,
                warm = msg.warm,
                elapsed_ms = began.elapsed().as_secs_f64() * 1e3,
                "allocated commit-log file"
            ),
            Err(e) => {
                warn!(path = %msg.path.display(), error = %e, "allocating commit-log file failed")
            }
        }
        result
    }
}

/// Creates (and zero-fills) the file under a temporary name, then links it into place.
fn prepare(msg: &Allocate) -> Result<FileWriter, StoreError> {
    let mut temp = msg.path.clone().into_os_string();
    temp.push(".allocating");
    let temp = PathBuf::from(temp);
    let _ = std::fs::remove_file(&temp); // a leftover from a crash mid-allocation
    {
        let mut file = MappedFile::create(&temp, msg.start_offset, msg.size)?;
        if msg.warm {
            file.zero_fill()?;
        }
    }
    let linked = std::fs::hard_link(&temp, &msg.path);
    let _ = std::fs::remove_file(&temp);
    linked.map_err(|source| StoreError::Io {
        path: msg.path.clone(),
        source,
    })?;
    let mut file = MappedFile::open(&msg.path, msg.start_offset, msg.size)?;
    file.set_readable_end(0);
    Ok(file.into_writer())
}
