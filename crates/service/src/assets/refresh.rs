//! `CreateRefreshTask`, `DescribeRefreshTask`, `DescribeAssetSyncLastTime`.

use api::Caller;
use serde::{Deserialize, Serialize};
use store::scan_tasks::format_utc;

use super::summary::Empty;
use crate::Service;
use crate::error::ServiceError;
use crate::list::invalid;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateRefreshTaskRequest {
    #[serde(rename = "ClusterIDs")]
    pub cluster_ids: Option<Vec<String>>,
    pub is_sync_list_only: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRefreshTaskResponse {
    pub task_id: u64,
    pub create_result: String,
    #[serde(rename = "NewTaskID")]
    pub new_task_id: String,
}

pub async fn create_refresh_task(
    svc: &Service,
    caller: Caller,
    req: CreateRefreshTaskRequest,
) -> Result<CreateRefreshTaskResponse, ServiceError> {
    if let Some(id) = req.cluster_ids.iter().flatten().next() {
        return Err(invalid("ClusterIDs", format!("no cluster {id:?}: Shipshape refreshes its nodes, it knows no clusters")));
    }
    // IsSyncListOnly: a collection is always the whole list; nothing less to do.
    let _ = req.is_sync_list_only;
    let id = svc.store.create_refresh_task(caller.account).await?;
    Ok(CreateRefreshTaskResponse { task_id: u64::try_from(id).unwrap_or(0), create_result: "Succ".into(), new_task_id: id.to_string() })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeRefreshTaskRequest {
    pub task_id: u64,
    #[serde(rename = "NewTaskID")]
    pub new_task_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRefreshTaskResponse {
    pub task_status: String,
}

pub async fn describe_refresh_task(
    svc: &Service,
    caller: Caller,
    req: DescribeRefreshTaskRequest,
) -> Result<DescribeRefreshTaskResponse, ServiceError> {
    let id = match req.new_task_id.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => s.trim().parse::<i64>().map_err(|_| invalid("NewTaskID", format!("{s:?} is not a task id")))?,
        None => i64::try_from(req.task_id).unwrap_or(i64::MAX),
    };
    let t = svc.store.refresh_task(caller.account, id).await?;
    Ok(DescribeRefreshTaskResponse { task_status: t.map_or_else(|| "Task_NoExist".to_string(), |t| t.status) })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetSyncLastTimeResponse {
    pub asset_sync_last_time: String,
    pub task_status: String,
    pub task_process: i64,
    pub failed_host_count: u64,
    pub task_id: u64,
}

pub async fn describe_sync_last_time(
    svc: &Service,
    caller: Caller,
    _req: Empty,
) -> Result<DescribeAssetSyncLastTimeResponse, ServiceError> {
    let hosts = svc.store.node_hosts(caller.account).await?;
    let last = svc.store.latest_refresh_task(caller.account).await?;
    let (status, process, failed, id) = match &last {
        // No refresh asked yet: the periodic collection is what there is.
        None => ("Task_Finish".to_string(), 100, 0, 0),
        Some(t) => {
            let process = match t.status.as_str() {
                "Task_New" => 0,
                "Task_Running" => 50,
                _ => 100,
            };
            (t.status.clone(), process, u64::from(t.status == "Task_Error"), u64::try_from(t.task_id).unwrap_or(0))
        }
    };
    Ok(DescribeAssetSyncLastTimeResponse {
        asset_sync_last_time: hosts.iter().map(|h| h.seen_at).max().map(format_utc).unwrap_or_default(),
        task_status: status,
        task_process: process,
        failed_host_count: failed,
        task_id: id,
    })
}
