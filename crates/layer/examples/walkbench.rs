//! Walk throughput harness for bench/walk.sh.
//!
//!   walkbench gen FILES BYTES     write a generated layer tar to stdout
//!   walkbench walk FILE|-         walk one layer tar (any compression) and print throughput
//!   walkbench image DOCKER_ARCHIVE  walk every layer listed in the archive's manifest.json
//!
//! The analyzer set mimics the catalog's path tests (dpkg, python, npm, os-release) and reads
//! what it is given, so the numbers include content reads for wanted files.

use layer::{AnalyzeError, Analyzer, AnalyzerSet, FileInput, FileMeta, LayerFindings, WalkOptions};
use std::io::{Read, Write};
use std::time::Instant;

struct Like(&'static str, fn(&str) -> bool);
impl Analyzer for Like {
    fn name(&self) -> &'static str {
        self.0
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, p: &str, _: &FileMeta) -> bool {
        (self.1)(p)
    }
    fn analyze(&self, f: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        // Touch every byte so reads are not optimised away.
        let lines = f.data.iter().filter(|b| **b == b'\n').count();
        if lines == usize::MAX {
            out.warnings.push(String::new());
        }
        Ok(())
    }
}

fn set() -> AnalyzerSet {
    AnalyzerSet::new(vec![
        Box::new(Like("dpkg", |p| p == "var/lib/dpkg/status" || p.starts_with("var/lib/dpkg/status.d/"))),
        Box::new(Like("python", |p| p.ends_with(".dist-info/METADATA") || p.ends_with(".egg-info/PKG-INFO"))),
        Box::new(Like("npm", |p| p.ends_with("/package.json") && p.contains("node_modules/"))),
        Box::new(Like("os", |p| p == "etc/os-release" || p == "usr/lib/os-release")),
    ])
    .expect("unique names")
}

fn walk(r: impl Read, label: &str, set: &AnalyzerSet) -> (u64, u64) {
    let (tar, _) = layer::decompress(r, None).expect("decompress");
    let t = Instant::now();
    let idx = layer::walk_layer(tar, label, 0, set, &WalkOptions::default()).expect("walk");
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "{label}: {} entries, {:.1} MB in {s:.2}s = {:.0} MB/s, {:.0} entries/s",
        idx.entries,
        idx.bytes as f64 / 1e6,
        idx.bytes as f64 / 1e6 / s,
        idx.entries as f64 / s
    );
    (idx.entries, idx.bytes)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            let files: u64 = args[2].parse().expect("FILES");
            let bytes: u64 = args[3].parse().expect("BYTES");
            let per = (bytes / files.max(1)) as usize;
            let content = vec![b'x'; per];
            let mut b = tar::Builder::new(std::io::BufWriter::new(std::io::stdout().lock()));
            for i in 0..files {
                let mut h = tar::Header::new_gnu();
                h.set_size(per as u64);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Regular);
                // Every 1000th file looks like a package metadata file, so analyzers run too.
                let name = if i % 1000 == 0 {
                    format!("usr/lib/python3/dist-packages/p{i}.dist-info/METADATA")
                } else {
                    format!("data/d{}/f{i}", i % 500)
                };
                b.append_data(&mut h, name, &content[..]).expect("write");
            }
            b.into_inner().expect("finish").flush().expect("flush");
        }
        Some("walk") => {
            let set = set();
            if args[2] == "-" {
                walk(std::io::stdin().lock(), "stdin", &set);
            } else {
                walk(std::fs::File::open(&args[2]).expect("open"), &args[2], &set);
            }
        }
        Some("image") => {
            // A docker-archive: walk each member named in manifest.json, in order.
            let set = set();
            let path = &args[2];
            let t = Instant::now();
            let mut ar = tar::Archive::new(std::fs::File::open(path).expect("open"));
            let (mut entries, mut bytes) = (0, 0);
            for e in ar.entries().expect("tar") {
                let e = e.expect("entry");
                let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
                if name.ends_with("layer.tar") || name.starts_with("blobs/") && e.size() > 1024 {
                    let (n, b) = walk(e, &name, &set);
                    entries += n;
                    bytes += b;
                }
            }
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "image total: {entries} entries, {:.1} MB in {s:.2}s = {:.0} MB/s, {:.0} entries/s",
                bytes as f64 / 1e6,
                bytes as f64 / 1e6 / s,
                entries as f64 / s
            );
        }
        _ => eprintln!("usage: walkbench gen FILES BYTES | walk FILE|- | image DOCKER_ARCHIVE"),
    }
}
