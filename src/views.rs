//! Utf8 → Utf8View for destinations that store strings as views (polars): the views point into
//! the Utf8 column's own value bytes, so no string is copied, and the offsets can be freed.
//!
//! A view is 16 bytes and holds a string of at most 12 bytes inline. A column whose strings are
//! all that short (codes, ids, enums) needs none of its value bytes once it is a view array, so
//! those are dropped instead of kept alive under the views; a column whose long strings use
//! under half of its value bytes keeps only those, compacted. Either way the result takes no
//! more memory than polars' own import of the Utf8 column would, usually less.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringViewArray};
use arrow_schema::{ArrowError, DataType, Field, FieldRef, Schema, SchemaRef};

/// `schema` with every top-level Utf8 column as Utf8View (names, nullability and metadata kept).
pub fn view_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Whether `schema` has a column [`to_views`] would convert.
pub fn has_utf8(schema: &Schema) -> bool {
    schema
        .fields()
        .iter()
        .any(|f| f.data_type() == &DataType::Utf8)
}

/// `batch` with its Utf8 columns as Utf8View over the same value bytes; `schema` is
/// [`view_schema`] of the batch's schema.
pub fn to_views(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .map(|column| match column.data_type() {
            DataType::Utf8 => Arc::new(utf8_to_view(column)) as ArrayRef,
            _ => Arc::clone(column),
        })
        .collect();
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// `batch` with its Utf8View columns back as Utf8 (this copies their strings); `schema` is the
/// batch's declared schema.
/// A batch with no such column is returned as it is.
pub fn from_views(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let viewed = |(column, field): (&ArrayRef, &FieldRef)| {
        column.data_type() == &DataType::Utf8View && field.data_type() == &DataType::Utf8
    };
    let pairs = || batch.columns().iter().zip(schema.fields().iter());
    if !pairs().any(viewed) {
        return Ok(batch.clone());
    }
    let columns = pairs()
        .map(|pair| match viewed(pair) {
            true => arrow_cast::cast(pair.0, &DataType::Utf8),
            false => Ok(Arc::clone(pair.0)),
        })
        .collect::<Result<_, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
}

fn utf8_to_view(column: &ArrayRef) -> StringViewArray {
    // arrow's From shares the value buffer when its offsets fit u32 (always, for i32 offsets)
    // and inlines strings of up to 12 bytes in their views.
    let views = StringViewArray::from(column.as_string::<i32>());
    let held: usize = views.data_buffers().iter().map(|b| b.len()).sum();
    if views.total_buffer_bytes_used() * 2 <= held {
        views.gc() // drops the bytes no view points into; copies the (few) long strings
    } else {
        views
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

    #[test]
    fn views_keep_values_nulls_and_share_long_strings() {
        let long = "a string well past the twelve inline bytes";
        let b = batch(
            vec![Some("ab"), None, Some(""), Some("twelve bytes")],
            vec![Some(long), Some(long), None, Some("short")],
        );
        let schema = view_schema(&b.schema());
        let v = to_views(&b, &schema).unwrap();
        assert_eq!(v.schema().field(1).data_type(), &DataType::Utf8View);
        assert_eq!(v.schema().field(0).data_type(), &DataType::Int64);
        for c in 1..3 {
            let want: Vec<_> = b.column(c).as_string::<i32>().iter().collect();
            let got: Vec<_> = v.column(c).as_string_view().iter().collect();
            assert_eq!(want, got);
        }
        // All-short codes keep no value bytes; long text shares the Utf8 buffer, not a copy.
        assert!(v.column(1).as_string_view().data_buffers().is_empty());
        let shared = b.column(2).as_string::<i32>().values().as_ptr();
        assert_eq!(v.column(2).as_string_view().data_buffers()[0].as_ptr(), shared);
        // And back: the declared batch again, value for value.
        assert_eq!(from_views(&v, &b.schema()).unwrap(), b);
    }

    #[test]
    fn mostly_short_columns_are_compacted() {
        let long = "x".repeat(40);
        let mut short = vec![Some("code"); 200];
        short[7] = Some(long.as_str());
        let b = batch(short.clone(), short);
        let v = to_views(&b, &view_schema(&b.schema())).unwrap();
        let views = v.column(1).as_string_view();
        let held: usize = views.data_buffers().iter().map(|b| b.len()).sum();
        assert_eq!(held, 40);
        assert_eq!(views.value(7), long);
        assert_eq!(from_views(&v, &b.schema()).unwrap(), b);
    }

    #[test]
    fn sliced_and_empty_batches_convert() {
        let b = batch(vec![Some("a"), Some("bb"), None], vec![None, Some("c"), Some("d")]);
        let schema = view_schema(&b.schema());
        for part in [b.slice(1, 2), b.slice(0, 0)] {
            let v = to_views(&part, &schema).unwrap();
            assert_eq!(from_views(&v, &b.schema()).unwrap(), part);
        }
        assert!(has_utf8(&b.schema()));
        assert!(!has_utf8(&schema));
    }
}
