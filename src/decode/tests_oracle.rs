//! The reference for the differential tests (`tests_fuzz.rs`): pages parsed by serde_json, and
//! column types and values derived from the documented rules (`mod.rs` docs), written without
//! `infer.rs` or `classify.rs`.
//!
//! Nested columns (objects, arrays) are compared loosely: their values must agree as JSON
//! (numbers by value, missing fields as null, date strings by the instant they name), not in
//! their exact Arrow shape. Everything else is compared exactly.

use std::fmt;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef};
use arrow_json::writer::{make_encoder, EncoderOptions};
use arrow_schema::{DataType, Field, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::DecodedTable;

/// One row as sent: its keys in order, duplicates kept, values as their exact JSON text.
struct Row(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Row;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Row, M::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = m.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Row(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

/// A value as the reference sees it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Raw {
    Null,
    Bool(bool),
    /// A number's exact text.
    Num(String),
    Str(String),
    Nested(Value),
}

/// What the decoder must produce for a fetch, or `None` if the pages are not valid.
#[derive(Debug)]
pub(super) struct Expected {
    pub names: Vec<String>,
    pub rows: usize,
    /// Exact Arrow types; `None` for nested columns (checked loosely).
    pub types: Vec<Option<DataType>>,
    /// Per column, per row: the value (`Raw::Null` when the row lacks the key).
    pub columns: Vec<Vec<Raw>>,
}

/// Whether the oracle can say what `pages` give: `false` when a nested value holds a number
/// serde_json's `Value` cannot hold (`[1e400]`; the comparison of nested values parses them;
/// the decoder's own handling of it is not modelled here).
/// A fuzz case it cannot model is skipped, not guessed at.
pub(super) fn models(pages: &[Vec<u8>]) -> bool {
    pages.iter().all(|body| {
        let Ok(rows) = serde_json::from_slice::<Vec<Row>>(body) else {
            return true; // not valid: `expect` says so
        };
        rows.iter().flat_map(|Row(pairs)| pairs).all(|(_, raw)| {
            let text = raw.get();
            let out_of_range = |e: serde_json::Error| e.to_string().contains("number out of range");
            !text.starts_with(['{', '['])
                || serde_json::from_str::<Value>(text).map_err(out_of_range) != Err(true)
        })
    })
}

/// Parses `pages` and applies the rules; `None` if any page is not a JSON array of objects.
pub(super) fn expect(pages: &[Vec<u8>], parse_dates: bool) -> Option<Expected> {
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<Vec<Raw>> = Vec::new();
    let mut typing: Vec<Vec<Raw>> = Vec::new();
    let mut rows = 0;
    for body in pages {
        let parsed: Vec<Row> = serde_json::from_slice(body).ok()?;
        for Row(pairs) in parsed {
            for (key, raw) in pairs {
                let i = names.iter().position(|n| *n == key).unwrap_or_else(|| {
                    names.push(key);
                    columns.push(vec![Raw::Null; rows]);
                    typing.push(Vec::new());
                    columns.len() - 1
                });
                let value = to_raw(raw.get())?;
                // A repeated key: the last value wins, as in serde_json and Python's json, but
                // the type is inferred from every value sent (the documented behaviour).
                if columns[i].len() > rows {
                    let dropped = columns[i].pop().expect("a value");
                    typing[i].push(dropped);
                }
                columns[i].push(value);
            }
            rows += 1;
            columns.iter_mut().for_each(|c| c.resize(rows, Raw::Null));
        }
    }
    let types = columns
        .iter()
        .zip(typing)
        .map(|(c, mut extra)| {
            extra.extend_from_slice(c);
            type_of(&extra, parse_dates)
        })
        .collect();
    Some(Expected {
        names,
        rows,
        types,
        columns,
    })
}

/// A value as the oracle sees it; `None` for a string (or nested value) serde_json refuses
/// though the page's grammar passed: a lone surrogate escape (`"\ud800"`), not text in any
/// encoding, which the decoder refuses too.
fn to_raw(text: &str) -> Option<Raw> {
    Some(match text.as_bytes()[0] {
        b'n' => Raw::Null,
        b't' => Raw::Bool(true),
        b'f' => Raw::Bool(false),
        b'"' => Raw::Str(serde_json::from_str(text).ok()?),
        b'{' | b'[' => Raw::Nested(serde_json::from_str(text).ok()?),
        _ => Raw::Num(text.to_owned()),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Bool,
    Int,
    BigInt,
    Float,
    Date,
    Ts,
    Str,
    Obj,
    List,
}

fn class(raw: &Raw, parse_dates: bool) -> Option<Class> {
    Some(match raw {
        Raw::Null => return None,
        Raw::Bool(_) => Class::Bool,
        // A float Float64 would not keep (infinity, or another number) is kept as its text,
        // as an integer beyond int64 is.
        Raw::Num(t) if t.contains(['.', 'e', 'E']) && float64_keeps(t) => Class::Float,
        Raw::Num(t) if t.contains(['.', 'e', 'E']) => Class::BigInt,
        Raw::Num(t) if t.parse::<i64>().is_ok() => Class::Int,
        Raw::Num(_) => Class::BigInt,
        Raw::Str(s) if parse_dates && date_days(s).is_some() => Class::Date,
        Raw::Str(s) if parse_dates && written_back(s) => Class::Ts,
        Raw::Str(_) => Class::Str,
        Raw::Nested(Value::Object(_)) => Class::Obj,
        Raw::Nested(_) => Class::List,
    })
}

/// Whether Float64 keeps the float literal `text` by the one rule for a float's values
/// (`forced::float_change`, which has tests of its own): a number it would hold as infinity
/// or as another number is kept as its text.
fn float64_keeps(text: &str) -> bool {
    super::forced::float_change(text, false).is_none()
}

fn type_of(column: &[Raw], parse_dates: bool) -> Option<DataType> {
    let mut seen: Vec<Class> = column
        .iter()
        .filter_map(|r| class(r, parse_dates))
        .collect();
    seen.sort_by_key(|c| *c as u8);
    seen.dedup();
    let only = |allowed: &[Class]| seen.iter().all(|c| allowed.contains(c));
    let has = |c: Class| seen.contains(&c);
    if has(Class::Obj) || has(Class::List) {
        return if seen.len() > 1 {
            Some(DataType::Utf8)
        } else {
            None
        };
    }
    Some(match seen.as_slice() {
        [] => DataType::Null,
        [Class::Bool] => DataType::Boolean,
        [Class::Int] => DataType::Int64,
        [Class::Date] => DataType::Date32,
        _ if only(&[Class::Int, Class::Float]) => DataType::Float64,
        [Class::Ts] => DataType::Timestamp(TimeUnit::Microsecond, None),
        _ => DataType::Utf8,
    })
}

/// Days since 1970-01-01 for `YYYY-MM-DD`.
pub(super) fn date_days(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    let shape = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
    let digits = [0..4, 5..7, 8..10]
        .into_iter()
        .all(|r| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit)));
    if !(shape && digits) {
        return None;
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// Whether `s` is a time that converz's writers (a push, a CSV or NDJSON file) spell back as
/// `s`: chrono's `%.f`, no fraction when it is zero, three digits for whole milliseconds, else
/// six.
pub(super) fn written_back(s: &str) -> bool {
    let Some(micros) = ts_micros(s) else {
        return false;
    };
    chrono::DateTime::from_timestamp_micros(micros)
        .is_some_and(|t| t.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string() == s)
}

/// Microseconds since the epoch for `YYYY-MM-DD[ T]HH:MM:SS[.f{1,9}]` (nanoseconds floored).
pub(super) fn ts_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    date_days(s.get(..10)?)?;
    let time_shape = b.len() >= 19
        && matches!(b[10], b' ' | b'T')
        && b[13] == b':'
        && b[16] == b':'
        && [11..13, 14..16, 17..19]
            .into_iter()
            .all(|r| b[r].iter().all(u8::is_ascii_digit));
    let fraction = &b.get(19..)?;
    let fraction_ok = fraction.is_empty()
        || (fraction[0] == b'.'
            && (2..=10).contains(&fraction.len())
            && fraction[1..].iter().all(u8::is_ascii_digit));
    if !(time_shape && fraction_ok) {
        return None;
    }
    let text = format!("{} {}", &s[..10], &s[11..]);
    let t = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let utc = t.and_utc();
    Some(utc.timestamp() * 1_000_000 + i64::from(utc.timestamp_subsec_micros()))
}

/// Checks `table` against `want`; the error says which cell differs.
pub(super) fn check(table: &DecodedTable, want: &Expected) -> Result<(), String> {
    let names: Vec<&str> = table
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    if names != want.names {
        return Err(format!("columns {names:?}, want {:?}", want.names));
    }
    let rows = want.rows;
    if table.rows != rows {
        return Err(format!("{} rows, want {rows}", table.rows));
    }
    if want.names.is_empty() {
        return Ok(());
    }
    let batch = arrow_select::concat::concat_batches(&table.schema, &table.batches)
        .map_err(|e| e.to_string())?;
    for (i, name) in want.names.iter().enumerate() {
        let array = batch.column(i);
        if let Some(t) = &want.types[i] {
            if array.data_type() != t {
                return Err(format!("`{name}` is {}, want {t}", array.data_type()));
            }
        }
        for (row, raw) in want.columns[i].iter().enumerate() {
            if !cell_matches(array, row, raw) {
                return Err(format!(
                    "`{name}` row {row}: got {}, want {raw:?}",
                    show(array, row)
                ));
            }
        }
    }
    Ok(())
}

fn show(array: &ArrayRef, row: usize) -> String {
    let options = arrow_cast::display::FormatOptions::default().with_null("null");
    arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &options).map_or_else(
        |e| e.to_string(),
        |f| format!("{:?}", f.value(row).to_string()),
    )
}

fn cell_matches(array: &ArrayRef, row: usize, raw: &Raw) -> bool {
    // A Null-typed array has no validity buffer: every slot is null.
    let null = array.data_type() == &DataType::Null || array.is_null(row);
    if null || *raw == Raw::Null {
        return null && *raw == Raw::Null;
    }
    match (array.data_type(), raw) {
        (DataType::Boolean, Raw::Bool(b)) => array.as_boolean().value(row) == *b,
        (DataType::Int64, Raw::Num(t)) => {
            t.parse() == Ok(array.as_primitive::<Int64Type>().value(row))
        }
        (DataType::Float64, Raw::Num(t)) => {
            // `==`, not bits: an integer `-0` is 0, and pages decoded as Int64 cast it so.
            let got = array.as_primitive::<Float64Type>().value(row);
            t.parse::<f64>().is_ok_and(|w| w == got)
        }
        (DataType::Date32, Raw::Str(s)) => {
            date_days(s) == Some(array.as_primitive::<Date32Type>().value(row))
        }
        (DataType::Timestamp(TimeUnit::Microsecond, None), Raw::Str(s)) => {
            let got = array.as_primitive::<TimestampMicrosecondType>().value(row);
            ts_micros(s).or_else(|| date_days(s).map(|d| i64::from(d) * 86_400_000_000))
                == Some(got)
        }
        (DataType::Utf8, raw) => text_matches(array.as_string::<i32>().value(row), raw),
        (DataType::Struct(_) | DataType::List(_), Raw::Nested(want)) => {
            nested_value(array, row).is_some_and(|got| loose_eq(&got, want))
        }
        _ => false,
    }
}

/// A Utf8 cell: a string as is, a number or bool as its JSON text, a nested value as JSON.
/// Pages decoded before a column turned to text are cast, so numbers and timestamps may come
/// back in canonical form (`1.50` as `1.5`, `T` as a space): those compare by value.
fn text_matches(got: &str, raw: &Raw) -> bool {
    match raw {
        Raw::Null => false,
        Raw::Bool(b) => got == if *b { "true" } else { "false" },
        Raw::Num(t) => got == t || same_number(got, t),
        Raw::Str(s) => got == s || instant(s).is_some_and(|w| instant(got) == Some(w)),
        Raw::Nested(want) => serde_json::from_str::<Value>(got).is_ok_and(|g| loose_eq(&g, want)),
    }
}

/// The instant a date or timestamp string names (a date is its midnight).
fn instant(s: &str) -> Option<i64> {
    ts_micros(s).or_else(|| date_days(s).map(|d| i64::from(d) * 86_400_000_000))
}

fn same_number(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn nested_value(array: &ArrayRef, row: usize) -> Option<Value> {
    let field = std::sync::Arc::new(Field::new("v", array.data_type().clone(), true));
    let options = EncoderOptions::default().with_explicit_nulls(true);
    let mut encoder = make_encoder(&field, array.as_ref(), &options).ok()?;
    let mut buf = Vec::new();
    encoder.encode(row, &mut buf);
    serde_json::from_slice(&buf).ok()
}

/// JSON equality up to what typing changes: number representation, missing vs null fields,
/// and date strings rendered as Arrow dates or timestamps.
pub(super) fn loose_eq(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => g.as_f64() == w.as_f64(),
        (Value::String(g), Value::String(w)) => {
            g == w || ts_micros(w).is_some_and(|t| ts_micros(g) == Some(t))
        }
        (Value::String(g), Value::Number(w)) => {
            g == &w.to_string() || same_number(g, &w.to_string())
        }
        (Value::String(g), Value::Bool(w)) => g == &w.to_string(),
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| loose_eq(g, w))
        }
        (Value::Object(g), Value::Object(w)) => {
            let null = Value::Null;
            let keys = g.keys().chain(w.keys());
            keys.clone()
                .all(|k| loose_eq(g.get(k).unwrap_or(&null), w.get(k).unwrap_or(&null)))
        }
        (Value::String(g), w @ (Value::Object(_) | Value::Array(_))) => {
            serde_json::from_str::<Value>(g).is_ok_and(|g| loose_eq(&g, w))
        }
        _ => got == want,
    }
}
