//! A slave's commit log: the master's bytes written at the same physical offsets (RocketMQ's
//! `CommitLog.appendData` on a slave, `DefaultHAClient.dispatchReadRequest`).
//!
//! The master streams raw commit-log bytes in chunks that may split records (never files). Each
//! chunk must start exactly at this log's write offset and stay inside one file; the log rolls at
//! the same file boundaries as the master's, since the files are the same size and the master's
//! own blank marker ends each file. Before any byte is written, every record the chunk completes
//! is decoded and checked (magic, total size, body CRC, and the physical offset the master
//! stamped into it equals where it lands here), so bytes that are not the master's commit log —
//! or a master whose log diverged from this one — are refused instead of stored. The records
//! become `DispatchRun`s exactly like local appends, so the dispatcher builds this broker's own
//! consume queues from them; a partial trailing record waits for the rest of its bytes.

use std::sync::Arc;

use super::{AppendError, CommitLog, WriteMode};
use crate::store::consume_queue::{CqEntry, DispatchRun};
use crate::store::index::{push_keys, IndexedKey};
use crate::store::message::{decode, tags_hash_code, Decoded, KnownProperties};

/// Why replicated bytes were refused (nothing of the chunk was written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    #[error("master pushed offset {got} not equal to this log's write offset {expected}")]
    OffsetMismatch { expected: u64, got: u64 },
    #[error("chunk at {offset} of {len} bytes crosses the end of a {file_size}-byte commit-log file (are store.commitlog_file_bytes equal on master and slave?)")]
    CrossesFile {
        offset: u64,
        len: u64,
        file_size: u64,
    },
    #[error("replicated bytes at commit-log offset {offset} are not a valid record: {why}")]
    Corrupt { offset: u64, why: String },
    #[error("writing replicated bytes failed: {0:?}")]
    Write(AppendError),
}

impl CommitLog {
    /// A master's bytes `bytes`, which sit at commit-log offset `offset` on the master: checked
    /// (see the module comment), written at the same offset, published, and the records they
    /// complete queued for dispatch. Returns the new write offset.
    pub fn append_replicated(&mut self, offset: u64, bytes: &[u8]) -> Result<u64, ReplicaError> {
        if self.sealed {
            return Err(ReplicaError::Write(AppendError::Sealed));
        }
        if offset != self.write_offset {
            return Err(ReplicaError::OffsetMismatch {
                expected: self.write_offset,
                got: offset,
            });
        }
        if bytes.is_empty() {
            return Ok(self.write_offset);
        }
        let len = bytes.len() as u64;
        let in_file = offset % self.file_size;
        if in_file + len > self.file_size {
            return Err(ReplicaError::CrossesFile {
                offset,
                len,
                file_size: self.file_size,
            });
        }
        let Parsed {
            runs,
            keys,
            resume_at,
        } = self.parse_replicated(offset, bytes)?;
        let file_start = offset - in_file;
        let active_start = self.active.as_ref().map(|w| w.file().start_offset());
        if active_start != Some(file_start) {
            if in_file != 0 {
                return Err(ReplicaError::Corrupt {
                    offset,
                    why: "no open commit-log file holds this offset".into(),
                });
            }
            self.roll_to(file_start).map_err(ReplicaError::Write)?;
            self.publish(file_start);
        }
        self.put(in_file as usize, bytes)
            .map_err(ReplicaError::Write)?;
        self.write_offset += len;
        match self.mode {
            WriteMode::Mapped => self.publish(self.write_offset),
            WriteMode::Staged => self.write_staged().map_err(ReplicaError::Write)?,
        }
        self.replica_parse_at = resume_at;
        for run in &runs {
            let next = run.first_queue_offset + run.entries.len() as i64;
            self.with_topic_queues(
                &run.topic,
                || run.topic.clone(),
                |queues| {
                    let slot = queues.next.entry(run.queue_id).or_insert(0);
                    *slot = (*slot).max(next);
                },
            );
        }
        append_moved(&mut self.to_dispatch, runs);
        append_moved(&mut self.to_index, keys);
        Ok(self.write_offset)
    }

