//! TCSS actions over the store. [`actions`] is the dispatch list: every action of tcss 2020-11-01
//! appears exactly once, either with its real handler or as `api::unsupported` (answered with
//! `UnsupportedOperation` naming it). Names outside TCSS get `InvalidAction` from the api crate.
//! [`error`] is the one place that maps failures to TCSS codes.
//!
//! Adding an action: a module (one per family) with its request/response structs and handler, and
//! one line in `implemented()`.

use std::sync::Arc;

use api::{Action, LookupError, action};
use futures::future::BoxFuture;

pub mod agents;
pub mod assets;
mod audit;
pub mod compliance;
mod credentials;
pub mod error;
pub mod exports;
pub mod image_scan_setting;
pub mod images;
pub mod list;
pub mod metrics;
pub mod registries;

pub use audit::StoreAudit;
pub use credentials::StoreCredentials;
pub use error::ServiceError;

/// Every action name of tcss 2020-11-01 (from ../shared/spec/actions.md, 357 names).
pub const TCSS_ACTIONS: &str = include_str!("tcss_actions.txt");

/// What handlers share.
pub struct Service {
    pub store: store::Store,
    /// The connection check of registries on add and update (`serve` sets scan's); unset, the
    /// sync worker checks them.
    pub registry_check: std::sync::OnceLock<Arc<dyn store::registries::ConnectionCheck>>,
    /// `DescribeAssetImageScanSetting`'s reads, kept a second ([`image_scan_setting::SETTINGS_TTL`]).
    pub settings: image_scan_setting::SettingsCache,
}

impl Service {
    pub fn new(store: store::Store) -> Arc<Service> {
        Arc::new(Service { store, registry_check: std::sync::OnceLock::new(), settings: Default::default() })
    }
}

/// Wraps a `Service` method as a typed action.
macro_rules! handler {
    ($svc:expr, $name:literal, $f:path) => {{
        let svc = Arc::clone($svc);
        action($name, move |caller, req| {
            let svc = Arc::clone(&svc);
            async move { $f(&svc, caller, req).await }
        })
    }};
}

