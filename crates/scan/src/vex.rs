//! VEX documents: a supplier's statement that a vulnerability does not affect (or no longer
//! affects) a product. OpenVEX 0.2.0 and CycloneDX VEX (a BOM's `vulnerabilities[].analysis`).
//!
//! A `not_affected` / `fixed` statement (CycloneDX: `not_affected`, `resolved`,
//! `false_positive`) suppresses the findings of that vulnerability (matched on the advisory id,
//! its shown CVE or any alias) on the products it names. Products are package URLs: the
//! package's own (`pkg:pypi/pillow@8.0.0`; a version-less purl names every version;
//! qualifiers are not compared), or the image as `pkg:oci/NAME@sha256:…` (version-less: any
//! image), whose `subcomponents` narrow it to those packages. Suppressed findings are kept with
//! their reason, never silently dropped. Parsed with serde from the two published schemas.

use serde::Deserialize;
use serde_json::Value;

/// One statement that suppresses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    vulnerability: String,
    /// (product purl, subcomponent purls).
    products: Vec<(String, Vec<String>)>,
    /// `not_affected (vulnerable_code_not_present) by FILE`.
    reason: String,
}

/// Every suppressing statement of the documents given.
#[derive(Debug, Clone, Default)]
pub struct Vex {
    statements: Vec<Statement>,
}

/// The image a scan is about, as VEX products name it.
#[derive(Debug, Clone, Default)]
pub struct ImageIdentity {
    /// Config digest and repo digests (`sha256:…`).
    pub digests: Vec<String>,
}

#[derive(Deserialize)]
struct OpenVex {
    #[serde(default)]
    statements: Vec<OpenVexStatement>,
}

#[derive(Deserialize)]
struct OpenVexStatement {
    vulnerability: OpenVexVuln,
    #[serde(default)]
    products: Vec<OpenVexProduct>,
    status: String,
    #[serde(default)]
    justification: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OpenVexVuln {
    Object {
        #[serde(default)]
        name: Option<String>,
        #[serde(rename = "@id", default)]
        id: Option<String>,
    },
    Name(String),
}

#[derive(Deserialize)]
struct OpenVexProduct {
    #[serde(rename = "@id", default)]
    id: Option<String>,
    #[serde(default)]
    identifiers: Option<Value>,
    #[serde(default)]
    subcomponents: Vec<OpenVexProduct>,
}

impl OpenVexProduct {
    fn purl(&self) -> Option<String> {
        self.identifiers
            .as_ref()
            .and_then(|i| i.get("purl"))
            .and_then(Value::as_str)
            .or(self.id.as_deref())
            .filter(|p| p.starts_with("pkg:"))
            .map(str::to_owned)
    }
}

#[derive(Deserialize)]
struct CdxBom {
    #[serde(default)]
    vulnerabilities: Vec<CdxVuln>,
}

#[derive(Deserialize)]
struct CdxVuln {
    id: String,
    #[serde(default)]
    analysis: Option<CdxAnalysis>,
    #[serde(default)]
    affects: Vec<CdxAffects>,
}

#[derive(Deserialize)]
struct CdxAnalysis {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    justification: Option<String>,
}

#[derive(Deserialize)]
struct CdxAffects {
    #[serde(rename = "ref")]
    reference: String,
}

impl Vex {
    /// Adds the statements of one document (`name` for the reasons and errors).
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("{name}: not JSON: {e}"))?;
        let openvex = v.get("@context").and_then(Value::as_str).is_some_and(|c| c.contains("openvex"));
        if openvex {
            let doc: OpenVex = serde_json::from_value(v).map_err(|e| format!("{name}: not OpenVEX: {e}"))?;
            for s in doc.statements {
                if !matches!(s.status.as_str(), "not_affected" | "fixed") {
                    continue;
                }
                let vulnerability = match s.vulnerability {
                    OpenVexVuln::Object { name, id } => name.or(id).unwrap_or_default(),
                    OpenVexVuln::Name(n) => n,
                };
                let products = s
                    .products
                    .iter()
                    .filter_map(|p| Some((p.purl()?, p.subcomponents.iter().filter_map(OpenVexProduct::purl).collect())))
                    .collect();
                let why = s.justification.map(|j| format!(" ({j})")).unwrap_or_default();
                self.statements.push(Statement { vulnerability, products, reason: format!("{}{why} by {name}", s.status) });
            }
        } else if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
            let bom: CdxBom = serde_json::from_value(v).map_err(|e| format!("{name}: not a CycloneDX VEX: {e}"))?;
            for x in bom.vulnerabilities {
                let Some(a) = x.analysis else { continue };
                let state = a.state.unwrap_or_default();
                if !matches!(state.as_str(), "not_affected" | "resolved" | "false_positive") {
                    continue;
                }
                let why = a.justification.map(|j| format!(" ({j})")).unwrap_or_default();
                // `affects[].ref` is a bom-ref; VEX documents about packages use their purls.
                let products = x.affects.into_iter().filter(|r| r.reference.starts_with("pkg:")).map(|r| (r.reference, vec![])).collect();
                self.statements.push(Statement { vulnerability: x.id, products, reason: format!("{state}{why} by {name}") });
            }
        } else {
            return Err(format!("{name}: neither OpenVEX (@context) nor CycloneDX (bomFormat)"));
        }
        Ok(())
    }

    /// Why `v` is suppressed on `image`, when a statement says so.
    pub fn suppression(&self, v: &vuln::VulnFinding, image: &ImageIdentity) -> Option<&str> {
        let ids: Vec<&str> =
            [v.advisory_id.as_str(), v.display_id.as_str()].into_iter().chain(v.aliases.iter().map(String::as_str)).collect();
        self.statements
            .iter()
            .filter(|s| ids.contains(&s.vulnerability.as_str()))
            .find(|s| s.products.iter().any(|(p, subs)| product_covers(p, subs, &v.package.purl, image)))
            .map(|s| s.reason.as_str())
    }
}

