//! `NameServer`: the name-server role (RocketMQ's `DefaultRequestProcessor` and
//! `ClientRequestProcessor`), so stock clients can point their name server at actormq, and brokers
//! (actormq or Java) can register with it.
//!
//! Owns the route table of every registered broker (`actormq::cluster::route_table`, pure), the KV
//! config (`actormq::cluster::kv_config`, written to `kvConfig.json` before a change is answered)
//! and the ids and peers of its listener's connections. Receives `Request`s for REGISTER_BROKER
//! (103), UNREGISTER_BROKER (104), GET_ROUTEINFO_BY_TOPIC (105), GET_BROKER_CLUSTER_INFO (106),
//! GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206), and the admin codes WIPE_WRITE_PERM_OF_BROKER (205),
//! ADD_WRITE_PERM_OF_BROKER (327), DELETE_TOPIC_IN_NAMESRV (216), GET_TOPICS_BY_CLUSTER (224),
//! GET_SYSTEM_TOPIC_LIST_FROM_NS (304), the KV config and configuration codes of [`kv`] (100-102,
//! 219, 318, 319), and what brokers send between registrations and the member and unit-topic
//! lists, [`broker_codes`] (QUERY_DATA_VERSION 322, BROKER_HEARTBEAT 904, REGISTER_TOPIC_IN_NAMESRV
//! 217, GET_BROKER_MEMBER_GROUP 901, 311-313), from the name-server listener's connections;
//! `TopicsChanged` from the SendProcessor (the broker it runs in, registered as a group that never
//! expires); `ConnectionEvent`s of its listener, which it passes on to `Metrics` after noting them
//! (a closed connection drops every broker registered over it, as Java's `onChannelDestroy`). A
//! timer removes brokers neither re-registered nor heard from by a 322 or 904 within
//! `namesrv.broker_expiry_ms` (or the `heartbeatTimeoutMillis` they registered). Registration
//! bodies may be JSON or compressed (a Java broker's `compressedRegister=true`). Runs on the system
//! arbiter. In name-server-only mode (`actormq-broker --namesrv-only`) there is no local broker.
//!
//! Routes use standard JSON (the broker-id key quoted, `"0"`), what modern clients ask for
//! (`rocketmq-reference.md` §3.5). While topics are auto-created, `TBW102` has a route, which is how
//! a stock producer learns it may send to a topic that does not exist yet.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde::Serialize;
use tracing::{info, warn};

use super::connection::Request;
use super::dispatcher::TopicsChanged;
use super::mailbox::{timer_tick, CountedRecipient};
use super::metrics::{stats, ConnectionEvent};
use super::processor_table::Processor;
use actormq::broker_permission::BrokerPermission;
use actormq::cluster::kv_config::KvConfig;
use actormq::cluster::namesrv_config::NamesrvProperties;
use actormq::cluster::register::{
    parse_register_request, parse_unregister_request, registered_topics, BrokerRegistration,
};
use actormq::cluster::route_table::RouteTable;
use actormq::config::BrokerConfig;
use actormq::protocol::header::{ExtReader, HeaderError};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::now_ms;
use actormq::topic::TopicTable;

mod broker_codes;
mod kv;

/// The broker this name-server role runs in.
pub struct LocalBroker {
    pub registration: BrokerRegistration,
    pub auto_create_topic: bool,
    pub default_queue_nums: i32,
    /// `brokerPermission`, kept current by `TopicsChanged`: masks the registered perms.
    pub permission: BrokerPermission,
}

pub struct NameServer {
    table: RouteTable,
    local: Option<LocalBroker>,
    /// `[namesrv] broker_expiry_ms`: the timeout of a registration that names none.
    expiry_ms: u64,
    scan_interval: Duration,
    /// Open connections of the name-server listener: id -> peer.
    connections: HashMap<u64, SocketAddr>,
    /// Where connection events go on to.
    metrics: CountedRecipient<ConnectionEvent>,
    /// namespace -> key -> value, and its file.
    kv: KvConfig,
    /// `orderMessageEnable`: routes carry `orderTopicConf`. UPDATE_NAMESRV_CONFIG changes it.
    order_message_enable: bool,
    /// GET_NAMESRV_CONFIG's values (`order_message_enable` taken from the field above).
    properties: NamesrvProperties,
}

impl NameServer {
    /// `local` is the broker this role runs in (`None`: name-server-only), registered with its
    /// current `topics`; `kv` the KV config loaded from its file.
    pub fn new(
        local: Option<(LocalBroker, Arc<TopicTable>)>,
        config: &BrokerConfig,
        kv: KvConfig,
        metrics: CountedRecipient<ConnectionEvent>,
    ) -> Self {
        let namesrv = &config.namesrv;
        let mut ns = NameServer {
            table: RouteTable::default(),
            local: None,
            expiry_ms: namesrv.broker_expiry_ms,
            scan_interval: Duration::from_millis(namesrv.scan_interval_ms),
            connections: HashMap::new(),
            metrics,
            kv,
            order_message_enable: namesrv.order_message_enable,
            properties: NamesrvProperties::of(config),
        };
        if let Some((local, topics)) = local {
            ns.local = Some(local);
            ns.register_local(&topics);
        }
        ns
    }

