//! CSV as arrow-csv writes it, except that an empty string is written `""` and a null as an
//! empty field.
//!
//! arrow-csv's writer writes both as an empty field, and its options cannot quote one without
//! the other (its null text applies to every column; quoting all fields quotes every value). But
//! converz's own reader (`quoted.rs`), polars, pandas and R read an empty field as a null and
//! `""` as an empty string, and a push sends a null as "leave unchanged": a file converz wrote
//! and pushed back (a fetch's output, a stopped push's `NAME.remaining.csv`) would never set
//! its empty strings. So the fields are formatted here with the options arrow-csv uses
//! (`arrow_cast::display`, same null text, same timestamp format) and quoted by csv-core's own
//! rule for arrow-csv's settings, with two additions: a value that is not null but prints as
//! nothing is quoted, and so is every value of a text column.
//!
//! A text column's values are quoted (Python's `csv.QUOTE_NONNUMERIC` convention, R's
//! `write.csv`'s) because a reader infers a column's type from its values: the text `00050`
//! written bare was pushed back as the integer 50 (outside trial 15). converz's reader
//! ([`super::scan`]) reads a column whose every value is quoted as text, as written.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, Schema};

use super::quoted::Raw;

use super::sink::TIMESTAMP_FORMAT;
use crate::error::{Error, Result};

/// A CSV writer of record batches: a header before the first batch (when asked), `,` between
/// fields, `"` around fields that need it (a `,`, `"`, `\r` or `\n` inside, an empty
/// string, or any value of a text column), `""` for a quote inside, `\n` after each record.
pub(super) struct CsvWriter<W: Write> {
    out: W,
    /// The header is still to be written (before the first batch).
    header: bool,
    /// csv-core configured as arrow-csv configures it, asked only which fields need quotes.
    quoting: csv_core::Writer,
    /// One record's bytes, reused.
    line: Vec<u8>,
    /// One field's text, reused.
    text: String,
}

impl<W: Write> CsvWriter<W> {
    /// A writer into `out`; `header` writes the column names before the first batch.
    pub(super) fn new(out: W, header: bool) -> Self {
        Self {
            out,
            header,
            quoting: csv_core::WriterBuilder::new()
                .quote_style(csv_core::QuoteStyle::Necessary)
                .build(),
            line: Vec::with_capacity(1024),
            text: String::with_capacity(256),
        }
    }

    /// Writes the header of `schema`, if still due.
    fn header(&mut self, schema: &Schema) -> Result<()> {
        if !self.header {
            return Ok(());
        }
        self.header = false;
        self.line.clear();
        for (i, field) in schema.fields().iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            push_field(&self.quoting, &mut self.line, field.name(), false);
        }
        self.end_record()
    }

    /// Appends the records of `from`, a CSV file this writer wrote under the first columns of
    /// `schema` (a narrower schema), byte for byte, with an empty field for each column it
    /// lacks; and the header of `schema` first, if still due. Read back as text and written
    /// again, a column of numbers would be quoted as text is.
    pub(super) fn copy_records(&mut self, from: &Path, schema: &Schema) -> Result<()> {
        self.header(schema)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Raw::new(File::open(from)?));
        let mut record = csv::ByteRecord::new();
        let mut header = true;
        while reader
            .read_byte_record(&mut record)
            .map_err(std::io::Error::from)?
        {
            let end = reader.position().byte();
            let start = record.position().map_or(end, csv::Position::byte);
            if !std::mem::take(&mut header) {
                let raw = reader.get_ref().bytes(start, end);
                let kept = raw.len()
                    - raw
                        .iter()
                        .rev()
                        .take_while(|b| matches!(b, b'\r' | b'\n'))
                        .count();
                self.line.clear();
                self.line.extend_from_slice(&raw[..kept]);
                let lacking = schema.fields().len().saturating_sub(record.len());
                self.line.extend(std::iter::repeat_n(b',', lacking));
                self.line.push(b'\n');
                self.out.write_all(&self.line)?;
            }
            reader.get_mut().forget(end);
        }
        Ok(())
    }

    /// Appends the rows of `batch` (and the header first, if still due).
    pub(super) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.header(&batch.schema())?;
        let options = FormatOptions::default()
            .with_null("")
            .with_timestamp_format(Some(TIMESTAMP_FORMAT));
        let mut columns = Vec::with_capacity(batch.num_columns());
        check_flat(&batch.schema())?;
        for array in batch.columns() {
            // Logical nulls: a dictionary's null values and a Null column's rows count too.
            columns.push((
                ArrayFormatter::try_new(array.as_ref(), &options)?,
                array.logical_nulls(),
                is_text(array.data_type()),
                array,
            ));
        }
        for row in 0..batch.num_rows() {
            self.line.clear();
            for (col, (formatter, nulls, text, array)) in columns.iter().enumerate() {
                if col > 0 {
                    self.line.push(b',');
                }
                if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    continue;
                }
                // A float as a push sends it (a number: never quoted); one not finite as
                // arrow-csv writes it.
                if crate::encode::put_float(array.as_ref(), row, &mut self.line) {
                    continue;
                }
                self.text.clear();
                formatter.value(row).write(&mut self.text).map_err(|e| {
                    ArrowError::CsvError(format!(
                        "Error processing row {}, col {}: {e}",
                        row + 1,
                        col + 1
                    ))
                })?;
                push_field(&self.quoting, &mut self.line, &self.text, *text);
            }
            self.end_record()?;
        }
        Ok(())
    }

    /// Ends the record in `line` and writes it out.
    fn end_record(&mut self) -> Result<()> {
        if self.line.is_empty() {
            // As csv-core does: a record of one empty field would be a blank line, which
            // readers skip, so it is written `""` and the row is kept.
            self.line.extend_from_slice(b"\"\"");
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        Ok(())
    }

    /// The output, after the last batch.
    pub(super) fn into_inner(self) -> W {
        self.out
    }
}

