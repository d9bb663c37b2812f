//! RocketMQ remoting protocol: request/response codes, the `RemotingCommand` every
//! request and response travels as, and the length-prefixed frame codec shared by the
//! broker connections and the client.
//!
//! It is split so that nothing here knows about actors or sockets: `code` holds the
//! numeric vocabulary from `rocketmq-reference.md` §1.2 and §2, `command` the in-memory
//! command, and `codec` the byte layout (§1.1, §1.3, §1.4), which is the only place that
//! touches wire bytes (`json_header` is its fast path for the JSON header).

pub mod bounded;
pub mod code;
pub mod codec;
pub mod command;
pub mod ext_fields;
pub mod fastjson;
pub mod header;
pub mod java_body;
pub mod json_header;

pub use bytestring::ByteString;
pub use code::{
    pull_sys_flag, request_code, response_code, LanguageCode, SerializeType, OVERLOAD_REMARK,
    REJECT_REQUEST_REMARK, UNSET_RESPONSE_REMARK,
};
pub use codec::{ProtocolError, RemotingCodec, DEFAULT_MAX_FRAME_LEN};
pub use command::*;
pub use ext_fields::ExtFields;
