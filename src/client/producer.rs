//! Producing: builds `SEND_MESSAGE_V2` / `SEND_BATCH_MESSAGE` requests the way RocketMQ's producer
//! does and reads the send response header.

use bytes::{Bytes, BytesMut};

use super::{Client, ClientError};
use crate::protocol::header::{send_response, SendMessageRequestHeader};
use crate::protocol::{request_code, response_code, RemotingCommand};
use crate::store::message::{encode_batch_entry, properties_to_string, property};

/// A message to send.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMessage {
    pub topic: String,
    pub body: Bytes,
    pub tags: Option<String>,
    pub keys: Option<String>,
    /// Target queue; negative lets the broker choose.
    pub queue_id: i32,
    pub flag: i32,
    /// More user properties (e.g. `DELAY`, `TIMER_DELAY_MS`), after `WAIT`, `TAGS` and `KEYS`.
    pub properties: Vec<(String, String)>,
}

impl OutgoingMessage {
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        OutgoingMessage {
            topic: topic.into(),
            body: body.into(),
            queue_id: -1,
            ..Default::default()
        }
    }

    fn properties(&self) -> String {
        let mut props = vec![(property::WAIT, "true")];
        if let Some(t) = &self.tags {
            props.push((property::TAGS, t.as_str()));
        }
        if let Some(k) = &self.keys {
            props.push((property::KEYS, k.as_str()));
        }
        props.extend(
            self.properties
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        properties_to_string(props)
    }
}

/// What the broker said about a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// `SUCCESS`, or `FLUSH_DISK_TIMEOUT` (stored, not yet durable).
    pub code: i32,
    /// Offset message id(s): store host + commit-log offset, comma-separated for a batch.
    pub msg_id: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    /// The UNIQ_KEY(s).
    pub transaction_id: String,
}

fn header(
    topic: &str,
    queue_id: i32,
    flag: i32,
    properties: Option<String>,
    batch: bool,
) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "actormq-cli".into(),
        topic: topic.to_string(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: crate::store::now_ms(),
        flag,
        properties,
        batch,
        ..Default::default()
    }
}

/// The `SEND_MESSAGE_V2` request for one message.
pub fn send_request(msg: &OutgoingMessage) -> RemotingCommand {
    let h = header(
        &msg.topic,
        msg.queue_id,
        msg.flag,
        Some(msg.properties()),
        false,
    );
    let mut cmd = RemotingCommand::request(request_code::SEND_MESSAGE_V2, 0);
    cmd.ext_fields = h.to_ext_v2();
    cmd.with_body(msg.body.clone())
}

/// Reads a send response; anything but SUCCESS / FLUSH_DISK_TIMEOUT is an error.
pub fn parse_send_response(resp: &RemotingCommand) -> Result<SendResult, ClientError> {
    if resp.code != response_code::SUCCESS && resp.code != response_code::FLUSH_DISK_TIMEOUT {
        return Err(ClientError::from_response(resp));
    }
    let field = |k: &str| {
        resp.ext(k)
            .ok_or_else(|| ClientError::BadResponse(format!("send response lacks {k}")))
    };
    let num = |k: &str| -> Result<i64, ClientError> {
        field(k)?.parse().map_err(|_| {
            ClientError::BadResponse(format!("send response field {k} is not a number"))
        })
    };
    Ok(SendResult {
        code: resp.code,
        msg_id: field(send_response::MSG_ID)?.to_string(),
        queue_id: num(send_response::QUEUE_ID)? as i32,
        queue_offset: num(send_response::QUEUE_OFFSET)?,
        transaction_id: resp
            .ext(send_response::TRANSACTION_ID)
            .unwrap_or("")
            .to_string(),
    })
}

impl Client {
    /// Sends one message and waits for the broker's answer.
    pub async fn send(&self, msg: &OutgoingMessage) -> Result<SendResult, ClientError> {
        parse_send_response(&self.request(send_request(msg)).await?)
    }

    /// Sends messages of one topic as one `SEND_BATCH_MESSAGE`; they get consecutive queue offsets.
    pub async fn send_batch(&self, msgs: &[OutgoingMessage]) -> Result<SendResult, ClientError> {
        let first = msgs
            .first()
            .ok_or_else(|| ClientError::BadResponse("empty batch".into()))?;
        let mut body = BytesMut::new();
        for m in msgs {
            encode_batch_entry(m.flag, &m.body, &m.properties(), &mut body);
        }
        let h = header(&first.topic, first.queue_id, 0, None, true);
        let mut cmd = RemotingCommand::request(request_code::SEND_BATCH_MESSAGE, 0);
        cmd.ext_fields = h.to_ext_v2();
        parse_send_response(&self.request(cmd.with_body(body.freeze())).await?)
    }
}
