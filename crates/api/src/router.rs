//! The axum router: one `POST /` route for every action plus `GET /healthz`, wrapped in layers
//! (outermost first): envelope (RequestId, X-TC-TraceId echo, error rendering, one log line per
//! request) → per-client-address limit ([`crate::ip_limit`]) → body limit → TC3 authentication,
//! action resolution and replay check ([`crate::replay`]) → rate limit → dispatch (JSON depth and
//! array length limits while decoding, [`crate::decode_body`]).
//!
//! Cost before authentication: an unsigned or badly signed request from an address over its limit
//! is refused after one map lookup; within the limit it costs the body read (≤ the body limit) and
//! header parsing; the key lookup only happens for a well-formed Authorization with a fresh timestamp.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::action::{ActionTable, Caller};
use crate::audit::{AuditEntry, AuditSink, audited};
use crate::code::TcssCode;
use crate::credentials::CredentialLookup;
use crate::envelope;
use crate::error::ApiError;
use crate::ip_limit::IpLimiter;
use crate::listen::ClientAddr;
use crate::metrics::ApiMetrics;
use crate::rate_limit::{RateLimiter, SharedRateCounter};
use crate::replay::{self, ReplayGuard, SeenSignatures};
use crate::tc3;

/// The only API version TCSS has.
pub const API_VERSION: &str = "2020-11-01";
/// The public service caps TC3 POST bodies at 10 MB.
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Requests per second per client address before authentication (bursts of twice as many).
pub const DEFAULT_IP_RATE_LIMIT: u32 = 200;

/// Knobs of the API layer.
#[derive(Clone)]
pub struct ApiConfig {
    /// Requests per second per (account, action); 0 = unlimited.
    pub rate_limit: u32,
    pub body_limit: usize,
    /// Requests per second per client address, checked first ([`crate::ip_limit`]); 0 = unlimited.
    pub ip_rate_limit: u32,
    /// Where accepted signatures of mutating actions are recorded for every replica; `None` keeps
    /// them in this process's memory only ([`crate::replay`]).
    pub seen_signatures: Option<Arc<dyn SeenSignatures>>,
    /// Where the audit trail goes ([`crate::audit`]); `None`: not kept.
    pub audit: Option<Arc<dyn AuditSink>>,
    /// The listener serves TLS: [`Caller::origin`] is `https://`.
    pub tls: bool,
    /// Where the per-(account, action) limit is counted for every replica; `None` counts in this
    /// process only ([`crate::rate_limit`]).
    pub shared_rate_limit: Option<Arc<dyn SharedRateCounter>>,
    /// Request counts and latencies for `GET /metrics`; `None`: not recorded.
    pub metrics: Option<ApiMetrics>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            rate_limit: 20,
            body_limit: DEFAULT_BODY_LIMIT,
            ip_rate_limit: DEFAULT_IP_RATE_LIMIT,
            seen_signatures: None,
            audit: None,
            tls: false,
            shared_rate_limit: None,
            metrics: None,
        }
    }
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("rate_limit", &self.rate_limit)
            .field("body_limit", &self.body_limit)
            .field("ip_rate_limit", &self.ip_rate_limit)
            .field("seen_signatures", &self.seen_signatures.as_ref().map(|_| "store"))
            .field("audit", &self.audit.as_ref().map(|_| "sink"))
            .field("tls", &self.tls)
            .field("shared_rate_limit", &self.shared_rate_limit.as_ref().map(|_| "store"))
            .finish()
    }
}

struct AppState {
    table: ActionTable,
    credentials: Arc<dyn CredentialLookup>,
    limiter: RateLimiter,
    ip_limiter: IpLimiter,
    replay: ReplayGuard,
    body_limit: usize,
    audit: Option<Arc<dyn AuditSink>>,
    tls: bool,
}

/// The request's id, set by the envelope layer for everything below it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The buffered raw body (the signature covers these exact bytes).
#[derive(Debug, Clone)]
struct RawBody(Bytes);

/// What the log line needs from inner layers, passed back on the response.
#[derive(Debug, Clone)]
struct LogFields {
    action: &'static str,
    account: model::AccountId,
}

