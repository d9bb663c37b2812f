//! A fixed-size memory-mapped file: the storage unit of the commit log and consume queues.
//!
//! RocketMQ keeps its logs as preallocated, memory-mapped files so that appends are a
//! memcpy and reads are zero-copy slices. This type owns one such file. Concurrency model
//! (no locks):
//!
//! * exactly one writer (the owner of the log) copies bytes in with [`MappedFile::write`],
//!   only at positions at or above what it has already published;
//! * any number of readers call [`MappedFile::read`], but only for ranges that lie below
//!   a position the writer published to them (by a message, an atomic store with
//!   release ordering, or similar happens-before edge) after finishing those bytes.
//!
//! Under that contract a read range is never written concurrently, which is what makes
//! handing out `&[u8]` into the mapping sound. All `unsafe` of the store lives here.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::{MmapOptions, MmapRaw};

use super::error::{IoContext, Result, StoreError};

/// OS page size: the unit of flushing and of recovery's zeroing.
pub const PAGE_SIZE: usize = 4096;

/// One fixed-size, memory-mapped, offset-named file.
pub struct MappedFile {
    path: PathBuf,
    start_offset: u64,
    size: u64,
    file: File,
    map: MmapRaw,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("start_offset", &self.start_offset)
            .field("size", &self.size)
            .finish()
    }
}

fn check_size(path: &Path, size: u64) -> Result<usize> {
    if size == 0 {
        return Err(StoreError::Invalid(format!(
            "{}: mapped file size must be > 0",
            path.display()
        )));
    }
    usize::try_from(size).map_err(|_| {
        StoreError::Invalid(format!(
            "{}: mapped file size {size} does not fit in memory",
            path.display()
        ))
    })
}

/// Reserves `size` bytes for `file`, preferring real block allocation.
fn allocate(file: &File, path: &Path, size: u64) -> Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        use std::os::unix::io::AsRawFd;
        if let Ok(len) = libc::off_t::try_from(size) {
            // SAFETY: plain syscall on a valid, open file descriptor owned by `file`.
            let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) };
            if rc == 0 {
                return Ok(());
            }
            // EOPNOTSUPP/EINVAL etc. (e.g. tmpfs variants, some network file systems):
            // fall back to a sparse file below.
        }
    }
    file.set_len(size).at(path)
}

impl MappedFile {
    /// Creates a new file of exactly `size` bytes (fails if it exists), reserves its
    /// blocks with `posix_fallocate` where supported (else `set_len`) and maps it
    /// read-write. A half-created file is removed again on failure.
    pub fn create(path: &Path, start_offset: u64, size: u64) -> Result<MappedFile> {
        let len = check_size(path, size)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .at(path)?;
        let res = allocate(&file, path, size).and_then(|()| Self::map(&file, path, len));
        match res {
            Ok(map) => Ok(MappedFile {
                path: path.to_path_buf(),
                start_offset,
                size,
                file,
                map,
            }),
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Opens an existing file; its length must be exactly `size`.
    pub fn open(path: &Path, start_offset: u64, size: u64) -> Result<MappedFile> {
        let len = check_size(path, size)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .at(path)?;
        let actual = file.metadata().at(path)?.len();
        if actual != size {
            return Err(StoreError::Corruption(format!(
                "{}: file is {actual} bytes, expected {size}",
                path.display()
            )));
        }
        let map = Self::map(&file, path, len)?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            start_offset,
            size,
            file,
            map,
        })
    }

