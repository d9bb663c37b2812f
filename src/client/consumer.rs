//! Consuming: pull requests (`PULL_MESSAGE` with RocketMQ's header), decoding the stored records of a
//! pull body, the offset requests (consumer offsets, queue min/max, search by time, view by id) and
//! the queue locks of ordered consumers.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;

use super::{Client, ClientError};
use crate::protocol::header::{Decode, ExtReader};
use crate::protocol::{request_code, response_code, RemotingCommand};
use crate::queue_locks::{LockBatchRequest, LockBatchResponse, MessageQueue};
use crate::store::message::{decode, offset_msg_id, Decoded};

pub use crate::protocol::code::pull_sys_flag;
/// `GET_TOPIC_CONFIG`: the broker's configuration of one topic (queue counts).
pub use crate::protocol::request_code::GET_TOPIC_CONFIG;

/// One pull.
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
    pub offset: i64,
    pub max_msgs: u32,
    /// `*`, or `TagA || TagB`.
    pub subscription: String,
    /// `Some(offset)` sets COMMIT_OFFSET: the broker stores it for the group.
    pub commit_offset: Option<i64>,
    /// `Some(t)` sets SUSPEND: at the end of the queue the broker holds the pull up to `t`.
    pub suspend: Option<Duration>,
}

impl PullRequest {
    pub fn new(group: &str, topic: &str, queue_id: i32, offset: i64) -> Self {
        PullRequest {
            group: group.to_string(),
            topic: topic.to_string(),
            queue_id,
            offset,
            max_msgs: 32,
            subscription: "*".into(),
            commit_offset: None,
            suspend: None,
        }
    }

    /// The `PULL_MESSAGE` command (`PullMessageRequestHeader`).
    pub fn to_command(&self) -> RemotingCommand {
        let mut flag = pull_sys_flag::SUBSCRIPTION;
        if self.commit_offset.is_some() {
            flag |= pull_sys_flag::COMMIT_OFFSET;
        }
        if self.suspend.is_some() {
            flag |= pull_sys_flag::SUSPEND;
        }
        RemotingCommand::request(request_code::PULL_MESSAGE, 0)
            .with_ext("consumerGroup", &self.group)
            .with_ext("topic", &self.topic)
            .with_ext("queueId", self.queue_id)
            .with_ext("queueOffset", self.offset)
            .with_ext("maxMsgNums", self.max_msgs)
            .with_ext("sysFlag", flag)
            .with_ext("commitOffset", self.commit_offset.unwrap_or(0))
            .with_ext(
                "suspendTimeoutMillis",
                self.suspend.map_or(0, |d| d.as_millis() as u64),
            )
            .with_ext("subscription", &self.subscription)
            .with_ext("subVersion", 0)
            .with_ext("expressionType", "TAG")
    }
}

/// One subscription of a consumer's heartbeat (Java's `SubscriptionData`).
#[derive(Debug, Clone, Copy)]
pub struct Subscribe<'a> {
    pub topic: &'a str,
    /// `TAG` or `SQL92`.
    pub expression_type: &'a str,
    /// `*`, `TagA || TagB`, or a selector.
    pub expression: &'a str,
    pub sub_version: i64,
}

/// HEART_BEAT (34) of the push consumer `client_id` of `group` (clustering, from the first
/// offset) with `subscriptions`, as a Java client writes it: what registers the group's filters
/// for its pulls without an expression.
pub fn consumer_heartbeat(
    client_id: &str,
    group: &str,
    subscriptions: &[Subscribe<'_>],
) -> RemotingCommand {
    let subs: Vec<serde_json::Value> = subscriptions
        .iter()
        .map(|s| {
            serde_json::json!({
                "topic": s.topic, "subString": s.expression, "expressionType": s.expression_type,
                "subVersion": s.sub_version, "classFilterMode": false, "tagsSet": [], "codeSet": []
            })
        })
        .collect();
    let body = serde_json::json!({
        "clientID": client_id,
        "consumerDataSet": [{
            "groupName": group,
            "consumeType": "CONSUME_PASSIVELY",
            "messageModel": "CLUSTERING",
            "consumeFromWhere": "CONSUME_FROM_FIRST_OFFSET",
            "subscriptionDataSet": subs,
            "unitMode": false
        }],
        "producerDataSet": []
    });
    RemotingCommand::request(request_code::HEART_BEAT, 0)
        .with_body(body.to_string().into_bytes().into())
}

/// A message read back from the broker.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// Offset msgId: store host + commit-log offset.
    pub msg_id: String,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub store_timestamp: i64,
    pub born_timestamp: i64,
    /// Times the message was sent back for redelivery (the record's reconsumeTimes field).
    pub reconsume_times: i32,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub uniq_key: Option<String>,
    pub properties: String,
    pub body: Bytes,
    /// The stored record, byte for byte.
    pub raw: Bytes,
}

