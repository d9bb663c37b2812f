//! The halves still waiting for their producer's word, and when each is asked about it (Java's
//! `TransactionalMessageCheckService` round).
//!
//! Java re-reads the half queue every round and re-appends each half it checks, so its progress
//! is the queue itself. Here the open halves are kept in memory instead, keyed by their half-queue
//! offset: the send path reports each stored half, END_TRANSACTION each ended one, and at start
//! the table is rebuilt from the half and op queues ([`PendingHalves::recovering`]). A half is
//! first checked once its timeout (or the producer's immunity time) has passed, then every check
//! interval, and given up after `max_checks` checks, as Java's `transactionCheckMax`. The check
//! count is not persisted: a restart starts it again (Java keeps it in the re-appended copy).

use std::collections::{BTreeMap, BTreeSet};

/// When halves are checked (`[transaction]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckRules {
    /// Between two checks of one half (`transactionCheckInterval`).
    pub interval_ms: i64,
    /// Checks before the half is given up (`transactionCheckMax`).
    pub max_checks: u32,
}

/// One open half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingHalf {
    pub commit_log_offset: i64,
    pub producer_group: String,
    /// Not checked before this (epoch ms).
    pub next_check_ms: i64,
    pub checks: u32,
}

/// What a check round decided for one half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Ask the producer group (CHECK_TRANSACTION_STATE).
    Check {
        queue_offset: i64,
        half: PendingHalf,
    },
    /// Checked `max_checks` times without an answer: ended without being stored.
    GiveUp {
        queue_offset: i64,
        half: PendingHalf,
    },
}

/// The open halves by half-queue offset.
#[derive(Debug, Default)]
pub struct PendingHalves {
    halves: BTreeMap<i64, PendingHalf>,
    /// While rebuilding at start: halves known to be ended before their half is read.
    ended_early: Option<BTreeSet<i64>>,
}

impl PendingHalves {
    /// A table being rebuilt: ends reported before [`PendingHalves::recovered`] are remembered so
    /// that the half, when the rebuild reads it, is not taken as open.
    pub fn recovering() -> Self {
        PendingHalves {
            halves: BTreeMap::new(),
            ended_early: Some(BTreeSet::new()),
        }
    }

    /// The rebuild is over: from now on an end for an unknown half is ignored.
    pub fn recovered(&mut self) {
        self.ended_early = None;
    }

    pub fn is_recovering(&self) -> bool {
        self.ended_early.is_some()
    }

    /// A half was stored (or read back at start).
    pub fn stored(&mut self, queue_offset: i64, half: PendingHalf) {
        if let Some(ended) = &mut self.ended_early {
            if ended.remove(&queue_offset) {
                return;
            }
        }
        self.halves.entry(queue_offset).or_insert(half);
    }

    /// A half was ended (committed, rolled back or given up): it is not checked again.
    pub fn ended(&mut self, queue_offset: i64) {
        if self.halves.remove(&queue_offset).is_none() {
            if let Some(ended) = &mut self.ended_early {
                ended.insert(queue_offset);
            }
        }
    }

    /// Puts a half's next check off until `until_ms` without counting the check just taken
    /// (the producer's immunity time had not passed).
    pub fn defer(&mut self, queue_offset: i64, until_ms: i64) {
        if let Some(half) = self.halves.get_mut(&queue_offset) {
            half.next_check_ms = until_ms;
            half.checks = half.checks.saturating_sub(1);
        }
    }

    /// The half-queue offset below which every half is ended: the lowest open one, or `next`
    /// (the offset after the last half known) when none is open.
    pub fn progress(&self, next: i64) -> i64 {
        self.halves.keys().next().copied().unwrap_or(next)
    }

    pub fn len(&self) -> usize {
        self.halves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.halves.is_empty()
    }

    /// The halves due at `now_ms`: each is checked (and its next check set an interval later), or
    /// given up and dropped once it has been checked `max_checks` times.
    pub fn due(&mut self, now_ms: i64, rules: CheckRules) -> Vec<Due> {
        let mut out = Vec::new();
        let mut give_up = Vec::new();
        for (&queue_offset, half) in self.halves.iter_mut() {
            if half.next_check_ms > now_ms {
                continue;
            }
            if half.checks >= rules.max_checks {
                give_up.push(queue_offset);
                continue;
            }
            half.checks += 1;
            half.next_check_ms = now_ms.saturating_add(rules.interval_ms);
            out.push(Due::Check {
                queue_offset,
                half: half.clone(),
            });
        }
        for queue_offset in give_up {
            if let Some(half) = self.halves.remove(&queue_offset) {
                out.push(Due::GiveUp { queue_offset, half });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn half(next: i64) -> PendingHalf {
        PendingHalf {
            commit_log_offset: 100,
            producer_group: "pg".into(),
            next_check_ms: next,
            checks: 0,
        }
    }

    const RULES: CheckRules = CheckRules {
        interval_ms: 1_000,
        max_checks: 2,
    };

    /// Not before its first check time; then every interval; given up after max checks.
    #[test]
    fn a_half_is_checked_each_interval_then_given_up() {
        let mut p = PendingHalves::default();
        p.stored(5, half(6_000));
        assert!(p.due(5_999, RULES).is_empty());
        let first = p.due(6_000, RULES);
        assert!(matches!(&first[..], [Due::Check { queue_offset: 5, half }] if half.checks == 1));
        assert!(p.due(6_999, RULES).is_empty());
        assert!(matches!(&p.due(7_000, RULES)[..], [Due::Check { half, .. }] if half.checks == 2));
        assert!(matches!(
            &p.due(8_000, RULES)[..],
            [Due::GiveUp {
                queue_offset: 5,
                ..
            }]
        ));
        assert!(p.is_empty());
    }

    /// An ended half is never checked; an end for an unknown half is ignored once recovered.
    #[test]
    fn ended_halves_are_not_checked() {
        let mut p = PendingHalves::default();
        p.stored(1, half(0));
        p.stored(2, half(0));
        p.ended(1);
        p.ended(9);
        let due = p.due(10, RULES);
        assert!(matches!(
            &due[..],
            [Due::Check {
                queue_offset: 2,
                ..
            }]
        ));
        p.stored(9, half(0));
        assert_eq!(
            p.len(),
            2,
            "an end seen before the half is forgotten outside recovery"
        );
    }

    /// While rebuilding, an end read before its half keeps that half from being taken as open.
    #[test]
    fn an_end_seen_during_recovery_before_its_half_wins() {
        let mut p = PendingHalves::recovering();
        p.ended(3);
        p.stored(3, half(0));
        p.stored(4, half(0));
        p.recovered();
        assert!(!p.is_recovering());
        assert_eq!(p.len(), 1);
        assert!(matches!(
            &p.due(0, RULES)[..],
            [Due::Check {
                queue_offset: 4,
                ..
            }]
        ));
    }
}
