//! `actormq-broker --config broker.toml`: starts the broker and runs until SIGINT/SIGTERM.
//!
//! Start-up order: config -> store lock -> `abort` marker (found = the last run crashed) -> commit-log
//! recovery -> consume-queue recovery (cut to the commit-log end, missing entries rebuilt) -> actors
//! (dispatcher, flusher, allocator, writer, processors, registry) -> bind -> print
//! `actormq listening on <addr>` (a contract the tests and scripts wait for). Shutdown runs the same
//! chain the other way: answer parked pulls, stop accepting and drain connections, seal the writer,
//! flush the commit log and the consume queues, persist consumer offsets, write the checkpoint, and
//! delete `abort` last, since its presence means "crashed".

#[path = "../../actors/mod.rs"]
mod actors;

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use clap::Parser;
use tracing::{info, warn};

use actormq::config::{BrokerConfig, FlushMode};
use actormq::consumer_offsets::ConsumerOffsetTable;
use actormq::protocol::request_code;
use actormq::store::checkpoint::Checkpoint;
use actormq::store::commit_log::{Scan, CLEAN_START_SCANNED_FILES};
use actormq::store::{commit_log, now_ms, paths};
use actormq::topic::TopicTable;
use actors::admin_processor::AdminProcessor;
use actors::client_manager::ClientManager;
use actors::commit_log_writer::{CommitLogWriter, Seal, WriterOptions};
use actors::connection::ConnectionLimits;
use actors::dispatcher::{recover_consume_queues, Dispatcher, FlushQueues, ReleaseParked};
use actors::file_allocator::{Allocate, FileAllocator};
use actors::flusher::{FlushAll, Flusher};
use actors::mailbox::{CountedRecipient, Mailbox};
use actors::metrics::Metrics;
use actors::name_server::NameServer;
use actors::offset_processor::{OffsetProcessor, PersistOffsets};
use actors::processor_registry::{ProcessorRegistry, Register};
use actors::pull_processor::PullProcessor;
use actors::retention::Retention;
use actors::send_processor::SendProcessor;
use actors::server::{Server, Shutdown};

