//! Request headers as the broker reads them: a JSON or ROCKETMQ (binary) header is decoded
//! (`protocol::codec::decode_header`) into a command with one of the request codes the broker
//! serves, and its `extFields` go through every typed reader the processors use
//! (`protocol::header::ExtReader` with Java's decoder for that code, the send header V1/V2, the
//! send-back header, the pull subscription) and, for a send, the whole send preparation
//! (`send::SendPreparer::prepare`: properties, delay and timer rewrites, batch bodies).
//!
//! Input: `actormq_fuzz::HeaderInput` (`u8 selector | u16 header length | header | body`): the
//! serialize type, one of `HEADER_CODES`, the header bytes and the body.
//!
//! Checked: nothing panics; the JSON header's fast scanner (`protocol::json_header::scan`) never
//! answers differently from the serde path (`codec::decode_json_header_serde`): when it reads a
//! header, serde reads the same command from it; every refusal's remark is one line and short; a
//! decoded send header re-encodes (V2) to the same header; every record a send prepares is a
//! valid stored record.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use actormq::config::BrokerIdentity;
use actormq::protocol::codec::{decode_header, decode_json_header_serde};
use actormq::protocol::header::{java_header, ExtReader, HeaderError, SendMessageRequestHeader};
use actormq::protocol::{json_header, request_code, ByteString, ExtFields, SerializeType};
use actormq::retry::SendBackHeader;
use actormq::send::{Hosts, SendPreparer};
use actormq::store::message::verify_record;
use actormq::store::read::TagFilter;
use actormq::subscription_group::SubscriptionGroupTable;
use actormq::topic::TopicTable;
use actormq_fuzz::HeaderInput;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// Header fields the processors read, besides whatever keys the input carries.
const FIELDS: &[&str] = &[
    "topic",
    "queueId",
    "consumerGroup",
    "queueOffset",
    "maxMsgNums",
    "sysFlag",
    "commitOffset",
    "suspendTimeoutMillis",
    "subscription",
    "maxMsgBytes",
    "offset",
    "timestamp",
    "boundaryType",
    "setZeroIfNotFound",
    "readQueueNums",
    "writeQueueNums",
    "perm",
    "order",
    "group",
    "delayLevel",
    "originMsgId",
    "originTopic",
    "unitMode",
    "maxReconsumeTimes",
    "clientID",
    "producerGroup",
    "perConnection",
];

const HOSTS: Hosts = Hosts {
    born: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)), 40000),
    store: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 10911),
};

/// A remark goes back to the client and into the log: one line, bounded.
fn check_remark(e: &HeaderError) {
    let remark = e.to_string();
    assert!(
        !remark.contains('\n') && !remark.contains('\r'),
        "{remark:?}"
    );
    assert!(
        remark.chars().count() < 400,
        "remark of {} chars",
        remark.len()
    );
}

/// Every reader method on `key`, as the processors call them.
fn read_field(r: &ExtReader<'_>, key: &'static str) {
    let _ = r.opt_str(key);
    let _ = r.opt_java_bool(key);
    for res in [r.str(key).map(|_| ()), r.java_bool(key).map(|_| ())] {
        if let Err(e) = res {
            check_remark(&e);
        }
    }
    for res in [
        r.parse::<i32>(key).map(|_| ()),
        r.parse::<i64>(key).map(|_| ()),
        r.opt_parse::<i32>(key).map(|_| ()),
        r.opt_parse::<i64>(key).map(|_| ()),
    ] {
        if let Err(e) = res {
            check_remark(&e);
        }
    }
}

fn send(cmd: &actormq::protocol::RemotingCommand) {
    let header = match cmd.code {
        request_code::SEND_MESSAGE => SendMessageRequestHeader::from_ext_v1(&cmd.ext_fields),
        _ => SendMessageRequestHeader::from_ext_v2(&cmd.ext_fields),
    };
    match header {
        Ok(h) => {
            let again = SendMessageRequestHeader::from_ext_v2(&h.to_ext_v2());
            assert_eq!(again.as_ref(), Ok(&h), "send header round trip");
        }
        Err(e) => check_remark(&e),
    }
    let mut preparer = SendPreparer::new(BrokerIdentity::default(), HOSTS.store.ip());
    let mut topics = TopicTable::default();
    let mut groups = SubscriptionGroupTable::default();
    match preparer.prepare(cmd, HOSTS, &mut topics, &mut groups) {
        Ok(p) => {
            assert_eq!(p.sizes.len(), p.uniq_keys.len());
            assert_eq!(p.sizes.len(), p.tags_codes.len());
            let mut rest = &p.records[..];
            for size in &p.sizes {
                let (record, tail) = rest.split_at(*size as usize);
                if let Err(e) = verify_record(record) {
                    panic!("prepared record does not verify: {e}");
                }
                rest = tail;
            }
            assert!(rest.is_empty(), "records and sizes disagree");
        }
        Err((_, remark)) => assert!(!remark.contains('\n'), "{remark:?}"),
    }
}

/// The differential check of the JSON fast path: whatever the scanner reads, serde reads the
/// same; what serde refuses, the scanner leaves alone. Invalid UTF-8 never reaches the scanner
/// (`decode_header` validates first), so it is not fed any here either.
fn json_fast_path_agrees(header: &[u8]) {
    let Ok(text) = ByteString::try_from(Bytes::copy_from_slice(header)) else {
        return;
    };
    let Some(fast) = json_header::scan(&text) else {
        return;
    };
    match decode_json_header_serde(Bytes::copy_from_slice(header)) {
        Ok(serde) => assert_eq!(fast, serde, "scanner and serde disagree"),
        Err(e) => panic!("the scanner read {fast:?} where serde refuses: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = HeaderInput::parse(data) else {
        return;
    };
    if input.serialize_type == SerializeType::Json {
        json_fast_path_agrees(input.header);
    }
    let header = Bytes::copy_from_slice(input.header);
    let Ok(mut cmd) = decode_header(input.serialize_type, header) else {
        return;
    };
    let code = input.code;
    cmd.code = code;
    cmd.body = Bytes::copy_from_slice(input.body);

    let r = ExtReader::for_request(&cmd);
    for key in FIELDS {
        read_field(&r, key);
    }
    // Every value the input brought, under a fixed name (the reader names fields `'static`).
    for (_, value) in cmd.ext_fields.iter() {
        let mut one = ExtFields::new();
        one.insert("value", value.to_string());
        let (name, decode) = java_header(code);
        read_field(&ExtReader::new(&one, name, decode), "value");
    }
    let _ = TagFilter::parse(r.opt_str("subscription"));
    match code {
        request_code::SEND_MESSAGE
        | request_code::SEND_MESSAGE_V2
        | request_code::SEND_BATCH_MESSAGE => send(&cmd),
        request_code::CONSUMER_SEND_MSG_BACK => {
            if let Err(e) = SendBackHeader::decode(&cmd) {
                check_remark(&e);
            }
        }
        _ => {}
    }
});
