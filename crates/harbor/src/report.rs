//! Harbor's reports, rendered from what the scan stored for the image (the same rows the TCSS
//! image actions read, so Harbor and the TCSS view agree): the vulnerability findings, and the
//! content report (distribution and packages) for SBOMs.

use crate::wire::{self, Artifact, Cvss, SbomReport, Scanner, Severity, VulnerabilityItem, VulnerabilityReport};
use scan::results::{FindingKind, ImageSummary, StoredContent};
use serde_json::{Map, Value, json};
use store::scan_tasks::ImageAsset;
use vuln::VulnFinding;

/// What a finished scan left in the store for its image.
pub struct Stored {
    pub asset: ImageAsset,
    pub summary: ImageSummary,
    pub scanned_at: i64,
    pub vulns: Vec<VulnFinding>,
    pub content: Option<StoredContent>,
}

/// Why a report cannot be made from a finished scan.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the results of image {0} are no longer stored")]
    Gone(String),
    #[error("vulnerability matching failed for image {image}: {reason}")]
    NoVulnerabilities { image: String, reason: String },
    #[error("no package inventory is stored for image {0}")]
    NoContent(String),
    #[error("corrupt stored result: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Reads an image's stored results.
pub async fn load(store: &store::Store, account: model::AccountId, image_id: &str) -> Result<Stored, ReportError> {
    let gone = || ReportError::Gone(image_id.to_string());
    let asset = store.image_asset(account, image_id).await?.ok_or_else(gone)?;
    let result = store.image_scan_result(account, image_id).await?.ok_or_else(gone)?;
    let summary: ImageSummary = serde_json::from_str(&result.summary).map_err(|e| ReportError::Corrupt(e.to_string()))?;
    let vulns = store
        .image_findings(account, image_id, FindingKind::Vul)
        .await?
        .iter()
        .map(|r| serde_json::from_str(r))
        .collect::<Result<Vec<VulnFinding>, _>>()
        .map_err(|e| ReportError::Corrupt(e.to_string()))?;
    let content = match store.image_findings(account, image_id, FindingKind::Content).await?.first() {
        Some(text) => Some(serde_json::from_str(text).map_err(|e| ReportError::Corrupt(e.to_string()))?),
        None => None,
    };
    Ok(Stored { asset, summary, scanned_at: result.scanned_at, vulns, content })
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// The CVSS vector and score a finding carries, as Harbor's v2/v3 slots (a v4 vector has no
/// slot there: it stays in `vendor_attributes`).
fn preferred_cvss(v: &VulnFinding) -> Option<Cvss> {
    let vector = v.cvss_vector.as_deref()?;
    if vector.starts_with("CVSS:3.") {
        Some(Cvss { score_v3: v.cvss_score, vector_v3: Some(vector.to_string()), ..Default::default() })
    } else if vector.starts_with("AV:") || vector.starts_with("(AV:") {
        Some(Cvss { score_v2: v.cvss_score, vector_v2: Some(vector.trim_matches(['(', ')']).to_string()), ..Default::default() })
    } else {
        None
    }
}

fn item(v: &VulnFinding) -> VulnerabilityItem {
    let mut attrs = Map::new();
    attrs.insert("advisory_id".into(), json!(v.advisory_id));
    attrs.insert("aliases".into(), json!(v.aliases));
    attrs.insert("data_source".into(), json!(v.source));
    attrs.insert("purl".into(), json!(v.package.purl));
    attrs.insert("path".into(), json!(v.location.path));
    attrs.insert("layer_digest".into(), json!(v.location.layer_digest));
    if let Some(vector) = v.cvss_vector.as_deref().filter(|x| x.starts_with("CVSS:4.")) {
        attrs.insert("cvss_v4".into(), json!({"vector": vector, "score": v.cvss_score}));
    }
    VulnerabilityItem {
        id: v.display_id.clone(),
        package: v.package.name.clone(),
        version: v.package.version.clone(),
        fix_version: v.fixed_versions.join(", "),
        severity: v.severity.into(),
        description: if v.description.is_empty() { v.title.clone() } else { v.description.clone() },
        links: v.links.iter().filter(|l| l.starts_with("https://") || l.starts_with("http://")).cloned().collect(),
        preferred_cvss: preferred_cvss(v),
        cwe_ids: v.cwes.clone(),
        vendor_attributes: attrs,
    }
}

/// The vulnerability report (both of Harbor's vulnerability MIME types carry this body).
pub fn vulnerability_report(artifact: &Artifact, stored: &Stored) -> Result<VulnerabilityReport, ReportError> {
    match &stored.summary.vul {
        Some(k) if k.error.is_empty() => {}
        Some(k) => return Err(ReportError::NoVulnerabilities { image: stored.asset.facts.image_id.clone(), reason: k.error.clone() }),
        None => {
            return Err(ReportError::NoVulnerabilities {
                image: stored.asset.facts.image_id.clone(),
                reason: "not scanned for them".into(),
            });
        }
    }
    let vulnerabilities: Vec<VulnerabilityItem> = stored.vulns.iter().map(item).collect();
    Ok(VulnerabilityReport {
        generated_at: rfc3339(stored.scanned_at),
        artifact: artifact.clone(),
        scanner: Scanner::shipshape(),
        // Harbor reads the highest severity; with no finding there is none to name.
        severity: vulnerabilities.iter().map(|v| v.severity).max().unwrap_or(Severity::Unknown),
        vulnerabilities,
    })
}

/// The SBOM report in `media_type` (SPDX 2.3 or CycloneDX 1.5 JSON, Shipshape's renderers).
pub fn sbom_report(artifact: &Artifact, reference: &str, stored: &Stored, media_type: &'static str) -> Result<SbomReport, ReportError> {
    let content = stored.content.as_ref().ok_or_else(|| ReportError::NoContent(stored.asset.facts.image_id.clone()))?;
    let a = &stored.asset;
    let report = ::report::Report {
        image: ::report::ImageIdentity {
            name: reference.to_string(),
            id: a.facts.image_id.clone(),
            repo_tags: a.facts.names.clone(),
            repo_digests: a.facts.repo_digests.clone(),
            os: a.facts.os.clone(),
            architecture: a.facts.architecture.clone(),
            layers: a.facts.layers.clone(),
        },
        distribution: content.distribution.clone(),
        packages: content.packages.clone(),
        created: time::OffsetDateTime::from_unix_timestamp(stored.scanned_at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    };
    let sbom = if media_type == wire::SBOM_SPDX { ::report::spdx(&report) } else { ::report::cyclonedx(&report) };
    let mut vendor_attributes = Map::new();
    vendor_attributes.insert("packages".into(), Value::from(content.packages.len()));
    vendor_attributes.insert("image_id".into(), Value::from(a.facts.image_id.clone()));
    Ok(SbomReport {
        generated_at: rfc3339(stored.scanned_at),
        artifact: artifact.clone(),
        scanner: Scanner::shipshape(),
        vendor_attributes,
        media_type,
        sbom,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(vector: Option<&str>, severity: model::Severity) -> VulnFinding {
        serde_json::from_value(json!({
            "advisory_id": "DEBIAN-CVE-2023-1", "display_id": "CVE-2023-1", "aliases": ["CVE-2023-1"], "source": "osv/Debian",
            "package": {"name": "libssl3", "version": "3.0.11-1~deb12u1", "ecosystem": "Debian", "source_name": "openssl",
                        "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u1"},
            "installed_version": "3.0.11-1~deb12u1", "fixed_versions": ["3.0.11-1~deb12u2", "3.0.13-1"],
            "severity": severity, "cvss_score": 7.5, "cvss_vector": vector, "title": "t", "description": "",
            "cwes": ["CWE-476"], "links": ["https://security-tracker.debian.org/tracker/CVE-2023-1", "not a link"],
            "location": {"path": "/var/lib/dpkg/status", "layer_index": 0, "layer_digest": "sha256:aa"}
        }))
        .unwrap()
    }

    fn stored(vulns: Vec<VulnFinding>, vul_error: &str) -> Stored {
        let summary =
            ImageSummary { vul: Some(scan::results::KindSummary { error: vul_error.into(), ..Default::default() }), ..Default::default() };
        Stored {
            asset: ImageAsset {
                facts: model::node::ImageFacts { image_id: "sha256:img".into(), ..Default::default() },
                ..Default::default()
            },
            summary,
            scanned_at: 1_700_000_000,
            vulns,
            content: Some(StoredContent::default()),
        }
    }

    #[test]
    fn items_carry_harbor_fields() {
        let s = stored(
            vec![
                finding(Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"), model::Severity::High),
                finding(Some("AV:N/AC:L/Au:N/C:N/I:N/A:P"), model::Severity::Low),
                finding(Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"), model::Severity::Unknown),
            ],
            "",
        );
        let r = vulnerability_report(&Artifact::default(), &s).unwrap();
        assert_eq!(r.severity, Severity::High);
        assert_eq!(r.generated_at, "2023-11-14T22:13:20Z");
        let v = &r.vulnerabilities[0];
        assert_eq!((v.id.as_str(), v.package.as_str(), v.version.as_str()), ("CVE-2023-1", "libssl3", "3.0.11-1~deb12u1"));
        assert_eq!(v.fix_version, "3.0.11-1~deb12u2, 3.0.13-1");
        assert_eq!(v.links, vec!["https://security-tracker.debian.org/tracker/CVE-2023-1".to_string()]);
        assert_eq!(v.cwe_ids, vec!["CWE-476".to_string()]);
        assert_eq!(v.description, "t", "the title stands in for a missing description");
        assert_eq!(v.preferred_cvss.as_ref().unwrap().score_v3, Some(7.5));
        assert_eq!(r.vulnerabilities[1].preferred_cvss.as_ref().unwrap().vector_v2.as_deref(), Some("AV:N/AC:L/Au:N/C:N/I:N/A:P"));
        assert!(r.vulnerabilities[2].preferred_cvss.is_none());
        assert!(r.vulnerabilities[2].vendor_attributes.contains_key("cvss_v4"));
        assert_eq!(r.vulnerabilities[2].severity, Severity::Unknown);
        let empty = vulnerability_report(&Artifact::default(), &stored(vec![], "")).unwrap();
        assert_eq!(empty.severity, Severity::Unknown);
    }

    #[test]
    fn failed_matching_is_an_error_not_an_empty_report() {
        let e = vulnerability_report(&Artifact::default(), &stored(vec![], "no advisory data")).unwrap_err();
        assert!(e.to_string().contains("no advisory data"));
    }
}
