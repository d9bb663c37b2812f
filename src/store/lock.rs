//! The store's process lock: one broker (or store tool) per store directory, held for the life
//! of the process.
//!
//! Three locks, all released by the OS when the process ends (no stale lock after kill -9):
//! - a `flock` on `<root>/lock`;
//! - a `flock` on `<root>` itself: the lock file can be deleted while a broker runs (and a new
//!   one would lock fine), the directory cannot go while it holds files;
//! - an open-file-description record lock on byte 0 of `<root>/lock`: the Java broker takes that
//!   byte with a POSIX record lock (`FileChannel.tryLock(0, 1, false)`), which does not see
//!   `flock`s, so without it a Java broker and actormq could open one store at the same time.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::fd::AsRawFd;
use std::path::Path;

use super::paths;

/// Why a store could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the store {root} is locked by another running broker ({lock})")]
    Held { root: String, lock: String },
    #[error("locking {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A locked store directory; the locks go when this is dropped (or the process ends).
#[derive(Debug)]
pub struct StoreLock {
    _lock_file: File,
    _root_dir: File,
}

impl StoreLock {
    /// Locks `root` (which must exist), creating `<root>/lock` if needed.
    pub fn acquire(root: &Path) -> Result<StoreLock, LockError> {
        let path = paths::lock_path(root);
        let io = |p: &Path| {
            let path = p.display().to_string();
            move |source| LockError::Io { path, source }
        };
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let root_dir = File::open(root).map_err(io(root))?;
        let held = lock_file
            .try_lock()
            .and_then(|()| root_dir.try_lock())
            .and_then(|()| lock_first_byte(&lock_file));
        match held {
            Ok(()) => Ok(StoreLock {
                _lock_file: lock_file,
                _root_dir: root_dir,
            }),
            Err(TryLockError::WouldBlock) => Err(LockError::Held {
                root: root.display().to_string(),
                lock: path.display().to_string(),
            }),
            Err(TryLockError::Error(e)) => Err(io(&path)(e)),
        }
    }
}

/// Byte 0 of `file` as an open-file-description write lock (conflicts with other processes'
/// POSIX record locks, as the Java broker's).
fn lock_first_byte(file: &File) -> Result<(), TryLockError> {
    // SAFETY: an all-zero `flock` is a valid value of this plain C struct; the fields that
    // matter are set below.
    let mut range: libc::flock = unsafe { std::mem::zeroed() };
    range.l_type = libc::F_WRLCK as _;
    range.l_whence = libc::SEEK_SET as _;
    range.l_start = 0;
    range.l_len = 1;
    // SAFETY: `file` is an open descriptor for the call's duration and `range` a valid `flock`.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &range) };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Err(TryLockError::WouldBlock),
        _ => Err(TryLockError::Error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_store_is_refused_until_the_first_goes() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path()).unwrap();
        let again = StoreLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(again, LockError::Held { .. }), "{again}");
        assert!(again
            .to_string()
            .contains("locked by another running broker"));
        // A deleted lock file does not admit a second holder: the directory is locked too.
        std::fs::remove_file(paths::lock_path(dir.path())).unwrap();
        assert!(StoreLock::acquire(dir.path()).is_err());
        drop(first);
        StoreLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_posix_record_lock_on_byte_zero_keeps_the_store_locked() {
        // What the Java broker holds: a classic POSIX (per-process) lock on byte 0, taken here in
        // a child process so that it belongs to another process, as the Java broker's would.
        let dir = tempfile::tempdir().unwrap();
        let lock = paths::lock_path(dir.path());
        std::fs::write(&lock, b"").unwrap();
        let mut child = std::process::Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import fcntl,sys,time\nf=open({:?},'r+')\nfcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB,1,0)\nprint('locked',flush=True)\ntime.sleep(30)",
                lock.display().to_string()
            ))
            .stdout(std::process::Stdio::piped())
            .spawn();
        let Ok(child) = child.as_mut() else {
            eprintln!("python3 not available: skipping the POSIX-lock check");
            return;
        };
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "locked");
        let refused = StoreLock::acquire(dir.path());
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            matches!(refused, Err(LockError::Held { .. })),
            "{refused:?}"
        );
        StoreLock::acquire(dir.path()).unwrap();
    }
}
