//! Mailbox metrics against a known workload, the Prometheus endpoint, and overload: a flood far
//! beyond capacity gets SUCCESS or SYSTEM_BUSY for every request, shows up as rejections, and does
//! not grow the broker's memory.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use actormq::client::{producer_request, Client, OutgoingMessage};
use actormq::metrics::MailboxSnapshot;
use actormq::protocol::{request_code, response_code, RemotingCodec, RemotingCommand};
use common::{anon_rss_kib, TestBroker};

async fn runtime_info(client: &Client) -> HashMap<String, String> {
    let resp = client
        .request(RemotingCommand::request(
            request_code::GET_BROKER_RUNTIME_INFO,
            0,
        ))
        .await
        .unwrap();
    assert_eq!(resp.code, response_code::SUCCESS);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    serde_json::from_value(v["table"].clone()).unwrap()
}

fn mailboxes(table: &HashMap<String, String>) -> HashMap<String, MailboxSnapshot> {
    let list: Vec<MailboxSnapshot> = serde_json::from_str(&table["actormq.mailboxes"]).unwrap();
    list.into_iter().map(|m| (m.actor.clone(), m)).collect()
}

/// After N sends and a batch, the writer has handled exactly the appends sent, and every mailbox
/// drains to zero when idle.
#[tokio::test]
async fn runtime_info_counts_a_known_workload() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    for _ in 0..25 {
        client.send(&OutgoingMessage::new("M", "x")).await.unwrap();
    }
    let batch: Vec<_> = (0..4)
        .map(|_| OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("M", "y")
        })
        .collect();
    client.send_batch(&batch).await.unwrap();
    let table = runtime_info(&client).await;
    let m = mailboxes(&table);
    assert_eq!(
        m["commit_log_writer"].handled, 26,
        "25 single appends + 1 batch append"
    );
    assert_eq!(m["send_processor"].handled, 26);
    assert_eq!(table["putMessageTimesTotal"], "26");
    assert!(table["commitLogMaxOffset"].parse::<u64>().unwrap() > 0);
    for name in [
        "connection",
        "send_processor",
        "commit_log_writer",
        "flusher",
        "dispatcher",
        "file_allocator",
    ] {
        assert!(m.contains_key(name), "{name} missing");
    }
    // Idle: every mailbox but the one answering this very request is empty.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = mailboxes(&runtime_info(&client).await);
        let busy: Vec<_> = m
            .values()
            .filter(|s| s.depth > 0 && s.actor != "metrics" && s.actor != "connection")
            .collect();
        if busy.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mailboxes never drained: {busy:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Every message is counted where it lands: idle, enqueued = handled on every row, except the
    // metrics actor, which is handling this very snapshot request (ConnectionEvents count too).
    // The name server got the new topic tables; the server counted the accepted socket.
    loop {
        let m = mailboxes(&runtime_info(&client).await);
        let off: Vec<_> = m
            .values()
            .filter(|s| s.enqueued != s.handled + u64::from(s.actor == "metrics"))
            .collect();
        if off.is_empty() {
            assert!(m["name_server"].handled >= 1, "{:?}", m["name_server"]);
            assert!(m["server"].handled >= 1, "{:?}", m["server"]);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "enqueued and handled differ: {off:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads `/metrics` from the broker's Prometheus endpoint: the body.
async fn scrape(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    text.split_once("\r\n\r\n").unwrap().1.to_string()
}

/// One unlabelled series' value in a scrape.
fn series(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing"))
        .parse()
        .unwrap()
}

/// The first field (the 10 s rate) of a `"<10s> <60s> <600s>"` key.
fn ten_second_rate(table: &HashMap<String, String>, key: &str) -> f64 {
    let fields: Vec<f64> = table[key]
        .split(' ')
        .map(|f| {
            f.parse()
                .unwrap_or_else(|_| panic!("{key}: {}", table[key]))
        })
        .collect();
    assert_eq!(fields.len(), 3, "{key}: {}", table[key]);
    fields[0]
}

/// A known workload of puts and pulls shows up in RocketMQ's runtime-info keys and in the
/// Prometheus counters: 30 single sends and a batch of 10 (40 messages) pulled back 16 at a time
/// (3 found pulls, then 1 that finds nothing). The totals are exact at once; the rates come from the
/// once-a-second sampling, so `putTps` turns positive within a couple of seconds.
#[tokio::test]
async fn runtime_info_reports_message_rates_and_totals() {
    let broker = TestBroker::start_with("[metrics]\nlisten = \"127.0.0.1:0\"");
    let client = broker.client().await;
    for i in 0..30 {
        let msg = OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("Rates", format!("single {i}"))
        };
        client.send(&msg).await.unwrap();
    }
    let batch: Vec<_> = (0..10)
        .map(|i| OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new("Rates", format!("batch {i}"))
        })
        .collect();
    client.send_batch(&batch).await.unwrap();
    let bodies = common::pull_queue_bodies(&client, "rates_cg", "Rates", 0, 16).await;
    assert_eq!(bodies.len(), 40);

    let table = runtime_info(&client).await;
    assert_eq!(table["msgPutTotalTodayNow"], "40");
    assert_eq!(table["msgGetTotalTodayNow"], "40");
    for key in ["msgPutTotalTodayMorning", "msgGetTotalYesterdayMorning"] {
        assert_eq!(table[key], "0", "{key}: no day change while the test ran");
    }
    let size: u64 = table["putMessageSizeTotal"].parse().unwrap();
    assert!(size > 40 * 100, "{size}: 40 records with headers");
    let average: f64 = table["putMessageAverageSize"].parse().unwrap();
    assert_eq!(average, size as f64 / 40.0);
    assert_eq!(table["pageCacheLockTimeMills"], "0");
    assert_eq!(table["brokerActive"], "true");
    let disk: f64 = table["commitLogDiskRatio"].parse().unwrap();
    assert!((0.0..=1.0).contains(&disk), "{disk}");
    for pool in ["send", "pull"] {
        for field in ["QueueSize", "QueueCapacity", "QueueHeadWaitTimeMills"] {
            let key = format!("{pool}ThreadPool{field}");
            let value = table.get(&key).unwrap_or_else(|| panic!("{key} missing"));
            value
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{key}: {value}"));
        }
    }
    assert!(table["pullThreadPoolQueueCapacity"].parse::<u64>().unwrap() > 0);

    // The rates: sampled once a second, so poll.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let table = loop {
        let table = runtime_info(&client).await;
        let (put, out) = (
            ten_second_rate(&table, "putTps"),
            ten_second_rate(&table, "getTransferredTps"),
        );
        if put > 0.0 && out > 0.0 {
            break table;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "putTps {} / getTransferredTps {} never turned positive",
            table["putTps"],
            table["getTransferredTps"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for key in ["getFoundTps", "getMissTps", "getTotalTps"] {
        assert!(ten_second_rate(&table, key) > 0.0, "{key}: {}", table[key]);
    }
    assert_eq!(table["getTransferedTps"], table["getTransferredTps"]);

    let body = scrape(
        broker
            .metrics_addr
            .as_deref()
            .expect("metrics line printed"),
    )
    .await;
    assert_eq!(series(&body, "actormq_messages_put_total"), 40.0);
    assert_eq!(
        series(&body, "actormq_message_bytes_put_total"),
        size as f64
    );
    assert_eq!(series(&body, "actormq_messages_transferred_total"), 40.0);
    assert_eq!(series(&body, "actormq_pulls_found_total"), 3.0);
    assert_eq!(series(&body, "actormq_pulls_missed_total"), 1.0);
    assert!(body.contains("# TYPE actormq_messages_put_total counter"));
}

/// On request, each open connection reports its own figures: handled = the replies it got.
#[tokio::test]
async fn per_connection_figures_on_request() {
    let broker = TestBroker::start();
    let busy = broker.client().await;
    for _ in 0..7 {
        busy.send(&OutgoingMessage::new("C", "x")).await.unwrap();
    }
    let asking = broker.client().await;
    let request = RemotingCommand::request(request_code::GET_BROKER_RUNTIME_INFO, 0)
        .with_ext("perConnection", "true");
    let resp = asking.request(request).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let conns: Vec<MailboxSnapshot> =
        serde_json::from_str(v["table"]["actormq.connections"].as_str().unwrap()).unwrap();
    assert_eq!(conns.len(), 2, "{conns:?}");
    let mine = format!("connection:{}", busy.local_addr());
    let row = conns
        .iter()
        .find(|c| c.actor == mine)
        .unwrap_or_else(|| panic!("{mine} not in {conns:?}"));
    assert_eq!((row.handled, row.depth), (7, 0));
    // Without the flag, no per-connection rows (they are also never exported to Prometheus).
    let table = runtime_info(&asking).await;
    assert!(!table.contains_key("actormq.connections"));
}

/// The Prometheus endpoint serves well-formed text exposition with every actor.
#[tokio::test]
async fn prometheus_endpoint_is_valid_and_complete() {
    let broker = TestBroker::start_with("[metrics]\nlisten = \"127.0.0.1:0\"");
    broker
        .client()
        .await
        .send(&OutgoingMessage::new("P", "x"))
        .await
        .unwrap();
    let addr = broker.metrics_addr.clone().expect("metrics line printed");
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"));
    let mut declared = HashMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter", "histogram"].contains(&kind), "{line}");
            declared.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        // name{labels} value
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| declared.get(*f).map(String::as_str) == Some("histogram"))
            })
            .unwrap_or(name);
        assert!(
            declared.contains_key(family),
            "sample before its TYPE: {line}"
        );
        if declared[family].as_str() == "counter" {
            assert!(family.ends_with("_total"), "{line}");
        }
    }
    for actor in [
        "server",
        "connection",
        "processor_registry",
        "send_processor",
        "commit_log_writer",
        "file_allocator",
        "flusher",
        "dispatcher",
        "retention",
        "pull_processor",
        "offset_processor",
        "admin_processor",
        "metrics",
    ] {
        assert!(
            body.contains(&format!("actormq_mailbox_depth{{actor=\"{actor}\"}}")),
            "{actor} missing"
        );
    }
    // build_info carries the version; the histogram counts every handled message (each run is
    // timed); the peak's HELP says which window it covers.
    let version_line = format!(
        "actormq_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(body.lines().any(|l| l == version_line), "{version_line}");
    let value = |series: String| {
        body.lines()
            .find_map(|l| l.strip_prefix(series.as_str())?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{series} missing"))
            .parse::<f64>()
            .unwrap()
    };
    for actor in [
        "server",
        "connection",
        "send_processor",
        "commit_log_writer",
    ] {
        let count = value(format!(
            "actormq_handle_duration_seconds_count{{actor=\"{actor}\"}}"
        ));
        let handled = value(format!(
            "actormq_mailbox_handled_total{{actor=\"{actor}\"}}"
        ));
        assert_eq!(count, handled, "{actor}");
        assert!(handled >= 1.0, "{actor}");
    }
    assert!(body.contains(
        "# HELP actormq_mailbox_peak_depth Largest mailbox depth in the last 30 to 60 s"
    ));
}

/// 4 connections pipeline 20,000 sends each at a broker with tiny mailboxes: every request gets
/// SUCCESS or SYSTEM_BUSY (none dropped), rejections show in the metrics, and the broker's
/// anonymous memory stays bounded.
#[tokio::test]
async fn flood_gets_success_or_system_busy_and_memory_stays_bounded() {
    let broker = TestBroker::start_with(
        "[server]\nprocessor_mailbox = 4\nmax_inflight_per_connection = 64\n[store]\nwriter_mailbox = 4\ncommitlog_file_bytes = 67108864",
    );
    let per_conn = 20_000;
    let mut tasks = Vec::new();
    for c in 0..4 {
        let addr = broker.addr.clone();
        tasks.push(tokio::spawn(async move {
            let framed = Framed::new(
                TcpStream::connect(&addr).await.unwrap(),
                RemotingCodec::default(),
            );
            let request = producer_request(&OutgoingMessage {
                queue_id: c,
                ..OutgoingMessage::new("Flood", vec![7u8; 1024])
            });
            let (mut sink, mut stream) = framed.split();
            let writer = tokio::spawn(async move {
                for i in 0..per_conn {
                    let mut r = request.clone();
                    r.opaque = i;
                    sink.feed(r).await.unwrap();
                }
                SinkExt::<RemotingCommand>::flush(&mut sink).await.unwrap();
                sink
            });
            let mut codes: HashMap<i32, u32> = HashMap::new();
            let mut seen = vec![false; per_conn as usize];
            for _ in 0..per_conn {
                let resp = stream.next().await.unwrap().unwrap();
                assert!(!seen[resp.opaque as usize], "duplicate answer");
                seen[resp.opaque as usize] = true;
                *codes.entry(resp.code).or_default() += 1;
            }
            let _ = writer.await.unwrap();
            codes
        }));
    }
    let mut totals: HashMap<i32, u32> = HashMap::new();
    for t in tasks {
        for (code, n) in t.await.unwrap() {
            *totals.entry(code).or_default() += n;
        }
    }
    let ok = totals.get(&response_code::SUCCESS).copied().unwrap_or(0);
    let busy = totals
        .get(&response_code::SYSTEM_BUSY)
        .copied()
        .unwrap_or(0);
    assert_eq!(
        ok + busy,
        4 * per_conn as u32,
        "only SUCCESS or SYSTEM_BUSY: {totals:?}"
    );
    assert!(busy > 0, "the flood should exceed capacity: {totals:?}");
    assert!(ok > 0);
    let rss = anon_rss_kib(broker.pid());
    assert!(
        rss < 128 * 1024,
        "anonymous memory {rss} KiB after an 80 MB flood"
    );

    let client = broker.client().await;
    let m = mailboxes(&runtime_info(&client).await);
    let rejected: u64 = m.values().map(|s| s.rejected).sum();
    assert!(rejected > 0);
    assert_eq!(
        m["commit_log_writer"].handled, ok as u64,
        "every success is one append"
    );
}

/// `earliestMessageTimeStamp` is the first stored message's store time (-1 before any, as Java
/// answers; `mqadmin clusterList`'s `#Hour`), and `commitLogMinOffset` where the commit log
/// starts.
#[tokio::test]
async fn runtime_info_names_the_oldest_messages_store_time() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    let info = runtime_info(&client).await;
    assert_eq!(info["earliestMessageTimeStamp"], "-1");
    assert_eq!(info["commitLogMinOffset"], "0");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for i in 0..3 {
        client
            .send(&actormq::client::OutgoingMessage::new(
                "Oldest",
                format!("m{i}"),
            ))
            .await
            .unwrap();
    }
    let info = runtime_info(&client).await;
    let earliest: i64 = info["earliestMessageTimeStamp"].parse().unwrap();
    assert!(earliest >= before - 5, "{earliest} < {before}");
    // Later sends leave it where it is.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    client
        .send(&actormq::client::OutgoingMessage::new("Oldest", "later"))
        .await
        .unwrap();
    let again = runtime_info(&client).await;
    assert_eq!(again["earliestMessageTimeStamp"], earliest.to_string());
}

