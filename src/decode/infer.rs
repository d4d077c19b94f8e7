//! Schema inference for one page and widening across pages.
//!
//! arrow-json infers types from parsed values; on top of that, text columns whose every value is
//! an ISO date or timestamp become `Date32` / `Timestamp(µs)`, and two schemas merge by the
//! rules the issue sets: a column is never dropped, `Null` gives way to anything, ints widen to
//! floats, and incompatible types fall back to text (with a warning).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::Value;

use crate::error::{Error, Result};

/// The naive timestamp type decoded columns use (polars and pandas default to µs or finer).
pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// Infers the schema of `rows` (JSON objects), in first-appearance column order.
pub fn infer(rows: &[Value], parse_dates: bool) -> Result<Schema> {
    let inferred = arrow_json::reader::infer_json_schema_from_iterator(rows.iter().map(Ok))?;
    let mut order: Vec<&String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        if let Value::Object(map) = row {
            for key in map.keys() {
                if seen.insert(key) {
                    order.push(key);
                }
            }
        }
    }
    let fields: Vec<Field> = order
        .into_iter()
        .filter_map(|name| inferred.field_with_name(name).ok())
        .map(|field| {
            let data_type = match field.data_type() {
                DataType::Utf8 if parse_dates => temporal_type(rows, field.name()),
                other => other.clone(),
            };
            Field::new(field.name(), data_type, true)
        })
        .collect();
    Ok(Schema::new(fields))
}

/// `Date32` if every non-null value of `name` is `YYYY-MM-DD`, `Timestamp(µs)` if every one is
/// `YYYY-MM-DD[ T]HH:MM:SS[.f]`, else `Utf8`.
fn temporal_type(rows: &[Value], name: &str) -> DataType {
    let mut kind: Option<DataType> = None;
    for row in rows {
        let Some(value) = row.get(name) else { continue };
        let this = match value {
            Value::Null => continue,
            Value::String(text) if is_date(text.as_bytes()) => DataType::Date32,
            Value::String(text) if is_timestamp(text.as_bytes()) => TIMESTAMP,
            _ => return DataType::Utf8,
        };
        match &kind {
            Some(k) if *k != this => return DataType::Utf8,
            _ => kind = Some(this),
        }
    }
    kind.unwrap_or(DataType::Utf8)
}

fn digits(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_digit)
}

fn is_date(b: &[u8]) -> bool {
    b.len() == 10
        && digits(&b[0..4])
        && b[4] == b'-'
        && digits(&b[5..7])
        && b[7] == b'-'
        && digits(&b[8..10])
        && chrono::NaiveDate::parse_from_str(std::str::from_utf8(b).unwrap_or(""), "%Y-%m-%d")
            .is_ok()
}

fn is_timestamp(b: &[u8]) -> bool {
    b.len() >= 19
        && is_date(&b[0..10])
        && (b[10] == b' ' || b[10] == b'T')
        && digits(&b[11..13])
        && b[13] == b':'
        && digits(&b[14..16])
        && b[16] == b':'
        && digits(&b[17..19])
        && (b.len() == 19 || (b[19] == b'.' && b.len() > 20 && digits(&b[20..])))
}

/// Merges `next` into `base`: the union of columns (base order, then new ones), types widened.
/// Returns warnings for columns that fell back to text.
pub fn merge(base: &Schema, next: &Schema, warnings: &mut Vec<String>) -> Schema {
    let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
    for field in next.fields() {
        match fields.iter_mut().find(|f| f.name() == field.name()) {
            Some(existing) => {
                let widened = widen(existing.data_type(), field.data_type());
                let (a, b) = (existing.data_type(), field.data_type());
                // Dates meeting text is the normal fate of a date column with a free-text value;
                // numbers or booleans meeting text is a conflict worth telling.
                if widened == DataType::Utf8
                    && a != b
                    && !matches!(a, DataType::Null)
                    && !matches!(b, DataType::Null)
                    && !is_temporal(a)
                    && !is_temporal(b)
                {
                    warnings.push(format!(
                        "column `{}` holds both {} and {} values; it is kept as text",
                        field.name(),
                        existing.data_type(),
                        field.data_type()
                    ));
                }
                *existing = Field::new(field.name(), widened, true);
            }
            None => fields.push(Field::new(field.name(), field.data_type().clone(), true)),
        }
    }
    Schema::new(fields)
}

fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Timestamp(_, _))
}

/// The narrowest type that holds values of both `a` and `b`.
pub fn widen(a: &DataType, b: &DataType) -> DataType {
    use DataType::{Float64, Int64, List, Null, Struct, Utf8};
    match (a, b) {
        _ if a == b => a.clone(),
        (Null, other) | (other, Null) => other.clone(),
        (Int64, Float64) | (Float64, Int64) => Float64,
        (Struct(x), Struct(y)) => {
            let merged = merge(
                &Schema::new(x.clone()),
                &Schema::new(y.clone()),
                &mut Vec::new(),
            );
            Struct(Fields::from(merged.fields().to_vec()))
        }
        (List(x), List(y)) => {
            let item = widen(x.data_type(), y.data_type());
            List(Arc::new(Field::new(x.name(), item, true)))
        }
        _ => Utf8,
    }
}

/// Applies the caller's `schema={...}` overrides, which win over inference.
pub fn apply_overrides(schema: Schema, overrides: &[(String, DataType)]) -> Schema {
    if overrides.is_empty() {
        return schema;
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for field in &mut fields {
        if let Some((_, forced)) = overrides.iter().find(|(name, _)| name == field.name()) {
            *field = Field::new(field.name(), forced.clone(), true);
        }
    }
    Schema::new(fields)
}

/// Parses a whole page into values, for inference.
pub fn parse_rows(body: &[u8]) -> Result<Vec<Value>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Error::Decode {
        endpoint: String::new(),
        message: format!("the page is not valid JSON: {e}"),
    })?;
    match value {
        Value::Array(rows) => Ok(rows),
        _ => Err(Error::Decode {
            endpoint: String::new(),
            message: "expected a JSON array of rows".into(),
        }),
    }
}
