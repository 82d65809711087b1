//! Entry names and link targets: normalisation never escapes the root; resolution stops.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let p = layer::path::normalize(data);
    assert!(!p.path.starts_with('/') && !p.path.split('/').any(|c| c == ".." || c == "." ));
    // Split the input into link pairs: "path\0target\0path\0target..."
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\0').collect();
    let links: BTreeMap<String, String> = parts
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (layer::path::normalize(c[0].as_bytes()).path, c[1].to_string()))
        .collect();
    for k in links.keys() {
        if let Some(r) = layer::resolve_symlink(&links, k) {
            assert!(!r.starts_with('/') && !r.split('/').any(|c| c == ".."));
        }
    }
});
