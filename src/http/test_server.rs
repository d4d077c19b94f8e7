//! A loopback HTTP/1.1 server for the pager's tests (`window_tests`, `paginate_tests`,
//! `read_again_tests`): it answers every `GET /calls?page=P&n_per_page=N` on keep-alive
//! connections with a JSON array of `{"call_id": id}` rows, the ids chosen (and the answer
//! timed) by the test's `answer` ([`serve`]), or with whatever body the test makes
//! ([`serve_bodies`]). Each test decides what its server does wrong; this module only speaks
//! HTTP.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::listing::Listing;
use super::paginate::PageSpec;
use super::query::ListingKey;
use super::ApiClient;
use crate::config::ClientConfig;
use crate::decode::{DecodeOptions, FetchDecoder};

/// The ids of the page a request asks for, given its `(page, n_per_page)`; the future may
/// sleep to answer late.
pub(crate) type Answer =
    Arc<dyn Fn(usize, usize) -> Pin<Box<dyn Future<Output = Vec<usize>> + Send>> + Send + Sync>;

/// The body of the page a request asks for, given its `(page, n_per_page)`.
pub(crate) type BodyAnswer =
    Arc<dyn Fn(usize, usize) -> Pin<Box<dyn Future<Output = String> + Send>> + Send + Sync>;

/// Starts the server; returns its base URL (`http://127.0.0.1:PORT/api/v1`).
pub(crate) async fn serve(answer: Answer) -> String {
    serve_bodies(Arc::new(move |page, size| {
        let ids = answer(page, size);
        Box::pin(async move {
            let rows: Vec<String> = ids
                .await
                .iter()
                .map(|id| format!("{{\"call_id\":{id}}}"))
                .collect();
            format!("[{}]", rows.join(","))
        })
    }))
    .await
}

/// Starts a server that answers each page with the body `answer` makes; returns its base URL.
pub(crate) async fn serve_bodies(answer: BodyAnswer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(connection(conn, Arc::clone(&answer)));
        }
    });
    url
}

/// Answers the requests of one keep-alive connection, in order.
async fn connection(mut conn: TcpStream, answer: BodyAnswer) {
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
        let answering = answer(parameter(&head, "page"), parameter(&head, "n_per_page"));
        // A client that gives up on a request (a page past the end, aborted) closes its
        // connection: the answer stops there, as a server's handler is cancelled.
        let body = tokio::select! {
            body = answering => body,
            () = closed_by_peer(&mut conn, &mut buffer) => return,
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if conn.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Returns once the peer closes `conn`; bytes it sends meanwhile (a next request) are kept in
/// `buffer`.
async fn closed_by_peer(conn: &mut TcpStream, buffer: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    loop {
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The number after `name=` in a request's head.
fn parameter(head: &str, name: &str) -> usize {
    let key = format!("{name}=");
    let at = head.find(&key).unwrap() + key.len();
    head[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A listing of `/calls` at `url`, keyed by `call_id`, with default decoding, for a consumer
/// that may stop early (a stream).
pub(crate) fn calls_listing(url: &str, concurrency: usize, page_size: usize) -> Listing {
    listing_of_calls(url, concurrency, page_size, false)
}

/// The same listing for an eager fetch, which reads every page ([`PageSpec::reads_all`]).
pub(crate) fn calls_listing_read_whole(url: &str, concurrency: usize, page_size: usize) -> Listing {
    listing_of_calls(url, concurrency, page_size, true)
}

fn listing_of_calls(url: &str, concurrency: usize, page_size: usize, reads_all: bool) -> Listing {
    let config = ClientConfig::new(url, "key").with_max_concurrency(concurrency);
    let spec = PageSpec {
        path: "/calls",
        query: Vec::new(),
        page_size,
        concurrency,
        reads_all,
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

/// Every page of `listing` read to the end, and the `call_id`s it handed over in order.
pub(crate) async fn collect_ids(listing: &mut Listing) -> Vec<i64> {
    let mut got = Vec::new();
    while let Some(page) = listing.next_page().await {
        got.extend(call_ids(&page.unwrap().batches));
    }
    got
}

/// The `call_id`s of `batches` in order (none may be null).
pub(crate) fn call_ids(batches: &[RecordBatch]) -> Vec<i64> {
    let mut all = Vec::new();
    for batch in batches {
        let column = batch.column_by_name("call_id").unwrap();
        let values = column.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(values.null_count(), 0);
        all.extend(values.values().iter().copied());
    }
    all
}
