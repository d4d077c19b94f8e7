//! The one mapping from [`crate::Error`] to the `converz.exceptions` hierarchy. The classes are
//! defined in Python (`python/converz/exceptions.py`) for their docstrings and attributes; here
//! they are built with the HTTP status, the API's `code`, the endpoint and a hint on what to do.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{Error, DOES_NOT_FIT, IN_COLUMN};

/// Which Python class an error becomes, and the hint it carries.
fn classify(err: &Error) -> (&'static str, Option<&'static str>) {
    match err {
        Error::Http { status: 401 | 403, .. } => (
            "AuthenticationError",
            Some("check the API key: pass api_key=... or set CONVERZ_API_KEY"),
        ),
        // The server named a wait longer than the retries could cover (outside trial 18, F1).
        Error::Http {
            status,
            message,
            ..
        } if crate::http::retry::is_transient_status(*status) && message.contains(NOT_RETRIED) => {
            ("ServerError", Some(COME_BACK_LATER))
        }
        Error::RateLimited { not_retried, .. } if !not_retried.is_empty() => {
            ("RateLimitError", Some(COME_BACK_LATER))
        }
        Error::Http { status, .. } if crate::http::retry::is_transient_status(*status) => (
            "ServerError",
            Some("the Converz server failed on every attempt; try again later or raise retries="),
        ),
        Error::Http { code, .. } if code == crate::http::client::UNEXPECTED_STATUS => (
            "APIError",
            Some("the server answered with a status the Converz API does not use; check that \
                  base_url points at the API and not at a proxy or cache in between"),
        ),
        Error::Http { status: 500..=599, .. } => (
            "ServerError",
            Some("this 5xx status is not transient (only 500, 502, 503 and 504 are retried); \
                  the server cannot serve this request as sent, so ask its operator"),
        ),
        Error::Http { status: 300..=399, .. } => (
            "InvalidRequestError",
            // The address named is an endpoint's (…/api/v1/calls): base_url is its prefix
            // (outside trial 18: "set base_url to the address" gave a base_url ending /calls).
            Some("the redirect was not followed (the API key stays with the host you named, \
                  and a push's body is sent once, to the address it was meant for): if the \
                  new address is right, set base_url to its part up to /api/v1 (it names an \
                  endpoint, such as https://<host>/api/v1/calls, whose base_url is \
                  https://<host>/api/v1)"),
        ),
        // One request at a time cannot be fewer (outside trial 18: "lower max_concurrency="
        // was said to a client at max_concurrency=1).
        Error::RateLimited {
            max_concurrency: 1, ..
        } => ("RateLimitError", Some(RATE_LIMITED_ALONE)),
        Error::Http { status: 429, .. } | Error::RateLimited { .. } => {
            ("RateLimitError", Some(RATE_LIMITED))
        }
        Error::InvalidParameter { reason, .. } if reason.contains(crate::http::client::URL_TOO_LONG) => (
            "InvalidParameterError",
            Some("nothing was sent; the message above says what fits: a list split into chunks, or the rows filtered yourself"),
        ),
        Error::Http { status: 414, .. } => (
            "InvalidRequestError",
            Some("the server refused the request's URL as too long: split a long list filter \
                  (such as vendor_call_id=) into chunks and fetch each, then concatenate"),
        ),
        Error::Http { status: 404, .. } => (
            "InvalidRequestError",
            Some("the server has no such path: check that base_url ends in /api/v1 \
                  (https://<tenant>.converz.co/api/v1)"),
        ),
        // Outside trial 18 (F9): a 402 or 409 was told to "fix the parameter"; only the
        // statuses about the request itself get that advice.
        Error::Http { status: 400 | 405 | 413 | 422, .. } => (
            "InvalidRequestError",
            Some("the API refused the request; fix the parameter or body named in the message"),
        ),
        Error::Http { status: 402, .. } => (
            "InvalidRequestError",
            Some("the server wants payment (HTTP 402): the account's subscription or quota, \
                  not this request, is the problem; check it with Converz, then try again"),
        ),
        Error::Http { status: 409, .. } => (
            "InvalidRequestError",
            Some("the request conflicts with the server's current state (HTTP 409), such as \
                  another job running: the request itself may be right; act on the server's \
                  message, e.g. try again once that job is done"),
        ),
        Error::Http { status, .. } if *status == 408 || *status == 425 => (
            "InvalidRequestError",
            Some("the server gave up waiting or refused too early (see the message); try again"),
        ),
        Error::Http { .. } => (
            "InvalidRequestError",
            Some("the API refused the request with a status it does not document (see the \
                  message): act on the server's words; converz checked the parameters it knows"),
        ),
        Error::Transport { message, .. } if message.contains(crate::http::client::HEAD_TOO_LARGE) => (
            "TransportError",
            Some("the server, or a proxy in front of it, sent response headers larger than the \
                  client accepts; retrying cannot help: ask the administrator of the server or \
                  proxy to send smaller headers"),
        ),
        Error::Transport { message, .. } if message.contains(crate::http::client::NOT_HTTP) => {
            ("TransportError", Some(MALFORMED_ANSWER))
        }
        Error::Transport { message, .. } if message.contains(crate::http::client::REDIRECT_LOOP) => (
            "TransportError",
            Some("the server keeps redirecting this request within its own host, so neither a \
                  retry nor a longer timeout can help: check that base_url is the API's address \
                  (https://<tenant>.converz.co/api/v1), else ask the server's operator"),
        ),
        Error::Transport { message, .. }
            if message.contains(crate::http::client::CERTIFICATE_REFUSED) =>
        (
            "TransportError",
            Some("the server's TLS certificate is not valid for the host in base_url, or is not \
                  trusted (see the message), so nothing was sent and no retry can help: check \
                  base_url's host; behind a proxy that intercepts TLS, or with a company CA, \
                  add that CA to the system's trust store (SSL_CERT_FILE / SSL_CERT_DIR)"),
        ),
        Error::Transport { message, .. } if message.contains(crate::http::client::NOT_TLS) => (
            "TransportError",
            Some("base_url says https:// but the server there answered without TLS, so no \
                  retry can help: use the server's https:// address (plain http:// is \
                  accepted only for loopback, such as the emulator)"),
        ),
        Error::Transport { message, .. }
            if message.starts_with(crate::http::client::BODY_UNREADABLE) && message.contains("gzip") =>
        (
            "TransportError",
            Some("the body came gzip-coded (Content-Encoding: gzip) and did not inflate, on \
                  every attempt: a body cut off on the way inflates when sent again, so this \
                  one is likely broken where it is compressed (the server, or a proxy in \
                  between), and a longer timeout cannot help: try compression=None (no gzip \
                  asked for), else report it to the server's operator"),
        ),
        Error::Transport { .. } => (
            "TransportError",
            Some("check base_url and the network; raise timeout= for slow links"),
        ),
        // A file fetch's output refused (a list column in a CSV, `{}` in Parquet): the
        // default hint ("...data named above; nothing was sent") reads as a push's.
        Error::InvalidParameter { name, .. } if name == "output" => (
            "InvalidParameterError",
            Some("no file was written; fetch again as the message says"),
        ),
        Error::InvalidParameter { .. } => ("InvalidParameterError", None),
        Error::Encode { .. } => (
            "InvalidParameterError",
            Some("nothing was sent; fix the data and push again"),
        ),
        Error::Decode { message, .. } if message.contains(crate::http::inflate::ONLY_GZIP) => (
            "DecodeError",
            Some("the body came in a coding converz does not read (see the message); it asks \
                  for gzip or for none, so the server or a proxy in between chose it on its \
                  own: compression=None asks for none, else ask that server's operator"),
        ),
        Error::Decode { message, .. } if is_nested_under_text(message) => (
            "DecodeError",
            Some("a list or object cannot be held as a number, boolean or date: leave this \
                  column out of schema= (it is then read as a list or struct, which polars, \
                  pandas and pyarrow hold), give it \"str\" to keep each value's JSON text, \
                  or leave it out of the query with columns= (a scan's select() does not: a \
                  scan reads every column's first rows to learn its schema)"),
        ),
        // Outside trial 17: `fetch -o x.csv` of a list column got the type hint ("str"), whose
        // advice then failed with the hint above: a loop.
        Error::Decode { message, .. } | Error::Arrow(arrow_schema::ArrowError::CsvError(message))
            if message.contains("not supported in CSV") =>
        (
            "DecodeError",
            Some("CSV holds no lists or structs: write the file as .parquet, .ndjson or \
                  .arrow, which do, or leave the column out (--columns)"),
        ),
        // A timestamp a nanosecond column cannot hold, in converz's words or arrow-json's
        // (outside trial 33 F2: the generic hint sent the reader to base_url; trial 39 F4:
        // converz's own refusal, named by column, had the generic type hint).
        Error::Decode { message, .. }
            if message.contains(crate::decode::BEYOND_NANOSECONDS)
                || message.contains("would overflow 64-bit signed nanoseconds") =>
        (
            "DecodeError",
            Some("a timestamp outside the years 1677 to 2262 does not fit a nanosecond type: \
                  give the column timestamp[us] (what a fetch reads it as without schema=), or \
                  \"str\" to keep it as sent"),
        ),
        Error::Decode { message, .. } if is_type_mismatch(message) => ("DecodeError", Some(TYPE_HINT)),
        Error::Arrow(_) => ("DecodeError", Some(TYPE_HINT)),
        Error::Decode { message, .. } if message.contains(crate::http::paginate::INCONSISTENT) => (
            "DecodeError",
            Some("the server's pages do not add up to one listing (see the message); nothing \
                  more can be read reliably, so report it to Converz"),
        ),
        Error::Decode { message, .. }
            if message.contains(crate::decode::framing::SENT_INCOMPLETE) =>
        {
            (
                "DecodeError",
                Some("the server (or a proxy in front of it) declared the body's length and \
                      sent that much, but its JSON stops short: not a network failure, so it \
                      was not retried; fetch again, and if it repeats report it to Converz \
                      with the message"),
            )
        }
        Error::Decode { message, .. }
            if message.contains(crate::http::listing::UNSTABLE_ORDER) =>
        {
            (
                "DecodeError",
                Some("no paged read can vouch for every row of a server that does not keep \
                      one order: fetch with a page_size that holds the whole listing (one \
                      request, up to 1,000,000 rows), or narrow it with filters (dates, reps) \
                      until it does; if rows were not being removed, report the changing order \
                      to Converz with the message"),
            )
        }
        Error::Decode { message, .. } if message.contains(crate::http::listing::STALE_PAGES) => (
            "DecodeError",
            Some("fetch again, with a larger page_size if calls are being added quickly (a \
                  page's worth inserted between two requests looks like an old page); if it \
                  happens again while few calls are added, a cache or proxy in front of the API \
                  may be serving old pages: report it to Converz with the message"),
        ),
        Error::Decode { message, .. } if message.contains(crate::write::NO_DATE_COLUMN) => (
            "DecodeError",
            Some("the dataset was left unchanged: the server's rows lack a column the API \
                  documents on every call; check that base_url is the Converz API's (…/api/v1), \
                  or report it to Converz with the message"),
        ),
        Error::Decode { message, .. } if message.contains(crate::write::UNDATED) => (
            "DecodeError",
            Some("the dataset was left unchanged: fix that row's date on the server (push it as \
                  YYYY-MM-DD), or leave the row out with a filter, then run again"),
        ),
        Error::Decode { message, .. } if message.contains(crate::decode::UNKEYED) => (
            "DecodeError",
            Some("nothing was handed out from this listing's bad page; the server must send \
                  every row with its own key, once a page (report it to Converz)"),
        ),
        Error::Decode { message, .. }
            if message.contains(crate::http::body::ROW_PASSED_THE_LIMIT) =>
        {
            (
                "DecodeError",
                Some("check that base_url points at the Converz API; if it does, report the \
                      answer to Converz (nothing of it was kept)"),
            )
        }
        Error::Decode { message, .. } if message.contains(crate::http::body::PASSED_THE_LIMIT) => (
            "DecodeError",
            Some("rows this large (a long transcript, a JSON blob per call) need another \
                  page_size= (the message says which way); if the rows should be small, check \
                  that base_url points at the Converz API"),
        ),
        // Outside trial 24: the generic hint below sent the reader to base_url.
        Error::Decode { message, .. } if message.contains(crate::decode::TOO_DEEP) => (
            "DecodeError",
            Some("a value on this page is a list or object nested deeper than converz reads (a \
                  guard against bodies built to exhaust the stack); schema= does not lift it: \
                  leave that column out with columns=, and report the data to Converz"),
        ),
        Error::Decode { message, .. } if message.contains(crate::decode::TOO_MANY_KEYS) => (
            "DecodeError",
            Some("an object on this page has more keys than converz reads in one place (a \
                  guard against bodies built to exhaust memory); an object whose keys are \
                  data (ids, dates) would be a column per key: leave that column out with \
                  columns=, and report the data to Converz"),
        ),
        Error::Decode { message, .. } if message.contains(crate::decode::REPEATED_KEY) => (
            "DecodeError",
            Some("a row on this page (or an object in one) gives one key two values, and \
                  nothing says which is meant (JSON parsers keep either); nothing from the \
                  page was kept: report the data to Converz"),
        ),
        Error::Decode { message, .. } if message.contains(crate::decode::FLOAT_WORD) => (
            "DecodeError",
            Some("the server wrote a float as NaN or Infinity, which is not JSON: its data is \
                  damaged there, so report it to Converz (base_url is right: the rest of the \
                  page is the API's JSON)"),
        ),
        Error::Decode { message, .. } if message.contains("non-UTF-8") => (
            "DecodeError",
            Some("a string on this page is not UTF-8, which JSON text must be: the server's \
                  data is damaged there, so report it to Converz"),
        ),
        Error::Decode { message, .. } if message.contains("surrogate") => (
            "DecodeError",
            Some("a string on this page holds an escaped UTF-16 surrogate without its pair (such \
                  as \\ud800), which is no character and cannot be held as text: the server's \
                  data is damaged there, so report it to Converz"),
        ),
        Error::Decode { .. } | Error::Json(_) => (
            "DecodeError",
            Some("the server did not answer with the JSON rows the API documents: check that \
                  base_url points at the Converz API (https://<tenant>.converz.co/api/v1), \
                  not at a login page, proxy or other service"),
        ),
        Error::Closed { .. } => (
            "ConverzError",
            Some("the client was closed (close() or the end of its `with` block); create a new converz.Client"),
        ),
        Error::Interrupted => ("ConverzError", None),
        Error::Reentered => (
            "ConverzError",
            Some("make the call after the one running returns (e.g. have the handler queue the \
                  work); a call from another thread is fine"),
        ),
        _ => ("ConverzError", None),
    }
}

