//! What a finished image scan stores: a summary per image and finding rows per kind. The
//! finding rows are the JSON of `vuln::VulnFinding`, `model::MalwareFinding` and
//! `model::RiskFinding`; `service` reads them back with the field names used here.

use crate::Indexed;
use serde::{Deserialize, Serialize};

pub use model::scan_summary::{FindingKind, ImageSummary, KindSummary};

/// The stored content report of an image.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredContent {
    pub distribution: Option<model::Distribution>,
    pub packages: Vec<model::Package>,
}

/// Which scanners ran on an image and what they found.
pub struct ImageFindings<'a> {
    pub indexed: &'a Indexed,
    pub scan_vul: bool,
    pub scan_virus: bool,
    pub scan_risk: bool,
    /// The match result when `scan_vul` (an error message when matching failed).
    pub vulns: Option<Result<&'a [vuln::VulnFinding], String>>,
    /// The advisory data version `vulns` were matched with.
    pub data_version: String,
}

/// The store outcome for an image: the new summary (merged over `previous` for the kinds not
/// scanned now) and the finding rows of the kinds scanned now.
pub fn outcome(previous: Option<&str>, f: &ImageFindings<'_>, now: i64) -> Result<store::scan_tasks::ImageScanOutcome, serde_json::Error> {
    let mut summary: ImageSummary = previous.and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
    let content = &f.indexed.content;
    summary.os_name = content.distribution.as_ref().map(|d| d.pretty_name.clone()).unwrap_or_default();
    summary.component_cnt = content.packages.len() as u64;
    summary.partial = content.partial;
    summary.error.clear();
    let mut out = store::scan_tasks::ImageScanOutcome::default();
    if f.scan_vul {
        out.kinds.push(FindingKind::Vul);
        match &f.vulns {
            Some(Ok(v)) => {
                let mut k = KindSummary::of(v.iter().map(|x| x.severity), now);
                k.data_version = f.data_version.clone();
                summary.vul = Some(k);
                for x in v.iter() {
                    out.findings.push((FindingKind::Vul, serde_json::to_string(x)?));
                }
            }
            Some(Err(e)) => summary.vul = Some(KindSummary { error: e.clone(), scanned_at: now, ..Default::default() }),
            None => {}
        }
        // The packages are known even when matching failed (no advisory data yet): an SBOM
        // and a later re-match need them.
        out.kinds.push(FindingKind::Content);
        let c = StoredContent { distribution: content.distribution.clone(), packages: content.packages.clone() };
        out.findings.push((FindingKind::Content, serde_json::to_string(&c)?));
    }
    if f.scan_virus {
        out.kinds.push(FindingKind::Virus);
        summary.virus = Some(KindSummary::of(content.malware.iter().map(|m| m.severity), now));
        for m in &content.malware {
            out.findings.push((FindingKind::Virus, serde_json::to_string(m)?));
        }
    }
    if f.scan_risk {
        out.kinds.push(FindingKind::Risk);
        summary.risk = Some(KindSummary::of(content.risks.iter().map(|r| r.severity), now));
        for r in &content.risks {
            out.findings.push((FindingKind::Risk, serde_json::to_string(r)?));
        }
    }
    out.risk_count = out.findings.iter().filter(|(k, _)| *k != FindingKind::Content).count() as u64;
    out.summary = serde_json::to_string(&summary)?;
    Ok(out)
}

/// The summary of an image whose scan failed as a whole (previous per-kind results kept).
pub fn failed_summary(previous: Option<&str>, error: &str) -> String {
    let mut summary: ImageSummary = previous.and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
    summary.error = error.to_string();
    serde_json::to_string(&summary).unwrap_or_default()
}
