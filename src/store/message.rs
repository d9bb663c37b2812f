//! The RocketMQ stored-message record ("MessageExt" on disk) and the small id formats
//! that go with it.
//!
//! Commit-log files hold these records back to back, byte-compatible with Apache
//! RocketMQ (`MessageExtEncoder` / `MessageDecoder`), all integers big-endian:
//!
//! ```text
//! totalSize i32 | magic i32 | bodyCRC i32 | queueId i32 | flag i32 | queueOffset i64 |
//! physicalOffset i64 | sysFlag i32 | bornTimestamp i64 | bornHost (ip 4|16, port i32) |
//! storeTimestamp i64 | storeHost (ip 4|16, port i32) | reconsumeTimes i32 |
//! preparedTransactionOffset i64 | bodyLen i32, body | topicLen (i8 V1 | i16 V2), topic |
//! propertiesLen i16, properties
//! ```
//!
//! Encoding happens outside the writer's critical section; the writer then only
//! [`patch_offsets`] the three fields it owns. [`decode`] is used by readers, reput and
//! recovery on bytes that may be torn or garbage, so it is total: it never panics and
//! reports what is wrong. The module also implements the property string format, the
//! consume-queue tag hash, the broker "offset msgId", the client UNIQ_KEY generator and
//! the batch-send body format.

use super::now_ms;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, BytesMut};

/// Magic code of a V1 record (1-byte topic length).
pub const MAGIC_V1: i32 = -626843481;
/// Magic code of a V2 record (2-byte topic length), used for topics over 127 bytes.
pub const MAGIC_V2: i32 = -626843477;
/// Magic code of the end-of-file blank marker (`i32 remaining | i32 BLANK_MAGIC`).
pub const BLANK_MAGIC: i32 = -875286124;

/// Byte position of the queue offset field.
pub const QUEUE_OFFSET_POS: usize = 20;
/// Byte position of the physical (commit-log) offset field.
pub const PHYSICAL_OFFSET_POS: usize = 28;
/// Byte position of the sysflag field.
pub const SYSFLAG_POS: usize = 36;
/// Byte position of the born timestamp field.
pub const BORN_TIMESTAMP_POS: usize = 40;
/// Byte position of the born host field.
pub const BORN_HOST_POS: usize = 48;
/// Smallest possible record: IPv4 hosts, V1, empty body, topic and properties.
pub const MIN_RECORD_LEN: usize = 91;
/// Length of the end-of-file blank marker (`END_FILE_MIN_BLANK_LENGTH`).
pub const BLANK_LEN: usize = 8;
/// Longest topic that is still stored with the V1 (1-byte length) layout.
pub const MAX_V1_TOPIC_LEN: usize = 127;

/// `MessageSysFlag` bits.
pub mod sys_flag {
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_NOT_TYPE: i32 = 0;
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    /// Mask of the transaction-type bits (2 and 3).
    pub const TRANSACTION_MASK: i32 = 0xC;
    pub const BORNHOST_V6: i32 = 0x10;
    pub const STOREHOST_V6: i32 = 0x20;
    pub const NEED_UNWRAP: i32 = 0x40;
    pub const INNER_BATCH: i32 = 0x80;

    /// The transaction type bits of `flag`.
    pub fn transaction_type(flag: i32) -> i32 {
        flag & TRANSACTION_MASK
    }
}

/// Well-known property names (`MessageConst`).
pub mod property {
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    /// 5.x timer messages (`rocketmq-reference-2.md` §3.2): `Message.setDelayTimeSec`,
    /// `setDelayTimeMs` and `setDeliverTimeMs` (epoch ms).
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const CLUSTER: &str = "CLUSTER";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const PGROUP: &str = "PGROUP";
    pub const INNER_NUM: &str = "INNER_NUM";
    pub const INNER_BASE: &str = "INNER_BASE";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Set by the client on a retry send (moved into the header's `j` by the Java producer).
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_ON: &str = "TRACE_ON";
    /// Set by the broker on a timer message: when it is due (epoch ms); kept on the fired copy.
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// Added to the fired copy: when the timer store took the message in, and when it fired.
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    /// Cancels the timer message with this unique key (5.x); a past-time cancel is illegal.
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
}

/// `NAME_VALUE_SEPARATOR`
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// `PROPERTY_SEPARATOR`
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// A message as handed to the store, before the writer assigns offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageToStore {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub body: bytes::Bytes,
    /// Already encoded as `name\x01value\x02...`.
    pub properties: String,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

/// Why a message cannot be encoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("topic is {len} bytes, the limit is 32767")]
    TopicTooLong { len: usize },
    #[error("properties are {len} bytes, the limit is 32767")]
    PropertiesTooLong { len: usize },
    #[error("body is {len} bytes, too long for a record")]
    BodyTooLong { len: usize },
    #[error("record would be {len} bytes, over i32::MAX")]
    RecordTooLong { len: usize },
}

/// Why bytes are not a valid record (or batch entry).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum DecodeError {
    #[error("bad magic code {magic} ({magic:#010x})")]
    BadMagic { magic: i32 },
    #[error("total size field is {total_size} but the fields add up to {computed}")]
    BadTotalSize { total_size: i32, computed: usize },
    #[error("body CRC mismatch: stored {stored}, computed {computed}")]
    BodyCrc { stored: i32, computed: i32 },
    #[error("physical offset field is {stored} but the record sits at {expected}")]
    PhysicalOffset { stored: i64, expected: u64 },
    #[error("blank marker claims {len} bytes but {remaining} remain in the file")]
    BlankLength { len: i32, remaining: usize },
    #[error("malformed record: {0}")]
    Malformed(&'static str),
}

fn host_len(v6: bool) -> usize {
    if v6 {
        20
    } else {
        8
    }
}

fn topic_len_width(topic_len: usize) -> usize {
    if topic_len > MAX_V1_TOPIC_LEN {
        2
    } else {
        1
    }
}

/// `calMsgLength`: the record length for the given sysflag and field lengths.
pub fn record_len(
    sys_flag: i32,
    body_len: usize,
    topic_len: usize,
    topic_len_width: usize,
    props_len: usize,
) -> usize {
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(sys_flag & sys_flag::BORNHOST_V6 != 0)
        + 8
        + host_len(sys_flag & sys_flag::STOREHOST_V6 != 0)
        + 4
        + 8
        + 4
        + body_len
        + topic_len_width
        + topic_len
        + 2
        + props_len
}

fn effective_sys_flag(m: &MessageToStore) -> i32 {
    let mut f = m.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
    if m.born_host.is_ipv6() {
        f |= sys_flag::BORNHOST_V6;
    }
    if m.store_host.is_ipv6() {
        f |= sys_flag::STOREHOST_V6;
    }
    f
}

