use super::*;

const S: u64 = DEFAULT_SAMPLE_INTERVAL_MS;
/// A time long after the clock's zero, so a zero sample a day earlier still lies after it.
const T0: u64 = 1_000_000_000;

fn tally(msgs: u64, bytes: u64, times: u64) -> Tally {
    Tally { msgs, bytes, times }
}

fn puts(topic: &str, t: Tally) -> StoreCounters {
    StoreCounters {
        topic_puts: vec![(topic.to_string(), t)],
        group_gets: Vec::new(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The first sample of a key counts everything since the broker started (the zero sample one
/// period earlier, as Java): sum, tps over that period, avgpt per counting, in every window.
#[test]
fn first_sample_counts_from_zero() {
    let mut b = BrokerStats::new("DefaultCluster", S);
    b.sample(T0, &puts("T", tally(5, 500, 2)));
    let item = b.item(TOPIC_PUT_NUMS, "T").unwrap();
    let m = item.minute();
    assert_eq!((m.sum, m.times), (5, 2));
    assert!(close(m.tps, 0.5), "{m:?}");
    assert!(close(m.avgpt, 2.5), "{m:?}");
    let h = item.hour();
    assert_eq!(h.sum, 5);
    assert!(close(h.tps, 5.0 / 600.0), "{h:?}");
    let d = item.day();
    assert_eq!(d.sum, 5);
    assert!(close(d.tps, 5.0 / 3600.0), "{d:?}");
    let size = b.item(TOPIC_PUT_SIZE, "T").unwrap().minute();
    assert_eq!(size.sum, 500);
    assert!(close(size.avgpt, 250.0), "{size:?}");
}

/// The minute window keeps 7 samples: its sum is what the last 6 intervals counted, and what was
/// counted since the last sample does not show until the next one.
#[test]
fn minute_window_slides() {
    let mut b = BrokerStats::new("c", S);
    // Interval i counts i messages (one send each).
    let mut total = tally(0, 0, 0);
    for i in 1..=10u64 {
        total.count(i, i * 10);
        b.sample(i * S, &puts("T", total));
    }
    let m = b.item(TOPIC_PUT_NUMS, "T").unwrap().minute();
    // Samples after intervals 4..=10: counted in intervals 5..=10.
    assert_eq!(m.sum, (5..=10).sum::<u64>());
    assert_eq!(m.times, 6);
    assert!(close(m.tps, m.sum as f64 / 60.0), "{m:?}");
    // Counted but not yet sampled: not in the window.
    total.count(1000, 0);
    assert_eq!(b.item(TOPIC_PUT_NUMS, "T").unwrap().minute().sum, m.sum);
}

/// The hour window samples every 60 intervals (7 kept), the day window every 360 (25 kept).
#[test]
fn hour_and_day_windows_sample_less_often() {
    let mut b = BrokerStats::new("c", S);
    let mut total = tally(0, 0, 0);
    // One message per interval for 2 h 10 min (780 intervals).
    for i in 0..780u64 {
        total.count(1, 1);
        b.sample(T0 + i * S, &puts("T", total));
    }
    let item = b.item(TOPIC_PUT_NUMS, "T").unwrap();
    // Hour samples at intervals 0, 60, .., 720: the last 7 span 360 intervals.
    let h = item.hour();
    assert_eq!(h.sum, 360);
    assert!(close(h.tps, 0.1), "{h:?}");
    // Day samples at 0, 360, 720 after the zero sample: 721 messages counted by interval 720,
    // over 720 intervals plus the zero sample's hour.
    let d = item.day();
    assert_eq!(d.sum, 721);
    assert!(close(d.tps, 721.0 / (720.0 * 10.0 + 3600.0)), "{d:?}");
    // The minute window: 6 intervals, 6 messages.
    assert_eq!(item.minute().sum, 6);
}

/// A counting site's totals that go back (it started over) are a restart from 0: the item's
/// value never shrinks, and the sums stay right.
#[test]
fn counters_that_go_back_restart_from_zero() {
    let mut b = BrokerStats::new("c", S);
    b.sample(S, &puts("T", tally(100, 1000, 10)));
    b.sample(2 * S, &puts("T", tally(5, 50, 1)));
    b.sample(3 * S, &puts("T", tally(8, 80, 2)));
    let m = b.item(TOPIC_PUT_NUMS, "T").unwrap().minute();
    assert_eq!((m.sum, m.times), (108, 12));
    let mut item = StatsItem::default();
    assert_eq!(item.observe(10, 1), (10, 1));
    assert_eq!(item.observe(10, 1), (0, 0));
    assert_eq!(item.observe(3, 1), (3, 1));
    assert_eq!(item.observe(4, 2), (1, 1));
}

/// No time between samples, nothing counted, or counting without times: 0, never NaN.
#[test]
fn no_division_by_zero() {
    let mut b = BrokerStats::new("c", S);
    // At time 0 the zero sample cannot lie a period earlier: both at 0.
    b.sample(0, &puts("T", tally(3, 30, 1)));
    let m = b.item(TOPIC_PUT_NUMS, "T").unwrap().minute();
    assert_eq!(m.sum, 3);
    assert_eq!(m.tps, 0.0);
    // The broker item counts no times (as Java): avgpt 0.
    b.sample(S, &puts("T", tally(3, 30, 1)));
    let broker = b.item(BROKER_PUT_NUMS, "c").unwrap().minute();
    assert_eq!((broker.sum, broker.times, broker.avgpt), (3, 0, 0.0));
    assert_eq!(StatsItem::default().minute(), StatsSnapshot::default());
    let json = serde_json::to_string(&StatsItem::default().data()).unwrap();
    assert!(!json.contains("null"), "{json}");
}

/// A key first counted later gets its item then; keys with nothing counted get none.
#[test]
fn a_new_key_appears_when_first_counted() {
    let mut b = BrokerStats::new("c", S);
    let mut counters = puts("A", tally(1, 10, 1));
    counters.topic_puts.push(("Idle".into(), Tally::default()));
    for i in 0..5 {
        b.sample(i * S, &counters);
    }
    assert!(b.item(TOPIC_PUT_NUMS, "Idle").is_none());
    assert!(b.item(TOPIC_PUT_NUMS, "B").is_none());
    counters.topic_puts.push(("B".into(), tally(7, 70, 1)));
    b.sample(5 * S, &counters);
    let m = b.item(TOPIC_PUT_NUMS, "B").unwrap().minute();
    assert_eq!(m.sum, 7);
    assert!(close(m.tps, 0.7), "{m:?}");
    // A key absent from later counters is unchanged, not gone.
    b.sample(6 * S, &puts("A", tally(1, 10, 1)));
    assert_eq!(b.item(TOPIC_PUT_NUMS, "B").unwrap().minute().sum, 7);
}

/// Group gets are keyed `topic@group`; the broker items add up every topic and group under the
/// cluster name.
#[test]
fn groups_and_broker_totals() {
    let mut b = BrokerStats::new("DefaultCluster", S);
    let counters = StoreCounters {
        topic_puts: vec![("A".into(), tally(4, 40, 4)), ("B".into(), tally(6, 60, 1))],
        group_gets: vec![
            ("A".into(), "g1".into(), tally(4, 40, 2)),
            ("B".into(), "g1".into(), tally(3, 30, 3)),
        ],
    };
    b.sample(S, &counters);
    let get = b.view(GROUP_GET_NUMS, "A@g1").unwrap();
    assert_eq!(get.stats_minute.sum, 4);
    assert!(close(get.stats_minute.avgpt, 2.0));
    assert_eq!(b.view(GROUP_GET_SIZE, "B@g1").unwrap().stats_minute.sum, 30);
    let put = b.view(BROKER_PUT_NUMS, "DefaultCluster").unwrap();
    assert_eq!(put.stats_minute.sum, 10);
    assert_eq!(put.stats_minute.avgpt, 0.0);
    let get = b.view(BROKER_GET_NUMS, "DefaultCluster").unwrap();
    assert_eq!(get.stats_minute.sum, 7);
    assert!(b.view(BROKER_GET_NUMS, "OtherCluster").is_err());
}

/// Java's refusal text for an unknown name or key; the body's JSON field names.
#[test]
fn unknown_name_or_key_and_the_body() {
    let mut b = BrokerStats::new("c", S);
    b.sample(S, &puts("T", tally(2, 20, 1)));
    assert_eq!(
        b.view(TOPIC_PUT_NUMS, "Nope").unwrap_err(),
        "The stats <TOPIC_PUT_NUMS> <Nope> not exist"
    );
    assert_eq!(
        b.view("NO_SUCH_STATS", "T").unwrap_err(),
        "The stats <NO_SUCH_STATS> <T> not exist"
    );
    let json: serde_json::Value =
        serde_json::to_value(b.view(TOPIC_PUT_NUMS, "T").unwrap()).unwrap();
    assert_eq!(json["statsMinute"]["sum"], 2);
    assert_eq!(json["statsMinute"]["tps"], 0.2);
    assert_eq!(json["statsHour"]["avgpt"], 2.0);
    assert_eq!(json["statsDay"]["sum"], 2);
}
