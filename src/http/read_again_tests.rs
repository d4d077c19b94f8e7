//! The pager reads a page again when the fast path declines it (`fetch_page`): the first
//! reading keeps none of the body, so the reference decoder needs a second one. Over real HTTP,
//! against a server whose later pages drift from the first (a float in an integer column, keys
//! in another order): every row arrives once with the reference's values, each declined page is
//! asked for twice, and once a page was read again the later ones keep their bodies instead.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use parking_lot::Mutex;

use crate::http::listing::fetch_all;
use crate::http::test_server::{call_ids, calls_listing, serve_bodies};

const PAGE_SIZE: usize = 10;
const PAGES: usize = 5;

/// Row `id` of the listing: `x` is `id`, but `1.5` in row 25 (page 3) and, on page 4, the keys
/// come in the other order. Either makes the fast path decline the page.
fn row(id: usize) -> String {
    match (id, (id - 1) / PAGE_SIZE + 1) {
        (25, _) => format!("{{\"call_id\":{id},\"x\":1.5}}"),
        (_, 4) => format!("{{\"x\":{id},\"call_id\":{id}}}"),
        _ => format!("{{\"call_id\":{id},\"x\":{id}}}"),
    }
}

/// The pages asked for, in answering order.
type Asked = Arc<Mutex<Vec<usize>>>;

/// Serves `PAGES` full pages of [`row`]s and an empty one after them. Page `p` is answered
/// `p` × 60 ms after it is asked for, so page 3's decoder starts after page 1 finished (it then
/// takes the fast path under page 1's schema, keeping no body); page 4 is answered only once
/// page 3 was asked for again (or after 5 s), so its decoder starts after page 3 declined.
async fn serve() -> (String, Asked) {
    let asked: Asked = Arc::default();
    let log = Arc::clone(&asked);
    let url = serve_bodies(Arc::new(move |page, size| {
        let log = Arc::clone(&log);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(60 * page as u64)).await;
            if page == 4 {
                for _ in 0..1000 {
                    if log.lock().iter().filter(|&&p| p == 3).count() >= 2 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            log.lock().push(page);
            let first = (page - 1) * size + 1;
            let last = (page * size).min(PAGES * PAGE_SIZE);
            let rows: Vec<String> = (first..=last).map(row).collect();
            format!("[{}]", rows.join(","))
        })
    }))
    .await;
    (url, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_page_is_read_again_and_every_row_arrives_once_with_its_value() {
    let (url, asked) = serve().await;
    let table = fetch_all(calls_listing(&url, 2, PAGE_SIZE)).await.unwrap();

    let ids = call_ids(&table.batches);
    let want: Vec<i64> = (1..=(PAGES * PAGE_SIZE) as i64).collect();
    assert_eq!(ids, want, "every row once, in order");
    let x: Vec<f64> = table
        .batches
        .iter()
        .flat_map(|b| {
            let column = b.column_by_name("x").unwrap().as_primitive::<Float64Type>();
            column.values().to_vec()
        })
        .collect();
    let want_x: Vec<f64> = (1..=PAGES * PAGE_SIZE)
        .map(|id| if id == 25 { 1.5 } else { id as f64 })
        .collect();
    assert_eq!(x, want_x, "x as the reference decodes it: a Float64 column");

    let asked = asked.lock().clone();
    let times = |page: usize| asked.iter().filter(|&&p| p == page).count();
    assert_eq!(times(3), 2, "page 3 declined: read again ({asked:?})");
    assert_eq!(
        times(4),
        1,
        "page 4 started after a page was read again: it kept its body ({asked:?})"
    );
    for page in [1, 2, 5] {
        assert_eq!(times(page), 1, "page {page} fitted ({asked:?})");
    }
}
