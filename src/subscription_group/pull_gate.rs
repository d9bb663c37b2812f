//! The subscription-group checks of a pull (`PullMessageProcessor`, before anything is read):
//! an unknown group is created on first use or refused, a group an operator disabled
//! (`consumeEnable` false, `mqadmin updateSubGroup -s false`) is refused.
//!
//! The `SendProcessor` owns the group table; the pull path keeps this snapshot of what it needs
//! (a new one with every change of the table), so a pull costs one map lookup and no hop.

use std::collections::HashSet;

use super::{may_create, validate_group_name, SubscriptionGroupTable};
use crate::protocol::response_code;
use crate::FastMap;

/// Java's `ForbiddenType.GROUP_FORBIDDEN`: the `forbiddenType` of a disabled group's refusal.
pub const GROUP_FORBIDDEN: i32 = 2;

/// What a pull's group allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupVerdict {
    /// Known and enabled.
    Serve,
    /// Unknown, created on first use: serve it, and have the table's owner create it (said once
    /// per group per snapshot).
    ServeAndCreate,
    /// Refused as Java refuses it: the response code, its `forbiddenType` if any, the remark.
    Refuse {
        code: i32,
        forbidden_type: Option<i32>,
        remark: String,
    },
}

/// The pull path's view of the group table: each group's `consumeEnable`.
#[derive(Debug, Default)]
pub struct PullGate {
    enabled: FastMap<String, bool>,
    auto_create: bool,
    /// Unknown groups already announced for creation since this snapshot was taken.
    announced: HashSet<String>,
}

impl PullGate {
    /// The snapshot of `table`; unknown groups are created when `auto_create` is on (system
    /// groups always).
    pub fn new(table: &SubscriptionGroupTable, auto_create: bool) -> Self {
        let enabled = table
            .subscription_group_table
            .iter()
            .map(|(name, config)| (name.clone(), config.consume_enable))
            .collect();
        PullGate {
            enabled,
            auto_create,
            announced: HashSet::new(),
        }
    }

    /// The checks of `findSubscriptionGroupConfig` and `isConsumeEnable`, with Java's remarks.
    pub fn check(&mut self, group: &str) -> GroupVerdict {
        match self.enabled.get(group) {
            Some(true) => GroupVerdict::Serve,
            Some(false) => GroupVerdict::Refuse {
                code: response_code::NO_PERMISSION,
                forbidden_type: Some(GROUP_FORBIDDEN),
                remark: format!("subscription group no permission, {group}"),
            },
            None if may_create(group, self.auto_create) && validate_group_name(group).is_ok() => {
                if self.announced.insert(group.to_string()) {
                    GroupVerdict::ServeAndCreate
                } else {
                    GroupVerdict::Serve
                }
            }
            None => GroupVerdict::Refuse {
                code: response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
                forbidden_type: None,
                remark: format!(
                    "subscription group [{group}] does not exist, \n\
                     See https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscription_group::SubscriptionGroupConfig;

    fn table(groups: &[(&str, bool)]) -> SubscriptionGroupTable {
        let mut t = SubscriptionGroupTable::default();
        for (name, enabled) in groups {
            t.upsert(SubscriptionGroupConfig {
                consume_enable: *enabled,
                ..SubscriptionGroupConfig::new(name)
            });
        }
        t
    }

    #[test]
    fn a_known_group_is_served_and_a_disabled_one_refused_as_java_refuses_it() {
        let mut gate = PullGate::new(&table(&[("on", true), ("off", false)]), false);
        assert_eq!(gate.check("on"), GroupVerdict::Serve);
        assert_eq!(
            gate.check("off"),
            GroupVerdict::Refuse {
                code: response_code::NO_PERMISSION,
                forbidden_type: Some(GROUP_FORBIDDEN),
                remark: "subscription group no permission, off".into(),
            }
        );
    }

    #[test]
    fn an_unknown_group_is_announced_once_when_auto_create_is_on() {
        let mut gate = PullGate::new(&table(&[]), true);
        assert_eq!(gate.check("new"), GroupVerdict::ServeAndCreate);
        assert_eq!(gate.check("new"), GroupVerdict::Serve);
        assert_eq!(gate.check("other"), GroupVerdict::ServeAndCreate);
        // A name Java's validateGroup refuses is never created.
        let GroupVerdict::Refuse { code, .. } = gate.check("bad name!") else {
            panic!("an invalid name is refused");
        };
        assert_eq!(code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    }

    #[test]
    fn without_auto_create_only_system_groups_are_created() {
        let mut gate = PullGate::new(&table(&[]), false);
        let GroupVerdict::Refuse { code, remark, .. } = gate.check("app") else {
            panic!("an unknown group is refused");
        };
        assert_eq!(code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
        assert!(remark.starts_with("subscription group [app] does not exist"));
        assert_eq!(gate.check("CID_RMQ_SYS_X"), GroupVerdict::ServeAndCreate);
    }

    #[test]
    fn the_predefined_groups_are_served_without_auto_create() {
        let mut gate = PullGate::new(&SubscriptionGroupTable::default().with_predefined(), false);
        assert_eq!(gate.check("TOOLS_CONSUMER"), GroupVerdict::Serve);
        assert_eq!(gate.check("CID_RMQ_SYS_TRANS"), GroupVerdict::Serve);
    }
}
