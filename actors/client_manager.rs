//! `ClientManager`: the producers and consumers that announce themselves (RocketMQ's
//! `ClientManageProcessor`, with its `ConsumerManager` and `ProducerManager` behind it).
//!
//! Owns a [`ClientRegistry`] (`src/client_registry.rs`: per group, each client's connection, peer
//! address, language, version and last heartbeat; per consumer group its consume type, message
//! model, where to start and subscriptions). Receives `Request`s from connections for `HEART_BEAT`
//! (34), `UNREGISTER_CLIENT` (35), `GET_CONSUMER_LIST_BY_GROUP` (38, what consumers rebalance
//! with), `GET_CONSUMER_CONNECTION_LIST` (203), `GET_PRODUCER_CONNECTION_LIST` (204) and
//! `QUERY_TOPIC_CONSUME_BY_WHO` (300: the groups online that subscribe to a topic and those with
//! offsets on it, which it asks the `OffsetProcessor` for with [`GroupsWithOffsets`]; answered once
//! that answer is in, without pausing this actor), GET_CONSUMER_RUNNING_INFO (307) and
//! CONSUME_MESSAGE_DIRECTLY (309), forwarded to the consumer named (`forward.rs`),
//! INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223, each consumer of a group asked for its offsets,
//! `consumer_status.rs`), GET_ALL_PRODUCER_INFO (328) and QUERY_SUBSCRIPTION_BY_CONSUMER (345,
//! `admin.rs`), and
//! [`PushToProducer`] from the `TransactionChecker`, and [`AskSubscriptions`] from the
//! `OffsetProcessor` (GET_BROKER_CONSUME_STATS and QUERY_CONSUME_QUEUE read the online groups'
//! subscriptions; it tells that actor its address on start). Sends `EnsureRetryTopic` to the
//! SendProcessor for each consumer group (the group and `%RETRY%<group>` are created, as
//! RocketMQ's heartbeat does, and the heartbeat is answered from there once they exist), and
//! `Push` to connections: a transaction check to one producer, or `NOTIFY_CONSUMER_IDS_CHANGED`
//! (40) to every live consumer of a group whose members changed, so they rebalance at once
//! instead of on their 20 s timer (not for joins and leaves of a group that turned it off,
//! [`QuietGroups`]). A sweep every [`SWEEP_INTERVAL`] forgets
//! clients whose connection closed (Java's channel-close event) or that stopped heartbeating for
//! 120 s. Runs on the system arbiter; the state is the registry's, this file only routes.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

mod admin;
mod consumer_status;
mod forward;

use super::connection::{Connection, Push, Request};
use super::dispatcher::Dispatcher;
use super::mailbox::{timer_tick, CountedRecipient, Mailbox};
use super::metrics::stats;
use super::offset_processor::{GroupsWithOffsets, OffsetProcessor, SubscriptionSource};
use super::processor_table::Processor;
use super::pull_processor::RegisterFilters;
use super::send_processor::EnsureRetryTopic;
use actormq::client_registry::{
    notify_consumer_ids_changed, ClientRegistry, ConnectionHandle, HeartbeatData, Peer,
    RegistryError, Subscription,
};
use actormq::protocol::header::{Decode, ExtReader};
use actormq::protocol::{request_code, response_code, RemotingCommand};

/// How often closed connections and expired clients are looked for.
const SWEEP_INTERVAL: Duration = Duration::from_millis(500);

impl ConnectionHandle for Mailbox<Connection> {
    fn is_connected(&self) -> bool {
        self.connected()
    }
}

pub struct ClientManager {
    registry: ClientRegistry<Mailbox<Connection>>,
    /// Round robin over a group's producers for checks (Java's `getAvailableChannel`).
    pushes: usize,
    /// The opaque of the broker's own NOTIFY_CONSUMER_IDS_CHANGED requests.
    opaque: i32,
    topics: CountedRecipient<EnsureRetryTopic>,
    /// Asked which groups have offsets on a topic (300).
    offsets: Mailbox<OffsetProcessor>,
    /// Looks up the record a CONSUME_MESSAGE_DIRECTLY names (309).
    dispatcher: Option<Mailbox<Dispatcher>>,
    /// This broker's name, added to a forwarded 309 (`brokerName`).
    broker_name: String,
    /// Told each heartbeat's SQL92 subscriptions (the `PullProcessor` filters by them).
    filters: Option<CountedRecipient<RegisterFilters>>,
    /// Groups whose `notifyConsumerIdsChangedEnable` is false (`QuietGroups`).
    quiet: Arc<HashSet<String>>,
}

