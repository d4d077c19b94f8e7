//! Reading and checking the API's answer to one push chunk. Only the documented success body,
//! `{"updated": <n>, "not_found": [<ids>]}`, that accounts for the chunk counts as applied: a 2xx
//! carrying anything else (an error object, `[]`, a missing or non-integer `updated`) makes the
//! chunk fail, so its rows stay in `remaining` instead of being reported as written.
//!
//! Accounting (Part B §5, and what the emulator answers): `updated` counts the rows whose key
//! exists, `not_found` lists the keys that do not, so every row sent is in exactly one of the
//! two: `updated + len(not_found)` is the rows sent, and each `not_found` key is one the chunk
//! sent (a chunk's keys are distinct: the plan refuses repeats or keeps the last). An answer
//! that leaves rows unaccounted for, counts more than were sent, or names a key never sent is
//! not an account of this chunk, so nothing in it is known to be applied.
//!
//! The answer is read with a size bound: it can only list keys the chunk sent, so a body far
//! larger than the request is not an answer, and an endless one must not grow memory.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use reqwest::Response;
use serde_json::Value;

use crate::encode::{PushPlan, Target};
use crate::http::client::{parse_error_body, AttemptError};
use crate::http::inflate::{coding, gunzip, Coding, InflateError};

/// Bytes an answer may take whatever the chunk: room for any error text or extra fields.
const ANSWER_BASE_LIMIT: usize = 1024 * 1024;

/// Characters of an unexpected answer quoted in the error.
const EXCERPT_CHARS: usize = 200;

/// The API's account of one applied chunk.
#[derive(Debug, PartialEq)]
pub struct UpdateAnswer {
    /// Rows the API updated.
    pub updated: u64,
    /// Keys the API did not know (not created).
    pub not_found: Vec<Value>,
}

/// The most bytes read of the answer to a request body of `body_len` bytes. `not_found` lists
/// only keys the body carried; a server may escape them more verbosely (`\u00e9` for `é`),
/// hence the factor.
pub fn answer_limit(body_len: usize) -> usize {
    ANSWER_BASE_LIMIT.saturating_add(body_len.saturating_mul(3))
}

/// The chunk an answer is to: chunk `index` of `plan`, sent to `target`.
#[derive(Clone, Copy)]
pub struct Sent<'a> {
    pub plan: &'a PushPlan,
    pub index: usize,
    pub target: Target,
}

impl Sent<'_> {
    fn rows(&self) -> usize {
        self.plan.chunks()[self.index].rows
    }

    /// The chunk's keys as text (`7`, `kees500`), as many times as each was sent. Read from
    /// the plan's rows only when an answer lists keys, so a clean answer costs nothing.
    fn keys(&self) -> crate::error::Result<HashMap<String, usize>> {
        let mut keys = HashMap::new();
        for batch in self.plan.remaining(&[self.index])? {
            for key in key_texts(&batch, self.target)? {
                *keys.entry(key).or_insert(0) += 1;
            }
        }
        Ok(keys)
    }
}

/// The key column of `batch` as text: a `call_id` as its integer (the plan checked it is one,
/// so a `7.0` float is `7`), a `rep_id` as its string.
fn key_texts(batch: &RecordBatch, target: Target) -> crate::error::Result<Vec<String>> {
    let Some(column) = batch.column_by_name(target.key()) else {
        return Ok(Vec::new());
    };
    let column = match target {
        Target::Calls => arrow_cast::cast(column, &DataType::Int64)?,
        Target::Reps => std::sync::Arc::clone(column),
    };
    let text = arrow_cast::cast(&column, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    Ok((0..text.len())
        .map(|row| text.value(row).to_owned())
        .collect())
}

/// Reads the answer to chunk `sent`, at most `limit` bytes, and checks it.
pub async fn read_answer(
    endpoint: &str,
    mut response: Response,
    sent: &Sent<'_>,
    limit: usize,
) -> Result<UpdateAnswer, AttemptError> {
    let rows = sent.rows();
    // Only the documented 200 says the chunk was applied: a 202 (Accepted) says it was queued,
    // a 201 or 204 is no answer of this API (outside trial 22: counted as applied).
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        let message = format!(
            "the answer to a {rows}-row chunk was HTTP {status}, not the documented 200 with \
             {{\"updated\": n, \"not_found\": [...]}}, so the chunk is not known to be \
             applied (a 202 says it was only queued)"
        );
        return Err(AttemptError::refused(endpoint, message));
    }
    // Never asked for, but a proxy may compress on its own: read as bytes, it would fail a
    // chunk the API applied.
    let coding =
        coding(response.headers()).map_err(|message| AttemptError::refused(endpoint, message))?;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| AttemptError::transport(endpoint, &e))?
    {
        if body.len() + chunk.len() > limit {
            // Dropping `response` here closes the connection: the rest is never read.
            let message = format!(
                "the answer to a {rows}-row chunk is larger than {limit} bytes, so it is not \
                 the documented {{\"updated\": n, \"not_found\": [...]}}; nothing is known to \
                 be applied"
            );
            return Err(AttemptError::refused(endpoint, message));
        }
        body.extend_from_slice(&chunk);
    }
    if coding == Coding::Gzip {
        body = gunzip(&body, limit).map_err(|err| {
            let why = match err {
                InflateError::TooLarge => format!("it inflates to more than {limit} bytes"),
                InflateError::Broken(why) => why,
            };
            let message = format!(
                "the gzip answer to a {rows}-row chunk could not be read ({why}); nothing is \
                 known to be applied"
            );
            AttemptError::refused(endpoint, message)
        })?;
    }
    let mut answer =
        parse_answer(&body, rows).map_err(|message| AttemptError::refused(endpoint, message))?;
    if !answer.not_found.is_empty() {
        let keys = sent
            .keys()
            .map_err(|err| AttemptError::decode(endpoint, err))?;
        check_not_found(&answer.not_found, keys, &body)
            .map_err(|message| AttemptError::refused(endpoint, message))?;
        answer.not_found = as_sent(answer.not_found, sent.target);
    }
    Ok(answer)
}

