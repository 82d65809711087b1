//! Benchmarks: import of all of ../shared/vulndata, and matching a 5,000-package report
//! (half of the packages named by some advisory) against it, warm.
//! Run: `cargo bench -p vuln` (SHIPSHAPE_SHARED overrides the data location).

use criterion::{Criterion, criterion_group, criterion_main};
use model::{Distribution, Ecosystem, Location, Package};
use std::path::PathBuf;
use vuln::{Event, MemoryIndex, import, match_packages};

fn vulndata() -> PathBuf {
    std::env::var_os("SHIPSHAPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("vulndata")
}

/// 2,500 packages that advisories name (at a version inside or at the edge of a range) and
/// 2,500 that no advisory names.
pub fn report(sources: &[import::ParsedSource]) -> Vec<Package> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    'outer: for s in sources {
        for a in &s.advisories {
            for aff in &a.affected {
                let eco = match aff.ecosystem.as_str() {
                    "PyPI" => Ecosystem::PyPI,
                    "npm" => Ecosystem::Npm,
                    "Go" => Ecosystem::Go,
                    "crates.io" => Ecosystem::CratesIo,
                    "Maven" => Ecosystem::Maven,
                    "Debian:12" => Ecosystem::Debian,
                    _ => continue,
                };
                if !seen.insert((aff.ecosystem.clone(), aff.name.clone())) {
                    continue;
                }
                let version = aff
                    .ranges
                    .iter()
                    .flat_map(|r| r.events.iter())
                    .find_map(|e| match e {
                        Event::Fixed(v) | Event::LastAffected(v) => Some(v.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "1.0.0".into());
                out.push(pkg(eco, &aff.name, &version));
                if out.len() == 2500 {
                    break 'outer;
                }
            }
        }
    }
    for i in 0..5000 - out.len() {
        out.push(pkg(if i % 2 == 0 { Ecosystem::Npm } else { Ecosystem::PyPI }, &format!("unlisted-{i}"), "1.2.3"));
    }
    out
}

fn pkg(eco: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        ecosystem: eco,
        name: name.into(),
        version: version.into(),
        source_name: eco.is_os().then(|| name.to_owned()),
        source_version: eco.is_os().then(|| version.to_owned()),
        purl: String::new(),
        licenses: vec![],
        location: Location::default(),
    }
}

fn benches(c: &mut Criterion) {
    let data = vulndata();
    let mut g = c.benchmark_group("vuln");
    g.sample_size(10);
    g.bench_function("import_all_vulndata", |b| b.iter(|| import::load_path(&data).unwrap()));
    let sources = import::load_path(&data).unwrap();
    let packages = report(&sources);
    let index = MemoryIndex::from_sources(sources);
    let dist = Distribution { id: "debian".into(), version_id: "12".into(), ..Default::default() };
    let n = match_packages(&index, Some(&dist), &packages).unwrap().len();
    eprintln!("5,000-package report: {n} findings");
    g.sample_size(30);
    g.bench_function("match_5000_packages_warm", |b| b.iter(|| match_packages(&index, Some(&dist), &packages).unwrap()));
    g.finish();
}

criterion_group!(vuln_benches, benches);
criterion_main!(vuln_benches);
