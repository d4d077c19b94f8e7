//! `GET /report`: one response, not paged, decoded like a page.

use std::sync::Arc;

use reqwest::Method;

use super::body::{decode_body, Limit};
use super::client::ApiClient;
use super::query::Pairs;
use crate::decode::{DecodedTable, FetchDecoder};
use crate::error::Result;

/// Fetches and decodes one `/report` answer.
pub async fn fetch_report(
    client: &ApiClient,
    query: Pairs,
    decoder: Arc<FetchDecoder>,
) -> Result<DecodedTable> {
    let endpoint = "GET /report";
    let page = client
        .with_retries(endpoint, None, || async {
            let mut response = client.send(Method::GET, "/report", &query, None).await?;
            decode_body(&mut response, decoder.page(), endpoint, Limit::REPORT, None).await
        })
        .await?;
    client.handed_out(decoder.finish(vec![page], None))
}
