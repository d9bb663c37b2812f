//! The delivery state machine of the delay levels (`ScheduleMessageService.DeliverDelayedMessageTimerTask`),
//! one cursor per level over its queue of `SCHEDULE_TOPIC_XXXX`. The `Scheduler` actor asks
//! [`Schedule::next`] what a level wants and does it: read entries from the store, append a due
//! message to its real topic, or sleep. Answers come back through [`Schedule::read`] and
//! [`Schedule::appended`].
//!
//! - A record is due at its store time + the level's delay (Java's consume-queue tag code, which is
//!   that same sum; the record's own timestamp also holds for entries rebuilt by recovery). Clock
//!   guard (`correctDeliverTimestamp`): a delivery time further away than `now + delay(level)`
//!   (the clock went back) is due now.
//! - Not due: the level's offset is saved (Java's `updateOffset(currOffset)`) and the level sleeps
//!   until it is due (at most [`MAX_SLEEP_MS`], so a wall-clock jump is noticed).
//! - Due: one append at a time per level; the offset moves past the entry only once the append
//!   succeeded. A failed append is retried after [`RETRY_MS`].
//! - A record that cannot be turned back (no `REAL_TOPIC`, bad `REAL_QID`, real topic
//!   `RMQ_SYS_TRANS_HALF_TOPIC`) or whose file was deleted is skipped, as Java does.
//! - An empty queue is read again when the dispatcher says it grew (the `Scheduler` watches
//!   `SCHEDULE_TOPIC_XXXX`), and at the latest after [`EMPTY_RECHECK_MS`]; Java polls every
//!   100 ms (`DELAY_FOR_A_WHILE`), which here would be 180 cross-thread reads a second, idle.

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::BytesMut;

use super::offsets::DelayOffsets;
use super::redeliver::{tags_code, to_real_topic};
use super::{queue_id, DelayLevels, TRANS_HALF_TOPIC};
use crate::store::message::{decode, encode, Decoded};
use crate::store::read::{QueueSlice, QueuedRecord};

/// Java's `DELAY_FOR_A_WHILE`: an empty queue or a failed append is looked at again after this.
pub const RETRY_MS: i64 = 100;
/// An empty level is read again after this unless the dispatcher reports new entries first.
pub const EMPTY_RECHECK_MS: i64 = 1000;
/// Longest sleep before a level looks at its next entry again.
pub const MAX_SLEEP_MS: i64 = 1000;
/// Entries read from the store at once.
pub const READ_BATCH: usize = 32;
/// What the scheduler removes from a message going back to its real topic: nothing. Java's
/// `messageTimeUp` (5.3.3 and 4.9.8) builds the property string it stores before it clears `DELAY`
/// from the property map, so the delivered record keeps `DELAY=<level>` (the cleared map only
/// stops the put from scheduling it again; here the scheduler appends straight to the writer).
pub const REMOVED_PROPERTIES: &[&str] = &[];

/// What a level wants done next.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Read up to `max` entries of `SCHEDULE_TOPIC_XXXX` queue `queue_id` from offset `from`, then
    /// call [`Schedule::read`].
    Read {
        queue_id: i32,
        from: i64,
        max: usize,
    },
    /// Append `record` (one encoded record) to `topic`/`queue_id`, then call
    /// [`Schedule::appended`] with `queue_offset`.
    Deliver {
        queue_offset: i64,
        topic: String,
        queue_id: i32,
        record: BytesMut,
        tags_code: i64,
    },
    /// Ask again after `ms`.
    Sleep { ms: i64 },
    /// An entry was skipped (the reason is for the log); ask again at once.
    Skipped { queue_offset: i64, reason: String },
    /// A read or an append is out, or the schedule is paused: its answer (or nothing) comes next.
    Wait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    Idle,
    Reading,
    Appending(i64),
}