impl ClientManager {
    pub fn new(
        topics: CountedRecipient<EnsureRetryTopic>,
        offsets: Mailbox<OffsetProcessor>,
    ) -> Self {
        ClientManager {
            registry: ClientRegistry::default(),
            pushes: 0,
            opaque: 0,
            topics,
            offsets,
            dispatcher: None,
            broker_name: String::new(),
            filters: None,
            quiet: Arc::default(),
        }
    }

    /// Where each heartbeat's SQL92 subscriptions go (the `PullProcessor`).
    pub fn with_filters(mut self, filters: CountedRecipient<RegisterFilters>) -> Self {
        self.filters = Some(filters);
        self
    }

    /// The Dispatcher and this broker's name, for CONSUME_MESSAGE_DIRECTLY (309).
    pub fn with_dispatcher(mut self, dispatcher: Mailbox<Dispatcher>, broker_name: &str) -> Self {
        self.dispatcher = Some(dispatcher);
        self.broker_name = broker_name.to_string();
        self
    }

    /// HEART_BEAT (34). Answered once the `SendProcessor` has each consumer group and its retry
    /// topic (the answer rides on the last `EnsureRetryTopic`), as Java creates both before it
    /// answers: what the client sends next (an offset commit, a send-back) finds them.
    fn heartbeat(&mut self, req: Request) {
        let cmd = &req.cmd;
        let data = match HeartbeatData::decode(&cmd.body) {
            Ok(d) => d,
            Err(e) => {
                let response =
                    cmd.response_to(response_code::INVALID_PARAMETER, Some(e.to_string()));
                return req.reply.send(response);
            }
        };
        let peer = Peer {
            addr: req.peer.to_string(),
            language: cmd.language,
            version: cmd.version,
            connection: req.reply.connection(),
        };
        let changed = self.registry.heartbeat(&data, peer, Instant::now());
        self.publish_changes(changed, true);
        let mut answer = Some((req.reply, cmd.response_to(response_code::SUCCESS, None)));
        let last = data.consumer_data_set.len().saturating_sub(1);
        for (i, c) in data.consumer_data_set.iter().enumerate() {
            self.topics.do_send(EnsureRetryTopic {
                group: c.group_name.clone(),
                unit_mode: c.unit_mode,
                answer: if i == last { answer.take() } else { None },
            });
        }
        if let Some((reply, response)) = answer {
            reply.send(response);
        }
    }

    fn unregister(&mut self, cmd: &RemotingCommand) -> RemotingCommand {
        let Some(client) = cmd.ext("clientID") else {
            return cmd.response_to(
                response_code::INVALID_PARAMETER,
                Some("the header field clientID is required".into()),
            );
        };
        let (producers, consumers) = (cmd.ext("producerGroup"), cmd.ext("consumerGroup"));
        let changed = self.registry.unregister(client, producers, consumers);
        self.publish_changes(changed, true);
        cmd.response_to(response_code::SUCCESS, None)
    }

    /// 38, 203 and 204: a body from the registry, or its refusal.
    fn list(&self, cmd: &RemotingCommand) -> RemotingCommand {
        let body = match cmd.code {
            request_code::GET_CONSUMER_LIST_BY_GROUP => {
                let group = cmd.ext("consumerGroup").unwrap_or("");
                self.registry.consumer_list_body(group)
            }
            request_code::GET_CONSUMER_CONNECTION_LIST => {
                let h = header(cmd, "GetConsumerConnectionListRequestHeader");
                match h.str("consumerGroup") {
                    Ok(group) => self.registry.consumer_connection_body(group),
                    Err(e) => return cmd.response_to(e.response_code(), Some(e.to_string())),
                }
            }
            _ => {
                let h = header(cmd, "GetProducerConnectionListRequestHeader");
                match h.str("producerGroup") {
                    Ok(group) => self.registry.producer_connection_body(group),
                    Err(e) => return cmd.response_to(e.response_code(), Some(e.to_string())),
                }
            }
        };
        match body {
            Ok(body) => cmd
                .response_to(response_code::SUCCESS, None)
                .with_body(body.into()),
            Err(e) => refusal(cmd, &e),
        }
    }

