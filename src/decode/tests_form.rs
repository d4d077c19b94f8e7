//! Tests of `DecodeOptions::form`: a fetch whose text columns take polars' or pandas' form on
//! the decode threads gives, column for column, the values and declared types of the fetch
//! that keeps Arrow's Utf8, over generated pages that drift in type, leave columns out, nest,
//! repeat keys and fail; and every declared text column of its batches is in that form.

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use proptest::prelude::*;
use std::sync::Arc;

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
        let table = documented_when_null(table, &documented, form).unwrap();
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
