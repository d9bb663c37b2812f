//! `CLEAN_EXPIRED_CONSUMEQUEUE` (306, `mqadmin cleanExpiredCQ`) and `CLEAN_UNUSED_TOPIC` (316,
//! `mqadmin cleanUnusedTopic`), as Java's `AdminBrokerProcessor`: the `Dispatcher`, which owns the
//! consume queues, cleans them (`CleanQueues`), and the request is answered SUCCESS when it has.

use actix::prelude::*;
use tracing::info;

use super::super::connection::Request;
use super::super::dispatcher::{CleanQueues, Dispatcher};
use super::super::mailbox::Mailbox;
use actormq::protocol::{request_code, response_code};

/// Answers one 306 or 316 request; `dispatcher` is `None` only before the store started.
pub(super) fn answer(dispatcher: Option<Mailbox<Dispatcher>>, req: Request) -> ResponseFuture<()> {
    let clean = if req.cmd.code == request_code::CLEAN_UNUSED_TOPIC {
        CleanQueues::Unused
    } else {
        CleanQueues::Expired
    };
    Box::pin(async move {
        let cleaned = match dispatcher {
            Some(d) => d.send(clean).await.ok(),
            None => None,
        };
        let response = match cleaned {
            Some(n) => {
                info!(peer = %req.peer, ?clean, cleaned = n, "consume queues cleaned");
                req.cmd.response_to(response_code::SUCCESS, None)
            }
            None => req.cmd.response_to(
                response_code::SYSTEM_ERROR,
                Some("the store's dispatcher is not running".into()),
            ),
        };
        req.reply.send(response);
    })
}
