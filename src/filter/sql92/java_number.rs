//! Java's number parsing and ordering, as the filter's coercions use them on property values:
//! `Integer.valueOf(String)`, `Long.valueOf(String)`, `Double.valueOf(String)` and
//! `Double.compareTo`. None of them allocates; a `None` is Java's `NumberFormatException`.
//!
//! The rules, from the JDK 17 sources:
//! - `Integer`/`Long.parseLong`: an optional `+` or `-`, then at least one digit, no
//!   whitespace. A digit is whatever `Character.digit(c, 10)` accepts: any BMP character of
//!   category Nd (`'١'`, `'１'`), not only `0`-`9`; supplementary digits (`'𝟏'`) are two
//!   UTF-16 units to Java and fail.
//! - `Double.valueOf` (`FloatingDecimal.readJavaFormatString`): the string is `trim()`med
//!   (every character up to U+0020), then an optional sign and either `NaN`, `Infinity`, a
//!   hexadecimal `0x1.8p3`, or ASCII digits with at most one `.` and at least one digit, an
//!   optional exponent, and one optional trailing `f`, `F`, `d` or `D` (still parsed as a
//!   double). The value is the correctly rounded nearest double.
//! - `Double.compareTo`: `-0.0 < 0.0`, and every NaN equals every NaN and is above `+Infinity`.

use std::cmp::Ordering;

/// Java's `Integer.parseInt(s)` (the header decoder's, which Java's headers use too).
pub(super) use crate::protocol::header::java_parse_int as parse_int;
/// Java's `Long.parseLong(s)`.
pub(super) use crate::protocol::header::java_parse_long as parse_long;

/// Java's `Double.valueOf(s)`.
pub(super) fn parse_double(s: &str) -> Option<f64> {
    // String.trim(): every char <= U+0020; in UTF-8 those are single bytes.
    let t = s.trim_matches(|c: char| c <= ' ');
    let (negative, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let sign = |v: f64| if negative { -v } else { v };
    let bytes = body.as_bytes();
    // A lone sign: Java reads past the end (StringIndexOutOfBounds -> NumberFormatException).
    match *bytes.first()? {
        b'N' => return (body == "NaN").then_some(f64::NAN),
        b'I' => return (body == "Infinity").then_some(sign(f64::INFINITY)),
        b'0' if matches!(bytes.get(1), Some(b'x' | b'X')) => {
            return parse_hex(&body[2..]).map(sign);
        }
        _ => {}
    }
    let mut i = 0;
    let mut digits = 0usize;
    let mut point = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' if point => return None, // "multiple points"
            b'.' => point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent_at = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exponent_at {
            return None;
        }
    }
    let number_end = i;
    if i < bytes.len() && (i != bytes.len() - 1 || !matches!(bytes[i], b'f' | b'F' | b'd' | b'D')) {
        return None;
    }
    // What is left is digits, one optional point and an exponent: a form Rust's parser takes,
    // and rounds correctly as Java does.
    body[..number_end].parse::<f64>().ok().map(sign)
}

/// The part of a hexadecimal `Double.valueOf` string after `0x`. Java matches it with
/// `(\p{XDigit}+\.?|\p{XDigit}*\.\p{XDigit}+)[pP][-+]?\p{Digit}+[fFdD]?` and rounds the exact
/// value to nearest, ties to even.
fn parse_hex(s: &str) -> Option<f64> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while bytes.get(i).is_some_and(u8::is_ascii_hexdigit) {
        i += 1;
    }
    let int_digits = &bytes[..i];
    let mut frac_digits: &[u8] = &[];
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_hexdigit) {
            i += 1;
        }
        frac_digits = &bytes[start..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    if !matches!(bytes.get(i), Some(b'p' | b'P')) {
        return None;
    }
    i += 1;
    let exponent_negative = match bytes.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let exponent_at = i;
    let mut exponent: u64 = 0;
    while let Some(&b) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
        exponent = exponent
            .saturating_mul(10)
            .saturating_add(u64::from(b - b'0'));
        i += 1;
    }
    if i == exponent_at {
        return None;
    }
    if i < bytes.len() && (i != bytes.len() - 1 || !matches!(bytes[i], b'f' | b'F' | b'd' | b'D')) {
        return None;
    }

    // The significand: up to 16 hex digits from the first non-zero one, the rest only as a
    // "something non-zero was dropped" bit.
    let mut mantissa: u64 = 0;
    let mut kept = 0u32;
    let mut dropped: i64 = 0;
    let mut sticky = false;
    for &b in int_digits.iter().chain(frac_digits) {
        let digit = u64::from(hex_value(b));
        if kept == 0 && digit == 0 {
            continue;
        }
        if kept < 16 {
            mantissa = mantissa << 4 | digit;
            kept += 1;
        } else {
            dropped += 1;
            sticky |= digit != 0;
        }
    }
    if mantissa == 0 {
        return Some(0.0);
    }
    // Java parses the exponent with Integer.parseInt; beyond int it answers infinity or zero.
    if exponent > i32::MAX as u64 {
        return Some(if exponent_negative {
            0.0
        } else {
            f64::INFINITY
        });
    }
    let exponent = if exponent_negative {
        -(exponent as i64)
    } else {
        exponent as i64
    };
    let scale = exponent + 4 * dropped - 4 * frac_digits.len() as i64;
    Some(round_to_double(mantissa, scale, sticky))
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// The double nearest to `mantissa * 2^scale` (plus a little more when `sticky`), ties to even.
/// `mantissa` is not zero.
fn round_to_double(mantissa: u64, scale: i64, sticky: bool) -> f64 {
    let bits = i64::from(64 - mantissa.leading_zeros());
    let top = scale + bits - 1; // the exponent of the leading bit
    if top > 1023 {
        return f64::INFINITY;
    }
    // The weight of the last bit kept: 53 significant bits, or the subnormal floor 2^-1074.
    let mut lsb = (top - 52).max(-1074);
    let shift = lsb - scale;
    let mut significand: u64 = if shift <= 0 {
        mantissa << (-shift) // at most 53 bits: exact
    } else {
        let wide = u128::from(mantissa);
        let shift = shift.min(120) as u32;
        let kept = (wide >> shift) as u64;
        let rest = wide & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
        kept + u64::from(up)
    };
    if significand == 1 << 53 {
        significand >>= 1;
        lsb += 1;
    }
    if significand < 1 << 52 {
        // Subnormal (lsb is -1074) or zero.
        return f64::from_bits(significand);
    }
    let biased = lsb + 52 + 1023;
    if biased >= 2047 {
        return f64::INFINITY;
    }
    f64::from_bits((biased as u64) << 52 | (significand & ((1 << 52) - 1)))
}

