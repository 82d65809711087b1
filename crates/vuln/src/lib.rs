//! Vulnerability data and matching.
//!
//! - [`import`]: reads OSV JSON (any ecosystem), Alpine secdb and Debian security-tracker
//!   lists from directories and `.zip`/`.tar.gz` bundles into typed [`Advisory`] values,
//!   grouped into fingerprinted sources.
//! - [`AdvisoryIndex`]: what matching needs from storage; [`MemoryIndex`] keeps it in memory
//!   (`store` implements it over SQL).
//! - [`matcher_for`] / [`match_packages`]: per-ecosystem OSV range evaluation with each
//!   ecosystem's own version ordering (`version` crate).
//! - [`bundle`]: signed single-file advisory bundles for air-gapped installs (Ed25519).
//!
//! Not here: fetching data from the network, storage, report formats.

mod advisory;
pub mod bundle;
pub mod distro;
mod error;
pub mod import;
mod index;
mod matcher;
mod severity;

pub use advisory::{Advisory, AdvisorySeverity, Affected, Cvss, Event, Range, RangeKind, ecosystem_of, normalize_name};
pub use error::{ImportError, IndexError, MatchError};
pub use index::{AdvisoryIndex, AdvisoryKey, MemoryIndex, Prepared};
pub use matcher::{Hit, Matcher, affected_entry, distro_key, matcher_for};
pub use severity::{attack_vector, cvss_from_vector};

use model::{Distribution, Ecosystem, Location, Package, Severity};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Version of the advisory lookup key scheme ([`AdvisoryKey::new`]): a store whose keys were
/// built under another scheme rebuilds them from the stored advisories.
/// 1: ecosystem strings as written; 2: distribution ecosystems folded by [`distro`].
pub const KEY_SCHEME: &str = "2";

/// Version of the matching rules (which keys a package is looked up under, which version is
/// compared, how findings are merged): part of the advisory data version, so stored images
/// are re-matched when an upgrade changes what the same data finds.
pub const MATCHER_VERSION: &str = "2";

/// The package a finding is about, as catalogued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingPackage {
    pub name: String,
    pub version: String,
    pub ecosystem: Ecosystem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    pub purl: String,
}

/// One (advisory, package) match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnFinding {
    pub advisory_id: String,
    /// The CVE when the advisory is about exactly one, else `advisory_id`.
    pub display_id: String,
    pub aliases: Vec<String>,
    /// The data source the advisory came from.
    pub source: String,
    pub package: FindingPackage,
    /// The version compared (the source version for OS packages).
    pub installed_version: String,
    /// Versions that fix it (empty: no fix known).
    pub fixed_versions: Vec<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    pub title: String,
    /// The advisory's full text (OSV `details`), empty when it has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// When the advisory was published (RFC 3339 as the data gives it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// CWE ids the advisory names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    pub links: Vec<String>,
    /// The metadata file that declared the package and its layer.
    pub location: Location,
}

