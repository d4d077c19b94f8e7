//! Tests of validation, value encoding, chunking, the clear rule and resuming.

use std::sync::Arc;

use arrow_array::builder::{Decimal128Builder, Int64Builder, ListBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Date64Array, Float64Array, Int32Array,
    Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    TimestampMillisecondArray, UInt64Array,
};
use serde_json::{json, Value};

use super::*;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn ids(values: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

fn body(plan: &PushPlan, index: usize) -> Value {
    serde_json::from_slice(&plan.encode(index).unwrap()).unwrap()
}

fn plan(batches: Vec<RecordBatch>, options: EncoderOptions) -> PushPlan {
    PushPlan::new(batches, options).unwrap()
}

fn calls() -> EncoderOptions {
    EncoderOptions::new(Target::Calls)
}

#[test]
fn every_type_encodes_to_the_expected_json() {
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    dict.append_value("a");
    dict.append_null();
    let mut decimal = Decimal128Builder::new()
        .with_precision_and_scale(6, 2)
        .unwrap();
    decimal.append_value(-125);
    decimal.append_null();
    let mut list = ListBuilder::new(Int64Builder::new());
    list.append_value([Some(1), None]);
    list.append_null();
    let tz =
        TimestampMillisecondArray::from(vec![Some(1_735_732_800_000), None]).with_timezone("UTC");
    let b = batch(vec![
        ("call_id", ids(&[1, 2])),
        ("i32", Arc::new(Int32Array::from(vec![Some(-7), None]))),
        ("u64", Arc::new(UInt64Array::from(vec![u64::MAX, 0]))),
        ("f", Arc::new(Float64Array::from(vec![Some(0.1), None]))),
        ("b", Arc::new(BooleanArray::from(vec![Some(true), None]))),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("q\"\\\n\u{1}é"), None])),
        ),
        ("ls", Arc::new(LargeStringArray::from(vec!["x", "y"]))),
        (
            "sv",
            Arc::new(StringViewArray::from(vec![
                "a much longer string than twelve",
                "v",
            ])),
        ),
        ("d32", Arc::new(Date32Array::from(vec![Some(20_000), None]))),
        (
            "d64",
            Arc::new(Date64Array::from(vec![Some(0), Some(86_400_000)])),
        ),
        (
            "ts",
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(1_500),
                Some(86_399_000),
            ])),
        ),
        ("tz", Arc::new(tz)),
        ("dict", Arc::new(dict.finish())),
        ("dec", Arc::new(decimal.finish())),
        ("list", Arc::new(list.finish())),
    ]);
    let options = EncoderOptions {
        timezone: Some("Europe/Amsterdam".into()),
        ..calls()
    };
    let p = plan(vec![b], options);
    assert_eq!(
        body(&p, 0),
        json!({
            "call_id": [1, 2], "i32": [-7, null], "u64": [u64::MAX, 0], "f": [0.1, null],
            "b": [true, null], "s": ["q\"\\\n\u{1}é", null], "ls": ["x", "y"],
            "sv": ["a much longer string than twelve", "v"], "d32": ["2024-10-04", null],
            "d64": ["1970-01-01", "1970-01-02"],
            "ts": ["1970-01-01 00:00:01.500", "1970-01-01 23:59:59"],
            "tz": ["2025-01-01 13:00:00", null], "dict": ["a", null], "dec": [-1.25, null],
            "list": [[1, null], null],
        })
    );
}

#[test]
fn chunking_counts_and_key_ranges() {
    let n = 250_001;
    let values: Vec<i64> = (0..n).map(|i| i * 10).collect();
    let b = batch(vec![("call_id", ids(&values))]);
    let p = plan(vec![b.clone()], calls());
    let rows: Vec<usize> = p.chunks().iter().map(|c| c.rows).collect();
    assert_eq!(rows, [100_000, 100_000, 50_001]);
    assert_eq!(p.chunks()[1].first_key, KeyValue::Int(1_000_000));
    assert_eq!(p.chunks()[2].last_key, KeyValue::Int((n - 1) * 10));
    let small = plan(
        vec![b.slice(0, 10), b.slice(10, 5)],
        EncoderOptions {
            chunk_rows: 4,
            ..calls()
        },
    );
    let rows: Vec<usize> = small.chunks().iter().map(|c| c.rows).collect();
    assert_eq!(rows, [4, 4, 4, 3]);
    assert_eq!(body(&small, 2), json!({"call_id": [80, 90, 100, 110]}));
    // Chunks cross several batches, an empty one among them, in input order.
    let ragged = plan(
        vec![b.slice(0, 3), b.slice(3, 0), b.slice(3, 1), b.slice(4, 11)],
        EncoderOptions {
            chunk_rows: 4,
            ..calls()
        },
    );
    assert_eq!(body(&ragged, 0), json!({"call_id": [0, 10, 20, 30]}));
    assert_eq!(body(&ragged, 1), json!({"call_id": [40, 50, 60, 70]}));
    assert_eq!(ragged.chunks()[3].last_key, KeyValue::Int(140));
}

