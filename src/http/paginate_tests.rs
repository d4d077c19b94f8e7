//! The pager against loopback servers whose pages contradict each other: a short page before
//! the last at every page size (a server that drops rows from its pages after paging them), an
//! empty page with rows after it. Either must end in an error that says so, never in a listing
//! that silently stops at the gap; rows appended while paging (which the contract allows) must
//! still arrive, each once.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::decode::DecodedTable;
use crate::error::{Error, Result};
use crate::http::listing::fetch_all;
use crate::http::test_server::{
    call_ids, calls_listing, calls_listing_read_whole, collect_ids, serve as serve_answers,
};

/// The `call_id`s a page holds, from its number, its size and the `(page, n_per_page)` of every
/// request answered before it.
type Rows = fn(usize, usize, &[(usize, usize)]) -> Vec<usize>;

/// How long the server waits before answering a page.
type Delay = fn(usize) -> Duration;

/// What the server was asked: `(page, n_per_page)` in answering order.
type Asked = Arc<Mutex<Vec<(usize, usize)>>>;

/// Serves `rows` for every page, page `p` after `delay(p)`.
async fn serve(rows: Rows, delay: Delay) -> (String, Asked) {
    let asked: Asked = Arc::default();
    let log = Arc::clone(&asked);
    let url = serve_answers(Arc::new(move |page, size| {
        let log = Arc::clone(&log);
        Box::pin(async move {
            tokio::time::sleep(delay(page)).await;
            let mut asked = log.lock();
            let ids = rows(page, size, &asked);
            asked.push((page, size));
            ids
        })
    }))
    .await;
    (url, asked)
}

/// `call_id`s 1..=total in pages of `size`: page `page`'s share.
fn slice(total: usize, page: usize, size: usize) -> Vec<usize> {
    let first = (page - 1) * size + 1;
    (first..=(page * size).min(total)).collect()
}

async fn fetch(url: &str, page_size: usize, concurrency: usize) -> Result<DecodedTable> {
    fetch_all(calls_listing(url, concurrency, page_size)).await
}

fn ids(table: &DecodedTable) -> Vec<i64> {
    call_ids(&table.batches)
}

fn decode_message(result: Result<DecodedTable>) -> String {
    match result {
        Err(Error::Decode { endpoint, message }) => {
            assert_eq!(endpoint, "GET /calls");
            message
        }
        Err(other) => panic!("not a decode error: {other}"),
        Ok(table) => panic!("{} rows and no error", table.rows),
    }
}

/// Pages from 4 on are answered late, so they arrive after the pages before them.
fn later_pages_late(page: usize) -> Duration {
    Duration::from_millis(if page >= 4 { 30 } else { 0 })
}

