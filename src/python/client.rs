//! `_core.RawClient`: the configured HTTP client behind `converz.Client`. It holds no Python
//! state; the fetch and push functions in the sibling files take it as their first argument.

use pyo3::prelude::*;

use super::args::{number_arg, text_arg, AnyInt};
use crate::config::{seconds, ClientConfig, Compression, RetryConfig, MAX_RETRIES};
use crate::http::query::MAX_PAGE_SIZE;
use crate::http::ApiClient;

/// A validated client; building it sends nothing.
#[pyclass(name = "RawClient", module = "converz._core", frozen)]
pub struct PyRawClient {
    pub(crate) api: ApiClient,
    /// Rows per page for this client's fetches; `None` uses the default.
    page_size: Option<usize>,
}

/// The settings of a `RawClient`, one dict with every key, each value checked by name.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct ClientSettings<'py> {
    base_url: Bound<'py, PyAny>,
    api_key: Bound<'py, PyAny>,
    timeout: Bound<'py, PyAny>,
    connect_timeout: Bound<'py, PyAny>,
    retries: Bound<'py, PyAny>,
    backoff: Bound<'py, PyAny>,
    max_concurrency: Bound<'py, PyAny>,
    page_size: Option<Bound<'py, PyAny>>,
    /// `"auto"`, `"gzip"`, or `None` (off).
    compression: Option<Bound<'py, PyAny>>,
}

#[pymethods]
impl PyRawClient {
    /// Every setting is required: `converz.Client` passes them all in one dict, and a value of
    /// the wrong type must be an `InvalidParameterError` naming it, which a typed signature (a
    /// `TypeError` or `OverflowError` from pyo3) cannot give.
    #[new]
    fn new(settings: ClientSettings<'_>) -> PyResult<Self> {
        let ClientSettings {
            base_url,
            api_key,
            timeout,
            connect_timeout,
            retries,
            backoff,
            max_concurrency,
            page_size,
            compression,
        } = settings;
        let compression = compression
            .map(|value| text_arg("compression", &value))
            .transpose()?;
        let compression = Compression::parse(compression.as_deref())?;
        let retries = AnyInt::arg("retries", &retries, 0, i128::from(MAX_RETRIES))? as u32;
        let max_concurrency = AnyInt::arg("max_concurrency", &max_concurrency, 1, 64)? as usize;
        let page_size = page_size
            .map(|size| AnyInt::arg("page_size", &size, 1, MAX_PAGE_SIZE as i128))
            .transpose()?
            .map(|size| size as usize);
        let initial_backoff = seconds("backoff", number_arg("backoff", &backoff)?)?;
        let defaults = RetryConfig::default();
        let config = ClientConfig {
            base_url: text_arg("base_url", &base_url)?,
            api_key: text_arg("api_key", &api_key)?,
            connect_timeout: seconds(
                "connect_timeout",
                number_arg("connect_timeout", &connect_timeout)?,
            )?,
            request_timeout: seconds("timeout", number_arg("timeout", &timeout)?)?,
            retry: RetryConfig {
                max_retries: retries,
                initial_backoff,
                // A first backoff above the default cap raises the cap, so it is honoured.
                max_backoff: defaults.max_backoff.max(initial_backoff),
            },
            max_concurrency,
            compression,
        };
        Ok(Self {
            api: ApiClient::new(config)?,
            page_size,
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

    /// Rows per page, or `None` for the default (checked when the client was built).
    #[getter]
    fn page_size(&self) -> Option<usize> {
        self.page_size
    }

    /// Page requests or push chunks in flight at once.
    #[getter]
    fn max_concurrency(&self) -> usize {
        self.api.config().max_concurrency
    }

    /// `"auto"`, `"gzip"`, or `None` (off).
    #[getter]
    fn compression(&self) -> Option<&'static str> {
        match self.api.config().compression {
            Compression::Auto => Some("auto"),
            Compression::Gzip => Some("gzip"),
            Compression::Off => None,
        }
    }

    /// `text` with this client's key redacted, pieces included, as a server's text is: for
    /// what the Python layer says of the server's data (a file's notes, a scan's late columns).
    fn redacted(&self, text: &str) -> String {
        self.api.redacted(text)
    }

    fn __repr__(&self) -> String {
        format!("RawClient(base_url={:?})", self.api.config().base_url)
    }
}
