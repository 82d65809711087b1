//! Compliance: the assets discovery saw (each with a stable integer CustomerAssetId), the latest
//! result per (asset, item), durable check tasks, whitelist entries and periodic task rules.
//!
//! A task is one `compliance_tasks` row claimed whole by a worker through [`crate::queue`]. Results
//! are written per asset while the claim is held, so a worker killed mid-task leaves a stale
//! heartbeat, the task is claimed again and re-run; results are keyed by (asset, item) and
//! replaced, never duplicated. The store knows nothing of Rego or Docker:
//! `scan::compliance` decides what to check and `service` what to show.

use model::AccountId;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::queue::{Arg, Queue};
use crate::{Error, Store, now_unix};

/// The task queue: a task is claimed whole, oldest first.
const COMPLIANCE_QUEUE: Queue = Queue {
    table: "compliance_tasks",
    key: &["task_id"],
    order: "task_id",
    on_claim: "done_cnt = 0, started_at = COALESCE(started_at, $2)",
    on_release: "done_cnt = 0",
};

/// An asset as discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredAsset {
    pub asset_type: String,
    pub key: String,
    pub name: String,
    /// JSON object of display details (image tag, host ip, versions...).
    pub info: String,
}

/// An asset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceAsset {
    pub asset_id: u64,
    pub asset_type: String,
    pub key: String,
    pub name: String,
    pub info: String,
    /// False once discovery stopped seeing it (kept: its results stay readable).
    pub present: bool,
    pub created_at: i64,
    pub seen_at: i64,
    /// The node agent's node id for an asset an agent reported; empty for the server's own.
    pub node_id: String,
}

/// The latest outcome of one item on one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceResult {
    pub asset_id: u64,
    pub item_id: u64,
    /// `CHECK_RUNNING`, `CHECK_FINISHED`, `CHECK_FAILED` or `NOT_APPLICABLE`.
    pub status: String,
    /// `RESULT_PASSED`, `RESULT_FAILED`, or empty.
    pub result: String,
    pub reason: String,
    /// JSON evidence.
    pub evidence: String,
    pub checked_at: i64,
    pub task_id: u64,
}

impl ComplianceResult {
    /// The stored row of one item's outcome (as `compliance::Evaluation::item_report` or a node
    /// agent's report gives it) on `asset_id`, for `task_id` (0: no task, an agent's own check).
    pub fn from_report(asset_id: u64, task_id: u64, r: model::node::ComplianceItemReport) -> ComplianceResult {
        ComplianceResult {
            asset_id,
            item_id: r.item_id,
            status: r.status,
            result: r.result,
            reason: r.reason,
            evidence: r.evidence.to_string(),
            checked_at: r.checked_at,
            task_id,
        }
    }
}

/// A queued or finished check task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceTask {
    pub task_id: u64,
    pub account: AccountId,
    /// What asked for it (`assets`, `by_item`, `failed`, `items`, `periodic`).
    pub kind: String,
    /// Asset types the task covers (JSON list).
    pub asset_types: Vec<String>,
    /// What to check: items per asset.
    pub targets: Vec<Target>,
    /// `pending`, `running` or `done`.
    pub state: String,
    pub attempts: u64,
    pub total: u64,
    pub done: u64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: String,
}

/// The items one task checks on one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub asset_id: u64,
    pub items: Vec<u64>,
}

fn targets_json(targets: &[Target]) -> String {
    let v: Vec<serde_json::Value> = targets.iter().map(|t| serde_json::json!([t.asset_id, t.items])).collect();
    serde_json::Value::from(v).to_string()
}

fn parse_targets(text: &str) -> Result<Vec<Target>, Error> {
    let v: Vec<(u64, Vec<u64>)> = serde_json::from_str(text).map_err(|e| corrupt("compliance_tasks", e))?;
    Ok(v.into_iter().map(|(asset_id, items)| Target { asset_id, items }).collect())
}

