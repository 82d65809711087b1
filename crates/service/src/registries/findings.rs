//! The findings of one registry image: the local lists (`images/findings.rs`) in the registry shapes.

use super::*;

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
pub(super) fn findings_query<T>(spec: &ListSpec<T>, req: &RegistryFindingsRequest) -> Result<ListQuery<T>, ServiceError> {
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

/// A finding in the registry shape. `Components[].Path` is the file the package was read from and
/// `LayerInfos` the layer that put it there (its diff-id); `LayerCmd` stays empty, as the stored
/// build history does not say which steps made layers. `POCID` is empty: no advisory feed carries one.
fn vul_of(v: images::ImagesVul, location: &model::Location) -> ImageVul {
    ImageVul {
        components: vec![ComponentsInfo {
            component: v.component.clone(),
            version: v.version.clone(),
            fixed_version: v.fixed_versions.clone(),
            path: location.path.clone(),
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
        layer_infos: vec![ImageVulLayerInfo { layer_id: location.layer_digest.clone(), layer_cmd: String::new() }],
    }
}

/// The image list's filters (`Level` 1 low … 4 critical or the words, `Name`, `CVEID`,
/// `Component`) and `Tag` (`CanBeFixed`, case-insensitive); any may be `all`.
pub(super) const REGISTRY_VUL_LIST: ListSpec<images::StoredVuln> = ListSpec {
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
    Ok(ListOf { list: page.rows.iter().map(|v| vul_of(images::images_vul(v), &v.location)).collect(), total_count: page.total })
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
pub(super) const REGISTRY_VIRUS_LIST: ListSpec<images::StoredVirus> = ListSpec {
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
pub(super) const REGISTRY_RISK_LIST: ListSpec<images::StoredRisk> = ListSpec {
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
