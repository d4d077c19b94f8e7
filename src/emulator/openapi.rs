//! `GET /openapi.json`: the emulator's contract as an OpenAPI 3.0 document, generated from the
//! tables the router and the parsers use ([`super::contract`], the column lists, the metric
//! catalogue, the column types POSTs are checked against), so it cannot drift from them.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::contract::{Kind, Operation, Param, OPERATIONS};
use super::render::{CALL_COLUMNS, REP_COLUMNS};
use super::report::METRICS;
use super::update::{column_type, ColumnType, Target, MAX_ROWS};

/// Every error `code` the emulator sends.
const ERROR_CODES: &[&str] = &[
    "invalid_parameter",
    "invalid_body",
    "missing_key",
    "unauthorized",
    "not_found",
    "method_not_allowed",
    "too_many_rows",
    "rate_limited",
    "server_error",
];

/// The document; `call_attributes` (names POSTs added to calls) extend `columns=` and `metric=`.
pub fn document(call_attributes: &[Arc<str>]) -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let entry = paths
            .entry(op.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(op.method.to_owned(), operation(op, call_attributes));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Converz Data API (converz emulator)",
            "version": "1.0.5",
            "description": "The contract the bundled emulator implements: shared/converz-api.md \
                Part A and Part B. Generated from the emulator's own routing and parsing tables.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"ApiKeyAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "code"],
                    "properties": {
                        "error": {"type": "string"},
                        "code": {"type": "string", "enum": ERROR_CODES},
                    },
                },
                "Rep": row(Target::Reps),
                "Call": row(Target::Calls),
                "ReportRow": report_row(),
                "PostAnswer": {
                    "type": "object",
                    "required": ["updated", "not_found"],
                    "properties": {
                        "updated": {"type": "integer", "minimum": 0},
                        "not_found": {"type": "array"},
                    },
                },
            },
        },
    })
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(op: &Operation, call_attributes: &[Arc<str>]) -> Value {
    use super::contract::Endpoint::*;
    let array_of = |name: &str| json!({"type": "array", "items": reference(name)});
    let ok = match op.endpoint {
        GetReps => array_of("Rep"),
        GetCalls => array_of("Call"),
        GetReport => array_of("ReportRow"),
        PostReps | PostCalls => reference("PostAnswer"),
        OpenApi => json!({"type": "object"}),
    };
    let mut responses = Map::new();
    responses.insert("200".into(), answer("The answer.", ok));
    if op.endpoint == OpenApi {
        return json!({
            "summary": op.summary,
            "operationId": "openapi",
            "security": [],
            "responses": responses,
        });
    }
    let post = matches!(op.endpoint, PostReps | PostCalls);
    responses.insert(
        "400".into(),
        error(if post {
            "invalid_body, missing_key, or invalid_parameter (POSTs take no parameters)"
        } else {
            "invalid_parameter"
        }),
    );
    responses.insert("401".into(), error("unauthorized: missing or wrong key"));
    if post {
        responses.insert(
            "413".into(),
            error(&format!("too_many_rows: over {MAX_ROWS} rows")),
        );
    }
    let mut limited = error("rate_limited (fault)");
    limited["headers"] = json!({"Retry-After": {
        "description": "Seconds to wait (absent when the fault sends none).",
        "schema": {"type": "string"},
    }});
    responses.insert("429".into(), limited);
    for status in ["500", "503"] {
        let mut fault = error("server_error (fault)");
        fault["content"]["text/html"] = json!({"schema": {"type": "string"}});
        responses.insert(status.into(), fault);
    }
    let mut doc = json!({
        "summary": op.summary,
        "operationId": format!("{}{}", op.method, op.path.trim_start_matches('/')),
        "parameters": op.params.iter().map(|p| parameter(p, call_attributes)).collect::<Vec<_>>(),
        "responses": responses,
    });
    if post {
        let target = if op.endpoint == PostReps {
            Target::Reps
        } else {
            Target::Calls
        };
        doc["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": body(target)}},
        });
    }
    doc
}

