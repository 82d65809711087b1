//! `shipshape db update`: advisory data from upstream feeds, into the store.
//!
//! A *feed* is one URL whose content is one advisory source in the store, named
//! `feed:<feed name>` (`osv/PyPI`, `alpine/v3.19/main`, `debian-tracker`). A *feed kind* (one
//! module: [`osv`], [`alpine`], [`debian`]) turns the configuration, and maybe a listing it
//! downloads, into the feeds to fetch; adding a kind is one module plus one line in `kinds`.
//!
//! Each feed is fetched with a conditional GET ([`fetch`]), streamed to a temp file in the data
//! directory under a size cap, read with `vuln::import::read_sources` (its zip caps guard
//! against archive bombs) and swapped into the store whole (strict import): a feed that fails
//! in any way keeps its previous data. Feeds are processed one after the other, so at most one
//! download is held in memory.
//!
//! Not here: parsing advisory formats (`vuln`), storage (`store`), the CLI and the server loop's
//! wiring (`shipshape`).

mod error;
pub mod fetch;

pub mod alpine;
pub mod debian;
pub mod osv;
mod schedule;

pub use error::FeedError;
pub use fetch::HttpConfig;
pub use schedule::{due_in, parse_period, run_every};

use std::collections::BTreeMap;
use std::path::Path;

use futures::future::BoxFuture;
use store::Store;
use store::advisories::{FeedState, SourceOutcome};

use crate::fetch::{Fetched, Http, Validators};

/// Prefix of a feed's source name in the store.
pub const SOURCE_PREFIX: &str = "feed:";
/// Listings (ecosystems.txt, index pages) are small; more than this is not a listing.
const LISTING_CAP: u64 = 1 << 20;
/// Temp dirs of downloads in the data dir start with this (a crashed run's leftovers are swept).
const TMP_PREFIX: &str = ".feed-download-";
/// In each download dir: locked (flock) by its run while the dir is in use, so a later run can tell
/// a killed run's leftovers (lock free) from a concurrent run's download (lock held).
const LOCK_FILE: &str = ".lock";

/// What to fetch and how.
#[derive(Debug, Clone)]
pub struct UpdateConfig {
    /// Base URL in the layout of OSV's public bucket.
    pub osv_url: String,
    /// OSV ecosystems to fetch; `None`: every one in `ecosystems.txt` Shipshape can match.
    pub ecosystems: Option<Vec<String>>,
    /// Alpine secdb base URL.
    pub alpine_url: String,
    /// Alpine branches (`v3.19`); `None`: the ones linked from the secdb index page.
    pub alpine_branches: Option<Vec<String>>,
    /// The Debian security tracker JSON document; `None`: not fetched.
    pub debian_tracker_url: Option<String>,
    pub http: HttpConfig,
    /// Overrides every feed's download size cap (tests; a constrained mirror).
    pub max_download: Option<u64>,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            osv_url: osv::DEFAULT_URL.into(),
            ecosystems: None,
            alpine_url: alpine::DEFAULT_URL.into(),
            alpine_branches: None,
            debian_tracker_url: None,
            http: HttpConfig::default(),
            max_download: None,
        }
    }
}

impl UpdateConfig {
    /// Checks URLs, ecosystem names and branches without touching the network.
    pub fn validate(&self) -> Result<(), FeedError> {
        kinds(self).map(drop)
    }
}

/// A feed URL of `off` turns that kind of feed off (a mirror that carries only OSV, say).
pub const OFF: &str = "off";

/// One URL whose content is one advisory source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// `osv/PyPI`: the source is `feed:osv/PyPI`.
    pub name: String,
    pub url: String,
    /// The name the download is stored and read under: importers recognise files by name
    /// (`all.zip` is a bundle, `main.json` a secdb, `debian-security-tracker.json`...).
    pub file_name: String,
    /// Bytes downloaded at most.
    pub cap: u64,
    /// A 404 means "not published" (community.json of old Alpine branches), not an error.
    pub optional: bool,
}

/// A family of feeds sharing a name prefix and maybe a listing.
trait FeedKind: Send + Sync {
    /// The first part of its feed names (`osv`).
    fn prefix(&self) -> &'static str;
    /// What [`FeedKind::feeds`] reads, for the error when it fails.
    fn listing_url(&self) -> String;
    /// The feeds to fetch now (may download a listing).
    fn feeds<'a>(&'a self, http: &'a Http) -> BoxFuture<'a, Result<Vec<Feed>, FeedError>>;
}

/// The built-in kinds, in update order; a kind not configured is `None`.
fn kinds(cfg: &UpdateConfig) -> Result<Vec<Box<dyn FeedKind>>, FeedError> {
    Ok([osv::kind(cfg)?, alpine::kind(cfg)?, debian::kind(cfg)?].into_iter().flatten().collect())
}

