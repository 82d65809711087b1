//! Image registries and their images (schemas: ../shared/spec/schema/<Action>.json, objects.json):
//! `AddAssetImageRegistryRegistryDetail`, `UpdateAssetImageRegistryRegistryDetail`,
//! `RemoveAssetImageRegistryRegistryDetail`, `CheckRepeatAssetImageRegistry`,
//! `DescribeAssetImageRegistryRegistryList` / `...RegistryDetail`, `DescribeImageRegistryNamespaceList`;
//! `SyncAssetImageRegistryAsset`, `DescribeAssetImageRegistryAssetStatus`,
//! `DescribeAssetImageRegistryList` / `Detail` / `Summary`, `CreateAssetImageRegistryScanTask(OneKey)`,
//! `DescribeAssetImageRegistryScanStatusOneKey`, `ModifyAssetImageRegistryScanStop(OneKey)`,
//! `DescribeAssetImageRegistryVulList` / `VirusList` / `RiskInfoList`,
//! `DescribeImageRegistryTimingScanTask` / `UpdateImageRegistryTimingScanTask`.
//!
//! Handlers read and write the store (`store::registries`); the `scan` worker syncs registries
//! and scans their images on the one image scan queue (registry tasks are its `registry` family),
//! so a registry image has the same results as the same image id in the local image actions —
//! the finding lists here are the local ones (`images/findings.rs`: rows, filters, sort keys,
//! each registry list's table joining the local one's with its own filters) in the registry
//! shapes. The one
//! network call is the connection check on add and update (bounded, `scan`'s
//! [`store::registries::ConnectionCheck`]).
//!
//! Conventions where TCSS leaves room:
//! - Registries of `serve --registries FILE` are listed too, named `file:HOST`, read-only: update
//!   and remove answer `FailedOperation` (edit the file). Names starting with `file:` are theirs.
//! - `Url`: `https://HOST[:PORT]`, `http://HOST[:PORT]` (plain HTTP) or `HOST[:PORT]` (HTTPS).
//!   `Insecure` 1: HTTPS without checking the certificate. `RegistryType`: harbor, quay, jfrog,
//!   gitlab, dockerhub, aws, azure, tcr, ccr, other-tcr, other (a plain distribution registry):
//!   all are read the same way (OCI distribution API; Basic credential, or a bearer token from
//!   the registry's token realm). `NetType`: public or private (recorded; the server's own
//!   network decides reachability). `SpeedLimit`: MB/s of layer downloads during scans (0: none).
//!   `SyncMode` 0 reads every tag's manifest on each sync, 1 only tags not seen before. `NeedScan`:
//!   after each sync the registry's never-scanned images are scanned (mode 0: each repository's
//!   latest only). `ConnDetectConfig`, `WebhookUrl`/`WebhookToken`, `InstanceId`,
//!   `RegistryVersion`/`RegistryRegion` are recorded and shown; the connection is checked from
//!   the server itself (`ConnDetectType` `backend`, Quuid/Uuid `backend`).
//! - A name already taken: `NameRepeatErr` says so, `RegistryId` is 0 and nothing is stored. A
//!   failed connection check: the registry is stored and `HealthCheckErr` says why (also in its
//!   `ConnDetectDetail`, with `ConnDetectStatus` `status_success`, `status_auth_failed`,
//!   `status_conn_failed` or `status_detecting` until the first check).
//! - Update with an empty `Password` and the same `Username` keeps the stored password; both
//!   empty: anonymous. Passwords are never returned (`Password` is always empty).
//! - List rows are (registry, repository, tag); `Id` is stable while the tag exists; `ImageName`
//!   is the repository, `Namespace` its first path component (empty for a top-level repository),
//!   `InstanceName` the registry's name. `IsLatestImage`: the repository's newest image (creation
//!   time, then the tag `latest`). Statuses and counts are those of the image id (`NOT_SCAN`,
//!   `SCANNING`, `SCANNED`, `SCAN_ERR`), as in `DescribeAssetImageList`.
//! - `ScanType`: `CVE` (or `VUL`), `VIRUS`, `RISK`, any case; absent: all three. Registry task
//!   ids are integers. One unfinished registry task per account (`FailedOperation.ErrAlreadyScanning`),
//!   beside the local one.
//! - Scan progress (`DescribeAssetImageRegistryScanStatusOneKey`): `SuccessCount` = images scanned
//!   without findings, `RiskCount` = with findings; `ImageStatus` has one entry per image of the
//!   task (its first registry row), or the rows asked for; per-image `ScanStatus` `WAIT_SCAN`,
//!   `SCANNING`, `SCANNED`, `SCAN_ERR`, `CANCELLED`.
//! - Times are UTC `YYYY-MM-DD HH:MM:SS`; `ImageCreateTime` is the image config's RFC 3339 time.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use api::Caller;
use model::AccountId;
use model::scan_summary::FindingKind;
use serde::{Deserialize, Serialize};
use store::registries::{
    CONN_AUTH_FAILED, CONN_DETECTING, CONN_FAILED, CONN_SUCCESS, ConnStatus, FILE_NAME_PREFIX, ImagePageQuery, ImageRef, PasswordChange,
    Registry, RegistryImage, RegistryScanSetting, RegistrySelection, RegistrySpec, RegistryWrite, latest_ids,
};
use store::scan_tasks::{CreatedTask, ImageScanResult, NewImageScanTask, format_utc};

use crate::Service;
use crate::error::ServiceError;
use crate::images;
use crate::list::{AssetFilters, Filter, ListQuery, ListRequest, ListSpec, check_filters, descending, invalid, joined, page, text_match};

const MAX_TEXT: usize = 512;
const MAX_NAME: usize = 128;
const MAX_LIST: usize = 1000;
const MAX_SPEED: i64 = 100_000;
const DEFAULT_TIMEOUT_SECS: u64 = 3600;
const MAX_TIMEOUT_SECS: u64 = 30 * 86_400;
const REGISTRY_TYPES: &[&str] = &["harbor", "quay", "jfrog", "gitlab", "dockerhub", "aws", "azure", "tcr", "ccr", "other-tcr", "other"];

fn value(field: &'static str, reason: String) -> ServiceError {
    ServiceError::InvalidValue { field, reason }
}

fn missing(field: &'static str, reason: &str) -> ServiceError {
    ServiceError::MissingParameter { field, reason: reason.into() }
}

