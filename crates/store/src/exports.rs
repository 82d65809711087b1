//! Export jobs (migration 0050): the workbooks of the TCSS `...Export` actions, one file per job
//! under `DATA_DIR/exports` (dir 0700, files 0600), and the download links that hand them out.
//!
//! A link is a 256-bit random token (43 alphanumerics) bound to one account and one job; only its
//! SHA-256 is stored, it expires after [`LINK_LIFETIME_SECS`], and any number can exist per job
//! (each `DescribeExportJobResult` / `...DownloadURL` makes a fresh one). Jobs and their files are
//! pruned [`FILE_LIFETIME_SECS`] after they were written ([`Store::prune_exports`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use model::AccountId;
use sqlx::Row;

use crate::sealing::{random_alnum, random_bytes, token_hash};
use crate::{Error, Store};

/// Folder of the workbooks inside the data dir.
pub const EXPORT_DIR: &str = "exports";
/// How long a job and its file are kept.
pub const FILE_LIFETIME_SECS: i64 = 24 * 3600;
/// How long a download link works.
pub const LINK_LIFETIME_SECS: i64 = 600;

/// `ExportStatus` of a job whose file is written (jobs are written whole before they are stored).
pub const STATUS_SUCCESS: &str = "SUCCESS";

/// One export job of an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportJob {
    pub job_id: String,
    pub account: AccountId,
    pub job_name: String,
    /// `RegistryImage` or `LocalImage` (TCSS's `ExportSource`).
    pub source: String,
    pub status: String,
    pub failure: String,
    pub row_count: i64,
    pub created_at: i64,
    /// When the job and its file are pruned (TCSS's `Timeout`).
    pub expires_at: i64,
}

/// A file an export link resolves to.
#[derive(Debug, Clone)]
pub struct ExportDownload {
    pub job: ExportJob,
    pub path: PathBuf,
}

const JOB_COLS: &str = "job_id, account_id, job_name, source, status, failure, row_count, created_at, expires_at";

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<ExportJob, Error> {
    Ok(ExportJob {
        job_id: r.try_get(0)?,
        account: r.try_get(1)?,
        job_name: r.try_get(2)?,
        source: r.try_get(3)?,
        status: r.try_get(4)?,
        failure: r.try_get(5)?,
        row_count: r.try_get(6)?,
        created_at: r.try_get(7)?,
        expires_at: r.try_get(8)?,
    })
}

/// A random UUID-shaped id (TCSS job ids look like UUIDs).
fn new_job_id() -> Result<String, Error> {
    let h = hex::encode(random_bytes::<16>()?);
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

fn export_dir(data_dir: &Path) -> Result<PathBuf, Error> {
    let dir = data_dir.join(EXPORT_DIR);
    crate::private_fs::create_dir(&dir).map_err(Error::io(&dir))?;
    Ok(dir)
}

/// Writes `bytes` to `path` (mode 0600) through a temporary file, so a reader never sees half a file.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("part");
    let mut f = crate::private_fs::create_file(&tmp, true).map_err(Error::io(&tmp))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}

