//! `actormq bench consume`: how fast the broker serves a backlog.
//!
//! Optionally fills the backlog first (`--fill N`: batches of 100 messages of `--size` bytes spread
//! over the topic's queues). Then, for every queue, `--inflight` pulls of `--batch` messages are kept
//! in flight at consecutive offsets (a backlog read needs no answer to know the next offset when no
//! tag filter applies), up to the max offset seen at start. Reports messages and record bytes per
//! second. Records are counted by walking their TOTALSIZE fields, not decoded, so the client's CPU
//! stays out of the measurement as far as possible.
//!
//! `--push` pulls as a push consumer does: a consumer heartbeat first registers the group's `*`
//! subscription of the topic, and the pulls carry no expression (no SUBSCRIPTION sys flag), so the
//! broker looks the group's registered filter up for each one.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use actormq::client::{consumer_heartbeat, Client, OutgoingMessage, PullRequest, Subscribe};
use actormq::protocol::{response_code, RemotingCommand};

#[derive(clap::Args)]
pub struct ConsumeArgs {
    #[arg(long, default_value = "BenchTopic")]
    topic: String,
    /// Messages per pull (the broker caps at 1024).
    #[arg(long, default_value_t = 32)]
    batch: u32,
    /// Pulls in flight per queue.
    #[arg(long, default_value_t = 8)]
    inflight: usize,
    /// Connections (queues are spread over them).
    #[arg(long, default_value_t = 2)]
    connections: usize,
    /// Send this many messages first.
    #[arg(long, default_value_t = 0)]
    fill: u64,
    /// Body size of `--fill` messages.
    #[arg(long, default_value_t = 128)]
    size: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Pull as a push consumer: register the group by heartbeat, pull without an expression.
    #[arg(long)]
    push: bool,
}

/// The bench's consumer group.
const GROUP: &str = "bench-consume";

/// A push consumer's heartbeat: `GROUP` subscribes to `topic` with `*` at subVersion 1.
fn heartbeat(topic: &str) -> RemotingCommand {
    let client_id = format!("bench-consume@{}", std::process::id());
    let all = Subscribe {
        topic,
        expression_type: "TAG",
        expression: "*",
        sub_version: 1,
    };
    consumer_heartbeat(&client_id, GROUP, &[all])
}

/// The pull of `batch` messages of `queue` at `offset`, as a lite-pull (own `*` expression) or a
/// push consumer (none) sends it.
fn pull(topic: &str, queue: i32, offset: i64, batch: u32, push: bool) -> RemotingCommand {
    let cmd = PullRequest {
        max_msgs: batch,
        ..PullRequest::new(GROUP, topic, queue, offset)
    }
    .to_command();
    if !push {
        return cmd;
    }
    let mut cmd = cmd.with_ext("sysFlag", 0).with_ext("subVersion", 1);
    cmd.ext_fields.remove("subscription");
    cmd
}

fn count_records(body: &Bytes) -> u64 {
    let (mut at, mut n) = (0usize, 0u64);
    while at + 4 <= body.len() {
        let size = i32::from_be_bytes(body[at..at + 4].try_into().expect("4 bytes"));
        if size <= 0 {
            break;
        }
        at += size as usize;
        n += 1;
    }
    n
}

async fn fill(client: &Client, args: &ConsumeArgs, queues: i32) -> anyhow::Result<()> {
    let body = Bytes::from(vec![b'x'; args.size]);
    let mut sent = 0u64;
    let mut queue = 0;
    while sent < args.fill {
        let n = (args.fill - sent).min(100);
        let msgs: Vec<_> = (0..n)
            .map(|_| OutgoingMessage {
                queue_id: queue,
                ..OutgoingMessage::new(args.topic.clone(), body.clone())
            })
            .collect();
        client.send_batch(&msgs).await?;
        sent += n;
        queue = (queue + 1) % queues;
    }
    Ok(())
}

pub async fn run(broker: &str, args: ConsumeArgs) -> anyhow::Result<()> {
    let mut clients = Vec::new();
    for _ in 0..args.connections.max(1) {
        clients.push(Arc::new(Client::connect(broker).await?));
    }
    let queues = match clients[0].read_queue_nums(&args.topic).await {
        Ok(n) => n,
        Err(_) if args.fill > 0 => 4,
        Err(e) => return Err(e.into()),
    };
    if args.fill > 0 {
        fill(&clients[0], &args, queues).await?;
    }
    if args.push {
        let r = clients[0].request(heartbeat(&args.topic)).await?;
        anyhow::ensure!(
            r.code == response_code::SUCCESS,
            "heartbeat refused: {:?}",
            r.remark
        );
    }
    let messages = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let mut backlog = 0;
    let mut ranges = Vec::new();
    for queue in 0..queues {
        let client = &clients[queue as usize % clients.len()];
        let (min, max) = (
            client.min_offset(&args.topic, queue).await?,
            client.max_offset(&args.topic, queue).await?,
        );
        backlog += max - min;
        ranges.push((queue, min, max));
    }
    let started = Instant::now();
    for (queue, min, max) in ranges {
        let client = clients[queue as usize % clients.len()].clone();
        let next = Arc::new(AtomicI64::new(min));
        for _ in 0..args.inflight.max(1) {
            let (client, next) = (client.clone(), next.clone());
            let (messages, bytes, errors) = (messages.clone(), bytes.clone(), errors.clone());
            let (topic, batch, push) = (args.topic.clone(), args.batch, args.push);
            tasks.push(tokio::spawn(async move {
                loop {
                    let offset = next.fetch_add(batch as i64, Ordering::Relaxed);
                    if offset >= max {
                        break;
                    }
                    match client
                        .request(pull(&topic, queue, offset, batch, push))
                        .await
                    {
                        Ok(r) if r.code == response_code::SUCCESS => {
                            messages.fetch_add(count_records(&r.body), Ordering::Relaxed);
                            bytes.fetch_add(r.body.len() as u64, Ordering::Relaxed);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (n, b, e) = (
        messages.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
    );
    let rate = n as f64 / elapsed;
    let mbps = b as f64 / elapsed / 1e6;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "queues": queues, "batch": args.batch, "inflight": args.inflight,
                "connections": args.connections, "backlog": backlog, "messages": n,
                "errors": e, "seconds": elapsed, "msgs_per_sec": rate, "mb_per_sec": mbps,
            })
        );
    } else {
        println!(
            "{n} of {backlog} msgs in {elapsed:.2}s: {rate:.0} msgs/s, {mbps:.1} MB/s (records), \
             batch {} x {} in flight x {queues} queues, errors {e}",
            args.batch, args.inflight
        );
    }
    Ok(())
}
