//! `SendProcessor`: the send side (RocketMQ's `SendMessageProcessor`) for `SEND_MESSAGE` (10),
//! `SEND_MESSAGE_V2` (310) and `SEND_BATCH_MESSAGE` (320).
//!
//! Owns the topic table (auto-creating topics, the topic-admin codes 17/21/215, persisting
//! `config/topics.json`), the queue choice
//! for `queueId < 0`, the broker-added properties (`UNIQ_KEY` when absent, `CLUSTER`) and the record
//! encoding (and each record's consume-queue tag code), so the writer only patches three fields and
//! copies. Receives `Request`s from connections; sends `Append` to the `CommitLogWriter` with a
//! completion that builds the response and hands it straight to the connection, and a new topic-table
//! snapshot to the `Dispatcher` whenever a topic is created. Rejected input is answered here and never
//! stored.

use std::net::SocketAddr;
use std::path::PathBuf;

use actix::prelude::*;
use bytes::BytesMut;
use tracing::{info, warn};

use super::commit_log_writer::{Append, AppendError, Appended, CommitLogWriter};
use super::connection::Request;
use super::dispatcher::TopicsChanged;
use super::mailbox::{CountedRecipient, Mailbox};
use super::metrics::stats;
use super::processor_table::Processor;
use actormq::config::BrokerIdentity;
use actormq::protocol::header::{send_response, SendMessageRequestHeader};
use actormq::protocol::header::{ExtReader, HeaderError};
use actormq::protocol::{request_code, response_code, RemotingCommand, OVERLOAD_REMARK};
use actormq::store::message::{
    decode_batch, encode, find_property, offset_msg_id, property, tags_hash_code, MessageToStore,
    UniqIdGenerator,
};
use actormq::topic::{validate_topic_name, TopicConfig, TopicTable};

/// RocketMQ's limit on the encoded properties (an i16 length on disk).
const MAX_PROPERTIES_LEN: usize = 32767;

pub struct SendProcessor {
    writer: Mailbox<CommitLogWriter>,
    topics: TopicTable,
    topics_path: PathBuf,
    broker: BrokerIdentity,
    uniq_ids: UniqIdGenerator,
    round_robin: u32,
    mailbox: usize,
    /// Told the new table whenever a topic is created (dispatcher, name server).
    topics_changed: Vec<CountedRecipient<TopicsChanged>>,
}

/// A request turned into records, ready for the writer.
struct Prepared {
    topic: String,
    queue_id: i32,
    records: BytesMut,
    sizes: Vec<u32>,
    uniq_keys: Vec<String>,
    tags_codes: Vec<i64>,
}

/// A refusal: response code and remark.
type Refusal = (i32, String);

impl SendProcessor {
    pub fn new(
        writer: Mailbox<CommitLogWriter>,
        topics: TopicTable,
        topics_path: PathBuf,
        broker: BrokerIdentity,
        store_ip: std::net::IpAddr,
        mailbox: usize,
        topics_changed: Vec<CountedRecipient<TopicsChanged>>,
    ) -> Self {
        SendProcessor {
            writer,
            topics,
            topics_path,
            broker,
            uniq_ids: UniqIdGenerator::new(store_ip),
            round_robin: 0,
            mailbox,
            topics_changed,
        }
    }

    fn prepare(&mut self, req: &Request) -> Result<Prepared, Refusal> {
        let cmd = &req.cmd;
        let header = match cmd.code {
            request_code::SEND_MESSAGE => SendMessageRequestHeader::from_ext_v1(&cmd.ext_fields),
            _ => SendMessageRequestHeader::from_ext_v2(&cmd.ext_fields),
        }
        .map_err(|e| (e.response_code(), e.to_string()))?;
        validate_topic_name(&header.topic).map_err(|e| (response_code::INVALID_PARAMETER, e))?;
        let topic = self.topic_for_send(&header)?;
        let queue_id = if header.queue_id < 0 {
            self.round_robin = self.round_robin.wrapping_add(1);
            (self.round_robin % topic.write_queue_nums as u32) as i32
        } else if header.queue_id >= topic.write_queue_nums {
            return Err((
                response_code::INVALID_PARAMETER,
                format!(
                    "request queueId[{}] is illegal, topic {} has {} write queues",
                    header.queue_id, header.topic, topic.write_queue_nums
                ),
            ));
        } else {
            header.queue_id
        };

        let mut prepared = Prepared {
            topic: header.topic.clone(),
            queue_id,
            records: BytesMut::new(),
            sizes: Vec::new(),
            uniq_keys: Vec::new(),
            tags_codes: Vec::new(),
        };
        let batch = cmd.code == request_code::SEND_BATCH_MESSAGE;
        if batch {
            let entries = decode_batch(&cmd.body).map_err(|e| {
                (
                    response_code::MESSAGE_ILLEGAL,
                    format!("bad batch body: {e:?}"),
                )
            })?;
            if entries.is_empty() {
                return Err((response_code::MESSAGE_ILLEGAL, "empty batch".into()));
            }
            for entry in entries {
                self.add_record(
                    &mut prepared,
                    &header,
                    entry.flag,
                    cmd.body.slice_ref(entry.body),
                    entry.properties,
                    req,
                )?;
            }
        } else {
            let props = header.properties.as_deref().unwrap_or("");
            let body = cmd.body.clone();
            self.add_record(&mut prepared, &header, header.flag, body, props, req)?;
        }
        Ok(prepared)
    }