/// Length of the record [`encode`] produces for `m`.
pub fn encoded_len(m: &MessageToStore) -> usize {
    record_len(
        effective_sys_flag(m),
        m.body.len(),
        m.topic.len(),
        topic_len_width(m.topic.len()),
        m.properties.len(),
    )
}

/// The body CRC as RocketMQ stores it: `crc32(body) & 0x7FFFFFFF`.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

fn put_host(out: &mut BytesMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(addr.port() as i32);
}

/// Appends the full record for `m` to `out`, with queue offset, physical offset and store
/// timestamp 0 (the writer patches them with [`patch_offsets`]). Computes the body CRC,
/// sets the BORNHOST_V6/STOREHOST_V6 bits from the address families and uses the V2
/// magic iff the topic is longer than 127 bytes.
pub fn encode(m: &MessageToStore, out: &mut BytesMut) -> Result<(), EncodeError> {
    if m.topic.len() > i16::MAX as usize {
        return Err(EncodeError::TopicTooLong { len: m.topic.len() });
    }
    if m.properties.len() > i16::MAX as usize {
        return Err(EncodeError::PropertiesTooLong {
            len: m.properties.len(),
        });
    }
    if m.body.len() > i32::MAX as usize {
        return Err(EncodeError::BodyTooLong { len: m.body.len() });
    }
    let len = encoded_len(m);
    if len > i32::MAX as usize {
        return Err(EncodeError::RecordTooLong { len });
    }
    let v2 = m.topic.len() > MAX_V1_TOPIC_LEN;
    out.reserve(len);
    out.put_i32(len as i32);
    out.put_i32(if v2 { MAGIC_V2 } else { MAGIC_V1 });
    out.put_i32(body_crc(&m.body));
    out.put_i32(m.queue_id);
    out.put_i32(m.flag);
    out.put_i64(0); // queue offset
    out.put_i64(0); // physical offset
    out.put_i32(effective_sys_flag(m));
    out.put_i64(m.born_timestamp);
    put_host(out, &m.born_host);
    out.put_i64(0); // store timestamp
    put_host(out, &m.store_host);
    out.put_i32(m.reconsume_times);
    out.put_i64(m.prepared_transaction_offset);
    out.put_i32(m.body.len() as i32);
    out.put_slice(&m.body);
    if v2 {
        out.put_i16(m.topic.len() as i16);
    } else {
        out.put_u8(m.topic.len() as u8);
    }
    out.put_slice(m.topic.as_bytes());
    out.put_i16(m.properties.len() as i16);
    out.put_slice(m.properties.as_bytes());
    Ok(())
}

/// Position of the store-timestamp field for a record with this sysflag.
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    BORN_HOST_POS + host_len(sys_flag & sys_flag::BORNHOST_V6 != 0)
}

/// Patches the three writer-owned fields of an encoded record. The store-timestamp
/// position depends on the BORNHOST_V6 bit of the record's own sysflag.
///
/// Panics if `record` is shorter than the fixed header (a writer bug, never disk data).
pub fn patch_offsets(
    record: &mut [u8],
    queue_offset: i64,
    physical_offset: i64,
    store_timestamp: i64,
) {
    record[QUEUE_OFFSET_POS..QUEUE_OFFSET_POS + 8].copy_from_slice(&queue_offset.to_be_bytes());
    record[PHYSICAL_OFFSET_POS..PHYSICAL_OFFSET_POS + 8]
        .copy_from_slice(&physical_offset.to_be_bytes());
    let sf = i32::from_be_bytes(record[SYSFLAG_POS..SYSFLAG_POS + 4].try_into().unwrap());
    let p = store_timestamp_pos(sf);
    record[p..p + 8].copy_from_slice(&store_timestamp.to_be_bytes());
}

/// A borrowed view of one decoded record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView<'a> {
    pub total_size: i32,
    pub magic: i32,
    pub body_crc: i32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    pub topic: &'a str,
    pub properties: &'a str,
}

impl<'a> RecordView<'a> {
    /// Value of property `key` (the last one wins, like Java's map).
    pub fn property(&self, key: &str) -> Option<&'a str> {
        find_property(self.properties, key)
    }
    /// The `TAGS` property.
    pub fn tags(&self) -> Option<&'a str> {
        self.property(property::TAGS)
    }
    /// The `KEYS` property (space separated keys).
    pub fn keys(&self) -> Option<&'a str> {
        self.property(property::KEYS)
    }
    /// The `UNIQ_KEY` property (client message id).
    pub fn uniq_key(&self) -> Option<&'a str> {
        self.property(property::UNIQ_KEY)
    }
    /// The consume-queue tag code: hash of TAGS, 0 without tags.
    pub fn tags_code(&self) -> i64 {
        self.tags().map(tags_hash_code).unwrap_or(0)
    }
    /// Transaction type bits of the sysflag.
    pub fn transaction_type(&self) -> i32 {
        sys_flag::transaction_type(self.sys_flag)
    }
    /// Length of the record in bytes.
    pub fn len(&self) -> usize {
        self.total_size as usize
    }
    /// Always false: a decoded record has at least [`MIN_RECORD_LEN`] bytes.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The result of [`decode`].
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded<'a> {
    /// A complete, well-formed record.
    Record(RecordView<'a>),
    /// The end-of-file blank marker; `len` is its total-size field (the file remainder).
    Blank { len: usize },
    /// Total size 0: unwritten, zeroed space.
    End,
    /// Fewer bytes than the record needs (a torn write, or a buffer ending mid-record).
    Incomplete,
}

/// Bounds-checked big-endian reader over one record. Running past the record end yields
/// `BadTotalSize` with the length the fields need so far.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    total_size: i32,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Malformed(
            "field length overflows the address space",
        ))?;
        if end > self.buf.len() {
            return Err(DecodeError::BadTotalSize {
                total_size: self.total_size,
                computed: end,
            });
        }
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    fn host(&mut self, v6: bool) -> Result<SocketAddr, DecodeError> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>()?))
        };
        let port = self.i32()?;
        let port =
            u16::try_from(port).map_err(|_| DecodeError::Malformed("host port out of range"))?;
        Ok(SocketAddr::new(ip, port))
    }
}

fn read_i32(buf: &[u8], pos: usize) -> Option<i32> {
    let b = buf.get(pos..pos.checked_add(4)?)?;
    Some(i32::from_be_bytes(b.try_into().ok()?))
}

