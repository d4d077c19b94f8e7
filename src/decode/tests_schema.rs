//! Tests of schema inference across pages: drift, widening, conflicts, dates, overrides,
//! nested values and big integers.

use arrow_schema::{DataType, TimeUnit};

use super::tests::{column_names, column_text, page, table};
use super::*;

fn type_of(t: &DecodedTable, name: &str) -> DataType {
    t.schema.field_with_name(name).unwrap().data_type().clone()
}

#[test]
fn a_column_first_seen_on_page_three_is_kept() {
    let t = table(&[
        r#"[{"id":1},{"id":2}]"#,
        r#"[{"id":3}]"#,
        r#"[{"id":4,"late":"x"},{"id":5}]"#,
    ]);
    let names = column_names(&t);
    assert_eq!(names, ["id", "late"]);
    assert_eq!(
        column_text(&t, "late"),
        ["null", "null", "null", "x", "null"]
    );
    assert!(t.warnings.is_empty());
}

#[test]
fn all_null_on_page_one_then_strings() {
    let t = table(&[r#"[{"a":null},{"a":null}]"#, r#"[{"a":"x"},{"a":null}]"#]);
    assert_eq!(type_of(&t, "a"), DataType::Utf8);
    assert_eq!(column_text(&t, "a"), ["null", "null", "x", "null"]);
    let t = table(&[r#"[{"a":null}]"#]);
    assert_eq!(type_of(&t, "a"), DataType::Null);
}

#[test]
fn int_then_float_widens_without_truncating() {
    // arrow-json alone would decode 2.5 into the Int64 column as 2.
    let t = table(&[r#"[{"x":1},{"x":2}]"#, r#"[{"x":3},{"x":2.5}]"#]);
    assert_eq!(type_of(&t, "x"), DataType::Float64);
    assert_eq!(column_text(&t, "x"), ["1.0", "2.0", "3.0", "2.5"]);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    // Within one page, and in the other order.
    let t = table(&[r#"[{"x":0.5},{"x":7}]"#, r#"[{"x":8}]"#]);
    assert_eq!(column_text(&t, "x"), ["0.5", "7.0", "8.0"]);
}

#[test]
fn int_and_string_fall_back_to_text_with_a_warning() {
    let t = table(&[r#"[{"x":1},{"x":22}]"#, r#"[{"x":"007"},{"x":true}]"#]);
    assert_eq!(type_of(&t, "x"), DataType::Utf8);
    assert_eq!(column_text(&t, "x"), ["1", "22", "007", "true"]);
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    assert!(t.warnings[0].contains("`x`"), "{:?}", t.warnings);
    // A numeric-looking string in an Int64 column must not be parsed into it.
    let t = table(&[r#"[{"x":1}]"#, r#"[{"x":"2"}]"#]);
    assert_eq!(type_of(&t, "x"), DataType::Utf8);
}

/// A Float64 column that meets a string on a later page: the earlier pages hold doubles, not
/// the literals sent, so their text is Float64's; the warning says so and how to keep them
/// (outside trial: 123456789012345678 came back as "1.2345678901234568e17", unsaid).
#[test]
fn numbers_read_as_floats_before_text_are_said_to_be_respelled() {
    let t = table(&[r#"[{"x":1.5},{"x":101}]"#, r#"[{"x":"abc"},{"x":7}]"#]);
    assert_eq!(type_of(&t, "x"), DataType::Utf8);
    // Page 2 shows the string: its number keeps its literal; page 1's are Float64's.
    assert_eq!(column_text(&t, "x"), ["1.5", "101.0", "abc", "7"]);
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    let warning = &t.warnings[0];
    assert!(warning.contains("as Float64 prints them"), "{warning}");
    assert!(warning.contains(r#"as "str" in schema="#), "{warning}");
    assert!(!warning.contains("rounded"), "{warning}");

    // A page of floats with an integer beyond 2^53 keeps its numbers as sent (a Float64 page
    // would have rounded it, outside trial 16): nothing was respelled.
    let t = table(&[
        r#"[{"x":0.5},{"x":123456789012345678}]"#,
        r#"[{"x":"abc"}]"#,
    ]);
    assert_eq!(column_text(&t, "x"), ["0.5", "123456789012345678", "abc"]);
    assert!(!t.warnings[0].contains("Float64"), "{:?}", t.warnings);

    // Integers alone turn into text exactly: no such note.
    let t = table(&[r#"[{"x":1},{"x":101}]"#, r#"[{"x":"abc"}]"#]);
    assert_eq!(column_text(&t, "x"), ["1", "101", "abc"]);
    assert!(!t.warnings[0].contains("Float64"), "{:?}", t.warnings);
}

/// The note follows what the pages were decoded as, not which kinds the column held (outside
/// trial 14: integers beyond 2^53 on an Int64 page arrived exact, yet the note said they were
/// rounded), and neither depends on which page decoded first (outside trial 16: a page
/// decoded after the string kept its literals, one decoded before did not).
#[test]
fn the_respelled_note_follows_how_each_page_was_decoded() {
    let pages = [
        r#"[{"x":101},{"x":9007199254740993}]"#,
        r#"[{"x":2.5},{"x":3}]"#,
        r#"[{"x":"abc"}]"#,
    ];
    // Page 2 holds floats: it is Float64 (3 becomes "3.0"); page 1's integers stay exact.
    let in_order = table(&pages);
    assert_eq!(
        column_text(&in_order, "x"),
        ["101", "9007199254740993", "2.5", "3.0", "abc"]
    );
    let warning = &in_order.warnings[0];
    assert!(warning.contains("as Float64 prints them"), "{warning}");
    assert!(!warning.contains("rounded"), "{warning}");

    // The string's page decoded first (pages run concurrently): the same values and words.
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let third = page(&fetch, pages[2]);
    let (first, second) = (page(&fetch, pages[0]), page(&fetch, pages[1]));
    let t = fetch.finish(vec![first, second, third], None).unwrap();
    assert_eq!(column_text(&t, "x"), column_text(&in_order, "x"));
    assert_eq!(t.warnings, in_order.warnings);

    // Integers alone on their pages, after the string: exact, and nothing said of Float64.
    let t = table(&[r#"[{"x":"abc"}]"#, r#"[{"x":101},{"x":9007199254740993}]"#]);
    assert_eq!(column_text(&t, "x"), ["abc", "101", "9007199254740993"]);
    assert!(!t.warnings[0].contains("Float64"), "{:?}", t.warnings);
}

/// Timestamps decoded as such before a later page turns the column to text keep the text they
/// were sent as: only spellings that print back as they came are timestamps (outside trial 15:
/// `2025-01-02T03:04:05` came back as "2025-01-02 03:04:05"; outside trial 17 F6: so did a push
/// of a fetched CSV). The warning says the column is text, and nothing of a re-printing.
#[test]
fn times_decoded_as_timestamps_before_text_keep_their_text() {
    let t = table(&[
        r#"[{"x":"2025-01-02 03:04:05"},{"x":"2025-01-02 03:04:05.123456"}]"#,
        r#"[{"x":"later"}]"#,
    ]);
    assert_eq!(type_of(&t, "x"), DataType::Utf8);
    assert_eq!(
        column_text(&t, "x"),
        ["2025-01-02 03:04:05", "2025-01-02 03:04:05.123456", "later"]
    );
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    let warning = &t.warnings[0];
    assert!(
        warning.contains("mixes timestamps, strings; decoded as strings")
            && !warning.contains("re-printed"),
        "{warning}"
    );
}

/// A conflict inside a nested value is said, with the path to it (outside trial: it was not).
#[test]
fn a_conflict_inside_a_nested_value_is_said() {
    let t = table(&[
        r#"[{"x":{"a":1,"b":true}}]"#,
        r#"[{"x":{"a":"s","b":false}}]"#,
    ]);
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    let warning = &t.warnings[0];
    assert!(
        warning.starts_with("column `x` field `a` mixes integers, strings"),
        "{warning}"
    );
    let t = table(&[r#"[{"l":[1,2]}]"#, r#"[{"l":[3,"four"]}]"#]);
    assert!(
        t.warnings[0].starts_with("column `l` (its list items) mixes"),
        "{:?}",
        t.warnings
    );
    // Nested values that agree give no warning.
    let t = table(&[r#"[{"x":{"a":1},"l":[1]}]"#, r#"[{"x":{"a":2},"l":[2,3]}]"#]);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
}

/// A timestamp's fraction finer than microseconds, or of a length `%.f` does not write, is text
/// as sent: Timestamp(µs) would cut `.123456789`, and converz writes `.5` back as `.500` (outside
/// trial: `.123456789` came back as `.123456`; outside trial 17 F6: `.5` as `.500000`). A column of
/// such times has no other value to disagree with: it is text without a warning.
#[test]
fn times_of_other_fraction_lengths_stay_text_as_sent() {
    let first =
        r#"[{"id":1,"t":"2025-01-01 10:00:00.123456789"},{"id":2,"t":"2025-01-01 10:00:00.5"}]"#;
    let later = r#"[{"id":3,"t":"2025-01-01 10:00:01.000000001"}]"#;
    let plain =
        r#"[{"id":1,"t":"2025-01-01 10:00:00.25"},{"id":2,"t":"2025-01-01 10:00:00.123456000"}]"#;
    for pages in [vec![first], vec![plain, later], vec![plain, plain]] {
        let t = table(&pages);
        assert_eq!(type_of(&t, "t"), DataType::Utf8);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    }
    let t = table(&[first, later]);
    assert_eq!(
        column_text(&t, "t"),
        [
            "2025-01-01 10:00:00.123456789",
            "2025-01-01 10:00:00.5",
            "2025-01-01 10:00:01.000000001"
        ]
    );
}

#[test]
fn dates_and_timestamps_are_parsed() {
    let t = table(&[
        r#"[{"d":"2025-07-15","ts":"2025-07-15 12:00:03","us":"2025-07-15 12:00:03.250001"}]"#,
        r#"[{"d":"2024-02-29","ts":null,"us":"2025-01-01 00:00:00.000001"}]"#,
        r#"[{"d":null,"ts":"2025-07-15 12:00:03.250","us":"2025-01-01 00:00:00.999"}]"#,
    ]);
    assert_eq!(type_of(&t, "d"), DataType::Date32);
    let micros = DataType::Timestamp(TimeUnit::Microsecond, None);
    assert_eq!(type_of(&t, "ts"), micros);
    assert_eq!(type_of(&t, "us"), micros);
    assert_eq!(column_text(&t, "d"), ["2025-07-15", "2024-02-29", "null"]);
    assert_eq!(
        column_text(&t, "ts"),
        ["2025-07-15T12:00:03", "null", "2025-07-15T12:00:03.250"]
    );
    assert_eq!(
        column_text(&t, "us"),
        [
            "2025-07-15T12:00:03.250001",
            "2025-01-01T00:00:00.000001",
            "2025-01-01T00:00:00.999"
        ]
    );
    // Spellings converz would write back otherwise are text, as sent (outside trial 17 F6).
    for other in [
        "2025-07-15T12:00:03",
        "2025-07-15 12:00:03.25",
        "2025-07-15 12:00:03.250000",
        "2025-07-15 12:00:03.000000",
        "2025-07-15 12:00:03.000",
        "2025-07-15 12:00:03.2500",
        "2025-07-15 12:00:03Z",
        "2025-07-15 12:00:03+01:00",
        "2025-07-15 12:00",
    ] {
        let t = table(&[&format!(r#"[{{"t":"{other}"}}]"#)]);
        assert_eq!(type_of(&t, "t"), DataType::Utf8, "{other}");
        assert_eq!(column_text(&t, "t"), [other]);
    }
}

#[test]
fn not_quite_dates_stay_text() {
    for bad in [
        "2025-02-30",
        "2025-7-15",
        "2025-07-15 25:00:00",
        "2025-07-15x",
        "20250715",
    ] {
        let body = format!(r#"[{{"d":"2025-07-15"}},{{"d":"{bad}"}}]"#);
        let t = table(&[&body]);
        assert_eq!(type_of(&t, "d"), DataType::Utf8, "{bad}");
        assert_eq!(column_text(&t, "d"), ["2025-07-15", bad]);
    }
    // A date column that meets a non-date on a later page: earlier pages become text.
    let t = table(&[r#"[{"d":"2025-07-15 12:00:03"}]"#, r#"[{"d":"soon"}]"#]);
    assert_eq!(column_text(&t, "d"), ["2025-07-15 12:00:03", "soon"]);
    // Dates then timestamps are text, as sent: a Timestamp would write the date back with a
    // midnight time (outside trial 17 F6).
    let t = table(&[
        r#"[{"d":"2025-07-15"}]"#,
        r#"[{"d":"2025-07-16 08:30:00"}]"#,
    ]);
    assert_eq!(type_of(&t, "d"), DataType::Utf8);
    assert_eq!(column_text(&t, "d"), ["2025-07-15", "2025-07-16 08:30:00"]);
}

#[test]
fn parse_dates_false_keeps_text() {
    let fetch = FetchDecoder::new(DecodeOptions {
        parse_dates: false,
        ..DecodeOptions::default()
    });
    let p = page(&fetch, r#"[{"d":"2025-07-15","ts":"2025-07-15 12:00:03"}]"#);
    let t = fetch.finish(vec![p], None).unwrap();
    assert_eq!(type_of(&t, "d"), DataType::Utf8);
    assert_eq!(column_text(&t, "ts"), ["2025-07-15 12:00:03"]);
}

#[test]
fn overrides_win_over_inference() {
    let fetch = FetchDecoder::new(DecodeOptions {
        schema_overrides: vec![
            ("id".into(), DataType::Utf8),
            ("x".into(), DataType::Float32),
            ("d".into(), DataType::Utf8),
        ],
        ..DecodeOptions::default()
    });
    let pages = vec![
        page(&fetch, r#"[{"id":1,"x":1,"d":"2025-07-15"}]"#),
        page(&fetch, r#"[{"id":2,"x":2.5,"d":"2025-07-16"}]"#),
    ];
    let t = fetch.finish(pages, Some("id")).unwrap();
    assert_eq!(type_of(&t, "id"), DataType::Utf8);
    assert_eq!(type_of(&t, "x"), DataType::Float32);
    assert_eq!(column_text(&t, "x"), ["1.0", "2.5"]);
    assert_eq!(column_text(&t, "d"), ["2025-07-15", "2025-07-16"]);
    assert_eq!(
        fetch.current_schema().unwrap().field(1).data_type(),
        &DataType::Float32
    );
}

#[test]
fn big_integers_stay_exact() {
    let t = table(&[
        r#"[{"n":9007199254740993},{"n":9223372036854775807},{"n":-9223372036854775808}]"#,
    ]);
    assert_eq!(type_of(&t, "n"), DataType::Int64);
    assert_eq!(
        column_text(&t, "n"),
        [
            "9007199254740993",
            "9223372036854775807",
            "-9223372036854775808"
        ]
    );
    // Beyond i64 on a later page: exact digits as text, earlier pages too.
    let t = table(&[
        r#"[{"n":9007199254740993}]"#,
        r#"[{"n":18446744073709551616}]"#,
    ]);
    assert_eq!(type_of(&t, "n"), DataType::Utf8);
    assert_eq!(
        column_text(&t, "n"),
        ["9007199254740993", "18446744073709551616"]
    );
    // Exact, but no longer a number column: said so.
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    assert!(t.warnings[0].contains("beyond int64"), "{:?}", t.warnings);
}

#[test]
fn nested_values_keep_their_structure() {
    let t = table(&[
        r#"[{"m":{"a":1,"tags":["x"]},"l":[1,2]}]"#,
        r#"[{"m":{"a":2.5,"b":"new"},"l":[]},{"m":null,"l":null}]"#,
    ]);
    let DataType::Struct(fields) = type_of(&t, "m") else {
        panic!("m is a struct");
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["a", "tags", "b"]);
    assert_eq!(fields[0].data_type(), &DataType::Float64);
    assert_eq!(type_of(&t, "l"), DataType::new_list(DataType::Int64, true));
    assert_eq!(
        column_text(&t, "m"),
        [
            "{a: 1.0, tags: [x], b: null}",
            "{a: 2.5, tags: null, b: new}",
            "null"
        ]
    );
    assert_eq!(column_text(&t, "l"), ["[1, 2]", "[]", "null"]);
}

#[test]
fn nested_shape_conflicts_become_json_text() {
    let t = table(&[
        r#"[{"id":1,"m":{"a":[1, 2]}}]"#,
        r#"[{"id":2,"m":"plain"},{"id":3,"m":{"a":{"deep":"q\"uote"}}}]"#,
        r#"[{"id":4,"m":{"a":[3]}}]"#,
    ]);
    assert_eq!(type_of(&t, "m"), DataType::Utf8);
    let m = column_text(&t, "m");
    assert_eq!(m[0], r#"{"a":[1,2]}"#);
    assert_eq!(m[1], "plain");
    assert_eq!(m[2], r#"{"a":{"deep":"q\"uote"}}"#);
    assert_eq!(m[3], r#"{"a":[3]}"#);
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
}

#[test]
fn warnings_are_visible_before_finish() {
    let fetch = FetchDecoder::new(DecodeOptions::default());
    page(&fetch, r#"[{"x":1}]"#);
    assert!(fetch.warnings().is_empty());
    page(&fetch, r#"[{"x":"a"}]"#);
    assert_eq!(fetch.warnings().len(), 1);
    assert_eq!(
        fetch.current_schema().unwrap().field(0).data_type(),
        &DataType::Utf8
    );
}

#[test]
fn a_date_column_with_one_other_string_becomes_text_with_a_warning() {
    for odd in ["2025-02-30", "2025-07-01T10:00:00Z", "soon"] {
        let body = format!(r#"[{{"d":"2025-07-01"}},{{"d":"{odd}"}}]"#);
        let t = table(&[&body]);
        assert_eq!(type_of(&t, "d"), DataType::Utf8, "{odd}");
        assert_eq!(t.warnings.len(), 1, "{odd}: {:?}", t.warnings);
        assert!(
            t.warnings[0].contains("`d`") && t.warnings[0].contains("dates"),
            "{:?}",
            t.warnings
        );
    }
    // Dates beside timestamps are text too (a Timestamp would write the date back as
    // `2025-07-01 00:00:00`), and said so.
    let t = table(&[r#"[{"d":"2025-07-01"},{"d":"2025-07-01 10:00:00"}]"#]);
    assert_eq!(type_of(&t, "d"), DataType::Utf8);
    assert_eq!(column_text(&t, "d"), ["2025-07-01", "2025-07-01 10:00:00"]);
    assert_eq!(
        t.warnings,
        ["column `d` mixes dates, timestamps; decoded as strings"]
    );
}

/// Found by the outside trial: an inferred `1e400` was read as infinity with no warning. JSON
/// has no infinity, so the number is kept as sent, as text, and said so: on a first page (the
/// reference decoder) and on a later one (the fast path, which must hand the page back).
#[test]
fn numbers_beyond_float64_are_kept_as_text_and_warned_of() {
    for pages in [
        vec![r#"[{"x":1e400},{"x":-2.5E+309}]"#],
        vec![r#"[{"x":1.5},{"x":2}]"#, r#"[{"x":1e400},{"x":-2.5E+309}]"#],
        vec![
            r#"[{"x":1.5},{"x":2}]"#,
            &format!(r#"[{{"x":{}.0}}]"#, "9".repeat(400)),
        ],
    ] {
        let t = table(&pages);
        assert_eq!(type_of(&t, "x"), DataType::Utf8, "{pages:?}");
        let text = column_text(&t, "x");
        assert!(
            !text.iter().any(|v| v.contains("inf")),
            "{pages:?}: {text:?}"
        );
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
        assert!(
            t.warnings[0].contains("beyond Float64's range"),
            "{:?}",
            t.warnings
        );
    }
    let t = table(&[r#"[{"x":1e400},{"x":-2.5E+309}]"#]);
    assert_eq!(column_text(&t, "x"), ["1e400", "-2.5E+309"]);
    // Within range, however spelled: still floats, no warning (underflow to zero is text,
    // warned of: `tests_float_rule`).
    let t = table(&[
        r#"[{"x":1.5}]"#,
        r#"[{"x":1.7976931348623157e308},{"x":1E+2}]"#,
    ]);
    assert_eq!(type_of(&t, "x"), DataType::Float64);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
}

#[test]
fn numbers_a_column_cannot_hold_exactly_are_warned_of() {
    // Integers beyond int64: text, to stay exact, and said so.
    let t = table(&[r#"[{"x":3},{"x":18446744073709551617}]"#]);
    assert_eq!(type_of(&t, "x"), DataType::Utf8);
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    assert!(
        t.warnings[0].contains("`x` holds integers beyond int64"),
        "{:?}",
        t.warnings
    );
    // It says what a push of them would send and which type keeps them as numbers (the
    // outside trial pushed such a column back and found it stored as text).
    assert!(
        t.warnings[0].contains("they are sent as text")
            && t.warnings[0].contains(r#"give the column as "uint64" in schema="#),
        "{:?}",
        t.warnings
    );
    // Integers beyond 2^53 beside floats: Float64 rounds them, which must not pass unsaid,
    // whichever page (and so whichever decoder) they come in.
    for pages in [
        [r#"[{"x":9007199254740993},{"x":1}]"#, r#"[{"x":0.5}]"#],
        [r#"[{"x":0.5}]"#, r#"[{"x":-9007199254740993}]"#],
    ] {
        let t = table(&pages);
        assert_eq!(type_of(&t, "x"), DataType::Float64);
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
        assert!(t.warnings[0].contains("beyond 2^53"), "{:?}", t.warnings);
    }
    // 2^53 itself is exact; wide integers without floats stay Int64: no warning either way.
    for pages in [
        [r#"[{"x":9007199254740992}]"#, r#"[{"x":0.5}]"#],
        [
            r#"[{"x":9007199254740993}]"#,
            r#"[{"x":-9223372036854775808}]"#,
        ],
    ] {
        let t = table(&pages);
        assert!(t.warnings.is_empty(), "{pages:?}: {:?}", t.warnings);
    }
}

/// Found by the outside trial: `"0000-01-01"` was read as a Date32 of year 0, which Python's
/// `date` (and so `repr` and pandas) cannot hold. Year 0 is text, with a warning, as 10000 is.
#[test]
fn year_zero_is_text_as_years_past_9999_are() {
    for pages in [
        [
            r#"[{"d":"2025-01-01"},{"d":"0000-01-01"}]"#,
            r#"[{"d":"2025-01-02"}]"#,
        ],
        [
            r#"[{"d":"2025-01-01"}]"#,
            r#"[{"d":"0000-01-01 00:00:00"}]"#,
        ],
    ] {
        let t = table(&pages);
        assert_eq!(type_of(&t, "d"), DataType::Utf8, "{pages:?}");
        assert!(column_text(&t, "d")
            .iter()
            .any(|v| v.starts_with("0000-01-01")));
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    }
}
