//! Typed views of the "custom headers" RocketMQ flattens into a command's `extFields`.
//!
//! Java decodes these by reflection; here each header is a struct with a `from_ext` that names the
//! missing or malformed field, so the processor can answer with a remark saying exactly what was wrong.
//! `SEND_MESSAGE_V2` abbreviates the V1 field names to single letters (reference §3.1); both decode
//! into the same struct.

use std::str::FromStr;

use super::ext_fields::ExtFields;

/// A required field is absent or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the header field {0} is required")]
    Missing(&'static str),
    #[error("the header field {field} = {value:?} is not a valid {kind}")]
    BadValue {
        field: &'static str,
        value: String,
        kind: &'static str,
    },
}

/// Reads typed fields out of `extFields`.
pub struct ExtReader<'a>(pub &'a ExtFields);

impl<'a> ExtReader<'a> {
    pub fn str(&self, key: &'static str) -> Result<&'a str, HeaderError> {
        self.0.get(key).ok_or(HeaderError::Missing(key))
    }

    pub fn opt_str(&self, key: &str) -> Option<&'a str> {
        self.0.get(key)
    }

    pub fn parse<T: FromStr>(&self, key: &'static str) -> Result<T, HeaderError> {
        parse_value(key, self.str(key)?)
    }

    pub fn opt_parse<T: FromStr>(&self, key: &'static str) -> Result<Option<T>, HeaderError> {
        match self.opt_str(key) {
            Some(v) => parse_value(key, v).map(Some),
            None => Ok(None),
        }
    }
}

fn parse_value<T: FromStr>(field: &'static str, value: &str) -> Result<T, HeaderError> {
    value.trim().parse().map_err(|_| HeaderError::BadValue {
        field,
        value: value.to_string(),
        kind: std::any::type_name::<T>(),
    })
}

/// `SendMessageRequestHeader` (V1 field names) / `SendMessageRequestHeaderV2` (keys a..n).
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
    pub reconsume_times: i32,
    pub unit_mode: bool,
    pub max_reconsume_times: Option<i32>,
    pub batch: bool,
    pub broker_name: Option<String>,
}

/// V1 name and V2 key of each send header field, in RocketMQ's order.
const SEND_FIELDS: [(&str, &str); 14] = [
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
    ("brokerName", "n"),
];

impl SendMessageRequestHeader {
    /// Decodes the V2 header (`SEND_MESSAGE_V2`, `SEND_BATCH_MESSAGE`).
    pub fn from_ext_v2(ext: &ExtFields) -> Result<Self, HeaderError> {
        Self::decode(ext, |i| SEND_FIELDS[i].1)
    }

    /// Decodes the V1 header (`SEND_MESSAGE`).
    pub fn from_ext_v1(ext: &ExtFields) -> Result<Self, HeaderError> {
        Self::decode(ext, |i| SEND_FIELDS[i].0)
    }

    fn decode(ext: &ExtFields, key: impl Fn(usize) -> &'static str) -> Result<Self, HeaderError> {
        let r = ExtReader(ext);
        Ok(SendMessageRequestHeader {
            producer_group: r.str(key(0))?.to_string(),
            topic: r.str(key(1))?.to_string(),
            default_topic: r.str(key(2))?.to_string(),
            default_topic_queue_nums: r.parse(key(3))?,
            queue_id: r.parse(key(4))?,
            sys_flag: r.parse(key(5))?,
            born_timestamp: r.parse(key(6))?,
            flag: r.parse(key(7))?,
            properties: r.opt_str(key(8)).map(str::to_string),
            reconsume_times: r.opt_parse(key(9))?.unwrap_or(0),
            unit_mode: r.opt_parse(key(10))?.unwrap_or(false),
            max_reconsume_times: r.opt_parse(key(11))?,
            batch: r.opt_parse(key(12))?.unwrap_or(false),
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

    #[test]
    fn decodes_the_reference_v2_example() {
        let e = ext(&[
            ("a", "pg"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ]);
        let h = SendMessageRequestHeader::from_ext_v2(&e).unwrap();
        assert_eq!(h.topic, "TopicTest");
        assert_eq!(h.queue_id, 1);
        assert_eq!(h.born_timestamp, 1_700_000_000_000);
        assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
        assert_eq!(
            SendMessageRequestHeader::from_ext_v2(&h.to_ext_v2()).unwrap(),
            h
        );
    }

    #[test]
    fn missing_and_bad_fields_are_named() {
        let e = ext(&[("a", "pg")]);
        assert_eq!(
            SendMessageRequestHeader::from_ext_v2(&e).unwrap_err(),
            HeaderError::Missing("b")
        );
        let mut e = SendMessageRequestHeader::default().to_ext_v2();
        e.insert("e", "x");
        let err = SendMessageRequestHeader::from_ext_v2(&e)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"x\""), "{err}");
    }

    #[test]
    fn v1_names_decode() {
        let v2 = SendMessageRequestHeader {
            topic: "T".into(),
            ..Default::default()
        }
        .to_ext_v2();
        let v1: ExtFields = v2
            .iter()
            .map(|(k, v)| {
                let name = SEND_FIELDS.iter().find(|f| f.1 == k).unwrap().0;
                (name, v.to_string())
            })
            .collect();
        assert_eq!(
            SendMessageRequestHeader::from_ext_v1(&v1).unwrap().topic,
            "T"
        );
    }
}
