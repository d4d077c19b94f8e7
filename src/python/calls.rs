//! `_core.calls` and `_core.iter_calls`: `GET /calls`, paged into Arrow.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::args::{list, DateArg, StrList};
use super::client::PyRawClient;
use super::fetch::{run_listing, FetchArgs, Listing};
use crate::http::query::CallsQuery;

/// Builds the core query from the Python arguments.
fn calls_query(
    start_date: Option<DateArg>,
    end_date: Option<DateArg>,
    after: Option<DateArg>,
    before: Option<DateArg>,
    filters: CallsFilters,
) -> PyResult<CallsQuery> {
    Ok(CallsQuery {
        start_date: start_date.map(|d| d.date("start_date")).transpose()?,
        end_date: end_date.map(|d| d.date("end_date")).transpose()?,
        after: after.map(|d| d.datetime("after")).transpose()?,
        before: before.map(|d| d.datetime("before")).transpose()?,
        metric: list(filters.metric),
        rep_id: list(filters.rep_id),
        vendor: list(filters.vendor),
        campaign: list(filters.campaign),
        subcampaign: list(filters.subcampaign),
        department: list(filters.department),
        vendor_call_id: list(filters.vendor_call_id),
        columns: list(filters.columns),
    })
}

/// The list-valued filters of `/calls`, grouped so signatures stay readable.
pub struct CallsFilters {
    metric: Option<StrList>,
    rep_id: Option<StrList>,
    vendor: Option<StrList>,
    campaign: Option<StrList>,
    subcampaign: Option<StrList>,
    department: Option<StrList>,
    vendor_call_id: Option<StrList>,
    columns: Option<StrList>,
}

/// Fetches every matching call: `(table, warnings)`, or with `stream=True` a batch stream
/// (one batch per page, memory bounded by the page window).
#[pyfunction]
#[pyo3(signature = (client, *, start_date=None, end_date=None, after=None, before=None, metric=None, rep_id=None, vendor=None, campaign=None, subcampaign=None, department=None, vendor_call_id=None, columns=None, page_size=None, parse_dates=true, schema=None, stream=false, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn calls(
    py: Python<'_>,
    client: &Bound<'_, PyRawClient>,
    start_date: Option<DateArg>,
    end_date: Option<DateArg>,
    after: Option<DateArg>,
    before: Option<DateArg>,
    metric: Option<StrList>,
    rep_id: Option<StrList>,
    vendor: Option<StrList>,
    campaign: Option<StrList>,
    subcampaign: Option<StrList>,
    department: Option<StrList>,
    vendor_call_id: Option<StrList>,
    columns: Option<StrList>,
    page_size: Option<usize>,
    parse_dates: bool,
    schema: Option<&Bound<'_, PyDict>>,
    stream: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let filters = CallsFilters {
        metric,
        rep_id,
        vendor,
        campaign,
        subcampaign,
        department,
        vendor_call_id,
        columns,
    };
    let query = calls_query(start_date, end_date, after, before, filters)?;
    let fetch = FetchArgs::new(page_size, parse_dates, schema)?;
    let listing = Listing {
        path: "/calls",
        key: "call_id",
        query: query.to_pairs()?,
    };
    run_listing(py, client.get(), listing, fetch, stream, progress)
}
