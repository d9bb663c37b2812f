//! What the `PullProcessor` checks before a request reaches the `Dispatcher`: the broker's read
//! permission, the pull's consumer group (`PullGate`), and CHECK_CLIENT_CONFIG's answer.

use super::*;

impl PullProcessor {
    /// `PullMessageProcessor`'s first check: a broker without read permission refuses pulls,
    /// `forbiddenType` BROKER_FORBIDDEN (1).
    pub(super) fn refuse_pull(&self, cmd: &RemotingCommand) -> Option<RemotingCommand> {
        if !is_pull(cmd.code) || self.permission.readable() {
            return None;
        }
        let remark = format!(
            "the broker[{}] pulling message is forbidden",
            self.broker_ip
        );
        let response = cmd.response_to(response_code::NO_PERMISSION, Some(remark));
        Some(response.with_ext("forbiddenType", 1))
    }

    /// `PullMessageProcessor`'s group checks: an unknown group is created on first use (and
    /// announced to the table's owner) or refused, a disabled one refused, and a broadcasting
    /// consumer's pull refused where the group does not allow broadcast.
    /// `group` is the pull's `consumerGroup` header (`None` for other codes and when missing).
    pub(super) fn refuse_group(
        &mut self,
        cmd: &RemotingCommand,
        group: Option<&str>,
    ) -> Option<RemotingCommand> {
        let (gate, creator) = self.groups.as_mut()?;
        let group = group?;
        let registered = &self.registered;
        // A pull by its heartbeat's subscription (Java's `hasSubscriptionFlag` unset) of a
        // broadcasting consumer.
        let broadcasting = || registered.is_broadcasting(group) && !own_subscription(cmd);
        match gate.check(group, broadcasting) {
            GroupVerdict::Serve => None,
            GroupVerdict::ServeAndCreate => {
                creator.do_send(EnsureGroup(group.to_string()));
                None
            }
            GroupVerdict::Refuse {
                code,
                forbidden_type,
                remark,
            } => {
                let response = cmd.response_to(code, Some(remark));
                Some(match forbidden_type {
                    Some(t) => response.with_ext("forbiddenType", t),
                    None => response,
                })
            }
        }
    }

    /// CHECK_CLIENT_CONFIG (46): a consumer about to start with a non-TAG subscription asks
    /// whether the broker serves it (body `CheckClientRequestBody`: `subscriptionData` with
    /// `expressionType` and `subString`). A body that is not one is SUCCESS, as Java's null body.
    pub(super) fn check_client_config(&self, cmd: &RemotingCommand) -> RemotingCommand {
        let body: serde_json::Value = serde_json::from_slice(&cmd.body).unwrap_or_default();
        let sub = &body["subscriptionData"];
        let refusal = sub.is_object().then(|| {
            check_client_config(
                sub["expressionType"].as_str(),
                sub["subString"].as_str(),
                self.property_filter,
            )
        });
        match refusal.flatten() {
            None => cmd.response_to(response_code::SUCCESS, None),
            Some((code, remark)) => {
                debug!(group = ?body["group"].as_str(), %remark, "client config refused");
                cmd.response_to(code, Some(remark))
            }
        }
    }
}

/// Whether a pull carries its own subscription (sysFlag SUBSCRIPTION).
pub(super) fn own_subscription(cmd: &RemotingCommand) -> bool {
    cmd.ext("sysFlag")
        .and_then(|f| f.parse::<i32>().ok())
        .is_some_and(|f| f & pull_sys_flag::SUBSCRIPTION != 0)
}

pub(super) fn is_pull(code: i32) -> bool {
    matches!(
        code,
        request_code::PULL_MESSAGE | request_code::LITE_PULL_MESSAGE
    )
}
