//! Snapshots of every format on a small fixed input (`report::sample_report()` plus a few
//! findings written here): any change to what a format writes shows up as a snapshot diff to
//! review (`cargo insta review`, or INSTA_UPDATE=always then `git diff`). The creation time is
//! the input's, ids derive from it, and the tool version is the one volatile field: redacted.

use model::{Location, MalwareFinding, RiskFinding, Severity};
use report::findings::{Findings, FindingsReport, Sections, Subject};
use report::{Format, Report};
use serde_json::json;
use vuln::VulnFinding;

/// The rendered text with this build's version replaced, so a release does not touch every snapshot.
fn redact(text: String) -> String {
    text.replace(&format!("shipshape-{}", env!("CARGO_PKG_VERSION")), "shipshape-[version]")
        .replace(&format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")), "\"version\": \"[version]\"")
}

fn content(format: Format) -> String {
    redact(report::render(&report::sample_report(), format).expect("render"))
}

/// Each snapshot is named after what it renders (`tests/it/snapshots/it__formats__<name>.snap`).
#[test]
fn content_formats() {
    for (name, format) in [
        ("content_table", Format::Table),
        ("content_json", Format::Json),
        ("content_cyclonedx", Format::CycloneDx),
        ("content_spdx", Format::SpdxJson),
    ] {
        insta::assert_snapshot!(name, content(format));
    }
}

#[test]
fn sarif_is_not_a_content_format() {
    assert!(report::render(&report::sample_report(), Format::Sarif).is_err());
}

fn vuln(id: &str, package: &str, version: &str, fixed: &[&str], severity: Severity, vector: Option<&str>) -> VulnFinding {
    serde_json::from_value(json!({
        "advisory_id": format!("DEBIAN-{id}"), "display_id": id, "aliases": [id], "source": "osv/Debian",
        "package": {"name": package, "version": version, "ecosystem": "Debian", "source_name": "openssl",
                    "purl": format!("pkg:deb/debian/{package}@{version}?arch=amd64&distro=debian-12")},
        "installed_version": version, "fixed_versions": fixed,
        "severity": severity, "cvss_score": vector.map(|_| 7.5), "cvss_vector": vector, "title": format!("{id} in {package}"),
        "cwes": ["CWE-476"], "links": [format!("https://security-tracker.debian.org/tracker/{id}")],
        "location": {"path": "/var/lib/dpkg/status", "layer_index": 0, "layer_digest": format!("sha256:{}", "0".repeat(64))}
    }))
    .expect("a VulnFinding")
}

struct Scan {
    content: Report,
    vulns: Vec<VulnFinding>,
    suppressed: Vec<(VulnFinding, String)>,
    malware: Vec<MalwareFinding>,
    risks: Vec<RiskFinding>,
    warnings: Vec<String>,
}

fn scan() -> Scan {
    let layer = |i: u32| Location { path: String::new(), layer_index: i, layer_digest: format!("sha256:{}", format!("{i}").repeat(64)) };
    Scan {
        content: report::sample_report(),
        vulns: vec![
            vuln(
                "CVE-2026-0001",
                "libssl3",
                "3.0.20-1~deb12u2",
                &["3.0.22-1~deb12u1"],
                Severity::High,
                Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
            ),
            vuln("CVE-2026-0002", "libssl3", "3.0.20-1~deb12u2", &[], Severity::Low, None),
        ],
        suppressed: vec![(
            vuln("CVE-2026-0003", "libssl3", "3.0.20-1~deb12u2", &["3.0.22-1~deb12u2"], Severity::Medium, None),
            "vex.json: not_affected (vulnerable_code_not_in_execute_path)".into(),
        )],
        malware: vec![MalwareFinding {
            signature: "Eicar-Test-Signature".into(),
            source: "clamav:eicar.hdb".into(),
            severity: Severity::High,
            location: Location { path: "/opt/samples.zip".into(), ..layer(2) },
            archive_member: Some("inner/eicar.com".into()),
            size: 68,
            md5: "44d88612fea8a8f36de82e1278abb02f".into(),
            sha256: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f".into(),
            deleted_in_layer: None,
        }],
        risks: vec![RiskFinding {
            rule_id: "aws-access-key-id".into(),
            title: "AWS access key".into(),
            category: "secret".into(),
            severity: Severity::Critical,
            location: Location { path: "/app/.env".into(), ..layer(1) },
            line: 3,
            masked: "AKIA************MPLE".into(),
            deleted_in_layer: Some(2),
        }],
        warnings: vec!["layer 1: /app/huge.bin: larger than the 64 MiB file limit, not read".into()],
    }
}

fn findings(s: &Scan, subject: Subject, format: Format) -> String {
    let r = FindingsReport {
        content: &s.content,
        subject,
        sections: Sections { vuln: true, virus: true, risk: true },
        findings: Findings { vulns: &s.vulns, suppressed: &s.suppressed, malware: &s.malware, risks: &s.risks },
        warnings: &s.warnings,
        partial: false,
    };
    redact(report::findings::render(&r, format).expect("render"))
}

const IMAGE: Subject = Subject::Image { layers: 3, cached_layers: 1, bytes_walked: 123_456 };

#[test]
fn image_findings_formats() {
    let s = scan();
    for (name, format) in [
        ("image_findings_table", Format::Table),
        ("image_findings_json", Format::Json),
        ("image_findings_sarif", Format::Sarif),
        ("image_findings_cyclonedx", Format::CycloneDx),
    ] {
        insta::assert_snapshot!(name, findings(&s, IMAGE, format));
    }
}

/// A source tree: no image id, the path as its name, an `application` in CycloneDX.
fn tree() -> Scan {
    let mut s = scan();
    s.content.image = report::ImageIdentity { name: "./service".into(), ..Default::default() };
    s.content.distribution = None;
    s.content.packages.retain(|p| !p.ecosystem.is_os());
    s.vulns.clear();
    s.suppressed.clear();
    s
}

const TREE: Subject = Subject::Filesystem { entries: 42, bytes: 9_876 };

#[test]
fn tree_findings_formats() {
    let s = tree();
    for (name, format) in [
        ("tree_findings_table", Format::Table),
        ("tree_findings_json", Format::Json),
        ("tree_findings_sarif", Format::Sarif),
        ("tree_findings_cyclonedx", Format::CycloneDx),
        ("tree_findings_spdx", Format::SpdxJson),
    ] {
        insta::assert_snapshot!(name, findings(&s, TREE, format));
    }
}
