//! Tests of `DecodeOptions::form`: a fetch whose text columns take polars' or pandas' form on
//! the decode threads gives, column for column, the values and declared types of the fetch
//! that keeps Arrow's Utf8, over generated pages that drift in type, leave columns out, nest,
//! repeat keys and fail; and every declared text column of its batches is in that form.

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use proptest::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use super::tests::try_page;
use super::tests_fuzz::config;
use super::tests_gen::{mutate, pages, Shape};
use super::unify::documented_when_null;
use super::{sort_by_key, DecodeOptions, DecodedTable, FetchDecoder};
use crate::views::{form_schema, to_form, Form};

/// `bodies` decoded page by page and finished (with `key`), or the error as text.
fn fetch(
    options: &DecodeOptions,
    bodies: &[Vec<u8>],
    key: Option<&str>,
) -> Result<DecodedTable, String> {
    let decoder = FetchDecoder::new(options.clone());
    let pages = bodies
        .iter()
        .map(|body| try_page(&decoder, body, &[]))
        .collect::<crate::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    decoder.finish(pages, key).map_err(|e| e.to_string())
}

/// Every batch of `table` as its declared schema gives it (text as Utf8).
fn declared(table: &DecodedTable) -> Vec<RecordBatch> {
    table
        .batches
        .iter()
        .map(|b| to_form(b, &table.schema).expect("converts back"))
        .collect()
}

/// Whether every text column `table` declares is in `form` in each of its batches.
fn all_in(table: &DecodedTable, form: Form) -> bool {
    let wanted = form_schema(&table.schema, form);
    table.batches.iter().all(|b| {
        b.schema()
            .fields()
            .iter()
            .zip(wanted.fields())
            .all(|(got, want)| got.data_type() == want.data_type())
    })
}

/// The same fetch in each form: the declared result, values and warnings equal Utf8's.
fn same_in_every_form(options: &DecodeOptions, bodies: &[Vec<u8>], key: Option<&str>) {
    let want = fetch(options, bodies, key);
    for form in [Form::Utf8View, Form::LargeUtf8] {
        let got = fetch(
            &DecodeOptions {
                form,
                ..options.clone()
            },
            bodies,
            key,
        );
        match (&got, &want) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got.schema, want.schema, "{form:?}");
                assert!(
                    all_in(got, form),
                    "{form:?}: {:?}",
                    got.batches.first().map(|b| b.schema())
                );
                assert_eq!(declared(got), want.batches, "{form:?}");
                assert_eq!(got.warnings, want.warnings);
                assert_eq!(got.duplicates_dropped, want.duplicates_dropped);
                // A repair pass sorts the rows by key: the same rows, in any form.
                if let Some(key) = key.filter(|k| got.schema.index_of(k).is_ok()) {
                    if let (Ok(sorted), Ok(reference)) = (
                        sort_by_key(&got.batches, key),
                        sort_by_key(&want.batches, key),
                    ) {
                        let back: Vec<_> = sorted
                            .iter()
                            .map(|b| to_form(b, &got.schema).unwrap())
                            .collect();
                        assert_eq!(back, reference);
                    }
                }
            }
            (Err(got), Err(want)) => assert_eq!(got, want),
            _ => panic!(
                "{form:?}: {got:?} against {want:?}",
                got = got.as_ref().err(),
                want = want.as_ref().err()
            ),
        }
    }
}

