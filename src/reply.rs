//! Request-reply messages (RocketMQ 4.6+'s `DefaultMQProducer.request`): a producer sends a request
//! message naming itself in `REPLY_TO_CLIENT`; the consumer answers with a reply message
//! (`SEND_REPLY_MESSAGE` / `_V2`, 324 / 325) to `<cluster>_REPLY_TOPIC`, and the broker pushes the
//! reply to the requesting producer's connection as `PUSH_REPLY_MESSAGE_TO_CLIENT` (326), the way
//! Java's `ReplyMessageProcessor` does, and stores it in the reply topic too.
//!
//! Pure: what the push carries and where it goes; the actors route it.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::protocol::header::SendMessageRequestHeader;
use crate::protocol::{request_code, RemotingCommand};
use crate::send::push_property;
use crate::store::message::find_property;

/// `MixAll.REPLY_TOPIC_POSTFIX`: the reply topic is `<cluster>_REPLY_TOPIC`, one queue, created by
/// every broker at start (Java's `TopicConfigManager`).
pub fn reply_topic(cluster: &str) -> String {
    format!("{cluster}_REPLY_TOPIC")
}

/// `MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT`: the requesting producer's client id.
pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// `MessageConst.PROPERTY_PUSH_REPLY_TIME`: when the broker pushed the reply.
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";

/// A reply that cannot be pushed: Java's remark (answered SYSTEM_ERROR).
pub fn no_reply_to_client() -> String {
    format!("reply message properties[{REPLY_TO_CLIENT}] is null")
}

/// Java's remark when the requesting producer has no connection here.
pub fn not_found(client_id: &str) -> String {
    format!("push reply message fail, channel of <{client_id}> not found.")
}

/// The PUSH_REPLY_MESSAGE_TO_CLIENT request for a reply sent with `header` and `body` from `born`
/// to this broker at `store`, at `now_ms`, and the client id it goes to; `None` when the reply
/// names no requester (`REPLY_TO_CLIENT`). The properties gain `PUSH_REPLY_TIME`; the header
/// names every field in full (`ReplyMessageRequestHeader`, whatever header version the reply
/// came with).
pub fn push_request(
    header: &SendMessageRequestHeader,
    body: Bytes,
    born: SocketAddr,
    store: SocketAddr,
    now_ms: i64,
) -> Option<(String, RemotingCommand)> {
    let props = header.properties.as_deref().unwrap_or("");
    let client_id = find_property(props, REPLY_TO_CLIENT)?.to_string();
    let mut props = props.to_string();
    push_property(&mut props, PUSH_REPLY_TIME, &now_ms.to_string());
    let cmd = RemotingCommand::request(request_code::PUSH_REPLY_MESSAGE_TO_CLIENT, 0)
        .with_ext("producerGroup", &header.producer_group)
        .with_ext("topic", &header.topic)
        .with_ext("defaultTopic", &header.default_topic)
        .with_ext("defaultTopicQueueNums", header.default_topic_queue_nums)
        .with_ext("queueId", header.queue_id)
        .with_ext("sysFlag", header.sys_flag)
        .with_ext("bornTimestamp", header.born_timestamp)
        .with_ext("flag", header.flag)
        .with_ext("properties", props)
        .with_ext("reconsumeTimes", header.reconsume_times)
        .with_ext("unitMode", header.unit_mode)
        .with_ext("bornHost", born)
        .with_ext("storeHost", store)
        .with_ext("storeTimestamp", now_ms)
        .with_body(body);
    Some((client_id, cmd))
}

/// Whether a send request is a reply (324 / 325).
pub fn is_reply(code: i32) -> bool {
    matches!(
        code,
        request_code::SEND_REPLY_MESSAGE | request_code::SEND_REPLY_MESSAGE_V2
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::message::{properties_to_string, property};

    #[test]
    fn the_push_names_every_field_in_full_and_adds_the_push_time() {
        let props = properties_to_string([
            (REPLY_TO_CLIENT, "10.0.0.7@4242"),
            ("CORRELATION_ID", "c-1"),
            (property::CLUSTER, "DefaultCluster"),
        ]);
        let header = SendMessageRequestHeader {
            producer_group: "pg".into(),
            topic: "DefaultCluster_REPLY_TOPIC".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 17,
            flag: 0,
            properties: Some(props),
            reconsume_times: 0,
            unit_mode: false,
            max_reconsume_times: None,
            batch: false,
            broker_name: None,
        };
        let (born, store) = (
            "10.0.0.8:5000".parse().unwrap(),
            "10.0.0.1:10911".parse().unwrap(),
        );
        let (client, cmd) =
            push_request(&header, Bytes::from_static(b"pong"), born, store, 99).unwrap();
        assert_eq!(client, "10.0.0.7@4242");
        assert_eq!(cmd.code, request_code::PUSH_REPLY_MESSAGE_TO_CLIENT);
        assert_eq!(&cmd.body[..], b"pong");
        for (key, want) in [
            ("producerGroup", "pg"),
            ("topic", "DefaultCluster_REPLY_TOPIC"),
            ("bornHost", "10.0.0.8:5000"),
            ("storeHost", "10.0.0.1:10911"),
            ("storeTimestamp", "99"),
            ("unitMode", "false"),
            ("defaultTopicQueueNums", "4"),
        ] {
            assert_eq!(cmd.ext(key), Some(want), "{key}");
        }
        let pushed = cmd.ext("properties").unwrap();
        assert_eq!(find_property(pushed, "CORRELATION_ID"), Some("c-1"));
        assert_eq!(find_property(pushed, PUSH_REPLY_TIME), Some("99"));

        let none = SendMessageRequestHeader {
            properties: Some(properties_to_string([("CORRELATION_ID", "c-1")])),
            ..header
        };
        assert!(push_request(&none, Bytes::new(), born, store, 99).is_none());
        assert_eq!(reply_topic("C1"), "C1_REPLY_TOPIC");
        assert!(is_reply(325) && is_reply(324) && !is_reply(310));
    }
}
