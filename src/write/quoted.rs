//! CSV fields written `""`: an empty string, where an empty field is a null. polars, pandas
//! (`quoting`) and R write a missing value as an empty field and an empty string as `""`;
//! arrow-csv strips the quotes and reads both as null, which a push sends as "leave
//! unchanged", so the empty string was never set. This module finds the `""` fields of text
//! columns in the raw bytes (neither arrow-csv nor the csv crate says which fields were
//! quoted) and puts the empty strings back into the batches read.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, SchemaRef};

use super::lines::Lines;
use super::tokens::{is_plain_text, MISSING};
use crate::error::Result;

/// The data rows (0 for the first row after the header) where each column of a file holds
/// `""`, for the text columns of `schema` (whose fields are the header's, in order).
pub(super) struct EmptyStrings {
    /// Per schema field: its rows written `""`, ascending; empty for other columns.
    rows: Vec<VecDeque<u64>>,
    /// Rows of the batches handed out so far.
    seen: u64,
}

/// Where a tokenizer stands, following csv-core (which arrow-csv reads with): `,` between
/// fields, `"` quotes with `""` for a quote inside, a record ended by `\r`, `\n` or both, and
/// blank lines skipped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    StartRecord,
    StartField,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field's end, or the first of `""`.
    QuoteInQuoted,
}

impl EmptyStrings {
    /// Scans `path`; `None` when no text column holds `""`.
    pub(super) fn scan(path: &Path, schema: &SchemaRef) -> Result<Option<Self>> {
        let text = text_columns(schema);
        if !text.contains(&true) {
            return Ok(None);
        }
        let mut rows = vec![VecDeque::new(); text.len()];
        let mut mark = |record: u64, field: usize| {
            // Record 0 is the header.
            if record > 0 && text.get(field) == Some(&true) {
                rows[field].push_back(record - 1);
            }
        };
        let mut reader = BufReader::new(File::open(path)?);
        let mut chunk = vec![0_u8; 64 * 1024];
        let mut tokens = Tokenizer::default();
        loop {
            let n = reader.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            tokens.feed(&chunk[..n], &mut mark);
        }
        tokens.end(&mut mark);
        Ok(Self::found(rows))
    }

    /// The `rows` (per field, ascending) found written `""`; `None` when there are none.
    pub(super) fn found(rows: Vec<VecDeque<u64>>) -> Option<Self> {
        rows.iter()
            .any(|r| !r.is_empty())
            .then_some(Self { rows, seen: 0 })
    }

    /// `self` for the text columns of `schema` only (`None` when none of those holds `""`).
    pub(super) fn of_text(mut self, schema: &SchemaRef) -> Option<Self> {
        for (rows, text) in self.rows.iter_mut().zip(text_columns(schema)) {
            if !text {
                rows.clear();
            }
        }
        Self::found(self.rows)
    }

    /// `batch` (the next rows of the file) with `""` for each null written `""`.
    pub(super) fn restore(
        &mut self,
        batch: RecordBatch,
    ) -> std::result::Result<RecordBatch, ArrowError> {
        let (start, end) = (self.seen, self.seen + batch.num_rows() as u64);
        self.seen = end;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for (i, rows) in self.rows.iter_mut().enumerate() {
            let here = take_batch_rows(rows, start, end);
            if here.is_empty() {
                continue;
            }
            let Some(strings) = columns[i].as_any().downcast_ref::<StringArray>() else {
                continue;
            };
            let mut at = here.into_iter().peekable();
            let restored: StringArray = (0..strings.len())
                .map(|row| {
                    let empty = at.next_if_eq(&row).is_some();
                    if strings.is_valid(row) {
                        Some(strings.value(row))
                    } else if empty {
                        Some("")
                    } else {
                        None
                    }
                })
                .collect();
            columns[i] = Arc::new(restored);
        }
        RecordBatch::try_new(batch.schema(), columns)
    }
}

/// The `""` fields of a CSV file's text columns, found record by record as the file's one
/// csv-crate pass ([`super::scan`]) reads them: a record with an empty text field and a quote
/// is tokenized again from its raw bytes ([`Raw`]), since the csv crate does not say which
/// fields were quoted.
pub(super) struct Finder {
    text: Vec<bool>,
    rows: Vec<VecDeque<u64>>,
    /// Data records read so far.
    records: u64,
}

