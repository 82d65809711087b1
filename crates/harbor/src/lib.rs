//! Harbor's Pluggable Scanner API v1.2 (`../shared/spec/harbor/`), so a Harbor registry can use
//! Shipshape as its scanner.
//!
//! - [`wire`]: the spec's types and media types, and request validation with its status codes.
//! - [`http`]: the three operations behind a bearer token bound to one account; `serve` mounts
//!   [`router`] beside the TCSS API.
//! - [`worker`]: scans queued requests with the shared engine and layer cache; the results are
//!   the image's results, so the TCSS image actions list a Harbor-scanned image like any other.
//! - [`report`]: vulnerability and SBOM reports rendered from those stored results.
//!
//! Not here: pulling and scanning (`image`, `scan`), persistence (`store::harbor`).

pub mod http;
pub mod report;
pub mod wire;
pub mod worker;

pub use http::{Adapter, router};
