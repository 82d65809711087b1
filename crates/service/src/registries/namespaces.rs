//! `DescribeImageRegistryNamespaceList`: a registry's namespaces from its stored tags.

use super::*;

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
