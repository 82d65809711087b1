//! The fuzz targets' properties (crates/layer/fuzz) as proptests, so stable CI exercises them.

use layer::{AnalyzeError, Analyzer, AnalyzerSet, FileInput, FileMeta, LayerFindings, WalkOptions};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn inside(p: &str) -> bool {
    !p.starts_with('/') && !p.split('/').any(|c| c == ".." || c == ".")
}

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
        assert!(inside(f.path) && f.data.len() <= 4096);
        Ok(())
    }
}

/// (name, link target, type byte, data) of one raw tar entry.
type RawEntry = (Vec<u8>, Vec<u8>, u8, Vec<u8>);

/// A tar with the given entries, names written raw.
fn raw_tar(entries: &[RawEntry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, link, kind, data) in entries {
        let mut h = tar::Header::new_ustar();
        let n = name.len().min(100);
        h.as_old_mut().name[..n].copy_from_slice(&name[..n]);
        let l = link.len().min(100);
        h.as_old_mut().linkname[..l].copy_from_slice(&link[..l]);
        h.set_entry_type(tar::EntryType::new(*kind));
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![&b"a"[..], b"..", b".", b"/", b".wh.", b".wh..wh..opq", b"b", b"\xff"]), 0..12)
        .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn normalised_names_stay_inside(raw in prop::collection::vec(any::<u8>(), 0..300)) {
        prop_assert!(inside(&layer::path::normalize(&raw).path));
    }

    #[test]
    fn walk_never_escapes_or_panics(entries in prop::collection::vec(
        (name(), name(), prop::sample::select(vec![b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'x', b'L']), prop::collection::vec(any::<u8>(), 0..5000)), 0..20)) {
        let data = raw_tar(&entries);
        let set = AnalyzerSet::new(vec![Box::new(All)]).unwrap();
        let opts = WalkOptions { max_file_size: 4096, ..Default::default() };
        if let Ok(idx) = layer::walk_layer(&data[..], "d", 0, &set, &opts) {
            for p in idx.whiteouts.iter().chain(&idx.opaque_dirs).chain(idx.symlinks.iter().map(|l| &l.path)) {
                prop_assert!(inside(p));
            }
            let content = layer::merge(&[idx.clone(), idx]);
            for k in content.symlinks.keys() {
                if let Some(r) = layer::resolve_symlink(&content.symlinks, k) {
                    prop_assert!(inside(&r));
                }
            }
        }
    }

    #[test]
    fn resolution_terminates_inside(pairs in prop::collection::vec((name(), name()), 0..20), probe in name()) {
        let links: BTreeMap<String, String> = pairs.iter()
            .map(|(a, b)| (layer::path::normalize(a).path, String::from_utf8_lossy(b).into_owned()))
            .collect();
        let probe = String::from_utf8_lossy(&probe).into_owned();
        if let Some(r) = layer::resolve_symlink(&links, &probe) {
            prop_assert!(inside(&r));
        }
    }

    #[test]
    fn arbitrary_bytes_do_not_panic(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let set = AnalyzerSet::new(vec![Box::new(All)]).unwrap();
        if let Ok((r, _)) = layer::decompress(&data[..], None) {
            let _ = layer::walk_layer(r, "d", 0, &set, &WalkOptions { max_file_size: 4096, ..Default::default() });
        }
    }
}
