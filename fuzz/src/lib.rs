//! What the fuzz targets and the seed-corpus generator share: how each target cuts its input into
//! parameters and payload, in both directions (`*_input` builds an input, the targets parse it),
//! so seeds written by `seed_corpus` mean what the targets read.

use actormq::protocol::{request_code, SerializeType, DEFAULT_MAX_FRAME_LEN};

/// `frame_codec`: `u16 max | u8 n | n piece lengths | stream`. `max` 0 is the default maximum
/// frame length (16 MiB); the stream arrives in pieces of the given lengths (0 counts as 1), then
/// the rest in one piece.
pub struct FrameInput<'a> {
    pub max_frame_len: usize,
    pub pieces: Vec<&'a [u8]>,
    pub stream_len: usize,
}

impl<'a> FrameInput<'a> {
    pub fn parse(data: &'a [u8]) -> Option<FrameInput<'a>> {
        let (&[a, b, n], rest) = data.split_first_chunk::<3>()?;
        let max_frame_len = match u16::from_be_bytes([a, b]) {
            0 => DEFAULT_MAX_FRAME_LEN,
            v => usize::from(v),
        };
        let n = usize::from(n % 32).min(rest.len());
        let (lens, mut stream) = rest.split_at(n);
        let stream_len = stream.len();
        let mut pieces = Vec::with_capacity(n + 1);
        for &len in lens {
            let (head, tail) = stream.split_at(usize::from(len).max(1).min(stream.len()));
            pieces.push(head);
            stream = tail;
        }
        pieces.push(stream);
        Some(FrameInput {
            max_frame_len,
            pieces,
            stream_len,
        })
    }
}

/// A `frame_codec` input: the default maximum, `stream` cut into pieces of `piece_lens`.
pub fn frame_input(piece_lens: &[u8], stream: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, piece_lens.len() as u8];
    out.extend_from_slice(piece_lens);
    out.extend_from_slice(stream);
    out
}

/// Every request code whose header the broker reads (the processors' `CODES`).
pub const HEADER_CODES: &[i32] = &[
    request_code::SEND_MESSAGE,
    request_code::SEND_MESSAGE_V2,
    request_code::SEND_BATCH_MESSAGE,
    request_code::PULL_MESSAGE,
    request_code::LITE_PULL_MESSAGE,
    request_code::VIEW_MESSAGE_BY_ID,
    request_code::GET_TOPIC_CONFIG,
    request_code::QUERY_CONSUMER_OFFSET,
    request_code::UPDATE_CONSUMER_OFFSET,
    request_code::SEARCH_OFFSET_BY_TIMESTAMP,
    request_code::GET_MAX_OFFSET,
    request_code::GET_MIN_OFFSET,
    request_code::UPDATE_AND_CREATE_TOPIC,
    request_code::DELETE_TOPIC_IN_BROKER,
    request_code::CONSUMER_SEND_MSG_BACK,
    request_code::HEART_BEAT,
    request_code::UNREGISTER_CLIENT,
    request_code::GET_CONSUMER_LIST_BY_GROUP,
    request_code::LOCK_BATCH_MQ,
    request_code::UNLOCK_BATCH_MQ,
    request_code::GET_ROUTEINFO_BY_TOPIC,
    request_code::GET_BROKER_RUNTIME_INFO,
];

/// `header_decode`: `u8 selector | u16 header length | header | body`. Selector bit 0 is the
/// serialize type (0 JSON, 1 ROCKETMQ); the rest indexes [`HEADER_CODES`] (modulo its length).
pub struct HeaderInput<'a> {
    pub serialize_type: SerializeType,
    pub code: i32,
    pub header: &'a [u8],
    pub body: &'a [u8],
}

impl<'a> HeaderInput<'a> {
    pub fn parse(data: &'a [u8]) -> Option<HeaderInput<'a>> {
        let (&[selector, a, b], rest) = data.split_first_chunk::<3>()?;
        let serialize_type = if selector & 1 == 0 {
            SerializeType::Json
        } else {
            SerializeType::RocketMq
        };
        let code = HEADER_CODES[usize::from(selector >> 1) % HEADER_CODES.len()];
        let header_len = usize::from(u16::from_be_bytes([a, b])).min(rest.len());
        let (header, body) = rest.split_at(header_len);
        Some(HeaderInput {
            serialize_type,
            code,
            header,
            body,
        })
    }
}

/// A `header_decode` input. Panics if `code` is not in [`HEADER_CODES`] or the header is over
/// 64 KiB (seed-writing bugs).
pub fn header_input(code: i32, st: SerializeType, header: &[u8], body: &[u8]) -> Vec<u8> {
    let index = HEADER_CODES
        .iter()
        .position(|c| *c == code)
        .expect("a code the target knows");
    let selector = (index as u8) << 1 | st.as_u8();
    let len = u16::try_from(header.len()).expect("header under 64 KiB");
    let mut out = vec![selector];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

/// `recovery_scan`: `u8 flags | bytes`, commit-log files of [`FILE_SIZE`] bytes (padded
/// with zeros), then optionally a consume-queue file.
pub mod recovery {
    /// Size of each commit-log file the target writes.
    pub const FILE_SIZE: u64 = 4096;
    /// Entries per consume-queue file (small, so files are small).
    pub const CQ_ENTRIES_PER_FILE: u64 = 64;
    /// The topic whose queue 0 the input's consume-queue file is.
    pub const CQ_TOPIC: &str = "TopicTest";
    /// Two commit-log files (the bytes are cut after the first file's size).
    pub const TWO_FILES: u8 = 1;
    /// Bits 1-2: which scan (see [`scan_of`]).
    pub const SCAN_NO_CRC: u8 = 1 << 1;
    pub const SCAN_LAST_FILES: u8 = 2 << 1;
    /// The bytes after the commit-log files are the consume queue of [`CQ_TOPIC`] queue 0.
    pub const WITH_CONSUME_QUEUE: u8 = 1 << 3;

    /// The scan the flags ask for (0 and 3: everything with CRC checks, as after a crash;
    /// [`SCAN_NO_CRC`]: everything without; [`SCAN_LAST_FILES`]: the last file, as after a
    /// clean stop), and whether it checks CRCs.
    pub fn scan_of(flags: u8) -> (actormq::store::commit_log::Scan, bool) {
        use actormq::store::commit_log::Scan;
        match (flags >> 1) & 3 {
            1 => (Scan::Everything { check_crc: false }, false),
            2 => (Scan::LastFiles(1), false),
            _ => (Scan::Everything { check_crc: true }, true),
        }
    }
}
