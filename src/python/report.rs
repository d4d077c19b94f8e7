//! `_core.report`: `GET /report`, one answer into Arrow.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::args::{list, DateArg, StrList};
use super::client::PyRawClient;
use super::fetch::{table_to_python, FetchArgs};
use super::runtime::{enter_converz, ProgressSink};
use crate::decode::FetchDecoder;
use crate::http::query::ReportQuery;
use crate::http::report::fetch_report;

/// Fetches an aggregated report: `(table, warnings)`.
#[pyfunction]
#[pyo3(signature = (client, *, start_date=None, end_date=None, days=None, metric=None, groupby=None, rep_id=None, vendor=None, campaign=None, subcampaign=None, department=None, parse_dates=true, schema=None))]
#[allow(clippy::too_many_arguments)]
pub fn report(
    py: Python<'_>,
    client: &Bound<'_, PyRawClient>,
    start_date: Option<DateArg>,
    end_date: Option<DateArg>,
    days: Option<u32>,
    metric: Option<StrList>,
    groupby: Option<StrList>,
    rep_id: Option<StrList>,
    vendor: Option<StrList>,
    campaign: Option<StrList>,
    subcampaign: Option<StrList>,
    department: Option<StrList>,
    parse_dates: bool,
    schema: Option<&Bound<'_, PyDict>>,
) -> PyResult<(Py<PyAny>, Vec<String>)> {
    let query = ReportQuery {
        start_date: start_date.map(|d| d.date("start_date")).transpose()?,
        end_date: end_date.map(|d| d.date("end_date")).transpose()?,
        days,
        metric: list(metric),
        groupby: list(groupby),
        rep_id: list(rep_id),
        vendor: list(vendor),
        campaign: list(campaign),
        subcampaign: list(subcampaign),
        department: list(department),
    };
    let pairs = query.to_pairs()?;
    let decoder = Arc::new(FetchDecoder::new(
        FetchArgs::new(None, parse_dates, schema)?.decode,
    ));
    let api = client.get().api.clone();
    let sink = ProgressSink::new(None);
    let table = enter_converz(py, &sink, async move {
        fetch_report(&api, pairs, decoder).await
    })?;
    table_to_python(py, table)
}
