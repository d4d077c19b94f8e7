//! Unit tests of the emulator's pure logic; the HTTP surface is tested from pytest.

use chrono::NaiveDate;

use super::query::Query;
use super::store::Store;
use super::{update, EmulatorConfig};

fn store(calls: usize) -> Store {
    Store::generate(&EmulatorConfig {
        calls,
        reps: 12,
        ..EmulatorConfig::default()
    })
}

/// Every call's current JSON.
fn call_rows(s: &Store) -> Vec<bytes::Bytes> {
    (0..s.calls.len()).map(|i| s.call_row(i)).collect()
}

fn post_calls(s: &mut Store, body: &[u8]) -> Result<serde_json::Value, super::query::ApiError> {
    update::parse(body, update::Target::Calls).map(|changes| update::apply(s, changes))
}

#[test]
fn generation_is_deterministic_and_ordered() {
    let (a, b) = (store(2_000), store(2_000));
    assert_eq!(call_rows(&a), call_rows(&b));
    assert!(a
        .calls
        .windows(2)
        .all(|w| w[0].call_id < w[1].call_id && w[0].start_time <= w[1].start_time));
    assert!(a.reps.windows(2).all(|w| w[0].rep_id < w[1].rep_id));
    let last = a.calls.last().unwrap().start_time.date();
    assert!(last <= NaiveDate::from_ymd_opt(2025, 9, 30).unwrap());
    let other = Store::generate(&EmulatorConfig {
        calls: 2_000,
        reps: 12,
        seed: 1,
        ..EmulatorConfig::default()
    });
    assert_ne!(call_rows(&a), call_rows(&other));
}

#[test]
fn rendered_rows_are_valid_json_with_every_column() {
    let s = store(500);
    for json in &call_rows(&s) {
        let row: serde_json::Value = serde_json::from_slice(json).unwrap();
        assert_eq!(
            row.as_object().unwrap().len(),
            super::render::CALL_COLUMNS.len()
        );
    }
}

/// The hand-written formatting writes what chrono and `format!` would.
#[test]
fn rendered_values_match_their_reference_formatting() {
    let s = store(300);
    for (call, json) in s.calls.iter().zip(&call_rows(&s)) {
        let row: serde_json::Value = serde_json::from_slice(json).unwrap();
        let start = call.start_time;
        let end = start + chrono::Duration::seconds(i64::from(call.duration));
        assert_eq!(
            row["start_time"],
            start.format("%Y-%m-%d %H:%M:%S").to_string()
        );
        assert_eq!(row["end_time"], end.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(row["date"], start.format("%Y-%m-%d").to_string());
        let mut x =
            (call.call_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        let mut words = [0u64; 2];
        for w in &mut words {
            x ^= x >> 33;
            x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
            x ^= x >> 33;
            *w = x;
        }
        let h = format!("{:016x}{:016x}", words[0], words[1]);
        let uuid = format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        );
        assert_eq!(row["vendor_call_id"], uuid);
        let mut summary = String::new();
        let rep = &s.reps[call.rep as usize];
        super::data::write_summary(&mut summary, call, &rep.name).unwrap();
        assert_eq!(row["summary"], summary);
        assert!(summary.contains('“'));
    }
    let rep: serde_json::Value = serde_json::from_slice(&s.rep_row(0)).unwrap();
    assert_eq!(
        rep["start_date"],
        s.reps[0].start_date.format("%Y-%m-%d").to_string()
    );
}

#[test]
fn query_accepts_repeated_and_comma_values_and_refuses_unknown_names() {
    let params = super::contract::CALLS_PARAMS;
    let q = Query::parse(Some("rep_id=a&rep_id=b,c&page=2"), params).unwrap();
    assert_eq!(q.list("rep_id"), ["a", "b", "c"]);
    assert_eq!(q.paging().unwrap(), (2, 10));
    assert!(Query::parse(Some("nope=1"), params).is_err());
    let bad = Query::parse(Some("start_date=2025-02-30"), params).unwrap();
    assert!(bad.date("start_date").is_err());
}

#[test]
fn report_week_adds_year_and_half_splits_the_period() {
    let s = store(3_000);
    let weekly = super::report::answer(&s, Some("groupby=week&days=60")).unwrap();
    let first: serde_json::Value = serde_json::from_slice(&weekly[0]).unwrap();
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys[..2], ["year", "week"]);
    let halves = super::report::answer(
        &s,
        Some("groupby=half&start_date=2025-09-01&end_date=2025-09-30"),
    )
    .unwrap();
    assert_eq!(halves.len(), 2);
    assert!(super::report::answer(&s, Some("groupby=nope")).is_err());
    assert!(super::report::answer(&s, Some("days=3&end_date=2025-09-01")).is_err());
}

