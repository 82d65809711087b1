//! Exports (schemas: ../shared/spec/schema/<Action>.json): `DescribeAssetImageRegistryListExport`,
//! `DescribeAssetImageRegistryVulListExport` / `VirusListExport` / `RiskListExport`,
//! `DescribeExportJobResult`, `DescribeExportJobDownloadURL`, `DescribeExportJobManageList`; and the
//! local image family's `DescribeAssetImageVulListExport` / `VirusListExport` / `RiskListExport`,
//! which have no schema in the contract: their fields are the official SDK models' (the API
//! description tccli ships; `ExportField` and `ImageID` required), the rows those of
//! `DescribeAssetImageVulList` / `VirusList` / `RiskList` (`images/findings.rs`) without a page.
//!
//! An export writes an `.xlsx` workbook (crate `workbook`) of EVERY row of the list the matching
//! `Describe…List` action would page through — the same code selects, filters and sorts them
//! (`registries::image_list` / `vul_list` / `virus_list` / `risk_list` without a page) — and
//! stores it as a job of the caller's account (`store::exports`). The workbook is written while
//! the request waits: the response must already carry a working `DownloadUrl`, and a list of a few
//! thousand rows takes milliseconds to write (no worker round trip to wait for); so a job is
//! `SUCCESS` with progress 100 when it is listed, and `RUNNING`/`FAILURE` never appear (a failed
//! export answers the error instead of storing a job).
//!
//! Conventions where TCSS leaves room:
//! - Columns: the `ExportField` names, in order, each a field of the list's item as the list
//!   action returns it (`ImageRepoInfo`, `ImageVul`, `ImageVirus`, `ImageRisk`), plus the names
//!   the official examples use: `ScanEndTime` (= `ScanTime`), `CVEId`, `POCId`, `CVSS_Score`,
//!   `CVSS_Desc` (= `CVEID`, `POCID`, `CvssScore`, `CvssVector`); `ScanStartTime` is accepted and
//!   left empty (the store keeps when an image's latest scan ended, not when it started). The
//!   header row holds the names as asked. An unknown name is `InvalidParameterValue` naming it.
//!   No `ExportField` (or an empty list): the official example's columns (all of `ImageRisk`'s
//!   for the risk list, whose example repeats the trojan list's names). Lists are joined with
//!   `; ` (objects as JSON), numbers stay numbers, booleans booleans.
//! - `Limit`/`Offset` are accepted and not applied: an export holds the whole filtered list.
//! - `DownloadUrl`/`DownloadURL`: `http(s)://HOST/exports/TOKEN` on the host and scheme the
//!   request came to (`Caller::origin`; a path alone without a usable Host header). TOKEN is 256
//!   random bits bound to the account and the job, valid 10 minutes, and each answer makes a new
//!   one. The link itself is the capability: it is only ever handed to a request signed by the
//!   account's key, which is how it "works only for the account that asked"; `serve` answers 404
//!   for an unknown or expired token. Jobs and files are kept 24 hours.
//! - `JobName`: `SOURCE-ACCOUNT-LIST-YYMMDDhhmmss`; `Source` `RegistryImage` or `LocalImage`. The
//!   local exports are jobs too (listed, linked again); only the trojan export's response names
//!   its `JobId`, as the SDK models have it. `Timeout`: when the
//!   job and its file are removed. Another account's `JobId`: `ResourceNotFound`, as for an
//!   unknown or expired one.
//! - `DescribeExportJobManageList`: `Filters` `ExportStatus`, `ExportSource` (`ExactMatch`
//!   honoured); `By` `InsertTime`; `Order` absent: newest first.

use api::Caller;
use serde::{Deserialize, Serialize};
use store::exports::ExportJob;
use store::scan_tasks::format_utc;
use workbook::Cell;

use crate::Service;
use crate::error::ServiceError;
use crate::images::{self, ImageListRequest, ImageRiskInfo, ImageVirusInfo, ImagesVul};
use crate::list::{AssetFilters, Filter, ListRequest, ListSpec};
use crate::registries::{
    self, DescribeAssetImageRegistryListRequest, ImageInfoIn, ImageRepoInfo, ImageRisk, ImageVirus, ImageVul, RegistryFindingsRequest,
};

