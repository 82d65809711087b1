//! The asset side: the asset list, the failed-asset list, an asset's policy items and its detail.

use super::*;

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

/// One asset as the asset lists show it, with its tally.
pub(super) struct AssetRow {
    info: ComplianceAssetInfo,
    tally: Tally,
}

fn asset_row(view: &View, a: &ComplianceAsset) -> AssetRow {
    let t = view.tally(a);
    let info = ComplianceAssetInfo {
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
    };
    AssetRow { info, tally: t }
}

/// The present assets of `types`.
fn asset_rows(view: &View, types: &[AssetType]) -> Vec<AssetRow> {
    view.assets.iter().filter(|a| a.present && types.iter().any(|t| t.as_str() == a.asset_type)).map(|a| asset_row(view, a)).collect()
}

/// The filters of DescribeComplianceAssetList and DescribeComplianceScanFailedAssetList.
const ASSET_LIST: ListSpec<AssetRow> = ListSpec {
    filters: &[
        ("AssetName", Filter::Text(&[|r| &r.info.asset_name])),
        ("ImageTag", Filter::Text(&[|r| &r.info.image_tag])),
        ("NodeName", Filter::Text(&[|r| &r.info.node_name])),
        ("CheckStatus", Filter::Text(&[|r| &r.info.check_status])),
        ("CheckResult", Filter::Text(&[|r| &r.info.check_result])),
        ("CustomerAssetId", Filter::Equals(|r| r.info.customer_asset_id.to_string())),
        ("AssetUniqueID", Filter::Text(&[|r| &r.info.asset_unique_id])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

/// `DescribeComplianceAssetList`.
pub async fn describe_asset_list(svc: &Service, caller: Caller, req: AssetListRequest) -> Result<AssetListResponse, ServiceError> {
    let types = parse_types("AssetTypeSet", &req.asset_type_set)?;
    let query = ASSET_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let view = View::load(svc, caller.account).await?;
    let page = query.run(asset_rows(&view, &types));
    Ok(AssetListResponse { total_count: page.total, asset_info_list: page.rows.into_iter().map(|r| r.info).collect() })
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
    let query = ASSET_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let view = View::load(svc, caller.account).await?;
    let page = query.run(asset_rows(&view, &types).into_iter().filter(|r| r.tally.check_failed > 0).collect());
    let scan_failed_asset_list = page
        .rows
        .into_iter()
        .map(|AssetRow { info, tally }| ComplianceScanFailedAsset {
            customer_asset_id: info.customer_asset_id,
            asset_type: info.asset_type,
            check_status: info.check_status,
            asset_name: info.asset_name,
            failure_reason: tally.failure,
            suggestion: "Make the asset reachable (daemon socket, files), then re-check it with ScanComplianceScanFailedAssets.".into(),
            check_time: info.last_check_time,
        })
        .collect();
    Ok(FailedAssetListResponse { total_count: page.total, scan_failed_asset_list })
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

pub(super) fn one_asset<'a>(view: &'a View, id: Option<u64>, asset_type: &Option<String>) -> Result<&'a ComplianceAsset, ServiceError> {
    let id = id.ok_or_else(|| ServiceError::MissingParameter { field: "CustomerAssetId", reason: "name the asset".into() })?;
    let ty = optional_type(asset_type)?;
    Ok(view.select("CustomerAssetId", &[id], ty)?[0])
}

/// (status, result, verify info, time) of one item on one asset, as the lists show it.
pub(super) fn item_state(view: &View, a: &ComplianceAsset, it: &CatalogItem) -> (String, String, String, String) {
    let wl = view.whitelist_id(it.id, a.asset_id);
    match view.results.get(&(a.asset_id, it.id)) {
        _ if wl != 0 => ("CHECK_FINISHED".into(), String::new(), format!("ignored by whitelist entry {wl}"), String::new()),
        None => ("CHECK_INIT".into(), String::new(), String::new(), String::new()),
        Some(r) if r.status == "NOT_APPLICABLE" => ("CHECK_FINISHED".into(), String::new(), verify_info(r), format_utc(r.checked_at)),
        Some(r) => (r.status.clone(), r.result.clone(), verify_info(r), format_utc(r.checked_at)),
    }
}

/// An item of one asset and the account, which the `AppId` filter names.
struct AssetItemRow {
    app_id: String,
    item: ComplianceAssetPolicyItem,
}

const ASSET_ITEM_LIST: ListSpec<AssetItemRow> = ListSpec {
    filters: &[
        ("RiskLevel", Filter::Text(&[|r| &r.item.risk_level])),
        ("AppId", Filter::Equals(|r| r.app_id.clone())),
        ("Name", Filter::Text(&[|r| &r.item.name])),
        ("CheckResult", Filter::Text(&[|r| &r.item.check_result])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

/// `DescribeComplianceAssetPolicyItemList`: the items of one asset with their latest results.
pub async fn describe_asset_policy_items(
    svc: &Service,
    caller: Caller,
    req: AssetPolicyItemListRequest,
) -> Result<AssetPolicyItemListResponse, ServiceError> {
    let query = ASSET_ITEM_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let view = View::load(svc, caller.account).await?;
    let a = one_asset(&view, req.customer_asset_id, &req.asset_type)?;
    let ty = parse_type("AssetType", &a.asset_type)?;
    let rows = catalog()
        .items_for(ty)
        .map(|it| {
            let (check_status, check_result, verify_info, last_check_time) = item_state(&view, a, it);
            let (sid, sname) = it.asset_type.benchmark_standard();
            let item = ComplianceAssetPolicyItem {
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
            };
            AssetItemRow { app_id: caller.account.to_string(), item }
        })
        .collect();
    let page = query.run(rows);
    let asset_policy_item_list = page.rows.into_iter().map(|r| r.item).collect();
    Ok(AssetPolicyItemListResponse { total_count: page.total, asset_policy_item_list })
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