    /// The topic's config, created on first use when `auto_create_topic` is on.
    fn topic_for_send(
        &mut self,
        header: &SendMessageRequestHeader,
    ) -> Result<TopicConfig, Refusal> {
        if let Some(t) = self.topics.get(&header.topic) {
            if !t.writable() {
                return Err((
                    response_code::NO_PERMISSION,
                    format!("the topic[{}] sending message is forbidden", header.topic),
                ));
            }
            return Ok(t.clone());
        }
        if !self.broker.auto_create_topic {
            return Err((
                response_code::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist, apply first please!", header.topic),
            ));
        }
        let cap = self.broker.default_topic_queue_nums as i32;
        let queues = match header.default_topic_queue_nums {
            n if n > 0 => n.min(cap),
            _ => cap,
        };
        let config = TopicConfig::new(&header.topic, queues);
        self.create_topic(config.clone());
        info!(topic = %header.topic, queues, "topic auto-created");
        Ok(config)
    }

    /// Adds a topic, persists the table and tells the actors that keep a snapshot of it.
    fn create_topic(&mut self, config: TopicConfig) {
        self.topics.insert(config);
        self.publish_topics();
    }

    /// Persists the table and tells the actors that keep a snapshot of it.
    fn publish_topics(&mut self) {
        let snapshot = std::sync::Arc::new(self.topics.clone());
        for r in &self.topics_changed {
            r.do_send(TopicsChanged(snapshot.clone()));
        }
        if let Err(e) = self.topics.save(&self.topics_path) {
            warn!(error = %e, "persisting the topic table failed");
        }
    }

    fn add_record(
        &mut self,
        prepared: &mut Prepared,
        header: &SendMessageRequestHeader,
        flag: i32,
        // Shares the request's buffer (no copy); `encode` copies it once, into the record.
        body: bytes::Bytes,
        client_props: &str,
        req: &Request,
    ) -> Result<(), Refusal> {
        if body.is_empty() {
            return Err((
                response_code::MESSAGE_ILLEGAL,
                "the message body is empty".into(),
            ));
        }
        if body.len() > self.broker.max_message_bytes {
            return Err((
                response_code::MESSAGE_ILLEGAL,
                format!(
                    "the message body size {} exceeds the maximum {}",
                    body.len(),
                    self.broker.max_message_bytes
                ),
            ));
        }
        let mut props = String::with_capacity(client_props.len() + 80);
        props.push_str(client_props);
        let uniq = find_property(client_props, property::UNIQ_KEY).map(str::to_string);
        let uniq = match uniq {
            Some(u) => u,
            None => {
                let id = self.uniq_ids.next_id();
                push_property(&mut props, property::UNIQ_KEY, &id);
                id
            }
        };
        push_property(&mut props, property::CLUSTER, &self.broker.cluster);
        if props.len() > MAX_PROPERTIES_LEN {
            return Err((
                response_code::MESSAGE_ILLEGAL,
                format!(
                    "the message properties size {} exceeds the maximum {MAX_PROPERTIES_LEN}",
                    props.len()
                ),
            ));
        }
        let message = MessageToStore {
            topic: header.topic.clone(),
            queue_id: prepared.queue_id,
            flag,
            body,
            properties: props,
            sys_flag: header.sys_flag,
            born_timestamp: header.born_timestamp,
            born_host: req.peer,
            store_host: req.local,
            reconsume_times: header.reconsume_times,
            prepared_transaction_offset: 0,
        };
        let before = prepared.records.len();
        encode(&message, &mut prepared.records)
            .map_err(|e| (response_code::MESSAGE_ILLEGAL, e.to_string()))?;
        prepared
            .sizes
            .push((prepared.records.len() - before) as u32);
        prepared.uniq_keys.push(uniq);
        prepared.tags_codes.push(
            find_property(client_props, property::TAGS)
                .map(tags_hash_code)
                .unwrap_or(0),
        );
        Ok(())
    }
}

