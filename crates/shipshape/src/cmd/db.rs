//! `shipshape db`: load advisory data into the store and show what is loaded.
//!
//! The store does the work (`store::advisories`); this module checks arguments, keeps going
//! past a bad file or bundle, and renders table or JSON.

use std::path::PathBuf;

use report::table::Table;
use serde_json::json;
use store::advisories::{AdvisoryStatus, ImportReport, SourceOutcome};

use crate::Global;
use crate::output::{Format, print, usage_error};

#[path = "db_bundle.rs"]
mod bundle;
#[path = "db_update.rs"]
pub mod update;

/// Vulnerability advisory data (OSV JSON, Alpine secdb, Debian security tracker)
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(clap::Subcommand, Debug)]
enum DbCommand {
    /// Import advisories from directories, .zip or .tar.gz bundles (idempotent; changed sources
    /// are diffed, unchanged ones skipped). Bad files are named and skipped; the rest imports.
    Import {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Import PATHs as signed bundles (`db bundle export`), verified with this public key;
        /// a bundle is never imported without it
        #[arg(long, value_name = "KEY.pub")]
        verify_key: Option<PathBuf>,
    },
    /// Sources, advisory counts per ecosystem, newest advisory date
    Status {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    Bundle(bundle::Args),
    Update(update::UpdateArgs),
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    match args.command {
        DbCommand::Import { paths, format, verify_key } => match bundle::route(&paths, verify_key.as_deref()) {
            Some(key) => bundle::import(paths, &key, format, global).await,
            None => import(paths, format, global).await,
        },
        DbCommand::Status { format } => status(format, global).await,
        DbCommand::Bundle(args) => bundle::run(args, global).await,
        DbCommand::Update(args) => update::run(args, global).await,
    }
}

/// Checks every argument before touching the store (a typo must not half-import): exit 2 on
/// the first path that cannot be read.
pub fn check_paths(paths: &[PathBuf]) {
    for p in paths {
        if let Err(e) = std::fs::metadata(p) {
            usage_error(format_args!("{}: {e}", p.display()));
        }
    }
}

async fn import(paths: Vec<PathBuf>, format: Format, global: &Global) -> anyhow::Result<()> {
    check_paths(&paths);
    let store = global.open_store().await?;
    let mut results: Vec<(PathBuf, Result<ImportReport, String>)> = Vec::new();
    for p in paths {
        let r = store.import_advisories(&p).await.map_err(|e| e.to_string());
        results.push((p, r));
    }
    store.close().await;

    let failed_paths = results.iter().filter(|(_, r)| r.is_err()).count();
    let imported_any =
        results.iter().any(|(_, r)| r.as_ref().is_ok_and(|rep| rep.sources.iter().any(|s| !matches!(s.outcome, SourceOutcome::Empty))));
    print(format, || import_json(&results), || import_table(&results))?;
    // Bad files also go to stderr so they are seen when stdout is piped away.
    for (p, r) in &results {
        match r {
            Ok(rep) => {
                for prob in rep.problems() {
                    eprintln!("warning: skipped bad file {prob}");
                }
            }
            Err(e) => eprintln!("error: {}: {e}", p.display()),
        }
    }
    if !imported_any {
        usage_error("no advisory data found in the given paths (OSV JSON, Alpine secdb, Debian DSA/DLA lists)");
    }
    if failed_paths > 0 {
        anyhow::bail!("{failed_paths} path(s) could not be imported");
    }
    Ok(())
}

fn outcome_fields(o: &SourceOutcome) -> (&'static str, [u64; 4]) {
    match o {
        SourceOutcome::Unchanged => ("unchanged", [0; 4]),
        SourceOutcome::Imported { added, updated, removed, unchanged } => ("imported", [*added, *updated, *removed, *unchanged]),
        SourceOutcome::Empty => ("empty", [0; 4]),
    }
}

fn import_json(results: &[(PathBuf, Result<ImportReport, String>)]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = results
        .iter()
        .map(|(p, r)| match r {
            Ok(rep) => json!({
                "path": p.display().to_string(),
                "sources": rep.sources.iter().map(|s| {
                    let (outcome, [added, updated, removed, unchanged]) = outcome_fields(&s.outcome);
                    json!({
                        "name": s.name,
                        "outcome": outcome,
                        "added": added,
                        "updated": updated,
                        "removed": removed,
                        "unchanged": unchanged,
                        "bad_files": s.problems,
                        "skipped_files": s.skipped_files,
                    })
                }).collect::<Vec<_>>(),
            }),
            Err(e) => json!({"path": p.display().to_string(), "error": e}),
        })
        .collect();
    json!({ "imports": items })
}

fn import_table(results: &[(PathBuf, Result<ImportReport, String>)]) -> String {
    let mut t = Table::fit(["PATH", "SOURCE", "OUTCOME", "ADDED", "UPDATED", "REMOVED", "UNCHANGED", "BAD", "SKIPPED"]);
    let mut bad = Vec::new();
    for (p, r) in results {
        let path = p.display().to_string();
        match r {
            Ok(rep) => {
                for s in &rep.sources {
                    let (outcome, nums) = outcome_fields(&s.outcome);
                    let mut row = vec![path.clone(), s.name.clone(), outcome.to_string()];
                    row.extend(nums.iter().map(|n| n.to_string()));
                    row.push(s.problems.len().to_string());
                    row.push(s.skipped_files.to_string());
                    t.row(row);
                    bad.extend(s.problems.iter().cloned());
                }
            }
            Err(e) => t.row([path, "-".into(), format!("failed: {e}"), "".into(), "".into(), "".into(), "".into(), "".into(), "".into()]),
        }
    }
    let mut out = t.render();
    if !bad.is_empty() {
        out.push_str(&format!("\nBad files skipped ({}):\n", bad.len()));
        for b in bad {
            out.push_str(&format!("  {b}\n"));
        }
    }
    out
}

async fn status(format: Format, global: &Global) -> anyhow::Result<()> {
    let store = global.open_store().await?;
    let st = store.advisory_status().await?;
    let feeds = store.feed_states().await?;
    store.close().await;
    print(
        format,
        || {
            let mut v = status_json(&st);
            v["feeds"] = update::feeds_json(&feeds);
            v
        },
        || status_table(&st) + &update::feeds_table(&feeds),
    )
}

fn unix_to_rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

fn status_json(st: &AdvisoryStatus) -> serde_json::Value {
    json!({
        "sources": st.sources.iter().map(|s| json!({
            "name": s.name,
            "advisories": s.advisories,
            "newest_modified": s.newest_modified,
            "imported_at": unix_to_rfc3339(s.imported_at),
            "fingerprint": s.fingerprint,
        })).collect::<Vec<_>>(),
        "ecosystems": st.per_ecosystem.iter().map(|(e, n)| json!({"ecosystem": e, "advisories": n})).collect::<Vec<_>>(),
        "total": st.total,
        "newest_modified": st.newest_modified,
        "data_version": st.data_version,
    })
}

fn status_table(st: &AdvisoryStatus) -> String {
    if st.sources.is_empty() {
        return "No advisory data loaded. Load some with: shipshape db import PATH (e.g. ../shared/vulndata)\n".into();
    }
    let mut t = Table::fit(["SOURCE", "ADVISORIES", "NEWEST", "IMPORTED"]);
    for s in &st.sources {
        t.row([
            s.name.clone(),
            s.advisories.to_string(),
            s.newest_modified.clone().unwrap_or_else(|| "-".into()),
            unix_to_rfc3339(s.imported_at),
        ]);
    }
    let mut out = t.render();
    out.push('\n');
    let mut t = Table::fit(["ECOSYSTEM", "ADVISORIES"]);
    for (e, n) in &st.per_ecosystem {
        t.row([e.clone(), n.to_string()]);
    }
    out.push_str(&t.render());
    out.push_str(&format!(
        "\nTotal: {} advisories stored (withdrawn included), newest {}, data version {}\n",
        st.total,
        st.newest_modified.as_deref().unwrap_or("-"),
        &st.data_version[..st.data_version.len().min(12)]
    ));
    out
}
