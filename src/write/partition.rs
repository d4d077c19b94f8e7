//! Day partitions for sync: split a batch by its `date` column, track the latest `start_time`,
//! and turn a day's staged part files into one file under the dataset's schema.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, TimestampMicrosecondType};
use arrow_array::{Array, BooleanArray, Date32Array, RecordBatch, UInt32Array};
use arrow_cast::cast;
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use arrow_select::filter::filter_record_batch;
use arrow_select::take::take_record_batch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::sink::read_error;
use super::{merge_schemas, settled, FileFormat, FileReader, FileWriter};
use crate::decode::conform_batch;
use crate::error::{Error, Result};

/// Says a row's date is not one a synced dataset can be partitioned by (for the error's hint).
pub const UNDATED: &str = "a synced dataset is partitioned by";

/// Says the API's rows lacked the column a synced dataset is partitioned by (for the error's
/// hint).
pub const NO_DATE_COLUMN: &str = "the API sent rows without the";

/// ` for call 1040` when `batch` has a `call_id` at `row`, else nothing.
fn call_of(batch: &RecordBatch, row: usize) -> String {
    let id = batch
        .column_by_name("call_id")
        .and_then(|c| c.as_primitive_opt::<arrow_array::types::Int64Type>())
        .filter(|ids| ids.is_valid(row))
        .map(|ids| ids.value(row));
    id.map_or_else(String::new, |id| format!(" for call {id}"))
}

/// `batch`'s rows grouped by day (days since 1970-01-01, ascending), each group in row order.
pub fn split_by_day(batch: &RecordBatch, date_column: &str) -> Result<Vec<(i32, RecordBatch)>> {
    let Some(column) = batch.column_by_name(date_column) else {
        // A sync always asks for the column (whatever `columns=` says), so the server left it
        // out: its data, not a parameter of the caller's (outside trial 82 F1: "invalid
        // parameter `columns`" and "nothing was sent" after the listing's requests).
        return Err(Error::Decode {
            endpoint: "GET /calls".to_owned(),
            message: format!(
                "{NO_DATE_COLUMN} `{date_column}` column, which it documents on every call; \
                 {UNDATED} `{date_column}`"
            ),
        });
    };
    // The server's data, not the caller's parameter (outside trial 20: "invalid parameter
    // `date`" for a row whose date a push had made a timestamp or null).
    let odd = |what: String, row: usize| Error::Decode {
        endpoint: "GET /calls".to_owned(),
        message: format!(
            "the API sent {what}{}, where the API documents a date; {UNDATED} `{date_column}`",
            call_of(batch, row)
        ),
    };
    let Some(days) = column.as_primitive_opt::<Date32Type>() else {
        // The first value that is not a date as the API writes one (`YYYY-MM-DD`).
        // A real day, by the decoder's own date rule (`2025-02-30` is shaped like one but is
        // none; outside trial 20b).
        let dated =
            |v: &str| v.len() == 10 && crate::decode::civil::date_days(v.as_bytes()).is_some();
        let row = column
            .as_string_opt::<i32>()
            .and_then(|texts| {
                (0..texts.len()).find(|&i| texts.is_valid(i) && !dated(texts.value(i)))
            })
            .or_else(|| (0..column.len()).find(|&i| column.is_valid(i)))
            .unwrap_or(0);
        let text =
            arrow_cast::display::ArrayFormatter::try_new(column.as_ref(), &Default::default())
                .map(|f| f.value(row).to_string())
                .unwrap_or_default();
        let what = format!("`{date_column}` as {} ({text:?})", column.data_type());
        return Err(odd(what, row));
    };
    if let Some(row) = (0..days.len()).find(|&i| days.is_null(i)) {
        return Err(odd(format!("a null `{date_column}`"), row));
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

/// The latest non-null value of a microsecond timestamp column, if the batch has one, each
/// row's no later than the end of its `date_column` day. A row whose start time lies days past
/// its own date (a typo, a clock bug: 2099 on a call of 2025) would otherwise move a sync's
/// watermark there for good, and every later run would fetch from 2099 and miss the updates
/// of the days it should fetch again (outside trial 21b).
pub fn latest_time(batch: &RecordBatch, time_column: &str, date_column: &str) -> Option<i64> {
    const DAY: i64 = 86_400_000_000;
    let column = batch.column_by_name(time_column)?;
    let time_of = times_of(column.as_ref())?;
    let days = batch
        .column_by_name(date_column)
        .and_then(|c| c.as_primitive_opt::<Date32Type>());
    (0..column.len())
        .filter_map(|row| {
            let time = time_of(row)?;
            Some(match days.filter(|d| d.is_valid(row)) {
                Some(days) => time.min((i64::from(days.value(row)) + 1) * DAY - 1),
                None => time,
            })
        })
        .max()
}

/// Each row's time in microseconds since 1970-01-01 (None: null or unreadable) of a
/// microsecond timestamp column, or of a text column of times as written; None for another
/// type.
fn times_of(column: &dyn Array) -> Option<Box<dyn Fn(usize) -> Option<i64> + '_>> {
    match column.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            let times = column.as_primitive::<TimestampMicrosecondType>();
            Some(Box::new(move |row| {
                times.is_valid(row).then(|| times.value(row))
            }))
        }
        // A column that one odd value made text (`...Z`, a date alone): its times as written,
        // read as the wall clock they name. Without them no run had a watermark, and every
        // run fetched everything again (outside trial 21b, F19).
        DataType::Utf8 => {
            let texts = column.as_string::<i32>();
            Some(Box::new(move |row| {
                texts
                    .is_valid(row)
                    .then(|| written_time(texts.value(row)))?
            }))
        }
        _ => None,
    }
}

