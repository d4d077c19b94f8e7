//! The values of a CSV or NDJSON file about to be pushed, checked against the column types it
//! will be read with, before any row is read into Arrow: a type the user gave (`converz push
//! --schema`) must keep every value whole, and a column of times must name instants one way.
//!
//! arrow-csv and arrow-json fill a typed column without a word when the type keeps only part
//! of a value: a `Timestamp(Second)` column drops fractions of a second, an integer column
//! given the JSON number `1.5` keeps 1. The fetch side refuses such values by the same rule
//! (`decode::forced`), which this module applies to each value of a file, with its line.
//!
//! Times with a UTC offset (`2026-01-05T10:00:00+02:00`, `...Z`) name an instant; arrow-csv
//! reads them into a naive column as UTC wall clock, which a push would then send as the
//! tenant's wall clock. A column whose times all carry an offset is read as zone-aware UTC
//! instead, so the push converts it to `timezone=` as it does a zone-aware frame column; a
//! column mixing both spellings is refused (the times without one have no instant).
//!
//! A column of numbers the file's own spelling makes Float64 (no `--schema`) would round an
//! integer past 2^53 that does not fit a float (`12345678901234567891`). arrow-json makes a
//! column Float64 for an integer beyond int64 alone: such a column of integers is read as
//! text, as written (arrow-csv reads one so too). A column mixing fractions with such an
//! integer is refused with a type that keeps it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::value::RawValue;

use crate::decode::forced::{self, float_change, FloatChange, Grain, Offsets};
use crate::error::{Error, Result, DOES_NOT_FIT};

/// The zone of a column of times that carry a UTC offset.
const UTC: &str = "UTC";

/// The checks of a CSV file's values, fed one value at a time by the file's one pass
/// ([`super::scan`]), then [`finish`](Self::finish)ed with the types the pass settled.
pub(super) struct CsvChecks<'a> {
    columns: Watched<'a>,
    /// Per field of the schema (the header's columns, in order): its column in `columns`.
    at: Vec<Option<usize>>,
}

impl<'a> CsvChecks<'a> {
    /// The checks of `schema`'s columns (`typed`: those the user typed) and of its `open` ones:
    /// text columns the pass may settle as another type (numbers and words for a missing one,
    /// [`super::tokens`]), whose values are followed as a float column's and a time column's
    /// until their type is known.
    pub(super) fn new(
        path: &'a Path,
        schema: &'a Schema,
        typed: &'a [(String, DataType)],
        open: &[bool],
    ) -> Self {
        let columns = Watched::new(path, schema, typed, Format::Csv, open);
        let mut at = vec![None; schema.fields().len()];
        for (i, column) in columns.0.iter().enumerate() {
            at[column.field] = Some(i);
        }
        Self { columns, at }
    }

    /// Whether the values of field `field` are checked.
    pub(super) fn watches(&self, field: usize) -> bool {
        self.at[field].is_some()
    }

    /// A value (not empty: arrow-csv reads an empty field as null) of field `field`, on the
    /// file's line `line`: refused if the column's given type would change it.
    pub(super) fn value(&mut self, field: usize, line: u64, text: &str) -> Result<()> {
        match self.at[field] {
            Some(i) => self.columns.0[i].text(line, text),
            None => Ok(()),
        }
    }

    /// `settled` (the types the pass settled) with each column of naive times whose values all
    /// carry a UTC offset made zone-aware (UTC); an error for a column of times mixing both, or
    /// an integer its float column would round.
    pub(super) fn finish(self, settled: &SchemaRef) -> Result<SchemaRef> {
        self.columns.finish(settled)
    }
}