/// rocketmq-exporter (the Prometheus exporter for RocketMQ, also behind SkyWalking's RocketMQ
/// monitoring) builds its `BrokerRuntimeStats` from this table with `Long.parseLong` /
/// `Double.parseDouble` on each key and splits a few on spaces: one missing key and the broker is
/// not collected at all. Every key it reads, read as it reads it.
#[tokio::test]
async fn runtime_info_has_every_key_rocketmq_exporter_parses() {
    let broker = TestBroker::start();
    let client = broker.client().await;
    client
        .send(&OutgoingMessage::new("Exported", "x"))
        .await
        .unwrap();
    let table = runtime_info(&client).await;
    let get = |key: &str| {
        table
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing"))
            .as_str()
    };
    for key in [
        "msgPutTotalTodayNow",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "queryThreadPoolQueueHeadWaitTimeMills",
        "msgGetTotalTodayNow",
        "queryThreadPoolQueueSize",
        "bootTimestamp",
        "msgPutTotalYesterdayMorning",
        "msgGetTotalYesterdayMorning",
        "pullThreadPoolQueueSize",
        "commitLogMinOffset",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "dispatchMaxBuffer",
        "pageCacheLockTimeMills",
        "commitLogMaxOffset",
        "getMessageEntireTimeMax",
        "msgPutTotalTodayMorning",
        "putMessageTimesTotal",
        "msgGetTotalTodayMorning",
        "sendThreadPoolQueueSize",
        "startAcceptSendRequestTimeStamp",
        "putMessageEntireTimeMax",
        "earliestMessageTimeStamp",
        "remainTransientStoreBufferNumbs",
        "queryThreadPoolQueueCapacity",
        "dispatchBehindBytes",
        "putMessageSizeTotal",
        "sendThreadPoolQueueCapacity",
        "pullThreadPoolQueueCapacity",
    ] {
        get(key)
            .parse::<i64>()
            .unwrap_or_else(|_| panic!("{key}: {:?}", get(key)));
    }
    assert!(get("brokerVersion").parse::<i32>().is_ok());
    // Its defaults are -1 for the last two (absent from older brokers); Java formats them
    // `%.2f` of the last whole minute, 0.00 before one has passed.
    for key in [
        "consumeQueueDiskRatio",
        "commitLogDiskRatio",
        "putMessageAverageSize",
        "putLatency99",
        "putLatency999",
    ] {
        assert!(get(key).parse::<f64>().is_ok(), "{key}: {:?}", get(key));
    }
    for key in [
        "putTps",
        "getMissTps",
        "getTransferedTps",
        "getTotalTps",
        "getFoundTps",
    ] {
        assert!(
            get(key).split(' ').all(|f| f.parse::<f64>().is_ok()),
            "{key}"
        );
    }
    for token in get("putMessageDistributeTime").split_whitespace() {
        let (_, n) = token.split_once(':').expect("bucket:count");
        n.parse::<i64>().unwrap();
    }
    let flush: Vec<&str> = get("remainHowManyDataToFlush").split(' ').collect();
    assert!(
        flush[0].parse::<f64>().is_ok() && flush.len() == 2,
        "{flush:?}"
    );
    let cap: Vec<&str> = get("commitLogDirCapacity").split(' ').collect();
    assert!(
        cap[2].parse::<f64>().is_ok() && cap[6].parse::<f64>().is_ok(),
        "{cap:?}"
    );
    assert!(cap[3].ends_with("B,") && cap[7].ends_with("B."), "{cap:?}");
    for (key, value) in table
        .iter()
        .filter(|(k, _)| k.starts_with("scheduleMessageOffset"))
    {
        let parts: Vec<&str> = value.split(',').collect();
        assert!(
            parts.iter().all(|p| p.parse::<i64>().is_ok()),
            "{key}: {value}"
        );
    }
    let boot: i64 = get("bootTimestamp").parse().unwrap();
    let now = actormq::store::now_ms();
    assert!(boot <= now && now - boot < 600_000, "{boot} {now}");
}
