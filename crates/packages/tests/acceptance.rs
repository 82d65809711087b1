//! Acceptance: catalogue the bookworm-app test image (built by scripts/testimages.sh) through the
//! real layer walker and merge, and compare the package list with
//! ../shared/testimages/expected.json exactly.
//!
//! The docker-archive is read here with the `tar` crate (manifest, config diff-ids, layer
//! entries by offset) so this crate does not depend on `image`; each layer is streamed, never
//! loaded whole.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

fn testimages() -> Option<PathBuf> {
    let dir = std::env::var_os("SHIPSHAPE_TESTIMAGES").map(PathBuf::from);
    let archive = dir.as_ref().map(|d| d.join("bookworm-app.docker.tar"));
    match archive {
        Some(a) if a.is_file() => dir,
        _ => {
            if std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1") {
                panic!("SHIPSHAPE_TESTIMAGES must point at the built test images (bookworm-app.docker.tar)");
            }
            eprintln!("skipped: set SHIPSHAPE_TESTIMAGES to the dir with bookworm-app.docker.tar");
            None
        }
    }
}

fn shared() -> PathBuf {
    std::env::var_os("SHIPSHAPE_SHARED").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// (path, offset, size) of every regular member of the outer archive.
fn members(path: &Path) -> Vec<(String, u64, u64)> {
    let mut ar = tar::Archive::new(File::open(path).expect("open archive"));
    let mut out = Vec::new();
    for e in ar.entries_with_seek().expect("entries") {
        let e = e.expect("entry");
        let name = e.path().expect("path").to_string_lossy().into_owned();
        out.push((name, e.raw_file_position(), e.size()));
    }
    out
}

fn member<'a>(file: &'a mut File, members: &[(String, u64, u64)], name: &str) -> std::io::Take<&'a mut File> {
    let (_, off, size) = members.iter().find(|m| m.0 == name).unwrap_or_else(|| panic!("{name} not in archive"));
    file.seek(SeekFrom::Start(*off)).expect("seek");
    file.take(*size)
}

/// Walks every layer of a docker-archive with the given analyzers and merges the result.
fn catalogue(archive: &Path) -> (layer::ImageContent, Vec<model::Package>) {
    let ms = members(archive);
    let mut f = File::open(archive).expect("open");
    let mut manifest = String::new();
    member(&mut f, &ms, "manifest.json").read_to_string(&mut manifest).expect("manifest");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("manifest json");
    let m = &manifest[0];
    let mut config = String::new();
    member(&mut f, &ms, m["Config"].as_str().expect("Config")).read_to_string(&mut config).expect("config");
    let config: serde_json::Value = serde_json::from_str(&config).expect("config json");
    let diff_ids: Vec<String> =
        config["rootfs"]["diff_ids"].as_array().expect("diff_ids").iter().map(|d| d.as_str().unwrap_or("").to_string()).collect();
    let set = layer::AnalyzerSet::new(packages::builtin()).expect("analyzers");
    let opts = layer::WalkOptions::default();
    let mut indexes = Vec::new();
    for (i, l) in m["Layers"].as_array().expect("Layers").iter().enumerate() {
        let blob = member(&mut f, &ms, l.as_str().expect("layer"));
        let (reader, _) = layer::decompress(blob, None).expect("decompress");
        indexes.push(layer::walk_layer(reader, &diff_ids[i], i as u32, &set, &opts).expect("walk"));
    }
    let content = layer::merge(&indexes);
    let packages = packages::finalize(content.packages.clone(), content.distribution.as_ref());
    (content, packages)
}

#[test]
fn bookworm_app_packages_match_expected_json() {
    let Some(dir) = testimages() else { return };
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared().join("testimages/expected.json")).expect("expected.json")).expect("json");
    let want: BTreeSet<(String, String)> = expected["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p[0].as_str().unwrap_or("").to_string(), p[1].as_str().unwrap_or("").to_string()))
        .collect();

    let (content, packages) = catalogue(&dir.join("bookworm-app.docker.tar"));
    eprintln!(
        "catalogued {} packages ({} distinct name/version pairs), {} entries, {} bytes walked",
        packages.len(),
        packages.iter().map(|p| (&p.name, &p.version)).collect::<BTreeSet<_>>().len(),
        content.entries,
        content.bytes
    );
    let got: BTreeSet<(String, String)> = packages.iter().map(|p| (p.name.clone(), p.version.clone())).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}\nwarnings {:?}", content.warnings);

    let d = content.distribution.as_ref().expect("distribution");
    assert_eq!((d.id.as_str(), d.version_id.as_str()), ("debian", "12"));
    // Every dpkg package carries its source; openssl's binaries name it.
    let libssl = packages.iter().find(|p| p.name == "libssl3").expect("libssl3");
    assert_eq!(libssl.source_name.as_deref(), Some("openssl"));
    assert!(libssl.purl.starts_with("pkg:deb/debian/libssl3@") && libssl.purl.contains("distro=debian-12"), "{}", libssl.purl);
    assert_eq!(libssl.location.path, "/var/lib/dpkg/status");
    assert_eq!(libssl.location.layer_index, 0);
    let django = packages.iter().find(|p| p.name == "Django").expect("Django");
    assert_eq!(django.location.layer_index, 1);
    assert_eq!(django.purl, "pkg:pypi/django@3.2");
    let lodash = packages.iter().find(|p| p.name == "lodash").expect("lodash");
    assert_eq!(lodash.location.path, "/app/node_modules/lodash/package.json");
    assert!(packages.iter().all(|p| !p.location.path.ends_with("package-lock.json")), "lock entries are all installed");
}
