//! The throughput measurement behind the numbers in `mod.rs`'s docs. Run it with
//! `cargo test --release --lib -- --ignored --nocapture decode_throughput`
//! (`DECODE_ROWS=1000000` for the 1M-call set; default 200 000 rows, ~150 MB).
//!
//! It builds rows shaped like the emulator's `/calls` rows (the 20 columns in API order, ~760
//! bytes each, an escaped quote in most summaries and non-ASCII text in all), cuts them into
//! pages of 10 000 rows and 16 KiB chunks (hyper's typical read size), and times each stage on
//! one thread: framing alone, framing + classification, arrow-json alone on newline-delimited
//! rows, and the page decoder with the reference path and with the fast path (`fast/`).
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
    let topics = ["invoice", "cancellation", "upgrade", "delivery", "refund"];
    let outcomes = ["sale", "no_sale", "callback", "resolved"];
    let topic = topics[i % topics.len()];
    let outcome = outcomes[(i / 3) % outcomes.len()];
    let mut summary = format!(
        "Customer called about a {topic} issue with order #{i}. Eva Bos checked the account, \
         explained the options and confirmed the next steps by e-mail. The customer sounded \
         relieved and thanked the agent twice. Hold time was kept short; outcome: {outcome}. \
         Café-style follow-up note: “check again in 3 days”."
    );
    if i % 10 < 7 {
        summary.push_str(r#" Rep wrote: \"call me back\"."#);
    }
    let (day, h, m, s) = (1 + i % 28, 8 + i % 10, i % 60, (i * 7) % 60);
    let duration = 30 + (i * 13) % 1800;
    write!(
        out,
        r#"{{"call_id":{},"vendor_call_id":"42a9a209-cc65-4642-a99d-{:012x}","rep_id":"eva{}","vendor":"talkdesk","campaign":"retention","subcampaign":"churn_risk","department":"support","start_time":"2024-10-{day:02} {h:02}:{m:02}:{s:02}","end_time":"2024-10-{day:02} {:02}:{m:02}:{s:02}","date":"2024-10-{day:02}","duration":{duration},"talk_time":{},"hold_time":{},"silence_time":{},"sentiment":{:.3},"words_rep":{},"words_customer":{},"topic":"{topic}","outcome":"{outcome}","summary":"{summary}"}}"#,
        1_000 + i,
        i * 7919,
        i % 500,
        h + 1,
        duration * 7 / 8,
        duration / 16,
        duration / 16,
        ((i * 37) % 2000) as f64 / 1000.0 - 1.0,
        1000 + (i * 31) % 3000,
        1000 + (i * 17) % 3000,
    )
    .unwrap();
}

/// Pages as lists of chunks, plus the same rows newline-delimited, and the total page bytes.
fn corpus(rows: usize) -> (Vec<Vec<Bytes>>, Vec<u8>, usize) {
    let (mut pages, mut ndjson, mut bytes, mut i) = (Vec::new(), Vec::new(), 0, 0);
    while i < rows {
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

/// Runs `stage` `RUNS` times and prints the best rate, by wall time and by this thread's CPU
/// time (which a busy machine disturbs less: time spent descheduled does not count). The best
/// run is the one least disturbed by other work. `DECODE_STAGE=fast` (any part of a stage's
/// name) runs only the stages it names, e.g. under `perf record`.
fn best_of(what: &str, bytes: usize, mut stage: impl FnMut()) {
    const RUNS: usize = 5;
    if let Ok(only) = std::env::var("DECODE_STAGE") {
        if !what.contains(only.as_str()) {
            return;
        }
    }
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..RUNS {
        let (start, start_cpu) = (Instant::now(), thread_cpu_seconds());
        stage();
        wall = wall.min(start.elapsed().as_secs_f64());
        cpu = cpu.min(thread_cpu_seconds() - start_cpu);
    }
    let rate = |seconds: f64| bytes as f64 / seconds / 1e6;
    println!(
        "{what:<44} {:>8.0} MB/s {:>8.0} MB/s of CPU",
        rate(wall),
        rate(cpu)
    );
}

/// This thread's time on a CPU so far, from `/proc/thread-self/schedstat` (nanoseconds, Linux);
/// NaN elsewhere.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
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
    let rows: usize = std::env::var("DECODE_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200_000);
    let (pages, ndjson, bytes) = corpus(rows);
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
    best_of("page decoder, reference path, streaming", bytes, || {
        decode_pages(&FetchDecoder::reference(DecodeOptions::default()), &pages);
    });
    best_of("page decoder, fast path", bytes, || {
        let fetch = FetchDecoder::new(DecodeOptions::default());
        let decoded = decode_pages(&fetch, &pages).0;
        assert!(
            decoded[1..].iter().all(|p| p.fast),
            "a page declined the fast path"
        );
    });
    // The path of pages that start before any schema is known: classify, then re-frame and
    // decode at `finish`.
    best_of("page decoder, decoded at finish", bytes, || {
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
