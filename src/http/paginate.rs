//! Concurrent paging of `GET /reps` and `GET /calls` into decoded pages, in page order.
//!
//! The API has no total count, so the pager keeps a window of pages in flight (one tokio task
//! each) and stops at the first short or empty page. At most `concurrency` of them are requests
//! on the wire at once (a download permit each); a page whose body is in gives its permit to
//! the next page and inflates and decodes on the blocking pool ([`read_body`], [`decode_read`]).
//! The window is [`PAGES_PER_DOWNLOAD`] pages per permit: at one, a decoding page still holds
//! its place in the window, so the link waits while pages decode (at two it would not). Two
//! server behaviours from the contract need care (Part B §1):
//!
//! * **Capped pages.** A server may silently serve fewer rows than `n_per_page`. A short page is
//!   therefore only the end once the page after it comes back empty. If that next page has rows,
//!   the server capped the page size: its offsets may be computed from the size we asked for, so
//!   every page fetched with that size after the short one is discarded and paging restarts with
//!   the observed size. Nothing is lost; rows fetched twice are removed by key.
//! * **Shifting rows.** Rows inserted while we page move later rows to later pages, so a row can
//!   arrive twice. [`super::listing::Listing`] drops repeated keys and repairs what moved.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use reqwest::Method;
use tokio::sync::Semaphore;
use tokio::task::{AbortHandle, JoinHandle};

use super::client::{ApiClient, AttemptError};
use super::inflate;
use super::progress::Progress;
use super::query::Pairs;
use crate::decode::{DecodedPage, FetchDecoder, PageDecoder};
use crate::error::{Error, Result};

/// Bytes of body allowed per row asked for. Real rows are well under 1 KiB (a call row with
/// its summaries is about 700 bytes); sixteen times more keeps any real page far below its
/// limit while a server that streams without end (an endless string, `[` then whitespace, a
/// gzip bomb) is stopped. Counted after gzip, as the bytes reach the decoder, which keeps
/// every byte of a page until it is decoded.
const BODY_BYTES_PER_ROW: u64 = 16 * 1024;

/// The least and the most bytes one response body may have, whatever the page size.
pub const MIN_BODY_LIMIT: u64 = 64 << 20;
/// See [`MIN_BODY_LIMIT`]; also the limit of a `/report` answer, which has no page size.
pub const MAX_BODY_LIMIT: u64 = 2 << 30;

/// The most bytes (after gzip) a page of `rows` rows may take: [`BODY_BYTES_PER_ROW`] a row,
/// within [`MIN_BODY_LIMIT`] and [`MAX_BODY_LIMIT`].
pub fn page_body_limit(rows: usize) -> u64 {
    (rows as u64)
        .saturating_mul(BODY_BYTES_PER_ROW)
        .clamp(MIN_BODY_LIMIT, MAX_BODY_LIMIT)
}

/// What to page through.
#[derive(Debug, Clone)]
pub struct PageSpec {
    /// `/calls` or `/reps`.
    pub path: &'static str,
    /// Filters, without `page` and `n_per_page`.
    pub query: Pairs,
    /// Rows asked per page.
    pub page_size: usize,
    /// Pages in flight at once.
    pub concurrency: usize,
}

/// Shared by every page task of one fetch.
struct PageContext {
    client: ApiClient,
    spec: PageSpec,
    endpoint: String,
    decoder: Arc<FetchDecoder>,
    progress: Arc<Progress>,
    /// `concurrency` permits: one per request on the wire, held from sending a page's request
    /// until its body is in (not while it decodes).
    downloads: Semaphore,
}

/// Pages in the window per download permit once the consumer has taken a page. Two (one on
/// the wire and one inflating, decoding or waiting its turn) keeps a slow link busy while pages
/// decode, but doubles what a stream holds: a 2M-row fetch into Parquet peaked at 348 MB
/// instead of under 300 (`tests/test_cli.py`). One, until the window is bounded by bytes
/// rather than pages. Before the first page is handed out the window is `concurrency` pages,
/// so a consumer that stops after one page (`head(10)`) caused no request beyond those.
const PAGES_PER_DOWNLOAD: usize = 1;

/// A page's generation, number, and its decoded rows with when its answered request was sent.
type PageTask = JoinHandle<(u64, u64, Result<(DecodedPage, Instant)>)>;

/// A page that arrived, with when it was asked for and when it came.
struct Arrived {
    page: DecodedPage,
    requested: Instant,
    completed: Instant,
}