/// How the message of a 429 or 5xx says its wait was too long to retry for
/// (`retry::RetryAfter::too_long`).
const NOT_RETRIED: &str = "; not retried";

/// The hint of a 429 or 5xx whose `Retry-After` was too long to retry for.
const COME_BACK_LATER: &str = "the server said when it can serve again (see the message): try \
                               again then; retrying sooner only earns refusals";

/// The hint of a 429 after every retry, and of one to a client sending one request at a time.
const RATE_LIMITED: &str = "lower max_concurrency= (fewer requests at once), or wait before \
                            trying again: retry_after is the server's wait in seconds when it \
                            sent a valid Retry-After (else None)";
const RATE_LIMITED_ALONE: &str = "the client already sends one request at a time \
                                  (max_concurrency=1): wait before trying again; retry_after is \
                                  the server's wait in seconds when it sent a valid Retry-After \
                                  (else None)";

/// The hint of an answer that is not valid HTTP (`http::client::NOT_HTTP`); a push's adds
/// where its rows not applied are.
pub const MALFORMED_ANSWER: &str = "the server, or a proxy in front of it, answered with a \
                                    malformed HTTP response (see the message), the same way \
                                    every time, so retrying cannot help: check that base_url \
                                    is the API's address, else ask the server's administrator";

