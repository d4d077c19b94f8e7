//! The POST fast path against the reference parser (every body it accepts parses the same;
//! every body the reference refuses, it leaves), and updates applied exactly once on a fresh
//! store and again on the same rows.

use proptest::prelude::*;

use super::post_body::{parse, parse_reference};
use super::post_fast;
use super::store::Store;
use super::update::{self, Target};
use super::EmulatorConfig;

/// Asserts the fast path agrees with the reference on `body`; true when it took the body.
fn agrees(body: &str, target: Target) -> bool {
    let fast = post_fast::parse(body.as_bytes(), target);
    let reference = parse_reference(body.as_bytes(), target);
    match (&fast, &reference) {
        (Some(fast), Ok(reference)) => {
            // Debug keeps what `==` would hide: -0.0 against 0.0, an integer against a float.
            assert_eq!(format!("{fast:?}"), format!("{reference:?}"), "{body}");
            true
        }
        (Some(_), Err(error)) => {
            panic!("fast path took a body the reference refuses: {body} ({error:?})")
        }
        (None, _) => false,
    }
}

#[test]
fn the_client_body_takes_the_fast_path_and_parses_as_the_reference() {
    let body = r#"{"call_id":[10,20,30],"label":["good","bad","good"],"score":[0.6369616873214543,null,1e-7],"follow_up":["2025-01-02","2025-01-02",null],"flag":[true,false,null],"bucket":["a","b","a"],"sentiment":[1,-2.5,3.0],"duration":[1.0,2,null]}"#;
    assert!(agrees(body, Target::Calls));
    assert!(agrees(
        r#"{"rep_id":["kees100"],"team":["red"]}"#,
        Target::Reps
    ));
    assert!(agrees(
        " { \"call_id\" : [ 1 , 2 ] ,\n\"x\":[ \"é\" , -3 ] } \n",
        Target::Calls
    ));
    assert!(agrees(
        r#"{"call_id":[1],"x":[1],"x":[2],"call_id":[3]}"#,
        Target::Calls
    ));
    assert!(agrees(r#"{"call_id":[],"x":[]}"#, Target::Calls));
    assert!(agrees("{}", Target::Calls));
}

#[test]
fn unusual_bodies_go_to_the_reference() {
    for body in [
        r#"[{"call_id":1,"x":2}]"#,                      // row-wise
        r#"{"call_id":[1],"x":["a\"b"]}"#,               // escape
        r#"{"call_id":[1],"x":[[1]]}"#,                  // nested
        r#"{"call_id":[1],"x":[{"a":1}]}"#,              // nested
        r#"{"call_id":[1],"x":[-0]}"#,                   // -0 is a float
        r#"{"call_id":[1],"x":[1e400]}"#,                // out of range
        r#"{"call_id":[1],"x":[01]}"#,                   // malformed
        r#"{"call_id":[1],"x":[1.]}"#,                   // malformed
        r#"{"call_id":[1],"x":[12345678901234567890]}"#, // long integer
        r#"{"call_id":[1],"campaign":[3]}"#,             // wrong type
        r#"{"call_id":[1],"duration":[1.5]}"#,           // not integral
        r#"{"call_id":[1],"x":1}"#,                      // not an array
        r#"{"call_id":[1],"x":[1]} x"#,                  // trailing bytes
        r#"{"call_id":[1],"x":[1],}"#,                   // trailing comma
        r#"{"call_id":[1],"x":[nul]}"#,                  // malformed
        "{\"call_id\":[1],\"x\":[\"a\tb\"]}",            // control character
    ] {
        assert!(!agrees(body, Target::Calls), "{body}");
        // Both ways give the reference's answer.
        assert_eq!(
            format!("{:?}", parse(body.as_bytes(), Target::Calls)),
            format!("{:?}", parse_reference(body.as_bytes(), Target::Calls))
        );
    }
    let too_many: Vec<String> = (0..=update::MAX_ROWS).map(|i| i.to_string()).collect();
    let body = format!(r#"{{"call_id":[{}]}}"#, too_many.join(","));
    assert!(!agrees(&body, Target::Calls));
    assert!(parse(body.as_bytes(), Target::Calls).is_err());
}

/// A JSON value as a client might write it, some the fast path takes and some it leaves.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        (-1000i64..1000).prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| if v.is_finite() {
            ryu::Buffer::new().format_finite(v).to_owned()
        } else {
            "null".into()
        }),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        (-1e6f64..1e6).prop_map(|v| format!("{v:.3}")),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        "[a-c]{0,3}".prop_map(|s| format!("\"{s}\"")),
        "[a-zé\\\\\"\\t]{0,4}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        Just("-0".to_owned()),
        Just("[1]".to_owned()),
    ]
}

