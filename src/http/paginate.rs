//! Concurrent paging of `GET /reps` and `GET /calls` into decoded pages, in page order.
//!
//! The API has no total count, so the pager keeps a window of pages in flight (one tokio task each)
//! and stops at the first short or empty page. At most `concurrency` of them are requests on the
//! wire at once (a download permit each). A page's body is inflated and decoded on the blocking
//! pool as it arrives ([`read_body`](super::body::read_body)); once it is in, the page's permit
//! goes to the next page while the decode finishes. The window is `concurrency` pages plus
//! [`DECODING_BESIDE_THE_WIRE`] while the consumer keeps up (for an eager fetch, which takes every
//! page as soon as the pages before it are in, from the first request on, the extra pages waiting
//! until the listing shows it goes on: [`super::reach`]): those extra pages wait for a permit, so
//! the one freed by a page whose body is in is taken at once, and the link does not wait while
//! pages decode. Requests are spaced so their bodies do not all end together ([`super::pacing`]).
//! Two server behaviours from the contract need care (Part B §1):
//!
//! * **Capped pages.** A server may silently serve fewer rows than `n_per_page`. A short page is
//!   therefore only the end once the page after it comes back empty. A short page after full ones
//!   with rows after it is first read again (if it was asked for before the next page arrived),
//!   since rows appended between the two answers explain it and no cap below the full pages can. A
//!   short page with rows after it otherwise means the server capped the page size: its offsets may
//!   be computed from the size we asked for, so every page fetched with that size after the short
//!   one is discarded and paging restarts with the observed size. Nothing is lost; rows fetched
//!   twice are removed by key. That theory is given one chance: a server that caps at the size it
//!   was re-paged with serves full pages, so a short page followed by rows again refutes it (a
//!   server that drops rows from its pages after paging them, say), and the listing fails with a
//!   [`Error::Decode`] that says so rather than shrink the pages again and end on rows it never
//!   read. A server that takes its offsets from the size asked while capping the rows makes a
//!   listing shorter than one asked page end on page 1 with page 2 empty: page 2 is asked for once
//!   more at page 1's size ([`Pager::probe_cap`]), where rows mean a cap.
//! * **Gaps.** An empty page ends the listing only if no later page already in hand has rows.
//!   Part B lets rows be *inserted* while we page, never removed, so an empty page N with rows on
//!   page N+1 is legitimate only if N was served before rows were appended and N+1 after: N is
//!   read again. If N was asked for after N+1 had arrived and is still empty, the listing shrank,
//!   which the contract rules out: the pages are inconsistent and the listing fails (ending it
//!   would silently drop every row after the gap). The same re-read tells a short page that rows
//!   were appended behind from a refuted cap.
//! * **Shifting rows.** Rows inserted while we page move later rows to later pages, so a row can
//!   arrive twice. [`super::listing::Listing`] drops repeated keys and repairs what moved.
//! * **Hidden shifts.** A page served after an insert whose next page was served before it
//!   loses its last rows to that next page, and nothing repeats there (found by the outside
//!   trial: three calls lost, no warning). If any later page was served after the insert, a row
//!   repeats where a page served before it meets one served after, and the listing repairs. If
//!   none was, the last page was served before the insert, so the short last page is read
//!   again once every other page is in, when it was asked for before they all were: its rows
//!   then start with rows an earlier page already gave (a repeat, so the repair pass runs), or,
//!   when the page just before it is the one that lost them, with exactly the rows lost (no
//!   repeat then, so the re-read starting at another row than the first answer is what tells
//!   the caller rows moved: [`Pager::moved_onto_last_page`]). A last
//!   page asked for after every earlier page was in was served after all of them and needs no
//!   re-read; neither does a sequential pass, where pages are served in order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Array, ArrayRef, RecordBatch};
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use reqwest::Method;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::{AbortHandle, JoinHandle};

use super::body::{page_body_limit, read_body};
use super::client::{ApiClient, AttemptError};
use super::pacing::Pacing;
use super::progress::Progress;
use super::query::Pairs;
use super::reach::{opening_bytes, Reach, Sent};
use crate::decode::{DecodedPage, FetchDecoder, KeyDeduper};
use crate::error::{Error, Result};

/// The words of every error for pages that do not add up to one listing (the Python layer's
/// hint keys on them).
pub const INCONSISTENT: &str = "the listing cannot be read completely";

/// Why a page is asked for: its debug line says so, and it decides whether the request is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// The page's first reading.
    First,
    /// A first reading after paging restarted at the size the server was found to cap at.
    AtCappedSize,
    /// Asked for again because rows may have moved onto it.
    Again,
    /// Page 2 asked for at page 1's size ([`Pager::probe_cap`]).
    CapProbe,
}

