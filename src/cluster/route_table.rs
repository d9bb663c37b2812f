//! The name server's table of many brokers (RocketMQ's `RouteInfoManager`, reference-2 §8.2):
//! clusters -> broker names; broker name -> {brokerId -> address}; topic -> broker name -> queue
//! data; and one liveness entry per registered address (last registration, timeout, data version,
//! the connection it came on, its HA address).
//!
//! Rules kept from Java: one address per id (the same address under another id is replaced, a slave
//! promoted to 0); a first registration carrying exactly one topic is refused; queue data comes from
//! the master only and is rewritten on a first registration or a changed data version; a broker not
//! re-registered within its timeout (default 120 s) is removed, as is every broker whose connection
//! closed; a broker name with no address left loses its queue data, while a group that lost only its
//! master keeps it (routes then list the slaves alone). Time is passed in, so tests need no clock.
//!
//! Besides registrations it answers what a broker asks between them: QUERY_DATA_VERSION (322,
//! [`RouteTable::query_data_version`]: is my topic table's version the one you hold?) and
//! BROKER_HEARTBEAT (904, [`RouteTable::touch`]), both of which keep a registration alive;
//! REGISTER_TOPIC_IN_NAMESRV (217, [`RouteTable::register_topic`]: one created topic's queue data);
//! GET_BROKER_MEMBER_GROUP (901, [`RouteTable::broker_member_group`]); and the unit topic lists
//! (311-313, [`RouteTable::unit_topic_list`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::register::{RegisterBrokerRequest, UnregisterBrokerRequest, WireDataVersion};
use super::{MasterInfo, MASTER_ID};
use crate::protocol::fastjson::quote_bare_keys;
use crate::store::message::java_hash_extend;
use crate::topic::{TopicConfig, PERM_READ, PERM_WRITE};

/// `RouteInfoManager.DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`: 120 s.
pub const DEFAULT_BROKER_EXPIRY_MS: u64 = 120_000;

/// `BrokerData`: one broker group (a broker name) and the address of each of its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    pub cluster: String,
    pub broker_name: String,
    /// brokerId -> address; serialized with quoted keys (`{"0":"ip:port"}`), standard JSON.
    pub broker_addrs: BTreeMap<u64, String>,
    #[serde(default)]
    pub enable_acting_master: bool,
}

/// `QueueData`: a topic's queues on one broker group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_sys_flag: i32,
}

impl QueueData {
    fn of(broker_name: &str, t: &TopicConfig) -> QueueData {
        QueueData {
            broker_name: broker_name.to_string(),
            read_queue_nums: t.read_queue_nums,
            write_queue_nums: t.write_queue_nums,
            perm: t.perm,
            topic_sys_flag: t.topic_sys_flag,
        }
    }
}

/// `TopicRouteData`, the GET_ROUTEINFO_BY_TOPIC body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    /// The topic's `ORDER_TOPIC_CONFIG` KV value (`brokerName:queueNums;...`), only while the
    /// name server's `orderMessageEnable` is on; absent otherwise, as fastjson leaves out a null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub broker_datas: Vec<BrokerData>,
    #[serde(default)]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    pub queue_datas: Vec<QueueData>,
}

/// `ClusterInfo`, the GET_BROKER_CLUSTER_INFO body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl TopicRouteData {
    /// Parses a GET_ROUTEINFO_BY_TOPIC body from any name server (broker-id keys quoted or not).
    pub fn decode(body: &[u8]) -> Result<TopicRouteData, String> {
        decode_fastjson(body)
    }
}

impl ClusterInfo {
    /// Parses a GET_BROKER_CLUSTER_INFO body from any name server (a Java one writes the broker-id
    /// keys unquoted).
    pub fn decode(body: &[u8]) -> Result<ClusterInfo, String> {
        decode_fastjson(body)
    }
}

fn decode_fastjson<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    serde_json::from_str(&quote_bare_keys(text)).map_err(|e| e.to_string())
}

