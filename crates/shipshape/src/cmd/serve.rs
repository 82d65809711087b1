//! `shipshape serve`: the TCSS API over HTTP.

use std::net::SocketAddr;
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
    #[command(flatten)]
    pub work: crate::wiring::WorkerArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .inspect_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP: the inventory refreshes on its period only"))
        .ok();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(api::tls::Tls::load(cert, key)?)),
        _ => None,
    };
    let store = global.open_store().await?;
    tracing::info!(data_dir = %store.data_dir().display(), backend = ?store.backend(), "store open");
    // Replicas starting together on an empty database: one of them creates the first account.
    if store.count_accounts().await? == 0
        && store.claim_job_slot("bootstrap-account", 1, scan::once::holder(), time::OffsetDateTime::now_utc().unix_timestamp()).await?
    {
        bootstrap_account(&store).await?;
    }

    let background = crate::wiring::Background::start(&store, &args.work, global)?;
    refresh_on_sighup(hup, background.image_worker(), tls.clone());
    let svc = service::Service::new(store.clone());
    // Registries added or edited over the API are checked (address, credential) on the spot.
    let _ = svc.registry_check.set(Arc::new(scan::registries::Prober));
    let table = api::ActionTable::new(service::actions(&svc))?;
    let seen_signatures: Arc<dyn api::SeenSignatures> = Arc::new(service::StoreSignatures(store.clone()));
    // On PostgreSQL several replicas may serve one account: the limit is counted in the database.
    // SQLite is one process: its in-memory sliding window is exact and costs no query.
    let shared_rate_limit: Option<Arc<dyn api::SharedRateCounter>> = match store.backend() {
        store::Backend::Postgres => Some(Arc::new(service::StoreRateCounter(store.clone()))),
        store::Backend::Sqlite => None,
    };
    let metrics = api::ApiMetrics::default();
    let config = api::ApiConfig {
        rate_limit: args.rate_limit,
        ip_rate_limit: args.ip_rate_limit,
        seen_signatures: Some(seen_signatures),
        audit: Some(Arc::new(service::StoreAudit(store.clone()))),
        tls: tls.is_some(),
        shared_rate_limit,
        metrics: Some(metrics.clone()),
        ..api::ApiConfig::default()
    };
    let app = api::router(table, Arc::new(service::StoreCredentials::new(store.clone())), config)
        .merge(harbor::router(harbor::Adapter::new(store.clone(), Arc::clone(&background.harbor_wake))))
        .merge(web_console::router())
        .merge(export_downloads(store.clone()))
        .merge(crate::probes::router(store.clone(), metrics))
        .layer(axum::middleware::from_fn(web_console::redirect_root));

    prune_exports_hourly(store.clone());

    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, rate_limit = args.rate_limit, "serving TCSS API");
    api::listen::serve(listener, app, tls, crate::wiring::shutdown_signal()).await?;
    background.shutdown().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `GET /exports/{token}`: the workbook of an export job (`service::exports`). The token is the
/// capability (256 random bits, handed only to a request signed by the job's account, valid 10
/// minutes, only its SHA-256 stored); unknown, expired or pruned: 404 with no detail.
fn export_downloads(store: store::Store) -> axum::Router {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    async fn download(State(store): State<store::Store>, UrlPath(token): UrlPath<String>) -> axum::response::Response {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // Tokens are 43 alphanumerics; anything else is not worth a query.
        if token.len() != 43 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return StatusCode::NOT_FOUND.into_response();
        }
        let found = match store.export_download(&token, now).await {
            Ok(Some(d)) => d,
            Ok(None) => return StatusCode::NOT_FOUND.into_response(),
            Err(e) => {
                tracing::error!(error = %e, "export download");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        match tokio::fs::read(&found.path).await {
            Ok(bytes) => (
                [
                    (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.xlsx\"", found.job.job_name)),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                bytes,
            )
                .into_response(),
            // Pruned between the lookup and the read.
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        }
    }
    axum::Router::new().route(&format!("{}{{token}}", service::exports::DOWNLOAD_PATH), axum::routing::get(download)).with_state(store)
}

/// Export jobs and files older than a day are removed (also on each new export).
fn prune_exports_hourly(store: store::Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            match store.prune_exports(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "expired exports removed"),
                Err(e) => tracing::warn!(error = %e, "pruning exports"),
            }
        }
    });
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
    let mut f = store::private_fs::create_file(path, true).with_context(|| format!("writing {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// `kill -HUP` asks for an image inventory refresh now (e.g. right after a push or a build) and
/// reloads the TLS certificate and key (a bad file keeps the current pair in service).
/// The handler is installed first thing in `run` (SIGHUP's default action would end the process).
fn refresh_on_sighup(
    hup: Option<tokio::signal::unix::Signal>,
    worker: Option<scan::worker::WorkerHandle>,
    tls: Option<Arc<api::tls::Tls>>,
) {
    let Some(mut hup) = hup else { return };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if let Some(w) = &worker {
                w.refresh();
            }
            match tls.as_deref().map(api::tls::Tls::reload) {
                Some(Ok(cert)) => tracing::info!(%cert, "SIGHUP: TLS certificate reloaded"),
                Some(Err(e)) => tracing::error!(error = %e, "SIGHUP: TLS certificate not reloaded; the current one stays"),
                None => {}
            }
        }
    });
}
