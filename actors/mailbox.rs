//! The one sending path between actors: [`Mailbox<A>`] (a typed address) and
//! [`CountedRecipient<M>`] (a role, e.g. "the processor for this request code"). Both count what
//! they send on the receiving actor kind's `MailboxStats`, so a send and its accounting cannot part:
//! `enqueued` when a message goes into the mailbox, `rejected` when `try_send` finds it full. The
//! receiving handler counts `handled` with a `handling()` guard; depth = enqueued - handled.
//!
//! Which counters a mailbox uses follows from the actor type ([`Accounted`]), so a send can never be
//! counted on the wrong actor's row. Where an actor is fed by a stream or a timer instead of its
//! mailbox, [`counted_stream`] and [`timer_tick`] count those runs the same way.
//!
//! Use:
//! ```ignore
//! let writer = Mailbox::new(CommitLogWriter::create(..));   // counts on stats().commit_log_writer
//! writer.try_send(append)?;            // enqueued on Ok, rejected on Full, nothing on Closed
//! writer.do_send(Seal);                // enqueued (unless the actor is gone), never refused
//! let offset = writer.send(Seal).await?; // enqueued; actix's request future
//! let role: CountedRecipient<TopicsChanged> = dispatcher.recipient();
//! ```

use actix::dev::{Request, ToEnvelope};
use actix::prelude::*;
use futures_util::{Stream, StreamExt};

use super::metrics::stats;
use actormq::metrics::{HandleTimer, MailboxStats};

/// An actor kind with mailbox counters of its own (one row of `actormq stats`).
pub trait Accounted: Actor {
    /// The counters every actor of this kind shares.
    fn mailbox_stats() -> &'static MailboxStats;
}

macro_rules! accounted {
    ($($actor:ty => $field:ident),* $(,)?) => {$(
        impl Accounted for $actor {
            fn mailbox_stats() -> &'static MailboxStats {
                &stats().$field
            }
        }
    )*};
}

accounted! {
    super::server::Server => server,
    super::connection::Connection => connection,
    super::send_processor::SendProcessor => send_processor,
    super::pull_processor::PullProcessor => pull_processor,
    super::offset_processor::OffsetProcessor => offset_processor,
    super::admin_processor::AdminProcessor => admin_processor,
    super::commit_log_writer::CommitLogWriter => commit_log_writer,
    super::file_allocator::FileAllocator => file_allocator,
    super::flusher::Flusher => flusher,
    super::dispatcher::Dispatcher => dispatcher,
    super::retention::Retention => retention,
    super::timer::Timer => timer,
    super::metrics::Metrics => metrics,
    super::name_server::NameServer => name_server,
    super::registrar::Registrar => registrar,
    super::client_manager::ClientManager => client_manager,
    super::lock_processor::LockProcessor => lock_processor,
    super::scheduler::Scheduler => scheduler,
    super::transaction_checker::TransactionChecker => transaction_checker,
    super::ha_server::HaServer => ha_server,
    super::ha_connection::HaConnection => ha_connection,
    super::ha_client::HaClient => ha_client,
    super::slave_synchronize::SlaveSynchronize => slave_synchronize,
}

/// An actor's address that counts every message sent through it on the actor kind's counters.
pub struct Mailbox<A: Actor> {
    addr: Addr<A>,
    stats: &'static MailboxStats,
}

impl<A: Actor> Clone for Mailbox<A> {
    fn clone(&self) -> Self {
        Mailbox {
            addr: self.addr.clone(),
            stats: self.stats,
        }
    }
}

impl<A: Accounted> Mailbox<A> {
    /// Wraps `addr`; sends are counted on `A::mailbox_stats()`.
    pub fn new(addr: Addr<A>) -> Self {
        Mailbox {
            addr,
            stats: A::mailbox_stats(),
        }
    }
}

