//! JSON-array pages → Arrow `RecordBatch`es, streamed chunk by chunk, with the schema inferred
//! over all pages of a fetch.
//!
//! One [`FetchDecoder`] per fetch holds the shared schema state; each page body gets a
//! [`PageDecoder`] (`page()`), fed with the body's chunks as they arrive and finished into a
//! [`DecodedPage`]; [`FetchDecoder::finish`] unifies all pages to one schema, casts and pads
//! every batch to it, and drops duplicate keys. [`KeyDeduper`] does the dedupe for streams.
//!
//! How a page is decoded (`page.rs`): a page that starts with a known schema of primitive
//! columns (Null, Boolean, Int64, Float64, Date32, Timestamp(µs), Utf8; no overrides) first
//! goes the fast way (`fast/`): rows with exactly the schema's keys in order are decoded
//! straight into Arrow buffers, recording the classifier's kind bits as it goes. Anything else
//! makes it decline and the page takes the reference path below from its retained chunks,
//! which stays the definition of the result (`tests_fast.rs` checks both agree page for page).
//! The pager's pages retain nothing while the fast path decodes them under a schema earlier
//! pages settled ([`FetchDecoder::page_read_again`]): a page it declines is read again instead.
//! The reference path:
//! - `framing.rs` peels the top-level `[`, `,` and `]` off the chunks (arrow-json 59 reads
//!   concatenated objects only) and hands on one row at a time, in place; only a row cut by a
//!   chunk boundary is copied, into a one-row carry buffer.
//! - `classify.rs` walks each row once, which both finds where it ends (so framing is not a
//!   separate pass) and records which kinds of value each column holds. This is needed because
//!   arrow-json 59 silently truncates `1.5` into an Int64 column and parses `"007"` as 7.
//! - If the page started with a known schema, each row goes straight into arrow-json's
//!   `Decoder` (strict mode, `coerce_primitive`) until a row does not fit that schema; then the
//!   page stops decoding, and at `finish` re-decodes from its retained chunks (`Bytes` are
//!   refcounted: memory per in-flight page is its body size) under its own types.
//!
//! A finished page holds every column at the type its own values give (`infer::held_schema`),
//! whichever schema it was decoded under: a page decoded under the shared schema is cast there
//! when that is exact (ints decoded as Float64 within ±2^53, all-null columns, dates decoded
//! as timestamps), else decoded again under its own types (`page.rs`, `as_held`). The shared
//! schema depends on which pages finished first; a page's own types do not, so neither do the
//! values and warnings that every path (eager, stream, file) casts from them (outside trial 16:
//! an integer beyond 2^53 was rounded or not from run to run). [`FetchDecoder::finish`] casts
//! each page once to the fetch's types.
//!
//! Inference rules (`infer.rs`): int + float → Float64 (an integer beyond ±2^53 is then
//! rounded, with a warning, unless the column ends as text: a page holding one keeps its
//! numbers as sent until the end); an integer beyond `i64` makes the column
//! Utf8 holding the exact digits (decimal text never rounds, unlike Float64 or a fixed Decimal
//! scale); bool, numbers and strings mixed → Utf8 plus a warning; `YYYY-MM-DD` → Date32 and
//! `YYYY-MM-DD HH:MM:SS[.fff|.ffffff]` → `Timestamp(Microsecond, None)`, only in the spellings
//! converz writes back byte for byte (`classify::dated`: no `T`, no zone, chrono's `%.f`);
//! dates mixed with timestamps, or either with other strings → Utf8 as sent plus a warning;
//! objects → Struct, arrays → List; nested values that
//! disagree on a shape (object vs scalar, object vs array, anywhere inside) make the top-level
//! column Utf8 JSON text plus a warning. A column seen only as `null` is `Null`. Columns keep
//! first-appearance order, over pages in page order.
//!
//! A key repeated within one row: arrow-json keeps one value, and every value sent counts for
//! the column's type. A row `{}` is a row of nulls (a page of only `{}` rows has no columns).
//! Numbers and string escapes are checked against JSON's grammar by the classifier, because
//! arrow-json 59 accepts `-12+34` or `"\0"`; its surrogate-pair bug is worked around in
//! `surrogates.rs`. `tests_fuzz.rs` checks all this against a serde_json reference.
//!
//! JSON-text columns hold a string value's content as is, a number or bool as its JSON text,
//! and an object or array as its JSON text (as sent on pages that mix shapes themselves;
//! re-encoded compactly from pages that held only objects or only arrays). Schema overrides for columns that never appear
//! add no column.
//!
//! Measured with `DECODE_ROWS=1000000 cargo test --release --lib -- --ignored --nocapture
//! decode_throughput` (`throughput.rs`: 777 MB, 1 000 000 rows shaped like the emulator's
//! `/calls` rows, pages of 10 000 rows in 16 KiB chunks, one thread, best of 5) on 2026-12-01,
//! on the shared 2-core VM while three other builds ran, so every figure is ~3× below an
//! idle machine's (framing alone ran at 2 850 MB/s idle, earlier); compare within the column:
//!
//! | stage                                             |       MB/s |
//! |---------------------------------------------------|-----------:|
//! | framing alone (`ValueScan`)                       |        883 |
//! | framing + classification (the reference's pass)   |        536 |
//! | arrow-json 59 alone on the same rows as NDJSON    |        144 |
//! | page decoder, reference path, streaming           |        234 |
//! | page decoder, fast path                           |        789 |
//! | page decoder, decoded at `finish` (no schema yet) |        191 |
//! | `FetchDecoder::finish` (unify + dedupe, no casts) |      9 537 |
//!
//! The fast path is 3.4× the reference path and faster than the reference's classification
//! pass alone: it reads each row once, with no tape. An escape-heavy corpus (an escape every
//! ~20 bytes) roughly halved every reference figure.
//! Tried and dropped: pooling arrow-json decoders across pages (no measurable gain).

