#![no_main]
//! The request decoder (syntax, depth and array limits, field errors) on any body, decoded into a
//! request shaped like TCSS ones: scalars, an optional list and nested filter objects.
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(dead_code, reason = "decoded to exercise the decoder, never read")]
struct Req {
    limit: Option<u64>,
    offset: Option<u64>,
    images: Option<Vec<String>>,
    filters: Option<Vec<Filter>>,
    scan_period: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(dead_code, reason = "decoded to exercise the decoder, never read")]
struct Filter {
    name: String,
    values: Vec<String>,
    exact_match: Option<bool>,
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = api::decode_body::<Req>(data) {
        // Decoding never produces an internal error: every failure is the caller's input.
        assert!(e.internal.is_none() && e.code != api::TcssCode::InternalError, "{}", e.code);
    }
    let _ = api::decode_body::<serde_json::Value>(data);
});
