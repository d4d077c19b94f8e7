//! Talking to the API: the pooled client, the retry policy and concurrent paging.

pub mod url;