pub(crate) mod civil;
mod classify;
mod concat;
mod dedupe;
mod fast;
// Also the check of `converz push --schema` (src/write/exact.rs): one rule for both sides.
pub(crate) mod forced;
pub(crate) mod framing;
mod infer;
mod json_text;
mod page;
mod sort;
pub(crate) mod surrogates;
mod unify;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cut;
#[cfg(test)]
mod tests_fast;
#[cfg(test)]
mod tests_float_rule;
#[cfg(test)]
mod tests_forced;
#[cfg(test)]
mod tests_form;
#[cfg(test)]
mod tests_fuzz;
#[cfg(test)]
mod tests_gen;
#[cfg(test)]
mod tests_hint;
#[cfg(test)]
mod tests_oracle;
#[cfg(test)]
pub(crate) mod tests_order;
#[cfg(test)]
mod tests_schema;
#[cfg(test)]
mod throughput;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::views::Form;
use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use parking_lot::{Mutex, RwLock};

pub use dedupe::{KeyDeduper, PageFacts, UNKEYED};
pub use page::PageDecoder;
pub use sort::sort_by_key;
// The file writers conform streamed batches to one schema with the same casts as `finish`.
pub use classify::MAX_DEPTH;
pub(crate) use classify::{is_integer_literal, REPEATED_KEY, TOO_DEEP, TOO_MANY_KEYS};
pub(crate) use concat::{concat_schema, conform_part, Part};
pub(crate) use forced::BEYOND_NANOSECONDS;
pub(crate) use infer::{Floats, Respelled};
pub(crate) use json_text::to_json_text;
pub(crate) use unify::{
    conform_batch, conform_batch_in, documented_schema, documented_when_null, join_small_batches,
    text_schema, with_own_types,
};

use infer::{Fields, Kind};

/// The words of the error for `NaN` or `Infinity` in a body (the Python layer's hint keys on
/// them).
pub const FLOAT_WORD: &str = "a NaN or Infinity, which JSON has no way to write (a float the \
                              server should have sent as null or a number),";

/// What a fetch reads a JSON string as, by the decoder's one rule (`classify::dated`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextForm {
    /// `YYYY-MM-DD`: read as a date.
    Date,
    /// `YYYY-MM-DD HH:MM:SS`, with 3 or 6 fraction digits: read as a timestamp.
    Time,
    /// Anything else: read as text.
    Text,
}

/// The [`TextForm`] of string `s`, as a fetch decodes it.
pub(crate) fn text_form(s: &[u8]) -> TextForm {
    match classify::dated(s).0 {
        infer::bits::DATE => TextForm::Date,
        infer::bits::TS => TextForm::Time,
        _ => TextForm::Text,
    }
}

/// The most rows the reference path (arrow-json) decodes into one batch, whatever
/// [`DecodeOptions::batch_size`] asks: its tape holds a copy of the rows it has not flushed, and
/// with four 20,000-row pages in flight 16,384 rows cost 70 MB more peak memory than 4,096 and
/// were slower (the tape left the cache). The fast path has no tape.
pub(crate) const REFERENCE_BATCH_ROWS: usize = 4_096;