/// `pkg:type/ns/name@version?quals#sub` → (`pkg:type/ns/name`, version).
fn split_purl(p: &str) -> (String, Option<&str>) {
    let base = p.split(['?', '#']).next().unwrap_or(p);
    let (path, version) = match base.rsplit_once('@') {
        Some((a, v)) if !a.is_empty() => (a, Some(v)),
        _ => (base, None),
    };
    (path.to_ascii_lowercase(), version)
}

/// A statement's purl names `pkg` (a version-less one names every version).
fn purl_covers(statement: &str, pkg: &str) -> bool {
    let ((sp, sv), (pp, pv)) = (split_purl(statement), split_purl(pkg));
    sp == pp && sv.is_none_or(|sv| Some(sv) == pv)
}

fn product_covers(product: &str, subcomponents: &[String], pkg: &str, image: &ImageIdentity) -> bool {
    let (path, version) = split_purl(product);
    if path.starts_with("pkg:oci/") {
        let digest = version.map(|v| v.replace("%3A", ":").replace("%3a", ":"));
        let this_image = digest.is_none_or(|d| image.digests.iter().any(|x| x == &d || x.ends_with(&format!("@{d}"))));
        return this_image && (subcomponents.is_empty() || subcomponents.iter().any(|s| purl_covers(s, pkg)));
    }
    purl_covers(product, pkg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, aliases: &[&str], purl: &str) -> vuln::VulnFinding {
        serde_json::from_value(serde_json::json!({
            "advisory_id": id, "display_id": id, "aliases": aliases, "source": "t",
            "package": {"name": "pillow", "version": "8.0.0", "ecosystem": "PyPI", "purl": purl},
            "installed_version": "8.0.0", "fixed_versions": [], "severity": "High", "title": "", "links": [],
            "location": {"path": "/x", "layer_index": 0, "layer_digest": "sha256:0"}
        }))
        .unwrap()
    }

    #[test]
    fn openvex_and_cyclonedx_statements() {
        let img = ImageIdentity { digests: vec!["sha256:aaa".into()] };
        let mut vex = Vex::default();
        vex.add(
            "a.openvex.json",
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "t", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
                "statements": [
                  {"vulnerability": {"name": "CVE-2021-1"}, "products": [{"@id": "pkg:pypi/pillow@8.0.0"}], "status": "not_affected",
                   "justification": "vulnerable_code_not_in_execute_path"},
                  {"vulnerability": {"name": "CVE-2021-2"}, "products": [{"@id": "pkg:oci/app@sha256%3Aaaa", "subcomponents": [{"@id": "pkg:pypi/pillow"}]}], "status": "fixed"},
                  {"vulnerability": {"name": "CVE-2021-3"}, "products": [{"@id": "pkg:pypi/pillow"}], "status": "affected"},
                  {"vulnerability": {"name": "CVE-2021-4"}, "products": [{"@id": "pkg:oci/app@sha256%3Abbb"}], "status": "not_affected"}]}"#,
        )
        .unwrap();
        vex.add(
            "b.cdx.json",
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "vulnerabilities": [
                 {"id": "GHSA-5", "analysis": {"state": "false_positive"}, "affects": [{"ref": "pkg:pypi/pillow@8.0.0"}]},
                 {"id": "CVE-2021-6", "analysis": {"state": "exploitable"}, "affects": [{"ref": "pkg:pypi/pillow@8.0.0"}]}]}"#,
        )
        .unwrap();
        let p = "pkg:pypi/pillow@8.0.0?foo=bar";
        let why = vex.suppression(&finding("PYSEC-1", &["CVE-2021-1"], p), &img).unwrap();
        assert!(why.contains("not_affected (vulnerable_code_not_in_execute_path) by a.openvex.json"), "{why}");
        assert!(vex.suppression(&finding("PYSEC-1", &["CVE-2021-1"], "pkg:pypi/pillow@9.0.0"), &img).is_none(), "other version");
        assert!(vex.suppression(&finding("CVE-2021-2", &[], p), &img).is_some(), "image + version-less subcomponent");
        assert!(vex.suppression(&finding("CVE-2021-3", &[], p), &img).is_none(), "affected does not suppress");
        assert!(vex.suppression(&finding("CVE-2021-4", &[], p), &img).is_none(), "another image");
        assert!(vex.suppression(&finding("GHSA-5", &[], p), &img).unwrap().starts_with("false_positive"));
        assert!(vex.suppression(&finding("CVE-2021-6", &[], p), &img).is_none());
        assert!(Vex::default().add("c.json", r#"{"statements": []}"#).is_err());
    }
}