/// `schema` with each column of naive times whose values all carry a UTC offset made
/// zone-aware (UTC), and each column of integers a float would round made text, after checking
/// every value of the columns typed by the user (`typed`) against its type; `path` is an NDJSON
/// file: one JSON object per line.
pub(super) fn check_ndjson(
    path: &Path,
    schema: SchemaRef,
    typed: &[(String, DataType)],
) -> Result<SchemaRef> {
    let mut columns = Watched::new(path, &schema, typed, Format::Ndjson, &[]);
    let index: HashMap<String, usize> = columns
        .0
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.to_owned(), i))
        .collect();
    let nested: HashMap<&str, &DataType> = schema
        .fields()
        .iter()
        .filter(|f| f.data_type().is_nested())
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let mut reader = BufReader::new(File::open(path)?);
    let mut text = Vec::new();
    let mut line = 0_u64;
    loop {
        text.clear();
        if reader.read_until(b'\n', &mut text)? == 0 {
            break;
        }
        line += 1;
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // One object per line, as arrow-json's inference has already required; a line that
        // is not one ends the check, and the read that follows reports it.
        let Ok(Entries(row)) = serde_json::from_slice::<Entries<'_>>(&text) else {
            break;
        };
        if let Some((key, first, last)) = twice(&row) {
            return Err(Error::invalid(
                "path",
                format!(
                    "line {line} of {}: key {key:?} appears twice in one object ({first}, then \
                     {last}); a JSON reader keeps one and drops the other without a word: \
                     remove one of them",
                    path.display()
                ),
            ));
        }
        for (key, value) in &row {
            let Some(data_type) = nested.get(key.as_str()) else {
                continue;
            };
            if let Some((what, inside)) = super::exact_nested::changed(value, data_type) {
                return Err(Error::invalid(
                    "path",
                    format!(
                        "column `{key}` of {} holds {what} inside its lists or objects (line \
                         {line}: {inside}); each place inside them has one type: fix the values \
                         so that a place holds one kind",
                        path.display()
                    ),
                ));
            }
        }
        if columns.is_empty() {
            continue;
        }
        for (key, value) in row {
            if let Some(&i) = index.get(&key) {
                columns.0[i].json(line, value)?;
            }
        }
    }
    columns.finish(&schema)
}

/// One NDJSON line's keys and values, in order, a key written twice kept twice (a map keeps
/// the last: outside trial 18, `{"call_id":1,"x":1,"x":2}` pushed 2 without a word).
pub(super) struct Entries<'a>(pub(super) Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(input: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Entries<'de>, A::Error> {
                let mut all = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    all.push(entry);
                }
                Ok(Entries(all))
            }
        }
        input.deserialize_map(Visit)
    }
}

/// The first key of `row` written twice, with its first and last value's JSON text.
fn twice<'a>(row: &'a [(String, &RawValue)]) -> Option<(&'a str, &'a str, &'a str)> {
    let mut seen = std::collections::HashSet::with_capacity(row.len());
    let key = row
        .iter()
        .map(|(k, _)| k)
        .find(|k| !seen.insert(k.as_str()))?;
    let mut values = row.iter().filter(|(k, _)| k == key).map(|(_, v)| v.get());
    let first = values.next()?;
    Some((key, first, values.next_back().unwrap_or(first)))
}

/// The text format a check reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Ndjson,
}

/// The columns a check looks at.
struct Watched<'a>(Vec<Column<'a>>);

/// One column: whether its type can drop part of a value the user gave, and the first value
/// with and without a UTC offset, for a column of times.
struct Column<'a> {
    path: &'a Path,
    format: Format,
    /// Its place in the schema.
    field: usize,
    name: &'a str,
    data_type: &'a DataType,
    /// Set for a column the user typed with a type that can keep only part of a value.
    grain: Option<Grain>,
    /// A column of naive times (or an open one, which may be).
    times: bool,
    with_offset: Option<(u64, String)>,
    without_offset: Option<(u64, String)>,
    /// A Float64 column the file's numbers made so (no type given), or an open one, which
    /// may be.
    inferred_float: bool,
    /// Its first number written with a point or an exponent.
    fraction: Option<(u64, String)>,
    /// Its first whole number a float would round.
    rounded: Option<(u64, String)>,
    /// Its first number a Float64 would hold as another but for rounding a fraction (as
    /// infinity, as 0, as a subnormal with fewer digits), and what it would hold.
    changed: Option<(u64, String, FloatChange)>,
    /// Its first infinity or NaN that is not a word for a missing value (`inf`, `-inf`),
    /// for a float column's or an open one's (a float type the user gave, or one the file's
    /// numbers make).
    not_finite: Option<(u64, String)>,
    /// An NDJSON text column arrow-json made so from strings and other values (no type given).
    inferred_text: bool,
    /// Its first string and its first number or boolean.
    string: Option<(u64, String)>,
    scalar: Option<(u64, String)>,
    /// Its first boolean and its first number (a column of both and no string is text to
    /// arrow-json too).
    boolean: Option<(u64, String)>,
    number: Option<(u64, String)>,
    /// A CSV column of naive times the file's spelling made so (no type given): its first
    /// time (or date) a push would send spelled otherwise than written.
    respelled: Option<(u64, String)>,
    respell: bool,
}