/// The hint of a page whose values do not fit the type a column was given.
const TYPE_HINT: &str = "a column's values do not fit the type it was given (by schema= or by \
                         the pages before): pass schema={column: type} to choose it, e.g. \
                         \"str\" keeps any number, boolean or text as text";

/// Whether a decode failure is a value that did not fit its column's type (in the words every
/// part of converz says it in, arrow-json's turned into them).
fn is_type_mismatch(message: &str) -> bool {
    message.contains(IN_COLUMN) || message.contains(DOES_NOT_FIT)
}

/// Whether a decode failure is a list or object in a column given a type that holds neither
/// (text, a number, a boolean, a date: outside trials 16c and 17, where the hint recommended
/// "str", which fails as well; 23b for booleans). arrow-json's words for it, "expected string
/// got [...", "expected boolean got {...", ..., with the value named plainly
/// (`AttemptError::decode`).
fn is_nested_under_text(message: &str) -> bool {
    use crate::http::client::{GOT_LIST, GOT_OBJECT};
    message.contains(IN_COLUMN) && (message.contains(GOT_LIST) || message.contains(GOT_OBJECT))
}

/// For a number too large for the narrow type a column was forced to ("331 does not fit
/// Int8"), the hint names the wider type that holds it (outside trial 23d: the generic hint
/// offered "str" only, where `int64` keeps it a number).
fn narrow_type_hint(err: &Error) -> Option<String> {
    let Error::Decode { message, .. } = err else {
        return None;
    };
    let column = column_named(message)?;
    let (before, narrow) = message.split_once(DOES_NOT_FIT)?;
    let value = before.rsplit(": ").next()?;
    let narrow = narrow.split_whitespace().next()?;
    let wider = match narrow {
        "Int8" | "Int16" | "Int32" | "UInt8" | "UInt16" | "UInt32" => {
            value.parse::<i64>().ok().map(|_| "int64")
        }
        "Float32" => value.parse::<f64>().ok().map(|_| "float64"),
        _ => None,
    }?;
    Some(format!(
        "{value} does not fit {narrow}, the type schema= gave column {column:?}: pass \
         schema={{{column:?}: {wider:?}}} to keep it a number, or schema={{{column:?}: \"str\"}} \
         to keep it as text"
    ))
}

