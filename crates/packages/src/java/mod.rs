//! Java archives (`.jar`, `.war`, `.ear`, `.jpi`, `.hpi`): Maven coordinates from
//! `META-INF/maven/**/pom.properties`, else `META-INF/MANIFEST.MF`, else the file name; nested
//! archives are opened to depth 2. Reading is bounded: per-entry and per-archive decompressed
//! byte budgets and an entry-count cap, so a zip bomb costs at most those bounds.

mod pom;

pub use pom::{Pom, parse_pom};

use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::{Ecosystem, Package};
use std::io::{Cursor, Read};

pub struct Java;

const MAX_DEPTH: u32 = 2;
/// Largest nested archive read into memory.
const MAX_NESTED: u64 = 64 << 20;
/// Largest pom.properties / MANIFEST.MF read.
const MAX_META: u64 = 1 << 20;
/// Decompressed bytes read from one top-level archive, nested ones included.
const BUDGET: u64 = 256 << 20;
const MAX_ENTRIES: usize = 200_000;

impl Analyzer for Java {
    fn name(&self) -> &'static str {
        "java"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        is_archive(path)
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        if file.truncated {
            out.warnings.push(format!("{}: java archive larger than the file cap, not read", file.location.path));
            return Ok(());
        }
        let mut budget = BUDGET;
        let mut found = Vec::new();
        read_archive(file.data, util::basename(file.path), 0, &mut budget, &mut found, &mut out.warnings)
            .map_err(|reason| AnalyzeError::Malformed { path: file.path.into(), format: "java archive", reason })?;
        for mut p in found {
            p.location = file.location.clone();
            out.packages.push(p);
        }
        Ok(())
    }
}

fn is_archive(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".jpi", ".hpi"].iter().any(|e| lower.ends_with(e))
}

/// Catalogues one archive (and its nested archives) into `out`.
pub fn read_archive(
    data: &[u8],
    file_name: &str,
    depth: u32,
    budget: &mut u64,
    out: &mut Vec<Package>,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(data)).map_err(|e| e.to_string())?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!("{} entries, more than {MAX_ENTRIES}", zip.len()));
    }
    let mut poms = Vec::new();
    let mut manifest = None;
    let mut nested = Vec::new();
    for i in 0..zip.len() {
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        if entry.is_dir() {
            continue;
        }
        let Ok(name) = entry.name().map(|n| n.to_string()) else {
            continue;
        };
        let want_meta =
            (name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties")) || name.eq_ignore_ascii_case("META-INF/MANIFEST.MF");
        let want_nested = depth < MAX_DEPTH && is_archive(&name);
        if !want_meta && !want_nested {
            continue;
        }
        let cap = if want_meta { MAX_META } else { MAX_NESTED }.min(*budget);
        let mut buf = Vec::new();
        // Read one byte past the cap to tell "exactly at cap" from "over it".
        let n = (&mut entry).take(cap + 1).read_to_end(&mut buf).map_err(|e| format!("{name}: {e}"))? as u64;
        *budget = budget.saturating_sub(n);
        if n > cap {
            warnings.push(format!("{file_name}!/{name}: over the size bound, skipped"));
            if *budget == 0 {
                warnings.push(format!("{file_name}: decompression budget used up"));
                break;
            }
            continue;
        }
        if want_meta && name.ends_with("pom.properties") {
            poms.push(String::from_utf8_lossy(&buf).into_owned());
        } else if want_meta {
            manifest = Some(String::from_utf8_lossy(&buf).into_owned());
        } else {
            nested.push((name, buf));
        }
    }
    let before = out.len();
    for pom in &poms {
        if let Some(p) = from_pom_properties(pom) {
            out.push(p);
        }
    }
    if out.len() == before
        && let Some(p) = manifest.as_deref().and_then(from_manifest).or_else(|| from_file_name(file_name))
    {
        out.push(p);
    }
    drop(zip);
    for (name, buf) in nested {
        let inner_name = util::basename(&name).to_string();
        if let Err(e) = read_archive(&buf, &inner_name, depth + 1, budget, out, warnings) {
            warnings.push(format!("{file_name}!/{name}: {e}"));
        }
    }
    Ok(())
}

fn props(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter(|l| !l.trim_start().starts_with('#')).filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim(), v.trim()))
}

/// `groupId`, `artifactId`, `version` from a pom.properties.
pub fn from_pom_properties(text: &str) -> Option<Package> {
    let (mut g, mut a, mut v) = ("", "", "");
    for (k, val) in props(text) {
        match k {
            "groupId" => g = val,
            "artifactId" => a = val,
            "version" => v = val,
            _ => {}
        }
    }
    (!a.is_empty() && !v.is_empty()).then(|| maven_package(g, a, v))
}

