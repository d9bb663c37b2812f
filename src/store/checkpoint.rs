//! The store checkpoint (`<root>/checkpoint`, RocketMQ `StoreCheckpoint`).
//!
//! One 4 KiB page of big-endian i64 fields recording how far the commit log, consume
//! queues and index are known to be durable. After an abnormal exit recovery starts
//! from the commit-log file whose first record is older than
//! [`Checkpoint::min_timestamp`]. The page layout matches RocketMQ so a Java-written
//! checkpoint can be read. An existing page is overwritten in place (`pwrite` + `fdatasync`, as
//! Java overwrites its mapped page), so that writing it never needs a new block: a clean stop on a
//! full disk still writes it. Only a missing or wrongly sized file is replaced atomically.

use std::path::Path;

use super::error::{IoContext, Result, StoreError};
use super::paths::write_atomic;

/// Size of the checkpoint page.
pub const CHECKPOINT_PAGE: usize = 4096;
/// Bytes of the page that hold fields.
pub const CHECKPOINT_FIELDS_LEN: usize = 40;

/// Checkpoint fields, in on-disk order (offsets 0, 8, 16, 24, 32).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Checkpoint {
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    pub index_msg_timestamp: i64,
    pub master_flushed_offset: i64,
    pub confirm_phy_offset: i64,
}

impl Checkpoint {
    fn fields(&self) -> [i64; 5] {
        [
            self.physic_msg_timestamp,
            self.logics_msg_timestamp,
            self.index_msg_timestamp,
            self.master_flushed_offset,
            self.confirm_phy_offset,
        ]
    }

    /// The full 4 KiB page (zero padded).
    pub fn to_page(&self) -> [u8; CHECKPOINT_PAGE] {
        let mut p = [0u8; CHECKPOINT_PAGE];
        for (i, v) in self.fields().iter().enumerate() {
            p[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        p
    }

    /// Parses the fields from a page; `None` if fewer than 40 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Checkpoint> {
        let f = |i: usize| -> Option<i64> {
            Some(i64::from_be_bytes(
                b.get(i * 8..i * 8 + 8)?.try_into().ok()?,
            ))
        };
        Some(Checkpoint {
            physic_msg_timestamp: f(0)?,
            logics_msg_timestamp: f(1)?,
            index_msg_timestamp: f(2)?,
            master_flushed_offset: f(3)?,
            confirm_phy_offset: f(4)?,
        })
    }

    /// `min(physic, logics) - 3000 ms` (`getMinTimestamp`), floored at 0.
    pub fn min_timestamp(&self) -> i64 {
        (self.physic_msg_timestamp.min(self.logics_msg_timestamp) - 3000).max(0)
    }

    /// Reads the checkpoint at `path`; `Ok(None)` if the file does not exist, a
    /// corruption error if it is too short to hold the fields.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).at(path),
        };
        match Checkpoint::from_bytes(&bytes) {
            Some(c) => Ok(Some(c)),
            None => Err(StoreError::Corruption(format!(
                "{}: checkpoint is {} bytes, needs at least {CHECKPOINT_FIELDS_LEN}",
                path.display(),
                bytes.len()
            ))),
        }
    }

    /// Writes the page to `path`: over the existing page in place if there is one of the right
    /// size (no new space needed: the fields lie in the first 512-byte sector, which a disk writes
    /// whole), else atomically (temp file, fsync, rename, fsync dir).
    pub fn store(&self, path: &Path) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let page = self.to_page();
        let existing = std::fs::OpenOptions::new().write(true).open(path);
        if let Ok(file) = existing {
            if file.metadata().at(path)?.len() == CHECKPOINT_PAGE as u64 {
                file.write_all_at(&page, 0).at(path)?;
                return file.sync_data().at(path);
            }
        }
        write_atomic(path, &page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_and_file_round_trip() {
        let c = Checkpoint {
            physic_msg_timestamp: 1,
            logics_msg_timestamp: 2,
            index_msg_timestamp: 3,
            master_flushed_offset: 4,
            confirm_phy_offset: -5,
        };
        let p = c.to_page();
        assert_eq!(&p[0..8], &1i64.to_be_bytes());
        assert_eq!(&p[32..40], &(-5i64).to_be_bytes());
        assert!(p[40..].iter().all(|b| *b == 0));
        assert_eq!(Checkpoint::from_bytes(&p[..39]), None);

        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("checkpoint");
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        c.store(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(c));
        let again = Checkpoint {
            confirm_phy_offset: 77,
            ..c
        };
        again.store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(again));
        std::fs::write(&path, [0u8; 10]).unwrap();
        let e = Checkpoint::load(&path).unwrap_err();
        assert!(e.to_string().contains("10 bytes"), "{e}");
        assert_eq!(
            Checkpoint {
                physic_msg_timestamp: 10_000,
                logics_msg_timestamp: 9_000,
                ..c
            }
            .min_timestamp(),
            6_000
        );
    }

    /// A page that exists is overwritten in place: the same inode, no temp file, so no new
    /// block is needed (a stop on a full disk still checkpoints).
    #[test]
    fn an_existing_page_is_overwritten_in_place() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("checkpoint");
        Checkpoint::default().store(&path).unwrap();
        let inode = std::fs::metadata(&path).unwrap().ino();
        let c = Checkpoint {
            physic_msg_timestamp: 5,
            ..Default::default()
        };
        c.store(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(c));
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    proptest! {
        #[test]
        fn page_round_trip(a in any::<i64>(), b in any::<i64>(), c in any::<i64>(), d in any::<i64>(), e in any::<i64>()) {
            let cp = Checkpoint { physic_msg_timestamp: a, logics_msg_timestamp: b, index_msg_timestamp: c, master_flushed_offset: d, confirm_phy_offset: e };
            prop_assert_eq!(Checkpoint::from_bytes(&cp.to_page()), Some(cp));
        }
    }
}