#[derive(Debug)]
struct Cursor {
    /// The next queue offset to deliver.
    offset: i64,
    buffer: VecDeque<QueuedRecord>,
    busy: Busy,
    /// The last read found nothing, or the last append failed: look again only after this many
    /// ms.
    back_off: Option<i64>,
    /// The queue grew while a read was out: an empty answer is stale, read again at once.
    grew: bool,
}

/// Every level's cursor and the offsets to persist.
#[derive(Debug)]
pub struct Schedule {
    levels: DelayLevels,
    offsets: DelayOffsets,
    dirty: bool,
    cursors: Vec<Cursor>,
    store_host: SocketAddr,
    paused: bool,
}

impl Schedule {
    /// Starts each level at its saved offset (0 if none).
    pub fn new(levels: DelayLevels, offsets: DelayOffsets, store_host: SocketAddr) -> Schedule {
        let cursors = levels
            .levels()
            .map(|level| Cursor {
                offset: offsets.get(level).unwrap_or(0),
                buffer: VecDeque::new(),
                busy: Busy::Idle,
                back_off: None,
                grew: false,
            })
            .collect();
        Schedule {
            levels,
            offsets,
            dirty: false,
            cursors,
            store_host,
            paused: false,
        }
    }

    pub fn levels(&self) -> &DelayLevels {
        &self.levels
    }

    pub fn offsets(&self) -> &DelayOffsets {
        &self.offsets
    }

    /// Appends out and not yet answered.
    pub fn appends_in_flight(&self) -> usize {
        let appending = |c: &&Cursor| matches!(c.busy, Busy::Appending(_));
        self.cursors.iter().filter(appending).count()
    }

    /// A slave's metadata sync: the master's offsets replace these (written at the next persist).
    /// Only a paused schedule (a slave's) takes them: its cursors deliver nothing.
    pub fn replace_offsets(&mut self, offsets: DelayOffsets) -> bool {
        if !self.paused || offsets == self.offsets {
            return false;
        }
        self.offsets = offsets;
        self.dirty = true;
        true
    }

