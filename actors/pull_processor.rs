//! `PullProcessor`: the read side of the request table (RocketMQ's `PullMessageProcessor`, plus the
//! record and topic lookups of its `AdminBrokerProcessor`): `PULL_MESSAGE` (11), `LITE_PULL_MESSAGE`
//! (361), `VIEW_MESSAGE_BY_ID` (33) and `GET_TOPIC_CONFIG` (351).
//!
//! Owns nothing but the header parsing: it turns each `Request` from a connection into a typed
//! `Query` and hands it, with the prepared response and the connection's `ReplyTo`, to the
//! `Dispatcher`, which reads the consume queues and the commit log, parks long polls, and answers.
//! A pull with the COMMIT_OFFSET flag also sends `CommitOffset` to the `OffsetProcessor`. Runs on the
//! system arbiter beside the connections, so parsing costs no thread hop; a full dispatcher mailbox
//! answers `SYSTEM_BUSY` at once.

use std::time::Duration;

use actix::prelude::*;

use super::metrics::stats;

use super::connection::Request;
use super::dispatcher::{Dispatcher, PullQuery, Query, QueryKind, TagFilter, MAX_PULL_BYTES};
use super::offset_processor::{CommitOffset, OffsetProcessor};
use actormq::protocol::header::{ExtReader, HeaderError};
use actormq::protocol::{request_code, response_code, RemotingCommand};

/// `GET_TOPIC_CONFIG` (RocketMQ's `RequestCode.GET_TOPIC_CONFIG`): how a client learns a topic's
/// queue count from the broker itself.
pub const GET_TOPIC_CONFIG: i32 = 351;

/// `PullSysFlag` bits (reference §3.3).
pub mod pull_sys_flag {
    pub const COMMIT_OFFSET: i32 = 0x1;
    pub const SUSPEND: i32 = 0x2;
}

pub struct PullProcessor {
    dispatcher: Addr<Dispatcher>,
    offsets: Addr<OffsetProcessor>,
    mailbox: usize,
}

impl PullProcessor {
    pub fn new(
        dispatcher: Addr<Dispatcher>,
        offsets: Addr<OffsetProcessor>,
        mailbox: usize,
    ) -> Self {
        PullProcessor {
            dispatcher,
            offsets,
            mailbox,
        }
    }

    /// Parses the request into a query; a pull with COMMIT_OFFSET also stores the offset.
    fn query(&self, cmd: &RemotingCommand) -> Result<QueryKind, HeaderError> {
        let h = ExtReader::for_request(cmd);
        Ok(match cmd.code {
            request_code::VIEW_MESSAGE_BY_ID => QueryKind::ViewMessage {
                offset: h.parse("offset")?,
            },
            GET_TOPIC_CONFIG => QueryKind::TopicConfig {
                topic: h.str("topic")?.to_string(),
            },
            _ => {
                let group = h.str("consumerGroup")?;
                let topic = h.str("topic")?.to_string();
                let queue_id: i32 = h.parse("queueId")?;
                let offset: i64 = h.parse("queueOffset")?;
                let max_msgs: i32 = h.parse("maxMsgNums")?;
                let sys_flag: i32 = h.parse("sysFlag")?;
                let commit_offset: i64 = h.opt_parse("commitOffset")?.unwrap_or(-1);
                let suspend_ms: i64 = h.opt_parse("suspendTimeoutMillis")?.unwrap_or(0);
                let max_bytes: Option<i32> = h.opt_parse("maxMsgBytes")?;
                if sys_flag & pull_sys_flag::COMMIT_OFFSET != 0 && commit_offset >= 0 {
                    stats().offset_processor.enqueued();
                    self.offsets.do_send(CommitOffset {
                        group: group.to_string(),
                        topic: topic.clone(),
                        queue_id,
                        offset: commit_offset,
                    });
                }
                let suspend = (sys_flag & pull_sys_flag::SUSPEND != 0 && suspend_ms > 0)
                    .then(|| Duration::from_millis(suspend_ms as u64));
                QueryKind::Pull(PullQuery {
                    topic,
                    queue_id,
                    offset,
                    max_msgs: max_msgs.max(1) as usize,
                    max_bytes: max_bytes
                        .filter(|b| *b > 0)
                        .map_or(MAX_PULL_BYTES, |b| b as usize),
                    filter: TagFilter::parse(h.opt_str("subscription")),
                    suspend,
                })
            }
        })
    }
}

impl Actor for PullProcessor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox);
    }
}

impl Handler<Request> for PullProcessor {
    type Result = ();

    fn handle(&mut self, req: Request, _ctx: &mut Context<Self>) {
        let _timer = stats().pull_processor.handling();
        let kind = match self.query(&req.cmd) {
            Ok(kind) => kind,
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                req.reply.send(response);
                return;
            }
        };
        forward(&self.dispatcher, kind, &req.cmd, req.reply);
    }
}

/// Hands a query to the dispatcher; a full or closed mailbox is answered here.
pub fn forward(
    dispatcher: &Addr<Dispatcher>,
    kind: QueryKind,
    cmd: &RemotingCommand,
    reply: super::connection::ReplyTo,
) {
    let query = Query {
        kind,
        response: cmd.response_to(response_code::SUCCESS, None),
        reply,
    };
    match dispatcher.try_send(query) {
        Ok(()) => stats().dispatcher.enqueued(),
        Err(SendError::Full(q)) => {
            stats().dispatcher.rejected();
            let mut r = q.response;
            r.code = response_code::SYSTEM_BUSY;
            r.remark = Some("[OVERLOAD]system busy, start flow control for a while".into());
            q.reply.send(r);
        }
        Err(SendError::Closed(q)) => {
            let mut r = q.response;
            r.code = response_code::SYSTEM_ERROR;
            r.remark = Some("the store is shutting down".into());
            q.reply.send(r);
        }
    }
}
