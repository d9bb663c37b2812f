//! Tests of the whole filter: every production of the grammar, the construction checks, the
//! coercion table, Java's answers from `java-cases.txt`, and a proptest that nothing panics.

use super::*;
use proptest::prelude::*;

/// Compiles `expr` and matches it against `props` (absent names are absent properties).
fn eval(expr: &str, props: &[(&str, &str)]) -> Result<bool, FilterError> {
    let filter = Sql92Filter::compile(expr)?;
    Ok(filter.matches(|name| props.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)))
}

#[track_caller]
fn yes(expr: &str, props: &[(&str, &str)]) {
    assert_eq!(eval(expr, props), Ok(true), "{expr:?} with {props:?}");
}

#[track_caller]
fn no(expr: &str, props: &[(&str, &str)]) {
    assert_eq!(eval(expr, props), Ok(false), "{expr:?} with {props:?}");
}

#[track_caller]
fn invalid(expr: &str) {
    assert!(Sql92Filter::compile(expr).is_err(), "{expr:?} compiled");
}

/// The value of a boolean sub-expression, read through NOT: `Some(b)` or `None` for null.
/// (`matches` alone cannot tell FALSE from null.)
fn truth(expr: &str, props: &[(&str, &str)]) -> Option<bool> {
    match (
        eval(expr, props).unwrap(),
        eval(&format!("NOT ({expr})"), props).unwrap(),
    ) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
        (true, true) => unreachable!("{expr:?} is both true and false"),
    }
}

#[test]
fn api_keeps_the_source_and_clones_cheaply() {
    let filter = Sql92Filter::compile("a = 'x'").unwrap();
    assert_eq!(filter.expression(), "a = 'x'");
    fn shareable<T: Send + Sync>(_: &T) {}
    shareable(&filter);
    let copy = filter.clone();
    assert!(copy.matches(|name| (name == "a").then_some("x")));
    assert!(!copy.matches(|_| None));
}

#[test]
fn comparisons_of_each_kind() {
    let a = &[("a", "5")];
    yes("a = 5", a);
    yes("a <> 4", a);
    yes("a > 4", a);
    yes("a >= 5", a);
    yes("a < 6", a);
    yes("a <= 5", a);
    no("a > 5", a);
    no("a < 5", a);
    yes("a BETWEEN 5 AND 6", a);
    yes("a BETWEEN 4 AND 5", a);
    no("a BETWEEN 6 AND 7", a);
    yes("a NOT BETWEEN 6 AND 7", a);
    no("a NOT BETWEEN 5 AND 5", a);
    yes("a IN ('4', '5')", a);
    yes("a NOT IN ('4', '6')", a);
    let s = &[("s", "hello")];
    yes("s CONTAINS 'ell'", s);
    yes("s STARTSWITH 'he'", s);
    yes("s ENDSWITH 'lo'", s);
    yes("s NOT CONTAINS 'x'", s);
    yes("s NOT STARTSWITH 'lo'", s);
    yes("s NOT ENDSWITH 'he'", s);
    no("s NOT CONTAINS 'ell'", s);
    yes("s IS NOT NULL", s);
    no("s IS NULL", s);
    yes("t IS NULL", s);
}

#[test]
fn precedence_and_grouping() {
    let p = &[("a", "1"), ("b", "2"), ("c", "3")];
    // AND binds tighter than OR.
    yes("a = 1 OR b = 9 AND c = 9", p);
    no("(a = 1 OR b = 9) AND c = 9", p);
    // NOT binds tighter than =: `(NOT a) = 'x'` compares TRUE with 'x' (false), not NOT (a = 'x').
    no("NOT a = 'x'", &[("a", "y")]);
    yes("NOT (a = 'x')", &[("a", "y")]);
    // Unary signs.
    yes("a > -1", p);
    yes("a = +1", p);
    yes("a = - -1", p);
    no("-a < 0 OR -a >= 0", p); // a negated String is null
                                // Keywords and their case.
    yes("a = 1 and B IS null Or c = 3", p);
    yes("A IS NULL", p); // properties are case-sensitive
}