/// The actions Shipshape implements, one line each.
fn implemented(svc: &Arc<Service>) -> Vec<Action> {
    vec![
        handler!(svc, "CreateAssetImageScanSetting", image_scan_setting::create),
        handler!(svc, "DescribeAssetImageScanSetting", image_scan_setting::describe),
        handler!(svc, "DescribeAssetImageList", images::describe_image_list),
        handler!(svc, "CreateAssetImageScanTask", images::create_scan_task),
        handler!(svc, "DescribeAssetImageScanStatus", images::describe_scan_status),
        handler!(svc, "ModifyAssetImageScanStop", images::stop_scan),
        handler!(svc, "DescribeAssetImageScanTask", images::describe_scan_task),
        handler!(svc, "DescribeAssetImageVulList", images::describe_vul_list),
        handler!(svc, "DescribeAssetImageVirusList", images::describe_virus_list),
        handler!(svc, "DescribeAssetImageRiskList", images::describe_risk_list),
        handler!(svc, "DescribeAssetImageDetail", images::describe_image_detail),
        handler!(svc, "AddAssetImageRegistryRegistryDetail", registries::add_registry),
        handler!(svc, "UpdateAssetImageRegistryRegistryDetail", registries::update_registry),
        handler!(svc, "RemoveAssetImageRegistryRegistryDetail", registries::remove_registry),
        handler!(svc, "CheckRepeatAssetImageRegistry", registries::check_repeat),
        handler!(svc, "DescribeAssetImageRegistryRegistryList", registries::describe_registry_list),
        handler!(svc, "DescribeAssetImageRegistryRegistryDetail", registries::describe_registry_detail),
        handler!(svc, "DescribeImageRegistryNamespaceList", registries::describe_namespace_list),
        handler!(svc, "SyncAssetImageRegistryAsset", registries::sync_assets),
        handler!(svc, "DescribeAssetImageRegistryAssetStatus", registries::describe_asset_status),
        handler!(svc, "DescribeAssetImageRegistryList", registries::describe_image_list),
        handler!(svc, "DescribeAssetImageRegistryDetail", registries::describe_image_detail),
        handler!(svc, "DescribeAssetImageRegistrySummary", registries::describe_summary),
        handler!(svc, "CreateAssetImageRegistryScanTask", registries::create_scan_task),
        handler!(svc, "CreateAssetImageRegistryScanTaskOneKey", registries::create_scan_task_one_key),
        handler!(svc, "DescribeAssetImageRegistryScanStatusOneKey", registries::describe_scan_status),
        handler!(svc, "ModifyAssetImageRegistryScanStop", registries::stop_scan),
        handler!(svc, "ModifyAssetImageRegistryScanStopOneKey", registries::stop_scan_one_key),
        handler!(svc, "DescribeAssetImageRegistryVulList", registries::describe_vul_list),
        handler!(svc, "DescribeAssetImageRegistryVirusList", registries::describe_virus_list),
        handler!(svc, "DescribeAssetImageRegistryRiskInfoList", registries::describe_risk_list),
        handler!(svc, "DescribeImageRegistryTimingScanTask", registries::describe_timing_scan),
        handler!(svc, "UpdateImageRegistryTimingScanTask", registries::update_timing_scan),
        handler!(svc, "DescribeAssetImageRegistryListExport", exports::registry_list),
        handler!(svc, "DescribeAssetImageRegistryVulListExport", exports::registry_vul_list),
        handler!(svc, "DescribeAssetImageRegistryVirusListExport", exports::registry_virus_list),
        handler!(svc, "DescribeAssetImageRegistryRiskListExport", exports::registry_risk_list),
        handler!(svc, "DescribeAssetImageVulListExport", exports::local_vul_list),
        handler!(svc, "DescribeAssetImageVirusListExport", exports::local_virus_list),
        handler!(svc, "DescribeAssetImageRiskListExport", exports::local_risk_list),
        handler!(svc, "DescribeExportJobResult", exports::job_result),
        handler!(svc, "DescribeExportJobDownloadURL", exports::job_download_url),
        handler!(svc, "DescribeExportJobManageList", exports::job_list),
        handler!(svc, "DescribeAssetSummary", assets::describe_summary),
        handler!(svc, "DescribeContainerAssetSummary", assets::describe_container_summary),
        handler!(svc, "DescribeAssetContainerList", assets::describe_container_list),
        handler!(svc, "DescribeAssetContainerDetail", assets::describe_container_detail),
        handler!(svc, "DescribeAssetHostList", assets::describe_host_list),
        handler!(svc, "DescribeAssetHostDetail", assets::describe_host_detail),
        handler!(svc, "DescribeAssetProcessList", assets::describe_process_list),
        handler!(svc, "DescribeAssetPortList", assets::describe_port_list),
        handler!(svc, "DescribeAssetComponentList", assets::describe_component_list),
        handler!(svc, "CreateRefreshTask", assets::create_refresh_task),
        handler!(svc, "DescribeRefreshTask", assets::describe_refresh_task),
        handler!(svc, "DescribeAssetSyncLastTime", assets::describe_sync_last_time),
        handler!(svc, "ScanComplianceAssets", compliance::scan_assets),
        handler!(svc, "ScanComplianceAssetsByPolicyItem", compliance::scan_assets_by_item),
        handler!(svc, "ScanComplianceScanFailedAssets", compliance::scan_failed_assets),
        handler!(svc, "ScanCompliancePolicyItems", compliance::scan_items),
        handler!(svc, "DescribeComplianceAssetList", compliance::describe_asset_list),
        handler!(svc, "DescribeComplianceScanFailedAssetList", compliance::describe_failed_asset_list),
        handler!(svc, "DescribeComplianceAssetPolicyItemList", compliance::describe_asset_policy_items),
        handler!(svc, "DescribeComplianceAssetDetailInfo", compliance::describe_asset_detail),
        handler!(svc, "DescribeCompliancePolicyItemAffectedAssetList", compliance::describe_item_affected_assets),
        handler!(svc, "DescribeCompliancePolicyItemAffectedSummary", compliance::describe_item_summary),
        handler!(svc, "DescribeComplianceTaskPolicyItemSummaryList", compliance::describe_task_item_summaries),
        handler!(svc, "DescribeComplianceTaskAssetSummary", compliance::describe_task_asset_summary),
        handler!(svc, "AddCompliancePolicyItemToWhitelist", compliance::whitelist_add_items),
        handler!(svc, "AddCompliancePolicyAssetSetToWhitelist", compliance::whitelist_add_policy_assets),
        handler!(svc, "AddComplianceAssetPolicySetToWhitelist", compliance::whitelist_add_asset_policies),
        handler!(svc, "DeleteCompliancePolicyItemFromWhitelist", compliance::whitelist_delete_ids),
        handler!(svc, "DeleteComplianceAssetPolicySetFromWhitelist", compliance::whitelist_delete_asset_policies),
        handler!(svc, "DeleteCompliancePolicyAssetSetFromWhitelist", compliance::whitelist_delete_policy_assets),
        handler!(svc, "DescribeComplianceWhitelistItemList", compliance::whitelist_list),
        handler!(svc, "DescribeCompliancePeriodTaskList", compliance::describe_period_tasks),
        handler!(svc, "ModifyCompliancePeriodTask", compliance::modify_period_task),
    ]
}

