//! Acceptance: the test image's packages (../shared/testimages/expected.json, the exact
//! cataloger output) matched against all of ../shared/vulndata give exactly the expected
//! (package, version, advisory) triples, and none of the `must_not` ones.

use model::{Distribution, Ecosystem, Location, Package};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use vuln::{MemoryIndex, VulnFinding, import, match_packages};

fn shared() -> PathBuf {
    match std::env::var_os("SHIPSHAPE_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// Python dists of the image: build.sh's PYREQS (installed with --no-deps).
const PYPI: [&str; 7] = ["Django", "Flask", "Jinja2", "PyYAML", "requests", "six", "urllib3"];

struct Dpkg {
    name: String,
    version: String,
    source: String,
    source_version: String,
}

fn dpkg_status() -> Vec<Dpkg> {
    let text = include_str!("../data/bookworm-app.dpkg-status");
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let field = |k: &str| para.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_owned()));
        let (Some(name), Some(version)) = (field("Package"), field("Version")) else {
            continue;
        };
        if field("Status").as_deref() != Some("install ok installed") {
            continue;
        }
        let (source, source_version) = match field("Source") {
            Some(s) => match s.split_once(' ') {
                Some((n, v)) => (n.to_owned(), v.trim_matches(|c| c == '(' || c == ')' || c == ' ').to_owned()),
                None => (s, version.clone()),
            },
            None => (name.clone(), version.clone()),
        };
        out.push(Dpkg { name, version, source, source_version });
    }
    out
}

fn pkg(eco: Ecosystem, name: &str, version: &str, source: Option<(&str, &str)>) -> Package {
    Package {
        ecosystem: eco,
        name: name.into(),
        version: version.into(),
        source_name: source.map(|s| s.0.to_owned()),
        source_version: source.map(|s| s.1.to_owned()),
        purl: format!("pkg:{}/{name}@{version}", eco.purl_type()),
        licenses: vec![],
        location: Location { path: "/var/lib/dpkg/status".into(), layer_index: 0, layer_digest: String::new() },
    }
}

fn bookworm() -> Distribution {
    Distribution {
        id: "debian".into(),
        version_id: "12".into(),
        codename: "bookworm".into(),
        pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
    }
}

type Triple = (String, String, String);

fn triple(f: &VulnFinding) -> Triple {
    let name = f.package.source_name.clone().filter(|_| f.package.ecosystem.is_os()).unwrap_or(f.package.name.clone());
    (name, f.installed_version.clone(), f.advisory_id.clone())
}

fn load_all() -> MemoryIndex {
    let sources = import::load_path(&shared().join("vulndata")).expect("vulndata readable");
    let problems: Vec<_> = sources.iter().flat_map(|s| s.problems.clone()).collect();
    assert!(problems.is_empty(), "real data must import cleanly: {:?}", &problems[..problems.len().min(5)]);
    MemoryIndex::from_sources(sources)
}

#[test]
fn test_image_matches_expected_exactly() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared().join("testimages/expected.json")).expect("expected.json")).expect("json");
    let index = load_all();
    let dpkg = dpkg_status();
    let dpkg_by: HashMap<(&str, &str), &Dpkg> = dpkg.iter().map(|d| ((d.name.as_str(), d.version.as_str()), d)).collect();

    let mut packages = Vec::new();
    let mut eco_of_name: HashMap<String, Ecosystem> = HashMap::new();
    let (mut n_deb, mut n_py, mut n_npm) = (0, 0, 0);
    for p in expected["packages"].as_array().expect("packages") {
        let (name, version) = (p[0].as_str().unwrap(), p[1].as_str().unwrap());
        if let Some(d) = dpkg_by.get(&(name, version)) {
            packages.push(pkg(Ecosystem::Debian, name, version, Some((&d.source, &d.source_version))));
            eco_of_name.insert(d.source.clone(), Ecosystem::Debian);
            n_deb += 1;
        } else if PYPI.contains(&name) {
            packages.push(pkg(Ecosystem::PyPI, name, version, None));
            eco_of_name.insert(name.into(), Ecosystem::PyPI);
            n_py += 1;
        } else {
            packages.push(pkg(Ecosystem::Npm, name, version, None));
            eco_of_name.insert(name.into(), Ecosystem::Npm);
            n_npm += 1;
        }
    }
    // The fixture and expected.json describe the same image.
    assert_eq!((n_deb, n_py), (dpkg.len(), PYPI.len()), "package list and dpkg fixture disagree");
    assert!(n_npm > 0);

    let findings = match_packages(&index, Some(&bookworm()), &packages).expect("match");
    let got: BTreeSet<Triple> = findings.iter().map(triple).collect();
    let want: BTreeSet<Triple> = expected["vulns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[0].as_str().unwrap().into(), v[1].as_str().unwrap().into(), v[2].as_str().unwrap().into()))
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:#?}\nextra {extra:#?}");

    // Every Debian finding names the source, and binaries share their source's findings.
    let libssl = findings.iter().filter(|f| f.package.name == "libssl3").count();
    assert_eq!(libssl, 2, "libssl3 carries both openssl records");
    let django = findings.iter().find(|f| f.advisory_id == "PYSEC-2021-98").expect("PYSEC-2021-98");
    assert_eq!(django.display_id, "CVE-2021-33203");
    assert_eq!(django.fixed_versions, vec!["3.2.4".to_owned()]);

    // must_not: at the fix, or outside the range. Matched synthetically (one package each).
    for m in expected["must_not"].as_array().unwrap() {
        let (name, version, id) = (m[0].as_str().unwrap(), m[1].as_str().unwrap(), m[2].as_str().unwrap());
        let eco = eco_of_name.get(name).copied().unwrap_or_else(|| panic!("unknown package {name}"));
        let p = if eco.is_os() { pkg(eco, name, version, Some((name, version))) } else { pkg(eco, name, version, None) };
        let f = match_packages(&index, Some(&bookworm()), &[p]).unwrap();
        assert!(!f.iter().any(|f| f.advisory_id == id), "{name} {version} must not match {id}");
    }
}