/// `TopicSysFlag.FLAG_UNIT`: a unit topic.
pub const TOPIC_SYS_FLAG_UNIT: i32 = 0x1;
/// `TopicSysFlag.FLAG_UNIT_SUB`: a topic with unit subscriptions.
pub const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 0x2;

/// Which unit topic list (`RouteInfoManager.getUnitTopics` and its two siblings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitTopicList {
    /// GET_UNIT_TOPIC_LIST (311): the unit flag set.
    Unit,
    /// GET_HAS_UNIT_SUB_TOPIC_LIST (312): the unit-sub flag set.
    HasUnitSub,
    /// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST (313): the unit-sub flag set, the unit flag not.
    HasUnitSubNotUnit,
}

impl UnitTopicList {
    fn takes(self, topic_sys_flag: i32) -> bool {
        let unit = topic_sys_flag & TOPIC_SYS_FLAG_UNIT != 0;
        let unit_sub = topic_sys_flag & TOPIC_SYS_FLAG_UNIT_SUB != 0;
        match self {
            UnitTopicList::Unit => unit,
            UnitTopicList::HasUnitSub => unit_sub,
            UnitTopicList::HasUnitSubNotUnit => unit_sub && !unit,
        }
    }
}

/// A QUERY_DATA_VERSION answer: `changed` (no live entry for the address, or its stored data
/// version is not the one asked about, by Java's `DataVersion.equals`: timestamp, counter and
/// state version alike), and the stored version, the answer's body when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataVersionAnswer {
    pub changed: bool,
    pub stored: Option<WireDataVersion>,
}

/// REGISTER_TOPIC_IN_NAMESRV's body, a `TopicRouteData` as a broker sends it (`{"brokerDatas":[],
/// "filterServerTable":{},"queueDatas":[..]}`): only the queue datas are read, each as fastjson
/// reads it (a number not sent is 0, a broker name not sent is none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterTopicBody {
    pub queue_datas: Vec<TopicQueueData>,
}

/// One queue data of a [`RegisterTopicBody`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicQueueData {
    pub broker_name: Option<String>,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_sys_flag: i32,
}

impl RegisterTopicBody {
    /// Parses the body (fastjson's bare keys allowed).
    pub fn decode(body: &[u8]) -> Result<RegisterTopicBody, String> {
        decode_fastjson(body)
    }
}

/// What REGISTER_TOPIC_IN_NAMESRV changed: how many queue datas were put, and the first one
/// naming no registered group, at which Java stops (so nothing of a new topic is kept, and of a
/// known topic only the queue datas before it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicRegistered {
    pub put: usize,
    pub stopped_at: Option<TopicQueueData>,
}

/// `BrokerMemberGroup`: one broker group's members, by name, whatever cluster is asked about
/// (Java looks the name up alone). `None`: the field was not in the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerMemberGroup {
    pub cluster: Option<String>,
    pub broker_name: Option<String>,
    pub broker_addrs: BTreeMap<u64, String>,
}

impl BrokerMemberGroup {
    /// The GET_BROKER_MEMBER_GROUP body, `GetBrokerMemberGroupResponseBody`, byte for byte as
    /// Java's name server writes it with fastjson: fields sorted, the broker-id keys bare
    /// (`{"brokerMemberGroup":{"brokerAddrs":{0:"ip:port"},"brokerName":"b","cluster":"c"}}`), a
    /// null field left out. Java brokers read it with fastjson; [`BrokerMemberGroup::decode`]
    /// reads it too.
    pub fn encode_response(&self) -> Vec<u8> {
        let json = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let addrs: Vec<String> = self
            .broker_addrs
            .iter()
            .map(|(id, addr)| format!("{id}:{}", json(addr)))
            .collect();
        let mut out = format!(
            r#"{{"brokerMemberGroup":{{"brokerAddrs":{{{}}}"#,
            addrs.join(",")
        );
        if let Some(name) = &self.broker_name {
            out.push_str(&format!(r#","brokerName":{}"#, json(name)));
        }
        if let Some(cluster) = &self.cluster {
            out.push_str(&format!(r#","cluster":{}"#, json(cluster)));
        }
        out.push_str("}}");
        out.into_bytes()
    }

    /// Parses a GET_BROKER_MEMBER_GROUP body from any name server.
    pub fn decode(body: &[u8]) -> Result<BrokerMemberGroup, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            broker_member_group: Option<BrokerMemberGroup>,
        }
        decode_fastjson::<Body>(body).map(|b| b.broker_member_group.unwrap_or_default())
    }
}

/// `BrokerLiveInfo`: when an address last registered and over which connection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LiveInfo {
    last_update_ms: u64,
    timeout_ms: u64,
    data_version: WireDataVersion,
    /// The connection the registration came on (`None`: the broker this name server runs in).
    channel: Option<SocketAddr>,
    ha_server_addr: String,
}

/// A registered address that was removed (expired, its connection closed, or unregistered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub cluster: String,
    pub broker_addr: String,
}

