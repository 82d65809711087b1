//! Keeps the store's picture of this server's node current: collects the host and its
//! containers ([`node::Node`], and containerd's where its socket is configured:
//! [`node::containerd::containers`]) every inventory period and whenever an account asks
//! (`CreateRefreshTask`), and records it for every account (the server's Docker Engine is
//! shared, as its images are).
//!
//! And the server's half of the images read by node agents: an image only on an agent's node is
//! handed to that node ([`hand_to_node`]), its agent's upload becomes the scan's index
//! ([`uploaded_index`]; the worker matches it as any other), and images whose agent stopped
//! polling fail once their lease passes (checked here every second).

use crate::{Cancel, Error, inventory};
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
        match store.fail_lapsed_node_image_scans(time::OffsetDateTime::now_utc().unix_timestamp(), store::nodes::DEFAULT_NODE_LEASE).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(images = n, "image scans failed: their node's agent stopped asking for work"),
            Err(e) => tracing::warn!(error = %e, "ending lapsed node image scans failed"),
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
        add_containerd_containers(&mut containers, socket, &cfg.proc_root).await;
    }
    for account in store.account_ids().await.map_err(|e| e.to_string())? {
        store.sync_node(account, &host, &containers).await.map_err(|e| e.to_string())?;
    }
    tracing::debug!(host = %host.host_id, containers = containers.len(), "node assets collected");
    *previous = containers;
    Ok(())
}

/// Adds containerd's containers (every namespace but Docker's) to a node's Docker containers: the
/// server's collection and a node agent's. A containerd that does not answer costs its
/// containers, not the Docker Engine's (logged).
pub async fn add_containerd_containers(containers: &mut Vec<ContainerFacts>, socket: &std::path::Path, proc_root: &std::path::Path) {
    let listed = async {
        let ch = node::containerd::connect(socket).await?;
        node::containerd::containers(&ch, proc_root).await
    };
    match listed.await {
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

/// The node an image is on when a node agent reported it (the first, when several did).
pub(crate) fn only_node(asset: &store::scan_tasks::ImageAsset) -> Option<&str> {
    asset.sources.iter().find_map(|s| s.strip_prefix(store::nodes::NODE_SOURCE_PREFIX))
}

/// Hands a claimed image that only a node holds to that node's agent (it waits there, and the
/// task with it, until the agent uploads or stops asking for work).
pub(crate) async fn hand_to_node(store: &Store, claim: &store::scan_tasks::ImageScanClaim, worker: &str, node: &str) -> Result<(), Error> {
    if store.hand_image_scan_to_node(claim, worker, node).await? {
        tracing::info!(node, "the image is only on a node: its agent reads it");
    }
    Ok(())
}

/// The index a node's agent uploaded (`model::node::NodeImageScan`), as the scan's own; the
/// agent's error when it could not read the image.
pub(crate) fn uploaded_index(node: &str, data: &str) -> Result<crate::Indexed, Error> {
    let bad = |reason: String| Error::NodeScan { node: node.to_string(), reason };
    let up: model::node::NodeImageScan = serde_json::from_str(data).map_err(|e| bad(format!("unreadable upload: {e}")))?;
    if !up.error.is_empty() {
        return Err(bad(up.error));
    }
    let content = layer::ImageContent {
        packages: up.packages,
        distribution: up.distribution,
        risks: up.risks,
        malware: up.malware,
        partial: up.partial,
        ..Default::default()
    };
    Ok(crate::Indexed { content, layers: up.layers as usize, cached_layers: up.cached_layers as usize, bytes_walked: up.bytes_walked })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agents_upload_is_the_scans_index() {
        let up = model::node::NodeImageScan {
            node_id: "N1".into(),
            packages: vec![model::Package {
                ecosystem: model::Ecosystem::Debian,
                name: "openssl".into(),
                version: "3.0.0".into(),
                source_name: None,
                source_version: None,
                purl: String::new(),
                licenses: Vec::new(),
                location: model::Location::default(),
            }],
            partial: true,
            layers: 5,
            cached_layers: 2,
            bytes_walked: 1000,
            ..Default::default()
        };
        let ix = uploaded_index("N1", &serde_json::to_string(&up).unwrap()).unwrap();
        assert_eq!((ix.layers, ix.cached_layers, ix.bytes_walked), (5, 2, 1000));
        assert!(ix.content.partial && ix.content.packages == up.packages);
        // The agent could not read the image: the scan fails with its reason, naming the node.
        let failed = model::node::NodeImageScan { error: "no such image".into(), ..up };
        let e = uploaded_index("N1", &serde_json::to_string(&failed).unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "node N1: no such image");
        assert!(uploaded_index("N1", "{not json").unwrap_err().to_string().starts_with("node N1: unreadable upload"));
    }
}
