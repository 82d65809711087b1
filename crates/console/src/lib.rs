//! The web console: the front-end built from `web/` (committed in `dist/`, embedded by build.rs)
//! served under `/console/`, with a strict Content-Security-Policy and cache headers. The console
//! is a client of the TCSS API on the same origin (the browser signs TC3 requests itself), so this
//! crate owns no data and no authentication: only files.
//!
//! Cache: files under `assets/` have content hashes in their names and are immutable; everything
//! else (`index.html`) is `no-cache` with an ETag, so a new build is picked up at the next load.

use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Where the console lives.
pub const BASE: &str = "/console/";

/// Only this origin's scripts, styles, images and API calls (connect-src 'self' also covers the
/// Overview's read of the public `GET /metrics` for the advisory data age); no inline script or
/// style element, no plugins, no framing, no form posts elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The console's routes: `/console` (redirect), `/console/` and `/console/{path}`. No fallback:
/// the TCSS router owns it. `GET /` is [`redirect_root`], a layer, because `/` is the API's route.
pub fn router() -> Router {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent(BASE) }))
        .route("/console/", get(|headers: HeaderMap| async move { serve("index.html", &headers) }))
        .route("/console/{*path}", get(|Path(path): Path<String>, headers: HeaderMap| async move { serve(&path, &headers) }))
}

/// A browser opening the server's root (`GET /` with no query and no Authorization) is sent to
/// the console; everything else on `/`, signed API calls included, passes through untouched.
pub async fn redirect_root(req: Request, next: Next) -> Response {
    let browser = matches!(*req.method(), Method::GET | Method::HEAD)
        && req.uri().path() == "/"
        && req.uri().query().is_none()
        && !req.headers().contains_key(header::AUTHORIZATION);
    if browser { Redirect::to(BASE).into_response() } else { next.run(req).await }
}

fn find(path: &str) -> Option<&'static (&'static str, &'static [u8], &'static str)> {
    assets::ASSETS.binary_search_by(|(p, _, _)| (*p).cmp(path)).ok().map(|i| &assets::ASSETS[i])
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
}

fn serve(path: &str, req_headers: &HeaderMap) -> Response {
    let Some(&(name, bytes, etag)) = find(path) else {
        let mut r = (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n").into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        security_headers(r.headers_mut());
        return r;
    };
    let hashed = name.starts_with("assets/");
    let fresh = !hashed
        && req_headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type(name))], bytes).into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(if hashed { IMMUTABLE } else { "no-cache" }));
    h.insert(header::ETAG, HeaderValue::from_static(etag));
    security_headers(h);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn get(app: Router, uri: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::builder().uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn body(r: Response) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec()
    }

    /// The console beside a stand-in for the API's `/` route, as `serve` mounts it.
    fn app() -> Router {
        Router::new().route("/", axum::routing::any(|| async { "api" })).merge(router()).layer(axum::middleware::from_fn(redirect_root))
    }

    fn hashed_assets() -> Vec<&'static str> {
        assets::ASSETS.iter().map(|(p, _, _)| *p).filter(|p| p.starts_with("assets/")).collect()
    }

    #[tokio::test]
    async fn index_has_csp_no_cache_and_links_only_embedded_assets() {
        let r = get(app(), "/console/", &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
        for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
            assert!(csp.contains(directive), "{directive} missing from {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        let html = String::from_utf8(body(r).await).unwrap();
        // No inline script: every <script> has a src, and each src/href under /console/ is embedded.
        assert!(!html.contains("<script>") && !html.contains("<script type=\"module\">"), "{html}");
        let refs: Vec<&str> = html.split("\"/console/").skip(1).map(|s| s.split('"').next().unwrap()).collect();
        assert!(refs.iter().any(|p| p.ends_with(".js")) && refs.iter().any(|p| p.ends_with(".css")), "{refs:?}");
        for p in refs {
            assert!(find(p).is_some(), "index.html links {p}, which is not embedded");
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_with_their_type() {
        let assets = hashed_assets();
        assert!(assets.iter().any(|p| p.ends_with(".js")), "{assets:?}");
        for p in assets {
            let r = get(app(), &format!("/console/{p}"), &[]).await;
            assert_eq!(r.status(), StatusCode::OK, "{p}");
            assert_eq!(r.headers()[header::CACHE_CONTROL], IMMUTABLE);
            assert_eq!(r.headers()[header::CONTENT_TYPE], content_type(p));
            assert!(r.headers().contains_key(header::CONTENT_SECURITY_POLICY));
            assert_eq!(body(r).await, find(p).unwrap().1);
        }
    }

    #[tokio::test]
    async fn index_revalidates_with_its_etag() {
        let etag = get(app(), "/console/", &[]).await.headers()[header::ETAG].to_str().unwrap().to_string();
        let r = get(app(), "/console/", &[("if-none-match", &etag)]).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert!(body(r).await.is_empty());
        assert_eq!(get(app(), "/console/", &[("if-none-match", "\"other\"")]).await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_assets_are_404_not_the_index() {
        for uri in ["/console/assets/index-nope.js", "/console/nope", "/console/../Cargo.toml", "/console/assets/"] {
            let r = get(app(), uri, &[]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
            assert!(r.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        }
    }

    #[tokio::test]
    async fn root_redirects_browsers_only() {
        let r = get(app(), "/", &[]).await;
        assert!(r.status().is_redirection());
        assert_eq!(r.headers()[header::LOCATION], "/console/");
        let r = get(app(), "/console", &[]).await;
        assert_eq!((r.status(), r.headers()[header::LOCATION].to_str().unwrap()), (StatusCode::PERMANENT_REDIRECT, "/console/"));
        // A signed GET (or one with a query string) and every POST still reach the API.
        for (uri, headers) in [("/", vec![("authorization", "TC3-HMAC-SHA256 Credential=x")]), ("/?Action=X", vec![])] {
            let r = get(app(), uri, &headers).await;
            assert_eq!(body(r).await, b"api", "{uri}");
        }
        let post = Request::builder().method("POST").uri("/").body(Body::empty()).unwrap();
        assert_eq!(body(app().oneshot(post).await.unwrap()).await, b"api");
    }

    #[tokio::test]
    async fn head_and_other_methods() {
        let head = Request::builder().method("HEAD").uri("/console/").body(Body::empty()).unwrap();
        let r = app().oneshot(head).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(body(r).await.is_empty());
        let post = Request::builder().method("POST").uri("/console/").body(Body::empty()).unwrap();
        assert_eq!(app().oneshot(post).await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
