//! Rows as JSON. Every row's full JSON is rendered once and kept ([`super::rows`]), so a page
//! is a concatenation of ready bytes; rows a POST changed render again when read.
//! Projections (`columns=`, `metric=`) render the requested fields on the fly.

use bytes::Bytes;

use super::attrs::{Extra, Value};
use super::data::{write_summary, Call, Rep, OUTCOMES, TOPICS};
use crate::json_write::{push_date, push_datetime, push_string as push_str, Escaped};

/// Declares the call columns once: the generated values (`CallField`) and their names in the
/// order the API returns them (`CALL_COLUMNS`). Rendering dispatches on the field, not on the
/// name: a million rows times twenty string comparisons was a fifth of the render time.
macro_rules! declare_call_columns {
    ($($field:ident = $name:literal,)*) => {
        /// Which generated value a call column shows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum CallField {
            $($field,)*
        }

        /// The columns of a call, in the order the API returns them.
        pub const CALL_COLUMNS: [&str; 20] = [$($name,)*];

        /// `CALL_FIELDS[i]` is the value of column `CALL_COLUMNS[i]`.
        const CALL_FIELDS: [CallField; 20] = [$(CallField::$field,)*];
    };
}

declare_call_columns! {
    CallId = "call_id",
    VendorCallId = "vendor_call_id",
    RepId = "rep_id",
    Vendor = "vendor",
    Campaign = "campaign",
    Subcampaign = "subcampaign",
    Department = "department",
    StartTime = "start_time",
    EndTime = "end_time",
    Date = "date",
    Duration = "duration",
    TalkTime = "talk_time",
    HoldTime = "hold_time",
    SilenceTime = "silence_time",
    Sentiment = "sentiment",
    WordsRep = "words_rep",
    WordsCustomer = "words_customer",
    Topic = "topic",
    Outcome = "outcome",
    Summary = "summary",
}

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

/// A column to write: its name and, for a generated column, which value it shows.
pub type CallColumn<'a> = (&'a str, Option<CallField>);

/// Resolves names (generated columns or POSTed attributes) once per request.
pub fn call_columns<'a>(names: &[&'a str]) -> Vec<CallColumn<'a>> {
    names
        .iter()
        .map(|&name| {
            let field = CALL_COLUMNS.iter().position(|&c| c == name);
            (name, field.map(|i| CALL_FIELDS[i]))
        })
        .collect()
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn push_value(out: &mut Vec<u8>, value: Value<'_>) {
    value.write(out);
}

/// Writes `value` between quotes.
fn quoted(out: &mut Vec<u8>, value: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'"');
    value(out);
    out.push(b'"');
}

/// A pseudo-random UUID derived from the call id, as its 36 ASCII bytes.
fn vendor_call_id_bytes(call_id: i64) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut x = (call_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut digits = [0u8; 32];
    for word in digits.chunks_mut(16) {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        for (i, d) in word.iter_mut().enumerate() {
            *d = HEX[(x >> (60 - 4 * i) & 0xF) as usize];
        }
    }
    // 8-4-4-4-12 with the version (4) and variant (a) nibbles fixed.
    let mut id = [b'-'; 36];
    id[0..8].copy_from_slice(&digits[0..8]);
    id[9..13].copy_from_slice(&digits[8..12]);
    id[14] = b'4';
    id[15..18].copy_from_slice(&digits[13..16]);
    id[19] = b'a';
    id[20..23].copy_from_slice(&digits[17..20]);
    id[24..36].copy_from_slice(&digits[20..32]);
    id
}

/// A pseudo-random UUID derived from the call id.
pub fn vendor_call_id(call_id: i64) -> String {
    String::from_utf8_lossy(&vendor_call_id_bytes(call_id)).into_owned()
}

