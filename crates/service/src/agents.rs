//! The node agents' actions, outside TCSS (Shipshape extensions, not among the actions of tcss
//! 2020-11-01), called by `shipshape agent` with an agent key and by nothing else
//! (`api::Action::agent_only`: an agent key can call only these, other keys cannot call them).
//! They change state, so a replayed signature is refused like any write.
//!
//! `ReportNodeAssets`: a report is the whole picture of one node ([`model::node::NodeReport`]): its host (host id =
//! the agent's node id), its containers, its images (inventory source `node:<node id>`, merged by
//! image id with the server's other sources, so an image also in a configured registry is scanned
//! from the registry) and optionally the outcome of its compliance checks (asset keys prefixed with
//! the node id, so two nodes never share an asset). The host shows offline once three reporting
//! intervals pass without a report; everything it reported stays.
//!
//! `PollNodeWork` and `ReportNodeImageScan`: an image only on a node (no registry this server reads
//! holds it) is read there. A server worker hands its queue row to the node (`store::nodes`); the
//! agent's poll lists it, the agent indexes the image with the scan engine (packages, secrets,
//! trojans) and uploads the index; a server worker matches the packages against the advisories
//! and finishes the image like any other. An agent that stops polling fails the image after three
//! of its intervals (`Store::fail_lapsed_node_image_scans`).

use model::node::{NodeImageScan, NodeImageScanJob, NodeReport};
use serde::{Deserialize, Serialize};
use store::compliance::{ComplianceResult, DiscoveredAsset};
use store::nodes::{NODE_SOURCE_PREFIX, Reporter};
use store::scan_tasks::ImageAsset;

use crate::{Service, ServiceError};

/// The extension's action names: the report, the agent's poll for work, the upload of an image
/// scanned on the node.
pub const REPORT_NODE_ASSETS: &str = "ReportNodeAssets";
pub const POLL_NODE_WORK: &str = "PollNodeWork";
pub const REPORT_NODE_IMAGE_SCAN: &str = "ReportNodeImageScan";
/// Missed reports after which a node shows offline.
pub const MISSED_REPORTS_OFFLINE: u64 = 3;
/// Longest reporting interval accepted (a day).
const MAX_INTERVAL_SECS: u64 = 86_400;
/// Most containers, images or compliance assets one report may carry.
const MAX_ROWS: usize = 20_000;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportNodeAssetsResponse {
    /// The host id the node's assets are listed under (`HostID` of the asset actions).
    pub host_id: String,
    pub container_cnt: u64,
    pub image_cnt: u64,
    /// Compliance assets recorded; 0 when the report carried no compliance results.
    pub compliance_asset_cnt: u64,
}

fn check_node_id(id: &str) -> Result<(), ServiceError> {
    let ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::InvalidFormat { field: "NodeId", reason: "1 to 64 characters of A-Z, a-z, 0-9, `-`, `_`, `.`".into() })
    }
}

