//! The image scan worker started by `serve`: claims queued images from the store, scans them
//! with the shared [`Engine`], writes results atomically, heartbeats its claim (a stopped task
//! or a lost claim cancels the scan within a heartbeat), refreshes the Docker inventory on a
//! schedule, stops overdue tasks and fires scheduled scans.
//!
//! Crash safety comes from the store: a claim whose heartbeat stops (kill -9) goes back to the
//! queue after [`WorkerConfig::stale_after`], and results are only written while the claim is
//! held, in the transaction that marks the image done. A graceful stop ([`WorkerHandle::shutdown`],
//! then [`WorkerHandle::stopped`]) hands each claimed image back at once, not counted as an attempt.

use crate::claims::{self, ClaimJob, LoopConfig};
use crate::results::{self, ImageFindings};
use crate::schedule::{self, ScheduleSettings};
use crate::{Cancel, Engine, Error, Progress, Scanners, inventory};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use store::scan_tasks::{CreatedTask, ImageScanClaim, ImageScanOutcome, NewImageScanTask};
use time::OffsetDateTime;
use tokio::sync::Notify;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Docker Engine address; `None`: `DOCKER_HOST`, else the local socket.
    pub docker_host: Option<String>,
    /// How often the image inventory (Docker Engine and registries) is refreshed.
    pub inventory_every: Duration,
    /// How often a claim is heartbeated (and a stop noticed).
    pub heartbeat_every: Duration,
    /// A claim whose heartbeat is older than this is taken over.
    pub stale_after: Duration,
    /// Images scanned at the same time by this process.
    pub concurrency: usize,
    /// Claims of one image before it is given up as failing (a crash on it each time).
    pub max_attempts: u64,
    /// Where Docker exports are spooled (`None`: temp dir).
    pub spool_dir: Option<std::path::PathBuf>,
    /// Registries whose images join the inventory (and are read from there: layer by layer).
    pub registries: Vec<inventory::RegistryConfig>,
    /// The host's /proc, for what only the kernel knows of containers (processes, sockets).
    pub proc_root: std::path::PathBuf,
    /// containerd's socket: its containers (outside Docker's namespace) join the container assets.
    pub containerd_socket: Option<std::path::PathBuf>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            docker_host: None,
            inventory_every: Duration::from_secs(60),
            heartbeat_every: Duration::from_millis(400),
            stale_after: Duration::from_secs(10),
            concurrency: 1,
            max_attempts: 3,
            spool_dir: None,
            registries: Vec::new(),
            proc_root: "/proc".into(),
            containerd_socket: None,
        }
    }
}

/// The image worker's handle ([`WorkerHandle::refresh`] lists the inventory now).
pub use crate::claims::WorkerHandle;

