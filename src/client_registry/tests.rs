use std::cell::Cell;
use std::rc::Rc;

use serde_json::json;

use super::*;

mod admin;

/// A connection handle whose "socket" a test closes by hand.
#[derive(Debug, Clone)]
struct Conn {
    id: u32,
    open: Rc<Cell<bool>>,
}

impl Conn {
    fn new(id: u32) -> Conn {
        Conn {
            id,
            open: Rc::new(Cell::new(true)),
        }
    }

    fn close(&self) {
        self.open.set(false);
    }
}

impl ConnectionHandle for Conn {
    fn is_connected(&self) -> bool {
        self.open.get()
    }
}

fn peer(conn: &Conn) -> Peer<Conn> {
    Peer {
        addr: format!("127.0.0.1:{}", 40000 + conn.id),
        language: LanguageCode::Java,
        version: 479,
        connection: conn.clone(),
    }
}

/// A Java 5.x push consumer's heartbeat body for `group`, subscribed to `topics`.
fn consumer_hb(client: &str, group: &str, topics: &[&str]) -> HeartbeatData {
    let subs: Vec<Value> = topics
        .iter()
        .map(|t| {
            json!({"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*",
                   "subVersion":1700000000000i64,"tagsSet":[],"topic":t})
        })
        .collect();
    let body = json!({
        "clientID": client,
        "consumerDataSet": [{
            "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET",
            "consumeType": "CONSUME_PASSIVELY",
            "groupName": group,
            "messageModel": "CLUSTERING",
            "subscriptionDataSet": subs,
            "unitMode": false
        }],
        "producerDataSet": []
    });
    HeartbeatData::decode(body.to_string().as_bytes()).unwrap()
}

fn producer_hb(client: &str, group: &str) -> HeartbeatData {
    let body = json!({"clientID": client, "producerDataSet": [{"groupName": group}]});
    HeartbeatData::decode(body.to_string().as_bytes()).unwrap()
}

fn json_of(body: Result<Vec<u8>, RegistryError>) -> Value {
    serde_json::from_slice(&body.unwrap()).unwrap()
}

#[test]
fn a_new_consumer_registers_and_its_group_is_notified() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    assert_eq!(
        r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), now),
        ["g"]
    );
    assert_eq!(r.consumer_ids("g"), ["c1"]);
    assert_eq!(
        r.heartbeat(&consumer_hb("c2", "g", &["T"]), peer(&b), now),
        ["g"]
    );
    assert_eq!(r.consumer_ids("g"), ["c1", "c2"]);
    // Both are told, the newcomer too (Java's getAllChannel).
    let told: Vec<u32> = r.consumer_connections("g").iter().map(|c| c.id).collect();
    assert_eq!(told, [1, 2]);
    assert!(r.consumer_ids("other").is_empty());
}

#[test]
fn a_repeated_heartbeat_refreshes_without_notifying() {
    let mut r = ClientRegistry::new(Duration::from_secs(120));
    let t0 = Instant::now();
    let a = Conn::new(1);
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), t0);
    let t1 = t0 + Duration::from_secs(100);
    assert!(r
        .heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), t1)
        .is_empty());
    // Refreshed: not expired 120 s after the first heartbeat, but 120 s after the second.
    assert!(r.sweep(t0 + Duration::from_secs(150)).is_empty());
    assert_eq!(r.consumer_ids("g"), ["c1"]);
    r.sweep(t1 + Duration::from_secs(120));
    assert!(r.consumer_ids("g").is_empty());
}

#[test]
fn a_changed_set_of_topics_notifies_and_replaces_the_subscriptions() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let a = Conn::new(1);
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), now);
    assert_eq!(
        r.heartbeat(&consumer_hb("c1", "g", &["T", "U"]), peer(&a), now),
        ["g"]
    );
    assert_eq!(
        r.heartbeat(&consumer_hb("c1", "g", &["U"]), peer(&a), now),
        ["g"]
    );
    let body = json_of(r.consumer_connection_body("g"));
    let topics: Vec<&String> = body["subscriptionTable"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(topics, ["U"]);
}