impl Reading {
    /// What the page's debug line adds after its number.
    fn why(self) -> &'static str {
        match self {
            Reading::First => "",
            Reading::AtCappedSize => " (at the capped page size)",
            Reading::Again => " (read again: did rows move onto it?)",
            Reading::CapProbe => " (asked at the first page's size: does the server cap pages?)",
        }
    }

    /// A page read again is not paced: it goes when the pages before it are in, so no body is
    /// left to keep apart from, and waiting behind the slots of requests already sent past the
    /// end cost a WAN listing up to a page's gap (36 ms) at its end.
    fn paced(self) -> bool {
        self != Reading::Again
    }

    /// A first reading waits while the pager's reach does not allow it ([`super::reach`]):
    /// past an empty page in hand, or past an eager fetch's first wave before a page showed the
    /// listing is long. A page read again is asked for because of what came back, and goes.
    fn held_back(self) -> bool {
        matches!(self, Reading::First | Reading::AtCappedSize)
    }
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
    /// The consumer takes every page as soon as the pages before it are in (an eager fetch):
    /// no `head()` stops it after the first page, and an arrived page waiting for an earlier
    /// one is order, not a slow consumer, so the window keeps its pages beside the wire from
    /// the first request on.
    pub reads_all: bool,
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
    /// Spaces the requests so their bodies do not end together.
    pacing: Pacing,
    /// First readings past the first empty page in hand wait, and an eager fetch's past its
    /// first wave until the listing shows it goes on ([`super::reach`]).
    reach: Reach,
    /// When the pager was made, for the timings logged at debug level.
    started: Instant,
}

/// Pages allowed in the window beyond `concurrency`, once the consumer has taken a page and
/// while no decoded page waits for it. A page whose body is in gives up its permit but keeps
/// its place in the window while it inflates and decodes; without pages beyond `concurrency`
/// waiting for that permit, the link waits for every decode (on the WAN profile, on a busy
/// machine, no body was on the link for over half of the fetch). Two: as many pages as the
/// cores decode at once. Only while the consumer keeps up: once decoded pages wait for it, the
/// window is `concurrency` pages again, so a slow consumer (a stream into Parquet) keeps about
/// what it kept before. Before the first page is handed
/// out the window is `concurrency` pages too, so a consumer that stops after one page
/// (`head(10)`) caused no request beyond those. An eager fetch ([`PageSpec::reads_all`]) has
/// neither kind of consumer: it starts the two pages with the first wave, and they wait to be
/// sent until a page came back full or a body passed [`super::reach::opening_bytes`] (so a
/// listing of one short page asks for nothing more, and the link no longer waits for page 1's
/// decode before the pages past the first wave go); at concurrency 1 it starts them once a page
/// came back full. An arrived page that waits for a slower earlier one does not shrink its window
/// (the link kept waiting for page 1's decode at the start of every WAN fetch).
const DECODING_BESIDE_THE_WIRE: usize = 2;

/// The pages after an empty page that follows a full one that must come back empty too before
/// the listing ends there ([`Pager::confirming`]). Rows are only ever appended (Part B), so
/// past the true end every page is empty; a page with rows there is a hole the server served,
/// which fails the listing. A sequential pass read these two anyway (its window), and an eager
/// fetch's end had most often started them already.
const CONFIRMING_PAGES: u64 = 2;

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
    /// The task of each page in flight, by page number.
    aborts: BTreeMap<u64, InFlight>,
    /// At concurrency 1: told when the latest page task started is done, so the next one
    /// starts after it (see [`Turn`]).
    latest_turn: Option<oneshot::Receiver<()>>,
    /// An empty page being read again: still past the end until it comes back with rows (found
    /// by outside trial 25: while it was out of hand, the window filled past it again).
    empty_read_again: Option<u64>,
    done: BTreeMap<u64, Arrived>,
    /// When the latest of the pages handed out so far arrived.
    last_completed: Instant,
    finished: bool,
    /// A page came back with all the rows asked for: the listing goes on past it, so an eager
    /// fetch's window may hold pages beside the wire (before, a listing of one short page
    /// would have caused two requests more past its end).
    full_page_arrived: bool,
    warnings: Vec<String>,
    /// A page held more rows than asked, and the warning saying so was given.
    oversized_warned: bool,
    /// The page-size cap the listing was re-paged for, once a short page with rows after it
    /// was seen: the evidence a second such page refutes.
    capped: Option<Cap>,
    /// The short last page was read again (see [`Pager::resolve_next`]).
    last_page_read_again: bool,
    /// While that re-read is out: the page and its first answer.
    first_answer: Option<(u64, DecodedPage)>,
    /// The re-read of the last page started at another row than its first answer: rows an
    /// insert pushed off the page before it moved onto it (module docs, "Hidden shifts").
    moved_onto_last_page: bool,
    /// The key column, whose first value tells whether rows moved onto a page read again.
    key: Option<String>,
    /// Times paging started over from page 1 at a capped size, reading again rows it had
    /// handed out.
    repagings: u64,
    /// Page 2 asked for at the size a short page 1 held (see [`Pager::probe_cap`]).
    cap_probe: CapProbe,
    /// Dropped when the first short or empty page arrives (see
    /// [`Pager::hold_until_the_end_shows`]).
    until_the_end: Option<Box<dyn Send>>,
}

