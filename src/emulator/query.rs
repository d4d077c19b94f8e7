//! Query-string parsing and the API's errors. Every parameter is checked; anything unknown or
//! malformed is a 400 `invalid_parameter` naming it.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveDateTime};

use super::contract::{Kind, Param, N_PER_PAGE, PAGE};

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

/// True if `text` has the shape of `pattern`, where `d` is any ASCII digit and every other
/// character stands for itself.
fn shaped(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.bytes().zip(pattern.bytes()).all(|(t, p)| match p {
            b'd' => t.is_ascii_digit(),
            _ => t == p,
        })
}

/// A parsed query string.
pub struct Query {
    values: BTreeMap<String, Vec<String>>,
}

impl Query {
    /// Parses `raw`, refusing parameters not in `params`.
    pub fn parse(raw: Option<&str>, params: &[Param]) -> Result<Self, ApiError> {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let Some(param) = params.iter().find(|p| p.name == key) else {
                return Err(ApiError::parameter(format!("unknown parameter `{key}`")));
            };
            let entry = values.entry(key.to_string()).or_default();
            if matches!(param.kind, Kind::List(_)) {
                // `groupby=` or `rep_id=a,,b` is a mistake, not "no filter": refused, as an
                // unknown value would be.
                for item in value.split(',').map(str::trim) {
                    if item.is_empty() {
                        return Err(ApiError::parameter(format!("`{key}` has an empty value")));
                    }
                    entry.push(item.to_owned());
                }
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

    /// An integer parameter within its range; its default when absent.
    pub fn int(&self, param: &Param) -> Result<Option<i64>, ApiError> {
        let name = param.name;
        let range = param.range().unwrap_or(i64::MIN..=i64::MAX);
        let Some(text) = self.one(name)? else {
            return Ok(match param.kind {
                Kind::Int { default, .. } => default,
                _ => None,
            });
        };
        // Digits only: no sign, no exponent, no spaces (`i64::from_str` would take `+5`).
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        match text.parse::<i64>() {
            Ok(v) if digits && range.contains(&v) => Ok(Some(v)),
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
        // Exactly `YYYY-MM-DD`: chrono's `%Y` also takes signed and five-digit years, whose
        // arithmetic (30 days before...) would leave the calendar.
        shaped(text, "dddd-dd-dd")
            .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .flatten()
            .map(Some)
            .ok_or(())
            .map_err(|_| {
                ApiError::parameter(format!("`{name}` must be a date YYYY-MM-DD, got {text:?}"))
            })
    }

    /// A `YYYY-MM-DD HH:MM[:SS]` date-time.
    pub fn datetime(&self, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
        let Some(text) = self.one(name)? else {
            return Ok(None);
        };
        [
            ("%Y-%m-%d %H:%M:%S", "dddd-dd-dd dd:dd:dd"),
            ("%Y-%m-%d %H:%M", "dddd-dd-dd dd:dd"),
        ]
        .iter()
        .filter(|(_, shape)| shaped(text, shape))
        .find_map(|(f, _)| NaiveDateTime::parse_from_str(text, f).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::parameter(format!(
                "`{name}` must be YYYY-MM-DD HH:MM[:SS], got {text:?}"
            ))
        })
    }

    /// `page` and `n_per_page`.
    pub fn paging(&self) -> Result<(usize, usize), ApiError> {
        let page = self.int(&PAGE)?.unwrap_or(1);
        let per_page = self.int(&N_PER_PAGE)?.unwrap_or(1);
        Ok((page as usize, per_page as usize))
    }
}
