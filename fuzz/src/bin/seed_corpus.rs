//! Writes the checked-in seed corpus (`fuzz/corpus/<target>/`) with actormq's own encoders: real
//! request frames (send V2, batch, pull, heartbeat, offsets, send-back, topic creation; JSON and
//! ROCKETMQ headers), their header maps, stored records and small commit-log files.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --features seeds --bin seed_corpus` (no sanitizer
//! needed). Rewrites the files it names; the fuzzers' own additions are left alone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use actormq::protocol::codec::encode_header;
use actormq::protocol::header::{SendMessageRequestHeader, SEND_FIELDS};
use actormq::protocol::{request_code, RemotingCodec, RemotingCommand, SerializeType};
use actormq::store::consume_queue::CqEntry;
use actormq::store::message::{
    encode, encode_batch_entry, patch_offsets, properties_to_string, tags_hash_code, write_blank,
    MessageToStore,
};
use actormq_fuzz::recovery::{self, FILE_SIZE};
use actormq_fuzz::{frame_input, header_input};
use bytes::{Bytes, BytesMut};
use tokio_util::codec::Encoder;

const BORN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)), 40000);
const STORE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 10911);

fn props(tags: &str) -> String {
    properties_to_string([
        ("UNIQ_KEY", "0A00000700002A9F0000000000000001"),
        ("WAIT", "true"),
        ("TAGS", tags),
        ("KEYS", "order-1 order-2"),
    ])
}

fn send_v2() -> RemotingCommand {
    let h = SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: "TopicTest".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 1,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(props("TagA")),
        reconsume_times: 0,
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: Some("broker-a".into()),
    };
    let mut cmd = RemotingCommand::request(request_code::SEND_MESSAGE_V2, 1)
        .with_body(Bytes::from_static(b"Hello RocketMQ"));
    cmd.ext_fields = h.to_ext_v2();
    cmd
}

/// `send_v2` with other properties (field `i`) and opaque.
fn send_with(properties: &[(&str, &str)], opaque: i32) -> RemotingCommand {
    let mut cmd = send_v2();
    cmd.ext_fields
        .insert_owned("i", properties_to_string(properties.iter().copied()));
    cmd.opaque = opaque;
    cmd
}

fn send_batch() -> RemotingCommand {
    let mut body = BytesMut::new();
    encode_batch_entry(0, b"first", &props("TagA"), &mut body);
    encode_batch_entry(
        0,
        b"second",
        &properties_to_string([("KEYS", "k")]),
        &mut body,
    );
    let mut cmd = send_v2();
    cmd.code = request_code::SEND_BATCH_MESSAGE;
    cmd.ext_fields.insert("m", "true");
    cmd.ext_fields.remove("i");
    cmd.opaque = 4;
    cmd.with_body(body.freeze())
}

fn pull() -> RemotingCommand {
    RemotingCommand::request(request_code::PULL_MESSAGE, 5)
        .with_ext("consumerGroup", "cg")
        .with_ext("topic", "TopicTest")
        .with_ext("queueId", 1)
        .with_ext("queueOffset", 0)
        .with_ext("maxMsgNums", 32)
        .with_ext("sysFlag", 3)
        .with_ext("commitOffset", 0)
        .with_ext("suspendTimeoutMillis", 15000)
        .with_ext("subscription", "TagA || TagB")
        .with_ext("subVersion", 1_700_000_000_000i64)
        .with_ext("expressionType", "TAG")
        .with_ext("maxMsgBytes", 1 << 20)
}

fn heartbeat() -> RemotingCommand {
    let body = br#"{"clientID":"10.0.0.7@4242","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"cg","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"tagsSet":[],"topic":"TopicTest"}],"unitMode":false}],"producerDataSet":[{"groupName":"pg"}]}"#;
    RemotingCommand::request(request_code::HEART_BEAT, 6).with_body(Bytes::from_static(body))
}

