//! Accounts (TCSS AppId) and their API keys (SecretId / SecretKey, the secret sealed at rest).

use model::{AccountId, KeyRole};
use sqlx::Row;

use crate::sealing::random_alnum;
use crate::{Error, Store, now_unix};

/// The first AppId handed out (the shape of a real Tencent Cloud AppId).
pub const FIRST_APP_ID: AccountId = 1_250_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub app_id: AccountId,
    pub created_at: i64,
}

/// A freshly created key: the only time the secret is shown.
#[derive(Clone)]
pub struct NewKey {
    pub app_id: AccountId,
    pub secret_id: String,
    pub secret_key: String,
}

impl std::fmt::Debug for NewKey {
    // The SecretKey is printed once, on purpose, by `keys create`; never by a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey").field("app_id", &self.app_id).field("secret_id", &self.secret_id).field("secret_key", &"****").finish()
    }
}

/// A key as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub secret_id: String,
    pub app_id: AccountId,
    pub enabled: bool,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub role: KeyRole,
}

impl Store {
    /// Creates a new account with the next free AppId.
    pub async fn create_account(&self) -> Result<Account, Error> {
        // Retry on a concurrent creator taking the same AppId (primary-key conflict).
        let mut last_err = None;
        for _ in 0..5 {
            let row = sqlx::query("SELECT MAX(app_id) FROM accounts").fetch_one(&self.pool).await?;
            let max: Option<i64> = row.try_get(0)?;
            let app_id = max.map_or(FIRST_APP_ID, |m| m + 1);
            let created_at = now_unix();
            match sqlx::query("INSERT INTO accounts (app_id, created_at) VALUES ($1, $2)")
                .bind(app_id)
                .bind(created_at)
                .execute(&self.pool)
                .await
            {
                Ok(_) => return Ok(Account { app_id, created_at }),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => last_err = Some(sqlx::Error::Database(e)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last_err.map_or(Error::Corrupt { table: "accounts", reason: "AppId allocation failed".into() }, Error::from))
    }

    pub async fn account_exists(&self, app_id: AccountId) -> Result<bool, Error> {
        let row = sqlx::query("SELECT COUNT(*) FROM accounts WHERE app_id = $1").bind(app_id).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// When the account was created (unix seconds); `None` when it does not exist.
    pub async fn account_created_at(&self, app_id: AccountId) -> Result<Option<i64>, Error> {
        let row = sqlx::query("SELECT created_at FROM accounts WHERE app_id = $1").bind(app_id).fetch_optional(&self.pool).await?;
        row.map(|r| r.try_get(0).map_err(Error::from)).transpose()
    }

    pub async fn count_accounts(&self) -> Result<i64, Error> {
        let row = sqlx::query("SELECT COUNT(*) FROM accounts").fetch_one(&self.pool).await?;
        Ok(row.try_get(0)?)
    }

    /// Adds a key to an existing account.
    pub async fn create_key(&self, app_id: AccountId) -> Result<NewKey, Error> {
        self.create_key_with_role(app_id, KeyRole::Full).await
    }

    /// Adds a key of `role` to an existing account (an agent key can only report node assets).
    pub async fn create_key_with_role(&self, app_id: AccountId, role: KeyRole) -> Result<NewKey, Error> {
        if !self.account_exists(app_id).await? {
            return Err(Error::AccountNotFound(app_id));
        }
        let secret_id = format!("AKID{}", random_alnum(32)?);
        let secret_key = random_alnum(32)?;
        let (nonce, ct) = self.secrets.seal(&secret_id, &secret_key)?;
        sqlx::query(
            "INSERT INTO api_keys (secret_id, account_id, secret_nonce, secret_ciphertext, enabled, created_at, role) \
             VALUES ($1, $2, $3, $4, 1, $5, $6)",
        )
        .bind(&secret_id)
        .bind(app_id)
        .bind(nonce)
        .bind(ct)
        .bind(now_unix())
        .bind(role.as_str())
        .execute(&self.pool)
        .await?;
        Ok(NewKey { app_id, secret_id, secret_key })
    }

    /// A new account with its first key.
    pub async fn create_account_with_key(&self) -> Result<NewKey, Error> {
        let account = self.create_account().await?;
        self.create_key(account.app_id).await
    }

    /// The account, plain secret and role of an enabled key; `None` when unknown or disabled.
    pub async fn lookup_key(&self, secret_id: &str) -> Result<Option<(AccountId, String, KeyRole)>, Error> {
        let row =
            sqlx::query("SELECT account_id, secret_nonce, secret_ciphertext, role FROM api_keys WHERE secret_id = $1 AND enabled = 1")
                .bind(secret_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let account: i64 = row.try_get(0)?;
        let nonce: Vec<u8> = row.try_get(1)?;
        let ct: Vec<u8> = row.try_get(2)?;
        let role = role_of(&row.try_get::<String, _>(3)?)?;
        Ok(Some((account, self.secrets.open(secret_id, &nonce, &ct)?, role)))
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>, Error> {
        let rows = sqlx::query(
            "SELECT secret_id, account_id, enabled, created_at, disabled_at, role FROM api_keys \
             ORDER BY account_id, created_at, secret_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyInfo {
                    secret_id: r.try_get(0)?,
                    app_id: r.try_get(1)?,
                    enabled: r.try_get::<i64, _>(2)? != 0,
                    created_at: r.try_get(3)?,
                    disabled_at: r.try_get(4)?,
                    role: role_of(&r.try_get::<String, _>(5)?)?,
                })
            })
            .collect()
    }

    /// Replaces an enabled key by a new one of the same account, in one transaction: the new key
    /// works and the old one is disabled from the same instant (API processes' key caches drop it
    /// within their TTL).
    pub async fn rotate_key(&self, secret_id: &str) -> Result<NewKey, Error> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT account_id, role FROM api_keys WHERE secret_id = $1 AND enabled = 1")
            .bind(secret_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Err(Error::KeyNotFound(secret_id.to_string())) };
        let app_id: AccountId = row.try_get(0)?;
        // The new key keeps the old one's role (a rotated agent key stays an agent key).
        let role: String = row.try_get(1)?;
        let new_id = format!("AKID{}", random_alnum(32)?);
        let new_key = random_alnum(32)?;
        let (nonce, ct) = self.secrets.seal(&new_id, &new_key)?;
        let now = now_unix();
        sqlx::query(
            "INSERT INTO api_keys (secret_id, account_id, secret_nonce, secret_ciphertext, enabled, created_at, role) \
             VALUES ($1, $2, $3, $4, 1, $5, $6)",
        )
        .bind(&new_id)
        .bind(app_id)
        .bind(nonce)
        .bind(ct)
        .bind(now)
        .bind(role)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE api_keys SET enabled = 0, disabled_at = $1 WHERE secret_id = $2")
            .bind(now)
            .bind(secret_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(NewKey { app_id, secret_id: new_id, secret_key: new_key })
    }

    /// Disables a key; requests signed with it then fail with `AuthFailure.SecretIdNotFound`.
    pub async fn disable_key(&self, secret_id: &str) -> Result<(), Error> {
        let done = sqlx::query("UPDATE api_keys SET enabled = 0, disabled_at = $1 WHERE secret_id = $2")
            .bind(now_unix())
            .bind(secret_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::KeyNotFound(secret_id.to_string()));
        }
        Ok(())
    }
}

fn role_of(s: &str) -> Result<KeyRole, Error> {
    KeyRole::parse(s).ok_or_else(|| Error::Corrupt { table: "api_keys", reason: format!("unknown key role {s:?}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rotate_replaces_the_key_of_the_same_account() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).await.unwrap();
        let old = store.create_account_with_key().await.unwrap();
        let new = store.rotate_key(&old.secret_id).await.unwrap();
        assert_eq!(new.app_id, old.app_id);
        assert_ne!(new.secret_id, old.secret_id);
        assert_eq!(store.lookup_key(&new.secret_id).await.unwrap(), Some((old.app_id, new.secret_key.clone(), KeyRole::Full)));
        assert_eq!(store.lookup_key(&old.secret_id).await.unwrap(), None);
        // A disabled or unknown key cannot be rotated (and nothing is created).
        assert!(matches!(store.rotate_key(&old.secret_id).await, Err(Error::KeyNotFound(_))));
        assert!(matches!(store.rotate_key("AKIDnope").await, Err(Error::KeyNotFound(_))));
        assert_eq!(store.list_keys().await.unwrap().len(), 2);
        // An agent key says so, and keeps its role through a rotation.
        let agent = store.create_key_with_role(old.app_id, KeyRole::Agent).await.unwrap();
        assert_eq!(store.lookup_key(&agent.secret_id).await.unwrap().map(|k| k.2), Some(KeyRole::Agent));
        let rotated = store.rotate_key(&agent.secret_id).await.unwrap();
        assert_eq!(store.lookup_key(&rotated.secret_id).await.unwrap().map(|k| k.2), Some(KeyRole::Agent));
        let listed = store.list_keys().await.unwrap();
        assert_eq!(listed.iter().find(|k| k.secret_id == rotated.secret_id).map(|k| k.role), Some(KeyRole::Agent));
    }
}
