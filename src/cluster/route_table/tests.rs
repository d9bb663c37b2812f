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

fn version(counter: i64, state_version: i64, timestamp: i64) -> WireDataVersion {
    WireDataVersion {
        counter,
        state_version,
        timestamp,
    }
}

/// QUERY_DATA_VERSION: `changed` unless the stored version equals the one asked about in all
/// three fields (Java's `DataVersion.equals`); the stored version comes back; a live entry's
/// expiry starts again, an unknown address stays unknown.
#[test]
fn a_data_version_query_compares_all_three_fields_and_keeps_the_broker_alive() {
    let mut rt = RouteTable::default();
    let t = topics(&[("orders", 4), ("TBW102", 8)], 3);
    rt.register(reg("a", 0, "h:1", t), peer(1), 1_000, 0);
    let stored = version(3, 0, 1);
    let same = rt.query_data_version("c1", "h:1", Some(&stored), 900);
    assert_eq!(
        same,
        DataVersionAnswer {
            changed: false,
            stored: Some(stored.clone())
        }
    );
    for other in [version(4, 0, 1), version(3, 1, 1), version(3, 0, 2)] {
        let a = rt.query_data_version("c1", "h:1", Some(&other), 900);
        assert!(a.changed, "{other:?}");
        assert_eq!(a.stored.as_ref(), Some(&stored));
    }
    // No version sent: changed (Java's `prev.equals(null)`).
    assert!(rt.query_data_version("c1", "h:1", None, 900).changed);
    // Another cluster, another address: no entry, changed, nothing stored, nothing created.
    for (c, a) in [("c2", "h:1"), ("c1", "h:9")] {
        assert_eq!(
            rt.query_data_version(c, a, Some(&stored), 900),
            DataVersionAnswer {
                changed: true,
                stored: None
            }
        );
    }
    assert_eq!(rt.live_count(), 1);
    // Touched at 900 with a 1000 ms timeout: alive at 1900, gone after.
    assert!(rt.expire(1_900).is_empty());
    assert_eq!(rt.expire(1_901).len(), 1);
    assert!(
        rt.query_data_version("c1", "h:1", Some(&stored), 2_000)
            .changed
    );
}

/// BROKER_HEARTBEAT: a live entry's expiry starts again; an unknown one is not created.
#[test]
fn a_heartbeat_postpones_expiry_of_a_live_entry_only() {
    let mut rt = two_groups();
    assert!(rt.touch("c1", "h:1", T));
    assert!(!rt.touch("c1", "h:9", T));
    assert!(!rt.touch("c2", "h:1", T));
    let gone = rt.expire(T + 1);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].broker_addr, "h:2");
    assert!(rt.is_live("c1", "h:1"));
    assert!(!rt.is_live("c1", "h:9"));
    assert_eq!(rt.expire(2 * T + 1).len(), 1);
}

fn queue_data(name: Option<&str>, queues: i32) -> TopicQueueData {
    TopicQueueData {
        broker_name: name.map(str::to_string),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        topic_sys_flag: 0,
    }
}

fn body(queue_datas: Vec<TopicQueueData>) -> RegisterTopicBody {
    RegisterTopicBody { queue_datas }
}

/// REGISTER_TOPIC_IN_NAMESRV: a new topic is routed to registered groups; a name not registered
/// stops it, as in Java: nothing of a new topic is kept, of a known one what came before.
#[test]
fn a_registered_topic_is_routed_unless_it_names_an_unknown_group() {
    let mut rt = two_groups();
    let done = rt.register_topic("created", body(vec![queue_data(Some("a"), 2)]));
    assert_eq!(
        done,
        TopicRegistered {
            put: 1,
            stopped_at: None
        }
    );
    let r = rt.route("created").unwrap();
    assert_eq!(r.queue_datas.len(), 1);
    assert_eq!(r.queue_datas[0].write_queue_nums, 2);
    assert_eq!(r.broker_datas[0].broker_addrs[&0], "h:1");

    // A new topic naming an unknown group, even after a known one: nothing kept.
    let done = rt.register_topic(
        "new",
        body(vec![queue_data(Some("a"), 2), queue_data(Some("x"), 2)]),
    );
    assert_eq!(done.put, 0);
    assert_eq!(done.stopped_at, Some(queue_data(Some("x"), 2)));
    assert!(rt.route("new").is_none());
    assert!(!rt.topic_list().contains(&"new"));

    // A known topic: the queue datas before the unknown one are put, those after it are not.
    let done = rt.register_topic(
        "created",
        body(vec![
            queue_data(Some("a"), 8),
            queue_data(None, 1),
            queue_data(Some("b"), 1),
        ]),
    );
    assert_eq!(done.put, 1);
    assert_eq!(done.stopped_at, Some(queue_data(None, 1)));
    let r = rt.route("created").unwrap();
    assert_eq!(r.queue_datas.len(), 1);
    assert_eq!(r.queue_datas[0].read_queue_nums, 8);

    // An existing topic gains a second group; an empty list changes nothing.
    rt.register_topic("created", body(vec![queue_data(Some("b"), 3)]));
    assert_eq!(rt.route("created").unwrap().queue_datas.len(), 2);
    assert_eq!(
        rt.register_topic("empty", body(vec![])),
        TopicRegistered::default()
    );
    assert!(rt.route("empty").is_none());
}

