//! `shipshape image sbom|scan` on the real test image from every kind of source: docker-archive,
//! OCI layout, registry and the Docker Engine. Images: `SHIPSHAPE_TESTIMAGES` (built from
//! ../shared/testimages by scripts/testimages.sh); expectations: ../shared/testimages/
//! expected.json and plants.json.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn required() -> bool {
    std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1")
}

/// The env var's value, or `None` after saying the test is skipped (a failure under CI).
fn need(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(!required(), "SHIPSHAPE_TEST_SERVICES=1 but {var} is unset");
            println!("{var} unset: test skipped");
            None
        }
    }
}

fn shared() -> PathBuf {
    std::env::var_os("SHIPSHAPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn plants() -> Value {
    serde_json::from_str(&std::fs::read_to_string(shared().join("testimages/plants.json")).unwrap()).unwrap()
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipshape"))
        .args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env_remove("SHIPSHAPE_CACHE_DIR")
        .output()
        .unwrap()
}

fn json_ok(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn expected_packages() -> Vec<(String, String)> {
    let e: Value = serde_json::from_str(&std::fs::read_to_string(shared().join("testimages/expected.json")).unwrap()).unwrap();
    let mut v: Vec<(String, String)> = e["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
        .collect();
    v.sort();
    v
}

fn sbom_packages(sbom: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["version"].as_str().unwrap().to_string()))
        .collect();
    v.sort();
    v
}

fn check_sbom(source: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sbom = json_ok(&run(&["image", "sbom", source, "--format", "json"], dir.path()));
    assert_eq!(sbom_packages(&sbom), expected_packages(), "{source}");
    // CycloneDX from the same run of the cache.
    let cdx = json_ok(&run(&["image", "sbom", source, "--format", "cyclonedx"], dir.path()));
    assert_eq!(cdx["bomFormat"], "CycloneDX");
}

#[test]
fn sbom_docker_archive_and_oci() {
    let Some(imgs) = need("SHIPSHAPE_TESTIMAGES") else { return };
    check_sbom(&format!("docker-archive:{imgs}/bookworm-app.docker.tar"));
    check_sbom(&format!("oci:{imgs}/bookworm-app.oci"));
}

#[test]
fn sbom_registry_and_docker_engine() {
    let (Some(reg), Some(_)) = (need("SHIPSHAPE_TEST_REGISTRY"), need("SHIPSHAPE_TEST_DOCKER")) else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = format!("registry:{reg}/shipshape-test/bookworm-app:1");
    let sbom = json_ok(&run(&["image", "sbom", &src, "--insecure-registry", "--format", "json"], dir.path()));
    assert_eq!(sbom_packages(&sbom), expected_packages());
    check_sbom("docker:shipshape-test/bookworm-app:1");
}

fn paths(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|f| f["location"]["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn scan_finds_the_plants_and_caches_layers() {
    let Some(imgs) = need("SHIPSHAPE_TESTIMAGES") else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = format!("docker-archive:{imgs}/bookworm-app.docker.tar");
    let out = run(&["image", "scan", &src, "--scanners", "virus,risk", "--format", "json"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let report = json_ok(&out);
    let p = plants();
    let malware = paths(&report["malware"]);
    for v in p["virus_paths"].as_array().unwrap() {
        assert!(malware.contains(&v.as_str().unwrap().to_string()), "{v} not found in {malware:?}");
    }
    let risks = paths(&report["risks"]);
    for v in p["risk_paths"].as_array().unwrap().iter().chain(p["deleted_risk_paths"].as_array().unwrap()) {
        assert!(risks.contains(&v.as_str().unwrap().to_string()), "{v} not found in {risks:?}");
    }
    for s in p["secret_values"].as_array().unwrap() {
        for line in s.as_str().unwrap().lines().filter(|l| l.len() > 8) {
            assert!(!text.contains(line), "a secret came out unmasked");
        }
    }
    assert_eq!(report["layers"]["cached"], 0);

    // Second run: every layer from the cache, same findings; SARIF has one result per finding.
    let sarif = json_ok(&run(&["image", "scan", &src, "--scanners", "virus,risk", "--format", "sarif"], dir.path()));
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), malware.len() + risks.len());
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/'), "{uri}");
        assert!(r["ruleId"].is_string() && r["properties"]["layerIndex"].is_number());
    }
    assert!(results.iter().any(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .starts_with("opt/samples/eicar.zip!/")));
    let again = json_ok(&run(&["image", "scan", &src, "--scanners", "virus,risk", "--format", "json"], dir.path()));
    assert_eq!(again["layers"]["cached"], again["layers"]["total"]);
    assert_eq!(paths(&again["malware"]), malware);
    assert_eq!(paths(&again["risks"]), risks);
}

#[test]
fn vuln_scan_without_advisories_exits_2() {
    let Some(imgs) = need("SHIPSHAPE_TESTIMAGES") else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = format!("docker-archive:{imgs}/bookworm-app.docker.tar");
    let out = run(&["image", "scan", &src, "--scanners", "vuln"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no vulnerability data") && err.contains("db import"), "{err}");
    let out = run(&["image", "scan", &src, "--scanners", "nope"], dir.path());
    assert!(!out.status.success());
}
