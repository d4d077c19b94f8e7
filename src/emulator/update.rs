//! `POST /calls` and `POST /reps`: both body shapes with their null rules ([`Nulls`]).
//!
//! * Columnar `{"call_id":[1,2],"campaign":["A",null]}`: a null leaves the value unchanged.
//! * Row-wise `[{"call_id":1,"campaign":"A"}, ...]`: a key given for only some rows is set to
//!   null on the rows that lack it; an explicit null clears.
//!
//! Unknown ids are listed in `not_found`, not created. A column that does not exist yet becomes
//! a new attribute of the rows it is set on (other rows do not show it). The key cannot change.
//!
//! Speed (README, Benchmarks): bodies parse outside the lock ([`super::post_fast`] first) into
//! columns already in the store's layout ([`super::packed`]); the apply is serial, a column at
//! a time into the store's columnar attributes ([`super::attrs`]): stores of tags and payloads,
//! each distinct text of a body looked up once.

use std::sync::Arc;

use serde_json::Value;

use super::cell::Cell;
use super::packed::{tag, Packed, Scalar};
use super::query::ApiError;
use super::render::{CALL_COLUMNS, REP_COLUMNS};
use super::store::Store;

/// The API's row limit per request.
pub const MAX_ROWS: usize = 100_000;

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Calls,
    Reps,
}

/// What values a column takes: generated columns keep their type (or null); attributes a POST
/// adds take any JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Integral numbers (`100.0` is stored as `100`).
    Integer,
    Number,
    Text,
    Any,
}

/// The type of column `name` of `target`.
pub fn column_type(target: Target, name: &str) -> ColumnType {
    match (target, name) {
        (Target::Calls, "call_id" | "duration" | "talk_time" | "hold_time" | "silence_time")
        | (Target::Calls, "words_rep" | "words_customer")
        | (Target::Reps, "active") => ColumnType::Integer,
        (Target::Calls, "sentiment") => ColumnType::Number,
        (Target::Calls, n) if CALL_COLUMNS.contains(&n) => ColumnType::Text,
        (Target::Reps, n) if REP_COLUMNS.contains(&n) => ColumnType::Text,
        _ => ColumnType::Any,
    }
}

impl ColumnType {
    /// `cell` as this type stores it, or back as the error when it is not one (null is).
    pub fn admit(self, cell: Cell) -> Result<Cell, Cell> {
        match (self, cell) {
            (ColumnType::Integer, Cell::Number(n)) => integral(&n)
                .map(|i| Cell::Number(i.into()))
                .ok_or(Cell::Number(n)),
            (_, c @ Cell::Null)
            | (ColumnType::Any, c)
            | (ColumnType::Text, c @ Cell::Text(_))
            | (ColumnType::Number, c @ Cell::Number(_)) => Ok(c),
            (_, c) => Err(c),
        }
    }

    /// `value` as this type stores it, or `None` when it is not one: exactly what
    /// [`Self::admit`] does with the cell of `value`.
    pub fn admit_scalar(self, value: Scalar<'_>) -> Option<Scalar<'_>> {
        match (self, value) {
            (ColumnType::Integer, Scalar::Int(i)) => Some(Scalar::Int(i)),
            (ColumnType::Integer, Scalar::Float(f)) => integral_float(f).map(Scalar::Int),
            (_, Scalar::Null)
            | (ColumnType::Any, _)
            | (ColumnType::Text, Scalar::Text(_))
            | (ColumnType::Number, Scalar::Int(_) | Scalar::UInt(_) | Scalar::Float(_)) => {
                Some(value)
            }
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Integer => "integers",
            ColumnType::Number => "numbers",
            ColumnType::Text => "strings",
            ColumnType::Any => "any value",
        }
    }
}

/// An integral JSON number as `i64` (`3`, `3.0`), else `None`.
fn integral(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| n.as_f64().and_then(integral_float))
}

/// An integral float as `i64` (`3.0`), else `None` (a `u64` above `i64::MAX` is not one).
fn integral_float(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

impl Target {
    /// The key column.
    pub fn key(self) -> &'static str {
        match self {
            Target::Calls => "call_id",
            Target::Reps => "rep_id",
        }
    }
}

/// What a POST `null` means: the one rule both the apply ([`apply`]) and the attribute store
/// ([`super::attrs`]) follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// A row-wise body's null (given, or a column the row lacks) clears: the row shows null.
    Clear,
    /// A columnar body's null leaves the row's value as it was.
    Keep,
}

impl Nulls {
    /// The meaning of a null in a body of that shape.
    pub fn of_body(row_wise: bool) -> Self {
        if row_wise {
            Nulls::Clear
        } else {
            Nulls::Keep
        }
    }

    /// Whether a value tagged `tag` is set on store row `row`: never on a key no row has
    /// ([`NOT_FOUND`]), and a null only where it clears.
    pub fn sets(self, row: u32, tag: u8) -> bool {
        row != NOT_FOUND && (tag != tag::NULL || self == Nulls::Clear)
    }
}

/// A parsed POST body as columns: the keys, then each column's new values. Both body shapes
/// become this before the store is locked.
pub struct Changes {
    target: Target,
    keys: Packed,
    columns: Vec<(String, Packed)>,
    nulls: Nulls,
}

