//! The last step of a fetch: every batch cast to the final schema (columns a page lacked become
//! nulls, narrower types are widened), and rows whose key was already seen dropped.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{new_null_array, Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType, SchemaRef};

use crate::error::{Error, Result};

/// Casts and pads `batches` to `schema`.
pub fn conform_all(schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    batches
        .into_iter()
        .map(|batch| conform(schema, &batch))
        .collect()
}

fn conform(schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    if batch.schema() == *schema {
        return Ok(batch.clone());
    }
    let columns = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) if column.data_type() == field.data_type() => Ok(Arc::clone(column)),
            Some(column) => Ok(arrow_cast::cast(column, field.data_type())?),
            None => Ok(new_null_array(field.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// Drops rows whose key was seen before, across batches (rows that moved between pages).
pub struct KeyDeduper {
    key: String,
    ints: HashSet<i64>,
    strings: HashSet<String>,
}

impl KeyDeduper {
    /// A deduper on column `key`.
    pub fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            ints: HashSet::new(),
            strings: HashSet::new(),
        }
    }

    /// `batch` without rows whose key was seen already, and how many were dropped. A batch
    /// without the key column passes unchanged.
    pub fn filter(&mut self, batch: &RecordBatch) -> Result<(RecordBatch, usize)> {
        let Some(column) = batch.column_by_name(&self.key) else {
            return Ok((batch.clone(), 0));
        };
        let keep: BooleanArray = match column.data_type() {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => {
                let ints = arrow_cast::cast(column, &DataType::Int64)?;
                let ints = ints.as_primitive::<Int64Type>();
                (0..ints.len())
                    .map(|i| Some(ints.is_null(i) || self.ints.insert(ints.value(i))))
                    .collect()
            }
            _ => {
                let text = arrow_cast::cast(column, &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                (0..text.len())
                    .map(|i| Some(text.is_null(i) || self.strings.insert(text.value(i).to_owned())))
                    .collect()
            }
        };
        let dropped = keep.false_count();
        if dropped == 0 {
            return Ok((batch.clone(), 0));
        }
        let kept = arrow_select::filter::filter_record_batch(batch, &keep).map_err(Error::from)?;
        Ok((kept, dropped))
    }
}

/// The table's rows in ascending `key` order, as one batch (used after a repair pass appended
/// rows out of order).
pub fn sort_by_key(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    key: &str,
) -> Result<Vec<RecordBatch>> {
    if batches.is_empty() {
        return Ok(Vec::new());
    }
    let all = arrow_select::concat::concat_batches(schema, batches)?;
    let Some(column) = all.column_by_name(key) else {
        return Ok(vec![all]);
    };
    let order = arrow_ord::sort::sort_to_indices(column, None, None)?;
    Ok(vec![arrow_select::take::take_record_batch(&all, &order)?])
}
