//! Compliance actions: the ScanCompliance* tasks, the asset, item, summary and failed-asset lists,
//! the whitelist (ignore) actions and the periodic tasks (schemas: ../shared/spec/schema).
//!
//! Handlers validate against the store's assets and the built-in catalog, then only read and write
//! the store: tasks are queue rows the `scan::compliance` worker claims; assets are what its
//! discovery last saw. Bad input changes nothing.
//!
//! Conventions where TCSS leaves room:
//! - An item that does not apply to an asset (AppArmor on a host without it) is never counted as
//!   passed or failed: it is listed with an empty `CheckResult` and `VerifyInfo` saying why.
//! - A whitelisted (ignored) item is not checked; its entry id is in `WhitelistId`, and it counts
//!   as `IgnoredPolicyItemCount`, never as passed.
//! - `VerifyInfo`: the conclusion, then the evidence as JSON. Times are UTC `YYYY-MM-DD HH:MM:SS`.
//! - Benchmark standards: 1 CIS Docker (host, container, image items), 2 CIS Kubernetes, 3 the
//!   containerd baseline. PeriodTaskId: 1-6 in the order ASSET_CONTAINER, ASSET_IMAGE,
//!   ASSET_HOST, ASSET_K8S, ASSET_CONTAINERD, ASSET_CONTAINERD_CONTAINER.

use std::collections::{BTreeSet, HashMap};

use api::Caller;
use compliance::{AssetType, Catalog, CatalogItem};
use model::AccountId;
use serde::{Deserialize, Serialize};
use store::compliance::{ComplianceAsset, ComplianceResult, PeriodTask, Target, WhitelistEntry};
use store::scan_tasks::format_utc;

use crate::Service;
use crate::error::ServiceError;
use crate::list::{AssetFilters as ComplianceFilters, all_match, check_filters, descending, invalid, page, paged, sorted, text_match};

const MAX_IDS: usize = 10_000;

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(Catalog::builtin)
}

fn missing(field: &'static str) -> ServiceError {
    ServiceError::MissingParameter { field, reason: "give at least one id".into() }
}

fn parse_type(field: &'static str, t: &str) -> Result<AssetType, ServiceError> {
    t.parse::<AssetType>().map_err(|_| {
        invalid(
            field,
            format!(
                "{t:?} is not one of ASSET_CONTAINER, ASSET_IMAGE, ASSET_HOST, ASSET_K8S, ASSET_CONTAINERD, ASSET_CONTAINERD_CONTAINER"
            ),
        )
    })
}

fn parse_types(field: &'static str, v: &Option<Vec<String>>) -> Result<Vec<AssetType>, ServiceError> {
    match v {
        None => Ok(AssetType::ALL.to_vec()),
        Some(v) if v.is_empty() => Ok(AssetType::ALL.to_vec()),
        Some(v) => v.iter().map(|t| parse_type(field, t)).collect(),
    }
}

fn ids(field: &'static str, v: &Option<Vec<u64>>) -> Result<Vec<u64>, ServiceError> {
    let v = v.as_ref().filter(|v| !v.is_empty()).ok_or_else(|| missing(field))?;
    if v.len() > MAX_IDS {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_IDS} ids, got {}", v.len()) });
    }
    let set: BTreeSet<u64> = v.iter().copied().collect();
    Ok(set.into_iter().collect())
}

fn item(field: &'static str, id: u64) -> Result<&'static CatalogItem, ServiceError> {
    catalog().get(id).ok_or_else(|| invalid(field, format!("unknown check item id {id}")))
}

fn names(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// Everything the read actions combine, loaded once per request.
struct View {
    assets: Vec<ComplianceAsset>,
    results: HashMap<(u64, u64), ComplianceResult>,
    whitelist: Vec<WhitelistEntry>,
}

impl View {
    async fn load(svc: &Service, account: AccountId) -> Result<View, ServiceError> {
        let assets = svc.store.compliance_assets(account).await?;
        let results = svc.store.compliance_results(account).await?.into_iter().map(|r| ((r.asset_id, r.item_id), r)).collect();
        let whitelist = svc.store.compliance_whitelist(account).await?;
        Ok(View { assets, results, whitelist })
    }

    fn asset(&self, id: u64) -> Option<&ComplianceAsset> {
        self.assets.iter().find(|a| a.asset_id == id)
    }

    /// The whitelist entry ignoring `item` on `asset` (0: none).
    fn whitelist_id(&self, item: u64, asset: u64) -> u64 {
        self.whitelist.iter().find(|w| w.item_id == item && (w.asset_id == 0 || w.asset_id == asset)).map_or(0, |w| w.whitelist_id)
    }

    /// Assets of the request, validated: all known, all of `asset_type` when given.
    fn select(&self, field: &'static str, ids: &[u64], asset_type: Option<AssetType>) -> Result<Vec<&ComplianceAsset>, ServiceError> {
        let unknown: Vec<u64> = ids.iter().copied().filter(|i| self.asset(*i).is_none()).collect();
        if !unknown.is_empty() {
            return Err(invalid(field, format!("unknown asset ids: {}", names(&unknown))));
        }
        let found: Vec<&ComplianceAsset> = ids.iter().filter_map(|i| self.asset(*i)).collect();
        if let Some(t) = asset_type {
            let other: Vec<u64> = found.iter().filter(|a| a.asset_type != t.as_str()).map(|a| a.asset_id).collect();
            if !other.is_empty() {
                return Err(invalid(field, format!("assets {} are not of type {t}", names(&other))));
            }
        }
        Ok(found)
    }

    /// Per-asset tallies over the catalog items of its type.
    fn tally(&self, a: &ComplianceAsset) -> Tally {
        let mut t = Tally::default();
        let Ok(ty) = a.asset_type.parse::<AssetType>() else {
            return t;
        };
        for it in catalog().items_for(ty) {
            if self.whitelist_id(it.id, a.asset_id) != 0 {
                t.ignored += 1;
                continue;
            }
            let Some(r) = self.results.get(&(a.asset_id, it.id)) else {
                continue;
            };
            t.checked_at = t.checked_at.max(r.checked_at);
            match r.status.as_str() {
                "CHECK_RUNNING" => t.running += 1,
                "CHECK_FAILED" => {
                    t.check_failed += 1;
                    if t.failure.is_empty() {
                        t.failure = format!("item {}: {}", it.id, r.reason);
                    }
                }
                "CHECK_FINISHED" if r.result == "RESULT_PASSED" => t.passed += 1,
                "CHECK_FINISHED" => {
                    t.failed += 1;
                    *t.failed_by_risk.entry(it.risk.clone()).or_default() += 1;
                }
                _ => t.not_applicable += 1,
            }
        }
        t
    }
}

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    check_failed: u64,
    running: u64,
    ignored: u64,
    not_applicable: u64,
    failed_by_risk: HashMap<String, u64>,
    checked_at: i64,
    failure: String,
}

impl Tally {
    fn status(&self) -> &'static str {
        if self.running > 0 {
            "CHECK_RUNNING"
        } else if self.check_failed > 0 {
            "CHECK_FAILED"
        } else if self.passed + self.failed + self.not_applicable == 0 {
            "CHECK_INIT"
        } else {
            "CHECK_FINISHED"
        }
    }
    fn result(&self) -> &'static str {
        if self.failed > 0 {
            "RESULT_FAILED"
        } else if self.passed > 0 && self.check_failed == 0 && self.running == 0 {
            "RESULT_PASSED"
        } else {
            ""
        }
    }
}