pub async fn report(svc: &Service, caller: api::Caller, req: NodeReport) -> Result<ReportNodeAssetsResponse, ServiceError> {
    check_node_id(&req.node_id)?;
    if !(1..=MAX_INTERVAL_SECS).contains(&req.interval_secs) {
        return Err(ServiceError::InvalidValue { field: "IntervalSecs", reason: format!("1 to {MAX_INTERVAL_SECS} seconds") });
    }
    let too_many = |field: &'static str, n: usize| {
        (n > MAX_ROWS).then(|| ServiceError::LengthLimit { field, reason: format!("{n} entries, at most {MAX_ROWS}") })
    };
    let sizes =
        [("Containers", req.containers.len()), ("Images", req.images.len()), ("Compliance", req.compliance.as_ref().map_or(0, Vec::len))];
    if let Some(e) = sizes.iter().find_map(|(f, n)| too_many(f, *n)) {
        return Err(e);
    }
    let account = caller.account;
    let node_id = req.node_id;
    // The node id names the host: two agents on one engine are two hosts.
    let host = model::node::HostFacts { host_id: node_id.clone(), ..req.host };
    let reporter = Reporter { secret_id: &caller.secret_id, offline_after: (req.interval_secs * MISSED_REPORTS_OFFLINE) as i64 };
    svc.store.report_node(account, &reporter, &host, &req.containers).await?;

    let images: Vec<ImageAsset> =
        req.images.into_iter().map(|i| ImageAsset::from_facts(i, format!("{NODE_SOURCE_PREFIX}{node_id}"))).collect();
    svc.store.sync_image_assets(account, &format!("{NODE_SOURCE_PREFIX}{node_id}"), &images).await?;

    let mut compliance_asset_cnt = 0;
    if let Some(assets) = req.compliance {
        let report: Vec<(DiscoveredAsset, Vec<ComplianceResult>)> = assets
            .into_iter()
            .map(|a| {
                let asset = DiscoveredAsset {
                    asset_type: a.asset_type,
                    key: format!("{node_id}/{}", a.key),
                    name: a.name,
                    info: a.info.to_string(),
                };
                // The store assigns the asset id; an agent's check belongs to no task.
                let results = a.results.into_iter().map(|r| ComplianceResult::from_report(0, 0, r)).collect();
                (asset, results)
            })
            .collect();
        compliance_asset_cnt = report.len() as u64;
        svc.store.report_node_compliance(account, &node_id, &report).await?;
        svc.store.mark_node_compliance_reported(account, &node_id).await?;
    }
    Ok(ReportNodeAssetsResponse {
        host_id: node_id,
        container_cnt: req.containers.len() as u64,
        image_cnt: images.len() as u64,
        compliance_asset_cnt,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PollNodeWorkRequest {
    pub node_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PollNodeWorkResponse {
    /// Images only on this node that a scan task waits for: the agent reads them and answers
    /// each with `ReportNodeImageScan`. Each poll keeps them waiting (their lease: three of the
    /// node's reporting intervals).
    pub image_scans: Vec<NodeImageScanJob>,
    /// A compliance task was created since this node last reported its checks (an API call or a
    /// periodic rule): the agent runs its checks now instead of at its next `--compliance-every`.
    pub compliance_due: bool,
}

/// The node must have reported with this very key (an agent key polls and uploads for its own
/// node only).
async fn own_node(svc: &Service, caller: &api::Caller, node_id: &str) -> Result<(), ServiceError> {
    check_node_id(node_id)?;
    let hosts = svc.store.node_hosts(caller.account).await?;
    match hosts.iter().find(|h| h.facts.host_id == node_id) {
        Some(h) if h.reported_by == caller.secret_id => Ok(()),
        _ => Err(ServiceError::NotFound { what: "node (reported with this key)", id: node_id.to_string() }),
    }
}

/// `PollNodeWork`: what the server wants of this node now.
pub async fn poll(svc: &Service, caller: api::Caller, req: PollNodeWorkRequest) -> Result<PollNodeWorkResponse, ServiceError> {
    own_node(svc, &caller, &req.node_id).await?;
    let jobs = svc.store.poll_node_image_scans(caller.account, &req.node_id).await?;
    let image_scans = jobs
        .into_iter()
        .map(|j| NodeImageScanJob {
            task_id: j.task_id,
            image_id: j.image_id,
            scan_vul: j.scan_vul,
            scan_virus: j.scan_virus,
            scan_risk: j.scan_risk,
        })
        .collect();
    let compliance_due = svc.store.node_compliance_due(caller.account, &req.node_id).await?;
    Ok(PollNodeWorkResponse { image_scans, compliance_due })
}

/// Most packages one uploaded image may list (an image with 100,000 packages is far beyond any
/// seen; the 10 MB body limit bounds the rest).
const MAX_PACKAGES: usize = 200_000;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportNodeImageScanResponse {
    /// The image's results are computed from this upload (vulnerabilities matched on the server).
    pub accepted: bool,
}

fn check_image_id(id: &str) -> Result<(), ServiceError> {
    let hex = id.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ServiceError::InvalidFormat { field: "ImageID", reason: "`sha256:` and 64 hex digits".into() })
    }
}

/// `ReportNodeImageScan`: an agent's index of an image it was asked to scan. Kept as the input of
/// the image's scan, which a server worker finishes (matching, results, task progress); refused,
/// changing nothing, unless this node's agent was asked for this image in this task.
pub async fn report_image_scan(
    svc: &Service,
    caller: api::Caller,
    req: NodeImageScan,
) -> Result<ReportNodeImageScanResponse, ServiceError> {
    own_node(svc, &caller, &req.node_id).await?;
    check_image_id(&req.image_id)?;
    if req.task_id.is_empty() || req.task_id.len() > 64 || !req.task_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ServiceError::InvalidFormat { field: "TaskID", reason: "1 to 64 letters or digits".into() });
    }
    let sizes =
        [("Packages", req.packages.len(), MAX_PACKAGES), ("Risks", req.risks.len(), MAX_ROWS), ("Malware", req.malware.len(), MAX_ROWS)];
    if let Some((field, n, max)) = sizes.into_iter().find(|(_, n, max)| n > max) {
        return Err(ServiceError::LengthLimit { field, reason: format!("{n} entries, at most {max}") });
    }
    if req.error.len() > 4096 {
        return Err(ServiceError::LengthLimit { field: "Error", reason: "at most 4096 bytes".into() });
    }
    let data = serde_json::to_string(&req).map_err(|e| ServiceError::FailedOperation { reason: e.to_string() })?;
    if !svc.store.accept_node_image_scan(caller.account, &req.node_id, &req.task_id, &req.image_id, &data).await? {
        return Err(ServiceError::NotFound { what: "image scan waiting for this node", id: format!("{}/{}", req.task_id, req.image_id) });
    }
    Ok(ReportNodeImageScanResponse { accepted: true })
}
