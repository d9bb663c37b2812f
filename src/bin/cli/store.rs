//! `actormq store ...`: offline tools for a store directory no broker is running on.
//!
//! * `check`: do the consume queues agree with a scan of the commit log
//!   ([`actormq::store::check`])? Prints one line; exit code 1 on disagreement.
//! * `finalize`: extend every short consume-queue file to RocketMQ's full 6,000,000 bytes, so that
//!   a Java broker (which refuses files of any other length) can load the store.
//!
//! Both take the store's lock (`<root>/lock`, as the broker does), so they refuse to run beside a
//! broker that is writing the store.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use actormq::store::check::consume_queues_agree;
use actormq::store::consume_queue::{finalize_dir, CqLayout};
use actormq::store::consume_queues::CQ_ENTRIES_PER_FILE;
use actormq::store::lock::{LockError, StoreLock};
use actormq::store::paths;

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Check that every consume queue agrees with a scan of the commit log (exit code 1 if not).
    Check {
        /// Store root (holds `commitlog/` and `consumequeue/`).
        #[arg(long)]
        root: PathBuf,
    },
    /// Extend short consume-queue files to the full 6,000,000 bytes, for a Java broker.
    Finalize {
        /// Store root (holds `commitlog/` and `consumequeue/`).
        #[arg(long)]
        root: PathBuf,
    },
}

pub fn run(cmd: StoreCommand) -> anyhow::Result<()> {
    match cmd {
        StoreCommand::Check { root } => {
            let _lock = lock(&root)?;
            let report = consume_queues_agree(&root)
                .with_context(|| format!("checking the store at {}", root.display()))?;
            if report.ok() {
                println!("{}", report.summary());
                Ok(())
            } else {
                anyhow::bail!("{}", report.summary())
            }
        }
        StoreCommand::Finalize { root } => {
            let _lock = lock(&root)?;
            let done = finalize_dir(&root, CqLayout::new(CQ_ENTRIES_PER_FILE))
                .with_context(|| format!("finalizing the store at {}", root.display()))?;
            println!(
                "{} consume-queue files, {} extended to full size",
                done.files, done.extended
            );
            Ok(())
        }
    }
}

/// Takes the store's lock as the broker does ([`StoreLock`]): an error if `root` is not a store
/// or a broker (actormq's or Java's) holds it.
fn lock(root: &Path) -> anyhow::Result<StoreLock> {
    if !paths::commitlog_dir(root).is_dir() && !paths::consume_queue_root(root).is_dir() {
        anyhow::bail!(
            "{} is not a store (no commitlog/ or consumequeue/ in it)",
            root.display()
        );
    }
    StoreLock::acquire(root).map_err(|e| match e {
        LockError::Held { .. } => anyhow::anyhow!("{e}; stop it first"),
        e => e.into(),
    })
}
