//! Compressed REGISTER_BROKER bodies: what a Java broker with `compressedRegister=true` sends, read
//! as Java 5.3.3's `RegisterBrokerBody.decode(data, true, version)` reads it, and written as its
//! `encode(true)` writes it.
//!
//! The body is one zlib stream (`DeflaterOutputStream` over a `Deflater`: a zlib header and an
//! Adler-32 trailer, not raw deflate) of, every integer a big-endian `i32`:
//!
//! 1. length + the `DataVersion` JSON;
//! 2. topic count, then per topic length + `TopicConfig.encode()`, text:
//!    `name readQueueNums writeQueueNums perm topicFilterType attributesJSON`, single spaces;
//! 3. length + the filter-server list JSON;
//! 4. only from a broker of version `V5_0_0` on (the request's `version`): mapping count, then per
//!    mapping length + a `TopicQueueMappingInfo` JSON (static topics).
//!
//! **Which bodies are compressed.** A 4.x broker with `compressedRegister=true` sends header
//! `compressed=true`. A 5.x broker (5.3.3 included) sends the same compressed body but always
//! `compressed=false` (its `BrokerOuterAPI.registerBrokerAll` has set the header to false since the
//! acting-master change, RIP-32), so a stock 5.x name server parses the zlib bytes as JSON and
//! answers SYSTEM_ERROR (a `NullPointerException`): such a broker cannot register with it at all.
//! actormq's name server reads the body as compressed whenever it starts with a zlib header
//! ([`is_zlib`]): a JSON body starts with `{` (or a blank), never with the zlib byte `0x78`, so
//! every body Java reads is read the same, and the one it cannot read is read as the broker meant.
//!
//! The text form carries no `topicSysFlag` and no `order`, so a compressed registration gives
//! every queue data `topicSysFlag` 0, as it does on a Java name server. Attributes and the
//! filter-server list are read past (the route table keeps neither); a mapping must be a JSON
//! object naming its topic, as Java's decode fails otherwise.
//!
//! No length is trusted: a read grows its buffer only as inflated bytes arrive, and the whole
//! inflated body may not pass [`MAX_INFLATED_BYTES`] (a deflate stream can inflate a thousandfold,
//! so a 16 MiB frame could otherwise become 16 GiB). A negative length, a truncated or corrupt
//! stream, or a field Java's decode would throw on is a [`CompressedBodyError`]; the name server
//! answers SYSTEM_ERROR with it. Where Java does not throw, neither does this: a negative topic or
//! mapping count reads none (Java's `for` loop does not run), bytes after the last field and a
//! filter-server list that is not JSON are ignored, invalid UTF-8 is replaced.

use std::fmt;
use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::register::{TopicConfigWrapper, WireDataVersion};
use crate::protocol::code::version::V5_0_0;
use crate::protocol::fastjson::quote_bare_keys;
use crate::protocol::header::{java_parse_int, Quoted};
use crate::topic::TopicConfig;

/// Most bytes one compressed body may inflate to: 64 MiB. A broker's topic table in the text
/// form takes about 50 bytes a topic, so this is over a million topics.
pub const MAX_INFLATED_BYTES: u64 = 64 << 20;

/// The first buffer a length-prefixed field gets; it grows from there as bytes arrive.
const FIRST_READ_BYTES: usize = 64 << 10;

/// A field of the inflated body, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    DataVersion,
    TopicCount,
    /// The topic config with this index (from 0).
    TopicConfig(usize),
    FilterServerList,
    MappingCount,
    /// The static-topic mapping with this index (from 0).
    Mapping(usize),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::DataVersion => f.write_str("the DataVersion"),
            Field::TopicCount => f.write_str("the topic count"),
            Field::TopicConfig(i) => write!(f, "topic config #{i}"),
            Field::FilterServerList => f.write_str("the filter-server list"),
            Field::MappingCount => f.write_str("the mapping count"),
            Field::Mapping(i) => write!(f, "static-topic mapping #{i}"),
        }
    }
}

