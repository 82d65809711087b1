//! `DescribeAssetProcessList`: the processes of every container, a row each.

use api::Caller;
use model::node::ProcessFacts;
use serde::Serialize;

use super::{ContainerPlace, FlatListRequest, InContainer, Nodes, in_containers, tcss_time};
use crate::Service;
use crate::error::ServiceError;
use crate::list::{Filter, ListSpec};

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessInfo {
    pub start_time: String,
    pub run_as: String,
    pub cmd_line: String,
    pub exe: String,
    #[serde(rename = "PID")]
    pub pid: u64,
    #[serde(rename = "ContainerPID")]
    pub container_pid: u64,
    pub process_name: String,
    #[serde(flatten)]
    pub container: ContainerPlace,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetProcessListResponse {
    pub list: Vec<ProcessInfo>,
    pub total_count: u64,
}

/// DescribeAssetProcessList's filters: the process's and its container's.
const PROCESS_LIST: ListSpec<InContainer<ProcessFacts>> = ListSpec {
    filters: &[
        ("RunAs", Filter::Text(&[|r| &r.item.user])),
        ("ProcessName", Filter::Text(&[|r| &r.item.name])),
        ("Pid", Filter::Equals(|r| r.item.pid.to_string())),
        ("PID", Filter::Equals(|r| r.item.pid.to_string())),
        ("ContainerID", Filter::Text(&[|r| &r.c.facts.container_id])),
        ("ContainerName", Filter::Text(&[|r| &r.c.facts.name])),
        ("HostID", Filter::Text(&[|r| &r.c.host_id])),
        ("HostIP", Filter::Text(&[|r| &r.host_ip])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

pub async fn describe_process_list(
    svc: &Service,
    caller: Caller,
    req: FlatListRequest,
) -> Result<DescribeAssetProcessListResponse, ServiceError> {
    let query = PROCESS_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let n = Nodes::load(svc, caller.account).await?;
    let page = query.run(in_containers(&n, |c| &c.facts.processes));
    let list = page
        .rows
        .into_iter()
        .map(|InContainer { c, host_ip, item: p }| ProcessInfo {
            start_time: tcss_time(&p.start_time),
            run_as: p.user.clone(),
            cmd_line: p.cmdline.clone(),
            exe: p.exe.clone(),
            pid: p.pid,
            container_pid: p.container_pid,
            process_name: p.name.clone(),
            container: ContainerPlace::of(&n, &c, host_ip),
        })
        .collect();
    Ok(DescribeAssetProcessListResponse { list, total_count: page.total })
}