/// Microseconds since 1970-01-01 of a time written `YYYY-MM-DD`, then maybe ` ` or `T` and
/// `HH:MM:SS` (anything after the seconds, a fraction or a zone, ignored: the watermark only
/// picks the day a later run starts from, less its overlap).
fn written_time(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let days = i64::from(crate::decode::civil::date_days(b)?);
    let clock = match b.get(10) {
        None => 0,
        Some(b' ' | b'T') => i64::from(crate::decode::civil::clock_seconds(&b[11..])?) * 1_000_000,
        Some(_) => return None,
    };
    Some(days * 86_400_000_000 + clock)
}

/// The Parquet schema of `path` (footer only).
pub fn parquet_schema(path: &Path) -> Result<SchemaRef> {
    let file = std::fs::File::open(path)?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(path, e))?;
    Ok(Arc::clone(builder.schema()))
}

/// One schema holding every file's schema (typed widening), None for no files. A flat column
/// that a file holds only nulls of takes its type from the files that hold values of it, as
/// the eager fetch types a column by its values: a day whose rows lack an object column
/// `columns=` asked for was staged as text, and made that column JSON text in every day
/// (outside trial 20b, N3). A column null in every file keeps the type the files name.
pub fn merged_schema(paths: &[PathBuf]) -> Result<Option<SchemaRef>> {
    let merge = |current: Option<SchemaRef>, next: SchemaRef| match current {
        None => next,
        Some(current) => merge_schemas(&current, &next, true).unwrap_or(current),
    };
    let (mut named, mut valued) = (None, None);
    for path in paths {
        let (schema, values) = schema_and_values(path)?;
        named = Some(merge(named, schema));
        valued = Some(merge(valued, values));
    }
    Ok(named
        .zip(valued)
        .map(|(named, valued)| settled(&valued, &named)))
}

/// The Parquet schema of `path`, and the same with each flat column the file holds only nulls
/// of (by its statistics; none counts as values) as `Null`.
fn schema_and_values(path: &Path) -> Result<(SchemaRef, SchemaRef)> {
    let file = std::fs::File::open(path)?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| read_error(path, e))?;
    let schema = Arc::clone(builder.schema());
    let meta = builder.metadata();
    let rows = u64::try_from(meta.file_metadata().num_rows()).unwrap_or(0);
    let leaves = meta.file_metadata().schema_descr();
    let only_nulls = |name: &str| {
        let Some(leaf) =
            (0..leaves.num_columns()).find(|&c| leaves.column(c).path().parts() == [name])
        else {
            return false;
        };
        let nulls: Option<u64> = meta
            .row_groups()
            .iter()
            .map(|group| {
                group
                    .column(leaf)
                    .statistics()
                    .and_then(|s| s.null_count_opt())
            })
            .sum();
        nulls == Some(rows)
    };
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(
            |f| match !f.data_type().is_nested() && only_nulls(f.name()) {
                true => Arc::new(Field::new(f.name(), DataType::Null, true)),
                false => Arc::clone(f),
            },
        )
        .collect();
    Ok((Arc::clone(&schema), Arc::new(Schema::new(fields))))
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

/// The keys in column `key` of the Parquet files `paths` (that column alone is read), as
/// text: an integer key as its digits.
pub fn keys_in(paths: &[PathBuf], key: &str) -> Result<HashSet<String>> {
    let mut keys = HashSet::new();
    for path in paths {
        for_each_key(path, key, |k| {
            keys.insert(k.to_owned());
            true
        })?;
    }
    Ok(keys)
}

