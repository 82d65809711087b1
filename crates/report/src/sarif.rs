//! SARIF 2.1.0 for scan results: one result per finding, one rule per rule id (advisory,
//! malware signature, secret rule). Artifact URIs are image paths without the leading `/`;
//! an archive member is `outer.zip!/inner`. The layer goes in the result's properties.

use model::{Location, Severity};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::findings::Findings;

/// What a SARIF log is built from.
pub struct SarifInput<'a> {
    /// The scanned image or tree as the user named it.
    pub target: &'a str,
    /// Empty for a source tree.
    pub image_id: &'a str,
    /// VEX-suppressed vulnerabilities become results with SARIF `suppressions`.
    pub findings: Findings<'a>,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// GitHub code scanning reads `security-severity` (a CVSS-like number) to rank results.
fn security_severity(s: Severity, cvss: Option<f64>) -> String {
    let v = cvss.unwrap_or(match s {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Unknown => 0.0,
    });
    format!("{v:.1}")
}

fn uri(loc: &Location, member: Option<&str>) -> String {
    let base = loc.path.trim_start_matches('/');
    match member {
        Some(m) if !m.is_empty() => format!("{base}!/{}", m.trim_start_matches('/')),
        _ => base.to_string(),
    }
}

fn layer_props(loc: &Location, deleted_in: Option<u32>) -> Value {
    let mut p = json!({ "layerIndex": loc.layer_index, "layerDigest": loc.layer_digest });
    if let Some(d) = deleted_in {
        p["deletedInLayer"] = json!(d);
    }
    p
}

struct Rules {
    list: Vec<Value>,
    index: BTreeMap<String, usize>,
}

impl Rules {
    fn add(&mut self, id: &str, make: impl FnOnce() -> Value) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        self.list.push(make());
        self.index.insert(id.to_string(), self.list.len() - 1);
        self.list.len() - 1
    }
}

/// The SARIF log as JSON.
pub fn render(input: &SarifInput<'_>) -> Value {
    let mut rules = Rules { list: Vec::new(), index: BTreeMap::new() };
    let mut results = Vec::new();
    let f = &input.findings;
    let vulns = f.vulns.iter().map(|v| (v, None)).chain(f.suppressed.iter().map(|(v, why)| (v, Some(why))));
    for (v, suppressed) in vulns {
        let idx = rules.add(&v.display_id, || {
            json!({
                "id": v.display_id,
                "name": "Vulnerability",
                "shortDescription": { "text": if v.title.is_empty() { v.display_id.clone() } else { v.title.clone() } },
                "helpUri": v.links.first().cloned().unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", v.advisory_id)),
                "properties": {
                    "tags": ["vulnerability", "security", v.severity.tcss_level()],
                    "security-severity": security_severity(v.severity, v.cvss_score),
                }
            })
        });
        let fixed =
            if v.fixed_versions.is_empty() { "no fix known".to_string() } else { format!("fixed in {}", v.fixed_versions.join(", ")) };
        let mut props = layer_props(&v.location, None);
        props["purl"] = json!(v.package.purl);
        props["installedVersion"] = json!(v.installed_version);
        props["fixedVersions"] = json!(v.fixed_versions);
        let mut result = json!({
            "ruleId": v.display_id,
            "ruleIndex": idx,
            "level": level(v.severity),
            "message": { "text": format!("{} {} in {}@{} ({fixed})", v.severity.tcss_level(), v.display_id, v.package.name, v.package.version) },
            "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri(&v.location, None) } } }],
            "properties": props,
        });
        if let Some(why) = suppressed {
            result["suppressions"] = json!([{ "kind": "external", "justification": why }]);
        }
        results.push(result);
    }
    for m in f.malware {
        let idx = rules.add(&m.signature, || {
            json!({
                "id": m.signature,
                "name": "Malware",
                "shortDescription": { "text": format!("Malware signature {} ({})", m.signature, m.source) },
                "properties": { "tags": ["malware", "security"], "security-severity": security_severity(m.severity, None) }
            })
        });
        let mut props = layer_props(&m.location, m.deleted_in_layer);
        props["sha256"] = json!(m.sha256);
        props["md5"] = json!(m.md5);
        props["source"] = json!(m.source);
        results.push(json!({
            "ruleId": m.signature,
            "ruleIndex": idx,
            "level": level(m.severity),
            "message": { "text": format!("{} matched {}", m.signature, uri(&m.location, m.archive_member.as_deref())) },
            "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri(&m.location, m.archive_member.as_deref()) } } }],
            "properties": props,
        }));
    }
    for r in f.risks {
        let idx = rules.add(&r.rule_id, || {
            json!({
                "id": r.rule_id,
                "name": "Secret",
                "shortDescription": { "text": r.title },
                "properties": { "tags": ["secret", r.category, "security"], "security-severity": security_severity(r.severity, None) }
            })
        });
        let mut loc = json!({ "physicalLocation": { "artifactLocation": { "uri": uri(&r.location, None) } } });
        if r.line > 0 {
            loc["physicalLocation"]["region"] = json!({ "startLine": r.line });
        }
        let mut props = layer_props(&r.location, r.deleted_in_layer);
        props["masked"] = json!(r.masked);
        results.push(json!({
            "ruleId": r.rule_id,
            "ruleIndex": idx,
            "level": level(r.severity),
            "message": { "text": format!("{}: {}", r.title, r.masked) },
            "locations": [loc],
            "properties": props,
        }));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "shipshape",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/shipshape",
                "rules": rules.list,
            } },
            "properties": { "target": input.target, "imageId": input.image_id },
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{MalwareFinding, RiskFinding};

    fn loc(path: &str) -> Location {
        Location { path: path.into(), layer_index: 2, layer_digest: "sha256:ab".into() }
    }

    #[test]
    fn one_result_per_finding_with_shared_rules() {
        let risk = |line| RiskFinding {
            rule_id: "aws-access-key-id".into(),
            title: "AWS access key".into(),
            category: "secret".into(),
            severity: Severity::Critical,
            location: loc("/app/.env"),
            line,
            masked: "AKIA****".into(),
            deleted_in_layer: Some(3),
        };
        let mal = MalwareFinding {
            signature: "Eicar-Test-Signature".into(),
            source: "clamav:main.hdb".into(),
            severity: Severity::High,
            location: loc("/opt/a.zip"),
            archive_member: Some("inner/eicar.com".into()),
            size: 68,
            md5: "m".into(),
            sha256: "s".into(),
            deleted_in_layer: None,
        };
        let risks = [risk(3), risk(0)];
        let malware = [mal];
        let log = render(&SarifInput {
            target: "img:1",
            image_id: "sha256:1",
            findings: Findings { vulns: &[], suppressed: &[], malware: &malware, risks: &risks },
        });
        let run = &log["runs"][0];
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(run["results"].as_array().unwrap().len(), 3);
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        let m = &run["results"][0];
        assert_eq!(m["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "opt/a.zip!/inner/eicar.com");
        assert_eq!(m["properties"]["layerIndex"], 2);
        let r = &run["results"][1];
        assert_eq!(r["ruleId"], "aws-access-key-id");
        assert_eq!(r["level"], "error");
        assert_eq!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "app/.env");
        assert_eq!(r["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
        assert_eq!(r["properties"]["deletedInLayer"], 3);
        assert!(run["results"][2]["locations"][0]["physicalLocation"].get("region").is_none());
        assert_eq!(r["ruleIndex"], run["results"][2]["ruleIndex"]);
    }
}