/// What happened to one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedOutcome {
    /// 304: the stored copy is current; nothing downloaded.
    NotModified,
    /// Downloaded, same content as stored.
    Unchanged,
    /// Downloaded and swapped in.
    Imported { added: u64, updated: u64, removed: u64, unchanged: u64 },
    /// Downloaded, but no advisory in a format Shipshape reads: nothing written.
    Empty,
    /// An optional file the server does not publish (404).
    Absent,
    /// Failed; the feed's previous data is kept.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReport {
    pub name: String,
    pub url: String,
    pub outcome: FeedOutcome,
    /// Bytes downloaded (0 for a 304).
    pub bytes: u64,
}

impl FeedReport {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, FeedOutcome::Failed(_))
    }
}

/// The result of [`update`]: one entry per feed, in update order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateReport {
    pub feeds: Vec<FeedReport>,
}

impl UpdateReport {
    pub fn failures(&self) -> impl Iterator<Item = &FeedReport> {
        self.feeds.iter().filter(|f| f.failed())
    }
}

/// Told how an update goes (a progress bar, log lines). Every method has a no-op default.
pub trait Progress: Send + Sync {
    fn feed_started(&self, _feed: &Feed) {}
    fn download_started(&self, _feed: &Feed, _total: Option<u64>) {}
    fn downloaded(&self, _feed: &Feed, _bytes: u64) {}
    /// Downloaded; now read and swapped into the store.
    fn importing(&self, _feed: &Feed) {}
    fn feed_finished(&self, _report: &FeedReport) {}
}

impl Progress for () {}

/// Fetches every configured feed and swaps changed ones into the store, one after the other.
/// Never fails as a whole: each failure is a [`FeedOutcome::Failed`] entry (configuration
/// errors included: call [`UpdateConfig::validate`] first to report them as such).
pub async fn update(store: &Store, cfg: &UpdateConfig, progress: &dyn Progress) -> UpdateReport {
    let mut report = UpdateReport::default();
    let setup = async {
        let kinds = kinds(cfg)?;
        let http = Http::new(&cfg.http)?;
        let stored: BTreeMap<String, FeedState> = store.feed_states().await?.into_iter().map(|s| (s.name.clone(), s)).collect();
        Ok::<_, FeedError>((kinds, http, stored))
    };
    let (kinds, http, stored) = match setup.await {
        Ok(s) => s,
        Err(e) => {
            report.feeds.push(FeedReport {
                name: "update".into(),
                url: String::new(),
                outcome: FeedOutcome::Failed(e.to_string()),
                bytes: 0,
            });
            return report;
        }
    };
    sweep_stale_downloads(store.data_dir());
    for kind in &kinds {
        match kind.feeds(&http).await {
            Ok(feeds) => {
                for feed in feeds {
                    progress.feed_started(&feed);
                    let r = update_feed(store, &http, &feed, stored.get(&feed.name), progress).await;
                    progress.feed_finished(&r);
                    report.feeds.push(r);
                }
            }
            Err(e) => report.feeds.extend(listing_failed(store, kind.as_ref(), &stored, &e, progress).await),
        }
    }
    report
}

/// The kind's listing failed: the feeds of that kind stored before keep their data and get the
/// error recorded; with none stored, the kind itself is the failed entry.
async fn listing_failed(
    store: &Store,
    kind: &dyn FeedKind,
    stored: &BTreeMap<String, FeedState>,
    e: &FeedError,
    progress: &dyn Progress,
) -> Vec<FeedReport> {
    let msg = format!("listing the feeds: {e}");
    let prefix = format!("{}/", kind.prefix());
    let known: Vec<&FeedState> = stored.values().filter(|s| s.name.starts_with(&prefix) || s.name == kind.prefix()).collect();
    if known.is_empty() {
        let r = FeedReport { name: kind.prefix().into(), url: kind.listing_url(), outcome: FeedOutcome::Failed(msg), bytes: 0 };
        progress.feed_finished(&r);
        return vec![r];
    }
    let mut out = Vec::new();
    for s in known {
        let st = FeedState { checked_at: now_unix(), error: Some(msg.clone()), ..s.clone() };
        let outcome = match store.record_feed(&st).await {
            Ok(()) => FeedOutcome::Failed(msg.clone()),
            Err(re) => FeedOutcome::Failed(format!("{msg}; recording it: {re}")),
        };
        let r = FeedReport { name: s.name.clone(), url: s.url.clone(), outcome, bytes: 0 };
        progress.feed_finished(&r);
        out.push(r);
    }
    out
}

