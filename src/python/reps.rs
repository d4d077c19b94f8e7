//! `_core.reps`: `GET /reps`, paged into Arrow.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::args::{list, StrList};
use super::client::PyRawClient;
use super::fetch::{run_listing, FetchArgs, Listing};
use crate::http::query::RepsQuery;

/// Fetches every matching user (rep): `(table, warnings)`, or a batch stream with `stream=True`.
#[pyfunction]
#[pyo3(signature = (client, *, rep_id=None, department=None, active=None, page_size=None, parse_dates=true, schema=None, stream=false, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn reps(
    py: Python<'_>,
    client: &Bound<'_, PyRawClient>,
    rep_id: Option<StrList>,
    department: Option<StrList>,
    active: Option<i64>,
    page_size: Option<usize>,
    parse_dates: bool,
    schema: Option<&Bound<'_, PyDict>>,
    stream: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let query = RepsQuery {
        rep_id: list(rep_id),
        department: list(department),
        active,
    };
    let fetch = FetchArgs::new(page_size, parse_dates, schema)?;
    let listing = Listing {
        path: "/reps",
        key: "rep_id",
        query: query.to_pairs()?,
    };
    run_listing(py, client.get(), listing, fetch, stream, progress)
}
