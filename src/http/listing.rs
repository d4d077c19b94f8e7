//! The one listing engine: every path that reads `/calls` or `/reps` (eager, streamed, lazy,
//! partitioned) runs [`Listing`], so each gets the same guarantees.
//!
//! [`Pager`] fetches pages concurrently and handles capped pages and end confirmation. On top of
//! it, `Listing` keeps each key once and, when repeated keys show that rows moved while paging,
//! runs a **repair pass**: a concurrent pass can also have *skipped* rows (a page served after an
//! insert loses rows to a neighbour served before it), so the listing is read again in order
//! (sequentially, where rows can only repeat, never be skipped) and the rows not yet seen are
//! handed out too. Memory is the page window plus one set of keys, never the result (two sets
//! once a page-size cap made the pager start over from page 1: see [`Listing::keep_new_rows`]).

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::client::ApiClient;
use super::paginate::{PageSpec, Pager};
use super::progress::Progress;
use super::query::{ListingKey, Pairs};
use crate::decode::{
    conform_batch_in, documented_schema, sort_by_key, with_own_types, DecodedPage, DecodedTable,
    FetchDecoder, KeyDeduper, PageColumns, PageFacts,
};
use crate::error::{Error, Result};
use crate::views::Form;

/// Which pass the listing is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The first, concurrent pass.
    Concurrent,
    /// The sequential re-read after rows moved.
    Repair,
    Done,
}

/// What a listing that could not vouch for every row says (its hint: `python::errors`).
pub const STALE_PAGES: &str =
    "rows the server never served may be missing, and the listing ends in this error instead of a result that may lack them";

/// What a listing says when its in-order read was not served a row its first read was: the
/// server's order is not one order (its hint: `python::errors`).
pub const UNSTABLE_ORDER: &str = "the server's row order changed between requests";

/// A batch a stream hands out: its text columns in the decoder's form, and its declared schema
/// (those columns as the fetch types them), which the table made of it declares.
pub struct StreamedBatch {
    pub batch: RecordBatch,
    pub declared: SchemaRef,
    /// The columns the batch holds at a type wider than its page's own (integers after a
    /// float page are handed out as floats), each as its index in `batch` and its values at
    /// the page's own type: what `Table.concat` joins them by, so a column that ends as text
    /// reads `3` where the eager table has `3`, not the float's `3.0` (outside trial 83 F1).
    pub own: Vec<(usize, ArrayRef)>,
}

/// `formed`'s schema with each column at its type in `declared` (matched by name, which a
/// listing's columns keep unique): the types its text columns had before `form` laid them out.
fn declared_for(formed: &RecordBatch, declared: &Schema, form: Form) -> SchemaRef {
    let own = formed.schema();
    if form == Form::Utf8 {
        return own;
    }
    let fields: Vec<Field> = own
        .fields()
        .iter()
        .map(|field| match declared.field_with_name(field.name()) {
            Ok(at) => field
                .as_ref()
                .clone()
                .with_data_type(at.data_type().clone()),
            Err(_) => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, own.metadata().clone()))
}