#[test]
fn literals() {
    let p = &[("a", "10")];
    yes("a = 10L", p);
    yes("a = 10l", p);
    yes("a = 1.0E1", p);
    yes("a = 1e1", p);
    yes("a = 10.", p);
    yes("a > .5", p);
    yes("a = 'x' OR a = '10'", p);
    yes("'it''s' = q", &[("q", "it's")]);
    yes("q = ''", &[("q", "")]);
    yes("a > 9223372036854775807 OR a < 9223372036854775807L", p);
    invalid("a > 9223372036854775808");
    invalid("a > -9223372036854775808"); // negation is separate from the literal
    invalid("a > 0.0");
    invalid("a > 0e5");
    invalid("a > 1e400");
    invalid("a > 1e-400");
    yes("a > 1e-320", p);
    // `007` is `0` followed by text Java never reads.
    yes("z = 007", &[("z", "0")]);
    // Literals compare across Integer, Long and Double.
    yes("1 = 1L AND 1 = 1.0 AND 3000000000 > 1 AND 2.5 > 2", &[]);
}

#[test]
fn comments_and_blanks() {
    let p = &[("a", "1")];
    yes("/* c */ a /**/ = /* * / */ 1", p);
    yes("a = 1 -- note\n", p);
    yes("-- first\r\na = 1", p);
    yes("\ta\r\n=\x0c1 ", p);
    // Without a line end, `--` is two minus signs: `--1` is 1.
    yes("a = --1", p);
    // With one, it is a comment that eats the operand.
    invalid("a = --1\n");
    invalid("a = 1 /* open");
}

#[test]
fn text_after_a_complete_expression_is_not_read() {
    let p = &[("a", "1")];
    yes("a = 1 b c", p);
    yes("a = 1 )", p);
    yes("a = 1 2", p);
    yes("a = 1 - 5", p); // no arithmetic: `- 5` is left over
    yes("a = 1 'x'", p);
    invalid("a = 1 'x"); // the token after is read, so it must be a token
    invalid("a = 1 #");
    invalid("a = 1 NOT b"); // NOT starts a comparison operator
    invalid("a = 1 AND");
    invalid("(a = 1");
    invalid("a = 1 IS");
}

#[test]
fn construction_checks() {
    invalid("");
    invalid("   ");
    invalid("'abc'");
    invalid("1");
    invalid("-a");
    invalid("NOT 1");
    invalid("a = 1 AND 'x'");
    invalid("a = NULL");
    invalid("NULL <> a");
    invalid("TRUE = 1");
    invalid("FALSE = 'x'");
    invalid("a > 'x'");
    invalid("a > TRUE");
    invalid("a > NULL");
    invalid("(a = 1) > 0");
    invalid("NOT a > 1");
    invalid("'a' IN ('a')");
    invalid("-a IN ('a')");
    invalid("a BETWEEN 2 AND 1");
    invalid("a BETWEEN NULL AND 1");
    invalid("a BETWEEN 'a' AND 'b'");
    invalid("a IN ()");
    invalid("a IN (1)");
    invalid("a CONTAINS b");
    invalid("a IS 5");
    invalid("a == 1");
    invalid("a != 1");
    // Allowed, though odd.
    yes("1 = TRUE OR TRUE", &[]);
    yes("TRUE", &[]);
    no("FALSE", &[]);
    no("NULL", &[]);
    no("NOT NULL", &[]);
    yes("TRUE = FALSE OR NULL IS NULL", &[]);
    yes("(a) IN ('x') AND +a IN ('x')", &[("a", "x")]);
    yes("a NOT BETWEEN 2 AND 1", &[("a", "5")]);
    // Only literal bounds are checked: -1 > -2 here, but these are negations.
    no("a BETWEEN -1 AND -2", &[("a", "-1")]);
    yes("'abc' CONTAINS 'b'", &[]);
}

