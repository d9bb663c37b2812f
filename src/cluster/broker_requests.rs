//! The broker's two lighter requests to a name server, besides REGISTER_BROKER
//! (`rocketmq-reference-2.md` §8.3):
//!
//! - QUERY_DATA_VERSION (322), Java's `BrokerOuterAPI.needRegister`: with `forceRegister=false` a
//!   broker asks each name server whether the topic-table version it holds is the broker's before
//!   sending the whole table again. The query also refreshes the registration's liveness, so for a
//!   broker with many topics it is a cheap keep-alive.
//! - REGISTER_TOPIC_IN_NAMESRV (217), Java's `registerSingleTopicAll` (`enableSingleTopicRegister`):
//!   one created or changed topic's queue data, instead of the whole table.
//!
//! Which topics changed between two topic-table snapshots is decided here too.

use std::collections::BTreeMap;

use super::register::{BrokerRegistration, WireDataVersion};
use super::route_table::{QueueData, TopicRouteData};
use crate::broker_permission::BrokerPermission;
use crate::protocol::header::java_parse_boolean;
use crate::protocol::{request_code, response_code, RemotingCommand};
use crate::topic::{TopicConfig, TopicTable};

/// QUERY_DATA_VERSION for `me`, carrying the data version of the table it would register.
pub fn query_data_version_request(
    me: &BrokerRegistration,
    version: &WireDataVersion,
) -> RemotingCommand {
    let body = serde_json::to_vec(version).expect("plain data serializes");
    RemotingCommand::request(request_code::QUERY_DATA_VERSION, 0)
        .with_ext("brokerName", &me.broker_name)
        .with_ext("brokerAddr", &me.broker_addr)
        .with_ext("clusterName", &me.cluster)
        .with_ext("brokerId", me.broker_id)
        .with_body(body.into())
}

/// Whether a QUERY_DATA_VERSION answer asks for a registration, as Java's `needRegister` reads it:
/// `changed` true or absent, or a name-server version (the body) that differs from `mine` or cannot
/// be read. `None` for an answer other than SUCCESS: Java then skips the registration, actormq
/// registers (a name server that does not know the code must not lose the broker).
pub fn needs_register(resp: &RemotingCommand, mine: &WireDataVersion) -> Option<bool> {
    if resp.code != response_code::SUCCESS {
        return None;
    }
    let changed = resp.ext("changed").is_none_or(java_parse_boolean);
    let differs = !resp.body.is_empty()
        && serde_json::from_slice::<WireDataVersion>(&resp.body).map_or(true, |v| v != *mine);
    Some(changed || differs)
}

/// REGISTER_TOPIC_IN_NAMESRV for one topic of broker group `broker_name`: header `topic`, body a
/// `TopicRouteData` whose only queue data is this broker's (its perm masked with the broker's
/// `permission`, as Java's `registerSingleTopicAll`).
pub fn register_topic_request(
    broker_name: &str,
    topic: &TopicConfig,
    permission: BrokerPermission,
) -> RemotingCommand {
    let route = TopicRouteData {
        order_topic_conf: None,
        broker_datas: Vec::new(),
        filter_server_table: BTreeMap::new(),
        queue_datas: vec![QueueData {
            broker_name: broker_name.to_string(),
            read_queue_nums: topic.read_queue_nums,
            write_queue_nums: topic.write_queue_nums,
            perm: permission.registered_perm(topic.perm),
            topic_sys_flag: topic.topic_sys_flag,
        }],
    };
    let body = serde_json::to_vec(&route).expect("plain data serializes");
    RemotingCommand::request(request_code::REGISTER_TOPIC_IN_NAMESRV, 0)
        .with_ext("topic", &topic.topic_name)
        .with_body(body.into())
}

