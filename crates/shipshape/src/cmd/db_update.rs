//! `shipshape db update` (advisory data from the upstream feeds, crates/feed) and the feeds
//! section of `db status`. The feed options are shared with `serve --db-update-every`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use feed::{Feed, FeedOutcome, FeedReport, Progress, UpdateConfig, UpdateReport};
use serde_json::json;
use store::advisories::FeedState;

use super::unix_to_rfc3339;
use crate::Global;
use crate::output::{Format, print, usage_error};
use report::table::Table;

/// Where the advisory feeds come from (each URL can point at a mirror).
#[derive(clap::Args, Debug, Clone)]
pub struct FeedArgs {
    /// OSV base URL, in the layout of OSV's public bucket (ecosystems.txt, <Ecosystem>/all.zip); `off`: not fetched
    #[arg(long, value_name = "URL", default_value = feed::osv::DEFAULT_URL)]
    pub osv_url: String,
    /// OSV ecosystems to fetch, as OSV names them [default: every one in ecosystems.txt that Shipshape can match]
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub ecosystems: Option<Vec<String>>,
    /// Alpine secdb base URL (<URL>/<branch>/main.json and community.json); `off`: not fetched
    #[arg(long, value_name = "URL", default_value = feed::alpine::DEFAULT_URL)]
    pub alpine_secdb_url: String,
    /// Alpine branches to fetch [default: the v3.N/ links of the secdb index page]
    #[arg(long, value_name = "v3.19,v3.20", value_delimiter = ',')]
    pub alpine_branches: Option<Vec<String>>,
    /// Debian security tracker JSON document (its full URL); not fetched without this
    #[arg(long, value_name = "URL")]
    pub debian_tracker_url: Option<String>,
    /// Milliseconds before the first retry of a failed request, doubled for each next one
    #[arg(long, hide = true, env = "SHIPSHAPE_FEED_RETRY_DELAY_MS", default_value_t = 1000)]
    pub feed_retry_delay_ms: u64,
    /// Download size cap for every feed, in bytes [default: 4 GiB for all.zip, 256 MiB for JSON]
    #[arg(long, hide = true, env = "SHIPSHAPE_FEED_MAX_BYTES")]
    pub feed_max_bytes: Option<u64>,
}

impl FeedArgs {
    /// The update configuration, checked (exit 2 on a bad URL, ecosystem or branch).
    pub fn config(&self) -> UpdateConfig {
        let mut cfg = UpdateConfig {
            osv_url: self.osv_url.clone(),
            ecosystems: self.ecosystems.clone(),
            alpine_url: self.alpine_secdb_url.clone(),
            alpine_branches: self.alpine_branches.clone(),
            debian_tracker_url: self.debian_tracker_url.clone(),
            max_download: self.feed_max_bytes,
            ..UpdateConfig::default()
        };
        cfg.http.retry_delay = Duration::from_millis(self.feed_retry_delay_ms);
        if let Err(e) = cfg.validate() {
            usage_error(e);
        }
        cfg
    }
}

