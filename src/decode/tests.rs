//! Tests of framing, page decoding, bad bodies, dedupe and concurrency. Schema drift and type
//! rules are in `tests_schema.rs`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_select::concat::concat_batches;
use bytes::Bytes;

use super::*;

/// Decodes one page from `body` cut at `cuts` (ascending byte offsets).
pub(super) fn page_with_cuts(fetch: &FetchDecoder, body: &[u8], cuts: &[usize]) -> DecodedPage {
    try_page(fetch, body, cuts).expect("page decodes")
}

pub(super) fn try_page(
    fetch: &FetchDecoder,
    body: &[u8],
    cuts: &[usize],
) -> crate::Result<DecodedPage> {
    feed_cut(fetch.page(), body, cuts)
}

/// Decodes `body` as the pager reads a page: first with a decoder that keeps none of what
/// the fast path decoded, then, if that asks for it, again with one that keeps the body.
/// Also says whether the page was read again.
pub(super) fn try_page_as_pager(
    fetch: &FetchDecoder,
    body: &[u8],
    cuts: &[usize],
) -> (crate::Result<DecodedPage>, bool) {
    match feed_cut(fetch.page_read_again(), body, cuts) {
        Err(crate::Error::ReadAgain) => (try_page(fetch, body, cuts), true),
        first => (first, false),
    }
}

/// Feeds `body` to `page` in the pieces `cuts` makes, and finishes it.
fn feed_cut(mut page: PageDecoder, body: &[u8], cuts: &[usize]) -> crate::Result<DecodedPage> {
    let body = Bytes::copy_from_slice(body);
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        page.feed(body.slice(at..cut))?;
        at = cut;
    }
    page.finish()
}

pub(super) fn page(fetch: &FetchDecoder, body: &str) -> DecodedPage {
    page_with_cuts(fetch, body.as_bytes(), &[])
}

/// The table's column names, in schema order.
pub(super) fn column_names(table: &DecodedTable) -> Vec<&str> {
    table
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect()
}

/// Every value of column `name` across `table`, rendered as text ("null" for nulls).
pub(super) fn column_text(table: &DecodedTable, name: &str) -> Vec<String> {
    let batch = concat_batches(&table.schema, &table.batches).unwrap();
    let column = batch.column_by_name(name).expect("column exists");
    let options = FormatOptions::default().with_null("null");
    let formatter = ArrayFormatter::try_new(column.as_ref(), &options).unwrap();
    (0..column.len())
        .map(|i| formatter.value(i).to_string())
        .collect()
}

pub(super) fn table(pages: &[&str]) -> DecodedTable {
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let pages = pages.iter().map(|b| page(&fetch, b)).collect();
    fetch.finish(pages, None).unwrap()
}

const TRICKY: &str = r#" [
  {"id": 1, "s": "quote \" and backslash \\", "t": "brackets ] } [ { and , commas"},
  {"id":2,"s":"unicode \u00e9 \ud83d\ude00 é","t":"\\\"","n":{"a":[1,{"b":"]"}],"c":"}"}},
  {"id" : 3 , "s" : "" , "t" : "\\" , "n" : {"a":[],"c":"x"}}
	]
"#;

fn tricky_rows(batches: &[RecordBatch]) -> Vec<String> {
    let batch = concat_batches(&batches[0].schema(), batches).unwrap();
    let options = FormatOptions::default().with_null("null");
    let s = arrow_array::StructArray::from(batch);
    let formatter = ArrayFormatter::try_new(&s, &options).unwrap();
    (0..s.len())
        .map(|i| formatter.value(i).to_string())
        .collect()
}

