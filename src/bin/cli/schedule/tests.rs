use super::*;

fn args(level: Option<&str>, at: Option<&str>, inn: Option<&str>) -> ScheduleArgs {
    ScheduleArgs {
        delay_level: level.map(str::to_string),
        deliver_at: at.map(str::to_string),
        deliver_in: inn.map(str::to_string),
    }
}

/// Each flag sets the property the Java client's setter sets.
#[test]
fn each_flag_sets_the_java_property() {
    assert_eq!(args(None, None, None).property(), Ok(None));
    assert_eq!(
        args(Some("3"), None, None).property(),
        Ok(Some(("DELAY", "3".into())))
    );
    assert_eq!(
        args(None, Some("1767225600000"), None).property(),
        Ok(Some(("TIMER_DELIVER_MS", "1767225600000".into())))
    );
    assert_eq!(
        args(None, Some("2026-01-01T00:00:00Z"), None).property(),
        Ok(Some(("TIMER_DELIVER_MS", "1767225600000".into())))
    );
    assert_eq!(
        args(None, None, Some("1500ms")).property(),
        Ok(Some(("TIMER_DELAY_MS", "1500".into())))
    );
}

/// Two flags at once are refused, naming both.
#[test]
fn flags_exclude_each_other() {
    let err = args(Some("1"), None, Some("5s")).property().unwrap_err();
    assert_eq!(err, ScheduleError::Conflict("delay-level", "deliver-in"));
    assert!(!err.to_string().contains('\n'));
    assert_eq!(
        args(Some("1"), Some("0"), Some("5s")).property(),
        Err(ScheduleError::Conflict("delay-level", "deliver-at"))
    );
    assert_eq!(
        args(None, Some("0"), Some("5s")).property(),
        Err(ScheduleError::Conflict("deliver-at", "deliver-in"))
    );
}

/// Delay levels are whole numbers from 1 up to Java's int range.
#[test]
fn delay_levels() {
    assert_eq!(parse_delay_level("1"), Some(1));
    assert_eq!(parse_delay_level("18"), Some(18));
    assert_eq!(parse_delay_level("2147483647"), Some(i32::MAX));
    for bad in ["0", "-1", "+2", "1.5", "", " 3", "2147483648", "three"] {
        assert_eq!(parse_delay_level(bad), None, "{bad:?}");
        let err = args(Some(bad), None, None).property().unwrap_err();
        assert_eq!(err, ScheduleError::DelayLevel(bad.into()));
    }
}

/// RFC 3339 times with offsets, fractions and leap days; epoch milliseconds as they are.
#[test]
fn deliver_at_times() {
    let ok = [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.001Z", 1),
        ("1970-01-01T00:00:01.5z", 1_500),
        ("1970-01-01t00:00:00.123456789Z", 123),
        ("1970-01-01 01:00:00+01:00", 0),
        ("1969-12-31T23:00:00-01:00", 0),
        ("2000-02-29T12:00:00Z", 951_825_600_000),
        ("2026-12-06T10:00:00+05:30", 1_796_531_400_000),
        ("1234", 1234),
    ];
    for (text, ms) in ok {
        assert_eq!(parse_time_ms(text), Some(ms), "{text}");
    }
    let bad = [
        "",
        "tomorrow",
        "2026-12-06",
        "2026-12-06T10:00:00",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-12-06T24:00:00Z",
        "2026-12-06T10:60:00Z",
        "2026-12-06T10:00:00.Z",
        "2026-12-06T10:00:00+0100",
        "2026-12-06T10:00:00+24:00",
        "2026-12-06X10:00:00Z",
        "-5",
        "2026-12-06T10:00:00Zjunk",
        "2026-12-06T10:00:00+é:00",
    ];
    for text in bad {
        assert_eq!(parse_time_ms(text), None, "{text}");
    }
    let err = args(None, Some("soon"), None).property().unwrap_err();
    assert!(
        err.to_string().starts_with("--deliver-at \"soon\": "),
        "{err}"
    );
}

/// Durations: units ms/s/m/h/d, compound parts, positive and without overflow.
#[test]
fn deliver_in_durations() {
    for (text, ms) in [
        ("1500ms", 1_500),
        ("30s", 30_000),
        ("5m", 300_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1h30m", 5_400_000),
        ("1m0s500ms", 60_500),
    ] {
        assert_eq!(parse_duration_ms(text), Some(ms), "{text}");
    }
    for bad in [
        "",
        "30",
        "s",
        "5 m",
        "1.5s",
        "-5s",
        "5x",
        "10Ms",
        "9999999999999999999ms",
    ] {
        assert_eq!(parse_duration_ms(bad), None, "{bad:?}");
    }
    assert_eq!(
        parse_duration_ms("106751991168d"),
        None,
        "overflows i64 milliseconds"
    );
    assert_eq!(
        args(None, None, Some("0s")).property(),
        Err(ScheduleError::DeliverIn("0s".into()))
    );
}
