//! A workaround for arrow-json 59 decoding escaped UTF-16 surrogate pairs wrongly: it joins the
//! halves with `|` where the carry of `+ 0x10000` matters, so `\uDBFF\uDFFF` (U+10FFFF) came
//! back as U+FFFFF, and so did every character from U+20000 up whose high half has bit 6 set
//! (half of the CJK extension planes, for one). Found by the differential fuzzing.
//!
//! Rows holding such an escape are copied with each escaped pair written as plain UTF-8 before
//! arrow-json sees them. Lone or malformed surrogates are left alone for arrow-json to reject.

use std::io::{self, BufRead, Read};

use memchr::memchr;

/// A file of JSON lines as arrow-json should read it: each line holding an escaped pair copied
/// with the pair written as UTF-8. A push of an NDJSON file as Python's `json.dumps` and
/// pandas' `to_json` write them (every character past U+FFFF escaped as a pair) sent half of
/// those characters as others, keys and column names too (outside trial 77 F1).
pub(crate) struct PairsAsUtf8<R> {
    inner: R,
    /// The line being handed out, as read.
    line: Vec<u8>,
    /// The same line with its pairs as UTF-8, when it held any.
    fixed: Option<Vec<u8>>,
    /// Bytes of the line already handed out.
    at: usize,
}

impl<R: BufRead> PairsAsUtf8<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            line: Vec::new(),
            fixed: None,
            at: 0,
        }
    }

    fn current(&self) -> &[u8] {
        self.fixed.as_deref().unwrap_or(&self.line)
    }
}

impl<R: BufRead> BufRead for PairsAsUtf8<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at == self.current().len() {
            // An escape lies within a string, which no line end splits: a line at a time
            // finds each pair whole.
            self.line.clear();
            self.at = 0;
            self.inner.read_until(b'\n', &mut self.line)?;
            self.fixed = has_pair_escape(&self.line).then(|| {
                let mut fixed = Vec::with_capacity(self.line.len());
                unescape_pairs(&self.line, &mut fixed);
                fixed
            });
        }
        Ok(&self.current()[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.current().len());
    }
}

impl<R: BufRead> Read for PairsAsUtf8<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// True if `row` holds a `\uD800`–`\uDBFF` escape (the high half of a pair).
pub(crate) fn has_pair_escape(row: &[u8]) -> bool {
    let mut i = 0;
    while let Some(k) = memchr(b'\\', &row[i..]) {
        let j = i + k;
        if high_half(row, j).is_some() {
            return true;
        }
        // Skip the escaped byte too, so `\\uD83D` (an escaped backslash) is not a match.
        i = j + 2;
        if i >= row.len() {
            break;
        }
    }
    false
}

/// Copies `row` to `out` with every escaped surrogate pair written as UTF-8.
pub(crate) fn unescape_pairs(row: &[u8], out: &mut Vec<u8>) {
    let mut copied = 0;
    let mut i = 0;
    while let Some(k) = memchr(b'\\', &row[i..]) {
        let j = i + k;
        if let (Some(high), Some(low)) = (high_half(row, j), low_half(row, j + 6)) {
            let code = 0x1_0000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
            if let Some(c) = char::from_u32(code) {
                out.extend_from_slice(&row[copied..j]);
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                copied = j + 12;
                i = copied;
                continue;
            }
        }
        i = j + 2;
        if i >= row.len() {
            break;
        }
    }
    out.extend_from_slice(&row[copied.min(row.len())..]);
}

/// The code unit of a `\uXXXX` escape at `row[at]`, if there is one.
fn unit(row: &[u8], at: usize) -> Option<u16> {
    let esc = row.get(at..at + 6)?;
    if esc[0] != b'\\' || esc[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&esc[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

fn high_half(row: &[u8], at: usize) -> Option<u16> {
    unit(row, at).filter(|u| (0xD800..=0xDBFF).contains(u))
}

fn low_half(row: &[u8], at: usize) -> Option<u16> {
    unit(row, at).filter(|u| (0xDC00..=0xDFFF).contains(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_through_pairs_as_utf8_has_its_pairs_as_the_characters_they_escape() {
        let text =
            "{\"a\": \"\\ud842\\udfb7x\"}\n{\"\\udbff\\udfff\": 1}\n\n{\"b\": \"\\\\ud842\"}";
        let mut read = String::new();
        PairsAsUtf8::new(text.as_bytes())
            .read_to_string(&mut read)
            .unwrap();
        let want = "{\"a\": \"\u{20BB7}x\"}\n{\"\u{10FFFF}\": 1}\n\n{\"b\": \"\\\\ud842\"}";
        assert_eq!(read, want);
        // Read in pieces smaller than a line, every byte comes once, in order.
        let mut pieces = PairsAsUtf8::new(text.as_bytes());
        let (mut out, mut buf) = (Vec::new(), [0u8; 3]);
        while let Ok(n @ 1..) = pieces.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    fn fixed(row: &str) -> String {
        let mut out = Vec::new();
        unescape_pairs(row.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn pairs_become_utf8_and_nothing_else_changes() {
        assert!(has_pair_escape(br#"{"a":"x\uDBFF\uDFFF"}"#));
        assert!(!has_pair_escape(br#"{"a":"x\\uDBFF\n\u00e9"}"#));
        assert_eq!(
            fixed(r#"{"a":"x\uDBFF\uDFFFy"}"#),
            "{\"a\":\"x\u{10FFFF}y\"}"
        );
        assert_eq!(fixed(r#"{"a":"\ud83d\ude00"}"#), "{\"a\":\"😀\"}");
        // An escaped backslash before `uD83D`, a lone high half, a bad low half: unchanged.
        for same in [
            r#"{"a":"\\uD83D\\uDE00"}"#,
            r#"{"a":"\uD83D"}"#,
            r#"{"a":"\uD83D\u0041"}"#,
            r#"{"a":"\uD83D\"#,
        ] {
            assert_eq!(fixed(same), same);
        }
    }
}
