//! The bridge from Rust's `log` records to Python's `logging` (pyo3-log), guarded so that a
//! Python logging handler that raises cannot fail the call that logged.
//!
//! pyo3-log's `log` cannot return a handler's error, so it sets it as the thread's current
//! exception. On the thread of the call that logged (a fetch logs its page count there after
//! its pages are in) that exception was still set when the call returned its result, and Python
//! raised `SystemError: ... returned a result with an exception set` instead of giving it. Here
//! an `Exception` a handler raises is reported as Python reports one it cannot raise
//! (`sys.unraisablehook`: "Exception ignored in: <Logger converz ...>" and its traceback) and
//! the call goes on; a stop (`KeyboardInterrupt` from a signal handler that ran inside the
//! handler's Python code) stays set, for the running operation to end on
//! ([`super::runtime::enter_converz`] takes it at its next tick and at its end). Signal
//! handlers run on the main thread only, so a stop comes from a record logged there: the
//! operation's own future, polled on the calling thread, logs inside the operation.

use log::{LevelFilter, Log, Metadata, Record};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

/// pyo3-log's logger, whose handlers' exceptions are reported instead of left set.
struct Guarded(pyo3_log::Logger);

impl Log for Guarded {
    fn enabled(&self, metadata: &Metadata) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &Record) {
        // A record no logger takes costs no GIL (pyo3-log's `log` checks the same first).
        if !self.0.enabled(record.metadata()) {
            return;
        }
        Python::attach(|py| {
            let before = PyErr::take(py);
            self.0.log(record);
            let stop = PyErr::take(py).and_then(|raised| {
                if !raised.is_instance_of::<PyException>(py) {
                    return Some(raised);
                }
                ignore_log_error(raised.into_value(py).into_bound(py));
                None
            });
            // What was set before the record stays set, unless a stop came: ending the
            // operation matters more than an exception it would have raised anyway.
            if let Some(err) = stop.or(before) {
                err.restore(py);
            }
        });
    }

    fn flush(&self) {}
}

/// Installs the bridge as the process's `log` logger, passing on records of target `converz`
/// at `Debug` and above, and returns the handle that clears its cached levels; `None` when a
/// logger was installed already (a second import in the same process: subinterpreters,
/// reloads), which is kept.
pub(crate) fn install(py: Python<'_>) -> PyResult<Option<pyo3_log::ResetHandle>> {
    let bridge = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels)?
        .filter(LevelFilter::Off)
        .filter_target("converz".to_owned(), LevelFilter::Debug);
    let reset = bridge.reset_handle();
    if log::set_boxed_logger(Box::new(Guarded(bridge))).is_err() {
        return Ok(None);
    }
    log::set_max_level(LevelFilter::Debug);
    Ok(Some(reset))
}

/// Reports `err`, an exception a handler of the `converz` logger raised while the Python layer
/// logged, as the bridge reports one from a Rust record: through `sys.unraisablehook`, naming
/// the logger. One way for both, so a user's hook sees them all.
#[pyfunction]
pub fn ignore_log_error(err: Bound<'_, pyo3::exceptions::PyBaseException>) {
    let py = err.py();
    let logger = py
        .import("logging")
        .and_then(|logging| logging.call_method1("getLogger", ("converz",)))
        .ok();
    PyErr::from_value(err.into_any()).write_unraisable(py, logger.as_ref());
}
