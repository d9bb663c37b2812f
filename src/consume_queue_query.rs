//! `QUERY_CONSUME_QUEUE` (321, `mqadmin queryCq`): the raw consume-queue entries of one queue
//! from an index, as Java 5.3.3's `AdminBrokerProcessor.queryConsumeQueue` answers them. Here:
//! the request header (`QueryConsumeQueueRequestHeader`), which indexes are answered, and the
//! body (`QueryConsumeQueueResponseBody`); the `Dispatcher`, which owns the queues, reads them.
//!
//! Java's answers, kept here:
//! - no such queue (unknown topic, or a queue id the store has no queue for):
//!   `SYSTEM_ERROR`, `"<queueId>@<topic> is not exist!"`;
//! - an index the queue does not hold (negative, below its minimum, at or past its end):
//!   `SUCCESS` with the remark `"Index <index> of <queueId>@<topic> is not exist!"` and *no body*
//!   (the stock `mqadmin queryCq` then prints a `NullPointerException`, as it does against Java);
//! - a count of 0 or less: an empty `queueData`;
//! - the entries stop at the end of the consume-queue file holding `index` (Java iterates one
//!   mapped file) and at the queue's end, and here also after [`MAX_ENTRIES`].
//!
//! With a `consumerGroup`, `subscriptionData` is the group's online subscription of the topic
//! and `filterData` Java's text for it: `"null"` when there is one (Java's `ConsumerFilterData`
//! exists only for SQL92 subscriptions, which actormq does not filter by) and
//! `"<group>@<topic> is not online!"` when there is none. actormq writes no consume-queue
//! extension (`ConsumeQueueExt`, off by default in Java too), so `eval` is always false and
//! `extendDataJson` / `bitMap` are never set; an entry whose tags code is an extension address
//! gets Java's `msg` `"Cq extend not exist!addr: <tagsCode>"`.

use std::ops::Range;

use serde::Serialize;

use crate::client_registry::Subscription;
use crate::protocol::header::{ExtReader, HeaderError};
use crate::store::consume_queue::CqEntry;

/// At most this many entries are answered, whatever `count` asks. Java is bounded only by the
/// consume-queue file (300,000 entries, ~24 MB of JSON: more than the Java client's 16 MiB
/// default frame limit, so such an answer fails at the client anyway). The answer is built on the
/// `Dispatcher`'s thread, which also serves pulls and indexes new records; 10,000 entries is
/// about 0.8 MB of JSON and a few milliseconds there, far more than anyone reads in `queryCq`'s
/// output (its default count is 10).
pub const MAX_ENTRIES: u64 = 10_000;

/// `ConsumeQueueExt.MAX_ADDR`: a tags code at or below it is an address in the extension file.
const MAX_EXT_ADDR: i64 = i32::MIN as i64 - 1;

/// A `QueryConsumeQueueRequestHeader`, decoded as Java's reflective decoder does: `topic` has no
/// `@CFNotNull`, but a null one is Java's `NullPointerException` in the store lookup
/// (`SYSTEM_ERROR`); `queueId`, `index` and `count` are primitives, so a missing or unparsable
/// value is 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryConsumeQueue {
    pub topic: String,
    pub queue_id: i32,
    pub index: i64,
    pub count: i32,
    pub consumer_group: Option<String>,
}

impl QueryConsumeQueue {
    /// Reads the header out of a 321 request's `extFields`.
    pub fn from_ext(h: &ExtReader<'_>) -> Result<QueryConsumeQueue, HeaderError> {
        Ok(QueryConsumeQueue {
            topic: h.str("topic")?.to_string(),
            queue_id: h.opt_parse("queueId")?.unwrap_or(0),
            index: h.opt_parse("index")?.unwrap_or(0),
            count: h.opt_parse("count")?.unwrap_or(0),
            consumer_group: h.opt_str("consumerGroup").map(str::to_string),
        })
    }

