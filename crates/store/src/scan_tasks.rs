//! Image inventory, image scan tasks and their durable queue, and the latest results per image.
//!
//! A task is one row in `image_scan_tasks` plus one `image_scan_queue` row per image. Workers
//! claim queue rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several workers can share the
//! queue; SQLite: one `UPDATE … RETURNING` statement, SQLite serialises writers), heartbeat
//! them, and finish them by replacing the image's results in the same transaction that marks
//! the row done, and only while they still own the row: a worker killed mid-image leaves a
//! stale heartbeat, the row is claimed again and the image rescanned, never half-written nor
//! written twice. Finding rows are opaque JSON to the store (`scan` writes them, `service`
//! reads them).

use model::AccountId;
use model::scan_summary::FindingKind;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::queue::{Arg, Queue};
use crate::{Backend, Error, ImageScanSetting, Store, now_unix};

/// The image queue: one row per (task, image), in task then image order.
pub(crate) const IMAGE_QUEUE: Queue = Queue {
    table: "image_scan_queue",
    key: &["task_id", "image_id"],
    order: "seq",
    on_claim: "bytes_done = 0, started_at = COALESCE(started_at, $2)",
    on_release: "bytes_done = 0",
};

/// An image the account sees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageAsset {
    /// Config digest `sha256:…`.
    pub image_id: String,
    /// All repo tags (`repo:tag`); empty for an untagged image.
    pub names: Vec<String>,
    pub repo_digests: Vec<String>,
    pub size: u64,
    /// RFC 3339 creation time from the image config, empty when unknown.
    pub created: String,
    pub os: String,
    pub architecture: String,
    pub author: String,
    /// Build history, one line per step.
    pub history: String,
    /// Layer diff-ids, bottom first (lets a scan find every layer cached without exporting).
    pub layers: Vec<String>,
    pub container_cnt: u64,
    pub running_cnt: u64,
    /// Where the image was seen, sorted: `docker` (the Docker Engine) and/or
    /// `registry:HOST` (a configured registry). One asset per image id across all of them.
    pub sources: Vec<String>,
}

