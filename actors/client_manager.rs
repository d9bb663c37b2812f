//! `ClientManager`: the producers and consumers that announce themselves (RocketMQ's
//! `ClientManageProcessor` with the producer/consumer managers behind it).
//!
//! Owns, per group, the client ids seen in `HEART_BEAT` (34) and when; forgets them on
//! `UNREGISTER_CLIENT` (35) or 120 s after their last heartbeat (RocketMQ's channel expiry), and
//! answers `GET_CONSUMER_LIST_BY_GROUP` (38), which consumers use to rebalance queues among
//! themselves, and keeps each producer's connection so a transaction check (CHECK_TRANSACTION_STATE)
//! can be pushed to its group ([`PushToProducer`]). For each consumer group it asks the SendProcessor to create the group (if unknown) and
//! `%RETRY%<group>` (the group's `retryQueueNums` queues), as RocketMQ's heartbeat does. Receives `Request`s from connections; runs on the system arbiter.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::Deserialize;
use serde_json::json;
use tracing::info;

use super::connection::{Connection, Push, ReplyTo, Request};
use super::mailbox::{CountedRecipient, Mailbox};
use super::metrics::stats;
use super::processor_table::Processor;
use super::send_processor::EnsureRetryTopic;
use actormq::protocol::{request_code, response_code, RemotingCommand};

/// A client is forgotten this long after its last heartbeat.
const CLIENT_EXPIRY: Duration = Duration::from_secs(120);

pub struct ClientManager {
    /// group -> client id -> last heartbeat.
    producers: HashMap<String, BTreeMap<String, Instant>>,
    consumers: HashMap<String, BTreeMap<String, Instant>>,
    /// Producer client id -> the connection of its last heartbeat: where a transaction check
    /// for its group goes ([`PushToProducer`]).
    producer_connections: HashMap<String, Mailbox<Connection>>,
    /// Round robin over a group's producers for checks (Java's `getAvailableChannel`).
    pushes: usize,
    topics: CountedRecipient<EnsureRetryTopic>,
}

impl ClientManager {
    pub fn new(topics: CountedRecipient<EnsureRetryTopic>) -> Self {
        ClientManager {
            producers: HashMap::new(),
            consumers: HashMap::new(),
            producer_connections: HashMap::new(),
            pushes: 0,
            topics,
        }
    }

    fn heartbeat(&mut self, cmd: &RemotingCommand, reply: &ReplyTo) -> RemotingCommand {
        let data: HeartbeatData = match serde_json::from_slice(&cmd.body) {
            Ok(d) => d,
            Err(e) => {
                let remark = format!("bad heartbeat body: {e}");
                return cmd.response_to(response_code::INVALID_PARAMETER, Some(remark));
            }
        };
        let now = Instant::now();
        if !data.producer_data_set.is_empty() {
            let connection = reply.connection();
            self.producer_connections
                .insert(data.client_id.clone(), connection);
        }
        for p in &data.producer_data_set {
            self.producers
                .entry(p.group_name.clone())
                .or_default()
                .insert(data.client_id.clone(), now);
        }
        for c in &data.consumer_data_set {
            let clients = self.consumers.entry(c.group_name.clone()).or_default();
            if clients.insert(data.client_id.clone(), now).is_none() {
                info!(group = %c.group_name, client = %data.client_id, "consumer registered");
            }
            self.topics.do_send(EnsureRetryTopic {
                group: c.group_name.clone(),
                unit_mode: c.unit_mode,
            });
        }
        cmd.response_to(response_code::SUCCESS, None)
    }

    fn unregister(&mut self, cmd: &RemotingCommand) -> RemotingCommand {
        let Some(client) = cmd.ext("clientID") else {
            return cmd.response_to(
                response_code::INVALID_PARAMETER,
                Some("the header field clientID is required".into()),
            );
        };
        for (key, table) in [
            ("producerGroup", &mut self.producers),
            ("consumerGroup", &mut self.consumers),
        ] {
            if let Some(group) = cmd.ext(key) {
                if let Some(clients) = table.get_mut(group) {
                    clients.remove(client);
                }
            }
        }
        cmd.response_to(response_code::SUCCESS, None)
    }

    fn consumer_list(&self, cmd: &RemotingCommand) -> RemotingCommand {
        let group = cmd.ext("consumerGroup").unwrap_or("");
        match self.consumers.get(group).filter(|c| !c.is_empty()) {
            Some(clients) => {
                let ids: Vec<&String> = clients.keys().collect();
                let body = serde_json::to_vec(&json!({ "consumerIdList": ids })).expect("json");
                cmd.response_to(response_code::SUCCESS, None)
                    .with_body(body.into())
            }
            None => cmd.response_to(
                response_code::SYSTEM_ERROR,
                Some(format!("no consumer for this group, {group}")),
            ),
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        for table in [&mut self.producers, &mut self.consumers] {
            for clients in table.values_mut() {
                clients.retain(|_, seen| now.duration_since(*seen) < CLIENT_EXPIRY);
            }
            table.retain(|_, clients| !clients.is_empty());
        }
        let producers = &self.producers;
        self.producer_connections.retain(|client, connection| {
            connection.connected() && producers.values().any(|c| c.contains_key(client))
        });
    }
}

/// RocketMQ's `HeartbeatData` (the parts actormq uses; unknown fields are ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeartbeatData {
    #[serde(rename = "clientID")]
    client_id: String,
    #[serde(default)]
    producer_data_set: Vec<GroupData>,
    #[serde(default)]
    consumer_data_set: Vec<GroupData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupData {
    group_name: String,
    /// Consumers only: a unit-mode consumer's retry topic gets the unit-sub topic flag.
    #[serde(default)]
    unit_mode: bool,
}

impl Actor for ClientManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_secs(10), |act, _| act.expire());
    }
}

/// The request codes connections hand this actor.
impl Processor for ClientManager {
    const CODES: &'static [i32] = &[
        request_code::HEART_BEAT,
        request_code::UNREGISTER_CLIENT,
        request_code::GET_CONSUMER_LIST_BY_GROUP,
    ];
}

impl Handler<Request> for ClientManager {
    type Result = ();

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) {
        let _timer = stats().client_manager.handling();
        let response = match req.cmd.code {
            request_code::HEART_BEAT => self.heartbeat(&req.cmd, &req.reply),
            request_code::UNREGISTER_CLIENT => self.unregister(&req.cmd),
            _ => self.consumer_list(&req.cmd),
        };
        req.reply.send(response);
    }
}

/// Sends `cmd` (a broker request, oneway) to one live producer of `group`, round robin; false when
/// the group has none connected (Java then only warns).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct PushToProducer {
    pub group: String,
    pub cmd: RemotingCommand,
}

impl Handler<PushToProducer> for ClientManager {
    type Result = bool;

    fn handle(&mut self, msg: PushToProducer, _ctx: &mut Context<Self>) -> bool {
        let _timer = stats().client_manager.handling();
        let Some(clients) = self.producers.get(&msg.group) else {
            return false;
        };
        let live: Vec<&Mailbox<Connection>> = clients
            .keys()
            .filter_map(|id| self.producer_connections.get(id))
            .filter(|c| c.connected())
            .collect();
        if live.is_empty() {
            return false;
        }
        self.pushes = self.pushes.wrapping_add(1);
        live[self.pushes % live.len()].do_send(Push(msg.cmd));
        true
    }
}
