//! TC3-HMAC-SHA256 verification, as the official clients sign (../shared/spec/protocol.md §3).
//! Pure functions: no I/O, the caller supplies the secret key and the current time.
//!
//! Client quirks tolerated: the service name is taken from the credential scope (Node signs `127`
//! for an IP endpoint); the Host header is an opaque string (tccli sends `http://host:port`) tried
//! as sent and then without a trailing `:port` (Node signs the host without it); the raw body is hashed.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The algorithm token of the Authorization header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// Allowed distance between X-TC-Timestamp and server time, as the public service.
pub const MAX_SKEW_SECS: i64 = 300;

/// Why a request does not verify. Mapped to `AuthFailure.*` codes by the router.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Tc3Error {
    #[error("malformed authorization: {0}")]
    InvalidAuthorization(String),
    #[error("X-TC-Timestamp {timestamp} is more than {MAX_SKEW_SECS} s away from server time {now}")]
    SignatureExpire { timestamp: i64, now: i64 },
    #[error("signature does not match")]
    SignatureFailure,
}

/// The parsed `Authorization: TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub secret_id: &'a str,
    pub date: &'a str,
    pub service: &'a str,
    pub signed_headers: &'a str,
    pub signature: [u8; 32],
}

/// Which form of the Host header produced the matching signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostVariant {
    AsSent,
    WithoutPort,
}

/// Parses the Authorization header (tolerates any spacing after commas).
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, Tc3Error> {
    let bad = |why: &str| Tc3Error::InvalidAuthorization(why.to_string());
    let rest = value.trim().strip_prefix(ALGORITHM).ok_or_else(|| bad("the Authorization header must start with TC3-HMAC-SHA256"))?;
    if !rest.starts_with(' ') {
        return Err(bad("the Authorization header must start with TC3-HMAC-SHA256"));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or_else(|| bad("expected Key=Value parts"))?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(bad(&format!("unexpected part `{k}`"))),
        };
        if slot.replace(v).is_some() {
            return Err(bad(&format!("duplicate part `{k}`")));
        }
    }
    let credential = credential.ok_or_else(|| bad("missing Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| bad("missing SignedHeaders"))?;
    let signature = signature.ok_or_else(|| bad("missing Signature"))?;

    let mut scope = credential.split('/');
    let (Some(secret_id), Some(date), Some(service), Some("tc3_request"), None) =
        (scope.next(), scope.next(), scope.next(), scope.next(), scope.next())
    else {
        return Err(bad("Credential must be SecretId/Date/Service/tc3_request"));
    };
    if secret_id.is_empty() || service.is_empty() {
        return Err(bad("empty SecretId or Service in Credential"));
    }
    if date.len() != 10 || time::Date::parse(date, time::macros::format_description!("[year]-[month]-[day]")).is_err() {
        return Err(bad("Credential date must be YYYY-MM-DD"));
    }
    if signed_headers.is_empty() || signed_headers.split(';').any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase())) {
        return Err(bad("SignedHeaders must be lower-case names separated by `;`"));
    }
    let mut sig = [0u8; 32];
    hex::decode_to_slice(signature, &mut sig).map_err(|_| bad("Signature must be 64 hex digits"))?;
    Ok(Authorization { secret_id, date, service, signed_headers, signature: sig })
}

/// Parses X-TC-Timestamp and checks it against `now` (±300 s) and the scope date (UTC date of it).
pub fn check_timestamp(auth: &Authorization<'_>, timestamp: &str, now: i64) -> Result<i64, Tc3Error> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| Tc3Error::InvalidAuthorization("X-TC-Timestamp must be Unix seconds".into()))?;
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(Tc3Error::SignatureExpire { timestamp: ts, now });
    }
    if utc_date(ts).as_deref() != Some(auth.date) {
        return Err(Tc3Error::InvalidAuthorization(format!("Credential date {} is not the UTC date of X-TC-Timestamp {ts}", auth.date)));
    }
    Ok(ts)
}

fn utc_date(ts: i64) -> Option<String> {
    let d = time::OffsetDateTime::from_unix_timestamp(ts).ok()?.date();
    Some(format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
}

/// What the signature covers, besides the headers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Raw query string as sent (`""` for POST).
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The X-TC-Timestamp value exactly as sent.
    pub timestamp: &'a str,
}

