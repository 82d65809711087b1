//! Local images and image scan tasks: `DescribeAssetImageList`, `CreateAssetImageScanTask`,
//! `DescribeAssetImageScanStatus`, `ModifyAssetImageScanStop`, `DescribeAssetImageScanTask`,
//! `DescribeAssetImageVulList` / `VirusList` / `RiskList`, `DescribeAssetImageDetail`
//! (schemas: ../shared/spec/schema/<Action>.json, objects.json).
//!
//! Handlers only read and write the store: tasks are durable queue rows that the `scan` worker
//! (started by `serve`) claims; a stop marks the rows cancelled and the worker notices within
//! a heartbeat. The inventory is what the worker last saw in the Docker Engine.
//!
//! Conventions where TCSS leaves room:
//! - Levels (vulnerability `Level`, virus `RiskLevel`, risk `Level`): 1 low, 2 medium, 3 high,
//!   4 critical. Filters accept the numbers or the words (`HIGH`).
//! - Risk `Type`: 1 secret or private key in a file's content, 2 sensitive file. `Behavior`: 1
//!   the file is in the final image, 2 a later layer deleted or replaced it (still in the
//!   layer blobs). `Desc` carries the rule, path, line and layer; `InstructionContent` the
//!   remedy and the masked value (a secret's value is never returned).
//! - `Filters` with `ExactMatch` false match substrings (case-insensitive), true whole values.
//! - Times are UTC `YYYY-MM-DD HH:MM:SS`.
//! - `ScanError` of a scan that hit a walk limit (files, size, depth) but otherwise finished says
//!   so (`PARTIAL_SCAN`); the status stays `SCANNED`.
//! - Vulnerability fields from the advisory data: `SubmitTime` = the advisory's `published`
//!   (RFC 3339 as the data gives it; empty when the record has none), `Des` = its `details`
//!   (else a sentence naming advisory, package, file and layer), `Category` = the CWE ids it
//!   names (`CWE-79,CWE-89`; empty when none), `CategoryType` = `SYSTEM` for OS packages,
//!   `APPLICATION` for language packages, `AttackLevel` = from the CVSS attack vector: 3 network,
//!   2 adjacent network, 1 local or physical, 0 no vector. `DefenseSolution` stays empty:
//!   Shipshape has no runtime defence to propose.

use std::cmp::Ordering;
use std::collections::HashMap;

use api::Caller;
use model::{Location, Severity};
use serde::{Deserialize, Serialize};
use store::scan_tasks::{CreatedTask, ImageAsset, ImageScanResult, NewImageScanTask, format_utc};

use crate::Service;
use crate::error::ServiceError;
pub use crate::list::AssetFilters;
use crate::list::{check_filters, descending, invalid, page, paged, sorted, text_match};

const DEFAULT_TIMEOUT_SECS: u64 = 3600;
const MAX_LIST: usize = 1000;

// ---- stored rows (written by `scan`: results::ImageSummary and the finding types) ----

// The stored summary (written by `scan::results`), one definition in `model`; the registry lists
// and the metrics read it through these names.
use model::scan_summary::FindingKind;
pub(crate) use model::scan_summary::{ImageSummary as Summary, KindSummary};

// Findings are read back as the types the scan wrote them with (one definition each).
type StoredVuln = vuln::VulnFinding;
type StoredVirus = model::MalwareFinding;
type StoredRisk = model::RiskFinding;

/// A filter value naming a level: `1`..`4` or `LOW`..`CRITICAL`.
fn parse_level(field: &'static str, v: &str) -> Result<u64, ServiceError> {
    Severity::from_tcss_level(v)
        .map(Severity::tcss_level_number)
        .ok_or_else(|| invalid(field, format!("level {v:?} is not 1-4 or LOW/MEDIUM/HIGH/CRITICAL")))
}

/// `ScanError`: the whole scan's error, else a note that a walk limit cut the scan short (the
/// stored `partial`; TCSS has no field of its own for it), else empty.
fn scan_error(s: &Summary) -> String {
    if !s.error.is_empty() {
        s.error.clone()
    } else if s.partial {
        PARTIAL_SCAN.to_string()
    } else {
        String::new()
    }
}

/// The `ScanError` of a scan that finished but hit a walk limit.
pub(crate) const PARTIAL_SCAN: &str = "partial scan: a file count, size or depth limit was reached; findings may be missing";

fn parse_summary(r: Option<&ImageScanResult>) -> Summary {
    r.and_then(|r| serde_json::from_str(&r.summary).ok()).unwrap_or_default()
}

