//! Tests of `faithful`: NaN and ±inf are refused at any depth with their column and row, and
//! extension-typed columns (pandas Period, Interval) are refused rather than sent as storage.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, StructArray,
};
use arrow_schema::{DataType, Field, Schema};

use super::*;
use arrow_array::Array;
use proptest::prelude::*;

fn ids(values: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

fn refused(column: ArrayRef, clear: bool) -> String {
    let batch =
        RecordBatch::try_from_iter(vec![("call_id", ids(&[1, 2, 3])), ("v", column)]).unwrap();
    let options = EncoderOptions {
        clear: if clear { vec!["v".into()] } else { Vec::new() },
        ..EncoderOptions::new(Target::Calls)
    };
    match PushPlan::new(vec![batch], options) {
        Err(Error::Encode { column, reason }) => {
            assert_eq!(column, "v");
            reason
        }
        Err(other) => panic!("expected an encode error, got {other}"),
        Ok(_) => panic!("pushed a non-finite value"),
    }
}

#[test]
fn nan_and_infinity_are_refused_in_every_float_type_with_their_row() {
    let nan64 = Arc::new(Float64Array::from(vec![Some(1.0), None, Some(f64::NAN)]));
    let reason = refused(nan64.clone(), false);
    assert!(
        reason.contains("NaN") && reason.contains("row 2"),
        "{reason}"
    );
    // A NaN in a clear= column is no null either: refused the same way.
    assert!(refused(nan64, true).contains("NaN"));
    let nan32 = Arc::new(Float32Array::from(vec![f32::NAN, 1.0, 2.0]));
    assert!(refused(nan32, false).contains("row 0"));
    let inf32 = Float32Array::from(vec![1.0, f32::NEG_INFINITY, 1.0]);
    let inf16 = arrow_cast::cast(&inf32, &DataType::Float16).unwrap();
    let reason = refused(inf16, false);
    assert!(
        reason.contains("infinite") && reason.contains("row 1"),
        "{reason}"
    );
}

#[test]
fn nan_inside_lists_structs_and_dictionaries_is_refused_with_the_outer_row() {
    let mut list = ListBuilder::new(Float64Builder::new());
    list.append_value([Some(1.0)]);
    list.append_value([None, Some(2.0)]);
    list.append_value([Some(3.0), Some(f64::NAN)]);
    assert!(refused(Arc::new(list.finish()), false).contains("row 2"));

    let inner: ArrayRef = Arc::new(Float64Array::from(vec![1.0, f64::INFINITY, 3.0]));
    let names: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
    let record = StructArray::from(vec![
        (Arc::new(Field::new("name", DataType::Utf8, false)), names),
        (Arc::new(Field::new("x", DataType::Float64, false)), inner),
    ]);
    assert!(refused(Arc::new(record), false).contains("row 1"));

    let keys = Int32Array::from(vec![0, 0, 1]);
    let values: ArrayRef = Arc::new(Float64Array::from(vec![0.5, f64::NAN]));
    let dict = DictionaryArray::<Int32Type>::try_new(keys, values).unwrap();
    assert!(refused(Arc::new(dict), false).contains("row 2"));
}

#[test]
fn an_all_null_dictionary_of_floats_is_no_error() {
    // pandas' all-NA categorical arrives as null keys over an empty float dictionary.
    let keys = Int32Array::from(vec![None, None, None]);
    let values: ArrayRef = Arc::new(Float64Array::from(Vec::<f64>::new()));
    let dict = DictionaryArray::<Int32Type>::try_new(keys, values).unwrap();
    let batch = RecordBatch::try_from_iter(vec![
        ("call_id", ids(&[1, 2, 3])),
        ("d", Arc::new(dict) as ArrayRef),
    ])
    .unwrap();
    let options = EncoderOptions {
        clear: vec!["d".into()],
        ..EncoderOptions::new(Target::Calls)
    };
    assert!(PushPlan::new(vec![batch], options).is_ok());
}

#[test]
fn non_finite_storage_under_a_null_is_a_null() {
    // The validity bitmap wins: arrow leaves any bits under a null (here a NaN).
    let values = Float64Array::from(vec![1.0, f64::NAN, 2.0]);
    let nulls = arrow_buffer::NullBuffer::from(vec![true, false, true]);
    let column = Float64Array::new(values.values().clone(), Some(nulls));
    let mut list = ListBuilder::new(Float64Builder::new());
    list.append_value([Some(1.0)]);
    list.append_null();
    list.append_value([Some(2.0)]);
    let batch = RecordBatch::try_from_iter(vec![
        ("call_id", ids(&[1, 2, 3])),
        ("f", Arc::new(column) as ArrayRef),
        ("l", Arc::new(list.finish())),
    ])
    .unwrap();
    let plan = PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls)).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&plan.encode(0).unwrap()).unwrap();
    assert_eq!(body["f"], serde_json::json!([1.0, null, 2.0]));
}

