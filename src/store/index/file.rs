//! One index file (`<root>/index/<yyyyMMddHHmmssSSS>`), byte for byte as RocketMQ's `IndexFile`
//! and `IndexHeader` write it (rocketmq-reference.md §9.4):
//!
//! ```text
//! header  40 bytes   i64 beginTimestamp | i64 endTimestamp | i64 beginPhyOffset | i64 endPhyOffset
//!                    | i32 hashSlotCount | i32 indexCount (the next entry to write; starts at 1)
//! slots   slots x 4  i32: the newest entry of the keys hashing here (0 = none)
//! entries n x 20     i32 keyHash | i64 phyOffset | i32 timeDiff (s since beginTimestamp) | i32 prevIndex
//! ```
//!
//! Entry 0 is never written (`indexCount` starts at 1, so 0 means "no entry"). The header is kept
//! in memory and written back after every key, as Java's `IndexHeader` setters do, so the mapped
//! bytes always say how far the file goes.

use std::path::Path;

use super::super::error::{Result, StoreError};
use super::super::mapped_file::MappedFile;

/// `IndexHeader.INDEX_HEADER_SIZE`.
pub const HEADER_SIZE: usize = 40;
/// Bytes per hash slot.
pub const SLOT_SIZE: usize = 4;
/// Bytes per entry.
pub const ENTRY_SIZE: usize = 20;

const BEGIN_TIMESTAMP: usize = 0;
const END_TIMESTAMP: usize = 8;
const BEGIN_PHY_OFFSET: usize = 16;
const END_PHY_OFFSET: usize = 24;
const HASH_SLOT_COUNT: usize = 32;
const INDEX_COUNT: usize = 36;

/// The sizes of an index file (`[store] max_hash_slot_num`, `max_index_num`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexShape {
    pub hash_slots: u32,
    pub max_entries: u32,
}

impl IndexShape {
    /// `40 + slots * 4 + entries * 20`: 420,000,040 bytes at Java's defaults.
    pub fn file_size(&self) -> u64 {
        HEADER_SIZE as u64
            + self.hash_slots as u64 * SLOT_SIZE as u64
            + self.max_entries as u64 * ENTRY_SIZE as u64
    }

    fn slot_pos(&self, key_hash: i32) -> usize {
        HEADER_SIZE + (key_hash as u32 % self.hash_slots) as usize * SLOT_SIZE
    }

    fn entry_pos(&self, index: i32) -> usize {
        HEADER_SIZE + self.hash_slots as usize * SLOT_SIZE + index as usize * ENTRY_SIZE
    }
}

/// The 40-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    pub index_count: i32,
}