impl<A: Actor> Mailbox<A> {
    /// Queues `msg` even into a full mailbox (actix's `do_send`): for control messages and
    /// notices that must not be lost. Counted unless the actor has stopped (then actix drops it).
    pub fn do_send<M>(&self, msg: M)
    where
        M: Message + Send,
        M::Result: Send,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
    {
        if self.addr.connected() {
            self.stats.enqueued();
        }
        self.addr.do_send(msg);
    }

    /// Queues `msg` unless the mailbox is full (`SendError::Full`, counted as `rejected`) or closed
    /// (`SendError::Closed`): the hot-path send, whose caller answers `SYSTEM_BUSY` on `Full`.
    pub fn try_send<M>(&self, msg: M) -> Result<(), SendError<M>>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
    {
        counted_try_send(self.stats, self.addr.try_send(msg))
    }

    /// Sends `msg` and returns actix's future of the answer (it waits for room in a full mailbox).
    /// Counted at once unless the actor has stopped; the caller must poll the future.
    pub fn send<M>(&self, msg: M) -> Request<A, M>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
    {
        if self.addr.connected() {
            self.stats.enqueued();
        }
        self.addr.send(msg)
    }

    /// This actor in the role of a receiver of `M`, counted on the same counters.
    pub fn recipient<M>(&self) -> CountedRecipient<M>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
    {
        CountedRecipient {
            recipient: self.addr.clone().recipient(),
            stats: self.stats,
        }
    }

    /// Whether the actor is still running.
    pub fn connected(&self) -> bool {
        self.addr.connected()
    }
}

/// A `Recipient<M>` that counts every message sent through it on the receiving actor's counters,
/// as [`Mailbox`] does. Made by [`Mailbox::recipient`].
pub struct CountedRecipient<M: Message + Send>
where
    M::Result: Send,
{
    recipient: Recipient<M>,
    stats: &'static MailboxStats,
}

impl<M: Message + Send> Clone for CountedRecipient<M>
where
    M::Result: Send,
{
    fn clone(&self) -> Self {
        CountedRecipient {
            recipient: self.recipient.clone(),
            stats: self.stats,
        }
    }
}

impl<M: Message + Send> CountedRecipient<M>
where
    M::Result: Send,
{
    /// As [`Mailbox::do_send`].
    pub fn do_send(&self, msg: M) {
        if self.recipient.connected() {
            self.stats.enqueued();
        }
        self.recipient.do_send(msg);
    }

    /// As [`Mailbox::try_send`].
    pub fn try_send(&self, msg: M) -> Result<(), SendError<M>> {
        counted_try_send(self.stats, self.recipient.try_send(msg))
    }

    /// As [`Mailbox::send`]: the answer's future, which the caller must poll.
    pub fn send(&self, msg: M) -> actix::dev::RecipientRequest<M> {
        if self.recipient.connected() {
            self.stats.enqueued();
        }
        self.recipient.send(msg)
    }
}

/// Counts the outcome of a `try_send`: `enqueued` on success, `rejected` on `Full`.
fn counted_try_send<M>(
    stats: &MailboxStats,
    sent: Result<(), SendError<M>>,
) -> Result<(), SendError<M>> {
    match &sent {
        Ok(()) => stats.enqueued(),
        Err(SendError::Full(_)) => stats.rejected(),
        Err(SendError::Closed(_)) => {}
    }
    sent
}

/// A stream an actor reads with `add_stream` (say, accepted sockets): each item counts as
/// `enqueued` on `A`'s counters when it arrives; the `StreamHandler` counts it `handled`.
pub fn counted_stream<A: Accounted, S: Stream>(stream: S) -> impl Stream<Item = S::Item> {
    let stats = A::mailbox_stats();
    stream.inspect(move |_| stats.enqueued())
}

/// One run of an actor's own timer (`run_interval`), counted as a message to itself: `enqueued`
/// now, `handled` when the returned guard drops.
pub fn timer_tick<A: Accounted>() -> HandleTimer<'static> {
    let stats = A::mailbox_stats();
    stats.enqueued();
    stats.handling()
}