impl Finder {
    /// A finder for the fields `text` says are text; `None` when there are none.
    pub(super) fn new(text: Vec<bool>) -> Option<Self> {
        text.contains(&true).then(|| Self {
            rows: vec![VecDeque::new(); text.len()],
            text,
            records: 0,
        })
    }

    /// The next data record, as the csv crate read it, and its raw bytes.
    pub(super) fn record(&mut self, record: &csv::StringRecord, raw: &[u8]) {
        let row = self.records;
        self.records += 1;
        let empty = |(i, text): (usize, &bool)| *text && record.get(i) == Some("");
        if !self.text.iter().enumerate().any(empty) || memchr::memchr(b'"', raw).is_none() {
            return;
        }
        let (text, rows) = (&self.text, &mut self.rows);
        let mut mark = |record: u64, field: usize| {
            if record == 0 && text.get(field) == Some(&true) {
                rows[field].push_back(row);
            }
        };
        let mut tokens = Tokenizer::default();
        tokens.feed(raw, &mut mark);
        tokens.end(&mut mark);
    }

    /// Per field: whether any of its fields was written `""`.
    pub(super) fn fields_found(&self) -> Vec<bool> {
        self.rows.iter().map(|rows| !rows.is_empty()).collect()
    }

    /// What was found, for the text columns of `schema` (the file's, as settled).
    pub(super) fn finish(self, schema: &SchemaRef) -> Option<EmptyStrings> {
        EmptyStrings::found(self.rows)?.of_text(schema)
    }
}

/// A reader that keeps the bytes it has read since [`forget`](Self::forget) was last told,
/// so a record's raw bytes can be looked at once the csv crate has read it.
pub(super) struct Raw<R> {
    inner: R,
    kept: Vec<u8>,
    /// The file offset of `kept[0]`.
    start: u64,
    /// The lines ended before file offset `counted` (at or past `start`).
    lines: Lines,
    counted: u64,
}

impl<R: Read> Raw<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            kept: Vec::new(),
            start: 0,
            lines: Lines::default(),
            counted: 0,
        }
    }

    /// Where file offset `offset` is in `kept`.
    fn at(&self, offset: u64) -> usize {
        usize::try_from(offset - self.start).unwrap_or(usize::MAX)
    }

    /// The bytes from file offset `from` to `to`, read and kept.
    pub(super) fn bytes(&self, from: u64, to: u64) -> &[u8] {
        &self.kept[self.at(from)..self.at(to)]
    }

    /// The line (1 first) of the record the csv crate places at file offset `from` (before
    /// the blank lines it skipped): its first byte's, as an editor counts lines
    /// ([`Lines`]). Offsets are asked in order, each read and not forgotten.
    pub(super) fn line_of(&mut self, from: u64) -> u64 {
        self.count_to(from);
        self.lines.first_text(&self.kept[self.at(from)..])
    }

    fn count_to(&mut self, to: u64) {
        if to > self.counted {
            let bytes = &self.kept[self.at(self.counted)..self.at(to)];
            self.lines.count(bytes);
            self.counted = to;
        }
    }

    /// Drops the bytes before file offset `to` (once a megabyte has piled up: the copy is
    /// then rare), their lines counted.
    pub(super) fn forget(&mut self, to: u64) {
        let n = self.at(to);
        if n >= 1 << 20 {
            self.count_to(to);
            self.kept.drain(..n);
            self.start = to;
        }
    }
}

impl<R: Read> Read for Raw<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Per field of `schema`: whether it is text.
pub(super) fn text_columns(schema: &SchemaRef) -> Vec<bool> {
    schema
        .fields()
        .iter()
        .map(|f| f.data_type() == &DataType::Utf8)
        .collect()
}

/// Per field of `schema`: whether it may hold `""` fields: text, or a column arrow-csv found
/// no value in (Null), which is text if it holds some.
pub(super) fn text_or_empty_columns(schema: &SchemaRef) -> Vec<bool> {
    schema
        .fields()
        .iter()
        .map(|f| matches!(f.data_type(), DataType::Utf8 | DataType::Null))
        .collect()
}

