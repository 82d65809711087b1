//! What runs in the background of `serve` and of `shipshape worker`: the image scan worker
//! (inventory, queue, scheduler, re-match, node collection), the Harbor scan worker, the
//! compliance worker and the advisory feed updater. Every one of them coordinates through the
//! store only (claims, heartbeats, leases), so any number of processes may run them on one
//! PostgreSQL; `serve --workers 0` runs none (an API replica).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use scan::claims::WorkerHandle;
use tokio::sync::Notify;

use crate::Global;

/// Options of the background work (shared by `serve` and `worker`).
#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// Images this process scans at once; 0: no background work at all in this process (an API
    /// replica; run `shipshape worker` elsewhere)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub workers: usize,
    /// Docker Engine endpoint the image inventory and scans read (e.g. unix:///var/run/docker.sock)
    #[arg(long, env = "DOCKER_HOST", value_name = "URL")]
    pub docker_host: Option<String>,
    /// Registries whose images join the image inventory (TOML `[[registry]]` tables; see README).
    /// Default: DATA_DIR/registries.toml when it exists
    #[arg(long, value_name = "FILE")]
    pub registries: Option<PathBuf>,
    /// containerd socket: the ASSET_CONTAINERD and ASSET_CONTAINERD_CONTAINER compliance assets, and its
    /// containers (outside Docker's `moby` namespace) in the container assets
    #[arg(long, value_name = "PATH")]
    pub containerd_socket: Option<PathBuf>,
    /// Kubernetes node root (etc/kubernetes, var/lib/kubelet below it) for the ASSET_K8S compliance asset
    #[arg(long, value_name = "DIR")]
    pub k8s_root: Option<PathBuf>,
    /// Node directory with workload manifests (Pods, Deployments...) for the pod items; repeatable
    #[arg(long, value_name = "DIR")]
    pub k8s_pods: Vec<String>,
    /// The node's root for the Docker host's files (daemon.json, units, audit rules) and its /proc
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub node_root: PathBuf,
    /// Seconds between image inventory and node asset refreshes (SIGHUP refreshes at once)
    #[arg(long, default_value_t = 15, value_name = "SECS")]
    pub inventory_every: u64,
    /// Seconds between compliance asset discoveries
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub discover_every: u64,
    /// Fetch advisory data from the feeds (as `db update`) at start when older than this, then
    /// at this period: 90s, 30m, 12h, 1d; 0 turns it off
    #[arg(long, default_value = "12h", value_parser = feed::parse_period, value_name = "DURATION")]
    pub db_update_every: Duration,
    #[command(flatten)]
    pub feeds: crate::cmd::db::update::FeedArgs,
}

/// How long a graceful stop waits for the image scans in progress to hand their images back.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The running background work; [`Background::shutdown`] stops it.
pub struct Background {
    /// The image, Harbor and compliance workers, in that order (none with `--workers 0`).
    workers: Vec<WorkerHandle>,
    feeds: Option<(tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    /// Poked by the Harbor adapter after queueing a request (a no-op when no worker runs here).
    pub harbor_wake: Arc<Notify>,
}

impl Background {
    /// Starts everything `args` asks for (nothing with `--workers 0`).
    pub fn start(store: &store::Store, args: &WorkerArgs, global: &Global) -> anyhow::Result<Background> {
        if args.workers == 0 {
            tracing::info!("--workers 0: no background work in this process (API only)");
            return Ok(Background { workers: Vec::new(), feeds: None, harbor_wake: Arc::new(Notify::new()) });
        }
        let feed_cfg = args.feeds.config();
        let registries = match &args.registries {
            Some(f) => scan::inventory::load_registries(f)?,
            None => {
                let f = store.data_dir().join("registries.toml");
                if f.exists() { scan::inventory::load_registries(&f)? } else { Vec::new() }
            }
        };
        tracing::info!(registries = ?registries.iter().map(|r| r.host.as_str()).collect::<Vec<_>>(), workers = args.workers, "image inventory sources");
        let signatures = crate::cmd::image::load_signatures(global)?;
        let engine = Arc::new(scan::Engine::new(Some(signatures), Arc::new(scan::StoreCache(store.clone())))?);
        let cfg = scan::worker::WorkerConfig {
            docker_host: args.docker_host.clone(),
            inventory_every: Duration::from_secs(args.inventory_every.max(1)),
            registries,
            concurrency: args.workers,
            proc_root: args.node_root.join("proc"),
            containerd_socket: args.containerd_socket.clone(),
            ..Default::default()
        };
        let image = scan::worker::spawn(store.clone(), Arc::clone(&engine), cfg);
        // Harbor's scan requests: queued by the adapter's routes, scanned with the same engine.
        let harbor = harbor::worker::spawn(store.clone(), engine, harbor::worker::WorkerConfig::default());
        let harbor_wake = harbor.waker();
        let compliance = start_compliance(store, args)?;
        // The image worker re-matches stored images when the advisory data version changes.
        let (feeds_stop, feeds_stopped) = tokio::sync::watch::channel(false);
        let feeds_task = tokio::spawn(feed::run_every(store.clone(), feed_cfg, args.db_update_every, feeds_stopped));
        Ok(Background { workers: vec![image, harbor, compliance], feeds: Some((feeds_stop, feeds_task)), harbor_wake })
    }

    /// The image worker's handle (SIGHUP refreshes its inventory); `None` with `--workers 0`.
    pub fn image_worker(&self) -> Option<WorkerHandle> {
        self.workers.first().cloned()
    }

    /// Stops the loops; the image scans claimed here are handed back to the queue (waited for up to
    /// [`SHUTDOWN_GRACE`]; past it a claim goes back when its heartbeat is stale, as after a crash).
    pub async fn shutdown(self) {
        for w in &self.workers {
            w.shutdown();
        }
        if let Some((stop, task)) = self.feeds {
            stop.send_replace(true);
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "advisory feed task ended abnormally");
            }
        }
        // One grace for all: the workers were stopped together.
        let grace_ends = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for w in &self.workers {
            w.stopped(grace_ends.saturating_duration_since(tokio::time::Instant::now())).await;
        }
    }
}

/// The compliance worker: discovery of this machine's assets, check tasks, periodic tasks.
fn start_compliance(store: &store::Store, args: &WorkerArgs) -> anyhow::Result<WorkerHandle> {
    let docker = args.docker_host.clone().unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    let sources = compliance::Sources {
        docker: Some(docker),
        node_root: args.node_root.clone(),
        proc_root: args.node_root.join("proc"),
        containerd: args.containerd_socket.clone().map(|socket| compliance::ContainerdSource { socket, config: None, namespaces: None }),
        k8s: args.k8s_root.clone().map(|root| compliance::K8sSource { root, pod_dirs: args.k8s_pods.clone(), kubelet_argv: None }),
        ..compliance::Sources::default()
    };
    let engine = Arc::new(compliance::Engine::new(&compliance::Catalog::builtin())?);
    let mut cfg = scan::compliance::ComplianceConfig::new(sources);
    cfg.discover_every = Duration::from_secs(args.discover_every.max(1));
    Ok(scan::compliance::spawn(store.clone(), engine, cfg))
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
    }
}
