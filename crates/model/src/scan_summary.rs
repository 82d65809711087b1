//! What a finished image scan stores per image: the summary (written by `scan::results`, read by
//! the `service` lists, `metrics` and `harbor`) and the kinds of finding rows stored beside it.
//! One definition for the writer and every reader, so a field added here (like `partial`) reaches
//! the API instead of being dropped by a reader's copy.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Severity;

/// The kind of a stored finding row (the store's `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// A `vuln::VulnFinding`.
    Vul,
    /// A `model::MalwareFinding`.
    Virus,
    /// A `model::RiskFinding`.
    Risk,
    /// The image's packages and distribution (one row), kept so new advisory data is matched
    /// without reading the image again.
    Content,
}

impl FindingKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            FindingKind::Vul => "vul",
            FindingKind::Virus => "virus",
            FindingKind::Risk => "risk",
            FindingKind::Content => "content",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored summary of an image's latest scans. Missing fields read as their default, so
/// summaries written before a field existed still parse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageSummary {
    /// Distribution pretty name (`Debian GNU/Linux 12 (bookworm)`), empty when unknown.
    pub os_name: String,
    pub component_cnt: u64,
    /// Per scanner; `None`: never scanned by it.
    pub vul: Option<KindSummary>,
    pub virus: Option<KindSummary>,
    pub risk: Option<KindSummary>,
    /// A walk limit was hit: findings may be missing.
    pub partial: bool,
    /// Error of the whole image scan (image gone, unreadable), empty when none.
    pub error: String,
}

/// One scanner's counts on an image, per TCSS level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KindSummary {
    pub count: u64,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    /// TCSS has no unknown level: unknown severities count here (see [`Severity::tcss_level`]).
    pub low: u64,
    /// Why this scanner failed on the image, empty when it did not.
    pub error: String,
    pub scanned_at: i64,
    /// The advisory data version the vulnerabilities were matched with (vul only).
    pub data_version: String,
}

impl KindSummary {
    pub fn of(severities: impl Iterator<Item = Severity>, scanned_at: i64) -> KindSummary {
        let mut k = KindSummary { scanned_at, ..Default::default() };
        for s in severities {
            k.count += 1;
            *k.level_mut(s) += 1;
        }
        k
    }

    /// The counter of `s`'s TCSS level.
    fn level_mut(&mut self, s: Severity) -> &mut u64 {
        match s.tcss_level_number() {
            4 => &mut self.critical,
            3 => &mut self.high,
            2 => &mut self.medium,
            _ => &mut self.low,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_level() {
        let k = KindSummary::of([Severity::Critical, Severity::High, Severity::Unknown, Severity::Low].into_iter(), 7);
        assert_eq!((k.count, k.critical, k.high, k.medium, k.low, k.scanned_at), (4, 1, 1, 0, 2, 7));
    }

    #[test]
    fn old_summaries_parse() {
        // Written before `partial` and `data_version` existed.
        let s: ImageSummary = serde_json::from_str(r#"{"os_name":"x","component_cnt":1,"vul":{"count":1},"error":""}"#).unwrap();
        assert!(!s.partial);
        assert_eq!(s.vul.unwrap().count, 1);
    }
}
