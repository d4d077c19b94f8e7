//! pandas' index, which pyarrow stores beside a frame's columns and lists in the schema's
//! `pandas` metadata. An unnamed index (`__index_level_0__`, or a RangeIndex stored as its
//! range) is row numbering, not data: it is dropped, or the API would create it as an attribute
//! on every row pushed (found by the outside trial: `converz push` of a filtered frame's Parquet
//! file sent `__index_level_0__`). A *named* level is data the user chose
//! (`df.set_index("call_id")`) and stays a column, even when pandas stored it only as a
//! RangeIndex's start, stop and step (an evenly spaced index): that one is built back.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde_json::Value;

/// `schema` and `batches` without pandas' unnamed index, with a named RangeIndex as a column.
pub fn without_pandas_index(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> (SchemaRef, Vec<RecordBatch>) {
    let levels = index_levels(&schema);
    if levels.is_empty() {
        return (schema, batches);
    }
    let unnamed: Vec<&str> = levels
        .iter()
        .filter_map(|level| match level {
            Value::String(name) if is_unnamed(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !unnamed.contains(&schema.field(i).name().as_str()))
        .collect();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let ranges: Vec<(String, Vec<i64>)> = levels
        .iter()
        .filter_map(|level| named_range(level, &schema, rows))
        .collect();
    // In range by construction: the projections cannot fail.
    let projected = schema.project(&keep).unwrap_or_else(|_| (*schema).clone());
    let mut fields: Vec<Field> = projected.fields().iter().map(|f| (**f).clone()).collect();
    fields.extend(
        ranges
            .iter()
            .map(|(name, _)| Field::new(name, DataType::Int64, false)),
    );
    let projected = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let mut offset = 0;
    let batches = batches
        .into_iter()
        .map(|batch| {
            let kept = batch.project(&keep).unwrap_or(batch);
            let length = kept.num_rows();
            let mut columns = kept.columns().to_vec();
            for (_, values) in &ranges {
                let slice = values[offset..offset + length].to_vec();
                columns.push(Arc::new(Int64Array::from(slice)) as ArrayRef);
            }
            offset += length;
            RecordBatch::try_new(Arc::clone(&projected), columns).unwrap_or(kept)
        })
        .collect();
    (projected, batches)
}

/// A name pyarrow gives an index level that has none (`__index_level_0__`, ...).
fn is_unnamed(name: &str) -> bool {
    name.strip_prefix("__index_level_")
        .and_then(|rest| rest.strip_suffix("__"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The values of a named RangeIndex stored as metadata only, when they fit `rows` and no
/// column has its name already.
fn named_range(level: &Value, schema: &Schema, rows: usize) -> Option<(String, Vec<i64>)> {
    if level.get("kind")?.as_str()? != "range" {
        return None;
    }
    let name = level.get("name")?.as_str()?;
    if schema.field_with_name(name).is_ok() {
        return None;
    }
    let start = level.get("start")?.as_i64()?;
    let step = level.get("step")?.as_i64()?;
    let values: Vec<i64> = (0..rows)
        .map(|i| i64::try_from(i).ok()?.checked_mul(step)?.checked_add(start))
        .collect::<Option<_>>()?;
    // The range must describe exactly these rows, or it is not this data's index.
    let stop = level.get("stop")?.as_i64()?;
    let expected = if step > 0 {
        (stop - start).max(0).checked_add(step - 1)? / step
    } else if step < 0 {
        (start - stop).max(0).checked_add(-step - 1)? / -step
    } else {
        return None;
    };
    (usize::try_from(expected).ok()? == rows).then(|| (name.to_owned(), values))
}

/// The index levels pandas' metadata lists: a column name, or a RangeIndex as an object.
fn index_levels(schema: &Schema) -> Vec<Value> {
    let Some(text) = schema.metadata().get("pandas") else {
        return Vec::new();
    };
    let Ok(meta) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    meta.get("index_columns")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow_array::{ArrayRef, Int64Array};
    use arrow_schema::{DataType, Field};

    use super::*;

    #[test]
    fn only_the_unnamed_index_columns_pandas_lists_are_dropped() {
        let column = |v: i64| Arc::new(Int64Array::from(vec![v])) as ArrayRef;
        let fields = ["call_id", "qa", "__index_level_0__", "batch"]
            .map(|n| Field::new(n, DataType::Int64, true));
        let meta = r#"{"index_columns": ["__index_level_0__", "batch",
            {"kind": "range", "start": 0, "stop": 1, "step": 1}], "columns": []}"#;
        let schema = Arc::new(Schema::new_with_metadata(
            fields.to_vec(),
            HashMap::from([("pandas".to_owned(), meta.to_owned())]),
        ));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![column(1), column(2), column(3), column(4)],
        )
        .unwrap();
        let (schema, batches) = without_pandas_index(schema, vec![batch]);
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        // "batch", a named level, is data; the unnamed RangeIndex is row numbering.
        assert_eq!(names, ["call_id", "qa", "batch"]);
        assert_eq!(batches[0].num_columns(), 3);
        // No pandas metadata (polars, a plain Arrow table): nothing dropped.
        let plain = Arc::new(Schema::new(fields.to_vec()));
        let (kept, _) = without_pandas_index(Arc::clone(&plain), Vec::new());
        assert_eq!(kept.fields().len(), 4);
    }

    #[test]
    fn a_named_range_index_is_built_back_as_a_column() {
        let fields = vec![Field::new("v", DataType::Int64, true)];
        let meta = r#"{"index_columns": [{"kind": "range", "name": "call_id",
            "start": 10, "stop": 25, "step": 5}], "columns": []}"#;
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            HashMap::from([("pandas".to_owned(), meta.to_owned())]),
        ));
        let batch = |values: Vec<i64>| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(Int64Array::from(values)) as ArrayRef],
            )
            .unwrap()
        };
        let (kept, batches) =
            without_pandas_index(Arc::clone(&schema), vec![batch(vec![1, 2]), batch(vec![3])]);
        assert_eq!(kept.field(1).name(), "call_id");
        let ids: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
                column.values().to_vec()
            })
            .collect();
        assert_eq!(ids, [10, 15, 20]);
        // A range that does not describe these rows is not their index: nothing is made up.
        let (kept, _) = without_pandas_index(Arc::clone(&schema), vec![batch(vec![1])]);
        assert_eq!(kept.fields().len(), 1);
    }
}
