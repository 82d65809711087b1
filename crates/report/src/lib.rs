//! Renders a content report (what an image is, which distribution it runs, which packages it
//! holds) as CycloneDX 1.5 JSON, SPDX 2.3 JSON, a text table, or Shipshape's own JSON.
//!
//! Pure functions over a [`Report`]: no I/O, no clock (the caller passes the creation time, so
//! the same report renders to the same bytes).

mod cyclonedx;
mod spdx;
mod table;

use model::{Distribution, Package};
use serde::Serialize;
use std::str::FromStr;

pub use cyclonedx::cyclonedx;
pub use spdx::spdx;
pub use table::table;

/// What the scanned image is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageIdentity {
    /// The reference the user named (`shipshape-test/bookworm-app:1`, `docker-archive:app.tar`).
    pub name: String,
    /// Image ID: the config digest, `sha256:...`.
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repo_tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repo_digests: Vec<String>,
    pub os: String,
    pub architecture: String,
    /// Layer diff-ids, bottom first.
    pub layers: Vec<String>,
}

/// The input of every renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub image: ImageIdentity,
    pub distribution: Option<Distribution>,
    /// Packages after `packages::finalize` (merged, OS purls qualified, sorted).
    pub packages: Vec<Package>,
    /// When the report was made; rendered in UTC to the second.
    pub created: time::OffsetDateTime,
}

/// Output formats, as the CLI names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CycloneDx,
    SpdxJson,
    Table,
    Json,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    #[error("unknown SBOM format {0:?} (cyclonedx, spdx-json, table, json)")]
    UnknownFormat(String),
    #[error("serialising JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl FromStr for Format {
    type Err = SbomError;
    fn from_str(s: &str) -> Result<Self, SbomError> {
        match s {
            "cyclonedx" | "cyclonedx-json" => Ok(Format::CycloneDx),
            "spdx-json" | "spdx" => Ok(Format::SpdxJson),
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            other => Err(SbomError::UnknownFormat(other.to_string())),
        }
    }
}

/// Renders `report` in `format`; JSON formats are pretty-printed and end with a newline.
pub fn render(report: &Report, format: Format) -> Result<String, SbomError> {
    let value = match format {
        Format::Table => return Ok(table(report)),
        Format::CycloneDx => cyclonedx(report),
        Format::SpdxJson => spdx(report),
        Format::Json => json(report),
    };
    let mut s = serde_json::to_string_pretty(&value)?;
    s.push('\n');
    Ok(s)
}

/// Shipshape's own JSON: the report as Shipshape's types serialise it.
pub fn json(report: &Report) -> serde_json::Value {
    #[derive(Serialize)]
    struct Out<'a> {
        schema: &'static str,
        created: String,
        image: &'a ImageIdentity,
        distribution: &'a Option<Distribution>,
        packages: &'a [Package],
    }
    serde_json::to_value(Out {
        schema: "shipshape.content-report/v1",
        created: timestamp(report.created),
        image: &report.image,
        distribution: &report.distribution,
        packages: &report.packages,
    })
    .unwrap_or(serde_json::Value::Null)
}

/// `2026-11-29T05:36:00Z`: the form both CycloneDX and SPDX accept.
pub(crate) fn timestamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// A stable id for a package within one report: hash of what makes it distinct.
pub(crate) fn package_key(p: &Package) -> String {
    package_key_of(p.ecosystem, &p.name, &p.version, &p.location)
}

/// The CycloneDX `bom-ref` of a package component (`pkg:<key>`), for documents that point at it
/// (a vulnerability's `affects`).
pub fn package_bom_ref(ecosystem: model::Ecosystem, name: &str, version: &str, location: &model::Location) -> String {
    format!("pkg:{}", package_key_of(ecosystem, name, version, location))
}

fn package_key_of(ecosystem: model::Ecosystem, name: &str, version: &str, location: &model::Location) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [ecosystem.osv_name(), name, version, &location.path, &location.layer_digest] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// A UUID (version 4 layout) derived from the report, so output is reproducible.
pub(crate) fn report_uuid(report: &Report) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(report.image.name.as_bytes());
    h.update([0]);
    h.update(report.image.id.as_bytes());
    h.update([0]);
    h.update(timestamp(report.created).as_bytes());
    for p in &report.packages {
        h.update(p.purl.as_bytes());
        h.update([0]);
    }
    let mut b: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
}

