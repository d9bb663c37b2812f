//! One client cannot exhaust the broker (`[server]` bounds, docs/configuration.md): a half-sent
//! frame is closed after `frame_read_timeout_ms`, a silent connection after `idle_timeout_secs`,
//! sockets beyond `max_connections` are refused while the others keep working, a client that never
//! reads its replies stops being read (memory stays bounded, others are served), memory goes back
//! after many large half frames are abandoned, and every rejected request is counted by request
//! and response code.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::{Decoder, Encoder};

use actormq::client::{producer_request, Client, OutgoingMessage};
use actormq::metrics::Gauge;
use actormq::protocol::{request_code, response_code, RemotingCodec, RemotingCommand};
use common::{wait_until_async, TestBroker};

const MIB: u64 = 1024 * 1024;

/// `RssAnon` of a process in bytes: the heap, not the mapped store files.
fn anon_rss(pid: u32) -> u64 {
    common::anon_rss_kib(pid) * 1024
}

async fn gauges(client: &Client) -> Vec<Gauge> {
    let resp = client
        .request(RemotingCommand::request(
            request_code::GET_BROKER_RUNTIME_INFO,
            0,
        ))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let table: HashMap<String, String> = serde_json::from_value(v["table"].clone()).unwrap();
    serde_json::from_str(&table["actormq.gauges"]).unwrap()
}

/// The value of the series `name` whose labels include all of `labels`.
fn series(gauges: &[Gauge], name: &str, labels: &[(&str, &str)]) -> f64 {
    gauges
        .iter()
        .filter(|g| g.name == name)
        .find(|g| {
            labels
                .iter()
                .all(|(k, v)| g.labels.iter().any(|(gk, gv)| gk == k && gv == v))
        })
        .map(|g| g.value)
        .unwrap_or(0.0)
}

/// Reads until the broker closes the connection; returns how long that took, or `None` if it was
/// still open after `limit`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

async fn send_ok(client: &Client, topic: &str) {
    let request = producer_request(&OutgoingMessage::new(topic, b"still served".to_vec()));
    let resp = tokio::time::timeout(Duration::from_secs(5), client.request(request))
        .await
        .expect("answered within 5 s")
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS, "{:?}", resp.remark);
}

