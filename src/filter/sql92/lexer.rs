//! The tokens of RocketMQ's selector grammar (`SelectorParser.jj`, "Tokens" section), cut by
//! longest match as JavaCC's generated `SelectorParserTokenManager` cuts them:
//!
//! - Skipped: space, tab, `\n`, `\r`, form feed; `/* ... */`; and `-- ...` only when a `\n`
//!   or `\r` ends it: at the end of the text, `--x` is two minus signs and an identifier.
//! - Keywords, ASCII case-insensitive: NOT AND OR BETWEEN IN TRUE FALSE NULL IS CONTAINS
//!   STARTSWITH ENDSWITH. A longer word (`ORDER`, `INx`) is an identifier.
//! - Identifiers: `[A-Za-z_$][A-Za-z0-9_$]*`, ASCII only, case kept.
//! - Numbers: `0`, or `[1-9][0-9]*` with an optional `l`/`L` (a decimal literal; `007` is
//!   three tokens `0` `0` `7`), or a float: `5.`, `5.5`, `.5`, `5e3` with an optional exponent
//!   `[eE][+-]?[0-9]+`. No hex, no octal.
//! - Strings: `'...'` with `''` for a quote; anything else, newlines included, inside.
//! - Operators: `= <> > >= < <= ( , ) + -`.
//!
//! Anything else (`!`, `#`, `"`, a non-ASCII letter outside a string, an unterminated string
//! or block comment) is a lexical error. Java raises it only when the parser asks for that
//! token, so [`tokenize`] stops there and leaves the error for the parser to meet.

use super::{position, FilterError};

/// What a token is; literals and identifiers keep their text in [`Token::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Eof,
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    Decimal,
    Float,
    Str,
    Ident,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    Comma,
    RParen,
    Plus,
    Minus,
}

const KEYWORDS: [(&str, Kind); 12] = [
    ("NOT", Kind::Not),
    ("AND", Kind::And),
    ("OR", Kind::Or),
    ("BETWEEN", Kind::Between),
    ("IN", Kind::In),
    ("TRUE", Kind::True),
    ("FALSE", Kind::False),
    ("NULL", Kind::Null),
    ("IS", Kind::Is),
    ("CONTAINS", Kind::Contains),
    ("STARTSWITH", Kind::StartsWith),
    ("ENDSWITH", Kind::EndsWith),
];

/// A token: its kind, its text (a string literal with its quotes), and its byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'s> {
    pub kind: Kind,
    pub text: &'s str,
    pub at: usize,
}

/// The tokens of `src` up to and including [`Kind::Eof`], or up to the first lexical error,
/// which is returned with them.
pub(super) fn tokenize(src: &str) -> (Vec<Token<'_>>, Option<FilterError>) {
    let mut tokens = Vec::new();
    let mut at = 0;
    loop {
        match next(src, at) {
            Ok(token) => {
                at = token.at + token.text.len();
                tokens.push(token);
                if token.kind == Kind::Eof {
                    return (tokens, None);
                }
            }
            Err(error) => return (tokens, Some(error)),
        }
    }
}

