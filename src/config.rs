//! `broker.toml` -> typed, validated configuration.
//!
//! Every section is its own struct with `deny_unknown_fields`, so a misspelt key stops the broker at
//! start instead of being silently ignored. Every default lives once, in the `Default` impls below;
//! a unit test checks the repository's `broker.toml` against them so the two cannot drift.
//! Errors are one line and name the file, the line and the key (`broker.toml:7: store.commitlog_file_bytes = 0: ...`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::broker_permission::BrokerPermission;
use crate::schedule::DelayLevels;

/// The size of an OS page; file sizes and flush thresholds are counted in these.
pub const PAGE_SIZE: u64 = 4096;
/// The largest `ha.transfer_batch_bytes`: a Java slave (`DefaultHAClient`) reads transfers into a
/// 4 MiB buffer, header (12 bytes) included, and never completes a larger one.
pub const MAX_TRANSFER_BATCH: u64 = 4 * 1024 * 1024 - 12;

/// The whole broker configuration, one field per `[section]` of `broker.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    pub server: ServerConfig,
    pub broker: BrokerIdentity,
    pub store: StoreConfig,
    pub flush: FlushConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub namesrv: NameServerConfig,
    pub timer: TimerConfig,
    pub transaction: TransactionConfig,
    pub cluster: ClusterConfig,
    pub ha: HaConfig,
    /// The file this was loaded from (`load`), where a setting changed while running is
    /// written back (`crate::config_update`). Not a key of the file.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// `[server]`: the remoting listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the remoting server binds. Port 0 picks a free port (tests). Default: `127.0.0.1:10911`.
    pub listen: SocketAddr,
    /// Largest frame accepted; a larger length prefix closes the connection. Default: 16 MiB (RocketMQ's).
    pub max_frame_bytes: usize,
    /// Requests one connection may have in flight before further ones get `SYSTEM_BUSY`. Default: 4096.
    pub max_inflight_per_connection: usize,
    /// Mailbox capacity of each processor actor; a full mailbox answers `SYSTEM_BUSY`. Default: 16384.
    pub processor_mailbox: usize,
    /// A frame whose first bytes arrived must be complete within this time, else the connection is
    /// closed (slow-loris guard). Default: 30000 (30 s).
    pub frame_read_timeout_ms: u64,
    /// A connection with no bytes read or written for this long is closed (RocketMQ's
    /// `serverChannelMaxIdleTimeSeconds`). Default: 120.
    pub idle_timeout_secs: u64,
    /// Open connections per listener; beyond it a new socket is closed at once. Default: 16384.
    pub max_connections: usize,
    /// Broker-wide budget for frames in progress: a frame reserves its announced length from the
    /// moment its header arrives until it is complete. Beyond it the connection stops reading
    /// until budget frees up (within `frame_read_timeout_ms`). Default: 512 MiB.
    pub frame_budget_bytes: usize,
    /// Per connection: when the replies not yet written to the socket exceed this, the connection
    /// stops reading requests until the client has read half of them. Default: 4 MiB.
    pub max_unread_reply_bytes: usize,
    /// A second listener serving the same requests: RocketMQ's VIP channel (its broker listens on
    /// `listenPort - 2`), which a stock Java slave's metadata sync and clients with
    /// `vipChannelEnabled` connect to. Default: none.
    pub vip_listen: Option<SocketAddr>,
}

/// `[broker]`: identity and topic policy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerIdentity {
    /// Broker name reported to clients. Default: `broker-a`.
    pub name: String,
    /// Cluster name, stored in every message's `CLUSTER` property. Default: `DefaultCluster`.
    pub cluster: String,
    /// Create unknown topics on first send (RocketMQ's `autoCreateTopicEnable`). Default: true.
    pub auto_create_topic: bool,
    /// Create unknown consumer groups on first use, with RocketMQ's defaults (retryQueueNums 1,
    /// retryMaxTimes 16) (RocketMQ's `autoCreateSubscriptionGroup`). Default: true.
    pub auto_create_subscription_group: bool,
    /// Upper bound on the queue count of an auto-created topic. Default: 8.
    pub default_topic_queue_nums: u32,
    /// Sends auto-create topics only while the broker holds fewer topics than this (every topic
    /// counts: auto-created, system, retry and admin-created ones). At the limit a send to an
    /// unknown topic gets `TOPIC_NOT_EXIST`, as with `auto_create_topic = false`; `topic create`
    /// (admin) still works. RocketMQ has no such limit: it bounds the files and memory a client
    /// sending to ever new topic names can take. Default: 10000.
    pub auto_create_topic_limit: usize,
    /// Largest message body accepted (RocketMQ's `maxMessageSize`). Default: 4 MiB.
    pub max_message_bytes: usize,
    /// A queue lock (`LOCK_BATCH_MQ`, ordered consumers) not renewed for longer than this may be
    /// taken by another client (RocketMQ's `rocketmq.broker.rebalance.lockMaxLiveTime`). Default: 60000.
    pub rebalance_lock_max_live_ms: u64,
    /// The delay of each level a message's `DELAY` property names (RocketMQ's `messageDelayLevel`):
    /// whole numbers with a unit of `s`, `m`, `h` or `d`, separated by spaces; level n is the n-th
    /// entry, a higher level is clamped to the last. A bad entry stops the broker at start.
    /// Default: `"1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"`.
    pub message_delay_level: DelayLevels,
    /// The broker's permission (RocketMQ's `brokerPermission`): 6 read and write, 4 read only (no
    /// sends are routed here; ordered topics and send-backs refuse them; pulls go on: how a broker
    /// is drained), 2 write only, 0 neither. `mqadmin updateBrokerConfig -k brokerPermission -v N`
    /// changes it and writes it back here (as Java rewrites its broker.conf). Default: 6.
    pub permission: BrokerPermission,
    /// Serve SQL92 subscriptions (`MessageSelector.bySql`: an expression over each message's
    /// properties; RocketMQ's `enablePropertyFilter`). Off, as in Java: such a consumer is refused
    /// with Java's "The broker does not support consumer to filter message by SQL92". Default:
    /// false.
    pub enable_property_filter: bool,
    /// Stored in every sent message's `MSG_REGION` property and in send answers (RocketMQ's
    /// `regionId`): 5.x clients drop a consumer's trace records (`enableMsgTrace`) for messages
    /// without it. Default: `DefaultRegion`.
    pub region_id: String,
    /// Stored in every sent message's `TRACE_ON` property and in send answers (RocketMQ's
    /// `traceOn`): with false, clients do not trace this broker's messages. Default: true.
    pub trace_on: bool,
}

