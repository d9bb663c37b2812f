//! `ProcessorRegistry`: the request code -> processor table (RocketMQ's `registerProcessor`).
//!
//! Owns the table; receives `Register` from start-up code and `Snapshot` from the `Server` for each
//! new connection. Connections never share the table: each gets an immutable `Arc` snapshot, rebuilt
//! here (copy on write) when a processor registers, so dispatch costs a hash lookup and no lock.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use tracing::info;

use super::connection::{ProcessorTable, Request};
use super::mailbox::CountedRecipient;
use super::metrics::stats;
use actormq::protocol::request_code;

#[derive(Default)]
pub struct ProcessorRegistry {
    table: ProcessorTable,
}

impl Actor for ProcessorRegistry {
    type Context = Context<Self>;
}

/// Route `code` to `processor` from now on (for connections opened afterwards).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Register {
    pub code: i32,
    /// Counts what connections hand it on the processor's mailbox counters.
    pub processor: CountedRecipient<Request>,
}

/// Ask for the current table.
#[derive(Message)]
#[rtype(result = "ProcessorTable")]
pub struct Snapshot;

impl Handler<Register> for ProcessorRegistry {
    type Result = ();

    fn handle(&mut self, msg: Register, _ctx: &mut Context<Self>) {
        let _timer = stats().processor_registry.handling();
        let mut table: HashMap<i32, CountedRecipient<Request>> = (*self.table).clone();
        table.insert(msg.code, msg.processor);
        self.table = Arc::new(table);
        info!(
            code = msg.code,
            name = request_code::name(msg.code),
            "processor registered"
        );
    }
}

impl Handler<Snapshot> for ProcessorRegistry {
    type Result = MessageResult<Snapshot>;

    fn handle(&mut self, _: Snapshot, _ctx: &mut Context<Self>) -> Self::Result {
        let _timer = stats().processor_registry.handling();
        MessageResult(self.table.clone())
    }
}
