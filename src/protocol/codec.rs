//! Frame codec for the RocketMQ remoting protocol (`rocketmq-reference.md` §1.1, §1.3,
//! §1.4), shared by broker connections and the client.
//!
//! A frame is `i32 total | i32 (serType << 24 | headerLen) | header | body`, big-endian.
//! The decoder checks the length against `max_frame_len` and never reserves memory for the
//! announced length (a peer must not make us allocate 16 MiB by sending four bytes: the buffer
//! grows with the bytes that arrive), waits for the whole frame, then
//! parses the header in whichever encoding the peer chose and hands the body out as a
//! zero-copy `Bytes` slice of the receive buffer. Any error means the byte stream can no
//! longer be trusted: the connection should log it and close, as Java's `NettyDecoder` does.

use std::borrow::Cow;
use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use tokio_util::codec::{Decoder, Encoder};

use super::code::{LanguageCode, SerializeType};
use super::command::RemotingCommand;
use super::ext_fields::ExtFields;

/// Java's `NettyDecoder` limit (16 MiB, `com.rocketmq.remoting.frameMaxLength`).
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// The header length shares a word with the type byte, so it has 24 bits.
const MAX_HEADER_LEN: usize = 0x00FF_FFFF;

/// Fixed part of the ROCKETMQ binary header: code, language, version, opaque, flag.
const BINARY_FIXED_LEN: usize = 2 + 1 + 2 + 4 + 4;

