//! `_core.BatchStream`: a consume-once iterator of Arrow tables (a page's decoded batches, up to
//! 65,536 rows each), for fetches larger than memory. It runs the same listing engine as the eager
//! fetch (`http::listing`), so every row arrives once, with the same repair pass and warnings.
//! Memory is bounded by the page window (`max_concurrency` pages in flight plus the page being
//! handed out) and one set of keys. Each page carries every column seen so far, at the widest type
//! so far (`Listing::streamed`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::RecordBatch;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use super::arrow::PyArrowTable;
use super::log_bridge::Call;
use super::runtime::{enter_converz_in, ProgressSink};
use crate::http::listing::{Listing, StreamedBatch};

struct StreamState {
    listing: Listing,
    pending: VecDeque<StreamedBatch>,
    /// The page the latest `__next__` handed out, until the next call: Python may raise a
    /// Ctrl-C in the caller's frame as the call returns, before the page is bound to anything,
    /// and `take_back` then puts it back.
    last: Option<StreamedBatch>,
    /// Why the stream cannot go on, once it cannot: a page was being read when an error or a
    /// Ctrl-C stopped it, so that page's rows may already count as handed out (their keys
    /// kept) without having been; going on would skip them in silence.
    broken: Option<String>,
    /// The process that made the stream: its pages in flight are tasks of that process's
    /// runtime, which a forked child does not have.
    pid: u32,
    /// Held from the first page to the end, so page buffers are reused from one page to the
    /// next instead of mapped afresh (see `alloc`); dropped with the state when the stream ends.
    recycling: Option<crate::alloc::Recycling>,
    /// The call every `next()` runs as, until the stream ends: the records of its pages
    /// fetched ahead wait for the thread reading it (`runtime::enter_converz_in`).
    call: Call,
}

/// Pages of a listing as Arrow tables, in order, each row once.
#[pyclass(name = "BatchStream", module = "converz._core", frozen)]
pub struct PyBatchStream {
    // `None` once exhausted, so a second `for` loop fails loudly instead of yielding nothing.
    state: Mutex<Option<StreamState>>,
    /// The listing's warnings, kept once it has ended.
    warnings: Mutex<Vec<String>>,
    /// How pages reach the caller, once `deliver_as` set it (else as Arrow tables).
    delivery: OnceLock<Delivery>,
    /// What was read and handed out so far, for the repr; kept outside `state`, which ends
    /// with the stream, and read without its lock, which a reading thread may hold.
    counts: Counts,
}

/// Counters of a stream's progress.
#[derive(Default)]
struct Counts {
    /// Pages the listing has read (repair pass included).
    pages: AtomicU64,
    /// Tables handed out (not counting one taken back).
    tables: AtomicU64,
    /// Their rows.
    rows: AtomicU64,
}

impl Counts {
    fn handed_out(&self, batch: &RecordBatch) {
        self.tables.fetch_add(1, Ordering::Relaxed);
        self.rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
    }

    fn taken_back(&self, batch: &RecordBatch) {
        self.tables.fetch_sub(1, Ordering::Relaxed);
        self.rows
            .fetch_sub(batch.num_rows() as u64, Ordering::Relaxed);
    }
}

/// What the Python layer wants done at hand-out and at the end, done here rather than in a
/// Python `__next__` around this one: Python checks for signals as a call returns, so a Ctrl-C
/// there would drop a page this stream already counted as handed out. A `for` loop over this
/// iterator runs no bytecode between `__next__` and binding the page.
struct Delivery {
    /// Called with each page's Arrow table; its result is what `__next__` returns.
    wrap: Py<PyAny>,
    /// Called once when the listing has ended, with its warnings and the columns its pages had;
    /// returns the warnings the stream reports (it may add its own).
    on_end: Py<PyAny>,
}