/// For a value that does not fit its column's type, in a message that names the column, the
/// type hint with the column's name in it (outside trial 24 F2: it said "schema={column:
/// type}", leaving the reader to find the column in the message).
fn column_type_hint(err: &Error) -> Option<String> {
    let Error::Decode { message, .. } = err else {
        return None;
    };
    if !is_type_mismatch(message) || is_nested_under_text(message) {
        return None;
    }
    let column = column_named(message)?;
    Some(format!(
        "column {column:?} holds a value that does not fit the type it was given (by schema= or \
         by the pages before): pass schema={{{column:?}: \"str\"}} to keep any number, boolean \
         or text in it as text, or give it another type that holds the value"
    ))
}

/// The column a decode message names (`in column 'NAME': ...`). The name is not escaped, so it
/// ends at the first `': ` (outside trial 26b F5: a name holding a quote, `it's "x"`, was cut at
/// the quote, and the hint named a column that does not exist).
fn column_named(message: &str) -> Option<&str> {
    let at = message.find(IN_COLUMN)? + IN_COLUMN.len();
    message[at..].split_once("': ").map(|(column, _)| column)
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let (class_name, hint) = classify(err);
    let module = py.import("converz.exceptions")?;
    let class = module.getattr(class_name)?;
    let kwargs = PyDict::new(py);
    match err {
        Error::Http {
            status,
            endpoint,
            code,
            retry_after,
            ..
        } => {
            kwargs.set_item("status_code", status)?;
            kwargs.set_item("code", code)?;
            kwargs.set_item("endpoint", endpoint)?;
            if crate::http::retry::is_transient_status(*status) {
                kwargs.set_item("retry_after", retry_after.as_deref())?;
            }
        }
        Error::RateLimited {
            endpoint,
            retry_after,
            ..
        } => {
            kwargs.set_item("status_code", 429)?;
            kwargs.set_item("code", "rate_limited")?;
            kwargs.set_item("endpoint", endpoint)?;
            kwargs.set_item("retry_after", retry_after.seconds())?;
        }
        Error::Transport { endpoint, .. }
        | Error::Decode { endpoint, .. }
        | Error::Closed { endpoint } => {
            kwargs.set_item("endpoint", endpoint)?;
        }
        Error::InvalidParameter { name, .. } => kwargs.set_item("parameter", name)?,
        Error::Encode { column, .. } => kwargs.set_item("parameter", column)?,
        _ => {}
    }
    match narrow_type_hint(err).or_else(|| column_type_hint(err)) {
        Some(named) => kwargs.set_item("hint", named)?,
        None => kwargs.set_item("hint", hint)?,
    }
    let instance = class.call((err.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

/// `converz.exceptions.PushError(message, result=result, hint=...)` with `cause` as its
/// `__cause__`: some chunks of a push were not applied, and `result` says which.
pub fn push_error(
    py: Python<'_>,
    message: &str,
    result: Py<PyAny>,
    cause: Option<PyErr>,
) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("result", result)?;
    kwargs.set_item(
        "hint",
        "push err.result.remaining again to apply only the rest (updates are idempotent)",
    )?;
    // The chunk's failure says what the API answered (outside trial 30: a push every chunk of
    // which got 401 raised a PushError whose status_code was None; only `__cause__` said 401).
    let exceptions = py.import("converz.exceptions")?;
    if let Some(cause) = &cause {
        let answered = cause.value(py);
        if answered.is_instance(&exceptions.getattr("ConverzError")?)? {
            for said in ["status_code", "code", "endpoint"] {
                kwargs.set_item(said, answered.getattr(said)?)?;
            }
        }
    }
    let class = exceptions.getattr("PushError")?;
    let err = PyErr::from_value(class.call((message,), Some(&kwargs))?);
    err.set_cause(py, cause);
    Ok(err)
}

/// `converz.exceptions.InvalidRequestError` for a push under `strict=True` whose keys the API
/// did not know. The API answered 200 and applied the other rows, so the error carries that
/// status and the push's `result` (its `not_found` lists the keys), as a `PushError` would.
pub fn unknown_keys_error(
    py: Python<'_>,
    message: &str,
    endpoint: &str,
    result: Py<PyAny>,
) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("result", result)?;
    kwargs.set_item("status_code", 200)?;
    kwargs.set_item("code", "not_found")?;
    kwargs.set_item("endpoint", endpoint)?;
    kwargs.set_item(
        "hint",
        "err.result.not_found lists them; drop them, or push without strict=True",
    )?;
    let class = py
        .import("converz.exceptions")?
        .getattr("InvalidRequestError")?;
    Ok(PyErr::from_value(class.call((message,), Some(&kwargs))?))
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        Python::attach(|py| build(py, &err).unwrap_or_else(|e| e))
    }
}

/// `converz.exceptions.StreamError(message, hint=...)`: a stream used in a way it cannot serve
/// (found by the outside trial: these were plain `RuntimeError`s, outside the hierarchy).
pub fn stream_error(message: impl AsRef<str>) -> PyErr {
    Python::attach(|py| {
        let kwargs = PyDict::new(py);
        kwargs.set_item(
            "hint",
            "call iter_calls()/iter_reps() again for a new stream; no row was lost",
        )?;
        let class = py.import("converz.exceptions")?.getattr("StreamError")?;
        Ok(PyErr::from_value(
            class.call((message.as_ref(),), Some(&kwargs))?,
        ))
    })
    .unwrap_or_else(|e| e)
}
