//! `INVOKE_BROKER_TO_GET_CONSUMER_STATUS` (223, `mqadmin getConsumerStatus`), as Java's
//! `Broker2Client.getConsumeStatus`: GET_CONSUMER_STATUS_FROM_CLIENT (221) goes to each live
//! consumer of the group asked (or the one named), on the same `Call` path as a forwarded 307;
//! the answers that come within 5 s are gathered by client id into one `GetConsumerStatusBody`.
//! Java asks one client after another, 5 s each; here they are asked at once, so the answer
//! takes at most 5 s whatever the group's size. Which clients, and the bodies, are
//! `actormq::consumer_status`.

use std::time::Duration;

use actix::prelude::*;
use futures_util::future::join_all;
use tracing::info;

use super::super::connection::{Call, Request};
use super::ClientManager;
use actormq::consumer_status::{
    answer_body, client_offsets, clients_to_ask, status_request, CLIENT_TIMEOUT_MS,
};
use actormq::protocol::header::ExtReader;
use actormq::protocol::response_code;

impl ClientManager {
    /// 223: header `topic`, `group` (`@CFNotNull`), `clientAddr` (a client id, optional). No
    /// live consumer, or one to ask too old: SYSTEM_ERROR with Java's remark; else SUCCESS with
    /// what the clients answered (a client that fails or stays silent is left out, as Java).
    pub(super) fn consumer_status(&mut self, req: Request, ctx: &mut Context<Self>) {
        let Request { cmd, reply, peer } = req;
        let h = ExtReader::for_request(&cmd);
        let parsed = h.str("topic").and_then(|t| Ok((t, h.str("group")?)));
        let (topic, group) = match parsed {
            Ok(p) => p,
            Err(e) => return reply.send(cmd.response_to(e.response_code(), Some(e.to_string()))),
        };
        let live = self.registry.consumer_versions(group);
        let asked = match clients_to_ask(group, &live, h.opt_str("clientAddr")) {
            Ok(asked) => asked,
            Err(e) => {
                let refused = cmd.response_to(response_code::SYSTEM_ERROR, Some(e.to_string()));
                return reply.send(refused);
            }
        };
        info!(%peer, topic, group, clients = ?asked, "get-consumer-status");
        let waits: Vec<_> = asked
            .into_iter()
            .filter_map(|client_id| {
                let client = self.registry.consumer_of(group, client_id)?;
                let (answer, answered) = tokio::sync::oneshot::channel();
                let request = status_request(topic, group);
                client.peer.connection.do_send(Call {
                    cmd: request,
                    answer,
                });
                Some((client_id.to_string(), answered))
            })
            .collect();
        let timeout = Duration::from_millis(CLIENT_TIMEOUT_MS);
        async move {
            let answers = join_all(waits.into_iter().map(|(client_id, answered)| async move {
                let answer = tokio::time::timeout(timeout, answered).await.ok()?.ok()?;
                if answer.code != response_code::SUCCESS {
                    return None;
                }
                Some((client_id, client_offsets(&answer.body)?))
            }))
            .await;
            let clients: Vec<_> = answers.into_iter().flatten().collect();
            let response = cmd
                .response_to(response_code::SUCCESS, None)
                .with_body(answer_body(&clients).into());
            reply.send(response);
        }
        .into_actor(self)
        .spawn(ctx);
    }
}
