//! Every report format Shipshape writes, as pure functions over plain inputs: no I/O, no clock (the
//! caller passes the creation time, so the same input renders to the same bytes).
//!
//! - A content report ([`Report`]: what an image or tree is, its distribution, its packages) as
//!   CycloneDX 1.5 ([`cyclonedx`]), SPDX 2.3 ([`spdx`]), a text table ([`table::packages`]) or
//!   Shipshape's JSON ([`json`]); [`render`] picks one by [`Format`].
//! - A scan's findings ([`findings::FindingsReport`]) as Shipshape's JSON, SARIF 2.1.0 ([`sarif`]),
//!   CycloneDX with `vulnerabilities` ([`add_vulnerabilities`]) or a text table: [`findings::render`].
//! - [`table::Table`]: the one text table renderer, for these and the CLI's status tables.
//!
//! Not here: Harbor's wire reports (`harbor::report`, the Harbor API's own types) and the
//! compliance check report (`compliance::report`, over the catalog's types).

mod cyclonedx;
pub mod findings;
pub mod sarif;
mod spdx;
pub mod table;

use model::{Distribution, Package};
use serde::Serialize;
use std::str::FromStr;

pub use cyclonedx::{add_vulnerabilities, cyclonedx, cyclonedx_source_tree};
pub use spdx::spdx;

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

/// Output formats, as `--format` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    CycloneDx,
    SpdxJson,
    Sarif,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{given:?} is not {allowed}")]
    UnknownFormat { given: String, allowed: String },
    #[error("SARIF is a findings format: a content report has no findings")]
    NotContentFormat,
    #[error("serialising JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl Format {
    pub const ALL: [Format; 5] = [Format::Table, Format::Json, Format::CycloneDx, Format::SpdxJson, Format::Sarif];

    /// The name `--format` takes (the SBOM formats also answer to `cyclonedx-json` and `spdx`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::CycloneDx => "cyclonedx",
            Format::SpdxJson => "spdx-json",
            Format::Sarif => "sarif",
        }
    }

    /// `s` as one of `allowed` (a subcommand's formats); the error names them.
    pub fn parse_one_of(s: &str, allowed: &[Format]) -> Result<Format, Error> {
        let format = match s {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "cyclonedx" | "cyclonedx-json" => Some(Format::CycloneDx),
            "spdx-json" | "spdx" => Some(Format::SpdxJson),
            "sarif" => Some(Format::Sarif),
            _ => None,
        };
        format.filter(|f| allowed.contains(f)).ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
            let allowed = match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => names.concat(),
            };
            Error::UnknownFormat { given: s.to_string(), allowed }
        })
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Format::parse_one_of(s, &Format::ALL)
    }
}

/// Pretty JSON ending with a newline: how every JSON format is written.
pub fn json_text(value: &serde_json::Value) -> Result<String, Error> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    Ok(s)
}

/// Renders a content report in `format` (table, json, cyclonedx, spdx-json).
pub fn render(report: &Report, format: Format) -> Result<String, Error> {
    let value = match format {
        Format::Table => return Ok(table::packages(report)),
        Format::CycloneDx => cyclonedx(report),
        Format::SpdxJson => spdx(report),
        Format::Json => json(report),
        Format::Sarif => return Err(Error::NotContentFormat),
    };
    json_text(&value)
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
pub(crate) fn package_bom_ref(ecosystem: model::Ecosystem, name: &str, version: &str, location: &model::Location) -> String {
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
        let scan = [Format::Table, Format::Json, Format::CycloneDx, Format::Sarif];
        assert_eq!(Format::parse_one_of("sarif", &scan).ok(), Some(Format::Sarif));
        let e = Format::parse_one_of("spdx-json", &scan).unwrap_err();
        assert_eq!(e.to_string(), r#""spdx-json" is not table, json, cyclonedx or sarif"#);
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
