//! The broker's client registry (RocketMQ's `ConsumerManager` and `ProducerManager`): which
//! producers and consumers announced themselves by `HEART_BEAT` (34), on which connection, and what
//! each consumer group said about itself.
//!
//! Per group it keeps every client by client id ([`ClientChannel`]: the connection's peer address,
//! the `language` and `version` of its heartbeat request, its last heartbeat, the connection itself);
//! per consumer group also the heartbeat's `consumeType`, `messageModel`, `consumeFromWhere` and
//! subscriptions, each `SubscriptionData` kept as the JSON object the client sent (keyed by topic) so
//! `GET_CONSUMER_CONNECTION_LIST` (203) answers it back as Java does. A client leaves a group on
//! `UNREGISTER_CLIENT` (35), when its connection is found closed (Java's `doChannelCloseEvent`) or
//! when it has not heartbeated for the expiry (Java's `channelExpiredTimeout`, 120 s).
//!
//! It also says which groups consume a topic (`QUERY_TOPIC_CONSUME_BY_WHO`, 300): those online
//! whose subscriptions name it, joined by the caller's groups with offsets on it.
//!
//! Every change that moves a consumer group's membership (a new client, one gone) or its set of
//! subscribed topics names the group for `NOTIFY_CONSUMER_IDS_CHANGED` (40), which goes oneway to
//! each live consumer of it so it rebalances at once ([`notify_consumer_ids_changed`]); broadcasting
//! groups are never named, as in Java, because they do not share queues.
//!
//! Pure and synchronous: generic over the connection handle `C` (the broker passes the connection
//! actor's mailbox, tests anything implementing [`ConnectionHandle`]), and the caller passes the
//! time in, so the tests need no actors and no clock.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::info;

use crate::protocol::{request_code, response_code, LanguageCode, RemotingCommand};
use crate::subscription_filter::HeartbeatSubscription;

/// How long a client stays registered without a heartbeat (Java's `channelExpiredTimeout`).
pub const CLIENT_EXPIRY: Duration = Duration::from_secs(120);

/// A client's connection as the registry sees it: something to push requests down (the caller's
/// business) that can say whether it is still open.
pub trait ConnectionHandle: Clone {
    /// False once the connection has closed.
    fn is_connected(&self) -> bool;
}

/// Where a heartbeat came from: what `GET_*_CONNECTION_LIST` reports about the client, and the
/// connection the broker's own requests to it go down.
#[derive(Debug, Clone)]
pub struct Peer<C> {
    /// The connection's remote address, "ip:port".
    pub addr: String,
    /// The heartbeat request's `language`.
    pub language: LanguageCode,
    /// The heartbeat request's `version` (an `MQVersion` ordinal).
    pub version: i32,
    pub connection: C,
}

/// One client in one group (Java's `ClientChannelInfo`).
#[derive(Debug, Clone)]
pub struct ClientChannel<C> {
    pub client_id: String,
    pub peer: Peer<C>,
    pub last_heartbeat: Instant,
}

impl<C: ConnectionHandle> ClientChannel<C> {
    fn is_live(&self) -> bool {
        self.peer.connection.is_connected()
    }
}

/// The parts of RocketMQ's `HeartbeatData` the broker uses; unknown fields are ignored, and a
/// `null` set reads as empty (the Go client writes empty sets so).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub producer_data_set: Vec<ProducerData>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub consumer_data_set: Vec<ConsumerData>,
}