/// `[store]`: where and how the commit log lives.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Store root: holds `commitlog/`, `config/`, `checkpoint`, `abort`, `lock`. Default: `./store`.
    pub root: PathBuf,
    /// Size of each commit-log file; a multiple of 4096. Default: 1 GiB.
    pub commitlog_file_bytes: u64,
    /// Let the FileAllocator prepare the next file ahead of time (true), or create files on demand in
    /// the writer when a file fills (false, for comparison benchmarks). Default: true.
    pub preallocate: bool,
    /// Zero-fill every new file through its descriptor before use (RocketMQ's `warmMapedFileEnable`),
    /// so flushes write data only. Default (unset): on with sync flush, where it is what a send
    /// waits for, off with async flush. See [`BrokerConfig::warm_mapped_file`].
    pub warm_mapped_file: Option<bool>,
    /// Mailbox capacity of the CommitLogWriter. Default: 16384.
    pub writer_mailbox: usize,
    /// Verify the body CRC of every record scanned during recovery. Default: true.
    pub check_crc_on_recover: bool,
    /// Disk length a new consume-queue file starts with; it doubles (allocated, never sparse) as
    /// entries arrive, up to RocketMQ's full 6,000,000 bytes. A positive multiple of 4096.
    /// `actormq store finalize` extends short files for a Java broker. Default: 65536 (64 KiB).
    pub consume_queue_initial_bytes: u64,
    /// Disk usage (percent of the store's file system) at or above which the store takes no new
    /// messages: sends are answered `SERVICE_NOT_AVAILABLE` (14) until it falls below
    /// `disk_resume_used_ratio_percent`. Default: 90 (RocketMQ's `diskSpaceWarningLevelRatio`,
    /// the ratio at which Java marks the disk full; its `diskMaxUsedSpaceRatio`, 75, only makes
    /// retention delete expired files and is `retention.disk_max_used_percent` here).
    pub disk_max_used_ratio_percent: u8,
    /// A store full by the ratio takes messages again below this usage (hysteresis). Default: 85
    /// (Java marks the disk OK again only below `diskSpaceCleanForciblyRatio`, 85).
    pub disk_resume_used_ratio_percent: u8,
    /// How often the disk usage is measured (one `statvfs`), so that a full store notices space
    /// coming back. Default: 1000.
    pub disk_check_interval_ms: u64,
    /// Build the message index (`<root>/index/`, lookup by key; RocketMQ's
    /// `messageIndexEnable`). Default: true.
    pub index_enabled: bool,
    /// Hash slots per index file (RocketMQ's `maxHashSlotNum`). Default: 5000000.
    pub max_hash_slot_num: u32,
    /// Entries per index file (RocketMQ's `maxIndexNum`). Default: 20000000.
    pub max_index_num: u32,
}

impl StoreConfig {
    /// The size of an index file: 40 + slots x 4 + entries x 20 bytes.
    pub fn index_file_bytes(&self) -> u64 {
        40 + self.max_hash_slot_num as u64 * 4 + self.max_index_num as u64 * 20
    }
}

/// `[retention]`: when old commit-log files are deleted (RocketMQ's `CleanCommitLogService`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// A full commit-log file whose last write is older than this is expired. Default: 72
    /// (RocketMQ's `fileReservedTime`).
    pub file_reserved_hours: u64,
    /// Hours of the day (local time, as RocketMQ) at which expired files are deleted: `"04"`, `"04;16"`, or `"*"` for
    /// any hour. Default: `"04"` (RocketMQ's `deleteWhen`).
    pub delete_when: String,
    /// Disk usage (percent of the store's file system) at or above which expired files are deleted
    /// at any hour. Default: 75 (RocketMQ's `diskMaxUsedSpaceRatio`).
    pub disk_max_used_percent: u8,
    /// Disk usage at or above which the oldest files are deleted even if not expired. Default: 85
    /// (RocketMQ's `diskSpaceCleanForciblyRatio`).
    pub disk_clean_forcibly_percent: u8,
    /// How often the policy is checked. Default: 10000 (RocketMQ's `cleanResourceInterval`).
    pub check_interval_ms: u64,
    /// Most files deleted per check. Default: 10 (RocketMQ's `deleteFileBatchMax`).
    pub max_files_per_check: usize,
}

impl RetentionConfig {
    /// `delete_when` as one flag per hour of the day; `None` if it does not parse.
    pub fn delete_hours(&self) -> Option<[bool; 24]> {
        let spec = self.delete_when.trim();
        if spec == "*" {
            return Some([true; 24]);
        }
        let mut hours = [false; 24];
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let h: usize = part.parse().ok().filter(|h| *h < 24)?;
            hours[h] = true;
        }
        hours.iter().any(|h| *h).then_some(hours)
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            file_reserved_hours: 72,
            delete_when: "04".into(),
            disk_max_used_percent: 75,
            disk_clean_forcibly_percent: 85,
            check_interval_ms: 10_000,
            max_files_per_check: 10,
        }
    }
}

/// When the commit log is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlushMode {
    /// Reply at once; the Flusher msyncs on its interval (RocketMQ's ASYNC_FLUSH).
    Async,
    /// Reply only after the record is flushed, with group commit (RocketMQ's SYNC_FLUSH).
    Sync,
}

/// `[flush]`: the Flusher's policy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlushConfig {
    /// `async` or `sync`. Default: `async`.
    pub mode: FlushMode,
    /// Async mode: how often the Flusher looks for dirty pages. Default: 500.
    pub interval_ms: u64,
    /// Async mode: flush only when at least this many pages are dirty (except on the thorough pass). Default: 4.
    pub least_pages: u64,
    /// Async mode: flush everything at least this often. Default: 10000.
    pub thorough_interval_ms: u64,
    /// Sync mode: answer `FLUSH_DISK_TIMEOUT` when a record is not flushed within this time. Default: 5000.
    pub sync_timeout_ms: u64,
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter (`info`, `actormq=debug`, ...). `RUST_LOG` overrides it. Default: `info`.
    pub level: String,
}

