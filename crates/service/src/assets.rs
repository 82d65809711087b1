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

use std::collections::HashMap;
use std::sync::Arc;

use api::Caller;
use model::node::{PortFacts, ProcessFacts};
use serde::{Deserialize, Serialize};
use store::nodes::{NodeContainer, NodeHost};
use store::scan_tasks::format_utc;

use crate::Service;
use crate::error::ServiceError;
use crate::images::image_rows;
use crate::list::{AssetFilters, Filter, ListRequest, ListSpec, invalid};

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

// ---- summaries ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetSummaryResponse {
    pub app_cnt: u64,
    pub container_cnt: u64,
    pub container_pause: u64,
    pub container_running: u64,
    pub container_stop: u64,
    pub create_time: String,
    pub db_cnt: u64,
    pub image_cnt: u64,
    pub host_online: u64,
    pub host_cnt: u64,
    pub image_has_risk_info_cnt: u64,
    pub image_has_virus_cnt: u64,
    pub image_has_vuls_cnt: u64,
    pub image_untrust_cnt: u64,
    pub listen_port_cnt: u64,
    pub process_cnt: u64,
    pub web_service_cnt: u64,
    pub latest_image_scan_time: String,
    pub image_unsafe_cnt: u64,
    pub host_un_install_cnt: u64,
    pub super_node_cnt: u64,
    pub super_node_running_cnt: u64,
    pub today_new_image_cnt: u64,
    pub today_unsafe_image_cnt: u64,
    pub recommended_fix_image_cnt: u64,
    pub scanned_image_cnt: u64,
    pub un_scanned_image_cnt: u64,
}

/// Running, paused, and the rest (created, exited, dead...: stopped).
fn container_states(n: &Nodes) -> (u64, u64, u64) {
    let mut s = (0, 0, 0);
    for c in &n.containers {
        match c.facts.status.as_str() {
            "running" | "restarting" => s.0 += 1,
            "paused" => s.1 += 1,
            _ => s.2 += 1,
        }
    }
    s
}

