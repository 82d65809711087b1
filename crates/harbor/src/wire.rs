//! The adapter's wire types and media types, as `../shared/spec/harbor/scanner-adapter-openapi-v1.2.yaml`
//! names them. Request types are lenient where the spec marks fields optional; validation with
//! the spec's status codes is [`ScanRequest::validate`].

use serde::{Deserialize, Serialize};

pub const MIME_METADATA: &str = "application/vnd.scanner.adapter.metadata+json; version=1.0";
pub const MIME_SCAN_RESPONSE: &str = "application/vnd.scanner.adapter.scan.response+json; version=1.0";
pub const MIME_ERROR: &str = "application/vnd.scanner.adapter.error+json; version=1.0";
/// The two vulnerability report types Harbor asks for (same body).
pub const MIME_VULN_REPORT: &str = "application/vnd.security.vulnerability.report; version=1.1";
pub const MIME_VULN_REPORT_HARBOR: &str = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
pub const MIME_SBOM_REPORT: &str = "application/vnd.security.sbom.report+json; version=1.0";
/// Artifacts the scanner reads: single-platform image manifests.
pub const CONSUMES: [&str; 2] = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];
pub const SBOM_SPDX: &str = "application/spdx+json";
pub const SBOM_CYCLONEDX: &str = "application/vnd.cyclonedx+json";
pub const SBOM_MEDIA_TYPES: [&str; 2] = [SBOM_SPDX, SBOM_CYCLONEDX];

pub const CAPABILITY_VULNERABILITY: &str = "vulnerability";
pub const CAPABILITY_SBOM: &str = "sbom";

/// The report types one capability produces.
pub fn produces(capability: &str) -> &'static [&'static str] {
    match capability {
        CAPABILITY_VULNERABILITY => &[MIME_VULN_REPORT, MIME_VULN_REPORT_HARBOR],
        CAPABILITY_SBOM => &[MIME_SBOM_REPORT],
        _ => &[],
    }
}

