//! When to retry and how long to wait: exponential backoff with full jitter, and a server's
//! `Retry-After` honoured (capped). Kept by hand rather than as reqwest middleware because a page
//! is retried as a whole *including its streamed body*: a connection dropped mid-body restarts
//! the page's decoder, which a request-level middleware cannot see.

use std::fmt;
use std::time::Duration;

use crate::config::RetryConfig;

/// The longest `Retry-After` retried at all, in seconds (one day). A wait as long or longer, or
/// one longer than the retries left could wait in all, fails at once ([`RetryAfter::too_long`]):
/// the server said when it can serve, and asking every 30 s until then only earns refusals
/// (outside trial 18: a 2099 date meant 4 minutes of 33 refused requests). The server's value
/// is kept as sent, not clamped, so `retry_after` and the message say what the server said.
pub const MAX_RETRY_AFTER: f64 = 86_400.0;

/// Characters of an invalid `Retry-After` quoted in a message: enough to recognise it, short
/// enough that a hostile 8 KiB header does not flood the log.
const SHOWN_LIMIT: usize = 40;

/// A response's `Retry-After` header, as a wait and as words for a message. An invalid one is
/// kept apart from an absent one (it was "no Retry-After", outside trial 17): a server that
/// sends `-5` has a bug its operator should hear about, one that sends none does not.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryAfter {
    /// No header.
    Absent,
    /// A wait in seconds (delay-seconds or an HTTP-date), as the server said it: finite, or
    /// infinite for a run of digits past what an f64 holds.
    Seconds(f64),
    /// A header that is neither (negative, NaN, garbage, not UTF-8): ignored for the wait; its
    /// text printable-escaped and bounded, for messages.
    Invalid(String),
}

impl RetryAfter {
    /// Reads the header's raw bytes, if the response had one (see [`parse_retry_after`]).
    /// `key` (the API key) is redacted from an invalid value before it is escaped and cut: a
    /// server that echoes the key here must not get it, or its first 40 characters, into a
    /// message or a log line (outside trial 17).
    pub fn from_header(value: Option<&[u8]>, key: &str) -> Self {
        let Some(bytes) = value else {
            return RetryAfter::Absent;
        };
        match std::str::from_utf8(bytes)
            .ok()
            .map(|text| parse_retry_after(Some(text)))
        {
            Some(Some(seconds)) => RetryAfter::Seconds(seconds),
            _ => RetryAfter::Invalid(shown(bytes, key)),
        }
    }

    /// The wait the server asked for, if it asked validly.
    pub fn seconds(&self) -> Option<f64> {
        match self {
            RetryAfter::Seconds(seconds) => Some(*seconds),
            _ => None,
        }
    }

    /// Why the server's wait is not worth retrying for, if it is not: a day or more, or longer
    /// than `budget`, the most the retries left could wait in all (`retries_left` waits of at
    /// most `per_wait`). Said after the hint in the error ("; not retried: ...").
    pub fn too_long(&self, retries_left: u32, per_wait: Duration) -> Option<String> {
        let seconds = self.seconds()?;
        if seconds >= MAX_RETRY_AFTER {
            return Some("not retried, as a wait of a day or more never is".to_owned());
        }
        let budget = per_wait.saturating_mul(retries_left);
        let wait = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
        (wait > budget).then(|| {
            format!(
                "not retried: that is longer than the {retries_left} retr{} left would wait in all \
                 (at most {} s each; retries= and timeout= set them)",
                if retries_left == 1 { "y" } else { "ies" },
                per_wait.as_secs_f64()
            )
        })
    }
}

/// A long wait in words: roughly how long, and when it ends (UTC), so a reader of "retry after
/// 2310000000 s" need not do the sum. The end is left out past what a date can hold.
fn long_wait_words(seconds: f64) -> String {
    const HOUR: f64 = 3_600.0;
    const DAY: f64 = 86_400.0;
    const YEAR: f64 = 365.25 * DAY;
    // "about 1 hour", not "about 1 hours" (outside trial 21).
    let about = |count: f64, unit: &str| match format!("{count:.0}") {
        one if one == "1" => format!("about 1 {unit}"),
        many => format!("about {many} {unit}s"),
    };
    let about = if seconds < 2.0 * DAY {
        about(seconds / HOUR, "hour")
    } else if seconds < 2.0 * YEAR {
        about(seconds / DAY, "day")
    } else if seconds < 1e6 * YEAR {
        about(seconds / YEAR, "year")
    } else {
        // Not a 300-digit count of years for `1e308` (outside trial 28).
        "over a million years".to_owned()
    };
    // Rounded to the second: the date is computed again from "now" when said, a few ms later.
    let end = chrono::TimeDelta::try_milliseconds((seconds * 1_000.0) as i64)
        .and_then(|wait| chrono::Utc::now().checked_add_signed(wait))
        .and_then(|end| end.checked_add_signed(chrono::TimeDelta::milliseconds(500)));
    match end {
        Some(end) if seconds < 1e15 => {
            format!("{about}, until {} UTC", end.format("%Y-%m-%d %H:%M:%S"))
        }
        _ => about,
    }
}

