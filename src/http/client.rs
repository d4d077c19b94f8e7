//! The Converz HTTP client: base URL, one request attempt, the retry loop every request goes
//! through, and error bodies turned into bounded messages without the key (`redact`). The
//! connection pool itself (key header, timeouts, redirects, fork and close) is `pool`.

use reqwest::header::ACCEPT_ENCODING;
use reqwest::{Method, Response};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::inflate::{coding, gunzip_prefix, Coding};
use super::pool::{build_http, build_unpooled, Pool};
use super::progress::Progress;
use super::redact::{redact, redact_error};
use super::retry::{backoff, bounded_printable, Failure, RetryAfter};
use crate::config::ClientConfig;
use crate::decode::DecodedTable;
use crate::error::{Error, Result, DOES_NOT_FIT, IN_COLUMN};

/// Bytes of an error body read for the message: enough for any JSON error, short for HTML. The
/// rest is never read (the connection is dropped), so a 50 MB error page costs 16 KiB.
const ERROR_BODY_LIMIT: usize = 16 * 1024;

/// Characters of the API's error text kept in a message.
const ERROR_MESSAGE_LIMIT: usize = 1_000;

/// The `code` of an [`Error::Http`] whose status the API never uses (a 304, a 999): not the
/// API's own code, so the Python layer can say what happened instead of guessing.
pub const UNEXPECTED_STATUS: &str = "unexpected_status";

tokio::task_local! {
    /// Set while `with_retries` sends a request again because a kept-alive connection went
    /// unanswered: `send` then takes a new connection.
    static RESENDING: bool;
}

/// A failed attempt: how to treat it, and the error to raise if it was the last one.
#[derive(Debug)]
pub struct AttemptError {
    /// Retry classification.
    pub failure: Failure,
    /// What the caller sees if no retry is left.
    pub error: Error,
}

/// How the message of a response whose head the client refused begins; the Python layer gives
/// it its own hint (`python/errors.rs`), since no timeout nor retry can help.
pub const HEAD_TOO_LARGE: &str = "the server's response headers are larger than the client \
                                  accepts (over about 400 KiB, or over 100 header lines)";

/// How the message of a response that is not valid HTTP/1.1 begins (a header line without a
/// colon, a `Content-Length` that is not one number, an HTTP/0.9 answer); the Python layer
/// gives it its own hint: the server answers the same way every time, so it is not retried
/// (outside trial 26 F3: it was retried, with "check the network; raise timeout=").
pub const NOT_HTTP: &str = "the server's answer is not valid HTTP/1.1";

/// How the message of a request the server redirected in a loop begins; the Python layer gives
/// it its own hint (`python/errors.rs`): no timeout nor retry can help (outside trial 18: it
/// was retried, with the hint "raise timeout= for slow links").
pub const REDIRECT_LOOP: &str = "the server redirects this request in a loop (more than 5 \
                                 redirects within its own host)";

/// How the message of a body that ended early or could not be read begins. A gzip body that
/// does not inflate says so after it, in `inflate`'s words (each names gzip), and the Python
/// layer gives that its own hint (outside trial 52 F4: "raise timeout=" for a body the server
/// broke the same way every time).
pub const BODY_UNREADABLE: &str = "response body cut off or unreadable";

/// How the message of a request that never reached a server begins: no connection was made,
/// so nothing of the request was written.
const COULD_NOT_CONNECT: &str = "could not connect";

impl AttemptError {
    /// Whether the attempt failed before a connection was made, so its request cannot have
    /// reached the server (a push's chunk is then still "not sent", outside trial 75 F9).
    pub fn never_sent(&self) -> bool {
        matches!(&self.error, Error::Transport { message, .. }
            if message.starts_with(COULD_NOT_CONNECT))
    }

    /// A transport failure (connect, timeout, cut body) on `endpoint`. Retried, except a
    /// response head too large to read or not valid HTTP, a redirect loop, a TLS certificate refused or a server
    /// that does not speak TLS: the server answers the same way every time.
    #[cold]
    pub fn transport(endpoint: &str, err: &reqwest::Error) -> Self {
        AttemptError {
            failure: if head_too_large(err)
                || not_http(err)
                || err.is_redirect()
                || certificate_refused(err)
                || not_tls(err)
            {
                Failure::Permanent
            } else {
                Failure::Transport
            },
            error: Error::Transport {
                endpoint: endpoint.to_owned(),
                attempts: 1,
                message: describe_reqwest_error(err),
            },
        }
    }
}

impl AttemptError {
    /// A body that arrived but cannot be read as sent (a gzip stream cut off, corrupt, or
    /// followed by other bytes): a transport failure, retried like a connection cut mid-body.
    #[cold]
    pub fn broken_body(place: &str, message: String) -> Self {
        AttemptError {
            failure: Failure::Transport,
            error: Error::Transport {
                endpoint: place.to_owned(),
                attempts: 1,
                message: format!("{BODY_UNREADABLE}: {message}"),
            },
        }
    }

    /// A failure of a page's decoder: a body cut off inside its JSON array is a transport
    /// failure (retried: the next attempt may arrive whole), a page to be read again for the
    /// reference decoder goes back to the pager as it is (not retried here: the pager reads
    /// it again with another decoder), anything else a decode error.
    pub fn from_decoder(place: &str, err: Error) -> Self {
        match err {
            Error::ReadAgain => AttemptError {
                failure: Failure::Permanent,
                error: Error::ReadAgain,
            },
            Error::Transport { message, .. } => AttemptError {
                failure: Failure::Transport,
                error: Error::Transport {
                    endpoint: place.to_owned(),
                    attempts: 1,
                    message,
                },
            },
            other => Self::decode(place, other),
        }
    }

    /// `err` from a body whose end the server framed (a length or chunks, see `body.rs`): a
    /// JSON array found cut off there was sent that way, so it is the server's malformed
    /// answer, not a transport failure (outside trial 25 F4: `[{"call_id": 1,` with its
    /// length was retried and called a network problem).
    pub fn sent_incomplete(place: &str, err: AttemptError) -> Self {
        match err {
            AttemptError {
                failure: Failure::Transport,
                error: Error::Transport { message, .. },
            } if message.starts_with(crate::decode::framing::CUT_OFF) => Self::refused(
                place,
                format!(
                    "{message}, though the body arrived whole (as long as the server said): {}",
                    crate::decode::framing::SENT_INCOMPLETE
                ),
            ),
            other => other,
        }
    }

    /// An answer that arrived whole but is not what the API promises, said by `message`. Not
    /// retried: the same bytes would fail the same way.
    #[cold]
    pub fn refused(place: &str, message: String) -> Self {
        Self::decode(
            place,
            Error::Decode {
                endpoint: place.to_owned(),
                message,
            },
        )
    }