fn extension_field(name: &str, data_type: DataType, extension: &str) -> Field {
    let metadata = HashMap::from([("ARROW:extension:name".to_owned(), extension.to_owned())]);
    Field::new(name, data_type, true).with_metadata(metadata)
}

fn with_field(field: Field, column: ArrayRef) -> Result<PushPlan> {
    let schema = Schema::new(vec![Field::new("call_id", DataType::Int64, false), field]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![ids(&[1, 2]), column]).unwrap();
    PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls))
}

#[test]
fn extension_types_are_refused_naming_the_column_and_the_way_out() {
    let ordinals: ArrayRef = Arc::new(Int64Array::from(vec![660, 661]));
    let period = extension_field("month", DataType::Int64, "pandas.period");
    let Err(Error::Encode { column, reason }) = with_field(period, ordinals.clone()) else {
        panic!("a Period column was pushed as its ordinals");
    };
    assert_eq!(column, "month");
    assert!(reason.contains("pandas.period"), "{reason}");
    assert!(reason.contains(r#"df["month"].astype(str)"#), "{reason}");

    // Nested: a list of Periods is refused too.
    let item = Arc::new(extension_field("item", DataType::Int64, "pandas.period"));
    let mut list = ListBuilder::new(arrow_array::builder::Int64Builder::new()).with_field(item);
    list.append_value([Some(1)]);
    list.append_value([Some(2)]);
    let list = Arc::new(list.finish()) as ArrayRef;
    let field = Field::new("months", list.data_type().clone(), true);
    assert!(with_field(field, list).is_err());

    // JSON text is its own storage: sent as the string it is.
    let json: ArrayRef = Arc::new(StringArray::from(vec![r#"{"a":1}"#, "[]"]));
    assert!(with_field(extension_field("j", DataType::Utf8, "arrow.json"), json).is_ok());
}

/// Found by the outside trial: dates and timestamps chrono cannot represent went out as `null`
/// ("leave unchanged") and the push reported them updated; years past 9999 or before 1 went
/// out in no form the API reads.
#[test]
fn dates_and_timestamps_outside_years_1_to_9999_are_refused_with_their_row() {
    use arrow_array::{Date32Array, Date64Array, TimestampMillisecondArray, TimestampSecondArray};
    let days = |d: i32| -> ArrayRef { Arc::new(Date32Array::from(vec![Some(0), None, Some(d)])) };
    for bad in [i32::MAX, 2_932_897, -719_163, i32::MIN] {
        let reason = refused(days(bad), false);
        assert!(
            reason.contains("a date outside years 1 to 9999 (row 2)"),
            "{bad}: {reason}"
        );
    }
    let seconds =
        |s: i64| -> ArrayRef { Arc::new(TimestampSecondArray::from(vec![Some(0), None, Some(s)])) };
    for bad in [253_402_300_800, -62_135_596_801, 1 << 62] {
        let reason = refused(seconds(bad), false);
        assert!(
            reason.contains("a timestamp outside years 1 to 9999"),
            "{bad}: {reason}"
        );
    }
    // A day outside the years stored under a null is a null: pushed as one.
    let storage = Date32Array::from(vec![0, i32::MAX, 1]);
    let under_null = Date32Array::new(
        storage.values().clone(),
        Some(arrow_buffer::NullBuffer::from(vec![true, false, true])),
    );
    let batch = RecordBatch::try_from_iter(vec![
        ("call_id", ids(&[1, 2, 3])),
        ("d", Arc::new(under_null) as ArrayRef),
    ])
    .unwrap();
    let plan = PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls)).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&plan.encode(0).unwrap()).unwrap();
    assert_eq!(
        body["d"],
        serde_json::json!(["1970-01-01", null, "1970-01-02"])
    );
    let millis: ArrayRef = Arc::new(Date64Array::from(vec![Some(0), None, Some(1 << 62)]));
    assert!(refused(millis, false).contains("a date outside"));
    // Zone-aware: refused only where the tenant's wall clock leaves the years (found by the
    // outside trial: a whole day of margin was refused whatever the zone).
    let zoned = |millis: i64| -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::from(vec![Some(0), None, Some(millis)]).with_timezone("UTC"),
        )
    };
    let pushed_in = |column: ArrayRef, zone: &str| {
        let batch =
            RecordBatch::try_from_iter(vec![("call_id", ids(&[1, 2, 3])), ("v", column)]).unwrap();
        let options = EncoderOptions {
            timezone: Some(zone.into()),
            ..EncoderOptions::new(Target::Calls)
        };
        PushPlan::new(vec![batch], options)
            .map(|plan| String::from_utf8(plan.encode(0).unwrap().to_vec()).unwrap())
    };
    let last = 253_402_300_799_000; // 9999-12-31 23:59:59 UTC
    let first = -62_135_596_800_000; // 0001-01-01 00:00:00 UTC
    for (millis, zone, sent) in [
        (last, "UTC", Some("9999-12-31 23:59:59")),
        (
            last - 9 * 3_600_000,
            "Asia/Tokyo",
            Some("9999-12-31 23:59:59"),
        ),
        (last, "America/New_York", Some("9999-12-31 18:59:59")),
        (first, "UTC", Some("0001-01-01 00:00:00")),
        (last, "Asia/Tokyo", None),
        (last - 9 * 3_600_000 + 1_000, "Asia/Tokyo", None),
        (first, "America/New_York", None),
        (last + 1_000, "UTC", None),
        (last + 2 * 86_400_000, "America/New_York", None),
    ] {
        match (pushed_in(zoned(millis), zone), sent) {
            (Ok(body), Some(sent)) => assert!(body.contains(sent), "{millis} {zone}: {body}"),
            (Err(Error::Encode { reason, .. }), None) => {
                assert!(reason.contains("a timestamp outside"), "{reason}")
            }
            (other, _) => panic!("{millis} in {zone}: {:?}", other.map_err(|e| e.to_string())),
        }
    }
    // Nested: inside a list, a struct and a dictionary's values, named by the top-level row.
    let mut list = ListBuilder::new(arrow_array::builder::Date32Builder::new());
    list.append_value([Some(0)]);
    list.append_value([Some(1), None]);
    list.append_value([Some(2), Some(i32::MAX)]);
    let list: ArrayRef = Arc::new(list.finish());
    assert!(refused(list, false).contains("a date outside years 1 to 9999 (row 2)"));
    let inner = seconds(1 << 62);
    let field = Arc::new(Field::new("at", inner.data_type().clone(), true));
    let structure: ArrayRef = Arc::new(arrow_array::StructArray::from(vec![(field, inner)]));
    assert!(refused(structure, false).contains("a timestamp outside years 1 to 9999 (row 2)"));
    let keys = arrow_array::Int8Array::from(vec![Some(1), None, Some(0)]);
    let dictionary: ArrayRef =
        Arc::new(arrow_array::DictionaryArray::try_new(keys, days(i32::MIN)).unwrap());
    // Key 0 is day 0 (fine), key 1 is null; no row points at the bad day: pushed.
    let batch =
        RecordBatch::try_from_iter(vec![("call_id", ids(&[1, 2, 3])), ("v", dictionary)]).unwrap();
    assert!(PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls)).is_ok());
    let keys = arrow_array::Int8Array::from(vec![Some(0), None, Some(2)]);
    let dictionary: ArrayRef =
        Arc::new(arrow_array::DictionaryArray::try_new(keys, days(i32::MIN)).unwrap());
    assert!(refused(dictionary, false).contains("a date outside years 1 to 9999 (row 2)"));
    // The first and last days and seconds of the years themselves are pushed.
    for (column, last) in [
        (days(2_932_896), "9999-12-31"),
        (days(-719_162), "0001-01-01"),
        (seconds(253_402_300_799), "9999-12-31 23:59:59"),
        (seconds(-62_135_596_800), "0001-01-01 00:00:00"),
    ] {
        let batch =
            RecordBatch::try_from_iter(vec![("call_id", ids(&[1, 2, 3])), ("v", column)]).unwrap();
        let plan = PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls)).unwrap();
        let body = String::from_utf8(plan.encode(0).unwrap().to_vec()).unwrap();
        assert!(body.contains(&format!("\"{last}\"")), "{body}");
    }
}