    /// 300: asks the `OffsetProcessor` for the groups with offsets on the topic and answers, when
    /// it has, those with the registry's online subscribers (a missing `topic` is Java's NPE).
    fn topic_consume_by_who(&mut self, req: Request, ctx: &mut Context<Self>) {
        let Request { cmd, reply, .. } = req;
        let h = header(&cmd, "QueryTopicConsumeByWhoRequestHeader");
        let topic = match h.str("topic") {
            Ok(topic) => topic.to_string(),
            Err(e) => return reply.send(cmd.response_to(e.response_code(), Some(e.to_string()))),
        };
        let ask = GroupsWithOffsets {
            topic: topic.clone(),
        };
        self.offsets
            .send(ask)
            .into_actor(self)
            .map(move |answer, act, _| {
                let response = match answer {
                    Ok(with_offsets) => {
                        match act.registry.topic_consume_by_who_body(&topic, with_offsets) {
                            Ok(body) => cmd
                                .response_to(response_code::SUCCESS, None)
                                .with_body(body.into()),
                            Err(e) => refusal(&cmd, &e),
                        }
                    }
                    Err(_) => cmd.response_to(
                        response_code::SYSTEM_ERROR,
                        Some("the consumer offsets are not available".into()),
                    ),
                };
                reply.send(response);
            })
            .spawn(ctx);
    }

    /// After a registry change: the changed subscriptions to the pull processor, and
    /// NOTIFY_CONSUMER_IDS_CHANGED to the live consumers of `groups`, so they rebalance at once
    /// (the registry leaves broadcasting groups out). Changes `by_client` (a heartbeat, an
    /// unregistration) are not told to a group that turned it off
    /// (`notifyConsumerIdsChangedEnable` false: operators do, so that a large group's members do
    /// not all rebalance whenever one restarts), as Java 5.x's `ConsumerManager`; a closed
    /// connection or an expired client is told all the same, as Java's channel-close and scan.
    fn publish_changes(&mut self, groups: Vec<String>, by_client: bool) {
        self.register_filters();
        for group in groups {
            if by_client && self.quiet.contains(&group) {
                continue;
            }
            for connection in self.registry.consumer_connections(&group) {
                self.opaque = self.opaque.wrapping_add(1);
                connection.do_send(Push(notify_consumer_ids_changed(&group, self.opaque)));
            }
        }
    }

    /// Tells the pull processor the subscriptions of each group whose clients' changed (what
    /// its push consumers' pulls are filtered by).
    fn register_filters(&mut self) {
        for (group, subscriptions) in self.registry.take_subscription_changes() {
            if let Some(filters) = &self.filters {
                filters.do_send(RegisterFilters {
                    broadcasting: self.registry.is_broadcasting(&group),
                    group,
                    subscriptions,
                });
            }
        }
    }
}

/// A header Java decodes by reflection (a missing `@CFNotNull` field is Java's NPE).
fn header<'a>(cmd: &'a RemotingCommand, class: &'static str) -> ExtReader<'a> {
    ExtReader::new(&cmd.ext_fields, class, Decode::Reflective)
}

fn refusal(cmd: &RemotingCommand, e: &RegistryError) -> RemotingCommand {
    cmd.response_to(e.response_code(), Some(e.to_string()))
}

impl Actor for ClientManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.offsets
            .do_send(SubscriptionSource(Mailbox::new(ctx.address())));
        ctx.run_interval(SWEEP_INTERVAL, |act, _| {
            let _tick = timer_tick::<ClientManager>();
            let changed = act.registry.sweep(Instant::now());
            act.publish_changes(changed, false);
        });
    }
}

