//! Scans a directory tree (an extracted rootfs) for secrets, for benchmarks against
//! `trivy rootfs --scanners secret`. Usage: `scan_dir [--threads N] DIR`.
//! Symlinks are not followed; files are read up to the secret scanner's size budget.

use secrets::Secrets;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        let p = e.path();
        if ft.is_dir() {
            walk(root, &p, out);
        } else if ft.is_file() {
            let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned();
            out.push((rel, p));
        }
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        threads = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(threads);
        args.drain(i..=(i + 1).min(args.len() - 1));
    }
    let Some(root) = args.first().map(PathBuf::from) else {
        eprintln!("usage: scan_dir [--threads N] DIR");
        std::process::exit(2);
    };
    let secrets = match Secrets::builtin() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    let next = AtomicUsize::new(0);
    let found = AtomicUsize::new(0);
    let max = 32u64 << 20;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut buf = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((rel, p)) = files.get(i) else { break };
                    if !secrets::wanted(rel) {
                        continue;
                    }
                    buf.clear();
                    let Ok(f) = std::fs::File::open(p) else {
                        continue;
                    };
                    if f.take(max).read_to_end(&mut buf).is_err() {
                        continue;
                    }
                    for h in secrets.scan(rel, &buf).hits {
                        found.fetch_add(1, Ordering::Relaxed);
                        println!("{rel}:{} {} {} {}", h.line, h.rule_id, h.category, h.masked);
                    }
                }
            });
        }
    });
    eprintln!("{} files, {} findings", files.len(), found.load(Ordering::Relaxed));
}
