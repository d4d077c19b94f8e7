//! The one pass over a CSV file's records between arrow-csv's inference and its read. Each
//! value of a column that has rules is fed to them as the record is read: a text column's
//! words for a missing value ([`super::tokens`]) and the checks of the types the columns will
//! be read with ([`super::exact`]). The types the words settle are known only at the end, and
//! the checks that depend on a type (a float column's integers, a time column's offsets) are
//! applied then, to the settled types. A column the user typed (`--schema n:int64`) takes the
//! same words as a missing value, and an integer type a whole number spelled as a float
//! (`1e2`, `1.0`), as an NDJSON file's does: such a column is read as text too, and turned
//! into its type after. The same pass finds the text fields written `""`, and the columns
//! whose every value is quoted (but for bare words for a missing value, R's `NA`), which are
//! text ([`super::quoted`]).

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::exact::CsvChecks;
use super::lines::FieldLines;
use super::quoted::{text_or_empty_columns, BareWords, EmptyStrings, Finder, Quoting, Raw};
use super::tokens::{Declared, Words};
use crate::error::Result;

/// The types a CSV file is read with.
pub(super) struct Settled {
    /// The file's schema, as handed out.
    pub(super) schema: SchemaRef,
    /// The schema arrow-csv reads with: the same, but for the columns of words and values of
    /// one type, read as text and turned into their type after ([`super::tokens::to_typed`]).
    pub(super) read: SchemaRef,
    /// The text fields written `""`.
    pub(super) empty_strings: Option<EmptyStrings>,
    /// The bare words for a missing value (R's `NA`) in the columns whose quotes make them
    /// text: nulls.
    pub(super) bare_words: Option<BareWords>,
    /// The columns of times and words for a missing value sent as text, as written
    /// ([`super::exact`]): their words are nulls still ([`super::tokens::words_to_nulls`]).
    pub(super) words_in_text: Vec<usize>,
}

/// The csv crate's reader (the one arrow-csv reads with) over `input`: a header row, records
/// of any length.
fn records<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(input)
}

/// Reads `path` (a CSV file with a header row) once, for `typed`: the inferred schema with the
/// user's types (`given`) in place.
/// `user`: the types the user gave, which `given` holds with the text type of each column the
/// API documents as text that the user gave none.
pub(super) fn settle(
    path: &Path,
    typed: SchemaRef,
    given: &[(String, DataType)],
    user: &[(String, DataType)],
) -> Result<Settled> {
    let mut rules = Rules::new(path, &typed, given, user);
    let whole = rules.is_done() || feed(path, &mut rules)?;
    let Rules {
        words,
        declared,
        checks,
        finder,
        quoting,
        ..
    } = rules;
    let quoted_text = quoting.text();
    let bare_words = quoting.bare_words(&quoted_text);
    // A column arrow-csv found no value in (Null) is text when it holds `""`: its empty
    // strings are values to set (outside trial: a column of only `""` was never set).
    let quoted = finder
        .as_ref()
        .map(Finder::fields_found)
        .unwrap_or_default();
    let types: Vec<Option<DataType>> = words
        .iter()
        .zip(typed.fields())
        .enumerate()
        .map(|(i, (w, f))| match w {
            // Every value quoted, where others are bare: text, as written.
            _ if quoted_text[i] => Some(DataType::Utf8),
            Some(words) => words.data_type(f.name() == "call_id"),
            None if declared[i].as_ref().is_some_and(Declared::as_text) => {
                Some(f.data_type().clone())
            }
            None if f.data_type() == &DataType::Null && quoted.get(i) == Some(&true) => {
                Some(DataType::Utf8)
            }
            None => None,
        })
        .collect();
    // Values of two families and nothing else (`true` and `1`): as text, each would be sent
    // as a string the file spells as a boolean, a number or a time, as a column of it alone
    // is read; refused as the same values of an NDJSON file are (outside trial 18, F11). A
    // column whose every value is quoted is text, as written.
    for (i, words) in words.iter().enumerate() {
        if let (Some([a, b]), false) = (words.as_ref().and_then(Words::mixed), quoted_text[i]) {
            return Err(super::exact::mixed_kinds(path, typed.field(i).name(), a, b));
        }
    }
    let settled = retyped(&typed, |i| types[i].clone());
    let schema = checks.finish(&settled)?;
    let words_in_text = (0..types.len())
        .filter(|&i| {
            let word_typed = types[i]
                .as_ref()
                .is_some_and(|t| !matches!(t, DataType::Utf8 | DataType::Null));
            word_typed && schema.field(i).data_type() == &DataType::Utf8
        })
        .collect();
    let read = match types.iter().any(Option::is_some) {
        true => retyped(&schema, |i| types[i].as_ref().map(|_| DataType::Utf8)),
        false => Arc::clone(&schema),
    };
    // The finder follows the columns arrow-csv made text (or found empty): one the quotes
    // made text it did not follow has its `""` fields found by another pass.
    let unfollowed = (0..quoted_text.len()).any(|i| {
        quoted_text[i] && !matches!(typed.field(i).data_type(), DataType::Utf8 | DataType::Null)
    });
    // Where `""` is an empty string: the text columns, but those of integers alone (some past
    // Int64, kept as written), where it is a missing number.
    let integers = |i: usize| {
        let of_integers = words[i].as_ref().is_some_and(Words::is_integers_past_int64);
        (of_integers && !quoted_text[i]).then_some(DataType::Int64)
    };
    let texts = retyped(&schema, integers);
    let empty_strings = match (finder, whole) {
        _ if unfollowed => EmptyStrings::scan(path, &texts)?,
        (Some(finder), true) => finder.finish(&texts),
        // Never for a file arrow-csv reads (it refuses what the csv crate refuses), but the
        // `""` fields stay those of the whole file.
        (Some(_), false) => EmptyStrings::scan(path, &texts)?,
        (None, _) => None,
    };
    Ok(Settled {
        schema,
        read,
        empty_strings,
        bare_words,
        words_in_text,
    })
}

