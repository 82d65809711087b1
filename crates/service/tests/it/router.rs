//! The real TCSS router (`api::router` over `service::actions` and a temp SQLite store), driven
//! in-process with `oneshot` on requests signed by `api::tc3::sign`: no socket, no external
//! service. What a request meets before and in a handler: the signature check, action
//! resolution, unbuilt actions, a list action's paging and filters.

use std::sync::Arc;

use api::tc3::{Outgoing, sign};
use axum::body::Body;
use axum::http::Request;
use service::{Service, StoreCredentials, StoreSignatures};
use tower::ServiceExt;

const HOST: &str = "shipshape.test:8080";

struct Server {
    app: axum::Router,
    key: store::NewKey,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = store::Store::open(dir.path(), None).await.unwrap();
    let key = store.create_account_with_key().await.unwrap();
    let svc = Service::new(store.clone());
    let table = api::ActionTable::new(service::actions(&svc)).unwrap();
    let config = api::ApiConfig { seen_signatures: Some(Arc::new(StoreSignatures(store.clone()))), ..api::ApiConfig::default() };
    let app = api::router(table, Arc::new(StoreCredentials::new(store)), config);
    Server { app, key, _dir: dir }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `action` with `body`, signed with `secret_key` as the SDKs sign (content-type;host).
fn request(s: &Server, action: &str, body: &serde_json::Value, secret_key: &str) -> Request<Body> {
    let body = serde_json::to_vec(body).unwrap();
    let timestamp = now();
    let authorization =
        sign(&Outgoing { secret_id: &s.key.secret_id, secret_key, host: HOST, service: "tcss", body: &body, timestamp }).unwrap();
    Request::post("/")
        .header("content-type", "application/json")
        .header("host", HOST)
        .header("x-tc-action", action)
        .header("x-tc-version", "2020-11-01")
        .header("x-tc-timestamp", timestamp.to_string())
        .header("authorization", authorization)
        .body(Body::from(body))
        .unwrap()
}

/// The `Response` object of a request signed with the account's key.
async fn call(s: &Server, action: &str, body: serde_json::Value) -> serde_json::Value {
    send(s, request(s, action, &body, &s.key.secret_key)).await
}

async fn send(s: &Server, req: Request<Body>) -> serde_json::Value {
    let resp = s.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200, "TCSS answers errors in the envelope");
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let r = v["Response"].clone();
    assert!(r["RequestId"].as_str().is_some_and(|id| !id.is_empty()), "every response has a RequestId: {r}");
    r
}

