//! Handing a parsed `Query` to the `Dispatcher`, shared by the `PullProcessor` and the
//! `OffsetProcessor` (both turn requests into queries the dispatcher answers). It lives apart from
//! both so neither processor imports the other for it; `Query` itself is defined with its handler in
//! `dispatcher.rs`.

use actix::prelude::*;

use super::connection::ReplyTo;
use super::dispatcher::{Dispatcher, Query, QueryKind};
use super::mailbox::Mailbox;
use actormq::protocol::{response_code, RemotingCommand, OVERLOAD_REMARK};

/// Hands a query to the dispatcher; a full or closed mailbox is answered here.
pub fn forward(
    dispatcher: &Mailbox<Dispatcher>,
    kind: QueryKind,
    cmd: &RemotingCommand,
    reply: ReplyTo,
) {
    let query = Query {
        kind,
        response: cmd.response_to(response_code::SUCCESS, None),
        reply,
    };
    match dispatcher.try_send(query) {
        Ok(()) => {}
        Err(SendError::Full(q)) => {
            let mut r = q.response;
            r.code = response_code::SYSTEM_BUSY;
            r.remark = Some(OVERLOAD_REMARK.into());
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
