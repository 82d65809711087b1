//! `api::CredentialLookup` over the store's key table, with a short-lived cache: without it every
//! request reads its key from the database and unseals it (on PostgreSQL that bounds the API at a
//! few thousand requests per second). An entry lives [`TTL`]: a key disabled through any process
//! (another replica, `shipshape keys disable`) is refused everywhere within that time, with no
//! cross-process invalidation to get wrong. Unknown keys are not cached (a key created a moment
//! ago works at once); floods of unknown ids are the per-address limit's business.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use api::{Credential, CredentialLookup, LookupError};
use futures::future::BoxFuture;

/// How long a looked-up key is trusted without asking the store again.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries kept at most (the map is emptied when full: one more lookup each, never unbounded).
const MAX_ENTRIES: usize = 10_000;

pub struct StoreCredentials {
    store: store::Store,
    cache: Mutex<HashMap<String, (Instant, Credential)>>,
}

impl StoreCredentials {
    pub fn new(store: store::Store) -> StoreCredentials {
        StoreCredentials { store, cache: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, secret_id: &str) -> Option<Credential> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(secret_id).filter(|(at, _)| at.elapsed() < TTL).map(|(_, c)| c.clone())
    }

    fn remember(&self, secret_id: &str, c: &Credential) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(secret_id.to_string(), (Instant::now(), c.clone()));
    }
}

impl CredentialLookup for StoreCredentials {
    fn lookup<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<Option<Credential>, LookupError>> {
        Box::pin(async move {
            if let Some(c) = self.cached(secret_id) {
                return Ok(Some(c));
            }
            let found = self
                .store
                .lookup_key(secret_id)
                .await
                .map(|found| found.map(|(account, secret_key, role)| Credential { account, secret_key, role }))
                .map_err(crate::error::lookup_error)?;
            if let Some(c) = &found {
                self.remember(secret_id, c);
            }
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cached_for_the_ttl_then_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::open(dir.path(), None).await.unwrap();
        let key = store.create_account_with_key().await.unwrap();
        let creds = StoreCredentials::new(store.clone());
        assert!(creds.lookup(&key.secret_id).await.unwrap().is_some());
        assert!(creds.lookup("AKIDnope").await.unwrap().is_none());
        store.disable_key(&key.secret_id).await.unwrap();
        // Within the TTL the cached key still answers; after it, the disabled key is refused.
        assert!(creds.lookup(&key.secret_id).await.unwrap().is_some());
        tokio::time::sleep(TTL + Duration::from_millis(50)).await;
        assert!(creds.lookup(&key.secret_id).await.unwrap().is_none());
        // A key created after a miss works at once (misses are not cached).
        let k2 = store.create_key(key.app_id).await.unwrap();
        assert!(creds.lookup(&k2.secret_id).await.unwrap().is_some());
    }
}
