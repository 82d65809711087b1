//! Registry scan tasks: create (chosen images or one key), progress, stop.

use super::*;

/// TCSS `ImageInfo` as clients send it (every field optional here).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ImageInfoIn {
    pub instance_name: Option<String>,
    pub namespace: Option<String>,
    pub image_name: Option<String>,
    pub image_tag: Option<String>,
    pub force: Option<String>,
    pub image_digest: Option<String>,
    pub registry_type: Option<String>,
    pub image_repo_address: Option<String>,
    pub instance_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInfoOut {
    pub instance_name: String,
    pub namespace: String,
    pub image_name: String,
    pub image_tag: String,
    pub force: String,
    pub image_digest: String,
    pub registry_type: String,
    pub image_repo_address: String,
    pub instance_id: String,
}

pub(super) fn image_ref(field: &'static str, i: &ImageInfoIn) -> Result<ImageRef, ServiceError> {
    let t = |v: &Option<String>| text(field, v.as_deref(), MAX_TEXT);
    let r = ImageRef {
        instance_name: t(&i.instance_name)?,
        namespace: t(&i.namespace)?,
        image_name: t(&i.image_name)?,
        image_tag: t(&i.image_tag)?,
        force: t(&i.force)?,
        image_digest: t(&i.image_digest)?,
        registry_type: t(&i.registry_type)?,
        image_repo_address: t(&i.image_repo_address)?,
        instance_id: t(&i.instance_id)?,
    };
    if !r.is_specific() {
        return Err(missing(field, "an image needs ImageName, ImageRepoAddress or ImageDigest"));
    }
    Ok(r)
}

pub(super) fn image_refs(field: &'static str, v: &Option<Vec<ImageInfoIn>>) -> Result<Vec<ImageRef>, ServiceError> {
    let v = v.as_deref().unwrap_or_default();
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    v.iter().map(|i| image_ref(field, i)).collect()
}

pub(super) fn image_out(r: &ImageRef) -> ImageInfoOut {
    ImageInfoOut {
        instance_name: r.instance_name.clone(),
        namespace: r.namespace.clone(),
        image_name: r.image_name.clone(),
        image_tag: r.image_tag.clone(),
        force: r.force.clone(),
        image_digest: r.image_digest.clone(),
        registry_type: r.registry_type.clone(),
        image_repo_address: r.image_repo_address.clone(),
        instance_id: r.instance_id.clone(),
    }
}

/// `ScanType` → (vul, virus, risk); absent: all three.
pub(super) fn scan_types(v: &Option<Vec<String>>) -> Result<(bool, bool, bool), ServiceError> {
    let Some(v) = v else { return Ok((true, true, true)) };
    if v.is_empty() {
        return Err(invalid("ScanType", "choose at least one of CVE, VIRUS, RISK".into()));
    }
    let (mut vul, mut virus, mut risk) = (false, false, false);
    for t in v {
        match t.trim().to_ascii_uppercase().as_str() {
            "CVE" | "VUL" => vul = true,
            "VIRUS" => virus = true,
            "RISK" => risk = true,
            _ => return Err(invalid("ScanType", format!("{t:?} is not CVE, VIRUS or RISK"))),
        }
    }
    Ok((vul, virus, risk))
}

fn check_timeout(t: Option<u64>) -> Result<u64, ServiceError> {
    let t = t.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if t == 0 || t > MAX_TIMEOUT_SECS {
        return Err(invalid("Timeout", format!("must be 1..={MAX_TIMEOUT_SECS} seconds, got {t}")));
    }
    Ok(t)
}