fn others() -> Vec<(&'static str, RemotingCommand)> {
    vec![
        (
            "query_offset",
            RemotingCommand::request(request_code::QUERY_CONSUMER_OFFSET, 7)
                .with_ext("consumerGroup", "cg")
                .with_ext("topic", "TopicTest")
                .with_ext("queueId", 0)
                .with_ext("setZeroIfNotFound", "false"),
        ),
        (
            "update_offset",
            RemotingCommand::request(request_code::UPDATE_CONSUMER_OFFSET, 8)
                .with_ext("consumerGroup", "cg")
                .with_ext("topic", "TopicTest")
                .with_ext("queueId", 0)
                .with_ext("commitOffset", 42),
        ),
        (
            "search_offset",
            RemotingCommand::request(request_code::SEARCH_OFFSET_BY_TIMESTAMP, 9)
                .with_ext("topic", "TopicTest")
                .with_ext("queueId", 0)
                .with_ext("timestamp", 1_700_000_000_000i64)
                .with_ext("boundaryType", "UPPER"),
        ),
        (
            "send_back",
            RemotingCommand::request(request_code::CONSUMER_SEND_MSG_BACK, 10)
                .with_ext("offset", 1234)
                .with_ext("group", "cg")
                .with_ext("delayLevel", 0)
                .with_ext("originMsgId", "7F00000100002A9F00000000000004D2")
                .with_ext("originTopic", "TopicTest")
                .with_ext("unitMode", "false")
                .with_ext("maxReconsumeTimes", 16),
        ),
        (
            "create_topic",
            RemotingCommand::request(request_code::UPDATE_AND_CREATE_TOPIC, 11)
                .with_ext("topic", "NewTopic")
                .with_ext("defaultTopic", "TBW102")
                .with_ext("readQueueNums", 8)
                .with_ext("writeQueueNums", 8)
                .with_ext("perm", 6)
                .with_ext("topicFilterType", "SINGLE_TAG")
                .with_ext("order", "false"),
        ),
        (
            "view_by_id",
            RemotingCommand::request(request_code::VIEW_MESSAGE_BY_ID, 12).with_ext("offset", 1234),
        ),
        (
            "unregister",
            RemotingCommand::request(request_code::UNREGISTER_CLIENT, 13)
                .with_ext("clientID", "10.0.0.7@4242")
                .with_ext("producerGroup", "pg")
                .with_ext("consumerGroup", "cg"),
        ),
    ]
}

fn requests() -> Vec<(&'static str, RemotingCommand)> {
    let mut all = vec![
        ("send_v2", send_v2()),
        (
            "send_delayed",
            send_with(&[("DELAY", "3"), ("TAGS", "TagB")], 2),
        ),
        (
            "send_timer",
            send_with(&[("TIMER_DELAY_SEC", "5"), ("TAGS", "TagC")], 3),
        ),
        ("send_batch", send_batch()),
        ("pull", pull()),
        ("heartbeat", heartbeat()),
    ];
    all.extend(others());
    all
}

fn frame(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = BytesMut::new();
    RemotingCodec::default()
        .encode(cmd, &mut out)
        .expect("seed frame encodes");
    out.to_vec()
}

