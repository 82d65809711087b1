//! Vulnerabilities in a CycloneDX 1.5 BOM (`vulnerabilities[]`, cyclonedx.org/docs/1.5/json): one entry
//! per (advisory, package), `affects` pointing at the package component's bom-ref, aliases as
//! `references`, the severity (and CVSS score/vector when known) as a rating.

use serde_json::{Value, json};
use vuln::VulnFinding;

fn severity_word(s: model::Severity) -> &'static str {
    match s {
        model::Severity::Critical => "critical",
        model::Severity::High => "high",
        model::Severity::Medium => "medium",
        model::Severity::Low => "low",
        model::Severity::Unknown => "unknown",
    }
}

fn cvss_method(vector: &str) -> &'static str {
    if vector.starts_with("CVSS:4") {
        "CVSSv4"
    } else if vector.starts_with("CVSS:3.1") {
        "CVSSv31"
    } else if vector.starts_with("CVSS:3") {
        "CVSSv3"
    } else if vector.starts_with("AV:") || vector.starts_with("(AV:") {
        "CVSSv2"
    } else {
        "other"
    }
}

/// Appends `vulnerabilities` to a BOM made by `report::cyclonedx` for the same packages.
pub fn add_vulnerabilities(bom: &mut Value, vulns: &[VulnFinding]) {
    let list: Vec<Value> = vulns
        .iter()
        .map(|v| {
            let p = &v.package;
            let affects = report::package_bom_ref(p.ecosystem, &p.name, &p.version, &v.location);
            let mut rating = json!({"severity": severity_word(v.severity), "source": {"name": v.source}});
            if let Some(score) = v.cvss_score {
                rating["score"] = json!(score);
            }
            if let Some(vector) = &v.cvss_vector {
                rating["vector"] = json!(vector);
                rating["method"] = json!(cvss_method(vector));
            }
            let mut e = json!({
                "bom-ref": format!("vuln:{}:{affects}", v.advisory_id),
                "id": v.display_id,
                "source": {"name": v.source},
                "ratings": [rating],
                "affects": [{"ref": affects, "versions": [{"version": v.installed_version, "status": "affected"}]}],
                "properties": [
                    {"name": "shipshape:advisory_id", "value": v.advisory_id},
                    {"name": "shipshape:location:path", "value": v.location.path},
                    {"name": "shipshape:location:layer_digest", "value": v.location.layer_digest},
                ],
            });
            let mut refs: Vec<Value> = v
                .aliases
                .iter()
                .chain(std::iter::once(&v.advisory_id))
                .filter(|a| **a != v.display_id)
                .map(|a| json!({"id": a, "source": {"name": v.source}}))
                .collect();
            refs.dedup();
            if !refs.is_empty() {
                e["references"] = Value::Array(refs);
            }
            if !v.title.is_empty() {
                e["description"] = json!(v.title);
            }
            if !v.fixed_versions.is_empty() {
                e["recommendation"] = json!(format!("Upgrade {} to {}", p.name, v.fixed_versions.join(" or ")));
            }
            if !v.links.is_empty() {
                e["advisories"] = Value::Array(v.links.iter().map(|l| json!({"url": l})).collect());
            }
            e
        })
        .collect();
    bom["vulnerabilities"] = Value::Array(list);
}