/// `[namesrv]`: the built-in name-server role, so stock RocketMQ clients can use actormq as their
/// name server (route lookups) as well as their broker.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NameServerConfig {
    /// Serve name-server requests. Default: true.
    pub enabled: bool,
    /// Where the name-server role listens (RocketMQ's 9876). Port 0 picks a free port. Default:
    /// `127.0.0.1:9876`.
    pub listen: SocketAddr,
    /// A broker that registered but has not re-registered for this long is removed from routes
    /// and cluster info (RocketMQ's `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`; a broker's own
    /// `heartbeatTimeoutMillis` overrides it). Default: 120000 (120 s).
    pub broker_expiry_ms: u64,
    /// How often expired brokers are looked for (RocketMQ 5.x `scanNotActiveBrokerInterval`).
    /// Default: 5000.
    pub scan_interval_ms: u64,
    /// Where the KV config (PUT_KV_CONFIG ...) is kept, as RocketMQ's `kvConfigPath`
    /// (`kvConfig.json`). Default: unset, `<store.root>/config/kvConfig.json`, in name-server-only
    /// mode too.
    pub kv_config_path: Option<PathBuf>,
    /// Routes carry the topic's `ORDER_TOPIC_CONFIG` KV value as `orderTopicConf` (RocketMQ's
    /// `orderMessageEnable`; UPDATE_NAMESRV_CONFIG changes it until restart). Default: false.
    pub order_message_enable: bool,
}

impl Default for NameServerConfig {
    fn default() -> Self {
        NameServerConfig {
            enabled: true,
            listen: "127.0.0.1:9876".parse().expect("valid literal"),
            broker_expiry_ms: 120_000,
            scan_interval_ms: 5_000,
            kv_config_path: None,
            order_message_enable: false,
        }
    }
}

/// `[timer]`: 5.x timer messages (`TIMER_DELAY_SEC` / `TIMER_DELAY_MS` / `TIMER_DELIVER_MS`),
/// `docs/timer.md`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimerConfig {
    /// Accept timer messages (RocketMQ's `timerWheelEnable`); off -> SYSTEM_ERROR. Default: true.
    pub enabled: bool,
    /// Longest delay accepted (`timerMaxDelaySec`); longer -> MESSAGE_ILLEGAL. Default: 259200 (3 days).
    pub max_delay_sec: u64,
    /// Width of one timing-wheel slot (`timerPrecisionMs`). Messages are delivered at their exact
    /// time, not rounded to it: this only sets how the on-disk index groups them. Default: 1000.
    pub precision_ms: u64,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            enabled: true,
            max_delay_sec: 259_200,
            precision_ms: 1000,
        }
    }
}

/// `[transaction]`: when a half message left open is asked about (RocketMQ's
/// `transactionTimeOut`, `transactionCheckInterval`, `transactionCheckMax`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransactionConfig {
    /// A half not ended this long after it was stored is checked with its producer group (unless
    /// the producer's `CHECK_IMMUNITY_TIME_IN_SECONDS` is longer). Default: 6000.
    pub timeout_ms: u64,
    /// How often open halves are looked at, and the time between two checks of one half.
    /// Default: 30000 (Java 5.1.1 and later; 60000 before).
    pub check_interval_ms: u64,
    /// Checks before a half is given up (ended without being stored). Default: 15.
    pub check_max: u32,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            timeout_ms: 6_000,
            check_interval_ms: 30_000,
            check_max: 15,
        }
    }
}

/// The role of this broker in its broker group (RocketMQ's `brokerRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum BrokerRole {
    /// Master; a send is answered once it is stored locally (slaves catch up on their own).
    #[serde(rename = "ASYNC_MASTER")]
    AsyncMaster,
    /// Master; a send is answered once a slave also has its bytes (or the slave wait times out).
    #[serde(rename = "SYNC_MASTER")]
    SyncMaster,
    /// Slave: refuses sends, replicates its master's commit log over the HA port.
    #[serde(rename = "SLAVE")]
    Slave,
}

/// `[cluster]`: membership in a RocketMQ cluster (`docs/cluster.md`). The defaults describe a
/// one-node broker that registers nowhere but with its own built-in name-server role.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// Name servers to register with (RocketMQ's `namesrvAddr`), each `"host:port"`. Default: none.
    pub namesrv_addr: Vec<String>,
    /// 0 for the master of the broker group, 1.. for its slaves (RocketMQ's `brokerId`). Default: 0.
    pub broker_id: u64,
    /// `"ASYNC_MASTER"`, `"SYNC_MASTER"` or `"SLAVE"` (RocketMQ's `brokerRole`). Default: ASYNC_MASTER.
    pub role: BrokerRole,
    /// The `host:port` clients are told to connect to (RocketMQ's `brokerIP1` + `listenPort`).
    /// Default (unset): `server.listen`, with an unspecified IP (0.0.0.0) replaced by this host's
    /// first non-loopback address.
    pub advertise_addr: Option<String>,
    /// How often the broker registers with every name server in `namesrv_addr` (RocketMQ's
    /// `registerNameServerPeriod`, clamped by Java to 10..60 s; here 1 s..60 s, so tests can be
    /// quick). Default: 30000.
    pub register_interval_ms: u64,
    /// Every periodic registration sends the whole topic table (RocketMQ's `forceRegister`). false:
    /// a master first asks each name server with QUERY_DATA_VERSION (322), which also keeps its
    /// registration alive, and registers only with those whose version differs, or that do not
    /// answer the query. A slave always registers: the answer names its master. Default: true.
    pub force_register: bool,
    /// A master announces a created or changed topic with REGISTER_TOPIC_IN_NAMESRV (217), that
    /// topic alone (RocketMQ's `enableSingleTopicRegister`); a name server that refuses the code
    /// (RocketMQ 4.x) gets the whole table with REGISTER_BROKER, as does one not registered with
    /// yet. false: every change re-sends the whole table (Java's default; it costs a large table
    /// per auto-created topic). Default: true.
    pub single_topic_register: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            namesrv_addr: Vec::new(),
            broker_id: 0,
            role: BrokerRole::AsyncMaster,
            advertise_addr: None,
            register_interval_ms: 30_000,
            force_register: true,
            single_topic_register: true,
        }
    }
}