/// Verifies the signature with `secret_key`; tries the Host header as sent, then without its port.
pub fn verify(auth: &Authorization<'_>, secret_key: &str, req: &SignedRequest<'_>) -> Result<HostVariant, Tc3Error> {
    let signing_key = derive_signing_key(secret_key, auth.date, auth.service);
    let payload_hash = payload_hash(req);
    let host = header_str(req.headers, "host")?;
    let mut variants = vec![(HostVariant::AsSent, host)];
    if let Some(stripped) = strip_port(host) {
        variants.push((HostVariant::WithoutPort, stripped));
    }
    for (variant, host_value) in variants {
        let canonical = canonical_request(auth, req, host_value, &payload_hash)?;
        let sts = string_to_sign(req.timestamp, auth, &canonical);
        let mut mac = HmacSha256::new_from_slice(&signing_key).expect("HMAC accepts any key length");
        mac.update(sts.as_bytes());
        // verify_slice compares in constant time.
        if mac.verify_slice(&auth.signature).is_ok() {
            return Ok(variant);
        }
    }
    Err(Tc3Error::SignatureFailure)
}

/// `SecretSigning` of protocol.md §3.1 step 6.
pub fn derive_signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, service.as_bytes());
    hmac(&k_service, b"tc3_request")
}

/// The canonical request (step 4) for one candidate Host value.
pub fn canonical_request(
    auth: &Authorization<'_>,
    req: &SignedRequest<'_>,
    host_value: &str,
    payload_hash: &str,
) -> Result<String, Tc3Error> {
    let mut headers = String::new();
    for name in auth.signed_headers.split(';') {
        let value = if name == "host" { host_value } else { header_str(req.headers, name)? };
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&value.trim().to_ascii_lowercase());
        headers.push('\n');
    }
    Ok(format!("{}\n/\n{}\n{}\n{}\n{}", req.method, req.query, headers, auth.signed_headers, payload_hash))
}

