//! The page window against a loopback server that answers each page after a delay and counts
//! the requests it is answering at once. Pages beyond `concurrency` wait in the window for a
//! permit and requests are spaced (`pacing`), yet every row arrives exactly once, whatever the
//! order pages finish in and however slowly the consumer takes them, and the server never sees
//! more than `concurrency` requests at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::listing::fetch_all;
use super::test_server::{
    call_ids, calls_listing as listing, calls_listing_read_whole, serve as serve_answers,
};

/// What the server saw.
#[derive(Default)]
struct Seen {
    active: AtomicUsize,
    peak: AtomicUsize,
    requests: AtomicUsize,
    /// The pages asked for, in the order they arrived (a failure prints them).
    order: std::sync::Mutex<Vec<usize>>,
}

/// One request the server is answering; it stops counting when dropped.
struct Active(Arc<Seen>);

impl Active {
    fn arrived(seen: Arc<Seen>, page: usize) -> Self {
        seen.order.lock().unwrap().push(page);
        let active = seen.active.fetch_add(1, Ordering::SeqCst) + 1;
        seen.peak.fetch_max(active, Ordering::SeqCst);
        seen.requests.fetch_add(1, Ordering::SeqCst);
        Self(seen)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `rows` calls (`call_id` 0..rows) in pages; page `p` is answered after
/// `delay(p)`. A request counts as active from its arrival until its rows are chosen, or
/// until the client closes its connection: a page the pager gave up on (past the end of the
/// listing) is aborted, and its permit goes to the next request at once. While that answer
/// still slept, the next request made one more than `concurrency` at once here (a flaky
/// failure in CI), though the client had only `concurrency` open.
async fn serve(rows: usize, delay: fn(usize) -> Duration) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let counts = Arc::clone(&seen);
    let url = serve_answers(Arc::new(move |page, size| {
        let seen = Arc::clone(&counts);
        Box::pin(async move {
            let active = Active::arrived(seen, page);
            tokio::time::sleep(delay(page)).await;
            let first = (page - 1) * size;
            drop(active);
            (first..(first + size).min(rows)).collect()
        })
    }))
    .await;
    (url, seen)
}

/// An eager fetch (`whole`) or a stream of the listing at `url`: every call of `0..rows` once,
/// in order.
async fn fetch_every_row(
    url: &str,
    whole: bool,
    concurrency: usize,
    page_size: usize,
    rows: usize,
) {
    let make = if whole {
        calls_listing_read_whole
    } else {
        listing
    };
    let table = fetch_all(make(url, concurrency, page_size)).await.unwrap();
    let expected: Vec<i64> = (0..rows as i64).collect();
    assert_eq!(call_ids(&table.batches), expected, "eager {whole}");
}

/// Pages finish out of order: every third is slow, the next one fast.
fn uneven(page: usize) -> Duration {
    Duration::from_millis([25, 2, 9][page % 3])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_once_and_never_more_than_concurrency_on_the_wire() {
    for (concurrency, whole) in [1, 2, 3, 5]
        .into_iter()
        .flat_map(|c| [(c, false), (c, true)])
    {
        let (rows, page_size) = (3_050, 200);
        let (url, seen) = serve(rows, uneven).await;
        fetch_every_row(&url, whole, concurrency, page_size, rows).await;
        let peak = seen.peak.load(Ordering::SeqCst);
        assert!(
            (1..=concurrency).contains(&peak),
            "{peak} requests at once with concurrency {concurrency} (pages asked: {:?})",
            seen.order.lock().unwrap()
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
        got.extend(call_ids(&page.unwrap().batches));
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
    assert_eq!(call_ids(&first.batches), (0..100).collect::<Vec<i64>>());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let requests = seen.requests.load(Ordering::SeqCst);
    assert!(requests <= concurrency, "{requests} requests");
    drop(listing);
}

/// Page 1 answers last. A stream's window stays at `concurrency` pages until the consumer has
/// page 1 (it may stop there); an eager fetch's also keeps pages waiting for page 1 beside
/// the wire, so the link does not idle while the first page is slow. Both get every row once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eager_fetch_keeps_requesting_while_the_first_page_is_slow() {
    let (rows, page_size, concurrency) = (2_000, 100, 2);
    for whole in [false, true] {
        let (url, seen) = serve(rows, |page| {
            Duration::from_millis(if page == 1 { 1_500 } else { 5 })
        })
        .await;
        let make = if whole {
            calls_listing_read_whole
        } else {
            listing
        };
        let fetch = tokio::spawn(fetch_all(make(&url, concurrency, page_size)));
        tokio::time::sleep(Duration::from_millis(600)).await;
        let requests = seen.requests.load(Ordering::SeqCst);
        let expected = if whole { concurrency + 2 } else { concurrency };
        assert_eq!(requests, expected, "eager: {whole}");
        let table = fetch.await.unwrap().unwrap();
        assert_eq!(
            call_ids(&table.batches),
            (0..rows as i64).collect::<Vec<_>>()
        );
        assert!(seen.peak.load(Ordering::SeqCst) <= concurrency);
    }
}

/// A listing of one short page: the eager fetch asks for no more pages than a stream does
/// (its extra window waits for a page that came back full), whatever order pages finish in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eager_fetch_of_one_short_page_asks_for_no_more_than_a_stream() {
    let (rows, page_size, concurrency) = (50, 100, 4);
    for _ in 0..5 {
        let mut requests = Vec::new();
        for whole in [false, true] {
            let (url, seen) = serve(rows, uneven).await;
            fetch_every_row(&url, whole, concurrency, page_size, rows).await;
            requests.push(seen.requests.load(Ordering::SeqCst));
        }
        assert!(requests[1] <= requests[0], "stream, eager: {requests:?}");
    }
}

/// The listing's last page (10) is slow and the pages past it answer empty after 150 ms, one at
/// a time on the one permit page 10 leaves free, so the tasks started beside the wire for the
/// pages past the end wait for that permit while an empty answer is in hand. None of them past
/// the two that confirm the end (`CONFIRMING_PAGES`) is asked for once the pager has had that
/// answer for a while (100 ms): they are held back (they used to go, as three requests past
/// the end went on the WAN profile, ahead of the end page's re-read). Which page past the end
/// goes first is the scheduler's: a page below the first empty one in hand still goes. Every
/// row arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_first_reading_goes_past_an_empty_page_in_hand() {
    let (rows, page_size, concurrency) = (1_000, 100, 2);
    for whole in [false, true] {
        let seen = Arc::new(Seen::default());
        let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let empties = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (counts, arrived, emptied) = (
            Arc::clone(&seen),
            Arc::clone(&arrivals),
            Arc::clone(&empties),
        );
        let url = serve_answers(Arc::new(move |page, size| {
            let (seen, arrived, emptied) = (
                Arc::clone(&counts),
                Arc::clone(&arrived),
                Arc::clone(&emptied),
            );
            Box::pin(async move {
                arrived.lock().unwrap().push((page, Instant::now()));
                let active = Active::arrived(seen, page);
                let delay = match page {
                    10 => 400,
                    11.. => 150,
                    _ => 0,
                };
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let first = (page - 1) * size;
                drop(active);
                let ids: Vec<usize> = (first..(first + size).min(rows)).collect();
                if ids.is_empty() {
                    emptied.lock().unwrap().push((page, Instant::now()));
                }
                ids
            })
        }))
        .await;
        fetch_every_row(&url, whole, concurrency, page_size, rows).await;
        let (arrivals, empties) = (arrivals.lock().unwrap(), empties.lock().unwrap());
        let mut asked = std::collections::HashSet::new();
        for &(page, at) in arrivals.iter() {
            // Only first readings are held back; a page read again is asked for on purpose.
            if !asked.insert(page) {
                continue;
            }
            let late = empties.iter().find(|&&(empty, answered)| {
                empty + 2 < page && at > answered + Duration::from_millis(100)
            });
            assert!(
                late.is_none(),
                "eager {whole}: page {page} asked for well after page {:?} came back empty \
                 (pages asked: {:?})",
                late,
                arrivals.iter().map(|(page, _)| page).collect::<Vec<_>>()
            );
        }
        assert!(asked.contains(&11));
    }
}
