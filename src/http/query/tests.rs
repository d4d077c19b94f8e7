//! Tests of query building and validation.

use super::*;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn calls_pairs_cover_every_parameter() {
    let query = CallsQuery {
        start_date: Some(parse_date("start_date", "2025-07-01").unwrap()),
        end_date: Some(parse_date("end_date", "2025-09-30").unwrap()),
        after: Some(parse_datetime("after", "2025-07-01 08:00").unwrap()),
        before: Some(parse_datetime("before", "2025-09-30T18:30:05").unwrap()),
        metric: strings(&["sentiment", "my_score"]),
        rep_id: strings(&["kees500", "anna1"]),
        vendor: strings(&["v1"]),
        campaign: strings(&["sales north"]),
        subcampaign: strings(&["s"]),
        department: strings(&["support"]),
        vendor_call_id: strings(&["abc"]),
        columns: strings(&["call_id", "duration"]),
    };
    let pairs = query.to_pairs().unwrap();
    let has = |k: &str, v: &str| pairs.iter().any(|(pk, pv)| pk == k && pv == v);
    assert!(has("start_date", "2025-07-01"));
    assert!(has("end_date", "2025-09-30"));
    assert!(has("after", "2025-07-01 08:00:00"));
    assert!(has("before", "2025-09-30 18:30:05"));
    assert!(has("metric", "sentiment,my_score"));
    assert!(has("columns", "call_id,duration"));
    assert!(has("rep_id", "kees500") && has("rep_id", "anna1"));
    assert!(has("campaign", "sales north"));
    assert!(has("vendor_call_id", "abc"));
    assert!(has("department", "support") && has("subcampaign", "s") && has("vendor", "v1"));
}

#[test]
fn reversed_ranges_are_refused() {
    let query = CallsQuery {
        start_date: Some(parse_date("start_date", "2025-09-01").unwrap()),
        end_date: Some(parse_date("end_date", "2025-07-01").unwrap()),
        ..CallsQuery::default()
    };
    let err = query.to_pairs().unwrap_err().to_string();
    assert!(err.contains("start_date"), "{err}");
}

#[test]
fn bad_dates_name_the_parameter() {
    let err = parse_date("end_date", "2025-02-30")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("end_date") && err.contains("2025-02-30"),
        "{err}"
    );
    assert!(parse_datetime("after", "2025-07-01 25:00").is_err());
}

#[test]
fn a_bare_date_is_refused_as_a_time_bound_naming_the_whole_day_parameter() {
    let before = parse_datetime("before", "2025-09-30")
        .unwrap_err()
        .to_string();
    assert!(
        before.contains("`before`")
            && before.contains("end_date='2025-09-30'")
            && before.contains("before='2025-09-30 23:59:59'"),
        "{before}"
    );
    let after = parse_datetime("after", " 2025-09-29 ")
        .unwrap_err()
        .to_string();
    assert!(
        after.contains("start_date='2025-09-29'") && after.contains("after='2025-09-29 00:00:00'"),
        "{after}"
    );
    assert!(parse_datetime("after", "2025-09-29 00:00").is_ok());
}

#[test]
fn an_after_rounding_up_past_year_9999_is_refused_naming_after() {
    let query = CallsQuery {
        after: Some(parse_datetime("after", "9999-12-31 23:59:59.5").unwrap()),
        ..CallsQuery::default()
    };
    let err = query.to_pairs().unwrap_err().to_string();
    assert!(
        err.contains("`after`") && err.contains("9999-12-31 23:59:59"),
        "{err}"
    );
    let last = CallsQuery {
        after: Some(parse_datetime("after", "9999-12-31 23:59:58.5").unwrap()),
        ..CallsQuery::default()
    };
    let pairs = last.to_pairs().unwrap();
    assert!(
        pairs
            .iter()
            .any(|(k, v)| k == "after" && v == "9999-12-31 23:59:59"),
        "{pairs:?}"
    );
}

