//! Byte-level reading for the fast path: whitespace, literals, numbers, strings (unescaped
//! straight into a column's value buffer) and the date/time values of typed string columns.
//!
//! Every reader answers [`Miss::Incomplete`] when the bytes end before the token does (the
//! splitter then hands the row again, whole) and [`Miss::Decline`] for anything outside what
//! the fast path decodes exactly like the reference: the page then goes the reference way,
//! which also produces the error for invalid JSON. Declining is always safe, only slower.

use super::super::classify::{dated, float_bits, int_bits};
use super::super::framing::{is_ws, quote_or_escape};
use super::super::infer::bits;

/// Why the fast path stopped reading a row.
#[derive(Debug, PartialEq)]
pub(crate) enum Miss {
    /// The bytes ended inside the row.
    Incomplete,
    /// The row is outside the fast path: decode the page the reference way.
    Decline,
}

pub(crate) type Read<T> = Result<T, Miss>;

/// The byte at `i`.
#[inline]
pub(crate) fn byte(b: &[u8], i: usize) -> Read<u8> {
    b.get(i).copied().ok_or(Miss::Incomplete)
}

/// The index of the first non-whitespace byte from `i`.
#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> Read<usize> {
    while is_ws(byte(b, i)?) {
        i += 1;
    }
    Ok(i)
}

/// Whether `a` equals `b`, compared a word at a time: a row's keys are a few bytes each, and
/// a slice comparison calls `memcmp` for every one of them.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], k: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[k..k + 8]);
        u64::from_ne_bytes(w)
    };
    let mut k = 0;
    while k + 8 < n {
        if word(a, k) != word(b, k) {
            return false;
        }
        k += 8;
    }
    // The last word, overlapping the one before when `n` is not a multiple of 8.
    word(a, n - 8) == word(b, n - 8)
}

/// Reads `word` (`true`, `false`, `null`) at `i`; returns the index after it.
#[inline]
pub(crate) fn literal(b: &[u8], i: usize, word: &[u8]) -> Read<usize> {
    let end = i + word.len();
    match b.get(i..end) {
        Some(w) if w == word => Ok(end),
        Some(_) => Err(Miss::Decline),
        None => Err(Miss::Incomplete),
    }
}

/// A number's end and its classifier bits (`INT` (with `WIDE` beyond ±2^53), `BIGINT`,
/// `FLOAT`, `HUGE` or `CHANGED`), with the `i64` value when it is an `INT`. Checks JSON's grammar as the classifier
/// does.
pub(crate) fn number(b: &[u8], start: usize) -> Read<(usize, u16, i64)> {
    let neg = b[start] == b'-';
    let int_start = start + usize::from(neg);
    let mut i = int_start;
    let mut value: u64 = 0;
    // Eighteen digits cannot overflow a u64: most numbers end here, unchecked.
    while i - int_start < 18 {
        match byte(b, i)? {
            c @ b'0'..=b'9' => value = value * 10 + u64::from(c - b'0'),
            _ => break,
        }
        i += 1;
    }
    let mut overflow = false;
    while let c @ b'0'..=b'9' = byte(b, i)? {
        let next = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')));
        overflow |= next.is_none();
        value = next.unwrap_or(0);
        i += 1;
    }
    if i == int_start || (b[int_start] == b'0' && i - int_start > 1) {
        return Err(Miss::Decline);
    }
    let mut float = false;
    if byte(b, i)? == b'.' {
        i = digits(b, i + 1)?;
        float = true;
    }
    if matches!(byte(b, i)?, b'e' | b'E') {
        i += 1;
        if matches!(byte(b, i)?, b'+' | b'-') {
            i += 1;
        }
        i = digits(b, i)?;
        float = true;
    }
    if float {
        return Ok((i, float_bits(&b[start..i]), 0));
    }
    let signed = if neg {
        -i128::from(value)
    } else {
        i128::from(value)
    };
    match i64::try_from(signed) {
        Ok(v) if !overflow => Ok((i, int_bits(v), v)),
        _ => Ok((i, bits::BIGINT, 0)),
    }
}

