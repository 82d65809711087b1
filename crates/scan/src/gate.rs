//! What a CI gate keeps of a scan: the severities asked for, fixable vulnerabilities only when
//! asked, minus the findings an ignore file accepts.
//!
//! Ignore files have Trivy's `.trivyignore` form, so a team's existing file works: one id per
//! line (an advisory id, its shown CVE or any alias, a secret rule id, a malware signature), optional
//! `exp:YYYY-MM-DD` after it (the line stops applying after that day, UTC), `#` comments.
//! Hand-written: the format is a few lines with no maintained parser crate.

use model::{MalwareFinding, RiskFinding, Severity};
use std::collections::HashMap;
use time::Date;

/// An ignore file, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreList {
    /// id → the last day it applies (`None`: no expiry).
    ids: HashMap<String, Option<Date>>,
}

impl IgnoreList {
    /// Parses the file's text; a bad line is an error naming it.
    pub fn parse(text: &str) -> Result<IgnoreList, String> {
        let mut ids = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut parts = line.split_whitespace();
            let Some(id) = parts.next() else { continue };
            let mut until = None;
            for p in parts {
                let Some(d) = p.strip_prefix("exp:") else {
                    return Err(format!("line {}: unexpected {p:?} (want `ID [exp:YYYY-MM-DD]`)", n + 1));
                };
                let fmt = time::macros::format_description!("[year]-[month]-[day]");
                until = Some(Date::parse(d, &fmt).map_err(|e| format!("line {}: exp:{d}: {e}", n + 1))?);
            }
            ids.insert(id.to_owned(), until);
        }
        Ok(IgnoreList { ids })
    }

    /// Whether any of `ids` is ignored on `today`.
    fn covers<'a>(&self, ids: impl IntoIterator<Item = &'a str>, today: Date) -> bool {
        ids.into_iter().any(|id| self.ids.get(id).is_some_and(|until| until.is_none_or(|u| today <= u)))
    }
}

/// The gate's settings.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// Severities kept; empty: all.
    pub severities: Vec<Severity>,
    /// Drop vulnerabilities no fixed version is known for.
    pub ignore_unfixed: bool,
    pub ignore: IgnoreList,
    /// VEX statements: suppressed findings are kept apart with their reason.
    pub vex: crate::vex::Vex,
}

/// The findings a gate keeps.
#[derive(Debug, Default)]
pub struct Kept {
    pub vulns: Vec<vuln::VulnFinding>,
    pub malware: Vec<MalwareFinding>,
    pub risks: Vec<RiskFinding>,
    /// Vulnerabilities a VEX statement suppresses, with its reason: reported, never counted.
    pub suppressed: Vec<(vuln::VulnFinding, String)>,
}

impl Kept {
    /// Whether nothing counts against the gate (suppressed findings do not).
    pub fn is_empty(&self) -> bool {
        self.vulns.is_empty() && self.malware.is_empty() && self.risks.is_empty()
    }
}

/// A severity word of `--severity` (`CRITICAL`, `high`, `UNKNOWN`...).
pub fn parse_severity(word: &str) -> Result<Severity, String> {
    match word.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" => Ok(Severity::Critical),
        "HIGH" => Ok(Severity::High),
        "MEDIUM" => Ok(Severity::Medium),
        "LOW" => Ok(Severity::Low),
        "UNKNOWN" => Ok(Severity::Unknown),
        other => Err(format!("unknown severity {other:?} (CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)")),
    }
}

impl Gate {
    fn level(&self, s: Severity) -> bool {
        self.severities.is_empty() || self.severities.contains(&s)
    }

    /// What remains of a scan of `image` on `today`.
    pub fn apply(
        &self,
        vulns: Vec<vuln::VulnFinding>,
        malware: Vec<MalwareFinding>,
        risks: Vec<RiskFinding>,
        image: &crate::vex::ImageIdentity,
        today: Date,
    ) -> Kept {
        let ig = &self.ignore;
        let (mut kept, mut suppressed) = (Vec::new(), Vec::new());
        for v in vulns {
            match self.vex.suppression(&v, image) {
                Some(why) => {
                    let why = why.to_owned();
                    suppressed.push((v, why));
                }
                None => kept.push(v),
            }
        }
        Kept {
            suppressed: suppressed.into_iter().filter(|(v, _)| self.level(v.severity)).collect(),
            vulns: kept
                .into_iter()
                .filter(|v| self.level(v.severity) && !(self.ignore_unfixed && v.fixed_versions.is_empty()))
                .filter(|v| {
                    let ids = [v.advisory_id.as_str(), v.display_id.as_str()].into_iter().chain(v.aliases.iter().map(String::as_str));
                    !ig.covers(ids, today)
                })
                .collect(),
            malware: malware.into_iter().filter(|m| self.level(m.severity) && !ig.covers([m.signature.as_str()], today)).collect(),
            risks: risks.into_iter().filter(|r| self.level(r.severity) && !ig.covers([r.rule_id.as_str()], today)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn trivyignore_lines_and_expiry() {
        let l = IgnoreList::parse("# accepted risks\nCVE-2024-0001\nGHSA-xxxx exp:2026-01-31  # until the upgrade\n\naws-access-key-id\n")
            .unwrap();
        assert!(l.covers(["CVE-2024-0001"], date!(2030 - 01 - 01)));
        assert!(l.covers(["GHSA-xxxx"], date!(2026 - 01 - 31)), "the expiry day itself still applies");
        assert!(!l.covers(["GHSA-xxxx"], date!(2026 - 02 - 01)));
        assert!(l.covers(["x", "aws-access-key-id"], date!(2026 - 02 - 01)));
        assert!(!l.covers(["CVE-2024-9"], date!(2026 - 02 - 01)));
        assert!(IgnoreList::parse("CVE-1 until:2026-01-01").unwrap_err().contains("line 1"));
        assert!(IgnoreList::parse("CVE-1 exp:2026-13-01").unwrap_err().contains("exp:2026-13-01"));
        assert_eq!(parse_severity("high"), Ok(Severity::High));
        assert!(parse_severity("severe").is_err());
    }
}
