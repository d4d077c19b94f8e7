//! `GET /report` and the call filters it shares with `GET /calls`.
//!
//! The metric catalogue (name: source, aggregation):
//!
//! | metric | source | aggregation |
//! | --- | --- | --- |
//! | `n_calls` | conversations | count |
//! | `duration` | conversations | sum of seconds |
//! | `avg_duration` | conversations | mean seconds |
//! | `talk_time`, `hold_time`, `silence_time` | conversations | sum of seconds |
//! | `avg_sentiment` | conversations | mean of non-null sentiment |
//! | `words` | conversations | sum of words (rep + customer) |
//! | `logins` | in-app activity | sum |
//! | `active_minutes` | in-app activity | sum |
//! | `avg_active_minutes` | in-app activity | mean per rep-day |
//! | `tickets_handled` | in-app activity | sum |
//!
//! No `metric` gives `n_calls, duration, avg_duration, avg_sentiment`. A group exists when it
//! has data for the metrics asked: conversations for a conversation metric, activity for an
//! activity metric; groups without are absent (outside trial 31 F4: a rep's activity made a
//! row of `n_calls` 0 for a group no call had, when only conversation metrics were asked).

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

use super::attrs::{Attributes, Extra};
use super::data::{Call, Rep};
use super::query::{ApiError, Query};
use super::render::{call_dimension, call_number};
use super::store::Store;

/// Every metric `/report` knows, with its aggregation.
pub const METRICS: &[(&str, &str)] = &[
    ("n_calls", "count"),
    ("duration", "sum"),
    ("avg_duration", "avg"),
    ("talk_time", "sum"),
    ("hold_time", "sum"),
    ("silence_time", "sum"),
    ("avg_sentiment", "avg"),
    ("words", "sum"),
    ("logins", "sum"),
    ("active_minutes", "sum"),
    ("avg_active_minutes", "avg"),
    ("tickets_handled", "sum"),
];
const DEFAULT_METRICS: &[&str] = &["n_calls", "duration", "avg_duration", "avg_sentiment"];
/// The `groupby` values: the contract's list, shared with the client's own check.
pub const GROUPS: &[&str] = crate::http::query::GROUPBY_VALUES;
/// Per-call numbers the conversation metrics aggregate.
const CALL_SOURCES: [&str; 6] = [
    "duration",
    "talk_time",
    "hold_time",
    "silence_time",
    "sentiment",
    "words",
];
const DIMENSIONS: &[&str] = &["rep_id", "vendor", "campaign", "subcampaign", "department"];
/// The metrics of in-app activity; every other metric is of conversations.
const ACTIVITY_METRICS: &[&str] = &[
    "logins",
    "active_minutes",
    "avg_active_minutes",
    "tickets_handled",
];

/// Filters on calls: a time window and dimension lists.
pub struct CallFilter {
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    dims: Vec<(&'static str, Vec<String>)>,
    vendor_call_ids: Vec<String>,
}

impl CallFilter {
    /// The filters of a `/calls` query.
    pub fn from_query(query: &Query) -> Result<Self, ApiError> {
        let start = query
            .date("start_date")?
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default());
        let end = query
            .date("end_date")?
            .map(|d| d.and_hms_opt(23, 59, 59).unwrap_or_default());
        let after = query.datetime("after")?;
        let before = query.datetime("before")?;
        Ok(Self {
            from: start.into_iter().chain(after).max(),
            to: end.into_iter().chain(before).min(),
            dims: dims(query),
            vendor_call_ids: query.list("vendor_call_id").to_vec(),
        })
    }

    /// Indices of calls inside the time window (calls are in `start_time` order).
    pub fn date_range(&self, calls: &[Call]) -> std::ops::Range<usize> {
        let start = self
            .from
            .map_or(0, |t| calls.partition_point(|c| c.start_time < t));
        let end = self.to.map_or(calls.len(), |t| {
            calls.partition_point(|c| c.start_time <= t)
        });
        start..end.max(start)
    }

