//! Recovery scan of one commit-log file.
//!
//! After a restart the broker must find where valid data ends in the commit log and
//! rebuild consume queues from the records it keeps (RocketMQ `CommitLog.recover*`).
//! This module is the pure part of that: given one file's bytes and the file's start
//! offset, [`scan`] walks the records, validates each (magic, total size, optional body
//! CRC, physical offset), and reports how many bytes are valid, why it stopped, and the
//! dispatch information of every valid record. Truncating files and rebuilding queues
//! is left to the caller.
//!
//! A record whose body fails its CRC but whose frame is intact (magic, total size agreeing with
//! its fields, physical offset equal to its position) does not end the scan: the damage is in
//! that record's body alone, and the records after it are found where its total size says. It is
//! listed in [`Scan::damaged`] (and among the records, since it holds a queue offset); readers
//! verify every record they serve, so it is never sent to a consumer. Any other bad frame ends the
//! log there, as in RocketMQ: where the next record starts cannot be trusted.

use super::message::{decode, DecodeError, Decoded};

/// Why a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Zeroed, never-written space: the end of the log.
    End,
    /// The end-of-file blank marker: the file is complete, continue with the next file.
    Blank,
    /// The records fill the file exactly.
    FileFull,
    /// A record that is cut short (torn write).
    Incomplete,
    /// Bytes that are not a valid record.
    Corrupt(DecodeError),
}

/// What the dispatcher needs to know about one recovered record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedRecord {
    pub offset_in_file: usize,
    pub size: usize,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub sys_flag: i32,
    pub store_timestamp: i64,
    /// Java hash of the TAGS property, 0 without tags.
    pub tags_code: i64,
}

/// Result of scanning one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Bytes of the file that hold valid data. For [`StopReason::Blank`] this is the whole
    /// buffer (the marker and the tail it covers count as used, like RocketMQ's
    /// `wroteBytes = maxBlank`); otherwise it is the end of the last valid record.
    pub valid_len: usize,
    pub stop: StopReason,
    pub records: Vec<ScannedRecord>,
    /// Records kept whose body failed its CRC (`check_crc` only): offset in file, and why.
    pub damaged: Vec<(usize, DecodeError)>,
}

