//! The three operations of the spec, behind a bearer token bound to one account
//! (`shipshape harbor token create`). Mounted by `serve` beside the TCSS API on the same
//! listener: `/api/v1/metadata`, `/api/v1/scan`, `/api/v1/scan/{id}/report`.

use crate::report::{self, ReportError};
use crate::wire::{self, ErrorBody, ErrorResponse, Metadata, ScanRequest, ScanResponse};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use model::AccountId;
use std::sync::Arc;
use store::harbor::HarborScanState;
use tokio::sync::Notify;

/// Largest scan request body read (a real one is well under 2 KiB).
const MAX_BODY: usize = 64 * 1024;
/// Seconds Harbor is told to wait before polling a running scan again.
pub const REFRESH_AFTER_SECS: u32 = 3;

/// What the handlers share.
#[derive(Clone)]
pub struct Adapter {
    store: store::Store,
    /// Wakes this process's Harbor workers when a request is queued (others poll).
    wake: Arc<Notify>,
}

impl Adapter {
    pub fn new(store: store::Store, wake: Arc<Notify>) -> Adapter {
        Adapter { store, wake }
    }
}

/// The adapter's routes (no fallback: the TCSS router owns that).
pub fn router(adapter: Adapter) -> Router {
    Router::new()
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/scan", post(accept_scan))
        .route("/api/v1/scan/{id}/report", get(report))
        .route_layer(middleware::from_fn_with_state(adapter.clone(), authenticate))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(adapter)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::to_vec(&ErrorResponse { error: ErrorBody { message: message.into() } }).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, wire::MIME_ERROR)], body).into_response()
}

fn json<T: serde::Serialize>(status: StatusCode, content_type: &str, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, content_type.to_string())], body).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("serialising the response: {e}")),
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "harbor adapter");
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// `Authorization: Bearer TOKEN` → the token's account, as a request extension.
async fn authenticate(State(a): State<Adapter>, mut req: Request, next: Next) -> Response {
    let token = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let account = match token {
        Some(t) if !t.trim().is_empty() => match a.store.harbor_token_account(t.trim()).await {
            Ok(a) => a,
            Err(e) => return internal(e),
        },
        _ => None,
    };
    let Some(account) = account else {
        let mut r = error(StatusCode::UNAUTHORIZED, "a valid `Authorization: Bearer TOKEN` is required (shipshape harbor token create)");
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"shipshape\""));
        return r;
    };
    req.extensions_mut().insert(account);
    next.run(req).await
}

async fn metadata(State(a): State<Adapter>) -> Response {
    let consumes = wire::CONSUMES.to_vec();
    let mut properties = std::collections::BTreeMap::new();
    properties.insert("harbor.scanner-adapter/scanner-type".to_string(), "os-package-vulnerability".to_string());
    // When the advisory data last changed (an update that found nothing new leaves it as is).
    match a.store.advisory_status().await {
        Ok(s) => {
            if let Some(t) = s.sources.iter().map(|s| s.imported_at).max().and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
                && let Ok(text) = t.format(&time::format_description::well_known::Rfc3339)
            {
                properties.insert("harbor.scanner-adapter/vulnerability-database-updated-at".to_string(), text);
            }
        }
        Err(e) => return internal(e),
    }
    let m = Metadata {
        scanner: wire::Scanner::shipshape(),
        capabilities: vec![
            wire::Capability {
                kind: wire::CAPABILITY_VULNERABILITY,
                consumes_mime_types: consumes.clone(),
                produces_mime_types: wire::produces(wire::CAPABILITY_VULNERABILITY).to_vec(),
                additional_attributes: None,
            },
            wire::Capability {
                kind: wire::CAPABILITY_SBOM,
                consumes_mime_types: consumes,
                produces_mime_types: wire::produces(wire::CAPABILITY_SBOM).to_vec(),
                additional_attributes: Some(serde_json::json!({"sbom_media_types": wire::SBOM_MEDIA_TYPES})),
            },
        ],
        properties,
    };
    json(StatusCode::OK, wire::MIME_METADATA, &m)
}

async fn accept_scan(State(a): State<Adapter>, axum::Extension(account): axum::Extension<AccountId>, body: Bytes) -> Response {
    let req: ScanRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid scan request JSON: {e}")),
    };
    let target = match req.validate() {
        Ok(t) => t,
        Err(r) => return error(StatusCode::from_u16(r.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY), r.message),
    };
    let stored = match serde_json::to_string(&req.without_credential()) {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    let auth = req.registry.as_ref().and_then(|r| r.authorization.as_deref());
    match a.store.create_harbor_scan(account, &stored, auth).await {
        Ok(id) => {
            tracing::info!(scan = %id, account, reference = %target.reference(), "harbor scan request queued");
            a.wake.notify_waiters();
            json(StatusCode::ACCEPTED, wire::MIME_SCAN_RESPONSE, &ScanResponse { id })
        }
        Err(e) => internal(e),
    }
}

