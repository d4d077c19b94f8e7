//! Files back into record batches, streamed: for `converz push FILE`, for the copy a
//! [`FileWriter`](super::FileWriter) makes when its schema widens, and for sync's merges.
//!
//! Parquet and IPC carry their schema. CSV and NDJSON are inferred over the whole file (two
//! passes over the file, one batch in memory), with the types a user gave for some columns
//! (`converz push --schema code:string` keeps `00123`). Before a CSV or NDJSON file is read
//! into Arrow, its values are checked against the types they will be read with
//! ([`super::exact`]): a given type must keep each value whole, and times with a UTC offset
//! make their column zone-aware. A CSV column of numbers, booleans or times that holds words
//! for a missing value (`NA`) is read as that type ([`super::tokens`]); one pass over a CSV's
//! records settles both ([`super::scan`]). A CSV text field written `""` is an empty string, an empty
//! field a null ([`super::quoted`]); in a column whose values are quoted (text), a bare `NA` is a
//! null and a quoted `"NA"` the text, as R writes them. (A first column with an empty header,
//! R's row names or pandas' index, is refused with advice by the Python layer,
//! `_row_names.py`: it may also be data whose header was forgotten.) Columns the API documents as text (`rep_id`,
//! `vendor_call_id`, ...) are read as text unless typed.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::errors::ParquetError;

use super::lines::FieldLines;
use super::sink::read_error;
use super::{csv_line, exact, ndjson_line, scan, tokens, FileFormat};
use crate::encode::Target;
use crate::error::{Error, Result};

const BATCH_ROWS: usize = 8_192;

/// What to do with a Feather V1 file, which arrow reads only as "does not contain correct
/// footer" (outside trial).
const FEATHER_V1: &str = "it is a Feather V1 file (its first bytes are FEA1), which predates \
     Arrow IPC; write it again as Feather V2: pyarrow.feather.write_feather(table, path) or \
     pandas' df.to_feather(path)";

/// Whether the file at `path` starts with `magic`.
fn starts_with(path: &Path, magic: &[u8]) -> bool {
    use std::io::Read;
    let mut first = vec![0u8; magic.len()];
    File::open(path).is_ok_and(|mut file| file.read_exact(&mut first).is_ok()) && first == magic
}

/// Whether the file at `path` starts with Feather V1's magic bytes.
fn is_feather_v1(path: &Path) -> bool {
    starts_with(path, b"FEA1")
}

/// An NDJSON file that starts with a UTF-8 byte order mark, which JSON does not allow
/// (outside trial 21b, F13: Notepad and PowerShell write one; the error was "expected value at
/// line 1 column 1").
const NDJSON_BOM: &str = "it starts with a UTF-8 byte order mark (Notepad and PowerShell write \
     one), which JSON does not allow; save it as UTF-8 without a BOM (PowerShell 7: \
     -Encoding utf8NoBOM)";

/// A Parquet file compressed with brotli, which this build does not read (F13: the error named
/// a "feature disabled at compile time").
const BROTLI: &str = "it is compressed with brotli, which converz does not read; write it \
     again with zstd (the default of polars and pyarrow) or snappy";

/// What a `call_id` value that is no integer of int64 is told, wherever a file holds one.
pub(super) const NO_CALL_ID: &str =
    "which is no call's id (an integer from -9223372036854775808 to 9223372036854775807)";

/// Columns the API documents as text (ids and labels): read from CSV and NDJSON as written,
/// whatever they look like (`00123` stays `00123`, not 123), unless a type is given; a bare
/// `NA` in one whose other values are quoted is a missing value still (`scan`).
const DOCUMENTED_TEXT: [&str; 7] = [
    "rep_id",
    "vendor_call_id",
    "vendor",
    "campaign",
    "subcampaign",
    "department",
    "gender",
];

/// Batches of one file, in order.
pub struct FileReader {
    schema: SchemaRef,
    inner: Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>,
}

impl FileReader {
    /// Opens `path`.
    pub fn open(path: &Path, format: FileFormat) -> Result<Self> {
        let file = File::open(path)?;
        match format {
            FileFormat::Parquet => open_parquet(file).map_err(|e| read_error(path, e)),
            FileFormat::Ipc => {
                let reader = arrow_ipc::reader::FileReader::try_new(BufReader::new(file), None)?;
                Ok(Self::boxed(reader))
            }
            FileFormat::Csv => open_csv(path, file, &[]),
            FileFormat::Ndjson => open_ndjson(path, file, &[]),
        }
    }

    fn boxed<R: RecordBatchReader + Send + 'static>(reader: R) -> Self {
        Self {
            schema: reader.schema(),
            inner: Box::new(reader),
        }
    }

    /// The file's schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

impl Iterator for FileReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|r| r.map_err(Into::into))
    }
}

fn open_parquet(file: File) -> std::result::Result<FileReader, ParquetError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    // The file's schema, with its metadata (pandas' names its index columns); the built
    // reader's schema has the fields only.
    let schema = Arc::clone(builder.schema());
    let reader = builder.with_batch_size(BATCH_ROWS).build()?;
    Ok(FileReader {
        schema,
        inner: Box::new(reader),
    })
}

