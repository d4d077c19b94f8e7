//! The HTTP surface: auth, faults, the five endpoints, 404/405, gzip (kept page bodies for
//! `/calls` and `/reps`, the compression layer for the rest).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tower_http::compression::CompressionLayer;

use super::faults::Fault;
use super::query::{ApiError, Query};
use super::render::{call_columns, call_object, CALL_COLUMNS, CALL_METRICS};
use super::{contract, gzip_cache, post_read, report, update, State};

type Shared = Arc<State>;

/// The router of the API under `/api/v1`: exactly the operations of [`contract::OPERATIONS`].
pub fn router(state: Shared) -> Router {
    let mut paths: Vec<(&str, MethodRouter<Shared>)> = Vec::new();
    for op in contract::OPERATIONS {
        let handler = handler(op.endpoint);
        match paths.iter_mut().find(|(path, _)| *path == op.path) {
            Some((_, methods)) => *methods = std::mem::take(methods).merge(handler),
            None => paths.push((op.path, handler)),
        }
    }
    let router = paths
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(&format!("/api/v1{path}"), methods)
        });
    router
        .fallback(|| async {
            error(
                &ApiError {
                    status: StatusCode::NOT_FOUND,
                    code: "not_found",
                    message: "no such endpoint".into(),
                },
                false,
            )
        })
        .method_not_allowed_fallback(|| async {
            error(
                &ApiError {
                    status: StatusCode::METHOD_NOT_ALLOWED,
                    code: "method_not_allowed",
                    message: "method not allowed on this endpoint".into(),
                },
                false,
            )
        })
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .no_br()
                .no_deflate()
                .no_zstd(),
        )
        // Outermost: the WAN profile paces bodies as sent, gzip-compressed or not.
        .layer(axum::middleware::map_response_with_state(
            Arc::clone(&state),
            super::wan::throttle,
        ))
        .with_state(state)
}

/// The handler of one operation.
fn handler(endpoint: contract::Endpoint) -> MethodRouter<Shared> {
    use contract::Endpoint::*;
    match endpoint {
        GetReps => get(get_reps),
        PostReps => post(post_reps),
        GetCalls => get(get_calls),
        PostCalls => post(post_calls),
        GetReport => get(get_report),
        OpenApi => get(get_openapi),
    }
}

/// The contract as OpenAPI; no key needed and no faults, like a static file.
async fn get_openapi(Extract(state): Extract<Shared>) -> Response {
    let document = super::openapi::document(&state.store.read().call_attributes);
    ([("content-type", "application/json")], document.to_string()).into_response()
}