fn time_or_empty(t: i64) -> String {
    if t > 0 { format_utc(t) } else { String::new() }
}

fn info(a: &ComplianceAsset, key: &str) -> String {
    serde_json::from_str::<serde_json::Value>(&a.info)
        .ok()
        .and_then(|v| v.get(key).and_then(|x| x.as_str()).map(str::to_string))
        .unwrap_or_default()
}

fn verify_info(r: &ComplianceResult) -> String {
    match r.status.as_str() {
        "NOT_APPLICABLE" => format!("not applicable: {}", r.reason),
        _ if r.evidence == "null" || r.evidence.is_empty() => r.reason.clone(),
        _ => format!("{} evidence: {}", r.reason, r.evidence),
    }
}

// ---- the scan actions ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ScanAssetsRequest {
    pub customer_asset_id_set: Option<Vec<u64>>,
    pub asset_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ScanByItemRequest {
    pub customer_policy_item_id: Option<u64>,
    pub customer_asset_id_set: Option<Vec<u64>>,
    pub asset_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ScanItemsRequest {
    pub customer_policy_item_id_set: Option<Vec<u64>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskIdResponse {
    pub task_id: u64,
}

/// Items of `ty` to check on `a`, minus those the whitelist ignores.
fn checkable(view: &View, a: &ComplianceAsset, items: impl Iterator<Item = u64>) -> Target {
    Target { asset_id: a.asset_id, items: items.filter(|i| view.whitelist_id(*i, a.asset_id) == 0).collect() }
}

async fn queue(svc: &Service, account: AccountId, kind: &str, targets: Vec<Target>) -> Result<TaskIdResponse, ServiceError> {
    let types: BTreeSet<String> =
        targets.iter().flat_map(|t| t.items.first().and_then(|i| catalog().get(*i)).map(|it| it.asset_type.as_str().to_string())).collect();
    let task_id = svc.store.create_compliance_task(account, kind, &types.into_iter().collect::<Vec<_>>(), &targets).await?;
    Ok(TaskIdResponse { task_id })
}

fn optional_type(v: &Option<String>) -> Result<Option<AssetType>, ServiceError> {
    v.as_deref().filter(|t| !t.is_empty()).map(|t| parse_type("AssetType", t)).transpose()
}

/// `ScanComplianceAssets`: every item of the given assets.
pub async fn scan_assets(svc: &Service, caller: Caller, req: ScanAssetsRequest) -> Result<TaskIdResponse, ServiceError> {
    let ids = ids("CustomerAssetIdSet", &req.customer_asset_id_set)?;
    let ty = optional_type(&req.asset_type)?;
    let view = View::load(svc, caller.account).await?;
    let assets = view.select("CustomerAssetIdSet", &ids, ty)?;
    let targets = assets
        .iter()
        .map(|a| {
            let t = a.asset_type.parse::<AssetType>().ok();
            checkable(&view, a, catalog().items().filter(|i| Some(i.asset_type) == t).map(|i| i.id))
        })
        .collect();
    queue(svc, caller.account, "assets", targets).await
}

/// `ScanComplianceAssetsByPolicyItem`: one item on the given assets.
pub async fn scan_assets_by_item(svc: &Service, caller: Caller, req: ScanByItemRequest) -> Result<TaskIdResponse, ServiceError> {
    let item_id = req.customer_policy_item_id.ok_or_else(|| missing("CustomerPolicyItemId"))?;
    let ids = ids("CustomerAssetIdSet", &req.customer_asset_id_set)?;
    let ty = optional_type(&req.asset_type)?;
    let it = item("CustomerPolicyItemId", item_id)?;
    if let Some(t) = ty
        && t != it.asset_type
    {
        return Err(invalid("CustomerPolicyItemId", format!("item {item_id} checks {}, not {t}", it.asset_type)));
    }
    let view = View::load(svc, caller.account).await?;
    let assets = view.select("CustomerAssetIdSet", &ids, ty)?;
    let other: Vec<u64> = assets.iter().filter(|a| a.asset_type != it.asset_type.as_str()).map(|a| a.asset_id).collect();
    if !other.is_empty() {
        return Err(invalid("CustomerAssetIdSet", format!("item {item_id} checks {}; assets {} are not", it.asset_type, names(&other))));
    }
    let targets = assets.iter().map(|a| checkable(&view, a, std::iter::once(item_id))).collect();
    queue(svc, caller.account, "by_item", targets).await
}

/// `ScanComplianceScanFailedAssets`: exactly the items whose check could not complete.
pub async fn scan_failed_assets(svc: &Service, caller: Caller, req: ScanAssetsRequest) -> Result<TaskIdResponse, ServiceError> {
    let ids = ids("CustomerAssetIdSet", &req.customer_asset_id_set)?;
    let ty = optional_type(&req.asset_type)?;
    let view = View::load(svc, caller.account).await?;
    let assets = view.select("CustomerAssetIdSet", &ids, ty)?;
    let failed_items = |a: &ComplianceAsset| -> Vec<u64> {
        let mut v: Vec<u64> = view
            .results
            .values()
            .filter(|r| r.asset_id == a.asset_id && r.status == "CHECK_FAILED" && view.whitelist_id(r.item_id, a.asset_id) == 0)
            .map(|r| r.item_id)
            .collect();
        v.sort_unstable();
        v
    };
    let not_failed: Vec<u64> = assets.iter().filter(|a| failed_items(a).is_empty()).map(|a| a.asset_id).collect();
    if !not_failed.is_empty() {
        return Err(invalid("CustomerAssetIdSet", format!("assets {} have no failed check items", names(&not_failed))));
    }
    let targets = assets.iter().map(|a| Target { asset_id: a.asset_id, items: failed_items(a) }).collect();
    queue(svc, caller.account, "failed", targets).await
}

/// `ScanCompliancePolicyItems`: the given items on every present asset of their types.
pub async fn scan_items(svc: &Service, caller: Caller, req: ScanItemsRequest) -> Result<TaskIdResponse, ServiceError> {
    let item_ids = ids("CustomerPolicyItemIdSet", &req.customer_policy_item_id_set)?;
    let unknown: Vec<u64> = item_ids.iter().copied().filter(|i| catalog().get(*i).is_none()).collect();
    if !unknown.is_empty() {
        return Err(invalid("CustomerPolicyItemIdSet", format!("unknown check item ids: {}", names(&unknown))));
    }
    let view = View::load(svc, caller.account).await?;
    let targets: Vec<Target> = view
        .assets
        .iter()
        .filter(|a| a.present)
        .map(|a| {
            checkable(
                &view,
                a,
                item_ids.iter().copied().filter(|i| catalog().get(*i).is_some_and(|it| it.asset_type.as_str() == a.asset_type)),
            )
        })
        .filter(|t| !t.items.is_empty())
        .collect();
    queue(svc, caller.account, "items", targets).await
}

// ---- assets ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AssetListRequest {
    pub asset_type_set: Option<Vec<String>>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub filters: Option<Vec<ComplianceFilters>>,
}

#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRegistryInfo {
    pub name: String,
    pub r#type: String,
    pub address: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceAssetInfo {
    pub customer_asset_id: u64,
    pub asset_type: String,
    pub asset_name: String,
    pub image_tag: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub node_name: String,
    pub check_status: String,
    pub passed_policy_item_count: u64,
    pub failed_policy_item_count: u64,
    pub last_check_time: String,
    pub check_result: String,
    pub instance_id: String,
    pub image_registry_info: ImageRegistryInfo,
    #[serde(rename = "ClusterID")]
    pub cluster_id: String,
    pub cluster_name: String,
    #[serde(rename = "AssetUniqueID")]
    pub asset_unique_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssetListResponse {
    pub total_count: u64,
    pub asset_info_list: Vec<ComplianceAssetInfo>,
}

fn asset_info(view: &View, a: &ComplianceAsset) -> ComplianceAssetInfo {
    let t = view.tally(a);
    ComplianceAssetInfo {
        customer_asset_id: a.asset_id,
        asset_type: a.asset_type.clone(),
        asset_name: a.name.clone(),
        image_tag: info(a, "ImageTag"),
        host_ip: String::new(),
        node_name: info(a, "NodeName"),
        check_status: t.status().into(),
        passed_policy_item_count: t.passed,
        failed_policy_item_count: t.failed,
        last_check_time: time_or_empty(t.checked_at),
        check_result: t.result().into(),
        instance_id: String::new(),
        image_registry_info: ImageRegistryInfo::default(),
        cluster_id: String::new(),
        cluster_name: String::new(),
        asset_unique_id: a.key.clone(),
    }
}

fn asset_filter(view: &View, a: &ComplianceAsset, f: &ComplianceFilters) -> Result<bool, ServiceError> {
    Ok(match f.name.as_str() {
        "AssetName" => text_match(f, &a.name),
        "ImageTag" => text_match(f, &info(a, "ImageTag")),
        "NodeName" => text_match(f, &info(a, "NodeName")),
        "CheckStatus" => text_match(f, view.tally(a).status()),
        "CheckResult" => text_match(f, view.tally(a).result()),
        "CustomerAssetId" => f.values.iter().any(|v| v == &a.asset_id.to_string()),
        "AssetUniqueID" => text_match(f, &a.key),
        other => {
            return Err(invalid(
                "Filters",
                format!(
                    "unknown filter name {other:?} (AssetName, ImageTag, NodeName, CheckStatus, CheckResult, CustomerAssetId, AssetUniqueID)"
                ),
            ));
        }
    })
}

fn filtered_assets<'a>(
    view: &'a View,
    types: &[AssetType],
    filters: &[ComplianceFilters],
) -> Result<Vec<&'a ComplianceAsset>, ServiceError> {
    check_filters(filters)?;
    let mut out = Vec::new();
    for a in view.assets.iter().filter(|a| a.present && types.iter().any(|t| t.as_str() == a.asset_type)) {
        if all_match(filters, |f| asset_filter(view, a, f))? {
            out.push(a);
        }
    }
    Ok(out)
}

