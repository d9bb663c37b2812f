//! The timer store's two files and their byte layouts (RocketMQ's `TimerLog` and `TimerWheel`,
//! our own field order). Both are read and written with positioned I/O on a plain `File`: every
//! access is one small `pread`/`pwrite`, and only the slots being read ahead are ever in memory.
//!
//! - `timer/timerlog`: append-only, [`LOG_ENTRY_LEN`]-byte entries. Each names one message of
//!   `rmq_sys_wheel_timer` (commit-log offset and size), its deliver time, the wheel slot it was
//!   filed under, and the previous entry of the same slot (a backward linked list per slot).
//! - `timer/timerwheel`: a fixed array of [`SLOT_LEN`]-byte slots, slot `i` holding the slot time
//!   `t` with `t / precision % slots == i`: the time, the position of its last log entry and the
//!   entry count. A slot whose stored time differs from the one asked for is empty for that time.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::TimerError;

/// Bytes per timer-log entry.
pub const LOG_ENTRY_LEN: u64 = 40;
/// Bytes per wheel slot.
pub const SLOT_LEN: u64 = 24;
/// Marks a written log entry ("TIMR"); a zero or torn entry does not carry it.
const ENTRY_MAGIC: i32 = 0x5449_4D52;

/// One timer-log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    /// Position of the previous entry of the same slot, -1 for the first.
    pub prev: i64,
    /// Where the `rmq_sys_wheel_timer` record is in the commit log, and its size.
    pub commit_log_offset: i64,
    pub size: i32,
    /// When the message is due (epoch ms, `TIMER_OUT_MS`).
    pub deliver_ms: i64,
    /// The slot (its start time, epoch ms) the entry is filed under.
    pub slot_ms: i64,
}

impl LogEntry {
    /// Layout: prev i64 | commit-log offset i64 | size i32 | magic i32 | deliver ms i64 | slot ms
    /// i64, big-endian like RocketMQ's files.
    pub fn encode(&self) -> [u8; LOG_ENTRY_LEN as usize] {
        let mut b = [0u8; LOG_ENTRY_LEN as usize];
        b[0..8].copy_from_slice(&self.prev.to_be_bytes());
        b[8..16].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        b[16..20].copy_from_slice(&self.size.to_be_bytes());
        b[20..24].copy_from_slice(&ENTRY_MAGIC.to_be_bytes());
        b[24..32].copy_from_slice(&self.deliver_ms.to_be_bytes());
        b[32..40].copy_from_slice(&self.slot_ms.to_be_bytes());
        b
    }

    /// `None` when the bytes are not a written entry (wrong magic).
    pub fn decode(b: &[u8; LOG_ENTRY_LEN as usize]) -> Option<LogEntry> {
        let i64_at = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let i32_at = |at: usize| i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        (i32_at(20) == ENTRY_MAGIC).then(|| LogEntry {
            prev: i64_at(0),
            commit_log_offset: i64_at(8),
            size: i32_at(16),
            deliver_ms: i64_at(24),
            slot_ms: i64_at(32),
        })
    }
}

/// One wheel slot. All zero = never used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Slot {
    pub slot_ms: i64,
    /// Position of the slot's last log entry (the head of its backward list), -1 when empty.
    pub last_pos: i64,
    pub count: i32,
}

impl Slot {
    /// An empty slot for `slot_ms`.
    pub fn empty(slot_ms: i64) -> Slot {
        Slot {
            slot_ms,
            last_pos: -1,
            count: 0,
        }
    }

    fn encode(&self) -> [u8; SLOT_LEN as usize] {
        let mut b = [0u8; SLOT_LEN as usize];
        b[0..8].copy_from_slice(&self.slot_ms.to_be_bytes());
        b[8..16].copy_from_slice(&self.last_pos.to_be_bytes());
        b[16..20].copy_from_slice(&self.count.to_be_bytes());
        b
    }

