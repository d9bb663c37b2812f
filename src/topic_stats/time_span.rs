//! `QUERY_CONSUME_TIME_SPAN` (303, the RocketMQ Dashboard's "consume time span"), as Java 5.3.3's
//! `AdminBrokerProcessor.queryConsumeTimeSpan`: per write queue of a topic, the store times of
//! its first and last message, of the message before the group's offset, and how long the next
//! message has waited. [`queue_time_span`] is Java's arithmetic, with its `-1` for a time the
//! store does not have; [`time_span_body`] the `QueryConsumeTimeSpanBody` fastjson writes,
//! including the three `...Str` getters of `QueueTimeSpan` (local time, Java's
//! `yyyy-MM-dd#HH:mm:ss:SSS`), which fastjson serializes like fields.

use super::push_queue_key;
use crate::store::paths::local_tm;

/// One queue's span (Java's `QueueTimeSpan`), times in Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueTimeSpan {
    pub queue_id: i32,
    /// Store time of the queue's first message held (`getEarliestMessageTime`), else -1.
    pub min_time_stamp: i64,
    /// Store time of the message at `max - 1`, else -1.
    pub max_time_stamp: i64,
    /// Store time of the message before the group's offset; the first one's when the group has
    /// consumed nothing here.
    pub consume_time_stamp: i64,
    /// How long the message at the group's offset has been stored, at the time of the answer;
    /// 0 when the group is at the queue's end.
    pub delay_time: i64,
}

/// Java's computation for queue `queue_id`: `earliest` its first message's store time (-1:
/// none), `max_offset` its end (0 for a queue never written), `consumer_offset` the group's
/// offset (-1: none committed), `store_time(i)` the store time of entry `i` (-1 when the queue
/// does not hold it, negative indexes included), `now_ms` the time of the answer.
pub fn queue_time_span(
    queue_id: i32,
    earliest: i64,
    max_offset: i64,
    consumer_offset: i64,
    store_time: impl Fn(i64) -> i64,
    now_ms: i64,
) -> QueueTimeSpan {
    let consume_time_stamp = if consumer_offset > 0 {
        store_time(consumer_offset - 1)
    } else {
        earliest
    };
    // Java: no offset (-1) is below any end, so the "next" message is entry -1, whose time is -1.
    let delay_time = if consumer_offset < max_offset {
        now_ms.saturating_sub(store_time(consumer_offset))
    } else {
        0
    };
    QueueTimeSpan {
        queue_id,
        min_time_stamp: earliest,
        max_time_stamp: store_time(max_offset - 1),
        consume_time_stamp,
        delay_time,
    }
}

/// The `QueryConsumeTimeSpanBody` for `topic` on `broker_name`: `{"consumeTimeSpanSet":[..]}`,
/// each span's fields in fastjson's (alphabetical) order.
pub fn time_span_body(broker_name: &str, topic: &str, spans: &[QueueTimeSpan]) -> Vec<u8> {
    let mut out = String::from("{\"consumeTimeSpanSet\":[");
    for (i, s) in spans.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"consumeTimeStamp\":{},\"consumeTimeStampStr\":\"{}\",\"delayTime\":{},\
             \"maxTimeStamp\":{},\"maxTimeStampStr\":\"{}\",\"messageQueue\":",
            s.consume_time_stamp,
            java_date(s.consume_time_stamp),
            s.delay_time,
            s.max_time_stamp,
            java_date(s.max_time_stamp),
        ));
        push_queue_key(&mut out, broker_name, topic, s.queue_id);
        out.push_str(&format!(
            ",\"minTimeStamp\":{},\"minTimeStampStr\":\"{}\"}}",
            s.min_time_stamp,
            java_date(s.min_time_stamp)
        ));
    }
    out.push_str("]}");
    out.into_bytes()
}

