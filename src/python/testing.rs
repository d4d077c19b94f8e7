//! placeholder: the emulator's Python class.
use pyo3::prelude::*;

/// The emulator (placeholder).
#[pyclass(name = "Emulator", module = "converz._core", frozen)]
pub struct PyEmulator {}
