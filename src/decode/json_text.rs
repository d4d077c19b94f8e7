//! JSON-text columns: nested values whose shapes disagree are kept as their JSON text (Utf8)
//! rather than dropped. Two directions: quoting nested values in a row before arrow-json sees
//! it, and turning Struct/List arrays decoded earlier (before the conflict showed) into text.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef};
use arrow_json::writer::{make_encoder, EncoderOptions};
use arrow_schema::Field;

use super::framing::{decode_error, is_ws, quote_or_escape, ValueScan};
use crate::Result;

/// Copies `row` to `out`, replacing each object or array value of a top-level key in `keys`
/// with a JSON string holding its text.
pub(crate) fn quote_nested(row: &[u8], keys: &[&str], out: &mut Vec<u8>) -> Result<()> {
    let bad = || decode_error("malformed row while quoting nested values");
    let mut copied = 0;
    let mut i = skip_ws(row, 1); // past `{`
    while i < row.len() && row[i] == b'"' {
        let key_end = string_end(row, i).ok_or_else(bad)?;
        let key = key_text(&row[i..key_end])?;
        i = skip_ws(row, key_end);
        if row.get(i) != Some(&b':') {
            return Err(bad());
        }
        let start = skip_ws(row, i + 1);
        let end = value_end(row, start).ok_or_else(bad)?;
        if matches!(row[start], b'{' | b'[') && keys.contains(&key.as_str()) {
            out.extend_from_slice(&row[copied..start]);
            push_quoted(&row[start..end], out);
            copied = end;
        }
        i = skip_ws(row, end);
        if row.get(i) == Some(&b',') {
            i = skip_ws(row, i + 1);
        }
    }
    out.extend_from_slice(&row[copied..]);
    Ok(())
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// End (exclusive, past the closing quote) of the string starting at `b[i] == '"'`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j += quote_or_escape(b.get(j..)?)?;
        if b[j] == b'"' {
            return Some(j + 1);
        }
        j += 2;
    }
}

fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'{' | b'[' => ValueScan::default().scan(&b[i..]).map(|n| i + n),
        b'"' => string_end(b, i),
        _ => {
            let n = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}') || is_ws(*c))?;
            Some(i + n)
        }
    }
}

fn key_text(quoted: &[u8]) -> Result<String> {
    let body = &quoted[1..quoted.len() - 1];
    if !body.contains(&b'\\') {
        if let Ok(s) = std::str::from_utf8(body) {
            return Ok(s.to_owned());
        }
    }
    Ok(serde_json::from_slice(quoted)?)
}

fn push_quoted(text: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in text {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 0x20 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// The JSON text of each value of a (Struct or List) array, as Utf8; nulls stay null.
/// Timestamps inside are spelled as the API writes them: a page that typed a list's items as
/// timestamps otherwise gave `["2024-01-01T10:00:00"]` where a page holding the column's text
/// keeps `["2024-01-01 10:00:00"]`, so the value read by page size (outside trial 21b).
pub(crate) fn to_json_text(array: &dyn Array) -> Result<ArrayRef> {
    let field = Arc::new(Field::new("value", array.data_type().clone(), true));
    let options = EncoderOptions::default()
        .with_explicit_nulls(true)
        .with_timestamp_format(super::civil::API_TIMESTAMP.to_owned());
    let mut encoder = make_encoder(&field, array, &options)?;
    let mut builder = StringBuilder::with_capacity(array.len(), array.len() * 16);
    let mut buf = Vec::new();
    for i in 0..array.len() {
        if array.is_null(i) {
            builder.append_null();
            continue;
        }
        buf.clear();
        encoder.encode(i, &mut buf);
        builder.append_value(String::from_utf8_lossy(&buf));
    }
    Ok(Arc::new(builder.finish()))
}
