//! One float rule on every fetch path (`forced::float_change`): a number is kept as sent or
//! refused/warned of, never changed without a word. Inference without `schema=` keeps a number
//! Float64 would change as text with a warning naming it (outside trial 18:
//! `9007199254740993.0`, `1e-400` and `2.4703282292062328e-324` came back rounded, unsaid);
//! `schema=` with `float64` refuses it.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_schema::DataType;
use proptest::prelude::*;

use super::forced::{float64_keeps_at_a_glance, float_change};
use super::tests::{column_text, try_page};
use super::{DecodeOptions, DecodedTable, FetchDecoder};

/// `pages` fetched with `schema=` (`forced`), or the error's text.
fn fetch(pages: &[String], forced: &[(String, DataType)]) -> Result<DecodedTable, String> {
    let fetch = FetchDecoder::new(DecodeOptions {
        schema_overrides: forced.to_vec(),
        ..DecodeOptions::default()
    });
    let pages = pages
        .iter()
        .map(|b| try_page(&fetch, b.as_bytes(), &[]).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    fetch.finish(pages, None).map_err(|e| e.to_string())
}

fn type_of(t: &DecodedTable) -> DataType {
    t.schema.field_with_name("x").unwrap().data_type().clone()
}

#[test]
fn inference_keeps_numbers_float64_would_change_as_text_and_names_one() {
    for (number, held) in [
        ("9007199254740993.0", "9007199254740992"),
        ("-9.007199254740993e15", "-9007199254740992"),
        ("100000000000000000000000.0", "99999999999999991611392"),
        ("1e-400", "0"),
        ("2.4703282292062328e-324", "5e-324"),
    ] {
        // Alone, beside an integer, and on a page after one of floats (the fast path's, which
        // must hand the page back).
        for pages in [
            vec![format!(r#"[{{"x":{number}}},{{"x":2}}]"#)],
            vec![
                r#"[{"x":2}]"#.to_owned(),
                format!(r#"[{{"x":{number}}},{{"x":null}}]"#),
            ],
        ] {
            let t = fetch(&pages, &[]).unwrap();
            assert_eq!(type_of(&t), DataType::Utf8, "{pages:?}");
            assert!(
                column_text(&t, "x").contains(&number.to_owned()),
                "{pages:?}"
            );
            assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
            let warning = &t.warnings[0];
            assert!(
                warning.contains("column `x`")
                    && warning.contains(&format!("{number} would be held as {held}"))
                    && warning.contains("decoded as strings"),
                "{warning}"
            );
        }
        let pages = [
            r#"[{"x":1.5}]"#.to_owned(),
            format!(r#"[{{"x":{number}}}]"#),
        ];
        let t = fetch(&pages, &[]).unwrap();
        assert_eq!(type_of(&t), DataType::Utf8);
        assert_eq!(column_text(&t, "x"), ["1.5", number]);
        assert!(t.warnings[0].contains(number), "{:?}", t.warnings);
        // `schema=` with float64 refuses it; with string keeps it without a word.
        let forced = [("x".to_owned(), DataType::Float64)];
        let err = fetch(&pages, &forced).map(|_| ()).unwrap_err();
        assert!(err.contains(number), "{err}");
        let forced = [("x".to_owned(), DataType::Utf8)];
        let t = fetch(&pages, &forced).unwrap();
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    }
}

/// The warning names one number whichever order the pages come in.
#[test]
fn the_number_named_does_not_depend_on_page_order() {
    let a = r#"[{"x":9007199254740993.0}]"#.to_owned();
    let b = r#"[{"x":1e-400}]"#.to_owned();
    let one = fetch(&[a.clone(), b.clone()], &[]).unwrap().warnings;
    let other = fetch(&[b, a], &[]).unwrap().warnings;
    assert_eq!(one, other);
    assert!(one[0].contains("1e-400 would be held as 0"), "{one:?}");
}

#[test]
fn numbers_float64_keeps_stay_float64_without_a_warning() {
    let kept = [
        "0.1",
        "0.30000000000000004",
        "1e23",
        "6.02e23",
        "1.7976931348623157e308",
        "5e-324",
        "2.2250738585072014e-308",
        "123456789012345678.5",
        "1.2345678901234567e-5",
        "9007199254740992.0",
        "-0.0",
        "0e-999",
    ];
    let body: Vec<String> = kept.iter().map(|n| format!(r#"{{"x":{n}}}"#)).collect();
    let t = fetch(&[format!("[{}]", body.join(","))], &[]).unwrap();
    assert_eq!(type_of(&t), DataType::Float64);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
}

/// A number spelled as a server may spell it: digits around a point, an exponent, lengths
/// past a Float64's 17 digits, near 2^53, near its range's ends.
fn spelling() -> impl Strategy<Value = String> {
    let digits = |n| {
        prop::collection::vec(
            prop_oneof![3 => Just('0'), 5 => proptest::char::range('0', '9'), 1 => Just('9')],
            1..n,
        )
    };
    (
        any::<bool>(),
        digits(30),
        prop::option::of(digits(30)),
        prop::option::of(prop_oneof![-400i32..=400, -330i32..=-300, 290i32..=310]),
    )
        .prop_map(|(negative, whole, fraction, exponent)| {
            let mut whole: String = whole.into_iter().collect();
            // JSON's grammar: no leading zero before more digits.
            let trimmed = whole.trim_start_matches('0');
            whole = if trimmed.is_empty() {
                "0".into()
            } else {
                trimmed.into()
            };
            let sign = if negative { "-" } else { "" };
            let fraction = fraction.map_or(String::new(), |f| format!(".{}", String::from_iter(f)));
            let exponent = exponent.map_or(String::new(), |e| format!("e{e}"));
            format!("{sign}{whole}{fraction}{exponent}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The glance never keeps what the rule changes.
    #[test]
    fn a_glance_keeps_only_what_the_rule_keeps(number in spelling()) {
        if float64_keeps_at_a_glance(number.as_bytes()) {
            prop_assert_eq!(float_change(&number, false), None, "{}", number);
        }
    }

    /// Inference and a fetch forcing float64 agree with the rule, and with each other: a
    /// number is Float64 holding the value its spelling reads as, or text as sent with a
    /// warning naming it (inference), or refused (forced).
    #[test]
    fn fetch_paths_keep_each_number_or_say_so(number in spelling(), float_page in any::<bool>()) {
        // An integer is inference's Int64 (or text past int64), not a float.
        prop_assume!(number.contains(['.', 'e']));
        let mut pages = vec![format!(r#"[{{"x":{number}}}]"#)];
        if float_page {
            pages.insert(0, r#"[{"x":0.5}]"#.to_owned());
        }
        let changed = float_change(&number, false).is_some();
        let inferred = fetch(&pages, &[]).unwrap();
        let forced = fetch(&pages, &[("x".to_owned(), DataType::Float64)]);
        if changed {
            prop_assert_eq!(type_of(&inferred), DataType::Utf8);
            let text = column_text(&inferred, "x");
            prop_assert_eq!(text.last(), Some(&number));
            prop_assert!(inferred.warnings.iter().any(|w| w.contains(&number)), "{:?}", inferred.warnings);
            prop_assert!(forced.is_err(), "{}", number);
        } else {
            prop_assert_eq!(type_of(&inferred), DataType::Float64, "{}", number);
            prop_assert!(inferred.warnings.is_empty(), "{:?}", inferred.warnings);
            let expected: f64 = number.parse().unwrap();
            for t in [&inferred, forced.as_ref().unwrap()] {
                let batch = arrow_select::concat::concat_batches(&t.schema, &t.batches).unwrap();
                let got = batch.column_by_name("x").unwrap().as_primitive::<Float64Type>();
                prop_assert_eq!(got.value(got.len() - 1).to_bits(), expected.to_bits(), "{}", number);
            }
        }
    }
}

/// The cost of the rule in inference, per float literal: `float_bits` on literals as servers
/// write them (short decimals, 17-digit reprs, exponents), against parsing each with
/// lexical-core (what a Float64 column's decode does anyway). Run it with
/// `cargo test --release --lib -- --ignored --nocapture float_bits_cost`.
#[test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
#[allow(clippy::print_stdout)]
fn float_bits_cost() {
    use std::time::Instant;
    let literals: Vec<String> = (0..1_000_000u64)
        .map(|i| match i % 4 {
            0 => format!("{:.3}", (i % 2000) as f64 / 1000.0 - 1.0),
            1 => format!("{}", (i as f64).sqrt() / 7.0),
            2 => format!("{:e}", (i as f64 + 0.5) * 1e-9),
            _ => format!("{}.5", i * 1_000_003),
        })
        .collect();
    let time = |what: &str, f: &dyn Fn(&[u8]) -> u64| {
        let start = Instant::now();
        let mut sum = 0;
        for _ in 0..5 {
            sum += literals.iter().map(|l| f(l.as_bytes())).sum::<u64>();
        }
        let ns = start.elapsed().as_nanos() as f64 / (5.0 * literals.len() as f64);
        println!("{what:<40} {ns:6.1} ns per literal ({sum})");
    };
    time("float_bits (the rule)", &|b| {
        u64::from(super::classify::float_bits(b))
    });
    // Before the rule: only a literal with an exponent (the scanner knew) was parsed.
    time("before the rule: range only", &|b| {
        let exponent = b.contains(&b'e');
        let finite = (!exponent && b.len() <= 308)
            || lexical_core::parse::<f64>(b).is_ok_and(f64::is_finite);
        u64::from(finite)
    });
    time("lexical-core parse (for scale)", &|b| {
        u64::from(lexical_core::parse::<f64>(b).is_ok_and(f64::is_finite))
    });
}
