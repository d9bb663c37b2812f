//! Typed views of the "custom headers" RocketMQ flattens into a command's `extFields`, decoded
//! exactly as the Java broker decodes them (`rocketmq-reference-2.md` §1).
//!
//! Java has two decoders. Send V2/batch (310/320) and pull (11/361) headers are `FastCodesHeader`s
//! with a hand-written `decode`: a number that does not parse throws `NumberFormatException` out of
//! the processor, which the remoting layer answers as `SYSTEM_ERROR` (§1.2). Every other header is
//! decoded by reflection: a value that does not parse is logged and the field keeps its initial value,
//! `null` for a boxed field (§1.1). In both, a missing `@CFNotNull` field is only logged; the field
//! stays `null` and the processor fails on it with a `NullPointerException`, again `SYSTEM_ERROR`.
//! [`ExtReader`] is that decoder with the mode chosen per request code ([`ExtReader::for_request`]),
//! and [`HeaderError`] carries Java's code and the start of its remark. Booleans are `Boolean.parseBoolean`, never an
//! error: the stock C++ client's `"0"`/`"1"` read as false, as in Java (§1.4).
//!
//! The reader borrows values from the received header buffer and allocates only to refuse a
//! request (the send header then copies its strings into owned fields). `SEND_MESSAGE_V2` abbreviates the V1 field names to single letters
//! (reference §3.1); both decode into the same struct.

use super::code::{request_code, response_code};
use super::command::RemotingCommand;
use super::ext_fields::ExtFields;

// ---------------------------------------------------------------------------------------------
// Java's value rules.

