//! The hostile image (../shared/testimages/build-hostile.sh) read through both file sources.

mod common;

use common::{WantsAll, testimage, walk_all};
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
    assert_eq!(content.files.iter().filter(|f| f.path.starts_with("many/")).count(), 50_000);
    // 300-level deep path via PAX.
    assert!(content.files.iter().any(|f| f.path.ends_with("bottom.txt") && f.path.matches('/').count() >= 300));
    // Escaping names: normalised into the image root, with a warning.
    let paths: Vec<&str> = content.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"escape.txt"), "{:?}", &paths[..5]);
    assert!(paths.contains(&"abs-escape.txt"));
    assert!(paths.contains(&"escape-dir/pwned.txt"));
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
