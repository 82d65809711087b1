//! One import of a path into memory, timed: `cargo run --release -p vuln --example import_timing -- PATH`.
//! Wrap in `/usr/bin/time -v` for peak RSS (bench/vuln-import.sh does).

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "../shared/vulndata".into());
    let t = std::time::Instant::now();
    let sources = match vuln::import::load_path(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("import failed: {e}");
            std::process::exit(2);
        }
    };
    let read_parse = t.elapsed();
    let (mut advs, mut files, mut problems, mut skipped) = (0, 0, 0, 0);
    for s in &sources {
        advs += s.advisories.len();
        files += s.files_imported;
        problems += s.problems.len();
        skipped += s.skipped.len();
    }
    let index = vuln::MemoryIndex::from_sources(sources);
    println!(
        "sources imported: {advs} advisories from {files} files ({problems} bad, {skipped} skipped) \
         read+parse {:.2}s, indexed {:.2}s total; index holds {}",
        read_parse.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        index.len()
    );
}