/// A heartbeat body that does not decode: answered `INVALID_PARAMETER` with this as the remark.
#[derive(Debug, thiserror::Error)]
#[error("bad heartbeat body: {0}")]
pub struct HeartbeatError(#[from] serde_json::Error);

impl HeartbeatData {
    /// Decodes a `HEART_BEAT` body.
    pub fn decode(body: &[u8]) -> Result<HeartbeatData, HeartbeatError> {
        Ok(serde_json::from_slice(body)?)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    pub group_name: String,
}

/// One consumer group of a heartbeat (`ConsumerData`). The three enums are kept as sent (Java
/// clients write names, C++ ones ordinals) and answered back unchanged.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    pub group_name: String,
    #[serde(default)]
    pub consume_type: Option<Value>,
    #[serde(default)]
    pub message_model: Option<Value>,
    #[serde(default)]
    pub consume_from_where: Option<Value>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub subscription_data_set: Vec<Subscription>,
    /// A unit-mode consumer's retry topic gets the unit-sub topic flag.
    #[serde(default)]
    pub unit_mode: bool,
}

impl ConsumerData {
    /// Every subscription of this heartbeat, TAG ones (`*`, a tag list) and selectors (SQL92),
    /// for the pull processor's registrations: what a push consumer's pulls, which carry no
    /// expression, are filtered by (Java's `ConsumerGroupInfo` and `ConsumerFilterManager`).
    pub fn heartbeat_subscriptions(&self) -> Vec<HeartbeatSubscription> {
        let text = |s: &Subscription, key: &str| {
            s.fields
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mut subs: Vec<HeartbeatSubscription> = self
            .subscription_data_set
            .iter()
            .map(|s| HeartbeatSubscription {
                topic: s.topic.clone(),
                expression_type: text(s, "expressionType")
                    .unwrap_or_else(|| crate::subscription_filter::TAG.to_string()),
                expression: text(s, "subString").unwrap_or_else(|| "*".to_string()),
                sub_version: s.sub_version().unwrap_or(0),
            })
            .collect();
        subs.sort();
        subs
    }
}

/// A `SubscriptionData` as the client sent it (every field kept), with its topic read out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Subscription {
    #[serde(skip)]
    pub topic: String,
    pub fields: Map<String, Value>,
}

impl Subscription {
    /// `subVersion`, when the client sent a number.
    fn sub_version(&self) -> Option<i64> {
        self.fields.get("subVersion").and_then(Value::as_i64)
    }
}

impl<'de> Deserialize<'de> for Subscription {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let fields = Map::<String, Value>::deserialize(d)?;
        let topic = match fields.get("topic") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err(de::Error::custom("a subscription without a topic")),
        };
        Ok(Subscription { topic, fields })
    }
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A consumer group as its heartbeats describe it (Java's `ConsumerGroupInfo`).
#[derive(Debug)]
struct ConsumerGroup<C> {
    clients: BTreeMap<String, ClientChannel<C>>,
    consume_type: Option<Value>,
    message_model: Option<Value>,
    consume_from_where: Option<Value>,
    /// Topic -> subscription.
    subscriptions: BTreeMap<String, Subscription>,
    /// Client id -> what its last heartbeat subscribed to (each client's own, unlike
    /// `subscriptions`, where the newest wins): what the group's pulls are filtered by.
    client_subscriptions: BTreeMap<String, Vec<HeartbeatSubscription>>,
}

impl<C> ConsumerGroup<C> {
    fn new() -> Self {
        ConsumerGroup {
            clients: BTreeMap::new(),
            consume_type: None,
            message_model: None,
            consume_from_where: None,
            subscriptions: BTreeMap::new(),
            client_subscriptions: BTreeMap::new(),
        }
    }

    /// `MessageModel.BROADCASTING`, by name (any case: the Go client upper-cases its own) or by
    /// ordinal (0).
    fn is_broadcasting(&self) -> bool {
        match &self.message_model {
            Some(Value::String(s)) => s.eq_ignore_ascii_case("BROADCASTING"),
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            _ => false,
        }
    }

    /// Java's `updateSubscription`: the group subscribes to this heartbeat's topics; a topic's
    /// subscription is replaced only by a newer `subVersion`. True when the set of topics changed.
    fn update_subscriptions(&mut self, subs: &[Subscription]) -> bool {
        let mut changed = false;
        for sub in subs {
            match self.subscriptions.get_mut(&sub.topic) {
                None => {
                    self.subscriptions.insert(sub.topic.clone(), sub.clone());
                    changed = true;
                }
                Some(old) => {
                    let newer = match (sub.sub_version(), old.sub_version()) {
                        (Some(new), Some(old)) => new > old,
                        _ => true,
                    };
                    if newer {
                        *old = sub.clone();
                    }
                }
            }
        }
        let topics: BTreeSet<&str> = subs.iter().map(|s| s.topic.as_str()).collect();
        let before = self.subscriptions.len();
        self.subscriptions
            .retain(|t, _| topics.contains(t.as_str()));
        changed || self.subscriptions.len() != before
    }
}

/// Why a client was dropped, for the log.
#[derive(Debug, Clone, Copy)]
enum Gone {
    Unregistered,
    Closed,
    Expired,
}

impl Gone {
    fn as_str(self) -> &'static str {
        match self {
            Gone::Unregistered => "unregistered",
            Gone::Closed => "connection closed",
            Gone::Expired => "no heartbeat within the expiry",
        }
    }
}