#[test]
fn framing_survives_every_chunk_split() {
    let body = TRICKY.as_bytes();
    let whole = tricky_rows(&page(&FetchDecoder::new(DecodeOptions::default()), TRICKY).batches);
    assert_eq!(whole.len(), 3);
    assert!(
        whole[0].contains(r#"quote " and backslash \"#),
        "{}",
        whole[0]
    );
    assert!(whole[1].contains("unicode é 😀 é"), "{}", whole[1]);
    for cut in 0..=body.len() {
        let fetch = FetchDecoder::new(DecodeOptions::default());
        let got = page_with_cuts(&fetch, body, &[cut]);
        assert_eq!(tricky_rows(&got.batches), whole, "one cut at {cut}");
    }
    for a in 0..=body.len() {
        for b in a..=body.len() {
            let fetch = FetchDecoder::new(DecodeOptions::default());
            let got = page_with_cuts(&fetch, body, &[a, b]);
            assert_eq!(got.rows, 3, "cuts at {a}, {b}");
        }
    }
}

#[test]
fn byte_by_byte_chunks_decode_under_a_known_schema() {
    // The second page streams into arrow-json (the schema is known), one byte per chunk.
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let first = page(&fetch, TRICKY);
    let cuts: Vec<usize> = (1..TRICKY.len()).collect();
    let second = page_with_cuts(&fetch, TRICKY.as_bytes(), &cuts);
    assert_eq!(tricky_rows(&first.batches), tricky_rows(&second.batches));
}

#[test]
fn empty_array_has_no_rows_and_no_columns() {
    let fetch = FetchDecoder::new(DecodeOptions::default());
    for body in ["[]", " [ \n ] \n", "[\n]"] {
        let p = page(&fetch, body);
        assert_eq!((p.rows, p.batches.len()), (0, 0), "{body:?}");
    }
    assert!(fetch.current_schema().is_none());
    let t = fetch
        .finish(vec![page(&fetch, "[]")], Some("call_id"))
        .unwrap();
    assert_eq!((t.rows, t.schema.fields().len()), (0, 0));
}

#[test]
fn bad_bodies_are_errors() {
    let bad = [
        "",
        "   ",
        "<html><body>502 Bad Gateway</body></html>",
        r#"{"error": "nope", "code": "x"}"#,
        r#"[{"a": 1}"#,
        r#"[{"a": 1},"#,
        r#"[{"a": 1}, {"a": "#,
        r#"[{"a": "unterminated}]"#,
        r#"[{"a": 1} {"a": 2}]"#,
        r#"[{"a": 1}]]"#,
        r#"[{"a": 1}] x"#,
        "[1, 2]",
        r#"[{"a": tru}]"#,
        r#"[{"a" 1}]"#,
        r#"[{"a": 1,}]"#,
    ];
    // A body that ends inside the array was cut off on the way: a transport failure (retried);
    // every other bad body is a decode error.
    let cut_off = [
        r#"[{"a": 1}"#,
        r#"[{"a": 1},"#,
        r#"[{"a": 1}, {"a": "#,
        r#"[{"a": "unterminated}]"#,
    ];
    for body in bad {
        let fetch = FetchDecoder::new(DecodeOptions::default());
        let err = try_page(&fetch, body.as_bytes(), &[]).expect_err(body);
        if cut_off.contains(&body) {
            assert!(
                matches!(err, crate::Error::Transport { .. }),
                "{body}: {err}"
            );
        } else {
            assert!(matches!(err, crate::Error::Decode { .. }), "{body}: {err}");
        }
    }
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let err = try_page(&fetch, b"<html>", &[]).unwrap_err().to_string();
    assert!(err.contains("expected a JSON array"), "{err}");
}

#[test]
fn values_nested_beyond_the_limit_are_errors_not_stack_overflows() {
    let nested = |depth: usize| format!(r#"[{{"a": {}{}}}]"#, "[".repeat(depth), "]".repeat(depth));
    for depth in [classify::MAX_DEPTH, 10_000, 1_000_000] {
        let fetch = FetchDecoder::new(DecodeOptions::default());
        let err = try_page(&fetch, nested(depth).as_bytes(), &[]).expect_err("too deep");
        assert!(err.to_string().contains("nest deeper than"), "{err}");
    }
    let objects = format!(r#"[{}1{}]"#, r#"{"a":"#.repeat(5_000), "}".repeat(5_000));
    let fetch = FetchDecoder::new(DecodeOptions::default());
    assert!(try_page(&fetch, objects.as_bytes(), &[]).is_err());
    // Just under the limit (the row object is one level) decodes.
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let page = try_page(&fetch, nested(classify::MAX_DEPTH - 1).as_bytes(), &[5, 77]);
    assert_eq!(page.expect("decodes").rows, 1);
}

#[test]
fn rows_with_more_keys_than_the_limit_are_errors() {
    let object = |keys: usize| {
        let fields: Vec<String> = (0..keys).map(|k| format!(r#""k{k}":{k}"#)).collect();
        format!("{{{}}}", fields.join(","))
    };
    let over = classify::MAX_KEYS + 1;
    for page in [
        format!("[{}]", object(over)),
        format!(r#"[{{"call_id":1,"x":{}}}]"#, object(over)),
    ] {
        let fetch = FetchDecoder::new(DecodeOptions::default());
        let err = try_page(&fetch, page.as_bytes(), &[]).expect_err("too many keys");
        assert!(err.to_string().contains(classify::TOO_MANY_KEYS), "{err}");
    }
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let page = format!("[{}]", object(classify::MAX_KEYS));
    let page = try_page(&fetch, page.as_bytes(), &[]).expect("at the limit decodes");
    assert_eq!(page.rows, 1);
    // Counted per object, not per page: a page's rows may have more keys between them, so
    // what a listing reads does not depend on its page size (outside trial 30b F8).
    let half = classify::MAX_KEYS / 2 + 1;
    let rows: Vec<String> = (0..2)
        .map(|r| {
            let keys: Vec<String> = (0..half).map(|k| format!(r#""r{r}k{k}":1"#)).collect();
            format!(r#"{{"call_id":{r},"obj":{{{}}}}}"#, keys.join(","))
        })
        .collect();
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let page = try_page(&fetch, format!("[{}]", rows.join(",")).as_bytes(), &[]);
    assert_eq!(page.expect("two objects under the limit decode").rows, 2);
}

#[test]
fn a_key_named_twice_in_one_object_is_an_error_on_every_path() {
    // Outside trial 31 F5: the last value was kept unsaid, and `call_id` twice was told as two
    // rows sharing an id.
    let plain = r#"[{"call_id":1,"duration":10,"s":"a"},{"call_id":2,"duration":20,"s":"b"}]"#;
    for (page, key) in [
        (
            r#"[{"call_id":3,"duration":10,"duration":99,"s":"c"}]"#,
            "duration",
        ),
        (
            r#"[{"call_id":3,"call_id":4,"duration":1,"s":"c"}]"#,
            "call_id",
        ),
        (r#"[{"call_id":3,"duration":1,"s":"c","s":"d"}]"#, "s"),
        (
            r#"[{"call_id":3,"duration":1,"s":"c","m":{"a":1,"b":2,"a":3}}]"#,
            "a",
        ),
        (
            r#"[{"call_id":3,"duration":1,"s":"c"},{"call_id":4,"s":"x","duration":2,"s":"y"}]"#,
            "s",
        ),
    ] {
        // Fresh (the reference path) and after a page that settled the schema (the fast
        // path, which declines the row).
        for settled in [false, true] {
            let fetch = FetchDecoder::new(DecodeOptions::default());
            if settled {
                try_page_as_pager(&fetch, plain.as_bytes(), &[])
                    .0
                    .expect("a plain page");
            }
            let (got, _) = try_page_as_pager(&fetch, page.as_bytes(), &[7]);
            let err = got.expect_err("a key twice");
            let said = err.to_string();
            assert!(said.contains(classify::REPEATED_KEY), "{said}");
            assert!(said.contains(&format!("\"{key}\" twice")), "{said}");
        }
    }
    // The same key in two objects, or at two depths, is no repeat.
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let nested = r#"[{"a":1,"m":{"a":2,"m":{"a":3}}},{"a":4,"m":{"a":5,"m":null}}]"#;
    assert_eq!(
        try_page(&fetch, nested.as_bytes(), &[])
            .expect("decodes")
            .rows,
        2
    );
}

#[test]
fn batches_respect_batch_size() {
    let rows: Vec<String> = (0..10).map(|i| format!(r#"{{"a":{i}}}"#)).collect();
    let body = format!("[{}]", rows.join(","));
    let options = DecodeOptions {
        batch_size: 4,
        ..DecodeOptions::default()
    };
    let fetch = FetchDecoder::new(options);
    for _ in 0..2 {
        // First page: decoded at finish; second: streamed.
        let p = page(&fetch, &body);
        let sizes: Vec<usize> = p.batches.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, [4, 4, 2]);
    }
}

fn ids_body(ids: &[i64]) -> String {
    let rows: Vec<String> = ids
        .iter()
        .map(|i| format!(r#"{{"call_id":{i},"v":"r{i}"}}"#))
        .collect();
    format!("[{}]", rows.join(","))
}

#[test]
fn finish_drops_duplicate_keys_keeping_the_first() {
    let fetch = FetchDecoder::new(DecodeOptions::default());
    // Page 2 repeats 3 and 4: a row was inserted before them while paging.
    let pages = vec![
        page(&fetch, &ids_body(&[1, 2, 3, 4])),
        page(&fetch, &ids_body(&[3, 4, 5, 6])),
    ];
    let t = fetch.finish(pages, Some("call_id")).unwrap();
    assert_eq!((t.rows, t.duplicates_dropped), (6, 2));
    let ids: Vec<i64> = t
        .batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
}

#[test]
fn key_deduper_handles_text_keys() {
    let t = table(&[r#"[{"k":"a"},{"k":"b"},{"k":"a"}]"#]);
    let mut d = KeyDeduper::new("k", "GET /reps");
    let (kept, dropped) = d.filter(&t.batches[0]).unwrap();
    assert_eq!((kept.num_rows(), dropped), (2, 1));
    let (again, dropped) = d.filter(&t.batches[0]).unwrap();
    assert_eq!((again.num_rows(), dropped), (0, 3));
}

/// Exactly-once rests on the key: a row without one, or (for `call_id`) a key that is not an
/// integer, fails the page instead of passing through unchecked.
#[test]
fn key_deduper_refuses_rows_it_cannot_key() {
    let refused = |body: &str, integer: bool| {
        let t = table(&[body]);
        let mut d = KeyDeduper::new("k", "GET /calls");
        if integer {
            d = d.integer();
        }
        let err = d.filter(&t.batches[0]).unwrap_err().to_string();
        assert!(err.starts_with("could not decode GET /calls:"), "{err}");
        err
    };
    let err = refused(r#"[{"k":1},{"k":null},{"k":null}]"#, false);
    assert!(
        err.contains("the page has 2 rows with a null or missing `k`"),
        "{err}"
    );
    let err = refused(r#"[{"k":1},{"v":2}]"#, false);
    assert!(
        err.contains("the page has 1 row with a null or missing `k`"),
        "{err}"
    );
    // A key null on every row (a Null-typed column).
    let err = refused(r#"[{"k":null},{"k":null}]"#, true);
    assert!(
        err.contains("the page has 2 rows with a null or missing `k`"),
        "{err}"
    );
    let err = refused(r#"[{"v":1},{"v":2}]"#, false);
    assert!(err.contains("the page has 2 rows without a `k`"), "{err}");
    // Named by what was sent, and the first such value, whatever the column fell back to
    // (found by the outside trial: a 2^63 id and `true` were both "text", `2.0` "fractional").
    for (body, kind, fix) in [
        (
            r#"[{"k":1},{"k":"abc"}]"#,
            r#"text (the first: "abc")"#,
            "string",
        ),
        (
            r#"[{"k":1},{"k":2.5}]"#,
            "numbers written as floats (such as 2.5)",
            "string",
        ),
        // Whole: no trace of which were written as floats, so none is named.
        (
            r#"[{"k":1},{"k":2.0}]"#,
            "numbers written as floats, not",
            "string",
        ),
        (r#"[{"k":true}]"#, "true/false (the first: true)", "string"),
        (r#"[{"k":{"a":1}}]"#, "objects", "string"),
        (r#"[{"k":[1]}]"#, "lists", "string"),
        (
            r#"[{"k":1},{"k":"x"},{"k":true}]"#,
            r#"text (the first: "x")"#,
            "string",
        ),
        (
            r#"[{"k":1},{"k":9223372036854775808}]"#,
            "integers beyond int64 (the first: 9223372036854775808)",
            "uint64",
        ),
        (
            r#"[{"k":"1"},{"k":"2"}]"#,
            r#"integers sent as text, in quotes (the first: "1")"#,
            "string",
        ),
    ] {
        let err = refused(body, true);
        let what = format!("the page has `k` values that are {kind}");
        let what = match what.ends_with(", not") {
            true => what,
            false => format!("{what}, not integers"),
        };
        assert!(err.contains(&what), "{err}");
        assert!(
            err.contains(&format!(r#"schema={{"k": "{fix}"}}"#)),
            "{err}"
        );
    }
    // Text keys are fine where the key is not an integer one, and empty batches pass.
    let t = table(&[r#"[{"k":"abc"}]"#]);
    assert_eq!(
        KeyDeduper::new("k", "x").filter(&t.batches[0]).unwrap().1,
        0
    );
    let empty = RecordBatch::new_empty(t.schema.clone());
    let mut missing = KeyDeduper::new("missing", "x").integer();
    assert_eq!(missing.filter(&empty).unwrap().1, 0);
}

/// Outside trial 39 F2: what the page showed of its key column decides what the error can
/// name. Among integers, a quoted integer or a whole float cannot be picked out once the column
/// is decoded as one type, so none is quoted (the first value was, a fine one); on a page of
/// such values only, the first is one; the page's number is given.
#[test]
fn a_key_error_names_a_value_only_where_the_page_can_tell_it() {
    use super::infer::bits;
    let refused = |body: &str, seen: u16, number: Option<u64>| {
        let t = table(&[body]);
        let mut d = KeyDeduper::new("k", "GET /calls").integer();
        d.at_page(PageFacts {
            number,
            key_seen: seen,
        });
        d.filter(&t.batches[0]).unwrap_err().to_string()
    };
    let among = ", among integers (which ones, the decoded page cannot tell)";
    let err = refused(r#"[{"k":101},{"k":"130"}]"#, bits::INT | bits::STR, Some(3));
    assert!(
        err.starts_with("could not decode GET /calls page 3:"),
        "{err}"
    );
    assert!(
        err.contains(&format!("integers sent as text, in quotes{among}")),
        "{err}"
    );
    assert!(!err.contains("101"), "{err}");
    let err = refused(r#"[{"k":"101"},{"k":"130"}]"#, bits::STR, Some(1));
    assert!(err.contains(r#"in quotes (the first: "101")"#), "{err}");
    let err = refused(r#"[{"k":101},{"k":130.0}]"#, bits::INT | bits::FLOAT, None);
    assert!(err.starts_with("could not decode GET /calls:"), "{err}");
    assert!(
        err.contains(&format!("numbers written as floats{among}")),
        "{err}"
    );
    assert!(!err.contains("2.0") && !err.contains("101"), "{err}");
    let err = refused(r#"[{"k":101.0},{"k":130.0}]"#, bits::FLOAT, None);
    assert!(
        err.contains("numbers written as floats (such as 101.0)"),
        "{err}"
    );
    // Outside trial 40 F3: a quoted id beside a float one was "text (the first: 131.0)"; a
    // quoted id with a space lost its quotes; 1e400 was "text".
    let err = refused(
        r#"[{"k":1},{"k":"121"},{"k":131.0}]"#,
        bits::INT | bits::STR | bits::FLOAT,
        None,
    );
    let several = "of several kinds (text, numbers written as floats; which ones";
    assert!(err.contains(several), "{err}");
    assert!(!err.contains("131") && !err.contains("121"), "{err}");
    let err = refused(r#"[{"k":1},{"k":" 61"}]"#, bits::INT | bits::STR, None);
    assert!(
        err.contains(r#"values that are text (the first: " 61")"#),
        "{err}"
    );
    let err = refused(r#"[{"k":1},{"k":1e400}]"#, bits::INT | bits::HUGE, None);
    assert!(
        err.contains("numbers Float64 cannot hold (the first: 1e400)"),
        "{err}"
    );
    let err = refused(
        r#"[{"k":101},{"k":1.3e2},{"k":5.5}]"#,
        bits::INT | bits::FLOAT,
        None,
    );
    assert!(
        err.contains("numbers written as floats (such as 5.5)"),
        "{err}"
    );
}

#[test]
fn pages_decode_concurrently_from_threads() {
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let pages: Vec<DecodedPage> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|p: i64| {
                let fetch = fetch.clone();
                s.spawn(move || {
                    let ids: Vec<i64> = (p * 100..p * 100 + 100).collect();
                    let mut body = ids_body(&ids);
                    if p == 5 {
                        // A late column, on one page only.
                        body = body.replacen(r#""v":"r500""#, r#""v":"r500","x":1.5"#, 1);
                    }
                    let cuts: Vec<usize> = (7..body.len()).step_by(97).collect();
                    page_with_cuts(&fetch, body.as_bytes(), &cuts)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let t = fetch.finish(pages, Some("call_id")).unwrap();
    assert_eq!((t.rows, t.duplicates_dropped), (800, 0));
    let names = column_names(&t);
    assert_eq!(names, ["call_id", "v", "x"]);
    let x = column_text(&t, "x");
    assert_eq!(x.iter().filter(|v| *v != "null").count(), 1);
    assert_eq!(x[500], "1.5");
    let ids = column_text(&t, "call_id");
    assert_eq!(ids[0], "0");
    assert_eq!(ids[799], "799");
}

#[test]
fn types_are_send_and_sync_as_documented() {
    fn send_sync<T: Send + Sync>() {}
    fn send_static<T: Send + 'static>() {}
    send_sync::<FetchDecoder>();
    send_static::<PageDecoder>();
    send_static::<DecodedPage>();
    send_static::<KeyDeduper>();
    let _ = Arc::new(FetchDecoder::new(DecodeOptions::default()));
}

#[test]
fn finish_joins_small_pages_but_not_big_ones() {
    let options = DecodeOptions {
        batch_size: 8,
        ..DecodeOptions::default()
    };
    let fetch = FetchDecoder::new(options);
    let ids: Vec<i64> = (0..40).collect();
    // Ten pages of 3 rows, then one of 10 rows.
    let mut pages: Vec<DecodedPage> = ids[..30]
        .chunks(3)
        .map(|c| page(&fetch, &ids_body(c)))
        .collect();
    pages.push(page(&fetch, &ids_body(&ids[30..])));
    let t = fetch.finish(pages, Some("call_id")).unwrap();
    let sizes: Vec<usize> = t.batches.iter().map(RecordBatch::num_rows).collect();
    // The 10-row page is itself two batches (8 + 2); only small batches are joined, up to the
    // batch size and never past it (outside trial 27b: 1,999-row pages made 21,989-row batches).
    assert_eq!(sizes, [6, 6, 6, 6, 6, 8, 2]);
    assert_eq!(t.rows, 40);
}

/// Small pages of long text are joined up to `JOIN_BYTES`, not up to the batch size's rows:
/// 20,000 rows of 120 KB text joined into one batch overflowed its 32-bit string offsets and
/// failed the whole fetch (outside trial 27b).
#[test]
fn finish_joins_small_pages_up_to_a_byte_bound() {
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let long = "x".repeat(25 << 20);
    let pages: Vec<DecodedPage> = (0..5)
        .map(|i| page(&fetch, &format!(r#"[{{"call_id":{i},"v":"{long}"}}]"#)))
        .collect();
    let t = fetch.finish(pages, Some("call_id")).unwrap();
    let sizes: Vec<usize> = t.batches.iter().map(RecordBatch::num_rows).collect();
    // 25 MB a row: two rows a join under 64 MiB.
    assert_eq!(sizes, [2, 2, 1]);
    let ids: Vec<i64> = t
        .batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
}

/// The default batch is a whole default page on the fast path, while the reference path's are
/// capped at arrow-json's tape (`REFERENCE_BATCH_ROWS`); both make the same table, and neither
/// kind of batch is copied again by `finish` (a lone small batch is not "joined" to nothing).
#[test]
fn a_page_past_the_reference_cap_is_one_fast_batch_and_the_same_table() {
    let ids: Vec<i64> = (0..5_000).collect();
    let body = ids_body(&ids);
    let fast = FetchDecoder::new(DecodeOptions::default());
    let reference = FetchDecoder::reference(DecodeOptions::default());
    let mut tables = Vec::new();
    for (fetch, want_sizes) in [(&fast, vec![5_000]), (&reference, vec![4_096, 904])] {
        // The first page settles the schema; the second is the one the fast path can take.
        let pages = vec![page(fetch, &ids_body(&[-1])), page(fetch, &body)];
        assert_eq!(pages[1].fast, want_sizes.len() == 1);
        let sizes: Vec<usize> = pages[1].batches.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, want_sizes);
        let buffers: Vec<*const u8> = pages
            .iter()
            .flat_map(|p| &p.batches)
            .map(|b| b.column(0).to_data().buffers()[0].as_ptr())
            .collect();
        let table = fetch.finish(pages, Some("call_id")).unwrap();
        let kept: Vec<*const u8> = table
            .batches
            .iter()
            .map(|b| b.column(0).to_data().buffers()[0].as_ptr())
            .collect();
        assert_eq!(
            kept, buffers,
            "finish copied a batch it had nothing to join to"
        );
        tables.push(concat_batches(&table.schema, &table.batches).unwrap());
    }
    assert_eq!(tables[0], tables[1]);
    assert_eq!(tables[0].num_rows(), 5_001);
}

/// Found by the outside trial: a page whose column is all null, decoded after a later page had
/// shown the column's type, holds it typed; a stream handing that page out first (the column
/// still Null in page order) failed with "Casting from Int64 to Null not supported".
#[test]
fn a_stream_hands_out_a_typed_all_null_column_before_its_type_is_seen() {
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let later = page(&fetch, r#"[{"call_id":3,"qa":7}]"#);
    let early = page(
        &fetch,
        r#"[{"call_id":1,"qa":null},{"call_id":2,"qa":null}]"#,
    );
    // The page holds the column at its own type (Null), whatever the later page showed.
    assert_eq!(
        early.batches[0].schema().field(1).data_type(),
        &DataType::Null
    );
    let mut seen = PageColumns::default();
    let first = fetch.merged_schema(&mut seen, &early);
    assert_eq!(first.field(1).data_type(), &DataType::Null);
    let handed = conform_batch(&early.batches[0], &first).unwrap();
    assert_eq!(handed.column(1).data_type(), &DataType::Null);
    assert_eq!(handed.column(1).len(), 2);
    let second = fetch.merged_schema(&mut seen, &later);
    let handed = conform_batch(&later.batches[0], &second).unwrap();
    assert_eq!(handed.column(1).as_primitive::<Int64Type>().value(0), 7);
}

/// Found by the outside trial: a column of integers, a float and a string ends as text, and
/// the integers read `10` or `10.0` depending on whether their page decoded before or after
/// the float's (so from run to run). Every decode order now gives the same text.
#[test]
fn a_text_column_renders_integers_alike_whichever_page_decoded_first() {
    let bodies = [
        r#"[{"call_id":1,"x":10}]"#,
        r#"[{"call_id":2,"x":2.5}]"#,
        r#"[{"call_id":3,"x":"a"}]"#,
    ];
    for order in [[0, 1, 2], [1, 0, 2], [2, 1, 0], [1, 2, 0]] {
        let fetch = FetchDecoder::new(DecodeOptions::default());
        let mut pages: Vec<Option<DecodedPage>> = vec![None, None, None];
        for i in order {
            pages[i] = Some(page(&fetch, bodies[i]));
        }
        let t = fetch
            .finish(pages.into_iter().flatten().collect(), None)
            .unwrap();
        assert_eq!(
            column_text(&t, "x"),
            ["10", "2.5", "a"],
            "decoded in {order:?}"
        );
    }
    // Without the text, the same integers stay exact floats.
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let float = page(&fetch, r#"[{"x":2.5}]"#);
    let ints = page(&fetch, r#"[{"x":9007199254740992}]"#);
    assert_eq!(ints.batches[0].column(0).data_type(), &DataType::Int64);
    let t = fetch.finish(vec![float, ints], None).unwrap();
    assert_eq!(column_text(&t, "x"), ["2.5", "9007199254740992.0"]);
}

/// A page holding a key twice is refused (rows that move repeat across pages, never within
/// one); repeats of earlier pages' keys are not.
#[test]
fn a_key_twice_within_one_page_is_refused() {
    let fetch = FetchDecoder::new(DecodeOptions {
        batch_size: 2,
        ..DecodeOptions::default()
    });
    let d = KeyDeduper::new("call_id", "GET /calls").integer();
    let fine = page(&fetch, &ids_body(&[1, 2, 3]));
    assert!(d.check_page(&fine.batches).is_ok());
    for ids in [&[1, 2, 1][..], &[4, 4], &[5, 6, 7, 8, 6]] {
        let twice = page(&fetch, &ids_body(ids));
        let err = d.check_page(&twice.batches).unwrap_err().to_string();
        assert!(err.contains("more than once"), "{ids:?}: {err}");
    }
    let err = d.check_page(&page(&fetch, &ids_body(&[9, 8, 9])).batches);
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("`call_id` 9 more than once"));
}

#[test]
fn rows_without_columns_are_counted() {
    // Found by the differential fuzzing: `[{}]` on a first page was an error.
    let t = table(&["[{}, {}]"]);
    assert_eq!((t.rows, t.schema.fields().len()), (2, 0));
    let t = table(&["[{}]", r#"[{"a":1}]"#]);
    assert_eq!(column_text(&t, "a"), ["null", "1"]);
}

#[test]
fn numbers_outside_json_grammar_are_errors() {
    // Found by the differential fuzzing: arrow-json decoded `-12+34` into an Int64 column.
    for bad in [
        r#""\0""#,
        r#""\u12G4""#,
        r#""\x""#,
        "-12+34",
        "007",
        "-",
        "1.",
        ".5",
        "1e",
        "1e+",
        "--1",
        "1.5.5",
        "0x10",
    ] {
        let body = format!(r#"[{{"a":{bad}}}]"#);
        let fetch = FetchDecoder::new(DecodeOptions::default());
        let err = try_page(&fetch, body.as_bytes(), &[]).expect_err(bad);
        assert!(matches!(err, crate::Error::Decode { .. }), "{bad}: {err}");
    }
    let t = table(&[r#"[{"a":-0},{"a":10},{"a":1E+2},{"a":-0.5e-1}]"#]);
    assert_eq!(column_text(&t, "a"), ["-0.0", "10.0", "100.0", "-0.05"]);
}

#[test]
fn escaped_astral_characters_decode_right() {
    // Found by the differential fuzzing: arrow-json 59 turns `\uDBFF\uDFFF` into U+FFFFF.
    let t = table(&[r#"[{"s":"\uDBFF\uDFFF \ud840\udc00 \ud83d\ude00"}]"#]);
    assert_eq!(column_text(&t, "s"), ["\u{10FFFF} \u{20000} 😀"]);
    let fetch = FetchDecoder::new(DecodeOptions::default());
    page(&fetch, r#"[{"s":"x"}]"#);
    let streamed = page(&fetch, r#"[{"s":"\uDBFF\uDFFF"}]"#);
    let t = fetch.finish(vec![streamed], None).unwrap();
    assert_eq!(column_text(&t, "s"), ["\u{10FFFF}"]);
}

/// The hint for keys beyond int64 offers `uint64`: distinct ids past `i64::MAX` must stay
/// distinct (a cast to i64 would make them null, read as 0, and drop all but one as repeats).
#[test]
fn key_deduper_keeps_unsigned_ids_past_i64_max_apart() {
    use arrow_array::UInt64Array;
    let ids = UInt64Array::from(vec![u64::MAX, u64::MAX - 1, 1 << 63, 1 << 63]);
    let batch =
        RecordBatch::try_from_iter(vec![("k", Arc::new(ids) as arrow_array::ArrayRef)]).unwrap();
    let mut deduper = KeyDeduper::new("k", "x").integer();
    let (kept, dropped) = deduper.filter(&batch).unwrap();
    assert_eq!((kept.num_rows(), dropped), (3, 1));
}

/// Found by the outside trial (28c F2): a column of text and dates was warned of when a date
/// came first and not when the text did. Dates are now looked for in every plain string, on
/// both paths, so the warning is the same in any order, within a page and across pages.
#[test]
fn a_mix_of_dates_and_text_is_warned_of_in_any_order() {
    let rows = |values: &[&str]| {
        let rows: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!(r#"{{"id":{i},"t":"{v}"}}"#))
            .collect();
        format!("[{}]", rows.join(","))
    };
    for (values, kind) in [
        (["x", "2025-01-01 10:00:00"], "timestamps"),
        (["2025-01-01 10:00:00", "x"], "timestamps"),
        (["x", "2025-01-01"], "dates"),
        (["2025-01-01", "x"], "dates"),
    ] {
        let want = format!("column `t` mixes {kind}, strings; decoded as strings");
        // One page, then a page each; the second fetch's later pages take the fast path.
        let one = table(&[&rows(&values)]);
        let (first, second) = (rows(&values[..1]), rows(&values[1..]));
        let two = table(&[&first, &second, &second]);
        for got in [&one, &two] {
            assert!(
                got.warnings.contains(&want),
                "{values:?}: {:?}",
                got.warnings
            );
            assert_eq!(
                got.schema.field_with_name("t").unwrap().data_type(),
                &DataType::Utf8
            );
        }
    }
}
