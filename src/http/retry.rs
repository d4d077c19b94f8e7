//! When to retry and how long to wait: exponential backoff with full jitter, and a server's
//! `Retry-After` honoured (capped). Kept by hand rather than as reqwest middleware because a page
//! is retried as a whole *including its streamed body*: a connection dropped mid-body restarts
//! the page's decoder, which a request-level middleware cannot see.

use std::time::Duration;

use crate::config::RetryConfig;

/// The largest `Retry-After` hint kept, in seconds (one day). A bigger value, or an HTTP-date
/// further away, is clamped to this: it is reported as `RateLimitError.retry_after` and never
/// waited for in full (every wait is capped by `RetryConfig::max_backoff`).
pub const MAX_RETRY_AFTER: f64 = 86_400.0;

/// Why an attempt failed, as far as retrying cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Connect error, timeout or a body cut off: always worth another try.
    Transport,
    /// 429, with the server's hint in seconds if it gave one.
    RateLimited(Option<f64>),
    /// A transient server status: 500, 502, 503, 504 (see [`is_transient_status`]).
    Server,
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
    pub fn from_status(status: u16, retry_after: Option<f64>) -> Self {
        match status {
            429 => Failure::RateLimited(retry_after),
            s if is_transient_status(s) => Failure::Server,
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
    match failure {
        Failure::RateLimited(Some(seconds)) => {
            // `try_from`: a hint that slipped past `parse_retry_after` must still not panic.
            let hint = Duration::try_from_secs_f64(*seconds).unwrap_or(config.max_backoff);
            hint.min(config.max_backoff).max(jittered)
        }
        // 429 without a hint: wait at least the full exponential bound, not a jittered sliver.
        Failure::RateLimited(None) => bound,
        _ => jittered,
    }
}

/// Parses a `Retry-After` header: delay-seconds (decimals accepted) or an HTTP-date.
///
/// Anything else (negative, NaN, `inf`, garbage) is ignored: `None`, as if the header were
/// absent. A date in the past means "now" (0); values above [`MAX_RETRY_AFTER`] are clamped.
pub fn parse_retry_after(value: Option<&str>) -> Option<f64> {
    let value = value?.trim();
    let seconds = match value.parse::<f64>() {
        Ok(seconds) => seconds,
        Err(_) => {
            let when = httpdate::parse_http_date(value).ok()?;
            when.duration_since(std::time::SystemTime::now())
                .map_or(0.0, |wait| wait.as_secs_f64())
        }
    };
    (seconds.is_finite() && seconds >= 0.0).then(|| seconds.min(MAX_RETRY_AFTER))
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
        assert_eq!(Failure::from_status(429, None), Failure::RateLimited(None));
        assert!(Failure::from_status(503, None).is_retryable());
        assert!(Failure::from_status(500, None).is_retryable());
        for permanent in [400, 401, 404, 405, 413] {
            assert!(!Failure::from_status(permanent, None).is_retryable());
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = config();
        for _ in 0..100 {
            assert!(backoff(&c, 1, &Failure::Server) <= Duration::from_millis(100));
            assert!(backoff(&c, 3, &Failure::Server) <= Duration::from_millis(400));
            assert!(backoff(&c, 30, &Failure::Server) <= Duration::from_secs(2));
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let c = config();
        let wait = backoff(&c, 1, &Failure::RateLimited(Some(1.5)));
        assert!(wait >= Duration::from_millis(1500));
        let capped = backoff(&c, 1, &Failure::RateLimited(Some(3600.0)));
        assert_eq!(capped, Duration::from_secs(2));
        assert_eq!(
            backoff(&c, 2, &Failure::RateLimited(None)),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(Some("2")), Some(2.0));
        assert_eq!(parse_retry_after(Some(" 0.5 ")), Some(0.5));
        assert_eq!(parse_retry_after(None), None);
        // A date in the past means "now"; one far ahead is clamped like a huge number.
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(0.0)
        );
        assert_eq!(
            parse_retry_after(Some("Fri, 31 Dec 9999 23:59:59 GMT")),
            Some(MAX_RETRY_AFTER)
        );
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let parsed = parse_retry_after(Some(&soon)).unwrap();
        assert!((100.0..=120.0).contains(&parsed), "{parsed}");
    }

    #[test]
    fn hostile_retry_after_values_neither_panic_nor_stall() {
        for value in [
            "1e20",
            "1e300",
            "18446744073709551616",
            "99999999999999999999999",
        ] {
            assert_eq!(
                parse_retry_after(Some(value)),
                Some(MAX_RETRY_AFTER),
                "{value}"
            );
        }
        for value in [
            "-1", "NaN", "nan", "inf", "-inf", "soon", "", "1,5", "\u{fffd}",
        ] {
            assert_eq!(parse_retry_after(Some(value)), None, "{value:?}");
        }
        let c = config();
        for hint in [1e20, f64::MAX, f64::INFINITY, f64::NAN, -1.0] {
            let wait = backoff(&c, 1, &Failure::RateLimited(Some(hint)));
            assert!(wait <= c.max_backoff, "{hint}: {wait:?}");
        }
    }

    #[test]
    fn only_transient_5xx_are_retried() {
        for status in [500, 502, 503, 504] {
            assert_eq!(Failure::from_status(status, None), Failure::Server);
        }
        for status in [501, 505, 506, 507, 508, 510, 511, 599] {
            assert_eq!(Failure::from_status(status, None), Failure::Permanent);
        }
    }
}
