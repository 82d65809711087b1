//! CycloneDX 1.5 JSON (cyclonedx.org/docs/1.5/json): the content report as a BOM, and a scan's vulnerabilities in it.

use crate::{Report, package_key, report_uuid, timestamp};
use serde_json::{Value, json};
use vuln::VulnFinding;

/// The report as a CycloneDX 1.5 BOM: the image is `metadata.component` (type `container`),
/// the distribution an `operating-system` component, every package a `library` with its purl,
/// licenses by name, and Shipshape properties for location and source package.
pub fn cyclonedx(report: &Report) -> Value {
    let img = &report.image;
    let image_ref = format!("image:{}", if img.id.is_empty() { &img.name } else { &img.id });
    let mut components = Vec::new();
    let mut refs = Vec::new();
    if let Some(d) = &report.distribution {
        let r = format!("os:{}-{}", d.id, d.version_id);
        let mut c = json!({"bom-ref": r, "type": "operating-system", "name": d.id, "version": d.version_id});
        if !d.pretty_name.is_empty() {
            c["description"] = json!(d.pretty_name);
        }
        components.push(c);
        refs.push(r);
    }
    for p in &report.packages {
        let r = format!("pkg:{}", package_key(p));
        let mut props = vec![
            json!({"name": "shipshape:ecosystem", "value": p.ecosystem.osv_name()}),
            json!({"name": "shipshape:location:path", "value": p.location.path}),
            json!({"name": "shipshape:location:layer_index", "value": p.location.layer_index.to_string()}),
            json!({"name": "shipshape:location:layer_digest", "value": p.location.layer_digest}),
        ];
        if let Some(s) = &p.source_name {
            props.push(json!({"name": "shipshape:source_name", "value": s}));
        }
        if let Some(s) = &p.source_version {
            props.push(json!({"name": "shipshape:source_version", "value": s}));
        }
        let mut c = json!({"bom-ref": r, "type": "library", "name": p.name, "version": p.version, "properties": props});
        if !p.purl.is_empty() {
            c["purl"] = json!(p.purl);
        }
        if !p.licenses.is_empty() {
            c["licenses"] = Value::Array(p.licenses.iter().map(|l| json!({"license": {"name": l}})).collect());
        }
        components.push(c);
        refs.push(r);
    }
    let mut props = vec![
        json!({"name": "shipshape:image:id", "value": img.id}),
        json!({"name": "shipshape:image:os", "value": img.os}),
        json!({"name": "shipshape:image:architecture", "value": img.architecture}),
    ];
    props.extend(img.repo_tags.iter().map(|t| json!({"name": "shipshape:image:repo_tag", "value": t})));
    props.extend(img.repo_digests.iter().map(|t| json!({"name": "shipshape:image:repo_digest", "value": t})));
    props.extend(img.layers.iter().map(|t| json!({"name": "shipshape:image:layer", "value": t})));
    let mut image = json!({"bom-ref": image_ref, "type": "container", "name": img.name, "properties": props});
    if !img.id.is_empty() {
        image["version"] = json!(img.id);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", report_uuid(report)),
        "version": 1,
        "metadata": {
            "timestamp": timestamp(report.created),
            "tools": {"components": [{"type": "application", "name": "shipshape", "version": env!("CARGO_PKG_VERSION")}]},
            "component": image,
        },
        "components": components,
        "dependencies": [{"ref": image_ref, "dependsOn": refs}],
    })
}

/// A source tree's BOM: the subject is an `application` (Trivy says so too), without image properties.
pub fn cyclonedx_source_tree(report: &Report) -> Value {
    let mut bom = cyclonedx(report);
    let component = &mut bom["metadata"]["component"];
    component["type"] = "application".into();
    if let Some(o) = component.as_object_mut() {
        o.remove("properties");
    }
    bom
}

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

/// Appends `vulnerabilities` to a BOM made by [`cyclonedx`] for the same packages: one entry per (advisory,
/// package), `affects` pointing at the package component's bom-ref, aliases as `references`, the severity (and
/// CVSS score/vector when known) as a rating.
pub fn add_vulnerabilities(bom: &mut Value, vulns: &[VulnFinding]) {
    let list: Vec<Value> = vulns
        .iter()
        .map(|v| {
            let p = &v.package;
            let affects = crate::package_bom_ref(p.ecosystem, &p.name, &p.version, &v.location);
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
