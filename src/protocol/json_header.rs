//! A hand-written scanner for the JSON remoting header (`rocketmq-reference.md` §1.3): the fast
//! path of [`super::codec::decode_header`] for `SerializeType::Json`.
//!
//! Why it exists: every stock RocketMQ client sends JSON headers, so this is the broker's hottest
//! parse, one per request. Under callgrind (`scripts/cg-produce.sh`, `bench produce` 4 x 64,
//! 128-byte messages) `decode_header` cost 12,560 instructions per `SEND_MESSAGE_V2`, 38% of the
//! broker's 33,330 per message, ~11,000 of them serde_json's generic path (`deserialize_struct`,
//! `Option<T>` and map visitors, `parse_str`); with this scanner `decode_header` costs 7,420, of
//! which ~5,900 is the UTF-8 check and the scan, the rest the shared slices and the duplicate-key
//! check both paths do (`docs/architecture.md`, "JSON header fast path").
//!
//! It reads only a strict subset, the shape real clients send: one object with `code`,
//! `language`, `version`, `opaque`, `flag`, `remark`, `extFields` (an object of strings,
//! integers, booleans and nulls) and unknown fields with scalar values. Strings may carry
//! escapes. Anything else (nested values in unknown fields, floats or exponents, integers of
//! more than 18 digits, escaped top-level keys, a duplicate top-level key, lone surrogates, a
//! wrong type, any syntax error) makes [`scan`] answer `None`, "not handled", and the caller
//! runs the serde path, which gives the answer or the error. So the contract is: whenever
//! `scan` returns a command, the serde path returns exactly that command; the property tests
//! below and the `header_decode` fuzz target check it against serde on generated input.
//!
//! As on the serde path, an `extFields` key or value without escapes is a slice of the header
//! buffer (no copy), integers and booleans keep their literal text (which is what serde's
//! `to_string` of the parsed number gives for every integer accepted here, `-0` included),
//! nulls are skipped and a repeated key keeps its last value.

use bytestring::ByteString;

use super::code::{LanguageCode, SerializeType};
use super::command::RemotingCommand;
use super::ext_fields::ExtFields;

/// The command the serde path would decode from `text` (a whole JSON header, already known to be
/// valid UTF-8), or `None` when the header is outside the subset this scanner reads.
pub fn scan(text: &ByteString) -> Option<RemotingCommand> {
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        pos: 0,
    };
    let cmd = s.header()?;
    s.ws();
    (s.pos == s.b.len()).then_some(cmd)
}

/// A JSON string as found: the text between its quotes, and whether it has escapes (then
/// [`Scanner::unescape`] checks and decodes them).
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

/// A JSON integer of at most 18 digits (so it fits an `i64` either sign), as written.
struct Int {
    start: usize,
    end: usize,
    negative: bool,
    magnitude: u64,
}

impl Int {
    /// serde reads `-0` as a float, which no integer field takes.
    fn is_negative_zero(&self) -> bool {
        self.negative && self.magnitude == 0
    }

    fn to_i32(&self) -> Option<i32> {
        if self.is_negative_zero() {
            return None;
        }
        // magnitude < 10^18, so the i64 is exact.
        let v = if self.negative {
            -(self.magnitude as i64)
        } else {
            self.magnitude as i64
        };
        i32::try_from(v).ok()
    }
}

/// Top-level fields, one bit each, to refuse a repeated one as serde's derive does.
mod seen {
    pub const CODE: u8 = 1;
    pub const LANGUAGE: u8 = 2;
    pub const VERSION: u8 = 4;
    pub const OPAQUE: u8 = 8;
    pub const FLAG: u8 = 16;
    pub const REMARK: u8 = 32;
    pub const EXT_FIELDS: u8 = 64;
}

struct Scanner<'t> {
    text: &'t ByteString,
    b: &'t [u8],
    pos: usize,
}