/// The string to sign (step 5).
pub fn string_to_sign(timestamp: &str, auth: &Authorization<'_>, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}/{}/tc3_request\n{}",
        auth.date,
        auth.service,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn payload_hash(req: &SignedRequest<'_>) -> String {
    let unsigned = req.headers.get("x-tc-content-sha256").is_some_and(|v| v.as_bytes() == b"UNSIGNED-PAYLOAD");
    if unsigned { hex::encode(Sha256::digest(b"UNSIGNED-PAYLOAD")) } else { hex::encode(Sha256::digest(req.body)) }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, Tc3Error> {
    headers
        .get(name)
        .ok_or_else(|| Tc3Error::InvalidAuthorization(format!("signed header `{name}` is missing")))?
        .to_str()
        .map_err(|_| Tc3Error::InvalidAuthorization(format!("signed header `{name}` is not visible ASCII")))
}

/// What [`sign`] signs: the request of one action, as the SDKs send it (`POST /`, JSON body).
pub struct Outgoing<'a> {
    pub secret_id: &'a str,
    pub secret_key: &'a str,
    /// The Host header value (`host:port`).
    pub host: &'a str,
    /// The credential scope's service (`tcss`).
    pub service: &'a str,
    pub body: &'a [u8],
    /// Unix seconds, sent as X-TC-Timestamp.
    pub timestamp: i64,
}

/// The signing half, for Shipshape's own clients (the node agent): the Authorization header of
/// `req`, over `content-type: application/json` and `host`, built from the same canonical request
/// and string to sign the verifier checks.
pub fn sign(req: &Outgoing<'_>) -> Result<String, Tc3Error> {
    let date =
        utc_date(req.timestamp).ok_or_else(|| Tc3Error::InvalidAuthorization(format!("timestamp {} is out of range", req.timestamp)))?;
    let auth = Authorization {
        secret_id: req.secret_id,
        date: &date,
        service: req.service,
        signed_headers: "content-type;host",
        signature: [0; 32],
    };
    let mut headers = HeaderMap::new();
    headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    let host =
        axum::http::HeaderValue::from_str(req.host).map_err(|_| Tc3Error::InvalidAuthorization("the host is not a header value".into()))?;
    headers.insert(axum::http::header::HOST, host);
    let timestamp = req.timestamp.to_string();
    let signed = SignedRequest { method: "POST", query: "", headers: &headers, body: req.body, timestamp: &timestamp };
    let canonical = canonical_request(&auth, &signed, req.host, &payload_hash(&signed))?;
    let sts = string_to_sign(&timestamp, &auth, &canonical);
    let signature = hmac(&derive_signing_key(req.secret_key, &date, req.service), sts.as_bytes());
    Ok(format!(
        "{ALGORITHM} Credential={}/{date}/{}/tc3_request, SignedHeaders=content-type;host, Signature={}",
        req.secret_id,
        req.service,
        hex::encode(signature)
    ))
}

/// `host:1234` → `host`; `[::1]:1234` → `[::1]`; `http://h:1` → `http://h`. None when there is no port.
fn strip_port(host: &str) -> Option<&str> {
    let (head, port) = host.rsplit_once(':')?;
    let is_port = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    (is_port && !head.is_empty() && !head.ends_with(':') && !head.ends_with('/')).then_some(head)
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    const SECRET: &str = "ShipshapeTestSecretKey0000000000";

    /// Requests captured from the real py / tccli / node clients (provenance: testdata/captures/README.md).
    fn captures() -> Vec<serde_json::Value> {
        include_str!("../testdata/captures/requests.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn header_map(c: &serde_json::Value) -> HeaderMap {
        let mut h = HeaderMap::new();
        for pair in c["headers"].as_array().unwrap() {
            let name = HeaderName::from_bytes(pair[0].as_str().unwrap().as_bytes()).unwrap();
            h.append(name, HeaderValue::from_str(pair[1].as_str().unwrap()).unwrap());
        }
        h
    }

    #[test]
    fn every_tc3_capture_verifies_with_the_variant_the_oracle_found() {
        let mut checked = 0;
        for c in captures() {
            let Some(expected) = c["tc3"]["matches"].as_array() else {
                continue;
            };
            let headers = header_map(&c);
            let auth = parse_authorization(headers["authorization"].to_str().unwrap()).unwrap();
            let ts = headers["x-tc-timestamp"].to_str().unwrap();
            let req =
                SignedRequest { method: "POST", query: "", headers: &headers, body: c["body"].as_str().unwrap().as_bytes(), timestamp: ts };
            let variant = verify(&auth, SECRET, &req).unwrap_or_else(|e| panic!("capture {}: {e}", c["n"]));
            let want = match expected[0].as_str().unwrap() {
                "host-as-sent" => HostVariant::AsSent,
                "host-without-port" => HostVariant::WithoutPort,
                other => panic!("unknown variant {other}"),
            };
            assert_eq!(variant, want, "capture {}", c["n"]);
            // The oracle's intermediate values agree with ours.
            let host = match variant {
                HostVariant::AsSent => headers["host"].to_str().unwrap().to_string(),
                HostVariant::WithoutPort => strip_port(headers["host"].to_str().unwrap()).unwrap().to_string(),
            };
            let canonical = canonical_request(&auth, &req, &host, &payload_hash(&req)).unwrap();
            assert_eq!(canonical, c["tc3"]["canonical_request"].as_str().unwrap(), "capture {}", c["n"]);
            assert_eq!(string_to_sign(ts, &auth, &canonical), c["tc3"]["string_to_sign"].as_str().unwrap());
            // And a different key fails.
            assert_eq!(verify(&auth, "other", &req), Err(Tc3Error::SignatureFailure));
            checked += 1;
        }
        assert_eq!(checked, 18, "18 of the 20 captures are TC3 (two are legacy v1)");
    }

    /// protocol.md §3.3: the worked example, step by step.
    #[test]
    fn worked_example() {
        let auth = parse_authorization(
            "TC3-HMAC-SHA256 Credential=AKIDShipshapeTestId000000000000000/2026-11-22/tcss/tc3_request, \
             SignedHeaders=content-type;host, Signature=23e0a77dbd7baf0d81af3a1e82d0f9671c14b42d1515def6e6847608ae02e54e",
        )
        .unwrap();
        assert_eq!(auth.secret_id, "AKIDShipshapeTestId000000000000000");
        assert_eq!(auth.service, "tcss");
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("host", HeaderValue::from_static("127.0.0.1:18080"));
        let body = br#"{"Limit": 10, "Offset": 0, "Filters": [{"Name": "ImageName", "Values": ["nginx"], "ExactMatch": true}]}"#;
        let req = SignedRequest { method: "POST", query: "", headers: &headers, body, timestamp: "1795391718" };
        let ph = payload_hash(&req);
        assert_eq!(ph, "8a4264dba52c77b40939de2bcd6989873bfcc507e9246dca777a24f913cfd26e");
        let canonical = canonical_request(&auth, &req, "127.0.0.1:18080", &ph).unwrap();
        assert_eq!(hex::encode(Sha256::digest(canonical.as_bytes())), "e1da9b8de28ae96963566085f3121a22f834df92d26d1c06fb7e9de1b44aa466");
        let k_date = hmac(format!("TC3{SECRET}").as_bytes(), b"2026-11-22");
        assert_eq!(hex::encode(k_date), "3aebb1431a60f23f1c5af4c02f6f2ba9393d5d1351437e09880c8980ac36d5d3");
        let k_service = hmac(&k_date, b"tcss");
        assert_eq!(hex::encode(k_service), "e4fcb00e8546a5d37ac1b480ec529cafddc6d2c38f23862d5795e70e613d345b");
        assert_eq!(
            hex::encode(derive_signing_key(SECRET, "2026-11-22", "tcss")),
            "ff1d22aa2e40b3553c000c2b62b509bcff8bc8579b4ab1fb5496cf95012a0721"
        );
        assert_eq!(verify(&auth, SECRET, &req), Ok(HostVariant::AsSent));
        // One changed body byte breaks it: the raw body is what is signed.
        let tampered = SignedRequest { body: &body[1..], ..req };
        assert_eq!(verify(&auth, SECRET, &tampered), Err(Tc3Error::SignatureFailure));
    }

    /// The signing half reproduces the worked example's signature, and what it signs verifies.
    #[test]
    fn sign_matches_the_worked_example() {
        let body = br#"{"Limit": 10, "Offset": 0, "Filters": [{"Name": "ImageName", "Values": ["nginx"], "ExactMatch": true}]}"#;
        let out = Outgoing {
            secret_id: "AKIDShipshapeTestId000000000000000",
            secret_key: SECRET,
            host: "127.0.0.1:18080",
            service: "tcss",
            body,
            timestamp: 1795391718,
        };
        let header = sign(&out).unwrap();
        assert!(header.ends_with("Signature=23e0a77dbd7baf0d81af3a1e82d0f9671c14b42d1515def6e6847608ae02e54e"), "{header}");
        let auth = parse_authorization(&header).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("host", HeaderValue::from_static("127.0.0.1:18080"));
        let req = SignedRequest { method: "POST", query: "", headers: &headers, body, timestamp: "1795391718" };
        assert_eq!(verify(&auth, SECRET, &req), Ok(HostVariant::AsSent));
        assert_eq!(verify(&auth, "other", &req), Err(Tc3Error::SignatureFailure));
    }

    #[test]
    fn timestamp_window_and_scope_date() {
        let auth = parse_authorization(
            "TC3-HMAC-SHA256 Credential=AKID/2026-11-22/tcss/tc3_request, SignedHeaders=content-type;host, Signature=23e0a77dbd7baf0d81af3a1e82d0f9671c14b42d1515def6e6847608ae02e54e",
        )
        .unwrap();
        assert_eq!(check_timestamp(&auth, "1795391718", 1795391718 + 300), Ok(1795391718));
        assert!(matches!(check_timestamp(&auth, "1795391718", 1795391718 + 301), Err(Tc3Error::SignatureExpire { .. })));
        assert!(matches!(check_timestamp(&auth, "1795391718", 1795391718 - 301), Err(Tc3Error::SignatureExpire { .. })));
        assert!(matches!(check_timestamp(&auth, "abc", 0), Err(Tc3Error::InvalidAuthorization(_))));
        // 1795478400 = 2026-11-23T00:00:00Z: fresh, but not the scope's date.
        assert!(matches!(check_timestamp(&auth, "1795478400", 1795478400), Err(Tc3Error::InvalidAuthorization(_))));
    }

    #[test]
    fn malformed_authorization_is_rejected() {
        let sig = "23e0a77dbd7baf0d81af3a1e82d0f9671c14b42d1515def6e6847608ae02e54e";
        for bad in [
            String::new(),
            "HmacSHA256 foo".into(),
            "TC3-HMAC-SHA256".into(),
            format!("TC3-HMAC-SHA256 Credential=AKID/2026-11-22/tcss, SignedHeaders=content-type;host, Signature={sig}"),
            format!("TC3-HMAC-SHA256 Credential=AKID/2026-11-22/tcss/tc3_request, Signature={sig}"),
            "TC3-HMAC-SHA256 Credential=AKID/2026-11-22/tcss/tc3_request, SignedHeaders=host, Signature=zz".into(),
            format!("TC3-HMAC-SHA256 Credential=AKID/22-11-2026/tcss/tc3_request, SignedHeaders=host, Signature={sig}"),
            format!("TC3-HMAC-SHA256 Credential=AKID/2026-11-22/tcss/tc3_request, SignedHeaders=Host, Signature={sig}"),
            format!("TC3-HMAC-SHA256 Credential=/2026-11-22/tcss/tc3_request, SignedHeaders=host, Signature={sig}"),
        ] {
            assert!(matches!(parse_authorization(&bad), Err(Tc3Error::InvalidAuthorization(_))), "{bad:?}");
        }
    }

    #[test]
    fn port_stripping() {
        assert_eq!(strip_port("127.0.0.1:18080"), Some("127.0.0.1"));
        assert_eq!(strip_port("http://127.0.0.1:18080"), Some("http://127.0.0.1"));
        assert_eq!(strip_port("[::1]:80"), Some("[::1]"));
        assert_eq!(strip_port("localhost"), None);
        assert_eq!(strip_port("http://localhost"), None);
    }
}
