//! A fixed-size memory-mapped file: the storage unit of the commit log and consume queues.
//!
//! RocketMQ keeps its logs as preallocated, memory-mapped files so that appends are a memcpy and
//! reads are zero-copy slices. Sharing those bytes between threads without a lock rests on one
//! publication protocol, and this module encodes it in types so that safe code cannot break it:
//!
//! * every [`MappedFile`] carries its **readable end** (an atomic). [`MappedFile::read`] hands out
//!   only bytes below it, through `&self`, so any number of readers on any thread may hold slices;
//! * while a file is owned (not shared: recovery, a consume queue, the allocator preparing it),
//!   `&mut self` methods may change any byte and move the readable end either way: the borrow
//!   checker proves no slice is alive;
//! * once shared (`Arc<MappedFile>`), bytes change only through its one [`FileWriter`], made by
//!   [`MappedFile::into_writer`] from the owned value (which is not `Clone`, so there is never a
//!   second writer). The writer writes only at or above the readable end and then *publishes*:
//!   [`FileWriter::publish`] raises the end with release ordering, never lowers it. A reader that
//!   loads the end (acquire) sees every byte below it completely written, and those bytes are never
//!   written again.
//!
//! A *growable* file ([`MappedFile::create_growable`], the consume queues') keeps its logical size
//! (names and offsets are computed from it) but starts with a short disk length and mapping, and is
//! extended by [`MappedFile::grow_to`]: `fallocate` (never sparse), then a new, longer mapping
//! replaces the old one. Growing takes `&mut self`, so it can only happen while the file is owned,
//! when no slice of the old mapping can be alive; a shared file never grows. Reads stay below the
//! readable end, which never exceeds the current mapping.
//!
//! Every `unsafe` block of the mapping lives in this file, each with its own `SAFETY:` comment.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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
    /// Bytes `[0, readable)` are complete and may be read through `&self`; shared files only ever
    /// raise it (`FileWriter::publish`).
    readable: AtomicUsize,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("start_offset", &self.start_offset)
            .field("size", &self.size)
            .field("readable", &self.readable_end())
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

impl MappedFile {
    /// Creates a new file of exactly `size` bytes (fails if it exists), allocates all its blocks
    /// ([`super::fallocate::fallocate`]: never sparse, since a mapping over unallocated blocks turns
    /// a full disk into a `SIGBUS`) and maps it read-write. Nothing is
    /// readable yet. A half-created file is removed again on failure, so a failed create (a full
    /// disk) leaves nothing behind.
    pub fn create(path: &Path, start_offset: u64, size: u64) -> Result<MappedFile> {
        Self::create_with(path, start_offset, size, size, super::fallocate::fallocate)
    }

    /// Creates a new *growable* file: its logical size is `size` (offsets and names are computed
    /// from it as for any file) but only its first `initial_len` bytes (clamped to `1..=size`) are
    /// allocated, with `fallocate` (never sparse), and mapped; [`MappedFile::grow_to`] extends it.
    /// The consume queues use this so a queue holding one entry costs kilobytes, not megabytes.
    pub fn create_growable(
        path: &Path,
        start_offset: u64,
        size: u64,
        initial_len: u64,
    ) -> Result<MappedFile> {
        let len = initial_len.clamp(1, size.max(1));
        Self::create_with(path, start_offset, size, len, super::fallocate::fallocate)
    }