    /// The `SYSTEM_ERROR` remark for a queue the store does not have.
    pub fn queue_not_exist(&self) -> String {
        format!("{}@{} is not exist!", self.queue_id, self.topic)
    }

    /// The (`SUCCESS`, bodiless) remark for an index the queue does not hold.
    pub fn index_not_exist(&self) -> String {
        format!(
            "Index {} of {}@{} is not exist!",
            self.index, self.queue_id, self.topic
        )
    }

    /// The indexes answered of a queue holding `[min, max)` in files of `entries_per_file`
    /// entries; `None` when it does not hold `index` ([`index_not_exist`](Self::index_not_exist)).
    pub fn indexes(&self, min: u64, max: u64, entries_per_file: u64) -> Option<Range<u64>> {
        let index = u64::try_from(self.index).ok()?;
        if index < min || index >= max {
            return None;
        }
        let count = u64::try_from(self.count).unwrap_or(0).min(MAX_ENTRIES);
        let file_end = match entries_per_file {
            0 => max,
            n => (index / n).saturating_add(1).saturating_mul(n),
        };
        let end = index.saturating_add(count).min(max).min(file_end);
        Some(index..end)
    }

    /// `filterData`: only with a consumer group; `subscribed` says whether it has an online
    /// subscription of the topic.
    pub fn filter_data(&self, subscribed: bool) -> Option<String> {
        let group = self.consumer_group.as_deref()?;
        Some(if subscribed {
            "null".to_string()
        } else {
            format!("{group}@{} is not online!", self.topic)
        })
    }
}

/// One entry as `ConsumeQueueData` (fastjson's field order; null fields left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeQueueData {
    /// Whether the group's filter matches the entry's extension: never evaluated without one.
    pub eval: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    pub physic_offset: i64,
    pub physic_size: i32,
    pub tags_code: i64,
}

impl From<CqEntry> for ConsumeQueueData {
    fn from(e: CqEntry) -> Self {
        ConsumeQueueData {
            eval: false,
            msg: (e.tags_code <= MAX_EXT_ADDR)
                .then(|| format!("Cq extend not exist!addr: {}", e.tags_code)),
            physic_offset: e.commit_log_offset,
            physic_size: e.size,
            tags_code: e.tags_code,
        }
    }
}

/// `QueryConsumeQueueResponseBody` (fastjson's field order; null fields left out).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConsumeQueueBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_data: Option<String>,
    pub max_queue_index: i64,
    pub min_queue_index: i64,
    pub queue_data: Vec<ConsumeQueueData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<Subscription>,
}

impl QueryConsumeQueueBody {
    /// The body for `query` over a queue holding `[min, max)`: `entries` are those read at
    /// [`QueryConsumeQueue::indexes`], `subscription` the group's online one, if any.
    pub fn new(
        query: &QueryConsumeQueue,
        (min, max): (u64, u64),
        entries: impl IntoIterator<Item = CqEntry>,
        subscription: Option<Subscription>,
    ) -> Self {
        QueryConsumeQueueBody {
            filter_data: query.filter_data(subscription.is_some()),
            max_queue_index: max as i64,
            min_queue_index: min as i64,
            queue_data: entries.into_iter().map(ConsumeQueueData::from).collect(),
            subscription_data: subscription.filter(|_| query.consumer_group.is_some()),
        }
    }

    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ext_fields::ExtFields;
    use crate::protocol::header::Decode;

    fn query(index: i64, count: i32) -> QueryConsumeQueue {
        QueryConsumeQueue {
            topic: "T".into(),
            queue_id: 1,
            index,
            count,
            consumer_group: None,
        }
    }