/// `UtilAll.formatDate(new Date(ms), "yyyy-MM-dd#HH:mm:ss:SSS")` in the local time zone; -1 is
/// the millisecond before the epoch, as in Java. A time `localtime_r` cannot convert (years
/// beyond its range, never a store time) is written as its number.
fn java_date(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    match local_tm(secs) {
        Some(t) => format!(
            "{:04}-{:02}-{:02}#{:02}:{:02}:{:02}:{millis:03}",
            i64::from(t.tm_year) + 1900,
            t.tm_mon + 1,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec
        ),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue of entries 10..20 stored at 1000 + 10 * i.
    fn store_time(i: i64) -> i64 {
        if (10..20).contains(&i) {
            1000 + 10 * i
        } else {
            -1
        }
    }

    #[test]
    fn a_group_half_way_through() {
        let s = queue_time_span(3, 1100, 20, 15, store_time, 5000);
        assert_eq!(
            s,
            QueueTimeSpan {
                queue_id: 3,
                min_time_stamp: 1100,
                max_time_stamp: 1190,
                consume_time_stamp: 1140,
                delay_time: 5000 - 1150,
            }
        );
        // At the end: no delay.
        assert_eq!(
            queue_time_span(0, 1100, 20, 20, store_time, 5000).delay_time,
            0
        );
    }

    /// Java's answers where a time is missing: no offset committed (-1) means the first message's
    /// time as the consume time, and a delay measured from -1; an empty queue has -1 times.
    #[test]
    fn missing_times_are_javas_minus_one() {
        let s = queue_time_span(0, 1100, 20, -1, store_time, 5000);
        assert_eq!((s.consume_time_stamp, s.delay_time), (1100, 5001));
        let s = queue_time_span(0, 1100, 20, 0, store_time, 5000);
        assert_eq!((s.consume_time_stamp, s.delay_time), (1100, 5001));
        // An offset below the queue's first entry (expired): the time before it is not held.
        let s = queue_time_span(0, 1100, 20, 5, store_time, 5000);
        assert_eq!((s.consume_time_stamp, s.delay_time), (-1, 5001));
        let empty = queue_time_span(1, -1, 0, -1, |_| -1, 5000);
        assert_eq!(
            empty,
            QueueTimeSpan {
                queue_id: 1,
                min_time_stamp: -1,
                max_time_stamp: -1,
                consume_time_stamp: -1,
                delay_time: 5001,
            }
        );
        assert_eq!(queue_time_span(1, -1, 0, 0, |_| -1, 5000).delay_time, 0);
    }

    #[test]
    fn body_is_fastjsons_query_consume_time_span_body() {
        let s = QueueTimeSpan {
            queue_id: 2,
            min_time_stamp: 1,
            max_time_stamp: 2,
            consume_time_stamp: 3,
            delay_time: 4,
        };
        let body = String::from_utf8(time_span_body("b", "T", &[s])).unwrap();
        let (d1, d2, d3) = (java_date(1), java_date(2), java_date(3));
        assert_eq!(
            body,
            format!(
                "{{\"consumeTimeSpanSet\":[{{\"consumeTimeStamp\":3,\"consumeTimeStampStr\":\"{d3}\",\
                 \"delayTime\":4,\"maxTimeStamp\":2,\"maxTimeStampStr\":\"{d2}\",\
                 \"messageQueue\":{{\"brokerName\":\"b\",\"queueId\":2,\"topic\":\"T\"}},\
                 \"minTimeStamp\":1,\"minTimeStampStr\":\"{d1}\"}}]}}"
            )
        );
        assert_eq!(
            time_span_body("b", "T", &[]),
            b"{\"consumeTimeSpanSet\":[]}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parsed["consumeTimeSpanSet"][0]["messageQueue"]["queueId"],
            2
        );
    }

    #[test]
    fn dates_are_javas_pattern_in_local_time() {
        let d = java_date(1_700_000_000_123);
        assert_eq!(d.len(), "2023-11-14#22:13:20:123".len(), "{d}");
        assert!(d.ends_with(":20:123") && d.as_bytes()[10] == b'#', "{d}");
        assert!(java_date(-1).ends_with(":59:999"), "{}", java_date(-1));
    }
}