/// `bytes` as text if they are UTF-8. Topics and properties are ASCII nearly always, and
/// `is_ascii` (word at a time) costs a fraction of `str::from_utf8` on strings this short: every
/// record is decoded at least once more after its append (index, a slave's queues), so this runs
/// for each message, twice on a slave.
#[inline]
fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

/// Decodes one record at the start of `buf`.
///
/// * `Incomplete` when `buf` is shorter than 8 bytes or than the record's total size;
/// * `End` when the first i32 is 0 (zeroed tail);
/// * `Blank` when the magic is [`BLANK_MAGIC`];
/// * with `check_crc`, the body CRC is verified.
///
/// Never panics, whatever the bytes.
pub fn decode(buf: &[u8], check_crc: bool) -> Result<Decoded<'_>, DecodeError> {
    let Some(total_size) = read_i32(buf, 0) else {
        return Ok(Decoded::Incomplete);
    };
    if total_size == 0 {
        return Ok(Decoded::End);
    }
    let Some(magic) = read_i32(buf, 4) else {
        return Ok(Decoded::Incomplete);
    };
    if magic == BLANK_MAGIC {
        if (total_size as i64) < BLANK_LEN as i64 {
            return Err(DecodeError::BadTotalSize {
                total_size,
                computed: BLANK_LEN,
            });
        }
        return Ok(Decoded::Blank {
            len: total_size as usize,
        });
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(DecodeError::BadMagic { magic });
    }
    if (total_size as i64) < MIN_RECORD_LEN as i64 {
        return Err(DecodeError::BadTotalSize {
            total_size,
            computed: MIN_RECORD_LEN,
        });
    }
    let total = total_size as usize;
    if buf.len() < total {
        return Ok(Decoded::Incomplete);
    }
    let mut c = Cursor {
        buf: &buf[..total],
        pos: 8,
        total_size,
    };
    let body_crc_stored = c.i32()?;
    let queue_id = c.i32()?;
    let flag = c.i32()?;
    let queue_offset = c.i64()?;
    let physical_offset = c.i64()?;
    let sys_flag = c.i32()?;
    let born_timestamp = c.i64()?;
    let born_host = c.host(sys_flag & sys_flag::BORNHOST_V6 != 0)?;
    let store_timestamp = c.i64()?;
    let store_host = c.host(sys_flag & sys_flag::STOREHOST_V6 != 0)?;
    let reconsume_times = c.i32()?;
    let prepared_transaction_offset = c.i64()?;
    let body_len = c.i32()?;
    let body_len =
        usize::try_from(body_len).map_err(|_| DecodeError::Malformed("negative body length"))?;
    let body = c.take(body_len)?;
    let topic_len = if magic == MAGIC_V2 {
        usize::try_from(c.i16()?).map_err(|_| DecodeError::Malformed("negative topic length"))?
    } else {
        c.u8()? as usize
    };
    let topic = c.take(topic_len)?;
    let props_len = usize::try_from(c.i16()?)
        .map_err(|_| DecodeError::Malformed("negative properties length"))?;
    let props = c.take(props_len)?;
    if c.pos != total {
        return Err(DecodeError::BadTotalSize {
            total_size,
            computed: c.pos,
        });
    }
    let topic = utf8(topic).ok_or(DecodeError::Malformed("topic is not UTF-8"))?;
    let properties = utf8(props).ok_or(DecodeError::Malformed("properties are not UTF-8"))?;
    // Last, so `BodyCrc` means the frame itself is well formed (recovery walks past such a
    // record, `store::recovery::scan`).
    if check_crc {
        let computed = body_crc(body);
        if computed != body_crc_stored {
            return Err(DecodeError::BodyCrc {
                stored: body_crc_stored,
                computed,
            });
        }
    }
    Ok(Decoded::Record(RecordView {
        total_size,
        magic,
        body_crc: body_crc_stored,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    }))
}

/// What the read path checks a record against before serving it: the fields that say which record
/// it is. Hosts are skipped and nothing is UTF-8 validated (the topic is compared as bytes), so
/// this costs a walk over the fixed fields plus the body CRC (see `store::read::verify_entry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordId<'a> {
    pub total_size: usize,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub topic: &'a [u8],
}

/// Checks that `buf` is exactly one well-formed record (magic, total size agreeing with its fields)
/// with an intact body (CRC), and returns what identifies it. The cheap sibling of [`decode`].
pub fn verify_record(buf: &[u8]) -> Result<RecordId<'_>, DecodeError> {
    let (Some(total_size), Some(magic)) = (read_i32(buf, 0), read_i32(buf, 4)) else {
        return Err(DecodeError::Malformed("shorter than a record header"));
    };
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(DecodeError::BadMagic { magic });
    }
    if usize::try_from(total_size).ok() != Some(buf.len()) {
        return Err(DecodeError::BadTotalSize {
            total_size,
            computed: buf.len(),
        });
    }
    let mut c = Cursor {
        buf,
        pos: 8,
        total_size,
    };
    let body_crc_stored = c.i32()?;
    let queue_id = c.i32()?;
    let _flag = c.i32()?;
    let queue_offset = c.i64()?;
    let physical_offset = c.i64()?;
    let sys_flag = c.i32()?;
    c.take(8 + host_len(sys_flag & sys_flag::BORNHOST_V6 != 0))?;
    c.take(8 + host_len(sys_flag & sys_flag::STOREHOST_V6 != 0))?;
    c.take(4 + 8)?;
    let body_len =
        usize::try_from(c.i32()?).map_err(|_| DecodeError::Malformed("negative body length"))?;
    let body = c.take(body_len)?;
    let topic_len = if magic == MAGIC_V2 {
        usize::try_from(c.i16()?).map_err(|_| DecodeError::Malformed("negative topic length"))?
    } else {
        c.u8()? as usize
    };
    let topic = c.take(topic_len)?;
    let props_len = usize::try_from(c.i16()?)
        .map_err(|_| DecodeError::Malformed("negative properties length"))?;
    c.take(props_len)?;
    if c.pos != buf.len() {
        return Err(DecodeError::BadTotalSize {
            total_size,
            computed: c.pos,
        });
    }
    let computed = body_crc(body);
    if computed != body_crc_stored {
        return Err(DecodeError::BodyCrc {
            stored: body_crc_stored,
            computed,
        });
    }
    Ok(RecordId {
        total_size: buf.len(),
        queue_id,
        queue_offset,
        physical_offset,
        topic,
    })
}

/// Writes the end-of-file marker `i32 remaining | i32 BLANK_MAGIC` at the start of `buf`.
/// Panics if `buf` is shorter than 8 bytes.
pub fn write_blank(buf: &mut [u8], remaining: i32) {
    buf[0..4].copy_from_slice(&remaining.to_be_bytes());
    buf[4..8].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
}

