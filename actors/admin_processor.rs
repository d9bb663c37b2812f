//! `AdminProcessor`: broker-wide admin requests: `GET_BROKER_CONFIG` (26, the effective config as
//! properties text), `UPDATE_BROKER_CONFIG` (25, `brokerPermission` only: [`broker_config`]) and
//! `GET_BROKER_RUNTIME_INFO` (28): the KVTable (`{"table":{...}}`) RocketMQ admin tools read, with RocketMQ's keys where actormq has the figure,
//! and every actor's mailbox figures added (`mailbox.<actor>.<field>`, plus the whole list as JSON
//! under `actormq.mailboxes` for `actormq stats`; with the extField `perConnection=true`, each open
//! connection's figures under `actormq.connections`).
//!
//! RocketMQ's keys as Java formats them (`rocketmq-reference-2.md` §7.1): the message rates and
//! day totals of the `Metrics` actor's snapshot (`putTps`, `getTransferredTps` and 4.9's
//! `getTransferedTps`, `msgPutTotalTodayNow`, ...: `actormq::rates`); the send and pull "thread
//! pools" are the `send_processor` and `pull_processor` mailboxes (`*ThreadPoolQueueSize`,
//! `*Capacity`, and `*HeadWaitTimeMills` estimated from depth and mean handling time:
//! `MailboxSnapshot::head_wait_estimate_secs`); `pageCacheLockTimeMills` is always 0 (the writer is
//! an actor and holds no lock); `commitLogDiskRatio` is the disk's used ratio as Retention last
//! measured it; `commitLogMinOffset` and `earliestMessageTimeStamp` (the first record's store time,
//! -1 with none, as Java) come from the `Dispatcher`, which holds the commit-log file table.
//!
//! `GET_SYSTEM_TOPIC_LIST_FROM_BROKER` (305): Java's system topic set
//! (`actormq::topic::SYSTEM_TOPIC_SET`), as `mqadmin exportMetadata` asks for it.
//!
//! `VIEW_BROKER_STATS_DATA` (315, `mqadmin statsAll`): one per-topic or per-group statistic's
//! minute, hour and day windows, which the `Metrics` actor keeps (`admin_processor/view_stats.rs`).
//!
//! `GET_BROKER_HA_STATUS` (907, `mqadmin haStatus`): the `HaServer`'s or the `HaClient`'s
//! `HARuntimeInfo` (`admin_processor/ha_status.rs`).
//!
//! `DELETE_EXPIRED_COMMITLOG` (329, `mqadmin deleteExpiredCommitLog`): the `Retention` actor
//! deletes expired commit-log files at any hour for its next checks
//! (`admin_processor/delete_expired.rs`).
//!
//! `CLEAN_EXPIRED_CONSUMEQUEUE` (306, `mqadmin cleanExpiredCQ`) and `CLEAN_UNUSED_TOPIC` (316,
//! `mqadmin cleanUnusedTopic`): the `Dispatcher` cleans its consume queues
//! (`admin_processor/clean_queues.rs`).
//!
//! Owns nothing; receives `Request`s from connections; asks the `Metrics` actor for a snapshot,
//! the `Scheduler` for the delay levels' progress (`scheduleMessageOffset_<level>`, as Java) and
//! the `Dispatcher` for the commit log's bounds (`AskStoreBounds`).
//! Runs on the system arbiter.

use std::collections::BTreeMap;

use actix::prelude::*;
use serde::Serialize;

use super::connection::Request;
use super::dispatcher::{AskStoreBounds, Dispatcher, StoreBounds};
use super::mailbox::{CountedRecipient, Mailbox};
use super::metrics::{stats, Metrics, TakeSnapshot};
use super::processor_table::Processor;
use super::retention::DeleteExpiredManually;
use super::scheduler::{DelayProgress, Scheduler};
use super::send_processor::SendProcessor;
use actormq::broker_permission::BrokerPermission;
use actormq::protocol::header::ExtReader;
use actormq::protocol::{request_code, response_code};
use actormq::runtime_info::{store_runtime_info, StoreFigures};

