//! [`PageDecoder`]: one page's body, chunk by chunk, into record batches.
//!
//! Rows are classified as they arrive and, while they fit the schema the page started with,
//! decoded straight away. A page that started with no schema, or met a row that does not fit,
//! is decoded at `finish` from its retained chunks under the shared schema widened by what the
//! page saw (see the `mod.rs` docs). A page made by
//! [`FetchDecoder::page_read_again`](super::FetchDecoder::page_read_again) retains nothing
//! while the fast path decodes it, and fails with [`Error::ReadAgain`] where it would have
//! gone back to its chunks.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_json::reader::Decoder;
use arrow_json::ReaderBuilder;
use arrow_schema::{DataType, SchemaRef};
use bytes::Bytes;

use super::classify::{Classifier, Stop};
use super::fast::FastSink;
use super::framing::{decode_error, ScanSink, Sink, Splitter};
use super::infer::{bits, Fields, Kind};
use super::surrogates::{has_pair_escape, unescape_pairs};
use super::unify::quote_nested;
use super::{DecodeOptions, DecodedPage, Shared, Snapshot, REFERENCE_BATCH_ROWS};
use crate::views::{form_schema, to_form, Form};
use crate::{Error, Result};

/// Decodes one page's body; made by [`FetchDecoder::page`](super::FetchDecoder::page).
///
/// `Send + 'static`: it may move to whichever task receives the body.
pub struct PageDecoder {
    shared: Arc<Shared>,
    splitter: Splitter,
    mode: Mode,
    /// The body so far (refcounted, not copied), for a re-decode under a wider schema or
    /// when the fast path declines; empty while `keep` is false.
    chunks: Vec<Bytes>,
    /// Whether the body is kept: false only for a page on the fast path under a settled
    /// schema whose caller can read it again (see `FetchDecoder::page_read_again`).
    keep: bool,
    /// The shared schema when the page started; `None` before any page finished, when the
    /// fast path speculates on the hint (`DecodeOptions::hint`).
    started: Option<Arc<Snapshot>>,
}

/// Which path decodes the page.
enum Mode {
    /// The schema-specialised decoder (`fast/`), while every row fits it.
    Fast(FastSink),
    /// The reference: classifier + arrow-json.
    Reference(StreamSink),
}

/// Classifies every row and decodes it while it fits the page's starting schema.
struct StreamSink {
    classifier: Classifier,
    snapshot: Option<Arc<Snapshot>>,
    /// `None` when the page started without a schema or a row did not fit it.
    decoder: Option<Decoder>,
    batches: Vec<RecordBatch>,
    rows: usize,
    batch_size: usize,
}

impl PageDecoder {
    /// `keep`: keep the body even where the fast path would let it go (the caller cannot
    /// read the page again).
    pub(crate) fn new(shared: Arc<Shared>, keep: bool) -> Self {
        let snapshot = shared.snapshot();
        let batch_size = shared.options.batch_size.max(1);
        let parse_dates = shared.options.parse_dates;
        let fast = snapshot
            .as_ref()
            .or(shared.hint.as_ref())
            .filter(|_| shared.fast_path)
            .and_then(|s| {
                let sizes = shared.text_sizes();
                FastSink::new(s, parse_dates, batch_size, &sizes, shared.options.form)
            });
        // A page that speculates on the hint keeps its body: the hint may turn out not to be
        // the schema, and then the whole page is decoded again (`finish`).
        let keep = keep || fast.is_none() || snapshot.is_none();
        let mode = match fast {
            Some(sink) => Mode::Fast(sink),
            None => Mode::Reference(StreamSink::new(snapshot.clone(), &shared.options)),
        };
        Self {
            shared,
            splitter: Splitter::default(),
            mode,
            chunks: Vec::new(),
            keep,
            started: snapshot,
        }
    }

    /// Feeds the next chunk of the body; chunks may split the body anywhere.
    pub fn feed(&mut self, chunk: Bytes) -> Result<()> {
        let fast_ok = match &mut self.mode {
            Mode::Reference(sink) => {
                self.splitter.feed(&chunk, sink)?;
                true
            }
            Mode::Fast(sink) => self.splitter.feed(&chunk, sink).is_ok(),
        };
        if self.keep && !chunk.is_empty() {
            self.chunks.push(chunk);
        }
        if !fast_ok {
            self.fall_back()?;
        }
        Ok(())
    }