/// Why a compressed body could not be read. `at` counts inflated bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompressedBodyError {
    /// The zlib stream is corrupt (or not zlib at all).
    #[error(
        "compressed body: not a valid zlib stream at inflated byte {at}, in {field}: {message}"
    )]
    Zlib {
        field: Field,
        at: u64,
        message: String,
    },
    /// The stream ended before the field did (Java: "End of compressed data has reached").
    #[error("compressed body: ends at inflated byte {at}, inside {field} ({wanted} bytes wanted)")]
    Truncated {
        field: Field,
        at: u64,
        wanted: usize,
    },
    /// A length below 0 (Java: `NegativeArraySizeException`).
    #[error("compressed body: {field} has length {len}")]
    NegativeLength { field: Field, len: i32 },
    /// The field would take the body past [`MAX_INFLATED_BYTES`].
    #[error(
        "compressed body: {field} of {len} bytes at inflated byte {at} passes the \
         {MAX_INFLATED_BYTES}-byte limit"
    )]
    TooLarge { field: Field, len: i32, at: u64 },
    /// A field's content does not parse as Java's decode needs it.
    #[error("compressed body: {field} {text}: {why}")]
    Content {
        field: Field,
        /// The field's text, quoted and cut short.
        text: String,
        why: String,
    },
}

/// Reads a compressed `RegisterBrokerBody` (module doc) sent by a broker of `version`: its data
/// version and topic table.
pub fn decode(body: &[u8], version: i32) -> Result<TopicConfigWrapper, CompressedBodyError> {
    let mut r = Inflated {
        inner: ZlibDecoder::new(body),
        at: 0,
    };
    let text = r.text(Field::DataVersion)?;
    let data_version = serde_json::from_str::<WireDataVersion>(&text)
        .map_err(|e| content(Field::DataVersion, &text, e.to_string()))?;
    let mut wrapper = TopicConfigWrapper {
        data_version,
        ..Default::default()
    };
    let topics = r.int(Field::TopicCount)?;
    for i in 0..usize::try_from(topics).unwrap_or(0) {
        let field = Field::TopicConfig(i);
        let text = r.text(field)?;
        let topic = decode_topic_config(&text).map_err(|why| content(field, &text, why))?;
        wrapper
            .topic_config_table
            .insert(topic.topic_name.clone(), topic);
    }
    r.text(Field::FilterServerList)?;
    if version >= V5_0_0 {
        let mappings = r.int(Field::MappingCount)?;
        for i in 0..usize::try_from(mappings).unwrap_or(0) {
            let field = Field::Mapping(i);
            let text = r.text(field)?;
            check_mapping(&text).map_err(|why| content(field, &text, why))?;
        }
    }
    Ok(wrapper)
}

