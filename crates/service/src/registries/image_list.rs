//! The registry image rows (each tag with its image id's scan state): the list, the summary, one image's detail.

use super::*;

/// One registry image with its image id's scan state.
pub(super) struct Row {
    pub(super) img: RegistryImage,
    pub(super) summary: Summary,
    pub(super) scanned_at: Option<i64>,
    pub(super) status: &'static str,
    pub(super) latest: bool,
    pub(super) containers: u64,
    pub(super) running: u64,
}

impl Row {
    fn count(k: &Option<KindSummary>) -> u64 {
        k.as_ref().map_or(0, |k| k.count)
    }
    pub(super) fn vul(&self) -> u64 {
        Row::count(&self.summary.vul)
    }
    pub(super) fn virus(&self) -> u64 {
        Row::count(&self.summary.virus)
    }
    pub(super) fn risk(&self) -> u64 {
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

pub(super) async fn rows(svc: &Service, account: AccountId) -> Result<Vec<Row>, ServiceError> {
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

pub(super) fn filtered(rows: Vec<Row>, filters: &[AssetFilters]) -> Result<Vec<Row>, ServiceError> {
    REGISTRY_IMAGE_LIST.filter(rows, filters)
}

pub(super) fn os_name(r: &Row) -> String {
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
