//! Registries as inventory sources: the sync loop over the registries of the registries file
//! (shared by every account) and the accounts' API registries (`store::registries`), their
//! connection checks, the registry scan schedule (`UpdateImageRegistryTimingScanTask`), and where
//! the image scan worker reads an API registry's image from.
//!
//! A sync lists the registry with one [`image::RegistryClient`]: catalog (or the configured
//! repositories), tags, one manifest request per tag, and an image config only for image ids no
//! source of the account has shown before; then writes its tags and inventory rows in one
//! transaction. Registries are synced when added or edited, on `SyncAssetImageRegistryAsset`,
//! every inventory period and on SIGHUP. Scans go through the image scan queue like any other:
//! registry scan tasks are its `registry` family, and the worker reads the image layer by layer
//! from a registry holding it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use image::{ManifestInfo, RegistryClient};
use model::AccountId;
use model::node::ImageFacts;
use store::Store;
use store::registries::{
    API_SOURCE_PREFIX, CONN_AUTH_FAILED, CONN_FAILED, CONN_SUCCESS, ConnStatus, ConnectionCheck, FileRegistry, ORIGIN_FILE, Registry,
    RegistrySpec, RegistryTag,
};
use store::scan_tasks::{CreatedTask, ImageAsset, NewImageScanTask};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::inventory::{self, RegistryConfig};
use crate::schedule::{self, ScheduleSettings};
use crate::{Cancel, Error};

/// Longest a connection check may take (the API waits for it on add and update).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest one HTTP request of a sync may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Manifest requests in flight per registry.
const CONCURRENCY: usize = 8;
/// API registries are listed again at the inventory period but not more often than this: a
/// customer's registry (with pull limits, Docker Hub) is not polled every few seconds; a sync
/// asked for (`SyncAssetImageRegistryAsset`, an edit, SIGHUP) runs at once.
const API_MIN_PERIOD: Duration = Duration::from_secs(600);

/// How to reach one registry.
#[derive(Clone)]
pub struct RegistryTarget {
    pub host: String,
    pub opts: image::OpenOptions,
    pub repositories: Option<Vec<String>>,
}

impl std::fmt::Debug for RegistryTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // OpenOptions' Debug never prints the password.
        f.debug_struct("RegistryTarget").field("host", &self.host).field("auth", &self.opts.auth).finish_non_exhaustive()
    }
}

impl RegistryTarget {
    /// An API registry with its unsealed password.
    pub fn of_spec(spec: &RegistrySpec, password: Option<&str>) -> RegistryTarget {
        let auth = match (spec.username.is_empty(), password) {
            (false, Some(p)) => image::RegistryAuth::Basic { username: spec.username.clone(), password: p.to_string() },
            _ => image::RegistryAuth::Anonymous,
        };
        let opts = image::OpenOptions {
            insecure: spec.plain_http,
            accept_invalid_certs: spec.insecure,
            // SpeedLimit is MB/s of layer downloads.
            max_layer_bytes_per_sec: spec.speed_limit.saturating_mul(1_000_000),
            auth,
            ..Default::default()
        };
        RegistryTarget { host: spec.host.clone(), opts, repositories: spec.repositories.clone() }
    }

    /// A registries-file entry (its password resolved from the file or the environment).
    pub fn of_file(cfg: &RegistryConfig) -> Result<RegistryTarget, Error> {
        Ok(RegistryTarget { host: cfg.host.clone(), opts: cfg.open_options()?, repositories: cfg.repositories.clone() })
    }

