//! Rows as JSON. Every row's full JSON is rendered once and kept (`Store::call_json`), so a page
//! is a concatenation of ready bytes; only rows a POST changes are rendered again. Projections
//! (`columns=`, `metric=`) render the requested fields on the fly.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::data::{summary, Call, Rep, OUTCOMES, TOPICS};

/// The columns of a call, in the order the API returns them.
pub const CALL_COLUMNS: &[&str] = &[
    "call_id",
    "vendor_call_id",
    "rep_id",
    "vendor",
    "campaign",
    "subcampaign",
    "department",
    "start_time",
    "end_time",
    "date",
    "duration",
    "talk_time",
    "hold_time",
    "silence_time",
    "sentiment",
    "words_rep",
    "words_customer",
    "topic",
    "outcome",
    "summary",
];

/// The behavioural metric columns of a call (what `metric=` selects among).
pub const CALL_METRICS: &[&str] = &[
    "duration",
    "talk_time",
    "hold_time",
    "silence_time",
    "sentiment",
    "words_rep",
    "words_customer",
];

/// The columns of a rep, in order.
pub const REP_COLUMNS: &[&str] = &[
    "rep_id",
    "name",
    "gender",
    "vendor",
    "campaign",
    "subcampaign",
    "department",
    "team",
    "active",
    "start_date",
];

fn push_str(out: &mut Vec<u8>, text: &str) {
    // serde_json's escaping is the reference for what a JSON string is.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn push_value(out: &mut Vec<u8>, value: &Value) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A pseudo-random UUID derived from the call id.
pub fn vendor_call_id(call_id: i64) -> String {
    let mut x = (call_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut words = [0u64; 2];
    for w in &mut words {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        *w = x;
    }
    let h = format!("{:016x}{:016x}", words[0], words[1]);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Writes the base (generated) value of call column `name`.
fn write_call_base(out: &mut Vec<u8>, name: &str, call: &Call, rep: &Rep) {
    match name {
        "call_id" => push_int(out, call.call_id),
        "vendor_call_id" => push_str(out, &vendor_call_id(call.call_id)),
        "rep_id" => push_str(out, &rep.rep_id),
        "vendor" => push_str(out, &rep.vendor),
        "campaign" => push_str(out, &rep.campaign),
        "subcampaign" => push_str(out, &rep.subcampaign),
        "department" => push_str(out, &rep.department),
        "start_time" => push_str(
            out,
            &call.start_time.format("%Y-%m-%d %H:%M:%S").to_string(),
        ),
        "end_time" => {
            let end = call.start_time + chrono::Duration::seconds(i64::from(call.duration));
            push_str(out, &end.format("%Y-%m-%d %H:%M:%S").to_string());
        }
        "date" => push_str(out, &call.start_time.date().format("%Y-%m-%d").to_string()),
        "duration" => push_int(out, i64::from(call.duration)),
        "talk_time" => push_int(out, i64::from(call.talk_time())),
        "hold_time" => push_int(out, i64::from(call.hold_time)),
        "silence_time" => push_int(out, i64::from(call.silence_time)),
        "sentiment" => match call.sentiment {
            Some(s) => out.extend_from_slice(ryu::Buffer::new().format(s).as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
        "words_rep" => push_int(out, i64::from(call.words_rep)),
        "words_customer" => push_int(out, i64::from(call.words_customer)),
        "topic" => push_str(out, TOPICS[call.topic as usize]),
        "outcome" => push_str(out, OUTCOMES[call.outcome as usize]),
        "summary" => push_str(out, &summary(call, &rep.name)),
        _ => out.extend_from_slice(b"null"),
    }
}

fn write_rep_base(out: &mut Vec<u8>, name: &str, rep: &Rep) {
    match name {
        "rep_id" => push_str(out, &rep.rep_id),
        "name" => push_str(out, &rep.name),
        "gender" => push_str(out, rep.gender),
        "vendor" => push_str(out, &rep.vendor),
        "campaign" => push_str(out, &rep.campaign),
        "subcampaign" => push_str(out, &rep.subcampaign),
        "department" => push_str(out, &rep.department),
        "team" => push_str(out, rep.team),
        "active" => push_int(out, rep.active),
        "start_date" => push_str(out, &rep.start_date.format("%Y-%m-%d").to_string()),
        _ => out.extend_from_slice(b"null"),
    }
}

/// Writes `{"a":..,"b":..}` for `columns`, taking POSTed values over generated ones and
/// appending POSTed attributes that are not base columns when `with_extra`.
fn write_object(
    out: &mut Vec<u8>,
    columns: &[&str],
    extra: Option<&Map<String, Value>>,
    base_names: &[&str],
    with_extra: bool,
    mut base: impl FnMut(&mut Vec<u8>, &str),
) {
    out.push(b'{');
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, name: &str| {
        if !first {
            out.push(b',');
        }
        first = false;
        push_str(out, name);
        out.push(b':');
    };
    for &name in columns {
        field(out, name);
        match extra.and_then(|e| e.get(name)) {
            Some(value) => push_value(out, value),
            None => base(out, name),
        }
    }
    if with_extra {
        for (name, value) in extra.into_iter().flatten() {
            if !base_names.contains(&name.as_str()) {
                field(out, name);
                push_value(out, value);
            }
        }
    }
    out.push(b'}');
}

/// The full JSON of a call.
pub fn call_json(call: &Call, rep: &Rep) -> Bytes {
    let mut out = Vec::with_capacity(720);
    call_object(&mut out, call, rep, CALL_COLUMNS, true);
    Bytes::from(out)
}

/// A call with only `columns` (POSTed attributes included when named).
pub fn call_object(out: &mut Vec<u8>, call: &Call, rep: &Rep, columns: &[&str], with_extra: bool) {
    write_object(
        out,
        columns,
        call.extra.as_deref(),
        CALL_COLUMNS,
        with_extra,
        |out, name| {
            write_call_base(out, name, call, rep);
        },
    );
}

/// The full JSON of a rep.
pub fn rep_json(rep: &Rep) -> Bytes {
    let mut out = Vec::with_capacity(256);
    write_object(
        &mut out,
        REP_COLUMNS,
        rep.extra.as_deref(),
        REP_COLUMNS,
        true,
        |out, name| {
            write_rep_base(out, name, rep);
        },
    );
    Bytes::from(out)
}

/// The effective text value of a dimension of a call (a POST may have changed it).
pub fn call_dimension<'a>(call: &'a Call, rep: &'a Rep, name: &str) -> Option<&'a str> {
    if let Some(value) = call.extra.as_deref().and_then(|e| e.get(name)) {
        return value.as_str();
    }
    Some(match name {
        "rep_id" => &rep.rep_id,
        "vendor" => &rep.vendor,
        "campaign" => &rep.campaign,
        "subcampaign" => &rep.subcampaign,
        "department" => &rep.department,
        _ => return None,
    })
}

/// The effective value of a numeric call column, for `/report`.
pub fn call_number(call: &Call, name: &str) -> Option<f64> {
    if let Some(value) = call.extra.as_deref().and_then(|e| e.get(name)) {
        return value.as_f64();
    }
    Some(f64::from(match name {
        "duration" => call.duration,
        "talk_time" => call.talk_time(),
        "hold_time" => call.hold_time,
        "silence_time" => call.silence_time,
        "words" => call.words_rep + call.words_customer,
        "sentiment" => return call.sentiment,
        _ => return None,
    }))
}
