//! The schema-specialised fast path: a page that starts with a known schema of primitive
//! columns is decoded row by row straight into Arrow buffers, expecting exactly the schema's
//! keys in the schema's order, with no tape and no per-value allocation.
//!
//! It must give what the reference path (classifier + arrow-json, `page.rs`) gives, batch for
//! batch: the same values, the same batch boundaries, and the same page column state
//! ([`Fields`], recorded value by value with the classifier's rules, so the fetch's schema
//! evolves identically). Anything else — a key out of order, missing or extra, a nested value,
//! a value the column's type would have to widen for, an escape it does not decode, invalid
//! UTF-8 or JSON — makes it decline, and [`PageDecoder`](super::PageDecoder) decodes the page
//! again the reference way from its retained chunks (or, for the pager's pages, which retain
//! none, the pager reads the page again). Declining is always correct, only slower.
//!
//! UTF-8 is checked once per column and batch (`column::strings`, as arrow would): bytes outside
//! strings must be ASCII JSON syntax anyway, and the checker also rejects offsets that split a
//! character, so two invalid halves cannot pass as one valid character. Text built as polars'
//! views is checked the same way (`column::string_views`), its short values in their views.

mod column;
mod scan;

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};

use super::framing::{decode_error, quote_or_escape, Sink};
use super::infer::{bits, Fields, Kind};
use super::page::fits;
use super::Snapshot;
use crate::views::{form_schema, Form};
use column::{Column, Values};
use scan::{literal, number, same_bytes, skip_ws, string, string_bit, Miss, Read};

/// A [`Sink`] decoding rows under a fixed primitive schema; see the module docs.
pub(crate) struct FastSink {
    snapshot: Arc<Snapshot>,
    /// The form text is built in: polars' views, or Utf8 ([`FastSink::new`]).
    form: Form,
    /// The batches' schema: the snapshot's, its text in `form`.
    schema: SchemaRef,
    parse_dates: bool,
    columns: Vec<Column>,
    /// What the page's values were, recorded as the classifier would have.
    seen: Fields,
    /// The columns in the order the page first showed each (a row may leave columns out, so
    /// that can differ from the schema's; the classifier lists a page's columns so).
    appeared: Vec<usize>,
    rows: usize,
    /// Rows in the batch being built.
    in_batch: usize,
    batch_size: usize,
    batches: Vec<RecordBatch>,
    /// An unescaped key.
    scratch: Vec<u8>,
    /// Each column's name as JSON writes it (escaped) followed by the quote that closes it in
    /// a row.
    quoted_keys: Vec<Vec<u8>>,
    /// Text bytes of each column in the batches finished so far.
    text_bytes: Vec<usize>,
}

/// A finished fast page: its batches, column state and row count.
pub(crate) type FastPage = (Vec<RecordBatch>, Fields, usize);

impl FastSink {
    /// A fast sink for pages decoded under `snapshot`, if its schema is one the fast path
    /// decodes: primitive columns, no user overrides.
    /// `text_sizes`: the bytes of a batch of text columns on an earlier page, by name (see
    /// `Shared::text_sizes`), to size their buffers. Text is built as polars' views when `form`
    /// is theirs, and as Utf8 otherwise (the page's `finish` converts it to another form).
    pub fn new(
        snapshot: &Arc<Snapshot>,
        parse_dates: bool,
        batch_size: usize,
        text_sizes: &[(Box<str>, usize)],
        form: Form,
    ) -> Option<Self> {
        let primitive = |k: &Kind| {
            use Kind::*;
            matches!(k, Null | Bool | Int | Float | Date | Timestamp | Str)
        };
        let eligible = !snapshot.fields.is_empty()
            && !snapshot.forced.iter().any(|&f| f)
            && snapshot.kinds.iter().all(primitive);
        if !eligible {
            return None;
        }
        let rows = batch_size.min(super::MAX_BATCH_ROWS);
        let columns = snapshot
            .schema
            .fields()
            .iter()
            .map(|f| {
                let last = text_sizes
                    .iter()
                    .find(|(name, _)| **name == **f.name())
                    .map_or(0, |&(_, n)| n);
                // An eighth more than the last page took: most pages then never grow. Growing
                // from empty moved a 20,000-row page's summaries ten times (`mremap`, each a
                // TLB flush on every core): 11% of a 1M-call fetch's CPU.
                let text = last / 8 * 9;
                Column::new(f.data_type(), rows, text, form == Form::Utf8View)
            })
            .collect::<Option<Vec<_>>>()?;
        let (form, schema) = match form {
            Form::Utf8View => (form, form_schema(&snapshot.schema, form)),
            _ => (Form::Utf8, Arc::clone(&snapshot.schema)),
        };
        let mut seen = Fields::default();
        for name in &snapshot.fields.names {
            seen.position_or_insert(name);
        }
        Some(Self {
            snapshot: Arc::clone(snapshot),
            form,
            schema,
            parse_dates,
            columns,
            seen,
            appeared: Vec::new(),
            rows: 0,
            in_batch: 0,
            batch_size,
            batches: Vec::new(),
            scratch: Vec::new(),
            // A name that needs escaping (an attribute named `q"n`) is matched as serde_json
            // escapes it, the way servers write it; another spelling is compared unescaped
            // (`key`). Outside trial 24: such a name sent every page to the reference.
            text_bytes: vec![0; snapshot.schema.fields().len()],
            quoted_keys: snapshot
                .fields
                .names
                .iter()
                .map(|n| {
                    let mut quoted = serde_json::to_vec(&**n).expect("a string serializes");
                    quoted.remove(0);
                    quoted
                })
                .collect(),
        })
    }

