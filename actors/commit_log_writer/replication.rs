//! The writer's side of replication: a slave appends its master's bytes (`AppendReplicated`,
//! from the `HaClient`); a SYNC_MASTER releases the sends a slave has acknowledged (`SlaveAcked`,
//! from the `HaServer`).

use super::*;

/// Slave: the master's bytes at `offset` (`HaClient`), written at the same offset; answers the
/// new write offset, or why they were refused (nothing written).
#[derive(Message)]
#[rtype(result = "Result<u64, ReplicaError>")]
pub struct AppendReplicated {
    pub offset: u64,
    pub bytes: Bytes,
}

impl Handler<AppendReplicated> for CommitLogWriter {
    type Result = Result<u64, ReplicaError>;

    fn handle(&mut self, msg: AppendReplicated, ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().commit_log_writer.handling();
        let first_of_turn = !self.log.turn_open();
        let result = self.log.append_replicated(msg.offset, &msg.bytes);
        if self.publish_table_change() {
            self.request_ahead(ctx);
        }
        if first_of_turn && self.log.turn_open() {
            ctx.notify(EndOfTurn);
        }
        result
    }
}

/// SYNC_MASTER: the best slave's acknowledged offset (`None`: no slave connected), from the
/// `HaServer`; releases the sends it covers.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SlaveAcked(pub Option<u64>);

impl Handler<SlaveAcked> for CommitLogWriter {
    type Result = ();

    fn handle(&mut self, SlaveAcked(acked): SlaveAcked, _ctx: &mut Context<Self>) {
        let _timer = stats().commit_log_writer.handling();
        let was_connected = std::mem::replace(&mut self.slaves_connected, acked.is_some());
        if self.slaves_connected && !was_connected {
            // Bytes appended while no slave was connected were not announced: pump now.
            if let Some(ha) = &self.ha {
                ha.do_send(Published(None));
            }
        }
        for (appended, done) in self
            .slave_sync
            .as_mut()
            .map(|s| s.acked(acked))
            .unwrap_or_default()
        {
            done(Ok(appended));
        }
    }
}