/// Refuses a nested column (lists, structs) by name, with what to do instead (outside trial
/// 19: arrow-csv's "Nested type List(Utf8) is not supported" named no column and came out as
/// a server-decode error). Not written as JSON text: `converz push` reads a CSV's JSON text
/// back as a string and would send the text where the server held a list.
pub(super) fn check_flat(schema: &Schema) -> Result<()> {
    let Some(field) = schema.fields().iter().find(|f| f.data_type().is_nested()) else {
        return Ok(());
    };
    let kind = match field.data_type() {
        DataType::Struct(_) => "objects",
        _ => "lists",
    };
    Err(Error::invalid(
        "output",
        format!(
            "column `{}` holds {kind} ({}), which a CSV file cannot hold: leave it out \
             with columns= naming the others, or write .parquet, .arrow or .ndjson, which \
             keep it",
            field.name(),
            field.data_type()
        ),
    ))
}

/// Copies `from`, a CSV file this writer wrote, into `out` with every bare non-empty field
/// of the columns `quote` marks (by position) quoted; the header and every other byte as
/// they are. A column that turns to text on a later page had its earlier pages written bare
/// (`1`, `2025-01-01 10:00:00`) before its first string was seen; read back, such a column
/// was typed by those values and pushed them re-spelled (outside trial 19: `"...:00.5"` sent
/// back as `...:00.500`). Quoted, every value of a column that ends as text reads as text.
///
/// The file is this writer's own: `,` between fields, `"` around a field with `""` for a quote
/// inside, `\n` after each record; so a byte scan that tracks quotes finds every field.
pub(super) fn requote(from: &Path, out: &mut impl Write, quote: &[bool]) -> Result<()> {
    let mut input = std::io::BufReader::with_capacity(1 << 20, File::open(from)?);
    let mut field = Vec::with_capacity(256);
    let (mut column, mut quoted, mut header) = (0_usize, false, true);
    let emit = |out: &mut dyn Write, field: &[u8], column: usize, header: bool| {
        let bare = !field.is_empty() && field[0] != b'"';
        if header || !bare || !quote.get(column).copied().unwrap_or(false) {
            return out.write_all(field);
        }
        // A bare field holds no quote (csv-core would have quoted it); doubled anyway.
        out.write_all(b"\"")?;
        for part in field.split_inclusive(|&b| b == b'"') {
            out.write_all(part)?;
            if part.last() == Some(&b'"') {
                out.write_all(b"\"")?;
            }
        }
        out.write_all(b"\"")
    };
    loop {
        let chunk = std::io::BufRead::fill_buf(&mut input)?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        for &b in chunk {
            if quoted {
                field.push(b);
                quoted = b != b'"';
                continue;
            }
            match b {
                b'"' => {
                    field.push(b);
                    quoted = true;
                }
                b',' | b'\n' => {
                    emit(out, &field, column, header)?;
                    field.clear();
                    out.write_all(&[b])?;
                    if b == b'\n' {
                        column = 0;
                        header = false;
                    } else {
                        column += 1;
                    }
                }
                _ => field.push(b),
            }
        }
        std::io::BufRead::consume(&mut input, n);
    }
    emit(out, &field, column, header)?;
    Ok(())
}

