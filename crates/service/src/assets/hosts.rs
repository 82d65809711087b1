//! `DescribeAssetHostList` / `DescribeAssetHostDetail`.

use api::Caller;
use serde::{Deserialize, Serialize};
use store::nodes::NodeHost;
use store::scan_tasks::format_utc;

use super::{Nodes, host_status};
use crate::Service;
use crate::error::ServiceError;
use crate::list::{Filter, ListRequest, ListSpec};

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