/// `[ha]`: commit-log replication between a master and its slaves (RocketMQ's classic HA).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HaConfig {
    /// Where a master accepts its slaves (RocketMQ's `haListenPort`). Port 0 picks a free port.
    /// Default (unset): `server.listen`'s IP and its port + 1, as Java derives `haListenPort`, so
    /// brokers that differ in `server.listen` do not collide here (`127.0.0.1:10912` with the
    /// default `server.listen`; port 0 when `server.listen` has port 0).
    pub listen: Option<SocketAddr>,
    /// The `host:port` slaves are told to connect to (RocketMQ's `brokerIP2` + HA port). Default
    /// (unset): `ha.listen`, an unspecified IP replaced as for `cluster.advertise_addr`.
    pub advertise_addr: Option<String>,
    /// A slave's master HA address (RocketMQ's `haMasterAddress`). Default (unset): learned from the
    /// name servers' REGISTER_BROKER answers.
    pub master_addr: Option<String>,
    /// A slave's master broker address (its `server.listen`, RocketMQ's master `brokerAddr`), for
    /// the slave's metadata sync (topics, consumer offsets, delay offsets, subscription groups).
    /// Default (unset): no metadata sync until the name servers name the master.
    pub master_broker_addr: Option<String>,
    /// SYNC_MASTER: how long a send waits for a slave before `FLUSH_SLAVE_TIMEOUT` (RocketMQ's
    /// `slaveTimeout`). Default: 3000.
    pub slave_timeout_ms: u64,
    /// Heartbeats: a slave reports its offset, a master sends an empty transfer, after this long
    /// without writing (RocketMQ's `haSendHeartbeatInterval`). Default: 5000.
    pub heartbeat_interval_ms: u64,
    /// Either side closes a connection that read nothing for this long (RocketMQ's
    /// `haHousekeepingInterval`). Default: 20000.
    pub housekeeping_interval_ms: u64,
    /// The largest chunk a master sends at once (RocketMQ's `haTransferBatchSize`, 32 KiB in
    /// Java). At most 4 MiB - 12, what a Java slave's read buffer holds with the header. Larger
    /// chunks let an ASYNC_MASTER's coalescing (below) gather more per transfer. Default: 262144.
    pub transfer_batch_bytes: u64,
    /// ASYNC_MASTER: at most one transfer to a slave per this many milliseconds, unless a full
    /// batch is waiting. Fewer, larger writes cost both brokers fewer wake-ups per message (on one
    /// 2-core host a transfer per append turn took a third of the master's rate); a slave stays
    /// within about this interval. 0 sends every append turn at once. SYNC_MASTER always sends at
    /// once (its sends wait for the slave). Default: 5.
    pub async_transfer_interval_ms: u64,
    /// A slave reconnects after 1 s, doubling up to this (RocketMQ retries every 5 s). Default: 5000.
    pub reconnect_max_ms: u64,
    /// How often a slave syncs topics, offsets and groups from its master (RocketMQ 4.9: 10 s).
    /// Default: 10000.
    pub slave_sync_interval_ms: u64,
    /// RocketMQ's `slaveReadEnable`: pull responses may send consumers that fall far behind to a
    /// slave (`suggestWhichBrokerId`). Default: false.
    pub slave_read_enable: bool,
}

impl Default for HaConfig {
    fn default() -> Self {
        HaConfig {
            listen: None,
            advertise_addr: None,
            master_addr: None,
            master_broker_addr: None,
            slave_timeout_ms: 3000,
            heartbeat_interval_ms: 5000,
            housekeeping_interval_ms: 20_000,
            transfer_batch_bytes: 256 * 1024,
            async_transfer_interval_ms: 5,
            reconnect_max_ms: 5000,
            slave_sync_interval_ms: 10_000,
            slave_read_enable: false,
        }
    }
}

/// `[metrics]`: mailbox metrics and the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where to serve Prometheus text format at `/metrics`; no endpoint when absent. Default: absent.
    pub listen: Option<SocketAddr>,
    /// Count mailbox depth, throughput and handling time for every actor. Default: true.
    pub mailbox_stats: bool,
    /// How often the per-topic and per-group statistics of `VIEW_BROKER_STATS_DATA` (`mqadmin
    /// statsAll`) take a sample (RocketMQ's fixed 10 s); the hour window samples every 60 of
    /// these, the day window every 360. Default: 10000.
    pub stats_sample_interval_ms: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: None,
            mailbox_stats: true,
            stats_sample_interval_ms: 10_000,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:10911".parse().expect("valid literal"),
            max_frame_bytes: 16 * 1024 * 1024,
            max_inflight_per_connection: 4096,
            processor_mailbox: 16384,
            frame_read_timeout_ms: 30_000,
            idle_timeout_secs: 120,
            max_connections: 16384,
            frame_budget_bytes: 512 * 1024 * 1024,
            max_unread_reply_bytes: 4 * 1024 * 1024,
            vip_listen: None,
        }
    }
}

impl Default for BrokerIdentity {
    fn default() -> Self {
        BrokerIdentity {
            name: "broker-a".into(),
            cluster: "DefaultCluster".into(),
            auto_create_topic: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            auto_create_topic_limit: 10_000,
            max_message_bytes: 4 * 1024 * 1024,
            rebalance_lock_max_live_ms: 60_000,
            message_delay_level: DelayLevels::default(),
            permission: BrokerPermission::default(),
            enable_property_filter: false,
            region_id: "DefaultRegion".into(),
            trace_on: true,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            root: PathBuf::from("./store"),
            commitlog_file_bytes: 1024 * 1024 * 1024,
            preallocate: true,
            warm_mapped_file: None,
            writer_mailbox: 16384,
            check_crc_on_recover: true,
            consume_queue_initial_bytes: 64 * 1024,
            disk_max_used_ratio_percent: 90,
            disk_resume_used_ratio_percent: 85,
            disk_check_interval_ms: 1000,
            index_enabled: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
        }
    }
}