/// Reads a CSV file with its inferred types, but for the columns given `types`.
fn open_csv(path: &Path, mut file: File, types: &[(String, DataType)]) -> Result<FileReader> {
    // The schema handed out, and the one arrow-csv reads with: the same but for columns of
    // values of one type and words for a missing one, read as text and turned into their type
    // after.
    let format = arrow_csv::reader::Format::default().with_header(true);
    let inferred = match format.infer_schema(BufReader::new(&mut file), None) {
        Ok((inferred, _)) => inferred,
        // A `;` file with decimal commas (`1000;hello;1,5`, Excel's export where the comma is
        // the decimal mark) reads as one column in its header and two in its rows: arrow-csv
        // fails on the ragged rows before the header check below could explain the
        // separator (outside trial 16).
        Err(err) => {
            // Only a header that reads as UTF-8 text is looked at: any other failure (a
            // UTF-16 file, say) keeps arrow-csv's error, which the caller explains.
            let mut header = Vec::new();
            let read = file.seek(SeekFrom::Start(0)).and_then(|_| {
                std::io::BufRead::read_until(&mut BufReader::new(&mut file), b'\n', &mut header)
            });
            if let (Ok(_), Ok(header)) = (read, std::str::from_utf8(&header)) {
                let header = header.trim_start_matches('\u{feff}').trim_end();
                if !header.contains(',') {
                    let one = Schema::new(vec![Field::new(header, DataType::Utf8, true)]);
                    one_column_of_another_separator(path, &one)?;
                }
            }
            return Err(err.into());
        }
    };
    file.seek(SeekFrom::Start(0))?;
    one_column_of_another_separator(path, &inferred)?;
    let user = types;
    let types = with_documented_text(&inferred, types);
    let settled = scan::settle(path, with_types(inferred, &types)?, &types, user)?;
    let (schema, read_schema, empty_strings, bare_words, words_in_text) = (
        settled.schema,
        settled.read,
        settled.empty_strings,
        settled.bare_words,
        settled.words_in_text,
    );
    let reader = arrow_csv::ReaderBuilder::new(Arc::clone(&read_schema))
        .with_header(true)
        .with_batch_size(BATCH_ROWS)
        .build(BufReader::new(super::quoted::QuotesChecked::new(file)))?;
    let mut inner: Box<dyn Iterator<Item = _> + Send> = match empty_strings {
        Some(mut empty) => Box::new(reader.map(move |batch| empty.restore(batch?))),
        None => Box::new(reader),
    };
    if let Some(mut words) = bare_words {
        inner = Box::new(inner.map(move |batch| words.nullify(batch?)));
    }
    if !words_in_text.is_empty() {
        inner = Box::new(inner.map(move |batch| tokens::words_to_nulls(batch?, &words_in_text)));
    }
    if read_schema != schema {
        let typed = Arc::clone(&schema);
        // The record of each batch's first row, as arrow-csv counts them (the header is 0).
        let mut first = 1;
        inner = Box::new(inner.map(move |batch| {
            let batch = tokens::to_typed(batch?, &typed, first)?;
            first += batch.num_rows();
            Ok(batch)
        }));
    }
    // A value its column's type does not hold is named with its line in the file.
    let (named, columns) = (path.to_owned(), Arc::clone(&read_schema));
    inner =
        Box::new(inner.map(move |batch| {
            batch.map_err(|err| csv_line::with_file_line(&named, &columns, err))
        }));
    Ok(FileReader { schema, inner })
}

/// Refuses a header read as one column whose name holds another separator (`call_id;s`):
/// the file is separated by `;`, tabs or `|`, and converz reads commas.
fn one_column_of_another_separator(path: &Path, schema: &Schema) -> Result<()> {
    let [field] = &schema.fields()[..] else {
        return Ok(());
    };
    match [';', '\t', '|']
        .into_iter()
        .find(|&c| field.name().contains(c))
    {
        Some(separator) => Err(Error::invalid(
            "path",
            format!(
                "the header of {} reads as one column named {:?}: its columns look separated \
                 by {separator:?}, and a CSV file is read with commas between columns; write \
                 it with `,` between columns and `.` as the decimal mark (where the comma is \
                 the decimal mark, Excel writes `;` and decimal commas; pandas reads such a file \
                 with `sep=\";\", decimal=\",\"`)",
                path.display(),
                field.name()
            ),
        )),
        None => Ok(()),
    }
}

fn open_ndjson(path: &Path, file: File, types: &[(String, DataType)]) -> Result<FileReader> {
    let mut buffered = BufReader::new(file);
    let (schema, _) = arrow_json::reader::infer_json_schema_from_seekable(&mut buffered, None)
        .map_err(|err| ndjson_line::with_line(path, None, err))?;
    let types = with_documented_text(&schema, types);
    let schema = exact::check_ndjson(path, with_types(schema, &types)?, &types)?;
    let reader = arrow_json::ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(BATCH_ROWS)
        // A number or boolean in a text column (`--schema code:string` over `{"code": 1.50}`)
        // is read as its JSON text, as written.
        .with_coerce_primitive(true)
        .build(crate::decode::surrogates::PairsAsUtf8::new(buffered))?;
    let (named, read_with) = (path.to_owned(), Arc::clone(&schema));
    let reader = reader.map(move |batch| {
        batch.map_err(|err| ndjson_line::with_line(&named, Some(&read_with), err))
    });
    Ok(FileReader {
        schema,
        inner: Box::new(reader),
    })
}