/// Java's `Double.compare(a, b)`.
pub(super) fn compare_double(a: f64, b: f64) -> Ordering {
    if a < b {
        Ordering::Less
    } else if a > b {
        Ordering::Greater
    } else {
        java_bits(a).cmp(&java_bits(b))
    }
}

/// Java's `Double.equals`: the same `doubleToLongBits`.
pub(super) fn double_equals(a: f64, b: f64) -> bool {
    java_bits(a) == java_bits(b)
}

/// `Double.doubleToLongBits`: every NaN is the canonical one; compared as a signed long.
fn java_bits(d: f64) -> i64 {
    if d.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        d.to_bits() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_take_a_sign_and_unicode_digits_but_no_space() {
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("+7"), Some(7));
        assert_eq!(parse_int("-007"), Some(-7));
        assert_eq!(parse_int("2147483647"), Some(i32::MAX));
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_int("2147483648"), None);
        assert_eq!(parse_int("-2147483649"), None);
        assert_eq!(parse_int("\u{661}\u{662}"), Some(12)); // Arabic-Indic
        assert_eq!(parse_int("\u{ff11}\u{ff12}"), Some(12)); // fullwidth
        assert_eq!(parse_int("\u{1d7cf}"), None); // MATHEMATICAL BOLD DIGIT ONE
        assert_eq!(parse_int("\u{b2}"), None); // superscript two: No, not Nd
        for bad in [
            "", "+", "-", " 1", "1 ", "1.0", "1e3", "0x1", "--1", "+-1", "1_0",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn longs_cover_the_whole_range() {
        assert_eq!(parse_long("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_long("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_long("9223372036854775808"), None);
        assert_eq!(parse_long("99999999999999999999999"), None);
        assert_eq!(parse_long("3000000000"), Some(3_000_000_000));
    }

    #[test]
    fn doubles_follow_java_syntax() {
        let cases: &[(&str, f64)] = &[
            ("1", 1.0),
            (" 1.5 ", 1.5),
            ("\t-2.5e1\n", -25.0),
            ("+.5", 0.5),
            ("5.", 5.0),
            ("1e0", 1.0),
            ("1E+2", 100.0),
            ("1.5f", 1.5),
            ("1.5D", 1.5),
            ("Infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("1e400", f64::INFINITY),
            ("1e-400", 0.0),
            ("0x1p0", 1.0),
            ("0X1.8P1", 3.0),
            ("-0x.8p1d", -1.0),
            ("0x10p-4", 1.0),
            ("0x1p-1074", f64::from_bits(1)),
            ("0x1p-1075", 0.0),                 // tie, to even
            ("0x3p-1076", f64::from_bits(1)),   // 0.75 of the least subnormal
            ("0x1.8p-1074", f64::from_bits(2)), // 1.5 -> 2
            ("0x1.fffffffffffffp1023", f64::MAX),
            ("0x1.fffffffffffff8p1023", f64::INFINITY),
            ("0x1.00000000000008p0", 1.0), // tie, to even
            ("0x1.000000000000081p0", 1.0 + f64::EPSILON), // above the tie
            ("0x1p99999999999", f64::INFINITY),
            ("0x0p99999999999", 0.0),
        ];
        for &(s, want) in cases {
            let got = parse_double(s).unwrap_or_else(|| panic!("{s:?} did not parse"));
            assert_eq!(got.to_bits(), want.to_bits(), "{s:?}: {got} != {want}");
        }
        assert!(parse_double("NaN").unwrap().is_nan());
        assert!(parse_double("-NaN").unwrap().is_nan());
        assert_eq!(parse_double("-0").unwrap().to_bits(), (-0.0f64).to_bits());
        for bad in [
            "", " ", "+", "-", ".", "e1", "1e", "1e+", "1.2.3", "1.5ff", "1.5 x", "nan", "inf",
            "infinity", "NaNd", "1,5", "0x", "0x1", "0x1.8", "0xp1", "0x.p1", "0x1p", "0x1p+",
            "0x1pf", "\u{a0}1", "1\u{a0}", "\u{661}",
        ] {
            assert_eq!(parse_double(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn double_order_is_total() {
        assert_eq!(compare_double(-0.0, 0.0), Ordering::Less);
        assert_eq!(compare_double(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(compare_double(f64::NAN, -f64::NAN), Ordering::Equal);
        assert_eq!(compare_double(1.0, 2.0), Ordering::Less);
        assert!(double_equals(f64::NAN, f64::NAN));
        assert!(!double_equals(0.0, -0.0));
    }
}