    /// The bytes of the row cut by a chunk boundary that the splitter holds a copy of, so far
    /// (`http::body` counts them against the body's limit beside the body itself).
    pub fn stitched_bytes(&self) -> usize {
        self.splitter.carried()
    }

    /// Leaves the fast path: decodes the body so far again the reference way, which also
    /// reports the error if the body is not valid; without the body, asks for the page to be
    /// read again ([`Error::ReadAgain`]).
    #[cold]
    fn fall_back(&mut self) -> Result<()> {
        let Mode::Fast(_) = &self.mode else {
            return Ok(());
        };
        if !self.keep {
            self.shared.read_again.store(true, Ordering::Relaxed);
            return Err(Error::ReadAgain);
        }
        let mut sink = StreamSink::new(self.started.clone(), &self.shared.options);
        self.splitter = Splitter::default();
        for chunk in &self.chunks {
            self.splitter.feed(chunk, &mut sink)?;
        }
        self.mode = Mode::Reference(sink);
        Ok(())
    }

    /// Finishes the page, its text columns in the fetch's form (`DecodeOptions::form`); fails
    /// if the body was not one complete JSON array of objects.
    pub fn finish(self) -> Result<DecodedPage> {
        self.finish_waited(Duration::ZERO, Duration::ZERO)
    }

    /// [`finish`](Self::finish) for a page whose decode `waited` that long for its body and
    /// `worked` that long on it. With `DecodeOptions::views_when_idle`, while the fetch's
    /// decode has waited at least half as long as it worked (pages in flight sharing a link
    /// slower than their decode: over a 50 MB/s link most pages of a 1M-call fetch wait about
    /// as long as they work, on loopback nearly none wait), the page's text columns become
    /// polars' views here, on time the link leaves. Counted over the fetch, not the page, so
    /// that pages do not flip on one page's luck.
    pub fn finish_waited(self, waited: Duration, worked: Duration) -> Result<DecodedPage> {
        let options = &self.shared.options;
        let idle = options.views_when_idle && self.shared.waited_half_as_long(waited, worked);
        let form = match options.form {
            Form::Utf8 if idle => Form::Utf8View,
            form => form,
        };
        if form != options.form {
            self.shared.count_idle();
        }
        let mut page = self.decoded()?;
        if form != Form::Utf8 {
            for batch in &mut page.batches {
                *batch = to_form(batch, &form_schema(&batch.schema(), form))?;
            }
        }
        Ok(page)
    }

    fn decoded(mut self) -> Result<DecodedPage> {
        if let Mode::Fast(fast) = &mut self.mode {
            if self.splitter.finish().is_ok() {
                if let Some((batches, columns, rows)) = fast.finish() {
                    self.shared.merge(&columns);
                    self.shared.note_text_sizes(fast.text_sizes(rows));
                    // Under a settled schema or the hint alike, the page stands if it casts
                    // exactly to its own types, which is what the reference gives.
                    let options = &self.shared.options;
                    if let Some(batches) = as_held(batches, &columns, options, fast.form())? {
                        self.shared.count(true);
                        return Ok(DecodedPage {
                            rows,
                            batches,
                            columns,
                            fast: true,
                        });
                    }
                }
            }
            self.fall_back()?;
        }
        self.splitter.finish()?;
        let Mode::Reference(sink) = self.mode else {
            return Err(decode_error("the fast path did not fall back"));
        };
        let page = sink.finish(&self.shared, &self.chunks)?;
        self.shared.count(false);
        Ok(page)
    }
}

impl StreamSink {
    fn new(snapshot: Option<Arc<Snapshot>>, options: &DecodeOptions) -> Self {
        let batch_size = options.batch_size.clamp(1, REFERENCE_BATCH_ROWS);
        let decoder = snapshot
            .as_ref()
            .and_then(|s| build_decoder(Arc::clone(&s.schema), batch_size).ok());
        let classifier = Classifier::new(options.parse_dates, &options.schema_overrides);
        Self {
            classifier,
            snapshot,
            decoder,
            batches: Vec::new(),
            rows: 0,
            batch_size,
        }
    }

