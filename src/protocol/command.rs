//! `RemotingCommand`: the one message shape of the RocketMQ remoting protocol
//! (`RemotingCommand.java`, `rocketmq-reference.md` §1.2).
//!
//! Requests and responses are the same struct; `flag` bit 0 tells them apart and
//! `opaque` pairs a response with its request. Typed "custom headers" travel flattened
//! into `ext_fields` as strings, exactly as Java's `makeCustomHeaderToNet` does, so
//! processors read them with [`RemotingCommand::ext`]. This module is pure data plus
//! builders; the byte layout lives in `codec`.

use bytes::Bytes;

use super::code::{LanguageCode, SerializeType};
use super::ext_fields::ExtFields;

/// `flag` bit 0 (`RPC_TYPE`): set on responses.
pub const FLAG_RESPONSE: i32 = 1;
/// `flag` bit 1 (`RPC_ONEWAY`): the sender expects no answer.
pub const FLAG_ONEWAY: i32 = 2;
/// `MQVersion.Version.V5_3_3.ordinal()`: the version actormq announces.
pub const CURRENT_VERSION: i32 = 479;

/// One request or response, header and body.
#[derive(Debug, Clone, PartialEq)]
pub struct RemotingCommand {
    /// Request code in requests, response code in responses (see `code`).
    pub code: i32,
    /// The sender's implementation language.
    pub language: LanguageCode,
    /// The sender's RocketMQ version ordinal (e.g. 479 = V5_3_3).
    pub version: i32,
    /// Request id chosen by the requester and echoed in the response.
    pub opaque: i32,
    /// Bit field: [`FLAG_RESPONSE`], [`FLAG_ONEWAY`].
    pub flag: i32,
    /// Error text; `None` is omitted on the wire.
    pub remark: Option<String>,
    /// The flattened custom header.
    pub ext_fields: ExtFields,
    /// Payload after the header; shares the receive buffer when decoded.
    pub body: Bytes,
    /// how the header is encoded on the wire (decoded frames record what the peer used)
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request from actormq: language RUST, version [`CURRENT_VERSION`], JSON header.
    pub fn request(code: i32, opaque: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::Rust,
            version: CURRENT_VERSION,
            opaque,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// The response to this request: same opaque and version, response flag set,
    /// language RUST, JSON header, no ext fields or body (add them with the builders).
    pub fn response_to(&self, code: i32, remark: Option<String>) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::Rust,
            version: self.version,
            opaque: self.opaque,
            flag: FLAG_RESPONSE,
            remark,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// True if `flag` bit 0 is set.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// True if `flag` bit 1 is set: the request must not be answered.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Marks this command oneway.
    pub fn set_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    /// The custom-header field `key`, if present.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key)
    }

    /// Sets a custom-header field (values are strings on the wire, like Java's `toString()`).
    pub fn with_ext(mut self, key: &'static str, value: impl ToString) -> Self {
        self.ext_fields.insert(key, value.to_string());
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    /// Sets the remark.
    pub fn with_remark(mut self, r: impl Into<String>) -> Self {
        self.remark = Some(r.into());
        self
    }

    /// Chooses the header encoding used when this command is written.
    pub fn with_serialize_type(mut self, t: SerializeType) -> Self {
        self.serialize_type = t;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::code::{request_code, response_code};

    #[test]
    fn request_defaults() {
        let r = RemotingCommand::request(request_code::SEND_MESSAGE_V2, 7);
        assert_eq!(r.code, 310);
        assert_eq!(r.opaque, 7);
        assert_eq!(r.language, LanguageCode::Rust);
        assert_eq!(r.version, 479);
        assert_eq!(r.serialize_type, SerializeType::Json);
        assert!(!r.is_response());
        assert!(!r.is_oneway());
    }

    #[test]
    fn response_copies_opaque_and_version() {
        let mut req = RemotingCommand::request(request_code::PULL_MESSAGE, 99)
            .with_ext("topic", "T")
            .with_body(Bytes::from_static(b"x"))
            .with_serialize_type(SerializeType::RocketMq);
        req.version = 401;
        req.language = LanguageCode::Java;
        let resp = req.response_to(response_code::PULL_NOT_FOUND, Some("no msg".into()));
        assert_eq!(resp.opaque, 99);
        assert_eq!(resp.version, 401);
        assert_eq!(resp.code, 19);
        assert!(resp.is_response());
        assert!(!resp.is_oneway());
        assert_eq!(resp.language, LanguageCode::Rust);
        assert_eq!(resp.serialize_type, SerializeType::Json);
        assert!(resp.ext_fields.is_empty());
        assert!(resp.body.is_empty());
        assert_eq!(resp.remark.as_deref(), Some("no msg"));
    }

    #[test]
    fn builders() {
        let mut c = RemotingCommand::request(request_code::UPDATE_CONSUMER_OFFSET, 1)
            .with_ext("queueId", 3)
            .with_ext("commitOffset", 42i64)
            .with_remark("hi");
        c.set_oneway();
        assert!(c.is_oneway());
        assert_eq!(c.ext("queueId"), Some("3"));
        assert_eq!(c.ext("commitOffset"), Some("42"));
        assert_eq!(c.ext("missing"), None);
        assert_eq!(c.remark.as_deref(), Some("hi"));
    }
}