    /// The records `bytes` (at `offset`) complete. A record begun in an earlier chunk is read
    /// back from the active file.
    fn parse_replicated(&self, offset: u64, bytes: &[u8]) -> Result<Parsed, ReplicaError> {
        let parse_at = self.replica_parse_at.max(self.files_floor());
        let end = offset + bytes.len() as u64;
        // Sized for the records a chunk of this many bytes usually holds, so that the vectors
        // seldom grow (each growth copies every run so far).
        let records = bytes.len() / TYPICAL_RECORD_BYTES + 1;
        let mut parsed = Parsed {
            runs: Vec::with_capacity(records),
            keys: Vec::with_capacity(if self.replica_index { records } else { 0 }),
            resume_at: parse_at,
        };
        if parse_at >= end {
            // Inside the space behind a blank marker: nothing to read there.
            return Ok(parsed);
        }
        let mut at = parse_at;
        if parse_at < offset {
            // A record begun in an earlier chunk: join its head (already stored here) with just
            // the bytes that complete it, not the whole chunk.
            let head = self
                .read_own(parse_at, offset)
                .ok_or_else(|| ReplicaError::Corrupt {
                    offset: parse_at,
                    why: "a record begun in an earlier chunk crosses a file boundary".into(),
                })?;
            let take = straddle_len(head, bytes)
                .saturating_sub(head.len())
                .min(bytes.len());
            let joined = [head, &bytes[..take]].concat();
            at = self.parse_records(&joined, at, &mut parsed)?;
            if at < offset + take as u64 {
                parsed.resume_at = at;
                return Ok(parsed);
            }
        }
        if at < end {
            at = self.parse_records(&bytes[(at - offset) as usize..], at, &mut parsed)?;
        }
        parsed.resume_at = at;
        Ok(parsed)
    }

    /// Parses the records in `buf`, which starts at commit-log offset `at`, into `parsed`, up to
    /// the first incomplete one; returns the offset after the last complete one (past a blank
    /// marker, the end of its file).
    fn parse_records(
        &self,
        buf: &[u8],
        mut at: u64,
        parsed: &mut Parsed,
    ) -> Result<u64, ReplicaError> {
        let mut pos = 0usize;
        let corrupt = |offset: u64, why: String| ReplicaError::Corrupt { offset, why };
        while pos < buf.len() {
            let rest = &buf[pos..];
            let in_file_left = self.file_size - at % self.file_size;
            match decode(rest, true) {
                Ok(Decoded::Incomplete) => {
                    if rest.len() >= 4 {
                        let size = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
                        if size <= 0 || size as u64 > in_file_left {
                            let why =
                                format!("total size {size}, {in_file_left} bytes left in its file");
                            return Err(corrupt(at, why));
                        }
                    }
                    break;
                }
                Ok(Decoded::End) => {
                    return Err(corrupt(at, "zeros where a record should start".into()));
                }
                Ok(Decoded::Blank { len }) => {
                    if len as u64 != in_file_left {
                        let why =
                            format!("blank marker of {len} bytes, {in_file_left} left in its file");
                        return Err(corrupt(at, why));
                    }
                    // The rest of the file is padding; records resume in the next file.
                    at += in_file_left;
                    pos = pos.saturating_add(in_file_left as usize);
                }
                Ok(Decoded::Record(view)) => {
                    let size = view.len() as u64;
                    if view.physical_offset != at as i64 {
                        let why = format!(
                            "the record says it sits at {} (the master's log diverged from this one)",
                            view.physical_offset
                        );
                        return Err(corrupt(at, why));
                    }
                    if size + super::BLANK_MARKER_LEN > in_file_left {
                        return Err(corrupt(at, "record crosses its file's end".into()));
                    }
                    // One walk over the properties: the tag code, and the index keys.
                    let found = KnownProperties::scan(view.properties);
                    let entry = CqEntry {
                        commit_log_offset: at as i64,
                        size: size as i32,
                        tags_code: found.tags.map_or(0, tags_hash_code),
                    };
                    if self.replica_index {
                        let (ts, flag) = (view.store_timestamp, view.sys_flag);
                        push_keys(view.topic, at as i64, ts, flag, &found, &mut parsed.keys);
                    }
                    let run = (view.queue_id, view.queue_offset, entry);
                    push_entry(&mut parsed.runs, view.topic, run, |t| self.shared_topic(t));
                    at += size;
                    pos += size as usize;
                }
                Err(e) => return Err(corrupt(at, e.to_string())),
            }
        }
        Ok(at)
    }

