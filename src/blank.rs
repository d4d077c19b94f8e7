//! Text that shows nothing. No rep is named so, and no filter value matches such text: a rep
//! id of a zero-width space alone was pushed, and came back "not found" (outside trial 76 F2),
//! and a filter of one asked the API for nothing (outside trial 77 F3).

/// Whether `text` shows nothing: empty, or only white space, control characters and the
/// characters drawn as nothing (zero-width spaces and joiners, the byte order mark, soft
/// hyphens, fillers, variation selectors, tags).
pub fn is_blank(text: &str) -> bool {
    text.chars().all(shows_nothing)
}

/// Whether `c` alone shows nothing: white space, a control character, or one drawn as nothing.
pub fn shows_nothing(c: char) -> bool {
    c.is_whitespace() || c.is_control() || draws_nothing(c)
}

/// Unicode's default-ignorable code points, the format controls that join or annotate other
/// characters, and the fillers drawn as blank space (outside trial 77 F4).
fn draws_nothing(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{13430}'..='\u{13438}'
            | '\u{16FE4}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::is_blank;

    #[test]
    fn text_that_shows_nothing_is_blank_and_text_that_shows_something_is_not() {
        let blank = [
            "",
            " ",
            "\t\n",
            "\u{3000}",
            "\u{200B}",
            "\u{FEFF}\u{200D}",
            "\u{1F}",
        ];
        let blank = blank
            .iter()
            .chain(&["\0", "\u{2800}", "\u{AD}", "\u{E0047}", "\u{16FE4}"]);
        for text in blank {
            assert!(is_blank(text), "{text:?}");
        }
        let shown = [
            "a",
            " a ",
            "\u{200B}anna",
            "\u{1F600}",
            "\u{301}",
            "\u{600}",
            "\u{E000}",
        ];
        for text in shown {
            assert!(!is_blank(text), "{text:?}");
        }
    }
}
