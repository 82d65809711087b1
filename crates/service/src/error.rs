//! The one place where service failures become TCSS error codes. Handlers return
//! `Result<Resp, ServiceError>` and never build codes themselves.

use api::{ApiError, TcssCode};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A value of the right JSON type that breaks a rule (format, range).
    #[error("The parameter `{field}` is invalid: {reason}.")]
    InvalidFormat { field: &'static str, reason: String },
    /// A value too long, or a list with too many entries.
    #[error("The parameter `{field}` is too long: {reason}.")]
    LengthLimit { field: &'static str, reason: String },
    /// A field required by the value of another field.
    #[error("The parameter `{field}` is required: {reason}.")]
    MissingParameter { field: &'static str, reason: String },
    #[error("{what} `{id}` does not exist.")]
    NotFound { what: &'static str, id: String },
    /// A value that is well-formed but not acceptable here (a choice between fields, a range).
    #[error("The parameter `{field}` is invalid: {reason}.")]
    InvalidParameter { field: &'static str, reason: String },
    /// A value outside the set the action accepts (an unknown registry type, a flag not 0/1).
    #[error("The value of `{field}` is not accepted: {reason}.")]
    InvalidValue { field: &'static str, reason: String },
    /// The account already runs an image scan task.
    #[error("An image scan is already running (task {task_id}); wait for it or stop it first.")]
    AlreadyScanning { task_id: String },
    /// The request is valid but cannot be carried out now.
    #[error("{reason}")]
    FailedOperation { reason: String },
}

/// A store failure behind one of the API's checks (key lookup, replay record, audit, shared rate
/// count), a full disk marked so that it is answered `ResourceInsufficient`.
pub fn lookup_error(e: store::Error) -> api::LookupError {
    if e.is_storage_full() { api::LookupError(Box::new(api::credentials::StorageFull(Box::new(e)))) } else { api::LookupError(Box::new(e)) }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let code = match &e {
            // Disk full is the operator's to fix, not a bug: a code and a message saying what happened.
            ServiceError::Store(s) if s.is_storage_full() => return ApiError::storage_full(e),
            ServiceError::Store(_) => return ApiError::internal(e),
            ServiceError::InvalidFormat { .. } => TcssCode::InvalidParameterInvalidFormat,
            ServiceError::LengthLimit { .. } => TcssCode::InvalidParameterValueLengthLimit,
            ServiceError::MissingParameter { .. } => TcssCode::InvalidParameterMissingParameter,
            ServiceError::NotFound { .. } => TcssCode::ResourceNotFound,
            ServiceError::InvalidParameter { .. } => TcssCode::InvalidParameter,
            ServiceError::InvalidValue { .. } => TcssCode::InvalidParameterValue,
            ServiceError::AlreadyScanning { .. } => TcssCode::FailedOperationErrAlreadyScanning,
            ServiceError::FailedOperation { .. } => TcssCode::FailedOperation,
        };
        ApiError::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant with its code: a new variant must be added here deliberately.
    #[test]
    fn code_table() {
        let table: Vec<(ServiceError, &str)> = vec![
            (ServiceError::Store(store::Error::KeyNotFound("x".into())), "InternalError"),
            (ServiceError::InvalidFormat { field: "F", reason: "r".into() }, "InvalidParameter.InvalidFormat"),
            (ServiceError::LengthLimit { field: "F", reason: "r".into() }, "InvalidParameterValue.LengthLimit"),
            (ServiceError::MissingParameter { field: "F", reason: "r".into() }, "InvalidParameter.MissingParameter"),
            (ServiceError::NotFound { what: "image", id: "i".into() }, "ResourceNotFound"),
            (ServiceError::InvalidParameter { field: "F", reason: "r".into() }, "InvalidParameter"),
            (ServiceError::InvalidValue { field: "F", reason: "r".into() }, "InvalidParameterValue"),
            (ServiceError::AlreadyScanning { task_id: "t".into() }, "FailedOperation.ErrAlreadyScanning"),
            (ServiceError::FailedOperation { reason: "r".into() }, "FailedOperation"),
        ];
        for (err, code) in table {
            let api: ApiError = err.into();
            assert_eq!(api.code.as_str(), code);
        }
        // Disk full: its own code, the details (paths, SQL) only in the log; the same behind the API's checks.
        let full = || store::Error::Io { path: "/data/shipshape.db-wal".into(), source: std::io::Error::from_raw_os_error(28) };
        let api: ApiError = ServiceError::Store(full()).into();
        assert_eq!((api.code.as_str(), api.message.as_str()), ("ResourceInsufficient", api::error::STORAGE_FULL));
        assert!(api.internal.is_some());
        assert_eq!(ApiError::from(lookup_error(full())).code.as_str(), "ResourceInsufficient");
        assert_eq!(ApiError::from(lookup_error(store::Error::KeyNotFound("k".into()))).code.as_str(), "InternalError");
        // Internal details stay out of the message.
        let api: ApiError = ServiceError::Store(store::Error::KeyNotFound("secret-ish".into())).into();
        assert!(!api.message.contains("secret-ish"));
        assert!(api.internal.is_some());
    }
}