fn corrupt<E: std::fmt::Display>(e: E) -> ServiceError {
    ServiceError::Store(store::Error::Corrupt { table: "image_findings", reason: e.to_string() })
}

// ---- the image list ----

/// One image with what the list and the filters need.
pub(crate) struct ImageRow {
    pub(crate) asset: ImageAsset,
    summary: Summary,
    pub(crate) scanned_at: Option<i64>,
    /// `NOT_SCAN`, `SCANNING`, `SCANNED`, `SCAN_ERR`.
    status: &'static str,
}

impl ImageRow {
    pub(crate) fn vul_cnt(&self) -> u64 {
        self.summary.vul.as_ref().map_or(0, |k| k.count)
    }
    pub(crate) fn virus_cnt(&self) -> u64 {
        self.summary.virus.as_ref().map_or(0, |k| k.count)
    }
    pub(crate) fn risk_cnt(&self) -> u64 {
        self.summary.risk.as_ref().map_or(0, |k| k.count)
    }
    fn level_cnt(&self, f: impl Fn(&KindSummary) -> u64) -> u64 {
        self.summary.vul.as_ref().map_or(0, f)
    }
    /// Fixing is recommended: a critical or high vulnerability, or a trojan (`IsSuggest`).
    pub(crate) fn is_suggested(&self) -> bool {
        self.level_cnt(|k| k.critical + k.high) > 0 || self.virus_cnt() > 0
    }
    fn name(&self) -> String {
        self.asset.names.first().cloned().unwrap_or_else(|| "<none>:<none>".into())
    }
}

pub(crate) async fn image_rows(svc: &Service, account: model::AccountId) -> Result<Vec<ImageRow>, ServiceError> {
    let assets = svc.store.image_assets(account).await?;
    let results: HashMap<String, ImageScanResult> =
        svc.store.image_scan_results(account).await?.into_iter().map(|r| (r.image_id.clone(), r)).collect();
    let active: HashMap<String, String> = svc.store.image_scan_active_images(account).await?.into_iter().collect();
    Ok(assets
        .into_iter()
        .map(|asset| {
            let r = results.get(&asset.image_id);
            let summary = parse_summary(r);
            let status = if active.get(&asset.image_id).is_some_and(|s| s == "running") {
                "SCANNING"
            } else if r.is_none() {
                "NOT_SCAN"
            } else if !summary.error.is_empty() {
                "SCAN_ERR"
            } else {
                "SCANNED"
            };
            ImageRow { asset, summary, scanned_at: r.map(|r| r.scanned_at), status }
        })
        .collect())
}

/// The image filters of DescribeAssetImageList (also used to select images to scan or stop).
fn image_matches(row: &ImageRow, f: &AssetFilters) -> Result<bool, ServiceError> {
    Ok(match f.name.as_str() {
        "ImageName" => row.asset.names.iter().any(|n| text_match(f, n)),
        "ImageID" => text_match(f, &row.asset.image_id),
        "ScanStatus" => {
            let mut any = false;
            for v in &f.values {
                let want = match v.to_ascii_lowercase().replace('_', "").as_str() {
                    "notscan" => "NOT_SCAN",
                    "scanning" => "SCANNING",
                    "scanned" => "SCANNED",
                    "scanerr" => "SCAN_ERR",
                    _ => {
                        return Err(invalid("Filters.ScanStatus", format!("{v:?} is not notScan, scanning, scanned or scanErr")));
                    }
                };
                any |= row.status == want;
            }
            any
        }
        "SecurityRisk" => {
            let mut any = false;
            for v in &f.values {
                any |= match v.as_str() {
                    "VirusCnt" => row.virus_cnt() > 0,
                    "RiskCnt" => row.risk_cnt() > 0,
                    "IsTrustImage" => false,
                    "CriticalLevelVul" => row.level_cnt(|k| k.critical) > 0,
                    "HighLevelVul" => row.level_cnt(|k| k.high) > 0,
                    "MediumLevelVul" => row.level_cnt(|k| k.medium) > 0,
                    "LowLevelVul" => row.level_cnt(|k| k.low) > 0,
                    _ => {
                        return Err(invalid("Filters.SecurityRisk", format!("{v:?} is not a known risk")));
                    }
                };
            }
            any
        }
        other => return Err(invalid("Filters", format!("unknown filter name {other:?}"))),
    })
}

fn filter_rows(rows: Vec<ImageRow>, filters: &[AssetFilters]) -> Result<Vec<ImageRow>, ServiceError> {
    check_filters(filters)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut keep = true;
        for f in filters {
            keep &= image_matches(&r, f)?;
        }
        if keep {
            out.push(r);
        }
    }
    Ok(out)
}