/// Whether each Parquet file of `paths` holds a key of `seen` in column `key` (that column
/// alone is read, up to the first such key).
pub fn files_holding(paths: &[PathBuf], key: &str, seen: &HashSet<String>) -> Result<Vec<bool>> {
    paths
        .iter()
        .map(|path| {
            let mut found = false;
            for_each_key(path, key, |k| {
                found = seen.contains(k);
                !found
            })?;
            Ok(found)
        })
        .collect()
}

/// Calls `each` with every non-null key of column `key` in the Parquet file `path` (as text),
/// until it answers false.
fn for_each_key(path: &Path, key: &str, mut each: impl FnMut(&str) -> bool) -> Result<()> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path)?)
        .map_err(|e| read_error(path, e))?;
    let Some(index) = builder.schema().index_of(key).ok() else {
        return Ok(());
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    for batch in builder
        .with_projection(mask)
        .build()
        .map_err(|e| read_error(path, e))?
    {
        let batch = batch.map_err(Error::from)?;
        let texts = cast(batch.column(0), &DataType::Utf8)?;
        for k in texts.as_string::<i32>().iter().flatten() {
            if !each(k) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Writes the rows of the Parquet file `old` whose `key` is not in `seen` (and, with `before`
/// (µs since 1970-01-01), whose `start_time` is before it) to `output`, no file when there
/// are none; returns how many rows it kept of how many. With `before`, a row not fetched
/// whose start is in the fetched range left the query (a push changed a filtered column): it
/// is not carried, nor is one whose start cannot be read. `day` (days since 1970-01-01): added
/// as a `date` column when `old` has none (a Delta table's files keep their partition's date
/// in their path only).
pub fn carry_unseen(
    old: &Path,
    seen: &HashSet<String>,
    key: &str,
    before: Option<i64>,
    output: &Path,
    day: Option<i32>,
) -> Result<(usize, usize)> {
    let mut writer: Option<FileWriter> = None;
    let mut total = 0;
    for batch in FileReader::open(old, FileFormat::Parquet)? {
        let mut batch = batch?;
        total += batch.num_rows();
        if let (Some(day), Err(_)) = (day, batch.schema().index_of("date")) {
            let dates = Date32Array::from(vec![day; batch.num_rows()]);
            let mut fields = batch.schema().fields().to_vec();
            fields.push(Arc::new(Field::new("date", DataType::Date32, true)));
            let mut columns = batch.columns().to_vec();
            columns.push(Arc::new(dates));
            batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        }
        let Ok(index) = batch.schema().index_of(key) else {
            continue;
        };
        let time_of = batch
            .column_by_name("start_time")
            .and_then(|times| times_of(times.as_ref()));
        let started_before = |row: usize| match (before, &time_of) {
            (None, _) => true,
            (Some(before), Some(time_of)) => time_of(row).is_some_and(|t| t < before),
            (Some(_), None) => false,
        };
        let texts = cast(batch.column(index), &DataType::Utf8)?;
        let keep: BooleanArray = texts
            .as_string::<i32>()
            .iter()
            .enumerate()
            .map(|(row, k)| Some(k.is_some_and(|k| !seen.contains(k)) && started_before(row)))
            .collect();
        let kept = filter_record_batch(&batch, &keep)?;
        if kept.num_rows() > 0 {
            writer
                .get_or_insert_with(|| FileWriter::new(output, FileFormat::Parquet))
                .write(&kept)?;
        }
    }
    let kept = match writer {
        Some(writer) => writer.finish(None)?.rows,
        None => 0,
    };
    Ok((kept, total))
}

#[cfg(test)]
mod tests {
    use arrow_array::{Date32Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    #[test]
    fn times_written_as_text_give_a_watermark_within_their_day() {
        assert_eq!(written_time("1970-01-02"), Some(86_400_000_000));
        assert_eq!(written_time("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(written_time("1970-01-01 00:01:00.5"), Some(60_000_000));
        for odd in [
            "",
            "soon",
            "1970-02-30",
            "1970-01-01 25:00:00",
            "1970-01-01x",
        ] {
            assert_eq!(written_time(odd), None, "{odd}");
        }
        let schema = Schema::new(vec![
            Field::new("start_time", DataType::Utf8, true),
            Field::new("date", DataType::Date32, true),
        ]);
        let times = StringArray::from(vec![Some("1970-01-02T10:00:00Z"), None, Some("2099-01-01")]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(times), Arc::new(Date32Array::from(vec![1, 1, 1]))],
        )
        .expect("batch");
        // 2099 on a call of day 1 counts as the end of day 1.
        assert_eq!(
            latest_time(&batch, "start_time", "date"),
            Some(2 * 86_400_000_000 - 1)
        );
    }
}
