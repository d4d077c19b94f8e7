//! The parameters of `GET /reps`, `GET /calls` and `GET /report`, checked and turned into query
//! pairs. Everything a caller can get wrong is caught here, before the first request.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use crate::error::{Error, Result};

/// The most rows the API serves per page.
pub const MAX_PAGE_SIZE: usize = 1_000_000;
/// Default rows per page: large enough that per-request overhead vanishes, small enough that
/// pages overlap on the wire and in the decoder (chosen by `make bench`, see the README).
pub const DEFAULT_PAGE_SIZE: usize = 20_000;
/// `groupby` values `/report` understands.
pub const GROUPBY_VALUES: &[&str] = &[
    "date",
    "week",
    "month",
    "quarter",
    "year",
    "half",
    "rep_id",
    "vendor",
    "campaign",
    "subcampaign",
    "department",
];

/// The longest `/report` period `days=` may ask for (a century).
pub const MAX_DAYS: i64 = 36_500;

/// Query pairs, in the order they are sent.
pub type Pairs = Vec<(String, String)>;

/// Filters of `GET /reps`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepsQuery {
    pub rep_id: Vec<String>,
    pub department: Vec<String>,
    pub active: Option<i64>,
}

/// Filters and projection of `GET /calls`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallsQuery {
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub after: Option<NaiveDateTime>,
    pub before: Option<NaiveDateTime>,
    pub metric: Vec<String>,
    pub rep_id: Vec<String>,
    pub vendor: Vec<String>,
    pub campaign: Vec<String>,
    pub subcampaign: Vec<String>,
    pub department: Vec<String>,
    pub vendor_call_id: Vec<String>,
    pub columns: Vec<String>,
}

/// Period, filters, metrics and grouping of `GET /report`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportQuery {
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub days: Option<i64>,
    pub metric: Vec<String>,
    pub groupby: Vec<String>,
    pub rep_id: Vec<String>,
    pub vendor: Vec<String>,
    pub campaign: Vec<String>,
    pub subcampaign: Vec<String>,
    pub department: Vec<String>,
}

/// The query of one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Calls(CallsQuery),
    Reps(RepsQuery),
    Report(ReportQuery),
}

impl Query {
    /// Checked query pairs (without paging).
    pub fn to_pairs(&self) -> Result<Pairs> {
        match self {
            Query::Calls(query) => query.to_pairs(),
            Query::Reps(query) => query.to_pairs(),
            Query::Report(query) => query.to_pairs(),
        }
    }

    /// The endpoint's path.
    pub fn path(&self) -> &'static str {
        match self {
            Query::Calls(_) => "/calls",
            Query::Reps(_) => "/reps",
            Query::Report(_) => "/report",
        }
    }

    /// The key of a paged listing; `None` for `/report`, which is one answer.
    pub fn listing_key(&self) -> Option<ListingKey> {
        match self {
            Query::Calls(_) => Some(ListingKey::CALLS),
            Query::Reps(_) => Some(ListingKey::REPS),
            Query::Report(_) => None,
        }
    }
}

/// The column that keeps each row of a listing once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingKey {
    pub name: &'static str,
    /// The API documents the key as an integer, so a page with other keys is refused.
    pub integer: bool,
}

impl ListingKey {
    /// `call_id`, an integer.
    pub const CALLS: Self = Self {
        name: "call_id",
        integer: true,
    };
    /// `rep_id`, text (`"kees500"`).
    pub const REPS: Self = Self {
        name: "rep_id",
        integer: false,
    };
}

impl RepsQuery {
    /// Checked query pairs (without paging).
    pub fn to_pairs(&self) -> Result<Pairs> {
        let mut pairs = Pairs::new();
        push_repeated(&mut pairs, "rep_id", &self.rep_id)?;
        push_repeated(&mut pairs, "department", &self.department)?;
        if let Some(active) = self.active {
            if !(0..=1).contains(&active) {
                return Err(Error::invalid("active", "must be 0 or 1 (or True/False)"));
            }
            pairs.push(("active".into(), active.to_string()));
        }
        Ok(pairs)
    }
}

