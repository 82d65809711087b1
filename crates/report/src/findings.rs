//! A scan's findings report (`image scan`, `fs scan`): what was scanned, which scanners ran, what
//! they found after the CI gate, rendered as Shipshape's JSON (`shipshape-scan/1`), SARIF, CycloneDX
//! with vulnerabilities, SPDX (packages only) or a text table.

use model::{MalwareFinding, RiskFinding};
use serde::Serialize;
use serde_json::{Value, json};
use vuln::VulnFinding;

use crate::{Error, Format, Report};

/// What a scan found (after severities, the ignore file and VEX were applied).
#[derive(Debug, Clone, Copy)]
pub struct Findings<'a> {
    pub vulns: &'a [VulnFinding],
    /// Vulnerabilities a VEX statement suppresses, with its reason: reported, never counted.
    pub suppressed: &'a [(VulnFinding, String)],
    pub malware: &'a [MalwareFinding],
    pub risks: &'a [RiskFinding],
}

/// Which scanners ran: each is a section of the report (empty or not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sections {
    pub vuln: bool,
    pub virus: bool,
    pub risk: bool,
}

/// What was scanned, beyond the content report's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// An image: its layers, how many came from the cache, bytes read.
    Image { layers: usize, cached_layers: usize, bytes_walked: u64 },
    /// A source tree (`Report::image.name` is its path): files and bytes walked.
    Filesystem { entries: u64, bytes: u64 },
}

/// Everything a findings format is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct FindingsReport<'a> {
    /// Identity, distribution and packages (what CycloneDX and SPDX list; JSON counts them).
    pub content: &'a Report,
    pub subject: Subject,
    pub sections: Sections,
    pub findings: Findings<'a>,
    pub warnings: &'a [String],
    /// Some walk limit was hit: the report may miss things.
    pub partial: bool,
}

/// Renders `r` in `format`; JSON formats are pretty-printed and end with a newline.
pub fn render(r: &FindingsReport<'_>, format: Format) -> Result<String, Error> {
    let f = &r.findings;
    let value = match format {
        Format::Table => return Ok(crate::table::findings(&table_header(r), f, r.sections)),
        Format::Json => json(r),
        Format::Sarif => {
            crate::sarif::render(&crate::sarif::SarifInput { target: &r.content.image.name, image_id: &r.content.image.id, findings: *f })
        }
        Format::CycloneDx => {
            let mut bom = match r.subject {
                Subject::Image { .. } => crate::cyclonedx(r.content),
                Subject::Filesystem { .. } => crate::cyclonedx_source_tree(r.content),
            };
            crate::add_vulnerabilities(&mut bom, f.vulns);
            bom
        }
        Format::SpdxJson => crate::spdx(r.content),
    };
    crate::json_text(&value)
}

fn table_header(r: &FindingsReport<'_>) -> String {
    let img = &r.content.image;
    match r.subject {
        Subject::Image { .. } => format!("{} ({})", img.name, img.id),
        Subject::Filesystem { .. } => format!("{} (filesystem, {} packages)", img.name, r.content.packages.len()),
    }
}

/// Shipshape's JSON (`shipshape-scan/1`): the findings as Shipshape's types serialise them.
pub fn json(r: &FindingsReport<'_>) -> Value {
    let (c, f) = (r.content, &r.findings);
    let mut v = json!({ "schema": "shipshape-scan/1" });
    match r.subject {
        Subject::Image { .. } => {
            let img = &c.image;
            v["image"] = json!({
                "name": img.name, "id": img.id, "repo_tags": img.repo_tags, "repo_digests": img.repo_digests,
                "os": img.os, "architecture": img.architecture, "layers": img.layers,
            });
            v["distribution"] = json!(c.distribution);
        }
        Subject::Filesystem { .. } => v["target"] = json!({ "type": "filesystem", "path": c.image.name }),
    }
    v["scanners"] = json!(r.sections);
    v["packages"] = json!(c.packages.len());
    v["vulnerabilities"] = json!(f.vulns);
    v["suppressed"] = f.suppressed.iter().map(|(v, why)| json!({"finding": v, "reason": why})).collect();
    v["malware"] = json!(f.malware);
    v["risks"] = json!(f.risks);
    v["warnings"] = json!(r.warnings);
    v["partial"] = json!(r.partial);
    match r.subject {
        Subject::Image { layers, cached_layers, bytes_walked } => {
            v["layers"] = json!({ "total": layers, "cached": cached_layers, "bytes_walked": bytes_walked })
        }
        Subject::Filesystem { entries, bytes } => v["files"] = json!({ "entries": entries, "bytes": bytes }),
    }
    v
}