impl PyBatchStream {
    /// A stream over `listing`; sends nothing until the first `next()`.
    pub fn new(listing: Listing) -> Self {
        Self {
            state: Mutex::new(Some(StreamState {
                listing,
                pending: VecDeque::new(),
                last: None,
                broken: None,
                pid: std::process::id(),
                recycling: None,
                call: Call::begin(),
            })),
            warnings: Mutex::default(),
            delivery: OnceLock::new(),
            counts: Counts::default(),
        }
    }

    /// The page as the caller takes it: `wrap(table, place)`, or the table. The page goes back to
    /// the front of `pending` if that fails or a signal came meanwhile, so the next call hands
    /// it out again.
    fn hand_out(
        &self,
        py: Python<'_>,
        state: &mut StreamState,
        streamed: StreamedBatch,
    ) -> PyResult<Py<PyAny>> {
        // A Ctrl-C that arrived while the page was fetched is raised by Python as soon as this
        // call returns, and the page handed out with it would be lost. Raise it here instead.
        let delivered = py.check_signals().and_then(|()| {
            let declared = Arc::clone(&streamed.declared);
            let own = streamed.own.clone();
            let table =
                PyArrowTable::streamed(declared, streamed.batch.clone(), own).into_py_any(py)?;
            let Some(delivery) = self.delivery.get() else {
                return Ok(table);
            };
            // The table's place in the stream: tables handed out so far (one taken back is
            // not counted, so it keeps its place when handed out again).
            let place = self.counts.tables.load(Ordering::Relaxed);
            let page = delivery.wrap.call1(py, (table, place))?;
            // `wrap` ran Python code, which may have let a signal in without raising it yet.
            py.check_signals()?;
            Ok(page)
        });
        match delivered {
            Ok(page) => {
                self.counts.handed_out(&streamed.batch);
                state.last = Some(streamed);
                Ok(page)
            }
            Err(err) => {
                state.pending.push_front(streamed);
                Err(err)
            }
        }
    }
}