    fn create_with(
        path: &Path,
        start_offset: u64,
        size: u64,
        len: u64,
        alloc: fn(&File, &Path, u64) -> Result<()>,
    ) -> Result<MappedFile> {
        check_size(path, size)?;
        let map_len = check_size(path, len)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .at(path)?;
        let res = alloc(&file, path, len).and_then(|()| Self::map(&file, path, map_len));
        match res {
            Ok(map) => Ok(MappedFile {
                path: path.to_path_buf(),
                start_offset,
                size,
                file,
                map,
                readable: AtomicUsize::new(0),
            }),
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Opens an existing file; its length must be exactly `size`. All of it is readable (it is
    /// what the disk holds) until the owner says otherwise ([`MappedFile::set_readable_end`],
    /// [`MappedFile::truncate`]).
    pub fn open(path: &Path, start_offset: u64, size: u64) -> Result<MappedFile> {
        Self::open_with(path, start_offset, size, |actual| actual == size)
    }

    /// Opens an existing growable file (see [`MappedFile::create_growable`]): any length in
    /// `1..=size` is accepted and mapped; all of it is readable until the owner says otherwise.
    pub fn open_growable(path: &Path, start_offset: u64, size: u64) -> Result<MappedFile> {
        Self::open_with(path, start_offset, size, |actual| {
            actual > 0 && actual <= size
        })
    }

    fn open_with(
        path: &Path,
        start_offset: u64,
        size: u64,
        accept: impl Fn(u64) -> bool,
    ) -> Result<MappedFile> {
        check_size(path, size)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .at(path)?;
        let actual = file.metadata().at(path)?.len();
        if !accept(actual) {
            return Err(StoreError::Corruption(format!(
                "{}: file is {actual} bytes, expected {size}",
                path.display()
            )));
        }
        let len = check_size(path, actual)?;
        let map = Self::map(&file, path, len)?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            start_offset,
            size,
            file,
            map,
            readable: AtomicUsize::new(len),
        })
    }

    /// Owner only: extends a growable file's disk length and mapping to `len` bytes (clamped to
    /// the logical size; nothing happens if already that long). The new blocks are allocated with
    /// `fallocate` and read as zeros; the old mapping is replaced by a longer one. Bytes and the
    /// readable end are unchanged. `&mut self` is what makes the swap safe: no slice handed out by
    /// [`MappedFile::read`] can be alive, and a shared file (`Arc`, a [`FileWriter`]) cannot get
    /// here at all. The new length's size is synced (`fdatasync`), so entries written into the
    /// grown part are not cut off by a size a crash of the machine forgot.
    pub fn grow_to(&mut self, len: u64) -> Result<()> {
        let len = len.min(self.size);
        if len <= self.len() as u64 {
            return Ok(());
        }
        let map_len = check_size(&self.path, len)?;
        super::fallocate::fallocate(&self.file, &self.path, len)?;
        self.file.sync_data().at(&self.path)?;
        self.map = Self::map(&self.file, &self.path, map_len)?;
        Ok(())
    }

    /// Owner only: grows the file to its full logical size (see [`MappedFile::grow_to`]).
    pub fn grow_to_full(&mut self) -> Result<()> {
        self.grow_to(self.size)
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

    /// File size in bytes: the logical size, which a growable file reaches only when grown to
    /// full (see [`MappedFile::mapped_len`]).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes currently on disk and mapped: `size()` except for a growable file not grown to full.
    /// Nothing at or past it is ever read or written.
    pub fn mapped_len(&self) -> usize {
        self.len()
    }

    /// End of the readable bytes (acquire: every byte below it is complete).
    pub fn readable_end(&self) -> usize {
        self.readable.load(Ordering::Acquire)
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn in_file(&self, pos: usize, len: usize) -> bool {
        pos.checked_add(len).is_some_and(|end| end <= self.len())
    }

    fn out_of_range(&self, what: &str, pos: usize, len: usize, limit: usize) -> StoreError {
        StoreError::Invalid(format!(
            "{}: {what} range [{pos}, +{len}) outside [0, {limit}) of a {}-byte file",
            self.path.display(),
            self.size
        ))
    }

    /// Bytes `[pos, pos + len)`, or `None` unless they all lie below the readable end.
    pub fn read(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.readable_end() {
            return None;
        }
        // SAFETY: `[pos, end)` lies below the readable end, which is inside the mapping (it never
        // exceeds `len()`), and the mapping lives as long as `&self`. Bytes below the readable end
        // are complete (published with release, loaded above with acquire) and are changed only
        // through `&mut self` (impossible while this shared borrow lives) or by a `FileWriter`,
        // which writes only at or above the end and never lowers it.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// Owner only: copies `data` into the file at `pos` and makes everything up to its end
    /// readable. An error if the range is outside the file.
    pub fn write(&mut self, pos: usize, data: &[u8]) -> Result<()> {
        if !self.in_file(pos, data.len()) {
            return Err(self.out_of_range("write", pos, data.len(), self.len()));
        }
        // SAFETY: the range is inside the mapping (checked above); `&mut self` proves that no
        // slice handed out by `read` is alive and no `FileWriter` exists (it holds the file in an
        // `Arc`, from which no `&mut` can be had while shared), so nothing reads or writes these
        // bytes concurrently; `data` cannot alias the mapping for the same reason.
        unsafe { self.copy_in(pos, data) };
        let end = pos + data.len();
        if end > *self.readable.get_mut() {
            *self.readable.get_mut() = end;
        }
        Ok(())
    }

    /// # Safety
    /// `[pos, pos + data.len())` is inside the mapping, nobody reads or writes it concurrently,
    /// and `data` does not overlap it.
    unsafe fn copy_in(&self, pos: usize, data: &[u8]) {
        // SAFETY: guaranteed by the caller (see the function's contract).
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.map.as_mut_ptr().add(pos), data.len())
        }
    }

    /// Owner only: sets the readable end to `end` (at most the size), e.g. the write position found
    /// by recovery, before the file is shared.
    pub fn set_readable_end(&mut self, end: usize) {
        *self.readable.get_mut() = end.min(self.len());
    }

    /// Owner only: zeroes `[pos, size)` and makes only `[0, pos)` readable (recovery truncation).
    /// Only pages holding non-zero bytes are written: the tail of a 1 GiB file is mostly never
    /// written, and dirtying it all would cost a gigabyte of write-back on every recovery.
    pub fn truncate(&mut self, pos: usize) {
        let pos = pos.min(self.len());
        let mut at = pos;
        while at < self.len() {
            let end = ((at / PAGE_SIZE + 1) * PAGE_SIZE).min(self.len());
            // SAFETY: `[at, end)` is inside the mapping; `&mut self` excludes every reader and
            // writer (see `write`), so the bytes are neither read nor written concurrently.
            let dirty = unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(at), end - at) }
                .iter()
                .any(|b| *b != 0);
            if dirty {
                // SAFETY: as above.
                unsafe { std::ptr::write_bytes(self.map.as_mut_ptr().add(at), 0, end - at) };
            }
            at = end;
        }
        *self.readable.get_mut() = pos;
    }