/// Page 3 is two rows short at any size, the pages after it full.
fn short_page_three(page: usize, size: usize, _: &[(usize, usize)]) -> Vec<usize> {
    let mut rows = slice(100, page, size);
    if page == 3 {
        rows.drain(..2.min(rows.len()));
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_page_at_every_size_fails_after_one_re_paging() {
    for concurrency in [1, 4] {
        let (url, asked) = serve(short_page_three, later_pages_late).await;
        let message = decode_message(fetch(&url, 10, concurrency).await);
        for says in [
            "page 3 held 6 rows where n_per_page=8 was asked",
            "because page 3 held 8 rows where 10 were asked",
            "cannot be read completely",
        ] {
            assert!(message.contains(says), "{concurrency}: {message}");
        }
        // Re-paged once, at the size the first short page showed, and never smaller.
        let sizes: Vec<usize> = asked.lock().iter().map(|&(_, size)| size).collect();
        assert!(sizes.iter().all(|size| [10, 8].contains(size)), "{sizes:?}");
        assert!(sizes.contains(&8), "{sizes:?}");
    }
}

/// Rows 25 and 26 are dropped from whatever page holds them, after paging.
fn hidden_after_paging(page: usize, size: usize, _: &[(usize, usize)]) -> Vec<usize> {
    let mut rows = slice(100, page, size);
    rows.retain(|id| ![25, 26].contains(id));
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_filtered_after_paging_fail_instead_of_shrinking_to_a_loss() {
    let (url, asked) = serve(hidden_after_paging, later_pages_late).await;
    let message = decode_message(fetch(&url, 10, 4).await);
    assert!(
        message.contains("page 4 held 6 rows where n_per_page=8"),
        "{message}"
    );
    assert!(!message.contains("ignore the page parameter"), "{message}");
    assert!(asked.lock().iter().all(|&(_, size)| size >= 8));
}

/// A server that caps every page at 8 rows, of 100.
fn capped_at_eight(page: usize, size: usize, _: &[(usize, usize)]) -> Vec<usize> {
    let mut rows = slice(100, page, size);
    rows.truncate(8);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_does_cap_still_gives_every_row_once() {
    let (url, _) = serve(capped_at_eight, later_pages_late).await;
    let table = fetch(&url, 10, 4).await.unwrap();
    assert_eq!(ids(&table), (1..=100).collect::<Vec<i64>>());
    assert_eq!(table.warnings.len(), 1, "{:?}", table.warnings);
}

/// Page `page` at `size` rows asked of `total` calls, capped at 2 rows whatever the size.
fn capped_at_two(total: usize, page: usize, size: usize) -> Vec<usize> {
    let mut rows = slice(total, page, size);
    rows.truncate(2);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eager_fetch_of_a_capped_listing_past_its_first_wave_ends() {
    // A listing of one capped page and a bit, every body too short to open the first wave:
    // re-paged at the cap, its short page 2 waits for page 3, past the wave at concurrency 2,
    // which was held back for ever (outside trial 51 F1: `calls()` hung).
    for total in 3..=5 {
        for concurrency in 2..=5 {
            let rows: Rows = match total {
                3 => |page, size, _| capped_at_two(3, page, size),
                4 => |page, size, _| capped_at_two(4, page, size),
                _ => |page, size, _| capped_at_two(5, page, size),
            };
            let (url, _) = serve(rows, |_| Duration::ZERO).await;
            let listing = calls_listing_read_whole(&url, concurrency, 3);
            let table = tokio::time::timeout(Duration::from_secs(20), fetch_all(listing))
                .await
                .unwrap_or_else(|_| panic!("{total} calls at concurrency {concurrency}: hung"))
                .unwrap();
            let expected: Vec<i64> = (1..=total as i64).collect();
            assert_eq!(
                ids(&table),
                expected,
                "{total} calls at concurrency {concurrency}"
            );
        }
    }
}

/// 100 calls; at n_per_page=10 the server serves at most 8 rows from page 3 on (a cap that shows
/// only past the first pages), at any other size every row asked.
fn capped_from_page_three(page: usize, size: usize, _: &[(usize, usize)]) -> Vec<usize> {
    let mut rows = slice(100, page, size);
    if size == 10 && page >= 3 {
        rows.truncate(8);
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_paging_after_a_cap_past_page_one_is_not_taken_for_moved_rows() {
    // Found by the outside trial: re-paging from page 1 at the capped size reads the rows of
    // pages 1 to 3 again, and those repeats were taken for rows that moved ("rows moved
    // between pages" and a whole second, sequential pass).
    for concurrency in [1, 4] {
        let (url, asked) = serve(capped_from_page_three, later_pages_late).await;
        let mut listing = calls_listing(&url, concurrency, 10);
        let got = collect_ids(&mut listing).await;
        assert_eq!(got, (1..=100).collect::<Vec<i64>>(), "{:?}", asked.lock());
        assert!(
            !listing.repaired(),
            "{concurrency}: {:?}",
            listing.warnings()
        );
        let warnings = listing.warnings();
        assert_eq!(warnings.len(), 1, "{concurrency}: {warnings:?}");
        assert!(warnings[0].contains("caps the page size"), "{warnings:?}");
    }
}

/// Calls 10, 20, ..., 1000, capped as [`capped_from_page_three`]; call 5 is inserted once page 2
/// was answered at n_per_page=8, while the listing is re-paged: the rows after it move on.
fn capped_then_inserted(page: usize, size: usize, before: &[(usize, usize)]) -> Vec<usize> {
    let mut ids: Vec<usize> = (1..=100).map(|i| 10 * i).collect();
    if before.contains(&(2, 8)) {
        ids.insert(0, 5);
    }
    let mut rows: Vec<usize> = ids.into_iter().skip((page - 1) * size).take(size).collect();
    if size == 10 && page >= 3 {
        rows.truncate(8);
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_that_move_while_re_paging_after_a_cap_are_still_warned_of() {
    let (url, asked) = serve(capped_then_inserted, |_| Duration::ZERO).await;
    let mut listing = calls_listing(&url, 1, 10);
    let mut got = collect_ids(&mut listing).await;
    got.sort_unstable();
    let mut expected: Vec<i64> = (1..=100).map(|i| 10 * i).collect();
    expected.insert(0, 5);
    assert_eq!(got, expected, "{:?}", asked.lock());
    let warnings = listing.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("caps the page size"), "{warnings:?}");
    assert!(
        warnings[1].contains("moved between pages") && warnings[1].contains("1 repeated"),
        "{warnings:?}"
    );
}

/// Page 4 is always empty; the pages after it hold rows.
fn empty_page_four(page: usize, size: usize, _: &[(usize, usize)]) -> Vec<usize> {
    match page {
        4 => Vec::new(),
        _ => slice(100, page, size),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_page_with_rows_after_it_fails() {
    for concurrency in [1, 4] {
        let (url, _) = serve(empty_page_four, later_pages_late).await;
        let message = decode_message(fetch(&url, 10, concurrency).await);
        // The page with rows named is the first after page 4 in hand: page 5, or at
        // concurrency 4 a later one sent before page 5 took its permit (page 5 is then held
        // back past the empty page: `reach`).
        let named =
            |later: u64| message.contains(&format!("page 4 was empty but page {later} had rows"));
        assert!(
            (named(5) || (concurrency > 1 && (6..=9).any(named)))
                && message.contains("inconsistent"),
            "{concurrency}: {message}"
        );
    }
}

/// Page 4 answers 30 ms late, pages after it 100 ms late.
fn slow_after_page_four(page: usize) -> Duration {
    Duration::from_millis(match page {
        ..4 => 0,
        4 => 30,
        _ => 100,
    })
}

/// 30 rows until page 4 was answered, 100 after: rows appended behind page 3 while paging,
/// seen by pages 5.. (answered later) but not by page 4's first answer.
fn appended_behind_page_three(page: usize, size: usize, before: &[(usize, usize)]) -> Vec<usize> {
    let appended = before.iter().any(|&(page, _)| page == 4);
    slice(if appended { 100 } else { 30 }, page, size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_appended_behind_an_empty_page_arrive_once() {
    // Rows appended while paging are legitimate (Part B): page 4, empty when first asked for
    // while pages after it were on their way, is read again, neither refused nor taken for
    // the end (which lost the 70 rows after it).
    for concurrency in [1, 4] {
        let (url, asked) = serve(appended_behind_page_three, slow_after_page_four).await;
        let table = fetch(&url, 10, concurrency).await.unwrap();
        assert_eq!(ids(&table), (1..=100).collect::<Vec<i64>>());
        let page_four = asked.lock().iter().filter(|&&(page, _)| page == 4).count();
        assert!(page_four >= 2, "{:?}", asked.lock());
    }
}

/// Page 8 answers 150 ms late.
fn slow_page_eight(page: usize) -> Duration {
    Duration::from_millis(if page == 8 { 150 } else { 0 })
}

/// Capped at 8 rows a page; 50 rows until page 7 was answered at n_per_page=8, 100 after: rows
/// appended behind the short last page while page 8 was on its way.
fn capped_then_appended(page: usize, size: usize, before: &[(usize, usize)]) -> Vec<usize> {
    let total = if before.contains(&(7, 8)) { 100 } else { 50 };
    let mut rows = slice(total, page, size);
    rows.truncate(8);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_appended_behind_a_short_page_after_a_cap_arrive_once() {
    // Not a refuted cap: page 7, short when asked for before page 8 arrived, is read again
    // (now full), and paging goes on at the capped size.
    let (url, asked) = serve(capped_then_appended, slow_page_eight).await;
    let table = fetch(&url, 10, 4).await.unwrap();
    assert_eq!(ids(&table), (1..=100).collect::<Vec<i64>>());
    let sizes: Vec<usize> = asked.lock().iter().map(|&(_, size)| size).collect();
    assert!(sizes.iter().all(|size| [10, 8].contains(size)), "{sizes:?}");
}

/// Page 4 answers 80 ms late.
fn slow_page_four(page: usize) -> Duration {
    Duration::from_millis(if page == 4 { 80 } else { 0 })
}

/// 25 rows until page 4 was answered, 45 from its answer on: rows appended behind the short
/// page 3 (answered first) while page 4 was on its way.
fn appended_behind_a_short_page(page: usize, size: usize, before: &[(usize, usize)]) -> Vec<usize> {
    let appended = page == 4 || before.iter().any(|&(page, _)| page == 4);
    slice(if appended { 45 } else { 25 }, page, size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_page_after_full_ones_is_read_again_not_taken_for_a_cap() {
    // Found by the outside trial: page 3, short (5 rows) with rows on page 4, was taken for a
    // cap, so the whole listing was paged again at 5 rows a page, with a warning of a cap.
    // Pages 1 and 2 were full at the size asked, so no cap explains it; rows appended between
    // the answers do.
    let (url, asked) = serve(appended_behind_a_short_page, slow_page_four).await;
    let table = fetch(&url, 10, 4).await.unwrap();
    assert_eq!(ids(&table), (1..=45).collect::<Vec<i64>>());
    assert!(table.warnings.is_empty(), "{:?}", table.warnings);
    let asked = asked.lock();
    assert!(asked.iter().all(|&(_, size)| size == 10), "{asked:?}");
    assert_eq!(
        asked.iter().filter(|&&(page, _)| page == 3).count(),
        2,
        "{asked:?}"
    );
}

/// Pages 3, 4, 1, 2 answer in that order (20 ms apart); every later request at once.
fn three_four_one_two(page: usize) -> Duration {
    Duration::from_millis(match page {
        4 => 20,
        1 => 40,
        2 => 60,
        _ => 0,
    })
}

/// Calls 1000, 2000, ..., 10000; before each answer (the k-th, counted from 0) the calls of
/// step k are inserted (the outside trial's replay of a fuzzer run).
fn inserted_while_answering(page: usize, size: usize, before: &[(usize, usize)]) -> Vec<usize> {
    const STEPS: [&[usize]; 6] = [
        &[3996],
        &[2666, 6198, 2250],
        &[],
        &[],
        &[6870, 7841],
        &[2415],
    ];
    let mut ids: Vec<usize> = (1..=10).map(|i| 1000 * i).collect();
    for step in STEPS.iter().take(before.len() + 1) {
        ids.extend_from_slice(step);
    }
    ids.sort_unstable();
    ids.into_iter().skip((page - 1) * size).take(size).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_inserted_before_answers_given_out_of_order_arrive_once() {
    // The shape of the outside trial's replay (its exact answer order, which lost call 10000,
    // is replayed by `tests/test_hostile_paging.py`; here the pacing of requests decides the
    // order): every call there from the start arrives, none twice.
    let (url, asked) = serve(inserted_while_answering, three_four_one_two).await;
    let table = fetch(&url, 5, 4).await.unwrap();
    let got = ids(&table);
    let unique: std::collections::BTreeSet<i64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "a row twice: {got:?}");
    for id in (1..=10).map(|i| 1000 * i) {
        assert!(
            unique.contains(&id),
            "call {id} lost: {got:?}, asked {:?}",
            asked.lock()
        );
    }
}

/// Page 2 answers 80 ms late, after every later page.
fn slow_page_two(page: usize) -> Duration {
    Duration::from_millis(if page == 2 { 80 } else { 0 })
}

/// Calls 10, 20, ..., 360 (36 rows); three calls (115, 116, 117) are inserted into page 2's range
/// just as page 2 is answered, after pages 3 to 5 were (the outside trial's finding: page 2's
/// last three rows move onto page 3, already read, and nothing repeats).
fn inserted_under_a_late_page(page: usize, size: usize, before: &[(usize, usize)]) -> Vec<usize> {
    let mut ids: Vec<usize> = (1..=36).map(|i| 10 * i).collect();
    if page == 2 || before.iter().any(|&(p, _)| p == 2) {
        ids.extend([115, 116, 117]);
        ids.sort_unstable();
    }
    ids.into_iter().skip((page - 1) * size).take(size).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_inserted_under_a_page_answered_late_are_not_skipped() {
    let (url, asked) = serve(inserted_under_a_late_page, slow_page_two).await;
    let mut listing = calls_listing(&url, 8, 10);
    let mut got = collect_ids(&mut listing).await;
    got.sort_unstable();
    let mut expected: Vec<i64> = (1..=36).map(|i| 10 * i).collect();
    expected.extend([115, 116, 117]);
    expected.sort_unstable();
    assert_eq!(got, expected, "asked {:?}", asked.lock());
    let warnings = listing.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("read again in order so no row is missed")),
        "{warnings:?}"
    );
}

/// Page 1 answers 80 ms late, after page 2.
fn slow_page_one(page: usize) -> Duration {
    Duration::from_millis(if page == 1 { 80 } else { 0 })
}

/// Calls 10, 20, ..., 190 (19 rows); call 15 is inserted just as page 1 is answered, after page
/// 2 was: call 100 moves from page 1 onto page 2, already read, and nothing repeats.
fn inserted_under_the_first_of_two(
    page: usize,
    size: usize,
    before: &[(usize, usize)],
) -> Vec<usize> {
    let mut ids: Vec<usize> = (1..=19).map(|i| 10 * i).collect();
    if page == 1 || before.iter().any(|&(p, _)| p == 1) {
        ids.insert(1, 15);
    }
    ids.into_iter().skip((page - 1) * size).take(size).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_pushed_onto_the_last_page_read_early_arrives_from_its_re_read() {
    let (url, asked) = serve(inserted_under_the_first_of_two, slow_page_one).await;
    let mut listing = calls_listing(&url, 4, 10);
    let got = collect_ids(&mut listing).await;
    let mut expected: Vec<i64> = (1..=19).map(|i| 10 * i).collect();
    expected.insert(1, 15);
    assert_eq!(got, expected, "asked {:?}", asked.lock());
    // Nothing repeated: the re-read of the last page alone brought the row back.
    assert!(!listing.repaired(), "{:?}", listing.warnings());
    // Yet call 100 moved from page 1 to page 2: the user is told the data changed (found by the
    // outside trial: no warning).
    let warnings = listing.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("moved between pages") && warnings[0].contains("last page"),
        "{warnings:?}"
    );
    // One space between words (outside trial 25 F5: runs of 22, the source's indentation).
    assert!(!warnings[0].contains("  "), "{warnings:?}");
}

/// Calls 10, 20, ..., 190 (19 rows); call 200 is appended just as page 1 is answered, after page
/// 2 was: page 2 read again holds one more row, at its end, and no row moved between pages.
fn appended_under_the_first_of_two(
    page: usize,
    size: usize,
    before: &[(usize, usize)],
) -> Vec<usize> {
    let mut ids: Vec<usize> = (1..=19).map(|i| 10 * i).collect();
    if page == 1 || before.iter().any(|&(p, _)| p == 1) {
        ids.push(200);
    }
    ids.into_iter().skip((page - 1) * size).take(size).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_appended_behind_the_last_page_read_early_moves_nothing() {
    let (url, asked) = serve(appended_under_the_first_of_two, slow_page_one).await;
    let mut listing = calls_listing(&url, 4, 10);
    let got = collect_ids(&mut listing).await;
    assert_eq!(got, (1..=20).map(|i| 10 * i).collect::<Vec<i64>>());
    let asked = asked.lock();
    assert!(
        asked.iter().filter(|&&(page, _)| page == 2).count() >= 2,
        "{asked:?}"
    );
    assert!(listing.warnings().is_empty(), "{:?}", listing.warnings());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_did_not_grow_reads_its_last_page_at_most_twice() {
    for concurrency in [1, 4] {
        let (url, asked) = serve(|page, size, _| slice(35, page, size), later_pages_late).await;
        let table = fetch(&url, 10, concurrency).await.unwrap();
        assert_eq!(ids(&table), (1..=35).collect::<Vec<i64>>());
        assert!(table.warnings.is_empty(), "{:?}", table.warnings);
        let asked = asked.lock();
        let last = asked.iter().filter(|&&(page, _)| page == 4).count();
        // Sequential paging serves pages in order: no re-read is needed.
        assert!(last <= if concurrency == 1 { 1 } else { 2 }, "{asked:?}");
        assert!(!asked
            .iter()
            .any(|&(page, _)| page == 1 && concurrency == 1 && last > 1));
    }
}

/// 50 calls; at most 8 a page, from an offset computed with the size asked (`LIMIT` from the
/// cap, `OFFSET` from `n_per_page`).
fn capped_with_asked_offsets(page: usize, size: usize, _: &[(usize, usize)]) -> Vec<usize> {
    let start = (page - 1) * size;
    (start + 1..=(start + size.min(8)).min(50)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_with_offsets_from_the_size_asked_loses_nothing() {
    // Page 2 at the size asked starts past the end; page 2 at page 1's size shows the cap.
    for concurrency in [1, 4] {
        let (url, _) = serve(capped_with_asked_offsets, later_pages_late).await;
        let mut listing = calls_listing(&url, concurrency, 100);
        let got = collect_ids(&mut listing).await;
        assert_eq!(got, (1..=50).collect::<Vec<i64>>());
        let warnings = listing.warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("it limits pages to 8 rows")),
            "{warnings:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_on_one_short_page_costs_one_small_probe() {
    let (url, asked) = serve(|page, size, _| slice(7, page, size), later_pages_late).await;
    let table = fetch(&url, 100, 4).await.unwrap();
    assert_eq!(ids(&table), (1..=7).collect::<Vec<i64>>());
    let asked = asked.lock();
    assert!(asked.contains(&(2, 7)), "{asked:?}");
    // Pages 1 to 3 went out together; the empty page 2, asked for before page 1 was in, is
    // confirmed once more (rows may have been appended), and the probe is the one more.
    assert!(asked.len() <= 5, "{asked:?}");
}

/// 95 calls; every page holds five rows more than asked, from an offset computed with the size
/// asked, so each page repeats the next one's first rows (outside trial 15).
fn oversized_with_asked_offsets(page: usize, size: usize, _: &[(usize, usize)]) -> Vec<usize> {
    let start = (page - 1) * size;
    (start + 1..=(start + size + 5).min(95)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_larger_than_asked_that_overlap_lose_nothing_and_are_named() {
    for concurrency in [1, 4] {
        let (url, _) = serve(oversized_with_asked_offsets, later_pages_late).await;
        let table = fetch(&url, 10, concurrency).await.unwrap();
        assert_eq!(ids(&table), (1..=95).collect::<Vec<i64>>());
        // Once, though the repair pass met the oversized pages again (outside trial 25 F6).
        let oversized = table
            .warnings
            .iter()
            .filter(|w| w.contains("more rows than the 10 asked"))
            .count();
        assert_eq!(oversized, 1, "{:?}", table.warnings);
        assert!(
            !table.warnings.iter().any(|w| w.starts_with("rows moved")),
            "no claim that the data changed: {:?}",
            table.warnings
        );
    }
}

/// When each request reached the server, and when page 5 (the first empty one) was answered,
/// for the test below only.
static ARRIVALS: Mutex<Vec<(usize, std::time::Instant)>> = Mutex::new(Vec::new());
static EMPTY_ANSWERED: Mutex<Option<std::time::Instant>> = Mutex::new(None);

/// Pages 2, 3 and 4 answered 150, 300 and 450 ms late, so they arrive one by one after the
/// empty pages after the last (5 on, 30 ms late). Notes when each request arrived.
fn pages_two_to_four_slow(page: usize) -> Duration {
    ARRIVALS.lock().push((page, std::time::Instant::now()));
    Duration::from_millis(match page {
        2..=4 => 150 * page as u64 - 150,
        5.. => 30,
        _ => 0,
    })
}

fn forty_rows_noting_page_five(page: usize, size: usize, _: &[(usize, usize)]) -> Vec<usize> {
    if page == 5 {
        EMPTY_ANSWERED
            .lock()
            .get_or_insert_with(std::time::Instant::now);
    }
    slice(40, page, size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_past_an_empty_one_in_hand_is_asked_for() {
    // While pages 2 to 4 keep the listing waiting, the empty pages 5 on are in hand: each
    // page handed out freed a place in the window, and filling it past the end only cost
    // requests (on the WAN profile the re-read that ends the listing waited behind them).
    let (url, asked) = serve(forty_rows_noting_page_five, pages_two_to_four_slow).await;
    let table = fetch(&url, 10, 8).await.unwrap();
    assert_eq!(ids(&table), (1..=40).collect::<Vec<i64>>());
    let answered = EMPTY_ANSWERED.lock().expect("page 5 was answered");
    let late: Vec<usize> = ARRIVALS
        .lock()
        .iter()
        // Page 5 itself is read again once pages 2 to 4 are in (it was asked for before).
        .filter(|&&(page, at)| page > 5 && at > answered + Duration::from_millis(100))
        .map(|&(page, _)| page)
        .collect();
    assert!(
        late.is_empty(),
        "asked past the end: {late:?}; all: {:?}",
        asked.lock()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_page_at_a_time_is_served_in_page_order() {
    // At concurrency 1 the pages beside the wire waited for the one permit together and went
    // out as the tasks happened to run (1, 4, 3, 2: outside trial 25); a sequential pass
    // trusts that they are served in order, and one insert between two such sends lost a row
    // with no warning. Twenty listings: the race showed in about half of them.
    for _ in 0..20 {
        let (url, asked) = serve(|page, size, _| slice(35, page, size), |_| Duration::ZERO).await;
        let table = fetch(&url, 10, 1).await.unwrap();
        assert_eq!(ids(&table), (1..=35).collect::<Vec<i64>>());
        let pages: Vec<usize> = asked.lock().iter().map(|&(page, _)| page).collect();
        assert!(pages.is_sorted(), "served out of order: {pages:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_held_until_the_end_shows_goes_when_a_short_or_empty_page_arrives() {
    // The eager fetch holds its cache of freed page buffers so: kept while bodies still come,
    // given back as the listing's last pages are decoded, not only once the fetch returns.
    let short: Rows = |page, size, _| slice(95, page, size);
    let whole: Rows = |page, size, _| slice(100, page, size);
    for (total, rows) in [(95, short), (100, whole)] {
        let (url, _) = serve(rows, |_| Duration::ZERO).await;
        let mut listing = calls_listing(&url, 4, 10);
        let token = Arc::new(());
        let held = Arc::downgrade(&token);
        listing.hold_until_the_end_shows(Box::new(token));
        // Before the first page is handed out only the first `concurrency` pages are asked for.
        let first = listing.next_page().await.unwrap().unwrap();
        assert_eq!(first.rows, 10);
        assert!(
            held.upgrade().is_some(),
            "dropped before the end showed ({total} rows)"
        );
        let mut rows = first.rows;
        while let Some(page) = listing.next_page().await {
            rows += page.unwrap().rows;
        }
        assert_eq!(rows, total);
        // The listing is still here: what it held went when the end showed.
        assert!(held.upgrade().is_none(), "kept past the end ({total} rows)");
        drop(listing);
    }
}
