//! Whole-store figures read at `/metrics` scrape time (every account together): queue depths and
//! ages, finished image scans, stored result summaries, advisory data age, nodes seen. Each is one
//! aggregate query (the durations and summaries one row per image).

use sqlx::Row;

use crate::{Error, Store};

/// One durable queue's backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// `image_scan`, `compliance`, `harbor`, `registry_refresh`.
    pub queue: &'static str,
    /// Entries waiting or being worked on.
    pub depth: u64,
    /// Unix seconds the oldest of them was queued (`None`: empty queue).
    pub oldest_at: Option<i64>,
}

/// One finished image scan (one image of a task).
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedScan {
    /// The queue's final state: `done`, `failed` or `cancelled`.
    pub state: String,
    /// Seconds from claim to finish (`None` when it never started).
    pub seconds: Option<i64>,
}

impl Store {
    /// The backlog of each durable queue. The image scan queue's age is its task's creation time;
    /// a registry refresh's is the registry's last sync (or its creation when never synced).
    pub async fn queue_stats(&self) -> Result<Vec<QueueStats>, Error> {
        let image_scan = format!(
            "SELECT COUNT(*), MIN(t.created_at) FROM image_scan_queue q JOIN image_scan_tasks t ON t.task_id = q.task_id WHERE {}",
            crate::scan_tasks::to_scan("q.state")
        );
        let queries: [(&'static str, &str); 4] = [
            ("image_scan", &image_scan),
            ("compliance", "SELECT COUNT(*), MIN(created_at) FROM compliance_tasks WHERE state IN ('pending', 'running')"),
            ("harbor", "SELECT COUNT(*), MIN(created_at) FROM harbor_scans WHERE state IN ('pending', 'running')"),
            ("registry_refresh", "SELECT COUNT(*), MIN(COALESCE(synced_at, created_at)) FROM registries WHERE sync_requested = 1"),
        ];
        let mut out = Vec::with_capacity(queries.len());
        for (queue, sql) in queries {
            let row = sqlx::query(sql).fetch_one(&self.pool).await?;
            out.push(QueueStats { queue, depth: row.try_get::<i64, _>(0)?.max(0) as u64, oldest_at: row.try_get::<Option<i64>, _>(1)? });
        }
        Ok(out)
    }

    /// Every finished image scan still in the queue table.
    pub async fn finished_scans(&self) -> Result<Vec<FinishedScan>, Error> {
        let rows = sqlx::query(
            "SELECT state, finished_at - started_at FROM image_scan_queue WHERE state IN ('done', 'failed', 'cancelled') AND finished_at IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(FinishedScan { state: r.try_get(0)?, seconds: r.try_get::<Option<i64>, _>(1)? })).collect()
    }

    /// The stored result summary (JSON, as the scan wrote it) of every scanned image.
    pub async fn all_result_summaries(&self) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT summary FROM image_scan_results").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Unix seconds of the latest advisory import (`None`: no data).
    pub async fn advisory_imported_at(&self) -> Result<Option<i64>, Error> {
        let row = sqlx::query("SELECT MAX(imported_at) FROM advisory_sources").fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// Nodes (hosts, every account) that reported at or after `since` (unix seconds).
    pub async fn nodes_seen_since(&self, since: i64) -> Result<u64, Error> {
        let row = sqlx::query("SELECT COUNT(*) FROM node_hosts WHERE seen_at >= $1").bind(since).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)?.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::stores;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn empty_store_reads() {
        let dir = tempfile::tempdir().unwrap();
        for store in stores(dir.path()).await {
            let q = store.queue_stats().await.unwrap();
            assert_eq!(q.iter().map(|q| q.queue).collect::<Vec<_>>(), ["image_scan", "compliance", "harbor", "registry_refresh"]);
            assert!(q.iter().all(|q| q.depth == 0 && q.oldest_at.is_none()), "{q:?}");
            assert!(store.finished_scans().await.unwrap().is_empty());
            assert!(store.all_result_summaries().await.unwrap().is_empty());
            assert_eq!(store.advisory_imported_at().await.unwrap(), None);
            assert_eq!(store.nodes_seen_since(0).await.unwrap(), 0);
        }
    }
}
