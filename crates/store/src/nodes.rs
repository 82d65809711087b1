//! What nodes report ([`model::node`]): one row per host and per container, each collection of a
//! host replacing that host's containers in one transaction; and the asset refresh tasks
//! (`CreateRefreshTask`), claimed by whichever worker polls first.

use model::AccountId;
use model::node::{ContainerFacts, HostFacts};
use sqlx::Row;

use crate::scan_tasks::{ImageScanClaim, ImageScanOutcome};
use crate::{Error, Store, now_unix};

/// A host as last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHost {
    pub facts: HostFacts,
    /// When it last reported (unix seconds).
    pub seen_at: i64,
    /// The SecretId of the agent key that reports it; empty for the server's own collection.
    pub reported_by: String,
    /// Seconds without a report after which it shows offline; 0: the asset actions' default.
    pub offline_after: i64,
}

/// Who reports a host, for [`Store::report_node`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporter<'a> {
    /// The agent key's SecretId.
    pub secret_id: &'a str,
    /// Seconds without a report after which the host shows offline.
    pub offline_after: i64,
}

/// A container as last reported, with its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeContainer {
    pub host_id: String,
    pub facts: ContainerFacts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTask {
    pub task_id: i64,
    /// `Task_New`, `Task_Running`, `Task_Finish`, `Task_Error`.
    pub status: String,
    pub error: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// Inventory source of the images a node agent reports: `node:<node id>`.
pub const NODE_SOURCE_PREFIX: &str = "node:";

fn corrupt(table: &'static str, e: serde_json::Error) -> Error {
    Error::Corrupt { table, reason: e.to_string() }
}

fn task_from_row(r: &sqlx::any::AnyRow) -> Result<RefreshTask, Error> {
    Ok(RefreshTask {
        task_id: r.try_get(0)?,
        status: r.try_get(1)?,
        error: r.try_get(2)?,
        created_at: r.try_get(3)?,
        finished_at: r.try_get(4)?,
    })
}

const TASK_COLS: &str = "task_id, status, error, created_at, finished_at";

impl Store {
    /// Records one collection of the server's own host: the host row, and exactly `containers` as
    /// its containers.
    pub async fn sync_node(&self, account: AccountId, host: &HostFacts, containers: &[ContainerFacts]) -> Result<(), Error> {
        self.write_node(account, None, host, containers).await
    }

    /// Records one report of a node agent (`ReportNodeAssets`), like [`Store::sync_node`] plus who
    /// reported it and when it counts as offline.
    pub async fn report_node(
        &self,
        account: AccountId,
        reporter: &Reporter<'_>,
        host: &HostFacts,
        containers: &[ContainerFacts],
    ) -> Result<(), Error> {
        self.write_node(account, Some(reporter), host, containers).await
    }

    async fn write_node(
        &self,
        account: AccountId,
        reporter: Option<&Reporter<'_>>,
        host: &HostFacts,
        containers: &[ContainerFacts],
    ) -> Result<(), Error> {
        let now = now_unix();
        let data = serde_json::to_string(host).map_err(|e| corrupt("node_hosts", e))?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO node_hosts (account_id, host_id, data, seen_at, reported_by, offline_after) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (account_id, host_id) DO UPDATE SET data = excluded.data, seen_at = excluded.seen_at, \
             reported_by = excluded.reported_by, offline_after = excluded.offline_after",
        )
        .bind(account)
        .bind(&host.host_id)
        .bind(data)
        .bind(now)
        .bind(reporter.map_or("", |r| r.secret_id))
        .bind(reporter.map_or(0, |r| r.offline_after))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM node_containers WHERE account_id = $1 AND host_id = $2")
            .bind(account)
            .bind(&host.host_id)
            .execute(&mut *tx)
            .await?;
        for c in containers {
            let data = serde_json::to_string(c).map_err(|e| corrupt("node_containers", e))?;
            sqlx::query(
                "INSERT INTO node_containers (account_id, container_id, host_id, data, seen_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (account_id, host_id, container_id) DO UPDATE SET data = excluded.data, \
                 seen_at = excluded.seen_at",
            )
            .bind(account)
            .bind(&c.container_id)
            .bind(&host.host_id)
            .bind(data)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn node_hosts(&self, account: AccountId) -> Result<Vec<NodeHost>, Error> {
        let rows = sqlx::query("SELECT data, seen_at, reported_by, offline_after FROM node_hosts WHERE account_id = $1 ORDER BY host_id")
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let facts = serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(|e| corrupt("node_hosts", e))?;
                Ok(NodeHost { facts, seen_at: r.try_get(1)?, reported_by: r.try_get(2)?, offline_after: r.try_get(3)? })
            })
            .collect()
    }

    pub async fn node_containers(&self, account: AccountId) -> Result<Vec<NodeContainer>, Error> {
        let rows = sqlx::query("SELECT host_id, data FROM node_containers WHERE account_id = $1 ORDER BY container_id, host_id")
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let facts = serde_json::from_str(&r.try_get::<String, _>(1)?).map_err(|e| corrupt("node_containers", e))?;
                Ok(NodeContainer { host_id: r.try_get(0)?, facts })
            })
            .collect()
    }

    /// Queues an asset refresh for the account; returns its id.
    pub async fn create_refresh_task(&self, account: AccountId) -> Result<i64, Error> {
        let row = sqlx::query(
            "INSERT INTO asset_refresh_tasks (account_id, status, error, created_at) VALUES ($1, 'Task_New', '', $2) RETURNING task_id",
        )
        .bind(account)
        .bind(now_unix())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn refresh_task(&self, account: AccountId, task_id: i64) -> Result<Option<RefreshTask>, Error> {
        let row = sqlx::query(&format!("SELECT {TASK_COLS} FROM asset_refresh_tasks WHERE account_id = $1 AND task_id = $2"))
            .bind(account)
            .bind(task_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    pub async fn latest_refresh_task(&self, account: AccountId) -> Result<Option<RefreshTask>, Error> {
        let row = sqlx::query(&format!("SELECT {TASK_COLS} FROM asset_refresh_tasks WHERE account_id = $1 ORDER BY task_id DESC LIMIT 1"))
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Takes the oldest queued refresh (one statement: two workers never take the same one).
    /// A task left running by a worker that died is ended by [`Store::fail_stale_refresh_tasks`].
    pub async fn claim_refresh_task(&self) -> Result<Option<(AccountId, i64)>, Error> {
        let row = sqlx::query(
            "UPDATE asset_refresh_tasks SET status = 'Task_Running' WHERE task_id = \
             (SELECT task_id FROM asset_refresh_tasks WHERE status = 'Task_New' ORDER BY task_id LIMIT 1) \
             AND status = 'Task_New' RETURNING account_id, task_id",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    pub async fn finish_refresh_task(&self, task_id: i64, error: Option<&str>) -> Result<(), Error> {
        sqlx::query("UPDATE asset_refresh_tasks SET status = $1, error = $2, finished_at = $3 WHERE task_id = $4")
            .bind(if error.is_some() { "Task_Error" } else { "Task_Finish" })
            .bind(error.unwrap_or(""))
            .bind(now_unix())
            .bind(task_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends refreshes running since before `before` (their worker died): `Task_Error`.
    pub async fn fail_stale_refresh_tasks(&self, before: i64) -> Result<u64, Error> {
        let done = sqlx::query(
            "UPDATE asset_refresh_tasks SET status = 'Task_Error', error = 'the worker stopped', finished_at = $1 \
             WHERE status = 'Task_Running' AND created_at < $2",
        )
        .bind(now_unix())
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// An image scan a node agent is asked for: the image is only on its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeScanJob {
    pub task_id: String,
    pub image_id: String,
    pub scan_vul: bool,
    pub scan_virus: bool,
    pub scan_risk: bool,
}

/// Seconds a scan waits for a node's agent to poll when the node gave no reporting interval.
pub const DEFAULT_NODE_LEASE: i64 = 90;

impl Store {
    /// Hands a claimed image to the agent of `node_id` (the image is only on that node): the row
    /// waits in state `node` until the agent uploads its index ([`Store::accept_node_image_scan`])
    /// or stops polling ([`Store::fail_lapsed_node_image_scans`]). The hand-off is not an attempt.
    /// False when the claim was lost meanwhile.
    pub async fn hand_image_scan_to_node(&self, claim: &ImageScanClaim, worker: &str, node_id: &str) -> Result<bool, Error> {
        let n = sqlx::query(
            "UPDATE image_scan_queue SET state = 'node', worker = $1, heartbeat_at = $2, bytes_done = 0, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
             WHERE task_id = $3 AND image_id = $4 AND state = 'running' AND worker = $5",
        )
        .bind(format!("{NODE_SOURCE_PREFIX}{node_id}"))
        .bind(now_unix())
        .bind(&claim.task_id)
        .bind(&claim.image_id)
        .bind(worker)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The scans waiting for the agent of `node_id` (its poll), each one's lease renewed.
    pub async fn poll_node_image_scans(&self, account: AccountId, node_id: &str) -> Result<Vec<NodeScanJob>, Error> {
        let worker = format!("{NODE_SOURCE_PREFIX}{node_id}");
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE image_scan_queue SET heartbeat_at = $1 WHERE account_id = $2 AND state = 'node' AND worker = $3")
            .bind(now_unix())
            .bind(account)
            .bind(&worker)
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT q.task_id, q.image_id, t.scan_vul, t.scan_virus, t.scan_risk FROM image_scan_queue q \
             JOIN image_scan_tasks t ON t.task_id = q.task_id \
             WHERE q.account_id = $1 AND q.state = 'node' AND q.worker = $2 ORDER BY q.seq",
        )
        .bind(account)
        .bind(&worker)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(NodeScanJob {
                    task_id: r.try_get(0)?,
                    image_id: r.try_get(1)?,
                    scan_vul: r.try_get::<i64, _>(2)? != 0,
                    scan_virus: r.try_get::<i64, _>(3)? != 0,
                    scan_risk: r.try_get::<i64, _>(4)? != 0,
                })
            })
            .collect()
    }

    /// Takes the upload of a node's agent for an image waiting for that node: kept, and the row
    /// back to `pending` (first attempt) for a server worker to match and finish. False when no
    /// row of the account waits for this node under that task and image (nothing changed).
    pub async fn accept_node_image_scan(
        &self,
        account: AccountId,
        node_id: &str,
        task_id: &str,
        image_id: &str,
        data: &str,
    ) -> Result<bool, Error> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE image_scan_queue SET state = 'pending', worker = NULL, heartbeat_at = NULL, attempts = 0 \
             WHERE account_id = $1 AND task_id = $2 AND image_id = $3 AND state = 'node' AND worker = $4",
        )
        .bind(account)
        .bind(task_id)
        .bind(image_id)
        .bind(format!("{NODE_SOURCE_PREFIX}{node_id}"))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO node_image_scans (account_id, task_id, image_id, node_id, data, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (task_id, image_id) DO UPDATE SET node_id = excluded.node_id, data = excluded.data, \
             uploaded_at = excluded.uploaded_at",
        )
        .bind(account)
        .bind(task_id)
        .bind(image_id)
        .bind(node_id)
        .bind(data)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The upload a node's agent made for a claimed image: (node id, data).
    pub async fn node_image_scan(&self, claim: &ImageScanClaim) -> Result<Option<(String, String)>, Error> {
        let row = sqlx::query("SELECT node_id, data FROM node_image_scans WHERE account_id = $1 AND task_id = $2 AND image_id = $3")
            .bind(claim.account)
            .bind(&claim.task_id)
            .bind(&claim.image_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Records that the node's agent reported its compliance checks now.
    pub async fn mark_node_compliance_reported(&self, account: AccountId, node_id: &str) -> Result<(), Error> {
        sqlx::query("UPDATE node_hosts SET compliance_at = $1 WHERE account_id = $2 AND host_id = $3")
            .bind(now_unix())
            .bind(account)
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a compliance task of the account was created since the node last reported its
    /// checks (same second included: a task is never missed, at worst checked twice).
    pub async fn node_compliance_due(&self, account: AccountId, node_id: &str) -> Result<bool, Error> {
        let row = sqlx::query(
            "SELECT 1 FROM compliance_tasks t JOIN node_hosts h ON h.account_id = t.account_id AND h.host_id = $2 \
             WHERE t.account_id = $1 AND t.created_at >= h.compliance_at LIMIT 1",
        )
        .bind(account)
        .bind(node_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Fails the images whose node agent stopped polling: a row waiting for a node longer than
    /// the node's lease (its offline time, three reporting intervals; else `default_lease`) is
    /// `failed` with the reason, which also becomes the image's scan error; a task left with
    /// nothing to scan ends. Returns how many. Uploads whose image is no longer to be scanned
    /// (finished, failed, cancelled) are dropped here too.
    pub async fn fail_lapsed_node_image_scans(&self, now: i64, default_lease: i64) -> Result<u64, Error> {
        sqlx::query(
            "DELETE FROM node_image_scans WHERE NOT EXISTS (SELECT 1 FROM image_scan_queue q \
             WHERE q.task_id = node_image_scans.task_id AND q.image_id = node_image_scans.image_id \
             AND q.state IN ('pending', 'running'))",
        )
        .execute(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT q.account_id, q.task_id, q.image_id, q.worker, q.heartbeat_at, COALESCE(h.offline_after, 0) \
             FROM image_scan_queue q LEFT JOIN node_hosts h ON h.account_id = q.account_id AND ('node:' || h.host_id) = q.worker \
             WHERE q.state = 'node'",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for r in &rows {
            let (account, task_id, image_id, worker, polled_at, offline_after): (i64, String, String, String, i64, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?);
            let lease = if offline_after > 0 { offline_after } else { default_lease };
            if polled_at >= now - lease {
                continue;
            }
            let node = worker.strip_prefix(NODE_SOURCE_PREFIX).unwrap_or(&worker);
            let error = format!(
                "the image is only on node {node} and its agent has not asked for work for {}s (offline?): the image was not scanned",
                now - polled_at
            );
            let mut tx = self.begin_write().await?;
            let lapsed = sqlx::query(
                "UPDATE image_scan_queue SET state = 'failed', error = $1, finished_at = $2 \
                 WHERE task_id = $3 AND image_id = $4 AND state = 'node' AND worker = $5 AND heartbeat_at = $6",
            )
            .bind(&error)
            .bind(now)
            .bind(&task_id)
            .bind(&image_id)
            .bind(&worker)
            .bind(polled_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if lapsed != 1 {
                continue; // polled or uploaded meanwhile
            }
            let previous: Option<String> = sqlx::query("SELECT summary FROM image_scan_results WHERE account_id = $1 AND image_id = $2")
                .bind(account)
                .bind(&image_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let mut summary: model::scan_summary::ImageSummary = previous.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default();
            summary.error = error;
            let outcome = ImageScanOutcome {
                summary: serde_json::to_string(&summary).map_err(|e| corrupt("image_scan_results", e))?,
                ..Default::default()
            };
            crate::scan_tasks::write_outcome(&mut tx, account, &image_id, &task_id, now, &outcome).await?;
            crate::scan_tasks::end_task_if_drained(&mut tx, &task_id, now).await?;
            tx.commit().await?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[tokio::test]
    async fn hosts_containers_and_refresh_tasks() {
        let dir = tempfile::tempdir().unwrap();
        for store in testing::stores(dir.path()).await {
            let a = store.create_account_with_key().await.unwrap().app_id;
            let b = store.create_account_with_key().await.unwrap().app_id;
            let host = HostFacts { host_id: "H".into(), hostname: "n1".into(), ..Default::default() };
            let c = |id: &str| ContainerFacts { container_id: id.into(), name: id.into(), ..Default::default() };
            store.sync_node(a, &host, &[c("c1"), c("c2")]).await.unwrap();
            store.sync_node(a, &host, &[c("c2"), c("c3")]).await.unwrap();
            let ids: Vec<String> = store.node_containers(a).await.unwrap().into_iter().map(|c| c.facts.container_id).collect();
            assert_eq!(ids, ["c2", "c3"], "a collection replaces the host's containers");
            assert_eq!(store.node_hosts(a).await.unwrap()[0].facts, host);
            assert!(store.node_hosts(b).await.unwrap().is_empty() && store.node_containers(b).await.unwrap().is_empty());
            // An agent's node beside it, with the same container id: both kept, each on its host.
            let node = HostFacts { host_id: "N2".into(), hostname: "n2".into(), ..Default::default() };
            let reporter = Reporter { secret_id: "AKIDagent", offline_after: 30 };
            store.report_node(a, &reporter, &node, &[c("c3")]).await.unwrap();
            let hosts = store.node_hosts(a).await.unwrap();
            assert_eq!(hosts.len(), 2);
            assert_eq!((hosts[1].reported_by.as_str(), hosts[1].offline_after), ("AKIDagent", 30));
            assert_eq!((hosts[0].reported_by.as_str(), hosts[0].offline_after), ("", 0));
            let on: Vec<(String, String)> =
                store.node_containers(a).await.unwrap().into_iter().map(|c| (c.host_id, c.facts.container_id)).collect();
            assert_eq!(on, [("H".into(), "c2".into()), ("H".into(), "c3".into()), ("N2".into(), "c3".into())]);

            let t = store.create_refresh_task(a).await.unwrap();
            assert_eq!(store.refresh_task(b, t).await.unwrap(), None, "another account's task is unknown");
            assert_eq!(store.claim_refresh_task().await.unwrap(), Some((a, t)));
            assert_eq!(store.claim_refresh_task().await.unwrap(), None);
            assert_eq!(store.refresh_task(a, t).await.unwrap().unwrap().status, "Task_Running");
            store.finish_refresh_task(t, None).await.unwrap();
            assert_eq!(store.latest_refresh_task(a).await.unwrap().unwrap().status, "Task_Finish");
            let t2 = store.create_refresh_task(a).await.unwrap();
            store.claim_refresh_task().await.unwrap();
            assert_eq!(store.fail_stale_refresh_tasks(now_unix() + 1).await.unwrap(), 1);
            assert_eq!(store.refresh_task(a, t2).await.unwrap().unwrap().status, "Task_Error");
        }
    }
    #[tokio::test]
    async fn node_image_scans_wait_for_their_agent() {
        use crate::scan_tasks::{CreatedTask, NewImageScanTask};
        let dir = tempfile::tempdir().unwrap();
        for store in testing::stores(dir.path()).await {
            let a = store.create_account_with_key().await.unwrap().app_id;
            let b = store.create_account_with_key().await.unwrap().app_id;
            let reporter = Reporter { secret_id: "AKIDagent", offline_after: 30 };
            store.report_node(a, &reporter, &HostFacts { host_id: "N1".into(), ..Default::default() }, &[]).await.unwrap();
            let new =
                NewImageScanTask { scan_vul: true, images: vec![("sha256:i1".into(), 1), ("sha256:i2".into(), 1)], ..Default::default() };
            let CreatedTask::Created(task) = store.create_image_scan_task(a, &new).await.unwrap() else { panic!() };
            let c1 = store.claim_image_scan("w", 0).await.unwrap().unwrap();
            assert!(store.hand_image_scan_to_node(&c1, "w", "N1").await.unwrap());
            assert!(!store.hand_image_scan_to_node(&c1, "w", "N1").await.unwrap(), "the claim is gone");
            // A row waiting for a node is no server worker's: the next claim is the other image.
            let c2 = store.claim_image_scan("w", i64::MAX).await.unwrap().unwrap();
            assert_eq!(c2.image_id, "sha256:i2");
            assert!(store.hand_image_scan_to_node(&c2, "w", "N1").await.unwrap());
            assert_eq!(store.claim_image_scan("w", i64::MAX).await.unwrap(), None);
            let jobs = store.poll_node_image_scans(a, "N1").await.unwrap();
            assert_eq!(jobs.iter().map(|j| j.image_id.as_str()).collect::<Vec<_>>(), ["sha256:i1", "sha256:i2"]);
            assert!(jobs[0].scan_vul && !jobs[0].scan_virus && jobs[0].task_id == task);
            assert!(store.poll_node_image_scans(a, "N2").await.unwrap().is_empty());
            assert!(store.poll_node_image_scans(b, "N1").await.unwrap().is_empty(), "another account's node");
            // Uploads: only the node the row waits for, of the account.
            assert!(!store.accept_node_image_scan(b, "N1", &task, "sha256:i1", "{}").await.unwrap());
            assert!(!store.accept_node_image_scan(a, "N2", &task, "sha256:i1", "{}").await.unwrap());
            assert!(store.accept_node_image_scan(a, "N1", &task, "sha256:i1", "{\"x\":1}").await.unwrap());
            assert!(!store.accept_node_image_scan(a, "N1", &task, "sha256:i1", "{}").await.unwrap(), "taken once");
            let c1 = store.claim_image_scan("w2", 0).await.unwrap().unwrap();
            assert_eq!((c1.image_id.as_str(), c1.attempts), ("sha256:i1", 1));
            assert_eq!(store.node_image_scan(&c1).await.unwrap(), Some(("N1".into(), "{\"x\":1}".into())));
            store.finish_image_scan(&c1, "w2", None, None).await.unwrap();
            // The other waits for its agent: within the lease nothing lapses, after it the image
            // fails with the reason and the task ends.
            let now = now_unix();
            assert_eq!(store.fail_lapsed_node_image_scans(now, DEFAULT_NODE_LEASE).await.unwrap(), 0);
            assert_eq!(store.node_image_scan(&c1).await.unwrap(), None, "an upload goes once its image is done");
            assert_eq!(store.image_scan_task(a, Some(&task)).await.unwrap().unwrap().status, "SCANNING");
            assert_eq!(store.fail_lapsed_node_image_scans(now + 31, DEFAULT_NODE_LEASE).await.unwrap(), 1);
            let t = store.image_scan_task(a, Some(&task)).await.unwrap().unwrap();
            assert_eq!((t.status.as_str(), t.sub_status.as_str()), ("END", "Success"));
            let r = store.image_scan_result(a, "sha256:i2").await.unwrap().unwrap();
            assert!(r.summary.contains("node N1") && r.summary.contains("not scanned"), "{}", r.summary);
        }
    }
    #[tokio::test]
    async fn compliance_tasks_are_due_to_nodes_that_checked_before_them() {
        let dir = tempfile::tempdir().unwrap();
        for store in testing::stores(dir.path()).await {
            let a = store.create_account_with_key().await.unwrap().app_id;
            let reporter = Reporter { secret_id: "AKIDagent", offline_after: 30 };
            store.report_node(a, &reporter, &HostFacts { host_id: "N1".into(), ..Default::default() }, &[]).await.unwrap();
            assert!(!store.node_compliance_due(a, "N1").await.unwrap(), "no task");
            store.create_compliance_task(a, "manual", &[], &[]).await.unwrap();
            assert!(store.node_compliance_due(a, "N1").await.unwrap());
            assert!(!store.node_compliance_due(a, "N2").await.unwrap(), "an unknown node");
            // Reported in a later second: covered.
            sqlx::query("UPDATE compliance_tasks SET created_at = created_at - 5").execute(&store.pool).await.unwrap();
            store.mark_node_compliance_reported(a, "N1").await.unwrap();
            assert!(!store.node_compliance_due(a, "N1").await.unwrap());
        }
    }
}
