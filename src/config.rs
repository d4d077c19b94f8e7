//! Client configuration: plain structs with `Default` and `with_*` builders. The Python layer
//! fills these from keyword arguments and environment variables; validation happens in
//! `ClientConfig::validate`, before any request.

use std::time::Duration;

use crate::error::{Error, Result};

/// The largest timeout or backoff accepted, in seconds (one day). Bigger values (`1e20`, `inf`)
/// are refused rather than clamped: they are a unit mistake far more often than a wish.
pub const MAX_SECONDS: f64 = 86_400.0;

/// The most retries accepted per request.
pub const MAX_RETRIES: u32 = 1_000;

/// A user-given number of seconds as a [`Duration`]: finite, above zero and at most
/// [`MAX_SECONDS`], else an [`Error::InvalidParameter`] naming `name`. Never panics (a bare
/// `Duration::from_secs_f64` does on `1e20`).
pub fn seconds(name: &str, value: f64) -> Result<Duration> {
    if value.is_finite() && value > 0.0 && value <= MAX_SECONDS {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::invalid(
            name,
            format!(
                "must be a number of seconds above 0 and at most {MAX_SECONDS} (got {value:?})"
            ),
        ))
    }
}

/// How failed requests are retried (connection errors, cut bodies, 429 and 5xx).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Retries after the first attempt; 0 turns retrying off.
    pub max_retries: u32,
    /// First backoff; doubles each attempt, with full jitter.
    pub initial_backoff: Duration,
    /// Cap for one backoff, and for a server's `Retry-After`.
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Whether response bodies are asked for gzip-compressed (`Accept-Encoding: gzip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// gzip, except to a loopback host (the emulator): there compressing costs more CPU than
    /// it saves in transfer.
    #[default]
    Auto,
    /// Always gzip: a slow link (or the emulator's WAN profile) gains more than it costs.
    Gzip,
    /// Never: the server sends plain JSON.
    Off,
}

impl Compression {
    /// The setting named `value` (`"auto"`, `"gzip"`, or `None` for off), else an
    /// invalid-parameter error naming `compression`.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None => Ok(Self::Off),
            Some("auto") => Ok(Self::Auto),
            Some("gzip") => Ok(Self::Gzip),
            Some(other) => Err(Error::invalid(
                "compression",
                format!(
                    "must be 'auto', 'gzip' or None, got {:?}",
                    truncate(other, 40)
                ),
            )),
        }
    }

    /// Whether to ask `host_is_loopback` for gzip.
    pub fn wants_gzip(self, host_is_loopback: bool) -> bool {
        match self {
            Self::Auto => !host_is_loopback,
            Self::Gzip => true,
            Self::Off => false,
        }
    }
}

/// At most `max` characters of `text`, for messages.
fn truncate(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(at, _)| &text[..at])
}

/// Everything a [`crate::http::ApiClient`] needs.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://<tenant>.converz.co/api/v1`; `http://` only for loopback hosts.
    pub base_url: String,
    /// Sent as `X-API-Key`; never formatted by `Debug` (see the manual impl below).
    pub api_key: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout for one page or one push chunk.
    pub request_timeout: Duration,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Page requests (or push chunks) in flight at once.
    pub max_concurrency: usize,
    /// Whether to ask for gzip-compressed bodies.
    pub compression: Compression,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            api_key: String::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
            retry: RetryConfig::default(),
            max_concurrency: 4,
            compression: Compression::Auto,
        }
    }
}