/// Found by the outside trial: pandas' default `datetime64[ns]` lost its last three digits.
/// A fraction is written as `fetch -o` writes it (chrono's `%.f`: 3 or 6 digits, none when
/// zero), so a fetch reads a pushed time back as a time (outside trial 17 F6). Nanoseconds past
/// the microseconds would be 9 digits, which a fetch reads as text, turning the whole column
/// into text: refused before anything is sent, naming the row (outside trial 28c F1).
#[test]
fn nanoseconds_are_written_as_a_fetch_reads_them_back_or_refused() {
    use arrow_array::TimestampNanosecondArray;
    let at = 1_735_725_600_i64 * 1_000_000_000; // 2025-01-01 10:00:00
    let column: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![
        Some(at + 123_456_000),
        Some(at + 120_000_000),
        Some(at),
        None,
    ]));
    let batch =
        RecordBatch::try_from_iter(vec![("call_id", ids(&[1, 2, 3, 4])), ("v", column)]).unwrap();
    let plan = PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls)).unwrap();
    let body = String::from_utf8(plan.encode(0).unwrap().to_vec()).unwrap();
    assert!(body.contains("\"2025-01-01 10:00:00.123456\""), "{body}");
    assert!(body.contains("\"2025-01-01 10:00:00.120\""), "{body}");
    assert!(body.contains("\"2025-01-01 10:00:00\""), "{body}");
    for zone in [None, Some("+02:00")] {
        let column = TimestampNanosecondArray::from(vec![Some(at), None, Some(at + 123_456_789)])
            .with_timezone_opt(zone);
        let batch = RecordBatch::try_from_iter(vec![
            ("call_id", ids(&[1, 2, 3])),
            ("v", Arc::new(column) as ArrayRef),
        ])
        .unwrap();
        let err = PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls))
            .err()
            .expect("refused");
        let text = err.to_string();
        assert!(text.contains("finer than a microsecond (row 2)"), "{text}");
        assert!(
            text.contains("`v`") || text.contains("\"v\"") || text.contains(" v"),
            "{text}"
        );
    }
}

