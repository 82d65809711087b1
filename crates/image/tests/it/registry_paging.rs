//! Paged listings against a registry that never ends, or points elsewhere: the client stops
//! at its caps with a typed error and never follows a `Link` to another origin.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header::LINK};
use axum::routing::get;
use axum::{Json, Router};
use image::{Error, ListLimits, OpenOptions, RegistryClient};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the fake registry pages `/v2/_catalog`.
#[derive(Clone)]
struct Paging {
    /// Entries a page.
    per_page: u64,
    /// Pages before the last one (no `Link`); `u64::MAX` for never.
    pages: u64,
    /// Where `Link` points: `None` = this registry (relative), `Some(base)` = that origin
    /// (`SELF`: this registry as an absolute URL).
    link_base: Option<String>,
    hits: Arc<AtomicU64>,
}

async fn catalog(State(p): State<Paging>, RawQuery(q): RawQuery) -> (HeaderMap, Json<serde_json::Value>) {
    p.hits.fetch_add(1, Ordering::Relaxed);
    let page: u64 = q.unwrap_or_default().split('&').find_map(|kv| kv.strip_prefix("p=")?.parse().ok()).unwrap_or(0);
    let repos: Vec<String> = (0..p.per_page).map(|i| format!("repo{page:05}-{i}")).collect();
    let mut h = HeaderMap::new();
    if page + 1 < p.pages {
        let next = format!("{}/v2/_catalog?n=1000&p={}", p.link_base.clone().unwrap_or_default(), page + 1);
        h.insert(LINK, HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).unwrap());
    }
    (h, Json(serde_json::json!({ "repositories": repos })))
}

const SELF: &str = "SELF";

/// Serves the fake registry on a free loopback port; returns `HOST:PORT`.
async fn serve(mut p: Paging) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    if p.link_base.as_deref() == Some(SELF) {
        p.link_base = Some(format!("http://{addr}"));
    }
    let app = Router::new().route("/v2/", get(|| async { "{}" })).route("/v2/_catalog", get(catalog)).with_state(p);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr.to_string()
}

fn client(host: &str) -> RegistryClient {
    RegistryClient::new(host, &OpenOptions { insecure: true, ..Default::default() }, Duration::from_secs(10)).unwrap()
}

fn paging(per_page: u64, pages: u64) -> Paging {
    Paging { per_page, pages, link_base: None, hits: Arc::new(AtomicU64::new(0)) }
}

#[tokio::test]
async fn finite_listing_is_read_to_the_end() {
    let host = serve(paging(10, 3)).await;
    let repos = client(&host).repositories().await.unwrap();
    assert_eq!(repos.len(), 30);
    assert_eq!(repos.first().map(String::as_str), Some("repo00000-0"));
}

#[tokio::test]
async fn endless_links_stop_at_the_page_cap() {
    let p = paging(1, u64::MAX);
    let hits = Arc::clone(&p.hits);
    let host = serve(p).await;
    let limits = ListLimits { max_pages: 5, ..Default::default() };
    let err = client(&host).with_list_limits(limits).repositories().await.unwrap_err();
    assert!(matches!(&err, Error::TooLarge(m) if m.contains("more than 5 pages")), "{err}");
    assert_eq!(hits.load(Ordering::Relaxed), 5);
}

#[tokio::test]
async fn entries_and_bytes_are_capped() {
    let host = serve(paging(10, u64::MAX)).await;
    let limits = ListLimits { max_entries: 25, ..Default::default() };
    let err = client(&host).with_list_limits(limits).repositories().await.unwrap_err();
    assert!(matches!(&err, Error::TooLarge(m) if m.contains("more than 25 entries")), "{err}");
    let limits = ListLimits { max_bytes: 1000, ..Default::default() };
    let err = client(&host).with_list_limits(limits).repositories().await.unwrap_err();
    assert!(matches!(&err, Error::TooLarge(m) if m.contains("more than 1000 bytes")), "{err}");
}

#[tokio::test]
async fn links_to_another_origin_are_not_followed() {
    let elsewhere = paging(10, 1);
    let elsewhere_hits = Arc::clone(&elsewhere.hits);
    let other = serve(elsewhere).await;
    let p = Paging { link_base: Some(format!("http://{other}")), ..paging(10, 2) };
    let host = serve(p).await;
    let err = client(&host).repositories().await.unwrap_err();
    assert!(matches!(&err, Error::Registry(m) if m.contains("another origin")), "{err}");
    assert_eq!(elsewhere_hits.load(Ordering::Relaxed), 0, "the other origin was asked");
    // The same origin written as an absolute URL is followed.
    let p = Paging { link_base: Some(SELF.into()), ..paging(10, 2) };
    let host = serve(p).await;
    assert_eq!(client(&host).repositories().await.unwrap().len(), 20);
}