/// Whether `body` starts with a zlib header (RFC 1950: deflate with a window of at most 32 KiB,
/// `0x78` for Java's default one, and a check value making the first two bytes a multiple of 31).
pub fn is_zlib(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => *cmf == 0x78 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// Writes `wrapper` as a 5.x broker's `RegisterBrokerBody.encode(true)` does: no filter servers,
/// no static-topic mappings (the count, 0, is written all the same). `decode` reads it back.
pub fn encode(wrapper: &TopicConfigWrapper) -> Vec<u8> {
    let mut plain = Vec::new();
    let version = serde_json::to_vec(&wrapper.data_version).expect("plain data serializes");
    put_field(&mut plain, &version);
    put_int(&mut plain, wrapper.topic_config_table.len());
    for t in wrapper.topic_config_table.values() {
        put_field(&mut plain, encode_topic_config(t).as_bytes());
    }
    put_field(&mut plain, b"[]");
    put_int(&mut plain, 0);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(&plain).expect("writing to a Vec does not fail");
    z.finish().expect("writing to a Vec does not fail")
}

/// A big-endian `i32` (`convertIntToByteArray`).
fn put_int(out: &mut Vec<u8>, n: usize) {
    let n = i32::try_from(n).expect("a count or length under 2^31");
    out.extend_from_slice(&n.to_be_bytes());
}

/// A length-prefixed field.
fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    put_int(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// `TopicConfig.encode()`: actormq's topics have no attributes, which Java writes as `{}`.
pub fn encode_topic_config(t: &TopicConfig) -> String {
    format!(
        "{} {} {} {} {} {{}}",
        t.topic_name, t.read_queue_nums, t.write_queue_nums, t.perm, t.topic_filter_type
    )
}

/// `TopicConfig.decode(String)`: at least five space-separated fields (Java's decode returns
/// false otherwise, and the registration then fails on a null topic name); the three numbers as
/// `Integer.parseInt`, the filter type `SINGLE_TAG` or `MULTI_TAG` (`TopicFilterType.valueOf`).
/// The sixth field, attributes JSON, is not kept (Java ignores one that does not parse).
pub fn decode_topic_config(text: &str) -> Result<TopicConfig, String> {
    let parts = java_split_on_space(text);
    if parts.len() < 5 {
        return Err(format!(
            "{} space-separated fields, TopicConfig.decode needs 5",
            parts.len()
        ));
    }
    let int = |i: usize, what: &str| {
        java_parse_int(parts[i]).ok_or_else(|| format!("{what} {} is not an int", Quoted(parts[i])))
    };
    // In Java's order, so the first bad field is the one named.
    let (read_queue_nums, write_queue_nums, perm) = (
        int(1, "readQueueNums")?,
        int(2, "writeQueueNums")?,
        int(3, "perm")?,
    );
    let topic_filter_type = match parts[4] {
        "SINGLE_TAG" | "MULTI_TAG" => parts[4].to_string(),
        other => return Err(format!("no TopicFilterType {}", Quoted(other))),
    };
    Ok(TopicConfig {
        topic_name: parts[0].to_string(),
        read_queue_nums,
        write_queue_nums,
        perm,
        topic_filter_type,
        topic_sys_flag: 0,
        order: false,
    })
}

/// Java's `String.split(" ")`: no space gives the whole string; otherwise the pieces, trailing
/// empty ones dropped.
fn java_split_on_space(s: &str) -> Vec<&str> {
    if !s.contains(' ') {
        return vec![s];
    }
    let mut parts: Vec<&str> = s.split(' ').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// A `TopicQueueMappingInfo` as Java's decode needs it: a JSON object (fastjson's bare integer
/// keys allowed) with a `topic`.
fn check_mapping(text: &str) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(&quote_bare_keys(text)).map_err(|e| e.to_string())?;
    match value.get("topic") {
        Some(t) if !t.is_null() => Ok(()),
        _ => Err("no topic".into()),
    }
}

fn content(field: Field, text: &str, why: String) -> CompressedBodyError {
    CompressedBodyError::Content {
        field,
        text: Quoted(text).to_string(),
        why,
    }
}

/// The inflating reader and how many inflated bytes it has given.
struct Inflated<R> {
    inner: R,
    at: u64,
}

impl<R: Read> Inflated<R> {
    /// `len` bytes of `field`.
    fn bytes(&mut self, field: Field, len: i32) -> Result<Vec<u8>, CompressedBodyError> {
        let wanted =
            usize::try_from(len).map_err(|_| CompressedBodyError::NegativeLength { field, len })?;
        if self.at + wanted as u64 > MAX_INFLATED_BYTES {
            return Err(CompressedBodyError::TooLarge {
                field,
                len,
                at: self.at,
            });
        }
        let mut buf = Vec::with_capacity(wanted.min(FIRST_READ_BYTES));
        let read = (&mut self.inner).take(wanted as u64).read_to_end(&mut buf);
        // On an error the bytes read so far are in `buf` too.
        self.at += buf.len() as u64;
        if let Err(e) = read {
            return Err(CompressedBodyError::Zlib {
                field,
                at: self.at,
                message: e.to_string(),
            });
        }
        if buf.len() < wanted {
            return Err(CompressedBodyError::Truncated {
                field,
                at: self.at,
                wanted,
            });
        }
        Ok(buf)
    }

    /// A big-endian `i32` (`readInt`).
    fn int(&mut self, field: Field) -> Result<i32, CompressedBodyError> {
        let b = self.bytes(field, 4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length-prefixed field as text (`new String(bytes, UTF_8)`: bad bytes replaced).
    fn text(&mut self, field: Field) -> Result<String, CompressedBodyError> {
        let len = self.int(field)?;
        let bytes = self.bytes(field, len)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests;
