//! `actormq bench timer`: schedules N timer messages (`TIMER_DELIVER_MS`) due evenly over a window,
//! consumes the target topic with long polling, and reports lateness (receive time - deliver
//! time: p50 / p99 / max, and any early arrival), the scheduling throughput (timer sends acked
//! per second) and the broker's resident memory (`/proc/<pid>/status`, when the broker runs on
//! this machine). `--pending P` first schedules P messages an hour out, so the memory numbers show
//! what a large pending backlog costs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use hdrhistogram::Histogram;

use actormq::client::{Client, OutgoingMessage, PullRequest};
use actormq::store::message::property;
use actormq::store::now_ms;

#[derive(clap::Args)]
pub struct TimerArgs {
    /// Timer messages to deliver and measure.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// They come due evenly over this many milliseconds.
    #[arg(long, default_value_t = 10_000)]
    window_ms: i64,
    /// The first one is due this long after the start (room to send them all first).
    #[arg(long, default_value_t = 8_000)]
    lead_ms: i64,
    /// Messages scheduled an hour out before the measured ones (a pending backlog).
    #[arg(long, default_value_t = 0)]
    pending: u64,
    /// Queues of the target topic (one long-polling consumer each).
    #[arg(long, default_value_t = 4)]
    queues: i32,
    /// Sends in flight.
    #[arg(long, default_value_t = 256)]
    inflight: usize,
    /// The broker's process id, for its memory; default: the one local `actormq-broker`.
    #[arg(long)]
    pid: Option<u32>,
    #[arg(long)]
    json: bool,
}

/// VmRSS, VmHWM and RssAnon (heap and stacks: RSS without the mapped commit-log pages) of `pid`,
/// in KiB.
fn memory_kib(pid: u32) -> Option<(u64, u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?, field("RssAnon:")?))
}

/// The only local process named `actormq-broker`, if there is exactly one.
fn local_broker_pid() -> Option<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        // `comm` is cut to 15 characters.
        if comm.trim_end() == "actormq-broker".get(..15).unwrap_or_default() {
            found.push(pid);
        }
    }
    (found.len() == 1).then(|| found[0])
}

/// Sends `count` timer messages to `topic`, message `i` due at `due(i)`, `inflight` at a time.
async fn send_all(
    client: &Arc<Client>,
    topic: &str,
    count: u64,
    queues: i32,
    inflight: usize,
    due: impl Fn(u64) -> i64,
) -> anyhow::Result<u64> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut errors = 0;
    for i in 0..count {
        let at = due(i);
        let mut body = BytesMut::with_capacity(64);
        body.put_i64(at);
        body.resize(64, b'x');
        let msg = OutgoingMessage {
            queue_id: (i % queues as u64) as i32,
            properties: vec![(property::TIMER_DELIVER_MS.into(), at.to_string())],
            ..OutgoingMessage::new(topic, body.freeze())
        };
        let client = client.clone();
        tasks.spawn(async move { client.send(&msg).await.is_ok() });
        while tasks.len() >= inflight.max(1) {
            if let Some(ok) = tasks.join_next().await {
                errors += u64::from(!ok?);
            }
        }
    }
    while let Some(ok) = tasks.join_next().await {
        errors += u64::from(!ok?);
    }
    Ok(errors)
}