/// What a pull got.
#[derive(Debug, Clone)]
pub struct PullResult {
    /// `SUCCESS`, `PULL_NOT_FOUND`, `PULL_RETRY_IMMEDIATELY` or `PULL_OFFSET_MOVED`.
    pub code: i32,
    /// The broker's GetMessageStatus name.
    pub status: String,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    pub messages: Vec<ReceivedMessage>,
}

/// Splits a pull body (stored records back to back) into messages.
pub fn decode_messages(body: &Bytes) -> Result<Vec<ReceivedMessage>, ClientError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        match decode(&body[at..], false) {
            Ok(Decoded::Record(r)) => {
                let len = r.len();
                // The body is a sub-slice of the record: find it by address to share the buffer.
                let body_at = at + (r.body.as_ptr() as usize - body[at..].as_ptr() as usize);
                out.push(ReceivedMessage {
                    msg_id: offset_msg_id(r.store_host, r.physical_offset),
                    topic: r.topic.to_string(),
                    queue_id: r.queue_id,
                    queue_offset: r.queue_offset,
                    physical_offset: r.physical_offset,
                    store_timestamp: r.store_timestamp,
                    born_timestamp: r.born_timestamp,
                    reconsume_times: r.reconsume_times,
                    tags: r.tags().map(str::to_string),
                    keys: r.keys().map(str::to_string),
                    uniq_key: r.uniq_key().map(str::to_string),
                    properties: r.properties.to_string(),
                    body: body.slice(body_at..body_at + r.body.len()),
                    raw: body.slice(at..at + len),
                });
                at += len;
            }
            other => {
                return Err(ClientError::BadResponse(format!(
                    "pull body at byte {at} is not a record: {other:?}"
                )))
            }
        }
    }
    Ok(out)
}

fn num(resp: &RemotingCommand, key: &'static str) -> Result<i64, ClientError> {
    ExtReader::new(&resp.ext_fields, "PullMessageResponseHeader", Decode::Fast)
        .parse(key)
        .map_err(|e| ClientError::BadResponse(e.to_string()))
}

/// Reads a pull response: the four pull codes are results, anything else an error.
pub fn parse_pull_response(resp: &RemotingCommand) -> Result<PullResult, ClientError> {
    match resp.code {
        response_code::SUCCESS
        | response_code::PULL_NOT_FOUND
        | response_code::PULL_RETRY_IMMEDIATELY
        | response_code::PULL_OFFSET_MOVED => {}
        _ => return Err(ClientError::from_response(resp)),
    }
    Ok(PullResult {
        code: resp.code,
        status: resp.remark.clone().unwrap_or_default(),
        next_begin_offset: num(resp, "nextBeginOffset")?,
        min_offset: num(resp, "minOffset")?,
        max_offset: num(resp, "maxOffset")?,
        messages: if resp.code == response_code::SUCCESS {
            decode_messages(&resp.body)?
        } else {
            Vec::new()
        },
    })
}

fn offset_request(code: i32, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(code, 0)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id)
}

impl Client {
    /// One pull. A suspended pull waits up to its suspend time plus the client timeout.
    pub async fn pull(&self, req: &PullRequest) -> Result<PullResult, ClientError> {
        let timeout = self.timeout + req.suspend.unwrap_or_default();
        parse_pull_response(&self.request_timeout(req.to_command(), timeout).await?)
    }

    async fn offset_answer(&self, cmd: RemotingCommand) -> Result<i64, ClientError> {
        let resp = self.request(cmd).await?;
        if resp.code != response_code::SUCCESS {
            return Err(ClientError::from_response(&resp));
        }
        num(&resp, "offset")
    }

    /// `GET_MAX_OFFSET`: the queue's entry count (the next offset).
    pub async fn max_offset(&self, topic: &str, queue_id: i32) -> Result<i64, ClientError> {
        self.offset_answer(offset_request(
            request_code::GET_MAX_OFFSET,
            topic,
            queue_id,
        ))
        .await
    }

    /// `GET_MIN_OFFSET`: the first offset still stored.
    pub async fn min_offset(&self, topic: &str, queue_id: i32) -> Result<i64, ClientError> {
        self.offset_answer(offset_request(
            request_code::GET_MIN_OFFSET,
            topic,
            queue_id,
        ))
        .await
    }