#[test]
fn clears_are_row_wise_with_identical_keys_per_body() {
    let b = batch(vec![
        ("call_id", ids(&[1, 2, 3, 4])),
        (
            "a",
            Arc::new(StringArray::from(vec![None, Some("x"), None, Some("y")])),
        ),
        (
            "b",
            Arc::new(Float64Array::from(vec![None, None, Some(1.0), None])),
        ),
        (
            "c",
            Arc::new(StringArray::from(vec![None::<&str>, None, None, None])),
        ),
    ]);
    let options = EncoderOptions {
        clear: vec!["a".into(), "b".into()],
        ..calls()
    };
    let p = plan(vec![b], options);
    assert_eq!(p.chunks()[0].kind, ChunkKind::Columnar);
    assert_eq!(body(&p, 0)["a"], json!([null, "x", null, "y"]));
    let mut clears = Vec::new();
    for (i, chunk) in p.chunks().iter().enumerate().skip(1) {
        let ChunkKind::Clear { columns } = &chunk.kind else {
            panic!("expected a clear chunk")
        };
        let rows = body(&p, i);
        for row in rows.as_array().unwrap() {
            let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
            let mut expected = vec!["call_id".to_owned()];
            expected.extend(columns.iter().cloned());
            assert_eq!(keys, expected.iter().collect::<Vec<_>>());
            let nulls: Vec<String> = columns
                .iter()
                .filter(|c| row[c].is_null())
                .cloned()
                .collect();
            clears.push((row["call_id"].as_i64().unwrap(), nulls));
        }
    }
    // One body for every pattern of nulls (a body per pattern took thousands of requests).
    assert_eq!(p.chunks().len(), 2);
    // Row 2's `a` and row 3's `b` are sent with their values beside the other column's null.
    assert_eq!(body(&p, 1)[1]["a"], json!("x"));
    assert_eq!(body(&p, 1)[2]["b"], json!(1.0));
    clears.sort();
    assert_eq!(
        clears,
        [
            (1, vec!["a".to_owned(), "b".to_owned()]),
            (2, vec!["b".to_owned()]),
            (3, vec!["a".to_owned()]),
            (4, vec!["b".to_owned()]),
        ]
    );
    assert!(!serde_json::to_string(&clears).unwrap().contains("\"c\""));
}