/// A JSON object read only for the first key given twice in it, if any (its values are
/// skipped).
struct RepeatedKey(Option<String>);

impl<'de> serde::Deserialize<'de> for RepeatedKey {
    fn deserialize<D: serde::Deserializer<'de>>(reader: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = RepeatedKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RepeatedKey, A::Error> {
                let mut seen = std::collections::HashSet::new();
                let mut repeated = None;
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    if repeated.is_none() && !seen.insert(key.clone()) {
                        repeated = Some(key.chars().take(40).collect());
                    }
                }
                Ok(RepeatedKey(repeated))
            }
        }
        reader.deserialize_map(Keys)
    }
}

/// How an answer that does not account for its chunk says so (the push's summary keys on it).
pub const NOT_KNOWN_APPLIED: &str = "not known to be applied";

/// Checks a success answer to a chunk of `rows` rows; the error says what the server answered.
pub fn parse_answer(body: &[u8], rows: usize) -> Result<UpdateAnswer, String> {
    let unexpected = |what: &str| {
        format!(
            "answered with a success status but {what}, not the documented {{\"updated\": n, \
             \"not_found\": [...]}}, so the chunk is {NOT_KNOWN_APPLIED}; the server \
             answered: {}",
            excerpt(body)
        )
    };
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
        return Err(unexpected("not with a JSON object"));
    };
    // serde_json's map keeps the last value of a key given twice; which one the server meant
    // is unknown (outside trial 32 F5: `{"updated":0,"updated":2}` counted as applied).
    if let Ok(RepeatedKey(Some(key))) = serde_json::from_slice::<RepeatedKey>(body) {
        return Err(unexpected(&format!(
            "with the key `{key}` given twice (which value is meant is unknown)"
        )));
    }
    if answer.contains_key("error") {
        // No key here: the retry layer redacts the key from every failed attempt's error.
        let (code, message) = parse_error_body(body, "");
        return Err(format!(
            "answered with a success status but with an error ({code}): {message}; the chunk \
             is {NOT_KNOWN_APPLIED}"
        ));
    }
    let updated = match answer.get("updated") {
        None => return Err(unexpected("without `updated`")),
        Some(value) => value
            .as_u64()
            .ok_or_else(|| unexpected("with an `updated` that is not a count"))?,
    };
    if updated > rows as u64 {
        return Err(unexpected(&format!(
            "with `updated` {updated}, more than the {rows} rows sent"
        )));
    }
    let not_found = match answer.remove("not_found") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(keys)) if keys.iter().all(is_key) => keys,
        Some(_) => return Err(unexpected("with a `not_found` that is not a list of keys")),
    };
    let accounted = updated.saturating_add(not_found.len() as u64);
    let missing = match not_found.len() {
        1 => "1 key".to_owned(),
        n => format!("{n} keys"),
    };
    if accounted > rows as u64 {
        return Err(unexpected(&format!(
            "with `updated` {updated} and {missing} in `not_found`, more rows than the {rows} \
             sent"
        )));
    }
    if accounted < rows as u64 {
        let unaccounted = rows as u64 - accounted;
        return Err(unexpected(&format!(
            "with `updated` {updated} and {missing} in `not_found`, which leaves \
             {unaccounted} of the {rows} rows sent unaccounted for"
        )));
    }
    Ok(UpdateAnswer { updated, not_found })
}