    /// `SEARCH_OFFSET_BY_TIMESTAMP` (lower boundary): the first offset stored at or after `ts` ms.
    pub async fn search_offset(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp: i64,
    ) -> Result<i64, ClientError> {
        let cmd = offset_request(request_code::SEARCH_OFFSET_BY_TIMESTAMP, topic, queue_id)
            .with_ext("timestamp", timestamp);
        self.offset_answer(cmd).await
    }

    /// `QUERY_CONSUMER_OFFSET`: the group's committed offset, `None` if it has none.
    pub async fn query_consumer_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
    ) -> Result<Option<i64>, ClientError> {
        // Like RocketMQ 5 clients: a group without an offset is told so, not given 0.
        let cmd = offset_request(request_code::QUERY_CONSUMER_OFFSET, topic, queue_id)
            .with_ext("consumerGroup", group)
            .with_ext("setZeroIfNotFound", false);
        let resp = self.request(cmd).await?;
        match resp.code {
            response_code::SUCCESS => num(&resp, "offset").map(Some),
            response_code::QUERY_NOT_FOUND => Ok(None),
            _ => Err(ClientError::from_response(&resp)),
        }
    }

    /// `UPDATE_CONSUMER_OFFSET`, oneway as RocketMQ's clients send it.
    pub async fn update_consumer_offset(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(), ClientError> {
        let cmd = offset_request(request_code::UPDATE_CONSUMER_OFFSET, topic, queue_id)
            .with_ext("consumerGroup", group)
            .with_ext("commitOffset", offset);
        self.oneway(cmd).await
    }

    /// `UPDATE_AND_CREATE_SUBSCRIPTIONGROUP` with the group's defaults, as `mqadmin updateSubGroup
    /// -g GROUP` sends it: a group must exist before its offsets can be committed (Java 5.2+).
    pub async fn create_subscription_group(&self, group: &str) -> Result<(), ClientError> {
        let body = serde_json::json!({ "groupName": group }).to_string();
        let cmd = RemotingCommand::request(request_code::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, 0)
            .with_body(body.into_bytes().into());
        let resp = self.request(cmd).await?;
        match resp.code {
            response_code::SUCCESS => Ok(()),
            _ => Err(ClientError::from_response(&resp)),
        }
    }

    /// `VIEW_MESSAGE_BY_ID`: the record at a commit-log offset (from an offset msgId).
    pub async fn view_message(
        &self,
        commit_log_offset: i64,
    ) -> Result<ReceivedMessage, ClientError> {
        let cmd = RemotingCommand::request(request_code::VIEW_MESSAGE_BY_ID, 0)
            .with_ext("offset", commit_log_offset);
        let resp = self.request(cmd).await?;
        if resp.code != response_code::SUCCESS {
            return Err(ClientError::from_response(&resp));
        }
        decode_messages(&resp.body)?
            .pop()
            .ok_or_else(|| ClientError::BadResponse("empty VIEW_MESSAGE_BY_ID body".into()))
    }

    /// `GET_TOPIC_CONFIG`: the topic's read queue count.
    pub async fn read_queue_nums(&self, topic: &str) -> Result<i32, ClientError> {
        let cmd = RemotingCommand::request(GET_TOPIC_CONFIG, 0).with_ext("topic", topic);
        let resp = self.request(cmd).await?;
        if resp.code != response_code::SUCCESS {
            return Err(ClientError::from_response(&resp));
        }
        let v: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| ClientError::BadResponse(format!("topic config is not JSON: {e}")))?;
        // Java's body is the TopicConfig itself; earlier actormq brokers nested it under "topicConfig".
        v["readQueueNums"]
            .as_i64()
            .or_else(|| v["topicConfig"]["readQueueNums"].as_i64())
            .map(|n| n as i32)
            .ok_or_else(|| ClientError::BadResponse("topic config lacks readQueueNums".into()))
    }
}

/// The answer to a `QUERY_MESSAGE`: the records the broker's index found (unfiltered: colliding
/// hashes included, see [`QueryResult::matching`]) and the index's last update.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub messages: Vec<ReceivedMessage>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phy_offset: i64,
}

