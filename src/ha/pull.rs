//! Which broker a pull response tells the consumer to pull from next (`suggestWhichBrokerId`,
//! RocketMQ 5.x `PullMessageProcessor`), and when a slave sends the consumer back to its master.
//!
//! * With `slaveReadEnable`: a consumer far behind (the record it reached lies more than the
//!   "in memory" share of RAM behind the commit-log end: `isSuggestPullingFromSlave`) is sent to
//!   the group's `whichBrokerWhenConsumeSlowly` (1, a slave), otherwise to the group's `brokerId`
//!   (0, the master). Without it, always the master (0).
//! * On a slave, a consumer that is not far behind is sent to the master while the master is up;
//!   a pull that found nothing is then answered `PULL_RETRY_IMMEDIATELY` so it goes there at once.
//!   With the master down, the slave serves (the client falls back to it).
//!
//! actormq keeps no per-group broker ids, so the group defaults (0 and 1) apply. Unlike Java
//! 5.x, a slave with slave reads off still serves pulls (as 4.9 does) instead of refusing them:
//! its consumers must be able to read while the master is down.

/// Java's `MixAll.MASTER_ID`.
pub const MASTER_ID: i64 = 0;
/// `SubscriptionGroupConfig.whichBrokerWhenConsumeSlowly` default.
pub const SLOW_CONSUMER_BROKER_ID: i64 = 1;

/// The facts of this broker the suggestion depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PullRole {
    pub slave: bool,
    /// `ha.slave_read_enable` (RocketMQ's `slaveReadEnable`).
    pub slave_read_enable: bool,
    /// A slave: its master is up (its HA connection is open).
    pub master_online: bool,
}

/// What to put in the pull response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suggestion {
    pub broker_id: i64,
    /// Answer `PULL_RETRY_IMMEDIATELY` instead of the not-found code.
    pub retry_at_master: bool,
}

impl PullRole {
    /// `behind` is how far the last record looked at lies behind the commit-log end; `found`
    /// whether the pull found messages.
    pub fn suggest(&self, behind: u64, in_memory: u64, found: bool) -> Suggestion {
        let slow = behind > in_memory;
        let mut s = Suggestion {
            broker_id: match (self.slave_read_enable, slow) {
                (true, true) => SLOW_CONSUMER_BROKER_ID,
                _ => MASTER_ID,
            },
            retry_at_master: false,
        };
        if self.slave && !slow && self.master_online {
            s.broker_id = MASTER_ID;
            s.retry_at_master = !found;
        }
        s
    }
}
