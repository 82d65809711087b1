//! Per-ecosystem OSV range rules from the small fixtures in tests/data/osv, and import of the
//! same fixtures from a directory, a .zip and a .tar.gz (same fingerprint, same advisories).

use model::{Distribution, Ecosystem, Location, Package, Severity};
use std::io::Write;
use std::path::{Path, PathBuf};
use vuln::{MemoryIndex, import, match_packages};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/osv")
}

fn index() -> MemoryIndex {
    let sources = import::load_path(&fixtures()).unwrap();
    MemoryIndex::from_sources(sources)
}

fn pkg(eco: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        ecosystem: eco,
        name: name.into(),
        version: version.into(),
        source_name: None,
        source_version: None,
        purl: String::new(),
        licenses: vec![],
        location: Location { path: "/x".into(), layer_index: 2, layer_digest: "sha256:00".into() },
    }
}

fn ids(idx: &MemoryIndex, dist: Option<&Distribution>, p: Package) -> Vec<String> {
    match_packages(idx, dist, &[p]).unwrap().into_iter().map(|f| f.advisory_id).collect()
}

fn check(idx: &MemoryIndex, dist: Option<&Distribution>, eco: Ecosystem, name: &str, cases: &[(&str, &[&str])]) {
    for (version, want) in cases {
        assert_eq!(ids(idx, dist, pkg(eco, name, version)), *want, "{eco} {name} {version}");
    }
}

#[test]
fn bad_file_is_reported_by_name_and_the_rest_imports() {
    let sources = import::load_path(&fixtures()).unwrap();
    assert_eq!(sources.len(), 1);
    let s = &sources[0];
    assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
    assert!(s.problems[0].file.ends_with("TEST-BROKEN.json"));
    assert_eq!(s.advisories.len(), 10);
}

#[test]
fn pypi_intervals_last_affected_versions_list() {
    let idx = index();
    const HIT: &[&str] = &["TEST-PYPI-1"];
    check(
        &idx,
        None,
        Ecosystem::PyPI,
        "some-pkg.name",
        &[
            ("0.9", HIT),
            ("1.0", &[]),
            ("1.5", &[]),
            ("2.0a1", HIT),
            ("2.0", HIT),
            ("2.1", &[]),
            ("3.0", HIT),
            ("3.2", HIT),
            ("3.2.post1", &[]),
            ("3.3", &[]),
            ("4.0.post1", HIT),
            ("4.0", &[]),
        ],
    );
    let f = match_packages(&idx, None, &[pkg(Ecosystem::PyPI, "SOME_PKG_NAME", "2.0")]).unwrap();
    assert_eq!(f[0].fixed_versions, vec!["2.1".to_owned()]);
    assert_eq!(f[0].display_id, "CVE-2099-0001");
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].cvss_score, Some(9.8));
    assert_eq!(f[0].location.layer_index, 2);
    // Withdrawn TEST-WITHDRAWN-1 names the same package and never matches.
}

#[test]
fn npm_semver_prerelease_and_limit() {
    let idx = index();
    const HIT: &[&str] = &["TEST-NPM-1"];
    check(
        &idx,
        None,
        Ecosystem::Npm,
        "left-pad",
        &[
            ("0.9.0", &[]),
            ("1.0.0-alpha", HIT),
            ("1.0.0-beta.2", HIT),
            ("1.0.0", &[]),
            ("2.0.0", HIT),
            ("2.4.9", HIT),
            ("2.5.0", &[]),
            ("3.0.0", &[]),
        ],
    );
    let f = match_packages(&idx, None, &[pkg(Ecosystem::Npm, "left-pad", "2.1.0")]).unwrap();
    assert_eq!(f[0].severity, Severity::Medium, "GHSA word MODERATE");
    assert!(f[0].fixed_versions.is_empty());
    // npm names are exact.
    assert!(ids(&idx, None, pkg(Ecosystem::Npm, "Left-Pad", "2.1.0")).is_empty());
}

#[test]
fn go_pseudo_versions_and_stdlib() {
    let idx = index();
    const HIT: &[&str] = &["TEST-GO-1"];
    check(
        &idx,
        None,
        Ecosystem::Go,
        "example.com/mod",
        &[("v0.0.0-20190101000000-abcdefabcdef", HIT), ("v0.0.0-20200101000000-abcdefabcdef", &[]), ("v0.1.0", &[])],
    );
    check(
        &idx,
        None,
        Ecosystem::Go,
        "stdlib",
        &[("go1.20.14", &[]), ("go1.21rc2", &[]), ("go1.21.0", HIT), ("1.21.4", HIT), ("go1.21.5", &[])],
    );
    let f = match_packages(&idx, None, &[pkg(Ecosystem::Go, "stdlib", "go1.21.1")]).unwrap();
    assert_eq!(f[0].display_id, "CVE-2099-0002");
}

