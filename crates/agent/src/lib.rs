//! The node agent: runs on a node beside its Docker Engine and reports the node to the server.
//!
//! Every interval it collects the host and its containers ([`node::Node`]), the engine's images
//! (by id, with every name) and, at most every `compliance_every`, runs the compliance checks of the
//! node's assets ([`compliance::discover`] + [`compliance::Engine`], the checks the server runs on its
//! own machine) and sends it all in one `ReportNodeAssets` request ([`model::node::NodeReport`]),
//! TC3-signed with its agent key ([`api::tc3::sign`], the canonical request the server verifies).
//!
//! With a containerd socket its containers join Docker's ([`scan::nodes::add_containerd_containers`],
//! the server's own collection).
//!
//! Image layers are read where they are cheapest: an image the server can read from a registry is
//! scanned from there (the inventory merges it by image id); an image only on this node is read
//! here. Every `poll_every` the agent asks the server for work (`PollNodeWork`, which also keeps
//! the server's lease on those scans); each image asked for is indexed from the node's Docker
//! Engine by the scan engine the server uses ([`scan::index_source`]: packages, secrets, trojans;
//! a layer cache in the data directory) and the index uploaded (`ReportNodeImageScan`,
//! [`model::node::NodeImageScan`]). Vulnerabilities are matched on the server: advisory data never
//! leaves it (Clair's indexer/matcher split).
//!
//! The poll also says when a compliance task was created since the node's last checks (an API
//! call, a periodic rule): the agent then checks and reports at once, not at its next
//! `compliance_every`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use model::node::{ComplianceAssetReport, ContainerFacts, NodeImageScan, NodeImageScanJob, NodeReport};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The API version every request names.
const API_VERSION: &str = "2020-11-01";
/// The report action (a Shipshape extension; `service::agents`).
pub const REPORT_ACTION: &str = "ReportNodeAssets";
/// The agent's poll for work, and the upload of an image it scanned (extensions too).
pub const POLL_ACTION: &str = "PollNodeWork";
pub const IMAGE_SCAN_ACTION: &str = "ReportNodeImageScan";
/// File in the data directory that keeps the node id across restarts.
pub const NODE_ID_FILE: &str = "node-id";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("key file {path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },
    #[error("node id file {path}: {source}")]
    NodeId { path: PathBuf, source: std::io::Error },
    #[error("server URL {0:?}: expected http(s)://HOST[:PORT]")]
    ServerUrl(String),
    #[error("docker engine: {0}")]
    Docker(String),
    #[error("compliance: {0}")]
    Compliance(String),
    #[error("image scan: {0}")]
    Scan(String),
    #[error("signing: {0}")]
    Sign(#[from] api::tc3::Tc3Error),
    #[error("sending the report: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the server answered {code}: {message}")]
    Refused { code: String, message: String },
    #[error("the server's answer is not a TCSS response: {0}")]
    Answer(String),
}

/// The agent key: `{"SecretId", "SecretKey"}` as `shipshape keys create --role agent` prints it.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Key {
    pub secret_id: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("secret_id", &self.secret_id).field("secret_key", &"<redacted>").finish()
    }
}