/// A columnar body: the key column then up to four others, some with typed names.
fn body() -> impl Strategy<Value = String> {
    let column = (
        prop::sample::select(vec![
            "call_id",
            "label",
            "duration",
            "sentiment",
            "campaign",
            "x",
        ]),
        prop::collection::vec(value(), 0..6),
    );
    prop::collection::vec(column, 0..5).prop_map(|columns| {
        let parts: Vec<String> = columns
            .iter()
            .map(|(name, values)| format!("\"{name}\":[{}]", values.join(",")))
            .collect();
        format!("{{{}}}", parts.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn fast_path_parses_as_the_reference(body in body()) {
        agrees(&body, Target::Calls);
        agrees(&body, Target::Reps);
    }
}

#[test]
fn a_null_is_set_only_where_it_clears_and_nothing_is_set_on_a_missing_row() {
    use super::packed::tag;
    use super::update::{Nulls, NOT_FOUND};
    for nulls in [Nulls::Clear, Nulls::Keep] {
        assert!(nulls.sets(0, tag::INT) && nulls.sets(7, tag::TEXT));
        assert!(!nulls.sets(NOT_FOUND, tag::INT) && !nulls.sets(NOT_FOUND, tag::NULL));
    }
    assert!(Nulls::Clear.sets(3, tag::NULL));
    assert!(!Nulls::Keep.sets(3, tag::NULL));
    assert_eq!(Nulls::of_body(true), Nulls::Clear);
    assert_eq!(Nulls::of_body(false), Nulls::Keep);
}

/// A number's text, well formed or not: integers, plain decimals the fast path rounds itself
/// (up to 19 digits, at most 2^53), longer ones and exponents it hands to `lexical-core`, and
/// forms it leaves to the reference (leading zeros, `-0`, out of range, malformed).
fn number_text() -> impl Strategy<Value = String> {
    let decimal = |int: &'static str| {
        (
            any::<bool>(),
            int,
            prop::option::of("[0-9]{0,24}"),
            prop::option::of("[eE][+-]?[0-9]{0,4}"),
        )
            .prop_map(|(negative, int, fraction, exponent)| {
                let sign = if negative { "-" } else { "" };
                let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
                format!("{sign}{int}{fraction}{}", exponent.unwrap_or_default())
            })
    };
    prop_oneof![
        decimal("[1-9][0-9]{0,20}"),
        decimal("0"),
        decimal("[0-9]{1,22}"),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        prop::sample::select(vec![
            "-0",
            "-0.0",
            "0.0",
            "0.000",
            "4.9e-324",
            "5e-324",
            "2.2250738585072011e-308",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "1e400",
            "9007199254740992.0",
            "9007199254740993.0",
            "9007199254740993",
            "0.30000000000000004",
            "1234567890123456789.5",
            "0.1234567890123456789",
            "1e-7",
            "1E+2",
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// A number in every column type parses as the reference parses it, bit for bit.
    #[test]
    fn numbers_parse_as_the_reference(text in number_text()) {
        let body = format!(
            r#"{{"call_id":[1],"x":[{text}],"sentiment":[{text}],"duration":[{text}]}}"#
        );
        agrees(&body, Target::Calls);
        agrees(&format!(r#"{{"call_id":[1],"x":[{text}]}}"#), Target::Calls);
        agrees(&format!(r#"{{"call_id":[{text}]}}"#), Target::Calls);
    }

    /// Digits read eight at a time end where, and sum to what, reading them one at a time
    /// does: runs of every length, next to the bytes either side of '0'..='9' (`/`, `:`) and
    /// bytes with the high bit set, from any start and sum (wrapping past 19 digits alike).
    #[test]
    fn digits_read_eight_at_a_time_as_one_at_a_time(
        bytes in prop::collection::vec(
            prop_oneof![8 => b'0'..=b'9', 1 => Just(b'/'), 1 => Just(b':'), 1 => any::<u8>()],
            0..48,
        ),
        at in 0usize..50,
        sum in any::<u64>(),
    ) {
        let mut end = at;
        let mut expected = sum;
        while let Some(digit) = bytes.get(end).filter(|b| b.is_ascii_digit()) {
            expected = expected.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            end += 1;
        }
        prop_assert_eq!(post_fast::digits(&bytes, at, sum), (end, expected));
    }

    /// The one-division rounding gives `lexical-core`'s value (the parser it stands in for)
    /// wherever it answers, and answers for every decimal of up to 19 digits up to 2^53.
    #[test]
    fn exact_floats_round_as_lexical_core(mantissa in 0u64..=(1 << 53), fraction in 0usize..=22) {
        let digits = format!("{mantissa:0>width$}", width = fraction + 1);
        let (int, frac) = digits.split_at(digits.len() - fraction);
        let text = format!("{int}.{frac}0");
        let exact = post_fast::exact_float(mantissa, digits.len(), fraction);
        let lexical: f64 = lexical_core::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(exact.is_some(), digits.len() <= 19, "{}", text);
        if let Some(exact) = exact {
            prop_assert_eq!(exact.to_bits(), lexical.to_bits(), "{}", text);
        }
    }
}

#[test]
fn plain_decimals_take_the_fast_path() {
    for text in [
        "0.6369616873214543",
        "123.5",
        "-2.5",
        "9007199254740992.0",
        "0.1",
    ] {
        let body = format!(r#"{{"call_id":[1],"x":[{text}]}}"#);
        assert!(agrees(&body, Target::Calls), "{text}");
    }
}

fn fresh_store(calls: usize) -> Store {
    Store::generate(&EmulatorConfig {
        calls,
        reps: 12,
        ..EmulatorConfig::default()
    })
}

/// A columnar body setting `label`, `score` and `bucket` on `ids`, values tagged with `round`.
fn labels(ids: &[i64], round: usize) -> String {
    let ids_text: Vec<String> = ids.iter().map(i64::to_string).collect();
    let labels: Vec<String> = ids
        .iter()
        .map(|i| format!("\"l{}\"", (*i as usize + round) % 3))
        .collect();
    let scores: Vec<String> = ids
        .iter()
        .map(|i| format!("{}.5", *i as usize + round))
        .collect();
    format!(
        r#"{{"call_id":[{}],"label":[{}],"score":[{}],"bucket":[{}]}}"#,
        ids_text.join(","),
        labels.join(","),
        scores.join(","),
        vec![format!("\"r{round}\""); ids.len()].join(",")
    )
}

#[test]
fn pushes_into_a_fresh_store_apply_once_and_again_on_the_same_rows() {
    let mut s = fresh_store(5_000);
    let ids: Vec<i64> = s.calls.iter().map(|c| c.call_id).collect();
    for round in 0..3 {
        for chunk in ids.chunks(1_700) {
            let changes = update::parse(labels(chunk, round).as_bytes(), Target::Calls).unwrap();
            let answer = update::apply(&mut s, changes);
            assert_eq!(answer["updated"], chunk.len());
            assert_eq!(answer["not_found"], serde_json::json!([]));
        }
        for (index, &id) in ids.iter().enumerate() {
            let row: serde_json::Value = serde_json::from_slice(&s.call_row(index)).unwrap();
            assert_eq!(row["label"], format!("l{}", (id as usize + round) % 3));
            assert_eq!(row["score"], (id as usize + round) as f64 + 0.5);
            assert_eq!(row["bucket"], format!("r{round}"));
            // Each attribute once per row, however often it was set.
            let text = String::from_utf8(s.call_row(index).to_vec()).unwrap();
            assert_eq!(text.matches("\"label\":").count(), 1, "{text}");
        }
    }
    assert_eq!(s.call_attributes.len(), 3);
}

/// A body of more distinct texts than a column shares (each later one gets a code of its own,
/// repeats included), keys in descending order with one repeated: both parsers pack it the
/// same, and every row shows its own text over an earlier push's dictionary.
#[test]
fn many_distinct_texts_apply_to_their_rows() {
    let mut s = fresh_store(10_000);
    let ids: Vec<i64> = s.calls.iter().map(|c| c.call_id).collect();
    let changes = update::parse(labels(&ids, 0).as_bytes(), Target::Calls).unwrap();
    update::apply(&mut s, changes);
    let mut keys: Vec<usize> = (0..ids.len()).rev().collect();
    keys.push(5); // row 5 again: its last value wins
    let text = |at: usize| format!("t{}", (at * 7) % 6_000);
    let keys_text: Vec<String> = keys.iter().map(|&k| ids[k].to_string()).collect();
    let labels: Vec<String> = (0..keys.len())
        .map(|at| format!("\"{}\"", text(at)))
        .collect();
    let body = format!(
        r#"{{"call_id":[{}],"label":[{}]}}"#,
        keys_text.join(","),
        labels.join(",")
    );
    assert!(agrees(&body, Target::Calls));
    let answer = update::apply(
        &mut s,
        update::parse(body.as_bytes(), Target::Calls).unwrap(),
    );
    assert_eq!(answer["updated"], keys.len());
    let mut want = vec![String::new(); ids.len()];
    for (at, &key) in keys.iter().enumerate() {
        want[key] = text(at);
    }
    for (index, want) in want.iter().enumerate() {
        let row: serde_json::Value = serde_json::from_slice(&s.call_row(index)).unwrap();
        assert_eq!(row["label"], *want, "row {index}");
        assert_eq!(row["bucket"], "r0", "row {index}");
    }
}

/// A columnar body shaped like the bench's on `ids` (4 labels, 17-digit floats with a tenth
/// null, a year of dates, booleans, 3 categories).
fn bench_body(ids: &[i64], rng: &mut rand::rngs::SmallRng) -> String {
    use rand::Rng;
    let pick = |rng: &mut rand::rngs::SmallRng, options: &[&str]| {
        format!("\"{}\"", options[rng.random_range(0..options.len())])
    };
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let rows = ids.len();
    let labels: Vec<String> = (0..rows)
        .map(|_| pick(rng, &["good", "bad", "neutral", "escalate"]))
        .collect();
    let scores: Vec<String> = (0..rows)
        .map(|_| match rng.random_bool(0.1) {
            true => "null".into(),
            false => ryu::Buffer::new().format(rng.random::<f64>()).to_owned(),
        })
        .collect();
    let days: Vec<String> = (0..rows)
        .map(|_| {
            format!(
                "\"2025-{:02}-{:02}\"",
                rng.random_range(1..13),
                rng.random_range(1..29)
            )
        })
        .collect();
    let flags: Vec<&str> = (0..rows).map(|i| ["true", "false"][i % 2]).collect();
    let buckets: Vec<String> = (0..rows).map(|_| pick(rng, &["a", "b", "c"])).collect();
    format!(
        r#"{{"call_id":[{}],"label":[{}],"score":[{}],"follow_up":[{}],"flag":[{}],"bucket":[{}]}}"#,
        ids.join(","),
        labels.join(","),
        scores.join(","),
        days.join(","),
        flags.join(","),
        buckets.join(",")
    )
}

/// `cargo test --release -- --ignored --nocapture post_parse_speed`: the fast path and the
/// reference on bodies shaped like the bench's, one thread.
#[allow(clippy::print_stdout)] // a measurement reports on stdout
#[test]
#[ignore = "a measurement, not a check"]
fn post_parse_speed() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    let ids: Vec<i64> = (0..100_000).map(|i| 10 * i + 10).collect();
    let body = bench_body(&ids, &mut rng);
    let fast = |b: &[u8]| post_fast::parse(b, Target::Calls).is_some();
    let reference = |b: &[u8]| parse_reference(b, Target::Calls).is_ok();
    type Parse<'a> = &'a dyn Fn(&[u8]) -> bool;
    let parsers: [(&str, Parse<'_>); 2] = [("fast path", &fast), ("reference", &reference)];
    for (name, parse) in parsers {
        let started = std::time::Instant::now();
        for _ in 0..10 {
            assert!(parse(body.as_bytes()));
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name}: 10 bodies x 100,000 rows x 6 columns ({:.0} MB) in {seconds:.3} s, {:.0} MB/s",
            10.0 * body.len() as f64 / 1e6,
            10.0 * body.len() as f64 / 1e6 / seconds
        );
    }
    // Each column alone (with the keys), through the fast path: where a body's time goes.
    let whole: serde_json::Value = serde_json::from_str(&body).unwrap();
    for name in ["call_id", "label", "score", "follow_up", "flag", "bucket"] {
        let mut one = serde_json::Map::new();
        one.insert(name.to_owned(), whole[name].clone());
        let text = serde_json::to_string(&one).unwrap();
        let started = std::time::Instant::now();
        for _ in 0..10 {
            assert!(fast(text.as_bytes()));
        }
        let ms = started.elapsed().as_secs_f64() * 1e3 / 10.0;
        println!("  {name} alone: {ms:.1} ms per 100,000 values");
    }
}

/// `cargo test --release -- --ignored --nocapture post_phases`: where a 1M x 6 push goes in
/// the emulator, one thread: parsing its ten bodies, applying them to a fresh store, and the
/// same again on the rows the first push touched.
#[allow(clippy::print_stdout)] // a measurement reports on stdout
#[test]
#[ignore = "a measurement, not a check"]
fn post_phases() {
    use rand::SeedableRng;
    use std::time::Instant;
    let mut s = fresh_store(1_000_000);
    let ids: Vec<i64> = s.calls.iter().map(|c| c.call_id).collect();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    for push in ["first push", "second push"] {
        let bodies: Vec<String> = ids
            .chunks(100_000)
            .map(|chunk| bench_body(chunk, &mut rng))
            .collect();
        let started = Instant::now();
        let parsed: Vec<_> = bodies
            .iter()
            .map(|b| update::parse(b.as_bytes(), Target::Calls).unwrap())
            .collect();
        let parse = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for changes in parsed {
            let answer = update::apply(&mut s, changes);
            assert_eq!(answer["updated"], 100_000);
        }
        let apply = started.elapsed().as_secs_f64();
        println!("{push}: parse {parse:.3} s, apply {apply:.3} s");
    }
}

/// One cell of a model push: JSON text as sent, and the value the row must then show.
fn model_value(name: &'static str) -> BoxedStrategy<(String, serde_json::Value)> {
    let parsed = |text: String| {
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        (text, value)
    };
    match name {
        // A generated text column takes strings (or null).
        "campaign" => prop_oneof![
            Just("null".to_owned()),
            "[a-c\u{e9}\"]{0,3}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        ]
        .prop_map(parsed)
        .boxed(),
        // A generated integer column stores `4.0` as `4`.
        "duration" => (-1_000i64..1_000, any::<bool>())
            .prop_map(|(v, float)| {
                let text = if float {
                    format!("{v}.0")
                } else {
                    v.to_string()
                };
                (text, serde_json::json!(v))
            })
            .boxed(),
        _ => prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            (-1_000i64..1_000).prop_map(|v| v.to_string()),
            Just(u64::MAX.to_string()),
            (-1e3f64..1e3).prop_map(|v| ryu::Buffer::new().format_finite(v).to_owned()),
            Just("-0".to_owned()),
            "[a-c\u{e9}\"]{0,3}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#"[1,"a"]"#.to_owned()),
        ]
        .prop_map(parsed)
        .boxed(),
    }
}

/// Columns a model push may set.
const MODEL_COLUMNS: [&str; 5] = ["label", "score", "campaign", "duration", "tag"];

/// One model push: row-wise or columnar, the keys (indices of calls; 20 and up are ids that do
/// not exist) and per row, per column, the cell sent or `None` (absent from a row-wise row;
/// a columnar body sends every column it names for every row).
#[derive(Debug, Clone)]
struct ModelPush {
    row_wise: bool,
    columns: Vec<&'static str>,
    rows: Vec<(usize, Vec<Option<ModelCell>>)>,
}

/// A cell a model push sends: its column and value.
type ModelCell = (String, serde_json::Value);

fn model_push() -> impl Strategy<Value = ModelPush> {
    (
        any::<bool>(),
        prop::sample::subsequence(MODEL_COLUMNS.to_vec(), 1..=MODEL_COLUMNS.len()),
    )
        .prop_flat_map(|(row_wise, columns)| {
            let cells: Vec<_> = columns
                .iter()
                .map(|&name| prop::option::weighted(0.8, model_value(name)))
                .collect();
            let row = (0usize..24, cells);
            prop::collection::vec(row, 1..12).prop_map(move |rows| {
                let rows = rows
                    .into_iter()
                    .map(|(key, cells)| {
                        // Columnar bodies have a value in every column: null for a gap.
                        let cells = cells
                            .into_iter()
                            .map(|c| match c {
                                None if !row_wise => {
                                    Some(("null".to_owned(), serde_json::Value::Null))
                                }
                                c => c,
                            })
                            .collect();
                        (key, cells)
                    })
                    .collect();
                ModelPush {
                    row_wise,
                    columns: columns.clone(),
                    rows,
                }
            })
        })
}

/// Model push `push`'s body on `ids`.
fn model_body(push: &ModelPush, ids: &[i64]) -> String {
    let id = |key: usize| ids.get(key).copied().unwrap_or(7 + key as i64);
    if push.row_wise {
        let rows: Vec<String> = push
            .rows
            .iter()
            .map(|(key, cells)| {
                let mut fields = vec![format!("\"call_id\":{}", id(*key))];
                for (name, cell) in push.columns.iter().zip(cells) {
                    if let Some((text, _)) = cell {
                        fields.push(format!("\"{name}\":{text}"));
                    }
                }
                format!("{{{}}}", fields.join(","))
            })
            .collect();
        return format!("[{}]", rows.join(","));
    }
    let keys: Vec<String> = push.rows.iter().map(|(k, _)| id(*k).to_string()).collect();
    let mut columns = vec![format!("\"call_id\":[{}]", keys.join(","))];
    for (at, name) in push.columns.iter().enumerate() {
        let cells: Vec<&str> = push
            .rows
            .iter()
            .map(|(_, cells)| cells[at].as_ref().map_or("null", |(text, _)| text.as_str()))
            .collect();
        columns.push(format!("\"{name}\":[{}]", cells.join(",")));
    }
    format!("{{{}}}", columns.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Pushes in both shapes, with unknown and repeated keys, leave every row as the API's
    /// rules say (a model applies them cell by cell), on a fresh store and pushed again.
    #[test]
    fn pushes_leave_every_row_as_the_rules_say(pushes in prop::collection::vec(model_push(), 1..6)) {
        let pristine = fresh_store(20);
        let mut s = fresh_store(20);
        let ids: Vec<i64> = s.calls.iter().map(|c| c.call_id).collect();
        let mut model: std::collections::HashMap<(usize, &str), serde_json::Value> =
            std::collections::HashMap::new();
        let mut attributes: Vec<&str> = Vec::new();
        for push in &pushes {
            let changes = update::parse(model_body(push, &ids).as_bytes(), Target::Calls).unwrap();
            let answer = update::apply(&mut s, changes);
            let known = push.rows.iter().filter(|(k, _)| *k < ids.len()).count();
            prop_assert_eq!(&answer["updated"], known);
            let unknown: Vec<i64> = push
                .rows
                .iter()
                .filter(|(k, _)| *k >= ids.len())
                .map(|(k, _)| 7 + *k as i64)
                .collect();
            prop_assert_eq!(&answer["not_found"], &serde_json::json!(unknown));
            // A row-wise body names the columns some row has, in order of first appearance.
            let mut named: Vec<usize> = Vec::new();
            for (_, cells) in &push.rows {
                for (c, cell) in cells.iter().enumerate() {
                    if cell.is_some() && !named.contains(&c) {
                        named.push(c);
                    }
                }
            }
            for &c in &named {
                let name = push.columns[c];
                let mut set = false;
                for (key, cells) in push.rows.iter().filter(|(k, _)| *k < ids.len()) {
                    match &cells[c] {
                        Some((_, value)) if !value.is_null() || push.row_wise => {
                            model.insert((*key, name), value.clone());
                            set = true;
                        }
                        None => {
                            model.insert((*key, name), serde_json::Value::Null);
                            set = true;
                        }
                        Some(_) => {}
                    }
                }
                if set && !super::render::CALL_COLUMNS.contains(&name) && !attributes.contains(&name) {
                    attributes.push(name);
                }
            }
        }
        let names: Vec<&str> = s.call_attributes.iter().map(|a| &**a).collect();
        prop_assert_eq!(names, attributes);
        let mut rows = Vec::new();
        for index in 0..ids.len() {
            let row = s.call_row(index);
            let got: serde_json::Value = serde_json::from_slice(&row).unwrap();
            let mut want: serde_json::Value = serde_json::from_slice(&pristine.call_row(index)).unwrap();
            for ((key, name), value) in &model {
                if *key == index {
                    want[*name] = value.clone();
                }
            }
            prop_assert_eq!(got, want, "row {}", index);
            rows.push(row);
        }
        // A page shows the same rows.
        prop_assert_eq!(s.call_pieces(0..ids.len()).join(&b","[..]), rows.join(&b","[..]));
    }
}

/// A call id past int64 is told as out of the ids' range, not as no integer (outside trial 58
/// N4: "must be an integer, got 18446744073709551615"); a text id is told it is no integer.
#[test]
fn a_call_id_past_int64_is_named_out_of_range() {
    for (id, says) in [
        (
            "18446744073709551615",
            "from -2^63 to 2^63-1, got 18446744073709551615",
        ),
        (
            "\"7\"",
            "must be an integer from -2^63 to 2^63-1, got \"7\"",
        ),
    ] {
        let body = format!(r#"{{"call_id":[{id}],"x":[1]}}"#);
        let Err(err) = update::parse(body.as_bytes(), Target::Calls) else {
            panic!("{id} taken as a call id");
        };
        assert!(err.message.contains(says), "{}", err.message);
    }
}
