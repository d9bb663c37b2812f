//! `actormq`: the command-line client (send, pull and consume messages, benchmark the broker) and
//! the offline store tools (`store check`, `store finalize`).
//!
//! Errors print the broker's response-code name and remark and exit non-zero.

mod bench;
mod bench_consume;
mod bench_disk;
mod bench_e2e;
mod bench_retry;
mod bench_timer;
mod cluster;
mod consume;
mod schedule;
mod stats;
mod store;
mod topic;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use bytes::Bytes;
use clap::{Parser, Subcommand};

use actormq::client::{Client, OutgoingMessage};

#[derive(Parser)]
#[command(
    name = "actormq",
    version,
    about = "Command-line client for the actormq broker"
)]
struct Cli {
    /// Broker address.
    #[arg(long, global = true, default_value = "127.0.0.1:10911")]
    broker: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send messages and print msgId / queue / offset of each.
    Send(SendArgs),
    /// Read messages of one queue from an offset.
    Pull(consume::PullArgs),
    /// Read every queue of a topic from a consumer group's committed offsets, committing as it goes.
    Consume(consume::ConsumeArgs),
    /// Look messages up by key or unique key (the broker's index, QUERY_MESSAGE).
    Query(consume::QueryArgs),
    /// Load generators.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Every actor's mailbox: depth, throughput, handling time, rejections (`--watch` refreshes).
    Stats(stats::StatsArgs),
    /// Topic administration: create, list, describe, delete.
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Offline store tools (no broker running): check the consume queues, finalize for Java.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Cluster membership, read from a name server (`cluster list`).
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

#[derive(clap::Args)]
struct SendArgs {
    #[arg(long)]
    topic: String,
    #[arg(long)]
    tag: Option<String>,
    /// Message keys (space-separated, as RocketMQ's KEYS property).
    #[arg(long)]
    key: Option<String>,
    /// Queue id; by default the broker chooses.
    #[arg(long, default_value_t = -1)]
    queue: i32,
    /// How many messages to send (sequentially).
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Read the body from this file instead.
    #[arg(long, conflicts_with = "body")]
    file: Option<PathBuf>,
    /// Message body.
    #[arg(required_unless_present = "file")]
    body: Option<String>,
    #[command(flatten)]
    schedule: schedule::ScheduleArgs,
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so `actormq stats --json | head` would panic on the closed pipe; a
    // command-line tool should end quietly there, as the Unix tools do.
    // SAFETY: restoring the default disposition of one signal before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actormq: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Send(args) => send(&cli.broker, args).await,
        Command::Pull(args) => consume::pull(&cli.broker, args).await,
        Command::Consume(args) => consume::consume(&cli.broker, args).await,
        Command::Query(args) => consume::query(&cli.broker, args).await,
        Command::Bench(cmd) => bench::run(&cli.broker, cmd).await,
        Command::Stats(args) => stats::run(&cli.broker, args).await,
        Command::Topic(cmd) => topic::run(&cli.broker, cmd).await,
        Command::Store(cmd) => store::run(cmd),
        Command::Cluster(cmd) => cluster::run(cmd).await,
    }
}

async fn send(broker: &str, args: SendArgs) -> anyhow::Result<()> {
    let schedule = args.schedule.property()?;
    let body = match (&args.file, &args.body) {
        (Some(path), _) => {
            Bytes::from(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        (None, Some(text)) => Bytes::from(text.clone().into_bytes()),
        (None, None) => unreachable!("clap requires one"),
    };
    let client = Client::connect(broker).await?;
    let msg = OutgoingMessage {
        tags: args.tag,
        keys: args.key,
        queue_id: args.queue,
        properties: schedule
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        ..OutgoingMessage::new(args.topic, body)
    };
    for _ in 0..args.count {
        let r = client.send(&msg).await?;
        println!(
            "msgId={} queue={} offset={} uniqKey={}",
            r.msg_id, r.queue_id, r.queue_offset, r.transaction_id
        );
    }
    Ok(())
}
