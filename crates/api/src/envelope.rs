//! The `{"Response": {…, "RequestId": "…"}}` envelope, success and error.
//! Every answer is HTTP 200 with `Content-Type: application/json` exactly: with a `charset`
//! parameter the Python SDK and tccli take an error for a success (protocol.md §5.3).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

use crate::error::ApiError;

/// The one Content-Type every API answer carries.
pub const CONTENT_TYPE_JSON: &str = "application/json";

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "Response")]
    response: Inner<'a, T>,
}

#[derive(Serialize)]
struct Inner<'a, T: Serialize> {
    #[serde(flatten)]
    body: &'a T,
    #[serde(rename = "RequestId")]
    request_id: &'a str,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "Error")]
    error: ErrorFields<'a>,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    #[serde(rename = "Code")]
    code: &'a str,
    #[serde(rename = "Message")]
    message: &'a str,
}

/// Serialises a success body (a struct with TCSS field names) with the RequestId appended.
pub fn success_bytes<T: Serialize>(body: &T, request_id: &str) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&Envelope { response: Inner { body, request_id } })
}

/// Serialises an error envelope.
pub fn error_bytes(err: &ApiError, request_id: &str) -> Vec<u8> {
    let body = ErrorBody { error: ErrorFields { code: err.code.as_str(), message: &err.message } };
    // Serialising two strings cannot fail; fall back to a fixed body rather than panic.
    serde_json::to_vec(&Envelope { response: Inner { body: &body, request_id } })
        .unwrap_or_else(|_| br#"{"Response":{"Error":{"Code":"InternalError","Message":"error rendering failed"}}}"#.to_vec())
}

/// An HTTP 200 `application/json` response with the given body.
pub fn json_response(body: Vec<u8>) -> Response {
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::TcssCode;

    #[test]
    fn error_envelope_shape() {
        let err = ApiError::new(TcssCode::InvalidAction, "nope");
        let v: serde_json::Value = serde_json::from_slice(&error_bytes(&err, "rid")).unwrap();
        assert_eq!(v, serde_json::json!({"Response": {"Error": {"Code": "InvalidAction", "Message": "nope"}, "RequestId": "rid"}}));
    }

    #[test]
    fn success_envelope_appends_request_id() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct R {
            scan_period: u64,
        }
        let v: serde_json::Value = serde_json::from_slice(&success_bytes(&R { scan_period: 7 }, "rid").unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"Response": {"ScanPeriod": 7, "RequestId": "rid"}}));
    }
}