/// The end of a message about the server's `Retry-After`, in words.
impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryAfter::Seconds(seconds) if seconds.is_infinite() => f.write_str(
                "the server asked to retry after more seconds than a float holds (never, in effect)",
            ),
            RetryAfter::Seconds(seconds) if *seconds >= 1e15 => write!(
                f,
                "the server asked to retry after {seconds:e} s ({})",
                long_wait_words(*seconds)
            ),
            // Whole seconds: an HTTP-date's wait is a difference with "now", its fraction noise.
            RetryAfter::Seconds(seconds) if *seconds >= 3_600.0 => write!(
                f,
                "the server asked to retry after {seconds:.0} s ({})",
                long_wait_words(*seconds)
            ),
            RetryAfter::Seconds(seconds) => {
                write!(f, "the server asked to retry after {seconds} s")
            }
            RetryAfter::Absent => f.write_str("the server gave no Retry-After"),
            RetryAfter::Invalid(value) => write!(
                f,
                "the server sent an invalid Retry-After \"{value}\" (not a number of seconds \
                 nor an HTTP-date; ignored)"
            ),
        }
    }
}

/// Header bytes as text for a message: bytes outside ASCII that are not UTF-8 as `\xNN`,
/// `key` redacted (first, so no cut can leave a piece of it that no longer matches), what a
/// terminal acts on escaped, at most [`SHOWN_LIMIT`] characters.
fn shown(bytes: &[u8], key: &str) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes
            .iter()
            .map(|&b| match b {
                b if b.is_ascii() => char::from(b).to_string(),
                b => format!("\\x{b:02x}"),
            })
            .collect(),
    };
    let text = super::redact::redact(&text, key);
    bounded_printable(&text, SHOWN_LIMIT)
}

/// `text` with what a terminal acts on escaped, cut to at most `limit` characters (with an
/// ellipsis when cut). The caller redacts the key first.
pub fn bounded_printable(text: &str, limit: usize) -> String {
    super::client::bounded(&crate::printable::printable(text), limit)
}

/// Why an attempt failed, as far as retrying cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Connect error, timeout or a body cut off: always worth another try.
    Transport,
    /// The connection ended before the answer's head came whole (a kept-alive connection the
    /// server had closed): sent again at once on a new connection, without counting as an
    /// attempt, once an attempt; a second one is a [`Failure::Transport`]
    /// (`ApiClient::with_retries`). A head cut off part-way reads the same to the client, so
    /// it is sent again too (outside trial 47 F3): a push sets values, and one applied twice
    /// is the same.
    Unanswered,
    /// 429, with the server's `Retry-After`.
    RateLimited(RetryAfter),
    /// A transient server status: 500, 502, 503, 504 (see [`is_transient_status`]), with the
    /// server's `Retry-After` (RFC 9110 §10.2.3 names it for 503; honoured on any of them).
    Server(RetryAfter),
    /// Anything else (400, 401, 404, 413, 501, 505, ...): retrying cannot help.
    Permanent,
}

/// True for the 5xx statuses that mean "try again": 500 (a crash that may not recur), 502,
/// 503 and 504 (a proxy or an overloaded server). The other 5xx (501 Not Implemented, 505 HTTP
/// Version Not Supported, 507, 508, 511, ...) describe the request or the server's setup and
/// answer the same every time, so retrying them only delays the error (as in urllib3's and the
/// cloud SDKs' default retry lists).
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

impl Failure {
    /// Classifies an HTTP status that is not a success.
    pub fn from_status(status: u16, retry_after: RetryAfter) -> Self {
        match status {
            429 => Failure::RateLimited(retry_after),
            s if is_transient_status(s) => Failure::Server(retry_after),
            _ => Failure::Permanent,
        }
    }

    /// True when another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Failure::Permanent)
    }
}