/// The full dispatch list: implemented actions plus an `UnsupportedOperation` entry for every other
/// TCSS action, plus Shipshape's extensions for node agents ([`agents`]: for agent keys only).
pub fn actions(svc: &Arc<Service>) -> Vec<Action> {
    let mut list = implemented(svc);
    let done: Vec<&'static str> = list.iter().map(|a| a.name).collect();
    list.extend(tcss_action_names().filter(|n| !done.contains(n)).map(api::unsupported));
    list.push(handler!(svc, "ReportNodeAssets", agents::report).agent_only());
    list.push(handler!(svc, "PollNodeWork", agents::poll).agent_only());
    list.push(handler!(svc, "ReportNodeImageScan", agents::report_image_scan).agent_only());
    list
}

pub fn tcss_action_names() -> impl Iterator<Item = &'static str> {
    TCSS_ACTIONS.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// `api::SeenSignatures` over the store's `seen_signatures` table (replay protection shared by every
/// API process on the database).
pub struct StoreSignatures(pub store::Store);

impl api::SeenSignatures for StoreSignatures {
    fn first_use<'a>(&'a self, digest: &'a [u8; 32], now: i64, expires_at: i64) -> BoxFuture<'a, Result<bool, LookupError>> {
        Box::pin(async move { self.0.first_signature_use(digest, now, expires_at).await.map_err(error::lookup_error) })
    }

    fn forget<'a>(&'a self, digest: &'a [u8; 32]) -> BoxFuture<'a, Result<(), LookupError>> {
        Box::pin(async move { self.0.forget_signature(digest).await.map_err(error::lookup_error) })
    }
}

/// [`api::SharedRateCounter`] over the store: the per-(account, action) budget every API replica on
/// the database leases its tokens from (`store::coordination`).
pub struct StoreRateCounter(pub store::Store);

impl api::SharedRateCounter for StoreRateCounter {
    fn take<'a>(&'a self, account: model::AccountId, action: &'static str, window: i64, n: u32) -> BoxFuture<'a, Result<u64, LookupError>> {
        Box::pin(async move { self.0.take_rate_tokens(account, action, window, n).await.map_err(error::lookup_error) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_tcss_action_once_and_implemented_ones_are_real() {
        let dir = tempfile::tempdir().unwrap();
        let svc = Service::new(store::Store::open(dir.path(), None).await.unwrap());
        let list = actions(&svc);
        assert_eq!(list.len(), 357 + 3, "the TCSS actions and the agents' three extensions");
        for ext in [agents::REPORT_NODE_ASSETS, agents::POLL_NODE_WORK, agents::REPORT_NODE_IMAGE_SCAN] {
            assert!(!tcss_action_names().any(|n| n == ext), "{ext}: the extensions are outside TCSS");
        }
        for a in implemented(&svc) {
            assert!(tcss_action_names().any(|n| n == a.name), "{} is not a TCSS action", a.name);
            let entry = list.iter().find(|x| x.name == a.name).unwrap();
            assert!(!entry.is_unsupported());
        }
        assert_eq!(list.iter().filter(|a| !a.is_unsupported()).count(), implemented(&svc).len() + 3);
        assert!(api::ActionTable::new(list).is_ok(), "no duplicates");
    }

    /// The shared rate limit's bounds (`api::rate_limit`) with the budget leased from a real database.
    #[tokio::test]
    async fn rate_budget_bounds_hold_over_the_store() {
        use api::rate_limit::exactness;
        let dir = tempfile::tempdir().unwrap();
        for (store, account) in store::testing::stores_with_account(dir.path()).await {
            let backend = store.backend();
            let counter: std::sync::Arc<dyn api::SharedRateCounter> = std::sync::Arc::new(StoreRateCounter(store));
            for (replicas, per_replica, windows) in [(1, 30, 10..12), (2, 15, 20..23), (3, 10, 30..32)] {
                let seconds = exactness::round_robin(counter.clone(), replicas, 20, per_replica, windows, account).await;
                assert!(
                    seconds.iter().all(|(a, r)| exactness::within_bounds(*a, *r, replicas, 20) && *r),
                    "{backend:?} R={replicas}: {seconds:?}"
                );
            }
        }
    }
}
