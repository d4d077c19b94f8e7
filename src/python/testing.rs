//! `_core.Emulator`: the emulator as a Python object (wrapped by `converz.testing.Emulator`).

use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::args::DateArg;
use crate::emulator::{EmulatorConfig, Faults, RunningEmulator};
use crate::error::Error;

/// A running emulator.
#[pyclass(name = "Emulator", module = "converz._core", frozen)]
pub struct PyEmulator {
    running: Mutex<Option<RunningEmulator>>,
    url: String,
    api_key: String,
}

/// A `converz.testing.Faults` (a dataclass, so every attribute is present), read by name.
#[derive(FromPyObject)]
struct FaultSettings {
    error_rate: f64,
    rate_limit_rate: f64,
    retry_after: Option<f64>,
    latency: f64,
    drop_rate: f64,
    page_cap: Option<usize>,
    insert_every: Option<usize>,
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
                return Err(Error::invalid(name, "must be between 0 and 1"));
            }
        }
        let seconds = |name, value: f64| {
            if value.is_finite() && value >= 0.0 {
                Ok(value)
            } else {
                Err(Error::invalid(
                    name,
                    "must be a non-negative number of seconds",
                ))
            }
        };
        Ok(Faults {
            error_rate: self.error_rate,
            rate_limit_rate: self.rate_limit_rate,
            retry_after: self
                .retry_after
                .map(|r| seconds("retry_after", r))
                .transpose()?,
            latency: Duration::from_secs_f64(seconds("latency", self.latency)?),
            drop_rate: self.drop_rate,
            page_cap: self.page_cap.filter(|&c| c > 0),
            insert_every: self.insert_every.filter(|&e| e > 0),
            html_errors: self.html_errors,
        })
    }
}

#[pymethods]
impl PyEmulator {
    #[new]
    #[pyo3(signature = (*, calls=100_000, reps=200, seed=0, host="127.0.0.1".to_owned(), port=0, api_key=None, today=None, days=365, faults=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        calls: usize,
        reps: usize,
        seed: u64,
        host: String,
        port: u16,
        api_key: Option<String>,
        today: Option<DateArg>,
        days: u32,
        faults: Option<FaultSettings>,
    ) -> PyResult<Self> {
        let defaults = EmulatorConfig::default();
        let config = EmulatorConfig {
            calls,
            reps: reps.max(1),
            seed,
            today: today
                .map(|d| d.date("today"))
                .transpose()?
                .unwrap_or(defaults.today),
            days: days.max(1),
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
        let guard = self
            .running
            .lock()
            .map_err(|_| PyRuntimeError::new_err("emulator state poisoned"))?;
        match guard.as_ref() {
            Some(running) => {
                running.set_faults(faults);
                Ok(())
            }
            None => Err(PyRuntimeError::new_err("the emulator is stopped")),
        }
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
