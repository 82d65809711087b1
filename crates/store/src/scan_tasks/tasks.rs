//! Image scan tasks and their queue. A task is one row in `image_scan_tasks` plus one
//! `image_scan_queue` row per image, a [`crate::queue`] whose rows workers claim, heartbeat and
//! finish by replacing the image's results in the same transaction that marks the row done, and
//! only while they still own the row: a worker killed mid-image leaves a stale heartbeat, the row
//! is claimed again and the image rescanned, never half-written nor written twice.

use model::AccountId;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::results::{ImageScanOutcome, write_outcome};
use super::{i, now_micros, u};
use crate::queue::{Arg, Queue};
use crate::{Error, Store, now_unix};

/// The image queue: one row per (task, image), in task then image order.
pub(crate) const IMAGE_QUEUE: Queue = Queue {
    table: "image_scan_queue",
    key: &["task_id", "image_id"],
    order: "seq",
    on_claim: "bytes_done = 0, started_at = COALESCE(started_at, $2)",
    on_release: "bytes_done = 0",
};

/// The states of an image queue row still to scan: waiting (`pending`), claimed by a worker
/// (`running`) or handed to a node's agent (`node`). A task ends when none of its rows is in one;
/// a stop cancels the rows that are; the metrics count them as the backlog.
const TO_SCAN: &[&str] = &["pending", "running", "node"];

/// `COLUMN IN ('pending', …)`: the rows of [`TO_SCAN`], for the state column as the statement
/// names it (`state`, `q.state`). Both backends take the same SQL.
pub(crate) fn to_scan(column: &str) -> String {
    format!("{column} IN ({})", TO_SCAN.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "))
}

/// A task to create.
#[derive(Debug, Clone, Default)]
pub struct NewImageScanTask {
    pub scan_vul: bool,
    pub scan_virus: bool,
    pub scan_risk: bool,
    /// Started by the scheduler (its end records `LastScanTime`/`ScanResult`).
    pub scheduled: bool,
    /// Unix time after which the task is stopped with sub-status `Timeout`.
    pub deadline: Option<i64>,
    /// (image id, layer bytes to read) in scan order.
    pub images: Vec<(String, u64)>,
}

/// What `create_image_scan_task` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatedTask {
    Created(String),
    /// The account already has an unfinished task (its id).
    AlreadyRunning(String),
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageScanTask {
    pub task_id: String,
    pub created_at: i64,
    /// `READY`, `SCANNING` or `END`.
    pub status: String,
    /// `Success`, `Timeout`, `Cancel`, `Error`; empty until the task ends.
    pub sub_status: String,
    pub scan_vul: bool,
    pub scan_virus: bool,
    pub scan_risk: bool,
    pub scheduled: bool,
    pub deadline: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub image_total: u64,
    /// `local` (CreateAssetImageScanTask, the image scan settings) or `registry` (the registry
    /// scan actions and their schedule): one unfinished task per account and family.
    pub family: String,
}

/// Task family of the local image actions.
pub const FAMILY_LOCAL: &str = "local";
/// Task family of the registry image actions.
pub const FAMILY_REGISTRY: &str = "registry";

/// Counters of a task's queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageScanProgress {
    pub total: u64,
    /// Rows that reached an end state (done, failed, cancelled).
    pub finished: u64,
    pub done: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Findings in the images done so far.
    pub risk_count: u64,
    /// Layer bytes of all images, and of those read so far (finished rows count fully).
    pub bytes_total: u64,
    pub bytes_done: u64,
}

/// A claimed queue row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageScanClaim {
    pub account: AccountId,
    pub task_id: String,
    pub image_id: String,
    /// 1 on the first claim; more when a previous worker died on this image.
    pub attempts: u64,
    pub scan_vul: bool,
    pub scan_virus: bool,
    pub scan_risk: bool,
}

impl ImageScanClaim {
    fn key(&self) -> [Arg<'_>; 2] {
        [Arg::Text(&self.task_id), Arg::Text(&self.image_id)]
    }
}

