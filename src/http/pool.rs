//! The connection pool of one `converz.Client`: the reqwest client with the `X-API-Key` header
//! (marked sensitive so it never prints), timeouts and a redirect policy that never carries the
//! key to another host; rebuilt in a forked child, dropped by `close()`. reqwest's own gzip
//! decoding stays off: `ApiClient::send` asks for gzip and `inflate` undoes it.
//!
//! After `fork()` the child inherits the parent's pooled connections, but the tasks that drive
//! them lived on the parent's runtime threads, which the child does not have: a request on an
//! inherited connection waits until it times out. A child therefore builds its own client, as
//! it builds its own runtime (`crate::runtime`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwapOption;
use reqwest::header::{HeaderMap, HeaderValue};

use super::client::describe_reqwest_error;
use crate::config::ClientConfig;
use crate::error::{Error, Result};

/// The reqwest clients of one process: one for reads, one for pushes. They differ only in
/// redirects. A read follows a redirect within its origin (a trailing-slash redirect, say); a
/// push follows none. reqwest turns a POST answered 301, 302 or 303 into a GET without its body,
/// and that GET's answer would stand as the push's answer (the outside trial found a push
/// reported applied that no POST handler saw), so a push's redirect ends the request and says
/// where it pointed.
#[derive(Debug, Clone)]
pub struct Clients {
    pub read: reqwest::Client,
    pub push: reqwest::Client,
}

/// The clients with the PID of the process that built them.
#[derive(Debug)]
struct Stamped {
    pid: u32,
    http: Clients,
    /// Clients that keep no connection idle, built when first needed ([`Pool::unpooled`]).
    unpooled: OnceLock<Clients>,
}

impl Stamped {
    fn new(http: Clients) -> Self {
        Self {
            pid: std::process::id(),
            http,
            unpooled: OnceLock::new(),
        }
    }
}

/// A reqwest client per process, until closed. Shared by the clones of an `ApiClient`.
#[derive(Debug)]
pub struct Pool {
    /// Swapped lock-free: a lock held by another thread at `fork()` would stay held forever in
    /// the child. `None` once closed.
    current: ArcSwapOption<Stamped>,
    closed: AtomicBool,
}

impl Pool {
    /// A pool around `http`, built by this process.
    pub fn new(http: Clients) -> Self {
        Self {
            current: ArcSwapOption::from_pointee(Stamped::new(http)),
            closed: AtomicBool::new(false),
        }
    }

    /// The reqwest clients of this process (`build` makes them after a fork), or
    /// [`Error::Closed`] naming `endpoint`.
    pub fn get(&self, endpoint: &str, build: impl FnOnce() -> Result<Clients>) -> Result<Clients> {
        Ok(self.stamped(endpoint, build)?.http.clone())
    }

    /// Clients of this process that open a new connection for every request and keep none
    /// idle (`build_unpooled` makes them once): for a request sent again because a kept-alive
    /// connection went unanswered. Another pooled connection may be just as dead, as may one
    /// the pool took back a moment ago from a server that closes every connection after one
    /// answer (outside trial 47 F1: the resend took the next pooled connection, and 5 of 6
    /// fetches failed with retries=0). The dead connections left in the pool are dropped as
    /// requests find them, each sent again this way.
    pub fn unpooled(
        &self,
        endpoint: &str,
        build: impl FnOnce() -> Result<Clients>,
        build_unpooled: impl FnOnce() -> Result<Clients>,
    ) -> Result<Clients> {
        let stamped = self.stamped(endpoint, build)?;
        if let Some(unpooled) = stamped.unpooled.get() {
            return Ok(unpooled.clone());
        }
        let built = build_unpooled()?;
        Ok(stamped.unpooled.get_or_init(|| built).clone())
    }

    fn stamped(
        &self,
        endpoint: &str,
        build: impl FnOnce() -> Result<Clients>,
    ) -> Result<Arc<Stamped>> {
        let closed = || Error::Closed {
            endpoint: endpoint.to_owned(),
        };
        if self.is_closed() {
            return Err(closed());
        }
        let pid = std::process::id();
        if let Some(stamped) = self.current.load_full() {
            if stamped.pid == pid {
                return Ok(stamped);
            }
        }
        let fresh = Arc::new(Stamped::new(build()?));
        retire(self.current.swap(Some(Arc::clone(&fresh))));
        // A close() racing with the rebuild must win.
        if self.is_closed() {
            retire(self.current.swap(None));
            return Err(closed());
        }
        Ok(fresh)
    }

    /// Drops the client: its idle connections close now; requests in flight hold their own
    /// handle and finish. Every later [`Pool::get`] fails.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        retire(self.current.swap(None));
    }

    /// True once [`Pool::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Builds the pooled reqwest clients for `config`.
pub fn build_http(config: &ClientConfig) -> Result<Clients> {
    build_clients(config, 64)
}

/// Builds reqwest clients for `config` that keep no connection idle ([`Pool::unpooled`]).
pub fn build_unpooled(config: &ClientConfig) -> Result<Clients> {
    build_clients(config, 0)
}

fn build_clients(config: &ClientConfig, idle: usize) -> Result<Clients> {
    Ok(Clients {
        read: build_one(config, same_origin_redirects(), idle)?,
        push: build_one(config, reqwest::redirect::Policy::none(), idle)?,
    })
}

/// One reqwest client keeping at most `idle` connections idle.
fn build_one(
    config: &ClientConfig,
    redirects: reqwest::redirect::Policy,
    idle: usize,
) -> Result<reqwest::Client> {
    let mut key = HeaderValue::from_str(&config.api_key)
        .map_err(|_| Error::invalid("api_key", "contains characters not allowed in a header"))?;
    key.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", key);
    reqwest::Client::builder()
        .default_headers(headers)
        .user_agent(concat!("converz/", env!("CARGO_PKG_VERSION")))
        // Bodies arrive as sent: `inflate` undoes gzip where the body is decoded.
        .gzip(false)
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .pool_max_idle_per_host(idle)
        .tcp_nodelay(true)
        .redirect(redirects)
        .build()
        .map_err(|e| Error::invalid("base_url", describe_reqwest_error(&e)))
}

/// Lets go of a pool taken out of service. One built by this process is dropped (its idle
/// connections close); one inherited through `fork()` is leaked, like the inherited runtime:
/// its connections belong to the parent, and its drop would run on the parent's dead runtime.
fn retire(old: Option<Arc<Stamped>>) {
    if let Some(old) = old {
        if old.pid != std::process::id() {
            std::mem::forget(old);
        }
    }
}

/// Follows a redirect only to the same scheme, host and port: the key header would otherwise go
/// to a host the user never named.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(url::Url::origin);
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.as_ref() == Some(&attempt.url().origin()) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}