impl<'a> Watched<'a> {
    fn new(
        path: &'a Path,
        schema: &'a Schema,
        typed: &'a [(String, DataType)],
        format: Format,
        open: &[bool],
    ) -> Self {
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(i, field)| {
                let data_type = field.data_type();
                let given = typed.iter().any(|(name, _)| name == field.name());
                let open = open.get(i).copied().unwrap_or(false);
                let grain = given.then(|| Grain::of(data_type)).flatten();
                let times = open || matches!(data_type, DataType::Timestamp(_, None));
                let respell = times && !given && format == Format::Csv;
                let inferred_float = open || !given && *data_type == DataType::Float64;
                // The key is an integer (a text one is named by `read::check_call_ids`, with
                // advice that fits a key).
                let inferred_text = !given
                    && format == Format::Ndjson
                    && *data_type == DataType::Utf8
                    && field.name() != "call_id";
                (grain.is_some() || times || inferred_float || inferred_text).then_some(Column {
                    path,
                    format,
                    field: i,
                    name: field.name(),
                    data_type,
                    grain,
                    times,
                    with_offset: None,
                    without_offset: None,
                    inferred_float,
                    fraction: None,
                    rounded: None,
                    changed: None,
                    not_finite: None,
                    inferred_text,
                    string: None,
                    scalar: None,
                    boolean: None,
                    number: None,
                    respelled: None,
                    respell,
                })
            })
            .collect();
        Self(columns)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `schema` (each column's settled type: an open column's is known only now) with the
    /// columns whose times all carry an offset made zone-aware (UTC), and the NDJSON columns
    /// of integers a float would round made text.
    fn finish(self, schema: &SchemaRef) -> Result<SchemaRef> {
        let mut zoned = Vec::new();
        let mut text = Vec::new();
        for column in &self.0 {
            let settled = schema.field(column.field).data_type();
            if let (Some((a, string)), Some((b, scalar))) = (&column.string, &column.scalar) {
                return Err(Error::invalid(
                    format!("schema[{:?}]", column.name),
                    format!(
                        "column `{name}` of {} holds text (line {a}: {string}) and other \
                         values (line {b}: {scalar}): give --schema {name}:string \
                         (schema={{\"{name}\": \"string\"}}) to push each value as text, as \
                         written, or fix the values",
                        column.path.display(),
                        name = column.name,
                    ),
                ));
            }
            // Booleans and numbers in one column (`true` and `1`): arrow-json makes it text,
            // which would send `"true"` and `"1"`, strings the user never wrote (outside trial
            // 18, F11). Sending each as the JSON it is would need a column of two types, which
            // an Arrow column (and a frame pushed instead of the file) cannot hold, and the
            // API's field has one type: which one is the user's call, not converz's guess.
            if let (Some((a, boolean)), Some((b, number))) = (&column.boolean, &column.number) {
                return Err(mixed_kinds(
                    column.path,
                    column.name,
                    ("booleans", *a, boolean),
                    ("numbers", *b, number),
                ));
            }
            if let (Some((a, value)), true) = (&column.not_finite, settled.is_floating()) {
                // The push would refuse it naming a row of its frame, with polars' advice
                // (outside trial 15), where the file has a line. It is the file's value to fix,
                // not a type to give: the file is the parameter (outside trial 75 F7).
                if column.name == "call_id" {
                    return Err(column.no_call_id(*a, value)); // outside trial 75 F5
                }
                let missing = match column.format {
                    Format::Csv => "leave the field empty (or write NA)",
                    Format::Ndjson => "write null (or leave the key out)",
                };
                // No text alternative is offered: pushed as text, the column would be text
                // for every call, the rows not in the file too (outside trial 76 F5).
                return Err(Error::invalid(
                    "path",
                    format!(
                        "line {a} of {}: column `{name}` holds {value}, which is not a finite \
                         number, and JSON (so the API) has none: {missing} to leave the value \
                         unchanged, or write the number it stands for",
                        column.path.display(),
                        name = column.name,
                    ),
                ));
            }
            if let (Some((a, value, _)), true, "call_id") =
                (&column.changed, settled.is_floating(), column.name)
            {
                // As text it would be refused as no call's id in turn (outside trial 76 F3).
                return Err(column.no_call_id(*a, value));
            }
            if let (Some((a, value, change)), true) = (&column.changed, settled.is_floating()) {
                return Err(Error::invalid(
                    format!("schema[{:?}]", column.name),
                    format!(
                        "line {a} of {}: column `{name}` holds {value}, which {}, its numbers \
                         make a Float64 column: give --schema {name}:string \
                         (schema={{\"{name}\": \"string\"}}) to push each value as written",
                        column.path.display(),
                        change.held_as(),
                        name = column.name,
                    ),
                ));
            }
            match (&column.rounded, &column.fraction) {
                _ if *settled != DataType::Float64 => {}
                // Integers alone, some past 2^53: text, as written, from either format (outside
                // trial 35 F7: a CSV one beside `NA`, read as a float column of words, was
                // refused as if it held a fraction).
                (Some(_), None) => text.push(column.name.to_owned()),
                (Some((a, integer)), fraction) => {
                    let besides = match fraction {
                        Some((b, number)) if b != a => {
                            format!(" (with numbers such as {number}, line {b})")
                        }
                        _ => String::new(),
                    };
                    // The key is no text: as text it is refused as no call's id (outside
                    // trial 70 F11: each fix named the other).
                    let fix = match column.name {
                        "call_id" => "give --schema call_id:int64 (schema={\"call_id\": \
                                      \"int64\"}) to read the ids as integers; an id beyond \
                                      2^53 must then be written without a point or an exponent, \
                                      which a float cannot hold exactly"
                            .to_owned(),
                        name => format!(
                            "give --schema {name}:string (schema={{\"{name}\": \"string\"}}) \
                             to push each value as written"
                        ),
                    };
                    return Err(Error::invalid(
                        format!("schema[{:?}]", column.name),
                        format!(
                            "line {a} of {}: the whole number {integer} would be rounded in the \
                             float column `{name}` its numbers make{besides}: {fix}",
                            column.path.display(),
                            name = column.name,
                        ),
                    ));
                }
                _ => {}
            }
            match (&column.with_offset, &column.without_offset) {
                _ if !matches!(settled, DataType::Timestamp(_, None)) => {}
                (Some((a, with)), Some((b, without))) => {
                    return Err(Error::invalid(
                        "path",
                        format!(
                            "column `{}` of {} mixes times with a UTC offset (line {a}: \
                             {with}) and without one (line {b}: {without}); one without an \
                             offset names no instant: give every time of the column an \
                             offset, or none (times are then the tenant's wall clock)",
                            column.name,
                            column.path.display()
                        ),
                    ));
                }
                (Some(_), None) => zoned.push(column.name.to_owned()),
                _ => {}
            }
            // Naive times a push would spell otherwise than the file (a date beside times
            // sent as its midnight, `.1234567` as `.123456700`, a `T` as a space) are sent as
            // the text written, as the same values of an NDJSON file are, and as a fetch keeps
            // such a column (outside trial 18, F6). A column every value of which the push
            // spells back as written keeps its type.
            if matches!(settled, DataType::Timestamp(_, None))
                && column.with_offset.is_none()
                && column.respelled.is_some()
            {
                text.push(column.name.to_owned());
            }
        }
        if zoned.is_empty() && text.is_empty() {
            return Ok(Arc::clone(schema));
        }
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|field| match field.data_type() {
                DataType::Timestamp(unit, None) if zoned.contains(field.name()) => Field::new(
                    field.name(),
                    DataType::Timestamp(*unit, Some(UTC.into())),
                    field.is_nullable(),
                ),
                _ if text.contains(field.name()) => {
                    Field::new(field.name(), DataType::Utf8, field.is_nullable())
                }
                _ => field.as_ref().clone(),
            })
            .collect();
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            schema.metadata().clone(),
        )))
    }
}