    fn client(&self, timeout: Duration) -> Result<RegistryClient, image::Error> {
        RegistryClient::new(&self.host, &self.opts, timeout)
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The connection status an error means.
pub fn conn_of(result: Result<(), &image::Error>) -> ConnStatus {
    let (status, message) = match result {
        Ok(()) => (CONN_SUCCESS, String::new()),
        Err(e @ image::Error::Unauthorized(_)) => (CONN_AUTH_FAILED, e.to_string()),
        Err(e) => (CONN_FAILED, e.to_string()),
    };
    ConnStatus { status: status.into(), message, checked_at: Some(now()) }
}

/// Checks address and credential (`docker login`), within [`CHECK_TIMEOUT`].
pub async fn check_connection(t: &RegistryTarget) -> ConnStatus {
    let res = match t.client(CHECK_TIMEOUT) {
        Ok(c) => tokio::time::timeout(CHECK_TIMEOUT, c.check())
            .await
            .unwrap_or_else(|_| Err(image::Error::Registry(format!("{}: no answer within {} s", t.host, CHECK_TIMEOUT.as_secs())))),
        Err(e) => Err(e),
    };
    conn_of(res.as_ref().map(|_| ()))
}

/// [`ConnectionCheck`] for the service (add and update).
pub struct Prober;

impl ConnectionCheck for Prober {
    fn check<'a>(
        &'a self,
        spec: &'a RegistrySpec,
        password: Option<&'a str>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ConnStatus> + Send + 'a>> {
        Box::pin(async move { check_connection(&RegistryTarget::of_spec(spec, password)).await })
    }
}

/// A registry's tags and images as one sync found them.
#[derive(Debug, Default)]
pub struct Listing {
    pub tags: Vec<RegistryTag>,
    /// One row per image id, named by every `HOST/REPO:TAG` it has.
    pub assets: Vec<ImageAsset>,
    /// HTTP requests sent (token requests included).
    pub requests: u64,
    /// Tags left out (deleted since the tag list, another platform only, a broken manifest).
    pub skipped: usize,
    /// Manifests read: new or changed tags (a known tag is asked with HEAD first).
    pub manifests: usize,
    /// Known tags whose digest was unchanged (HEAD only).
    pub unchanged: usize,
}

/// A tag's manifest as read, or the stored row of a tag whose digest did not change.
enum Fetched {
    Manifest(ManifestInfo),
    Unchanged(RegistryTag),
}

/// Errors that fail a listing (the registry is unreachable or refuses us); others skip a tag.
fn fatal(e: &image::Error) -> bool {
    matches!(e, image::Error::Unauthorized(_) | image::Error::Registry(_) | image::Error::Io { .. })
}

/// Lists a registry: the tags of `known` (what the last sync stored) are taken as they are when
/// `incremental`, otherwise each is asked with HEAD and read again only when its digest changed;
/// new tags' manifests are read; an image config is fetched only for image ids not in `images`
/// (already seen in the account's inventory).
pub async fn list_registry(
    t: &RegistryTarget,
    source: &str,
    known: &[RegistryTag],
    incremental: bool,
    images: &HashMap<String, ImageAsset>,
) -> Result<Listing, image::Error> {
    let client = t.client(REQUEST_TIMEOUT)?;
    client.check().await?;
    let repos = match &t.repositories {
        Some(r) => r.clone(),
        None => client.repositories().await?,
    };
    let known: HashMap<(&str, &str), &RegistryTag> = known.iter().map(|k| ((k.repository.as_str(), k.tag.as_str()), k)).collect();
    let mut listing = Listing::default();
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut kept: Vec<RegistryTag> = Vec::new();
    for repo in &repos {
        let tags = match client.tags(repo).await {
            Ok(t) => t,
            Err(e) if !fatal(&e) => {
                tracing::warn!(host = %t.host, repository = %repo, error = %e, "registry repository skipped");
                continue;
            }
            Err(e) => return Err(e),
        };
        for tag in tags {
            match known.get(&(repo.as_str(), tag.as_str())) {
                Some(k) if incremental => kept.push((*k).clone()),
                _ => wanted.push((repo.clone(), tag)),
            }
        }
    }
    // Manifests, a few in flight (a remote registry answers in tens of ms each). A tag seen
    // before is asked with HEAD first: unchanged (the usual case), its stored row is kept and no
    // manifest is pulled.
    let client = &client;
    let known_ref = &known;
    let fetched: Vec<((String, String), Result<Fetched, image::Error>)> = futures::stream::iter(wanted)
        .map(|(repo, tag)| async move {
            let known_tag = known_ref.get(&(repo.as_str(), tag.as_str())).map(|k| (*k).clone());
            if let Some(k) = known_tag {
                match client.manifest_digest(&repo, &tag).await {
                    Ok(Some(d)) if d == k.digest => return ((repo, tag), Ok(Fetched::Unchanged(k))),
                    Ok(_) => {}
                    Err(e) => return ((repo, tag), Err(e)),
                }
            }
            let m = client.manifest(&repo, &tag).await.map(Fetched::Manifest);
            ((repo, tag), m)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    listing.manifests = fetched.iter().filter(|(_, m)| matches!(m, Ok(Fetched::Manifest(_)))).count();
    let mut by_id: HashMap<String, ImageAsset> = HashMap::new();
    let mut found: Vec<(String, String, ManifestInfo)> = Vec::new();
    for ((repo, tag), m) in fetched {
        match m {
            Ok(Fetched::Manifest(m)) => found.push((repo, tag, m)),
            Ok(Fetched::Unchanged(k)) => {
                listing.unchanged += 1;
                kept.push(k);
            }
            Err(e) if fatal(&e) => return Err(e),
            Err(e) => {
                tracing::warn!(reference = %format!("{}/{repo}:{tag}", t.host), error = %e, "registry image skipped");
                listing.skipped += 1;
            }
        }
    }
    // Configs of images seen for the first time, once each.
    for (repo, tag, m) in &found {
        if by_id.contains_key(&m.config_digest) {
            continue;
        }
        if let Some(a) = images.get(&m.config_digest) {
            let mut a = a.clone();
            (a.facts.names, a.facts.repo_digests, a.sources, a.facts.container_cnt, a.facts.running_cnt) =
                (vec![], vec![], vec![source.to_string()], 0, 0);
            a.facts.size = m.size();
            by_id.insert(m.config_digest.clone(), a);
            continue;
        }
        match client.image(repo, tag, m).await {
            Ok(img) => {
                by_id.insert(img.id.clone(), inventory::asset_of(&img, source.to_string()));
            }
            Err(e) if fatal(&e) => return Err(e),
            Err(e) => tracing::warn!(reference = %format!("{}/{repo}:{tag}", t.host), error = %e, "registry image config unreadable"),
        }
    }
    for (repo, tag, m) in found {
        let Some(a) = by_id.get_mut(&m.config_digest) else {
            listing.skipped += 1;
            continue;
        };
        a.facts.names.push(format!("{}/{repo}:{tag}", t.host));
        a.facts.repo_digests.push(format!("{}/{repo}@{}", t.host, m.digest));
        listing.tags.push(RegistryTag {
            repository: repo,
            tag,
            image_id: m.config_digest.clone(),
            digest: m.digest.clone(),
            size: m.size(),
            created: a.facts.created.clone(),
            os: a.facts.os.clone(),
            architecture: a.facts.architecture.clone(),
        });
    }
    // Tags kept unread (incremental) still name their image.
    for k in kept {
        let entry = by_id.entry(k.image_id.clone()).or_insert_with(|| {
            let mut a = images.get(&k.image_id).cloned().unwrap_or_else(|| ImageAsset {
                facts: ImageFacts {
                    image_id: k.image_id.clone(),
                    size: k.size,
                    created: k.created.clone(),
                    os: k.os.clone(),
                    architecture: k.architecture.clone(),
                    ..Default::default()
                },
                ..Default::default()
            });
            (a.facts.names, a.facts.repo_digests, a.sources, a.facts.container_cnt, a.facts.running_cnt) =
                (vec![], vec![], vec![source.to_string()], 0, 0);
            a.facts.size = k.size;
            a
        });
        entry.facts.names.push(format!("{}/{}:{}", t.host, k.repository, k.tag));
        entry.facts.repo_digests.push(format!("{}/{}@{}", t.host, k.repository, k.digest));
        listing.tags.push(k);
    }
    let mut assets: Vec<ImageAsset> = by_id.into_values().filter(|a| !a.facts.names.is_empty()).collect();
    for a in &mut assets {
        a.facts.names.sort();
        a.facts.names.dedup();
        a.facts.repo_digests.sort();
        a.facts.repo_digests.dedup();
    }
    assets.sort_by(|a, b| a.facts.image_id.cmp(&b.facts.image_id));
    listing.assets = assets;
    listing.requests = client.requests();
    Ok(listing)
}

/// Where the worker can read an image of an API registry: `(source, options)` per registry of
/// the account holding it (credentials unsealed now).
pub async fn api_places(store: &Store, account: AccountId, asset: &ImageAsset) -> Vec<(image::Source, image::OpenOptions)> {
    let mut out = Vec::new();
    for src in &asset.sources {
        let Some(id) = src.strip_prefix(API_SOURCE_PREFIX).and_then(|i| i.parse::<i64>().ok()) else {
            continue;
        };
        let reg = match store.registry(account, id).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(registry = id, error = %e, "reading a registry failed");
                continue;
            }
        };
        let password = match store.registry_password(account, id).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(registry = id, error = %e, "unsealing a registry password failed");
                continue;
            }
        };
        let t = RegistryTarget::of_spec(&reg.spec, password.as_deref());
        let prefix = format!("{}/", t.host);
        if let Some(reference) = asset.facts.repo_digests.iter().chain(&asset.facts.names).find(|n| n.starts_with(&prefix)).cloned() {
            out.push((image::Source::Registry { reference }, t.opts));
        }
    }
    out
}