/// Every id and every image named must exist (else `ResourceNotFound`, nothing changed).
fn check_named(rows: &[Row], ids: &[i64], images: &[ImageRef]) -> Result<(), ServiceError> {
    if let Some(id) = ids.iter().find(|id| !rows.iter().any(|r| r.img.id == **id)) {
        return Err(not_found("Registry image", id));
    }
    if let Some(i) = images.iter().find(|i| !rows.iter().any(|r| i.matches(&r.img))) {
        let name = if i.image_repo_address.is_empty() { format!("{}:{}", i.image_name, i.image_tag) } else { i.image_repo_address.clone() };
        return Err(not_found("Registry image", name));
    }
    Ok(())
}

fn container_counts(rows: &[Row]) -> HashMap<String, (u64, u64)> {
    rows.iter().map(|r| (r.img.tag.image_id.clone(), (r.containers, r.running))).collect()
}

/// Distinct image ids of the chosen rows, with their sizes, in row order.
fn images_of<'a>(chosen: impl IntoIterator<Item = &'a RegistryImage>) -> Vec<(String, u64)> {
    let mut seen = HashSet::new();
    chosen.into_iter().filter(|r| seen.insert(r.tag.image_id.clone())).map(|r| (r.tag.image_id.clone(), r.tag.size)).collect()
}

#[derive(Debug, Serialize)]
pub struct TaskIdResponse {
    #[serde(rename = "TaskID")]
    pub task_id: u64,
}