fn answer(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn error(description: &str) -> Value {
    answer(description, reference("Error"))
}

fn parameter(param: &Param, call_attributes: &[Arc<str>]) -> Value {
    let schema = match param.kind {
        Kind::Int { min, max, default } => {
            let mut schema = json!({"type": "integer", "minimum": min, "maximum": max});
            if let Some(default) = default {
                schema["default"] = json!(default);
            }
            schema
        }
        Kind::Date => json!({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
        Kind::DateTime => {
            json!({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}(:[0-9]{2})?$"})
        }
        Kind::List(values) => {
            let items = match values.known() {
                None => json!({"type": "string", "pattern": r"^[^,]*\S[^,]*$"}),
                Some(mut known) => {
                    if values.takes_attributes() {
                        known.extend(call_attributes.iter().map(|a| &**a));
                    }
                    json!({"type": "string", "enum": known})
                }
            };
            json!({"type": "array", "minItems": 1, "items": items})
        }
    };
    let mut doc = json!({
        "name": param.name,
        "in": "query",
        "required": false,
        "description": param.doc,
        "schema": schema,
    });
    if matches!(param.kind, Kind::List(_)) {
        // Comma-separated; repeated keys are accepted too.
        doc["style"] = json!("form");
        doc["explode"] = json!(false);
    }
    doc
}

/// The JSON schema of a column's values (every column but the key may be null after a POST
/// cleared it).
fn value_schema(kind: ColumnType, nullable: bool) -> Value {
    let mut schema = match kind {
        ColumnType::Integer => json!({"type": "integer"}),
        ColumnType::Number => json!({"type": "number"}),
        ColumnType::Text => json!({"type": "string"}),
        ColumnType::Any => json!({}),
    };
    if nullable && kind != ColumnType::Any {
        schema["nullable"] = json!(true);
    }
    schema
}

/// A row of `target`: its generated columns typed, POSTed attributes any JSON value.
fn row(target: Target) -> Value {
    let names: &[&str] = match target {
        Target::Calls => &CALL_COLUMNS,
        Target::Reps => REP_COLUMNS,
    };
    let properties: Map<String, Value> = names
        .iter()
        .map(|&name| {
            let key = name == target.key();
            (
                name.to_owned(),
                value_schema(column_type(target, name), !key),
            )
        })
        .collect();
    json!({"type": "object", "properties": properties, "additionalProperties": true})
}

fn report_row() -> Value {
    let mut properties = Map::new();
    for name in [
        "date",
        "rep_id",
        "vendor",
        "campaign",
        "subcampaign",
        "department",
    ] {
        properties.insert(name.into(), value_schema(ColumnType::Text, true));
    }
    for name in ["week", "month", "quarter", "year", "half"] {
        properties.insert(name.into(), value_schema(ColumnType::Integer, false));
    }
    for (name, aggregation) in METRICS {
        let kind = if *name == "n_calls" {
            ColumnType::Integer
        } else {
            ColumnType::Number
        };
        properties.insert((*name).into(), value_schema(kind, *aggregation == "avg"));
    }
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

/// Either body shape; generated columns take values of their type or null.
fn body(target: Target) -> Value {
    let key = target.key();
    let names: &[&str] = match target {
        Target::Calls => &CALL_COLUMNS,
        Target::Reps => REP_COLUMNS,
    };
    let key_type = value_schema(column_type(target, key), false);
    let typed = |wrap: &dyn Fn(Value) -> Value| -> Map<String, Value> {
        names
            .iter()
            .filter(|&&n| n != key)
            .map(|&n| {
                (
                    n.to_owned(),
                    wrap(value_schema(column_type(target, n), true)),
                )
            })
            .chain(std::iter::once((key.to_owned(), wrap(key_type.clone()))))
            .collect()
    };
    let array = |items: Value| json!({"type": "array", "items": items, "maxItems": MAX_ROWS});
    let columnar = json!({
        "type": "object",
        "description": "Columnar: every column an array of one value per key; null leaves the \
            value unchanged.",
        "required": [key],
        "properties": typed(&|schema| array(schema)),
        "additionalProperties": {"type": "array"},
    });
    let row_wise = json!({
        "type": "array",
        "description": "Row-wise: a key missing from a row sets that value to null.",
        "maxItems": MAX_ROWS,
        "items": {
            "type": "object",
            "required": [key],
            "properties": typed(&|schema| schema),
            "additionalProperties": true,
        },
    });
    json!({"oneOf": [columnar, row_wise]})
}
