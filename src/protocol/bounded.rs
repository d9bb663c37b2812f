//! The broker side of a connection's byte streams, with its bounds (`crate::limits`): a decoder
//! that takes frame budget for frames in progress, an encoder and a socket writer that count reply
//! bytes queued and written, and a read gate that stops reading the socket while the connection is
//! paused. All four share the connection's [`ReadFlow`]; each adds a few integer operations per
//! frame or per write, and budget is touched only for a frame that did not arrive whole in one
//! read.

use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures_util::Stream;
use tokio::io::AsyncWrite;
use tokio_util::codec::{Decoder, Encoder};

use super::codec::{ProtocolError, RemotingCodec};
use super::command::RemotingCommand;
use crate::limits::{FrameBudget, FrameReservation, ReadFlow};

/// A read buffer left empty with more capacity than this after a frame is replaced by a small
/// one, so a connection that once received a large frame does not keep its buffer while idle.
pub const SHRINK_READ_BUFFER_ABOVE: usize = 1024 * 1024;
/// Capacity of a replaced read buffer (tokio-util's initial capacity).
const READ_BUFFER_CAPACITY: usize = 8 * 1024;

/// What the broker's decoder yields.
#[derive(Debug)]
pub enum Inbound {
    Frame(RemotingCommand),
    /// A frame's header arrived but the frame budget has no room for it: the connection should
    /// pause reading ([`ReadFlow::wait_for_budget`] is already set) and retry later.
    WaitForBudget {
        frame_len: usize,
    },
}

/// [`RemotingCodec`]'s decoder with the connection's accounting: frames counted, half frames
/// noted, and a reservation from the broker-wide [`FrameBudget`] held while a frame is incomplete.
pub struct BoundedDecoder {
    codec: RemotingCodec,
    flow: Rc<ReadFlow>,
    budget: Arc<FrameBudget>,
    reservation: Option<FrameReservation>,
}

impl BoundedDecoder {
    pub fn new(codec: RemotingCodec, flow: Rc<ReadFlow>, budget: Arc<FrameBudget>) -> Self {
        BoundedDecoder {
            codec,
            flow,
            budget,
            reservation: None,
        }
    }
}

impl Decoder for BoundedDecoder {
    type Item = Inbound;
    type Error = ProtocolError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Inbound>, ProtocolError> {
        self.flow.on_decode();
        let Some(len) = self.codec.frame_len(src)? else {
            self.flow.on_incomplete(!src.is_empty());
            return Ok(None);
        };
        if src.len() < 4 + len {
            self.flow.on_incomplete(true);
            if self.reservation.is_none() {
                match self.budget.try_reserve(len) {
                    Some(r) => self.reservation = Some(r),
                    None => {
                        self.flow.wait_for_budget();
                        return Ok(Some(Inbound::WaitForBudget { frame_len: len }));
                    }
                }
            }
            return Ok(None);
        }
        self.reservation = None;
        let Some(cmd) = self.codec.decode(src)? else {
            return Ok(None); // unreachable: the whole frame is there
        };
        self.flow.on_frame(src.len());
        if src.is_empty() && src.capacity() > SHRINK_READ_BUFFER_ABOVE {
            *src = BytesMut::with_capacity(READ_BUFFER_CAPACITY);
        }
        Ok(Some(Inbound::Frame(cmd)))
    }
}

/// [`RemotingCodec`]'s encoder that reports the reply bytes it queues to the [`ReadFlow`] (which
/// pauses reading when the unread replies exceed their bound).
pub struct CountingEncoder {
    codec: RemotingCodec,
    flow: Rc<ReadFlow>,
}

impl CountingEncoder {
    pub fn new(codec: RemotingCodec, flow: Rc<ReadFlow>) -> Self {
        CountingEncoder { codec, flow }
    }
}

impl Encoder<RemotingCommand> for CountingEncoder {
    type Error = ProtocolError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), ProtocolError> {
        let before = dst.len();
        self.codec.encode(&cmd, dst)?;
        self.flow.on_queued(dst.len() - before);
        Ok(())
    }
}

/// The socket's write half, reporting bytes written to the [`ReadFlow`] (which resumes reading
/// once the client has caught up).
pub struct CountingWrite<W> {
    inner: W,
    flow: Rc<ReadFlow>,
}

impl<W> CountingWrite<W> {
    pub fn new(inner: W, flow: Rc<ReadFlow>) -> Self {
        CountingWrite { inner, flow }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for CountingWrite<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            this.flow.on_written(n);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A stream that is not polled (so its socket is not read) while the [`ReadFlow`] is paused; the
/// flow wakes it when reading may go on.
pub struct Gated<S> {
    inner: S,
    flow: Rc<ReadFlow>,
}

impl<S> Gated<S> {
    pub fn new(inner: S, flow: Rc<ReadFlow>) -> Self {
        Gated { inner, flow }
    }
}

impl<S: Stream + Unpin> Stream for Gated<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if self.flow.paused().is_some() {
            self.flow.park(cx.waker());
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

#[cfg(test)]
mod tests;