/// Yields the decoded pages of one listing in page order.
pub struct Pager {
    ctx: Arc<PageContext>,
    page_size: usize,
    /// Bumped when paging restarts with a new page size; older results are ignored.
    generation: u64,
    next_to_issue: u64,
    next_to_yield: u64,
    /// Pages above this are never requested (set once a short page is seen).
    limit: Option<u64>,
    in_flight: FuturesUnordered<PageTask>,
    /// Cancels the task of each page in flight, by page number.
    aborts: BTreeMap<u64, AbortHandle>,
    done: BTreeMap<u64, Arrived>,
    /// When the latest of the pages handed out so far arrived.
    last_completed: Instant,
    finished: bool,
    warnings: Vec<String>,
}

impl Pager {
    /// A pager over `spec`; sends nothing until polled.
    pub fn new(
        client: ApiClient,
        spec: PageSpec,
        decoder: Arc<FetchDecoder>,
        progress: Arc<Progress>,
    ) -> Self {
        let page_size = spec.page_size;
        let endpoint = format!("GET {}", spec.path);
        let downloads = Semaphore::new(spec.concurrency.max(1));
        Self {
            ctx: Arc::new(PageContext {
                client,
                spec,
                endpoint,
                decoder,
                progress,
                downloads,
            }),
            page_size,
            generation: 0,
            next_to_issue: 1,
            next_to_yield: 1,
            limit: None,
            in_flight: FuturesUnordered::new(),
            aborts: BTreeMap::new(),
            done: BTreeMap::new(),
            last_completed: Instant::now(),
            finished: false,
            warnings: Vec::new(),
        }
    }

    /// Things the caller should tell the user (capped pages seen, ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The next page in order, or `None` after the last one.
    pub async fn next_page(&mut self) -> Option<Result<DecodedPage>> {
        loop {
            if self.finished {
                return None;
            }
            // Hand out a page that is ready before asking for more: a stream's consumer that
            // stops after it (`head(10)`) then never causes a request it did not need. Pages
            // still in flight keep the window busy while the consumer works.
            if let Some(outcome) = self.resolve_next() {
                return outcome;
            }
            self.issue();
            match self.in_flight.next().await {
                Some(Ok((generation, page, result)))
                    if generation == self.generation
                        && self.limit.is_none_or(|limit| page <= limit) =>
                {
                    self.aborts.remove(&page);
                    match result {
                        Ok((decoded, requested)) => {
                            let arrived = Arrived {
                                page: decoded,
                                requested,
                                completed: Instant::now(),
                            };
                            self.done.insert(page, arrived);
                        }
                        Err(err) => return Some(Err(self.fail(err))),
                    }
                }
                Some(Ok(_stale)) => {}
                Some(Err(join)) if join.is_cancelled() => {}
                Some(Err(join)) => {
                    let err = Error::Decode {
                        endpoint: self.ctx.endpoint.clone(),
                        message: format!("page task failed: {join}"),
                    };
                    return Some(Err(self.fail(err)));
                }
                None => {
                    // Nothing in flight and nothing to issue: only reachable if the limit cut
                    // off a page we still wait for, which `issue` prevents.
                    self.finished = true;
                    return None;
                }
            }
        }
    }

    /// Starts page tasks until the window is full or the limit is reached.
    fn issue(&mut self) {
        let downloads = self.ctx.spec.concurrency.max(1);
        let window = if self.next_to_yield > 1 {
            downloads * PAGES_PER_DOWNLOAD
        } else {
            downloads
        };
        // Arrived pages waiting on a later one (a short page waits for the next) count against
        // the window, so with nothing in flight one more request is always allowed.
        while (self.in_flight.len() + self.done.len() < window || self.in_flight.is_empty())
            && self.limit.is_none_or(|limit| self.next_to_issue <= limit)
        {
            let page = self.next_to_issue;
            self.next_to_issue += 1;
            self.spawn(page);
        }
    }

    /// Starts the task of one page.
    fn spawn(&mut self, page: u64) {
        let ctx = Arc::clone(&self.ctx);
        let (generation, size) = (self.generation, self.page_size);
        let task =
            tokio::spawn(async move { (generation, page, fetch_page(&ctx, page, size).await) });
        self.aborts.insert(page, task.abort_handle());
        self.in_flight.push(task);
    }

