//! The line of an NDJSON file a read failed on. arrow-json's errors name a field and a value
//! but no line (`whilst decoding field 'v': failed to parse "x" as Int64`), and its schema
//! inference parses line by line, so a line that is not JSON was told as `at line 1 column 21`
//! whichever line it was (outside trial 34 F3). Only when a read failed is the file read
//! again, a line at a time, to find the first line that fails the same way.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use arrow_schema::{ArrowError, SchemaRef};

/// `err` with the line of `path` it is about before it: the first line that is not one JSON
/// value, or (with the schema read with) that arrow-json cannot decode; `err` as it is when
/// no line fails alone or the file cannot be read again.
pub(super) fn with_line(path: &Path, schema: Option<&SchemaRef>, err: ArrowError) -> ArrowError {
    let Some((line, why)) = failing_line(path, schema) else {
        return err;
    };
    let said = match (why, err) {
        (Some(why), _) => why,
        (None, ArrowError::JsonError(said) | ArrowError::ParseError(said)) => said,
        (None, err) => err.to_string(),
    };
    ArrowError::JsonError(format!("line {line}: {said}"))
}

/// The first failing line (1 first; blank lines counted, as an editor shows them), and, for
/// a line that is not one JSON object, why not. With no schema, the lines' values go through
/// arrow-json's inference one at a time, so a value it refuses (a list of numbers and objects,
/// outside trial 36 F2) is named by its line too.
fn failing_line(path: &Path, schema: Option<&SchemaRef>) -> Option<(u64, Option<String>)> {
    let rows = Rows::new(path)?;
    let Some(schema) = schema else {
        let mut last = 0;
        let mut bad = None;
        let values = rows.map_while(|(line, row)| {
            last = line;
            match row {
                Ok(row) => Some(Ok::<_, ArrowError>(row.value)),
                Err(why) => {
                    bad = Some((line, Some(why)));
                    None
                }
            }
        });
        // Inference stops at the first value it refuses: the last one taken.
        let inferred = arrow_json::reader::infer_json_schema_from_iterator(values);
        return bad.or_else(|| inferred.err().map(|_| (last, None)));
    };
    let mut decoder = arrow_json::ReaderBuilder::new(Arc::clone(schema))
        .with_coerce_primitive(true)
        .build_decoder()
        .ok()?;
    for (line, row) in rows {
        let row = match row {
            Ok(row) => row,
            Err(why) => return Some((line, Some(why))),
        };
        if decoder
            .decode(&row.text)
            .and_then(|_| decoder.flush())
            .is_err()
        {
            return Some((line, None));
        }
    }
    None
}

/// The lines of an NDJSON file that are not blank, read again one at a time, each with its
/// number (1 first; blank lines counted) and its row, or why it is not one.
struct Rows {
    reader: BufReader<File>,
    line: u64,
}

/// A line that is one JSON object: its text and its value.
struct Row {
    text: Vec<u8>,
    value: serde_json::Value,
}

impl Rows {
    fn new(path: &Path) -> Option<Self> {
        let reader = BufReader::new(File::open(path).ok()?);
        Some(Self { reader, line: 0 })
    }
}

impl Iterator for Rows {
    type Item = (u64, Result<Row, String>);

    /// The next line that is not blank; `None` at the end or when the file cannot be read.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut text = Vec::new();
            if self.reader.read_until(b'\n', &mut text).ok()? == 0 {
                return None;
            }
            self.line += 1;
            if !text.iter().all(u8::is_ascii_whitespace) {
                return Some((self.line, row(text)));
            }
        }
    }
}

/// `text` as a row, or why it is not one JSON object.
fn row(text: Vec<u8>) -> Result<Row, String> {
    if let Err(err) = std::str::from_utf8(&text) {
        let at = err.valid_up_to() + 1;
        return Err(format!("not UTF-8 text (byte {at} of the line)"));
    }
    // Parsed as values are (a number out of range, `1e999`, is an error here; skipped
    // unparsed, it was not: outside trial 36 F1).
    match serde_json::from_slice::<serde_json::Value>(&text) {
        Err(err) => match python_float_word(&text, err.column()) {
            // A key has no null to leave it unchanged (outside trial 77 F6).
            Some((word, at)) if is_call_id_value(&text[..at]) => Err(format!(
                "call_id is {word}, {}: fix or drop that row",
                super::read::NO_CALL_ID
            )),
            Some((word, _)) => Err(format!(
                "{word} is no JSON value (Python's json.dumps writes a float NaN or infinity \
                 so): write null there to leave the value unchanged (None in Python), or \
                 write the number it stands for; json.dumps(..., allow_nan=False) refuses \
                 such a value"
            )),
            // serde_json stops at 128 levels; a push takes far fewer (outside trial 78 F3:
            // "recursion limit exceeded").
            None if err.to_string().starts_with("recursion limit exceeded") => Err(format!(
                "nests lists or objects more than 127 levels deep, and a push sends values \
                 nested at most {} levels deep (a fetch could not read them back): flatten \
                 it, or write the value as JSON text (a string)",
                crate::decode::MAX_DEPTH - 1
            )),
            None => {
                // Its own position is within the line (`at line 1 column 21`, or line 2 for
                // an object the line end cut short): left out.
                let said = err.to_string();
                let said = said
                    .rsplit_once(" at line ")
                    .map_or(&*said, |(what, _)| what);
                Err(format!("not one JSON value: {said}"))
            }
        },
        // Each line is one row, an object (outside trial 36 F2: `[1,2]` was named by its
        // value only).
        Ok(value) if !value.is_object() => Err("not a JSON object (each line is one row)".into()),
        Ok(value) => Ok(Row { text, value }),
    }
}

/// The word for a float that is no number which Python's `json.dumps` writes (`NaN`,
/// `Infinity`, `-Infinity`), where serde_json stopped at `column` (1 first) of `text`
/// (outside trial 76 F8: the line was told "not one JSON value: expected value").
fn python_float_word(text: &[u8], column: usize) -> Option<(&'static str, usize)> {
    let near = column.saturating_sub(2)..column.saturating_add(1);
    near.filter_map(|at| Some((text.get(at..)?, at)))
        .find_map(|(rest, at)| {
            ["NaN", "-Infinity", "Infinity"]
                .into_iter()
                .find(|word| rest.starts_with(word.as_bytes()))
                .map(|word| (word, at))
        })
}

/// Whether the value after `before` is the `call_id` field's (`..."call_id": `).
fn is_call_id_value(before: &[u8]) -> bool {
    before
        .trim_ascii_end()
        .strip_suffix(b":")
        .is_some_and(|key| key.trim_ascii_end().ends_with(b"\"call_id\""))
}

/// The line (1 first) of row `row` (0 first) of an NDJSON file: its `row`-th line that is not
/// blank, as arrow-json reads one row a line.
pub(super) fn row_line(path: &Path, row: usize) -> Option<u64> {
    let reader = BufReader::new(File::open(path).ok()?);
    let mut rows = 0;
    for (i, line) in reader.split(b'\n').enumerate() {
        if line.ok()?.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if rows == row {
            return u64::try_from(i + 1).ok();
        }
        rows += 1;
    }
    None
}
