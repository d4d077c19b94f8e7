//! `_core.RawClient`: the configured HTTP client behind `converz.Client`. It holds no Python
//! state; the fetch and push functions in the sibling files take it as their first argument.

use pyo3::prelude::*;

use crate::config::{seconds, ClientConfig, RetryConfig, MAX_RETRIES};
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
        retries: i64,
        backoff: f64,
        max_concurrency: i64,
    ) -> PyResult<Self> {
        // Signed on purpose: a negative count must be an InvalidParameterError naming the
        // parameter, not pyo3's OverflowError.
        let retries = u32::try_from(retries)
            .ok()
            .filter(|r| *r <= MAX_RETRIES)
            .ok_or_else(|| {
                crate::Error::invalid("retries", format!("must be between 0 and {MAX_RETRIES}"))
            })?;
        let max_concurrency = usize::try_from(max_concurrency).unwrap_or(0);
        let initial_backoff = seconds("backoff", backoff)?;
        let defaults = RetryConfig::default();
        let config = ClientConfig {
            base_url,
            api_key,
            connect_timeout: seconds("connect_timeout", connect_timeout)?,
            request_timeout: seconds("timeout", timeout)?,
            retry: RetryConfig {
                max_retries: retries,
                initial_backoff,
                // A first backoff above the default cap raises the cap, so it is honoured.
                max_backoff: defaults.max_backoff.max(initial_backoff),
            },
            max_concurrency,
        };
        Ok(Self {
            api: ApiClient::new(config)?,
        })
    }

    /// Drops the connection pool; any later request raises `ConverzError` ("client is closed").
    fn close(&self) {
        self.api.close();
    }

    /// True once [`PyRawClient::close`] was called.
    #[getter]
    fn closed(&self) -> bool {
        self.api.is_closed()
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