    #[test]
    fn header_reads_as_java_reflection_does() {
        let mut ext = ExtFields::default();
        ext.insert("topic", "T".to_string());
        ext.insert("queueId", "2".to_string());
        ext.insert("index", "x".to_string());
        ext.insert("consumerGroup", "g".to_string());
        let h = ExtReader::new(&ext, "QueryConsumeQueueRequestHeader", Decode::Reflective);
        let q = QueryConsumeQueue::from_ext(&h).unwrap();
        assert_eq!(
            (q.queue_id, q.index, q.count, q.consumer_group.as_deref()),
            (2, 0, 0, Some("g"))
        );
        let empty = ExtFields::default();
        let h = ExtReader::new(&empty, "QueryConsumeQueueRequestHeader", Decode::Reflective);
        let e = QueryConsumeQueue::from_ext(&h).unwrap_err();
        assert!(
            e.to_string()
                .contains("QueryConsumeQueueRequestHeader.topic"),
            "{e}"
        );
    }

    #[test]
    fn indexes_follow_java_and_the_cap() {
        // Queue holding [5, 50) in files of 20 entries.
        let r = |index, count| query(index, count).indexes(5, 50, 20);
        assert_eq!(r(5, 3), Some(5..8));
        assert_eq!(r(-1, 3), None);
        assert_eq!(r(4, 3), None);
        assert_eq!(r(50, 3), None);
        assert_eq!(r(i64::MAX, 3), None);
        assert_eq!(r(5, 0), Some(5..5));
        assert_eq!(r(5, -7), Some(5..5));
        // Stops at the end of the file holding the index, and at the queue's end.
        assert_eq!(r(18, 10), Some(18..20));
        assert_eq!(r(45, i32::MAX), Some(45..50));
        // The cap.
        let big = query(0, i32::MAX).indexes(0, u64::MAX, 300_000);
        assert_eq!(big, Some(0..MAX_ENTRIES));
        assert_eq!(query(3, 5).indexes(0, 100, 0), Some(3..8));
    }

    #[test]
    fn body_is_fastjsons_shape() {
        let entries = [
            CqEntry {
                commit_log_offset: 100,
                size: 80,
                tags_code: 7,
            },
            CqEntry {
                commit_log_offset: 180,
                size: 90,
                tags_code: i32::MIN as i64 - 5,
            },
        ];
        let body = QueryConsumeQueueBody::new(&query(0, 2), (0, 2), entries, None);
        assert_eq!(
            String::from_utf8(body.to_json().unwrap()).unwrap(),
            "{\"maxQueueIndex\":2,\"minQueueIndex\":0,\"queueData\":[\
             {\"eval\":false,\"physicOffset\":100,\"physicSize\":80,\"tagsCode\":7},\
             {\"eval\":false,\"msg\":\"Cq extend not exist!addr: -2147483653\",\
             \"physicOffset\":180,\"physicSize\":90,\"tagsCode\":-2147483653}]}"
        );
    }

    #[test]
    fn group_adds_filter_and_subscription() {
        let mut q = query(0, 1);
        q.consumer_group = Some("g".into());
        let offline = QueryConsumeQueueBody::new(&q, (0, 0), [], None);
        assert_eq!(
            String::from_utf8(offline.to_json().unwrap()).unwrap(),
            "{\"filterData\":\"g@T is not online!\",\"maxQueueIndex\":0,\"minQueueIndex\":0,\
             \"queueData\":[]}"
        );
        let sub: Subscription =
            serde_json::from_str(r#"{"subString":"*","tagsSet":[],"topic":"T"}"#).unwrap();
        let online = QueryConsumeQueueBody::new(&q, (0, 0), [], Some(sub));
        assert_eq!(
            String::from_utf8(online.to_json().unwrap()).unwrap(),
            "{\"filterData\":\"null\",\"maxQueueIndex\":0,\"minQueueIndex\":0,\"queueData\":[],\
             \"subscriptionData\":{\"subString\":\"*\",\"tagsSet\":[],\"topic\":\"T\"}}"
        );
        assert_eq!(query(0, 1).filter_data(false), None);
        assert_eq!(q.queue_not_exist(), "1@T is not exist!");
        assert_eq!(q.index_not_exist(), "Index 0 of 1@T is not exist!");
    }
}
