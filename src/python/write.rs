//! `_core.FileWriter`, `read_file`, `csv_bytes` and the sync helpers: the file writers of
//! `src/write/` for the CLI, `client.sync_calls` and the Airflow operators. Writes run with the
//! GIL released; Arrow crosses the boundary through the PyCapsule interface.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use pyo3_arrow::input::AnyRecordBatch;

use super::args::schema_overrides;
use super::arrow::PyArrowTable;
use crate::error::Error;
use crate::write::{self, FileFormat, FileWriter};

/// Writes Arrow data into one file as it arrives; see `src/write/mod.rs`.
#[pyclass(name = "FileWriter", module = "converz._core", frozen)]
pub struct PyFileWriter {
    // `None` once finished or aborted. Locked with `try_lock`: blocking on it with the GIL held
    // could deadlock with a thread that holds it and waits to re-attach.
    inner: Mutex<Option<FileWriter>>,
    /// The finished file's warnings (`WriteSummary::notes`).
    notes: Mutex<Vec<String>>,
}

fn closed() -> PyErr {
    PyRuntimeError::new_err("this writer was already finished")
}

fn busy() -> PyErr {
    PyRuntimeError::new_err("this writer is in use by another thread")
}

#[pymethods]
impl PyFileWriter {
    /// A writer of `path`; `format` None takes it from the extension.
    #[new]
    #[pyo3(signature = (path, format=None))]
    fn new(path: PathBuf, format: Option<&str>) -> PyResult<Self> {
        let format = match format {
            Some(name) => FileFormat::from_name(name)?,
            None => FileFormat::from_path(&path)?,
        };
        Ok(Self {
            inner: Mutex::new(Some(FileWriter::new(&path, format))),
            notes: Mutex::default(),
        })
    }

    /// Appends every batch of `data` (any Arrow PyCapsule exporter).
    fn write(&self, py: Python<'_>, data: AnyRecordBatch) -> PyResult<()> {
        // Collected with the GIL held: the exporter may be a Python object. A page is small.
        let batches = data
            .into_reader()?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::from)?;
        let mut guard = self.inner.try_lock().map_err(|_| busy())?;
        let writer = guard.as_mut().ok_or_else(closed)?;
        py.detach(|| batches.iter().try_for_each(|batch| writer.write(batch)))?;
        Ok(())
    }

    /// Rows written so far.
    #[getter]
    fn rows(&self) -> PyResult<usize> {
        let guard = self.inner.try_lock().map_err(|_| busy())?;
        Ok(guard.as_ref().map_or(0, FileWriter::rows))
    }

    /// Finishes the file (renamed into place); `empty` gives the schema of a file with no
    /// rows. Returns `(rows, rewrites)`.
    #[pyo3(signature = (empty=None))]
    fn finish(&self, py: Python<'_>, empty: Option<AnyRecordBatch>) -> PyResult<(usize, usize)> {
        let empty_schema = empty
            .map(|e| e.into_reader().map(|r| r.schema()))
            .transpose()?;
        let writer = self
            .inner
            .try_lock()
            .map_err(|_| busy())?
            .take()
            .ok_or_else(closed)?;
        let summary = py.detach(|| writer.finish(empty_schema))?;
        *self.notes.try_lock().map_err(|_| busy())? = summary.notes;
        Ok((summary.rows, summary.rewrites))
    }

    /// Once finished: one warning per column whose earlier values the file holds as another
    /// type prints them (a column that turned to text on a later page).
    #[getter]
    fn notes(&self) -> PyResult<Vec<String>> {
        Ok(self.notes.try_lock().map_err(|_| busy())?.clone())
    }

    /// Stops without a file (the temporary output is removed); idempotent.
    fn abort(&self) -> PyResult<()> {
        let writer = self.inner.try_lock().map_err(|_| busy())?.take();
        drop(writer);
        Ok(())
    }
}

