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

include!("common/report5000.rs");

fn benches(c: &mut Criterion) {
    let data = vulndata();
    let mut g = c.benchmark_group("vuln");
    g.sample_size(10);
    g.bench_function("import_all_vulndata", |b| b.iter(|| import::load_path(&data).unwrap()));
    let sources = import::load_path(&data).unwrap();
    let packages = report(&sources, 2500);
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