impl Key {
    pub fn load(path: &Path) -> Result<Key, Error> {
        let bad = |reason: String| Error::KeyFile { path: path.to_path_buf(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
    }
}

/// What the agent reads and where it reports.
#[derive(Clone)]
pub struct Config {
    /// `http(s)://HOST[:PORT]` of a Shipshape server (or the load balancer in front of replicas).
    pub server: String,
    pub key: Key,
    /// Docker Engine endpoint (`unix:///var/run/docker.sock`, `tcp://…`).
    pub docker_host: String,
    /// The node's root for host files (daemon.json, units, audit rules) and its /proc.
    pub node_root: PathBuf,
    /// Seconds between reports; the server shows the node offline after three missed ones.
    pub interval: Duration,
    /// At most this often the compliance checks run (every report carries the latest facts).
    pub compliance_every: Duration,
    /// Where the node id is kept.
    pub data_dir: PathBuf,
    /// The name this node reports (default: the machine's hostname).
    pub node_name: String,
    /// containerd's socket: its containers (outside Docker's `moby` namespace) are reported too.
    pub containerd_socket: Option<PathBuf>,
    /// How often the server is asked for work (images to scan here).
    pub poll_every: Duration,
    /// The engine images asked for are indexed with (the server's analyzers and rules; a layer
    /// cache on this node).
    pub scan_engine: Arc<scan::Engine>,
}

/// The node's id: read from the data directory, else derived from the machine id, the node name
/// and the key, and written there (so it stays when the key is rotated).
pub fn node_id(data_dir: &Path, node_root: &Path, node_name: &str, key: &Key) -> Result<String, Error> {
    let path = data_dir.join(NODE_ID_FILE);
    let io = |source| Error::NodeId { path: path.clone(), source };
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let machine_id = std::fs::read_to_string(node_root.join("etc/machine-id")).unwrap_or_default();
    let mut h = Sha256::new();
    for part in [machine_id.trim(), node_name, key.secret_id.as_str()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let id = format!("node-{}", &hex::encode(h.finalize())[..24]);
    std::fs::create_dir_all(data_dir).map_err(io)?;
    std::fs::write(&path, format!("{id}\n")).map_err(io)?;
    Ok(id)
}

/// Runs until `stop` resolves: one report per interval (a failed one is logged and retried at the
/// next interval), a poll for work every `poll_every`, and the images asked for scanned one at a
/// time beside both.
pub async fn run(cfg: Config, stop: impl std::future::Future<Output = ()>) -> Result<(), Error> {
    let node_id = node_id(&cfg.data_dir, &cfg.node_root, &cfg.node_name, &cfg.key)?;
    let server = Arc::new(Server::new(&cfg.server)?);
    let engine = Arc::new(compliance::Engine::new(&compliance::Catalog::builtin()).map_err(|e| Error::Compliance(e.to_string()))?);
    let scans = Scans::start(Arc::clone(&server), cfg.key.clone(), cfg.docker_host.clone(), node_id.clone(), Arc::clone(&cfg.scan_engine));
    let mut agent = Agent { cfg, node_id, server, engine, previous: Vec::new(), last_compliance: None };
    tracing::info!(node_id = %agent.node_id, node_name = %agent.cfg.node_name, server = %agent.cfg.server, "node agent running");
    tokio::pin!(stop);
    let mut next_report = tokio::time::Instant::now();
    let mut reported = false;
    loop {
        if tokio::time::Instant::now() >= next_report {
            match agent.report_once().await {
                Ok(answer) => {
                    reported = true;
                    tracing::info!(%answer, "node reported");
                }
                Err(e) => tracing::warn!(error = %e, "node report failed; retrying at the next interval"),
            }
            next_report = tokio::time::Instant::now() + agent.cfg.interval;
        }
        // The server knows the node once it reported.
        if reported {
            match agent.poll().await {
                Ok(work) => {
                    scans.offer(work.image_scans);
                    if work.compliance_due && agent.last_compliance.is_some() {
                        // A compliance task since the last checks: check and report now.
                        tracing::info!("a compliance task is due: checking now");
                        agent.last_compliance = None;
                        next_report = tokio::time::Instant::now();
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "asking the server for work failed"),
            }
        }
        let wait = agent.cfg.poll_every.min(next_report.saturating_duration_since(tokio::time::Instant::now()));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut stop => return Ok(()),
        }
    }
}

/// The answer to `PollNodeWork`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Work {
    image_scans: Vec<NodeImageScanJob>,
    compliance_due: bool,
}

/// The images being scanned or queued here, and the one task that scans them in turn.
struct Scans {
    queued: Arc<std::sync::Mutex<HashSet<(String, String)>>>,
    tx: tokio::sync::mpsc::UnboundedSender<NodeImageScanJob>,
}

impl Scans {
    fn start(server: Arc<Server>, key: Key, docker_host: String, node_id: String, engine: Arc<scan::Engine>) -> Scans {
        let queued: Arc<std::sync::Mutex<HashSet<(String, String)>>> = Arc::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<NodeImageScanJob>();
        let q = Arc::clone(&queued);
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let span = tracing::info_span!("node_image_scan", task = %job.task_id, image = %job.image_id);
                let upload = tracing::Instrument::instrument(scan_image(&engine, &docker_host, &node_id, &job), span.clone()).await;
                let sent = serde_json::to_vec(&upload).map_err(|e| Error::Answer(e.to_string()));
                let answer = match sent {
                    Ok(body) => {
                        let bytes = body.len();
                        server.call(IMAGE_SCAN_ACTION, &key, &body).await.map(|_| bytes)
                    }
                    Err(e) => Err(e),
                };
                let _in = span.enter();
                match answer {
                    Ok(bytes) => tracing::info!(upload_bytes = bytes, packages = upload.packages.len(), "image index uploaded"),
                    // The task may have been stopped meanwhile: the server then refuses it.
                    Err(e) => tracing::warn!(error = %e, "uploading the image index failed"),
                }
                q.lock().unwrap_or_else(|e| e.into_inner()).remove(&(job.task_id, job.image_id));
            }
        });
        Scans { queued, tx }
    }

    /// Queues the jobs not already queued or running.
    fn offer(&self, jobs: Vec<NodeImageScanJob>) {
        let mut queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        for job in jobs {
            if queued.insert((job.task_id.clone(), job.image_id.clone())) {
                let _ = self.tx.send(job);
            }
        }
    }
}