impl Default for FlushConfig {
    fn default() -> Self {
        FlushConfig {
            mode: FlushMode::Async,
            interval_ms: 500,
            least_pages: 4,
            thorough_interval_ms: 10_000,
            sync_timeout_ms: 5000,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
        }
    }
}

/// A configuration problem, rendered as one line naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {key}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{path}: {key} = {value}: {reason}")]
    Invalid {
        path: PathBuf,
        key: &'static str,
        value: String,
        reason: String,
    },
}

impl BrokerConfig {
    /// Whether new commit-log files are zero-filled: `store.warm_mapped_file` if set, else on exactly
    /// when `flush.mode = "sync"`. There a send waits for its flush, and flushing onto zero-filled
    /// blocks was ~1.5x faster at 64 sends in flight (docs/benchmarks.md); in async mode nobody
    /// waits for a flush, so the extra write of every file buys nothing.
    pub fn warm_mapped_file(&self) -> bool {
        self.store
            .warm_mapped_file
            .unwrap_or(self.flush.mode == FlushMode::Sync)
    }

    /// Where a master accepts its slaves: `ha.listen`, else `server.listen`'s port + 1 (Java's
    /// `haListenPort` default). `validate` refuses a `server.listen` port of 65535 without an
    /// explicit `ha.listen`, so the addition cannot overflow here for a validated config.
    pub fn ha_listen(&self) -> SocketAddr {
        self.ha.listen.unwrap_or_else(|| {
            let server = self.server.listen;
            let port = match server.port() {
                0 => 0,
                port => port.saturating_add(1),
            };
            SocketAddr::new(server.ip(), port)
        })
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<BrokerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::parse(&text, path)?;
        config.validate(path)?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    /// Loads the file for a name-server-only node (`actormq-broker --namesrv-only`): only what that
    /// node uses (`[namesrv]`, `[server]`'s connection bounds, `[log]`, `[metrics]`) is checked; the
    /// store is never opened, so its root is not created or checked.
    pub fn load_name_server_only(path: &Path) -> Result<BrokerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config = Self::parse(&text, path)?;
        config.validate_name_server(path)?;
        Ok(config)
    }