/// A request the registry cannot answer with a body; `Display` is Java's remark.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// GET_CONSUMER_LIST_BY_GROUP (38) for a group without a live consumer.
    #[error("no consumer for this group, {0}")]
    NoConsumer(String),
    /// GET_CONSUMER_CONNECTION_LIST (203) for a group without a live consumer.
    #[error("the consumer group[{0}] not online")]
    ConsumerNotOnline(String),
    /// GET_PRODUCER_CONNECTION_LIST (204) for a group without a live producer.
    #[error("the producer group[{0}] not exist")]
    ProducerGroupNotExist(String),
    #[error("encoding the answer: {0}")]
    Encode(#[from] serde_json::Error),
}

impl RegistryError {
    /// The response code Java answers with.
    pub fn response_code(&self) -> i32 {
        match self {
            RegistryError::ConsumerNotOnline(_) => response_code::CONSUMER_NOT_ONLINE,
            _ => response_code::SYSTEM_ERROR,
        }
    }
}

/// Java's `GroupList` (QUERY_TOPIC_CONSUME_BY_WHO's body).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupList<'a> {
    group_list: &'a BTreeSet<String>,
}

/// Java's `Connection` body entry; fields in fastjson's (alphabetical) order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionEntry<'a> {
    client_addr: &'a str,
    client_id: &'a str,
    language: LanguageCode,
    version: i32,
}

impl<'a, C> From<&'a ClientChannel<C>> for ConnectionEntry<'a> {
    fn from(c: &'a ClientChannel<C>) -> Self {
        ConnectionEntry {
            client_addr: &c.peer.addr,
            client_id: &c.client_id,
            language: c.peer.language,
            version: c.peer.version,
        }
    }
}

/// Java's `ConsumerConnection` (fastjson leaves out null fields).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerConnection<'a> {
    connection_set: Vec<ConnectionEntry<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consume_from_where: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consume_type: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_model: Option<&'a Value>,
    subscription_table: &'a BTreeMap<String, Subscription>,
}

/// Java's `ProducerConnection`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProducerConnection<'a> {
    connection_set: Vec<ConnectionEntry<'a>>,
}

/// Group -> client id -> client, for producers and consumers.
#[derive(Debug)]
pub struct ClientRegistry<C> {
    producers: BTreeMap<String, BTreeMap<String, ClientChannel<C>>>,
    consumers: BTreeMap<String, ConsumerGroup<C>>,
    expiry: Duration,
    /// Consumer groups whose clients' subscriptions (or message model) changed since the last
    /// [`take_subscription_changes`](Self::take_subscription_changes).
    subscriptions_changed: BTreeSet<String>,
}

impl<C: ConnectionHandle> Default for ClientRegistry<C> {
    fn default() -> Self {
        ClientRegistry::new(CLIENT_EXPIRY)
    }
}

impl<C: ConnectionHandle> ClientRegistry<C> {
    /// An empty registry that forgets a client `expiry` after its last heartbeat.
    pub fn new(expiry: Duration) -> Self {
        ClientRegistry {
            producers: BTreeMap::new(),
            consumers: BTreeMap::new(),
            expiry,
            subscriptions_changed: BTreeSet::new(),
        }
    }