/// Indexes one image from the node's Docker Engine; a failure is reported as the upload's error.
/// Layers already in the agent's cache are not read, and when all are the image is not even
/// exported ([`scan::index`] opens it only for a layer it misses).
async fn scan_image(engine: &Arc<scan::Engine>, docker_host: &str, node_id: &str, job: &NodeImageScanJob) -> NodeImageScan {
    let started = std::time::Instant::now();
    let mut out =
        NodeImageScan { node_id: node_id.to_string(), task_id: job.task_id.clone(), image_id: job.image_id.clone(), ..Default::default() };
    match index_image(engine, docker_host, job).await {
        Ok(ix) => {
            tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                layers = ix.layers,
                cached = ix.cached_layers,
                bytes = ix.bytes_walked,
                "image indexed on the node"
            );
            let c = ix.content;
            out.distribution = c.distribution;
            out.packages = c.packages;
            out.risks = c.risks;
            out.malware = c.malware;
            out.partial = c.partial;
            out.layers = ix.layers as u64;
            out.cached_layers = ix.cached_layers as u64;
            out.bytes_walked = ix.bytes_walked;
        }
        Err(e) => {
            tracing::warn!(error = %e, "the image could not be read on the node");
            out.error = e.to_string();
        }
    }
    out
}

async fn index_image(engine: &Arc<scan::Engine>, docker_host: &str, job: &NodeImageScanJob) -> Result<scan::Indexed, Error> {
    let docker = connect(docker_host)?;
    let inspected = docker.inspect_image(&job.image_id).await.map_err(|e| Error::Docker(format!("inspect {}: {e}", job.image_id)))?;
    let diff_ids = inspected.root_fs.and_then(|r| r.layers).unwrap_or_default();
    let scanners = scan::Scanners { packages: false, vuln: job.scan_vul, virus: job.scan_virus, risk: job.scan_risk };
    let source = image::Source::Docker { name: job.image_id.clone() };
    let opts = image::OpenOptions { docker_host: Some(docker_host.to_string()), ..Default::default() };
    let open: scan::Opener = Box::new(move || Box::pin(async move { Ok(Arc::new(image::open(&source, &opts).await?)) }));
    let progress = Arc::new(scan::Progress::default());
    scan::index(engine, scanners, &diff_ids, open, &progress, &scan::Cancel::new()).await.map_err(|e| Error::Scan(e.to_string()))
}

struct Agent {
    cfg: Config,
    node_id: String,
    server: Arc<Server>,
    engine: Arc<compliance::Engine>,
    previous: Vec<ContainerFacts>,
    last_compliance: Option<tokio::time::Instant>,
}

impl Agent {
    async fn report_once(&mut self) -> Result<serde_json::Value, Error> {
        let docker = connect(&self.cfg.docker_host)?;
        let n = node::Node { docker: &docker, proc_root: self.cfg.node_root.join("proc") };
        let (mut host, mut containers) = n.collect(&self.previous).await.map_err(|e| Error::Docker(e.to_string()))?;
        if let Some(socket) = &self.cfg.containerd_socket {
            scan::nodes::add_containerd_containers(&mut containers, socket, &self.cfg.node_root.join("proc")).await;
        }
        let images = n.images().await.map_err(|e| Error::Docker(e.to_string()))?;
        host.hostname = self.cfg.node_name.clone();
        let due = self.last_compliance.is_none_or(|t| t.elapsed() >= self.cfg.compliance_every);
        let compliance = if due { Some(self.check_compliance().await) } else { None };
        let report = NodeReport {
            node_id: self.node_id.clone(),
            interval_secs: self.cfg.interval.as_secs().max(1),
            host,
            containers: containers.clone(),
            images,
            compliance,
        };
        let answer =
            self.server.call(REPORT_ACTION, &self.cfg.key, &serde_json::to_vec(&report).map_err(|e| Error::Answer(e.to_string()))?).await?;
        self.previous = containers;
        if due {
            self.last_compliance = Some(tokio::time::Instant::now());
        }
        Ok(answer)
    }

    /// What the server asks of this node now.
    async fn poll(&self) -> Result<Work, Error> {
        let body = serde_json::to_vec(&serde_json::json!({ "NodeId": self.node_id })).map_err(|e| Error::Answer(e.to_string()))?;
        let answer = self.server.call(POLL_ACTION, &self.cfg.key, &body).await?;
        serde_json::from_value(answer).map_err(|e| Error::Answer(format!("{POLL_ACTION}: {e}")))
    }

