use std::path::PathBuf;

/// Import failed as a whole (a single bad file is an [`crate::import::Problem`], not this).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot read archive {path}: {reason}")]
    Archive { path: PathBuf, reason: String },
    #[error("{0}")]
    Parse(String),
}

/// The advisory index could not answer.
#[derive(Debug, thiserror::Error)]
#[error("advisory index: {0}")]
pub struct IndexError(pub String);

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error(transparent)]
    Index(#[from] IndexError),
}