    /// A body that arrived whole but is not what the API promises. Not retried: the same
    /// bytes would fail the same way.
    #[cold]
    pub fn decode(place: &str, err: Error) -> Self {
        let message = match err {
            Error::Decode { message, .. } => message,
            other => arrow_said_plainly(other.to_string()),
        };
        AttemptError {
            failure: Failure::Permanent,
            error: Error::Decode {
                endpoint: place.to_owned(),
                message,
            },
        }
    }
}

/// What arrow-json says of a list or object where a column's type wants text or a number,
/// after "got " (the rest of its message was the value, re-printed from its tape).
pub const GOT_OBJECT: &str = "got an object (a JSON {...})";
pub const GOT_LIST: &str = "got a list (a JSON [...])";

/// `message` (an arrow-json error) in converz's words: the column it stopped in named as one
/// ([`IN_COLUMN`], a field within it as a field), a value that does not fit its type said so
/// ([`DOES_NOT_FIT`]) rather than "failed to parse", without the "Json error: " prefix (outside
/// trial 24 F2), and a list or object it re-printed after "expected ... got " named instead:
/// arrow-json 59 prints an object's members without the commas between them
/// (`{"a": 1"b": 2}`) and strings unescaped, which read as a broken body (outside trial 23).
fn arrow_said_plainly(message: String) -> String {
    const FIELD: &str = "whilst decoding field '";
    const FAILED: &str = "failed to parse ";
    let mut message = message
        .strip_prefix("Json error: ")
        .map_or_else(|| message.clone(), str::to_owned)
        .replacen(FIELD, IN_COLUMN, 1)
        .replace(FIELD, "in its field '");
    // "failed to parse V as T": V is the value as sent (quoted if text), T a type name.
    if let Some(at) = message.find(FAILED) {
        let rest = &message[at + FAILED.len()..];
        if let Some(cut) = rest.rfind(" as ") {
            let (value, of_type) = (&rest[..cut], &rest[cut + " as ".len()..]);
            message = format!("{}{value}{DOES_NOT_FIT}{of_type}", &message[..at]);
        }
    }
    let Some(at) = message.find(" got {").or_else(|| message.find(" got [")) else {
        return message;
    };
    let said = if message[at..].starts_with(" got {") {
        GOT_OBJECT
    } else {
        GOT_LIST
    };
    format!("{} {said}", &message[..at])
}

/// The Converz HTTP client shared by every request of a `converz.Client`. Clones share one
/// connection pool (and its closed state).
#[derive(Debug, Clone)]
pub struct ApiClient {
    pool: Arc<Pool>,
    base: url::Url,
    config: ClientConfig,
    /// Whether requests ask for gzip (`compression`, and for "auto" the host).
    gzip: bool,
    retry_log: Arc<RetryLog>,
}

/// How long a retry's warning line stays "just said": the same line from another request
/// within it (the other pages in flight, failing in the same round) goes to the debug level.
const REPEAT_WINDOW: Duration = Duration::from_secs(5);

/// The most distinct retry lines remembered at once (attempts × reasons; a line older than
/// [`REPEAT_WINDOW`] is forgotten first).
const REMEMBERED_LINES: usize = 64;

/// The longest a retry line waits for [`RetryLog`]'s lock (held for a map lookup by others).
const LOG_LOCK_WAIT: Duration = Duration::from_millis(50);

/// The retry warnings said lately, so the requests in flight that fail together (a server
/// answering 503 to all of them) log each line once, not once per page (outside trial 22b: a
/// line per page in flight, each attempt). Every line is kept, not only the latest: pages in
/// flight reach their attempts at different times, and lines of different attempts alternate
/// (outside trial 23b: ~300 warnings for one fetch at 64 pages in flight).
#[derive(Debug, Default)]
struct RetryLog {
    said: parking_lot::Mutex<HashMap<String, Instant>>,
}

impl RetryLog {
    /// Whether `line` was said within [`REPEAT_WINDOW`] before `now`; if not, it is said now.
    /// Waits for the lock at most [`LOG_LOCK_WAIT`], then takes the line for a new one: in a
    /// process forked while a thread held it, it is held forever. Not waiting at all made two
    /// pages failing at the same moment on two threads both say their line (a flaky test).
    fn is_repeat(&self, line: &str, now: Instant) -> bool {
        let Some(mut said) = self.said.try_lock_for(LOG_LOCK_WAIT) else {
            return false;
        };
        let recent = |at: &Instant| now.saturating_duration_since(*at) < REPEAT_WINDOW;
        if said.get(line).is_some_and(recent) {
            return true;
        }
        said.retain(|_, at| recent(at));
        if said.len() >= REMEMBERED_LINES {
            return false; // a storm of distinct lines: each is said
        }
        said.insert(line.to_owned(), now);
        false
    }
}

impl ApiClient {
    /// Validates `config` and builds the pooled client. Sends nothing.
    pub fn new(config: ClientConfig) -> Result<Self> {
        config.validate()?;
        let base = super::url::validate_base_url(&config.base_url)?;
        // reqwest is built without a default crypto provider (aws-lc needs cmake); ring is ours.
        // A second install in the same process fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        super::redact::remember_key(&config.api_key);
        let pool = Pool::new(build_http(&config)?);
        let gzip = config
            .compression
            .wants_gzip(super::url::is_loopback(&base));
        Ok(Self {
            pool: Arc::new(pool),
            base,
            config,
            gzip,
            retry_log: Arc::default(),
        })
    }

    /// Drops the connection pool: idle connections close now, requests in flight finish on
    /// their own handle. Every later request fails with [`Error::Closed`].
    pub fn close(&self) {
        self.pool.close();
    }

    /// True once [`ApiClient::close`] was called (on this client or a clone).
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// `text` with this client's key redacted as a server's text is, pieces included: for what
    /// a fetch says of the server's data (a warning naming a column), which the process-wide
    /// redaction (`redact_known_text`) covers for whole keys only (outside trial 41 F3: a
    /// column named the key but one character was shown in a warning).
    pub fn redacted(&self, text: &str) -> String {
        redact(text, &self.config.api_key)
    }

    /// What a fetch hands out, redacted as [`redacted`](Self::redacted) says: its error, or
    /// the table's warnings. The one exit of every fetch that assembles a table (the listing's
    /// and the report's), so an error made from the rows after their request (a bad key
    /// column's values, a repair's sort; outside trial 42 F3: a `call_id` that nearly was the
    /// key was quoted) cannot leave by a path that forgot it.
    pub fn handed_out(&self, fetched: Result<DecodedTable>) -> Result<DecodedTable> {
        let mut table = fetched.map_err(|err| self.redacted_error(err))?;
        table.warnings = self.redacted_warnings(std::mem::take(&mut table.warnings));
        Ok(table)
    }