struct Ctx {
    store: Store,
    engine: Arc<Engine>,
    cfg: WorkerConfig,
    wake: Arc<Notify>,
    refresh: Arc<Notify>,
    stop: Cancel,
    /// Since when no connection to the Docker Engine could be made, while that lasts.
    engine_down_since: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long images wait for an unreachable Docker Engine (a restart takes seconds) before they fail,
/// and how often the queue is tried again meanwhile.
const ENGINE_GRACE: Duration = Duration::from_secs(300);
const ENGINE_RETRY: Duration = Duration::from_secs(2);

/// Starts the claim loops, the inventory refresher and the scheduler on the current runtime.
pub fn spawn(store: Store, engine: Arc<Engine>, cfg: WorkerConfig) -> WorkerHandle {
    let mut handle = WorkerHandle::new();
    let (wake, stop) = (handle.waker(), handle.stop());
    let refresh = Arc::new(Notify::new());
    let ctx = Arc::new(Ctx {
        store,
        engine,
        cfg,
        wake: Arc::clone(&wake),
        refresh: Arc::clone(&refresh),
        stop: stop.clone(),
        engine_down_since: std::sync::Mutex::new(None),
    });
    let loops = LoopConfig { loops: ctx.cfg.concurrency, stale_after: ctx.cfg.stale_after, idle: Duration::from_millis(500) };
    handle.spawn_loops(Arc::clone(&ctx), "image", &loops);
    let c = Arc::clone(&ctx);
    tokio::spawn(async move { inventory_loop(c).await });
    let c = Arc::clone(&ctx);
    tokio::spawn(async move { scheduler_loop(c).await });
    let c = Arc::clone(&ctx);
    tokio::spawn(async move { rematch_loop(c).await });
    let nodes = crate::nodes::NodeConfig {
        docker_host: ctx.cfg.docker_host.clone(),
        proc_root: ctx.cfg.proc_root.clone(),
        containerd_socket: ctx.cfg.containerd_socket.clone(),
        every: ctx.cfg.inventory_every,
    };
    tokio::spawn(crate::nodes::run(ctx.store.clone(), nodes, ctx.stop.clone()));
    // Registries (the file's and the accounts'): their own loop, so a slow registry never holds
    // up the Docker inventory.
    let registry_refresh = Arc::new(Notify::new());
    tokio::spawn(crate::registries::run(crate::registries::SyncConfig {
        store: ctx.store.clone(),
        files: ctx.cfg.registries.clone(),
        every: ctx.cfg.inventory_every,
        refresh: Arc::clone(&registry_refresh),
        wake: Arc::clone(&wake),
        stop,
    }));
    handle.on_refresh(refresh);
    handle.on_refresh(registry_refresh);
    handle
}

/// The schedulers' "now": the real time, in every build. There is no test clock to set: when a slot
/// is due is a pure function of the settings and `now` (`schedule::next_run`, `compliance::due_slot`,
/// unit-tested with any time), and the e2e tests wait for real slots a minute ahead.
pub fn scheduler_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The Docker Engine (when reachable). Registries are listed by [`crate::registries::run`].
fn inventory_sources(cfg: &WorkerConfig) -> Vec<inventory::InventorySource> {
    let mut sources = Vec::new();
    match inventory::connect(cfg.docker_host.as_deref()) {
        Ok(d) => sources.push(inventory::InventorySource::Docker(d)),
        Err(e) => {
            tracing::warn!(error = %e, "no Docker Engine: the inventory lists registry images only")
        }
    }
    sources
}

async fn inventory_loop(ctx: Arc<Ctx>) {
    let sources = inventory_sources(&ctx.cfg);
    // Rows of registries no longer configured would otherwise stay forever.
    let configured: HashSet<String> = ctx.cfg.registries.iter().map(|r| r.source()).collect();
    for gone in ctx.store.image_asset_sources().await.unwrap_or_default() {
        if gone.starts_with(inventory::REGISTRY_SOURCE_PREFIX) && !configured.contains(&gone) {
            match ctx.store.forget_image_asset_source(&gone).await {
                Ok(n) => {
                    tracing::info!(source = %gone, rows = n, "registry no longer configured: its images left the inventory")
                }
                Err(e) => {
                    tracing::warn!(source = %gone, error = %e, "forgetting an unconfigured registry failed")
                }
            }
        }
    }
    // Per source: its last listing and the accounts it was written to. Accounts created since
    // get the last listing within a second; a source whose listing fails keeps its rows (an
    // outage is not a disappearance).
    let mut last: Vec<Option<(Vec<store::scan_tasks::ImageAsset>, HashSet<model::AccountId>)>> = vec![None; sources.len()];
    let mut next_full = tokio::time::Instant::now();
    // Workers sharing an engine list it once a period between them (the job is named by the
    // engine's own id); workers on different engines each list their own. SIGHUP lists here now.
    let job = format!("inventory:docker:{}", engine_id(&sources, ctx.cfg.docker_host.as_deref()).await);
    let mut forced = false;
    while !ctx.stop.is_cancelled() {
        let slot = crate::once::period_slot(OffsetDateTime::now_utc().unix_timestamp(), ctx.cfg.inventory_every);
        if tokio::time::Instant::now() >= next_full && !forced && !crate::once::claim(&ctx.store, &job, slot).await {
            // Another worker lists this period; try again at the next one.
            next_full = tokio::time::Instant::now() + ctx.cfg.inventory_every;
        }
        if tokio::time::Instant::now() >= next_full {
            forced = false;
            tracing::debug!(job = %job, slot, "image inventory listing");
            let listed = inventory::list_all(&sources).await;
            for ((src, slot), listing) in sources.iter().zip(last.iter_mut()).zip(listed) {
                match listing {
                    Ok(assets) => {
                        tracing::debug!(source = %src.name(), images = assets.len(), "image inventory refreshed");
                        *slot = Some((assets, HashSet::new()));
                    }
                    Err(e) => {
                        tracing::warn!(source = %src.name(), error = %e, "image inventory refresh failed")
                    }
                }
            }
            next_full = tokio::time::Instant::now() + ctx.cfg.inventory_every;
        }
        if let Ok(accounts) = ctx.store.account_ids().await {
            for (src, slot) in sources.iter().zip(last.iter_mut()) {
                let Some((assets, synced)) = slot else {
                    continue;
                };
                let new: Vec<model::AccountId> = accounts.iter().copied().filter(|a| !synced.contains(a)).collect();
                for account in new {
                    match ctx.store.sync_image_assets(account, &src.name(), assets).await {
                        Ok(()) => {
                            synced.insert(account);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, account, "image inventory sync failed")
                        }
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = ctx.refresh.notified() => {
                tracing::info!("image inventory refresh asked for");
                next_full = tokio::time::Instant::now();
                forced = true;
            }
        }
    }
}

/// The Docker Engine's id (`docker info`), else its address: names the inventory refresh job.
async fn engine_id(sources: &[inventory::InventorySource], host: Option<&str>) -> String {
    for s in sources {
        if let inventory::InventorySource::Docker(d) = s
            && let Ok(info) = d.info().await
            && let Some(id) = info.id.filter(|id| !id.is_empty())
        {
            return id;
        }
    }
    host.unwrap_or("default").to_string()
}

/// After an advisory import, re-matches every stored content report whose vulnerabilities were
/// matched under another data version: no image is read again.
async fn rematch_loop(ctx: Arc<Ctx>) {
    let mut done_for = String::new();
    while !ctx.stop.is_cancelled() {
        match ctx.store.advisory_data_version().await {
            Ok(v) if v != done_for => match rematch_stored(&ctx.store, &v).await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(images = n, "re-matched stored images against new advisory data");
                    }
                    done_for = v;
                }
                Err(e) => tracing::warn!(error = %e, "re-match after advisory update failed"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the advisory data version failed"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Re-matches every stored image's content report against the advisory data of `version`
/// (no image is read): the vulnerability findings and summary of each image matched under
/// another version are replaced, unless a newer scan finished meanwhile. Returns how many.
pub async fn rematch_stored(store: &Store, version: &str) -> Result<usize, Error> {
    if !store.has_advisories().await? {
        return Ok(0);
    }
    let mut n = 0;
    let mut cache = crate::pipeline::AdvisoryCache::default();
    for account in store.account_ids().await? {
        for r in store.image_scan_results(account).await? {
            let Ok(mut summary) = serde_json::from_str::<results::ImageSummary>(&r.summary) else {
                continue;
            };
            let Some(vul) = &summary.vul else { continue };
            // A vulnerability match that failed (no data then) is retried too: its content is stored.
            if vul.data_version == version {
                continue;
            }
            let Some(text) = store.image_findings(account, &r.image_id, results::FindingKind::Content).await?.into_iter().next() else {
                continue; // scanned before content reports were kept: the next scan stores one
            };
            let Ok(content) = serde_json::from_str::<results::StoredContent>(&text) else {
                continue;
            };
            let image = layer::ImageContent { packages: content.packages, distribution: content.distribution, ..Default::default() };
            // A few ms of matching per image (release): kept on this task rather than a blocking thread.
            let vulns = cache.match_vulns(store, &image).await?;
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let mut k = results::KindSummary::of(vulns.iter().map(|x| x.severity), now);
            k.data_version = version.to_string();
            summary.vul = Some(k);
            let rows =
                vulns.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>().map_err(|e| Error::Internal(e.to_string()))?;
            let text = serde_json::to_string(&summary).map_err(|e| Error::Internal(e.to_string()))?;
            if store.replace_image_findings(account, &r.image_id, r.scanned_at, results::FindingKind::Vul, &rows, &text).await? {
                n += 1;
            }
        }
    }
    Ok(n)
}

impl ClaimJob for Ctx {
    type Claim = ImageScanClaim;
    const WHAT: &'static str = "an image scan";

    async fn claim(&self, worker: &str, stale_before: i64) -> Result<Option<ImageScanClaim>, store::Error> {
        self.store.claim_image_scan(worker, stale_before).await
    }

    fn span(claim: &ImageScanClaim) -> tracing::Span {
        tracing::info_span!("image_scan", task = %claim.task_id, image = %claim.image_id)
    }

    async fn run(&self, worker: &str, claim: ImageScanClaim) {
        if let Err(e) = scan_claim(self, worker, &claim).await {
            tracing::error!(error = %e, "image scan bookkeeping failed");
        }
    }
}

/// Where to read an image from, best first: a configured registry holding it (layers are
/// fetched one by one, so cached layers cost nothing), then the Docker Engine (which can only
/// export the whole image).
fn read_from(cfg: &WorkerConfig, asset: &store::scan_tasks::ImageAsset) -> Vec<(image::Source, image::OpenOptions)> {
    let mut out = Vec::new();
    for reg in cfg.registries.iter().filter(|r| asset.seen_in(&r.source())) {
        let prefix = format!("{}/", reg.host);
        let reference = asset.facts.repo_digests.iter().chain(&asset.facts.names).find(|n| n.starts_with(&prefix)).cloned();
        if let (Some(reference), Ok(opts)) = (reference, reg.open_options()) {
            out.push((image::Source::Registry { reference }, opts));
        }
    }
    if asset.seen_in(inventory::DOCKER_SOURCE) {
        let opts = image::OpenOptions { docker_host: cfg.docker_host.clone(), spool_dir: cfg.spool_dir.clone(), ..Default::default() };
        out.push((image::Source::Docker { name: asset.facts.image_id.clone() }, opts));
    }
    out
}

async fn scan_claim(ctx: &Ctx, worker: &str, claim: &ImageScanClaim) -> Result<(), Error> {
    let store = &ctx.store;
    let previous = store.image_scan_result(claim.account, &claim.image_id).await?.map(|r| r.summary);
    let fail = |msg: String| {
        let summary = results::failed_summary(previous.as_deref(), &msg);
        async move {
            let o = ImageScanOutcome { summary, ..Default::default() };
            let ended = store.finish_image_scan(claim, worker, Some(&o), Some(&msg)).await?;
            after_finish(ctx, claim, ended).await
        }
    };
    if claim.attempts > ctx.cfg.max_attempts {
        return fail(format!("given up after {} attempts", claim.attempts - 1)).await;
    }
    let Some(asset) = store.image_asset(claim.account, &claim.image_id).await? else {
        return fail("the image is no longer present".into()).await;
    };
    tracing::info!(image = %claim.image_id, attempt = claim.attempts, "scanning image");

    let mut places = crate::registries::api_places(&ctx.store, claim.account, &asset).await;
    places.extend(read_from(&ctx.cfg, &asset));
    // An image only on a node (reported by its agent, in no registry this server reads): its agent
    // reads it and uploads the index, which a worker then matches like a scan's (`crate::nodes`).
    let uploaded = store.node_image_scan(claim).await?;
    if uploaded.is_none()
        && places.is_empty()
        && let Some(node) = crate::nodes::only_node(&asset)
    {
        return crate::nodes::hand_to_node(store, claim, worker, node).await;
    }
    let cancel = Cancel::new();
    let progress = Arc::new(Progress::default());
    // Heartbeat: keeps the claim and notices a stop of the task or of the server (then cancels
    // the scan; on shutdown the image is handed back to the queue).
    let hb = {
        let (store, claim, worker, progress) = (store.clone(), claim.clone(), worker.to_string(), Arc::clone(&progress));
        claims::heartbeat(ctx.cfg.heartbeat_every, ctx.stop.clone(), cancel.clone(), move || {
            let (store, claim, worker, bytes) = (store.clone(), claim.clone(), worker.clone(), progress.bytes_done());
            async move { store.heartbeat_image_scan(&claim, &worker, bytes).await }
        })
    };
    let scanners = Scanners { packages: false, vuln: claim.scan_vul, virus: claim.scan_virus, risk: claim.scan_risk };
    let nowhere = "the image is in no source this server reads".to_string();
    let open: crate::Opener = Box::new(move || {
        let fut: futures::future::BoxFuture<'static, Result<Arc<image::OpenedImage>, Error>> = Box::pin(async move {
            let mut last = Error::Internal(nowhere.clone());
            for (source, opts) in &places {
                match image::open(source, opts).await {
                    Ok(o) => {
                        tracing::info!(?source, "image opened");
                        return Ok(Arc::new(o));
                    }
                    Err(e) => {
                        tracing::warn!(?source, error = %e, "opening the image failed; trying its next source");
                        last = e.into();
                    }
                }
            }
            Err(last)
        });
        fut
    });
    let indexed = match &uploaded {
        Some((node, data)) => crate::nodes::uploaded_index(node, data),
        None => crate::index(&ctx.engine, scanners, &asset.facts.layers, open, &progress, &cancel).await,
    };
    let result = match indexed {
        Ok(indexed) => {
            let vulns =
                if claim.scan_vul { Some(crate::match_vulns(&ctx.store, &indexed.content).await.map_err(|e| e.to_string())) } else { None };
            Ok((indexed, vulns))
        }
        Err(e) => Err(e),
    };
    drop(hb);
    cancel.cancel();
    match result {
        Ok((indexed, vulns)) => {
            engine_outage(ctx, false);
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let data_version = if claim.scan_vul { store.advisory_data_version().await? } else { String::new() };
            let f = ImageFindings {
                data_version,
                indexed: &indexed,
                scan_vul: claim.scan_vul,
                scan_virus: claim.scan_virus,
                scan_risk: claim.scan_risk,
                vulns: vulns.as_ref().map(|r| r.as_deref().map_err(Clone::clone)),
            };
            let o = results::outcome(previous.as_deref(), &f, now).map_err(|e| Error::Internal(e.to_string()))?;
            let ended = store.finish_image_scan(claim, worker, Some(&o), None).await?;
            if ended.is_none() {
                tracing::info!(task = %claim.task_id, image = %claim.image_id, "claim lost (task stopped): result dropped");
            }
            after_finish(ctx, claim, ended).await
        }
        Err(e) if e.is_cancelled() && ctx.stop.is_cancelled() => {
            // Shutting down: the image goes back to the queue for the next worker, at once, and this
            // attempt does not count toward giving the image up.
            match store.release_image_scan(claim, worker).await {
                Ok(true) => tracing::info!(task = %claim.task_id, image = %claim.image_id, "stopping: image scan handed back to the queue"),
                Ok(false) => tracing::info!(task = %claim.task_id, image = %claim.image_id, "image scan cancelled"),
                Err(e) => {
                    tracing::warn!(task = %claim.task_id, image = %claim.image_id, error = %e, "handing the image scan back failed: it is resumed once its claim is stale")
                }
            }
            Ok(())
        }
        Err(e) if e.is_cancelled() => {
            tracing::info!(task = %claim.task_id, image = %claim.image_id, "image scan cancelled");
            Ok(())
        }
        Err(e) if e.is_engine_unreachable() && engine_outage(ctx, true) => {
            // Not this image's failure: nothing was read. It goes back to the queue uncounted, and
            // the queue waits a moment (a restarting daemon), up to ENGINE_GRACE.
            tracing::warn!(task = %claim.task_id, image = %claim.image_id, error = %e, retry_in = ?ENGINE_RETRY, "the Docker Engine is unreachable: the image goes back to the queue");
            if let Err(e) = store.release_image_scan(claim, worker).await {
                tracing::warn!(task = %claim.task_id, image = %claim.image_id, error = %e, "handing the image scan back failed: it is resumed once its claim is stale");
            }
            tokio::select! {
                _ = tokio::time::sleep(ENGINE_RETRY) => {}
                _ = ctx.stop.cancelled() => {}
            }
            Ok(())
        }
        Err(e) => {
            engine_outage(ctx, e.is_engine_unreachable());
            fail(e.to_string()).await
        }
    }
}

/// Records whether the Docker Engine could be reached; `true` while an outage is younger than
/// [`ENGINE_GRACE`] (images wait for it), `false` once it is older (images fail) or when reachable.
fn engine_outage(ctx: &Ctx, unreachable: bool) -> bool {
    let mut since = ctx.engine_down_since.lock().unwrap_or_else(|p| p.into_inner());
    if !unreachable {
        *since = None;
        return false;
    }
    since.get_or_insert_with(std::time::Instant::now).elapsed() < ENGINE_GRACE
}

/// After the last image of a scheduled task, records `LastScanTime` / `ScanResult`.
async fn after_finish(ctx: &Ctx, claim: &ImageScanClaim, ended: Option<bool>) -> Result<(), Error> {
    if ended != Some(true) {
        return Ok(());
    }
    let Some(task) = ctx.store.image_scan_task(claim.account, Some(&claim.task_id)).await? else {
        return Ok(());
    };
    tracing::info!(task = %task.task_id, sub_status = %task.sub_status, "image scan task finished");
    if task.scheduled {
        let result = if task.sub_status == "Success" { "Success" } else { "InternalError" };
        ctx.store.record_scheduled_task(claim.account, &task, result).await?;
    }
    Ok(())
}

async fn scheduler_loop(ctx: Arc<Ctx>) {
    while !ctx.stop.is_cancelled() {
        if let Err(e) = scheduler_tick(&ctx).await {
            tracing::warn!(error = %e, "image scan scheduler tick failed");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn scheduler_tick(ctx: &Arc<Ctx>) -> Result<(), Error> {
    let real_now = OffsetDateTime::now_utc().unix_timestamp();
    for (account, task_id) in ctx.store.overdue_image_scan_tasks(real_now).await? {
        if ctx.store.stop_image_scan_task(account, &task_id, "Timeout").await? {
            tracing::info!(task = %task_id, "image scan task timed out");
            if let Some(t) = ctx.store.image_scan_task(account, Some(&task_id)).await?
                && t.scheduled
            {
                ctx.store.record_scheduled_task(account, &t, "Success").await?;
            }
        }
    }
    let now = scheduler_now();
    for s in ctx.store.image_scan_schedules().await? {
        let Some(settings) = schedule_settings(&s) else {
            continue;
        };
        let last = s.last_slot.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
        let Some(slot) = schedule::next_run(&settings, last, now) else {
            continue;
        };
        if slot > now {
            continue;
        }
        // One worker fires the slot (the others lose the claim); then the slot is remembered
        // before firing: a crash right after must not fire it again.
        let job = format!("image-scan-schedule:{}", s.account);
        if !ctx.store.claim_job_slot(&job, slot.unix_timestamp(), crate::once::holder(), real_now).await? {
            continue;
        }
        ctx.store.set_image_scan_last_slot(s.account, slot.unix_timestamp()).await?;
        tracing::info!(account = s.account, slot = %slot, "scheduled image scan due");
        fire_scheduled(ctx, &s, &settings, now).await?;
    }
    Ok(())
}

fn schedule_settings(s: &store::scan_tasks::ImageScanSchedule) -> Option<ScheduleSettings> {
    Some(ScheduleSettings {
        enable: s.setting.enable,
        scan_time: schedule::parse_time_of_day(&s.setting.scan_time).ok()?,
        scan_period_days: u32::try_from(s.setting.scan_period).unwrap_or(u32::MAX).max(1),
        scan_end_time: s.setting.scan_end_time.as_deref().filter(|e| !e.is_empty()).and_then(|e| schedule::parse_time_of_day(e).ok()),
        updated_at: OffsetDateTime::from_unix_timestamp(s.updated_at).ok()?,
    })
}

async fn fire_scheduled(
    ctx: &Arc<Ctx>,
    s: &store::scan_tasks::ImageScanSchedule,
    settings: &ScheduleSettings,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let at = store::scan_tasks::format_utc(OffsetDateTime::now_utc().unix_timestamp());
    let st = &s.setting;
    if !(st.scan_vul || st.scan_virus || st.scan_risk) {
        ctx.store.record_scheduled_image_scan(s.account, &at, "ImageNeedIsEmpty").await?;
        return Ok(());
    }
    if st.scan_vul && !ctx.store.has_advisories().await.unwrap_or(false) {
        tracing::warn!(account = s.account, "scheduled scan asks for vulnerabilities but no advisory data is loaded");
        ctx.store.record_scheduled_image_scan(s.account, &at, "InternalError").await?;
        return Ok(());
    }
    // The inventory as of now.
    let sources = inventory_sources(&ctx.cfg);
    for (src, listing) in sources.iter().zip(inventory::list_all(&sources).await) {
        let synced = match listing {
            Ok(assets) => ctx.store.sync_image_assets(s.account, &src.name(), &assets).await.map_err(Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = synced {
            tracing::warn!(source = %src.name(), error = %e, "inventory refresh before a scheduled scan failed");
        }
    }
    let assets = ctx.store.image_assets(s.account).await?;
    let selected: Vec<(String, u64)> = assets
        .iter()
        .filter(|a| match st.scan_scope {
            1 => st.images.iter().any(|i| i == &a.facts.image_id || a.facts.names.contains(i)),
            // Recommended: images in use by some container.
            2 => a.facts.container_cnt > 0,
            // Cluster filter: Shipshape sees no clusters.
            3 => false,
            _ => true,
        })
        .filter(|a| !st.container_running || a.facts.running_cnt > 0)
        .filter(|a| !st.exclude_images.iter().any(|x| x == &a.facts.image_id || a.facts.names.contains(x)))
        .map(|a| (a.facts.image_id.clone(), a.facts.size))
        .collect();
    if selected.is_empty() {
        ctx.store.record_scheduled_image_scan(s.account, &at, "ImageNeedIsEmpty").await?;
        return Ok(());
    }
    let real = OffsetDateTime::now_utc();
    let deadline = schedule::deadline(settings, now).map(|d| real.unix_timestamp() + (d - now).whole_seconds());
    let new = NewImageScanTask {
        scan_vul: st.scan_vul,
        scan_virus: st.scan_virus,
        scan_risk: st.scan_risk,
        scheduled: true,
        deadline,
        images: selected,
    };
    match ctx.store.create_image_scan_task(s.account, &new).await? {
        CreatedTask::Created(id) => {
            tracing::info!(account = s.account, task = %id, "scheduled image scan started");
            ctx.wake.notify_waiters();
        }
        CreatedTask::AlreadyRunning(id) => {
            tracing::info!(account = s.account, running = %id, "scheduled image scan skipped: a scan is running");
        }
    }
    Ok(())
}
