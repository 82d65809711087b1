//! `DescribeAssetImageList`: the local images with their latest scan summary, the image
//! filters (also used to select images to scan or stop) and the list's sort keys.

use super::*;
use crate::list::{Filter, ListSpec};

/// One image with what the list and the filters need.
pub(crate) struct ImageRow {
    pub(crate) asset: ImageAsset,
    pub(super) summary: Summary,
    pub(crate) scanned_at: Option<i64>,
    /// `NOT_SCAN`, `SCANNING`, `SCANNED`, `SCAN_ERR`.
    pub(super) status: &'static str,
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
    pub(super) fn level_cnt(&self, f: impl Fn(&KindSummary) -> u64) -> u64 {
        self.summary.vul.as_ref().map_or(0, f)
    }
    /// Fixing is recommended: a critical or high vulnerability, or a trojan (`IsSuggest`).
    pub(crate) fn is_suggested(&self) -> bool {
        self.level_cnt(|k| k.critical + k.high) > 0 || self.virus_cnt() > 0
    }
    pub(super) fn name(&self) -> String {
        self.asset.facts.names.first().cloned().unwrap_or_else(|| "<none>:<none>".into())
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
            let r = results.get(&asset.facts.image_id);
            let summary = parse_summary(r);
            let status = scan_status(active.get(&asset.facts.image_id).is_some_and(|s| s == "running"), r, &summary);
            ImageRow { asset, summary, scanned_at: r.map(|r| r.scanned_at), status }
        })
        .collect())
}

/// DescribeAssetImageList's filters and sort keys (the filters also select images to scan or stop).
pub(super) const IMAGE_LIST: ListSpec<ImageRow> = ListSpec {
    filters: &[
        ("ImageName", Filter::TextsOf(|r| r.asset.facts.names.clone())),
        ("ImageID", Filter::Text(&[|r| &r.asset.facts.image_id])),
        (
            "ScanStatus",
            Filter::OneOf {
                field: "Filters.ScanStatus",
                key: |v| v.to_ascii_lowercase().replace('_', ""),
                tests: &[
                    ("notScan", |r| r.status == "NOT_SCAN"),
                    ("scanning", |r| r.status == "SCANNING"),
                    ("scanned", |r| r.status == "SCANNED"),
                    ("scanErr", |r| r.status == "SCAN_ERR"),
                ],
            },
        ),
        (
            "SecurityRisk",
            Filter::OneOf {
                field: "Filters.SecurityRisk",
                key: str::to_string,
                tests: &[
                    ("VirusCnt", |r| r.virus_cnt() > 0),
                    ("RiskCnt", |r| r.risk_cnt() > 0),
                    ("IsTrustImage", |_| false),
                    ("CriticalLevelVul", |r| r.level_cnt(|k| k.critical) > 0),
                    ("HighLevelVul", |r| r.level_cnt(|k| k.high) > 0),
                    ("MediumLevelVul", |r| r.level_cnt(|k| k.medium) > 0),
                    ("LowLevelVul", |r| r.level_cnt(|k| k.low) > 0),
                ],
            },
        ),
    ],
    sorts: &[
        ("", |a, b| a.asset.facts.image_id.cmp(&b.asset.facts.image_id)),
        ("ImageID", |a, b| a.asset.facts.image_id.cmp(&b.asset.facts.image_id)),
        ("ImageName", |a, b| a.name().cmp(&b.name())),
        ("HostCnt", |a, b| a.asset.host_cnt().cmp(&b.asset.host_cnt())),
        ("ContainerCnt", |a, b| a.asset.facts.container_cnt.cmp(&b.asset.facts.container_cnt)),
        ("CreateTime", |a, b| a.asset.facts.created.cmp(&b.asset.facts.created)),
        ("Size", |a, b| a.asset.facts.size.cmp(&b.asset.facts.size)),
        ("ScanTime", |a, b| a.scanned_at.cmp(&b.scanned_at)),
        ("ComponentCnt", |a, b| a.summary.component_cnt.cmp(&b.summary.component_cnt)),
        ("VulCnt", |a, b| a.vul_cnt().cmp(&b.vul_cnt())),
        ("VirusCnt", |a, b| a.virus_cnt().cmp(&b.virus_cnt())),
        ("RiskCnt", |a, b| a.risk_cnt().cmp(&b.risk_cnt())),
        ("SensitiveCount", |a, b| a.risk_cnt().cmp(&b.risk_cnt())),
    ],
    // Ties keep image id order, so pages never overlap.
    tie_break: Some(|a, b| a.asset.facts.image_id.cmp(&b.asset.facts.image_id)),
};

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

pub(super) fn kind_error(k: &Option<KindSummary>) -> String {
    k.as_ref().map(|k| k.error.clone()).unwrap_or_default()
}

pub(super) fn images_info(r: &ImageRow) -> ImagesInfo {
    let s = &r.summary;
    ImagesInfo {
        image_id: r.asset.facts.image_id.clone(),
        image_name: r.name(),
        create_time: r.asset.facts.created.clone(),
        size: r.asset.facts.size,
        host_cnt: r.asset.host_cnt(),
        super_node_cnt: 0,
        container_cnt: r.asset.facts.container_cnt,
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
    let query = IMAGE_LIST.query(req.limit, req.offset, req.filters.as_deref(), req.by.as_deref(), req.order.as_deref())?;
    let page = query.run(image_rows(svc, caller.account).await?);
    Ok(DescribeAssetImageListResponse { list: page.rows.iter().map(images_info).collect(), total_count: page.total })
}