fn options(seed: u64) -> DecodeOptions {
    DecodeOptions {
        parse_dates: seed % 3 != 0,
        batch_size: 1 + (seed % 7) as usize,
        hint: Vec::new(),
        ..DecodeOptions::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_form_holds_the_values_of_utf8(seed: u64, drift in 0.0..0.6f64, nested: bool, keyed: bool) {
        let shape = Shape {
            drift,
            nested,
            complete: seed % 2 == 0,
            absent: if seed % 4 == 1 { 0.2 } else { 0.0 },
        };
        same_in_every_form(&options(seed), &pages(seed, shape), keyed.then_some("id"));
    }

    #[test]
    fn every_form_fails_a_bad_page_as_utf8_does(seed: u64, mutation: u64) {
        let shape = Shape { drift: 0.0, nested: false, complete: true, absent: 0.0 };
        let mut bodies = pages(seed, shape);
        let target = (mutation % bodies.len() as u64) as usize;
        mutate(mutation, &mut bodies[target]);
        same_in_every_form(&options(seed), &bodies, Some("id"));
    }
}

#[test]
fn text_that_turns_up_on_a_later_page_is_converted_in_the_end() {
    // `n` is a number on the first page and text on the second: the column ends as text, and
    // the first page's numbers become text then (after its page was converted), in the form.
    let bodies = vec![
        br#"[{"id":1,"n":5,"s":"a long enough string to live outside its view"}]"#.to_vec(),
        br#"[{"id":2,"n":"six","s":"b"}]"#.to_vec(),
    ];
    same_in_every_form(&DecodeOptions::default(), &bodies, Some("id"));
    let table = fetch(
        &DecodeOptions {
            form: Form::Utf8View,
            ..DecodeOptions::default()
        },
        &bodies,
        Some("id"),
    )
    .unwrap();
    assert_eq!(
        table.schema.field_with_name("n").unwrap().data_type(),
        &DataType::Utf8
    );
    assert!(all_in(&table, Form::Utf8View));
}

#[test]
fn a_column_null_on_every_page_takes_its_documented_type_in_the_form() {
    let body = br#"[{"id":1,"note":null,"s":"x"},{"id":2,"note":null,"s":"y"}]"#.to_vec();
    let documented = vec![("note".to_string(), DataType::Utf8)];
    for form in [Form::Utf8, Form::Utf8View, Form::LargeUtf8] {
        let options = DecodeOptions {
            form,
            ..DecodeOptions::default()
        };
        let table = fetch(&options, std::slice::from_ref(&body), Some("id")).unwrap();
        let table = documented_when_null(table, &documented, false, form).unwrap();
        let note = table.schema.field_with_name("note").unwrap();
        assert_eq!(note.data_type(), &DataType::Utf8, "declared as documented");
        assert!(all_in(&table, form), "{form:?}");
        let batch = &table.batches[0];
        assert_eq!(batch.column_by_name("note").unwrap().null_count(), 2);
    }
}

#[test]
fn forms_are_named_as_the_python_layer_names_them() {
    assert_eq!(Form::named("utf8"), Some(Form::Utf8));
    assert_eq!(Form::named("utf8_view"), Some(Form::Utf8View));
    assert_eq!(Form::named("large_utf8"), Some(Form::LargeUtf8));
    assert_eq!(Form::named("polars"), None);
    let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
    assert_eq!(form_schema(&schema, Form::Utf8), schema);
}

/// `bodies` decoded with `views_when_idle`, page `i` finished as having waited and worked
/// `times(i)` (milliseconds).
fn fetch_waited(
    bodies: &[Vec<u8>],
    key: Option<&str>,
    seed: u64,
    times: impl Fn(usize) -> (u64, u64),
) -> Result<DecodedTable, String> {
    let decoder = FetchDecoder::new(DecodeOptions {
        views_when_idle: true,
        ..options(seed)
    });
    let pages = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut page = decoder.page();
            page.feed(bytes::Bytes::copy_from_slice(body))?;
            let (waited, worked) = times(i);
            page.finish_waited(Duration::from_millis(waited), Duration::from_millis(worked))
        })
        .collect::<crate::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    decoder.finish(pages, key).map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(config())]

    /// Pages decoded while the fetch waited on the link take polars' views and the others
    /// Utf8: the table is in one form, the one most rows came in, with Utf8's values, types and
    /// warnings.
    #[test]
    fn pages_laid_out_when_idle_make_one_table_of_utf8s_values(seed: u64, idle_pages: u64, keyed: bool) {
        let shape = Shape { drift: 0.2, nested: seed % 2 == 0, complete: true, absent: 0.1 };
        let bodies = pages(seed, shape);
        let key = keyed.then_some("id");
        let want = fetch(&options(seed), &bodies, key);
        let idle = |i: usize| (idle_pages >> (i % 64)) & 1 == 1;
        let got = fetch_waited(&bodies, key, seed, |i| if idle(i) { (20, 1) } else { (0, 3) });
        match (&got, &want) {
            (Ok(got), Ok(want)) => {
                prop_assert_eq!(&got.schema, &want.schema);
                prop_assert!(all_in(got, got.form), "{:?}", got.form);
                prop_assert!(got.form == Form::Utf8 || got.form == Form::Utf8View);
                prop_assert_eq!(declared(got), want.batches.clone());
                prop_assert_eq!(&got.warnings, &want.warnings);
                if (0..bodies.len()).all(|i| !idle(i)) {
                    prop_assert_eq!(got.form, Form::Utf8);
                }
            }
            (Err(got), Err(want)) => prop_assert_eq!(got, want),
            _ => prop_assert!(false, "{:?} against {:?}", got.as_ref().err(), want.as_ref().err()),
        }
    }
}

#[test]
fn the_form_most_rows_came_in_wins() {
    let body = |from: i64, rows: i64| {
        let rows: Vec<String> = (from..from + rows)
            .map(|i| {
                format!(r#"{{"id":{i},"s":"a string well past twelve bytes {i}","c":"x{i}"}}"#)
            })
            .collect();
        format!("[{}]", rows.join(",")).into_bytes()
    };
    let bodies = vec![body(0, 5), body(5, 3), body(8, 1)];
    // (waited, worked) a page; a page is laid out for polars while the fetch's waits so far
    // add up to at least half its work.
    for (times, form) in [
        // 10 >= 10/2: views (5 rows); then 10 < 40/2: Utf8 (4 rows).
        ([(10, 10), (0, 30), (0, 30)], Form::Utf8View),
        // Utf8 (5 rows); 30 >= 20/2 and 30 >= 30/2: views (4 rows).
        ([(0, 10), (30, 10), (0, 10)], Form::Utf8),
        ([(0, 10), (0, 10), (0, 10)], Form::Utf8),
        ([(5, 10), (5, 10), (5, 10)], Form::Utf8View),
        ([(4, 10), (5, 10), (9, 10)], Form::Utf8),
    ] {
        let table = fetch_waited(&bodies, Some("id"), 1, |i| times[i]).unwrap();
        assert_eq!(table.form, form, "{times:?}");
        assert!(all_in(&table, form));
        let want = fetch(&options(1), &bodies, Some("id")).unwrap();
        assert_eq!(declared(&table), want.batches);
    }
    // Without views_when_idle a page that only waited keeps the fetch's form.
    let decoder = FetchDecoder::new(DecodeOptions::default());
    let mut page = decoder.page();
    page.feed(bytes::Bytes::from(body(0, 2))).unwrap();
    let page = page
        .finish_waited(Duration::from_secs(1), Duration::from_millis(1))
        .unwrap();
    assert_eq!(decoder.finish(vec![page], None).unwrap().form, Form::Utf8);
}