/// A header promising a large frame and nothing after it (slow loris) is closed once
/// `frame_read_timeout_ms` has passed, and counted; a connection that completes its frames is not.
#[tokio::test]
async fn half_sent_frame_is_closed_after_the_read_timeout() {
    let broker = TestBroker::start_with("[server]\nframe_read_timeout_ms = 400");
    let client = broker.client().await;
    let mut loris = TcpStream::connect(&broker.addr).await.unwrap();
    // Length 16 MiB - 16, then the header word: 8 bytes, the rest never comes.
    loris
        .write_all(&[0, 0xFF, 0xFF, 0xF0, 0, 0, 0, 20])
        .await
        .unwrap();
    let took = closed_within(&mut loris, Duration::from_secs(5))
        .await
        .expect("the broker closes a half frame");
    assert!(
        took >= Duration::from_millis(300),
        "closed too early: {took:?}"
    );
    // The other connection was busy with whole frames the whole time and still works.
    for _ in 0..3 {
        send_ok(&client, "Loris").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let g = gauges(&client).await;
    assert_eq!(
        series(
            &g,
            "connections_closed_total",
            &[("reason", "frame_timeout")]
        ),
        1.0
    );
    assert_eq!(series(&g, "frame_budget_used_bytes", &[]), 0.0);
}

/// A connection with no traffic is closed after `idle_timeout_secs`; one that keeps talking is not.
#[tokio::test]
async fn idle_connection_is_closed_after_the_idle_timeout() {
    let broker = TestBroker::start_with("[server]\nidle_timeout_secs = 1");
    let mut idle = TcpStream::connect(&broker.addr).await.unwrap();
    let busy = broker.client().await;
    let idle_closed =
        tokio::spawn(async move { closed_within(&mut idle, Duration::from_secs(6)).await });
    // The busy client talks every 300 ms for 2.5 s: never idle for a whole second.
    for _ in 0..8 {
        send_ok(&busy, "Idle").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let took = idle_closed.await.unwrap().expect("idle connection closed");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let g = gauges(&busy).await;
    assert_eq!(
        series(&g, "connections_closed_total", &[("reason", "idle")]),
        1.0
    );
}

/// With `max_connections = 3`, a fourth socket is closed at once and counted while the three keep
/// working; once one of them closes, a new connection is accepted again.
#[tokio::test]
async fn connections_beyond_max_are_refused_and_the_others_keep_working() {
    let broker = TestBroker::start_with("[server]\nmax_connections = 3");
    let mut clients = Vec::new();
    for _ in 0..3 {
        let c = broker.client().await;
        send_ok(&c, "Cap").await;
        clients.push(c);
    }
    for _ in 0..2 {
        let mut extra = TcpStream::connect(&broker.addr).await.unwrap();
        let took = closed_within(&mut extra, Duration::from_secs(3)).await;
        assert!(
            took.is_some(),
            "a connection beyond max_connections is closed"
        );
    }
    for c in &clients {
        send_ok(c, "Cap").await;
    }
    let g = gauges(&clients[0]).await;
    assert_eq!(series(&g, "connections_refused_total", &[]), 2.0);
    assert!(broker
        .log_lines("server.max_connections reached")
        .len()
        .eq(&1));

    drop(clients.pop());
    let addr = broker.addr.clone();
    wait_until_async(Duration::from_secs(5), "a slot frees up", || {
        let addr = addr.clone();
        async move {
            let Ok(c) = Client::connect(&addr).await else {
                return false;
            };
            let request = producer_request(&OutgoingMessage::new("Cap", b"x".to_vec()));
            matches!(
                tokio::time::timeout(Duration::from_secs(1), c.request(request)).await,
                Ok(Ok(r)) if r.code == response_code::SUCCESS
            )
        }
    })
    .await;
}

/// A client pipelines sends as fast as it can and never reads a reply: once its unread replies
/// pass `max_unread_reply_bytes` the broker stops reading it, so the client's writes stall, the
/// broker's memory stays within a bound derived from the limits, and other clients are served.
#[tokio::test]
async fn client_that_never_reads_stops_being_read_and_memory_stays_bounded() {
    let broker = TestBroker::start_with(
        "[server]\nmax_unread_reply_bytes = 65536\nmax_inflight_per_connection = 64\n[store]\ncommitlog_file_bytes = 67108864",
    );
    let other = broker.client().await;
    send_ok(&other, "NoRead").await;
    let baseline = anon_rss(broker.pid());

    let mut frame = BytesMut::new();
    let mut codec = RemotingCodec::default();
    for i in 0..1000 {
        let mut r = producer_request(&OutgoingMessage::new("NoRead", vec![7u8; 256]));
        r.opaque = i;
        codec.encode(&r, &mut frame).unwrap();
    }
    let chunk = frame.freeze(); // 1000 sends
    let sent = Arc::new(AtomicU64::new(0));
    let mut flood = TcpStream::connect(&broker.addr).await.unwrap();
    let counter = sent.clone();
    // Offers up to 1M sends, never reading.
    let writer = tokio::spawn(async move {
        for _ in 0..1000 {
            if flood.write_all(&chunk).await.is_err() {
                break;
            }
            counter.fetch_add(1000, Relaxed);
        }
        flood
    });
    let paused = |g: &[Gauge]| {
        series(
            g,
            "connections_read_paused_total",
            &[("reason", "unread_replies")],
        )
    };
    let other_ref = &other;
    wait_until_async(
        Duration::from_secs(15),
        "the flood connection is paused",
        || async move { paused(&gauges(other_ref).await) >= 1.0 },
    )
    .await;
    // Paused: once the socket buffers are full, the client's writes make no progress.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = sent.load(Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = sent.load(Relaxed);
    assert!(after < 1_000_000, "every send was read");
    assert_eq!(
        before, after,
        "the broker kept reading a client that does not read"
    );
    // Others are served while the flood connection sits paused.
    let started = Instant::now();
    send_ok(&other, "Other").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    // Bound: unread replies (64 KiB) + replies of requests in flight (64 x ~300 B) + the read
    // buffer and socket buffers; 64 MiB is a generous ceiling over the baseline.
    let grown = anon_rss(broker.pid()).saturating_sub(baseline);
    assert!(
        grown < 64 * MIB,
        "broker heap grew {} MiB with {after} sends offered",
        grown / MIB
    );
    writer.abort();
    send_ok(&other, "Other").await;
}

/// Rounds of 32 connections each announce a 15 MiB frame, send 14 MiB of it and vanish, against
/// a 256 MiB frame budget: memory for frames in progress stays within the budget (32 unbounded
/// frames would hold ~512 MiB), and after they are gone the broker's heap returns near its
/// baseline (the allocator gives the memory back to the OS).
#[tokio::test]
async fn memory_returns_after_large_half_frames_are_abandoned() {
    let broker = TestBroker::start_with("[server]\nframe_budget_bytes = 268435456");
    let client = broker.client().await;
    send_ok(&client, "Half").await;
    let pid = broker.pid();
    let baseline = anon_rss(pid);
    let mut header = Vec::new();
    header.extend_from_slice(&(15u32 * 1024 * 1024).to_be_bytes());
    header.extend_from_slice(&20u32.to_be_bytes());
    let body = bytes::Bytes::from(vec![b'x'; 14 * 1024 * 1024]);
    let mut peak = 0;
    for _round in 0..2 {
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (addr, header, body) = (broker.addr.clone(), header.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let mut s = TcpStream::connect(&addr).await.unwrap();
                s.write_all(&header).await.unwrap();
                // Beyond the budget the broker stops reading: the write then stalls.
                let _ = tokio::time::timeout(Duration::from_secs(3), s.write_all(&body)).await;
                s
            }));
        }
        let mut sockets = Vec::new();
        for t in tasks {
            sockets.push(t.await.unwrap());
        }
        peak = peak.max(anon_rss(pid).saturating_sub(baseline));
        drop(sockets);
    }
    assert!(
        peak > 100 * MIB,
        "the frames were buffered: peak {} MiB",
        peak / MIB
    );
    assert!(
        peak < 400 * MIB,
        "beyond the budget: peak {} MiB",
        peak / MIB
    );
    // Connections that were waiting for budget read their EOF once budget frees up; then all of it
    // is back, and so is the memory.
    let client = &client;
    wait_until_async(
        Duration::from_secs(10),
        "budget released and heap back near baseline",
        || async move {
            let used = series(&gauges(client).await, "frame_budget_used_bytes", &[]);
            let grown = anon_rss(pid).saturating_sub(baseline);
            let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|d| d.count())
                .unwrap_or(0);
            eprintln!(
                "budget used {used}, heap +{} MiB (peak +{} MiB), fds {fds}",
                grown / MIB,
                peak / MIB
            );
            used == 0.0 && grown < 48 * MIB
        },
    )
    .await;
    send_ok(client, "Half").await;
}