pub async fn run(broker: &str, args: TimerArgs) -> anyhow::Result<()> {
    let pid = args.pid.or_else(local_broker_pid);
    let client = Arc::new(Client::connect(broker).await?);
    let consumer = Arc::new(Client::connect(broker).await?);
    let stamp = now_ms();
    let topic = format!("TimerBench{stamp}");
    let mem_start = pid.and_then(memory_kib);

    let mut pending_errors = 0;
    let mut mem_pending = None;
    if args.pending > 0 {
        let far = format!("TimerBenchFar{stamp}");
        let started = Instant::now();
        let at = now_ms() + 3_600_000;
        pending_errors = send_all(&client, &far, args.pending, 1, args.inflight, |i| {
            at + i as i64
        })
        .await?;
        eprintln!(
            "{} pending scheduled in {:.1}s",
            args.pending,
            started.elapsed().as_secs_f64()
        );
        // Let the timer file them (one consume queue, in order: the measured messages are filed
        // after these) before the memory is read.
        tokio::time::sleep(Duration::from_secs((args.pending / 100_000).max(3))).await;
        mem_pending = pid.and_then(memory_kib);
    }

    let received = Arc::new(AtomicU64::new(0));
    let first_due = now_ms() + args.lead_ms;
    let deadline =
        Instant::now() + Duration::from_millis((args.lead_ms + args.window_ms) as u64 + 30_000);
    let mut consumers = Vec::new();
    for q in 0..args.queues {
        let (consumer, topic, received) = (consumer.clone(), topic.clone(), received.clone());
        let total = args.count;
        consumers.push(tokio::spawn(async move {
            let mut late = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("bounds");
            let mut early = 0u64;
            let mut req = PullRequest::new("bench-timer", &topic, q, 0);
            req.suspend = Some(Duration::from_millis(500));
            req.max_msgs = 256;
            while Instant::now() < deadline && received.load(Ordering::Relaxed) < total {
                let Ok(result) = consumer.pull(&req).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let now_us = now_ms() * 1000;
                for m in &result.messages {
                    let due = i64::from_be_bytes(m.body[..8].try_into().expect("8 bytes"));
                    let lateness = now_us - due * 1000;
                    if lateness < 0 {
                        early += 1;
                    }
                    let _ = late.record(lateness.max(1) as u64);
                    received.fetch_add(1, Ordering::Relaxed);
                }
                if result.messages.is_empty() && result.next_begin_offset == req.offset {
                    // The topic does not exist yet: its first timer message creates it.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                req.offset = result.next_begin_offset;
            }
            (late, early)
        }));
    }

    let started = Instant::now();
    let step = args.window_ms as f64 / args.count.max(1) as f64;
    let send_errors = send_all(
        &client,
        &topic,
        args.count,
        args.queues,
        args.inflight,
        |i| first_due + (i as f64 * step) as i64,
    )
    .await?;
    let send_secs = started.elapsed().as_secs_f64();
    let sent_before_due = now_ms() < first_due;

    let mut late = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let mut early = 0;
    for c in consumers {
        let (h, e) = c.await?;
        late.add(h)?;
        early += e;
    }
    let mem_end = pid.and_then(memory_kib);
    let got = received.load(Ordering::Relaxed);
    let rate = args.count as f64 / send_secs;
    let ms = |q: f64| late.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "count": args.count, "window_ms": args.window_ms, "pending": args.pending,
                "received": got, "early": early, "send_errors": send_errors + pending_errors,
                "schedule_msgs_per_s": rate, "all_sent_before_first_due": sent_before_due,
                "lateness_p50_ms": ms(0.5), "lateness_p99_ms": ms(0.99),
                "lateness_max_ms": late.max() as f64 / 1000.0,
                "rss_kib_start": mem_start.map(|m| m.0), "rss_kib_pending": mem_pending.map(|m| m.0),
                "rss_kib_end": mem_end.map(|m| m.0), "hwm_kib_end": mem_end.map(|m| m.1),
                "anon_kib_start": mem_start.map(|m| m.2), "anon_kib_pending": mem_pending.map(|m| m.2),
                "anon_kib_end": mem_end.map(|m| m.2),
            })
        );
        return Ok(());
    }
    println!(
        "scheduled {} timer messages in {send_secs:.2}s ({rate:.0} msgs/s, {} errors); all sent before the first was due: {sent_before_due}",
        args.count,
        send_errors + pending_errors
    );
    println!(
        "received {got} of {} (due over {} ms); early {early}; lateness ms: p50 {:.1} p99 {:.1} max {:.1}",
        args.count,
        args.window_ms,
        ms(0.5),
        ms(0.99),
        late.max() as f64 / 1000.0
    );
    match (pid, mem_start) {
        (Some(pid), Some(start)) => {
            let show = |m: Option<(u64, u64, u64)>| {
                m.map_or("-".into(), |m| {
                    format!("{} MiB (anon {} MiB)", m.0 / 1024, m.2 / 1024)
                })
            };
            println!(
                "broker {pid} RSS: start {}, after {} pending {}, end {} (peak {} MiB)",
                show(Some(start)),
                args.pending,
                show(mem_pending),
                show(mem_end),
                mem_end.map_or(0, |m| m.1 / 1024),
            );
        }
        _ => println!("broker memory: not a local process (pass --pid)"),
    }
    Ok(())
}
