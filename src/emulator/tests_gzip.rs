//! The gzip cache: kept bodies inflate to the plain page, a new store generation is seen at
//! once, the budget holds, and the drop fault still cuts.

use std::io::Read;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue};

use super::super::faults::Fault;
use super::super::stream::pieces_body;
use super::{accepts_gzip, canonical_query, gzip_response, GzipCache, Key};

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    crate::runtime::runtime().block_on(future)
}

fn pieces(label: &str, rows: usize) -> Vec<Bytes> {
    (0..rows)
        .map(|i| {
            Bytes::from(format!(
                r#"{{"id":{i},"label":"{label} {}"}}"#,
                i * 7919 % 1000
            ))
        })
        .collect()
}

fn key(query: &str) -> Key {
    ("calls", query.to_owned(), None)
}

fn inflate(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The body a response streams, or the error that cut it.
fn collect(response: axum::response::Response) -> Result<Bytes, axum::Error> {
    run(axum::body::to_bytes(response.into_body(), usize::MAX))
}

#[test]
fn a_kept_body_inflates_to_the_plain_page() {
    let cache = GzipCache::default();
    let rows = pieces("a", 5_000);
    let plain = collect(pieces_body(rows.clone(), Fault::None)).unwrap();
    let first = run(cache.body(key("page=1"), 0, || Ok::<_, ()>(rows.clone()))).unwrap();
    // The second request is served from the cache: `pieces` is not asked again.
    let second = run(cache.body(key("page=1"), 0, || -> Result<_, ()> {
        panic!("a kept body must not be rebuilt")
    }))
    .unwrap();
    assert_eq!(first, second);
    assert!(
        first.len() < plain.len() / 3,
        "gzip should shrink repetitive JSON"
    );
    let sent = collect(gzip_response(first, Fault::None)).unwrap();
    assert_eq!(inflate(&sent), plain);
    assert_eq!(cache.kept_bytes(), sent.len());
}

#[test]
fn a_new_generation_replaces_every_kept_body() {
    let cache = GzipCache::default();
    let (old, new) = (pieces("old", 100), pieces("new", 100));
    let first = run(cache.body(key("q"), 0, || Ok::<_, ()>(old.clone()))).unwrap();
    let after_post = run(cache.body(key("q"), 1, || Ok::<_, ()>(new.clone()))).unwrap();
    assert_ne!(inflate(&first), inflate(&after_post));
    assert!(inflate(&after_post).starts_with(b"[{\"id\":0,\"label\":\"new"));
    // A request that read the older generation is answered but not kept.
    let stale = run(cache.body(key("q"), 0, || Ok::<_, ()>(old.clone()))).unwrap();
    assert_eq!(inflate(&stale), inflate(&first));
    let kept = run(cache.body(key("q"), 1, || -> Result<_, ()> { panic!("kept") })).unwrap();
    assert_eq!(kept, after_post);
}

#[test]
fn errors_are_not_kept_and_the_budget_holds() {
    let cache = GzipCache::with_budget(2_000);
    let failed = run(cache.body(key("bad"), 0, || Err::<Vec<Bytes>, _>("refused")));
    assert_eq!(failed, Err("refused"));
    assert_eq!(cache.kept_bytes(), 0);
    for page in 0..20 {
        let rows = pieces(&format!("page {page}"), 40);
        run(cache.body(key(&format!("page={page}")), 0, || Ok::<_, ()>(rows))).unwrap();
        assert!(cache.kept_bytes() <= 2_000, "{} kept", cache.kept_bytes());
    }
    assert!(cache.kept_bytes() > 0);
    // The newest page is kept, the oldest was evicted and is built again.
    run(cache.body(key("page=19"), 0, || -> Result<_, ()> { panic!("kept") })).unwrap();
    let mut rebuilt = false;
    run(cache.body(key("page=0"), 0, || {
        rebuilt = true;
        Ok::<_, ()>(pieces("page 0", 40))
    }))
    .unwrap();
    assert!(rebuilt);
}

#[test]
fn the_drop_fault_cuts_a_kept_body() {
    let body =
        run(GzipCache::default().body(key("q"), 0, || Ok::<_, ()>(pieces("x", 20_000)))).unwrap();
    assert!(collect(gzip_response(body.clone(), Fault::Drop(0.5))).is_err());
    assert_eq!(
        collect(gzip_response(body.clone(), Fault::None)).unwrap(),
        body
    );
}

#[test]
fn a_query_is_keyed_by_its_parameters_not_their_order() {
    assert_eq!(
        canonical_query("page=2&n_per_page=10"),
        canonical_query("n_per_page=10&page=2")
    );
    // The order of one parameter's values is the order of the columns: it stays.
    assert_eq!(
        canonical_query("columns=b&page=1&columns=a"),
        "columns=b&columns=a&page=1"
    );
    assert_ne!(
        canonical_query("columns=a&columns=b"),
        canonical_query("columns=b&columns=a")
    );
    assert_eq!(canonical_query(""), "");
}

#[test]
fn accept_encoding_is_read_like_http_says() {
    let takes = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("accept-encoding", HeaderValue::from_str(value).unwrap());
        accepts_gzip(&headers)
    };
    assert!(takes("gzip"));
    assert!(takes("br, GZIP;q=0.5, deflate"));
    assert!(takes("*"));
    assert!(!takes("gzip;q=0"));
    assert!(!takes("br, deflate"));
    assert!(!takes("identity"));
    assert!(!accepts_gzip(&HeaderMap::new()));
}

/// The gzip backend's speed on a real page (20,000 calls, ~15 MB of JSON), in MB/s of JSON:
/// `cargo test --release --lib gzip_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn gzip_throughput() {
    use std::io::Write;
    use std::time::Instant;

    let store = super::super::store::Store::generate(&super::super::EmulatorConfig {
        calls: 20_000,
        reps: 2_000,
        ..Default::default()
    });
    let page = collect(pieces_body(store.call_pieces(0..20_000), Fault::None)).unwrap();
    let mb = page.len() as f64 / 1e6;
    for level in [1, 6] {
        let (started, mut rounds, mut zipped) = (Instant::now(), 0, Vec::new());
        while started.elapsed().as_secs_f64() < 2.0 {
            let level = flate2::Compression::new(level);
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), level);
            encoder.write_all(&page).unwrap();
            zipped = encoder.finish().unwrap();
            rounds += 1;
        }
        let deflate = mb * f64::from(rounds) / started.elapsed().as_secs_f64();
        let (started, mut rounds) = (Instant::now(), 0);
        while started.elapsed().as_secs_f64() < 2.0 {
            assert_eq!(inflate(&zipped).len(), page.len());
            rounds += 1;
        }
        let inflate = mb * f64::from(rounds) / started.elapsed().as_secs_f64();
        let ratio = page.len() as f64 / zipped.len() as f64;
        eprintln!(
            "level {level}: {mb:.1} MB page, ratio {ratio:.2}, deflate {deflate:.0} MB/s, \
             inflate {inflate:.0} MB/s (of JSON, one core)"
        );
    }
}