/// The request codes connections hand this actor.
impl Processor for ClientManager {
    const CODES: &'static [i32] = &[
        request_code::HEART_BEAT,
        request_code::UNREGISTER_CLIENT,
        request_code::GET_CONSUMER_LIST_BY_GROUP,
        request_code::GET_CONSUMER_CONNECTION_LIST,
        request_code::GET_PRODUCER_CONNECTION_LIST,
        request_code::QUERY_TOPIC_CONSUME_BY_WHO,
        request_code::GET_CONSUMER_RUNNING_INFO,
        request_code::CONSUME_MESSAGE_DIRECTLY,
        request_code::GET_ALL_PRODUCER_INFO,
        request_code::QUERY_SUBSCRIPTION_BY_CONSUMER,
        request_code::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
    ];
}

impl Handler<Request> for ClientManager {
    type Result = ();

    fn handle(&mut self, req: Request, ctx: &mut Context<Self>) {
        let _timer = stats().client_manager.handling();
        let response = match req.cmd.code {
            request_code::HEART_BEAT => return self.heartbeat(req),
            request_code::UNREGISTER_CLIENT => self.unregister(&req.cmd),
            request_code::QUERY_TOPIC_CONSUME_BY_WHO => {
                return self.topic_consume_by_who(req, ctx);
            }
            request_code::GET_CONSUMER_RUNNING_INFO | request_code::CONSUME_MESSAGE_DIRECTLY => {
                return self.call_consumer(req, ctx)
            }
            request_code::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => {
                return self.consumer_status(req, ctx)
            }
            request_code::GET_ALL_PRODUCER_INFO => self.admin_read(&req.cmd),
            request_code::QUERY_SUBSCRIPTION_BY_CONSUMER => self.admin_read(&req.cmd),
            _ => self.list(&req.cmd),
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
        let live = self.registry.producer_connections(&msg.group);
        if live.is_empty() {
            return false;
        }
        self.pushes = self.pushes.wrapping_add(1);
        live[self.pushes % live.len()].do_send(Push(msg.cmd));
        true
    }
}

/// Sends `cmd` (a broker request, oneway) to the live producer with client id `client_id`, in any
/// group (a request's reply, PUSH_REPLY_MESSAGE_TO_CLIENT); false when it has no open connection.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct PushToClient {
    pub client_id: String,
    pub cmd: RemotingCommand,
}

impl Handler<PushToClient> for ClientManager {
    type Result = bool;

    fn handle(&mut self, msg: PushToClient, _ctx: &mut Context<Self>) -> bool {
        let _timer = stats().client_manager.handling();
        match self.registry.producer_connection_of(&msg.client_id) {
            Some(connection) => {
                connection.do_send(Push(msg.cmd));
                true
            }
            None => false,
        }
    }
}

/// The subscriptions (topic -> subscription) of those of `groups` with a live consumer (Java's
/// `ConsumerManager.findSubscriptionData`), for the `OffsetProcessor`'s 317 and 321.
#[derive(Message)]
#[rtype(result = "BTreeMap<String, BTreeMap<String, Subscription>>")]
pub struct AskSubscriptions {
    pub groups: Vec<String>,
}

impl Handler<AskSubscriptions> for ClientManager {
    type Result = MessageResult<AskSubscriptions>;

    fn handle(&mut self, msg: AskSubscriptions, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().client_manager.handling();
        let found = msg.groups.into_iter().filter_map(|group| {
            let subscriptions = self.registry.subscriptions_of(&group);
            (!subscriptions.is_empty()).then_some((group, subscriptions))
        });
        MessageResult(found.collect())
    }
}

/// The groups whose `notifyConsumerIdsChangedEnable` is false, from the `SendProcessor` (which
/// owns the group table) with every change of the table.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QuietGroups(pub Arc<HashSet<String>>);

impl Handler<QuietGroups> for ClientManager {
    type Result = ();

    fn handle(&mut self, QuietGroups(quiet): QuietGroups, _ctx: &mut Context<Self>) {
        let _timer = stats().client_manager.handling();
        self.quiet = quiet;
    }
}
