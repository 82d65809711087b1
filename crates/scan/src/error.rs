/// What a scan can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Image(#[from] image::Error),
    #[error(transparent)]
    Layer(#[from] layer::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("vulnerability matching: {0}")]
    Match(#[from] vuln::MatchError),
    #[error("advisory index: {0}")]
    Index(#[from] vuln::IndexError),
    #[error("secret rules: {0}")]
    Secrets(#[from] secrets::Error),
    #[error("malware rules: {0}")]
    Malware(#[from] malware::Error),
    #[error("layer cache {path}: {source}")]
    Cache { path: String, source: std::io::Error },
    #[error("layer cache entry {key}: {reason}")]
    CacheEntry { key: String, reason: String },
    #[error("registries file: {0}")]
    Config(String),
    #[error("inventory source {name}: listing took over {secs} s")]
    ListTimeout { name: String, secs: u64 },
    #[error("Docker Engine: {0}")]
    Docker(String),
    #[error("the image changed: expected layers {expected:?}, found {found:?}")]
    LayersChanged { expected: Vec<String>, found: Vec<String> },
    #[error("no vulnerability data is loaded: import advisories first (`shipshape db import DIR`)")]
    NoAdvisories,
    #[error("node {node}: {reason}")]
    NodeScan { node: String, reason: String },
    #[error("cancelled")]
    Cancelled,
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled)
    }

    /// No connection to the Docker Engine could be made (see [`image::Error::EngineUnreachable`]).
    pub fn is_engine_unreachable(&self) -> bool {
        matches!(self, Error::Image(e) if e.is_engine_unreachable())
    }
}
