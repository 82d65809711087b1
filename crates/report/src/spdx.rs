//! SPDX 2.3 JSON (spdx.github.io/spdx-spec/v2.3).

use crate::{Report, package_key, report_uuid, timestamp};
use serde_json::{Value, json};

/// The report as an SPDX 2.3 document that DESCRIBES the image package, which CONTAINS the
/// operating system and every package. Licenses go to `licenseDeclared` only when they read as
/// an SPDX expression; anything else (free text such as `MIT license, see LICENSE`) is
/// NOASSERTION, as the spec requires.
pub fn spdx(report: &Report) -> Value {
    let img = &report.image;
    let mut packages = Vec::new();
    let mut rels =
        vec![json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"})];
    let mut image = json!({
        "SPDXID": "SPDXRef-Image",
        "name": img.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
    });
    if !img.id.is_empty() {
        image["versionInfo"] = json!(img.id);
        if let Some(hex) = img.id.strip_prefix("sha256:") {
            image["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": hex}]);
        }
    }
    packages.push(image);
    if let Some(d) = &report.distribution {
        packages.push(json!({
            "SPDXID": "SPDXRef-OperatingSystem",
            "name": d.id,
            "versionInfo": d.version_id,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "OPERATING-SYSTEM",
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }));
        rels.push(
            json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-OperatingSystem"}),
        );
    }
    for p in &report.packages {
        let id = format!("SPDXRef-Package-{}", package_key(p));
        let declared = license_expression(&p.licenses).unwrap_or_else(|| "NOASSERTION".into());
        let mut e = json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": if p.ecosystem.is_os() { "OPERATING-SYSTEM" } else { "LIBRARY" },
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared,
            "copyrightText": "NOASSERTION",
            "sourceInfo": format!("{} package found in {} (layer {}, {})", p.ecosystem.osv_name(), p.location.path, p.location.layer_index, p.location.layer_digest),
        });
        if !p.purl.is_empty() {
            e["externalRefs"] = json!([{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.purl}]);
        }
        if let (Some(n), Some(v)) = (&p.source_name, &p.source_version) {
            e["comment"] = json!(format!("source package {n} {v}"));
        }
        packages.push(e);
        rels.push(json!({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": img.name,
        "documentNamespace": format!("https://shipshape.invalid/spdx/image/{}-{}", sanitize(&img.name), report_uuid(report)),
        "creationInfo": {
            "created": timestamp(report.created),
            "creators": [format!("Tool: shipshape-{}", env!("CARGO_PKG_VERSION"))],
        },
        "documentDescribes": ["SPDXRef-Image"],
        "packages": packages,
        "relationships": rels,
    })
}

fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '-' }).collect()
}

/// Joins licenses with AND when each reads as an SPDX expression: license ids (letters,
/// digits, `.`, `-`, `+`), `LicenseRef-`, operators AND/OR/WITH and parentheses.
pub(crate) fn license_expression(licenses: &[String]) -> Option<String> {
    if licenses.is_empty() {
        return None;
    }
    let ok = |l: &str| {
        let spaced = l.replace('(', " ( ").replace(')', " ) ");
        let mut expect_id = true;
        let mut depth = 0i32;
        for tok in spaced.split_whitespace() {
            match tok {
                "(" if expect_id => depth += 1,
                ")" if !expect_id => depth -= 1,
                "AND" | "OR" | "WITH" if !expect_id => expect_id = true,
                t if expect_id
                    && t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | ':'))
                    && t.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) =>
                {
                    expect_id = false
                }
                _ => return false,
            }
            if depth < 0 {
                return false;
            }
        }
        !expect_id && depth == 0
    };
    if !licenses.iter().all(|l| ok(l)) {
        return None;
    }
    Some(if licenses.len() == 1 {
        licenses[0].clone()
    } else {
        licenses.iter().map(|l| format!("({l})")).collect::<Vec<_>>().join(" AND ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_expressions() {
        let l = |v: &[&str]| license_expression(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(l(&["MIT"]), Some("MIT".into()));
        assert_eq!(l(&["GPL-2.0-or-later WITH Classpath-exception-2.0"]).as_deref(), Some("GPL-2.0-or-later WITH Classpath-exception-2.0"));
        assert_eq!(l(&["MIT", "(Apache-2.0 OR BSD-3-Clause)"]).as_deref(), Some("(MIT) AND ((Apache-2.0 OR BSD-3-Clause))"));
        assert_eq!(l(&["MIT license, see LICENSE"]), None);
        assert_eq!(l(&["MIT AND"]), None);
        assert_eq!(l(&[]), None);
    }
}
