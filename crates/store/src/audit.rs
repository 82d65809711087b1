//! The audit trail's rows (`api::audit` says what is recorded). Kept [`RETENTION_DAYS`]; older
//! rows are pruned by about one insert in 256 (no background job needed on any backend).

use model::AccountId;
use sqlx::Row;

use crate::{Error, Store, now_unix};

/// Days an entry is kept.
pub const RETENTION_DAYS: i64 = 90;

/// One stored entry (the fields of `api::AuditEntry`, plus its row id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub account: Option<AccountId>,
    pub request_id: String,
    pub action: String,
    pub secret_id: String,
    pub client: String,
    pub code: String,
    pub message: String,
    /// Hex SHA-256 of the request's parameters (`api::AuditEntry::params_sha256`); empty for entries
    /// written before migration 0007 and for bodies never read.
    pub params_sha256: String,
}

impl Store {
    /// Appends an entry (its `id` is ignored).
    pub async fn record_audit(&self, e: &AuditRow) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO audit_log (at, account_id, request_id, action, secret_id, client, code, message, params_sha256) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.at)
        .bind(e.account)
        .bind(&e.request_id)
        .bind(&e.action)
        .bind(&e.secret_id)
        .bind(&e.client)
        .bind(&e.code)
        .bind(&e.message)
        .bind(&e.params_sha256)
        .execute(&self.pool)
        .await?;
        if crate::sealing::random_bytes::<1>()?[0] == 0 {
            sqlx::query("DELETE FROM audit_log WHERE at < $1").bind(now_unix() - RETENTION_DAYS * 86_400).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Entries newest first: of one account (`None`: all, failed authentications included), at or
    /// after `since`, at most `limit`.
    pub async fn audit_entries(&self, account: Option<AccountId>, since: i64, limit: i64) -> Result<Vec<AuditRow>, Error> {
        const COLS: &str = "id, at, account_id, request_id, action, secret_id, client, code, message, params_sha256";
        let rows = match account {
            Some(a) => {
                sqlx::query(&format!("SELECT {COLS} FROM audit_log WHERE account_id = $1 AND at >= $2 ORDER BY id DESC LIMIT $3"))
                    .bind(a)
                    .bind(since)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(&format!("SELECT {COLS} FROM audit_log WHERE at >= $1 ORDER BY id DESC LIMIT $2"))
                    .bind(since)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    account: r.try_get(2)?,
                    request_id: r.try_get(3)?,
                    action: r.try_get(4)?,
                    secret_id: r.try_get(5)?,
                    client: r.try_get(6)?,
                    code: r.try_get(7)?,
                    message: r.try_get(8)?,
                    params_sha256: r.try_get(9)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[tokio::test]
    async fn entries_by_account_and_time() {
        let dir = tempfile::tempdir().unwrap();
        for store in testing::stores(dir.path()).await {
            let a = store.create_account_with_key().await.unwrap().app_id;
            let row = |at: i64, account: Option<AccountId>, action: &str| AuditRow {
                id: 0,
                at,
                account,
                request_id: format!("r{at}"),
                action: action.into(),
                secret_id: "AKIDx".into(),
                client: "127.0.0.1".into(),
                code: String::new(),
                message: String::new(),
                params_sha256: format!("{at:064x}"),
            };
            // Recent times: an insert may prune entries older than the retention.
            let t = now_unix();
            store.record_audit(&row(t - 300, Some(a), "CreateAssetImageScanTask")).await.unwrap();
            store.record_audit(&row(t - 200, None, "CreateAssetImageScanSetting")).await.unwrap();
            store.record_audit(&row(t - 100, Some(a), "ModifyAssetImageScanStop")).await.unwrap();
            let all = store.audit_entries(None, 0, 10).await.unwrap();
            assert_eq!(all.iter().map(|r| t - r.at).collect::<Vec<_>>(), [100, 200, 300], "newest first");
            let mine = store.audit_entries(Some(a), t - 150, 10).await.unwrap();
            assert_eq!(mine.len(), 1);
            assert_eq!((mine[0].action.as_str(), mine[0].account), ("ModifyAssetImageScanStop", Some(a)));
            assert_eq!(mine[0].params_sha256, format!("{:064x}", t - 100), "the digest is kept as written");
            assert_eq!(store.audit_entries(None, 0, 1).await.unwrap().len(), 1);
        }
    }
}