/// Whether a column of `data_type` holds text (a dictionary of text too).
pub(super) fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

/// Appends one non-null field: quoted when csv-core would quote it, when it is empty (so
/// that it reads back as an empty string, not a null), or when it is `text`.
fn push_field(quoting: &csv_core::Writer, line: &mut Vec<u8>, text: &str, always: bool) {
    let bytes = text.as_bytes();
    if !always && !bytes.is_empty() && !quoting.should_quote(bytes) {
        line.extend_from_slice(bytes);
        return;
    }
    line.push(b'"');
    for &b in bytes {
        if b == b'"' {
            line.push(b'"');
        }
        line.push(b);
    }
    line.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_array::{
        DictionaryArray, Float64Array, Int64Array, NullArray, StringArray,
        TimestampMillisecondArray,
    };

    use super::super::tests::batch;
    use super::*;

    fn written(batches: &[RecordBatch], header: bool) -> String {
        let mut writer = CsvWriter::new(Vec::new(), header);
        for b in batches {
            writer.write(b).unwrap();
        }
        String::from_utf8(writer.into_inner()).unwrap()
    }

    fn arrow_csv(batches: &[RecordBatch]) -> String {
        let mut writer = arrow_csv::WriterBuilder::new()
            .with_timestamp_format(TIMESTAMP_FORMAT.to_owned())
            .build(Vec::new());
        for b in batches {
            writer.write(b).unwrap();
        }
        String::from_utf8(writer.into_inner()).unwrap()
    }

    #[test]
    fn an_empty_string_is_quoted_and_a_null_is_an_empty_field() {
        let b = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]))),
            (
                "s",
                Arc::new(StringArray::from(vec![
                    Some(""),
                    None,
                    Some("a,b"),
                    Some("a\"b"),
                    Some("x\ny"),
                ])),
            ),
        ]);
        assert_eq!(
            written(&[b], true),
            "id,s\n1,\"\"\n2,\n3,\"a,b\"\n4,\"a\"\"b\"\n5,\"x\ny\"\n"
        );
    }

    #[test]
    fn other_fields_are_written_as_arrow_csv_writes_them() {
        let b = batch(vec![
            ("a,b", Arc::new(Int64Array::from(vec![Some(1), None]))),
            (
                "x",
                Arc::new(Float64Array::from(vec![Some(0.5), Some(1e20)])),
            ),
            (
                "t",
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_756_720_800_123),
                    Some(1_756_720_800_000),
                ])),
            ),
            ("n", Arc::new(NullArray::new(2))),
        ]);
        let ours = written(&[b.clone(), b.clone()], true);
        assert_eq!(ours, arrow_csv(&[b.clone(), b]));
        assert!(ours.contains("2025-09-01 10:00:00.123"), "{ours}");
    }

    #[test]
    fn a_dictionary_null_value_is_a_null_and_its_empty_value_an_empty_string() {
        let keys = arrow_array::Int32Array::from(vec![Some(0), Some(1), None]);
        let values = StringArray::from(vec![Some(""), None]);
        let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
        let b = batch(vec![
            ("d", Arc::new(dict)),
            ("k", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        ]);
        assert_eq!(written(&[b], false), "\"\",1\n,2\n,3\n");
    }

    #[test]
    fn a_header_is_written_once_and_only_when_asked() {
        let b = batch(vec![("s", Arc::new(StringArray::from(vec!["v"])))]);
        assert_eq!(written(&[b.clone(), b.clone()], true), "s\n\"v\"\n\"v\"\n");
        assert_eq!(written(&[b], false), "\"v\"\n");
    }

    #[test]
    fn every_value_of_a_text_column_is_quoted_and_no_other() {
        let keys = arrow_array::Int32Array::from(vec![0, 0, 0]);
        let dict =
            DictionaryArray::<Int32Type>::try_new(keys, Arc::new(StringArray::from(vec!["7"])))
                .unwrap();
        let b = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3]))),
            (
                "code",
                Arc::new(StringArray::from(vec![Some("00050"), None, Some("p\rq")])),
            ),
            ("d", Arc::new(dict)),
            (
                "x",
                Arc::new(Float64Array::from(vec![Some(0.5), None, Some(2.0)])),
            ),
        ]);
        assert_eq!(
            written(&[b], true),
            "id,code,d,x\n1,\"00050\",\"7\",0.5\n2,,\"7\",\n3,\"p\rq\",\"7\",2.0\n"
        );
    }
}
