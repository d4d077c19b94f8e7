//! `POST /calls` and `POST /reps`: both body shapes with their null rules.
//!
//! * Columnar `{"call_id":[1,2],"campaign":["A",null]}`: a null leaves the value unchanged.
//! * Row-wise `[{"call_id":1,"campaign":"A"}, ...]`: a key given for only some rows is set to
//!   null on the rows that lack it; an explicit null clears.
//!
//! Unknown ids are listed in `not_found`, not created. A column that does not exist yet becomes
//! a new attribute of the rows it is set on (other rows do not show it). The key cannot change.

use std::sync::Arc;

use serde_json::{Map, Value};

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

/// A parsed POST body as columns: the keys, then each column's new values, `None` meaning
/// "leave unchanged". Both body shapes become this before the store is locked.
pub struct Changes {
    target: Target,
    keys: Vec<Value>,
    columns: Vec<(String, Vec<Option<Value>>)>,
}

fn missing_key(key: &str) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: "missing_key",
        message: format!("every row needs a non-null `{key}`"),
    }
}

/// Parses and checks either body shape. Runs outside the store's lock, so concurrent POSTs
/// parse in parallel and only the apply is serial.
pub fn parse(body: &[u8], target: Target) -> Result<Changes, ApiError> {
    let key = target.key();
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::body(format!("malformed JSON: {e}")))?;
    let (keys, columns) = match value {
        Value::Object(columns) => columnar(columns, key)?,
        Value::Array(items) => row_wise(items, key)?,
        _ => {
            return Err(ApiError::body(
                "the body must be a JSON object (columnar) or array (row-wise)",
            ))
        }
    };
    if keys.len() > MAX_ROWS {
        return Err(ApiError {
            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_many_rows",
            message: format!("{} rows; at most {MAX_ROWS} per request", keys.len()),
        });
    }
    if keys.iter().any(Value::is_null) {
        return Err(missing_key(key));
    }
    if let Some(k) = keys.iter().find(|k| match target {
        Target::Calls => !k.is_i64(),
        Target::Reps => !k.is_string(),
    }) {
        let wanted = match target {
            Target::Calls => "an integer",
            Target::Reps => "a string",
        };
        return Err(ApiError::body(format!("`{key}` must be {wanted}, got {k}")));
    }
    Ok(Changes {
        target,
        keys,
        columns,
    })
}

type Columns = Vec<(String, Vec<Option<Value>>)>;

/// `{"call_id":[..],"campaign":[..]}`: a null leaves the value unchanged.
fn columnar(columns: Map<String, Value>, key: &str) -> Result<(Vec<Value>, Columns), ApiError> {
    let mut keys = None;
    let mut changed = Vec::with_capacity(columns.len());
    for (name, column) in columns {
        let Value::Array(values) = column else {
            return Err(if name == key {
                ApiError::body("a columnar body maps every column to an array")
            } else {
                ApiError::body(format!(
                    "column `{name}` is not an array (mixed body shapes?)"
                ))
            });
        };
        if name == key {
            keys = Some(values);
        } else {
            changed.push((name, values));
        }
    }
    let keys = keys.ok_or_else(|| missing_key(key))?;
    let changed = changed
        .into_iter()
        .map(|(name, values)| {
            if values.len() != keys.len() {
                return Err(ApiError::body(format!(
                    "column `{name}` has {} values for {} keys",
                    values.len(),
                    keys.len()
                )));
            }
            let values = values
                .into_iter()
                .map(|v| (!v.is_null()).then_some(v))
                .collect();
            Ok((name, values))
        })
        .collect::<Result<_, _>>()?;
    Ok((keys, changed))
}

/// `[{"call_id":1,"campaign":"A"}, ...]`: a key given for only some rows is set to null on the
/// rows that lack it; an explicit null clears.
fn row_wise(items: Vec<Value>, key: &str) -> Result<(Vec<Value>, Columns), ApiError> {
    let mut rows = Vec::with_capacity(items.len());
    let mut names: Vec<String> = Vec::new();
    for item in items {
        let Value::Object(row) = item else {
            return Err(ApiError::body("a row-wise body is an array of objects"));
        };
        for name in row.keys() {
            if name != key && !names.contains(name) {
                names.push(name.clone());
            }
        }
        rows.push(row);
    }
    let mut columns: Columns = names
        .into_iter()
        .map(|name| (name, Vec::with_capacity(rows.len())))
        .collect();
    let mut keys = Vec::with_capacity(rows.len());
    for mut row in rows {
        keys.push(row.remove(key).unwrap_or(Value::Null));
        for (name, values) in &mut columns {
            values.push(Some(row.remove(name.as_str()).unwrap_or(Value::Null)));
        }
    }
    Ok((keys, columns))
}

/// Applies parsed changes; answers `{"updated": n, "not_found": [...]}`.
pub fn apply(store: &mut Store, changes: Changes) -> Value {
    let Changes {
        target,
        keys,
        columns,
    } = changes;
    let rows: Vec<Option<usize>> = keys
        .iter()
        .map(|k| match target {
            Target::Calls => {
                let id = k.as_i64().unwrap_or_default();
                store.calls.binary_search_by_key(&id, |c| c.call_id).ok()
            }
            Target::Reps => {
                let id = k.as_str().unwrap_or_default();
                store
                    .reps
                    .binary_search_by(|r| r.rep_id.as_ref().cmp(id))
                    .ok()
            }
        })
        .collect();
    let names: Vec<Arc<str>> = columns
        .iter()
        .map(|(name, _)| shared_name(store, target, name))
        .collect();
    let mut set_somewhere = vec![false; names.len()];
    let mut values: Vec<_> = columns.into_iter().map(|(_, v)| v.into_iter()).collect();
    // Row by row, so each row's memory is visited once.
    for row in &rows {
        let changed = values.iter_mut().map(|column| column.next().flatten());
        let Some(index) = *row else {
            changed.for_each(drop);
            continue;
        };
        let extra = match target {
            Target::Calls => &mut store.calls[index].extra,
            Target::Reps => &mut store.reps[index].extra,
        };
        let mut touched = false;
        for (column, value) in changed.enumerate() {
            if let Some(value) = value {
                extra.reserve_first(names.len());
                extra.set(&names[column], value);
                set_somewhere[column] = true;
                touched = true;
            }
        }
        if touched {
            match target {
                Target::Calls => store.mark_call_changed(index),
                Target::Reps => store.mark_rep_changed(index),
            }
        }
    }
    // A column becomes a known attribute only once a value of it is set on some row.
    for (name, _) in names.iter().zip(set_somewhere).filter(|(_, set)| *set) {
        remember(store, target, name);
    }
    let not_found: Vec<Value> = keys
        .into_iter()
        .zip(&rows)
        .filter_map(|(k, row)| row.is_none().then_some(k))
        .collect();
    let updated = rows.iter().flatten().count();
    serde_json::json!({"updated": updated, "not_found": not_found})
}

/// The store's copy of attribute `name` when it has one (so a million rows share one string),
/// else a new one.
fn shared_name(store: &Store, target: Target, name: &str) -> Arc<str> {
    let attributes = match target {
        Target::Calls => &store.call_attributes,
        Target::Reps => &store.rep_attributes,
    };
    attributes
        .iter()
        .find(|a| &***a == name)
        .map_or_else(|| Arc::from(name), Arc::clone)
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