/// Which report `Accept` names: the first supported type of the list; none or `*/*` means
/// the vulnerability report.
fn wanted_report(headers: &HeaderMap) -> Result<&'static str, (StatusCode, String)> {
    let accept = headers.get(header::ACCEPT).map(|v| v.to_str().unwrap_or("\u{0}"));
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(wire::MIME_VULN_REPORT);
    };
    let known = [wire::MIME_VULN_REPORT, wire::MIME_VULN_REPORT_HARBOR, wire::MIME_SBOM_REPORT];
    for offered in accept.split(',').map(str::trim) {
        // q-values do not change which of our types is meant.
        let bare: Vec<&str> = offered.split(';').filter(|p| !p.trim().starts_with("q=")).collect();
        let bare = bare.join(";");
        if bare == "*/*" || bare == "application/*" {
            return Ok(wire::MIME_VULN_REPORT);
        }
        if let Some(k) = known.iter().find(|k| wire::same_media_type(k, &bare)) {
            return Ok(k);
        }
    }
    Err((StatusCode::NOT_IMPLEMENTED, format!("no capability produces {accept:?}")))
}

#[derive(serde::Deserialize)]
struct ReportQuery {
    sbom_media_type: Option<String>,
}

fn sbom_media_type(query: &ReportQuery) -> Result<&'static str, (StatusCode, String)> {
    let Some(value) = query.sbom_media_type.as_deref() else {
        return Err((StatusCode::BAD_REQUEST, "missing query parameter sbom_media_type for the SBOM report".into()));
    };
    wire::SBOM_MEDIA_TYPES
        .iter()
        .find(|t| **t == value)
        .copied()
        .ok_or_else(|| (StatusCode::BAD_REQUEST, format!("unsupported sbom_media_type {value:?}")))
}

async fn report(
    State(a): State<Adapter>,
    axum::Extension(account): axum::Extension<AccountId>,
    Path(id): Path<String>,
    query: Result<Query<ReportQuery>, QueryRejection>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let mime = match wanted_report(&headers) {
        Ok(m) => m,
        Err((status, message)) => return error(status, message),
    };
    let sbom_type = if mime == wire::MIME_SBOM_REPORT {
        let query = match query {
            Ok(Query(q)) => q,
            Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
        };
        match sbom_media_type(&query) {
            Ok(t) => Some(t),
            Err((status, message)) => return error(status, message),
        }
    } else {
        None
    };
    let scan = match a.store.harbor_scan(account, &id).await {
        Ok(Some(s)) => s,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no scan request {id:?}")),
        Err(e) => return internal(e),
    };
    match scan.state {
        HarborScanState::Pending | HarborScanState::Running => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert("Refresh-After", HeaderValue::from(REFRESH_AFTER_SECS));
            if let Ok(loc) = HeaderValue::from_str(&uri.to_string()) {
                r.headers_mut().insert(header::LOCATION, loc);
            }
            return r;
        }
        HarborScanState::Failed => return error(StatusCode::INTERNAL_SERVER_ERROR, scan.error),
        HarborScanState::Done => {}
    }
    let req: ScanRequest = match serde_json::from_str(&scan.request) {
        Ok(r) => r,
        Err(e) => return internal(format!("stored scan request {id}: {e}")),
    };
    let artifact = req.artifact.clone().unwrap_or_default();
    let stored = match report::load(&a.store, account, &scan.image_id).await {
        Ok(s) => s,
        Err(e) => return report_error(e),
    };
    match sbom_type {
        Some(t) => {
            let reference = req.validate().map(|t| t.reference()).unwrap_or_default();
            match report::sbom_report(&artifact, &reference, &stored, t) {
                Ok(r) => json(StatusCode::OK, mime, &r),
                Err(e) => report_error(e),
            }
        }
        None => match report::vulnerability_report(&artifact, &stored) {
            Ok(r) => json(StatusCode::OK, mime, &r),
            Err(e) => report_error(e),
        },
    }
}

fn report_error(e: ReportError) -> Response {
    match e {
        ReportError::Store(_) | ReportError::Corrupt(_) => internal(e),
        // The scan ended but its report cannot be made: say why (Harbor shows the message).
        other => error(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}
