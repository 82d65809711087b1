//! CVSS base scores computed from vectors: v3.x and v4.0 with the `cvss` crate (RustSec's
//! implementation), v2 by hand — the crate has no v2, and the v2 base equation is twelve lines
//! of the published specification (CVSS v2 guide, section 3.2.1), tested against NVD's scores.

use crate::advisory::Cvss;
use std::str::FromStr;

/// The base score of a CVSS v2, v3.x or v4.0 vector, or `None` when it is none of them.
pub fn cvss_from_vector(vector: &str) -> Option<Cvss> {
    let v = vector.trim();
    let score = if v.starts_with("CVSS:3.") {
        cvss::v3::Base::from_str(v).ok()?.score().value()
    } else if v.starts_with("CVSS:4.") {
        cvss::v4::Vector::from_str(v).ok()?.score().value()
    } else {
        v2_base_score(v.strip_prefix("(").and_then(|s| s.strip_suffix(")")).unwrap_or(v))?
    };
    Some(Cvss { vector: v.to_owned(), score })
}

/// The attack vector of a v2/v3/v4 vector: `N`etwork, `A`djacent, `L`ocal, `P`hysical.
pub fn attack_vector(vector: &str) -> Option<char> {
    vector.split('/').find_map(|m| {
        let (k, val) = m.split_once(':')?;
        (k == "AV").then(|| val.chars().next()).flatten()
    })
}

/// CVSS v2 base score (`AV:N/AC:L/Au:N/C:P/I:P/A:P`); every base metric must be present once.
fn v2_base_score(v: &str) -> Option<f64> {
    let (mut av, mut ac, mut au, mut c, mut i, mut a) = (None, None, None, None, None, None);
    for m in v.split('/') {
        let (k, val) = m.split_once(':')?;
        let slot = match k {
            "AV" => &mut av,
            "AC" => &mut ac,
            "Au" => &mut au,
            "C" => &mut c,
            "I" => &mut i,
            "A" => &mut a,
            _ => return None,
        };
        if slot.replace(val).is_some() {
            return None;
        }
    }
    let av: f64 = match av? {
        "L" => 0.395,
        "A" => 0.646,
        "N" => 1.0,
        _ => return None,
    };
    let ac = match ac? {
        "H" => 0.35,
        "M" => 0.61,
        "L" => 0.71,
        _ => return None,
    };
    let au = match au? {
        "M" => 0.45,
        "S" => 0.56,
        "N" => 0.704,
        _ => return None,
    };
    let cia = |x: Option<&str>| match x? {
        "N" => Some(0.0),
        "P" => Some(0.275),
        "C" => Some(0.660),
        _ => None,
    };
    let (c, i, a) = (cia(c)?, cia(i)?, cia(a)?);
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let exploitability = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    let base = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f;
    Some((base * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scores() {
        // NVD's scores for these vectors (CVE-2021-44228, CVE-2021-23337).
        let c = cvss_from_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H").unwrap();
        assert_eq!(c.score, 10.0);
        let c = cvss_from_vector("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!(c.score, 7.2);
        let c = cvss_from_vector("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:N/A:N").unwrap();
        assert_eq!(c.score, 4.3);
        assert!(cvss_from_vector("CVSS:3.1/garbage").is_none());
    }

    #[test]
    fn v2_scores_as_nvd() {
        // NVD v2 base scores: CVE-2014-0160 (Heartbleed) 5.0, CVE-2021-44228 9.3,
        // CVE-2014-6271 (Shellshock) 10.0, CVE-2016-5195 (Dirty COW) 7.2, CVE-2013-0156 7.5.
        for (v, want) in [
            ("AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0),
            ("AV:N/AC:M/Au:N/C:C/I:C/A:C", 9.3),
            ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
            ("AV:L/AC:L/Au:N/C:C/I:C/A:C", 7.2),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5),
            ("AV:N/AC:L/Au:N/C:N/I:N/A:N", 0.0),
        ] {
            assert_eq!(cvss_from_vector(v).map(|c| c.score), Some(want), "{v}");
        }
        assert!(cvss_from_vector("AV:N/AC:L/Au:N/C:P/I:N").is_none(), "a base metric missing");
        assert!(cvss_from_vector("AV:N/AC:L/Au:N/C:P/I:N/A:N/AV:L").is_none(), "a metric twice");
        assert!(cvss_from_vector("AV:X/AC:L/Au:N/C:P/I:N/A:N").is_none());
    }

    #[test]
    fn v4_scores() {
        // FIRST's calculator: the all-high network vector is 10.0; CVE-2024-… style low one 6.9.
        let c = cvss_from_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H").unwrap();
        assert_eq!(c.score, 10.0);
        let c = cvss_from_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N").unwrap();
        assert_eq!(c.score, 6.9);
        assert!(cvss_from_vector("CVSS:4.0/AV:N").is_none());
    }

    #[test]
    fn attack_vectors() {
        assert_eq!(attack_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), Some('N'));
        assert_eq!(attack_vector("AV:L/AC:L/Au:N/C:C/I:C/A:C"), Some('L'));
        assert_eq!(attack_vector("CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"), Some('P'));
        assert_eq!(attack_vector("nothing"), None);
    }
}