impl QueryResult {
    /// The client's filter (`MQAdminImpl.queryMessage`): by unique key, the messages whose
    /// `UNIQ_KEY` is `key`; by key, those of `topic` with `key` among their `KEYS` words.
    pub fn matching(&self, topic: &str, key: &str, unique: bool) -> Vec<&ReceivedMessage> {
        self.messages
            .iter()
            .filter(|m| {
                if unique {
                    m.uniq_key.as_deref() == Some(key)
                } else {
                    m.topic == topic
                        && m.keys
                            .as_deref()
                            .is_some_and(|ks| ks.split(' ').any(|k| k == key))
                }
            })
            .collect()
    }
}

impl Client {
    /// `QUERY_MESSAGE` (12): the records indexed under `topic#key` stored within `[begin, end]`
    /// (ms), at most `max_num` (the broker caps it at 64; `unique` sends `_UNIQUE_KEY_QUERY`,
    /// which makes it 32). `QUERY_NOT_FOUND` is an empty result.
    pub async fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        (begin, end): (i64, i64),
        unique: bool,
    ) -> Result<QueryResult, ClientError> {
        let mut cmd = RemotingCommand::request(request_code::QUERY_MESSAGE, 0)
            .with_ext("topic", topic)
            .with_ext("key", key)
            .with_ext("maxNum", max_num)
            .with_ext("beginTimestamp", begin)
            .with_ext("endTimestamp", end);
        if unique {
            cmd = cmd.with_ext("_UNIQUE_KEY_QUERY", "true");
        }
        let resp = self.request(cmd).await?;
        let header = |key| {
            ExtReader::new(
                &resp.ext_fields,
                "QueryMessageResponseHeader",
                Decode::Reflective,
            )
            .opt_parse::<i64>(key)
            .ok()
            .flatten()
            .unwrap_or(0)
        };
        let (timestamp, phy_offset) = (
            header("indexLastUpdateTimestamp"),
            header("indexLastUpdatePhyoffset"),
        );
        let messages = match resp.code {
            response_code::SUCCESS => decode_messages(&resp.body)?,
            response_code::QUERY_NOT_FOUND => Vec::new(),
            _ => return Err(ClientError::from_response(&resp)),
        };
        Ok(QueryResult {
            messages,
            index_last_update_timestamp: timestamp,
            index_last_update_phy_offset: phy_offset,
        })
    }

    /// `GET_EARLIEST_MSG_STORETIME` (32): the store time of the queue's first message, -1 if none.
    pub async fn earliest_msg_store_time(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<i64, ClientError> {
        let resp = self
            .request(offset_request(
                request_code::GET_EARLIEST_MSG_STORETIME,
                topic,
                queue_id,
            ))
            .await?;
        if resp.code != response_code::SUCCESS {
            return Err(ClientError::from_response(&resp));
        }
        num(&resp, "timestamp")
    }
}

impl Client {
    /// `LOCK_BATCH_MQ` (41): asks to lock `mqs` for `client_id` in `group`; returns the queues the
    /// client holds afterwards (an orderly consumer consumes only those).
    pub async fn lock_batch_mq(
        &self,
        group: &str,
        client_id: &str,
        mqs: &[MessageQueue],
    ) -> Result<BTreeSet<MessageQueue>, ClientError> {
        let resp = self
            .lock_call(request_code::LOCK_BATCH_MQ, group, client_id, mqs)
            .await?;
        let body: LockBatchResponse = serde_json::from_slice(&resp.body)
            .map_err(|e| ClientError::BadResponse(format!("lock batch body: {e}")))?;
        Ok(body.lock_ok_mq_set)
    }

    /// `UNLOCK_BATCH_MQ` (42), waiting for the answer (Java's consumer does so at shutdown).
    pub async fn unlock_batch_mq(
        &self,
        group: &str,
        client_id: &str,
        mqs: &[MessageQueue],
    ) -> Result<(), ClientError> {
        self.lock_call(request_code::UNLOCK_BATCH_MQ, group, client_id, mqs)
            .await
            .map(drop)
    }

    /// Sends a 41 or 42 with its JSON body; a non-SUCCESS answer is an error.
    async fn lock_call(
        &self,
        code: i32,
        group: &str,
        client_id: &str,
        mqs: &[MessageQueue],
    ) -> Result<RemotingCommand, ClientError> {
        let body = LockBatchRequest::new(group, client_id, mqs);
        let body = serde_json::to_vec(&body).expect("a lock request serializes");
        let resp = self
            .request(RemotingCommand::request(code, 0).with_body(body.into()))
            .await?;
        if resp.code != response_code::SUCCESS {
            return Err(ClientError::from_response(&resp));
        }
        Ok(resp)
    }
}
