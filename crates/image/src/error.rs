//! Errors of image sources.

/// Why an image or one of its layers could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid image reference {0:?}")]
    InvalidReference(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("malformed image: {0}")]
    Malformed(String),
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch { what: String, expected: String, actual: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("limit exceeded: {0}")]
    TooLarge(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("registry: {0}")]
    Registry(String),
    #[error("docker engine: {0}")]
    Docker(String),
    /// No connection to the Docker Engine could be made (not running, restarting): nothing was asked of
    /// it, so nothing about the image is known. A connection cut off mid-read is [`Error::Docker`].
    #[error("docker engine unreachable: {0}")]
    EngineUnreachable(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound(format!("{context}: {source}"))
            } else {
                Error::Io { context, source }
            }
        }
    }
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }
    pub fn is_engine_unreachable(&self) -> bool {
        matches!(self, Error::EngineUnreachable(_))
    }
}
