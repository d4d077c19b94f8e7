//! Reading and checking the API's answer to one push chunk. Only the documented success body,
//! `{"updated": <n>, "not_found": [<ids>]}` with `0 <= n <= rows sent`, counts as applied: a 2xx
//! carrying anything else (an error object, `[]`, a missing or non-integer `updated`) makes the
//! chunk fail, so its rows stay in `remaining` instead of being reported as written.
//!
//! The answer is read with a size bound: it can only list keys the chunk sent, so a body far
//! larger than the request is not an answer, and an endless one must not grow memory.

use reqwest::Response;
use serde_json::Value;

use crate::error::Error;
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

/// Reads the answer to a chunk of `rows` rows, at most `limit` bytes, and checks it.
pub async fn read_answer(
    endpoint: &str,
    mut response: Response,
    rows: usize,
    limit: usize,
) -> Result<UpdateAnswer, AttemptError> {
    // Never asked for, but a proxy may compress on its own: read as bytes, it would fail a
    // chunk the API applied.
    let coding = coding(response.headers()).map_err(|message| refused(endpoint, message))?;
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
            return Err(refused(endpoint, message));
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
            refused(endpoint, message)
        })?;
    }
    parse_answer(&body, rows).map_err(|message| refused(endpoint, message))
}

fn refused(endpoint: &str, message: String) -> AttemptError {
    AttemptError::decode(
        endpoint,
        Error::Decode {
            endpoint: endpoint.to_owned(),
            message,
        },
    )
}

/// Checks a success answer to a chunk of `rows` rows; the error says what the server answered.
pub fn parse_answer(body: &[u8], rows: usize) -> Result<UpdateAnswer, String> {
    let unexpected = |what: &str| {
        format!(
            "answered with a success status but {what}, not the documented {{\"updated\": n, \
             \"not_found\": [...]}}, so the chunk is not known to be applied; the server \
             answered: {}",
            excerpt(body)
        )
    };
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
        return Err(unexpected("not with a JSON object"));
    };
    if answer.contains_key("error") {
        // No key here: the retry layer redacts the key from every failed attempt's error.
        let (code, message) = parse_error_body(body, "");
        return Err(format!(
            "answered with a success status but with an error ({code}): {message}; the chunk \
             is not known to be applied"
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
    Ok(UpdateAnswer { updated, not_found })
}

fn is_key(value: &Value) -> bool {
    matches!(value, Value::String(_)) || value.as_i64().is_some()
}

/// The first [`EXCERPT_CHARS`] characters of `body`, control characters shown escaped.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .flat_map(char::escape_debug)
        .collect();
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
        let answer = parse_answer(br#"{"updated": 2, "not_found": [7, "x"]}"#, 3).unwrap();
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
    }
}
