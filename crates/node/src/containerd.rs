//! containerd over its gRPC socket (containerd-client): namespaces, containers with their OCI runtime
//! spec, and their tasks. The one client of the compliance facts (ASSET_CONTAINERD_CONTAINER) and of the
//! container assets ([`containers`]: every container outside Docker's own namespace as
//! [`ContainerFacts`]).
//!
//! What containerd does not know is left at its empty value: the image id (containerd names the
//! image by reference; its config digest would need the content store), memory and CPU use (the
//! metrics API answers cgroup protobufs this crate does not decode), network addresses (containerd
//! configures no network; CNI does, outside it).

use std::collections::HashMap;
use std::path::Path;

use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::namespaces_client::NamespacesClient;
use containerd_client::services::v1::tasks_client::TasksClient;
use containerd_client::services::v1::{
    GetContainerRequest, ListContainersRequest, ListNamespacesRequest, ListPidsRequest, ListTasksRequest,
};
use containerd_client::types::v1::Status;
use containerd_client::with_namespace;
use model::node::{ContainerFacts, MountFacts, NetworkFacts, ProcessFacts};
use serde_json::Value;
use tonic::Request;

pub use containerd_client::services::v1::Container;
pub use tonic::transport::Channel;

/// Docker's engine keeps its containers in this namespace: they are listed through the engine.
pub const DOCKER_NAMESPACE: &str = "moby";

/// What [`ContainerFacts::runtime`] says of a container listed here.
pub const RUNTIME: &str = "containerd";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container (or namespace) is gone.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Api(String),
}

fn grpc_err(e: tonic::Status) -> Error {
    if e.code() == tonic::Code::NotFound {
        Error::NotFound(e.message().to_string())
    } else {
        Error::Api(format!("{:?}: {}", e.code(), e.message()))
    }
}

pub async fn connect(socket: &Path) -> Result<Channel, Error> {
    containerd_client::connect(socket).await.map_err(|e| Error::Api(format!("{}: {e}", socket.display())))
}

pub async fn namespaces(ch: &Channel) -> Result<Vec<String>, Error> {
    let mut c = NamespacesClient::new(ch.clone());
    let r = c.list(ListNamespacesRequest { filter: String::new() }).await.map_err(grpc_err)?;
    Ok(r.into_inner().namespaces.into_iter().map(|n| n.name).collect())
}

/// Every container of a namespace.
pub async fn list(ch: &Channel, ns: &str) -> Result<Vec<Container>, Error> {
    let mut c = ContainersClient::new(ch.clone());
    let req = with_namespace!(ListContainersRequest { filters: vec![] }, ns);
    Ok(c.list(req).await.map_err(grpc_err)?.into_inner().containers)
}

pub async fn get(ch: &Channel, ns: &str, id: &str) -> Result<Container, Error> {
    let mut c = ContainersClient::new(ch.clone());
    let req = with_namespace!(GetContainerRequest { id: id.to_string() }, ns);
    c.get(req).await.map_err(grpc_err)?.into_inner().container.ok_or_else(|| Error::NotFound(id.to_string()))
}

/// The container's OCI runtime spec: containerd stores it as an Any whose value is its JSON.
/// `None` when the container has none.
pub fn spec(c: &Container) -> Option<Result<Value, serde_json::Error>> {
    c.spec.as_ref().map(|s| serde_json::from_slice(&s.value))
}

/// Every container of every namespace but Docker's, as container assets. `proc_root`: the host's
/// /proc, read best effort for the processes of running tasks.
pub async fn containers(ch: &Channel, proc_root: &Path) -> Result<Vec<ContainerFacts>, Error> {
    let mut out = Vec::new();
    for ns in namespaces(ch).await? {
        if ns == DOCKER_NAMESPACE {
            continue;
        }
        let mut tasks_client = TasksClient::new(ch.clone());
        let tasks = tasks_client.list(with_namespace!(ListTasksRequest { filter: String::new() }, &ns)).await.map_err(grpc_err)?;
        let tasks: HashMap<String, (Status, u32)> = tasks
            .into_inner()
            .tasks
            .into_iter()
            .map(|t| (t.container_id.clone(), (Status::try_from(t.status).unwrap_or(Status::Unknown), t.pid)))
            .collect();
        for c in list(ch, &ns).await? {
            let task = tasks.get(&c.id).copied();
            let mut facts = container_facts(&ns, &c, task);
            if facts.pid > 0 {
                let pids = tasks_client.list_pids(with_namespace!(ListPidsRequest { container_id: c.id.clone() }, &ns)).await;
                match pids {
                    Ok(r) => {
                        facts.processes = r.into_inner().processes.iter().filter_map(|p| process(proc_root, u64::from(p.pid))).collect();
                    }
                    Err(e) => tracing::debug!(container = %c.id, error = %e, "containerd pids not listed"),
                }
                facts.ports = crate::listening(proc_root, &facts);
            }
            out.push(facts);
        }
    }
    Ok(out)
}

/// Docker's state words (the TCSS status filter's): no task is `created`, a stopped task `exited`.
fn status_word(task: Option<(Status, u32)>) -> &'static str {
    match task.map(|t| t.0) {
        None | Some(Status::Created) => "created",
        Some(Status::Running) => "running",
        Some(Status::Paused | Status::Pausing) => "paused",
        Some(Status::Stopped) => "exited",
        Some(Status::Unknown) => "unknown",
    }
}

