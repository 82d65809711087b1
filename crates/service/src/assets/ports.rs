//! `DescribeAssetPortList`: the listening sockets of every container, a row each.

use api::Caller;
use model::node::PortFacts;
use serde::Serialize;

use super::{ContainerPlace, FlatListRequest, InContainer, Nodes, in_containers};
use crate::Service;
use crate::error::ServiceError;
use crate::list::{Filter, ListSpec};

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortInfo {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "PublicIP")]
    pub public_ip_bind: String,
    pub public_port: u64,
    pub container_port: u64,
    #[serde(rename = "ContainerPID")]
    pub container_pid: u64,
    pub process_name: String,
    pub listen_container: String,
    pub listen_host: String,
    pub run_as: String,
    #[serde(flatten)]
    pub container: ContainerPlace,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetPortListResponse {
    pub list: Vec<PortInfo>,
    pub total_count: u64,
}

/// DescribeAssetPortList's filters: the port's, `All` (any of its texts) and its container's.
const PORT_LIST: ListSpec<InContainer<PortFacts>> = ListSpec {
    filters: &[
        ("RunAs", Filter::Text(&[|r| &r.item.user])),
        ("ProcessName", Filter::Text(&[|r| &r.item.process_name])),
        (
            "All",
            Filter::TextsOf(|r| {
                let p = &r.item;
                vec![
                    p.process_name.clone(),
                    p.listen.clone(),
                    p.host_listen.clone(),
                    r.c.facts.name.clone(),
                    p.user.clone(),
                    p.port.to_string(),
                ]
            }),
        ),
        ("ContainerID", Filter::Text(&[|r| &r.c.facts.container_id])),
        ("ContainerName", Filter::Text(&[|r| &r.c.facts.name])),
        ("HostID", Filter::Text(&[|r| &r.c.host_id])),
        ("HostIP", Filter::Text(&[|r| &r.host_ip])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

pub async fn describe_port_list(
    svc: &Service,
    caller: Caller,
    req: FlatListRequest,
) -> Result<DescribeAssetPortListResponse, ServiceError> {
    let query = PORT_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let n = Nodes::load(svc, caller.account).await?;
    let page = query.run(in_containers(&n, |c| &c.facts.ports));
    let list = page
        .rows
        .into_iter()
        .map(|InContainer { c, host_ip, item: p }| {
            let container_pid = c.facts.processes.iter().find(|x| x.pid == p.pid && p.pid > 0).map_or(0, |x| x.container_pid);
            PortInfo {
                kind: p.protocol.clone(),
                public_ip_bind: p.host_listen.rsplit_once(':').map(|(ip, _)| ip.to_string()).unwrap_or_default(),
                public_port: p.host_port,
                container_port: p.port,
                container_pid,
                process_name: p.process_name.clone(),
                listen_container: p.listen.clone(),
                listen_host: p.host_listen.clone(),
                run_as: p.user.clone(),
                container: ContainerPlace::of(&n, &c, host_ip),
            }
        })
        .collect();
    Ok(DescribeAssetPortListResponse { list, total_count: page.total })
}