/// The wait before retry number `attempt` (1-based).
///
/// Full jitter (a uniform draw from zero to the exponential bound) spreads the retries of many
/// concurrent pages so they do not hit a recovering server in one burst. A `Retry-After` hint
/// is a floor, not a suggestion, but is still capped by `max_backoff` so a bad header cannot
/// stall a notebook for an hour.
pub fn backoff(config: &RetryConfig, attempt: u32, failure: &Failure) -> Duration {
    let exp = config
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let bound = exp.min(config.max_backoff);
    // A factor in [0, 1) never overflows nor goes negative, so `mul_f64` cannot panic.
    let jittered = bound.mul_f64(rand::random::<f64>());
    // One path for a 429's hint and a 5xx's: both are the server saying when it can serve.
    let hint = match failure {
        Failure::RateLimited(retry_after) | Failure::Server(retry_after) => retry_after.seconds(),
        Failure::Transport | Failure::Unanswered | Failure::Permanent => None,
    };
    match (hint, failure) {
        (Some(seconds), _) => {
            // `try_from`: a hint that slipped past `parse_retry_after` must still not panic.
            let hint = Duration::try_from_secs_f64(seconds).unwrap_or(config.max_backoff);
            hint.min(config.max_backoff).max(jittered)
        }
        // 429 without a (valid) hint: wait at least the full exponential bound, not a
        // jittered sliver.
        (None, Failure::RateLimited(_)) => bound,
        (None, _) => jittered,
    }
}