    /// Owner only: writes zeros over the whole file through its descriptor and waits until they
    /// are on disk, so that every block is allocated and *written* before the log uses it
    /// (RocketMQ's `warmMappedFile` also writes zeros and forces them). A flush of such a file
    /// writes data and nothing else: no block allocation, no unwritten-extent conversion, hence no
    /// journal commit per flush. Measured on the reference machine (ext4 on a virtual disk,
    /// `actormq bench disk`), a ~5 KiB group written with [`FileWriter::write_through`] flushed in
    /// p50 ~125-150 us on a zero-filled file against ~300 us on a merely `fallocate`d one, and
    /// 16 KiB cost no more than 256 bytes (docs/benchmarks.md). Allocator-only (about 4 s for
    /// 1 GiB there), on a file holding no data yet; nothing is readable afterwards.
    pub fn zero_fill(&mut self) -> Result<()> {
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
        *self.readable.get_mut() = 0;
        Ok(())
    }

    /// Shares the file: the returned writer is the only way its bytes change from now on; readers
    /// get `Arc` clones from [`FileWriter::file`].
    pub fn into_writer(self) -> FileWriter {
        FileWriter {
            file: Arc::new(self),
        }
    }

    /// Flushes `[pos, pos + len)` to disk (`msync`).
    pub fn flush_range(&self, pos: usize, len: usize) -> Result<()> {
        if !self.in_file(pos, len) {
            return Err(self.out_of_range("flush", pos, len, self.len()));
        }
        if len == 0 {
            return Ok(());
        }
        self.map.flush_range(pos, len).at(&self.path)
    }

    /// Flushes the whole file.
    pub fn flush(&self) -> Result<()> {
        self.map.flush().at(&self.path)
    }

    /// Unmaps and deletes the file.
    pub fn destroy(self) -> Result<()> {
        let path = self.path.clone();
        drop(self);
        std::fs::remove_file(&path).at(&path)
    }
}

/// The one writer of a shared [`MappedFile`]: writes only at or above the readable end, then
/// publishes. Not `Clone`; made only from an owned file ([`MappedFile::into_writer`]).
pub struct FileWriter {
    file: Arc<MappedFile>,
}

impl std::fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FileWriter").field(&self.file).finish()
    }
}

impl FileWriter {
    /// The shared file, for readers (and for reading back what this writer published).
    pub fn file(&self) -> &Arc<MappedFile> {
        &self.file
    }

    /// Checks that `[pos, pos + len)` is inside the file and not below the readable end.
    fn check_unpublished(&self, pos: usize, len: usize) -> Result<()> {
        let readable = self.file.readable_end();
        if pos < readable || !self.file.in_file(pos, len) {
            return Err(self.file.out_of_range("write", pos, len, self.file.len()));
        }
        Ok(())
    }

