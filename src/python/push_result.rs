//! `converz.PushResult` and `converz.ChunkResult`: what a push did, chunk by chunk, and what is
//! left to send. Built once in Rust from the plan and the push's outcome, immutable afterwards
//! (frozen pyclasses), so the Python layer re-reads nothing. Both pickle (`pickle`).

mod pickle;

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use super::arrow::PyArrowTable;
use crate::encode::{ChunkKind, KeyValue, PushPlan, Target};
use crate::error::Error;
use crate::http::push::{ChunkStatus, PushOutcome};

impl<'py> IntoPyObject<'py> for &KeyValue {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            KeyValue::Int(v) => v.into_pyobject(py)?.into_any(),
            KeyValue::Str(v) => PyString::new(py, v).into_any(),
        })
    }
}

/// A key as the report shows it: strings without quotes.
fn plain(key: &KeyValue) -> String {
    match key {
        KeyValue::Int(v) => v.to_string(),
        KeyValue::Str(v) => v.clone(),
    }
}

/// `1234567` → `"1,234,567"`.
pub(crate) fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One request body of a push.
#[pyclass(name = "ChunkResult", module = "converz", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash)]
pub struct PyChunkResult {
    /// Position in sending order.
    #[pyo3(get)]
    index: usize,
    kind: &'static str,
    /// Rows in the chunk.
    #[pyo3(get)]
    rows: usize,
    first_key: KeyValue,
    last_key: KeyValue,
    status: &'static str,
    /// The API's `updated` count (applied chunks).
    #[pyo3(get)]
    updated: u64,
    not_found: Vec<KeyValue>,
    columns: Vec<String>,
    /// Why it failed (failed chunks).
    #[pyo3(get)]
    error: Option<String>,
}

#[pymethods]
impl PyChunkResult {
    /// `"update"` (columnar values) or `"clear"` (row-wise explicit nulls).
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// `"applied"`, `"failed"`, `"interrupted"`, `"not_sent"` or `"planned"` (dry run).
    #[getter]
    fn status(&self) -> &'static str {
        self.status
    }

    #[getter]
    fn first_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (&self.first_key).into_pyobject(py)
    }

    #[getter]
    fn last_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (&self.last_key).into_pyobject(py)
    }

    /// Keys the API did not know (applied chunks).
    #[getter]
    fn not_found<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.not_found)
    }

    /// Columns cleared (clear chunks).
    #[getter]
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.columns)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let state = pickle::chunk_state(slf.py(), slf.get())?;
        pickle::reduce(slf.as_any(), state.into_pyobject(slf.py())?)
    }

    /// Rebuilds a pickled chunk (see `__reduce__`).
    #[classmethod]
    #[pyo3(signature = (*state))]
    fn _restore(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        state: pickle::ChunkState,
    ) -> PyResult<Self> {
        pickle::restore_chunk(py, state)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let r = |name: &str| -> PyResult<String> { Ok(slf.getattr(name)?.repr()?.to_string()) };
        let this = slf.get();
        Ok(format!(
            "ChunkResult(index={}, kind={}, rows={}, first_key={}, last_key={}, status={}, \
             updated={}, not_found={}, columns={}, error={})",
            this.index,
            r("kind")?,
            this.rows,
            r("first_key")?,
            r("last_key")?,
            r("status")?,
            this.updated,
            r("not_found")?,
            r("columns")?,
            r("error")?,
        ))
    }
}

/// The outcome of `converz.Client.push_updates`.
#[pyclass(name = "PushResult", module = "converz", frozen)]
pub struct PyPushResult {
    target: Target,
    /// Rows sent (after `on_duplicate="last"` dropped earlier duplicates).
    #[pyo3(get)]
    rows: usize,
    chunks: Vec<Py<PyChunkResult>>,
    /// Bytes of request bodies sent (or encoded, for a dry run).
    #[pyo3(get)]
    bytes: u64,
    /// Seconds.
    #[pyo3(get)]
    elapsed: f64,
    /// True when nothing was sent.
    #[pyo3(get)]
    dry_run: bool,
    remaining: Option<Py<PyAny>>,
    /// The schema of the rows sent, for a `remaining` without rows; `None` when no row was
    /// (and after pickling a result whose `remaining` is None).
    schema: Option<SchemaRef>,
}

/// `batches` as a `converz.Table`.
fn converz_table(
    py: Python<'_>,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Py<PyAny>> {
    let table = PyArrowTable::new(schema, batches);
    let table_class = py.import("converz._table")?.getattr("Table")?;
    Ok(table_class.call1((Py::new(py, table)?,))?.unbind())
}

impl PyPushResult {
    /// For a push stopped after every chunk was applied: `remaining` is a table without rows,
    /// not None, so the resume its `PushError` documents, `push_updates(err.result.remaining,
    /// ...)`, sends nothing instead of failing (outside trial 66 F5: "cannot push a
    /// NoneType").
    pub fn nothing_remaining(&mut self, py: Python<'_>) -> PyResult<()> {
        if let (None, Some(schema)) = (&self.remaining, &self.schema) {
            self.remaining = Some(converz_table(py, Arc::clone(schema), Vec::new())?);
        }
        Ok(())
    }