/// Checks that every key in `not_found` is one the chunk sent (`sent`: each key's text and how
/// many times it was sent), no more often than it was sent.
pub fn check_not_found(
    not_found: &[Value],
    mut sent: HashMap<String, usize>,
    body: &[u8],
) -> Result<(), String> {
    for key in not_found {
        let text = key_text(key);
        match sent.get_mut(&text) {
            Some(left) if *left > 0 => *left -= 1,
            found => {
                let how = match found {
                    None => "which the chunk did not send",
                    Some(_) => "more often than the chunk sent it",
                };
                return Err(format!(
                    "answered with a success status but lists {key} in `not_found`, {how}, so \
                     the answer is not an account of this chunk and the chunk is not known to \
                     be applied; the server answered: {}",
                    excerpt(body)
                ));
            }
        }
    }
    Ok(())
}

/// Listed keys (each checked to be one the chunk sent) as the type they were sent as: a
/// server may quote an integer key (`"7"`) or write a text key that is all digits unquoted,
/// and `not_found` should hold the keys the caller pushed, not a `str` among `int`s (found by
/// the outside trial).
fn as_sent(not_found: Vec<Value>, target: Target) -> Vec<Value> {
    not_found
        .into_iter()
        .map(|key| match (target, key) {
            (Target::Calls, Value::String(text)) => {
                text.parse::<i64>().map_or(Value::String(text), Value::from)
            }
            (Target::Reps, Value::Number(number)) => Value::String(number.to_string()),
            (_, key) => key,
        })
        .collect()
}

fn is_key(value: &Value) -> bool {
    matches!(value, Value::String(_)) || value.as_i64().is_some()
}