/// Fetch advisory data from the upstream feeds (OSV per ecosystem, Alpine secdb, Debian
/// security tracker). Unchanged feeds are not downloaded again (conditional requests); a feed
/// that fails keeps its previous data, is named, and makes the exit status 1.
#[derive(clap::Args, Debug)]
pub struct UpdateArgs {
    #[command(flatten)]
    feeds: FeedArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub async fn run(args: UpdateArgs, global: &Global) -> anyhow::Result<()> {
    let cfg = args.feeds.config();
    let store = global.open_store().await?;
    let bars = std::io::stderr().is_terminal().then(Bars::default);
    let progress: &dyn Progress = match &bars {
        Some(b) => b,
        None => &(),
    };
    let report = feed::update(&store, &cfg, progress).await;
    store.close().await;

    print(args.format, || report_json(&report), || report_table(&report))?;
    // Also on stderr, to be seen when stdout is piped away.
    for f in &report.feeds {
        match &f.outcome {
            FeedOutcome::Failed(e) => eprintln!("error: feed {}: {e}", f.name),
            FeedOutcome::Empty => eprintln!("warning: feed {}: no advisory in a format Shipshape reads; nothing imported", f.name),
            _ => {}
        }
    }
    let failed: Vec<&str> = report.failures().map(|f| f.name.as_str()).collect();
    if !failed.is_empty() {
        anyhow::bail!("{} feed(s) failed, their previous data is kept: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}

/// (outcome, added, updated, removed, unchanged)
fn outcome_fields(o: &FeedOutcome) -> (&'static str, [u64; 4]) {
    match o {
        FeedOutcome::NotModified => ("not-modified", [0; 4]),
        FeedOutcome::Unchanged => ("unchanged", [0; 4]),
        FeedOutcome::Imported { added, updated, removed, unchanged } => ("imported", [*added, *updated, *removed, *unchanged]),
        FeedOutcome::Empty => ("empty", [0; 4]),
        FeedOutcome::Absent => ("absent", [0; 4]),
        FeedOutcome::Failed(_) => ("failed", [0; 4]),
    }
}

fn report_json(report: &UpdateReport) -> serde_json::Value {
    let feeds: Vec<_> = report
        .feeds
        .iter()
        .map(|f| {
            let (outcome, [added, updated, removed, unchanged]) = outcome_fields(&f.outcome);
            let error = match &f.outcome {
                FeedOutcome::Failed(e) => Some(e.as_str()),
                _ => None,
            };
            json!({
                "name": f.name, "url": f.url, "outcome": outcome, "added": added, "updated": updated,
                "removed": removed, "unchanged": unchanged, "bytes": f.bytes, "error": error,
            })
        })
        .collect();
    json!({ "feeds": feeds, "failed": report.failures().count() })
}

fn report_table(report: &UpdateReport) -> String {
    let mut t = Table::fit(["FEED", "OUTCOME", "ADDED", "UPDATED", "REMOVED", "UNCHANGED", "DOWNLOADED"]);
    for f in &report.feeds {
        let (outcome, nums) = outcome_fields(&f.outcome);
        let mut row = vec![f.name.clone(), outcome.to_string()];
        row.extend(nums.iter().map(u64::to_string));
        row.push(if f.bytes > 0 { human_bytes(f.bytes) } else { "-".into() });
        t.row(row);
    }
    t.render()
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / f64::from(1 << 10)),
        n => format!("{n} B"),
    }
}

/// The `feeds` array of `db status --format json`.
pub fn feeds_json(feeds: &[FeedState]) -> serde_json::Value {
    feeds
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "url": f.url,
                "records": f.records,
                "checked_at": unix_to_rfc3339(f.checked_at),
                "updated_at": f.updated_at.map(unix_to_rfc3339),
                "etag": f.etag,
                "last_modified": f.last_modified,
                "error": f.error,
            })
        })
        .collect()
}

/// The feeds section of `db status` (empty when no feed was ever fetched).
pub fn feeds_table(feeds: &[FeedState]) -> String {
    if feeds.is_empty() {
        return String::new();
    }
    let mut t = Table::fit(["FEED", "RECORDS", "UPDATED", "CHECKED", "VALIDATOR", "URL", "LAST ERROR"]);
    for f in feeds {
        let validator = match (&f.etag, &f.last_modified) {
            (Some(e), _) => format!("ETag {e}"),
            (None, Some(m)) => format!("Last-Modified {m}"),
            (None, None) => "-".into(),
        };
        t.row([
            f.name.clone(),
            f.records.to_string(),
            f.updated_at.map_or_else(|| "never".into(), unix_to_rfc3339),
            unix_to_rfc3339(f.checked_at),
            validator,
            f.url.clone(),
            f.error.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    format!("\n{}", t.render())
}

/// One progress bar per feed on a terminal: bytes while downloading, then the import.
#[derive(Default)]
struct Bars(Mutex<Option<indicatif::ProgressBar>>);

impl Bars {
    fn with(&self, f: impl FnOnce(&indicatif::ProgressBar)) {
        if let Some(b) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            f(b);
        }
    }
}

impl Progress for Bars {
    fn feed_started(&self, feed: &Feed) {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(feed.name.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn download_started(&self, _feed: &Feed, total: Option<u64>) {
        let Some(total) = total else { return };
        self.with(|b| {
            b.set_length(total);
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
        });
    }

    fn downloaded(&self, _feed: &Feed, bytes: u64) {
        self.with(|b| b.inc(bytes));
    }

    fn importing(&self, feed: &Feed) {
        self.with(|b| b.set_message(format!("{}: importing", feed.name)));
    }

    fn feed_finished(&self, report: &FeedReport) {
        if let Some(b) = self.0.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish_and_clear();
        }
        // One line per feed stays on the terminal above the next bar.
        eprintln!("{}: {}", report.name, outcome_fields(&report.outcome).0);
    }
}
