use super::*;

const GIB: u64 = 1 << 30;

fn thresholds() -> Thresholds {
    Thresholds {
        max_used_percent: 90.0,
        resume_used_percent: 85.0,
    }
}

/// A 100 GiB disk with `used` GiB in use, all of the rest available.
fn usage(used: u64) -> DiskUsage {
    DiskUsage {
        total: 100 * GIB,
        free: (100 - used) * GIB,
        available: (100 - used) * GIB,
    }
}

#[test]
fn used_percent_counts_free_not_available() {
    let u = DiskUsage {
        total: 1000,
        free: 250,
        available: 200,
    };
    assert_eq!(u.used_percent(), 75.0);
    let empty = DiskUsage {
        total: 0,
        free: 0,
        available: 0,
    };
    assert_eq!(empty.used_percent(), 0.0);
}

#[test]
fn ratio_full_at_the_high_water_mark_and_writable_below_the_resume_mark() {
    let mut d = DiskSpace::new(thresholds());
    assert!(d.writable());
    assert_eq!(d.observe(usage(89)), None);
    assert_eq!(
        d.observe(usage(90)),
        Some(Change::BecameFull(FullBecause::Ratio(90.0)))
    );
    assert!(!d.writable());
    assert_eq!(d.observe(usage(95)), None, "reported once");
    assert_eq!(d.observe(usage(87)), None, "hysteresis: not below 85 yet");
    assert_eq!(d.observe(usage(85)), None, "85 is not below 85");
    assert!(!d.writable());
    assert_eq!(d.observe(usage(84)), Some(Change::BecameWritable(84.0)));
    assert!(d.writable());
    assert_eq!(d.observe(usage(84)), None, "reported once");
    assert_eq!(d.used_percent(), 84.0);
}

#[test]
fn out_of_space_waits_for_the_space_it_needed() {
    let mut d = DiskSpace::new(thresholds());
    d.observe(usage(50));
    assert_eq!(
        d.out_of_space(GIB),
        Some(Change::BecameFull(FullBecause::OutOfSpace { needed: GIB }))
    );
    assert!(!d.writable());
    assert_eq!(d.out_of_space(GIB / 2), None, "already full: reported once");
    let tight = DiskUsage {
        available: GIB - 1,
        ..usage(50)
    };
    assert_eq!(
        d.observe(tight),
        None,
        "less available than the file it needs"
    );
    assert!(!d.writable());
    assert_eq!(d.observe(usage(60)), Some(Change::BecameWritable(60.0)));
    assert!(d.writable());
}

#[test]
fn out_of_space_remembers_the_largest_need() {
    let mut d = DiskSpace::new(thresholds());
    d.out_of_space(10);
    d.out_of_space(3 * GIB);
    let two_gib_free = DiskUsage {
        total: 100 * GIB,
        free: 2 * GIB,
        available: 2 * GIB,
    };
    // 98 % used: the ratio takes over, still full, nothing reported.
    assert_eq!(d.observe(two_gib_free), None);
    assert_eq!(d.state(), DiskState::Full(FullBecause::Ratio(98.0)));
    assert_eq!(d.observe(usage(86)), None, "ratio hysteresis applies now");
    assert!(d.observe(usage(80)).is_some());
}

#[test]
fn out_of_space_while_ratio_full_needs_both() {
    let mut d = DiskSpace::new(thresholds());
    d.observe(usage(92));
    assert_eq!(d.out_of_space(20 * GIB), None);
    assert_eq!(
        d.state(),
        DiskState::Full(FullBecause::OutOfSpace { needed: 20 * GIB })
    );
    assert_eq!(d.observe(usage(89)), None, "11 GiB available, 20 needed");
    assert_eq!(d.observe(usage(70)), Some(Change::BecameWritable(70.0)));
}

#[test]
fn measures_a_real_file_system() {
    let d = tempfile::tempdir().unwrap();
    let u = DiskUsage::measure(d.path()).unwrap();
    assert!(
        u.total > 0 && u.free <= u.total && u.available <= u.free,
        "{u:?}"
    );
    let p = u.used_percent();
    assert!((0.0..=100.0).contains(&p), "{p}");
    assert!(DiskUsage::measure(&d.path().join("missing")).is_err());
}
