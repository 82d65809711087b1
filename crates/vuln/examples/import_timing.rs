//! One import of a path into memory, timed, then `N` matches of a 5,000-package report:
//! `cargo run --release -p vuln --example import_timing -- PATH [N]`. Prints wall and CPU
//! time (CPU from /proc/self/stat, so a busy shared machine does not inflate it).
//! Wrap in `/usr/bin/time` for peak RSS (bench/vuln-import.sh does).

use model::{Distribution, Ecosystem, Location, Package};
use vuln::{Event, import};

include!("../benches/common/report5000.rs");

/// user + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "../shared/vulndata".into());
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let (t, c) = (std::time::Instant::now(), cpu_seconds());
    let sources = match import::load_path(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("import failed: {e}");
            std::process::exit(2);
        }
    };
    let (mut advs, mut files, mut problems, mut skipped) = (0, 0, 0, 0);
    for s in &sources {
        advs += s.advisories.len();
        files += s.files_imported;
        problems += s.problems.len();
        skipped += s.skipped.len();
    }
    let heavy = report(&sources, 2500);
    let typical = report(&sources, 250);
    let index = vuln::MemoryIndex::from_sources(sources);
    println!(
        "import: {advs} advisories from {files} files ({problems} bad, {skipped} skipped); wall {:.2}s, cpu {:.2}s",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - c
    );
    let dist = Distribution { id: "debian".into(), version_id: "12".into(), ..Default::default() };
    for (label, packages) in [("2,500 named by advisories", &heavy), ("250 named by advisories", &typical)] {
        if rounds == 0 {
            break;
        }
        let n = vuln::match_packages(&index, Some(&dist), packages).map(|f| f.len()).unwrap_or(0);
        let (t, c) = (std::time::Instant::now(), cpu_seconds());
        for _ in 0..rounds {
            std::hint::black_box(vuln::match_packages(&index, Some(&dist), packages).ok());
        }
        println!(
            "match 5,000 packages, {label} ({n} findings): wall {:.1} ms, cpu {:.1} ms per report ({rounds} rounds)",
            t.elapsed().as_secs_f64() * 1000.0 / rounds as f64,
            (cpu_seconds() - c) * 1000.0 / rounds as f64
        );
    }
}
