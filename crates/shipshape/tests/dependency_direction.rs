//! The crate graph of ARCHITECTURE.md: `api` depends on no internal crate but `model`.

const INTERNAL: &[&str] =
    &["version", "layer", "image", "catalog", "secrets", "malware", "vuln", "compliance", "store", "scan", "service", "feed"];

fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut out = vec![];
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            out.push(name.trim().split('.').next().unwrap_or("").to_string());
        }
    }
    out
}

#[test]
fn api_depends_only_on_model() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../api/Cargo.toml")).unwrap();
    let deps = dependencies(&manifest);
    assert!(deps.contains(&"model".to_string()));
    for d in &deps {
        assert!(!INTERNAL.contains(&d.as_str()), "api must not depend on `{d}`");
    }
}
