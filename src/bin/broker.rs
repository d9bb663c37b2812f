//! `actormq-broker --config broker.toml`: starts the broker and runs until SIGINT/SIGTERM.
//!
//! Start-up order: config -> store lock -> `abort` marker (found = the last run crashed) -> commit-log
//! recovery -> consume-queue recovery (cut to the commit-log end, missing entries rebuilt) -> store
//! actors (allocator, dispatcher, flusher, writer, retention) -> bind `server.listen` -> metrics and
//! processors -> the processor table, frozen from the codes each processor declares -> servers ->
//! print
//! `actormq listening on <addr>` (a contract the tests and scripts wait for). Shutdown runs the same
//! chain the other way: answer parked pulls, stop accepting and drain connections, seal the writer,
//! flush the commit log and the consume queues, persist consumer offsets, write the checkpoint, and
//! delete `abort` last, since its presence means "crashed".

#[path = "../../actors/mod.rs"]
mod actors;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use clap::Parser;
use tracing::{error, info, warn};

use actormq::config::{BrokerConfig, FlushMode};
use actormq::consumer_offsets::ConsumerOffsetTable;
use actormq::store::checkpoint::Checkpoint;
use actormq::store::commit_log::{
    CommitLog, CommitLogOptions, Scan, WriteMode, CLEAN_START_SCANNED_FILES,
};
use actormq::store::consume_queues::{ConsumeQueues, Reput, CQ_ENTRIES_PER_FILE};
use actormq::store::{commit_log, now_ms, paths};
use actormq::topic::TopicTable;
use actors::admin_processor::AdminProcessor;
use actors::client_manager::ClientManager;
use actors::commit_log_writer::{CommitLogWriter, Seal};
use actors::connection::ConnectionLimits;
use actors::dispatcher::{Dispatcher, FlushQueues, ReleaseParked};
use actors::file_allocator::{Allocate, FileAllocator};
use actors::flusher::{FlushAll, Flusher};
use actors::mailbox::Mailbox;
use actors::metrics::Metrics;
use actors::name_server::NameServer;
use actors::offset_processor::{OffsetProcessor, PersistOffsets};
use actors::processor_table::{DuplicateCode, ProcessorTable, ProcessorTableBuilder};
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

