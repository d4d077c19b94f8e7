//! Tests of framing, streaming decode, inference across pages and the final assembly.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use bytes::Bytes;

use super::*;

fn decode_pages(decoder: &FetchDecoder, pages: &[&str]) -> Vec<DecodedPage> {
    pages
        .iter()
        .map(|body| {
            let mut page = decoder.page();
            page.feed(Bytes::from(body.to_string())).unwrap();
            page.finish().unwrap()
        })
        .collect()
}

fn table(pages: &[&str], key: Option<&str>) -> DecodedTable {
    let decoder = FetchDecoder::new(DecodeOptions::default());
    let decoded = decode_pages(&decoder, pages);
    decoder.finish(decoded, key).unwrap()
}

fn column<'a>(table: &'a DecodedTable, name: &str) -> Vec<&'a dyn Array> {
    let index = table.schema.index_of(name).unwrap();
    table
        .batches
        .iter()
        .map(|b| b.column(index).as_ref())
        .collect()
}

const TRICKY: &str = r#" [ {"id":1,"s":"a \"quoted\" ], {comma}, [bracket]","n":{"x":[{"y":"}"}]}},
  {"id":2,"s":"back\\slash\\","n":{"x":[]}} ,{"id":3,"s":"\u00e9\n\t","n":null} ] "#;