/// What a successful fetch led to.
enum Applied {
    NotModified,
    Absent,
    Downloaded { bytes: u64, validators: Validators, outcome: FeedOutcome },
}

/// One feed, end to end; its attempt is recorded in the store whatever the outcome.
async fn update_feed(store: &Store, http: &Http, feed: &Feed, prev: Option<&FeedState>, progress: &dyn Progress) -> FeedReport {
    let checked_at = now_unix();
    let result = fetch_and_import(store, http, feed, prev, progress).await;
    let base = FeedState { name: feed.name.clone(), url: feed.url.clone(), checked_at, ..FeedState::default() };
    let (state, outcome, bytes) = match result {
        Ok(Applied::NotModified) => {
            // Same validators and update time: only `checked_at` moves.
            let prev = prev.cloned().unwrap_or_default();
            let st = FeedState { etag: prev.etag, last_modified: prev.last_modified, updated_at: prev.updated_at, ..base };
            (Some(st), FeedOutcome::NotModified, 0)
        }
        Ok(Applied::Absent) => (None, FeedOutcome::Absent, 0),
        Ok(Applied::Downloaded { bytes, validators, outcome }) => {
            let st = FeedState { etag: validators.etag, last_modified: validators.last_modified, updated_at: Some(checked_at), ..base };
            (Some(st), outcome, bytes)
        }
        Err(e) => {
            let msg = e.to_string();
            (Some(FeedState { error: Some(msg.clone()), ..base }), FeedOutcome::Failed(msg), 0)
        }
    };
    let outcome = match state {
        Some(st) => match store.record_feed(&st).await {
            Ok(()) => outcome,
            Err(e) => FeedOutcome::Failed(format!("recording the feed state: {e}")),
        },
        None => outcome,
    };
    FeedReport { name: feed.name.clone(), url: feed.url.clone(), outcome, bytes }
}

async fn fetch_and_import(
    store: &Store,
    http: &Http,
    feed: &Feed,
    prev: Option<&FeedState>,
    progress: &dyn Progress,
) -> Result<Applied, FeedError> {
    let data_dir = store.data_dir();
    // In the data dir: same file system as the store, and big enough for it.
    let dir = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempdir_in(data_dir)
        .map_err(|source| FeedError::Io { path: data_dir.into(), source })?;
    let _in_use = lock_download_dir(dir.path())?;
    let dest = dir.path().join(&feed.file_name);
    // Validators from another URL (a mirror switched) say nothing about this one.
    let stored = prev
        .filter(|p| p.url == feed.url)
        .map(|p| Validators { etag: p.etag.clone(), last_modified: p.last_modified.clone() })
        .unwrap_or_default();
    let transfer = FeedTransfer { feed, progress };
    match http.download(&feed.url, &stored, &dest, feed.cap, &transfer).await? {
        Fetched::NotModified => Ok(Applied::NotModified),
        Fetched::Missing if feed.optional => Ok(Applied::Absent),
        Fetched::Missing => Err(FeedError::Status { url: feed.url.clone(), status: 404 }),
        Fetched::File { path, bytes, validators } => {
            progress.importing(feed);
            let (tmp, name) = (dir.path().to_path_buf(), feed.name.clone());
            let source = tokio::task::spawn_blocking(move || read_download(&tmp, &path, &name))
                .await
                .map_err(|e| FeedError::Internal(e.to_string()))??;
            let report = store.import_sources(vec![source], true).await?;
            let outcome = match report.sources.into_iter().next().map(|s| s.outcome) {
                Some(SourceOutcome::Unchanged) => FeedOutcome::Unchanged,
                Some(SourceOutcome::Imported { added, updated, removed, unchanged }) => {
                    FeedOutcome::Imported { added, updated, removed, unchanged }
                }
                Some(SourceOutcome::Empty) | None => FeedOutcome::Empty,
            };
            Ok(Applied::Downloaded { bytes, validators, outcome })
        }
    }
}

/// Reads a download (a bundle or one file) into one source, whatever groups the reader made.
/// File paths become `<feed name>/<file>[!entry]`: stable across temp dirs (the fingerprint
/// uses base names) and meaningful in error messages.
fn read_download(dir: &Path, path: &Path, feed: &str) -> Result<vuln::import::SourceData, FeedError> {
    let groups = vuln::import::read_sources(path)?;
    let prefix = format!("{}/", dir.display());
    let files = groups
        .into_iter()
        .flat_map(|g| g.files)
        .map(|mut f| {
            if let Some(rest) = f.path.strip_prefix(&prefix) {
                f.path = format!("{feed}/{rest}");
            }
            f
        })
        .collect();
    Ok(vuln::import::SourceData::new(format!("{SOURCE_PREFIX}{feed}"), files))
}

