//! Everything checked before the first request: options, the key column (present, right type,
//! no nulls, no duplicates unless `on_duplicate=Last`), no ±inf anywhere. A failed check names
//! the column and a few rows and says what to do; nothing has been sent.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema};

use super::{EncoderOptions, KeyValue, OnDuplicate, RowRef, Target, MAX_CHUNK_ROWS};
use crate::error::{Error, Result};

/// How many offending rows or keys an error names.
const EXAMPLES: usize = 5;

/// Checks the options against the schema.
pub fn check_options(options: &EncoderOptions, schema: &Schema) -> Result<usize> {
    if options.chunk_rows == 0 || options.chunk_rows > MAX_CHUNK_ROWS {
        return Err(Error::invalid(
            "chunk_rows",
            format!("must be between 1 and {MAX_CHUNK_ROWS} (the API's limit per request)"),
        ));
    }
    let key = options.target.key();
    let key_index = schema.index_of(key).map_err(|_| {
        Error::encode(
            key,
            format!(
                "the key column `{key}` is missing; pushing to {} needs it",
                options.target.path()
            ),
        )
    })?;
    check_key_type(options.target, schema.field(key_index).data_type())?;
    for name in &options.clear {
        if name == key {
            return Err(Error::invalid(
                "clear",
                format!("`{key}` is the key column; it cannot be cleared"),
            ));
        }
        if schema.field_with_name(name).is_err() {
            return Err(Error::invalid(
                "clear",
                format!("`{name}` is not a column of the data"),
            ));
        }
    }
    Ok(key_index)
}

fn check_key_type(target: Target, data_type: &DataType) -> Result<()> {
    let ok = match target {
        Target::Calls => data_type.is_integer(),
        Target::Reps => match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, values) => matches!(
                **values,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ),
            _ => false,
        },
    };
    if ok {
        return Ok(());
    }
    let (key, want) = match target {
        Target::Calls => (
            "call_id",
            "an integer type; cast it (e.g. pl.col(\"call_id\").cast(pl.Int64))",
        ),
        Target::Reps => ("rep_id", "a string type; cast it to str"),
    };
    Err(Error::encode(
        key,
        format!("has type {data_type}, but must be {want}"),
    ))
}

/// The key of every input row, in input order; refuses nulls.
pub fn key_values(
    batches: &[RecordBatch],
    key_index: usize,
    target: Target,
) -> Result<Vec<KeyValue>> {
    let key = target.key();
    let mut keys = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    let mut null_rows = Vec::new();
    for batch in batches {
        let column = batch.column(key_index);
        let typed = match target {
            Target::Calls => arrow_cast::cast(column, &DataType::Int64)
                .map_err(|_| Error::encode(key, "has values that do not fit a 64-bit integer"))?,
            Target::Reps => arrow_cast::cast(column, &DataType::Utf8)?,
        };
        for row in 0..typed.len() {
            if typed.is_null(row) {
                if null_rows.len() < EXAMPLES {
                    null_rows.push(keys.len());
                }
                keys.push(KeyValue::Int(0));
                continue;
            }
            keys.push(match target {
                Target::Calls => KeyValue::Int(typed.as_primitive::<Int64Type>().value(row)),
                Target::Reps => KeyValue::Str(typed.as_string::<i32>().value(row).to_owned()),
            });
        }
    }
    if !null_rows.is_empty() {
        let total: usize = batches
            .iter()
            .map(|b| b.column(key_index).null_count())
            .sum();
        return Err(Error::encode(
            key,
            format!("has {total} null keys (rows {null_rows:?}); drop or fill them"),
        ));
    }
    Ok(keys)
}

/// The rows to send, in order: all of them, or with `Last` only each key's last row.
pub fn select_rows(
    batches: &[RecordBatch],
    keys: &[KeyValue],
    on_duplicate: OnDuplicate,
    key: &str,
) -> Result<Vec<RowRef>> {
    // Keys read from the API ascend, so one pass usually proves there are no duplicates. If
    // not, a stable sort of the row numbers by key groups each key's rows in input order (a
    // SipHash set of a million keys took most of the encode time).
    let ascending = keys.windows(2).all(|w| w[0] < w[1]);
    let mut keep_row = Vec::new();
    let mut duplicates = Vec::new();
    let mut duplicate_count = 0usize;
    if !ascending {
        let mut order: Vec<u32> = (0..to_u32(keys.len())).collect();
        order.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
        keep_row = vec![true; keys.len()];
        for pair in order.windows(2) {
            let (earlier, later) = (pair[0] as usize, pair[1] as usize);
            if keys[earlier] == keys[later] {
                keep_row[earlier] = false;
                duplicate_count += 1;
                if duplicates.len() < EXAMPLES && !duplicates.contains(&&keys[earlier]) {
                    duplicates.push(&keys[earlier]);
                }
            }
        }
    }
    if duplicate_count > 0 && on_duplicate == OnDuplicate::Error {
        let shown: Vec<String> = duplicates.iter().map(ToString::to_string).collect();
        return Err(Error::encode(
            key,
            format!(
                "has {duplicate_count} duplicate keys (e.g. {}); deduplicate, or pass on_duplicate=\"last\" to keep each key's last row",
                shown.join(", ")
            ),
        ));
    }
    let mut rows = Vec::with_capacity(keys.len() - duplicate_count);
    let mut index = 0usize;
    for (b, batch) in batches.iter().enumerate() {
        for r in 0..batch.num_rows() {
            if duplicate_count == 0 || keep_row[index] {
                rows.push((to_u32(b), to_u32(r)));
            }
            index += 1;
        }
    }
    Ok(rows)
}

fn to_u32(v: usize) -> u32 {
    u32::try_from(v).expect("more than 4 billion rows or batches in one push")
}

/// Refuses ±inf in float columns (NaN is allowed: it means null, as in pandas).
pub fn check_finite(batches: &[RecordBatch]) -> Result<()> {
    let mut offset = 0;
    for batch in batches {
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let infinite = match column.data_type() {
                DataType::Float64 => column
                    .as_primitive::<Float64Type>()
                    .iter()
                    .position(|v| v.is_some_and(f64::is_infinite)),
                DataType::Float32 => column
                    .as_primitive::<Float32Type>()
                    .iter()
                    .position(|v| v.is_some_and(f32::is_infinite)),
                _ => None,
            };
            if let Some(row) = infinite {
                return Err(Error::encode(
                    field.name(),
                    format!("has an infinite value (row {}); JSON cannot carry it: replace it or set it to null", offset + row),
                ));
            }
        }
        offset += batch.num_rows();
    }
    Ok(())
}