/// A listed key as the text it is compared by: a server may quote an integer key (`"7"`).
fn key_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The first [`EXCERPT_CHARS`] characters of `body`, control characters shown escaped.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    // Control characters escaped as every message escapes them, quotes left as sent (outside
    // trial: `{\"updated\": 5}`).
    let head: String = text.chars().take(EXCERPT_CHARS).collect();
    let mut out = crate::printable::printable(&head).into_owned();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    if out.is_empty() {
        out.push_str("(an empty body)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str, rows: usize) -> String {
        parse_answer(body.as_bytes(), rows).unwrap_err()
    }

    #[test]
    fn the_documented_answer_is_accepted() {
        let answer = parse_answer(br#"{"updated": 2, "not_found": [7, "x"]}"#, 4).unwrap();
        assert_eq!(answer.updated, 2);
        assert_eq!(answer.not_found, vec![Value::from(7), Value::from("x")]);
        let bare = parse_answer(br#"{"updated": 3, "extra": true}"#, 3).unwrap();
        assert_eq!(bare.not_found, Vec::<Value>::new());
    }

    #[test]
    fn error_objects_and_other_shapes_are_refused_with_what_was_answered() {
        let error = refused(r#"{"error": "database is read-only", "code": "ro"}"#, 3);
        assert!(
            error.contains("database is read-only") && error.contains("(ro)"),
            "{error}"
        );
        for (body, says) in [
            ("[]", "not with a JSON object"),
            ("", "(an empty body)"),
            ("{}", "without `updated`"),
            (r#"{"updated": "3"}"#, "not a count"),
            (r#"{"updated": 1.5}"#, "not a count"),
            (r#"{"updated": -1}"#, "not a count"),
            (r#"{"updated": 4}"#, "more than the 3 rows sent"),
            (r#"{"updated": 1, "not_found": 5}"#, "not a list of keys"),
            (
                r#"{"updated": 1, "not_found": [[1]]}"#,
                "not a list of keys",
            ),
            // Outside trial 32 F5: the last of a key given twice was taken.
            (
                r#"{"updated": 0, "updated": 3}"#,
                "the key `updated` given twice",
            ),
            (
                r#"{"updated": 3, "not_found": [], "not_found": [1]}"#,
                "the key `not_found` given twice",
            ),
            (
                r#"{"updated": 3, "x": {"a": 1}, "x": 2}"#,
                "the key `x` given twice",
            ),
        ] {
            let error = refused(body, 3);
            assert!(error.contains(says), "{body}: {error}");
            assert!(error.contains("not known to be applied"), "{error}");
        }
    }

    #[test]
    fn quoted_answers_are_bounded() {
        let long = format!("[{}]", "1,".repeat(10_000));
        let error = refused(&long, 3);
        assert!(error.len() < 1_000, "{}", error.len());
        assert!(error.ends_with('…'), "{error}");
        let error = refused(&format!(r#"{{"error": "{}"}}"#, "e".repeat(50_000)), 3);
        assert!(error.len() < 2_000, "{}", error.len());
        // Quotes as sent, control characters escaped.
        let error = refused("{\"updated\": 9, \"x\": \"\u{1b}[2J\"}", 3);
        assert!(error.contains(r#"{"updated": 9"#), "{error}");
        assert!(!error.contains('\u{1b}'), "{error}");
    }

    #[test]
    fn an_answer_must_account_for_every_row_sent_once() {
        for (body, says) in [
            (
                r#"{"updated": 1, "not_found": []}"#,
                "`updated` 1 and 0 keys in `not_found`, which leaves 2 of the 3 rows sent \
                 unaccounted for",
            ),
            (
                r#"{"updated": 1}"#,
                "which leaves 2 of the 3 rows sent unaccounted for",
            ),
            (
                r#"{"updated": 3, "not_found": [1]}"#,
                "`updated` 3 and 1 key in `not_found`, more rows than the 3 sent",
            ),
            (
                r#"{"updated": 0, "not_found": [1, 2, 3, 4]}"#,
                "more rows than the 3 sent",
            ),
        ] {
            let error = refused(body, 3);
            assert!(error.contains(says), "{body}: {error}");
            assert!(error.contains("not known to be applied"), "{error}");
        }
        for body in [
            r#"{"updated": 3, "not_found": []}"#,
            r#"{"updated": 1, "not_found": [2, 3]}"#,
            r#"{"updated": 0, "not_found": [1, 2, 3]}"#,
        ] {
            parse_answer(body.as_bytes(), 3).unwrap();
        }
    }

    fn sent(keys: &[&str]) -> HashMap<String, usize> {
        let mut sent = HashMap::new();
        for key in keys {
            *sent.entry((*key).to_owned()).or_insert(0) += 1;
        }
        sent
    }

    #[test]
    fn not_found_may_list_only_keys_the_chunk_sent() {
        let check = |listed: Value, keys: &[&str]| {
            let Value::Array(listed) = listed else {
                unreachable!()
            };
            check_not_found(&listed, sent(keys), b"{}")
        };
        check(serde_json::json!([2, 3]), &["1", "2", "3"]).unwrap();
        check(serde_json::json!(["kees500"]), &["kees500", "anna7"]).unwrap();
        // A server may quote an integer key.
        check(serde_json::json!(["2"]), &["1", "2"]).unwrap();
        check(serde_json::json!([5, 5]), &["5", "5"]).unwrap();
        for (listed, keys, says) in [
            (
                serde_json::json!([777]),
                &["1", "2", "3"][..],
                "lists 777 in `not_found`, which the chunk did not send",
            ),
            (
                serde_json::json!(["ghost"]),
                &["kees500"][..],
                "lists \"ghost\" in `not_found`, which the chunk did not send",
            ),
            (
                serde_json::json!([2, 2]),
                &["1", "2", "3"][..],
                "lists 2 in `not_found`, more often than the chunk sent it",
            ),
        ] {
            let error = check(listed, keys).unwrap_err();
            assert!(error.contains(says), "{error}");
            assert!(error.contains("not known to be applied"), "{error}");
        }
    }

    #[test]
    fn a_chunks_keys_are_read_from_the_plan_as_text() {
        use std::sync::Arc;

        use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};

        use crate::encode::EncoderOptions;

        let ids: ArrayRef = Arc::new(Int64Array::from(vec![10, 11, 12, 13, 14]));
        let score: ArrayRef = Arc::new(Float64Array::from(vec![0.5; 5]));
        let batch = RecordBatch::try_from_iter([("call_id", ids), ("score", score)]).unwrap();
        let options = EncoderOptions {
            chunk_rows: 2,
            ..EncoderOptions::new(Target::Calls)
        };
        let plan = PushPlan::new(vec![batch], options).unwrap();
        let second = Sent {
            plan: &plan,
            index: 1,
            target: Target::Calls,
        };
        assert_eq!(second.rows(), 2);
        assert_eq!(second.keys().unwrap(), sent(&["12", "13"]));

        let reps: ArrayRef = Arc::new(StringArray::from(vec!["kees500", "anna7"]));
        let team: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let batch = RecordBatch::try_from_iter([("rep_id", reps), ("team", team)]).unwrap();
        let plan = PushPlan::new(vec![batch], EncoderOptions::new(Target::Reps)).unwrap();
        let only = Sent {
            plan: &plan,
            index: 0,
            target: Target::Reps,
        };
        assert_eq!(only.keys().unwrap(), sent(&["kees500", "anna7"]));
    }
}
