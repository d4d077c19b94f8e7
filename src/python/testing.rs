//! `_core.Emulator`: the emulator as a Python object (wrapped by `converz.testing.Emulator`).

use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::args::{AnyInt, DateArg};
use crate::emulator::{EmulatorConfig, Faults, RunningEmulator};
use crate::error::Error;

/// A running emulator.
#[pyclass(name = "Emulator", module = "converz._core", frozen)]
pub struct PyEmulator {
    running: Mutex<Option<RunningEmulator>>,
    url: String,
    api_key: String,
}

/// The most seconds `latency` and `retry_after` take: longer than any test waits, and far from
/// what `Duration` can hold.
const MAX_SECONDS: f64 = 86_400.0;
/// Bandwidth bounds in bytes per second: below 1 kB/s a page would take hours; above 1 TB/s
/// the limit means nothing.
const MIN_BANDWIDTH: f64 = 1e3;
const MAX_BANDWIDTH: f64 = 1e12;
/// The most calls, reps and days a tenant has: beyond them generation would exhaust memory or
/// leave the calendar.
const MAX_CALLS: i128 = 10_000_000;
const MAX_REPS: i128 = 1_000_000;
const MAX_DAYS: i128 = 36_500;

/// A `converz.testing.Faults` (a dataclass, so every attribute is present), read by name.
#[derive(FromPyObject)]
pub struct FaultSettings {
    error_rate: f64,
    rate_limit_rate: f64,
    retry_after: Option<f64>,
    latency: f64,
    bandwidth: Option<f64>,
    drop_rate: f64,
    page_cap: Option<AnyInt>,
    insert_every: Option<AnyInt>,
    html_errors: bool,
}

impl FaultSettings {
    /// Checks the ranges; zero caps and periods mean off.
    fn validate(self) -> Result<Faults, Error> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("drop_rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(Error::out_of_range(name, 0, 1, rate));
            }
        }
        let seconds = |name, value: f64| {
            if (0.0..=MAX_SECONDS).contains(&value) {
                Ok(value)
            } else {
                Err(Error::out_of_range(
                    name,
                    0,
                    format!("{MAX_SECONDS} seconds"),
                    value,
                ))
            }
        };
        let period = |name, value: Option<AnyInt>| {
            value
                .map(|v| v.within(name, 0, i128::from(u32::MAX)))
                .transpose()
                .map(|v| v.map(|v| v as usize).filter(|&v| v > 0))
        };
        Ok(Faults {
            error_rate: self.error_rate,
            rate_limit_rate: self.rate_limit_rate,
            retry_after: self
                .retry_after
                .map(|r| seconds("retry_after", r))
                .transpose()?,
            latency: Duration::from_secs_f64(seconds("latency", self.latency)?),
            bandwidth: self
                .bandwidth
                .map(|b| {
                    if (MIN_BANDWIDTH..=MAX_BANDWIDTH).contains(&b) {
                        Ok(b)
                    } else {
                        Err(Error::out_of_range(
                            "bandwidth",
                            MIN_BANDWIDTH,
                            format!("{MAX_BANDWIDTH} bytes per second (or None for unlimited)"),
                            b,
                        ))
                    }
                })
                .transpose()?,
            drop_rate: self.drop_rate,
            page_cap: period("page_cap", self.page_cap)?,
            insert_every: period("insert_every", self.insert_every)?,
            html_errors: self.html_errors,
        })
    }
}

/// Checks a `converz.testing.Faults` as an emulator would on taking it, so a fault out of range
/// is refused where it is written (`Faults(error_rate=5)`), not first where it is used; one
/// check ([`FaultSettings::validate`]) for both.
#[pyfunction]
pub fn check_faults(faults: FaultSettings) -> PyResult<()> {
    faults.validate()?;
    Ok(())
}

/// The settings of an emulator, as `converz.testing.Emulator` passes them (one dict, every key).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct EmulatorSettings {
    calls: AnyInt,
    reps: AnyInt,
    seed: AnyInt,
    host: String,
    port: AnyInt,
    api_key: Option<String>,
    today: Option<DateArg>,
    days: AnyInt,
    faults: Option<FaultSettings>,
}

#[pymethods]
impl PyEmulator {
    #[new]
    fn new(py: Python<'_>, settings: EmulatorSettings) -> PyResult<Self> {
        let EmulatorSettings {
            calls,
            reps,
            seed,
            host,
            port,
            api_key,
            today,
            days,
            faults,
        } = settings;
        let defaults = EmulatorConfig::default();
        let port = port.within("port", 0, i128::from(u16::MAX))? as u16;
        let config = EmulatorConfig {
            calls: calls.within("calls", 0, MAX_CALLS)? as usize,
            // Zero reps is one rep: calls need someone to take them.
            reps: reps.within("reps", 0, MAX_REPS)?.max(1) as usize,
            seed: seed.within("seed", 0, i128::from(u64::MAX))? as u64,
            today: today
                .map(|d| d.date("today"))
                .transpose()?
                .unwrap_or(defaults.today),
            days: days.within("days", 1, MAX_DAYS)? as u32,
            api_key: api_key.unwrap_or(defaults.api_key),
            faults: faults
                .map(FaultSettings::validate)
                .transpose()?
                .unwrap_or_default(),
        };
        let running = py.detach(|| RunningEmulator::start(config, &host, port))?;
        Ok(Self {
            url: running.url(),
            api_key: running.api_key().to_owned(),
            running: Mutex::new(Some(running)),
        })
    }

    /// `http://127.0.0.1:PORT/api/v1`.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The key clients must send.
    #[getter]
    fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Replaces every fault setting.
    fn set_faults(&self, faults: FaultSettings) -> PyResult<()> {
        let faults = faults.validate()?;
        self.with_running(|running| running.set_faults(faults))
    }

    /// What went on the wire so far: `(responses, gzip_responses, body_bytes)`, body bytes
    /// as sent (after gzip).
    fn wire_stats(&self) -> PyResult<(u64, u64, u64)> {
        self.with_running(|running| {
            let wire = running.wire();
            (wire.responses, wire.gzip_responses, wire.body_bytes)
        })
    }

    /// Stops serving; idempotent.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let running = self
            .running
            .lock()
            .map_err(|_| PyRuntimeError::new_err("emulator state poisoned"))?
            .take();
        if let Some(mut running) = running {
            py.detach(move || running.stop());
        }
        Ok(())
    }

    /// True while serving.
    #[getter]
    fn running(&self) -> bool {
        self.running.lock().is_ok_and(|g| g.is_some())
    }
}

impl PyEmulator {
    /// Runs `f` on the running server; an error once it is stopped.
    fn with_running<T>(&self, f: impl FnOnce(&RunningEmulator) -> T) -> PyResult<T> {
        let guard = self
            .running
            .lock()
            .map_err(|_| PyRuntimeError::new_err("emulator state poisoned"))?;
        match guard.as_ref() {
            Some(running) => Ok(f(running)),
            None => Err(PyRuntimeError::new_err("the emulator is stopped")),
        }
    }
}
