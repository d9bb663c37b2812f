use super::*;

#[test]
fn default_is_rocketmqs_eighteen_levels() {
    let l = DelayLevels::default();
    assert_eq!(l.max_level(), 18);
    assert_eq!(l.delay_ms(1), Some(1000));
    assert_eq!(l.delay_ms(3), Some(10_000));
    assert_eq!(l.delay_ms(5), Some(60_000));
    assert_eq!(l.delay_ms(17), Some(3_600_000));
    assert_eq!(l.delay_ms(18), Some(7_200_000));
    assert_eq!(l.delay_ms(0), None);
    assert_eq!(l.delay_ms(19), None);
    assert_eq!(l.delay_ms(-1), None);
    assert_eq!(l.as_str(), DEFAULT_MESSAGE_DELAY_LEVEL);
}

#[test]
fn units_and_spacing() {
    let l = DelayLevels::parse("  1s 2m\t3h  4d 0s ").unwrap();
    let ms: Vec<_> = l.levels().map(|n| l.delay_ms(n).unwrap()).collect();
    assert_eq!(ms, vec![1000, 120_000, 10_800_000, 345_600_000, 0]);
    assert_eq!(l.clamp(9), 5);
    assert_eq!(l.clamp(2), 2);
}

#[test]
fn bad_values_are_refused_naming_the_level() {
    assert_eq!(DelayLevels::parse(""), Err(DelayLevelsError::Empty));
    assert_eq!(DelayLevels::parse("   "), Err(DelayLevelsError::Empty));
    for (text, level, entry) in [
        ("1s 5x", 2, "5x"),
        ("s", 1, "s"),
        ("1s -1s", 2, "-1s"),
        ("1.5s", 1, "1.5s"),
        ("10", 1, "10"),
        ("1s 1ms", 2, "1ms"),
        ("1é", 1, "1é"),
    ] {
        assert_eq!(
            DelayLevels::parse(text),
            Err(DelayLevelsError::BadEntry {
                level,
                entry: entry.into()
            }),
            "{text:?}"
        );
    }
    assert!(matches!(
        DelayLevels::parse("99999999999999999999d"),
        Err(DelayLevelsError::Overflow { level: 1, .. })
    ));
    let msg = DelayLevels::parse("1s x").unwrap_err().to_string();
    assert!(msg.contains("level 2") && !msg.contains('\n'), "{msg}");
}

#[test]
fn deserializes_from_a_string() {
    #[derive(serde::Deserialize)]
    struct C {
        l: DelayLevels,
    }
    let c: C = toml::from_str("l = \"1s 2s\"").unwrap();
    assert_eq!(c.l.max_level(), 2);
    let e = toml::from_str::<C>("l = \"1s 2q\"")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("level 2"), "{e}");
}
