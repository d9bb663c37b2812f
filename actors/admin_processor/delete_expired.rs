//! `DELETE_EXPIRED_COMMITLOG` (329, `mqadmin deleteExpiredCommitLog`), as Java's
//! `AdminBrokerProcessor.deleteExpiredCommitLog`: the `Retention` actor is told to delete expired
//! commit-log files at its next checks whatever the hour (`DeleteExpiredManually`), and the
//! request is answered SUCCESS at once; the files go within the next check interval, as in Java
//! (`DefaultMessageStore.executeDeleteFilesManually`).

use tracing::info;

use super::super::connection::Request;
use super::super::mailbox::CountedRecipient;
use super::super::retention::DeleteExpiredManually;
use actormq::protocol::response_code;

/// Answers one 329 request; `retention` is `None` only before the store started, which never
/// serves requests.
pub(super) fn answer(retention: Option<&CountedRecipient<DeleteExpiredManually>>, req: Request) {
    let response = match retention {
        Some(retention) => {
            info!(peer = %req.peer, "deleteExpiredCommitLog");
            retention.do_send(DeleteExpiredManually);
            req.cmd.response_to(response_code::SUCCESS, None)
        }
        None => req.cmd.response_to(
            response_code::SYSTEM_ERROR,
            Some("the store's retention is not running".into()),
        ),
    };
    req.reply.send(response);
}