    /// Copies `data` into the mapping at `pos` (not published yet). An error if the range is
    /// outside the file or below the readable end.
    pub fn write(&mut self, pos: usize, data: &[u8]) -> Result<()> {
        self.check_unpublished(pos, data.len())?;
        // SAFETY: the range is inside the mapping and at or above the readable end (checked
        // above). Readers only touch bytes below the end, which only this writer raises (`&mut
        // self`), and there is no other writer (`FileWriter` is unique per file), so nothing reads
        // or writes the range concurrently; `data` cannot overlap it, since every slice of this
        // file anyone holds lies below the end.
        unsafe { self.file.copy_in(pos, data) };
        Ok(())
    }

    /// Writes `data` at `pos` through the file descriptor (`pwrite`) instead of copying it into
    /// the mapping; readers still see it through the mapping (one page cache). The sync-flush
    /// writer uses this: pages dirtied through a shared mapping cost several times more to flush
    /// on ext4 than pages dirtied by `write(2)` once the blocks are written (zero-filled files:
    /// p50 1.0-1.4 ms against ~125-150 us per 5 KiB group), and every flush write-protects them
    /// again, so the next append to the same page takes a fault. Async mode keeps
    /// [`FileWriter::write`]: a memcpy is cheaper than a system call per append when nobody waits
    /// for the flush. Same rules as `write`; on error nothing may be published (part of `data` may
    /// have reached the file).
    pub fn write_through(&mut self, pos: usize, data: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.check_unpublished(pos, data.len())?;
        self.file
            .file
            .write_all_at(data, pos as u64)
            .at(&self.file.path)
    }

    /// Makes `[0, end)` readable (release): call only once those bytes are completely written.
    /// Never lowers the end; clamped to the file size.
    pub fn publish(&mut self, end: usize) {
        let end = end.min(self.file.len());
        self.file.readable.fetch_max(end, Ordering::Release);
    }