impl CallsQuery {
    /// Checked query pairs (without paging).
    pub fn to_pairs(&self) -> Result<Pairs> {
        let mut pairs = Pairs::new();
        check_order("start_date", self.start_date, "end_date", self.end_date)?;
        check_order("after", self.after, "before", self.before)?;
        push_date(&mut pairs, "start_date", self.start_date);
        push_date(&mut pairs, "end_date", self.end_date);
        // The API takes whole seconds and row times are whole seconds, so an inclusive lower
        // bound with a fraction rounds up (a row at 12:00:00 is before 12:00:00.5) and an
        // inclusive upper bound rounds down.
        let after = match self.after {
            Some(t) if t.nanosecond() != 0 => Some(
                t.with_nanosecond(0)
                    .and_then(|t| t.checked_add_signed(chrono::TimeDelta::seconds(1)))
                    .filter(|up| in_python_range(up.year()))
                    // Not sent as "+10000-01-01 00:00:00", a value the caller never wrote
                    // (outside trial 18): refused when the query is built.
                    .ok_or_else(|| {
                        Error::invalid(
                            "after",
                            format!(
                                "{t} rounds up past 9999-12-31 23:59:59 (the API takes whole \
                                 seconds, and no row is later); give a time up to that"
                            ),
                        )
                    })?,
            ),
            other => other,
        };
        for (name, value) in [("after", after), ("before", self.before)] {
            if let Some(value) = value {
                pairs.push((name.into(), value.format("%Y-%m-%d %H:%M:%S").to_string()));
            }
        }
        push_joined(&mut pairs, "metric", &self.metric)?;
        push_joined(&mut pairs, "columns", &self.columns)?;
        for (name, values) in [
            ("rep_id", &self.rep_id),
            ("vendor", &self.vendor),
            ("campaign", &self.campaign),
            ("subcampaign", &self.subcampaign),
            ("department", &self.department),
            ("vendor_call_id", &self.vendor_call_id),
        ] {
            push_repeated(&mut pairs, name, values)?;
        }
        Ok(pairs)
    }
}

impl ReportQuery {
    /// Checked query pairs.
    pub fn to_pairs(&self) -> Result<Pairs> {
        let mut pairs = Pairs::new();
        if self.days.is_some() && (self.start_date.is_some() || self.end_date.is_some()) {
            return Err(Error::invalid(
                "days",
                "give either days= or start_date=/end_date=, not both",
            ));
        }
        check_order("start_date", self.start_date, "end_date", self.end_date)?;
        push_date(&mut pairs, "start_date", self.start_date);
        push_date(&mut pairs, "end_date", self.end_date);
        if let Some(days) = self.days {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(Error::out_of_range("days", 1, MAX_DAYS, days));
            }
            pairs.push(("days".into(), days.to_string()));
        }
        for value in &self.groupby {
            if !GROUPBY_VALUES.contains(&value.as_str()) {
                let list_form = if value.contains(',') {
                    " (give several as a list, e.g. groupby=[\"date\", \"campaign\"])"
                } else {
                    ""
                };
                return Err(Error::invalid(
                    "groupby",
                    format!(
                        "unknown value {value:?}{list_form}; expected one of {GROUPBY_VALUES:?}"
                    ),
                ));
            }
        }
        push_joined(&mut pairs, "groupby", &self.groupby)?;
        push_joined(&mut pairs, "metric", &self.metric)?;
        for (name, values) in [
            ("rep_id", &self.rep_id),
            ("vendor", &self.vendor),
            ("campaign", &self.campaign),
            ("subcampaign", &self.subcampaign),
            ("department", &self.department),
        ] {
            push_repeated(&mut pairs, name, values)?;
        }
        Ok(pairs)
    }
}

/// Parses a calendar date given as `YYYY-MM-DD`.
pub fn parse_date(name: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|date| in_python_range(date.year()))
        .ok_or_else(|| {
            Error::invalid(
                name,
                format!("{text:?} is not a date; use a datetime.date or 'YYYY-MM-DD'"),
            )
        })
}

/// Years Python's `datetime` can hold: the query values hand dates back to Python.
fn in_python_range(year: i32) -> bool {
    (1..=9999).contains(&year)
}

/// Parses a naive date-time: `YYYY-MM-DD HH:MM[:SS[.f]]` (`T` also accepted). A bare date is
/// refused: `after`/`before` bound `start_time` to the second, and midnight is rarely what a
/// date means there (outside trial 18: `before="2025-09-30"` silently dropped all of the 30th
/// but its first second), as a date with a time is refused for `start_date`/`end_date`.
pub fn parse_datetime(name: &str, text: &str) -> Result<NaiveDateTime> {
    let text = text.trim();
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        // chrono reads a leap second (`:60`) as a nanosecond count past 10^9; the API has none.
        if let Ok(parsed) = NaiveDateTime::parse_from_str(text, format) {
            if in_python_range(parsed.year()) && parsed.nanosecond() < 1_000_000_000 {
                return Ok(parsed);
            }
            break;
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if in_python_range(date.year()) {
            return Err(bare_date(name, date));
        }
    }
    Err(Error::invalid(
        name,
        format!(
            "{text:?} is not a naive date-time; use a datetime.datetime without tzinfo or \
             'YYYY-MM-DD HH:MM[:SS]' (the API works in the tenant's local time)"
        ),
    ))
}