/// The `""` fields of CSV bytes fed in order, told as (record, field), record 0 first.
pub(super) struct Tokenizer {
    state: State,
    record: u64,
    field: usize,
    /// Whether the quoted field read holds anything.
    content: bool,
    /// The lines of the bytes read.
    lines: Lines,
    /// The line where the quoted field read opened.
    opened_at: u64,
    /// Why the bytes are not a CSV file whose fields csv-core reads as written, once found
    /// ([`Tokenizer::malformed`]).
    malformed: Option<String>,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self {
            state: State::StartRecord,
            record: 0,
            field: 0,
            content: false,
            lines: Lines::default(),
            opened_at: 0,
            malformed: None,
        }
    }
}

impl Tokenizer {
    /// The next bytes; `found` is told each `""` field they end.
    pub(super) fn feed(&mut self, bytes: &[u8], found: &mut impl FnMut(u64, usize)) {
        for &byte in bytes {
            let line = self.lines.of(byte);
            if self.state == State::StartRecord {
                if matches!(byte, b'\r' | b'\n') {
                    continue;
                }
                self.field = 0;
                self.state = State::StartField;
            }
            let end = matches!(byte, b'\r' | b'\n');
            self.state = match (self.state, byte) {
                (State::StartField, b'"') => {
                    self.content = false;
                    self.opened_at = line;
                    State::Quoted
                }
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => {
                    self.content = true;
                    State::Quoted
                }
                (State::QuoteInQuoted, b'"') => {
                    self.content = true;
                    State::Quoted
                }
                (State::QuoteInQuoted, _) if end || byte == b',' => {
                    if !self.content {
                        found(self.record, self.field);
                    }
                    self.next(byte)
                }
                // Text after a closing quote is part of the field in csv-core's reading
                // (`"ab"c` is `abc`), which a push would send silently changed.
                (State::QuoteInQuoted, _) => {
                    // A quote that opened on an earlier line is more likely one never closed
                    // there, whose field ran on to the next quote (outside trial 35 F4).
                    let opened = match self.opened_at < line {
                        true => format!(
                            " that opened on line {}: a quote never closed there runs on to \
                             the next one",
                            self.opened_at
                        ),
                        false => String::new(),
                    };
                    self.malformed.get_or_insert_with(|| {
                        format!(
                            "line {line}: text follows the closing quote of a quoted field{opened} \
                             (a quote inside a quoted field is written twice: \"a \"\"b\"\" c\")"
                        )
                    });
                    State::Unquoted
                }
                (_, b',') => self.next(byte),
                (_, _) if end => self.next(byte),
                _ => State::Unquoted,
            };
        }
    }

    /// The end of the bytes: a last field written `""` without a line end.
    pub(super) fn end(&mut self, found: &mut impl FnMut(u64, usize)) {
        if self.state == State::QuoteInQuoted && !self.content {
            found(self.record, self.field);
        }
        // csv-core ends a quoted field that is never closed at the end of the file, so the
        // lines after its quote would be one value (outside trial 32 F2: three rows pushed as
        // one, the last two never updated).
        if self.state == State::Quoted {
            let opened_at = self.opened_at;
            self.malformed.get_or_insert_with(|| {
                format!(
                    "line {opened_at}: a quoted field opens here and is never closed, so every \
                     line after it would be read as part of its value"
                )
            });
        }
    }

    /// Why the bytes fed so far are not a CSV file read as written (a quote left open at the
    /// end, text after a closing quote), once found.
    pub(super) fn malformed(&self) -> Option<&str> {
        self.malformed.as_deref()
    }
}

/// A CSV file's bytes, checked on their way to arrow-csv for quotes csv-core would read
/// leniently (see [`Tokenizer::malformed`]): the read that meets one fails, naming its line.
pub(super) struct QuotesChecked<R> {
    inner: R,
    tokens: Tokenizer,
}

impl<R: Read> QuotesChecked<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            tokens: Tokenizer::default(),
        }
    }
}

impl<R: Read> Read for QuotesChecked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.tokens.end(&mut |_, _| {});
        } else {
            self.tokens.feed(&buf[..n], &mut |_, _| {});
        }
        match self.tokens.malformed() {
            Some(why) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{MALFORMED_QUOTES}: {why}"),
            )),
            None => Ok(n),
        }
    }
}