impl Scanner<'_> {
    /// JSON whitespace only (serde_json's set: no form feed).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.pos += 1)
    }

    /// `true`, `false` or `null`, as a span of its text.
    fn literal(&mut self, word: &[u8]) -> Option<Span> {
        let start = self.pos;
        let end = start + word.len();
        (self.b.get(start..end) == Some(word)).then(|| {
            self.pos = end;
            Span {
                start,
                end,
                escaped: false,
            }
        })
    }

    /// After a member: whitespace, then `,` (more follow: true) or `}` (false).
    fn member_end(&mut self) -> Option<bool> {
        self.ws();
        let more = match self.peek()? {
            b',' => true,
            b'}' => false,
            _ => return None,
        };
        self.pos += 1;
        if more {
            self.ws();
        }
        Some(more)
    }

    fn header(&mut self) -> Option<RemotingCommand> {
        self.ws();
        self.eat(b'{')?;
        self.ws();
        // `{}` lacks `code`: serde's error.
        let mut seen = 0u8;
        let mut cmd = RemotingCommand {
            code: 0,
            language: LanguageCode::default(),
            version: 0,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: bytes::Bytes::new(),
            serialize_type: SerializeType::Json,
        };
        loop {
            // serde matches keys after unescaping; an escaped key goes there.
            let key = self.string()?;
            if key.escaped {
                return None;
            }
            self.ws();
            self.eat(b':')?;
            self.ws();
            let bit = match self.b.get(key.start..key.end)? {
                b"code" => seen::CODE,
                b"language" => seen::LANGUAGE,
                b"version" => seen::VERSION,
                b"opaque" => seen::OPAQUE,
                b"flag" => seen::FLAG,
                b"remark" => seen::REMARK,
                b"extFields" => seen::EXT_FIELDS,
                _ => 0,
            };
            if seen & bit != 0 {
                return None; // serde: "duplicate field"
            }
            seen |= bit;
            match bit {
                seen::CODE => cmd.code = self.integer()?.to_i32()?,
                seen::LANGUAGE => cmd.language = self.opt_language()?.unwrap_or_default(),
                seen::VERSION => cmd.version = self.opt_i32()?,
                seen::OPAQUE => cmd.opaque = self.opt_i32()?,
                seen::FLAG => cmd.flag = self.opt_i32()?,
                seen::REMARK => cmd.remark = self.opt_remark()?,
                seen::EXT_FIELDS => {
                    if self.null().is_none() {
                        cmd.ext_fields = self.ext_fields()?;
                    }
                }
                _ => self.skip_scalar()?,
            }
            if !self.member_end()? {
                break;
            }
        }
        (seen & seen::CODE != 0).then_some(cmd)
    }

    fn null(&mut self) -> Option<()> {
        self.literal(b"null").map(|_| ())
    }

    /// An `Option<i32>` field: `null` is absent (0).
    fn opt_i32(&mut self) -> Option<i32> {
        if self.null().is_some() {
            return Some(0);
        }
        self.integer()?.to_i32()
    }

    /// `language`: a name (unknown ones are `OTHER`), a number (by ordinal) or `null`.
    fn opt_language(&mut self) -> Option<Option<LanguageCode>> {
        match self.peek()? {
            b'n' => self.null().map(|_| None),
            b'"' => {
                let name = self.string()?;
                Some(Some(if name.escaped {
                    LanguageCode::from_name(&self.unescape(name)?)
                } else {
                    LanguageCode::from_name(self.text.get(name.start..name.end)?)
                }))
            }
            _ => {
                let n = self.integer()?;
                if n.is_negative_zero() {
                    return None;
                }
                // A negative ordinal is no language; a big one neither.
                let code = match (n.negative, u8::try_from(n.magnitude)) {
                    (false, Ok(v)) => LanguageCode::from_u8(v),
                    _ => LanguageCode::Other,
                };
                Some(Some(code))
            }
        }
    }

    fn opt_remark(&mut self) -> Option<Option<String>> {
        if self.null().is_some() {
            return Some(None);
        }
        let remark = self.string()?;
        Some(Some(if remark.escaped {
            self.unescape(remark)?
        } else {
            self.text.get(remark.start..remark.end)?.to_owned()
        }))
    }

    /// An unknown field's value: serde ignores it, but it must be valid JSON. Only scalars here.
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let s = self.string()?;
                // Its escapes must be valid too.
                if s.escaped {
                    self.unescape(s)?;
                }
                Some(())
            }
            b't' => self.literal(b"true").map(|_| ()),
            b'f' => self.literal(b"false").map(|_| ()),
            b'n' => self.null(),
            _ => self.integer().map(|_| ()),
        }
    }

    /// `extFields`: an object of strings, integers, booleans and nulls (nulls skipped).
    fn ext_fields(&mut self) -> Option<ExtFields> {
        self.eat(b'{')?;
        self.ws();
        let mut fields = ExtFields::with_capacity(16);
        if self.eat(b'}').is_some() {
            return Some(fields);
        }
        loop {
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            let value = match self.peek()? {
                b'"' => Some(self.string()?),
                b't' => Some(self.literal(b"true")?),
                b'f' => Some(self.literal(b"false")?),
                b'n' => self.null().map(|_| None)?,
                _ => {
                    let n = self.integer()?;
                    Some(Span {
                        start: n.start,
                        end: n.end,
                        escaped: false,
                    })
                }
            };
            match value {
                Some(value) => fields.push_decoded(self.share(key)?, self.share(value)?),
                // Skipped, but serde reads the key first: its escapes must be valid too.
                None if key.escaped => {
                    self.unescape(key)?;
                }
                None => {}
            }
            if !self.member_end()? {
                break;
            }
        }
        fields.dedup_decoded();
        Some(fields)
    }

    /// A span without escapes becomes a slice of the header buffer; one with escapes, its
    /// decoded copy.
    #[inline]
    fn share(&self, s: Span) -> Option<ByteString> {
        if s.escaped {
            self.unescape(s).map(ByteString::from)
        } else {
            Some(self.text.slice_ref(self.text.get(s.start..s.end)?))
        }
    }

    /// `-?(0|[1-9][0-9]*)` of at most 18 digits, not followed by a fraction or an exponent.
    fn integer(&mut self) -> Option<Int> {
        let start = self.pos;
        let negative = self.eat(b'-').is_some();
        let digits = self.pos;
        let mut magnitude: u64 = 0;
        while let Some(d @ 0..=9) = self.peek().map(|b| b.wrapping_sub(b'0')) {
            if self.pos - digits == 18 {
                return None; // serde may make it a float; it decides
            }
            magnitude = magnitude * 10 + u64::from(d);
            self.pos += 1;
        }
        let len = self.pos - digits;
        if len == 0 || (len > 1 && self.b[digits] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        Some(Int {
            start,
            end: self.pos,
            negative,
            magnitude,
        })
    }

    /// Finds the string starting at the opening quote. `None` on a control character or the end
    /// of the text, which serde refuses; escapes are only stepped over here (a backslash and the
    /// byte after it), [`Scanner::unescape`] checks them.
    #[inline(always)]
    fn string(&mut self) -> Option<Span> {
        self.eat(b'"')?;
        let start = self.pos;
        let mut i = string_stop(self.b, start);
        let mut escaped = false;
        loop {
            match *self.b.get(i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    i = string_stop(self.b, i + 2);
                }
                _ => return None,
            }
        }
        self.pos = i + 1;
        Some(Span {
            start,
            end: i,
            escaped,
        })
    }

    /// The decoded text of a string with escapes; `None` on an escape serde refuses: an unknown
    /// one, bad hex digits, a lone surrogate.
    #[cold]
    fn unescape(&self, s: Span) -> Option<String> {
        let b = self.b.get(..s.end)?;
        let mut out = String::with_capacity(s.end - s.start);
        let (mut from, mut i) = (s.start, s.start);
        while let Some(&c) = b.get(i) {
            if c != b'\\' {
                i += 1;
                continue;
            }
            // Both ends are ASCII positions, so char boundaries of the validated text.
            out.push_str(self.text.get(from..i)?);
            let escape = *b.get(i + 1)?;
            i += 2;
            out.push(match escape {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let (c, next) = unicode_escape(b, i)?;
                    i = next;
                    c
                }
                _ => return None,
            });
            from = i;
        }
        out.push_str(self.text.get(from..s.end)?);
        Some(out)
    }
}

