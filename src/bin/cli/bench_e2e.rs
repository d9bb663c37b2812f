//! `actormq bench e2e`: end-to-end latency, send -> consumer receives through long polling, at a
//! fixed send rate. Each body starts with its send time (ns since the epoch); one long-polling pull
//! loop per queue records `receive time - send time` in a histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, BytesMut};
use hdrhistogram::Histogram;

use actormq::client::{Client, OutgoingMessage, PullRequest};

#[derive(clap::Args)]
pub struct E2eArgs {
    /// Messages per second to send.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Seconds to send for.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Queues to spread the messages over (one long-polling consumer each).
    #[arg(long, default_value_t = 4)]
    queues: i32,
    /// Body size in bytes (at least 8: the send timestamp).
    #[arg(long, default_value_t = 128)]
    size: usize,
    #[arg(long)]
    json: bool,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

pub async fn run(broker: &str, args: E2eArgs) -> anyhow::Result<()> {
    let topic = format!("E2E{}", now_ns() / 1_000_000);
    let producer = Arc::new(Client::connect(broker).await?);
    let consumer = Arc::new(Client::connect(broker).await?);
    // Create the topic (and its queues) before anyone waits on it.
    for q in 0..args.queues {
        let msg = OutgoingMessage {
            queue_id: q,
            ..OutgoingMessage::new(topic.clone(), vec![0u8; 8])
        };
        producer.send(&msg).await?;
    }
    let received = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + Duration::from_secs(args.duration) + Duration::from_secs(2);
    let mut consumers = Vec::new();
    for q in 0..args.queues {
        let (consumer, topic, received) = (consumer.clone(), topic.clone(), received.clone());
        consumers.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            let mut req = PullRequest::new("bench-e2e", &topic, q, 1);
            req.suspend = Some(Duration::from_secs(1));
            req.max_msgs = 256;
            while Instant::now() < stop_at {
                let Ok(result) = consumer.pull(&req).await else {
                    break;
                };
                let now = now_ns();
                for m in &result.messages {
                    let sent = u64::from_be_bytes(m.body[..8].try_into().expect("8 bytes"));
                    let _ = hist.record(now.saturating_sub(sent).div_ceil(1000).max(1));
                    received.fetch_add(1, Ordering::Relaxed);
                }
                req.offset = result.next_begin_offset;
            }
            hist
        }));
    }
    // Send at the target rate: every millisecond, the messages due by then.
    let started = Instant::now();
    let total = args.rate * args.duration;
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut inflight = tokio::task::JoinSet::new();
    while sent < total {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * args.rate as f64) as u64).min(total);
        while sent < due {
            let mut body = BytesMut::with_capacity(args.size.max(8));
            body.put_u64(now_ns());
            body.resize(args.size.max(8), b'x');
            let msg = OutgoingMessage {
                queue_id: (sent % args.queues as u64) as i32,
                ..OutgoingMessage::new(topic.clone(), body.freeze())
            };
            let producer = producer.clone();
            inflight.spawn(async move { producer.send(&msg).await.is_ok() });
            sent += 1;
        }
        while let Some(done) = inflight.try_join_next() {
            done?;
        }
    }
    while inflight.join_next().await.is_some() {}
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for c in consumers {
        hist.add(c.await?)?;
    }
    let got = received.load(Ordering::Relaxed);
    let secs = args.duration as f64;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "rate": args.rate, "sent": sent, "received": got, "seconds": secs,
                "p50_us": hist.value_at_quantile(0.5), "p99_us": hist.value_at_quantile(0.99),
                "p999_us": hist.value_at_quantile(0.999), "max_us": hist.max(),
            })
        );
    } else {
        println!(
            "sent {sent} at {} msgs/s, received {got}\nsend -> receive latency us: p50 {} p99 {} p99.9 {} max {}",
            args.rate,
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            hist.value_at_quantile(0.999),
            hist.max()
        );
    }
    Ok(())
}
