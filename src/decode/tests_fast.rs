//! Differential tests of the fast path (`fast/`) against the reference path (classifier +
//! arrow-json): the same pages, cut at the same points, decoded by a fetch with the fast path
//! and by one without, must give equal pages (rows, batches, column state) or the same error.
//! A third fetch decodes them as the pager does (`try_page_as_pager`: keeping no body on the
//! fast path, and reading a declined page again), and must give the same too.
//! Generated fetches are decoded twice over, so the second pass has a schema for every page;
//! the explicit tests pin the cases where the fast path must decline.

use proptest::prelude::*;

use super::tests::{try_page, try_page_as_pager};
use super::tests_fuzz::config;
use super::tests_gen::{cuts, mutate, pages, Shape};
use super::{
    batch_size_for_pages, DecodeOptions, DecodedPage, FetchDecoder, DEFAULT_BATCH_ROWS,
    MAX_BATCH_ROWS,
};
use crate::views::Form;

/// Decodes `bodies` twice over with and without the fast path; returns how many pages took it.
fn differential(options: &DecodeOptions, bodies: &[Vec<u8>], seed: u64) -> Result<usize, String> {
    let fast = FetchDecoder::new(options.clone());
    let as_pager = FetchDecoder::new(options.clone());
    let reference = FetchDecoder::reference(options.clone());
    let mut taken = 0;
    for pass in 0..2u64 {
        for (p, body) in bodies.iter().enumerate() {
            let cut = cuts(seed ^ (p as u64) ^ (pass << 32), body.len());
            let want = try_page(&reference, body, &cut);
            let got = try_page(&fast, body, &cut);
            agree(&got, &want, body)?;
            agree(&try_page_as_pager(&as_pager, body, &cut).0, &want, body)?;
            taken += usize::from(got.is_ok_and(|page| page.fast));
        }
    }
    Ok(taken)
}

/// Whether a page decoded two ways gave the same page, or the same error.
fn agree(
    got: &crate::Result<DecodedPage>,
    want: &crate::Result<DecodedPage>,
    body: &[u8],
) -> Result<(), String> {
    match (got, want) {
        (Ok(got), Ok(want)) => same(got, want),
        (Err(got), Err(want)) if got.to_string() == want.to_string() => Ok(()),
        (got, want) => {
            let page = String::from_utf8_lossy(body);
            Err(format!("got {got:?}\nreference {want:?}\npage {page}"))
        }
    }
}

fn same(got: &DecodedPage, want: &DecodedPage) -> Result<(), String> {
    let equal = got.rows == want.rows && got.batches == want.batches && got.columns == want.columns;
    if equal {
        return Ok(());
    }
    Err(format!("fast {got:?}\nreference {want:?}"))
}

/// Text in polars' views on half the seeds: the fast path builds them itself, the reference
/// converts its Utf8 (`PageDecoder::finish`).
fn options(seed: u64, parse_dates: bool) -> DecodeOptions {
    DecodeOptions {
        parse_dates,
        batch_size: 1 + (seed % 5) as usize,
        form: if seed & 0x100 == 0 {
            Form::Utf8
        } else {
            Form::Utf8View
        },
        ..DecodeOptions::default()
    }
}

/// The default options with text in `form`.
fn in_form(form: Form) -> DecodeOptions {
    DecodeOptions {
        form,
        ..DecodeOptions::default()
    }
}

const COMPLETE: Shape = Shape {
    drift: 0.3,
    nested: false,
    complete: true,
    absent: 0.0,
};

