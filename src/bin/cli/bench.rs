//! `actormq bench produce`: drives the broker with `SEND_MESSAGE_V2` from C connections with W
//! requests in flight on each, and reports throughput and latency percentiles (hdrhistogram).
//! `actormq bench consume`: reads a topic's backlog with pipelined pulls and reports msgs/s and MB/s.
//!
//! Runs on the CLI's single-threaded runtime so the load generator takes one core, leaving the other
//! to the broker on a 2-core machine. Each in-flight slot keeps its own histogram; they are merged
//! at the end, so recording costs no shared state.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Subcommand;
use hdrhistogram::Histogram;

use actormq::client::{producer_request, Client, OutgoingMessage};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Send as fast as the broker answers.
    Produce(ProduceArgs),
    /// Read a topic's backlog (every queue, from its min offset to the max seen at start).
    Consume(super::bench_consume::ConsumeArgs),
    /// End-to-end latency: send at a fixed rate, receive through long polling.
    E2e(super::bench_e2e::E2eArgs),
    /// The disk alone: append + msync as the sync-mode flusher does (no broker needed).
    Disk(super::bench_disk::DiskArgs),
    /// Timer messages: lateness of N messages due over a window, scheduling rate, broker memory.
    Timer(super::bench_timer::TimerArgs),
    /// Consume retry: every message sent back once (36), then read again from `%RETRY%<group>`.
    Retry(super::bench_retry::RetryArgs),
}

#[derive(clap::Args)]
pub struct ProduceArgs {
    #[arg(long, default_value = "BenchTopic")]
    topic: String,
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 64)]
    inflight: usize,
    /// Body size in bytes.
    #[arg(long, default_value_t = 128)]
    size: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(broker: &str, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Produce(args) => produce(broker, args).await,
        BenchCommand::Consume(args) => super::bench_consume::run(broker, args).await,
        BenchCommand::E2e(args) => super::bench_e2e::run(broker, args).await,
        BenchCommand::Disk(args) => super::bench_disk::run(args).await,
        BenchCommand::Timer(args) => super::bench_timer::run(broker, args).await,
        BenchCommand::Retry(args) => super::bench_retry::run(broker, args).await,
    }
}

async fn produce(broker: &str, args: ProduceArgs) -> anyhow::Result<()> {
    let msg = OutgoingMessage::new(args.topic.clone(), Bytes::from(vec![b'x'; args.size]));
    let mut clients = Vec::new();
    for _ in 0..args.connections.max(1) {
        clients.push(Arc::new(Client::connect(broker).await?));
    }
    // Warm up: creates the topic and faults in the first pages outside the measurement.
    for _ in 0..100 {
        clients[0].send(&msg).await?;
    }
    let request = producer_request(&msg);
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let cpu_started = process_cpu_time();
    let deadline = started + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for client in &clients {
        for _ in 0..args.inflight.max(1) {
            let (client, request) = (client.clone(), request.clone());
            let (sent, errors) = (sent.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    match client.request(request.clone()).await {
                        Ok(resp) if resp.code == 0 => {
                            let _ = hist.record(t0.elapsed().as_micros().max(1) as u64);
                            sent.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                hist
            }));
        }
    }
    let progress = {
        let sent = sent.clone();
        let quiet = args.json;
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = sent.load(Ordering::Relaxed);
                if !quiet {
                    eprint!("\r{:>8.0} msgs/s  ({} sent)   ", (now - last) as f64, now);
                    let _ = std::io::stderr().flush();
                }
                last = now;
            }
        })
    };
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        hist.add(t.await?)?;
    }
    progress.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let count = sent.load(Ordering::Relaxed);
    // This process's CPU per acknowledged message: the load generator's share of the machine,
    // which a broker on the same cores does not get (scripts/bench-ha.sh reports it beside the
    // brokers' own).
    let client_cpu_us =
        (process_cpu_time() - cpu_started).as_secs_f64() * 1e6 / count.max(1) as f64;
    let rate = count as f64 / elapsed;
    let mbps = rate * args.size as f64 / 1e6;
    let errors = errors.load(Ordering::Relaxed);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "connections": args.connections, "inflight": args.inflight, "size": args.size,
                "seconds": elapsed, "messages": count, "errors": errors,
                "msgs_per_sec": rate, "mb_per_sec": mbps,
                "p50_us": hist.value_at_quantile(0.50), "p99_us": hist.value_at_quantile(0.99),
                "p999_us": hist.value_at_quantile(0.999), "max_us": hist.max(),
                "client_cpu_us_per_msg": client_cpu_us,
            })
        );
    } else {
        eprintln!();
        println!(
            "{count} msgs in {elapsed:.1}s: {rate:.0} msgs/s, {mbps:.1} MB/s, errors {errors}\n\
             latency us: p50 {} p99 {} p99.9 {} max {}",
            hist.value_at_quantile(0.50),
            hist.value_at_quantile(0.99),
            hist.value_at_quantile(0.999),
            hist.max()
        );
    }
    Ok(())
}

/// User plus system CPU time of this process so far (`getrusage(RUSAGE_SELF)`, every thread).
fn process_cpu_time() -> Duration {
    // SAFETY: `getrusage` fills the zeroed struct it is given; on failure (it cannot fail for
    // RUSAGE_SELF) the zeros read as no time.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}