fn not_found(what: &'static str, id: impl ToString) -> ServiceError {
    ServiceError::NotFound { what, id: id.to_string() }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn id_i64(field: &'static str, v: u64) -> Result<i64, ServiceError> {
    i64::try_from(v).map_err(|_| invalid(field, format!("{v} is out of range")))
}

fn ids_i64(field: &'static str, v: &Option<Vec<u64>>) -> Result<Vec<i64>, ServiceError> {
    let v = v.as_deref().unwrap_or_default();
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    v.iter().map(|x| id_i64(field, *x)).collect()
}

fn text(field: &'static str, v: Option<&str>, max: usize) -> Result<String, ServiceError> {
    let v = v.unwrap_or("").trim();
    if v.chars().any(char::is_control) {
        return Err(ServiceError::InvalidFormat { field, reason: "control characters are not allowed".into() });
    }
    if v.chars().count() > max {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {max} characters") });
    }
    Ok(v.to_string())
}

fn list_of(field: &'static str, v: &Option<Vec<String>>) -> Result<Vec<String>, ServiceError> {
    let v = v.as_deref().unwrap_or_default();
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    v.iter().map(|s| text(field, Some(s), MAX_TEXT)).collect()
}

// ---- registries ----

/// `{Quuid, Uuid}` of an agent host (TCSS `ConnDetectConfig`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConnDetectConfig {
    pub quuid: Option<String>,
    pub uuid: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AddAssetImageRegistryRegistryDetailRequest {
    pub name: String,
    pub username: String,
    pub password: String,
    pub url: String,
    pub registry_type: String,
    pub net_type: String,
    pub registry_version: Option<String>,
    pub registry_region: Option<String>,
    pub speed_limit: Option<i64>,
    pub insecure: Option<u64>,
    pub conn_detect_config: Option<Vec<ConnDetectConfig>>,
    pub need_scan: Option<bool>,
    pub sync_mode: Option<u64>,
    pub webhook_url: Option<String>,
    pub webhook_token: Option<String>,
    pub instance_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateAssetImageRegistryRegistryDetailRequest {
    pub name: String,
    pub username: String,
    pub password: String,
    pub url: String,
    pub registry_type: String,
    pub net_type: String,
    pub registry_version: Option<String>,
    pub registry_region: Option<String>,
    pub speed_limit: Option<i64>,
    pub insecure: Option<u64>,
    pub conn_detect_config: Option<Vec<ConnDetectConfig>>,
    pub registry_id: Option<u64>,
    pub sync_mode: Option<u64>,
    pub need_scan: Option<bool>,
    pub instance_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegistryWriteResponse {
    pub health_check_err: String,
    pub name_repeat_err: String,
    pub registry_id: i64,
}

/// `http(s)://HOST[:PORT][/]` or `HOST[:PORT]` → (host, plain http).
pub fn parse_url(url: &str) -> Result<(String, bool), ServiceError> {
    let bad = |why: &str| ServiceError::InvalidFormat { field: "Url", reason: format!("{url:?} {why}") };
    let u = url.trim();
    let (plain, rest) = if let Some(r) = u.strip_prefix("http://") {
        (true, r)
    } else if let Some(r) = u.strip_prefix("https://") {
        (false, r)
    } else if u.contains("://") {
        return Err(bad("must be http:// or https://"));
    } else {
        (false, u)
    };
    let host = rest.trim_end_matches('/').trim_end_matches("/v2").trim_end_matches('/');
    if host.is_empty() {
        return Err(bad("names no host"));
    }
    if host.contains('/') || host.contains('@') || host.contains('?') || host.contains('#') {
        return Err(bad("must be a registry address HOST[:PORT] (no path, user or query)"));
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((n, _)) if !n.ends_with(']') && n.contains(':') => (host, None), // a bare IPv6 address
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    if let Some(p) = port
        && (p.is_empty() || p.parse::<u16>().map_or(true, |p| p == 0))
    {
        return Err(bad("has an invalid port"));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':');
    if name.is_empty() || !name.chars().all(ok) {
        return Err(bad("has an invalid host name"));
    }
    Ok((host.to_ascii_lowercase(), plain))
}

/// The fields Add and Update share, checked.
struct Given<'a> {
    name: &'a str,
    username: &'a str,
    url: &'a str,
    registry_type: &'a str,
    net_type: &'a str,
    registry_version: Option<&'a str>,
    registry_region: Option<&'a str>,
    speed_limit: Option<i64>,
    insecure: Option<u64>,
    conn_detect_config: &'a Option<Vec<ConnDetectConfig>>,
    need_scan: Option<bool>,
    sync_mode: Option<u64>,
    instance_id: Option<&'a str>,
}

fn spec_of(g: Given<'_>) -> Result<RegistrySpec, ServiceError> {
    let name = text("Name", Some(g.name), MAX_NAME)?;
    if name.is_empty() {
        return Err(missing("Name", "a registry needs a name"));
    }
    if name.starts_with(FILE_NAME_PREFIX) {
        return Err(value("Name", format!("names starting with {FILE_NAME_PREFIX:?} are the registries file's")));
    }
    let (host, plain_http) = parse_url(g.url)?;
    let registry_type = g.registry_type.trim().to_ascii_lowercase();
    if !REGISTRY_TYPES.contains(&registry_type.as_str()) {
        return Err(value("RegistryType", format!("{:?} is not one of {}", g.registry_type, REGISTRY_TYPES.join(", "))));
    }
    let net_type = g.net_type.trim().to_ascii_lowercase();
    if !matches!(net_type.as_str(), "public" | "private") {
        return Err(value("NetType", format!("{:?} is not public or private", g.net_type)));
    }
    let speed_limit = g.speed_limit.unwrap_or(0);
    if !(0..=MAX_SPEED).contains(&speed_limit) {
        return Err(value("SpeedLimit", format!("must be 0 (no limit) to {MAX_SPEED} MB/s, got {speed_limit}")));
    }
    let insecure = g.insecure.unwrap_or(0);
    if insecure > 1 {
        return Err(value("Insecure", format!("must be 0 or 1, got {insecure}")));
    }
    let sync_mode = g.sync_mode.unwrap_or(0);
    if sync_mode > 1 {
        return Err(value("SyncMode", format!("must be 0 (full) or 1 (incremental), got {sync_mode}")));
    }
    let hosts = g.conn_detect_config.as_deref().unwrap_or_default();
    if hosts.len() > 100 {
        return Err(ServiceError::LengthLimit { field: "ConnDetectConfig", reason: format!("at most 100 hosts, got {}", hosts.len()) });
    }
    let conn_detect_config = hosts
        .iter()
        .map(|h| {
            Ok((text("ConnDetectConfig.Quuid", h.quuid.as_deref(), MAX_TEXT)?, text("ConnDetectConfig.Uuid", h.uuid.as_deref(), MAX_TEXT)?))
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let version = text("RegistryVersion", g.registry_version, 64)?;
    let region = text("RegistryRegion", g.registry_region, 64)?;
    Ok(RegistrySpec {
        name,
        url: g.url.trim().to_string(),
        host,
        plain_http,
        insecure: insecure == 1,
        username: text("Username", Some(g.username), MAX_TEXT)?,
        registry_type,
        net_type,
        registry_version: if version.is_empty() { "V2".into() } else { version },
        registry_region: if region.is_empty() { "default".into() } else { region },
        speed_limit: speed_limit as u64,
        conn_detect_config,
        need_scan: g.need_scan.unwrap_or(false),
        sync_mode,
        webhook_url: String::new(),
        webhook_token: String::new(),
        instance_id: text("InstanceId", g.instance_id, MAX_TEXT)?,
        repositories: None,
    })
}

fn check_password(p: &str) -> Result<(), ServiceError> {
    if p.contains('\0') {
        return Err(ServiceError::InvalidFormat { field: "Password", reason: "NUL is not allowed".into() });
    }
    if p.len() > 4096 {
        return Err(ServiceError::LengthLimit { field: "Password", reason: "at most 4096 bytes".into() });
    }
    Ok(())
}

fn check_webhook(url: &str) -> Result<(), ServiceError> {
    if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ServiceError::InvalidFormat { field: "WebhookUrl", reason: format!("{url:?} is not an http(s) URL") });
    }
    Ok(())
}

async fn check_conn(svc: &Service, spec: &RegistrySpec, password: Option<&str>) -> ConnStatus {
    match svc.registry_check.get() {
        Some(c) => c.check(spec, password).await,
        None => ConnStatus { status: CONN_DETECTING.into(), message: String::new(), checked_at: None },
    }
}

fn health_err(c: &ConnStatus) -> String {
    if c.status == CONN_SUCCESS || c.status == CONN_DETECTING { String::new() } else { c.message.clone() }
}

fn name_repeat(name: &str, other: i64) -> RegistryWriteResponse {
    RegistryWriteResponse {
        health_check_err: String::new(),
        name_repeat_err: format!("a registry named {name:?} already exists (RegistryId {other}); nothing was changed"),
        registry_id: 0,
    }
}

pub async fn add_registry(
    svc: &Service,
    caller: Caller,
    req: AddAssetImageRegistryRegistryDetailRequest,
) -> Result<RegistryWriteResponse, ServiceError> {
    let mut spec = spec_of(Given {
        name: &req.name,
        username: &req.username,
        url: &req.url,
        registry_type: &req.registry_type,
        net_type: &req.net_type,
        registry_version: req.registry_version.as_deref(),
        registry_region: req.registry_region.as_deref(),
        speed_limit: req.speed_limit,
        insecure: req.insecure,
        conn_detect_config: &req.conn_detect_config,
        need_scan: req.need_scan,
        sync_mode: req.sync_mode,
        instance_id: req.instance_id.as_deref(),
    })?;
    spec.webhook_url = text("WebhookUrl", req.webhook_url.as_deref(), MAX_TEXT)?;
    check_webhook(&spec.webhook_url)?;
    spec.webhook_token = text("WebhookToken", req.webhook_token.as_deref(), MAX_TEXT)?;
    check_password(&req.password)?;
    let password = match (spec.username.is_empty(), req.password.is_empty()) {
        (true, true) => None,
        (false, false) => Some(req.password.as_str()),
        (false, true) => return Err(missing("Password", "a username needs its password (both empty: anonymous)")),
        (true, false) => return Err(missing("Username", "a password needs its username (both empty: anonymous)")),
    };
    if let Some(other) = svc.store.registry_named(caller.account, &spec.name).await? {
        return Ok(name_repeat(&spec.name, other));
    }
    let conn = check_conn(svc, &spec, password).await;
    match svc.store.add_registry(caller.account, &spec, password, &conn).await? {
        RegistryWrite::Done(id) => {
            Ok(RegistryWriteResponse { health_check_err: health_err(&conn), name_repeat_err: String::new(), registry_id: id })
        }
        RegistryWrite::NameTaken(other) => Ok(name_repeat(&spec.name, other)),
        RegistryWrite::NotFound | RegistryWrite::ReadOnly => {
            Err(ServiceError::FailedOperation { reason: "the registry could not be added; try again".into() })
        }
    }
}

fn read_only(r: &Registry) -> ServiceError {
    ServiceError::FailedOperation {
        reason: format!(
            "registry {} ({}) comes from the server's registries file and is read-only here: edit the file and restart the server",
            r.registry_id, r.spec.host
        ),
    }
}

pub async fn update_registry(
    svc: &Service,
    caller: Caller,
    req: UpdateAssetImageRegistryRegistryDetailRequest,
) -> Result<RegistryWriteResponse, ServiceError> {
    let spec = spec_of(Given {
        name: &req.name,
        username: &req.username,
        url: &req.url,
        registry_type: &req.registry_type,
        net_type: &req.net_type,
        registry_version: req.registry_version.as_deref(),
        registry_region: req.registry_region.as_deref(),
        speed_limit: req.speed_limit,
        insecure: req.insecure,
        conn_detect_config: &req.conn_detect_config,
        need_scan: req.need_scan,
        sync_mode: req.sync_mode,
        instance_id: req.instance_id.as_deref(),
    })?;
    check_password(&req.password)?;
    let id = match req.registry_id {
        Some(id) => id_i64("RegistryId", id)?,
        None => svc.store.registry_named(caller.account, &spec.name).await?.ok_or_else(|| not_found("Registry", &spec.name))?,
    };
    let current = svc.store.registry(caller.account, id).await?.ok_or_else(|| not_found("Registry", id))?;
    if current.read_only() {
        return Err(read_only(&current));
    }
    let (change, probe_password) = match (spec.username.is_empty(), req.password.is_empty()) {
        (true, true) => (PasswordChange::Clear, None),
        (true, false) => return Err(missing("Username", "a password needs its username (both empty: anonymous)")),
        (false, false) => (PasswordChange::Set(&req.password), Some(req.password.clone())),
        (false, true) if current.has_password && current.spec.username == spec.username => {
            (PasswordChange::Keep, svc.store.registry_password(caller.account, id).await?)
        }
        (false, true) => return Err(missing("Password", "a new username needs its password")),
    };
    if let Some(other) = svc.store.registry_named(caller.account, &spec.name).await?.filter(|o| *o != id) {
        return Ok(name_repeat(&spec.name, other));
    }
    // Webhook settings are the add's; an update keeps them.
    let spec = RegistrySpec { webhook_url: current.spec.webhook_url.clone(), webhook_token: current.spec.webhook_token.clone(), ..spec };
    let conn = check_conn(svc, &spec, probe_password.as_deref()).await;
    match svc.store.update_registry(caller.account, id, &spec, change, &conn).await? {
        RegistryWrite::Done(id) => {
            Ok(RegistryWriteResponse { health_check_err: health_err(&conn), name_repeat_err: String::new(), registry_id: id })
        }
        RegistryWrite::NameTaken(other) => Ok(name_repeat(&spec.name, other)),
        RegistryWrite::NotFound => Err(not_found("Registry", id)),
        RegistryWrite::ReadOnly => Err(read_only(&current)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegistryIdRequest {
    pub registry_id: u64,
}

#[derive(Debug, Serialize)]
pub struct EmptyResponse {}

pub async fn remove_registry(svc: &Service, caller: Caller, req: RegistryIdRequest) -> Result<EmptyResponse, ServiceError> {
    let id = id_i64("RegistryId", req.registry_id)?;
    match svc.store.remove_registry(caller.account, id).await? {
        RegistryWrite::Done(_) => Ok(EmptyResponse {}),
        RegistryWrite::NotFound => Err(not_found("Registry", id)),
        RegistryWrite::ReadOnly | RegistryWrite::NameTaken(_) => {
            let r = svc.store.registry(caller.account, id).await?.ok_or_else(|| not_found("Registry", id))?;
            Err(read_only(&r))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CheckRepeatAssetImageRegistryRequest {
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckRepeatAssetImageRegistryResponse {
    pub is_repeat: bool,
}

pub async fn check_repeat(
    svc: &Service,
    caller: Caller,
    req: CheckRepeatAssetImageRegistryRequest,
) -> Result<CheckRepeatAssetImageRegistryResponse, ServiceError> {
    let name = text("Name", Some(&req.name), MAX_NAME)?;
    if name.is_empty() {
        return Err(missing("Name", "the name to check"));
    }
    Ok(CheckRepeatAssetImageRegistryResponse { is_repeat: svc.store.registry_named(caller.account, &name).await?.is_some() })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegistryConnDetectResult {
    pub quuid: String,
    pub uuid: String,
    pub conn_detect_status: String,
    pub conn_detect_message: String,
    pub solution: String,
    pub fail_reason: String,
}

fn conn_detail(r: &Registry) -> Vec<RegistryConnDetectResult> {
    let c = &r.conn;
    let (message, solution) = match c.status.as_str() {
        CONN_SUCCESS => ("Success", ""),
        CONN_AUTH_FAILED => ("AuthFailed", "Check the registry's username and password, then update the registry."),
        CONN_FAILED => (
            "ConnFailed",
            "Check the registry's URL and that the Shipshape server reaches it; for a self-signed certificate set Insecure to 1.",
        ),
        _ => ("Detecting", ""),
    };
    vec![RegistryConnDetectResult {
        quuid: "backend".into(),
        uuid: "backend".into(),
        conn_detect_status: if c.status.is_empty() { CONN_DETECTING.into() } else { c.status.clone() },
        conn_detect_message: message.into(),
        solution: solution.into(),
        fail_reason: c.message.clone(),
    }]
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRepoRegistryInfo {
    pub registry_id: i64,
    pub name: String,
    pub registry_type: String,
    pub url: String,
    pub net_type: String,
    pub registry_region: String,
    pub registry_version: String,
    pub connect_msg: String,
    pub conn_detect_type: String,
    pub conn_detect_host_count: u64,
    pub conn_detect_detail: Vec<RegistryConnDetectResult>,
    #[serde(rename = "InstanceID")]
    pub instance_id: String,
    pub latest_sync_time: String,
    pub sync_status: String,
    pub sync_fail_reason: String,
    pub sync_solution: String,
    pub sync_message: String,
    pub sync_mode: u64,
}

fn registry_info(r: &Registry) -> ImageRepoRegistryInfo {
    let failed = r.sync_status == "failed";
    ImageRepoRegistryInfo {
        registry_id: r.registry_id,
        name: r.spec.name.clone(),
        registry_type: r.spec.registry_type.clone(),
        url: r.spec.url.clone(),
        net_type: r.spec.net_type.clone(),
        registry_region: r.spec.registry_region.clone(),
        registry_version: r.spec.registry_version.clone(),
        connect_msg: r.conn.message.clone(),
        conn_detect_type: "backend".into(),
        conn_detect_host_count: 1,
        conn_detect_detail: conn_detail(r),
        instance_id: r.spec.instance_id.clone(),
        latest_sync_time: r.sync_success_at.map(format_utc).unwrap_or_default(),
        sync_status: r.sync_status.clone(),
        sync_fail_reason: if failed { r.sync_error.clone() } else { String::new() },
        sync_solution: if failed {
            "Check the registry's connection status (ConnDetectDetail), then sync again.".into()
        } else {
            String::new()
        },
        sync_message: if failed { r.sync_error.clone() } else { String::new() },
        sync_mode: r.spec.sync_mode,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistryRegistryListResponse {
    pub list: Vec<ImageRepoRegistryInfo>,
    pub total_count: u64,
}

/// DescribeAssetImageRegistryRegistryList's filters and sort keys.
const REGISTRY_LIST: ListSpec<Registry> = ListSpec {
    filters: &[
        ("Name", Filter::Text(&[|r| &r.spec.name])),
        ("RegistryType", Filter::Text(&[|r| &r.spec.registry_type])),
        ("Url", Filter::Text(&[|r| &r.spec.url])),
        ("NetType", Filter::Text(&[|r| &r.spec.net_type])),
        ("RegistryRegion", Filter::Text(&[|r| &r.spec.registry_region])),
        ("SyncStatus", Filter::Text(&[|r| &r.sync_status])),
        ("ConnDetectStatus", Filter::Text(&[|r| &r.conn.status])),
        ("RegistryId", Filter::Equals(|r| r.registry_id.to_string())),
        // Every image is authorised in Shipshape (no licences): `all`/`1` keep, `0` drops.
        ("IsAuthorized", Filter::Flag("Filters.IsAuthorized", |_| true)),
    ],
    sorts: &[
        ("", |a, b| a.registry_id.cmp(&b.registry_id)),
        ("RegistryId", |a, b| a.registry_id.cmp(&b.registry_id)),
        ("Name", |a, b| a.spec.name.cmp(&b.spec.name)),
        ("RegistryType", |a, b| a.spec.registry_type.cmp(&b.spec.registry_type)),
        ("LatestSyncTime", |a, b| a.sync_success_at.cmp(&b.sync_success_at)),
    ],
    tie_break: Some(|a, b| a.registry_id.cmp(&b.registry_id)),
};

pub async fn describe_registry_list(
    svc: &Service,
    caller: Caller,
    req: ListRequest,
) -> Result<DescribeAssetImageRegistryRegistryListResponse, ServiceError> {
    let query = REGISTRY_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    let page = query.run(svc.store.registries(caller.account).await?);
    Ok(DescribeAssetImageRegistryRegistryListResponse { list: page.rows.iter().map(registry_info).collect(), total_count: page.total })
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistryRegistryDetailResponse {
    pub name: String,
    pub username: String,
    pub password: String,
    pub url: String,
    pub registry_type: String,
    pub registry_version: String,
    pub net_type: String,
    pub registry_region: String,
    pub speed_limit: u64,
    pub insecure: u64,
    pub conn_detect_detail: Vec<RegistryConnDetectResult>,
    #[serde(rename = "InstanceID")]
    pub instance_id: String,
    pub sync_mode: u64,
    pub need_scan: bool,
    pub webhook_url: String,
    pub webhook_token: String,
}

pub async fn describe_registry_detail(
    svc: &Service,
    caller: Caller,
    req: RegistryIdRequest,
) -> Result<DescribeAssetImageRegistryRegistryDetailResponse, ServiceError> {
    let id = id_i64("RegistryId", req.registry_id)?;
    let r = svc.store.registry(caller.account, id).await?.ok_or_else(|| not_found("Registry", id))?;
    Ok(DescribeAssetImageRegistryRegistryDetailResponse {
        conn_detect_detail: conn_detail(&r),
        name: r.spec.name,
        username: r.spec.username,
        password: String::new(),
        url: r.spec.url,
        registry_type: r.spec.registry_type,
        registry_version: r.spec.registry_version,
        net_type: r.spec.net_type,
        registry_region: r.spec.registry_region,
        speed_limit: r.spec.speed_limit,
        insecure: u64::from(r.spec.insecure),
        instance_id: r.spec.instance_id,
        sync_mode: r.spec.sync_mode,
        need_scan: r.spec.need_scan,
        webhook_url: r.spec.webhook_url,
        webhook_token: r.spec.webhook_token,
    })
}

// ---- sync ----

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

// ---- the registry image rows ----

use crate::images::{KindSummary, Summary};

/// One registry image with its image id's scan state.
struct Row {
    img: RegistryImage,
    summary: Summary,
    scanned_at: Option<i64>,
    status: &'static str,
    latest: bool,
    containers: u64,
    running: u64,
}

impl Row {
    fn count(k: &Option<KindSummary>) -> u64 {
        k.as_ref().map_or(0, |k| k.count)
    }
    fn vul(&self) -> u64 {
        Row::count(&self.summary.vul)
    }
    fn virus(&self) -> u64 {
        Row::count(&self.summary.virus)
    }
    fn risk(&self) -> u64 {
        Row::count(&self.summary.risk)
    }
    fn levels(&self, f: impl Fn(&KindSummary) -> u64) -> u64 {
        self.summary.vul.as_ref().map_or(0, f)
    }
    fn kind_status(&self, k: &Option<KindSummary>) -> &'static str {
        match (self.status, k) {
            ("SCANNING", _) => "SCANNING",
            (_, None) => "NOT_SCAN",
            (_, Some(k)) if !k.error.is_empty() => "SCAN_ERR",
            _ => "SCANNED",
        }
    }
}

async fn rows(svc: &Service, account: AccountId) -> Result<Vec<Row>, ServiceError> {
    let imgs = svc.store.registry_images(account).await?;
    let latest = latest_ids(&imgs);
    rows_of(svc, account, imgs, latest).await
}

/// `imgs` with their image ids' scan state; `latest`: which are their repository's newest.
async fn rows_of(svc: &Service, account: AccountId, imgs: Vec<RegistryImage>, latest: HashSet<i64>) -> Result<Vec<Row>, ServiceError> {
    let results: HashMap<String, ImageScanResult> =
        svc.store.image_scan_results(account).await?.into_iter().map(|r| (r.image_id.clone(), r)).collect();
    let active: HashMap<String, String> = svc.store.image_scan_active_images(account).await?.into_iter().collect();
    let containers: HashMap<String, (u64, u64)> =
        svc.store.image_container_counts(account).await?.into_iter().map(|(id, all, running)| (id, (all, running))).collect();
    // Thousands of tags share a few images: each summary is parsed once.
    let summaries: HashMap<&str, Summary> =
        results.iter().map(|(id, r)| (id.as_str(), serde_json::from_str(&r.summary).unwrap_or_default())).collect();
    Ok(imgs
        .into_iter()
        .map(|img| {
            let r = results.get(&img.tag.image_id);
            let summary: Summary = summaries.get(img.tag.image_id.as_str()).cloned().unwrap_or_default();
            let status = crate::images::scan_status(active.get(&img.tag.image_id).is_some_and(|s| s == "running"), r, &summary);
            let (containers, running) = containers.get(&img.tag.image_id).copied().unwrap_or_default();
            Row { latest: latest.contains(&img.id), summary, scanned_at: r.map(|r| r.scanned_at), status, containers, running, img }
        })
        .collect())
}

/// The filters of the registry image list (also used to select images to scan or stop) and its
/// sort keys.
const REGISTRY_IMAGE_LIST: ListSpec<Row> = ListSpec {
    filters: &[
        ("ImageName", Filter::Text(&[|r| &r.img.tag.repository])),
        ("ImageTag", Filter::Text(&[|r| &r.img.tag.tag])),
        ("ImageId", Filter::Text(&[|r| &r.img.tag.image_id])),
        ("ImageID", Filter::Text(&[|r| &r.img.tag.image_id])),
        ("ImageDigest", Filter::Text(&[|r| &r.img.tag.digest])),
        ("ImageRepoAddress", Filter::TextOf(|r| r.img.address())),
        ("Namespace", Filter::Text(&[|r| r.img.namespace()])),
        ("RegistryType", Filter::Text(&[|r| &r.img.registry_type])),
        ("InstanceName", Filter::Text(&[|r| &r.img.registry_name])),
        ("InstanceId", Filter::Text(&[|r| &r.img.instance_id])),
        ("RegistryId", Filter::Equals(|r| r.img.registry_id.to_string())),
        ("Id", Filter::Equals(|r| r.img.id.to_string())),
        ("OsName", Filter::TextOf(os_name)),
        (
            "ScanStatus",
            Filter::OneOf {
                field: "Filters.ScanStatus",
                key: |v| v.to_ascii_lowercase().replace('_', ""),
                tests: &[
                    ("NOT_SCAN", |r| r.status == "NOT_SCAN"),
                    ("SCANNING", |r| r.status == "SCANNING"),
                    ("SCANNED", |r| r.status == "SCANNED"),
                    ("SCAN_ERR", |r| r.status == "SCAN_ERR"),
                    ("all", |_| true),
                ],
            },
        ),
        // Every image is authorised in Shipshape (no licences).
        ("IsAuthorized", Filter::Flag("Filters.IsAuthorized", |_| true)),
        ("IsLatestImage", Filter::Flag("Filters.IsLatestImage", |r| r.latest)),
        ("IsRunning", Filter::Flag("Filters.IsRunning", |r| r.running > 0)),
        ("HasNeedFixVul", Filter::Flag("Filters.HasNeedFixVul", need_fix)),
    ],
    sorts: &[
        ("", |_, _| Ordering::Equal),
        ("Id", |_, _| Ordering::Equal),
        ("ImageName", |a, b| a.img.tag.repository.cmp(&b.img.tag.repository)),
        ("ImageTag", |a, b| a.img.tag.tag.cmp(&b.img.tag.tag)),
        ("ImageSize", |a, b| a.img.tag.size.cmp(&b.img.tag.size)),
        ("ImageCreateTime", |a, b| a.img.tag.created.cmp(&b.img.tag.created)),
        ("ScanTime", |a, b| a.scanned_at.cmp(&b.scanned_at)),
        ("VulCnt", |a, b| a.vul().cmp(&b.vul())),
        ("VirusCnt", |a, b| a.virus().cmp(&b.virus())),
        ("RiskCnt", |a, b| a.risk().cmp(&b.risk())),
        ("SentiveInfoCnt", |a, b| a.risk().cmp(&b.risk())),
        ("SensitiveInfoCnt", |a, b| a.risk().cmp(&b.risk())),
        ("CriticalLevelVulCnt", |a, b| a.levels(|k| k.critical).cmp(&b.levels(|k| k.critical))),
        ("HighLevelVulCnt", |a, b| a.levels(|k| k.high).cmp(&b.levels(|k| k.high))),
        ("ComponentCnt", |a, b| a.summary.component_cnt.cmp(&b.summary.component_cnt)),
        ("ContainerCnt", |a, b| a.containers.cmp(&b.containers)),
    ],
    // Ties keep id order, so pages never overlap.
    tie_break: Some(|a, b| a.img.id.cmp(&b.img.id)),
};

fn filtered(rows: Vec<Row>, filters: &[AssetFilters]) -> Result<Vec<Row>, ServiceError> {
    REGISTRY_IMAGE_LIST.filter(rows, filters)
}

fn os_name(r: &Row) -> String {
    if r.summary.os_name.is_empty() { r.img.tag.os.clone() } else { r.summary.os_name.clone() }
}

fn need_fix(r: &Row) -> bool {
    r.levels(|k| k.critical + k.high) > 0
}

fn kind_error(k: &Option<KindSummary>) -> String {
    k.as_ref().map(|k| k.error.clone()).unwrap_or_default()
}

fn progress(k: &Option<KindSummary>) -> u64 {
    if k.is_some() { 100 } else { 0 }
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRepoInfo {
    pub image_digest: String,
    pub image_repo_address: String,
    pub registry_type: String,
    pub image_name: String,
    pub image_tag: String,
    pub image_size: u64,
    pub scan_time: String,
    pub scan_status: String,
    pub vul_cnt: u64,
    pub virus_cnt: u64,
    pub risk_cnt: u64,
    pub sentive_info_cnt: u64,
    pub is_trust_image: bool,
    pub os_name: String,
    pub scan_virus_error: String,
    pub scan_vul_error: String,
    pub instance_id: String,
    pub instance_name: String,
    pub namespace: String,
    pub scan_risk_error: String,
    pub scan_virus_progress: u64,
    pub scan_vul_progress: u64,
    pub scan_risk_progress: u64,
    pub scan_remain_time: u64,
    pub cve_status: String,
    pub risk_status: String,
    pub virus_status: String,
    pub progress: u64,
    pub is_authorized: u64,
    pub registry_region: String,
    pub id: i64,
    pub image_id: String,
    pub image_create_time: String,
    pub is_latest_image: bool,
    pub low_level_vul_cnt: u64,
    pub medium_level_vul_cnt: u64,
    pub high_level_vul_cnt: u64,
    pub critical_level_vul_cnt: u64,
    pub container_cnt: u64,
    pub component_cnt: u64,
    pub is_running: bool,
    pub has_need_fix_vul: bool,
    pub sensitive_info_cnt: u64,
    pub recommended_fix: bool,
    pub solution: String,
    pub reason: String,
}

fn solution_reason(r: &Row) -> (String, String) {
    if r.status == "SCAN_ERR" {
        (
            "Check the registry's connection status (DescribeAssetImageRegistryRegistryDetail) and scan the image again.".into(),
            r.summary.error.clone(),
        )
    } else {
        (String::new(), String::new())
    }
}

fn repo_info(r: &Row) -> ImageRepoInfo {
    let s = &r.summary;
    let i = &r.img;
    let (solution, reason) = solution_reason(r);
    ImageRepoInfo {
        image_digest: i.tag.digest.clone(),
        image_repo_address: i.address(),
        registry_type: i.registry_type.clone(),
        image_name: i.tag.repository.clone(),
        image_tag: i.tag.tag.clone(),
        image_size: i.tag.size,
        scan_time: r.scanned_at.map(format_utc).unwrap_or_default(),
        scan_status: r.status.into(),
        vul_cnt: r.vul(),
        virus_cnt: r.virus(),
        risk_cnt: r.risk(),
        sentive_info_cnt: r.risk(),
        is_trust_image: false,
        os_name: os_name(r),
        scan_virus_error: kind_error(&s.virus),
        scan_vul_error: kind_error(&s.vul),
        instance_id: i.instance_id.clone(),
        instance_name: i.registry_name.clone(),
        namespace: i.namespace().to_string(),
        scan_risk_error: kind_error(&s.risk),
        scan_virus_progress: progress(&s.virus),
        scan_vul_progress: progress(&s.vul),
        scan_risk_progress: progress(&s.risk),
        scan_remain_time: 0,
        cve_status: r.kind_status(&s.vul).into(),
        risk_status: r.kind_status(&s.risk).into(),
        virus_status: r.kind_status(&s.virus).into(),
        progress: if r.scanned_at.is_some() { 100 } else { 0 },
        is_authorized: 1,
        registry_region: i.registry_region.clone(),
        id: i.id,
        image_id: i.tag.image_id.clone(),
        image_create_time: i.tag.created.clone(),
        is_latest_image: r.latest,
        low_level_vul_cnt: r.levels(|k| k.low),
        medium_level_vul_cnt: r.levels(|k| k.medium),
        high_level_vul_cnt: r.levels(|k| k.high),
        critical_level_vul_cnt: r.levels(|k| k.critical),
        container_cnt: r.containers,
        component_cnt: s.component_cnt,
        is_running: r.running > 0,
        has_need_fix_vul: need_fix(r),
        sensitive_info_cnt: r.risk(),
        recommended_fix: need_fix(r) || r.virus() > 0,
        solution,
        reason,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetImageRegistryListRequest {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
    pub by: Option<String>,
    pub order: Option<String>,
    pub only_show_latest: Option<bool>,
    pub is_running: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistryListResponse {
    pub list: Vec<ImageRepoInfo>,
    pub total_count: u64,
}

pub async fn describe_image_list(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetImageRegistryListRequest,
) -> Result<DescribeAssetImageRegistryListResponse, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    let (list, total_count) = image_list(svc, caller.account, &req, Some(paging)).await?;
    Ok(DescribeAssetImageRegistryListResponse { list, total_count })
}

/// The registry image list as `DescribeAssetImageRegistryList` filters and sorts it: one page, or
/// every row (`None`: exports); with the filtered total.
pub(crate) async fn image_list(
    svc: &Service,
    account: AccountId,
    req: &DescribeAssetImageRegistryListRequest,
    paging: Option<(usize, usize)>,
) -> Result<(Vec<ImageRepoInfo>, u64), ServiceError> {
    let query = REGISTRY_IMAGE_LIST.query(None, None, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    if let Some(paging) = paging {
        let desc = descending(req.order.as_deref())?;
        if let Some(q) = page_query(svc, account, req, desc, paging).await? {
            let (imgs, total) = svc.store.registry_image_page(account, &q).await?;
            let ids: Vec<i64> = imgs.iter().map(|i| i.id).collect();
            let latest = svc.store.registry_latest_among(account, &ids).await?;
            return Ok((rows_of(svc, account, imgs, latest).await?.iter().map(repo_info).collect(), total));
        }
    }
    let mut list = rows(svc, account).await?;
    if req.only_show_latest.unwrap_or(false) {
        list.retain(|r| r.latest);
    }
    if req.is_running.unwrap_or(false) {
        list.retain(|r| r.running > 0);
    }
    let page = query.with_paging(paging).run(list);
    Ok((page.rows.iter().map(repo_info).collect(), page.total))
}

/// The page as the database can cut it: every filter on a stored column (or on the registry,
/// resolved to registry ids here), the sort on a stored column, no latest/running restriction.
/// `None`: the list needs each row's scan state and is built in memory.
async fn page_query(
    svc: &Service,
    account: AccountId,
    req: &DescribeAssetImageRegistryListRequest,
    desc: bool,
    (limit, offset): (usize, usize),
) -> Result<Option<ImagePageQuery>, ServiceError> {
    use store::registries::{ImageColumn as C, ImageFilter, ImageTest};
    if req.only_show_latest.unwrap_or(false) || req.is_running.unwrap_or(false) {
        return Ok(None);
    }
    let sort = match req.by.as_deref().unwrap_or("") {
        "" | "Id" => C::Id,
        "ImageName" => C::Repository,
        "ImageTag" => C::Tag,
        "ImageSize" => C::Size,
        "ImageCreateTime" => C::Created,
        _ => return Ok(None),
    };
    let mut regs: Option<Vec<Registry>> = None;
    let mut filters = Vec::new();
    for f in req.filters.as_deref().unwrap_or_default() {
        let text = |column| {
            if f.exact_match.unwrap_or(false) {
                Some(ImageFilter { column, test: ImageTest::Equals(f.values.clone()) })
            } else if f.values.iter().all(|v| v.is_ascii()) {
                Some(ImageFilter { column, test: ImageTest::Contains(f.values.clone()) })
            } else {
                None
            }
        };
        // The in-memory filter compares the text: "07" names no id.
        let ids = |column| ImageFilter {
            column,
            test: ImageTest::Ids(
                f.values.iter().filter_map(|v| v.trim().parse::<i64>().ok().filter(|n| n.to_string() == v.trim())).collect(),
            ),
        };
        let registry_field: fn(&Registry) -> &str = match f.name.as_str() {
            "InstanceName" => |r| &r.spec.name,
            "RegistryType" => |r| &r.spec.registry_type,
            "InstanceId" => |r| &r.spec.instance_id,
            other => {
                let one = match other {
                    "ImageName" => text(C::Repository),
                    "ImageTag" => text(C::Tag),
                    "ImageId" | "ImageID" => text(C::ImageId),
                    "ImageDigest" => text(C::Digest),
                    "RegistryId" => Some(ids(C::RegistryId)),
                    "Id" => Some(ids(C::Id)),
                    _ => None,
                };
                match one {
                    Some(one) => filters.push(one),
                    None => return Ok(None),
                }
                continue;
            }
        };
        if regs.is_none() {
            regs = Some(svc.store.registries(account).await?);
        }
        let chosen = regs.iter().flatten().filter(|r| text_match(f, registry_field(r))).map(|r| r.registry_id).collect();
        filters.push(ImageFilter { column: C::RegistryId, test: ImageTest::Ids(chosen) });
    }
    Ok(Some(ImagePageQuery { filters, sort, desc, limit: limit as u64, offset: offset as u64 }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetImageRegistrySummaryRequest {
    pub filters: Option<Vec<AssetFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistrySummaryResponse {
    pub un_scanned_image_cnt: u64,
}

pub async fn describe_summary(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetImageRegistrySummaryRequest,
) -> Result<DescribeAssetImageRegistrySummaryResponse, ServiceError> {
    let list = filtered(rows(svc, caller.account).await?, req.filters.as_deref().unwrap_or_default())?;
    Ok(DescribeAssetImageRegistrySummaryResponse { un_scanned_image_cnt: list.iter().filter(|r| r.status == "NOT_SCAN").count() as u64 })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetImageRegistryDetailRequest {
    pub id: Option<u64>,
    pub image_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageRegistryDetailResponse {
    pub image_digest: String,
    pub image_repo_address: String,
    pub registry_type: String,
    pub image_name: String,
    pub image_tag: String,
    pub scan_time: String,
    pub scan_status: String,
    pub vul_cnt: u64,
    pub virus_cnt: u64,
    pub risk_cnt: u64,
    pub sentive_info_cnt: u64,
    pub os_name: String,
    pub scan_virus_error: String,
    pub scan_vul_error: String,
    pub layer_info: String,
    pub instance_id: String,
    pub instance_name: String,
    pub namespace: String,
    pub scan_risk_error: String,
    pub scan_virus_progress: u64,
    pub scan_vul_progress: u64,
    pub scan_risk_progress: u64,
    pub scan_remain_time: u64,
    pub cve_status: String,
    pub risk_status: String,
    pub virus_status: String,
    pub progress: u64,
    pub is_authorized: u64,
    pub image_size: u64,
    pub image_id: String,
    pub registry_region: String,
    pub image_create_time: String,
    pub sensitive_info_cnt: u64,
    pub id: i64,
    pub solution: String,
    pub reason: String,
}

pub async fn describe_image_detail(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetImageRegistryDetailRequest,
) -> Result<DescribeAssetImageRegistryDetailResponse, ServiceError> {
    let all = rows(svc, caller.account).await?;
    let r = match (req.id, req.image_id.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
        (Some(id), _) => all.into_iter().find(|r| r.img.id as u64 == id).ok_or_else(|| not_found("Registry image", id))?,
        (None, Some(image)) => all.into_iter().find(|r| r.img.tag.image_id == image).ok_or_else(|| not_found("Registry image", image))?,
        (None, None) => return Err(missing("Id", "give the list entry Id or the ImageId")),
    };
    let asset = svc.store.image_asset(caller.account, &r.img.tag.image_id).await?;
    let layer_info = asset
        .map(|a| {
            serde_json::Value::from(a.facts.layers.iter().map(|l| serde_json::json!({ "LayerId": l })).collect::<Vec<_>>()).to_string()
        })
        .unwrap_or_else(|| "[]".into());
    let info = repo_info(&r);
    Ok(DescribeAssetImageRegistryDetailResponse {
        image_digest: info.image_digest,
        image_repo_address: info.image_repo_address,
        registry_type: info.registry_type,
        image_name: info.image_name,
        image_tag: info.image_tag,
        scan_time: info.scan_time,
        scan_status: info.scan_status,
        vul_cnt: info.vul_cnt,
        virus_cnt: info.virus_cnt,
        risk_cnt: info.risk_cnt,
        sentive_info_cnt: info.sentive_info_cnt,
        os_name: info.os_name,
        scan_virus_error: info.scan_virus_error,
        scan_vul_error: info.scan_vul_error,
        layer_info,
        instance_id: info.instance_id,
        instance_name: info.instance_name,
        namespace: info.namespace,
        scan_risk_error: info.scan_risk_error,
        scan_virus_progress: info.scan_virus_progress,
        scan_vul_progress: info.scan_vul_progress,
        scan_risk_progress: info.scan_risk_progress,
        scan_remain_time: 0,
        cve_status: info.cve_status,
        risk_status: info.risk_status,
        virus_status: info.virus_status,
        progress: info.progress,
        is_authorized: 1,
        image_size: info.image_size,
        image_id: info.image_id,
        registry_region: info.registry_region,
        image_create_time: info.image_create_time,
        sensitive_info_cnt: info.sensitive_info_cnt,
        id: info.id,
        solution: info.solution,
        reason: info.reason,
    })
}

// ---- namespaces ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeImageRegistryNamespaceListRequest {
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamespaceInfo {
    pub namespace: String,
    pub registry_cnt: i64,
    pub image_cnt: i64,
    pub risk_image_cnt: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeImageRegistryNamespaceListResponse {
    pub total_count: u64,
    pub namespace_list: Vec<String>,
    pub namespace_detail: Vec<NamespaceInfo>,
}

/// Namespaces in name order (the map's), filtered by name.
const NAMESPACE_LIST: ListSpec<NamespaceInfo> =
    ListSpec { filters: &[("Namespace", Filter::Text(&[|n| &n.namespace]))], sorts: ListSpec::STORED_ORDER, tie_break: None };

/// Namespaces (a top-level repository has none and is not listed). `RegistryCnt`: repositories in
/// it; `ImageCnt`: its tags; `RiskImageCnt`: tags whose image has findings.
pub async fn describe_namespace_list(
    svc: &Service,
    caller: Caller,
    req: DescribeImageRegistryNamespaceListRequest,
) -> Result<DescribeImageRegistryNamespaceListResponse, ServiceError> {
    let query = NAMESPACE_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    // Namespace → (its repositories, tags, tags with findings).
    type Counts = (HashSet<(i64, String)>, i64, i64);
    let mut by_ns: BTreeMap<String, Counts> = BTreeMap::new();
    for r in rows(svc, caller.account).await? {
        let ns = r.img.namespace().to_string();
        if ns.is_empty() {
            continue;
        }
        let e = by_ns.entry(ns).or_default();
        e.0.insert((r.img.registry_id, r.img.tag.repository.clone()));
        e.1 += 1;
        e.2 += i64::from(r.vul() + r.virus() + r.risk() > 0);
    }
    let list = by_ns
        .into_iter()
        .map(|(ns, (repos, images, risky))| NamespaceInfo {
            namespace: ns,
            registry_cnt: repos.len() as i64,
            image_cnt: images,
            risk_image_cnt: risky,
        })
        .collect();
    let page = query.run(list);
    let detail = page.rows;
    Ok(DescribeImageRegistryNamespaceListResponse {
        total_count: page.total,
        namespace_list: detail.iter().map(|n| n.namespace.clone()).collect(),
        namespace_detail: detail,
    })
}

// ---- scan tasks ----

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

fn image_ref(field: &'static str, i: &ImageInfoIn) -> Result<ImageRef, ServiceError> {
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

fn image_refs(field: &'static str, v: &Option<Vec<ImageInfoIn>>) -> Result<Vec<ImageRef>, ServiceError> {
    let v = v.as_deref().unwrap_or_default();
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    v.iter().map(|i| image_ref(field, i)).collect()
}

fn image_out(r: &ImageRef) -> ImageInfoOut {
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
fn scan_types(v: &Option<Vec<String>>) -> Result<(bool, bool, bool), ServiceError> {
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
fn scope_of(scope: Option<u64>, ids: &[i64], images: &[ImageRef]) -> Result<u64, ServiceError> {
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

// ---- findings of one registry image: the local lists, in the registry shapes ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegistryFindingsRequest {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
    pub image_info: Option<ImageInfoIn>,
    pub id: Option<u64>,
    pub by: Option<String>,
    pub order: Option<String>,
}

/// The image id of the row named by `Id` or `ImageInfo`.
async fn image_of(svc: &Service, account: AccountId, id: Option<u64>, info: &Option<ImageInfoIn>) -> Result<String, ServiceError> {
    if let Some(id) = id {
        let id = id_i64("Id", id)?;
        return Ok(svc.store.registry_image(account, id).await?.ok_or_else(|| not_found("Registry image", id))?.tag.image_id);
    }
    let Some(info) = info else {
        return Err(missing("Id", "give the list entry Id or ImageInfo"));
    };
    let r = image_ref("ImageInfo", info)?;
    svc.store
        .registry_images(account)
        .await?
        .into_iter()
        .find(|x| r.matches(x))
        .map(|x| x.tag.image_id)
        .ok_or_else(|| not_found("Registry image", format!("{}:{}", r.image_name, r.image_tag)))
}

/// A registry finding list's query: the image list's filters and sort keys plus the registry
/// list's own (`spec`). TCSS sends `all` as a value meaning "no restriction": such values are
/// dropped, and a filter left without values with them (after the filters were checked, so a
/// filter without values is still an error and one of only `all` is not).
fn findings_query<T>(spec: &ListSpec<T>, req: &RegistryFindingsRequest) -> Result<ListQuery<T>, ServiceError> {
    let mut filters = req.filters.clone().unwrap_or_default();
    check_filters(&filters)?;
    for f in &mut filters {
        f.values.retain(|v| !v.trim().eq_ignore_ascii_case("all"));
    }
    filters.retain(|f| !f.values.is_empty());
    spec.query(None, None, Some(&filters), req.by.as_deref(), req.order.as_deref())
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComponentsInfo {
    pub component: String,
    pub version: String,
    pub fixed_version: String,
    pub path: String,
    #[serde(rename = "Type")]
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageVulLayerInfo {
    pub layer_id: String,
    pub layer_cmd: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageVul {
    #[serde(rename = "CVEID")]
    pub cve_id: String,
    #[serde(rename = "POCID")]
    pub poc_id: String,
    pub name: String,
    pub components: Vec<ComponentsInfo>,
    pub category: String,
    pub category_type: String,
    pub level: String,
    pub des: String,
    pub official_solution: String,
    pub reference: String,
    pub defense_solution: String,
    pub submit_time: String,
    pub cvss_score: String,
    pub cvss_vector: String,
    pub is_suggest: String,
    pub fixed_versions: String,
    pub tag: Vec<String>,
    pub component: String,
    pub version: String,
    pub attack_level: i64,
    pub layer_infos: Vec<ImageVulLayerInfo>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOf<T> {
    pub list: Vec<T>,
    pub total_count: u64,
}

fn vul_of(v: images::ImagesVul) -> ImageVul {
    ImageVul {
        components: vec![ComponentsInfo {
            component: v.component.clone(),
            version: v.version.clone(),
            fixed_version: v.fixed_versions.clone(),
            path: String::new(),
            kind: v.category_type.clone(),
            name: v.component.clone(),
        }],
        cvss_score: if v.cvss_v3_score > 0.0 { format!("{:.1}", v.cvss_v3_score) } else { String::new() },
        level: v.level.to_string(),
        is_suggest: v.is_suggest.to_string(),
        cve_id: v.cve_id,
        poc_id: String::new(),
        name: v.name,
        category: v.category,
        category_type: v.category_type,
        des: v.des,
        official_solution: v.official_solution,
        reference: v.reference,
        defense_solution: v.defense_solution,
        submit_time: v.submit_time,
        cvss_vector: v.cvss_v3_desc,
        fixed_versions: v.fixed_versions,
        tag: v.tag,
        component: v.component,
        version: v.version,
        attack_level: v.attack_level,
        layer_infos: Vec::new(),
    }
}

/// The image list's filters (`Level` 1 low … 4 critical or the words, `Name`, `CVEID`,
/// `Component`) and `Tag` (`CanBeFixed`, case-insensitive); any may be `all`.
const REGISTRY_VUL_LIST: ListSpec<images::StoredVuln> = ListSpec {
    filters: &joined::<_, 5>(
        images::VUL_LIST.filters,
        &[("Tag", Filter::Each(|v, want| images::vul_tags(v).iter().any(|t| t.eq_ignore_ascii_case(want.trim()))))],
    ),
    sorts: images::VUL_LIST.sorts,
    tie_break: images::VUL_LIST.tie_break,
};

pub async fn describe_vul_list(svc: &Service, caller: Caller, req: RegistryFindingsRequest) -> Result<ListOf<ImageVul>, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    vul_list(svc, caller, req, Some(paging)).await
}

/// One page of the vulnerability list, or all of it (`None`: exports).
pub(crate) async fn vul_list(
    svc: &Service,
    caller: Caller,
    req: RegistryFindingsRequest,
    paging: Option<(usize, usize)>,
) -> Result<ListOf<ImageVul>, ServiceError> {
    let query = findings_query(&REGISTRY_VUL_LIST, &req)?.with_paging(paging);
    let image_id = image_of(svc, caller.account, req.id, &req.image_info).await?;
    let page = images::selected(svc, caller.account, &image_id, FindingKind::Vul, query).await?;
    Ok(ListOf { list: page.rows.iter().map(|v| vul_of(images::images_vul(v))).collect(), total_count: page.total })
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageVirus {
    pub path: String,
    pub risk_level: String,
    pub category: String,
    pub virus_name: String,
    pub tags: Vec<String>,
    pub desc: String,
    pub solution: String,
    pub file_type: String,
    pub file_name: String,
    pub file_md5: String,
    pub file_size: u64,
    pub first_scan_time: String,
    pub latest_scan_time: String,
}

/// The image list's filters (`Name`, `VirusName`, `Path`, `RiskLevel`) and `Level` (=
/// `RiskLevel`); any may be `all`.
const REGISTRY_VIRUS_LIST: ListSpec<images::StoredVirus> = ListSpec {
    filters: &joined::<_, 5>(images::VIRUS_LIST.filters, &[("Level", Filter::Level("Filters.RiskLevel", |v| v.severity))]),
    sorts: images::VIRUS_LIST.sorts,
    tie_break: images::VIRUS_LIST.tie_break,
};

pub async fn describe_virus_list(svc: &Service, caller: Caller, req: RegistryFindingsRequest) -> Result<ListOf<ImageVirus>, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    virus_list(svc, caller, req, Some(paging)).await
}

/// One page of the trojan list, or all of it (`None`: exports).
pub(crate) async fn virus_list(
    svc: &Service,
    caller: Caller,
    req: RegistryFindingsRequest,
    paging: Option<(usize, usize)>,
) -> Result<ListOf<ImageVirus>, ServiceError> {
    let query = findings_query(&REGISTRY_VIRUS_LIST, &req)?.with_paging(paging);
    let image_id = image_of(svc, caller.account, req.id, &req.image_info).await?;
    let page = images::selected(svc, caller.account, &image_id, FindingKind::Virus, query).await?;
    let (_, when) = images::virus_scan(svc, caller.account, &image_id).await?;
    let list = page
        .rows
        .iter()
        .map(|v| images::virus_info(v, &when))
        .map(|v| ImageVirus {
            file_type: v.file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default(),
            category: v.tags.first().cloned().unwrap_or_default(),
            path: v.path,
            risk_level: v.risk_level.to_string(),
            virus_name: v.virus_name,
            tags: v.tags,
            desc: v.desc,
            solution: v.solution,
            file_name: v.file_name,
            file_md5: v.md5,
            file_size: v.size,
            first_scan_time: v.first_scan_time,
            latest_scan_time: v.latest_scan_time,
        })
        .collect();
    Ok(ListOf { list, total_count: page.total })
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRisk {
    pub behavior: u64,
    #[serde(rename = "Type")]
    pub kind: u64,
    pub level: String,
    pub desc: String,
    pub instruction_content: String,
}

/// The image list's filters (`Level`, `Behavior`, `Type`) and `Name` (a text of `Desc`); any
/// may be `all`. `By` `Level`/`Type`/`Behavior`.
const REGISTRY_RISK_LIST: ListSpec<images::StoredRisk> = ListSpec {
    filters: &joined::<_, 4>(images::RISK_LIST.filters, &[("Name", Filter::TextOf(images::risk_desc))]),
    sorts: images::RISK_LIST.sorts,
    tie_break: images::RISK_LIST.tie_break,
};

pub async fn describe_risk_list(svc: &Service, caller: Caller, req: RegistryFindingsRequest) -> Result<ListOf<ImageRisk>, ServiceError> {
    let paging = page(req.limit, req.offset)?;
    risk_list(svc, caller, req, Some(paging)).await
}

/// One page of the sensitive-information list, or all of it (`None`: exports).
pub(crate) async fn risk_list(
    svc: &Service,
    caller: Caller,
    req: RegistryFindingsRequest,
    paging: Option<(usize, usize)>,
) -> Result<ListOf<ImageRisk>, ServiceError> {
    let query = findings_query(&REGISTRY_RISK_LIST, &req)?.with_paging(paging);
    let image_id = image_of(svc, caller.account, req.id, &req.image_info).await?;
    let page = images::selected(svc, caller.account, &image_id, FindingKind::Risk, query).await?;
    let list = page
        .rows
        .iter()
        .map(images::risk_info)
        .map(|r| ImageRisk {
            behavior: r.behavior,
            kind: r.kind,
            level: r.level.to_string(),
            desc: r.desc,
            instruction_content: r.instruction_content,
        })
        .collect();
    Ok(ListOf { list, total_count: page.total })
}

// ---- the schedule ----

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use store::registries::{ConnectionCheck, FileRegistry, RegistryTag};
    use store::scan_tasks::{ImageAsset, ImageScanOutcome};

    /// Refuses the password `wrong`, accepts anything else.
    struct FakeCheck;

    impl ConnectionCheck for FakeCheck {
        fn check<'a>(
            &'a self,
            _spec: &'a RegistrySpec,
            password: Option<&'a str>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ConnStatus> + Send + 'a>> {
            Box::pin(async move {
                let bad = password == Some("wrong");
                ConnStatus {
                    status: if bad { CONN_AUTH_FAILED } else { CONN_SUCCESS }.into(),
                    message: if bad { "unauthorized: HTTP 401".into() } else { String::new() },
                    checked_at: Some(1),
                }
            })
        }
    }

    fn caller(account: AccountId) -> Caller {
        Caller { request_id: "t".into(), account, secret_id: "AKIDtest".into(), action: "Test", region: None, origin: None }
    }

    async fn services(dir: &std::path::Path) -> Vec<(Arc<Service>, AccountId)> {
        let mut out = Vec::new();
        for (store, account) in store::testing::stores_with_account(dir).await {
            let svc = Service::new(store);
            let _ = svc.registry_check.set(Arc::new(FakeCheck));
            out.push((svc, account));
        }
        out
    }

    fn add_req(v: serde_json::Value) -> AddAssetImageRegistryRegistryDetailRequest {
        let mut base = serde_json::json!({"Name": "r1", "Username": "u", "Password": "p", "Url": "http://reg:5000",
            "RegistryType": "harbor", "NetType": "public"});
        for (k, x) in v.as_object().unwrap() {
            base[k] = x.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn code(e: ServiceError) -> String {
        api::ApiError::from(e).code.as_str().to_string()
    }

    #[tokio::test]
    async fn registries_crud_and_bad_input_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for (svc, a) in services(dir.path()).await {
            let c = || caller(a);
            let r = add_registry(&svc, c(), add_req(serde_json::json!({}))).await.unwrap();
            assert!(r.registry_id > 0 && r.health_check_err.is_empty() && r.name_repeat_err.is_empty());
            let id = r.registry_id as u64;
            // The same name again: said so, nothing stored.
            let again = add_registry(&svc, c(), add_req(serde_json::json!({"Url": "other:1"}))).await.unwrap();
            assert_eq!(again.registry_id, 0);
            assert!(again.name_repeat_err.contains("r1"));
            // A wrong password: stored, reported in HealthCheckErr and the connection status.
            let bad = add_registry(&svc, c(), add_req(serde_json::json!({"Name": "r2", "Password": "wrong"}))).await.unwrap();
            assert!(bad.registry_id > 0 && bad.health_check_err.contains("401"));
            let list = describe_registry_list(&svc, c(), ListRequest { limit: None, offset: None, filters: None, by: None, order: None })
                .await
                .unwrap();
            assert_eq!(list.total_count, 2);
            let det = &list.list[1].conn_detect_detail[0];
            assert_eq!((det.conn_detect_status.as_str(), det.quuid.as_str()), (CONN_AUTH_FAILED, "backend"));
            assert!(det.fail_reason.contains("401") && !det.solution.is_empty());

            for (body, want) in [
                (serde_json::json!({"Name": "n", "Url": "ftp://x"}), "InvalidParameter.InvalidFormat"),
                (serde_json::json!({"Name": "n", "Url": "http://a/b/c"}), "InvalidParameter.InvalidFormat"),
                (serde_json::json!({"Name": "n", "RegistryType": "nexus"}), "InvalidParameterValue"),
                (serde_json::json!({"Name": "n", "NetType": "moon"}), "InvalidParameterValue"),
                (serde_json::json!({"Name": "n", "Insecure": 2}), "InvalidParameterValue"),
                (serde_json::json!({"Name": "n", "SyncMode": 5}), "InvalidParameterValue"),
                (serde_json::json!({"Name": "n", "SpeedLimit": -1}), "InvalidParameterValue"),
                (serde_json::json!({"Name": "file:reg:5000"}), "InvalidParameterValue"),
                (serde_json::json!({"Name": " "}), "InvalidParameter.MissingParameter"),
                (serde_json::json!({"Name": "n", "Password": ""}), "InvalidParameter.MissingParameter"),
                (serde_json::json!({"Name": "n", "Username": ""}), "InvalidParameter.MissingParameter"),
                (serde_json::json!({"Name": "x".repeat(200)}), "InvalidParameterValue.LengthLimit"),
                (serde_json::json!({"Name": "n", "WebhookUrl": "nope"}), "InvalidParameter.InvalidFormat"),
            ] {
                let e = add_registry(&svc, c(), add_req(body.clone())).await.err().unwrap_or_else(|| panic!("{body}"));
                assert_eq!(code(e), want, "{body}");
            }
            assert_eq!(svc.store.registries(a).await.unwrap().len(), 2, "bad input changed nothing");

            // Detail never shows the password; an update with an empty password keeps it.
            let d = describe_registry_detail(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap();
            assert_eq!((d.username.as_str(), d.password.as_str(), d.insecure), ("u", "", 0));
            let upd: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(serde_json::json!({
                "RegistryId": id, "Name": "renamed", "Username": "u", "Password": "", "Url": "https://reg:5000",
                "RegistryType": "quay", "NetType": "private", "Insecure": 1, "SpeedLimit": 5}))
            .unwrap();
            let u = update_registry(&svc, c(), upd).await.unwrap();
            assert_eq!(u.registry_id, id as i64);
            assert_eq!(svc.store.registry_password(a, id as i64).await.unwrap().as_deref(), Some("p"));
            let d = describe_registry_detail(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap();
            assert_eq!((d.name.as_str(), d.registry_type.as_str(), d.insecure, d.speed_limit), ("renamed", "quay", 1, 5));
            // To a taken name: said so, nothing changed.
            let upd: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(serde_json::json!({
                "RegistryId": id, "Name": "r2", "Username": "u", "Password": "", "Url": "https://reg:5000",
                "RegistryType": "quay", "NetType": "private"}))
            .unwrap();
            assert!(!update_registry(&svc, c(), upd).await.unwrap().name_repeat_err.is_empty());
            assert!(check_repeat(&svc, c(), CheckRepeatAssetImageRegistryRequest { name: "renamed".into() }).await.unwrap().is_repeat);
            assert!(!check_repeat(&svc, c(), CheckRepeatAssetImageRegistryRequest { name: "r1".into() }).await.unwrap().is_repeat);
            let missing_id: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(serde_json::json!({
                "RegistryId": 999999, "Name": "z", "Username": "", "Password": "", "Url": "reg", "RegistryType": "other", "NetType": "public"})).unwrap();
            assert_eq!(code(update_registry(&svc, c(), missing_id).await.unwrap_err()), "ResourceNotFound");

            // File registries: listed, read-only.
            svc.store
                .mirror_file_registries(a, &[FileRegistry { host: "f:5000".into(), plain_http: true, ..Default::default() }])
                .await
                .unwrap();
            let file = svc.store.registries(a).await.unwrap().into_iter().find(|r| r.read_only()).unwrap();
            let e = remove_registry(&svc, c(), RegistryIdRequest { registry_id: file.registry_id as u64 }).await.unwrap_err();
            assert_eq!(code(e), "FailedOperation");
            let upd: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(serde_json::json!({
                "RegistryId": file.registry_id, "Name": "f", "Username": "", "Password": "", "Url": "f:5000", "RegistryType": "other", "NetType": "public"})).unwrap();
            assert_eq!(code(update_registry(&svc, c(), upd).await.unwrap_err()), "FailedOperation");

            // Sync requests: unknown ids refused; status doing until the worker ends them.
            let e = sync_assets(&svc, c(), SyncAssetImageRegistryAssetRequest { all: None, registry_ids: Some(vec![424242]) })
                .await
                .unwrap_err();
            assert_eq!(code(e), "ResourceNotFound");
            assert_eq!(
                code(sync_assets(&svc, c(), SyncAssetImageRegistryAssetRequest { all: None, registry_ids: None }).await.unwrap_err()),
                "InvalidParameter.MissingParameter"
            );
            sync_assets(&svc, c(), SyncAssetImageRegistryAssetRequest { all: Some(true), registry_ids: None }).await.unwrap();
            assert_eq!(describe_asset_status(&svc, c(), NoFieldsRequest {}).await.unwrap().status, "doing");

            remove_registry(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap();
            assert_eq!(code(remove_registry(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap_err()), "ResourceNotFound");
            assert_eq!(
                code(describe_registry_detail(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap_err()),
                "ResourceNotFound"
            );
        }
    }

    fn tag(repo: &str, t: &str, image: &str, created: &str) -> RegistryTag {
        RegistryTag {
            repository: repo.into(),
            tag: t.into(),
            image_id: image.into(),
            digest: format!("sha256:d{image}"),
            size: 5,
            created: created.into(),
            os: "linux".into(),
            architecture: "amd64".into(),
        }
    }

    fn risk_json(path: &str) -> String {
        serde_json::to_string(&model::RiskFinding {
            rule_id: "aws-access-key-id".into(),
            title: "AWS access key ID".into(),
            category: "secret".into(),
            severity: model::Severity::Critical,
            location: model::Location { path: path.into(), layer_index: 0, layer_digest: "sha256:l".into() },
            line: 1,
            masked: "AKIA****".into(),
            deleted_in_layer: None,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn registry_images_lists_tasks_and_findings() {
        let dir = tempfile::tempdir().unwrap();
        for (svc, a) in services(dir.path()).await {
            let c = || caller(a);
            let id = add_registry(&svc, c(), add_req(serde_json::json!({}))).await.unwrap().registry_id;
            let reg = svc.store.registry(a, id).await.unwrap().unwrap();
            let tags: Vec<RegistryTag> = (0..25)
                .map(|n| {
                    tag("team/app", &format!("v{n:02}"), if n % 2 == 0 { "sha256:1" } else { "sha256:2" }, &format!("2024-01-{:02}", n + 1))
                })
                .chain([tag("solo", "latest", "sha256:3", "2023-01-01")])
                .collect();
            let asset = |i: &str| ImageAsset {
                facts: model::node::ImageFacts {
                    image_id: i.into(),
                    names: vec![format!("reg:5000/x:{i}")],
                    layers: vec!["sha256:l".into()],
                    ..Default::default()
                },
                ..Default::default()
            };
            let assets = [asset("sha256:1"), asset("sha256:2"), asset("sha256:3")];
            let ok = ConnStatus { status: CONN_SUCCESS.into(), message: String::new(), checked_at: Some(1) };
            svc.store.finish_registry_sync(a, id, reg.updated_at, Ok((&tags, &assets)), &ok).await.unwrap();

            let list_req = |v: serde_json::Value| -> DescribeAssetImageRegistryListRequest { serde_json::from_value(v).unwrap() };
            let l = describe_image_list(&svc, c(), list_req(serde_json::json!({"Limit": 10, "Offset": 20}))).await.unwrap();
            assert_eq!((l.total_count, l.list.len()), (26, 6));
            let l = describe_image_list(&svc, c(), list_req(serde_json::json!({"OnlyShowLatest": true}))).await.unwrap();
            let mut latest: Vec<String> = l.list.iter().map(|x| format!("{}:{}", x.image_name, x.image_tag)).collect();
            latest.sort();
            assert_eq!(latest, ["solo:latest", "team/app:v24"]);
            let l = describe_image_list(&svc, c(), list_req(serde_json::json!({"Filters": [{"Name": "Namespace", "Values": ["team"], "ExactMatch": true}], "By": "ImageTag", "Order": "DESC", "Limit": 1}))).await.unwrap();
            assert_eq!(
                (l.total_count, l.list[0].image_tag.as_str(), l.list[0].instance_name.as_str(), l.list[0].image_repo_address.as_str()),
                (25, "v24", "r1", "reg:5000/team/app")
            );
            for bad in [
                serde_json::json!({"By": "Nope"}),
                serde_json::json!({"Limit": 101}),
                serde_json::json!({"Filters": [{"Name": "Bogus", "Values": ["x"]}]}),
                serde_json::json!({"Filters": [{"Name": "ScanStatus", "Values": ["weird"]}]}),
            ] {
                assert_eq!(code(describe_image_list(&svc, c(), list_req(bad.clone())).await.err().unwrap()), "InvalidParameter", "{bad}");
            }
            let summary = describe_summary(&svc, c(), DescribeAssetImageRegistrySummaryRequest { filters: None }).await.unwrap();
            assert_eq!(summary.un_scanned_image_cnt, 26);
            let ns =
                describe_namespace_list(&svc, c(), DescribeImageRegistryNamespaceListRequest { offset: None, limit: None, filters: None })
                    .await
                    .unwrap();
            assert_eq!((ns.total_count, ns.namespace_list.clone()), (1, vec!["team".to_string()]));
            assert_eq!((ns.namespace_detail[0].registry_cnt, ns.namespace_detail[0].image_cnt), (1, 25));

            // A scan of one tag: its image id is queued once; a second task waits.
            let solo = describe_image_list(
                &svc,
                c(),
                list_req(serde_json::json!({"Filters": [{"Name": "ImageName", "Values": ["solo"], "ExactMatch": true}]})),
            )
            .await
            .unwrap()
            .list[0]
                .id;
            let one_key = |v: serde_json::Value| -> CreateAssetImageRegistryScanTaskOneKeyRequest { serde_json::from_value(v).unwrap() };
            for (bad, want) in [
                (serde_json::json!({"Id": [9999999]}), "ResourceNotFound"),
                (serde_json::json!({"ScanType": ["TROJAN"]}), "InvalidParameter"),
                (serde_json::json!({"ScanScope": 1}), "InvalidParameter.MissingParameter"),
                (serde_json::json!({"Images": [{"Force": "x"}]}), "InvalidParameter.MissingParameter"),
                (serde_json::json!({"Timeout": 0}), "InvalidParameter"),
                (serde_json::json!({"ScanType": ["CVE"]}), "FailedOperation"),
            ] {
                assert_eq!(code(create_scan_task_one_key(&svc, c(), one_key(bad.clone())).await.err().unwrap()), want, "{bad}");
            }
            assert!(svc.store.active_registry_scan_task(a).await.unwrap().is_none(), "refused requests queue nothing");
            let t = create_scan_task_one_key(&svc, c(), one_key(serde_json::json!({"Id": [solo], "ScanType": ["RISK"]}))).await.unwrap();
            assert!(t.task_id > 0);
            let e = create_scan_task_one_key(&svc, c(), one_key(serde_json::json!({"ScanType": ["RISK"]}))).await.unwrap_err();
            assert_eq!(code(e), "FailedOperation.ErrAlreadyScanning");
            let st =
                |tid: Option<u64>| DescribeAssetImageRegistryScanStatusOneKeyRequest { images: None, all: None, id: None, task_id: tid };
            let s = describe_scan_status(&svc, c(), st(Some(t.task_id))).await.unwrap();
            assert_eq!(
                (s.image_total, s.image_scan_cnt, s.status.as_str(), s.image_status[0].scan_status.as_str()),
                (1, 0, "READY", "WAIT_SCAN")
            );
            assert_eq!(code(describe_scan_status(&svc, c(), st(Some(12345))).await.unwrap_err()), "ResourceNotFound");

            // The worker's part, by hand: claim and finish with a finding.
            let claim = svc.store.claim_image_scan("w", 0).await.unwrap().unwrap();
            assert_eq!(claim.image_id, "sha256:3");
            let o = ImageScanOutcome {
                summary: serde_json::json!({"os_name": "alpine 3.20", "risk": {"count": 1, "critical": 1}}).to_string(),
                kinds: vec![FindingKind::Risk],
                findings: vec![(FindingKind::Risk, risk_json("/app/.env"))],
                risk_count: 1,
            };
            svc.store.finish_image_scan(&claim, "w", Some(&o), None).await.unwrap();
            let s = describe_scan_status(&svc, c(), st(None)).await.unwrap();
            assert_eq!((s.status.as_str(), s.schedule, s.risk_count, s.success_count), ("END", 100, 1, 0));
            let row =
                &describe_image_list(&svc, c(), list_req(serde_json::json!({"Filters": [{"Name": "Id", "Values": [solo.to_string()]}]})))
                    .await
                    .unwrap()
                    .list[0];
            assert_eq!(
                (row.scan_status.as_str(), row.risk_status.as_str(), row.cve_status.as_str(), row.risk_cnt, row.os_name.as_str()),
                ("SCANNED", "SCANNED", "NOT_SCAN", 1, "alpine 3.20")
            );

            // The findings: the local list's, in the registry shape; by Id or by ImageInfo.
            let fr = |v: serde_json::Value| -> RegistryFindingsRequest { serde_json::from_value(v).unwrap() };
            let risks = describe_risk_list(&svc, c(), fr(serde_json::json!({"Id": solo}))).await.unwrap();
            let local = images::describe_risk_list(&svc, c(), serde_json::from_value(serde_json::json!({"ImageID": "sha256:3"})).unwrap())
                .await
                .unwrap();
            assert_eq!(risks.total_count, 1);
            assert_eq!((risks.list[0].desc.as_str(), risks.list[0].level.as_str()), (local.list[0].desc.as_str(), "4"));
            let by_info = describe_risk_list(&svc, c(), fr(serde_json::json!({"ImageInfo": {"ImageName": "solo", "ImageTag": "latest", "InstanceName": "r1"}, "Filters": [{"Name": "Level", "Values": ["all"]}]}))).await.unwrap();
            assert_eq!(by_info.total_count, 1);
            // `Name` reads the description; the image list's filters and sort keys apply too.
            let svc_ref = &svc;
            let count = |filters: serde_json::Value, by: &str| {
                let req = fr(serde_json::json!({"Id": solo, "Filters": filters, "By": by, "Order": "DESC"}));
                async move { describe_risk_list(svc_ref, c(), req).await.map(|l| l.total_count) }
            };
            assert_eq!(count(serde_json::json!([{"Name": "Name", "Values": ["APP/.ENV"]}]), "Level").await.unwrap(), 1);
            assert_eq!(count(serde_json::json!([{"Name": "Name", "Values": ["line 2"]}]), "Type").await.unwrap(), 0);
            assert_eq!(
                count(serde_json::json!([{"Name": "Type", "Values": ["1"]}, {"Name": "Level", "Values": ["CRITICAL"]}]), "").await.unwrap(),
                1
            );
            assert_eq!(count(serde_json::json!([{"Name": "Behavior", "Values": ["2"]}]), "Behavior").await.unwrap(), 0);
            for (filters, by) in [(serde_json::json!([{"Name": "Tag", "Values": ["x"]}]), ""), (serde_json::json!([]), "Size")] {
                assert_eq!(code(count(filters, by).await.unwrap_err()), "InvalidParameter");
            }
            assert_eq!(
                code(describe_risk_list(&svc, c(), fr(serde_json::json!({}))).await.unwrap_err()),
                "InvalidParameter.MissingParameter"
            );
            assert_eq!(code(describe_vul_list(&svc, c(), fr(serde_json::json!({"Id": 987654}))).await.unwrap_err()), "ResourceNotFound");
            assert_eq!(
                describe_vul_list(&svc, c(), fr(serde_json::json!({"Id": solo, "Filters": [{"Name": "Tag", "Values": ["all"]}]})))
                    .await
                    .unwrap()
                    .total_count,
                0
            );
            let d = describe_image_detail(&svc, c(), DescribeAssetImageRegistryDetailRequest { id: Some(solo as u64), image_id: None })
                .await
                .unwrap();
            assert_eq!((d.image_id.as_str(), d.risk_cnt, d.layer_info.as_str()), ("sha256:3", 1, r#"[{"LayerId":"sha256:l"}]"#));

            // Stop: a task of two images, one cancelled by Id, then the rest.
            let t2: TaskIdResponse =
                create_scan_task(&svc, c(), serde_json::from_value(serde_json::json!({"All": true, "ScanType": ["VIRUS"]})).unwrap())
                    .await
                    .unwrap();
            let s = describe_scan_status(&svc, c(), st(Some(t2.task_id))).await.unwrap();
            assert_eq!(s.image_total, 3);
            let v24 = describe_image_list(
                &svc,
                c(),
                list_req(serde_json::json!({"Filters": [{"Name": "ImageTag", "Values": ["v24"], "ExactMatch": true}]})),
            )
            .await
            .unwrap()
            .list[0]
                .id;
            stop_scan_one_key(
                &svc,
                c(),
                ModifyAssetImageRegistryScanStopOneKeyRequest { all: None, images: None, id: Some(vec![v24 as u64]), task_id: None },
            )
            .await
            .unwrap();
            let q = svc.store.scan_task_queue(a, &t2.task_id.to_string()).await.unwrap();
            assert_eq!(q.iter().filter(|x| x.state == "cancelled").count(), 1);
            stop_scan(&svc, c(), serde_json::from_value(serde_json::json!({"All": true})).unwrap()).await.unwrap();
            assert_eq!(describe_scan_status(&svc, c(), st(None)).await.unwrap().status, "END");
            let e =
                create_scan_task(&svc, c(), serde_json::from_value(serde_json::json!({"ScanType": ["RISK"]})).unwrap()).await.unwrap_err();
            assert_eq!(code(e), "InvalidParameter.MissingParameter");
        }
    }

    #[tokio::test]
    async fn timing_scan_round_trip_and_validation() {
        let dir = tempfile::tempdir().unwrap();
        for (svc, a) in services(dir.path()).await {
            let c = || caller(a);
            let d = describe_timing_scan(&svc, c(), NoFieldsRequest {}).await.unwrap();
            assert!(!d.enable && d.all && d.scan_type.len() == 3 && d.last_scan_time.is_none());
            let req = |v: serde_json::Value| -> UpdateImageRegistryTimingScanTaskRequest { serde_json::from_value(v).unwrap() };
            for (bad, want) in [
                (serde_json::json!({"Enable": true, "ScanTime": "25:00", "ScanPeriod": 1}), "InvalidParameter.InvalidFormat"),
                (serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 0}), "InvalidParameter.InvalidFormat"),
                (
                    serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 1, "ScanEndTime": "01:00"}),
                    "InvalidParameter.InvalidFormat",
                ),
                (
                    serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 1, "ScanScope": 1}),
                    "InvalidParameter.MissingParameter",
                ),
                (serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 1, "ScanType": ["X"]}), "InvalidParameter"),
            ] {
                assert_eq!(code(update_timing_scan(&svc, c(), req(bad.clone())).await.unwrap_err()), want, "{bad}");
            }
            assert!(svc.store.registry_scan_setting(a).await.unwrap().is_none(), "bad input stored nothing");
            update_timing_scan(&svc, c(), req(serde_json::json!({"Enable": true, "ScanTime": "03:00:00", "ScanPeriod": 7, "ScanType": ["risk", "virus"],
                "Images": [{"ImageName": "team/app", "ImageTag": "v1", "InstanceName": "r1", "Namespace": "team", "Force": ""}], "Id": [4], "Latest": true,
                "ScanEndTime": "05:00", "Namespace": ["team"], "ExcludeImageAssetIds": [9]}))).await.unwrap();
            let d = describe_timing_scan(&svc, c(), NoFieldsRequest {}).await.unwrap();
            assert_eq!((d.enable, d.scan_time.as_str(), d.scan_period, d.scan_scope, d.all), (true, "03:00:00", 7, 1, false));
            assert_eq!(
                (d.scan_type.clone(), d.id.clone(), d.exclude_image_asset_ids.clone(), d.latest),
                (vec!["risk".to_string(), "virus".to_string()], vec![4], vec![9], true)
            );
            assert_eq!((d.images[0].image_name.as_str(), d.scan_end_time.as_deref()), ("team/app", Some("05:00")));
            let s = svc.store.registry_scan_setting(a).await.unwrap().unwrap().setting;
            assert!(!s.scan_vul && s.scan_virus && s.scan_risk);
        }
    }

    #[test]
    fn urls() {
        assert_eq!(parse_url("https://reg.example.com").unwrap(), ("reg.example.com".into(), false));
        assert_eq!(parse_url("http://127.0.0.1:5000/").unwrap(), ("127.0.0.1:5000".into(), true));
        assert_eq!(parse_url("Harbor.Local:8443/v2/").unwrap(), ("harbor.local:8443".into(), false));
        assert_eq!(parse_url("http://[::1]:5000").unwrap(), ("[::1]:5000".into(), true));
        for bad in ["", "ftp://x", "http://", "http://a/b", "http://u@a", "a:0", "a:99999", "a:x", "a b", "http://a?x=1"] {
            assert!(matches!(parse_url(bad), Err(ServiceError::InvalidFormat { .. })), "{bad}");
        }
    }

    #[test]
    fn types_and_scopes() {
        assert_eq!(scan_types(&None).unwrap(), (true, true, true));
        assert_eq!(scan_types(&Some(vec!["cve".into(), "RISK".into()])).unwrap(), (true, false, true));
        assert!(scan_types(&Some(vec![])).is_err());
        assert!(scan_types(&Some(vec!["TROJAN".into()])).is_err());
        assert_eq!(scope_of(None, &[], &[]).unwrap(), 0);
        assert_eq!(scope_of(None, &[1], &[]).unwrap(), 1);
        assert!(matches!(scope_of(Some(1), &[], &[]), Err(ServiceError::MissingParameter { .. })));
        assert!(scope_of(Some(3), &[], &[]).is_err());
    }

    #[test]
    fn registry_finding_filters() {
        let query = |spec: &ListSpec<images::StoredVirus>, filters: serde_json::Value| {
            findings_query(spec, &serde_json::from_value(serde_json::json!({"Filters": filters, "By": "Size"})).unwrap()).map(|_| ())
        };
        let field = |r: Result<(), ServiceError>| match r {
            Err(ServiceError::InvalidParameter { field, reason }) => (field, reason),
            other => panic!("expected InvalidParameter, got {other:?}"),
        };
        // `all` is dropped from any filter, and so is a filter of only `all`, whatever its name.
        let all = serde_json::json!([{"Name": "Level", "Values": ["all"]}, {"Name": "Nope", "Values": [" ALL"]},
            {"Name": "Level", "Values": ["HIGH", "all"]}, {"Name": "RiskLevel", "Values": ["1"]}]);
        assert!(query(&REGISTRY_VIRUS_LIST, all).is_ok());
        // A filter without values is an error before `all` is dropped.
        assert_eq!(field(query(&REGISTRY_VIRUS_LIST, serde_json::json!([{"Name": "Level", "Values": []}]))).0, "Filters");
        // `Level` is `RiskLevel` here, and its errors name the field the image list names.
        assert_eq!(field(query(&REGISTRY_VIRUS_LIST, serde_json::json!([{"Name": "Level", "Values": ["9"]}]))).0, "Filters.RiskLevel");
        assert_eq!(
            field(query(&REGISTRY_VIRUS_LIST, serde_json::json!([{"Name": "Tag", "Values": ["x"]}]))),
            ("Filters", r#"unknown filter name "Tag" (Name, VirusName, Path, RiskLevel, Level)"#.to_string())
        );
        // The image list's sort keys.
        assert!(query(&images::VIRUS_LIST, serde_json::json!([])).is_ok());
        fn names<T>(spec: &ListSpec<T>) -> String {
            spec.filters.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",")
        }
        assert_eq!(names(&REGISTRY_VUL_LIST), "Name,CVEID,Component,Level,Tag");
        assert_eq!(names(&REGISTRY_RISK_LIST), "Level,Behavior,Type,Name");
    }
}

#[cfg(test)]
mod paging_in_sql {
    use super::*;
    use crate::list::paged;

    /// The database's page equals the in-memory list's page for every filter and sort it takes.
    #[tokio::test(flavor = "multi_thread")]
    async fn sql_pages_equal_the_in_memory_list() {
        let dir = tempfile::tempdir().unwrap();
        for (store, a) in store::testing::stores_with_account(dir.path()).await {
            let svc = Service::new(store);
            let ok = ConnStatus { status: CONN_SUCCESS.into(), message: String::new(), checked_at: Some(1) };
            for (name, host, kind, n) in [("Reg-One", "one:5000", "harbor", 40), ("two", "two:5000", "quay", 25)] {
                let spec = RegistrySpec { name: name.into(), host: host.into(), registry_type: kind.into(), ..Default::default() };
                let RegistryWrite::Done(id) = svc.store.add_registry(a, &spec, None, &ok).await.unwrap() else { panic!() };
                let reg = svc.store.registry(a, id).await.unwrap().unwrap();
                let tags: Vec<store::registries::RegistryTag> = (0..n)
                    .map(|i| store::registries::RegistryTag {
                        repository: ["team/App", "team/app_x", "solo", "Ünï/x"][i % 4].into(),
                        tag: if i % 7 == 0 { "latest".into() } else { format!("v{}", i % 9) + if i % 2 == 0 { "B" } else { "a" } },
                        image_id: format!("sha256:{}", i % 5),
                        digest: format!("sha256:d{i}"),
                        size: (i % 6) as u64 * 10,
                        created: format!("2026-01-0{}T00:00:00Z", 1 + i % 3),
                        os: "linux".into(),
                        architecture: "amd64".into(),
                    })
                    .collect();
                let mut seen = std::collections::BTreeSet::new();
                let tags: Vec<_> = tags.into_iter().filter(|t| seen.insert((t.repository.clone(), t.tag.clone()))).collect();
                svc.store.finish_registry_sync(a, id, reg.updated_at, Ok((&tags, &[])), &ok).await.unwrap();
            }
            let all = svc.store.registry_images(a).await.unwrap();
            let some_id = all[3].id.to_string();
            let reqs = [
                serde_json::json!({}),
                serde_json::json!({"Limit": 7, "Offset": 5, "By": "ImageTag"}),
                serde_json::json!({"Limit": 100, "By": "ImageTag", "Order": "DESC"}),
                serde_json::json!({"Limit": 9, "Offset": 2, "By": "ImageName", "Order": "desc"}),
                serde_json::json!({"Limit": 100, "By": "ImageCreateTime", "Order": "DESC"}),
                serde_json::json!({"Limit": 11, "By": "ImageSize"}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["APP", "solo"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["team/App"], "ExactMatch": true}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["p_x"]}, {"Name": "ImageTag", "Values": ["b"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["%"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "InstanceName", "Values": ["reg-"]}], "By": "ImageSize", "Order": "DESC"}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "RegistryType", "Values": ["quay"], "ExactMatch": true}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "Id", "Values": [some_id, "0x1", "07"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageId", "Values": ["SHA256:3"]}, {"Name": "ImageDigest", "Values": ["d1"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["ünï"]}]}),
                serde_json::json!({"Limit": 100, "OnlyShowLatest": true, "By": "ImageName"}),
            ];
            let c = Caller { request_id: "t".into(), account: a, secret_id: "x".into(), action: "x", region: None, origin: None };
            for r in reqs {
                let req: DescribeAssetImageRegistryListRequest = serde_json::from_value(r.clone()).unwrap();
                let got = describe_image_list(&svc, c.clone(), req).await.unwrap();
                let req: DescribeAssetImageRegistryListRequest = serde_json::from_value(r.clone()).unwrap();
                let (all, total) = image_list(&svc, a, &req, None).await.unwrap();
                let want = paged(all, page(req.limit, req.offset).unwrap());
                assert_eq!(got.total_count, total, "{r}");
                assert_eq!(serde_json::to_value(&got.list).unwrap(), serde_json::to_value(&want).unwrap(), "{r}");
                assert!(total > 0 || r["Filters"].is_array(), "{r}");
            }
        }
    }
}

#[cfg(test)]
mod cost {
    use super::*;

    /// Where the time of a 2,000-row registry list goes (`cargo test -p service --release --lib
    /// registries::cost -- --ignored --nocapture`).
    #[tokio::test(flavor = "multi_thread")]
    #[ignore]
    async fn list_of_2000_rows() {
        let dir = tempfile::tempdir().unwrap();
        for (store, a) in store::testing::stores_with_account(dir.path()).await {
            let svc = Service::new(store);
            let spec = RegistrySpec { name: "r".into(), host: "reg:5000".into(), ..Default::default() };
            let ok = ConnStatus { status: CONN_SUCCESS.into(), message: String::new(), checked_at: Some(1) };
            let RegistryWrite::Done(id) = svc.store.add_registry(a, &spec, None, &ok).await.unwrap() else { panic!() };
            let reg = svc.store.registry(a, id).await.unwrap().unwrap();
            let tags: Vec<store::registries::RegistryTag> = (0..2000)
                .map(|n| store::registries::RegistryTag {
                    repository: format!("bench/app-{}", n % 10),
                    tag: format!("t{n}"),
                    image_id: format!("sha256:{}", n % 4),
                    digest: format!("sha256:d{}", n % 4),
                    size: 1,
                    created: "2026-01-01T00:00:00Z".into(),
                    os: "linux".into(),
                    architecture: "amd64".into(),
                })
                .collect();
            let assets: Vec<store::scan_tasks::ImageAsset> = (0..4)
                .map(|i| store::scan_tasks::ImageAsset {
                    facts: model::node::ImageFacts {
                        image_id: format!("sha256:{i}"),
                        names: tags
                            .iter()
                            .filter(|t| t.image_id == format!("sha256:{i}"))
                            .map(|t| format!("reg:5000/{}:{}", t.repository, t.tag))
                            .collect(),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect();
            svc.store.finish_registry_sync(a, id, reg.updated_at, Ok((&tags, &assets)), &ok).await.unwrap();
            for _ in 0..3 {
                let t = std::time::Instant::now();
                let imgs = svc.store.registry_images(a).await.unwrap();
                let t1 = t.elapsed();
                let _ = svc.store.image_scan_results(a).await.unwrap();
                let t2 = t.elapsed();
                let _ = svc.store.image_scan_active_images(a).await.unwrap();
                let t3 = t.elapsed();
                let _ = svc.store.image_assets(a).await.unwrap();
                let t4 = t.elapsed();
                let _ = latest_ids(&imgs);
                let t5 = t.elapsed();
                let req: DescribeAssetImageRegistryListRequest = serde_json::from_str("{}").unwrap();
                let c = Caller { request_id: "t".into(), account: a, secret_id: "x".into(), action: "x", region: None, origin: None };
                let t6s = std::time::Instant::now();
                describe_image_list(&svc, c, req).await.unwrap();
                eprintln!(
                    "{:?}: registry_images {:?}, results {:?}, active {:?}, image_assets {:?}, latest {:?}; whole list {:?}",
                    svc.store.backend(),
                    t1,
                    t2 - t1,
                    t3 - t2,
                    t4 - t3,
                    t5 - t4,
                    t6s.elapsed()
                );
            }
        }
    }
}

/// `Debug` of a registry's settings: what names it, never its password or webhook token.
macro_rules! registry_debug {
    ($($ty:ident),*) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name)
                    .field("url", &self.url)
                    .field("username", &self.username)
                    .field("password", &if self.password.is_empty() { "" } else { "****" })
                    .finish_non_exhaustive()
            }
        }
    )*};
}
registry_debug!(
    AddAssetImageRegistryRegistryDetailRequest,
    UpdateAssetImageRegistryRegistryDetailRequest,
    DescribeAssetImageRegistryRegistryDetailResponse
);

#[cfg(test)]
mod debug_tests {
    use super::*;

    /// Each registry type holding a password or webhook token keeps both out of `Debug`.
    #[test]
    fn registry_secrets_are_masked() {
        let fields = serde_json::json!({"Name": "n", "Username": "u", "Password": "ThePassword", "Url": "http://r",
            "RegistryType": "harbor", "NetType": "public", "WebhookToken": "TheToken"});
        let add: AddAssetImageRegistryRegistryDetailRequest = serde_json::from_value(fields.clone()).unwrap();
        let mut update_fields = fields.clone();
        update_fields.as_object_mut().unwrap().remove("WebhookToken");
        let update: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(update_fields).unwrap();
        let mut describe = DescribeAssetImageRegistryRegistryDetailResponse {
            name: "n".into(),
            username: "u".into(),
            password: "ThePassword".into(),
            url: "http://r".into(),
            webhook_token: "TheToken".into(),
            ..Default::default()
        };
        for shown in [format!("{add:?}"), format!("{update:?}"), format!("{describe:?}")] {
            assert!(shown.contains("http://r") && shown.contains("****"), "{shown}");
            assert!(!shown.contains("ThePassword") && !shown.contains("TheToken"), "{shown}");
        }
        describe.password.clear();
        assert!(!format!("{describe:?}").contains("****"), "an empty password shows as empty");
    }
}
