use super::*;
use crate::cluster::register::{
    RegisterBrokerRequest, TopicConfigWrapper, UnregisterBrokerRequest,
};

fn topics(names: &[(&str, i32)], counter: i64) -> TopicConfigWrapper {
    TopicConfigWrapper {
        topic_config_table: names
            .iter()
            .map(|(n, q)| (n.to_string(), TopicConfig::new(n, *q)))
            .collect(),
        data_version: WireDataVersion {
            counter,
            state_version: 0,
            timestamp: 1,
        },
    }
}

fn reg(name: &str, id: u64, addr: &str, t: TopicConfigWrapper) -> RegisterBrokerRequest {
    RegisterBrokerRequest {
        cluster: "c1".into(),
        broker_name: name.into(),
        broker_addr: addr.into(),
        broker_id: id,
        ha_server_addr: format!("{addr}-ha"),
        heartbeat_timeout_ms: None,
        enable_acting_master: Some(false),
        topics: t,
    }
}

const T: u64 = DEFAULT_BROKER_EXPIRY_MS;
fn peer(port: u16) -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn two_groups() -> RouteTable {
    let mut rt = RouteTable::default();
    let t = topics(&[("orders", 4), ("TBW102", 8)], 1);
    assert!(rt
        .register(reg("a", 0, "h:1", t.clone()), peer(1), T, 0)
        .is_some());
    assert!(rt.register(reg("b", 0, "h:2", t), peer(2), T, 0).is_some());
    rt
}

#[test]
fn a_topic_held_by_two_groups_routes_to_both() {
    let rt = two_groups();
    let r = rt.route("orders").unwrap();
    let names: Vec<&str> = r
        .broker_datas
        .iter()
        .map(|b| b.broker_name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(r.queue_datas.len(), 2);
    assert_eq!(r.queue_datas[0].write_queue_nums, 4);
    assert!(rt.route("nope").is_none());
    assert_eq!(rt.topic_list(), ["TBW102", "orders"]);
    let info = rt.cluster_info();
    assert_eq!(info.cluster_addr_table["c1"].len(), 2);
    assert_eq!(info.broker_addr_table["b"].broker_addrs[&0], "h:2");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["brokerDatas"][0]["brokerAddrs"]["0"], "h:1");
}

#[test]
fn a_first_registration_with_one_topic_is_refused() {
    let mut rt = RouteTable::default();
    assert!(rt
        .register(reg("a", 0, "h:1", topics(&[("x", 1)], 1)), None, T, 0)
        .is_none());
    assert!(rt.route("x").is_none());
    // Once registered, a single-topic (incremental) registration is fine.
    rt.register(
        reg("a", 0, "h:1", topics(&[("x", 1), ("y", 1)], 1)),
        None,
        T,
        0,
    );
    assert!(rt
        .register(reg("a", 0, "h:1", topics(&[("z", 2)], 2)), None, T, 0)
        .is_some());
    assert!(rt.route("z").is_some());
}

#[test]
fn queue_data_changes_only_with_the_data_version_and_only_from_the_master() {
    let mut rt = two_groups();
    // Same version, different queues: ignored (Java compares data versions).
    rt.register(
        reg("a", 0, "h:1", topics(&[("orders", 16), ("TBW102", 8)], 1)),
        peer(1),
        T,
        1,
    );
    assert_eq!(
        rt.route("orders").unwrap().queue_datas[0].write_queue_nums,
        4
    );
    rt.register(
        reg("a", 0, "h:1", topics(&[("orders", 16), ("TBW102", 8)], 2)),
        peer(1),
        T,
        2,
    );
    assert_eq!(
        rt.route("orders").unwrap().queue_datas[0].write_queue_nums,
        16
    );
    // A slave's topics are not used.
    rt.register(
        reg("a", 1, "h:3", topics(&[("slaveonly", 1), ("q", 1)], 9)),
        peer(3),
        T,
        2,
    );
    assert!(rt.route("slaveonly").is_none());
    let a = &rt.route("orders").unwrap().broker_datas[0];
    assert_eq!(a.broker_addrs.len(), 2, "master and slave listed");
}

