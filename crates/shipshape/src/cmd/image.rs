//! `shipshape image sbom|scan SOURCE`: an image's packages, or its vulnerabilities, trojans and
//! risks, from the Docker Engine, a docker-archive, an OCI layout or a registry.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use report::Format;
use report::findings::{Findings, Sections, Subject};
use scan::{Cancel, DirCache, Engine, LayerCache, Progress, Scanners};

use crate::Global;
use crate::output::{report_format, usage_error, write_out};

/// Inspect an image: list its packages (sbom) or scan it for vulnerabilities, trojans and risks
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum ImageCommand {
    /// The packages of an image as a table, Shipshape JSON, CycloneDX 1.5 or SPDX 2.3
    Sbom(SbomArgs),
    /// Vulnerabilities, trojans and risks (secrets, sensitive files) of an image
    Scan(ScanArgs),
}

/// Where the image comes from and how it is read.
#[derive(clap::Args)]
pub struct SourceArgs {
    /// The image: NAME[:TAG] or docker:NAME (Docker Engine), docker-archive:FILE, oci:DIR[:REF],
    /// registry:HOST/REPO:TAG
    pub source: String,
    /// Talk plain http to the registry
    #[arg(long)]
    pub insecure_registry: bool,
    /// Platform of a multi-arch image, OS/ARCH[/VARIANT]
    #[arg(long, default_value = "linux/amd64", value_name = "OS/ARCH")]
    pub platform: String,
    /// Layer cache directory [default: $XDG_CACHE_HOME/shipshape, else ~/.cache/shipshape]
    #[arg(long, env = "SHIPSHAPE_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Docker Engine address (unix:///var/run/docker.sock, tcp://HOST:PORT)
    #[arg(long, env = "DOCKER_HOST", value_name = "URL")]
    pub docker_host: Option<String>,
    /// Registry user name (basic auth)
    #[arg(long, env = "SHIPSHAPE_REGISTRY_USERNAME", value_name = "USER")]
    pub registry_username: Option<String>,
    /// Registry password (basic auth)
    #[arg(long, env = "SHIPSHAPE_REGISTRY_PASSWORD", hide_env_values = true, value_name = "PASSWORD")]
    pub registry_password: Option<String>,
    /// Write the report here instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl std::fmt::Debug for SourceArgs {
    // The registry password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceArgs")
            .field("source", &self.source)
            .field("registry_username", &self.registry_username)
            .field("registry_password", &self.registry_password.as_ref().map(|_| "****"))
            .finish_non_exhaustive()
    }
}

#[derive(clap::Args, Debug)]
pub struct SbomArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// table, json, cyclonedx, spdx-json [default: table on a terminal, else json]
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Scanners, comma separated: vuln, virus, risk
    #[arg(long, value_delimiter = ',', default_value = "vuln,virus,risk", value_name = "LIST")]
    pub scanners: Vec<String>,
    /// table, json, cyclonedx (packages and their vulnerabilities), sarif [default: table on a terminal, else json]
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// The CI gate flags, shared by `image scan` and `fs scan`.
#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// Exit with this status when a finding remains after --severity, --ignore-unfixed and the ignore file (CI gate)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub exit_code: i32,
    /// Only these severities are reported and counted: CRITICAL,HIGH,MEDIUM,LOW,UNKNOWN
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub severity: Vec<String>,
    /// Leave out vulnerabilities no fixed version is known for
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Accepted findings, one id per line (advisory id or alias, secret rule, signature), `exp:YYYY-MM-DD`
    /// after an id ends it, `#` comments (Trivy's .trivyignore form) [default: ./.shipshapeignore when present]
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// VEX document (OpenVEX 0.2.0 or CycloneDX VEX; repeatable): its not_affected/fixed statements suppress
    /// findings, which stay listed under `suppressed` (JSON) or as SARIF suppressions
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    match args.command {
        ImageCommand::Sbom(a) => sbom(a).await,
        ImageCommand::Scan(a) => scan_cmd(a, global).await,
    }
}

fn open_options(s: &SourceArgs) -> anyhow::Result<image::OpenOptions> {
    let auth = match (&s.registry_username, &s.registry_password) {
        (Some(u), Some(p)) => image::RegistryAuth::Basic { username: u.clone(), password: p.clone() },
        (None, None) => image::RegistryAuth::Anonymous,
        _ => anyhow::bail!("--registry-username and --registry-password go together"),
    };
    Ok(image::OpenOptions {
        platform: s.platform.parse().map_err(|e| anyhow::anyhow!("--platform: {e}"))?,
        insecure: s.insecure_registry,
        auth,
        docker_host: s.docker_host.clone(),
        // docker-archive indexes live beside the layer indexes, so a warm run reads no tar.
        archive_cache: Some(Arc::new(DirCache::new(cache_dir(s)?))),
        ..Default::default()
    })
}