/// Builds the router. `table` comes from `service::actions()`.
pub fn router(table: ActionTable, credentials: Arc<dyn CredentialLookup>, config: ApiConfig) -> Router {
    let state = Arc::new(AppState {
        table,
        credentials,
        limiter: match config.shared_rate_limit {
            Some(counter) => RateLimiter::shared(config.rate_limit, counter),
            None => RateLimiter::new(config.rate_limit),
        },
        ip_limiter: IpLimiter::new(config.ip_rate_limit, crate::ip_limit::DEFAULT_CAPACITY),
        replay: ReplayGuard::new(config.seen_signatures, replay::MEMORY_CAPACITY),
        body_limit: config.body_limit,
        audit: config.audit,
        tls: config.tls,
    });
    let api = Router::new()
        .route("/", any(dispatch))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), rate_limit_layer))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), auth_layer))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), body_limit_layer))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), audit_layer))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), ip_limit_layer))
        .with_state(Arc::clone(&state));
    api.route("/healthz", get(healthz)).fallback(not_found).layer(middleware::from_fn_with_state(config.metrics, envelope_layer))
}

async fn healthz() -> Response {
    envelope::json_response(br#"{"Status":"ok"}"#.to_vec())
}

async fn not_found() -> ApiError {
    ApiError::new(TcssCode::UnsupportedProtocol, "Only `POST /` (TencentCloud API 3.0) and `GET /healthz` are served.")
}

/// Outermost: assigns the RequestId, echoes X-TC-TraceId, renders `ApiError`s into the envelope,
/// logs one line per request with action, account, latency and code, and counts it in the metrics.
async fn envelope_layer(State(metrics): State<Option<ApiMetrics>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let trace_id = req.headers().get("x-tc-traceid").cloned();
    let client = header_string(req.headers(), "x-tc-requestclient");
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut resp = next.run(req).instrument(span.clone()).await;

    let error = resp.extensions_mut().remove::<ApiError>();
    // Read before an error replaces the response (the log line and metrics name the action).
    let fields = resp.extensions().get::<LogFields>().cloned();
    if let Some(err) = &error {
        resp = envelope::json_response(envelope::error_bytes(err, &request_id));
    }
    if let Some(t) = trace_id {
        resp.headers_mut().insert("x-tc-traceid", t);
    }
    let (action, account) = fields.map_or(("-", None), |f| (f.action, Some(f.account)));
    let elapsed = started.elapsed();
    let latency_us = elapsed.as_micros() as u64;
    if let Some(m) = &metrics {
        m.observe(action, error.as_ref().map_or("Success", |e| e.code.as_str()), elapsed.as_secs_f64());
    }
    let _enter = span.enter();
    match &error {
        None => tracing::info!(action, account, latency_us, code = "", client, "ok"),
        Some(e) if e.code == TcssCode::ResourceInsufficient => {
            tracing::error!(action, account, latency_us, code = e.code.as_str(), client, cause = ?e.internal, "storage full")
        }
        Some(e) if e.code == TcssCode::InternalError => {
            tracing::error!(action, account, latency_us, code = e.code.as_str(), client, cause = ?e.internal, "internal error")
        }
        Some(e) => {
            tracing::info!(action, account, latency_us, code = e.code.as_str(), client, message = %e.message, "error")
        }
    }
    resp
}

/// Refuses a client address over its rate (`RequestLimitExceeded.IPLimitExceeded`) before anything
/// else is done for the request. Without `ConnectInfo<ClientAddr>` (a router driven in-process)
/// there is no address and no limit.
async fn ip_limit_layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(axum::extract::ConnectInfo(ClientAddr(peer))) = req.extensions().get::<axum::extract::ConnectInfo<ClientAddr>>()
        && !state.ip_limiter.check(peer.ip(), Instant::now())
    {
        return ApiError::new(
            TcssCode::RequestLimitExceededIPLimitExceeded,
            format!("More than {} requests per second from this client address.", state.ip_limiter.per_second()),
        )
        .into_response();
    }
    next.run(req).await
}

/// Records writes and authentication failures in the audit trail ([`crate::audit`]), after the
/// inner layers answered and before the response leaves. Only cheap handles are kept on the way
/// in; the entry's fields are parsed and copied for the requests that are audited, not for reads.
async fn audit_layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(sink) = state.audit.clone() else {
        return next.run(req).await;
    };
    let action = req.headers().get("x-tc-action").cloned();
    let authorization = req.headers().get(header::AUTHORIZATION).cloned();
    let peer = req.extensions().get::<axum::extract::ConnectInfo<ClientAddr>>().map(|axum::extract::ConnectInfo(ClientAddr(p))| p.ip());
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let resp = next.run(req).await;
    let action = action.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default();
    let code = resp.extensions().get::<ApiError>().map_or("", |e| e.code.as_str());
    if audited(action, code) {
        let secret_id = authorization
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| tc3::parse_authorization(v).ok())
            .map(|a| a.secret_id.chars().take(128).collect::<String>())
            .unwrap_or_default();
        let message = resp.extensions().get::<ApiError>().map(|e| e.message.chars().take(1024).collect()).unwrap_or_default();
        let entry = AuditEntry {
            at: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
            request_id,
            action: action.chars().take(128).collect(),
            account: resp.extensions().get::<LogFields>().map(|f| f.account),
            secret_id,
            client: peer.map(|ip| ip.to_string()).unwrap_or_default(),
            code: code.to_string(),
            message,
            params_sha256: resp.extensions().get::<RawBody>().map(|b| hex::encode(Sha256::digest(&b.0))).unwrap_or_default(),
        };
        if let Err(e) = sink.record(entry).await {
            tracing::error!(error = %e, "audit entry not written");
        }
    }
    resp
}

