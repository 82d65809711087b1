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

/// Resolves a SecretId. `Ok(None)` for unknown or disabled keys (`AuthFailure.SecretIdNotFound`).
pub trait CredentialLookup: Send + Sync + 'static {
    fn lookup<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<Option<Credential>, LookupError>>;
}