/// Appends `key\u{1}value\u{2}`. Clients differ on the trailing separator: the Java 4.9.8 client
/// sends the last property without one (`TAGS\u{1}T0`), so one is added before appending there.
fn push_property(props: &mut String, key: &str, value: &str) {
    if !props.is_empty() && !props.ends_with('\u{2}') {
        props.push('\u{2}');
    }
    props.push_str(key);
    props.push('\u{1}');
    props.push_str(value);
    props.push('\u{2}');
}

/// The SEND response for an append outcome (`SendMessageProcessor.handlePutMessageResult`).
fn send_response(
    mut response: RemotingCommand,
    outcome: Result<Appended, AppendError>,
    store_host: SocketAddr,
    queue_id: i32,
    sizes: &[u32],
    uniq_keys: &[String],
) -> RemotingCommand {
    let appended = match outcome {
        Ok(a) => a,
        Err(AppendError::FlushTimeout(a)) => {
            response.code = response_code::FLUSH_DISK_TIMEOUT;
            response.remark = Some("flush disk timeout; the message is stored".into());
            a
        }
        Err(e) => {
            let (code, remark) = match e {
                AppendError::CreateMappedFileFailed(why) => (
                    response_code::SYSTEM_ERROR,
                    format!("create mapped file failed, server is busy or broken. ({why})"),
                ),
                AppendError::WriteFailed(why) => (
                    response_code::SYSTEM_ERROR,
                    format!("write commit log failed; the message is not stored. ({why})"),
                ),
                AppendError::TooLarge { bytes, file_size } => (
                    response_code::MESSAGE_ILLEGAL,
                    format!("the batch of {bytes} bytes does not fit a {file_size}-byte commit-log file"),
                ),
                AppendError::Sealed => (
                    response_code::SERVICE_NOT_AVAILABLE,
                    "the broker is shutting down".into(),
                ),
                AppendError::Busy => (
                    response_code::SYSTEM_BUSY,
                    OVERLOAD_REMARK.into(),
                ),
                AppendError::FlushTimeout(_) => unreachable!("handled above"),
            };
            response.code = code;
            response.remark = Some(remark);
            return response;
        }
    };
    let mut offset = appended.physical_offset;
    let mut ids = String::with_capacity(sizes.len() * 33);
    for (i, size) in sizes.iter().enumerate() {
        if i > 0 {
            ids.push(',');
        }
        ids.push_str(&offset_msg_id(store_host, offset));
        offset += *size as i64;
    }
    let ext = &mut response.ext_fields;
    ext.insert(send_response::MSG_ID, ids);
    ext.insert(send_response::QUEUE_ID, queue_id.to_string());
    ext.insert(
        send_response::QUEUE_OFFSET,
        appended.queue_offset.to_string(),
    );
    ext.insert(send_response::TRANSACTION_ID, uniq_keys.join(","));
    ext.insert(
        send_response::MSG_REGION,
        actormq::protocol::ByteString::from_static("DefaultRegion"),
    );
    ext.insert(
        send_response::TRACE_ON,
        actormq::protocol::ByteString::from_static("true"),
    );
    response
}

impl Actor for SendProcessor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

/// The request codes connections hand this actor.
impl Processor for SendProcessor {
    const CODES: &'static [i32] = &[
        request_code::SEND_MESSAGE,
        request_code::SEND_MESSAGE_V2,
        request_code::SEND_BATCH_MESSAGE,
        request_code::UPDATE_AND_CREATE_TOPIC,
        request_code::GET_ALL_TOPIC_CONFIG,
        request_code::DELETE_TOPIC_IN_BROKER,
    ];
}

