//! Block allocation for mapped files: `fallocate(2)`, never a sparse file.
//!
//! A store file is only ever mapped over blocks the file system has allocated: a write through a
//! mapping into a hole that cannot be filled (disk full) is a `SIGBUS`, not an error. So space is
//! reserved with `fallocate` (mode 0: allocate and extend the size) and a failure — `ENOSPC`, or a
//! file system without `fallocate` — is an error for the caller, never a silent fallback to
//! `set_len`. One function, shared by every file kind that maps its bytes.

use std::fs::File;
use std::path::Path;

use super::disk_space::DiskUsage;
use super::error::{Result, StoreError};

/// Allocates blocks for `[0, len)` of `file` and extends its size to at least `len` (existing
/// bytes are kept): `posix_fallocate`, retried on `EINTR` (glibc emulates it by writing zeros where
/// the file system lacks `fallocate`). Fails with the OS error (`ENOSPC`, a quota, ...) naming
/// `path`; [`StoreError::is_out_of_space`] tells a full disk apart.
pub fn fallocate(file: &File, path: &Path, len: u64) -> Result<()> {
    use std::os::unix::io::AsRawFd;
    if len == 0 {
        return Ok(());
    }
    let off_len = libc::off_t::try_from(len).map_err(|_| {
        StoreError::Invalid(format!(
            "{}: size {len} does not fit in off_t",
            path.display()
        ))
    })?;
    refuse_without_room(file, path, len)?;
    loop {
        // SAFETY: plain syscall on a valid, open file descriptor owned by `file`.
        let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, off_len) };
        match rc {
            0 => return Ok(()),
            libc::EINTR => continue,
            errno => {
                return Err(StoreError::io(
                    path,
                    std::io::Error::from_raw_os_error(errno),
                ))
            }
        }
    }
}

/// Fails with `ENOSPC` before touching the disk when the file system plainly cannot hold `len`
/// bytes of `file`: a `posix_fallocate` that runs out of space first takes every free block and
/// only then gives them back, and in that window the disk reads 100 % used — to the broker's own
/// disk check (a false "disk full" and "OK again" a moment later) and to every other process
/// writing there. The blocks the file already has count as room; the syscall still decides the
/// close cases (metadata blocks, a racing writer).
fn refuse_without_room(file: &File, path: &Path, len: u64) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let allocated = file
        .metadata()
        .map_err(|e| StoreError::io(path, e))?
        .blocks()
        .saturating_mul(512);
    let needed = len.saturating_sub(allocated);
    if needed == 0 {
        return Ok(());
    }
    let usage = match DiskUsage::of_file(file) {
        // A file system that reports no sizes (some FUSE mounts), or none at all: the syscall
        // decides.
        Ok(usage) if usage.total > 0 => usage,
        _ => return Ok(()),
    };
    if needed > usage.available {
        return Err(StoreError::io(
            path,
            std::io::Error::from_raw_os_error(libc::ENOSPC),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn allocates_blocks_and_keeps_existing_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"head").unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        fallocate(&file, &path, 1 << 20).unwrap();
        let meta = file.metadata().unwrap();
        assert_eq!(meta.len(), 1 << 20);
        assert!(
            meta.blocks() * 512 >= 1 << 20,
            "blocks allocated, not sparse"
        );
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"head");
    }

    #[test]
    fn more_than_the_disk_has_is_refused_without_taking_a_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::File::create(&path).unwrap();
        let available = DiskUsage::measure(dir.path()).unwrap().available;
        let err = fallocate(&file, &path, available + (1 << 30)).unwrap_err();
        assert!(err.is_out_of_space(), "{err}");
        let meta = file.metadata().unwrap();
        assert_eq!((meta.len(), meta.blocks()), (0, 0), "nothing taken");
    }
}
