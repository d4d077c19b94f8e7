//! Conversions at the edge: Python values into the core's typed parameters. A wrong type fails
//! here, naming the parameter, before any request.

use std::str::FromStr;

use arrow_schema::{DataType, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};
use pyo3_arrow::PyDataType;

use crate::error::Error;
use crate::http::query::{parse_date, parse_datetime};

/// A Python int of any size. Values beyond `i128` saturate, so a range check refuses them with
/// the parameter's name instead of an `OverflowError` that names nothing.
#[derive(Clone, Copy)]
pub struct AnyInt(pub i128);

impl<'a, 'py> FromPyObject<'a, 'py> for AnyInt {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<i128>() {
            Ok(value) => Ok(AnyInt(value)),
            Err(_) if obj.is_instance_of::<PyInt>() => {
                Ok(AnyInt(if obj.lt(0)? { i128::MIN } else { i128::MAX }))
            }
            Err(err) => Err(err),
        }
    }
}

impl AnyInt {
    /// The value if it lies in `min..=max`, else an error naming `name`.
    pub fn within(self, name: &str, min: i128, max: i128) -> Result<i128, Error> {
        match self.0 {
            value if (min..=max).contains(&value) => Ok(value),
            // Clamped by `extract`: beyond what an i128 holds.
            i128::MIN | i128::MAX => {
                Err(Error::out_of_range(name, min, max, "a number beyond that"))
            }
            value => Err(Error::out_of_range(name, min, max, value)),
        }
    }

    /// `value` as an integer in `min..=max`. Unlike extracting an `AnyInt` in a signature
    /// (a `TypeError`), a bool, a float or a string is an invalid-parameter error naming
    /// `name`, as a value out of range is. Integer-likes (`numpy.int64`) are accepted.
    pub fn arg(name: &str, value: &Bound<'_, PyAny>, min: i128, max: i128) -> Result<i128, Error> {
        let whole =
            !value.is_instance_of::<PyBool>() && value.hasattr("__index__").unwrap_or(false);
        match value.extract::<AnyInt>() {
            Ok(int) if whole => int.within(name, min, max),
            _ => Err(Error::invalid(
                name,
                format!(
                    "must be an integer between {min} and {max}, got {}",
                    type_name(value)
                ),
            )),
        }
    }
}

/// `value` as a float: an int or a float (or a numpy scalar), not a bool or a string, else an
/// invalid-parameter error naming `name` (pyo3 would raise a `TypeError` naming nothing useful,
/// and an `OverflowError` for an int beyond `f64`).
pub fn number_arg(name: &str, value: &Bound<'_, PyAny>) -> Result<f64, Error> {
    let numeric = !value.is_instance_of::<PyBool>()
        && (value.hasattr("__float__").unwrap_or(false)
            || value.hasattr("__index__").unwrap_or(false));
    match value.extract::<f64>() {
        Ok(number) if numeric => Ok(number),
        Err(_) if numeric => Err(Error::invalid(name, "is too large for a number")),
        _ => Err(Error::invalid(
            name,
            format!("must be a number, got {}", type_name(value)),
        )),
    }
}

/// What a `str` holding a lone surrogate is told: Python allows half of a UTF-16 pair in a
/// string (`"\ud800"`, what `os.fsdecode` makes of undecodable bytes), but UTF-8, and so no
/// request, header or column name, can carry it (outside trial 31 F1: a filter holding one
/// was a bare `TypeError` saying "got tuple", a key one "must be a str, got str").
pub const NOT_UNICODE: &str = "is not valid Unicode text: it holds a lone surrogate (half of \
                               a UTF-16 pair, such as '\\ud800'), which no request can carry";

/// `value` as a string, else an invalid-parameter error naming `name` that shows only the type
/// (the value may be the API key).
pub fn text_arg(name: &str, value: &Bound<'_, PyAny>) -> Result<String, Error> {
    let Ok(text) = value.cast::<PyString>() else {
        return Err(Error::invalid(
            name,
            format!("must be a str, got {}", type_name(value)),
        ));
    };
    unicode(text, name, || "the value".to_owned())
}

/// `text` as a Rust string, else the invalid-parameter error of a lone surrogate
/// ([`NOT_UNICODE`]), naming `name` and calling the text `what()`.
pub fn unicode(
    text: &Bound<'_, PyString>,
    name: &str,
    what: impl FnOnce() -> String,
) -> Result<String, Error> {
    text.to_cow()
        .map(|text| text.into_owned())
        .map_err(|_| Error::invalid(name, format!("{} {NOT_UNICODE}", what())))
}

/// The type name of `value`, for messages.
fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "an unknown type".to_owned(), |name| name.to_string())
}