    /// A fetch's warnings, each [`redacted`](Self::redacted): the eager table's
    /// ([`handed_out`](Self::handed_out)) and a stream's (`Listing::warnings`).
    pub fn redacted_warnings(&self, warnings: Vec<String>) -> Vec<String> {
        warnings
            .iter()
            .map(|warning| self.redacted(warning))
            .collect()
    }

    /// `err` with this client's key redacted from its text, pieces included, as a request's
    /// own errors are.
    pub fn redacted_error(&self, err: Error) -> Error {
        redact_error(err, &self.config.api_key)
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// One attempt: sends the request and returns the response if its status is a success.
    /// The body is as the server sent it: a gzip body (asked for when compression is on) is
    /// the reader's to inflate (`inflate`).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<reqwest::Body>,
    ) -> Result<Response, AttemptError> {
        let endpoint = format!("{method} {path}");
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| AttemptError {
                failure: Failure::Permanent,
                error: Error::invalid("base_url", "cannot be a base URL"),
            })?
            .pop_if_empty()
            .extend(path.trim_start_matches('/').split('/'));
        let pooled = || build_http(&self.config);
        let clients = if RESENDING.try_with(|resending| *resending).unwrap_or(false) {
            self.pool
                .unpooled(&endpoint, pooled, || build_unpooled(&self.config))
        } else {
            self.pool.get(&endpoint, pooled)
        }
        .map_err(|error| AttemptError {
            failure: Failure::Permanent,
            error,
        })?;
        let reading = method == Method::GET;
        let http = if reading {
            &clients.read
        } else {
            &clients.push
        };
        // Only GET answers are large enough to be worth it; a push's answer is a count and a
        // list of the keys it sent, read as is (`push::answer`).
        let asked_gzip = self.gzip && reading;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        check_url_length(&url, query).map_err(|error| AttemptError {
            failure: Failure::Permanent,
            error,
        })?;
        let mut request = http.request(method, url);
        if asked_gzip {
            request = request.header(ACCEPT_ENCODING, "gzip");
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let mut failed = AttemptError::transport(&endpoint, &e);
                if closed_unanswered(&e) {
                    failed.failure = Failure::Unanswered;
                }
                return Err(failed);
            }
        };
        let status = response.status();
        // A read takes only the documented 200 as an answer, as a push does (`push::answer`):
        // a 206 is part of a body and a 204 none, and a non-standard 2xx says nothing of
        // either (outside trial 91 L1: an HTTP 299 was read as a page).
        if status.is_success() && (!reading || status == reqwest::StatusCode::OK) {
            return Ok(response);
        }
        if status.is_success() {
            let message = format!(
                "the server answered HTTP {status}, not the documented 200 with a JSON array \
                 of rows, so what it sent is not known to be the whole page; nothing of it \
                 was kept"
            );
            return Err(AttemptError::refused(&endpoint, message));
        }
        Err(status_error(&endpoint, response, &self.config.api_key).await)
    }

    /// Runs `attempt` until it succeeds, fails permanently, or retries run out.
    pub async fn with_retries<T, F, Fut>(
        &self,
        endpoint: &str,
        progress: Option<&Progress>,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AttemptError>>,
    {
        let retry = &self.config.retry;
        let mut tries = 0u32;
        // Whether this attempt's request was already sent again after going unanswered.
        let mut resent = false;
        // Requests sent again so, which no attempt counted: the errors count every request
        // sent (outside trial 66 F3: two POSTs, "after 1 attempt").
        let mut resends = 0u32;
        loop {
            tries = tries.saturating_add(1);
            let sent = match resent {
                // The resend goes out on a new connection (`send`, `Pool::unpooled`).
                true => RESENDING.scope(true, attempt()).await,
                false => attempt().await,
            };
            let mut failed = match sent {
                Ok(value) => return Ok(value),
                Err(failed) => failed,
            };
            if failed.failure == Failure::Unanswered {
                if !resent {
                    // The connection ended before an answer's head: a kept-alive one the
                    // server had closed as the request went out on it (without saying
                    // `Connection: close`). The request goes again at once on a new connection,
                    // and that costs no attempt (outside trial 46 F3: 16 of 150
                    // one-page fetches failed with retries=0). Once: a server that closes
                    // every request unanswered fails like any transport error.
                    resent = true;
                    tries -= 1;
                    resends += 1;
                    log::debug!(target: "converz",
                        "{endpoint}: the server closed the connection before answering; sent again");
                    continue;
                }
                failed.failure = Failure::Transport;
            }
            resent = false;
            // Every failure passes here before it is logged or returned: a decoder's excerpt
            // of the body or a transport error may quote what the server sent, key included.
            failed.error = redact_error(failed.error, &self.config.api_key);
            said_which_limit(&mut failed.error, self.config.request_timeout);
            if !failed.failure.is_retryable() || tries > retry.max_retries {
                return Err(final_error(
                    failed,
                    endpoint,
                    tries + resends,
                    self.config.max_concurrency,
                    None,
                ));
            }
            // Never idle longer between attempts than one attempt may take: a caller who set a
            // 1 s timeout does not want a 30 s pause (whatever the server's Retry-After says).
            let per_wait = retry.max_backoff.min(self.config.request_timeout);
            // A server that asks for more time than every retry left could wait will refuse
            // each of them: fail now, saying when it can serve (outside trial 18, F1).
            let too_long = match &failed.failure {
                Failure::RateLimited(hint) | Failure::Server(hint) => {
                    hint.too_long(retry.max_retries + 1 - tries, per_wait)
                }
                Failure::Transport | Failure::Unanswered | Failure::Permanent => None,
            };
            if let Some(why) = too_long {
                return Err(final_error(
                    failed,
                    endpoint,
                    tries + resends,
                    self.config.max_concurrency,
                    Some(why),
                ));
            }
            let wait = backoff(retry, tries, &failed.failure).min(self.config.request_timeout);
            // What the server said about waiting, when it said anything: an invalid hint is
            // named as such (it is ignored, and the wait shows it).
            let said = match &failed.failure {
                Failure::RateLimited(hint) | Failure::Server(hint)
                    if *hint != RetryAfter::Absent =>
                {
                    format!("; {hint}")
                }
                _ => String::new(),
            };
            let line = format!(
                "{endpoint}: attempt {} failed ({}{said})",
                tries + resends,
                crate::printable::printable(&attempt_said(&failed.error)),
            );
            let level = if self.retry_log.is_repeat(&line, Instant::now()) {
                log::Level::Debug
            } else {
                log::Level::Warn
            };
            log::log!(target: "converz", level,
                "{line}; retrying in {:.2} s", wait.as_secs_f64());
            if let Some(progress) = progress {
                progress.add_retry();
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// The longest request URL sent, in bytes. The HTTP stack cannot send one past 64 KiB at all
/// (hyper: "Parsed Url is not a valid Uri"), which was retried as a transport error, with
/// network advice, 9 times a page (outside trial 18, F10); a little under that, so the check
/// is ours and its error says which filter to split.
pub const URL_LIMIT: usize = 60 * 1024;

/// How the reason of a URL too long begins; the Python layer gives it its hint.
pub const URL_TOO_LONG: &str = "a request URL of";

/// Refuses, before anything is sent, a URL longer than [`URL_LIMIT`], naming the query
/// parameter that takes the most room (a long list filter) and how many of its values fit.
fn check_url_length(url: &url::Url, query: &[(String, String)]) -> Result<()> {
    let length = url.as_str().len();
    if length <= URL_LIMIT {
        return Ok(());
    }
    // Per parameter: its bytes in the URL (as encoded) and its values (repeated keys, or a
    // comma-joined list).
    let mut sizes: Vec<(&str, usize, usize)> = Vec::new();
    for (name, value) in query {
        let bytes = name.len()
            + 2
            + url::form_urlencoded::byte_serialize(value.as_bytes())
                .map(str::len)
                .sum::<usize>();
        let values = value.split(',').count();
        match sizes.iter_mut().find(|(n, _, _)| n == name) {
            Some(entry) => {
                entry.1 += bytes;
                entry.2 += values;
            }
            None => sizes.push((name, bytes, values)),
        }
    }
    let Some(&(name, bytes, values)) = sizes.iter().max_by_key(|(_, bytes, _)| *bytes) else {
        return Err(Error::invalid(
            "base_url",
            format!("{URL_TOO_LONG} {length} bytes, over the {URL_LIMIT} the client sends"),
        ));
    };
    let room = URL_LIMIT.saturating_sub(length - bytes);
    let fit = values * room / bytes.max(1);
    // A list is told how to split; a value that does not fit alone cannot be split (outside
    // trial 91 L2: one value was told to go "about 1 values at a time").
    let way_out = if values > 1 && fit >= 1 {
        format!(
            "Split the list: fetch about {fit} values at a time and concatenate the results (in \
             Python: client.calls(query.replace({name}=chunk)) per chunk), or fetch without \
             this filter and filter the rows yourself"
        )
    } else {
        "Fetch without this filter and filter the rows yourself".to_owned()
    };
    let (counted, give) = match values {
        1 => ("value".to_owned(), "gives"),
        _ => (format!("{values} values"), "give"),
    };
    Err(Error::invalid(
        name,
        format!(
            "its {counted} {give} {URL_TOO_LONG} {length} bytes, over the {URL_LIMIT} the client \
             can send; nothing was sent. {way_out}"
        ),
    ))
}

/// Turns a non-success response into an [`AttemptError`], reading the API's `{error, code}`
/// with `key` redacted from it (inflated first if it came gzipped).
async fn status_error(endpoint: &str, mut response: Response, key: &str) -> AttemptError {
    let status = response.status();
    let redirect = status.is_redirection() && response.headers().contains_key("location");
    // Where it points, when that is this origin: only a push, whose client follows no redirect
    // (`pool::Clients`), makes a same-origin redirect end here.
    let location = (response.headers().get("location")).and_then(|l| l.to_str().ok());
    let target = location.and_then(|l| response.url().join(l).ok());
    // What is shown of it comes from the Location with the key redacted before it is parsed:
    // parsing writes `\` as `/` and `"` as `%22`, spellings of the key no redaction then
    // finds (outside trial 41 F4).
    let shown = location.and_then(|l| response.url().join(&redact(l, key)).ok());
    let same_origin_path = (target.as_ref())
        .filter(|to| to.origin() == response.url().origin())
        .map(|_| shown.as_ref().map_or("(not shown)", |to| to.path()))
        .map(|path| shown_location(path, key));
    // Another host's address, named so the hint "set base_url to the address the redirect
    // names" can be followed (outside trial 17: it was never named).
    let other_host = shown.as_ref().map(|to| {
        let port = to.port().map(|p| format!(":{p}")).unwrap_or_default();
        let host = to.host_str().unwrap_or_default();
        shown_location(&format!("{}://{host}{port}{}", to.scheme(), to.path()), key)
    });
    let status = status.as_u16();
    // Raw bytes: a value that is not visible ASCII is an invalid hint to report, not none.
    let retry_after = RetryAfter::from_header(
        response
            .headers()
            .get("retry-after")
            .map(reqwest::header::HeaderValue::as_bytes),
        key,
    );
    let gzip = coding(response.headers()) == Ok(Coding::Gzip);
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= ERROR_BODY_LIMIT {
            break;
        }
    }
    // What went wrong reading the body itself, said after the server's text (outside trial
    // 18, F9: a JSON body mislabelled gzip showed an empty message, a cut one no word of it).
    let mut body_note = "";
    if gzip {
        // Only quoted: as much text as the bytes read inflate to, within the same bound.
        let (inflated, whole) = gunzip_prefix(&body, ERROR_BODY_LIMIT);
        if inflated.is_empty() && !body.is_empty() && !body.starts_with(&[0x1f, 0x8b]) {
            // Not gzip at all: shown as sent (bounded and escaped like any error body).
            body_note = " (the error body was labelled Content-Encoding: gzip but is not gzip; \
                         shown as sent)";
        } else {
            if !whole && body.len() < ERROR_BODY_LIMIT {
                body_note = " (the gzip error body was cut off or corrupt; shown as far as it \
                             inflated)";
            }
            body = inflated;
        }
    }
    let (code, message) = if redirect {
        let message = match same_origin_path {
            Some(path) => format!(
                "redirect to {path} not followed: a push's body is sent once, not again to a \
                 new address; set base_url to the address the API redirects to"
            ),
            // A redirect to another origin is never followed (see `same_origin_redirects`).
            None => match other_host {
                Some(to) => format!(
                    "redirect to another host ({to}) not followed, so the API key is not sent \
                     there"
                ),
                None => "redirect to another host (its Location is not a valid URL) not \
                         followed, so the API key is not sent there"
                    .to_owned(),
            },
        };
        ("redirect".to_owned(), message)
    } else if !(400..600).contains(&status) {
        (
            UNEXPECTED_STATUS.to_owned(),
            format!(
                "unexpected HTTP status {status}{}: the API answers 2xx, 4xx or 5xx",
                if (300..400).contains(&status) {
                    " without a redirect location"
                } else {
                    ""
                }
            ),
        )
    } else {
        let (code, message) = parse_error_body(&body, key);
        (code, format!("{message}{body_note}"))
    };
    AttemptError {
        failure: Failure::from_status(status, retry_after),
        error: Error::Http {
            status,
            endpoint: endpoint.to_owned(),
            code,
            message,
            retry_after: None,
        },
    }
}

/// Reads `{"error": "...", "code": "..."}` (a `message` or `detail` text stands in for a
/// missing `error`, a numeric code is taken as text); JSON of another shape gives code
/// `"unknown"` and the JSON itself, anything else (an HTML error page) a short plain-text
/// excerpt. `key` is redacted before anything is cut, so no piece of it survives at a cut
/// either.
pub fn parse_error_body(body: &[u8], key: &str) -> (String, String) {
    let parsed = serde_json::from_slice::<serde_json::Value>(body);
    if let Ok(serde_json::Value::Object(fields)) = &parsed {
        let text = |name: &str| match fields.get(name) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        // `{"error": {"message": "...", "code": "..."}}` (another common shape): its text and
        // code (outside trial 18, F9: the object was dropped and the message left empty).
        let nested = |name: &str| match fields.get("error") {
            Some(serde_json::Value::Object(inner)) => match inner.get(name) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            _ => None,
        };
        let code = text("code")
            .or_else(|| nested("code"))
            .filter(|code| !code.trim().is_empty());
        // An empty text is none (`{"error": ""}` read "answered HTTP 400 (unknown): ").
        let message = text("error")
            .or_else(|| nested("message"))
            .or_else(|| text("message"))
            .or_else(|| text("detail"))
            .filter(|message| !message.trim().is_empty());
        if code.is_some() || message.is_some() {
            // Escaped here, newlines too: the message goes into a multi-line error text, where
            // a server's `\n  hint: ...` would read as converz's own line (outside trial 17).
            let shown = |text: &str, limit| bounded_printable(&redact(text, key), limit);
            // A code without a text we know (`{"error": {"msg": ...}, "code": 5}`): the body
            // as sent, so the server's words are not dropped (outside trial 26 F5).
            let message = message.unwrap_or_else(|| match fields.len() {
                1 => String::new(),
                _ => format!(
                    "error body: {}",
                    bounded(&serde_json::Value::Object(fields.clone()).to_string(), 200)
                ),
            });
            return (
                shown(&code.unwrap_or_else(|| "unknown".into()), 100),
                shown(&message, ERROR_MESSAGE_LIMIT),
            );
        }
    }
    if let Ok(json) = parsed {
        let json = redact(&json.to_string(), key);
        let what = "error body in an unexpected JSON shape (no `error` or `code` text)";
        return ("unknown".into(), format!("{what}: {}", bounded(&json, 200)));
    }
    // Redacted before markup is read for its text as well as after: a key holding `<` or `>`
    // lost them with the tags, and what was left of it was no longer the key (outside trial
    // 42 F1: `abcdefgh>ijklmnopqrst>uvwx` showed as `*** ijklmnopqrst uvwx`).
    let text = redact(&String::from_utf8_lossy(body), key);
    // Markup is read for its text; plain text is the server's words as sent (outside trial 26b
    // F4: "n_per_page must be < 1000 and > 0" lost what was between its < and >, and read
    // "n_per_page must be 0").
    // A page has closing tags; "<none> is not a valid campaign" has none (outside trial 26c F4).
    let words = if text.trim_start().starts_with('<') && text.contains("</") {
        title_said_once(text_runs(&text), &text).join(" ")
    } else {
        collapsed(&text)
    };
    let plain = redact(&words, key);
    // Only the first ERROR_BODY_LIMIT bytes were read: a JSON body longer than that cannot
    // parse, and calling it "non-JSON" would send the reader the wrong way.
    let what = if body.len() >= ERROR_BODY_LIMIT {
        "error body too large to read whole (over 16 KiB), it begins"
    } else if plain.trim().is_empty() {
        // Nothing to quote after a colon (outside trial 26 F5: "non-JSON error body: ").
        let which = if body.trim_ascii().is_empty() {
            "an empty body"
        } else {
            "a body of markup only"
        };
        return ("unknown".into(), format!("no error text ({which})"));
    } else {
        "non-JSON error body"
    };
    (
        "unknown".into(),
        format!("{what}: {}", bounded_printable(&plain, 200)),
    )
}

/// The text of a body outside `<...>` tags, one entry per run between tags, each with its
/// whitespace collapsed; runs with no text are left out.
fn text_runs(html: &str) -> Vec<String> {
    let mut runs = vec![String::new()];
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' | '>' => {
                in_tag = c == '<';
                runs.push(String::new());
            }
            _ if !in_tag => runs.last_mut().expect("never empty").push(c),
            _ => {}
        }
    }
    runs.iter()
        .map(|run| collapsed(run))
        .filter(|run| !run.is_empty())
        .collect()
}