/// A string array of `bytes` cut at `offsets`, with `valid` rows, that no check has seen.
fn raw_strings(offsets: &[i32], bytes: &[u8], valid: Option<Vec<bool>>) -> ArrayRef {
    use arrow_array::StringArray;
    use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets.to_vec()));
    let nulls = valid.map(NullBuffer::from);
    // SAFETY (test): the offsets are within `bytes`; the bytes are deliberately not UTF-8.
    #[allow(unsafe_code)]
    let array = unsafe { StringArray::new_unchecked(offsets, Buffer::from(bytes.to_vec()), nulls) };
    Arc::new(array)
}

fn push_error(column: ArrayRef) -> Option<String> {
    let rows = column.len() as i64;
    let keys: Vec<i64> = (1..=rows).collect();
    let batch = RecordBatch::try_from_iter(vec![("call_id", ids(&keys)), ("s", column)]).unwrap();
    PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls))
        .err()
        .map(|e| e.to_string())
}

/// Found by the outside trial (29b): text that is not UTF-8 is refused naming its row, and
/// only where a value is sent: bytes under a null, or between two values, refuse nothing.
#[test]
fn text_that_is_not_utf8_is_refused_where_it_is_sent() {
    let bad = raw_strings(&[0, 1, 3, 4], b"a\xff\xfeb", None);
    let err = push_error(bad).expect("refused");
    assert!(err.contains("not valid UTF-8 (row 1)"), "{err}");
    // The same bytes under a null: sent as null, so fine.
    let hidden = raw_strings(&[0, 1, 3, 4], b"a\xff\xfeb", Some(vec![true, false, true]));
    assert_eq!(push_error(hidden), None);
    // Bytes before the first value (a sliced array's) send nothing either.
    assert_eq!(push_error(raw_strings(&[1, 2], b"\xffa", None)), None);
    assert_eq!(
        push_error(raw_strings(&[0, 1, 3, 4], b"a\xff\xfeb", None).slice(2, 1)),
        None
    );
    // A character split between two values: each value alone is not UTF-8.
    let split = raw_strings(&[0, 1, 3], "a\u{20ac}".as_bytes(), None);
    assert!(push_error(split).expect("refused").contains("(row 1)"));
    // Inside a list: arrow's full validation, with no row.
    let item = raw_strings(&[0, 1], b"\xff", None);
    let list = arrow_array::ListArray::new(
        Arc::new(Field::new("item", DataType::Utf8, true)),
        arrow_buffer::OffsetBuffer::new(vec![0, 1].into()),
        item,
        None,
    );
    let err = push_error(Arc::new(list)).expect("refused");
    assert!(err.contains("not valid UTF-8 (row 0)"), "{err}");
    // Offsets past the items, where a row is sent: the layout is named.
    let item = raw_strings(&[0, 1], b"a", None);
    let list = arrow_array::ListArray::new(
        Arc::new(Field::new("item", DataType::Utf8, true)),
        arrow_buffer::OffsetBuffer::new(vec![0, 1].into()),
        item,
        None,
    );
    let broken = list
        .to_data()
        .into_builder()
        .buffers(vec![arrow_buffer::Buffer::from_vec(vec![0i32, 5])]);
    // SAFETY (test): deliberately broken offsets; the check must refuse, not read them.
    #[allow(unsafe_code)]
    let broken = arrow_array::make_array(unsafe { broken.build_unchecked() });
    let err = push_error(broken).expect("refused");
    assert!(err.contains("is not a well-formed Arrow array"), "{err}");
}

