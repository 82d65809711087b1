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
    std::env::var_os("SHIPSHAPE_SHARED").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
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
    let Some(imgs) = need("SHIPSHAPE_TESTIMAGES") else {
        return;
    };
    check_sbom(&format!("docker-archive:{imgs}/bookworm-app.docker.tar"));
    check_sbom(&format!("oci:{imgs}/bookworm-app.oci"));
}

#[test]
fn sbom_registry_and_docker_engine() {
    let (Some(reg), Some(_)) = (need("SHIPSHAPE_TEST_REGISTRY"), need("SHIPSHAPE_TEST_DOCKER")) else {
        return;
    };
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
    let Some(imgs) = need("SHIPSHAPE_TESTIMAGES") else {
        return;
    };
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
    assert!(results.iter().any(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap().starts_with("opt/samples/eicar.zip!/")
    }));
    let again = json_ok(&run(&["image", "scan", &src, "--scanners", "virus,risk", "--format", "json"], dir.path()));
    assert_eq!(again["layers"]["cached"], again["layers"]["total"]);
    assert_eq!(paths(&again["malware"]), malware);
    assert_eq!(paths(&again["risks"]), risks);
}

#[test]
fn vuln_scan_without_advisories_exits_2() {
    let Some(imgs) = need("SHIPSHAPE_TESTIMAGES") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = format!("docker-archive:{imgs}/bookworm-app.docker.tar");
    let out = run(&["image", "scan", &src, "--scanners", "vuln"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no vulnerability data") && err.contains("db import"), "{err}");
    let out = run(&["image", "scan", &src, "--scanners", "nope"], dir.path());
    assert!(!out.status.success());
}

/// (package named as expected.json names it, installed version, advisory id) of a JSON finding.
fn triple(f: &Value) -> (String, String, String) {
    let p = &f["package"];
    let os = matches!(p["ecosystem"].as_str(), Some("Debian" | "Alpine" | "Ubuntu" | "RedHat" | "Rocky Linux" | "AlmaLinux"));
    let name = p["source_name"].as_str().filter(|_| os).or(p["name"].as_str()).unwrap().to_string();
    (name, f["installed_version"].as_str().unwrap().to_string(), f["advisory_id"].as_str().unwrap().to_string())
}

#[test]
fn vuln_scan_matches_expected_in_every_format() {
    let Some(imgs) = need("SHIPSHAPE_TESTIMAGES") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_shipshape"))
        .args(["db", "import"])
        .arg(shared().join("vulndata"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let src = format!("docker-archive:{imgs}/bookworm-app.docker.tar");

    let report = json_ok(&run(&["image", "scan", &src, "--scanners", "vuln", "--format", "json"], dir.path()));
    let found = report["vulnerabilities"].as_array().unwrap();
    let got: std::collections::BTreeSet<_> = found.iter().map(triple).collect();
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(shared().join("testimages/expected.json")).unwrap()).unwrap();
    let want: std::collections::BTreeSet<_> = expected["vulns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[0].as_str().unwrap().to_string(), v[1].as_str().unwrap().to_string(), v[2].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(got, want, "missing {:?}\nextra {:?}", want.difference(&got).collect::<Vec<_>>(), got.difference(&want).collect::<Vec<_>>());
    for f in found {
        assert!(f["location"]["path"].as_str().is_some_and(|p| !p.is_empty()), "{f}");
    }

    // CycloneDX: one vulnerability per finding, each pointing at a component of the same BOM.
    let cdx = json_ok(&run(&["image", "scan", &src, "--scanners", "vuln", "--format", "cyclonedx"], dir.path()));
    assert_eq!(cdx["specVersion"], "1.5");
    let refs: std::collections::HashSet<&str> =
        cdx["components"].as_array().unwrap().iter().filter_map(|c| c["bom-ref"].as_str()).collect();
    let vulns = cdx["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), found.len());
    for v in vulns {
        let r = v["affects"][0]["ref"].as_str().unwrap();
        assert!(refs.contains(r), "{r} is not a component");
        assert!(v["ratings"][0]["severity"].is_string());
    }
    let django = vulns.iter().find(|v| v["properties"][0]["value"] == "PYSEC-2021-98").expect("PYSEC-2021-98");
    assert_eq!(django["id"], "CVE-2021-33203");
    assert!(django["references"].as_array().unwrap().iter().any(|r| r["id"] == "PYSEC-2021-98"));

    // SARIF: one result per (advisory, package), at the package's metadata file.
    let sarif = json_ok(&run(&["image", "scan", &src, "--scanners", "vuln", "--format", "sarif"], dir.path()));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), found.len());
    assert!(results.iter().all(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string()));

    let table = run(&["image", "scan", &src, "--scanners", "vuln", "--format", "table"], dir.path());
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains(&format!("Vulnerabilities: {}", found.len())) && text.contains("CVE-2021-33203"), "{text}");
}
