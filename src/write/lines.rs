//! The line of a file a byte is on, counted as an editor counts them: a line ends with `\n`,
//! `\r\n` or a lone `\r`, and a blank line is a line. The csv crate's record positions count
//! neither the blank lines it skips nor a `\r\n` as one end, so a message built on them named
//! an earlier line than the value's (outside trial 33 F3); messages count lines here instead.

/// The lines ended by the bytes counted so far.
#[derive(Clone, Copy, Default)]
pub(super) struct Lines {
    ended: u64,
    /// Whether the last byte counted is a `\r`, which ends a line alone or with a `\n`.
    after_cr: bool,
}

impl Lines {
    /// The line (1 first) of `byte`, the byte after those counted, which is then counted.
    pub(super) fn of(&mut self, byte: u8) -> u64 {
        if self.after_cr && byte != b'\n' {
            self.ended += 1;
        }
        let line = self.ended + 1;
        self.ended += u64::from(byte == b'\n');
        self.after_cr = byte == b'\r';
        line
    }

    /// Counts `bytes`, the bytes after those counted.
    pub(super) fn count(&mut self, bytes: &[u8]) {
        let Some(&first) = bytes.first() else {
            return;
        };
        if memchr::memchr(b'\r', bytes).is_some() {
            for &byte in bytes {
                self.of(byte);
            }
            return;
        }
        // No `\r` among them: every `\n` ends a line (the fast path of a file of `\n` ends).
        self.of(first);
        self.ended += memchr::memchr_iter(b'\n', &bytes[1..]).count() as u64;
    }

    /// The line of the first byte of `rest` (the bytes after those counted) that is not a
    /// line end: where a record starts, past the blank lines the csv crate skipped before it.
    pub(super) fn first_text(mut self, rest: &[u8]) -> u64 {
        for &byte in rest {
            let line = self.of(byte);
            if !matches!(byte, b'\r' | b'\n') {
                return line;
            }
        }
        self.ended + 1 + u64::from(self.after_cr)
    }
}

/// The lines a field's value ends (a quoted field may hold line ends): `\n`, `\r\n` and a
/// lone `\r` one each, a `\r` last too.
pub(super) fn ended_in(value: &[u8]) -> u64 {
    let mut lines = Lines::default();
    lines.count(value);
    lines.ended + u64::from(lines.after_cr)
}

/// The line each field of a record starts on: the record's first line, plus the line ends
/// inside the fields before it (outside trial 34 F4: a value after a quoted field of three
/// lines was named on the record's first line).
pub(super) struct FieldLines {
    /// Per field, its line; empty when the record is on one line.
    lines: Vec<u64>,
    first: u64,
}

impl FieldLines {
    /// For a record of `fields` starting on line `first`.
    pub(super) fn new<'a>(first: u64, fields: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut lines = Vec::new();
        let mut line = first;
        for (i, field) in fields.enumerate() {
            let ended = if memchr::memchr2(b'\r', b'\n', field).is_some() {
                ended_in(field)
            } else {
                0
            };
            if ended > 0 && lines.is_empty() {
                lines.extend(std::iter::repeat_n(first, i + 1));
            } else if !lines.is_empty() {
                lines.push(line);
            }
            line += ended;
        }
        Self { lines, first }
    }

    /// The line field `field` starts on.
    pub(super) fn of(&self, field: usize) -> u64 {
        // Past the fields read (a short record): the last one's.
        let line = self.lines.get(field).or(self.lines.last());
        line.copied().unwrap_or(self.first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each byte's line, counted one at a time and in slices cut anywhere, is the line an
    /// editor shows it on: `\r\n` is one end, a lone `\r` another.
    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr() {
        let text = b"a\nb\r\nc\rd\r\r\ne\n\nf";
        let expected = [1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8];
        let mut lines = Lines::default();
        let got: Vec<u64> = text.iter().map(|&b| lines.of(b)).collect();
        assert_eq!(got, expected);
        for cut in 0..=text.len() {
            let mut lines = Lines::default();
            lines.count(&text[..cut]);
            let got: Vec<u64> = text[cut..].iter().map(|&b| lines.of(b)).collect();
            assert_eq!(got, expected[cut..], "cut at {cut}");
        }
        let mut lines = Lines::default();
        lines.count(b"x\n");
        assert_eq!(lines.first_text(b"\r\n\n\rq"), 5);
        assert_eq!(lines.first_text(b""), 2);
        lines.count(b"\r");
        assert_eq!(lines.first_text(b""), 3);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Files of records ended by `\n`, `\r\n` or `\r`, blank lines between them, quoted
        /// fields holding line ends, large enough to be forgotten in part: each record read
        /// by the csv crate is placed on the line it starts on.
        #[test]
        fn each_record_is_placed_on_its_line(
            records in proptest::collection::vec(
                (
                    proptest::collection::vec("[a-z]{1,3}|\"[a-z\r\n]{0,4}\"", 1..4),
                    0..3usize,
                    0..3usize,
                ),
                1..60,
            ),
            padding in 0..3usize,
        ) {
            use std::io::Read as _;
            const ENDS: [&str; 3] = ["\n", "\r\n", "\r"];
            let mut file = String::new();
            let mut starts = Vec::new();
            // Lines before the next byte written, counted on the text as built.
            let ended = |text: &str| text.replace("\r\n", "\n").matches(['\r', '\n']).count() as u64;
            for (fields, blank, end) in &records {
                for _ in 0..*blank {
                    file.push_str(ENDS[*end]);
                }
                starts.push(ended(&file) + 1);
                // A long field now and then, so that `Raw` forgets bytes on the way.
                let long = "x".repeat(if padding == 0 { 0 } else { 40_000 });
                file.push_str(&fields.join(","));
                file.push_str(&long);
                file.push_str(ENDS[*end]);
            }
            let raw = super::super::quoted::Raw::new(std::io::Cursor::new(file.clone().into_bytes()));
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(raw);
            let mut row = csv::ByteRecord::new();
            let mut got = Vec::new();
            while reader.read_byte_record(&mut row).unwrap() {
                let end = reader.position().byte();
                let start = row.position().unwrap().byte();
                got.push(reader.get_mut().line_of(start));
                reader.get_mut().forget(end);
            }
            let _ = reader.into_inner().read(&mut [0u8; 1]);
            proptest::prop_assert_eq!(got, starts);
        }
    }

    #[test]
    fn each_field_starts_after_the_line_ends_of_the_fields_before_it() {
        let fields: [&[u8]; 5] = [b"1", b"a\nb\r\nc", b"x", b"p\rq", b"z"];
        let at = FieldLines::new(7, fields.into_iter());
        let got: Vec<u64> = (0..5).map(|i| at.of(i)).collect();
        assert_eq!(got, [7, 7, 9, 9, 10]);
        let flat = FieldLines::new(3, [&b"a"[..], b"b"].into_iter());
        assert_eq!((flat.of(0), flat.of(1), flat.of(5)), (3, 3, 3));
    }
}