#[test]
fn a_slave_learns_its_live_masters_addresses() {
    let mut rt = two_groups();
    let t = topics(&[("orders", 4), ("TBW102", 8)], 1);
    let m = rt
        .register(reg("a", 1, "h:3", t.clone()), peer(3), T, 1)
        .unwrap();
    assert_eq!(m.master_addr.as_deref(), Some("h:1"));
    assert_eq!(m.ha_server_addr.as_deref(), Some("h:1-ha"));
    let m = rt
        .register(reg("a", 0, "h:1", t.clone()), peer(1), T, 1)
        .unwrap();
    assert_eq!(m, MasterInfo::default(), "a master gets nothing");
    rt.channel_closed(peer(1).unwrap());
    let m = rt.register(reg("a", 1, "h:3", t), peer(3), T, 2).unwrap();
    assert_eq!(m, MasterInfo::default(), "the master is gone");
}

#[test]
fn a_promoted_slave_replaces_its_old_id() {
    let mut rt = two_groups();
    let t = topics(&[("orders", 4), ("TBW102", 8)], 1);
    rt.register(reg("a", 1, "h:3", t.clone()), peer(3), T, 1);
    rt.register(reg("a", 0, "h:3", t), peer(3), T, 2);
    let a = &rt.cluster_info().broker_addr_table["a"];
    assert_eq!(a.broker_addrs.len(), 1);
    assert_eq!(a.broker_addrs[&0], "h:3");
}

#[test]
fn an_address_not_reregistered_in_time_expires_and_its_group_goes() {
    let mut rt = two_groups();
    rt.register(
        reg("a", 0, "h:1", topics(&[("orders", 4)], 1)),
        peer(1),
        T,
        100_000,
    );
    assert!(
        rt.expire(T).is_empty(),
        "exactly at the timeout is still live"
    );
    let gone = rt.expire(T + 1);
    assert_eq!(
        gone,
        [Removed {
            cluster: "c1".into(),
            broker_addr: "h:2".into()
        }]
    );
    let r = rt.route("orders").unwrap();
    assert_eq!(r.broker_datas.len(), 1);
    assert_eq!(r.queue_datas.len(), 1);
    assert_eq!(rt.cluster_info().cluster_addr_table["c1"].len(), 1);
    assert_eq!(rt.live_count(), 1);
    // A per-broker heartbeat timeout overrides the default.
    let mut short = reg("c", 0, "h:9", topics(&[("x", 1), ("y", 1)], 1));
    short.heartbeat_timeout_ms = Some(10);
    rt.register(short, None, T, 200_000);
    assert_eq!(rt.expire(200_011).len(), 1);
}

#[test]
fn a_lost_master_leaves_its_slaves_and_queue_data() {
    let mut rt = two_groups();
    let t = topics(&[("orders", 4), ("TBW102", 8)], 1);
    rt.register(reg("a", 1, "h:3", t), peer(3), T, 0);
    rt.channel_closed(peer(1).unwrap());
    let r = rt.route("orders").unwrap();
    let a = r
        .broker_datas
        .iter()
        .find(|b| b.broker_name == "a")
        .unwrap();
    assert_eq!(a.broker_addrs.keys().copied().collect::<Vec<_>>(), [1]);
    assert_eq!(r.queue_datas.len(), 2);
}

#[test]
fn unregister_removes_only_the_named_address() {
    let mut rt = two_groups();
    let wrong = UnregisterBrokerRequest {
        cluster: "c1".into(),
        broker_name: "a".into(),
        broker_addr: "h:2".into(),
        broker_id: 0,
    };
    assert!(rt.unregister(&wrong).is_none());
    assert!(rt.route("orders").unwrap().broker_datas.len() == 2);
    let right = UnregisterBrokerRequest {
        broker_addr: "h:1".into(),
        ..wrong
    };
    assert!(rt.unregister(&right).is_some());
    let r = rt.route("orders").unwrap();
    assert_eq!(r.broker_datas.len(), 1);
    assert_eq!(r.broker_datas[0].broker_name, "b");
    assert!(!rt.cluster_info().broker_addr_table.contains_key("a"));
}

