//! The request code -> processor table (RocketMQ's `registerProcessor`), built once at start-up from
//! the codes each processor declares ([`Processor::CODES`], next to its handler) and then frozen.
//!
//! Every connection gets the same immutable `Arc` of it when it is created, so dispatching a request
//! costs one hash lookup: no lock, no message, no per-socket copy. Each entry is a
//! `CountedRecipient<Request>`, so what a connection hands a processor counts on that processor's
//! mailbox row. Nothing registers at runtime, so there is no registry actor.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use actormq::FastMap;
use tracing::debug;

use super::connection::Request;
use super::mailbox::{Accounted, CountedRecipient, Mailbox};
use actormq::protocol::request_code;

/// An actor that answers the `Request`s of the request codes it declares.
pub trait Processor: Accounted + Actor<Context = Context<Self>> + Handler<Request> {
    /// The request codes this processor serves.
    const CODES: &'static [i32];
}

/// The frozen table a connection dispatches with.
pub type ProcessorTable = Arc<FastMap<i32, CountedRecipient<Request>>>;

/// Two processors declared the same request code.
#[derive(Debug, thiserror::Error)]
#[error("request code {code} ({name}) is declared by both {first} and {second}")]
pub struct DuplicateCode {
    pub code: i32,
    pub name: &'static str,
    pub first: &'static str,
    pub second: &'static str,
}

/// Collects processors' declared codes; [`freeze`](Self::freeze) makes the table.
#[derive(Default)]
pub struct ProcessorTableBuilder {
    /// code -> (the processor's actor name, where to send).
    routes: HashMap<i32, (&'static str, CountedRecipient<Request>)>,
}

impl ProcessorTableBuilder {
    /// Routes every code in `P::CODES` to `processor`; a code already taken is an error.
    pub fn serve<P: Processor>(mut self, processor: &Mailbox<P>) -> Result<Self, DuplicateCode> {
        let actor = P::mailbox_stats().actor();
        for &code in P::CODES {
            if let Some((first, _)) = self.routes.get(&code) {
                return Err(DuplicateCode {
                    code,
                    name: request_code::name(code),
                    first,
                    second: actor,
                });
            }
            debug!(
                code,
                name = request_code::name(code),
                processor = actor,
                "processor registered"
            );
            self.routes.insert(code, (actor, processor.recipient()));
        }
        Ok(self)
    }

    /// The immutable table connections share.
    pub fn freeze(self) -> ProcessorTable {
        Arc::new(
            self.routes
                .into_iter()
                .map(|(code, (_, recipient))| (code, recipient))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actormq::metrics::MailboxStats;

    macro_rules! probe {
        ($name:ident, $codes:expr) => {
            struct $name;
            impl Actor for $name {
                type Context = Context<Self>;
            }
            impl Handler<Request> for $name {
                type Result = ();
                fn handle(&mut self, _: Request, _: &mut Context<Self>) {}
            }
            impl Accounted for $name {
                fn mailbox_stats() -> &'static MailboxStats {
                    static STATS: std::sync::OnceLock<Arc<MailboxStats>> =
                        std::sync::OnceLock::new();
                    STATS.get_or_init(|| MailboxStats::new(stringify!($name), 1, true))
                }
            }
            impl Processor for $name {
                const CODES: &'static [i32] = $codes;
            }
        };
    }
    probe!(Sends, &[10, 310]);
    probe!(AlsoSends, &[310]);

    /// The table maps each declared code to its processor; a code declared twice is refused.
    #[actix_rt::test]
    async fn table_from_declared_codes() {
        let (sends, also) = (Mailbox::new(Sends.start()), Mailbox::new(AlsoSends.start()));
        let table = ProcessorTableBuilder::default()
            .serve(&sends)
            .unwrap()
            .freeze();
        let mut codes: Vec<_> = table.keys().copied().collect();
        codes.sort();
        assert_eq!(codes, [10, 310]);
        let err = ProcessorTableBuilder::default()
            .serve(&sends)
            .unwrap()
            .serve(&also)
            .err()
            .expect("310 is declared twice");
        assert_eq!(
            (err.code, err.first, err.second),
            (310, "Sends", "AlsoSends")
        );
        assert!(err.to_string().contains("SEND_MESSAGE_V2"), "{err}");
    }
}