/// Pages of one listing, in order, each key once, repaired when rows moved.
pub struct Listing {
    client: ApiClient,
    spec: PageSpec,
    decoder: Arc<FetchDecoder>,
    progress: Arc<Progress>,
    key: Option<String>,
    /// The key, for the set of keys a re-paging starts.
    listing_key: Option<ListingKey>,
    /// Every key handed out.
    deduper: Option<KeyDeduper>,
    /// The keys read since the pager last started over from page 1 (none before it did).
    since_repaging: Option<KeyDeduper>,
    /// The pager's [`Pager::repagings`] when `since_repaging` was started.
    repagings: u64,
    pager: Pager,
    pass: Pass,
    /// Repeated rows dropped in the concurrent pass: the evidence that rows moved.
    moved: usize,
    /// The repair pass's keys (since the pager last started over), and its full pages that
    /// held only rows it had read already. Rows inserted during an in-order read repeat a few
    /// rows at the start of the next page and skip none; a whole page again is the server
    /// serving a page twice (a stale cache, a cursor bug), which skipped the page's true rows
    /// (outside trial 21: page 3 repeating page 2 lost 10 of 50 rows, and the warning said
    /// every row was in the result once; trial 21c: counting every repeat warned of missing
    /// rows on every fetch with concurrent inserts).
    repair_seen: Option<KeyDeduper>,
    stale_pages_again: usize,
    /// The keys of the repair pass's last page, and the first of its pages whose repeats were
    /// not the rows inserts push there (the previous page's last rows, in their order): the
    /// server's order changed between requests (outside trial 64 F1).
    last_keys: Option<ArrayRef>,
    order_changed_on: Option<u64>,
    /// Why the repair pass ran, for its warning once it has ended.
    repair_why: &'static str,
    /// Rows handed out so far.
    handed_out: usize,
    /// Full pages in a row that brought no new row.
    stale_pages: usize,
    warnings: Vec<String>,
    /// The key was added to a `columns=` that left it out: pages carry it for de-duplication,
    /// and [`Listing::present`] removes it before rows reach the caller.
    hidden_key: bool,
    /// `columns=` as the caller gave it: a server that ignores it sends other columns too,
    /// which [`Listing::present`] leaves out (found by the outside trial: they reached the
    /// result).
    asked_columns: Option<Vec<String>>,
    /// The columns of the pages a stream has handed out, for [`Listing::streamed`].
    streamed_columns: PageColumns,
    /// Whether [`Listing::streamed`] keeps each page's own scalar types (see
    /// [`Listing::keep_own_types`]).
    own_types: bool,
}

impl Listing {
    /// A listing over `spec`, de-duplicated on `key`; sends nothing until polled.
    pub fn new(
        client: ApiClient,
        spec: PageSpec,
        decoder: Arc<FetchDecoder>,
        key: Option<ListingKey>,
        progress: Arc<Progress>,
    ) -> Self {
        let mut spec = spec;
        let asked_columns = spec
            .query
            .iter()
            .find(|(name, _)| name == "columns")
            .map(|(_, columns)| columns.split(',').map(str::to_owned).collect());
        let hidden_key = key.is_some_and(|key| request_key_column(&mut spec.query, key.name));
        let endpoint = format!("GET {}", spec.path);
        let deduper = key.map(|key| new_deduper(key, &endpoint, &decoder));
        let pager = Pager::new(
            client.clone(),
            spec.clone(),
            Arc::clone(&decoder),
            Arc::clone(&progress),
            key.map(|key| key.name),
        );
        Self {
            client,
            spec,
            decoder,
            progress,
            key: key.map(|key| key.name.to_owned()),
            listing_key: key,
            deduper,
            since_repaging: None,
            repagings: 0,
            streamed_columns: PageColumns::default(),
            pager,
            pass: Pass::Concurrent,
            moved: 0,
            repair_seen: None,
            stale_pages_again: 0,
            last_keys: None,
            order_changed_on: None,
            repair_why: "",
            handed_out: 0,
            stale_pages: 0,
            warnings: Vec::new(),
            hidden_key,
            asked_columns,
            own_types: false,
        }
    }

    /// From now on [`streamed`](Self::streamed) hands each page's scalar columns out at the
    /// page's own types, not the widest so far: for a file writer, which casts each page once
    /// at its end as the eager fetch casts each page. Otherwise an integer page after a float
    /// page was handed out as floats, and a column that ended as text read `1.0` in a file
    /// where `client.calls()` has `1` (CI, hypothesis).
    pub fn keep_own_types(&mut self) {
        self.own_types = true;
    }