/// Rows per batch by default: one batch per page of the default page size (20,000), and what
/// smaller pages are joined up to.
pub(crate) const DEFAULT_BATCH_ROWS: usize = 20_000;

/// The most rows the fast path puts in one batch: its column buffers are preallocated for a
/// batch, and a stream hands out a batch at a time.
pub const MAX_BATCH_ROWS: usize = 1 << 16;

/// The batch size for pages of `page_size` rows: a whole page per batch, up to
/// [`MAX_BATCH_ROWS`], so a page a little over the default's 20,000 rows is not cut into a full
/// batch and a tail of a row or two (outside trial 27: `page_size=20001` gave batches of
/// 20,000 and 1); a larger page is cut into as few batches as fit, of equal size (65,537 rows
/// make two batches of about 32,768, not 65,536 and 1: outside trial 27b); smaller pages are
/// joined up to the default's 20,000.
pub fn batch_size_for_pages(page_size: usize) -> usize {
    let parts = page_size.div_ceil(MAX_BATCH_ROWS).max(1);
    page_size
        .div_ceil(parts)
        .clamp(DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS)
}

/// How pages are decoded.
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Turn `YYYY-MM-DD` strings into Date32 and `YYYY-MM-DD HH:MM:SS[.fff|.ffffff]` into naive
    /// microsecond timestamps (default `true`; see `classify::dated`); `false` keeps them Utf8.
    pub parse_dates: bool,
    /// Column types forced by the user; they win over inference.
    pub schema_overrides: Vec<(String, DataType)>,
    /// Rows per `RecordBatch` (default 20 000: one batch per page of the default page size).
    /// The fast path builds batches this size; the reference path's are at most
    /// [`REFERENCE_BATCH_ROWS`], the rows arrow-json's tape holds. On 1M calls, 20 000-row
    /// batches took the fetch and `to_polars()` 0.64 s against 0.75 s for 4 096 (fewer
    /// batches to finish, dedupe and join, and fewer chunks for polars to import).
    pub batch_size: usize,
    /// The columns the caller expects, in the order the API sends them, with their types:
    /// the documented columns of the query. Only a speed hint: pages that start before any
    /// page has finished take the fast path under this schema instead of the reference path,
    /// and a page whose rows turn out not to fit it exactly (a column all null on the page,
    /// another order, a wider type) is decoded again the reference way. It never changes the
    /// result (`tests_fast.rs` checks random hints against the reference).
    pub hint: Vec<(String, DataType)>,
    /// How the text columns of the finished table are laid out (`crate::views`): as declared
    /// (Utf8, the default), or as the DataFrame library the caller named stores them (polars'
    /// views, pandas' 64-bit offsets). Each page's batches take that form on the thread that
    /// decoded them, while later pages download, so the conversion a `to_polars()` would do
    /// after the last page is done by then. Never a change to the values or the declared types.
    pub form: Form,
    /// With `form` Utf8: while the fetch's decode has waited for the bodies at least half as
    /// long as it worked (a link slower than the decode, [`PageDecoder::finish_waited`]), each
    /// page it finishes lays its text columns out as polars' views on its decode thread, on
    /// time the link leaves, and the finished table takes the form most of its rows came in
    /// (`unify::finish`), so a `to_polars()` after a slow fetch hands the table over instead
    /// of building the views after the last page. Set for an eager
    /// fetch whose caller named no library (`frame=`); any form gives the same values.
    pub views_when_idle: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            parse_dates: true,
            schema_overrides: Vec::new(),
            batch_size: DEFAULT_BATCH_ROWS,
            hint: Vec::new(),
            form: Form::Utf8,
            views_when_idle: false,
        }
    }
}

/// Decodes all pages of one fetch; shared by pages decoding concurrently (it is `Send + Sync`).
#[derive(Clone, Debug)]
pub struct FetchDecoder {
    shared: Arc<Shared>,
}

