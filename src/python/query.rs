//! Query values at the edge: a `converz.CallsQuery` / `RepsQuery` / `ReportQuery` (plain Python
//! objects, see `python/converz/_query.py`) becomes the core's typed [`Query`] here, once. Each
//! parameter name appears once in this layer, and a wrong type fails naming it.

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::args::{AnyInt, DateArg, StrList};
use crate::error::Error;
use crate::http::query::{CallsQuery, Query, ReportQuery, RepsQuery};

/// A Python query value, converted and checked.
pub struct PyQuery(pub Query);

impl<'a, 'py> FromPyObject<'a, 'py> for PyQuery {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let endpoint = obj
            .getattr("endpoint")
            .and_then(|e| e.extract::<String>())
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "expected a converz.CallsQuery, RepsQuery or ReportQuery, got {}",
                    obj.get_type()
                        .name()
                        .map_or_else(|_| "?".into(), |n| n.to_string())
                ))
            })?;
        let f = Attrs(obj);
        let query = match endpoint.as_str() {
            "calls" => Query::Calls(CallsQuery {
                start_date: f.date("start_date")?,
                end_date: f.date("end_date")?,
                after: f.datetime("after")?,
                before: f.datetime("before")?,
                metric: f.list("metric")?,
                rep_id: f.list("rep_id")?,
                vendor: f.list("vendor")?,
                campaign: f.list("campaign")?,
                subcampaign: f.list("subcampaign")?,
                department: f.list("department")?,
                vendor_call_id: f.list("vendor_call_id")?,
                columns: f.list("columns")?,
            }),
            "reps" => Query::Reps(RepsQuery {
                rep_id: f.list("rep_id")?,
                department: f.list("department")?,
                active: f
                    .get::<Option<bool>>("active", "True, False or None")?
                    .map(i64::from),
            }),
            "report" => Query::Report(ReportQuery {
                start_date: f.date("start_date")?,
                end_date: f.date("end_date")?,
                // Beyond an i64 is told in the range check's own form, as the core tells
                // every other value out of range (outside trial 71 F7: `days=2**64`).
                days: f
                    .get::<Option<AnyInt>>("days", "an int")?
                    .map(|days| {
                        i64::try_from(days.0).or_else(|_| {
                            let max = i128::from(crate::http::query::MAX_DAYS);
                            days.within("days", 1, max).map(|d| d as i64)
                        })
                    })
                    .transpose()?,
                metric: f.list("metric")?,
                groupby: f.list("groupby")?,
                rep_id: f.list("rep_id")?,
                vendor: f.list("vendor")?,
                campaign: f.list("campaign")?,
                subcampaign: f.list("subcampaign")?,
                department: f.list("department")?,
            }),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "unknown query endpoint {other:?}"
                )))
            }
        };
        Ok(PyQuery(query))
    }
}

/// Reads a query value's attributes; a wrong type names the attribute.
struct Attrs<'a, 'py>(Borrowed<'a, 'py, PyAny>);

impl<'py> Attrs<'_, 'py> {
    fn get<T>(&self, name: &str, expected: &str) -> PyResult<T>
    where
        T: for<'b> FromPyObject<'b, 'py, Error = PyErr>,
    {
        named(&self.0.getattr(name)?, name, expected)
    }

    fn date(&self, name: &str) -> PyResult<Option<chrono::NaiveDate>> {
        let value: Option<DateArg> = self.get(name, "a date or 'YYYY-MM-DD'")?;
        Ok(value.map(|d| d.date(name)).transpose()?)
    }

    fn datetime(&self, name: &str) -> PyResult<Option<chrono::NaiveDateTime>> {
        let value: Option<DateArg> =
            self.get(name, "a naive datetime or 'YYYY-MM-DD HH:MM[:SS]'")?;
        Ok(value.map(|d| d.datetime(name)).transpose()?)
    }

    fn list(&self, name: &str) -> PyResult<Vec<String>> {
        let value: Option<StrList> = self.get(name, "a string or a list of strings")?;
        Ok(value.map(|v| v.0).unwrap_or_default())
    }
}

