//! `actormq bench retry`: the consume-retry path as a push consumer that fails every message once
//! drives it. Sends `--count` messages, pulls them, sends each back with `CONSUMER_SEND_MSG_BACK`
//! (36) at `--delay-level` from `--inflight` concurrent requests, then long-polls
//! `%RETRY%<group>` until every message has come back. Reports the send-back rate, the
//! delivered-again rate, and per message the delay from its send-back to its arrival in the retry
//! topic (level delay + scheduling lateness + the consumer's long poll).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use actormq::client::{Client, OutgoingMessage, PullRequest};
use actormq::protocol::{request_code, response_code, RemotingCommand};

#[derive(clap::Args)]
pub struct RetryArgs {
    /// Messages to fail once each.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// The delay level of each send-back (level 1 is 1 s with the default levels).
    #[arg(long, default_value_t = 1)]
    delay_level: i32,
    /// Send-back requests in flight.
    #[arg(long, default_value_t = 64)]
    inflight: usize,
    /// Body size in bytes.
    #[arg(long, default_value_t = 128)]
    size: usize,
    #[arg(long)]
    json: bool,
}

pub async fn run(broker: &str, args: RetryArgs) -> anyhow::Result<()> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let (topic, group) = (format!("RetryBench{stamp}"), format!("retry-bench-{stamp}"));
    let client = Arc::new(Client::connect(broker).await?);
    for _ in 0..args.count {
        let msg = OutgoingMessage {
            queue_id: 0,
            ..OutgoingMessage::new(topic.clone(), vec![b'x'; args.size])
        };
        client.send(&msg).await?;
    }
    // What a push consumer received: each message's commit-log offset and unique key.
    let mut originals = Vec::with_capacity(args.count);
    let mut pull = PullRequest::new(&group, &topic, 0, 0);
    pull.max_msgs = 1024;
    while originals.len() < args.count {
        let r = client.pull(&pull).await?;
        for m in &r.messages {
            originals.push((m.physical_offset, m.uniq_key.clone().unwrap_or_default()));
        }
        anyhow::ensure!(
            !r.messages.is_empty(),
            "pulled {} of {}",
            originals.len(),
            args.count
        );
        pull.offset = r.next_begin_offset;
    }
    // Send every one back, `inflight` at a time; remember when each key went back.
    let started = Instant::now();
    let mut sent_back = HashMap::with_capacity(args.count);
    for chunk in originals.chunks(args.inflight.max(1)) {
        let mut calls = tokio::task::JoinSet::new();
        for (offset, key) in chunk.iter().cloned() {
            let (client, group, topic) = (client.clone(), group.clone(), topic.clone());
            let level = args.delay_level;
            calls.spawn(async move {
                let cmd = RemotingCommand::request(request_code::CONSUMER_SEND_MSG_BACK, 0)
                    .with_ext("offset", offset)
                    .with_ext("group", group)
                    .with_ext("delayLevel", level)
                    .with_ext("originTopic", topic)
                    .with_ext("maxReconsumeTimes", 16);
                let r = client.request(cmd).await;
                (key, Instant::now(), r)
            });
        }
        while let Some(done) = calls.join_next().await {
            let (key, at, r) = done?;
            let r = r?;
            anyhow::ensure!(
                r.code == response_code::SUCCESS,
                "send-back: {:?}",
                r.remark
            );
            sent_back.insert(key, at);
        }
    }
    let send_back_secs = started.elapsed().as_secs_f64();
    // The consumer of `%RETRY%<group>`, long polling.
    let retry_topic = format!("%RETRY%{group}");
    let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000, 3)?;
    let (mut first, mut last, mut back) = (None, None, 0usize);
    let mut req = PullRequest::new(&group, &retry_topic, 0, 0);
    req.max_msgs = 1024;
    req.suspend = Some(Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(120);
    while back < args.count && Instant::now() < deadline {
        let r = match client.pull(&req).await {
            Ok(r) => r,
            // The retry topic exists once the first send-back created it; until then, wait.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let now = Instant::now();
        for m in &r.messages {
            if let Some(at) = m.uniq_key.as_ref().and_then(|k| sent_back.get(k)) {
                let _ = hist.record(now.duration_since(*at).as_millis().max(1) as u64);
                back += 1;
                first.get_or_insert(now);
                last = Some(now);
            }
        }
        req.offset = r.next_begin_offset;
    }
    let redeliver_secs = match (first, last) {
        (Some(f), Some(l)) => l.duration_since(f).as_secs_f64().max(1e-3),
        _ => f64::NAN,
    };
    let (p50, p99, max) = (
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.max(),
    );
    let send_back_rate = args.count as f64 / send_back_secs;
    let redeliver_rate = back as f64 / redeliver_secs;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "count": args.count, "delay_level": args.delay_level, "came_back": back,
                "send_back_per_sec": send_back_rate, "redelivered_per_sec": redeliver_rate,
                "delay_p50_ms": p50, "delay_p99_ms": p99, "delay_max_ms": max,
            })
        );
    } else {
        println!(
            "{back} of {} came back; send-back {send_back_rate:.0}/s, redelivered {redeliver_rate:.0}/s\n\
             send-back -> in %RETRY% ms (level {} delay included): p50 {p50} p99 {p99} max {max}",
            args.count, args.delay_level
        );
    }
    anyhow::ensure!(
        back == args.count,
        "only {back} of {} came back",
        args.count
    );
    Ok(())
}