    /// Holds `held` until the end of the listing shows ([`Pager::hold_until_the_end_shows`]).
    pub(crate) fn hold_until_the_end_shows(&mut self, held: Box<dyn Send>) {
        self.pager.hold_until_the_end_shows(held);
    }

    /// `batch` as the caller asked for it: only the columns `columns=` named (if given), and
    /// without the key column when only the listing needed it.
    pub fn present(&self, batch: RecordBatch) -> RecordBatch {
        let batch = match &self.asked_columns {
            Some(asked) => {
                let schema = batch.schema();
                let keep: Vec<usize> = (0..schema.fields().len())
                    .filter(|&i| self.was_asked(asked, schema.field(i).name()))
                    .collect();
                match keep.len() == schema.fields().len() {
                    true => batch,
                    // In range by construction: `project` cannot fail.
                    false => batch.project(&keep).unwrap_or(batch),
                }
            }
            None => batch,
        };
        match (&self.key, self.hidden_key) {
            (Some(key), true) => without_column(batch, key),
            _ => batch,
        }
    }

    fn was_asked(&self, asked: &[String], column: &str) -> bool {
        asked.iter().any(|c| c == column) || self.key.as_deref() == Some(column)
    }

    /// The warning for columns a server sent although `columns=` did not name them.
    fn unasked_warning<'a>(&self, columns: impl Iterator<Item = &'a str>) -> Option<String> {
        let asked = self.asked_columns.as_deref()?;
        let unasked: Vec<&str> = columns.filter(|c| !self.was_asked(asked, c)).collect();
        (!unasked.is_empty()).then(|| {
            format!(
                "GET {}: the server sent columns that columns= did not ask for ({}); they were \
                 left out",
                self.spec.path,
                unasked.join(", ")
            )
        })
    }

    /// `page`'s batches as a stream hands them out: with every column the pages handed out so
    /// far have shown, in the eager table's order (null where this page lacks one), each at the
    /// widest type seen so far, then as
    /// [`present`](Self::present) leaves it. Pages then share one schema until a column first
    /// appears or widens (the stream's warnings name a column that widened), so a consumer can
    /// concatenate them; the same cast as the eager table's end (`conform_batch_in`). Their
    /// text columns take the decoder's form (`DecodeOptions::form`: polars' views for
    /// `iter_calls(frame="polars")` and the scans), as each page did on the thread that decoded
    /// it, so no string is converted here; each batch comes with its declared schema.
    pub fn streamed(&mut self, page: DecodedPage) -> Result<Vec<StreamedBatch>> {
        let schema = self
            .decoder
            .merged_schema(&mut self.streamed_columns, &page);
        // A documented column null on every page so far has its documented type, as in the
        // eager table: only in what is handed out, so a later page's values still decide.
        let named = self.asked_columns.is_some();
        let schema = documented_schema(&schema, self.decoder.documented(), named).unwrap_or(schema);
        let form = self.decoder.form();
        page.batches
            .iter()
            .map(|batch| {
                let to = match self.own_types {
                    true => own_scalar_types(&schema, &batch.schema()),
                    false => Arc::clone(&schema),
                };
                let formed = self.present(conform_batch_in(batch, &to, form)?);
                let declared = declared_for(&formed, &to, form);
                let own = match self.own_types {
                    true => Vec::new(),
                    false => widened_columns(batch, &formed, &schema),
                };
                Ok(StreamedBatch {
                    batch: formed,
                    declared,
                    own,
                })
            })
            .collect()
    }

    /// What a stream of this listing has to say once it has ended, in the eager table's order:
    /// the columns whose values disagree or cannot be held exactly (over every page read), then
    /// what the listing noticed (capped pages, moved rows).
    pub fn warnings(&self) -> Vec<String> {
        let mut all = self.decoder.stream_warnings(&self.streamed_columns);
        all.extend(self.warnings.iter().cloned());
        let streamed = self.streamed_columns.names();
        all.extend(self.unasked_warning(streamed.iter().map(String::as_str)));
        self.client.redacted_warnings(all)
    }

    /// The columns the pages handed out by [`streamed`](Self::streamed) had (a key that
    /// [`present`](Self::present) removes included).
    pub fn streamed_columns(&self) -> Vec<String> {
        self.streamed_columns.names()
    }

    /// Whether a repair pass ran: rows then come in two runs of page order, not one.
    pub fn repaired(&self) -> bool {
        self.moved > 0
    }

    /// The next page with rows not handed out before (it may be empty after de-duplication),
    /// or `None` once the listing has ended.
    ///
    /// Its error is redacted of the client's key, pieces included, whichever step made it: the
    /// page's request, or the rows after it (a bad key column's values, outside trial 42 F3).
    pub async fn next_page(&mut self) -> Option<Result<DecodedPage>> {
        let next = self.next_kept_page().await?;
        Some(next.map_err(|err| self.client.redacted_error(err)))
    }

    async fn next_kept_page(&mut self) -> Option<Result<DecodedPage>> {
        loop {
            if self.pass == Pass::Done {
                return None;
            }
            // A page comes from the paging the pager was in when asked: one it hands out may be
            // the short page that makes it start over.
            let repagings = self.pager.repagings();
            match self.pager.next_page().await {
                Some(Ok(page)) => return Some(self.keep_new_rows(page, repagings)),
                Some(Err(err)) => {
                    self.pass = Pass::Done;
                    return Some(Err(err));
                }
                None => {
                    if let Err(err) = self.end_pass() {
                        self.pass = Pass::Done;
                        return Some(Err(err));
                    }
                }
            }
        }
    }

    /// An empty set of the listing's keys (none when the listing has no key).
    fn fresh_deduper(&self) -> Option<KeyDeduper> {
        let endpoint = format!("GET {}", self.spec.path);
        self.listing_key
            .map(|key| new_deduper(key, &endpoint, &self.decoder))
    }

    /// Drops the rows whose key was handed out already. A repeat is evidence that rows moved,
    /// except the repeats of a pager that started over from page 1 (`repagings` times so far)
    /// of rows handed out before: those are evidence of a key repeated since (found by the
    /// outside trial: re-paging after a cap past page 1 was warned of as moved rows, and read
    /// the listing a third time).
    fn keep_new_rows(&mut self, mut page: DecodedPage, repagings: u64) -> Result<DecodedPage> {
        if repagings != self.repagings {
            self.repagings = repagings;
            self.since_repaging = self.fresh_deduper();
            if self.pass == Pass::Repair {
                self.repair_seen = self.fresh_deduper();
                self.last_keys = None;
            }
        }
        let facts = PageFacts {
            number: Some(self.pager.handed_out_page()),
            key_seen: self.key.as_deref().map_or(0, |key| page.kinds_seen(key)),
        };
        for deduper in [
            &mut self.repair_seen,
            &mut self.since_repaging,
            &mut self.deduper,
        ] {
            if let Some(deduper) = deduper.as_mut() {
                deduper.at_page(facts);
            }
        }
        if let (Pass::Repair, Some(seen)) = (self.pass, self.repair_seen.as_mut()) {
            let mut repeats = 0;
            for batch in &page.batches {
                repeats += seen.filter(batch)?.1;
            }
            let stale =
                page.rows > 0 && repeats == page.rows && page.rows >= self.pager.page_size();
            if stale {
                self.stale_pages_again += 1;
            }
            let keys = self
                .key
                .as_deref()
                .and_then(|key| keys_of(&page.batches, key));
            if repeats > 0
                && !stale
                && !repeats_lead(self.last_keys.as_ref(), keys.as_ref(), repeats)
            {
                self.order_changed_on
                    .get_or_insert(facts.number.unwrap_or(0));
            }
            self.last_keys = keys;
        }
        let Some(deduper) = self.deduper.as_mut() else {
            return Ok(page);
        };
        let (mut dropped, mut moved) = (0, 0);
        let received = page.batches.clone();
        for batch in &mut page.batches {
            if let Some(since) = self.since_repaging.as_mut() {
                let (kept, repeats) = since.filter(batch)?;
                *batch = kept;
                dropped += repeats;
                moved += repeats;
            }
            let (kept, repeats) = deduper.filter(batch)?;
            *batch = kept;
            dropped += repeats;
            if self.since_repaging.is_none() {
                moved += repeats;
            }
        }
        if dropped > 0 {
            deduper.check_page(&received)?;
        }
        page.batches.retain(|batch| batch.num_rows() > 0);
        if self.pass == Pass::Concurrent {
            self.moved += moved;
        }
        let kept = page.rows.saturating_sub(dropped);
        self.check_progress(page.rows, kept)?;
        self.handed_out += kept;
        Ok(page)
    }

    /// A server that ignores `page=` serves the same full page forever. Re-reading rows is
    /// normal (a capped-page restart reads from page 1 again), but never more pages of old rows
    /// in a row than the rows handed out could fill: past that, the listing cannot end. Pages
    /// are counted at the size asked when they hold more: a server whose pages hold more rows
    /// than asked, at offsets of the size asked, overlaps each page with the next, and a repair
    /// pass reads as many pages as the size asked makes (found by the outside trial: it was
    /// stopped short of the end, as a listing that never ends).
    fn check_progress(&mut self, rows: usize, kept: usize) -> Result<()> {
        if rows == 0 || kept > 0 {
            self.stale_pages = 0;
            return Ok(());
        }
        self.stale_pages += 1;
        let per_page = rows.min(self.pager.page_size()).max(1);
        if self.stale_pages > self.handed_out / per_page + 3 {
            self.pass = Pass::Done;
            return Err(self.decode_error(format!(
                "{} pages in a row brought only rows already received, so the listing \
                     would never end: the server's pages overlap (it may ignore the page \
                     parameter, or page differently from the n_per_page it was asked)",
                self.stale_pages
            )));
        }
        Ok(())
    }

    /// The listing's rows cannot be trusted, for the reason `message` gives.
    fn decode_error(&self, message: String) -> Error {
        Error::Decode {
            endpoint: format!("GET {}", self.spec.path),
            message,
        }
    }

    /// The pager ran out: start the repair pass if rows moved, else end. A repair pass that
    /// was served a stale page cannot vouch for its rows: an error, not a result that may lack
    /// rows (outside trial 22: `fetch -o` wrote such a result and exited 0, with a warning).
    fn end_pass(&mut self) -> Result<()> {
        // A repair pass meets what the first pass met (pages larger than asked): said once.
        for warning in self.pager.warnings() {
            if !self.warnings.contains(warning) {
                self.warnings.push(warning.clone());
            }
        }
        match (self.pass, &self.key) {
            (Pass::Concurrent, Some(key)) if self.moved > 0 => {
                let why = if self.pager.pages_oversized() {
                    "rows repeated between pages (pages larger than asked overlap, or the data \
                     changed during the fetch)"
                } else {
                    "rows moved between pages while paging (the data changed during the fetch)"
                };
                self.repair_why = why;
                // At the page size the first pass settled on: a server found to cap pages
                // would only be found (and warned of) again.
                let sequential = PageSpec {
                    concurrency: 1,
                    page_size: self.pager.page_size(),
                    ..self.spec.clone()
                };
                self.pager = Pager::new(
                    self.client.clone(),
                    sequential,
                    Arc::clone(&self.decoder),
                    Arc::clone(&self.progress),
                    self.key.as_deref(),
                );
                self.repagings = 0;
                self.since_repaging = None;
                self.repair_seen = self.fresh_deduper();
                self.pass = Pass::Repair;
            }
            (Pass::Repair, Some(key)) => {
                let (why, moved) = (self.repair_why, self.moved);
                self.pass = Pass::Done;
                // A read in order skips no row only while the server keeps its rows in one
                // order and only adds rows. A key the first pass was served and this read was
                // not shows it did not (an order that changes between requests, such as ties of
                // a sort by a key that is not unique, or rows removed or moved out of a filter):
                // then rows neither read was served may exist (outside trial 63 F1: 89 of 95
                // rows, with a warning that none was missed).
                let seen = |d: &Option<KeyDeduper>| d.as_ref().map_or(0, KeyDeduper::len);
                let unserved = seen(&self.deduper).saturating_sub(seen(&self.repair_seen));
                let shown = match (unserved, self.order_changed_on) {
                    (1.., _) => Some(format!(
                        "was not served {unserved} {key} row{} the first read was",
                        if unserved == 1 { "" } else { "s" }
                    )),
                    // Rows inserted ahead of an in-order read push the previous page's last rows
                    // onto the next page, in their order; other repeats are not theirs.
                    (0, Some(page)) => Some(format!(
                        "was served rows again on page {page} that rows inserted ahead of it \
                         would not have pushed there (the previous page's last rows, in their \
                         order)"
                    )),
                    (0, None) => None,
                };
                if let Some(shown) = shown {
                    return Err(self.decode_error(format!(
                        "{moved} {key} {rows} repeated between pages, so the listing was \
                             read again in order, and that read {shown}: {UNSTABLE_ORDER} \
                             (ties in what it sorts by, or rows removed during the fetch), so a \
                             read in order can skip rows too: {STALE_PAGES}",
                        rows = if moved == 1 { "row" } else { "rows" },
                    )));
                }
                if let again @ 1.. = self.stale_pages_again {
                    return Err(self.decode_error(format!(
                        "{moved} {key} {rows} repeated between pages, so the listing was \
                             read again in order, and that read was served {again} full page{} \
                             holding only rows it had served before: a stale page, or at least \
                             n_per_page={size} rows inserted ahead of the read between two of \
                             its requests, which look the same from here: {STALE_PAGES}",
                        if again == 1 { "" } else { "s" },
                        size = self.pager.page_size(),
                        rows = if moved == 1 { "row" } else { "rows" },
                    )));
                }
                self.warnings.push(format!(
                    "{why}: {moved} repeated {key} row{} dropped (each row is kept as first \
                     read), and the listing was read again in order so no row is missed; every \
                     row is in the result once",
                    if moved == 1 { " was" } else { "s were" }
                ));
            }
            (Pass::Concurrent, Some(key)) if self.pager.moved_onto_last_page() => {
                // Nothing repeated, so no row can be missing: the page before the last lost
                // rows to it, and its re-read brought them (module docs of the pager).
                self.warnings.push(format!(
                    "rows moved between pages while paging (the data changed during the fetch): \
                     {key} rows pushed onto the last page after it was first read arrived when \
                     it was read again; every row is in the result once"
                ));
                self.pass = Pass::Done;
            }
            _ => self.pass = Pass::Done,
        }
        Ok(())
    }
}