    /// (Re-)registers the local broker; it never expires.
    fn register_local(&mut self, topics: &TopicTable) {
        let Some(local) = &self.local else { return };
        let topics = registered_topics(
            topics,
            local.auto_create_topic,
            local.default_queue_nums,
            local.permission,
        );
        let request = local.registration.as_request(topics, Some(u64::MAX));
        if self
            .table
            .register(request, None, u64::MAX, now())
            .is_none()
        {
            warn!("the local broker's registration was refused (a first one with a single topic)");
        }
    }

    fn answer(&mut self, req: &Request) -> RemotingCommand {
        let cmd = &req.cmd;
        match cmd.code {
            request_code::REGISTER_BROKER => self.register(cmd, req.peer),
            request_code::UNREGISTER_BROKER => match parse_unregister_request(cmd) {
                Ok(r) => {
                    if let Some(gone) = self.table.unregister(&r) {
                        info!(cluster = %gone.cluster, broker = %gone.broker_addr, name = %r.broker_name, id = r.broker_id, "broker unregistered");
                    }
                    cmd.response_to(response_code::SUCCESS, None)
                }
                Err(e) => cmd.response_to(response_code::SYSTEM_ERROR, Some(e.to_string())),
            },
            request_code::GET_ROUTEINFO_BY_TOPIC => {
                let topic = match ExtReader::for_request(cmd).str("topic") {
                    Ok(t) => t,
                    Err(e) => return cmd.response_to(e.response_code(), Some(e.to_string())),
                };
                match self.table.route(topic) {
                    Some(mut route) => {
                        route.order_topic_conf = self.order_topic_conf(topic);
                        ok(cmd, &route)
                    }
                    None => {
                        let remark =
                            format!("No topic route info in name server for the topic: {topic}");
                        cmd.response_to(response_code::TOPIC_NOT_EXIST, Some(remark))
                    }
                }
            }
            request_code::GET_BROKER_CLUSTER_INFO => ok(cmd, &self.table.cluster_info()),
            request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => ok(
                cmd,
                &serde_json::json!({ "topicList": self.table.topic_list() }),
            ),
            request_code::PUT_KV_CONFIG
            | request_code::GET_KV_CONFIG
            | request_code::DELETE_KV_CONFIG
            | request_code::GET_KVLIST_BY_NAMESPACE
            | request_code::UPDATE_NAMESRV_CONFIG
            | request_code::GET_NAMESRV_CONFIG => self.kv_and_config(req),
            request_code::QUERY_DATA_VERSION
            | request_code::BROKER_HEARTBEAT
            | request_code::REGISTER_TOPIC_IN_NAMESRV
            | request_code::GET_BROKER_MEMBER_GROUP
            | request_code::GET_UNIT_TOPIC_LIST
            | request_code::GET_HAS_UNIT_SUB_TOPIC_LIST
            | request_code::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => self
                .broker_codes(req)
                .unwrap_or_else(|e| cmd.response_to(e.response_code(), Some(e.to_string()))),
            _ => self
                .admin(req)
                .unwrap_or_else(|e| cmd.response_to(e.response_code(), Some(e.to_string()))),
        }
    }

    /// The admin codes: write permission of a broker group, topic deletion, topic lists.
    fn admin(&mut self, req: &Request) -> Result<RemotingCommand, HeaderError> {
        let cmd = &req.cmd;
        let h = ExtReader::for_request(cmd);
        Ok(match cmd.code {
            request_code::WIPE_WRITE_PERM_OF_BROKER | request_code::ADD_WRITE_PERM_OF_BROKER => {
                let broker_name = h.str("brokerName")?;
                let wipe = cmd.code == request_code::WIPE_WRITE_PERM_OF_BROKER;
                let count = self.table.set_write_perm(broker_name, wipe);
                info!(broker_name, count, peer = %req.peer,
                    "{} write permission of the broker's topics", if wipe { "wiped" } else { "gave back" });
                let key = if wipe {
                    "wipeTopicCount"
                } else {
                    "addTopicCount"
                };
                cmd.response_to(response_code::SUCCESS, None)
                    .with_ext(key, count)
            }
            request_code::DELETE_TOPIC_IN_NAMESRV => {
                let topic = h.str("topic")?;
                let cluster = h.opt_str("clusterName").filter(|c| !c.is_empty());
                if self.table.delete_topic(topic, cluster) {
                    info!(topic, cluster, peer = %req.peer, "topic route deleted");
                }
                cmd.response_to(response_code::SUCCESS, None)
            }
            request_code::GET_TOPICS_BY_CLUSTER => {
                let topics = self.table.topics_by_cluster(h.str("cluster")?);
                ok(cmd, &serde_json::json!({ "topicList": topics }))
            }
            _ => {
                let (names, addr) = self.table.system_topic_list();
                let mut body = serde_json::json!({ "topicList": names });
                if let Some(addr) = addr {
                    body["brokerAddr"] = addr.into();
                }
                ok(cmd, &body)
            }
        })
    }