pub type DescribeAssetImageListRequest = crate::list::ListRequest;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImagesInfo {
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub image_name: String,
    pub create_time: String,
    pub size: u64,
    pub host_cnt: u64,
    pub super_node_cnt: u64,
    pub container_cnt: u64,
    pub scan_time: String,
    pub vul_cnt: u64,
    pub virus_cnt: u64,
    pub risk_cnt: u64,
    pub is_trust_image: bool,
    pub os_name: String,
    pub agent_error: String,
    pub scan_error: String,
    pub scan_status: String,
    pub scan_virus_error: String,
    pub scan_vul_error: String,
    pub scan_risk_error: String,
    pub is_suggest: u64,
    pub is_authorized: u64,
    pub component_cnt: u64,
    pub critical_level_vul_cnt: u64,
    pub high_level_vul_cnt: u64,
    pub medium_level_vul_cnt: u64,
    pub low_level_vul_cnt: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageListResponse {
    pub list: Vec<ImagesInfo>,
    pub total_count: u64,
}

fn kind_error(k: &Option<KindSummary>) -> String {
    k.as_ref().map(|k| k.error.clone()).unwrap_or_default()
}

fn images_info(r: &ImageRow) -> ImagesInfo {
    let s = &r.summary;
    ImagesInfo {
        image_id: r.asset.image_id.clone(),
        image_name: r.name(),
        create_time: r.asset.created.clone(),
        size: r.asset.size,
        // The server's Docker Engine is its one host: 1 when the image is there, 0 for an image
        // only in a registry.
        host_cnt: u64::from(r.asset.sources.iter().any(|s| s == "docker")),
        super_node_cnt: 0,
        container_cnt: r.asset.container_cnt,
        scan_time: r.scanned_at.map(format_utc).unwrap_or_default(),
        vul_cnt: r.vul_cnt(),
        virus_cnt: r.virus_cnt(),
        risk_cnt: r.risk_cnt(),
        is_trust_image: false,
        os_name: s.os_name.clone(),
        agent_error: String::new(),
        scan_error: scan_error(s),
        scan_status: r.status.to_string(),
        scan_virus_error: kind_error(&s.virus),
        scan_vul_error: kind_error(&s.vul),
        scan_risk_error: kind_error(&s.risk),
        is_suggest: u64::from(r.is_suggested()),
        is_authorized: 1,
        component_cnt: s.component_cnt,
        critical_level_vul_cnt: r.level_cnt(|k| k.critical),
        high_level_vul_cnt: r.level_cnt(|k| k.high),
        medium_level_vul_cnt: r.level_cnt(|k| k.medium),
        low_level_vul_cnt: r.level_cnt(|k| k.low),
    }
}

pub async fn describe_image_list(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetImageListRequest,
) -> Result<DescribeAssetImageListResponse, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    let desc = descending(req.order.as_deref())?;
    let rows = filter_rows(image_rows(svc, caller.account).await?, req.filters.as_deref().unwrap_or_default())?;
    let by = req.by.as_deref().unwrap_or("");
    let key: fn(&ImageRow, &ImageRow) -> Ordering = match by {
        "" | "ImageID" => |a, b| a.asset.image_id.cmp(&b.asset.image_id),
        "ImageName" => |a, b| a.name().cmp(&b.name()),
        "HostCnt" => |a, b| a.asset.image_id.cmp(&b.asset.image_id),
        "ContainerCnt" => |a, b| a.asset.container_cnt.cmp(&b.asset.container_cnt),
        "CreateTime" => |a, b| a.asset.created.cmp(&b.asset.created),
        "Size" => |a, b| a.asset.size.cmp(&b.asset.size),
        "ScanTime" => |a, b| a.scanned_at.cmp(&b.scanned_at),
        "ComponentCnt" => |a, b| a.summary.component_cnt.cmp(&b.summary.component_cnt),
        "VulCnt" => |a, b| a.vul_cnt().cmp(&b.vul_cnt()),
        "VirusCnt" => |a, b| a.virus_cnt().cmp(&b.virus_cnt()),
        "RiskCnt" | "SensitiveCount" => |a, b| a.risk_cnt().cmp(&b.risk_cnt()),
        other => return Err(invalid("By", format!("cannot sort by {other:?}"))),
    };
    // Ties keep image id order, so pages never overlap.
    let rows = sorted(rows, desc, |a, b| key(a, b).then_with(|| a.asset.image_id.cmp(&b.asset.image_id)));
    let total = rows.len() as u64;
    let list = paged(rows, paging).iter().map(images_info).collect();
    Ok(DescribeAssetImageListResponse { list, total_count: total })
}

