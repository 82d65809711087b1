//! `shipshape rules`: YARA rules and ClamAV signature databases in `DATA_DIR/rules`.
//!
//! `malware::RuleStore` does the work; this module checks arguments, keeps going past a bad
//! file, and renders table or JSON. An empty store means the rule set shipped with Shipshape.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use malware::{ImportReport, RuleStatus, RuleStore};
use serde_json::json;

use crate::Global;
use crate::output::{Format, print, usage_error};
use report::table::Table;

/// Malware rules: YARA sources and ClamAV .hdb/.hsb/.ndb/.ldb/.cvd/.cld databases
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(clap::Subcommand, Debug)]
enum RulesCommand {
    /// Copy rule files or directories into the rules store (each PATH becomes a set named after it).
    /// ClamAV databases are parsed first (a corrupt one is refused and named); YARA files that do
    /// not compile are kept and listed.
    Import {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Counts per source and type, unsupported signatures and failed YARA files included
    Status {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// DATA_DIR/rules, with compiled YARA rules in the user cache (shared by every data dir: one
/// compile per rule set per machine; entries are keyed by the sources' digest).
pub(crate) fn rule_store(global: &Global) -> anyhow::Result<RuleStore> {
    let compiled = scan::cache::DirCache::default_dir().map(|d| d.join("yara-compiled"));
    Ok(RuleStore::new(global.data_dir()?.join("rules")).with_compiled_cache(compiled))
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    match args.command {
        RulesCommand::Import { paths, format } => import(paths, format, global).await,
        RulesCommand::Status { format } => status(format, global).await,
    }
}

async fn import(paths: Vec<PathBuf>, format: Format, global: &Global) -> anyhow::Result<()> {
    super::db::check_paths(&paths);
    let rs = rule_store(global)?;
    // Parsing ClamAV databases and compiling YARA is CPU work: off the async threads.
    let results = tokio::task::spawn_blocking(move || {
        paths
            .into_iter()
            .map(|p| {
                let r = rs.import(&p).map_err(|e| e.to_string());
                (p, r)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    print(
        format,
        || {
            let items: Vec<serde_json::Value> = results
                .iter()
                .map(|(p, r)| match r {
                    Ok(rep) => json!({"path": p.display().to_string(), "report": rep}),
                    Err(e) => json!({"path": p.display().to_string(), "error": e}),
                })
                .collect();
            json!({ "imports": items })
        },
        || {
            let mut t = Table::fit(["PATH", "SET", "YARA", "CLAMAV", "LICENSE", "SKIPPED", "YARA FAILED"]);
            for (p, r) in &results {
                let path = p.display().to_string();
                t.row(match r {
                    Ok(rep) => vec![
                        path,
                        rep.set.clone(),
                        rep.yara_files.to_string(),
                        rep.clamav_files.to_string(),
                        rep.license_files.to_string(),
                        rep.skipped.to_string(),
                        rep.yara_failed.len().to_string(),
                    ],
                    Err(e) => vec![path, "-".into(), format!("failed: {e}")],
                });
            }
            t.render()
        },
    )?;
    for (p, r) in &results {
        match r {
            Ok(rep) => {
                for f in &rep.yara_failed {
                    eprintln!("warning: {}: YARA file does not compile (kept, not used): {}", f.file, f.error);
                }
            }
            Err(e) => eprintln!("error: {}: {e}", p.display()),
        }
    }
    let failed: Vec<&(PathBuf, Result<ImportReport, String>)> = results.iter().filter(|(_, r)| r.is_err()).collect();
    if failed.len() == results.len() {
        usage_error("nothing imported");
    }
    if !failed.is_empty() {
        anyhow::bail!("{} path(s) could not be imported", failed.len());
    }
    Ok(())
}

/// YARA files per set (`yara/<set>/...`), counted from the store's directory.
fn yara_sets(root: &Path) -> BTreeMap<String, usize> {
    let mut sets = BTreeMap::new();
    let y = root.join("yara");
    if let Ok(files) = malware::walk_files(&y) {
        for f in files {
            if !malware::yara::is_yara_file(&f) {
                continue;
            }
            let set = f
                .strip_prefix(&y)
                .ok()
                .and_then(|r| r.components().next())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            *sets.entry(set).or_insert(0) += 1;
        }
    }
    sets
}

/// The set a ClamAV file belongs to: its first path component.
fn clam_set(file: &str) -> String {
    Path::new(file).components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default()
}

async fn status(format: Format, global: &Global) -> anyhow::Result<()> {
    let rs = rule_store(global)?;
    let root = rs.root().to_path_buf();
    let default = rs.is_empty();
    let st: RuleStatus = tokio::task::spawn_blocking(move || rs.status()).await??;
    let src_root = if default { malware::default_rules_dir() } else { root.clone() };
    let sets = yara_sets(&src_root);
    print(
        format,
        || {
            json!({
                "rules_dir": root.display().to_string(),
                "source": if default { "default (shipped with Shipshape)" } else { "imported" },
                "yara_sets": sets,
                "status": st,
            })
        },
        || status_table(&root, default, &sets, &st),
    )
}

fn status_table(root: &Path, default: bool, sets: &BTreeMap<String, usize>, st: &RuleStatus) -> String {
    let mut out = format!(
        "Rules: {}\n\n",
        if default {
            format!("default set shipped with Shipshape (nothing imported into {})", root.display())
        } else {
            root.display().to_string()
        }
    );
    let mut t = Table::fit(["SOURCE", "TYPE", "FILE", "LOADED", "UNSUPPORTED"]);
    for (set, n) in sets {
        t.row([set.clone(), "yara".into(), format!("{n} files"), "-".into(), "-".into()]);
    }
    for c in &st.clamav {
        let uns: usize = c.unsupported.values().sum();
        let why: Vec<String> = c.unsupported.iter().map(|(w, n)| format!("{n} {w}")).collect();
        t.row([
            clam_set(&c.file),
            format!("clamav {}", c.kind),
            c.file.clone(),
            c.loaded.to_string(),
            if uns == 0 { "0".into() } else { format!("{uns} ({})", why.join(", ")) },
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
    match &st.yara {
        Some(y) => {
            out.push_str(&format!(
                "YARA: {} rules compiled from {}/{} files, {} failed{}\n",
                y.rules,
                y.compiled_files,
                y.files,
                y.failed.len(),
                if y.from_cache { " (compiled rules from cache)" } else { "" }
            ));
            for f in &y.failed {
                out.push_str(&format!("  failed {}: {}\n", f.file, f.error));
            }
        }
        None => out.push_str("YARA: no rules\n"),
    }
    out.push_str(&format!("ClamAV: {} signatures loaded, {} unsupported (not evaluated)\n", st.clamav_signatures, st.clamav_unsupported));
    out
}