    fn finish(self, shared: &Shared, chunks: &[Bytes]) -> Result<DecodedPage> {
        let Self {
            classifier,
            decoder,
            mut batches,
            rows,
            batch_size,
            ..
        } = self;
        let columns = classifier.fields;
        shared.merge(&columns);
        let overrides = &shared.options.schema_overrides;
        let streamed = match decoder {
            _ if rows == 0 => Some(Vec::new()),
            Some(mut decoder) => {
                batches.extend(decoder.flush()?);
                as_held(batches, &columns, &shared.options, Form::Utf8)?
            }
            None => None,
        };
        let batches = match streamed {
            Some(batches) => batches,
            // Every row was `{}`: rows without columns (other pages may add some).
            None if columns.is_empty() => vec![no_columns(rows)?],
            // Decoded under the page's own types, whatever other pages showed.
            None => {
                let held = Snapshot::held(&columns, overrides);
                redecode(chunks, &held, &columns, batch_size)?
            }
        };
        Ok(DecodedPage {
            rows,
            batches,
            columns,
            fast: false,
        })
    }
}

/// `batches`, decoded under the shared schema of their time, at the page's own types
/// (`infer::held_schema`), or `None` if some column cannot be cast there exactly (the caller
/// then decodes the page under its own types). Why: which pages finished first decides the
/// schema a page decodes under, and that must not show in any value or warning (outside trial
/// 16: an integer beyond 2^53 on a page decoded after another page had made its column Float64
/// was rounded, and kept exact when its page decoded first, from run to run). At its own types
/// a page is a function of its contents, and every path casts it from there alike.
fn as_held(
    batches: Vec<RecordBatch>,
    columns: &Fields,
    options: &DecodeOptions,
    form: Form,
) -> Result<Option<Vec<RecordBatch>>> {
    let Some(first) = batches.first() else {
        return Ok(Some(batches));
    };
    let held = super::infer::held_schema(columns, &options.schema_overrides);
    let from = first.schema();
    if from == held || (form != Form::Utf8 && from == form_schema(&held, form)) {
        return Ok(Some(batches));
    }
    let exact = held.fields().iter().all(|to| {
        let col = columns.position(to.name()).map(|i| &columns.cols[i]);
        match (from.field_with_name(to.name()), col) {
            (Ok(f), Some(col)) => exact_cast(f.data_type(), to.data_type(), col),
            // A column the page has but the batch lacks: not a decode this function knows.
            _ => to.data_type() == &DataType::Null,
        }
    });
    if !exact {
        return Ok(None);
    }
    batches
        .iter()
        .map(|batch| super::unify::conform_batch_in(batch, &held, form))
        .collect::<Result<_>>()
        .map(Some)
}

/// Whether a column of values `col` (one page's) decoded as `from` casts to `to` (the page's
/// own type for them) with every value as a decode as `to` would have made it. Only casts
/// known to be exact are listed; anything else makes the page decode again, which is always
/// right, only slower.
fn exact_cast(from: &DataType, to: &DataType, col: &super::infer::Col) -> bool {
    match (from, to) {
        _ if from == to => true,
        // Every value on the page was null.
        (_, DataType::Null) => true,
        // Integers within ±2^53 are exact doubles (beyond, the double was rounded).
        (DataType::Float64, DataType::Int64) => col.seen & bits::WIDE == 0,
        // A date decoded as a timestamp is its midnight.
        (DataType::Timestamp(_, None), DataType::Date32) => true,
        // Text holds an integer's or a boolean's JSON text as sent, which parses back exactly.
        (DataType::Utf8, DataType::Int64 | DataType::Boolean) => true,
        // Views built by the fast path are the text as Utf8, in the form the page keeps.
        (DataType::Utf8View, DataType::Utf8) => true,
        (DataType::Struct(from), DataType::Struct(to)) => to.iter().all(|t| {
            let child = col
                .fields
                .as_deref()
                .and_then(|f| f.position(t.name()).map(|i| &f.cols[i]));
            match (from.iter().find(|f| f.name() == t.name()), child) {
                (Some(f), Some(child)) => exact_cast(f.data_type(), t.data_type(), child),
                _ => t.data_type() == &DataType::Null,
            }
        }),
        (DataType::List(from), DataType::List(to)) => col
            .item
            .as_deref()
            .is_some_and(|item| exact_cast(from.data_type(), to.data_type(), item)),
        _ => false,
    }
}