    /// The form its text columns are built in: polars' views, or Utf8.
    pub fn form(&self) -> Form {
        self.form
    }

    /// The decoded page, or `None` if its last batch failed to build (invalid UTF-8).
    pub fn finish(&mut self) -> Option<FastPage> {
        if self.rows == 0 {
            return Some((Vec::new(), Fields::default(), 0));
        }
        if self.appeared.is_empty() {
            // Every row was `{}`: the reference gives such a page one batch without columns.
            return None;
        }
        if self.in_batch > 0 {
            self.flush(false).ok()?;
        }
        let batches = std::mem::take(&mut self.batches);
        Some((batches, self.page_columns(), self.rows))
    }

    /// The page's column state as the classifier records it: the columns the page showed, in
    /// the order it first showed them.
    fn page_columns(&mut self) -> Fields {
        let seen = std::mem::take(&mut self.seen);
        if self.appeared.iter().copied().eq(0..seen.cols.len()) {
            return seen;
        }
        let mut columns = Fields::default();
        for &c in &self.appeared {
            let (i, _) = columns.position_or_insert(&seen.names[c]);
            columns.cols[i] = seen.cols[c].clone();
        }
        columns
    }

    /// The text bytes of a batch of each text column on this page of `rows` rows, by name: a
    /// page shorter than a batch (small pages) counts as the batch, since the next page is
    /// likely as short.
    pub fn text_sizes(&self, rows: usize) -> Vec<(Box<str>, usize)> {
        let names = &self.snapshot.fields.names;
        let batch = rows.min(self.batch_size);
        self.columns
            .iter()
            .zip(&self.text_bytes)
            .zip(names)
            .filter(|((c, _), _)| matches!(c.values, Values::Str(..) | Values::View(..)))
            .map(|((_, &bytes), name)| (name.clone(), bytes.div_ceil(rows.max(1)) * batch))
            .collect()
    }

    fn flush(&mut self, more: bool) -> Result<(), ArrowError> {
        let rows = self.in_batch;
        for (c, total) in self.columns.iter().zip(&mut self.text_bytes) {
            if let Values::Str(_, data) | Values::View(_, data) = &c.values {
                *total += data.len();
            }
        }
        let arrays = self
            .columns
            .iter_mut()
            .map(|c| c.finish(rows, more))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Arc::clone(&self.schema);
        self.batches.push(RecordBatch::try_new(schema, arrays)?);
        self.in_batch = 0;
        Ok(())
    }