/// One list<string> row or struct<string> row as a strategy builds it: whether the row is
/// valid, and its items: each valid or not, with its bytes (UTF-8 or not).
type NestedRow = (bool, Vec<(bool, Vec<u8>)>);

fn nested_rows() -> impl Strategy<Value = Vec<NestedRow>> {
    let bytes = prop_oneof![
        "[a-z]{0,6}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..4),
    ];
    let items = proptest::collection::vec((any::<bool>(), bytes), 0..3);
    proptest::collection::vec((any::<bool>(), items), 1..12)
}

/// The strings of `rows`' items, in order, with their validity, that no check has seen.
fn raw_items(rows: &[NestedRow]) -> (ArrayRef, Vec<i32>) {
    let (mut offsets, mut bytes, mut valid, mut row_offsets) =
        (vec![0], Vec::new(), vec![], vec![0]);
    for (_, items) in rows {
        for (ok, item) in items {
            bytes.extend_from_slice(item);
            offsets.push(bytes.len() as i32);
            valid.push(*ok);
        }
        row_offsets.push(offsets.len() as i32 - 1);
    }
    (raw_strings(&offsets, &bytes, Some(valid)), row_offsets)
}

proptest! {
    /// Text inside a list or a struct refuses the push exactly when some value sent holds
    /// bytes that are not UTF-8 (naming the first such row); bytes under a null item, a null
    /// row or a null struct refuse nothing, and what is then sent is UTF-8 (outside trial 58
    /// F1: these were refused by arrow's full validation, which reads every byte).
    #[test]
    fn nested_text_is_refused_only_where_it_is_sent(rows in nested_rows()) {
        let (items, row_offsets) = raw_items(&rows);
        let row_valid: Vec<bool> = rows.iter().map(|(ok, _)| *ok).collect();
        let sent_bad = |(ok, items): &NestedRow| {
            *ok && items.iter().any(|(v, b)| *v && std::str::from_utf8(b).is_err())
        };
        let expected = rows.iter().position(sent_bad);
        let list: ArrayRef = Arc::new(arrow_array::ListArray::new(
            Arc::new(Field::new("item", DataType::Utf8, true)),
            arrow_buffer::OffsetBuffer::new(row_offsets.into()),
            items.clone(),
            Some(row_valid.clone().into()),
        ));
        let err = push_error(list);
        prop_assert_eq!(err.is_some(), expected.is_some(), "{:?}", err);
        if let (Some(err), Some(row)) = (&err, expected) {
            prop_assert!(err.contains(&format!("not valid UTF-8 (row {row})")), "{}", err);
        }
        // A struct of one item per row: the row's first item, under the row's validity.
        let firsts: Vec<NestedRow> = (rows.iter())
            .filter_map(|(ok, items)| items.first().map(|item| (*ok, vec![item.clone()])))
            .collect();
        let (field, _) = raw_items(&firsts);
        let structure: ArrayRef = Arc::new(StructArray::new(
            vec![Field::new("s", DataType::Utf8, true)].into(),
            vec![field],
            Some(firsts.iter().map(|(ok, _)| *ok).collect::<Vec<_>>().into()),
        ));
        let expected = firsts.iter().position(sent_bad);
        let err = push_error(structure);
        prop_assert_eq!(err.is_some(), expected.is_some(), "{:?}", err);
        if let (Some(err), Some(row)) = (&err, expected) {
            prop_assert!(err.contains(&format!("not valid UTF-8 (row {row})")), "{}", err);
        }
    }
}

