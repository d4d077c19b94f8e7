//! The values and warnings of a fetch are a function of its pages' contents, never of the
//! order in which pages started or finished decoding (outside trial 16: `9007199254740993` on
//! an integer page came back rounded when its page decoded after a float page had made the
//! column Float64, exact when it decoded first, from run to run).
//!
//! A page's result depends on the shared schema when it starts (the snapshot it decodes
//! under) and the pages merged before it finishes, so a schedule here is an interleaving of
//! every page's start and finish. Each schedule is run with the pager's decoders (which ask
//! for a page to be read again when the fast path declines), with the keeping ones, and with
//! a hint (so first pages take the fast path), and must give the same eager table, the same
//! stream (pages conformed in page order as `Listing::streamed` does) and the same warnings
//! as the pages decoded one by one in page order. The eager table is also checked against
//! what was sent: no value may change without a warning naming its column.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use arrow_select::concat::concat_batches;
use bytes::Bytes;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::tests_fuzz::config;
use super::tests_oracle::{date_days, ts_micros};
use super::{conform_batch, DecodeOptions, DecodedPage, FetchDecoder, PageColumns};

/// One event of a schedule: a page's decoder is made (and fed), or finished.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    Start(usize),
    Finish(usize),
}

/// How a schedule's pages are decoded.
#[derive(Clone, Copy, Debug)]
enum Way {
    /// `FetchDecoder::page`: keeps the body.
    Keeping,
    /// As the pager does: `page_read_again`, then `page` if that asks to be read again.
    Pager,
}

/// Every interleaving where each page starts before it finishes, if there are few enough;
/// else `random` of them (plus page order and its reverse).
pub(crate) fn schedules(pages: usize, random: usize, seed: u64) -> Vec<Vec<Event>> {
    let mut all = Vec::new();
    if pages <= 3 {
        let mut events = Vec::new();
        interleavings(pages, &mut vec![0; pages], &mut events, &mut all);
        return all;
    }
    let in_order = (0..pages).flat_map(|p| [Event::Start(p), Event::Finish(p)]);
    all.push(in_order.collect());
    let reversed = (0..pages)
        .rev()
        .flat_map(|p| [Event::Start(p), Event::Finish(p)]);
    all.push(reversed.collect());
    let mut rng = SmallRng::seed_from_u64(seed);
    for _ in 0..random {
        // 0: not started, 1: started, 2: finished.
        let mut state = vec![0u8; pages];
        let mut events = Vec::new();
        while state.iter().any(|&s| s < 2) {
            let open: Vec<usize> = (0..pages).filter(|&p| state[p] < 2).collect();
            let p = open[rng.random_range(0..open.len())];
            events.push(match state[p] {
                0 => Event::Start(p),
                _ => Event::Finish(p),
            });
            state[p] += 1;
        }
        all.push(events);
    }
    all
}

fn interleavings(
    pages: usize,
    state: &mut Vec<u8>,
    events: &mut Vec<Event>,
    all: &mut Vec<Vec<Event>>,
) {
    if state.iter().all(|&s| s == 2) {
        all.push(events.clone());
        return;
    }
    for p in 0..pages {
        if state[p] == 2 {
            continue;
        }
        events.push(match state[p] {
            0 => Event::Start(p),
            _ => Event::Finish(p),
        });
        state[p] += 1;
        interleavings(pages, state, events, all);
        state[p] -= 1;
        events.pop();
    }
}

/// Everything a fetch hands out: the eager table, the stream's pages, and both's warnings.
#[derive(Debug, PartialEq)]
struct Outcome {
    schema: SchemaRef,
    table: RecordBatch,
    warnings: Vec<String>,
    streamed: Vec<RecordBatch>,
    stream_warnings: Vec<String>,
}

