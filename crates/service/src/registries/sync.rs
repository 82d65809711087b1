//! Registry syncs: `SyncAssetImageRegistryAsset` queues one, `DescribeAssetImageRegistryAssetStatus` reports it.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SyncAssetImageRegistryAssetRequest {
    pub all: Option<bool>,
    pub registry_ids: Option<Vec<u64>>,
}

pub async fn sync_assets(svc: &Service, caller: Caller, req: SyncAssetImageRegistryAssetRequest) -> Result<EmptyResponse, ServiceError> {
    let ids = ids_i64("RegistryIds", &req.registry_ids)?;
    if ids.is_empty() && !req.all.unwrap_or(false) {
        return Err(missing("RegistryIds", "give the registries to sync, or All"));
    }
    if req.all.unwrap_or(false) {
        svc.store.request_registry_sync(caller.account, None).await?;
        return Ok(EmptyResponse {});
    }
    let known: HashSet<i64> = svc.store.registries(caller.account).await?.iter().map(|r| r.registry_id).collect();
    if let Some(id) = ids.iter().find(|i| !known.contains(i)) {
        return Err(not_found("Registry", id));
    }
    svc.store.request_registry_sync(caller.account, Some(&ids)).await?;
    Ok(EmptyResponse {})
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFieldsRequest {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistryAssetStatusResponse {
    pub status: String,
    pub err: String,
    pub latest_sync_success_time: String,
}

pub async fn describe_asset_status(
    svc: &Service,
    caller: Caller,
    _req: NoFieldsRequest,
) -> Result<DescribeAssetImageRegistryAssetStatusResponse, ServiceError> {
    let regs = svc.store.registries(caller.account).await?;
    let doing = regs.iter().any(|r| r.sync_requested || r.sync_status == "doing");
    let failed: Vec<String> =
        regs.iter().filter(|r| r.sync_status == "failed").map(|r| format!("{}: {}", r.spec.name, r.sync_error)).collect();
    let (status, err) = if doing {
        ("doing", String::new())
    } else if !failed.is_empty() {
        ("failed", failed.join("; "))
    } else {
        ("success", String::new())
    };
    let latest = regs.iter().filter_map(|r| r.sync_success_at).max();
    Ok(DescribeAssetImageRegistryAssetStatusResponse {
        status: status.into(),
        err,
        latest_sync_success_time: latest.map(format_utc).unwrap_or_default(),
    })
}