/// The words of the error for a file whose quotes do not close (`read_file` quotes its
/// message from them on, without arrow-csv's "Io error" before them).
pub(super) const MALFORMED_QUOTES: &str = "the CSV file's quotes are not closed as written";

impl Tokenizer {
    /// The state after a field's end (`,`) or a record's (`\r`, `\n`).
    fn next(&mut self, byte: u8) -> State {
        if byte == b',' {
            self.field += 1;
            State::StartField
        } else {
            self.record += 1;
            State::StartRecord
        }
    }
}

/// Which columns of a CSV file have every value quoted, found record by record as the file's
/// one csv-crate pass ([`super::scan`]) reads them. converz writes each value of a text
/// column quoted and numbers bare (as R's `write.csv` and Python's `csv.QUOTE_NONNUMERIC`
/// do): such a column is text, as written (`"00050"` stays `00050`). A file whose every value
/// is quoted (`csv.QUOTE_ALL`) says nothing by it, and its columns are typed as a bare file's.
///
/// R's `write.csv` quotes text but writes a missing value as a bare `NA` (outside trial 16:
/// `"00050"` beside a bare `NA` was read as the number 50). A bare word for a missing value
/// ([`MISSING`]) does not make a column not text: in a column found text it is a null, where
/// the same word quoted (`"NA"`) is the text it spells.
pub(super) struct Quoting {
    /// Per field: it is followed (no type given).
    followed: Vec<bool>,
    /// Per field: a column the API documents as text ([`Quoting::with_documented`]).
    documented: Vec<bool>,
    /// Per field: some value (not empty, not a bare word for a missing value) written bare.
    bare: Vec<bool>,
    /// Per field: some value written quoted (`""` too).
    quoted: Vec<bool>,
    /// Per field: some value written quoted that is not empty.
    quoted_value: Vec<bool>,
    /// Some value (not empty) written bare anywhere, a word for a missing value too: the file
    /// does not quote every value.
    any_bare: bool,
    /// Some value written bare anywhere that can only be text ([`is_plain_text`]): the file's
    /// writer quotes text only where it must, and writes a missing value as an empty field
    /// (pandas, polars, Excel), so a bare word for a missing value in it is the text it spells
    /// (outside trial 72 F2: pandas' `"Sales, EMEA"` beside the text `NA` lost the `NA`).
    bare_text: bool,
    /// Per field: the data rows (0 after the header) holding a bare word for a missing value,
    /// ascending, while the field has no other bare value (then it is not text, and its rows
    /// are dropped).
    words: Vec<VecDeque<u64>>,
    /// Data records read so far.
    records: u64,
    /// One record's fields, quoted or not (reused).
    fields: Vec<bool>,
}

impl Quoting {
    /// Follows the fields `followed` says (those with no type given: the user's type wins).
    pub(super) fn new(followed: Vec<bool>) -> Self {
        let n = followed.len();
        Self {
            followed,
            documented: vec![false; n],
            bare: vec![false; n],
            quoted: vec![false; n],
            quoted_value: vec![false; n],
            any_bare: false,
            bare_text: false,
            words: vec![VecDeque::new(); n],
            records: 0,
            fields: Vec::new(),
        }
    }

    /// Marks the fields the API documents as text: read as text whatever their quotes, so a
    /// bare word for a missing value in one is a missing value whenever the field holds no
    /// other bare value, also when it holds nothing else (R's `write.csv` of a text column that
    /// is NA on every row went out as the text NA: outside trial 71 F3, F4).
    pub(super) fn with_documented(mut self, documented: Vec<bool>) -> Self {
        self.documented = documented;
        self
    }

    /// Whether the rest of the file can tell nothing more: each field has a bare value.
    pub(super) fn is_done(&self) -> bool {
        !self.bare.contains(&false)
    }