#[test]
fn crates_informational_is_not_a_vulnerability() {
    let idx = index();
    check(&idx, None, Ecosystem::CratesIo, "some-crate", &[("0.3.0", &["TEST-CRATES-1"]), ("0.3.1", &[])]);
    let f = match_packages(&idx, None, &[pkg(Ecosystem::CratesIo, "some_crate", "0.1.0")]).unwrap();
    assert_eq!(f[0].cvss_score, Some(4.3));
    assert_eq!(f[0].severity, Severity::Medium);
}

#[test]
fn maven_rubygems_qualifiers() {
    let idx = index();
    check(
        &idx,
        None,
        Ecosystem::Maven,
        "org.example:core",
        &[
            ("5.1.9.RELEASE", &[]),
            ("5.2.0", &["TEST-MAVEN-1"]),
            ("5.2.19.RELEASE", &["TEST-MAVEN-1"]),
            ("5.2.20", &[]),
            ("5.2.20.RELEASE", &[]),
        ],
    );
    let f = match_packages(&idx, None, &[pkg(Ecosystem::Maven, "org.example:core", "5.2.1")]).unwrap();
    assert_eq!(f[0].severity, Severity::High, "ecosystem_specific severity");
    check(
        &idx,
        None,
        Ecosystem::RubyGems,
        "rack",
        &[
            ("1.6.13", &[]),
            ("2.0.0.alpha", &[]),
            ("2.0.0.beta1", &["TEST-GEM-1"]),
            ("2.0.9", &["TEST-GEM-1"]),
            ("2.0.9.1", &[]),
            ("2.0.10", &[]),
        ],
    );
}

#[test]
fn os_packages_need_their_release() {
    let idx = index();
    let bookworm = Distribution { id: "debian".into(), version_id: "12".into(), ..Default::default() };
    let bullseye = Distribution { id: "debian".into(), version_id: "11".into(), ..Default::default() };
    let mut p = pkg(Ecosystem::Debian, "libfoo2", "2.0-1~deb12u1");
    p.source_name = Some("libfoo".into());
    assert_eq!(ids(&idx, Some(&bookworm), p.clone()), vec!["TEST-DEBIAN-1"], "no epoch: 0:2.0 < 1:2.0");
    p.source_version = Some("1:2.0-1~deb12u0".into());
    assert_eq!(ids(&idx, Some(&bookworm), p.clone()), vec!["TEST-DEBIAN-1"]);
    assert!(ids(&idx, Some(&bullseye), p.clone()).is_empty());
    p.source_version = Some("1:2.0-1".into());
    assert!(ids(&idx, Some(&bookworm), p).is_empty(), "~deb12u1 < -1");

    let alpine = Distribution { id: "alpine".into(), version_id: "3.19.1".into(), ..Default::default() };
    check(
        &idx,
        Some(&alpine),
        Ecosystem::Alpine,
        "busybox",
        &[("1.36.1_rc1-r5", &["TEST-ALPINE-1"]), ("1.36.1_rc2-r0", &["TEST-ALPINE-1"]), ("1.36.1_rc2-r1", &[]), ("1.36.1-r0", &[])],
    );
}

fn copy_into_zip(dir: &Path, out: &Path) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for p in names {
        z.start_file(format!("osv/{}", p.file_name().unwrap().to_string_lossy()), opts).unwrap();
        z.write_all(&std::fs::read(&p).unwrap()).unwrap();
    }
    z.finish().unwrap();
}

fn copy_into_tgz(dir: &Path, out: &Path) {
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(out).unwrap(), flate2::Compression::fast());
    let mut t = tar::Builder::new(gz);
    t.append_dir_all("osv", dir).unwrap();
    t.into_inner().unwrap().finish().unwrap();
}

#[test]
fn bundles_import_like_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (zip_path, tgz_path) = (tmp.path().join("data.zip"), tmp.path().join("data.tar.gz"));
    copy_into_zip(&fixtures(), &zip_path);
    copy_into_tgz(&fixtures(), &tgz_path);
    let dir = import::load_path(&fixtures()).unwrap();
    for bundle in [&zip_path, &tgz_path] {
        let b = import::load_path(bundle).unwrap();
        assert_eq!(b.len(), 1, "{bundle:?}");
        assert_eq!(b[0].fingerprint, dir[0].fingerprint, "{bundle:?}: same content, same fingerprint");
        let ids = |s: &import::ParsedSource| s.advisories.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&b[0]), ids(&dir[0]));
        assert!(b[0].problems[0].file.ends_with("data.zip!osv/TEST-BROKEN.json") || b[0].problems[0].file.ends_with("TEST-BROKEN.json"));
    }
    // A directory holding a bundle imports the bundle's content.
    let outer = tempfile::tempdir().unwrap();
    std::fs::copy(&zip_path, outer.path().join("data.zip")).unwrap();
    let s = import::load_path(outer.path()).unwrap();
    assert_eq!(s.iter().map(|s| s.advisories.len()).sum::<usize>(), 10);
}