    /// The indices of the calls on one page: the matching calls in `calls`' order, the
    /// `range.start`-th to the `range.end`-th. Without dimension or id filters every call in
    /// the date range matches, so the page is found by arithmetic: walking and testing every
    /// earlier call made a whole listing quadratic (a 1M-call fetch spent half the emulator's
    /// CPU skipping rows).
    pub fn page<'a>(
        &'a self,
        calls: &'a [Call],
        reps: &'a [Rep],
        attributes: &'a Attributes,
        range: std::ops::Range<usize>,
    ) -> Box<dyn Iterator<Item = usize> + 'a> {
        let dates = self.date_range(calls);
        if self.dims.is_empty() && self.vendor_call_ids.is_empty() {
            let start = dates.start.saturating_add(range.start).min(dates.end);
            let end = start.saturating_add(range.len()).min(dates.end);
            return Box::new(start..end);
        }
        Box::new(
            dates
                .filter(move |&i| self.matches(&calls[i], reps, attributes.row(i)))
                .skip(range.start)
                .take(range.len()),
        )
    }

    /// True if `call` passes the dimension filters.
    pub fn matches(&self, call: &Call, reps: &[Rep], extra: Extra<'_>) -> bool {
        let rep = &reps[call.rep as usize];
        self.dims.iter().all(|(name, values)| {
            call_dimension(rep, extra, name).is_some_and(|v| values.iter().any(|w| w == v))
        }) && (self.vendor_call_ids.is_empty()
            || self
                .vendor_call_ids
                .contains(&super::render::vendor_call_id(call.call_id)))
    }
}

fn dims(query: &Query) -> Vec<(&'static str, Vec<String>)> {
    DIMENSIONS
        .iter()
        .filter(|d| !query.list(d).is_empty())
        .map(|&d| (d, query.list(d).to_vec()))
        .collect()
}

/// Sum and count per metric, for one group.
#[derive(Default, Clone)]
struct Acc {
    calls: u64,
    /// Whether any in-app activity fell in the group.
    activity: bool,
    sums: BTreeMap<&'static str, (f64, u64)>,
}

impl Acc {
    fn add(&mut self, metric: &'static str, value: Option<f64>) {
        if let Some(v) = value {
            let entry = self.sums.entry(metric).or_default();
            entry.0 += v;
            entry.1 += 1;
        }
    }

    fn value(&self, metric: &str) -> Value {
        let get = |m: &str| self.sums.get(m).copied().unwrap_or_default();
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        match metric {
            "n_calls" => Value::from(self.calls),
            "avg_duration" | "avg_sentiment" | "avg_active_minutes" => {
                let source = match metric {
                    "avg_duration" => "duration",
                    "avg_sentiment" => "sentiment",
                    _ => "active_minutes",
                };
                let (sum, n) = get(source);
                if n == 0 {
                    Value::Null
                } else {
                    Value::from(round(sum / n as f64))
                }
            }
            other => {
                let (sum, _) = get(other);
                if sum.fract() == 0.0 {
                    Value::from(sum as i64)
                } else {
                    Value::from(round(sum))
                }
            }
        }
    }
}

/// The period of a report query: (start, end), inclusive.
fn period(query: &Query, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let days = query.int(&super::contract::DAYS)?;
    let start = query.date("start_date")?;
    let end = query.date("end_date")?;
    if days.is_some() && (start.is_some() || end.is_some()) {
        return Err(ApiError::parameter(
            "`days` cannot be combined with start_date or end_date",
        ));
    }
    let (start, end) = match days {
        Some(days) => (today - Duration::days(days), today),
        None => {
            let end = end.unwrap_or(today);
            (start.unwrap_or(end - Duration::days(30)), end)
        }
    };
    if start > end {
        return Err(ApiError::parameter("start_date is after end_date"));
    }
    Ok((start, end))
}

/// The output columns for `groupby`: week/month/quarter bring `year` just before them.
fn group_columns(groupby: &[String]) -> Result<Vec<&'static str>, ApiError> {
    let mut columns: Vec<&'static str> = Vec::new();
    for value in groupby {
        let Some(&name) = GROUPS.iter().find(|g| **g == value.as_str()) else {
            return Err(ApiError::parameter(format!("unknown groupby `{value}`")));
        };
        if matches!(name, "week" | "month" | "quarter")
            && !columns.contains(&"year")
            && !groupby.iter().any(|g| g == "year")
        {
            columns.push("year");
        }
        if !columns.contains(&name) {
            columns.push(name);
        }
    }
    Ok(columns)
}

fn group_value(
    name: &str,
    date: NaiveDate,
    half: i64,
    dim: &dyn Fn(&str) -> Option<String>,
) -> Value {
    match name {
        "date" => Value::from(date.format("%Y-%m-%d").to_string()),
        // ISO weeks belong to ISO years, so `year` follows the week when weeks are grouped.
        "week" => Value::from(date.iso_week().week()),
        "month" => Value::from(date.month()),
        "quarter" => Value::from((date.month() - 1) / 3 + 1),
        "year" => Value::from(date.year()),
        "half" => Value::from(half),
        other => dim(other).map_or(Value::Null, Value::from),
    }
}

