//! `INVOKE_BROKER_TO_GET_CONSUMER_STATUS` (223, `mqadmin getConsumerStatus`), as Java 5.3.3's
//! `Broker2Client.getConsumeStatus`: the broker asks the live consumers of a group for the offsets
//! they hold of a topic (`GET_CONSUMER_STATUS_FROM_CLIENT`, 221, to each client, 5 s each) and
//! answers `GetConsumerStatusBody` with every answer it got, by client id.
//!
//! Which clients are asked ([`clients_to_ask`]), the request ([`status_request`]), reading a
//! client's answer ([`client_offsets`]) and the broker's answer ([`answer_body`]) are here, pure;
//! the `ClientManager` sends the requests and waits. A client's body is fastjson keyed by the
//! `MessageQueue` object (`{"messageQueueTable":{{"brokerName":..,"queueId":..,"topic":..}:5}}`),
//! read with [`FastValue`] and written back in the same form: not JSON, but what Java's admin
//! decodes (`rocketmq-reference-2.md` §7).

use crate::protocol::code::version;
use crate::protocol::fastjson::FastValue;
use crate::protocol::{request_code, RemotingCommand};
use crate::queue_locks::MessageQueue;
use crate::topic_stats::push_queue_key;

/// How long the broker waits for each client's answer (Java's `invokeSync(.., 5000)`).
pub const CLIENT_TIMEOUT_MS: u64 = 5000;

/// Why no client is asked: Java's SYSTEM_ERROR remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusRefusal {
    /// No live consumer in the group. Java answers this when the group is known but has no
    /// channel, and fails with a NullPointerException (also SYSTEM_ERROR) when the group is not
    /// known at all; actormq gives this remark for both.
    #[error("No Any Consumer online in the consumer group: [{0}]")]
    NoConsumer(String),
    /// A client to ask is older than V3_0_7_SNAPSHOT: it cannot answer 221.
    #[error("the client does not support this feature. version={0}")]
    TooOld(i32),
}

/// The clients to ask, of a group's live consumers `(client id, MQVersion ordinal)`: all of them
/// when `client_id` (the header's `clientAddr`, which Java compares with client ids) is blank,
/// else the one with that id (none: nobody is asked and the answer is an empty table, as Java's).
/// Java stops at the first client older than V3_0_7_SNAPSHOT it meets while looking, in hash
/// order; here only the clients to ask are checked, so the answer does not depend on an order.
pub fn clients_to_ask<'a>(
    group: &str,
    live: &[(&'a str, i32)],
    client_id: Option<&str>,
) -> Result<Vec<&'a str>, StatusRefusal> {
    if live.is_empty() {
        return Err(StatusRefusal::NoConsumer(group.to_string()));
    }
    let wanted = client_id.map(str::trim).filter(|c| !c.is_empty());
    let asked: Vec<(&str, i32)> = match wanted {
        None => live.to_vec(),
        Some(id) => live
            .iter()
            .copied()
            .filter(|(c, _)| *c == id)
            .take(1)
            .collect(),
    };
    if let Some((_, v)) = asked.iter().find(|(_, v)| *v < version::V3_0_7_SNAPSHOT) {
        return Err(StatusRefusal::TooOld(*v));
    }
    Ok(asked.into_iter().map(|(c, _)| c).collect())
}

/// GET_CONSUMER_STATUS_FROM_CLIENT as Java's broker writes it: header `topic`, `group`.
pub fn status_request(topic: &str, group: &str) -> RemotingCommand {
    RemotingCommand::request(request_code::GET_CONSUMER_STATUS_FROM_CLIENT, 0)
        .with_ext("topic", topic)
        .with_ext("group", group)
}

/// The offsets one client answered (`messageQueueTable` of its `GetConsumerStatusBody`, absent:
/// none, as Java's field default), or `None` when Java would not use the answer: a body that
/// does not decode (Java logs the exception and goes on), a `null` table, or an entry that is
/// not a queue and a whole number.
pub fn client_offsets(body: &[u8]) -> Option<Vec<(MessageQueue, i64)>> {
    let text = std::str::from_utf8(body).ok()?;
    let parsed = FastValue::parse(text).ok()?;
    if !matches!(parsed, FastValue::Object(_)) {
        return None;
    }
    let Some(table) = parsed.get("messageQueueTable") else {
        return Some(Vec::new());
    };
    let FastValue::Object(entries) = table else {
        return None;
    };
    entries
        .iter()
        .map(|(key, offset)| {
            let mq: MessageQueue = serde_json::from_value(key.to_json()?).ok()?;
            Some((mq, offset.to_json()?.as_i64()?))
        })
        .collect()
}