/// The API's row shape with custom attributes set on some rows only: keys in order, some left
/// out.
const SPARSE: Shape = Shape {
    drift: 0.0,
    absent: 0.25,
    ..COMPLETE
};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn complete_pages_decode_as_the_reference(seed: u64, parse_dates: bool) {
        let bodies = pages(seed, COMPLETE);
        differential(&options(seed, parse_dates), &bodies, seed).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn sparse_pages_decode_as_the_reference(seed: u64, parse_dates: bool) {
        let bodies = pages(seed, SPARSE);
        differential(&options(seed, parse_dates), &bodies, seed).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn drifting_nested_pages_decode_as_the_reference(seed: u64) {
        let bodies = pages(seed, Shape { drift: 0.3, nested: true, complete: false, absent: 0.15 });
        differential(&options(seed, true), &bodies, seed).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn mutated_pages_decode_or_fail_as_the_reference(seed: u64, mutation: u64) {
        let mut bodies = pages(seed, COMPLETE);
        let target = (mutation % bodies.len() as u64) as usize;
        mutate(mutation, &mut bodies[target]);
        differential(&options(seed, true), &bodies, seed).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn generated_complete_pages_take_the_fast_path() {
    // Without this, the differential above could pass with a fast path that always declines.
    let taken: usize = (0..64)
        .map(|seed| differential(&options(seed, true), &pages(seed, COMPLETE), seed).unwrap())
        .sum();
    assert!(taken >= 48, "only {taken} pages took the fast path");
    // Rows leaving columns out take it too (a column absent from a whole first page is not in
    // the schema, so a later page showing it declines: fewer pages qualify).
    let taken: usize = (0..64)
        .map(|seed| differential(&options(seed, true), &pages(seed, SPARSE), seed).unwrap())
        .sum();
    assert!(taken >= 40, "only {taken} sparse pages took the fast path");
}

/// A first page giving the schema id Int64, x Float64, ok Boolean, s Utf8, d Date32,
/// t Timestamp(µs) and n Null.
const FIRST: &str = r#"[
  {"id":1,"x":1.5,"ok":true,"s":"a","d":"2025-07-01","t":"2025-07-01 10:00:00.123456","n":null},
  {"id":2,"x":-2,"ok":false,"s":null,"d":null,"t":"2025-07-02 00:00:00","n":null}
]"#;

/// Decodes `FIRST`, then `body` cut at every byte, with and without the fast path, and as the
/// pager does; checks all three agree and returns whether the fast path decoded `body` (`None`
/// if all failed). The pager's way reads the page again exactly when the fast path declined.
fn second_page(body: &str, options: &DecodeOptions) -> Option<bool> {
    page_after(FIRST, body, options)
}

/// As [`second_page`], after `first` instead of `FIRST`.
fn page_after(first: &str, body: &str, options: &DecodeOptions) -> Option<bool> {
    let fast = FetchDecoder::new(options.clone());
    let as_pager = FetchDecoder::new(options.clone());
    let reference = FetchDecoder::reference(options.clone());
    for fetch in [&fast, &as_pager, &reference] {
        try_page(fetch, first.as_bytes(), &[]).unwrap();
    }
    let every_byte: Vec<usize> = (1..body.len()).collect();
    let got = try_page(&fast, body.as_bytes(), &every_byte);
    let want = try_page(&reference, body.as_bytes(), &every_byte);
    let (paged, read_again) = try_page_as_pager(&as_pager, body.as_bytes(), &every_byte);
    agree(&paged, &want, body.as_bytes()).unwrap();
    let declined = !got.as_ref().is_ok_and(|page| page.fast);
    assert_eq!(
        read_again, declined,
        "read again exactly when the fast path declined"
    );
    match (got, want) {
        (Ok(got), Ok(want)) => {
            same(&got, &want).unwrap();
            assert_eq!(fast.current_schema(), reference.current_schema());
            Some(got.fast)
        }
        (Err(got), Err(want)) => {
            assert_eq!(got.to_string(), want.to_string());
            None
        }
        (got, want) => panic!("fast {got:?}\nreference {want:?}"),
    }
}

/// [`second_page`] with text as Utf8 and as polars' views, which must agree.
fn second(body: &str) -> Option<bool> {
    let utf8 = second_page(body, &in_form(Form::Utf8));
    let views = second_page(body, &in_form(Form::Utf8View));
    assert_eq!(utf8, views, "views decode as Utf8 does: {body}");
    utf8
}

/// One row of the `FIRST` shape with `fields` (the text between the braces) swapped in.
fn rows(fields: &[&str]) -> String {
    let rows: Vec<String> = fields.iter().map(|f| format!("{{{f}}}")).collect();
    format!("[{}]", rows.join(","))
}

const ROW: &str = r#""id":3,"x":0.1,"ok":true,"s":"b","d":"2024-02-29","t":"1969-12-31 23:59:59.500001","n":null"#;

#[test]
fn pages_of_the_schema_take_the_fast_path() {
    assert_eq!(second(&rows(&[ROW, ROW])), Some(true));
    assert_eq!(second("[]"), Some(true));
    let spaced = r#"[ { "id" : -9223372036854775808 , "x" : 1E308 , "ok" : null , "s" : "" ,
        "d" : "1900-01-01" , "t" : "2025-07-01 00:00:00" , "n" : null } ]"#;
    assert_eq!(second(spaced), Some(true));
    // Integers in a Float64 column, `-0` and exponents parse as arrow-json parses them.
    let numbers = r#""id":-0,"x":-0,"ok":false,"s":"c","d":null,"t":null,"n":null"#;
    let exponents = r#""id":0,"x":123.456e-7,"ok":false,"s":"c","d":null,"t":null,"n":null"#;
    assert_eq!(second(&rows(&[numbers, exponents])), Some(true));
}

#[test]
fn escapes_the_fast_path_decodes() {
    // An escaped key is compared unescaped.
    let key = r#""i\u0064":3,"x":1,"ok":true,"s":"b","d":null,"t":null,"n":null"#;
    assert_eq!(second(&rows(&[ROW, key])), Some(true));
    let s = r#""id":3,"x":1,"ok":true,"s":"q\"b\\s\/\b\f\n\r\t\u00e9\u4E2D\ud83d\ude00\u0000","d":null,"t":null,"n":null"#;
    assert_eq!(second(&rows(&[s])), Some(true));
    // Strings that look like dates or numbers stay strings in a Utf8 column.
    let s = r#""id":3,"x":1,"ok":true,"s":"007","d":null,"t":null,"n":null"#;
    let date = r#""id":3,"x":1,"ok":true,"s":"2025-07-01","d":null,"t":null,"n":null"#;
    assert_eq!(second(&rows(&[s, date])), Some(true));
}

#[test]
fn names_that_need_escaping_take_the_fast_path() {
    // Outside trial 24: an attribute named `q"n` sent every page to the reference decoder.
    let first = r#"[{"id":1,"q\"n":"a","tab\tb\\":2,"é😀":true}]"#;
    let options = DecodeOptions::default();
    let same = r#"[{"id":2,"q\"n":"b","tab\tb\\":3,"é😀":false}]"#;
    assert_eq!(page_after(first, same, &options), Some(true));
    // Spelled another way (escaped otherwise, one left out): compared unescaped.
    let respelled = r#"[{"id":3,"q\u0022n":"c","\u00e9\ud83d\ude00":null}]"#;
    assert_eq!(page_after(first, respelled, &options), Some(true));
    // A name close to one of them is another column.
    let other = r#"[{"id":4,"q\"m":"d"}]"#;
    assert_eq!(page_after(first, other, &options), Some(false));
}

#[test]
fn drifting_keys_fall_back() {
    let swapped = r#""x":1,"id":3,"ok":true,"s":"b","d":null,"t":null,"n":null"#;
    let late = r#""id":3,"x":1,"ok":true,"s":"b","d":null,"t":null,"n":null,"new":1"#;
    let unknown = r#""id":3,"x":1,"ok":true,"zz":"b","d":null,"t":null,"n":null"#;
    let prefix = r#""idx":3,"x":1,"ok":true,"s":"b","d":null,"t":null,"n":null"#;
    // Out of order, unknown, a prefix of a name, skipped back.
    let skipped_back = r#""id":3,"ok":true,"x":1,"s":"b","d":null,"t":null,"n":null"#;
    for row in [swapped, late, unknown, prefix, skipped_back] {
        assert_eq!(second(&rows(&[ROW, row])), Some(false), "{row}");
    }
    // A key repeated (also after a left-out column): declined, then refused by the reference
    // with the same error (`second` checks both).
    let repeated = r#""id":3,"id":4,"x":1,"ok":true,"s":"b","d":null,"t":null,"n":null"#;
    let repeated_later = r#""id":3,"s":"b","s":"c","d":null,"t":null,"n":null"#;
    for row in [repeated, repeated_later] {
        assert_eq!(second(&rows(&[ROW, row])), None, "{row}");
    }
}

#[test]
fn rows_leaving_columns_out_take_the_fast_path() {
    // A custom attribute set on some calls only: the rows without it leave the key out, which
    // reads as null, exactly as the reference reads it.
    let last = r#""id":3,"x":1,"ok":true,"s":"b","d":null,"t":null"#;
    let first = r#""x":1,"ok":true,"s":"b","d":null,"t":null,"n":null"#;
    let middle = r#""id":4,"s":"b","n":null"#;
    let only = r#""t":"2025-07-01 00:00:00""#;
    for row in [last, first, middle, only, ""] {
        assert_eq!(second(&rows(&[ROW, row, ROW])), Some(true), "{row}");
    }
    assert_eq!(second("[ { } , {\"n\" : null } ]"), Some(true));
    // A page of `{}` only: the reference gives it one batch without columns; declined.
    assert_eq!(second("[{}]"), Some(false));
}

#[test]
fn values_outside_the_schema_fall_back() {
    let cases = [
        r#""id":1.5,"x":1,"ok":true,"s":"b","d":null,"t":null,"n":null"#,
        r#""id":"007","x":1,"ok":true,"s":"b","d":null,"t":null,"n":null"#,
        r#""id":9223372036854775808,"x":1,"ok":true,"s":"b","d":null,"t":null,"n":null"#,
        r#""id":1,"x":18446744073709551616,"ok":true,"s":"b","d":null,"t":null,"n":null"#,
        r#""id":1,"x":1,"ok":1,"s":"b","d":null,"t":null,"n":null"#,
        r#""id":1,"x":1,"ok":true,"s":7,"d":null,"t":null,"n":null"#,
        r#""id":1,"x":1,"ok":true,"s":{"a":1},"d":null,"t":null,"n":null"#,
        r#""id":1,"x":1,"ok":true,"s":["a"],"d":null,"t":null,"n":null"#,
        r#""id":1,"x":1,"ok":true,"s":"b","d":"2025-02-30","t":null,"n":null"#,
        r#""id":1,"x":1,"ok":true,"s":"b","d":"2025-07-01 10:00:00","t":null,"n":null"#,
        r#""id":1,"x":1,"ok":true,"s":"b","d":"2025\u002d07-01","t":null,"n":null"#,
        r#""id":1,"x":1,"ok":true,"s":"b","d":null,"t":"noon","n":null"#,
        // Times converz would write back in another spelling, and a date beside times: text.
        r#""id":1,"x":1,"ok":true,"s":"b","d":null,"t":"2025-07-01T10:00:00","n":null"#,
        r#""id":1,"x":1,"ok":true,"s":"b","d":null,"t":"2025-07-01 10:00:00.5","n":null"#,
        r#""id":1,"x":1,"ok":true,"s":"b","d":null,"t":"2025-07-01 10:00:00.500000","n":null"#,
        r#""id":1,"x":1,"ok":true,"s":"b","d":null,"t":"2025-07-01","n":null"#,
        r#""id":1,"x":1,"ok":true,"s":"b","d":null,"t":null,"n":0"#,
    ];
    for row in cases {
        assert_eq!(second(&rows(&[ROW, row])), Some(false), "{row}");
    }
}

#[test]
fn invalid_pages_fail_as_the_reference_does() {
    let lone = r#""id":1,"x":1,"ok":true,"s":"\ud800","d":null,"t":null,"n":null"#;
    let bad_escape = r#""id":1,"x":1,"ok":true,"s":"\x","d":null,"t":null,"n":null"#;
    let bad_number = r#""id":01,"x":1,"ok":true,"s":"b","d":null,"t":null,"n":null"#;
    let bad_literal = r#""id":1,"x":1,"ok":tru,"s":"b","d":null,"t":null,"n":null"#;
    for row in [lone, bad_escape, bad_number, bad_literal] {
        assert_eq!(second(&rows(&[ROW, row])), None, "{row}");
    }
    assert_eq!(second(&rows(&[ROW])[..40]), None);
    assert_eq!(second(&format!("{}x", rows(&[ROW]))), None);
}

#[test]
fn invalid_utf8_fails_as_the_reference_does() {
    // A short value (held in its view) and a long one (in the batch's buffer).
    for (form, value) in [Form::Utf8, Form::Utf8View]
        .into_iter()
        .flat_map(|form| ["b", "bbbbbbbbbbbbbbbbbbbbb"].map(|value| (form, value)))
    {
        let fast = FetchDecoder::new(in_form(form));
        let reference = FetchDecoder::reference(in_form(form));
        let text = rows(&[ROW, ROW]).replacen("\"b\"", &format!("\"{value}\""), 1);
        let mut body = text.into_bytes();
        let at = body.windows(2).position(|w| w == b"\"b").unwrap() + 1;
        body[at] = 0xC3; // a lead byte with no continuation
        for fetch in [&fast, &reference] {
            try_page(fetch, FIRST.as_bytes(), &[]).unwrap();
        }
        let got = try_page(&fast, &body, &[]).unwrap_err();
        let want = try_page(&reference, &body, &[]).unwrap_err();
        assert_eq!(got.to_string(), want.to_string(), "{form:?} {value}");
    }
}

/// Two values of a column whose bytes are each invalid but together one valid character
/// (`€` is E2 82 AC): the batch's bytes pass a UTF-8 check as a whole, so the offset between
/// the two must be caught, on both paths alike.
/// As views, short values are checked in their views and long ones in the batch's buffer,
/// where two long values lie side by side as the offsets' values do.
#[test]
fn a_character_split_between_two_values_fails_as_the_reference_does() {
    for form in [Form::Utf8, Form::Utf8View] {
        for pad in ["", "aaaaaaaaaaaa"] {
            let fast = FetchDecoder::new(in_form(form));
            let reference = FetchDecoder::reference(in_form(form));
            let text = rows(&[ROW, ROW]);
            let parts: Vec<&str> = text.split("\"b\"").collect();
            assert_eq!(parts.len(), 3, "{text}");
            let mut body = parts[0].as_bytes().to_vec();
            body.extend_from_slice(format!("\"{pad}").as_bytes());
            body.extend_from_slice(b"\xE2\"");
            body.extend_from_slice(parts[1].as_bytes());
            body.extend_from_slice(b"\"\x82\xAC");
            body.extend_from_slice(format!("{pad}\"").as_bytes());
            body.extend_from_slice(parts[2].as_bytes());
            for fetch in [&fast, &reference] {
                try_page(fetch, FIRST.as_bytes(), &[]).unwrap();
            }
            let got = try_page(&fast, &body, &[]).unwrap_err();
            let want = try_page(&reference, &body, &[]).unwrap_err();
            assert_eq!(got.to_string(), want.to_string(), "{form:?} {pad}");
            // The same bytes as one value decode on both paths, to the same character.
            let whole = text.replacen("\"b\"", &format!("\"{pad}\u{20AC}{pad}\""), 1);
            let fast_page = try_page(&fast, whole.as_bytes(), &[]).unwrap();
            let reference_page = try_page(&reference, whole.as_bytes(), &[]).unwrap();
            assert!(fast_page.fast);
            assert_eq!(fast_page.batches, reference_page.batches);
        }
    }
}

/// Text around the 12 bytes a view holds, plain, escaped and non-ASCII, in one column with
/// nulls: every cut of the page decodes as the reference in both forms, on the fast path.
#[test]
fn text_around_a_views_inline_length_decodes_as_the_reference() {
    let values = [
        r#""""#,
        r#""a""#,
        r#""aaaaaaaaaaa""#,
        r#""aaaaaaaaaaaa""#,
        r#""aaaaaaaaaaaaa""#,
        r#""aaaaaaaaaaé""#,
        r#""aaaaaaaaaaaé""#,
        r#""aaaaaaaaaa\u00e9""#,
        r#""aaaaaaaaaaa\n""#,
        r#""aaaaaaaaaaaa\n""#,
        r#""\ud83d\ude00aaaaaaaa""#,
        r#""\ud83d\ude00aaaaaaaaa""#,
        "null",
        r#""Café-style follow-up note: “check again in 3 days”.""#,
    ];
    let fields: Vec<String> = values
        .iter()
        .map(|v| ROW.replacen(r#""s":"b""#, &format!(r#""s":{v}"#), 1))
        .collect();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    assert_eq!(second(&rows(&fields)), Some(true));
    // Long values first, then only short ones: a row cut after a long value drops its bytes.
    let mut reversed = fields.clone();
    reversed.reverse();
    assert_eq!(second(&rows(&reversed)), Some(true));
}

#[test]
fn batch_boundaries_and_plain_dates_match() {
    let page = rows(&[ROW; 7]);
    for batch_size in 1..=4 {
        let options = DecodeOptions {
            batch_size,
            ..DecodeOptions::default()
        };
        assert_eq!(second_page(&page, &options), Some(true));
    }
    // Without date parsing, date-like strings are Utf8 and still decoded fast.
    let options = DecodeOptions {
        parse_dates: false,
        ..DecodeOptions::default()
    };
    assert_eq!(second_page(&page, &options), Some(true));
}

proptest! {
    /// A page is one batch up to `MAX_BATCH_ROWS` rows; a larger one is as few batches as fit,
    /// of equal size but for rounding (no tail of a few rows); a smaller one is joined up to
    /// the default batch.
    #[test]
    fn pages_are_cut_into_as_few_even_batches_as_fit(page_size in 1usize..2_000_000) {
        let batch = batch_size_for_pages(page_size);
        prop_assert!(batch <= MAX_BATCH_ROWS);
        let parts = page_size.div_ceil(batch);
        prop_assert_eq!(parts, page_size.div_ceil(MAX_BATCH_ROWS).max(1));
        if page_size <= DEFAULT_BATCH_ROWS {
            prop_assert_eq!(batch, DEFAULT_BATCH_ROWS);
        } else {
            let last = page_size - (parts - 1) * batch;
            prop_assert!(batch - last < parts, "{} rows: {} and {}", page_size, batch, last);
        }
    }
}
