//! Walk throughput harness for bench/walk.sh.
//!
//!   walkbench gen FILES BYTES     write a generated layer tar to stdout
//!   walkbench walk FILE|-         walk one layer tar (any compression) and print throughput
//!   walkbench image DOCKER_ARCHIVE  walk every layer listed in the archive's manifest.json
//!   walkbench gen-image FILES BYTES OUT  write a one-layer docker-archive holding the generated
//!                                        layer (for `shipshape image sbom` and trivy)
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

/// The generated layer: `files` regular files of `bytes / files` bytes each.
fn gen_layer(files: u64, bytes: u64, out: impl Write) {
    let per = (bytes / files.max(1)) as usize;
    let content = vec![b'x'; per];
    let mut b = tar::Builder::new(std::io::BufWriter::new(out));
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

/// Counts and hashes what is written (the layer's size and diff-id before it is stored).
#[derive(Default)]
struct Sink(u64, sha2::Sha256);
impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        self.0 += b.len() as u64;
        self.1.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A docker-archive with the generated layer, streamed twice (once to size and hash it, once
/// into the archive) so it is never held in memory nor written twice.
fn gen_image(files: u64, bytes: u64, out: &str) {
    use sha2::Digest;
    let mut sink = Sink::default();
    gen_layer(files, bytes, &mut sink);
    let (size, diff_id) = (sink.0, format!("sha256:{}", hex::encode(sink.1.finalize())));
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"history":[{{"created_by":"walkbench gen-image {files}"}}]}}"#
    );
    let config_name = format!("{}.json", hex::encode(sha2::Sha256::digest(config.as_bytes())));
    let manifest = format!(r#"[{{"Config":"{config_name}","RepoTags":["walkbench/many:{files}"],"Layers":["layer/layer.tar"]}}]"#);
    let mut ar = tar::Builder::new(std::io::BufWriter::new(std::fs::File::create(out).expect("create")));
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        ar.append_data(&mut h, name, data).expect("write");
    };
    add("manifest.json", manifest.as_bytes());
    add(&config_name, config.as_bytes());
    let (mut r, w) = std::io::pipe().expect("pipe");
    let writer = std::thread::spawn(move || gen_layer(files, bytes, w));
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    ar.append_data(&mut h, "layer/layer.tar", &mut r).expect("write layer");
    writer.join().expect("generator");
    ar.into_inner().expect("finish").flush().expect("flush");
    eprintln!("{out}: one layer, {files} files, {size} bytes, {diff_id}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            gen_layer(args[2].parse().expect("FILES"), args[3].parse().expect("BYTES"), std::io::stdout().lock());
        }
        Some("gen-image") => gen_image(args[2].parse().expect("FILES"), args[3].parse().expect("BYTES"), &args[4]),
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
        _ => eprintln!("usage: walkbench gen FILES BYTES | gen-image FILES BYTES OUT | walk FILE|- | image DOCKER_ARCHIVE"),
    }
}
