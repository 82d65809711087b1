//! `DescribeAssetContainerList` / `DescribeAssetContainerDetail`.

use api::Caller;
use serde::{Deserialize, Serialize};
use store::nodes::NodeContainer;
use store::scan_tasks::format_utc;

use super::{InContainer, Nodes, host_status, in_containers, tcss_time};
use crate::Service;
use crate::error::ServiceError;
use crate::list::{Filter, ListRequest, ListSpec};

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
pub(super) async fn image_components(
    svc: &Service,
    account: model::AccountId,
    image_id: &str,
) -> Result<Vec<model::Package>, ServiceError> {
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
        image_create_time: image.as_ref().map(|a| tcss_time(&a.facts.created)).unwrap_or_default(),
        image_size: image.as_ref().map_or(0, |a| a.facts.size),
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