/// The whole table. Plain data: the `NameServer` actor owns it.
#[derive(Debug, Default)]
pub struct RouteTable {
    clusters: BTreeMap<String, BTreeSet<String>>,
    brokers: BTreeMap<String, BrokerData>,
    topics: BTreeMap<String, BTreeMap<String, QueueData>>,
    /// Keyed by (cluster, address), as Java's `BrokerAddrInfo`.
    live: HashMap<(String, String), LiveInfo>,
}

impl RouteTable {
    /// `registerBroker`. `channel` is the registering connection's peer (`None` for the broker this
    /// name server runs in, which never expires: pass `timeout_ms` = `u64::MAX`). Returns `None` when
    /// Java refuses (the first registration of an id with exactly one topic; the caller answers
    /// SYSTEM_ERROR "register broker failed"), else the master's addresses for a slave.
    pub fn register(
        &mut self,
        r: RegisterBrokerRequest,
        channel: Option<SocketAddr>,
        default_timeout_ms: u64,
        now_ms: u64,
    ) -> Option<MasterInfo> {
        let registered_before = self
            .brokers
            .get(&r.broker_name)
            .is_some_and(|b| b.broker_addrs.contains_key(&r.broker_id));
        if !registered_before && r.topics.topic_config_table.len() == 1 {
            return None;
        }
        self.clusters
            .entry(r.cluster.clone())
            .or_default()
            .insert(r.broker_name.clone());
        let data = self
            .brokers
            .entry(r.broker_name.clone())
            .or_insert_with(|| BrokerData {
                cluster: r.cluster.clone(),
                broker_name: r.broker_name.clone(),
                broker_addrs: BTreeMap::new(),
                enable_acting_master: false,
            });
        data.enable_acting_master = r.enable_acting_master.unwrap_or(false);
        // The same address under another id (a slave promoted to master) is replaced.
        data.broker_addrs
            .retain(|id, addr| *addr != r.broker_addr || *id == r.broker_id);
        let old = data.broker_addrs.insert(r.broker_id, r.broker_addr.clone());
        let first = old.as_deref().is_none_or(str::is_empty);
        let key = (r.cluster.clone(), r.broker_addr.clone());
        if r.broker_id == MASTER_ID {
            let changed = self
                .live
                .get(&key)
                .is_none_or(|l| l.data_version != r.topics.data_version);
            if first || changed {
                for t in r.topics.topic_config_table.values() {
                    self.topics
                        .entry(t.topic_name.clone())
                        .or_default()
                        .insert(r.broker_name.clone(), QueueData::of(&r.broker_name, t));
                }
            }
        }
        self.live.insert(
            key,
            LiveInfo {
                last_update_ms: now_ms,
                timeout_ms: r.heartbeat_timeout_ms.unwrap_or(default_timeout_ms),
                data_version: r.topics.data_version,
                channel,
                ha_server_addr: r.ha_server_addr,
            },
        );
        Some(self.master_of(&r.cluster, &r.broker_name, r.broker_id))
    }

