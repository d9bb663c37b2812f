//! The classic HA wire (`rocketmq-reference-2.md` §9.1, `DefaultHAClient` / `DefaultHAConnection`):
//! no framing beyond two fixed shapes on a plain TCP stream.
//!
//! * slave -> master: a bare big-endian i64, the slave's commit-log end (its max physical
//!   offset). The master acts on the last complete 8 bytes it has read, as Java does.
//! * master -> slave: `i64 masterPhyOffset | i32 size | size bytes` of commit log starting at
//!   that offset; `size = 0` is a heartbeat.
//!
//! Anything else on either side is an [`HaWireError`]: the connection is closed and logged, never
//! trusted.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Bytes of one slave report.
pub const REPORT_LEN: usize = 8;
/// Bytes of a transfer header (`masterPhyOffset`, `size`).
pub const HEADER_LEN: usize = 12;
/// Largest chunk a master sends at once (RocketMQ's `haTransferBatchSize`, 32 KiB).
pub const TRANSFER_BATCH_BYTES: usize = 32 * 1024;
/// Reports at or above this (1 PiB) are not offsets of any real commit log: text sent by a peer
/// that is not a RocketMQ slave decodes to numbers far above it.
pub const MAX_SANE_OFFSET: i64 = 1 << 50;

/// Bytes on the HA port that are not the HA protocol.
#[derive(Debug, thiserror::Error)]
pub enum HaWireError {
    #[error("HA peer reported offset {0}, which no commit log has (not a RocketMQ slave?)")]
    BadReport(i64),
    #[error("HA transfer header with offset {offset} and size {size} (limit {max} bytes): not a RocketMQ master?")]
    BadHeader { offset: i64, size: i32, max: usize },
    #[error("HA connection: {0}")]
    Io(#[from] std::io::Error),
}

/// A slave's report, checked: a non-negative offset below [`MAX_SANE_OFFSET`].
pub fn check_report(offset: i64) -> Result<u64, HaWireError> {
    if (0..MAX_SANE_OFFSET).contains(&offset) {
        Ok(offset as u64)
    } else {
        Err(HaWireError::BadReport(offset))
    }
}

/// The 8-byte reports: decoded on the master (the last complete one in the buffer, as Java's
/// `processReadEvent` reads), encoded on the slave.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReportCodec;

impl Decoder for ReportCodec {
    type Item = u64;
    type Error = HaWireError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<u64>, HaWireError> {
        let whole = src.len() / REPORT_LEN * REPORT_LEN;
        if whole == 0 {
            return Ok(None);
        }
        let mut last = [0u8; REPORT_LEN];
        last.copy_from_slice(&src[whole - REPORT_LEN..whole]);
        src.advance(whole);
        check_report(i64::from_be_bytes(last)).map(Some)
    }
}

impl Encoder<u64> for ReportCodec {
    type Error = HaWireError;

    fn encode(&mut self, offset: u64, dst: &mut BytesMut) -> Result<(), HaWireError> {
        dst.put_i64(offset as i64);
        Ok(())
    }
}

/// One master -> slave transfer: commit-log bytes at `offset` (empty: a heartbeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub offset: u64,
    pub bytes: Bytes,
}

/// The transfer header for `size` bytes at `offset`.
pub fn transfer_header(offset: u64, size: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&(offset as i64).to_be_bytes());
    h[8..].copy_from_slice(&(size as i32).to_be_bytes());
    h
}

/// Decodes transfers on the slave; a size above `max_body` (a commit-log file) or a negative
/// field is refused before any allocation.
#[derive(Debug, Clone, Copy)]
pub struct TransferCodec {
    pub max_body: usize,
}

impl Decoder for TransferCodec {
    type Item = Transfer;
    type Error = HaWireError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Transfer>, HaWireError> {
        if src.len() < HEADER_LEN {
            return Ok(None);
        }
        let offset = i64::from_be_bytes(src[..8].try_into().expect("8 bytes"));
        let size = i32::from_be_bytes(src[8..HEADER_LEN].try_into().expect("4 bytes"));
        if !(0..MAX_SANE_OFFSET).contains(&offset) || size < 0 || size as usize > self.max_body {
            return Err(HaWireError::BadHeader {
                offset,
                size,
                max: self.max_body,
            });
        }
        let total = HEADER_LEN + size as usize;
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        src.advance(HEADER_LEN);
        let bytes = src.split_to(size as usize).freeze();
        Ok(Some(Transfer {
            offset: offset as u64,
            bytes,
        }))
    }
}
