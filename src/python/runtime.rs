//! The one way Python code runs Rust futures: the GIL released, the process runtime, Ctrl-C
//! honoured, and a progress callback fed.
//!
//! `check_signals` only works on the main thread with the GIL held, so the future is raced
//! against a ~100 ms tick that briefly re-attaches, checks for Ctrl-C and reports progress.
//! Dropping the future on interrupt cancels its requests (the pager aborts its tasks on drop).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use crate::error::{Error, Result};
use crate::http::Progress;

const TICK: Duration = Duration::from_millis(100);

/// Where a long operation reports its counters: `callback(rows, pages, bytes, retries)`.
pub struct ProgressSink {
    pub counters: Arc<Progress>,
    pub callback: Option<Py<PyAny>>,
}

impl ProgressSink {
    /// Counters with an optional Python callback.
    pub fn new(callback: Option<Py<PyAny>>) -> Self {
        Self {
            counters: Arc::new(Progress::default()),
            callback,
        }
    }

    fn report(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(callback) = &self.callback {
            let s = self.counters.snapshot();
            callback.call1(py, (s.rows, s.pages, s.bytes, s.retries))?;
        }
        Ok(())
    }
}

/// Runs `future` to completion on the converz runtime with the GIL released.
///
/// Returns the future's result, or the Python exception raised by a signal handler (Ctrl-C →
/// `KeyboardInterrupt`) or by the progress callback.
pub fn enter_converz<T, F>(py: Python<'_>, sink: &ProgressSink, future: F) -> PyResult<T>
where
    F: Future<Output = Result<T>> + Send,
    T: Send,
{
    enter_converz_in(py, sink, &super::log_bridge::Call::begin(), future)
}

/// [`enter_converz`] as part of `call`, a call that spans several operations: a stream's, whose
/// pages are fetched ahead between its `next()`s, so that the records its tasks log then wait
/// for the thread reading it (its next `next()`), not for whichever call runs next (outside
/// trial 40 F2: another thread's call emitted them, and a handler's stop on them stopped it).
pub(crate) fn enter_converz_in<T, F>(
    py: Python<'_>,
    sink: &ProgressSink,
    call: &super::log_bridge::Call,
    future: F,
) -> PyResult<T>
where
    F: Future<Output = Result<T>> + Send,
    T: Send,
{
    // A logging handler or progress callback runs inside the call that logs or reports, on its
    // thread (the calling one, or an I/O thread for a record logged there): a converz call
    // made from it would start the runtime inside itself, which panics (outside trial 37 F5).
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Reentered.into());
    }
    super::refresh_log_level(py)?;
    // Records converz's threads logged for this call since its last operation (a stream's
    // pages fetched ahead), and for calls that have ended.
    emit_logged(py, call)?;
    let runtime = crate::runtime::runtime();
    let outcome: PyResult<Result<T>> = py.detach(|| {
        runtime.block_on(crate::runtime::call::in_call(call.id(), async {
            tokio::pin!(future);
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    result = &mut future => return Ok(result),
                    _ = tick.tick() => {
                        // Once the interpreter exits, a daemon thread's operation no longer
                        // enters Python: attaching to an interpreter being torn down crashed
                        // the process (outside trials 37 F6, 38 F2). The operation runs to its
                        // end, or the process ends first.
                        if interpreter_exits() {
                            continue;
                        }
                        Python::attach(|py| {
                            emit_logged(py, call)?;
                            py.check_signals()?;
                            sink.report(py)
                        })?;
                    }
                }
            }
        }))
    });
    // The records logged to the end are emitted whatever the outcome; the operation's own
    // error comes before a stop raised by a handler on them.
    let logged = emit_logged(py, call);
    let result = outcome?;
    logged?;
    // A last report so a bar ends at the true totals.
    sink.report(py)?;
    result.map_err(PyErr::from)
}

/// Emits the records converz's threads logged for `call` (and for calls that have ended), then
/// takes a stop a logging handler raised on them ([`stray_stop`]): at an operation's start, at
/// each tick and at its end.
fn emit_logged(py: Python<'_>, call: &super::log_bridge::Call) -> PyResult<()> {
    super::log_bridge::emit_waiting(py, call.id());
    stray_stop(py)
}

/// Takes the exception the log bridge left set on this thread: a stop raised by a signal
/// handler that ran inside a logging handler's Python code (`KeyboardInterrupt`, the CLI's
/// SIGTERM raised as one), which the bridge cannot return (see `log_bridge`) and which is
/// returned here, to stop the operation. The bridge reports any other exception itself; one
/// found here anyway is dropped: a logging set-up that fails must not fail a fetch.
fn stray_stop(py: Python<'_>) -> PyResult<()> {
    PyErr::take(py).map_or(Ok(()), |err| only_a_stop(py, err))
}

/// `err` when it is a stop (not an `Exception`: `KeyboardInterrupt`, the CLI's SIGTERM raised
/// as one, `SystemExit`), which must end the operation; `Ok` for any other, which the caller
/// drops (a logging set-up that fails must not fail a fetch).
pub(crate) fn only_a_stop(py: Python<'_>, err: PyErr) -> PyResult<()> {
    match err.is_instance_of::<pyo3::exceptions::PyException>(py) {
        true => Ok(()),
        false => Err(err),
    }
}

/// Set when the interpreter starts to exit (an `atexit` callback, which runs before it tears
/// anything down; registered by [`watch_interpreter_exit`]).
static INTERPRETER_EXITS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the interpreter has started to exit.
pub(crate) fn interpreter_exits() -> bool {
    INTERPRETER_EXITS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The `atexit` callback that says the interpreter exits.
#[pyfunction]
fn interpreter_exiting() {
    INTERPRETER_EXITS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Registers [`interpreter_exiting`] with Python's `atexit`.
pub(crate) fn watch_interpreter_exit(py: Python<'_>) -> PyResult<()> {
    let callback = wrap_pyfunction!(interpreter_exiting, py)?;
    py.import("atexit")?.call_method1("register", (callback,))?;
    Ok(())
}
