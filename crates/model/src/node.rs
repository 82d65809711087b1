//! What a node reports about itself: the host, its containers, their processes and listening
//! ports. Collected by the `node` crate (Docker Engine and the host's /proc), stored as JSON per
//! host and container, read by the TCSS asset actions.

use serde::{Deserialize, Serialize};

/// One host running a container engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// The engine's stable ID (`docker info` ID).
    pub host_id: String,
    pub hostname: String,
    /// The address other machines reach it at (source address of its default route), empty when
    /// it has no route.
    pub ip: String,
    pub os_name: String,
    pub kernel_version: String,
    pub docker_version: String,
    pub docker_api_version: String,
    pub docker_go_version: String,
    pub storage_driver: String,
    pub docker_root_dir: String,
    pub cpus: u64,
    pub memory_bytes: u64,
    pub image_cnt: u64,
    pub container_cnt: u64,
    /// Unix seconds of the collection.
    pub collected_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerFacts {
    pub container_id: String,
    pub name: String,
    /// The image as the container names it (`repo:tag` or an id).
    pub image_name: String,
    /// Config digest `sha256:…`.
    pub image_id: String,
    /// created, running, paused, restarting, removing, exited, dead.
    pub status: String,
    /// RFC 3339.
    pub created: String,
    /// The user the main process runs as (`root` when the image and run set none).
    pub run_as: String,
    pub cmd: String,
    /// Host PID of the main process (0 when not running).
    pub pid: u64,
    pub mounts: Vec<MountFacts>,
    pub network: NetworkFacts,
    /// Resident memory in KiB (the engine's stats), 0 when not running.
    pub memory_kib: u64,
    /// Cumulative CPU time of the container and of the host (nanoseconds / clock ticks as the
    /// engine reports them), for a usage rate between two collections.
    pub cpu_total: u64,
    pub system_cpu_total: u64,
    /// CPU use since the previous collection, in thousandths of one CPU (TCSS CPUUsage), `None`
    /// on the first collection.
    pub cpu_usage_milli: Option<u64>,
    /// Pod name from the Kubernetes labels the kubelet sets, empty otherwise.
    pub pod_name: String,
    pub processes: Vec<ProcessFacts>,
    pub ports: Vec<PortFacts>,
    /// The engine that runs it: `docker`, `containerd` (empty in snapshots stored before it was
    /// recorded: Docker's).
    #[serde(default)]
    pub runtime: String,
    /// The containerd namespace it lives in, empty for Docker's containers.
    #[serde(default)]
    pub namespace: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountFacts {
    /// bind, volume, tmpfs.
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub mode: String,
    pub rw: bool,
    pub propagation: String,
    pub name: String,
    pub driver: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkFacts {
    /// The network mode (`bridge`, `host`, `none`, `container:ID`, a network name).
    pub mode: String,
    pub name: String,
    pub network_id: String,
    pub endpoint_id: String,
    pub gateway: String,
    pub ipv4: String,
    pub ipv6: String,
    pub mac: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessFacts {
    /// PID on the host.
    pub pid: u64,
    /// PID inside the container's PID namespace (0 when the host's /proc is not readable).
    pub container_pid: u64,
    pub user: String,
    pub name: String,
    pub cmdline: String,
    /// Executable path, empty when the host's /proc does not let us read it.
    pub exe: String,
    /// RFC 3339 start time.
    pub start_time: String,
}

/// A socket listening inside a container (read from its network namespace), with the host port
/// the engine publishes it on, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortFacts {
    /// tcp, udp (tcp6/udp6 fold into these; the address tells).
    pub protocol: String,
    /// `ADDR:PORT` inside the container.
    pub listen: String,
    pub port: u64,
    /// Host PID of the listening process (0 when unknown).
    pub pid: u64,
    pub process_name: String,
    pub user: String,
    /// Published on the host: `HOSTIP:HOSTPORT`, empty when not published.
    pub host_listen: String,
    pub host_port: u64,
}

/// An image as a source lists it (one per image id, every repo tag kept): a node's engine (the
/// server's or an agent's), a registry, Harbor. The one definition of an image's facts: the
/// inventory (`store::scan_tasks::ImageAsset`) keeps these with the sources they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    /// Config digest `sha256:…` (what Docker calls the image id).
    pub image_id: String,
    /// Repo tags (`repo:tag`); empty for an untagged image. A node's engine lists them sorted;
    /// the inventory merges several sources' (the Docker Engine's first).
    pub names: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Bytes: an engine's (uncompressed), else a registry's compressed blob sum.
    pub size: u64,
    /// RFC 3339, empty when unknown.
    pub created: String,
    pub os: String,
    pub architecture: String,
    pub author: String,
    /// Build history, one `# <created>` line then the command per step, oldest first.
    pub history: String,
    /// Layer diff-ids, bottom first.
    pub layers: Vec<String>,
    /// Containers of the image (a node's engine reports them; a registry has none).
    pub container_cnt: u64,
    pub running_cnt: u64,
}

/// One compliance asset a node agent checked, with the outcome of every item of its type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplianceAssetReport {
    /// `ASSET_CONTAINER`, `ASSET_IMAGE`, `ASSET_HOST`... (TCSS AssetType).
    pub asset_type: String,
    /// The asset's natural key on its node (container id, image id, `docker-host:<daemon id>`).
    pub key: String,
    pub name: String,
    /// Display details of the list actions (image tag, container id, versions...).
    pub info: serde_json::Value,
    pub results: Vec<ComplianceItemReport>,
}