    fn map(file: &File, path: &Path, len: usize) -> Result<MmapRaw> {
        MmapOptions::new().len(len).map_raw(file).at(path)
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Absolute offset of the file's first byte in its log.
    pub fn start_offset(&self) -> u64 {
        self.start_offset
    }

    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The underlying file handle (e.g. for `sync_all`).
    pub fn file(&self) -> &File {
        &self.file
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn check_range(&self, pos: usize, len: usize, what: &str) {
        let ok = pos.checked_add(len).is_some_and(|end| end <= self.len());
        assert!(
            ok,
            "{}: {what} range [{pos}, +{len}) outside file of {} bytes",
            self.path.display(),
            self.size
        );
    }

    /// Writes zeros over the whole file through its descriptor and waits until they are on disk,
    /// so that every block is allocated and *written* before the log uses it (RocketMQ's
    /// `warmMappedFile` also writes zeros and forces them). A flush of such a file writes data
    /// and nothing else: no block allocation, no unwritten-extent conversion, hence no journal
    /// commit per flush. Measured on the reference machine (ext4 on a virtual disk, `actormq bench
    /// disk`), a ~5 KiB group written with [`MappedFile::write_through`] flushed in p50 ~125-150 us
    /// on a zero-filled file against ~300 us on a merely `fallocate`d one, and 16 KiB cost no more
    /// than 256 bytes (docs/benchmarks.md). Allocator-only (about 4 s for 1 GiB there), on a file
    /// holding no data yet.
    pub fn zero_fill(&self) -> Result<()> {
        use std::os::unix::fs::FileExt;
        const CHUNK: usize = 1 << 20;
        let zeros = vec![0u8; CHUNK.min(self.len())];
        let mut pos = 0;
        while pos < self.len() {
            let n = zeros.len().min(self.len() - pos);
            self.file
                .write_all_at(&zeros[..n], pos as u64)
                .at(&self.path)?;
            // Chunk by chunk: one sync of a whole file would queue a gigabyte of writes in front
            // of the sync-mode flushes of the file being written.
            self.file.sync_data().at(&self.path)?;
            pos += n;
        }
        Ok(())
    }

    /// Writes `data` at `pos` through the file descriptor (`pwrite`) instead of copying it into
    /// the mapping; readers still see it through the mapping (one page cache). The sync-flush
    /// writer uses this: pages dirtied through a shared mapping cost several times more to flush
    /// on ext4 than pages dirtied by `write(2)` once the blocks are written (zero-filled files:
    /// p50 1.0-1.4 ms against ~125-150 us per 5 KiB group), and every flush write-protects them again,
    /// so the next append to the same page takes a fault. Async mode keeps [`MappedFile::write`]:
    /// a memcpy is cheaper than a system call per append when nobody waits for the flush.
    /// Same contract as `write`: single writer, never over a published range. On error nothing
    /// may be published (part of `data` may have reached the file). Panics if out of range.
    pub fn write_through(&self, pos: usize, data: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.check_range(pos, data.len(), "write");
        self.file.write_all_at(data, pos as u64).at(&self.path)
    }

    /// Copies `data` into the file at `pos`. Panics if `pos + data.len() > size`.
    /// Only the single owner/writer calls this, and never over a published range.
    pub fn write(&self, pos: usize, data: &[u8]) {
        self.check_range(pos, data.len(), "write");
        // SAFETY: `[pos, pos + len)` is inside the mapping (checked above). By contract
        // only the single writer calls `write`, and only on bytes not yet published, so no
        // reader holds a slice of them and there is no concurrent write. `data` cannot
        // overlap the destination: a slice obtained from `read` covers published bytes
        // only, and the destination is unpublished.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.map.as_mut_ptr().add(pos), data.len())
        };
    }

    /// Bytes `[pos, pos + len)`. Contract: the range was completely written and published
    /// before the caller learned of it. Panics if the range is outside the file.
    pub fn read(&self, pos: usize, len: usize) -> &[u8] {
        self.check_range(pos, len, "read");
        // SAFETY: the range is inside the mapping (checked above), which lives as long as
        // `self`. By contract the range was fully written and published (happens-before)
        // to this reader, and the writer never writes a published range again, so the
        // bytes are initialised and not mutated while the slice lives. (Recovery
        // truncation via `zero_from` runs before anything is published.)
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) }
    }

    /// Flushes `[pos, pos + len)` to disk (`msync`).
    pub fn flush_range(&self, pos: usize, len: usize) -> Result<()> {
        self.check_range(pos, len, "flush");
        if len == 0 {
            return Ok(());
        }
        self.map.flush_range(pos, len).at(&self.path)
    }

    /// Flushes the whole file.
    pub fn flush(&self) -> Result<()> {
        self.map.flush().at(&self.path)
    }

    /// Zeroes `[pos, size)`: recovery truncation. Writer-only, before the truncated range
    /// is (re)published. Panics if `pos > size`.
    pub fn zero_from(&self, pos: usize) {
        self.check_range(pos, self.len().saturating_sub(pos), "zero");
        // SAFETY: `[pos, len)` is inside the mapping (checked above). Only the writer
        // calls this, during recovery/truncation, when no reader holds a slice of the
        // discarded range.
        // Only pages holding non-zero bytes are written: the tail of a 1 GiB file is mostly never
        // written, and dirtying it all would cost a gigabyte of write-back on every recovery.
        let mut at = pos;
        while at < self.len() {
            let end = ((at / PAGE_SIZE + 1) * PAGE_SIZE).min(self.len());
            if self.read(at, end - at).iter().any(|b| *b != 0) {
                // SAFETY: see above; `[at, end)` lies inside `[pos, len)`.
                unsafe { std::ptr::write_bytes(self.map.as_mut_ptr().add(at), 0, end - at) };
            }
            at = end;
        }
    }

    /// Unmaps and deletes the file.
    pub fn destroy(self) -> Result<()> {
        let path = self.path.clone();
        drop(self);
        std::fs::remove_file(&path).at(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::paths::file_name;

    #[test]
    fn create_write_read_reopen() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(file_name(8192));
        let f = MappedFile::create(&p, 8192, 10_000).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 10_000);
        assert_eq!(
            (f.start_offset(), f.size(), f.path()),
            (8192, 10_000, p.as_path())
        );
        f.write(9_990, b"0123456789");
        f.write(0, b"head");
        assert_eq!(f.read(9_990, 10), b"0123456789");
        f.flush_range(9_990, 10).unwrap();
        f.flush().unwrap();
        drop(f);
        let f = MappedFile::open(&p, 8192, 10_000).unwrap();
        assert_eq!(f.read(0, 4), b"head");
        assert_eq!(f.read(9_990, 10), b"0123456789");
        f.zero_from(2);
        assert_eq!(f.read(0, 4), b"he\0\0");
        assert_eq!(f.read(9_990, 10), [0u8; 10]);
        f.zero_from(10_000);
        f.destroy().unwrap();
        assert!(!p.exists());
    }

    /// Zero-filling writes every block (a `fallocate`d file may keep them unwritten) and keeps the
    /// size; bytes written through the descriptor are what the mapping reads, also after reopening.
    #[test]
    fn zero_fill_then_write_through_reads_back_in_the_mapping() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(file_name(0));
        let size = 3 * (1 << 20) + 4096; // more than one fill chunk, not a multiple of it
        let f = MappedFile::create(&p, 0, size).unwrap();
        f.write(5, b"stale");
        f.zero_fill().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), size);
        assert!(f.read(0, size as usize).iter().all(|b| *b == 0));
        f.write_through(4094, b"across a page").unwrap();
        f.write_through(size as usize - 3, b"end").unwrap();
        assert_eq!(f.read(4094, 13), b"across a page");
        assert_eq!(f.read(size as usize - 3, 3), b"end");
        f.flush_range(4094, 13).unwrap();
        drop(f);
        let f = MappedFile::open(&p, 0, size).unwrap();
        assert_eq!(f.read(4094, 13), b"across a page");
        assert_eq!(f.read(size as usize - 3, 3), b"end");
    }

    #[test]
    #[should_panic(expected = "outside file")]
    fn write_through_out_of_range_panics() {
        let d = tempfile::tempdir().unwrap();
        let f = MappedFile::create(&d.path().join("f"), 0, 4096).unwrap();
        let _ = f.write_through(4090, b"1234567");
    }

    #[test]
    fn errors_name_path_and_sizes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        MappedFile::create(&p, 0, 4096).unwrap();
        let e = MappedFile::create(&p, 0, 4096).unwrap_err();
        assert!(e.to_string().contains(&*p.to_string_lossy()), "{e}");
        let e = MappedFile::open(&p, 0, 8192).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("4096") && s.contains("8192") && s.contains("/f"),
            "{s}"
        );
        let e = MappedFile::open(&d.path().join("missing"), 0, 4096).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
        assert!(MappedFile::create(&d.path().join("z"), 0, 0).is_err());
    }

    #[test]
    #[should_panic(expected = "outside file")]
    fn write_out_of_range_panics() {
        let d = tempfile::tempdir().unwrap();
        let f = MappedFile::create(&d.path().join("f"), 0, 100).unwrap();
        f.write(95, b"123456");
    }

    #[test]
    #[should_panic(expected = "outside file")]
    fn read_out_of_range_panics() {
        let d = tempfile::tempdir().unwrap();
        let f = MappedFile::create(&d.path().join("f"), 0, 100).unwrap();
        let _ = f.read(usize::MAX, 2);
    }

    #[test]
    fn shared_between_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let d = tempfile::tempdir().unwrap();
        let f = Arc::new(MappedFile::create(&d.path().join("f"), 0, 1 << 16).unwrap());
        let published = Arc::new(AtomicUsize::new(0));
        let (f2, p2) = (f.clone(), published.clone());
        let reader = std::thread::spawn(move || {
            let mut seen = 0;
            while seen < 1 << 16 {
                let upto = p2.load(Ordering::Acquire);
                if upto > seen {
                    let s = f2.read(seen, upto - seen);
                    assert!(s
                        .iter()
                        .enumerate()
                        .all(|(i, b)| *b == ((seen + i) % 251) as u8));
                    seen = upto;
                }
            }
        });
        for start in (0..1 << 16).step_by(1024) {
            let data: Vec<u8> = (start..start + 1024).map(|i| (i % 251) as u8).collect();
            f.write(start, &data);
            published.store(start + 1024, Ordering::Release);
        }
        reader.join().unwrap();
    }
}
