//! Alpine secdb (`{distroversion, packages: [{pkg: {name, secfixes}}]}`, JSON as published).
//!
//! secfixes map a fixed apk version to the CVEs it fixes: every older version of the
//! origin package is affected. The key `0` means Alpine's build was never affected: no
//! range is emitted, so such CVEs never match.

use super::Importer;
use crate::advisory::{Advisory, AdvisorySeverity, Affected, Event, Range, RangeKind};
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct AlpineSecdb;

#[derive(Deserialize)]
struct RawDb {
    distroversion: String,
    #[serde(default)]
    packages: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    pkg: RawPkg,
}

#[derive(Deserialize)]
struct RawPkg {
    name: String,
    #[serde(default)]
    /// `{fixed version: [ids]}`; a few real entries carry `""` instead of a list.
    secfixes: Option<BTreeMap<String, serde_json::Value>>,
}

impl Importer for AlpineSecdb {
    fn name(&self) -> &'static str {
        "alpine-secdb"
    }

    fn detect(&self, path: &str, head: &[u8]) -> bool {
        path.ends_with(".json") && String::from_utf8_lossy(head).contains("\"distroversion\"")
    }

    fn parse(&self, _path: &str, data: &[u8], source: &str) -> Result<Option<Vec<Advisory>>, String> {
        let db: RawDb = serde_json::from_slice(data).map_err(|e| format!("invalid Alpine secdb JSON: {e}"))?;
        let release = db.distroversion.trim();
        if !release.starts_with('v') {
            return Err(format!("unexpected distroversion {release:?}"));
        }
        let ecosystem = format!("Alpine:{release}");
        let mut by_cve: BTreeMap<String, Advisory> = BTreeMap::new();
        for e in db.packages {
            for (fixed, ids) in e.pkg.secfixes.unwrap_or_default() {
                let fixed = fixed.trim().to_owned();
                let ids: Vec<String> = match &ids {
                    serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(" "),
                    serde_json::Value::String(s) => s.clone(),
                    _ => String::new(),
                }
                .split_whitespace()
                .map(str::to_owned)
                .collect();
                for id in ids {
                    if fixed == "0" {
                        continue; // not affected in Alpine
                    }
                    let adv = by_cve.entry(id.clone()).or_insert_with(|| Advisory {
                        id: format!("ALPINE-{id}"),
                        source: source.to_owned(),
                        aliases: vec![id.clone()],
                        related: vec![],
                        upstream: vec![],
                        cwes: vec![],
                        summary: format!("{id} fixed in Alpine {release}"),
                        details: String::new(),
                        published: None,
                        modified: None,
                        withdrawn: None,
                        severity: AdvisorySeverity::default(),
                        references: vec![format!("https://security.alpinelinux.org/vuln/{id}")],
                        affected: vec![],
                    });
                    adv.affected.push(Affected {
                        ecosystem: ecosystem.clone(),
                        name: e.pkg.name.clone(),
                        ranges: vec![Range {
                            kind: RangeKind::Ecosystem,
                            events: vec![Event::Introduced("0".into()), Event::Fixed(fixed.clone())],
                        }],
                        versions: vec![],
                        severity: None,
                        informational: None,
                    });
                }
            }
        }
        Ok(Some(by_cve.into_values().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secfixes_zero_and_quirks() {
        // Shape of ../shared/vulndata/alpine/v3.6/main.json (heimdal has `"7.4.0-r0": ""`).
        let doc = br#"{"distroversion":"v3.6","reponame":"main","packages":[
          {"pkg":{"name":"heimdal","secfixes":{"7.1.0-r2":["CVE-2017-17439"],"7.4.0-r0":""}}},
          {"pkg":{"name":"openssl","secfixes":{"0":["CVE-2099-1"],"1.1.1d-r3":["CVE-2019-1551 CVE-2019-9999"]}}},
          {"pkg":{"name":"libressl","secfixes":{"2.5.5-r0":["CVE-2019-1551"]}}}]}"#;
        let advs = AlpineSecdb.parse("main.json", doc, "t").unwrap().unwrap();
        let ids: Vec<&str> = advs.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["ALPINE-CVE-2017-17439", "ALPINE-CVE-2019-1551", "ALPINE-CVE-2019-9999"], "key 0: never affected");
        let a = &advs[1];
        assert_eq!(a.display_id(), "CVE-2019-1551");
        assert_eq!(a.affected.len(), 2);
        assert_eq!(a.affected[0].ecosystem, "Alpine:v3.6");
        assert!(AlpineSecdb.parse("x.json", br#"{"distroversion":"3.6"}"#, "t").is_err());
    }
}