    /// Decodes the row at the start of `b`; returns its length.
    fn row(&mut self, b: &[u8]) -> Read<usize> {
        if self.in_batch >= self.batch_size {
            // Only now, with a row of the next batch in hand: a page that ends on a full batch
            // leaves no room allocated for one more.
            self.flush(true).map_err(|_| Miss::Decline)?;
        }
        let n = self.columns.len();
        let mut i = 1; // `{`: the splitter hands on `{` or `[` only
        if b[0] != b'{' {
            return Err(Miss::Decline);
        }
        // The next column a key may name: keys come in the schema's order, but a row may leave
        // any column out (a custom attribute set on some calls only), which reads as null, as
        // in the reference (where an absent key records nothing in the column's state).
        let mut next = 0;
        i = skip_ws(b, i)?;
        if b[i] == b'}' {
            self.absent(next..n);
            return self.row_done(i + 1);
        }
        loop {
            if b[i] != b'"' {
                return Err(Miss::Decline);
            }
            let (c, end) = self.key(next, b, i + 1)?;
            self.absent(next..c);
            i = skip_ws(b, end)?;
            if b[i] != b':' {
                return Err(Miss::Decline);
            }
            i = skip_ws(b, i + 1)?;
            i = self.value(c, b, i)?;
            i = skip_ws(b, i)?;
            next = c + 1;
            match b[i] {
                b',' if next < n => i = skip_ws(b, i + 1)?,
                b'}' => {
                    self.absent(next..n);
                    return self.row_done(i + 1);
                }
                _ => return Err(Miss::Decline),
            }
        }
    }

    /// Counts the row just decoded, `len` bytes long.
    fn row_done(&mut self, len: usize) -> Read<usize> {
        self.rows += 1;
        self.in_batch += 1;
        Ok(len)
    }

    /// Columns `range` are absent from the row: each gets a null.
    #[inline]
    fn absent(&mut self, range: std::ops::Range<usize>) {
        for c in range {
            self.columns[c].push_null();
        }
    }

    /// The column at or after `next` that the key starting at `b[i]` (after its quote) names,
    /// and the index after the key's closing quote. Column `next` is tried first with one
    /// comparison (rows usually have every column); a key that names no column from `next` on
    /// (unknown, repeated or out of order) declines.
    #[inline]
    fn key(&mut self, next: usize, b: &[u8], i: usize) -> Read<(usize, usize)> {
        let expected = self.quoted_keys.get(next).ok_or(Miss::Decline)?;
        if let Some(key) = b.get(i..i + expected.len()) {
            if same_bytes(key, expected) {
                return Ok((next, i + expected.len()));
            }
        }
        // Another column's key, this one's escaped (never sent by the API, but valid JSON), or
        // a row cut short (the string reports it): compare it unescaped.
        self.scratch.clear();
        let (end, _) = string(b, i, &mut self.scratch)?;
        let later = self.snapshot.fields.names[next..]
            .iter()
            .position(|name| name.as_bytes() == self.scratch.as_slice())
            .ok_or(Miss::Decline)?;
        Ok((next + later, end))
    }

    /// Decodes the value at `b[i]` into column `c`; returns the index after it.
    #[inline]
    fn value(&mut self, c: usize, b: &[u8], i: usize) -> Read<usize> {
        let col = &mut self.columns[c];
        let (end, bit) = match (&mut col.values, b[i]) {
            (_, b'n') => {
                let end = literal(b, i, b"null")?;
                col.push_null();
                return self.see(c, bits::NULL).map(|()| end);
            }
            (Values::Bool(v), b't' | b'f') => {
                let value = b[i] == b't';
                let word: &[u8] = if value { b"true" } else { b"false" };
                let end = literal(b, i, word)?;
                v.append(value);
                (end, bits::BOOL)
            }
            (Values::Int(v), b'-' | b'0'..=b'9') => match number(b, i)? {
                (end, bit, x) if bit & bits::INT != 0 => {
                    v.push(x);
                    (end, bit)
                }
                _ => return Err(Miss::Decline),
            },
            (Values::Float(v), b'-' | b'0'..=b'9') => {
                let (end, bit, _) = number(b, i)?;
                // arrow-json parses every number of a Float64 column with lexical-core.
                let x = lexical_core::parse::<f64>(&b[i..end]).map_err(|_| Miss::Decline)?;
                if bit & (bits::BIGINT | bits::HUGE | bits::CHANGED) != 0 {
                    return Err(Miss::Decline);
                }
                v.push(x);
                (end, bit)
            }
            (Values::Date(v), b'"') => {
                let (text, end) = plain_string(b, i + 1)?;
                let (bit, days) = scan::dated_bit(text, self.parse_dates);
                if bit != bits::DATE {
                    return Err(Miss::Decline);
                }
                v.push(days);
                (end, bits::DATE)
            }
            (Values::Ts(v), b'"') => {
                let (text, end) = plain_string(b, i + 1)?;
                let (bit, days) = scan::dated_bit(text, self.parse_dates);
                if bit & (bits::DATE | bits::TS) == 0 {
                    return Err(Miss::Decline);
                }
                v.push(scan::micros(text, days));
                (end, bit)
            }
            (Values::Str(offsets, data), b'"') => {
                let start = data.len();
                let (end, escaped) = string(b, i + 1, data)?;
                let bit = string_bit(&data[start..], escaped, self.parse_dates);
                offsets.push(i32::try_from(data.len()).map_err(|_| Miss::Decline)?);
                (end, bit)
            }
            (Values::View(views, data), b'"') => {
                let start = data.len();
                let (end, escaped) = string(b, i + 1, data)?;
                let bit = string_bit(&data[start..], escaped, self.parse_dates);
                Column::end_view(views, data, start).ok_or(Miss::Decline)?;
                (end, bit)
            }
            _ => return Err(Miss::Decline),
        };
        col.nulls.append_non_null();
        self.see(c, bit).map(|()| end)
    }

