//! `DescribeAssetProcessList`: the processes of every container, a row each.

use api::Caller;
use model::node::ProcessFacts;
use serde::Serialize;

use super::{FlatListRequest, InContainer, Nodes, in_containers, tcss_time};
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
    pub container_name: String,
    #[serde(rename = "HostID")]
    pub host_id: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub process_name: String,
    pub host_name: String,
    pub public_ip: String,
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "PodIP")]
    pub pod_ip: String,
    pub pod_name: String,
    pub node_type: String,
    #[serde(rename = "NodeUniqueID")]
    pub node_unique_id: String,
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
        .map(|InContainer { c, host_ip, item: p }| {
            let host = n.host_of(&c);
            ProcessInfo {
                start_time: tcss_time(&p.start_time),
                run_as: p.user.clone(),
                cmd_line: p.cmdline.clone(),
                exe: p.exe.clone(),
                pid: p.pid,
                container_pid: p.container_pid,
                container_name: c.facts.name.clone(),
                host_id: c.host_id.clone(),
                host_ip,
                process_name: p.name.clone(),
                host_name: host.map(|h| h.facts.hostname.clone()).unwrap_or_default(),
                public_ip: String::new(),
                node_id: String::new(),
                pod_ip: String::new(),
                pod_name: c.facts.pod_name.clone(),
                node_type: "NORMAL".into(),
                node_unique_id: String::new(),
            }
        })
        .collect();
    Ok(DescribeAssetProcessListResponse { list, total_count: page.total })
}
