//! `shipshape db bundle keygen|export` and the signed-bundle side of `db import`: all advisory
//! data of a store as one signed file, for machines without network access.
//!
//! The format and its checks live in `vuln::bundle`; this module handles the files (key
//! permissions, atomic writes), the store, and the refusal rules: a bundle is only ever imported
//! verified (`--verify-key`), and verification of every bundle given finishes before the store
//! is touched.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;
use vuln::bundle::{BundleWriter, PublicKey, SigningKey, VerifiedBundle};

use crate::Global;
use crate::output::{Format, print, usage_error};
use report::table::Table;

/// Rows per store query while exporting (bounds memory on any source size).
const EXPORT_PAGE: u32 = 1000;

/// Signed advisory bundles for air-gapped installs: one file with every source of the store
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: BundleCommand,
}

#[derive(clap::Subcommand, Debug)]
enum BundleCommand {
    /// Create an Ed25519 signing key: KEY (private, PKCS#8 PEM, mode 0600) and KEY.pub
    /// (`shipshape-ed25519 <base64>`, for the importing side). Never overwrites.
    Keygen {
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
    },
    /// Write every advisory source in the store to FILE, signed with KEY; import it elsewhere
    /// with `shipshape db import FILE --verify-key KEY.pub`
    Export {
        #[arg(value_name = "FILE")]
        out: PathBuf,
        #[arg(long, value_name = "KEY")]
        sign_key: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

pub async fn run(args: Args, global: &Global) -> anyhow::Result<()> {
    match args.command {
        BundleCommand::Keygen { out } => keygen(&out),
        BundleCommand::Export { out, sign_key, format } => export(&out, &sign_key, format, global).await,
    }
}

fn pub_path(key: &Path) -> PathBuf {
    let mut p = OsString::from(key.as_os_str());
    p.push(".pub");
    PathBuf::from(p)
}

fn keygen(out: &Path) -> anyhow::Result<()> {
    let public = pub_path(out);
    for p in [out, public.as_path()] {
        if p.exists() {
            usage_error(format_args!("{} exists; a key is never overwritten", p.display()));
        }
    }
    let key = SigningKey::generate()?;
    let write = |path: &Path, mode: u32, text: &str| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).with_context(|| format!("writing {}", path.display()))
    };
    write(out, 0o600, &key.to_pem()?)?;
    write(&public, 0o644, &key.public_key().to_line())?;
    println!(
        "Wrote {} (private: keep it where bundles are made) and {} (for the importing side).\nKey id {}",
        out.display(),
        public.display(),
        key.public_key().key_id()
    );
    Ok(())
}

/// The private key, refused when group or others may read it (like the store's master.key).
fn read_signing_key(path: &Path) -> SigningKey {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| usage_error(format_args!("{}: {e}", path.display())));
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        usage_error(format_args!("{}: permissions {:o} are too open for a private key; run chmod 600", path.display(), mode & 0o777));
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| usage_error(format_args!("{}: {e}", path.display())));
    SigningKey::from_pem(&text).unwrap_or_else(|e| usage_error(format_args!("{}: {e}", path.display())))
}

fn read_public_key(path: &Path) -> PublicKey {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| usage_error(format_args!("{}: {e}", path.display())));
    PublicKey::parse(&text).unwrap_or_else(|e| usage_error(format_args!("{}: {e}", path.display())))
}

async fn export(out: &Path, key_path: &Path, format: Format, global: &Global) -> anyhow::Result<()> {
    let key = read_signing_key(key_path);
    let store = global.open_store().await?;
    let st = store.advisory_status().await?;
    if st.sources.is_empty() {
        store.close().await;
        usage_error("the store holds no advisory data to export (load some with `shipshape db import PATH`)");
    }
    // Written beside the target and renamed at the end: FILE is either the old bundle or a
    // complete new one, never half of one.
    let mut partial = OsString::from(out.as_os_str());
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let result = write_bundle(&store, &st, &key, &partial).await;
    // Sources are read page by page, not in one transaction: if any changed meanwhile (a
    // concurrent import or `db update`), a payload could mix old and new rows under the old
    // fingerprint; the data version says whether that happened.
    let changed = match &result {
        Ok(_) => store.advisory_data_version().await? != st.data_version,
        Err(_) => false,
    };
    store.close().await;
    if result.is_err() || changed {
        let _ = std::fs::remove_file(&partial);
    }
    let manifest = result?;
    if changed {
        anyhow::bail!("the advisory data changed during the export (an import or update ran); run it again");
    }
    std::fs::rename(&partial, out).with_context(|| format!("renaming {} to {}", partial.display(), out.display()))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let advisories: u64 = manifest.sources.iter().map(|s| s.advisories).sum();
    print(
        format,
        || {
            json!({
                "path": out.display().to_string(),
                "bytes": bytes,
                "key_id": manifest.key_id,
                "created": manifest.created,
                "advisories": advisories,
                "sources": manifest.sources.iter().map(|s| json!({
                    "name": s.name, "fingerprint": s.fingerprint, "advisories": s.advisories,
                })).collect::<Vec<_>>(),
            })
        },
        || {
            let mut t = Table::fit(["SOURCE", "ADVISORIES"]);
            for s in &manifest.sources {
                t.row([s.name.clone(), s.advisories.to_string()]);
            }
            format!(
                "{}\nWrote {} ({} sources, {advisories} advisories, {bytes} bytes), signed by key {}\n",
                t.render(),
                out.display(),
                manifest.sources.len(),
                manifest.key_id
            )
        },
    )
}