    /// The `[namesrv]` checks, and the positive intervals of other sections.
    fn validate_name_server(&self, path: &Path) -> Result<(), ConfigError> {
        for (key, v) in [
            ("namesrv.broker_expiry_ms", self.namesrv.broker_expiry_ms),
            ("namesrv.scan_interval_ms", self.namesrv.scan_interval_ms),
            (
                "transaction.check_interval_ms",
                self.transaction.check_interval_ms,
            ),
            (
                "metrics.stats_sample_interval_ms",
                self.metrics.stats_sample_interval_ms,
            ),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key,
                    value: "0".into(),
                    reason: "must be positive".into(),
                });
            }
        }
        Ok(())
    }

    /// Parses TOML text; `path` only labels errors.
    pub fn parse(text: &str, path: &Path) -> Result<BrokerConfig, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, key) = match e.span() {
                Some(span) => locate(text, span.start),
                None => (0, String::from("?")),
            };
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                key,
                message: e.message().replace('\n', " "),
            }
        })
    }

    /// Rejects values the broker cannot run with. Checks that the store root is writable.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, value: String, reason: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            value,
            reason: reason.to_string(),
        };
        if self.ha.listen.is_none() && self.server.listen.port() == u16::MAX {
            return Err(invalid(
                "ha.listen",
                String::from("(unset)"),
                "server.listen port 65535 leaves no port + 1 for the HA listener: set ha.listen",
            ));
        }
        let s = &self.store;
        if s.commitlog_file_bytes == 0 || !s.commitlog_file_bytes.is_multiple_of(PAGE_SIZE) {
            return Err(invalid(
                "store.commitlog_file_bytes",
                s.commitlog_file_bytes.to_string(),
                "must be a positive multiple of the 4096-byte page size",
            ));
        }
        // Java sizes an index file in an int: a larger file is one it could not open.
        for (key, value) in [
            ("store.max_hash_slot_num", s.max_hash_slot_num),
            ("store.max_index_num", s.max_index_num),
        ] {
            if value == 0 || s.index_file_bytes() > i32::MAX as u64 {
                return Err(invalid(
                    key,
                    value.to_string(),
                    "must be positive, with 40 + max_hash_slot_num x 4 + max_index_num x 20 at most 2147483647 bytes",
                ));
            }
        }
        // A record of the largest allowed body must fit in one file with room for the end marker.
        let largest_record = self.broker.max_message_bytes as u64 + 64 * 1024;
        if s.commitlog_file_bytes < largest_record {
            return Err(invalid(
                "store.commitlog_file_bytes",
                s.commitlog_file_bytes.to_string(),
                &format!(
                    "must hold the largest record: broker.max_message_bytes ({}) + 64 KiB",
                    self.broker.max_message_bytes
                ),
            ));
        }
        if s.consume_queue_initial_bytes == 0
            || !s.consume_queue_initial_bytes.is_multiple_of(PAGE_SIZE)
        {
            return Err(invalid(
                "store.consume_queue_initial_bytes",
                s.consume_queue_initial_bytes.to_string(),
                "must be a positive multiple of the 4096-byte page size",
            ));
        }
        if self.broker.max_message_bytes == 0 {
            return Err(invalid(
                "broker.max_message_bytes",
                "0".into(),
                "must be positive",
            ));
        }
        if self.server.max_frame_bytes < 1024 {
            return Err(invalid(
                "server.max_frame_bytes",
                self.server.max_frame_bytes.to_string(),
                "must be at least 1024",
            ));
        }
        if self.server.frame_budget_bytes < self.server.max_frame_bytes {
            return Err(invalid(
                "server.frame_budget_bytes",
                self.server.frame_budget_bytes.to_string(),
                &format!(
                    "must hold one largest frame: at least server.max_frame_bytes ({})",
                    self.server.max_frame_bytes
                ),
            ));
        }
        for (key, v) in [
            (
                "server.max_inflight_per_connection",
                self.server.max_inflight_per_connection,
            ),
            ("server.processor_mailbox", self.server.processor_mailbox),
            ("server.max_connections", self.server.max_connections),
            (
                "server.max_unread_reply_bytes",
                self.server.max_unread_reply_bytes,
            ),
            (
                "server.frame_read_timeout_ms",
                self.server.frame_read_timeout_ms as usize,
            ),
            (
                "server.idle_timeout_secs",
                self.server.idle_timeout_secs as usize,
            ),
            ("store.writer_mailbox", s.writer_mailbox),
            (
                "store.disk_check_interval_ms",
                s.disk_check_interval_ms as usize,
            ),
        ] {
            if v == 0 {
                return Err(invalid(key, "0".into(), "must be positive"));
            }
        }
        if !(1..=100).contains(&s.disk_max_used_ratio_percent) {
            return Err(invalid(
                "store.disk_max_used_ratio_percent",
                s.disk_max_used_ratio_percent.to_string(),
                "must be between 1 and 100",
            ));
        }
        if s.disk_resume_used_ratio_percent == 0
            || s.disk_resume_used_ratio_percent > s.disk_max_used_ratio_percent
        {
            return Err(invalid(
                "store.disk_resume_used_ratio_percent",
                s.disk_resume_used_ratio_percent.to_string(),
                &format!(
                    "must be between 1 and store.disk_max_used_ratio_percent ({})",
                    s.disk_max_used_ratio_percent
                ),
            ));
        }
        if self.broker.default_topic_queue_nums == 0 || self.broker.default_topic_queue_nums > 1024
        {
            return Err(invalid(
                "broker.default_topic_queue_nums",
                self.broker.default_topic_queue_nums.to_string(),
                "must be between 1 and 1024",
            ));
        }
        if self.broker.name.is_empty() {
            return Err(invalid("broker.name", "\"\"".into(), "must not be empty"));
        }
        let region = &self.broker.region_id;
        if region.is_empty() || region.contains(['\u{1}', '\u{2}']) {
            return Err(invalid(
                "broker.region_id",
                format!("{region:?}"),
                "must be a non-empty name (it is stored in every message's properties)",
            ));
        }
        for (key, v) in [
            ("flush.interval_ms", self.flush.interval_ms),
            (
                "flush.thorough_interval_ms",
                self.flush.thorough_interval_ms,
            ),
            ("flush.sync_timeout_ms", self.flush.sync_timeout_ms),
        ] {
            if v == 0 {
                return Err(invalid(key, "0".into(), "must be positive"));
            }
        }
        let t = &self.timer;
        if !(10..=60_000).contains(&t.precision_ms) {
            return Err(invalid(
                "timer.precision_ms",
                t.precision_ms.to_string(),
                "must be between 10 and 60000",
            ));
        }
        // The wheel file holds 24 bytes per slot over twice the longest delay.
        if t.max_delay_sec == 0
            || t.max_delay_sec.saturating_mul(2000) / t.precision_ms > 50_000_000
        {
            return Err(invalid(
                "timer.max_delay_sec",
                t.max_delay_sec.to_string(),
                "must be positive and at most 25000 * timer.precision_ms (50 million wheel slots)",
            ));
        }
        let r = &self.retention;
        if r.delete_hours().is_none() {
            return Err(invalid(
                "retention.delete_when",
                format!("{:?}", r.delete_when),
                "must be \"*\" or hours 0-23 separated by ';' (e.g. \"04;16\")",
            ));
        }
        for (key, v) in [
            ("retention.disk_max_used_percent", r.disk_max_used_percent),
            (
                "retention.disk_clean_forcibly_percent",
                r.disk_clean_forcibly_percent,
            ),
        ] {
            if v == 0 || v > 100 {
                return Err(invalid(key, v.to_string(), "must be between 1 and 100"));
            }
        }
        for (key, v) in [
            ("retention.check_interval_ms", r.check_interval_ms),
            (
                "retention.max_files_per_check",
                r.max_files_per_check as u64,
            ),
        ] {
            if v == 0 {
                return Err(invalid(key, "0".into(), "must be positive"));
            }
        }
        let c = &self.cluster;
        if !(1_000..=60_000).contains(&c.register_interval_ms) {
            return Err(invalid(
                "cluster.register_interval_ms",
                c.register_interval_ms.to_string(),
                "must be between 1000 and 60000",
            ));
        }
        self.validate_name_server(path)?;
        if (c.role == BrokerRole::Slave) != (c.broker_id > 0) {
            return Err(invalid(
                "cluster.broker_id",
                c.broker_id.to_string(),
                &format!(
                    "must be 0 for a master and above 0 for a slave (cluster.role = {:?})",
                    c.role
                ),
            ));
        }
        for (key, addr) in c
            .namesrv_addr
            .iter()
            .map(|a| ("cluster.namesrv_addr", Some(a)))
            .chain([
                ("cluster.advertise_addr", c.advertise_addr.as_ref()),
                ("ha.advertise_addr", self.ha.advertise_addr.as_ref()),
                ("ha.master_addr", self.ha.master_addr.as_ref()),
                ("ha.master_broker_addr", self.ha.master_broker_addr.as_ref()),
            ])
        {
            if let Some(addr) = addr {
                if !is_host_port(addr) {
                    return Err(invalid(key, format!("{addr:?}"), "must be \"host:port\""));
                }
            }
        }
        let h = &self.ha;
        for (key, v) in [
            ("ha.slave_timeout_ms", h.slave_timeout_ms),
            ("ha.heartbeat_interval_ms", h.heartbeat_interval_ms),
            ("ha.housekeeping_interval_ms", h.housekeeping_interval_ms),
            ("ha.transfer_batch_bytes", h.transfer_batch_bytes),
            ("ha.reconnect_max_ms", h.reconnect_max_ms),
            ("ha.slave_sync_interval_ms", h.slave_sync_interval_ms),
        ] {
            if v == 0 {
                return Err(invalid(key, "0".into(), "must be positive"));
            }
        }
        if h.transfer_batch_bytes > MAX_TRANSFER_BATCH {
            return Err(invalid(
                "ha.transfer_batch_bytes",
                h.transfer_batch_bytes.to_string(),
                &format!("must be at most {MAX_TRANSFER_BATCH} (a Java slave reads a transfer and its 12-byte header into a 4 MiB buffer)"),
            ));
        }
        if h.housekeeping_interval_ms <= h.heartbeat_interval_ms {
            return Err(invalid(
                "ha.housekeeping_interval_ms",
                h.housekeeping_interval_ms.to_string(),
                &format!(
                    "must be above ha.heartbeat_interval_ms = {} (an idle but live peer would be dropped)",
                    h.heartbeat_interval_ms
                ),
            ));
        }
        if let Err(e) = check_writable(&s.root) {
            return Err(invalid(
                "store.root",
                format!("{:?}", s.root.display().to_string()),
                &e,
            ));
        }
        Ok(())
    }
}