impl Store {
    /// Stores a finished workbook as a new job of `account` (prunes expired jobs first).
    pub async fn create_export_job(
        &self,
        account: AccountId,
        source: &str,
        job_name: &str,
        workbook: &[u8],
        row_count: u64,
        now: i64,
    ) -> Result<ExportJob, Error> {
        self.prune_exports(now).await?;
        let job_id = new_job_id()?;
        let file_name = format!("{job_id}.xlsx");
        let path = export_dir(&self.data_dir)?.join(&file_name);
        let bytes = workbook.to_vec();
        let p = path.clone();
        tokio::task::spawn_blocking(move || write_private(&p, &bytes))
            .await
            .map_err(|e| Error::Io { path: path.clone(), source: std::io::Error::other(e.to_string()) })??;
        let job = ExportJob {
            job_id,
            account,
            job_name: job_name.to_string(),
            source: source.to_string(),
            status: STATUS_SUCCESS.to_string(),
            failure: String::new(),
            row_count: i64::try_from(row_count).unwrap_or(i64::MAX),
            created_at: now,
            expires_at: now + FILE_LIFETIME_SECS,
        };
        let inserted = sqlx::query(
            "INSERT INTO export_jobs (job_id, account_id, job_name, source, status, failure, file_name, row_count, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&job.job_id)
        .bind(account)
        .bind(&job.job_name)
        .bind(&job.source)
        .bind(&job.status)
        .bind(&job.failure)
        .bind(&file_name)
        .bind(job.row_count)
        .bind(job.created_at)
        .bind(job.expires_at)
        .execute(&self.pool)
        .await;
        if let Err(e) = inserted {
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
        Ok(job)
    }

    /// A job of `account` that has not expired; another account's job is `None` too.
    pub async fn export_job(&self, account: AccountId, job_id: &str, now: i64) -> Result<Option<ExportJob>, Error> {
        let sql = format!("SELECT {JOB_COLS} FROM export_jobs WHERE account_id = $1 AND job_id = $2 AND expires_at > $3");
        let row = sqlx::query(&sql).bind(account).bind(job_id).bind(now).fetch_optional(&self.pool).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// The account's jobs that have not expired, newest first.
    pub async fn export_jobs(&self, account: AccountId, now: i64) -> Result<Vec<ExportJob>, Error> {
        let sql = format!("SELECT {JOB_COLS} FROM export_jobs WHERE account_id = $1 AND expires_at > $2 ORDER BY created_at DESC, job_id");
        sqlx::query(&sql).bind(account).bind(now).fetch_all(&self.pool).await?.iter().map(job_from_row).collect()
    }

    /// A new download token for a job of `account`, valid for [`LINK_LIFETIME_SECS`]; `None` when
    /// the account has no such job.
    pub async fn create_export_link(&self, account: AccountId, job_id: &str, now: i64) -> Result<Option<String>, Error> {
        if self.export_job(account, job_id, now).await?.is_none() {
            return Ok(None);
        }
        let token = random_alnum(43)?;
        sqlx::query("INSERT INTO export_tokens (token_hash, account_id, job_id, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash(&token))
            .bind(account)
            .bind(job_id)
            .bind(now + LINK_LIFETIME_SECS)
            .execute(&self.pool)
            .await?;
        Ok(Some(token))
    }

    /// The file a token opens, while the token and its job are valid; `None` otherwise (unknown,
    /// expired, or the file is gone).
    pub async fn export_download(&self, token: &str, now: i64) -> Result<Option<ExportDownload>, Error> {
        let cols = JOB_COLS.split(", ").map(|c| format!("j.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {cols}, j.file_name FROM export_tokens t JOIN export_jobs j ON j.job_id = t.job_id AND j.account_id = t.account_id
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND j.expires_at > $2"
        );
        let Some(row) = sqlx::query(&sql).bind(token_hash(token)).bind(now).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let job = job_from_row(&row)?;
        let file_name: String = row.try_get(9)?;
        let path = self.data_dir.join(EXPORT_DIR).join(file_name);
        Ok(path.is_file().then_some(ExportDownload { job, path }))
    }

    /// Removes expired links, and expired jobs with their files. Returns the jobs removed.
    pub async fn prune_exports(&self, now: i64) -> Result<u64, Error> {
        sqlx::query(
            "DELETE FROM export_tokens WHERE expires_at <= $1 OR job_id IN (SELECT job_id FROM export_jobs WHERE expires_at <= $1)",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        let old: Vec<(String, String)> = sqlx::query("SELECT job_id, file_name FROM export_jobs WHERE expires_at <= $1")
            .bind(now)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, Error>>()?;
        let dir = self.data_dir.join(EXPORT_DIR);
        for (job_id, file_name) in &old {
            // The file first: a row without its file is harmless (a 404), a file without a row is a leak.
            match std::fs::remove_file(dir.join(file_name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Io { path: dir.join(file_name), source: e }),
            }
            sqlx::query("DELETE FROM export_jobs WHERE job_id = $1").bind(job_id).execute(&self.pool).await?;
        }
        Ok(old.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn jobs_links_and_pruning() {
        let dir = tempfile::tempdir().unwrap();
        for (store, a) in crate::testing::stores_with_account(dir.path()).await {
            let b = store.create_account_with_key().await.unwrap().app_id;
            let now = 1_800_000_000;
            let job = store.create_export_job(a, "RegistryImage", "RegistryImage-1", b"PK-bytes", 3, now).await.unwrap();
            assert_eq!((job.status.as_str(), job.row_count, job.expires_at), ("SUCCESS", 3, now + FILE_LIFETIME_SECS));
            assert_eq!(job.job_id.len(), 36);
            let path = store.data_dir().join(EXPORT_DIR).join(format!("{}.xlsx", job.job_id));
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);

            // Another account sees nothing and gets no link.
            assert_eq!(store.export_job(a, &job.job_id, now).await.unwrap(), Some(job.clone()));
            assert_eq!(store.export_job(b, &job.job_id, now).await.unwrap(), None);
            assert!(store.export_jobs(b, now).await.unwrap().is_empty());
            assert_eq!(store.create_export_link(b, &job.job_id, now).await.unwrap(), None);

            let token = store.create_export_link(a, &job.job_id, now).await.unwrap().unwrap();
            assert_eq!(token.len(), 43);
            let d = store.export_download(&token, now + 1).await.unwrap().unwrap();
            assert_eq!((d.job.job_id.as_str(), std::fs::read(&d.path).unwrap()), (job.job_id.as_str(), b"PK-bytes".to_vec()));
            // Only the hash is stored.
            let stored: String = sqlx::query("SELECT token_hash FROM export_tokens").fetch_one(store.pool()).await.unwrap().get(0);
            assert_eq!(stored, token_hash(&token));
            assert!(store.export_download("x", now).await.unwrap().is_none());
            assert!(store.export_download(&token, now + LINK_LIFETIME_SECS).await.unwrap().is_none(), "expired link");

            // A fresh link works until the job expires; pruning removes the row and the file.
            let later = now + FILE_LIFETIME_SECS - 60;
            let t2 = store.create_export_link(a, &job.job_id, later).await.unwrap().unwrap();
            assert!(store.export_download(&t2, later).await.unwrap().is_some());
            assert_eq!(store.prune_exports(now + FILE_LIFETIME_SECS).await.unwrap(), 1);
            assert!(!path.exists());
            assert!(store.export_download(&t2, later).await.unwrap().is_none());
            assert!(store.export_jobs(a, now).await.unwrap().is_empty());
        }
    }
}