fn missing_key(key: &str) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: "missing_key",
        message: format!("every row needs a non-null `{key}`"),
    }
}

/// 413 `too_many_rows`.
pub fn too_many_rows(rows: usize) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_many_rows",
        message: format!("{rows} rows; at most {MAX_ROWS} per request"),
    }
}

/// Parses and checks either body shape. Runs outside the store's lock, so concurrent POSTs
/// parse in parallel and only the apply is serial.
pub fn parse(body: &[u8], target: Target) -> Result<Changes, ApiError> {
    let key = target.key();
    let parsed = super::post_body::parse(body, target)?;
    let keys = parsed.keys.ok_or_else(|| missing_key(key))?;
    if let Some((name, values)) = parsed.columns.iter().find(|(_, v)| v.len() != keys.len()) {
        return Err(ApiError::body(format!(
            "column `{name}` has {} values for {} keys",
            values.len(),
            keys.len()
        )));
    }
    if keys.tags().contains(&tag::NULL) {
        return Err(missing_key(key));
    }
    let (wanted, fits) = match target {
        // An id past int64 is read as an unsigned integer: "must be an integer, got
        // 18446744073709551615" named the wrong fault (outside trial 58 N4).
        Target::Calls => ("an integer from -2^63 to 2^63-1", tag::INT),
        Target::Reps => ("a string", tag::TEXT),
    };
    if let Some(at) = keys.tags().iter().position(|&t| t != fits) {
        let k: Cell = keys.cell(at);
        return Err(ApiError::body(format!("`{key}` must be {wanted}, got {k}")));
    }
    Ok(Changes {
        target,
        keys,
        columns: parsed.columns,
        nulls: Nulls::of_body(parsed.row_wise),
    })
}

/// A key no store row has, in [`find_rows`]' answer.
pub const NOT_FOUND: u32 = u32::MAX;

/// The store rows of `keys` ([`NOT_FOUND`]: no such row). Four bytes a key: a store has
/// fewer than 2^32 - 1 rows.
fn find_rows(store: &Store, target: Target, keys: &Packed) -> Vec<u32> {
    // Keys usually ascend as the rows do (a client pushes back what it read), so the row after
    // the last one found is tried before a binary search: a million keys, a million compares.
    let mut next = 0;
    (0..keys.len())
        .map(|at| {
            let found = match target {
                Target::Calls => {
                    let id = keys.as_i64(at).unwrap_or_default();
                    let calls = &store.calls;
                    match calls.get(next) {
                        Some(call) if call.call_id == id => Ok(next),
                        _ => calls.binary_search_by_key(&id, |c| c.call_id),
                    }
                }
                Target::Reps => {
                    let id = keys.as_str(at).unwrap_or_default();
                    store.reps.binary_search_by(|r| r.rep_id.as_ref().cmp(id))
                }
            };
            next = found.map_or_else(|at| at, |at| at + 1);
            found.map_or(NOT_FOUND, |row| {
                u32::try_from(row).expect("fewer than 2^32 - 1 rows")
            })
        })
        .collect()
}

/// Applies parsed changes; answers `{"updated": n, "not_found": [...]}`.
pub fn apply(store: &mut Store, changes: Changes) -> Value {
    let Changes {
        target,
        keys,
        columns,
        nulls,
    } = changes;
    let rows = find_rows(store, target, &keys);
    let attributes = match target {
        Target::Calls => &mut store.call_extra,
        Target::Reps => &mut store.rep_extra,
    };
    // Column by column: each is a run of stores into one attribute's arrays.
    let mut touched = vec![false; rows.len()];
    let mut added = Vec::new();
    for (name, values) in columns {
        // A column becomes an attribute only once a value of it is set on some row.
        if !(rows.iter().zip(values.tags())).any(|(&row, &tag)| nulls.sets(row, tag)) {
            continue;
        }
        let column = attributes.column(&name);
        attributes.set_column(column, &rows, values, nulls, &mut touched);
        added.push(Arc::clone(attributes.name(column)));
    }
    attributes.collect_garbage();
    for (&row, _) in rows.iter().zip(&touched).filter(|(_, t)| **t) {
        match target {
            Target::Calls => store.mark_call_changed(row as usize),
            Target::Reps => store.mark_rep_changed(row as usize),
        }
    }
    for name in &added {
        remember(store, target, name);
    }
    let not_found: Vec<Value> = (rows.iter().enumerate())
        .filter(|(_, &row)| row == NOT_FOUND)
        .map(|(at, _)| keys.cell(at).to_value())
        .collect();
    let updated = rows.iter().filter(|&&row| row != NOT_FOUND).count();
    serde_json::json!({"updated": updated, "not_found": not_found})
}

/// Adds `name` to the store's attribute list unless it is a generated column or already there.
fn remember(store: &mut Store, target: Target, name: &Arc<str>) {
    let (generated, attributes): (&[&str], _) = match target {
        Target::Calls => (&super::render::CALL_COLUMNS, &mut store.call_attributes),
        Target::Reps => (super::render::REP_COLUMNS, &mut store.rep_attributes),
    };
    if !generated.contains(&&**name) && !attributes.contains(name) {
        attributes.push(Arc::clone(name));
    }
}