/// A container and its task (state, host PID) as a container asset.
pub fn container_facts(ns: &str, c: &Container, task: Option<(Status, u32)>) -> ContainerFacts {
    let spec = match spec(c) {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            tracing::debug!(container = %c.id, error = %e, "containerd spec unreadable");
            Value::Null
        }
        None => Value::Null,
    };
    let status = status_word(task);
    let pid = match task {
        Some((Status::Running | Status::Paused | Status::Pausing, pid)) => u64::from(pid),
        _ => 0,
    };
    let created = c
        .created_at
        .as_ref()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default();
    let user = &spec["process"]["user"];
    let run_as = match (user["username"].as_str().filter(|u| !u.is_empty()), user["uid"].as_u64()) {
        (Some(name), _) => name.to_string(),
        (None, Some(0) | None) => "root".into(),
        (None, Some(uid)) => uid.to_string(),
    };
    let cmd = spec["process"]["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(" ");
    ContainerFacts {
        container_id: c.id.clone(),
        name: c.id.clone(),
        image_name: c.image.clone(),
        status: status.into(),
        created,
        run_as,
        cmd,
        pid,
        mounts: mounts(&spec),
        network: NetworkFacts { mode: network_mode(&spec), ..Default::default() },
        pod_name: c.labels.get("io.kubernetes.pod.name").cloned().unwrap_or_default(),
        runtime: RUNTIME.into(),
        namespace: ns.into(),
        ..Default::default()
    }
}

/// The spec's mounts: type, source, destination, options (`ro` → read-only, a propagation
/// option → propagation).
fn mounts(spec: &Value) -> Vec<MountFacts> {
    spec["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let options: Vec<&str> = m["options"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let propagation = options
                .iter()
                .find(|o| matches!(**o, "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave"))
                .copied()
                .unwrap_or_default();
            MountFacts {
                kind: m["type"].as_str().unwrap_or_default().to_string(),
                source: m["source"].as_str().unwrap_or_default().to_string(),
                destination: m["destination"].as_str().unwrap_or_default().to_string(),
                mode: options.join(","),
                rw: !options.contains(&"ro"),
                propagation: propagation.to_string(),
                ..Default::default()
            }
        })
        .collect()
}

/// `host` without a network namespace in the spec; `none` with a new one (containerd sets up no
/// network in it: CNI does, outside containerd); `ns:PATH` when it joins an existing one.
fn network_mode(spec: &Value) -> String {
    let ns = spec["linux"]["namespaces"].as_array().into_iter().flatten().find(|n| n["type"] == "network");
    match ns {
        None => "host".into(),
        Some(n) => match n["path"].as_str().filter(|p| !p.is_empty()) {
            Some(p) => format!("ns:{p}"),
            None => "none".into(),
        },
    }
}

/// One task process from the host's /proc (`None` when it is gone or /proc is not the host's).
fn process(proc_root: &Path, pid: u64) -> Option<ProcessFacts> {
    let dir = proc_root.join(pid.to_string());
    let p = procfs::process::Process::new_with_root(dir.clone()).ok()?;
    let stat = p.stat().ok()?;
    let status = p.status().ok();
    let cmdline = p.cmdline().map(|a| a.join(" ")).unwrap_or_default();
    let start_time = procfs::boot_time_secs()
        .ok()
        .map(|boot| boot as i64 + (stat.starttime / procfs::ticks_per_second().max(1)) as i64)
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default();
    Some(ProcessFacts {
        pid,
        container_pid: crate::ns_pid(&dir).unwrap_or(0),
        // The numeric uid: user names are the container's /etc/passwd, not the host's.
        user: status.map(|s| s.ruid.to_string()).unwrap_or_default(),
        name: stat.comm,
        cmdline,
        exe: std::fs::read_link(dir.join("exe")).map(|p| p.display().to_string()).unwrap_or_default(),
        start_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn network_and_mounts_from_the_spec() {
        assert_eq!(network_mode(&json!({"linux": {"namespaces": [{"type": "pid"}]}})), "host");
        assert_eq!(network_mode(&json!({"linux": {"namespaces": [{"type": "network"}]}})), "none");
        assert_eq!(
            network_mode(&json!({"linux": {"namespaces": [{"type": "network", "path": "/var/run/netns/x"}]}})),
            "ns:/var/run/netns/x"
        );
        let m = mounts(&json!({"mounts": [
            {"destination": "/s", "type": "bind", "source": "/run/x.sock", "options": ["rbind", "ro", "rprivate"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}
        ]}));
        assert_eq!(
            (m[0].kind.as_str(), m[0].rw, m[0].propagation.as_str(), m[0].mode.as_str()),
            ("bind", false, "rprivate", "rbind,ro,rprivate")
        );
        assert_eq!((m[1].destination.as_str(), m[1].rw, m[1].propagation.as_str()), ("/tmp", true, ""));
    }

    #[test]
    fn task_states_in_docker_words() {
        assert_eq!(status_word(None), "created");
        assert_eq!(status_word(Some((Status::Running, 7))), "running");
        assert_eq!(status_word(Some((Status::Stopped, 0))), "exited");
    }
}
