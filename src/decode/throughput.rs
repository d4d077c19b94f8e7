//! The throughput measurement behind the numbers in `mod.rs`'s docs. Run it with
//! `cargo test --release --lib -- --ignored --nocapture decode_throughput`.
//!
//! It builds ~100 MB of rows shaped like `/calls` rows (~600 bytes each), cuts them into pages
//! of 10 000 rows and 16 KiB chunks (hyper's typical read size), and times each stage on one
//! thread: framing alone, framing + classification, arrow-json alone on newline-delimited rows
//! (the floor: what arrow-json costs with no framing at all), and the full page decoder.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use arrow_json::ReaderBuilder;
use bytes::Bytes;

use super::classify::{Classifier, Stop};
use super::framing::{decode_error, ScanSink, Sink, Splitter};
use super::{DecodeOptions, FetchDecoder};

const ROWS_PER_PAGE: usize = 10_000;
const CHUNK: usize = 16 * 1024;

fn row(i: usize, out: &mut String) {
    use std::fmt::Write;
    // Mostly plain words, one escaped quote and one non-ASCII letter per summary.
    let words = [
        "refund", "billing", "customer", "asked", "about", "premium", "plan", "café",
    ];
    let mut summary = String::from("said \\\"call me back\\\" ");
    while summary.len() < 380 {
        summary.push_str(words[(i + summary.len()) % words.len()]);
        summary.push(' ');
    }
    write!(
        out,
        r#"{{"call_id":{},"rep_id":"kees{}","vendor":"acme","campaign":"sales","start_time":"2025-07-{:02} {:02}:{:02}:{:02}","date":"2025-07-{:02}","duration":{},"sentiment":{:.3},"resolved":{},"summary":"{}"}}"#,
        1_000_000 + i,
        i % 500,
        1 + i % 28,
        i % 24,
        i % 60,
        (i * 7) % 60,
        1 + i % 28,
        30 + (i * 13) % 900,
        ((i * 37) % 2000) as f64 / 1000.0 - 1.0,
        i % 3 == 0,
        summary
    )
    .unwrap();
}

/// Pages as lists of chunks, plus the same rows newline-delimited, and the total page bytes.
fn corpus(total: usize) -> (Vec<Vec<Bytes>>, Vec<u8>, usize) {
    let (mut pages, mut ndjson, mut bytes, mut i) = (Vec::new(), Vec::new(), 0, 0);
    while bytes < total {
        let mut body = String::from("[");
        for k in 0..ROWS_PER_PAGE {
            if k > 0 {
                body.push(',');
            }
            let start = body.len();
            row(i, &mut body);
            ndjson.extend_from_slice(&body.as_bytes()[start..]);
            ndjson.push(b'\n');
            i += 1;
        }
        body.push(']');
        bytes += body.len();
        let body = Bytes::from(body);
        let chunks = (0..body.len())
            .step_by(CHUNK)
            .map(|s| body.slice(s..(s + CHUNK).min(body.len())))
            .collect();
        pages.push(chunks);
    }
    (pages, ndjson, bytes)
}

/// Runs `stage` `RUNS` times and prints the best rate: the machine is shared, and the best
/// run is the one least disturbed by other work.
fn best_of(what: &str, bytes: usize, mut stage: impl FnMut()) {
    const RUNS: usize = 5;
    let best = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            stage();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    println!("{what:<44} {:>8.0} MB/s", bytes as f64 / best / 1e6);
}

struct ClassifySink(Classifier);

impl Sink for ClassifySink {
    fn element(&mut self, bytes: &[u8]) -> crate::Result<Option<usize>> {
        match self.0.row(bytes) {
            Ok(n) => Ok(Some(n)),
            Err(Stop::Incomplete) => Ok(None),
            Err(Stop::Invalid(m)) => Err(decode_error(m)),
        }
    }
}

#[test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
fn decode_throughput() {
    let (pages, ndjson, bytes) = corpus(100_000_000);
    let rows = pages.len() * ROWS_PER_PAGE;
    println!("{} pages, {rows} rows, {bytes} bytes", pages.len());
    best_of("framing alone (ValueScan)", bytes, || {
        assert_eq!(frame_only(&pages), rows);
    });
    best_of("framing + classification (one pass)", bytes, || {
        classify_only(&pages);
    });
    let schema = decode_pages(&FetchDecoder::new(DecodeOptions::default()), &pages[..1]).1;
    best_of("arrow-json alone, NDJSON (floor)", ndjson.len(), || {
        arrow_only(schema.clone(), &ndjson);
    });
    // A fresh fetch per run: the first page is decoded at `finish`, the others stream.
    best_of("full page decoder, streaming", bytes, || {
        decode_pages(&FetchDecoder::new(DecodeOptions::default()), &pages);
    });
    // The path of pages that start before any schema is known: classify, then re-frame and
    // decode at `finish`.
    best_of("full page decoder, decoded at finish", bytes, || {
        for page in pages.chunks(1) {
            decode_pages(&FetchDecoder::new(DecodeOptions::default()), page);
        }
    });
    let fetch = FetchDecoder::new(DecodeOptions::default());
    let decoded = decode_pages(&fetch, &pages).0;
    let start = Instant::now();
    let table = fetch.finish(decoded, Some("call_id")).unwrap();
    let rate = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
    println!("{:<44} {rate:>8.0} MB/s", "finish (unify + dedupe)");
    assert_eq!((table.rows, table.duplicates_dropped), (rows, 0));
}

fn frame_only(pages: &[Vec<Bytes>]) -> usize {
    let mut framed = 0;
    for chunks in pages {
        let mut splitter = Splitter::default();
        let mut sink = ScanSink(|_: &[u8]| {
            framed += 1;
            Ok(())
        });
        chunks
            .iter()
            .for_each(|c| splitter.feed(c, &mut sink).unwrap());
        splitter.finish().unwrap();
    }
    framed
}

fn classify_only(pages: &[Vec<Bytes>]) {
    for chunks in pages {
        let mut splitter = Splitter::default();
        let mut sink = ClassifySink(Classifier {
            parse_dates: true,
            ..Classifier::default()
        });
        chunks
            .iter()
            .for_each(|c| splitter.feed(c, &mut sink).unwrap());
    }
}

fn arrow_only(schema: arrow_schema::SchemaRef, ndjson: &[u8]) {
    let mut decoder = ReaderBuilder::new(schema)
        .with_batch_size(16_384)
        .with_coerce_primitive(true)
        .build_decoder()
        .unwrap();
    let mut at = 0;
    while at < ndjson.len() {
        let n = decoder
            .decode(&ndjson[at..(at + CHUNK).min(ndjson.len())])
            .unwrap();
        at += n;
        if n == 0 || decoder.len() >= 16_384 {
            decoder.flush().unwrap();
        }
    }
    decoder.flush().unwrap();
}

fn decode_pages(
    fetch: &FetchDecoder,
    pages: &[Vec<Bytes>],
) -> (Vec<super::DecodedPage>, arrow_schema::SchemaRef) {
    let decoded = pages
        .iter()
        .map(|chunks| {
            let mut page = fetch.page();
            chunks.iter().for_each(|c| page.feed(c.clone()).unwrap());
            page.finish().unwrap()
        })
        .collect();
    (decoded, fetch.current_schema().unwrap())
}