    fn decode(b: &[u8; SLOT_LEN as usize]) -> Slot {
        Slot {
            slot_ms: i64::from_be_bytes(b[0..8].try_into().expect("8 bytes")),
            last_pos: i64::from_be_bytes(b[8..16].try_into().expect("8 bytes")),
            count: i32::from_be_bytes(b[16..20].try_into().expect("4 bytes")),
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TimerError + '_ {
    move |source| TimerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn open_rw(path: &Path) -> Result<File, TimerError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io(path))
}

/// The append-only timer log.
pub struct TimerLog {
    path: PathBuf,
    file: File,
    len: u64,
}

impl TimerLog {
    pub fn open(path: &Path) -> Result<TimerLog, TimerError> {
        let file = open_rw(path)?;
        let len = file.metadata().map_err(io(path))?.len();
        Ok(TimerLog {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    /// Bytes in the file (whole entries or not).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `entry`; returns its position.
    pub fn append(&mut self, entry: &LogEntry) -> Result<i64, TimerError> {
        let pos = self.len;
        self.file
            .write_all_at(&entry.encode(), pos)
            .map_err(io(&self.path))?;
        self.len += LOG_ENTRY_LEN;
        Ok(pos as i64)
    }

    /// The entry at `pos`; `Ok(None)` when there is no whole, written entry there.
    pub fn read(&self, pos: i64) -> Result<Option<LogEntry>, TimerError> {
        if pos < 0 || pos as u64 + LOG_ENTRY_LEN > self.len {
            return Ok(None);
        }
        let mut b = [0u8; LOG_ENTRY_LEN as usize];
        self.file
            .read_exact_at(&mut b, pos as u64)
            .map_err(io(&self.path))?;
        Ok(LogEntry::decode(&b))
    }

    /// Cuts the file to `len` bytes.
    pub fn truncate(&mut self, len: u64) -> Result<(), TimerError> {
        self.file.set_len(len).map_err(io(&self.path))?;
        self.len = len;
        Ok(())
    }

    pub fn sync(&self) -> Result<(), TimerError> {
        self.file.sync_data().map_err(io(&self.path))
    }
}

/// The wheel of slots, a sparse file of `slots * SLOT_LEN` bytes.
pub struct TimerWheel {
    path: PathBuf,
    file: File,
    slots: u64,
    precision_ms: i64,
}

impl TimerWheel {
    pub fn open(path: &Path, slots: u64, precision_ms: u64) -> Result<TimerWheel, TimerError> {
        let file = open_rw(path)?;
        let want = slots * SLOT_LEN;
        if file.metadata().map_err(io(path))?.len() != want {
            file.set_len(want).map_err(io(path))?;
        }
        Ok(TimerWheel {
            path: path.to_path_buf(),
            file,
            slots,
            precision_ms: precision_ms as i64,
        })
    }

    fn at(&self, slot_ms: i64) -> u64 {
        (slot_ms.div_euclid(self.precision_ms) as u64 % self.slots) * SLOT_LEN
    }

    /// What the slot for `slot_ms` holds, whatever time it is for.
    pub fn raw(&self, slot_ms: i64) -> Result<Slot, TimerError> {
        let mut b = [0u8; SLOT_LEN as usize];
        self.file
            .read_exact_at(&mut b, self.at(slot_ms))
            .map_err(io(&self.path))?;
        Ok(Slot::decode(&b))
    }

    /// The slot for `slot_ms`: empty if it holds another time.
    pub fn get(&self, slot_ms: i64) -> Result<Slot, TimerError> {
        let s = self.raw(slot_ms)?;
        Ok(if s.slot_ms == slot_ms {
            s
        } else {
            Slot::empty(slot_ms)
        })
    }

    pub fn put(&self, slot: &Slot) -> Result<(), TimerError> {
        self.file
            .write_all_at(&slot.encode(), self.at(slot.slot_ms))
            .map_err(io(&self.path))
    }

    pub fn sync(&self) -> Result<(), TimerError> {
        self.file.sync_data().map_err(io(&self.path))
    }
}
