//! `DescribeAssetComponentList`: the packages of a container's image.

use api::Caller;
use serde::{Deserialize, Serialize};

use super::Nodes;
use super::containers::image_components;
use crate::Service;
use crate::error::ServiceError;
use crate::list::{AssetFilters, Filter, ListSpec};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeAssetComponentListRequest {
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    pub filters: Option<Vec<AssetFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComponentInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetComponentListResponse {
    pub list: Vec<ComponentInfo>,
    pub total_count: u64,
}

const COMPONENT_LIST: ListSpec<ComponentInfo> = ListSpec {
    filters: &[
        ("Name", Filter::Text(&[|r| &r.name])),
        ("ComponentName", Filter::Text(&[|r| &r.name])),
        ("Version", Filter::Text(&[|r| &r.version])),
        ("ComponentVersion", Filter::Text(&[|r| &r.version])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

pub async fn describe_component_list(
    svc: &Service,
    caller: Caller,
    req: DescribeAssetComponentListRequest,
) -> Result<DescribeAssetComponentListResponse, ServiceError> {
    let query = COMPONENT_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let n = Nodes::load(svc, caller.account).await?;
    let c = n.container(&req.container_id)?;
    let mut rows: Vec<ComponentInfo> = image_components(svc, caller.account, &c.facts.image_id)
        .await?
        .into_iter()
        .map(|p| ComponentInfo { name: p.name, version: p.version })
        .collect();
    rows.dedup_by(|a, b| a.name == b.name && a.version == b.version);
    let page = query.run(rows);
    Ok(DescribeAssetComponentListResponse { list: page.rows, total_count: page.total })
}
