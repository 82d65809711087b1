//! The latest results per image: a JSON summary (`image_scan_results`) and finding rows per kind
//! (`image_findings`), opaque JSON to the store (`scan` writes them, `service` reads them), written
//! in one place ([`write_outcome`]) whoever ran the scan.

use model::AccountId;
use model::scan_summary::FindingKind;
use sqlx::Row;

use super::Tx;
use crate::{Backend, Error, Store};

/// The results of one image, replacing the previous ones of the same kinds.
#[derive(Debug, Clone, Default)]
pub struct ImageScanOutcome {
    /// JSON summary of the image (counts, errors per scanner), replaces the stored one.
    pub summary: String,
    /// Finding kinds this scan covered: their stored rows are replaced, other kinds kept.
    pub kinds: Vec<FindingKind>,
    /// (kind, JSON) rows.
    pub findings: Vec<(FindingKind, String)>,
    /// Findings counted into the task's `RiskCount`.
    pub risk_count: u64,
}

/// A stored result of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageScanResult {
    pub image_id: String,
    pub task_id: String,
    pub scanned_at: i64,
    pub summary: String,
}

/// Replaces an image's results with `o` (the kinds it covers; other kinds kept) inside `tx`:
/// the one place scan results are written, whoever ran the scan (task worker, Harbor adapter).
pub(crate) async fn write_outcome(
    tx: &mut Tx,
    account: AccountId,
    image_id: &str,
    task_id: &str,
    now: i64,
    o: &ImageScanOutcome,
) -> Result<(), Error> {
    for kind in &o.kinds {
        sqlx::query("DELETE FROM image_findings WHERE account_id = $1 AND image_id = $2 AND kind = $3")
            .bind(account)
            .bind(image_id)
            .bind(kind.as_str())
            .execute(&mut **tx)
            .await?;
    }
    insert_findings(tx, account, image_id, o.findings.iter().map(|(k, d)| (k.as_str(), d.as_str()))).await?;
    sqlx::query(
        "INSERT INTO image_scan_results (account_id, image_id, task_id, scanned_at, summary) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, image_id) DO UPDATE SET task_id = excluded.task_id, \
         scanned_at = excluded.scanned_at, summary = excluded.summary",
    )
    .bind(account)
    .bind(image_id)
    .bind(task_id)
    .bind(now)
    .bind(&o.summary)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends finding rows (kind, JSON), numbered from 0 in the given order, with multi-row
/// INSERTs (an image can have thousands of findings).
async fn insert_findings<'a>(
    tx: &mut Tx,
    account: AccountId,
    image_id: &str,
    rows: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), Error> {
    const CHUNK: usize = 100;
    let rows: Vec<(&str, &str)> = rows.collect();
    for (c, chunk) in rows.chunks(CHUNK).enumerate() {
        let mut sql = String::from("INSERT INTO image_findings (account_id, image_id, kind, seq, data) VALUES ");
        for n in 0..chunk.len() {
            let b = n * 5;
            if n > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${},${},${},${},${})", b + 1, b + 2, b + 3, b + 4, b + 5));
        }
        let mut q = sqlx::query(&sql);
        for (n, (kind, data)) in chunk.iter().enumerate() {
            q = q.bind(account).bind(image_id.to_owned()).bind(kind.to_string()).bind((c * CHUNK + n) as i64).bind(data.to_string());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Replaces one kind of an image's findings and its summary outside a task (the re-match
    /// after an advisory update), only if the image's result is still the one read at
    /// `scanned_at` (a scan that finished meanwhile wins). False when it was not.
    pub async fn replace_image_findings(
        &self,
        account: AccountId,
        image_id: &str,
        scanned_at: i64,
        kind: FindingKind,
        rows: &[String],
        summary: &str,
    ) -> Result<bool, Error> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE image_scan_results SET summary = $1 WHERE account_id = $2 AND image_id = $3 AND scanned_at = $4")
            .bind(summary)
            .bind(account)
            .bind(image_id)
            .bind(scanned_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM image_findings WHERE account_id = $1 AND image_id = $2 AND kind = $3")
            .bind(account)
            .bind(image_id)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
        insert_findings(&mut tx, account, image_id, rows.iter().map(|r| (kind.as_str(), r.as_str()))).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The stored result of one image.
    pub async fn image_scan_result(&self, account: AccountId, image_id: &str) -> Result<Option<ImageScanResult>, Error> {
        let row =
            sqlx::query("SELECT image_id, task_id, scanned_at, summary FROM image_scan_results WHERE account_id = $1 AND image_id = $2")
                .bind(account)
                .bind(image_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(ImageScanResult { image_id: r.try_get(0)?, task_id: r.try_get(1)?, scanned_at: r.try_get(2)?, summary: r.try_get(3)? })
        })
        .transpose()
    }

    /// Stored results of all the account's images.
    pub async fn image_scan_results(&self, account: AccountId) -> Result<Vec<ImageScanResult>, Error> {
        let rows = sqlx::query("SELECT image_id, task_id, scanned_at, summary FROM image_scan_results WHERE account_id = $1")
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ImageScanResult { image_id: r.try_get(0)?, task_id: r.try_get(1)?, scanned_at: r.try_get(2)?, summary: r.try_get(3)? })
            })
            .collect()
    }

    /// The finding rows (JSON) of one kind for an image, in stored order.
    pub async fn image_findings(&self, account: AccountId, image_id: &str, kind: FindingKind) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT data FROM image_findings WHERE account_id = $1 AND image_id = $2 AND kind = $3 ORDER BY seq")
            .bind(account)
            .bind(image_id)
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get(0).map_err(Error::from)).collect()
    }

    /// Whether any advisory data is loaded (an image scan with `ScanVul` needs it). The advisory
    /// tables (migrations 0010-0019) belong to the vulnerability side and may not exist yet:
    /// then nothing is loaded.
    pub async fn advisories_loaded(&self) -> Result<bool, Error> {
        let exists = match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'advisories'",
            Backend::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'advisories'",
        };
        let n: i64 = sqlx::query(exists).fetch_one(&self.pool).await?.try_get(0)?;
        if n == 0 {
            return Ok(false);
        }
        let row = sqlx::query("SELECT 1 FROM advisories LIMIT 1").fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }
}
