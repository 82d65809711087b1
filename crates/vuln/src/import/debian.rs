//! Debian security-tracker DSA/DLA lists (`data/DSA/list`, `data/DLA/list`).
//!
//! Hand-written: the tracker's line format has no maintained parser crate.
//! ```text
//! [29 Mar 2023] DSA-5380-1 xorg-server - security update
//!     {CVE-2023-1393}
//!     [bullseye] - xorg-server 2:1.20.11-1+deb11u6
//! ```
//! Each `[release] - source version` line is one affected entry for `Debian:<number>`
//! (fixed at that version). `<not-affected>` and `<removed>` give no entry (never matches);
//! `<unfixed>`, `<end-of-life>`, `<no-dsa>`, `<ignored>`, `<postponed>` give an entry with no
//! fix (every version matches). An advisory naming no CVE (a regression update) is skipped.

use super::Importer;
use crate::advisory::{Advisory, AdvisorySeverity, Affected, Event, Range, RangeKind};

pub struct DebianTrackerList;

/// Debian codename → release number (the OSV `Debian:<n>` key).
pub fn debian_release_number(codename: &str) -> Option<&'static str> {
    Some(match codename {
        "buzz" => "1.1",
        "rex" => "1.2",
        "bo" => "1.3",
        "hamm" => "2.0",
        "slink" => "2.1",
        "potato" => "2.2",
        "woody" => "3.0",
        "sarge" => "3.1",
        "etch" => "4",
        "lenny" => "5",
        "squeeze" => "6",
        "wheezy" => "7",
        "jessie" => "8",
        "stretch" => "9",
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        "forky" => "14",
        "duke" => "15",
        _ => return None,
    })
}

impl Importer for DebianTrackerList {
    fn name(&self) -> &'static str {
        "debian-tracker"
    }

    fn detect(&self, path: &str, head: &[u8]) -> bool {
        let base = path.rsplit(['/', '!']).next().unwrap_or(path);
        (base == "list" || base.ends_with(".list")) && head.first() == Some(&b'[')
    }

    fn parse(&self, _path: &str, data: &[u8], source: &str) -> Result<Option<Vec<Advisory>>, String> {
        let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
        let mut out = Vec::new();
        let mut cur: Option<Advisory> = None;
        let flush = |cur: &mut Option<Advisory>, out: &mut Vec<Advisory>| {
            if let Some(a) = cur.take()
                && !a.aliases.is_empty()
            {
                out.push(a);
            }
        };
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if line.starts_with('[') {
                flush(&mut cur, &mut out);
                cur = Some(header(line, source).ok_or_else(|| format!("line {}: bad header {line:?}", n + 1))?);
                continue;
            }
            let Some(adv) = cur.as_mut() else {
                return Err(format!("line {}: entry line before any header", n + 1));
            };
            let body = line.trim();
            if let Some(ids) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) {
                adv.aliases.extend(ids.split_whitespace().map(str::to_owned));
            } else if let Some(rest) = body.strip_prefix('[') {
                let Some((release, rest)) = rest.split_once(']') else {
                    continue;
                };
                let mut parts = rest.trim().trim_start_matches('-').split_whitespace();
                let (Some(pkg), Some(ver)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let Some(num) = debian_release_number(release.trim()) else {
                    continue;
                };
                let events = match ver {
                    "<not-affected>" | "<removed>" => continue,
                    v if v.starts_with('<') => vec![Event::Introduced("0".into())],
                    v => vec![Event::Introduced("0".into()), Event::Fixed(v.to_owned())],
                };
                adv.affected.push(Affected {
                    ecosystem: format!("Debian:{num}"),
                    name: pkg.to_owned(),
                    ranges: vec![Range { kind: RangeKind::Ecosystem, events }],
                    versions: vec![],
                    severity: None,
                    informational: None,
                });
            }
            // NOTE: lines and anything else carry no matching data.
        }
        flush(&mut cur, &mut out);
        Ok(Some(out))
    }
}

