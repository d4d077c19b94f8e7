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
    let (Some(field), Some(line)) = (schema.fields().get(column), record_line(path, record)) else {
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

/// The line of `path` record `record` starts on (the header is record 0, on line 1 unless
/// blank lines come first), read as arrow-csv reads records, and its lines counted as an
/// editor does ([`super::lines`]), blank ones too (only when a read failed: the file is read
/// again up to it).
fn record_line(path: &Path, record: u64) -> Option<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(Raw::new(File::open(path).ok()?));
    let mut row = csv::ByteRecord::new();
    for i in 0..=record {
        if !reader.read_byte_record(&mut row).ok()? {
            return None;
        }
        let end = reader.position().byte();
        if i == record {
            let start = row.position().map_or(end, csv::Position::byte);
            return Some(reader.get_mut().line_of(start));
        }
        reader.get_mut().forget(end);
    }
    None
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