    /// `topic`'s name as this log's dispatch runs share it (a new one for a topic not seen yet;
    /// it is taken into the table with the chunk).
    fn shared_topic(&self, topic: &str) -> Arc<str> {
        self.queue_offsets
            .get(topic)
            .map_or_else(|| topic.into(), |queues| queues.name.clone())
    }

    /// Start of the oldest file (nothing below it can be parsed).
    fn files_floor(&self) -> u64 {
        self.files.first().map_or(0, |f| f.start_offset())
    }

    /// This log's own published bytes `[from, to)`, if they lie in the active file.
    fn read_own(&self, from: u64, to: u64) -> Option<&[u8]> {
        let file = self.active.as_ref()?.file();
        let start = file.start_offset();
        if from < start || to > start + file.size() {
            return None;
        }
        file.read((from - start) as usize, (to - from) as usize)
    }
}

/// What a replicated chunk completes: its records as dispatch runs, their index keys (with
/// [`CommitLog::derive_index_keys`]), and where parsing resumes after them.
struct Parsed {
    runs: Vec<DispatchRun>,
    keys: Vec<IndexedKey>,
    resume_at: u64,
}

/// A small message's record (a 128-byte body, a topic and the client's usual properties): what
/// the dispatch vectors of a chunk are sized by.
const TYPICAL_RECORD_BYTES: usize = 192;

/// Moves `from` to the end of `to`; when `to` is empty (the dispatcher took everything before),
/// by taking `from`'s buffer instead of copying into `to`'s.
fn append_moved<T>(to: &mut Vec<T>, mut from: Vec<T>) {
    if to.is_empty() {
        *to = from;
    } else {
        to.append(&mut from);
    }
}

/// Adds a record to the last run if it continues it (same queue, next queue offset), else starts
/// a new run, naming its topic as the last run does when they match, else `shared(topic)`.
fn push_entry(
    runs: &mut Vec<DispatchRun>,
    topic: &str,
    (queue_id, queue_offset, e): (i32, i64, CqEntry),
    shared: impl FnOnce(&str) -> Arc<str>,
) {
    let mut name = None;
    if let Some(last) = runs.last_mut() {
        if &*last.topic == topic {
            let next = last.first_queue_offset + last.entries.len() as i64;
            if last.queue_id == queue_id && next == queue_offset {
                last.entries.push(e);
                return;
            }
            name = Some(last.topic.clone());
        }
    }
    runs.push(DispatchRun {
        topic: name.unwrap_or_else(|| shared(topic)),
        queue_id,
        first_queue_offset: queue_offset,
        entries: smallvec::smallvec![e],
    });
}

/// The length of the item (record or blank marker) that starts at `head` and continues into
/// `rest`, from its total-size field; the length of both together when that field is not yet
/// complete or is not a positive size (the parse then reports it).
fn straddle_len(head: &[u8], rest: &[u8]) -> usize {
    let mut size = [0u8; 4];
    for (i, b) in head.iter().chain(rest).take(4).enumerate() {
        size[i] = *b;
    }
    let all = head.len() + rest.len();
    match usize::try_from(i32::from_be_bytes(size)) {
        Ok(n) if n > 0 && head.len() + rest.len() >= 4 => n,
        _ => all,
    }
}
