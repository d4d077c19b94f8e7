//! Tests of the clear rule at any width and for every kind of missing cell.

use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Float64Array, Int64Array, NullArray, RecordBatch};
use serde_json::Value;

use super::*;

/// `(row's key, the columns its row-wise body clears)`, sorted. Checks on the way that every
/// row of a body names exactly the chunk's columns, and that a cell it does not clear holds the
/// value the columnar body sends for that row (so the row-wise body changes nothing else),
/// and that a clear body waits for exactly the one value body holding its rows.
fn clears(plan: &PushPlan) -> Vec<(i64, Vec<String>)> {
    let mut sent = std::collections::HashMap::new();
    let mut value_chunk = std::collections::HashMap::new();
    for (index, spec) in plan.chunks().iter().enumerate() {
        if spec.kind == ChunkKind::Columnar {
            let body: Value = serde_json::from_slice(&plan.encode(index).unwrap()).unwrap();
            let body = body.as_object().unwrap();
            for (n, id) in body["call_id"].as_array().unwrap().iter().enumerate() {
                for (name, values) in body {
                    sent.insert((id.as_i64().unwrap(), name.clone()), values[n].clone());
                }
                value_chunk.insert(id.as_i64().unwrap(), index);
            }
        }
    }
    let mut out = Vec::new();
    for (index, spec) in plan.chunks().iter().enumerate() {
        let ChunkKind::Clear { columns } = &spec.kind else {
            continue;
        };
        let body: Value = serde_json::from_slice(&plan.encode(index).unwrap()).unwrap();
        let holding: Vec<usize> = (body.as_array().unwrap().iter())
            .map(|row| value_chunk[&row["call_id"].as_i64().unwrap()])
            .collect();
        let (first, last) = (holding.iter().min().unwrap(), holding.iter().max().unwrap());
        assert_eq!(first, last, "clear chunk {index} spans value chunks");
        assert_eq!(
            plan.values_of(index),
            *first..last + 1,
            "clear chunk {index}"
        );
        assert_eq!(
            plan.values_of(value_chunk[&body[0]["call_id"].as_i64().unwrap()]),
            0..0
        );
        for row in body.as_array().unwrap() {
            let keys: Vec<String> = row.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                keys[1..],
                columns[..],
                "every row carries exactly the chunk's columns"
            );
            let id = row["call_id"].as_i64().unwrap();
            let cleared: Vec<String> = columns
                .iter()
                .filter(|c| row[c.as_str()].is_null())
                .cloned()
                .collect();
            for c in columns.iter().filter(|c| !row[c.as_str()].is_null()) {
                assert_eq!(
                    row[c.as_str()],
                    sent[&(id, c.clone())],
                    "row {id}, column {c}"
                );
            }
            out.push((id, cleared));
        }
    }
    out.sort();
    out
}

#[test]
fn more_than_64_clear_columns_clear_exactly_the_null_cells() {
    // Row r is null in columns r and r + 64 (for r < 6), row 9 in none.
    let mut columns: Vec<(String, ArrayRef)> = vec![(
        "call_id".into(),
        Arc::new(Int64Array::from((0..10).collect::<Vec<_>>())),
    )];
    for c in 0..130 {
        let values: Vec<Option<i64>> = (0..10)
            .map(|r| (!(r < 6 && (c == r || c == r + 64 || c == r + 120))).then_some(1))
            .collect();
        columns.push((format!("c{c}"), Arc::new(Int64Array::from(values))));
    }
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let options = EncoderOptions {
        clear: (0..130).map(|c| format!("c{c}")).collect(),
        ..EncoderOptions::new(Target::Calls)
    };
    let expected: Vec<(i64, Vec<String>)> = (0..6)
        .map(|r| {
            let mut names = vec![format!("c{r}"), format!("c{}", r + 64)];
            if r + 120 < 130 {
                names.push(format!("c{}", r + 120));
            }
            (r, names)
        })
        .collect();
    // In chunks of any size, each clear body waiting for the value bodies of its rows.
    for chunk_rows in [1, 2, 3, 4, 7, 100_000] {
        let options = EncoderOptions {
            chunk_rows,
            ..options.clone()
        };
        let plan = PushPlan::new(vec![batch.clone()], options).unwrap();
        assert_eq!(clears(&plan), expected, "chunk_rows={chunk_rows}");
    }
}

#[test]
fn null_typed_and_null_dictionary_values_are_cleared_and_names_count_once() {
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    dict.append_value("a");
    dict.append_value("b");
    dict.append_null();
    let dict = dict.finish();
    // Key 1 now points at a null dictionary value: written as null, so cleared as one.
    let values = arrow_array::StringArray::from(vec![Some("a"), None]);
    let dict = dict.with_values(Arc::new(values));
    let batch = RecordBatch::try_from_iter(vec![
        (
            "call_id",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        ),
        ("nothing", Arc::new(NullArray::new(3))),
        (
            "f",
            Arc::new(Float64Array::from(vec![Some(1.0), None, None])),
        ),
        ("d", Arc::new(dict)),
    ])
    .unwrap();
    let options = EncoderOptions {
        clear: ["nothing", "f", "d", "f"].map(String::from).to_vec(),
        ..EncoderOptions::new(Target::Calls)
    };
    let plan = PushPlan::new(vec![batch], options).unwrap();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        clears(&plan),
        vec![
            (1, names(&["nothing"])),
            (2, names(&["nothing", "f", "d"])),
            (3, names(&["nothing", "f", "d"])),
        ]
    );
    let columnar: Value = serde_json::from_slice(&plan.encode(0).unwrap()).unwrap();
    assert_eq!(columnar["nothing"], serde_json::json!([null, null, null]));
    assert_eq!(columnar["d"], serde_json::json!(["a", null, null]));
}

#[test]
fn an_all_null_dictionary_column_is_left_or_cleared() {
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    dict.append_null();
    dict.append_null();
    let batch = RecordBatch::try_from_iter(vec![
        (
            "call_id",
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        ),
        ("d", Arc::new(dict.finish())),
    ])
    .unwrap();
    let options = EncoderOptions {
        clear: vec!["d".into()],
        ..EncoderOptions::new(Target::Calls)
    };
    let plan = PushPlan::new(vec![batch], options).unwrap();
    let columnar: Value = serde_json::from_slice(&plan.encode(0).unwrap()).unwrap();
    assert_eq!(columnar["d"], serde_json::json!([null, null]));
    let d = vec!["d".to_string()];
    assert_eq!(clears(&plan), vec![(1, d.clone()), (2, d)]);
}
