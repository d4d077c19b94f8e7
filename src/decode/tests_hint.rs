//! Tests of the decoder's hint (`DecodeOptions::hint`): pages that start before any page has
//! finished speculate on the hinted schema. Whatever the hint says — exact, stale, reordered,
//! wrongly typed, with columns the rows lack — a fetch must give exactly what the reference
//! path gives without it, page for page and for the whole table.

use arrow_schema::{DataType, TimeUnit};
use bytes::Bytes;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::tests_fuzz::config;
use super::tests_gen::{cuts, mutate, pages, Shape};
use super::{DecodeOptions, DecodedPage, FetchDecoder};

type Hint = Vec<(String, DataType)>;

/// Decodes `bodies` as the first wave of a fetch does: every page starts before any finishes,
/// then they finish in order. Returns each page's result and the finished table as text.
fn first_wave(fetch: &FetchDecoder, bodies: &[Vec<u8>], seed: u64) -> Vec<Result<Page, String>> {
    let mut decoders: Vec<_> = bodies.iter().map(|_| fetch.page()).collect();
    let mut failed: Vec<Option<String>> = vec![None; bodies.len()];
    for (p, (decoder, body)) in decoders.iter_mut().zip(bodies).enumerate() {
        let body = Bytes::copy_from_slice(body);
        let mut at = 0;
        for cut in cuts(seed ^ p as u64, body.len())
            .into_iter()
            .chain([body.len()])
        {
            if let Err(e) = decoder.feed(body.slice(at..cut)) {
                failed[p] = Some(e.to_string());
                break;
            }
            at = cut;
        }
    }
    decoders
        .into_iter()
        .zip(failed)
        .map(|(decoder, failed)| match failed {
            Some(e) => Err(e),
            None => decoder.finish().map(Page::from).map_err(|e| e.to_string()),
        })
        .collect()
}

/// What must agree between the two paths (`fast` is allowed to differ).
#[derive(Debug, PartialEq)]
struct Page {
    rows: usize,
    batches: Vec<arrow_array::RecordBatch>,
    columns: super::Fields,
    fast: bool,
}

impl From<DecodedPage> for Page {
    fn from(p: DecodedPage) -> Self {
        Page {
            rows: p.rows,
            batches: p.batches,
            columns: p.columns,
            fast: p.fast,
        }
    }
}

/// Runs the first wave with `hint` and without the fast path; returns pages taken fast.
fn differential(options: &DecodeOptions, hint: Hint, bodies: &[Vec<u8>], seed: u64) -> usize {
    let hinted = FetchDecoder::new(DecodeOptions {
        hint: hint.clone(),
        ..options.clone()
    });
    let reference = FetchDecoder::reference(options.clone());
    let got = first_wave(&hinted, bodies, seed);
    let want = first_wave(&reference, bodies, seed);
    let mut fast = 0;
    let mut pages = (Vec::new(), Vec::new());
    for (p, (got, want)) in got.into_iter().zip(want).enumerate() {
        match (got, want) {
            (Ok(mut got), Ok(want)) => {
                fast += usize::from(got.fast);
                got.fast = want.fast;
                assert_eq!(got, want, "page {p} under hint {hint:?}");
                pages.0.push(DecodedPage::from_parts(got));
                pages.1.push(DecodedPage::from_parts(want));
            }
            (Err(got), Err(want)) => assert_eq!(got, want, "page {p}"),
            (got, want) => panic!("page {p}: hinted {got:?}\nreference {want:?}"),
        }
    }
    let got = hinted.finish(pages.0, None).map_err(|e| e.to_string());
    let want = reference.finish(pages.1, None).map_err(|e| e.to_string());
    match (got, want) {
        (Ok(got), Ok(want)) => {
            assert_eq!(got.schema, want.schema);
            assert_eq!(got.batches, want.batches);
            assert_eq!(got.warnings, want.warnings);
        }
        (got, want) => assert_eq!(got.err(), want.err()),
    }
    fast
}

impl DecodedPage {
    fn from_parts(p: Page) -> Self {
        DecodedPage {
            rows: p.rows,
            batches: p.batches,
            columns: p.columns,
            fast: p.fast,
        }
    }
}