/// `host:port` with a non-empty host and a port number (the host is resolved when used).
fn is_host_port(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

/// Creates the directory if needed and proves a file can be written in it.
fn check_writable(root: &Path) -> Result<(), String> {
    std::fs::create_dir_all(root).map_err(|e| format!("cannot create directory: {e}"))?;
    let probe = root.join(".write-probe");
    std::fs::write(&probe, b"").map_err(|e| format!("directory is not writable: {e}"))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Finds the 1-based line of a byte offset and the dotted key written on that line.
fn locate(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let line_no = text[..offset].matches('\n').count() + 1;
    let mut section = String::new();
    let mut key = String::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if i + 1 > line_no {
            break;
        }
        if trimmed.starts_with('[') {
            section = trimmed
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string();
            key.clear();
        } else if i + 1 == line_no {
            key = trimmed.split('=').next().unwrap_or("").trim().to_string();
        }
    }
    let dotted = match (section.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => section,
        (false, false) => format!("{section}.{key}"),
    };
    (line_no, dotted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BrokerConfig, ConfigError> {
        BrokerConfig::parse(text, Path::new("broker.toml"))
    }

    #[test]
    fn retention_hours_and_percentages_are_checked() {
        let with = |when: &str| RetentionConfig {
            delete_when: when.into(),
            ..RetentionConfig::default()
        };
        let hours = with("04; 16").delete_hours().unwrap();
        assert_eq!(
            (0..24).filter(|h| hours[*h]).collect::<Vec<_>>(),
            vec![4, 16]
        );
        assert_eq!(with("*").delete_hours(), Some([true; 24]));
        for bad in ["24", "", "4pm", "-1"] {
            assert_eq!(with(bad).delete_hours(), None, "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let mut config = BrokerConfig::default();
        config.store.root = dir.path().to_path_buf();
        config.retention.delete_when = "25".into();
        let err = config
            .validate(Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("retention.delete_when"), "{err}");
        config.retention.delete_when = "*".into();
        config.retention.disk_clean_forcibly_percent = 101;
        let err = config
            .validate(Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("retention.disk_clean_forcibly_percent"),
            "{err}"
        );
        config.retention.disk_clean_forcibly_percent = 85;
        assert!(config.validate(Path::new("b.toml")).is_ok());
    }

    #[test]
    fn warm_mapped_file_follows_the_flush_mode_unless_set() {
        let warm = |text: &str| parse(text).unwrap().warm_mapped_file();
        assert!(!warm(""));
        assert!(warm("[flush]\nmode = \"sync\"\n"));
        assert!(!warm(
            "[store]\nwarm_mapped_file = false\n[flush]\nmode = \"sync\"\n"
        ));
        assert!(warm("[store]\nwarm_mapped_file = true\n"));
    }

    #[test]
    fn the_ha_listener_defaults_to_the_next_port_after_server_listen() {
        let ha = |text: &str| parse(text).unwrap().ha_listen().to_string();
        assert_eq!(ha(""), "127.0.0.1:10912");
        assert_eq!(ha("[server]\nlisten = \"0.0.0.0:20911\""), "0.0.0.0:20912");
        assert_eq!(ha("[server]\nlisten = \"127.0.0.1:0\""), "127.0.0.1:0");
        assert_eq!(
            ha("[server]\nlisten = \"0.0.0.0:20911\"\n[ha]\nlisten = \"10.0.0.1:30000\""),
            "10.0.0.1:30000"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut config = parse("[server]\nlisten = \"127.0.0.1:65535\"").unwrap();
        config.store.root = dir.path().to_path_buf();
        let err = config
            .validate(Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ha.listen"), "{err}");
        config.ha.listen = Some("127.0.0.1:1".parse().unwrap());
        assert!(config.validate(Path::new("b.toml")).is_ok());
    }

    #[test]
    fn checked_in_file_equals_defaults() {
        let text = include_str!("../broker.toml");
        assert_eq!(parse(text).unwrap(), BrokerConfig::default());
    }

    #[test]
    fn connection_bounds_are_checked() {
        let checked = |text: &str| {
            let c = parse(text)?;
            c.validate(Path::new("broker.toml")).map(|()| c)
        };
        let msg = checked("[server]\nframe_budget_bytes = 1048576\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("server.frame_budget_bytes = 1048576"), "{msg}");
        assert!(msg.contains("server.max_frame_bytes"), "{msg}");
        for key in [
            "max_connections",
            "max_unread_reply_bytes",
            "frame_read_timeout_ms",
            "idle_timeout_secs",
        ] {
            let msg = checked(&format!("[server]\n{key} = 0\n"))
                .unwrap_err()
                .to_string();
            assert!(msg.contains(&format!("server.{key} = 0")), "{msg}");
        }
        let ok =
            checked("[server]\nframe_budget_bytes = 16777216\nidle_timeout_secs = 1\n").unwrap();
        assert_eq!(ok.server.idle_timeout_secs, 1);
    }

    #[test]
    fn disk_full_marks_are_checked() {
        let checked = |text: &str| {
            let c = parse(text)?;
            c.validate(Path::new("broker.toml")).map(|()| c)
        };
        let c = checked("").unwrap();
        assert_eq!(
            (
                c.store.disk_max_used_ratio_percent,
                c.store.disk_resume_used_ratio_percent,
                c.store.disk_check_interval_ms
            ),
            (90, 85, 1000)
        );
        for (toml, key) in [
            (
                "disk_max_used_ratio_percent = 0",
                "store.disk_max_used_ratio_percent = 0",
            ),
            (
                "disk_max_used_ratio_percent = 101",
                "store.disk_max_used_ratio_percent = 101",
            ),
            (
                "disk_resume_used_ratio_percent = 91",
                "store.disk_resume_used_ratio_percent = 91",
            ),
            (
                "disk_resume_used_ratio_percent = 0",
                "store.disk_resume_used_ratio_percent = 0",
            ),
            (
                "disk_check_interval_ms = 0",
                "store.disk_check_interval_ms = 0",
            ),
        ] {
            let msg = checked(&format!("[store]\n{toml}\n"))
                .unwrap_err()
                .to_string();
            assert!(msg.contains(key), "{msg}");
        }
        let ok = checked(
            "[store]\ndisk_max_used_ratio_percent = 95\ndisk_resume_used_ratio_percent = 95\n",
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn unknown_key_names_the_key_and_line() {
        let err = parse("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("broker.toml:3: server.lisen:"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn wrong_type_names_the_key() {
        let msg = parse("[store]\ncommitlog_file_bytes = \"big\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("store.commitlog_file_bytes"), "{msg}");
    }

    #[test]
    fn port_out_of_range_is_a_parse_error() {
        let msg = parse("[server]\nlisten = \"127.0.0.1:70000\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("server.listen"), "{msg}");
    }

    #[test]
    fn bad_delay_level_is_one_line_naming_the_key() {
        let c = parse("[broker]\nmessage_delay_level = \"1s 2s 3s\"\n").unwrap();
        assert_eq!(c.broker.message_delay_level.max_level(), 3);
        let msg = parse("[broker]\nname = \"b\"\nmessage_delay_level = \"1s 2x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("broker.toml:3: broker.message_delay_level:"),
            "{msg}"
        );
        assert!(msg.contains("level 2") && !msg.contains('\n'), "{msg}");
    }

    #[test]
    fn zero_file_size_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = BrokerConfig::default();
        c.store.root = dir.path().to_path_buf();
        c.store.commitlog_file_bytes = 0;
        let msg = c.validate(Path::new("b.toml")).unwrap_err().to_string();
        assert!(
            msg.starts_with("b.toml: store.commitlog_file_bytes = 0:"),
            "{msg}"
        );
    }

    #[test]
    fn timer_wheel_limits_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = BrokerConfig::default();
        c.store.root = dir.path().to_path_buf();
        c.timer.precision_ms = 5;
        let msg = c.validate(Path::new("b.toml")).unwrap_err().to_string();
        assert!(msg.starts_with("b.toml: timer.precision_ms = 5:"), "{msg}");
        c.timer.precision_ms = 10;
        c.timer.max_delay_sec = 259_200;
        let msg = c.validate(Path::new("b.toml")).unwrap_err().to_string();
        assert!(
            msg.starts_with("b.toml: timer.max_delay_sec = 259200:"),
            "{msg}"
        );
        c.timer.precision_ms = 100;
        assert!(c.validate(Path::new("b.toml")).is_ok());
    }

    #[test]
    fn unwritable_root_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let mut c = BrokerConfig::default();
        c.store.root = file.join("sub");
        assert!(c
            .validate(Path::new("b.toml"))
            .unwrap_err()
            .to_string()
            .contains("store.root"));
    }

    #[test]
    fn cluster_role_and_broker_id_must_agree_and_addresses_are_host_port() {
        let check = |text: &str| {
            let mut c = parse(text).unwrap();
            c.store.root = std::env::temp_dir();
            c.validate(Path::new("broker.toml"))
                .map_err(|e| e.to_string())
        };
        assert!(check("[cluster]\nrole = \"SLAVE\"\nbroker_id = 1\n").is_ok());
        assert!(check("[cluster]\nrole = \"SYNC_MASTER\"\n").is_ok());
        let e = check("[broker]\nregion_id = \"a\\u0002b\"\n").unwrap_err();
        assert!(e.to_string().contains("broker.region_id"), "{e}");
        let e = check("[cluster]\nrole = \"SLAVE\"\n").unwrap_err();
        assert!(e.contains("cluster.broker_id = 0"), "{e}");
        let e = check("[cluster]\nnamesrv_addr = [\"nohost\"]\n").unwrap_err();
        assert!(e.contains("cluster.namesrv_addr"), "{e}");
        let e = check("[ha]\nmaster_addr = \"h:99999\"\n").unwrap_err();
        assert!(e.contains("ha.master_addr"), "{e}");
        assert!(parse("[cluster]\nrole = \"MASTER\"\n").is_err());
    }

    #[test]
    fn ha_timings_must_be_positive_and_housekeeping_above_heartbeat() {
        let check = |text: &str| {
            let mut c = parse(text).unwrap();
            c.store.root = std::env::temp_dir();
            c.validate(Path::new("broker.toml"))
                .map_err(|e| e.to_string())
        };
        assert!(check("[ha]\nslave_timeout_ms = 500\nslave_read_enable = true\n").is_ok());
        let e = check("[ha]\ntransfer_batch_bytes = 0\n").unwrap_err();
        assert!(e.contains("ha.transfer_batch_bytes = 0"), "{e}");
        assert!(check("[ha]\ntransfer_batch_bytes = 4194292\n").is_ok());
        let e = check("[ha]\ntransfer_batch_bytes = 4194293\n").unwrap_err();
        assert!(e.contains("ha.transfer_batch_bytes = 4194293"), "{e}");
        let e = check("[ha]\nheartbeat_interval_ms = 30000\n").unwrap_err();
        assert!(e.contains("ha.housekeeping_interval_ms = 20000"), "{e}");
        let e = check("[ha]\nmaster_broker_addr = \"nohost\"\n").unwrap_err();
        assert!(e.contains("ha.master_broker_addr"), "{e}");
        assert!(
            parse("[ha]\nslave_timeout = 5\n").is_err(),
            "unknown keys are refused"
        );
    }
}
