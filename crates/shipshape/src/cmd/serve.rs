//! `shipshape serve`: the TCSS API over HTTP.

use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::Global;

/// Serve the TCSS API (TencentCloud API 3.0, TC3-HMAC-SHA256) over HTTP
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Docker Engine endpoint the image inventory and scans read (e.g. unix:///var/run/docker.sock)
    #[arg(long, env = "DOCKER_HOST", value_name = "URL")]
    pub docker_host: Option<String>,
    /// Registries whose images join the image inventory (TOML `[[registry]]` tables; see README).
    /// Default: DATA_DIR/registries.toml when it exists
    #[arg(long, value_name = "FILE")]
    pub registries: Option<PathBuf>,
    /// containerd socket for the ASSET_CONTAINERD and ASSET_CONTAINERD_CONTAINER compliance assets
    #[arg(long, value_name = "PATH")]
    pub containerd_socket: Option<PathBuf>,
    /// Kubernetes node root (etc/kubernetes, var/lib/kubelet below it) for the ASSET_K8S compliance asset
    #[arg(long, value_name = "DIR")]
    pub k8s_root: Option<PathBuf>,
    /// Node directory with workload manifests (Pods, Deployments...) for the pod items; repeatable
    #[arg(long, value_name = "DIR")]
    pub k8s_pods: Vec<String>,
    /// The node's root for the Docker host's files (daemon.json, units, audit rules)
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub node_root: PathBuf,
    /// Seconds between image inventory refreshes (SIGHUP refreshes at once)
    #[arg(long, default_value_t = 15, value_name = "SECS")]
    pub inventory_every: u64,
    /// Seconds between compliance asset discoveries
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub discover_every: u64,
    /// Requests per second per (account, action); 0 disables the limit (benchmarks)
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub rate_limit: u32,
    /// Requests per second per client address, before authentication (bursts of twice as many);
    /// 0 disables it (benchmarks; behind a reverse proxy, limit there)
    #[arg(long, default_value_t = api::DEFAULT_IP_RATE_LIMIT, value_name = "N")]
    pub ip_rate_limit: u32,
    /// Serve HTTPS with this PEM certificate chain (leaf first); with --tls-key. SIGHUP reloads both
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Fetch advisory data from the feeds (as `db update`) at start when older than this, then
    /// at this period: 90s, 30m, 12h, 1d; 0 turns it off
    #[arg(long, default_value = "12h", value_parser = feed::parse_period, value_name = "DURATION")]
    pub db_update_every: std::time::Duration,
    #[command(flatten)]
    pub feeds: super::db::update::FeedArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .inspect_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP: the inventory refreshes on its period only"))
        .ok();
    let feed_cfg = args.feeds.config();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(api::tls::Tls::load(cert, key)?)),
        _ => None,
    };
    let store = global.open_store().await?;
    tracing::info!(data_dir = %store.data_dir().display(), backend = ?store.backend(), "store open");
    if store.count_accounts().await? == 0 {
        bootstrap_account(&store).await?;
    }

    let registries = match &args.registries {
        Some(f) => scan::inventory::load_registries(f)?,
        None => {
            let f = store.data_dir().join("registries.toml");
            if f.exists() { scan::inventory::load_registries(&f)? } else { Vec::new() }
        }
    };
    tracing::info!(registries = ?registries.iter().map(|r| r.host.as_str()).collect::<Vec<_>>(), "image inventory sources");
    let every = std::time::Duration::from_secs(args.inventory_every.max(1));
    let (worker, engine) = super::image::start_worker(&store, args.docker_host.clone(), registries, every, global)?;
    // Harbor's scan requests: queued by the adapter's routes, scanned with the same engine.
    let harbor_wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let harbor_stop = scan::Cancel::new();
    harbor::worker::spawn(store.clone(), engine, harbor::worker::WorkerConfig::default(), harbor_wake.clone(), harbor_stop.clone());
    let compliance_stop = start_compliance(&store, &args)?;
    refresh_on_sighup(hup, worker.clone(), tls.clone());
    // The worker re-matches stored images when the advisory data version changes.
    let (feeds_stop, feeds_stopped) = tokio::sync::watch::channel(false);
    let feeds_task = tokio::spawn(feed::run_every(store.clone(), feed_cfg, args.db_update_every, feeds_stopped));
    let svc = service::Service::new(store.clone());
    let table = api::ActionTable::new(service::actions(&svc))?;
    let seen_signatures: Arc<dyn api::SeenSignatures> = Arc::new(service::StoreSignatures(store.clone()));
    let config = api::ApiConfig {
        rate_limit: args.rate_limit,
        ip_rate_limit: args.ip_rate_limit,
        seen_signatures: Some(seen_signatures),
        ..api::ApiConfig::default()
    };
    let app = api::router(table, Arc::new(service::StoreCredentials(store.clone())), config)
        .merge(harbor::router(harbor::Adapter::new(store.clone(), harbor_wake)));

    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, rate_limit = args.rate_limit, "serving TCSS API");
    api::listen::serve(listener, app, tls, shutdown_signal()).await?;
    worker.shutdown();
    harbor_stop.cancel();
    compliance_stop.cancel();
    feeds_stop.send_replace(true);
    if let Err(e) = feeds_task.await {
        tracing::warn!(error = %e, "advisory feed task ended abnormally");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The compliance worker: discovery of this machine's assets, check tasks, periodic tasks.
fn start_compliance(store: &store::Store, args: &Args) -> anyhow::Result<scan::Cancel> {
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
    cfg.discover_every = std::time::Duration::from_secs(args.discover_every.max(1));
    let stop = scan::Cancel::new();
    scan::compliance::spawn(store.clone(), engine, cfg, stop.clone());
    Ok(stop)
}

/// First start on an empty store: one account and key, written to DATA_DIR/credentials.json (0600).
async fn bootstrap_account(store: &store::Store) -> anyhow::Result<()> {
    let key = store.create_account_with_key().await?;
    let path = store.data_dir().join("credentials.json");
    write_private(&path, &super::keys::key_json(&key))?;
    tracing::info!(
        path = %path.display(),
        app_id = key.app_id,
        secret_id = %key.secret_id,
        "empty store: created a first account and key; the secret key is in this file (mode 0600)"
    );
    Ok(())
}

fn write_private(path: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // The mode above only applies to a new file; tighten an existing one too.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    writeln!(f, "{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// `kill -HUP` asks for an image inventory refresh now (e.g. right after a push or a build) and
/// reloads the TLS certificate and key (a bad file keeps the current pair in service).
/// The handler is installed first thing in `run` (SIGHUP's default action would end the process).
fn refresh_on_sighup(hup: Option<tokio::signal::unix::Signal>, worker: scan::worker::WorkerHandle, tls: Option<Arc<api::tls::Tls>>) {
    let Some(mut hup) = hup else { return };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            worker.refresh_inventory();
            match tls.as_deref().map(api::tls::Tls::reload) {
                Some(Ok(cert)) => tracing::info!(%cert, "SIGHUP: TLS certificate reloaded"),
                Some(Err(e)) => tracing::error!(error = %e, "SIGHUP: TLS certificate not reloaded; the current one stays"),
                None => {}
            }
        }
    });
}

async fn shutdown_signal() {
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
        _ = term => tracing::info!("SIGTERM: finishing in-flight requests"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: finishing in-flight requests"),
    }
}
