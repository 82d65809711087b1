//! `DescribeAssetSummary` and `DescribeContainerAssetSummary`: counts over what the nodes last reported.

use api::Caller;
use serde::{Deserialize, Serialize};
use store::scan_tasks::format_utc;

use super::{Nodes, host_status, now, tcss_time};
use crate::Service;
use crate::error::ServiceError;
use crate::images::image_rows;

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
        today_new_image_cnt: images.iter().filter(|r| tcss_time(&r.asset.facts.created).starts_with(&today)).count() as u64,
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
