use super::*;
use crate::limits::{ConnectionGuards, Pause};

fn frame(body_len: usize) -> BytesMut {
    let cmd = RemotingCommand::request(10, 1).with_body(vec![7u8; body_len].into());
    let mut out = BytesMut::new();
    RemotingCodec::default().encode(&cmd, &mut out).unwrap();
    out
}

fn decoder(budget: usize) -> (BoundedDecoder, Rc<ReadFlow>, Arc<FrameBudget>) {
    let flow = Rc::new(ReadFlow::new(1 << 20, ConnectionGuards::new(1)));
    let budget = FrameBudget::new(budget);
    let d = BoundedDecoder::new(RemotingCodec::default(), flow.clone(), budget.clone());
    (d, flow, budget)
}

#[test]
fn half_frame_holds_its_announced_length_until_complete() {
    let (mut d, flow, budget) = decoder(1 << 20);
    let whole = frame(10_000);
    let mut buf = BytesMut::from(&whole[..100]);
    assert!(d.decode(&mut buf).unwrap().is_none());
    assert_eq!(budget.used(), whole.len() - 4);
    assert!(flow.observe().partial);
    buf.extend_from_slice(&whole[100..]);
    match d.decode(&mut buf).unwrap() {
        Some(Inbound::Frame(cmd)) => assert_eq!(cmd.body.len(), 10_000),
        other => panic!("expected a frame, got {other:?}"),
    }
    assert_eq!(budget.used(), 0);
    let seen = flow.observe();
    assert_eq!((seen.frames, seen.partial), (1, false));
}

#[test]
fn no_budget_means_wait_and_the_budget_is_released_on_drop() {
    let (mut d, flow, budget) = decoder(5_000);
    let held = budget.try_reserve(4_000).unwrap();
    let whole = frame(2_000);
    let mut buf = BytesMut::from(&whole[..8]);
    match d.decode(&mut buf).unwrap() {
        Some(Inbound::WaitForBudget { frame_len }) => assert_eq!(frame_len, whole.len() - 4),
        other => panic!("expected a wait, got {other:?}"),
    }
    assert_eq!(flow.paused(), Some(Pause::FrameBudget));
    drop(held);
    flow.retry_budget();
    assert!(d.decode(&mut buf).unwrap().is_none());
    assert_eq!(budget.used(), whole.len() - 4);
    drop(d); // the connection goes away mid-frame
    assert_eq!(budget.used(), 0);
}

#[test]
fn whole_frames_take_no_budget_and_large_buffers_are_released() {
    let (mut d, _flow, budget) = decoder(1);
    let mut buf = frame(2 * SHRINK_READ_BUFFER_ABOVE);
    assert!(matches!(
        d.decode(&mut buf).unwrap(),
        Some(Inbound::Frame(_))
    ));
    assert_eq!(budget.used(), 0);
    assert!(buf.capacity() <= 8 * 1024, "capacity {}", buf.capacity());
}

#[test]
fn encoder_counts_queued_reply_bytes() {
    let flow = Rc::new(ReadFlow::new(100, ConnectionGuards::new(1)));
    let mut enc = CountingEncoder::new(RemotingCodec::default(), flow.clone());
    let mut out = BytesMut::new();
    enc.encode(RemotingCommand::request(10, 1), &mut out)
        .unwrap();
    assert_eq!(flow.unread_replies(), out.len() as u64);
    enc.encode(
        RemotingCommand::request(10, 2).with_body(vec![0u8; 200].into()),
        &mut out,
    )
    .unwrap();
    assert_eq!(flow.paused(), Some(Pause::UnreadReplies));
}