impl ImageAsset {
    /// Whether the image was seen in `source`.
    pub fn seen_in(&self, source: &str) -> bool {
        self.sources.iter().any(|s| s == source)
    }
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

/// An account's schedule input: its settings, when they were saved, the last fired slot.
#[derive(Debug, Clone)]
pub struct ImageScanSchedule {
    pub account: AccountId,
    pub setting: ImageScanSetting,
    pub updated_at: i64,
    pub last_slot: Option<i64>,
}

fn json_list(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}

fn parse_list(table: &'static str, text: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt { table, reason: format!("list column: {e}") })
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn asset_from_row(r: &AnyRow) -> Result<ImageAsset, Error> {
    Ok(ImageAsset {
        image_id: r.try_get(0)?,
        names: parse_list("image_assets", &r.try_get::<String, _>(1)?)?,
        repo_digests: parse_list("image_assets", &r.try_get::<String, _>(2)?)?,
        size: u(r.try_get(3)?),
        created: r.try_get(4)?,
        os: r.try_get(5)?,
        architecture: r.try_get(6)?,
        author: r.try_get(7)?,
        history: r.try_get(8)?,
        container_cnt: u(r.try_get(9)?),
        running_cnt: u(r.try_get(10)?),
        sources: vec![r.try_get(11)?],
        layers: parse_list("image_assets", &r.try_get::<String, _>(12)?)?,
    })
}

const ASSET_COLS: &str =
    "image_id, names, repo_digests, size, created, os, architecture, author, history, container_cnt, running_cnt, source, layers";

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

/// Folds per-source rows (sorted by image id, then source) into one asset per image: names,
/// digests and sources united in that order; container counts added (only the Docker Engine
/// reports any); the rest comes from the config, the same bytes wherever the image is.
fn merge_sources(rows: Vec<ImageAsset>) -> Vec<ImageAsset> {
    let mut out: Vec<ImageAsset> = Vec::with_capacity(rows.len());
    for r in rows {
        match out.last_mut() {
            Some(m) if m.image_id == r.image_id => {
                // Rows come by source name, so the Docker Engine's names lead (`ImageName`
                // shows the local name when there is one).
                for (into, from) in [(&mut m.names, r.names), (&mut m.repo_digests, r.repo_digests), (&mut m.sources, r.sources)] {
                    for x in from {
                        if !into.contains(&x) {
                            into.push(x);
                        }
                    }
                }
                m.container_cnt += r.container_cnt;
                m.running_cnt += r.running_cnt;
                // The engine's size (uncompressed) when it has the image; a registry's is the
                // compressed blob sum.
                if m.size == 0 {
                    m.size = r.size;
                }
                for (into, from) in [
                    (&mut m.created, r.created),
                    (&mut m.os, r.os),
                    (&mut m.architecture, r.architecture),
                    (&mut m.author, r.author),
                    (&mut m.history, r.history),
                ] {
                    if into.is_empty() {
                        *into = from;
                    }
                }
                if m.layers.is_empty() {
                    m.layers = r.layers;
                }
            }
            _ => out.push(r),
        }
    }
    out
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Inserts or refreshes one inventory row of `source`.
pub(crate) async fn upsert_asset_row(tx: &mut Tx, account: AccountId, source: &str, a: &ImageAsset, seen_at: i64) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO image_assets (account_id, image_id, names, repo_digests, size, created, os, architecture, \
         author, history, container_cnt, running_cnt, source, seen_at, layers) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (account_id, image_id, source) DO UPDATE SET names = excluded.names, \
         repo_digests = excluded.repo_digests, size = excluded.size, created = excluded.created, \
         os = excluded.os, architecture = excluded.architecture, author = excluded.author, \
         history = excluded.history, container_cnt = excluded.container_cnt, \
         running_cnt = excluded.running_cnt, seen_at = excluded.seen_at, \
         layers = excluded.layers",
    )
    .bind(account)
    .bind(&a.image_id)
    .bind(json_list(&a.names))
    .bind(json_list(&a.repo_digests))
    .bind(i(a.size))
    .bind(&a.created)
    .bind(&a.os)
    .bind(&a.architecture)
    .bind(&a.author)
    .bind(&a.history)
    .bind(i(a.container_cnt))
    .bind(i(a.running_cnt))
    .bind(source)
    .bind(seen_at)
    .bind(json_list(&a.layers))
    .execute(&mut **tx)
    .await?;
    Ok(())
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

pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Ends the task (`Success` when some image is done, else `Error`) once none of its rows is
/// still to scan: pending, running, or waiting for a node agent (`node`). True when it ended now.
pub(crate) async fn end_task_if_drained(tx: &mut sqlx::Transaction<'static, sqlx::Any>, task_id: &str, now: i64) -> Result<bool, Error> {
    let ended = sqlx::query(
        "UPDATE image_scan_tasks SET status = 'END', \
         sub_status = CASE WHEN EXISTS (SELECT 1 FROM image_scan_queue WHERE task_id = $1 AND state = 'done') \
                      THEN 'Success' ELSE 'Error' END, finished_at = $2 \
         WHERE task_id = $1 AND status <> 'END' AND NOT EXISTS \
         (SELECT 1 FROM image_scan_queue WHERE task_id = $1 AND state IN ('pending', 'running', 'node'))",
    )
    .bind(task_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(ended == 1)
}

impl Store {
    /// Every account id (the inventory of the server's Docker Engine is shared by all).
    pub async fn account_ids(&self) -> Result<Vec<AccountId>, Error> {
        let rows = sqlx::query("SELECT app_id FROM accounts ORDER BY app_id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| r.try_get::<i64, _>(0).map_err(Error::from)).collect()
    }

    /// Makes the account's images of `source` exactly `assets` (insert, update, delete), in one
    /// transaction.
    pub async fn sync_image_assets(&self, account: AccountId, source: &str, assets: &[ImageAsset]) -> Result<(), Error> {
        // Microseconds: two refreshes within one second must still tell old rows from new.
        let now = now_micros();
        let mut tx = self.begin_write().await?;
        for a in assets {
            upsert_asset_row(&mut tx, account, source, a, now).await?;
        }
        sqlx::query("DELETE FROM image_assets WHERE account_id = $1 AND source = $2 AND seen_at <> $3")
            .bind(account)
            .bind(source)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every inventory source with rows, over all accounts.
    pub async fn image_asset_sources(&self) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT DISTINCT source FROM image_assets ORDER BY source").fetch_all(&self.pool).await?;
        rows.iter().map(|r| r.try_get::<String, _>(0).map_err(Error::from)).collect()
    }

    /// Deletes every row of `source` (a registry no longer configured), all accounts.
    pub async fn forget_image_asset_source(&self, source: &str) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM image_assets WHERE source = $1").bind(source).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// All images of the account, by image id, each merged over the sources it was seen in.
    pub async fn image_assets(&self, account: AccountId) -> Result<Vec<ImageAsset>, Error> {
        let rows = sqlx::query(&format!("SELECT {ASSET_COLS} FROM image_assets WHERE account_id = $1 ORDER BY image_id, source"))
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        Ok(merge_sources(rows.iter().map(asset_from_row).collect::<Result<_, _>>()?))
    }

    pub async fn image_asset(&self, account: AccountId, image_id: &str) -> Result<Option<ImageAsset>, Error> {
        let rows = sqlx::query(&format!("SELECT {ASSET_COLS} FROM image_assets WHERE account_id = $1 AND image_id = $2 ORDER BY source"))
            .bind(account)
            .bind(image_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(merge_sources(rows.iter().map(asset_from_row).collect::<Result<_, _>>()?).pop())
    }

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
        let rows = sqlx::query(
            "SELECT q.image_id, q.state FROM image_scan_queue q JOIN image_scan_tasks t ON t.task_id = q.task_id \
             WHERE q.account_id = $1 AND t.status <> 'END' AND q.state IN ('pending', 'running', 'node')",
        )
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
        sqlx::query(
            "UPDATE image_scan_queue SET state = 'cancelled', finished_at = $1 \
             WHERE account_id = $2 AND task_id = $3 AND state IN ('pending', 'running', 'node')",
        )
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
        for id in image_ids {
            n += sqlx::query(
                "UPDATE image_scan_queue SET state = 'cancelled', finished_at = $1 \
                 WHERE account_id = $2 AND task_id = $3 AND image_id = $4 AND state IN ('pending', 'running', 'node')",
            )
            .bind(now)
            .bind(account)
            .bind(task_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        sqlx::query(
            "UPDATE image_scan_tasks SET status = 'END', sub_status = 'Cancel', finished_at = $1 \
             WHERE account_id = $2 AND task_id = $3 AND status <> 'END' AND NOT EXISTS \
             (SELECT 1 FROM image_scan_queue WHERE task_id = $3 AND state IN ('pending', 'running', 'node'))",
        )
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

    /// Accounts with scheduled scans enabled, with what the scheduler needs.
    pub async fn image_scan_schedules(&self) -> Result<Vec<ImageScanSchedule>, Error> {
        let rows = sqlx::query(
            "SELECT s.account_id, s.updated_at, c.last_slot FROM image_scan_settings s \
             LEFT JOIN image_scan_schedule c ON c.account_id = s.account_id WHERE s.enable = 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let account: i64 = r.try_get(0)?;
            if let Some(setting) = self.image_scan_setting(account).await? {
                out.push(ImageScanSchedule { account, setting, updated_at: r.try_get(1)?, last_slot: r.try_get(2)? });
            }
        }
        Ok(out)
    }

    /// Remembers the slot the scheduler fired for the account.
    pub async fn set_image_scan_last_slot(&self, account: AccountId, slot: i64) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO image_scan_schedule (account_id, last_slot) VALUES ($1, $2) \
             ON CONFLICT (account_id) DO UPDATE SET last_slot = excluded.last_slot",
        )
        .bind(account)
        .bind(slot)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

// TCSS time format: one definition in `model`, re-exported for the store's callers.
pub use model::format_utc;

#[cfg(test)]
mod tests {
    use super::*;

    async fn stores(dir: &std::path::Path) -> Vec<(Store, AccountId)> {
        crate::testing::stores_with_account(dir).await
    }

    fn asset(id: &str, name: &str) -> ImageAsset {
        ImageAsset { image_id: id.into(), names: vec![name.into()], size: 100, sources: vec!["docker".into()], ..Default::default() }
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00");
    }

    #[tokio::test]
    async fn inventory_sync_replaces() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in stores(dir.path()).await {
            s.sync_image_assets(a, "docker", &[asset("sha256:1", "a:1"), asset("sha256:2", "b:1")]).await.unwrap();
            assert_eq!(s.image_assets(a).await.unwrap().len(), 2);
            // A second refresh (within the same second) deletes what vanished.
            s.sync_image_assets(a, "docker", &[asset("sha256:2", "b:2")]).await.unwrap();
            let all = s.image_assets(a).await.unwrap();
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].names, vec!["b:2".to_string()]);
            // Another account sees nothing.
            let other = s.create_account().await.unwrap().app_id;
            assert!(s.image_assets(other).await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn one_asset_per_image_across_sources() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in stores(dir.path()).await {
            let mut docker = asset("sha256:1", "app:1");
            docker.container_cnt = 2;
            docker.running_cnt = 1;
            s.sync_image_assets(a, "docker", &[docker, asset("sha256:2", "b:1")]).await.unwrap();
            let mut reg = asset("sha256:1", "reg:5000/app:1");
            reg.repo_digests = vec!["reg:5000/app@sha256:m".into()];
            s.sync_image_assets(a, "registry:reg:5000", &[reg, asset("sha256:3", "reg:5000/only:1")]).await.unwrap();
            let all = s.image_assets(a).await.unwrap();
            assert_eq!(all.iter().map(|x| x.image_id.as_str()).collect::<Vec<_>>(), ["sha256:1", "sha256:2", "sha256:3"]);
            let both = &all[0];
            assert_eq!(both.names, ["app:1", "reg:5000/app:1"]);
            assert_eq!(both.sources, ["docker", "registry:reg:5000"]);
            assert_eq!(both.repo_digests, ["reg:5000/app@sha256:m"]);
            assert_eq!((both.container_cnt, both.running_cnt), (2, 1));
            assert_eq!(s.image_asset(a, "sha256:1").await.unwrap().as_ref(), Some(both));
            // A registry refresh that no longer sees the image leaves the Docker row alone.
            s.sync_image_assets(a, "registry:reg:5000", &[asset("sha256:3", "reg:5000/only:1")]).await.unwrap();
            let one = s.image_asset(a, "sha256:1").await.unwrap().unwrap();
            assert_eq!((one.names.as_slice(), one.sources.as_slice()), (&["app:1".to_string()][..], &["docker".to_string()][..]));
            s.sync_image_assets(a, "docker", &[]).await.unwrap();
            let left = s.image_assets(a).await.unwrap();
            assert_eq!(left.iter().map(|x| x.image_id.as_str()).collect::<Vec<_>>(), ["sha256:3"]);
            assert_eq!(s.image_asset_sources().await.unwrap(), ["registry:reg:5000"]);
            assert_eq!(s.forget_image_asset_source("registry:reg:5000").await.unwrap(), 1);
            assert!(s.image_assets(a).await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn queue_lifecycle_and_lost_claims() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in stores(dir.path()).await {
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
        for (s, a) in stores(dir.path()).await {
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
