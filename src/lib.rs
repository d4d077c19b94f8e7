//! converz: the Converz Data API into Arrow, fast and lossless.
//!
//! This file is a table of contents. The core (`http`, `decode`, `encode`, `emulator`) is plain
//! Rust, testable with `cargo test`; only `python/` and this file touch pyo3.
#![deny(unsafe_code)]

mod alloc;
pub mod blank;
pub mod config;
pub mod decode;
pub mod emulator;
pub mod encode;
pub mod error;
pub mod http;
pub mod json_write;
pub mod printable;
pub mod python;
pub mod runtime;
pub mod text_cut;
pub mod type_tree;
pub mod views;
pub mod write;

pub use error::{Error, Result};

/// The native module `converz._core`; the public API is the Python package around it.
#[pyo3::pymodule(gil_used = false)]
mod _core {
    #[pymodule_export]
    use crate::python::arrow::PyArrowTable;
    #[pymodule_export]
    use crate::python::client::PyRawClient;
    #[pymodule_export]
    use crate::python::fetch::{concat_tables, empty_table, fetch, text_columns};
    #[pymodule_export]
    use crate::python::log_bridge::ignore_log_error;
    #[pymodule_export]
    use crate::python::push::{check_push_options, push};
    #[pymodule_export]
    use crate::python::push_result::{PyChunkResult, PyPushResult};
    #[pymodule_export]
    use crate::python::query::{
        check_query, normalize_date, normalize_datetime, redact_keys, remember_key,
    };
    #[pymodule_export]
    use crate::python::stream::PyBatchStream;
    #[pymodule_export]
    use crate::python::testing::{check_faults, PyEmulator};
    #[pymodule_export]
    use crate::python::write::conform_days;
    #[pymodule_export]
    use crate::python::write::csv_bytes;
    #[pymodule_export]
    use crate::python::write::file_place;
    #[pymodule_export]
    use crate::python::write::ipc_stream_bytes;
    #[pymodule_export]
    use crate::python::write::own_columns;
    #[pymodule_export]
    use crate::python::write::read_file;
    #[pymodule_export]
    use crate::python::write::read_ipc_stream;
    #[pymodule_export]
    use crate::python::write::read_parquet_files;
    #[pymodule_export]
    use crate::python::write::split_days;
    #[pymodule_export]
    use crate::python::write::widened_columns;
    #[pymodule_export]
    use crate::python::write::with_own_columns;
    #[pymodule_export]
    use crate::python::write::PyFileWriter;
    #[pymodule_export]
    use crate::python::write::PyKeySet;

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        crate::python::init_module(m)
    }
}
