//! Conversions at the edge: Python values into the core's typed parameters. A wrong type fails
//! here, naming the parameter, before any request.

use std::str::FromStr;

use arrow_schema::{DataType, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3_arrow::PyDataType;

use crate::error::Error;
use crate::http::query::{parse_date, parse_datetime};

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
            let datetime = parse_datetime(name, &self.0)?;
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

/// `schema={"col": type}`: a type name (`"int64"`, `"float64"`, `"string"`, `"bool"`, `"date"`,
/// `"datetime"`, or an Arrow name like `"Int32"`) or any Arrow type object (pyarrow, arro3).
pub fn schema_overrides(dict: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, DataType)>> {
    let Some(dict) = dict else {
        return Ok(Vec::new());
    };
    let mut overrides = Vec::with_capacity(dict.len());
    for (name, value) in dict.iter() {
        let name: String = name.extract()?;
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
    let friendly = match name.to_ascii_lowercase().as_str() {
        "int" | "int64" | "i64" => Some(DataType::Int64),
        "int32" | "i32" => Some(DataType::Int32),
        "float" | "float64" | "f64" | "double" => Some(DataType::Float64),
        "float32" | "f32" => Some(DataType::Float32),
        "str" | "string" | "utf8" => Some(DataType::Utf8),
        "bool" | "boolean" => Some(DataType::Boolean),
        "date" | "date32" => Some(DataType::Date32),
        "datetime" | "timestamp" => Some(DataType::Timestamp(TimeUnit::Microsecond, None)),
        _ => None,
    };
    friendly.map(Ok).unwrap_or_else(|| {
        DataType::from_str(name).map_err(|e| format!("unknown type {name:?}: {e}"))
    })
}
