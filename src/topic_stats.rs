//! Admin answers keyed by message queue: `GET_TOPIC_STATS_INFO` (202), RocketMQ's
//! `TopicStatsTable` (`mqadmin topicStatus`: per queue of a topic its min and max offset and the
//! store time of its last message), and `GET_CONSUME_STATS` (208), its `ConsumeStats` (`mqadmin
//! consumerProgress`: per queue a group's offset against the queue's end), the same for every
//! group at once, `GET_BROKER_CONSUME_STATS` (317), its `ConsumeStatsList` (`mqadmin
//! brokerConsumeStats`), and the offsets an `INVOKE_BROKER_TO_RESET_OFFSET` (222) set;
//! `QUERY_CONSUME_TIME_SPAN` (303, the Dashboard) in [`time_span`].
//!
//! The bodies are fastjson's form, keyed by the `MessageQueue` object itself
//! (`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}}`): not JSON, but what the
//! Java admin tools decode (`rocketmq-reference-2.md` §7), so it is written by hand here.

use std::collections::BTreeMap;

pub mod time_span;

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
    /// The group's committed offset, floored at 0.
    pub consumer_offset: i64,
    /// `pullOffset` (5.x). GET_CONSUME_STATS answers the consumer offset here (Java's
    /// `max(consumerOffset, pullOffset)`; actormq keeps no separate pull offset);
    /// GET_BROKER_CONSUME_STATS answers 0, as Java, which never sets it there.
    pub pull_offset: i64,
    /// Store time of the message at `consumer_offset - 1`; 0 when nothing was consumed.
    pub last_timestamp: i64,
}

/// The `ConsumeStats` body for `broker_name`; `consume_tps` is the group's get rate over the
/// last minute, summed over the topics (Java's `tpsGroupGetNums`).
pub fn consume_stats_body(broker_name: &str, queues: &[QueueConsume], consume_tps: f64) -> Vec<u8> {
    let mut out = String::new();
    push_consume_stats(&mut out, broker_name, queues, consume_tps);
    out.into_bytes()
}

/// One group's figures in a `ConsumeStatsList`: a `ConsumeStats` per topic it has offsets on.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConsumeStats {
    pub group: String,
    /// Per topic, its write queues and the group's get rate on it over the last minute.
    pub topics: Vec<(Vec<QueueConsume>, f64)>,
}

/// GET_BROKER_CONSUME_STATS's `ConsumeStatsList` (fastjson's field order):
/// `{"brokerAddr":..,"consumeStatsList":[{group:[ConsumeStats..]}..],"totalDiff":..,
/// "totalInflightDiff":..}`, one single-key map per group. The totals are Java's sums over every
/// queue listed: `brokerOffset - consumerOffset`, and `pullOffset - consumerOffset`.
pub fn broker_consume_stats_body(
    broker_addr: &str,
    broker_name: &str,
    groups: &[GroupConsumeStats],
) -> Vec<u8> {
    let mut out = String::from("{\"brokerAddr\":");
    push_str_json(&mut out, broker_addr);
    out.push_str(",\"consumeStatsList\":[");
    let (mut total_diff, mut total_inflight_diff) = (0i64, 0i64);
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        push_str_json(&mut out, &g.group);
        out.push_str(":[");
        for (j, (queues, tps)) in g.topics.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_consume_stats(&mut out, broker_name, queues, *tps);
            for q in queues {
                total_diff =
                    total_diff.wrapping_add(q.broker_offset.wrapping_sub(q.consumer_offset));
                total_inflight_diff =
                    total_inflight_diff.wrapping_add(q.pull_offset.wrapping_sub(q.consumer_offset));
            }
        }
        out.push_str("]}");
    }
    out.push_str(&format!(
        "],\"totalDiff\":{total_diff},\"totalInflightDiff\":{total_inflight_diff}}}"
    ));
    out.into_bytes()
}

/// Java's skip in `fetchAllConsumeStatsInBroker`: a group with online subscriptions
/// (`subscriptions`: group -> topic -> subscription) is reported only for the topics they name;
/// a group with none (no consumer online) for every topic it has offsets on.
pub fn subscribed_topics_only<V, S>(
    groups: &mut [(String, Vec<(String, V)>)],
    subscriptions: &BTreeMap<String, BTreeMap<String, S>>,
) {
    for (group, topics) in groups.iter_mut() {
        if let Some(subscribed) = subscriptions.get(group).filter(|s| !s.is_empty()) {
            topics.retain(|(topic, _)| subscribed.contains_key(topic));
        }
    }
}