    /// Decides what the page at `next_to_yield` means, if it has arrived.
    /// `None`: wait for more results. `Some(x)`: return `x` to the caller.
    fn resolve_next(&mut self) -> Option<Option<Result<DecodedPage>>> {
        let page = self.next_to_yield;
        let arrived = self.done.get(&page)?;
        let rows = arrived.page.rows;
        if rows == 0 {
            // An empty page ends the listing only if it was asked for after every earlier page
            // arrived: rows inserted meanwhile may have pushed rows onto it.
            if arrived.requested > self.last_completed {
                self.finish();
                return Some(None);
            }
            self.done.remove(&page);
            self.spawn(page);
            return None;
        }
        if rows < self.page_size {
            // Short: the end if the next page is empty; a capped server if it is not.
            self.limit = Some(self.limit.map_or(page + 1, |l| l.min(page + 1)));
            self.abort_beyond(page + 1);
            let next_rows = self.done.get(&(page + 1))?.page.rows;
            let decoded = self.hand_out(page)?;
            if next_rows > 0 {
                self.restart_capped(page, rows);
            }
            return Some(Some(Ok(decoded)));
        }
        self.hand_out(page).map(|decoded| Some(Ok(decoded)))
    }

    /// Removes `page` from the arrived pages and moves on to the next.
    fn hand_out(&mut self, page: u64) -> Option<DecodedPage> {
        let arrived = self.done.remove(&page)?;
        self.last_completed = self.last_completed.max(arrived.completed);
        self.next_to_yield = page + 1;
        Some(arrived.page)
    }

    /// The server serves at most `rows` per page: re-page with that size.
    #[cold]
    fn restart_capped(&mut self, page: u64, rows: usize) {
        let message = format!(
            "{}: the server returned {rows} rows on page {page} where {} were asked, and more \
             rows after it: it caps the page size. Re-paging with n_per_page={rows} so no row is lost.",
            self.ctx.endpoint, self.page_size
        );
        self.warnings.push(message);
        self.generation += 1;
        self.page_size = rows;
        self.limit = None;
        self.abort_beyond(0);
        // Page 1 at the capped size is exactly what we already have; after a later short page
        // the old offsets are ambiguous, so start over and let the key dedupe drop repeats.
        let restart = if page == 1 { 2 } else { 1 };
        self.next_to_issue = restart;
        self.next_to_yield = restart;
    }

    /// Forgets and cancels every page above `last_wanted`.
    fn abort_beyond(&mut self, last_wanted: u64) {
        self.done.retain(|&page, _| page <= last_wanted);
        let above = self.aborts.split_off(&(last_wanted + 1));
        for handle in above.values() {
            handle.abort();
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        self.abort_beyond(0);
    }

    fn fail(&mut self, err: Error) -> Error {
        self.finish();
        err
    }
}

impl Drop for Pager {
    fn drop(&mut self) {
        // Dropping the pager (an error, Ctrl-C, a consumer that stops early) stops its requests.
        self.abort_beyond(0);
    }
}

/// One page, with retries; a body cut off mid-way restarts the page's decoder. Also returns
/// when the request that was answered was sent.
async fn fetch_page(ctx: &PageContext, page: u64, size: usize) -> Result<(DecodedPage, Instant)> {
    let (decoded, requested) = ctx
        .client
        .with_retries(&ctx.endpoint, Some(&ctx.progress), || {
            fetch_page_once(ctx, page, size)
        })
        .await?;
    ctx.progress.add_page(decoded.rows as u64);
    Ok((decoded, requested))
}

async fn fetch_page_once(
    ctx: &PageContext,
    page: u64,
    size: usize,
) -> Result<(DecodedPage, Instant), AttemptError> {
    // Never closed, so acquiring cannot fail; the permit is dropped once the body is in.
    let permit = ctx.downloads.acquire().await.ok();
    let requested = Instant::now();
    let mut query = ctx.spec.query.clone();
    query.push(("page".into(), page.to_string()));
    query.push(("n_per_page".into(), size.to_string()));
    let mut response = ctx
        .client
        .send(Method::GET, ctx.spec.path, &query, None)
        .await?;
    let place = format!("{} page {page}", ctx.endpoint);
    let limit = page_body_limit(size);
    let body = read_body(&mut response, &place, limit, Some(&ctx.progress)).await?;
    drop(permit);
    let decoded = decode_read(body, ctx.decoder.page(), &place, limit).await?;
    Ok((decoded, requested))
}

/// Reads a response body and decodes it off the I/O threads ([`read_body`], then
/// [`decode_read`]).
pub(crate) async fn decode_body(
    response: &mut reqwest::Response,
    decoder: PageDecoder,
    place: &str,
    limit: u64,
    progress: Option<&Progress>,
) -> Result<DecodedPage, AttemptError> {
    let body = read_body(response, place, limit, progress).await?;
    decode_read(body, decoder, place, limit).await
}

/// A response body as it arrived, with its coding.
pub(crate) struct ReadBody {
    chunks: Vec<Bytes>,
    coding: inflate::Coding,
}

/// Reads a whole response body as sent. More than `limit` bytes fail the page with a decode
/// error, not retried: reading stops, the connection is dropped, and the bytes kept so far are
/// freed. A gzip body is inflated whether or not gzip was asked for (a proxy may compress on
/// its own, and gzip bytes read as JSON only make an unreadable error); any other coding is a
/// decode error that names it.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    place: &str,
    limit: u64,
    progress: Option<&Progress>,
) -> Result<ReadBody, AttemptError> {
    let coding = inflate::coding(response.headers()).map_err(|message| {
        AttemptError::decode(
            place,
            Error::Decode {
                endpoint: place.to_owned(),
                message,
            },
        )
    })?;
    let mut received = 0u64;
    let mut chunks = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                received = received.saturating_add(chunk.len() as u64);
                if received > limit {
                    return Err(body_too_large(place, limit));
                }
                if let Some(progress) = progress {
                    progress.add_bytes(chunk.len() as u64);
                }
                chunks.push(chunk);
            }
            Ok(None) => break,
            Err(err) => return Err(AttemptError::transport(place, &err)),
        }
    }
    Ok(ReadBody { chunks, coding })
}

