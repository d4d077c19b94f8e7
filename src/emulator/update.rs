//! `POST /calls` and `POST /reps`: both body shapes with their null rules.
//!
//! * Columnar `{"call_id":[1,2],"campaign":["A",null]}`: a null leaves the value unchanged.
//! * Row-wise `[{"call_id":1,"campaign":"A"}, ...]`: a key given for only some rows is set to
//!   null on the rows that lack it; an explicit null clears.
//!
//! Unknown ids are listed in `not_found`, not created. A column that does not exist yet becomes
//! a new attribute of the rows it is set on (other rows do not show it). The key cannot change.

use serde_json::{Map, Value};

use super::data::{Call, Rep};
use super::query::ApiError;
use super::store::Store;

/// The API's row limit per request.
const MAX_ROWS: usize = 100_000;

/// Which endpoint.
#[derive(Clone, Copy)]
pub enum Target {
    Calls,
    Reps,
}

impl Target {
    fn key(self) -> &'static str {
        match self {
            Target::Calls => "call_id",
            Target::Reps => "rep_id",
        }
    }
}

/// One row's changes: the key, then (column, value) where `None` means "leave unchanged".
type Change = (Value, Vec<(String, Option<Value>)>);

fn missing_key(key: &str) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: "missing_key",
        message: format!("every row needs a non-null `{key}`"),
    }
}

/// Parses either body shape into per-row changes.
fn changes(body: &[u8], key: &str) -> Result<Vec<Change>, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::body(format!("malformed JSON: {e}")))?;
    let rows: Vec<Change> = match value {
        Value::Object(columns) => {
            let keys = match columns.get(key) {
                Some(Value::Array(keys)) => keys.clone(),
                Some(_) => {
                    return Err(ApiError::body(
                        "a columnar body maps every column to an array",
                    ))
                }
                None => return Err(missing_key(key)),
            };
            let mut rows: Vec<Change> = keys.into_iter().map(|k| (k, Vec::new())).collect();
            for (name, column) in columns {
                if name == key {
                    continue;
                }
                let Value::Array(values) = column else {
                    return Err(ApiError::body(format!(
                        "column `{name}` is not an array (mixed body shapes?)"
                    )));
                };
                if values.len() != rows.len() {
                    return Err(ApiError::body(format!(
                        "column `{name}` has {} values for {} keys",
                        values.len(),
                        rows.len()
                    )));
                }
                for (row, v) in rows.iter_mut().zip(values) {
                    // Columnar: null = unchanged.
                    row.1.push((name.clone(), (!v.is_null()).then_some(v)));
                }
            }
            rows
        }
        Value::Array(items) => {
            let mut all_columns: Vec<String> = Vec::new();
            for item in &items {
                let Value::Object(map) = item else {
                    return Err(ApiError::body("a row-wise body is an array of objects"));
                };
                for name in map.keys() {
                    if name != key && !all_columns.contains(name) {
                        all_columns.push(name.clone());
                    }
                }
            }
            items
                .into_iter()
                .map(|item| {
                    let Value::Object(mut map) = item else {
                        unreachable!("checked above")
                    };
                    let k = map.remove(key).unwrap_or(Value::Null);
                    // Row-wise: a key missing from this row is set to null.
                    let row = all_columns
                        .iter()
                        .map(|c| (c.clone(), Some(map.remove(c).unwrap_or(Value::Null))))
                        .collect();
                    (k, row)
                })
                .collect()
        }
        _ => {
            return Err(ApiError::body(
                "the body must be a JSON object (columnar) or array (row-wise)",
            ))
        }
    };
    if rows.len() > MAX_ROWS {
        return Err(ApiError {
            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_many_rows",
            message: format!("{} rows; at most {MAX_ROWS} per request", rows.len()),
        });
    }
    if rows.iter().any(|(k, _)| k.is_null()) {
        return Err(missing_key(key));
    }
    Ok(rows)
}

fn set(extra: &mut Option<Box<Map<String, Value>>>, name: String, value: Value) {
    extra
        .get_or_insert_with(Default::default)
        .insert(name, value);
}

/// Applies a POST body; answers `{"updated": n, "not_found": [...]}`.
pub fn apply(store: &mut Store, target: Target, body: &[u8]) -> Result<Value, ApiError> {
    let key = target.key();
    let rows = changes(body, key)?;
    for (k, _) in &rows {
        let ok = match target {
            Target::Calls => k.is_i64(),
            Target::Reps => k.is_string(),
        };
        if !ok {
            return Err(ApiError::body(format!(
                "`{key}` must be {}, got {k}",
                if k.is_string() {
                    "an integer"
                } else {
                    "a string"
                }
            )));
        }
    }
    let mut updated = 0u64;
    let mut not_found = Vec::new();
    for (k, row) in rows {
        let index = match target {
            Target::Calls => {
                let id = k.as_i64().unwrap_or_default();
                store
                    .calls
                    .binary_search_by_key(&id, |c: &Call| c.call_id)
                    .ok()
            }
            Target::Reps => {
                let id = k.as_str().unwrap_or_default();
                store
                    .reps
                    .binary_search_by(|r: &Rep| r.rep_id.as_ref().cmp(id))
                    .ok()
            }
        };
        let Some(index) = index else {
            not_found.push(k);
            continue;
        };
        updated += 1;
        for (name, value) in row {
            let Some(value) = value else { continue };
            remember(store, target, &name);
            match target {
                Target::Calls => set(&mut store.calls[index].extra, name, value),
                Target::Reps => set(&mut store.reps[index].extra, name, value),
            }
        }
        match target {
            Target::Calls => store.rerender_call(index),
            Target::Reps => store.rerender_rep(index),
        }
    }
    Ok(serde_json::json!({"updated": updated, "not_found": not_found}))
}

fn remember(store: &mut Store, target: Target, name: &str) {
    let (known, attributes): (&[&str], &mut Vec<String>) = match target {
        Target::Calls => (super::render::CALL_COLUMNS, &mut store.call_attributes),
        Target::Reps => (super::render::REP_COLUMNS, &mut store.rep_attributes),
    };
    if !known.contains(&name) && !attributes.iter().any(|a| a == name) {
        attributes.push(name.to_owned());
    }
}