/// A dictionary refuses only text a row uses: an unused entry that is not UTF-8 is never
/// read, and the rows go out as their own values (outside trial 58 F1).
#[test]
fn a_dictionary_entry_no_row_uses_refuses_nothing() {
    let values = raw_strings(&[0, 4, 6, 8], b"good\xff\xfeok", None);
    let keys = Int32Array::from(vec![Some(0), None, Some(2), Some(0)]);
    let unused = DictionaryArray::new(keys, values.clone());
    let batch = RecordBatch::try_from_iter(vec![
        ("call_id", ids(&[1, 2, 3, 4])),
        ("s", Arc::new(unused) as ArrayRef),
    ])
    .unwrap();
    let plan = PushPlan::new(vec![batch], EncoderOptions::new(Target::Calls)).expect("sent");
    let body = plan.encode(0).unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&body).expect("UTF-8 JSON");
    assert_eq!(sent["s"], serde_json::json!(["good", null, "ok", "good"]));
    // A null row's key may hold any bits: never read either.
    let keys = Int32Array::new(vec![0, -7, 2].into(), Some(vec![true, false, true].into()));
    assert_eq!(
        push_error(Arc::new(DictionaryArray::new(keys, values.clone()))),
        None
    );
    let used = DictionaryArray::new(Int32Array::from(vec![0, 2, 1]), values);
    let err = push_error(Arc::new(used)).expect("refused");
    assert!(err.contains("not valid UTF-8 (row 2)"), "{err}");
}

/// Found by the outside trial (29b F7): a date64 holding a time of day (which Arrow's spec
/// does not allow, but a producer can build) was pushed as its day, the time dropped unsaid.
#[test]
fn a_date64_that_is_not_a_whole_day_is_refused() {
    use arrow_array::Date64Array;
    let day = 86_400_000_i64;
    let whole: ArrayRef = Arc::new(Date64Array::from(vec![Some(day), None, Some(-day)]));
    assert_eq!(push_error(whole), None);
    let part: ArrayRef = Arc::new(Date64Array::from(vec![Some(day), Some(day + 5)]));
    let err = push_error(part).expect("refused");
    assert!(err.contains("not a whole day (row 1)"), "{err}");
}