mod broker_config;
mod clean_queues;
mod delete_expired;
mod ha_status;
mod view_stats;

pub use ha_status::{AskHaStatus, HaStatusFrom};

pub struct AdminProcessor {
    metrics: Mailbox<Metrics>,
    /// Asked for the delay levels' progress (`scheduleMessageOffset_<level>`).
    scheduler: Mailbox<Scheduler>,
    /// Asked for the commit log's first offset and first store time (`AskStoreBounds`).
    dispatcher: Option<Mailbox<Dispatcher>>,
    /// `GET_BROKER_CONFIG`'s body but `brokerPermission`, rendered once at start (the rest of the
    /// config does not change at runtime).
    broker_properties: String,
    /// `brokerPermission` as this actor last set it (`UPDATE_BROKER_CONFIG`).
    permission: BrokerPermission,
    /// Applies a new permission (it owns what is registered).
    send: Option<Mailbox<SendProcessor>>,
    /// The configuration file the broker started with, where a new permission is written back.
    config_file: Option<std::path::PathBuf>,
    /// Fixed runtime-info entries: role, id, names, advertised addresses.
    cluster_info: Vec<(String, String)>,
    /// Answers `GET_BROKER_HA_STATUS`: the `HaServer` or the `HaClient` (`HaStatusFrom`).
    ha_status: Option<CountedRecipient<AskHaStatus>>,
    /// Deletes expired commit-log files when asked (`DELETE_EXPIRED_COMMITLOG`).
    retention: Option<CountedRecipient<DeleteExpiredManually>>,
}

impl AdminProcessor {
    pub fn new(
        metrics: Mailbox<Metrics>,
        scheduler: Mailbox<Scheduler>,
        broker_properties: String,
        cluster_info: Vec<(String, String)>,
    ) -> Self {
        AdminProcessor {
            metrics,
            scheduler,
            broker_properties,
            permission: BrokerPermission::default(),
            send: None,
            config_file: None,
            cluster_info,
            dispatcher: None,
            ha_status: None,
            retention: None,
        }
    }

    /// The SendProcessor, which applies `UPDATE_BROKER_CONFIG`'s permission; `permission` the one
    /// at start.
    pub fn with_send(mut self, send: Mailbox<SendProcessor>, permission: BrokerPermission) -> Self {
        self.send = Some(send);
        self.permission = permission;
        self
    }

    /// The file `UPDATE_BROKER_CONFIG` writes a new permission back to.
    pub fn with_config_file(mut self, path: std::path::PathBuf) -> Self {
        self.config_file = Some(path);
        self
    }

    /// The `Retention` actor, which deletes expired commit-log files on `DELETE_EXPIRED_COMMITLOG`.
    pub fn with_retention(mut self, retention: CountedRecipient<DeleteExpiredManually>) -> Self {
        self.retention = Some(retention);
        self
    }

    /// The Dispatcher, which answers `commitLogMinOffset` and `earliestMessageTimeStamp`.
    pub fn with_dispatcher(mut self, dispatcher: Mailbox<Dispatcher>) -> Self {
        self.dispatcher = Some(dispatcher);
        self
    }
}

impl Actor for AdminProcessor {
    type Context = Context<Self>;
}

/// RocketMQ's `KVTable` body.
#[derive(Serialize)]
struct KvTable {
    table: BTreeMap<String, String>,
}

/// The request codes connections hand this actor.
impl Processor for AdminProcessor {
    const CODES: &'static [i32] = &[
        request_code::GET_BROKER_RUNTIME_INFO,
        request_code::GET_BROKER_CONFIG,
        request_code::UPDATE_BROKER_CONFIG,
        request_code::VIEW_BROKER_STATS_DATA,
        request_code::GET_BROKER_HA_STATUS,
        request_code::GET_BROKER_EPOCH_CACHE,
        request_code::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
        request_code::DELETE_EXPIRED_COMMITLOG,
        request_code::CLEAN_EXPIRED_CONSUMEQUEUE,
        request_code::CLEAN_UNUSED_TOPIC,
    ];
}