/// State shared by a fetch's pages.
#[derive(Debug)]
pub(crate) struct Shared {
    options: DecodeOptions,
    /// Whether pages may take the fast path (`fast/`); the differential tests turn it off to
    /// get the reference path's result.
    fast_path: bool,
    /// Everything finished pages have shown, merged; `None` until a page had a column.
    state: RwLock<(Fields, Option<Arc<Snapshot>>)>,
    /// The snapshot of [`DecodeOptions::hint`], for pages that start with no state yet.
    hint: Option<Arc<Snapshot>>,
    /// The query's documented columns with the types a fetch hands them out at when no row
    /// says otherwise ([`FetchDecoder::documented`]).
    documented: Vec<(String, DataType)>,
    /// Pages finished, and how many of them by the fast path (for the debug log and tests).
    pages: AtomicUsize,
    fast_pages: AtomicUsize,
    /// Pages laid out as polars' views while the link left their decode idle
    /// ([`DecodeOptions::views_when_idle`]).
    idle_pages: AtomicUsize,
    /// Nanoseconds the fetch's page decodes spent waiting for their bodies, and working on
    /// them (`PageDecoder::finish_waited`).
    waited_ns: AtomicU64,
    worked_ns: AtomicU64,
    /// A page of this fetch was read again because the fast path declined it
    /// ([`FetchDecoder::page_read_again`]): later pages keep their bodies instead, so a server
    /// whose every page declines costs one extra request per page in the window, not per page.
    read_again: AtomicBool,
    /// The text bytes of a batch of each text column on the last page the fast path finished,
    /// by name (`FastSink::text_sizes`): a page's text buffers start near their final size
    /// instead of doubling from empty (a 20,000-row page's summaries are ~6 MB, ten doublings).
    text_sizes: Mutex<Vec<(Box<str>, usize)>>,
}

/// [`DecodeOptions::hint`] with each column `schema=` forces at the forced type.
fn documented_types(options: &DecodeOptions) -> Vec<(String, DataType)> {
    let forced = |name: &str| {
        let found = options.schema_overrides.iter().find(|(n, _)| n == name);
        found.map(|(_, t)| t.clone())
    };
    let typed = |(name, t): &(String, DataType)| (name.clone(), forced(name).unwrap_or(t.clone()));
    options.hint.iter().map(typed).collect()
}

/// An immutable view of the shared schema that a page decodes with.
#[derive(Debug)]
pub(crate) struct Snapshot {
    fields: Fields,
    kinds: Vec<Kind>,
    /// Columns with a user override: inference does not apply to them.
    forced: Vec<bool>,
    schema: SchemaRef,
}

/// One decoded page: its batches under the schema it was decoded with (cloning shares buffers).
#[derive(Debug, Clone)]
pub struct DecodedPage {
    /// Rows in the page (the JSON array's length).
    pub rows: usize,
    /// The rows, in order; their schema may be narrower than the fetch's final schema.
    pub batches: Vec<RecordBatch>,
    /// What the page's columns held, for the final schema.
    columns: Fields,
    /// Decoded by the schema-specialised fast path (tests check it was taken).
    #[cfg_attr(not(test), allow(dead_code))]
    fast: bool,
}

impl DecodedPage {
    /// This page with `rows` (batches of `other`, another reading of the same page) before
    /// its own, and what `other`'s columns held merged into its own.
    pub(crate) fn after_rows(mut self, other: &DecodedPage, rows: Vec<RecordBatch>) -> Self {
        self.rows += rows.iter().map(RecordBatch::num_rows).sum::<usize>();
        self.columns.merge(&other.columns);
        self.fast &= other.fast;
        self.batches.splice(0..0, rows);
        self
    }

    /// The kinds of value (`infer::bits`) column `name` showed on this page; 0 if it had none.
    pub(crate) fn kinds_seen(&self, name: &str) -> u16 {
        self.columns
            .position(name)
            .map_or(0, |i| self.columns.cols[i].seen)
    }
}

/// The columns of the pages a stream has handed out, merged in page order
/// ([`FetchDecoder::merged_schema`]), and those a page decoded as Float64 (for the warning of
/// a column that ends as text, as the eager fetch gives it).
#[derive(Debug, Default)]
pub struct PageColumns(Fields, Vec<(String, Respelled)>);

impl PageColumns {
    /// The column names, in first-appearance order.
    pub fn names(&self) -> Vec<String> {
        self.0.names.iter().map(|n| n.to_string()).collect()
    }
}

/// All pages of a fetch, in one schema.
#[derive(Debug)]
pub struct DecodedTable {
    /// The final schema: every column of every page, in first-appearance order.
    pub schema: SchemaRef,
    /// The rows in page order, all with `schema`.
    pub batches: Vec<RecordBatch>,
    /// Rows in `batches` (after dropping duplicates).
    pub rows: usize,
    /// Rows dropped because their key had been seen on an earlier row.
    pub duplicates_dropped: usize,
    /// Type conflicts resolved by falling back to text, one line per column.
    pub warnings: Vec<String>,
    /// How the text columns of `batches` are laid out: the fetch's form, or with
    /// [`DecodeOptions::views_when_idle`] the one most of its rows came in.
    pub form: Form,
}

