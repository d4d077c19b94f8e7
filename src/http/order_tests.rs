//! Over real HTTP, the same pages answered in different orders (each page delayed by its own
//! amount, so pages arrive, start and finish decoding in another order each time) give the
//! same eager table, the same stream, the same files in every format and the same warnings
//! (outside trial 16: an integer beyond 2^53 came back rounded or exact from run to run, in
//! `client.calls()` and in `fetch -o` files alike, the warnings not matching the file).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_select::concat::concat_batches;

use crate::http::listing::fetch_all;
use crate::http::test_server::{calls_listing, serve_bodies};
use crate::write::{FileFormat, FileWriter};

const PAGE_SIZE: usize = 2;

/// An integer beyond 2^53 (page 1), a float (page 2), text (page 3): the outside trial's pages.
const PAGES: [&str; 3] = [
    r#"[{"call_id":1,"x":9007199254740993},{"call_id":2,"x":101}]"#,
    r#"[{"call_id":3,"x":1.5},{"call_id":4,"x":null}]"#,
    r#"[{"call_id":5,"x":"x"},{"call_id":6}]"#,
];

/// Serves `pages` (then empty pages), answering page `p` after `delays[p - 1]` ms.
async fn serve(pages: &'static [&'static str], delays: Vec<u64>) -> String {
    serve_bodies(Arc::new(move |page, _size| {
        let delay = delays.get(page - 1).copied().unwrap_or(0);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            pages.get(page - 1).map_or("[]", |body| body).to_owned()
        })
    }))
    .await
}

/// Everything a fetch of the listing gives, as text.
#[derive(Debug, PartialEq)]
struct Seen {
    eager: Vec<String>,
    eager_warnings: Vec<String>,
    stream: Vec<String>,
    stream_warnings: Vec<String>,
    /// Per format: the file's bytes and its notes.
    files: Vec<(Vec<u8>, Vec<String>)>,
}

fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("null");
    batches
        .iter()
        .flat_map(|batch| {
            let f: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
                .collect();
            let names: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.to_string())
                .collect();
            (0..batch.num_rows())
                .map(|i| {
                    let cells: Vec<String> = f.iter().map(|f| f.value(i).to_string()).collect();
                    format!("{names:?} {cells:?}")
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn fetch(pages: &'static [&'static str], delays: &[u64], dir: &Path) -> Seen {
    let url = serve(pages, delays.to_vec()).await;
    let table = fetch_all(calls_listing(&url, 3, PAGE_SIZE)).await.unwrap();
    let eager = concat_batches(&table.schema, &table.batches).unwrap();

    let url = serve(pages, delays.to_vec()).await;
    let mut listing = calls_listing(&url, 3, PAGE_SIZE);
    let mut streamed = Vec::new();
    while let Some(page) = listing.next_page().await {
        streamed.extend(
            listing
                .streamed(page.unwrap())
                .unwrap()
                .into_iter()
                .map(|s| s.batch),
        );
    }
    let mut files = Vec::new();
    for name in ["out.csv", "out.ndjson", "out.parquet", "out.arrow"] {
        let path = dir.join(name);
        let mut writer = FileWriter::new(&path, FileFormat::from_path(&path).unwrap());
        for batch in &streamed {
            writer.write(batch).unwrap();
        }
        let summary = writer.finish(None).unwrap();
        files.push((std::fs::read(&path).unwrap(), summary.notes));
    }
    Seen {
        eager: rows(&[eager]),
        eager_warnings: table.warnings,
        stream: rows(&streamed),
        stream_warnings: listing.warnings(),
        files,
    }
}

/// Delays that make the three pages arrive in every order.
const ORDERS: [[u64; 3]; 6] = [
    [0, 80, 160],
    [160, 80, 0],
    [80, 0, 160],
    [0, 160, 80],
    [160, 0, 80],
    [80, 160, 0],
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_arrival_order_gives_the_same_table_stream_files_and_warnings() {
    let dir = std::env::temp_dir().join(format!("converz-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for pages in [&PAGES[..], &PAGES[..2]] {
        let pages: &'static [&'static str] = Box::leak(pages.to_vec().into_boxed_slice());
        let want = fetch(pages, &[0, 0, 0], &dir).await;
        for delays in ORDERS {
            let got = fetch(pages, &delays, &dir).await;
            assert_eq!(
                got,
                want,
                "{} pages answered after {delays:?} ms",
                pages.len()
            );
        }
        let text = String::from_utf8(want.files[0].0.clone()).unwrap();
        if pages.len() == 3 {
            // The column ends as text: the integer exact everywhere, in the table and files.
            assert!(
                want.eager[0].contains("\"9007199254740993\""),
                "{:?}",
                want.eager
            );
            assert!(text.contains("9007199254740993"), "{text}");
            assert_eq!(want.eager_warnings.len(), 1, "{:?}", want.eager_warnings);
            assert!(!want.eager_warnings[0].contains("rounded"));
        } else {
            // Float64: rounded, and the warning says so.
            assert!(
                want.eager[0].contains("\"9007199254740992.0\""),
                "{:?}",
                want.eager
            );
            assert!(
                want.eager_warnings[0].contains("Float64 rounds"),
                "{:?}",
                want.eager_warnings
            );
            assert_eq!(want.eager_warnings, want.stream_warnings);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
