//! The WAN profile's bandwidth: one token bucket shared by every connection, applied to each
//! response body as it goes out (after gzip, so it limits what crosses the wire). N bytes take
//! at least N / rate − 10 ms. Latency is applied before the answer starts (`routes::admit`).
//! The same outermost layer counts what goes on the wire ([`Wire`]), for tests and benchmarks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as Extract;
use axum::response::Response;
use futures_util::StreamExt;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::State;

/// Bytes sent per step: small enough that concurrent responses interleave smoothly.
const STEP: usize = 16 * 1024;
/// The bucket's depth in time: a sleep that wakes late (the timer ticks in milliseconds) is
/// made up from it instead of lowering the rate, and an idle link lets this much through at
/// once.
const BURST: Duration = Duration::from_millis(10);

/// The shared token bucket, kept as a virtual clock: when the link is next free.
#[derive(Default)]
pub struct Link {
    free_at: Mutex<Option<Instant>>,
}

impl Link {
    /// Reserves the link for `bytes` at `rate` bytes/s; returns when they have been "sent".
    fn reserve(&self, bytes: usize, rate: f64) -> Instant {
        let now = Instant::now();
        let mut free_at = self.free_at.lock();
        // An idle link banks at most BURST: a burst after a pause is still paced.
        let floor = now.checked_sub(BURST).unwrap_or(now);
        let start = free_at.map_or(floor, |t| t.max(floor));
        let done = start + Duration::from_secs_f64(bytes as f64 / rate);
        *free_at = Some(done);
        done
    }
}

/// What went on the wire since the server started: responses, those sent gzip-compressed,
/// and body bytes as sent (after gzip, before HTTP framing).
#[derive(Default)]
pub struct Wire {
    responses: AtomicU64,
    gzip_responses: AtomicU64,
    body_bytes: AtomicU64,
}

/// A snapshot of [`Wire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireStats {
    pub responses: u64,
    pub gzip_responses: u64,
    pub body_bytes: u64,
}

impl Wire {
    /// The counts now.
    pub fn stats(&self) -> WireStats {
        WireStats {
            responses: self.responses.load(Ordering::Relaxed),
            gzip_responses: self.gzip_responses.load(Ordering::Relaxed),
            body_bytes: self.body_bytes.load(Ordering::Relaxed),
        }
    }
}

/// Middleware: counts every response on the [`Wire`] and paces its body to the `bandwidth`
/// fault, if set.
pub async fn throttle(Extract(state): Extract<Arc<State>>, response: Response) -> Response {
    let gzip = response
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    state.wire.responses.fetch_add(1, Ordering::Relaxed);
    if gzip {
        state.wire.gzip_responses.fetch_add(1, Ordering::Relaxed);
    }
    let (parts, body) = response.into_parts();
    let counter = Arc::clone(&state);
    let counted = body.into_data_stream().inspect(move |item| {
        if let Ok(bytes) = item {
            let sent = bytes.len() as u64;
            counter.wire.body_bytes.fetch_add(sent, Ordering::Relaxed);
        }
    });
    let Some(rate) = state.faults.read().bandwidth else {
        return Response::from_parts(parts, Body::from_stream(counted));
    };
    let link = Arc::clone(&state);
    let paced = counted
        .flat_map(|item| {
            // Split large frames so connections share the link in small steps.
            let steps: Vec<Result<Bytes, axum::Error>> = match item {
                Ok(mut bytes) => {
                    let mut steps = Vec::with_capacity(bytes.len() / STEP + 1);
                    while bytes.len() > STEP {
                        steps.push(Ok(bytes.split_to(STEP)));
                    }
                    steps.push(Ok(bytes));
                    steps
                }
                Err(err) => vec![Err(err)],
            };
            futures_util::stream::iter(steps)
        })
        .then(move |item| {
            let link = Arc::clone(&link);
            async move {
                if let Ok(bytes) = &item {
                    let done = link.link.reserve(bytes.len(), rate);
                    tokio::time::sleep_until(done).await;
                }
                item
            }
        });
    Response::from_parts(parts, Body::from_stream(paced))
}