/// What the sync loop needs.
pub struct SyncConfig {
    pub store: Store,
    /// The registries file's entries.
    pub files: Vec<RegistryConfig>,
    /// Every registry is listed again after this long.
    pub every: Duration,
    /// Lists every registry now (SIGHUP).
    pub refresh: Arc<Notify>,
    /// Wakes the scan workers (a scheduled task was queued).
    pub wake: Arc<Notify>,
    pub stop: Cancel,
}

/// Which registry a sync job lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Job {
    /// A registries-file host: one listing written to every account.
    File(String),
    Api(AccountId, i64),
}

/// Runs until `stop`: syncs (requests, the period, SIGHUP) and the registry scan schedule.
pub async fn run(cfg: SyncConfig) {
    let cfg = Arc::new(cfg);
    let files: Vec<FileRegistry> = cfg
        .files
        .iter()
        .map(|f| FileRegistry {
            host: f.host.clone(),
            plain_http: f.insecure,
            username: f.username.clone(),
            repositories: f.repositories.clone(),
        })
        .collect();
    let running: Arc<Mutex<HashSet<Job>>> = Arc::new(Mutex::new(HashSet::new()));
    let mut mirrored: HashSet<AccountId> = HashSet::new();
    let mut last: HashMap<Job, tokio::time::Instant> = HashMap::new();
    // SIGHUP: every registry now, in this process, whoever holds the period's slot.
    let mut forced = false;
    // Accounts found on the first round are listed at the first period like any other.
    let mut started = false;
    while !cfg.stop.is_cancelled() {
        // Every account sees the file's registries (new accounts within a second).
        if let Ok(accounts) = cfg.store.account_ids().await {
            let new: Vec<AccountId> = accounts.into_iter().filter(|a| !mirrored.contains(a)).collect();
            for a in new {
                match cfg.store.mirror_file_registries(a, &files).await {
                    Ok(()) => {
                        mirrored.insert(a);
                        // A new account gets the file registries' rows at the next listing (this
                        // process lists them now, whoever holds the period).
                        for f in &cfg.files {
                            last.remove(&Job::File(f.host.clone()));
                        }
                        forced |= started;
                    }
                    Err(e) => tracing::warn!(account = a, error = %e, "mirroring the registries file failed"),
                }
            }
        }
        let mut due: Vec<Job> = Vec::new();
        match cfg.store.claim_registry_syncs().await {
            Ok(asked) => {
                for (account, id) in asked {
                    match cfg.store.registry(account, id).await {
                        Ok(Some(r)) if r.origin == ORIGIN_FILE => due.push(Job::File(r.spec.host)),
                        Ok(Some(_)) => due.push(Job::Api(account, id)),
                        _ => {}
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "claiming registry sync requests failed"),
        }
        let now = tokio::time::Instant::now();
        let every = |j: &Job| if matches!(j, Job::Api(..)) { cfg.every.max(API_MIN_PERIOD) } else { cfg.every };
        let periodic = |j: &Job| last.get(j).is_none_or(|t| now.duration_since(*t) >= every(j));
        let mut periodic_due: Vec<Job> = cfg.files.iter().map(|f| Job::File(f.host.clone())).filter(|j| periodic(j)).collect();
        if let Ok(all) = cfg.store.all_registries().await {
            for (account, r) in all.iter().filter(|(_, r)| r.origin != ORIGIN_FILE) {
                let j = Job::Api(*account, r.registry_id);
                if periodic(&j) {
                    periodic_due.push(j);
                }
            }
        }
        // One worker lists a registry per period: the others skip to their next period.
        let unix_now = OffsetDateTime::now_utc().unix_timestamp();
        for j in periodic_due {
            let name = match &j {
                Job::File(host) => format!("registry-sync:file:{host}"),
                Job::Api(account, id) => format!("registry-sync:{account}:{id}"),
            };
            if forced || crate::once::claim(&cfg.store, &name, crate::once::period_slot(unix_now, every(&j))).await {
                due.push(j);
            } else {
                last.insert(j, now);
            }
        }
        forced = false;
        started = true;
        for job in due {
            if !running.lock().map(|mut r| r.insert(job.clone())).unwrap_or(false) {
                continue; // already being listed; its result is as fresh
            }
            last.insert(job.clone(), now);
            let (cfg2, running2) = (Arc::clone(&cfg), Arc::clone(&running));
            tokio::spawn(async move {
                if let Err(e) = sync_job(&cfg2, &job).await {
                    tracing::warn!(?job, error = %e, "registry sync bookkeeping failed");
                }
                if let Ok(mut r) = running2.lock() {
                    r.remove(&job);
                }
            });
        }
        if let Err(e) = schedule_tick(&cfg).await {
            tracing::warn!(error = %e, "registry scan scheduler tick failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = cfg.refresh.notified() => {
                tracing::info!("registry refresh asked for");
                last.clear();
                forced = true;
            }
        }
    }
}

/// Every image the account's inventory knows, by id (spares the config request).
async fn known_images(store: &Store, account: AccountId) -> HashMap<String, ImageAsset> {
    store.image_assets(account).await.unwrap_or_default().into_iter().map(|a| (a.facts.image_id.clone(), a)).collect()
}

async fn sync_job(cfg: &SyncConfig, job: &Job) -> Result<(), Error> {
    let store = &cfg.store;
    match job {
        Job::File(host) => {
            let Some(file) = cfg.files.iter().find(|f| &f.host == host) else { return Ok(()) };
            // Every account's row of this host, as it is now.
            let rows: Vec<(AccountId, Registry)> =
                store.all_registries().await?.into_iter().filter(|(_, r)| r.origin == ORIGIN_FILE && &r.spec.host == host).collect();
            for (a, r) in &rows {
                store.start_registry_sync(*a, r.registry_id).await?;
            }
            let source = format!("{}{host}", store::registries::FILE_SOURCE_PREFIX);
            let images = match rows.first() {
                Some((a, _)) => known_images(store, *a).await,
                None => HashMap::new(),
            };
            let known = match rows.first() {
                Some((a, r)) => store.registry_tags(*a, r.registry_id).await?,
                None => Vec::new(),
            };
            let started = std::time::Instant::now();
            let listed = match RegistryTarget::of_file(file) {
                Ok(t) => timed_listing(&t, &source, &known, false, &images).await,
                Err(e) => Err(image::Error::Registry(e.to_string())),
            };
            let conn = conn_of(listed.as_ref().map(|_| ()));
            for (a, r) in &rows {
                let outcome = listed.as_ref().map(|l| (l.tags.as_slice(), l.assets.as_slice())).map_err(|e| e.to_string());
                store
                    .finish_registry_sync(*a, r.registry_id, r.updated_at, outcome.as_ref().map(|x| *x).map_err(|e| e.as_str()), &conn)
                    .await?;
                if let Ok(l) = &listed {
                    auto_scan(cfg, *a, r, l).await?;
                }
            }
            log_listing(&source, &listed, started);
        }
        Job::Api(account, id) => {
            let Some(r) = store.registry(*account, *id).await? else { return Ok(()) };
            store.start_registry_sync(*account, *id).await?;
            let password = store.registry_password(*account, *id).await?;
            let t = RegistryTarget::of_spec(&r.spec, password.as_deref());
            let known = store.registry_tags(*account, *id).await?;
            let images = known_images(store, *account).await;
            let started = std::time::Instant::now();
            let listed = timed_listing(&t, &r.source(), &known, r.spec.sync_mode == 1, &images).await;
            let conn = conn_of(listed.as_ref().map(|_| ()));
            let outcome = listed.as_ref().map(|l| (l.tags.as_slice(), l.assets.as_slice())).map_err(|e| e.to_string());
            let written = store
                .finish_registry_sync(*account, *id, r.updated_at, outcome.as_ref().map(|x| *x).map_err(|e| e.as_str()), &conn)
                .await?;
            log_listing(&format!("{} ({})", r.source(), r.spec.host), &listed, started);
            if written && let Ok(l) = &listed {
                auto_scan(cfg, *account, &r, l).await?;
            }
        }
    }
    Ok(())
}

async fn timed_listing(
    t: &RegistryTarget,
    source: &str,
    known: &[RegistryTag],
    incremental: bool,
    images: &HashMap<String, ImageAsset>,
) -> Result<Listing, image::Error> {
    tokio::time::timeout(inventory::LIST_TIMEOUT, list_registry(t, source, known, incremental, images))
        .await
        .unwrap_or_else(|_| Err(image::Error::Registry(format!("listing took over {} s", inventory::LIST_TIMEOUT.as_secs()))))
}

/// One line per sync: what was listed, and how long listing and writing took.
fn log_listing(source: &str, listed: &Result<Listing, image::Error>, started: std::time::Instant) {
    match listed {
        Ok(l) => tracing::info!(
            source,
            elapsed_ms = started.elapsed().as_millis() as u64,
            tags = l.tags.len(),
            images = l.assets.len(),
            manifests = l.manifests,
            unchanged = l.unchanged,
            skipped = l.skipped,
            requests = l.requests,
            "registry synced"
        ),
        // The same words as the Docker inventory's failures: one thing to grep for.
        Err(e) => tracing::warn!(source, error = %e, "image inventory refresh failed"),
    }
}

/// `NeedScan`: after a sync, queue the registry's images never scanned (full sync mode: only
/// each repository's latest). Skipped while a registry task runs; the next sync catches up.
async fn auto_scan(cfg: &SyncConfig, account: AccountId, r: &Registry, l: &Listing) -> Result<(), Error> {
    if !r.spec.need_scan || l.tags.is_empty() {
        return Ok(());
    }
    let store = &cfg.store;
    let scanned: HashSet<String> = store.image_scan_results(account).await?.into_iter().map(|x| x.image_id).collect();
    let rows: Vec<_> = store.registry_images(account).await?.into_iter().filter(|x| x.registry_id == r.registry_id).collect();
    let latest = store::registries::latest_ids(&rows);
    let mut seen = HashSet::new();
    let images: Vec<(String, u64)> = rows
        .iter()
        .filter(|x| r.spec.sync_mode == 1 || latest.contains(&x.id))
        .filter(|x| !scanned.contains(&x.tag.image_id) && seen.insert(x.tag.image_id.clone()))
        .map(|x| (x.tag.image_id.clone(), x.tag.size))
        .collect();
    if images.is_empty() {
        return Ok(());
    }
    let vul = store.has_advisories().await?;
    let new = NewImageScanTask { scan_vul: vul, scan_virus: true, scan_risk: true, scheduled: false, deadline: None, images };
    match store.create_registry_scan_task(account, &new).await? {
        CreatedTask::Created(id) => {
            tracing::info!(account, registry = r.registry_id, task = %id, "new registry images queued for scanning (NeedScan)");
            cfg.wake.notify_waiters();
        }
        CreatedTask::AlreadyRunning(id) => tracing::info!(account, running = %id, "NeedScan waits for the running registry scan"),
    }
    Ok(())
}

/// Fires due registry scan schedules (restart-safe: the slot is stored before the task).
async fn schedule_tick(cfg: &SyncConfig) -> Result<(), Error> {
    let now = crate::worker::scheduler_now();
    for s in cfg.store.registry_scan_schedules().await? {
        let st = &s.setting;
        let Some(settings) = (|| {
            Some(ScheduleSettings {
                enable: st.enable,
                scan_time: schedule::parse_time_of_day(&st.scan_time).ok()?,
                scan_period_days: u32::try_from(st.scan_period).unwrap_or(u32::MAX).max(1),
                scan_end_time: st.scan_end_time.as_deref().filter(|e| !e.is_empty()).and_then(|e| schedule::parse_time_of_day(e).ok()),
                updated_at: OffsetDateTime::from_unix_timestamp(s.updated_at).ok()?,
            })
        })() else {
            continue;
        };
        let last = s.last_slot.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
        let Some(slot) = schedule::next_run(&settings, last, now) else { continue };
        if slot > now {
            continue;
        }
        // One worker fires the slot; the others lose the claim.
        let job = format!("registry-scan-schedule:{}", s.account);
        if !cfg.store.claim_job_slot(&job, slot.unix_timestamp(), crate::once::holder(), OffsetDateTime::now_utc().unix_timestamp()).await?
        {
            continue;
        }
        cfg.store.set_registry_scan_last_slot(s.account, slot.unix_timestamp()).await?;
        tracing::info!(account = s.account, slot = %slot, "scheduled registry scan due");
        fire_scheduled(cfg, s.account, st, &settings, now).await?;
    }
    Ok(())
}

async fn fire_scheduled(
    cfg: &SyncConfig,
    account: AccountId,
    st: &store::registries::RegistryScanSetting,
    settings: &ScheduleSettings,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let store = &cfg.store;
    let at = store::scan_tasks::format_utc(OffsetDateTime::now_utc().unix_timestamp());
    if st.scan_vul && !store.has_advisories().await.unwrap_or(false) {
        tracing::warn!(account, "scheduled registry scan asks for vulnerabilities but no advisory data is loaded");
        store.record_scheduled_registry_scan(account, &at, "InternalError").await?;
        return Ok(());
    }
    let rows = store.registry_images(account).await?;
    let counts: HashMap<String, (u64, u64)> =
        store.image_container_counts(account).await?.into_iter().map(|(id, all, running)| (id, (all, running))).collect();
    let containers = |id: &str| counts.get(id).copied().unwrap_or_default();
    let mut seen = HashSet::new();
    let images: Vec<(String, u64)> = st
        .selection
        .select(&rows, &containers)
        .into_iter()
        .filter(|r| seen.insert(r.tag.image_id.clone()))
        .map(|r| (r.tag.image_id.clone(), r.tag.size))
        .collect();
    if images.is_empty() || !(st.scan_vul || st.scan_virus || st.scan_risk) {
        store.record_scheduled_registry_scan(account, &at, "ImageNeedIsEmpty").await?;
        return Ok(());
    }
    let real = OffsetDateTime::now_utc();
    let deadline = schedule::deadline(settings, now).map(|d| real.unix_timestamp() + (d - now).whole_seconds());
    let new =
        NewImageScanTask { scan_vul: st.scan_vul, scan_virus: st.scan_virus, scan_risk: st.scan_risk, scheduled: true, deadline, images };
    match store.create_registry_scan_task(account, &new).await? {
        CreatedTask::Created(id) => {
            tracing::info!(account, task = %id, "scheduled registry scan started");
            cfg.wake.notify_waiters();
        }
        CreatedTask::AlreadyRunning(id) => {
            tracing::info!(account, running = %id, "scheduled registry scan skipped: a registry scan is running")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    fn spec(host: &str, user: &str) -> RegistrySpec {
        RegistrySpec { host: host.into(), plain_http: true, username: user.into(), ..Default::default() }
    }

    /// Against the test registries of scripts/services.sh (skipped without them).
    #[tokio::test]
    async fn lists_with_one_request_per_tag_and_checks_credentials() {
        let (Some(anon), Some(auth), Some(user), Some(password)) = (
            env("SHIPSHAPE_TEST_REGISTRY"),
            env("SHIPSHAPE_TEST_REGISTRY_AUTH"),
            env("SHIPSHAPE_TEST_REGISTRY_USER"),
            env("SHIPSHAPE_TEST_REGISTRY_PASSWORD"),
        ) else {
            eprintln!("SHIPSHAPE_TEST_REGISTRY* unset: skipped");
            return;
        };
        let t = RegistryTarget::of_spec(&spec(&anon, ""), None);
        let first = list_registry(&t, "registry-api:1", &[], false, &HashMap::new()).await.unwrap();
        let n = first.tags.len();
        assert!(n >= 1 && first.manifests == n, "{first:?}");
        assert!(first.tags.iter().any(|x| x.repository == "shipshape-test/bookworm-app" && x.tag == "1"));
        assert!(first.assets.iter().all(|a| a.sources == ["registry-api:1"] && !a.facts.names.is_empty() && !a.facts.layers.is_empty()));
        // Again, knowing the tags: one HEAD each, no manifest pulled, no config fetched.
        let images: HashMap<String, ImageAsset> = first.assets.iter().map(|a| (a.facts.image_id.clone(), a.clone())).collect();
        let again = list_registry(&t, "registry-api:1", &first.tags, false, &images).await.unwrap();
        assert_eq!((again.manifests, again.unchanged, again.tags.len()), (0, n, n));
        let requests_per_tag = again.requests as f64 / n as f64;
        assert!(again.requests <= first.requests, "{} > {}", again.requests, first.requests);
        // Incremental: known tags are not asked at all.
        let inc = list_registry(&t, "registry-api:1", &first.tags, true, &images).await.unwrap();
        assert_eq!((inc.manifests, inc.unchanged, inc.tags.len()), (0, 0, n));
        assert!(inc.requests < again.requests, "incremental {} vs full {requests_per_tag}/tag", inc.requests);
        let mut a = again.assets.clone();
        let mut b = first.assets.clone();
        a.iter_mut().chain(b.iter_mut()).for_each(|x| x.facts.size = 0);
        assert_eq!(a, b, "the same rows whichever way the tags were read");

        // The credential check, docker-login style.
        assert_eq!(check_connection(&RegistryTarget::of_spec(&spec(&auth, &user), Some(&password))).await.status, CONN_SUCCESS);
        let wrong = check_connection(&RegistryTarget::of_spec(&spec(&auth, &user), Some("wrong"))).await;
        assert_eq!(wrong.status, CONN_AUTH_FAILED, "{wrong:?}");
        let anonymous = check_connection(&RegistryTarget::of_spec(&spec(&auth, ""), None)).await;
        assert_eq!(anonymous.status, CONN_AUTH_FAILED, "{anonymous:?}");
        let err = list_registry(&RegistryTarget::of_spec(&spec(&auth, &user), Some("wrong")), "x", &[], false, &HashMap::new())
            .await
            .unwrap_err();
        assert!(matches!(err, image::Error::Unauthorized(_)), "{err:?}");
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let down = check_connection(&RegistryTarget::of_spec(&spec(&format!("127.0.0.1:{closed}"), ""), None)).await;
        assert_eq!(down.status, CONN_FAILED, "{down:?}");
        // TLS to a plain-HTTP registry: a connection failure, not a credential one.
        let tls = RegistrySpec { plain_http: false, ..spec(&anon, "") };
        assert_eq!(check_connection(&RegistryTarget::of_spec(&tls, None)).await.status, CONN_FAILED);
    }

    #[test]
    fn targets() {
        let s = RegistrySpec { speed_limit: 3, insecure: true, ..spec("r:1", "u") };
        let t = RegistryTarget::of_spec(&s, Some("p"));
        assert_eq!((t.opts.max_layer_bytes_per_sec, t.opts.accept_invalid_certs, t.opts.insecure), (3_000_000, true, true));
        assert!(matches!(t.opts.auth, image::RegistryAuth::Basic { .. }));
        assert!(!format!("{t:?}").contains("\"p\""));
        // A username without a password is anonymous (the service refuses it before).
        assert!(matches!(RegistryTarget::of_spec(&s, None).opts.auth, image::RegistryAuth::Anonymous));
        let conn = conn_of(Err(&image::Error::Unauthorized("x".into())));
        assert_eq!(conn.status, CONN_AUTH_FAILED);
        assert_eq!(conn_of(Ok(())).status, CONN_SUCCESS);
    }
}