    /// REGISTER_BROKER: SUCCESS with the master's addresses for a slave, and the order-topic KV
    /// namespace as its body when there is one; SYSTEM_ERROR for a bad header or body, a CRC
    /// mismatch, or a refused first registration (Java's remarks).
    fn register(&mut self, cmd: &RemotingCommand, peer: SocketAddr) -> RemotingCommand {
        let r = match parse_register_request(cmd) {
            Ok(r) => r,
            Err(e) => {
                warn!(%peer, error = %e, "REGISTER_BROKER refused");
                return cmd.response_to(response_code::SYSTEM_ERROR, Some(e.to_string()));
            }
        };
        let new = !self.table.is_live(&r.cluster, &r.broker_addr);
        let (name, id, addr, ha) = (
            r.broker_name.clone(),
            r.broker_id,
            r.broker_addr.clone(),
            r.ha_server_addr.clone(),
        );
        let Some(master) = self.table.register(r, Some(peer), self.expiry_ms, now()) else {
            return cmd.response_to(
                response_code::SYSTEM_ERROR,
                Some("register broker failed".into()),
            );
        };
        if new {
            info!(name = %name, id, broker = %addr, ha_server = %ha, %peer, "new broker registered");
        }
        let mut resp = cmd.response_to(response_code::SUCCESS, None);
        if let Some(m) = master.master_addr {
            resp = resp.with_ext("masterAddr", m);
        }
        if let Some(h) = master.ha_server_addr {
            resp = resp.with_ext("haServerAddr", h);
        }
        if let Some(body) = self.order_topic_table() {
            resp = resp.with_body(body.into());
        }
        resp
    }
}

/// Wall-clock milliseconds, as the route table counts them.
fn now() -> u64 {
    u64::try_from(now_ms()).unwrap_or(0)
}

/// SUCCESS with `body` as JSON.
fn ok(cmd: &RemotingCommand, body: &impl Serialize) -> RemotingCommand {
    let bytes = serde_json::to_vec(body).expect("plain data serializes");
    cmd.response_to(response_code::SUCCESS, None)
        .with_body(bytes.into())
}

impl Actor for NameServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.scan_interval, |act, _| {
            let _tick = timer_tick::<NameServer>();
            for gone in act.table.expire(now()) {
                warn!(cluster = %gone.cluster, broker = %gone.broker_addr, "The broker channel expired");
            }
        });
    }
}

/// The request codes connections hand this actor.
impl Processor for NameServer {
    const CODES: &'static [i32] = &[
        request_code::REGISTER_BROKER,
        request_code::UNREGISTER_BROKER,
        request_code::GET_ROUTEINFO_BY_TOPIC,
        request_code::GET_BROKER_CLUSTER_INFO,
        request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        request_code::WIPE_WRITE_PERM_OF_BROKER,
        request_code::ADD_WRITE_PERM_OF_BROKER,
        request_code::DELETE_TOPIC_IN_NAMESRV,
        request_code::GET_TOPICS_BY_CLUSTER,
        request_code::GET_SYSTEM_TOPIC_LIST_FROM_NS,
        request_code::PUT_KV_CONFIG,
        request_code::GET_KV_CONFIG,
        request_code::DELETE_KV_CONFIG,
        request_code::GET_KVLIST_BY_NAMESPACE,
        request_code::UPDATE_NAMESRV_CONFIG,
        request_code::GET_NAMESRV_CONFIG,
        request_code::QUERY_DATA_VERSION,
        request_code::BROKER_HEARTBEAT,
        request_code::REGISTER_TOPIC_IN_NAMESRV,
        request_code::GET_BROKER_MEMBER_GROUP,
        request_code::GET_UNIT_TOPIC_LIST,
        request_code::GET_HAS_UNIT_SUB_TOPIC_LIST,
        request_code::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
    ];
}

impl Handler<Request> for NameServer {
    type Result = ();

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) {
        let _timer = stats().name_server.handling();
        let response = self.answer(&req);
        req.reply.send(response);
    }
}

impl Handler<TopicsChanged> for NameServer {
    type Result = ();

    fn handle(&mut self, changed: TopicsChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().name_server.handling();
        let TopicsChanged { topics, permission } = changed;
        if let Some(local) = &mut self.local {
            local.permission = permission;
        }
        self.register_local(&topics);
    }
}

/// The listener's connection events: a closed connection drops what was registered over it
/// (Java's `BrokerHousekeepingService.onChannelClose`); every event goes on to `Metrics`.
impl Handler<ConnectionEvent> for NameServer {
    type Result = ();

    fn handle(&mut self, event: ConnectionEvent, _ctx: &mut Context<Self>) {
        let _timer = stats().name_server.handling();
        match &event {
            ConnectionEvent::Opened { id, peer, .. } => {
                self.connections.insert(*id, *peer);
            }
            ConnectionEvent::Closed { id } => {
                if let Some(peer) = self.connections.remove(id) {
                    for gone in self.table.channel_closed(peer) {
                        warn!(cluster = %gone.cluster, broker = %gone.broker_addr, %peer, "broker connection closed; its registration is removed");
                    }
                }
            }
        }
        self.metrics.do_send(event);
    }
}