// ---- tasks ----

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
fn names_image(a: &ImageAsset, wanted: &str) -> bool {
    let w = wanted.trim();
    if w.is_empty() {
        return false;
    }
    let hex = a.image_id.strip_prefix("sha256:").unwrap_or(&a.image_id);
    let w_hex = w.strip_prefix("sha256:").unwrap_or(w);
    if w_hex.len() >= 12 && w_hex.bytes().all(|b| b.is_ascii_hexdigit()) && hex.starts_with(&w_hex.to_ascii_lowercase()) {
        return true;
    }
    let last = w.rsplit('/').next().unwrap_or(w);
    let with_tag = if last.contains(':') { w.to_string() } else { format!("{w}:latest") };
    a.names.iter().any(|n| *n == with_tag || n == w)
}

fn check_list(field: &'static str, v: &[String]) -> Result<(), ServiceError> {
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    Ok(())
}

/// The images a request selects: `All`, `Images` or `Filters`, minus `ExcludeImageIds`.
fn select(
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
        filter_rows(rows, filters)?
    } else if all {
        rows
    } else {
        match scope {
            2 => rows.into_iter().filter(|r| r.asset.container_cnt > 0).collect(),
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
        chosen.retain(|r| r.asset.running_cnt > 0);
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
        images: chosen.iter().map(|r| (r.asset.image_id.clone(), r.asset.size)).collect(),
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

async fn task_of(svc: &Service, account: model::AccountId, id: Option<&str>) -> Result<store::scan_tasks::ImageScanTask, ServiceError> {
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
        let ids: Vec<String> = chosen.into_iter().map(|r| r.asset.image_id).collect();
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

// ---- results of one image ----

async fn image_of(svc: &Service, account: model::AccountId, image_id: &str) -> Result<ImageAsset, ServiceError> {
    svc.store.image_asset(account, image_id).await?.ok_or_else(|| ServiceError::NotFound { what: "Image", id: image_id.to_string() })
}

async fn findings<T: for<'de> Deserialize<'de>>(
    svc: &Service,
    account: model::AccountId,
    image_id: &str,
    kind: FindingKind,
) -> Result<Vec<T>, ServiceError> {
    svc.store.image_findings(account, image_id, kind).await?.iter().map(|j| serde_json::from_str(j).map_err(corrupt)).collect()
}

fn layer_desc(loc: &Location, deleted: Option<u32>) -> String {
    let mut s = format!("layer {} ({})", loc.layer_index, loc.layer_digest);
    if let Some(d) = deleted {
        s.push_str(&format!(", deleted in layer {d} but still in the image's layer blobs"));
    }
    s
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ImageListRequest {
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
    pub by: Option<String>,
    pub order: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImagesVul {
    #[serde(rename = "CVEID")]
    pub cve_id: String,
    pub name: String,
    pub component: String,
    pub version: String,
    pub category: String,
    pub category_type: String,
    pub level: u64,
    pub des: String,
    pub official_solution: String,
    pub reference: String,
    pub defense_solution: String,
    pub submit_time: String,
    #[serde(rename = "CVSSV3Score")]
    pub cvss_v3_score: f64,
    #[serde(rename = "CVSSV3Desc")]
    pub cvss_v3_desc: String,
    pub is_suggest: bool,
    pub fixed_versions: String,
    pub tag: Vec<String>,
    pub attack_level: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageVulListResponse {
    pub list: Vec<ImagesVul>,
    pub total_count: u64,
}

fn images_vul(v: &StoredVuln) -> ImagesVul {
    let fixable = !v.fixed_versions.is_empty();
    let v3 = v.cvss_vector.as_deref().is_some_and(|x| x.starts_with("CVSS:3."));
    ImagesVul {
        cve_id: v.display_id.clone(),
        name: if v.title.is_empty() { v.display_id.clone() } else { v.title.clone() },
        component: v.package.name.clone(),
        version: v.package.version.clone(),
        category: v.cwes.join(","),
        category_type: if v.package.ecosystem.is_os() { "SYSTEM" } else { "APPLICATION" }.into(),
        level: v.severity.tcss_level_number(),
        des: if !v.description.trim().is_empty() {
            v.description.trim().to_owned()
        } else {
            format!(
                "{} ({} from {}) affects {} {} declared in {}, {}.",
                if v.title.is_empty() { &v.display_id } else { &v.title },
                v.advisory_id,
                v.source,
                v.package.name,
                v.package.version,
                v.location.path,
                layer_desc(&v.location, None)
            )
        },
        official_solution: if fixable {
            format!("Upgrade {} to {} or later.", v.package.name, v.fixed_versions.join(" / "))
        } else {
            "No fixed version is known yet.".into()
        },
        reference: serde_json::to_string(&v.links).unwrap_or_default(),
        defense_solution: String::new(),
        submit_time: v.published.clone().unwrap_or_default(),
        // The v3 fields carry a v3 vector only (an advisory with only v2/v4 leaves them 0 / empty).
        cvss_v3_score: if v3 { v.cvss_score.unwrap_or(0.0) } else { 0.0 },
        cvss_v3_desc: if v3 { v.cvss_vector.clone().unwrap_or_default() } else { String::new() },
        is_suggest: fixable && v.severity >= Severity::High,
        fixed_versions: v.fixed_versions.join(","),
        tag: if fixable { vec!["CanBeFixed".into()] } else { Vec::new() },
        attack_level: match v.cvss_vector.as_deref().and_then(vuln::attack_vector) {
            Some('N') => 3,
            Some('A') => 2,
            Some('L' | 'P') => 1,
            _ => 0,
        },
    }
}

pub async fn describe_vul_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
) -> Result<DescribeAssetImageVulListResponse, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    let desc = descending(req.order.as_deref())?;
    let filters = req.filters.unwrap_or_default();
    check_filters(&filters)?;
    image_of(svc, caller.account, &req.image_id).await?;
    let mut list: Vec<StoredVuln> = findings(svc, caller.account, &req.image_id, FindingKind::Vul).await?;
    for f in &filters {
        let keep: Box<dyn Fn(&StoredVuln) -> bool + '_> = match f.name.as_str() {
            "Name" => Box::new(|v: &StoredVuln| text_match(f, &v.title) || text_match(f, &v.display_id)),
            "CVEID" => Box::new(|v: &StoredVuln| text_match(f, &v.display_id)),
            "Component" => Box::new(|v: &StoredVuln| text_match(f, &v.package.name)),
            "Level" => {
                let levels = f.values.iter().map(|x| parse_level("Filters.Level", x)).collect::<Result<Vec<_>, _>>()?;
                Box::new(move |v: &StoredVuln| levels.contains(&v.severity.tcss_level_number()))
            }
            other => return Err(invalid("Filters", format!("unknown filter name {other:?}"))),
        };
        list.retain(|v| keep(v));
    }
    let key: fn(&StoredVuln, &StoredVuln) -> Ordering = match req.by.as_deref().unwrap_or("") {
        "" => |_, _| Ordering::Equal,
        "Level" => |a, b| a.severity.tcss_level_number().cmp(&b.severity.tcss_level_number()),
        "CVSSV3Score" => |a, b| a.cvss_score.unwrap_or(0.0).total_cmp(&b.cvss_score.unwrap_or(0.0)),
        "CVEID" => |a, b| a.display_id.cmp(&b.display_id),
        "Component" => |a, b| a.package.name.cmp(&b.package.name),
        other => return Err(invalid("By", format!("cannot sort by {other:?}"))),
    };
    let list = sorted(list, desc, key);
    let total = list.len() as u64;
    Ok(DescribeAssetImageVulListResponse { list: paged(list, paging).iter().map(images_vul).collect(), total_count: total })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageVirusInfo {
    pub path: String,
    pub risk_level: u64,
    pub virus_name: String,
    pub tags: Vec<String>,
    pub desc: String,
    pub solution: String,
    pub size: u64,
    pub first_scan_time: String,
    pub latest_scan_time: String,
    pub md5: String,
    pub file_name: String,
    pub check_platform: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageVirusListResponse {
    pub list: Vec<ImageVirusInfo>,
    pub total_count: u64,
    pub virus_scan_status: u64,
}

fn virus_path(v: &StoredVirus) -> String {
    match &v.archive_member {
        Some(m) if !m.is_empty() => format!("{}!/{m}", v.location.path),
        _ => v.location.path.clone(),
    }
}

/// 0 not scanned, 1 scanning, 2 finished, 3 error (TCSS `VirusScanStatus`, `Status`).
fn scan_state(row_status: &str, kind: &Option<KindSummary>) -> u64 {
    match (row_status, kind) {
        ("SCANNING", _) => 1,
        (_, Some(k)) if !k.error.is_empty() => 3,
        (_, Some(_)) => 2,
        _ => 0,
    }
}

pub async fn describe_virus_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
) -> Result<DescribeAssetImageVirusListResponse, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    let desc = descending(req.order.as_deref())?;
    let filters = req.filters.unwrap_or_default();
    check_filters(&filters)?;
    image_of(svc, caller.account, &req.image_id).await?;
    let row = image_rows(svc, caller.account).await?.into_iter().find(|r| r.asset.image_id == req.image_id);
    let (status, summary) = row.map(|r| (r.status, r.summary)).unwrap_or(("NOT_SCAN", Summary::default()));
    let when = summary.virus.as_ref().map(|k| format_utc(k.scanned_at)).unwrap_or_default();
    let mut list: Vec<StoredVirus> = findings(svc, caller.account, &req.image_id, FindingKind::Virus).await?;
    for f in &filters {
        let keep: Box<dyn Fn(&StoredVirus) -> bool + '_> = match f.name.as_str() {
            "Name" | "VirusName" => Box::new(|v: &StoredVirus| text_match(f, &v.signature)),
            "Path" => Box::new(|v: &StoredVirus| text_match(f, &virus_path(v))),
            "RiskLevel" => {
                let levels = f.values.iter().map(|x| parse_level("Filters.RiskLevel", x)).collect::<Result<Vec<_>, _>>()?;
                Box::new(move |v: &StoredVirus| levels.contains(&v.severity.tcss_level_number()))
            }
            other => return Err(invalid("Filters", format!("unknown filter name {other:?}"))),
        };
        list.retain(|v| keep(v));
    }
    let key: fn(&StoredVirus, &StoredVirus) -> Ordering = match req.by.as_deref().unwrap_or("") {
        // One scan time per image: the stored order.
        "" | "LatestScanTime" | "FirstScanTime" => |_, _| Ordering::Equal,
        "RiskLevel" => |a, b| a.severity.tcss_level_number().cmp(&b.severity.tcss_level_number()),
        "Size" => |a, b| a.size.cmp(&b.size),
        "Path" => |a, b| virus_path(a).cmp(&virus_path(b)),
        other => return Err(invalid("By", format!("cannot sort by {other:?}"))),
    };
    let list = sorted(list, desc, key);
    let total = list.len() as u64;
    let list = paged(list, paging)
        .iter()
        .map(|v| {
            let path = virus_path(v);
            ImageVirusInfo {
                file_name: path.rsplit(['/', '!']).next().unwrap_or(&path).to_string(),
                path,
                risk_level: v.severity.tcss_level_number(),
                virus_name: v.signature.clone(),
                tags: vec![v.source.clone()],
                desc: format!("Signature {} ({}) matched; {}.", v.signature, v.source, layer_desc(&v.location, v.deleted_in_layer)),
                solution: "Remove the file from the image (and the layer that adds it), rebuild, and check how it got there.".into(),
                size: v.size,
                first_scan_time: when.clone(),
                latest_scan_time: when.clone(),
                md5: v.md5.clone(),
                check_platform: Vec::new(),
            }
        })
        .collect();
    Ok(DescribeAssetImageVirusListResponse { list, total_count: total, virus_scan_status: scan_state(status, &summary.virus) })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRiskInfo {
    pub behavior: u64,
    #[serde(rename = "Type")]
    pub kind: u64,
    pub level: u64,
    pub desc: String,
    pub instruction_content: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRiskListResponse {
    pub list: Vec<ImageRiskInfo>,
    pub total_count: u64,
}

fn risk_type(r: &StoredRisk) -> u64 {
    if r.category == "sensitive-file" { 2 } else { 1 }
}

fn risk_behavior(r: &StoredRisk) -> u64 {
    if r.deleted_in_layer.is_some() { 2 } else { 1 }
}

pub async fn describe_risk_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
) -> Result<DescribeAssetImageRiskListResponse, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    let desc = descending(req.order.as_deref())?;
    let filters = req.filters.unwrap_or_default();
    check_filters(&filters)?;
    image_of(svc, caller.account, &req.image_id).await?;
    let mut list: Vec<StoredRisk> = findings(svc, caller.account, &req.image_id, FindingKind::Risk).await?;
    for f in &filters {
        let num = |field: &'static str| -> Result<Vec<u64>, ServiceError> {
            f.values.iter().map(|v| v.trim().parse::<u64>().map_err(|_| invalid(field, format!("{v:?} is not a number")))).collect()
        };
        let keep: Box<dyn Fn(&StoredRisk) -> bool + '_> = match f.name.as_str() {
            "Level" => {
                let levels = f.values.iter().map(|x| parse_level("Filters.Level", x)).collect::<Result<Vec<_>, _>>()?;
                Box::new(move |r: &StoredRisk| levels.contains(&r.severity.tcss_level_number()))
            }
            "Behavior" => {
                let v = num("Filters.Behavior")?;
                Box::new(move |r: &StoredRisk| v.contains(&risk_behavior(r)))
            }
            "Type" => {
                let v = num("Filters.Type")?;
                Box::new(move |r: &StoredRisk| v.contains(&risk_type(r)))
            }
            other => return Err(invalid("Filters", format!("unknown filter name {other:?}"))),
        };
        list.retain(|r| keep(r));
    }
    let key: fn(&StoredRisk, &StoredRisk) -> Ordering = match req.by.as_deref().unwrap_or("") {
        "" => |_, _| Ordering::Equal,
        "Level" => |a, b| a.severity.tcss_level_number().cmp(&b.severity.tcss_level_number()),
        "Type" => |a, b| risk_type(a).cmp(&risk_type(b)),
        "Behavior" => |a, b| risk_behavior(a).cmp(&risk_behavior(b)),
        other => return Err(invalid("By", format!("cannot sort by {other:?}"))),
    };
    let list = sorted(list, desc, key);
    let total = list.len() as u64;
    let list = paged(list, paging)
        .iter()
        .map(|r| ImageRiskInfo {
            behavior: risk_behavior(r),
            kind: risk_type(r),
            level: r.severity.tcss_level_number(),
            desc: format!(
                "{} [{}] in {}{}, {}",
                r.title,
                r.rule_id,
                r.location.path,
                if r.line > 0 { format!(" line {}", r.line) } else { String::new() },
                layer_desc(&r.location, r.deleted_in_layer)
            ),
            instruction_content: if r.masked.is_empty() {
                "Remove the file from the image; deleting it in a later layer does not remove it from the image.".into()
            } else {
                format!("Remove it from the image and rotate the credential (value {}).", r.masked)
            },
        })
        .collect();
    Ok(DescribeAssetImageRiskListResponse { list, total_count: total })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetImageDetailRequest {
    #[serde(rename = "ImageID")]
    pub image_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageDetailResponse {
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub image_name: String,
    pub image_digest: String,
    pub create_time: String,
    pub size: u64,
    pub host_cnt: u64,
    pub container_cnt: u64,
    pub super_node_cnt: u64,
    pub scan_time: String,
    pub vul_cnt: u64,
    pub risk_cnt: u64,
    pub sensitive_info_cnt: u64,
    pub is_trust_image: bool,
    pub os_name: String,
    pub agent_error: String,
    pub scan_error: String,
    pub architecture: String,
    pub author: String,
    pub build_history: String,
    pub scan_virus_progress: u64,
    pub scan_vul_progress: u64,
    pub scan_risk_progress: u64,
    pub scan_virus_error: String,
    pub scan_vul_error: String,
    pub scan_risk_error: String,
    pub scan_status: String,
    pub virus_cnt: u64,
    pub status: u64,
    pub remain_scan_time: u64,
    pub is_authorized: i64,
    pub repo_digests: Vec<String>,
}

pub async fn describe_image_detail(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetImageDetailRequest,
) -> Result<DescribeAssetImageDetailResponse, ServiceError> {
    let row = image_rows(svc, caller.account)
        .await?
        .into_iter()
        .find(|r| r.asset.image_id == req.image_id)
        .ok_or_else(|| ServiceError::NotFound { what: "Image", id: req.image_id.clone() })?;
    let s = &row.summary;
    let progress = |k: &Option<KindSummary>| if k.is_some() { 100 } else { 0 };
    let digest = row.asset.repo_digests.first().and_then(|d| d.split('@').nth(1)).unwrap_or_default().to_string();
    Ok(DescribeAssetImageDetailResponse {
        image_id: row.asset.image_id.clone(),
        image_name: row.name(),
        image_digest: digest,
        create_time: row.asset.created.clone(),
        size: row.asset.size,
        host_cnt: 1,
        container_cnt: row.asset.container_cnt,
        super_node_cnt: 0,
        scan_time: row.scanned_at.map(format_utc).unwrap_or_default(),
        vul_cnt: row.vul_cnt(),
        risk_cnt: row.risk_cnt(),
        sensitive_info_cnt: row.risk_cnt(),
        is_trust_image: false,
        os_name: s.os_name.clone(),
        agent_error: String::new(),
        scan_error: scan_error(s),
        architecture: row.asset.architecture.clone(),
        author: row.asset.author.clone(),
        build_history: row.asset.history.clone(),
        scan_virus_progress: progress(&s.virus),
        scan_vul_progress: progress(&s.vul),
        scan_risk_progress: progress(&s.risk),
        scan_virus_error: kind_error(&s.virus),
        scan_vul_error: kind_error(&s.vul),
        scan_risk_error: kind_error(&s.risk),
        scan_status: row.status.to_string(),
        virus_cnt: row.virus_cnt(),
        status: match row.status {
            "SCANNING" => 1,
            "SCANNED" => 2,
            "SCAN_ERR" => 3,
            _ => 0,
        },
        remain_scan_time: 0,
        is_authorized: 1,
        repo_digests: row.asset.repo_digests.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(id: &str, names: &[&str]) -> ImageAsset {
        ImageAsset { image_id: id.into(), names: names.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    #[test]
    fn image_naming() {
        let a = asset("sha256:0123456789abcdef0123", &["shipshape-test/bookworm-app:1", "app:latest"]);
        assert!(names_image(&a, "sha256:0123456789abcdef0123"));
        assert!(names_image(&a, "0123456789ab"));
        assert!(!names_image(&a, "0123456789"));
        assert!(names_image(&a, "shipshape-test/bookworm-app:1"));
        assert!(names_image(&a, "app"));
        assert!(!names_image(&a, "shipshape-test/bookworm-app"));
        assert!(!names_image(&a, ""));
    }

    #[test]
    fn filters_and_orders() {
        let f = AssetFilters { name: "ImageName".into(), values: vec!["BOOK".into()], exact_match: None };
        assert!(text_match(&f, "bookworm"));
        let f = AssetFilters { exact_match: Some(true), ..f };
        assert!(!text_match(&f, "bookworm"));
        assert!(descending(Some("DESC")).unwrap());
        assert!(descending(Some("-")).unwrap());
        assert!(!descending(Some("asc")).unwrap());
        assert!(descending(Some("up")).is_err());
        assert_eq!(parse_level("L", "HIGH").unwrap(), 3);
        assert_eq!(parse_level("L", "4").unwrap(), 4);
        assert!(parse_level("L", "5").is_err());
        assert!(page(Some(101), None).is_err());
        assert_eq!(paged(vec![1, 2, 3, 4], (2, 1)), vec![2, 3]);
    }

    #[test]
    fn partial_scans_are_reported() {
        // The summary as `scan` writes it: the stored `partial` reaches ScanError (it was dropped
        // by a reader-side copy of the summary type before).
        let stored = r#"{"os_name":"","component_cnt":3,"vul":null,"virus":null,"risk":null,"partial":true,"error":""}"#;
        let s: Summary = serde_json::from_str(stored).unwrap();
        assert_eq!(scan_error(&s), PARTIAL_SCAN);
        let r = ImageRow { asset: asset("sha256:1", &[]), summary: s.clone(), scanned_at: Some(0), status: "SCANNED" };
        assert_eq!(images_info(&r).scan_error, PARTIAL_SCAN);
        assert_eq!(images_info(&r).scan_status, "SCANNED");
        // An error of the whole scan wins; a complete scan has none.
        assert_eq!(scan_error(&Summary { error: "gone".into(), ..s.clone() }), "gone");
        assert_eq!(scan_error(&Summary { partial: false, ..s }), "");
    }

    fn row(id: &str, containers: u64) -> ImageRow {
        let mut a = asset(id, &[]);
        a.container_cnt = containers;
        ImageRow { asset: a, summary: Summary::default(), scanned_at: None, status: "NOT_SCAN" }
    }

    #[test]
    fn selection() {
        let rows = || vec![row("sha256:aaaaaaaaaaaaaaaa", 0), row("sha256:bbbbbbbbbbbbbbbb", 2)];
        assert_eq!(select(rows(), true, &[], &[], &[], 0).unwrap().len(), 2);
        let ex = vec!["sha256:aaaaaaaaaaaaaaaa".to_string()];
        assert_eq!(select(rows(), true, &[], &[], &ex, 0).unwrap().len(), 1);
        let unknown = vec!["sha256:cccccccccccccccc".to_string()];
        assert!(matches!(select(rows(), false, &unknown, &[], &[], 0), Err(ServiceError::NotFound { .. })));
        assert!(matches!(select(rows(), false, &[], &[], &[], 0), Err(ServiceError::MissingParameter { .. })));
        assert_eq!(select(rows(), false, &[], &[], &[], 2).unwrap().len(), 1);
        let f = vec![AssetFilters { name: "ImageID".into(), values: vec!["bbbb".into()], exact_match: Some(false) }];
        assert_eq!(select(rows(), false, &[], &f, &[], 0).unwrap().len(), 1);
        let bad = vec![AssetFilters { name: "Nope".into(), values: vec!["x".into()], exact_match: None }];
        assert!(select(rows(), false, &[], &bad, &[], 0).is_err());
    }
}