    /// Registers (or refreshes) the heartbeat's client in each of its groups, on `peer`'s
    /// connection. Returns the consumer groups to send NOTIFY_CONSUMER_IDS_CHANGED to: those the
    /// client is new in, or whose subscribed topics changed (Java's `registerConsumer`).
    pub fn heartbeat(&mut self, hb: &HeartbeatData, peer: Peer<C>, now: Instant) -> Vec<String> {
        let channel = ClientChannel {
            client_id: hb.client_id.clone(),
            peer,
            last_heartbeat: now,
        };
        for p in &hb.producer_data_set {
            let clients = self.producers.entry(p.group_name.clone()).or_default();
            if clients
                .insert(hb.client_id.clone(), channel.clone())
                .is_none()
            {
                info!(group = %p.group_name, client = %hb.client_id, addr = %channel.peer.addr, "producer registered");
            }
        }
        let mut notify = Vec::new();
        for c in &hb.consumer_data_set {
            let group = self
                .consumers
                .entry(c.group_name.clone())
                .or_insert_with(ConsumerGroup::new);
            group.consume_type = c.consume_type.clone();
            let was_broadcasting = group.is_broadcasting();
            group.message_model = c.message_model.clone();
            group.consume_from_where = c.consume_from_where.clone();
            // The pull path hears of the group's model with its subscriptions.
            if group.is_broadcasting() != was_broadcasting {
                self.subscriptions_changed.insert(c.group_name.clone());
            }
            let joined = group
                .clients
                .insert(hb.client_id.clone(), channel.clone())
                .is_none();
            if joined {
                info!(group = %c.group_name, client = %hb.client_id, addr = %channel.peer.addr, "consumer registered");
            }
            let resubscribed = group.update_subscriptions(&c.subscription_data_set);
            let subs = c.heartbeat_subscriptions();
            if group.client_subscriptions.get(&hb.client_id) != Some(&subs) {
                group
                    .client_subscriptions
                    .insert(hb.client_id.clone(), subs);
                self.subscriptions_changed.insert(c.group_name.clone());
            }
            if (joined || resubscribed) && !group.is_broadcasting() {
                notify.push(c.group_name.clone());
            }
        }
        notify.sort();
        notify.dedup();
        notify
    }

