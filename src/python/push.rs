//! `_core.push`: any Arrow-exporting frame into validated, chunked `POST /calls` or `POST /reps`
//! bodies, sent with retries. Returns a plain dict the Python layer turns into `PushResult`
//! (and `PushError` when some chunk was not applied).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3::IntoPyObjectExt;
use pyo3_arrow::input::AnyRecordBatch;

use super::arrow::PyArrowTable;
use super::client::PyRawClient;
use super::runtime::{enter_converz, ProgressSink};
use crate::encode::{ChunkKind, EncoderOptions, KeyValue, OnDuplicate, PushPlan, Target};
use crate::error::Error;
use crate::http::push::{push_plan, ChunkStatus, PushOutcome};

fn parse_target(to: Option<&str>, schema: &arrow_schema::Schema) -> Result<Target, Error> {
    match to {
        None => Target::infer(schema),
        Some("calls") => Ok(Target::Calls),
        Some("reps") => Ok(Target::Reps),
        Some(other) => Err(Error::invalid(
            "to",
            format!("{other:?} is not a target; use \"calls\" or \"reps\""),
        )),
    }
}

fn parse_on_duplicate(value: &str) -> Result<OnDuplicate, Error> {
    match value {
        "error" => Ok(OnDuplicate::Error),
        "last" => Ok(OnDuplicate::Last),
        other => Err(Error::invalid(
            "on_duplicate",
            format!("{other:?} is not allowed; use \"error\" or \"last\""),
        )),
    }
}

/// Validates and sends `data`; see `converz.Client.push_updates`.
#[pyfunction]
#[pyo3(signature = (client, data, *, to=None, clear=Vec::new(), chunk_rows=100_000, on_duplicate="error", timezone=None, dry_run=false, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn push(
    py: Python<'_>,
    client: &Bound<'_, PyRawClient>,
    data: AnyRecordBatch,
    to: Option<&str>,
    clear: Vec<String>,
    chunk_rows: usize,
    on_duplicate: &str,
    timezone: Option<String>,
    dry_run: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let reader = data.into_reader()?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(Error::from)?;
    let target = parse_target(to, &schema)?;
    let options = EncoderOptions {
        clear,
        chunk_rows,
        on_duplicate: parse_on_duplicate(on_duplicate)?,
        timezone,
        ..EncoderOptions::new(target)
    };
    let sink = ProgressSink::new(progress);
    let api = client.get().api.clone();
    let counters = Arc::clone(&sink.counters);
    let (plan, outcome) = enter_converz(py, &sink, async move {
        // Validation and (for a dry run) encoding are CPU work: keep them off the GIL too.
        let plan = Arc::new(PushPlan::new(batches, options)?);
        let outcome = if dry_run {
            dry_run_outcome(&plan)?
        } else {
            push_plan(&api, Arc::clone(&plan), target, counters).await
        };
        Ok((plan, outcome))
    })?;
    result_dict(py, &plan, target, &outcome, dry_run)
}

/// Encodes every chunk without sending, so a dry run catches everything a real push would.
fn dry_run_outcome(plan: &PushPlan) -> Result<PushOutcome, Error> {
    let started = std::time::Instant::now();
    let mut bytes_sent = 0;
    for index in 0..plan.chunks().len() {
        bytes_sent += plan.encode(index)?.len() as u64;
    }
    Ok(PushOutcome {
        statuses: plan.chunks().iter().map(|_| ChunkStatus::NotSent).collect(),
        bytes_sent,
        elapsed: started.elapsed(),
    })
}

fn key_to_py(py: Python<'_>, key: &KeyValue) -> PyResult<Py<PyAny>> {
    match key {
        KeyValue::Int(v) => v.into_py_any(py),
        KeyValue::Str(v) => v.into_py_any(py),
    }
}

fn result_dict(
    py: Python<'_>,
    plan: &PushPlan,
    target: Target,
    outcome: &PushOutcome,
    dry_run: bool,
) -> PyResult<Py<PyAny>> {
    let chunks = PyList::empty(py);
    for (index, (spec, status)) in plan.chunks().iter().zip(&outcome.statuses).enumerate() {
        let chunk = PyDict::new(py);
        chunk.set_item("index", index)?;
        match &spec.kind {
            ChunkKind::Columnar => chunk.set_item("kind", "update")?,
            ChunkKind::Clear { columns } => {
                chunk.set_item("kind", "clear")?;
                chunk.set_item("columns", columns)?;
            }
        }
        chunk.set_item("rows", spec.rows)?;
        chunk.set_item("first_key", key_to_py(py, &spec.first_key)?)?;
        chunk.set_item("last_key", key_to_py(py, &spec.last_key)?)?;
        match status {
            ChunkStatus::Applied { updated, not_found } => {
                chunk.set_item("status", "applied")?;
                chunk.set_item("updated", updated)?;
                let ids = PyList::empty(py);
                for id in not_found {
                    ids.append(json_scalar(py, id)?)?;
                }
                chunk.set_item("not_found", ids)?;
            }
            ChunkStatus::Failed(err) => {
                chunk.set_item("status", "failed")?;
                chunk.set_item("error", err.to_string())?;
            }
            ChunkStatus::NotSent => {
                chunk.set_item("status", if dry_run { "planned" } else { "not_sent" })?;
            }
        }
        chunks.append(chunk)?;
    }
    let result = PyDict::new(py);
    result.set_item(
        "target",
        if target == Target::Calls {
            "calls"
        } else {
            "reps"
        },
    )?;
    result.set_item("rows", plan.rows())?;
    result.set_item("chunks", chunks)?;
    result.set_item("bytes", outcome.bytes_sent)?;
    result.set_item("elapsed", outcome.elapsed.as_secs_f64())?;
    result.set_item("dry_run", dry_run)?;
    if let Some(err) = outcome.first_error() {
        let exception = PyErr::from(clone_error(err));
        result.set_item("error", exception.into_value(py))?;
        let unapplied = outcome.unapplied();
        let batches = plan.remaining(&unapplied)?;
        if let Some(first) = batches.first() {
            let table = PyArrowTable::new(first.schema(), batches);
            result.set_item("remaining", table.into_py_any(py)?)?;
        }
    }
    result.into_py_any(py)
}

fn json_scalar(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    match value {
        serde_json::Value::Number(n) if n.is_i64() => n.as_i64().into_py_any(py),
        serde_json::Value::String(s) => s.into_py_any(py),
        other => other.to_string().into_py_any(py),
    }
}

/// Errors are not `Clone` (they wrap io/arrow errors); the pushed-chunk errors we keep are all
/// plain-data variants, rebuilt here.
fn clone_error(err: &Error) -> Error {
    match err {
        Error::Http {
            status,
            endpoint,
            code,
            message,
        } => Error::Http {
            status: *status,
            endpoint: endpoint.clone(),
            code: code.clone(),
            message: message.clone(),
        },
        Error::RateLimited {
            endpoint,
            attempts,
            retry_after,
        } => Error::RateLimited {
            endpoint: endpoint.clone(),
            attempts: *attempts,
            retry_after: *retry_after,
        },
        Error::Transport {
            endpoint,
            attempts,
            message,
        } => Error::Transport {
            endpoint: endpoint.clone(),
            attempts: *attempts,
            message: message.clone(),
        },
        other => Error::Decode {
            endpoint: String::new(),
            message: other.to_string(),
        },
    }
}
