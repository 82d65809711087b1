//! CycloneDX 1.5 JSON (cyclonedx.org/docs/1.5/json).

use crate::{Report, package_key, report_uuid, timestamp};
use serde_json::{Value, json};

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