/// Inflates (if gzip, at most `limit` bytes, see `inflate`) and decodes a body in one task on
/// tokio's blocking pool: the runtime's two I/O workers only move bytes, and as many pages
/// inflate and decode at once as there are pages read and cores, while later pages download.
/// Keeping the body costs nothing extra: the decoder keeps every chunk of a page until it is
/// finished anyway (for a fallback or re-decode). A gzip stream that is cut off, corrupt or
/// followed by other bytes fails the attempt as a transport failure, so it is retried.
pub(crate) async fn decode_read(
    body: ReadBody,
    mut decoder: PageDecoder,
    place: &str,
    limit: u64,
) -> Result<DecodedPage, AttemptError> {
    let owned_place = place.to_owned();
    let decoded = tokio::task::spawn_blocking(move || {
        let chunks = match body.coding {
            inflate::Coding::Identity => body.chunks,
            inflate::Coding::Gzip => vec![inflate_whole(body.chunks, limit, &owned_place)?],
        };
        for chunk in chunks {
            decoder
                .feed(chunk)
                .map_err(|e| AttemptError::from_decoder(&owned_place, e))?;
        }
        decoder
            .finish()
            .map_err(|e| AttemptError::from_decoder(&owned_place, e))
    })
    .await;
    match decoded {
        Ok(page) => page,
        Err(join) => Err(AttemptError::decode(
            place,
            Error::Decode {
                endpoint: place.to_owned(),
                message: format!("the page decoder stopped: {join}"),
            },
        )),
    }
}

/// A gzip body, received as `chunks`, inflated whole (at most `limit` bytes).
fn inflate_whole(chunks: Vec<Bytes>, limit: u64, place: &str) -> Result<Bytes, AttemptError> {
    let compressed = match <[Bytes; 1]>::try_from(chunks) {
        Ok([one]) => one,
        Err(chunks) => Bytes::from(chunks.concat()),
    };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match inflate::gunzip(&compressed, limit) {
        Ok(body) => Ok(Bytes::from(body)),
        Err(inflate::InflateError::TooLarge) => Err(body_too_large(place, limit as u64)),
        Err(inflate::InflateError::Broken(message)) => {
            Err(AttemptError::broken_body(place, message))
        }
    }
}

#[cold]
fn body_too_large(place: &str, limit: u64) -> AttemptError {
    let message = format!(
        "the response body passed the {} MiB limit ({} KiB per row asked for, within {} to {} \
         MiB): far more than real rows take, so reading stopped (an endless or runaway body?); \
         if the rows really are this large, lower page_size",
        limit >> 20,
        BODY_BYTES_PER_ROW >> 10,
        MIN_BODY_LIMIT >> 20,
        MAX_BODY_LIMIT >> 20,
    );
    AttemptError::decode(
        place,
        Error::Decode {
            endpoint: place.to_owned(),
            message,
        },
    )
}