/// Reads a whole file (format from its extension): its schema and batches. `types` replace
/// the inferred types of those CSV or NDJSON columns; a Parquet or IPC file carries its own
/// and takes none. A value a given type would change, and a file that is not of its format,
/// are [`Error::InvalidParameter`]s (bad input to a push, refused before any request).
/// `to`: the push's target when given, whose key's rows must each hold one; else the target
/// a push infers (calls when the file has a `call_id`).
pub fn read_file(
    path: &Path,
    types: &[(String, DataType)],
    to: Option<Target>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let format = FileFormat::from_path(path)?;
    if !types.is_empty() && !matches!(format, FileFormat::Csv | FileFormat::Ndjson) {
        return Err(Error::invalid(
            "schema",
            format!(
                "{} carries its own column types; schema applies to CSV and NDJSON files, \
                 whose types are inferred",
                path.display()
            ),
        ));
    }
    // Failing to open is the system's error (no such file, no permission); anything after
    // is the file's content.
    let file = File::open(path)?;
    let unreadable = |err: &dyn std::fmt::Display| {
        let text = err.to_string();
        // Not UTF-8 in NDJSON: serde's "stream did not contain valid UTF-8" names no line.
        let text = match format == FileFormat::Ndjson && text.contains("valid UTF-8") {
            true => {
                ndjson_line::with_line(path, None, ArrowError::JsonError(text.clone())).to_string()
            }
            false => text,
        };
        // Our own reading of the bytes, passed through arrow-csv as an I/O error.
        let text = match text.find(super::quoted::MALFORMED_QUOTES) {
            Some(at) => text[at..].to_owned(),
            None if format == FileFormat::Csv && csv_line::is_about_a_record(&text) => {
                csv_line::first_bad_record(path).unwrap_or(text)
            }
            None => text,
        };
        let encoding = match format {
            FileFormat::Csv | FileFormat::Ndjson if text.to_lowercase().contains("utf-8") => {
                not_utf8(path, format)
            }
            // arrow's IPC reader checks every byte of the file's text, and names neither column
            // nor row (outside trial 59 F2).
            FileFormat::Ipc if text.contains("Invalid UTF8") => {
                "; the file holds text that is not UTF-8 somewhere, and an Arrow file's text is \
                 checked whole as it is read (bytes under nulls and dictionary entries no row \
                 uses too): read it with pyarrow and push the table with push_updates, which \
                 names the column and row of a value sent and refuses nothing else"
            }
            _ => "",
        };
        Error::invalid(
            "path",
            format!(
                "cannot read {} as {}: {text}{encoding}",
                path.display(),
                format.label()
            ),
        )
    };
    let content = |err: Error| match err {
        Error::InvalidParameter { .. } | Error::Io(_) => err,
        other => unreadable(&other),
    };
    if format == FileFormat::Ndjson && starts_with(path, b"\xEF\xBB\xBF") {
        // Not through `unreadable`, whose note for text that is not UTF-8 does not apply.
        return Err(Error::invalid(
            "path",
            format!("cannot read {} as NDJSON: {NDJSON_BOM}", path.display()),
        ));
    }
    let reader = match format {
        FileFormat::Parquet => open_parquet(file).map_err(|e| unreadable(&e))?,
        // The IPC file format, or the stream format under a file's name (`write_ipc_stream`,
        // `pa.ipc.new_stream`: "does not contain correct footer", F13).
        FileFormat::Ipc => match arrow_ipc::reader::FileReader::try_new(BufReader::new(file), None)
        {
            Ok(reader) => FileReader::boxed(reader),
            Err(_) if !is_feather_v1(path) && starts_with(path, &[0xFF; 4]) => {
                let stream = BufReader::new(File::open(path)?);
                arrow_ipc::reader::StreamReader::try_new(stream, None)
                    .map(FileReader::boxed)
                    .map_err(|e| unreadable(&e))?
            }
            Err(e) => match is_feather_v1(path) {
                true => return Err(unreadable(&FEATHER_V1)),
                false => return Err(unreadable(&e)),
            },
        },
        FileFormat::Csv => open_csv(path, file, types).map_err(content)?,
        FileFormat::Ndjson => open_ndjson(path, file, types).map_err(content)?,
    };
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>>>().map_err(|err| {
        match format == FileFormat::Parquet && err.to_string().contains("brotli") {
            true => unreadable(&BROTLI),
            false => content(err),
        }
    })?;
    check_keys(path, format, &schema, &batches, to)?;
    warn_times_kept_as_text(path, format, &batches, types);
    // A file written from a pandas frame carries its index as columns, which a push must
    // leave out as it does for the frame (the batches of a Parquet file do not carry the
    // metadata naming them: only the file's schema does).
    Ok(crate::encode::without_pandas_index(schema, batches))
}

/// Refuses a `call_id` column that is not integers, naming its first value that is not an
/// integer of int64 as written, and where: its line in a CSV or NDJSON file, its row in a
/// Parquet or Arrow one (outside trial 16: `123.0`, `1.5` or an NDJSON `"123"` got an error
/// naming the column's type, or a value the file does not hold, and no place).
/// A push to reps (`to`, or a file without `call_id`) names its rows without a `rep_id` by
/// line too, and leaves `call_id` alone, an attribute there (outside trials 69 F5, 70 F6).
fn check_keys(
    path: &Path,
    format: FileFormat,
    schema: &Schema,
    batches: &[RecordBatch],
    to: Option<Target>,
) -> Result<()> {
    let call_id = schema.index_of("call_id").ok();
    match (to, call_id) {
        (Some(Target::Calls), _) | (None, Some(_)) => check_call_ids(path, format, schema, batches),
        (Some(Target::Reps), _) | (None, None) => match schema.index_of("rep_id") {
            Ok(column) => check_missing_keys(path, format, (column, "rep_id", "rep"), batches),
            Err(_) => Ok(()),
        },
    }
}

