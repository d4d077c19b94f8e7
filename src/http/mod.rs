//! Talking to the API: the client (`client`) and its connection pool (`pool`), the retry policy
//! (`retry`), the query parameters of each endpoint (`query`), concurrent paging (`paginate`)
//! with its requests spaced (`pacing`) and held back past the listing's end (`reach`), each
//! body decoded as it arrives (`body`), one-shot `/report` (`report`), chunked pushes
//! (`push`), gzip bodies inflated (`inflate`), and the key kept out of server-provided text
//! (`redact`).

pub mod body;
pub mod client;
pub mod inflate;
pub mod listing;
pub mod pacing;
pub mod paginate;
pub mod pool;
pub mod progress;
pub mod push;
pub mod query;
pub mod reach;
pub mod redact;
pub mod report;
pub mod retry;
pub mod url;

pub use client::ApiClient;

#[cfg(test)]
mod body_limit_tests;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod window_tests;
pub use progress::Progress;
