//! A local Converz Data API: a real HTTP server (axum on the process's tokio runtime) that
//! implements `shared/converz-api.md` Part A and Part B, over a deterministic synthetic tenant,
//! with faults on demand for reliability tests. See `docs/emulator.md`.
//!
//! * [`data`] generates reps, calls and in-app activity from the seed.
//! * [`render`] writes rows as JSON; [`rows`] keeps them rendered; [`store`] holds the state.
//! * [`contract`] lists the operations and parameters; [`query`] parses parameters; [`routes`]
//!   serves the endpoints; [`openapi`] documents them; [`report`] aggregates.
//! * [`post_read`] reads POST bodies into reused buffers; [`post_body`] parses them into
//!   [`packed`] columns ([`post_fast`] first tries the usual columnar body; the reference reads
//!   [`cell`]s); [`update`] applies them.
//! * [`faults`] decides which requests fail and how; [`wan`] paces bodies to a bandwidth;
//!   [`gzip_cache`] keeps gzip page bodies so the emulator is not the bound with gzip on.

mod attrs;
mod cell;
mod contract;
mod data;
mod faults;
mod gzip_cache;
mod openapi;
mod packed;
mod post_body;
mod post_fast;
mod post_read;
mod query;
mod render;
mod report;
mod routes;
mod rows;
mod store;
mod stream;
mod update;
mod wan;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_post;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use parking_lot::RwLock;

pub use report::METRICS;
pub use wan::WireStats;

use crate::error::{Error, Result};

/// Faults to inject; all off by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Fraction of requests answered 500 or 503.
    pub error_rate: f64,
    /// Fraction of requests answered 429.
    pub rate_limit_rate: f64,
    /// `Retry-After` seconds on 429s; `None` sends none.
    pub retry_after: Option<f64>,
    /// Added before every answer (before its first byte).
    pub latency: Duration,
    /// Bytes per second all response bodies share, as sent (after gzip); `None`: unlimited.
    pub bandwidth: Option<f64>,
    /// Fraction of GET bodies cut off mid-way (the connection is dropped).
    pub drop_rate: f64,
    /// Silently serve at most this many rows per page.
    pub page_cap: Option<usize>,
    /// Every N-th `GET /calls`, insert a few calls early in the order (rows shift).
    pub insert_every: Option<usize>,
    /// 5xx bodies are an HTML page instead of JSON.
    pub html_errors: bool,
}

/// What tenant to emulate.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Conversations.
    pub calls: usize,
    /// Users.
    pub reps: usize,
    /// Seed of all generated data and of fault decisions.
    pub seed: u64,
    /// The last day of data, and the API's "today" for `/report` defaults.
    pub today: NaiveDate,
    /// Days of data ending `today`.
    pub days: u32,
    /// The key clients must send.
    pub api_key: String,
    /// Faults at start.
    pub faults: Faults,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            calls: 100_000,
            reps: 200,
            seed: 0,
            today: NaiveDate::from_ymd_opt(2025, 9, 30).unwrap_or_default(),
            days: 365,
            api_key: "converz-emulator-key".into(),
            faults: Faults::default(),
        }
    }
}

/// Shared by the handlers.
pub(crate) struct State {
    pub store: RwLock<store::Store>,
    pub faults: RwLock<Faults>,
    pub dice: faults::Dice,
    pub api_key: String,
    /// The link the `bandwidth` fault paces.
    pub link: wan::Link,
    /// Gzip page bodies, compressed once per store generation.
    pub gzip: gzip_cache::GzipCache,
    /// What went on the wire.
    pub wire: wan::Wire,
}

/// A running emulator; stops on `stop()` or drop.
pub struct RunningEmulator {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl RunningEmulator {
    /// Generates the tenant and serves it on `host:port` (0 = any free port). Returns once
    /// the socket is listening.
    pub fn start(config: EmulatorConfig, host: &str, port: u16) -> Result<Self> {
        let state = Arc::new(State {
            store: RwLock::new(store::Store::generate(&config)),
            faults: RwLock::new(config.faults.clone()),
            dice: faults::Dice::new(config.seed),
            api_key: config.api_key.clone(),
            link: wan::Link::default(),
            gzip: gzip_cache::GzipCache::default(),
            wire: wan::Wire::default(),
        });
        let runtime = crate::runtime::runtime();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind((host, port)))
            .map_err(|e| Error::invalid("port", format!("cannot listen on {host}:{port}: {e}")))?;
        let addr = listener.local_addr()?;
        let app = routes::router(Arc::clone(&state));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = runtime.spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        Ok(Self {
            addr,
            state,
            shutdown: Some(tx),
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:PORT/api/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The key clients must send.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// Replaces the faults of the running server.
    pub fn set_faults(&self, faults: Faults) {
        *self.state.faults.write() = faults;
    }

    /// What went on the wire so far (responses, gzip ones, body bytes as sent).
    pub fn wire(&self) -> WireStats {
        self.state.wire.stats()
    }

    /// Stops serving and closes the socket.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            // Open keep-alive connections would hold graceful shutdown open: give them a moment,
            // then cut them.
            let runtime = crate::runtime::runtime();
            let abort = server.abort_handle();
            let finished = runtime.block_on(async {
                tokio::time::timeout(Duration::from_millis(500), server)
                    .await
                    .is_ok()
            });
            if !finished {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}