/// Why a frame could not be decoded or encoded. Every decode error is fatal for the
/// connection: framing is lost.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("frame length {len} exceeds the maximum {max}")]
    FrameTooLarge { len: usize, max: usize },
    #[error("frame length {len} is too short (minimum 4)")]
    FrameTooShort { len: usize },
    #[error("header length {header_len} exceeds frame length {frame_len}")]
    BadHeaderLength { header_len: usize, frame_len: usize },
    #[error("unknown header serialize type {0} (expected 0 = JSON or 1 = ROCKETMQ)")]
    UnknownSerializeType(u8),
    #[error("malformed JSON header: {0}")]
    BadJsonHeader(#[source] serde_json::Error),
    #[error("malformed ROCKETMQ binary header: {0}")]
    BadBinaryHeader(String),
    /// Encoding only: the header does not fit the 24-bit length field.
    #[error("encoded header length {len} exceeds the 24-bit limit {max}", max = MAX_HEADER_LEN)]
    HeaderTooLarge { len: usize },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Decoder and encoder of [`RemotingCommand`] frames.
#[derive(Debug, Clone)]
pub struct RemotingCodec {
    /// Largest accepted value of the leading length field (which excludes itself), both
    /// when decoding and when encoding.
    max_frame_len: usize,
}

impl RemotingCodec {
    /// A codec accepting frames whose length field is at most `max_frame_len`
    /// (clamped to `i32::MAX`, the largest length Java can express).
    pub fn new(max_frame_len: usize) -> Self {
        RemotingCodec {
            max_frame_len: max_frame_len.min(i32::MAX as usize),
        }
    }
}

impl RemotingCodec {
    /// The length field of the frame at the start of `src` (excluding the field itself), checked
    /// against the limits, or `None` if fewer than 4 bytes are there.
    pub fn frame_len(&self, src: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let Some(&[a, b, c, d]) = src.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([a, b, c, d]) as usize;
        if len > self.max_frame_len {
            return Err(ProtocolError::FrameTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        if len < 4 {
            return Err(ProtocolError::FrameTooShort { len });
        }
        Ok(Some(len))
    }
}

impl Default for RemotingCodec {
    fn default() -> Self {
        RemotingCodec::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = ProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, ProtocolError> {
        let Some(len) = self.frame_len(src)? else {
            return Ok(None);
        };
        // No reserve for the rest of the frame: the buffer grows with the bytes that actually
        // arrive, so a header promising 16 MiB costs nothing until they do.
        if src.len() < 4 + len {
            return Ok(None);
        }

        let mut frame = src.split_to(4 + len);
        frame.advance(4);
        let word = frame.get_u32();
        let type_byte = (word >> 24) as u8;
        let header_len = (word & 0x00FF_FFFF) as usize;
        if header_len > len - 4 {
            return Err(ProtocolError::BadHeaderLength {
                header_len,
                frame_len: len,
            });
        }
        let serialize_type = SerializeType::from_u8(type_byte)
            .ok_or(ProtocolError::UnknownSerializeType(type_byte))?;
        let header = frame.split_to(header_len).freeze();
        let mut cmd = decode_header(serialize_type, header)?;
        cmd.body = frame.freeze();
        Ok(Some(cmd))
    }
}

impl Encoder<&RemotingCommand> for RemotingCodec {
    type Error = ProtocolError;

    fn encode(&mut self, cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        let start = dst.len();
        dst.reserve(8 + 256 + cmd.body.len());
        dst.put_u32(0); // total, patched below
        dst.put_u32(0); // type | header length, patched below
        if let Err(e) = encode_header(cmd, dst) {
            dst.truncate(start);
            return Err(e);
        }
        let header_len = dst.len() - start - 8;
        let len = 4 + header_len + cmd.body.len();
        if len > self.max_frame_len {
            dst.truncate(start);
            return Err(ProtocolError::FrameTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        // encode_header guarantees header_len <= MAX_HEADER_LEN; max_frame_len <= i32::MAX.
        let word = (u32::from(cmd.serialize_type.as_u8()) << 24) | header_len as u32;
        dst[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
        dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
        dst.extend_from_slice(&cmd.body);
        Ok(())
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = ProtocolError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        Encoder::<&RemotingCommand>::encode(self, &cmd, dst)
    }
}

/// Appends `cmd`'s header, encoded as `cmd.serialize_type`, to `out` (header bytes only:
/// no length words, no body). On error `out` may hold a partial header.
pub fn encode_header(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<(), ProtocolError> {
    let start = out.len();
    match cmd.serialize_type {
        SerializeType::Json => encode_json_header(cmd, out)?,
        SerializeType::RocketMq => encode_binary_header(cmd, out)?,
    }
    let len = out.len() - start;
    if len > MAX_HEADER_LEN {
        return Err(ProtocolError::HeaderTooLarge { len });
    }
    Ok(())
}

/// Parses a header in the given encoding into a command with an empty body; the command
/// records `serialize_type` so a caller can see what the peer used. JSON `extFields` keys and
/// values without escapes share `header`'s buffer instead of being copied.
pub fn decode_header(
    serialize_type: SerializeType,
    header: Bytes,
) -> Result<RemotingCommand, ProtocolError> {
    match serialize_type {
        SerializeType::Json => decode_json_header(header),
        SerializeType::RocketMq => decode_binary_header(&header),
    }
}

// ---------------------------------------------------------------------------------------
// JSON header (§1.3)

/// Incoming JSON header. Only `code` is required; `null` counts as absent; unknown
/// fields (e.g. `serializeTypeCurrentRPC`, which the type byte already says) are ignored.
#[derive(Deserialize)]
struct JsonHeaderIn<'a> {
    code: i32,
    #[serde(default)]
    language: Option<LanguageCode>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    opaque: Option<i32>,
    #[serde(default)]
    flag: Option<i32>,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, borrow, rename = "extFields")]
    ext_fields: Option<ExtFieldsIn<'a>>,
}

/// `extFields` as parsed: strings without escapes borrow the header text (turned into slices
/// of its buffer afterwards), numbers and booleans are stringified, nulls skipped.
struct ExtFieldsIn<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> ExtFieldsIn<'a> {
    /// `text` is the header these strings were parsed from.
    fn into_fields(self, text: &ByteString) -> ExtFields {
        let share = |s: Cow<'_, str>| match s {
            Cow::Borrowed(s) => text.slice_ref(s),
            Cow::Owned(s) => ByteString::from(s),
        };
        let mut fields = ExtFields::with_capacity(self.0.len());
        for (k, v) in self.0 {
            fields.push_decoded(share(k), share(v));
        }
        fields.dedup_decoded();
        fields
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ExtFieldsIn<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = ExtFieldsIn<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(access.size_hint().unwrap_or(16).min(64));
                // Keys are JSON strings, so `ExtValue` reads them too (never as `None`).
                while let Some((k, v)) = access.next_entry::<ExtValue<'de>, ExtValue<'de>>()? {
                    if let (Some(k), Some(v)) = (k.0, v.0) {
                        fields.push((k, v));
                    }
                }
                Ok(ExtFieldsIn(fields))
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

/// One `extFields` value: `None` for JSON `null`; borrowed when it is a string without escapes.
struct ExtValue<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for ExtValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = ExtValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ExtValue(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ExtValue(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(ExtValue(Some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ExtValue(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ExtValue(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ExtValue(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ExtValue(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ExtValue(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ExtValue(None))
            }
        }
        d.deserialize_any(ValueVisitor)
    }
}

/// Writes the JSON header by hand, fields in fastjson's sorted order (what a Java peer sends):
/// `code`, `extFields` (omitted when empty), `flag`, `language`, `opaque`, `remark` (omitted when
/// absent), `serializeTypeCurrentRPC`, `version`. Every response goes through here, so it avoids
/// serde's per-call machinery; a unit test holds it byte-equal to serde_json's output.
fn encode_json_header(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<(), ProtocolError> {
    let ext_len: usize = cmd
        .ext_fields
        .iter()
        .map(|(k, v)| k.len() + v.len() + 6)
        .sum();
    out.reserve(128 + ext_len + cmd.remark.as_ref().map_or(0, |r| r.len() + 12));
    out.put_slice(b"{\"code\":");
    put_int(out, cmd.code);
    if !cmd.ext_fields.is_empty() {
        out.put_slice(b",\"extFields\":{");
        for (i, (k, v)) in cmd.ext_fields.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            put_json_str(out, k);
            out.put_u8(b':');
            put_json_str(out, v);
        }
        out.put_u8(b'}');
    }
    out.put_slice(b",\"flag\":");
    put_int(out, cmd.flag);
    out.put_slice(b",\"language\":\"");
    out.put_slice(cmd.language.name().as_bytes());
    out.put_slice(b"\",\"opaque\":");
    put_int(out, cmd.opaque);
    if let Some(remark) = &cmd.remark {
        out.put_slice(b",\"remark\":");
        put_json_str(out, remark);
    }
    out.put_slice(b",\"serializeTypeCurrentRPC\":\"");
    out.put_slice(SerializeType::Json.name().as_bytes());
    out.put_slice(b"\",\"version\":");
    put_int(out, cmd.version);
    out.put_u8(b'}');
    Ok(())
}

fn put_int(out: &mut BytesMut, n: i32) {
    out.put_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string literal: copied as is when nothing in it needs escaping (header keys and values
/// almost never do), else escaped by serde_json.
fn put_json_str(out: &mut BytesMut, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.put_u8(b'"');
        out.put_slice(s.as_bytes());
        out.put_u8(b'"');
    } else {
        serde_json::to_writer(out.writer(), s).expect("writing to memory cannot fail");
    }
}

/// The JSON header: the hand-written scanner ([`super::json_header`]) reads what real clients send;
/// anything outside its subset goes through serde_json, which also words every error.
fn decode_json_header(header: Bytes) -> Result<RemotingCommand, ProtocolError> {
    let text = json_text(header)?;
    match super::json_header::scan(&text) {
        Some(cmd) => Ok(cmd),
        None => decode_json_text(&text),
    }
}

/// The serde_json path alone, without the fast scanner: the reference the scanner is checked
/// against (unit tests, property tests and the `header_decode` fuzz target).
pub fn decode_json_header_serde(header: Bytes) -> Result<RemotingCommand, ProtocolError> {
    decode_json_text(&json_text(header)?)
}

/// The header as text: an object (first non-blank byte `{`), valid UTF-8.
fn json_text(header: Bytes) -> Result<ByteString, ProtocolError> {
    // A derived struct would also accept a JSON array (fields by position); a header
    // is always an object.
    if header.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ProtocolError::BadJsonHeader(de::Error::custom(
            "header is not a JSON object",
        )));
    }
    // JSON is UTF-8: validated once here, so string slices of the text can be shared.
    ByteString::try_from(header)
        .map_err(|_| ProtocolError::BadJsonHeader(de::Error::custom("header is not valid UTF-8")))
}

fn decode_json_text(text: &ByteString) -> Result<RemotingCommand, ProtocolError> {
    let h: JsonHeaderIn<'_> = serde_json::from_str(text).map_err(ProtocolError::BadJsonHeader)?;
    Ok(RemotingCommand {
        code: h.code,
        language: h.language.unwrap_or_default(),
        version: h.version.unwrap_or(0),
        opaque: h.opaque.unwrap_or(0),
        flag: h.flag.unwrap_or(0),
        remark: h.remark,
        ext_fields: h
            .ext_fields
            .map(|e| e.into_fields(text))
            .unwrap_or_default(),
        body: bytes::Bytes::new(),
        serialize_type: SerializeType::Json,
    })
}

// ---------------------------------------------------------------------------------------
// ROCKETMQ binary header (§1.4)

fn encode_binary_header(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<(), ProtocolError> {
    let remark = cmd.remark.as_deref().unwrap_or("").as_bytes();
    let mut ext_len = 0usize;
    for (k, v) in cmd.ext_fields.iter() {
        if k.len() > i16::MAX as usize {
            return Err(ProtocolError::BadBinaryHeader(format!(
                "ext field key of {} bytes does not fit an i16 length",
                k.len()
            )));
        }
        ext_len += 2 + k.len() + 4 + v.len();
    }
    let total = BINARY_FIXED_LEN + 4 + remark.len() + 4 + ext_len;
    // Checking here also keeps every length below i32::MAX.
    if total > MAX_HEADER_LEN {
        return Err(ProtocolError::HeaderTooLarge { len: total });
    }
    out.reserve(total);
    // Java writes `(short) code` and `(short) version`: truncation is the wire format.
    out.put_i16(cmd.code as i16);
    out.put_u8(cmd.language.as_u8());
    out.put_i16(cmd.version as i16);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    out.put_i32(remark.len() as i32);
    out.put_slice(remark);
    out.put_i32(ext_len as i32);
    for (k, v) in cmd.ext_fields.iter() {
        out.put_i16(k.len() as i16);
        out.put_slice(k.as_bytes());
        out.put_i32(v.len() as i32);
        out.put_slice(v.as_bytes());
    }
    Ok(())
}

/// Bounds-checked big-endian reader over a binary header; never panics.
struct Reader<'a> {
    buf: &'a [u8],
    /// Length of the whole header: no string may claim more (as in Java).
    header_len: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ProtocolError> {
        if n > self.buf.len() {
            return Err(ProtocolError::BadBinaryHeader(format!(
                "{what} needs {n} bytes but only {} remain",
                self.buf.len()
            )));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ProtocolError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Result<u8, ProtocolError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn i16(&mut self, what: &str) -> Result<i16, ProtocolError> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &str) -> Result<i32, ProtocolError> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    /// Validates a length read from the header: not negative, not above the header length.
    fn check_len(&self, len: i64, what: &str) -> Result<usize, ProtocolError> {
        match usize::try_from(len) {
            Ok(n) if n <= self.header_len => Ok(n),
            _ => Err(ProtocolError::BadBinaryHeader(format!(
                "{what} length {len} is negative or exceeds header length {}",
                self.header_len
            ))),
        }
    }

    fn string(&mut self, len: usize, what: &str) -> Result<String, ProtocolError> {
        // Java decodes with `new String(bytes, UTF_8)`, which replaces invalid sequences.
        Ok(String::from_utf8_lossy(self.take(len, what)?).into_owned())
    }
}

fn decode_binary_header(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    let mut r = Reader {
        buf: header,
        header_len: header.len(),
    };
    let code = i32::from(r.i16("code")?);
    let language = LanguageCode::from_u8(r.u8("language")?);
    let version = i32::from(r.i16("version")?);
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;

    let remark_len = r.i32("remark length")?;
    let remark_len = r.check_len(remark_len.into(), "remark")?;
    let remark = if remark_len == 0 {
        None
    } else {
        Some(r.string(remark_len, "remark")?)
    };

    let ext_len = r.i32("ext fields length")?;
    let ext_len = r.check_len(ext_len.into(), "ext fields")?;
    let mut ext_fields = ExtFields::new();
    if ext_len > 0 {
        let mut ext = Reader {
            buf: r.take(ext_len, "ext fields")?,
            header_len: header.len(),
        };
        while !ext.buf.is_empty() {
            let key_len = ext.i16("ext key length")?;
            let key_len = ext.check_len(key_len.into(), "ext key")?;
            let key = ext.string(key_len, "ext key")?;
            let val_len = ext.i32("ext value length")?;
            let val_len = ext.check_len(val_len.into(), "ext value")?;
            let val = ext.string(val_len, "ext value")?;
            ext_fields.push_decoded(key.into(), val.into());
        }
        ext_fields.dedup_decoded();
    }
    // Like Java, bytes after the ext section are ignored.

    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: bytes::Bytes::new(),
        serialize_type: SerializeType::RocketMq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::code::{request_code, response_code};
    use bytes::Bytes;
    use proptest::prelude::*;
    use serde::Serialize;

    /// The §1.3 example SEND_MESSAGE_V2 header, verbatim except that `i` spells out a
    /// concrete UNIQ_KEY instead of the reference's ellipsis.
    const SEND_V2_HEADER: &[u8] = br#"{"code":310,"extFields":{"a":"pg","b":"TopicTest","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","i":"UNIQ_KEY\u0001AC110001000018B4AAC2000000000000\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002","j":"0","k":"false","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;

    /// Frame = total (4 + 348 + 5 = 357 = 0x165) | JSON, header length 348 = 0x15C | header | "Hello".
    fn send_v2_frame() -> Vec<u8> {
        let mut f = vec![0x00, 0x00, 0x01, 0x65, 0x00, 0x00, 0x01, 0x5C];
        f.extend_from_slice(SEND_V2_HEADER);
        f.extend_from_slice(b"Hello");
        f
    }

    fn decode_all(codec: &mut RemotingCodec, buf: &mut BytesMut) -> Vec<RemotingCommand> {
        let mut out = Vec::new();
        while let Some(c) = codec.decode(buf).unwrap() {
            out.push(c);
        }
        out
    }

    fn check_send_v2(c: &RemotingCommand) {
        assert_eq!(c.code, request_code::SEND_MESSAGE_V2);
        assert_eq!(c.language, LanguageCode::Java);
        assert_eq!(c.version, 479);
        assert_eq!(c.opaque, 42);
        assert_eq!(c.flag, 0);
        assert_eq!(c.remark, None);
        assert_eq!(c.serialize_type, SerializeType::Json);
        assert_eq!(c.ext_fields.len(), 13);
        assert_eq!(c.ext("b"), Some("TopicTest"));
        assert_eq!(c.ext("g"), Some("1700000000000"));
        assert_eq!(
            c.ext("i"),
            Some("UNIQ_KEY\u{1}AC110001000018B4AAC2000000000000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}")
        );
        assert_eq!(&c.body[..], b"Hello");
    }

    #[test]
    fn reference_json_frame_byte_by_byte() {
        assert_eq!(SEND_V2_HEADER.len(), 0x15C);
        let frame = send_v2_frame();
        let mut codec = RemotingCodec::default();
        let mut buf = BytesMut::new();
        for (i, b) in frame.iter().enumerate() {
            buf.put_u8(*b);
            let got = codec.decode(&mut buf).unwrap();
            if i + 1 < frame.len() {
                assert!(got.is_none(), "decoded early at byte {i}");
            } else {
                check_send_v2(&got.expect("complete frame"));
            }
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn two_frames_in_one_buffer() {
        let mut bytes = send_v2_frame();
        // A bare response: the JSON header `{"code":0,"opaque":42,"flag":1}` is 31 bytes,
        // so total 4 + 31 = 35 = 0x23, header length 31 = 0x1F, no body.
        bytes.extend_from_slice(&[0, 0, 0, 0x23, 0, 0, 0, 0x1F]);
        bytes.extend_from_slice(br#"{"code":0,"opaque":42,"flag":1}"#);
        let mut buf = BytesMut::from(&bytes[..]);
        let cmds = decode_all(&mut RemotingCodec::default(), &mut buf);
        assert_eq!(cmds.len(), 2);
        check_send_v2(&cmds[0]);
        assert_eq!(cmds[1].code, response_code::SUCCESS);
        assert!(cmds[1].is_response());
        assert_eq!(cmds[1].opaque, 42);
        assert_eq!(cmds[1].language, LanguageCode::Java);
        assert_eq!(cmds[1].version, 0);
        assert!(cmds[1].ext_fields.is_empty());
        assert!(cmds[1].body.is_empty());
        assert!(buf.is_empty());
    }

    #[test]
    fn oversize_length_rejected_before_reserving() {
        let mut codec = RemotingCodec::new(1024);
        let mut buf = BytesMut::from(&[0x00, 0x00, 0x04, 0x01][..]); // 1025
        let cap = buf.capacity();
        match codec.decode(&mut buf) {
            Err(ProtocolError::FrameTooLarge {
                len: 1025,
                max: 1024,
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(buf.capacity(), cap);
        // A negative Java int is a huge length.
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0xFF][..]);
        assert!(matches!(
            RemotingCodec::default().decode(&mut buf),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn too_short_length_rejected() {
        let mut buf = BytesMut::from(&[0, 0, 0, 3][..]);
        assert!(matches!(
            RemotingCodec::default().decode(&mut buf),
            Err(ProtocolError::FrameTooShort { len: 3 })
        ));
    }

    #[test]
    fn incomplete_frame_allocates_nothing_for_the_announced_length() {
        // A header promising 16 MiB - 1: the buffer must not grow towards it.
        let mut buf = BytesMut::from(&[0, 0xFF, 0xFF, 0xFF, 0, 0][..]);
        assert!(RemotingCodec::default().decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() < 4096, "capacity {}", buf.capacity());
        assert_eq!(buf.len(), 6);
    }

    #[test]
    fn header_length_larger_than_frame() {
        // total 8, header length 5 > 8 - 4.
        let mut buf = BytesMut::from(&[0, 0, 0, 8, 0, 0, 0, 5, b'{', b'}', 0, 0][..]);
        match RemotingCodec::default().decode(&mut buf) {
            Err(ProtocolError::BadHeaderLength {
                header_len: 5,
                frame_len: 8,
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_serialize_type() {
        let mut buf = BytesMut::from(&[0, 0, 0, 6, 2, 0, 0, 2, b'{', b'}'][..]);
        assert!(matches!(
            RemotingCodec::default().decode(&mut buf),
            Err(ProtocolError::UnknownSerializeType(2))
        ));
    }

    #[test]
    fn bad_json_rejected() {
        for h in [
            &br#"{"code":"#[..],
            br#"{"opaque":1}"#, // code missing
            br#"[1,2,3]"#,
            b"",
            br#"{"code":1,"extFields":{"a":[1]}}"#,
        ] {
            let mut buf = BytesMut::new();
            buf.put_u32(4 + h.len() as u32);
            buf.put_u32(h.len() as u32);
            buf.put_slice(h);
            let r = RemotingCodec::default().decode(&mut buf);
            assert!(
                matches!(r, Err(ProtocolError::BadJsonHeader(_))),
                "{:?}: {r:?}",
                String::from_utf8_lossy(h)
            );
        }
    }

    #[test]
    fn lenient_json_fields() {
        let h = br#"{"code":34,"language":"KOTLIN","remark":null,"serializeTypeCurrentRPC":"JSON","unknown":{"x":[1,2]},"extFields":{"queueId":3,"unitMode":true,"ratio":1.5,"gone":null,"s":"v"}}"#;
        let c = decode_json_header(Bytes::from_static(h)).unwrap();
        assert_eq!(c.code, request_code::HEART_BEAT);
        assert_eq!(c.language, LanguageCode::Other);
        assert_eq!(c.remark, None);
        assert_eq!(c.ext("queueId"), Some("3"));
        assert_eq!(c.ext("unitMode"), Some("true"));
        assert_eq!(c.ext("ratio"), Some("1.5"));
        assert_eq!(c.ext("gone"), None);
        assert_eq!(c.ext("s"), Some("v"));
        assert_eq!(c.ext_fields.len(), 4);
        let c = decode_json_header(Bytes::from_static(
            br#"{"code":1,"extFields":null,"flag":null}"#,
        ))
        .unwrap();
        assert!(c.ext_fields.is_empty());
        assert_eq!(c.flag, 0);
    }

    #[test]
    fn json_encoding_looks_like_fastjson() {
        let req = RemotingCommand::request(request_code::GET_MAX_OFFSET, 5);
        let mut out = BytesMut::new();
        encode_header(&req, &mut out).unwrap();
        assert_eq!(
            &out[..],
            br#"{"code":30,"flag":0,"language":"RUST","opaque":5,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
        let resp = req
            .response_to(response_code::SUCCESS, Some("ok".into()))
            .with_ext("offset", 12);
        let mut out = BytesMut::new();
        encode_header(&resp, &mut out).unwrap();
        assert_eq!(
            &out[..],
            br#"{"code":0,"extFields":{"offset":"12"},"flag":1,"language":"RUST","opaque":5,"remark":"ok","serializeTypeCurrentRPC":"JSON","version":479}"#
        );
    }

    /// A ROCKETMQ binary frame written out field by field (§1.4).
    #[test]
    fn hand_built_binary_frame() {
        #[rustfmt::skip]
        let header: &[u8] = &[
            0x01, 0x36,             // code 310
            0x00,                   // language JAVA
            0x01, 0xDF,             // version 479
            0x00, 0x00, 0x00, 0x2A, // opaque 42
            0x00, 0x00, 0x00, 0x02, // flag ONEWAY
            0x00, 0x00, 0x00, 0x02, b'h', b'i', // remark "hi"
            0x00, 0x00, 0x00, 0x12, // ext length 18
            0x00, 0x01, b'b', 0x00, 0x00, 0x00, 0x01, b'T',           // b = T (8 bytes)
            0x00, 0x01, b'e', 0x00, 0x00, 0x00, 0x03, b'1', b'2', b'3', // e = 123 (10 bytes)
        ];
        assert_eq!(header.len(), 41);
        let mut frame = vec![0, 0, 0, 4 + 41 + 3, 0x01, 0, 0, 41];
        frame.extend_from_slice(header);
        frame.extend_from_slice(b"abc");
        let mut codec = RemotingCodec::default();
        let mut buf = BytesMut::new();
        let mut got = None;
        for b in &frame {
            assert!(got.is_none());
            buf.put_u8(*b);
            got = codec.decode(&mut buf).unwrap();
        }
        let c = got.expect("complete frame");
        assert_eq!(c.code, 310);
        assert_eq!(c.language, LanguageCode::Java);
        assert_eq!(c.version, 479);
        assert_eq!(c.opaque, 42);
        assert!(c.is_oneway());
        assert_eq!(c.remark.as_deref(), Some("hi"));
        assert_eq!(c.ext("b"), Some("T"));
        assert_eq!(c.ext("e"), Some("123"));
        assert_eq!(c.ext_fields.len(), 2);
        assert_eq!(&c.body[..], b"abc");
        assert_eq!(c.serialize_type, SerializeType::RocketMq);

        // Re-encoding gives back the same header (ext order aside, so compare by decoding).
        let mut out = BytesMut::new();
        codec.encode(&c, &mut out).unwrap();
        assert_eq!(out.len(), frame.len());
        assert_eq!(&out[..8], &frame[..8]);
        assert_eq!(codec.decode(&mut out).unwrap().unwrap(), c);
    }

    #[test]
    fn binary_header_rejects_lengths_beyond_header() {
        let mut h = vec![0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
        h.extend_from_slice(&[0, 0, 0, 100]); // remark length 100 > header
        assert!(matches!(
            decode_binary_header(&h),
            Err(ProtocolError::BadBinaryHeader(_))
        ));
        let mut h = vec![0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        h.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]); // ext length -1
        assert!(matches!(
            decode_binary_header(&h),
            Err(ProtocolError::BadBinaryHeader(_))
        ));
        // ext entry whose value runs past the ext section
        let mut h = vec![0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        h.extend_from_slice(&[0, 0, 0, 8, 0, 1, b'k', 0, 0, 0, 5, b'v']);
        assert!(matches!(
            decode_binary_header(&h),
            Err(ProtocolError::BadBinaryHeader(_))
        ));
        // truncated fixed part
        assert!(decode_binary_header(&[0, 1, 0]).is_err());
    }

    #[test]
    fn binary_truncates_code_and_version_like_java() {
        let mut c =
            RemotingCommand::request(70_000, 1).with_serialize_type(SerializeType::RocketMq);
        c.version = 479;
        let mut out = BytesMut::new();
        encode_header(&c, &mut out).unwrap();
        assert_eq!(&out[..2], &(70_000i32 as i16).to_be_bytes());
    }

    #[test]
    fn encode_rejects_oversize_frame_and_leaves_buffer_intact() {
        let mut codec = RemotingCodec::new(64);
        let mut out = BytesMut::from(&b"prev"[..]);
        let c = RemotingCommand::request(1, 1).with_body(Bytes::from(vec![0u8; 100]));
        assert!(matches!(
            codec.encode(c, &mut out),
            Err(ProtocolError::FrameTooLarge { max: 64, .. })
        ));
        assert_eq!(&out[..], b"prev");
    }

    #[test]
    fn body_shares_the_receive_buffer() {
        let frame = send_v2_frame();
        let mut buf = BytesMut::from(&frame[..]);
        let base = buf.as_ptr() as usize;
        let c = RemotingCodec::default().decode(&mut buf).unwrap().unwrap();
        assert_eq!(c.body.as_ptr() as usize, base + 8 + SEND_V2_HEADER.len());
    }

    fn is_empty_map(m: &&ExtFields) -> bool {
        m.is_empty()
    }

    /// Outgoing JSON header, borrowing from the command. Fields are declared in fastjson's
    /// sorted order so the output looks like a Java peer's.
    #[derive(Serialize)]
    struct JsonHeaderOut<'a> {
        code: i32,
        #[serde(rename = "extFields", skip_serializing_if = "is_empty_map")]
        ext_fields: &'a ExtFields,
        flag: i32,
        language: LanguageCode,
        opaque: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        remark: Option<&'a str>,
        #[serde(rename = "serializeTypeCurrentRPC")]
        serialize_type_current_rpc: &'static str,
        version: i32,
    }

    /// The hand-written header encoder against serde_json's serialization of the same fields.
    fn serde_json_header(cmd: &RemotingCommand) -> Vec<u8> {
        serde_json::to_vec(&JsonHeaderOut {
            code: cmd.code,
            ext_fields: &cmd.ext_fields,
            flag: cmd.flag,
            language: cmd.language,
            opaque: cmd.opaque,
            remark: cmd.remark.as_deref(),
            serialize_type_current_rpc: SerializeType::Json.name(),
            version: cmd.version,
        })
        .unwrap()
    }

    proptest! {
        #[test]
        fn hand_written_json_header_equals_serde_json(
            cmd in any_command(SerializeType::Json),
            tricky in "[\\x00-\\x1f\"\\\\a-z\u{e9}\u{1F600}]{0,12}",
        ) {
            let mut cmd = cmd;
            cmd.ext_fields.insert("tricky", tricky.clone());
            cmd.remark = Some(tricky);
            for c in [cmd.clone(), RemotingCommand { ext_fields: ExtFields::new(), remark: None, ..cmd }] {
                let mut out = BytesMut::new();
                encode_json_header(&c, &mut out).unwrap();
                prop_assert_eq!(out.to_vec(), serde_json_header(&c));
            }
        }
    }

    #[test]
    fn ext_fields_share_the_header_buffer_unless_escaped() {
        let c = decode_json_header(Bytes::from_static(
            br#"{"code":10,"extFields":{"plain":"abc","esc":"a\u0001b","k":"1","k":"2"}}"#,
        ))
        .unwrap();
        assert_eq!(c.ext("plain"), Some("abc"));
        assert_eq!(c.ext("esc"), Some("a\u{1}b"));
        assert_eq!(c.ext("k"), Some("2"), "a repeated key keeps its last value");
        assert_eq!(c.ext_fields.len(), 3);
    }

    #[test]
    fn non_utf8_json_header_is_a_clean_error() {
        let err = decode_json_header(Bytes::from_static(b"{\"code\":1,\"remark\":\"\xff\"}"))
            .unwrap_err();
        assert!(matches!(err, ProtocolError::BadJsonHeader(_)), "{err}");
    }

    fn any_language() -> impl Strategy<Value = LanguageCode> {
        (0u8..14).prop_map(LanguageCode::from_u8)
    }

    prop_compose! {
        fn any_command(st: SerializeType)(
            code in any::<i16>(),
            language in any_language(),
            version in any::<i16>(),
            opaque in any::<i32>(),
            flag in any::<i32>(),
            remark in proptest::option::of("\\PC{1,40}"),
            ext_fields in proptest::collection::hash_map("\\PC{0,12}", "\\PC{0,40}", 0..8),
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) -> RemotingCommand {
            RemotingCommand {
                code: code.into(),
                language,
                version: version.into(),
                opaque,
                flag,
                remark,
                ext_fields: ext_fields.into_iter().collect(),
                body: Bytes::from(body),
                serialize_type: st,
            }
        }
    }

    fn roundtrip(cmds: &[RemotingCommand]) -> Result<(), TestCaseError> {
        let mut codec = RemotingCodec::default();
        let mut buf = BytesMut::new();
        for c in cmds {
            codec
                .encode(c, &mut buf)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let full = buf.clone();
        for c in cmds {
            let got = codec
                .decode(&mut buf)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(got.as_ref(), Some(c));
        }
        prop_assert!(buf.is_empty());
        // Every strict prefix of the first frame is incomplete, never an error.
        let first = u32::from_be_bytes([full[0], full[1], full[2], full[3]]) as usize + 4;
        for cut in 0..first {
            let mut part = BytesMut::from(&full[..cut]);
            prop_assert!(matches!(codec.decode(&mut part), Ok(None)));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn json_roundtrip(a in any_command(SerializeType::Json), b in any_command(SerializeType::Json)) {
            roundtrip(&[a, b])?;
        }

        #[test]
        fn binary_roundtrip(a in any_command(SerializeType::RocketMq), b in any_command(SerializeType::Json)) {
            roundtrip(&[a, b])?;
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut codec = RemotingCodec::new(4096);
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
        }

        /// Well-formed lengths around random header bytes reach the header parsers.
        #[test]
        fn random_headers_never_panic(
            type_byte in 0u8..3,
            header in proptest::collection::vec(any::<u8>(), 0..256),
            body in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let mut buf = BytesMut::new();
            buf.put_u32((4 + header.len() + body.len()) as u32);
            buf.put_u32((u32::from(type_byte) << 24) | header.len() as u32);
            buf.put_slice(&header);
            buf.put_slice(&body);
            let _ = RemotingCodec::default().decode(&mut buf);
        }

        /// Flipping bytes of a valid binary frame never panics the decoder.
        #[test]
        fn mutated_binary_frames_never_panic(
            c in any_command(SerializeType::RocketMq),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut codec = RemotingCodec::default();
            let mut buf = BytesMut::new();
            codec.encode(&c, &mut buf).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let n = buf.len();
            for (i, v) in flips {
                buf[i.index(n)] = v;
            }
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
        }
    }
}