/// Encodes properties as `name\x01value\x02...`.
pub fn properties_to_string<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = String::new();
    for (k, v) in props {
        s.push_str(k);
        s.push(NAME_VALUE_SEPARATOR);
        s.push_str(v);
        s.push(PROPERTY_SEPARATOR);
    }
    s
}

/// Parses a property string like `MessageDecoder.string2messageProperties`: segments
/// shorter than 3 bytes, without a separator, or with an empty name or value are
/// ignored. Order and duplicates are preserved.
pub fn parse_properties(s: &str) -> Vec<(&str, &str)> {
    Properties::new(s).collect()
}

/// The well-formed `(name, value)` pairs of a property string, in order (see
/// [`parse_properties`] for what is skipped).
///
/// Hand-written rather than `str::split` + `split_once`: every stored record's properties are
/// walked on the send, dispatch and replication paths. On strings of 50-200 bytes with 10-40
/// byte segments the generic `char` searchers (and `memchr2`, whose per-call set-up dominates
/// at these lengths) cost several times the instructions of this walk, which looks at eight
/// bytes per step for the next separator (callgrind, `docs/benchmarks.md`). Both separators
/// are ASCII, so every cut is a `char` boundary.
#[derive(Debug, Clone)]
pub struct Properties<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Properties<'a> {
    pub fn new(s: &'a str) -> Properties<'a> {
        Properties { s, pos: 0 }
    }
}

const NAME_END: u8 = NAME_VALUE_SEPARATOR as u8;
const PAIR_END: u8 = PROPERTY_SEPARATOR as u8;

/// The index of the first byte of `bytes` at or after `from` that is below 3 (a candidate
/// separator: `\x00`, `\x01` or `\x02`), or `bytes.len()`.
///
/// Eight bytes per step ("has a byte less than n", Hacker's Delight 6-1): in
/// `(x - 0x03..03) & !x & 0x80..80` the lowest set bit marks the first byte below 3 exactly
/// (bytes of 0x80 and up never set it; a borrow only spreads upwards from a real match).
fn next_low_byte(bytes: &[u8], mut from: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x03; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    while let Some(word) = bytes.get(from..from + 8) {
        let x = u64::from_le_bytes(word.try_into().unwrap_or([0xff; 8]));
        let low = x.wrapping_sub(ONES) & !x & HIGHS;
        if low != 0 {
            return from + (low.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    bytes[from.min(bytes.len())..]
        .iter()
        .position(|&b| b < 3)
        .map_or(bytes.len(), |i| from + i)
}

impl<'a> Iterator for Properties<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let bytes = self.s.as_bytes();
        while self.pos < bytes.len() {
            let start = self.pos;
            let mut name_end = None;
            let mut at = start;
            let end = loop {
                at = next_low_byte(bytes, at);
                match bytes.get(at) {
                    None => break bytes.len(),
                    Some(&PAIR_END) => break at,
                    Some(&NAME_END) if name_end.is_none() => name_end = Some(at),
                    Some(_) => {}
                }
                at += 1;
            };
            self.pos = end + 1;
            if end - start < 3 {
                continue;
            }
            if let Some(n) = name_end {
                if n > start && n + 1 < end {
                    return Some((&self.s[start..n], &self.s[n + 1..end]));
                }
            }
        }
        None
    }
}

/// The value of `key` in a property string; the last occurrence wins.
pub fn find_property<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    Properties::new(s)
        .filter(|(k, _)| *k == key)
        .last()
        .map(|(_, v)| v)
}

/// The properties the send path and the index look at, found in one walk over a property string
/// instead of one search each (both run for every message). As with [`find_property`] (and Java's
/// property map), the last of a repeated key wins.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KnownProperties<'a> {
    pub uniq_key: Option<&'a str>,
    pub tags: Option<&'a str>,
    pub keys: Option<&'a str>,
    pub delay: Option<&'a str>,
    /// `TRAN_MSG`: the send is a transaction's half message when it reads "true".
    pub tran_msg: Option<&'a str>,
    /// Some key starts with `TIMER_`: a 5.x timer message (or its leftovers) to look at closely.
    pub timer: bool,
}

impl<'a> KnownProperties<'a> {
    pub fn scan(s: &'a str) -> KnownProperties<'a> {
        let mut found = KnownProperties::default();
        for (k, v) in Properties::new(s) {
            match k {
                property::UNIQ_KEY => found.uniq_key = Some(v),
                property::TAGS => found.tags = Some(v),
                property::KEYS => found.keys = Some(v),
                property::DELAY => found.delay = Some(v),
                property::TRAN_MSG => found.tran_msg = Some(v),
                _ if k.starts_with("TIMER_") => found.timer = true,
                _ => {}
            }
        }
        found
    }
}

/// Java `String.hashCode()` of `tags` (over UTF-16 code units, wrapping i32), widened to
/// i64: the consume-queue tag code.
pub fn tags_hash_code(tags: &str) -> i64 {
    java_hash_extend(0, tags) as i64
}

/// Java's `String.hashCode` continued from `h` over `s`'s UTF-16 code units. Keys, unique keys
/// and tags are nearly always ASCII, where a code unit is a byte: that path skips the UTF-16
/// encoder (about a third of the instructions per character).
///
/// Eight bytes per step: `h * 31^8 + b0 * 31^7 + ... + b7` (wrapping, as Java's `int` is), the
/// same value as eight steps of `h * 31 + b`, but its eight products do not wait for each other.
/// Every index key (a unique key is 32 characters) and every tag is hashed this way, on a
/// master's dispatcher and a slave's writer.
pub fn java_hash_extend(h: i32, s: &str) -> i32 {
    let step = |h: i32, c: i32| h.wrapping_mul(31).wrapping_add(c);
    if !s.is_ascii() {
        return s.encode_utf16().fold(h, |h, c| step(h, c as i32));
    }
    let mut chunks = s.as_bytes().chunks_exact(8);
    let mut h = h;
    for chunk in &mut chunks {
        let sum = chunk.iter().zip(POWERS_OF_31).fold(0i32, |sum, (&b, p)| {
            sum.wrapping_add((b as i32).wrapping_mul(p))
        });
        h = h
            .wrapping_mul(POWERS_OF_31[0].wrapping_mul(31))
            .wrapping_add(sum);
    }
    chunks.remainder().iter().fold(h, |h, &b| step(h, b as i32))
}

/// `31^7, 31^6, ..., 31, 1`, wrapping as Java's `int`: the weights of eight bytes hashed at once.
const POWERS_OF_31: [i32; 8] = {
    let mut p = [1i32; 8];
    let mut i = 7;
    while i > 0 {
        p[i - 1] = p[i].wrapping_mul(31);
        i -= 1;
    }
    p
};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xF) as usize] as char);
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    fn nib(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some((nib(p[0])? << 4) | nib(p[1])?))
        .collect()
}

