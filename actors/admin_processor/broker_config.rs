//! `GET_BROKER_CONFIG` (26, `mqadmin getBrokerConfig`): the effective configuration as properties
//! text; `UPDATE_BROKER_CONFIG` (25, `mqadmin updateBrokerConfig`): `brokerPermission`, the one
//! setting that changes while running (`actormq::broker_permission`). The new permission is applied
//! by the `SendProcessor`, which owns what is registered, and written back to the configuration
//! file (`actormq::config_update`, as Java persists its broker.conf) before the request is
//! answered.

use actix::prelude::*;
use tracing::{info, warn};

use super::super::connection::Request;
use super::super::send_processor::SetBrokerPermission;
use super::AdminProcessor;
use actormq::broker_permission::{plan_update, BROKER_PERMISSION};
use actormq::config_update::persist_broker_permission;
use actormq::protocol::{response_code, RemotingCommand};

impl AdminProcessor {
    /// GET_BROKER_CONFIG: the properties rendered at start and the current permission.
    pub(super) fn broker_config(&self, cmd: &RemotingCommand) -> RemotingCommand {
        let body = format!(
            "{}{BROKER_PERMISSION}={}\n",
            self.broker_properties, self.permission
        );
        cmd.response_to(response_code::SUCCESS, None)
            .with_body(body.into_bytes().into())
    }

    /// UPDATE_BROKER_CONFIG: a new `brokerPermission` is applied and answered SUCCESS once the
    /// `SendProcessor` has it; any other key refuses the whole request (Java's black list with
    /// its remark).
    pub(super) fn update_broker_config(&mut self, req: Request) -> ResponseFuture<()> {
        let permission = match plan_update(&req.cmd.body) {
            Ok(None) => {
                req.reply
                    .send(req.cmd.response_to(response_code::SUCCESS, None));
                return Box::pin(async {});
            }
            Ok(Some(p)) => p,
            Err(e) => {
                warn!(peer = %req.peer, error = %e, "updateBrokerConfig refused");
                let resp = req.cmd.response_to(e.response_code(), Some(e.to_string()));
                req.reply.send(resp);
                return Box::pin(async {});
            }
        };
        info!(peer = %req.peer, %permission, "updateBrokerConfig");
        self.permission = permission;
        let (send, file) = (self.send.clone(), self.config_file.clone());
        Box::pin(async move {
            let applied = match send {
                Some(send) => send.send(SetBrokerPermission(permission)).await.is_ok(),
                None => false,
            };
            let resp = if applied {
                // As Java: a file that cannot be written is logged; the broker runs with the
                // new permission all the same.
                if let Some(file) = file {
                    match persist_broker_permission(&file, permission) {
                        Ok(()) => {
                            info!(file = %file.display(), %permission, "brokerPermission written to the configuration file")
                        }
                        Err(e) => {
                            warn!(error = %e, "brokerPermission applied but not written to the configuration file: a restart goes back to the file's")
                        }
                    }
                }
                req.cmd.response_to(response_code::SUCCESS, None)
            } else {
                let remark = "the broker is stopping: brokerPermission not applied".to_string();
                req.cmd
                    .response_to(response_code::SYSTEM_ERROR, Some(remark))
            };
            req.reply.send(resp);
        })
    }
}