/// Holds `<root>/lock` and `<root>` itself for the life of the process: one broker per store.
fn lock_store(root: &Path) -> anyhow::Result<(std::fs::File, std::fs::File)> {
    let path = paths::lock_path(root);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // The lock file can be deleted while a broker runs (and a new one would lock fine): the store
    // directory itself is locked too, and it cannot go while it holds files.
    let root_dir =
        std::fs::File::open(root).with_context(|| format!("opening {}", root.display()))?;
    match file.try_lock().and_then(|()| root_dir.try_lock()) {
        Ok(()) => Ok((file, root_dir)),
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

/// Start-up, serving and shutdown, each step named (`docs/architecture.md`, "Start-up and shutdown").
async fn run(config: BrokerConfig) -> anyhow::Result<()> {
    let actor_stats = actors::metrics::init(&config);
    let dir = StoreDir::open(&config.store.root)?;
    let mut log = recover_commit_log(&config, &dir)?;
    let queues = recover_queues(&dir.root, &mut log)?;
    let meta = load_metadata(&dir.root)?;
    let mut log = open_commit_log(&config, &dir.root, log);
    let allocator = start_allocator(&config, &mut log).await;
    let store = start_store(&config, &dir.root, log, queues, allocator, &meta.topics);

    let listener = bind("server.listen", config.server.listen).await?;
    let addr = listener.local_addr()?;
    let metrics = Mailbox::new(Metrics::new(actor_stats.all(), store.written.clone()).start());
    let processors = start_processors(&config, &dir.root, &store, meta, addr, &metrics);
    serve_metrics(&config, &metrics).await?;
    let limits = ConnectionLimits {
        max_frame: config.server.max_frame_bytes,
        max_inflight: config.server.max_inflight_per_connection,
    };
    let table = broker_table(&processors)?;
    let server = Server::start(listener, table, limits, metrics.recipient());
    let namesrv = start_namesrv_listener(&config, &processors, limits, &metrics).await?;
    info!(%addr, store = %dir.root.display(), flush = ?config.flush.mode, "broker started");
    println!("actormq listening on {addr}");
    std::io::stdout().flush().ok();

    wait_for_signal().await;
    info!("shutting down");
    shut_down(&dir, store, &processors.offsets, server, namesrv).await
}

/// The store directory, locked for this process, with its `abort` marker written.
struct StoreDir {
    root: PathBuf,
    /// `<root>/abort`: present while running; found at start = the last run crashed.
    abort: PathBuf,
    crashed: bool,
    /// `<root>/lock` and `<root>` itself, held for the life of the process (the `flock`s go with
    /// them).
    _lock: (std::fs::File, std::fs::File),
}

impl StoreDir {
    /// Creates the root, takes its lock, notes whether `abort` exists and writes it with the PID.
    fn open(root: &Path) -> anyhow::Result<StoreDir> {
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let lock = lock_store(root)?;
        let abort = paths::abort_path(root);
        let crashed = abort.exists();
        std::fs::write(&abort, std::process::id().to_string())
            .with_context(|| format!("writing {}", abort.display()))?;
        Ok(StoreDir {
            root: root.to_path_buf(),
            abort,
            crashed,
            _lock: lock,
        })
    }
}

/// The store's metadata files, read and checked before anything starts (a bad file is a one-line
/// error at start, never a half-started broker).
struct Metadata {
    topics: TopicTable,
    offsets: ConsumerOffsetTable,
}

/// Loads `topics.json` (every entry validated) and `consumerOffset.json`. A missing
/// `topics.json` beside existing consume queues (deleted, or lost) is rebuilt from them, with a
/// warning, so the stored messages stay reachable.
fn load_metadata(root: &Path) -> anyhow::Result<Metadata> {
    let topics_path = paths::topics_json(root);
    let mut topics = TopicTable::load_validated(&topics_path)?;
    if !topics_path.exists() {
        let rebuilt = TopicTable::from_consume_queues(root)?;
        if !rebuilt.topic_config_table.is_empty() {
            warn!(
                path = %topics_path.display(),
                topics = rebuilt.topic_config_table.len(),
                "topics.json is missing: rebuilt from the consume queues (queue counts from their folders, read-write); check permissions and queue counts"
            );
            rebuilt
                .save(&topics_path)
                .with_context(|| format!("writing {}", topics_path.display()))?;
            topics = rebuilt;
        }
    }
    let offsets = ConsumerOffsetTable::load(&paths::consumer_offsets_json(root))?;
    Ok(Metadata { topics, offsets })
}

/// Reads the commit log back: after a crash every record, else only the last files.
fn recover_commit_log(
    config: &BrokerConfig,
    dir: &StoreDir,
) -> anyhow::Result<commit_log::RecoveredLog> {
    let root = &dir.root;
    // A clean start reads only the last files; the consume queues know the rest. Without consume
    // queues (a store copied without them, say) the records are the only source: read them all.
    let scan = if dir.crashed {
        Scan::Everything {
            check_crc: config.store.check_crc_on_recover,
        }
    } else if !root.join("consumequeue").exists() {
        Scan::Everything { check_crc: false }
    } else {
        Scan::LastFiles(CLEAN_START_SCANNED_FILES)
    };
    let file_size = config.store.commitlog_file_bytes;
    let log = commit_log::recover(&paths::commitlog_dir(root), file_size, scan)
        .with_context(|| format!("recovering the commit log in {}", root.display()))?;
    if dir.crashed {
        warn!(
            records = log.records,
            write_offset = log.write_offset,
            check_crc = config.store.check_crc_on_recover,
            "abort marker found: the previous run did not shut down cleanly; recovered by scanning every record"
        );
    }
    report_recovery_damage(&log);
    info!(
        files = log.files.len(),
        scanned_files = log.scanned_files,
        records = log.records,
        write_offset = log.write_offset,
        "commit log loaded"
    );
    Ok(log)
}

/// Tells the operator what recovery cut, set aside or found damaged (each once, at start).
fn report_recovery_damage(log: &commit_log::RecoveredLog) {
    if let Some((offset, why)) = &log.truncated {
        warn!(offset, reason = %why, removed_files = log.removed_files, "commit log truncated at the last valid record");
    }
    if let Some(q) = &log.quarantine {
        error!(
            dir = %q.dir.display(),
            entries = q.entries.len(),
            bytes = q.bytes,
            "data after a damaged record frame was moved to quarantine (see REPORT.txt there); it is not served"
        );
    }
    for (offset, why) in &log.damaged {
        error!(offset, reason = %why, "damaged record kept in the commit log; it will not be served");
    }
}

/// The `FileAllocator` (if `store.preallocate`), which also prepares the first file if missing.
async fn start_allocator(
    config: &BrokerConfig,
    log: &mut CommitLog,
) -> Option<Mailbox<FileAllocator>> {
    if !config.store.preallocate {
        return None;
    }
    let allocator = Mailbox::new(SyncArbiter::start(1, || FileAllocator));
    prepare_first_file(&allocator, log, config.warm_mapped_file()).await;
    Some(allocator)
}

/// Consume queues cut to the commit log's end and completed from it.
fn recover_queues(
    root: &Path,
    log: &mut commit_log::RecoveredLog,
) -> anyhow::Result<ConsumeQueues> {
    let (queues, rebuilt) = ConsumeQueues::recover(
        root,
        CQ_ENTRIES_PER_FILE,
        &log.files,
        log.write_offset,
        &mut log.queue_offsets,
    )
    .with_context(|| format!("recovering the consume queues in {}", root.display()))?;
    info!(queues = queues.len(), rebuilt, "consume queues loaded");
    Ok(queues)
}

/// The commit log's append state machine over the recovered files: staged writes (flushed by the
/// writer itself) in sync mode, writes straight into the mapping in async mode.
fn open_commit_log(config: &BrokerConfig, root: &Path, log: commit_log::RecoveredLog) -> CommitLog {
    let write_mode = match config.flush.mode {
        FlushMode::Sync => WriteMode::Staged,
        FlushMode::Async => WriteMode::Mapped,
    };
    CommitLog::new(
        log,
        CommitLogOptions {
            dir: paths::commitlog_dir(root),
            file_size: config.store.commitlog_file_bytes,
            write_mode,
            fail_write: actors::commit_log_writer::write_fail_hook(),
        },
    )
}

/// The store's actors and the arbiters they run on.
struct Store {
    dispatcher: Mailbox<Dispatcher>,
    dispatcher_arbiter: Arbiter,
    flusher: Mailbox<Flusher>,
    flusher_arbiter: Arbiter,
    writer: Mailbox<CommitLogWriter>,
    retention_arbiter: Arbiter,
    /// The commit log's published write offset.
    written: Arc<AtomicU64>,
}

/// Dispatcher, flusher and writer on their threads, and the retention actor.
fn start_store(
    config: &BrokerConfig,
    root: &Path,
    log: CommitLog,
    queues: ConsumeQueues,
    allocator: Option<Mailbox<FileAllocator>>,
    topics: &TopicTable,
) -> Store {
    let sync_flush = config.flush.mode == FlushMode::Sync;
    let dispatcher_arbiter = Arbiter::new();
    let dispatcher = {
        let files = log.table();
        let reput = Reput::new(
            queues,
            log.published_offset().load(Ordering::Acquire),
            sync_flush,
        );
        let (topics, mailbox) = (Arc::new(topics.clone()), config.server.processor_mailbox);
        Mailbox::new(Dispatcher::start_in_arbiter(
            &dispatcher_arbiter.handle(),
            move |_| Dispatcher::new(reput, files, topics, mailbox),
        ))
    };
    let written = log.published_offset();
    let flusher_arbiter = Arbiter::new();
    let flusher = {
        let (files, written, flush) = (log.table(), written.clone(), config.flush.clone());
        Mailbox::new(Flusher::start_in_arbiter(
            &flusher_arbiter.handle(),
            move |_| Flusher::new(files, written, flush),
        ))
    };
    let writer = {
        let sync_flush = sync_flush.then(|| Duration::from_millis(config.flush.sync_timeout_ms));
        let writer = CommitLogWriter::new(
            log,
            allocator,
            config.warm_mapped_file(),
            sync_flush,
            flusher.clone(),
            dispatcher.clone(),
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
        let (root, retention, writer) =
            (root.to_path_buf(), config.retention.clone(), writer.clone());
        let config_file_size = config.store.commitlog_file_bytes;
        Retention::start_in_arbiter(&retention_arbiter.handle(), move |_| {
            Retention::new(root, config_file_size, retention, writer)
        });
    }
    Store {
        dispatcher,
        dispatcher_arbiter,
        flusher,
        flusher_arbiter,
        writer,
        retention_arbiter,
        written,
    }
}

/// The actors connections hand requests to.
struct Processors {
    send: Mailbox<SendProcessor>,
    pull: Mailbox<PullProcessor>,
    offsets: Mailbox<OffsetProcessor>,
    admin: Mailbox<AdminProcessor>,
    clients: Mailbox<ClientManager>,
    /// The name-server role (`[namesrv] enabled`), served on its own listener.
    name_server: Option<Mailbox<NameServer>>,
}

/// Starts every processor; `addr` is the broker's listen address (routes and properties name it).
fn start_processors(
    config: &BrokerConfig,
    root: &Path,
    store: &Store,
    meta: Metadata,
    addr: SocketAddr,
    metrics: &Mailbox<Metrics>,
) -> Processors {
    let Metadata { topics, offsets } = meta;
    let store_ip = match config.server.listen.ip() {
        ip if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        ip => ip,
    };
    // What routes tell clients to connect to: a wildcard listen address is not reachable as such.
    let broker_addr = SocketAddr::new(store_ip, addr.port()).to_string();
    let name_server = config.namesrv.enabled.then(|| {
        let topics = Arc::new(topics.clone());
        Mailbox::new(NameServer::new(topics, &config.broker, broker_addr).start())
    });
    let mut topic_watchers = vec![store.dispatcher.recipient()];
    topic_watchers.extend(name_server.iter().map(|ns| ns.recipient()));
    let mailbox = config.server.processor_mailbox;
    let send = Mailbox::new(
        SendProcessor::new(
            store.writer.clone(),
            topics,
            paths::topics_json(root),
            config.broker.clone(),
            store_ip,
            mailbox,
            topic_watchers,
        )
        .start(),
    );
    let clients = Mailbox::new(ClientManager::new(send.recipient()).start());
    let offsets_path = paths::consumer_offsets_json(root);
    let dispatcher = store.dispatcher.clone();
    let offsets = OffsetProcessor::new(offsets, offsets_path, dispatcher.clone(), mailbox);
    let offsets = Mailbox::new(offsets.start());
    let pull = Mailbox::new(PullProcessor::new(dispatcher, offsets.clone(), mailbox).start());
    let admin = AdminProcessor::new(metrics.clone(), broker_properties(config, addr));
    Processors {
        send,
        pull,
        offsets,
        admin: Mailbox::new(admin.start()),
        clients,
        name_server,
    }
}

/// The broker listener's table, from the codes each processor declares.
fn broker_table(p: &Processors) -> Result<ProcessorTable, DuplicateCode> {
    Ok(ProcessorTableBuilder::default()
        .serve(&p.send)?
        .serve(&p.pull)?
        .serve(&p.offsets)?
        .serve(&p.admin)?
        .serve(&p.clients)?
        .freeze())
}

async fn bind(key: &str, addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {key} = {addr}"))
}

/// The Prometheus endpoint, if `[metrics] listen` is set.
async fn serve_metrics(config: &BrokerConfig, metrics: &Mailbox<Metrics>) -> anyhow::Result<()> {
    let Some(listen) = config.metrics.listen else {
        return Ok(());
    };
    let listener = bind("metrics.listen", listen).await?;
    // Printed (like the listening line) so a port-0 endpoint can be found by scripts and tests.
    println!(
        "actormq metrics on http://{}/metrics",
        listener.local_addr()?
    );
    actix_rt::spawn(actors::metrics::serve_prometheus(listener, metrics.clone()));
    Ok(())
}

/// The name-server role: its own listener and processor table, like a separate namesrv process.
async fn start_namesrv_listener(
    config: &BrokerConfig,
    processors: &Processors,
    limits: ConnectionLimits,
    metrics: &Mailbox<Metrics>,
) -> anyhow::Result<Option<Mailbox<Server>>> {
    let Some(name_server) = &processors.name_server else {
        return Ok(None);
    };
    let listener = bind("namesrv.listen", config.namesrv.listen).await?;
    let table = ProcessorTableBuilder::default()
        .serve(name_server)?
        .freeze();
    // Printed before the listening line, so whoever waits for that one has both.
    println!("actormq namesrv on {}", listener.local_addr()?);
    Ok(Some(Server::start(
        listener,
        table,
        limits,
        metrics.recipient(),
    )))
}

/// The start-up chain the other way round, each step awaited: answer parked pulls, stop accepting
/// and drain connections, seal the writer, flush the commit log and the consume queues, persist
/// consumer offsets, write the checkpoint, and delete `abort` last (its presence means "crashed").
async fn shut_down(
    dir: &StoreDir,
    store: Store,
    offsets: &Mailbox<OffsetProcessor>,
    server: Mailbox<Server>,
    namesrv: Option<Mailbox<Server>>,
) -> anyhow::Result<()> {
    store.retention_arbiter.stop();
    // Parked long polls would hold their connections open for up to their suspend timeout.
    let released = store.dispatcher.send(ReleaseParked).await?;
    info!(released, "parked pulls answered");
    if let Some(ns) = &namesrv {
        ns.send(Shutdown).await?;
    }
    server.send(Shutdown).await?;
    let write_offset = store.writer.send(Seal).await?;
    let flushed = store.flusher.send(FlushAll).await?;
    store.dispatcher.send(FlushQueues).await?;
    if let Err(e) = offsets.send(PersistOffsets).await? {
        warn!(error = %e, "persisting consumer offsets at shutdown failed");
    }
    let checkpoint = Checkpoint {
        physic_msg_timestamp: now_ms(),
        confirm_phy_offset: flushed as i64,
        master_flushed_offset: flushed as i64,
        ..Default::default()
    };
    checkpoint.store(&paths::checkpoint_path(&dir.root))?;
    if flushed >= write_offset {
        std::fs::remove_file(&dir.abort)
            .with_context(|| format!("removing {}", dir.abort.display()))?;
    } else {
        warn!(
            flushed,
            write_offset, "not everything was flushed; leaving the abort marker for recovery"
        );
    }
    store.flusher_arbiter.stop();
    store.dispatcher_arbiter.stop();
    info!(write_offset, "broker stopped");
    System::current().stop();
    Ok(())
}

/// A store without a file for its write offset (a new store, or a clean stop exactly at a file's
/// end) gets that file from the allocator before the broker listens: the first sends would otherwise
/// have the writer create it inline, and an inline file is never zero-filled (`warm_mapped_file`
/// costs seconds per GiB, which must not land on the writer's thread). A failure is only logged:
/// the writer tries again at the first send and answers SYSTEM_ERROR if it cannot.
async fn prepare_first_file(allocator: &Mailbox<FileAllocator>, log: &mut CommitLog, warm: bool) {
    let Some(start) = log.missing_file() else {
        return;
    };
    info!(start, warm, "preparing the first commit-log file");
    let request = Allocate::commit_log_file(log.dir(), start, log.file_size(), warm);
    match allocator.send(request).await {
        Ok(Ok(file)) => log.prepared(file),
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