/// Buffers the body up to the limit (`RequestSizeLimitExceeded` beyond it).
async fn body_limit_layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let too_large = || {
        ApiError::new(TcssCode::RequestSizeLimitExceeded, format!("The request body exceeds {} bytes.", state.body_limit)).into_response()
    };
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.body_limit as u64) {
        return too_large();
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, state.body_limit).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    parts.extensions.insert(RawBody(bytes.clone()));
    let mut resp = next.run(Request::from_parts(parts, Body::empty())).await;
    // For the audit layer outside (a reference count, no copy): it digests the body of audited requests.
    resp.extensions_mut().insert(RawBody(bytes));
    resp
}

/// Verifies TC3, checks the version and resolves the action; inserts the `Caller`.
async fn auth_layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    // Work on the parts: `Body` is not `Sync`, so a `&Request` cannot be held across an await.
    let (mut parts, body) = req.into_parts();
    let (caller, claimed) = match authenticate(&state, &parts).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let fields = LogFields { action: caller.action, account: caller.account };
    parts.extensions.insert(caller);
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    // A mutating request answered with an error (rate limit, bad parameter, failed operation) changed
    // nothing: its signature is released, so sending it again is a retry, not a replay.
    if let Some(digest) = claimed
        && resp.extensions().get::<ApiError>().is_some()
    {
        state.replay.release(&digest).await;
    }
    resp.extensions_mut().insert(fields);
    resp
}