#[test]
fn release_is_part_of_the_key() {
    // The same source on bullseye gets the tracker's DSA data, never the bookworm records.
    let index = load_all();
    let bullseye = Distribution { id: "debian".into(), version_id: "11".into(), codename: "bullseye".into(), ..Default::default() };
    let p = pkg(Ecosystem::Debian, "xserver-xorg-core", "2:1.20.11-1+deb11u5", Some(("xorg-server", "2:1.20.11-1+deb11u5")));
    let f = match_packages(&index, Some(&bullseye), std::slice::from_ref(&p)).unwrap();
    assert!(f.iter().any(|f| f.advisory_id == "DSA-5380-1"), "{f:#?}");
    assert!(f.iter().all(|f| !f.advisory_id.starts_with("DEBIAN-BOOKWORM")));
    let fixed = pkg(Ecosystem::Debian, "xserver-xorg-core", "2:1.20.11-1+deb11u6", Some(("xorg-server", "2:1.20.11-1+deb11u6")));
    let f = match_packages(&index, Some(&bullseye), &[fixed]).unwrap();
    assert!(!f.iter().any(|f| f.advisory_id == "DSA-5380-1"));
    // On bookworm the bullseye DSA does not apply.
    let f = match_packages(&index, Some(&bookworm()), std::slice::from_ref(&p)).unwrap();
    assert!(!f.iter().any(|f| f.advisory_id.starts_with("DSA-")), "{f:#?}");
    // Without a known distribution an OS package cannot be matched at all.
    assert!(match_packages(&index, None, &[p]).unwrap().is_empty());
}

#[test]
fn alpine_secdb_by_release() {
    let index = load_all();
    let v311 = Distribution { id: "alpine".into(), version_id: "3.11.6".into(), ..Default::default() };
    let p = |v: &str| pkg(Ecosystem::Alpine, "libcrypto1.1", v, Some(("openssl", v)));
    let f = match_packages(&index, Some(&v311), &[p("1.1.1d-r2")]).unwrap();
    let hit = f.iter().find(|f| f.display_id == "CVE-2019-1551").expect("CVE-2019-1551 at 1.1.1d-r2");
    assert_eq!(hit.fixed_versions, vec!["1.1.1d-r3".to_owned()]);
    let f = match_packages(&index, Some(&v311), &[p("1.1.1d-r3")]).unwrap();
    assert!(!f.iter().any(|f| f.display_id == "CVE-2019-1551"));
}

#[test]
fn readme_sanity_table() {
    // ../shared/vulndata/README.md "Sanity table".
    let index = load_all();
    let cases: &[(Ecosystem, &str, &str, &str, bool)] = &[
        (Ecosystem::PyPI, "django", "3.2.0", "PYSEC-2021-98", true),
        (Ecosystem::PyPI, "django", "3.2.4", "PYSEC-2021-98", false),
        (Ecosystem::Npm, "lodash", "4.17.20", "GHSA-35jh-r3h4-6jhm", true),
        (Ecosystem::Npm, "lodash", "4.17.21", "GHSA-35jh-r3h4-6jhm", false),
        (Ecosystem::Maven, "org.apache.logging.log4j:log4j-core", "2.14.1", "GHSA-7rjr-3q55-vv33", true),
        (Ecosystem::Maven, "org.apache.logging.log4j:log4j-core", "2.12.2", "GHSA-7rjr-3q55-vv33", false),
        (Ecosystem::CratesIo, "smallvec", "1.6.0", "RUSTSEC-2021-0003", true),
        (Ecosystem::CratesIo, "smallvec", "1.6.1", "RUSTSEC-2021-0003", false),
        (Ecosystem::Go, "golang.org/x/net", "v0.22.0", "GO-2024-2687", true),
        (Ecosystem::Go, "golang.org/x/net", "v0.23.0", "GO-2024-2687", false),
        (Ecosystem::Npm, "minimist", "0.2.4", "GHSA-xvch-5gv4-984h", false),
        (Ecosystem::Npm, "minimist", "1.2.5", "GHSA-xvch-5gv4-984h", true),
        (Ecosystem::Npm, "lodash", "4.17.15", "NPM-ADV-516", true),
        (Ecosystem::Npm, "lodash", "4.17.21", "NPM-ADV-516", false),
    ];
    for (eco, name, version, id, want) in cases {
        let f = match_packages(&index, None, &[pkg(*eco, name, version, None)]).unwrap();
        let got = f.iter().any(|f| f.advisory_id == *id);
        assert_eq!(got, *want, "{eco} {name} {version} {id}");
    }
    let pysec = match_packages(&index, None, &[pkg(Ecosystem::PyPI, "Django", "3.2.0", None)]).unwrap();
    assert_eq!(pysec.len(), 25, "README: 25 PyPI advisories affect Django 3.2.0");
}