/// The outcome of one item on one asset (`CHECK_FINISHED` / `CHECK_FAILED` / `NOT_APPLICABLE`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplianceItemReport {
    pub item_id: u64,
    pub status: String,
    /// `RESULT_PASSED`, `RESULT_FAILED` or empty.
    pub result: String,
    pub reason: String,
    pub evidence: serde_json::Value,
    /// Unix seconds.
    pub checked_at: i64,
}

/// What `shipshape agent` sends with the `ReportNodeAssets` action (a Shipshape extension of the
/// TCSS API): the whole picture of one node, each report replacing the previous one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NodeReport {
    /// The node's stable id (the agent derives it once from the machine id, its node name and
    /// its key, and keeps it in its data directory); the host id of the asset actions.
    pub node_id: String,
    /// Seconds between this agent's reports: the host shows offline after three missed ones.
    pub interval_secs: u64,
    pub host: HostFacts,
    pub containers: Vec<ContainerFacts>,
    pub images: Vec<ImageFacts>,
    /// `None`: this report carries no compliance results (the previous ones stay).
    pub compliance: Option<Vec<ComplianceAssetReport>>,
}

/// An image scan the server asks a node agent for (`PollNodeWork`): the image is only on the
/// agent's node, so its layers are read there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeImageScanJob {
    #[serde(rename = "TaskID")]
    pub task_id: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub scan_vul: bool,
    pub scan_virus: bool,
    pub scan_risk: bool,
}

/// What an agent uploads for one image it was asked to scan (`ReportNodeImageScan`): the index of
/// the image read on its node (packages, secrets, trojans). As Clair splits indexer and matcher,
/// vulnerabilities are matched on the server, so advisory data never leaves it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NodeImageScan {
    pub node_id: String,
    #[serde(rename = "TaskID")]
    pub task_id: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    /// Why the image could not be read on the node; empty when it was (then the rest is its index).
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub distribution: Option<crate::Distribution>,
    #[serde(default)]
    pub packages: Vec<crate::Package>,
    #[serde(default)]
    pub risks: Vec<crate::RiskFinding>,
    #[serde(default)]
    pub malware: Vec<crate::MalwareFinding>,
    /// Some layer hit a walk limit: findings may be missing.
    #[serde(default)]
    pub partial: bool,
    /// Layers of the image, those answered from the agent's layer cache, and the uncompressed
    /// bytes walked now.
    #[serde(default)]
    pub layers: u64,
    #[serde(default)]
    pub cached_layers: u64,
    #[serde(default)]
    pub bytes_walked: u64,
}