impl FetchDecoder {
    /// A decoder for one fetch.
    pub fn new(options: DecodeOptions) -> Self {
        Self::with_fast_path(options, true)
    }

    /// A decoder that never takes the fast path: the reference for differential tests.
    #[cfg(test)]
    pub(crate) fn reference(options: DecodeOptions) -> Self {
        Self::with_fast_path(options, false)
    }

    fn with_fast_path(options: DecodeOptions, fast_path: bool) -> Self {
        let hint = infer::hint_fields(&options.hint)
            .filter(|_| fast_path)
            .map(|fields| Arc::new(Snapshot::new(fields, &options.schema_overrides)));
        let documented = documented_types(&options);
        let shared = Shared {
            options,
            fast_path,
            state: RwLock::new((Fields::default(), None)),
            hint,
            documented,
            pages: AtomicUsize::new(0),
            fast_pages: AtomicUsize::new(0),
            idle_pages: AtomicUsize::new(0),
            waited_ns: AtomicU64::new(0),
            worked_ns: AtomicU64::new(0),
            read_again: AtomicBool::new(false),
            text_sizes: Mutex::new(Vec::new()),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Starts decoding one page's body, keeping all of it until the page is finished, so a
    /// page the fast path declines is decoded again from those bytes.
    pub fn page(&self) -> PageDecoder {
        PageDecoder::new(Arc::clone(&self.shared), true)
    }

    /// Starts decoding one page's body for a caller that can read the page again: while the
    /// fast path decodes it under a schema earlier pages settled, each piece of the body is
    /// freed once decoded, and a row the fast path declines fails the page with
    /// [`Error::ReadAgain`](crate::Error::ReadAgain) instead; the caller then reads it again
    /// with [`page`](Self::page). Why: a page's body is ~1.6 times its decoded rows, and the
    /// pager's window holds up to six pages, so keeping bodies for a decline that almost never
    /// comes was most of a fetch's memory beyond its result (and all of a stream's). Once a page
    /// was read again, every later page of the fetch keeps its body.
    pub fn page_read_again(&self) -> PageDecoder {
        let keep = self.shared.read_again.load(Ordering::Relaxed);
        PageDecoder::new(Arc::clone(&self.shared), keep)
    }

    /// The query's documented columns ([`DecodeOptions::hint`]), each at the type `schema=`
    /// forces it to, if it does: the types a column holding only nulls, or left out of every
    /// row, is given in what a fetch hands out, as a fetch with no rows has them.
    pub fn documented(&self) -> &[(String, DataType)] {
        &self.shared.documented
    }

    /// How the text columns of its pages are laid out ([`DecodeOptions::form`]).
    pub fn form(&self) -> Form {
        self.shared.options.form
    }

    /// The schema the finished pages add up to so far, if any page had a column.
    pub fn current_schema(&self) -> Option<SchemaRef> {
        let state = self.shared.state.read();
        state.1.as_ref().map(|s| Arc::clone(&s.schema))
    }

    /// Unifies `pages` (in page order) into one table; with `key`, keeps only the first row
    /// for each key value (rows with a null key are all kept).
    pub fn finish(
        &self,
        pages: Vec<DecodedPage>,
        key: Option<&str>,
    ) -> crate::Result<DecodedTable> {
        unify::finish(&self.shared.options, pages, key)
    }

    /// `seen` with `page`'s columns merged in, and the schema they add up to: what the eager
    /// end (`finish`) would make of the pages merged so far, in the order they were merged.
    /// A stream merges its pages in page order, so its columns come in the eager table's order
    /// even when later pages finished decoding first.
    pub(crate) fn merged_schema(&self, seen: &mut PageColumns, page: &DecodedPage) -> SchemaRef {
        seen.0.merge(&page.columns);
        unify::merge_float_decodes(&mut seen.1, unify::float_decodes(page).into_iter());
        infer::schema_of(&seen.0, &self.shared.options.schema_overrides)
    }

    /// Whether the caller forced the type of column `name` (`schema=`).
    pub fn forces(&self, name: &str) -> bool {
        let overrides = &self.shared.options.schema_overrides;
        overrides.iter().any(|(forced, _)| forced == name)
    }

    /// `(pages, fast)`: pages finished so far, and how many of them took the fast path.
    pub fn pages_decoded(&self) -> (usize, usize) {
        let pages = self.shared.pages.load(Ordering::Relaxed);
        (pages, self.shared.fast_pages.load(Ordering::Relaxed))
    }

    /// Pages laid out as polars' views while waiting on the link
    /// ([`DecodeOptions::views_when_idle`]), for the fetch's debug line.
    pub fn pages_laid_out_when_idle(&self) -> usize {
        self.shared.idle_pages.load(Ordering::Relaxed)
    }

    /// Type conflicts in the pages a stream handed out (`seen`, merged in page order by
    /// [`merged_schema`](Self::merged_schema)), one line per column in the eager table's
    /// order. Not [`warnings`](Self::warnings): its columns come in the order pages finished
    /// decoding, which varies from run to run (and it counts pages read but not handed out).
    pub fn stream_warnings(&self, seen: &PageColumns) -> Vec<String> {
        // The eager fetch's warnings (README: a stream has the same): the pages it decoded as
        // Float64 are what a column that ends as text respells, in the eager table and in the
        // stream's tables joined (`Table.concat` joins them at their pages' own types).
        // Outside trial 82 F2: the stream's said nothing of it.
        infer::warnings_of(&seen.0, &self.shared.options.schema_overrides, |name| {
            let found = seen.1.iter().find(|(n, _)| n == name);
            found.map_or(Respelled::NO, |(_, r)| *r)
        })
    }

    /// Type conflicts seen so far by finished pages, one line per column, in the order the
    /// pages finished.
    pub fn warnings(&self) -> Vec<String> {
        let state = self.shared.state.read();
        // A stream hands each page out at the type of its time (Float64 numbers as floats),
        // so nothing was respelled.
        infer::warnings_of(&state.0, &self.shared.options.schema_overrides, |_| {
            infer::Respelled::NO
        })
    }
}

impl Shared {
    /// Merges a finished page's columns into the shared state; returns the state after.
    fn merge(&self, page: &Fields) -> Option<Arc<Snapshot>> {
        // Pages finish rarely (once per page), so one write lock each is cheap.
        let mut state = self.state.write();
        let before = state.0.clone();
        state.0.merge(page);
        if state.0 != before || (state.1.is_none() && !state.0.is_empty()) {
            let snapshot = Snapshot::new(state.0.clone(), &self.options.schema_overrides);
            state.1 = Some(Arc::new(snapshot));
        }
        state.1.clone()
    }

    fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.state.read().1.clone()
    }

    /// The text sizes of the last fast page (see [`Shared::text_sizes`]).
    fn text_sizes(&self) -> Vec<(Box<str>, usize)> {
        self.text_sizes.lock().clone()
    }

    fn note_text_sizes(&self, sizes: Vec<(Box<str>, usize)>) {
        if !sizes.is_empty() {
            *self.text_sizes.lock() = sizes;
        }
    }

    /// Adds a page's waiting and working time to the fetch's; whether the fetch's decode has
    /// now waited at least half as long as it worked (and worked at all).
    fn waited_half_as_long(&self, waited: Duration, worked: Duration) -> bool {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let waited = nanos(waited)
            .saturating_add(self.waited_ns.fetch_add(nanos(waited), Ordering::Relaxed));
        let worked = nanos(worked)
            .saturating_add(self.worked_ns.fetch_add(nanos(worked), Ordering::Relaxed));
        worked > 0 && waited.saturating_mul(2) >= worked
    }

    /// Counts a page laid out for polars while the link left its decode idle.
    fn count_idle(&self) {
        self.idle_pages.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a finished page.
    fn count(&self, fast: bool) {
        self.pages.fetch_add(1, Ordering::Relaxed);
        self.fast_pages
            .fetch_add(usize::from(fast), Ordering::Relaxed);
    }
}

impl Snapshot {
    /// The page's own schema (`infer::held_schema`), to decode a page under when what it was
    /// decoded under cannot be cast to it exactly.
    fn held(fields: &Fields, overrides: &[(String, DataType)]) -> Self {
        let mut snapshot = Self::new(fields.clone(), overrides);
        snapshot.schema = infer::held_schema(fields, overrides);
        snapshot
    }

    fn new(fields: Fields, overrides: &[(String, DataType)]) -> Self {
        let forced = fields
            .names
            .iter()
            .map(|n| overrides.iter().any(|(o, _)| **o == **n))
            .collect();
        Self {
            kinds: fields.kinds(),
            schema: infer::schema_of(&fields, overrides),
            forced,
            fields,
        }
    }
}
