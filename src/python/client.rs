//! `_core.RawClient`: the configured HTTP client behind `converz.Client`. It holds no Python
//! state; the fetch and push functions in the sibling files take it as their first argument.

use std::time::Duration;

use pyo3::prelude::*;

use crate::config::{ClientConfig, RetryConfig};
use crate::http::ApiClient;

/// A validated client; building it sends nothing.
#[pyclass(name = "RawClient", module = "converz._core", frozen)]
pub struct PyRawClient {
    pub(crate) api: ApiClient,
}

#[pymethods]
impl PyRawClient {
    #[new]
    #[pyo3(signature = (*, base_url, api_key, timeout=300.0, connect_timeout=10.0, retries=8, backoff=0.1, max_concurrency=4))]
    fn new(
        base_url: String,
        api_key: String,
        timeout: f64,
        connect_timeout: f64,
        retries: u32,
        backoff: f64,
        max_concurrency: usize,
    ) -> PyResult<Self> {
        let seconds = |name: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(Duration::from_secs_f64(value))
            } else {
                Err(crate::Error::invalid(
                    name,
                    "must be a positive number of seconds",
                ))
            }
        };
        let config = ClientConfig {
            base_url,
            api_key,
            connect_timeout: seconds("connect_timeout", connect_timeout)?,
            request_timeout: seconds("timeout", timeout)?,
            retry: RetryConfig {
                max_retries: retries,
                initial_backoff: seconds("backoff", backoff)?,
                ..RetryConfig::default()
            },
            max_concurrency,
        };
        Ok(Self {
            api: ApiClient::new(config)?,
        })
    }

    /// The base URL (never the key).
    #[getter]
    fn base_url(&self) -> String {
        self.api.config().base_url.clone()
    }

    /// Page requests or push chunks in flight at once.
    #[getter]
    fn max_concurrency(&self) -> usize {
        self.api.config().max_concurrency
    }

    fn __repr__(&self) -> String {
        format!("RawClient(base_url={:?})", self.api.config().base_url)
    }
}
