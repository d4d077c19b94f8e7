//! The forms a table's string columns take for each destination, converted without copying a
//! string: Utf8 (declared; pyarrow, DuckDB), Utf8View (what polars stores) and LargeUtf8 (what
//! pandas' pyarrow-backed `str` columns store). Each form points into the same value bytes;
//! only the offsets (4 or 8 bytes a value) or views (16 bytes) are built.
//!
//! A view holds a string of at most 12 bytes inline. A column whose strings are all that short
//! (codes, ids, enums) needs none of its value bytes once it is a view array, so those are
//! dropped instead of kept alive under the views; a column whose long strings use under half of
//! its value bytes keeps only those, compacted. Going back from views to offsets shares the
//! value bytes where the views still point at all of them in order (`build::strings_of_views`)
//! and copies them otherwise.
//!
//! The views and the offsets at the other width are built in one loop each (`build`), trusting
//! the UTF-8 arrow validated when the Utf8 array was made instead of checking it again.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

mod build;
#[cfg(test)]
mod build_tests;

/// How the string columns (declared Utf8) are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Utf8,
    Utf8View,
    LargeUtf8,
}

impl Form {
    /// The form a name gives (`"utf8"`, `"utf8_view"`, `"large_utf8"`), or `None`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "utf8" => Some(Form::Utf8),
            "utf8_view" => Some(Form::Utf8View),
            "large_utf8" => Some(Form::LargeUtf8),
            _ => None,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Form::Utf8 => DataType::Utf8,
            Form::Utf8View => DataType::Utf8View,
            Form::LargeUtf8 => DataType::LargeUtf8,
        }
    }
}

/// The `declared` schema with every top-level Utf8 column in `form` (names, nullability and
/// metadata kept).
pub fn form_schema(declared: &Schema, form: Form) -> SchemaRef {
    let fields: Vec<Field> = declared
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(form.data_type()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(
        fields,
        declared.metadata().clone(),
    ))
}

/// Whether every string column of `batch` already has the type `schema` (a [`form_schema`])
/// gives it.
pub fn is_in(batch: &RecordBatch, schema: &Schema) -> bool {
    batch
        .columns()
        .iter()
        .zip(schema.fields())
        .all(|(c, f)| !is_string(c.data_type()) || c.data_type() == f.data_type())
}

/// `batch` (its string columns in any form) with its string columns typed as `schema` (a
/// [`form_schema`]) says; its fields keep their names, nullability and metadata. A batch
/// already in that form is returned as it is.
pub fn to_form(batch: &RecordBatch, schema: &Schema) -> Result<RecordBatch, ArrowError> {
    if is_in(batch, schema) {
        return Ok(batch.clone());
    }
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| convert(column, field.data_type()))
        .collect::<Result<_, _>>()?;
    let own = batch.schema_ref();
    let fields: Vec<Field> = own
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
        .collect();
    let schema = Schema::new_with_metadata(fields, own.metadata().clone());
    RecordBatch::try_new(Arc::new(schema), columns)
}