/// The broker's `GetConsumerStatusBody` (fastjson's field order): `consumerTable` holds each
/// client's offsets by client id, `messageQueueTable` is left empty, as Java leaves it.
pub fn answer_body(clients: &[(String, Vec<(MessageQueue, i64)>)]) -> Vec<u8> {
    let mut out = String::from("{\"consumerTable\":{");
    for (i, (client_id, offsets)) in clients.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(client_id.as_str()).to_string());
        out.push_str(":{");
        for (j, (mq, offset)) in offsets.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_queue_key(&mut out, &mq.broker_name, &mq.topic, mq.queue_id);
            out.push_str(&format!(":{offset}"));
        }
        out.push('}');
    }
    out.push_str("},\"messageQueueTable\":{}}");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(queue_id: i32) -> MessageQueue {
        MessageQueue {
            broker_name: "b".into(),
            queue_id,
            topic: "T".into(),
        }
    }

    #[test]
    fn blank_asks_everyone_an_id_asks_that_one() {
        let live = [("c1", 479), ("c2", 479)];
        assert_eq!(clients_to_ask("g", &live, None), Ok(vec!["c1", "c2"]));
        assert_eq!(clients_to_ask("g", &live, Some(" ")), Ok(vec!["c1", "c2"]));
        assert_eq!(clients_to_ask("g", &live, Some("c2")), Ok(vec!["c2"]));
        assert_eq!(clients_to_ask("g", &live, Some("c9")), Ok(vec![]));
        assert_eq!(
            clients_to_ask("g", &[], None),
            Err(StatusRefusal::NoConsumer("g".into()))
        );
        assert_eq!(
            StatusRefusal::NoConsumer("g".into()).to_string(),
            "No Any Consumer online in the consumer group: [g]"
        );
    }

    #[test]
    fn clients_older_than_3_0_7_cannot_answer() {
        let live = [("old", 27), ("new", 28)];
        assert_eq!(
            clients_to_ask("g", &live, None),
            Err(StatusRefusal::TooOld(27))
        );
        assert_eq!(clients_to_ask("g", &live, Some("new")), Ok(vec!["new"]));
    }

    #[test]
    fn request_names_topic_and_group() {
        let r = status_request("T", "g");
        assert_eq!(r.code, 221);
        assert_eq!((r.ext("topic"), r.ext("group")), (Some("T"), Some("g")));
        assert_eq!(r.ext("clientAddr"), None);
    }

    /// What a Java 5.3.3 push consumer answers (`GetConsumerStatusBody.encode()`).
    #[test]
    fn a_java_clients_answer_is_read() {
        let body = br#"{"consumerTable":{},"messageQueueTable":{{"brokerName":"b","queueId":1,"topic":"T"}:7,{"brokerName":"b","queueId":0,"topic":"T"}:3}}"#;
        assert_eq!(client_offsets(body), Some(vec![(mq(1), 7), (mq(0), 3)]));
        assert_eq!(client_offsets(br#"{"consumerTable":{}}"#), Some(vec![]));
        assert_eq!(client_offsets(br#"{"messageQueueTable":{}}"#), Some(vec![]));
        for unusable in [
            &b""[..],
            b"null",
            b"[1]",
            b"{oops",
            br#"{"messageQueueTable":null}"#,
            br#"{"messageQueueTable":{{"queueId":0}:"x"}}"#,
            br#"{"messageQueueTable":{"notAQueue":1}}"#,
            b"\xff\xfe",
        ] {
            assert_eq!(client_offsets(unusable), None, "{unusable:?}");
        }
    }

    #[test]
    fn answer_keys_each_clients_queues_by_the_queue_object() {
        let body = answer_body(&[
            ("c1".into(), vec![(mq(0), 3), (mq(1), 7)]),
            ("c\"2".into(), vec![]),
        ]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"consumerTable\":{\"c1\":{\
             {\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}:3,\
             {\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"T\"}:7},\
             \"c\\\"2\":{}},\"messageQueueTable\":{}}"
        );
        assert_eq!(
            answer_body(&[]),
            b"{\"consumerTable\":{},\"messageQueueTable\":{}}"
        );
        // What the broker writes, the same reader takes back (as Java's admin does).
        let again = answer_body(&[("c1".into(), vec![(mq(2), 9)])]);
        let parsed = FastValue::parse(std::str::from_utf8(&again).unwrap()).unwrap();
        let Some(FastValue::Object(clients)) = parsed.get("consumerTable") else {
            panic!()
        };
        assert_eq!(clients.len(), 1);
    }
}