/// `DescribeComplianceAssetList`.
pub async fn describe_asset_list(svc: &Service, caller: Caller, req: AssetListRequest) -> Result<AssetListResponse, ServiceError> {
    let types = parse_types("AssetTypeSet", &req.asset_type_set)?;
    let paging = page(req.limit, req.offset)?;
    let view = View::load(svc, caller.account).await?;
    let list = filtered_assets(&view, &types, req.filters.as_deref().unwrap_or_default())?;
    let total = list.len() as u64;
    let asset_info_list = paged(list, paging).into_iter().map(|a| asset_info(&view, a)).collect();
    Ok(AssetListResponse { total_count: total, asset_info_list })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceScanFailedAsset {
    pub customer_asset_id: u64,
    pub asset_type: String,
    pub check_status: String,
    pub asset_name: String,
    pub failure_reason: String,
    pub suggestion: String,
    pub check_time: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailedAssetListResponse {
    pub total_count: u64,
    pub scan_failed_asset_list: Vec<ComplianceScanFailedAsset>,
}

/// `DescribeComplianceScanFailedAssetList`: assets with at least one item whose check could not complete.
pub async fn describe_failed_asset_list(
    svc: &Service,
    caller: Caller,
    req: AssetListRequest,
) -> Result<FailedAssetListResponse, ServiceError> {
    let types = parse_types("AssetTypeSet", &req.asset_type_set)?;
    let paging = page(req.limit, req.offset)?;
    let view = View::load(svc, caller.account).await?;
    let list: Vec<(&ComplianceAsset, Tally)> = filtered_assets(&view, &types, req.filters.as_deref().unwrap_or_default())?
        .into_iter()
        .map(|a| (a, view.tally(a)))
        .filter(|(_, t)| t.check_failed > 0)
        .collect();
    let total = list.len() as u64;
    let scan_failed_asset_list = paged(list, paging)
        .into_iter()
        .map(|(a, t)| ComplianceScanFailedAsset {
            customer_asset_id: a.asset_id,
            asset_type: a.asset_type.clone(),
            check_status: t.status().into(),
            asset_name: a.name.clone(),
            failure_reason: t.failure.clone(),
            suggestion: "Make the asset reachable (daemon socket, files), then re-check it with ScanComplianceScanFailedAssets.".into(),
            check_time: time_or_empty(t.checked_at),
        })
        .collect();
    Ok(FailedAssetListResponse { total_count: total, scan_failed_asset_list })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AssetPolicyItemListRequest {
    pub customer_asset_id: Option<u64>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub filters: Option<Vec<ComplianceFilters>>,
    pub asset_type: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceAssetPolicyItem {
    pub customer_policy_item_id: u64,
    pub base_policy_item_id: u64,
    pub name: String,
    pub category: String,
    pub benchmark_standard_id: u64,
    pub benchmark_standard_name: String,
    pub risk_level: String,
    pub check_status: String,
    pub check_result: String,
    pub whitelist_id: u64,
    pub fix_suggestion: String,
    pub last_check_time: String,
    pub verify_info: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssetPolicyItemListResponse {
    pub total_count: u64,
    pub asset_policy_item_list: Vec<ComplianceAssetPolicyItem>,
}

fn one_asset<'a>(view: &'a View, id: Option<u64>, asset_type: &Option<String>) -> Result<&'a ComplianceAsset, ServiceError> {
    let id = id.ok_or_else(|| ServiceError::MissingParameter { field: "CustomerAssetId", reason: "name the asset".into() })?;
    let ty = optional_type(asset_type)?;
    Ok(view.select("CustomerAssetId", &[id], ty)?[0])
}

/// (status, result, verify info, time) of one item on one asset, as the lists show it.
fn item_state(view: &View, a: &ComplianceAsset, it: &CatalogItem) -> (String, String, String, String) {
    let wl = view.whitelist_id(it.id, a.asset_id);
    match view.results.get(&(a.asset_id, it.id)) {
        _ if wl != 0 => ("CHECK_FINISHED".into(), String::new(), format!("ignored by whitelist entry {wl}"), String::new()),
        None => ("CHECK_INIT".into(), String::new(), String::new(), String::new()),
        Some(r) if r.status == "NOT_APPLICABLE" => ("CHECK_FINISHED".into(), String::new(), verify_info(r), format_utc(r.checked_at)),
        Some(r) => (r.status.clone(), r.result.clone(), verify_info(r), format_utc(r.checked_at)),
    }
}

/// `DescribeComplianceAssetPolicyItemList`: the items of one asset with their latest results.
pub async fn describe_asset_policy_items(
    svc: &Service,
    caller: Caller,
    req: AssetPolicyItemListRequest,
) -> Result<AssetPolicyItemListResponse, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    let filters = req.filters.unwrap_or_default();
    check_filters(&filters)?;
    let view = View::load(svc, caller.account).await?;
    let a = one_asset(&view, req.customer_asset_id, &req.asset_type)?;
    let ty = parse_type("AssetType", &a.asset_type)?;
    let mut list = Vec::new();
    for it in catalog().items_for(ty) {
        let keep = all_match(&filters, |f| {
            Ok(match f.name.as_str() {
                "RiskLevel" => text_match(f, &it.risk),
                "AppId" => f.values.iter().any(|v| v == &caller.account.to_string()),
                "Name" => text_match(f, &it.name),
                "CheckResult" => text_match(f, &item_state(&view, a, it).1),
                other => {
                    return Err(invalid("Filters", format!("unknown filter name {other:?} (RiskLevel, AppId, Name, CheckResult)")));
                }
            })
        })?;
        if keep {
            list.push(it);
        }
    }
    let total = list.len() as u64;
    let asset_policy_item_list = paged(list, paging)
        .into_iter()
        .map(|it| {
            let (check_status, check_result, verify_info, last_check_time) = item_state(&view, a, it);
            let (sid, sname) = it.asset_type.benchmark_standard();
            ComplianceAssetPolicyItem {
                customer_policy_item_id: it.id,
                base_policy_item_id: it.id,
                name: it.name.clone(),
                category: it.category.clone(),
                benchmark_standard_id: sid,
                benchmark_standard_name: sname.into(),
                risk_level: it.risk.clone(),
                check_status,
                check_result,
                whitelist_id: view.whitelist_id(it.id, a.asset_id),
                fix_suggestion: it.fix_suggestion.clone(),
                last_check_time,
                verify_info,
            }
        })
        .collect();
    Ok(AssetPolicyItemListResponse { total_count: total, asset_policy_item_list })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AssetDetailRequest {
    pub customer_asset_id: Option<u64>,
    pub asset_type: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceAssetDetailInfo {
    pub customer_asset_id: u64,
    pub asset_type: String,
    pub asset_name: String,
    pub node_name: String,
    pub host_name: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub check_status: String,
    pub passed_policy_item_count: u64,
    pub failed_policy_item_count: u64,
    pub last_check_time: String,
    pub check_result: String,
    pub asset_status: String,
    pub asset_create_time: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerDetail {
    pub container_id: String,
    pub pod_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageDetail {
    pub image_id: String,
    pub image_name: String,
    pub image_tag: String,
    pub repository: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostDetail {
    pub docker_version: String,
    #[serde(rename = "K8SVersion")]
    pub k8s_version: String,
    pub containerd_version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct K8sDetail {
    pub cluster_name: String,
    pub cluster_version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssetDetailResponse {
    pub asset_detail_info: ComplianceAssetDetailInfo,
    pub container_detail_info: ContainerDetail,
    pub image_detail_info: ImageDetail,
    pub host_detail_info: HostDetail,
    #[serde(rename = "K8SDetailInfo")]
    pub k8s_detail_info: K8sDetail,
}

/// `DescribeComplianceAssetDetailInfo`.
pub async fn describe_asset_detail(svc: &Service, caller: Caller, req: AssetDetailRequest) -> Result<AssetDetailResponse, ServiceError> {
    let view = View::load(svc, caller.account).await?;
    let a = one_asset(&view, req.customer_asset_id, &req.asset_type)?;
    let t = view.tally(a);
    let tag = info(a, "ImageTag");
    let (repo, tag_part) = match tag.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
        _ => (tag.clone(), String::new()),
    };
    Ok(AssetDetailResponse {
        asset_detail_info: ComplianceAssetDetailInfo {
            customer_asset_id: a.asset_id,
            asset_type: a.asset_type.clone(),
            asset_name: a.name.clone(),
            node_name: info(a, "NodeName"),
            host_name: info(a, "HostName"),
            host_ip: String::new(),
            check_status: t.status().into(),
            passed_policy_item_count: t.passed,
            failed_policy_item_count: t.failed,
            last_check_time: time_or_empty(t.checked_at),
            check_result: t.result().into(),
            asset_status: if a.present { "ASSET_NORMAL".into() } else { "ASSET_DELETED".into() },
            asset_create_time: format_utc(a.created_at),
        },
        container_detail_info: ContainerDetail { container_id: info(a, "ContainerId"), pod_name: info(a, "PodName") },
        image_detail_info: ImageDetail { image_id: info(a, "ImageId"), image_name: repo.clone(), image_tag: tag_part, repository: repo },
        host_detail_info: HostDetail {
            docker_version: info(a, "DockerVersion"),
            k8s_version: String::new(),
            containerd_version: info(a, "ContainerdVersion"),
        },
        k8s_detail_info: K8sDetail { cluster_name: String::new(), cluster_version: String::new() },
    })
}

// ---- items ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AffectedAssetListRequest {
    pub customer_policy_item_id: Option<u64>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub filters: Option<Vec<ComplianceFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceAffectedAsset {
    pub customer_asset_id: u64,
    pub asset_name: String,
    pub asset_type: String,
    pub check_status: String,
    pub node_name: String,
    pub last_check_time: String,
    pub check_result: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub image_tag: String,
    pub verify_info: String,
    pub instance_id: String,
    pub image_registry_info: ImageRegistryInfo,
    #[serde(rename = "ClusterID")]
    pub cluster_id: String,
    pub cluster_name: String,
    #[serde(rename = "AssetUniqueID")]
    pub asset_unique_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AffectedAssetListResponse {
    pub affected_asset_list: Vec<ComplianceAffectedAsset>,
    pub total_count: u64,
}

/// `DescribeCompliancePolicyItemAffectedAssetList`: the assets the item was checked on.
pub async fn describe_item_affected_assets(
    svc: &Service,
    caller: Caller,
    req: AffectedAssetListRequest,
) -> Result<AffectedAssetListResponse, ServiceError> {
    let it = item("CustomerPolicyItemId", req.customer_policy_item_id.ok_or_else(|| missing("CustomerPolicyItemId"))?)?;
    let paging = page(req.limit, req.offset)?;
    let filters = req.filters.unwrap_or_default();
    check_filters(&filters)?;
    let view = View::load(svc, caller.account).await?;
    let mut list = Vec::new();
    for a in view.assets.iter().filter(|a| a.present && a.asset_type == it.asset_type.as_str()) {
        let (status, result, verify, time) = item_state(&view, a, it);
        if status == "CHECK_INIT" || view.results.get(&(a.asset_id, it.id)).is_some_and(|r| r.status == "NOT_APPLICABLE") {
            continue;
        }
        let keep = all_match(&filters, |f| {
            Ok(match f.name.as_str() {
                "NodeName" => text_match(f, &info(a, "NodeName")),
                "CheckResult" => text_match(f, &result),
                "AssetName" => text_match(f, &a.name),
                other => {
                    return Err(invalid("Filters", format!("unknown filter name {other:?} (NodeName, CheckResult, AssetName)")));
                }
            })
        })?;
        if keep {
            list.push(ComplianceAffectedAsset {
                customer_asset_id: a.asset_id,
                asset_name: a.name.clone(),
                asset_type: a.asset_type.clone(),
                check_status: status,
                node_name: info(a, "NodeName"),
                last_check_time: time,
                check_result: result,
                host_ip: String::new(),
                image_tag: info(a, "ImageTag"),
                verify_info: verify,
                instance_id: String::new(),
                image_registry_info: ImageRegistryInfo::default(),
                cluster_id: String::new(),
                cluster_name: String::new(),
                asset_unique_id: a.key.clone(),
            });
        }
    }
    let total = list.len() as u64;
    Ok(AffectedAssetListResponse { affected_asset_list: paged(list, paging), total_count: total })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompliancePolicyItemSummary {
    pub customer_policy_item_id: u64,
    pub base_policy_item_id: u64,
    pub name: String,
    pub category: String,
    pub benchmark_standard_name: String,
    pub risk_level: String,
    pub asset_type: String,
    pub last_check_time: String,
    pub check_status: String,
    pub check_result: String,
    pub passed_asset_count: u64,
    pub failed_asset_count: u64,
    pub whitelist_id: u64,
    pub fix_suggestion: String,
    pub benchmark_standard_id: u64,
    pub applicable_version: String,
    pub description: String,
    pub audit_procedure: String,
    pub is_enable: u64,
}

fn item_summary(view: &View, it: &CatalogItem, disabled: &[u64]) -> CompliancePolicyItemSummary {
    let (mut passed, mut failed, mut running, mut check_failed, mut last) = (0u64, 0u64, 0u64, 0u64, 0i64);
    for a in view.assets.iter().filter(|a| a.present && a.asset_type == it.asset_type.as_str()) {
        if view.whitelist_id(it.id, a.asset_id) != 0 {
            continue;
        }
        if let Some(r) = view.results.get(&(a.asset_id, it.id)) {
            last = last.max(r.checked_at);
            match (r.status.as_str(), r.result.as_str()) {
                ("CHECK_FINISHED", "RESULT_PASSED") => passed += 1,
                ("CHECK_FINISHED", _) => failed += 1,
                ("CHECK_RUNNING", _) => running += 1,
                ("CHECK_FAILED", _) => check_failed += 1,
                _ => {}
            }
        }
    }
    let status = if running > 0 {
        "CHECK_RUNNING"
    } else if check_failed > 0 {
        "CHECK_FAILED"
    } else if passed + failed == 0 {
        "CHECK_INIT"
    } else {
        "CHECK_FINISHED"
    };
    let result = if failed > 0 {
        "RESULT_FAILED"
    } else if passed > 0 {
        "RESULT_PASSED"
    } else {
        ""
    };
    let (sid, sname) = it.asset_type.benchmark_standard();
    // An item ignored on every asset carries that entry's id.
    let global_wl = view.whitelist.iter().find(|w| w.item_id == it.id && w.asset_id == 0).map_or(0, |w| w.whitelist_id);
    CompliancePolicyItemSummary {
        customer_policy_item_id: it.id,
        base_policy_item_id: it.id,
        name: it.name.clone(),
        category: it.category.clone(),
        benchmark_standard_name: sname.into(),
        risk_level: it.risk.clone(),
        asset_type: it.asset_type.as_str().into(),
        last_check_time: time_or_empty(last),
        check_status: status.into(),
        check_result: result.into(),
        passed_asset_count: passed,
        failed_asset_count: failed,
        whitelist_id: global_wl,
        fix_suggestion: it.fix_suggestion.clone(),
        benchmark_standard_id: sid,
        applicable_version: it.cis.clone(),
        description: format!("Passes when {}.", it.pass_condition),
        audit_procedure: it.evidence.join("; "),
        is_enable: u64::from(!disabled.contains(&sid)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ItemSummaryRequest {
    pub customer_policy_item_id: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemSummaryResponse {
    pub policy_item_summary: CompliancePolicyItemSummary,
}

async fn disabled_standards(svc: &Service, account: AccountId, ty: AssetType) -> Result<Vec<u64>, ServiceError> {
    Ok(svc
        .store
        .compliance_period_tasks(account)
        .await?
        .into_iter()
        .find(|p| p.asset_type == ty.as_str())
        .map(|p| p.disabled_standards)
        .unwrap_or_default())
}

/// `DescribeCompliancePolicyItemAffectedSummary`.
pub async fn describe_item_summary(svc: &Service, caller: Caller, req: ItemSummaryRequest) -> Result<ItemSummaryResponse, ServiceError> {
    let it = item("CustomerPolicyItemId", req.customer_policy_item_id.ok_or_else(|| missing("CustomerPolicyItemId"))?)?;
    let view = View::load(svc, caller.account).await?;
    let disabled = disabled_standards(svc, caller.account, it.asset_type).await?;
    Ok(ItemSummaryResponse { policy_item_summary: item_summary(&view, it, &disabled) })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TaskItemSummaryRequest {
    pub asset_type: Option<String>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub filters: Option<Vec<ComplianceFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskItemSummaryResponse {
    pub task_id: u64,
    pub total_count: u64,
    pub policy_item_summary_list: Vec<CompliancePolicyItemSummary>,
}

/// `DescribeComplianceTaskPolicyItemSummaryList`: every item of the type with its latest outcome.
pub async fn describe_task_item_summaries(
    svc: &Service,
    caller: Caller,
    req: TaskItemSummaryRequest,
) -> Result<TaskItemSummaryResponse, ServiceError> {
    let ty = optional_type(&req.asset_type)?.unwrap_or(AssetType::Container);
    let paging = page(req.limit, req.offset)?;
    let filters = req.filters.unwrap_or_default();
    check_filters(&filters)?;
    let view = View::load(svc, caller.account).await?;
    let disabled = disabled_standards(svc, caller.account, ty).await?;
    let mut list = Vec::new();
    for it in catalog().items_for(ty) {
        let s = item_summary(&view, it, &disabled);
        let keep = all_match(&filters, |f| {
            Ok(match f.name.as_str() {
                "Name" => text_match(f, &s.name),
                "ItemType" => text_match(f, &s.category),
                "RiskLevel" => text_match(f, &s.risk_level),
                "IsOpen" => f.values.iter().any(|v| v == &s.is_enable.to_string()),
                "CheckResult" => text_match(f, &s.check_result),
                other => {
                    return Err(invalid(
                        "Filters",
                        format!("unknown filter name {other:?} (Name, ItemType, RiskLevel, IsOpen, CheckResult)"),
                    ));
                }
            })
        })?;
        if keep {
            list.push(s);
        }
    }
    let task_id = svc.store.latest_compliance_task_for(caller.account, ty.as_str()).await?.map_or(0, |t| t.task_id);
    let total = list.len() as u64;
    Ok(TaskItemSummaryResponse { task_id, total_count: total, policy_item_summary_list: paged(list, paging) })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TaskAssetSummaryRequest {
    pub asset_type_set: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct CompliancePeriodTaskRule {
    pub frequency: u64,
    pub execution_time: String,
    pub enable: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceAssetSummary {
    pub asset_type: String,
    pub is_customer_first_check: bool,
    pub check_status: String,
    pub check_progress: f64,
    pub passed_policy_item_count: u64,
    pub failed_policy_item_count: u64,
    pub failed_critical_policy_item_count: u64,
    pub failed_high_risk_policy_item_count: u64,
    pub failed_medium_risk_policy_item_count: u64,
    pub failed_low_risk_policy_item_count: u64,
    pub notice_policy_item_count: u64,
    pub passed_asset_count: u64,
    pub failed_asset_count: u64,
    pub asset_passed_rate: f64,
    pub scan_failed_asset_count: u64,
    pub check_cost_time: f64,
    pub last_check_time: String,
    pub period_rule: CompliancePeriodTaskRule,
    pub open_policy_item_count: u64,
    pub ignored_policy_item_count: u64,
    pub total_policy_item_count: u64,
    pub detect_host_count: u64,
    pub left_time: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskAssetSummaryResponse {
    pub status: String,
    pub asset_summary_list: Vec<ComplianceAssetSummary>,
}

fn period_rule(stored: &[PeriodTask], ty: AssetType) -> PeriodTask {
    stored.iter().find(|p| p.asset_type == ty.as_str()).cloned().unwrap_or_else(|| PeriodTask::defaults(ty.as_str()))
}

/// `DescribeComplianceTaskAssetSummary`: per asset type, the latest task's progress and the pass rates.
pub async fn describe_task_asset_summary(
    svc: &Service,
    caller: Caller,
    req: TaskAssetSummaryRequest,
) -> Result<TaskAssetSummaryResponse, ServiceError> {
    if req.asset_type_set.as_ref().is_none_or(Vec::is_empty) {
        return Err(ServiceError::MissingParameter { field: "AssetTypeSet", reason: "name at least one asset type".into() });
    }
    let types = parse_types("AssetTypeSet", &req.asset_type_set)?;
    let view = View::load(svc, caller.account).await?;
    let periods = svc.store.compliance_period_tasks(caller.account).await?;
    let mut out = Vec::new();
    for ty in types {
        let task = svc.store.latest_compliance_task_for(caller.account, ty.as_str()).await?;
        let mut s = ComplianceAssetSummary {
            asset_type: ty.as_str().into(),
            is_customer_first_check: task.is_none(),
            check_status: "CHECK_INIT".into(),
            check_progress: 0.0,
            passed_policy_item_count: 0,
            failed_policy_item_count: 0,
            failed_critical_policy_item_count: 0,
            failed_high_risk_policy_item_count: 0,
            failed_medium_risk_policy_item_count: 0,
            failed_low_risk_policy_item_count: 0,
            notice_policy_item_count: 0,
            passed_asset_count: 0,
            failed_asset_count: 0,
            asset_passed_rate: 0.0,
            scan_failed_asset_count: 0,
            check_cost_time: 0.0,
            last_check_time: String::new(),
            period_rule: {
                let p = period_rule(&periods, ty);
                CompliancePeriodTaskRule { frequency: p.frequency, execution_time: p.execution_time, enable: p.enable }
            },
            open_policy_item_count: 0,
            ignored_policy_item_count: 0,
            total_policy_item_count: catalog().items_for(ty).count() as u64,
            detect_host_count: 0,
            left_time: 0,
        };
        if let Some(t) = &task {
            s.check_status = match t.state.as_str() {
                "done" => "CHECK_FINISHED",
                "running" => "CHECK_RUNNING",
                _ => "CHECK_INIT",
            }
            .into();
            s.check_progress = if t.total == 0 { 100.0 } else { (t.done as f64 * 100.0 / t.total as f64).min(100.0) };
            if let (Some(a), Some(b)) = (t.started_at, t.finished_at) {
                s.check_cost_time = (b - a).max(0) as f64;
            }
            if let (Some(a), "running") = (t.started_at, t.state.as_str())
                && t.done > 0
            {
                let per = (now_unix() - a).max(0) as f64 / t.done as f64;
                s.left_time = (per * t.total.saturating_sub(t.done) as f64).round() as u64;
            }
        }
        // Item-level counts: an item passes when it passed on every asset it was checked on.
        for it in catalog().items_for(ty) {
            let sm = item_summary(&view, it, &[]);
            if sm.whitelist_id != 0 {
                s.ignored_policy_item_count += 1;
                continue;
            }
            s.open_policy_item_count += 1;
            match sm.check_result.as_str() {
                "RESULT_PASSED" => s.passed_policy_item_count += 1,
                "RESULT_FAILED" => {
                    s.failed_policy_item_count += 1;
                    match it.risk.as_str() {
                        "RISK_CRITICAL" => s.failed_critical_policy_item_count += 1,
                        "RISK_HIGH" => s.failed_high_risk_policy_item_count += 1,
                        "RISK_MEDIUM" => s.failed_medium_risk_policy_item_count += 1,
                        "RISK_LOW" => s.failed_low_risk_policy_item_count += 1,
                        _ => s.notice_policy_item_count += 1,
                    }
                }
                _ => {}
            }
        }
        let mut last = 0;
        for a in view.assets.iter().filter(|a| a.present && a.asset_type == ty.as_str()) {
            let t = view.tally(a);
            last = last.max(t.checked_at);
            if t.check_failed > 0 {
                s.scan_failed_asset_count += 1;
            }
            match t.result() {
                "RESULT_PASSED" => s.passed_asset_count += 1,
                "RESULT_FAILED" => s.failed_asset_count += 1,
                _ => {}
            }
            if matches!(ty, AssetType::Host | AssetType::Containerd) {
                s.detect_host_count += 1;
            }
        }
        let judged = s.passed_asset_count + s.failed_asset_count;
        s.asset_passed_rate = if judged == 0 { 0.0 } else { s.passed_asset_count as f64 * 100.0 / judged as f64 };
        s.last_check_time = time_or_empty(last);
        out.push(s);
    }
    Ok(TaskAssetSummaryResponse { status: "USER_NORMAL".into(), asset_summary_list: out })
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

// ---- whitelist ----

#[derive(Debug, Serialize)]
pub struct Empty {}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AddItemsRequest {
    pub customer_policy_item_id_set: Option<Vec<u64>>,
}

fn known_items(field: &'static str, ids: &[u64]) -> Result<(), ServiceError> {
    let unknown: Vec<u64> = ids.iter().copied().filter(|i| catalog().get(*i).is_none()).collect();
    if unknown.is_empty() { Ok(()) } else { Err(invalid(field, format!("unknown check item ids: {}", names(&unknown)))) }
}

/// `AddCompliancePolicyItemToWhitelist`: ignore items on every asset.
pub async fn whitelist_add_items(svc: &Service, caller: Caller, req: AddItemsRequest) -> Result<Empty, ServiceError> {
    let items = ids("CustomerPolicyItemIdSet", &req.customer_policy_item_id_set)?;
    known_items("CustomerPolicyItemIdSet", &items)?;
    let pairs: Vec<(u64, u64)> = items.into_iter().map(|i| (i, 0)).collect();
    svc.store.add_compliance_whitelist(caller.account, &pairs).await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PolicyAssetSetRequest {
    pub customer_policy_item_id: Option<u64>,
    pub customer_asset_item_id_set: Option<Vec<u64>>,
}

/// (item, asset) pairs, validated: item known, assets known and of the item's type.
fn pairs_for(view: &View, item_id: u64, assets: &[u64], field: &'static str) -> Result<Vec<(u64, u64)>, ServiceError> {
    let it = item("CustomerPolicyItemId", item_id)?;
    view.select(field, assets, Some(it.asset_type))?;
    Ok(assets.iter().map(|a| (item_id, *a)).collect())
}

/// `AddCompliancePolicyAssetSetToWhitelist`: ignore one item on some assets.
pub async fn whitelist_add_policy_assets(svc: &Service, caller: Caller, req: PolicyAssetSetRequest) -> Result<Empty, ServiceError> {
    let item_id = req.customer_policy_item_id.ok_or_else(|| missing("CustomerPolicyItemId"))?;
    let assets = ids("CustomerAssetItemIdSet", &req.customer_asset_item_id_set)?;
    let view = View::load(svc, caller.account).await?;
    let pairs = pairs_for(&view, item_id, &assets, "CustomerAssetItemIdSet")?;
    svc.store.add_compliance_whitelist(caller.account, &pairs).await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AssetPolicySetItem {
    pub customer_asset_item_id: Option<u64>,
    pub customer_policy_item_id_set: Option<Vec<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AssetPolicySetRequest {
    pub asset_policy_set_list: Option<Vec<AssetPolicySetItem>>,
    pub asset_type: Option<String>,
}

/// (item, asset) pairs of an asset and its item list: the asset known (and of `ty`), the items of its type.
fn asset_item_pairs(view: &View, asset: u64, items: &[u64], ty: Option<AssetType>) -> Result<Vec<(u64, u64)>, ServiceError> {
    let a = view.select("CustomerAssetItemId", &[asset], ty)?[0];
    known_items("CustomerPolicyItemIdSet", items)?;
    let other: Vec<u64> =
        items.iter().copied().filter(|i| catalog().get(*i).is_some_and(|it| it.asset_type.as_str() != a.asset_type)).collect();
    if !other.is_empty() {
        return Err(invalid("CustomerPolicyItemIdSet", format!("items {} do not check {}", names(&other), a.asset_type)));
    }
    Ok(items.iter().map(|i| (*i, asset)).collect())
}

/// `AddComplianceAssetPolicySetToWhitelist`: ignore some items on some assets.
pub async fn whitelist_add_asset_policies(svc: &Service, caller: Caller, req: AssetPolicySetRequest) -> Result<Empty, ServiceError> {
    let list = req.asset_policy_set_list.filter(|l| !l.is_empty()).ok_or_else(|| missing("AssetPolicySetList"))?;
    let ty = optional_type(&req.asset_type)?;
    let view = View::load(svc, caller.account).await?;
    let mut pairs = Vec::new();
    for e in &list {
        let asset = e.customer_asset_item_id.ok_or_else(|| missing("AssetPolicySetList.CustomerAssetItemId"))?;
        let items = ids("AssetPolicySetList.CustomerPolicyItemIdSet", &e.customer_policy_item_id_set)?;
        pairs.extend(asset_item_pairs(&view, asset, &items, ty)?);
    }
    svc.store.add_compliance_whitelist(caller.account, &pairs).await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteByIdsRequest {
    pub whitelist_id_set: Option<Vec<u64>>,
}

/// `DeleteCompliancePolicyItemFromWhitelist`: entries by id; unknown ids change nothing.
pub async fn whitelist_delete_ids(svc: &Service, caller: Caller, req: DeleteByIdsRequest) -> Result<Empty, ServiceError> {
    let wanted = ids("WhitelistIdSet", &req.whitelist_id_set)?;
    let have = svc.store.compliance_whitelist(caller.account).await?;
    let unknown: Vec<u64> = wanted.iter().copied().filter(|w| !have.iter().any(|h| h.whitelist_id == *w)).collect();
    if !unknown.is_empty() {
        return Err(invalid("WhitelistIdSet", format!("unknown whitelist ids: {}", names(&unknown))));
    }
    svc.store.delete_compliance_whitelist(caller.account, &wanted, &[]).await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteAssetPoliciesRequest {
    pub asset_item_id: Option<u64>,
    pub customer_policy_item_id_set: Option<Vec<u64>>,
    pub asset_type: Option<String>,
}

/// `DeleteComplianceAssetPolicySetFromWhitelist`: un-ignore items on one asset (all its entries when
/// no items are named).
pub async fn whitelist_delete_asset_policies(
    svc: &Service,
    caller: Caller,
    req: DeleteAssetPoliciesRequest,
) -> Result<Empty, ServiceError> {
    let asset = req.asset_item_id.ok_or_else(|| missing("AssetItemId"))?;
    let ty = optional_type(&req.asset_type)?;
    let view = View::load(svc, caller.account).await?;
    let pairs = match req.customer_policy_item_id_set.filter(|v| !v.is_empty()) {
        Some(items) => asset_item_pairs(&view, asset, &items, ty)?,
        None => {
            view.select("AssetItemId", &[asset], ty)?;
            view.whitelist.iter().filter(|w| w.asset_id == asset).map(|w| (w.item_id, asset)).collect()
        }
    };
    svc.store.delete_compliance_whitelist(caller.account, &[], &pairs).await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeletePolicyAssetsRequest {
    pub policy_asset_set_list: Option<Vec<PolicyAssetSetRequest>>,
}

/// `DeleteCompliancePolicyAssetSetFromWhitelist`: un-ignore items on some assets.
pub async fn whitelist_delete_policy_assets(svc: &Service, caller: Caller, req: DeletePolicyAssetsRequest) -> Result<Empty, ServiceError> {
    let list = req.policy_asset_set_list.filter(|l| !l.is_empty()).ok_or_else(|| missing("PolicyAssetSetList"))?;
    let view = View::load(svc, caller.account).await?;
    let mut pairs = Vec::new();
    for e in &list {
        let item_id = e.customer_policy_item_id.ok_or_else(|| missing("PolicyAssetSetList.CustomerPolicyItemId"))?;
        let assets = ids("PolicyAssetSetList.CustomerAssetItemIdSet", &e.customer_asset_item_id_set)?;
        pairs.extend(pairs_for(&view, item_id, &assets, "PolicyAssetSetList.CustomerAssetItemIdSet")?);
    }
    svc.store.delete_compliance_whitelist(caller.account, &[], &pairs).await?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct WhitelistListRequest {
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub asset_type_set: Option<Vec<String>>,
    pub filters: Option<Vec<ComplianceFilters>>,
    pub by: Option<String>,
    pub order: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceWhitelistItem {
    pub whitelist_item_id: u64,
    pub customer_policy_item_id: u64,
    pub name: String,
    pub standard_name: String,
    pub standard_id: u64,
    pub affected_asset_count: u64,
    pub last_update_time: String,
    pub insert_time: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WhitelistListResponse {
    pub whitelist_item_set: Vec<ComplianceWhitelistItem>,
    pub total_count: u64,
}

/// `DescribeComplianceWhitelistItemList`: one row per entry (an item on one asset, or on all).
pub async fn whitelist_list(svc: &Service, caller: Caller, req: WhitelistListRequest) -> Result<WhitelistListResponse, ServiceError> {
    let types = parse_types("AssetTypeSet", &req.asset_type_set)?;
    let paging = page(req.limit, req.offset)?;
    let desc = descending(req.order.as_deref())?;
    let filters = req.filters.unwrap_or_default();
    check_filters(&filters)?;
    let view = View::load(svc, caller.account).await?;
    let mut list = Vec::new();
    for w in &view.whitelist {
        let Some(it) = catalog().get(w.item_id) else {
            continue;
        };
        if !types.contains(&it.asset_type) {
            continue;
        }
        let (sid, sname) = it.asset_type.benchmark_standard();
        let affected = if w.asset_id == 0 {
            view.assets.iter().filter(|a| a.present && a.asset_type == it.asset_type.as_str()).count() as u64
        } else {
            1
        };
        let row = ComplianceWhitelistItem {
            whitelist_item_id: w.whitelist_id,
            customer_policy_item_id: w.item_id,
            name: it.name.clone(),
            standard_name: sname.into(),
            standard_id: sid,
            affected_asset_count: affected,
            last_update_time: format_utc(w.updated_at),
            insert_time: format_utc(w.created_at),
        };
        let keep = all_match(&filters, |f| {
            Ok(match f.name.as_str() {
                "Name" | "ItemName" => text_match(f, &row.name),
                "CustomerPolicyItemId" => f.values.iter().any(|v| v == &row.customer_policy_item_id.to_string()),
                other => {
                    return Err(invalid("Filters", format!("unknown filter name {other:?} (Name, CustomerPolicyItemId)")));
                }
            })
        })?;
        if keep {
            list.push(row);
        }
    }
    let list = match req.by.as_deref().unwrap_or("InsertTime") {
        "InsertTime" | "" => sorted(list, desc, |a, b| a.whitelist_item_id.cmp(&b.whitelist_item_id)),
        "LastUpdateTime" => sorted(list, desc, |a, b| a.last_update_time.cmp(&b.last_update_time)),
        "AffectedAssetCount" => sorted(list, desc, |a, b| a.affected_asset_count.cmp(&b.affected_asset_count)),
        "CustomerPolicyItemId" => sorted(list, desc, |a, b| a.customer_policy_item_id.cmp(&b.customer_policy_item_id)),
        other => {
            return Err(invalid(
                "By",
                format!("cannot sort by {other:?} (InsertTime, LastUpdateTime, AffectedAssetCount, CustomerPolicyItemId)"),
            ));
        }
    };
    let total = list.len() as u64;
    Ok(WhitelistListResponse { whitelist_item_set: paged(list, paging), total_count: total })
}

// ---- periodic tasks ----

fn period_task_id(ty: AssetType) -> u64 {
    AssetType::ALL.iter().position(|t| *t == ty).map_or(0, |i| i as u64 + 1)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PeriodTaskListRequest {
    pub asset_type: Option<String>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceBenchmarkStandard {
    pub standard_id: u64,
    pub name: String,
    pub policy_item_count: u64,
    pub enabled: bool,
    pub description: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompliancePeriodTask {
    pub period_task_id: u64,
    pub asset_type: String,
    pub last_trigger_time: String,
    pub total_policy_item_count: u64,
    pub period_rule: CompliancePeriodTaskRule,
    pub benchmark_standard_set: Vec<ComplianceBenchmarkStandard>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PeriodTaskListResponse {
    pub total_count: u64,
    pub period_task_set: Vec<CompliancePeriodTask>,
}

/// `DescribeCompliancePeriodTaskList`: one periodic task per asset type.
pub async fn describe_period_tasks(
    svc: &Service,
    caller: Caller,
    req: PeriodTaskListRequest,
) -> Result<PeriodTaskListResponse, ServiceError> {
    let types = match optional_type(&req.asset_type)? {
        Some(t) => vec![t],
        None => AssetType::ALL.to_vec(),
    };
    let paging = page(req.limit, req.offset)?;
    let stored = svc.store.compliance_period_tasks(caller.account).await?;
    let list: Vec<CompliancePeriodTask> = types
        .into_iter()
        .map(|ty| {
            let p = period_rule(&stored, ty);
            let (sid, sname) = ty.benchmark_standard();
            let count = catalog().items_for(ty).count() as u64;
            CompliancePeriodTask {
                period_task_id: period_task_id(ty),
                asset_type: ty.as_str().into(),
                last_trigger_time: time_or_empty(p.last_trigger),
                total_policy_item_count: count,
                period_rule: CompliancePeriodTaskRule {
                    frequency: p.frequency,
                    execution_time: p.execution_time.clone(),
                    enable: p.enable,
                },
                benchmark_standard_set: vec![ComplianceBenchmarkStandard {
                    standard_id: sid,
                    name: sname.into(),
                    policy_item_count: count,
                    enabled: !p.disabled_standards.contains(&sid),
                    description: format!("Shipshape's {sname} items for {}", ty.as_str()),
                }],
            }
        })
        .collect();
    let total = list.len() as u64;
    Ok(PeriodTaskListResponse { total_count: total, period_task_set: paged(list, paging) })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PeriodRuleIn {
    pub frequency: Option<u64>,
    pub execution_time: Option<String>,
    pub enable: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StandardEnable {
    pub standard_id: Option<u64>,
    pub enable: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyPeriodTaskRequest {
    pub period_task_id: Option<u64>,
    pub period_rule: Option<PeriodRuleIn>,
    pub standard_settings: Option<Vec<StandardEnable>>,
}

fn valid_time(t: &str) -> bool {
    let p: Vec<&str> = t.split(':').collect();
    p.len() == 3
        && p.iter().all(|x| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit()))
        && p[0].parse::<u32>().is_ok_and(|h| h < 24)
        && p[1].parse::<u32>().is_ok_and(|m| m < 60)
        && p[2].parse::<u32>().is_ok_and(|s| s < 60)
}

/// `ModifyCompliancePeriodTask`: frequency (1, 3 or 7 days), time of day, on/off, standards.
pub async fn modify_period_task(svc: &Service, caller: Caller, req: ModifyPeriodTaskRequest) -> Result<Empty, ServiceError> {
    let id = req.period_task_id.ok_or_else(|| missing("PeriodTaskId"))?;
    let ty = id
        .checked_sub(1)
        .and_then(|i| AssetType::ALL.get(i as usize).copied())
        .ok_or_else(|| invalid("PeriodTaskId", format!("unknown periodic task {id} (1-6)")))?;
    let stored = svc.store.compliance_period_tasks(caller.account).await?;
    let mut p = period_rule(&stored, ty);
    if let Some(r) = &req.period_rule {
        if let Some(f) = r.frequency {
            if ![1, 3, 7].contains(&f) {
                return Err(invalid("PeriodRule.Frequency", format!("{f} is not 1, 3 or 7 (days)")));
            }
            p.frequency = f;
        }
        if let Some(t) = &r.execution_time {
            if !valid_time(t) {
                return Err(ServiceError::InvalidFormat { field: "PeriodRule.ExecutionTime", reason: format!("{t:?} is not HH:mm:SS") });
            }
            p.execution_time = t.clone();
        }
        if let Some(e) = r.enable {
            p.enable = e;
        }
    }
    let (sid, _) = ty.benchmark_standard();
    for s in req.standard_settings.iter().flatten() {
        let id = s.standard_id.ok_or_else(|| missing("StandardSettings.StandardId"))?;
        let enable = s
            .enable
            .ok_or_else(|| ServiceError::MissingParameter { field: "StandardSettings.Enable", reason: "say true or false".into() })?;
        if id != sid {
            return Err(invalid("StandardSettings.StandardId", format!("standard {id} has no items for {ty} (it uses {sid})")));
        }
        p.disabled_standards.retain(|x| *x != id);
        if !enable {
            p.disabled_standards.push(id);
        }
    }
    p.saved_at = now_unix();
    svc.store.put_compliance_period_task(caller.account, &p).await?;
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ids() {
        assert!(valid_time("02:00:00") && valid_time("23:59:59"));
        assert!(!valid_time("24:00:00") && !valid_time("2:00:00") && !valid_time("02:00"));
        assert_eq!(period_task_id(AssetType::Container), 1);
        assert_eq!(period_task_id(AssetType::ContainerdContainer), 6);
        assert!(ids("X", &Some(vec![])).is_err() && ids("X", &None).is_err());
        assert_eq!(ids("X", &Some(vec![3, 1, 3])).unwrap(), vec![1, 3]);
    }

    #[test]
    fn tally_status_order() {
        let t = Tally { running: 1, check_failed: 1, ..Default::default() };
        assert_eq!(t.status(), "CHECK_RUNNING");
        let t = Tally { check_failed: 1, passed: 3, ..Default::default() };
        assert_eq!((t.status(), t.result()), ("CHECK_FAILED", ""));
        let t = Tally { failed: 1, passed: 3, ..Default::default() };
        assert_eq!((t.status(), t.result()), ("CHECK_FINISHED", "RESULT_FAILED"));
        assert_eq!(Tally::default().status(), "CHECK_INIT");
    }
}
