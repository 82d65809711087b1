#![no_main]
//! The TC3 front door on hostile headers: the Authorization parser, the timestamp check and the
//! signature check over any header values (tests/front_door.rs runs the same with a case budget).
use api::tc3::{SignedRequest, check_timestamp, parse_authorization, verify};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, Vec<(&str, &[u8])>, &[u8])| {
    let (authorization, timestamp, headers, body) = input;
    let Ok(auth) = parse_authorization(authorization) else { return };
    let _ = check_timestamp(&auth, timestamp, 1_795_391_718);
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
            map.append(n, v);
        }
    }
    let req = SignedRequest { method: "POST", query: "", headers: &map, body, timestamp };
    let _ = verify(&auth, "FuzzSecretKey", &req);
});
