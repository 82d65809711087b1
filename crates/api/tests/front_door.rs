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
        let found = (secret_id == SECRET_ID).then(|| Credential { account: 1, secret_key: SECRET_KEY.into(), role: model::KeyRole::Full });
        Box::pin(async move { Ok(found) })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Req {
    #[serde(default)]
    ids: Vec<u64>,
    #[serde(default)]
    #[allow(dead_code, reason = "decoded to check the nested-field limits, never read")]
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
    signed_bytes(action, body.as_bytes(), ts, peer)
}

/// [`signed`] for any body bytes (not UTF-8, not JSON).
fn signed_bytes(action: &str, body: &[u8], ts: i64, peer: &str) -> Request<Body> {
    let date = time::OffsetDateTime::from_unix_timestamp(ts).unwrap().date();
    let date = format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day());
    let canonical =
        format!("POST\n/\n\ncontent-type:application/json\nhost:{HOST}\n\ncontent-type;host\n{}", hex::encode(Sha256::digest(body)));
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
        .body(Body::from(body.to_vec()))
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

/// Arbitrary bytes and header values at the front door: never a panic, never `InternalError`; every
/// answer is HTTP 200 with a `{"Response": …}` envelope carrying a documented code. The fuzz targets
/// `fuzz/fuzz_targets/api_*.rs` explore the same functions without a case budget.
mod arbitrary_input {
    use super::*;
    use api::TcssCode;
    use proptest::prelude::*;

    /// What decoding a body may answer (see `api::decode_body`).
    const DECODE_CODES: &[&str] = &[
        "InvalidParameter",
        "InvalidParameter.ParsingError",
        "InvalidParameter.MissingParameter",
        "InvalidParameterValue.LengthLimit",
        "UnknownParameter",
    ];

    fn documented(code: &str) -> bool {
        TcssCode::ALL.iter().any(|c| c.as_str() == code) && code != "InternalError"
    }

    /// JSON-like text: mostly valid JSON built from the request's field names, sometimes cut short or
    /// with a byte changed, so the decoder's deeper paths are reached as well as its syntax errors.
    fn json_like() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
                prop::collection::vec((prop_oneof![Just("Ids".to_string()), Just("Nested".to_string()), "[A-Za-z]{0,6}"], inner), 0..6)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        });
        (value, any::<prop::sample::Index>(), any::<u8>(), 0..3u8).prop_map(|(v, at, byte, mangle)| {
            let mut text = serde_json::to_vec(&v).unwrap();
            match mangle {
                0 if !text.is_empty() => text.truncate(at.index(text.len())),
                1 if !text.is_empty() => {
                    let i = at.index(text.len());
                    text[i] = byte;
                }
                _ => {}
            }
            text
        })
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn authorization_parser_takes_any_text(value in any::<String>(), prefixed in ".{0,200}") {
            for v in [value, format!("TC3-HMAC-SHA256 {prefixed}")] {
                match api::tc3::parse_authorization(&v) {
                    Ok(a) => prop_assert!(!a.secret_id.is_empty() && !a.service.is_empty()),
                    Err(e) => prop_assert!(matches!(e, api::tc3::Tc3Error::InvalidAuthorization(_)), "{e:?}"),
                }
            }
        }

        #[test]
        fn decoder_takes_any_bytes(raw in prop::collection::vec(any::<u8>(), 0..256), json in json_like()) {
            for body in [raw, json] {
                if let Err(e) = api::decode_body::<Req>(&body) {
                    prop_assert!(DECODE_CODES.contains(&e.code.as_str()), "{} for {:?}", e.code, String::from_utf8_lossy(&body));
                    prop_assert!(e.internal.is_none());
                }
            }
        }

        /// A correctly signed request with any body: decoded or refused with a decoding code.
        #[test]
        fn signed_requests_with_any_body(body in prop_oneof![prop::collection::vec(any::<u8>(), 0..256), json_like()]) {
            let app = app(Arc::new(Keys::default()), ApiConfig { ip_rate_limit: 0, rate_limit: 0, ..ApiConfig::default() });
            let (code, r) = runtime().block_on(send(&app, signed_bytes("DescribeThings", &body, now(), "192.0.2.1:1")));
            prop_assert!(code.is_empty() || DECODE_CODES.contains(&code.as_str()), "{code}: {r}");
            prop_assert!(r["RequestId"].is_string());
        }

        /// Any value in each header the front door reads, and any body: a documented code, never a panic.
        #[test]
        fn any_headers_get_a_documented_code(
            values in prop::collection::vec(prop::option::of(prop::collection::vec(any::<u8>(), 0..120)), 6),
            body in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let app = app(Arc::new(Keys::default()), ApiConfig { ip_rate_limit: 0, rate_limit: 0, ..ApiConfig::default() });
            let mut req = signed_bytes("DescribeThings", &body, now(), "192.0.2.1:1");
            let names = ["authorization", "x-tc-timestamp", "x-tc-action", "x-tc-version", "content-type", "host"];
            for (name, value) in names.into_iter().zip(values) {
                // Bytes a header value cannot hold (CR, LF, NUL…) are dropped by `http`; keep what it takes.
                match value.as_deref().map(axum::http::HeaderValue::from_bytes) {
                    Some(Ok(v)) => { req.headers_mut().insert(name, v); }
                    Some(Err(_)) => {}
                    None => { req.headers_mut().remove(name); }
                }
            }
            let (code, r) = runtime().block_on(send(&app, req));
            prop_assert!(code.is_empty() || documented(&code), "{code}: {r}");
        }
    }
}
