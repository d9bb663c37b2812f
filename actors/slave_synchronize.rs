//! `SlaveSynchronize`: a slave's metadata sync from its master (RocketMQ's `SlaveSynchronize`).
//!
//! *Owns* the master's broker address (`ha.master_broker_addr`, or set later by
//! `SetMasterBrokerAddr`) and whether a round is running. At start and every `ha.slave_sync_interval_ms` (10 s) it asks the
//! master over remoting for GET_ALL_TOPIC_CONFIG (21), GET_ALL_CONSUMER_OFFSET (43),
//! GET_ALL_DELAY_OFFSET (45) and GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), checks each answer
//! (`actormq::ha::slave_sync`) and *sends* what to apply to the actors that own those tables:
//! `ApplyMasterTables` to the `SendProcessor`, `ApplyMasterOffsets` to the `OffsetProcessor`,
//! `ApplyMasterDelayOffsets` to the `Scheduler`; each persists its table. A failed call or an
//! unusable answer is logged and that table is left as it is until the next round. *Runs on* the
//! system arbiter; the remoting calls are futures on it, never blocking it.

use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, info, warn};

use super::mailbox::{timer_tick, Mailbox};
use super::offset_processor::{ApplyMasterOffsets, OffsetProcessor};
use super::registrar::MasterChanged;
use super::scheduler::{ApplyMasterDelayOffsets, Scheduler};
use super::send_processor::{ApplyMasterTables, SendProcessor};
use actormq::client::Client;
use actormq::ha::slave_sync::{self, SyncError, SYNC_CODES};
use actormq::protocol::{response_code, RemotingCommand};

/// The tables' owners.
pub struct SyncTargets {
    pub send: Mailbox<SendProcessor>,
    pub offsets: Mailbox<OffsetProcessor>,
    pub scheduler: Mailbox<Scheduler>,
}

pub struct SlaveSynchronize {
    master: Option<String>,
    targets: SyncTargets,
    /// `ha.slave_sync_interval_ms` (RocketMQ 4.9: 10 s).
    interval: Duration,
    running: bool,
    /// The last round failed: further failures are logged at debug level only (a master that is
    /// down would otherwise log a warning every interval), and the recovery once.
    failing: bool,
}

impl SlaveSynchronize {
    pub fn new(master: Option<String>, targets: SyncTargets, interval: Duration) -> Self {
        SlaveSynchronize {
            master,
            targets,
            interval,
            running: false,
            failing: false,
        }
    }

    /// One round: the four calls on one connection, then the tables sent to their owners.
    fn sync(&mut self, ctx: &mut Context<Self>) {
        let Some(master) = self.master.clone() else {
            return;
        };
        if self.running {
            return;
        }
        self.running = true;
        async move {
            let client = Client::connect(&master)
                .await
                .map_err(|e| format!("connect to {master}: {e}"))?;
            let mut bodies = Vec::with_capacity(SYNC_CODES.len());
            for code in SYNC_CODES {
                let answer = client.request(RemotingCommand::request(code, 0)).await;
                bodies.push(match answer {
                    Ok(r) if r.code == response_code::SUCCESS => Ok(r.body),
                    Ok(r) => Err(format!("code {} {:?}", r.code, r.remark)),
                    Err(e) => Err(e.to_string()),
                });
            }
            Ok::<_, String>(bodies)
        }
        .into_actor(self)
        .map(|result, act, _| {
            act.running = false;
            match result {
                Ok(bodies) => {
                    if std::mem::take(&mut act.failing) {
                        info!("slave metadata sync works again");
                    }
                    act.apply(bodies)
                }
                Err(e) if act.failing => debug!(error = %e, "slave metadata sync failed again"),
                Err(e) => {
                    act.failing = true;
                    warn!(error = %e, "slave metadata sync failed; tried again every interval, logged again when it works");
                }
            }
        })
        .spawn(ctx);
    }

    fn apply(&self, bodies: Vec<Result<bytes::Bytes, String>>) {
        let body = |i: usize| (SYNC_CODES[i], bodies.get(i).cloned());
        let topics = usable(body(0), slave_sync::decode_topics);
        let offsets = usable(body(1), slave_sync::decode_offsets);
        let delay = usable(body(2), slave_sync::decode_delay_offsets);
        let groups = usable(body(3), slave_sync::decode_groups);
        self.targets
            .send
            .do_send(ApplyMasterTables { topics, groups });
        if let Some(o) = offsets {
            self.targets.offsets.do_send(ApplyMasterOffsets(o));
        }
        if let Some(d) = delay {
            self.targets.scheduler.do_send(ApplyMasterDelayOffsets(d));
        }
    }
}

/// The decoded answer to `code`, or `None` (logged: that table stays as it is this round).
fn usable<T>(
    (code, body): (i32, Option<Result<bytes::Bytes, String>>),
    decode: fn(&[u8]) -> Result<T, SyncError>,
) -> Option<T> {
    let decoded = body
        .unwrap_or_else(|| Err("no answer".into()))
        .and_then(|b| decode(&b).map_err(|e| e.to_string()));
    decoded
        .map_err(|e| warn!(code, error = %e, "slave metadata sync: table left as it is"))
        .ok()
}

impl Actor for SlaveSynchronize {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        match &self.master {
            Some(m) => {
                info!(master = %m, interval_ms = self.interval.as_millis() as u64, "slave metadata sync")
            }
            None => info!("slave metadata sync waits for the master's address"),
        }
        self.sync(ctx);
        ctx.run_interval(self.interval, |act, ctx| {
            let _tick = timer_tick::<SlaveSynchronize>();
            act.sync(ctx);
        });
    }
}

/// The master's broker address, learned after start (e.g. from a name server's answer); a sync
/// round starts at once.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetMasterBrokerAddr(pub String);

impl Handler<SetMasterBrokerAddr> for SlaveSynchronize {
    type Result = ();

    fn handle(&mut self, msg: SetMasterBrokerAddr, ctx: &mut Context<Self>) {
        let _timer = super::metrics::stats().slave_synchronize.handling();
        if self.master.as_deref() != Some(msg.0.as_str()) {
            self.master = Some(msg.0);
            self.sync(ctx);
        }
    }
}

/// The name servers named a (new) master (subscribed only when `ha.master_broker_addr` is not
/// configured).
impl Handler<MasterChanged> for SlaveSynchronize {
    type Result = ();

    fn handle(&mut self, changed: MasterChanged, ctx: &mut Context<Self>) {
        let addr = SetMasterBrokerAddr(changed.master_addr);
        <Self as Handler<SetMasterBrokerAddr>>::handle(self, addr, ctx);
    }
}