/// `value` as `T`; a failure is a `TypeError` that names the parameter.
fn named<'py, T>(value: &Bound<'py, PyAny>, name: &str, expected: &str) -> PyResult<T>
where
    T: for<'b> FromPyObject<'b, 'py, Error = PyErr>,
{
    value.extract::<T>().map_err(|err: PyErr| {
        let py = value.py();
        if err.is_instance_of::<PyUnicodeEncodeError>(py) {
            // The right type, but a text that no request can carry; the error's `object` is
            // the string (of a list, the item) that holds it.
            let text = err.value(py).getattr("object").ok();
            let shown = text
                .and_then(|text| text.repr().ok())
                .map_or_else(|| "a value".into(), |r| r.to_string());
            return Error::invalid(name, format!("{shown} {}", super::args::NOT_UNICODE)).into();
        }
        if err.is_instance_of::<PyTypeError>(py) {
            // Our own converters already say what they expected and what they got.
            return PyTypeError::new_err(format!("{name}: {}", err.value(py)));
        }
        if err.is_instance_of::<PyOverflowError>(py) {
            // The right type, but no request could carry it (days=10**30).
            let shown = value.repr().map_or_else(|_| "?".into(), |r| r.to_string());
            return Error::invalid(name, format!("{shown} is out of range")).into();
        }
        let found = value
            .get_type()
            .name()
            .map_or_else(|_| "?".into(), |n| n.to_string());
        PyTypeError::new_err(format!("{name}: expected {expected}, got {found}"))
    })
}

/// Checks a query value: every error a fetch would raise before sending, raised now.
#[pyfunction]
pub fn check_query(query: PyQuery) -> PyResult<()> {
    query.0.to_pairs()?;
    Ok(())
}

/// `text` with the API key of every client made in this process replaced by `***` (the Python
/// layer's `printable` applies it to everything it shows of a server's words).
/// A text that is not valid UTF-8 (a path's undecodable bytes, as lone surrogates) is returned
/// as it is: no server's JSON holds one (the decoder refuses them).
/// Remembers `key` for [`redact_keys`], as making a client with it does: a reader given a key
/// (Dask, Ray, Spark) checks its settings on the driver before any client is made there, and
/// an error quoting a setting must not show the key pasted into it (outside trial 86 N8).
#[pyfunction]
pub fn remember_key(key: &str) {
    crate::http::redact::remember_key(key);
}

#[pyfunction]
pub fn redact_keys(text: Bound<'_, PyString>) -> Bound<'_, PyString> {
    let Ok(plain) = text.to_cow() else {
        return text;
    };
    let redacted = crate::http::redact::redact_known_text(&plain);
    if redacted == plain {
        return text;
    }
    PyString::new(text.py(), &redacted)
}

/// One date parser for the whole package: `value` (a `date`, a `datetime` at midnight, or
/// `"YYYY-MM-DD"`) as `"YYYY-MM-DD"`; errors name `name`.
#[pyfunction]
pub fn normalize_date(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let value: DateArg = named(value, name, "a date or 'YYYY-MM-DD'")?;
    Ok(value.date(name)?.format("%Y-%m-%d").to_string())
}

/// `value` (a naive `datetime`, a `date`, or `"YYYY-MM-DD[ HH:MM[:SS[.f]]]"`) as ISO text with
/// a `T`, which `datetime.fromisoformat` reads on every supported Python.
///
/// Python's `datetime` holds microseconds. A finer value (a pandas `Timestamp`'s nanoseconds,
/// nine digits of text) keeps its side of every whole second: `after` rounds up to the next
/// microsecond (and so, when the request is built, to the next second), any other bound down
/// (outside trial 50 F3: `after=` a row's time plus a nanosecond was cut to the row's own
/// second, and the row before the bound was returned).
#[pyfunction]
pub fn normalize_datetime(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    let value: DateArg = named(value, name, "a naive datetime or 'YYYY-MM-DD HH:MM[:SS]'")?;
    let time = value.datetime(name)?;
    use chrono::{Datelike, Timelike};
    let below_a_microsecond = i64::from(time.nanosecond() % 1_000);
    let time = match name == "after" && below_a_microsecond != 0 {
        true => time
            .checked_add_signed(chrono::TimeDelta::nanoseconds(1_000 - below_a_microsecond))
            .filter(|up| up.year() <= 9999)
            .ok_or_else(|| {
                Error::invalid(
                    name,
                    format!(
                        "{time} rounds up past 9999-12-31 23:59:59.999999; give an earlier time"
                    ),
                )
            })?,
        false => time,
    };
    Ok(time.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
}
