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
/// bytes are kept). Fails with the OS error (`ENOSPC`, `EOPNOTSUPP`, ...) naming `path`.
pub fn fallocate(file: &File, path: &Path, len: u64) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len)
        .map_err(|e| StoreError::io(path, std::io::Error::from(e)))
}