/// Warns of each text column of times a fetch would read back as text: one holding a time
/// another writer spelt (`2024-10-01T12:09:27.000000`, polars' and pyarrow's CSV; `.000`,
/// pandas'), or a date beside times (outside trial 96 B1). It is pushed as that text, as
/// written, after which the server's column is text and reads of it are text (outside trial 95
/// N2: a fetch written by polars and pushed back made `end_time` text, silently). The calls'
/// `date` and `start_time` are refused instead, by the push (`encode::documented`).
/// Only a column of dates and times, every value one: text among them is a text column, and
/// one `schema=` names is typed as the caller chose (outside trial 96 B3: both were warned of).
fn warn_times_kept_as_text(
    path: &Path,
    format: FileFormat,
    batches: &[RecordBatch],
    types: &[(String, DataType)],
) {
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return;
    };
    for (index, field) in schema.fields().iter().enumerate() {
        if !matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) || matches!(field.name().as_str(), "date" | "start_time")
            || types.iter().any(|(name, _)| name == field.name())
        {
            continue;
        }
        let texts: Option<Vec<_>> = batches
            .iter()
            .map(|batch| arrow_cast::cast(batch.column(index), &DataType::Utf8).ok())
            .collect();
        let Some(texts) = texts else {
            continue;
        };
        let mut values = texts.iter().enumerate().flat_map(|(b, text)| {
            let text = text.as_string::<i32>();
            (0..text.len())
                .filter(move |&r| text.is_valid(r))
                .map(move |r| (b, r, text.value(r)))
        });
        let mut held = Spellings::default();
        if !values.all(|(b, r, value)| held.take(b, r, value)) {
            continue;
        }
        if let Some((b, r, what, way_out)) = held.warning(field.name()) {
            let row = crate::encode::frame_row(batches, b, r);
            log::warn!(target: "converz",
                "{} of {}: column `{}` holds {what}, which is pushed as that text (the API \
                 writes dates YYYY-MM-DD and times YYYY-MM-DD HH:MM:SS, each column one of \
                 them), and reads of the column then take it as text; {way_out}",
                place(path, format, row, index),
                path.display(),
                field.name(),
            );
        }
    }
}

/// What a text column of dates and times holds ([`warn_times_kept_as_text`]).
struct Spellings {
    /// The first time spelt otherwise than the API writes it (batch, row, value).
    otherwise: Option<(usize, usize, String)>,
    /// The first date.
    date: Option<(usize, usize, String)>,
    /// Whether the column holds a time, and whether every one is a midnight (a date column
    /// pandas wrote as times: `2025-09-05T00:00:00.000000`, outside trial 96 B4).
    times: bool,
    midnights: bool,
    /// Whether a time has a UTC offset: `timestamp` reads it as an instant, converted to the
    /// tenant's time zone.
    zoned: bool,
    /// Whether a date, or a time without an offset, is in the column: beside one with an
    /// offset, no type reads the column (a push refuses the mix).
    plain: bool,
    /// Whether a time has a fraction finer than a microsecond, which no time type the API
    /// keeps can hold (outside trial 96 B2: the warning named a type that was then refused).
    finer: bool,
}

impl Default for Spellings {
    fn default() -> Self {
        Spellings {
            otherwise: None,
            date: None,
            times: false,
            midnights: true,
            zoned: false,
            plain: false,
            finer: false,
        }
    }
}

impl Spellings {
    /// Takes the value in row `r` of batch `b`; false if it is neither a date nor a time.
    fn take(&mut self, b: usize, r: usize, value: &str) -> bool {
        use crate::decode::{text_form, TextForm};
        let otherwise = time_otherwise(value);
        match text_form(value.as_bytes()) {
            TextForm::Date => {
                self.date.get_or_insert_with(|| (b, r, value.to_owned()));
                self.plain = true;
                return true;
            }
            TextForm::Time => {}
            TextForm::Text if otherwise => {
                self.otherwise
                    .get_or_insert_with(|| (b, r, value.to_owned()));
            }
            TextForm::Text => return false,
        }
        let (clock, rest) = value.as_bytes()[11..].split_at(8);
        let (fraction, zone) = fraction_and_zone(rest);
        let fraction = fraction.get(1..).unwrap_or_default();
        self.times = true;
        self.zoned |= !zone.is_empty();
        self.plain |= zone.is_empty();
        self.midnights &=
            clock == b"00:00:00" && fraction.iter().all(|&d| d == b'0') && zone.is_empty();
        self.finer |= fraction.iter().skip(6).any(|&d| d != b'0');
        true
    }

