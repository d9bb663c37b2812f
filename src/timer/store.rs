//! [`TimerStore`]: the timer's state machine over its two files (`format.rs`) and its cursors.
//!
//! - *Enqueue cursor*: the next consume-queue offset of `rmq_sys_wheel_timer` queue 0 to file.
//!   [`TimerStore::enqueue`] appends one log entry per message and links it into its slot.
//! - *Dequeue cursor*: the start of the earliest slot with an undelivered message. Slots are read
//!   ahead into a small in-memory window ([`TimerStore::load`]) just before they start; the window
//!   hands out messages at their exact deliver time ([`TimerStore::due`]), and the cursor moves
//!   past a slot when every message of it was delivered ([`TimerStore::done`]).
//! - *Checkpoint* (`timer/checkpoint.json`, written by temp file + rename): both cursors, the log
//!   length they describe, and the log positions already delivered in slots at or after the
//!   dequeue cursor (a partly delivered slot), so a clean stop delivers nothing twice.
//!
//! Recovery after `kill -9`: log entries past the checkpointed length are undone in the wheel
//! (each slot gets back the head it had at the checkpoint: the `prev` of its first later entry)
//! and cut, and the enqueue cursor, checkpointed with that length, files them again. Messages
//! delivered after the last checkpoint are delivered again (at least once).
//!
//! The wheel spans twice the longest allowed delay (as Java's does), so every accepted message has
//! a slot of its own time; a slot still holding undelivered messages of another time (possible only
//! when delivery lags more than the maximum delay, or after lowering it) refuses new entries
//! ([`TimerError::SlotTaken`]) until delivery frees it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::format::{LogEntry, Slot, TimerLog, TimerWheel, LOG_ENTRY_LEN};
use super::TimerError;
use crate::store::paths;

/// Read ahead no further than this many pending messages (a slot is always read whole).
pub const DEFAULT_MAX_WINDOW: usize = 200_000;
/// Empty slots one `load` call walks at most (catching up after a long stop).
const MAX_SLOTS_PER_LOAD: usize = 100_000;

/// The timer store's shape: slot width and slot count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerShape {
    pub precision_ms: u64,
    pub slots: u64,
}

