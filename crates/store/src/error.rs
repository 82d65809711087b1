use std::path::PathBuf;

use model::AccountId;

/// Everything the store can fail with. SQL text never leaves this crate except inside `Database`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("master key {}: {reason}", path.display())]
    MasterKey { path: PathBuf, reason: String },
    #[error("the secret of key {secret_id} cannot be decrypted (is this the master.key it was created with?)")]
    Decrypt { secret_id: String },
    #[error("unsupported database URL `{0}` (expected postgres://… or sqlite://…)")]
    UnsupportedUrl(String),
    #[error("account {0} does not exist")]
    AccountNotFound(AccountId),
    #[error("key {0} does not exist")]
    KeyNotFound(String),
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("no randomness available from the OS: {0}")]
    Random(String),
    #[error("advisory import: {0}")]
    Advisories(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
