//! Docker Engine facts: containers (all of them, not only running ones: pitfall D1), images, and the daemon
//! state the host items need. Talks to the Engine API through bollard.

use std::collections::HashMap;
use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::{InspectNetworkOptions, ListContainersOptionsBuilder, ListImagesOptionsBuilder};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::error::CollectError;

/// Connects to a Docker endpoint (`unix:///var/run/docker.sock` or a plain socket path) and negotiates
/// the API version (the daemon may be older than bollard's default).
pub async fn connect(endpoint: &str) -> Result<Docker, CollectError> {
    let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
    let docker =
        Docker::connect_with_unix(path, 30, bollard::API_DEFAULT_VERSION).map_err(|e| CollectError::DockerUnreachable(e.to_string()))?;
    docker.negotiate_version().await.map_err(|e| CollectError::DockerUnreachable(e.to_string()))
}

pub(crate) fn docker_err(e: bollard::errors::Error) -> CollectError {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code: 404, message } => CollectError::Gone(message),
        bollard::errors::Error::DockerResponseServerError { status_code, message } => {
            CollectError::Docker(format!("HTTP {status_code}: {message}"))
        }
        other => CollectError::DockerUnreachable(other.to_string()),
    }
}

/// Container ids with their names, all states.
pub async fn list_containers(docker: &Docker) -> Result<Vec<(String, String)>, CollectError> {
    let opts = ListContainersOptionsBuilder::default().all(true).build();
    let list = docker.list_containers(Some(opts)).await.map_err(docker_err)?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let id = c.id?;
            let name = c.names.and_then(|n| n.first().cloned()).unwrap_or_default();
            Some((id, name.trim_start_matches('/').to_string()))
        })
        .collect())
}

/// What container checks need from the daemon: its SecurityOptions (AppArmor/SELinux) and the daemon-wide
/// no-new-privileges default.
#[derive(Debug, Clone, Default)]
pub struct HostSummary {
    pub security_options: Vec<String>,
    pub daemon_no_new_privileges: bool,
}

/// The host's process table: pid -> (ppid, comm), read once per collection.
#[derive(Debug, Default)]
pub struct ProcTable {
    procs: HashMap<u32, (u32, String)>,
    children: HashMap<u32, Vec<u32>>,
}

impl ProcTable {
    pub fn read(proc_root: &Path) -> ProcTable {
        let mut t = ProcTable::default();
        let Ok(rd) = std::fs::read_dir(proc_root) else {
            return t;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = stat[open + 1..close].to_string();
            let ppid = stat[close + 1..].split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
            t.procs.insert(pid, (ppid, comm));
            t.children.entry(ppid).or_default().push(pid);
        }
        t
    }

    /// The process and its descendants as [{pid, comm}], or None when the pid is not in the table.
    pub fn tree(&self, pid: u32) -> Option<Vec<Value>> {
        self.procs.get(&pid)?;
        let mut out = Vec::new();
        let mut stack = vec![pid];
        while let Some(p) = stack.pop() {
            if let Some((_, comm)) = self.procs.get(&p) {
                out.push(json!({"pid": p, "comm": comm}));
            }
            if out.len() > 100_000 {
                break;
            }
            stack.extend(self.children.get(&p).into_iter().flatten().copied());
        }
        Some(out)
    }
}

/// Inspects one container and builds its Rego input.
pub async fn container_facts(
    docker: &Docker,
    id: &str,
    host: &HostSummary,
    procs: &ProcTable,
    proc_root: &Path,
) -> Result<(String, Value), CollectError> {
    let inspect = docker.inspect_container(id, None).await.map_err(docker_err)?;
    let name = inspect.name.clone().unwrap_or_default().trim_start_matches('/').to_string();
    let c = serde_json::to_value(&inspect).map_err(|e| CollectError::Docker(e.to_string()))?;
    let mut input = container_input(c, host, procs, proc_root);
    let mode = input.pointer("/container/HostConfig/NetworkMode").and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(peer) = mode.strip_prefix("container:") {
        let peer_mode = match docker.inspect_container(peer, None).await {
            Ok(p) => p.host_config.and_then(|h| h.network_mode).unwrap_or_default(),
            Err(e) => return Err(docker_err(e)),
        };
        input["network_peer_mode"] = json!(peer_mode);
    }
    Ok((name, input))
}

/// The container's Rego input from its inspect document (pure apart from reading the proc root).
pub fn container_input(c: Value, host: &HostSummary, procs: &ProcTable, proc_root: &Path) -> Value {
    let running = c.pointer("/State/Running").and_then(Value::as_bool).unwrap_or(false);
    let pid = c.pointer("/State/Pid").and_then(Value::as_u64).unwrap_or(0) as u32;
    let mut input = json!({
        "container": c,
        "running": running,
        "host": {"security_options": host.security_options, "daemon_no_new_privileges": host.daemon_no_new_privileges},
    });
    if running && pid > 0 {
        match procs.tree(pid) {
            Some(p) => input["processes"] = Value::Array(p),
            None => input["processes_error"] = json!(format!("pid {pid} not visible in {}", proc_root.display())),
        }
    }
    let user = input.pointer("/container/Config/User").and_then(Value::as_str).unwrap_or("").to_string();
    let uid_part = user.split(':').next().unwrap_or("");
    if !uid_part.is_empty() && uid_part.parse::<u32>().is_err() && uid_part != "root" && running && pid > 0 {
        // A user name: resolve it in the container's own /etc/passwd through /proc/<pid>/root.
        let passwd = proc_root.join(pid.to_string()).join("root/etc/passwd");
        if let Ok(Some(b)) = super::read_bounded(&passwd) {
            for line in String::from_utf8_lossy(&b).lines() {
                let f: Vec<&str> = line.split(':').collect();
                if f.len() >= 3
                    && f[0] == uid_part
                    && let Ok(uid) = f[2].parse::<u32>()
                {
                    input["user_uid"] = json!(uid);
                }
            }
        }
    }
    input
}

