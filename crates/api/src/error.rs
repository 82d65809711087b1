//! `ApiError`: a TCSS code, a message for the caller, and (for internal failures) the cause,
//! kept for the log and never sent to the client.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};

use crate::code::TcssCode;

/// The message of a request refused because the server's storage (database, data directory) is full.
pub const STORAGE_FULL: &str = "The server's storage is full: nothing was changed. Free space on its data volume and try again.";

/// An error answered inside the `{"Response": {"Error": …}}` envelope.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: TcssCode,
    pub message: String,
    /// The underlying failure, logged by the request layer; not shown to the caller.
    pub internal: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: TcssCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), internal: None }
    }

    /// `InternalError` with a generic message; `cause` goes to the log only.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError { code: TcssCode::InternalError, message: "An internal error occurred.".into(), internal: Some(Arc::new(cause)) }
    }

    /// `ResourceInsufficient` ([`STORAGE_FULL`]): the disk is full, which the operator fixes; not a bug,
    /// so not `InternalError`. `cause` goes to the log only.
    pub fn storage_full(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError { code: TcssCode::ResourceInsufficient, message: STORAGE_FULL.into(), internal: Some(Arc::new(cause)) }
    }

    pub fn unsupported_operation(action: &str) -> Self {
        ApiError::new(
            TcssCode::UnsupportedOperation,
            format!("The action `{action}` is a valid TCSS action but Shipshape does not implement it yet."),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.internal.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The body is rendered by the outermost layer (`router::envelope_layer`), which knows the RequestId;
/// here the error only travels as a response extension.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = Response::new(axum::body::Body::empty());
        resp.extensions_mut().insert(self);
        resp
    }
}
