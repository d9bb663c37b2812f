//! Block allocation for mapped files: `fallocate(2)`, never a sparse file.
//!
//! A store file is only ever mapped over blocks the file system has allocated: a write through a
//! mapping into a hole that cannot be filled (disk full) is a `SIGBUS`, not an error. So space is
//! reserved with `fallocate` (mode 0: allocate and extend the size) and a failure — `ENOSPC`, or a
//! file system without `fallocate` — is an error for the caller, never a silent fallback to
//! `set_len`. One function, shared by every file kind that maps its bytes.

use std::fs::File;
use std::path::Path;

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
    let len = libc::off_t::try_from(len).map_err(|_| {
        StoreError::Invalid(format!(
            "{}: size {len} does not fit in off_t",
            path.display()
        ))
    })?;
    loop {
        // SAFETY: plain syscall on a valid, open file descriptor owned by `file`.
        let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
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
