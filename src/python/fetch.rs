//! `_core.fetch`: every read. A query value and one options struct come in; a listing runs the
//! one engine (`http::listing`) whole or as a stream, and `/report` is one answer.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::IntoPyObjectExt;
use pyo3_arrow::input::AnyRecordBatch;

use super::args::{schema_overrides, AnyInt};
use super::arrow::{own_typed, PyArrowTable};
use super::client::PyRawClient;
use super::query::PyQuery;
use super::runtime::{enter_converz, ProgressSink};
use super::stream::PyBatchStream;
use crate::decode::{
    batch_size_for_pages, concat_schema, conform_batch, conform_part, documented_when_null,
    join_small_batches, text_schema, DecodeOptions, DecodedTable, FetchDecoder, Part,
};
use crate::error::Error;
use crate::http::listing::{fetch_all, Listing};
use crate::http::paginate::PageSpec;
use crate::http::query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::http::report::fetch_report;
use crate::views::Form;

/// How to fetch, as the Python layer passes it (one dict, every key present).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct FetchOptions {
    /// Any Python int: one past `u64` is refused by the range check, naming `page_size`, not by
    /// pyo3's extraction with a bare `TypeError` (outside trial 19).
    page_size: Option<AnyInt>,
    parse_dates: bool,
    schema: Option<Py<PyDict>>,
    /// The query's documented columns (name → type name, in the API's order): a speed hint
    /// for the decoder's first pages (`DecodeOptions::hint`), never a change to the result.
    hint: Option<Py<PyDict>>,
    stream: bool,
    /// The form of the table's text columns (`crate::views::Form::named`): `"utf8"`, or the
    /// one the DataFrame library the caller named stores (`frame=`).
    form: String,
    progress: Option<Py<PyAny>>,
}

/// Fetches `query`: `(table, warnings, pages)`, or with `stream` a batch stream over the listing.
#[pyfunction]
pub fn fetch(
    py: Python<'_>,
    client: &Bound<'_, PyRawClient>,
    query: PyQuery,
    options: FetchOptions,
) -> PyResult<Py<PyAny>> {
    let query = query.0;
    let pairs = query.to_pairs()?;
    // The query names its columns: the result has each, in that order, held by a row or not.
    let columns_named = pairs.iter().any(|(name, _)| name == "columns");
    let hint = schema_overrides(options.hint.as_ref().map(|d| d.bind(py)))?;
    let page_size = page_size(options.page_size)?;
    // "auto": Utf8, laid out as polars' views where the link left the decode idle (an eager
    // listing only: a stream's pages go to files and engines as Utf8, a report is one page).
    let (named, auto) = match options.form.as_str() {
        "auto" => ("utf8", !options.stream),
        named => (named, false),
    };
    let Some(form) = Form::named(named) else {
        let message = "'auto', 'utf8', 'utf8_view' or 'large_utf8'";
        return Err(Error::invalid("form", message).into());
    };
    let decode = DecodeOptions {
        parse_dates: options.parse_dates,
        schema_overrides: schema_overrides(options.schema.as_ref().map(|d| d.bind(py)))?,
        hint,
        batch_size: batch_size_for_pages(page_size),
        form,
        views_when_idle: auto && query.listing_key().is_some(),
    };
    let decoder = Arc::new(FetchDecoder::new(decode));
    // The types a column no row held is handed out at (`schema=` wins over the documented).
    let documented = decoder.documented().to_vec();
    let api = client.get().api.clone();
    let Some(key) = query.listing_key() else {
        if options.stream {
            return Err(Error::invalid("stream", "/report is one answer, not a listing").into());
        }
        let sink = ProgressSink::new(options.progress);
        let table = enter_converz(py, &sink, async move {
            fetch_report(&api, pairs, decoder).await
        })?;
        let table = documented_when_null(table, &documented, columns_named, form)?;
        return table_to_python(py, table, 1)?.into_py_any(py);
    };
    let spec = PageSpec {
        path: query.path(),
        query: pairs,
        page_size,
        concurrency: api.config().max_concurrency,
        reads_all: !options.stream,
    };
    if options.stream {
        let listing = Listing::new(api, spec, decoder, Some(key), Arc::default());
        return PyBatchStream::new(listing).into_py_any(py);
    }
    let sink = ProgressSink::new(options.progress);
    let counters = Arc::clone(&sink.counters);
    let mut listing = Listing::new(api, spec, Arc::clone(&decoder), Some(key), counters);
    // Freed page buffers are reused while the fetch runs, and given back once its end shows,
    // before the frame is built (see `alloc`): glibc's speed without its retention at the peak.
    listing.hold_until_the_end_shows(Box::new(crate::alloc::Recycling::start()));
    let table = enter_converz(py, &sink, async move {
        let table = fetch_all(listing).await;
        // Logged inside the operation, whose end takes a stop a logging handler raised here
        // (see `log_bridge`); after it, that stop would be left set as the call returned.
        let (decoded, fast) = decoder.pages_decoded();
        let idle = decoder.pages_laid_out_when_idle();
        log::debug!(
            target: "converz",
            "decoded {decoded} pages, {fast} by the schema-specialised path, {idle} laid out \
             for polars while waiting on the link"
        );
        table
    })?;
    let form = table.form;
    let table = documented_when_null(table, &documented, columns_named, form)?;
    let pages = sink.counters.snapshot().pages;
    table_to_python(py, table, pages)?.into_py_any(py)
}

