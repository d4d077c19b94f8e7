//! What every fetch shares: decode options and progress from Python arguments, and the
//! conversion of a decoded table into a Python Arrow table.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::IntoPyObjectExt;

use super::args::schema_overrides;
use super::arrow::PyArrowTable;
use super::client::PyRawClient;
use super::runtime::{enter_converz, ProgressSink};
use super::stream::PyBatchStream;
use crate::decode::{DecodeOptions, DecodedTable, FetchDecoder};
use crate::http::paginate::{fetch_all, PageSpec};
use crate::http::query::{check_page_size, Pairs, DEFAULT_PAGE_SIZE};

/// A paged listing endpoint with its checked filters.
pub struct Listing {
    pub path: &'static str,
    pub key: &'static str,
    pub query: Pairs,
}

/// Fetches a listing whole (`(table, warnings)`) or returns a stream over it.
pub fn run_listing(
    py: Python<'_>,
    client: &PyRawClient,
    listing: Listing,
    fetch: FetchArgs,
    stream: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let spec = PageSpec {
        path: listing.path,
        query: listing.query,
        page_size: fetch.page_size,
        concurrency: client.api.config().max_concurrency,
    };
    let decoder = Arc::new(FetchDecoder::new(fetch.decode));
    if stream {
        let stream = PyBatchStream::new(client.api.clone(), spec, decoder, listing.key);
        return stream.into_py_any(py);
    }
    let sink = ProgressSink::new(progress);
    let api = client.api.clone();
    let counters = Arc::clone(&sink.counters);
    let table = enter_converz(py, &sink, async move {
        fetch_all(api, spec, decoder, Some(listing.key), counters).await
    })?;
    table_to_python(py, table)?.into_py_any(py)
}

/// Options every paged fetch takes.
pub struct FetchArgs {
    pub page_size: usize,
    pub decode: DecodeOptions,
}

impl FetchArgs {
    /// Checks `page_size` and builds decode options.
    pub fn new(
        page_size: Option<usize>,
        parse_dates: bool,
        schema: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let page_size = check_page_size(page_size.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let decode = DecodeOptions {
            parse_dates,
            schema_overrides: schema_overrides(schema)?,
            ..DecodeOptions::default()
        };
        Ok(Self { page_size, decode })
    }
}

/// `(table, warnings)` for the Python layer, which wraps the table in `converz.Table`.
pub fn table_to_python(py: Python<'_>, table: DecodedTable) -> PyResult<(Py<PyAny>, Vec<String>)> {
    let DecodedTable {
        schema,
        batches,
        warnings,
        ..
    } = table;
    let table = PyArrowTable::new(schema, batches);
    Ok((table.into_py_any(py)?, warnings))
}
