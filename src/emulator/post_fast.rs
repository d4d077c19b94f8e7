//! The fast path of the POST parser: a columnar body of plain values (what a client encoder
//! writes), read with a byte scanner instead of serde's visitors. Integers and strings are
//! read in place, floats go through `lexical-core` (exactly rounded, as serde_json's
//! `float_roundtrip` is), and each value is packed as it is read ([`Packed`]: a tag byte and a
//! payload word, the few distinct strings of a column coded once): a 100,000-row body
//! allocates per distinct value, not per cell.
//!
//! It accepts a strict subset of the body grammar and answers `None` for anything else (a
//! row-wise body, an escape, a nested value, an unusual number such as `-0` or `1e400`, a
//! value its column's type refuses, a limit reached): [`super::post_body`] then parses the
//! body as before and is the reference for both the result and every error. For every body it
//! accepts, it gives exactly what that path gives (tested differentially in `tests_post.rs`).

use super::packed::{Packed, Scalar};
use super::post_body::{Parsed, MAX_COLUMNS};
use super::update::{column_type, ColumnType, Target, MAX_ROWS};

/// A columnar body of plain values, or `None` when the reference parser must decide.
pub fn parse(body: &[u8], target: Target) -> Option<Parsed> {
    // Strings are sliced out of the body as they are: check the encoding once.
    std::str::from_utf8(body).ok()?;
    let mut scan = Scanner { body, at: 0 };
    scan.expect(b'{')?;
    let key = target.key();
    let mut parsed = Parsed {
        keys: None,
        columns: Vec::new(),
        row_wise: false,
    };
    if scan.peek()? == b'}' {
        scan.at += 1;
        return scan.finished().then_some(parsed);
    }
    let mut expected = 0;
    loop {
        let name = scan.string()?;
        scan.expect(b':')?;
        let kind = if name == key {
            ColumnType::Any
        } else {
            column_type(target, name)
        };
        // The first column has no earlier one to size it: its commas do (a hint only: a
        // string's own commas count too).
        if expected == 0 {
            expected = scan.values_ahead();
        }
        let values = scan.column(kind, expected)?;
        // Columns are as long as each other: this one's length sizes the next.
        expected = values.len();
        if name == key {
            parsed.keys = Some(values);
        } else if let Some(slot) = parsed.columns.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = values; // a repeated name: the last one wins, as in the reference
        } else if parsed.columns.len() == MAX_COLUMNS {
            return None;
        } else {
            parsed.columns.push((name.to_owned(), values));
        }
        match scan.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    scan.finished().then_some(parsed)
}

struct Scanner<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    /// The next byte that is not JSON whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.body.get(self.at) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next()? == wanted).then_some(())
    }

    /// About how many values the array starting here has: its commas up to the first `]`,
    /// plus one (at most [`MAX_ROWS`]).
    fn values_ahead(&self) -> usize {
        let rest = &self.body[self.at..];
        let end = memchr::memchr(b']', rest).unwrap_or(rest.len());
        (memchr::memchr_iter(b',', &rest[..end]).count() + 1).min(MAX_ROWS)
    }

    /// Only whitespace is left.
    fn finished(&mut self) -> bool {
        self.peek().is_none()
    }

    /// A string without escapes or control characters, borrowed from the body.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        // One pass for the closing quote and the bytes that send the body to the reference
        // (most strings are a few bytes: a loop beats setting up a vector search per string).
        let rest = &self.body[start..];
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        // The whole body is valid UTF-8 and a quote is never inside a multi-byte character.
        std::str::from_utf8(&rest[..len]).ok()
    }

    /// `[v,v,...]`: each value read, admitted by `kind` and packed; `expected` values are
    /// likely (room is made for them at once rather than by doubling).
    fn column(&mut self, kind: ColumnType, expected: usize) -> Option<Packed> {
        self.expect(b'[')?;
        let mut values = Packed::with_capacity(expected.min(MAX_ROWS));
        if self.peek()? == b']' {
            self.at += 1;
            return Some(values);
        }
        loop {
            if values.len() == MAX_ROWS {
                return None;
            }
            let value = match self.peek()? {
                b'"' => Scalar::Text(self.string()?),
                b'n' => self.word(b"null", Scalar::Null)?,
                b't' => self.word(b"true", Scalar::Bool(true))?,
                b'f' => self.word(b"false", Scalar::Bool(false))?,
                _ => self.number()?,
            };
            values.push(kind.admit_scalar(value)?);
            match self.next()? {
                b',' => continue,
                b']' => return Some(values),
                _ => return None,
            }
        }
    }

    fn word(&mut self, word: &[u8], value: Scalar<'a>) -> Option<Scalar<'a>> {
        let end = self.at + word.len();
        (self.body.get(self.at..end)? == word).then(|| {
            self.at = end;
            value
        })
    }

    /// A number as serde_json reads it: integers that fit stay integers (`Int`, which packs
    /// as serde's `u64` of a positive one does), a fraction or exponent makes a float. Rarer
    /// forms go to the reference.
    fn number(&mut self) -> Option<Scalar<'a>> {
        let start = self.at;
        let negative = self.body.get(self.at) == Some(&b'-');
        self.at += usize::from(negative);
        let integer = self.digits();
        let integer_text = &self.body[start + usize::from(negative)..self.at];
        // No digits, a leading zero (`01`, refused) or `-0` (a float in serde_json).
        if integer == 0 || (integer_text[0] == b'0' && (integer > 1 || negative)) {
            return None;
        }
        let mut float = false;
        if self.body.get(self.at) == Some(&b'.') {
            self.at += 1;
            float = true;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.body.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            float = true;
            if matches!(self.body.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let text = &self.body[start..self.at];
        if float {
            let value: f64 = lexical_core::parse(text).ok()?;
            return value.is_finite().then_some(Scalar::Float(value));
        }
        // Up to 18 digits fit both i64 and u64; longer ones are left to the reference.
        if integer > 18 {
            return None;
        }
        let magnitude = integer_text
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        // Both signs fit an i64, as serde_json keeps them (its `u64` of a positive one
        // packs as the same integer).
        let magnitude = magnitude as i64;
        Some(Scalar::Int(if negative { -magnitude } else { magnitude }))
    }

    /// Skips ASCII digits; how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.body.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }
}