/// The caller, and the replay digest claimed for a mutating action.
async fn authenticate(state: &AppState, req: &axum::http::request::Parts) -> Result<(Caller, Option<[u8; 32]>), ApiError> {
    let headers = &req.headers;
    if req.method != Method::POST {
        return Err(ApiError::new(
            TcssCode::UnsupportedProtocol,
            format!("HTTP method {} is not supported: send POST / with a JSON body signed with TC3-HMAC-SHA256.", req.method),
        ));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media_type == "application/x-www-form-urlencoded" || media_type == "multipart/form-data" {
        return Err(ApiError::new(
            TcssCode::UnsupportedProtocol,
            "Form bodies and the legacy HmacSHA1/HmacSHA256 signature methods are not supported: \
             send a JSON body signed with TC3-HMAC-SHA256 (the SDK default).",
        ));
    }
    let invalid_auth = |m: String| ApiError::new(TcssCode::AuthFailureInvalidAuthorization, m);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| invalid_auth("The Authorization header is missing.".into()))?
        .to_str()
        .map_err(|_| invalid_auth("The Authorization header is not visible ASCII.".into()))?;
    let auth = tc3::parse_authorization(authorization).map_err(tc3_error)?;
    let timestamp = header_str(headers, "x-tc-timestamp").ok_or_else(|| invalid_auth("The X-TC-Timestamp header is missing.".into()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed_at = tc3::check_timestamp(&auth, timestamp, now).map_err(tc3_error)?;
    let credential = state.credentials.lookup(auth.secret_id).await.map_err(ApiError::from)?.ok_or_else(|| {
        ApiError::new(TcssCode::AuthFailureSecretIdNotFound, format!("The SecretId `{}` does not exist or is disabled.", auth.secret_id))
    })?;
    let body = req.extensions.get::<RawBody>().map(|b| b.0.clone()).unwrap_or_default();
    let signed = tc3::SignedRequest { method: req.method.as_str(), query: req.uri.query().unwrap_or(""), headers, body: &body, timestamp };
    tc3::verify(&auth, &credential.secret_key, &signed).map_err(tc3_error)?;

    match header_str(headers, "x-tc-version") {
        Some(API_VERSION) => {}
        Some(other) => {
            return Err(ApiError::new(
                TcssCode::NoSuchVersion,
                format!("The API version `{other}` does not exist; tcss has only {API_VERSION}."),
            ));
        }
        None => {
            return Err(ApiError::new(TcssCode::NoSuchVersion, "The X-TC-Version header is missing."));
        }
    }
    let action_name = header_str(headers, "x-tc-action")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::new(TcssCode::MissingParameter, "The X-TC-Action header is missing."))?;
    let (action, mutating) = state.table.resolve(action_name).ok_or_else(|| {
        ApiError::new(TcssCode::InvalidAction, format!("The action `{action_name}` does not exist in tcss {API_VERSION}."))
    })?;
    if !state.table.allows(credential.role, action) {
        return Err(ApiError::new(
            TcssCode::AuthFailureUnauthorizedOperation,
            match credential.role {
                model::KeyRole::Agent => format!("This key is a node agent key: it can only report node assets, not call `{action}`."),
                model::KeyRole::Full => format!("`{action}` is for node agent keys only (`shipshape keys create --role agent`)."),
            },
        ));
    }
    let mut claimed = None;
    if mutating {
        let digest = replay::digest(auth.secret_id, &auth.signature, action);
        match state.replay.check(&digest, signed_at, now, true).await {
            Ok(()) => {}
            Err(replay::Refusal::Replayed) => {
                return Err(ApiError::new(
                    TcssCode::AuthFailure,
                    format!(
                        "The request was replayed: `{action}` with this signature was already accepted, and an action \
                         that changes state accepts a signature once. Sign the request again (a new X-TC-Timestamp)."
                    ),
                ));
            }
            Err(replay::Refusal::Store(e)) => return Err(e.into()),
        }
        claimed = Some(digest);
    }
    let request_id = req.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let caller = Caller {
        request_id,
        account: credential.account,
        secret_id: auth.secret_id.to_string(),
        action,
        region: header_string(headers, "x-tc-region"),
        origin: origin(headers, state.tls),
    };
    Ok((caller, claimed))
}

fn tc3_error(e: tc3::Tc3Error) -> ApiError {
    let code = match e {
        tc3::Tc3Error::InvalidAuthorization(_) => TcssCode::AuthFailureInvalidAuthorization,
        tc3::Tc3Error::SignatureExpire { .. } => TcssCode::AuthFailureSignatureExpire,
        tc3::Tc3Error::SignatureFailure => TcssCode::AuthFailureSignatureFailure,
    };
    let mut msg = e.to_string();
    if let Some(first) = msg.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    ApiError::new(code, format!("{msg}."))
}

async fn rate_limit_layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(caller) = req.extensions().get::<Caller>()
        && !state.limiter.admit(caller.account, caller.action).await
    {
        return ApiError::new(
            TcssCode::RequestLimitExceeded,
            format!("More than {} requests per second for `{}` from this account.", state.limiter.per_second(), caller.action),
        )
        .into_response();
    }
    next.run(req).await
}

async fn dispatch(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (Some(caller), Some(body)) = (req.extensions().get::<Caller>().cloned(), req.extensions().get::<RawBody>()) else {
        return ApiError::new(TcssCode::InternalError, "request reached dispatch without authentication").into_response();
    };
    let body = body.0.clone();
    let Some((_, handler)) = state.table.get(caller.action) else {
        return ApiError::new(TcssCode::InvalidAction, format!("The action `{}` does not exist.", caller.action)).into_response();
    };
    match handler(caller, body).await {
        Ok(bytes) => envelope::json_response(bytes),
        Err(e) => e.into_response(),
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `http(s)://HOST[:PORT]` from the Host header. tccli sends `Host: http://HOST`, so a scheme
/// prefix is dropped; anything but a host name, an IP address and a port is refused (the value
/// ends up in a link).
fn origin(headers: &HeaderMap, tls: bool) -> Option<String> {
    let host = header_str(headers, "host")?.trim();
    let host = host.strip_prefix("http://").or_else(|| host.strip_prefix("https://")).unwrap_or(host).trim_end_matches('/');
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']');
    if host.is_empty() || host.len() > 255 || !host.chars().all(ok) {
        return None;
    }
    Some(format!("{}://{host}", if tls { "https" } else { "http" }))
}

fn header_string(headers: &HeaderMap, name: &str) -> Option<String> {
    header_str(headers, name).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_from_host() {
        let with = |h: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, h.parse().unwrap());
            m
        };
        assert_eq!(origin(&with("127.0.0.1:8080"), false).as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin(&with("http://shipshape.example:443"), true).as_deref(), Some("https://shipshape.example:443"));
        assert_eq!(origin(&with("[::1]:8080"), false).as_deref(), Some("http://[::1]:8080"));
        for bad in ["", "a/b", "a b", "evil.example/?x", "user@host"] {
            assert_eq!(origin(&with(bad), false), None, "{bad:?}");
        }
        assert_eq!(origin(&HeaderMap::new(), false), None);
    }
}
