//! Counters a long fetch or push updates as it goes; the Python layer reads them on its
//! signal-check tick to draw a progress bar, without the core knowing about Python.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one operation. Cheap to update from many tasks.
#[derive(Debug, Default)]
pub struct Progress {
    rows: AtomicU64,
    pages: AtomicU64,
    bytes: AtomicU64,
    retries: AtomicU64,
}

/// A copy of [`Progress`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// Rows decoded (fetch) or applied (push).
    pub rows: u64,
    /// Pages (fetch) or chunks (push) completed.
    pub pages: u64,
    /// Body bytes received or sent.
    pub bytes: u64,
    /// Requests retried.
    pub retries: u64,
}

impl Progress {
    /// Adds a completed page or chunk of `rows` rows.
    pub fn add_page(&self, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.pages.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds transferred body bytes.
    pub fn add_bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts one retried request.
    pub fn add_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            rows: self.rows.load(Ordering::Relaxed),
            pages: self.pages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}
