//! Stored-record decoding and verification (`store::message`): `decode` (with and without the
//! body CRC), `verify_record` (the read path's check), the recovery scan of a buffer
//! (`store::recovery::scan`), batch-send bodies (`decode_batch`) and property strings.
//!
//! Input: the bytes of a record (or of anything claiming to be one).
//!
//! Checked: nothing panics; `decode` and `verify_record` agree on what is a record; a decoded
//! record re-encodes (`encode` + `patch_offsets`) to the same bytes; a scan stays inside the
//! buffer and every record it keeps decodes where it says; batch entries tile the body.
#![no_main]

use actormq::store::message::{
    decode, decode_batch, encode, find_property, parse_properties, patch_offsets, tags_hash_code,
    verify_record, DecodeError, Decoded, MessageToStore, RecordView, MAGIC_V2, MAX_V1_TOPIC_LEN,
};
use actormq::store::recovery::{scan, StopReason};
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;

/// `encode` writes V2 exactly for topics over 127 bytes; other records cannot come out the same.
fn encodable(r: &RecordView<'_>) -> bool {
    (r.magic == MAGIC_V2) == (r.topic.len() > MAX_V1_TOPIC_LEN)
}

fn reencode(r: &RecordView<'_>, original: &[u8]) {
    let m = MessageToStore {
        topic: r.topic.to_string(),
        queue_id: r.queue_id,
        flag: r.flag,
        body: Bytes::copy_from_slice(r.body),
        properties: r.properties.to_string(),
        sys_flag: r.sys_flag,
        born_timestamp: r.born_timestamp,
        born_host: r.born_host,
        store_host: r.store_host,
        reconsume_times: r.reconsume_times,
        prepared_transaction_offset: r.prepared_transaction_offset,
    };
    let mut out = BytesMut::new();
    encode(&m, &mut out).expect("a decoded record encodes");
    patch_offsets(
        &mut out,
        r.queue_offset,
        r.physical_offset,
        r.store_timestamp,
    );
    assert_eq!(&out[..], original, "re-encoded record differs");
}

fn record(data: &[u8]) {
    match decode(data, true) {
        Ok(Decoded::Record(r)) => {
            let bytes = &data[..r.len()];
            let id = verify_record(bytes).expect("a decoded record verifies");
            assert_eq!(id.total_size, r.len());
            assert_eq!(
                (id.queue_id, id.queue_offset, id.physical_offset),
                (r.queue_id, r.queue_offset, r.physical_offset)
            );
            assert_eq!(id.topic, r.topic.as_bytes());
            let _ = (r.tags(), r.keys(), r.uniq_key(), r.tags_code());
            let props = parse_properties(r.properties);
            if let Some((k, v)) = props.last() {
                assert_eq!(find_property(r.properties, k), Some(*v));
            }
            if encodable(&r) {
                reencode(&r, bytes);
            }
        }
        Ok(Decoded::Blank { len }) => assert!(len >= 8),
        Ok(Decoded::End) | Ok(Decoded::Incomplete) | Err(_) => {}
    }
    // Without the CRC check, only the CRC can make the difference.
    match (decode(data, false), decode(data, true)) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Ok(Decoded::Record(_)), Err(e)) => assert!(matches!(e, DecodeError::BodyCrc { .. })),
        (a, b) => assert_eq!(a.is_err(), b.is_err(), "{a:?} / {b:?}"),
    }
    // What the read path accepts, decode accepts too (verify skips host ports and UTF-8).
    if verify_record(data).is_ok() {
        match decode(data, true) {
            Ok(Decoded::Record(r)) => assert_eq!(r.len(), data.len()),
            Err(DecodeError::Malformed(_)) => {}
            other => panic!("verify_record accepted what decode calls {other:?}"),
        }
    }
}

fn scanned(data: &[u8]) {
    for check_crc in [false, true] {
        let s = scan(data, 0, check_crc);
        assert!(s.valid_len <= data.len());
        if s.stop == StopReason::Blank || s.stop == StopReason::FileFull {
            assert_eq!(s.valid_len, data.len());
        }
        let mut end = 0;
        for r in &s.records {
            assert_eq!(r.offset_in_file, end, "records are contiguous");
            match decode(&data[r.offset_in_file..], false) {
                Ok(Decoded::Record(v)) => {
                    assert_eq!(v.len(), r.size);
                    assert_eq!(v.topic, r.topic);
                    assert_eq!(v.tags_code(), r.tags_code);
                }
                other => panic!("scan kept a non-record: {other:?}"),
            }
            end += r.size;
        }
        assert!(end <= s.valid_len);
        for (at, _) in &s.damaged {
            assert!(s.records.iter().any(|r| r.offset_in_file == *at));
        }
    }
}

fn batch(data: &[u8]) {
    if let Ok(entries) = decode_batch(data) {
        let mut covered = 0;
        for e in &entries {
            let _ = parse_properties(e.properties);
            let _ = find_property(e.properties, "TAGS").map(tags_hash_code);
            covered += 4 * 5 + 2 + e.body.len() + e.properties.len();
        }
        assert_eq!(covered, data.len(), "batch entries do not tile the body");
    }
}

fuzz_target!(|data: &[u8]| {
    record(data);
    scanned(data);
    batch(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_properties(text);
        let _ = find_property(text, "UNIQ_KEY");
    }
});