#[test]
fn the_local_broker_never_expires() {
    let mut rt = RouteTable::default();
    rt.register(
        reg("me", 0, "h:1", topics(&[("x", 1), ("y", 1)], 1)),
        None,
        u64::MAX,
        5,
    );
    assert!(rt.expire(u64::MAX).is_empty());
}

#[test]
fn cluster_info_and_routes_parse_back_in_either_json_form() {
    let rt = two_groups();
    let info = rt.cluster_info();
    let ours = serde_json::to_vec(&info).unwrap();
    assert_eq!(ClusterInfo::decode(&ours).unwrap(), info);
    let java = br#"{"brokerAddrTable":{"a":{"brokerAddrs":{0:"h:1"},"brokerName":"a","cluster":"c1","enableActingMaster":false,"zoneName":null}},"clusterAddrTable":{"c1":["a"]}}"#;
    let parsed = ClusterInfo::decode(java).unwrap();
    assert_eq!(parsed.broker_addr_table["a"].broker_addrs[&0], "h:1");
    let route = rt.route("orders").unwrap();
    let bytes = serde_json::to_vec(&route).unwrap();
    assert_eq!(TopicRouteData::decode(&bytes).unwrap(), route);
}

#[test]
fn a_topic_is_deleted_everywhere_or_only_in_one_cluster() {
    let mut rt = two_groups();
    let other = RegisterBrokerRequest {
        cluster: "c2".into(),
        ..reg("x", 0, "h:3", topics(&[("orders", 2), ("TBW102", 8)], 1))
    };
    assert!(rt.register(other, peer(3), T, 0).is_some());
    assert_eq!(rt.topics_by_cluster("c2"), ["TBW102", "orders"]);
    assert!(rt.topics_by_cluster("nope").is_empty());
    assert!(rt.delete_topic("orders", Some("c1")));
    let left: Vec<String> = rt
        .route("orders")
        .unwrap()
        .queue_datas
        .into_iter()
        .map(|q| q.broker_name)
        .collect();
    assert_eq!(left, ["x"]);
    assert!(!rt.delete_topic("orders", Some("c1")));
    assert!(!rt.delete_topic("orders", Some("no-such-cluster")));
    assert!(rt.delete_topic("orders", None));
    assert!(rt.route("orders").is_none());
    assert!(!rt.delete_topic("orders", None));
    assert_eq!(rt.topics_by_cluster("c1"), ["TBW102"]);
}

#[test]
fn write_perm_is_wiped_and_given_back_per_group() {
    let mut rt = two_groups();
    assert_eq!(rt.set_write_perm("a", true), 2);
    let perms = |rt: &RouteTable| -> Vec<(String, i32)> {
        let r = rt.route("orders").unwrap();
        r.queue_datas
            .into_iter()
            .map(|q| (q.broker_name, q.perm))
            .collect()
    };
    assert_eq!(
        perms(&rt),
        [
            ("a".into(), PERM_READ),
            ("b".into(), PERM_READ | PERM_WRITE)
        ]
    );
    // The same data version re-registered does not undo it.
    let same = reg("a", 0, "h:1", topics(&[("orders", 4), ("TBW102", 8)], 1));
    rt.register(same, peer(1), T, 1).unwrap();
    assert_eq!(perms(&rt)[0].1, PERM_READ);
    assert_eq!(rt.set_write_perm("a", false), 2);
    assert_eq!(perms(&rt)[0].1, PERM_READ | PERM_WRITE);
    assert_eq!(rt.set_write_perm("nobody", true), 0);
}

#[test]
fn the_system_topic_list_names_clusters_and_groups() {
    let rt = two_groups();
    let (names, addr) = rt.system_topic_list();
    assert_eq!(names, ["c1", "a", "b"]);
    assert_eq!(addr, Some("h:1"));
    assert_eq!(RouteTable::default().system_topic_list(), (vec![], None));
}