fn header(line: &str, source: &str) -> Option<Advisory> {
    let (date, rest) = line.strip_prefix('[')?.split_once(']')?;
    let mut it = rest.trim().splitn(2, ' ');
    let id = it.next()?.to_owned();
    let rest = it.next().unwrap_or("");
    let (pkg, title) = match rest.split_once(" - ") {
        Some((p, t)) => (p.trim(), t.trim()),
        None => (rest.trim(), ""),
    };
    if !(id.starts_with("DSA-") || id.starts_with("DLA-") || id.starts_with("DTSA-")) {
        return None;
    }
    Some(Advisory {
        summary: if title.is_empty() { pkg.to_owned() } else { format!("{pkg}: {title}") },
        references: vec![format!("https://security-tracker.debian.org/tracker/{id}")],
        id,
        source: source.to_owned(),
        aliases: vec![],
        related: vec![],
        upstream: vec![],
        cwes: vec![],
        details: String::new(),
        published: iso_date(date),
        modified: iso_date(date),
        withdrawn: None,
        severity: AdvisorySeverity::default(),
        affected: vec![],
    })
}

/// `29 Mar 2023` → `2023-03-29T00:00:00Z`.
fn iso_date(d: &str) -> Option<String> {
    let mut it = d.split_whitespace();
    let day: u32 = it.next()?.parse().ok()?;
    let month = match it.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u32 = it.next()?.parse().ok()?;
    Some(format!("{year:04}-{month:02}-{day:02}T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Excerpts of the tracker's data/DSA/list (../shared/vulndata/debian/security-tracker/DSA.list).
    const LIST: &str = "[29 Mar 2023] DSA-5380-1 xorg-server - security update\n\t{CVE-2023-1393}\n\t[bullseye] - xorg-server 2:1.20.11-1+deb11u6\n[02 Nov 2005] DSA-880-1 phpmyadmin - several\n\t{CVE-2005-2869 CVE-2005-3300}\n\t[woody] - phpmyadmin <unfixed>\n\t[sarge] - phpmyadmin 4:2.6.2-3sarge1\n\tNOTE: fixed in testing at time of DSA\n[02 Nov 2005] DSA-879-1 gallery - programming error\n\t{CVE-2005-2596}\n\t[woody] - gallery <not-affected> (Not affected, according to DSA-879)\n\t[sarge] - gallery 1.5-1sarge1\n[01 Jan 2005] DSA-800-2 foo - regression update\n        [sarge] - foo 1.0-2\n";

    #[test]
    fn states_and_releases() {
        let advs = DebianTrackerList.parse("DSA.list", LIST.as_bytes(), "t").unwrap().unwrap();
        let ids: Vec<&str> = advs.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["DSA-5380-1", "DSA-880-1", "DSA-879-1"], "a DSA naming no CVE is not a vulnerability");
        let xorg = &advs[0];
        assert_eq!(xorg.display_id(), "CVE-2023-1393");
        assert_eq!(xorg.published.as_deref(), Some("2023-03-29T00:00:00Z"));
        assert_eq!(xorg.affected[0].ecosystem, "Debian:11");
        assert_eq!(xorg.affected[0].ranges[0].events[1], Event::Fixed("2:1.20.11-1+deb11u6".into()));
        let pma = &advs[1];
        assert_eq!(pma.affected.len(), 2);
        assert_eq!(pma.affected[0].ecosystem, "Debian:3.0");
        assert_eq!(pma.affected[0].ranges[0].events, vec![Event::Introduced("0".into())], "unfixed: no fix");
        let gallery = &advs[2];
        assert_eq!(gallery.affected.len(), 1, "not-affected release gets no entry");
        assert_eq!(gallery.affected[0].ecosystem, "Debian:3.1");
    }

    #[test]
    fn bad_header_is_an_error() {
        assert!(DebianTrackerList.parse("x.list", b"[garbage\n", "t").is_err());
    }
}
