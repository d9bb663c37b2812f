//! `VIEW_BROKER_STATS_DATA` (315), as Java's `AdminBrokerProcessor.ViewBrokerStatsData`: header
//! `statsName`, `statsKey` (both `@CFNotNull`: a missing one is SYSTEM_ERROR, as Java's decode
//! failure); the body is `BrokerStatsData` (`{"statsDay":…,"statsHour":…,"statsMinute":…}`, each
//! `{sum, tps, avgpt}`) from the `Metrics` actor's statistics; a name or key not counted is
//! SYSTEM_ERROR with Java's remark `The stats <name> <key> not exist`.

use actix::prelude::*;

use super::super::connection::Request;
use super::super::mailbox::Mailbox;
use super::super::metrics::{Metrics, ViewStats};
use actormq::protocol::header::ExtReader;
use actormq::protocol::response_code;

/// Answers one 315 request.
pub(super) fn answer(metrics: Mailbox<Metrics>, req: Request) -> ResponseFuture<()> {
    let h = ExtReader::for_request(&req.cmd);
    let ask = match (h.str("statsName"), h.str("statsKey")) {
        (Ok(name), Ok(key)) => ViewStats {
            name: name.to_string(),
            key: key.to_string(),
        },
        (Err(e), _) | (_, Err(e)) => {
            let resp = req.cmd.response_to(e.response_code(), Some(e.to_string()));
            req.reply.send(resp);
            return Box::pin(async {});
        }
    };
    Box::pin(async move {
        let refuse = |remark: String| {
            req.cmd
                .response_to(response_code::SYSTEM_ERROR, Some(remark))
        };
        let resp = match metrics.send(ask).await {
            Ok(Ok(data)) => match serde_json::to_vec(&data) {
                Ok(body) => req
                    .cmd
                    .response_to(response_code::SUCCESS, None)
                    .with_body(body.into()),
                Err(e) => refuse(format!("stats body: {e}")),
            },
            Ok(Err(remark)) => refuse(remark),
            Err(_) => refuse("metrics unavailable".into()),
        };
        req.reply.send(resp);
    })
}