    /// Discovers the node's compliance assets and evaluates every item of each one's type.
    async fn check_compliance(&self) -> Vec<ComplianceAssetReport> {
        let sources = compliance::Sources {
            docker: Some(self.cfg.docker_host.clone()),
            node_root: self.cfg.node_root.clone(),
            proc_root: self.cfg.node_root.join("proc"),
            ..compliance::Sources::default()
        };
        let inv = compliance::discover(&sources).await;
        for (t, e) in &inv.errors {
            tracing::warn!(asset_type = t.as_str(), error = %e, "compliance discovery: source unavailable");
        }
        let engine = Arc::clone(&self.engine);
        // Rego evaluation is CPU work: off the async threads.
        tokio::task::spawn_blocking(move || {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            inv.assets
                .iter()
                .map(|a| {
                    let ev = engine.evaluate(a, None);
                    let results = engine.catalog().items_for(a.asset_type).map(|i| ev.item_report(i.id, now)).collect();
                    ComplianceAssetReport {
                        asset_type: a.asset_type.as_str().to_string(),
                        key: a.key.clone(),
                        name: a.name.clone(),
                        info: a.info(),
                        results,
                    }
                })
                .collect()
        })
        .await
        .unwrap_or_default()
    }
}

fn connect(host: &str) -> Result<bollard::Docker, Error> {
    let err = |e: bollard::errors::Error| Error::Docker(format!("connect: {e}"));
    if host.starts_with("unix://") || host.starts_with('/') {
        bollard::Docker::connect_with_unix(host, 120, bollard::API_DEFAULT_VERSION).map_err(err)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        bollard::Docker::connect_with_http(host, 120, bollard::API_DEFAULT_VERSION).map_err(err)
    } else {
        Err(Error::Docker(format!("unsupported docker host {host:?} (use unix:// or tcp://)")))
    }
}

/// A TCSS endpoint: signs and sends one action, returns its `Response` object.
pub struct Server {
    url: String,
    /// The Host header reqwest sends (`host[:port]`, the port only when not the scheme's default),
    /// which the signature covers.
    host: String,
    client: reqwest::Client,
}

impl Server {
    pub fn new(url: &str) -> Result<Server, Error> {
        let bad = || Error::ServerUrl(url.to_string());
        let rest = url.strip_prefix("http://").map(|r| (r, "80")).or_else(|| url.strip_prefix("https://").map(|r| (r, "443")));
        let ((rest, default_port), base) = (rest.ok_or_else(bad)?, url.trim_end_matches('/'));
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') || authority.contains('@') {
            return Err(bad());
        }
        let host = authority.strip_suffix(&format!(":{default_port}")).unwrap_or(authority).to_string();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Server { url: format!("{base}/"), host, client })
    }

    pub async fn call(&self, action: &str, key: &Key, body: &[u8]) -> Result<serde_json::Value, Error> {
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let authorization = api::tc3::sign(&api::tc3::Outgoing {
            secret_id: &key.secret_id,
            secret_key: &key.secret_key,
            host: &self.host,
            service: "tcss",
            body,
            timestamp,
        })?;
        let resp = self
            .client
            .post(&self.url)
            .header("Authorization", authorization)
            .header("Content-Type", "application/json")
            .header("Host", &self.host)
            .header("X-TC-Action", action)
            .header("X-TC-Version", API_VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .body(body.to_vec())
            .send()
            .await?;
        let bytes = resp.bytes().await?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::Answer(e.to_string()))?;
        let r = v.get("Response").cloned().ok_or_else(|| Error::Answer("no `Response` object".into()))?;
        if let Some(e) = r.get("Error") {
            let s = |k: &str| e.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
            return Err(Error::Refused { code: s("Code"), message: s("Message") });
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_is_kept_and_differs_per_node_name() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/machine-id"), "0123456789abcdef\n").unwrap();
        let key = Key { secret_id: "AKIDx".into(), secret_key: "s".into() };
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let id_a = node_id(a.path(), root.path(), "node-a", &key).unwrap();
        let id_b = node_id(b.path(), root.path(), "node-b", &key).unwrap();
        assert_ne!(id_a, id_b, "two node names on one machine are two nodes");
        assert!(id_a.starts_with("node-") && id_a.len() == 29, "{id_a}");
        // Kept: a new key (rotation) does not change it.
        let rotated = Key { secret_id: "AKIDy".into(), ..key };
        assert_eq!(node_id(a.path(), root.path(), "node-a", &rotated).unwrap(), id_a);
    }

    #[test]
    fn server_urls() {
        assert_eq!(Server::new("http://127.0.0.1:8080").unwrap().host, "127.0.0.1:8080");
        assert_eq!(Server::new("https://shipshape.example/").unwrap().host, "shipshape.example");
        assert_eq!(Server::new("https://shipshape.example:443").unwrap().host, "shipshape.example");
        for bad in ["127.0.0.1:8080", "ftp://x", "http://", "http://h/path", "http://u@h"] {
            assert!(Server::new(bad).is_err(), "{bad}");
        }
    }
}
