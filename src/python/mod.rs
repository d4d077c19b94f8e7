//! The Python bindings: the only place (with `lib.rs`) that uses pyo3.

pub mod testing;

use pyo3::prelude::*;

/// Adds module attributes; called from `#[pymodule_init]`.
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
    Ok(())
}