impl ClientConfig {
    /// Config for `base_url` and `api_key` with every other setting at its default.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: api_key.into(),
            ..Self::default()
        }
    }

    /// Sets [`ClientConfig::max_concurrency`].
    #[must_use]
    pub fn with_max_concurrency(self, max_concurrency: usize) -> Self {
        Self {
            max_concurrency,
            ..self
        }
    }

    /// Sets [`ClientConfig::retry`].
    #[must_use]
    pub fn with_retry(self, retry: RetryConfig) -> Self {
        Self { retry, ..self }
    }

    /// Checks the settings that can be checked without the network.
    pub fn validate(&self) -> Result<()> {
        if self.api_key.trim().is_empty() {
            return Err(Error::invalid(
                "api_key",
                "no API key (empty or only white space): pass api_key=... or set \
                 CONVERZ_API_KEY",
            ));
        }
        // A header value: visible ASCII only. Anything else would be sent mangled, and a
        // server echoing it back in another encoding would escape redaction. The message
        // never shows the key.
        if !self.api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "api_key",
                "the API key holds a space, a control character or a non-ASCII character; \
                 copy it again without them (keys are visible ASCII)",
            ));
        }
        if self.max_concurrency == 0 || self.max_concurrency > 64 {
            return Err(Error::out_of_range(
                "max_concurrency",
                1,
                64,
                self.max_concurrency,
            ));
        }
        // Checked here too, not only from Python: a Rust caller can pass `Duration::MAX`, and a
        // zero timeout fails every request.
        let durations = [
            ("connect_timeout", self.connect_timeout),
            ("timeout", self.request_timeout),
            ("backoff", self.retry.initial_backoff),
            ("max_backoff", self.retry.max_backoff),
        ];
        for (name, value) in durations {
            seconds(name, value.as_secs_f64())?;
        }
        if self.retry.max_retries > MAX_RETRIES {
            return Err(Error::out_of_range(
                "retries",
                0,
                MAX_RETRIES,
                self.retry.max_retries,
            ));
        }
        crate::http::url::validate_base_url(&self.base_url).map(|_| ())
    }
}

impl std::fmt::Debug for ClientConfig {
    // Written by hand so the key can never reach a log line or a panic message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("max_concurrency", &self.max_concurrency)
            .field("compression", &self.compression)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_is_named_and_auto_skips_loopback() {
        assert_eq!(Compression::parse(Some("auto")).unwrap(), Compression::Auto);
        assert_eq!(Compression::parse(Some("gzip")).unwrap(), Compression::Gzip);
        assert_eq!(Compression::parse(None).unwrap(), Compression::Off);
        let err = Compression::parse(Some("brotli")).unwrap_err().to_string();
        assert!(
            err.contains("compression") && err.contains("brotli"),
            "{err}"
        );
        assert!(Compression::Auto.wants_gzip(false) && !Compression::Auto.wants_gzip(true));
        assert!(Compression::Gzip.wants_gzip(true));
        assert!(!Compression::Off.wants_gzip(false));
    }

    #[test]
    fn debug_redacts_the_key() {
        let config = ClientConfig::new("https://acme.converz.co/api/v1", "sekret-key-123");
        assert!(!format!("{config:?}").contains("sekret"));
    }

    #[test]
    fn validation_names_the_parameter() {
        let err = ClientConfig::new("https://acme.converz.co/api/v1", "")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("api_key"), "{err}");
        let err = ClientConfig::new("https://acme.converz.co/api/v1", "k")
            .with_max_concurrency(0)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("max_concurrency"), "{err}");
    }

    #[test]
    fn seconds_refuse_what_duration_would_panic_on() {
        for bad in [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e20,
            1e300,
            MAX_SECONDS * 2.0,
        ] {
            let err = seconds("timeout", bad).unwrap_err();
            assert!(err.to_string().contains("`timeout`"), "{err}");
            // The value as a number is short to read (outside trial 19: 1e300 in 301 digits).
            assert!(err.to_string().len() < 120, "{err}");
        }
        assert_eq!(
            seconds("timeout", 1.5).unwrap(),
            Duration::from_millis(1500)
        );
        assert!(seconds("timeout", MAX_SECONDS).is_ok());
        let huge = ClientConfig {
            request_timeout: Duration::MAX,
            ..ClientConfig::new("https://acme.converz.co/api/v1", "k")
        };
        assert!(huge
            .validate()
            .unwrap_err()
            .to_string()
            .contains("`timeout`"));
    }
}
