//! Day partitions for sync: split a batch by its `date` column, track the latest `start_time`,
//! and turn a day's staged part files into one file under the dataset's schema.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use arrow_select::take::take_record_batch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::sink::read_error;
use super::{merge_schemas, FileFormat, FileReader, FileWriter};
use crate::decode::conform_batch;
use crate::error::{Error, Result};

/// `batch`'s rows grouped by day (days since 1970-01-01, ascending), each group in row order.
pub fn split_by_day(batch: &RecordBatch, date_column: &str) -> Result<Vec<(i32, RecordBatch)>> {
    let Some(column) = batch.column_by_name(date_column) else {
        return Err(Error::invalid(
            "columns",
            format!("a synced dataset needs the `{date_column}` column to partition by"),
        ));
    };
    let Some(days) = column.as_primitive_opt::<Date32Type>() else {
        return Err(Error::invalid(
            date_column,
            format!("is {} where a date was expected", column.data_type()),
        ));
    };
    if days.null_count() > 0 {
        return Err(Error::invalid(
            date_column,
            "rows without a date cannot be partitioned",
        ));
    }
    let mut groups: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
    for (row, day) in days.values().iter().enumerate() {
        let row = u32::try_from(row).map_err(|_| Error::invalid("batch", "too many rows"))?;
        groups.entry(*day).or_default().push(row);
    }
    if groups.len() == 1 {
        let day = *groups.keys().next().expect("one group");
        return Ok(vec![(day, batch.clone())]);
    }
    groups
        .into_iter()
        .map(|(day, rows)| Ok((day, take_record_batch(batch, &UInt32Array::from(rows))?)))
        .collect()
}

/// The latest non-null value of a microsecond timestamp column, if the batch has one.
pub fn latest_time(batch: &RecordBatch, time_column: &str) -> Option<i64> {
    let column = batch.column_by_name(time_column)?;
    if column.data_type() != &DataType::Timestamp(TimeUnit::Microsecond, None) {
        return None;
    }
    column
        .as_primitive::<TimestampMicrosecondType>()
        .iter()
        .flatten()
        .max()
}

/// The Parquet schema of `path` (footer only).
pub fn parquet_schema(path: &Path) -> Result<SchemaRef> {
    let file = std::fs::File::open(path)?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(path, e))?;
    Ok(Arc::clone(builder.schema()))
}

/// One schema holding every file's schema (typed widening), None for no files.
pub fn merged_schema(paths: &[PathBuf]) -> Result<Option<SchemaRef>> {
    let mut merged: Option<SchemaRef> = None;
    for path in paths {
        let schema = parquet_schema(path)?;
        merged = Some(match merged {
            None => schema,
            Some(current) => merge_schemas(&current, &schema, true).unwrap_or(current),
        });
    }
    Ok(merged)
}

/// Writes `inputs` (Parquet, in order) into one Parquet file at `output` under `schema`.
/// A single input already in `schema` is renamed instead of copied. Returns the rows.
pub fn conform_parquet(inputs: &[PathBuf], output: &Path, schema: &SchemaRef) -> Result<usize> {
    if let [only] = inputs {
        let meta = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(only)?)
            .map_err(|e| read_error(only, e))?;
        if meta.schema().fields() == schema.fields() {
            let rows = usize::try_from(meta.metadata().file_metadata().num_rows()).unwrap_or(0);
            std::fs::rename(only, output)?;
            return Ok(rows);
        }
    }
    let mut writer = FileWriter::new(output, FileFormat::Parquet);
    // The first write fixes the file schema: an empty batch of the target schema.
    writer.write(&RecordBatch::new_empty(Arc::clone(schema)))?;
    for input in inputs {
        for batch in FileReader::open(input, FileFormat::Parquet)? {
            // Cast here: the writer types a column by the values it was given, so a day's
            // Int64 column kept Int64 under a Float64 target, and the dataset's days no longer
            // scanned together (outside trial 19b, N4).
            writer.write(&conform_batch(&batch?, schema)?)?;
        }
    }
    Ok(writer.finish(Some(Arc::clone(schema)))?.rows)
}