/// `ExportSource` of the registry family.
pub const SOURCE_REGISTRY: &str = "RegistryImage";
/// `ExportSource` of the local image family.
pub const SOURCE_LOCAL: &str = "LocalImage";
/// Where `serve` answers download links.
pub const DOWNLOAD_PATH: &str = "/exports/";
const MAX_FIELDS: usize = 200;

const REGISTRY_LIST_DEFAULT: &[&str] = &[
    "InstanceName",
    "InstanceId",
    "RegistryType",
    "Namespace",
    "ImageName",
    "ImageTag",
    "ImageSize",
    "ImageDigest",
    "ImageId",
    "ImageRepoAddress",
    "ScanStatus",
    "VulCnt",
    "VirusCnt",
    "RiskCnt",
    "ScanStartTime",
    "ScanEndTime",
    "OsName",
    "IsAuthorized",
    "RegistryRegion",
];
const VUL_DEFAULT: &[&str] = &[
    "CVEId",
    "POCId",
    "Name",
    "Components",
    "Category",
    "CategoryType",
    "Level",
    "Des",
    "OfficialSolution",
    "Reference",
    "DefenseSolution",
    "SubmitTime",
    "CVSS_Score",
    "CVSS_Desc",
];
const VIRUS_DEFAULT: &[&str] = &["Path", "RiskLevel", "Category", "VirusName", "Tags"];
const RISK_DEFAULT: &[&str] = &["Behavior", "Type", "Level", "Desc", "InstructionContent"];
// The local lists' items have their own field names (`ImagesVul`, `ImageVirusInfo`, `ImageRiskInfo`).
const LOCAL_VUL_DEFAULT: &[&str] =
    &["CVEID", "Name", "Component", "Version", "Category", "Level", "Des", "OfficialSolution", "Reference", "FixedVersions"];
const LOCAL_VIRUS_DEFAULT: &[&str] = &["Path", "RiskLevel", "VirusName", "Tags", "Desc", "Solution", "Size", "Md5"];

/// The official examples' names for fields the list item spells differently; `None`: a column
/// with no stored value (see the module doc).
const ALIASES: &[(&str, Option<&str>)] = &[
    ("ScanEndTime", Some("ScanTime")),
    ("ScanStartTime", None),
    ("CVEId", Some("CVEID")),
    ("POCId", Some("POCID")),
    ("CVSS_Score", Some("CvssScore")),
    ("CVSS_Desc", Some("CvssVector")),
];

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn not_found(job_id: &str) -> ServiceError {
    ServiceError::NotFound { what: "Export job", id: job_id.to_string() }
}

/// One column: the header as asked and the item field it reads (`None`: always empty).
#[derive(Debug, Clone, PartialEq)]
struct Column {
    header: String,
    field: Option<String>,
}