const TASK_COLS: &str = "task_id, created_at, status, sub_status, scan_vul, scan_virus, scan_risk, scheduled, deadline, \
                         started_at, finished_at, image_total, family";

fn task_from_row(r: &AnyRow) -> Result<ImageScanTask, Error> {
    Ok(ImageScanTask {
        task_id: r.try_get(0)?,
        created_at: r.try_get(1)?,
        status: r.try_get(2)?,
        sub_status: r.try_get(3)?,
        scan_vul: r.try_get::<i64, _>(4)? != 0,
        scan_virus: r.try_get::<i64, _>(5)? != 0,
        scan_risk: r.try_get::<i64, _>(6)? != 0,
        scheduled: r.try_get::<i64, _>(7)? != 0,
        deadline: r.try_get(8)?,
        started_at: r.try_get(9)?,
        finished_at: r.try_get(10)?,
        image_total: u(r.try_get(11)?),
        family: r.try_get(12)?,
    })
}

/// Ends the task (`Success` when some image is done, else `Error`) once none of its rows is
/// still to scan: pending, running, or waiting for a node agent (`node`). True when it ended now.
pub(crate) async fn end_task_if_drained(tx: &mut sqlx::Transaction<'static, sqlx::Any>, task_id: &str, now: i64) -> Result<bool, Error> {
    let ended = sqlx::query(&format!(
        "UPDATE image_scan_tasks SET status = 'END', \
         sub_status = CASE WHEN EXISTS (SELECT 1 FROM image_scan_queue WHERE task_id = $1 AND state = 'done') \
                      THEN 'Success' ELSE 'Error' END, finished_at = $2 \
         WHERE task_id = $1 AND status <> 'END' AND NOT EXISTS \
         (SELECT 1 FROM image_scan_queue WHERE task_id = $1 AND {})",
        to_scan("state")
    ))
    .bind(task_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(ended == 1)
}

impl Store {
    /// Creates a task and its queue rows in one transaction, unless the account has an
    /// unfinished task (a partial unique index makes that check race-free).
    pub async fn create_image_scan_task(&self, account: AccountId, new: &NewImageScanTask) -> Result<CreatedTask, Error> {
        self.create_scan_task(account, new, FAMILY_LOCAL).await
    }

    /// [`Store::create_image_scan_task`] for a task family.
    pub(crate) async fn create_scan_task(&self, account: AccountId, new: &NewImageScanTask, family: &str) -> Result<CreatedTask, Error> {
        if let Some(t) = self.active_scan_task(account, family).await? {
            return Ok(CreatedTask::AlreadyRunning(t));
        }
        let now = now_unix();
        let seq = now_micros();
        let task_id = if family == FAMILY_REGISTRY {
            // The registry actions' TaskID is an integer (below 2^53, so JavaScript keeps it).
            seq.to_string()
        } else {
            // 24 hex digits like TCSS task ids; unique because seq is per-microsecond and random-suffixed.
            format!("{:016x}{}", seq, &crate::sealing::random_alnum(8)?.to_ascii_lowercase())
        };
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO image_scan_tasks (account_id, task_id, seq, created_at, status, sub_status, scan_vul, scan_virus, \
             scan_risk, scheduled, deadline, started_at, finished_at, image_total, family) \
             VALUES ($1, $2, $3, $4, 'READY', '', $5, $6, $7, $8, $9, NULL, NULL, $10, $11)",
        )
        .bind(account)
        .bind(&task_id)
        .bind(seq)
        .bind(now)
        .bind(new.scan_vul as i64)
        .bind(new.scan_virus as i64)
        .bind(new.scan_risk as i64)
        .bind(new.scheduled as i64)
        .bind(new.deadline)
        .bind(new.images.len() as i64)
        .bind(family)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            drop(tx);
            if let Some(t) = self.active_scan_task(account, family).await? {
                return Ok(CreatedTask::AlreadyRunning(t));
            }
            return Err(e.into());
        }
        for (n, (image_id, bytes)) in new.images.iter().enumerate() {
            sqlx::query(
                "INSERT INTO image_scan_queue (account_id, task_id, image_id, seq, state, worker, heartbeat_at, attempts, \
                 bytes, bytes_done, risk_count, error, started_at, finished_at) \
                 VALUES ($1, $2, $3, $4, 'pending', NULL, NULL, 0, $5, 0, 0, '', NULL, NULL)",
            )
            .bind(account)
            .bind(&task_id)
            .bind(image_id)
            .bind(seq.saturating_mul(1000).saturating_add(n as i64))
            .bind(i(*bytes))
            .execute(&mut *tx)
            .await?;
        }
        if new.images.is_empty() {
            sqlx::query("UPDATE image_scan_tasks SET status = 'END', sub_status = 'Success', finished_at = $1 WHERE task_id = $2")
                .bind(now)
                .bind(&task_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(CreatedTask::Created(task_id))
    }

    /// The account's unfinished task id, if any.
    pub async fn active_image_scan_task(&self, account: AccountId) -> Result<Option<String>, Error> {
        self.active_scan_task(account, FAMILY_LOCAL).await
    }

    pub(crate) async fn active_scan_task(&self, account: AccountId, family: &str) -> Result<Option<String>, Error> {
        let row = sqlx::query("SELECT task_id FROM image_scan_tasks WHERE account_id = $1 AND family = $2 AND status <> 'END'")
            .bind(account)
            .bind(family)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// A task of the account; `None` as id: the latest local one.
    pub async fn image_scan_task(&self, account: AccountId, task_id: Option<&str>) -> Result<Option<ImageScanTask>, Error> {
        self.scan_task(account, FAMILY_LOCAL, task_id).await
    }

    /// A task of the account by id (any family), or the family's latest.
    pub(crate) async fn scan_task(&self, account: AccountId, family: &str, task_id: Option<&str>) -> Result<Option<ImageScanTask>, Error> {
        let row = match task_id {
            Some(id) => {
                sqlx::query(&format!("SELECT {TASK_COLS} FROM image_scan_tasks WHERE account_id = $1 AND task_id = $2"))
                    .bind(account)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {TASK_COLS} FROM image_scan_tasks WHERE account_id = $1 AND family = $2 ORDER BY seq DESC LIMIT 1"
                ))
                .bind(account)
                .bind(family)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.as_ref().map(task_from_row).transpose()
    }

    /// Queue counters of a task, in one query.
    pub async fn image_scan_progress(&self, account: AccountId, task_id: &str) -> Result<ImageScanProgress, Error> {
        let r = sqlx::query(
            "SELECT COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'done' THEN risk_count ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(bytes), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state IN ('done', 'failed') THEN bytes ELSE bytes_done END), 0) AS BIGINT) \
             FROM image_scan_queue WHERE account_id = $1 AND task_id = $2",
        )
        .bind(account)
        .bind(task_id)
        .fetch_one(&self.pool)
        .await?;
        let get = |n: usize| -> Result<u64, Error> { Ok(u(r.try_get::<i64, _>(n)?)) };
        let (done, failed, cancelled) = (get(1)?, get(2)?, get(3)?);
        Ok(ImageScanProgress {
            total: get(0)?,
            finished: done + failed + cancelled,
            done,
            failed,
            cancelled,
            risk_count: get(4)?,
            bytes_total: get(5)?,
            bytes_done: get(6)?,
        })
    }

    /// Image ids of the account that are queued or being scanned now, with their queue state.
    pub async fn image_scan_active_images(&self, account: AccountId) -> Result<Vec<(String, String)>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT q.image_id, q.state FROM image_scan_queue q JOIN image_scan_tasks t ON t.task_id = q.task_id \
             WHERE q.account_id = $1 AND t.status <> 'END' AND {}",
            to_scan("q.state")
        ))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Ends an unfinished task with `sub_status` (`Cancel`, `Timeout`, `Error`): its pending and
    /// running rows become `cancelled` (a worker still scanning one loses its claim, so its
    /// result is dropped); images already done keep their results. False when it had ended.
    pub async fn stop_image_scan_task(&self, account: AccountId, task_id: &str, sub_status: &str) -> Result<bool, Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE image_scan_tasks SET status = 'END', sub_status = $1, finished_at = $2 \
             WHERE account_id = $3 AND task_id = $4 AND status <> 'END'",
        )
        .bind(sub_status)
        .bind(now)
        .bind(account)
        .bind(task_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(&format!(
            "UPDATE image_scan_queue SET state = 'cancelled', finished_at = $1 WHERE account_id = $2 AND task_id = $3 AND {}",
            to_scan("state")
        ))
        .bind(now)
        .bind(account)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Stops some images of an unfinished task (their pending/running rows become `cancelled`);
    /// when nothing is left to scan the task ends (`Cancel`). Returns the rows cancelled.
    pub async fn cancel_image_scan_images(&self, account: AccountId, task_id: &str, image_ids: &[String]) -> Result<u64, Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        let cancel = format!(
            "UPDATE image_scan_queue SET state = 'cancelled', finished_at = $1 \
             WHERE account_id = $2 AND task_id = $3 AND image_id = $4 AND {}",
            to_scan("state")
        );
        for id in image_ids {
            n += sqlx::query(&cancel).bind(now).bind(account).bind(task_id).bind(id).execute(&mut *tx).await?.rows_affected();
        }
        sqlx::query(&format!(
            "UPDATE image_scan_tasks SET status = 'END', sub_status = 'Cancel', finished_at = $1 \
             WHERE account_id = $2 AND task_id = $3 AND status <> 'END' AND NOT EXISTS \
             (SELECT 1 FROM image_scan_queue WHERE task_id = $3 AND {})",
            to_scan("state")
        ))
        .bind(now)
        .bind(account)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Unfinished tasks whose deadline has passed: (account, task id).
    pub async fn overdue_image_scan_tasks(&self, now: i64) -> Result<Vec<(AccountId, String)>, Error> {
        let rows = sqlx::query(
            "SELECT account_id, task_id FROM image_scan_tasks WHERE status <> 'END' AND deadline IS NOT NULL AND deadline < $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Claims the next image to scan: a pending row, or a running row whose worker stopped
    /// heartbeating before `stale_before` (unix seconds).
    pub async fn claim_image_scan(&self, worker: &str, stale_before: i64) -> Result<Option<ImageScanClaim>, Error> {
        let now = now_unix();
        let row = IMAGE_QUEUE.claim(&self.pool, self.backend, worker, now, stale_before, "account_id, task_id, image_id, attempts").await?;
        let Some(row) = row else { return Ok(None) };
        let (account, task_id, image_id, attempts): (i64, String, String, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
        sqlx::query(
            "UPDATE image_scan_tasks SET status = 'SCANNING', started_at = COALESCE(started_at, $1) \
             WHERE task_id = $2 AND status = 'READY'",
        )
        .bind(now)
        .bind(&task_id)
        .execute(&self.pool)
        .await?;
        let t = sqlx::query("SELECT scan_vul, scan_virus, scan_risk FROM image_scan_tasks WHERE task_id = $1")
            .bind(&task_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(ImageScanClaim {
            account,
            task_id,
            image_id,
            attempts: u(attempts),
            scan_vul: t.try_get::<i64, _>(0)? != 0,
            scan_virus: t.try_get::<i64, _>(1)? != 0,
            scan_risk: t.try_get::<i64, _>(2)? != 0,
        }))
    }

    /// Records liveness and bytes read of a claimed row. False when the claim is lost (task
    /// stopped, or another worker took the row over): the worker must stop this image.
    pub async fn heartbeat_image_scan(&self, claim: &ImageScanClaim, worker: &str, bytes_done: u64) -> Result<bool, Error> {
        IMAGE_QUEUE.heartbeat(&self.pool, &claim.key(), worker, now_unix(), &[("bytes_done", Arg::Int(i(bytes_done)))]).await
    }

    /// Hands a claimed row back to the queue (its worker is stopping: SIGTERM): `pending` again, for any worker at
    /// once, and this attempt not counted toward the give-up limit (a graceful stop is not a failure). False when
    /// the claim was lost meanwhile (nothing changed).
    pub async fn release_image_scan(&self, claim: &ImageScanClaim, worker: &str) -> Result<bool, Error> {
        IMAGE_QUEUE.release(&self.pool, &claim.key(), worker).await
    }

    /// Finishes a claimed row: replaces the image's results (when `outcome` is given) and marks
    /// the row `done` (or `failed` with `error`) in one transaction, only while `worker` still
    /// owns it. Returns `None` when the claim was lost (nothing written), else whether this
    /// row was the task's last (the task is then `END`/`Success`).
    pub async fn finish_image_scan(
        &self,
        claim: &ImageScanClaim,
        worker: &str,
        outcome: Option<&ImageScanOutcome>,
        error: Option<&str>,
    ) -> Result<Option<bool>, Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let state = if error.is_some() { "failed" } else { "done" };
        let set = [("error", Arg::Text(error.unwrap_or(""))), ("risk_count", Arg::Int(i(outcome.map_or(0, |o| o.risk_count))))];
        if !IMAGE_QUEUE.finish(&mut *tx, &claim.key(), worker, state, now, &set).await? {
            return Ok(None);
        }
        if let Some(o) = outcome {
            write_outcome(&mut tx, claim.account, &claim.image_id, &claim.task_id, now, o).await?;
        }
        let ended = end_task_if_drained(&mut tx, &claim.task_id, now).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::scan_summary::FindingKind;

    #[tokio::test]
    async fn queue_lifecycle_and_lost_claims() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            let new =
                NewImageScanTask { scan_risk: true, images: vec![("sha256:1".into(), 10), ("sha256:2".into(), 30)], ..Default::default() };
            let CreatedTask::Created(id) = s.create_image_scan_task(a, &new).await.unwrap() else { panic!() };
            assert_eq!(s.create_image_scan_task(a, &new).await.unwrap(), CreatedTask::AlreadyRunning(id.clone()));
            assert_eq!(s.image_scan_task(a, None).await.unwrap().unwrap().status, "READY");

            let c1 = s.claim_image_scan("w1", 0).await.unwrap().unwrap();
            assert_eq!((c1.image_id.as_str(), c1.attempts, c1.scan_risk), ("sha256:1", 1, true));
            assert_eq!(s.image_scan_task(a, Some(&id)).await.unwrap().unwrap().status, "SCANNING");
            // The worker dies: a stale row is claimed again by another worker, attempts counted.
            let c1b = s.claim_image_scan("w2", now_unix() + 1).await.unwrap().unwrap();
            assert_eq!((c1b.image_id.as_str(), c1b.attempts), ("sha256:1", 2));
            // The dead worker's late write is refused and changes nothing.
            let o = ImageScanOutcome {
                summary: "{}".into(),
                kinds: vec![FindingKind::Risk],
                findings: vec![(FindingKind::Risk, "{\"a\":1}".into())],
                risk_count: 1,
            };
            assert!(!s.heartbeat_image_scan(&c1, "w1", 5).await.unwrap());
            assert_eq!(s.finish_image_scan(&c1, "w1", Some(&o), None).await.unwrap(), None);
            assert!(s.image_findings(a, "sha256:1", FindingKind::Risk).await.unwrap().is_empty());
            // The owner finishes it.
            assert_eq!(s.finish_image_scan(&c1b, "w2", Some(&o), None).await.unwrap(), Some(false));
            assert_eq!(s.image_findings(a, "sha256:1", FindingKind::Risk).await.unwrap().len(), 1);
            let p = s.image_scan_progress(a, &id).await.unwrap();
            assert_eq!((p.total, p.done, p.risk_count, p.bytes_total, p.bytes_done), (2, 1, 1, 40, 10));

            // A rescan replaces, never duplicates.
            let c2 = s.claim_image_scan("w2", 0).await.unwrap().unwrap();
            assert_eq!(c2.image_id, "sha256:2");
            assert!(s.heartbeat_image_scan(&c2, "w2", 15).await.unwrap());
            assert_eq!(s.image_scan_progress(a, &id).await.unwrap().bytes_done, 25);
            assert_eq!(s.finish_image_scan(&c2, "w2", None, Some("boom")).await.unwrap(), Some(true));
            let t = s.image_scan_task(a, Some(&id)).await.unwrap().unwrap();
            assert_eq!((t.status.as_str(), t.sub_status.as_str()), ("END", "Success"));
            assert!(s.claim_image_scan("w3", i64::MAX).await.unwrap().is_none());

            let CreatedTask::Created(id2) = s.create_image_scan_task(a, &new).await.unwrap() else { panic!() };
            let c = s.claim_image_scan("w1", 0).await.unwrap().unwrap();
            let o2 = ImageScanOutcome {
                summary: "{}".into(),
                kinds: vec![FindingKind::Risk],
                findings: vec![(FindingKind::Risk, "{\"b\":2}".into())],
                risk_count: 1,
            };
            s.finish_image_scan(&c, "w1", Some(&o2), None).await.unwrap();
            assert_eq!(s.image_findings(a, "sha256:1", FindingKind::Risk).await.unwrap(), vec!["{\"b\":2}".to_string()]);
            // Stop: the rest is cancelled, finished results kept, stopping twice is a no-op.
            let c = s.claim_image_scan("w1", 0).await.unwrap().unwrap();
            assert!(s.stop_image_scan_task(a, &id2, "Cancel").await.unwrap());
            assert!(!s.stop_image_scan_task(a, &id2, "Cancel").await.unwrap());
            assert!(!s.heartbeat_image_scan(&c, "w1", 1).await.unwrap());
            assert_eq!(s.finish_image_scan(&c, "w1", Some(&o2), None).await.unwrap(), None);
            let p = s.image_scan_progress(a, &id2).await.unwrap();
            assert_eq!((p.done, p.cancelled, p.finished), (1, 1, 2));
            assert_eq!(s.image_scan_task(a, None).await.unwrap().unwrap().sub_status, "Cancel");
            assert!(s.image_scan_result(a, "sha256:1").await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn released_claim_is_pending_again_and_not_an_attempt() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            let new = NewImageScanTask { scan_risk: true, images: vec![("sha256:1".into(), 10)], ..Default::default() };
            let CreatedTask::Created(id) = s.create_image_scan_task(a, &new).await.unwrap() else { panic!() };
            let c = s.claim_image_scan("w1", 0).await.unwrap().unwrap();
            assert!(s.heartbeat_image_scan(&c, "w1", 5).await.unwrap());
            // Only the owner hands it back.
            assert!(!s.release_image_scan(&c, "w2").await.unwrap());
            assert!(s.release_image_scan(&c, "w1").await.unwrap());
            assert!(!s.release_image_scan(&c, "w1").await.unwrap());
            // The old claim is dead; the row is claimable at once (not only once stale), as the same attempt.
            assert!(!s.heartbeat_image_scan(&c, "w1", 6).await.unwrap());
            let o = ImageScanOutcome { summary: "{}".into(), ..Default::default() };
            assert_eq!(s.finish_image_scan(&c, "w1", Some(&o), None).await.unwrap(), None);
            let p = s.image_scan_progress(a, &id).await.unwrap();
            assert_eq!((p.total, p.done, p.bytes_done), (1, 0, 0));
            let again = s.claim_image_scan("w2", 0).await.unwrap().unwrap();
            assert_eq!((again.image_id.as_str(), again.attempts), ("sha256:1", 1));
            assert_eq!(s.finish_image_scan(&again, "w2", Some(&o), None).await.unwrap(), Some(true));
            let t = s.image_scan_task(a, Some(&id)).await.unwrap().unwrap();
            assert_eq!((t.status.as_str(), t.sub_status.as_str()), ("END", "Success"));
        }
    }
}
