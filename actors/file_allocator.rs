//! `FileAllocator`: creates, sizes, maps and (optionally) pre-touches commit-log files ahead of need
//! (RocketMQ's `AllocateMappedFileService`).
//!
//! Owns nothing but the work: each `Allocate` creates one file and answers with it mapped. It runs on
//! a `SyncArbiter` thread of its own because every step blocks (fallocate, mmap, page faults while
//! warming), and the writer must never wait for that. The writer asks for the next file (and the one
//! after) as soon as it starts a file, so a roll normally finds the file ready.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tracing::{info, warn};

use actormq::store::mapped_file::MappedFile;
use actormq::store::StoreError;

pub struct FileAllocator;

impl Actor for FileAllocator {
    type Context = SyncContext<Self>;
}

/// Create `path` as a mapped file of `size` bytes starting at commit-log offset `start_offset`.
#[derive(Message)]
#[rtype(result = "Result<Arc<MappedFile>, StoreError>")]
pub struct Allocate {
    pub path: PathBuf,
    pub start_offset: u64,
    pub size: u64,
    pub warm: bool,
}

impl Handler<Allocate> for FileAllocator {
    type Result = Result<Arc<MappedFile>, StoreError>;

    fn handle(&mut self, msg: Allocate, _ctx: &mut SyncContext<Self>) -> Self::Result {
        let began = Instant::now();
        let file = match MappedFile::create(&msg.path, msg.start_offset, msg.size) {
            Ok(f) => f,
            Err(e) => {
                warn!(path = %msg.path.display(), error = %e, "allocating commit-log file failed");
                return Err(e);
            }
        };
        if msg.warm {
            file.warm();
        }
        info!(
            path = %msg.path.display(),
            size = msg.size,
            warm = msg.warm,
            elapsed_ms = began.elapsed().as_secs_f64() * 1e3,
            "allocated commit-log file"
        );
        Ok(Arc::new(file))
    }
}
