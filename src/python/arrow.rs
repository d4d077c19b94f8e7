//! `_core.ArrowTable`: record batches held in Rust, exported through the Arrow PyCapsule stream
//! interface (pyo3-arrow's FFI helpers), so polars, pyarrow and DuckDB read them without a copy
//! and without converz depending on any of them.
//!
//! The declared export (`__arrow_c_stream__`) gives strings as Utf8, what pyarrow and DuckDB
//! expect; `stream_as` gives them in the form a DataFrame library stores (`crate::views`):
//! Utf8View for polars, LargeUtf8 for pandas' pyarrow-backed `str`. It converts every batch on
//! all cores before the reader pulls the first, and keeps each converted batch in place of the
//! old one, so the table and the frame share every buffer and the old offsets are freed on the
//! way: a fetch into a frame peaks at about the frame. The declared export converts such
//! batches back to Utf8 the same way, in place (from views it shares the long strings where a
//! batch's views still point at all its strings in order, and copies the rest; from LargeUtf8
//! only the offsets change).

use std::sync::Arc;

use arc_swap::ArcSwap;
use arrow_array::{ArrayRef, RecordBatch, StructArray};
use arrow_schema::{ArrowError, DataType, Field, FieldRef, Schema, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use pyo3_arrow::error::PyArrowResult;
use pyo3_arrow::ffi::{to_schema_pycapsule, to_stream_pycapsule, ArrayIterator};

use crate::error::Error;
use crate::runtime::cores::map_on_cores;
use crate::type_tree::children;
use crate::views::{form_schema, is_in, to_form, Form};

/// The batches: each as declared, or in the form a `stream_as` last converted it to. Swapped
/// lock-free, so a fork while another thread converts leaves no lock held in the child.
type Slots = Arc<[ArcSwap<RecordBatch>]>;

/// An immutable Arrow table.
#[pyclass(name = "ArrowTable", module = "converz._core", frozen)]
pub struct PyArrowTable {
    schema: SchemaRef,
    slots: Slots,
    /// A stream's table whose page was handed out at wider types than its own: those
    /// columns' values at the page's own types (`StreamedBatch::own`), for `Table.concat`.
    own: Vec<(usize, ArrayRef)>,
}

impl PyArrowTable {
    /// A table of `batches`, all with `schema`.
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        let slots = batches.into_iter().map(ArcSwap::from_pointee).collect();
        Self {
            schema,
            slots,
            own: Vec::new(),
        }
    }

    /// A stream's table of one `batch`, with the columns it holds wider than its page's own
    /// types (`own`, indexes into `batch`).
    pub fn streamed(schema: SchemaRef, batch: RecordBatch, own: Vec<(usize, ArrayRef)>) -> Self {
        Self {
            own,
            ..Self::new(schema, vec![batch])
        }
    }

    /// The columns the stream handed out at wider types than its page's own, at those own
    /// types (see [`own_typed`]).
    pub fn own(&self) -> &[(usize, ArrayRef)] {
        &self.own
    }

    /// The declared schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The batches with the declared schema (shared buffers; text another form holds is
    /// converted back to Utf8 as it is read, `views::convert`, the slots left as they are).
    pub fn batches(&self) -> Result<Vec<RecordBatch>, ArrowError> {
        converted(&self.slots, &self.schema).collect()
    }
}

/// A table's `batches` (with `schema`) as its page decoded them, for `Table.concat`: each column
/// of `own` (a stream's table: the columns it handed out at wider types than its page's own,
/// [`PyArrowTable::own`]) at its own type: integers as integers; a page's text of numbers (a
/// float beside an integer past 2^53) only where the join makes the column text (`joined`),
/// since to the fetch's merge rules its values are the numbers the floats handed out say.
pub fn own_typed(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
    own: &[(usize, ArrayRef)],
    joined: Option<&Schema>,
) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    let ends_as_text = |index: usize| {
        let name = schema.field(index).name();
        let field = joined.and_then(|j| j.field_with_name(name).ok());
        field.is_some_and(|f| f.data_type() == &DataType::Utf8)
    };
    let own: Vec<&(usize, ArrayRef)> = own
        .iter()
        .filter(|(index, values)| values.data_type() != &DataType::Utf8 || ends_as_text(*index))
        .collect();
    let [batch] = batches.as_slice() else {
        return Ok((Arc::clone(schema), batches));
    };
    if own.is_empty() {
        return Ok((Arc::clone(schema), batches));
    }
    let mut fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    let mut columns = batch.columns().to_vec();
    for (index, values) in own {
        let field = fields[*index].as_ref().clone();
        fields[*index] = Arc::new(field.with_data_type(values.data_type().clone()));
        columns[*index] = Arc::clone(values);
    }
    let typed = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batch = RecordBatch::try_new(Arc::clone(&typed), columns)?;
    Ok((typed, vec![batch]))
}

/// The slots' batches with `schema` (a [`form_schema`] of the declared one), each converted
/// as it is read if it is not in that form (the slots are left as they are).
fn converted(
    slots: &Slots,
    schema: &SchemaRef,
) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + 'static {
    let (slots, schema) = (Arc::clone(slots), Arc::clone(schema));
    (0..slots.len()).map(move |i| {
        let batch = slots[i].load_full();
        if is_in(&batch, &schema) {
            return Ok(RecordBatch::clone(&batch));
        }
        to_form(&batch, &schema)
    })
}