struct FeedTransfer<'a> {
    feed: &'a Feed,
    progress: &'a dyn Progress,
}

impl fetch::Transfer for FeedTransfer<'_> {
    fn started(&self, total: Option<u64>) {
        self.progress.download_started(self.feed, total);
    }
    fn advanced(&self, bytes: u64) {
        self.progress.downloaded(self.feed, bytes);
    }
}

/// Holds the download dir's lock for as long as the returned file lives (the OS drops it when the
/// process dies, however it dies).
fn lock_download_dir(dir: &Path) -> Result<std::fs::File, FeedError> {
    let path = dir.join(LOCK_FILE);
    let io = |source| FeedError::Io { path: path.clone(), source };
    let f = std::fs::File::create(&path).map_err(io)?;
    f.lock().map_err(io)?;
    Ok(f)
}

/// Removes the download dirs of runs that are gone (killed mid-download or mid-import): their lock
/// is free. A concurrent run's dir is locked and kept; a dir without a lock file is a run's that
/// has not taken it yet (kept for a minute) or an older version's (removed after that).
fn sweep_stale_downloads(data_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(data_dir) else {
        return;
    };
    for e in rd.flatten() {
        if !e.file_name().to_string_lossy().starts_with(TMP_PREFIX) || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let gone = match std::fs::File::open(e.path().join(LOCK_FILE)) {
            Ok(f) => f.try_lock().is_ok(),
            Err(_) => e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 60)),
        };
        if !gone {
            continue;
        }
        match std::fs::remove_dir_all(e.path()) {
            Ok(()) => tracing::info!(path = %e.path().display(), "removed the download of a run that did not finish"),
            Err(err) => tracing::warn!(path = %e.path().display(), error = %err, "cannot remove a stale feed download"),
        }
    }
}

/// `http(s)://…` without a trailing slash, or a configuration error naming `what`.
fn base_url(what: &str, url: &str) -> Result<String, FeedError> {
    let u = reqwest::Url::parse(url).map_err(|e| FeedError::Config(format!("{what} {url:?}: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(FeedError::Config(format!("{what} {url:?}: not an http(s) URL")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_only_the_downloads_of_runs_that_are_gone() {
        let data = tempfile::tempdir().unwrap();
        let mk = |name: &str| {
            let d = data.path().join(format!("{TMP_PREFIX}{name}"));
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("all.zip"), b"partial").unwrap();
            d
        };
        let (live, killed, fresh, old) = (mk("live"), mk("killed"), mk("fresh"), mk("old"));
        let _held = lock_download_dir(&live).unwrap();
        // A killed run's lock file stays, its lock went with the process.
        drop(lock_download_dir(&killed).unwrap());
        // No lock file: a run about to take it (fresh) or an older version's leftover (old).
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::open(&old).unwrap().set_modified(hour_ago).unwrap();
        std::fs::write(data.path().join(format!("{TMP_PREFIX}file")), b"not a dir").unwrap();
        sweep_stale_downloads(data.path());
        assert!(live.exists() && fresh.exists(), "in use");
        assert!(!killed.exists() && !old.exists(), "left behind");
        assert!(data.path().join(format!("{TMP_PREFIX}file")).exists());
    }

    /// The same download read from two temp dirs is the same source (fingerprints use base
    /// names), its files named after the feed.
    #[test]
    fn download_reads_into_one_stable_source() {
        let src = |dir: &Path| {
            let p = dir.join("main.json");
            std::fs::write(&p, br#"{"distroversion": "v3.19", "reponame": "main", "packages": []}"#).unwrap();
            read_download(dir, &p, "alpine/v3.19/main").unwrap()
        };
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (sa, sb) = (src(a.path()), src(b.path()));
        assert_eq!(sa.name, "feed:alpine/v3.19/main");
        assert_eq!(sa.fingerprint, sb.fingerprint);
        assert_eq!(sa.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["alpine/v3.19/main/main.json"]);
    }

    #[test]
    fn urls_are_checked() {
        assert_eq!(base_url("--osv-url", "http://m/osv/").unwrap(), "http://m/osv");
        assert!(base_url("--osv-url", "ftp://m/osv").is_err());
        assert!(base_url("--osv-url", "mirror/osv").is_err());
        let cfg = UpdateConfig { ecosystems: Some(vec!["Cobol".into()]), ..UpdateConfig::default() };
        assert!(matches!(cfg.validate(), Err(FeedError::Config(_))));
        assert!(UpdateConfig::default().validate().is_ok());
    }
}