/// The page size asked for, in 1..=`MAX_PAGE_SIZE` (a negative one told as given).
fn page_size(given: Option<AnyInt>) -> Result<usize, Error> {
    given.map_or(Ok(DEFAULT_PAGE_SIZE), |size| {
        let size = size.within("page_size", 1, MAX_PAGE_SIZE as i128)?;
        Ok(usize::try_from(size).expect("within 1..=MAX_PAGE_SIZE"))
    })
}

/// `(table, warnings, pages)` for the Python layer, which wraps the table in `converz.Table`.
pub fn table_to_python(
    py: Python<'_>,
    table: DecodedTable,
    pages: u64,
) -> PyResult<(Py<PyAny>, Vec<String>, u64)> {
    let DecodedTable {
        schema,
        batches,
        warnings,
        ..
    } = table;
    let table = PyArrowTable::new(schema, batches);
    Ok((table.into_py_any(py)?, warnings, pages))
}

/// A table with no rows and the given columns (name → type name, in order): what a fetch that
/// found no rows returns, so `select` and `concat` on it work as on a full result.
#[pyfunction]
pub fn empty_table(py: Python<'_>, columns: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
    let fields: Vec<arrow_schema::Field> = schema_overrides(Some(columns))?
        .into_iter()
        .map(|(name, data_type)| arrow_schema::Field::new(name, data_type, true))
        .collect();
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    PyArrowTable::new(schema, Vec::new()).into_py_any(py)
}

/// Every column of `data` (a polars frame's columns, say) as the text the eager fetch makes of
/// a column that ends as text: what the polars scan gives a page's column its schema types as
/// text (`converz._schema.align`), so the scan spells values as `client.calls()` does. Columns
/// are matched by name, which a polars frame keeps unique.
#[pyfunction]
pub fn text_columns(py: Python<'_>, data: AnyRecordBatch) -> PyResult<Py<PyAny>> {
    let reader = data.into_reader()?;
    let schema = text_schema(&reader.schema());
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(Error::from)?;
    let texts = py.detach(|| {
        batches
            .iter()
            .map(|batch| conform_batch(batch, &schema))
            .collect::<Result<Vec<_>, Error>>()
    })?;
    PyArrowTable::new(schema, texts).into_py_any(py)
}

/// Tables as one, in their order: every column any has (first-appearance order), at the type
/// one fetch of all their rows gives (`decode::concat_schema`, the fetch's own merge rules), each
/// cast by the rules the eager fetch casts its pages with (`decode::conform_batch`): timestamps
/// as sent, nested values as JSON. Returns `(table, warnings)`: the fetch's warnings for the
/// columns the join changed. polars' `diagonal_relaxed` concat prints an early timestamp
/// `.000000` and cannot cast a list to text.
#[pyfunction]
pub fn concat_tables(
    py: Python<'_>,
    tables: Vec<PyRef<'_, PyArrowTable>>,
) -> PyResult<(Py<PyAny>, Vec<String>)> {
    if tables.is_empty() {
        return Err(Error::invalid("tables", "no tables to concatenate").into());
    }
    // A stream's tables join at their pages' own types (`arrow::own_typed`), as the eager
    // fetch joins its pages: the join's types from them, then each table's batches for those
    // types.
    let sources = tables
        .iter()
        .map(|t| Ok((Arc::clone(t.schema()), t.batches()?, Vec::from(t.own()))))
        .collect::<Result<Vec<_>, arrow_schema::ArrowError>>()
        .map_err(Error::from)?;
    let (schema, batches, warnings) = py.detach(|| {
        let typed = sources
            .iter()
            .map(|(schema, batches, own)| own_typed(schema, batches.clone(), own, None))
            .collect::<Result<Vec<_>, _>>()?;
        let joined: Vec<Part<'_>> = typed.iter().map(|(s, b)| (s, b.as_slice())).collect();
        let (schema, warnings) = concat_schema(&joined)?;
        let mut batches = Vec::new();
        for (table_schema, table_batches, own) in sources {
            for batch in own_typed(&table_schema, table_batches, &own, Some(&schema))?.1 {
                batches.push(conform_part(&batch, &schema)?);
            }
        }
        let batches = join_small_batches(&schema, batches)?;
        Ok::<_, Error>((schema, batches, warnings))
    })?;
    Ok((
        PyArrowTable::new(schema, batches).into_py_any(py)?,
        warnings,
    ))
}
