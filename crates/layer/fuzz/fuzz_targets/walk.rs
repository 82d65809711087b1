//! Arbitrary bytes as a layer blob: decompression sniffing, the tar walk (PAX/GNU names,
//! whiteouts, links, caps), then merge and symlink resolution over what it recorded.
//! Must never panic, hang or allocate without bound.
#![no_main]

use layer::{AnalyzeError, Analyzer, AnalyzerSet, FileInput, FileMeta, LayerFindings, WalkOptions};
use libfuzzer_sys::fuzz_target;

struct All;
impl Analyzer for All {
    fn name(&self) -> &'static str {
        "all"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, _: &str, _: &FileMeta) -> bool {
        true
    }
    fn analyze(&self, f: &FileInput<'_>, _: &mut LayerFindings) -> Result<(), AnalyzeError> {
        assert!(f.data.len() as u64 <= 1 << 16);
        assert!(!f.path.starts_with('/') && !f.path.split('/').any(|c| c == ".." || c == "." || c.is_empty()));
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let set = AnalyzerSet::new(vec![Box::new(All)]).unwrap();
    let opts = WalkOptions { max_file_size: 1 << 16, max_layer_size: 1 << 24, ..Default::default() };
    let Ok((reader, _)) = layer::decompress(data, None) else { return };
    let Ok(idx) = layer::walk_layer(reader, "sha256:fuzz", 0, &set, &opts) else { return };
    for p in idx.whiteouts.iter().chain(&idx.opaque_dirs).chain(idx.symlinks.iter().map(|l| &l.path)) {
        assert!(!p.starts_with('/') && !p.split('/').any(|c| c == ".."));
    }
    let content = layer::merge(&[idx.clone(), idx]);
    for l in content.symlinks.keys() {
        if let Some(r) = layer::resolve_symlink(&content.symlinks, l) {
            assert!(!r.starts_with('/') && !r.split('/').any(|c| c == ".."));
        }
    }
});
