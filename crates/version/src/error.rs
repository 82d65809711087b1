use model::Ecosystem;

/// A version could not be parsed or compared. Boxed kind keeps `Result<_, Error>` small (as uv).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error {
    kind: Box<ErrorKind>,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("invalid {ecosystem} version {version:?}: {reason}")]
    Invalid { ecosystem: Ecosystem, version: String, reason: String },
    #[error("cannot compare a {left} version with a {right} version")]
    FamilyMismatch { left: &'static str, right: &'static str },
}

impl Error {
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub(crate) fn invalid(ecosystem: Ecosystem, version: &str, reason: String) -> Error {
        Error { kind: Box::new(ErrorKind::Invalid { ecosystem, version: version.to_owned(), reason }) }
    }

    pub(crate) fn mismatch(left: &'static str, right: &'static str) -> Error {
        Error { kind: Box::new(ErrorKind::FamilyMismatch { left, right }) }
    }
}