/// The per-message path allocates small, short-lived buffers (header maps, records, responses);
/// mimalloc serves those markedly cheaper than glibc malloc (measured in `docs/benchmarks.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "actormq-broker", version, about = "The actormq broker")]
struct Args {
    /// Path of the broker configuration file.
    #[arg(long, short, default_value = "broker.toml")]
    config: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match BrokerConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("actormq-broker: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log.level);
    let system = System::new();
    let result = system.block_on(run(config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actormq-broker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Holds `<root>/lock` for the life of the process: one broker per store.
fn lock_store(root: &Path) -> anyhow::Result<std::fs::File> {
    let path = paths::lock_path(root);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "the store {} is locked by another running broker ({})",
            root.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

async fn run(config: BrokerConfig) -> anyhow::Result<()> {
    let actor_stats = actors::metrics::init(&config);
    let root = config.store.root.clone();
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let _lock = lock_store(&root)?;
    let abort = paths::abort_path(&root);
    let crashed = abort.exists();
    std::fs::write(&abort, std::process::id().to_string())
        .with_context(|| format!("writing {}", abort.display()))?;

    let file_size = config.store.commitlog_file_bytes;
    // A clean start reads only the last files; the consume queues know the rest. Without consume
    // queues (a store copied without them, say) the records are the only source: read them all.
    let scan = if crashed {
        Scan::Everything {
            check_crc: config.store.check_crc_on_recover,
        }
    } else if !root.join("consumequeue").exists() {
        Scan::Everything { check_crc: false }
    } else {
        Scan::LastFiles(CLEAN_START_SCANNED_FILES)
    };
    let mut log = commit_log::recover(&paths::commitlog_dir(&root), file_size, scan)
        .with_context(|| format!("recovering the commit log in {}", root.display()))?;
    if crashed {
        warn!(
            records = log.records,
            write_offset = log.write_offset,
            check_crc = config.store.check_crc_on_recover,
            "abort marker found: the previous run did not shut down cleanly; recovered by scanning every record"
        );
    }
    if let Some((offset, why)) = &log.truncated {
        warn!(offset, reason = %why, removed_files = log.removed_files, "commit log truncated at the last valid record");
    }
    info!(
        files = log.files.len(),
        scanned_files = log.scanned_files,
        records = log.records,
        write_offset = log.write_offset,
        "commit log loaded"
    );

    let allocator = config
        .store
        .preallocate
        .then(|| Mailbox::new(SyncArbiter::start(1, || FileAllocator)));
    if let Some(allocator) = &allocator {
        let warm = config.warm_mapped_file();
        prepare_first_file(allocator, &mut log, &root, file_size, warm).await;
    }

    let (queues, rebuilt) =
        recover_consume_queues(&root, &log.files, log.write_offset, &mut log.queue_offsets)
            .with_context(|| format!("recovering the consume queues in {}", root.display()))?;
    info!(
        queues = queues.values().map(|q| q.len()).sum::<usize>(),
        rebuilt, "consume queues loaded"
    );

    let topics_path = paths::topics_json(&root);
    let topics = TopicTable::load(&topics_path)?;
    let dispatcher_arbiter = Arbiter::new();
    let dispatcher = {
        let (root, files, write_offset) =
            (root.clone(), Arc::new(log.files.clone()), log.write_offset);
        let sync = config.flush.mode == FlushMode::Sync;
        let (topics, mailbox) = (Arc::new(topics.clone()), config.server.processor_mailbox);
        Mailbox::new(Dispatcher::start_in_arbiter(
            &dispatcher_arbiter.handle(),
            move |_| Dispatcher::new(root, queues, files, write_offset, sync, topics, mailbox),
        ))
    };

    let written = Arc::new(AtomicU64::new(log.write_offset));
    let flusher_arbiter = Arbiter::new();
    let flusher = {
        let (files, written, flush) = (
            Arc::new(log.files.clone()),
            written.clone(),
            config.flush.clone(),
        );
        Mailbox::new(Flusher::start_in_arbiter(
            &flusher_arbiter.handle(),
            move |_| Flusher::new(files, written, flush),
        ))
    };
    let writer = {
        let options = WriterOptions {
            dir: paths::commitlog_dir(&root),
            file_size,
            // The writer still counts its own sends (it is being rewritten separately).
            allocator: allocator.map(|a| a.addr().clone()),
            warm: config.warm_mapped_file(),
            sync_flush: (config.flush.mode == FlushMode::Sync)
                .then(|| Duration::from_millis(config.flush.sync_timeout_ms)),
        };
        let writer = CommitLogWriter::new(
            log,
            options,
            flusher.addr().clone(),
            dispatcher.addr().clone(),
            written.clone(),
        );
        let capacity = config.store.writer_mailbox;
        Mailbox::new(CommitLogWriter::create(move |ctx| {
            ctx.set_mailbox_capacity(capacity);
            writer
        }))
    };
    // Own thread: listing, stat-ing and unlinking files block.
    let retention_arbiter = Arbiter::new();
    {
        let (root, retention, writer) = (root.clone(), config.retention.clone(), writer.clone());
        Retention::start_in_arbiter(&retention_arbiter.handle(), move |_| {
            Retention::new(root, file_size, retention, writer)
        });
    }

    let store_ip = match config.server.listen.ip() {
        ip if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        ip => ip,
    };
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding server.listen = {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    // What routes tell clients to connect to: a wildcard listen address is not reachable as such.
    let broker_addr = std::net::SocketAddr::new(store_ip, addr.port()).to_string();
    let name_server = config.namesrv.enabled.then(|| {
        Mailbox::new(NameServer::new(Arc::new(topics.clone()), &config.broker, broker_addr).start())
    });
    let mut topic_watchers = vec![dispatcher.recipient()];
    if let Some(ns) = &name_server {
        topic_watchers.push(ns.recipient());
    }
    let send = SendProcessor::new(
        writer.clone(),
        topics,
        topics_path,
        config.broker.clone(),
        store_ip,
        config.server.processor_mailbox,
        topic_watchers,
    )
    .start();
    let send = Mailbox::new(send);
    let clients = Mailbox::new(ClientManager::new(send.recipient()).start());
    let offsets_path = paths::consumer_offsets_json(&root);
    let offset_table = ConsumerOffsetTable::load(&offsets_path)?;
    let offsets = OffsetProcessor::new(
        offset_table,
        offsets_path,
        dispatcher.clone(),
        config.server.processor_mailbox,
    )
    .start();
    let offsets = Mailbox::new(offsets);
    let pull = PullProcessor::new(
        dispatcher.clone(),
        offsets.clone(),
        config.server.processor_mailbox,
    )
    .start();
    let pull = Mailbox::new(pull);

    let metrics = Mailbox::new(Metrics::new(actor_stats.all(), written.clone()).start());
    let admin = AdminProcessor::new(metrics.clone(), broker_properties(&config, addr)).start();
    let admin = Mailbox::new(admin);
    if let Some(listen) = config.metrics.listen {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding metrics.listen = {listen}"))?;
        // Printed (like the listening line) so a port-0 endpoint can be found by scripts and tests.
        println!(
            "actormq metrics on http://{}/metrics",
            listener.local_addr()?
        );
        actix_rt::spawn(actors::metrics::serve_prometheus(listener, metrics.clone()));
    }

    // RocketMQ's registerProcessor: request code -> processor (counted on its mailbox).
    let routes: [(&[i32], CountedRecipient<actors::connection::Request>); 5] = [
        (
            &[
                request_code::SEND_MESSAGE,
                request_code::SEND_MESSAGE_V2,
                request_code::SEND_BATCH_MESSAGE,
                request_code::UPDATE_AND_CREATE_TOPIC,
                request_code::GET_ALL_TOPIC_CONFIG,
                request_code::DELETE_TOPIC_IN_BROKER,
            ],
            send.recipient(),
        ),
        (
            &[
                request_code::PULL_MESSAGE,
                request_code::LITE_PULL_MESSAGE,
                request_code::VIEW_MESSAGE_BY_ID,
                request_code::GET_TOPIC_CONFIG,
            ],
            pull.recipient(),
        ),
        (
            &[
                request_code::QUERY_CONSUMER_OFFSET,
                request_code::UPDATE_CONSUMER_OFFSET,
                request_code::SEARCH_OFFSET_BY_TIMESTAMP,
                request_code::GET_MAX_OFFSET,
                request_code::GET_MIN_OFFSET,
            ],
            offsets.recipient(),
        ),
        (
            &[
                request_code::GET_BROKER_RUNTIME_INFO,
                request_code::GET_BROKER_CONFIG,
            ],
            admin.recipient(),
        ),
        (
            &[
                request_code::HEART_BEAT,
                request_code::UNREGISTER_CLIENT,
                request_code::GET_CONSUMER_LIST_BY_GROUP,
            ],
            clients.recipient(),
        ),
    ];
    let registry = Mailbox::new(ProcessorRegistry::default().start());
    for (codes, processor) in routes {
        for &code in codes {
            let processor = processor.clone();
            registry.send(Register { code, processor }).await?;
        }
    }

    let limits = ConnectionLimits {
        max_frame: config.server.max_frame_bytes,
        max_inflight: config.server.max_inflight_per_connection,
    };
    let server = Server::start(listener, registry, limits, metrics.recipient());
    // The name-server role: its own listener and processor table, like a separate namesrv process.
    let namesrv_server = match name_server {
        Some(ns) => {
            let listen = config.namesrv.listen;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding namesrv.listen = {listen}"))?;
            let ns_registry = Mailbox::new(ProcessorRegistry::default().start());
            for code in [
                request_code::GET_ROUTEINFO_BY_TOPIC,
                request_code::GET_BROKER_CLUSTER_INFO,
                request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            ] {
                let processor = ns.recipient();
                ns_registry.send(Register { code, processor }).await?;
            }
            // Printed before the listening line, so whoever waits for that one has both.
            println!("actormq namesrv on {}", listener.local_addr()?);
            Some(Server::start(
                listener,
                ns_registry,
                limits,
                metrics.recipient(),
            ))
        }
        None => None,
    };
    info!(%addr, store = %root.display(), flush = ?config.flush.mode, "broker started");
    println!("actormq listening on {addr}");
    std::io::stdout().flush().ok();

    wait_for_signal().await;
    info!("shutting down");
    retention_arbiter.stop();
    // Parked long polls would hold their connections open for up to their suspend timeout.
    let released = dispatcher.send(ReleaseParked).await?;
    info!(released, "parked pulls answered");
    if let Some(ns) = &namesrv_server {
        ns.send(Shutdown).await?;
    }
    server.send(Shutdown).await?;
    let write_offset = writer.send(Seal).await?;
    let flushed = flusher.send(FlushAll).await?;
    dispatcher.send(FlushQueues).await?;
    if let Err(e) = offsets.send(PersistOffsets).await? {
        warn!(error = %e, "persisting consumer offsets at shutdown failed");
    }
    let checkpoint = Checkpoint {
        physic_msg_timestamp: now_ms(),
        confirm_phy_offset: flushed as i64,
        master_flushed_offset: flushed as i64,
        ..Default::default()
    };
    checkpoint.store(&paths::checkpoint_path(&root))?;
    if flushed >= write_offset {
        std::fs::remove_file(&abort).with_context(|| format!("removing {}", abort.display()))?;
    } else {
        warn!(
            flushed,
            write_offset, "not everything was flushed; leaving the abort marker for recovery"
        );
    }
    flusher_arbiter.stop();
    dispatcher_arbiter.stop();
    info!(write_offset, "broker stopped");
    System::current().stop();
    Ok(())
}

/// A store without a file for its write offset (a new store, or a clean stop exactly at a file's
/// end) gets that file from the allocator before the broker listens: the first sends would otherwise
/// have the writer create it inline, and an inline file is never zero-filled (`warm_mapped_file`
/// costs seconds per GiB, which must not land on the writer's thread). A failure is only logged:
/// the writer tries again at the first send and answers SYSTEM_ERROR if it cannot.
async fn prepare_first_file(
    allocator: &Mailbox<FileAllocator>,
    log: &mut commit_log::RecoveredLog,
    root: &Path,
    file_size: u64,
    warm: bool,
) {
    let start = log.write_offset - log.write_offset % file_size;
    if log.files.last().is_some_and(|f| f.start_offset() == start) {
        return;
    }
    info!(start, warm, "preparing the first commit-log file");
    let request = Allocate::commit_log_file(&paths::commitlog_dir(root), start, file_size, warm);
    match allocator.send(request).await {
        Ok(Ok(file)) => log.files.push(file),
        Ok(Err(e)) => warn!(error = %e, "preparing the first commit-log file failed"),
        Err(e) => warn!(error = %e, "file allocator unavailable"),
    }
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// `GET_BROKER_CONFIG`'s body: the effective configuration as Java-properties text, under RocketMQ's
/// key names where one exists.
fn broker_properties(config: &BrokerConfig, addr: std::net::SocketAddr) -> String {
    let flush = match config.flush.mode {
        FlushMode::Async => "ASYNC_FLUSH",
        FlushMode::Sync => "SYNC_FLUSH",
    };
    let pairs = [
        ("brokerName", config.broker.name.clone()),
        ("brokerClusterName", config.broker.cluster.clone()),
        ("brokerId", "0".to_string()),
        ("brokerRole", "ASYNC_MASTER".to_string()),
        ("listenPort", addr.port().to_string()),
        ("storePathRootDir", config.store.root.display().to_string()),
        (
            "mappedFileSizeCommitLog",
            config.store.commitlog_file_bytes.to_string(),
        ),
        ("flushDiskType", flush.to_string()),
        (
            "flushIntervalCommitLog",
            config.flush.interval_ms.to_string(),
        ),
        ("syncFlushTimeout", config.flush.sync_timeout_ms.to_string()),
        (
            "autoCreateTopicEnable",
            config.broker.auto_create_topic.to_string(),
        ),
        (
            "defaultTopicQueueNums",
            config.broker.default_topic_queue_nums.to_string(),
        ),
        (
            "maxMessageSize",
            config.broker.max_message_bytes.to_string(),
        ),
        ("warmMapedFileEnable", config.warm_mapped_file().to_string()),
        (
            "checkCRCOnRecover",
            config.store.check_crc_on_recover.to_string(),
        ),
    ];
    pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}
