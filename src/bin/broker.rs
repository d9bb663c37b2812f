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
//! delete `abort` last, since its presence means "crashed". The delay-level scheduler stops first
//! (no more deliveries, offsets written).

#[path = "../../actors/mod.rs"]
mod actors;
#[path = "broker/cluster.rs"]
mod cluster;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use clap::Parser;
use tracing::{error, info, warn};

use actormq::cluster::kv_config::{kv_config_path, KvConfig};
use actormq::config::{BrokerConfig, BrokerRole, FlushMode};
use actormq::consumer_offsets::ConsumerOffsetTable;
use actormq::limits::ConnectionGuards;
use actormq::schedule::{self, offsets::DelayOffsets, state::Schedule};
use actormq::stats_items::BrokerStats;
use actormq::store::checkpoint::Checkpoint;
use actormq::store::commit_log::{
    CommitLog, CommitLogOptions, Scan, WriteMode, CLEAN_START_SCANNED_FILES,
};
use actormq::store::consume_queue::CqLayout;
use actormq::store::consume_queues::{ConsumeQueues, Reput, CQ_ENTRIES_PER_FILE};
use actormq::store::disk_space::Thresholds;
use actormq::store::index::{IndexService, IndexShape};
use actormq::store::lock::StoreLock;
use actormq::store::{commit_log, now_ms, paths};
use actormq::subscription_group::SubscriptionGroupTable;
use actormq::timer::{TimerRules, TimerShape, TimerStore, TIMER_TOPIC};
use actormq::topic::{TopicConfig, TopicTable};
use actormq::transaction;
use actors::admin_processor::{AdminProcessor, HaStatusFrom};
use actors::client_manager::ClientManager;
use actors::commit_log_writer::{CommitLogWriter, Seal};
use actors::connection::ConnectionLimits;
use actors::dispatcher::{Dispatcher, FlushQueues, ReleaseParked, ShipStats};
use actors::file_allocator::{Allocate, FileAllocator};
use actors::flusher::{FlushAll, Flusher};
use actors::ha_client::{HaClient, HaClientConfig};
use actors::ha_connection::HaConnectionConfig;
use actors::ha_server::HaServer;
use actors::ha_server::Published;
use actors::lock_processor::LockProcessor;
use actors::mailbox::CountedRecipient;
use actors::mailbox::Mailbox;
use actors::metrics::Metrics;
use actors::name_server::NameServer;
use actors::offset_processor::{OffsetProcessor, PersistOffsets};
use actors::processor_table::{DuplicateCode, ProcessorTable, ProcessorTableBuilder};
use actors::pull_processor::PullProcessor;
use actors::registrar::Subscribe;
use actors::retention::{Retention, StoreWriter};
use actors::scheduler::{Pause, PersistDelayOffsets, Scheduler};
use actors::send_processor::{SendProcessor, SendTables};
use actors::server::{Server, Shutdown};
use actors::slave_synchronize::{SlaveSynchronize, SyncTargets};
use actors::timer::{StopTimer, Timer};
use actors::transaction_checker::TransactionChecker;
use cluster::Membership;

/// The per-message path allocates small, short-lived buffers (header maps, records, responses);
/// mimalloc serves those markedly cheaper than glibc malloc (measured in `docs/benchmarks.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" {
    /// mimalloc's `mi_collect` (part of the allocator linked in above).
    fn mi_collect(force: bool);
}

/// How often freed memory is handed back to the OS, and every how many of those rounds the purge
/// is forced (see [`start_allocator_purge`]).
const ALLOCATOR_PURGE_INTERVAL: Duration = Duration::from_secs(1);
const ALLOCATOR_FORCED_PURGE_EVERY: u32 = 5;
/// Replies in the last purge interval above which the broker counts as busy (no purge).
const ALLOCATOR_PURGE_BUSY_REPLIES: u64 = 1_000;

/// Gives freed memory back to the OS. mimalloc (v3) does not return freed memory at once: a thread
/// keeps its emptied pages until it collects them, and freed arena ranges are purged `purge_delay`
/// (1 s) later, but only on a later allocation's slow path. A broker whose connections held large
/// frames and then went quiet kept that memory indefinitely (measured: 725 MiB RSS kept after 40
/// half-sent 14 MiB frames were closed; 38 MiB with this). So the system arbiter, whose thread runs
/// the connections and so frees their buffers, calls `mi_collect` once a second: its own empty
/// pages go back to the arenas, and expired arena ranges (process-wide) back to the OS. Every fifth
/// round is forced, because an unforced one only looks at the arenas when a process-wide expiry is
/// set, and that can be cleared while an arena still has ranges waiting (seen in `tests/limits.rs`:
/// 300 MiB kept for over 10 s). Setting `purge_delay` to 0 instead would purge on every free of the
/// hot path.
fn start_allocator_purge() {
    actix_rt::spawn(async {
        let mut every = tokio::time::interval(ALLOCATOR_PURGE_INTERVAL);
        let replies = || actors::metrics::stats().connection.handled_count();
        let mut last = replies();
        for round in 1u32.. {
            every.tick().await;
            // Under load mimalloc purges on its own (allocations take the slow path), and a
            // forced purge there only hands pages back that are faulted in again at once (the
            // 4x64 A/B showed the cost: more kernel page zeroing, -4% msgs/s). Memory that stays
            // held is the quiet broker's problem: purge when the last second was quiet.
            let now = replies();
            let busy = now.saturating_sub(last) > ALLOCATOR_PURGE_BUSY_REPLIES;
            last = now;
            if busy {
                continue;
            }
            let force = round % ALLOCATOR_FORCED_PURGE_EVERY == 0;
            // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any
            // time; it only frees this thread's empty mimalloc pages and purges free ranges of
            // mimalloc's own arenas.
            unsafe { mi_collect(force) };
        }
    });
}