/// Implementation-* or Bundle-* headers of a manifest (72-column continuation lines joined).
fn from_manifest(text: &str) -> Option<Package> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(cont) = line.strip_prefix(' ') {
            if let Some(last) = fields.last_mut() {
                last.1.push_str(cont);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            fields.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let get = |k: &str| fields.iter().find(|(f, _)| f.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let version = get("Implementation-Version").or_else(|| get("Bundle-Version"))?;
    let artifact = get("Implementation-Title")
        .filter(|t| !t.contains(' '))
        .or_else(|| get("Bundle-SymbolicName").map(|s| s.split(';').next().unwrap_or(s)))?;
    let group = get("Implementation-Vendor-Id").unwrap_or("");
    Some(maven_package(group, artifact, version))
}

/// `commons-io-2.11.0.jar` → artifact `commons-io`, version `2.11.0`.
fn from_file_name(file_name: &str) -> Option<Package> {
    let stem = file_name.rsplit_once('.').map(|(s, _)| s)?;
    let idx = stem.char_indices().find(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))?.0;
    let (a, v) = (&stem[..idx], &stem[idx + 1..]);
    (!a.is_empty() && !v.is_empty()).then(|| maven_package("", a, v))
}

pub(crate) fn maven_package(group: &str, artifact: &str, version: &str) -> Package {
    Package {
        ecosystem: Ecosystem::Maven,
        // OSV's Maven names are `group:artifact`.
        name: if group.is_empty() { artifact.to_string() } else { format!("{group}:{artifact}") },
        version: version.to_string(),
        source_name: None,
        source_version: None,
        purl: util::purl("maven", Some(group), artifact, version, &[]),
        licenses: Vec::new(),
        location: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::run;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    #[test]
    fn fixture_jar_with_pom_properties() {
        let out = run(&Java, "opt/app/lib/commons-lang3-3.12.0.jar", &crate::util::testing::testdata("java/commons-lang3-3.12.0.jar"));
        let got: Vec<_> = out.packages.iter().map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str())).collect();
        assert_eq!(got, vec![("org.apache.commons:commons-lang3", "3.12.0", "pkg:maven/org.apache.commons/commons-lang3@3.12.0")]);
    }

    #[test]
    fn nested_war_manifest_and_file_name() {
        let inner = zip_of(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nImplementation-Title: guava\nImplementation-Vendor-Id: com.google.guava\nImplementation-Version: 31.1-jre\n")]);
        let bare = zip_of(&[("a/B.class", b"\xca\xfe\xba\xbe")]);
        let deeper = zip_of(&[("lib/deep-1.0.jar", &zip_of(&[("lib/deepest-2.0.jar", &bare)]))]);
        let war = zip_of(&[
            ("META-INF/maven/com.example/shop/pom.properties", b"#Generated\ngroupId=com.example\nartifactId=shop\nversion=1.0.0\n"),
            ("WEB-INF/lib/guava.jar", &inner),
            ("WEB-INF/lib/tiny-lib-0.3.1.jar", &bare),
            ("WEB-INF/lib/outer-5.jar", &deeper),
        ]);
        let out = run(&Java, "srv/shop.war", &war);
        let got: Vec<_> = out.packages.iter().map(|p| format!("{}@{}", p.name, p.version)).collect();
        // deepest-2.0.jar sits at depth 3 and is not opened.
        assert_eq!(got, vec!["com.example:shop@1.0.0", "com.google.guava:guava@31.1-jre", "tiny-lib@0.3.1", "outer@5", "deep@1.0"]);
    }

    #[test]
    fn zip_bomb_is_bounded() {
        let big = vec![0u8; (MAX_NESTED + 10) as usize];
        let war = zip_of(&[("WEB-INF/lib/bomb-1.0.jar", &big)]);
        assert!(war.len() < 1 << 20, "compresses well");
        let out = run(&Java, "srv/bomb.war", &war);
        assert!(out.packages.is_empty());
        assert!(out.warnings.iter().any(|w| w.contains("over the size bound")), "{:?}", out.warnings);
    }

    #[test]
    fn not_a_zip() {
        let loc = crate::util::test_location("a.jar");
        let f = FileInput { path: "a.jar", meta: crate::util::testing::meta(3), data: b"PK\x03", truncated: false, location: &loc };
        assert!(Java.analyze(&f, &mut LayerFindings::default()).is_err());
    }
}
