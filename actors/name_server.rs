//! `NameServer`: the built-in name-server role (RocketMQ's `ClientRequestProcessor` and the
//! cluster/topic-list parts of `DefaultRequestProcessor`), so a stock client can point its name
//! server at actormq and find this broker.
//!
//! Owns a snapshot of the topic table (replaced by `TopicsChanged` from the SendProcessor) and the
//! broker's identity and address. Receives `Request`s for `GET_ROUTEINFO_BY_TOPIC` (105),
//! `GET_BROKER_CLUSTER_INFO` (106) and `GET_ALL_TOPIC_LIST_FROM_NAMESERVER` (206) from connections of
//! the name-server listener. Talks to nobody. Runs on the system arbiter.
//!
//! Routes use standard JSON (the broker-id key quoted, `"0"`), what modern clients ask for
//! (`rocketmq-reference.md` §3.5). While topics are auto-created, `TBW102` has a route, which is how
//! a stock producer learns it may send to a topic that does not exist yet.

use std::sync::Arc;

use actix::prelude::*;
use serde_json::json;

use super::connection::Request;
use super::dispatcher::TopicsChanged;
use super::metrics::stats;
use super::processor_table::Processor;
use actormq::protocol::header::ExtReader;
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::topic::{TopicConfig, TopicTable, PERM_READ, PERM_WRITE};

/// RocketMQ's default topic, the template of auto-created topics.
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// PermName.INHERIT: TBW102's routes carry it.
const PERM_INHERIT: i32 = 1;

pub struct NameServer {
    topics: Arc<TopicTable>,
    broker_name: String,
    cluster: String,
    /// `ip:port` clients should send to.
    broker_addr: String,
    auto_create_topic: bool,
    default_queue_nums: i32,
}

impl NameServer {
    pub fn new(
        topics: Arc<TopicTable>,
        broker: &actormq::config::BrokerIdentity,
        broker_addr: String,
    ) -> Self {
        NameServer {
            topics,
            broker_name: broker.name.clone(),
            cluster: broker.cluster.clone(),
            broker_addr,
            auto_create_topic: broker.auto_create_topic,
            default_queue_nums: broker.default_topic_queue_nums as i32,
        }
    }

    /// The topic's config, or TBW102's while auto-create is on.
    fn route_config(&self, topic: &str) -> Option<TopicConfig> {
        if let Some(t) = self.topics.get(topic) {
            return Some(t.clone());
        }
        (topic == AUTO_CREATE_TOPIC && self.auto_create_topic).then(|| {
            let mut t = TopicConfig::new(AUTO_CREATE_TOPIC, self.default_queue_nums);
            t.perm = PERM_READ | PERM_WRITE | PERM_INHERIT;
            t
        })
    }

    fn answer(&self, cmd: &RemotingCommand) -> RemotingCommand {
        let ok = |body: serde_json::Value| {
            let bytes = serde_json::to_vec(&body).expect("json serializes");
            cmd.response_to(response_code::SUCCESS, None)
                .with_body(bytes.into())
        };
        match cmd.code {
            request_code::GET_ROUTEINFO_BY_TOPIC => {
                let topic = match ExtReader::for_request(cmd).str("topic") {
                    Ok(t) => t,
                    Err(e) => return cmd.response_to(e.response_code(), Some(e.to_string())),
                };
                let Some(t) = self.route_config(topic) else {
                    let remark =
                        format!("No topic route info in name server for the topic: {topic}");
                    return cmd.response_to(response_code::TOPIC_NOT_EXIST, Some(remark));
                };
                ok(json!({
                    "brokerDatas": [{
                        "brokerAddrs": { "0": self.broker_addr },
                        "brokerName": self.broker_name,
                        "cluster": self.cluster,
                        "enableActingMaster": false,
                    }],
                    "filterServerTable": {},
                    "queueDatas": [{
                        "brokerName": self.broker_name,
                        "perm": t.perm,
                        "readQueueNums": t.read_queue_nums,
                        "topicSysFlag": t.topic_sys_flag,
                        "writeQueueNums": t.write_queue_nums,
                    }],
                }))
            }
            request_code::GET_BROKER_CLUSTER_INFO => ok(json!({
                "brokerAddrTable": {
                    &self.broker_name: {
                        "brokerAddrs": { "0": self.broker_addr },
                        "brokerName": self.broker_name,
                        "cluster": self.cluster,
                        "enableActingMaster": false,
                    }
                },
                "clusterAddrTable": { &self.cluster: [self.broker_name] },
            })),
            _ => {
                let mut list: Vec<&str> = self
                    .topics
                    .topic_config_table
                    .keys()
                    .map(String::as_str)
                    .collect();
                if self.auto_create_topic {
                    list.push(AUTO_CREATE_TOPIC);
                }
                ok(json!({ "topicList": list }))
            }
        }
    }
}

impl Actor for NameServer {
    type Context = Context<Self>;
}

/// The request codes connections hand this actor.
impl Processor for NameServer {
    const CODES: &'static [i32] = &[
        request_code::GET_ROUTEINFO_BY_TOPIC,
        request_code::GET_BROKER_CLUSTER_INFO,
        request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
    ];
}

impl Handler<Request> for NameServer {
    type Result = ();

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) {
        let _timer = stats().name_server.handling();
        let response = self.answer(&req.cmd);
        req.reply.send(response);
    }
}

impl Handler<TopicsChanged> for NameServer {
    type Result = ();

    fn handle(&mut self, TopicsChanged(topics): TopicsChanged, _ctx: &mut Context<Self>) {
        let _timer = stats().name_server.handling();
        self.topics = topics;
    }
}
