//! Header values decoded as the Java broker decodes them (`rocketmq-reference-2.md` §1), over real
//! TCP against the broker binary, with frames written as the stock C++ client 2.2.0 writes them:
//! typed JSON numbers and booleans as "0"/"1" (§1.4).

mod common;

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

use actormq::client::PullRequest;
use actormq::protocol::{response_code, RemotingCodec, RemotingCommand};
use common::TestBroker;

/// Sends one JSON-header frame on a fresh connection and reads the answer.
async fn raw_request(addr: &str, header: &str, body: &[u8]) -> RemotingCommand {
    let mut frame = Vec::new();
    frame.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    frame.extend_from_slice(&(header.len() as u32).to_be_bytes()); // high byte 0: JSON
    frame.extend_from_slice(header.as_bytes());
    frame.extend_from_slice(body);
    let answer = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&frame).await.unwrap();
        let mut buf = BytesMut::new();
        let mut codec = RemotingCodec::default();
        loop {
            if let Some(cmd) = codec.decode(&mut buf).unwrap() {
                return cmd;
            }
            assert!(s.read_buf(&mut buf).await.unwrap() > 0, "connection closed");
        }
    };
    tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("an answer within 10 s")
}

/// A SEND_MESSAGE_V2 header as cpp 2.2.0 sends it (`CommandHeader.cpp`): numbers as JSON
/// numbers, `k` and `m` as "0"/"1", no `l` or `n`; language CPP, version V4_6_0 (333).
fn cpp_send_v2(opaque: i32, topic: &str, queue_id: &str, batch: &str) -> String {
    format!(
        r#"{{"code":310,"language":"CPP","version":333,"opaque":{opaque},"flag":0,"remark":"","extFields":{{"a":"cpp_pg","b":"{topic}","c":"TBW102","d":4,"e":{queue_id},"f":0,"g":1700000000000,"h":0,"i":"TAGS\u0001TagA\u0002WAIT\u0001true\u0002","j":0,"k":"0","m":"{batch}"}}}}"#
    )
}

/// The C++ client's send is stored (Java reads its "0"/"1" booleans as false) and pulled back.
/// A `m="1"` on 310 is read as false too, as Java reads it: the message is stored as one.
#[tokio::test]
async fn cpp_client_send_v2_is_stored_and_pulled_back() {
    let broker = TestBroker::start();
    for (i, (body, batch)) in [("hello from cpp", "0"), ("second", "1")]
        .iter()
        .enumerate()
    {
        let header = cpp_send_v2(i as i32 + 1, "CppTopic", "0", batch);
        let resp = raw_request(&broker.addr, &header, body.as_bytes()).await;
        assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
        assert_eq!(resp.ext("queueOffset"), Some(i.to_string().as_str()));
    }

    let client = broker.client().await;
    let pulled = client
        .pull(&PullRequest::new("cpp_cg", "CppTopic", 0, 0))
        .await
        .unwrap();
    assert_eq!(pulled.code, response_code::SUCCESS, "{}", pulled.status);
    let got: Vec<_> = pulled
        .messages
        .iter()
        .map(|m| (m.body.as_ref(), m.tags.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (b"hello from cpp".as_ref(), Some("TagA")),
            (b"second".as_ref(), Some("TagA"))
        ]
    );
    assert!(pulled
        .messages
        .iter()
        .all(|m| m.born_timestamp == 1_700_000_000_000));
}

/// A number Java's `Integer.parseInt` refuses (here a leading space) gets the SYSTEM_ERROR and
/// NumberFormatException remark a Java broker gives; nothing is stored.
#[tokio::test]
async fn a_bad_number_gets_javas_answer_and_is_not_stored() {
    let broker = TestBroker::start();
    let header = cpp_send_v2(1, "BadNumber", r#"" 0""#, "0");
    let resp = raw_request(&broker.addr, &header, b"x").await;
    assert_eq!(resp.code, response_code::SYSTEM_ERROR);
    let remark = resp.remark.unwrap_or_default();
    assert!(
        remark.starts_with(r#"java.lang.NumberFormatException: For input string: " 0""#),
        "{remark}"
    );

    // "+0" is a number to Java: stored, as the first message of the queue.
    let header = cpp_send_v2(2, "BadNumber", r#""+0""#, "0");
    let resp = raw_request(&broker.addr, &header, b"y").await;
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.ext("queueOffset"), Some("0"));
}
