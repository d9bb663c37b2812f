//! `GET_BROKER_HA_STATUS` (907, `mqadmin haStatus`), as Java's `AdminBrokerProcessor.getBrokerHaStatus`:
//! the `HARuntimeInfo` JSON (`actormq::ha::status`) of whichever replication actor this broker
//! runs: the master's `HaServer` or the slave's `HaClient`, asked with [`AskHaStatus`]. The
//! broker tells the `AdminProcessor` which one with [`HaStatusFrom`] once it started it. Before
//! that, or with that actor gone: SYSTEM_ERROR `Can not get HARuntimeInfo`, Java's answer when
//! its store has no HA service.

use actix::prelude::*;

use super::super::connection::Request;
use super::super::mailbox::CountedRecipient;
use super::super::metrics::stats;
use super::AdminProcessor;
use actormq::ha::status::HaRuntimeInfo;
use actormq::protocol::response_code;

/// To the `HaServer` or the `HaClient`: its figures as `HARuntimeInfo`.
#[derive(Message)]
#[rtype(result = "HaRuntimeInfo")]
pub struct AskHaStatus;

/// To the `AdminProcessor`: who answers [`AskHaStatus`] (sent once, at start).
#[derive(Message)]
#[rtype(result = "()")]
pub struct HaStatusFrom(pub CountedRecipient<AskHaStatus>);

impl Handler<HaStatusFrom> for AdminProcessor {
    type Result = ();

    fn handle(&mut self, HaStatusFrom(source): HaStatusFrom, _ctx: &mut Context<Self>) {
        let _timer = stats().admin_processor.handling();
        self.ha_status = Some(source);
    }
}

/// Answers one 907 request.
pub(super) fn answer(
    source: Option<CountedRecipient<AskHaStatus>>,
    req: Request,
) -> ResponseFuture<()> {
    Box::pin(async move {
        let info = match source {
            Some(s) => s.send(AskHaStatus).await.ok(),
            None => None,
        };
        let body = info.and_then(|i| serde_json::to_vec(&i).ok());
        let resp = match body {
            Some(body) => req
                .cmd
                .response_to(response_code::SUCCESS, None)
                .with_body(body.into()),
            None => req.cmd.response_to(
                response_code::SYSTEM_ERROR,
                Some("Can not get HARuntimeInfo: no replication actor running".into()),
            ),
        };
        req.reply.send(resp);
    })
}
