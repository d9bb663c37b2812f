//! Requests the `ClientManager` forwards to one consumer and whose answers it returns, as Java's
//! `callConsumer`: GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309, after the
//! `Dispatcher` has looked up the record it names).

use std::time::Duration;

use actix::prelude::*;

use super::super::connection::{Call, ReplyTo, Request};
use super::super::dispatcher::{LookMessage, MessageLooked};
use super::super::mailbox::Mailbox;
use super::super::metrics::stats;
use super::{header, ClientManager};
use actormq::protocol::{request_code, response_code, RemotingCommand};
use actormq::store::message::decode_offset_msg_id;

impl ClientManager {
    /// GET_CONSUMER_RUNNING_INFO (307, `mqadmin consumerStatus`) and CONSUME_MESSAGE_DIRECTLY
    /// (309, `mqadmin queryMsgById -g G -d clientId`), Java's `callConsumer`: the request goes on to
    /// the consumer `clientId` of `consumerGroup` (same header fields and body; for 309 with this
    /// broker's `brokerName` and, as the body, the record `msgId` names, looked up first) and its
    /// answer comes back as it is. Not online, or older than V3_1_8_SNAPSHOT: SYSTEM_ERROR; no
    /// answer within [`CALL_TIMEOUT`]: CONSUME_MSG_TIMEOUT (Java's remarks).
    pub(super) fn call_consumer(&mut self, req: Request, ctx: &mut Context<Self>) {
        let Request { cmd, reply, .. } = req;
        let h = header(&cmd, "ConsumerRequestHeader");
        let (group, client_id) = match (h.str("consumerGroup"), h.str("clientId")) {
            (Ok(g), Ok(c)) => (g.to_string(), c.to_string()),
            (Err(e), _) | (_, Err(e)) => {
                return reply.send(cmd.response_to(e.response_code(), Some(e.to_string())));
            }
        };
        let call = ConsumerCall {
            cmd,
            reply,
            group,
            client_id,
        };
        if call.cmd.code != request_code::CONSUME_MESSAGE_DIRECTLY {
            return self.forward(call, None, ctx);
        }
        let offset = call
            .cmd
            .ext("msgId")
            .and_then(decode_offset_msg_id)
            .map(|(_, offset)| offset);
        match (offset, &self.dispatcher) {
            (Some(offset), Some(dispatcher)) => dispatcher.do_send(LookMessage {
                offset,
                then: call,
                reply: Mailbox::new(ctx.address()).recipient(),
            }),
            _ => {
                let remark = format!("bad msgId {:?}", call.cmd.ext("msgId").unwrap_or(""));
                let response = call
                    .cmd
                    .response_to(response_code::SYSTEM_ERROR, Some(remark));
                call.reply.send(response);
            }
        }
    }

    /// Sends `call`'s request (with `record` as its body, if given) to its consumer and answers
    /// with the consumer's answer.
    fn forward(
        &mut self,
        call: ConsumerCall,
        record: Option<bytes::Bytes>,
        ctx: &mut Context<Self>,
    ) {
        let ConsumerCall {
            cmd,
            reply,
            group,
            client_id,
        } = call;
        let refuse = |remark: String| cmd.response_to(response_code::SYSTEM_ERROR, Some(remark));
        let Some(client) = self.registry.consumer_of(&group, &client_id) else {
            return reply.send(refuse(format!(
                "The Consumer <{group}> <{client_id}> not online"
            )));
        };
        if client.peer.version < V3_1_8_SNAPSHOT {
            let remark = format!(
                "The Consumer <{client_id}> Version <{}> too low to finish, please upgrade it to V3_1_8_SNAPSHOT",
                client.peer.version
            );
            return reply.send(refuse(remark));
        }
        let mut forward = RemotingCommand::request(cmd.code, 0);
        forward.ext_fields = cmd.ext_fields.clone();
        forward.body = match record {
            Some(record) => {
                forward = forward.with_ext("brokerName", &self.broker_name);
                record
            }
            None => cmd.body.clone(),
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        client.peer.connection.do_send(Call {
            cmd: forward,
            answer,
        });
        let timeout = cmd.response_to(
            response_code::CONSUME_MSG_TIMEOUT,
            Some(format!(
                "consumer <{group}> <{client_id}> Timeout: no answer within {} ms",
                CALL_TIMEOUT.as_millis()
            )),
        );
        let closed = refuse(format!(
            "invoke consumer <{group}> <{client_id}> Exception: the connection closed"
        ));
        let opaque = cmd.opaque;
        async move {
            match tokio::time::timeout(CALL_TIMEOUT, answered).await {
                Ok(Ok(mut response)) => {
                    response.opaque = opaque;
                    reply.send(response);
                }
                Ok(Err(_)) => reply.send(closed),
                Err(_) => reply.send(timeout),
            }
        }
        .into_actor(self)
        .spawn(ctx);
    }
}

/// A request for a consumer on its way (309 waits for its record first).
pub struct ConsumerCall {
    cmd: RemotingCommand,
    reply: ReplyTo,
    group: String,
    client_id: String,
}

/// CONSUME_MESSAGE_DIRECTLY's record, from the Dispatcher: the call goes on with it as the body.
impl Handler<MessageLooked<ConsumerCall>> for ClientManager {
    type Result = ();

    fn handle(&mut self, looked: MessageLooked<ConsumerCall>, ctx: &mut Context<Self>) {
        let _timer = stats().client_manager.handling();
        let MessageLooked { record, then } = looked;
        match record {
            Some(record) => self.forward(then, Some(record), ctx),
            None => {
                let remark = format!(
                    "no message for msgId {}",
                    then.cmd.ext("msgId").unwrap_or("")
                );
                let response = then
                    .cmd
                    .response_to(response_code::SYSTEM_ERROR, Some(remark));
                then.reply.send(response);
            }
        }
    }
}

/// How long a request forwarded to a client waits for its answer (Java's `callClient`: 10 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// `MQVersion.Version.V3_1_8_SNAPSHOT.ordinal()`: older clients cannot answer forwarded requests.
const V3_1_8_SNAPSHOT: i32 = 62;
