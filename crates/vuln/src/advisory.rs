//! The advisory model: typed OSV-style ranges, whatever format the data came in.

use model::{Ecosystem, Severity};
use serde::{Deserialize, Serialize};

/// One advisory from one data source. Stored as-is (JSON) by `store`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    /// The import source it came from (see [`crate::import::SourceData::name`]).
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Upstream ids (OSV `upstream`): the CVEs a distribution advisory is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    /// CWE ids (`CWE-79`) where the record names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Set when the upstream withdrew the advisory: kept for alias lookups, never matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub severity: AdvisorySeverity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    pub affected: Vec<Affected>,
}

/// The advisory-level severity: a computed CVSS score when a vector is given, else the
/// source's own word.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AdvisorySeverity {
    pub level: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    pub vector: String,
    /// The base score computed from the vector (never copied from a text field).
    pub score: f64,
}

/// One affected package of an advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// OSV ecosystem string with release where it has one: `PyPI`, `Debian:12`, `Alpine:v3.11`.
    pub ecosystem: String,
    /// The name as the data spells it; [`normalize_name`] gives the index key.
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions (OSV `versions`; union with the ranges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// A per-package severity (`ecosystem_specific`/`database_specific`) overriding the advisory's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// RustSec's `informational` kind (`unmaintained`, `unsound`...): not a vulnerability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub informational: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeKind {
    /// Versions compared with the ecosystem's own ordering.
    Ecosystem,
    /// SemVer 2.0 ordering.
    Semver,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub kind: RangeKind,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// `"0"` means from the first version.
    Introduced(String),
    /// This version is not affected.
    Fixed(String),
    /// This version is still affected; later ones are not.
    LastAffected(String),
    /// Upper limit of the range; the version must be below it.
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

impl Advisory {
    /// The id to show: the CVE when the advisory is about exactly one (among its aliases,
    /// else its upstream ids: `UBUNTU-CVE-2024-1234`, an ALSA naming one CVE), else its own id.
    pub fn display_id(&self) -> &str {
        if self.id.starts_with("CVE-") {
            return &self.id;
        }
        for ids in [&self.aliases, &self.upstream] {
            let mut cves = ids.iter().filter(|a| a.starts_with("CVE-"));
            match (cves.next(), cves.next()) {
                (Some(cve), None) => return cve,
                (Some(_), Some(_)) => return &self.id,
                _ => {}
            }
        }
        &self.id
    }

    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }
}

/// The package format of an OSV ecosystem string, which decides version ordering
/// (`Ubuntu:22.04:LTS` → Debian's dpkg, `Rocky Linux:9` → rpm, `PyPI` → PyPI).
pub fn ecosystem_of(key: &str) -> Option<Ecosystem> {
    match crate::distro::family_of_ecosystem(key) {
        Some(f) => Some(f.format),
        None => Ecosystem::from_osv(key).filter(|e| !e.is_os()),
    }
}

/// The index key of a package name in an ecosystem: PEP 503 for PyPI, case- and
/// `-`/`_`-insensitive for crates.io, lower case for OS packages, exact elsewhere.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match ecosystem_of(ecosystem) {
        Some(Ecosystem::PyPI) => {
            let mut out = String::with_capacity(name.len());
            let mut sep = false;
            for c in name.trim().chars() {
                if matches!(c, '-' | '_' | '.') {
                    sep = true;
                } else {
                    if sep && !out.is_empty() {
                        out.push('-');
                    }
                    sep = false;
                    out.push(c.to_ascii_lowercase());
                }
            }
            out
        }
        Some(Ecosystem::CratesIo) => name.trim().to_ascii_lowercase().replace('_', "-"),
        Some(Ecosystem::Debian | Ecosystem::Alpine | Ecosystem::Rpm) => name.trim().to_ascii_lowercase(),
        _ => name.trim().to_owned(),
    }
}
