//! The one error type of the core. Every failure of the HTTP, decode, encode and emulator layers is
//! a variant here; `python/errors.rs` maps it to the `converz.exceptions` hierarchy in one place.
//!
//! Messages never carry the API key: URLs are rendered without query secrets (the key travels in
//! a header, never the URL) and headers are never formatted.

/// The words a decode error uses for a value that does not fit its column's type, whichever
/// part found it (arrow-json's "failed to parse V as T" is said in them too:
/// `http::client::AttemptError::decode`). The Python layer's hints key on them, so they are
/// ours rather than a dependency's.
pub const DOES_NOT_FIT: &str = " does not fit ";

/// How a decode error names the column it stopped in (arrow-json says "whilst decoding field").
pub const IN_COLUMN: &str = "in column '";

/// Everything that can go wrong in converz.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with a non-success status that is not retried (or retries ran out).
    #[error("{endpoint} answered HTTP {status} ({code}): {message}")]
    Http {
        status: u16,
        endpoint: String,
        code: String,
        message: String,
        /// A transient 5xx's `Retry-After` in seconds, as the server said it (else None).
        /// Boxed: set only on a final 5xx, and an `Error` must stay small (it is every
        /// attempt's `Err`).
        retry_after: Option<Box<f64>>,
    },
    /// 429 after every retry; `retry_after` is the server's last `Retry-After`, said in words.
    /// `max_concurrency` is the client's: the hint says to lower it only when it can be.
    /// `not_retried` is empty, or "; not retried: ..." when the server's wait was too long for
    /// the retries left (then the hint says to come back later, not to lower concurrency).
    #[error("{endpoint} is rate limited (HTTP 429) after {attempts} attempt{}; {retry_after}{not_retried}", plural(.attempts))]
    RateLimited {
        endpoint: String,
        attempts: u32,
        retry_after: crate::http::retry::RetryAfter,
        max_concurrency: usize,
        not_retried: String,
    },
    /// The connection failed or the body was cut off, after every retry.
    #[error("transport error on {endpoint} after {attempts} attempt{}: {message}", plural(.attempts))]
    Transport {
        endpoint: String,
        attempts: u32,
        message: String,
    },
    /// A caller-supplied parameter is wrong; caught before any request is sent.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: String, reason: String },
    /// The API's JSON could not be turned into Arrow.
    #[error("could not decode {endpoint}: {message}")]
    Decode { endpoint: String, message: String },
    /// Input data for a push could not be encoded or failed validation.
    #[error("cannot push column `{}`: {reason}", crate::printable::spelled(.column))]
    Encode { column: String, reason: String },
    /// The client was closed (`Client.close()`, or the end of its `with` block).
    #[error("{endpoint}: the client is closed")]
    Closed { endpoint: String },
    /// The operation was interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// A converz call made while another runs on the same thread: from a logging handler or a
    /// progress callback, which run inside the call that logs or reports.
    #[error(
        "a converz call was made from inside another converz call running on this thread (from a \
         logging handler or a progress callback, which run inside the call that logs or reports)"
    )]
    Reentered,
    /// A page that kept none of its body met a row the schema-specialised decoder does not
    /// take ([`FetchDecoder::page_read_again`](crate::decode::FetchDecoder::page_read_again)):
    /// the pager reads the page again for the reference decoder. Never reaches the caller.
    #[error("the page is read again for the reference decoder")]
    ReadAgain,
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The "s" of "attempts", none for one (outside trial 18: "after 1 attempts").
fn plural(count: &u32) -> &'static str {
    if *count == 1 {
        ""
    } else {
        "s"
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A number outside `min..=max`, worded the same for every parameter: "must be between 1
    /// and 64, got 0" (`got`: the value given, or what it was).
    #[cold]
    pub fn out_of_range(
        name: &str,
        min: impl std::fmt::Display,
        max: impl std::fmt::Display,
        got: impl std::fmt::Display,
    ) -> Self {
        Error::invalid(name, format!("must be between {min} and {max}, got {got}"))
    }

    /// Shorthand for [`Error::InvalidParameter`].
    #[cold]
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Encode`].
    #[cold]
    pub fn encode(column: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Encode {
            column: column.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_messages_say_the_hint_in_words() {
        use crate::http::retry::RetryAfter;
        let limited = |retry_after| {
            Error::RateLimited {
                endpoint: "GET /reps".into(),
                attempts: 2,
                retry_after,
                max_concurrency: 4,
                not_retried: String::new(),
            }
            .to_string()
        };
        assert_eq!(
            limited(RetryAfter::Seconds(1.5)),
            "GET /reps is rate limited (HTTP 429) after 2 attempts; the server asked to retry \
             after 1.5 s"
        );
        assert_eq!(
            limited(RetryAfter::Absent),
            "GET /reps is rate limited (HTTP 429) after 2 attempts; the server gave no Retry-After"
        );
        assert!(
            limited(RetryAfter::from_header(Some(b"-5"), "k3y")).ends_with(
                "after 2 attempts; the server sent an invalid Retry-After \"-5\" (not a \
                        number of seconds nor an HTTP-date; ignored)"
            )
        );
    }
}
