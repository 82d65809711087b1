//! `GET /readyz` (the database answers) and `GET /metrics` (Prometheus/OpenMetrics text: the API
//! layer's request counters and latencies, plus the store's figures read at scrape time), served
//! beside the TCSS API by `serve`. Unauthenticated like `/healthz`: put them behind the network
//! policy that guards the scrape port, as with any exporter.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// A readiness probe that waits longer than this on the database answers 503.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct Probes {
    store: store::Store,
    metrics: api::ApiMetrics,
}

pub fn router(store: store::Store, metrics: api::ApiMetrics) -> Router {
    Router::new().route("/readyz", get(readyz)).route("/metrics", get(metrics_text)).with_state(Probes { store, metrics })
}

async fn readyz(State(p): State<Probes>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, p.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], r#"{"Status":"ok"}"#).into_response(),
        Ok(Err(e)) => unready(format!("database: {e}")),
        Err(_) => unready(format!("database: no answer within {}s", READY_TIMEOUT.as_secs())),
    }
}

fn unready(why: String) -> Response {
    tracing::warn!(reason = %why, "/readyz: not ready");
    let body = serde_json::json!({ "Status": "unavailable", "Reason": why }).to_string();
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn metrics_text(State(p): State<Probes>) -> Response {
    let mut registry = api::metrics::Registry::default();
    p.metrics.register(&mut registry);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Err(e) = service::metrics::register_store_metrics(&p.store, &mut registry, now).await {
        tracing::warn!(error = %e, "/metrics: store figures unavailable");
        return (StatusCode::SERVICE_UNAVAILABLE, format!("store figures unavailable: {e}\n")).into_response();
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, api::metrics::CONTENT_TYPE)], api::metrics::encode(&registry)).into_response()
}