#[test]
fn an_older_sub_version_does_not_replace_a_subscription() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let a = Conn::new(1);
    let mut hb = consumer_hb("c1", "g", &["T"]);
    hb.consumer_data_set[0].subscription_data_set[0]
        .fields
        .insert("subString".into(), json!("new"));
    r.heartbeat(&hb, peer(&a), now);
    let mut older = consumer_hb("c2", "g", &["T"]);
    let sub = &mut older.consumer_data_set[0].subscription_data_set[0].fields;
    sub.insert("subString".into(), json!("old"));
    sub.insert("subVersion".into(), json!(1));
    r.heartbeat(&older, peer(&Conn::new(2)), now);
    let body = json_of(r.consumer_connection_body("g"));
    assert_eq!(body["subscriptionTable"]["T"]["subString"], "new");
}

#[test]
fn unregister_removes_the_client_and_notifies_the_rest() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), now);
    r.heartbeat(&consumer_hb("c2", "g", &["T"]), peer(&b), now);
    r.heartbeat(&producer_hb("c1", "pg"), peer(&a), now);
    assert_eq!(r.unregister("c1", Some("pg"), Some("g")), ["g"]);
    assert_eq!(r.consumer_ids("g"), ["c2"]);
    assert!(r.producer_connections("pg").is_empty());
    // Unknown client or group: nothing changes, nobody is told.
    assert!(r.unregister("c9", None, Some("g")).is_empty());
    assert!(r.unregister("c2", None, Some("nope")).is_empty());
    // The last one leaving: no one left to tell, and the group is gone.
    assert!(r.unregister("c2", None, Some("g")).is_empty());
    assert!(matches!(
        r.consumer_connection_body("g"),
        Err(RegistryError::ConsumerNotOnline(_))
    ));
}

#[test]
fn a_closed_connection_is_not_listed_and_is_swept() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), now);
    r.heartbeat(&consumer_hb("c2", "g", &["T"]), peer(&b), now);
    r.heartbeat(&producer_hb("c1", "pg"), peer(&a), now);
    a.close();
    // Not listed even before the sweep.
    assert_eq!(r.consumer_ids("g"), ["c2"]);
    assert!(r.producer_connections("pg").is_empty());
    assert!(r.producer_connection_body("pg").is_err());
    // The sweep forgets it and names the group for its remaining consumer.
    assert_eq!(r.sweep(now), ["g"]);
    assert!(r.sweep(now).is_empty());
    let told: Vec<u32> = r.consumer_connections("g").iter().map(|c| c.id).collect();
    assert_eq!(told, [2]);
    // The last one closing: nobody to tell, the group is gone.
    b.close();
    assert!(r.sweep(now).is_empty());
    assert!(matches!(
        r.consumer_list_body("g"),
        Err(RegistryError::NoConsumer(_))
    ));
}

#[test]
fn a_silent_client_expires() {
    let mut r = ClientRegistry::new(Duration::from_secs(120));
    let t0 = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), t0);
    let t1 = t0 + Duration::from_secs(60);
    r.heartbeat(&consumer_hb("c2", "g", &["T"]), peer(&b), t1);
    r.heartbeat(&producer_hb("p1", "pg"), peer(&a), t0);
    assert!(r.sweep(t0 + Duration::from_secs(119)).is_empty());
    assert_eq!(r.sweep(t0 + Duration::from_secs(120)), ["g"]);
    assert_eq!(r.consumer_ids("g"), ["c2"]);
    assert!(r.producer_connection_body("pg").is_err());
}

#[test]
fn broadcasting_groups_are_never_notified() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    let broadcast = |client: &str| {
        let mut hb = consumer_hb(client, "bg", &["T"]);
        hb.consumer_data_set[0].message_model = Some(json!("BROADCASTING"));
        hb
    };
    assert!(r.heartbeat(&broadcast("c1"), peer(&a), now).is_empty());
    assert!(r.heartbeat(&broadcast("c2"), peer(&b), now).is_empty());
    a.close();
    assert!(r.sweep(now).is_empty());
    assert!(r.unregister("c2", None, Some("bg")).is_empty());
    // By ordinal too (the C++ client writes enums as numbers).
    let mut hb = consumer_hb("c3", "bg2", &["T"]);
    hb.consumer_data_set[0].message_model = Some(json!(0));
    assert!(r.heartbeat(&hb, peer(&Conn::new(3)), now).is_empty());
}