    /// Shutdown: no further reads or appends; answers of those out are still taken.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    fn cursor(&mut self, level: i32) -> Option<&mut Cursor> {
        let i = usize::try_from(level).ok()?.checked_sub(1)?;
        self.cursors.get_mut(i)
    }

    fn save(&mut self, level: i32, offset: i64) {
        self.dirty |= self.offsets.set(level, offset);
    }

    /// The offsets to write, if they changed since the last call (with a new data version).
    pub fn take_changed(&mut self, now_ms: i64) -> Option<DelayOffsets> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        self.offsets.next_version(now_ms);
        Some(self.offsets.clone())
    }

    /// Writing the offsets failed: they are written again next time.
    pub fn persist_failed(&mut self) {
        self.dirty = true;
    }

    /// What `level` wants done at `now_ms`.
    pub fn next(&mut self, level: i32, now_ms: i64) -> Step {
        let (paused, store_host) = (self.paused, self.store_host);
        let Some(delay) = self.levels.delay_ms(level) else {
            return Step::Wait;
        };
        let Some(c) = self.cursor(level) else {
            return Step::Wait;
        };
        if paused || c.busy != Busy::Idle {
            return Step::Wait;
        }
        if let Some(ms) = c.back_off.take() {
            return Step::Sleep { ms };
        }
        while c.buffer.front().is_some_and(|e| e.queue_offset < c.offset) {
            c.buffer.pop_front();
        }
        let Some(entry) = c.buffer.front() else {
            c.busy = Busy::Reading;
            return Step::Read {
                queue_id: queue_id(level),
                from: c.offset,
                max: READ_BATCH,
            };
        };
        let queue_offset = entry.queue_offset;
        let decoded = entry.record.as_deref().map(|b| decode(b, false));
        let view = match decoded {
            Some(Ok(Decoded::Record(view))) => view,
            None => {
                return self.skip(
                    level,
                    queue_offset,
                    "its commit-log file was deleted".into(),
                )
            }
            Some(other) => {
                let reason = format!("the stored record does not decode: {other:?}");
                return self.skip(level, queue_offset, reason);
            }
        };
        let due = deliver_at(view.store_timestamp, delay, now_ms);
        if due > now_ms {
            self.save(level, queue_offset);
            return Step::Sleep {
                ms: (due - now_ms).min(MAX_SLEEP_MS),
            };
        }
        let message = match to_real_topic(&view, REMOVED_PROPERTIES, store_host) {
            Ok(m) if m.topic == TRANS_HALF_TOPIC => {
                let reason = format!("its real topic is {TRANS_HALF_TOPIC}");
                return self.skip(level, queue_offset, reason);
            }
            Ok(m) => m,
            Err(e) => return self.skip(level, queue_offset, e.to_string()),
        };
        let mut record = BytesMut::new();
        if let Err(e) = encode(&message, &mut record) {
            return self.skip(level, queue_offset, e.to_string());
        }
        if let Some(c) = self.cursor(level) {
            c.busy = Busy::Appending(queue_offset);
        }
        Step::Deliver {
            queue_offset,
            tags_code: tags_code(&message),
            topic: message.topic,
            queue_id: message.queue_id,
            record,
        }
    }

    /// Moves past an entry that cannot be delivered.
    fn skip(&mut self, level: i32, queue_offset: i64, reason: String) -> Step {
        if let Some(c) = self.cursor(level) {
            c.buffer.pop_front();
            c.offset = queue_offset + 1;
        }
        self.save(level, queue_offset + 1);
        Step::Skipped {
            queue_offset,
            reason,
        }
    }

    /// The dispatcher indexed new entries in `level`'s queue: an empty-read back-off ends (the
    /// next [`Schedule::next`] reads at once; a failed append still waits its retry).
    pub fn grew(&mut self, level: i32) {
        if let Some(c) = self.cursor(level) {
            c.grew = c.busy == Busy::Reading;
            if c.back_off == Some(EMPTY_RECHECK_MS) {
                c.back_off = None;
            }
        }
    }

    /// The answer to a [`Step::Read`].
    pub fn read(&mut self, level: i32, slice: QueueSlice) {
        let Some(c) = self.cursor(level) else {
            return;
        };
        c.busy = Busy::Idle;
        match slice.records.first() {
            None => {
                // Java resets an offset outside the queue to its bounds.
                c.offset = c.offset.max(slice.min).min(slice.max.max(slice.min));
                if !std::mem::take(&mut c.grew) {
                    c.back_off = Some(EMPTY_RECHECK_MS);
                }
            }
            Some(first) => {
                c.grew = false;
                c.offset = c.offset.max(first.queue_offset);
                c.buffer.extend(slice.records);
            }
        }
    }

    /// The answer to a [`Step::Deliver`]: the offset moves past the entry only when `stored`.
    pub fn appended(&mut self, level: i32, queue_offset: i64, stored: bool) {
        let Some(c) = self.cursor(level) else {
            return;
        };
        if c.busy != Busy::Appending(queue_offset) {
            return;
        }
        c.busy = Busy::Idle;
        if !stored {
            c.back_off = Some(RETRY_MS);
            return;
        }
        if c.buffer
            .front()
            .is_some_and(|e| e.queue_offset == queue_offset)
        {
            c.buffer.pop_front();
        }
        c.offset = queue_offset + 1;
        self.save(level, queue_offset + 1);
    }
}

/// When a record stored at `store_timestamp` in a level of `delay_ms` is due, with Java's guard
/// against the clock going back: a time further away than a whole delay from `now_ms` is now.
pub fn deliver_at(store_timestamp: i64, delay_ms: i64, now_ms: i64) -> i64 {
    let due = store_timestamp.saturating_add(delay_ms);
    if due > now_ms.saturating_add(delay_ms) {
        now_ms
    } else {
        due
    }
}

#[cfg(test)]
mod tests;