    /// The result of `plan` given `outcome`, and the first chunk error (index, error), taken out
    /// of the outcome so it can become the `PushError`'s cause.
    pub fn new(
        py: Python<'_>,
        plan: &PushPlan,
        target: Target,
        outcome: PushOutcome,
        dry_run: bool,
    ) -> PyResult<(Self, Option<(usize, Error)>)> {
        let unapplied = outcome.unapplied();
        let remaining = if dry_run || unapplied.is_empty() {
            None
        } else {
            let batches = plan.remaining(&unapplied)?;
            Some(converz_table(py, batches[0].schema(), batches)?)
        };
        let mut first_error = None;
        let mut chunks = Vec::with_capacity(outcome.statuses.len());
        for (index, (spec, status)) in plan.chunks().iter().zip(outcome.statuses).enumerate() {
            let (kind, columns) = match &spec.kind {
                ChunkKind::Columnar => ("update", Vec::new()),
                ChunkKind::Clear { columns } => ("clear", columns.clone()),
            };
            let mut chunk = PyChunkResult {
                index,
                kind,
                rows: spec.rows,
                first_key: spec.first_key.clone(),
                last_key: spec.last_key.clone(),
                status: "not_sent",
                updated: 0,
                not_found: Vec::new(),
                columns,
                error: None,
            };
            match status {
                ChunkStatus::Applied { updated, not_found } => {
                    chunk.status = "applied";
                    chunk.updated = updated;
                    chunk.not_found = not_found.iter().map(json_key).collect();
                }
                ChunkStatus::Failed(err) => {
                    chunk.status = "failed";
                    chunk.error = Some(err.to_string());
                    first_error = first_error.or(Some((index, err)));
                }
                ChunkStatus::Interrupted => chunk.status = "interrupted",
                ChunkStatus::NotSent if dry_run => chunk.status = "planned",
                ChunkStatus::NotSent => {}
            }
            chunks.push(Py::new(py, chunk)?);
        }
        let result = Self {
            target,
            rows: plan.rows(),
            chunks,
            bytes: outcome.bytes_sent,
            elapsed: outcome.elapsed.as_secs_f64(),
            dry_run,
            remaining,
            schema: plan.schema(),
        };
        Ok((result, first_error))
    }

    fn each(&self) -> impl Iterator<Item = &PyChunkResult> {
        self.chunks.iter().map(Py::get)
    }

    /// Rows of the chunks the API applied.
    pub fn applied_rows(&self) -> usize {
        self.each()
            .filter(|c| c.status == "applied")
            .map(|c| c.rows)
            .sum()
    }

    /// Whether some chunks send clears (row-wise nulls) apart from the updates.
    pub fn has_clears(&self) -> bool {
        self.each().any(|c| c.kind == "clear")
    }

    /// Chunks with `status`.
    pub fn count(&self, status: &str) -> usize {
        self.each().filter(|c| c.status == status).count()
    }

    /// Input rows known to be applied: all but [`Self::remaining`]'s (exact where chunks of
    /// updates and clears share rows), else the applied chunks' rows.
    pub fn applied_of_rows(&self, py: Python<'_>) -> usize {
        match &self.remaining {
            None => self.rows,
            Some(table) => match table.bind(py).len() {
                Ok(remaining) => self.rows.saturating_sub(remaining),
                Err(_) => self.applied_rows().min(self.rows),
            },
        }
    }

    /// Rows the push was to send.
    pub fn total_rows(&self) -> usize {
        self.rows
    }

    /// The first failed chunk's index and error.
    pub fn first_failure(&self) -> Option<(usize, &str)> {
        self.each()
            .find(|c| c.status == "failed")
            .map(|c| (c.index, c.error.as_deref().unwrap_or("no error recorded")))
    }

    /// The chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Unknown keys, each once, in the order the API reported them.
    pub fn unknown_keys(&self) -> Vec<&KeyValue> {
        let mut seen = HashSet::new();
        self.each()
            .flat_map(|c| &c.not_found)
            .filter(|key| seen.insert(*key))
            .collect()
    }

    /// `"calls"` or `"reps"`.
    pub fn target_name(&self) -> &'static str {
        match self.target {
            Target::Calls => "calls",
            Target::Reps => "reps",
        }
    }

    /// The endpoint pushed to, as errors name it.
    pub fn endpoint(&self) -> String {
        format!("POST {}", self.target.path())
    }
}

/// A `not_found` entry of the API's answer as a key.
fn json_key(value: &serde_json::Value) -> KeyValue {
    match value {
        serde_json::Value::Number(n) if n.is_i64() => KeyValue::Int(n.as_i64().unwrap_or(0)),
        serde_json::Value::String(s) => KeyValue::Str(s.clone()),
        other => KeyValue::Str(other.to_string()),
    }
}

