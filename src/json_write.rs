//! Writing JSON text by hand, shared by the encoder (request bodies) and the emulator (rows):
//! strings escaped exactly as `serde_json` escapes them, dates and times digit by digit
//! (chrono's `format` parses its pattern on every call).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// A `fmt::Write` that appends what it is given JSON-escaped, without quotes: quote, backslash
/// and control characters, nothing else (non-ASCII stays as it is).
pub struct Escaped<'a>(pub &'a mut Vec<u8>);

impl std::fmt::Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let out = &mut *self.0;
        let bytes = text.as_bytes();
        // Most text needs no escaping. This check vectorises (a fold, no early exit); the loop
        // below does not.
        let needs_escape = bytes.iter().fold(false, |any, &b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if !needs_escape {
            out.extend_from_slice(bytes);
            return Ok(());
        }
        let mut plain = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0..=0x1f => {
                    out.extend_from_slice(&bytes[plain..i]);
                    out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                    plain = i + 1;
                    continue;
                }
                _ => continue,
            };
            out.extend_from_slice(&bytes[plain..i]);
            out.extend_from_slice(escape);
            plain = i + 1;
        }
        out.extend_from_slice(&bytes[plain..]);
        Ok(())
    }
}

/// Appends `text` as a JSON string.
pub fn push_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let _ = std::fmt::Write::write_str(&mut Escaped(out), text);
    out.push(b'"');
}

pub fn push_two_digits(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
}

/// `YYYY-MM-DD`, unquoted; years outside 0..=9999 as they are.
pub fn push_date(out: &mut Vec<u8>, date: NaiveDate) {
    let year = date.year();
    if (0..10_000).contains(&year) {
        push_two_digits(out, year as u32 / 100);
        push_two_digits(out, year as u32 % 100);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(year).as_bytes());
    }
    out.push(b'-');
    push_two_digits(out, date.month());
    out.push(b'-');
    push_two_digits(out, date.day());
}

/// `YYYY-MM-DD HH:MM:SS`, unquoted, without fractions.
pub fn push_datetime(out: &mut Vec<u8>, at: NaiveDateTime) {
    push_date(out, at.date());
    out.push(b' ');
    push_two_digits(out, at.hour());
    out.push(b':');
    push_two_digits(out, at.minute());
    out.push(b':');
    push_two_digits(out, at.second());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_serde_json_does() {
        for text in [
            "plain",
            "q\"b\\",
            "tab\tnl\n\u{1}\u{8}\u{c}\u{7f}",
            "café “x”",
            "",
        ] {
            let mut out = Vec::new();
            push_string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn dates_and_times_match_chrono() {
        let at = NaiveDate::from_ymd_opt(987, 3, 4)
            .unwrap()
            .and_hms_opt(5, 6, 7)
            .unwrap();
        let mut out = Vec::new();
        push_datetime(&mut out, at);
        assert_eq!(out, at.format("%Y-%m-%d %H:%M:%S").to_string().as_bytes());
        let mut out = Vec::new();
        push_date(&mut out, NaiveDate::from_ymd_opt(12_345, 1, 2).unwrap());
        assert_eq!(out, b"12345-01-02");
    }
}
