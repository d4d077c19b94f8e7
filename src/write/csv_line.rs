//! arrow-csv's errors for a value its column's type does not hold (`... for column 1 at line
//! 2`) name the column by its index and the value by its record, counted from 0 with the
//! header: a user looking at line 2 of the file found the record before it (outside trial), and
//! a field that spans lines moves every record after it further. [`with_file_line`] names the
//! column and the record's first line in the file (1 = the header) instead.

use std::fs::File;
use std::path::Path;

use arrow_schema::{ArrowError, Schema};

use super::quoted::Raw;

/// `err`, its column and record (`column C at line R`) named as the column's name and the
/// line the record starts on in `path`; any other error as it is.
pub(super) fn with_file_line(path: &Path, schema: &Schema, err: ArrowError) -> ArrowError {
    let ArrowError::ParseError(text) = &err else {
        return err;
    };
    let Some((span, column, record)) = column_and_record(text) else {
        return err;
    };
    let line = record_line(path, record, column);
    let (Some(field), Some(line)) = (schema.fields().get(column), line) else {
        return err;
    };
    // The row arrow-csv appends can be long, and the line now finds it.
    let head = &text[..span.0];
    let tail = &text[span.1..];
    let tail = tail
        .split_once(". Row data: ")
        .map_or(tail, |(before, _)| before);
    ArrowError::ParseError(format!(
        "{head}column `{}` at line {line}{tail}",
        field.name()
    ))
}

/// Where `column C at line R` is in `text`, and C and R.
fn column_and_record(text: &str) -> Option<((usize, usize), usize, u64)> {
    let start = text.find("column ")?;
    let rest = &text[start + "column ".len()..];
    let column_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let column = rest[..column_digits].parse().ok()?;
    let rest = rest[column_digits..].strip_prefix(" at line ")?;
    let record_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let record = rest[..record_digits].parse().ok()?;
    let end = text.len() - rest.len() + record_digits;
    Some(((start, end), column, record))
}

/// `"1 field"`, `"3 fields"` (outside trial 78 F3: "has 1 fields").
fn fields(count: usize) -> String {
    format!("{count} field{}", crate::printable::plural(count))
}

/// The line of `path` record `record` starts on (the header is record 0, on line 1 unless
/// blank lines come first), read as arrow-csv reads records, and its lines counted as an
/// editor does ([`super::lines`]), blank ones too (only when a read failed: the file is read
/// again up to it).
pub(super) fn record_line(path: &Path, record: u64, column: usize) -> Option<u64> {
    let mut reader = records(path)?;
    let mut row = csv::ByteRecord::new();
    for i in 0..=record {
        if !reader.read_byte_record(&mut row).ok()? {
            return None;
        }
        let end = reader.position().byte();
        if i == record {
            let start = row.position().map_or(end, csv::Position::byte);
            let first = reader.get_mut().line_of(start);
            return Some(super::lines::FieldLines::new(first, row.iter()).of(column));
        }
        reader.get_mut().forget(end);
    }
    None
}

/// Whether `text`, an error of arrow-csv or of the csv crate, is about a record's shape or
/// bytes: a count of fields unlike the header's, or bytes that are not UTF-8. Their line
/// numbers are the csv crate's (which skips blank lines and read a file of `\r\n` ends one
/// line short, of lone `\r` ends as line 1) or arrow-csv's count of records (outside trial 34
/// F2); [`first_bad_record`] finds the record itself.
pub(super) fn is_about_a_record(text: &str) -> bool {
    [
        "unequal lengths",
        "incorrect number of fields",
        "invalid UTF-8 data",
        "UTF-8 error while reading",
    ]
    .iter()
    .any(|words| text.contains(words))
}

/// The first record of `path` whose fields are not as many as the header's, or whose bytes
/// are not UTF-8, told with the line an editor shows it on (and, for a record that runs over
/// several lines, where its quote opened and what it took in).
pub(super) fn first_bad_record(path: &Path) -> Option<String> {
    let mut reader = records(path)?;
    let mut record = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    while reader.read_byte_record(&mut record).ok()? {
        let end = reader.position().byte();
        let start = record.position().map_or(end, csv::Position::byte);
        let line = reader.get_mut().line_of(start);
        let name = |i: usize| {
            header
                .as_ref()
                .and_then(|h| h.get(i))
                .map_or_else(String::new, |n| format!(" (`{n}`)"))
        };
        // Each field's own line: a quoted field before it may span lines (trial 35 F10).
        let at = super::lines::FieldLines::new(line, record.iter());
        if let Some(field) = record.iter().position(|f| std::str::from_utf8(f).is_err()) {
            return Some(format!(
                "line {}, field {}{}, is not UTF-8 text",
                at.of(field),
                field + 1,
                name(field)
            ));
        }
        let Some(names) = &header else {
            let names = record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned());
            header = Some(names.collect());
            reader.get_mut().forget(end);
            continue;
        };
        if record.len() > names.len() {
            // The first field past the header's, on its own line.
            return Some(format!(
                "line {} has {} where the header has {}",
                at.of(names.len()),
                fields(record.len()),
                names.len()
            ));
        }
        if record.len() != names.len() {
            let last = line + record.iter().map(super::lines::ended_in).sum::<u64>();
            let spans = match last > line {
                true => format!(
                    ": a quoted field opens on line {line} and runs to line {last}, taking in \
                     the separators and lines after its quote; close it, or double a quote \
                     inside it (`\"\"`)"
                ),
                false => String::new(),
            };
            return Some(format!(
                "line {line} has {} where the header has {}{spans}",
                fields(record.len()),
                names.len()
            ));
        }
        reader.get_mut().forget(end);
    }
    None
}

/// The records of `path` as arrow-csv reads them (the header the first, rows of any length),
/// their raw bytes kept for [`Raw::line_of`].
fn records(path: &Path) -> Option<csv::Reader<Raw<File>>> {
    let file = File::open(path).ok()?;
    Some(
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Raw::new(file)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_and_record_of_arrow_csvs_messages_are_found() {
        let primitive = "Error while parsing value 'x' as type 'Int64' for column 1 at line 2. \
                         Row data: '[1,x]'";
        let ((a, b), column, record) = column_and_record(primitive).unwrap();
        assert_eq!(
            (&primitive[a..b], column, record),
            ("column 1 at line 2", 1, 2)
        );
        let time = "Error parsing column 12 at line 30: Parser error: bad";
        let ((a, b), column, record) = column_and_record(time).unwrap();
        assert_eq!(
            (&time[a..b], column, record),
            ("column 12 at line 30", 12, 30)
        );
        assert!(column_and_record("column x at line 2").is_none());
        assert!(column_and_record("no such words").is_none());
    }
}