/// Feeds each record of `path` to `rules`, until they are done; whether the whole file was
/// read.
fn feed(path: &Path, rules: &mut Rules<'_>) -> Result<bool> {
    let mut reader = records(Raw::new(File::open(path)?));
    let mut record = csv::StringRecord::new();
    // A record the reader refuses ends the pass; the read that follows reports it.
    while let Ok(true) = reader.read_record(&mut record) {
        let end = reader.position().byte();
        let start = record.position().map_or(end, csv::Position::byte);
        let line = reader.get_mut().line_of(start);
        rules.record(&record, line, reader.get_ref().bytes(start, end))?;
        reader.get_mut().forget(end);
        if rules.is_done() {
            break;
        }
    }
    Ok(reader.is_done())
}

/// What the pass feeds each record to.
struct Rules<'a> {
    /// Per field: the words of a text or float column not typed by the user (it may be
    /// numbers, booleans or times with words for a missing one, or words alone).
    words: Vec<Option<Words>>,
    /// Per field: a column the user typed with a type other than text, whose values may be
    /// words for a missing one.
    declared: Vec<Option<Declared>>,
    checks: CsvChecks<'a>,
    /// The fields with words, declared types or checks, less the columns found to stay text.
    watched: Vec<usize>,
    finder: Option<Finder>,
    quoting: Quoting,
}

impl<'a> Rules<'a> {
    fn new(
        path: &'a Path,
        typed: &'a SchemaRef,
        given: &'a [(String, DataType)],
        user: &[(String, DataType)],
    ) -> Self {
        // A documented column the user typed is theirs: `--schema vendor:string` pushes its
        // words as text (outside trial 72 F3: they went out as nulls). The others are the
        // types `read::with_documented_text` added: given, but not by the user.
        let named = |types: &[(String, DataType)], name: &str| types.iter().any(|(n, _)| n == name);
        let documented: Vec<bool> = (typed.fields().iter())
            .map(|f| named(given, f.name()) && !named(user, f.name()))
            .collect();
        let words: Vec<Option<Words>> = typed
            .fields()
            .iter()
            .map(|f| {
                // arrow-csv reads `NaN` and `nan` into a float: a Float64 column may be
                // integers and words.
                let open = matches!(f.data_type(), DataType::Utf8 | DataType::Float64)
                    && !given.iter().any(|(n, _)| n == f.name());
                open.then(Words::default)
            })
            .collect();
        let declared: Vec<Option<Declared>> = typed
            .fields()
            .iter()
            .map(|f| {
                let typed_so = given.iter().any(|(n, _)| n == f.name());
                typed_so.then(|| Declared::new(f.data_type())).flatten()
            })
            .collect();
        let open: Vec<bool> = words.iter().map(Option::is_some).collect();
        let checks = CsvChecks::new(path, typed, given, &open);
        let watched = (0..open.len())
            .filter(|&i| open[i] || declared[i].is_some() || checks.watches(i))
            .collect();
        // The key is an integer however it is quoted. A column the API documents as text is
        // given its type (text, as written) but its quotes are followed too: in R's
        // `write.csv` output a missing campaign is a bare `NA` among quoted values, which was
        // pushed as the text NA (outside trial 70 F5).
        let followed = typed
            .fields()
            .iter()
            .zip(&documented)
            .map(|(f, &documented)| {
                let name = f.name().as_str();
                name != "call_id" && (documented || !given.iter().any(|(n, _)| n == name))
            })
            .collect();
        Self {
            words,
            declared,
            checks,
            watched,
            finder: Finder::new(text_or_empty_columns(typed)),
            quoting: Quoting::new(followed).with_documented(documented),
        }
    }

    /// Whether the rest of the file can tell nothing more.
    fn is_done(&self) -> bool {
        self.watched.is_empty() && self.finder.is_none() && self.quoting.is_done()
    }

    /// One record, the line it starts on, and its raw bytes.
    fn record(&mut self, record: &csv::StringRecord, line: u64, raw: &[u8]) -> Result<()> {
        if let Some(finder) = &mut self.finder {
            finder.record(record, raw);
        }
        self.quoting.record(record, raw);
        // The line each value is on: a quoted field before it may span lines.
        let spans = memchr::memchr2(b'\r', b'\n', raw.trim_ascii()).is_some();
        let at = match spans {
            true => FieldLines::new(line, record.iter().map(str::as_bytes)),
            false => FieldLines::new(line, std::iter::empty()),
        };
        let mut text = false;
        for &field in &self.watched {
            // arrow-csv reads an empty field as null.
            let Some(value) = record.get(field).filter(|v| !v.is_empty()) else {
                continue;
            };
            let line = at.of(field);
            if let Some(column) = &mut self.words[field] {
                let word = column.note(line, value);
                text |= column.is_text();
                if word {
                    continue;
                }
            }
            if let Some(column) = &mut self.declared[field] {
                if column.note(value) {
                    continue;
                }
            }
            self.checks.value(field, line, value)?;
        }
        if text {
            // A column that stays text has nothing more to tell; an open column has no other
            // checks (the user gave it no type).
            let words = &self.words;
            self.watched
                .retain(|&i| !words[i].as_ref().is_some_and(Words::is_text));
        }
        Ok(())
    }
}

/// `schema` with field `i` of type `new(i)` where that is some.
fn retyped(schema: &SchemaRef, new: impl Fn(usize) -> Option<DataType>) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match new(i) {
            Some(data_type) => Field::new(f.name(), data_type, true),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