    /// What to warn of (batch and row of the value named, what it is, the way out), if the
    /// column would be read back as text.
    fn warning(self, name: &str) -> Option<(usize, usize, String, String)> {
        let quoted = crate::printable::quoted;
        let as_type = |kind: &str, what: &str| {
            format!("schema={{\"{name}\": \"{kind}\"}} (--schema {name}:{kind}) sends the column as {what}")
        };
        match (self.date, self.otherwise) {
            (Some((b, r, date)), _) if self.times => {
                let way_out = if self.zoned {
                    mixed_zones_way_out()
                } else if self.finer {
                    finer_way_out(name)
                } else {
                    as_type("timestamp", "times, each date as its midnight")
                };
                Some((
                    b,
                    r,
                    format!("a date, {}, beside times", quoted(&date)),
                    way_out,
                ))
            }
            (None, Some((b, r, time))) => {
                let way_out = if self.zoned && self.plain {
                    mixed_zones_way_out()
                } else if self.finer {
                    finer_way_out(name)
                } else if self.midnights {
                    format!(
                        "{} (every time in it is a midnight; `timestamp` would send them as \
                         times)",
                        as_type("date", "dates")
                    )
                } else if self.zoned {
                    as_type(
                        "timestamp",
                        "times, each converted from its UTC offset to the tenant's time zone \
                         (--timezone)",
                    )
                } else {
                    as_type("timestamp", "times")
                };
                Some((
                    b,
                    r,
                    format!("a time written as {}", quoted(&time)),
                    way_out,
                ))
            }
            _ => None,
        }
    }
}

/// The way out for a column of times with a UTC offset beside dates or times without one,
/// which no type reads (outside trial 98's test: the warning named `timestamp`, refused then).
fn mixed_zones_way_out() -> String {
    "its times mix UTC offsets with none (or with dates), which name no instant together: give \
     every time an offset, or none, and push it again"
        .to_owned()
}

/// The way out for times with a fraction finer than a microsecond.
fn finer_way_out(name: &str) -> String {
    format!(
        "some of its times have digits finer than a microsecond, which the API does not keep: \
         round them to microseconds before the push to send times, or give the column \
         schema={{\"{name}\": \"string\"}} (--schema {name}:string) to keep the text"
    )
}

/// Whether `text` is a time in another spelling than the API's: a `T` between date and time,
/// a fraction of zeros or of another length, or a UTC offset (`Z`, `+02:00`: outside trial
/// 98 F1, an NDJSON column of such times was pushed as text without a word), that a fetch
/// would read as text.
fn time_otherwise(text: &str) -> bool {
    use crate::decode::{text_form, TextForm};
    let bytes = text.as_bytes();
    if bytes.len() < 19
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || text_form(bytes) == TextForm::Time
    {
        return false;
    }
    let (fraction, _) = fraction_and_zone(&bytes[19..]);
    let fraction_ok = fraction.is_empty()
        || (fraction[0] == b'.'
            && fraction.len() > 1
            && fraction[1..].iter().all(u8::is_ascii_digit));
    let mut clock = bytes[..19].to_vec();
    clock[10] = b' ';
    fraction_ok && text_form(&clock) == TextForm::Time
}

/// What follows a time's seconds, split into its fraction (`.123`, or empty) and its UTC
/// offset (`Z`, `+02:00`, `-0530`, `+02`, or empty).
fn fraction_and_zone(rest: &[u8]) -> (&[u8], &[u8]) {
    if let Some(fraction) = rest.strip_suffix(b"Z") {
        return (fraction, &rest[fraction.len()..]);
    }
    let Some(sign) = rest.iter().rposition(|&b| b == b'+' || b == b'-') else {
        return (rest, &[]);
    };
    let offset = &rest[sign + 1..];
    let digits = |part: &[u8]| part.len() == 2 && part.iter().all(u8::is_ascii_digit);
    let zone_ok = match offset.len() {
        2 => digits(offset),
        4 => digits(&offset[..2]) && digits(&offset[2..]),
        5 => digits(&offset[..2]) && offset[2] == b':' && digits(&offset[3..]),
        _ => false,
    };
    match zone_ok {
        true => rest.split_at(sign),
        false => (rest, &[]),
    }
}

/// Where row `row` (counted from 0 among the rows) of the file at `path` is, as [`place`]
/// says it: a push's refusal of a file's table names it so (outside trial 94 N6: a refusal
/// checked in the push plan named the row of a CSV file, not its line).
pub fn file_place(path: &Path, row: usize, column: usize) -> Result<String> {
    Ok(place(path, FileFormat::from_path(path)?, row, column))
}

/// Where row `row` (counted from 0 among the rows) of a file is: its line in a CSV or NDJSON
/// file (`column`: the field looked at, a CSV record's line being where that field starts),
/// its row in a Parquet or Arrow one.
fn place(path: &Path, format: FileFormat, row: usize, column: usize) -> String {
    let line = match format {
        // The header is record 0; blank lines are no records.
        FileFormat::Csv => csv_line::record_line(path, row as u64 + 1, column),
        FileFormat::Ndjson => ndjson_line::row_line(path, row),
        FileFormat::Parquet | FileFormat::Ipc => None,
    };
    line.map_or_else(|| format!("row {row}"), |line| format!("line {line}"))
}

