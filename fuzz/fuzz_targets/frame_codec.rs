//! The remoting frame decoder (`protocol::codec::RemotingCodec`, and the broker's
//! `protocol::bounded::BoundedDecoder` around it) fed an arbitrary byte stream that arrives in
//! arbitrary pieces, as a socket delivers it.
//!
//! Input: `actormq_fuzz::FrameInput` (`u16 max | u8 n | n piece lengths | stream`): the
//! configured maximum frame length, and the stream in the pieces the socket delivers.
//!
//! Checked: nothing panics; both decoders yield the same frames and fail at the same point; no
//! frame exceeds `max`; a decoded frame re-encodes to a frame that decodes to the same command; no
//! single allocation is larger than a small multiple of the bytes that actually arrived (a length
//! field promising 16 MiB must not make the decoder reserve it); the frame budget is given back.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use actormq::limits::{ConnectionGuards, ReadFlow};
use actormq::protocol::bounded::{BoundedDecoder, Inbound};
use actormq::protocol::{RemotingCodec, RemotingCommand};
use actormq_fuzz::FrameInput;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

/// The system allocator, noting the largest single request since the last reset.
struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to `System`; only reads the requested sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Relaxed);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Slack for fixed-size allocations independent of the input (bytes' buffer growth keeps up to
/// 64 KiB of "original capacity", serde_json's scratch, error strings).
const FIXED_SLACK: usize = 256 * 1024;

/// What one decoder made of the stream.
#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<RemotingCommand>,
    failed: bool,
}

fn plain(max: usize, pieces: &[&[u8]]) -> Outcome {
    let mut codec = RemotingCodec::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(cmd)) => frames.push(cmd),
                Ok(None) => break,
                Err(_) => {
                    return Outcome {
                        frames,
                        failed: true,
                    }
                }
            }
        }
    }
    Outcome {
        frames,
        failed: false,
    }
}

/// The broker's decoder, with a frame budget of one maximum frame (so it never has to wait).
fn bounded(max: usize, pieces: &[&[u8]]) -> Outcome {
    let guards = ConnectionGuards::new(max);
    let budget = guards.budget.clone();
    let flow = Rc::new(ReadFlow::new(1 << 20, guards));
    let mut decoder = BoundedDecoder::new(RemotingCodec::new(max), flow, budget.clone());
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut failed = false;
    'read: for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(Inbound::Frame(cmd))) => frames.push(cmd),
                Ok(Some(Inbound::WaitForBudget { frame_len })) => {
                    panic!("a lone connection waited for budget (frame {frame_len}, max {max})")
                }
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break 'read;
                }
            }
        }
        assert!(budget.used() <= budget.capacity());
    }
    drop(decoder);
    assert_eq!(budget.used(), 0, "frame budget not given back");
    Outcome { frames, failed }
}

fn check_frame(max: usize, cmd: &RemotingCommand) {
    assert!(cmd.body.len() + 4 <= max, "frame over the maximum {max}");
    let mut codec = RemotingCodec::new(max);
    let mut out = BytesMut::new();
    // Re-encoding may be longer than what arrived (JSON escapes, field order): over the
    // maximum is a clean refusal, not a round-trip failure.
    if codec.encode(cmd, &mut out).is_err() {
        assert!(out.is_empty(), "a failed encode left bytes behind");
        return;
    }
    let again = codec.decode(&mut out).expect("re-encoded frame decodes");
    assert_eq!(again.as_ref(), Some(cmd), "round trip changed the command");
    assert!(out.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = FrameInput::parse(data) else {
        return;
    };
    let (max, pieces) = (input.max_frame_len, &input.pieces);
    LARGEST.store(0, Relaxed);
    let a = plain(max, pieces);
    let largest = LARGEST.load(Relaxed);
    assert!(
        largest <= 2 * input.stream_len + FIXED_SLACK,
        "an allocation of {largest} bytes for a {}-byte stream",
        input.stream_len
    );
    let b = bounded(max, pieces);
    assert_eq!(a, b, "the broker's decoder and the plain codec disagree");
    for cmd in &a.frames {
        check_frame(max, cmd);
    }
});
