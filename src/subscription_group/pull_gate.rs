//! The subscription-group checks of a pull (`PullMessageProcessor`, before anything is read):
//! an unknown group is created on first use or refused, a group an operator disabled
//! (`consumeEnable` false, `mqadmin updateSubGroup -s false`) is refused, and so is a broadcasting
//! consumer's pull when the group does not allow broadcast (`consumeBroadcastEnable` false).
//!
//! The `SendProcessor` owns the group table; the pull path keeps this snapshot of what it needs
//! (a new one with every change of the table), so a pull costs one map lookup and no hop.

use std::collections::HashSet;

use super::{may_create, validate_group_name, SubscriptionGroupTable};
use crate::protocol::response_code;
use crate::FastMap;

/// Java's `ForbiddenType.GROUP_FORBIDDEN`: the `forbiddenType` of a disabled group's refusal.
pub const GROUP_FORBIDDEN: i32 = 2;
/// Java's `ForbiddenType.BROADCASTING_DISABLE_FORBIDDEN`.
pub const BROADCASTING_DISABLE_FORBIDDEN: i32 = 4;

/// What a pull needs of one group's settings.
#[derive(Debug, Clone, Copy)]
struct GroupPull {
    consume_enable: bool,
    consume_broadcast_enable: bool,
}

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

/// The pull path's view of the group table: each group's `consumeEnable` and
/// `consumeBroadcastEnable`.
#[derive(Debug, Default)]
pub struct PullGate {
    groups: FastMap<String, GroupPull>,
    auto_create: bool,
    /// Unknown groups already announced for creation since this snapshot was taken.
    announced: HashSet<String>,
}

impl PullGate {
    /// The snapshot of `table`; unknown groups are created when `auto_create` is on (system
    /// groups always).
    pub fn new(table: &SubscriptionGroupTable, auto_create: bool) -> Self {
        let groups = table
            .subscription_group_table
            .iter()
            .map(|(name, config)| {
                let pull = GroupPull {
                    consume_enable: config.consume_enable,
                    consume_broadcast_enable: config.consume_broadcast_enable,
                };
                (name.clone(), pull)
            })
            .collect();
        PullGate {
            groups,
            auto_create,
            announced: HashSet::new(),
        }
    }

    /// The checks of `findSubscriptionGroupConfig`, `isConsumeEnable` and
    /// `isConsumeBroadcastEnable`, with Java's remarks. `broadcasting` says whether the pull is a
    /// broadcasting consumer's by its heartbeat's subscription (Java checks only pulls without a
    /// subscription of their own); it is asked only of groups that refuse broadcast.
    pub fn check(&mut self, group: &str, broadcasting: impl FnOnce() -> bool) -> GroupVerdict {
        match self.groups.get(group) {
            Some(g) if g.consume_enable && (g.consume_broadcast_enable || !broadcasting()) => {
                GroupVerdict::Serve
            }
            Some(g) if g.consume_enable => GroupVerdict::Refuse {
                code: response_code::NO_PERMISSION,
                forbidden_type: Some(BROADCASTING_DISABLE_FORBIDDEN),
                remark: format!("the consumer group[{group}] can not consume by broadcast way"),
            },
            Some(_) => GroupVerdict::Refuse {
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

    fn no() -> bool {
        false
    }

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
        assert_eq!(gate.check("on", no), GroupVerdict::Serve);
        assert_eq!(
            gate.check("off", no),
            GroupVerdict::Refuse {
                code: response_code::NO_PERMISSION,
                forbidden_type: Some(GROUP_FORBIDDEN),
                remark: "subscription group no permission, off".into(),
            }
        );
    }

    #[test]
    fn a_broadcasting_consumer_is_refused_only_where_the_group_forbids_broadcast() {
        let mut t = table(&[("open", true)]);
        t.upsert(SubscriptionGroupConfig {
            consume_broadcast_enable: false,
            ..SubscriptionGroupConfig::new("closed")
        });
        let mut gate = PullGate::new(&t, false);
        assert_eq!(gate.check("open", || true), GroupVerdict::Serve);
        assert_eq!(gate.check("closed", no), GroupVerdict::Serve);
        assert_eq!(
            gate.check("closed", || true),
            GroupVerdict::Refuse {
                code: response_code::NO_PERMISSION,
                forbidden_type: Some(BROADCASTING_DISABLE_FORBIDDEN),
                remark: "the consumer group[closed] can not consume by broadcast way".into(),
            }
        );
        let asked = std::cell::Cell::new(false);
        gate.check("open", || {
            asked.set(true);
            true
        });
        assert!(!asked.get(), "only groups that refuse broadcast ask");
    }

    #[test]
    fn an_unknown_group_is_announced_once_when_auto_create_is_on() {
        let mut gate = PullGate::new(&table(&[]), true);
        assert_eq!(gate.check("new", no), GroupVerdict::ServeAndCreate);
        assert_eq!(gate.check("new", no), GroupVerdict::Serve);
        assert_eq!(gate.check("other", no), GroupVerdict::ServeAndCreate);
        // A name Java's validateGroup refuses is never created.
        let GroupVerdict::Refuse { code, .. } = gate.check("bad name!", no) else {
            panic!("an invalid name is refused");
        };
        assert_eq!(code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    }

    #[test]
    fn without_auto_create_only_system_groups_are_created() {
        let mut gate = PullGate::new(&table(&[]), false);
        let GroupVerdict::Refuse { code, remark, .. } = gate.check("app", no) else {
            panic!("an unknown group is refused");
        };
        assert_eq!(code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
        assert!(remark.starts_with("subscription group [app] does not exist"));
        assert_eq!(
            gate.check("CID_RMQ_SYS_X", no),
            GroupVerdict::ServeAndCreate
        );
    }

    #[test]
    fn the_predefined_groups_are_served_without_auto_create() {
        let mut gate = PullGate::new(&SubscriptionGroupTable::default().with_predefined(), false);
        assert_eq!(gate.check("TOOLS_CONSUMER", no), GroupVerdict::Serve);
        assert_eq!(gate.check("CID_RMQ_SYS_TRANS", no), GroupVerdict::Serve);
    }
}