fn check_call_ids(
    path: &Path,
    format: FileFormat,
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<()> {
    let Ok(column) = schema.index_of("call_id") else {
        return Ok(());
    };
    check_missing_keys(path, format, (column, "call_id", "call"), batches)?;
    if schema.field(column).data_type().is_integer() {
        return Ok(());
    }
    // A float (or decimal) column of a Parquet or Arrow file: a fraction, or a number its type
    // cannot hold exactly, is named first, and no cast is suggested (outside trial 70 F2: the
    // cast suggested for the first value, `1000.0`, made call 1010 of a later `1010.5`).
    let inexact = match format {
        FileFormat::Parquet | FileFormat::Ipc => crate::encode::inexact_id(batches, column),
        FileFormat::Csv | FileFormat::Ndjson => None,
    };
    let named = inexact.is_some();
    let found = match (format, inexact) {
        (_, Some((row, value))) => Some((format!("row {row} (counted from 0)"), value)),
        (FileFormat::Csv, None) => first_csv_non_id(path)?,
        (FileFormat::Ndjson, None) => first_ndjson_non_id(path)?,
        // Every value an id, in a column of another type (a decimal of scale 0, a Float16, text):
        // its type is what to fix, told with its first value (outside trial 75 F6: the frame's
        // message, whose fix named --schema, which a Parquet file does not take).
        (FileFormat::Parquet | FileFormat::Ipc, None) => {
            match first_row_where(batches, column, |v| !is_id(v))? {
                None => first_row_where(batches, column, |_| true)?,
                found => found,
            }
        }
    };
    let Some((place, value)) = found else {
        return Ok(());
    };
    let bare = value.trim_start_matches("the text ");
    let bare = bare.trim_end_matches(" (quoted)").trim_matches('"');
    // Within int64: a 20-digit integer is whole, but no cast makes it an id (outside trial 15).
    let whole = !named
        && bare
            .parse::<f64>()
            .is_ok_and(|v| v.fract() == 0.0 && v.abs() < 9.2e18);
    // A whole value of a float or decimal column is an id held in the wrong type, not "no
    // call's id" (outside trial 72 F1: a NUMERIC(10,3) column of 1000.000 was told so).
    if whole && matches!(format, FileFormat::Parquet | FileFormat::Ipc) {
        // A dictionary (a categorical) goes through text in polars (outside trial 76 F4).
        let data_type = schema.field(column).data_type();
        let polars =
            crate::encode::polars_cast(data_type, "pl.col(\"call_id\")", "pl.Int64", str::to_owned);
        return Err(Error::invalid(
            "path",
            format!(
                "{place} of {}: call_id is {value}, a whole number, but the column's type is \
                 {data_type}, not an integer type: cast the column to int64 before writing the \
                 file (df[\"call_id\"].astype(\"int64\") in pandas, {polars} in polars)",
                path.display(),
            ),
        ));
    }
    let how = match format {
        FileFormat::Csv | FileFormat::Ndjson if whole => {
            " (--schema call_id:int64 reads a whole number written as a float or as text, \
             such as 123.0 or \"123\", as the integer)"
        }
        _ => "",
    };
    // A float named for a value it holds inexactly may be whole and within int64 (2^53 + 1
    // read as 2^53): no call's id would be untrue of it (outside trial 74 F7).
    let floating = match schema.field(column).data_type() {
        DataType::Dictionary(_, values) => values.is_floating(),
        other => other.is_floating(),
    };
    let why = match named && floating {
        true => "which a float column cannot be sure to hold as the id it was written as (a \
                 fraction, NaN, an infinity, or a number beyond a float's exact integers)"
            .to_owned(),
        false => NO_CALL_ID.to_owned(),
    };
    Err(Error::invalid(
        "path",
        format!(
            "{place} of {}: call_id is {value}, {why}: fix or drop that row{how}",
            path.display(),
        ),
    ))
}

/// Refuses rows without their key (an empty field, `null`, a word for a missing value, an
/// NDJSON line without the key), naming the first one's line in a CSV or NDJSON file, its row
/// in a Parquet or Arrow one (outside trial 34 F7: the push's own check said `rows [2]`,
/// counted from 0 among the rows, where every other message of a file names its line).
/// `key`: the column's index, its name, and what its values name (`call`).
fn check_missing_keys(
    path: &Path,
    format: FileFormat,
    (column, name, names): (usize, &str, &str),
    batches: &[RecordBatch],
) -> Result<()> {
    // An empty or blank rep_id is missing too (outside trial 71 F5: named by its row).
    let missing = crate::encode::missing_keys(batches, column, name == "rep_id");
    let Some((total, &row)) = missing
        .as_ref()
        .and_then(|(n, rows)| Some((n, rows.first()?)))
    else {
        return Ok(());
    };
    let place = place(path, format, row, column);
    let more = match total {
        1 => String::new(),
        n => format!(" ({n} rows in all)"),
    };
    // A text key may be there and show nothing (outside trial 77 F6: called "missing").
    let missing = match name {
        "rep_id" => "missing or blank",
        _ => "missing",
    };
    Err(Error::invalid(
        "path",
        format!(
            "{place} of {}: {name} is {missing}{more}, and each row is pushed to the {names} \
             its {name} names: fill it in or drop that row",
            path.display()
        ),
    ))
}

/// Whether `text` is an integer of int64, written as one (digits, maybe a `-`).
fn is_id(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && text.parse::<i64>().is_ok()
}

/// The line and text (as written, quoted or not) of the first `call_id` field of a CSV file
/// that is not empty and not an id.
fn first_csv_non_id(path: &Path) -> Result<Option<(String, String)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(super::quoted::Raw::new(File::open(path)?));
    let headers = reader.headers().map_err(std::io::Error::from)?;
    let Some(column) = headers.iter().position(|h| h == "call_id") else {
        return Ok(None);
    };
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(std::io::Error::from)?
    {
        let end = reader.position().byte();
        let Some(value) = record.get(column).filter(|v| !v.is_empty() && !is_id(v)) else {
            reader.get_mut().forget(end);
            continue;
        };
        let start = record.position().map_or(end, csv::Position::byte);
        let first = reader.get_mut().line_of(start);
        let line = FieldLines::new(first, record.iter().map(str::as_bytes)).of(column);
        let raw = reader.get_ref().bytes(start, end);
        let mut quoted = Vec::new();
        super::quoted::quoted_fields(raw, &mut quoted);
        let value = match quoted.get(column) {
            Some(true) => format!("{value:?} (quoted)"),
            _ => value.to_owned(),
        };
        return Ok(Some((format!("line {line}"), value)));
    }
    Ok(None)
}

