//! `DescribeAssetImageDetail`.

use super::*;

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
        .find(|r| r.asset.facts.image_id == req.image_id)
        .ok_or_else(|| ServiceError::NotFound { what: "Image", id: req.image_id.clone() })?;
    let s = &row.summary;
    let progress = |k: &Option<KindSummary>| if k.is_some() { 100 } else { 0 };
    let digest = row.asset.facts.repo_digests.first().and_then(|d| d.split('@').nth(1)).unwrap_or_default().to_string();
    Ok(DescribeAssetImageDetailResponse {
        image_id: row.asset.facts.image_id.clone(),
        image_name: row.name(),
        image_digest: digest,
        create_time: row.asset.facts.created.clone(),
        size: row.asset.facts.size,
        host_cnt: row.asset.host_cnt(),
        container_cnt: row.asset.facts.container_cnt,
        super_node_cnt: 0,
        scan_time: row.scanned_at.map(format_utc).unwrap_or_default(),
        vul_cnt: row.vul_cnt(),
        risk_cnt: row.risk_cnt(),
        sensitive_info_cnt: row.risk_cnt(),
        is_trust_image: false,
        os_name: s.os_name.clone(),
        agent_error: String::new(),
        scan_error: scan_error(s),
        architecture: row.asset.facts.architecture.clone(),
        author: row.asset.facts.author.clone(),
        build_history: row.asset.facts.history.clone(),
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
        repo_digests: row.asset.facts.repo_digests.clone(),
    })
}