fn code(r: &serde_json::Value) -> &str {
    r["Error"]["Code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_signed_request_reaches_its_handler() {
    let s = server().await;
    let r = call(&s, "DescribeCompliancePeriodTaskList", serde_json::json!({})).await;
    assert_eq!(code(&r), "", "{r}");
    // One periodic task per asset type, from the handler (not a canned answer): 6 of them.
    assert_eq!(r["TotalCount"], 6);
    let types: Vec<&str> = r["PeriodTaskSet"].as_array().unwrap().iter().map(|t| t["AssetType"].as_str().unwrap()).collect();
    assert_eq!(types[0], "ASSET_CONTAINER");
    assert_eq!(types.len(), 6);
    // A fresh store has no image: an empty list, not an error.
    let r = call(&s, "DescribeAssetImageList", serde_json::json!({})).await;
    assert_eq!((code(&r), &r["TotalCount"], &r["List"]), ("", &serde_json::json!(0), &serde_json::json!([])), "{r}");
}

#[tokio::test]
async fn a_wrong_signature_is_refused_before_any_handler() {
    let s = server().await;
    let wrong = format!("{}x", &s.key.secret_key[..s.key.secret_key.len() - 1]);
    let r = send(&s, request(&s, "DescribeCompliancePeriodTaskList", &serde_json::json!({}), &wrong)).await;
    assert_eq!(code(&r), "AuthFailure.SignatureFailure", "{r}");
    assert!(r.get("TotalCount").is_none());
    // The body is signed: changing it after signing fails the same way.
    let mut req = request(&s, "DescribeCompliancePeriodTaskList", &serde_json::json!({}), &s.key.secret_key);
    *req.body_mut() = Body::from(r#"{"Limit":1}"#);
    assert_eq!(code(&send(&s, req).await), "AuthFailure.SignatureFailure");
    // An unknown SecretId.
    let mut req = request(&s, "DescribeCompliancePeriodTaskList", &serde_json::json!({}), &s.key.secret_key);
    let auth = req.headers()["authorization"].to_str().unwrap().replace(&s.key.secret_id, "AKIDnobody000000000000000000000000");
    req.headers_mut().insert("authorization", auth.parse().unwrap());
    assert_eq!(code(&send(&s, req).await), "AuthFailure.SecretIdNotFound");
}

#[tokio::test]
async fn unknown_and_unbuilt_actions() {
    let s = server().await;
    let r = call(&s, "DescribeNoSuchThing", serde_json::json!({})).await;
    assert_eq!(code(&r), "InvalidAction", "{r}");
    // A TCSS action Shipshape does not implement: named in the contract, answered UnsupportedOperation.
    let unbuilt = "DescribeAbnormalProcessEvents";
    assert!(service::tcss_action_names().any(|n| n == unbuilt));
    let r = call(&s, unbuilt, serde_json::json!({})).await;
    assert_eq!(code(&r), "UnsupportedOperation", "{r}");
    assert!(r["Error"]["Message"].as_str().unwrap().contains(unbuilt), "{r}");
}

#[tokio::test]
async fn a_list_action_pages_filters_and_sorts() {
    let s = server().await;
    let list = |body| async { call(&s, "DescribeCompliancePeriodTaskList", body).await };
    let ids = |r: &serde_json::Value| -> Vec<u64> {
        r["PeriodTaskSet"].as_array().unwrap().iter().map(|t| t["PeriodTaskId"].as_u64().unwrap()).collect()
    };
    let r = list(serde_json::json!({"Limit": 2, "Offset": 4})).await;
    assert_eq!((ids(&r), &r["TotalCount"]), (vec![5, 6], &serde_json::json!(6)), "{r}");
    // Offset past the end: an empty page with the whole total.
    let r = list(serde_json::json!({"Limit": 2, "Offset": 6})).await;
    assert_eq!((ids(&r), &r["TotalCount"]), (vec![], &serde_json::json!(6)), "{r}");
    let r = list(serde_json::json!({"Offset": 1})).await;
    assert_eq!(ids(&r), [2, 3, 4, 5, 6]);
    // Limit caps at 100; above it the request is refused.
    assert_eq!(code(&list(serde_json::json!({"Limit": 100})).await), "");
    assert_eq!(code(&list(serde_json::json!({"Limit": 101})).await), "InvalidParameter");
    // Filters and sort keys are checked even when the list is empty.
    let r = call(&s, "DescribeComplianceWhitelistItemList", serde_json::json!({"Filters": [{"Name": "Bogus", "Values": ["x"]}]})).await;
    assert_eq!(code(&r), "InvalidParameter", "{r}");
    assert!(r["Error"]["Message"].as_str().unwrap().contains("Bogus"), "{r}");
    let r = call(&s, "DescribeComplianceWhitelistItemList", serde_json::json!({"By": "Bogus"})).await;
    assert_eq!(code(&r), "InvalidParameter", "{r}");
    let r = call(
        &s,
        "DescribeComplianceWhitelistItemList",
        serde_json::json!({"Filters": [{"Name": "Name", "Values": ["x"]}], "By": "LastUpdateTime", "Order": "DESC"}),
    )
    .await;
    assert_eq!((code(&r), &r["TotalCount"]), ("", &serde_json::json!(0)), "{r}");
    // A filter with no value, an unknown field: the TCSS codes of bad input.
    let r = call(&s, "DescribeAssetImageList", serde_json::json!({"Filters": [{"Name": "ImageName", "Values": []}]})).await;
    assert_eq!(code(&r), "InvalidParameter", "{r}");
    let r = call(&s, "DescribeAssetImageList", serde_json::json!({"Filters": [{"Name": "ScanStatus", "Values": ["done"]}]})).await;
    assert_eq!(code(&r), "InvalidParameter", "{r}");
    let r = call(&s, "DescribeAssetImageList", serde_json::json!({"Bogus": 1})).await;
    assert_eq!(code(&r), "UnknownParameter", "{r}");
}
