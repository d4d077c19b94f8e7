//! When to retry and how long to wait: exponential backoff with full jitter, and a server's
//! `Retry-After` honoured (capped). Kept by hand rather than as reqwest middleware because a page
//! is retried as a whole *including its streamed body*: a connection dropped mid-body restarts
//! the page's decoder, which a request-level middleware cannot see.

use std::time::Duration;

use crate::config::RetryConfig;

/// Why an attempt failed, as far as retrying cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Connect error, timeout or a body cut off: always worth another try.
    Transport,
    /// 429, with the server's hint in seconds if it gave one.
    RateLimited(Option<f64>),
    /// 500, 502, 503, 504.
    Server,
    /// Anything else (400, 401, 404, 413, ...): retrying cannot help.
    Permanent,
}

impl Failure {
    /// Classifies an HTTP status that is not a success.
    pub fn from_status(status: u16, retry_after: Option<f64>) -> Self {
        match status {
            429 => Failure::RateLimited(retry_after),
            500 | 502 | 503 | 504 => Failure::Server,
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
    let jittered = bound.mul_f64(rand::random::<f64>());
    match failure {
        Failure::RateLimited(Some(seconds)) if seconds.is_finite() && *seconds >= 0.0 => {
            Duration::from_secs_f64(*seconds)
                .min(config.max_backoff)
                .max(jittered)
        }
        // 429 without a hint: wait at least the full exponential bound, not a jittered sliver.
        Failure::RateLimited(None) => bound,
        _ => jittered,
    }
}

/// Parses a `Retry-After` header given in seconds (the HTTP-date form is not used by Converz).
pub fn parse_retry_after(value: Option<&str>) -> Option<f64> {
    value?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
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
    fn parses_retry_after_seconds_only() {
        assert_eq!(parse_retry_after(Some("2")), Some(2.0));
        assert_eq!(parse_retry_after(Some(" 0.5 ")), Some(0.5));
        assert_eq!(parse_retry_after(Some("-1")), None);
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }
}