    /// `UNREGISTER_CLIENT`: removes `client_id` from the groups named. Returns the consumer group
    /// to notify, if the client was in it and others remain.
    pub fn unregister(
        &mut self,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Vec<String> {
        if let Some(group) = producer_group {
            if let Some(clients) = self.producers.get_mut(group) {
                if clients.remove(client_id).is_some() {
                    log_gone("producer", group, client_id, Gone::Unregistered);
                }
                if clients.is_empty() {
                    self.producers.remove(group);
                }
            }
        }
        let mut notify = Vec::new();
        if let Some(group) = consumer_group {
            if let Some(info) = self.consumers.get_mut(group) {
                if info.clients.remove(client_id).is_some() {
                    log_gone("consumer", group, client_id, Gone::Unregistered);
                    info.client_subscriptions.remove(client_id);
                    self.subscriptions_changed.insert(group.to_string());
                    if !info.is_broadcasting() && info.clients.values().any(|c| c.is_live()) {
                        notify.push(group.to_string());
                    }
                }
                if info.clients.is_empty() {
                    self.consumers.remove(group);
                }
            }
        }
        notify
    }

    /// Forgets every client whose connection has closed or whose last heartbeat is `expiry` old.
    /// Returns the consumer groups that lost a client and still have live ones, to notify.
    pub fn sweep(&mut self, now: Instant) -> Vec<String> {
        let expiry = self.expiry;
        let why_gone = |c: &ClientChannel<C>| {
            if !c.is_live() {
                Some(Gone::Closed)
            } else if now.saturating_duration_since(c.last_heartbeat) >= expiry {
                Some(Gone::Expired)
            } else {
                None
            }
        };
        for (group, clients) in &mut self.producers {
            clients.retain(|id, c| match why_gone(c) {
                Some(why) => {
                    log_gone("producer", group, id, why);
                    false
                }
                None => true,
            });
        }
        self.producers.retain(|_, clients| !clients.is_empty());
        let mut notify = Vec::new();
        for (name, group) in &mut self.consumers {
            let before = group.clients.len();
            group.clients.retain(|id, c| match why_gone(c) {
                Some(why) => {
                    log_gone("consumer", name, id, why);
                    false
                }
                None => true,
            });
            let lost = group.clients.len() != before;
            if lost {
                let clients = &group.clients;
                group
                    .client_subscriptions
                    .retain(|id, _| clients.contains_key(id));
                self.subscriptions_changed.insert(name.clone());
            }
            if lost && !group.clients.is_empty() && !group.is_broadcasting() {
                notify.push(name.clone());
            }
        }
        self.consumers.retain(|_, g| !g.clients.is_empty());
        notify
    }

    /// The live consumers of `group`, by client id.
    pub fn consumer_ids(&self, group: &str) -> Vec<&str> {
        self.live_consumers(group)
            .map(|c| c.client_id.as_str())
            .collect()
    }

    /// The connections of `group`'s live consumers (where NOTIFY_CONSUMER_IDS_CHANGED goes).
    pub fn consumer_connections(&self, group: &str) -> Vec<&C> {
        self.live_consumers(group)
            .map(|c| &c.peer.connection)
            .collect()
    }

    /// The connections of `group`'s live producers (where a transaction check goes).
    pub fn producer_connections(&self, group: &str) -> Vec<&C> {
        self.live_producers(group)
            .map(|c| &c.peer.connection)
            .collect()
    }

    /// The live consumer `client_id` of `group` (Java's `ConsumerManager.findChannel`): where a
    /// request for it (GET_CONSUMER_RUNNING_INFO) is forwarded.
    pub fn consumer_of(&self, group: &str, client_id: &str) -> Option<&ClientChannel<C>> {
        self.live_consumers(group)
            .find(|c| c.client_id == client_id)
    }

    /// The connection of the live producer `client_id`, in whichever group (Java's
    /// `ProducerManager.findChannel`: where a request's reply is pushed).
    pub fn producer_connection_of(&self, client_id: &str) -> Option<&C> {
        self.producers
            .values()
            .filter_map(|clients| clients.get(client_id))
            .find(|c| c.is_live())
            .map(|c| &c.peer.connection)
    }

    /// GET_CONSUMER_LIST_BY_GROUP's body: `{"consumerIdList":[..]}`.
    pub fn consumer_list_body(&self, group: &str) -> Result<Vec<u8>, RegistryError> {
        let ids = self.consumer_ids(group);
        if ids.is_empty() {
            return Err(RegistryError::NoConsumer(group.to_string()));
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct ConsumerList<'a> {
            consumer_id_list: Vec<&'a str>,
        }
        let body = ConsumerList {
            consumer_id_list: ids,
        };
        Ok(serde_json::to_vec(&body)?)
    }

    /// GET_CONSUMER_CONNECTION_LIST's body, Java's `ConsumerConnection`.
    pub fn consumer_connection_body(&self, group: &str) -> Result<Vec<u8>, RegistryError> {
        let not_online = || RegistryError::ConsumerNotOnline(group.to_string());
        let info = self.consumers.get(group).ok_or_else(not_online)?;
        let connection_set: Vec<ConnectionEntry<'_>> =
            self.live_consumers(group).map(Into::into).collect();
        if connection_set.is_empty() {
            return Err(not_online());
        }
        let body = ConsumerConnection {
            connection_set,
            consume_from_where: info.consume_from_where.as_ref(),
            consume_type: info.consume_type.as_ref(),
            message_model: info.message_model.as_ref(),
            subscription_table: &info.subscriptions,
        };
        Ok(serde_json::to_vec(&body)?)
    }

    /// GET_PRODUCER_CONNECTION_LIST's body, Java's `ProducerConnection`.
    pub fn producer_connection_body(&self, group: &str) -> Result<Vec<u8>, RegistryError> {
        let connection_set: Vec<ConnectionEntry<'_>> =
            self.live_producers(group).map(Into::into).collect();
        if connection_set.is_empty() {
            return Err(RegistryError::ProducerGroupNotExist(group.to_string()));
        }
        Ok(serde_json::to_vec(&ProducerConnection { connection_set })?)
    }

    /// The consumer groups whose clients' subscriptions changed (a client joined, left or
    /// subscribed differently) since the last call, each with the subscriptions of all its
    /// clients now (empty when none is left), sorted and without repeats.
    pub fn take_subscription_changes(&mut self) -> Vec<(String, Vec<HeartbeatSubscription>)> {
        std::mem::take(&mut self.subscriptions_changed)
            .into_iter()
            .map(|name| {
                let mut subs: Vec<HeartbeatSubscription> = self
                    .consumers
                    .get(&name)
                    .map(|g| g.client_subscriptions.values().flatten().cloned().collect())
                    .unwrap_or_default();
                subs.sort();
                subs.dedup();
                (name, subs)
            })
            .collect()
    }

    /// Whether consumer group `group`'s consumers said `MessageModel.BROADCASTING`.
    pub fn is_broadcasting(&self, group: &str) -> bool {
        self.consumers
            .get(group)
            .is_some_and(|g| g.is_broadcasting())
    }

    /// What consumer group `group` subscribes to, topic -> subscription (Java's
    /// `ConsumerGroupInfo.subscriptionTable`): empty when the group has no live consumer (Java
    /// drops the group's info when its last channel closes).
    pub fn subscriptions_of(&self, group: &str) -> BTreeMap<String, Subscription> {
        match self.consumers.get(group) {
            Some(g) if self.live_consumers(group).next().is_some() => g.subscriptions.clone(),
            _ => BTreeMap::new(),
        }
    }

    /// The consumer groups with a live consumer whose group subscribes to `topic` (Java's
    /// `ConsumerManager.queryTopicConsumeByWho`).
    pub fn subscribing_groups(&self, topic: &str) -> BTreeSet<String> {
        self.consumers
            .iter()
            .filter(|(_, g)| g.subscriptions.contains_key(topic))
            .filter(|(name, _)| self.live_consumers(name).next().is_some())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// QUERY_TOPIC_CONSUME_BY_WHO's body, Java's `GroupList` (`{"groupList":[..]}`, sorted): the
    /// groups online that subscribe to `topic` united with `with_offsets`, the groups that
    /// committed offsets on it (`ConsumerOffsetTable::groups_of_topic`). Empty when none: still
    /// an answer, not a refusal, as in Java.
    pub fn topic_consume_by_who_body(
        &self,
        topic: &str,
        mut with_offsets: BTreeSet<String>,
    ) -> Result<Vec<u8>, RegistryError> {
        with_offsets.extend(self.subscribing_groups(topic));
        let body = GroupList {
            group_list: &with_offsets,
        };
        Ok(serde_json::to_vec(&body)?)
    }

    fn live_consumers(&self, group: &str) -> impl Iterator<Item = &ClientChannel<C>> {
        self.consumers
            .get(group)
            .into_iter()
            .flat_map(|g| g.clients.values())
            .filter(|c| c.is_live())
    }

    fn live_producers(&self, group: &str) -> impl Iterator<Item = &ClientChannel<C>> {
        self.producers
            .get(group)
            .into_iter()
            .flat_map(|clients| clients.values())
            .filter(|c| c.is_live())
    }
}

fn log_gone(role: &str, group: &str, client: &str, why: Gone) {
    info!(%group, %client, why = why.as_str(), "{role} unregistered");
}

/// NOTIFY_CONSUMER_IDS_CHANGED (40), oneway, header `consumerGroup` (Java's
/// `Broker2Client.notifyConsumerIdsChanged`): the consumer rebalances `group` at once.
pub fn notify_consumer_ids_changed(group: &str, opaque: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request_code::NOTIFY_CONSUMER_IDS_CHANGED, opaque)
        .with_ext("consumerGroup", group);
    cmd.set_oneway();
    cmd
}

mod admin;

#[cfg(test)]
mod tests;