/// Runs a listing to its end and assembles one table in one schema. After a repair pass the
/// rows are sorted by key, the API's own order. What it hands out (its error or the table's
/// warnings) leaves through the client's one redacting exit.
pub async fn fetch_all(listing: Listing) -> Result<DecodedTable> {
    let client = listing.client.clone();
    client.handed_out(assemble(listing).await)
}

async fn assemble(mut listing: Listing) -> Result<DecodedTable> {
    let mut pages = Vec::new();
    while let Some(page) = listing.next_kept_page().await {
        pages.push(page?);
    }
    let mut table = listing.decoder.finish(pages, None)?;
    if let (true, Some(key)) = (listing.repaired(), listing.key.as_deref()) {
        table.batches = sort_by_key(&table.batches, key)?;
        table.duplicates_dropped = listing.moved;
    }
    let unasked = listing.unasked_warning(table.schema.fields().iter().map(|f| f.name().as_str()));
    if listing.hidden_key || unasked.is_some() {
        let batches = std::mem::take(&mut table.batches);
        let empty = RecordBatch::new_empty(Arc::clone(&table.schema));
        table.schema = listing.present(empty).schema();
        table.batches = batches.into_iter().map(|b| listing.present(b)).collect();
    }
    table.warnings.extend(listing.warnings);
    table.warnings.extend(unasked);
    Ok(table)
}

