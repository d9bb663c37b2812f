//! Admin answers keyed by message queue: `GET_TOPIC_STATS_INFO` (202), RocketMQ's
//! `TopicStatsTable` (`mqadmin topicStatus`: per queue of a topic its min and max offset and the
//! store time of its last message), and `GET_CONSUME_STATS` (208), its `ConsumeStats` (`mqadmin
//! consumerProgress`: per queue a group's offset against the queue's end), and the offsets an
//! `INVOKE_BROKER_TO_RESET_OFFSET` (222) set.
//!
//! The bodies are fastjson's form, keyed by the `MessageQueue` object itself
//! (`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}}`): not JSON, but what the
//! Java admin tools decode (`rocketmq-reference-2.md` §7), so it is written by hand here.

/// One queue's figures (`TopicOffset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    pub queue_id: i32,
    /// Floored at 0, as Java does.
    pub min_offset: i64,
    pub max_offset: i64,
    /// Store time of the message at `max_offset - 1`; 0 for an empty queue.
    pub last_update_timestamp: i64,
}

/// The `TopicStatsTable` body for `topic` on broker `broker_name`. `topicPutTps` (5.x) is 0.0:
/// actormq keeps no per-topic rate.
pub fn topic_stats_body(broker_name: &str, topic: &str, queues: &[QueueStats]) -> Vec<u8> {
    let mut out = String::from("{\"offsetTable\":{");
    for (i, q) in queues.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_queue_key(&mut out, broker_name, topic, q.queue_id);
        out.push_str(&format!(
            ":{{\"lastUpdateTimestamp\":{},\"maxOffset\":{},\"minOffset\":{}}}",
            q.last_update_timestamp, q.max_offset, q.min_offset
        ));
    }
    out.push_str("},\"topicPutTps\":0.0}");
    out.into_bytes()
}

/// One queue's consume progress (`OffsetWrapper`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConsume {
    pub topic: String,
    pub queue_id: i32,
    /// The queue's max offset.
    pub broker_offset: i64,
    /// The group's committed offset, floored at 0. Also answered as `pullOffset` (5.x): actormq
    /// keeps no separate pull offset.
    pub consumer_offset: i64,
    /// Store time of the message at `consumer_offset - 1`; 0 when nothing was consumed.
    pub last_timestamp: i64,
}

/// The `ConsumeStats` body for `broker_name`. `consumeTps` is 0.0: actormq keeps no per-group rate.
pub fn consume_stats_body(broker_name: &str, queues: &[QueueConsume]) -> Vec<u8> {
    let mut out = String::from("{\"consumeTps\":0.0,\"offsetTable\":{");
    for (i, q) in queues.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_queue_key(&mut out, broker_name, &q.topic, q.queue_id);
        out.push_str(&format!(
            ":{{\"brokerOffset\":{},\"consumerOffset\":{},\"lastTimestamp\":{},\"pullOffset\":{}}}",
            q.broker_offset, q.consumer_offset, q.last_timestamp, q.consumer_offset
        ));
    }
    out.push_str("}}");
    out.into_bytes()
}

/// The `ResetOffsetBody` of `INVOKE_BROKER_TO_RESET_OFFSET` (222): each queue of `topic` reset,
/// with its new offset (`mqadmin resetOffsetByTime` prints them).
pub fn reset_offset_body(broker_name: &str, topic: &str, offsets: &[(i32, i64)]) -> Vec<u8> {
    let mut out = String::from("{\"offsetTable\":{");
    for (i, (queue_id, offset)) in offsets.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_queue_key(&mut out, broker_name, topic, *queue_id);
        out.push_str(&format!(":{offset}"));
    }
    out.push_str("}}");
    out.into_bytes()
}

/// A `MessageQueue` as fastjson writes it (keys sorted), as a map key.
fn push_queue_key(out: &mut String, broker_name: &str, topic: &str, queue_id: i32) {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    out.push_str(&format!(
        "{{\"brokerName\":{},\"queueId\":{queue_id},\"topic\":{}}}",
        quote(broker_name),
        quote(topic)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_keyed_by_the_message_queue_object() {
        let q = |queue_id, max| QueueStats {
            queue_id,
            min_offset: 0,
            max_offset: max,
            last_update_timestamp: if max > 0 { 1_700 } else { 0 },
        };
        let body = topic_stats_body("broker-a", "T", &[q(0, 3), q(1, 0)]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"offsetTable\":{\
             {\"brokerName\":\"broker-a\",\"queueId\":0,\"topic\":\"T\"}:{\"lastUpdateTimestamp\":1700,\"maxOffset\":3,\"minOffset\":0},\
             {\"brokerName\":\"broker-a\",\"queueId\":1,\"topic\":\"T\"}:{\"lastUpdateTimestamp\":0,\"maxOffset\":0,\"minOffset\":0}\
             },\"topicPutTps\":0.0}"
        );
        assert_eq!(
            topic_stats_body("b", "E", &[]),
            b"{\"offsetTable\":{},\"topicPutTps\":0.0}"
        );
    }

    #[test]
    fn reset_offsets_are_keyed_by_queue() {
        let body = reset_offset_body("b", "T", &[(0, 5), (1, 0)]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"offsetTable\":{{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}:5,\
             {\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"T\"}:0}}"
        );
    }

    #[test]
    fn consume_stats_name_both_offsets_per_queue() {
        let q = QueueConsume {
            topic: "T".into(),
            queue_id: 2,
            broker_offset: 10,
            consumer_offset: 4,
            last_timestamp: 1_700,
        };
        assert_eq!(
            String::from_utf8(consume_stats_body("b", &[q])).unwrap(),
            "{\"consumeTps\":0.0,\"offsetTable\":{\
             {\"brokerName\":\"b\",\"queueId\":2,\"topic\":\"T\"}:{\"brokerOffset\":10,\"consumerOffset\":4,\"lastTimestamp\":1700,\"pullOffset\":4}\
             }}"
        );
    }
}
