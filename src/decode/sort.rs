//! Ordering a fetch's rows by key, for the rare fetch that re-read its listing after rows moved
//! (the repair pass appends rows out of order).

use arrow_array::RecordBatch;

use crate::error::Result;

/// The rows of `batches` (all of one schema) in ascending `key` order, as one batch.
pub fn sort_by_key(batches: &[RecordBatch], key: &str) -> Result<Vec<RecordBatch>> {
    if batches.is_empty() {
        return Ok(Vec::new());
    }
    // The batches' own schema, not the table's: that one may declare their text columns in
    // another form (`DecodeOptions::form`).
    let all = arrow_select::concat::concat_batches(&batches[0].schema(), batches)?;
    let Some(column) = all.column_by_name(key) else {
        return Ok(vec![all]);
    };
    let order = arrow_ord::sort::sort_to_indices(column, None, None)?;
    Ok(vec![arrow_select::take::take_record_batch(&all, &order)?])
}
