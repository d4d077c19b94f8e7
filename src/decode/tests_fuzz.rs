//! Differential fuzzing: the decoder (framing + classifier + decoder) against the serde_json
//! reference in `tests_oracle.rs`, on generated and mutated pages fed in random chunks and
//! decoded in a random page order. Properties: never a panic, and either the reference's result
//! or a typed decode error (generated pages, which are valid, must decode).
//!
//! Cases per property default to 64 (a few seconds in release); set `PROPTEST_CASES` for more
//! and `PROPTEST_SEED` for other cases than the fixed default.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use super::tests::try_page;
use super::tests_gen::{cuts, mutate, pages, Shape};
use super::tests_oracle::{check, expect, models};
use super::{DecodeOptions, DecodedTable, FetchDecoder};

pub(super) fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    // A fixed seed in `make test` so CI is reproducible; PROPTEST_SEED explores other cases.
    let seed = std::env::var("PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// Decodes `bodies` as one fetch: pages decoded in the order given by `order_seed` (so some
/// stream under a schema and some decode at `finish`), each cut at random points.
pub(super) fn decode_fetch(
    options: &DecodeOptions,
    bodies: &[Vec<u8>],
    seed: u64,
) -> crate::Result<DecodedTable> {
    let fetch = FetchDecoder::new(options.clone());
    let mut order: Vec<usize> = (0..bodies.len()).collect();
    order.rotate_left(seed as usize % bodies.len().max(1));
    if seed & 1 == 1 {
        order.reverse();
    }
    let mut decoded: Vec<Option<super::DecodedPage>> = vec![None; bodies.len()];
    for &p in &order {
        let body = &bodies[p];
        let cut = cuts(seed ^ p as u64, body.len());
        decoded[p] = Some(try_page(&fetch, body, &cut)?);
    }
    let pages = decoded.into_iter().map(|p| p.expect("decoded")).collect();
    fetch.finish(pages, None)
}

fn show(bodies: &[Vec<u8>]) -> String {
    let pages: Vec<String> = bodies
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    format!("{pages:#?}")
}

/// Generated pages decode, to what the reference says.
fn generated_matches(seed: u64, shape: Shape, parse_dates: bool) -> Result<(), TestCaseError> {
    let bodies = pages(seed, shape);
    let want = expect(&bodies, parse_dates).expect("generated pages are valid JSON");
    let options = DecodeOptions {
        parse_dates,
        batch_size: 1 + (seed % 5) as usize,
        ..DecodeOptions::default()
    };
    let table = decode_fetch(&options, &bodies, seed)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{}", show(&bodies))))?;
    check(&table, &want).map_err(|e| TestCaseError::fail(format!("{e}\n{}", show(&bodies))))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn flat_drifting_pages_match_the_reference(seed: u64, parse_dates: bool) {
        generated_matches(seed, Shape { drift: 0.3, nested: false, complete: false, absent: 0.15 }, parse_dates)?;
    }

    #[test]
    fn stable_pages_match_the_reference(seed: u64) {
        generated_matches(seed, Shape { drift: 0.0, nested: false, complete: false, absent: 0.15 }, true)?;
    }

    #[test]
    fn nested_pages_match_the_reference(seed: u64) {
        generated_matches(seed, Shape { drift: 0.3, nested: true, complete: false, absent: 0.15 }, true)?;
    }

    #[test]
    fn mutated_pages_decode_as_the_reference_or_fail_typed(seed: u64, mutation: u64) {
        let mut bodies = pages(seed, Shape { drift: 0.2, nested: true, complete: false, absent: 0.15 });
        let target = (mutation % bodies.len() as u64) as usize;
        mutate(mutation, &mut bodies[target]);
        prop_assume!(models(&bodies));
        let want = expect(&bodies, true);
        match decode_fetch(&DecodeOptions::default(), &bodies, seed) {
            Ok(table) => {
                let Some(want) = want else {
                    return Err(TestCaseError::fail(format!("accepted invalid JSON\n{}", show(&bodies))));
                };
                check(&table, &want).map_err(|e| TestCaseError::fail(format!("{e}\n{}", show(&bodies))))?;
            }
            // All three map to Python's DecodeError.
            Err(crate::Error::Decode { .. } | crate::Error::Arrow(_) | crate::Error::Json(_)) => {}
            // A body cut short inside the array: TransportError, retried by the pager.
            Err(crate::Error::Transport { message, .. }) if message.contains("cut off after") => {}
            Err(other) => {
                return Err(TestCaseError::fail(format!("untyped error {other:?}\n{}", show(&bodies))));
            }
        }
    }
}