/// The end of a non-empty run of digits from `i`.
fn digits(b: &[u8], start: usize) -> Read<usize> {
    let mut i = start;
    while byte(b, i)?.is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return Err(Miss::Decline);
    }
    Ok(i)
}

/// Reads the string whose opening quote is at `b[i - 1]`, appending its unescaped content to
/// `out`; returns the index after the closing quote and whether it had escapes.
#[inline]
pub(crate) fn string(b: &[u8], mut i: usize, out: &mut Vec<u8>) -> Read<(usize, bool)> {
    let mut escaped = false;
    loop {
        let rest = b.get(i..).ok_or(Miss::Incomplete)?;
        let k = quote_or_escape(rest).ok_or(Miss::Incomplete)?;
        out.extend_from_slice(&rest[..k]);
        i += k;
        if b[i] == b'"' {
            return Ok((i + 1, escaped));
        }
        escaped = true;
        i = escape(b, i, out)?;
    }
}

/// Unescapes the escape at `b[i] == '\\'` into `out`; returns the index after it.
fn escape(b: &[u8], i: usize, out: &mut Vec<u8>) -> Read<usize> {
    let c = match byte(b, i + 1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => return unicode(b, i, out),
        _ => return Err(Miss::Decline),
    };
    out.push(c);
    Ok(i + 2)
}

/// `\uXXXX` at `b[i]`, or an escaped surrogate pair; a lone surrogate is declined (the
/// reference rejects it).
fn unicode(b: &[u8], i: usize, out: &mut Vec<u8>) -> Read<usize> {
    let high = hex4(b, i + 2)?;
    let (code, end) = if (0xD800..0xDC00).contains(&high) {
        if byte(b, i + 6)? != b'\\' || byte(b, i + 7)? != b'u' {
            return Err(Miss::Decline);
        }
        let low = hex4(b, i + 8)?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(Miss::Decline);
        }
        (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), i + 12)
    } else {
        (high, i + 6)
    };
    let c = char::from_u32(code).ok_or(Miss::Decline)?;
    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    Ok(end)
}

fn hex4(b: &[u8], i: usize) -> Read<u32> {
    let mut v = 0;
    for k in i..i + 4 {
        let d = char::from(byte(b, k)?).to_digit(16).ok_or(Miss::Decline)?;
        v = v << 4 | d;
    }
    Ok(v)
}

/// The classifier's bit for a string value (`DATE`, `TS` or `STR`), by its rules: every plain
/// string is looked at, also in a column that already held text, so a mix is warned of in
/// whichever order its values come.
#[inline]
pub(crate) fn string_bit(text: &[u8], escaped: bool, parse_dates: bool) -> u16 {
    if escaped {
        bits::STR
    } else {
        dated_bit(text, parse_dates).0
    }
}

/// [`string_bit`] of an unescaped string, with the days since 1970-01-01 of its date when the
/// bit is `DATE` or `TS`: the date is parsed once for both.
#[inline]
pub(crate) fn dated_bit(text: &[u8], parse_dates: bool) -> (u16, i32) {
    if parse_dates {
        dated(text)
    } else {
        (bits::STR, 0)
    }
}

/// Microseconds since the epoch of a `DATE` or `TS` string that [`dated`] accepted, whose
/// date is `days` since 1970-01-01, as arrow-cast computes them (a `TS` fraction has three or
/// six digits).
pub(crate) fn micros(s: &[u8], days: i32) -> i64 {
    let day = i64::from(days);
    if s.len() == 10 {
        return day * 86_400_000_000;
    }
    let two = |k: usize| i64::from(s[k] - b'0') * 10 + i64::from(s[k + 1] - b'0');
    let secs = day * 86_400 + two(11) * 3600 + two(14) * 60 + two(17);
    let mut frac = 0;
    let digits = s.get(20..).unwrap_or(&[]);
    for k in 0..6 {
        frac = frac * 10 + digits.get(k).map_or(0, |d| i64::from(d - b'0'));
    }
    secs * 1_000_000 + frac
}