async fn queue_task(
    svc: &Service,
    account: AccountId,
    (vul, virus, risk): (bool, bool, bool),
    images: Vec<(String, u64)>,
    timeout: u64,
) -> Result<TaskIdResponse, ServiceError> {
    if images.is_empty() {
        return Err(not_found("Registry image", "(no image matches the selection)"));
    }
    if vul && !svc.store.advisories_loaded().await? {
        return Err(ServiceError::FailedOperation {
            reason: "no vulnerability data is loaded: import advisories first (`shipshape db import DIR`), or scan without CVE".into(),
        });
    }
    let new = NewImageScanTask {
        scan_vul: vul,
        scan_virus: virus,
        scan_risk: risk,
        scheduled: false,
        deadline: Some(now().saturating_add(timeout as i64)),
        images,
    };
    match svc.store.create_registry_scan_task(account, &new).await? {
        CreatedTask::Created(id) => Ok(TaskIdResponse { task_id: id.parse().unwrap_or(0) }),
        CreatedTask::AlreadyRunning(task_id) => Err(ServiceError::AlreadyScanning { task_id }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateAssetImageRegistryScanTaskRequest {
    pub all: Option<bool>,
    pub images: Option<Vec<ImageInfoIn>>,
    pub scan_type: Option<Vec<String>>,
    pub id: Option<Vec<u64>>,
    pub filters: Option<Vec<AssetFilters>>,
    pub exclude_image_list: Option<Vec<u64>>,
    pub only_scan_latest: Option<bool>,
    pub timeout: Option<u64>,
}

pub async fn create_scan_task(
    svc: &Service,
    caller: Caller,
    req: CreateAssetImageRegistryScanTaskRequest,
) -> Result<TaskIdResponse, ServiceError> {
    let kinds = scan_types(&req.scan_type)?;
    let timeout = check_timeout(req.timeout)?;
    let ids = ids_i64("Id", &req.id)?;
    let images = image_refs("Images", &req.images)?;
    let exclude = ids_i64("ExcludeImageList", &req.exclude_image_list)?;
    let filters = req.filters.unwrap_or_default();
    let all_rows = rows(svc, caller.account).await?;
    check_named(&all_rows, &ids, &images)?;
    let containers = container_counts(&all_rows);
    let (scope, base) = if !ids.is_empty() || !images.is_empty() {
        (1, all_rows)
    } else if !filters.is_empty() {
        (0, filtered(all_rows, &filters)?)
    } else if req.all.unwrap_or(false) {
        (0, all_rows)
    } else {
        return Err(missing("All", "choose the images: All, Id, Images or Filters"));
    };
    let sel = RegistrySelection {
        scope,
        ids,
        images,
        exclude_ids: exclude,
        latest_only: req.only_scan_latest.unwrap_or(false),
        ..Default::default()
    };
    let imgs: Vec<RegistryImage> = base.into_iter().map(|r| r.img).collect();
    let chosen = sel.select(&imgs, &|id| containers.get(id).copied().unwrap_or_default());
    queue_task(svc, caller.account, kinds, images_of(chosen), timeout).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateAssetImageRegistryScanTaskOneKeyRequest {
    pub all: Option<bool>,
    pub images: Option<Vec<ImageInfoIn>>,
    pub scan_type: Option<Vec<String>>,
    pub id: Option<Vec<u64>>,
    #[serde(rename = "ExcludeIDs")]
    pub exclude_ids: Option<Vec<u64>>,
    pub is_latest: Option<bool>,
    pub scan_scope: Option<u64>,
    pub registry_type: Option<Vec<String>>,
    pub namespace: Option<Vec<String>>,
    pub container_running: Option<bool>,
    pub timeout: Option<u64>,
}

/// `ScanScope` 0 all, 1 the chosen (`Images`/`Id`), 2 recommended; absent: 1 when images are
/// named, else 0.
pub(super) fn scope_of(scope: Option<u64>, ids: &[i64], images: &[ImageRef]) -> Result<u64, ServiceError> {
    let scope = scope.unwrap_or(if ids.is_empty() && images.is_empty() { 0 } else { 1 });
    if scope > 2 {
        return Err(invalid("ScanScope", format!("must be 0, 1 or 2, got {scope}")));
    }
    if scope == 1 && ids.is_empty() && images.is_empty() {
        return Err(missing("Images", "ScanScope 1 scans the chosen images: give Images or Id"));
    }
    Ok(scope)
}

pub async fn create_scan_task_one_key(
    svc: &Service,
    caller: Caller,
    req: CreateAssetImageRegistryScanTaskOneKeyRequest,
) -> Result<TaskIdResponse, ServiceError> {
    let kinds = scan_types(&req.scan_type)?;
    let timeout = check_timeout(req.timeout)?;
    let ids = ids_i64("Id", &req.id)?;
    let images = image_refs("Images", &req.images)?;
    let scope = scope_of(req.scan_scope, &ids, &images)?;
    let sel = RegistrySelection {
        scope,
        ids,
        images,
        exclude_ids: ids_i64("ExcludeIDs", &req.exclude_ids)?,
        latest_only: req.is_latest.unwrap_or(false),
        registry_types: list_of("RegistryType", &req.registry_type)?,
        namespaces: list_of("Namespace", &req.namespace)?,
        container_running: req.container_running.unwrap_or(false),
    };
    let all_rows = rows(svc, caller.account).await?;
    check_named(&all_rows, &sel.ids, &sel.images)?;
    let containers = container_counts(&all_rows);
    let imgs: Vec<RegistryImage> = all_rows.into_iter().map(|r| r.img).collect();
    let chosen = sel.select(&imgs, &|id| containers.get(id).copied().unwrap_or_default());
    queue_task(svc, caller.account, kinds, images_of(chosen), timeout).await
}

async fn registry_task(svc: &Service, account: AccountId, id: Option<u64>) -> Result<store::scan_tasks::ImageScanTask, ServiceError> {
    let want = id.map(|i| i.to_string());
    svc.store
        .registry_scan_task(account, want.as_deref())
        .await?
        .ok_or_else(|| not_found("Registry scan task", want.unwrap_or_else(|| "(none yet)".into())))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetImageRegistryScanStatusOneKeyRequest {
    pub images: Option<Vec<ImageInfoIn>>,
    pub all: Option<bool>,
    pub id: Option<Vec<u64>>,
    #[serde(rename = "TaskID")]
    pub task_id: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageProgress {
    pub image_id: String,
    pub registry_type: String,
    pub image_repo_address: String,
    pub instance_id: String,
    pub instance_name: String,
    pub namespace: String,
    pub image_name: String,
    pub image_tag: String,
    pub scan_status: String,
    pub cve_progress: u64,
    pub risk_progress: u64,
    pub virus_progress: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistryScanStatusOneKeyResponse {
    pub image_total: u64,
    pub image_scan_cnt: u64,
    pub image_status: Vec<ImageProgress>,
    pub success_count: u64,
    pub risk_count: u64,
    pub schedule: u64,
    pub status: String,
    pub scan_remain_time: u64,
}

pub async fn describe_scan_status(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetImageRegistryScanStatusOneKeyRequest,
) -> Result<DescribeAssetImageRegistryScanStatusOneKeyResponse, ServiceError> {
    let ids = ids_i64("Id", &req.id)?;
    let images = image_refs("Images", &req.images)?;
    let task = registry_task(svc, caller.account, req.task_id).await?;
    let queue = svc.store.scan_task_queue(caller.account, &task.task_id).await?;
    let all_rows: Vec<RegistryImage> = svc.store.registry_images(caller.account).await?;
    let state: HashMap<&str, &store::registries::QueuedImage> = queue.iter().map(|q| (q.image_id.as_str(), q)).collect();
    // The rows asked for, or one row per queued image.
    let shown: Vec<&RegistryImage> = if ids.is_empty() && images.is_empty() {
        let mut first: HashMap<&str, &RegistryImage> = HashMap::new();
        for r in &all_rows {
            first.entry(r.tag.image_id.as_str()).or_insert(r);
        }
        queue.iter().filter_map(|q| first.get(q.image_id.as_str()).copied()).collect()
    } else {
        all_rows.iter().filter(|r| ids.contains(&r.id) || images.iter().any(|i| i.matches(r))).collect()
    };
    let image_status = shown
        .into_iter()
        .filter_map(|r| {
            let q = state.get(r.tag.image_id.as_str())?;
            let (status, end) = match q.state.as_str() {
                "pending" => ("WAIT_SCAN", false),
                "running" => ("SCANNING", false),
                "done" => ("SCANNED", true),
                "failed" => ("SCAN_ERR", true),
                _ => ("CANCELLED", false),
            };
            let p = |on: bool| if on && end { 100 } else { 0 };
            Some(ImageProgress {
                image_id: r.tag.image_id.clone(),
                registry_type: r.registry_type.clone(),
                image_repo_address: r.address(),
                instance_id: r.instance_id.clone(),
                instance_name: r.registry_name.clone(),
                namespace: r.namespace().to_string(),
                image_name: r.tag.repository.clone(),
                image_tag: r.tag.tag.clone(),
                scan_status: status.into(),
                cve_progress: p(task.scan_vul),
                risk_progress: p(task.scan_risk),
                virus_progress: p(task.scan_virus),
            })
        })
        .collect();
    let done: Vec<_> = queue.iter().filter(|q| q.state == "done").collect();
    let failed = queue.iter().filter(|q| q.state == "failed").count() as u64;
    let total = queue.len() as u64;
    let scanned = done.len() as u64 + failed;
    let remain = if task.status == "END" || scanned == 0 {
        0
    } else {
        let elapsed = task.started_at.map_or(0, |s| (now() - s).max(0)) as u64;
        let left = queue.iter().filter(|q| q.state == "pending" || q.state == "running").count() as u64;
        (elapsed * left).div_ceil(scanned)
    };
    Ok(DescribeAssetImageRegistryScanStatusOneKeyResponse {
        image_total: total,
        image_scan_cnt: scanned,
        image_status,
        success_count: done.iter().filter(|q| q.risk_count == 0).count() as u64,
        risk_count: done.iter().filter(|q| q.risk_count > 0).count() as u64,
        schedule: (scanned * 100).checked_div(total).unwrap_or(100),
        status: task.status,
        scan_remain_time: remain,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyAssetImageRegistryScanStopRequest {
    pub all: Option<bool>,
    pub images: Option<Vec<ImageInfoIn>>,
    pub id: Option<Vec<u64>>,
    pub filters: Option<Vec<AssetFilters>>,
    pub exclude_image_list: Option<Vec<u64>>,
    pub only_scan_latest: Option<bool>,
    #[serde(rename = "TaskID")]
    pub task_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyAssetImageRegistryScanStopOneKeyRequest {
    pub all: Option<bool>,
    pub images: Option<Vec<ImageInfoIn>>,
    pub id: Option<Vec<u64>>,
    #[serde(rename = "TaskID")]
    pub task_id: Option<u64>,
}

/// Which images of a task a stop takes (none named: the whole task).
#[derive(Default)]
struct StopWhat {
    ids: Vec<i64>,
    images: Vec<ImageRef>,
    filters: Vec<AssetFilters>,
    exclude: Vec<i64>,
    latest_only: bool,
}

/// Stops the task (`TaskID`, else the unfinished one, else the latest): wholly, or only the
/// images selected. Stopping a task that ended changes nothing.
async fn stop(svc: &Service, account: AccountId, task_id: Option<u64>, w: StopWhat) -> Result<EmptyResponse, ServiceError> {
    let task = match task_id {
        Some(id) => registry_task(svc, account, Some(id)).await?,
        None => match svc.store.active_registry_scan_task(account).await? {
            Some(id) => svc.store.registry_scan_task(account, Some(&id)).await?.ok_or_else(|| not_found("Registry scan task", id))?,
            None => registry_task(svc, account, None).await?,
        },
    };
    if w.ids.is_empty() && w.images.is_empty() && w.filters.is_empty() && w.exclude.is_empty() && !w.latest_only {
        svc.store.stop_image_scan_task(account, &task.task_id, "Cancel").await?;
        return Ok(EmptyResponse {});
    }
    let all_rows = rows(svc, account).await?;
    check_named(&all_rows, &w.ids, &w.images)?;
    let containers = container_counts(&all_rows);
    let scope = if w.ids.is_empty() && w.images.is_empty() { 0 } else { 1 };
    let base = if w.filters.is_empty() { all_rows } else { filtered(all_rows, &w.filters)? };
    let sel =
        RegistrySelection { scope, ids: w.ids, images: w.images, exclude_ids: w.exclude, latest_only: w.latest_only, ..Default::default() };
    let imgs: Vec<RegistryImage> = base.into_iter().map(|r| r.img).collect();
    let chosen: Vec<String> =
        images_of(sel.select(&imgs, &|id| containers.get(id).copied().unwrap_or_default())).into_iter().map(|x| x.0).collect();
    svc.store.cancel_image_scan_images(account, &task.task_id, &chosen).await?;
    Ok(EmptyResponse {})
}

pub async fn stop_scan(svc: &Service, caller: Caller, req: ModifyAssetImageRegistryScanStopRequest) -> Result<EmptyResponse, ServiceError> {
    let filters = req.filters.unwrap_or_default();
    check_filters(&filters)?;
    let w = StopWhat {
        ids: ids_i64("Id", &req.id)?,
        images: image_refs("Images", &req.images)?,
        filters,
        exclude: ids_i64("ExcludeImageList", &req.exclude_image_list)?,
        latest_only: req.only_scan_latest.unwrap_or(false),
    };
    // `All` (or nothing named) stops the whole task.
    let _ = req.all;
    stop(svc, caller.account, req.task_id, w).await
}

pub async fn stop_scan_one_key(
    svc: &Service,
    caller: Caller,
    req: ModifyAssetImageRegistryScanStopOneKeyRequest,
) -> Result<EmptyResponse, ServiceError> {
    let w = StopWhat { ids: ids_i64("Id", &req.id)?, images: image_refs("Images", &req.images)?, ..Default::default() };
    let _ = req.all;
    stop(svc, caller.account, req.task_id, w).await
}
