//! Errors of the compliance crate.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ComplianceError {
    #[error("policy {file}: {message}")]
    Policy { file: &'static str, message: String },
}

/// Why the facts of one asset (or one part of them) could not be collected. Any of these makes the
/// affected items CHECK_FAILED, never passed.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CollectError {
    #[error("docker daemon unreachable: {0}")]
    DockerUnreachable(String),
    #[error("docker: {0}")]
    Docker(String),
    #[error("containerd: {0}")]
    Containerd(String),
    #[error("asset is gone: {0}")]
    Gone(String),
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("cannot parse {path}: {message}")]
    Parse { path: String, message: String },
}