#[test]
fn report_refuses_days_with_dates_and_unknown_groupby() {
    let both = ReportQuery {
        days: Some(7),
        end_date: Some(parse_date("end_date", "2025-07-01").unwrap()),
        ..ReportQuery::default()
    };
    assert!(both.to_pairs().unwrap_err().to_string().contains("days"));
    let unknown = ReportQuery {
        groupby: strings(&["weekday"]),
        ..ReportQuery::default()
    };
    assert!(unknown
        .to_pairs()
        .unwrap_err()
        .to_string()
        .contains("weekday"));
    let fine = ReportQuery {
        days: Some(90),
        groupby: strings(&["week", "campaign"]),
        metric: strings(&["n_calls"]),
        ..ReportQuery::default()
    };
    let pairs = fine.to_pairs().unwrap();
    assert!(pairs.contains(&("groupby".into(), "week,campaign".into())));
    assert!(pairs.contains(&("days".into(), "90".into())));
}

#[test]
fn reps_active_and_empty_values() {
    let bad = RepsQuery {
        active: Some(2),
        ..RepsQuery::default()
    };
    assert!(bad.to_pairs().unwrap_err().to_string().contains("active"));
    let empty = RepsQuery {
        department: strings(&[""]),
        ..RepsQuery::default()
    };
    assert!(empty
        .to_pairs()
        .unwrap_err()
        .to_string()
        .contains("department"));
}

#[test]
fn commas_in_joined_lists_are_refused() {
    let query = CallsQuery {
        columns: strings(&["a,b"]),
        ..CallsQuery::default()
    };
    assert!(query
        .to_pairs()
        .unwrap_err()
        .to_string()
        .contains("columns"));
}

#[test]
fn commas_in_array_filters_are_refused_not_split() {
    // The API splits array values on commas: "sales, north" would match "sales" and " north".
    for name in ["rep_id", "vendor", "campaign", "subcampaign", "department"] {
        let mut query = CallsQuery::default();
        let values = strings(&["ok", "sales, north"]);
        match name {
            "rep_id" => query.rep_id = values,
            "vendor" => query.vendor = values,
            "campaign" => query.campaign = values,
            "subcampaign" => query.subcampaign = values,
            _ => query.department = values,
        }
        let message = query.to_pairs().unwrap_err().to_string();
        assert!(
            message.contains(name) && message.contains("comma"),
            "{message}"
        );
    }
    let reps = RepsQuery {
        rep_id: strings(&["a,b"]),
        ..RepsQuery::default()
    };
    assert!(reps.to_pairs().is_err());
}

#[test]
fn report_days_out_of_range_is_a_parameter_error() {
    for days in [-3, 0, MAX_DAYS + 1, i64::MAX] {
        let query = ReportQuery {
            days: Some(days),
            ..ReportQuery::default()
        };
        assert!(query.to_pairs().unwrap_err().to_string().contains("days"));
    }
}

#[test]
fn fractional_time_bounds_round_inward_to_whole_seconds() {
    let query = CallsQuery {
        after: Some(parse_datetime("after", "2025-07-01 08:00:59.5").unwrap()),
        before: Some(parse_datetime("before", "2025-07-01 09:00:00.999999").unwrap()),
        ..CallsQuery::default()
    };
    let pairs = query.to_pairs().unwrap();
    let has = |k: &str, v: &str| pairs.iter().any(|(pk, pv)| pk == k && pv == v);
    // Row times are whole seconds: nothing at 08:00:59 is at or after 08:00:59.5.
    assert!(has("after", "2025-07-01 08:01:00"), "{pairs:?}");
    assert!(has("before", "2025-07-01 09:00:00"), "{pairs:?}");
}

#[test]
fn dates_python_cannot_hold_and_leap_seconds_are_refused() {
    for text in ["0000-01-01", "10000-01-01", "-0001-01-01"] {
        assert!(parse_date("start_date", text).is_err(), "{text}");
        assert!(parse_datetime("after", text).is_err(), "{text}");
    }
    for text in [
        "2025-06-30 23:59:60",
        "2025-06-30T23:59:60.5",
        "0000-01-01 00:00",
    ] {
        assert!(parse_datetime("after", text).is_err(), "{text}");
    }
    assert!(parse_date("start_date", "0001-01-01").is_ok());
    assert!(parse_datetime("before", "9999-12-31 23:59:59.999999").is_ok());
}