/// Scans `buf`, the full contents of the commit-log file starting at `file_start`.
/// Each record's physical-offset field must equal `file_start + offset_in_file`.
pub fn scan(buf: &[u8], file_start: u64, check_crc: bool) -> Scan {
    let mut pos = 0usize;
    let mut records = Vec::new();
    let mut damaged = Vec::new();
    let stop = loop {
        if pos == buf.len() {
            break StopReason::FileFull;
        }
        let rest = &buf[pos..];
        let decoded = match decode(rest, check_crc) {
            // The frame held together (the CRC is checked last): keep walking past the record.
            Err(crc @ DecodeError::BodyCrc { .. }) => {
                damaged.push((pos, crc));
                decode(rest, false)
            }
            other => other,
        };
        match decoded {
            Ok(Decoded::End) => break StopReason::End,
            Ok(Decoded::Incomplete) => break StopReason::Incomplete,
            Ok(Decoded::Blank { len }) => {
                if len != rest.len() {
                    break StopReason::Corrupt(DecodeError::BlankLength {
                        len: len as i32,
                        remaining: rest.len(),
                    });
                }
                pos = buf.len();
                break StopReason::Blank;
            }
            Ok(Decoded::Record(r)) => {
                let expected = file_start.saturating_add(pos as u64);
                if r.physical_offset < 0 || r.physical_offset as u64 != expected {
                    if damaged.last().is_some_and(|(at, _)| *at == pos) {
                        // Not a record with a damaged body after all: the frame is bad too.
                        damaged.pop();
                    }
                    break StopReason::Corrupt(DecodeError::PhysicalOffset {
                        stored: r.physical_offset,
                        expected,
                    });
                }
                records.push(ScannedRecord {
                    offset_in_file: pos,
                    size: r.len(),
                    topic: r.topic.to_string(),
                    queue_id: r.queue_id,
                    queue_offset: r.queue_offset,
                    sys_flag: r.sys_flag,
                    store_timestamp: r.store_timestamp,
                    tags_code: r.tags_code(),
                });
                pos += r.len();
            }
            Err(e) => break StopReason::Corrupt(e),
        }
    };
    Scan {
        valid_len: pos,
        stop,
        records,
        damaged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::message::{
        encode, patch_offsets, properties_to_string, tags_hash_code, tests::sample, write_blank,
    };
    use bytes::BytesMut;

    const START: u64 = 1 << 30;

    /// A file buffer of `size` zero bytes with `n` records, returning the buffer and the
    /// record boundaries.
    fn file_with(n: usize, size: usize) -> (Vec<u8>, Vec<usize>) {
        let mut buf = vec![0u8; size];
        let mut pos = 0;
        let mut ends = Vec::new();
        for i in 0..n {
            let props = properties_to_string([("TAGS", "tag"), ("UNIQ_KEY", "u")]);
            let m = sample("TopicA", format!("body-{i}").as_bytes(), &props);
            let mut out = BytesMut::new();
            encode(&m, &mut out).unwrap();
            patch_offsets(
                &mut out,
                i as i64,
                (START + pos as u64) as i64,
                1000 + i as i64,
            );
            buf[pos..pos + out.len()].copy_from_slice(&out);
            pos += out.len();
            ends.push(pos);
        }
        (buf, ends)
    }

    #[test]
    fn records_then_zeroes() {
        let (buf, ends) = file_with(3, 4096);
        let s = scan(&buf, START, true);
        assert_eq!(s.stop, StopReason::End);
        assert_eq!(s.valid_len, ends[2]);
        assert_eq!(s.records.len(), 3);
        let r = &s.records[1];
        assert_eq!(r.offset_in_file, ends[0]);
        assert_eq!(r.size, ends[1] - ends[0]);
        assert_eq!(
            (r.topic.as_str(), r.queue_id, r.queue_offset),
            ("TopicA", 3, 1)
        );
        assert_eq!(
            (r.store_timestamp, r.tags_code),
            (1001, tags_hash_code("tag"))
        );
    }

    #[test]
    fn records_then_garbage() {
        let (mut buf, ends) = file_with(2, 4096);
        buf[ends[1]..ends[1] + 8].copy_from_slice(&[0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef]);
        let s = scan(&buf, START, true);
        assert_eq!(s.valid_len, ends[1]);
        assert_eq!(s.records.len(), 2);
        assert!(matches!(
            s.stop,
            StopReason::Corrupt(DecodeError::BadMagic { .. })
        ));
    }

    #[test]
    fn half_record() {
        let (full, ends) = file_with(3, ends_len(3));
        let cut = ends[1] + 10;
        let s = scan(&full[..cut], START, true);
        assert_eq!(s.stop, StopReason::Incomplete);
        assert_eq!(s.valid_len, ends[1]);
        assert_eq!(s.records.len(), 2);
        // Exactly full file.
        let s = scan(&full, START, true);
        assert_eq!((s.stop, s.valid_len), (StopReason::FileFull, ends[2]));
    }

    fn ends_len(n: usize) -> usize {
        *file_with(n, 1 << 16).1.last().unwrap()
    }

    #[test]
    fn flipped_body_byte() {
        let (mut buf, ends) = file_with(3, 4096);
        // The body of record 1 starts at 84 + 4 for IPv4 hosts.
        buf[ends[0] + 88] ^= 0x40;
        let s = scan(&buf, START, true);
        // The frame is intact: the scan walks on and reports the record as damaged.
        assert_eq!((s.stop, s.valid_len), (StopReason::End, ends[2]));
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.damaged.len(), 1);
        assert_eq!(s.damaged[0].0, ends[0]);
        assert!(matches!(s.damaged[0].1, DecodeError::BodyCrc { .. }));
        // Without CRC checks the flip goes unnoticed.
        let unchecked = scan(&buf, START, false);
        assert_eq!(unchecked.records.len(), 3);
        assert!(unchecked.damaged.is_empty());
    }

    #[test]
    fn a_damaged_frame_ends_the_scan_even_with_a_damaged_body() {
        let (mut buf, ends) = file_with(3, 4096);
        buf[ends[0] + 88] ^= 0x40;
        // Record 1's physical-offset field (at 28) no longer says where it sits.
        buf[ends[0] + 28 + 7] ^= 0x01;
        let s = scan(&buf, START, true);
        assert_eq!(s.valid_len, ends[0]);
        assert!(matches!(
            s.stop,
            StopReason::Corrupt(DecodeError::PhysicalOffset { .. })
        ));
        assert!(s.damaged.is_empty());
        assert_eq!(s.records.len(), 1);
    }

    /// Found by the `record_decode` fuzz target: a damaged body in a record whose properties are
    /// not UTF-8 was listed as damaged (a record kept) although the scan stopped there.
    #[test]
    fn a_damaged_body_in_a_malformed_record_is_not_listed_as_kept() {
        let (mut buf, ends) = file_with(3, 4096);
        buf[ends[0] + 88] ^= 0x40;
        // Record 1's properties end at its last byte: make that byte invalid UTF-8.
        buf[ends[1] - 1] = 0xFF;
        let s = scan(&buf, START, true);
        assert_eq!(
            s.stop,
            StopReason::Corrupt(DecodeError::Malformed("properties are not UTF-8"))
        );
        assert_eq!((s.valid_len, s.records.len()), (ends[0], 1));
        assert!(s.damaged.is_empty(), "{:?}", s.damaged);
    }

    #[test]
    fn wrong_physical_offset() {
        let (buf, ends) = file_with(2, 4096);
        let s = scan(&buf, START + 1, true);
        assert_eq!(s.valid_len, 0);
        assert_eq!(
            s.stop,
            StopReason::Corrupt(DecodeError::PhysicalOffset {
                stored: START as i64,
                expected: START + 1
            })
        );
        assert!(ends[0] > 0);
    }

    #[test]
    fn blank_marker() {
        let (mut buf, ends) = file_with(2, 1024);
        let remaining = (1024 - ends[1]) as i32;
        write_blank(&mut buf[ends[1]..], remaining);
        buf[1020] = 0x55; // tail bytes after the marker are not looked at
        let s = scan(&buf, START, true);
        assert_eq!(s.stop, StopReason::Blank);
        assert_eq!(s.valid_len, 1024);
        assert_eq!(s.records.len(), 2);
        // A marker whose length does not reach the file end is corrupt.
        write_blank(&mut buf[ends[1]..], remaining - 1);
        let s = scan(&buf, START, true);
        assert_eq!(s.valid_len, ends[1]);
        assert!(matches!(
            s.stop,
            StopReason::Corrupt(DecodeError::BlankLength { .. })
        ));
    }

    #[test]
    fn empty_file() {
        let s = scan(&[0u8; 64], 0, true);
        assert_eq!(
            (s.valid_len, s.stop, s.records.len()),
            (0, StopReason::End, 0)
        );
        let s = scan(&[], 0, true);
        assert_eq!(s.stop, StopReason::FileFull);
    }

    proptest::proptest! {
        #[test]
        fn scan_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let s = scan(&bytes, 0, true);
            proptest::prop_assert!(s.valid_len <= bytes.len());
        }
    }
}
