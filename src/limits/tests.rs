use super::*;

#[test]
fn budget_reserves_up_to_capacity_and_releases_on_drop() {
    let budget = FrameBudget::new(100);
    let a = budget.try_reserve(60).expect("fits");
    assert!(budget.try_reserve(41).is_none(), "61 + 41 > 100");
    let b = budget.try_reserve(40).expect("exactly fills");
    assert_eq!(budget.used(), 100);
    assert!(budget.try_reserve(1).is_none());
    drop(a);
    assert_eq!(budget.used(), 40);
    assert_eq!(b.bytes(), 40);
    drop(b);
    assert_eq!(budget.used(), 0);
    assert!(budget.try_reserve(usize::MAX).is_none(), "no overflow");
}

#[test]
fn budget_is_shared_across_threads_without_overshoot() {
    let budget = FrameBudget::new(1000);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let b = budget.clone();
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    if let Some(r) = b.try_reserve(300) {
                        assert!(b.used() <= 1000);
                        drop(r);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(budget.used(), 0);
}

#[test]
fn unread_replies_pause_reading_and_resume_at_half() {
    let flow = ReadFlow::new(1000, ConnectionGuards::new(1));
    assert_eq!(flow.paused(), None);
    assert!(!flow.on_queued(1000), "at the bound is still fine");
    assert!(flow.on_queued(1), "above the bound pauses");
    assert!(!flow.on_queued(500), "already paused: reported once");
    assert_eq!(flow.paused(), Some(Pause::UnreadReplies));
    assert!(!flow.observe().reading);
    flow.on_written(1000); // 501 unread: still above half
    assert_eq!(flow.paused(), Some(Pause::UnreadReplies));
    flow.on_written(1); // 500 unread = half
    assert_eq!(flow.paused(), None);
    assert_eq!(flow.reply_pauses(), 1);
    assert_eq!(flow.guards.stats.reply_pauses.load(Relaxed), 1);
    assert_eq!(flow.unread_replies(), 500);
}

#[test]
fn budget_wait_pauses_until_retried() {
    let flow = ReadFlow::new(1000, ConnectionGuards::new(1));
    flow.wait_for_budget();
    assert_eq!(flow.paused(), Some(Pause::FrameBudget));
    assert!(
        flow.observe().reading,
        "the frame timer runs while waiting for budget"
    );
    flow.retry_budget();
    assert_eq!(flow.paused(), None);
}

#[test]
fn paused_flow_wakes_the_parked_reader() {
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Relaxed);
        }
    }
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let flow = ReadFlow::new(10, ConnectionGuards::new(1));
    flow.on_queued(11);
    flow.park(&waker);
    flow.on_written(11);
    assert!(flag.0.load(Relaxed));
}

fn seen(activity: u64, frames: u64, partial: bool) -> Observed {
    Observed {
        activity,
        frames,
        partial,
        reading: true,
    }
}

#[test]
fn half_frame_times_out_only_if_no_frame_completes() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut w = Watchdog::new(ms(500), Duration::from_secs(60), t0);
    assert_eq!(w.check(t0, seen(1, 0, true)), Verdict::Healthy);
    // Bytes keep trickling in but the frame never completes: still a timeout.
    assert_eq!(w.check(t0 + ms(300), seen(2, 0, true)), Verdict::Healthy);
    assert_eq!(
        w.check(t0 + ms(500), seen(3, 0, true)),
        Verdict::FrameTimeout
    );

    // A busy pipelining client: a frame is always half read, but frames complete.
    let mut w = Watchdog::new(ms(500), Duration::from_secs(60), t0);
    for i in 0..10u64 {
        let v = w.check(t0 + ms(200 * i), seen(i, i * 100, true));
        assert_eq!(v, Verdict::Healthy, "tick {i}");
    }
}

#[test]
fn half_frame_does_not_time_out_while_paused_for_replies() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut w = Watchdog::new(ms(100), Duration::from_secs(60), t0);
    let paused = Observed {
        reading: false,
        ..seen(1, 5, true)
    };
    assert_eq!(w.check(t0, paused), Verdict::Healthy);
    assert_eq!(w.check(t0 + ms(500), paused), Verdict::Healthy);
    // Reading again: the clock starts over.
    assert_eq!(w.check(t0 + ms(510), seen(1, 5, true)), Verdict::Healthy);
    assert_eq!(
        w.check(t0 + ms(610), seen(1, 5, true)),
        Verdict::FrameTimeout
    );
}

#[test]
fn silence_beyond_the_idle_timeout_closes() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let mut w = Watchdog::new(s(30), s(120), t0);
    assert_eq!(w.check(t0 + s(119), seen(0, 0, false)), Verdict::Healthy);
    assert_eq!(w.check(t0 + s(120), seen(0, 0, false)), Verdict::Idle);
    let mut w = Watchdog::new(s(30), s(120), t0);
    assert_eq!(w.check(t0 + s(100), seen(7, 1, false)), Verdict::Healthy);
    assert_eq!(w.check(t0 + s(219), seen(7, 1, false)), Verdict::Healthy);
    assert_eq!(w.check(t0 + s(220), seen(7, 1, false)), Verdict::Idle);
    assert_eq!(w.tick_interval(), s(1));
    let w = Watchdog::new(Duration::from_millis(400), s(120), t0);
    assert_eq!(w.tick_interval(), Duration::from_millis(100));
}

#[test]
fn connection_cap_refuses_beyond_max_and_logs_once_per_burst() {
    let mut cap = ConnectionCap::new(2);
    assert_eq!(cap.admit(0), Admission::Accept);
    assert_eq!(cap.admit(1), Admission::Accept);
    assert_eq!(
        cap.admit(2),
        Admission::Refuse {
            first_of_burst: true
        }
    );
    assert_eq!(
        cap.admit(2),
        Admission::Refuse {
            first_of_burst: false
        }
    );
    assert_eq!(cap.admit(1), Admission::Accept);
    assert_eq!(
        cap.admit(2),
        Admission::Refuse {
            first_of_burst: true
        }
    );
}

#[test]
fn rejected_requests_count_by_pair_and_cap_the_label_set() {
    let r = RejectedRequests::default();
    r.record(9999, 3);
    r.record(9999, 3);
    r.record(10, 29);
    r.record(-5, 1);
    assert_eq!(r.snapshot(), vec![(-5, 1, 1), (10, 29, 1), (9999, 3, 2)]);

    let r = RejectedRequests::default();
    for code in 0..(REJECTED_LABEL_PAIRS as i32 + 10) {
        r.record(code, 3);
    }
    let snap = r.snapshot();
    assert_eq!(snap.len(), REJECTED_LABEL_PAIRS + 1);
    assert_eq!(snap.last(), Some(&(OVERFLOW_CODE, OVERFLOW_CODE, 10)));
    let total: u64 = snap.iter().map(|p| p.2).sum();
    assert_eq!(total, REJECTED_LABEL_PAIRS as u64 + 10);
}
