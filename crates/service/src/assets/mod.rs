//! Hosts, containers, processes and listening ports: `DescribeAssetSummary`,
//! `DescribeContainerAssetSummary`, `DescribeAssetContainerList` / `Detail`,
//! `DescribeAssetHostList` / `Detail`, `DescribeAssetProcessList`, `DescribeAssetPortList`,
//! `DescribeAssetComponentList`, `CreateRefreshTask`, `DescribeRefreshTask`,
//! `DescribeAssetSyncLastTime` (schemas: ../shared/spec/schema/<Action>.json, objects.json).
//!
//! Everything is read from what the node collector (`scan::nodes`, `node`) last stored; a refresh
//! task asks it to collect now. Conventions where TCSS leaves room:
//! - A host is `ONLINE` when it reported within [`ONLINE_WITHIN_SECS`] (a node agent's host:
//!   within three of its reporting intervals, [`crate::agents`]), else `OFFLINE` (its assets
//!   kept). `MachineType` is `Other` (not a Tencent Cloud server), `DefendStatus`
//!   `UnDefended` (Shipshape has no runtime protection), `Group`, `InstanceID`, `RegionID`,
//!   `Project`, `Tags`, `PublicIp` and the cluster fields are empty: Shipshape knows no cloud
//!   projects, tags, public addresses or clusters.
//! - Containers: `NetStatus` `NORMAL` (Shipshape isolates nothing), `NodeType` `NORMAL`, super
//!   node and pod-IP fields empty; `POD`/`PodName` from the kubelet's pod-name label when
//!   present. `CPUUsage` is the container's share of the host's CPU time since the previous
//!   collection ×1000 (0 on the first one); `RamUsage` its memory in KiB (0 when stopped).
//! - containerd's containers (`serve --containerd-socket`; every namespace but Docker's `moby`,
//!   whose containers are the engine's, listed once): `Status` in Docker's words from the task
//!   (`created` without one, `exited` when stopped), `ContainerName` the id, `ImageName` the
//!   image reference; mounts, `RunAs`, `Cmd` and the network mode (`host` without a network
//!   namespace, `none` with a new one) from the OCI spec; processes from the task's PIDs read in
//!   /proc. Not known to containerd, so empty/0: `ImageID` (it names images by reference),
//!   `CPUUsage`/`RamUsage` (its metrics are cgroup protobufs not decoded here), network addresses
//!   (CNI's, outside containerd).
//! - Ports are the sockets listening in each container's network namespace (and published
//!   ports), `ContainerPID` the listening process's PID inside the container.
//! - Components of a container are the packages of its image, known once the image has been
//!   scanned for vulnerabilities (an empty list before).
//! - `AppCnt`, `WebServiceCnt`, `DbCnt`: Shipshape does not classify applications; always 0.
//!   `ImageUntrustCnt`: no trusted-image list; 0. `HostUnInstallCnt`, super node counts: 0.

mod components;
mod containers;
mod hosts;
mod ports;
mod processes;
mod refresh;
mod summary;

pub use components::*;
pub use containers::*;
pub use hosts::*;
pub use ports::*;
pub use processes::*;
pub use refresh::*;
pub use summary::*;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use store::nodes::{NodeContainer, NodeHost};
use store::scan_tasks::format_utc;

use crate::Service;
use crate::error::ServiceError;
use crate::list::AssetFilters;

/// A host that reported within this many seconds is online.
pub const ONLINE_WITHIN_SECS: i64 = 300;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn host_status(h: &NodeHost) -> &'static str {
    let within = if h.offline_after > 0 { h.offline_after } else { ONLINE_WITHIN_SECS };
    if now() - h.seen_at <= within { "ONLINE" } else { "OFFLINE" }
}

/// Docker's RFC 3339 (`2024-05-01T10:00:00.123456789Z`) as TCSS's `YYYY-MM-DD HH:MM:SS` UTC.
fn tcss_time(rfc3339: &str) -> String {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| format_utc(t.unix_timestamp()))
        .unwrap_or_default()
}

/// Everything the node actions read, per request.
struct Nodes {
    hosts: HashMap<String, NodeHost>,
    containers: Vec<NodeContainer>,
}

impl Nodes {
    async fn load(svc: &Service, account: model::AccountId) -> Result<Nodes, ServiceError> {
        let hosts = svc.store.node_hosts(account).await?.into_iter().map(|h| (h.facts.host_id.clone(), h)).collect();
        Ok(Nodes { hosts, containers: svc.store.node_containers(account).await? })
    }

    fn host_of(&self, c: &NodeContainer) -> Option<&NodeHost> {
        self.hosts.get(&c.host_id)
    }

    fn container(&self, id: &str) -> Result<&NodeContainer, ServiceError> {
        let id = id.trim();
        let found = self.containers.iter().find(|c| c.facts.container_id == id || (id.len() >= 12 && c.facts.container_id.starts_with(id)));
        found.ok_or_else(|| ServiceError::NotFound { what: "Container", id: id.to_string() })
    }
}

/// A row of a container's: the container (shared by its rows) and its host's address, which
/// the `HostIP` filter reads.
struct InContainer<P> {
    c: Arc<NodeContainer>,
    host_ip: String,
    item: P,
}

/// The rows of every container, `items` of each.
fn in_containers<P: Clone>(n: &Nodes, items: impl Fn(&NodeContainer) -> &[P]) -> Vec<InContainer<P>> {
    n.containers
        .iter()
        .flat_map(|c| {
            let host_ip = n.host_of(c).map(|h| h.facts.ip.clone()).unwrap_or_default();
            let shared = Arc::new(c.clone());
            items(c)
                .iter()
                .map(move |p| InContainer { c: Arc::clone(&shared), host_ip: host_ip.clone(), item: p.clone() })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Where a process or port row runs: the fields `ProcessInfo` and `PortInfo` share. Shipshape
/// knows no public addresses, super nodes or pod IPs: those are empty; `NodeType` is `NORMAL`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerPlace {
    pub container_name: String,
    #[serde(rename = "HostID")]
    pub host_id: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub host_name: String,
    pub public_ip: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "PodIP")]
    pub pod_ip: String,
    pub pod_name: String,
    pub node_type: String,
    #[serde(rename = "NodeUniqueID")]
    pub node_unique_id: String,
}

impl ContainerPlace {
    fn of(n: &Nodes, c: &NodeContainer, host_ip: String) -> ContainerPlace {
        ContainerPlace {
            container_name: c.facts.name.clone(),
            host_id: c.host_id.clone(),
            host_ip,
            host_name: n.host_of(c).map(|h| h.facts.hostname.clone()).unwrap_or_default(),
            public_ip: String::new(),
            node_id: String::new(),
            pod_ip: String::new(),
            pod_name: c.facts.pod_name.clone(),
            node_type: "NORMAL".into(),
            node_unique_id: String::new(),
        }
    }
}

/// The request of the lists with a row per container item (processes, ports).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FlatListRequest {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(tcss_time("2024-05-01T10:00:00.123456789Z"), "2024-05-01 10:00:00");
        assert_eq!(tcss_time("garbage"), "");
    }
}
