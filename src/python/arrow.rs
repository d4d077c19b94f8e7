//! `_core.ArrowTable`: record batches held in Rust, exported through the Arrow PyCapsule stream
//! interface (pyo3-arrow's FFI helpers), so polars, pyarrow and DuckDB read them without a copy
//! and without converz depending on any of them.
//!
//! Two exports: `__arrow_c_stream__` gives the declared schema (strings as Utf8, what pyarrow,
//! pandas and DuckDB expect), and `view_stream` gives strings as Utf8View, what polars stores.
//! `view_stream` converts each batch as the reader pulls it and keeps the converted batch in
//! place of the Utf8 one (`crate::views`): the table and the frame then share every buffer and
//! the Utf8 offsets are freed on the way, so a fetch into polars peaks at about the frame.
//! A later declared export casts such batches back to Utf8, which copies their strings.

use std::sync::Arc;

use arc_swap::ArcSwap;
use arrow_array::{ArrayRef, RecordBatch, StructArray};
use arrow_schema::{ArrowError, Field, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use pyo3_arrow::error::PyArrowResult;
use pyo3_arrow::ffi::{to_schema_pycapsule, to_stream_pycapsule, ArrayIterator};

use crate::views::{from_views, has_utf8, to_views, view_schema};

/// The batches: each as declared, or its Utf8View form once `view_stream` exported it. Swapped
/// lock-free, so a fork while another thread converts leaves no lock held in the child.
type Slots = Arc<[ArcSwap<RecordBatch>]>;

/// An immutable Arrow table.
#[pyclass(name = "ArrowTable", module = "converz._core", frozen)]
pub struct PyArrowTable {
    schema: SchemaRef,
    slots: Slots,
}

impl PyArrowTable {
    /// A table of `batches`, all with `schema`.
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        let slots = batches.into_iter().map(ArcSwap::from_pointee).collect();
        Self { schema, slots }
    }

    /// The batches with the declared schema (shared buffers, except strings a `view_stream`
    /// converted, which are copied back to Utf8).
    pub fn batches(&self) -> Result<Vec<RecordBatch>, ArrowError> {
        declared(&self.slots, &self.schema).collect()
    }
}

/// The slots' batches as declared, converted back from views one by one as they are read.
fn declared(
    slots: &Slots,
    schema: &SchemaRef,
) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static {
    let (slots, schema) = (Arc::clone(slots), Arc::clone(schema));
    (0..slots.len()).map(move |i| from_views(&slots[i].load(), &schema))
}

/// The slots' batches with Utf8View strings, converting (and keeping) each as it is read.
fn viewed(
    slots: &Slots,
    schema: &SchemaRef,
) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static {
    let slots = Arc::clone(slots);
    let schema = view_schema(schema);
    (0..slots.len()).map(move |i| {
        let batch = slots[i].load_full();
        if !has_utf8(batch.schema_ref()) {
            return Ok(RecordBatch::clone(&batch));
        }
        let views = to_views(&batch, &schema)?;
        // Another thread converting the same batch at once stores an equal batch: either is fine.
        slots[i].store(Arc::new(views.clone()));
        Ok(views)
    })
}

/// A PyCapsule stream of `batches` with `schema` (as struct arrays, the stream protocol's form).
fn stream<'py>(
    py: Python<'py>,
    schema: &SchemaRef,
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static,
    requested_schema: Option<Bound<'py, PyCapsule>>,
) -> PyArrowResult<Bound<'py, PyCapsule>> {
    let arrays = batches.map(|batch| Ok(Arc::new(StructArray::from(batch?)) as ArrayRef));
    let field = Field::new_struct("", schema.fields().clone(), false)
        .with_metadata(schema.metadata().clone());
    let reader = Box::new(ArrayIterator::new(arrays, field.into()));
    to_stream_pycapsule(py, reader, requested_schema)
}

#[pymethods]
impl PyArrowTable {
    /// Rows in the table.
    #[getter]
    fn num_rows(&self) -> usize {
        self.slots.iter().map(|s| s.load().num_rows()).sum()
    }

    /// `[(name, arrow type), ...]`, readable without pyarrow.
    fn column_types(&self) -> Vec<(String, String)> {
        self.schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().to_string()))
            .collect()
    }

    fn __len__(&self) -> usize {
        self.num_rows()
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyArrowResult<Bound<'py, PyCapsule>> {
        to_schema_pycapsule(py, self.schema.as_ref())
    }

    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyArrowResult<Bound<'py, PyCapsule>> {
        let batches = declared(&self.slots, &self.schema);
        stream(py, &self.schema, batches, requested_schema)
    }

    /// The table as a PyCapsule stream with Utf8 columns as Utf8View (for polars).
    #[pyo3(signature = (requested_schema=None))]
    fn view_stream<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyArrowResult<Bound<'py, PyCapsule>> {
        let batches = viewed(&self.slots, &self.schema);
        stream(py, &view_schema(&self.schema), batches, requested_schema)
    }
}
