//! The Python bindings: the only place (with `lib.rs`) that uses pyo3. Thin wrappers that convert
//! arguments at the edge (`args`), run core futures with the GIL released (`runtime`), and map
//! errors in one place (`errors`). One file per feature, mirrored by a stub section and a test.

pub mod args;
pub mod arrow;
pub mod caught_panic;
pub mod client;
pub mod errors;
pub mod fetch;
pub mod log_bridge;
pub mod push;
pub mod push_result;
pub mod query;
pub mod runtime;
pub mod stream;
pub mod testing;
pub mod write;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;

use pyo3::prelude::*;

/// Clears the bridge's cached logger levels (see [`refresh_log_level`]).
static LOG_RESET: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();
/// Which levels the `converz` logger took when the last operation started (-1: none yet).
static LOG_LEVEL_SEEN: AtomicI64 = AtomicI64::new(-1);
/// Python's levels for the bridge's Trace, Debug, Info, Warn and Error.
const LEVELS: [i64; 5] = [5, 10, 20, 30, 40];

/// Makes the log bridge see the `converz` logger's level as it is now. The bridge caches a
/// logger's level on first use, so that a record below it costs no GIL; without this, a level
/// set after the first fetch (`logging.getLogger("converz").setLevel("DEBUG")` in a notebook,
/// to see where a slow fetch's time goes) was never seen, and its records never came. Called
/// with the GIL held as every operation starts ([`runtime::enter_converz`]); the cache is
/// cleared only when what the logger takes changed, so the threads that log keep
/// short-circuiting. What it takes is asked as the bridge asks it, level by level with
/// `isEnabledFor`, which also sees `logging.disable()` and a logger set `disabled` (outside
/// trial 23b: a fetch while logging was disabled left the bridge silent after it was enabled
/// again, the level unchanged).
///
/// A logging set-up that fails to answer leaves the bridge as it was; an exception that is not
/// an `Exception` (Ctrl-C's `KeyboardInterrupt`, the CLI's SIGTERM raised as one, `SystemExit`)
/// is returned: a signal handler may run while the logger's Python code runs, and its exception
/// dropped here was a stop lost, which the CLI's handler does not take twice (a fetch sent
/// SIGTERM then ran to its end and exited 0).
pub(crate) fn refresh_log_level(py: Python<'_>) -> PyResult<()> {
    let Some(reset) = LOG_RESET.get() else {
        return Ok(());
    };
    let taken = |logger: &Bound<'_, PyAny>| -> PyResult<i64> {
        let mut mask = 0;
        for (bit, level) in LEVELS.iter().enumerate() {
            if logger
                .call_method1("isEnabledFor", (*level,))?
                .is_truthy()?
            {
                mask |= 1 << bit;
            }
        }
        Ok(mask)
    };
    let asked = py
        .import("logging")
        .and_then(|logging| logging.call_method1("getLogger", ("converz",)))
        .and_then(|logger| taken(&logger));
    let mask = match asked {
        Ok(mask) => mask,
        Err(err) => {
            runtime::only_a_stop(py, err)?;
            -1
        }
    };
    if LOG_LEVEL_SEEN.swap(mask, Ordering::Relaxed) != mask {
        reset.reset();
    }
    Ok(())
}

/// Adds module attributes and routes Rust `log` records to Python's `logging`.
pub fn init_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "build_profile",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    )?;
    // The words for a str no request can carry, for the Python layer's own checks.
    m.add("NOT_UNICODE", args::NOT_UNICODE)?;
    // Records go to the `converz` logger (every call site sets `target: "converz"`), and only
    // those: the crates below log too (rustls an ERROR line per refused certificate, outside
    // trial 18), saying again what the raised error says, under loggers a user never set up.
    runtime::watch_interpreter_exit(m.py())?;
    if let Some(reset) = log_bridge::install(m.py())? {
        let _ = LOG_RESET.set(reset);
    }
    Ok(())
}
