//! Text from a server or a file, made safe for a log line: what a terminal would act on is
//! escaped. An ANSI escape sequence in an error body would otherwise recolour the terminal or
//! move its cursor when the log is printed (found by the outside trial); the Python layer
//! escapes errors and warnings the same way (`converz._printable`), and both spell an escaped
//! character as Python does (`\x1b`, `\u202e`): a message passes through both, and showed
//! `\u{1b}` beside `\x1b` (outside trial 15). Also the small spellings messages share: text
//! quoted as Python would take it back, and plural endings.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with control characters and bidirectional overrides escaped as Python's `repr`
/// spells them (`\n`, `\x1b`, `\u202e`); borrowed when there is none (the common case).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acted_on) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acted_on(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` in double quotes as a Python user can paste it back: quotes, backslashes and every
/// character that shows nothing (but a space) escaped as Python spells them (`"\u200b"`, not
/// Rust's `"\u{200b}"`: outside trial 78 F2).
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    spell(text, true, &mut out);
    out.push('"');
    out
}

/// `text` with every character that shows nothing (but a space) escaped as Python spells it,
/// for a name shown between backticks: a newline broke the message, and a zero-width space
/// showed as nothing (outside trial 79 F3).
pub fn spelled(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != ' ' && shown_escaped(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    spell(text, false, &mut out);
    Cow::Owned(out)
}

fn spell(text: &str, in_quotes: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' | '\\' if in_quotes => {
                out.push('\\');
                out.push(c);
            }
            ' ' => out.push(c),
            _ if shown_escaped(c) => escape(c, out),
            _ => out.push(c),
        }
    }
}

fn shown_escaped(c: char) -> bool {
    acted_on(c) || crate::blank::shows_nothing(c)
}

/// The plural ending of a noun counted `count` times, for messages ("1 null key", "2 null
/// keys").
pub fn plural(count: usize) -> &'static str {
    match count {
        1 => "",
        _ => "s",
    }
}

/// `c` as Python's `repr` spells it in a string.
fn escape(c: char, out: &mut String) {
    let code = u32::from(c);
    // Writing to a String cannot fail.
    let _ = match c {
        '\t' => out.write_str("\\t"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        _ if code < 0x100 => write!(out, "\\x{code:02x}"),
        _ if code < 0x1_0000 => write!(out, "\\u{code:04x}"),
        _ => write!(out, "\\U{code:08x}"),
    };
}

/// Control characters (C0, DEL, C1), line and paragraph separators, and the bidirectional
/// overrides and isolates that reorder the text after them on screen.
fn acted_on(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::printable;

    /// The table `converz._printable`'s tests read too: each side spells a character alike.
    #[test]
    fn what_a_terminal_acts_on_is_escaped_as_python_spells_it() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../tests/printable_cases.json")).unwrap();
        let cases = table["cases"].as_array().unwrap();
        assert!(cases.len() > 5);
        for case in cases {
            let (text, shown) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
            assert_eq!(printable(text), shown, "{text:?}");
        }
        assert!(matches!(
            printable("Café “ok” 😀"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn quoted_text_is_spelled_as_python_would_take_it_back() {
        let cases = [
            ("a b", r#""a b""#),
            ("\u{200b}", r#""\u200b""#),
            ("x\n\"y\\", r#""x\n\"y\\""#),
            ("\u{e0020}é", r#""\U000e0020é""#),
        ];
        for (text, shown) in cases {
            assert_eq!(super::quoted(text), shown, "{text:?}");
        }
    }
}