fn collapsed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An HTML page's text runs with its `<title>` said once: error pages repeat it as their
/// heading (nginx: `<title>503 Service Unavailable</title>`, then an `<h1>` with the same
/// text), and each retry line read "503 Service Unavailable 503 Service Unavailable nginx"
/// (outside trial 23d). The title's own run stays; any other run that is the title, or words
/// of it in order (`<h1>Bad Gateway</h1>` under "502 Bad Gateway"), says nothing more: it goes.
fn title_said_once(runs: Vec<String>, html: &str) -> Vec<String> {
    let Some(title) = html_title(html).map(collapsed) else {
        return runs;
    };
    let Some(own) = runs.iter().position(|run| *run == title) else {
        return runs;
    };
    let title_words: Vec<&str> = title.split(' ').collect();
    let in_title = |run: &str| {
        let words: Vec<&str> = run.split(' ').collect();
        title_words
            .windows(words.len())
            .any(|part| part == words.as_slice())
    };
    runs.into_iter()
        .enumerate()
        .filter(|(at, run)| *at == own || !in_title(run))
        .map(|(_, run)| run)
        .collect()
}

/// The text inside the page's first `<title>...</title>` (any case), if it has one.
fn html_title(html: &str) -> Option<&str> {
    // ASCII lowercasing keeps every byte where it was, so offsets in it are offsets in `html`.
    let lower = html.to_ascii_lowercase();
    let tag = lower.find("<title")?;
    let start = tag + lower[tag..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    Some(&html[start..end])
}

/// At most `limit` characters of `text`, with an ellipsis when cut.
pub(crate) fn bounded(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Characters of a redirect's target quoted in a message.
const LOCATION_LIMIT: usize = 200;

/// A redirect target (scheme, host, port and path only: no userinfo, no query, no fragment)
/// for a message: `key` redacted before it is escaped and cut, so no piece of it survives.
fn shown_location(text: &str, key: &str) -> String {
    bounded_printable(&redact(text, key), LOCATION_LIMIT)
}

/// A timed-out attempt's error with the limit that ran out: "timed out: operation timed out"
/// said neither which limit nor how long (outside trial 97 L3).
fn said_which_limit(error: &mut Error, timeout: std::time::Duration) {
    if let Error::Transport { message, .. } = error {
        if message.starts_with("timed out") {
            message.push_str(&format!(
                " (timeout={} s, the most one attempt takes: connecting, the answer and its \
                 whole body)",
                timeout.as_secs_f64()
            ));
        }
    }
}

/// What one failed attempt's log line says of its error: a transport error without the
/// "after 1 attempts" its final form has (outside trial 18: each retry line read "attempt 3
/// failed (transport error on GET /calls after 1 attempts: ...)").
fn attempt_said(error: &Error) -> String {
    match error {
        Error::Transport { message, .. } => format!("transport error: {message}"),
        other => other.to_string(),
    }
}

/// The error after the last attempt, with the attempt count filled in. A transient 5xx says,
/// as a 429 does, how many attempts were made and what the server said about waiting, and
/// carries the server's wait. `not_retried` says why a wait the server asked for was not
/// waited (too long for the retries left).
fn final_error(
    failed: AttemptError,
    endpoint: &str,
    attempts: u32,
    max_concurrency: usize,
    not_retried: Option<String>,
) -> Error {
    let not_retried = not_retried
        .map(|why| format!("; {why}"))
        .unwrap_or_default();
    match (failed.failure, failed.error) {
        (
            Failure::Server(retry_after),
            Error::Http {
                status,
                endpoint: place,
                code,
                message,
                ..
            },
        ) => Error::Http {
            status,
            endpoint: place,
            code,
            message: format!(
                "{message} (after {attempts} attempt{}; {retry_after}{not_retried})",
                if attempts == 1 { "" } else { "s" }
            ),
            retry_after: retry_after.seconds().map(Box::new),
        },
        (Failure::RateLimited(retry_after), Error::Http { .. }) => Error::RateLimited {
            endpoint: endpoint.to_owned(),
            attempts,
            retry_after,
            max_concurrency,
            not_retried,
        },
        (_, Error::Transport { message, .. }) => Error::Transport {
            endpoint: endpoint.to_owned(),
            attempts,
            message,
        },
        (_, other) => other,
    }
}

/// A reqwest error as text without its URL, with the cause chain (the key is never in either:
/// it travels in a header, and reqwest does not print headers).
pub fn describe_reqwest_error(err: &reqwest::Error) -> String {
    let kind = if head_too_large(err) {
        HEAD_TOO_LARGE
    } else if not_http(err) {
        NOT_HTTP
    } else if certificate_refused(err) {
        CERTIFICATE_REFUSED
    } else if not_tls(err) {
        NOT_TLS
    } else if err.is_redirect() {
        // Its cause is the policy's own "too many redirects": said better here.
        return REDIRECT_LOOP.to_owned();
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        COULD_NOT_CONNECT
    } else if err.is_body() || err.is_decode() {
        BODY_UNREADABLE
    } else {
        "request failed"
    };
    let mut message = kind.to_owned();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// How the message of a connection whose TLS certificate the client refused begins; the
/// Python layer gives it its own hint: no retry nor timeout can help (outside trial 18, F19:
/// it was retried, with "check the network; raise timeout=").
pub const CERTIFICATE_REFUSED: &str = "the server's TLS certificate was refused";

/// How the message of an https:// connection to a server that answered in plain HTTP (or
/// anything but TLS) begins; the Python layer gives it its own hint (outside trial 19: it was
/// retried, with "raise timeout= for slow links").
pub const NOT_TLS: &str = "the server did not answer in TLS (is it an http:// server?)";

/// Whether rustls refused the server's certificate (not valid for the host, untrusted,
/// expired, ...), somewhere in `err`'s cause chain.
fn certificate_refused(err: &reqwest::Error) -> bool {
    rustls_error(err, |error| {
        matches!(
            error,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        )
    })
}

/// Whether the TLS handshake read something that is not TLS (a plain-HTTP answer reads as a
/// record of an invalid content type), somewhere in `err`'s cause chain.
fn not_tls(err: &reqwest::Error) -> bool {
    rustls_error(err, |error| {
        matches!(
            error,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
        )
    })
}

/// Whether a rustls error in `err`'s cause chain is one `is`. An `io::Error` hides its inner
/// error from `source()`, so it is looked into as well.
fn rustls_error(err: &reqwest::Error, is: impl Fn(&rustls::Error) -> bool) -> bool {
    any_cause(err, |cause| {
        // Through every `io::Error` layer (tokio-rustls wraps rustls' error in one or more).
        let mut inner: Option<&(dyn std::error::Error + 'static)> = Some(cause);
        while let Some(error) = inner {
            if error.downcast_ref::<rustls::Error>().is_some_and(&is) {
                return true;
            }
            inner = (error.downcast_ref::<std::io::Error>())
                .and_then(std::io::Error::get_ref)
                .map(|e| e as &(dyn std::error::Error + 'static));
        }
        false
    })
}

/// Whether any error in `err`'s cause chain (its sources, not `err` itself) is one `is`.
fn any_cause(
    err: &reqwest::Error,
    is: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if is(cause) {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Whether hyper refused the response's head as too large (HTTP/1.1: over its ~400 KiB read
/// buffer or over 100 header lines), somewhere in `err`'s cause chain.
fn head_too_large(err: &reqwest::Error) -> bool {
    hyper_error(err, hyper::Error::is_parse_too_large)
}

/// Whether hyper could not parse the response (its head, or the chunked framing of its body),
/// somewhere in `err`'s cause chain; a head too large is [`head_too_large`].
fn not_http(err: &reqwest::Error) -> bool {
    hyper_error(err, |error| {
        (error.is_parse() || error.is_parse_status()) && !error.is_parse_too_large()
    }) || bad_chunk_framing(err)
}

/// Whether hyper refused a chunked body's framing (a chunk size that is not hex or overflows,
/// a chunk longer than its size line): an `io::Error` of kind `InvalidData` or `InvalidInput`
/// whose words name a chunk or trailer (hyper 1's, pinned by Cargo.lock). A body cut short is
/// `UnexpectedEof` instead, and stays a retried transport failure (outside trial 26b F3:
/// framing errors were retried with the network hint).
fn bad_chunk_framing(err: &reqwest::Error) -> bool {
    any_cause(err, |cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            let words = io.to_string();
            matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
            ) && (words.contains("chunk") || words.contains("trailer"))
        })
    })
}

/// Whether an established connection ended before the answer's head came back (asked of a
/// request's send, not of its body's reading): closed (hyper's "connection closed before
/// message completed") or reset (the server closed it with our request unread), as a server
/// that closes idle connections does to the request that reuses one. A connection that could
/// not be made is not one.
fn closed_unanswered(err: &reqwest::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    !err.is_connect()
        && !err.is_timeout()
        && (hyper_error(err, hyper::Error::is_incomplete_message)
            || any_cause(err, |cause| {
                cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
                    matches!(io.kind(), ConnectionReset | BrokenPipe | ConnectionAborted)
                })
            }))
}

/// Whether a hyper error in `err`'s cause chain is one `is`.
fn hyper_error(err: &reqwest::Error, is: impl Fn(&hyper::Error) -> bool) -> bool {
    any_cause(err, |cause| {
        cause.downcast_ref::<hyper::Error>().is_some_and(&is)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outside trial 26 F5: a code beside an error object of another shape dropped the server's
    /// words, and an empty body read "non-JSON error body: " with nothing after it.
    #[test]
    fn an_error_body_of_another_shape_or_none_is_said() {
        let (code, message) =
            parse_error_body(br#"{"error":{"msg":"quota spent"},"code":5}"#, "k3y");
        assert_eq!(code, "5");
        assert!(message.contains("quota spent"), "{message}");
        let (_, message) = parse_error_body(br#"{"code":"x"}"#, "k3y");
        assert_eq!(message, "");
        // Trial 26b F4: plain text keeps what stands between its < and >; an empty text is none.
        let (_, message) = parse_error_body(b"n_per_page must be < 1000 and > 0", "k3y");
        assert_eq!(
            message,
            "non-JSON error body: n_per_page must be < 1000 and > 0"
        );
        // Trial 26c F4: a text starting with "<" but with no closing tag is text.
        let (_, message) = parse_error_body(b"<none> is not a valid campaign", "k3y");
        assert_eq!(
            message,
            "non-JSON error body: <none> is not a valid campaign"
        );
        let (code, _) = parse_error_body(br#"{"code":"","error":"x"}"#, "k3y");
        assert_eq!(code, "unknown");
        let (_, message) = parse_error_body(br#"{"error":""}"#, "k3y");
        assert!(message.contains(r#"{"error":""}"#), "{message}");
        for (body, says) in [
            (&b""[..], "an empty body"),
            (b" \r\n", "an empty body"),
            (b"<p></p>", "markup"),
        ] {
            let (code, message) = parse_error_body(body, "k3y");
            assert_eq!(code, "unknown");
            assert!(
                message.starts_with("no error text (") && message.contains(says),
                "{message}"
            );
        }
    }

    #[test]
    fn parses_api_error_bodies() {
        let (code, message) = parse_error_body(
            br#"{"error":"n_per_page must be >= 1","code":"invalid_parameter"}"#,
            "k3y",
        );
        assert_eq!(code, "invalid_parameter");
        assert_eq!(message, "n_per_page must be >= 1");
    }

    /// Outside trial 17: a newline in the server's text let it forge a `hint:` line in the
    /// error; every character a terminal acts on is escaped, the key redacted first.
    #[test]
    fn a_servers_error_text_cannot_add_lines() {
        let (code, message) = parse_error_body(
            br#"{"error":"bad\n  hint: export k3y\r\u001b[2J","code":"x\ny"}"#,
            "k3y",
        );
        assert!(!message.contains(['\n', '\r', '\u{1b}']), "{message:?}");
        assert_eq!(message, r"bad\n  hint: export ***\r\x1b[2J");
        assert_eq!(code, r"x\ny");
    }

    #[test]
    fn html_bodies_become_short_plain_text() {
        let html = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
        let (code, message) = parse_error_body(html, "k3y");
        assert_eq!(code, "unknown");
        assert!(message.contains("502 Bad Gateway"), "{message}");
        assert!(!message.contains('<'), "{message}");
    }

    /// Outside trial 23d: an nginx 503 page's title and heading, flattened into one line, said
    /// "503 Service Unavailable 503 Service Unavailable nginx" in every retry line.
    #[test]
    fn an_html_page_says_its_title_once() {
        let said = |page: &str| parse_error_body(page.as_bytes(), "k3y").1;
        let nginx = "<html><head><title>503 Service Unavailable</title></head><body>\r\n\
                     <center><h1>503  Service\nUnavailable</h1></center><hr><center>nginx\
                     </center></body></html>";
        assert_eq!(
            said(nginx),
            "non-JSON error body: 503 Service Unavailable nginx"
        );
        // A heading that is part of the title says nothing more either.
        assert_eq!(
            said("<title>502 Bad Gateway</title><h1>Bad Gateway</h1><p>try later</p>"),
            "non-JSON error body: 502 Bad Gateway try later"
        );
        // Text that adds to the title is kept, the title's words in it too.
        assert_eq!(
            said("<TITLE>Oops</TITLE><h1>Oops!</h1><p>Oops, Bad Gateway</p>"),
            "non-JSON error body: Oops Oops! Oops, Bad Gateway"
        );
        assert_eq!(
            said("<title>Error</title><p>Error 503: the backend is down</p>"),
            "non-JSON error body: Error Error 503: the backend is down"
        );
        // No title, an empty one, or one never closed: every run, as sent.
        assert_eq!(said("<h1>a</h1><p>a</p>"), "non-JSON error body: a a");
        assert_eq!(said("<title></title><p>a</p>"), "non-JSON error body: a");
        assert_eq!(said("<title>x<p>x</p>"), "non-JSON error body: x x");
        // Printable: a control character in the page is escaped, not sent to the terminal.
        assert_eq!(
            said("<title>t</title><p>\u{1b}[2J</p>"),
            r"non-JSON error body: t \x1b[2J"
        );
    }

    /// JSON of another shape is reported as JSON (it was "non-JSON"), and the usual other
    /// spellings of an error's text and code are read.
    #[test]
    fn error_bodies_of_other_json_shapes_say_so() {
        let read = |body: &str| parse_error_body(body.as_bytes(), "k3y");
        let (code, message) = read(r#"{"message":"slow down","code":429}"#);
        assert_eq!((code.as_str(), message.as_str()), ("429", "slow down"));
        assert_eq!(read(r#"{"detail":"nope"}"#).1, "nope");
        for body in [r#"["boom"]"#, r#"{"error":{"k3y":1}}"#, "42", "null"] {
            let (code, message) = read(body);
            assert_eq!(code, "unknown", "{body}");
            assert!(
                message.starts_with("error body in an unexpected JSON shape"),
                "{message}"
            );
            assert!(
                !message.contains("non-JSON") && !message.contains("k3y"),
                "{message}"
            );
        }
        assert!(read("<html>oops</html>")
            .1
            .starts_with("non-JSON error body"));
    }

    /// Outside trial 18 (F9): `{"error": {"message": ...}}` lost its message.
    #[test]
    fn an_error_object_gives_its_message_and_code() {
        let (code, message) = parse_error_body(
            br#"{"error":{"message":"n_per_page too large","field":"n_per_page"},"code":"invalid_parameter"}"#,
            "k3y",
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("invalid_parameter", "n_per_page too large")
        );
        let (code, message) =
            parse_error_body(br#"{"error":{"message":"no k3y","code":"quota"}}"#, "k3y");
        assert_eq!((code.as_str(), message.as_str()), ("quota", "no ***"));
    }

    #[test]
    fn long_error_texts_are_bounded() {
        let long = format!(r#"{{"error":"{}","code":"boom"}}"#, "é".repeat(5_000));
        let (code, message) = parse_error_body(long.as_bytes(), "k3y");
        assert_eq!(code, "boom");
        assert_eq!(message.chars().count(), ERROR_MESSAGE_LIMIT + 1);
        assert_eq!(bounded("short", 10), "short");
    }

    #[tokio::test]
    async fn a_closed_client_sends_nothing_and_says_so() {
        let config = ClientConfig::new("http://127.0.0.1:1/api/v1", "k");
        let client = ApiClient::new(config).unwrap();
        let clone = client.clone();
        client.close();
        client.close();
        assert!(clone.is_closed());
        let err = clone
            .send(Method::GET, "/reps", &[], None)
            .await
            .unwrap_err();
        assert_eq!(err.failure, Failure::Permanent);
        assert!(matches!(err.error, Error::Closed { .. }), "{:?}", err.error);
    }

    #[test]
    fn debug_of_the_client_does_not_print_the_key() {
        let config = ClientConfig::new("http://127.0.0.1:1/api/v1", "sekret-key-123");
        let client = ApiClient::new(config).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("sekret-key-123"));
    }

    /// Serves every connection one 200 whose head carries a header of `header_bytes`; returns
    /// the base URL and the count of requests answered.
    async fn serve_big_header(
        header_bytes: usize,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v1", listener.local_addr().unwrap());
        let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&answered);
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut head = [0u8; 4096];
                let _ = conn.read(&mut head).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]",
                    "a".repeat(header_bytes)
                );
                let _ = conn.write_all(response.as_bytes()).await;
            }
        });
        (url, answered)
    }

    #[test]
    fn a_nested_value_arrow_json_reprinted_is_named_instead() {
        let object =
            "Json error: whilst decoding field 's': expected string got {\"a\": 1\"b\": 2}";
        assert_eq!(
            arrow_said_plainly(object.to_owned()),
            format!("in column 's': expected string {GOT_OBJECT}")
        );
        let list = "whilst decoding field 'l': expected primitive got [1, 2]";
        assert!(arrow_said_plainly(list.to_owned()).ends_with(GOT_LIST));
    }

    /// arrow-json's words for a value its column's type cannot hold are said as converz's
    /// (outside trial 24 F2), which the Python layer's hints key on.
    #[test]
    fn a_value_that_does_not_fit_is_said_in_our_words() {
        let cases = [
            (
                "Json error: whilst decoding field 'x': failed to parse \"abc\" as Int64",
                "in column 'x': \"abc\" does not fit Int64",
            ),
            (
                "Json error: whilst decoding field 'd': failed to parse \"a as b\" as Date32",
                "in column 'd': \"a as b\" does not fit Date32",
            ),
            (
                "Json error: whilst decoding field 's': whilst decoding field 'n': failed to \
                 parse 331 as Int8",
                "in column 's': in its field 'n': 331 does not fit Int8",
            ),
            ("Json error: something else", "something else"),
        ];
        for (arrow, ours) in cases {
            assert_eq!(arrow_said_plainly(arrow.to_owned()), ours);
        }
    }

    #[test]
    fn a_retry_line_said_again_soon_is_a_repeat_and_another_is_not() {
        let log = RetryLog::default();
        let now = Instant::now();
        let (first, second) = (
            "GET /calls: attempt 1 failed (HTTP 503)",
            "GET /calls: attempt 2 failed (HTTP 503)",
        );
        assert!(!log.is_repeat(first, now));
        assert!(log.is_repeat(first, now + Duration::from_millis(10)));
        // Another attempt's line is news; lines alternating after that are not.
        assert!(!log.is_repeat(second, now));
        assert!(log.is_repeat(first, now + Duration::from_millis(20)));
        assert!(log.is_repeat(second, now + Duration::from_millis(30)));
        // A line said longer ago than the window is news again.
        assert!(!log.is_repeat(first, now + REPEAT_WINDOW));
        // A storm of distinct lines is said line by line, the memory bounded.
        for k in 0..2 * REMEMBERED_LINES {
            assert!(!log.is_repeat(&format!("line {k}"), now + REPEAT_WINDOW));
        }
        assert!(log.said.lock().len() <= REMEMBERED_LINES);
        // Held for good (a process forked while another thread held it): said after a
        // short wait, not waited for forever.
        let _held = log.said.lock();
        assert!(!log.is_repeat(first, now + REPEAT_WINDOW));
    }

    /// Pages in flight failing at the same moment on several threads: the line is said once
    /// (a lock found busy had made each of them say it; a flaky test in a combined run).
    #[test]
    fn a_line_said_at_once_on_many_threads_is_said_once() {
        for _ in 0..50 {
            let log = RetryLog::default();
            let start = std::sync::Barrier::new(8);
            let now = Instant::now();
            let said = std::thread::scope(|scope| {
                let threads: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            !log.is_repeat("GET /calls: attempt 1 failed (HTTP 503)", now)
                        })
                    })
                    .collect();
                threads
                    .into_iter()
                    .map(|thread| thread.join().unwrap())
                    .filter(|&said| said)
                    .count()
            });
            assert_eq!(said, 1);
        }
    }

    /// A response head over hyper's limit (outside trial 17: "raise timeout=", and retried):
    /// said as such, not retried, the key nowhere. One of 100 KB is under the limit and read.
    #[tokio::test]
    async fn a_response_head_too_large_is_said_and_not_retried() {
        use std::sync::atomic::Ordering;
        let (url, answered) = serve_big_header(1_000_000).await;
        let mut config = ClientConfig::new(&url, "sekret-key-123");
        config.retry.initial_backoff = std::time::Duration::from_millis(1);
        let client = ApiClient::new(config).unwrap();
        let err = client
            .with_retries("GET /reps", None, || {
                client.send(Method::GET, "/reps", &[], None)
            })
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, Error::Transport { attempts: 1, .. }),
            "{err:?}"
        );
        assert!(message.contains(HEAD_TOO_LARGE), "{message}");
        assert!(
            !message.contains("timed out") && !message.contains("sekret"),
            "{message}"
        );
        assert_eq!(answered.load(Ordering::SeqCst), 1);

        let (url, _) = serve_big_header(100_000).await;
        let client = ApiClient::new(ClientConfig::new(&url, "k")).unwrap();
        let response = client.send(Method::GET, "/reps", &[], None).await;
        assert!(response.is_ok(), "{:?}", response.err());
    }
}