fn cache_dir(s: &SourceArgs) -> anyhow::Result<std::path::PathBuf> {
    s.cache_dir.clone().or_else(DirCache::default_dir).context("no cache dir: pass --cache-dir (neither XDG_CACHE_HOME nor HOME is set)")
}

fn cache(s: &SourceArgs) -> anyhow::Result<Arc<dyn LayerCache>> {
    Ok(Arc::new(DirCache::new(cache_dir(s)?)))
}

/// A progress bar on stderr when it is a terminal; nothing otherwise.
fn progress_bar(progress: &Arc<Progress>, what: &str) -> Option<(indicatif::ProgressBar, tokio::task::JoinHandle<()>)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} layers, {prefix}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    let (b, p) = (bar.clone(), Arc::clone(progress));
    let h = tokio::spawn(async move {
        loop {
            b.set_length(p.layers_total.load(Ordering::Relaxed));
            b.set_position(p.layers_done.load(Ordering::Relaxed));
            let files = p.walk.entries.load(Ordering::Relaxed);
            b.set_prefix(format!(
                "{} files, {} MiB read, {} cached",
                files,
                p.walk.bytes.load(Ordering::Relaxed) >> 20,
                p.layers_cached.load(Ordering::Relaxed)
            ));
            b.tick();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Some((bar, h))
}

async fn index(s: &SourceArgs, engine: &Arc<Engine>, scanners: Scanners) -> anyhow::Result<(image::Image, scan::Indexed)> {
    let source = image::parse_source(&s.source).map_err(|e| anyhow::anyhow!("{e}"))?;
    let opts = open_options(s)?;
    let progress = Arc::new(Progress::default());
    let bar = progress_bar(&progress, "indexing");
    let cancel = Cancel::new();
    let res = scan::index_source(engine, scanners, &source, &opts, &progress, &cancel).await;
    if let Some((b, h)) = bar {
        h.abort();
        b.finish_and_clear();
    }
    res.with_context(|| format!("reading {}", s.source))
}

fn sbom_report(s: &SourceArgs, img: &image::Image, indexed: &scan::Indexed) -> report::Report {
    report::Report {
        image: report::ImageIdentity {
            name: s.source.clone(),
            id: img.id.clone(),
            repo_tags: img.repo_tags.clone(),
            repo_digests: img.repo_digests.clone(),
            os: img.os.clone(),
            architecture: img.architecture.clone(),
            layers: img.layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        distribution: indexed.content.distribution.clone(),
        packages: indexed.content.packages.clone(),
        created: time::OffsetDateTime::now_utc(),
    }
}

async fn sbom(a: SbomArgs) -> anyhow::Result<()> {
    let format = report_format(a.format.as_deref(), &a.source.output, &[Format::Table, Format::Json, Format::CycloneDx, Format::SpdxJson])?;
    let engine = Arc::new(Engine::new(None, cache(&a.source)?)?);
    let scanners = Scanners { packages: true, ..Default::default() };
    let (img, indexed) = index(&a.source, &engine, scanners).await?;
    let text = report::render(&sbom_report(&a.source, &img, &indexed), format)?;
    write_out(&a.source.output, &text)
}

/// Exit status when vulnerability scanning is asked without advisory data.
const EXIT_NO_ADVISORIES: i32 = 2;

/// `--scanners vuln,virus,risk` (shared with `fs scan`).
pub(crate) fn parse_scanners(list: &[String]) -> anyhow::Result<Scanners> {
    let mut sc = Scanners::default();
    for s in list {
        match s.trim() {
            "vuln" => sc.vuln = true,
            "virus" => sc.virus = true,
            "risk" | "secret" => sc.risk = true,
            "" => {}
            other => anyhow::bail!("--scanners: unknown scanner {other:?} (vuln, virus, risk)"),
        }
    }
    if !(sc.vuln || sc.virus || sc.risk) {
        anyhow::bail!("--scanners: choose at least one of vuln, virus, risk");
    }
    Ok(sc)
}

/// The store with advisory data, opened before anything is read; exits 2 when none is loaded
/// (an empty result would read as "no vulnerabilities").
pub(crate) async fn advisory_store(global: &Global) -> anyhow::Result<store::Store> {
    let store = global.open_store().await?;
    if !store.has_advisories().await? {
        eprintln!(
            "shipshape: no vulnerability data is loaded in {}: import advisories first (`shipshape db import DIR`), \
             or scan with --scanners virus,risk",
            store.data_dir().display()
        );
        std::process::exit(EXIT_NO_ADVISORIES);
    }
    Ok(store)
}

async fn scan_cmd(a: ScanArgs, global: &Global) -> anyhow::Result<()> {
    let mut sc = parse_scanners(&a.scanners)?;
    let format = report_format(a.format.as_deref(), &a.source.output, &[Format::Table, Format::Json, Format::CycloneDx, Format::Sarif])?;
    // CycloneDX lists the packages the vulnerabilities point at.
    sc.packages = format == Format::CycloneDx;
    let gate = gate(&a.gate);
    // Fail before reading the image when there is nothing to match against.
    let store = if sc.vuln { Some(advisory_store(global).await?) } else { None };
    let signatures = if sc.virus { Some(load_signatures(global)?) } else { None };
    let engine = Arc::new(Engine::new(signatures, cache(&a.source)?)?);
    let (img, indexed) = index(&a.source, &engine, sc).await?;
    let vulns = match &store {
        Some(store) => scan::match_vulns(store, &indexed.content).await?,
        None => Vec::new(),
    };
    let c = &indexed.content;
    let today = time::OffsetDateTime::now_utc().date();
    let identity = scan::vex::ImageIdentity { digests: std::iter::once(img.id.clone()).chain(img.repo_digests.iter().cloned()).collect() };
    let kept = gate.apply(vulns, c.malware.clone(), c.risks.clone(), &identity, today);
    let content = sbom_report(&a.source, &img, &indexed);
    let text = report::findings::render(
        &report::findings::FindingsReport {
            content: &content,
            subject: Subject::Image { layers: indexed.layers, cached_layers: indexed.cached_layers, bytes_walked: indexed.bytes_walked },
            sections: sections(sc),
            findings: findings(&kept),
            warnings: &c.warnings,
            partial: c.partial,
        },
        format,
    )?;
    write_out(&a.source.output, &text)?;
    if a.gate.exit_code != 0 && !kept.is_empty() {
        std::process::exit(a.gate.exit_code);
    }
    Ok(())
}

/// The findings the gate kept, as the report formats take them (shared with `fs scan`).
pub(crate) fn findings(kept: &scan::gate::Kept) -> Findings<'_> {
    Findings { vulns: &kept.vulns, suppressed: &kept.suppressed, malware: &kept.malware, risks: &kept.risks }
}

/// The report's sections: the scanners that ran (shared with `fs scan`).
pub(crate) fn sections(sc: Scanners) -> Sections {
    Sections { vuln: sc.vuln, virus: sc.virus, risk: sc.risk }
}

/// The CI gate of a scan: severities, unfixed, the ignore file (exit 2 on a bad one).
pub(crate) fn gate(a: &GateArgs) -> scan::gate::Gate {
    let severities =
        a.severity.iter().filter(|s| !s.trim().is_empty()).map(|s| scan::gate::parse_severity(s)).collect::<Result<Vec<_>, _>>();
    let severities = severities.unwrap_or_else(|e| usage_error(format_args!("--severity: {e}")));
    let default = PathBuf::from(".shipshapeignore");
    let path = a.ignore_file.clone().or_else(|| default.is_file().then_some(default));
    let ignore = match path {
        Some(p) => {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| usage_error(format_args!("{}: {e}", p.display())));
            scan::gate::IgnoreList::parse(&text).unwrap_or_else(|e| usage_error(format_args!("{}: {e}", p.display())))
        }
        None => scan::gate::IgnoreList::default(),
    };
    let mut vex = scan::vex::Vex::default();
    for p in &a.vex {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| usage_error(format_args!("--vex {}: {e}", p.display())));
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        vex.add(&name, &text).unwrap_or_else(|e| usage_error(format_args!("--vex {e}")));
    }
    scan::gate::Gate { severities, ignore_unfixed: a.ignore_unfixed, ignore, vex }
}

pub(crate) fn load_signatures(global: &Global) -> anyhow::Result<Arc<malware::Signatures>> {
    super::rules::rule_store(global)?.load().map_err(|e| anyhow::anyhow!("loading malware rules: {e}"))
}

#[cfg(test)]
mod debug_tests {
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        source: super::SourceArgs,
    }

    #[test]
    fn debug_masks_the_registry_password() {
        let cli = Cli::try_parse_from(["t", "registry:r/a:1", "--registry-username", "u", "--registry-password", "hunter2"]).unwrap();
        let shown = format!("{:?}", cli.source);
        assert!(shown.contains("registry:r/a:1") && shown.contains("****") && !shown.contains("hunter2"), "{shown}");
    }
}