/// The schema the reference path gives `bodies`, as a hint, then changed the way `change`
/// says (`None`: exact): a column dropped, two swapped, one retyped, a column the rows lack,
/// all text, or kept.
fn hint_for(options: &DecodeOptions, bodies: &[Vec<u8>], change: Option<u64>) -> Hint {
    let reference = FetchDecoder::reference(options.clone());
    let decoded: Vec<DecodedPage> = bodies
        .iter()
        .filter_map(|b| super::tests::try_page(&reference, b, &[]).ok())
        .collect();
    let Ok(table) = reference.finish(decoded, None) else {
        return vec![("id".into(), DataType::Int64)];
    };
    let mut hint: Hint = table
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let Some(change) = change else {
        return hint;
    };
    let mut rng = SmallRng::seed_from_u64(change);
    let n = hint.len();
    const TYPES: [DataType; 7] = [
        DataType::Null,
        DataType::Boolean,
        DataType::Int64,
        DataType::Float64,
        DataType::Date32,
        DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Utf8,
    ];
    match rng.random_range(0..6) {
        1 if n > 0 => drop(hint.remove(rng.random_range(0..n))),
        2 if n > 1 => hint.swap(0, n - 1),
        3 if n > 0 => hint[rng.random_range(0..n)].1 = TYPES[rng.random_range(0..7)].clone(),
        4 => hint.push(("not_sent".into(), TYPES[rng.random_range(0..7)].clone())),
        5 => hint.iter_mut().for_each(|c| c.1 = DataType::Utf8),
        _ => {}
    }
    hint
}

fn options(seed: u64) -> DecodeOptions {
    DecodeOptions {
        parse_dates: seed % 3 != 0,
        batch_size: 1 + (seed % 5) as usize,
        ..DecodeOptions::default()
    }
}

const STABLE: Shape = Shape {
    drift: 0.0,
    nested: false,
    complete: true,
    absent: 0.0,
};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_hint_gives_the_reference_result(seed: u64, drift in 0.0..0.5f64, nested: bool) {
        let options = options(seed);
        let bodies = pages(seed, Shape { drift, nested, complete: seed % 2 == 0, absent: if seed % 2 == 0 { 0.0 } else { 0.15 } });
        let hint = hint_for(&options, &bodies, Some(seed >> 3));
        differential(&options, hint, &bodies, seed);
    }

    #[test]
    fn any_hint_fails_a_bad_page_as_the_reference(seed: u64, mutation: u64) {
        let options = options(seed);
        let mut bodies = pages(seed, STABLE);
        let hint = hint_for(&options, &bodies, Some(mutation >> 7));
        let target = (mutation % bodies.len() as u64) as usize;
        mutate(mutation, &mut bodies[target]);
        differential(&options, hint, &bodies, seed);
    }
}

#[test]
fn an_exact_hint_puts_the_first_wave_on_the_fast_path() {
    // Without this, the differential above could pass with a hint that is never used.
    let (mut taken, mut pages_seen) = (0, 0);
    for seed in 0..64 {
        let options = options(seed);
        let bodies = pages(seed, STABLE);
        let hint = hint_for(&options, &bodies, None);
        pages_seen += bodies.len();
        taken += differential(&options, hint, &bodies, seed);
    }
    // 51 of 163 take it: the generator also makes pages no schema fits the fast path (big
    // integers, mixed columns, empty pages), which decline with a real schema too.
    assert!(
        taken >= 40,
        "{taken} of {pages_seen} pages took the fast path"
    );
}

#[test]
fn a_hint_with_a_column_the_page_never_fills_is_not_kept() {
    // `n` is null on every row: the reference types it Null; a hint saying Utf8 must not
    // leave a Utf8 column behind (`differential` compares with the reference). The fast page
    // stands: it is cast to its own types, where `n` is Null.
    let body = br#"[{"id":1,"n":null},{"id":2,"n":null}]"#.to_vec();
    let hint = vec![("id".into(), DataType::Int64), ("n".into(), DataType::Utf8)];
    assert_eq!(differential(&DecodeOptions::default(), hint, &[body], 1), 1);
    let body = br#"[{"id":1,"n":null},{"id":2,"n":"x"}]"#.to_vec();
    let hint = vec![("id".into(), DataType::Int64), ("n".into(), DataType::Utf8)];
    assert_eq!(differential(&DecodeOptions::default(), hint, &[body], 1), 1);
}

#[test]
fn an_empty_first_page_under_a_hint_adds_no_columns() {
    let hint = vec![("id".into(), DataType::Int64)];
    let fetch = FetchDecoder::new(DecodeOptions {
        hint,
        ..DecodeOptions::default()
    });
    let page = super::tests::try_page(&fetch, b"[]", &[]).unwrap();
    let table = fetch.finish(vec![page], None).unwrap();
    assert_eq!(table.schema.fields().len(), 0);
    assert_eq!(fetch.current_schema(), None);
}
