//! The values inside an NDJSON file's lists and objects, checked against the types arrow-json
//! inferred for them, before a push. At the top level a column that mixes text with numbers or
//! booleans, or holds an integer a float would round, is refused or read as text
//! ([`super::exact`]); one level down arrow-json read `[1, "a"]` as `["1", "a"]` and
//! `{"a": 9007199254740993}` beside `{"a": 1.5}` as `9007199254740992.0`, and the push sent
//! those without a word (outside trial 21b, F12).

use arrow_schema::DataType;
use serde_json::value::RawValue;

use super::exact::Entries;
use crate::decode::forced::{float_change, FloatChange};
use crate::decode::is_integer_literal;

/// What a push would change about a value inside `raw` (read as `data_type`): what it is and
/// its JSON text, or `None` when every value inside is sent as written.
pub(super) fn changed(raw: &RawValue, data_type: &DataType) -> Option<(&'static str, String)> {
    let text = raw.get().trim();
    match data_type {
        DataType::List(item) | DataType::LargeList(item) if text.starts_with('[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            items.iter().find_map(|v| changed(v, item.data_type()))
        }
        DataType::Struct(fields) if text.starts_with('{') => {
            let Entries(entries) = serde_json::from_str(text).ok()?;
            entries.iter().find_map(|(key, v)| {
                let field = fields.iter().find(|f| f.name() == key)?;
                changed(v, field.data_type())
            })
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if is_scalar_not_text(text) => {
            Some((
                "a number or boolean among text, which would be sent as text",
                text.to_owned(),
            ))
        }
        DataType::Float64 | DataType::Float32 if is_integer_literal(text.as_bytes()) => {
            let rounded = matches!(float_change(text, false), Some(FloatChange::Rounded { .. }));
            let what = if text.parse::<i64>().is_ok() && !rounded {
                return None;
            } else if text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
                "an integer beyond int64 and uint64, which would be sent as a float"
            } else {
                "an integer beside fractions that a float cannot hold as written, which would \
                 be sent as a float"
            };
            Some((what, text.to_owned()))
        }
        _ => None,
    }
}

fn is_scalar_not_text(text: &str) -> bool {
    text == "true" || text == "false" || text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use arrow_schema::{Field, Fields};

    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("JSON")
    }

    #[test]
    fn mixed_kinds_and_rounded_integers_inside_are_found() {
        let texts = DataType::List(Field::new("item", DataType::Utf8, true).into());
        assert!(changed(&raw(r#"[1, "a"]"#), &texts).is_some());
        assert!(changed(&raw(r#"["a", true]"#), &texts).is_some());
        assert!(changed(&raw(r#"["a", null, "b"]"#), &texts).is_none());
        let object = DataType::Struct(Fields::from(vec![Field::new("a", DataType::Float64, true)]));
        assert!(changed(&raw(r#"{"a": 9007199254740993}"#), &object).is_some());
        assert!(changed(&raw(r#"{"a": 18446744073709551616}"#), &object).is_some());
        assert!(changed(&raw(r#"{"a": 1.5}"#), &object).is_none());
        assert!(changed(&raw(r#"{"a": 2}"#), &object).is_none());
        assert!(changed(&raw(r#"{"b": "x"}"#), &object).is_none());
        let deep = DataType::List(Field::new("item", object, true).into());
        assert!(changed(&raw(r#"[{"a": 1.5}, {"a": 9007199254740993}]"#), &deep).is_some());
        assert!(changed(&raw("null"), &deep).is_none());
    }
}
