//! The remoting protocol at the socket: unknown codes, opaque echo, binary headers, and malformed
//! frames that close one connection without disturbing the broker.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::{Encoder, Framed};

use actormq::client::{producer_request, OutgoingMessage};
use actormq::protocol::{response_code, RemotingCodec, RemotingCommand, SerializeType};
use common::TestBroker;

/// An unknown request code gets REQUEST_CODE_NOT_SUPPORTED with RocketMQ's remark and the
/// request's opaque, and the connection stays usable.
#[tokio::test]
async fn unknown_code_is_answered_not_dropped() {
    let broker = TestBroker::start();
    let mut framed = Framed::new(
        TcpStream::connect(&broker.addr).await.unwrap(),
        RemotingCodec::default(),
    );
    framed
        .send(RemotingCommand::request(9999, 4242))
        .await
        .unwrap();
    let resp = framed.next().await.unwrap().unwrap();
    assert!(resp.is_response());
    assert_eq!(resp.opaque, 4242);
    assert_eq!(resp.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
    // Still serving on the same connection.
    let mut send = producer_request(&OutgoingMessage::new("T", "x"));
    send.opaque = 7;
    framed.send(send).await.unwrap();
    let resp = framed.next().await.unwrap().unwrap();
    assert_eq!((resp.opaque, resp.code), (7, response_code::SUCCESS));
}

/// An unknown oneway request is not answered at all.
#[tokio::test]
async fn unknown_oneway_gets_no_reply() {
    let broker = TestBroker::start();
    let mut framed = Framed::new(
        TcpStream::connect(&broker.addr).await.unwrap(),
        RemotingCodec::default(),
    );
    let mut oneway = RemotingCommand::request(9999, 1);
    oneway.set_oneway();
    framed.send(oneway).await.unwrap();
    framed
        .send(RemotingCommand::request(9998, 2))
        .await
        .unwrap();
    // The first frame back answers the second request: the oneway got nothing.
    let resp = framed.next().await.unwrap().unwrap();
    assert_eq!(resp.opaque, 2);
}

/// Requests with the binary ROCKETMQ header are decoded and answered.
#[tokio::test]
async fn binary_header_requests_are_served() {
    let broker = TestBroker::start();
    let mut framed = Framed::new(
        TcpStream::connect(&broker.addr).await.unwrap(),
        RemotingCodec::default(),
    );
    let mut send = producer_request(&OutgoingMessage {
        queue_id: 0,
        ..OutgoingMessage::new("Bin", "payload")
    });
    send.opaque = 11;
    framed
        .send(send.with_serialize_type(SerializeType::RocketMq))
        .await
        .unwrap();
    let resp = framed.next().await.unwrap().unwrap();
    assert_eq!(
        (resp.opaque, resp.code),
        (11, response_code::SUCCESS),
        "{:?}",
        resp.remark
    );
    assert_eq!(resp.ext("queueOffset"), Some("0"));
}

/// Pipelined requests are all answered, each with its own opaque.
#[tokio::test]
async fn pipelined_requests_are_matched_by_opaque() {
    let broker = TestBroker::start();
    let mut framed = Framed::new(
        TcpStream::connect(&broker.addr).await.unwrap(),
        RemotingCodec::default(),
    );
    for opaque in 0..200 {
        let mut r = producer_request(&OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("Pipe", "x")
        });
        r.opaque = opaque;
        framed.feed(r).await.unwrap();
    }
    SinkExt::<RemotingCommand>::flush(&mut framed)
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..200 {
        let resp = framed.next().await.unwrap().unwrap();
        assert_eq!(resp.code, response_code::SUCCESS);
        seen.push((
            resp.opaque,
            resp.ext("queueOffset").unwrap().parse::<i32>().unwrap(),
        ));
    }
    // One connection, one queue: answered in order, offsets in request order.
    assert!(
        seen.iter()
            .enumerate()
            .all(|(i, (o, q))| *o == i as i32 && *q == i as i32),
        "{seen:?}"
    );
}

/// Writes raw bytes and expects the broker to close this connection.
async fn expect_closed(addr: &str, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("broker should close the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "expected EOF, got {read:?}");
}

/// An oversize length, a header longer than the frame, and unparsable JSON each close that
/// connection; the broker keeps serving new and existing connections.
#[tokio::test]
async fn malformed_frames_close_only_their_connection() {
    let broker = TestBroker::start();
    let survivor = broker.client().await;

    // Length above the 16 MiB default.
    expect_closed(&broker.addr, &(17u32 * 1024 * 1024).to_be_bytes()).await;
    // Header length 100 in a frame of 8.
    let mut bad = Vec::new();
    bad.extend_from_slice(&8u32.to_be_bytes());
    bad.extend_from_slice(&100u32.to_be_bytes());
    bad.extend_from_slice(&[0u8; 4]);
    expect_closed(&broker.addr, &bad).await;
    // A JSON header that is not JSON.
    let junk = b"{not json";
    let mut bad = Vec::new();
    bad.extend_from_slice(&((4 + junk.len()) as u32).to_be_bytes());
    bad.extend_from_slice(&(junk.len() as u32).to_be_bytes());
    bad.extend_from_slice(junk);
    expect_closed(&broker.addr, &bad).await;
    // Unknown serialize type 7.
    let mut frame = BytesMut::new();
    RemotingCodec::default()
        .encode(RemotingCommand::request(310, 1), &mut frame)
        .unwrap();
    frame[4] = 7;
    expect_closed(&broker.addr, &frame).await;

    survivor
        .send(&OutgoingMessage::new("StillUp", "x"))
        .await
        .unwrap();
    broker
        .client()
        .await
        .send(&OutgoingMessage::new("StillUp", "y"))
        .await
        .unwrap();
}

/// A frame larger than a configured small maximum is refused.
#[tokio::test]
async fn configured_max_frame_is_enforced() {
    let broker = TestBroker::start_with("[server]\nmax_frame_bytes = 4096");
    let mut frame = BytesMut::new();
    let big = producer_request(&OutgoingMessage::new("T", vec![1u8; 8192]));
    RemotingCodec::default().encode(big, &mut frame).unwrap();
    expect_closed(&broker.addr, &frame).await;
    broker
        .client()
        .await
        .send(&OutgoingMessage::new("T", "small"))
        .await
        .unwrap();
}