#[test]
fn framing_survives_every_chunk_split() {
    let bytes = TRICKY.as_bytes();
    let whole: Vec<u8> = {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        framer
            .split(bytes, |e| {
                out.extend_from_slice(e);
                Ok(())
            })
            .unwrap();
        assert!(framer.is_done());
        out
    };
    for a in 0..bytes.len() {
        for b in a..bytes.len() {
            let mut framer = Framer::new();
            let mut out = Vec::new();
            for part in [&bytes[..a], &bytes[a..b], &bytes[b..]] {
                framer
                    .split(part, |e| {
                        out.extend_from_slice(e);
                        Ok(())
                    })
                    .unwrap();
            }
            assert!(framer.is_done(), "split at {a},{b}");
            assert_eq!(out, whole, "split at {a},{b}");
        }
    }
    // The framed bytes are the three objects back to back.
    let text = String::from_utf8(whole).unwrap();
    assert!(
        text.starts_with(r#"{"id":1"#) && text.ends_with(r#""n":null}"#),
        "{text}"
    );
}

#[test]
fn decoding_in_tiny_chunks_equals_one_chunk() {
    let decoder = FetchDecoder::new(DecodeOptions::default());
    let one = decode_pages(&decoder, &[TRICKY]);
    let mut page = decoder.page();
    for byte in TRICKY.as_bytes() {
        page.feed(Bytes::copy_from_slice(&[*byte])).unwrap();
    }
    let split = page.finish().unwrap();
    assert_eq!(split.rows, 3);
    assert_eq!(split.batches, one.into_iter().next().unwrap().batches);
}

#[test]
fn nested_values_keep_their_structure() {
    let t = table(&[TRICKY], None);
    assert!(matches!(
        t.schema.field_with_name("n").unwrap().data_type(),
        DataType::Struct(_)
    ));
    let s = column(&t, "s")[0].as_string::<i32>();
    assert_eq!(s.value(0), "a \"quoted\" ], {comma}, [bracket]");
    assert_eq!(s.value(1), "back\\slash\\");
    assert_eq!(s.value(2), "é\n\t");
}

#[test]
fn bad_bodies_are_errors() {
    for body in [
        "<html><body>502</body></html>",
        "[{\"a\":1}",
        "{\"a\":1}",
        "[{\"a\":1}] x",
    ] {
        let decoder = FetchDecoder::new(DecodeOptions::default());
        let mut page = decoder.page();
        let fed = page.feed(Bytes::from(body));
        assert!(fed.is_err() || page.finish().is_err(), "{body}");
    }
}

#[test]
fn empty_page_has_no_rows_or_columns() {
    let t = table(&["[]", " [ ] "], Some("id"));
    assert_eq!(t.rows, 0);
    assert_eq!(t.schema.fields().len(), 0);
}

#[test]
fn schema_drift_across_pages() {
    let t = table(
        &[
            r#"[{"id":1,"v":1,"late":null,"mixed":1},{"id":2,"v":2,"late":null,"mixed":2}]"#,
            r#"[{"id":3,"v":2.5,"late":null,"mixed":"x"}]"#,
            r#"[{"id":4,"v":3,"late":"now","mixed":3,"new":true}]"#,
        ],
        Some("id"),
    );
    assert_eq!(t.rows, 4);
    let names: Vec<_> = t
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["id", "v", "late", "mixed", "new"]);
    assert_eq!(
        t.schema.field_with_name("v").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        t.schema.field_with_name("late").unwrap().data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        t.schema.field_with_name("mixed").unwrap().data_type(),
        &DataType::Utf8
    );
    assert!(
        t.warnings.iter().any(|w| w.contains("mixed")),
        "{:?}",
        t.warnings
    );
    let v: Vec<f64> = column(&t, "v")
        .iter()
        .flat_map(|a| a.as_primitive::<Float64Type>().values().to_vec())
        .collect();
    assert_eq!(v, [1.0, 2.0, 2.5, 3.0]);
    let mixed: Vec<String> = column(&t, "mixed")
        .iter()
        .flat_map(|a| {
            (0..a.len())
                .map(|i| a.as_string::<i32>().value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(mixed, ["1", "2", "x", "3"]);
    let new = column(&t, "new");
    assert_eq!(new.iter().map(|a| a.null_count()).sum::<usize>(), 3);
}

#[test]
fn dates_and_timestamps_are_parsed_unless_turned_off() {
    let body = r#"[{"d":"2025-07-15","t":"2025-07-15 12:00:03","x":"2025-02-30"},{"d":null,"t":"2025-07-16T00:00:00.5","x":"no"}]"#;
    let t = table(&[body], None);
    assert_eq!(
        t.schema.field_with_name("d").unwrap().data_type(),
        &DataType::Date32
    );
    assert_eq!(
        t.schema.field_with_name("t").unwrap().data_type(),
        &infer::TIMESTAMP
    );
    assert_eq!(
        t.schema.field_with_name("x").unwrap().data_type(),
        &DataType::Utf8
    );
    let d = column(&t, "d")[0].as_primitive::<Date32Type>();
    assert_eq!(d.value_as_date(0).unwrap().to_string(), "2025-07-15");
    assert!(d.is_null(1));
    let ts = column(&t, "t")[0].as_primitive::<TimestampMicrosecondType>();
    assert_eq!(
        ts.value_as_datetime(0).unwrap().to_string(),
        "2025-07-15 12:00:03"
    );
    assert_eq!(
        ts.value_as_datetime(1).unwrap().to_string(),
        "2025-07-16 00:00:00.500"
    );

    let plain = FetchDecoder::new(DecodeOptions {
        parse_dates: false,
        ..DecodeOptions::default()
    });
    let pages = decode_pages(&plain, &[body]);
    let t = plain.finish(pages, None).unwrap();
    assert_eq!(
        t.schema.field_with_name("d").unwrap().data_type(),
        &DataType::Utf8
    );
}

#[test]
fn a_date_column_that_meets_text_becomes_text() {
    let t = table(&[r#"[{"d":"2025-07-15"}]"#, r#"[{"d":"unknown"}]"#], None);
    assert_eq!(
        t.schema.field_with_name("d").unwrap().data_type(),
        &DataType::Utf8
    );
    let values: Vec<String> = column(&t, "d")
        .iter()
        .map(|a| a.as_string::<i32>().value(0).to_owned())
        .collect();
    assert_eq!(values, ["2025-07-15", "unknown"]);
}

#[test]
fn overrides_win() {
    let options = DecodeOptions {
        schema_overrides: vec![
            ("n".into(), DataType::Float64),
            ("d".into(), DataType::Utf8),
        ],
        ..DecodeOptions::default()
    };
    let decoder = FetchDecoder::new(options);
    let pages = decode_pages(
        &decoder,
        &[
            r#"[{"n":1,"d":"2025-01-01"}]"#,
            r#"[{"n":2,"d":"2025-01-02"}]"#,
        ],
    );
    let t = decoder.finish(pages, None).unwrap();
    assert_eq!(
        t.schema.field_with_name("n").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        t.schema.field_with_name("d").unwrap().data_type(),
        &DataType::Utf8
    );
}

#[test]
fn big_integers_stay_exact() {
    let t = table(
        &[r#"[{"id":9007199254740993},{"id":9223372036854775807},{"id":-9223372036854775808}]"#],
        None,
    );
    let ids: Vec<i64> = column(&t, "id")[0]
        .as_primitive::<Int64Type>()
        .values()
        .to_vec();
    assert_eq!(ids, [9_007_199_254_740_993, i64::MAX, i64::MIN]);
}

#[test]
fn repeated_keys_are_dropped_keeping_the_first() {
    let t = table(
        &[
            r#"[{"id":1,"v":"a"},{"id":2,"v":"b"}]"#,
            r#"[{"id":2,"v":"b2"},{"id":3,"v":"c"}]"#,
        ],
        Some("id"),
    );
    assert_eq!(t.rows, 3);
    assert_eq!(t.duplicates_dropped, 1);
    let v: Vec<String> = t
        .batches
        .iter()
        .flat_map(|b: &RecordBatch| {
            let a = b.column(1).as_string::<i32>();
            (0..a.len())
                .map(|i| a.value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(v, ["a", "b", "c"]);
    let mut dedupe = KeyDeduper::new("v");
    let (kept, dropped) = dedupe.filter(&t.batches[0]).unwrap();
    assert_eq!((kept.num_rows(), dropped), (t.batches[0].num_rows(), 0));
}

#[test]
fn pages_decode_concurrently_from_threads() {
    let decoder = std::sync::Arc::new(FetchDecoder::new(DecodeOptions::default()));
    let handles: Vec<_> = (0..8)
        .map(|p| {
            let decoder = std::sync::Arc::clone(&decoder);
            std::thread::spawn(move || {
                let rows: Vec<String> = (0..500)
                    .map(|i| {
                        format!(
                            r#"{{"id":{},"x":{}}}"#,
                            p * 1000 + i,
                            if p == 5 { "1.5" } else { "1" }
                        )
                    })
                    .collect();
                let mut page = decoder.page();
                page.feed(Bytes::from(format!("[{}]", rows.join(","))))
                    .unwrap();
                page.finish().unwrap()
            })
        })
        .collect();
    let pages: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let t = decoder.finish(pages, Some("id")).unwrap();
    assert_eq!(t.rows, 4000);
    assert_eq!(
        t.schema.field_with_name("x").unwrap().data_type(),
        &DataType::Float64
    );
}

/// `cargo test --release -- --ignored --nocapture decode_throughput`
#[allow(clippy::print_stdout)] // a measurement reports on stdout
#[test]
#[ignore = "a measurement, not a check"]
fn decode_throughput() {
    let row = r#"{"call_id":123456,"vendor_call_id":"0b9f7a52-6f0e-4d43-9d55-3c1f1c2b8a10","rep_id":"kees500","vendor":"acme","campaign":"sales","department":"support","start_time":"2025-07-15 12:00:03","date":"2025-07-15","duration":312,"sentiment":0.41,"summary":"The customer called about a delayed refund for order 5512. The agent confirmed the \"return\" was received, escalated to billing and promised an update within two business days. Customer satisfied."}"#;
    let body = format!("[{}]", vec![row; 200_000].join(","));
    let bytes = Bytes::from(body);
    let started = std::time::Instant::now();
    let mut framer = Framer::new();
    let mut n = 0usize;
    for chunk in bytes.chunks(64 * 1024) {
        framer
            .split(chunk, |e| {
                n += e.len();
                Ok(())
            })
            .unwrap();
    }
    let framing = started.elapsed();
    let decoder = FetchDecoder::new(DecodeOptions::default());
    let _ = decode_pages(&decoder, &["[".to_owned().as_str()].map(|_| "[]"));
    let started = std::time::Instant::now();
    let warm = decoder.page();
    drop(warm);
    let mut first = decoder.page();
    first.feed(bytes.slice(..)).unwrap();
    first.finish().unwrap();
    let infer_and_decode = started.elapsed();
    let started = std::time::Instant::now();
    let mut page = decoder.page();
    for chunk in 0..bytes.len().div_ceil(64 * 1024) {
        let end = ((chunk + 1) * 64 * 1024).min(bytes.len());
        page.feed(bytes.slice(chunk * 64 * 1024..end)).unwrap();
    }
    let decoded = page.finish().unwrap();
    let streaming = started.elapsed();
    let mb = bytes.len() as f64 / 1e6;
    println!(
        "{mb:.0} MB: framing {:.0} MB/s; first page (infer + decode) {:.0} MB/s; streaming decode {:.0} MB/s ({} rows)",
        mb / framing.as_secs_f64(),
        mb / infer_and_decode.as_secs_f64(),
        mb / streaming.as_secs_f64(),
        decoded.rows
    );
    assert!(n > 0);
}