/// A page task in flight.
struct InFlight {
    abort: AbortHandle,
    /// Whether its request went out: one held back past the end ([`super::reach`]) has sent
    /// nothing, so it can bring no rows.
    sent: Arc<Sent>,
}

/// The generation of the cap probe's task, which no paging generation reaches.
const PROBE: u64 = u64::MAX;

/// Where the check of a short first page against a cap stands.
#[derive(Debug)]
enum CapProbe {
    NotSent,
    InFlight(AbortHandle),
    /// Answered: whether page 2 at page 1's size had rows.
    Answered(bool),
}

/// Why the pager believed the server caps its pages.
#[derive(Debug, Clone, Copy)]
struct Cap {
    /// The short page.
    page: u64,
    /// Rows asked per page then.
    asked: usize,
    /// Rows the page held: the size paging restarted with.
    rows: usize,
}

impl Pager {
    /// A pager over `spec`; sends nothing until polled.
    pub fn new(
        client: ApiClient,
        spec: PageSpec,
        decoder: Arc<FetchDecoder>,
        progress: Arc<Progress>,
        key: Option<&str>,
    ) -> Self {
        let page_size = spec.page_size;
        let endpoint = format!("GET {}", spec.path);
        let downloads = Semaphore::new(spec.concurrency.max(1));
        let pacing = Pacing::new(spec.concurrency);
        // An eager fetch's pages beside the wire start with the first wave and wait there
        // (`super::reach`); at concurrency 1 they start once a page came back full.
        let reach = match spec.reads_all && spec.concurrency > 1 {
            true => Reach::first_wave(spec.concurrency as u64),
            false => Reach::default(),
        };
        Self {
            ctx: Arc::new(PageContext {
                client,
                spec,
                endpoint,
                decoder,
                progress,
                downloads,
                pacing,
                reach,
                started: Instant::now(),
            }),
            page_size,
            generation: 0,
            next_to_issue: 1,
            next_to_yield: 1,
            limit: None,
            in_flight: FuturesUnordered::new(),
            aborts: BTreeMap::new(),
            latest_turn: None,
            empty_read_again: None,
            done: BTreeMap::new(),
            last_completed: Instant::now(),
            finished: false,
            full_page_arrived: false,
            warnings: Vec::new(),
            oversized_warned: false,
            capped: None,
            last_page_read_again: false,
            first_answer: None,
            moved_onto_last_page: false,
            key: key.map(str::to_owned),
            repagings: 0,
            cap_probe: CapProbe::NotSent,
            until_the_end: None,
        }
    }

    /// Holds `held` until the first short or empty page arrives, when the pages still in
    /// flight are the listing's last (a server that caps its pages sends more after it). The
    /// eager fetch holds its cache of freed page buffers so (`alloc::Recycling`): past that
    /// page no new body needs them, and what the cache keeps would only add to the fetch's
    /// peak, which comes as the last pages join the table (`frame="polars"` peaked at 1.29×
    /// the frame with the cache kept to the end, 1.27× without; 1.29× and 1.22× with
    /// 100,000-row pages).
    pub(crate) fn hold_until_the_end_shows(&mut self, held: Box<dyn Send>) {
        self.until_the_end = Some(held);
    }

    /// Rows asked per page now: the size asked for, or the cap a server was found to keep.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The number of the page [`next_page`](Self::next_page) handed out last (in the paging
    /// it was read in), for errors about its rows.
    pub fn handed_out_page(&self) -> u64 {
        self.next_to_yield.saturating_sub(1)
    }

    /// Things the caller should tell the user (capped pages seen, ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether rows moved onto the last page, read again, that no repeated key shows (the
    /// caller warns of moved rows once, whichever way it learnt of them).
    pub fn moved_onto_last_page(&self) -> bool {
        self.moved_onto_last_page
    }

    /// Whether a page held more rows than asked: repeated rows may be the overlap of such
    /// pages rather than rows that moved.
    pub fn pages_oversized(&self) -> bool {
        self.oversized_warned
    }