/// What `on_duplicate="last"` drops is never sent, so it refuses nothing; the same value in a
/// row it keeps is refused, naming that row (outside trial 58 N3: a NaN or bad text in a row a
/// later duplicate replaced refused the push). Two batches: keys [1, 2] then [1, 3], so frame
/// row 0 is dropped for row 2, across the batch boundary.
#[test]
fn values_in_rows_a_later_duplicate_replaces_refuse_nothing() {
    let floats = |v: [f64; 2]| Arc::new(Float64Array::from(v.to_vec())) as ArrayRef;
    let dates = |v: [i32; 2]| Arc::new(arrow_array::Date32Array::from(v.to_vec())) as ArrayRef;
    let texts = |first: &[u8]| {
        let mut bytes = first.to_vec();
        let end = bytes.len() as i32;
        bytes.extend_from_slice(b"ok");
        raw_strings(&[0, end, end + 2], &bytes, None)
    };
    let in_struct = |v: [f64; 2]| {
        let field = Arc::new(Field::new("score", DataType::Float64, true));
        Arc::new(StructArray::from(vec![(field, floats(v))])) as ArrayRef
    };
    let good: [(&str, ArrayRef); 5] = [
        ("NaN", floats([0.5, 1.5])),
        ("inf", floats([0.5, 1.5])),
        ("date", dates([10, 20])),
        ("text", texts(b"fine")),
        ("struct", in_struct([0.5, 1.5])),
    ];
    let bad: [ArrayRef; 5] = [
        floats([f64::NAN, 1.5]),
        floats([f64::INFINITY, 1.5]),
        dates([i32::MAX, 20]),
        texts(b"\xff\xfe"),
        in_struct([f64::NAN, 1.5]),
    ];
    let options = EncoderOptions {
        on_duplicate: OnDuplicate::Last,
        ..EncoderOptions::new(Target::Calls)
    };
    for ((what, good), bad) in good.into_iter().zip(bad) {
        let frame = |first: &ArrayRef, second: &ArrayRef| {
            vec![
                RecordBatch::try_from_iter(vec![("call_id", ids(&[1, 2])), ("v", first.clone())])
                    .unwrap(),
                RecordBatch::try_from_iter(vec![("call_id", ids(&[1, 3])), ("v", second.clone())])
                    .unwrap(),
            ]
        };
        // Dropped (frame row 0): pushed, and the body holds the kept rows' values only.
        let plan = PushPlan::new(frame(&bad, &good), options.clone())
            .unwrap_or_else(|e| panic!("{what} in a dropped row refused: {e}"));
        let body: serde_json::Value = serde_json::from_slice(&plan.encode(0).unwrap()).unwrap();
        assert_eq!(body["call_id"], serde_json::json!([2, 1, 3]), "{what}");
        // Kept (frame row 2): refused, naming it. Without duplicates too (frame row 0).
        let reason = match PushPlan::new(frame(&good, &bad), options.clone()) {
            Err(Error::Encode { column, reason }) if column == "v" => reason,
            other => panic!("{what} in a kept row: {:?}", other.err()),
        };
        assert!(reason.contains("(row 2)"), "{what}: {reason}");
        let single =
            vec![RecordBatch::try_from_iter(vec![("call_id", ids(&[1, 2])), ("v", bad)]).unwrap()];
        let reason = PushPlan::new(single, options.clone())
            .err()
            .unwrap()
            .to_string();
        assert!(reason.contains("(row 0)"), "{what}: {reason}");
    }
}