impl TimerShape {
    /// A wheel of `precision_ms` slots spanning twice `max_delay_sec`.
    pub fn new(precision_ms: u64, max_delay_sec: u64) -> TimerShape {
        let span = max_delay_sec.saturating_mul(2000);
        TimerShape {
            precision_ms,
            slots: span.div_ceil(precision_ms.max(1)).max(2),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Checkpoint {
    precision_ms: u64,
    slots: u64,
    enqueue_offset: i64,
    log_end: u64,
    dequeue_ms: i64,
    /// Undelivered messages filed in the log below `log_end`.
    pending: u64,
    /// Log positions delivered in slots at or after `dequeue_ms`.
    delivered: Vec<i64>,
}

/// A message handed out for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub deliver_ms: i64,
    /// Its timer-log position (its identity in the store).
    pub pos: i64,
    pub commit_log_offset: i64,
    pub size: i32,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    commit_log_offset: i64,
    size: i32,
    slot_ms: i64,
    in_flight: bool,
}

pub struct TimerStore {
    checkpoint_path: PathBuf,
    log: TimerLog,
    wheel: TimerWheel,
    shape: TimerShape,
    enqueue_offset: i64,
    /// Slots before this are in the window (or done).
    loaded_until: i64,
    /// Read-ahead messages by (deliver time, log position).
    window: BTreeMap<(i64, i64), Pending>,
    /// Undelivered window messages per slot: the first key is the dequeue cursor.
    per_slot: BTreeMap<i64, usize>,
    /// Delivered log positions and their slots, kept while the slot may be read again.
    delivered: BTreeMap<i64, i64>,
    /// Delivered before the last stop: skipped when their slot is read.
    skip: HashSet<i64>,
    /// Undelivered messages in the log.
    pending: u64,
    max_window: usize,
}

impl TimerStore {
    /// Opens (or creates) the store in `dir`; `now_ms` places the cursor of a new store.
    pub fn open(dir: &Path, shape: TimerShape, now_ms: i64) -> Result<TimerStore, TimerError> {
        std::fs::create_dir_all(dir).map_err(|source| TimerError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let checkpoint_path = paths::timer_checkpoint(dir);
        let saved = read_checkpoint(&checkpoint_path)?;
        let precision = shape.precision_ms as i64;
        let cp = saved.unwrap_or(Checkpoint {
            precision_ms: shape.precision_ms,
            slots: shape.slots,
            enqueue_offset: 0,
            log_end: 0,
            dequeue_ms: now_ms.div_euclid(precision) * precision,
            pending: 0,
            delivered: Vec::new(),
        });
        if (cp.precision_ms, cp.slots) != (shape.precision_ms, shape.slots) {
            return Err(TimerError::ShapeChanged {
                path: dir.to_path_buf(),
                was: (cp.precision_ms, cp.slots),
                now: (shape.precision_ms, shape.slots),
            });
        }
        let mut log = TimerLog::open(&paths::timer_log(dir))?;
        let wheel = TimerWheel::open(&paths::timer_wheel(dir), shape.slots, shape.precision_ms)?;
        if log.len() < cp.log_end {
            return Err(TimerError::Corrupt {
                path: paths::timer_log(dir),
                what: format!(
                    "{} bytes, the checkpoint says {} were written",
                    log.len(),
                    cp.log_end
                ),
            });
        }
        undo_tail(&log, &wheel, cp.log_end, cp.dequeue_ms)?;
        if log.len() > cp.log_end {
            log.truncate(cp.log_end)?;
        }
        Ok(TimerStore {
            checkpoint_path,
            log,
            wheel,
            shape,
            enqueue_offset: cp.enqueue_offset,
            loaded_until: cp.dequeue_ms,
            window: BTreeMap::new(),
            per_slot: BTreeMap::new(),
            delivered: BTreeMap::new(),
            skip: cp.delivered.into_iter().collect(),
            pending: cp.pending,
            max_window: DEFAULT_MAX_WINDOW,
        })
    }

    /// Caps the read-ahead (tests).
    pub fn set_max_window(&mut self, n: usize) {
        self.max_window = n.max(1);
    }

    /// The next consume-queue offset to file.
    pub fn enqueue_offset(&self) -> i64 {
        self.enqueue_offset
    }

    /// Moves the enqueue cursor forward without filing (the queue's entries below `offset` are
    /// gone); never backward.
    pub fn skip_to(&mut self, offset: i64) {
        self.enqueue_offset = self.enqueue_offset.max(offset);
    }

    /// Start of the earliest slot with an undelivered message (or of the next slot to read).
    pub fn dequeue_ms(&self) -> i64 {
        self.per_slot
            .keys()
            .next()
            .copied()
            .unwrap_or(self.loaded_until)
    }

    /// Undelivered messages in the store.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Messages read ahead into memory.
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    fn slot_of(&self, ms: i64) -> i64 {
        let p = self.shape.precision_ms as i64;
        ms.div_euclid(p) * p
    }

    /// Files the message at consume-queue offset `cq_offset` (offsets below the cursor were filed
    /// already and are ignored). Past-due messages go into the current slot.
    pub fn enqueue(
        &mut self,
        cq_offset: i64,
        commit_log_offset: i64,
        size: i32,
        deliver_ms: i64,
    ) -> Result<(), TimerError> {
        if cq_offset < self.enqueue_offset {
            return Ok(());
        }
        // Never into a slot the dequeue cursor has passed (it would not be read again).
        let natural = self.slot_of(deliver_ms);
        let slot_ms = natural.max(self.dequeue_ms());
        let raw = self.wheel.raw(slot_ms)?;
        let slot = if raw.slot_ms == slot_ms {
            raw
        } else if raw.count > 0 && raw.slot_ms >= self.dequeue_ms() {
            return Err(TimerError::SlotTaken {
                slot_ms,
                held_by: raw.slot_ms,
            });
        } else {
            Slot::empty(slot_ms)
        };
        let entry = LogEntry {
            prev: slot.last_pos,
            commit_log_offset,
            size,
            deliver_ms,
            slot_ms,
        };
        let pos = self.log.append(&entry)?;
        self.wheel.put(&Slot {
            slot_ms,
            last_pos: pos,
            count: slot.count + 1,
        })?;
        // Due within what is read ahead already (possibly filed under the next slot to read, when
        // the window is empty): into the window now; `load` will not take it twice.
        if natural < self.loaded_until {
            self.add_to_window(pos, &entry);
        }
        self.pending += 1;
        self.enqueue_offset = cq_offset + 1;
        Ok(())
    }

    fn add_to_window(&mut self, pos: i64, e: &LogEntry) {
        if self.window.contains_key(&(e.deliver_ms, pos)) {
            return;
        }
        let p = Pending {
            commit_log_offset: e.commit_log_offset,
            size: e.size,
            slot_ms: e.slot_ms,
            in_flight: false,
        };
        self.window.insert((e.deliver_ms, pos), p);
        *self.per_slot.entry(e.slot_ms).or_default() += 1;
    }

    /// Reads ahead every slot that starts by `now_ms + precision`, while the window has room.
    /// Returns the number of messages read.
    pub fn load(&mut self, now_ms: i64) -> Result<usize, TimerError> {
        let precision = self.shape.precision_ms as i64;
        let mut read = 0;
        for _ in 0..MAX_SLOTS_PER_LOAD {
            if self.loaded_until > now_ms + precision || self.window.len() >= self.max_window {
                break;
            }
            let slot_ms = self.loaded_until;
            let slot = self.wheel.get(slot_ms)?;
            // The backward list ends at -1 (`prev < pos` keeps a broken one from looping).
            let mut pos = slot.last_pos;
            while pos >= 0 {
                let Some(e) = self.log.read(pos)? else {
                    return Err(self.broken(pos, slot_ms));
                };
                if e.slot_ms != slot_ms || e.prev >= pos {
                    return Err(self.broken(pos, slot_ms));
                }
                if self.skip.remove(&pos) {
                    self.delivered.insert(pos, slot_ms);
                } else if !self.delivered.contains_key(&pos) {
                    self.add_to_window(pos, &e);
                    read += 1;
                }
                pos = e.prev;
            }
            self.loaded_until = slot_ms + precision;
        }
        Ok(read)
    }

    fn broken(&self, pos: i64, slot_ms: i64) -> TimerError {
        TimerError::Corrupt {
            path: self.checkpoint_path.with_file_name("timerlog"),
            what: format!("entry at {pos} does not belong to slot {slot_ms}"),
        }
    }

    /// Up to `max` messages due at `now_ms`, in deliver-time order, now in flight.
    pub fn due(&mut self, now_ms: i64, max: usize) -> Vec<Due> {
        let mut out = Vec::new();
        for (&(deliver_ms, pos), p) in self.window.range_mut(..(now_ms + 1, i64::MIN)) {
            if out.len() >= max {
                break;
            }
            if p.in_flight {
                continue;
            }
            p.in_flight = true;
            out.push(Due {
                deliver_ms,
                pos,
                commit_log_offset: p.commit_log_offset,
                size: p.size,
            });
        }
        out
    }

    /// The outcome of delivering `due`: delivered (`ok`), or to be handed out again.
    pub fn done(&mut self, due: &[Due], ok: bool) {
        for d in due {
            let key = (d.deliver_ms, d.pos);
            if !ok {
                if let Some(p) = self.window.get_mut(&key) {
                    p.in_flight = false;
                }
                continue;
            }
            let Some(p) = self.window.remove(&key) else {
                continue;
            };
            if let Some(n) = self.per_slot.get_mut(&p.slot_ms) {
                *n -= 1;
                if *n == 0 {
                    self.per_slot.remove(&p.slot_ms);
                }
            }
            self.pending = self.pending.saturating_sub(1);
            self.delivered.insert(d.pos, p.slot_ms);
        }
    }

    /// When something next needs doing: the earliest waiting message, or the next read-ahead.
    pub fn next_wake(&self) -> i64 {
        let next_load = self.loaded_until - self.shape.precision_ms as i64;
        let first = self
            .window
            .iter()
            .find(|(_, p)| !p.in_flight)
            .map(|((ms, _), _)| *ms);
        first.map_or(next_load, |ms| ms.min(next_load))
    }

    /// Syncs both files and persists the cursors. With nothing pending, the log starts over.
    pub fn checkpoint(&mut self) -> Result<(), TimerError> {
        let dequeue = self.dequeue_ms();
        self.delivered.retain(|_, slot| *slot >= dequeue);
        let reset = self.pending == 0 && self.window.is_empty() && !self.log.is_empty();
        self.log.sync()?;
        self.wheel.sync()?;
        let mut delivered: Vec<i64> = self.delivered.keys().copied().collect();
        delivered.extend(self.skip.iter().copied());
        let cp = Checkpoint {
            precision_ms: self.shape.precision_ms,
            slots: self.shape.slots,
            enqueue_offset: self.enqueue_offset,
            log_end: if reset { 0 } else { self.log.len() },
            dequeue_ms: dequeue,
            pending: self.pending,
            delivered: if reset { Vec::new() } else { delivered },
        };
        let json = serde_json::to_vec(&cp).expect("checkpoint serializes");
        paths::write_atomic(&self.checkpoint_path, &json).map_err(|e| TimerError::Checkpoint {
            path: self.checkpoint_path.clone(),
            why: e.to_string(),
        })?;
        if reset {
            // Every slot at or after the cursor is empty: nothing links to the old entries.
            self.log.truncate(0)?;
            self.delivered.clear();
            self.skip.clear();
        }
        Ok(())
    }
}

fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>, TimerError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| TimerError::Corrupt {
                path: path.to_path_buf(),
                what: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TimerError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Undoes, in the wheel, the log entries written after the checkpoint (`[log_end, len)`): each
/// touched slot gets back the head and count it had at the checkpoint.
fn undo_tail(
    log: &TimerLog,
    wheel: &TimerWheel,
    log_end: u64,
    dequeue_ms: i64,
) -> Result<(), TimerError> {
    // slot -> (head at the checkpoint, entries added since, the last of them)
    let mut touched: BTreeMap<i64, (i64, i32, i64)> = BTreeMap::new();
    let mut pos = log_end;
    while pos + LOG_ENTRY_LEN <= log.len() {
        if let Some(e) = log.read(pos as i64)? {
            if e.slot_ms >= dequeue_ms {
                let t = touched.entry(e.slot_ms).or_insert((e.prev, 0, 0));
                t.1 += 1;
                t.2 = pos as i64;
            }
        }
        pos += LOG_ENTRY_LEN;
    }
    for (slot_ms, (head, added, last)) in touched {
        let now = wheel.raw(slot_ms)?;
        if now.slot_ms != slot_ms {
            continue;
        }
        // A kill between the log append and the slot write leaves the last entry uncounted.
        let counted = if now.last_pos == last {
            added
        } else {
            added - 1
        };
        let restored = if head < 0 {
            Slot::empty(slot_ms)
        } else {
            Slot {
                slot_ms,
                last_pos: head,
                count: (now.count - counted).max(0),
            }
        };
        wheel.put(&restored)?;
    }
    Ok(())
}