/// The JSON (or, for 5xx with `html_errors`, HTML) error answer.
fn error(err: &ApiError, html: bool) -> Response {
    if html && err.status.is_server_error() {
        let page = format!(
            "<html><head><title>{0} {1}</title></head><body><h1>{0} {1}</h1><p>nginx</p></body></html>",
            err.status.as_u16(),
            err.status.canonical_reason().unwrap_or("Error")
        );
        return (err.status, [("content-type", "text/html")], page).into_response();
    }
    let body = serde_json::json!({"error": err.message, "code": err.code});
    (
        err.status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Auth, latency and the request's fault. `Err` is the answer to send instead.
async fn admit(state: &State, headers: &HeaderMap, is_get: bool) -> Result<Fault, Response> {
    let faults = state.faults.read().clone();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(state.api_key.as_str()) {
        let message = if key.is_none() {
            "missing X-API-Key header"
        } else {
            "invalid API key"
        };
        return Err(error(
            &ApiError {
                status: StatusCode::UNAUTHORIZED,
                code: "unauthorized",
                message: message.into(),
            },
            false,
        ));
    }
    match state.dice.decide(&faults, is_get) {
        Fault::ServerError(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err(error(
                &ApiError {
                    status,
                    code: "server_error",
                    message: "internal server error".into(),
                },
                faults.html_errors,
            ))
        }
        Fault::RateLimited => {
            let mut response = error(
                &ApiError {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    code: "rate_limited",
                    message: "too many requests".into(),
                },
                false,
            );
            if let Some(seconds) = faults.retry_after {
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert("retry-after", value);
                }
            }
            Err(response)
        }
        other => Ok(other),
    }
}

async fn get_reps(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let key = Some(("reps", raw.as_deref()));
    serve_rows(
        &state,
        &headers,
        key,
        |_| (),
        |state| list_reps(state, raw.as_deref()),
    )
    .await
}

/// Which page body a request asks for: the endpoint and raw query, for the gzip cache.
type CacheKey<'a> = Option<(&'static str, Option<&'a str>)>;

/// Auth and faults, then `prepare` (e.g. the insert fault), then `answer`'s rows (or runs of
/// rows) as a page body, or its error. With a `cache` key and a client that takes gzip, the
/// body is the page's kept gzip body ([`gzip_cache`]).
async fn serve_rows(
    state: &State,
    headers: &HeaderMap,
    cache: CacheKey<'_>,
    prepare: impl FnOnce(&State),
    answer: impl FnOnce(&State) -> Result<Vec<Bytes>, ApiError>,
) -> Response {
    let fault = match admit(state, headers, true).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    prepare(state);
    if let Some((endpoint, raw)) = cache.filter(|_| gzip_cache::accepts_gzip(headers)) {
        // Read before the rows: a POST between the two leaves newer rows under an older
        // generation, never older rows under a newer one.
        let generation = state.store.read().generation;
        let key = (
            endpoint,
            gzip_cache::canonical_query(raw.unwrap_or_default()),
            state.faults.read().page_cap,
        );
        return match state.gzip.body(key, generation, || answer(state)).await {
            Ok(body) => gzip_cache::gzip_response(body, fault),
            Err(err) => error(&err, false),
        };
    }
    match answer(state) {
        Ok(pieces) => super::stream::pieces_body(pieces, fault),
        Err(err) => error(&err, false),
    }
}

fn page_range(len: usize, page: usize, per_page: usize) -> std::ops::Range<usize> {
    let start = (page - 1).saturating_mul(per_page).min(len);
    start..start.saturating_add(per_page).min(len)
}

fn capped(state: &State, per_page: usize) -> usize {
    state
        .faults
        .read()
        .page_cap
        .map_or(per_page, |cap| per_page.min(cap.max(1)))
}

fn list_reps(state: &State, raw: Option<&str>) -> Result<Vec<Bytes>, ApiError> {
    let query = Query::parse(raw, contract::REPS_PARAMS)?;
    let (page, per_page) = query.paging()?;
    let active = query.int(&contract::ACTIVE)?;
    let store = state.store.read();
    let wanted = |field: &str, value: &str| {
        let list = query.list(field);
        list.is_empty() || list.iter().any(|v| v == value)
    };
    let matching: Vec<usize> = (0..store.reps.len())
        .filter(|&i| {
            let rep = &store.reps[i];
            let department = (store.rep_extra.row(i).get("department"))
                .and_then(|v| v.as_str())
                .unwrap_or(&rep.department);
            wanted("rep_id", &rep.rep_id)
                && wanted("department", department)
                && active.is_none_or(|a| rep.active == a)
        })
        .collect();
    let range = page_range(matching.len(), page, capped(state, per_page));
    Ok(store.rep_pieces(matching[range].iter().copied()))
}

async fn get_calls(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let key = Some(("calls", raw.as_deref()));
    serve_rows(&state, &headers, key, insert_fault, |state| {
        list_calls(state, raw.as_deref())
    })
    .await
}

/// The insert fault: every N-th `GET /calls` adds rows early in the order first.
fn insert_fault(state: &State) {
    let every = state.faults.read().insert_every;
    let n = state.dice.page_requests.fetch_add(1, Ordering::Relaxed) + 1;
    if every.is_some_and(|e| e > 0 && n % e as u64 == 0) {
        state.store.write().insert_early_calls(3);
    }
}

fn list_calls(state: &State, raw: Option<&str>) -> Result<Vec<Bytes>, ApiError> {
    let query = Query::parse(raw, contract::CALLS_PARAMS)?;
    let (page, per_page) = query.paging()?;
    let store = state.store.read();
    let filter = super::report::CallFilter::from_query(&query)?;
    let projection = projection(&query, &store.call_attributes)?;
    let range = page_range(usize::MAX, page, capped(state, per_page));
    let matching = filter.page(&store.calls, &store.reps, &store.call_extra, range);
    Ok(match projection {
        None => store.call_pieces(matching),
        Some(columns) => {
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            let columns = call_columns(&names);
            matching
                .map(|i| {
                    let call = &store.calls[i];
                    let mut out = Vec::with_capacity(64 * columns.len());
                    call_object(
                        &mut out,
                        call,
                        &store.reps[call.rep as usize],
                        store.call_extra.row(i),
                        &columns,
                        false,
                    );
                    Bytes::from(out)
                })
                .collect()
        }
    })
}

/// The columns `columns=` / `metric=` ask for, or `None` for whole rows.
fn projection(query: &Query, attributes: &[Arc<str>]) -> Result<Option<Vec<String>>, ApiError> {
    let known =
        |name: &str| CALL_COLUMNS.contains(&name) || attributes.iter().any(|a| &**a == name);
    for metric in query.list("metric") {
        if !CALL_METRICS.contains(&metric.as_str()) && !attributes.iter().any(|a| **a == **metric) {
            return Err(ApiError::parameter(format!("unknown metric `{metric}`")));
        }
    }
    if let Some(bad) = query.list("columns").iter().find(|c| !known(c)) {
        return Err(ApiError::parameter(format!("unknown column `{bad}`")));
    }
    let columns = query.list("columns");
    let metrics = query.list("metric");
    if columns.is_empty() && metrics.is_empty() {
        return Ok(None);
    }
    let base: Vec<String> = if columns.is_empty() {
        CALL_COLUMNS
            .iter()
            .map(|&c| c.to_owned())
            .chain(attributes.iter().map(|a| a.to_string()))
            .collect()
    } else {
        columns.to_vec()
    };
    // `metric=` narrows the metric columns (behavioural and POSTed) to the ones listed.
    let is_metric = |c: &str| CALL_METRICS.contains(&c) || attributes.iter().any(|a| &**a == c);
    Ok(Some(
        base.into_iter()
            .filter(|c| metrics.is_empty() || !is_metric(c) || metrics.contains(c))
            .collect(),
    ))
}

async fn get_report(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    serve_rows(
        &state,
        &headers,
        None,
        |_| (),
        |state| report::answer(&state.store.read(), raw.as_deref()),
    )
    .await
}

async fn post_calls(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Response {
    apply_post(&state, &headers, raw, body, update::Target::Calls).await
}

async fn post_reps(
    Extract(state): Extract<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Response {
    apply_post(&state, &headers, raw, body, update::Target::Reps).await
}

async fn apply_post(
    state: &State,
    headers: &HeaderMap,
    raw: Option<String>,
    body: Body,
    target: update::Target,
) -> Response {
    // The whole body is read before anything is answered (as the `Bytes` extractor did), so
    // a refused request never leaves its body unread on a kept-alive connection (except one
    // over `post_read::MAX_BODY`, refused with 413 unread).
    let mut lease = post_read::Lease::start();
    let body = match lease.read(headers, body).await {
        Ok(body) => body,
        Err(err) => return error(&err, false),
    };
    if let Err(response) = admit(state, headers, false).await {
        return response;
    }
    // POSTs take no parameters: one given is refused, as on every endpoint.
    let answer = Query::parse(raw.as_deref(), &[]).and_then(|_| update::parse(body, target));
    let answer = answer.map(|changes| {
        let mut store = state.store.write();
        store.generation += 1;
        update::apply(&mut store, changes)
    });
    match answer {
        Ok(answer) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            answer.to_string(),
        )
            .into_response(),
        Err(err) => error(&err, false),
    }
}