/// The line and JSON text of the first `call_id` of an NDJSON file that is not null and not
/// an id.
fn first_ndjson_non_id(path: &Path) -> Result<Option<(String, String)>> {
    use std::io::BufRead;
    for (i, line) in BufReader::new(File::open(path)?).lines().enumerate() {
        let line = line?;
        let Ok(row) = serde_json::from_str::<
            std::collections::HashMap<String, &serde_json::value::RawValue>,
        >(&line) else {
            continue;
        };
        let Some(raw) = row.get("call_id").map(|v| v.get()) else {
            continue;
        };
        if raw != "null" && !is_id(raw) {
            let what = match raw.starts_with('"') {
                true => format!("the text {raw}"),
                false => raw.to_owned(),
            };
            return Ok(Some((format!("line {}", i + 1), what)));
        }
    }
    Ok(None)
}

/// The row (counted from 0) and value of the first `call_id` of `batches` that is not null and
/// is `wanted`.
fn first_row_where(
    batches: &[RecordBatch],
    column: usize,
    wanted: impl Fn(&str) -> bool,
) -> Result<Option<(String, String)>> {
    let mut first = 0;
    for batch in batches {
        let text = arrow_cast::cast(batch.column(column), &DataType::Utf8)?;
        let text = text.as_any().downcast_ref::<arrow_array::StringArray>();
        if let Some(text) = text {
            let quote = matches!(
                batch.column(column).data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            );
            for (row, value) in text.iter().enumerate() {
                match value {
                    Some(v) if wanted(v) => {
                        let v = match quote {
                            true => format!("the text {v:?}"),
                            false => v.to_owned(),
                        };
                        return Ok(Some((format!("row {} (counted from 0)", first + row), v)));
                    }
                    _ => {}
                }
            }
        }
        first += batch.num_rows();
    }
    Ok(None)
}

/// What a text file that is not UTF-8 probably is, from its first bytes, and how to save it
/// as UTF-8 (outside trial: Excel's "CSV" and "Unicode Text" files got arrow's bare UTF-8
/// error, with no word of the encoding).
fn not_utf8(path: &Path, format: FileFormat) -> &'static str {
    let mut head = [0_u8; 2];
    let utf16 = File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok_and(|()| head == [0xff, 0xfe] || head == [0xfe, 0xff]);
    if format == FileFormat::Ndjson {
        // Excel's advice is for CSV files (outside trial 35 F3).
        return match utf16 {
            true => {
                "; the file is UTF-16 text, and converz reads UTF-8: convert it (iconv -f \
                     UTF-16 -t UTF-8)"
            }
            false => {
                "; the file is not UTF-8, and converz reads UTF-8: write it as UTF-8 (or \
                      convert it, e.g. iconv -f CP1252 -t UTF-8)"
            }
        };
    }
    if utf16 {
        "; the file is UTF-16 text (Excel's \"Unicode Text\"), and converz reads UTF-8: save \
         it as \"CSV UTF-8\" (or convert it: iconv -f UTF-16 -t UTF-8)"
    } else {
        "; the file is not UTF-8 (Excel's plain \"CSV\" is Windows-1252 or Latin-1), and \
         converz reads UTF-8: save it as \"CSV UTF-8\" (or convert it: iconv -f CP1252 -t \
         UTF-8)"
    }
}

/// The given `types`, and text for each [`DOCUMENTED_TEXT`] column of `inferred` given none.
fn with_documented_text(
    inferred: &Schema,
    types: &[(String, DataType)],
) -> Vec<(String, DataType)> {
    let mut all = types.to_vec();
    for field in inferred.fields() {
        let name = field.name();
        if DOCUMENTED_TEXT.contains(&name.as_str()) && !types.iter().any(|(n, _)| n == name) {
            all.push((name.clone(), DataType::Utf8));
        }
    }
    all
}