#[test]
fn consumer_connection_body_is_javas_consumer_connection() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    r.heartbeat(&consumer_hb("c2", "g", &["T"]), peer(&b), now);
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), now);
    let body = String::from_utf8(r.consumer_connection_body("g").unwrap()).unwrap();
    let want = concat!(
        r#"{"connectionSet":["#,
        r#"{"clientAddr":"127.0.0.1:40001","clientId":"c1","language":"JAVA","version":479},"#,
        r#"{"clientAddr":"127.0.0.1:40002","clientId":"c2","language":"JAVA","version":479}],"#,
        r#""consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","#,
        r#""messageModel":"CLUSTERING","subscriptionTable":{"T":{"classFilterMode":false,"#,
        r#""codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000000,"#,
        r#""tagsSet":[],"topic":"T"}}}"#
    );
    assert_eq!(body, want);
    let err = r.consumer_connection_body("nope").unwrap_err();
    assert_eq!(err.to_string(), "the consumer group[nope] not online");
    assert_eq!(err.response_code(), response_code::CONSUMER_NOT_ONLINE);
}

#[test]
fn a_consumer_without_enums_leaves_them_out() {
    // As fastjson leaves out null fields.
    let mut r = ClientRegistry::default();
    let hb = br#"{"clientID":"c1","producerDataSet":[],"consumerDataSet":[{"groupName":"g"}]}"#;
    let hb = HeartbeatData::decode(hb).unwrap();
    r.heartbeat(&hb, peer(&Conn::new(1)), Instant::now());
    let body = String::from_utf8(r.consumer_connection_body("g").unwrap()).unwrap();
    assert_eq!(
        body,
        r#"{"connectionSet":[{"clientAddr":"127.0.0.1:40001","clientId":"c1","language":"JAVA","version":479}],"subscriptionTable":{}}"#
    );
}

#[test]
fn producer_connection_body_is_javas_producer_connection() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let a = Conn::new(1);
    let mut go = peer(&Conn::new(2));
    go.language = LanguageCode::Go;
    go.version = 317;
    r.heartbeat(&producer_hb("p1", "pg"), peer(&a), now);
    r.heartbeat(&producer_hb("p2", "pg"), go, now);
    let body = String::from_utf8(r.producer_connection_body("pg").unwrap()).unwrap();
    assert_eq!(
        body,
        concat!(
            r#"{"connectionSet":["#,
            r#"{"clientAddr":"127.0.0.1:40001","clientId":"p1","language":"JAVA","version":479},"#,
            r#"{"clientAddr":"127.0.0.1:40002","clientId":"p2","language":"GO","version":317}]}"#
        )
    );
    let err = r.producer_connection_body("nope").unwrap_err();
    assert_eq!(err.to_string(), "the producer group[nope] not exist");
    assert_eq!(err.response_code(), response_code::SYSTEM_ERROR);
    let told: Vec<u32> = r.producer_connections("pg").iter().map(|c| c.id).collect();
    assert_eq!(told, [1, 2]);
}

#[test]
fn consumer_list_body() {
    let mut r = ClientRegistry::default();
    r.heartbeat(
        &consumer_hb("c1", "g", &["T"]),
        peer(&Conn::new(1)),
        Instant::now(),
    );
    assert_eq!(
        r.consumer_list_body("g").unwrap(),
        br#"{"consumerIdList":["c1"]}"#
    );
    let err = r.consumer_list_body("x").unwrap_err();
    assert_eq!(err.to_string(), "no consumer for this group, x");
    assert_eq!(err.response_code(), response_code::SYSTEM_ERROR);
}

#[test]
fn a_client_in_many_groups_is_listed_in_each() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let body = json!({
        "clientID": "c1",
        "consumerDataSet": [{"groupName": "g1"}, {"groupName": "g2"}],
        "producerDataSet": [{"groupName": "pg"}]
    });
    let hb = HeartbeatData::decode(body.to_string().as_bytes()).unwrap();
    let a = Conn::new(1);
    assert_eq!(r.heartbeat(&hb, peer(&a), now), ["g1", "g2"]);
    assert_eq!(r.consumer_ids("g2"), ["c1"]);
    assert_eq!(r.producer_connections("pg").len(), 1);
}

