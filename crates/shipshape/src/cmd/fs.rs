//! `shipshape fs scan DIR`: the image scanners over a source tree. Lock files (Cargo.lock,
//! package-lock.json, yarn.lock, pnpm-lock.yaml, poetry.lock, Pipfile.lock, requirements*.txt,
//! go.mod/go.sum, Gemfile.lock, pom.xml; `packages::source_tree`) matched against the store's
//! advisories, secrets, and trojans with `--scanners virus`; the same formats and CI gate as
//! `image scan` (flags and rendering shared with `cmd/image.rs`). Paths in reports are relative
//! to DIR.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use scan::{Engine, LayerCache, Progress};

use report::Format;
use report::findings::{FindingsReport, Subject};

use super::image::{GateArgs, advisory_store, findings, gate, load_signatures, parse_scanners, sections};
use crate::Global;
use crate::output::{report_format, write_out};

/// Scan a source tree: dependencies from lock files, secrets, trojans
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: FsCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum FsCommand {
    /// Vulnerabilities of the packages locked in DIR's lock files, secrets (risk), trojans (virus)
    Scan(ScanArgs),
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// The directory (symlinks are not followed; .git is skipped)
    pub dir: PathBuf,
    /// Scanners, comma separated: vuln, virus, risk
    #[arg(long, value_delimiter = ',', default_value = "vuln,risk", value_name = "LIST")]
    pub scanners: Vec<String>,
    /// table, json, cyclonedx (packages and their vulnerabilities), spdx-json (packages), sarif
    /// [default: table on a terminal, else json]
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write the report here instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Directories left out, comma separated: a NAME (every directory of that name) or a PATH
    /// relative to DIR (e.g. target,node_modules,vendor/legacy)
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub skip_dirs: Vec<String>,
    #[command(flatten)]
    pub gate: GateArgs,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    match args.command {
        FsCommand::Scan(a) => scan_cmd(a, global).await,
    }
}

/// `fs scan` keeps no layer cache: a working tree has no digest to key entries by.
struct NoCache;

type CacheFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, scan::Error>> + Send + 'a>>;

impl LayerCache for NoCache {
    fn get<'a>(&'a self, _key: &'a str) -> CacheFuture<'a, Option<Vec<u8>>> {
        Box::pin(async { Ok(None) })
    }
    fn put<'a>(&'a self, _key: &'a str, _diff_id: &'a str, _data: Vec<u8>) -> CacheFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Whether a directory (path relative to DIR) is one of `--skip-dirs`.
fn skipper(list: &[String]) -> Arc<dyn Fn(&str) -> bool + Send + Sync> {
    let list: Vec<String> = list.iter().map(|s| s.trim().trim_matches('/').to_string()).filter(|s| !s.is_empty()).collect();
    Arc::new(move |rel: &str| {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        list.iter().any(|s| if s.contains('/') { s == rel } else { s == name })
    })
}

/// Locations as paths relative to DIR (the walk gives them a leading `/`, as in an image).
fn relative(loc: &mut model::Location) {
    if let Some(p) = loc.path.strip_prefix('/') {
        loc.path = p.to_string();
    }
}

async fn scan_cmd(a: ScanArgs, global: &Global) -> anyhow::Result<()> {
    let mut sc = parse_scanners(&a.scanners)?;
    let format = report_format(a.format.as_deref(), &a.output, &Format::ALL)?;
    // The SBOM formats list the packages.
    sc.packages = matches!(format, Format::CycloneDx | Format::SpdxJson);
    let gate = gate(&a.gate);
    if !a.dir.is_dir() {
        anyhow::bail!("{}: not a directory", a.dir.display());
    }
    let store = if sc.vuln { Some(advisory_store(global).await?) } else { None };
    let signatures = if sc.virus { Some(load_signatures(global)?) } else { None };
    let engine = Arc::new(Engine::new(signatures, Arc::new(NoCache))?);
    let progress = Arc::new(Progress::default());
    let indexed = scan::index_dir(&engine, sc, &a.dir, skipper(&a.skip_dirs), &progress)
        .await
        .with_context(|| format!("reading {}", a.dir.display()))?;
    let mut c = indexed.content;
    c.packages.iter_mut().for_each(|p| relative(&mut p.location));
    c.risks.iter_mut().for_each(|r| relative(&mut r.location));
    c.malware.iter_mut().for_each(|m| relative(&mut m.location));
    let warnings: Vec<String> = c.warnings.iter().map(|w| w.strip_prefix("layer 0: ").unwrap_or(w).to_string()).collect();
    let vulns = match &store {
        Some(store) => scan::match_vulns(store, &c).await?,
        None => Vec::new(),
    };
    let today = time::OffsetDateTime::now_utc().date();
    let kept = gate.apply(vulns, c.malware.clone(), c.risks.clone(), &scan::vex::ImageIdentity::default(), today);
    let content = report::Report {
        image: report::ImageIdentity { name: a.dir.display().to_string(), ..Default::default() },
        distribution: c.distribution.clone(),
        packages: c.packages.clone(),
        created: time::OffsetDateTime::now_utc(),
    };
    let text = report::findings::render(
        &FindingsReport {
            content: &content,
            subject: Subject::Filesystem { entries: c.entries, bytes: c.bytes },
            sections: sections(sc),
            findings: findings(&kept),
            warnings: &warnings,
            partial: c.partial,
        },
        format,
    )?;
    write_out(&a.output, &text)?;
    if a.gate.exit_code != 0 && !kept.is_empty() {
        std::process::exit(a.gate.exit_code);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_dirs_by_name_or_path() {
        let s = skipper(&["target".into(), "vendor/legacy/".into(), " ".into()]);
        assert!(s("target") && s("crates/x/target") && s("vendor/legacy"));
        assert!(!s("vendor") && !s("a/vendor/legacy") && !s("targets"));
    }
}