/// A set of the keys of `endpoint`'s rows. A caller who forced the key's type (`schema=`) chose
/// what it holds; otherwise an integer key must hold integers.
fn new_deduper(key: ListingKey, endpoint: &str, decoder: &FetchDecoder) -> KeyDeduper {
    let deduper = KeyDeduper::new(key.name, endpoint);
    match key.integer && !decoder.forces(key.name) {
        true => deduper.integer(),
        false => deduper,
    }
}

/// Adds `key` to a `columns=` selection that leaves it out (rows cannot be de-duplicated
/// without it); true when it was added. No `columns=` means every column, the key included.
fn request_key_column(query: &mut Pairs, key: &str) -> bool {
    let Some((_, columns)) = query.iter_mut().find(|(name, _)| name == "columns") else {
        return false;
    };
    if columns.split(',').any(|column| column == key) {
        return false;
    }
    *columns = format!("{key},{columns}");
    true
}

fn without_column(mut batch: RecordBatch, name: &str) -> RecordBatch {
    if let Ok(index) = batch.schema().index_of(name) {
        batch.remove_column(index);
    }
    batch
}

/// `schema` with each scalar column `batch` holds at the batch's own type (a column of nulls,
/// or a nested one, at `schema`'s): what [`Listing::keep_own_types`] hands out. A page's text
/// column under a non-text type stays at that type: the page was text only by its own values
/// (a float beside an integer past 2^53), which the column's rule over every page reads as
/// numbers, and a writer merging by the page's types would have made the column text where
/// `client.calls()` has Float64 (outside trial 20).
fn own_scalar_types(schema: &SchemaRef, batch: &SchemaRef) -> SchemaRef {
    with_own_types(schema, batch, |own| {
        !own.is_nested() && own != &DataType::Utf8
    })
}