#[test]
fn a_register_topic_body_reads_as_fastjson_does() {
    // What a Java 5.3.3 broker sends (`BrokerOuterAPI.registerSingleTopicAll`).
    let java = br#"{"brokerDatas":[],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;
    let b = RegisterTopicBody::decode(java).unwrap();
    assert_eq!(b.queue_datas.len(), 1);
    assert_eq!(b.queue_datas[0].broker_name.as_deref(), Some("broker-a"));
    assert_eq!(b.queue_datas[0].read_queue_nums, 8);
    assert_eq!(
        RegisterTopicBody::decode(br#"{"queueDatas":[{"perm":4}]}"#).unwrap(),
        body(vec![TopicQueueData {
            perm: 4,
            ..TopicQueueData::default()
        }])
    );
    assert_eq!(RegisterTopicBody::decode(b"{}").unwrap(), body(vec![]));
    assert!(RegisterTopicBody::decode(b"{not json").is_err());
}

/// GET_BROKER_MEMBER_GROUP: the group by name (the cluster is only echoed, as in Java), written
/// as Java's fastjson writes it.
#[test]
fn a_member_group_lists_every_address_with_bare_id_keys() {
    let mut rt = two_groups();
    rt.register(reg("a", 1, "h:11", topics(&[], 2)), peer(11), T, 0);
    let g = rt.broker_member_group(Some("c1"), Some("a"));
    assert_eq!(
        String::from_utf8(g.encode_response()).unwrap(),
        r#"{"brokerMemberGroup":{"brokerAddrs":{0:"h:1",1:"h:11"},"brokerName":"a","cluster":"c1"}}"#
    );
    assert_eq!(BrokerMemberGroup::decode(&g.encode_response()).unwrap(), g);
    assert_eq!(
        rt.broker_member_group(Some("other"), Some("b"))
            .broker_addrs
            .len(),
        1
    );
    let none = rt.broker_member_group(Some("c1"), Some("nope"));
    assert_eq!(
        String::from_utf8(none.encode_response()).unwrap(),
        r#"{"brokerMemberGroup":{"brokerAddrs":{},"brokerName":"nope","cluster":"c1"}}"#
    );
    // Fields not sent are null in Java, which fastjson leaves out.
    let bare = rt.broker_member_group(None, None);
    assert_eq!(
        String::from_utf8(bare.encode_response()).unwrap(),
        r#"{"brokerMemberGroup":{"brokerAddrs":{}}}"#
    );
    let quoted = br#"{"brokerMemberGroup":{"brokerAddrs":{"0":"x:1"},"brokerName":"n"}}"#;
    assert_eq!(
        BrokerMemberGroup::decode(quoted).unwrap().broker_addrs[&0],
        "x:1"
    );
}

fn with_flag(name: &str, flag: i32) -> TopicConfig {
    let mut t = TopicConfig::new(name, 1);
    t.topic_sys_flag = flag;
    t
}

/// 311-313: filtered by the unit (bit 0) and unit-sub (bit 1) flags of a topic's first queue
/// data, in Java's HashMap order.
#[test]
fn unit_topic_lists_follow_the_sys_flag() {
    let mut rt = RouteTable::default();
    let mut t = topics(&[], 1);
    for (name, flag) in [("plain", 0), ("unit", 1), ("sub", 2), ("both", 3)] {
        t.topic_config_table
            .insert(name.into(), with_flag(name, flag));
    }
    rt.register(reg("a", 0, "h:1", t), peer(1), T, 0);
    assert_eq!(rt.unit_topic_list(UnitTopicList::Unit), ["both", "unit"]);
    assert_eq!(
        rt.unit_topic_list(UnitTopicList::HasUnitSub),
        ["both", "sub"]
    );
    assert_eq!(
        rt.unit_topic_list(UnitTopicList::HasUnitSubNotUnit),
        ["sub"]
    );

    // Two groups that disagree: Java's HashMap iterates "broker-b" before "broker-a".
    let mut rt = RouteTable::default();
    let mut t = topics(&[("other", 1)], 1);
    t.topic_config_table
        .insert("mixed".into(), with_flag("mixed", 1));
    rt.register(reg("broker-a", 0, "h:1", t), peer(1), T, 0);
    let mut t = topics(&[("other", 1)], 1);
    t.topic_config_table
        .insert("mixed".into(), with_flag("mixed", 0));
    rt.register(reg("broker-b", 0, "h:2", t), peer(2), T, 0);
    assert!(rt.unit_topic_list(UnitTopicList::Unit).is_empty());
}

/// The first entry of Java's `HashMap<String, _>`, as `java.util.HashMap` of JDK 17 gives it
/// for these keys (checked with a two-line Java program).
#[test]
fn the_first_queue_data_is_javas_hashmap_first() {
    let first = |names: &[&str]| {
        let queues: BTreeMap<String, QueueData> = names
            .iter()
            .map(|n| (n.to_string(), QueueData::of(n, &TopicConfig::new("t", 1))))
            .collect();
        java_first_queue_data(&queues).map(|q| q.broker_name.clone())
    };
    assert_eq!(first(&["broker-a", "broker-b"]).unwrap(), "broker-b");
    assert_eq!(first(&["b", "a"]).unwrap(), "a");
    assert_eq!(
        first(&["broker-b", "broker-a", "broker-c"]).unwrap(),
        "broker-b"
    );
    assert_eq!(first(&["z", "a", "m", "broker-x", "q"]).unwrap(), "a");
    // 20 entries: a 32-bucket table.
    let many: Vec<String> = (0..20).map(|i| format!("g{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(first(&many).unwrap(), "g11");
    assert_eq!(first(&[]), None);
}
