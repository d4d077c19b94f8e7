//! The fast path of the POST parser: a columnar body of plain values (what a client encoder
//! writes), read with a byte scanner instead of serde's visitors. Integers and strings are
//! read in place, floats are rounded exactly (as serde_json's `float_roundtrip` does: with one
//! division where that is exact, else through `lexical-core`), and each value is packed as it
//! is read ([`Packed`]: a tag byte and a payload word, the few distinct strings of a column
//! coded once): a 100,000-row body allocates per distinct value, not per cell.
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
    // Strings are sliced out of the body as they are: check the encoding once (a slice of
    // the checked text between two quotes needs no second check).
    let text = std::str::from_utf8(body).ok()?;
    let mut scan = Scanner { text, body, at: 0 };
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
    text: &'a str,
    /// `text`'s bytes.
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
        // A quote is never inside a multi-byte character: both ends are character boundaries.
        self.text.get(start..start + len)
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
    ///
    /// The digits are read once: summed as they are checked, so an integer is that sum and a
    /// float without an exponent whose digits allow it is rounded from it with one division
    /// ([`exact_float`]); other floats go to `lexical-core`.
    fn number(&mut self) -> Option<Scalar<'a>> {
        let body = self.body;
        let start = self.at;
        let negative = body.get(start) == Some(&b'-');
        let first = start + usize::from(negative);
        let (mut at, magnitude) = digits(body, first, 0);
        let integer = at - first;
        // No digits, a leading zero (`01`, refused) or `-0` (a float in serde_json).
        if integer == 0 || (body[first] == b'0' && (integer > 1 || negative)) {
            return None;
        }
        let (mut mantissa, mut fraction) = (magnitude, 0);
        if body.get(at) == Some(&b'.') {
            let (end, sum) = digits(body, at + 1, magnitude);
            fraction = end - (at + 1);
            if fraction == 0 {
                return None;
            }
            (at, mantissa) = (end, sum);
        }
        let exponent = matches!(body.get(at), Some(b'e' | b'E'));
        if exponent {
            at += 1;
            if matches!(body.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let (end, _) = digits(body, at, 0);
            if end == at {
                return None;
            }
            at = end;
        }
        self.at = at;
        if fraction == 0 && !exponent {
            // Up to 18 digits fit both i64 and u64; longer ones are left to the reference.
            if integer > 18 {
                return None;
            }
            // Both signs fit an i64, as serde_json keeps them (its `u64` of a positive one
            // packs as the same integer).
            let magnitude = magnitude as i64;
            return Some(Scalar::Int(if negative { -magnitude } else { magnitude }));
        }
        let exact = match exponent {
            true => None,
            false => exact_float(mantissa, integer + fraction, fraction),
        };
        let value = match exact {
            Some(value) if negative => -value,
            Some(value) => value,
            None => lexical_core::parse(&body[start..at]).ok()?,
        };
        value.is_finite().then_some(Scalar::Float(value))
    }
}

/// The ASCII digits of `body` from `at`: where they end, and `sum` with them appended as
/// decimal digits (exact while the whole number has at most 19 digits; it wraps past that).
///
/// Eight digits at a time while eight are there ([`eight_digits`]): a float's 16 or 17
/// digits had been a chain of 16 dependent multiply-adds. Appending eight at once wraps
/// exactly as appending them one by one does (both are the sum modulo 2^64).
pub(super) fn digits(body: &[u8], mut at: usize, mut sum: u64) -> (usize, u64) {
    while let Some(eight) = eight_digits(body, at) {
        sum = sum.wrapping_mul(100_000_000).wrapping_add(eight);
        at += 8;
    }
    while let Some(&byte) = body.get(at) {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        sum = sum.wrapping_mul(10).wrapping_add(u64::from(digit));
        at += 1;
    }
    (at, sum)
}

/// The value of the eight bytes of `body` from `at` when all are ASCII digits: one load, one
/// check of all eight, three multiplies (the bytes as a little-endian word, digits paired, the
/// pairs paired, the fours joined).
fn eight_digits(body: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = body.get(at..at.checked_add(8)?)?.try_into().ok()?;
    let word = u64::from_le_bytes(bytes);
    // Every byte is 0x30..=0x39: its high nibble is 3 and adding 6 leaves the nibble at 3.
    let high = word & 0xF0F0_F0F0_F0F0_F0F0;
    let carried = word.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0;
    if high | carried >> 4 != 0x3333_3333_3333_3333 {
        return None;
    }
    // The first digit is the lowest byte: each step joins neighbours, the earlier one times
    // 10^k, into the lower half of a lane twice as wide.
    let digits = word - 0x3030_3030_3030_3030;
    let pairs = (digits * 10 + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((fours & 0xFFFF) * 10_000 + (fours >> 32))
}

/// Powers of ten an `f64` holds exactly.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `mantissa / 10^fraction`, the value of a decimal of `digits` digits with `fraction` of
/// them after the point, when one division rounds it exactly: `mantissa` is exact (at most 19
/// digits were summed) and at most 2^53 (an `f64` holds it exactly), and 10^`fraction` is an
/// exact `f64` (at most 10^22), so the one rounding is the division's, which IEEE 754 rounds
/// to nearest (Clinger's fast path; `lexical-core` takes it too). Otherwise `None`.
pub(super) fn exact_float(mantissa: u64, digits: usize, fraction: usize) -> Option<f64> {
    (digits <= 19 && mantissa <= 1 << 53 && fraction < EXACT_POWERS.len())
        .then(|| mantissa as f64 / EXACT_POWERS[fraction])
}