#[pymethods]
impl PyPushResult {
    /// `"calls"` or `"reps"`.
    #[getter]
    fn target(&self) -> &'static str {
        self.target_name()
    }

    /// This result, for a stop raised after the push ended (`converz._client._log_pushed`):
    /// its `remaining` a table without rows (see [`PyPushResult::nothing_remaining`]; outside
    /// trial 67 F4).
    fn _ended(&self, py: Python<'_>) -> PyResult<Self> {
        let mut result = Self {
            target: self.target,
            rows: self.rows,
            chunks: self.chunks.iter().map(|c| c.clone_ref(py)).collect(),
            bytes: self.bytes,
            elapsed: self.elapsed,
            dry_run: self.dry_run,
            remaining: self.remaining.as_ref().map(|t| t.clone_ref(py)),
            schema: self.schema.clone(),
        };
        result.nothing_remaining(py)?;
        Ok(result)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let state = pickle::push_state(slf.py(), slf.get())?;
        pickle::reduce(slf.as_any(), state.into_pyobject(slf.py())?)
    }

    /// Rebuilds a pickled result (see `__reduce__`).
    #[classmethod]
    #[pyo3(signature = (*state))]
    fn _restore(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        state: pickle::PushState,
    ) -> PyResult<Self> {
        pickle::restore_push(py, state)
    }

    /// One `ChunkResult` per request body, in sending order.
    #[getter]
    fn chunks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.chunks)
    }

    /// The input rows not known to be applied, ready to push again: None when every row was,
    /// except after a stop (Ctrl-C) that came once every chunk was applied, where it is a
    /// table without rows, so the resume the `PushError` spells still runs (and sends
    /// nothing). `ok` says whether every chunk was applied.
    #[getter]
    fn remaining(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.remaining.as_ref().map(|t| t.clone_ref(py))
    }

    /// Request bodies sent (or planned, for a dry run).
    #[getter]
    fn requests(&self) -> usize {
        self.chunks.len() - self.count("not_sent")
    }

    /// Sum of the API's `updated` counts over the update (not clear) chunks.
    #[getter]
    fn updated(&self) -> u64 {
        self.each()
            .filter(|c| c.kind == "update")
            .map(|c| c.updated)
            .sum()
    }

    /// Keys the API did not know; they were not created.
    #[getter]
    fn not_found<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.unknown_keys()
            .into_iter()
            .map(|k| k.into_pyobject(py))
            .collect()
    }

    /// True when every chunk was applied (or, for a dry run, planned).
    #[getter]
    fn ok(&self) -> bool {
        self.each()
            .all(|c| matches!(c.status, "applied" | "planned"))
    }

    /// Chunks that failed, were interrupted or were not sent.
    #[getter]
    fn failed(&self, py: Python<'_>) -> Vec<Py<PyChunkResult>> {
        self.chunks
            .iter()
            .filter(|c| matches!(c.get().status, "failed" | "interrupted" | "not_sent"))
            .map(|c| c.clone_ref(py))
            .collect()
    }

    /// A text table of every chunk: kind, first and last key (in the frame's order, which
    /// need not be sorted: not a range), rows and status.
    fn report(&self) -> String {
        let mut lines = vec![format!(
            "{:>4}  {:<6}  {:<32}  {:>7}  status",
            "#", "kind", "first .. last key", "rows"
        )];
        for c in self.each() {
            let keys = format!("{} .. {}", plain(&c.first_key), plain(&c.last_key));
            let status = match &c.error {
                Some(error) => format!("{} ({error})", c.status),
                None => c.status.to_owned(),
            };
            lines.push(format!(
                "{:>4}  {:<6}  {:<32}  {:>7}  {status}",
                c.index, c.kind, keys, c.rows
            ));
        }
        lines.join("\n")
    }

    fn __str__(&self, py: Python<'_>) -> String {
        let updated = grouped(usize::try_from(self.updated()).unwrap_or(usize::MAX));
        let unknown = self.unknown_keys().len();
        let applied = self.count("applied");
        if self.dry_run || applied == self.chunks.len() {
            let verb = if self.dry_run { "would send" } else { "sent" };
            let requests = self.requests();
            return format!(
                "PushResult(to='{}': {verb} {} row{} in {requests} request{}, \
                 updated={updated}, not_found={unknown}, elapsed={:.2}s)",
                self.target(),
                grouped(self.rows),
                if self.rows == 1 { "" } else { "s" },
                if requests == 1 { "" } else { "s" },
                self.elapsed,
            );
        }
        // Not "sent N rows": chunks that were never sent, or failed, are the point here.
        format!(
            "PushResult(to='{}': {} of {} rows applied; chunks: {applied} applied, {} failed, \
             {} interrupted, {} not sent; updated={updated}, not_found={unknown}, \
             elapsed={:.2}s)",
            self.target(),
            grouped(self.applied_of_rows(py)),
            grouped(self.rows),
            self.count("failed"),
            self.count("interrupted"),
            self.count("not_sent"),
            self.elapsed,
        )
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        self.__str__(py)
    }
}