/// `inferred` with the given `types` in place of the inferred ones; a column the file does not
/// have is an error (a misspelt name would otherwise pass unnoticed).
fn with_types(inferred: Schema, types: &[(String, DataType)]) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for (name, data_type) in types {
        let Some(field) = fields.iter_mut().find(|f| f.name() == name) else {
            let names: Vec<&str> = inferred
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            return Err(Error::invalid(
                format!("schema[{name:?}]"),
                format!(
                    "the file has no column `{name}`; its columns: {}",
                    names.join(", ")
                ),
            ));
        };
        *field = Field::new(name, data_type.clone(), true);
    }
    Ok(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use arrow_array::{Array, Int64Array, StringArray};

    use super::*;

    /// `text` read as a CSV file (written to a temporary file, removed after).
    fn read_csv(text: &str, types: &[(String, DataType)]) -> Result<(SchemaRef, RecordBatch)> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("converz-read-{}-{n}.csv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let read = read_file(&path, types, None);
        let _ = std::fs::remove_file(&path);
        let (schema, batches) = read?;
        let table = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
        Ok((schema, table))
    }

    fn strings(table: &RecordBatch, name: &str) -> Vec<Option<String>> {
        let column = table.column_by_name(name).unwrap();
        let column = column.as_any().downcast_ref::<StringArray>().unwrap();
        column.iter().map(|v| v.map(str::to_owned)).collect()
    }

    /// R's `write.csv(df, row.names = FALSE)` (with row names, the first column's empty name
    /// is kept for the Python layer to refuse): text quoted,
    /// numbers bare, a missing value a bare NA in every column (outside trial 16: `"00050"`
    /// beside a bare NA was read as the number 50, a bare NA as the text NA).
    #[test]
    fn files_as_rs_write_csv_writes_them_keep_text_and_missing_values() {
        let body = "1,\"00050\",NA,\"a\"\n2,NA,1.5,NA\n3,\"NA\",NA,\"\"\n";
        for header in [
            "\"call_id\",\"code\",\"x\",\"note\"\n",
            "\"\",\"call_id\",\"code\",\"x\",\"note\"\n",
        ] {
            let text = match header.starts_with("\"\"") {
                false => format!("{header}{body}"),
                true => {
                    let rows = body.lines().enumerate();
                    let named: String = rows.map(|(i, l)| format!("\"{}\",{l}\n", i + 1)).collect();
                    format!("{header}{named}")
                }
            };
            let (schema, table) = read_csv(&text, &[]).unwrap();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let row_names = header.starts_with("\"\"");
            assert_eq!(
                names[usize::from(row_names)..],
                ["call_id", "code", "x", "note"]
            );
            assert_eq!(row_names, names[0].is_empty(), "{text}");
            let s = |v: &str| Some(v.to_owned());
            assert_eq!(strings(&table, "code"), [s("00050"), None, s("NA")]);
            assert_eq!(strings(&table, "note"), [s("a"), None, s("")]);
            let x = table.column_by_name("x").unwrap();
            assert_eq!(x.data_type(), &DataType::Float64);
            assert_eq!((x.null_count(), x.is_valid(1)), (2, true));
            let ids = table.column_by_name("call_id").unwrap();
            let ids = ids.as_any().downcast_ref::<Int64Array>();
            assert_eq!(ids.unwrap().values(), &[1, 2, 3]);
        }
    }

    /// pandas' `to_csv(quoting=csv.QUOTE_NONNUMERIC)`: text quoted, a missing value `""` (an
    /// empty string in a text column: pandas writes both so), `"NA"` the text.
    #[test]
    fn a_pandas_quote_nonnumeric_file_keeps_its_text() {
        let text = "\"call_id\",\"code\",\"x\"\n1,\"00050\",1.5\n2,\"NA\",\"\"\n";
        let (schema, table) = read_csv(text, &[]).unwrap();
        assert_eq!(schema.fields().len(), 3);
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(strings(&table, "code"), [s("00050"), s("NA")]);
        let x = table.column_by_name("x").unwrap();
        assert_eq!((x.data_type(), x.null_count()), (&DataType::Float64, 1));
    }
}

#[cfg(test)]
mod quote_tests {
    use super::*;

    fn read(text: &str) -> Result<usize> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("converz-quotes-{}-{n}.csv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let read = read_file(&path, &[], None);
        let _ = std::fs::remove_file(&path);
        Ok(read?.1.iter().map(RecordBatch::num_rows).sum())
    }

    #[test]
    fn quotes_csv_core_would_read_leniently_are_refused_naming_the_line() {
        // Outside trial 32 F2: a quote never closed made the rest of the file one value (three
        // rows pushed as one); text after a closing quote was glued on (`"ab"c` as `abc`).
        for (text, said) in [
            (
                "call_id,note\n1000,\"oops\n1010,second\n1020,third\n",
                "line 2: a quoted field opens here and is never closed",
            ),
            (
                "call_id,note\n1000,ok\n1010,\"d",
                "line 3: a quoted field opens here",
            ),
            (
                "call_id,note\n1000,\"ab\"c\n1010,x\n",
                "line 2: text follows the closing quote",
            ),
            (
                "call_id,note\n1000,\"a\nb\"c\n",
                "line 3: text follows the closing quote",
            ),
        ] {
            let err = read(text).expect_err(text).to_string();
            assert!(
                err.contains(super::super::quoted::MALFORMED_QUOTES),
                "{err}"
            );
            assert!(err.contains(said), "{text:?}: {err}");
            assert!(!err.contains("Io error"), "{err}");
        }
    }

    proptest::proptest! {
        /// What the csv crate writes (quotes, `""`, separators and line ends inside values,
        /// CRLF) is read back whole, never refused.
        #[test]
        fn what_a_csv_writer_writes_is_read_back(
            values in proptest::collection::vec("[a-z\",\r\n ]{0,6}", 1..20),
            crlf: bool,
        ) {
            let mut writer = csv::WriterBuilder::new()
                .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                .from_writer(Vec::new());
            writer.write_record(["call_id", "note"]).unwrap();
            for (i, value) in values.iter().enumerate() {
                writer.write_record([(1000 + i).to_string().as_str(), value]).unwrap();
            }
            let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
            proptest::prop_assert_eq!(read(&text).map_err(|e| e.to_string()), Ok(values.len()));
        }
    }
}
