//! The scan actions: `ScanComplianceAssets`, `ScanComplianceAssetsByPolicyItem`,
//! `ScanCompliancePolicyItems`, `ScanComplianceFailedAssets` (queue rows `scan::compliance` claims).

use super::*;

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
pub(super) fn checkable(view: &View, a: &ComplianceAsset, items: impl Iterator<Item = u64>) -> Target {
    Target { asset_id: a.asset_id, items: items.filter(|i| view.whitelist_id(*i, a.asset_id) == 0).collect() }
}

pub(super) async fn queue(svc: &Service, account: AccountId, kind: &str, targets: Vec<Target>) -> Result<TaskIdResponse, ServiceError> {
    let types: BTreeSet<String> =
        targets.iter().flat_map(|t| t.items.first().and_then(|i| catalog().get(*i)).map(|it| it.asset_type.as_str().to_string())).collect();
    let task_id = svc.store.create_compliance_task(account, kind, &types.into_iter().collect::<Vec<_>>(), &targets).await?;
    Ok(TaskIdResponse { task_id })
}

pub(super) fn optional_type(v: &Option<String>) -> Result<Option<AssetType>, ServiceError> {
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
