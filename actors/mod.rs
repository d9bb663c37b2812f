//! The broker's actors, one file each (see `docs/architecture.md` for the map).
//!
//! This folder is compiled only into the broker binary (`src/bin/broker.rs` includes it with
//! `#[path]`), so the library in `src/` cannot name an actor type: dependencies point one way,
//! actors -> store/protocol/config.

pub mod admin_processor;
pub mod client_manager;
pub mod commit_log_writer;
pub mod connection;
pub mod dispatcher;
pub mod file_allocator;
pub mod flusher;
pub mod ha_client;
pub mod ha_connection;
pub mod ha_server;
pub mod lock_processor;
pub mod mailbox;
pub mod metrics;
pub mod name_server;
pub mod offset_processor;
pub mod processor_table;
pub mod pull_processor;
pub mod query;
pub mod registrar;
pub mod retention;
pub mod scheduler;
pub mod send_processor;
pub mod server;
pub mod slave_synchronize;
pub mod timer;
pub mod transaction_checker;

/// Reads a fault-injection test hook: a positive integer in the environment variable `var` (unset,
/// empty, zero or not a number: `None`). Warns loudly when it is set, saying what it does (`what`),
/// because such hooks exist for tests and are never meant for production.
pub fn fault_hook(var: &str, what: &str) -> Option<u64> {
    let value = std::env::var(var)
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| *v > 0)?;
    tracing::warn!(value, "{var} is set: {what} (fault injection)");
    Some(value)
}
