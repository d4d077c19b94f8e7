//! A workaround for arrow-json 59 decoding escaped UTF-16 surrogate pairs wrongly: it joins the
//! halves with `|` where the carry of `+ 0x10000` matters, so `\uDBFF\uDFFF` (U+10FFFF) came
//! back as U+FFFFF, and so did every character from U+20000 up whose high half has bit 6 set
//! (half of the CJK extension planes, for one). Found by the differential fuzzing.
//!
//! Rows holding such an escape are copied with each escaped pair written as plain UTF-8 before
//! arrow-json sees them. Lone or malformed surrogates are left alone for arrow-json to reject.

use memchr::memchr;

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