#[test]
fn updates_follow_the_null_rules() {
    let mut s = store(50);
    let (a, b) = (s.calls[0].call_id, s.calls[1].call_id);
    let body = format!(r#"{{"call_id":[{a},{b}],"topic":["x",null]}}"#);
    let answer = post_calls(&mut s, body.as_bytes()).unwrap();
    assert_eq!(answer["updated"], 2);
    let topic = |s: &Store, i: usize| {
        serde_json::from_slice::<serde_json::Value>(&s.call_row(i)).unwrap()["topic"].clone()
    };
    let before_b = topic(&s, 1);
    assert_eq!(topic(&s, 0), "x");
    let body = format!(r#"[{{"call_id":{a},"outcome":"sale"}},{{"call_id":{b},"topic":"y"}}]"#);
    post_calls(&mut s, body.as_bytes()).unwrap();
    assert_eq!(topic(&s, 0), serde_json::Value::Null);
    assert_eq!(topic(&s, 1), "y");
    assert_ne!(before_b, "y");
    assert!(post_calls(&mut s, br#"{"call_id":[null]}"#).is_err());
    // A column becomes a known attribute only once it is set on a row that exists.
    let body = format!(r#"{{"call_id":[{a}],"ghost":[null]}}"#);
    post_calls(&mut s, body.as_bytes()).unwrap();
    let answer = post_calls(&mut s, br#"{"call_id":[7],"phantom":["x"]}"#).unwrap();
    assert_eq!(answer["not_found"], serde_json::json!([7]));
    assert!(s.call_attributes.is_empty());
    let body = format!(r#"{{"call_id":[{a}],"label":["kept"]}}"#);
    post_calls(&mut s, body.as_bytes()).unwrap();
    assert_eq!(s.call_attributes, [std::sync::Arc::from("label")]);
}

/// Joins pieces as the page body does.
fn joined(pieces: &[bytes::Bytes]) -> Vec<u8> {
    pieces.join(&b","[..])
}

#[test]
fn pages_are_runs_of_rendered_rows_and_changed_rows_render_again() {
    let mut s = store(3_000);
    let whole = s.call_pieces(0..s.calls.len());
    // One zero-copy run per render arena.
    assert!(whole.len() <= 8, "{} pieces", whole.len());
    assert_eq!(joined(&whole), joined(&call_rows(&s)));
    let picked = [3, 4, 5, 9, 2_999];
    assert_eq!(
        joined(&s.call_pieces(picked.into_iter())),
        joined(&picked.map(|i| s.call_row(i)))
    );
    let id = s.calls[4].call_id;
    post_calls(
        &mut s,
        format!(r#"{{"call_id":[{id}],"topic":["moved"]}}"#).as_bytes(),
    )
    .unwrap();
    let pieces = s.call_pieces(0..10);
    assert_eq!(pieces.len(), 3); // rows 0-3, the changed row 4, rows 5-9
    assert_eq!(joined(&pieces), joined(&call_rows(&s)[..10]));
    let row: serde_json::Value = serde_json::from_slice(&pieces[1]).unwrap();
    assert_eq!(row["topic"], "moved");
    // Rendered once, then kept.
    assert_eq!(s.call_row(4).as_ptr(), s.call_row(4).as_ptr());
    s.insert_early_calls(3);
    let page = joined(&s.call_pieces(0..s.calls.len()));
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&[b"[", &page[..], b"]"].concat()).unwrap();
    assert_eq!(rows.len(), s.calls.len());
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r["call_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, s.calls.iter().map(|c| c.call_id).collect::<Vec<_>>());
}

#[test]
fn post_bodies_are_typed_by_column() {
    let mut s = store(20);
    let (a, b) = (s.calls[0].call_id, s.calls[1].call_id);
    let refused = |s: &mut Store, body: String| {
        let err = post_calls(s, body.as_bytes()).unwrap_err();
        (err.status.as_u16(), err.code)
    };
    for bad in [
        format!(r#"{{"call_id":[{a}],"duration":["long"]}}"#),
        format!(r#"{{"call_id":[{a}],"duration":[1.5]}}"#),
        format!(r#"{{"call_id":[{a}],"topic":[7]}}"#),
        format!(r#"[{{"call_id":{a},"sentiment":"good"}}]"#),
        format!(r#"{{"call_id":[{a}],"x":{{"a":[1]}}}}"#),
        format!(r#"[{{"call_id":{a}}},[1]]"#),
        format!(r#"{{"call_id":[{a}]}} trailing"#),
        "17".to_owned(),
    ] {
        assert_eq!(refused(&mut s, bad.clone()), (400, "invalid_body"), "{bad}");
    }
    let wide: String = (0..1_001).map(|i| format!(r#","c{i}":[1]"#)).collect();
    assert_eq!(
        refused(&mut s, format!(r#"{{"call_id":[{a}]{wide}}}"#)),
        (400, "invalid_body")
    );
    let many = vec!["1"; 100_001].join(",");
    let rows = format!(r#",{{"call_id":{a}}}"#).repeat(100_000);
    assert_eq!(
        refused(&mut s, format!(r#"[{{"call_id":{a}}}{rows}]"#)),
        (413, "too_many_rows")
    );
    assert_eq!(
        refused(&mut s, format!(r#"{{"call_id":[{many}]}}"#)),
        (413, "too_many_rows")
    );
    // Integral floats are integers; a repeated key in a row or a body: the last one wins.
    let body = format!(
        r#"[{{"call_id":{a},"duration":60.0,"note":1,"note":{{"k":[true,null]}}}},{{"call_id":{b},"duration":null}}]"#
    );
    post_calls(&mut s, body.as_bytes()).unwrap();
    let row = |s: &Store, i: usize| -> serde_json::Value {
        serde_json::from_slice(&s.call_row(i)).unwrap()
    };
    assert_eq!(row(&s, 0)["duration"], serde_json::json!(60));
    assert!(row(&s, 0)["duration"].is_i64());
    assert_eq!(row(&s, 0)["note"], serde_json::json!({"k": [true, null]}));
    assert_eq!(row(&s, 1)["duration"], serde_json::Value::Null);
    assert_eq!(row(&s, 1)["note"], serde_json::Value::Null);
    let body = format!(r#"{{"call_id":[{a}],"label":["x"],"label":["y"]}}"#);
    post_calls(&mut s, body.as_bytes()).unwrap();
    assert_eq!(row(&s, 0)["label"], "y");
}

#[test]
fn posted_floats_read_back_bit_for_bit() {
    // serde_json's default float parser can be 1-2 ulps off (found by `make soak`: a pushed
    // -0.020000000000000018 read back as ...14); `float_roundtrip` parses correctly rounded.
    let mut s = store(10);
    let id = s.calls[0].call_id;
    for value in [
        -0.020000000000000018_f64,
        0.123_456_789_012_345_68,
        5e-324,
        f64::MAX,
    ] {
        let body = format!(r#"{{"call_id":[{id}],"sentiment":[{value:?}],"x":[{value:?}]}}"#);
        post_calls(&mut s, body.as_bytes()).unwrap();
        let row: serde_json::Value = serde_json::from_slice(&s.call_row(0)).unwrap();
        for column in ["sentiment", "x"] {
            assert_eq!(
                row[column].as_f64().unwrap().to_bits(),
                value.to_bits(),
                "{column}"
            );
        }
    }
}

#[test]
fn inserts_land_between_existing_ids() {
    let mut s = store(1_000);
    let before = s.calls.len();
    s.insert_early_calls(3);
    assert_eq!(s.calls.len(), before + 3);
    assert!(s.calls.windows(2).all(|w| w[0].call_id < w[1].call_id));
    assert_eq!(s.calls.len(), s.call_rows.len());
    assert_eq!(call_rows(&s).len(), s.calls.len());
}

/// `cargo test --release -- --ignored --nocapture decode_emulator_pages`
#[test]
#[ignore = "a measurement, not a check"]
#[allow(clippy::print_stdout)] // a measurement reports on stdout
fn decode_emulator_pages() {
    use crate::decode::{DecodeOptions, FetchDecoder};
    let s = store(40_000);
    let page = |rows: &[bytes::Bytes]| {
        let mut body = b"[".to_vec();
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(r);
        }
        body.push(b']');
        bytes::Bytes::from(body)
    };
    let decoder = FetchDecoder::new(DecodeOptions::default());
    for (n, rows) in call_rows(&s).chunks(20_000).enumerate() {
        let body = page(rows);
        let started = std::time::Instant::now();
        let mut p = decoder.page();
        for chunk in 0..body.len().div_ceil(65_536) {
            p.feed(body.slice(chunk * 65_536..((chunk + 1) * 65_536).min(body.len())))
                .unwrap();
        }
        let decoded = p.finish().unwrap();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "page {n}: {} rows, {:.0} MB/s",
            decoded.rows,
            body.len() as f64 / 1e6 / secs
        );
    }
}

/// `cargo test --release -- --ignored --nocapture emulator_speed`
#[test]
#[ignore = "a measurement, not a check"]
#[allow(clippy::print_stdout)] // a measurement reports on stdout
fn emulator_speed() {
    use super::data::{make_calls, make_reps};
    use super::render::call_json;
    let config = EmulatorConfig {
        calls: 1_000_000,
        reps: 2_000,
        ..EmulatorConfig::default()
    };
    let started = std::time::Instant::now();
    let reps = make_reps(config.reps, config.seed, config.today);
    let calls = make_calls(config.calls, &reps, config.seed, config.today, config.days);
    println!("generate: {:.2} s", started.elapsed().as_secs_f64());
    let started = std::time::Instant::now();
    let bytes: usize = calls
        .iter()
        .map(|c| call_json(c, &reps[c.rep as usize], super::attrs::Extra::none()).len())
        .sum();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "render on one core: {secs:.2} s, {:.0} ns/row, {:.0} MB/s",
        secs * 1e9 / calls.len() as f64,
        bytes as f64 / 1e6 / secs
    );
    let started = std::time::Instant::now();
    let mut s = Store::generate(&config);
    println!("Store::generate: {:.2} s", started.elapsed().as_secs_f64());
    for round in 1..=2 {
        let (mut parse, mut apply, mut megabytes) = (0.0, 0.0, 0.0);
        for chunk in s
            .calls
            .chunks(100_000)
            .map(|c| c.to_vec())
            .collect::<Vec<_>>()
        {
            let ids: Vec<String> = chunk.iter().map(|c| c.call_id.to_string()).collect();
            let texts: Vec<String> = (0..ids.len()).map(|i| format!("\"label {i}\"")).collect();
            let floats: Vec<String> = (0..ids.len())
                .map(|i| {
                    if i % 10 == 0 {
                        "null".into()
                    } else {
                        format!("{i}.5")
                    }
                })
                .collect();
            let body = format!(
            "{{\"call_id\":[{}],\"label\":[{}],\"score\":[{}],\"flag\":[{}],\"bucket\":[{}],\"follow_up\":[{}]}}",
            ids.join(","),
            texts.join(","),
            floats.join(","),
            vec!["true"; ids.len()].join(","),
            texts.join(","),
            vec!["\"2025-01-02\""; ids.len()].join(",")
        );
            megabytes += body.len() as f64 / 1e6;
            let started = std::time::Instant::now();
            let changes = update::parse(body.as_bytes(), update::Target::Calls).unwrap();
            parse += started.elapsed().as_secs_f64();
            let started = std::time::Instant::now();
            let answer = update::apply(&mut s, changes);
            apply += started.elapsed().as_secs_f64();
            assert_eq!(answer["updated"], ids.len());
        }
        println!("POST 1M x 6 in 100k chunks, round {round} ({megabytes:.0} MB): parse {parse:.2} s, apply {apply:.2} s");
    }
}