impl Sink for StreamSink {
    fn element(&mut self, bytes: &[u8]) -> Result<Option<usize>> {
        let n = match self.classifier.row(bytes) {
            Ok(n) => n,
            Err(Stop::Incomplete) => return Ok(None),
            Err(Stop::Invalid(message)) => return Err(decode_error(message)),
        };
        self.rows += 1;
        if self.classifier.changed {
            self.classifier.changed = false;
            let fits = self
                .snapshot
                .as_ref()
                .is_some_and(|s| fits(s, &self.classifier.fields));
            if !fits && self.decoder.is_some() {
                // Decoded rows are thrown away: the whole page is re-decoded at `finish`.
                self.decoder = None;
                self.batches.clear();
            }
        }
        if let Some(decoder) = &mut self.decoder {
            decode_row(decoder, &bytes[..n], &mut self.batches, self.batch_size)?;
        }
        Ok(Some(n))
    }
}

/// True if rows with `page`'s values decode losslessly under `snap`'s schema as they are.
pub(super) fn fits(snap: &Snapshot, page: &Fields) -> bool {
    page.names.iter().zip(&page.cols).all(|(name, col)| {
        let Some(i) = snap.fields.position(name) else {
            return false;
        };
        if snap.forced[i] {
            // Nested values in a column forced to text are kept as their JSON text, which
            // only the re-decode writes.
            return !(is_text(snap, name) && col.seen & bits::NESTED != 0);
        }
        let mut merged = snap.fields.cols[i].clone();
        merged.merge(col);
        let kind = merged.kind();
        // JSON-text columns need nested values quoted first, which only the re-decode does.
        kind == snap.kinds[i] && !(kind == Kind::Json && col.seen & bits::NESTED != 0)
    })
}

/// Whether column `name` is text in `snap`'s schema: a column forced (`schema=`) to a string
/// type keeps every value as the server sent it, a list or object as its JSON text (the README
/// says so; outside trial 23b: it was refused).
fn is_text(snap: &Snapshot, name: &str) -> bool {
    snap.schema.field_with_name(name).is_ok_and(|f| {
        matches!(
            f.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
    })
}

fn no_columns(rows: usize) -> Result<RecordBatch> {
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
    let schema = Arc::new(arrow_schema::Schema::empty());
    Ok(RecordBatch::try_new_with_options(
        schema,
        Vec::new(),
        &options,
    )?)
}

fn build_decoder(schema: SchemaRef, batch_size: usize) -> Result<Decoder> {
    Ok(ReaderBuilder::new(schema)
        .with_batch_size(batch_size)
        .with_coerce_primitive(true)
        .with_strict_mode(true)
        .build_decoder()?)
}

fn decode_row(d: &mut Decoder, row: &[u8], out: &mut Vec<RecordBatch>, size: usize) -> Result<()> {
    if d.len() >= size {
        out.extend(d.flush()?);
    }
    if has_pair_escape(row) {
        // Rare (escaped astral characters): a copy per such row is fine.
        let mut fixed = Vec::with_capacity(row.len());
        unescape_pairs(row, &mut fixed);
        return feed_row(d, &fixed);
    }
    feed_row(d, row)
}

fn feed_row(d: &mut Decoder, row: &[u8]) -> Result<()> {
    if d.decode(row)? != row.len() {
        return Err(decode_error("arrow-json stopped inside a row"));
    }
    Ok(())
}

/// Decodes the retained body again under `snap`, quoting nested values of JSON-text columns.
fn redecode(
    chunks: &[Bytes],
    snap: &Snapshot,
    page: &Fields,
    batch_size: usize,
) -> Result<Vec<RecordBatch>> {
    let mut decoder = build_decoder(Arc::clone(&snap.schema), batch_size)?;
    let quote: Vec<&str> = page
        .names
        .iter()
        .zip(&page.cols)
        .filter(|(name, col)| {
            let i = snap.fields.position(name);
            let json = i.is_some_and(|i| {
                if snap.forced[i] {
                    is_text(snap, name)
                } else {
                    snap.kinds[i] == Kind::Json
                }
            });
            json && col.seen & bits::NESTED != 0
        })
        .map(|(name, _)| name.as_ref())
        .collect();
    let mut batches = Vec::new();
    let mut rewritten = Vec::new();
    let mut sink = ScanSink(|row: &[u8]| {
        let row = if quote.is_empty() {
            row
        } else {
            rewritten.clear();
            quote_nested(row, &quote, &mut rewritten)?;
            &rewritten
        };
        decode_row(&mut decoder, row, &mut batches, batch_size)
    });
    let mut splitter = Splitter::default();
    for chunk in chunks {
        splitter.feed(chunk, &mut sink)?;
    }
    batches.extend(decoder.flush()?);
    Ok(batches)
}
