//! OSV JSON (<https://ossf.github.io/osv-schema/>), one advisory per file, any ecosystem.

use super::Importer;
use crate::advisory::{Advisory, AdvisorySeverity, Affected, Event, Range, RangeKind};
use crate::severity;
use model::Severity;
use serde::Deserialize;
use serde_json::Value;

pub struct Osv;

#[derive(Deserialize)]
struct RawOsv {
    #[serde(default)]
    id: Option<Value>,
    /// Present in the Node.js security-wg native format, which is not OSV.
    #[serde(default)]
    module_name: Option<Value>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    related: Option<Vec<String>>,
    /// OSV 1.6: the upstream ids a distribution advisory is about (Ubuntu, Debian, Red Hat).
    #[serde(default)]
    upstream: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    affected: Option<Vec<RawAffected>>,
    /// Kept loose: non-OSV JSON with a `references` list of strings must not fail the parse.
    #[serde(default)]
    references: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawPackage {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<RawSeverity>>,
    #[serde(default)]
    ecosystem_specific: Option<Value>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<serde_json::Map<String, Value>>,
}

impl Importer for Osv {
    fn name(&self) -> &'static str {
        "osv"
    }

    fn detect(&self, path: &str, head: &[u8]) -> bool {
        path.to_ascii_lowercase().ends_with(".json") && head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    }

    fn parse(&self, _path: &str, data: &[u8], source: &str) -> Result<Option<Vec<Advisory>>, String> {
        let raw: RawOsv = serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?;
        // Other JSON (package.json, the Node.js security-wg native files): not OSV, skipped.
        if raw.module_name.is_some() || (raw.affected.is_none() && raw.modified.is_none()) {
            return Ok(None);
        }
        let id = match raw.id {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            _ => return Err("OSV record without a string id".into()),
        };
        let mut adv_sev = severity_from(raw.severity.as_deref().unwrap_or(&[]));
        if adv_sev.level == Severity::Unknown {
            adv_sev.level = word_severity(raw.database_specific.as_ref());
        }
        let cwes = cwe_ids(raw.database_specific.as_ref());
        let mut affected = Vec::new();
        for a in raw.affected.unwrap_or_default() {
            let Some(pkg) = a.package else { continue };
            if pkg.ecosystem.is_empty() || pkg.name.is_empty() {
                continue;
            }
            let mut ranges = Vec::new();
            for r in a.ranges.unwrap_or_default() {
                let kind = match r.kind.as_str() {
                    "ECOSYSTEM" => RangeKind::Ecosystem,
                    "SEMVER" => RangeKind::Semver,
                    // GIT ranges are commit hashes: nothing a version scanner can compare.
                    _ => continue,
                };
                let mut events = Vec::new();
                for e in r.events {
                    for (k, v) in e {
                        let Some(v) = v.as_str().map(str::to_owned) else {
                            continue;
                        };
                        events.push(match k.as_str() {
                            "introduced" => Event::Introduced(v),
                            "fixed" => Event::Fixed(v),
                            "last_affected" => Event::LastAffected(v),
                            "limit" => Event::Limit(v),
                            _ => continue,
                        });
                    }
                }
                ranges.push(Range { kind, events });
            }
            // Per-package severity: a CVSS vector (RustSec `database_specific.cvss`, OSV
            // `affected[].severity`) or a word (`ecosystem_specific.severity`).
            let mut pkg_sev = severity_from(a.severity.as_deref().unwrap_or(&[]));
            if pkg_sev.cvss.is_none()
                && let Some(v) = a.database_specific.as_ref().and_then(|d| d.get("cvss")).and_then(Value::as_str)
                && let Some(c) = severity::cvss_from_vector(v)
            {
                pkg_sev = AdvisorySeverity { level: Severity::from_cvss_score(c.score), cvss: Some(c) };
            }
            if adv_sev.cvss.is_none() && pkg_sev.cvss.is_some() {
                // The vector from the package entry; a vendor word at record level keeps its level.
                adv_sev.cvss = pkg_sev.cvss.clone();
                if adv_sev.level == Severity::Unknown {
                    adv_sev.level = pkg_sev.level;
                }
            }
            let mut level = (pkg_sev.level != Severity::Unknown).then_some(pkg_sev.level);
            if level.is_none() {
                let w = word_severity(a.ecosystem_specific.as_ref());
                level = (w != Severity::Unknown).then_some(w);
            }
            let informational =
                a.database_specific.as_ref().and_then(|d| d.get("informational")).and_then(Value::as_str).map(str::to_owned);
            affected.push(Affected {
                ecosystem: pkg.ecosystem,
                name: pkg.name,
                ranges,
                versions: a.versions.unwrap_or_default(),
                severity: level,
                informational,
            });
        }
        Ok(Some(vec![Advisory {
            id,
            source: source.to_owned(),
            aliases: raw.aliases.unwrap_or_default(),
            related: raw.related.unwrap_or_default(),
            upstream: raw.upstream.unwrap_or_default(),
            cwes,
            summary: raw.summary.unwrap_or_default(),
            details: raw.details.unwrap_or_default(),
            published: raw.published,
            modified: raw.modified,
            withdrawn: raw.withdrawn,
            severity: adv_sev,
            references: match raw.references {
                Some(Value::Array(refs)) => refs.iter().filter_map(|r| r.get("url").and_then(Value::as_str)).map(str::to_owned).collect(),
                _ => vec![],
            },
            affected,
        }]))
    }
}

/// The record's severity. The vector kept is the best CVSS entry: v3.x first (TCSS reports a
/// v3 score), then v4.0, then v2, each computed from its vector. The level is the
/// distribution's own word when the record has one (`{"type": "Ubuntu", "score": "high"}`):
/// like Trivy and Grype, a distribution's rating of its own build wins over the generic CVSS
/// score; otherwise the level follows the kept vector's score.
fn severity_from(list: &[RawSeverity]) -> AdvisorySeverity {
    let mut out = AdvisorySeverity::default();
    for kind in ["CVSS_V3", "CVSS_V4", "CVSS_V2"] {
        if let Some(c) = list.iter().filter(|s| s.kind == kind).find_map(|s| severity::cvss_from_vector(&s.score)) {
            out = AdvisorySeverity { level: Severity::from_cvss_score(c.score), cvss: Some(c) };
            break;
        }
    }
    let vendor =
        list.iter().filter(|s| !s.kind.starts_with("CVSS_")).map(|s| Severity::from_word(&s.score)).find(|l| *l != Severity::Unknown);
    if let Some(level) = vendor {
        out.level = level;
    }
    out
}

/// CWE ids from `database_specific` (`cwe_ids: ["CWE-79"]` in GHSA; a `cwe`/`cwes` string or
/// list elsewhere).
fn cwe_ids(v: Option<&Value>) -> Vec<String> {
    let Some(d) = v else { return vec![] };
    let mut out = Vec::new();
    for key in ["cwe_ids", "cwes", "cwe"] {
        match d.get(key) {
            Some(Value::String(s)) => out.extend(s.split([',', ' ']).filter(|c| c.starts_with("CWE-")).map(str::to_owned)),
            Some(Value::Array(a)) => out.extend(a.iter().filter_map(Value::as_str).filter(|c| c.starts_with("CWE-")).map(str::to_owned)),
            _ => {}
        }
    }
    out.dedup();
    out
}

/// `severity` words in `database_specific` / `ecosystem_specific` (GHSA `MODERATE`, ...).
fn word_severity(v: Option<&Value>) -> Severity {
    v.and_then(|d| d.get("severity")).and_then(Value::as_str).map(Severity::from_word).unwrap_or_default()
}