/// Test and example input: a small report resembling the bookworm test image.
#[doc(hidden)]
pub fn sample_report() -> Report {
    use model::{Ecosystem, Location};
    let loc = |path: &str, layer: u32| Location {
        path: path.into(),
        layer_index: layer,
        layer_digest: format!("sha256:{}", format!("{layer}").repeat(64)),
    };
    let pkg = |eco, name: &str, version: &str, purl: &str, src: Option<(&str, &str)>, lic: &[&str], l: Location| Package {
        ecosystem: eco,
        name: name.into(),
        version: version.into(),
        source_name: src.map(|s| s.0.to_string()),
        source_version: src.map(|s| s.1.to_string()),
        purl: purl.into(),
        licenses: lic.iter().map(|s| s.to_string()).collect(),
        location: l,
    };
    Report {
        image: ImageIdentity {
            name: "shipshape-test/bookworm-app:1".into(),
            id: format!("sha256:{}", "ab".repeat(32)),
            repo_tags: vec!["shipshape-test/bookworm-app:1".into()],
            repo_digests: vec![],
            os: "linux".into(),
            architecture: "amd64".into(),
            layers: (0..3).map(|i| format!("sha256:{}", format!("{i}").repeat(64))).collect(),
        },
        distribution: Some(Distribution {
            id: "debian".into(),
            version_id: "12".into(),
            codename: "bookworm".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        }),
        packages: vec![
            pkg(
                Ecosystem::Debian,
                "libssl3",
                "3.0.20-1~deb12u2",
                "pkg:deb/debian/libssl3@3.0.20-1~deb12u2?arch=amd64&distro=debian-12",
                Some(("openssl", "3.0.20-1~deb12u2")),
                &[],
                loc("/var/lib/dpkg/status", 0),
            ),
            pkg(
                Ecosystem::Debian,
                "bsdutils",
                "1:2.38.1-5+deb12u3",
                "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12",
                Some(("util-linux", "2.38.1-5+deb12u3")),
                &[],
                loc("/var/lib/dpkg/status", 0),
            ),
            pkg(
                Ecosystem::PyPI,
                "Django",
                "3.2",
                "pkg:pypi/django@3.2",
                None,
                &["BSD-3-Clause"],
                loc("/usr/local/lib/python3.11/dist-packages/Django-3.2.dist-info/METADATA", 1),
            ),
            pkg(
                Ecosystem::PyPI,
                "PyYAML",
                "5.3",
                "pkg:pypi/pyyaml@5.3",
                None,
                &["MIT license, see LICENSE"],
                loc("/usr/local/lib/python3.11/dist-packages/PyYAML-5.3.dist-info/METADATA", 1),
            ),
            pkg(
                Ecosystem::Npm,
                "@types/node",
                "14.0.0",
                "pkg:npm/%40types/node@14.0.0",
                None,
                &["MIT"],
                loc("/app/node_modules/@types/node/package.json", 2),
            ),
        ],
        created: time::macros::datetime!(2026-11-29 05:36:00 UTC),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!("cyclonedx".parse::<Format>().ok(), Some(Format::CycloneDx));
        assert_eq!("spdx-json".parse::<Format>().ok(), Some(Format::SpdxJson));
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn shipshape_json_round_trips_packages() {
        let r = sample_report();
        let v: serde_json::Value = serde_json::from_str(&render(&r, Format::Json).expect("render")).expect("json");
        let pkgs: Vec<Package> = serde_json::from_value(v["packages"].clone()).expect("packages");
        assert_eq!(pkgs, r.packages);
        assert_eq!(v["created"], "2026-11-29T05:36:00Z");
        assert_eq!(v["distribution"]["id"], "debian");
    }

    #[test]
    fn uuid_shape() {
        let u = report_uuid(&sample_report());
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
