//! The whitelist (ignore) actions: add items, policy × asset sets, delete, and the list.

use super::*;

#[derive(Debug, Serialize)]
pub struct Empty {}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AddItemsRequest {
    pub customer_policy_item_id_set: Option<Vec<u64>>,
}

pub(super) fn known_items(field: &'static str, ids: &[u64]) -> Result<(), ServiceError> {
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
pub(super) fn pairs_for(view: &View, item_id: u64, assets: &[u64], field: &'static str) -> Result<Vec<(u64, u64)>, ServiceError> {
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
pub(super) fn asset_item_pairs(view: &View, asset: u64, items: &[u64], ty: Option<AssetType>) -> Result<Vec<(u64, u64)>, ServiceError> {
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

const WHITELIST_LIST: ListSpec<ComplianceWhitelistItem> = ListSpec {
    filters: &[
        ("Name", Filter::Text(&[|w| &w.name])),
        ("ItemName", Filter::Text(&[|w| &w.name])),
        ("CustomerPolicyItemId", Filter::Equals(|w| w.customer_policy_item_id.to_string())),
    ],
    sorts: &[
        ("InsertTime", |a, b| a.whitelist_item_id.cmp(&b.whitelist_item_id)),
        ("", |a, b| a.whitelist_item_id.cmp(&b.whitelist_item_id)),
        ("LastUpdateTime", |a, b| a.last_update_time.cmp(&b.last_update_time)),
        ("AffectedAssetCount", |a, b| a.affected_asset_count.cmp(&b.affected_asset_count)),
        ("CustomerPolicyItemId", |a, b| a.customer_policy_item_id.cmp(&b.customer_policy_item_id)),
    ],
    tie_break: None,
};

/// `DescribeComplianceWhitelistItemList`: one row per entry (an item on one asset, or on all).
pub async fn whitelist_list(svc: &Service, caller: Caller, req: WhitelistListRequest) -> Result<WhitelistListResponse, ServiceError> {
    let types = parse_types("AssetTypeSet", &req.asset_type_set)?;
    let by = req.by.as_deref().or(Some("InsertTime"));
    let query = WHITELIST_LIST.query(req.limit, req.offset, req.filters.as_deref(), by, req.order.as_deref())?;
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
        list.push(row);
    }
    let page = query.run(list);
    Ok(WhitelistListResponse { whitelist_item_set: page.rows, total_count: page.total })
}
