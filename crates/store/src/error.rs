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
    /// The URL as given, its password masked ([`redact_url`]).
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

/// `url` with the password of its user info replaced by `****` (`postgres://u:****@h/db`): database
/// URLs are shown in errors and `Debug` output, their passwords never.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:****{}", &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl Error {
    /// A write failed because the disk holding the database or the data directory is full: SQLite's
    /// `SQLITE_FULL` (13, any extended code), PostgreSQL's class 53 `disk_full` (53100), or `ENOSPC`.
    pub fn is_storage_full(&self) -> bool {
        const ENOSPC: i32 = 28;
        match self {
            Error::Database(sqlx::Error::Database(db)) => {
                db.code().is_some_and(|c| c == "53100" || c.parse::<i64>().is_ok_and(|n| n & 0xff == 13))
            }
            Error::Database(sqlx::Error::Io(e)) | Error::Io { source: e, .. } => e.raw_os_error() == Some(ENOSPC),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/x?sslmode=require"), "postgres://app:****@db:5432/x?sslmode=require");
        assert_eq!(redact_url("postgres://app:p%40ss:w@db/x"), "postgres://app:****@db/x");
        assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(redact_url("postgres://db/x?u=a@b"), "postgres://db/x?u=a@b");
        assert_eq!(redact_url("sqlite:///d/x.db"), "sqlite:///d/x.db");
        let e = Error::UnsupportedUrl(redact_url("mysql://root:hunter2@h/db"));
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn disk_full_is_recognised() {
        let enospc = || std::io::Error::from_raw_os_error(28);
        assert!(Error::Io { path: "/d".into(), source: enospc() }.is_storage_full());
        assert!(Error::Database(sqlx::Error::Io(enospc())).is_storage_full());
        assert!(!Error::Io { path: "/d".into(), source: std::io::Error::from_raw_os_error(13) }.is_storage_full());
        assert!(!Error::KeyNotFound("k".into()).is_storage_full());
    }

    /// Every store type holding a secret masks it in `Debug`.
    #[test]
    fn debug_masks_secrets() {
        let key = crate::NewKey { app_id: 7, secret_id: "AKIDpublic".into(), secret_key: "TheSecretKey".into() };
        let token = crate::harbor::NewHarborToken { token_id: "tid".into(), account: 7, token: "shh_TheToken".into() };
        let spec = crate::registries::RegistrySpec { name: "r".into(), webhook_token: "TheWebhookToken".into(), ..Default::default() };
        for (shown, public, secret) in [
            (format!("{key:?}"), "AKIDpublic", "TheSecretKey"),
            (format!("{token:?}"), "tid", "TheToken"),
            (format!("{spec:?}"), "\"r\"", "TheWebhookToken"),
        ] {
            assert!(shown.contains(public) && shown.contains("****") && !shown.contains(secret), "{shown}");
        }
    }
}
