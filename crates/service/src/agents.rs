//! `ReportNodeAssets`: the one action outside TCSS (a Shipshape extension, not among the actions of
//! tcss 2020-11-01), called by `shipshape agent` with an agent key and by nothing else
//! (`api::Action::agent_only`: an agent key can call only this, other keys cannot call it).
//! It changes state, so a replayed signature is refused like any write.
//!
//! A report is the whole picture of one node ([`model::node::NodeReport`]): its host (host id =
//! the agent's node id), its containers, its images (inventory source `node:<node id>`, merged by
//! image id with the server's other sources, so an image also in a configured registry is scanned
//! from the registry) and optionally the outcome of its compliance checks (asset keys prefixed with
//! the node id, so two nodes never share an asset). The host shows offline once three reporting
//! intervals pass without a report; everything it reported stays.

use model::node::NodeReport;
use serde::Serialize;
use store::compliance::{ComplianceResult, DiscoveredAsset};
use store::nodes::{NODE_SOURCE_PREFIX, Reporter};
use store::scan_tasks::ImageAsset;

use crate::{Service, ServiceError};

/// The extension's action name.
pub const REPORT_NODE_ASSETS: &str = "ReportNodeAssets";
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
    }
    Ok(ReportNodeAssetsResponse {
        host_id: node_id,
        container_cnt: req.containers.len() as u64,
        image_cnt: images.len() as u64,
        compliance_asset_cnt,
    })
}