/// Reads a Parquet, IPC, CSV or NDJSON file (by extension) into an Arrow table; `schema`
/// (checked by the Python layer, as a fetch's) types CSV or NDJSON columns instead of inference;
/// `to` (`"calls"` or `"reps"`, checked by the push) is the push's target, if given.
#[pyfunction]
#[pyo3(signature = (path, schema=None, to=None))]
pub fn read_file(
    py: Python<'_>,
    path: PathBuf,
    schema: Option<Bound<'_, PyDict>>,
    to: Option<Bound<'_, PyAny>>,
) -> PyResult<PyArrowTable> {
    let types = schema_overrides(schema.as_ref())?;
    // Any other value, of any type, is the push's to refuse, naming it.
    let to = match to.and_then(|to| to.extract::<String>().ok()).as_deref() {
        Some("reps") => Some(crate::encode::Target::Reps),
        Some("calls") => Some(crate::encode::Target::Calls),
        _ => None,
    };
    // Read on a blocking thread while this one takes Ctrl-C: a large CSV had kept a stop
    // waiting for its whole read, then raised it bare (outside trial 74 F3). A read stopped
    // so runs on to its end in the background, and its rows are dropped.
    let reading = async move {
        let read = move || write::read_file(&path, &types, to);
        match crate::runtime::call::spawn_blocking(read).await {
            Ok(read) => read,
            Err(failed) => std::panic::resume_unwind(failed.into_panic()),
        }
    };
    let sink = super::runtime::ProgressSink::new(None);
    let (schema, batches) = super::runtime::enter_converz(py, &sink, reading)
        .map_err(|err| super::push::stopped_before_sending(py, err, "its file was read"))?;
    Ok(PyArrowTable::new(schema, batches))
}

/// Where row `row` (from 0) of the file at `path` is, `column` its field looked at: `"line
/// N"` in a CSV or NDJSON file, `"row N"` in a Parquet or Arrow one.
#[pyfunction]
pub fn file_place(path: PathBuf, row: usize, column: usize) -> PyResult<String> {
    Ok(write::file_place(&path, row, column)?)
}

/// `data` (schema and batches) as the bytes of one Arrow IPC stream: a pickled `Table`.
#[pyfunction]
pub fn ipc_stream_bytes<'py>(
    py: Python<'py>,
    data: AnyRecordBatch,
) -> PyResult<Bound<'py, PyBytes>> {
    let reader = data.into_reader()?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(Error::from)?;
    // Written straight into the bytes object: the table plus one copy, not two.
    let len = py.detach(|| write::ipc_stream_len(&schema, &batches))?;
    PyBytes::new_with(py, len, |out| {
        py.detach(|| write::ipc_stream_into(&schema, &batches, out))
            .map_err(PyErr::from)
    })
}

/// The table in the bytes [`ipc_stream_bytes`] made: an unpickled `Table`.
#[pyfunction]
pub fn read_ipc_stream(py: Python<'_>, data: &[u8]) -> PyResult<PyArrowTable> {
    let (schema, batches) = py.detach(|| write::from_ipc_stream(data))?;
    Ok(PyArrowTable::new(schema, batches))
}

/// A stream's table's columns handed out at wider types than its page's own
/// (`PyArrowTable::own`), as a one-batch table and their indexes, for its pickle; `None` for a
/// table without them. A table pickled without them joined as floats print (outside trial 84:
/// `3` read `3.0` once the stream's tables had crossed a process).
#[pyfunction]
pub fn own_columns(table: &PyArrowTable) -> PyResult<Option<(PyArrowTable, Vec<usize>)>> {
    let own = table.own();
    if own.is_empty() {
        return Ok(None);
    }
    let fields: Vec<arrow_schema::Field> = own
        .iter()
        .map(|(index, values)| {
            arrow_schema::Field::new(index.to_string(), values.data_type().clone(), true)
        })
        .collect();
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    let columns = own.iter().map(|(_, values)| Arc::clone(values)).collect();
    let batch =
        arrow_array::RecordBatch::try_new(Arc::clone(&schema), columns).map_err(Error::from)?;
    let indexes = own.iter().map(|(index, _)| *index).collect();
    Ok(Some((PyArrowTable::new(schema, vec![batch]), indexes)))
}