#[test]
fn heartbeat_bodies_that_do_not_decode() {
    for bad in [
        &b"not json"[..],
        br#"{"producerDataSet":[]}"#,
        br#"{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"subString":"*"}]}]}"#,
        br#"{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":5}]}]}"#,
        br#"{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[7]}]}"#,
    ] {
        let err = HeartbeatData::decode(bad).unwrap_err();
        assert!(err.to_string().starts_with("bad heartbeat body: "), "{err}");
    }
    // Null sets read as empty; unknown fields are ignored.
    let ok = br#"{"clientID":"c","producerDataSet":null,"consumerDataSet":[{"groupName":"g",
        "subscriptionDataSet":null,"extra":1}],"heartbeatFingerprint":3}"#;
    let hb = HeartbeatData::decode(ok).unwrap();
    assert!(hb.producer_data_set.is_empty());
    assert!(hb.consumer_data_set[0].subscription_data_set.is_empty());
}

#[test]
fn the_notification_request() {
    let cmd = notify_consumer_ids_changed("g", 7);
    assert_eq!(cmd.code, request_code::NOTIFY_CONSUMER_IDS_CHANGED);
    assert_eq!(cmd.code, 40);
    assert!(cmd.is_oneway());
    assert!(!cmd.is_response());
    assert_eq!(cmd.opaque, 7);
    assert_eq!(cmd.ext("consumerGroup"), Some("g"));
    assert_eq!(cmd.ext_fields.len(), 1);
}

#[test]
fn a_producer_is_found_by_client_id_while_live() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    r.heartbeat(&producer_hb("p1", "pg"), peer(&a), now);
    r.heartbeat(&producer_hb("p2", "other"), peer(&b), now);
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&b), now);
    assert_eq!(r.producer_connection_of("p1").map(|c| c.id), Some(1));
    assert_eq!(r.producer_connection_of("p2").map(|c| c.id), Some(2));
    // Consumers are not where replies go; unknown and closed clients are not found.
    assert!(r.producer_connection_of("c1").is_none());
    assert!(r.producer_connection_of("nobody").is_none());
    a.close();
    assert!(r.producer_connection_of("p1").is_none());
}

#[test]
fn a_groups_subscriptions_while_it_is_online() {
    let mut r = ClientRegistry::default();
    let a = Conn::new(1);
    r.heartbeat(
        &consumer_hb("c1", "g1", &["T", "U"]),
        peer(&a),
        Instant::now(),
    );
    let subs = r.subscriptions_of("g1");
    assert_eq!(subs.keys().collect::<Vec<_>>(), ["T", "U"]);
    assert_eq!(subs["T"].fields["topic"], "T");
    assert!(r.subscriptions_of("nobody").is_empty());
    a.close();
    assert!(r.subscriptions_of("g1").is_empty());
}

#[test]
fn the_groups_online_that_subscribe_to_a_topic() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b, c) = (Conn::new(1), Conn::new(2), Conn::new(3));
    r.heartbeat(&consumer_hb("c1", "g1", &["T", "U"]), peer(&a), now);
    r.heartbeat(&consumer_hb("c2", "g2", &["T"]), peer(&b), now);
    r.heartbeat(&consumer_hb("c3", "g3", &["U"]), peer(&c), now);
    r.heartbeat(&producer_hb("p1", "pg"), peer(&c), now);
    let names = |set: BTreeSet<String>| set.into_iter().collect::<Vec<_>>();
    assert_eq!(names(r.subscribing_groups("T")), ["g1", "g2"]);
    assert_eq!(names(r.subscribing_groups("U")), ["g1", "g3"]);
    assert!(r.subscribing_groups("nobody").is_empty());
    // A group whose only consumer's connection closed is not online, even before the sweep.
    b.close();
    assert_eq!(names(r.subscribing_groups("T")), ["g1"]);
    // A group that stops subscribing to the topic no longer consumes it.
    r.heartbeat(&consumer_hb("c1", "g1", &["U"]), peer(&a), now);
    assert!(r.subscribing_groups("T").is_empty());
}

#[test]
fn topic_consume_by_who_body_is_javas_group_list() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let a = Conn::new(1);
    r.heartbeat(&consumer_hb("c1", "online", &["T"]), peer(&a), now);
    r.heartbeat(&consumer_hb("c1", "elsewhere", &["U"]), peer(&a), now);
    let with_offsets = BTreeSet::from(["committed".to_string(), "online".to_string()]);
    assert_eq!(
        json_of(r.topic_consume_by_who_body("T", with_offsets)),
        json!({"groupList": ["committed", "online"]})
    );
    // Nobody consumes it: an empty list, not a refusal.
    let body = r.topic_consume_by_who_body("V", BTreeSet::new()).unwrap();
    assert_eq!(body, br#"{"groupList":[]}"#);
}

