//! Shipshape's API front door: TencentCloud API 3.0 (TC3-HMAC-SHA256) for the TCSS service.
//!
//! Owns the protocol only: signature verification ([`tc3`]), the `{"Response": {…}}` envelope,
//! the TCSS error codes ([`TcssCode`], [`ApiError`]), the action table ([`ActionTable`], built by
//! `service::actions()` with [`action()`] / [`unsupported()`]), the rate limits (per client address
//! before authentication, per account and action after), replay protection ([`replay`], over the
//! [`SeenSignatures`] trait), the request shape limits, the axum [`router()`], and how it is served
//! ([`listen`]: plain HTTP or TLS from [`tls`]). It depends on nothing but `model`: no storage, no scanning.

pub mod action;
pub mod audit;
pub mod code;
pub mod credentials;
pub mod envelope;
pub mod error;
pub mod ip_limit;
mod json_limits;
pub mod listen;
pub mod metrics;
pub mod rate_limit;
pub mod replay;
pub mod router;
pub mod tc3;
pub mod tls;

pub use action::{Action, ActionTable, Caller, MAX_ARRAY_LEN, MAX_JSON_DEPTH, action, decode_body, is_mutating_name, unsupported};
pub use audit::{AuditEntry, AuditSink};
pub use code::TcssCode;
pub use credentials::{Credential, CredentialLookup, LookupError};
pub use error::ApiError;
pub use metrics::ApiMetrics;
pub use rate_limit::SharedRateCounter;
pub use replay::SeenSignatures;
pub use router::{API_VERSION, ApiConfig, DEFAULT_IP_RATE_LIMIT, router};
