//! The hostile image (../shared/testimages/build-hostile.sh) read through both file sources.

use crate::common::{WantsAll, testimage, walk_all};
use std::sync::Arc;

async fn check(source: image::Source) {
    let img = Arc::new(image::open(&source, &image::OpenOptions::default()).await.unwrap());
    assert_eq!(img.image().layers.len(), 2);
    let seen = Arc::new(WantsAll::default());
    let layers = walk_all(img.clone(), seen.clone()).await;
    let content = layer::merge(&layers);
    let seen = seen.seen.lock().unwrap();

    // 1 GiB of zeros: read only up to the 64 MiB cap, flagged truncated.
    let zeros = seen.iter().find(|s| s.0 == "big/zeros-1GiB.bin").expect("zeros file analysed");
    assert_eq!((zeros.1, zeros.2), (64 << 20, true));
    // 50,000 files in one directory.
    let file = |p: &str| layer::file_layer(&layers, p);
    assert!((0..50_000).all(|i| file(&format!("many/f{i:05}")).is_some()));
    assert_eq!(file("many/f50000"), None);
    // 300-level deep path via PAX.
    assert!(file(&format!("deep{}/bottom.txt", "/d".repeat(299))).is_some());
    // Escaping names: normalised into the image root, with a warning.
    for p in ["escape.txt", "abs-escape.txt", "escape-dir/pwned.txt"] {
        assert!(file(p).is_some(), "{p}");
    }
    assert!(content.warnings.iter().any(|w| w.contains("climbs above the image root")));
    // Specials recorded, never read.
    let specials: Vec<&String> = layers.iter().flat_map(|l| &l.specials).collect();
    assert!(specials.iter().any(|s| *s == "dev/evil-mem"));
    assert!(specials.iter().any(|s| *s == "tmp/fifo"));
    assert!(!seen.iter().any(|s| s.0 == "dev/evil-mem" || s.0 == "tmp/fifo"));
    // Links: resolved inside the root only; loops stop.
    let links = &content.symlinks;
    assert_eq!(layer::resolve_symlink(links, "etc/passwd-link").as_deref(), Some("etc/shadow"));
    assert_eq!(layer::resolve_symlink(links, "etc/abs-link").as_deref(), Some("etc/shadow"));
    assert_eq!(layer::resolve_symlink(links, "loop/a"), None);
    assert_eq!(layer::resolve_symlink(links, "loop/self"), None);
    assert_eq!(layer::resolve_symlink(links, "escape-dir/pwned.txt").as_deref(), Some("tmp/pwned.txt"));
    assert!(content.warnings.iter().any(|w| w.contains("hardlink-outside") && w.contains("not in the image")));
    assert!(content.setuid_files.iter().any(|s| s == "usr-local-bin-suid"));
    // Nothing was written to the host where a naive extractor would have.
    for p in ["/escape.txt", "/abs-escape.txt", "/tmp/pwned.txt", "/hardlink-outside"] {
        assert!(!std::path::Path::new(p).exists(), "{p} exists on the host");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_docker_archive() {
    let Some(path) = testimage("hostile.docker.tar") else {
        return;
    };
    check(image::Source::DockerArchive { path, reference: None }).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_oci_layout() {
    let Some(dir) = testimage("hostile.oci") else {
        return;
    };
    check(image::Source::OciLayout { dir, reference: None }).await;
}