/// Image ids with a display name (first tag, else the id).
pub async fn list_images(docker: &Docker) -> Result<Vec<(String, String)>, CollectError> {
    let opts = ListImagesOptionsBuilder::default().all(false).build();
    let list = docker.list_images(Some(opts)).await.map_err(docker_err)?;
    Ok(list
        .into_iter()
        .map(|i| {
            let name = i.repo_tags.iter().find(|t| !t.contains("<none>")).cloned().unwrap_or_else(|| i.id.clone());
            (i.id, name)
        })
        .collect())
}

/// Image inspect + full history (never truncated: pitfall D15) + the setuid/setgid files of its layers.
pub async fn image_facts(docker: &Docker, id: &str, scan_files: bool, max_age_days: u64) -> Result<Value, CollectError> {
    let inspect = docker.inspect_image(id).await.map_err(docker_err)?;
    let history = docker.image_history(id).await.map_err(docker_err)?;
    let image = serde_json::to_value(&inspect).map_err(|e| CollectError::Docker(e.to_string()))?;
    let history: Vec<Value> = history.into_iter().map(|h| json!({"CreatedBy": h.created_by, "Created": h.created})).collect();
    let setuid = if scan_files { setuid_files(docker, id).await } else { Err("image file scan disabled by configuration".to_string()) };
    Ok(image_input(image, history, setuid, time::OffsetDateTime::now_utc().unix_timestamp(), max_age_days))
}

/// The image's Rego input from inspect, history and the setuid scan.
pub fn image_input(image: Value, history: Vec<Value>, setuid: Result<Vec<String>, String>, now_unix: i64, max_age_days: u64) -> Value {
    let created = image
        .get("Created")
        .and_then(Value::as_str)
        .and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
        .map(|t| t.unix_timestamp());
    let mut input = json!({"image": image, "history": history, "now_unix": now_unix, "max_age_days": max_age_days});
    if let Some(c) = created {
        input["created_unix"] = json!(c);
    }
    match setuid {
        Ok(files) => input["setuid_files"] = json!(files),
        Err(e) => input["setuid_error"] = json!(e),
    }
    input
}

/// Streams `docker save` of the image and lists regular files with setuid/setgid bits in its layer tars.
/// Memory stays bounded: both the outer archive and each layer are read as streams. A file whose bits are
/// removed by a later layer is still reported (whiteouts are not applied).
async fn setuid_files(docker: &Docker, id: &str) -> Result<Vec<String>, String> {
    let stream = docker.export_image(id).map_err(std::io::Error::other);
    let reader = tokio_util::io::StreamReader::new(stream.boxed());
    let bridge = tokio_util::io::SyncIoBridge::new(reader);
    tokio::task::spawn_blocking(move || scan_saved_image(bridge)).await.map_err(|e| e.to_string())?
}

pub fn scan_saved_image(r: impl std::io::Read) -> Result<Vec<String>, String> {
    let mut outer = tar::Archive::new(r);
    let mut found = std::collections::BTreeSet::new();
    for entry in outer.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.to_string_lossy().to_string();
        let is_layer = path.ends_with("layer.tar") || path.starts_with("blobs/sha256/");
        if !is_layer || entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        // A blob that is not a tar (config, manifest) simply yields an error here and is skipped.
        let mut inner = tar::Archive::new(entry);
        let Ok(entries) = inner.entries() else {
            continue;
        };
        for f in entries {
            let Ok(f) = f else { break };
            let h = f.header();
            let mode = h.mode().unwrap_or(0);
            if h.entry_type() == tar::EntryType::Regular
                && mode & 0o6000 != 0
                && let Ok(p) = f.path()
            {
                found.insert(format!("/{} {:04o}", p.to_string_lossy().trim_start_matches("./"), mode & 0o7777));
            }
        }
    }
    Ok(found.into_iter().collect())
}

/// The daemon state read over the API for the host asset.
#[derive(Debug, Clone)]
pub struct DaemonState {
    pub info: Result<Value, String>,
    pub version: Option<Value>,
    /// The default bridge network: Ok(None) when absent.
    pub bridge: Result<Option<Value>, String>,
}

pub async fn daemon_state(docker: Result<&Docker, &CollectError>) -> DaemonState {
    let docker = match docker {
        Ok(d) => d,
        Err(e) => {
            return DaemonState { info: Err(e.to_string()), version: None, bridge: Err(e.to_string()) };
        }
    };
    let info = match docker.info().await {
        Ok(i) => serde_json::to_value(&i).map_err(|e| e.to_string()),
        Err(e) => Err(docker_err(e).to_string()),
    };
    let version = docker.version().await.ok().and_then(|v| serde_json::to_value(&v).ok());
    let bridge = match docker.inspect_network("bridge", None::<InspectNetworkOptions>).await {
        Ok(n) => serde_json::to_value(&n).map(Some).map_err(|e| e.to_string()),
        Err(e) => match docker_err(e) {
            CollectError::Gone(_) => Ok(None),
            other => Err(other.to_string()),
        },
    };
    DaemonState { info, version, bridge }
}

/// Runs `f` over items with bounded concurrency, keeping input order.
pub async fn bounded<T, O, F, Fut>(items: Vec<T>, limit: usize, f: F) -> Vec<O>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = O>,
{
    futures::stream::iter(items.into_iter().map(f)).buffered(limit).collect().await
}
