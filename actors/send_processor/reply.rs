//! `SEND_REPLY_MESSAGE` / `_V2` (324 / 325), a consumer's reply to a request message: pushed to
//! the requesting producer's connection (`PushToClient` to the `ClientManager`, which owns the
//! connections), then stored in the reply topic by the ordinary send path, as Java's
//! `ReplyMessageProcessor` does (`storeReplyMessageEnable`, on by default).
//!
//! Java calls the requester and waits for its answer; actormq pushes the reply oneway (the Java,
//! Go and Rust clients handle it the same either way), so a push counts as done once the
//! requester's connection is open and the reply is queued on it.

use super::super::client_manager::PushToClient;
use super::*;
use actormq::protocol::header::SendMessageRequestHeader;
use actormq::reply::{no_reply_to_client, not_found, push_request};

impl SendProcessor {
    pub(super) fn reply(&mut self, req: Request, ctx: &mut Context<Self>) {
        let header = match req.cmd.code {
            request_code::SEND_REPLY_MESSAGE => {
                SendMessageRequestHeader::from_ext_v1(&req.cmd.ext_fields)
            }
            _ => SendMessageRequestHeader::from_ext_v2(&req.cmd.ext_fields),
        };
        let header = match header {
            Ok(h) => h,
            Err(e) => {
                let response = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                return req.reply.send(response);
            }
        };
        let now = actormq::store::now_ms();
        let push = push_request(
            &header,
            req.cmd.body.clone(),
            req.peer,
            self.store_host,
            now,
        );
        let (Some((client_id, cmd)), Some(clients)) = (push, self.clients.clone()) else {
            warn!(topic = %header.topic, "reply message names no requester (REPLY_TO_CLIENT)");
            return self.send(req, Some(no_reply_to_client()));
        };
        let ask = clients.send(PushToClient {
            client_id: client_id.clone(),
            cmd,
        });
        ask.into_actor(self)
            .map(move |pushed, act, _ctx| {
                let failure = match pushed {
                    Ok(true) => None,
                    _ => {
                        let remark = not_found(&client_id);
                        warn!(%remark, "reply not pushed");
                        Some(remark)
                    }
                };
                act.send(req, failure);
            })
            .spawn(ctx);
    }
}