impl Column<'_> {
    /// The error of a `call_id` that is no call's id (an infinity, a number no integer holds):
    /// no field left empty nor text makes a key, so the row is what to fix.
    fn no_call_id(&self, line: u64, value: &str) -> Error {
        Error::invalid(
            "path",
            format!(
                "line {line} of {}: call_id is {value}, {}: fix or drop that row",
                self.path.display(),
                super::read::NO_CALL_ID
            ),
        )
    }

    /// A CSV field (not empty).
    fn text(&mut self, line: u64, text: &str) -> Result<()> {
        if let Some(grain) = self.grain {
            // The check reads JSON text: a number as itself (when it is one; any other text an
            // integer column refuses when it is read), a time as a JSON string. A float column
            // also reads `+5`, ` 5` or `.5` as numbers: as a JSON string, the check reads them
            // as arrow does.
            let raw = match grain {
                Grain::Integer | Grain::Float(_) if is_number(text) => Some(text.to_owned()),
                Grain::Integer => None,
                Grain::Float(_) | Grain::Day | Grain::Timestamp(_) => {
                    Some(serde_json::to_string(text)?)
                }
            };
            if let Some(raw) = raw {
                self.check(grain, line, raw.as_bytes())?;
            }
        }
        if self.inferred_float && is_number(text) {
            self.number(line, text);
        }
        let float = self.inferred_float || matches!(self.grain, Some(Grain::Float(_)));
        if float && self.not_finite.is_none() && not_finite(text) {
            self.not_finite = Some((line, text.to_owned()));
        }
        self.offset(line, text);
        Ok(())
    }

    /// An NDJSON value, as its JSON text.
    fn json(&mut self, line: u64, value: &RawValue) -> Result<()> {
        let raw = value.get();
        if let Some(grain) = self.grain {
            self.check(grain, line, raw.as_bytes())?;
        }
        if self.inferred_float && raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            self.number(line, raw);
        }
        if self.inferred_text && raw != "null" && !raw.starts_with(['[', '{']) {
            let slot = if raw.starts_with('"') {
                &mut self.string
            } else {
                &mut self.scalar
            };
            if slot.is_none() {
                *slot = Some((line, raw.to_owned()));
            }
            let slot = match raw {
                _ if raw.starts_with('"') => None,
                "true" | "false" => Some(&mut self.boolean),
                _ => Some(&mut self.number),
            };
            if let Some(slot @ None) = slot {
                *slot = Some((line, raw.to_owned()));
            }
        }
        // Only a string can carry an offset (a number is a count of units since 1970).
        if raw.starts_with('"') {
            let text: String = serde_json::from_str(raw)?;
            // A float column reads `"Inf"` as infinity: named by its line, as in a CSV file
            // (outside trial 75 F7: it was refused by the frame's check, naming a row).
            let float = self.inferred_float || matches!(self.grain, Some(Grain::Float(_)));
            if float && self.not_finite.is_none() && not_finite(&text) {
                self.not_finite = Some((line, raw.to_owned()));
            }
            self.offset(line, &text);
        }
        Ok(())
    }

    fn check(&self, grain: Grain, line: u64, raw: &[u8]) -> Result<()> {
        let refused = |reason: String| {
            Error::invalid(
                format!("schema[{:?}]", self.name),
                format!("line {line} of {}: {reason}", self.path.display()),
            )
        };
        // A time with an offset names an instant here (see the module's docs), never refused
        // for it.
        forced::check_read(grain, self.name, self.data_type, raw, Offsets::Instants)
            .map_err(refused)?;
        let Grain::Float(single) = grain else {
            return Ok(());
        };
        // What the fetch's rule keeps and a push refuses (outside trial 16): a number held as
        // 0 or as a subnormal with fewer digits, and a whole number written out in digits
        // that the float holds as another.
        let number = match raw.first() {
            Some(b'"') => serde_json::from_slice::<String>(raw)
                .ok()
                .and_then(|text| forced::number_text(&text)),
            _ => std::str::from_utf8(raw).ok().map(str::to_owned),
        };
        match number.and_then(|n| float_change(&n, single)) {
            Some(change) => Err(refused(change.reason(
                &String::from_utf8_lossy(raw),
                self.name,
                self.data_type,
            ))),
            None => Ok(()),
        }
    }

    /// Notes the first number written with a point or an exponent, the first whole number a
    /// float would round, and the first number a Float64 would hold as another (as infinity,
    /// as 0...): `forced::float_change`'s rule, told at a glance for most numbers.
    fn number(&mut self, line: u64, number: &str) {
        // A whole number written as a float (`9007199254740993.0`) counts as one: a column
        // holding it is no column of integers arrow-json read as floats, which is text as
        // written, but a float column that would round it, refused as a CSV one is (outside
        // trial 18: NDJSON pushed `9007199254740993.0` and `2` as text, unsaid).
        if number.contains(['.', 'e', 'E']) && self.fraction.is_none() {
            self.fraction = Some((line, number.to_owned()));
        }
        if forced::float64_keeps_at_a_glance(number.as_bytes()) {
            return;
        }
        match float_change(number, false) {
            Some(FloatChange::Rounded { .. }) if self.rounded.is_none() => {
                self.rounded = Some((line, number.to_owned()));
            }
            Some(FloatChange::Rounded { .. }) | None => {}
            Some(change) if self.changed.is_none() => {
                self.changed = Some((line, number.to_owned(), change));
            }
            Some(_) => {}
        }
    }

    /// Notes the first time with and without a UTC offset.
    fn offset(&mut self, line: u64, text: &str) {
        if !self.times {
            return;
        }
        let with = has_offset(text);
        let slot = if with {
            &mut self.with_offset
        } else {
            &mut self.without_offset
        };
        if slot.is_none() {
            *slot = Some((line, text.to_owned()));
        }
        // A time with an offset names an instant, which the push sends on the tenant's wall
        // clock by design (module docs); one without is sent as the push spells a time.
        if self.respell && !with && self.respelled.is_none() && respelled(text) {
            self.respelled = Some((line, text.to_owned()));
        }
    }
}

