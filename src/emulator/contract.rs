//! The emulator's contract as data: every operation with its parameters and their kinds. The
//! router registers exactly these operations, each handler parses its query against its own
//! list, and `/openapi.json` is generated from the same tables, so the three cannot drift.

use super::render::{CALL_COLUMNS, CALL_METRICS};
use super::report::{GROUPS, METRICS};

/// What values a list parameter takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Values {
    /// Any non-empty strings (filters).
    Any,
    /// The call columns, plus every attribute a POST added.
    CallColumns,
    /// The call metric columns, plus every attribute a POST added.
    CallMetrics,
    /// The `/report` metric catalogue.
    ReportMetrics,
    /// The `groupby` values.
    Groupby,
}

impl Values {
    /// The fixed values, or `None` for any string.
    pub fn known(self) -> Option<Vec<&'static str>> {
        match self {
            Values::Any => None,
            Values::CallColumns => Some(CALL_COLUMNS.to_vec()),
            Values::CallMetrics => Some(CALL_METRICS.to_vec()),
            Values::ReportMetrics => Some(METRICS.iter().map(|(name, _)| *name).collect()),
            Values::Groupby => Some(GROUPS.to_vec()),
        }
    }

    /// True when POSTed attribute names are valid values too.
    pub fn takes_attributes(self) -> bool {
        matches!(self, Values::CallColumns | Values::CallMetrics)
    }
}

/// How a parameter is written and checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Decimal digits, within `min..=max`; `default` when absent.
    Int {
        min: i64,
        max: i64,
        default: Option<i64>,
    },
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS`.
    DateTime,
    /// One or more values: repeated keys and/or comma-separated.
    List(Values),
}

/// One query parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
}

impl Param {
    /// The range of an integer parameter (`None` for other kinds).
    pub fn range(&self) -> Option<std::ops::RangeInclusive<i64>> {
        match self.kind {
            Kind::Int { min, max, .. } => Some(min..=max),
            _ => None,
        }
    }
}

const fn int(
    name: &'static str,
    min: i64,
    max: i64,
    default: Option<i64>,
    doc: &'static str,
) -> Param {
    Param {
        name,
        kind: Kind::Int { min, max, default },
        doc,
    }
}

const fn list(name: &'static str, values: Values, doc: &'static str) -> Param {
    Param {
        name,
        kind: Kind::List(values),
        doc,
    }
}

pub const PAGE: Param = int(
    "page",
    1,
    u32::MAX as i64,
    Some(1),
    "Page number, from 1. A page past the end is `[]`.",
);
pub const N_PER_PAGE: Param = int(
    "n_per_page",
    1,
    1_000_000,
    Some(10),
    "Rows per page. A page with fewer rows is the last.",
);
pub const ACTIVE: Param = int(
    "active",
    0,
    1,
    None,
    "Only active (1) or inactive (0) reps.",
);
pub const DAYS: Param = int(
    "days",
    1,
    36_500,
    None,
    "The period is today − days through today. Not with start_date or end_date.",
);
const START_DATE: Param = Param {
    name: "start_date",
    kind: Kind::Date,
    doc: "First day (inclusive).",
};
const END_DATE: Param = Param {
    name: "end_date",
    kind: Kind::Date,
    doc: "Last day (inclusive).",
};
const AFTER: Param = Param {
    name: "after",
    kind: Kind::DateTime,
    doc: "Earliest start_time (inclusive).",
};
const BEFORE: Param = Param {
    name: "before",
    kind: Kind::DateTime,
    doc: "Latest start_time (inclusive).",
};
const REP_ID: Param = list("rep_id", Values::Any, "Only these reps.");
const VENDOR: Param = list("vendor", Values::Any, "Only these vendors.");
const CAMPAIGN: Param = list("campaign", Values::Any, "Only these campaigns.");
const SUBCAMPAIGN: Param = list("subcampaign", Values::Any, "Only these subcampaigns.");
const DEPARTMENT: Param = list("department", Values::Any, "Only these departments.");

pub const REPS_PARAMS: &[Param] = &[PAGE, N_PER_PAGE, DEPARTMENT, REP_ID, ACTIVE];

pub const CALLS_PARAMS: &[Param] = &[
    PAGE,
    N_PER_PAGE,
    START_DATE,
    END_DATE,
    AFTER,
    BEFORE,
    list(
        "metric",
        Values::CallMetrics,
        "Keep only these metric columns (behavioural or POSTed); other columns stay.",
    ),
    REP_ID,
    VENDOR,
    CAMPAIGN,
    SUBCAMPAIGN,
    DEPARTMENT,
    list("vendor_call_id", Values::Any, "Only these vendor call ids."),
    list("columns", Values::CallColumns, "Only these columns."),
];

pub const REPORT_PARAMS: &[Param] = &[
    Param {
        doc: "First day (inclusive); default end_date − 30 days.",
        ..START_DATE
    },
    Param {
        doc: "Last day (inclusive); default today.",
        ..END_DATE
    },
    DAYS,
    VENDOR,
    REP_ID,
    CAMPAIGN,
    DEPARTMENT,
    SUBCAMPAIGN,
    list(
        "metric",
        Values::ReportMetrics,
        "Metrics from the catalogue; default n_calls, duration, avg_duration, avg_sentiment.",
    ),
    list(
        "groupby",
        Values::Groupby,
        "A row per group; week, month and quarter add year; half is 1 or 2.",
    ),
];

/// What an operation does, for the router to pick its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    GetReps,
    PostReps,
    GetCalls,
    PostCalls,
    GetReport,
    OpenApi,
}

/// One method on one path (relative to `/api/v1`).
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub endpoint: Endpoint,
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
}

/// Every operation the emulator serves.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        endpoint: Endpoint::GetReps,
        method: "get",
        path: "/reps",
        summary: "Users, ascending rep_id, paged.",
        params: REPS_PARAMS,
    },
    Operation {
        endpoint: Endpoint::PostReps,
        method: "post",
        path: "/reps",
        summary: "Update users (columnar or row-wise body).",
        params: &[],
    },
    Operation {
        endpoint: Endpoint::GetCalls,
        method: "get",
        path: "/calls",
        summary: "Conversations, ascending call_id, paged.",
        params: CALLS_PARAMS,
    },
    Operation {
        endpoint: Endpoint::PostCalls,
        method: "post",
        path: "/calls",
        summary: "Update conversations (columnar or row-wise body).",
        params: &[],
    },
    Operation {
        endpoint: Endpoint::GetReport,
        method: "get",
        path: "/report",
        summary: "Metrics aggregated over a period, one row per group.",
        params: REPORT_PARAMS,
    },
    Operation {
        endpoint: Endpoint::OpenApi,
        method: "get",
        path: "/openapi.json",
        summary: "This document (no key needed).",
        params: &[],
    },
];