/// Decodes `bodies` following `schedule`; each body is fed in two pieces.
fn run(options: &DecodeOptions, bodies: &[String], schedule: &[Event], way: Way) -> Outcome {
    let fetch = FetchDecoder::new(options.clone());
    let mut open: Vec<Option<super::PageDecoder>> = bodies.iter().map(|_| None).collect();
    let mut done: Vec<Option<DecodedPage>> = vec![None; bodies.len()];
    let feed = |decoder: &mut super::PageDecoder, body: &str| -> crate::Result<()> {
        let body = Bytes::copy_from_slice(body.as_bytes());
        let half = body.len() / 2;
        decoder.feed(body.slice(..half))?;
        decoder.feed(body.slice(half..))
    };
    for event in schedule {
        match *event {
            Event::Start(p) => {
                let mut decoder = match way {
                    Way::Keeping => fetch.page(),
                    Way::Pager => fetch.page_read_again(),
                };
                // A decline while feeding surfaces at `finish` below as well.
                let fed = feed(&mut decoder, &bodies[p]);
                open[p] = Some(decoder).filter(|_| fed.is_ok());
            }
            Event::Finish(p) => {
                let finished = match open[p].take() {
                    Some(decoder) => decoder.finish(),
                    None => Err(crate::Error::ReadAgain),
                };
                let page = match finished {
                    Err(crate::Error::ReadAgain) => {
                        // The pager reads the page again with a decoder that keeps it.
                        let mut again = fetch.page();
                        feed(&mut again, &bodies[p]).expect("the page decodes");
                        again.finish()
                    }
                    other => other,
                };
                done[p] = Some(page.expect("the page decodes"));
            }
        }
    }
    let pages: Vec<DecodedPage> = done.into_iter().map(|p| p.expect("finished")).collect();
    let mut seen = PageColumns::default();
    let mut streamed = Vec::new();
    for page in &pages {
        let schema = fetch.merged_schema(&mut seen, page);
        for batch in &page.batches {
            streamed.push(conform_batch(batch, &schema).expect("conforms"));
        }
    }
    let stream_warnings = fetch.stream_warnings(&seen);
    let table = fetch.finish(pages, None).expect("finishes");
    Outcome {
        table: concat_batches(&table.schema, &table.batches).expect("concat"),
        schema: table.schema,
        warnings: table.warnings,
        streamed,
        stream_warnings,
    }
}

/// Runs every schedule every way; asserts all give the in-order result, which is returned.
fn same_in_every_order(options: &DecodeOptions, bodies: &[String], seed: u64) -> Outcome {
    let pages = bodies.len();
    let in_order: Vec<Event> = (0..pages)
        .flat_map(|p| [Event::Start(p), Event::Finish(p)])
        .collect();
    let want = run(options, bodies, &in_order, Way::Keeping);
    let hinted = DecodeOptions {
        hint: want
            .schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect(),
        ..options.clone()
    };
    for schedule in schedules(pages, 12, seed) {
        for way in [Way::Keeping, Way::Pager] {
            for options in [options, &hinted] {
                let got = run(options, bodies, &schedule, way);
                let at = || {
                    format!(
                        "pages {bodies:#?} decoded in {schedule:?}, {way:?}, hint {:?}",
                        options.hint
                    )
                };
                assert_eq!(got.schema, want.schema, "{}", at());
                assert_eq!(got.warnings, want.warnings, "{}", at());
                assert_eq!(got.stream_warnings, want.stream_warnings, "{}", at());
                assert_eq!(got.table, want.table, "{}", at());
                assert_eq!(got.streamed, want.streamed, "{}", at());
            }
        }
    }
    want
}

