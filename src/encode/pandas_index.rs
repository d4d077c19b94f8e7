//! pandas' index, which pyarrow stores beside a frame's columns (`__index_level_0__`, or the
//! index's name) and lists in the schema's `pandas` metadata. A pandas frame is pushed without
//! its index (`preserve_index=False`); a file or Arrow table made from one must be too, or the
//! API creates the index as an attribute on every row pushed (found by the outside trial:
//! `converz push` of a filtered frame's Parquet file sent `__index_level_0__`).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};

/// `schema` and `batches` without the columns pandas' metadata names as its index.
pub fn without_pandas_index(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> (SchemaRef, Vec<RecordBatch>) {
    let index = index_columns(&schema);
    if index.is_empty() {
        return (schema, batches);
    }
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !index.contains(schema.field(i).name()))
        .collect();
    // In range by construction: neither projection can fail.
    let projected = schema.project(&keep).unwrap_or_else(|_| (*schema).clone());
    let projected = Arc::new(Schema::new_with_metadata(
        projected.fields().clone(),
        schema.metadata().clone(),
    ));
    let batches = batches
        .into_iter()
        .map(|batch| batch.project(&keep).unwrap_or(batch))
        .collect();
    (projected, batches)
}

/// The index columns pandas' metadata lists by name (a RangeIndex is stored as its range, not
/// as a column, and is listed as an object).
fn index_columns(schema: &Schema) -> Vec<String> {
    let Some(text) = schema.metadata().get("pandas") else {
        return Vec::new();
    };
    let Ok(meta) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    meta.get("index_columns")
        .and_then(serde_json::Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow_array::{ArrayRef, Int64Array};
    use arrow_schema::{DataType, Field};

    use super::*;

    #[test]
    fn only_the_index_columns_pandas_lists_by_name_are_dropped() {
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
        assert_eq!(names, ["call_id", "qa"]);
        assert_eq!(batches[0].num_columns(), 2);
        // No pandas metadata (polars, a plain Arrow table): nothing dropped.
        let plain = Arc::new(Schema::new(fields.to_vec()));
        let (kept, _) = without_pandas_index(Arc::clone(&plain), Vec::new());
        assert_eq!(kept.fields().len(), 4);
    }
}
