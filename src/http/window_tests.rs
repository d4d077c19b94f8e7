//! The page window against a loopback server that answers each page after a delay and counts
//! the requests it is answering at once. Pages beyond `concurrency` wait in the window for a
//! permit and requests are spaced (`pacing`), yet every row arrives exactly once, whatever the
//! order pages finish in and however slowly the consumer takes them, and the server never sees
//! more than `concurrency` requests at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{Array, Int64Array};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::listing::{fetch_all, Listing};
use super::paginate::PageSpec;
use super::query::ListingKey;
use super::ApiClient;
use crate::config::ClientConfig;
use crate::decode::{DecodeOptions, DecodedPage, FetchDecoder};

/// What the server saw.
#[derive(Default)]
struct Seen {
    active: AtomicUsize,
    peak: AtomicUsize,
    requests: AtomicUsize,
}

/// Serves `rows` calls (`call_id` 0..rows) in pages; page `p` is answered after
/// `delay(p)`.
async fn serve(rows: usize, delay: fn(usize) -> Duration) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let counts = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(connection(conn, rows, delay, Arc::clone(&counts)));
        }
    });
    (url, seen)
}

/// Answers the requests of one keep-alive connection.
async fn connection(
    mut conn: TcpStream,
    rows: usize,
    delay: fn(usize) -> Duration,
    seen: Arc<Seen>,
) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 4096];
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end);
        let active = seen.active.fetch_add(1, Ordering::SeqCst) + 1;
        seen.peak.fetch_max(active, Ordering::SeqCst);
        seen.requests.fetch_add(1, Ordering::SeqCst);
        let page = parameter(&head, "page");
        let size = parameter(&head, "n_per_page");
        tokio::time::sleep(delay(page)).await;
        let first = (page - 1) * size;
        let ids: Vec<String> = (first..(first + size).min(rows))
            .map(|id| format!("{{\"call_id\":{id}}}"))
            .collect();
        let body = format!("[{}]", ids.join(","));
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let written = conn.write_all(response.as_bytes()).await;
        seen.active.fetch_sub(1, Ordering::SeqCst);
        if written.is_err() {
            return;
        }
    }
}

/// The number after `name=` in a request line (also read by `paginate_tests`).
pub(crate) fn parameter(head: &str, name: &str) -> usize {
    let key = format!("{name}=");
    let at = head.find(&key).unwrap() + key.len();
    head[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn listing(url: &str, concurrency: usize, page_size: usize) -> Listing {
    let config = ClientConfig::new(url, "key").with_max_concurrency(concurrency);
    let spec = PageSpec {
        path: "/calls",
        query: Vec::new(),
        page_size,
        concurrency,
    };
    let decoder = Arc::new(FetchDecoder::new(DecodeOptions::default()));
    let client = ApiClient::new(config).unwrap();
    Listing::new(
        client,
        spec,
        decoder,
        Some(ListingKey::CALLS),
        Arc::default(),
    )
}

fn ids(page: &DecodedPage) -> Vec<i64> {
    let mut all = Vec::new();
    for batch in &page.batches {
        let column = batch.column_by_name("call_id").unwrap();
        let values = column.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(values.null_count(), 0);
        all.extend(values.values().iter().copied());
    }
    all
}

/// Pages finish out of order: every third is slow, the next one fast.
fn uneven(page: usize) -> Duration {
    Duration::from_millis([25, 2, 9][page % 3])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_once_and_never_more_than_concurrency_on_the_wire() {
    for concurrency in [1, 2, 3, 5] {
        let (rows, page_size) = (3_050, 200);
        let (url, seen) = serve(rows, uneven).await;
        let table = fetch_all(listing(&url, concurrency, page_size))
            .await
            .unwrap();
        let mut got = Vec::new();
        for batch in &table.batches {
            let column = batch.column_by_name("call_id").unwrap();
            let values = column.as_any().downcast_ref::<Int64Array>().unwrap();
            got.extend(values.values().iter().copied());
        }
        let expected: Vec<i64> = (0..rows as i64).collect();
        assert_eq!(got, expected, "concurrency {concurrency}");
        let peak = seen.peak.load(Ordering::SeqCst);
        assert!(
            (1..=concurrency).contains(&peak),
            "{peak} requests at once with concurrency {concurrency}"
        );
        // Every page, and past the short last page at most the window's pages ahead.
        let pages = rows.div_ceil(page_size);
        let requests = seen.requests.load(Ordering::SeqCst);
        assert!(
            (pages + 1..=pages + 1 + concurrency + 2).contains(&requests),
            "{requests} requests for {pages} pages"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_gets_every_row_once_in_order() {
    let (rows, page_size, concurrency) = (2_000, 100, 3);
    let (url, seen) = serve(rows, uneven).await;
    let mut listing = listing(&url, concurrency, page_size);
    let mut got = Vec::new();
    let mut pages = 0;
    while let Some(page) = listing.next_page().await {
        got.extend(ids(&page.unwrap()));
        pages += 1;
        // Every other page the consumer is slower than the server: decoded pages wait for it.
        if pages % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    assert_eq!(got, (0..rows as i64).collect::<Vec<_>>());
    assert!(seen.peak.load(Ordering::SeqCst) <= concurrency);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_stops_after_one_page_caused_only_the_first_window() {
    let (rows, page_size, concurrency) = (5_000, 100, 4);
    let (url, seen) = serve(rows, |_| Duration::from_millis(5)).await;
    let mut listing = listing(&url, concurrency, page_size);
    let first = listing.next_page().await.unwrap().unwrap();
    assert_eq!(ids(&first), (0..100).collect::<Vec<i64>>());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let requests = seen.requests.load(Ordering::SeqCst);
    assert!(requests <= concurrency, "{requests} requests");
    drop(listing);
}