impl Handler<Request> for SendProcessor {
    type Result = ();

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        if let Some(response) = self.topic_admin(&req.cmd) {
            req.reply.send(response);
            return;
        }
        let prepared = match self.prepare(&req) {
            Ok(p) => p,
            Err((code, remark)) => {
                let response = req.cmd.response_to(code, Some(remark));
                req.reply.send(response);
                return;
            }
        };
        let response = req.cmd.response_to(response_code::SUCCESS, None);
        let (reply, store_host, queue_id) = (req.reply, req.local, prepared.queue_id);
        let (sizes, uniq_keys) = (prepared.sizes, prepared.uniq_keys);
        let count = sizes.len() as u32;
        let append = Append {
            topic: prepared.topic,
            queue_id,
            records: prepared.records,
            count,
            tags_codes: prepared.tags_codes,
            done: Box::new(move |outcome| {
                reply.send(send_response(
                    response, outcome, store_host, queue_id, &sizes, &uniq_keys,
                ))
            }),
        };
        if let Err(SendError::Full(append) | SendError::Closed(append)) =
            self.writer.try_send(append)
        {
            (append.done)(Err(AppendError::Busy));
        }
    }
}

impl SendProcessor {
    /// The topic-admin codes, served here because this actor owns the topic table:
    /// `UPDATE_AND_CREATE_TOPIC` (17), `GET_ALL_TOPIC_CONFIG` (21), `DELETE_TOPIC_IN_BROKER` (215).
    /// `None` for every other code.
    fn topic_admin(&mut self, cmd: &RemotingCommand) -> Option<RemotingCommand> {
        let refuse = |code: i32, remark: String| cmd.response_to(code, Some(remark));
        let ext = ExtReader::for_request(cmd);
        Some(match cmd.code {
            request_code::UPDATE_AND_CREATE_TOPIC => {
                let parsed = (|| {
                    let name = ext.str("topic")?.to_string();
                    let read: i32 = ext.parse("readQueueNums")?;
                    let write: i32 = ext.parse("writeQueueNums")?;
                    let perm: i32 = ext.parse("perm")?;
                    let order = ext.opt_java_bool("order").unwrap_or(false);
                    Ok::<_, HeaderError>((name, read, write, perm, order))
                })();
                let (name, read, write, perm, order) = match parsed {
                    Ok(p) => p,
                    Err(e) => return Some(refuse(e.response_code(), e.to_string())),
                };
                if let Err(e) = validate_topic_name(&name) {
                    return Some(refuse(response_code::INVALID_PARAMETER, e));
                }
                if !(1..=1024).contains(&read) || !(1..=1024).contains(&write) {
                    let remark =
                        format!("queue counts must be 1..=1024, got read {read} write {write}");
                    return Some(refuse(response_code::INVALID_PARAMETER, remark));
                }
                let mut config = TopicConfig::new(&name, write);
                config.read_queue_nums = read;
                config.perm = perm;
                config.order = order;
                info!(topic = %name, read, write, perm, "topic created or updated");
                self.create_topic(config);
                cmd.response_to(response_code::SUCCESS, None)
            }
            request_code::GET_ALL_TOPIC_CONFIG => {
                let body = serde_json::to_vec(&self.topics).expect("topic table serializes");
                cmd.response_to(response_code::SUCCESS, None)
                    .with_body(body.into())
            }
            request_code::DELETE_TOPIC_IN_BROKER => {
                let Some(name) = cmd.ext("topic") else {
                    let remark = "the header field topic is required".to_string();
                    return Some(refuse(response_code::INVALID_PARAMETER, remark));
                };
                if self.topics.remove(name) {
                    info!(topic = %name, "topic deleted; its stored messages stay until retention deletes their files");
                    self.publish_topics();
                }
                cmd.response_to(response_code::SUCCESS, None)
            }
            _ => return None,
        })
    }
}

/// Create `name` with `queue_nums` queues unless it exists (consumer groups' `%RETRY%` topics).
#[derive(Message)]
#[rtype(result = "()")]
pub struct EnsureTopic {
    pub name: String,
    pub queue_nums: i32,
}

impl Handler<EnsureTopic> for SendProcessor {
    type Result = ();

    fn handle(&mut self, msg: EnsureTopic, _ctx: &mut Context<Self>) {
        let _timer = stats().send_processor.handling();
        if self.topics.get(&msg.name).is_none() {
            info!(topic = %msg.name, queues = msg.queue_nums, "topic created");
            self.create_topic(TopicConfig::new(&msg.name, msg.queue_nums));
        }
    }
}
