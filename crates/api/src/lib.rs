//! Shipshape's API front door: TencentCloud API 3.0 (TC3-HMAC-SHA256) for the TCSS service.
//!
//! Owns the protocol only: signature verification ([`tc3`]), the `{"Response": {…}}` envelope,
//! the TCSS error codes ([`TcssCode`], [`ApiError`]), the action table ([`ActionTable`], built by
//! `service::actions()` with [`action()`] / [`unsupported()`]), the rate limit and the axum
//! [`router()`]. It depends on nothing but `model`: no storage, no scanning.

pub mod action;
pub mod code;
pub mod credentials;
pub mod envelope;
pub mod error;
pub mod rate_limit;
pub mod router;
pub mod tc3;

pub use action::{Action, ActionTable, Caller, action, decode_body, unsupported};
pub use code::TcssCode;
pub use credentials::{Credential, CredentialLookup, LookupError};
pub use error::ApiError;
pub use router::{API_VERSION, ApiConfig, router};
