//! Query-string parsing and the API's errors. Every parameter is checked; anything unknown or
//! malformed is a 400 `invalid_parameter` naming it.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveDateTime};

/// An error answer: status, `code` and `error` message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    /// 400 `invalid_parameter`.
    pub fn parameter(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            message: message.into(),
        }
    }

    /// 400 `invalid_body`.
    pub fn body(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_body",
            message: message.into(),
        }
    }
}

/// Parameters that take one or more values (repeated keys or comma-separated).
const ARRAY_PARAMS: &[&str] = &[
    "rep_id",
    "vendor",
    "campaign",
    "subcampaign",
    "department",
    "vendor_call_id",
    "columns",
    "metric",
    "groupby",
];

/// A parsed query string.
pub struct Query {
    values: BTreeMap<String, Vec<String>>,
}

impl Query {
    /// Parses `raw`, refusing parameters not in `allowed`.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&key.as_ref()) {
                return Err(ApiError::parameter(format!("unknown parameter `{key}`")));
            }
            let entry = values.entry(key.to_string()).or_default();
            if ARRAY_PARAMS.contains(&key.as_ref()) {
                entry.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned),
                );
            } else {
                entry.push(value.into_owned());
            }
        }
        Ok(Self { values })
    }

    /// Every value of an array parameter (empty when absent).
    pub fn list(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    /// The single value of a scalar parameter.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.values.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([value]) => Ok(Some(value)),
            Some(_) => Err(ApiError::parameter(format!(
                "`{name}` given more than once"
            ))),
        }
    }

    /// An integer parameter within `range`.
    pub fn int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.one(name)? else {
            return Ok(None);
        };
        match text.parse::<i64>() {
            Ok(v) if range.contains(&v) => Ok(Some(v)),
            _ => Err(ApiError::parameter(format!(
                "`{name}` must be an integer between {} and {}, got {text:?}",
                range.start(),
                range.end()
            ))),
        }
    }

    /// A `YYYY-MM-DD` date.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, ApiError> {
        let Some(text) = self.one(name)? else {
            return Ok(None);
        };
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                ApiError::parameter(format!("`{name}` must be a date YYYY-MM-DD, got {text:?}"))
            })
    }

    /// A `YYYY-MM-DD HH:MM[:SS]` date-time.
    pub fn datetime(&self, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
        let Some(text) = self.one(name)? else {
            return Ok(None);
        };
        ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::parameter(format!(
                    "`{name}` must be YYYY-MM-DD HH:MM[:SS], got {text:?}"
                ))
            })
    }

    /// `page` and `n_per_page` (defaults 1 and 10).
    pub fn paging(&self) -> Result<(usize, usize), ApiError> {
        let page = self.int("page", 1..=i64::from(u32::MAX))?.unwrap_or(1);
        let per_page = self.int("n_per_page", 1..=1_000_000)?.unwrap_or(10);
        Ok((page as usize, per_page as usize))
    }
}