/// The topics of `new` that `old` lacks or holds with another configuration (deleted topics are not
/// announced: Java leaves a name server's routes to `mqadmin deleteTopic`).
pub fn changed_topics<'a>(old: &TopicTable, new: &'a TopicTable) -> Vec<&'a TopicConfig> {
    new.topic_config_table
        .iter()
        .filter(|(name, t)| old.topic_config_table.get(*name) != Some(*t))
        .map(|(_, t)| t)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::route_table::TopicRouteData;

    fn me() -> BrokerRegistration {
        BrokerRegistration {
            cluster: "c".into(),
            broker_name: "b".into(),
            broker_addr: "10.0.0.1:10911".into(),
            broker_id: 0,
            ha_server_addr: "10.0.0.1:10912".into(),
        }
    }

    fn version(counter: i64) -> WireDataVersion {
        WireDataVersion {
            counter,
            state_version: 0,
            timestamp: 1_700_000_000_000,
        }
    }

    fn answer(changed: Option<&str>, body: Option<&[u8]>) -> RemotingCommand {
        let mut resp = RemotingCommand::request(0, 0);
        resp.code = response_code::SUCCESS;
        if let Some(c) = changed {
            resp = resp.with_ext("changed", c);
        }
        if let Some(b) = body {
            resp = resp.with_body(b.to_vec().into());
        }
        resp
    }

    #[test]
    fn query_names_the_broker_and_carries_its_version() {
        let req = query_data_version_request(&me(), &version(7));
        assert_eq!(req.code, 322);
        assert_eq!(req.ext("brokerName"), Some("b"));
        assert_eq!(req.ext("brokerAddr"), Some("10.0.0.1:10911"));
        assert_eq!(req.ext("clusterName"), Some("c"));
        assert_eq!(req.ext("brokerId"), Some("0"));
        let sent: WireDataVersion = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(sent, version(7));
    }

    #[test]
    fn answers_are_read_as_java_reads_them() {
        let mine = version(7);
        let same = serde_json::to_vec(&mine).unwrap();
        let other = serde_json::to_vec(&version(6)).unwrap();
        assert_eq!(
            needs_register(&answer(Some("false"), Some(&same)), &mine),
            Some(false)
        );
        assert_eq!(
            needs_register(&answer(Some("false"), None), &mine),
            Some(false)
        );
        assert_eq!(
            needs_register(&answer(Some("true"), Some(&same)), &mine),
            Some(true)
        );
        // Java: a null `changed` counts as changed; a differing body overrides `false`.
        assert_eq!(
            needs_register(&answer(None, Some(&same)), &mine),
            Some(true)
        );
        assert_eq!(
            needs_register(&answer(Some("false"), Some(&other)), &mine),
            Some(true)
        );
        assert_eq!(
            needs_register(&answer(Some("false"), Some(b"{oops")), &mine),
            Some(true)
        );
        let mut refused = answer(None, None);
        refused.code = response_code::REQUEST_CODE_NOT_SUPPORTED;
        assert_eq!(needs_register(&refused, &mine), None);
    }

    #[test]
    fn a_single_topic_registration_carries_its_queue_data() {
        let mut t = TopicConfig::new("orders", 8);
        t.read_queue_nums = 4;
        t.topic_sys_flag = 2;
        let req = register_topic_request("b", &t, BrokerPermission::default());
        assert_eq!(req.code, 217);
        assert_eq!(req.ext("topic"), Some("orders"));
        let route = TopicRouteData::decode(&req.body).unwrap();
        assert!(route.broker_datas.is_empty());
        assert_eq!(
            route.queue_datas,
            [QueueData {
                broker_name: "b".into(),
                read_queue_nums: 4,
                write_queue_nums: 8,
                perm: t.perm,
                topic_sys_flag: 2,
            }]
        );
        // A read-only broker announces read-only queues.
        let read_only = BrokerPermission::try_from(4).unwrap();
        let req = register_topic_request("b", &t, read_only);
        assert_eq!(
            TopicRouteData::decode(&req.body).unwrap().queue_datas[0].perm,
            4
        );
    }

    #[test]
    fn changed_topics_are_the_new_and_the_altered() {
        let mut old = TopicTable::default();
        for name in ["a", "b", "gone"] {
            old.topic_config_table
                .insert(name.into(), TopicConfig::new(name, 4));
        }
        let mut new = old.clone();
        new.topic_config_table.remove("gone");
        new.topic_config_table.get_mut("b").unwrap().perm = 4;
        new.topic_config_table
            .insert("c".into(), TopicConfig::new("c", 4));
        let names: Vec<&str> = changed_topics(&old, &new)
            .iter()
            .map(|t| t.topic_name.as_str())
            .collect();
        assert_eq!(names, ["b", "c"]);
        assert!(changed_topics(&new, &new).is_empty());
    }
}