/// Parses a `Retry-After` header: delay-seconds (decimals accepted) or an HTTP-date.
///
/// Anything else (negative, NaN, `inf`, garbage) is `None`: waited for as if absent, reported
/// as [`RetryAfter::Invalid`]. A date in the past means "now" (0). A huge value is kept as
/// sent (a run of digits past what an f64 holds is infinite): the caller decides it is too
/// long to wait for ([`RetryAfter::too_long`]) and reports it as the server said it.
fn parse_retry_after(value: Option<&str>) -> Option<f64> {
    let value = value?.trim();
    // delay-seconds is `1*DIGIT` (RFC 9110 §10.2.3), with no bound: a run of digits too long
    // for an f64 is still a valid, huge wait (outside trial 17: 400 nines were "invalid" and
    // retried at once).
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse::<f64>().unwrap_or(f64::INFINITY));
    }
    let seconds = match value.parse::<f64>() {
        Ok(seconds) => seconds,
        Err(_) => {
            let when = httpdate::parse_http_date(value).ok()?;
            when.duration_since(std::time::SystemTime::now())
                .map_or(0.0, |wait| wait.as_secs_f64())
        }
    };
    // `-0` (or `-1e-400`) is a negative like `-5`: invalid, not "retry after -0 s".
    (seconds.is_finite() && seconds >= 0.0 && !seconds.is_sign_negative()).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RetryConfig {
        RetryConfig {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }

    #[test]
    fn classifies_statuses() {
        assert_eq!(
            Failure::from_status(429, RetryAfter::Absent),
            Failure::RateLimited(RetryAfter::Absent)
        );
        assert!(Failure::from_status(503, RetryAfter::Absent).is_retryable());
        assert!(Failure::from_status(500, RetryAfter::Absent).is_retryable());
        for permanent in [400, 401, 404, 405, 413] {
            assert!(!Failure::from_status(permanent, RetryAfter::Absent).is_retryable());
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = config();
        for _ in 0..100 {
            assert!(
                backoff(&c, 1, &Failure::Server(RetryAfter::Absent)) <= Duration::from_millis(100)
            );
            assert!(
                backoff(&c, 3, &Failure::Server(RetryAfter::Absent)) <= Duration::from_millis(400)
            );
            assert!(
                backoff(&c, 30, &Failure::Server(RetryAfter::Absent)) <= Duration::from_secs(2)
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let c = config();
        let wait = backoff(&c, 1, &Failure::RateLimited(RetryAfter::Seconds(1.5)));
        assert!(wait >= Duration::from_millis(1500));
        let capped = backoff(&c, 1, &Failure::RateLimited(RetryAfter::Seconds(3600.0)));
        assert_eq!(capped, Duration::from_secs(2));
        assert_eq!(
            backoff(&c, 2, &Failure::RateLimited(RetryAfter::Absent)),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(Some("2")), Some(2.0));
        assert_eq!(parse_retry_after(Some(" 0.5 ")), Some(0.5));
        assert_eq!(parse_retry_after(None), None);
        // A date in the past means "now"; one far ahead is kept as the server said it.
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(0.0)
        );
        let far = parse_retry_after(Some("Fri, 31 Dec 9999 23:59:59 GMT")).unwrap();
        assert!(far > 2.5e11, "{far}");
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let parsed = parse_retry_after(Some(&soon)).unwrap();
        assert!((100.0..=120.0).contains(&parsed), "{parsed}");
    }

    #[test]
    fn hostile_retry_after_values_neither_panic_nor_stall() {
        for (value, seconds) in [
            ("1e20", 1e20),
            ("1e300", 1e300),
            ("18446744073709551616", 18446744073709551616.0),
            ("99999999999999999999999", 1e23),
        ] {
            assert_eq!(parse_retry_after(Some(value)), Some(seconds), "{value}");
        }
        for value in [
            "-1", "NaN", "nan", "inf", "-inf", "soon", "", "1,5", "\u{fffd}",
        ] {
            assert_eq!(parse_retry_after(Some(value)), None, "{value:?}");
        }
        let c = config();
        for hint in [1e20, f64::MAX, f64::INFINITY, f64::NAN, -1.0] {
            let wait = backoff(&c, 1, &Failure::RateLimited(RetryAfter::Seconds(hint)));
            assert!(wait <= c.max_backoff, "{hint}: {wait:?}");
        }
    }

    /// Outside trial 17: 400 nines are a valid delay-seconds (`1*DIGIT`), a huge wait, not
    /// "invalid"; `-0` is a negative like `-5`, not "retry after -0 s". Outside trial 18: the
    /// wait is kept as sent (it was clamped to a day, and said as "a day or more").
    #[test]
    fn long_digit_runs_are_huge_waits_and_negative_zero_is_invalid() {
        let said = |value: &str| RetryAfter::from_header(Some(value.as_bytes()), "k3y").to_string();
        assert_eq!(
            parse_retry_after(Some(&"9".repeat(400))),
            Some(f64::INFINITY)
        );
        assert_eq!(
            said(&"9".repeat(400)),
            "the server asked to retry after more seconds than a float holds (never, in effect)"
        );
        for value in ["0".repeat(400) + "99999999999", "99999999999".into()] {
            assert_eq!(parse_retry_after(Some(&value)), Some(99_999_999_999.0));
            let said = said(&value);
            assert!(
                said.starts_with(
                    "the server asked to retry after 99999999999 s (about 3169 years, until "
                ),
                "{said}"
            );
        }
        assert_eq!(parse_retry_after(Some(&"0".repeat(400))), Some(0.0));
        for value in ["-0", "-0.0", "-1e-400", "-00", " -0 "] {
            assert_eq!(parse_retry_after(Some(value)), None, "{value:?}");
        }
        let said = RetryAfter::from_header(Some(b"-0"), "k3y").to_string();
        assert!(said.contains("invalid Retry-After \"-0\""), "{said}");
    }

    /// Outside trial 17: a server echoing the key in `Retry-After` got it (or, for a long key,
    /// its first 40 characters, past the cut) into messages and log lines.
    #[test]
    fn the_key_never_survives_in_an_invalid_retry_after() {
        for len in [8, 40, 100] {
            let key: String = "sKey-0123456789abcdefghijklmnopqrstuvwxyz"
                .chars()
                .cycle()
                .take(len)
                .collect();
            for value in [
                key.clone(),
                format!("junk {key} junk"),
                format!("x{key}"),
                format!("{}{key}", "j".repeat(30)),
                key.to_ascii_lowercase(),
            ] {
                let said = RetryAfter::from_header(Some(value.as_bytes()), &key).to_string();
                assert!(said.contains("invalid Retry-After"), "{said}");
                assert!(!said.contains(&key[..8]), "{len}: {value:?} -> {said}");
                assert!(
                    !said
                        .to_ascii_lowercase()
                        .contains(&key[..8].to_ascii_lowercase()),
                    "{said}"
                );
            }
        }
    }

    #[test]
    fn only_transient_5xx_are_retried() {
        for status in [500, 502, 503, 504] {
            assert_eq!(
                Failure::from_status(status, RetryAfter::Absent),
                Failure::Server(RetryAfter::Absent)
            );
        }
        for status in [501, 505, 506, 507, 508, 510, 511, 599] {
            assert_eq!(
                Failure::from_status(status, RetryAfter::Absent),
                Failure::Permanent
            );
        }
    }

    /// Outside trial 18 (F1): a wait of a day or more, or longer than the retries left could
    /// wait in all, is not worth retrying for; a shorter one is waited for as before.
    #[test]
    fn a_wait_beyond_the_retries_left_or_a_day_is_too_long() {
        let cap = Duration::from_secs(30);
        let hint = RetryAfter::Seconds;
        assert_eq!(hint(240.0).too_long(8, cap), None);
        assert_eq!(hint(1.5).too_long(1, Duration::from_secs(2)), None);
        assert_eq!(RetryAfter::Absent.too_long(0, cap), None);
        assert_eq!(RetryAfter::Invalid("x".into()).too_long(0, cap), None);
        let why = hint(241.0).too_long(8, cap).unwrap();
        assert_eq!(
            why,
            "not retried: that is longer than the 8 retries left would wait in all (at most 30 s \
             each; retries= and timeout= set them)"
        );
        assert!(hint(2.0)
            .too_long(1, Duration::from_secs(1))
            .unwrap()
            .contains("1 retry left"));
        for seconds in [MAX_RETRY_AFTER, 99_999_999_999.0, f64::INFINITY, f64::MAX] {
            let why = hint(seconds).too_long(u32::MAX, Duration::MAX).unwrap();
            assert!(why.contains("a day or more"), "{seconds}: {why}");
        }
    }

    /// A 503's `Retry-After` is a floor for the wait as a 429's is (outside trial 17: it was
    /// ignored, the retry went at once), capped alike; an invalid one is ignored alike.
    #[test]
    fn a_server_errors_retry_after_is_honoured_and_capped_like_a_429s() {
        let c = config();
        let server = |retry_after| Failure::Server(retry_after);
        for _ in 0..100 {
            let wait = backoff(&c, 1, &server(RetryAfter::Seconds(1.5)));
            assert!(wait >= Duration::from_millis(1500), "{wait:?}");
            let invalid = RetryAfter::from_header(Some(b"-5"), "k3y-not-in-text");
            assert!(backoff(&c, 1, &server(invalid)) <= Duration::from_millis(100));
        }
        let huge = RetryAfter::from_header(Some(b"1e20"), "k3y-not-in-text");
        assert_eq!(backoff(&c, 1, &server(huge)), c.max_backoff);
        for hint in [f64::MAX, f64::INFINITY, f64::NAN, -1.0] {
            let wait = backoff(&c, 1, &server(RetryAfter::Seconds(hint)));
            assert!(wait <= c.max_backoff, "{hint}: {wait:?}");
        }
    }

    /// The header's forms as a message says them: an invalid one is not "no Retry-After"
    /// (outside trial 17), and its text is shown escaped and bounded.
    #[test]
    fn retry_after_in_words_tells_absent_from_invalid() {
        let said =
            |value: Option<&[u8]>| RetryAfter::from_header(value, "k3y-not-in-text").to_string();
        assert_eq!(said(None), "the server gave no Retry-After");
        assert_eq!(said(Some(b"1.5")), "the server asked to retry after 1.5 s");
        assert_eq!(
            said(Some(b"1e20")),
            "the server asked to retry after 1e20 s (over a million years)"
        );
        assert_eq!(
            said(Some(b"1e308")),
            "the server asked to retry after 1e308 s (over a million years)"
        );
        assert!(said(Some(b"1e13")).contains("(about 316881 years)"));
        assert!(said(Some(b"4000")).contains("(about 1 hour, until"));
        let hours = said(Some(b"7200"));
        assert!(
            hours.starts_with("the server asked to retry after 7200 s (about 2 hours, until 2"),
            "{hours}"
        );
        assert!(hours.ends_with(" UTC)"), "{hours}");
        let invalid = |shown: &str| {
            format!(
                "the server sent an invalid Retry-After \"{shown}\" (not a number of seconds nor \
                 an HTTP-date; ignored)"
            )
        };
        assert_eq!(said(Some(b"-5")), invalid("-5"));
        assert_eq!(said(Some(b"in a while")), invalid("in a while"));
        assert_eq!(said(Some(b"NaN")), invalid("NaN"));
        assert_eq!(said(Some(b"")), invalid(""));
        assert_eq!(said(Some(b"\xff\xfe")), invalid("\\xff\\xfe"));
        assert_eq!(said(Some(b"1\t\x1b[31m")), invalid("1\\t\\x1b[31m"));
        let long = said(Some("é".repeat(5_000).as_bytes()));
        assert_eq!(long, invalid(&format!("{}…", "é".repeat(SHOWN_LIMIT))));
    }
}
