//! What nodes report ([`model::node`]): one row per host and per container, each collection of a
//! host replacing that host's containers in one transaction; and the asset refresh tasks
//! (`CreateRefreshTask`), claimed by whichever worker polls first.

use model::AccountId;
use model::node::{ContainerFacts, HostFacts};
use sqlx::Row;

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

impl crate::scan_tasks::ImageAsset {
    /// The inventory row of an image a node's engine lists (the server's own, or an agent's).
    pub fn from_facts(i: model::node::ImageFacts, source: String) -> Self {
        crate::scan_tasks::ImageAsset {
            image_id: i.image_id,
            names: i.names,
            repo_digests: i.repo_digests,
            size: i.size,
            created: i.created,
            os: i.os,
            architecture: i.architecture,
            author: i.author,
            history: i.history,
            layers: i.layers,
            container_cnt: i.container_cnt,
            running_cnt: i.running_cnt,
            sources: vec![source],
        }
    }
}

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
}
