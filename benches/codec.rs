//! Micro-benchmarks of the per-message work on the send path that is not I/O: decoding a
//! `SEND_MESSAGE_V2` frame, reading its header, encoding the stored record, and encoding the
//! response frame; on the read path, the check of a record before it is served; and what the index
//! costs per record (the properties walk, Java's string hash of a key). `cargo bench --bench
//! codec`; compare against a saved baseline with `cargo bench --bench codec -- --save-baseline
//! before` / `--baseline before`.

use std::hint::black_box;
use std::net::SocketAddr;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion};
use tokio_util::codec::{Decoder, Encoder};

use actormq::client::{producer_request, OutgoingMessage};
use actormq::protocol::header::SendMessageRequestHeader;
use actormq::protocol::{RemotingCodec, RemotingCommand};
use actormq::store::consume_queue::CqEntry;
use actormq::store::message::{encode, java_hash_extend, KnownProperties, MessageToStore};
use actormq::store::read::verify_entry;

/// A send request as actormq's client frames it: 128-byte body, tags, keys, UNIQ_KEY.
fn send_frame() -> BytesMut {
    let msg = OutgoingMessage {
        tags: Some("TagA".into()),
        keys: Some("order-42".into()),
        queue_id: 3,
        ..OutgoingMessage::new("BenchTopic", vec![b'x'; 128])
    };
    let mut frame = BytesMut::new();
    RemotingCodec::default()
        .encode(producer_request(&msg), &mut frame)
        .unwrap();
    frame
}

/// The response a send gets: the six fields RocketMQ's broker sets.
fn send_response() -> RemotingCommand {
    let mut r = RemotingCommand::request(0, 12345);
    r.flag = 1;
    for (k, v) in [
        ("msgId", "7F00000100002A9F0000000000BC6F11"),
        ("queueId", "3"),
        ("queueOffset", "123456"),
        ("transactionId", "7F000001B2B218B4AAC21C7E2C810001"),
        ("MSG_REGION", "DefaultRegion"),
        ("TRACE_ON", "true"),
    ] {
        r.ext_fields.insert(k, v);
    }
    r
}

fn codec(c: &mut Criterion) {
    let frame = send_frame();
    let mut codec = RemotingCodec::default();
    c.bench_function("decode send frame", |b| {
        b.iter(|| {
            let mut buf = frame.clone();
            codec.decode(&mut buf).unwrap().unwrap()
        })
    });

    let cmd = codec.decode(&mut frame.clone()).unwrap().unwrap();
    c.bench_function("read send header (V2)", |b| {
        b.iter(|| SendMessageRequestHeader::from_ext_v2(&cmd.ext_fields).unwrap())
    });

    let header = SendMessageRequestHeader::from_ext_v2(&cmd.ext_fields).unwrap();
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let message = MessageToStore {
        topic: header.topic.clone(),
        queue_id: header.queue_id,
        flag: header.flag,
        body: cmd.body.clone(),
        properties: header.properties.clone().unwrap_or_default(),
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    let mut out = BytesMut::with_capacity(1024);
    c.bench_function("encode stored record", |b| {
        b.iter(|| {
            out.clear();
            encode(&message, &mut out).unwrap()
        })
    });

    // The read path's check of every record it serves (issue 13), against the copy into the
    // pull body that it guards: what verification adds per 128-byte message.
    out.clear();
    encode(&message, &mut out).unwrap();
    let record = out.split().freeze();
    let entry = CqEntry {
        commit_log_offset: 0,
        size: record.len() as i32,
        tags_code: 0,
    };
    c.bench_function("verify served record (128 B body)", |b| {
        b.iter(|| verify_entry(&record, &entry, &message.topic, message.queue_id, 0).unwrap())
    });
    let mut body = BytesMut::with_capacity(64 * 1024);
    c.bench_function("copy served record into a pull body", |b| {
        b.iter(|| {
            if body.len() > 60 * 1024 {
                body.clear();
            }
            body.extend_from_slice(&record)
        })
    });

    // What every record costs the index (a master's dispatcher, a slave's writer): one walk over
    // its properties, then Java's `String.hashCode` of "topic#key" for its unique key.
    let properties = message.properties.clone();
    c.bench_function("scan a record's properties", |b| {
        b.iter(|| KnownProperties::scan(black_box(&properties)).uniq_key)
    });
    let key = format!("{}#{}", message.topic, "7F000001B2B218B4AAC21C7E2C810001");
    c.bench_function("Java hash of an index key, char by char (reference)", |b| {
        b.iter(|| {
            black_box(&key)
                .bytes()
                .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
        })
    });
    c.bench_function("Java hash of an index key (java_hash_extend)", |b| {
        b.iter(|| java_hash_extend(0, black_box(&key)))
    });

    let response = send_response();
    let mut out = BytesMut::with_capacity(1024);
    c.bench_function("encode send response frame", |b| {
        b.iter(|| {
            out.clear();
            codec.encode(&response, &mut out).unwrap()
        })
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