/// Whether a push would send the naive time (or date) `text` spelled otherwise than written:
/// it is sent as `YYYY-MM-DD HH:MM:SS` and the fraction the encoder writes (`encode::values`,
/// `TimestampWriter`: none when zero, else 3, 6 or 9 digits, the fewest that hold it).
fn respelled(text: &str) -> bool {
    let Ok(at) = arrow_cast::parse::string_to_datetime(&chrono::Utc, text) else {
        return false;
    };
    let at = at.naive_utc();
    let mut sent = Vec::with_capacity(29);
    crate::json_write::push_datetime(&mut sent, at);
    let nanos = chrono::Timelike::nanosecond(&at) % 1_000_000_000;
    let fraction = if nanos % 1_000 != 0 {
        format!(".{nanos:09}")
    } else if nanos % 1_000_000 != 0 {
        format!(".{:06}", nanos / 1_000)
    } else if nanos != 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else {
        String::new()
    };
    sent.extend_from_slice(fraction.as_bytes());
    sent != text.as_bytes()
}

/// The refusal of a column whose values are of two kinds, `a` and `b` (what they are, the
/// line of the first of each, its text: booleans `true` and numbers `1`), which a push would
/// send as text, naming the type that sends them so, as written.
pub(super) fn mixed_kinds(
    path: &Path,
    name: &str,
    (a, line_a, value_a): (&str, u64, &str),
    (b, line_b, value_b): (&str, u64, &str),
) -> Error {
    Error::invalid(
        format!("schema[{name:?}]"),
        format!(
            "column `{name}` of {} holds {a} (line {line_a}: {value_a}) and {b} (line \
             {line_b}: {value_b}), and a column has one type: give --schema {name}:string \
             (schema={{\"{name}\": \"string\"}}) to push each value as text, as written, or \
             fix the values",
            path.display(),
        ),
    )
}