#[pymethods]
impl PyBatchStream {
    fn __iter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        // Exhausted only: a stream read partly with next() goes on in a `for` loop.
        // try_lock, as everywhere here: a stream locked by a thread reading it is not
        // exhausted, and its next() says it is in use.
        let consumed = slf
            .get()
            .state
            .try_lock()
            .is_ok_and(|state| state.is_none());
        if consumed {
            return Err(super::errors::stream_error(
                "this stream was already consumed; call iter_calls()/iter_reps() again for a new one",
            ));
        }
        Ok(slf)
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        // try_lock: blocking here while holding the GIL could deadlock with the thread that
        // holds the lock and needs the GIL for its progress tick.
        let mut guard = self.state.try_lock().map_err(|_| {
            super::errors::stream_error("this stream is being read from another thread")
        })?;
        let Some(state) = guard.as_mut() else {
            return Ok(None);
        };
        // The caller holds the page the previous call handed out.
        state.last = None;
        if let Some(why) = &state.broken {
            return Err(super::errors::stream_error(format!(
                "this stream stopped at {why} while reading a page, so it cannot tell which \
                 rows it still owes you; call iter_calls()/iter_reps() again for a new one"
            )));
        }
        if state.pid != std::process::id() {
            return Err(super::errors::stream_error(
                "this stream was started before fork() and its pages in flight stayed with the \
                 parent process; call iter_calls()/iter_reps() again in the child",
            ));
        }
        state
            .recycling
            .get_or_insert_with(crate::alloc::Recycling::start);
        loop {
            if let Some(batch) = state.pending.pop_front() {
                return self.hand_out(py, state, batch).map(Some);
            }
            let sink = ProgressSink::new(None);
            let listing = &mut state.listing;
            let page = enter_converz_in(py, &sink, &state.call, async move {
                listing.next_page().await.transpose()
            })
            .inspect_err(|err| {
                let name = err.get_type(py).name().map(|n| n.to_string());
                state.broken = Some(name.unwrap_or_else(|_| "an error".into()));
            })?;
            let Some(page) = page else {
                let mut warnings = state.listing.warnings();
                let columns = state.listing.streamed_columns();
                *self.warnings.lock().map_err(|_| poisoned())? = warnings.clone();
                *guard = None;
                // Unlocked first: the callback runs Python code, which may ask `exhausted`.
                drop(guard);
                if let Some(delivery) = self.delivery.get() {
                    warnings = delivery
                        .on_end
                        .call1(py, (warnings, columns))?
                        .extract(py)?;
                    *self.warnings.lock().map_err(|_| poisoned())? = warnings;
                }
                return Ok(None);
            };
            self.counts.pages.fetch_add(1, Ordering::Relaxed);
            let batches = state.listing.streamed(page).inspect_err(|err| {
                state.broken = Some(format!("an error ({err})"));
            })?;
            state.pending.extend(batches);
        }
    }

    /// Pages are handed out as `wrap(table, place)` (`place`: 0 for the first table), and `warnings = on_end(warnings, columns)` is
    /// called once the listing has ended; set once, before the first page.
    fn deliver_as(&self, wrap: Py<PyAny>, on_end: Py<PyAny>) -> PyResult<()> {
        self.delivery
            .set(Delivery { wrap, on_end })
            .map_err(|_| super::errors::stream_error("this stream's delivery is already set"))
    }

    /// Pages are handed out with each scalar column at the page's own type (see
    /// `Listing::keep_own_types`): for a file writer; set before the first page.
    fn keep_own_types(&self) -> PyResult<()> {
        let mut guard = self.state.try_lock().map_err(|_| {
            super::errors::stream_error("this stream is being read from another thread")
        })?;
        match guard.as_mut() {
            Some(state) if self.counts.pages.load(Ordering::Relaxed) == 0 => {
                state.listing.keep_own_types();
                Ok(())
            }
            _ => Err(super::errors::stream_error(
                "keep_own_types() comes before the first page",
            )),
        }
    }

    /// Puts the page the latest `__next__` handed out back at the front, for a caller that
    /// lost it to a Ctrl-C raised as that call returned; returns whether there was one.
    fn take_back(&self) -> PyResult<bool> {
        let mut guard = self.state.try_lock().map_err(|_| {
            super::errors::stream_error("this stream is being read from another thread")
        })?;
        let Some(state) = guard.as_mut() else {
            return Ok(false);
        };
        Ok(match state.last.take() {
            Some(streamed) => {
                self.counts.taken_back(&streamed.batch);
                state.pending.push_front(streamed);
                true
            }
            None => false,
        })
    }

    /// Whether the listing has ended and every page was handed out.
    #[getter]
    fn exhausted(&self) -> PyResult<bool> {
        Ok(self.state.try_lock().is_ok_and(|state| state.is_none()))
    }

    /// `(pages read, tables handed out, their rows, state)`, without reading anything: state
    /// is `"not started"`, `"open"`, `"finished"`, `"in use"` (another thread is reading it),
    /// `"broken: ..."` (why it cannot go on) or `"forked"` (started in a parent process).
    #[getter]
    fn progress(&self) -> (u64, u64, u64, String) {
        let pages = self.counts.pages.load(Ordering::Relaxed);
        let tables = self.counts.tables.load(Ordering::Relaxed);
        let rows = self.counts.rows.load(Ordering::Relaxed);
        let state = match self.state.try_lock() {
            Err(_) => "in use".to_owned(),
            Ok(guard) => match guard.as_ref() {
                None => "finished".to_owned(),
                Some(state) => match &state.broken {
                    Some(why) => format!("broken: stopped at {why} while reading a page"),
                    None if state.pid != std::process::id() => "forked".to_owned(),
                    None if pages == 0 && tables == 0 => "not started".to_owned(),
                    None => "open".to_owned(),
                },
            },
        };
        (pages, tables, rows, state)
    }

    /// What the listing noticed (capped pages, rows that moved); complete once exhausted.
    #[getter]
    fn warnings(&self) -> PyResult<Vec<String>> {
        Ok(self.warnings.lock().map_err(|_| poisoned())?.clone())
    }
}

fn poisoned() -> PyErr {
    super::errors::stream_error("stream state poisoned by an earlier panic")
}