    /// Ends writing: the shared file, for the table of readers.
    pub fn into_file(self) -> Arc<MappedFile> {
        self.file
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
        let mut f = MappedFile::create(&p, 8192, 10_000).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 10_000);
        assert_eq!(
            (f.start_offset(), f.size(), f.path()),
            (8192, 10_000, p.as_path())
        );
        assert_eq!(f.read(0, 1), None, "a new file has nothing readable");
        f.write(9_990, b"0123456789").unwrap();
        f.write(0, b"head").unwrap();
        assert_eq!(f.read(9_990, 10), Some(&b"0123456789"[..]));
        f.flush_range(9_990, 10).unwrap();
        f.flush().unwrap();
        drop(f);
        let mut f = MappedFile::open(&p, 8192, 10_000).unwrap();
        assert_eq!(f.readable_end(), 10_000);
        assert_eq!(f.read(0, 4), Some(&b"head"[..]));
        assert_eq!(f.read(9_990, 10), Some(&b"0123456789"[..]));
        f.truncate(2);
        assert_eq!(f.read(0, 2), Some(&b"he"[..]));
        assert_eq!(f.read(0, 3), None, "truncated bytes are not readable");
        f.set_readable_end(10_000);
        assert_eq!(f.read(0, 4), Some(&b"he\0\0"[..]));
        assert_eq!(f.read(9_990, 10), Some(&[0u8; 10][..]));
        f.truncate(10_000);
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
        let mut f = MappedFile::create(&p, 0, size).unwrap();
        f.write(5, b"stale").unwrap();
        f.zero_fill().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), size);
        assert_eq!(f.readable_end(), 0);
        let mut w = f.into_writer();
        w.write_through(4094, b"across a page").unwrap();
        w.write_through(size as usize - 3, b"end").unwrap();
        assert_eq!(w.file().read(4094, 13), None, "not published yet");
        w.publish(size as usize);
        let f = w.into_file();
        assert!(f.read(0, 4094).unwrap().iter().all(|b| *b == 0));
        assert_eq!(f.read(4094, 13), Some(&b"across a page"[..]));
        assert_eq!(f.read(size as usize - 3, 3), Some(&b"end"[..]));
        f.flush_range(4094, 13).unwrap();
        drop(f);
        let f = MappedFile::open(&p, 0, size).unwrap();
        assert_eq!(f.read(4094, 13), Some(&b"across a page"[..]));
        assert_eq!(f.read(size as usize - 3, 3), Some(&b"end"[..]));
    }

    /// The writer of a shared file cannot touch published bytes, and the end never goes down.
    #[test]
    fn shared_writer_writes_only_above_the_readable_end() {
        let d = tempfile::tempdir().unwrap();
        let mut w = MappedFile::create(&d.path().join("f"), 0, 4096)
            .unwrap()
            .into_writer();
        w.write(0, b"abcd").unwrap();
        w.publish(4);
        let reader = w.file().clone();
        let seen = reader.read(0, 4).unwrap();
        assert!(w.write(2, b"xx").is_err(), "below the readable end");
        assert!(w.write_through(3, b"xx").is_err(), "below the readable end");
        w.publish(2);
        assert_eq!(reader.readable_end(), 4, "publish never lowers the end");
        assert_eq!(seen, b"abcd");
        w.write(4, b"ef").unwrap();
        w.publish(1 << 20);
        assert_eq!(reader.readable_end(), 4096, "clamped to the size");
    }

    /// A growable file: short on disk, writes past the mapping fail, growing keeps the bytes and
    /// the readable end and is capped at the logical size; reopening accepts any length up to it.
    #[test]
    fn growable_file_grows_by_remapping() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(file_name(0));
        let mut f = MappedFile::create_growable(&p, 0, 10_000, 4096).unwrap();
        assert_eq!((f.size(), f.mapped_len()), (10_000, 4096));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 4096);
        f.write(4090, b"abcdef").unwrap();
        assert!(f.write(4096, b"x").is_err(), "past the mapping");
        assert_eq!(f.read(4090, 7), None, "nothing readable past the mapping");
        f.grow_to(8192).unwrap();
        assert_eq!(f.read(4090, 6), Some(&b"abcdef"[..]));
        assert_eq!(f.readable_end(), 4096);
        f.write(8000, b"x").unwrap();
        f.grow_to(1 << 20).unwrap();
        assert_eq!(f.mapped_len(), 10_000, "capped at the logical size");
        f.grow_to(5).unwrap();
        assert_eq!(f.mapped_len(), 10_000, "never shrinks");
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 10_000);
        f.set_readable_end(4096);
        drop(f);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(5000)
            .unwrap();
        let f = MappedFile::open_growable(&p, 0, 10_000).unwrap();
        assert_eq!((f.mapped_len(), f.readable_end()), (5000, 5000));
        assert_eq!(f.read(4090, 6), Some(&b"abcdef"[..]));
        assert!(
            MappedFile::open(&p, 0, 10_000).is_err(),
            "a fixed file must be full"
        );
        assert!(
            MappedFile::open_growable(&p, 0, 4000).is_err(),
            "longer than the size"
        );
    }

    #[test]
    fn out_of_range_is_an_error_not_a_panic() {
        let d = tempfile::tempdir().unwrap();
        let mut f = MappedFile::create(&d.path().join("f"), 0, 100).unwrap();
        let e = f.write(95, b"123456").unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
        assert!(f.flush_range(90, 20).is_err());
        assert_eq!(f.read(usize::MAX, 2), None);
        f.set_readable_end(usize::MAX);
        assert_eq!(f.readable_end(), 100);
        let mut w = f.into_writer();
        assert!(w.write_through(90, &[0; 11]).is_err());
        assert!(w.write(usize::MAX, b"1").is_err());
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

    /// A file the file system cannot allocate is an error, not a sparse mapping, and leaves no
    /// file behind (a size no disk holds stands for a full one).
    #[test]
    fn unallocatable_file_is_an_error_and_not_created() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("huge");
        let e = MappedFile::create(&p, 0, 1 << 60).unwrap_err();
        assert!(matches!(e, StoreError::Io { .. }), "{e}");
        assert!(e.to_string().contains("huge"), "{e}");
        assert!(!p.exists(), "a failed create leaves no file");
    }

    #[test]
    fn shared_between_threads() {
        let d = tempfile::tempdir().unwrap();
        let mut w = MappedFile::create(&d.path().join("f"), 0, 1 << 16)
            .unwrap()
            .into_writer();
        let f2 = w.file().clone();
        let reader = std::thread::spawn(move || {
            let mut seen = 0;
            while seen < 1 << 16 {
                let upto = f2.readable_end();
                if upto > seen {
                    let s = f2.read(seen, upto - seen).unwrap();
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
            w.write(start, &data).unwrap();
            w.publish(start + 1024);
        }
        reader.join().unwrap();
    }
}
