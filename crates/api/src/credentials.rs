//! How the API layer learns a SecretId's account and secret key. Implemented over the store by the
//! `service` crate; the API crate only defines the contract.

use futures::future::BoxFuture;
use model::{AccountId, KeyRole};

/// An enabled key: the account it acts for, the secret needed to verify TC3 signatures and what
/// the key may call ([`KeyRole`]: an agent key only the actions marked [`crate::Action::agent_only`]).
#[derive(Clone)]
pub struct Credential {
    pub account: AccountId,
    pub secret_key: String,
    pub role: KeyRole,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").field("account", &self.account).field("role", &self.role).field("secret_key", &"<redacted>").finish()
    }
}

/// A failure of the lookup itself (database down…), answered as `InternalError`.
#[derive(Debug, thiserror::Error)]
#[error("credential lookup failed: {0}")]
pub struct LookupError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// The cause of a [`LookupError`] when the store failed because its disk is full: such a request is
/// answered `ResourceInsufficient` ([`crate::ApiError::storage_full`]) instead of `InternalError`.
#[derive(Debug, thiserror::Error)]
#[error("storage full: {0}")]
pub struct StorageFull(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl LookupError {
    pub fn is_storage_full(&self) -> bool {
        self.0.is::<StorageFull>()
    }
}

impl From<LookupError> for crate::ApiError {
    fn from(e: LookupError) -> crate::ApiError {
        if e.is_storage_full() { crate::ApiError::storage_full(e) } else { crate::ApiError::internal(e) }
    }
}

/// Resolves a SecretId. `Ok(None)` for unknown or disabled keys (`AuthFailure.SecretIdNotFound`).
pub trait CredentialLookup: Send + Sync + 'static {
    fn lookup<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<Option<Credential>, LookupError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_not_an_internal_error() {
        let io = || Box::new(std::io::Error::from_raw_os_error(28));
        let full: crate::ApiError = LookupError(Box::new(StorageFull(io()))).into();
        assert_eq!((full.code.as_str(), full.message.as_str()), ("ResourceInsufficient", crate::error::STORAGE_FULL));
        assert!(full.internal.is_some());
        let other: crate::ApiError = LookupError(io()).into();
        assert_eq!(other.code.as_str(), "InternalError");
    }
}
