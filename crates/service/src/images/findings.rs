//! The results of one image: `DescribeAssetImageVulList`, `DescribeAssetImageVirusList`,
//! `DescribeAssetImageRiskList` (finding rows read back as the types the scan wrote).

use super::*;
use crate::list::{Filter, ListQuery, ListSpec, Page};

pub(super) async fn image_of(svc: &Service, account: model::AccountId, image_id: &str) -> Result<ImageAsset, ServiceError> {
    svc.store.image_asset(account, image_id).await?.ok_or_else(|| ServiceError::NotFound { what: "Image", id: image_id.to_string() })
}

pub(super) async fn findings<T: for<'de> Deserialize<'de>>(
    svc: &Service,
    account: model::AccountId,
    image_id: &str,
    kind: FindingKind,
) -> Result<Vec<T>, ServiceError> {
    svc.store.image_findings(account, image_id, kind).await?.iter().map(|j| serde_json::from_str(j).map_err(corrupt)).collect()
}

pub(super) fn layer_desc(loc: &Location, deleted: Option<u32>) -> String {
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

#[derive(Debug, Default, Serialize)]
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

pub(crate) fn images_vul(v: &StoredVuln) -> ImagesVul {
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
        tag: vul_tags(v),
        attack_level: match v.cvss_vector.as_deref().and_then(vuln::attack_vector) {
            Some('N') => 3,
            Some('A') => 2,
            Some('L' | 'P') => 1,
            _ => 0,
        },
    }
}

/// A vulnerability's `Tag`s: `CanBeFixed` when a fixed version is known.
pub(crate) fn vul_tags(v: &StoredVuln) -> Vec<String> {
    if v.fixed_versions.is_empty() { Vec::new() } else { vec!["CanBeFixed".into()] }
}

/// DescribeAssetImageVulList's filters and sort keys (the registry list takes them and more).
pub(crate) const VUL_LIST: ListSpec<StoredVuln> = ListSpec {
    filters: &[
        ("Name", Filter::Text(&[|v| &v.title, |v| &v.display_id])),
        ("CVEID", Filter::Text(&[|v| &v.display_id])),
        ("Component", Filter::Text(&[|v| &v.package.name])),
        ("Level", Filter::Level("Filters.Level", |v| v.severity)),
    ],
    sorts: &[
        ("", |_, _| Ordering::Equal),
        ("Level", |a, b| a.severity.tcss_level_number().cmp(&b.severity.tcss_level_number())),
        ("CVSSV3Score", |a, b| a.cvss_score.unwrap_or(0.0).total_cmp(&b.cvss_score.unwrap_or(0.0))),
        ("CVEID", |a, b| a.display_id.cmp(&b.display_id)),
        ("Component", |a, b| a.package.name.cmp(&b.package.name)),
    ],
    tie_break: None,
};

pub async fn describe_vul_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
) -> Result<DescribeAssetImageVulListResponse, ServiceError> {
    vul_list(svc, caller, req, true).await
}

/// One page of the vulnerability list (`paged`), or every row (exports).
pub(crate) async fn vul_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
    paged: bool,
) -> Result<DescribeAssetImageVulListResponse, ServiceError> {
    let query = VUL_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    let query = if paged { query } else { query.with_paging(None) };
    let page = selected(svc, caller.account, &req.image_id, FindingKind::Vul, query).await?;
    Ok(DescribeAssetImageVulListResponse { list: page.rows.iter().map(images_vul).collect(), total_count: page.total })
}

/// The findings of `kind` of one image that the query selects: the rows of this family's lists
/// and of the registry's.
pub(crate) async fn selected<T: for<'de> Deserialize<'de>>(
    svc: &Service,
    account: model::AccountId,
    image_id: &str,
    kind: FindingKind,
    query: ListQuery<T>,
) -> Result<Page<T>, ServiceError> {
    image_of(svc, account, image_id).await?;
    Ok(query.run(findings(svc, account, image_id, kind).await?))
}

#[derive(Debug, Default, Serialize)]
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

pub(super) fn virus_path(v: &StoredVirus) -> String {
    match &v.archive_member {
        Some(m) if !m.is_empty() => format!("{}!/{m}", v.location.path),
        _ => v.location.path.clone(),
    }
}

/// 0 not scanned, 1 scanning, 2 finished, 3 error (TCSS `VirusScanStatus`, `Status`).
pub(super) fn scan_state(row_status: &str, kind: &Option<KindSummary>) -> u64 {
    match (row_status, kind) {
        ("SCANNING", _) => 1,
        (_, Some(k)) if !k.error.is_empty() => 3,
        (_, Some(_)) => 2,
        _ => 0,
    }
}