pub async fn describe_summary(svc: &Service, caller: Caller, _req: Empty) -> Result<DescribeAssetSummaryResponse, ServiceError> {
    let n = Nodes::load(svc, caller.account).await?;
    let images = image_rows(svc, caller.account).await?;
    let (running, paused, stopped) = container_states(&n);
    let today = format_utc(now())[..10].to_string();
    let unsafe_image = |r: &crate::images::ImageRow| r.vul_cnt() + r.virus_cnt() + r.risk_cnt() > 0;
    let created = svc.store.account_created_at(caller.account).await?;
    Ok(DescribeAssetSummaryResponse {
        app_cnt: 0,
        container_cnt: n.containers.len() as u64,
        container_pause: paused,
        container_running: running,
        container_stop: stopped,
        create_time: created.map(format_utc).unwrap_or_default(),
        db_cnt: 0,
        image_cnt: images.len() as u64,
        host_online: n.hosts.values().filter(|h| host_status(h) == "ONLINE").count() as u64,
        host_cnt: n.hosts.len() as u64,
        image_has_risk_info_cnt: images.iter().filter(|r| r.risk_cnt() > 0).count() as u64,
        image_has_virus_cnt: images.iter().filter(|r| r.virus_cnt() > 0).count() as u64,
        image_has_vuls_cnt: images.iter().filter(|r| r.vul_cnt() > 0).count() as u64,
        image_untrust_cnt: 0,
        listen_port_cnt: n.containers.iter().map(|c| c.facts.ports.len() as u64).sum(),
        process_cnt: n.containers.iter().map(|c| c.facts.processes.len() as u64).sum(),
        web_service_cnt: 0,
        latest_image_scan_time: images.iter().filter_map(|r| r.scanned_at).max().map(format_utc).unwrap_or_default(),
        image_unsafe_cnt: images.iter().filter(|r| unsafe_image(r)).count() as u64,
        host_un_install_cnt: 0,
        super_node_cnt: 0,
        super_node_running_cnt: 0,
        today_new_image_cnt: images.iter().filter(|r| tcss_time(&r.asset.created).starts_with(&today)).count() as u64,
        today_unsafe_image_cnt: images
            .iter()
            .filter(|r| unsafe_image(r) && r.scanned_at.is_some_and(|t| format_utc(t).starts_with(&today)))
            .count() as u64,
        recommended_fix_image_cnt: images.iter().filter(|r| r.is_suggested()).count() as u64,
        scanned_image_cnt: images.iter().filter(|r| r.scanned_at.is_some()).count() as u64,
        un_scanned_image_cnt: images.iter().filter(|r| r.scanned_at.is_none()).count() as u64,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeContainerAssetSummaryResponse {
    pub container_total_cnt: u64,
    pub container_running_cnt: u64,
    pub container_pause_cnt: u64,
    pub container_stopped: u64,
    pub image_cnt: u64,
    pub host_cnt: u64,
    pub host_running_cnt: u64,
    pub host_offline_cnt: u64,
    pub image_registry_cnt: u64,
    pub image_total_cnt: u64,
    pub host_un_install_cnt: u64,
    pub host_super_node_cnt: u64,
}

pub async fn describe_container_summary(
    svc: &Service,
    caller: Caller,
    _req: Empty,
) -> Result<DescribeContainerAssetSummaryResponse, ServiceError> {
    let n = Nodes::load(svc, caller.account).await?;
    let images = svc.store.image_assets(caller.account).await?;
    let (running, paused, stopped) = container_states(&n);
    let online = n.hosts.values().filter(|h| host_status(h) == "ONLINE").count() as u64;
    Ok(DescribeContainerAssetSummaryResponse {
        container_total_cnt: n.containers.len() as u64,
        container_running_cnt: running,
        container_pause_cnt: paused,
        container_stopped: stopped,
        // Local images: those a node's engine holds; registry images: those only seen in a registry.
        image_cnt: images.iter().filter(|a| a.sources.iter().any(|s| s == "docker")).count() as u64,
        host_cnt: n.hosts.len() as u64,
        host_running_cnt: online,
        host_offline_cnt: n.hosts.len() as u64 - online,
        image_registry_cnt: images.iter().filter(|a| a.sources.iter().any(|s| s != "docker")).count() as u64,
        image_total_cnt: images.len() as u64,
        host_un_install_cnt: 0,
        host_super_node_cnt: 0,
    })
}

// ---- containers ----

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInfo {
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub container_name: String,
    pub status: String,
    pub create_time: String,
    pub run_as: String,
    pub cmd: String,
    #[serde(rename = "CPUUsage")]
    pub cpu_usage: u64,
    pub ram_usage: u64,
    pub image_name: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    #[serde(rename = "POD")]
    pub pod: String,
    #[serde(rename = "HostID")]
    pub host_id: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub update_time: String,
    pub host_name: String,
    pub public_ip: String,
    pub net_status: String,
    pub net_sub_status: String,
    pub isolate_source: String,
    pub isolate_time: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "PodIP")]
    pub pod_ip: String,
    pub pod_name: String,
    pub node_type: String,
    #[serde(rename = "NodeUniqueID")]
    pub node_unique_id: String,
    pub pod_cpu: i64,
    pub pod_mem: i64,
    pub cluster_name: String,
    #[serde(rename = "ClusterID")]
    pub cluster_id: String,
    pub pod_uid: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetContainerListResponse {
    pub list: Vec<ContainerInfo>,
    pub total_count: u64,
}

/// TCSS's container status filter codes.
const STATUS_CODES: [&str; 7] = ["created", "running", "paused", "restarting", "removing", "exited", "dead"];

/// DescribeAssetContainerList's filters and sort keys, over each container and its host's address.
const CONTAINER_LIST: ListSpec<InContainer<()>> = ListSpec {
    filters: &[
        ("ContainerName", Filter::Text(&[|r| &r.c.facts.name])),
        ("ContainerID", Filter::Text(&[|r| &r.c.facts.container_id])),
        (
            "Status",
            Filter::Each(|r, v| {
                let v = v.trim().to_ascii_lowercase();
                v == r.c.facts.status || v.parse::<usize>().ok().and_then(|i| STATUS_CODES.get(i)).is_some_and(|s| *s == r.c.facts.status)
            }),
        ),
        ("RunAs", Filter::Text(&[|r| &r.c.facts.run_as])),
        ("Runas", Filter::Text(&[|r| &r.c.facts.run_as])),
        ("ImageName", Filter::Text(&[|r| &r.c.facts.image_name])),
        ("ImageID", Filter::Text(&[|r| &r.c.facts.image_id])),
        ("HostIP", Filter::Text(&[|r| &r.host_ip])),
        ("HostID", Filter::Text(&[|r| &r.c.host_id])),
        // Shipshape isolates nothing: every container's network is NORMAL.
        ("NetStatus", Filter::Each(|_, v| v.eq_ignore_ascii_case("normal"))),
        ("PodName", Filter::Text(&[|r| &r.c.facts.pod_name])),
        ("PodID", Filter::Text(&[|r| &r.c.facts.pod_name])),
        ("PodUid", Filter::Text(&[|r| &r.c.facts.pod_name])),
        // No pod addresses or super nodes: nothing matches.
        ("PodIP", Filter::Each(|_, _| false)),
        ("NodeUniqueID", Filter::Each(|_, _| false)),
    ],
    sorts: &[
        ("", |a, b| a.c.facts.container_id.cmp(&b.c.facts.container_id)),
        ("ContainerID", |a, b| a.c.facts.container_id.cmp(&b.c.facts.container_id)),
        ("ContainerName", |a, b| a.c.facts.name.cmp(&b.c.facts.name)),
        ("CreateTime", |a, b| a.c.facts.created.cmp(&b.c.facts.created)),
        ("Status", |a, b| a.c.facts.status.cmp(&b.c.facts.status)),
        ("CPUUsage", |a, b| a.c.facts.cpu_usage_milli.cmp(&b.c.facts.cpu_usage_milli)),
        ("cpu_usage", |a, b| a.c.facts.cpu_usage_milli.cmp(&b.c.facts.cpu_usage_milli)),
        ("RamUsage", |a, b| a.c.facts.memory_kib.cmp(&b.c.facts.memory_kib)),
        ("mem_usage", |a, b| a.c.facts.memory_kib.cmp(&b.c.facts.memory_kib)),
        ("ImageName", |a, b| a.c.facts.image_name.cmp(&b.c.facts.image_name)),
    ],
    tie_break: Some(|a, b| a.c.facts.container_id.cmp(&b.c.facts.container_id)),
};

fn container_info(n: &Nodes, c: &NodeContainer) -> ContainerInfo {
    let host = n.host_of(c);
    let x = &c.facts;
    ContainerInfo {
        container_id: x.container_id.clone(),
        container_name: x.name.clone(),
        status: x.status.clone(),
        create_time: tcss_time(&x.created),
        run_as: x.run_as.clone(),
        cmd: x.cmd.clone(),
        cpu_usage: x.cpu_usage_milli.unwrap_or(0),
        ram_usage: x.memory_kib,
        image_name: x.image_name.clone(),
        image_id: x.image_id.clone(),
        pod: x.pod_name.clone(),
        host_id: c.host_id.clone(),
        host_ip: host.map(|h| h.facts.ip.clone()).unwrap_or_default(),
        update_time: host.map(|h| format_utc(h.seen_at)).unwrap_or_default(),
        host_name: host.map(|h| h.facts.hostname.clone()).unwrap_or_default(),
        public_ip: String::new(),
        net_status: "NORMAL".into(),
        net_sub_status: String::new(),
        isolate_source: String::new(),
        isolate_time: String::new(),
        node_id: String::new(),
        pod_ip: String::new(),
        pod_name: x.pod_name.clone(),
        node_type: "NORMAL".into(),
        node_unique_id: String::new(),
        pod_cpu: 0,
        pod_mem: 0,
        cluster_name: String::new(),
        cluster_id: String::new(),
        pod_uid: String::new(),
    }
}

pub async fn describe_container_list(
    svc: &Service,
    caller: Caller,
    req: ListRequest,
) -> Result<DescribeAssetContainerListResponse, ServiceError> {
    let query = CONTAINER_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    let n = Nodes::load(svc, caller.account).await?;
    let page = query.run(in_containers(&n, |_| &[()]));
    Ok(DescribeAssetContainerListResponse { list: page.rows.iter().map(|r| container_info(&n, &r.c)).collect(), total_count: page.total })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetContainerDetailRequest {
    pub container_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerMount {
    #[serde(rename = "Type")]
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
    pub name: String,
    pub driver: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerNetwork {
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub mode: String,
    pub name: String,
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    pub gateway: String,
    pub ipv4: String,
    pub ipv6: String,
    #[serde(rename = "MAC")]
    pub mac: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetContainerDetailResponse {
    #[serde(rename = "HostID")]
    pub host_id: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub container_name: String,
    pub status: String,
    pub run_as: String,
    pub cmd: String,
    #[serde(rename = "CPUUsage")]
    pub cpu_usage: u64,
    pub ram_usage: u64,
    pub image_name: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    #[serde(rename = "POD")]
    pub pod: String,
    pub k8s_master: String,
    pub process_cnt: u64,
    pub port_cnt: u64,
    pub component_cnt: u64,
    pub app_cnt: u64,
    pub web_service_cnt: u64,
    pub mounts: Vec<ContainerMount>,
    pub network: ContainerNetwork,
    pub create_time: String,
    pub image_create_time: String,
    pub image_size: u64,
    pub host_status: String,
    pub net_status: String,
    pub net_sub_status: String,
    pub isolate_source: String,
    pub isolate_time: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub node_name: String,
    #[serde(rename = "NodeSubNetID")]
    pub node_sub_net_id: String,
    pub node_sub_net_name: String,
    #[serde(rename = "NodeSubNetCIDR")]
    pub node_sub_net_cidr: String,
    pub pod_name: String,
    #[serde(rename = "PodIP")]
    pub pod_ip: String,
    pub pod_status: String,
    #[serde(rename = "ClusterID")]
    pub cluster_id: String,
    pub cluster_name: String,
    pub node_type: String,
    #[serde(rename = "NodeUniqueID")]
    pub node_unique_id: String,
    #[serde(rename = "PublicIP")]
    pub public_ip: String,
}

/// The packages of an image's stored content report (written by `scan` as `results::StoredContent`).
async fn image_components(svc: &Service, account: model::AccountId, image_id: &str) -> Result<Vec<model::Package>, ServiceError> {
    #[derive(Deserialize)]
    struct Content {
        packages: Vec<model::Package>,
    }
    // "content": the row kind the scan stores an image's packages under.
    let Some(text) = svc.store.image_findings(account, image_id, model::scan_summary::FindingKind::Content).await?.into_iter().next()
    else {
        return Ok(Vec::new());
    };
    let c: Content = serde_json::from_str(&text)
        .map_err(|e| ServiceError::Store(store::Error::Corrupt { table: "image_findings", reason: e.to_string() }))?;
    Ok(c.packages)
}

pub async fn describe_container_detail(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetContainerDetailRequest,
) -> Result<DescribeAssetContainerDetailResponse, ServiceError> {
    let n = Nodes::load(svc, caller.account).await?;
    let c = n.container(&req.container_id)?;
    let info = container_info(&n, c);
    let x = &c.facts;
    let image = svc.store.image_asset(caller.account, &x.image_id).await?;
    let components = image_components(svc, caller.account, &x.image_id).await?.len() as u64;
    Ok(DescribeAssetContainerDetailResponse {
        host_id: info.host_id,
        host_ip: info.host_ip,
        container_name: info.container_name,
        status: info.status,
        run_as: info.run_as,
        cmd: info.cmd,
        cpu_usage: info.cpu_usage,
        ram_usage: info.ram_usage,
        image_name: info.image_name,
        image_id: info.image_id,
        pod: info.pod,
        k8s_master: String::new(),
        process_cnt: x.processes.len() as u64,
        port_cnt: x.ports.len() as u64,
        component_cnt: components,
        app_cnt: 0,
        web_service_cnt: 0,
        mounts: x
            .mounts
            .iter()
            .map(|m| ContainerMount {
                kind: m.kind.clone(),
                source: m.source.clone(),
                destination: m.destination.clone(),
                mode: m.mode.clone(),
                rw: m.rw,
                propagation: m.propagation.clone(),
                name: m.name.clone(),
                driver: m.driver.clone(),
            })
            .collect(),
        network: ContainerNetwork {
            endpoint_id: x.network.endpoint_id.clone(),
            mode: x.network.mode.clone(),
            name: x.network.name.clone(),
            network_id: x.network.network_id.clone(),
            gateway: x.network.gateway.clone(),
            ipv4: x.network.ipv4.clone(),
            ipv6: x.network.ipv6.clone(),
            mac: x.network.mac.clone(),
        },
        create_time: info.create_time,
        image_create_time: image.as_ref().map(|a| tcss_time(&a.created)).unwrap_or_default(),
        image_size: image.as_ref().map_or(0, |a| a.size),
        host_status: n.host_of(c).map(host_status).unwrap_or("OFFLINE").to_string(),
        net_status: info.net_status,
        net_sub_status: String::new(),
        isolate_source: String::new(),
        isolate_time: String::new(),
        node_id: String::new(),
        node_name: n.host_of(c).map(|h| h.facts.hostname.clone()).unwrap_or_default(),
        node_sub_net_id: String::new(),
        node_sub_net_name: String::new(),
        node_sub_net_cidr: String::new(),
        pod_name: info.pod_name,
        pod_ip: String::new(),
        pod_status: String::new(),
        cluster_id: String::new(),
        cluster_name: String::new(),
        node_type: info.node_type,
        node_unique_id: String::new(),
        public_ip: String::new(),
    })
}

// ---- hosts ----

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectInfo {
    pub project_name: String,
    #[serde(rename = "ProjectID")]
    pub project_id: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInfo {
    pub tag_key: String,
    pub tag_value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostInfo {
    #[serde(rename = "HostID")]
    pub host_id: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub host_name: String,
    pub group: String,
    pub docker_version: String,
    pub docker_file_system_driver: String,
    pub image_cnt: u64,
    pub container_cnt: u64,
    pub status: String,
    pub is_containerd: bool,
    pub machine_type: String,
    pub public_ip: String,
    pub uuid: String,
    #[serde(rename = "InstanceID")]
    pub instance_id: String,
    #[serde(rename = "RegionID")]
    pub region_id: i64,
    pub project: ProjectInfo,
    pub tags: Vec<TagInfo>,
    #[serde(rename = "ClusterID")]
    pub cluster_id: String,
    pub cluster_name: String,
    pub cluster_accessed_status: String,
    pub cluster_accessed_sub_status: String,
    pub cluster_accessed_error_reason: String,
    pub charge_cores_cnt: u64,
    pub defend_status: String,
    pub cores_cnt: u64,
    pub last_online_time: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetHostListResponse {
    pub list: Vec<HostInfo>,
    pub total_count: u64,
}

fn no_project() -> ProjectInfo {
    ProjectInfo { project_name: String::new(), project_id: 0 }
}

fn host_info(h: &NodeHost) -> HostInfo {
    let f = &h.facts;
    HostInfo {
        host_id: f.host_id.clone(),
        host_ip: f.ip.clone(),
        host_name: f.hostname.clone(),
        group: String::new(),
        docker_version: f.docker_version.clone(),
        docker_file_system_driver: f.storage_driver.clone(),
        image_cnt: f.image_cnt,
        container_cnt: f.container_cnt,
        status: host_status(h).into(),
        is_containerd: false,
        machine_type: "Other".into(),
        public_ip: String::new(),
        uuid: f.host_id.clone(),
        instance_id: String::new(),
        region_id: 0,
        project: no_project(),
        tags: Vec::new(),
        cluster_id: String::new(),
        cluster_name: String::new(),
        cluster_accessed_status: String::new(),
        cluster_accessed_sub_status: String::new(),
        cluster_accessed_error_reason: String::new(),
        charge_cores_cnt: 0,
        defend_status: "UnDefended".into(),
        cores_cnt: f.cpus,
        last_online_time: format_utc(h.seen_at),
    }
}

/// `ALL`, or the one value every Shipshape host has.
fn all_or(v: &str, only: &str) -> bool {
    v.eq_ignore_ascii_case("ALL") || v.eq_ignore_ascii_case(only)
}

/// DescribeAssetHostList's filters and sort keys.
const HOST_LIST: ListSpec<NodeHost> = ListSpec {
    filters: &[
        ("Status", Filter::Each(|h, v| all_or(v, host_status(h)))),
        ("HostName", Filter::Text(&[|h| &h.facts.hostname])),
        ("HostIP", Filter::Text(&[|h| &h.facts.ip])),
        ("HostID", Filter::Text(&[|h| &h.facts.host_id])),
        ("DockerVersion", Filter::Text(&[|h| &h.facts.docker_version])),
        ("MachineType", Filter::Each(|_, v| all_or(v, "Other"))),
        ("DockerStatus", Filter::Each(|_, v| all_or(v, "INSTALL"))),
        // No groups, projects, tags or clusters: nothing matches.
        ("Group", Filter::Each(|_, _| false)),
        ("ProjectID", Filter::Each(|_, _| false)),
        ("Tag", Filter::Each(|_, _| false)),
        ("ClusterID", Filter::Each(|_, _| false)),
    ],
    sorts: &[
        ("", |a, b| a.facts.host_id.cmp(&b.facts.host_id)),
        ("HostID", |a, b| a.facts.host_id.cmp(&b.facts.host_id)),
        ("HostName", |a, b| a.facts.hostname.cmp(&b.facts.hostname)),
        ("HostIP", |a, b| a.facts.ip.cmp(&b.facts.ip)),
        ("ContainerCnt", |a, b| a.facts.container_cnt.cmp(&b.facts.container_cnt)),
        ("ImageCnt", |a, b| a.facts.image_cnt.cmp(&b.facts.image_cnt)),
        ("LastOnlineTime", |a, b| a.seen_at.cmp(&b.seen_at)),
    ],
    tie_break: Some(|a, b| a.facts.host_id.cmp(&b.facts.host_id)),
};

pub async fn describe_host_list(svc: &Service, caller: Caller, req: ListRequest) -> Result<DescribeAssetHostListResponse, ServiceError> {
    let query = HOST_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    let n = Nodes::load(svc, caller.account).await?;
    let page = query.run(n.hosts.into_values().collect());
    Ok(DescribeAssetHostListResponse { list: page.rows.iter().map(host_info).collect(), total_count: page.total })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetHostDetailRequest {
    pub host_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetHostDetailResponse {
    #[serde(rename = "UUID")]
    pub uuid: String,
    pub update_time: String,
    pub host_name: String,
    pub group: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub os_name: String,
    pub agent_version: String,
    pub kernel_version: String,
    pub docker_version: String,
    #[serde(rename = "DockerAPIVersion")]
    pub docker_api_version: String,
    pub docker_go_version: String,
    pub docker_file_system_driver: String,
    pub docker_root_dir: String,
    pub image_cnt: u64,
    pub container_cnt: u64,
    #[serde(rename = "K8sMasterIP")]
    pub k8s_master_ip: String,
    pub k8s_version: String,
    pub kube_proxy_version: String,
    pub status: String,
    pub is_containerd: bool,
    pub machine_type: String,
    pub public_ip: String,
    #[serde(rename = "InstanceID")]
    pub instance_id: String,
    #[serde(rename = "RegionID")]
    pub region_id: i64,
    pub project: ProjectInfo,
    pub tags: Vec<TagInfo>,
    #[serde(rename = "ClusterID")]
    pub cluster_id: String,
    pub cluster_name: String,
    pub cluster_accessed_status: String,
    pub asset_sync_time: String,
}

pub async fn describe_host_detail(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetHostDetailRequest,
) -> Result<DescribeAssetHostDetailResponse, ServiceError> {
    let n = Nodes::load(svc, caller.account).await?;
    let h = n.hosts.get(req.host_id.trim()).ok_or_else(|| ServiceError::NotFound { what: "Host", id: req.host_id.clone() })?;
    let f = &h.facts;
    Ok(DescribeAssetHostDetailResponse {
        uuid: f.host_id.clone(),
        update_time: format_utc(h.seen_at),
        host_name: f.hostname.clone(),
        group: String::new(),
        host_ip: f.ip.clone(),
        os_name: f.os_name.clone(),
        // The collector is this server itself (no separate agent yet).
        agent_version: format!("shipshape {}", env!("CARGO_PKG_VERSION")),
        kernel_version: f.kernel_version.clone(),
        docker_version: f.docker_version.clone(),
        docker_api_version: f.docker_api_version.clone(),
        docker_go_version: f.docker_go_version.clone(),
        docker_file_system_driver: f.storage_driver.clone(),
        docker_root_dir: f.docker_root_dir.clone(),
        image_cnt: f.image_cnt,
        container_cnt: f.container_cnt,
        k8s_master_ip: String::new(),
        k8s_version: String::new(),
        kube_proxy_version: String::new(),
        status: host_status(h).into(),
        is_containerd: false,
        machine_type: "Other".into(),
        public_ip: String::new(),
        instance_id: String::new(),
        region_id: 0,
        project: no_project(),
        tags: Vec::new(),
        cluster_id: String::new(),
        cluster_name: String::new(),
        cluster_accessed_status: String::new(),
        asset_sync_time: format_utc(h.seen_at),
    })
}

// ---- processes, ports, components ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FlatListRequest {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessInfo {
    pub start_time: String,
    pub run_as: String,
    pub cmd_line: String,
    pub exe: String,
    #[serde(rename = "PID")]
    pub pid: u64,
    #[serde(rename = "ContainerPID")]
    pub container_pid: u64,
    pub container_name: String,
    #[serde(rename = "HostID")]
    pub host_id: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub process_name: String,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetProcessListResponse {
    pub list: Vec<ProcessInfo>,
    pub total_count: u64,
}

/// DescribeAssetProcessList's filters: the process's and its container's.
const PROCESS_LIST: ListSpec<InContainer<ProcessFacts>> = ListSpec {
    filters: &[
        ("RunAs", Filter::Text(&[|r| &r.item.user])),
        ("ProcessName", Filter::Text(&[|r| &r.item.name])),
        ("Pid", Filter::Equals(|r| r.item.pid.to_string())),
        ("PID", Filter::Equals(|r| r.item.pid.to_string())),
        ("ContainerID", Filter::Text(&[|r| &r.c.facts.container_id])),
        ("ContainerName", Filter::Text(&[|r| &r.c.facts.name])),
        ("HostID", Filter::Text(&[|r| &r.c.host_id])),
        ("HostIP", Filter::Text(&[|r| &r.host_ip])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

pub async fn describe_process_list(
    svc: &Service,
    caller: Caller,
    req: FlatListRequest,
) -> Result<DescribeAssetProcessListResponse, ServiceError> {
    let query = PROCESS_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let n = Nodes::load(svc, caller.account).await?;
    let page = query.run(in_containers(&n, |c| &c.facts.processes));
    let list = page
        .rows
        .into_iter()
        .map(|InContainer { c, host_ip, item: p }| {
            let host = n.host_of(&c);
            ProcessInfo {
                start_time: tcss_time(&p.start_time),
                run_as: p.user.clone(),
                cmd_line: p.cmdline.clone(),
                exe: p.exe.clone(),
                pid: p.pid,
                container_pid: p.container_pid,
                container_name: c.facts.name.clone(),
                host_id: c.host_id.clone(),
                host_ip,
                process_name: p.name.clone(),
                host_name: host.map(|h| h.facts.hostname.clone()).unwrap_or_default(),
                public_ip: String::new(),
                node_id: String::new(),
                pod_ip: String::new(),
                pod_name: c.facts.pod_name.clone(),
                node_type: "NORMAL".into(),
                node_unique_id: String::new(),
            }
        })
        .collect();
    Ok(DescribeAssetProcessListResponse { list, total_count: page.total })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortInfo {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "PublicIP")]
    pub public_ip_bind: String,
    pub public_port: u64,
    pub container_port: u64,
    #[serde(rename = "ContainerPID")]
    pub container_pid: u64,
    pub container_name: String,
    #[serde(rename = "HostID")]
    pub host_id: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub process_name: String,
    pub listen_container: String,
    pub listen_host: String,
    pub run_as: String,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetPortListResponse {
    pub list: Vec<PortInfo>,
    pub total_count: u64,
}

/// DescribeAssetPortList's filters: the port's, `All` (any of its texts) and its container's.
const PORT_LIST: ListSpec<InContainer<PortFacts>> = ListSpec {
    filters: &[
        ("RunAs", Filter::Text(&[|r| &r.item.user])),
        ("ProcessName", Filter::Text(&[|r| &r.item.process_name])),
        (
            "All",
            Filter::TextsOf(|r| {
                let p = &r.item;
                vec![
                    p.process_name.clone(),
                    p.listen.clone(),
                    p.host_listen.clone(),
                    r.c.facts.name.clone(),
                    p.user.clone(),
                    p.port.to_string(),
                ]
            }),
        ),
        ("ContainerID", Filter::Text(&[|r| &r.c.facts.container_id])),
        ("ContainerName", Filter::Text(&[|r| &r.c.facts.name])),
        ("HostID", Filter::Text(&[|r| &r.c.host_id])),
        ("HostIP", Filter::Text(&[|r| &r.host_ip])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

pub async fn describe_port_list(
    svc: &Service,
    caller: Caller,
    req: FlatListRequest,
) -> Result<DescribeAssetPortListResponse, ServiceError> {
    let query = PORT_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let n = Nodes::load(svc, caller.account).await?;
    let page = query.run(in_containers(&n, |c| &c.facts.ports));
    let list = page
        .rows
        .into_iter()
        .map(|InContainer { c, host_ip, item: p }| {
            let host = n.host_of(&c);
            let container_pid = c.facts.processes.iter().find(|x| x.pid == p.pid && p.pid > 0).map_or(0, |x| x.container_pid);
            PortInfo {
                kind: p.protocol.clone(),
                public_ip_bind: p.host_listen.rsplit_once(':').map(|(ip, _)| ip.to_string()).unwrap_or_default(),
                public_port: p.host_port,
                container_port: p.port,
                container_pid,
                container_name: c.facts.name.clone(),
                host_id: c.host_id.clone(),
                host_ip,
                process_name: p.process_name.clone(),
                listen_container: p.listen.clone(),
                listen_host: p.host_listen.clone(),
                run_as: p.user.clone(),
                host_name: host.map(|h| h.facts.hostname.clone()).unwrap_or_default(),
                public_ip: String::new(),
                node_id: String::new(),
                pod_ip: String::new(),
                pod_name: c.facts.pod_name.clone(),
                node_type: "NORMAL".into(),
                node_unique_id: String::new(),
            }
        })
        .collect();
    Ok(DescribeAssetPortListResponse { list, total_count: page.total })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetComponentListRequest {
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComponentInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetComponentListResponse {
    pub list: Vec<ComponentInfo>,
    pub total_count: u64,
}

const COMPONENT_LIST: ListSpec<ComponentInfo> = ListSpec {
    filters: &[
        ("Name", Filter::Text(&[|r| &r.name])),
        ("ComponentName", Filter::Text(&[|r| &r.name])),
        ("Version", Filter::Text(&[|r| &r.version])),
        ("ComponentVersion", Filter::Text(&[|r| &r.version])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

pub async fn describe_component_list(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetComponentListRequest,
) -> Result<DescribeAssetComponentListResponse, ServiceError> {
    let query = COMPONENT_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let n = Nodes::load(svc, caller.account).await?;
    let c = n.container(&req.container_id)?;
    let mut rows: Vec<ComponentInfo> = image_components(svc, caller.account, &c.facts.image_id)
        .await?
        .into_iter()
        .map(|p| ComponentInfo { name: p.name, version: p.version })
        .collect();
    rows.dedup_by(|a, b| a.name == b.name && a.version == b.version);
    let page = query.run(rows);
    Ok(DescribeAssetComponentListResponse { list: page.rows, total_count: page.total })
}

// ---- refresh ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateRefreshTaskRequest {
    #[serde(rename = "ClusterIDs")]
    pub cluster_ids: Option<Vec<String>>,
    pub is_sync_list_only: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRefreshTaskResponse {
    pub task_id: u64,
    pub create_result: String,
    #[serde(rename = "NewTaskID")]
    pub new_task_id: String,
}

pub async fn create_refresh_task(
    svc: &Service,
    caller: Caller,
    req: CreateRefreshTaskRequest,
) -> Result<CreateRefreshTaskResponse, ServiceError> {
    if let Some(id) = req.cluster_ids.iter().flatten().next() {
        return Err(invalid("ClusterIDs", format!("no cluster {id:?}: Shipshape refreshes its nodes, it knows no clusters")));
    }
    // IsSyncListOnly: a collection is always the whole list; nothing less to do.
    let _ = req.is_sync_list_only;
    let id = svc.store.create_refresh_task(caller.account).await?;
    Ok(CreateRefreshTaskResponse { task_id: u64::try_from(id).unwrap_or(0), create_result: "Succ".into(), new_task_id: id.to_string() })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeRefreshTaskRequest {
    pub task_id: u64,
    #[serde(rename = "NewTaskID")]
    pub new_task_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRefreshTaskResponse {
    pub task_status: String,
}

pub async fn describe_refresh_task(
    svc: &Service,
    caller: Caller,
    req: DescribeRefreshTaskRequest,
) -> Result<DescribeRefreshTaskResponse, ServiceError> {
    let id = match req.new_task_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => s.trim().parse::<i64>().map_err(|_| invalid("NewTaskID", format!("{s:?} is not a task id")))?,
        None => i64::try_from(req.task_id).unwrap_or(i64::MAX),
    };
    let t = svc.store.refresh_task(caller.account, id).await?;
    Ok(DescribeRefreshTaskResponse { task_status: t.map_or_else(|| "Task_NoExist".to_string(), |t| t.status) })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetSyncLastTimeResponse {
    pub asset_sync_last_time: String,
    pub task_status: String,
    pub task_process: i64,
    pub failed_host_count: u64,
    pub task_id: u64,
}

pub async fn describe_sync_last_time(
    svc: &Service,
    caller: Caller,
    _req: Empty,
) -> Result<DescribeAssetSyncLastTimeResponse, ServiceError> {
    let hosts = svc.store.node_hosts(caller.account).await?;
    let last = svc.store.latest_refresh_task(caller.account).await?;
    let (status, process, failed, id) = match &last {
        // No refresh asked yet: the periodic collection is what there is.
        None => ("Task_Finish".to_string(), 100, 0, 0),
        Some(t) => {
            let process = match t.status.as_str() {
                "Task_New" => 0,
                "Task_Running" => 50,
                _ => 100,
            };
            (t.status.clone(), process, u64::from(t.status == "Task_Error"), u64::try_from(t.task_id).unwrap_or(0))
        }
    };
    Ok(DescribeAssetSyncLastTimeResponse {
        asset_sync_last_time: hosts.iter().map(|h| h.seen_at).max().map(format_utc).unwrap_or_default(),
        task_status: status,
        task_process: process,
        failed_host_count: failed,
        task_id: id,
    })
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
