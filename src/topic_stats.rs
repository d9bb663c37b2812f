//! `GET_TOPIC_STATS_INFO` (202)'s answer, RocketMQ's `TopicStatsTable` (`mqadmin topicStatus`):
//! per queue of a topic its min and max offset and the store time of its last message.
//!
//! The body is fastjson's form, keyed by the `MessageQueue` object itself
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
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let (broker, topic) = (quote(broker_name), quote(topic));
    let mut out = String::from("{\"offsetTable\":{");
    for (i, q) in queues.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"brokerName\":{broker},\"queueId\":{},\"topic\":{topic}}}:{{\"lastUpdateTimestamp\":{},\"maxOffset\":{},\"minOffset\":{}}}",
            q.queue_id, q.last_update_timestamp, q.max_offset, q.min_offset
        ));
    }
    out.push_str("},\"topicPutTps\":0.0}");
    out.into_bytes()
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
}