impl IndexHeader {
    fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[BEGIN_TIMESTAMP..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        b[END_TIMESTAMP..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        b[BEGIN_PHY_OFFSET..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        b[END_PHY_OFFSET..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        b[HASH_SLOT_COUNT..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        b[INDEX_COUNT..40].copy_from_slice(&self.index_count.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> IndexHeader {
        IndexHeader {
            begin_timestamp: be_i64(b, BEGIN_TIMESTAMP),
            end_timestamp: be_i64(b, END_TIMESTAMP),
            begin_phy_offset: be_i64(b, BEGIN_PHY_OFFSET),
            end_phy_offset: be_i64(b, END_PHY_OFFSET),
            hash_slot_count: be_i32(b, HASH_SLOT_COUNT),
            index_count: be_i32(b, INDEX_COUNT),
        }
    }
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i64::from_be_bytes)
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, i32::from_be_bytes)
}

/// One entry as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub key_hash: i32,
    pub phy_offset: i64,
    pub time_diff: i32,
    pub prev_index: i32,
}

/// One mapped index file, owned by its one user (the dispatcher): no sharing, no lock.
#[derive(Debug)]
pub struct IndexFile {
    file: MappedFile,
    name: String,
    shape: IndexShape,
    header: IndexHeader,
}

impl IndexFile {
    /// Creates `dir/name`, allocated in full (`MappedFile::create`: `posix_fallocate`, never
    /// mapped over holes where the file system supports it). A file that follows a full one
    /// starts at its end (`IndexFile(.., endPhyOffset, endTimestamp)`).
    pub fn create(
        dir: &Path,
        name: String,
        shape: IndexShape,
        prev_end_phy_offset: i64,
        prev_end_timestamp: i64,
    ) -> Result<IndexFile> {
        let mut file = MappedFile::create(&dir.join(&name), 0, shape.file_size())?;
        // Owned, fully allocated and zero: every byte may be read.
        file.set_readable_end(shape.file_size() as usize);
        let mut header = IndexHeader {
            index_count: 1,
            ..IndexHeader::default()
        };
        if prev_end_phy_offset > 0 {
            header.begin_phy_offset = prev_end_phy_offset;
            header.end_phy_offset = prev_end_phy_offset;
        }
        if prev_end_timestamp > 0 {
            header.begin_timestamp = prev_end_timestamp;
            header.end_timestamp = prev_end_timestamp;
        }
        let mut f = IndexFile {
            file,
            name,
            shape,
            header,
        };
        f.write_header()?;
        Ok(f)
    }

    /// Opens an existing file. Its size must match `shape` and its header must be one this
    /// store could have written (counts within the file), else `StoreError::Corruption`.
    /// `indexCount <= 0` reads as 1, as `IndexHeader.load` does.
    pub fn open(path: &Path, name: String, shape: IndexShape) -> Result<IndexFile> {
        let file = MappedFile::open(path, 0, shape.file_size())?;
        let bytes = file
            .read(0, HEADER_SIZE)
            .ok_or_else(|| StoreError::Corruption(format!("{}: no header", path.display())))?;
        let mut header = IndexHeader::decode(bytes);
        if header.index_count <= 0 {
            header.index_count = 1;
        }
        let bad = |what: String| {
            Err(StoreError::Corruption(format!(
                "{}: index header {what}",
                path.display()
            )))
        };
        if header.index_count as i64 > shape.max_entries as i64 {
            return bad(format!(
                "indexCount {} > max_index_num {}",
                header.index_count, shape.max_entries
            ));
        }
        if header.hash_slot_count < 0 || header.hash_slot_count as i64 > shape.hash_slots as i64 {
            return bad(format!(
                "hashSlotCount {} outside [0, {}]",
                header.hash_slot_count, shape.hash_slots
            ));
        }
        if header.end_phy_offset < header.begin_phy_offset || header.begin_phy_offset < 0 {
            return bad(format!(
                "phy offsets [{}, {}] out of order",
                header.begin_phy_offset, header.end_phy_offset
            ));
        }
        Ok(IndexFile {
            file,
            name,
            shape,
            header,
        })
    }

    /// The file's name (its creation time, `yyyyMMddHHmmssSSS`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn header(&self) -> &IndexHeader {
        &self.header
    }

    /// Entries written (the header's `indexCount` - 1).
    pub fn entries(&self) -> u32 {
        (self.header.index_count - 1).max(0) as u32
    }

    /// `isWriteFull`.
    pub fn is_full(&self) -> bool {
        self.header.index_count as i64 >= self.shape.max_entries as i64
    }

    /// `isTimeMatched`: the file's time range overlaps `[begin, end]`.
    pub fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        let (b, e) = (self.header.begin_timestamp, self.header.end_timestamp);
        (begin < b && end > e) || (begin >= b && begin <= e) || (end >= b && end <= e)
    }

    fn write_header(&mut self) -> Result<()> {
        self.file.write(0, &self.header.encode())
    }

    fn read_i32(&self, pos: usize) -> i32 {
        self.file.read(pos, 4).map_or(0, |b| be_i32(b, 0))
    }

    /// The slot's newest entry, 0 if none or out of range (as Java treats it).
    fn slot_value(&self, key_hash: i32) -> i32 {
        let v = self.read_i32(self.shape.slot_pos(key_hash));
        if v <= 0 || v > self.header.index_count {
            0
        } else {
            v
        }
    }

    /// Entry `index` as stored.
    pub fn entry(&self, index: i32) -> Option<IndexEntry> {
        if index <= 0 || index as i64 >= self.shape.max_entries as i64 {
            return None;
        }
        let b = self.file.read(self.shape.entry_pos(index), ENTRY_SIZE)?;
        Some(IndexEntry {
            key_hash: be_i32(b, 0),
            phy_offset: be_i64(b, 4),
            time_diff: be_i32(b, 12),
            prev_index: be_i32(b, 16),
        })
    }

    /// `putKey`: links a new entry for `key_hash` (already `abs`ed) at the head of its slot's
    /// chain. `Ok(false)` when the file is full (the caller rolls to a new one).
    pub fn put(&mut self, key_hash: i32, phy_offset: i64, store_timestamp: i64) -> Result<bool> {
        if self.is_full() {
            return Ok(false);
        }
        let slot_pos = self.shape.slot_pos(key_hash);
        let prev = self.slot_value(key_hash);
        let time_diff = if self.header.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - self.header.begin_timestamp) / 1000).clamp(0, i32::MAX as i64)
        };
        let index = self.header.index_count;
        let mut entry = [0u8; ENTRY_SIZE];
        entry[0..4].copy_from_slice(&key_hash.to_be_bytes());
        entry[4..12].copy_from_slice(&phy_offset.to_be_bytes());
        entry[12..16].copy_from_slice(&(time_diff as i32).to_be_bytes());
        entry[16..20].copy_from_slice(&prev.to_be_bytes());
        self.file.write(self.shape.entry_pos(index), &entry)?;
        self.file.write(slot_pos, &index.to_be_bytes())?;
        let h = &mut self.header;
        if h.index_count <= 1 {
            h.begin_phy_offset = phy_offset;
            h.begin_timestamp = store_timestamp;
        }
        if prev == 0 {
            h.hash_slot_count += 1;
        }
        h.index_count += 1;
        h.end_phy_offset = phy_offset;
        h.end_timestamp = store_timestamp;
        self.write_header()?;
        Ok(true)
    }

    /// Walks `key_hash`'s chain newest first (`selectPhyOffset`): pushes the offset of every
    /// entry with this hash stored within `[begin, end]` (ms) onto `out` until it holds `max`.
    /// Only the hash is compared: entries of colliding keys are returned too (the client
    /// filters by key, as with Java's broker).
    pub fn select(&self, key_hash: i32, max: usize, begin: i64, end: i64, out: &mut Vec<i64>) {
        let first = self.slot_value(key_hash);
        if first == 0 || self.header.index_count <= 1 {
            return;
        }
        let mut next = first;
        // At most one visit per entry: a damaged chain cannot loop for ever.
        for _ in 0..self.header.index_count {
            if out.len() >= max {
                break;
            }
            let Some(e) = self.entry(next) else { break };
            if e.time_diff < 0 {
                break;
            }
            let time = self.header.begin_timestamp + e.time_diff as i64 * 1000;
            if e.key_hash == key_hash && time >= begin && time <= end {
                out.push(e.phy_offset);
            }
            if e.prev_index <= 0
                || e.prev_index > self.header.index_count
                || e.prev_index == next
                || time < begin
            {
                break;
            }
            next = e.prev_index;
        }
    }

    /// Whether `key_hash`'s chain already holds an entry for the record at `phy_offset`: the
    /// replay of the record at the header's `endPhyOffset` (it may have been indexed in part
    /// before a crash) adds only its missing keys.
    pub fn contains(&self, key_hash: i32, phy_offset: i64) -> bool {
        let mut next = self.slot_value(key_hash);
        for _ in 0..self.header.index_count {
            let Some(e) = self.entry(next) else {
                return false;
            };
            if e.key_hash == key_hash && e.phy_offset == phy_offset {
                return true;
            }
            // Entries are in commit-log order: older ones cannot be this record.
            if e.phy_offset < phy_offset || e.prev_index <= 0 || e.prev_index == next {
                return false;
            }
            next = e.prev_index;
        }
        false
    }

    /// msyncs the file (header included).
    pub fn flush(&self) -> Result<()> {
        self.file.flush()
    }

    /// Unmaps and deletes the file.
    pub fn destroy(self) -> Result<()> {
        self.file.destroy()
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}
