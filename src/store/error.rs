//! Typed errors of the store.
//!
//! Every fallible store operation returns [`StoreError`]. I/O failures always carry the
//! path they happened on, and corruption/invalid-argument errors spell out the offsets
//! and sizes involved, so a log line alone is enough to locate the problem on disk.

use std::path::{Path, PathBuf};

/// Error type of the store module.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An operating-system level I/O failure on `path`.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// On-disk data that does not have the expected shape.
    #[error("{0}")]
    Corruption(String),
    /// A caller passed an argument the store cannot honour.
    #[error("{0}")]
    Invalid(String),
}

/// Result alias used throughout the store.
pub type Result<T> = std::result::Result<T, StoreError>;

impl StoreError {
    /// Wraps an `io::Error` together with the path it concerns.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// True if the file system refused for lack of space (`ENOSPC`, or `EDQUOT`: a quota is a
    /// full disk for this broker): the disk-space state machine turns that into "not writable"
    /// ([`crate::store::disk_space`]).
    pub fn is_out_of_space(&self) -> bool {
        match self {
            StoreError::Io { source, .. } => is_out_of_space(source),
            _ => false,
        }
    }
}

/// True if `e` says the file system has no space (`ENOSPC`, `EDQUOT`).
pub fn is_out_of_space(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
        || e.kind() == std::io::ErrorKind::StorageFull
}

/// Extension to attach a path to an `io::Result`.
pub trait IoContext<T> {
    /// Converts the error into [`StoreError::Io`] naming `path`.
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| StoreError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_path() {
        let e = StoreError::io(
            "/tmp/x/y",
            std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        );
        assert_eq!(e.to_string(), "/tmp/x/y: gone");
        let r: std::io::Result<()> = Err(std::io::Error::other("boom"));
        assert_eq!(r.at("/a").unwrap_err().to_string(), "/a: boom");
    }

    #[test]
    fn out_of_space_is_told_apart() {
        let full = StoreError::io("/x", std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(full.is_out_of_space());
        let quota = StoreError::io("/x", std::io::Error::from_raw_os_error(libc::EDQUOT));
        assert!(quota.is_out_of_space());
        let denied = StoreError::io("/x", std::io::Error::from_raw_os_error(libc::EACCES));
        assert!(!denied.is_out_of_space());
        assert!(!StoreError::Invalid("no".into()).is_out_of_space());
    }
}