/// The refusal of a date without a time for a date-time bound, with the two ways to say what
/// was meant: whole days, or the time spelled out.
fn bare_date(name: &str, date: NaiveDate) -> Error {
    let (days, time) = match name {
        "before" => ("end_date", "23:59:59"),
        "after" => ("start_date", "00:00:00"),
        _ => ("start_date=/end_date", "00:00:00"),
    };
    Error::invalid(
        name,
        format!(
            "\"{date}\" is a date without a time of day, and {name}= bounds start_time to the \
             second; pass {days}='{date}' for whole days, or the time ({name}='{date} {time}')"
        ),
    )
}

fn check_order<T: PartialOrd + std::fmt::Display>(
    low_name: &str,
    low: Option<T>,
    high_name: &str,
    high: Option<T>,
) -> Result<()> {
    match (low, high) {
        (Some(low), Some(high)) if low > high => Err(Error::invalid(
            low_name,
            format!("{low_name}={low} is after {high_name}={high}"),
        )),
        _ => Ok(()),
    }
}

fn push_date(pairs: &mut Pairs, name: &str, value: Option<NaiveDate>) {
    if let Some(value) = value {
        pairs.push((name.into(), value.format("%Y-%m-%d").to_string()));
    }
}

/// Array filters go as repeated keys. The API also splits each value on commas (Part B §2), so
/// a value that contains one would silently match other values: it is refused.
fn push_repeated(pairs: &mut Pairs, name: &str, values: &[String]) -> Result<()> {
    check_values(name, values)?;
    refuse_misread(name, values, "array filter")?;
    pairs.extend(values.iter().map(|v| (name.to_owned(), v.clone())));
    Ok(())
}

/// `columns`, `metric` and `groupby` are documented as comma-separated lists.
fn push_joined(pairs: &mut Pairs, name: &str, values: &[String]) -> Result<()> {
    check_values(name, values)?;
    refuse_misread(name, values, "list parameter")?;
    if !values.is_empty() {
        pairs.push((name.into(), values.join(",")));
    }
    Ok(())
}

/// Refuses a value the API would read as another: it splits list values on commas and trims
/// each piece (Part B §2; the scan's push-down knows the same, `_pushdown.py`). A value with
/// spaces at an end matched the trimmed value, and none of the rows holding it as given
/// (outside trial 21: `subcampaign="  lead"` returned 0 rows, silently).
fn refuse_misread(name: &str, values: &[String], what: &str) -> Result<()> {
    if let Some(bad) = values.iter().find(|v| v.contains(',')) {
        return Err(Error::invalid(
            name,
            format!(
                "{} contains a comma: the API splits {what} values on commas, so it would \
                 match other values instead; such a value cannot be asked for",
                crate::printable::quoted(bad)
            ),
        ));
    }
    // A scan's filter finds such a value, but no scan selects such a column or metric
    // (outside trial 21c).
    let scan = match what {
        "array filter" => " (a lazy scan's filter, pl.col(...) == value, finds it)",
        _ => "",
    };
    match values.iter().find(|v| v.trim() != v.as_str()) {
        Some(bad) => Err(Error::invalid(
            name,
            format!(
                "{} has white space at its start or end: the API trims {what} values, so \
                 it would match {} instead; such a value cannot be asked for{scan}",
                crate::printable::quoted(bad),
                crate::printable::quoted(bad.trim())
            ),
        )),
        None => Ok(()),
    }
}

fn check_values(name: &str, values: &[String]) -> Result<()> {
    match values.iter().find(|v| crate::blank::is_blank(v)) {
        Some(empty) if empty.is_empty() => Err(Error::invalid(name, "contains an empty value")),
        // Said as what it is (outside trial 18: `rep_id=" "` was "an empty value").
        Some(blank) => Err(Error::invalid(
            name,
            format!(
                "contains a blank value ({}: only white space, control or invisible \
                 characters), which matches nothing",
                crate::printable::quoted(blank)
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