async fn write_bundle(
    store: &store::Store,
    st: &store::advisories::AdvisoryStatus,
    key: &SigningKey,
    path: &Path,
) -> anyhow::Result<vuln::bundle::Manifest> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BundleWriter::new(BufWriter::new(file));
    for src in &st.sources {
        w.begin_source(&src.name, &src.fingerprint)?;
        let mut after: Option<String> = None;
        loop {
            let page = store.source_advisories_page(&src.name, after.as_deref(), EXPORT_PAGE).await?;
            for (_, json) in &page {
                w.add_advisory(json)?;
            }
            match page.into_iter().last() {
                Some((id, _)) => after = Some(id),
                None => break,
            }
        }
    }
    let created = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;
    let (buf, manifest) = w.finish(key, &created)?;
    let file = buf.into_inner().map_err(|e| e.into_error()).with_context(|| format!("writing {}", path.display()))?;
    file.sync_all().with_context(|| format!("writing {}", path.display()))?;
    Ok(manifest)
}

/// Decides how `db import` treats its paths: `Some(key)` imports them as signed bundles.
/// Exits 2 on a bundle without `--verify-key` (never imported unverified) and on
/// `--verify-key` with a path that is not a bundle.
pub fn route(paths: &[PathBuf], verify_key: Option<&Path>) -> Option<PublicKey> {
    super::check_paths(paths);
    let bundles: Vec<bool> = paths.iter().map(|p| is_bundle(p)).collect();
    match verify_key {
        Some(k) => {
            if let Some((p, _)) = paths.iter().zip(&bundles).find(|(_, b)| !**b) {
                usage_error(format_args!(
                    "{}: not an advisory bundle; --verify-key is for files from `shipshape db bundle export`",
                    p.display()
                ));
            }
            Some(read_public_key(k))
        }
        None => {
            if let Some((p, _)) = paths.iter().zip(&bundles).find(|(_, b)| **b) {
                usage_error(format_args!(
                    "{}: an advisory bundle is only imported verified; give --verify-key KEY.pub (from `shipshape db bundle keygen`)",
                    p.display()
                ));
            }
            None
        }
    }
}

/// A `.bundle` file, or a zip laid out like one under another name.
fn is_bundle(p: &Path) -> bool {
    if !p.is_file() {
        return false;
    }
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("bundle"))
        || File::open(p).is_ok_and(|f| vuln::bundle::looks_like_bundle(std::io::BufReader::new(f)))
}

/// `db import --verify-key`: verifies every bundle, then (only if all verify) imports them.
/// Strict: a payload that does not parse fails its bundle rather than importing in part.
pub async fn import(paths: Vec<PathBuf>, key: &PublicKey, format: Format, global: &Global) -> anyhow::Result<()> {
    let mut verified: Vec<(PathBuf, VerifiedBundle)> = Vec::new();
    let mut refused = 0;
    for p in paths {
        let (path, key) = (p.clone(), key.clone());
        // Hashing up to gigabytes: off the async workers.
        let r = tokio::task::spawn_blocking(move || {
            let f = File::open(&path).map_err(|e| e.to_string())?;
            vuln::bundle::read_bundle(std::io::BufReader::new(f), &key).map_err(|e| e.to_string())
        })
        .await?;
        match r {
            Ok(b) => verified.push((p, b)),
            Err(e) => {
                eprintln!("error: {}: refused: {e}", p.display());
                refused += 1;
            }
        }
    }
    if refused > 0 {
        anyhow::bail!("{refused} bundle(s) refused; nothing imported");
    }
    let store = global.open_store().await?;
    let mut results = Vec::new();
    for (p, b) in verified {
        let sources = b.into_sources(&p.display().to_string());
        let r = store.import_sources(sources, true).await.map_err(|e| e.to_string());
        results.push((p, r));
    }
    store.close().await;
    print(format, || super::import_json(&results), || super::import_table(&results))?;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    for (p, r) in &results {
        if let Err(e) = r {
            eprintln!("error: {}: {e}", p.display());
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} bundle(s) could not be imported");
    }
    Ok(())
}