/// Answers a `/report` query: one JSON row per group.
pub fn answer(store: &Store, raw: Option<&str>) -> Result<Vec<Bytes>, ApiError> {
    let query = Query::parse(raw, super::contract::REPORT_PARAMS)?;
    let (start, end) = period(&query, store.today)?;
    let groups = group_columns(query.list("groupby"))?;
    let weekly = groups.contains(&"week");
    let metrics: Vec<&'static str> = if query.list("metric").is_empty() {
        DEFAULT_METRICS.to_vec()
    } else {
        query
            .list("metric")
            .iter()
            .map(|m| {
                METRICS
                    .iter()
                    .find(|(n, _)| n == m)
                    .map(|(n, _)| *n)
                    .ok_or_else(|| ApiError::parameter(format!("unknown metric `{m}`")))
            })
            .collect::<Result<_, _>>()?
    };
    let days = (end - start).num_days() + 1;
    let half_of = |date: NaiveDate| {
        if (date - start).num_days() < (days + 1) / 2 {
            1
        } else {
            2
        }
    };
    let key_of = |date: NaiveDate, dim: &dyn Fn(&str) -> Option<String>| -> Vec<Value> {
        groups
            .iter()
            .map(|g| {
                if *g == "year" && weekly {
                    Value::from(date.iso_week().year())
                } else {
                    group_value(g, date, half_of(date), dim)
                }
            })
            .collect()
    };
    let dims = dims(&query);
    let mut acc: BTreeMap<Vec<String>, (Vec<Value>, Acc)> = BTreeMap::new();
    let filter = CallFilter {
        from: start.and_hms_opt(0, 0, 0),
        to: end.and_hms_opt(23, 59, 59),
        dims: dims.clone(),
        vendor_call_ids: Vec::new(),
    };
    for i in filter.date_range(&store.calls) {
        let call = &store.calls[i];
        let extra = store.call_extra.row(i);
        if !filter.matches(call, &store.reps, extra) {
            continue;
        }
        let rep = &store.reps[call.rep as usize];
        let key = key_of(call.start_time.date(), &|d| {
            call_dimension(rep, extra, d).map(str::to_owned)
        });
        let entry = &mut acc
            .entry(sort_key(&key))
            .or_insert_with(|| (key, Acc::default()))
            .1;
        entry.calls += 1;
        for metric in CALL_SOURCES {
            entry.add(metric, call_number(call, extra, metric));
        }
    }
    for activity in &store.activity {
        let rep = &store.reps[activity.rep as usize];
        let dim = |d: &str| -> Option<String> {
            Some(match d {
                "rep_id" => rep.rep_id.to_string(),
                "vendor" => rep.vendor.to_string(),
                "campaign" => rep.campaign.to_string(),
                "subcampaign" => rep.subcampaign.to_string(),
                "department" => rep.department.to_string(),
                _ => return None,
            })
        };
        if activity.date < start
            || activity.date > end
            || !dims
                .iter()
                .all(|(n, vs)| dim(n).is_some_and(|v| vs.contains(&v)))
        {
            continue;
        }
        let key = key_of(activity.date, &dim);
        let entry = &mut acc
            .entry(sort_key(&key))
            .or_insert_with(|| (key, Acc::default()))
            .1;
        entry.activity = true;
        entry.add("logins", Some(f64::from(activity.logins)));
        entry.add("active_minutes", Some(f64::from(activity.active_minutes)));
        entry.add("tickets_handled", Some(f64::from(activity.tickets_handled)));
    }
    let asks_activity = metrics.iter().any(|m| ACTIVITY_METRICS.contains(m));
    let asks_calls = metrics.iter().any(|m| !ACTIVITY_METRICS.contains(m));
    Ok(acc
        .into_values()
        .filter(|(_, totals)| {
            (asks_calls && totals.calls > 0) || (asks_activity && totals.activity)
        })
        .map(|(key, totals)| {
            let mut row = Map::new();
            for (name, value) in groups.iter().zip(key) {
                row.insert((*name).to_owned(), value);
            }
            for metric in &metrics {
                row.insert((*metric).to_owned(), totals.value(metric));
            }
            Bytes::from(Value::Object(row).to_string())
        })
        .collect())
}

/// Groups sort by their values; numbers are zero-padded so 10 sorts after 9.
fn sort_key(key: &[Value]) -> Vec<String> {
    key.iter()
        .map(|v| match v {
            Value::Number(n) => format!("{:>12}", n.to_string()),
            other => other.to_string(),
        })
        .collect()
}
