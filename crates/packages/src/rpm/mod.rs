//! RPM packages from the three rpmdb formats: SQLite (`rpmdb.sqlite`), NDB (`Packages.db`)
//! and Berkeley DB hash (`Packages`).
//!
//! Hand-written throughout, on purpose: there is no maintained pure-Rust rpmdb reader; the
//! `rpm` crate's header parser is crate-private (it only parses whole `.rpm` files); and the
//! workspace's one SQLite library is sqlx (async, file-based), while here we hold the
//! database's bytes in memory. Each reader only walks pages and yields header blobs, which
//! [`header`] decodes; every offset is bounds-checked and every page walk has a visit bound.

mod bdb;
mod header;
mod ndb;
mod sqlite;

pub use bdb::parse_bdb;
pub use header::{RpmHeader, parse_header_blob};
pub use ndb::parse_ndb;
pub use sqlite::parse_sqlite;

use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};

pub struct Rpm;

const DIRS: [&str; 2] = ["var/lib/rpm/", "usr/lib/sysimage/rpm/"];

impl Analyzer for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        DIRS.iter().any(|d| path.strip_prefix(d).is_some_and(|f| matches!(f, "Packages" | "Packages.db" | "rpmdb.sqlite")))
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let (format, blobs) = match util::basename(file.path) {
            "rpmdb.sqlite" => ("rpmdb sqlite", parse_sqlite(file.data)),
            "Packages.db" => ("rpmdb ndb", parse_ndb(file.data)),
            _ => ("rpmdb bdb", parse_bdb(file.data)),
        };
        let blobs = blobs.map_err(|reason| AnalyzeError::Malformed { path: file.path.into(), format, reason })?;
        if file.truncated {
            out.warnings.push(format!("{}: larger than the file cap, packages may be missing", file.location.path));
        }
        let mut bad = 0usize;
        for blob in blobs {
            match parse_header_blob(&blob) {
                Ok(h) => {
                    if let Some(mut p) = to_package(&h) {
                        p.location = file.location.clone();
                        out.packages.push(p);
                    }
                }
                Err(_) => bad += 1,
            }
        }
        if bad > 0 {
            out.warnings.push(format!("{}: {bad} unreadable rpm headers", file.location.path));
        }
        Ok(())
    }
}

/// A package from a decoded header; `None` for `gpg-pubkey` pseudo-packages and headers
/// without name or version.
pub fn to_package(h: &RpmHeader) -> Option<Package> {
    if h.name.is_empty() || h.version.is_empty() || h.name == "gpg-pubkey" {
        return None;
    }
    let vr = if h.release.is_empty() { h.version.clone() } else { format!("{}-{}", h.version, h.release) };
    let version = match h.epoch {
        Some(e) if e > 0 => format!("{e}:{vr}"),
        _ => vr.clone(),
    };
    let epoch = h.epoch.filter(|e| *e > 0).map(|e| e.to_string()).unwrap_or_default();
    let (source_name, source_version) = match split_source_rpm(&h.source_rpm) {
        Some((n, v, r)) => {
            let sv = format!("{v}-{r}");
            (n.to_string(), if epoch.is_empty() { sv } else { format!("{epoch}:{sv}") })
        }
        None => (h.name.clone(), version.clone()),
    };
    Some(Package {
        ecosystem: Ecosystem::Rpm,
        purl: util::purl("rpm", Some("redhat"), &h.name, &vr, &[("arch", &h.arch), ("epoch", &epoch)]),
        name: h.name.clone(),
        version,
        source_name: Some(source_name),
        source_version: Some(source_version),
        licenses: if h.license.is_empty() { Vec::new() } else { vec![h.license.clone()] },
        location: Default::default(),
    })
}

/// `openssl-3.0.7-24.el9.src.rpm` → (`openssl`, `3.0.7`, `24.el9`).
fn split_source_rpm(s: &str) -> Option<(&str, &str, &str)> {
    let base = s.strip_suffix(".src.rpm").or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (nv, release) = base.rsplit_once('-')?;
    let (name, version) = nv.rsplit_once('-')?;
    (!name.is_empty() && !version.is_empty() && !release.is_empty()).then_some((name, version, release))
}

#[cfg(test)]
mod tests;