/// A whitelist entry: the item is ignored on `asset_id`, or on every asset when it is 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhitelistEntry {
    pub whitelist_id: u64,
    pub item_id: u64,
    pub asset_id: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored periodic task rule of one asset type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodTask {
    pub asset_type: String,
    /// Days between runs.
    pub frequency: u64,
    /// `HH:MM:SS` (UTC).
    pub execution_time: String,
    pub enable: bool,
    /// Benchmark standard ids switched off (JSON list of integers).
    pub disabled_standards: Vec<u64>,
    /// Unix time of the last run (0: never).
    pub last_trigger: i64,
    /// When the rule was last saved (runs start with the first slot after it).
    pub saved_at: i64,
}

impl PeriodTask {
    /// A periodic task nobody configured: off, daily at 02:00 UTC, every standard on.
    pub fn defaults(asset_type: &str) -> PeriodTask {
        PeriodTask {
            asset_type: asset_type.to_string(),
            frequency: 1,
            execution_time: "02:00:00".into(),
            enable: false,
            disabled_standards: Vec::new(),
            last_trigger: 0,
            saved_at: 0,
        }
    }
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn corrupt(table: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt { table, reason: e.to_string() }
}

const ASSET_COLS: &str = "asset_id, asset_type, asset_key, name, info, present, created_at, seen_at, node_id";
const RESULT_COLS: &str = "asset_id, item_id, status, result, reason, evidence, checked_at, task_id";
const TASK_COLS: &str = "task_id, account_id, kind, asset_types, targets, state, attempts, total, done_cnt, created_at, \
                         started_at, finished_at, error";

fn asset_row(r: &AnyRow) -> Result<ComplianceAsset, Error> {
    Ok(ComplianceAsset {
        asset_id: u(r.try_get(0)?),
        asset_type: r.try_get(1)?,
        key: r.try_get(2)?,
        name: r.try_get(3)?,
        info: r.try_get(4)?,
        present: r.try_get::<i64, _>(5)? != 0,
        created_at: r.try_get(6)?,
        seen_at: r.try_get(7)?,
        node_id: r.try_get(8)?,
    })
}

fn result_row(r: &AnyRow) -> Result<ComplianceResult, Error> {
    Ok(ComplianceResult {
        asset_id: u(r.try_get(0)?),
        item_id: u(r.try_get(1)?),
        status: r.try_get(2)?,
        result: r.try_get(3)?,
        reason: r.try_get(4)?,
        evidence: r.try_get(5)?,
        checked_at: r.try_get(6)?,
        task_id: u(r.try_get(7)?),
    })
}

fn task_row(r: &AnyRow) -> Result<ComplianceTask, Error> {
    let types: String = r.try_get(3)?;
    Ok(ComplianceTask {
        task_id: u(r.try_get(0)?),
        account: r.try_get(1)?,
        kind: r.try_get(2)?,
        asset_types: serde_json::from_str(&types).map_err(|e| corrupt("compliance_tasks", e))?,
        targets: parse_targets(&r.try_get::<String, _>(4)?)?,
        state: r.try_get(5)?,
        attempts: u(r.try_get(6)?),
        total: u(r.try_get(7)?),
        done: u(r.try_get(8)?),
        created_at: r.try_get(9)?,
        started_at: r.try_get(10)?,
        finished_at: r.try_get(11)?,
        error: r.try_get(12)?,
    })
}

/// Upserts `assets` of the node `node_id` ('' = the server's own discovery) and marks absent the
/// node's other assets of `asset_types` (every type when empty).
async fn upsert_assets(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: AccountId,
    node_id: &str,
    asset_types: &[&str],
    assets: &[DiscoveredAsset],
) -> Result<(), Error> {
    let now = now_unix();
    if asset_types.is_empty() {
        sqlx::query("UPDATE compliance_assets SET present = 2 WHERE account_id = $1 AND node_id = $2 AND present = 1")
            .bind(account)
            .bind(node_id)
            .execute(&mut **tx)
            .await?;
    }
    for t in asset_types {
        sqlx::query("UPDATE compliance_assets SET present = 2 WHERE account_id = $1 AND asset_type = $2 AND node_id = $3 AND present = 1")
            .bind(account)
            .bind(*t)
            .bind(node_id)
            .execute(&mut **tx)
            .await?;
    }
    for a in assets {
        sqlx::query(
            "INSERT INTO compliance_assets (account_id, asset_type, asset_key, name, info, present, created_at, seen_at, node_id) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7) \
             ON CONFLICT (account_id, asset_type, asset_key) DO UPDATE SET name = excluded.name, \
             info = excluded.info, present = 1, seen_at = excluded.seen_at",
        )
        .bind(account)
        .bind(&a.asset_type)
        .bind(&a.key)
        .bind(&a.name)
        .bind(&a.info)
        .bind(now)
        .bind(node_id)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE compliance_assets SET present = 0 WHERE account_id = $1 AND present = 2").bind(account).execute(&mut **tx).await?;
    Ok(())
}

/// Replaces the stored result of one (asset, item).
async fn upsert_result(tx: &mut sqlx::Transaction<'_, sqlx::Any>, account: AccountId, r: &ComplianceResult) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO compliance_results (account_id, asset_id, item_id, status, result, reason, evidence, checked_at, task_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (account_id, asset_id, item_id) DO UPDATE SET status = excluded.status, \
         result = excluded.result, reason = excluded.reason, evidence = excluded.evidence, \
         checked_at = excluded.checked_at, task_id = excluded.task_id",
    )
    .bind(account)
    .bind(i(r.asset_id))
    .bind(i(r.item_id))
    .bind(&r.status)
    .bind(&r.result)
    .bind(&r.reason)
    .bind(&r.evidence)
    .bind(r.checked_at)
    .bind(i(r.task_id))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Records what discovery saw for `asset_types`: new assets get an id, known ones are updated, and
    /// assets of those types not seen this time are marked absent (types whose listing failed are not
    /// passed here, so a daemon outage does not make assets vanish). The server's own discovery only:
    /// assets reported by node agents are theirs ([`Store::report_node_compliance`]).
    pub async fn sync_compliance_assets(&self, account: AccountId, asset_types: &[&str], assets: &[DiscoveredAsset]) -> Result<(), Error> {
        let mut tx = self.begin_write().await?;
        upsert_assets(&mut tx, account, "", asset_types, assets).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records one compliance report of a node agent, in one transaction: the node's assets are
    /// exactly those of `report` (others of the node marked absent, results kept), and each
    /// asset's results replace its stored ones (task 0: checked by the agent, not by a task).
    /// The results' `asset_id` is ignored (the store assigns it); keys must already be unique
    /// across nodes (the service prefixes them with the node id).
    pub async fn report_node_compliance(
        &self,
        account: AccountId,
        node_id: &str,
        report: &[(DiscoveredAsset, Vec<ComplianceResult>)],
    ) -> Result<(), Error> {
        if node_id.is_empty() {
            return Err(Error::Corrupt { table: "compliance_assets", reason: "a node report needs a node id".into() });
        }
        let assets: Vec<DiscoveredAsset> = report.iter().map(|(a, _)| a.clone()).collect();
        let mut tx = self.begin_write().await?;
        upsert_assets(&mut tx, account, node_id, &[], &assets).await?;
        for (a, results) in report {
            let row = sqlx::query("SELECT asset_id FROM compliance_assets WHERE account_id = $1 AND asset_type = $2 AND asset_key = $3")
                .bind(account)
                .bind(&a.asset_type)
                .bind(&a.key)
                .fetch_one(&mut *tx)
                .await?;
            let asset_id: i64 = row.try_get(0)?;
            for r in results {
                upsert_result(&mut tx, account, &ComplianceResult { asset_id: u(asset_id), task_id: 0, ..r.clone() }).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every asset of the account (present or not), by id.
    pub async fn compliance_assets(&self, account: AccountId) -> Result<Vec<ComplianceAsset>, Error> {
        let rows = sqlx::query(&format!("SELECT {ASSET_COLS} FROM compliance_assets WHERE account_id = $1 ORDER BY asset_id"))
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(asset_row).collect()
    }

    /// Every stored result of the account.
    pub async fn compliance_results(&self, account: AccountId) -> Result<Vec<ComplianceResult>, Error> {
        let rows = sqlx::query(&format!("SELECT {RESULT_COLS} FROM compliance_results WHERE account_id = $1 ORDER BY asset_id, item_id"))
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(result_row).collect()
    }

    /// Queues a task. Returns the integer TaskId.
    pub async fn create_compliance_task(
        &self,
        account: AccountId,
        kind: &str,
        asset_types: &[String],
        targets: &[Target],
    ) -> Result<u64, Error> {
        let total = targets.len() as u64;
        let targets = targets_json(targets);
        let types = serde_json::Value::from(asset_types.to_vec()).to_string();
        let row = sqlx::query(
            "INSERT INTO compliance_tasks (account_id, kind, asset_types, targets, state, attempts, total, done_cnt, \
             created_at, error) VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $6, '') RETURNING task_id",
        )
        .bind(account)
        .bind(kind)
        .bind(types)
        .bind(targets)
        .bind(i(total))
        .bind(now_unix())
        .fetch_one(&self.pool)
        .await?;
        Ok(u(row.try_get(0)?))
    }

    /// One task of the account, or its latest when `task_id` is None.
    pub async fn compliance_task(&self, account: AccountId, task_id: Option<u64>) -> Result<Option<ComplianceTask>, Error> {
        let row = match task_id {
            Some(id) => {
                sqlx::query(&format!("SELECT {TASK_COLS} FROM compliance_tasks WHERE account_id = $1 AND task_id = $2"))
                    .bind(account)
                    .bind(i(id))
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(&format!("SELECT {TASK_COLS} FROM compliance_tasks WHERE account_id = $1 ORDER BY task_id DESC LIMIT 1"))
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        row.as_ref().map(task_row).transpose()
    }

    /// The latest task of the account that covers `asset_type`.
    pub async fn latest_compliance_task_for(&self, account: AccountId, asset_type: &str) -> Result<Option<ComplianceTask>, Error> {
        // Few tasks per account matter: scan newest first and stop at the first match.
        let rows = sqlx::query(&format!("SELECT {TASK_COLS} FROM compliance_tasks WHERE account_id = $1 ORDER BY task_id DESC LIMIT 200"))
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        for r in &rows {
            let t = task_row(r)?;
            if t.asset_types.iter().any(|x| x == asset_type) {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// Claims the oldest pending task, or a running one whose worker stopped heartbeating before
    /// `stale_before`.
    pub async fn claim_compliance_task(&self, worker: &str, stale_before: i64) -> Result<Option<ComplianceTask>, Error> {
        let row = COMPLIANCE_QUEUE.claim(&self.pool, self.backend, worker, now_unix(), stale_before, TASK_COLS).await?;
        row.as_ref().map(task_row).transpose()
    }

    /// Records liveness and progress; false when the claim is lost.
    pub async fn heartbeat_compliance_task(&self, task_id: u64, worker: &str, done: u64) -> Result<bool, Error> {
        COMPLIANCE_QUEUE.heartbeat(&self.pool, &[Arg::Int(i(task_id))], worker, now_unix(), &[("done_cnt", Arg::Int(i(done)))]).await
    }

    /// Marks (asset, item) pairs CHECK_RUNNING (their last result stays until replaced).
    pub async fn mark_compliance_running(&self, account: AccountId, task_id: u64, pairs: &[(u64, u64)]) -> Result<(), Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        for (asset, item) in pairs {
            sqlx::query(
                "INSERT INTO compliance_results (account_id, asset_id, item_id, status, result, reason, evidence, checked_at, task_id) \
                 VALUES ($1, $2, $3, 'CHECK_RUNNING', '', '', 'null', $4, $5) \
                 ON CONFLICT (account_id, asset_id, item_id) DO UPDATE SET status = 'CHECK_RUNNING', task_id = excluded.task_id",
            )
            .bind(account)
            .bind(i(*asset))
            .bind(i(*item))
            .bind(now)
            .bind(i(task_id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the results of one asset's checked items, only while `worker` holds the task.
    /// False when the claim was lost (nothing written).
    pub async fn write_compliance_results(
        &self,
        task: &ComplianceTask,
        worker: &str,
        done: u64,
        results: &[ComplianceResult],
    ) -> Result<bool, Error> {
        let mut tx = self.begin_write().await?;
        let held = COMPLIANCE_QUEUE
            .heartbeat(&mut *tx, &[Arg::Int(i(task.task_id))], worker, now_unix(), &[("done_cnt", Arg::Int(i(done)))])
            .await?;
        if !held {
            return Ok(false);
        }
        for r in results {
            upsert_result(&mut tx, task.account, r).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Ends a claimed task (with `error` when it could not run at all).
    pub async fn finish_compliance_task(&self, task_id: u64, worker: &str, error: &str) -> Result<bool, Error> {
        let set = [("error", Arg::Text(error)), ("done_cnt", Arg::Sql("total"))];
        COMPLIANCE_QUEUE.finish(&self.pool, &[Arg::Int(i(task_id))], worker, "done", now_unix(), &set).await
    }

    /// Whitelist entries of the account.
    pub async fn compliance_whitelist(&self, account: AccountId) -> Result<Vec<WhitelistEntry>, Error> {
        let rows = sqlx::query(
            "SELECT whitelist_id, item_id, asset_id, created_at, updated_at FROM compliance_whitelist \
             WHERE account_id = $1 ORDER BY whitelist_id",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WhitelistEntry {
                    whitelist_id: u(r.try_get(0)?),
                    item_id: u(r.try_get(1)?),
                    asset_id: u(r.try_get(2)?),
                    created_at: r.try_get(3)?,
                    updated_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Adds (item, asset) entries in one transaction; existing ones are refreshed, not duplicated.
    pub async fn add_compliance_whitelist(&self, account: AccountId, entries: &[(u64, u64)]) -> Result<(), Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        for (item, asset) in entries {
            sqlx::query(
                "INSERT INTO compliance_whitelist (account_id, item_id, asset_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (account_id, item_id, asset_id) DO UPDATE SET updated_at = excluded.updated_at",
            )
            .bind(account)
            .bind(i(*item))
            .bind(i(*asset))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes entries by id, or by (item, asset) pairs, in one transaction. Returns rows removed.
    pub async fn delete_compliance_whitelist(&self, account: AccountId, ids: &[u64], pairs: &[(u64, u64)]) -> Result<u64, Error> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for id in ids {
            n += sqlx::query("DELETE FROM compliance_whitelist WHERE account_id = $1 AND whitelist_id = $2")
                .bind(account)
                .bind(i(*id))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        for (item, asset) in pairs {
            n += sqlx::query("DELETE FROM compliance_whitelist WHERE account_id = $1 AND item_id = $2 AND asset_id = $3")
                .bind(account)
                .bind(i(*item))
                .bind(i(*asset))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Stored periodic task rules of the account (types without a row use the defaults).
    pub async fn compliance_period_tasks(&self, account: AccountId) -> Result<Vec<PeriodTask>, Error> {
        let rows = sqlx::query(
            "SELECT asset_type, frequency, execution_time, enable, disabled_standards, last_trigger, saved_at \
             FROM compliance_period_tasks WHERE account_id = $1 ORDER BY asset_type",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let disabled: String = r.try_get(4)?;
                Ok(PeriodTask {
                    asset_type: r.try_get(0)?,
                    frequency: u(r.try_get(1)?),
                    execution_time: r.try_get(2)?,
                    enable: r.try_get::<i64, _>(3)? != 0,
                    disabled_standards: serde_json::from_str(&disabled).map_err(|e| corrupt("compliance_period_tasks", e))?,
                    last_trigger: r.try_get(5)?,
                    saved_at: r.try_get(6)?,
                })
            })
            .collect()
    }

    pub async fn put_compliance_period_task(&self, account: AccountId, t: &PeriodTask) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO compliance_period_tasks (account_id, asset_type, frequency, execution_time, enable, disabled_standards, \
             last_trigger, saved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, asset_type) DO UPDATE SET \
             frequency = excluded.frequency, execution_time = excluded.execution_time, enable = excluded.enable, \
             disabled_standards = excluded.disabled_standards, last_trigger = excluded.last_trigger, saved_at = excluded.saved_at",
        )
        .bind(account)
        .bind(&t.asset_type)
        .bind(i(t.frequency))
        .bind(&t.execution_time)
        .bind(t.enable as i64)
        .bind(serde_json::Value::from(t.disabled_standards.clone()).to_string())
        .bind(t.last_trigger)
        .bind(t.saved_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn stores(dir: &std::path::Path) -> Vec<(Store, AccountId)> {
        crate::testing::stores_with_account(dir).await
    }

    fn asset(t: &str, key: &str) -> DiscoveredAsset {
        DiscoveredAsset { asset_type: t.into(), key: key.into(), name: key.into(), info: "{}".into() }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn asset_ids_are_stable_and_absence_is_per_type() {
        let dir = tempfile::tempdir().unwrap();
        for (s, acc) in stores(dir.path()).await {
            s.sync_compliance_assets(acc, &["ASSET_CONTAINER", "ASSET_HOST"], &[asset("ASSET_CONTAINER", "c1"), asset("ASSET_HOST", "h")])
                .await
                .unwrap();
            let first = s.compliance_assets(acc).await.unwrap();
            assert_eq!(first.len(), 2);
            // c1 gone, c2 new; the host type was not listed this time, so it stays present.
            s.sync_compliance_assets(acc, &["ASSET_CONTAINER"], &[asset("ASSET_CONTAINER", "c2")]).await.unwrap();
            s.sync_compliance_assets(acc, &["ASSET_CONTAINER"], &[asset("ASSET_CONTAINER", "c2"), asset("ASSET_CONTAINER", "c1")])
                .await
                .unwrap();
            let now = s.compliance_assets(acc).await.unwrap();
            let id = |k: &str, v: &[ComplianceAsset]| v.iter().find(|a| a.key == k).map(|a| (a.asset_id, a.present));
            assert_eq!(id("c1", &now).unwrap().0, id("c1", &first).unwrap().0, "an asset keeps its id");
            assert!(id("h", &now).unwrap().1);
            assert_eq!(now.len(), 3);
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn node_reports_touch_only_their_node() {
        let dir = tempfile::tempdir().unwrap();
        for (s, acc) in stores(dir.path()).await {
            let r = |item: u64, result: &str| ComplianceResult {
                asset_id: 0,
                item_id: item,
                status: "CHECK_FINISHED".into(),
                result: result.into(),
                reason: String::new(),
                evidence: "{}".into(),
                checked_at: 1,
                task_id: 99,
            };
            s.sync_compliance_assets(acc, &["ASSET_CONTAINER"], &[asset("ASSET_CONTAINER", "local")]).await.unwrap();
            s.report_node_compliance(acc, "n1", &[(asset("ASSET_CONTAINER", "n1/c"), vec![r(2001, "RESULT_FAILED")])]).await.unwrap();
            s.report_node_compliance(acc, "n2", &[(asset("ASSET_CONTAINER", "n2/c"), vec![r(2001, "RESULT_PASSED")])]).await.unwrap();
            // The server's discovery does not see the nodes' assets go, nor one node another's.
            s.sync_compliance_assets(acc, &["ASSET_CONTAINER"], &[asset("ASSET_CONTAINER", "local")]).await.unwrap();
            s.report_node_compliance(acc, "n2", &[]).await.unwrap();
            let assets = s.compliance_assets(acc).await.unwrap();
            let by_key = |k: &str| assets.iter().find(|a| a.key == k).unwrap().clone();
            assert!(by_key("local").present && by_key("n1/c").present && !by_key("n2/c").present);
            assert_eq!((by_key("n1/c").node_id.as_str(), by_key("local").node_id.as_str()), ("n1", ""));
            let results = s.compliance_results(acc).await.unwrap();
            assert_eq!(results.len(), 2, "an absent asset keeps its results");
            let n1 = results.iter().find(|x| x.asset_id == by_key("n1/c").asset_id).unwrap();
            assert_eq!((n1.result.as_str(), n1.task_id), ("RESULT_FAILED", 0), "an agent's result belongs to no task");
            assert!(s.report_node_compliance(acc, "", &[]).await.is_err(), "a report names its node");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lost_claim_writes_nothing_and_a_stale_task_is_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        for (s, acc) in stores(dir.path()).await {
            let id = s
                .create_compliance_task(acc, "assets", &["ASSET_HOST".into()], &[Target { asset_id: 1, items: vec![2001] }])
                .await
                .unwrap();
            let t = s.claim_compliance_task("w1", 0).await.unwrap().unwrap();
            assert_eq!(t.task_id, id);
            assert!(s.claim_compliance_task("w2", 0).await.unwrap().is_none(), "a live claim is not taken");
            // w1 stops heartbeating: with a stale cut-off in the future, w2 takes the task over.
            let t2 = s.claim_compliance_task("w2", now_unix() + 10).await.unwrap().unwrap();
            assert_eq!((t2.task_id, t2.attempts), (id, 2));
            assert_eq!(t2.targets, vec![Target { asset_id: 1, items: vec![2001] }]);
            let r = ComplianceResult {
                asset_id: 1,
                item_id: 2001,
                status: "CHECK_FINISHED".into(),
                result: "RESULT_PASSED".into(),
                reason: String::new(),
                evidence: "{}".into(),
                checked_at: 1,
                task_id: id,
            };
            assert!(!s.write_compliance_results(&t, "w1", 1, std::slice::from_ref(&r)).await.unwrap());
            assert!(s.compliance_results(acc).await.unwrap().is_empty());
            assert!(s.write_compliance_results(&t2, "w2", 1, std::slice::from_ref(&r)).await.unwrap());
            assert!(s.write_compliance_results(&t2, "w2", 1, &[r]).await.unwrap());
            assert_eq!(s.compliance_results(acc).await.unwrap().len(), 1, "replaced, not duplicated");
            assert!(s.finish_compliance_task(id, "w2", "").await.unwrap());
            assert_eq!(s.compliance_task(acc, None).await.unwrap().unwrap().state, "done");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn whitelist_add_is_idempotent_and_delete_by_id_or_pair() {
        let dir = tempfile::tempdir().unwrap();
        for (s, acc) in stores(dir.path()).await {
            s.add_compliance_whitelist(acc, &[(2001, 0), (2002, 5)]).await.unwrap();
            s.add_compliance_whitelist(acc, &[(2001, 0)]).await.unwrap();
            let w = s.compliance_whitelist(acc).await.unwrap();
            assert_eq!(w.len(), 2);
            assert_eq!(s.delete_compliance_whitelist(acc, &[w[0].whitelist_id], &[(2002, 5)]).await.unwrap(), 2);
            assert!(s.compliance_whitelist(acc).await.unwrap().is_empty());
        }
    }
}