/// The token starting at or after byte `at`, skipping blanks and comments.
fn next(src: &str, mut at: usize) -> Result<Token<'_>, FilterError> {
    let bytes = src.as_bytes();
    loop {
        match bytes.get(at..at + 2) {
            _ if matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')) => at += 1,
            Some(b"--") => match bytes[at + 2..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
            {
                Some(end) => at += 2 + end + 1,
                None => break, // no line end: not a comment, a minus sign
            },
            Some(b"/*") => match src[at + 2..].find("*/") {
                Some(end) => at += 2 + end + 2,
                None => return Err(lexical(src, at, "unterminated /* comment")),
            },
            _ => break,
        }
    }
    let token = |kind, len: usize| {
        Ok(Token {
            kind,
            text: &src[at..at + len],
            at,
        })
    };
    let Some(&first) = bytes.get(at) else {
        return token(Kind::Eof, 0);
    };
    let rest = &bytes[at..];
    match first {
        b'=' => token(Kind::Eq, 1),
        b'<' => match rest.get(1) {
            Some(b'>') => token(Kind::Ne, 2),
            Some(b'=') => token(Kind::Le, 2),
            _ => token(Kind::Lt, 1),
        },
        b'>' => match rest.get(1) {
            Some(b'=') => token(Kind::Ge, 2),
            _ => token(Kind::Gt, 1),
        },
        b'(' => token(Kind::LParen, 1),
        b')' => token(Kind::RParen, 1),
        b',' => token(Kind::Comma, 1),
        b'+' => token(Kind::Plus, 1),
        b'-' => token(Kind::Minus, 1),
        b'\'' => match string_literal_len(rest) {
            Some(len) => token(Kind::Str, len),
            None => Err(lexical(src, at, "unterminated string literal")),
        },
        b'0'..=b'9' => {
            let digits = count(rest, |b| b.is_ascii_digit());
            if rest.get(digits) == Some(&b'.') {
                let fraction = count(&rest[digits + 1..], |b| b.is_ascii_digit());
                let end = digits + 1 + fraction;
                token(Kind::Float, end + exponent(&rest[end..]))
            } else if let n @ 1.. = exponent(&rest[digits..]) {
                token(Kind::Float, digits + n)
            } else if first == b'0' {
                token(Kind::Decimal, 1)
            } else if matches!(rest.get(digits), Some(b'l' | b'L')) {
                token(Kind::Decimal, digits + 1)
            } else {
                token(Kind::Decimal, digits)
            }
        }
        b'.' if rest.get(1).is_some_and(u8::is_ascii_digit) => {
            let end = 1 + count(&rest[1..], |b| b.is_ascii_digit());
            token(Kind::Float, end + exponent(&rest[end..]))
        }
        b'A'..=b'Z' | b'a'..=b'z' | b'_' | b'$' => {
            let len = 1 + count(&rest[1..], |b| {
                b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
            });
            let word = &src[at..at + len];
            let kind = KEYWORDS
                .iter()
                .find(|(keyword, _)| keyword.eq_ignore_ascii_case(word))
                .map_or(Kind::Ident, |&(_, kind)| kind);
            token(kind, len)
        }
        _ => {
            let c = src[at..].chars().next().unwrap_or('\u{fffd}');
            Err(lexical(src, at, &format!("unexpected character {c:?}")))
        }
    }
}

/// The length of the longest string literal `'` (`''` | not `'`)* `'` at the start of `bytes`
/// (which starts with a quote), or `None` if none ends.
///
/// Longest, not greedy: in `'a''` the `''` may be an escaped quote (then nothing closes the
/// literal) or a closing quote and the start of the next token; JavaCC takes `'a'`. So inside
/// the literal, a run of quotes of even length is escapes (and its last-but-one quote a
/// possible end), and a run of odd length ends the literal at its last quote.
fn string_literal_len(bytes: &[u8]) -> Option<usize> {
    let mut longest = None;
    let mut i = 1;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'\'') {
        let run_at = i + offset;
        let run = count(&bytes[run_at..], |b| b == b'\'');
        if run % 2 == 1 {
            return Some(run_at + run);
        }
        longest = Some(run_at + run - 1);
        i = run_at + run;
    }
    longest
}

/// How many leading bytes of `bytes` satisfy `f`.
fn count(bytes: &[u8], f: impl Fn(u8) -> bool) -> usize {
    bytes.iter().take_while(|&&b| f(b)).count()
}

/// The length of an exponent `[eE][+-]?[0-9]+` at the start of `bytes`, or 0 if there is none.
fn exponent(bytes: &[u8]) -> usize {
    if !matches!(bytes.first(), Some(b'e' | b'E')) {
        return 0;
    }
    let sign = usize::from(matches!(bytes.get(1), Some(b'+' | b'-')));
    match count(&bytes[1 + sign..], |b| b.is_ascii_digit()) {
        0 => 0,
        digits => 1 + sign + digits,
    }
}