    /// Times paging started over from page 1, so that rows handed out before arrive again:
    /// those repeats are the re-paging's, not rows that moved.
    pub fn repagings(&self) -> u64 {
        self.repagings
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
                Some(Ok((PROBE, _, result))) => match result {
                    Ok((decoded, _)) => self.cap_probe = CapProbe::Answered(decoded.rows > 0),
                    Err(err) => return Some(Err(self.fail(err))),
                },
                Some(Ok((generation, page, result)))
                    if generation == self.generation
                        && self.limit.is_none_or(|limit| page <= limit) =>
                {
                    self.aborts.remove(&page);
                    self.empty_read_again.take_if(|again| *again == page);
                    match result {
                        Ok((decoded, requested)) => {
                            if decoded.rows >= self.page_size {
                                self.full_page_arrived = true;
                                self.ctx.reach.open();
                            }
                            if decoded.rows < self.page_size {
                                self.until_the_end = None;
                            }
                            // Before it is judged: a re-read left empty by deletes is not the
                            // end of rows its first answer held (outside trial 67 F1).
                            let decoded = self.with_rows_first_served(page, decoded);
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
        let keeping_up = self.next_to_yield > 1 && self.done.is_empty();
        // At concurrency 1 the pages beside the wire go one after another ([`Turn`]); they
        // still serve: an empty page with rows after it is a hole or rows appended while
        // paging, which only the pages after it show (a sequential pass pays for that with up
        // to two requests past its end).
        let eager = self.ctx.spec.reads_all && (self.full_page_arrived || downloads > 1);
        let window = if eager || keeping_up {
            downloads + DECODING_BESIDE_THE_WIRE
        } else {
            downloads
        };
        // Past an empty page in hand lie only more empty pages, unless rows are inserted
        // meanwhile, which the empty page's own re-read finds (paging then resumes from
        // here): asking for them cost a listing a request per free slot at its end.
        let window = match self.hold_past_the_end() {
            Some(_) => 0,
            None => window,
        };
        // Arrived pages waiting on a later one (a short page waits for the next) count against
        // the window, so with nothing in flight one more request is always allowed.
        while (self.in_flight.len() + self.done.len() < window || self.in_flight.is_empty())
            && self.limit.is_none_or(|limit| self.next_to_issue <= limit)
        {
            let page = self.next_to_issue;
            self.next_to_issue += 1;
            self.spawn(page, Reading::First);
        }
    }

    /// The first empty page in hand (or being read again), if any; the tasks already started
    /// for pages past it are held back from now on ([`super::reach`]). Asked before every
    /// decision that waits for later pages, so that what it waits for and what is held back
    /// agree (a page held back just after the pager chose to wait for it hung the listing).
    /// Not at concurrency 1: there each task waits for the one before it (`Turn`), and the
    /// empty page's re-read comes after them.
    fn hold_past_the_end(&self) -> Option<u64> {
        let first_empty = self
            .done
            .iter()
            .filter(|(_, arrived)| arrived.page.rows == 0)
            .map(|(&page, _)| page)
            .chain(self.empty_read_again)
            .min();
        if self.ctx.spec.concurrency > 1 {
            let confirming = first_empty.map(|page| page.saturating_add(CONFIRMING_PAGES));
            self.ctx.reach.hold_above(confirming);
        }
        first_empty
    }

    /// Starts the task of one page, asked for the `reading` given (a first reading after a
    /// restart is one at the capped size).
    fn spawn(&mut self, page: u64, reading: Reading) {
        let ctx = Arc::clone(&self.ctx);
        let (generation, size) = (self.generation, self.page_size);
        let reading = match reading {
            Reading::First if generation > 0 => Reading::AtCappedSize,
            reading => reading,
        };
        let turn = self.next_turn();
        let sent = Arc::new(Sent::default());
        let marks = Arc::clone(&sent);
        let task = crate::runtime::call::spawn(async move {
            let read = fetch_page(&ctx, page, size, reading, turn, &marks).await;
            (generation, page, read)
        });
        let abort = task.abort_handle();
        self.aborts.insert(page, InFlight { abort, sent });
        self.in_flight.push(task);
    }

    /// The turn of the page task about to start: at concurrency 1, after the one started
    /// before it.
    fn next_turn(&mut self) -> Option<Turn> {
        if self.ctx.spec.concurrency > 1 {
            return None;
        }
        let (done, latest) = oneshot::channel();
        let after = self.latest_turn.replace(latest);
        Some(Turn { after, done })
    }

    /// Decides what the page at `next_to_yield` means, if it has arrived.
    /// `None`: wait for more results. `Some(x)`: return `x` to the caller.
    fn resolve_next(&mut self) -> Option<Option<Result<DecodedPage>>> {
        let page = self.next_to_yield;
        self.hold_past_the_end();
        let arrived = self.done.get(&page)?;
        let (rows, requested) = (arrived.page.rows, arrived.requested);
        if rows == 0 {
            // An empty page ends the listing only if it was asked for after every earlier page
            // arrived: rows inserted meanwhile may have pushed rows onto it.
            if requested <= self.last_completed {
                self.read_again(page);
                return None;
            }
            // Nor, after a full page, before the pages that confirm it came back.
            if self.limit.is_none() && self.confirming(page) {
                return None;
            }
            // Nor while a later page already asked for may still bring rows: one that was sent,
            // or will be (not one held back past the end, which has asked for nothing).
            if self
                .aborts
                .range(page + 1..)
                .any(|(&later, task)| task.sent.get() || self.ctx.reach.allows(later))
            {
                return None;
            }
            let Some(later) = self.later_rows(page) else {
                self.finish();
                return Some(None);
            };
            return match self.gap(page, requested, later) {
                Ok(()) => None,
                Err(err) => Some(Some(Err(self.fail(err)))),
            };
        }
        if rows < self.page_size {
            // Short: the end if the next page is empty; a capped server if it is not. The
            // limit is this page's: one an earlier short page set is stale, since that page
            // came back with more rows when read again (found by the outside trial: the
            // stale limit kept the page after this one from being asked for, the listing
            // ended without this page, and its rows were lost).
            self.limit = Some(page + 1);
            self.abort_beyond(page + 1);
            // The page after it decides: it must go even past the first wave, whose bodies
            // may all have been too short to open it (outside trial 51 F1: a server capping
            // pages below the size asked, a listing of one capped page and a bit, hung at
            // max_concurrency=2 waiting for page 3).
            self.ctx.reach.open();
            if !self.done.contains_key(&(page + 1)) && !self.aborts.contains_key(&(page + 1)) {
                self.next_to_issue = page + 1;
            }
            let next = self.done.get(&(page + 1))?;
            let (mut next_rows, next_completed) = (next.page.rows, next.completed);
            let mut probed = false;
            if next_rows == 0 && page == 1 && self.capped.is_none() {
                match self.cap_probe {
                    CapProbe::NotSent => {
                        self.probe_cap(rows);
                        return None;
                    }
                    CapProbe::InFlight(_) => return None,
                    CapProbe::Answered(more) => (next_rows, probed) = (usize::from(more), more),
                }
            }
            // The last page, if asked for before every earlier page was in (see the module's
            // "Hidden shifts"): read again, so the rows an insert pushed onto it from a page
            // served before it arrive, or repeat and start the repair pass.
            if next_rows == 0
                && !self.last_page_read_again
                && self.ctx.spec.concurrency > 1
                && requested <= self.last_completed
            {
                self.last_page_read_again = true;
                self.first_answer = Some((page, self.done[&page].page.clone()));
                self.read_again(page);
                return None;
            }
            if next_rows > 0 {
                if let Some(cap) = self.capped {
                    return match self.short_again(page, rows, requested, next_completed, cap) {
                        Ok(()) => None,
                        Err(err) => Some(Some(Err(self.fail(err)))),
                    };
                }
                // Every page before this one was full at the size asked, so no cap below it
                // explains this page: rows appended between its answer and the next's do, if
                // it was asked for before the next arrived. It is read again, not taken for a
                // cap (found by the outside trial: a listing that grew while paging was
                // re-paged, the whole of it, at the short page's size, with a warning of a
                // cap). Asked for again now, after the next page arrived, a page that is still
                // short is taken for a cap below.
                if page > 1 && requested <= next_completed {
                    self.read_again_and_resume(page);
                    return None;
                }
            }
            let decoded = self.hand_out(page)?;
            if next_rows > 0 {
                self.restart_capped(page, rows, probed);
            }
            return Some(Some(Ok(decoded)));
        }
        if rows > self.page_size && !self.oversized_warned {
            self.oversized_warned = true;
            self.warnings.push(format!(
                "{}: the server returned {rows} rows on page {page}, more rows than the {} \
                 asked (n_per_page): its pages are not the size asked, so they may overlap; rows \
                 received twice are in the result once",
                self.ctx.endpoint, self.page_size
            ));
        }
        // Full: not the end. A limit at or below it was set by a short page that came back
        // with more rows when read again: the pages after this one are wanted after all, and
        // none is in flight (results beyond a limit are dropped as they come).
        if self.limit.is_some_and(|limit| limit <= page) {
            self.limit = None;
            self.next_to_issue = page + 1;
        }
        self.hand_out(page).map(|decoded| Some(Ok(decoded)))
    }

    /// Page 1 held `rows` rows, fewer than asked, and page 2 was empty: the end, unless the
    /// server caps its pages and computes offsets from the size asked (`LIMIT` from the cap,
    /// `OFFSET` from `n_per_page`, a common bug): then page 2 starts past the end of a listing
    /// shorter than one asked page, and every row after the first page would be lost without
    /// a word (found by the outside trial: 1,000 of 15,000 calls). Page 2 asked for at `rows`
    /// per page starts right after page 1 under either offset rule: rows there mean a cap.
    /// One small request, for listings that end on their first page.
    fn probe_cap(&mut self, rows: usize) {
        let ctx = Arc::clone(&self.ctx);
        let task = crate::runtime::call::spawn(async move {
            let (reading, sent) = (Reading::CapProbe, Sent::default());
            (
                PROBE,
                2,
                fetch_page(&ctx, 2, rows, reading, None, &sent).await,
            )
        });
        self.cap_probe = CapProbe::InFlight(task.abort_handle());
        self.in_flight.push(task);
    }

    /// Asks for short `page` again, whose next page (in hand) has rows, and lifts the limit
    /// the short page set, so paging goes on past the next page.
    fn read_again_and_resume(&mut self, page: u64) {
        self.limit = None;
        self.next_to_issue = page + 2;
        self.read_again(page);
    }

    /// Asks for `page` again, forgetting its answer.
    fn read_again(&mut self, page: u64) {
        if self
            .done
            .remove(&page)
            .is_some_and(|arrived| arrived.page.rows == 0)
        {
            self.empty_read_again = Some(page);
        }
        self.spawn(page, Reading::Again);
    }

    /// Whether the [`CONFIRMING_PAGES`] after empty `page` (after a full page) are still to
    /// come back; those not asked for yet are asked for now. A server with a hole of empty
    /// pages mid-listing ended it early or failed, as the pages in flight happened to show
    /// (outside trial 97 P1: two empty pages, then rows: 20 of 95 rows, silently, at
    /// concurrency 2 to 4, and an error at 1, 6 and 8); every concurrency now reads the same
    /// pages past an empty one, so such a hole is told at each.
    fn confirming(&mut self, page: u64) -> bool {
        let mut waiting = false;
        for later in page + 1..=page + CONFIRMING_PAGES {
            if self.done.contains_key(&later) {
                continue;
            }
            waiting = true;
            // They must go even past an eager fetch's first wave, which no full page opened
            // (an empty listing at concurrency 2 waited for page 3 for ever).
            self.ctx.reach.open();
            if !self.aborts.contains_key(&later) {
                self.spawn(later, Reading::First);
                self.next_to_issue = self.next_to_issue.max(later + 1);
            }
        }
        waiting
    }

    /// The first page after `page` in hand with rows: its number, rows and arrival.
    fn later_rows(&self, page: u64) -> Option<(u64, usize, Instant)> {
        self.done
            .range(page + 1..)
            .find(|(_, arrived)| arrived.page.rows > 0)
            .map(|(&later, arrived)| (later, arrived.page.rows, arrived.completed))
    }

    /// Empty `page` (asked for at `requested`) with rows on a `later` page. Rows appended
    /// between the two answers explain it only if `page` was asked for before the later page
    /// arrived: then it is read again. Asked for after, the listing shrank between the
    /// answers, which Part B rules out (rows are inserted, never removed): the pages are
    /// inconsistent, and ending the listing here would silently drop every row after the gap.
    fn gap(
        &mut self,
        page: u64,
        requested: Instant,
        (later, later_rows, later_completed): (u64, usize, Instant),
    ) -> Result<()> {
        if requested <= later_completed {
            self.read_again(page);
            return Ok(());
        }
        Err(Error::Decode {
            endpoint: self.ctx.endpoint.clone(),
            message: format!(
                "page {page} was empty but page {later} had rows ({later_rows} at \
                 n_per_page={size}, answered before page {page} was asked for): the server's \
                 pages are inconsistent, so {INCONSISTENT}",
                size = self.page_size
            ),
        })
    }

    /// Short `page` of `rows` rows (asked for at `requested`), with rows on the next page
    /// (arrived at `next_completed`), after paging restarted at the size the server was taken
    /// to cap at. Rows appended between the two answers explain it only if `page` was asked for
    /// before the next page arrived: then it is read again, and paging past it resumes. Asked
    /// for after, the server serves short pages that are not its last at the size it was taken
    /// to cap at: the cap is refuted, and shrinking the pages again would only move the short
    /// page (a server that drops rows from its pages after paging them does this), ending the
    /// listing on rows it never read.
    fn short_again(
        &mut self,
        page: u64,
        rows: usize,
        requested: Instant,
        next_completed: Instant,
        cap: Cap,
    ) -> Result<()> {
        if requested <= next_completed {
            self.read_again_and_resume(page);
            return Ok(());
        }
        Err(Error::Decode {
            endpoint: self.ctx.endpoint.clone(),
            message: format!(
                "page {page} held {rows} rows where n_per_page={size} was asked, and page {next} \
                 after it held rows, after the listing had been re-paged at n_per_page={size} \
                 because page {cap_page} held {cap_rows} rows where {cap_asked} were asked: the \
                 server does not cap its page size but serves short pages before the last (as a \
                 server that drops rows from its pages after paging them does), so \
                 {INCONSISTENT}",
                size = self.page_size,
                next = page + 1,
                cap_page = cap.page,
                cap_rows = cap.rows,
                cap_asked = cap.asked,
            ),
        })
    }

    /// The key `page` starts with (`None` without a key or rows).
    fn first_key(&self, page: &DecodedPage) -> Option<ArrayRef> {
        let key = self.key.as_deref()?;
        let batch = page.batches.iter().find(|batch| batch.num_rows() > 0)?;
        Some(batch.column_by_name(key)?.slice(0, 1))
    }

    /// Removes `page` from the arrived pages and moves on to the next.
    fn hand_out(&mut self, page: u64) -> Option<DecodedPage> {
        let arrived = self.done.remove(&page)?;
        if let Some((_, first_answer)) = self.first_answer.take_if(|(read, _)| *read == page) {
            // Rows are only inserted: a page read again that starts at another row received
            // rows from the page before it. One that starts at the same row and holds more
            // was appended to, which moves nothing.
            let first = self.first_key(&first_answer);
            let now = self.first_key(&arrived.page);
            let same = match (&first, &now) {
                // The two readings may lay text keys out differently (one decoded while
                // waiting on the link took polars' views, `DecodeOptions::views_when_idle`):
                // compared in one form (outside trial 56: a reps fetch warned that rows moved
                // when none had).
                (Some(first), Some(now)) => crate::views::convert(now, first.data_type())
                    .is_ok_and(|now| first.to_data() == now.to_data()),
                _ => first.is_none() && now.is_none(),
            };
            self.moved_onto_last_page |= !same;
        }
        self.last_completed = self.last_completed.max(arrived.completed);
        self.next_to_yield = page + 1;
        Some(arrived.page)
    }

    /// `again`, an answer to `page`: when it is the re-read of the short last page (see
    /// [`Pager::first_answer`]) and short or empty, after the rows of the page's first answer
    /// that it lacks. Rows are only inserted (Part B), so the re-read holds every row the
    /// first answer did; one it lacks was deleted, or moved onto a page read before it, while
    /// paging, and taking the re-read alone would lose a row the fetch was served and that may
    /// still exist (outside trial 64 F2: a delete ahead of the last page dropped its first
    /// row, and the warning said every row was in the result). It is kept as it was served,
    /// before the re-read's rows, where it stood; a re-read left empty so is no end of the
    /// listing (outside trial 67 F1: it was, and the first answer's rows were lost unwarned).
    fn with_rows_first_served(&mut self, page: u64, again: DecodedPage) -> DecodedPage {
        let Some((_, first)) = self.first_answer.as_ref().filter(|(read, _)| *read == page) else {
            return again;
        };
        let Some(key) = self.key.as_deref().filter(|_| again.rows < self.page_size) else {
            return again;
        };
        // Keys the deduper refuses (nulls, mixed kinds) are the listing's to report, on the
        // re-read as it was served.
        let mut seen = KeyDeduper::new(key, &self.ctx.endpoint);
        let mut lacked = Vec::new();
        for batch in &again.batches {
            if seen.filter(batch).is_err() {
                return again;
            }
        }
        for batch in &first.batches {
            match seen.filter(batch) {
                Ok((kept, _)) if kept.num_rows() > 0 => lacked.push(kept),
                Ok(_) => {}
                Err(_) => return again,
            }
        }
        let rows: usize = lacked.iter().map(RecordBatch::num_rows).sum();
        if rows == 0 {
            return again;
        }
        self.warnings.push(format!(
            "{}: the last page, read again, lacked {rows} {key} row{} its first reading held \
             (rows deleted, or moved onto pages already read, while paging: outside the API's \
             contract, where rows are only inserted); they are kept as first read",
            self.ctx.endpoint,
            if rows == 1 { "" } else { "s" },
        ));
        again.after_rows(first, lacked)
    }

    /// The server serves at most `rows` per page: re-page with that size.
    #[cold]
    /// `probed`: the rows after it were found by [`Pager::probe_cap`], which rows added while
    /// paging would also have found, so the warning says both.
    fn restart_capped(&mut self, page: u64, rows: usize, probed: bool) {
        let message = if probed {
            format!(
                "{}: the server returned {rows} row{s} on page 1 where {} were asked, an empty page \
                 2, and rows on page 2 at n_per_page={rows}: either it limits pages to {rows} row{s} \
                 (counting offsets in the size asked), or rows were added while paging. \
                 Re-paging with n_per_page={rows} so no row is lost.",
                self.ctx.endpoint,
                self.page_size,
                s = crate::printable::plural(rows),
            )
        } else {
            format!(
                "{}: the server returned {rows} row{} on page {page} where {} were asked, and \
                 more rows after it: it caps the page size. Re-paging with n_per_page={rows} so \
                 no row is lost.",
                self.ctx.endpoint,
                crate::printable::plural(rows),
                self.page_size
            )
        };
        self.warnings.push(message);
        self.capped = Some(Cap {
            page,
            asked: self.page_size,
            rows,
        });
        self.generation += 1;
        self.page_size = rows;
        // Pages of the capped size are no first wave of the size asked (outside trial 51 F1).
        self.ctx.reach.open();
        self.last_page_read_again = false;
        self.first_answer = None;
        self.empty_read_again = None;
        self.limit = None;
        self.abort_beyond(0);
        // Page 1 at the capped size is exactly what we already have; after a later short page
        // the old offsets are ambiguous, so start over and let the key dedupe drop repeats.
        let restart = if page == 1 { 2 } else { 1 };
        if restart == 1 {
            self.repagings += 1;
        }
        self.next_to_issue = restart;
        self.next_to_yield = restart;
    }

    /// Forgets and cancels every page above `last_wanted`.
    fn abort_beyond(&mut self, last_wanted: u64) {
        self.done.retain(|&page, _| page <= last_wanted);
        let above = self.aborts.split_off(&(last_wanted + 1));
        for task in above.values() {
            task.abort.abort();
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        self.abort_beyond(0);
        if let CapProbe::InFlight(handle) = &self.cap_probe {
            handle.abort();
        }
    }

    fn fail(&mut self, err: Error) -> Error {
        self.finish();
        err
    }
}

impl Drop for Pager {
    fn drop(&mut self) {
        // Dropping the pager (an error, Ctrl-C, a consumer that stops early) stops its requests.
        self.finish();
    }
}

/// One page, with retries; a body cut off mid-way restarts the page's decoder. Also returns
/// when the request that was answered was sent.
///
/// The first reading keeps none of the body the fast path has decoded
/// ([`FetchDecoder::page_read_again`]); a page the fast path declines is read again, once,
/// with a decoder that keeps it. Reading a page again is what a retry after a cut-off body
/// does too: rows that moved in between are the listing's to find (see `listing.rs`).
async fn fetch_page(
    ctx: &PageContext,
    page: u64,
    size: usize,
    reading: Reading,
    turn: Option<Turn>,
    sent: &Sent,
) -> Result<(DecodedPage, Instant)> {
    // Held until this page is done: its retries and its reading for the reference decoder
    // go before any later page is sent.
    let _turn = wait_for_turn(turn).await;
    let mut keep_body = false;
    let (decoded, requested) = loop {
        let read = ctx
            .client
            .with_retries(&ctx.endpoint, Some(&ctx.progress), || {
                fetch_page_once(ctx, page, size, keep_body, reading, sent)
            })
            .await;
        match read {
            Err(Error::ReadAgain) if !keep_body => {
                log::debug!(target: "converz",
                    "{} page {page}{}: read again for the reference decoder", ctx.endpoint,
                    reading.why());
                keep_body = true;
            }
            other => break other?,
        }
    };
    ctx.progress.add_page(decoded.rows as u64);
    Ok((decoded, requested))
}

async fn fetch_page_once(
    ctx: &PageContext,
    page: u64,
    size: usize,
    keep_body: bool,
    reading: Reading,
    sent: &Sent,
) -> Result<(DecodedPage, Instant), AttemptError> {
    let permit = loop {
        let held = reading.held_back() && !sent.get();
        if held {
            ctx.reach.wait_for(page).await;
        }
        // Never closed, so acquiring cannot fail; the permit is dropped once the body is in.
        let permit = ctx.downloads.acquire().await.ok();
        if reading.paced() {
            tokio::time::sleep_until(ctx.pacing.reserve(Instant::now()).into()).await;
        }
        // The listing's end may have come back while this page waited for its permit and
        // its gap: it then gives the permit up unsent (the end page's re-read may need it).
        if !held || ctx.reach.allows(page) {
            break permit;
        }
    };
    sent.mark();
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
    let first_byte = Instant::now();
    let decoder = if keep_body {
        ctx.decoder.page()
    } else {
        ctx.decoder.page_read_again()
    };
    // A body this long says the listing goes on past its first wave (`super::reach`).
    let opening = opening_bytes(size);
    let goes_on = |received: u64| {
        if received >= opening {
            ctx.reach.open();
        }
    };
    let progress = Some(ctx.progress.as_ref());
    let decoding = read_body(
        &mut response,
        decoder,
        &place,
        limit.into(),
        progress,
        Some(&goes_on),
    )
    .await?;
    drop(permit);
    let body_in = Instant::now();
    ctx.pacing
        .observe(body_in.saturating_duration_since(first_byte));
    let decoded = decoding.finish(&place).await?;
    // Where a page's time went, for a slow fetch: the round trip, the body on the link, and
    // the decode left once the body was in (a wire that idles shows up here).
    // A page asked for again says why, so the lines do not read as one logged twice (outside
    // trial 23b F8: two lines "page 7").
    let again = if keep_body {
        " (read again for the reference decoder)"
    } else {
        reading.why()
    };
    log::debug!(target: "converz",
        "{place}{again}: sent {:.1} ms into the listing, first byte {:.1} ms later, body {:.1} ms, \
         decoded {:.1} ms after its last byte",
        ms(requested.saturating_duration_since(ctx.started)),
        ms(first_byte.saturating_duration_since(requested)),
        ms(body_in.saturating_duration_since(first_byte)),
        ms(body_in.elapsed()),
    );
    Ok((decoded, requested))
}

/// A page task's place in the order of sends at concurrency 1. There the pages beside the wire
/// ([`DECODING_BESIDE_THE_WIRE`]) wait for the one download permit together, and a semaphore
/// serves its waiters in the order they first asked, which is the order their tasks happened
/// to run: pages went out as 1, 4, 3, 2 (found by outside trial 25). A sequential pass must be
/// served in page order, since that is what lets it skip the last page's re-read and lets
/// the repair pass trust that rows only repeat: one insert between two such sends lost a row
/// with no warning. So each task starts only once the task started before it is done (its
/// retries included); at concurrency 1 there is one page on the wire either way, and this
/// gives up only decoding a page beside the next one's download.
struct Turn {
    /// Closed when the previous task is done.
    after: Option<oneshot::Receiver<()>>,
    /// Closed (dropped) when this task is done.
    done: oneshot::Sender<()>,
}

/// Waits for `turn`, if any; returns what to drop when this task is done.
async fn wait_for_turn(turn: Option<Turn>) -> Option<oneshot::Sender<()>> {
    let Turn { after, done } = turn?;
    if let Some(after) = after {
        // An error only means the previous task ended (or was cancelled): the turn is ours.
        let _ = after.await;
    }
    Some(done)
}

fn ms(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
#[path = "paginate_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "read_again_tests.rs"]
mod read_again_tests;

#[cfg(test)]
#[path = "order_tests.rs"]
mod order_tests;
