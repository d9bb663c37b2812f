//! The admin reads across groups (`client_registry/admin.rs`).

use std::time::Duration;

use super::*;

/// GET_ALL_PRODUCER_INFO: every group with a live producer, each producer as Java's
/// `ProducerInfo` (remote address as Java prints a socket address, last heartbeat in Unix ms);
/// a closed producer is left out, and a group left with none.
#[test]
fn producer_table_lists_live_producers_by_group() {
    let mut r = ClientRegistry::default();
    let t0 = Instant::now();
    let (a, b, c) = (Conn::new(1), Conn::new(2), Conn::new(3));
    r.heartbeat(&producer_hb("p1", "pg"), peer(&a), t0);
    r.heartbeat(
        &producer_hb("p2", "pg"),
        peer(&b),
        t0 + Duration::from_secs(2),
    );
    r.heartbeat(&producer_hb("p3", "gone"), peer(&c), t0);
    r.heartbeat(&consumer_hb("c1", "cg", &["T"]), peer(&a), t0);
    c.close();
    let now = t0 + Duration::from_secs(5);
    let body = json_of(r.producer_table_body(now, 1_700_000_005_000));
    assert_eq!(
        body,
        json!({"data": {"pg": [
            {"clientId": "p1", "language": "JAVA", "lastUpdateTimestamp": 1_700_000_000_000i64,
             "remoteIP": "/127.0.0.1:40001", "version": 479},
            {"clientId": "p2", "language": "JAVA", "lastUpdateTimestamp": 1_700_000_002_000i64,
             "remoteIP": "/127.0.0.1:40002", "version": 479},
        ]}})
    );
    let text = String::from_utf8(r.producer_table_body(now, 0).unwrap()).unwrap();
    // fastjson's field order.
    assert!(
        text.contains(r#"{"clientId":"p1","language":"JAVA","lastUpdateTimestamp":"#),
        "{text}"
    );
    let empty: ClientRegistry<Conn> = ClientRegistry::default();
    assert_eq!(
        json_of(empty.producer_table_body(now, 0)),
        json!({"data": {}})
    );
}

/// QUERY_SUBSCRIPTION_BY_CONSUMER: the online group's subscription of the topic as sent; a topic
/// it does not subscribe to, or a group offline, answers only the names; an online group asked
/// about no topic is Java's NullPointerException (`None`).
#[test]
fn subscription_of_an_online_group() {
    let mut r = ClientRegistry::default();
    let conn = Conn::new(1);
    r.heartbeat(
        &consumer_hb("c1", "cg", &["T", "U"]),
        peer(&conn),
        Instant::now(),
    );
    let body = |group: &str, topic: Option<&str>| {
        r.subscription_body(group, topic)
            .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
    };
    let sub = body("cg", Some("T")).unwrap();
    assert_eq!(sub["group"], "cg");
    assert_eq!(sub["topic"], "T");
    assert_eq!(sub["subscriptionData"]["subString"], "*");
    assert_eq!(sub["subscriptionData"]["topic"], "T");
    assert_eq!(sub["subscriptionData"]["subVersion"], 1_700_000_000_000i64);
    assert_eq!(
        body("cg", Some("V")),
        Some(json!({"group": "cg", "topic": "V"}))
    );
    assert_eq!(body("cg", None), None);
    assert_eq!(body("nobody", None), Some(json!({"group": "nobody"})));
    conn.close();
    assert_eq!(
        body("cg", Some("T")),
        Some(json!({"group": "cg", "topic": "T"}))
    );
    assert_eq!(body("cg", None), Some(json!({"group": "cg"})));
}

/// The consumers INVOKE_BROKER_TO_GET_CONSUMER_STATUS may ask: the live ones, with versions.
#[test]
fn consumer_versions_are_the_live_consumers() {
    let mut r = ClientRegistry::default();
    let (a, b) = (Conn::new(1), Conn::new(2));
    r.heartbeat(&consumer_hb("c1", "cg", &["T"]), peer(&a), Instant::now());
    r.heartbeat(&consumer_hb("c2", "cg", &["T"]), peer(&b), Instant::now());
    assert_eq!(r.consumer_versions("cg"), [("c1", 479), ("c2", 479)]);
    b.close();
    assert_eq!(r.consumer_versions("cg"), [("c1", 479)]);
    assert!(r.consumer_versions("other").is_empty());
}