    /// For a slave: its group's master address and HA address, if the master is live.
    fn master_of(&self, cluster: &str, broker_name: &str, broker_id: u64) -> MasterInfo {
        if broker_id == MASTER_ID {
            return MasterInfo::default();
        }
        let Some(master) = self
            .brokers
            .get(broker_name)
            .and_then(|b| b.broker_addrs.get(&MASTER_ID))
        else {
            return MasterInfo::default();
        };
        match self.live.get(&(cluster.to_string(), master.clone())) {
            Some(live) => MasterInfo {
                master_addr: Some(master.clone()),
                ha_server_addr: Some(live.ha_server_addr.clone()),
            },
            None => MasterInfo::default(),
        }
    }

    /// `unregisterBroker`: the id's address leaves its group.
    pub fn unregister(&mut self, r: &UnregisterBrokerRequest) -> Option<Removed> {
        let key = (r.cluster.clone(), r.broker_addr.clone());
        self.live.remove(&key);
        let group = self.brokers.get_mut(&r.broker_name)?;
        if group.broker_addrs.get(&r.broker_id) != Some(&r.broker_addr) {
            return None;
        }
        group.broker_addrs.remove(&r.broker_id);
        self.drop_empty_group(&r.broker_name);
        Some(Removed {
            cluster: key.0,
            broker_addr: key.1,
        })
    }