/// Whether a time's text ends in a UTC offset (`Z`, `+02:00`, `-0530`, `+02`) as arrow-cast
/// reads one: a sign or `Z` after the date (`YYYY-MM-DD`, whose dashes are not signs).
fn has_offset(text: &str) -> bool {
    let text = text.trim();
    let time = text
        .char_indices()
        .nth(10)
        .map_or("", |(at, _)| &text[at..]);
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

impl FloatChange {
    /// Why `raw` is refused in column `name`, forced to `data_type`, with a type that keeps it.
    fn reason(&self, raw: &str, name: &str, data_type: &DataType) -> String {
        let keep = match (self, data_type) {
            (Self::Small { .. } | Self::Infinite, DataType::Float32) => "float64",
            _ => "string",
        };
        format!(
            "{raw}{DOES_NOT_FIT}{data_type} without losing its value (column `{name}` \
             is forced to {data_type}, in which it {}): use a type that keeps it, e.g. \
             schema={{\"{name}\": \"{keep}\"}}",
            self.held_as()
        )
    }
}

/// Whether an integer (digits, maybe a sign) has no f64 of its exact value.
#[cfg(test)]
fn float_rounds(integer: &str) -> bool {
    matches!(
        float_change(integer, false),
        Some(FloatChange::Rounded { .. })
    )
}

/// Whether CSV text is a float that is not a finite number (`inf`, `-inf`, `Infinity`, `NAN`)
/// and not one of the words for a missing value (`NaN`, `nan`).
fn not_finite(text: &str) -> bool {
    !super::tokens::MISSING.contains(&text)
        && !is_number(text)
        && text.parse::<f64>().is_ok_and(|f| !f.is_finite())
}

/// Whether CSV text is a number in JSON's grammar (leading zeros allowed, as arrow-csv
/// reads them), which [`forced::check`] expects of a number.
pub(super) fn is_number(text: &str) -> bool {
    let rest = text.strip_prefix('-').unwrap_or(text).as_bytes();
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let whole = digits(rest);
    if whole == 0 {
        return false;
    }
    let mut rest = &rest[whole..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = digits(fraction);
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exponent = exponent
            .strip_prefix(b"+")
            .or_else(|| exponent.strip_prefix(b"-"))
            .unwrap_or(exponent);
        let n = digits(exponent);
        return n > 0 && n == exponent.len();
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_told_from_the_dashes_of_a_date() {
        for with in [
            "2026-01-05T10:00:00Z",
            "2026-01-05 10:00:00.5+02:00",
            "2026-01-05T10:00:00-0530",
            "2026-01-05T10:00:00+02",
            " 2026-01-05T10:00:00z ",
        ] {
            assert!(has_offset(with), "{with}");
        }
        for without in [
            "2026-01-05",
            "2026-01-05T10:00:00",
            "2026-01-05 10:00:00.123456",
        ] {
            assert!(!has_offset(without), "{without}");
        }
    }

    #[test]
    fn integers_a_float_rounds_are_told() {
        for exact in ["0", "-007", "9007199254740992", "9223372036854775808"] {
            assert!(!float_rounds(exact), "{exact}");
        }
        for rounded in ["9007199254740993", "-12345678901234567891"] {
            assert!(float_rounds(rounded), "{rounded}");
        }
    }

    /// Outside trial 16: `1e-50` under float32 became 0 and `100000000000000000000000`
    /// under float64 99999999999999991611392, both without a word.
    #[test]
    fn a_float_type_changes_only_fractions_by_rounding() {
        let small = |held: &str| Some(FloatChange::Small { held: held.into() });
        assert_eq!(float_change("1e-50", true), small("0"));
        assert_eq!(float_change("-1e-400", false), small("0"));
        assert_eq!(
            float_change("0.1e-999999999999999999999", false),
            small("0")
        );
        assert_eq!(float_change("1.234567e-44", true), small("1.261169e-44"));
        assert_eq!(
            float_change("-1.2345678901e-320", false),
            small("-1.234670049e-320")
        );
        assert_eq!(
            float_change("100000000000000000000000", false),
            Some(FloatChange::Rounded {
                whole: "100000000000000000000000".into(),
                held: "99999999999999991611392".into()
            })
        );
        assert!(matches!(
            float_change("-100000000000000000000000.000", false),
            Some(FloatChange::Rounded { held, .. }) if held == "-99999999999999991611392"
        ));
        assert!(matches!(
            float_change("16777217", true),
            Some(FloatChange::Rounded { .. })
        ));
        assert_eq!(float_change("1e400", false), Some(FloatChange::Infinite));
        // Kept: rounding a fraction, what prints back as written, zero, exact whole numbers.
        for kept in [
            "1e23",
            "1.0e23",
            "0.1",
            "1.00000001",
            "1e-40",
            "1e-45",
            "0.0",
            "-0e-999",
            "0",
            "10000000000000000000000",
            "9007199254740992",
            "1e-300",
            "2.2250738585072014e-308",
        ] {
            assert_eq!(float_change(kept, kept.contains("-4")), None, "{kept}");
            assert_eq!(float_change(kept, false), None, "{kept}");
        }
    }

    #[test]
    fn numbers_are_json_numbers() {
        for number in ["0", "-1", "007", "1.5", "-2.50e1", "1E+3", "1e400"] {
            assert!(is_number(number), "{number}");
        }
        for text in [
            "", "-", "1.", ".5", "1e", "1.2.3", "12abc", "+5", "inf", " 1",
        ] {
            assert!(!is_number(text), "{text}");
        }
    }
}
