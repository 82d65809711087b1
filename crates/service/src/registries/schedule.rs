//! The registry scan schedule: `DescribeImageRegistryTimingScanTask` / `UpdateImageRegistryTimingScanTask`.

use super::*;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeImageRegistryTimingScanTaskResponse {
    pub enable: bool,
    pub scan_time: String,
    pub scan_period: u64,
    pub scan_type: Vec<String>,
    pub all: bool,
    pub images: Vec<ImageInfoOut>,
    pub id: Vec<u64>,
    pub latest: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_end_time: Option<String>,
    pub registry_type: Vec<String>,
    pub container_running: bool,
    pub scan_scope: u64,
    pub namespace: Vec<String>,
    pub exclude_image_asset_ids: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_scan_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_result: Option<String>,
}

/// Defaults of an account that never set a schedule: off, 00:00 UTC daily, all three kinds,
/// every image.
fn default_schedule() -> RegistryScanSetting {
    RegistryScanSetting {
        enable: false,
        scan_time: "00:00".into(),
        scan_period: 1,
        scan_end_time: None,
        scan_types: vec!["CVE".into(), "VIRUS".into(), "RISK".into()],
        scan_vul: true,
        scan_virus: true,
        scan_risk: true,
        all: true,
        selection: RegistrySelection::default(),
    }
}

fn u64s(v: &[i64]) -> Vec<u64> {
    v.iter().map(|x| u64::try_from(*x).unwrap_or(0)).collect()
}

pub async fn describe_timing_scan(
    svc: &Service,
    caller: Caller,
    _req: NoFieldsRequest,
) -> Result<DescribeImageRegistryTimingScanTaskResponse, ServiceError> {
    let stored = svc.store.registry_scan_setting(caller.account).await?;
    let (s, last_scan_time, scan_result) = match stored {
        Some(x) => (x.setting, x.last_scan_time, x.scan_result),
        None => (default_schedule(), None, None),
    };
    let sel = &s.selection;
    Ok(DescribeImageRegistryTimingScanTaskResponse {
        enable: s.enable,
        scan_time: s.scan_time.clone(),
        scan_period: s.scan_period,
        scan_type: s.scan_types.clone(),
        all: s.all,
        images: sel.images.iter().map(image_out).collect(),
        id: u64s(&sel.ids),
        latest: sel.latest_only,
        scan_end_time: s.scan_end_time.clone(),
        registry_type: sel.registry_types.clone(),
        container_running: sel.container_running,
        scan_scope: sel.scope,
        namespace: sel.namespaces.clone(),
        exclude_image_asset_ids: u64s(&sel.exclude_ids),
        last_scan_time,
        scan_result,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateImageRegistryTimingScanTaskRequest {
    pub scan_period: u64,
    pub enable: bool,
    pub scan_time: String,
    pub scan_type: Option<Vec<String>>,
    pub images: Option<Vec<ImageInfoIn>>,
    pub all: Option<bool>,
    pub id: Option<Vec<u64>>,
    pub latest: Option<bool>,
    pub container_running: Option<bool>,
    pub scan_end_time: Option<String>,
    pub scan_scope: Option<u64>,
    pub registry_type: Option<Vec<String>>,
    pub namespace: Option<Vec<String>>,
    pub exclude_image_asset_ids: Option<Vec<u64>>,
}

/// Replaces the schedule (fields left out take the defaults). `ScanTime`/`ScanEndTime` UTC
/// `HH:MM[:SS]`, `ScanPeriod` days 1..=365, `ScanScope` as the one-key scan.
pub async fn update_timing_scan(
    svc: &Service,
    caller: Caller,
    req: UpdateImageRegistryTimingScanTaskRequest,
) -> Result<EmptyResponse, ServiceError> {
    crate::image_scan_setting::check_time("ScanTime", &req.scan_time)?;
    if let Some(end) = &req.scan_end_time {
        crate::image_scan_setting::check_time("ScanEndTime", end)?;
        if end.get(..5) == req.scan_time.get(..5) {
            return Err(ServiceError::InvalidFormat {
                field: "ScanEndTime",
                reason: "must differ from ScanTime (the scan window would be empty)".into(),
            });
        }
    }
    if !(1..=365).contains(&req.scan_period) {
        return Err(ServiceError::InvalidFormat {
            field: "ScanPeriod",
            reason: format!("must be between 1 and 365 (days), got {}", req.scan_period),
        });
    }
    let (vul, virus, risk) = scan_types(&req.scan_type)?;
    let ids = ids_i64("Id", &req.id)?;
    let images = image_refs("Images", &req.images)?;
    let all = req.all.unwrap_or(ids.is_empty() && images.is_empty());
    let scope = scope_of(req.scan_scope.or(if all { Some(0) } else { None }), &ids, &images)?;
    let setting = RegistryScanSetting {
        enable: req.enable,
        scan_time: req.scan_time.trim().to_string(),
        scan_period: req.scan_period,
        scan_end_time: req.scan_end_time.map(|e| e.trim().to_string()),
        scan_types: match &req.scan_type {
            Some(v) => v.iter().map(|t| t.trim().to_string()).collect(),
            None => default_schedule().scan_types,
        },
        scan_vul: vul,
        scan_virus: virus,
        scan_risk: risk,
        all,
        selection: RegistrySelection {
            scope,
            ids,
            images,
            exclude_ids: ids_i64("ExcludeImageAssetIds", &req.exclude_image_asset_ids)?,
            latest_only: req.latest.unwrap_or(false),
            registry_types: list_of("RegistryType", &req.registry_type)?,
            namespaces: list_of("Namespace", &req.namespace)?,
            container_running: req.container_running.unwrap_or(false),
        },
    };
    svc.store.put_registry_scan_setting(caller.account, &setting).await?;
    Ok(EmptyResponse {})
}