    /// Records that column `c` held a value of kind `bit`; declines when the page would no
    /// longer fit the schema it is decoded with (the reference re-decodes such pages).
    #[inline]
    fn see(&mut self, c: usize, bit: u16) -> Read<()> {
        let col = &mut self.seen.cols[c];
        if col.seen & bit != bit {
            if col.seen == 0 {
                self.appeared.push(c);
            }
            col.seen |= bit;
            if !fits(&self.snapshot, &self.seen) {
                return Err(Miss::Decline);
            }
        }
        Ok(())
    }
}

/// The body of the string starting at `b[i]` (after its quote), if it has no escape; returns
/// it and the index after the closing quote.
fn plain_string(b: &[u8], i: usize) -> Read<(&[u8], usize)> {
    let rest = b.get(i..).ok_or(Miss::Incomplete)?;
    let k = quote_or_escape(rest).ok_or(Miss::Incomplete)?;
    if rest[k] != b'"' {
        return Err(Miss::Decline);
    }
    Ok((&rest[..k], i + k + 1))
}

impl Sink for FastSink {
    fn element(&mut self, bytes: &[u8]) -> crate::Result<Option<usize>> {
        match self.row(bytes) {
            Ok(n) => Ok(Some(n)),
            Err(Miss::Incomplete) => {
                // The splitter hands the row again once it is whole: undo its first part.
                let rows = self.in_batch;
                self.columns.iter_mut().for_each(|c| c.truncate(rows));
                Ok(None)
            }
            // Not an error of the page: `PageDecoder` sees it and takes the reference path.
            Err(Miss::Decline) => Err(decode_error("the fast path declined this page")),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow_schema::DataType;

    use super::super::framing::Splitter;
    use super::super::infer::hint_fields;
    use super::*;

    /// A page's text buffers start at about the size the last page's took (an eighth more),
    /// instead of doubling up from empty; numbers are unaffected.
    #[test]
    fn text_buffers_start_at_the_size_the_last_page_took() {
        let hint = [
            ("id".to_owned(), DataType::Int64),
            ("s".to_owned(), DataType::Utf8),
        ];
        let snapshot = Arc::new(Snapshot::new(hint_fields(&hint).unwrap(), &[]));
        let mut first = FastSink::new(&snapshot, true, 100, &[], Form::Utf8).unwrap();
        let rows: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"id":{i},"s":"{}"}}"#, "x".repeat(40 + i)))
            .collect();
        let mut splitter = Splitter::default();
        splitter
            .feed(format!("[{}]", rows.join(",")).as_bytes(), &mut first)
            .unwrap();
        splitter.finish().unwrap();
        let (_, _, rows) = first.finish().unwrap();
        // 445 bytes over 10 rows: 45 a row, rounded up; the page was shorter than a batch.
        let sizes = first.text_sizes(rows);
        assert_eq!(sizes, [("s".into(), 450)]);
        let second = FastSink::new(&snapshot, true, 100, &sizes, Form::Utf8).unwrap();
        let Values::Str(_, text) = &second.columns[1].values else {
            panic!("column s is text");
        };
        assert!(text.capacity() >= 450, "{}", text.capacity());
        assert!(text.capacity() <= 450 * 5 / 4, "{}", text.capacity());
        // Had the page been longer than a batch, a batch's rows count: 445 bytes over 1,000
        // rows is 1 a row (rounded up), 100 for a 100-row batch.
        assert_eq!(first.text_sizes(1_000)[0].1, 100);
    }
}