/// Converts every slot not yet in `schema`'s form (a [`form_schema`] of the declared one) and
/// stores the result in its slot, on as many threads as there are cores. Memory is as with
/// one batch at a time: each old batch is freed as its slot is replaced.
fn convert_all(slots: &Slots, schema: &SchemaRef) -> Result<(), ArrowError> {
    map_on_cores(slots.len(), |at| {
        let batch = slots[at].load_full();
        if !is_in(&batch, schema) {
            slots[at].store(Arc::new(to_form(&batch, schema)?));
        }
        Ok(())
    })
    .into_iter()
    .collect()
}

/// Whether a field anywhere inside `data_type` has a name holding a NUL character.
fn nul_inside(data_type: &DataType) -> bool {
    children(data_type).into_iter().any(|child| {
        child.name.is_some_and(|name| name.contains('\0')) || nul_inside(child.data_type)
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
    let requested = match requested_schema {
        Some(capsule) => {
            let asked = pyo3_arrow::PyField::from_arrow_pycapsule(&capsule)?.into_inner();
            same_values(field.data_type(), asked.data_type()).then_some(capsule)
        }
        None => None,
    };
    let reader = Box::new(ArrayIterator::new(arrays, field.into()));
    to_stream_pycapsule(py, reader, requested)
}

/// Whether `a` and `b` hold the same values in other layouts only (text as Utf8, LargeUtf8 or
/// views; lists as List or LargeList), so a cast between them loses nothing. A consumer's
/// requested schema is honoured only then: pyo3-arrow casts as arrow does by default, making
/// values that do not fit null (outside trial 30 F8: `call_id` asked for as int16 was all
/// null, a timestamp asked for as a date lost its time, unsaid). The PyCapsule protocol lets a
/// producer keep its own schema instead, which the consumer then sees.
fn same_values(a: &DataType, b: &DataType) -> bool {
    use DataType::{
        Binary, BinaryView, LargeBinary, LargeList, LargeUtf8, List, Struct, Utf8, Utf8View,
    };
    match (a, b) {
        (Utf8 | LargeUtf8 | Utf8View, Utf8 | LargeUtf8 | Utf8View) => true,
        (Binary | LargeBinary | BinaryView, Binary | LargeBinary | BinaryView) => true,
        (List(x) | LargeList(x), List(y) | LargeList(y)) => holds(x, y),
        (Struct(x), Struct(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(f, g)| f.name() == g.name() && holds(f, g))
        }
        _ => a == b,
    }
}

/// Whether field `asked` holds field `ours`' values: [`same_values`], with nulls allowed
/// wherever ours may have them (trial 30b F7: a request marking a column that has nulls
/// non-nullable was honoured, and the stream failed at its first null).
fn holds(ours: &Field, asked: &Field) -> bool {
    (asked.is_nullable() || !ours.is_nullable()) && same_values(ours.data_type(), asked.data_type())
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

    /// The first column whose name, or the name of a field anywhere inside it, holds a NUL
    /// character (which the Arrow C data interface cannot pass), and whether it is the
    /// column's own name; `None` if no name does.
    fn name_with_nul(&self) -> Option<(String, bool)> {
        self.schema.fields().iter().find_map(|f| {
            if f.name().contains('\0') {
                Some((f.name().clone(), true))
            } else {
                nul_inside(f.data_type()).then(|| (f.name().clone(), false))
            }
        })
    }

    /// The arrow type each column is stored in now, per batch (`[[type, ...], ...]`): the
    /// declared types, but for text columns a `frame=` fetch or a `stream_as` gave another
    /// form. For tests and debugging; the exports never depend on it.
    fn stored_types(&self) -> Vec<Vec<String>> {
        self.slots
            .iter()
            .map(|slot| {
                let batch = slot.load();
                let schema = batch.schema();
                schema
                    .fields()
                    .iter()
                    .map(|f| f.data_type().to_string())
                    .collect()
            })
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
        // Batches in another form (polars' views or pandas' offsets) are converted back in
        // place on every core first, as `stream_as` converts: once, not again by every export
        // (outside trial 56: three `to_arrow()` of a table laid out for polars kept three copies
        // of its strings), with each old batch freed as its slot is replaced.
        py.detach(|| convert_all(&self.slots, &self.schema))
            .map_err(|e| PyErr::from(Error::from(e)))?;
        let batches = converted(&self.slots, &self.schema);
        stream(py, &self.schema, batches, requested_schema)
    }

    /// The table as a PyCapsule stream with its Utf8 columns in `form`: `"utf8_view"` (polars)
    /// or `"large_utf8"` (pandas); the table keeps each batch in that form from then on.
    #[pyo3(signature = (form, requested_schema=None))]
    fn stream_as<'py>(
        &self,
        py: Python<'py>,
        form: &str,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyArrowResult<Bound<'py, PyCapsule>> {
        let form = match Form::named(form) {
            Some(form @ (Form::Utf8View | Form::LargeUtf8)) => form,
            _ => {
                let message = "one of 'utf8_view', 'large_utf8'";
                return Err(PyErr::from(Error::invalid("form", message)).into());
            }
        };
        let schema = form_schema(&self.schema, form);
        // Converted on every core before the reader pulls the first batch: the reader (polars'
        // import) pulls batches one at a time on one thread, which made the conversion a
        // serial step of every fetch into a frame.
        py.detach(|| convert_all(&self.slots, &schema))
            .map_err(|e| PyErr::from(Error::from(e)))?;
        let batches = converted(&self.slots, &schema);
        stream(py, &schema, batches, requested_schema)
    }
}