/// Writes the generated value of a call column.
fn write_call_field(out: &mut Vec<u8>, field: CallField, call: &Call, rep: &Rep) {
    use CallField::*;
    match field {
        CallId => push_int(out, call.call_id),
        VendorCallId => quoted(out, |out| {
            out.extend_from_slice(&vendor_call_id_bytes(call.call_id));
        }),
        RepId => push_str(out, &rep.rep_id),
        Vendor => push_str(out, &rep.vendor),
        Campaign => push_str(out, &rep.campaign),
        Subcampaign => push_str(out, &rep.subcampaign),
        Department => push_str(out, &rep.department),
        StartTime => quoted(out, |out| push_datetime(out, call.start_time)),
        EndTime => quoted(out, |out| {
            push_datetime(
                out,
                call.start_time + chrono::Duration::seconds(i64::from(call.duration)),
            );
        }),
        Date => quoted(out, |out| push_date(out, call.start_time.date())),
        Duration => push_int(out, i64::from(call.duration)),
        TalkTime => push_int(out, i64::from(call.talk_time())),
        HoldTime => push_int(out, i64::from(call.hold_time)),
        SilenceTime => push_int(out, i64::from(call.silence_time)),
        Sentiment => match call.sentiment {
            Some(s) => out.extend_from_slice(ryu::Buffer::new().format(s).as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
        WordsRep => push_int(out, i64::from(call.words_rep)),
        WordsCustomer => push_int(out, i64::from(call.words_customer)),
        Topic => push_str(out, TOPICS[call.topic as usize]),
        Outcome => push_str(out, OUTCOMES[call.outcome as usize]),
        Summary => quoted(out, |out| {
            let _ = write_summary(&mut Escaped(out), call, &rep.name);
        }),
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
        "start_date" => quoted(out, |out| push_date(out, rep.start_date)),
        _ => out.extend_from_slice(b"null"),
    }
}

/// Writes `{"a":..,"b":..}`: each of `columns` (a POSTed value over the generated one), then,
/// when `with_extra`, the POSTed attributes that are not generated columns.
fn write_object<C: Copy>(
    out: &mut Vec<u8>,
    columns: &[(&str, C)],
    extra: Extra<'_>,
    base_names: &[&str],
    with_extra: bool,
    mut base: impl FnMut(&mut Vec<u8>, &str, C),
) {
    out.push(b'{');
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, name: &str| {
        if !first {
            out.push(b',');
        }
        first = false;
        push_str(out, name);
        out.push(b':');
    };
    for &(name, column) in columns {
        key(out, name);
        match extra.get(name) {
            Some(value) => push_value(out, value),
            None => base(out, name, column),
        }
    }
    if with_extra {
        for (name, value) in extra.iter() {
            if !base_names.contains(&name) {
                key(out, name);
                push_value(out, value);
            }
        }
    }
    out.push(b'}');
}

/// Appends the full JSON of a call with its POSTed attributes.
pub fn write_call(out: &mut Vec<u8>, call: &Call, rep: &Rep, extra: Extra<'_>) {
    const ALL: [CallColumn<'static>; 20] = {
        let mut all = [("", None); 20];
        let mut i = 0;
        while i < 20 {
            all[i] = (CALL_COLUMNS[i], Some(CALL_FIELDS[i]));
            i += 1;
        }
        all
    };
    call_object(out, call, rep, extra, &ALL, true);
}

/// The full JSON of a call.
pub fn call_json(call: &Call, rep: &Rep, extra: Extra<'_>) -> Bytes {
    let mut out = Vec::with_capacity(800);
    write_call(&mut out, call, rep, extra);
    Bytes::from(out)
}

/// A call with only `columns` (POSTed attributes included when named).
pub fn call_object(
    out: &mut Vec<u8>,
    call: &Call,
    rep: &Rep,
    extra: Extra<'_>,
    columns: &[CallColumn<'_>],
    with_extra: bool,
) {
    write_object(
        out,
        columns,
        extra,
        &CALL_COLUMNS,
        with_extra,
        |out, _, field| match field {
            Some(field) => write_call_field(out, field, call, rep),
            None => out.extend_from_slice(b"null"),
        },
    );
}

/// The full JSON of a rep.
pub fn rep_json(rep: &Rep, extra: Extra<'_>) -> Bytes {
    let mut out = Vec::with_capacity(256);
    write_rep(&mut out, rep, extra);
    Bytes::from(out)
}

/// Appends the full JSON of a rep with its POSTed attributes.
pub fn write_rep(out: &mut Vec<u8>, rep: &Rep, extra: Extra<'_>) {
    let columns: Vec<(&str, ())> = REP_COLUMNS.iter().map(|&c| (c, ())).collect();
    write_object(out, &columns, extra, REP_COLUMNS, true, |out, name, ()| {
        write_rep_base(out, name, rep)
    });
}

/// The effective text value of a dimension of a call (a POST may have changed it).
pub fn call_dimension<'a>(rep: &'a Rep, extra: Extra<'a>, name: &str) -> Option<&'a str> {
    if let Some(value) = extra.get(name) {
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
pub fn call_number(call: &Call, extra: Extra<'_>, name: &str) -> Option<f64> {
    if let Some(value) = extra.get(name) {
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