#[test]
fn a_consumer_is_found_by_group_and_client_id_while_live() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), now);
    r.heartbeat(&consumer_hb("c2", "g", &["T"]), peer(&b), now);
    let found = r.consumer_of("g", "c2").unwrap();
    assert_eq!((found.peer.connection.id, found.peer.version), (2, 479));
    assert!(r.consumer_of("other", "c2").is_none());
    assert!(r.consumer_of("g", "c3").is_none());
    b.close();
    assert!(r.consumer_of("g", "c2").is_none());
}

#[test]
fn every_subscription_is_handed_out_for_registration() {
    let body = json!({
        "clientID": "c1",
        "consumerDataSet": [{
            "groupName": "g",
            "subscriptionDataSet": [
                {"expressionType":"TAG","subString":"A || B","subVersion":1,"topic":"tagged"},
                {"expressionType":"SQL92","subString":"a > 1","subVersion":7,"topic":"sql"},
                {"subString":"*","topic":"untyped"}
            ]
        }]
    });
    let hb = HeartbeatData::decode(body.to_string().as_bytes()).unwrap();
    let sub = |topic: &str, kind: &str, expression: &str, sub_version| HeartbeatSubscription {
        topic: topic.into(),
        expression_type: kind.into(),
        expression: expression.into(),
        sub_version,
    };
    assert_eq!(
        hb.consumer_data_set[0].heartbeat_subscriptions(),
        [
            sub("sql", "SQL92", "a > 1", 7),
            sub("tagged", "TAG", "A || B", 1),
            sub("untyped", "TAG", "*", 0),
        ]
    );
}

/// What the pull processor is told: a group's clients' subscriptions together, whenever a client
/// joins, leaves or subscribes differently, and nothing for a heartbeat that changes nothing.
#[test]
fn subscription_changes_name_the_group_with_every_clients_subscriptions() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let (a, b) = (Conn::new(1), Conn::new(2));
    let topics =
        |changes: Vec<(String, Vec<HeartbeatSubscription>)>| -> Vec<(String, Vec<String>)> {
            changes
                .into_iter()
                .map(|(g, subs)| (g, subs.into_iter().map(|s| s.topic).collect()))
                .collect()
        };
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), now);
    assert_eq!(
        topics(r.take_subscription_changes()),
        [("g".to_string(), vec!["T".to_string()])]
    );
    r.heartbeat(&consumer_hb("c1", "g", &["T"]), peer(&a), now);
    assert!(r.take_subscription_changes().is_empty());
    r.heartbeat(&consumer_hb("c2", "g", &["T", "U"]), peer(&b), now);
    assert_eq!(
        topics(r.take_subscription_changes()),
        [("g".to_string(), vec!["T".to_string(), "U".to_string()])]
    );
    // c2 leaves: only c1's again; then c1's connection closes: nothing left.
    r.unregister("c2", None, Some("g"));
    assert_eq!(
        topics(r.take_subscription_changes()),
        [("g".to_string(), vec!["T".to_string()])]
    );
    a.close();
    r.sweep(now);
    assert_eq!(
        topics(r.take_subscription_changes()),
        [("g".to_string(), vec![])]
    );
}

/// A group that turns to broadcasting (or back) is a change the pull path hears of, with its
/// subscriptions: its `consumeBroadcastEnable` decides its pulls.
#[test]
fn a_changed_message_model_is_a_subscription_change() {
    let mut r = ClientRegistry::default();
    let now = Instant::now();
    let a = Conn::new(1);
    let mut hb = consumer_hb("c1", "g", &["T"]);
    r.heartbeat(&hb, peer(&a), now);
    r.take_subscription_changes();
    assert!(!r.is_broadcasting("g"));
    hb.consumer_data_set[0].message_model = Some(json!("BROADCASTING"));
    r.heartbeat(&hb, peer(&a), now);
    let changed: Vec<String> = r
        .take_subscription_changes()
        .into_iter()
        .map(|(g, _)| g)
        .collect();
    assert_eq!(changed, ["g"]);
    assert!(r.is_broadcasting("g"));
    r.heartbeat(&hb, peer(&a), now);
    assert!(r.take_subscription_changes().is_empty());
}