fn header(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_header(cmd, &mut out).expect("seed header encodes");
    out.to_vec()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("create corpus dir");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn message(topic: &str, queue_id: i32, body: &'static [u8], tags: &str) -> MessageToStore {
    MessageToStore {
        topic: topic.into(),
        queue_id,
        flag: 0,
        body: Bytes::from_static(body),
        properties: props(tags),
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: BORN,
        store_host: STORE,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// A record as the writer stores it at `physical` with queue offset `queue_offset`.
fn stored(m: &MessageToStore, queue_offset: i64, physical: i64) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(m, &mut out).expect("seed record encodes");
    patch_offsets(&mut out, queue_offset, physical, 1_700_000_000_123);
    out.to_vec()
}

/// Commit-log files with `messages` appended as the writer does: consecutive records, a blank
/// marker and the next file when one does not fit.
fn commit_log(messages: &[MessageToStore], files: usize) -> Vec<u8> {
    let size = FILE_SIZE as usize;
    let mut log = vec![0u8; size * files];
    let mut queue_offsets = std::collections::HashMap::new();
    let mut pos = 0usize;
    for m in messages {
        let next: &mut i64 = queue_offsets
            .entry((m.topic.clone(), m.queue_id))
            .or_default();
        let mut rec = stored(m, *next, pos as i64);
        let file_end = (pos / size + 1) * size;
        if pos + rec.len() + 8 > file_end {
            if file_end == log.len() {
                break;
            }
            write_blank(&mut log[pos..], (file_end - pos) as i32);
            pos = file_end;
            rec = stored(m, *next, pos as i64);
        }
        log[pos..pos + rec.len()].copy_from_slice(&rec);
        pos += rec.len();
        *next += 1;
    }
    log
}

fn seeds_frames(root: &Path) {
    let dir = root.join("frame_codec");
    let mut all = Vec::new();
    for st in [SerializeType::Json, SerializeType::RocketMq] {
        for (name, cmd) in requests() {
            let f = frame(&cmd.clone().with_serialize_type(st));
            write(
                &dir,
                &format!("{name}_{}", st.name().to_lowercase()),
                &frame_input(&[], &f),
            );
            all.extend_from_slice(&f);
        }
    }
    // Every request back to back, arriving in uneven pieces (a header split mid-length, ...).
    write(
        &dir,
        "pipelined_pieces",
        &frame_input(&[3, 1, 7, 200, 90, 5, 255], &all),
    );
    let response = send_v2()
        .response_to(0, None)
        .with_ext("msgId", "7F00000100002A9F0000000000000000")
        .with_ext("queueId", 1)
        .with_ext("queueOffset", 0);
    write(
        &dir,
        "send_response_json",
        &frame_input(&[], &frame(&response)),
    );
}

fn seeds_headers(root: &Path) {
    let dir = root.join("header_decode");
    for st in [SerializeType::Json, SerializeType::RocketMq] {
        for (name, cmd) in requests() {
            let cmd = cmd.with_serialize_type(st);
            let input = header_input(cmd.code, st, &header(&cmd), &cmd.body);
            write(
                &dir,
                &format!("{name}_{}", st.name().to_lowercase()),
                &input,
            );
        }
    }
    // SEND_MESSAGE (V1 field names), as the C++ client sends it.
    let v2 = send_v2();
    let mut v1 =
        RemotingCommand::request(request_code::SEND_MESSAGE, 14).with_body(v2.body.clone());
    for (long, short) in SEND_FIELDS {
        if let Some(v) = v2.ext_fields.get(short) {
            v1.ext_fields.insert(long, v.to_string());
        }
    }
    let input = header_input(v1.code, SerializeType::Json, &header(&v1), &v1.body);
    write(&dir, "send_v1_json", &input);
    // JSON headers as other clients write them, and shapes the JSON fast path leaves to serde, so
    // the differential check starts from both sides of the scanner's subset.
    for (name, json) in CLIENT_JSON_HEADERS {
        let input = header_input(
            request_code::SEND_MESSAGE_V2,
            SerializeType::Json,
            json.as_bytes(),
            b"hello",
        );
        write(&dir, name, &input);
    }
}

/// SEND_MESSAGE_V2 headers: the C++ client 2.2.0 (numbers as JSON numbers), rocketmq-client-go
/// (jsoniter: struct order, `&` as `\u0026`), a pretty-printed one with an unknown nested field,
/// numbers serde reads as floats, and an escaped top-level key.
const CLIENT_JSON_HEADERS: &[(&str, &str)] = &[
    (
        "json_cpp_send_v2",
        r#"{"code":310,"language":"CPP","version":333,"opaque":1,"flag":0,"remark":"","extFields":{"a":"cpp_pg","b":"CppTopic","c":"TBW102","d":4,"e":0,"f":0,"g":1700000000000,"h":0,"i":"TAGS\u0001TagA\u0002WAIT\u0001true\u0002","j":0,"k":"0","m":"0"}}"#,
    ),
    (
        "json_go_send_v2",
        r#"{"code":310,"language":"GO","version":317,"opaque":7,"flag":0,"remark":"","extFields":{"a":"go_pg","b":"GoTopic","c":"TBW102","d":"4","e":"2","f":"0","g":"1700000000000","h":"0","i":"KEYS\u0001a\u0026b\u0002UNIQ_KEY\u00010A0B0C0D000018B4AAC2000000000001\u0002","j":"0","k":"false","l":"0","m":"false"}}"#,
    ),
    (
        "json_pretty_unknown_nested",
        "{\n  \"code\" : 310,\n  \"extFields\" : {\"a\":\"pg\", \"b\":\"T\", \"b\":null, \"c\":\"TBW102\", \"d\":true, \"e\":-1, \"f\":\"0\", \"g\":\"1\", \"h\":\"0\"},\n  \"x\" : {\"y\":[1,2,{\"z\":null}]},\n  \"remark\" : null\n}\n",
    ),
    (
        "json_floats_and_escaped_key",
        r#"{"c\u006fde":310,"extFields":{"a":"pg","b":"T","c":"TBW102","d":4.0,"e":1e0,"f":-0,"g":17e11,"h":0},"opaque":-5}"#,
    ),
];

fn seeds_records(root: &Path) {
    let dir = root.join("record_decode");
    let m = message("TopicTest", 1, b"Hello RocketMQ", "TagA");
    write(&dir, "record_v4", &stored(&m, 7, 0));
    let mut v6 = message("TopicTest", 0, b"over IPv6", "TagB");
    v6.born_host = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 50000);
    v6.store_host = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 10911);
    write(&dir, "record_v6_hosts", &stored(&v6, 0, 0));
    let long_topic = "T".repeat(200);
    write(
        &dir,
        "record_v2_long_topic",
        &stored(&message(&long_topic, 0, b"", "TagC"), 0, 0),
    );
    let mut two = stored(&m, 0, 0);
    let len = two.len() as i64;
    two.extend(stored(&m, 1, len));
    write(&dir, "two_records", &two);
    let mut blank = vec![0u8; 64];
    write_blank(&mut blank, 64);
    write(&dir, "blank_marker", &blank);
    let mut batch = BytesMut::new();
    encode_batch_entry(0, b"first", &props("TagA"), &mut batch);
    encode_batch_entry(1, b"second", "", &mut batch);
    write(&dir, "batch_body", &batch);
}

