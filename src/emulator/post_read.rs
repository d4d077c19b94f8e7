//! Reading a POST body into a buffer that the next POST reuses, for as long as POSTs keep
//! coming.
//!
//! Why: the process's allocator maps every block over 1 MiB afresh and unmaps it when freed
//! (see `crate::alloc`), so each ~6 MB body read into new memory was ~1,500 page faults, the
//! largest part of the emulator's time in the kernel during a push. While any POST is in flight
//! ([`Lease`]), finished POSTs leave their buffers here (at most [`KEPT`]) and the packed
//! columns' smaller blocks in the allocator's cache; when the last one ends, all of it is freed,
//! so an idle emulator holds nothing for it.

use std::sync::Mutex;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use futures_util::StreamExt;

use super::query::ApiError;

/// The largest POST body read (100,000 rows of a wide frame are far beyond axum's 2 MB
/// default; the routes read bodies here, not through an extractor that limits them).
pub const MAX_BODY: usize = 1 << 30;

/// Buffers kept for the next POSTs: one per request a client usually has in flight.
const KEPT: usize = 4;

/// POSTs in flight and the buffers they left.
struct Pool {
    in_flight: usize,
    free: Vec<Vec<u8>>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    in_flight: 0,
    free: Vec::new(),
});

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // The pool holds only spare buffers: one left by a panicking thread is still usable.
    POOL.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Pool {
    /// A POST starts: a spare buffer, or a new empty one.
    fn enter(&mut self) -> Vec<u8> {
        self.in_flight += 1;
        self.free.pop().unwrap_or_default()
    }

    /// A POST ends with `buffer`: kept for the next one, or returned to be freed (with every
    /// spare one when no POST is left in flight).
    fn leave(&mut self, buffer: Vec<u8>) -> Vec<Vec<u8>> {
        self.in_flight -= 1;
        if self.in_flight == 0 {
            let mut freed = std::mem::take(&mut self.free);
            freed.push(buffer);
            freed
        } else if self.free.len() < KEPT && buffer.capacity() > 0 {
            self.free.push(buffer);
            Vec::new()
        } else {
            vec![buffer]
        }
    }
}

/// One POST in flight: its body buffer, given back when the POST is answered.
pub struct Lease {
    buffer: Vec<u8>,
    /// Freed blocks of up to 1 MiB (packed columns, row lists) are reused meanwhile.
    _recycling: crate::alloc::Recycling,
}

impl Lease {
    /// Starts a POST: takes a spare buffer if there is one.
    pub fn start() -> Self {
        let buffer = pool().enter();
        Self {
            buffer,
            _recycling: crate::alloc::Recycling::start(),
        }
    }

    /// Reads the whole of `body` (sized by its `Content-Length` when given), or the error to
    /// answer.
    pub async fn read(&mut self, headers: &HeaderMap, body: Body) -> Result<&[u8], ApiError> {
        let buffer = &mut self.buffer;
        buffer.clear();
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > MAX_BODY) {
            return Err(too_large());
        }
        buffer.reserve(declared.unwrap_or(0));
        let mut frames = body.into_data_stream();
        while let Some(frame) = frames.next().await {
            let frame = frame.map_err(|e| ApiError::body(format!("the body was not read: {e}")))?;
            if buffer.len() + frame.len() > MAX_BODY {
                return Err(too_large());
            }
            buffer.extend_from_slice(&frame);
        }
        Ok(buffer)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        // Freed after the lock is released: unmapping takes a while.
        let freed = pool().leave(buffer);
        drop(freed);
    }
}

/// 413 for a body over [`MAX_BODY`].
fn too_large() -> ApiError {
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_many_rows",
        message: format!("the body is over {MAX_BODY} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_kept_while_posts_are_in_flight_and_freed_after_the_last() {
        let mut pool = Pool {
            in_flight: 0,
            free: Vec::new(),
        };
        let first = pool.enter();
        assert_eq!(first.capacity(), 0);
        let mut buffers: Vec<Vec<u8>> = (0..KEPT + 1).map(|_| pool.enter()).collect();
        for buffer in &mut buffers {
            buffer.reserve(100);
        }
        // KEPT of them are kept, the one more is freed.
        let freed: usize = buffers.into_iter().map(|b| pool.leave(b).len()).sum();
        assert_eq!((freed, pool.free.len()), (1, KEPT));
        // The next POST reuses one (its memory already touched).
        let again = pool.enter();
        assert!(again.capacity() >= 100);
        assert_eq!(pool.leave(again).len(), 0);
        // The last POST to end frees every spare buffer and its own.
        assert_eq!(pool.leave(first).len(), KEPT + 1);
        assert_eq!((pool.in_flight, pool.free.len()), (0, 0));
    }
}
