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

/// Days from 1970-01-01 to 0000-03-01, the first day of the era [`quoted_epoch_days`] counts in.
const ERA_START: i32 = 719_468;
/// Days from 1970-01-01 to 9999-12-31.
const LAST_FOUR_DIGIT_DAY: i32 = 2_932_896;

/// `"YYYY-MM-DD"` (quotes included) of the day `days` after 1970-01-01, for 0000-03-01 to
/// 9999-12-31. Howard Hinnant's `civil_from_days` ("chrono-Compatible Low-Level Date
/// Algorithms"), in a March-based year so that the leap day is the year's last. Built in a
/// fixed array and copied once: eight pushes, each checking the capacity, cost a push of 1M
/// dates a tenth of its encoding time.
pub fn quoted_epoch_days(days: i32) -> Option<[u8; 12]> {
    if !(-ERA_START..=LAST_FOUR_DIGIT_DAY).contains(&days) {
        return None;
    }
    let z = (days + ERA_START) as u32; // days since 0000-03-01
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u32::from(month <= 2);
    let digit = |v: u32| b'0' + (v % 10) as u8;
    Some([
        b'"',
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
        b'"',
    ])
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

    #[test]
    fn epoch_days_match_chrono_on_every_day_they_write() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let (mut fast, mut reference) = (Vec::new(), Vec::new());
        // Every day of the four-digit years and a margin each side (those are refused).
        for days in -ERA_START - 70..=LAST_FOUR_DIGIT_DAY + 70 {
            fast.clear();
            reference.clear();
            let date = epoch + chrono::TimeDelta::days(days.into());
            let written = quoted_epoch_days(days);
            let in_range = (0..10_000).contains(&date.year()) && date >= first_day();
            assert_eq!(written.is_some(), in_range, "{date}");
            if let Some(text) = written {
                fast.extend_from_slice(&text);
                reference.push(b'"');
                push_date(&mut reference, date);
                reference.push(b'"');
                assert_eq!(fast, reference, "{days}");
            }
        }
    }

    fn first_day() -> NaiveDate {
        NaiveDate::from_ymd_opt(0, 3, 1).unwrap()
    }
}
