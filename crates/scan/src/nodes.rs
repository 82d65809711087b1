//! Keeps the store's picture of this server's node current: collects the host and its
//! containers ([`node::Node`], and containerd's where its socket is configured:
//! [`node::containerd::containers`]) every inventory period and whenever an account asks
//! (`CreateRefreshTask`), and records it for every account (the server's Docker Engine is
//! shared, as its images are).

use crate::{Cancel, inventory};
use model::node::ContainerFacts;
use std::path::PathBuf;
use std::time::Duration;
use store::Store;

/// A refresh running longer than this is ended as failed (its worker died).
const STALE_REFRESH: Duration = Duration::from_secs(600);

pub struct NodeConfig {
    pub docker_host: Option<String>,
    pub proc_root: PathBuf,
    pub containerd_socket: Option<PathBuf>,
    pub every: Duration,
}

/// Runs until `stop`.
pub async fn run(store: Store, cfg: NodeConfig, stop: Cancel) {
    let mut previous: Vec<ContainerFacts> = Vec::new();
    let mut next = tokio::time::Instant::now();
    while !stop.is_cancelled() {
        let stale = time::OffsetDateTime::now_utc().unix_timestamp() - STALE_REFRESH.as_secs() as i64;
        if let Err(e) = store.fail_stale_refresh_tasks(stale).await {
            tracing::warn!(error = %e, "ending stale asset refresh tasks failed");
        }
        let task = match store.claim_refresh_task().await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "claiming an asset refresh task failed");
                None
            }
        };
        if task.is_some() || tokio::time::Instant::now() >= next {
            let outcome = collect_and_store(&store, &cfg, &mut previous).await;
            if let Err(e) = &outcome {
                tracing::warn!(error = %e, "node asset collection failed");
            }
            if let Some((_, id)) = task
                && let Err(e) = store.finish_refresh_task(id, outcome.as_ref().err().map(String::as_str)).await
            {
                tracing::warn!(error = %e, task = id, "recording an asset refresh failed");
            }
            next = tokio::time::Instant::now() + cfg.every;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.cancelled() => {}
        }
    }
}

async fn collect_and_store(store: &Store, cfg: &NodeConfig, previous: &mut Vec<ContainerFacts>) -> Result<(), String> {
    let docker = inventory::connect(cfg.docker_host.as_deref()).map_err(|e| e.to_string())?;
    let n = node::Node { docker: &docker, proc_root: cfg.proc_root.clone() };
    let (host, mut containers) = n.collect(previous).await.map_err(|e| e.to_string())?;
    if let Some(socket) = &cfg.containerd_socket {
        // A containerd that does not answer costs its containers, not the Docker Engine's.
        match containerd_containers(socket, &cfg.proc_root).await {
            Ok(list) => {
                for c in list {
                    // Ids are unique per namespace only: the first one listed is kept.
                    if !containers.iter().any(|d| d.container_id == c.container_id) {
                        containers.push(c);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, socket = %socket.display(), "containerd containers not collected"),
        }
    }
    for account in store.account_ids().await.map_err(|e| e.to_string())? {
        store.sync_node(account, &host, &containers).await.map_err(|e| e.to_string())?;
    }
    tracing::debug!(host = %host.host_id, containers = containers.len(), "node assets collected");
    *previous = containers;
    Ok(())
}

async fn containerd_containers(
    socket: &std::path::Path,
    proc_root: &std::path::Path,
) -> Result<Vec<ContainerFacts>, node::containerd::Error> {
    let ch = node::containerd::connect(socket).await?;
    node::containerd::containers(&ch, proc_root).await
}