fn refused(batches: Vec<RecordBatch>, options: EncoderOptions) -> String {
    match PushPlan::new(batches, options) {
        Ok(_) => panic!("expected a refusal"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn validation_refuses_bad_input_with_clear_messages() {
    let base = || batch(vec![("call_id", ids(&[1, 2])), ("v", ids(&[5, 6]))]);
    let msg = refused(vec![batch(vec![("x", ids(&[1]))])], calls());
    assert!(msg.contains("call_id") && msg.contains("missing"), "{msg}");
    let nulls = batch(vec![(
        "call_id",
        Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
    )]);
    assert!(refused(vec![nulls], calls()).contains("1 null key (row 1); drop or fill it"));
    // More than the rows shown: the rest are counted, not left out unsaid.
    let many: Vec<Option<i64>> = (0..9).map(|i| (i % 3 == 0).then_some(i)).collect();
    let many = batch(vec![(
        "call_id",
        Arc::new(Int64Array::from(many)) as ArrayRef,
    )]);
    let msg = refused(vec![many], calls());
    assert!(
        msg.contains("6 null keys (rows [1, 2, 4, 5, 7] and 1 more)"),
        "{msg}"
    );
    let floats = batch(vec![(
        "call_id",
        Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
    )]);
    assert!(refused(vec![floats], calls()).contains("integer"));
    let dup = batch(vec![("call_id", ids(&[7, 8, 7, 7]))]);
    let msg = refused(vec![dup], calls());
    assert!(
        msg.contains("2 duplicate keys") && msg.contains('7'),
        "{msg}"
    );
    let inf = batch(vec![
        ("call_id", ids(&[1, 2])),
        (
            "f",
            Arc::new(Float64Array::from(vec![1.0, f64::INFINITY])) as ArrayRef,
        ),
    ]);
    assert!(refused(vec![inf], calls()).contains("row 1"));
    let binary = batch(vec![
        ("call_id", ids(&[1])),
        (
            "blob",
            Arc::new(BinaryArray::from(vec![&b"x"[..]])) as ArrayRef,
        ),
    ]);
    assert!(refused(vec![binary], calls()).contains("blob"));
    assert!(refused(
        vec![base()],
        EncoderOptions {
            clear: vec!["nope".into()],
            ..calls()
        }
    )
    .contains("nope"));
    assert!(refused(
        vec![base()],
        EncoderOptions {
            clear: vec!["call_id".into()],
            ..calls()
        }
    )
    .contains("key"));
    assert!(refused(
        vec![base()],
        EncoderOptions {
            chunk_rows: 100_001,
            ..calls()
        }
    )
    .contains("chunk_rows"));
    assert!(refused(
        vec![base()],
        EncoderOptions {
            chunk_rows: 0,
            ..calls()
        }
    )
    .contains("chunk_rows"));
    let int_reps = batch(vec![("rep_id", ids(&[1]))]);
    let int_reps = refused(vec![int_reps], EncoderOptions::new(Target::Reps));
    assert!(int_reps.contains("must be text"), "{int_reps}");
}

#[test]
fn on_duplicate_last_keeps_the_last_row() {
    let b = batch(vec![("call_id", ids(&[7, 8, 7])), ("v", ids(&[1, 2, 3]))]);
    let p = plan(
        vec![b],
        EncoderOptions {
            on_duplicate: OnDuplicate::Last,
            ..calls()
        },
    );
    assert_eq!(p.rows(), 2);
    assert_eq!(body(&p, 0), json!({"call_id": [8, 7], "v": [2, 3]}));
}

#[test]
fn empty_input_plans_nothing_and_targets_are_inferred() {
    let empty = batch(vec![("call_id", ids(&[]))]);
    assert!(plan(vec![empty], calls()).chunks().is_empty());
    assert!(plan(vec![], calls()).chunks().is_empty());
    // Without rows, the schema is still checked: a missing or text key is refused as it is
    // with rows (outside trial 65 F1), whether the frame hands over an empty batch or none.
    for keyed in [
        ("x", ids(&[])),
        (
            "call_id",
            Arc::new(StringArray::from(Vec::<&str>::new())) as ArrayRef,
        ),
    ] {
        let wrong = batch(vec![keyed]);
        let schema = Some(wrong.schema());
        assert!(PushPlan::new(vec![wrong.clone()], calls()).is_err());
        assert!(PushPlan::of_frame(schema.clone(), vec![], calls()).is_err());
        assert!(PushPlan::of_frame(schema, vec![wrong], calls()).is_err());
    }
    let reps = batch(vec![(
        "rep_id",
        Arc::new(StringArray::from(vec!["kees500"])) as ArrayRef,
    )]);
    assert_eq!(Target::infer(&reps.schema()).unwrap(), Target::Reps);
    let both = batch(vec![("rep_id", ids(&[1])), ("call_id", ids(&[1]))]);
    assert_eq!(Target::infer(&both.schema()).unwrap(), Target::Calls);
    assert!(Target::infer(&batch(vec![("x", ids(&[1]))]).schema()).is_err());
    let p = plan(vec![reps], EncoderOptions::new(Target::Reps));
    assert_eq!(body(&p, 0), json!({"rep_id": ["kees500"]}));
}

#[test]
fn remaining_returns_exactly_the_rows_of_the_chunks() {
    let values: Vec<i64> = (0..10).collect();
    let b = batch(vec![
        ("call_id", ids(&values)),
        (
            "a",
            Arc::new(StringArray::from(vec![None::<&str>; 10])) as ArrayRef,
        ),
    ]);
    let options = EncoderOptions {
        chunk_rows: 3,
        clear: vec!["a".into()],
        ..calls()
    };
    let p = plan(vec![b.slice(0, 5), b.slice(5, 5)], options);
    assert_eq!(p.chunks().len(), 8); // 4 columnar + 4 clear
    let rest = p.remaining(&[1, 3]).unwrap();
    let got: Vec<i64> = rest
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(got, [3, 4, 5, 9]);
    let all = p.remaining(&(0..8).collect::<Vec<_>>()).unwrap();
    assert_eq!(all.iter().map(RecordBatch::num_rows).sum::<usize>(), 10);
}

/// `cargo test --release -- --ignored --nocapture encode_throughput`
#[allow(clippy::print_stdout)] // a measurement reports on stdout
#[test]
#[ignore = "a measurement, not a check"]
fn encode_throughput() {
    let n = 1_000_000usize;
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    for i in 0..n {
        dict.append_value(["a", "b", "c"][i % 3]);
    }
    let b = batch(vec![
        (
            "call_id",
            Arc::new(Int64Array::from_iter_values(0..n as i64)) as ArrayRef,
        ),
        (
            "label",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| ["good", "bad", "neutral"][i % 3]),
            )),
        ),
        (
            "score",
            Arc::new(Float64Array::from_iter(
                (0..n).map(|i| (i % 10 != 0).then_some(i as f64 / 7.0)),
            )),
        ),
        (
            "day",
            Arc::new(Date32Array::from_iter_values(
                (0..n).map(|i| 19_000 + (i % 365) as i32),
            )),
        ),
        (
            "flag",
            Arc::new(BooleanArray::from_iter((0..n).map(|i| Some(i % 2 == 0)))),
        ),
        ("bucket", Arc::new(dict.finish())),
    ]);
    let started = std::time::Instant::now();
    let p = plan(vec![b], calls());
    let planned = started.elapsed();
    let started = std::time::Instant::now();
    let bytes: usize = (0..p.chunks().len())
        .map(|i| p.encode(i).unwrap().len())
        .sum();
    let encoded = started.elapsed();
    println!(
        "1M x 6: validate+plan {:.0} ms, encode {:.0} ms = {:.0} MB/s of JSON ({} MB)",
        planned.as_secs_f64() * 1e3,
        encoded.as_secs_f64() * 1e3,
        bytes as f64 / 1e6 / encoded.as_secs_f64(),
        bytes / 1_000_000
    );
}

