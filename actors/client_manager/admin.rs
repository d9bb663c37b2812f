//! The `ClientManager`'s admin reads across groups, answered from its registry
//! (`actormq::client_registry`): `GET_ALL_PRODUCER_INFO` (328, `mqadmin producer`: every group's
//! live producers) and `QUERY_SUBSCRIPTION_BY_CONSUMER` (345, the Dashboard: an online group's
//! subscription of one topic).

use std::time::Instant;

use super::{refusal, ClientManager};
use actormq::protocol::header::ExtReader;
use actormq::protocol::{request_code, response_code, RemotingCommand};

impl ClientManager {
    /// 328 and 345.
    pub(super) fn admin_read(&self, cmd: &RemotingCommand) -> RemotingCommand {
        let body = if cmd.code == request_code::GET_ALL_PRODUCER_INFO {
            let now_ms = actormq::store::now_ms();
            match self.registry.producer_table_body(Instant::now(), now_ms) {
                Ok(body) => body,
                Err(e) => return refusal(cmd, &e),
            }
        } else {
            // `group` is `@CFNotNull`, `topic` may be absent: then an online group fails as
            // Java's lookup with a null topic does.
            let h = ExtReader::for_request(cmd);
            let group = match h.str("group") {
                Ok(g) => g,
                Err(e) => return cmd.response_to(e.response_code(), Some(e.to_string())),
            };
            match self.registry.subscription_body(group, h.opt_str("topic")) {
                Some(body) => body,
                None => {
                    let e = h.null("topic");
                    return cmd.response_to(e.response_code(), Some(e.to_string()));
                }
            }
        };
        cmd.response_to(response_code::SUCCESS, None)
            .with_body(body.into())
    }
}