/// Compares media types the way HTTP does: type/subtype case-insensitively, parameters with
/// whitespace around `;` and `=` ignored (`version=1.1` vs `version = 1.1`).
pub fn same_media_type(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> Vec<String> {
        s.split(';').map(|p| p.split('=').map(|x| x.trim().to_ascii_lowercase()).collect::<Vec<_>>().join("=")).collect()
    }
    norm(a) == norm(b)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Scanner {
    pub name: String,
    pub vendor: String,
    pub version: String,
}

impl Scanner {
    pub fn shipshape() -> Scanner {
        Scanner { name: "Shipshape".into(), vendor: "Shipshape".into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub scanner: Scanner,
    pub capabilities: Vec<Capability>,
    pub properties: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Capability {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub consumes_mime_types: Vec<&'static str>,
    pub produces_mime_types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_attributes: Option<serde_json::Value>,
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Registry {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
}

impl std::fmt::Debug for Registry {
    // Harbor's registry credential never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("url", &self.url).field("authorization", &self.authorization.as_ref().map(|_| "****")).finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Artifact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct EnabledCapability {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produces_mime_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<SbomParameters>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct SbomParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom_media_types: Option<Vec<String>>,
}

/// `POST /scan` body. Unknown fields are ignored (Harbor may add some).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ScanRequest {
    #[serde(default)]
    pub registry: Option<Registry>,
    #[serde(default)]
    pub artifact: Option<Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_capabilities: Option<Vec<EnabledCapability>>,
}

/// A request the adapter refuses, with the spec's status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal { status, message: message.into() }
}

/// A checked request: where to pull from and what to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `HOST[:PORT]` of the registry.
    pub host: String,
    /// The registry URL is `http://`.
    pub insecure: bool,
    pub repository: String,
    pub digest: String,
    pub tag: Option<String>,
    pub vulnerability: bool,
    pub sbom: bool,
}

impl Target {
    /// The image reference to pull (by digest: what Harbor asked for, even if the tag moved).
    pub fn reference(&self) -> String {
        format!("{}/{}@{}", self.host, self.repository, self.digest)
    }
}

impl ScanRequest {
    /// Checks the request as the spec orders: 422 for a missing or invalid field, 501 for what
    /// the scanner cannot produce or read. Without `enabled_capabilities`, every capability.
    pub fn validate(&self) -> Result<Target, Refusal> {
        let (mut vulnerability, mut sbom) = (true, true);
        if let Some(caps) = &self.enabled_capabilities {
            (vulnerability, sbom) = (false, false);
            for c in caps {
                let offered = produces(&c.kind);
                if offered.is_empty() {
                    return Err(refuse(422, format!("enabled_capabilities.type: {:?} is not vulnerability or sbom", c.kind)));
                }
                for m in c.produces_mime_types.iter().flatten() {
                    if !offered.iter().any(|o| same_media_type(o, m)) {
                        return Err(refuse(501, format!("capability {} cannot produce {m:?}", c.kind)));
                    }
                }
                if c.kind == CAPABILITY_SBOM {
                    let types = c.parameters.as_ref().and_then(|p| p.sbom_media_types.as_ref());
                    for t in types.into_iter().flatten() {
                        if !SBOM_MEDIA_TYPES.contains(&t.as_str()) {
                            return Err(refuse(422, format!("enabled_capabilities.parameters.sbom_media_types: unsupported {t:?}")));
                        }
                    }
                    sbom = true;
                } else {
                    vulnerability = true;
                }
            }
            if caps.is_empty() {
                return Err(refuse(422, "enabled_capabilities: empty"));
            }
        }
        let registry = self.registry.as_ref().ok_or_else(|| refuse(422, "missing registry"))?;
        let url = registry.url.as_deref().filter(|u| !u.is_empty()).ok_or_else(|| refuse(422, "missing registry.url"))?;
        let (host, insecure) = parse_registry_url(url).ok_or_else(|| refuse(422, format!("invalid registry.url {url:?}")))?;
        if let Some(a) = &registry.authorization
            && !(a.starts_with("Basic ") || a.starts_with("Bearer "))
        {
            return Err(refuse(422, "invalid registry.authorization: expected `Basic …` or `Bearer …`"));
        }
        let artifact = self.artifact.as_ref().ok_or_else(|| refuse(422, "missing artifact"))?;
        let repository =
            artifact.repository.as_deref().filter(|r| !r.is_empty()).ok_or_else(|| refuse(422, "missing artifact.repository"))?;
        if !valid_repository(repository) {
            return Err(refuse(422, format!("invalid artifact.repository {repository:?}")));
        }
        let digest = artifact.digest.as_deref().filter(|d| !d.is_empty()).ok_or_else(|| refuse(422, "missing artifact.digest"))?;
        if !valid_digest(digest) {
            return Err(refuse(422, format!("invalid artifact.digest {digest:?}: expected sha256: and 64 hex digits")));
        }
        if let Some(t) = &artifact.tag
            && !t.is_empty()
            && !valid_tag(t)
        {
            return Err(refuse(422, format!("invalid artifact.tag {t:?}")));
        }
        if let Some(m) = artifact.mime_type.as_deref().filter(|m| !m.is_empty())
            && !CONSUMES.iter().any(|c| same_media_type(c, m))
        {
            return Err(refuse(501, format!("artifact.mime_type {m:?} is not an image manifest this scanner reads")));
        }
        Ok(Target {
            host,
            insecure,
            repository: repository.to_string(),
            digest: digest.to_string(),
            tag: artifact.tag.clone().filter(|t| !t.is_empty()),
            vulnerability,
            sbom,
        })
    }

    /// The request as stored: everything but the credential (sealed apart).
    pub fn without_credential(&self) -> ScanRequest {
        let mut r = self.clone();
        if let Some(reg) = &mut r.registry {
            reg.authorization = None;
        }
        r
    }
}

/// `http(s)://HOST[:PORT][/]` → (`HOST[:PORT]`, plain http). A path is refused: the v2 API
/// lives at the root.
fn parse_registry_url(url: &str) -> Option<(String, bool)> {
    let (insecure, rest) = if let Some(r) = url.strip_prefix("https://") {
        (false, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (true, r)
    } else {
        return None;
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| (host.to_string(), insecure))
}

/// The distribution spec's repository name grammar (lowercase components joined by `/`).
fn valid_repository(r: &str) -> bool {
    r.len() <= 255
        && r.split('/').all(|c| {
            !c.is_empty()
                && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-'))
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
        })
}

fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn valid_tag(t: &str) -> bool {
    t.len() <= 128
        && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanResponse {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
}

/// Harbor's severity scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Severity {
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl From<model::Severity> for Severity {
    /// Shipshape folds vendor words such as Debian's `unimportant` and Ubuntu's `negligible`
    /// into Low when it imports them (as Trivy does), so `Negligible` is never produced.
    fn from(s: model::Severity) -> Severity {
        match s {
            model::Severity::Unknown => Severity::Unknown,
            model::Severity::Low => Severity::Low,
            model::Severity::Medium => Severity::Medium,
            model::Severity::High => Severity::High,
            model::Severity::Critical => Severity::Critical,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VulnerabilityReport {
    pub generated_at: String,
    pub artifact: Artifact,
    pub scanner: Scanner,
    pub severity: Severity,
    pub vulnerabilities: Vec<VulnerabilityItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VulnerabilityItem {
    pub id: String,
    pub package: String,
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix_version: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_cvss: Option<Cvss>,
    pub cwe_ids: Vec<String>,
    pub vendor_attributes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Cvss {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_v3: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_v2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_v3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_v2: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SbomReport {
    pub generated_at: String,
    pub artifact: Artifact,
    pub scanner: Scanner,
    pub vendor_attributes: serde_json::Map<String, serde_json::Value>,
    pub media_type: &'static str,
    pub sbom: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: serde_json::Value) -> Result<Target, Refusal> {
        serde_json::from_value::<ScanRequest>(v).unwrap().validate()
    }

    const D: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";

    #[test]
    fn valid_requests_become_targets() {
        let t = request(serde_json::json!({
            "registry": {"url": "http://127.0.0.1:5001", "authorization": "Basic dTpw"},
            "artifact": {"repository": "library/app", "digest": D, "tag": "1.0", "mime_type": CONSUMES[1]},
        }))
        .unwrap();
        assert_eq!((t.host.as_str(), t.insecure, t.vulnerability, t.sbom), ("127.0.0.1:5001", true, true, true));
        assert_eq!(t.reference(), format!("127.0.0.1:5001/library/app@{D}"));
        let t = request(serde_json::json!({
            "registry": {"url": "https://core.harbor.domain/"},
            "artifact": {"repository": "a", "digest": D},
            "enabled_capabilities": [{"type": "sbom", "produces_mime_types": [MIME_SBOM_REPORT],
                                      "parameters": {"sbom_media_types": [SBOM_SPDX]}}],
        }))
        .unwrap();
        assert_eq!((t.host.as_str(), t.insecure, t.vulnerability, t.sbom), ("core.harbor.domain", false, false, true));
    }

    #[test]
    fn refusals_carry_the_spec_status() {
        let base = serde_json::json!({"registry": {"url": "http://r:5000"}, "artifact": {"repository": "a", "digest": D}});
        let cases: Vec<(serde_json::Value, u16, &str)> = vec![
            (serde_json::json!({"artifact": {"repository": "a", "digest": D}}), 422, "missing registry"),
            (serde_json::json!({"registry": {"url": ""}, "artifact": {"repository": "a", "digest": D}}), 422, "missing registry.url"),
            (
                serde_json::json!({"registry": {"url": "ftp://r"}, "artifact": {"repository": "a", "digest": D}}),
                422,
                "invalid registry.url",
            ),
            (
                serde_json::json!({"registry": {"url": "http://r/v2"}, "artifact": {"repository": "a", "digest": D}}),
                422,
                "invalid registry.url",
            ),
            (
                serde_json::json!({"registry": {"url": "http://r", "authorization": "Token x"}, "artifact": {"repository": "a", "digest": D}}),
                422,
                "authorization",
            ),
            (serde_json::json!({"registry": {"url": "http://r"}, "artifact": {"digest": D}}), 422, "missing artifact.repository"),
            (
                serde_json::json!({"registry": {"url": "http://r"}, "artifact": {"repository": "A/../b", "digest": D}}),
                422,
                "invalid artifact.repository",
            ),
            (serde_json::json!({"registry": {"url": "http://r"}, "artifact": {"repository": "a"}}), 422, "missing artifact.digest"),
            (
                serde_json::json!({"registry": {"url": "http://r"}, "artifact": {"repository": "a", "digest": "sha256:xyz"}}),
                422,
                "invalid artifact.digest",
            ),
            (
                serde_json::json!({"registry": {"url": "http://r"}, "artifact": {"repository": "a", "digest": D, "tag": "a b"}}),
                422,
                "invalid artifact.tag",
            ),
            (
                serde_json::json!({"registry": {"url": "http://r"}, "artifact": {"repository": "a", "digest": D, "mime_type": "application/vnd.cncf.helm.config.v1+json"}}),
                501,
                "mime_type",
            ),
        ];
        for (body, status, want) in cases {
            let r = request(body.clone()).unwrap_err();
            assert_eq!(r.status, status, "{body}");
            assert!(r.message.contains(want), "{body}: {}", r.message);
        }
        for (caps, status) in [
            (serde_json::json!([{"type": "malware"}]), 422),
            (
                serde_json::json!([{"type": "vulnerability", "produces_mime_types": ["application/vnd.scanner.adapter.vuln.report.raw"]}]),
                501,
            ),
            (serde_json::json!([{"type": "sbom", "parameters": {"sbom_media_types": ["text/plain"]}}]), 422),
            (serde_json::json!([]), 422),
        ] {
            let mut b = base.clone();
            b["enabled_capabilities"] = caps.clone();
            assert_eq!(request(b).unwrap_err().status, status, "{caps}");
        }
        assert!(request(base).is_ok());
    }

    #[test]
    fn media_types_compare_like_http() {
        assert!(same_media_type(MIME_VULN_REPORT, "application/vnd.security.vulnerability.report;version=1.1"));
        assert!(same_media_type(MIME_VULN_REPORT, "Application/vnd.security.vulnerability.report; version = 1.1"));
        assert!(!same_media_type(MIME_VULN_REPORT, "application/vnd.security.vulnerability.report; version=1.0"));
    }

    #[test]
    fn credential_is_not_stored_with_the_request() {
        let r: ScanRequest = serde_json::from_value(serde_json::json!({
            "registry": {"url": "http://r", "authorization": "Basic c2VjcmV0"}, "artifact": {"repository": "a", "digest": D}
        }))
        .unwrap();
        assert!(!serde_json::to_string(&r.without_credential()).unwrap().contains("c2VjcmV0"));
    }

    #[test]
    fn debug_masks_the_registry_credential() {
        let r = Registry { url: Some("http://r".into()), authorization: Some("Basic c2VjcmV0".into()) };
        let shown = format!("{r:?}");
        assert!(shown.contains("http://r") && shown.contains("****") && !shown.contains("c2VjcmV0"), "{shown}");
    }
}