impl Handler<Request> for AdminProcessor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().admin_processor.handling();
        if req.cmd.code == request_code::VIEW_BROKER_STATS_DATA {
            return view_stats::answer(self.metrics.clone(), req);
        }
        if req.cmd.code == request_code::GET_BROKER_HA_STATUS {
            return ha_status::answer(self.ha_status.clone(), req);
        }
        if [
            request_code::CLEAN_EXPIRED_CONSUMEQUEUE,
            request_code::CLEAN_UNUSED_TOPIC,
        ]
        .contains(&req.cmd.code)
        {
            return clean_queues::answer(self.dispatcher.clone(), req);
        }
        if req.cmd.code == request_code::DELETE_EXPIRED_COMMITLOG {
            delete_expired::answer(self.retention.as_ref(), req);
            return Box::pin(async {});
        }
        if req.cmd.code == request_code::GET_SYSTEM_TOPIC_LIST_FROM_BROKER {
            // Java's `TopicList` with only `topicList` set (a null `brokerAddr` is left out).
            let body = serde_json::json!({ "topicList": actormq::topic::SYSTEM_TOPIC_SET });
            let resp = req
                .cmd
                .response_to(response_code::SUCCESS, None)
                .with_body(body.to_string().into_bytes().into());
            req.reply.send(resp);
            return Box::pin(async {});
        }
        if req.cmd.code == request_code::GET_BROKER_EPOCH_CACHE {
            // Java's answer outside controller mode (epochs belong to DLedger-controller
            // replication; actormq replicates by the classic HA protocol only).
            let remark = "this request only for controllerMode ".to_string();
            req.reply.send(
                req.cmd
                    .response_to(response_code::SYSTEM_ERROR, Some(remark)),
            );
            return Box::pin(async {});
        }
        if req.cmd.code == request_code::GET_BROKER_CONFIG {
            req.reply.send(self.broker_config(&req.cmd));
            return Box::pin(async {});
        }
        if req.cmd.code == request_code::UPDATE_BROKER_CONFIG {
            return self.update_broker_config(req);
        }
        let (metrics, scheduler) = (self.metrics.clone(), self.scheduler.clone());
        let dispatcher = self.dispatcher.clone();
        let cluster_info = self.cluster_info.clone();
        Box::pin(async move {
            let per_connection = ExtReader::for_request(&req.cmd)
                .opt_java_bool("perConnection")
                .unwrap_or(false);
            let Ok(snap) = metrics.send(TakeSnapshot { per_connection }).await else {
                let resp = req.cmd.response_to(
                    response_code::SYSTEM_ERROR,
                    Some("metrics unavailable".into()),
                );
                req.reply.send(resp);
                return;
            };
            let mut table: BTreeMap<String, String> = cluster_info.into_iter().collect();
            // Java: "delayOffset,maxOffset" per level that has had a message.
            for (level, offset, max) in scheduler.send(DelayProgress).await.unwrap_or_default() {
                let key = format!("scheduleMessageOffset_{level}");
                table.insert(key, format!("{offset},{max}"));
            }
            let max_offset = snap.gauge("commitlog_max_offset_bytes") as u64;
            table.insert("commitLogMaxOffset".to_string(), max_offset.to_string());
            let bounds = match &dispatcher {
                Some(d) => d.send(AskStoreBounds).await.unwrap_or_default(),
                None => StoreBounds::default(),
            };
            table.insert("commitLogMinOffset".into(), bounds.min_offset.to_string());
            // clusterList parses it as a number outside any try: always one (-1: no message).
            let earliest = bounds.earliest_store_time.to_string();
            table.insert("earliestMessageTimeStamp".into(), earliest);
            table.insert(
                "brokerVersionDesc".to_string(),
                concat!("actormq ", env!("CARGO_PKG_VERSION")).to_string(),
            );
            table.insert(
                "runtime".to_string(),
                format!("{:.0}s", snap.gauge("uptime_seconds")),
            );
            for (key, value) in snap.flow.runtime_info() {
                table.insert(key.to_string(), value);
            }
            // The writer is the only one touching the mapped file, and without a lock.
            table.insert("pageCacheLockTimeMills".into(), "0".into());
            // A ratio (0..1), as Java's `getDiskPartitionSpaceUsedPercent`; always a number:
            // clusterList parses it outside any try.
            let disk = snap.gauge("disk_used_ratio");
            table.insert("commitLogDiskRatio".into(), format!("{disk:?}"));
            let handle_max = |actor: &str| {
                let m = snap.mailboxes.iter().find(|m| m.actor == actor);
                m.map_or(0.0, |m| m.handle_seconds_max)
            };
            let uptime_ms = (snap.gauge("uptime_seconds") * 1000.0) as i64;
            let figures = StoreFigures {
                boot_unix_ms: actormq::store::now_ms() - uptime_ms,
                put_max_secs: handle_max("commit_log_writer"),
                get_max_secs: handle_max("dispatcher"),
                written: max_offset,
                flushed: snap.gauge("commitlog_flushed_offset_bytes") as u64,
                dispatched: bounds.dispatched,
                disk: bounds.disk,
                disk_used_ratio: disk,
            };
            for (key, value) in store_runtime_info(&figures) {
                table.insert(key.to_string(), value);
            }
            for m in &snap.mailboxes {
                // The pull processor also serves the queries by key and id (Java's query pool).
                let pools: &[&str] = match m.actor.as_str() {
                    "send_processor" => &["send"],
                    "pull_processor" => &["pull", "query"],
                    _ => &[],
                };
                for pool in pools {
                    let wait_ms = (m.head_wait_estimate_secs() * 1000.0).round() as u64;
                    for (field, value) in [
                        ("QueueSize", m.depth.to_string()),
                        ("QueueCapacity", m.capacity.to_string()),
                        ("QueueHeadWaitTimeMills", wait_ms.to_string()),
                    ] {
                        table.insert(format!("{pool}ThreadPool{field}"), value);
                    }
                }
                if m.actor == "commit_log_writer" {
                    table.insert("putMessageTimesTotal".into(), m.handled.to_string());
                }
                let prefix = format!("mailbox.{}", m.actor);
                for (field, value) in [
                    ("capacity", m.capacity.to_string()),
                    ("depth", m.depth.to_string()),
                    ("peakDepth", m.peak_depth.to_string()),
                    ("handled", m.handled.to_string()),
                    ("rejected", m.rejected.to_string()),
                    (
                        "handleP50Micros",
                        format!("{:.0}", m.quantile_secs(0.5) * 1e6),
                    ),
                    (
                        "handleP99Micros",
                        format!("{:.0}", m.quantile_secs(0.99) * 1e6),
                    ),
                    (
                        "handleMaxMicros",
                        format!("{:.0}", m.handle_seconds_max * 1e6),
                    ),
                ] {
                    table.insert(format!("{prefix}.{field}"), value);
                }
            }
            // Connection bounds and rejected requests (every labelled series, as `/metrics`).
            table.insert(
                "actormq.gauges".into(),
                serde_json::to_string(&snap.gauges).expect("gauges serialize"),
            );
            table.insert(
                "actormq.mailboxes".into(),
                serde_json::to_string(&snap.mailboxes).expect("snapshots serialize"),
            );
            if per_connection {
                table.insert(
                    "actormq.connections".into(),
                    serde_json::to_string(&snap.connections).expect("snapshots serialize"),
                );
            }
            let body = serde_json::to_vec(&KvTable { table }).expect("kv table serializes");
            let resp = req
                .cmd
                .response_to(response_code::SUCCESS, None)
                .with_body(body.into());
            req.reply.send(resp);
        })
    }
}
