//! `SendProcessor`: the send side (RocketMQ's `SendMessageProcessor`) for `SEND_MESSAGE` (10),
//! `SEND_MESSAGE_V2` (310) and `SEND_BATCH_MESSAGE` (320).
//!
//! Owns the topic table (auto-creating topics, the topic-admin codes 17/21/215, persisting
//! `config/topics.json`). Turning a request into records (queue choice, broker-added properties,
//! record encoding, tag codes) is `actormq::send::SendPreparer`, pure and unit-tested; this actor
//! only routes: it sends `Append` to the `CommitLogWriter` with a completion that builds the
//! response (`actormq::send::send_response`) and hands it straight to the connection, and a new
//! topic-table snapshot to the `Dispatcher` and name server whenever a topic is created. Rejected
//! input is answered here and never stored.

use std::path::PathBuf;

use actix::prelude::*;
use tracing::{info, warn};

use super::commit_log_writer::{Append, AppendError, CommitLogWriter};
use super::connection::Request;
use super::dispatcher::TopicsChanged;
use super::mailbox::{CountedRecipient, Mailbox};
use super::metrics::stats;
use super::processor_table::Processor;
use actormq::config::BrokerIdentity;
use actormq::protocol::header::{ExtReader, HeaderError};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::send::{send_response, Hosts, SendPreparer};
use actormq::topic::{validate_topic_name, TopicConfig, TopicTable};

pub struct SendProcessor {
    writer: Mailbox<CommitLogWriter>,
    topics: TopicTable,
    topics_path: PathBuf,
    preparer: SendPreparer,
    mailbox: usize,
    /// Told the new table whenever a topic is created (dispatcher, name server).
    topics_changed: Vec<CountedRecipient<TopicsChanged>>,
}

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
            preparer: SendPreparer::new(broker, store_ip),
            mailbox,
            topics_changed,
        }
    }

    /// Timer messages follow `rules` (`[timer]`).
    pub fn with_timer_rules(mut self, rules: actormq::timer::TimerRules) -> Self {
        self.preparer = self.preparer.with_timer_rules(rules);
        self
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
        let hosts = Hosts {
            born: req.peer,
            store: req.local,
        };
        let prepared = match self.preparer.prepare(&req.cmd, hosts, &mut self.topics) {
            Ok(p) => p,
            Err((code, remark)) => {
                let response = req.cmd.response_to(code, Some(remark));
                req.reply.send(response);
                return;
            }
        };
        if prepared.created_topic {
            self.publish_topics();
        }
        let response = req.cmd.response_to(response_code::SUCCESS, None);
        let (reply, store_host, queue_id) = (req.reply, req.local, prepared.reply_queue_id);
        let (sizes, uniq_keys) = (prepared.sizes, prepared.uniq_keys);
        let count = sizes.len() as u32;
        let append = Append {
            topic: prepared.topic,
            queue_id: prepared.queue_id,
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