/// A date given as `datetime.date`, an ISO string, or anything with `isoformat()`.
pub struct DateArg(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for DateArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = obj.cast::<PyString>() {
            return Ok(DateArg(text.extract::<String>()?));
        }
        if obj.hasattr("isoformat")? {
            if obj.hasattr("tzinfo")? && !obj.getattr("tzinfo")?.is_none() {
                return Err(PyTypeError::new_err(
                    "time-zone-aware datetimes are not accepted: the API works in the tenant's \
                     naive local time; pass a naive datetime",
                ));
            }
            let text: String = obj.call_method0("isoformat")?.extract()?;
            return Ok(DateArg(text));
        }
        Err(PyTypeError::new_err(format!(
            "expected a date, datetime or ISO string, got {}",
            obj.get_type().name()?
        )))
    }
}

impl DateArg {
    /// As a calendar date; a datetime is refused unless it is midnight.
    pub fn date(self, name: &str) -> Result<NaiveDate, Error> {
        if self.0.len() > 10 {
            // Not a date-time either: said as a date's error, this being a date (outside trial
            // 18: "10000-01-01" was "not a naive date-time; use a datetime.datetime").
            let datetime = parse_datetime(name, &self.0).or_else(|_| {
                parse_date(name, &self.0).map(|date| date.and_time(chrono::NaiveTime::MIN))
            })?;
            if datetime.time() != chrono::NaiveTime::MIN {
                return Err(Error::invalid(
                    name,
                    format!(
                        "{:?} has a time of day; pass a date (use after=/before= for times)",
                        self.0
                    ),
                ));
            }
            return Ok(datetime.date());
        }
        parse_date(name, &self.0)
    }

    /// As a naive date-time (a bare date is midnight).
    pub fn datetime(self, name: &str) -> Result<NaiveDateTime, Error> {
        parse_datetime(name, &self.0)
    }
}

/// An array parameter: one string or a sequence of strings.
pub struct StrList(pub Vec<String>);

impl<'a, 'py> FromPyObject<'a, 'py> for StrList {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = obj.cast::<PyString>() {
            return Ok(StrList(vec![text.extract::<String>()?]));
        }
        let mut values = Vec::new();
        for item in obj.try_iter()? {
            let item = item?;
            // Integers are accepted for ids (vendor_call_id=[123]); anything else must be text.
            if let Ok(text) = item.cast::<PyString>() {
                values.push(text.extract::<String>()?);
            } else if let Ok(number) = item.extract::<i64>() {
                values.push(number.to_string());
            } else {
                return Err(PyTypeError::new_err(format!(
                    "expected a string or a list of strings, found an item of type {}",
                    item.get_type().name()?
                )));
            }
        }
        Ok(StrList(values))
    }
}

/// `schema={"col": type}` as the Python layer hands it over: arrow-rs's `DataType` syntax
/// (`"Int8"`, `"Timestamp(Millisecond, None)"`: the `core` names of `converz._schema`'s
/// `SCHEMA_TYPES`, which takes and checks every user spelling first), the short kinds of the
/// documented columns' hints (`"int"`, `"float"`, `"str"`, `"bool"`, `"date"`, `"datetime"`),
/// or an Arrow type object.
pub fn schema_overrides(dict: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, DataType)>> {
    let Some(dict) = dict else {
        return Ok(Vec::new());
    };
    let mut overrides = Vec::with_capacity(dict.len());
    for (name, value) in dict.iter() {
        let name: String = match name.cast::<PyString>() {
            Ok(text) => unicode(text, "schema", || {
                let shown = name.repr().map_or_else(|_| "?".into(), |r| r.to_string());
                format!("the column name {shown}")
            })?,
            Err(_) => name.extract()?,
        };
        let data_type = if let Ok(text) = value.cast::<PyString>() {
            parse_type_name(&text.extract::<String>()?)
                .map_err(|e| Error::invalid(format!("schema[{name:?}]"), e))?
        } else {
            value
                .extract::<PyDataType>()
                .map_err(|_| {
                    Error::invalid(
                        format!("schema[{name:?}]"),
                        "expected a type name such as \"int64\" or an Arrow data type",
                    )
                })?
                .into_inner()
        };
        overrides.push((name, data_type));
    }
    Ok(overrides)
}

fn parse_type_name(name: &str) -> Result<DataType, String> {
    let friendly = match name {
        // The hints' kinds; user spellings are resolved in Python (`SCHEMA_TYPES`).
        "int" => Some(DataType::Int64),
        "float" => Some(DataType::Float64),
        "str" => Some(DataType::Utf8),
        "bool" => Some(DataType::Boolean),
        "date" => Some(DataType::Date32),
        "datetime" => Some(DataType::Timestamp(TimeUnit::Microsecond, None)),
        // A custom column named in `columns=`, whose type only its values can say.
        "null" => Some(DataType::Null),
        _ => None,
    };
    friendly.map(Ok).unwrap_or_else(|| {
        DataType::from_str(name).map_err(|e| format!("unknown type {name:?}: {e}"))
    })
}
