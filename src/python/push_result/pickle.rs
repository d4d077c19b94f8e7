//! Pickling `PushResult` and `ChunkResult`, so a push run in a multiprocessing, Dask or Ray
//! worker hands its record (and `PushError.result`) back to the parent. Each `__reduce__`
//! names the class's `_restore` classmethod and a tuple of plain values; the remaining rows
//! travel as an Arrow IPC stream.

use std::io::Cursor;
use std::sync::Arc;

use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::{PyChunkResult, PyPushResult};
use crate::encode::{KeyValue, Target};
use crate::python::arrow::PyArrowTable;

/// A `ChunkResult`'s fields in `_restore` order.
pub type ChunkState = (
    usize,
    String,
    usize,
    Py<PyAny>,
    Py<PyAny>,
    String,
    u64,
    Vec<Py<PyAny>>,
    Vec<String>,
    Option<String>,
);

/// `kind` or `status` as the static string the class keeps, if it is one of `allowed`.
fn known(what: &str, value: &str, allowed: &[&'static str]) -> PyResult<&'static str> {
    allowed
        .iter()
        .find(|a| **a == value)
        .copied()
        .ok_or_else(|| PyValueError::new_err(format!("{value:?} is not a ChunkResult {what}")))
}

fn key(value: &Bound<'_, PyAny>) -> PyResult<KeyValue> {
    match value.extract::<i64>() {
        Ok(v) => Ok(KeyValue::Int(v)),
        Err(_) => Ok(KeyValue::Str(value.extract()?)),
    }
}

/// The arguments `ChunkResult._restore` rebuilds `chunk` from.
pub fn chunk_state(py: Python<'_>, chunk: &PyChunkResult) -> PyResult<ChunkState> {
    let key = |k: &KeyValue| -> PyResult<Py<PyAny>> { Ok(k.into_pyobject(py)?.unbind()) };
    Ok((
        chunk.index,
        chunk.kind.to_owned(),
        chunk.rows,
        key(&chunk.first_key)?,
        key(&chunk.last_key)?,
        chunk.status.to_owned(),
        chunk.updated,
        chunk.not_found.iter().map(key).collect::<PyResult<_>>()?,
        chunk.columns.clone(),
        chunk.error.clone(),
    ))
}

/// The `ChunkResult` [`chunk_state`] described.
pub fn restore_chunk(py: Python<'_>, state: ChunkState) -> PyResult<PyChunkResult> {
    let (index, kind, rows, first_key, last_key, status, updated, not_found, columns, error) =
        state;
    Ok(PyChunkResult {
        index,
        kind: known("kind", &kind, &["update", "clear"])?,
        rows,
        first_key: key(first_key.bind(py))?,
        last_key: key(last_key.bind(py))?,
        status: known(
            "status",
            &status,
            &["applied", "failed", "interrupted", "not_sent", "planned"],
        )?,
        updated,
        not_found: not_found
            .iter()
            .map(|k| key(k.bind(py)))
            .collect::<PyResult<_>>()?,
        columns,
        error,
    })
}

/// A `PushResult`'s fields in `_restore` order; the remaining rows as Arrow IPC bytes.
pub type PushState = (
    String,
    usize,
    Vec<Py<PyChunkResult>>,
    u64,
    f64,
    bool,
    Option<Py<PyBytes>>,
);

/// The arguments `PushResult._restore` rebuilds `result` from.
pub fn push_state(py: Python<'_>, result: &PyPushResult) -> PyResult<PushState> {
    let remaining = match &result.remaining {
        None => None,
        Some(table) => {
            let raw = table.bind(py).getattr("_raw")?;
            let raw = raw.cast::<PyArrowTable>()?.get();
            Some(PyBytes::new(py, &ipc_stream(raw)?).unbind())
        }
    };
    Ok((
        result.target_name().to_owned(),
        result.rows,
        result.chunks.iter().map(|c| c.clone_ref(py)).collect(),
        result.bytes,
        result.elapsed,
        result.dry_run,
        remaining,
    ))
}

fn ipc_stream(table: &PyArrowTable) -> PyResult<Vec<u8>> {
    let to_py = |e: arrow_schema::ArrowError| PyValueError::new_err(e.to_string());
    let mut bytes = Vec::new();
    let batches = table.batches().map_err(to_py)?;
    // Its own schema: a push stopped after every chunk was applied leaves a table without
    // batches.
    let mut writer = StreamWriter::try_new(&mut bytes, table.schema()).map_err(to_py)?;
    for batch in &batches {
        writer.write(batch).map_err(to_py)?;
    }
    writer.finish().map_err(to_py)?;
    drop(writer);
    Ok(bytes)
}

/// The `PushResult` [`push_state`] described.
pub fn restore_push(py: Python<'_>, state: PushState) -> PyResult<PyPushResult> {
    let (target, rows, chunks, bytes, elapsed, dry_run, remaining) = state;
    let target = match target.as_str() {
        "calls" => Target::Calls,
        "reps" => Target::Reps,
        other => {
            return Err(PyValueError::new_err(format!(
                "{other:?} is not a PushResult target"
            )))
        }
    };
    let remaining = match remaining {
        None => None,
        Some(stream) => {
            let to_py = |e: arrow_schema::ArrowError| PyValueError::new_err(e.to_string());
            let reader = StreamReader::try_new(Cursor::new(stream.bind(py).as_bytes()), None)
                .map_err(to_py)?;
            let schema = reader.schema();
            let batches = reader.collect::<Result<Vec<_>, _>>().map_err(to_py)?;
            Some((schema, batches))
        }
    };
    let schema = remaining.as_ref().map(|(schema, _)| Arc::clone(schema));
    let remaining = match remaining {
        Some((schema, batches)) => Some(super::converz_table(py, schema, batches)?),
        None => None,
    };
    Ok(PyPushResult {
        target,
        rows,
        chunks,
        bytes,
        elapsed,
        dry_run,
        remaining,
        schema,
    })
}

/// `(cls._restore, state)`: what `__reduce__` returns.
pub fn reduce<'py>(
    slf: &Bound<'py, PyAny>,
    state: Bound<'py, PyTuple>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
    Ok((slf.get_type().getattr("_restore")?, state))
}