/// The columns of `formed` (`batch` as handed out under `schema`) that `schema` hands out at
/// another type than `batch`'s own: each one's index in `formed` and its values as the page
/// decoded them (text as Utf8). Integers after a float page are handed out as floats; a
/// float page with an integer past 2^53 is text by its own values (which keep that integer as
/// sent) and is handed out as floats (outside trial 84 N1: joined, it read
/// `9007199254740992.0` where the eager table has `9007199254740993`).
fn widened_columns(
    batch: &RecordBatch,
    formed: &RecordBatch,
    schema: &SchemaRef,
) -> Vec<(usize, ArrayRef)> {
    schema
        .fields()
        .iter()
        .filter_map(|handed| {
            let own = batch.schema().field_with_name(handed.name()).ok()?.clone();
            let own_type = own.data_type();
            // Text is text in any form (a page's own may be polars' views); nulls and nested
            // values take the handed-out type as they are.
            let same = own_type == handed.data_type() || (is_text(&own) && is_text(handed));
            if same || own_type == &DataType::Null || own_type.is_nested() {
                return None;
            }
            let index = formed.schema().index_of(handed.name()).ok()?;
            let values = batch.column_by_name(handed.name())?;
            let values = match is_text(&own) {
                true => crate::views::convert(values, &DataType::Utf8).ok()?,
                false => Arc::clone(values),
            };
            Some((index, values))
        })
        .collect()
}