#[derive(Parser)]
#[command(name = "actormq-broker", version, about = "The actormq broker")]
struct Args {
    /// Path of the broker configuration file.
    #[arg(long, short, default_value = "broker.toml")]
    config: PathBuf,
    /// Run only the name-server role (on `[namesrv] listen`), with no store: a standalone name
    /// server that brokers register with (`docs/cluster.md`).
    #[arg(long)]
    namesrv_only: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let loaded = if args.namesrv_only {
        BrokerConfig::load_name_server_only(&args.config)
    } else {
        BrokerConfig::load(&args.config)
    };
    let config = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("actormq-broker: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log.level);
    let system = System::new();
    let result = if args.namesrv_only {
        system.block_on(cluster::run_namesrv_only(config))
    } else {
        system.block_on(run(config))
    };
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

/// `[server]`'s connection bounds, with the guards (frame budget, counters) every listener shares.
fn connection_limits(config: &BrokerConfig) -> ConnectionLimits {
    let s = &config.server;
    ConnectionLimits {
        max_frame: s.max_frame_bytes,
        max_inflight: s.max_inflight_per_connection,
        frame_read_timeout: Duration::from_millis(s.frame_read_timeout_ms),
        idle_timeout: Duration::from_secs(s.idle_timeout_secs),
        max_unread_reply_bytes: s.max_unread_reply_bytes,
        max_connections: s.max_connections,
        guards: ConnectionGuards::new(s.frame_budget_bytes),
    }
}

/// Start-up, serving and shutdown, each step named (`docs/architecture.md`, "Start-up and shutdown").
async fn run(config: BrokerConfig) -> anyhow::Result<()> {
    let actor_stats = actors::metrics::init(&config);
    start_allocator_purge();
    let dir = StoreDir::open(&config.store.root)?;
    let mut log = recover_commit_log(&config, &dir)?;
    let queues = recover_queues(&config, &dir.root, &mut log)?;
    let index = recover_index(&config, &dir.root, &log)?;
    let meta = load_metadata(&config, &dir.root)?;
    let delay_offsets = load_delay_offsets(&config, &dir.root, &queues)?;
    let timer_store = open_timer_store(&config, &dir.root)?;
    let mut log = open_commit_log(&config, &dir.root, log);
    let slave = config.cluster.role == BrokerRole::Slave;
    if slave {
        log.set_replica();
        if index.is_some() {
            log.derive_index_keys();
        }
    }
    let allocator = start_allocator(&config, &mut log).await;
    // A master's HA server, created before the writer so the writer can be given its address,
    // and its listener bound now so the name servers are told the bound address.
    let ha_ctx = (!slave).then(Context::<HaServer>::new);
    let ha = ha_ctx
        .as_ref()
        .map(|c| Mailbox::new(c.address()).recipient());
    let ha_listener = match slave {
        false => Some(bind("ha.listen", config.ha_listen()).await?),
        true => None,
    };
    let ha_addr = match &ha_listener {
        Some(l) => l.local_addr()?,
        None => config.ha_listen(),
    };
    let store = start_store(
        &config,
        &dir.root,
        (log, queues, index),
        allocator,
        &meta.topics,
        ha,
    );

    let listener = bind("server.listen", config.server.listen).await?;
    let addr = listener.local_addr()?;
    let limits = connection_limits(&config);
    let metrics = Metrics::new(
        actor_stats.all(),
        store.written.clone(),
        limits.guards.clone(),
    );
    let stats_interval_ms = config.metrics.stats_sample_interval_ms;
    let broker_stats = BrokerStats::new(config.broker.cluster.clone(), stats_interval_ms);
    let metrics = Mailbox::new(metrics.with_broker_stats(broker_stats).start());
    // Per-topic and per-group counters (VIEW_BROKER_STATS_DATA): the Dispatcher counts, Metrics keeps.
    store.dispatcher.do_send(ShipStats {
        to: metrics.recipient(),
        interval: Duration::from_millis(stats_interval_ms),
    });
    let mut membership = Membership::start(&config, addr, ha_addr, &meta.topics);
    let store_host = membership.store_host;
    let scheduler = start_scheduler(&config, &dir.root, &store, delay_offsets, store_host);
    let processors = start_processors(
        &config,
        &dir.root,
        &store,
        meta,
        &membership,
        &metrics,
        &scheduler,
    );
    // A slave delivers nothing itself: its master's deliveries arrive with the commit log.
    let timer = start_timer(timer_store.filter(|_| !slave), &store, store_host);
    if slave {
        scheduler.do_send(Pause);
    }
    let ha_parts = (ha_ctx, ha_listener);
    let ha = start_ha(
        &config,
        ha_parts,
        &store,
        &metrics,
        &processors,
        &scheduler,
        &membership,
    )?;
    // GET_BROKER_HA_STATUS (907) is answered by the replication actor of this broker's role.
    processors.admin.do_send(HaStatusFrom(match &ha {
        Ha::Server(server) => server.recipient(),
        Ha::Slave(client, _) => client.recipient(),
    }));
    serve_metrics(&config, &metrics).await?;
    let table = broker_table(&processors, &scheduler)?;
    let vip = start_vip_listener(&config, &table, &limits, &metrics).await?;
    let server = Server::start(listener, table, limits.clone(), metrics.recipient());
    let namesrv = start_namesrv_listener(&config, &processors, limits).await?;
    // Stopped in this order: the name-server role first, the broker's own listener last.
    let listeners = namesrv.into_iter().chain(vip).chain([server]).collect();
    let stop = StopSignals::install()?;
    info!(%addr, store = %dir.root.display(), flush = ?config.flush.mode, "broker started");
    println!("actormq listening on {addr}");
    std::io::stdout().flush().ok();

    stop.wait().await;
    info!("shutting down");
    membership.unregister().await?;
    shut_down(
        &dir,
        store,
        &processors.offsets,
        &scheduler,
        listeners,
        timer,
    )
    .await
}

/// `config/topics.json`, every entry validated, with the system topics put in as Java's
/// `TopicConfigManager` does at every start: `SCHEDULE_TOPIC_XXXX` (delay levels) and
/// `rmq_sys_wheel_timer` (timer messages). A missing file beside existing consume queues (deleted,
/// or lost) is rebuilt from them, with a warning, so the stored messages stay reachable. Written
/// back only if that changed the table.
fn load_topics(config: &BrokerConfig, root: &Path) -> anyhow::Result<TopicTable> {
    let path = paths::topics_json(root);
    let mut topics = TopicTable::load_validated(&path)?;
    let before = topics.clone();
    if !path.exists() {
        let rebuilt = TopicTable::from_consume_queues(root)?;
        if !rebuilt.topic_config_table.is_empty() {
            warn!(
                path = %path.display(),
                topics = rebuilt.topic_config_table.len(),
                "topics.json is missing: rebuilt from the consume queues (queue counts from their folders, read-write); check permissions and queue counts"
            );
            topics = rebuilt;
        }
    }
    let schedule_topic = schedule::schedule_topic_config(&config.broker.message_delay_level);
    if topics.get(schedule::SCHEDULE_TOPIC) != Some(&schedule_topic) {
        topics.insert(schedule_topic);
    }
    ensure_system_topics(&mut topics, &config.broker.cluster);
    if topics != before {
        if let Err(e) = topics.save(&path) {
            warn!(error = %e, "persisting the topic table failed");
        }
    }
    Ok(topics)
}

/// `config/delayOffset.json`, each level's offset clamped into its queue (`correctDelayOffset`).
fn load_delay_offsets(
    config: &BrokerConfig,
    root: &Path,
    queues: &ConsumeQueues,
) -> anyhow::Result<DelayOffsets> {
    let mut offsets = DelayOffsets::load(&paths::delay_offsets_json(root))?;
    let levels = &config.broker.message_delay_level;
    let bounds = |level: i32| {
        let q = queues.get(schedule::SCHEDULE_TOPIC, schedule::queue_id(level))?;
        Some((q.min_offset() as i64, q.max_offset() as i64))
    };
    for (level, from, to) in offsets.clamp(bounds) {
        warn!(level, from, to, "delay offset outside its queue; corrected");
    }
    info!(levels = levels.max_level(), offsets = ?offsets.iter().collect::<Vec<_>>(), "delay offsets loaded");
    Ok(offsets)
}

/// The `Scheduler` (delay levels), from the loaded offsets; `store_host` is the store host of the
/// messages it delivers.
fn start_scheduler(
    config: &BrokerConfig,
    root: &Path,
    store: &Store,
    offsets: DelayOffsets,
    store_host: SocketAddr,
) -> Mailbox<Scheduler> {
    let levels = config.broker.message_delay_level.clone();
    let schedule = Schedule::new(levels, offsets, store_host);
    let path = paths::delay_offsets_json(root);
    let scheduler = Scheduler::new(
        schedule,
        path,
        store.dispatcher.clone(),
        store.writer.clone(),
    );
    Mailbox::new(scheduler.start())
}

/// The store directory, locked for this process, with its `abort` marker written.
struct StoreDir {
    root: PathBuf,
    /// `<root>/abort`: present while running; found at start = the last run crashed.
    abort: PathBuf,
    crashed: bool,
    /// Held for the life of the process ([`StoreLock`]).
    _lock: StoreLock,
}

impl StoreDir {
    /// Creates the root, takes its lock, notes whether `abort` exists and writes it with the PID.
    fn open(root: &Path) -> anyhow::Result<StoreDir> {
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let lock = StoreLock::acquire(root)?;
        let abort = paths::abort_path(root);
        let crashed = abort.exists();
        std::fs::write(&abort, std::process::id().to_string())
            .with_context(|| format!("writing {}", abort.display()))?;
        // The page exists from now on, so the stop overwrites it in place and needs no new
        // space (a clean stop on a full disk still checkpoints). Recovery does not read it.
        let checkpoint = paths::checkpoint_path(root);
        if !checkpoint.exists() {
            if let Err(e) = Checkpoint::default().store(&checkpoint) {
                warn!(error = %e, "writing the first checkpoint failed");
            }
        }
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
    groups: SubscriptionGroupTable,
    /// The name-server role's KV config; `None` when the role is off.
    kv_config: Option<KvConfig>,
}

/// Loads `topics.json` ([`load_topics`]), `consumerOffset.json`, `subscriptionGroup.json` and,
/// with the name-server role on, `kvConfig.json`.
fn load_metadata(config: &BrokerConfig, root: &Path) -> anyhow::Result<Metadata> {
    let kv_config = match config.namesrv.enabled {
        true => Some(KvConfig::load(kv_config_path(config))?),
        false => None,
    };
    Ok(Metadata {
        topics: load_topics(config, root)?,
        offsets: ConsumerOffsetTable::load(&paths::consumer_offsets_json(root))?,
        groups: SubscriptionGroupTable::load(&paths::subscription_group_json(root))?
            .with_predefined(),
        kv_config,
    })
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
    config: &BrokerConfig,
    root: &Path,
    log: &mut commit_log::RecoveredLog,
) -> anyhow::Result<ConsumeQueues> {
    let (queues, rebuilt) = ConsumeQueues::recover(
        root,
        CqLayout::new(CQ_ENTRIES_PER_FILE)
            .with_initial_bytes(config.store.consume_queue_initial_bytes),
        &log.files,
        log.write_offset,
        &mut log.queue_offsets,
    )
    .with_context(|| format!("recovering the consume queues in {}", root.display()))?;
    info!(queues = queues.len(), rebuilt, "consume queues loaded");
    Ok(queues)
}

/// The message index (if `store.index_enabled`): its files opened (unreadable ones set aside) and
/// the records past its end indexed again from the commit log.
fn recover_index(
    config: &BrokerConfig,
    root: &Path,
    log: &commit_log::RecoveredLog,
) -> anyhow::Result<Option<IndexService>> {
    if !config.store.index_enabled {
        return Ok(None);
    }
    let shape = IndexShape {
        hash_slots: config.store.max_hash_slot_num,
        max_entries: config.store.max_index_num,
    };
    let started = std::time::Instant::now();
    let context = || format!("recovering the index in {}", root.display());
    let (mut index, mut report) = IndexService::open(root, shape).with_context(context)?;
    index
        .recover(&log.files, log.write_offset, &mut report)
        .with_context(context)?;
    info!(
        files = index.file_count(),
        set_aside = report.set_aside.len(),
        replayed = report.replayed,
        ms = started.elapsed().as_millis() as u64,
        "index loaded"
    );
    Ok(Some(index))
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

/// The system topics the broker writes itself, one queue each, as Java's `TopicConfigManager`
/// creates them: `rmq_sys_wheel_timer` and `<cluster>_REPLY_TOPIC` (request-reply messages).
fn ensure_system_topics(topics: &mut TopicTable, cluster: &str) {
    if topics.get(TIMER_TOPIC).is_none() {
        topics.insert(TopicConfig::new(TIMER_TOPIC, 1));
    }
    let reply_topic = actormq::reply::reply_topic(cluster);
    if topics.get(&reply_topic).is_none() {
        topics.insert(TopicConfig::new(&reply_topic, 1));
    }
}

/// `<root>/timer` opened (its tail recovered) before anything starts, unless `[timer] enabled =
/// false`: a damaged timer store is a one-line error at start.
fn open_timer_store(config: &BrokerConfig, root: &Path) -> anyhow::Result<Option<TimerStore>> {
    let t = &config.timer;
    if !t.enabled {
        return Ok(None);
    }
    let dir = paths::timer_dir(root);
    let shape = TimerShape::new(t.precision_ms, t.max_delay_sec);
    let timer_store = TimerStore::open(&dir, shape, now_ms())
        .with_context(|| format!("opening the timer store at {}", dir.display()))?;
    Ok(Some(timer_store))
}

/// The `Timer` actor on its own arbiter over the opened timer store.
fn start_timer(
    timer_store: Option<TimerStore>,
    store: &Store,
    addr: SocketAddr,
) -> Option<(Mailbox<Timer>, Arbiter)> {
    let timer_store = timer_store?;
    let arbiter = Arbiter::new();
    let (dispatcher, writer) = (store.dispatcher.clone(), store.writer.clone());
    let timer = Timer::start_in_arbiter(&arbiter.handle(), move |_| {
        Timer::new(timer_store, dispatcher, writer, addr)
    });
    Some((Mailbox::new(timer), arbiter))
}

/// Shutdown: the timer stops handing out messages; once its deliveries in flight are appended,
/// it checkpoints (so a clean stop delivers nothing twice).
async fn stop_timer(timer: Option<(Mailbox<Timer>, Arbiter)>) -> anyhow::Result<()> {
    let Some((timer, arbiter)) = timer else {
        return Ok(());
    };
    for _ in 0..250 {
        if timer.send(StopTimer).await? {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    arbiter.stop();
    Ok(())
}

/// Replication: a master's HA listener (`ha.listen`, printed as `actormq ha on <addr>` before
/// the listening line), or a slave's HA client. Started before any connection is accepted.
fn start_ha(
    config: &BrokerConfig,
    (ha_ctx, listener): (Option<Context<HaServer>>, Option<tokio::net::TcpListener>),
    store: &Store,
    metrics: &Mailbox<Metrics>,
    processors: &Processors,
    scheduler: &Mailbox<Scheduler>,
    membership: &Membership,
) -> anyhow::Result<Ha> {
    let h = &config.ha;
    let (heartbeat, housekeeping) = (
        Duration::from_millis(h.heartbeat_interval_ms),
        Duration::from_millis(h.housekeeping_interval_ms),
    );
    let Some(ha_ctx) = ha_ctx else {
        let client_config = HaClientConfig {
            master_addr: h.master_addr.clone(),
            heartbeat,
            housekeeping,
            reconnect_max: Duration::from_millis(h.reconnect_max_ms),
            max_transfer: config.store.commitlog_file_bytes as usize,
        };
        if h.master_addr.is_none() {
            info!("slave without ha.master_addr: waiting for the master's HA address");
        }
        let (writer, written) = (store.writer.clone(), store.written.clone());
        let (dispatcher, metrics) = (store.dispatcher.recipient(), metrics.recipient());
        let client = HaClient::new(client_config, writer, written, dispatcher, metrics);
        let targets = SyncTargets {
            send: processors.send.clone(),
            offsets: processors.offsets.clone(),
            scheduler: scheduler.clone(),
        };
        let interval = Duration::from_millis(h.slave_sync_interval_ms);
        let sync = SlaveSynchronize::new(h.master_broker_addr.clone(), targets, interval);
        let (client, sync) = (Mailbox::new(client.start()), Mailbox::new(sync.start()));
        // Addresses not configured are learned from the name servers' REGISTER_BROKER answers.
        if let Some((registrar, _)) = &membership.registrar {
            if h.master_addr.is_none() {
                registrar.do_send(Subscribe(client.recipient()));
            }
            if h.master_broker_addr.is_none() {
                registrar.do_send(Subscribe(sync.recipient()));
            }
        }
        return Ok(Ha::Slave(client, sync));
    };
    let listener = listener.context("a master's HA listener is bound at start")?;
    println!("actormq ha on {}", listener.local_addr()?);
    let conn_config = HaConnectionConfig {
        batch_bytes: h.transfer_batch_bytes as usize,
        heartbeat,
        housekeeping,
        coalesce: match config.cluster.role {
            BrokerRole::AsyncMaster => Duration::from_millis(h.async_transfer_interval_ms),
            _ => Duration::ZERO,
        },
    };
    let (writer, metrics) = (store.writer.clone(), metrics.recipient());
    let server = HaServer::start(ha_ctx, listener, conn_config, writer, metrics);
    Ok(Ha::Server(server))
}

/// The replication actor of this broker's role (kept for the broker's lifetime).
#[allow(dead_code)] // held, not read
enum Ha {
    Server(Mailbox<HaServer>),
    /// The entry points for a master address learned later: `SetMasterAddr`, `SetMasterBrokerAddr`.
    Slave(Mailbox<HaClient>, Mailbox<SlaveSynchronize>),
}

/// The store's actors and the arbiters they run on.
struct Store {
    dispatcher: Mailbox<Dispatcher>,
    dispatcher_arbiter: Arbiter,
    flusher: Mailbox<Flusher>,
    flusher_arbiter: Arbiter,
    writer: Mailbox<CommitLogWriter>,
    /// Owns the disk-full state; told of allocations that fail for lack of space.
    retention: Mailbox<Retention>,
    retention_arbiter: Arbiter,
    /// The commit log's published write offset.
    written: Arc<AtomicU64>,
}

/// Retention (first: the others report to it when space runs out), dispatcher, flusher and writer
/// on their threads.
fn start_store(
    config: &BrokerConfig,
    root: &Path,
    (log, queues, index): (CommitLog, ConsumeQueues, Option<IndexService>),
    allocator: Option<Mailbox<FileAllocator>>,
    topics: &TopicTable,
    ha: Option<CountedRecipient<Published>>,
) -> Store {
    let sync_flush = config.flush.mode == FlushMode::Sync;
    let (retention, retention_arbiter) = start_retention(config, root);
    let dispatcher_arbiter = Arbiter::new();
    let dispatcher = {
        let files = log.table();
        let reput = Reput::new(
            queues,
            log.published_offset().load(Ordering::Acquire),
            sync_flush,
        );
        let (topics, mailbox) = (Arc::new(topics.clone()), config.server.processor_mailbox);
        let disk = retention.recipient();
        let slave = config.cluster.role == BrokerRole::Slave;
        let read = config.ha.slave_read_enable;
        Mailbox::new(Dispatcher::start_in_arbiter(
            &dispatcher_arbiter.handle(),
            move |_| {
                Dispatcher::new(reput, index, files, topics, mailbox, disk).with_role(slave, read)
            },
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
        let mut writer = CommitLogWriter::new(
            log,
            allocator,
            config.warm_mapped_file(),
            sync_flush,
            flusher.clone(),
            dispatcher.clone(),
            retention.recipient(),
        );
        if let Some(ha) = ha {
            let slave_timeout = (config.cluster.role == BrokerRole::SyncMaster)
                .then(|| Duration::from_millis(config.ha.slave_timeout_ms));
            writer = writer.with_ha(slave_timeout, ha);
        }
        let capacity = config.store.writer_mailbox;
        Mailbox::new(CommitLogWriter::create(move |ctx| {
            ctx.set_mailbox_capacity(capacity);
            writer
        }))
    };
    retention.do_send(StoreWriter(writer.clone()));
    Store {
        dispatcher,
        dispatcher_arbiter,
        flusher,
        flusher_arbiter,
        writer,
        retention,
        retention_arbiter,
        written,
    }
}

/// Retention and the disk-full state, on their own thread: listing, stat-ing and unlinking files
/// block. It learns of the writer once that is started (`StoreWriter`).
fn start_retention(config: &BrokerConfig, root: &Path) -> (Mailbox<Retention>, Arbiter) {
    let arbiter = Arbiter::new();
    let (root, retention) = (root.to_path_buf(), config.retention.clone());
    let file_size = config.store.commitlog_file_bytes;
    let disk = Thresholds {
        max_used_percent: f64::from(config.store.disk_max_used_ratio_percent),
        resume_used_percent: f64::from(config.store.disk_resume_used_ratio_percent),
    };
    let every = Duration::from_millis(config.store.disk_check_interval_ms);
    let addr = Retention::start_in_arbiter(&arbiter.handle(), move |_| {
        Retention::new(root, file_size, retention, disk, every)
    });
    (Mailbox::new(addr), arbiter)
}

/// The actors connections hand requests to.
struct Processors {
    send: Mailbox<SendProcessor>,
    pull: Mailbox<PullProcessor>,
    offsets: Mailbox<OffsetProcessor>,
    admin: Mailbox<AdminProcessor>,
    clients: Mailbox<ClientManager>,
    locks: Mailbox<LockProcessor>,
    /// The name-server role (`[namesrv] enabled`), served on its own listener.
    name_server: Option<Mailbox<NameServer>>,
}

/// Starts every processor; `membership` says what routes and properties name this broker.
fn start_processors(
    config: &BrokerConfig,
    root: &Path,
    store: &Store,
    meta: Metadata,
    membership: &Membership,
    metrics: &Mailbox<Metrics>,
    scheduler: &Mailbox<Scheduler>,
) -> Processors {
    let Metadata {
        topics,
        offsets,
        groups,
        kv_config,
    } = meta;
    let store_host = membership.store_host;
    // Routes name the advertised address: a wildcard listen address is not reachable as such.
    let name_server = kv_config.map(|kv| {
        let local = (membership.local_broker(config), Arc::new(topics.clone()));
        let ns = NameServer::new(Some(local), config, kv, metrics.recipient());
        Mailbox::new(ns.start())
    });
    let mut topic_watchers = vec![store.dispatcher.recipient()];
    topic_watchers.extend(name_server.iter().map(|ns| ns.recipient()));
    topic_watchers.extend(membership.registrar.iter().map(|(r, _)| r.recipient()));
    let mailbox = config.server.processor_mailbox;
    let groups_path = paths::subscription_group_json(root);
    let tables = SendTables {
        topics,
        topics_path: paths::topics_json(root),
        groups,
        groups_path,
    };
    let half_from = offsets
        .get(transaction::CHECK_GROUP, transaction::HALF_TOPIC, 0)
        .unwrap_or(0);
    let offsets_path = paths::consumer_offsets_json(root);
    let dispatcher = store.dispatcher.clone();
    // The OffsetProcessor and the PullProcessor name each other (commits one way, offset resets
    // the other): the first is created with its address known, and starts the second with it.
    let mut pull = None;
    let offsets = OffsetProcessor::create(|ctx| {
        let me = Mailbox::new(ctx.address());
        let ip = advertised_ip(&membership.registration.broker_addr);
        let pulls = PullProcessor::new(dispatcher.clone(), me, mailbox)
            .with_broker(&config.broker.name, ip, config.broker.permission)
            .with_property_filter(config.broker.enable_property_filter);
        let pulls = Mailbox::new(pulls.start());
        let offsets = OffsetProcessor::new(offsets, offsets_path, dispatcher.clone(), mailbox)
            .with_broker_name(&config.broker.name)
            .with_broker_addr(&membership.registration.broker_addr)
            .with_pulls(pulls.recipient(), pulls.recipient())
            .with_topics(Arc::new(tables.topics.clone()));
        pull = Some(pulls);
        offsets
    });
    let offsets = Mailbox::new(offsets);
    let pull = pull.expect("set while the OffsetProcessor was created");
    topic_watchers.push(pull.recipient());
    topic_watchers.push(offsets.recipient());
    // The SendProcessor, the ClientManager and the TransactionChecker name each other: the first
    // is created with its address known, and builds the other two with it.
    let mut clients = None;
    let send = SendProcessor::create(|ctx| {
        let me = Mailbox::new(ctx.address());
        let manager = ClientManager::new(me.recipient(), offsets.clone())
            .with_dispatcher(store.dispatcher.clone(), &config.broker.name)
            .with_filters(pull.recipient());
        let manager = Mailbox::new(manager.start());
        let mut send = SendProcessor::new(
            store.writer.clone(),
            store.dispatcher.clone(),
            tables,
            config.broker.clone(),
            store_host,
            mailbox,
            topic_watchers,
        )
        .with_disk(store.retention.recipient())
        .with_timer_rules(TimerRules {
            enabled: config.timer.enabled,
            max_delay_sec: config.timer.max_delay_sec,
        })
        .with_role(config.cluster.role)
        .with_offsets(offsets.clone())
        .with_clients(manager.clone())
        .with_group_snapshots(pull.recipient(), me.clone());
        if config.cluster.role != BrokerRole::Slave {
            let checker = TransactionChecker::new(
                &config.transaction,
                (store.dispatcher.clone(), manager.clone()),
                me.recipient(),
                (offsets.recipient(), half_from),
                config.broker.name.clone(),
            );
            send = send.with_transactions(Mailbox::new(checker.start()));
        }
        clients = Some(manager);
        send
    });
    let send = Mailbox::new(send);
    let clients = clients.expect("set while the SendProcessor was created");
    let admin = AdminProcessor::new(
        metrics.clone(),
        scheduler.clone(),
        broker_properties(config, membership),
        membership.runtime_info(config),
    )
    .with_send(send.clone(), config.broker.permission)
    .with_dispatcher(store.dispatcher.clone())
    .with_retention(store.retention.recipient());
    let admin = match &config.file {
        Some(file) => admin.with_config_file(file.clone()),
        None => admin,
    };
    let locks = LockProcessor::new(config.broker.rebalance_lock_max_live_ms, mailbox);
    Processors {
        send,
        pull,
        offsets,
        admin: Mailbox::new(admin.start()),
        clients,
        locks: Mailbox::new(locks.start()),
        name_server,
    }
}

/// The broker listener's table, from the codes each processor declares.
fn broker_table(
    p: &Processors,
    scheduler: &Mailbox<Scheduler>,
) -> Result<ProcessorTable, DuplicateCode> {
    Ok(ProcessorTableBuilder::default()
        .serve(scheduler)?
        .serve(&p.send)?
        .serve(&p.pull)?
        .serve(&p.offsets)?
        .serve(&p.admin)?
        .serve(&p.clients)?
        .serve(&p.locks)?
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
/// Its connection events go to the `NameServer` (which passes them on to `Metrics`): a broker's
/// registration ends when its connection closes.
async fn start_namesrv_listener(
    config: &BrokerConfig,
    processors: &Processors,
    limits: ConnectionLimits,
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
        name_server.recipient(),
    )))
}

/// The broker's VIP channel (`server.vip_listen`, RocketMQ's listen port - 2): the same
/// processors on a second listener, which a Java slave's metadata sync and clients with
/// `vipChannelEnabled` use.
async fn start_vip_listener(
    config: &BrokerConfig,
    table: &ProcessorTable,
    limits: &ConnectionLimits,
    metrics: &Mailbox<Metrics>,
) -> anyhow::Result<Option<Mailbox<Server>>> {
    let Some(vip) = config.server.vip_listen else {
        return Ok(None);
    };
    let listener = bind("server.vip_listen", vip).await?;
    println!("actormq vip on {}", listener.local_addr()?);
    let (table, limits) = (table.clone(), limits.clone());
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
    scheduler: &Mailbox<Scheduler>,
    listeners: Vec<Mailbox<Server>>,
    timer: Option<(Mailbox<Timer>, Arbiter)>,
) -> anyhow::Result<()> {
    store.retention_arbiter.stop();
    stop_scheduler(scheduler).await?;
    // Parked long polls would hold their connections open for up to their suspend timeout.
    let released = store.dispatcher.send(ReleaseParked).await?;
    info!(released, "parked pulls answered");
    for listener in &listeners {
        listener.send(Shutdown).await?;
    }
    stop_timer(timer).await?;
    let write_offset = store.writer.send(Seal).await?;
    let flushed = store.flusher.send(FlushAll).await?;
    let index_msg_timestamp = store.dispatcher.send(FlushQueues).await?;
    if let Err(e) = offsets.send(PersistOffsets).await? {
        warn!(error = %e, "persisting consumer offsets at shutdown failed");
    }
    let checkpoint = Checkpoint {
        physic_msg_timestamp: now_ms(),
        confirm_phy_offset: flushed as i64,
        master_flushed_offset: flushed as i64,
        index_msg_timestamp,
        ..Default::default()
    };
    // Not fatal: recovery does not need it, and an error here must not leave `abort` behind
    // after everything was flushed (a stop on a full disk is still clean).
    if let Err(e) = checkpoint.store(&paths::checkpoint_path(&dir.root)) {
        warn!(error = %e, "writing the checkpoint at shutdown failed");
    }
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

/// Shutdown, first step: the scheduler starts no more deliveries; once the appends it has out are
/// answered (at most 5 s), its offsets are written, so a clean stop delivers nothing twice.
async fn stop_scheduler(scheduler: &Mailbox<Scheduler>) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let in_flight = scheduler.send(Pause).await?;
        if in_flight == 0 {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            warn!(
                in_flight,
                "delayed messages still being appended at shutdown; they may be delivered again"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Err(e) = scheduler.send(PersistDelayOffsets).await? {
        warn!(error = %e, "persisting delay offsets at shutdown failed");
    }
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

/// SIGTERM and SIGINT, caught from the moment this is made: install it before announcing that the
/// broker listens, so a stop that follows the announcement at once is a clean one (not the
/// default action, which kills the process before it unregisters and flushes).
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    /// Waits for the first of them.
    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// The host part of an advertised `host:port` (RocketMQ's `brokerIP1` / `brokerIP2`).
fn advertised_ip(addr: &str) -> String {
    addr.rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or_default()
}

/// `GET_BROKER_CONFIG`'s body: the effective configuration as Java-properties text, under RocketMQ's
/// key names where one exists.
fn broker_properties(config: &BrokerConfig, membership: &Membership) -> String {
    let me = &membership.registration;
    let port = |addr: &str| addr.rsplit(':').next().unwrap_or_default().to_string();
    let host = advertised_ip;
    let flush = match config.flush.mode {
        FlushMode::Async => "ASYNC_FLUSH",
        FlushMode::Sync => "SYNC_FLUSH",
    };
    let pairs = [
        ("brokerName", config.broker.name.clone()),
        ("brokerClusterName", config.broker.cluster.clone()),
        ("brokerId", config.cluster.broker_id.to_string()),
        ("regionId", config.broker.region_id.clone()),
        ("traceOn", config.broker.trace_on.to_string()),
        ("brokerRole", cluster::role_name(config).to_string()),
        ("listenPort", port(&me.broker_addr)),
        ("brokerIP1", host(&me.broker_addr)),
        ("brokerIP2", host(&me.ha_server_addr)),
        ("haListenPort", config.ha_listen().port().to_string()),
        ("namesrvAddr", config.cluster.namesrv_addr.join(";")),
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
            "autoCreateSubscriptionGroup",
            config.broker.auto_create_subscription_group.to_string(),
        ),
        (
            "defaultTopicQueueNums",
            config.broker.default_topic_queue_nums.to_string(),
        ),
        (
            "maxMessageSize",
            config.broker.max_message_bytes.to_string(),
        ),
        (
            "messageDelayLevel",
            config.broker.message_delay_level.as_str().to_string(),
        ),
        ("warmMapedFileEnable", config.warm_mapped_file().to_string()),
        (
            "checkCRCOnRecover",
            config.store.check_crc_on_recover.to_string(),
        ),
    ];
    pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}