    /// The next data record, as the csv crate read it, and its raw bytes.
    pub(super) fn record(&mut self, record: &csv::StringRecord, raw: &[u8]) {
        let row = self.records;
        self.records += 1;
        if self.is_done() {
            return;
        }
        let all_bare = memchr::memchr(b'"', raw).is_none();
        if !all_bare {
            quoted_fields(raw, &mut self.fields);
        }
        for (i, value) in record.iter().enumerate() {
            let quoted = !all_bare && self.fields.get(i) == Some(&true);
            if let Some(seen) = self.quoted.get_mut(i) {
                *seen |= quoted;
                self.quoted_value[i] |= quoted && !value.is_empty();
            }
            if quoted || value.is_empty() || i >= self.bare.len() {
                continue;
            }
            self.any_bare = true;
            self.bare_text = self.bare_text || is_plain_text(value);
            if self.bare[i] {
                continue;
            }
            if self.followed[i] && MISSING.contains(&value) {
                self.words[i].push_back(row);
            } else {
                self.bare[i] = true;
                self.words[i] = VecDeque::new();
            }
        }
    }

    /// Per field: whether it is text by its quotes (every value quoted but for bare words for
    /// a missing value, in a file with values written bare and no text written bare). A column of bare words and `""`
    /// alone is not: a writer that quotes text quotes a value, and `""` beside words is a
    /// missing value as they are (outside trial 15).
    pub(super) fn text(&self) -> Vec<bool> {
        (0..self.followed.len())
            .map(|i| {
                let words = !self.words[i].is_empty();
                // Where text is written bare, a bare word is a bare value like any other.
                if words && self.bare_text {
                    return false;
                }
                let by_quotes = self.any_bare
                    && self.followed[i]
                    && self.quoted[i]
                    && !self.bare[i]
                    && (!words || self.quoted_value[i]);
                by_quotes || (self.documented[i] && self.followed[i] && !self.bare[i] && words)
            })
            .collect()
    }

    /// The bare words for a missing value of the fields `text` says are text (as
    /// [`text`](Self::text) found them); `None` when they hold none.
    pub(super) fn bare_words(self, text: &[bool]) -> Option<BareWords> {
        let mut rows = self.words;
        for (rows, text) in rows.iter_mut().zip(text) {
            if !text {
                rows.clear();
            }
        }
        rows.iter()
            .any(|r| !r.is_empty())
            .then_some(BareWords { rows, seen: 0 })
    }
}

/// The rows of a CSV file's quoted text columns that hold a bare word for a missing value
/// (R's `NA`), which arrow-csv reads as the text it spells: each becomes a null.
pub(super) struct BareWords {
    /// Per field of the read schema: its rows holding a bare word, ascending.
    rows: Vec<VecDeque<u64>>,
    /// Rows of the batches handed out so far.
    seen: u64,
}

impl BareWords {
    /// `batch` (the next rows of the file) with a null for each bare word.
    pub(super) fn nullify(
        &mut self,
        batch: RecordBatch,
    ) -> std::result::Result<RecordBatch, ArrowError> {
        let (start, end) = (self.seen, self.seen + batch.num_rows() as u64);
        self.seen = end;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for (i, rows) in self.rows.iter_mut().enumerate() {
            let here = take_batch_rows(rows, start, end);
            if !here.is_empty() {
                let mut mask = vec![false; batch.num_rows()];
                here.into_iter().for_each(|row| mask[row] = true);
                let mask = arrow_array::BooleanArray::from(mask);
                columns[i] = arrow_select::nullif::nullif(columns[i].as_ref(), &mask)?;
            }
        }
        RecordBatch::try_new(batch.schema(), columns)
    }
}

/// Takes from `rows` (file rows, ascending) those before `end`, the end of a batch that starts
/// at file row `start`; returns the ones in the batch, as indexes into it. Rows before `start`
/// belong to batches already handed out and are dropped.
fn take_batch_rows(rows: &mut VecDeque<u64>, start: u64, end: u64) -> Vec<usize> {
    let mut here = Vec::new();
    while let Some(&row) = rows.front() {
        if row >= end {
            break;
        }
        rows.pop_front();
        if row >= start {
            here.push((row - start) as usize);
        }
    }
    here
}

