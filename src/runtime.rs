//! The one tokio runtime of the process, created lazily and rebuilt after `fork()`.
//!
//! Airflow and Celery fork workers after the parent may already have used converz; a runtime's
//! worker threads do not survive a fork, so the runtime is stamped with the PID that built it
//! and a child builds its own instead of hanging on dead threads (tokio#4301).

use std::sync::{Arc, Mutex};

use tokio::runtime::Runtime;

pub mod call;
pub mod cores;

struct Stamped {
    pid: u32,
    runtime: Arc<Runtime>,
}

static RUNTIME: Mutex<Option<Stamped>> = Mutex::new(None);

/// The name of the runtime's threads: records they log wait for the calling thread to emit
/// them (`python::log_bridge`).
pub const THREAD_NAME: &str = "converz-io";

/// The process-wide runtime; a fresh one in a forked child.
///
/// # Panics
/// If the OS refuses to start threads.
pub fn runtime() -> Arc<Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match slot.as_ref() {
        Some(stamped) if stamped.pid == pid => Arc::clone(&stamped.runtime),
        _ => {
            // Two worker threads: pages are I/O-bound and decode runs on the blocking pool
            // sized to the machine, so more workers only add contention.
            let runtime = Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name(THREAD_NAME)
                    .enable_all()
                    .build()
                    .expect("cannot start the converz tokio runtime"),
            );
            // A runtime inherited through fork() is leaked, not dropped: dropping would try to
            // join threads that do not exist in this process.
            if let Some(old) = slot.take() {
                std::mem::forget(old.runtime);
            }
            *slot = Some(Stamped {
                pid,
                runtime: Arc::clone(&runtime),
            });
            runtime
        }
    }
}