/// The lookup keys `packages` need (for a store that prefetches into a [`MemoryIndex`]).
pub fn query_keys(dist: Option<&Distribution>, packages: &[Package]) -> Vec<AdvisoryKey> {
    let mut keys: Vec<AdvisoryKey> = packages.iter().flat_map(|p| matcher_for(p.ecosystem).queries(p, dist)).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Matches catalogued packages against the index. Findings are ordered by package (input
/// order), then advisory id. A package whose version does not parse in its ecosystem is
/// skipped (logged), since no range can be decided for it.
pub fn match_packages(
    index: &dyn AdvisoryIndex,
    dist: Option<&Distribution>,
    packages: &[Package],
) -> Result<Vec<VulnFinding>, MatchError> {
    let mut cache: HashMap<AdvisoryKey, Vec<Arc<Prepared>>> = HashMap::new();
    let mut out = Vec::new();
    for pkg in packages {
        let m = matcher_for(pkg.ecosystem);
        let keys = m.queries(pkg, dist);
        for key in &keys {
            if !cache.contains_key(key) {
                let advs = index.advisories(key)?;
                cache.insert(key.clone(), advs);
            }
        }
        if keys.iter().all(|k| cache[k].is_empty()) {
            continue;
        }
        let installed_raw = m.installed_version(pkg);
        let installed = match version::Version::parse(pkg.ecosystem, installed_raw) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(package = %pkg.name, error = %e, "version not comparable; package skipped");
                continue;
            }
        };
        let mut found: Vec<VulnFinding> = Vec::new();
        // The CVEs each found advisory is about (aliases and upstream ids), by advisory id.
        let mut cves: HashMap<String, Vec<String>> = HashMap::new();
        for key in &keys {
            for adv in &cache[key] {
                let Some(hit) = m.affected(&installed, installed_raw, key, adv) else {
                    continue;
                };
                // The same advisory from two imported sources, or under the binary and the
                // source name, is reported once.
                if found.iter().any(|f| f.advisory_id == adv.advisory.id) {
                    continue;
                }
                let a = &adv.advisory;
                if pkg.ecosystem.is_os() {
                    // Only distribution notices are folded into per-CVE records (below).
                    cves.insert(a.id.clone(), a.aliases.iter().chain(&a.upstream).filter(|x| x.starts_with("CVE-")).cloned().collect());
                }
                found.push(finding(pkg, installed_raw, a, hit));
            }
        }
        // An advisory that names another found one as an alias (GHSA ↔ PYSEC) is the same issue.
        let ids: Vec<(String, Vec<String>)> = found.iter().map(|f| (f.advisory_id.clone(), f.aliases.clone())).collect();
        found.retain(|f| {
            !ids.iter().any(|(id, aliases)| {
                id != &f.advisory_id && id < &f.advisory_id && (aliases.contains(&f.advisory_id) || f.aliases.contains(id))
            })
        });
        // A distribution notice (USN, DSA, RHSA...) whose every CVE is also found through the
        // distribution's per-CVE records (UBUNTU-CVE-…, DEBIAN-CVE-…) adds nothing but a second
        // row per CVE: reported through the per-CVE records only.
        if pkg.ecosystem.is_os() {
            let per_cve = |f: &VulnFinding| f.display_id.starts_with("CVE-") && f.advisory_id.contains(&f.display_id);
            let covered: std::collections::HashSet<&str> = found.iter().filter(|f| per_cve(f)).map(|f| f.display_id.as_str()).collect();
            let redundant: Vec<String> = found
                .iter()
                .filter(|f| !per_cve(f))
                .filter(|f| cves.get(&f.advisory_id).is_some_and(|c| !c.is_empty() && c.iter().all(|x| covered.contains(x.as_str()))))
                .map(|f| f.advisory_id.clone())
                .collect();
            found.retain(|f| !redundant.contains(&f.advisory_id));
        }
        found.sort_by(|a, b| a.advisory_id.cmp(&b.advisory_id));
        out.extend(found);
    }
    Ok(out)
}

/// A finding keeps at most this much of the advisory's text (some distribution records quote
/// whole changelogs; the full text stays in the advisory store).
pub const MAX_DESCRIPTION: usize = 2048;

fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn finding(pkg: &Package, installed: &str, adv: &Advisory, hit: Hit) -> VulnFinding {
    let cvss = adv.severity.cvss.as_ref();
    VulnFinding {
        advisory_id: adv.id.clone(),
        display_id: adv.display_id().to_owned(),
        aliases: adv.aliases.clone(),
        source: adv.source.clone(),
        package: FindingPackage {
            name: pkg.name.clone(),
            version: pkg.version.clone(),
            ecosystem: pkg.ecosystem,
            source_name: pkg.source_name.clone(),
            source_version: pkg.source_version.clone(),
            purl: pkg.purl.clone(),
        },
        installed_version: installed.to_owned(),
        fixed_versions: hit.fixed,
        severity: hit.severity.unwrap_or(adv.severity.level),
        cvss_score: cvss.map(|c| c.score),
        cvss_vector: cvss.map(|c| c.vector.clone()),
        title: if adv.summary.is_empty() {
            adv.details.lines().next().unwrap_or_default().chars().take(200).collect()
        } else {
            adv.summary.clone()
        },
        description: clip(&adv.details, MAX_DESCRIPTION),
        published: adv.published.clone().filter(|d| !d.starts_with("0001-")),
        cwes: adv.cwes.clone(),
        links: adv.references.clone(),
        location: pkg.location.clone(),
    }
}