/// A frame large enough to be checked on every core names the same fault a column-by-column
/// check names: the first in frame order (batch, then column), by its row in the frame.
#[test]
fn a_large_frame_checked_on_every_core_names_its_first_fault_in_frame_order() {
    use arrow_array::Date32Array;
    const ROWS: usize = 150_000;
    let floats = |nan_at: Option<usize>| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values((0..ROWS).map(|r| {
            if Some(r) == nan_at {
                f64::NAN
            } else {
                r as f64
            }
        })))
    };
    let days = |bad_at: Option<usize>| -> ArrayRef {
        Arc::new(Date32Array::from_iter_values((0..ROWS).map(|r| {
            if Some(r) == bad_at {
                i32::MIN
            } else {
                20_000
            }
        })))
    };
    let batch = |first: i64, f: ArrayRef, d: ArrayRef| {
        let keys: Vec<i64> = (first..first + ROWS as i64).collect();
        RecordBatch::try_from_iter(vec![("call_id", ids(&keys)), ("f", f), ("d", d)]).unwrap()
    };
    let fault = |batches: Vec<RecordBatch>| match PushPlan::new(
        batches,
        EncoderOptions::new(Target::Calls),
    ) {
        Err(Error::Encode { column, reason }) => format!("{column}: {reason}"),
        Err(other) => panic!("expected an encode error, got {other}"),
        Ok(_) => "none".to_owned(),
    };
    // Batch 0's float column comes before its date column, though its fault is later.
    let told = fault(vec![
        batch(1, floats(Some(7)), days(Some(5))),
        batch(1 + ROWS as i64, floats(Some(1)), days(None)),
    ]);
    assert!(
        told.starts_with("f: ") && told.contains("(row 7)"),
        "{told}"
    );
    // Batch 0's date column comes before any column of batch 1.
    let told = fault(vec![
        batch(1, floats(None), days(Some(5))),
        batch(1 + ROWS as i64, floats(Some(1)), days(None)),
    ]);
    assert!(
        told.starts_with("d: ") && told.contains("(row 5)"),
        "{told}"
    );
    // A fault in batch 1 is named by its row in the frame.
    let told = fault(vec![
        batch(1, floats(None), days(None)),
        batch(1 + ROWS as i64, floats(None), days(Some(3))),
    ]);
    assert!(
        told.starts_with("d: ") && told.contains(&format!("(row {})", ROWS + 3)),
        "{told}"
    );
    let clean = fault(vec![batch(1, floats(None), days(None))]);
    assert_eq!(clean, "none");
}

/// A zone-aware time after 2099 is refused for a tenant's zone that keeps daylight saving
/// time (its tables end in 2099, so the wall clock could be an hour off: outside trial 92 F2),
/// and pushed for one that does not, or before 2100.
#[test]
fn zone_aware_times_after_the_zone_tables_are_refused_where_daylight_saving_is_kept() {
    use arrow_array::TimestampSecondArray;
    // 2099-07-01 12:00 UTC and 2100-07-01 12:00 UTC.
    let (before, after) = (4_086_734_400_i64, 4_118_270_400_i64);
    let push = |value: i64, zone: &str| {
        let times = TimestampSecondArray::from(vec![value, value, value]).with_timezone("UTC");
        let batch = RecordBatch::try_from_iter(vec![
            ("call_id", ids(&[1, 2, 3])),
            ("v", Arc::new(times) as ArrayRef),
        ])
        .unwrap();
        let options = EncoderOptions {
            timezone: Some(zone.into()),
            ..EncoderOptions::new(Target::Calls)
        };
        PushPlan::new(vec![batch], options).map(|_| ())
    };
    match push(after, "Europe/Amsterdam") {
        Err(Error::Encode { column, reason }) => {
            assert_eq!(column, "v");
            assert!(reason.contains("after 2099 (row 0)"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(push(before, "Europe/Amsterdam").is_ok());
    assert!(push(after, "Asia/Tokyo").is_ok());
    assert!(push(after, "UTC").is_ok());
    // Winter keeps the standard offset, which the tables still give; the month of a switch is
    // refused whatever the day (the switch falls on another day each year).
    assert!(push(4_103_697_600, "Europe/Amsterdam").is_ok()); // 2100-01-15 12:00 UTC
    assert!(push(4_108_363_200, "Europe/Amsterdam").is_err()); // 2100-03-10 12:00 UTC
}