/// After `\u` at `i` in `b`: four hex digits, or a surrogate pair `\uD8xx\uDCxx`. The char and
/// the index after it.
fn unicode_escape(b: &[u8], i: usize) -> Option<(char, usize)> {
    let n = hex4(b, i)?;
    let (n, next) = match n {
        0xD800..=0xDBFF => {
            if b.get(i + 4..i + 6) != Some(b"\\u") {
                return None;
            }
            let low = hex4(b, i + 6)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return None;
            }
            (0x1_0000 + ((n - 0xD800) << 10) + (low - 0xDC00), i + 10)
        }
        _ => (n, i + 4),
    };
    // A lone low surrogate is no char: None, as serde refuses it.
    Some((char::from_u32(n)?, next))
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let mut n = 0;
    for &d in b.get(i..i + 4)? {
        n = n * 16 + char::from(d).to_digit(16)?;
    }
    Some(n)
}
/// The index of the first byte at or after `i` that ends a string (`"`), starts an escape (`\`)
/// or is a control character (which JSON forbids in strings), or `b.len()`. Eight bytes at a
/// time (Mycroft's has-less-than test, as serde_json's `skip_to_escape` does): the first flagged
/// byte of a word is always a true match, false positives only ever follow one.
fn string_stop(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
        let q = w ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let s = w ^ (ONES * u64::from(b'\\'));
        let backslash = s.wrapping_sub(ONES) & !s;
        let hits = (ctrl | quote | backslash) & HIGH;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests;
