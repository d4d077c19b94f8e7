//! Text from a server or a file, made safe for a log line: what a terminal would act on is
//! escaped. An ANSI escape sequence in an error body would otherwise recolour the terminal or
//! move its cursor when the log is printed (found by the outside trial); the Python layer
//! escapes errors and warnings the same way (`converz._printable`).

use std::borrow::Cow;

/// `text` with control characters and bidirectional overrides shown as `\u{..}` escapes;
/// borrowed when there is none (the common case).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acted_on) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acted_on(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
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

    #[test]
    fn what_a_terminal_acts_on_is_escaped_and_the_rest_kept() {
        assert_eq!(printable("bad \u{1b}[2Jred"), "bad \\u{1b}[2Jred");
        assert_eq!(printable("a\u{202e}b\nc"), "a\\u{202e}b\\u{a}c");
        assert!(matches!(
            printable("Café “ok” 😀"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
