//! The Python bindings: the only place (with `lib.rs`) that uses pyo3. Thin wrappers that convert
//! arguments at the edge (`args`), run core futures with the GIL released (`runtime`), and map
//! errors in one place (`errors`). One file per feature, mirrored by a stub section and a test.

pub mod args;
pub mod arrow;
pub mod client;
pub mod errors;
pub mod fetch;
pub mod push;
pub mod push_result;
pub mod query;
pub mod runtime;
pub mod stream;
pub mod testing;
pub mod write;

use pyo3::prelude::*;

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
    // Records go to the `converz` logger (every call site sets `target: "converz"`), and only
    // those: the crates below log too (rustls an ERROR line per refused certificate, outside
    // trial 18), saying again what the raised error says, under loggers a user never set up.
    // A second import in the same process (subinterpreters, reloads) keeps the first bridge.
    let _ = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::LoggersAndLevels)?
        .filter(log::LevelFilter::Off)
        .filter_target("converz".to_owned(), log::LevelFilter::Debug)
        .install();
    Ok(())
}