/// The broker's `msgId`: upper-case hex of `ip (4|16) | i32 port | i64 commitLogOffset`.
pub fn offset_msg_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut s = String::with_capacity(56);
    match store_host.ip() {
        IpAddr::V4(ip) => push_hex(&mut s, &ip.octets()),
        IpAddr::V6(ip) => push_hex(&mut s, &ip.octets()),
    }
    push_hex(&mut s, &(store_host.port() as i32).to_be_bytes());
    push_hex(&mut s, &commit_log_offset.to_be_bytes());
    s
}

/// Reverses [`offset_msg_id`]: 32 hex characters are IPv4, 56 are IPv6.
pub fn decode_offset_msg_id(id: &str) -> Option<(SocketAddr, i64)> {
    let b = parse_hex(id)?;
    let ip_len = match b.len() {
        16 => 4,
        28 => 16,
        _ => return None,
    };
    let ip = if ip_len == 4 {
        IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&b[..4]).ok()?))
    } else {
        IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&b[..16]).ok()?))
    };
    let port = i32::from_be_bytes(b[ip_len..ip_len + 4].try_into().ok()?);
    let port = u16::try_from(port).ok()?;
    let off = i64::from_be_bytes(b[ip_len + 4..].try_into().ok()?);
    Some((SocketAddr::new(ip, port), off))
}

/// Generator of client-style message ids (`MessageClientIDSetter` layout):
/// `ip (4|16) | i16 pid | i32 per-process hash | i32 ms since the start of the current
/// month (UTC) | i16 counter`, upper-case hex (32 characters for IPv4).
#[derive(Debug, Clone)]
pub struct UniqIdGenerator {
    prefix: String,
    month_start_ms: i64,
    next_month_start_ms: i64,
    counter: u16,
}

/// A per-process value standing in for Java's class-loader hash.
fn process_hash() -> i32 {
    static HASH: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *HASH.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish() as i32
    })
}

/// Days since 1970-01-01 of the civil date (proleptic Gregorian; month 1..=12).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// (year, month 1..=12) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m)
}

/// (start of this month, start of next month) in ms since the epoch, UTC.
fn month_bounds(now_ms: i64) -> (i64, i64) {
    const DAY: i64 = 86_400_000;
    let (y, m) = civil_from_days(now_ms.div_euclid(DAY));
    let start = days_from_civil(y, m, 1) * DAY;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (start, days_from_civil(ny, nm, 1) * DAY)
}

impl UniqIdGenerator {
    /// A generator for a process running on `ip`.
    pub fn new(ip: IpAddr) -> Self {
        let mut prefix = String::with_capacity(40);
        match ip {
            IpAddr::V4(v4) => push_hex(&mut prefix, &v4.octets()),
            IpAddr::V6(v6) => push_hex(&mut prefix, &v6.octets()),
        }
        push_hex(&mut prefix, &(std::process::id() as i16).to_be_bytes());
        push_hex(&mut prefix, &process_hash().to_be_bytes());
        let (s, n) = month_bounds(now_ms());
        UniqIdGenerator {
            prefix,
            month_start_ms: s,
            next_month_start_ms: n,
            counter: 0,
        }
    }

    /// The next id.
    pub fn next_id(&mut self) -> String {
        self.next_id_at(now_ms())
    }

    fn next_id_at(&mut self, now: i64) -> String {
        if now >= self.next_month_start_ms || now < self.month_start_ms {
            let (s, n) = month_bounds(now);
            self.month_start_ms = s;
            self.next_month_start_ms = n;
        }
        let mut id = String::with_capacity(self.prefix.len() + 12);
        id.push_str(&self.prefix);
        push_hex(&mut id, &((now - self.month_start_ms) as i32).to_be_bytes());
        push_hex(&mut id, &self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        id
    }
}

/// One message of a batch-send body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry<'a> {
    pub flag: i32,
    pub body: &'a [u8],
    pub properties: &'a str,
}

/// Fixed bytes of a batch entry besides body and properties.
const BATCH_ENTRY_FIXED: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// Splits a batch-send body (`MessageDecoder.encodeMessages`) into entries
/// `i32 totalSize | i32 magic | i32 bodyCRC | i32 flag | i32 bodyLen | body | i16 propsLen
/// | props`. Validates every length; never panics.
pub fn decode_batch(body: &[u8]) -> Result<Vec<BatchEntry<'_>>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let total_size =
            read_i32(rest, 0).ok_or(DecodeError::Malformed("batch entry header truncated"))?;
        let total = usize::try_from(total_size)
            .ok()
            .filter(|t| *t >= BATCH_ENTRY_FIXED)
            .ok_or(DecodeError::BadTotalSize {
                total_size,
                computed: BATCH_ENTRY_FIXED,
            })?;
        if total > rest.len() {
            return Err(DecodeError::Malformed(
                "batch entry longer than the batch body",
            ));
        }
        let mut c = Cursor {
            buf: &rest[..total],
            pos: 4,
            total_size,
        };
        let _magic = c.i32()?;
        let _crc = c.i32()?;
        let flag = c.i32()?;
        let body_len = usize::try_from(c.i32()?)
            .map_err(|_| DecodeError::Malformed("negative batch entry body length"))?;
        let b = c.take(body_len)?;
        let props_len = usize::try_from(c.i16()?)
            .map_err(|_| DecodeError::Malformed("negative batch entry properties length"))?;
        let p = c.take(props_len)?;
        if c.pos != total {
            return Err(DecodeError::BadTotalSize {
                total_size,
                computed: c.pos,
            });
        }
        let properties = utf8(p).ok_or(DecodeError::Malformed(
            "batch entry properties are not UTF-8",
        ))?;
        out.push(BatchEntry {
            flag,
            body: b,
            properties,
        });
        rest = &rest[total..];
    }
    Ok(out)
}