/// `table` with `own` (from [`own_columns`]) as its columns at their pages' own types: an
/// unpickled stream's table.
#[pyfunction]
pub fn with_own_columns(
    table: &PyArrowTable,
    own: &PyArrowTable,
    indexes: Vec<usize>,
) -> PyResult<PyArrowTable> {
    let batches = table.batches().map_err(Error::from)?;
    let columns = own.batches().map_err(Error::from)?;
    let invalid = || Error::invalid("own", "not the own columns of this table");
    let [batch] = batches.as_slice() else {
        return Err(invalid().into());
    };
    let [own_batch] = columns.as_slice() else {
        return Err(invalid().into());
    };
    let fits = |(k, index): (usize, &usize)| {
        *index < batch.num_columns() && own_batch.column(k).len() == batch.num_rows()
    };
    if indexes.len() != own_batch.num_columns() || !indexes.iter().enumerate().all(fits) {
        return Err(invalid().into());
    }
    let own = indexes
        .into_iter()
        .enumerate()
        .map(|(k, index)| (index, Arc::clone(own_batch.column(k))))
        .collect();
    Ok(PyArrowTable::streamed(
        Arc::clone(table.schema()),
        batch.clone(),
        own,
    ))
}

/// `data` as CSV bytes for streaming to stdout: with `columns` None, a header and the
/// batch's columns; else no header and exactly `columns` (those of the first batch).
#[pyfunction]
#[pyo3(signature = (data, columns=None))]
pub fn csv_bytes<'py>(
    py: Python<'py>,
    data: AnyRecordBatch,
    columns: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let reader = data.into_reader()?;
    let schema = reader.schema();
    let mut batches = reader.collect::<Result<Vec<_>, _>>().map_err(Error::from)?;
    if batches.is_empty() {
        // A table with no rows may hold no batch: an empty one still gives the header.
        batches.push(arrow_array::RecordBatch::new_empty(schema));
    }
    let bytes = write::csv_bytes(&batches, columns.as_deref())?;
    Ok(PyBytes::new(py, &bytes))
}

/// `(days since 1970-01-01, that day's rows)` pairs.
type DayTables = Vec<(i32, PyArrowTable)>;

/// Splits `data` by day: `([(days since 1970-01-01, table), ...], latest start_time in µs)`.
/// With `drop_date` the tables leave out `date_column` (in a hive layout the directory name
/// carries it).
#[pyfunction]
#[pyo3(signature = (data, date_column, time_column, drop_date=true))]
pub fn split_days(
    data: AnyRecordBatch,
    date_column: &str,
    time_column: &str,
    drop_date: bool,
) -> PyResult<(DayTables, Option<i64>)> {
    let reader = data.into_reader()?;
    let mut days: DayTables = Vec::new();
    let mut latest: Option<i64> = None;
    for batch in reader {
        let batch = batch.map_err(Error::from)?;
        latest = latest.max(write::latest_time(&batch, time_column, date_column));
        let keep: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| !drop_date || batch.schema().field(i).name() != date_column)
            .collect();
        for (day, part) in write::split_by_day(&batch, date_column)? {
            let part = part.project(&keep).map_err(Error::from)?;
            days.push((day, PyArrowTable::new(part.schema(), vec![part])));
        }
    }
    Ok((days, latest))
}

/// The `key` values of a sync run's fetched files, read once (only the key column) and asked
/// by every step that needs them: which day files hold a fetched key, and the rows of day
/// files the fetch did not return.
#[pyclass(name = "KeySet", module = "converz._core", frozen)]
pub struct PyKeySet {
    key: String,
    seen: HashSet<String>,
}

#[pymethods]
impl PyKeySet {
    /// The `key` values of the Parquet files `fetched`.
    #[new]
    fn new(py: Python<'_>, fetched: Vec<PathBuf>, key: String) -> PyResult<Self> {
        let seen = py
            .detach(|| write::keys_in(&fetched, &key))
            .map_err(PyErr::from)?;
        Ok(Self { key, seen })
    }

    fn __len__(&self) -> usize {
        self.seen.len()
    }