/// DescribeAssetImageVirusList's filters and sort keys (the registry list takes them and more).
pub(crate) const VIRUS_LIST: ListSpec<StoredVirus> = ListSpec {
    filters: &[
        ("Name", Filter::Text(&[|v| &v.signature])),
        ("VirusName", Filter::Text(&[|v| &v.signature])),
        ("Path", Filter::TextOf(virus_path)),
        ("RiskLevel", Filter::Level("Filters.RiskLevel", |v| v.severity)),
    ],
    sorts: &[
        // One scan time per image: the stored order.
        ("", |_, _| Ordering::Equal),
        ("LatestScanTime", |_, _| Ordering::Equal),
        ("FirstScanTime", |_, _| Ordering::Equal),
        ("RiskLevel", |a, b| a.severity.tcss_level_number().cmp(&b.severity.tcss_level_number())),
        ("Size", |a, b| a.size.cmp(&b.size)),
        ("Path", |a, b| virus_path(a).cmp(&virus_path(b))),
    ],
    tie_break: None,
};

pub async fn describe_virus_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
) -> Result<DescribeAssetImageVirusListResponse, ServiceError> {
    virus_list(svc, caller, req, true).await
}

/// One page of the trojan list (`paged`), or every row (exports).
pub(crate) async fn virus_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
    paged: bool,
) -> Result<DescribeAssetImageVirusListResponse, ServiceError> {
    let query = VIRUS_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    let query = if paged { query } else { query.with_paging(None) };
    let page = selected(svc, caller.account, &req.image_id, FindingKind::Virus, query).await?;
    let (virus_scan_status, when) = virus_scan(svc, caller.account, &req.image_id).await?;
    let list = page.rows.iter().map(|v| virus_info(v, &when)).collect();
    Ok(DescribeAssetImageVirusListResponse { list, total_count: page.total, virus_scan_status })
}

/// The image's `VirusScanStatus` and when its trojan scan ran (empty: never).
pub(crate) async fn virus_scan(svc: &Service, account: model::AccountId, image_id: &str) -> Result<(u64, String), ServiceError> {
    let row = image_rows(svc, account).await?.into_iter().find(|r| r.asset.facts.image_id == image_id);
    let (status, summary) = row.map(|r| (r.status, r.summary)).unwrap_or(("NOT_SCAN", Summary::default()));
    let when = summary.virus.as_ref().map(|k| format_utc(k.scanned_at)).unwrap_or_default();
    Ok((scan_state(status, &summary.virus), when))
}

/// A trojan as the list shows it; `when` is the scan's time.
pub(crate) fn virus_info(v: &StoredVirus, when: &str) -> ImageVirusInfo {
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
        first_scan_time: when.to_string(),
        latest_scan_time: when.to_string(),
        md5: v.md5.clone(),
        check_platform: Vec::new(),
    }
}

#[derive(Debug, Default, Serialize)]
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

pub(super) fn risk_type(r: &StoredRisk) -> u64 {
    if r.category == "sensitive-file" { 2 } else { 1 }
}

pub(super) fn risk_behavior(r: &StoredRisk) -> u64 {
    if r.deleted_in_layer.is_some() { 2 } else { 1 }
}

/// A finding's `Desc`: the rule, path, line and layer.
pub(crate) fn risk_desc(r: &StoredRisk) -> String {
    format!(
        "{} [{}] in {}{}, {}",
        r.title,
        r.rule_id,
        r.location.path,
        if r.line > 0 { format!(" line {}", r.line) } else { String::new() },
        layer_desc(&r.location, r.deleted_in_layer)
    )
}

/// DescribeAssetImageRiskList's filters and sort keys (the registry list takes them and more).
pub(crate) const RISK_LIST: ListSpec<StoredRisk> = ListSpec {
    filters: &[
        ("Level", Filter::Level("Filters.Level", |r| r.severity)),
        ("Behavior", Filter::Number("Filters.Behavior", risk_behavior)),
        ("Type", Filter::Number("Filters.Type", risk_type)),
    ],
    sorts: &[
        ("", |_, _| Ordering::Equal),
        ("Level", |a, b| a.severity.tcss_level_number().cmp(&b.severity.tcss_level_number())),
        ("Type", |a, b| risk_type(a).cmp(&risk_type(b))),
        ("Behavior", |a, b| risk_behavior(a).cmp(&risk_behavior(b))),
    ],
    tie_break: None,
};

pub async fn describe_risk_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
) -> Result<DescribeAssetImageRiskListResponse, ServiceError> {
    risk_list(svc, caller, req, true).await
}

/// One page of the sensitive-information list (`paged`), or every row (exports).
pub(crate) async fn risk_list(
    svc: &Service,
    caller: Caller,
    req: ImageListRequest,
    paged: bool,
) -> Result<DescribeAssetImageRiskListResponse, ServiceError> {
    let query = RISK_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    let query = if paged { query } else { query.with_paging(None) };
    let page = selected(svc, caller.account, &req.image_id, FindingKind::Risk, query).await?;
    Ok(DescribeAssetImageRiskListResponse { list: page.rows.iter().map(risk_info).collect(), total_count: page.total })
}

/// A finding as the list shows it.
pub(crate) fn risk_info(r: &StoredRisk) -> ImageRiskInfo {
    ImageRiskInfo {
        behavior: risk_behavior(r),
        kind: risk_type(r),
        level: r.severity.tcss_level_number(),
        desc: risk_desc(r),
        instruction_content: if r.masked.is_empty() {
            "Remove the file from the image; deleting it in a later layer does not remove it from the image.".into()
        } else {
            format!("Remove it from the image and rotate the credential (value {}).", r.masked)
        },
    }
}
