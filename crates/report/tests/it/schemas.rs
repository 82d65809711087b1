//! Output validity: CycloneDX against the official 1.5 JSON schema (committed under
//! testdata/schema with provenance), SPDX with the official SPDX validator (`pyspdxtools`).

use serde_json::Value;
use std::path::Path;

fn schema(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/schema").join(name);
    serde_json::from_slice(&std::fs::read(&p).expect("schema file")).expect("schema json")
}

fn cyclonedx_errors(doc: &Value) -> Vec<String> {
    let registry = jsonschema::Registry::new()
        .add("http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json", schema("spdx.SNAPSHOT.schema.json"))
        .expect("uri")
        .add("http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json", schema("jsf-0.82.SNAPSHOT.schema.json"))
        .expect("uri")
        .prepare()
        .expect("registry");
    let validator = jsonschema::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema("bom-1.5.SNAPSHOT.schema.json"))
        .expect("CycloneDX 1.5 schema compiles");
    validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn cyclonedx_is_valid_against_the_1_5_schema() {
    let report = report::sample_report();
    let doc: Value = serde_json::from_str(&report::render(&report, report::Format::CycloneDx).expect("render")).expect("json");
    let errors = cyclonedx_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["components"].as_array().map(Vec::len), Some(report.packages.len() + 1));
    assert_eq!(doc["components"][1]["purl"], report.packages[0].purl);
}

#[test]
fn the_schema_check_can_fail() {
    let mut doc = report::cyclonedx(&report::sample_report());
    doc["components"][0]["type"] = Value::from("not-a-type");
    doc["serialNumber"] = Value::from("nope");
    assert!(cyclonedx_errors(&doc).len() >= 2);
}

#[test]
fn empty_report_is_valid_too() {
    let mut report = report::sample_report();
    report.packages.clear();
    report.distribution = None;
    report.image.id.clear();
    assert!(cyclonedx_errors(&report::cyclonedx(&report)).is_empty());
    let spdx = report::spdx(&report);
    assert_eq!(spdx["packages"].as_array().map(Vec::len), Some(1));
}

/// Every SPDXID is unique and well formed; every relationship names an existing element.
#[test]
fn spdx_structure() {
    let doc = report::spdx(&report::sample_report());
    let ids: Vec<&str> = doc["packages"].as_array().expect("packages").iter().map(|p| p["SPDXID"].as_str().expect("id")).collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    for id in &ids {
        assert!(
            id.strip_prefix("SPDXRef-")
                .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')),
            "{id}"
        );
    }
    for r in doc["relationships"].as_array().expect("relationships") {
        let a = r["spdxElementId"].as_str().expect("a");
        let b = r["relatedSpdxElement"].as_str().expect("b");
        assert!(a == "SPDXRef-DOCUMENT" || ids.contains(&a));
        assert!(ids.contains(&b));
    }
    let created = doc["creationInfo"]["created"].as_str().expect("created");
    assert_eq!(created, "2026-11-29T05:36:00Z");
    let pyyaml = doc["packages"].as_array().expect("p").iter().find(|p| p["name"] == "PyYAML").expect("PyYAML");
    assert_eq!(pyyaml["licenseDeclared"], "NOASSERTION", "free-text licenses are not expressions");
}

/// The official SPDX validator (PyPI `spdx-tools`, `pyspdxtools`), when installed.
#[test]
fn spdx_passes_the_official_validator() {
    let have = std::process::Command::new("pyspdxtools").arg("--help").output();
    if !have.as_ref().is_ok_and(|o| o.status.success()) {
        if std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1") {
            panic!("pyspdxtools is required when SHIPSHAPE_TEST_SERVICES is set (pip install spdx-tools)");
        }
        eprintln!("skipped: pyspdxtools not installed (pip install spdx-tools)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.spdx.json");
    std::fs::write(&good, report::render(&report::sample_report(), report::Format::SpdxJson).expect("render")).expect("write");
    let out = std::process::Command::new("pyspdxtools").arg("-i").arg(&good).output().expect("run");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !text.contains("Validation"), "{text}");
    // And it does reject a broken document.
    let mut bad = report::spdx(&report::sample_report());
    bad["relationships"][1]["relatedSpdxElement"] = Value::from("SPDXRef-Nowhere");
    bad["packages"][2]["licenseDeclared"] = Value::from("MIT license, see LICENSE");
    let badp = dir.path().join("bad.spdx.json");
    std::fs::write(&badp, serde_json::to_string(&bad).expect("json")).expect("write");
    let out = std::process::Command::new("pyspdxtools").arg("-i").arg(&badp).output().expect("run");
    assert!(!out.status.success(), "broken document accepted");
}