/// Appends one batch entry in the batch-send format (the producer side; used in tests
/// and tools). Properties over 32767 bytes are a caller bug and are truncated by the i16.
pub fn encode_batch_entry(flag: i32, body: &[u8], properties: &str, out: &mut BytesMut) {
    let total = BATCH_ENTRY_FIXED + body.len() + properties.len();
    out.reserve(total);
    out.put_i32(total as i32);
    out.put_i32(0);
    out.put_i32(0);
    out.put_i32(flag);
    out.put_i32(body.len() as i32);
    out.put_slice(body);
    out.put_i16(properties.len() as i16);
    out.put_slice(properties.as_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn known_properties_are_found_in_one_walk_last_key_wins() {
        let s = properties_to_string([
            ("WAIT", "true"),
            ("TAGS", "A"),
            ("UNIQ_KEY", "U1"),
            ("TIMER_DELAY_MS", "10"),
            ("TAGS", "B"),
            ("DELAY", "3"),
        ]);
        let found = KnownProperties::scan(&s);
        assert_eq!(found.tags, find_property(&s, "TAGS"));
        assert_eq!(
            (
                found.tags,
                found.uniq_key,
                found.keys,
                found.delay,
                found.timer
            ),
            (Some("B"), Some("U1"), None, Some("3"), true)
        );
        let plain = KnownProperties::scan("WAIT\u{1}true\u{2}KEYS\u{1}TIMER_x\u{2}");
        let want = KnownProperties {
            keys: Some("TIMER_x"),
            ..KnownProperties::default()
        };
        assert_eq!(plain, want, "a TIMER_ value is not a TIMER_ key");
        assert_eq!(KnownProperties::scan(""), KnownProperties::default());
    }
    use proptest::prelude::*;
    use std::net::{SocketAddrV4, SocketAddrV6};

    pub(crate) fn sample(topic: &str, body: &[u8], props: &str) -> MessageToStore {
        MessageToStore {
            topic: topic.to_string(),
            queue_id: 3,
            flag: 7,
            body: bytes::Bytes::copy_from_slice(body),
            properties: props.to_string(),
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.1:4567".parse().unwrap(),
            store_host: "10.0.0.2:10911".parse().unwrap(),
            reconsume_times: 1,
            prepared_transaction_offset: 0,
        }
    }

    fn record(d: Decoded<'_>) -> RecordView<'_> {
        match d {
            Decoded::Record(r) => r,
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[test]
    fn ipv4_v1_layout() {
        let props = properties_to_string([("TAGS", "tagA"), ("KEYS", "k1 k2"), ("UNIQ_KEY", "U")]);
        let m = sample("TopicTest", b"hello", &props);
        let mut out = BytesMut::new();
        encode(&m, &mut out).unwrap();
        assert_eq!(out.len(), 91 + 5 + 9 + props.len());
        assert_eq!(out.len(), encoded_len(&m));
        assert_eq!(&out[0..4], &(out.len() as i32).to_be_bytes());
        assert_eq!(&out[4..8], &[0xDA, 0xA3, 0x20, 0xA7]);
        assert_eq!(&out[48..52], &[10, 0, 0, 1]);
        assert_eq!(&out[52..56], &4567i32.to_be_bytes());
        patch_offsets(&mut out, 42, 1 << 33, 99);
        assert_eq!(&out[56..64], &99i64.to_be_bytes());
        let r = record(decode(&out, true).unwrap());
        assert_eq!(r.queue_offset, 42);
        assert_eq!(r.physical_offset, 1 << 33);
        assert_eq!(r.store_timestamp, 99);
        assert_eq!(r.topic, "TopicTest");
        assert_eq!(r.body, b"hello");
        assert_eq!(r.tags(), Some("tagA"));
        assert_eq!(r.keys(), Some("k1 k2"));
        assert_eq!(r.uniq_key(), Some("U"));
        assert_eq!(r.property("nope"), None);
        assert_eq!(r.body_crc, body_crc(b"hello"));
        assert_eq!(r.magic, MAGIC_V1);
        assert_eq!(r.born_host, m.born_host);
        assert_eq!(r.store_host, m.store_host);
        assert_eq!(r.tags_code(), tags_hash_code("tagA"));
    }

    #[test]
    fn ipv6_and_v2() {
        let topic = "t".repeat(200);
        let mut m = sample(&topic, b"", "");
        m.born_host = "[::1]:1".parse().unwrap();
        m.store_host = "[fe80::2]:2".parse().unwrap();
        m.sys_flag = sys_flag::STOREHOST_V6 | sys_flag::TRANSACTION_COMMIT;
        let mut out = BytesMut::new();
        encode(&m, &mut out).unwrap();
        assert_eq!(out.len(), 91 + 24 + 1 + 200);
        patch_offsets(&mut out, 1, 2, 3);
        assert_eq!(&out[68..76], &3i64.to_be_bytes());
        let r = record(decode(&out, true).unwrap());
        assert_eq!(r.magic, MAGIC_V2);
        assert_eq!(
            r.sys_flag,
            sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6 | sys_flag::TRANSACTION_COMMIT
        );
        assert_eq!(r.transaction_type(), sys_flag::TRANSACTION_COMMIT);
        assert_eq!(r.store_timestamp, 3);
        assert_eq!(r.topic, topic);
        assert_eq!(r.born_host, m.born_host);
        assert_eq!(r.store_host, m.store_host);
        // 127 bytes is still V1.
        let m = sample(&"x".repeat(127), b"b", "");
        let mut out = BytesMut::new();
        encode(&m, &mut out).unwrap();
        assert_eq!(record(decode(&out, false).unwrap()).magic, MAGIC_V1);
    }

    #[test]
    fn encode_limits() {
        let mut out = BytesMut::new();
        let m = sample(&"x".repeat(32768), b"", "");
        assert_eq!(
            encode(&m, &mut out),
            Err(EncodeError::TopicTooLong { len: 32768 })
        );
        let m = sample("t", b"", &"p".repeat(40000));
        assert_eq!(
            encode(&m, &mut out),
            Err(EncodeError::PropertiesTooLong { len: 40000 })
        );
        assert!(out.is_empty());
        let m = sample(&"x".repeat(32767), b"", &"p".repeat(32767));
        encode(&m, &mut out).unwrap();
        let r = record(decode(&out, true).unwrap());
        assert_eq!(r.topic.len(), 32767);
        assert_eq!(r.properties.len(), 32767);
    }

    #[test]
    fn decode_special_cases() {
        assert_eq!(decode(&[], true), Ok(Decoded::Incomplete));
        assert_eq!(decode(&[0, 0, 0, 0], true), Ok(Decoded::End));
        assert_eq!(decode(&[0, 0, 0, 9, 1], true), Ok(Decoded::Incomplete));
        let mut b = [0u8; 16];
        write_blank(&mut b, 16);
        assert_eq!(decode(&b, true), Ok(Decoded::Blank { len: 16 }));
        write_blank(&mut b, 4);
        assert!(matches!(
            decode(&b, true),
            Err(DecodeError::BadTotalSize { .. })
        ));
        b[4..8].copy_from_slice(&1234i32.to_be_bytes());
        assert_eq!(decode(&b, true), Err(DecodeError::BadMagic { magic: 1234 }));

        let m = sample("T", b"body", "");
        let mut out = BytesMut::new();
        encode(&m, &mut out).unwrap();
        assert_eq!(decode(&out[..out.len() - 1], true), Ok(Decoded::Incomplete));
        let n = out.len();
        out[n - 5] ^= 1; // a body byte ("body" sits before topic len + topic + props len)
        match decode(&out, true) {
            Err(DecodeError::BodyCrc { .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(decode(&out, false), Ok(Decoded::Record(_))));
        // The CRC is checked last: a malformed record with a damaged body is malformed.
        let mut bad_props = BytesMut::new();
        encode(&sample("T", b"body", "k\u{1}v\u{2}"), &mut bad_props).unwrap();
        let n = bad_props.len();
        bad_props[n - 1] = 0xFF; // the last properties byte
        bad_props[n - 10] ^= 1; // a body byte: body | 1 | "T" | 2 | 4 properties bytes
        assert_eq!(
            decode(&bad_props, true),
            Err(DecodeError::Malformed("properties are not UTF-8"))
        );
        // Non-ASCII UTF-8 (past the ASCII fast path) decodes as it was written.
        let mut wide = BytesMut::new();
        encode(&sample("主题", b"body", "k\u{1}é€\u{2}"), &mut wide).unwrap();
        match decode(&wide, true) {
            Ok(Decoded::Record(r)) => {
                assert_eq!((r.topic, r.properties), ("主题", "k\u{1}é€\u{2}"))
            }
            other => panic!("{other:?}"),
        }
        // Total size that disagrees with the fields.
        let mut out2 = BytesMut::new();
        encode(&m, &mut out2).unwrap();
        out2.extend_from_slice(&[0; 4]);
        let len = out2.len() as i32;
        out2[0..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            decode(&out2, true),
            Err(DecodeError::BadTotalSize {
                total_size: len,
                computed: len as usize - 4
            })
        );
    }

    #[test]
    fn properties() {
        let s = properties_to_string([("a", "1"), ("TAGS", "x"), ("a", "2")]);
        assert_eq!(s, "a\u{1}1\u{2}TAGS\u{1}x\u{2}a\u{1}2\u{2}");
        assert_eq!(
            parse_properties(&s),
            vec![("a", "1"), ("TAGS", "x"), ("a", "2")]
        );
        assert_eq!(find_property(&s, "a"), Some("2"));
        assert_eq!(
            parse_properties("\u{2}ab\u{2}k\u{1}\u{2}\u{1}v\u{2}kk\u{1}vv"),
            vec![("kk", "vv")]
        );
    }

    #[test]
    fn java_hash_code() {
        assert_eq!(tags_hash_code(""), 0);
        assert_eq!(tags_hash_code("TagA"), 2598919);
        assert_eq!(tags_hash_code("hello world"), 1794106052);
        // Overflowing, negative: "polygenelubricants".hashCode() == Integer.MIN_VALUE
        assert_eq!(tags_hash_code("polygenelubricants"), i32::MIN as i64);
        // Non-BMP character hashes both surrogates.
        assert_eq!(
            tags_hash_code("\u{1F600}"),
            (0xD83Di32 * 31 + 0xDE00) as i64
        );
    }

    #[test]
    fn offset_msg_ids() {
        let a: SocketAddr = "192.168.0.1:10911".parse().unwrap();
        let id = offset_msg_id(a, 0x1234);
        assert_eq!(id, "C0A8000100002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id), Some((a, 0x1234)));
        assert_eq!(decode_offset_msg_id(&id.to_lowercase()), Some((a, 0x1234)));
        let b: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        let id = offset_msg_id(b, -1);
        assert_eq!(id.len(), 56);
        assert_eq!(decode_offset_msg_id(&id), Some((b, -1)));
        assert_eq!(decode_offset_msg_id("XYZ"), None);
        assert_eq!(decode_offset_msg_id(&"G".repeat(32)), None);
    }

    #[test]
    fn uniq_ids() {
        let mut g = UniqIdGenerator::new("10.1.2.3".parse().unwrap());
        let a = g.next_id();
        let b = g.next_id();
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("0A010203"));
        assert_ne!(a, b);
        assert_eq!(a[..20], b[..20]);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        let mut g6 = UniqIdGenerator::new("::1".parse().unwrap());
        assert_eq!(g6.next_id().len(), 56);
        // Month rollover: 2024-03-01T00:00:00.005Z
        let t = 1_709_251_200_005;
        let id = g.next_id_at(t);
        assert_eq!(&id[20..28], "00000005");
        assert_eq!(month_bounds(t), (1_709_251_200_000, 1_711_929_600_000));
        assert_eq!(month_bounds(1_735_689_599_999).1, 1_735_689_600_000); // Dec 2024 -> Jan 2025
    }

    #[test]
    fn batch_round_trip_and_errors() {
        let mut b = BytesMut::new();
        encode_batch_entry(1, b"one", "k\u{1}v\u{2}", &mut b);
        encode_batch_entry(2, b"", "", &mut b);
        let e = decode_batch(&b).unwrap();
        assert_eq!(
            e,
            vec![
                BatchEntry {
                    flag: 1,
                    body: b"one",
                    properties: "k\u{1}v\u{2}"
                },
                BatchEntry {
                    flag: 2,
                    body: b"",
                    properties: ""
                }
            ]
        );
        assert!(decode_batch(&b[..b.len() - 1]).is_err());
        assert!(decode_batch(&[]).unwrap().is_empty());
        let mut bad = BytesMut::new();
        encode_batch_entry(1, b"one", "", &mut bad);
        bad[16..20].copy_from_slice(&100i32.to_be_bytes()); // body len beyond entry
        assert!(matches!(
            decode_batch(&bad),
            Err(DecodeError::BadTotalSize { .. })
        ));
    }

    fn arb_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::V4(SocketAddrV4::new(ip.into(), p))),
            (any::<[u8; 16]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::V6(SocketAddrV6::new(ip.into(), p, 0, 0))),
        ]
    }

    fn arb_msg() -> impl Strategy<Value = MessageToStore> {
        (
            "[a-zA-Z0-9%_-]{1,200}",
            any::<i32>(),
            any::<i32>(),
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(("[A-Z_]{1,8}", "[ -~]{1,20}"), 0..5),
            any::<i32>(),
            any::<i64>(),
            arb_addr(),
            arb_addr(),
            (any::<i32>(), any::<i64>()),
        )
            .prop_map(
                |(topic, queue_id, flag, body, props, sf, born, bh, sh, (rt, pto))| {
                    MessageToStore {
                        topic,
                        queue_id,
                        flag,
                        body: body.into(),
                        properties: properties_to_string(
                            props.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                        ),
                        sys_flag: sf,
                        born_timestamp: born,
                        born_host: bh,
                        store_host: sh,
                        reconsume_times: rt,
                        prepared_transaction_offset: pto,
                    }
                },
            )
    }

    /// Java's `string2messageProperties` as `str::split` says it (the walker's reference).
    fn split_reference(s: &str) -> Vec<(&str, &str)> {
        s.split(PROPERTY_SEPARATOR)
            .filter(|seg| seg.len() >= 3)
            .filter_map(|seg| seg.split_once(NAME_VALUE_SEPARATOR))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .collect()
    }

    #[test]
    fn property_walker_edge_cases() {
        for s in [
            "",
            "\u{2}",
            "a\u{1}",
            "\u{1}b",
            "ab",
            "a\u{1}b\u{1}c\u{2}",
            "é\u{1}ü\u{2}x",
        ] {
            assert_eq!(parse_properties(s), split_reference(s), "{s:?}");
        }
        assert_eq!(find_property("K\u{1}1\u{2}K\u{1}2", "K"), Some("2"));
        assert_eq!(find_property("K\u{1}1\u{2}", "k"), None);
    }

    proptest! {
        #[test]
        fn java_hash_eight_at_a_time_is_the_char_by_char_hash(h in any::<i32>(), s in ".{0,40}", ascii in "[ -~]{0,70}") {
            let naive = |h: i32, s: &str| s.encode_utf16().fold(h, |h, c| h.wrapping_mul(31).wrapping_add(c as i32));
            prop_assert_eq!(java_hash_extend(h, &s), naive(h, &s));
            prop_assert_eq!(java_hash_extend(h, &ascii), naive(h, &ascii));
        }

        #[test]
        fn record_round_trip(m in arb_msg(), qo in any::<i64>(), po in any::<i64>(), ts in any::<i64>()) {
            let mut out = BytesMut::new();
            out.extend_from_slice(b"pre");
            encode(&m, &mut out).unwrap();
            let rec = &mut out[3..];
            prop_assert_eq!(rec.len(), encoded_len(&m));
            patch_offsets(rec, qo, po, ts);
            let r = match decode(rec, true).unwrap() { Decoded::Record(r) => r, o => panic!("{o:?}") };
            prop_assert_eq!(r.topic, m.topic.as_str());
            prop_assert_eq!(r.queue_id, m.queue_id);
            prop_assert_eq!(r.flag, m.flag);
            prop_assert_eq!(r.body, &m.body[..]);
            prop_assert_eq!(r.properties, m.properties.as_str());
            prop_assert_eq!(r.sys_flag & !0x30, m.sys_flag & !0x30);
            prop_assert_eq!(r.born_timestamp, m.born_timestamp);
            prop_assert_eq!(r.born_host, m.born_host);
            prop_assert_eq!(r.store_host, m.store_host);
            prop_assert_eq!(r.reconsume_times, m.reconsume_times);
            prop_assert_eq!(r.prepared_transaction_offset, m.prepared_transaction_offset);
            prop_assert_eq!((r.queue_offset, r.physical_offset, r.store_timestamp), (qo, po, ts));
            prop_assert_eq!(r.total_size as usize, rec.len());
            // Every strict prefix is Incomplete.
            let cut = rec.len() / 2;
            prop_assert_eq!(decode(&rec[..cut], true), Ok(Decoded::Incomplete));
        }

        #[test]
        fn property_walker_matches_split(s in "[a\u{0}\u{1}\u{2}\u{3}\u{7f}é€K]{0,80}") {
            prop_assert_eq!(parse_properties(&s), split_reference(&s));
            let last = split_reference(&s).into_iter().rev().find(|(k, _)| *k == "K").map(|(_, v)| v);
            prop_assert_eq!(find_property(&s, "K"), last);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), crc in any::<bool>()) {
            let _ = decode(&bytes, crc);
            let _ = decode_batch(&bytes);
        }

        #[test]
        fn decode_mutated_never_panics(m in arb_msg(), pos in any::<usize>(), val in any::<u8>()) {
            let mut out = BytesMut::new();
            encode(&m, &mut out).unwrap();
            let p = pos % out.len();
            out[p] = val;
            let _ = decode(&out, true);
        }

        #[test]
        fn verify_record_agrees_with_decode(m in arb_msg(), qo in any::<i64>(), po in any::<i64>(), pos in any::<usize>(), val in any::<u8>()) {
            let mut out = BytesMut::new();
            encode(&m, &mut out).unwrap();
            patch_offsets(&mut out, qo, po, 1);
            let id = verify_record(&out).unwrap();
            prop_assert_eq!((id.queue_id, id.queue_offset, id.physical_offset), (m.queue_id, qo, po));
            prop_assert_eq!(id.topic, m.topic.as_bytes());
            prop_assert_eq!(id.total_size, out.len());
            // Any change decode (with CRC) rejects, verify_record rejects too (or it only touched
            // what verify_record does not check: hosts, timestamps, UTF-8 of the properties).
            let p = pos % out.len();
            out[p] = val;
            if decode(&out, true).is_err() && !matches!(decode(&out, true), Err(DecodeError::Malformed(_))) {
                prop_assert!(verify_record(&out).is_err());
            }
            let _ = verify_record(&out[..p]);
        }

        #[test]
        fn props_round_trip(props in proptest::collection::vec(("[A-Za-z_]{1,10}", "[^\u{1}\u{2}]{1,20}"), 0..8)) {
            let s = properties_to_string(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let parsed = parse_properties(&s);
            let expect: Vec<(&str, &str)> = props.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(parsed, expect);
        }

        #[test]
        fn batch_round_trip(entries in proptest::collection::vec((any::<i32>(), proptest::collection::vec(any::<u8>(), 0..100), "[ -~]{0,30}"), 0..6)) {
            let mut b = BytesMut::new();
            for (f, body, p) in &entries { encode_batch_entry(*f, body, p, &mut b); }
            let d = decode_batch(&b).unwrap();
            prop_assert_eq!(d.len(), entries.len());
            for (e, (f, body, p)) in d.iter().zip(&entries) {
                prop_assert_eq!(e.flag, *f);
                prop_assert_eq!(e.body, &body[..]);
                prop_assert_eq!(e.properties, p.as_str());
            }
        }

        #[test]
        fn msg_id_round_trip(a in arb_addr(), off in any::<i64>()) {
            prop_assert_eq!(decode_offset_msg_id(&offset_msg_id(a, off)), Some((a, off)));
        }
    }
}
