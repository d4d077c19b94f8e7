//! The connection pool of one `converz.Client`: the reqwest client with the `X-API-Key` header
//! (marked sensitive so it never prints), timeouts and a redirect policy that never carries the
//! key to another host; rebuilt in a forked child, dropped by `close()`. reqwest's own gzip
//! decoding stays off: `ApiClient::send` asks for gzip and `inflate` undoes it.
//!
//! After `fork()` the child inherits the parent's pooled connections, but the tasks that drive
//! them lived on the parent's runtime threads, which the child does not have: a request on an
//! inherited connection waits until it times out. A child therefore builds its own client, as
//! it builds its own runtime (`crate::runtime`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

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
    /// Which build these are (unique within the process): [`Pool::renew`] replaces only the
    /// clients a failed request used, not ones another request renewed meanwhile.
    built: u64,
}

/// How many [`Clients`] this process has built.
static BUILT: AtomicU64 = AtomicU64::new(0);

/// The clients with the PID of the process that built them.
#[derive(Debug)]
struct Stamped {
    pid: u32,
    http: Clients,
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
            current: ArcSwapOption::from_pointee(Stamped {
                pid: std::process::id(),
                http,
            }),
            closed: AtomicBool::new(false),
        }
    }

    /// The reqwest clients of this process (`build` makes them after a fork), or
    /// [`Error::Closed`] naming `endpoint`.
    pub fn get(&self, endpoint: &str, build: impl FnOnce() -> Result<Clients>) -> Result<Clients> {
        let closed = || Error::Closed {
            endpoint: endpoint.to_owned(),
        };
        if self.is_closed() {
            return Err(closed());
        }
        let pid = std::process::id();
        if let Some(stamped) = self.current.load().as_ref() {
            if stamped.pid == pid {
                return Ok(stamped.http.clone());
            }
        }
        let http = build()?;
        let fresh = Arc::new(Stamped {
            pid,
            http: http.clone(),
        });
        retire(self.current.swap(Some(fresh)));
        // A close() racing with the rebuild must win.
        if self.is_closed() {
            retire(self.current.swap(None));
            return Err(closed());
        }
        Ok(http)
    }

    /// Replaces `used` with clients `build` makes, if `used` are still this process's current
    /// ones: their idle connections are not used again (they close once the requests in flight
    /// on them end). Called when a request on a kept-alive connection went unanswered: the
    /// server (or a load balancer, a NAT) had closed it, and an idle timeout closes every idle
    /// connection at once, so the resend must not take the next one (outside trial 47 F1: it
    /// did, and failed the same way). Clients another request renewed meanwhile are kept; a
    /// failed build keeps the current ones.
    pub fn renew(&self, used: &Clients, build: impl FnOnce() -> Result<Clients>) {
        let pid = std::process::id();
        let current = self.current.load_full();
        let Some(stamped) = current.as_ref() else {
            return;
        };
        if stamped.pid != pid || stamped.http.built != used.built {
            return;
        }
        let Ok(http) = build() else {
            return;
        };
        let fresh = Some(Arc::new(Stamped { pid, http }));
        // Swapped only if nothing (a close, another renewal) changed the current clients.
        self.current.compare_and_swap(&current, fresh);
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
    Ok(Clients {
        read: build_one(config, same_origin_redirects())?,
        push: build_one(config, reqwest::redirect::Policy::none())?,
        built: BUILT.fetch_add(1, Ordering::Relaxed),
    })
}

fn build_one(
    config: &ClientConfig,
    redirects: reqwest::redirect::Policy,
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
        .pool_max_idle_per_host(64)
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