/// An unknown request code and a send whose header Java would refuse are answered as Java answers
/// them and counted in `actormq_requests_rejected_total` by request and response code (runtime
/// info and Prometheus).
#[tokio::test]
async fn rejected_requests_are_counted_by_request_and_response_code() {
    let broker = TestBroker::start_with("[metrics]\nlisten = \"127.0.0.1:0\"");
    let client = broker.client().await;
    for _ in 0..2 {
        let resp = client
            .request(RemotingCommand::request(9999, 0))
            .await
            .unwrap();
        assert_eq!(resp.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
    }
    // A send with a queue id Java's Integer.parseInt refuses: SYSTEM_ERROR.
    let mut bad = producer_request(&OutgoingMessage::new("Rejected", b"x".to_vec()));
    bad.ext_fields.insert("e", " 0"); // SEND_MESSAGE_V2 calls queueId "e"
    let resp = client.request(bad).await.unwrap();
    assert_eq!(resp.code, response_code::SYSTEM_ERROR, "{:?}", resp.remark);
    let send_code = producer_request(&OutgoingMessage::new("x", vec![])).code;

    let g = gauges(&client).await;
    let rejected = |req: i32, resp: i32| {
        series(
            &g,
            "requests_rejected_total",
            &[
                ("request_code", &req.to_string()),
                ("response_code", &resp.to_string()),
            ],
        )
    };
    assert_eq!(
        rejected(9999, response_code::REQUEST_CODE_NOT_SUPPORTED),
        2.0
    );
    assert_eq!(rejected(send_code, response_code::SYSTEM_ERROR), 1.0);
    assert_eq!(
        g.iter()
            .filter(|g| g.name == "requests_rejected_total")
            .count(),
        2,
        "{g:?}"
    );

    let metrics_addr = broker.metrics_addr.clone().expect("metrics endpoint");
    let mut s = TcpStream::connect(&metrics_addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    assert!(
        text.contains(
            "actormq_requests_rejected_total{request_code=\"9999\",response_code=\"3\",request=\"UNKNOWN\",response=\"REQUEST_CODE_NOT_SUPPORTED\"} 2"
        ),
        "{text}"
    );
    assert_eq!(
        text.matches("# TYPE actormq_requests_rejected_total counter")
            .count(),
        1
    );
    // A decoder check that the answer to the unknown code carried Java's remark.
    let mut buf = BytesMut::new();
    let mut codec = RemotingCodec::default();
    let mut raw = TcpStream::connect(&broker.addr).await.unwrap();
    let mut out = BytesMut::new();
    codec
        .encode(&RemotingCommand::request(9999, 5), &mut out)
        .unwrap();
    raw.write_all(&out).await.unwrap();
    let answer = loop {
        if let Some(cmd) = codec.decode(&mut buf).unwrap() {
            break cmd;
        }
        assert!(raw.read_buf(&mut buf).await.unwrap() > 0);
    };
    assert_eq!(
        answer.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
}
