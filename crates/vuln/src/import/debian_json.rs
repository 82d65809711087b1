//! The Debian security tracker's JSON document (`/tracker/data/json`, saved by `db update` as
//! `debian-security-tracker.json`): `{source: {CVE: {description, releases: {codename:
//! {status, fixed_version, urgency, nodsa}}}}}`.
//!
//! What it adds to OSV's Debian data: the tracker's own per-release states. `resolved` with a
//! version → fixed there; `resolved` with `0` → that release was never affected (no entry, so
//! nothing matches); `open` → affected with no fix yet, including `<no-dsa>` / `<ignored>` /
//! `<postponed>` issues (the ones Debian will not fix by a security update but that are real);
//! `undetermined` → no entry. The tracker's `urgency` is the per-release severity.
//! Advisories are named `DEBIAN-CVE-…` like OSV's Debian records, so the same issue from both
//! sources is reported once.

use super::Importer;
use crate::advisory::{Advisory, AdvisorySeverity, Affected, Event, Range, RangeKind};
use crate::import::debian_release_number;
use model::Severity;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

pub struct DebianTrackerJson;

/// The file name `db update` gives the download (detection is by name: the document is one
/// JSON object like any other).
pub const FILE_NAME: &str = "debian-security-tracker.json";

#[derive(Deserialize)]
struct RawIssue {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    releases: HashMap<String, RawRelease>,
}

#[derive(Deserialize)]
struct RawRelease {
    #[serde(default)]
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
}

impl Importer for DebianTrackerJson {
    fn name(&self) -> &'static str {
        "debian-tracker-json"
    }

    fn detect(&self, path: &str, _head: &[u8]) -> bool {
        path.rsplit(['/', '!']).next() == Some(FILE_NAME)
    }

    fn parse(&self, _path: &str, data: &[u8], source: &str) -> Result<Option<Vec<Advisory>>, String> {
        let doc: HashMap<String, HashMap<String, RawIssue>> =
            serde_json::from_slice(data).map_err(|e| format!("invalid Debian tracker JSON: {e}"))?;
        let mut by_cve: BTreeMap<String, Advisory> = BTreeMap::new();
        for (package, issues) in doc {
            for (cve, issue) in issues {
                // TEMP-… ids are tracker placeholders for issues without a CVE yet.
                if !cve.starts_with("CVE-") {
                    continue;
                }
                for (codename, rel) in &issue.releases {
                    let Some(num) = debian_release_number(codename) else {
                        continue;
                    };
                    let events = match (rel.status.as_str(), rel.fixed_version.as_deref()) {
                        ("resolved", Some("0")) => continue,
                        ("resolved", Some(v)) if !v.is_empty() => {
                            vec![Event::Introduced("0".into()), Event::Fixed(v.to_owned())]
                        }
                        ("open", _) => vec![Event::Introduced("0".into())],
                        _ => continue,
                    };
                    let urgency = rel.urgency.as_deref().unwrap_or("").trim_end_matches('*');
                    let level = Severity::from_word(urgency);
                    let adv = by_cve.entry(cve.clone()).or_insert_with(|| Advisory {
                        id: format!("DEBIAN-{cve}"),
                        source: source.to_owned(),
                        aliases: vec![cve.clone()],
                        related: vec![],
                        upstream: vec![cve.clone()],
                        cwes: vec![],
                        summary: String::new(),
                        details: issue.description.clone().unwrap_or_default(),
                        published: None,
                        modified: None,
                        withdrawn: None,
                        severity: AdvisorySeverity::default(),
                        references: vec![format!("https://security-tracker.debian.org/tracker/{cve}")],
                        affected: vec![],
                    });
                    adv.affected.push(Affected {
                        ecosystem: format!("Debian:{num}"),
                        name: package.clone(),
                        ranges: vec![Range { kind: RangeKind::Ecosystem, events }],
                        versions: vec![],
                        severity: (level != Severity::Unknown).then_some(level),
                        informational: None,
                    });
                }
            }
        }
        let mut out: Vec<Advisory> = by_cve.into_values().collect();
        for a in &mut out {
            // HashMap order: keep stored JSON (and its content hash) stable across imports.
            a.affected.sort_by(|x, y| (&x.ecosystem, &x.name).cmp(&(&y.ecosystem, &y.name)));
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The document's shape (an excerpt in the tracker's layout).
    const DOC: &str = r#"{
      "openssl": {
        "CVE-2023-0286": {"description": "X.400 address type confusion", "scope": "remote",
          "releases": {
            "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.8-1"}, "fixed_version": "3.0.8-1", "urgency": "not yet assigned"},
            "bullseye": {"status": "resolved", "repositories": {"bullseye": "1.1.1n-0+deb11u4"}, "fixed_version": "1.1.1n-0+deb11u4", "urgency": "high"}}},
        "CVE-2010-0928": {"description": "fault injection", "scope": "local",
          "releases": {"bookworm": {"status": "open", "repositories": {"bookworm": "3.0.11-1"}, "urgency": "unimportant", "nodsa": "minor"}}},
        "TEMP-0000000-ABCDEF": {"releases": {"bookworm": {"status": "open", "urgency": "low"}}}
      },
      "zlib": {
        "CVE-2023-45853": {"description": "MiniZip overflow", "releases": {
          "bookworm": {"status": "resolved", "fixed_version": "0", "urgency": "unimportant"},
          "sid": {"status": "resolved", "fixed_version": "1:1.3.dfsg-3", "urgency": "unimportant"}}}
      }
    }"#;

    #[test]
    fn tracker_states() {
        assert!(DebianTrackerJson.detect("x/debian-security-tracker.json", b"{"));
        assert!(!DebianTrackerJson.detect("x/other.json", b"{"));
        let advs = DebianTrackerJson.parse(FILE_NAME, DOC.as_bytes(), "t").unwrap().unwrap();
        let ids: Vec<&str> = advs.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["DEBIAN-CVE-2010-0928", "DEBIAN-CVE-2023-0286"], "TEMP ids and a not-affected-only CVE give nothing");
        let open = &advs[0];
        assert_eq!(open.display_id(), "CVE-2010-0928");
        assert_eq!(open.affected[0].ecosystem, "Debian:12");
        assert_eq!(open.affected[0].ranges[0].events, vec![Event::Introduced("0".into())], "open: no fix");
        assert_eq!(open.affected[0].severity, Some(Severity::Low));
        let fixed = &advs[1];
        assert_eq!(fixed.affected.len(), 2);
        assert_eq!(fixed.affected[0].ecosystem, "Debian:11");
        assert_eq!(fixed.affected[0].severity, Some(Severity::High));
        assert_eq!(fixed.affected[1].ranges[0].events[1], Event::Fixed("3.0.8-1".into()));
        assert_eq!(fixed.affected[1].severity, None, "not yet assigned");
        assert!(DebianTrackerJson.parse(FILE_NAME, b"[1,2]", "t").is_err());
    }
}