#[test]
fn three_valued_logic() {
    // a = 1 is TRUE, FALSE or null (absent a).
    let t = &[("a", "1")];
    let f = &[("a", "2")];
    let n: &[(&str, &str)] = &[];
    assert_eq!(truth("a = 1", t), Some(true));
    assert_eq!(truth("a = 1", f), Some(false));
    assert_eq!(truth("a = 1", n), None);
    for (props, v) in [(t as &[_], Some(true)), (f, Some(false)), (n, None)] {
        let and_true = v;
        let and_false = Some(false);
        let and_null = if v == Some(false) { Some(false) } else { None };
        assert_eq!(truth("a = 1 AND TRUE", props), and_true);
        assert_eq!(truth("a = 1 AND FALSE", props), and_false);
        assert_eq!(truth("a = 1 AND NULL", props), and_null);
        assert_eq!(truth("NULL AND a = 1", props), and_null);
        let or_false = v;
        let or_true = Some(true);
        let or_null = if v == Some(true) { Some(true) } else { None };
        assert_eq!(truth("a = 1 OR FALSE", props), or_false);
        assert_eq!(truth("a = 1 OR TRUE", props), or_true);
        assert_eq!(truth("a = 1 OR NULL", props), or_null);
        assert_eq!(truth("NULL OR a = 1", props), or_null);
    }
    assert_eq!(truth("NULL", n), None);
    // A property used as a boolean is FALSE when present (a String is never a Boolean).
    assert_eq!(truth("a", t), Some(false));
    assert_eq!(truth("a", n), None);
    yes("NOT a", &[("a", "true")]);
}

#[test]
fn null_in_each_operator() {
    let n: &[(&str, &str)] = &[];
    assert_eq!(truth("a = 'x'", n), None);
    // Java's doCreateEqual: only a null *left* side gives null; a null right side is FALSE.
    assert_eq!(truth("'x' = a", n), Some(false));
    yes("'x' <> a", n);
    no("a <> 'x'", n);
    // Two nulls are equal.
    yes("a = b", n);
    yes("a = -NULL", n);
    assert_eq!(truth("a > 1", n), None);
    assert_eq!(truth("1 > a", n), None);
    assert_eq!(truth("a BETWEEN 1 AND 2", n), None);
    assert_eq!(truth("a NOT BETWEEN 1 AND 2", n), None);
    assert_eq!(truth("a IN ('x')", n), None);
    assert_eq!(truth("a NOT IN ('x')", n), None);
    // The text operators answer FALSE for null, NOT forms too.
    assert_eq!(truth("a CONTAINS 'x'", n), Some(false));
    assert_eq!(truth("a NOT CONTAINS 'x'", n), Some(false));
    assert_eq!(truth("a NOT STARTSWITH 'x'", n), Some(false));
    assert_eq!(truth("a NOT ENDSWITH 'x'", n), Some(false));
    // ...and for an empty search string, whatever the value.
    assert_eq!(truth("a CONTAINS ''", &[("a", "x")]), Some(false));
    assert_eq!(truth("a NOT CONTAINS ''", &[("a", "x")]), Some(false));
    // ...and for a value that is not a String.
    assert_eq!(truth("1 CONTAINS '1'", n), Some(false));
    yes("a IS NULL AND -a IS NULL AND (a = 1) IS NULL", n);
    no("1 IS NULL", n);
}

