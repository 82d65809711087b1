//! Asset discovery: lists the assets of each configured source and collects their facts.

use std::path::PathBuf;

use checks::AssetType;
use serde_json::Value;

use crate::asset::Asset;
use crate::error::CollectError;
use crate::facts::docker::{self, HostSummary, ProcTable};
use crate::facts::host::{CheckConfig, host_facts};
use crate::facts::{NodeRoot, containerd, k8s};

/// Where assets come from. `node_root`/`proc_root` are `/` and `/proc` in production; tests point them at
/// fixture trees.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Docker endpoint (`unix:///var/run/docker.sock`); None = no Docker assets and no host asset.
    pub docker: Option<String>,
    pub node_root: PathBuf,
    pub proc_root: PathBuf,
    /// dockerd argv when it cannot be read from the proc root (e.g. a remote daemon or a fixture).
    pub dockerd_argv: Option<Vec<String>>,
    pub containerd: Option<ContainerdSource>,
    pub k8s: Option<K8sSource>,
    pub config: CheckConfig,
    /// Only these asset types (None = all).
    pub asset_types: Option<Vec<AssetType>>,
    /// Parallel inspect requests against the daemon.
    pub concurrency: usize,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            docker: Some("unix:///var/run/docker.sock".into()),
            node_root: "/".into(),
            proc_root: "/proc".into(),
            dockerd_argv: None,
            containerd: None,
            k8s: None,
            config: CheckConfig::default(),
            asset_types: None,
            concurrency: 16,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ContainerdSource {
    pub socket: PathBuf,
    /// config.toml path on the node (default: the running containerd's --config, else /etc/containerd/config.toml).
    pub config: Option<String>,
    /// Namespaces to list (None = all).
    pub namespaces: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct K8sSource {
    /// The node's `/` (kube-bench reads /etc/kubernetes and /var/lib/kubelet below it).
    pub root: PathBuf,
    /// Node directories with workload manifests (Pod, Deployment, ...), for items 4601-4607.
    pub pod_dirs: Vec<String>,
    pub kubelet_argv: Option<Vec<String>>,
}

/// Discovered assets, and the sources that could not be listed (their assets are unknown, not passed).
#[derive(Debug, Default)]
pub struct Inventory {
    pub assets: Vec<Asset>,
    pub errors: Vec<(AssetType, CollectError)>,
}

impl Sources {
    fn wants(&self, t: AssetType) -> bool {
        self.asset_types.as_ref().is_none_or(|v| v.contains(&t))
    }

    fn host_key(&self) -> String {
        format!("docker-host:{}", self.docker.as_deref().unwrap_or(""))
    }
}

struct DockerCtx {
    docker: Result<bollard::Docker, CollectError>,
    summary: HostSummary,
    host: Option<Asset>,
}

async fn docker_ctx(s: &Sources, endpoint: &str, want_host: bool) -> DockerCtx {
    let docker = docker::connect(endpoint).await;
    let daemon = docker::daemon_state(docker.as_ref()).await;
    let node = NodeRoot::new(&s.node_root);
    let (facts, summary) = host_facts(&node, &s.proc_root, s.dockerd_argv.as_deref(), &daemon, &s.config);
    let host = want_host.then(|| {
        let name = daemon
            .info
            .as_ref()
            .ok()
            .and_then(|i| i.get("Name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| endpoint.to_string());
        Asset::new(AssetType::Host, s.host_key(), name, Ok(facts))
    });
    DockerCtx { docker, summary, host }
}

/// Lists every asset of the configured sources and collects its facts.
pub async fn discover(s: &Sources) -> Inventory {
    let mut inv = Inventory::default();
    let limit = s.concurrency.max(1);
    if let Some(endpoint) = &s.docker {
        let ctx = docker_ctx(s, endpoint, s.wants(AssetType::Host)).await;
        inv.assets.extend(ctx.host);
        if s.wants(AssetType::Container) {
            match &ctx.docker {
                Err(e) => inv.errors.push((AssetType::Container, e.clone())),
                Ok(d) => match docker::list_containers(d).await {
                    Err(e) => inv.errors.push((AssetType::Container, e)),
                    Ok(list) => {
                        let procs = ProcTable::read(&s.proc_root);
                        let (summary, procs) = (&ctx.summary, &procs);
                        let assets = docker::bounded(list, limit, |(id, name)| async move {
                            let facts = docker::container_facts(d, &id, summary, procs, &s.proc_root).await;
                            let name = facts.as_ref().map(|(n, _)| n.clone()).unwrap_or(name);
                            Asset::new(AssetType::Container, id, name, facts.map(|(_, f)| f))
                        })
                        .await;
                        inv.assets.extend(assets);
                    }
                },
            }
        }
        if s.wants(AssetType::Image) {
            match &ctx.docker {
                Err(e) => inv.errors.push((AssetType::Image, e.clone())),
                Ok(d) => match docker::list_images(d).await {
                    Err(e) => inv.errors.push((AssetType::Image, e)),
                    Ok(list) => {
                        // docker save is heavy: few in parallel.
                        let assets = docker::bounded(list, 2, |(id, name)| async move {
                            let facts = docker::image_facts(d, &id, s.config.scan_image_files, s.config.max_image_age_days).await;
                            Asset::new(AssetType::Image, id, name, facts)
                        })
                        .await;
                        inv.assets.extend(assets);
                    }
                },
            }
        }
    }
    if let Some(cd) = &s.containerd {
        if s.wants(AssetType::Containerd) {
            inv.assets.push(containerd_daemon_asset(s, cd));
        }
        if s.wants(AssetType::ContainerdContainer) {
            match containerd_containers(cd).await {
                Ok(a) => inv.assets.extend(a),
                Err(e) => inv.errors.push((AssetType::ContainerdContainer, e)),
            }
        }
    }
    if let Some(k) = &s.k8s
        && s.wants(AssetType::K8s)
    {
        let node = NodeRoot::new(&k.root);
        if k8s::is_k8s_node(&node) || !k.pod_dirs.is_empty() {
            inv.assets.push(k8s_asset(s, k));
        }
    }
    inv
}

fn containerd_daemon_asset(s: &Sources, cd: &ContainerdSource) -> Asset {
    let node = NodeRoot::new(&s.node_root);
    let facts = containerd::daemon_facts(&node, &s.proc_root, &cd.socket, cd.config.as_deref());
    let key = format!("containerd:{}", cd.socket.display());
    Asset::new(AssetType::Containerd, key.clone(), key, Ok(facts))
}

async fn containerd_containers(cd: &ContainerdSource) -> Result<Vec<Asset>, CollectError> {
    let ch = containerd::connect(&cd.socket).await?;
    let namespaces = match &cd.namespaces {
        Some(n) => n.clone(),
        None => containerd::namespaces(&ch).await?,
    };
    let mut out = Vec::new();
    for ns in namespaces {
        for (id, facts) in containerd::containers(&ch, &ns).await? {
            let key = format!("{ns}/{id}");
            out.push(Asset::new(AssetType::ContainerdContainer, key.clone(), key, facts));
        }
    }
    Ok(out)
}

fn k8s_asset(_s: &Sources, k: &K8sSource) -> Asset {
    let node = NodeRoot::new(&k.root);
    let facts = k8s::node_facts(&node, &k.root.join("proc"), &k.pod_dirs, k.kubelet_argv.as_deref());
    let hostname = node
        .read("/etc/hostname")
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| k.root.display().to_string());
    Asset::new(AssetType::K8s, format!("k8s-node:{}", k.root.display()), hostname, Ok(facts))
}

/// Re-collects the facts of known assets (by type and key). An asset that is gone or unreachable comes back
/// with `facts: Err(..)`, so its items end CHECK_FAILED.
pub async fn refresh(s: &Sources, wanted: &[(AssetType, String)]) -> Vec<Asset> {
    let needs_docker = wanted.iter().any(|(t, _)| matches!(t, AssetType::Host | AssetType::Container | AssetType::Image));
    let ctx = match (&s.docker, needs_docker) {
        (Some(ep), true) => Some(docker_ctx(s, ep, true).await),
        _ => None,
    };
    let procs = if wanted.iter().any(|(t, _)| *t == AssetType::Container) { ProcTable::read(&s.proc_root) } else { ProcTable::default() };
    let ch = match &s.containerd {
        Some(cd) if wanted.iter().any(|(t, _)| *t == AssetType::ContainerdContainer) => Some(containerd::connect(&cd.socket).await),
        _ => None,
    };
    let no_source = |t: AssetType, key: &str, what: &str| {
        Asset::new(t, key.to_string(), key.to_string(), Err(CollectError::Gone(format!("no {what} source configured"))))
    };
    let (ctx_ref, procs_ref, ch_ref) = (&ctx, &procs, &ch);
    docker::bounded(wanted.to_vec(), s.concurrency.max(1), |(t, key)| async move {
        match t {
            AssetType::Host => match ctx_ref.as_ref().and_then(|c| c.host.clone()) {
                Some(mut h) => {
                    h.key = key;
                    h
                }
                None => no_source(t, &key, "docker"),
            },
            AssetType::Container | AssetType::Image => {
                let Some(c) = ctx_ref else {
                    return no_source(t, &key, "docker");
                };
                let d = match &c.docker {
                    Ok(d) => d,
                    Err(e) => return Asset::new(t, key.clone(), key, Err(e.clone())),
                };
                if t == AssetType::Container {
                    let f = docker::container_facts(d, &key, &c.summary, procs_ref, &s.proc_root).await;
                    let name = f.as_ref().map(|(n, _)| n.clone()).unwrap_or_else(|_| key.clone());
                    Asset::new(t, key, name, f.map(|(_, v)| v))
                } else {
                    let f = docker::image_facts(d, &key, s.config.scan_image_files, s.config.max_image_age_days).await;
                    Asset::new(t, key.clone(), key, f)
                }
            }
            AssetType::Containerd => match &s.containerd {
                Some(cd) => {
                    let mut a = containerd_daemon_asset(s, cd);
                    a.key = key;
                    a
                }
                None => no_source(t, &key, "containerd"),
            },
            AssetType::ContainerdContainer => {
                let Some(ch) = ch_ref else {
                    return no_source(t, &key, "containerd");
                };
                let facts = match ch {
                    Err(e) => Err(e.clone()),
                    Ok(ch) => match key.split_once('/') {
                        Some((ns, id)) => containerd::container(ch, ns, id).await,
                        None => Err(CollectError::Gone(format!("bad containerd container key {key}"))),
                    },
                };
                Asset::new(t, key.clone(), key, facts)
            }
            AssetType::K8s => match &s.k8s {
                Some(k) => {
                    let mut a = k8s_asset(s, k);
                    a.key = key;
                    a
                }
                None => no_source(t, &key, "kubernetes"),
            },
        }
    })
    .await
}

/// An asset built from captured facts (fixtures, or facts collected elsewhere).
pub fn asset_from_facts(t: AssetType, key: &str, facts: Value) -> Asset {
    Asset::new(t, key.to_string(), key.to_string(), Ok(facts))
}
