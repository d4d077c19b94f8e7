//! The bridge from Rust's `log` records to Python's `logging` (pyo3-log), guarded so that a
//! Python logging handler can neither fail the call that logged nor block converz's threads.
//!
//! pyo3-log's `log` cannot return a handler's error, so it sets it as the thread's current
//! exception. On the thread of the call that logged (a fetch logs its page count there after
//! its pages are in) that exception was still set when the call returned its result, and Python
//! raised `SystemError: ... returned a result with an exception set` instead of giving it. Here
//! an `Exception` a handler raises is reported as Python reports one it cannot raise
//! (`sys.unraisablehook`: "Exception ignored in: <Logger converz ...>" and its traceback) and
//! the call goes on; a stop (`KeyboardInterrupt` from a signal handler that ran inside the
//! handler's Python code) stays set, for the running operation to end on
//! ([`super::runtime::enter_converz`] takes it at its next tick and at its end).
//!
//! Records logged on converz's own threads (`converz-io`: page lines, retries) are not handed
//! to Python there: they wait in [`WAITING`] and the calling thread emits them at the
//! operation's next tick and at its end ([`emit_waiting`]). Emitted on those threads, a handler
//! that called converz back deadlocked (it held its lock on the calling thread while the
//! threads serving the inner call waited for that lock to log), a stop a handler raised there
//! was lost, and a record logged while the interpreter shut down crashed the process (outside
//! trial 37 F2, F5, F6). So only the calling thread, which holds a Python thread state of its
//! own, ever enters Python to log. Each record waits with the call its task served
//! ([`crate::runtime::call`]), and a call's thread emits its own call's records and those of
//! calls no longer running (a stream's prefetched pages), never another running call's. A
//! record emitted so is dated when it was logged, not when it was emitted (outside trial 38
//! F5/F6: a stream's page lines all bore the time of the `next()` that emitted them).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

use log::{LevelFilter, Log, Metadata, Record};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

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
        if std::thread::current().name() == Some(crate::runtime::THREAD_NAME) {
            keep(record);
            return;
        }
        Python::attach(|py| {
            // The records this call's tasks logged before this one go first: records reach
            // Python in the order they were logged (outside trial 44 F4: a fetch's summary line
            // came before its page lines, dated after them).
            if let Some(call) = crate::runtime::call::current_call() {
                emit_waiting(py, call);
            }
            guarded(py, |py| {
                self.0.log(record);
                PyErr::take(py).map_or(Ok(()), Err)
            })
        });
    }

    fn flush(&self) {}
}

/// Runs `log`, which hands a record to Python's handlers: an `Exception` it raises is reported
/// ([`ignore_log_error`]), a stop is left set for the running operation to end on. What was set
/// before stays set, unless a stop came: ending the operation matters more than an exception it
/// would have raised anyway.
fn guarded(py: Python<'_>, log: impl FnOnce(Python<'_>) -> PyResult<()>) {
    let before = PyErr::take(py);
    let stop = log(py).err().and_then(|raised| {
        if !raised.is_instance_of::<PyException>(py) {
            return Some(raised);
        }
        ignore_log_error(raised.into_value(py).into_bound(py));
        None
    });
    if let Some(err) = stop.or(before) {
        err.restore(py);
    }
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

/// The most records that wait for the calling thread; past it, new ones are counted, not kept
/// (a stream left unread while its pages come in logs a line a page, and no call emits them).
const MOST_WAITING: usize = 10_000;

/// Records logged on converz's threads, waiting for a calling thread to emit them.
static WAITING: Mutex<Waiting> = Mutex::new(Waiting::new(0));

struct Waiting {
    /// The process whose threads logged them: a forked child does not emit its parent's.
    pid: u32,
    records: VecDeque<Kept>,
    /// Records not kept since the last emit: too many waited, or the lock stayed taken.
    dropped: u64,
    /// The calls running now ([`Call`]), whose records only their own thread emits.
    running: Vec<u64>,
}

impl Waiting {
    const fn new(pid: u32) -> Self {
        Self {
            pid,
            records: VecDeque::new(),
            dropped: 0,
            running: Vec::new(),
        }
    }
}

/// A record's parts, owned, with the call its task served.
struct Kept {
    call: Option<u64>,
    level: log::Level,
    target: String,
    message: String,
    file: Option<String>,
    line: Option<u32>,
    /// When it was logged: the Python record's time.
    at: SystemTime,
}

/// Takes [`WAITING`] without blocking: held only to add or take records, it is free but for a
/// moment; in a child forked while a thread held it, it stays taken, and there records are
/// dropped instead of hanging the process. `None` when it stays taken. What it holds is this
/// process's: a forked child starts it afresh.
fn waiting() -> Option<std::sync::MutexGuard<'static, Waiting>> {
    for _ in 0..1_000 {
        let mut guard = match WAITING.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                std::thread::yield_now();
                continue;
            }
        };
        let pid = std::process::id();
        if guard.pid != pid {
            *guard = Waiting::new(pid);
        }
        return Some(guard);
    }
    None
}

