//! The walker's error: a boxed kind (the walk is a hot path; keep `Result` small).

use std::fmt;

/// Why a layer could not be walked. Per-file problems are warnings, not errors.
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The tar stream is corrupt or truncated.
    #[error("layer {diff_id}: corrupt tar after {entries} entries: {source}")]
    Tar { diff_id: String, entries: u64, source: std::io::Error },
    /// Reading the (possibly decompressed) stream failed.
    #[error("layer {diff_id}: read failed: {source}")]
    Io { diff_id: String, source: std::io::Error },
    /// The compression format is recognised but not supported (bzip2, xz).
    #[error("unsupported layer compression: {0}")]
    UnsupportedCompression(String),
}

impl Error {
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
    /// The layer bytes themselves are bad (corrupt tar, unknown compression), not the I/O.
    pub fn is_invalid_input(&self) -> bool {
        matches!(*self.kind, ErrorKind::Tar { .. } | ErrorKind::UnsupportedCompression(_))
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error { kind: Box::new(kind) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.kind)
    }
}