/// Whether `field` holds text, in any of the forms a page's text takes.
fn is_text(field: &Field) -> bool {
    use DataType::{LargeUtf8, Utf8, Utf8View};
    matches!(field.data_type(), Utf8 | Utf8View | LargeUtf8)
}

/// The `key` column of a page's `batches`, in the order served (`None` without one).
fn keys_of(batches: &[RecordBatch], key: &str) -> Option<ArrayRef> {
    let columns: Vec<&dyn Array> = batches
        .iter()
        .map(|batch| batch.column_by_name(key).map(|c| c.as_ref()))
        .collect::<Option<_>>()?;
    arrow_select::concat::concat(&columns).ok()
}

/// Whether a page of an in-order read that repeats `repeats` keys it had read before (`keys`)
/// holds them as rows inserted ahead of the read leave them: the last `repeats` keys of the
/// previous page (`last`), in their order. The rows just before the read's place move onto
/// the next page, so the rows inserted among them come along, between the repeats (outside
/// trial 64: 2481 inserted before 2490 and 2500 led page 5). More repeats than the previous
/// page held (more rows inserted between two requests than a page) are a stale page, told
/// apart by its own count; a first page (no `last`) repeats only its own keys, which no insert
/// explains either way. Both pass.
fn repeats_lead(last: Option<&ArrayRef>, keys: Option<&ArrayRef>, repeats: usize) -> bool {
    let (Some(last), Some(keys)) = (last, keys) else {
        return last.is_none();
    };
    if repeats > last.len() {
        return true;
    }
    let tail = last.slice(last.len() - repeats, repeats);
    let Ok(same) =
        arrow_ord::ord::make_comparator(keys.as_ref(), tail.as_ref(), Default::default())
    else {
        return true; // keys of types that do not compare: nothing to tell by
    };
    // The tail as a subsequence of the page: every repeat the page holds is then one of them.
    let mut next = 0;
    for i in 0..keys.len() {
        if next < repeats && same(i, next).is_eq() {
            next += 1;
        }
    }
    next == repeats
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};

    use super::repeats_lead;

    fn ids(values: &[i64]) -> Option<ArrayRef> {
        Some(Arc::new(Int64Array::from(values.to_vec())))
    }

    #[test]
    fn repeats_are_the_last_page_s_tail_in_order_with_inserts_among_them() {
        let last = ids(&[10, 20, 30, 40]);
        // Two rows inserted ahead of the read: 30 and 40 lead the next page.
        assert!(repeats_lead(last.as_ref(), ids(&[30, 40, 50]).as_ref(), 2));
        // A row inserted between them comes along (outside trial 64: 2481 before 2490, 2500).
        assert!(repeats_lead(last.as_ref(), ids(&[31, 40, 50]).as_ref(), 1));
        assert!(repeats_lead(
            last.as_ref(),
            ids(&[30, 35, 40, 50]).as_ref(),
            2
        ));
        // Another row than the tail, or the tail out of order: not what inserts do.
        assert!(!repeats_lead(last.as_ref(), ids(&[20, 50]).as_ref(), 1));
        assert!(!repeats_lead(last.as_ref(), ids(&[40, 30, 50]).as_ref(), 2));
        assert!(!repeats_lead(last.as_ref(), ids(&[50, 10]).as_ref(), 1));
        // A first page, and more repeats than a page (a stale page, told by its own count).
        assert!(repeats_lead(None, ids(&[1, 1]).as_ref(), 1));
        assert!(repeats_lead(ids(&[1]).as_ref(), ids(&[1, 2]).as_ref(), 2));
        // Text keys compare the same way.
        let text =
            |v: &[&str]| -> Option<ArrayRef> { Some(Arc::new(StringArray::from(v.to_vec()))) };
        assert!(repeats_lead(
            text(&["a", "b"]).as_ref(),
            text(&["b", "c"]).as_ref(),
            1
        ));
        assert!(!repeats_lead(
            text(&["a", "b"]).as_ref(),
            text(&["a", "c"]).as_ref(),
            1
        ));
    }
}
