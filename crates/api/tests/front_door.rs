//! The router's checks before a handler runs, driven in-process: the per-address limit (no key
//! lookup once it refuses), replay refusal of mutating actions, the JSON shape limits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use api::listen::ClientAddr;
use api::{ActionTable, ApiConfig, Caller, Credential, CredentialLookup, LookupError, action, router};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const SECRET_ID: &str = "AKIDFrontDoorTest000000000000000000";
const SECRET_KEY: &str = "FrontDoorTestSecretKey0000000000";
const HOST: &str = "127.0.0.1:8080";

/// One key; counts lookups.
#[derive(Default)]
struct Keys {
    lookups: AtomicUsize,
}

impl CredentialLookup for Keys {
    fn lookup<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<Option<Credential>, LookupError>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found = (secret_id == SECRET_ID).then(|| Credential { account: 1, secret_key: SECRET_KEY.into() });
        Box::pin(async move { Ok(found) })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Req {
    #[serde(default)]
    ids: Vec<u64>,
    #[serde(default)]
    #[allow(dead_code)]
    nested: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Resp {
    count: usize,
}

fn app(keys: Arc<Keys>, config: ApiConfig) -> axum::Router {
    let handler = |_c: Caller, r: Req| async move { Ok::<_, api::ApiError>(Resp { count: r.ids.len() }) };
    let failing = |_c: Caller, _r: Req| async move { Err::<Resp, _>(api::ApiError::new(api::TcssCode::FailedOperation, "nothing")) };
    let table = ActionTable::new(vec![
        action("CreateThing", handler),
        action("DescribeThings", handler),
        action("DescribeThingsExport", handler),
        action("CreateNothing", failing),
    ])
    .unwrap();
    router(table, keys, config)
}

fn hmac(key: &[u8], msg: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// A request signed like the official SDKs (content-type;host), from `peer`.
fn signed(action: &str, body: &str, ts: i64, peer: &str) -> Request<Body> {
    let date = time::OffsetDateTime::from_unix_timestamp(ts).unwrap().date();
    let date = format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day());
    let canonical = format!(
        "POST\n/\n\ncontent-type:application/json\nhost:{HOST}\n\ncontent-type;host\n{}",
        hex::encode(Sha256::digest(body.as_bytes()))
    );
    let sts = format!("TC3-HMAC-SHA256\n{ts}\n{date}/tcss/tc3_request\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let key = hmac(&hmac(&hmac(format!("TC3{SECRET_KEY}").as_bytes(), &date), "tcss"), "tc3_request");
    let sig = hex::encode(hmac(&key, &sts));
    let mut req = Request::post("/")
        .header("content-type", "application/json")
        .header("host", HOST)
        .header("x-tc-action", action)
        .header("x-tc-version", "2020-11-01")
        .header("x-tc-timestamp", ts.to_string())
        .header(
            "authorization",
            format!("TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/tcss/tc3_request, SignedHeaders=content-type;host, Signature={sig}"),
        )
        .body(Body::from(body.to_string()))
        .unwrap();
    let addr: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(ClientAddr(addr)));
    req
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// (Error code or "", whole Response object).
async fn send(app: &axum::Router, req: Request<Body>) -> (String, serde_json::Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let r = v["Response"].clone();
    (r["Error"]["Code"].as_str().unwrap_or("").to_string(), r)
}

#[tokio::test]
async fn an_address_over_its_limit_costs_no_key_lookup() {
    let keys = Arc::new(Keys::default());
    let app = app(keys.clone(), ApiConfig { ip_rate_limit: 5, ..ApiConfig::default() });
    let mut refused = 0;
    for _ in 0..50 {
        // Well-formed and fresh, so within the limit each one is looked up (then fails to verify).
        let mut req = signed("DescribeThings", "{}", now(), "192.0.2.1:40000");
        req.headers_mut().insert("x-tc-timestamp", (now() + 1).to_string().parse().unwrap());
        let (code, r) = send(&app, req).await;
        if code == "RequestLimitExceeded.IPLimitExceeded" {
            refused += 1;
            assert!(r["Error"]["Message"].as_str().unwrap().contains("client address"));
        } else {
            assert!(code.starts_with("AuthFailure"), "{code}");
        }
    }
    // A burst of 10 (2 × 5/s), plus at most what refills while the loop runs.
    assert!(refused >= 30, "{refused}");
    assert_eq!(keys.lookups.load(Ordering::SeqCst), 50 - refused);
    // Other addresses are unaffected; an IPv6 neighbour in the same /64 shares a bucket, another does not.
    assert_eq!(send(&app, signed("DescribeThings", "{}", now(), "192.0.2.2:1")).await.0, "");
    assert_eq!(send(&app, signed("DescribeThings", "{}", now(), "[2001:db8::1]:1")).await.0, "");
}

#[tokio::test]
async fn healthz_is_not_limited() {
    let app = app(Arc::new(Keys::default()), ApiConfig { ip_rate_limit: 1, ..ApiConfig::default() });
    for _ in 0..10 {
        let mut req = Request::get("/healthz").body(Body::empty()).unwrap();
        req.extensions_mut().insert(ConnectInfo(ClientAddr("192.0.2.9:1".parse().unwrap())));
        assert_eq!(send(&app, req).await.0, "");
    }
}

#[tokio::test]
async fn mutating_signature_accepted_once_reads_replayable() {
    let keys = Arc::new(Keys::default());
    let app = app(keys, ApiConfig::default());
    let ts = now();
    let body = r#"{"Ids": [1, 2]}"#;
    let (code, r) = send(&app, signed("CreateThing", body, ts, "192.0.2.1:1")).await;
    assert_eq!((code.as_str(), r["Count"].as_u64()), ("", Some(2)));
    let (code, r) = send(&app, signed("CreateThing", body, ts, "192.0.2.1:1")).await;
    assert_eq!(code, "AuthFailure");
    assert!(r["Error"]["Message"].as_str().unwrap().contains("replayed"), "{r}");
    // The same body signed a second later is a new request.
    assert_eq!(send(&app, signed("CreateThing", body, ts + 1, "192.0.2.1:1")).await.0, "");
    // Reads stay idempotent.
    for _ in 0..3 {
        assert_eq!(send(&app, signed("DescribeThings", body, ts + 2, "192.0.2.1:1")).await.0, "");
    }
    // A read and a mutating action with the same body in the same second (the same signature: the
    // SDKs do not sign X-TC-Action) are two calls, not a replay; the mutating one is then accepted once.
    let mut other_action = signed("DescribeThings", body, ts + 2, "192.0.2.1:1");
    other_action.headers_mut().insert("x-tc-action", "CreateThing".parse().unwrap());
    assert_eq!(send(&app, other_action).await.0, "");
    let mut again = signed("DescribeThings", body, ts + 2, "192.0.2.1:1");
    again.headers_mut().insert("x-tc-action", "CreateThing".parse().unwrap());
    assert_eq!(send(&app, again).await.0, "AuthFailure");
    // A mutating request answered with an error changed nothing: sending it again is a retry.
    for _ in 0..2 {
        assert_eq!(send(&app, signed("CreateNothing", body, ts, "192.0.2.1:1")).await.0, "FailedOperation");
    }
    // Export "Describe"s create jobs: mutating.
    assert_eq!(send(&app, signed("DescribeThingsExport", "{}", ts, "192.0.2.1:1")).await.0, "");
    assert_eq!(send(&app, signed("DescribeThingsExport", "{}", ts, "192.0.2.1:1")).await.0, "AuthFailure");
}

#[tokio::test]
async fn json_shape_limits_name_the_field() {
    let app = app(Arc::new(Keys::default()), ApiConfig::default());
    let ids: Vec<String> = (0..=api::MAX_ARRAY_LEN).map(|i| i.to_string()).collect();
    let body = format!(r#"{{"Ids": [{}]}}"#, ids.join(","));
    let (code, r) = send(&app, signed("DescribeThings", &body, now(), "192.0.2.1:1")).await;
    assert_eq!(code, "InvalidParameterValue.LengthLimit");
    assert!(r["Error"]["Message"].as_str().unwrap().contains("`Ids`"), "{r}");
    let ok = format!(r#"{{"Ids": [{}]}}"#, ids[..api::MAX_ARRAY_LEN].join(","));
    assert_eq!(send(&app, signed("DescribeThings", &ok, now(), "192.0.2.1:1")).await.1["Count"], api::MAX_ARRAY_LEN);
    let deep = format!(r#"{{"Nested": {}1{}}}"#, "[".repeat(40), "]".repeat(40));
    let (code, r) = send(&app, signed("DescribeThings", &deep, now(), "192.0.2.1:1")).await;
    assert_eq!(code, "InvalidParameter.ParsingError");
    assert!(r["Error"]["Message"].as_str().unwrap().contains("`Nested[0]"), "{r}");
}