#[test]
fn string_and_number_coercions() {
    // A string against an Integer literal is parsed with Integer.valueOf.
    yes("a = 1", &[("a", "01")]);
    yes("a = 1", &[("a", "+1")]);
    yes("a = 12", &[("a", "\u{661}\u{662}")]);
    no("a = 1 OR TRUE", &[("a", "1.0")]); // NumberFormatException: the whole evaluation fails
    no("a = 1 OR TRUE", &[("a", " 1")]);
    no("a > 1 OR TRUE", &[("a", "3000000000")]);
    yes("a > 2147483648", &[("a", "3000000000")]); // a Long literal: Long.valueOf
    yes("a = 1.0", &[("a", " 1 ")]); // a Double literal: Double.valueOf trims
    yes("a = 1.0", &[("a", "1")]);
    yes("a = 1.0", &[("a", "1d")]);
    yes("a = 1.5", &[("a", "0x1.8p0")]);
    yes("a > 1.5", &[("a", "NaN")]); // Double.compareTo puts NaN above everything
    yes("a < 0.5", &[("a", "-Infinity")]);
    // Exceptions stop evaluation; what came before decides whether it is reached.
    yes("b = 'x' OR a > 1", &[("a", "abc"), ("b", "x")]);
    no("a > 1 OR b = 'x'", &[("a", "abc"), ("b", "x")]);
    no("a > 1 AND b = 'x'", &[("a", "abc"), ("b", "y")]);
    no("b = 'x' AND a > 1", &[("a", "abc"), ("b", "y")]);
    // Two strings in <, >: both parsed as doubles.
    yes("a < b", &[("a", "9"), ("b", "10")]);
    no("a < b OR TRUE", &[("a", "x"), ("b", "y")]);
    // Two strings in =: compared as strings.
    no("a = b", &[("a", "1"), ("b", "1.0")]);
    yes("a = '1'", &[("a", "1")]);
    no("a = '1'", &[("a", "01")]);
    // Booleans: a String on the left converts ('true' in any case), a Boolean on the left
    // throws ClassCastException against a String.
    yes("'TRUE' = TRUE", &[]);
    yes("a = TRUE", &[("a", "True")]);
    no("a = TRUE", &[("a", "yes")]);
    yes("a = FALSE", &[("a", "yes")]);
    no("TRUE = a OR TRUE", &[("a", "true")]);
    no("(b = 'x') = a OR TRUE", &[("a", "true"), ("b", "x")]);
    yes("(b = 'x') = TRUE", &[("b", "x")]);
    no("1 = TRUE", &[]);
    // A negated property is not a number: null.
    assert_eq!(truth("-a = 1", &[("a", "-1")]), None);
}

#[test]
fn in_lists() {
    let many = "a IN ('a', 'b', 'c', 'd', 'e', 'f', 'it''s')";
    for v in ["a", "d", "f", "it's"] {
        yes(many, &[("a", v)]);
    }
    no(many, &[("a", "g")]);
    no(many, &[("a", "A")]);
    yes("a NOT IN ('x', 'x')", &[("a", "y")]);
    no("a IN ('1')", &[("a", "01")]);
}

#[test]
fn limits_name_themselves() {
    let long = format!("a = '{}'", "x".repeat(MAX_EXPRESSION_LEN));
    assert_eq!(
        Sql92Filter::compile(&long).unwrap_err(),
        FilterError::TooLong {
            len: long.len(),
            max: MAX_EXPRESSION_LEN
        }
    );
    let ok = format!(
        "{}a = 1{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    yes(&ok, &[("a", "1")]);
    for deep in [
        format!(
            "{}a = 1{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        ),
        format!("{}a", "NOT ".repeat(MAX_DEPTH + 1)),
        format!("a = {}1", "+".repeat(MAX_DEPTH + 1)),
        format!("a = {}1", "- ".repeat(MAX_DEPTH + 1)),
        format!("a{}", " IS NULL".repeat(MAX_DEPTH + 1)),
        format!("a{}", " CONTAINS 'x'".repeat(MAX_DEPTH + 1)),
        "(".repeat(MAX_EXPRESSION_LEN),
    ] {
        let error = Sql92Filter::compile(&deep).unwrap_err();
        assert!(
            matches!(error, FilterError::TooDeep { max: MAX_DEPTH, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("deeper than 100 levels"),
            "{error}"
        );
    }
    // A long flat chain is not deep.
    let chain = vec!["a = 1"; 500].join(" OR ");
    yes(&chain, &[("a", "1")]);
}

#[test]
fn errors_are_one_line_and_point_at_the_place() {
    let cases = [
        ("a = 1 AND\n  b > 'x'", "line 2, column 7"),
        ("a = 'open", "line 1, column 5"),
        ("a = (1", "line 1, column 7"),
        ("a > 9223372036854775808", "line 1, column 5"),
    ];
    for (expr, place) in cases {
        let error = Sql92Filter::compile(expr).unwrap_err().to_string();
        assert!(error.contains(place), "{expr:?}: {error}");
        assert!(!error.contains('\n'), "{expr:?}: {error}");
    }
    let error = Sql92Filter::compile(&format!("a = 1 NOT '{}\n'", "x".repeat(100)))
        .unwrap_err()
        .to_string();
    assert!(error.len() < 200 && !error.contains('\n'), "{error}");
}

/// One case of `java-cases.txt`: Java's answer for an expression and a property map.
struct JavaCase {
    line: usize,
    expected: &'static str,
    expr: String,
    props: Vec<(String, String)>,
}

/// Undoes CrossCheck.java's escaping: `\\`, `\t`, `\n`, `\r` and `\uXXXX`.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16).expect("\\u escape");
                out.push(char::from_u32(code).expect("\\u escape of a char"));
            }
            other => panic!("bad escape \\{other:?} in {field:?}"),
        }
    }
    out
}