/// `Boolean.parseBoolean`: true only for "true" in any case; anything else, `""` included, is
/// false. (No non-ASCII character case-folds to a letter of "true" in Java's `equalsIgnoreCase`;
/// checked over all 65,536 chars on JDK 17, so the ASCII comparison is exact.)
pub fn java_parse_boolean(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Integer.parseInt(s)` (radix 10); `None` where Java throws `NumberFormatException`.
pub fn java_parse_int(s: &str) -> Option<i32> {
    java_parse_decimal(s, i32::MAX as u64).map(|v| v as i32)
}

/// `Long.parseLong(s)` (radix 10); `None` where Java throws `NumberFormatException`.
pub fn java_parse_long(s: &str) -> Option<i64> {
    java_parse_decimal(s, i64::MAX as u64)
}

/// The rule both Java methods document: an optional ASCII `+` or `-`, then at least one decimal
/// digit, nothing else (no whitespace, `0x`, `.`, `_` or exponent), and the value in range.
///
/// Not Rust's `str::parse`, which agrees on signs and whitespace (both take "+1" and "-0", both
/// refuse " 1", "+" and "") but knows only ASCII digits: Java's `Character.digit` takes any BMP
/// Unicode decimal digit, so Java reads "١٢" (Arabic-Indic) and "１２" (fullwidth) as 12.
fn java_parse_decimal(s: &str, max: u64) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    // Magnitude up to max (or max + 1 for a negative number, i.e. MIN_VALUE).
    let limit = max + u64::from(negative);
    let push = |n: u64, d: u32| {
        let n = n.checked_mul(10)?.checked_add(u64::from(d))?;
        (n <= limit).then_some(n)
    };
    // Byte by byte while ASCII (every real header); any other character goes through the table.
    let mut n: u64 = 0;
    for (i, b) in digits.bytes().enumerate() {
        match b.wrapping_sub(b'0') {
            d @ 0..=9 => n = push(n, u32::from(d))?,
            _ if b.is_ascii() => return None,
            _ => {
                for c in digits[i..].chars() {
                    n = push(n, java_digit(c)?)?;
                }
                break;
            }
        }
    }
    // n <= 2^63, so this is exact, MIN_VALUE included (2^63 as i64 wraps to MIN, negated stays).
    Some(if negative {
        (n as i64).wrapping_neg()
    } else {
        n as i64
    })
}

/// The first code point of each run of ten Unicode decimal digits (`Nd`) in the Basic Multilingual
/// Plane: what `Character.digit(char, 10)` accepts. Dumped from JDK 17 (Unicode 13); every run is
/// 0..=9 in order. Java reads a string by UTF-16 unit, so digits beyond the BMP are not digits.
const BMP_DIGIT_ZEROS: [u32; 37] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

/// `Character.digit(c, 10)`, `None` for -1.
fn java_digit(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        return Some(c as u32 - '0' as u32);
    }
    let c = c as u32;
    let run = BMP_DIGIT_ZEROS
        .partition_point(|&zero| zero <= c)
        .checked_sub(1)?;
    let d = c - BMP_DIGIT_ZEROS[run];
    (d < 10).then_some(d)
}

/// The two number types Java headers use: `Integer` (`parseInt`) and `Long` (`parseLong`).
pub trait JavaNumber: Sized {
    /// Java's name for the type, for remarks.
    const JAVA_TYPE: &'static str;
    fn java_parse(s: &str) -> Option<Self>;
}

impl JavaNumber for i32 {
    const JAVA_TYPE: &'static str = "Integer";
    fn java_parse(s: &str) -> Option<Self> {
        java_parse_int(s)
    }
}

impl JavaNumber for i64 {
    const JAVA_TYPE: &'static str = "Long";
    fn java_parse(s: &str) -> Option<Self> {
        java_parse_long(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals.

/// Why Java's broker would refuse the request; `Display` is the remark (one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// A `@CFNotNull` field is absent, or (reflective decode) its value did not parse, so Java's
    /// field stayed `null` and the processor failed on it with a `NullPointerException`.
    Null {
        header: &'static str,
        field: &'static str,
        /// The value that did not parse, if one was sent.
        value: Option<String>,
    },
    /// A number that does not parse in a header Java decodes by hand (send V2, pull): Java's
    /// `NumberFormatException` escapes the processor.
    NumberFormat {
        header: &'static str,
        field: &'static str,
        value: String,
    },
}

/// Java's remark is `exception.toString() + ", " + first stack frame`; ours keeps the exception
/// text (NumberFormatException's message exactly) and names the header field in place of the JVM
/// stack frame, which differs between JDKs and says less.
impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::Null {
                header,
                field,
                value,
            } => {
                write!(
                    f,
                    "java.lang.NullPointerException, the custom field {header}.{field} is null"
                )?;
                match value {
                    Some(v) => write!(f, " ({} does not parse)", Quoted(v)),
                    None => Ok(()),
                }
            }
            HeaderError::NumberFormat {
                header,
                field,
                value,
            } => write!(
                f,
                "java.lang.NumberFormatException: For input string: {}, decoding {header}.{field}",
                Quoted(value)
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

impl HeaderError {
    /// Java answers both with `SYSTEM_ERROR` (an exception escaped the processor, reference-2 §1.1).
    pub fn response_code(&self) -> i32 {
        response_code::SYSTEM_ERROR
    }
}

/// A value as Java's message quotes it, kept to one line and at most 100 characters: control
/// characters escaped (Java would put a raw newline in the remark), cut at "..." where the quoted
/// text would pass 100 characters.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        const MAX: usize = 100;
        f.write_char('"')?;
        // Counted as written, escapes included: 100 control characters would otherwise make a
        // 600-character remark.
        let mut written = 0;
        for c in self.0.chars() {
            let len = if c.is_control() {
                c.escape_default().count()
            } else {
                1
            };
            written += len;
            if written > MAX {
                f.write_str("...")?;
                break;
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        f.write_char('"')
    }
}

// ---------------------------------------------------------------------------------------------
// The reader.

/// How Java decodes a header class (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// `RemotingCommand.decodeCommandCustomHeader` by reflection: a bad value leaves `null`.
    Reflective,
    /// A `FastCodesHeader`'s own `decode`: a bad number throws.
    Fast,
}

/// The Java header class a request code is decoded into, and how. Codes actormq does not decode
/// a header for get a generic name (they are decoded reflectively in Java too).
pub fn java_header(request_code: i32) -> (&'static str, Decode) {
    use request_code::*;
    match request_code {
        SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE => ("SendMessageRequestHeaderV2", Decode::Fast),
        PULL_MESSAGE | LITE_PULL_MESSAGE => ("PullMessageRequestHeader", Decode::Fast),
        SEND_MESSAGE => ("SendMessageRequestHeader", Decode::Reflective),
        QUERY_CONSUMER_OFFSET => ("QueryConsumerOffsetRequestHeader", Decode::Reflective),
        UPDATE_CONSUMER_OFFSET => ("UpdateConsumerOffsetRequestHeader", Decode::Reflective),
        UPDATE_AND_CREATE_TOPIC => ("CreateTopicRequestHeader", Decode::Reflective),
        SEARCH_OFFSET_BY_TIMESTAMP => ("SearchOffsetRequestHeader", Decode::Reflective),
        GET_MAX_OFFSET => ("GetMaxOffsetRequestHeader", Decode::Reflective),
        GET_MIN_OFFSET => ("GetMinOffsetRequestHeader", Decode::Reflective),
        VIEW_MESSAGE_BY_ID => ("ViewMessageRequestHeader", Decode::Reflective),
        QUERY_MESSAGE => ("QueryMessageRequestHeader", Decode::Reflective),
        GET_EARLIEST_MSG_STORETIME => ("GetEarliestMsgStoretimeRequestHeader", Decode::Reflective),
        UNREGISTER_CLIENT => ("UnregisterClientRequestHeader", Decode::Reflective),
        GET_CONSUMER_LIST_BY_GROUP => ("GetConsumerListByGroupRequestHeader", Decode::Reflective),
        GET_ROUTEINFO_BY_TOPIC => ("GetRouteInfoRequestHeader", Decode::Reflective),
        DELETE_TOPIC_IN_BROKER => ("DeleteTopicRequestHeader", Decode::Reflective),
        CONSUMER_SEND_MSG_BACK => ("ConsumerSendMsgBackRequestHeader", Decode::Reflective),
        VIEW_BROKER_STATS_DATA => ("ViewBrokerStatsDataRequestHeader", Decode::Reflective),
        GET_BROKER_CONSUME_STATS => ("GetConsumeStatsInBrokerHeader", Decode::Reflective),
        QUERY_CONSUME_QUEUE => ("QueryConsumeQueueRequestHeader", Decode::Reflective),
        QUERY_DATA_VERSION => ("QueryDataVersionRequestHeader", Decode::Reflective),
        BROKER_HEARTBEAT => ("BrokerHeartbeatRequestHeader", Decode::Reflective),
        REGISTER_TOPIC_IN_NAMESRV => ("RegisterTopicRequestHeader", Decode::Reflective),
        GET_BROKER_MEMBER_GROUP => ("GetBrokerMemberGroupRequestHeader", Decode::Reflective),
        QUERY_CONSUME_TIME_SPAN => ("QueryConsumeTimeSpanRequestHeader", Decode::Reflective),
        QUERY_TOPICS_BY_CONSUMER => ("QueryTopicsByConsumerRequestHeader", Decode::Reflective),
        QUERY_SUBSCRIPTION_BY_CONSUMER => (
            "QuerySubscriptionByConsumerRequestHeader",
            Decode::Reflective,
        ),
        GET_SUBSCRIPTIONGROUP_CONFIG => (
            "GetSubscriptionGroupConfigRequestHeader",
            Decode::Reflective,
        ),
        INVOKE_BROKER_TO_GET_CONSUMER_STATUS => {
            ("GetConsumerStatusRequestHeader", Decode::Reflective)
        }
        // GET_TOPIC_CONFIG (351), served by the pull processor.
        351 => ("GetTopicConfigRequestHeader", Decode::Reflective),
        _ => ("CommandCustomHeader", Decode::Reflective),
    }
}

/// Reads typed fields out of `extFields` as Java's decoder for one header class does. Copy, no
/// allocation: strings are borrowed from the header buffer.
#[derive(Debug, Clone, Copy)]
pub struct ExtReader<'a> {
    ext: &'a ExtFields,
    header: &'static str,
    decode: Decode,
}

impl<'a> ExtReader<'a> {
    /// The decoder Java uses for this request's code ([`java_header`]).
    pub fn for_request(cmd: &'a RemotingCommand) -> Self {
        let (header, decode) = java_header(cmd.code);
        ExtReader::new(&cmd.ext_fields, header, decode)
    }

    /// The decoder for Java header class `header` (named in remarks).
    pub fn new(ext: &'a ExtFields, header: &'static str, decode: Decode) -> Self {
        ExtReader {
            ext,
            header,
            decode,
        }
    }

    /// The refusal for `@CFNotNull` field `key` left null: absent, or present but unparsed.
    pub fn null(&self, key: &'static str) -> HeaderError {
        HeaderError::Null {
            header: self.header,
            field: key,
            value: self.ext.get(key).map(str::to_string),
        }
    }

    /// A `@CFNotNull` String: verbatim.
    pub fn str(&self, key: &'static str) -> Result<&'a str, HeaderError> {
        self.ext.get(key).ok_or_else(|| self.null(key))
    }

    /// An optional String: verbatim.
    pub fn opt_str(&self, key: &str) -> Option<&'a str> {
        self.ext.get(key)
    }

    /// A `@CFNotNull` Integer or Long.
    pub fn parse<T: JavaNumber>(&self, key: &'static str) -> Result<T, HeaderError> {
        self.opt_parse(key)?.ok_or_else(|| self.null(key))
    }

    /// An optional Integer or Long: `None` when absent, or (reflective decode) when it does not
    /// parse, as Java leaves the field `null`; the caller applies Java's default.
    pub fn opt_parse<T: JavaNumber>(&self, key: &'static str) -> Result<Option<T>, HeaderError> {
        let Some(v) = self.ext.get(key) else {
            return Ok(None);
        };
        match (T::java_parse(v), self.decode) {
            (Some(n), _) => Ok(Some(n)),
            (None, Decode::Reflective) => Ok(None),
            (None, Decode::Fast) => Err(HeaderError::NumberFormat {
                header: self.header,
                field: key,
                value: v.to_string(),
            }),
        }
    }

    /// A `@CFNotNull` Boolean: `Boolean.parseBoolean`, so only an absent field is refused.
    pub fn java_bool(&self, key: &'static str) -> Result<bool, HeaderError> {
        self.opt_java_bool(key).ok_or_else(|| self.null(key))
    }

    /// An optional Boolean: `Boolean.parseBoolean` when present ("1" is false, as in Java).
    pub fn opt_java_bool(&self, key: &str) -> Option<bool> {
        self.ext.get(key).map(java_parse_boolean)
    }
}

// ---------------------------------------------------------------------------------------------
// Headers.

/// `SendMessageRequestHeader` (V1 field names) / `SendMessageRequestHeaderV2` (keys a..n).
/// Fields a..h are `@CFNotNull`; the rest are optional with the Java getters' defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendMessageRequestHeader {
    pub producer_group: String,
    pub topic: String,
    pub default_topic: String,
    pub default_topic_queue_nums: i32,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub flag: i32,
    pub properties: Option<String>,
    /// Absent: 0 (`getReconsumeTimes`).
    pub reconsume_times: i32,
    /// `Boolean.parseBoolean`; absent: false (`isUnitMode`).
    pub unit_mode: bool,
    pub max_reconsume_times: Option<i32>,
    /// `Boolean.parseBoolean`; absent: false (`isBatch`).
    pub batch: bool,
    pub broker_name: Option<String>,
}

/// V1 name and V2 key of each send header field, in RocketMQ's order. V1 has no `brokerName`
/// field: V2's `n` lands in the inherited `RpcRequestHeader.bname`, so that is V1's key.
pub const SEND_FIELDS: [(&str, &str); 14] = [
    ("producerGroup", "a"),
    ("topic", "b"),
    ("defaultTopic", "c"),
    ("defaultTopicQueueNums", "d"),
    ("queueId", "e"),
    ("sysFlag", "f"),
    ("bornTimestamp", "g"),
    ("flag", "h"),
    ("properties", "i"),
    ("reconsumeTimes", "j"),
    ("unitMode", "k"),
    ("maxReconsumeTimes", "l"),
    ("batch", "m"),
    ("bname", "n"),
];

impl SendMessageRequestHeader {
    /// Decodes the V2 header (`SEND_MESSAGE_V2`, `SEND_BATCH_MESSAGE`), a `FastCodesHeader`.
    pub fn from_ext_v2(ext: &ExtFields) -> Result<Self, HeaderError> {
        let r = ExtReader::new(ext, "SendMessageRequestHeaderV2", Decode::Fast);
        Self::decode(r, |i| SEND_FIELDS[i].1)
    }

    /// Decodes the V1 header (`SEND_MESSAGE`), which Java decodes by reflection.
    pub fn from_ext_v1(ext: &ExtFields) -> Result<Self, HeaderError> {
        let r = ExtReader::new(ext, "SendMessageRequestHeader", Decode::Reflective);
        Self::decode(r, |i| SEND_FIELDS[i].0)
    }

    /// Java's order: every field is decoded first (a bad number in V2 throws there, in field
    /// order); only then does the processor meet a `@CFNotNull` field left null.
    fn decode(r: ExtReader<'_>, key: impl Fn(usize) -> &'static str) -> Result<Self, HeaderError> {
        let default_topic_queue_nums = r.opt_parse(key(3))?;
        let queue_id = r.opt_parse(key(4))?;
        let sys_flag = r.opt_parse(key(5))?;
        let born_timestamp = r.opt_parse(key(6))?;
        let flag = r.opt_parse(key(7))?;
        let reconsume_times = r.opt_parse(key(9))?;
        let max_reconsume_times = r.opt_parse(key(11))?;
        let required = |v: Option<i32>, i: usize| v.ok_or_else(|| r.null(key(i)));
        Ok(SendMessageRequestHeader {
            producer_group: r.str(key(0))?.to_string(),
            topic: r.str(key(1))?.to_string(),
            default_topic: r.str(key(2))?.to_string(),
            default_topic_queue_nums: required(default_topic_queue_nums, 3)?,
            queue_id: required(queue_id, 4)?,
            sys_flag: required(sys_flag, 5)?,
            born_timestamp: born_timestamp.ok_or_else(|| r.null(key(6)))?,
            flag: required(flag, 7)?,
            properties: r.opt_str(key(8)).map(str::to_string),
            reconsume_times: reconsume_times.unwrap_or(0),
            unit_mode: r.opt_java_bool(key(10)).unwrap_or(false),
            max_reconsume_times,
            batch: r.opt_java_bool(key(12)).unwrap_or(false),
            broker_name: r.opt_str(key(13)).map(str::to_string),
        })
    }

    /// Encodes as V2 keys (what the Java and Rust clients send by default).
    pub fn to_ext_v2(&self) -> ExtFields {
        let mut ext = ExtFields::with_capacity(14);
        let mut put = |i: usize, v: String| {
            ext.insert(SEND_FIELDS[i].1, v);
        };
        put(0, self.producer_group.clone());
        put(1, self.topic.clone());
        put(2, self.default_topic.clone());
        put(3, self.default_topic_queue_nums.to_string());
        put(4, self.queue_id.to_string());
        put(5, self.sys_flag.to_string());
        put(6, self.born_timestamp.to_string());
        put(7, self.flag.to_string());
        if let Some(p) = &self.properties {
            put(8, p.clone());
        }
        put(9, self.reconsume_times.to_string());
        put(10, self.unit_mode.to_string());
        if let Some(m) = self.max_reconsume_times {
            put(11, m.to_string());
        }
        put(12, self.batch.to_string());
        if let Some(b) = &self.broker_name {
            put(13, b.clone());
        }
        ext
    }
}

/// Keys of `SendMessageResponseHeader` plus the two the broker always adds.
pub mod send_response {
    pub const MSG_ID: &str = "msgId";
    pub const QUEUE_ID: &str = "queueId";
    pub const QUEUE_OFFSET: &str = "queueOffset";
    pub const TRANSACTION_ID: &str = "transactionId";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_ON: &str = "TRACE_ON";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(pairs: &[(&'static str, &'static str)]) -> ExtFields {
        pairs.iter().copied().collect()
    }

    /// What JDK 17 answered for each input (`Integer.parseInt`, `Long.parseLong`), None = threw.
    const JAVA_NUMBERS: &[(&str, Option<i32>, Option<i64>)] = &[
        ("0", Some(0), Some(0)),
        ("1", Some(1), Some(1)),
        ("-0", Some(0), Some(0)),
        ("+0", Some(0), Some(0)),
        ("+1", Some(1), Some(1)),
        ("-1", Some(-1), Some(-1)),
        ("+", None, None),
        ("-", None, None),
        ("", None, None),
        (" 1", None, None),
        ("1 ", None, None),
        ("\u{a0}1", None, None),
        ("1\u{0}", None, None),
        ("01", Some(1), Some(1)),
        ("007", Some(7), Some(7)),
        ("2147483647", Some(i32::MAX), Some(2147483647)),
        ("2147483648", None, Some(2147483648)),
        ("-2147483648", Some(i32::MIN), Some(-2147483648)),
        ("-2147483649", None, Some(-2147483649)),
        ("9223372036854775807", None, Some(i64::MAX)),
        ("9223372036854775808", None, None),
        ("-9223372036854775808", None, Some(i64::MIN)),
        ("-9223372036854775809", None, None),
        ("99999999999999999999999", None, None),
        ("0x10", None, None),
        ("1.0", None, None),
        ("1e3", None, None),
        ("+-1", None, None),
        ("--1", None, None),
        ("++1", None, None),
        ("1_000", None, None),
        ("true", None, None),
        // Character.digit takes any BMP Unicode decimal digit.
        ("\u{ff11}\u{ff12}", Some(12), Some(12)),
        ("\u{663}", Some(3), Some(3)),
        ("-\u{966}\u{967}", Some(-1), Some(-1)),
        // U+19DA is a digit-like No, not Nd; U+1D7CE (bold 0) is outside the BMP.
        ("\u{19da}", None, None),
        ("\u{1d7ce}", None, None),
    ];

    #[test]
    fn numbers_parse_as_java_parses_them() {
        for &(s, int, long) in JAVA_NUMBERS {
            assert_eq!(java_parse_int(s), int, "parseInt({s:?})");
            assert_eq!(java_parse_long(s), long, "parseLong({s:?})");
        }
        let long_zeros = format!("{}1", "0".repeat(200));
        assert_eq!(java_parse_int(&long_zeros), Some(1));
    }

    #[test]
    fn booleans_parse_as_java_parses_them() {
        for mask in 0..16u32 {
            let s: String = "true"
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if mask >> i & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            assert!(java_parse_boolean(&s), "{s:?}");
        }
        for s in [
            "1", "0", "false", "yes", "on", "", " true", "true ", "t", "truee",
        ] {
            assert!(!java_parse_boolean(s), "{s:?}");
        }
    }

    #[test]
    fn every_digit_run_is_ten_digits() {
        for zero in BMP_DIGIT_ZEROS {
            for d in 0..10 {
                let c = char::from_u32(zero + d).unwrap();
                assert_eq!(java_digit(c), Some(d), "U+{:04X}", zero + d);
            }
        }
        assert_eq!(java_digit('/'), None);
        assert_eq!(java_digit(':'), None);
        assert_eq!(java_digit('\u{65f}'), None);
    }

    /// A V2 header as the stock C++ client 2.2.0 writes it: booleans "0"/"1" (reference-2 §1.4).
    fn cpp_v2() -> ExtFields {
        ext(&[
            ("a", "pg"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "TAGS\u{1}TagA\u{2}"),
            ("j", "0"),
            ("k", "0"),
            ("l", "16"),
            ("m", "1"),
        ])
    }

    #[test]
    fn cpp_style_v2_decodes_with_java_booleans() {
        let h = SendMessageRequestHeader::from_ext_v2(&cpp_v2()).unwrap();
        // Java reads "1" as false too: a cpp 2.2.0 batch is one message (rocketmq-client-cpp#363).
        assert!(!h.unit_mode && !h.batch);
        assert_eq!((h.queue_id, h.max_reconsume_times), (1, Some(16)));
        let mut e = cpp_v2();
        e.insert("k", "TRUE");
        e.insert("m", "true");
        let h = SendMessageRequestHeader::from_ext_v2(&e).unwrap();
        assert!(h.unit_mode && h.batch);
    }

    #[test]
    fn cpp_style_v1_decodes_and_optional_fields_take_java_defaults() {
        let v1 = ext(&[
            ("producerGroup", "pg"),
            ("topic", "T"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "+2"),
            ("sysFlag", "0"),
            ("bornTimestamp", "1700000000000"),
            ("flag", "0"),
            ("unitMode", "1"),
            ("batch", "0"),
            ("bname", "broker-a"),
        ]);
        let h = SendMessageRequestHeader::from_ext_v1(&v1).unwrap();
        assert_eq!((h.queue_id, h.unit_mode, h.batch), (2, false, false));
        assert_eq!((h.reconsume_times, h.max_reconsume_times), (0, None));
        assert_eq!(
            (h.properties, h.broker_name.as_deref()),
            (None, Some("broker-a"))
        );
    }

    #[test]
    fn a_bad_v2_number_is_javas_number_format_exception() {
        let mut e = cpp_v2();
        e.insert("e", " 1");
        let err = SendMessageRequestHeader::from_ext_v2(&e).unwrap_err();
        assert_eq!(err.response_code(), response_code::SYSTEM_ERROR);
        assert_eq!(
            err.to_string(),
            "java.lang.NumberFormatException: For input string: \" 1\", \
             decoding SendMessageRequestHeaderV2.e"
        );
        // Optional fields too, and before any missing required field (Java's decode throws first).
        let mut e = cpp_v2();
        e.insert("j", "x");
        e.remove("b");
        let err = SendMessageRequestHeader::from_ext_v2(&e).unwrap_err();
        assert!(
            matches!(err, HeaderError::NumberFormat { field: "j", .. }),
            "{err}"
        );
    }

    #[test]
    fn a_missing_required_field_is_javas_null_pointer_exception() {
        let mut e = cpp_v2();
        e.remove("b");
        let err = SendMessageRequestHeader::from_ext_v2(&e).unwrap_err();
        assert_eq!(err.response_code(), response_code::SYSTEM_ERROR);
        assert_eq!(
            err.to_string(),
            "java.lang.NullPointerException, the custom field SendMessageRequestHeaderV2.b is null"
        );
        let mut e = cpp_v2();
        e.remove("g");
        let err = SendMessageRequestHeader::from_ext_v2(&e).unwrap_err();
        assert!(matches!(err, HeaderError::Null { field: "g", .. }), "{err}");
        // Optional fields may be absent.
        let mut e = cpp_v2();
        for k in ["i", "j", "k", "l", "m", "n"] {
            e.remove(k);
        }
        let h = SendMessageRequestHeader::from_ext_v2(&e).unwrap();
        assert_eq!((h.reconsume_times, h.unit_mode, h.batch), (0, false, false));
    }

    /// V1 is decoded by reflection: a bad value leaves the field null, which only matters for a
    /// required field.
    #[test]
    fn a_bad_v1_value_is_left_null() {
        let good = ext(&[
            ("producerGroup", "pg"),
            ("topic", "T"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "0"),
            ("sysFlag", "0"),
            ("bornTimestamp", "1"),
            ("flag", "0"),
        ]);
        let mut e = good.clone();
        e.insert("reconsumeTimes", "x");
        e.insert("maxReconsumeTimes", "1.5");
        let h = SendMessageRequestHeader::from_ext_v1(&e).unwrap();
        assert_eq!((h.reconsume_times, h.max_reconsume_times), (0, None));
        let mut e = good;
        e.insert("queueId", "0x1");
        let err = SendMessageRequestHeader::from_ext_v1(&e).unwrap_err();
        assert_eq!(err.response_code(), response_code::SYSTEM_ERROR);
        assert_eq!(
            err.to_string(),
            "java.lang.NullPointerException, the custom field SendMessageRequestHeader.queueId \
             is null (\"0x1\" does not parse)"
        );
    }

    #[test]
    fn remarks_stay_on_one_line_and_short() {
        let mut e = cpp_v2();
        e.insert("e", "1\n2\"");
        let remark = SendMessageRequestHeader::from_ext_v2(&e)
            .unwrap_err()
            .to_string();
        assert!(remark.contains(r#"For input string: "1\n2""#), "{remark}");
        assert!(!remark.contains('\n'));
        e.insert_owned("e", "9".repeat(10_000));
        let remark = SendMessageRequestHeader::from_ext_v2(&e)
            .unwrap_err()
            .to_string();
        assert!(remark.len() < 200, "{remark}");
        assert!(
            remark.contains(&format!("\"{}...\"", "9".repeat(100))),
            "{remark}"
        );
    }

    /// Found by the `header_decode` fuzz target: control characters, escaped, made the quoted
    /// value up to six times longer than its 100-character bound.
    #[test]
    fn escaped_values_stay_within_the_bound() {
        let mut e = cpp_v2();
        e.insert_owned("e", "\u{0}".repeat(300));
        let remark = SendMessageRequestHeader::from_ext_v2(&e)
            .unwrap_err()
            .to_string();
        let quoted = remark.split('"').nth(1).unwrap();
        assert!(quoted.len() <= 100 + 3, "{} chars: {remark}", quoted.len());
        assert!(
            quoted.starts_with("\\u{0}") && quoted.ends_with("..."),
            "{remark}"
        );
    }

    /// Pull and the other requests actormq decodes, with the reader Java's decoder implies.
    #[test]
    fn each_request_code_reads_with_javas_decoder() {
        let pull = RemotingCommand::request(request_code::PULL_MESSAGE, 1)
            .with_ext("queueId", "+3")
            .with_ext("maxMsgBytes", "2147483648")
            .with_ext("commitOffset", "x");
        let r = ExtReader::for_request(&pull);
        assert_eq!(r.parse::<i32>("queueId"), Ok(3));
        let err = r.opt_parse::<i32>("maxMsgBytes").unwrap_err();
        assert!(
            err.to_string()
                .contains("PullMessageRequestHeader.maxMsgBytes"),
            "{err}"
        );
        assert!(r.opt_parse::<i64>("commitOffset").is_err());
        assert!(matches!(
            r.str("topic"),
            Err(HeaderError::Null { field: "topic", .. })
        ));

        let query = RemotingCommand::request(request_code::QUERY_CONSUMER_OFFSET, 1)
            .with_ext("queueId", "1")
            .with_ext("setZeroIfNotFound", "0")
            .with_ext("commitOffset", "x");
        let r = ExtReader::for_request(&query);
        assert_eq!(r.parse::<i32>("queueId"), Ok(1));
        assert_eq!(r.opt_java_bool("setZeroIfNotFound"), Some(false));
        assert_eq!(r.opt_java_bool("absent"), None);
        assert_eq!(r.opt_parse::<i64>("commitOffset"), Ok(None));
        let err = r.parse::<i64>("commitOffset").unwrap_err();
        assert!(
            err.to_string().contains("QueryConsumerOffsetRequestHeader"),
            "{err}"
        );

        let create = RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 1)
            .with_ext("order", "1");
        let r = ExtReader::for_request(&create);
        assert_eq!(r.java_bool("order"), Ok(false));
        assert!(r.java_bool("absent").is_err());
        assert_eq!(
            java_header(9999),
            ("CommandCustomHeader", Decode::Reflective)
        );
    }

    #[test]
    fn v2_roundtrip_and_v1_names_decode() {
        let h = SendMessageRequestHeader::from_ext_v2(&cpp_v2()).unwrap();
        assert_eq!(
            SendMessageRequestHeader::from_ext_v2(&h.to_ext_v2()).unwrap(),
            h
        );
        let v1: ExtFields = h
            .to_ext_v2()
            .iter()
            .map(|(k, v)| {
                let name = SEND_FIELDS.iter().find(|f| f.1 == k).unwrap().0;
                (name, v.to_string())
            })
            .collect();
        assert_eq!(SendMessageRequestHeader::from_ext_v1(&v1).unwrap(), h);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// On ASCII text Java's rules and Rust's integer `FromStr` agree (signs, no whitespace,
        /// range), so the standard parser is the model there.
        #[test]
        fn ascii_numbers_match_the_std_parser(s in "[-+0-9 ._xa]{0,22}|[-+]?[0-9]{1,20}") {
            prop_assert_eq!(java_parse_int(&s), s.parse::<i32>().ok());
            prop_assert_eq!(java_parse_long(&s), s.parse::<i64>().ok());
        }

        #[test]
        fn every_long_round_trips(n in any::<i64>(), plus in any::<bool>()) {
            let s = if plus && n >= 0 { format!("+{n}") } else { n.to_string() };
            prop_assert_eq!(java_parse_long(&s), Some(n));
            prop_assert_eq!(java_parse_int(&s), i32::try_from(n).ok());
        }

        /// Any mix of scripts' digits reads as the same ASCII number.
        #[test]
        fn unicode_digits_read_as_their_values(n in any::<i64>(), runs in proptest::collection::vec(0..BMP_DIGIT_ZEROS.len(), 20)) {
            let ascii = n.to_string();
            let mixed: String = ascii.chars().zip(runs.iter().cycle()).map(|(c, &run)| match c.to_digit(10) {
                Some(d) => char::from_u32(BMP_DIGIT_ZEROS[run] + d).unwrap(),
                None => c,
            }).collect();
            prop_assert_eq!(java_parse_long(&mixed), Some(n));
        }

        /// Never panics, whatever the text; true only for "true" in some case.
        #[test]
        fn arbitrary_text_is_safe(s in "[tTrRuUeE\u{131}\u{212a}\u{17f} 01]{0,5}|\\PC*") {
            let _ = (java_parse_int(&s), java_parse_long(&s));
            // Model: full Unicode lowercasing (Java's equalsIgnoreCase also folds non-ASCII).
            prop_assert_eq!(java_parse_boolean(&s), s.to_lowercase() == "true");
        }
    }
}