fn lexical(src: &str, at: usize, what: &str) -> FilterError {
    let (line, column) = position(src, at);
    FilterError::Lexical {
        line,
        column,
        what: what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        let (tokens, error) = tokenize(src);
        assert_eq!(error, None, "{src:?}");
        tokens.iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn keywords_ignore_case_and_longer_words_are_identifiers() {
        use Kind::*;
        assert_eq!(
            kinds("not And oR between IN true FALSE Null is contains StartsWith ENDSWITH"),
            [
                (Not, "not"),
                (And, "And"),
                (Or, "oR"),
                (Between, "between"),
                (In, "IN"),
                (True, "true"),
                (False, "FALSE"),
                (Null, "Null"),
                (Is, "is"),
                (Contains, "contains"),
                (StartsWith, "StartsWith"),
                (EndsWith, "ENDSWITH"),
                (Eof, ""),
            ]
        );
        assert_eq!(
            kinds("ORDER INx notnull _a $b a1$_"),
            [
                (Ident, "ORDER"),
                (Ident, "INx"),
                (Ident, "notnull"),
                (Ident, "_a"),
                (Ident, "$b"),
                (Ident, "a1$_"),
                (Eof, ""),
            ]
        );
    }

    #[test]
    fn numbers_cut_by_longest_match() {
        use Kind::*;
        assert_eq!(
            kinds("0 007 10L 10l 0L 1.5E3 .5 5. 5.e2 1e5 1e 1.5L"),
            [
                (Decimal, "0"),
                (Decimal, "0"),
                (Decimal, "0"),
                (Decimal, "7"),
                (Decimal, "10L"),
                (Decimal, "10l"),
                (Decimal, "0"),
                (Ident, "L"),
                (Float, "1.5E3"),
                (Float, ".5"),
                (Float, "5."),
                (Float, "5.e2"),
                (Float, "1e5"),
                (Decimal, "1"),
                (Ident, "e"),
                (Float, "1.5"),
                (Ident, "L"),
                (Eof, ""),
            ]
        );
        assert_eq!(
            kinds("1e+5 1E-5 1e+ 007.5"),
            [
                (Float, "1e+5"),
                (Float, "1E-5"),
                (Decimal, "1"),
                (Ident, "e"),
                (Plus, "+"),
                (Float, "007.5"),
                (Eof, ""),
            ]
        );
    }

    #[test]
    fn strings_operators_and_comments() {
        use Kind::*;
        assert_eq!(
            kinds("'it''s' '' 'a\nb' <> <= >= < > = ( , ) + -"),
            [
                (Str, "'it''s'"),
                (Str, "''"),
                (Str, "'a\nb'"),
                (Ne, "<>"),
                (Le, "<="),
                (Ge, ">="),
                (Lt, "<"),
                (Gt, ">"),
                (Eq, "="),
                (LParen, "("),
                (Comma, ","),
                (RParen, ")"),
                (Plus, "+"),
                (Minus, "-"),
                (Eof, ""),
            ]
        );
        assert_eq!(
            kinds("a /* x * / */ -- note\r\n b --c"),
            [
                (Ident, "a"),
                (Ident, "b"),
                (Minus, "-"),
                (Minus, "-"),
                (Ident, "c"),
                (Eof, ""),
            ]
        );
        assert_eq!(kinds("/**/a/***/"), [(Ident, "a"), (Eof, "")]);
        // Longest match, not the greediest scan (see `string_literal_len`).
        assert_eq!(
            kinds("'a''b' '''' 'c'''"),
            [(Str, "'a''b'"), (Str, "''''"), (Str, "'c'''"), (Eof, "")]
        );
    }

    #[test]
    fn lexical_errors_stop_the_stream_where_they_are() {
        for (src, good) in [
            ("a # b", 1),
            ("a = 'open", 2),
            // The longest literal is 'x' (the `''` is not an escape), then an unterminated one.
            ("a = 'x''", 3),
            ("'x' '' 'y", 2),
            ("a /* open", 1),
            ("/*/", 0),
            ("a != 1", 1),
            ("é", 0),
            ("a\u{b}", 1),
            (".", 0),
            ("a.b", 1),
        ] {
            let (tokens, error) = tokenize(src);
            assert_eq!(tokens.len(), good, "{src:?}");
            assert!(
                matches!(error, Some(FilterError::Lexical { .. })),
                "{src:?}"
            );
        }
    }
}