/// One `ConsumeStats` object, `consumeTps` written as fastjson writes a double.
fn push_consume_stats(out: &mut String, broker_name: &str, queues: &[QueueConsume], tps: f64) {
    out.push_str("{\"consumeTps\":");
    out.push_str(&java_double(tps));
    out.push_str(",\"offsetTable\":{");
    for (i, q) in queues.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_queue_key(out, broker_name, &q.topic, q.queue_id);
        out.push_str(&format!(
            ":{{\"brokerOffset\":{},\"consumerOffset\":{},\"lastTimestamp\":{},\"pullOffset\":{}}}",
            q.broker_offset, q.consumer_offset, q.last_timestamp, q.pull_offset
        ));
    }
    out.push_str("}}");
}

/// A JSON string literal.
/// A double as Java prints it for a rate: always a decimal point (`0.0`, `12.0`, `6.5`); not a
/// number or infinite (never a rate) as 0.0.
fn java_double(v: f64) -> String {
    match v {
        v if !v.is_finite() => "0.0".to_string(),
        v if v.fract() == 0.0 && v.abs() < 1e7 => format!("{v:.1}"),
        v => format!("{v}"),
    }
}

fn push_str_json(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
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
pub(crate) fn push_queue_key(out: &mut String, broker_name: &str, topic: &str, queue_id: i32) {
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
            pull_offset: 4,
            last_timestamp: 1_700,
        };
        assert_eq!(
            String::from_utf8(consume_stats_body("b", &[q], 0.0)).unwrap(),
            "{\"consumeTps\":0.0,\"offsetTable\":{\
             {\"brokerName\":\"b\",\"queueId\":2,\"topic\":\"T\"}:{\"brokerOffset\":10,\"consumerOffset\":4,\"lastTimestamp\":1700,\"pullOffset\":4}\
             }}"
        );
    }

    #[test]
    fn rates_are_written_as_java_writes_a_double() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(12.0), "12.0");
        assert_eq!(java_double(6.5), "6.5");
        assert_eq!(java_double(20.0 / 3.0), "6.666666666666667");
        assert_eq!(java_double(f64::NAN), "0.0");
    }

    #[test]
    fn online_groups_keep_only_the_topics_they_subscribe_to() {
        let mut groups = vec![
            (
                "online".to_string(),
                vec![("T".to_string(), 1), ("U".to_string(), 2)],
            ),
            ("offline".to_string(), vec![("T".to_string(), 3)]),
            ("empty".to_string(), vec![("T".to_string(), 4)]),
        ];
        let subs = BTreeMap::from([
            (
                "online".to_string(),
                BTreeMap::from([("U".to_string(), ())]),
            ),
            ("empty".to_string(), BTreeMap::new()),
        ]);
        subscribed_topics_only(&mut groups, &subs);
        let kept: Vec<(&str, Vec<i32>)> = groups
            .iter()
            .map(|(g, ts)| (g.as_str(), ts.iter().map(|(_, v)| *v).collect()))
            .collect();
        assert_eq!(
            kept,
            [
                ("online", vec![2]),
                ("offline", vec![3]),
                ("empty", vec![4])
            ]
        );
    }

    #[test]
    fn broker_consume_stats_list_every_group_and_java_totals() {
        let q = |topic: &str, queue_id, broker_offset, consumer_offset| QueueConsume {
            topic: topic.into(),
            queue_id,
            broker_offset,
            consumer_offset,
            pull_offset: 0,
            last_timestamp: 0,
        };
        let groups = [
            GroupConsumeStats {
                group: "g1".into(),
                topics: vec![
                    (vec![q("T", 0, 10, 4), q("T", 1, 3, 3)], 2.5),
                    (vec![q("U", 0, 7, 0)], 0.0),
                ],
            },
            GroupConsumeStats {
                group: "g2".into(),
                topics: vec![],
            },
        ];
        let body = broker_consume_stats_body("127.0.0.1:10911", "b", &groups);
        let mq = |t: &str, id: i32, b: i64, c: i64| {
            format!(
                "{{\"brokerName\":\"b\",\"queueId\":{id},\"topic\":\"{t}\"}}:{{\"brokerOffset\":{b},\
                 \"consumerOffset\":{c},\"lastTimestamp\":0,\"pullOffset\":0}}"
            )
        };
        let want = format!(
            "{{\"brokerAddr\":\"127.0.0.1:10911\",\"consumeStatsList\":[\
             {{\"g1\":[{{\"consumeTps\":2.5,\"offsetTable\":{{{},{}}}}},\
             {{\"consumeTps\":0.0,\"offsetTable\":{{{}}}}}]}},{{\"g2\":[]}}],\
             \"totalDiff\":13,\"totalInflightDiff\":-7}}",
            mq("T", 0, 10, 4),
            mq("T", 1, 3, 3),
            mq("U", 0, 7, 0)
        );
        assert_eq!(String::from_utf8(body).unwrap(), want);
        let empty = broker_consume_stats_body("a:1", "b", &[]);
        assert_eq!(
            empty,
            b"{\"brokerAddr\":\"a:1\",\"consumeStatsList\":[],\
              \"totalDiff\":0,\"totalInflightDiff\":0}"
        );
    }
}