fn seeds_recovery(root: &Path) {
    let dir = root.join("recovery_scan");
    let msgs: Vec<MessageToStore> = (0..40)
        .map(|i| {
            message(
                "TopicTest",
                i % 2,
                b"a message body of some length",
                ["TagA", "TagB"][i as usize % 2],
            )
        })
        .collect();
    let one = commit_log(&msgs[..6], 1);
    let used = one.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    // The zero tail is implied (the target pads files with zeros).
    let with = |flags: u8, bytes: &[u8]| [&[flags][..], bytes].concat();
    write(&dir, "one_file_crash", &with(0, &one[..used]));
    write(
        &dir,
        "one_file_clean",
        &with(recovery::SCAN_LAST_FILES, &one[..used]),
    );
    let mut torn = one[..used].to_vec();
    torn.truncate(used - 10);
    write(&dir, "torn_tail", &with(0, &torn));
    let two = commit_log(&msgs, 2);
    let used2 = two.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    write(
        &dir,
        "two_files_crash",
        &with(recovery::TWO_FILES, &two[..used2]),
    );
    // A flipped body byte in the first file: damaged, kept aside by the CRC check.
    let mut flipped = two[..used2].to_vec();
    flipped[200] ^= 0x55;
    write(
        &dir,
        "two_files_body_flip",
        &with(recovery::TWO_FILES, &flipped),
    );
    // With the consume queue of TopicTest/0 as recovery left it: its first two entries.
    let mut cq = Vec::new();
    let mut pos = 0usize;
    let mut index = 0;
    while pos < used && index < 3 {
        let size = i32::from_be_bytes(one[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        if (index % 2) == 0 {
            let e = CqEntry {
                commit_log_offset: pos as i64,
                size: size as i32,
                tags_code: tags_hash_code("TagA"),
            };
            cq.extend_from_slice(&e.encode());
        }
        pos += size;
        index += 1;
    }
    let mut with_cq = one.clone();
    with_cq.extend_from_slice(&cq);
    write(
        &dir,
        "one_file_with_queue",
        &with(recovery::WITH_CONSUME_QUEUE, &with_cq),
    );
}

fn main() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    seeds_frames(&root);
    seeds_headers(&root);
    seeds_records(&root);
    seeds_recovery(&root);
    println!("seeds written under {}", root.display());
}
