//! Bodies of random frames (several batches, nulls, clears, repeated keys, any chunk size)
//! carry exactly each key's last row, in input order, across the columnar chunks.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// One input row: key, label, score.
type Row = (i64, Option<String>, Option<f64>);

fn frame() -> impl Strategy<Value = Vec<Vec<Row>>> {
    let row = (
        0i64..60,
        proptest::option::of("[a-c\u{e9}\"]{0,3}"),
        proptest::option::of(-1e3f64..1e3),
    );
    proptest::collection::vec(proptest::collection::vec(row, 1..25), 1..5)
}

fn batches(frame: &[Vec<Row>]) -> Vec<RecordBatch> {
    frame
        .iter()
        .map(|rows| {
            let columns: Vec<(&str, ArrayRef)> = vec![
                (
                    "call_id",
                    Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
                ),
                (
                    "label",
                    Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1.clone()))),
                ),
                (
                    "score",
                    Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.2))),
                ),
            ];
            RecordBatch::try_from_iter(columns).unwrap()
        })
        .collect()
}

/// What the columnar bodies must carry: each key's last row, in input order.
fn expected_rows(frame: &[Vec<Row>]) -> Vec<Row> {
    let all: Vec<&Row> = frame.iter().flatten().collect();
    all.iter()
        .enumerate()
        .filter(|(at, row)| !all[at + 1..].iter().any(|later| later.0 == row.0))
        .map(|(_, row)| (*row).clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn columnar_bodies_carry_each_keys_last_row_in_order(
        frame in frame(),
        chunk_rows in 1usize..30,
        clear in any::<bool>(),
    ) {
        let options = EncoderOptions {
            chunk_rows,
            on_duplicate: OnDuplicate::Last,
            clear: if clear { vec!["score".into()] } else { Vec::new() },
            ..EncoderOptions::new(Target::Calls)
        };
        let plan = PushPlan::new(batches(&frame), options).unwrap();
        let mut columnar = Vec::new();
        for index in 0..plan.chunks().len() {
            let body: Value = serde_json::from_slice(&plan.encode(index).unwrap()).unwrap();
            if let Value::Object(columns) = body {
                let keys = columns["call_id"].as_array().unwrap().clone();
                let labels = columns["label"].as_array().unwrap().clone();
                let scores = columns["score"].as_array().unwrap().clone();
                prop_assert_eq!(keys.len(), plan.chunks()[index].rows);
                for ((k, l), s) in keys.into_iter().zip(labels).zip(scores) {
                    columnar.push((k, l, s));
                }
            }
        }
        let expected: Vec<(Value, Value, Value)> = expected_rows(&frame)
            .into_iter()
            .map(|(k, l, s)| (json!(k), json!(l), json!(s)))
            .collect();
        prop_assert_eq!(columnar, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Found by the outside trial: Float32 values went out as their widened f64
    /// (`0.1f32` as `0.10000000149011612`). Each goes out in the fewest digits that read back
    /// as the same f32; Float16 values read back as the same f16, in the fewest digits too.
    #[test]
    fn narrow_floats_go_out_as_their_shortest_text(
        bits in proptest::collection::vec(any::<u32>(), 1..20),
        halves in proptest::collection::vec(-65_000f32..65_000f32, 1..20),
    ) {
        use arrow_array::cast::AsArray;
        use arrow_array::types::Float16Type;
        type F16 = <Float16Type as arrow_array::ArrowPrimitiveType>::Native;
        let singles: Vec<f32> = bits
            .into_iter()
            .map(f32::from_bits)
            .filter(|v| v.is_finite())
            .collect();
        // Rounded to the nearest f16 (all finite: f16 reaches 65,504).
        let halves = arrow_cast::cast(
            &arrow_array::Float32Array::from(halves),
            &arrow_schema::DataType::Float16,
        )
        .unwrap();
        let half_values: Vec<f32> = halves
            .as_primitive::<Float16Type>()
            .values()
            .iter()
            .map(|v| f32::from(*v))
            .collect();
        let singles_column: ArrayRef = Arc::new(arrow_array::Float32Array::from(singles.clone()));
        for (column, values, half) in [(singles_column, singles, false), (halves, half_values, true)] {
            if values.is_empty() {
                continue;
            }
            let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..values.len() as i64));
            let batch = RecordBatch::try_from_iter(vec![("call_id", ids), ("v", column)]).unwrap();
            let plan = PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls)).unwrap();
            let body = String::from_utf8(plan.encode(0).unwrap().to_vec()).unwrap();
            let start = body.find("\"v\":[").unwrap() + 5;
            let end = start + body[start..].find(']').unwrap();
            let sent: Vec<&str> = body[start..end].split(',').collect();
            prop_assert_eq!(sent.len(), values.len());
            for (text, value) in sent.iter().zip(&values) {
                if half {
                    // Outside trial 18: a Float16 went out in its f32's digits (0.1 as
                    // 0.099975586). Read back, it is the value pushed; a whole number exactly;
                    // else in the fewest significant digits that read back so.
                    let read = text.parse::<f64>().unwrap();
                    prop_assert_eq!(F16::from_f64(read), F16::from_f32(*value), "{}", text);
                    if value.fract() == 0.0 {
                        prop_assert_eq!(read, f64::from(*value), "{}", text);
                        continue;
                    }
                    let significant = format!("{read:e}").split('e').next().unwrap().replace(['.', '-'], "").len();
                    for fewer in 1..significant {
                        let near: f64 = format!("{:.*e}", fewer - 1, f64::from(*value)).parse().unwrap();
                        prop_assert_ne!(F16::from_f64(near), F16::from_f32(*value), "{} then {}", text, near);
                    }
                    continue;
                }
                // Read back, it is the value pushed...
                prop_assert_eq!(text.parse::<f32>().unwrap().to_bits(), value.to_bits());
                if value.is_subnormal() {
                    // ... and a subnormal is as close to its digits as a normal f32 (the API
                    // holds them as a Float64), in the fewest digits that are.
                    let wide = f64::from(*value);
                    let close = |t: f64| (t - wide).abs() <= wide.abs() / f64::from(1u32 << 24);
                    prop_assert!(close(text.parse().unwrap()), "{}", text);
                    let significant = format!("{:e}", text.parse::<f64>().unwrap())
                        .split('e').next().unwrap().replace(['.', '-'], "").len();
                    for fewer in 1..significant {
                        let near: f64 = format!("{:.*e}", fewer - 1, wide).parse().unwrap();
                        prop_assert!(!close(near) || near as f32 != *value, "{} then {}", text, near);
                    }
                    continue;
                }
                // ... a value from 2^24 to 10^16 as its exact integer with `.0`, which the
                // API's Float64 prints back as sent and a fetch under float32 keeps (outside
                // trial 33 F1: `7490050400000000.0`, its shortest digits written out, was
                // refused) ...
                let mut shortest = ryu::Buffer::new();
                let mut wide = ryu::Buffer::new();
                if (16_777_216.0..1e16).contains(&value.abs()) {
                    prop_assert_eq!(*text, format!("{:.1}", f64::from(*value)));
                    prop_assert_eq!(*text, wide.format_finite(f64::from(*value)));
                    prop_assert!(crate::decode::forced::float_change(text, true).is_none(), "{}", text);
                    continue;
                }
                // ... else in the fewest digits that read back as the same f32 (ryu's
                // guarantee); printed back by the API's Float64, they are kept under float32.
                prop_assert_eq!(*text, shortest.format_finite(*value));
                let echoed = wide.format_finite(text.parse::<f64>().unwrap());
                prop_assert!(crate::decode::forced::float_change(echoed, true).is_none(), "{} as {}", text, echoed);
            }
        }
    }
}
