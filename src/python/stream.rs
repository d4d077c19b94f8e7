//! `_core.BatchStream`: a consume-once iterator of Arrow tables, one per page, for fetches larger
//! than memory. Memory is bounded by the page window (`max_concurrency` pages in flight plus the
//! page being handed out), not by the result.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use super::arrow::PyArrowTable;
use super::runtime::{enter_converz, ProgressSink};
use crate::decode::{FetchDecoder, KeyDeduper};
use crate::http::paginate::{PageSpec, Pager};
use crate::http::ApiClient;

struct StreamState {
    pager: Pager,
    deduper: KeyDeduper,
    pending: VecDeque<RecordBatch>,
    started: bool,
}

/// Pages of a listing as Arrow tables, in order, each row once.
#[pyclass(name = "BatchStream", module = "converz._core", frozen)]
pub struct PyBatchStream {
    // `None` once exhausted, so a second `for` loop fails loudly instead of yielding nothing.
    state: Mutex<Option<StreamState>>,
}

impl PyBatchStream {
    /// A stream over `spec`; sends nothing until the first `next()`.
    pub fn new(api: ApiClient, spec: PageSpec, decoder: Arc<FetchDecoder>, key: &str) -> Self {
        let pager = Pager::new(api, spec, decoder, Arc::default());
        Self {
            state: Mutex::new(Some(StreamState {
                pager,
                deduper: KeyDeduper::new(key),
                pending: VecDeque::new(),
                started: false,
            })),
        }
    }
}

#[pymethods]
impl PyBatchStream {
    fn __iter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let consumed = {
            let guard = slf.get().state.lock().map_err(|_| poisoned())?;
            guard.as_ref().is_none_or(|state| state.started)
        };
        if consumed {
            return Err(PyRuntimeError::new_err(
                "this stream was already consumed; call iter_calls()/iter_reps() again for a new one",
            ));
        }
        Ok(slf)
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        // try_lock: blocking here while holding the GIL could deadlock with the thread that
        // holds the lock and needs the GIL for its progress tick.
        let mut guard = self.state.try_lock().map_err(|_| {
            PyRuntimeError::new_err("this stream is being read from another thread")
        })?;
        let Some(state) = guard.as_mut() else {
            return Ok(None);
        };
        state.started = true;
        loop {
            if let Some(batch) = state.pending.pop_front() {
                let table = PyArrowTable::new(batch.schema(), vec![batch]);
                return Ok(Some(table.into_py_any(py)?));
            }
            let sink = ProgressSink::new(None);
            let pager = &mut state.pager;
            let page = enter_converz(
                py,
                &sink,
                async move { pager.next_page().await.transpose() },
            )?;
            let Some(page) = page else {
                *guard = None;
                return Ok(None);
            };
            for batch in page.batches {
                let (kept, _dropped) = state.deduper.filter(&batch)?;
                if kept.num_rows() > 0 {
                    state.pending.push_back(kept);
                }
            }
        }
    }
}

fn poisoned() -> PyErr {
    PyRuntimeError::new_err("stream state poisoned by an earlier panic")
}