    /// Whether each file of `paths` holds one of the keys (Parquet; only the key column is
    /// read).
    fn files_holding(&self, py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Vec<bool>> {
        py.detach(|| write::files_holding(&paths, &self.key, &self.seen))
            .map_err(PyErr::from)
    }

    /// For each `(old, output, day)` day file of a dataset, writes to `output` its rows whose
    /// key is not one of these, and with `before` whose `start_time` is before it (µs since
    /// 1970-01-01: the rows a run's fetch could not return, by their recorded start, which
    /// replacing the day would drop), with a `date` column of `day` (days since 1970-01-01) if
    /// it has none; returns how many rows each day carries (0: no file written) of how many it
    /// has.
    #[pyo3(signature = (days, before=None))]
    fn carry_unseen(
        &self,
        py: Python<'_>,
        days: Vec<(PathBuf, PathBuf, Option<i32>)>,
        before: Option<i64>,
    ) -> PyResult<Vec<(usize, usize)>> {
        py.detach(|| {
            days.iter()
                .map(|(old, output, day)| {
                    write::carry_unseen(old, &self.seen, &self.key, before, output, *day)
                })
                .collect::<Result<Vec<_>, Error>>()
        })
        .map_err(PyErr::from)
    }
}

/// Writes each `(inputs, output)` day into one Parquet file under the schema all `days`
/// inputs and `existing` files add up to, and rewrites each `(file, output)` of `existing`
/// whose schema differs from it. Returns the rows of each day and the rewritten existing files.
#[pyfunction]
pub fn conform_days(
    py: Python<'_>,
    days: Vec<(Vec<PathBuf>, PathBuf)>,
    existing: Vec<(PathBuf, PathBuf)>,
) -> PyResult<(Vec<usize>, Vec<PathBuf>)> {
    py.detach(|| {
        let mut all: Vec<PathBuf> = days.iter().flat_map(|(i, _)| i.clone()).collect();
        all.extend(existing.iter().map(|(f, _)| f.clone()));
        let Some(schema) = write::merged_schema(&all)? else {
            return Ok((vec![0; days.len()], Vec::new()));
        };
        let rows = days
            .iter()
            .map(|(inputs, output)| write::conform_parquet(inputs, output, &schema))
            .collect::<Result<Vec<_>, Error>>()?;
        let mut rewritten = Vec::new();
        for (file, output) in &existing {
            if write::parquet_schema(file)?.fields() != schema.fields() {
                write::conform_parquet(std::slice::from_ref(file), output, &schema)?;
                rewritten.push(file.clone());
            }
        }
        Ok::<_, Error>((rows, rewritten))
    })
    .map_err(PyErr::from)
}

/// The columns of Parquet files `existing` whose type the files `staged` widen: those whose
/// type in the schema all of them add up to differs from the type `existing` alone add up to.
/// For a Delta table, which would cast the staged values down to its types instead.
#[pyfunction]
pub fn widened_columns(
    py: Python<'_>,
    existing: Vec<PathBuf>,
    staged: Vec<PathBuf>,
) -> PyResult<Vec<String>> {
    py.detach(|| {
        let Some(before) = write::merged_schema(&existing)? else {
            return Ok(Vec::new());
        };
        let all: Vec<PathBuf> = existing.iter().chain(&staged).cloned().collect();
        let after = write::merged_schema(&all)?.unwrap_or_else(|| Arc::clone(&before));
        Ok::<_, Error>(
            before
                .fields()
                .iter()
                .filter(|old| {
                    after
                        .field_with_name(old.name())
                        .is_ok_and(|new| new.data_type() != old.data_type())
                })
                .map(|old| old.name().clone())
                .collect(),
        )
    })
    .map_err(PyErr::from)
}

/// The rows of Parquet `paths`, in order, as one table under the schema they and the files
/// `like` add up to (for handing a day's staged parts to another writer, such as deltalake:
/// `like` are the table's files, so each value is cast here, as one fetch casts it, and not by
/// the other writer: deltalake spelled a timestamp cast to the table's text `2024-01-01T10:00:00`,
/// outside trial 21b).
#[pyfunction]
#[pyo3(signature = (paths, like = Vec::new()))]
pub fn read_parquet_files(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    like: Vec<PathBuf>,
) -> PyResult<PyArrowTable> {
    let (schema, batches) = py.detach(|| {
        let all: Vec<PathBuf> = like.iter().chain(&paths).cloned().collect();
        let schema =
            write::merged_schema(&all)?.unwrap_or_else(|| Arc::new(arrow_schema::Schema::empty()));
        let mut batches = Vec::new();
        for path in &paths {
            for batch in write::FileReader::open(path, FileFormat::Parquet)? {
                batches.push(crate::decode::conform_batch(&batch?, &schema)?);
            }
        }
        Ok::<_, Error>((schema, batches))
    })?;
    Ok(PyArrowTable::new(schema, batches))
}