fn java_cases() -> Vec<JavaCase> {
    include_str!("java-cases.txt")
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.is_empty())
        .map(|(i, line)| {
            let mut fields = line.split('\t');
            let expected = fields.next().unwrap();
            let expr = unescape(fields.next().unwrap_or(""));
            let props = fields
                .map(|p| {
                    let (name, value) = p.split_once('=').expect("name=value");
                    (name.to_string(), unescape(value))
                })
                .collect();
            JavaCase {
                line: i + 1,
                expected,
                expr,
                props,
            }
        })
        .collect()
}

/// Every case Java answered (see the file's header) gets the same answer here: `true`,
/// `false`, or `error` when the expression does not compile.
#[test]
fn java_cases_agree() {
    let cases = java_cases();
    assert!(cases.len() > 1000, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let got = match Sql92Filter::compile(&case.expr) {
            Err(_) => "error",
            Ok(filter) => {
                let get = |name: &str| {
                    case.props
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                };
                if filter.matches(get) {
                    "true"
                } else {
                    "false"
                }
            }
        };
        if got != case.expected {
            wrong.push(format!(
                "line {}: {:?} with {:?}: Java {}, here {}",
                case.line, case.expr, case.props, case.expected, got
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases differ:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// Tokens for random expressions that get past the parser often enough to evaluate.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "a",
            "b",
            "c",
            "NOT",
            "AND",
            "OR",
            "BETWEEN",
            "IN",
            "TRUE",
            "FALSE",
            "NULL",
            "IS",
            "CONTAINS",
            "STARTSWITH",
            "ENDSWITH",
            "=",
            "<>",
            ">",
            ">=",
            "<",
            "<=",
            "(",
            ")",
            ",",
            "+",
            "-",
            "1",
            "2.5",
            "10L",
            "3000000000",
            ".5",
            "'x'",
            "'1'",
            "''",
            "--\n",
            "/**/",
        ])
        .prop_map(str::to_string),
        "'[a-z0-9 ]{0,4}'",
        "[0-9]{1,20}",
        "[0-9]{0,3}\\.[0-9]{0,3}(e-?[0-9]{1,3})?",
    ]
}

proptest! {
    #[test]
    fn compile_never_panics(src in "\\PC{0,200}") {
        let _ = Sql92Filter::compile(&src);
    }

    #[test]
    fn compile_never_panics_on_ascii(src in "[ -~\t\n\r]{0,200}") {
        let _ = Sql92Filter::compile(&src);
    }

    #[test]
    fn matches_never_panics(
        tokens in prop::collection::vec(token(), 1..25),
        a in prop::option::of("\\PC{0,12}"),
        b in prop::option::of("[-+ ]?[0-9.eExXpP]{0,12}[dDfF]?"),
        c in prop::option::of("(NaN|Infinity|true|TRUE|[0-9]{1,25})"),
    ) {
        let src = tokens.join(" ");
        if let Ok(filter) = Sql92Filter::compile(&src) {
            let _ = filter.matches(|name| match name {
                "a" => a.as_deref(),
                "b" => b.as_deref(),
                "c" => c.as_deref(),
                _ => None,
            });
        }
    }
}