    /// `scanNotActiveBroker`: removes every address whose last registration is older than its
    /// timeout.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Removed> {
        let expired: Vec<(String, String)> = self
            .live
            .iter()
            .filter(|(_, l)| l.last_update_ms.saturating_add(l.timeout_ms) < now_ms)
            .map(|(k, _)| k.clone())
            .collect();
        expired.into_iter().map(|k| self.remove_addr(k)).collect()
    }

    /// `onChannelDestroy`: a connection closed; every address registered over it is removed.
    pub fn channel_closed(&mut self, channel: SocketAddr) -> Vec<Removed> {
        let gone: Vec<(String, String)> = self
            .live
            .iter()
            .filter(|(_, l)| l.channel == Some(channel))
            .map(|(k, _)| k.clone())
            .collect();
        gone.into_iter().map(|k| self.remove_addr(k)).collect()
    }

    /// Removes one registered address from its group (and the group, if it was the last).
    fn remove_addr(&mut self, key: (String, String)) -> Removed {
        self.live.remove(&key);
        let (cluster, addr) = key;
        let names: Vec<String> = self
            .brokers
            .values_mut()
            .filter(|b| b.cluster == cluster)
            .filter_map(|b| {
                let before = b.broker_addrs.len();
                b.broker_addrs.retain(|_, a| *a != addr);
                (b.broker_addrs.len() != before).then(|| b.broker_name.clone())
            })
            .collect();
        for name in names {
            self.drop_empty_group(&name);
        }
        Removed {
            cluster,
            broker_addr: addr,
        }
    }

    /// A group with no address left disappears, with its queue data and its cluster entry.
    fn drop_empty_group(&mut self, broker_name: &str) {
        let Some(group) = self.brokers.get(broker_name) else {
            return;
        };
        if !group.broker_addrs.is_empty() {
            return;
        }
        let cluster = group.cluster.clone();
        self.brokers.remove(broker_name);
        if let Some(names) = self.clusters.get_mut(&cluster) {
            names.remove(broker_name);
            if names.is_empty() {
                self.clusters.remove(&cluster);
            }
        }
        self.topics.retain(|_, queues| {
            queues.remove(broker_name);
            !queues.is_empty()
        });
    }

    /// `pickupTopicRouteData`: every group holding the topic, with all its addresses; `None` when
    /// no group with a live address holds it.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topics.get(topic)?;
        let broker_datas: Vec<BrokerData> = queues
            .keys()
            .filter_map(|name| self.brokers.get(name).cloned())
            .collect();
        if broker_datas.is_empty() || queues.is_empty() {
            return None;
        }
        Some(TopicRouteData {
            order_topic_conf: None,
            broker_datas,
            filter_server_table: BTreeMap::new(),
            queue_datas: queues.values().cloned().collect(),
        })
    }

    /// `getAllClusterInfo`.
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self.clusters.clone(),
        }
    }

    /// `getAllTopicList`.
    pub fn topic_list(&self) -> Vec<&str> {
        self.topics.keys().map(String::as_str).collect()
    }

    /// `deleteTopic` (DELETE_TOPIC_IN_NAMESRV, 216): the topic's queue data goes, on every group or
    /// only on the groups of `cluster`. A group that registers the topic again brings it back, as
    /// in Java. Returns whether anything was removed.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) -> bool {
        let Some(cluster) = cluster else {
            return self.topics.remove(topic).is_some();
        };
        let (Some(names), Some(queues)) = (self.clusters.get(cluster), self.topics.get_mut(topic))
        else {
            return false;
        };
        let before = queues.len();
        queues.retain(|name, _| !names.contains(name));
        let removed = queues.len() != before;
        if queues.is_empty() {
            self.topics.remove(topic);
        }
        removed
    }

    /// `getTopicsByCluster` (GET_TOPICS_BY_CLUSTER, 224): every topic a group of `cluster` holds.
    pub fn topics_by_cluster(&self, cluster: &str) -> Vec<&str> {
        let Some(names) = self.clusters.get(cluster) else {
            return Vec::new();
        };
        self.topics
            .iter()
            .filter(|(_, queues)| queues.keys().any(|name| names.contains(name)))
            .map(|(topic, _)| topic.as_str())
            .collect()
    }

    /// `getSystemTopicList` (GET_SYSTEM_TOPIC_LIST_FROM_NS, 304): every cluster name and broker
    /// name (each is a topic a broker creates for itself), and one registered broker address.
    pub fn system_topic_list(&self) -> (Vec<&str>, Option<&str>) {
        let mut names = Vec::new();
        for (cluster, brokers) in &self.clusters {
            names.push(cluster.as_str());
            names.extend(brokers.iter().map(String::as_str));
        }
        let addr = self
            .brokers
            .values()
            .find_map(|b| b.broker_addrs.values().next())
            .map(String::as_str);
        (names, addr)
    }

    /// `wipeWritePermOfBroker` (205, `wipe`) and `addWritePermOfBroker` (327): every topic the
    /// group `broker_name` holds loses its write permission, or gets read and write back, so
    /// producers stop (or resume) sending to it while consumers drain it. Lasts until the group
    /// registers a changed topic table. Returns how many topics were changed.
    pub fn set_write_perm(&mut self, broker_name: &str, wipe: bool) -> usize {
        let mut changed = 0;
        for queues in self.topics.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = if wipe {
                    q.perm & !PERM_WRITE
                } else {
                    PERM_READ | PERM_WRITE
                };
                changed += 1;
            }
        }
        changed
    }

    /// `updateBrokerInfoUpdateTimestamp` (BROKER_HEARTBEAT, 904, and every QUERY_DATA_VERSION): a
    /// live address's last update becomes `now_ms`, so its expiry starts again. Returns whether
    /// it was live (nothing happens to one that is not).
    pub fn touch(&mut self, cluster: &str, broker_addr: &str, now_ms: u64) -> bool {
        let key = (cluster.to_string(), broker_addr.to_string());
        match self.live.get_mut(&key) {
            Some(live) => {
                live.last_update_ms = now_ms;
                true
            }
            None => false,
        }
    }

    /// QUERY_DATA_VERSION (322), Java's `queryBrokerTopicConfig` handler: whether the broker's
    /// topic table `version` differs from what this table holds for the address (`None`, no
    /// version sent, always does), then [`touch`](Self::touch), then the stored version.
    pub fn query_data_version(
        &mut self,
        cluster: &str,
        broker_addr: &str,
        version: Option<&WireDataVersion>,
        now_ms: u64,
    ) -> DataVersionAnswer {
        let key = (cluster.to_string(), broker_addr.to_string());
        let stored = self.live.get(&key).map(|l| l.data_version.clone());
        let changed = stored.is_none() || stored.as_ref() != version;
        self.touch(cluster, broker_addr, now_ms);
        DataVersionAnswer { changed, stored }
    }

    /// `registerTopic` (REGISTER_TOPIC_IN_NAMESRV, 217): `body`'s queue datas become the topic's
    /// on their broker names, as Java does it: every name must be a registered group's (Java's
    /// `brokerAddrTable`, live or not); at the first that is not it stops, keeping nothing of a
    /// topic it did not know and, of a known topic, the queue datas put before it.
    pub fn register_topic(&mut self, topic: &str, body: RegisterTopicBody) -> TopicRegistered {
        let mut done = TopicRegistered::default();
        let mut queues = self.topics.get(topic).cloned();
        let known = queues.is_some();
        let queues_mut = queues.get_or_insert_with(BTreeMap::new);
        for q in body.queue_datas {
            let name = match &q.broker_name {
                Some(n) if self.brokers.contains_key(n) => n.clone(),
                _ => {
                    done.stopped_at = Some(q);
                    break;
                }
            };
            queues_mut.insert(
                name.clone(),
                QueueData {
                    broker_name: name,
                    read_queue_nums: q.read_queue_nums,
                    write_queue_nums: q.write_queue_nums,
                    perm: q.perm,
                    topic_sys_flag: q.topic_sys_flag,
                },
            );
            done.put += 1;
        }
        if done.stopped_at.is_some() && !known {
            done.put = 0;
        } else if done.put > 0 {
            self.topics
                .insert(topic.to_string(), queues.unwrap_or_default());
        }
        done
    }

    /// `getBrokerMemberGroup` (GET_BROKER_MEMBER_GROUP, 901): the group named `broker_name` and
    /// every address in it; the request's names as sent, the addresses empty for a name not
    /// registered.
    pub fn broker_member_group(
        &self,
        cluster: Option<&str>,
        broker_name: Option<&str>,
    ) -> BrokerMemberGroup {
        BrokerMemberGroup {
            cluster: cluster.map(str::to_string),
            broker_name: broker_name.map(str::to_string),
            broker_addrs: broker_name
                .and_then(|n| self.brokers.get(n))
                .map(|b| b.broker_addrs.clone())
                .unwrap_or_default(),
        }
    }

    /// `getUnitTopics`, `getHasUnitSubTopicList`, `getHasUnitSubUnUnitTopicList` (311-313): the
    /// topics whose first queue data's `topicSysFlag` passes `which`'s test. "First" is what
    /// Java's `queueDatas.values().iterator().next()` gives (`java_first_queue_data`), which
    /// matters only when a topic's groups disagree on the flag.
    pub fn unit_topic_list(&self, which: UnitTopicList) -> Vec<&str> {
        self.topics
            .iter()
            .filter(|(_, queues)| {
                java_first_queue_data(queues).is_some_and(|q| which.takes(q.topic_sys_flag))
            })
            .map(|(topic, _)| topic.as_str())
            .collect()
    }

    /// Whether `(cluster, broker_addr)` is registered and not expired.
    pub fn is_live(&self, cluster: &str, broker_addr: &str) -> bool {
        self.live
            .contains_key(&(cluster.to_string(), broker_addr.to_string()))
    }

    /// How many addresses are registered (live entries).
    pub fn live_count(&self) -> usize {
        self.live.len()
    }
}

/// The queue data a Java `HashMap<String, QueueData>` holding `queues` iterates first: the one in
/// the lowest bucket, `(h ^ h >>> 16) & (capacity - 1)` with `h` the broker name's
/// `String.hashCode` and the capacity 16, doubled while the map holds more than three quarters of
/// it. Within one bucket Java goes by insertion order, which the table does not keep, so by name.
fn java_first_queue_data(queues: &BTreeMap<String, QueueData>) -> Option<&QueueData> {
    let mut capacity = 16usize;
    while queues.len() > capacity / 4 * 3 {
        capacity *= 2;
    }
    let bucket = |name: &str| {
        let h = java_hash_extend(0, name) as u32;
        (h ^ (h >> 16)) as usize & (capacity - 1)
    };
    queues
        .iter()
        .min_by_key(|(name, _)| bucket(name))
        .map(|(_, q)| q)
}

#[cfg(test)]
mod tests;
