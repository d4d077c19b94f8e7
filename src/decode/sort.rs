//! Ordering a fetch's rows by key, for the rare fetch that re-read its listing after rows moved
//! (the repair pass appends rows out of order).

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::Result;

/// The rows of `batches` in ascending `key` order, as one batch.
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
