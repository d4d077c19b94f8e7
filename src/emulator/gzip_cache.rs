//! Gzip page bodies, compressed once and kept: on a WAN profile with gzip on, compressing
//! every `/calls` page on the fly (level 6, ~9× smaller) would take more CPU than the machine
//! has, and the emulator, not the link, would be the bound. A page's body is compressed on
//! its first request and served from memory until the store changes.
//!
//! * Key: the endpoint, the query (parameters in name order) and the `page_cap` fault (the three
//!   decide the body), valid for one store generation ([`super::store::Store::generation`]): a POST
//!   or an insert bumps it under the store's write lock, and the next lookup empties the cache.
//! * Bound: [`BUDGET`] bytes of compressed bodies; past it the oldest entries go first. A page
//!   larger than the whole budget is compressed for its request and not kept.
//! * Concurrent first requests for one page wait for one compression (a `OnceCell` per key),
//!   which runs on a blocking thread, off the runtime's workers.
//! * The body carries `Content-Encoding: gzip`, so the compression layer leaves it alone; the
//!   drop fault cuts the compressed bytes and the WAN throttle paces them like any body.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use flate2::write::GzEncoder;
use parking_lot::Mutex;
use tokio::sync::OnceCell;

use super::faults::Fault;

/// Compressed bytes kept at most: 256 MiB, the gzip bodies of ~3M calls at level 6.
pub const BUDGET: usize = 256 << 20;
/// The level: the compression layer's default (zlib's 6), so a cached body is the size an
/// on-the-fly one was.
const LEVEL: u32 = 6;
/// A cached body goes out in frames of this size, so the throttle and the drop fault act on
/// it as on any streamed page.
const FRAME: usize = 256 * 1024;

/// What decides a page body: endpoint, raw query, `page_cap`.
pub type Key = (&'static str, String, Option<usize>);

/// The kept bodies of one store generation.
#[derive(Default)]
struct Entries {
    generation: u64,
    cells: HashMap<Key, Arc<OnceCell<Bytes>>>,
    /// Keys of filled cells, oldest first, with their sizes.
    order: VecDeque<(Key, usize)>,
    bytes: usize,
}

/// The cache (one per emulator).
pub struct GzipCache {
    entries: Mutex<Entries>,
    /// Compressed bytes kept at most ([`BUDGET`]).
    budget: usize,
}

impl Default for GzipCache {
    fn default() -> Self {
        Self::with_budget(BUDGET)
    }
}

impl GzipCache {
    /// A cache that keeps at most `budget` compressed bytes.
    pub fn with_budget(budget: usize) -> Self {
        Self {
            entries: Mutex::default(),
            budget,
        }
    }

    /// The cell of `key` at `generation`; `None` when the generation is already older than
    /// the cache's (a request that raced a POST: it is answered, not kept).
    fn cell(&self, key: &Key, generation: u64) -> Option<Arc<OnceCell<Bytes>>> {
        let mut entries = self.entries.lock();
        if generation > entries.generation {
            *entries = Entries {
                generation,
                ..Entries::default()
            };
        } else if generation < entries.generation {
            return None;
        }
        Some(Arc::clone(entries.cells.entry(key.clone()).or_default()))
    }

    /// Counts a filled cell and evicts the oldest bodies past the budget.
    fn account(&self, key: Key, generation: u64, size: usize) {
        let mut entries = self.entries.lock();
        if entries.generation != generation {
            return;
        }
        entries.bytes += size;
        entries.order.push_back((key, size));
        while entries.bytes > self.budget {
            let Some((old, size)) = entries.order.pop_front() else {
                break;
            };
            entries.cells.remove(&old);
            entries.bytes -= size;
        }
    }

    /// The gzip body of the page `key` at `generation`, made from `pieces` (the page's rows,
    /// see [`super::stream::pieces_body`]) when not kept yet. `Err` is `pieces`' error.
    pub async fn body<E>(
        &self,
        key: Key,
        generation: u64,
        pieces: impl FnOnce() -> Result<Vec<Bytes>, E>,
    ) -> Result<Bytes, E> {
        let Some(cell) = self.cell(&key, generation) else {
            return Ok(compress(pieces()?).await);
        };
        let mut filled = None;
        let filled_here = &mut filled;
        let body = cell
            .get_or_try_init(move || async move {
                let body = compress(pieces()?).await;
                *filled_here = Some(body.len());
                Ok(body)
            })
            .await?
            .clone();
        if let Some(size) = filled {
            self.account(key, generation, size);
        }
        Ok(body)
    }

    /// Compressed bytes kept now.
    #[cfg(test)]
    pub fn kept_bytes(&self) -> usize {
        self.entries.lock().bytes
    }
}

/// `[piece,piece,...]` gzip-compressed at [`LEVEL`], on a blocking thread.
async fn compress(pieces: Vec<Bytes>) -> Bytes {
    let work = move || {
        let size: usize = pieces.iter().map(|p| p.len() + 1).sum::<usize>() + 1;
        let mut encoder = GzEncoder::new(
            Vec::with_capacity(size / 6),
            flate2::Compression::new(LEVEL),
        );
        // Writes into a Vec cannot fail.
        let _ = encoder.write_all(b"[");
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                let _ = encoder.write_all(b",");
            }
            let _ = encoder.write_all(piece);
        }
        let _ = encoder.write_all(b"]");
        Bytes::from(encoder.finish().unwrap_or_default())
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(body) => body,
        // Only a panic inside zlib could get here: answer an empty body (the client's gzip
        // decoder fails it and retries) rather than take the server down.
        Err(_) => Bytes::new(),
    }
}

/// `raw` with its parameters in name order, so `page=2&n_per_page=10` and
/// `n_per_page=10&page=2` (one client and another) share a body. The sort is stable: values
/// of one name (`columns=a&columns=b`) keep their order, which decides the columns'.
pub fn canonical_query(raw: &str) -> String {
    let mut pairs: Vec<&str> = raw.split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_by_key(|pair| pair.split('=').next().unwrap_or(""));
    pairs.join("&")
}

/// True when the request's `Accept-Encoding` takes gzip (`gzip` or `*`, not at `q=0`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all("accept-encoding")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f64>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// A kept gzip body as a streamed response; the drop fault cuts it after a fraction of its
/// bytes and fails the stream, which drops the connection.
pub fn gzip_response(body: Bytes, fault: Fault) -> Response {
    let cut = match fault {
        Fault::Drop(fraction) => Some((body.len() as f64 * fraction) as usize),
        _ => None,
    };
    let sent = cut.map_or(body.clone(), |cut| body.slice(..cut.min(body.len())));
    let mut frames: Vec<Result<Bytes, std::io::Error>> = (0..sent.len())
        .step_by(FRAME)
        .map(|at| Ok(sent.slice(at..(at + FRAME).min(sent.len()))))
        .collect();
    if cut.is_some() {
        frames.push(Err(std::io::Error::other("connection dropped (fault)")));
    }
    let mut response = Response::new(Body::from_stream(futures_util::stream::iter(frames)));
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("content-encoding", HeaderValue::from_static("gzip"));
    headers.insert("vary", HeaderValue::from_static("accept-encoding"));
    response
}

#[cfg(test)]
#[path = "tests_gzip.rs"]
mod tests;