/// The columns named in `ExportField`, checked against the item's fields (a default `probe`).
fn columns<T: Serialize + Default>(asked: &Option<Vec<String>>, default: &[&str]) -> Result<Vec<Column>, ServiceError> {
    let probe = serde_json::to_value(T::default()).map_err(|e| ServiceError::FailedOperation { reason: e.to_string() })?;
    let known = probe.as_object().cloned().unwrap_or_default();
    let names: Vec<String> = match asked.as_deref() {
        Some(v) if !v.is_empty() => v.to_vec(),
        _ => default.iter().map(|s| s.to_string()).collect(),
    };
    if names.len() > MAX_FIELDS {
        return Err(ServiceError::LengthLimit {
            field: "ExportField",
            reason: format!("at most {MAX_FIELDS} fields, got {}", names.len()),
        });
    }
    names
        .into_iter()
        .map(|name| {
            let name = name.trim().to_string();
            let field = if known.contains_key(&name) {
                Some(name.clone())
            } else if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == name) {
                to.map(str::to_string)
            } else {
                return Err(ServiceError::InvalidValue {
                    field: "ExportField",
                    reason: format!(
                        "{name:?} is not a field of this list (fields: {})",
                        known.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            };
            Ok(Column { header: name, field })
        })
        .collect()
}

/// A JSON value as one cell.
fn cell(v: &serde_json::Value) -> Cell {
    use serde_json::Value;
    match v {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => n.as_f64().map_or(Cell::Empty, Cell::Number),
        Value::String(s) => Cell::Text(s.clone()),
        Value::Array(a) => Cell::Text(
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Value::Object(_) => Cell::Text(v.to_string()),
    }
}

/// The rows of the workbook: each item's chosen fields.
fn table<T: Serialize>(items: &[T], cols: &[Column]) -> Result<Vec<Vec<Cell>>, ServiceError> {
    items
        .iter()
        .map(|item| {
            let v = serde_json::to_value(item).map_err(|e| ServiceError::FailedOperation { reason: e.to_string() })?;
            Ok(cols.iter().map(|c| c.field.as_deref().and_then(|f| v.get(f)).map_or(Cell::Empty, cell)).collect())
        })
        .collect()
}

fn link(caller: &Caller, token: &str) -> String {
    format!("{}{DOWNLOAD_PATH}{token}", caller.origin.as_deref().unwrap_or(""))
}

/// `YYMMDDhhmmss` of a unix time (TCSS job names carry one).
fn stamp(t: i64) -> String {
    format_utc(t).chars().filter(char::is_ascii_digit).skip(2).collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportResponse {
    pub download_url: String,
    pub job_id: String,
}

/// Writes the workbook, stores the job and hands out its first link.
async fn export<T: Serialize>(
    svc: &Service,
    caller: &Caller,
    source: &str,
    list: &str,
    sheet: &str,
    cols: &[Column],
    items: &[T],
) -> Result<ExportResponse, ServiceError> {
    let rows = table(items, cols)?;
    let header: Vec<&str> = cols.iter().map(|c| c.header.as_str()).collect();
    let sheet = sheet.to_string();
    let header_owned: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    let bytes = tokio::task::spawn_blocking(move || {
        let header: Vec<&str> = header_owned.iter().map(String::as_str).collect();
        workbook::write(&sheet, &header, &rows)
    })
    .await
    .map_err(|e| ServiceError::FailedOperation { reason: format!("writing the workbook: {e}") })?
    .map_err(|e| ServiceError::FailedOperation { reason: e.to_string() })?;
    let t = now();
    let name = format!("{source}-{}-{list}-{}", caller.account, stamp(t));
    let job = svc.store.create_export_job(caller.account, source, &name, &bytes, items.len() as u64, t).await?;
    let token = svc.store.create_export_link(caller.account, &job.job_id, t).await?.ok_or_else(|| not_found(&job.job_id))?;
    tracing::info!(account = caller.account, job_id = %job.job_id, rows = items.len(), bytes = bytes.len(), "export written");
    Ok(ExportResponse { download_url: link(caller, &token), job_id: job.job_id })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetImageRegistryListExportRequest {
    pub export_field: Option<Vec<String>>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
    pub by: Option<String>,
    pub order: Option<String>,
    pub only_show_latest: Option<bool>,
}

pub async fn registry_list(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetImageRegistryListExportRequest,
) -> Result<ExportResponse, ServiceError> {
    let cols = columns::<ImageRepoInfo>(&req.export_field, REGISTRY_LIST_DEFAULT)?;
    let list = DescribeAssetImageRegistryListRequest {
        limit: None,
        offset: None,
        filters: req.filters,
        by: req.by,
        order: req.order,
        only_show_latest: req.only_show_latest,
        is_running: None,
    };
    let (items, _) = registries::image_list(svc, caller.account, &list, None).await?;
    export(svc, &caller, SOURCE_REGISTRY, "ImageList", "Registry images", &cols, &items).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegistryFindingsExportRequest {
    pub export_field: Option<Vec<String>>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
    pub image_info: Option<ImageInfoIn>,
    pub id: Option<u64>,
}

fn findings(req: RegistryFindingsExportRequest) -> RegistryFindingsRequest {
    RegistryFindingsRequest {
        limit: None,
        offset: None,
        filters: req.filters,
        image_info: req.image_info,
        id: req.id,
        by: None,
        order: None,
    }
}

pub async fn registry_vul_list(svc: &Service, caller: Caller, req: RegistryFindingsExportRequest) -> Result<ExportResponse, ServiceError> {
    let cols = columns::<ImageVul>(&req.export_field, VUL_DEFAULT)?;
    let items = registries::vul_list(svc, caller.clone(), findings(req), None).await?.list;
    export(svc, &caller, SOURCE_REGISTRY, "VulList", "Vulnerabilities", &cols, &items).await
}

pub async fn registry_virus_list(
    svc: &Service,
    caller: Caller,
    req: RegistryFindingsExportRequest,
) -> Result<ExportResponse, ServiceError> {
    let cols = columns::<ImageVirus>(&req.export_field, VIRUS_DEFAULT)?;
    let items = registries::virus_list(svc, caller.clone(), findings(req), None).await?.list;
    export(svc, &caller, SOURCE_REGISTRY, "VirusList", "Trojans", &cols, &items).await
}

pub async fn registry_risk_list(svc: &Service, caller: Caller, req: RegistryFindingsExportRequest) -> Result<ExportResponse, ServiceError> {
    let cols = columns::<ImageRisk>(&req.export_field, RISK_DEFAULT)?;
    let items = registries::risk_list(svc, caller.clone(), findings(req), None).await?.list;
    export(svc, &caller, SOURCE_REGISTRY, "RiskList", "Sensitive information", &cols, &items).await
}

// ---- local image findings ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ImageFindingsExportRequest {
    pub export_field: Vec<String>,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    // Only the vulnerability export's model has them; accepted and not applied (every row).
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
}

fn local(req: ImageFindingsExportRequest) -> (Option<Vec<String>>, ImageListRequest) {
    let list = ImageListRequest { image_id: req.image_id, limit: None, offset: None, filters: req.filters, by: None, order: None };
    (Some(req.export_field), list)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DownloadUrlResponse {
    pub download_url: String,
}

pub async fn local_vul_list(svc: &Service, caller: Caller, req: ImageFindingsExportRequest) -> Result<DownloadUrlResponse, ServiceError> {
    let (fields, list) = local(req);
    let cols = columns::<ImagesVul>(&fields, LOCAL_VUL_DEFAULT)?;
    let items = images::vul_list(svc, caller.clone(), list, false).await?.list;
    let r = export(svc, &caller, SOURCE_LOCAL, "VulList", "Vulnerabilities", &cols, &items).await?;
    Ok(DownloadUrlResponse { download_url: r.download_url })
}

pub async fn local_virus_list(svc: &Service, caller: Caller, req: ImageFindingsExportRequest) -> Result<ExportResponse, ServiceError> {
    let (fields, list) = local(req);
    let cols = columns::<ImageVirusInfo>(&fields, LOCAL_VIRUS_DEFAULT)?;
    let items = images::virus_list(svc, caller.clone(), list, false).await?.list;
    export(svc, &caller, SOURCE_LOCAL, "VirusList", "Trojans", &cols, &items).await
}

pub async fn local_risk_list(svc: &Service, caller: Caller, req: ImageFindingsExportRequest) -> Result<DownloadUrlResponse, ServiceError> {
    let (fields, list) = local(req);
    let cols = columns::<ImageRiskInfo>(&fields, RISK_DEFAULT)?;
    let items = images::risk_list(svc, caller.clone(), list, false).await?.list;
    let r = export(svc, &caller, SOURCE_LOCAL, "RiskList", "Sensitive information", &cols, &items).await?;
    Ok(DownloadUrlResponse { download_url: r.download_url })
}

// ---- jobs ----

async fn job_link(svc: &Service, caller: &Caller, job_id: &str) -> Result<(ExportJob, String), ServiceError> {
    let job_id = job_id.trim();
    if job_id.is_empty() {
        return Err(ServiceError::MissingParameter { field: "JobId", reason: "name the job the export action returned".into() });
    }
    let t = now();
    let job = svc.store.export_job(caller.account, job_id, t).await?.ok_or_else(|| not_found(job_id))?;
    let token = svc.store.create_export_link(caller.account, job_id, t).await?.ok_or_else(|| not_found(job_id))?;
    Ok((job, link(caller, &token)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeExportJobResultRequest {
    pub job_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeExportJobResultResponse {
    pub export_status: String,
    #[serde(rename = "DownloadURL")]
    pub download_url: String,
    pub export_progress: f64,
    pub failure_msg: String,
}

pub async fn job_result(
    svc: &Service,
    caller: Caller,
    req: DescribeExportJobResultRequest,
) -> Result<DescribeExportJobResultResponse, ServiceError> {
    let (job, url) = job_link(svc, &caller, &req.job_id).await?;
    Ok(DescribeExportJobResultResponse { export_status: job.status, download_url: url, export_progress: 100.0, failure_msg: job.failure })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribeExportJobDownloadURLRequest {
    #[serde(rename = "JobID")]
    pub job_id: String,
}

#[derive(Debug, Serialize)]
pub struct DescribeExportJobDownloadURLResponse {
    #[serde(rename = "DownloadURL")]
    pub download_url: String,
}

pub async fn job_download_url(
    svc: &Service,
    caller: Caller,
    req: DescribeExportJobDownloadURLRequest,
) -> Result<DescribeExportJobDownloadURLResponse, ServiceError> {
    let (_, url) = job_link(svc, &caller, &req.job_id).await?;
    Ok(DescribeExportJobDownloadURLResponse { download_url: url })
}

#[derive(Debug, Serialize)]
pub struct ExportJobInfo {
    #[serde(rename = "JobID")]
    pub job_id: String,
    #[serde(rename = "JobName")]
    pub job_name: String,
    #[serde(rename = "Source")]
    pub source: String,
    #[serde(rename = "ExportStatus")]
    pub export_status: String,
    #[serde(rename = "ExportProgress")]
    pub export_progress: i64,
    #[serde(rename = "FailureMsg")]
    pub failure_msg: String,
    #[serde(rename = "Timeout")]
    pub timeout: String,
    #[serde(rename = "InsertTime")]
    pub insert_time: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeExportJobManageListResponse {
    pub total_count: u64,
    pub list: Vec<ExportJobInfo>,
}

/// DescribeExportJobManageList's filters and its one sort key; newest first unless asked otherwise
/// (the store's order: newest first, then job id).
const JOB_LIST: ListSpec<ExportJob> = ListSpec {
    filters: &[("ExportStatus", Filter::Text(&[|j| &j.status])), ("ExportSource", Filter::Text(&[|j| &j.source]))],
    sorts: &[("", |a, b| a.created_at.cmp(&b.created_at)), ("InsertTime", |a, b| a.created_at.cmp(&b.created_at))],
    tie_break: Some(|a, b| b.job_id.cmp(&a.job_id)),
};

pub async fn job_list(svc: &Service, caller: Caller, req: ListRequest) -> Result<DescribeExportJobManageListResponse, ServiceError> {
    let order = req.order.as_deref().or(Some("DESC"));
    let query = JOB_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref().map(str::trim), order)?;
    let page = query.run(svc.store.export_jobs(caller.account, now()).await?);
    let list = page
        .rows
        .into_iter()
        .map(|j| ExportJobInfo {
            export_progress: 100,
            timeout: format_utc(j.expires_at),
            insert_time: format_utc(j.created_at),
            job_id: j.job_id,
            job_name: j.job_name,
            source: j.source,
            export_status: j.status,
            failure_msg: j.failure,
        })
        .collect();
    Ok(DescribeExportJobManageListResponse { total_count: page.total, list })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_list_order_is_the_stores_or_its_reverse() {
        // As the store lists them: newest first, then job id.
        let stored: Vec<ExportJob> = [(2, "a"), (2, "b"), (1, "c")]
            .into_iter()
            .map(|(t, id)| ExportJob { job_id: id.into(), created_at: t, ..Default::default() })
            .collect();
        let ids = |order: Option<&str>, by: Option<&str>| -> Vec<String> {
            JOB_LIST
                .query(None, None, None, by, order.or(Some("DESC")))
                .unwrap()
                .run(stored.clone())
                .rows
                .into_iter()
                .map(|j| j.job_id)
                .collect()
        };
        assert_eq!(ids(None, None), ["a", "b", "c"]);
        assert_eq!(ids(None, Some("InsertTime")), ["a", "b", "c"]);
        assert_eq!(ids(Some("ASC"), None), ["c", "b", "a"]);
        let filter = AssetFilters { name: "ExportStatus".into(), values: vec!["x".into()], exact_match: None };
        assert!(JOB_LIST.query(None, None, Some(&[AssetFilters { name: "Bogus".into(), ..filter }]), None, None).is_err());
    }

    #[test]
    fn columns_follow_export_field_with_the_examples_names() {
        let asked = Some(vec!["ImageName".to_string(), "ScanEndTime".into(), "ScanStartTime".into(), "VulCnt".into()]);
        let cols = columns::<ImageRepoInfo>(&asked, REGISTRY_LIST_DEFAULT).unwrap();
        assert_eq!(
            cols.iter().map(|c| (c.header.as_str(), c.field.as_deref())).collect::<Vec<_>>(),
            [("ImageName", Some("ImageName")), ("ScanEndTime", Some("ScanTime")), ("ScanStartTime", None), ("VulCnt", Some("VulCnt"))]
        );
        let e = columns::<ImageRepoInfo>(&Some(vec!["ImageName".into(), "Bogus".into()]), REGISTRY_LIST_DEFAULT).unwrap_err();
        assert!(matches!(&e, ServiceError::InvalidValue { field: "ExportField", reason } if reason.contains("\"Bogus\"")), "{e}");
        // Every default column of every list is a field or a known alias.
        assert_eq!(columns::<ImageRepoInfo>(&None, REGISTRY_LIST_DEFAULT).unwrap().len(), REGISTRY_LIST_DEFAULT.len());
        assert_eq!(columns::<ImageVul>(&Some(vec![]), VUL_DEFAULT).unwrap().len(), VUL_DEFAULT.len());
        assert_eq!(columns::<ImageVirus>(&None, VIRUS_DEFAULT).unwrap().len(), VIRUS_DEFAULT.len());
        assert_eq!(columns::<ImageRisk>(&None, RISK_DEFAULT).unwrap().len(), RISK_DEFAULT.len());
        assert!(columns::<ImageRisk>(&Some(vec!["VirusName".into()]), RISK_DEFAULT).is_err());
    }

    #[test]
    fn cells_of_each_json_kind() {
        let vul = ImageVul { cve_id: "CVE-1".into(), tag: vec!["a".into(), "b".into()], attack_level: 2, ..Default::default() };
        let cols =
            columns::<ImageVul>(&Some(vec!["CVEId".into(), "Tag".into(), "AttackLevel".into(), "Components".into()]), VUL_DEFAULT).unwrap();
        let rows = table(&[vul], &cols).unwrap();
        assert_eq!(rows[0][..3], [Cell::Text("CVE-1".into()), Cell::Text("a; b".into()), Cell::Number(2.0)]);
        assert_eq!(rows[0][3], Cell::Text(String::new()));
        assert_eq!(cell(&serde_json::json!(true)), Cell::Bool(true));
        assert_eq!(cell(&serde_json::json!(null)), Cell::Empty);
        assert_eq!(cell(&serde_json::json!([{"A": 1}])), Cell::Text(r#"{"A":1}"#.into()));
    }

    #[test]
    fn links_and_names() {
        let mut c = Caller { request_id: "r".into(), account: 7, secret_id: "s".into(), action: "x", region: None, origin: None };
        assert_eq!(link(&c, "tok"), "/exports/tok");
        c.origin = Some("https://h:8443".into());
        assert_eq!(link(&c, "tok"), "https://h:8443/exports/tok");
        assert_eq!(stamp(1_796_313_330), "261203155530");
    }
}