pub(crate) fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// `column` as `to` when both are string types (between offset widths and views without copying
/// a string where `build` can); any other column as it is.
pub(crate) fn convert(column: &ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    let from = column.data_type();
    if from == to || !is_string(from) {
        return Ok(Arc::clone(column));
    }
    let built: Option<ArrayRef> = match (from, to) {
        (DataType::Utf8, DataType::Utf8View) => {
            build::views(column.as_string::<i32>()).map(|a| Arc::new(a) as _)
        }
        (DataType::LargeUtf8, DataType::Utf8View) => {
            build::views(column.as_string::<i64>()).map(|a| Arc::new(a) as _)
        }
        (DataType::Utf8, DataType::LargeUtf8) => {
            build::reoffset::<i32, i64>(column.as_string()).map(|a| Arc::new(a) as _)
        }
        (DataType::LargeUtf8, DataType::Utf8) => {
            build::reoffset::<i64, i32>(column.as_string()).map(|a| Arc::new(a) as _)
        }
        (DataType::Utf8View, DataType::Utf8) => {
            build::strings_of_views::<i32>(column.as_string_view()).map(|a| Arc::new(a) as _)
        }
        (DataType::Utf8View, DataType::LargeUtf8) => {
            build::strings_of_views::<i64>(column.as_string_view()).map(|a| Arc::new(a) as _)
        }
        _ => None,
    };
    match built {
        Some(array) => Ok(array),
        // Values past a view's u32 offset or Utf8's i32 (arrow then splits them into several
        // buffers, or says they do not fit).
        None => arrow_cast::cast(column, to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};

    fn batch(short: Vec<Option<&str>>, long: Vec<Option<&str>>) -> RecordBatch {
        let n = short.len();
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("code", DataType::Utf8, true),
            Field::new("text", DataType::Utf8, true),
        ]);
        let ids = Int64Array::from_iter_values(0..n as i64);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(ids),
                Arc::new(StringArray::from(short)),
                Arc::new(StringArray::from(long)),
            ],
        )
        .unwrap()
    }

    fn value_ptr(b: &RecordBatch, c: usize) -> *const u8 {
        let column = b.column(c);
        match column.data_type() {
            DataType::Utf8 => column.as_string::<i32>().values().as_ptr(),
            DataType::LargeUtf8 => column.as_string::<i64>().values().as_ptr(),
            _ => column.as_string_view().data_buffers()[0].as_ptr(),
        }
    }

    #[test]
    fn every_form_keeps_values_and_nulls_and_shares_long_strings() {
        let long = "a string well past the twelve inline bytes";
        let b = batch(
            vec![Some("ab"), None, Some(""), Some("twelve bytes")],
            vec![Some(long), Some(long), None, Some("short")],
        );
        let declared = b.schema();
        let view = form_schema(&declared, Form::Utf8View);
        let large = form_schema(&declared, Form::LargeUtf8);
        let v = to_form(&b, &view).unwrap();
        let l = to_form(&b, &large).unwrap();
        assert_eq!(v.schema().field(1).data_type(), &DataType::Utf8View);
        assert_eq!(l.schema().field(2).data_type(), &DataType::LargeUtf8);
        assert_eq!(v.schema().field(0).data_type(), &DataType::Int64);
        // All-short codes keep no value bytes; long text shares the Utf8 buffer, not a copy.
        assert!(v.column(1).as_string_view().data_buffers().is_empty());
        assert_eq!(value_ptr(&v, 2), value_ptr(&b, 2));
        assert_eq!(value_ptr(&l, 2), value_ptr(&b, 2));
        assert_eq!(value_ptr(&to_form(&l, &view).unwrap(), 2), value_ptr(&b, 2));
        // Back to the declared form from each, value for value.
        for other in [&v, &l, &to_form(&v, &large).unwrap()] {
            assert_eq!(to_form(other, &declared).unwrap(), b);
        }
        assert!(is_in(&b, &declared) && !is_in(&b, &view) && is_in(&v, &view));
    }

    #[test]
    fn mostly_short_columns_are_compacted() {
        let long = "x".repeat(40);
        let mut short = vec![Some("code"); 200];
        short[7] = Some(long.as_str());
        let b = batch(short.clone(), short);
        let v = to_form(&b, &form_schema(&b.schema(), Form::Utf8View)).unwrap();
        let views = v.column(1).as_string_view();
        let held: usize = views.data_buffers().iter().map(|b| b.len()).sum();
        assert_eq!(held, 40);
        assert_eq!(views.value(7), long);
        assert_eq!(to_form(&v, &b.schema()).unwrap(), b);
    }

    #[test]
    fn sliced_and_empty_batches_convert() {
        let b = batch(
            vec![Some("a"), Some("bb"), None],
            vec![None, Some("c"), Some("d")],
        );
        for form in [Form::Utf8View, Form::LargeUtf8] {
            let schema = form_schema(&b.schema(), form);
            for part in [b.slice(1, 2), b.slice(0, 0)] {
                let other = to_form(&part, &schema).unwrap();
                assert_eq!(to_form(&other, &b.schema()).unwrap(), part);
            }
        }
    }
}