#[cfg(test)]
mod tests {
    use super::same_bytes;
    use proptest::prelude::*;

    proptest! {
        /// The word-at-a-time comparison answers as `==` does, lengths that differ included.
        #[test]
        fn same_bytes_is_slice_equality(
            a in prop::collection::vec(0u8..4, 0..40),
            b in prop::collection::vec(0u8..4, 0..40),
        ) {
            prop_assert_eq!(same_bytes(&a, &b), a == b);
            prop_assert!(same_bytes(&a, &a.clone()));
        }
    }
}

#[cfg(test)]
mod written_back {
    use chrono::{NaiveDate, NaiveDateTime, Timelike};
    use proptest::prelude::*;

    use super::{bits, dated, micros};

    /// How converz writes a Timestamp(µs) back: a push and a CSV or NDJSON file alike
    /// (chrono's `%.f`: no fraction when it is zero, three digits for whole milliseconds, else
    /// six; `encode`'s tests check the push's).
    fn written(t: NaiveDateTime) -> [String; 1] {
        // A Timestamp(µs) holds microseconds.
        let t = t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap();
        [t.format("%Y-%m-%d %H:%M:%S%.f").to_string()]
    }

    /// A time-like spelling: a date (some not in the calendar), alone or with a clock after
    /// ` ` or `T`, a fraction of 0 to 9 digits (zeros often) and maybe a zone.
    fn spelling() -> impl Strategy<Value = String> {
        let date = (1u32..=9999, 1u32..=12, 1u32..=31, any::<bool>()).prop_map(|(y, m, d, low)| {
            // Low years too: `0001` must be written with its zeros.
            let y = if low { y % 30 + 1 } else { y };
            format!("{y:04}-{m:02}-{d:02}")
        });
        let digit = prop_oneof![3 => Just('0'), 2 => proptest::char::range('1', '9')];
        let clock = (
            prop::sample::select(vec![' ', 'T']),
            0u32..25,
            0u32..61,
            0u32..61,
            prop::collection::vec(digit, 0..=9),
            prop::sample::select(vec!["", "", "Z", "+01:00"]),
        )
            .prop_map(|(sep, h, m, s, fraction, zone)| {
                let fraction: String = fraction.into_iter().collect();
                let dot = if fraction.is_empty() { "" } else { "." };
                format!("{sep}{h:02}:{m:02}:{s:02}{dot}{fraction}{zone}")
            });
        (date, prop::option::of(clock)).prop_map(|(d, c)| d + &c.unwrap_or_default())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// A string is a date or a time exactly when every writer of converz spells its value
        /// back as the string itself, so a fetch pushed back sends what it got (outside trial
        /// 17 F6); the days and microseconds decoded are chrono's.
        #[test]
        fn dates_and_times_are_exactly_the_spellings_written_back(s in spelling()) {
            let (bit, days) = dated(s.as_bytes());
            let date = NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok();
            // chrono reads `:60` as a leap second, which no Timestamp holds.
            let time = NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .filter(|t| t.nanosecond() < 1_000_000_000);
            let date_back = date.is_some_and(|d| d.format("%Y-%m-%d").to_string() == s);
            let time_back = time.is_some_and(|t| written(t).iter().all(|w| *w == s));
            prop_assert_eq!(bit == bits::DATE, date_back, "{}", s);
            prop_assert_eq!(bit == bits::TS, time_back, "{}", s);
            if bit != bits::STR {
                prop_assert_eq!(bit & (bits::DATE | bits::TS), bit);
                let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
                let day = date.or(time.map(|t| t.date())).unwrap();
                prop_assert_eq!(i64::from(days), (day - epoch).num_days());
            }
            if let (bits::TS, Some(t)) = (bit, time) {
                prop_assert_eq!(micros(s.as_bytes(), days), t.and_utc().timestamp_micros());
            }
        }
    }
}