/// Per field of one record's raw bytes (csv-core's reading, as [`Tokenizer`]'s): whether it
/// starts with a quote, into `out`.
pub(super) fn quoted_fields(raw: &[u8], out: &mut Vec<bool>) {
    out.clear();
    // A record starts after its line end; the `\n` of a `\r\n` the csv crate ended the last
    // record on (at its `\r`) is the first byte of the next one's span. Read as this record's
    // end, it left every field of a CRLF file unquoted, and a quoted column was typed by its
    // values (outside trial 37 F9: `"00050"` pushed as 50, a bare `NA` as the text NA).
    let raw = &raw[raw
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count()..];
    let (mut start, mut quoted, mut inside) = (true, false, false);
    for &byte in raw {
        if inside {
            // A quote ends the quoted part; `""` enters it again at once.
            inside = byte != b'"';
            continue;
        }
        match byte {
            b'"' if start || quoted => {
                (quoted, inside) = (true, true);
                start = false;
            }
            b',' => {
                out.push(quoted);
                (start, quoted) = (true, false);
            }
            b'\r' | b'\n' => break,
            _ => start = false,
        }
    }
    out.push(quoted);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(raw: &str) -> Vec<bool> {
        let mut out = Vec::new();
        quoted_fields(raw.as_bytes(), &mut out);
        out
    }

    #[test]
    fn a_record_after_a_crlf_line_end_is_told_from_its_first_field() {
        assert_eq!(quoted("\n\"a\",1,\"b\"\r"), [true, false, true]);
        assert_eq!(quoted("\r\n1,\"a\"\r\n"), [false, true]);
    }

    #[test]
    fn the_quoted_fields_of_a_record_are_told() {
        assert_eq!(quoted("1,\"a\",,\"\"\n"), [false, true, false, true]);
        assert_eq!(quoted("\"a,\"\"b\"\"\nc\",2\r\n"), [true, false]);
        assert_eq!(quoted("x\"y\",\"z\""), [false, true]);
        assert_eq!(quoted(""), [false]);
    }

    fn text_of(rows: &[&str]) -> Vec<bool> {
        let mut quoting = Quoting::new(vec![true, true, true]);
        let text = rows.concat();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        for (row, raw) in reader.records().zip(rows) {
            quoting.record(&row.unwrap(), raw.as_bytes());
        }
        quoting.text()
    }

    #[test]
    fn a_bare_word_for_a_missing_value_leaves_a_quoted_column_text_and_is_found() {
        // R's write.csv: text quoted, NA bare, numbers bare.
        let rows = ["1,\"00050\",NA\n", "2,NA,1.5\n", "3,\"NA\",NA\n"];
        let mut quoting = Quoting::new(vec![true, true, true]);
        let text = rows.concat();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        for (row, raw) in reader.records().zip(rows) {
            quoting.record(&row.unwrap(), raw.as_bytes());
        }
        let text = quoting.text();
        assert_eq!(text, [false, true, false]);
        // Only the bare NA of the text column (row 1), not the quoted one (row 2).
        let words = quoting.bare_words(&text).unwrap();
        assert_eq!(words.rows[1], [1]);
        assert!(words.rows[0].is_empty() && words.rows[2].is_empty());
        // A file of quoted text and bare NA alone is not QUOTE_ALL: the NA are written bare.
        assert_eq!(
            text_of(&["\"a\",NA,\"x\"\n", "NA,\"b\",\"y\"\n"]),
            [true; 3]
        );
        // Bare words and `""` alone are all missing: no quoted value says text.
        assert_eq!(
            text_of(&["1,NA,\"a\"\n", "2,\"\",\"b\"\n"]),
            [false, false, true]
        );
        // Any other bare value makes a column not text, whatever its words.
        assert_eq!(text_of(&["1,\"a\",NA\n", "2,b,NA\n"]), [false; 3]);
    }

    #[test]
    fn a_column_whose_every_value_is_quoted_is_text_where_others_are_bare() {
        // converz's (and R's) writing: the text column `b`, an empty one `c`.
        assert_eq!(
            text_of(&["1,\"00050\",\n", "2,,\n", "3,\"\",\n"]),
            [false, true, false]
        );
        // A bare value makes a column not so; an empty field does not.
        assert_eq!(text_of(&["1,\"5\",\"\"\n", "2,6,\n"]), [false, false, true]);
        // Every value quoted (QUOTE_ALL): the quotes tell nothing.
        assert_eq!(
            text_of(&["\"1\",\"5\",\"\"\n", "\"2\",,\"x\"\n"]),
            [false; 3]
        );
    }
}
