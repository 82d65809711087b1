//! CVSS base scores computed from vectors (the `cvss` crate, RustSec's implementation).

use crate::advisory::Cvss;
use std::str::FromStr;

/// The CVSS v3.x base score of `vector`, or `None` when it is not a valid v3 vector.
pub fn cvss_from_vector(vector: &str) -> Option<Cvss> {
    let v = vector.trim();
    if !v.starts_with("CVSS:3.") {
        return None;
    }
    let base = cvss::v3::Base::from_str(v).ok()?;
    Some(Cvss { vector: v.to_owned(), score: base.score().value() })
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
        assert!(cvss_from_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P").is_none());
        assert!(cvss_from_vector("CVSS:3.1/garbage").is_none());
    }
}