/// A sender writes body after body into one reused buffer: each comes out exactly as a body
/// written into a fresh one, whatever the buffer held before (a longer body, a row-wise one).
#[test]
fn bodies_encoded_into_a_reused_buffer_are_the_fresh_bodies() {
    let b = batch(vec![
        ("call_id", ids(&[1, 2, 3, 4, 5])),
        (
            "label",
            Arc::new(StringArray::from(vec![
                Some("a long label to make the first body the longest"),
                None,
                Some("b"),
                None,
                Some("c"),
            ])),
        ),
        (
            "score",
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                None,
                Some(1.0),
                Some(2.0),
                None,
            ])),
        ),
    ]);
    let options = EncoderOptions {
        chunk_rows: 2,
        clear: vec!["label".into()],
        ..calls()
    };
    let p = plan(vec![b], options);
    assert!(p.chunks().len() > 3, "columnar and clear chunks");
    let mut reused = b"left over from an earlier body".to_vec();
    for index in (0..p.chunks().len()).chain(0..p.chunks().len()).rev() {
        p.encode_into(index, &mut reused).unwrap();
        assert_eq!(reused, p.encode(index).unwrap(), "chunk {index}");
    }
    assert!(p.encode_into(p.chunks().len(), &mut reused).is_err());
}

/// A column that is the key but for case, white space or a BOM, and Excel's `sep=` line read as
/// the header, are named when the key is missing (outside trial: "neither a call_id nor a
/// rep_id column", with no word of what was there).
#[test]
fn a_near_miss_of_the_key_is_named() {
    let message = |names: &[&str]| {
        let columns = names.iter().map(|n| (*n, ids(&[1]))).collect();
        Target::infer(&batch(columns).schema())
            .unwrap_err()
            .to_string()
    };
    let spaced = message(&["call_id ", "x"]);
    assert!(spaced.contains(r#"named "call_id ""#), "{spaced}");
    assert!(spaced.contains("rename it `call_id`"), "{spaced}");
    let bom = message(&["\u{feff}rep_id", "x"]);
    assert!(bom.contains("byte order mark"), "{bom}");
    let upper = message(&["CALL_ID"]);
    assert!(upper.contains("rename it `call_id`"), "{upper}");
    let excel = message(&["sep=,"]);
    assert!(excel.contains("Excel's separator line"), "{excel}");
    let plain = message(&["x", "y"]);
    assert!(!plain.contains('('), "{plain}");
    // With to=, the missing key's error says the same.
    let options = EncoderOptions::new(Target::Calls);
    let schema = batch(vec![("Call_Id", ids(&[1]))]).schema();
    let err = super::validate::check_options(&options, &schema, &[]).unwrap_err();
    assert!(err.to_string().contains(r#"named "Call_Id""#), "{err}");
}

/// The Date32 writer remembers recent days by slot: days that share a slot (1,024 apart, also
/// before 1970), days near the first and last pushable years, repeats and nulls, in one
/// column, each come out as the reference (chrono's date, `push_date`) writes them.
#[test]
fn date32_values_sharing_a_memo_slot_are_each_written_right() {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let mut days: Vec<Option<i32>> = Vec::new();
    for base in [0, 19_000, -1, 2_930_000, -717_000] {
        for step in [0, 1_024, 2_048, 0, 1, 1_025, -1_024] {
            days.push(Some(base + step));
        }
        days.push(None);
    }
    let keys: Vec<i64> = (0..days.len() as i64).collect();
    let b = batch(vec![
        ("call_id", ids(&keys)),
        ("day", Arc::new(Date32Array::from(days.clone()))),
    ]);
    let p = plan(vec![b], calls());
    let written: Vec<Value> = (0..p.chunks().len())
        .flat_map(|i| body(&p, i)["day"].as_array().unwrap().clone())
        .collect();
    let expected: Vec<Value> = days
        .iter()
        .map(|d| match d {
            Some(d) => {
                let mut text = Vec::new();
                let date = epoch + chrono::TimeDelta::days((*d).into());
                crate::json_write::push_date(&mut text, date);
                Value::String(String::from_utf8(text).unwrap())
            }
            None => Value::Null,
        })
        .collect();
    assert_eq!(written, expected);
}

/// A dictionary column is written as the same column cast to plain text, whatever its key
/// type, and a null row's key is never read.
#[test]
fn dictionaries_of_every_key_type_write_what_their_plain_cast_writes() {
    use arrow_array::types::{
        Int16Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
    };
    use arrow_array::{ArrowPrimitiveType, DictionaryArray, PrimitiveArray};
    use arrow_buffer::{ArrowNativeType, NullBuffer, ScalarBuffer};

    fn keyed<K: arrow_array::types::ArrowDictionaryKeyType>(keys: &[usize]) -> ArrayRef
    where
        <K as ArrowPrimitiveType>::Native: ArrowNativeType,
    {
        let values: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("é\"x")]));
        // Row 3 is null, and its key (127) points far past the three values.
        let raw: Vec<K::Native> = keys
            .iter()
            .enumerate()
            .map(|(row, &k)| match row {
                3 => K::Native::from_usize(127).unwrap(),
                _ => K::Native::from_usize(k).unwrap(),
            })
            .collect();
        let valid = NullBuffer::from((0..keys.len()).map(|row| row != 3).collect::<Vec<_>>());
        let keys = PrimitiveArray::<K>::new(ScalarBuffer::from(raw), Some(valid));
        Arc::new(DictionaryArray::<K>::try_new(keys, values).unwrap())
    }
    let keys = [0, 2, 1, 0, 2, 2, 0];
    let rows: Vec<i64> = (1..=keys.len() as i64).collect();
    for column in [
        keyed::<Int8Type>(&keys),
        keyed::<Int16Type>(&keys),
        keyed::<Int32Type>(&keys),
        keyed::<Int64Type>(&keys),
        keyed::<UInt8Type>(&keys),
        keyed::<UInt16Type>(&keys),
        keyed::<UInt32Type>(&keys),
        keyed::<UInt64Type>(&keys),
    ] {
        let plain = arrow_cast::cast(&column, &arrow_schema::DataType::Utf8).unwrap();
        let written = |c: ArrayRef| {
            body(
                &plan(
                    vec![batch(vec![("call_id", ids(&rows)), ("v", c)])],
                    calls(),
                ),
                0,
            )
        };
        let dictionary = written(Arc::clone(&column));
        assert_eq!(dictionary, written(plain), "{}", column.data_type());
        assert_eq!(
            dictionary["v"],
            json!(["a", "é\"x", null, null, "é\"x", "é\"x", "a"])
        );
    }
}