/// A running call, from [`Call::begin`] until dropped: its tasks' records are its own.
pub(crate) struct Call {
    id: u64,
}

impl Call {
    /// A new call, running.
    pub(crate) fn begin() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if let Some(mut waiting) = waiting() {
            waiting.running.push(id);
        }
        Self { id }
    }

    /// What its tasks carry ([`crate::runtime::call`]).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(mut waiting) = waiting() {
            waiting.running.retain(|&id| id != self.id);
        }
    }
}

/// Keeps `record` for the calling thread to emit.
fn keep(record: &Record) {
    let kept = Kept {
        call: crate::runtime::call::current_call(),
        level: record.level(),
        target: record.target().to_owned(),
        message: record.args().to_string(),
        file: record.file().map(str::to_owned),
        line: record.line(),
        at: SystemTime::now(),
    };
    let Some(mut waiting) = waiting() else {
        return;
    };
    if waiting.records.len() < MOST_WAITING {
        waiting.records.push_back(kept);
    } else {
        waiting.dropped += 1;
    }
}

/// Emits, on this thread (one with a Python thread state: `call`'s calling thread), in the
/// order they were logged, the waiting records of `call` and of calls no longer running; those
/// of other running calls wait for their own threads.
pub(crate) fn emit_waiting(py: Python<'_>, call: u64) {
    let (records, dropped) = match waiting() {
        Some(mut waiting) => {
            let waiting = &mut *waiting;
            let (mine, others): (VecDeque<Kept>, VecDeque<Kept>) =
                std::mem::take(&mut waiting.records)
                    .into_iter()
                    .partition(|kept| {
                        kept.call
                            .is_none_or(|id| id == call || !waiting.running.contains(&id))
                    });
            waiting.records = others;
            (mine, std::mem::take(&mut waiting.dropped))
        }
        None => return,
    };
    for kept in records {
        guarded(py, |py| emit(py, &kept));
    }
    if dropped > 0 {
        log::warn!(target: "converz",
            "{dropped} log records of converz's threads were dropped: more than {MOST_WAITING} \
             waited to be emitted");
    }
}

/// Hands `kept` to Python's logger of its target as `pyo3_log` hands a record (the same logger
/// name, level number and record fields), dated when it was logged.
fn emit(py: Python<'_>, kept: &Kept) -> PyResult<()> {
    let name = kept.target.replace("::", ".");
    let logger = py
        .import("logging")?
        .call_method1("getLogger", (name.as_str(),))?;
    let level = match kept.level {
        log::Level::Error => 40,
        log::Level::Warn => 30,
        log::Level::Info => 20,
        log::Level::Debug => 10,
        log::Level::Trace => 5,
    };
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let record = logger.call_method1(
        "makeRecord",
        (
            name,
            level,
            kept.file.as_deref(),
            kept.line.unwrap_or_default(),
            kept.message.as_str(),
            PyTuple::empty(py),
            py.None(),
        ),
    )?;
    // Moved back from now to when it was logged: `created`, and the two fields Python derives
    // from it (milliseconds within the second, and since `logging` was loaded), as it does.
    let logged = kept
        .at
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let now: f64 = record.getattr("created")?.extract()?;
    let relative: f64 = record.getattr("relativeCreated")?.extract()?;
    record.setattr("created", logged)?;
    record.setattr("msecs", ((logged - logged.floor()) * 1000.0).floor())?;
    record.setattr("relativeCreated", relative - (now - logged) * 1000.0)?;
    logger.call_method1("handle", (record,))?;
    Ok(())
}