/// `pages` of `{"id":…,"x":…}` rows, the values given as JSON text (`None`: no `x` key).
fn bodies(pages: &[&[Option<&str>]]) -> Vec<String> {
    let mut id = 0;
    pages
        .iter()
        .map(|values| {
            let rows: Vec<String> = values
                .iter()
                .map(|v| {
                    id += 1;
                    match v {
                        Some(v) => format!(r#"{{"id":{id},"x":{v}}}"#),
                        None => format!(r#"{{"id":{id}}}"#),
                    }
                })
                .collect();
            format!("[{}]", rows.join(","))
        })
        .collect()
}

fn text(outcome: &Outcome, name: &str) -> Vec<String> {
    let column = outcome.table.column_by_name(name).expect("column");
    let options = arrow_cast::display::FormatOptions::default().with_null("null");
    let f = arrow_cast::display::ArrayFormatter::try_new(column.as_ref(), &options).unwrap();
    (0..column.len()).map(|i| f.value(i).to_string()).collect()
}

/// The outside trial's pages: an integer beyond 2^53, a float, then text.
#[test]
fn an_integer_beyond_2_53_is_exact_in_text_in_every_decode_order() {
    let pages = bodies(&[
        &[Some("9007199254740993")],
        &[Some("1.5")],
        &[Some(r#""x""#)],
    ]);
    let got = same_in_every_order(&DecodeOptions::default(), &pages, 1);
    assert_eq!(text(&got, "x"), ["9007199254740993", "1.5", "x"]);
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    assert!(got.warnings[0].contains("`x`"), "{:?}", got.warnings);
    assert!(!got.warnings[0].contains("rounded"), "{:?}", got.warnings);
}

/// Without the text the column is Float64: the integer is rounded in every order, and the
/// warning says so in every order.
#[test]
fn an_integer_beyond_2_53_beside_floats_is_rounded_alike_and_said() {
    let pages = bodies(&[&[Some("9007199254740993")], &[Some("1.5")]]);
    let got = same_in_every_order(&DecodeOptions::default(), &pages, 2);
    assert_eq!(got.schema.field(1).data_type(), &DataType::Float64);
    assert_eq!(text(&got, "x"), ["9007199254740992.0", "1.5"]);
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    assert!(
        got.warnings[0].contains("`x`") && got.warnings[0].contains("Float64 rounds"),
        "{:?}",
        got.warnings
    );
}

/// The same integer on the float's own page, and text on a later page: exact as sent (a
/// Float64 page would have rounded it before the text showed).
#[test]
fn an_integer_beyond_2_53_on_a_float_page_stays_exact_when_the_column_ends_as_text() {
    let pages = bodies(&[
        &[Some("1.5"), Some("9007199254740993"), Some("101")],
        &[Some("2")],
        &[Some(r#""x""#), None],
    ]);
    let got = same_in_every_order(&DecodeOptions::default(), &pages, 3);
    assert_eq!(
        text(&got, "x"),
        ["1.5", "9007199254740993", "101", "2", "x", "null"]
    );
    // The same pages without the text: one Float64 column, rounded, said.
    let got = same_in_every_order(&DecodeOptions::default(), &pages[..2], 4);
    assert_eq!(
        text(&got, "x"),
        ["1.5", "9007199254740992.0", "101.0", "2.0"]
    );
    assert!(
        got.warnings[0].contains("Float64 rounds"),
        "{:?}",
        got.warnings
    );
}

/// Dates on their own page, timestamps on another, text on a third: a date page decoded
/// under a Timestamp schema was printed with a midnight time in a text column, or not. Every
/// order keeps each value as sent, with or without the text page (dates beside times are
/// text: outside trial 17 F6).
#[test]
fn dates_print_alike_whichever_page_decoded_first() {
    let pages = bodies(&[
        &[Some(r#""2025-01-02""#)],
        &[Some(r#""2025-01-03 04:05:06""#)],
        &[Some(r#""later""#)],
    ]);
    let got = same_in_every_order(&DecodeOptions::default(), &pages, 5);
    assert_eq!(
        text(&got, "x"),
        ["2025-01-02", "2025-01-03 04:05:06", "later"]
    );
    assert!(
        !got.warnings[0].contains("re-printed"),
        "{:?}",
        got.warnings
    );
    let got = same_in_every_order(&DecodeOptions::default(), &pages[..2], 5);
    assert_eq!(text(&got, "x"), ["2025-01-02", "2025-01-03 04:05:06"]);
    assert_eq!(
        got.schema.field_with_name("x").unwrap().data_type(),
        &DataType::Utf8
    );
}

/// Integers, and integers beside floats, on pages of a column a later page turns to text:
/// the integers' page prints them bare, the floats' page as Float64 does, in every order.
#[test]
fn numbers_print_alike_whichever_page_decoded_first() {
    let pages = bodies(&[
        &[Some("10"), None],
        &[Some("2.5"), Some("3")],
        &[Some(r#""a""#), Some("7")],
        &[Some("true")],
    ]);
    let got = same_in_every_order(&DecodeOptions::default(), &pages, 6);
    assert_eq!(
        text(&got, "x"),
        ["10", "null", "2.5", "3.0", "a", "7", "true"]
    );
}

/// A value of a generated column, as JSON text.
fn value(rng: &mut SmallRng) -> Option<String> {
    const VALUES: &[&str] = &[
        "null",
        "0",
        "101",
        "-7",
        "9007199254740992",
        "9007199254740993",
        "-9007199254740995",
        "123456789012345678",
        "9223372036854775807",
        "92233720368547758070",
        "1.5",
        "2.50",
        "1e3",
        "-0.25",
        r#""x""#,
        r#""007""#,
        r#""2025-01-02""#,
        r#""2025-01-02T03:04:05""#,
        r#""2025-01-02 03:04:05""#,
        r#""2025-01-02 03:04:05.000001""#,
        "true",
    ];
    // Mostly numbers: the mixes that widen a column are the point.
    match rng.random_range(0..10) {
        0 => None,
        1..=6 => Some(VALUES[rng.random_range(0..10)].to_owned()),
        _ => Some(VALUES[rng.random_range(0..VALUES.len())].to_owned()),
    }
}

/// 2 to 4 pages of 1 to 3 rows with columns `a` and `b`, each page's values drawn from a
/// few of the kinds above (so pages differ in type, as attribute columns do).
fn generated(seed: u64) -> Vec<String> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let pages = rng.random_range(2..=4);
    let mut id = 0;
    (0..pages)
        .map(|_| {
            let rows = rng.random_range(1..=3);
            let rows: Vec<String> = (0..rows)
                .map(|_| {
                    id += 1;
                    let mut row = format!(r#"{{"id":{id}"#);
                    for name in ["a", "b"] {
                        if let Some(v) = value(&mut rng) {
                            row.push_str(&format!(r#","{name}":{v}"#));
                        }
                    }
                    row.push('}');
                    row
                })
                .collect();
            format!("[{}]", rows.join(","))
        })
        .collect()
}

/// The values sent in column `name`, row by row (`None`: null or no key).
fn sent(bodies: &[String], name: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for body in bodies {
        let rows: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_str(body).expect("valid");
        for row in rows {
            out.push(match row.get(name) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(format!("\"{s}\"")),
                Some(v) => Some(v.to_string()),
            });
        }
    }
    out
}

/// Raw JSON text of every value sent in `name` (serde_json would re-print numbers).
fn sent_raw(bodies: &[String], name: &str) -> Vec<Option<String>> {
    let key = format!(r#""{name}":"#);
    let mut out = Vec::new();
    for body in bodies {
        for row in body.trim_matches(['[', ']']).split("},{") {
            out.push(row.find(&key).and_then(|at| {
                let rest = &row[at + key.len()..];
                let end = rest.find([',', '}']).unwrap_or(rest.len());
                Some(rest[..end].to_owned()).filter(|v| v != "null")
            }));
        }
    }
    out
}

/// No value of `name` differs from what was sent unless a warning names the column and says
/// how: an integer's digits are never changed in text, and an integer rounded by Float64 is
/// always said.
fn check_sent(bodies: &[String], got: &Outcome, name: &str) -> Result<(), String> {
    let Some(column) = got.table.column_by_name(name) else {
        return Ok(());
    };
    let warning = got
        .warnings
        .iter()
        .find(|w| w.contains(&format!("`{name}`")));
    let said = |words: &str| warning.is_some_and(|w| w.contains(words));
    let raw = sent_raw(bodies, name);
    assert_eq!(raw.len(), sent(bodies, name).len());
    for (row, want) in raw.iter().enumerate() {
        let bad = |got: String| Err(format!("`{name}` row {row}: {got}, sent {want:?}"));
        let Some(want) = want else {
            if column.data_type() != &DataType::Null && column.is_valid(row) {
                return bad("a value".into());
            }
            continue;
        };
        if column.data_type() == &DataType::Null || column.is_null(row) {
            return bad("null".into());
        }
        let integer = !want.starts_with(['"', 't', 'f']) && !want.contains(['.', 'e']);
        match column.data_type() {
            DataType::Int64 => {
                let v = column.as_primitive::<Int64Type>().value(row);
                if want.parse::<i64>() != Ok(v) {
                    return bad(v.to_string());
                }
            }
            DataType::Float64 => {
                let v = column.as_primitive::<Float64Type>().value(row);
                if want.parse::<f64>() != Ok(v) {
                    return bad(v.to_string());
                }
                let exact = want.parse::<i128>().is_ok_and(|i| i == v as i128);
                if integer && !exact && !said("Float64 rounds") {
                    return bad(format!("{v} (rounded, unsaid: {warning:?})"));
                }
            }
            DataType::Utf8 => {
                let v = column.as_string::<i32>().value(row);
                let as_sent = match want.strip_prefix('"') {
                    Some(s) => v == s.trim_end_matches('"'),
                    None => v == want,
                };
                // A number on a page of floats is printed as Float64 prints it, said; an
                // integer keeps its digits even then.
                let float_print = !want.starts_with('"')
                    && want.parse::<f64>().ok() == v.parse::<f64>().ok()
                    && (!integer || v == format!("{want}.0"))
                    && said("as Float64 prints them");
                // Dates and times are never re-printed: only spellings that print back as
                // sent are decoded as such.
                if !(as_sent || float_print) {
                    return bad(format!("{v:?} (warning {warning:?})"));
                }
            }
            DataType::Date32 => {
                let v = column
                    .as_primitive::<arrow_array::types::Date32Type>()
                    .value(row);
                if date_days(want.trim_matches('"')) != Some(v) {
                    return bad(v.to_string());
                }
            }
            DataType::Timestamp(..) => {
                let v = column
                    .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
                    .value(row);
                let s = want.trim_matches('"');
                let day = date_days(s).map(|d| i64::from(d) * 86_400_000_000);
                if ts_micros(s).or(day) != Some(v) {
                    return bad(v.to_string());
                }
            }
            DataType::Boolean => {
                if column.as_boolean().value(row) != (want == "true") {
                    return bad("a boolean".into());
                }
            }
            other => return bad(format!("a {other} column")),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Generated pages mixing integers (within and beyond 2^53 and i64), floats, text, dates,
    /// booleans and nulls: every schedule gives the same result, and nothing changed unsaid.
    #[test]
    fn mixed_pages_give_one_result_in_every_order_and_change_nothing_unsaid(seed: u64) {
        let pages = generated(seed);
        let options = DecodeOptions {
            batch_size: 1 + (seed % 3) as usize,
            ..DecodeOptions::default()
        };
        let got = same_in_every_order(&options, &pages, seed);
        for name in ["a", "b"] {
            check_sent(&pages, &got, name)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{pages:#?}\n{:?}", got.warnings)))?;
        }
    }
}

/// The stream's per-page schema is the eager one's by the last page (a check that `run`
/// compares something real).
#[test]
fn the_stream_ends_at_the_eager_schema() {
    let pages = bodies(&[&[Some("1")], &[Some("2.5")], &[Some(r#""s""#)]]);
    let got = same_in_every_order(&DecodeOptions::default(), &pages, 7);
    let last: Arc<_> = got.streamed.last().expect("a batch").schema();
    assert_eq!(last, got.schema);
    assert_eq!(got.streamed.len(), 3);
}
