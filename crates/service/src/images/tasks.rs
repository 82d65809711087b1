//! Image scan tasks: `CreateAssetImageScanTask`, `DescribeAssetImageScanStatus`,
//! `ModifyAssetImageScanStop`, `DescribeAssetImageScanTask` (queue rows the `scan` worker claims).

use super::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateAssetImageScanTaskRequest {
    pub all: Option<bool>,
    pub images: Option<Vec<String>>,
    pub scan_vul: Option<bool>,
    pub scan_virus: Option<bool>,
    pub scan_risk: Option<bool>,
    pub filters: Option<Vec<AssetFilters>>,
    pub exclude_image_ids: Option<Vec<String>>,
    pub container_running: Option<bool>,
    pub scan_scope: Option<u64>,
    pub timeout: Option<u64>,
    pub is_one_click_scanning_task: Option<bool>,
    #[serde(rename = "ClusterIDs")]
    pub cluster_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct CreateAssetImageScanTaskResponse {
    #[serde(rename = "TaskID")]
    pub task_id: String,
}

/// Whether `wanted` names the image: its full id, its id without `sha256:` (or a prefix of at
/// least 12 hex digits, as `docker` accepts), or one of its names (`repo` means `repo:latest`).
pub(super) fn names_image(a: &ImageAsset, wanted: &str) -> bool {
    let w = wanted.trim();
    if w.is_empty() {
        return false;
    }
    let hex = a.facts.image_id.strip_prefix("sha256:").unwrap_or(&a.facts.image_id);
    let w_hex = w.strip_prefix("sha256:").unwrap_or(w);
    if w_hex.len() >= 12 && w_hex.bytes().all(|b| b.is_ascii_hexdigit()) && hex.starts_with(&w_hex.to_ascii_lowercase()) {
        return true;
    }
    let last = w.rsplit('/').next().unwrap_or(w);
    let with_tag = if last.contains(':') { w.to_string() } else { format!("{w}:latest") };
    a.facts.names.iter().any(|n| *n == with_tag || n == w)
}

pub(super) fn check_list(field: &'static str, v: &[String]) -> Result<(), ServiceError> {
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    Ok(())
}

/// The images a request selects: `All`, `Images` or `Filters`, minus `ExcludeImageIds`.
pub(super) fn select(
    rows: Vec<ImageRow>,
    all: bool,
    images: &[String],
    filters: &[AssetFilters],
    exclude: &[String],
    scope: u64,
) -> Result<Vec<ImageRow>, ServiceError> {
    check_list("Images", images)?;
    check_list("ExcludeImageIds", exclude)?;
    let mut chosen: Vec<ImageRow> = if !images.is_empty() {
        for w in images {
            if !rows.iter().any(|r| names_image(&r.asset, w)) {
                return Err(ServiceError::NotFound { what: "Image", id: w.clone() });
            }
        }
        rows.into_iter().filter(|r| images.iter().any(|w| names_image(&r.asset, w))).collect()
    } else if !filters.is_empty() {
        IMAGE_LIST.filter(rows, filters)?
    } else if all {
        rows
    } else {
        match scope {
            2 => rows.into_iter().filter(|r| r.asset.facts.container_cnt > 0).collect(),
            3 => Vec::new(),
            _ => {
                return Err(ServiceError::MissingParameter { field: "All", reason: "choose the images: All, Images or Filters".into() });
            }
        }
    };
    chosen.retain(|r| !exclude.iter().any(|x| names_image(&r.asset, x)));
    Ok(chosen)
}

pub async fn create_scan_task(
    svc: &Service,
    caller: Caller,
    req: CreateAssetImageScanTaskRequest,
) -> Result<CreateAssetImageScanTaskResponse, ServiceError> {
    let (vul, virus, risk) = (req.scan_vul.unwrap_or(false), req.scan_virus.unwrap_or(false), req.scan_risk.unwrap_or(false));
    if !(vul || virus || risk) {
        return Err(invalid("ScanVul", "choose at least one of ScanVul, ScanVirus, ScanRisk".into()));
    }
    let scope = req.scan_scope.unwrap_or(0);
    if scope > 3 {
        return Err(invalid("ScanScope", format!("must be 0-3, got {scope}")));
    }
    let timeout = req.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if timeout == 0 || timeout > 30 * 86_400 {
        return Err(invalid("Timeout", format!("must be 1..={} seconds, got {timeout}", 30 * 86_400)));
    }
    if let Some(c) = &req.cluster_ids {
        check_list("ClusterIDs", c)?;
    }
    if vul && !svc.store.advisories_loaded().await? {
        return Err(ServiceError::FailedOperation {
            reason: "no vulnerability data is loaded: import advisories first (`shipshape db import DIR`), or scan without ScanVul".into(),
        });
    }
    let rows = image_rows(svc, caller.account).await?;
    let mut chosen = select(
        rows,
        req.all.unwrap_or(false),
        req.images.as_deref().unwrap_or_default(),
        req.filters.as_deref().unwrap_or_default(),
        req.exclude_image_ids.as_deref().unwrap_or_default(),
        scope,
    )?;
    if req.container_running.unwrap_or(false) {
        chosen.retain(|r| r.asset.facts.running_cnt > 0);
    }
    if chosen.is_empty() {
        return Err(ServiceError::NotFound { what: "Image", id: "(no image matches the selection)".into() });
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let new = NewImageScanTask {
        scan_vul: vul,
        scan_virus: virus,
        scan_risk: risk,
        scheduled: false,
        deadline: Some(now.saturating_add(timeout as i64)),
        images: chosen.iter().map(|r| (r.asset.facts.image_id.clone(), r.asset.facts.size)).collect(),
    };
    match svc.store.create_image_scan_task(caller.account, &new).await? {
        CreatedTask::Created(task_id) => Ok(CreateAssetImageScanTaskResponse { task_id }),
        CreatedTask::AlreadyRunning(task_id) => Err(ServiceError::AlreadyScanning { task_id }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetImageScanStatusRequest {
    #[serde(rename = "TaskID")]
    pub task_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageScanStatusResponse {
    pub image_total: u64,
    pub image_scan_cnt: u64,
    pub status: String,
    pub schedule: u64,
    pub success_count: u64,
    pub risk_count: u64,
    pub left_seconds: u64,
}

pub(super) async fn task_of(
    svc: &Service,
    account: model::AccountId,
    id: Option<&str>,
) -> Result<store::scan_tasks::ImageScanTask, ServiceError> {
    let id = id.map(str::trim).filter(|s| !s.is_empty());
    svc.store
        .image_scan_task(account, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound { what: "Image scan task", id: id.unwrap_or("(latest)").to_string() })
}

pub async fn describe_scan_status(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetImageScanStatusRequest,
) -> Result<DescribeAssetImageScanStatusResponse, ServiceError> {
    let task = task_of(svc, caller.account, req.task_id.as_deref()).await?;
    let p = svc.store.image_scan_progress(caller.account, &task.task_id).await?;
    let scanned = p.done + p.failed;
    let schedule = (scanned * 100).checked_div(p.total).unwrap_or(100);
    let left_seconds = if task.status == "END" {
        0
    } else {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let elapsed = task.started_at.map_or(0, |s| (now - s).max(0)) as f64;
        let bytes_left = p.bytes_total.saturating_sub(p.bytes_done) as f64;
        if elapsed >= 1.0 && p.bytes_done > 0 {
            // Measured throughput of this task so far.
            (bytes_left / (p.bytes_done as f64 / elapsed)).ceil() as u64
        } else if elapsed >= 1.0 && scanned > 0 {
            ((p.total - p.finished) as f64 * elapsed / scanned as f64).ceil() as u64
        } else {
            0
        }
    };
    Ok(DescribeAssetImageScanStatusResponse {
        image_total: p.total,
        image_scan_cnt: scanned,
        status: task.status,
        schedule,
        success_count: p.done,
        risk_count: p.risk_count,
        left_seconds,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyAssetImageScanStopRequest {
    #[serde(rename = "TaskID")]
    pub task_id: Option<String>,
    pub images: Option<Vec<String>>,
    pub filters: Option<Vec<AssetFilters>>,
    /// A string in the schema (sic): one id, or a JSON list of ids.
    pub exclude_image_ids: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyAssetImageScanStopResponse {
    pub status: String,
}

pub async fn stop_scan(
    svc: &Service,
    caller: Caller,
    req: ModifyAssetImageScanStopRequest,
) -> Result<ModifyAssetImageScanStopResponse, ServiceError> {
    let images = req.images.unwrap_or_default();
    let filters = req.filters.unwrap_or_default();
    let exclude: Vec<String> = match req.exclude_image_ids.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(s) if s.starts_with('[') => serde_json::from_str(s).map_err(|e| invalid("ExcludeImageIds", e.to_string()))?,
        Some(s) => s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
    };
    let task = match req.task_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => task_of(svc, caller.account, Some(id)).await?,
        None => match svc.store.active_image_scan_task(caller.account).await? {
            Some(id) => task_of(svc, caller.account, Some(&id)).await?,
            None => {
                return Err(ServiceError::FailedOperation { reason: "no image scan is running".into() });
            }
        },
    };
    if images.is_empty() && filters.is_empty() && exclude.is_empty() {
        // Stopping a task that already ended changes nothing and is not an error.
        svc.store.stop_image_scan_task(caller.account, &task.task_id, "Cancel").await?;
    } else {
        let rows = image_rows(svc, caller.account).await?;
        let all = images.is_empty() && filters.is_empty();
        let chosen = select(rows, all, &images, &filters, &exclude, 0)?;
        let ids: Vec<String> = chosen.into_iter().map(|r| r.asset.facts.image_id).collect();
        svc.store.cancel_image_scan_images(caller.account, &task.task_id, &ids).await?;
    }
    Ok(ModifyAssetImageScanStopResponse { status: "SUCCESS".into() })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribeAssetImageScanTaskRequest {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageScanTaskResponse {
    #[serde(rename = "TaskID")]
    pub task_id: String,
    pub last_scan_time: String,
    pub status: String,
    pub sub_status: String,
}

pub async fn describe_scan_task(
    svc: &Service,
    caller: Caller,
    _req: DescribeAssetImageScanTaskRequest,
) -> Result<DescribeAssetImageScanTaskResponse, ServiceError> {
    let t = task_of(svc, caller.account, None).await?;
    Ok(DescribeAssetImageScanTaskResponse {
        last_scan_time: format_utc(t.started_at.unwrap_or(t.created_at)),
        task_id: t.task_id,
        status: t.status,
        sub_status: t.sub_status,
    })
}
