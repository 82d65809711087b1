//! A docker-archive indexed once is not read again while its size, mtime and inode stand: the
//! second scan succeeds from the layer cache and the remembered archive index even with every
//! byte of the tar zeroed; a touch or a replacement makes it read (and fail on) the tar again.

use scan::{Cancel, DirCache, Engine, Progress, Scanners};
use sha2::{Digest, Sha256};
use std::fs::{File, FileTimes};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A `docker save`-shaped archive: blobs first, manifest.json last.
fn archive() -> Vec<u8> {
    let status = b"Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n\n";
    let layer = tar_of(&[("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"), ("var/lib/dpkg/status", status)]);
    let lh = sha(&layer);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{lh}")]},
    })
    .to_string();
    let ch = sha(config.as_bytes());
    let manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{ch}"), "RepoTags": ["cache/test:1"], "Layers": [format!("blobs/sha256/{lh}")],
    }])
    .to_string();
    tar_of(&[
        (&format!("blobs/sha256/{lh}"), &layer),
        (&format!("blobs/sha256/{ch}"), config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ])
}

/// Overwrites `path` in place (same inode, same size) with zeros and puts its mtime back.
fn zero_keeping_identity(path: &Path) {
    let m = std::fs::metadata(path).unwrap();
    std::fs::write(path, vec![0u8; m.len() as usize]).unwrap();
    File::options().write(true).open(path).unwrap().set_times(FileTimes::new().set_modified(m.modified().unwrap())).unwrap();
    let after = std::fs::metadata(path).unwrap();
    assert_eq!((after.len(), after.modified().unwrap()), (m.len(), m.modified().unwrap()));
}

async fn scan(engine: &Arc<Engine>, path: &Path, cache: &Path) -> Result<scan::Indexed, scan::Error> {
    let source = image::Source::DockerArchive { path: path.to_path_buf(), reference: None };
    let opts = image::OpenOptions { archive_cache: Some(Arc::new(DirCache::new(cache))), ..Default::default() };
    let scanners = Scanners { packages: true, ..Default::default() };
    scan::index_source(engine, scanners, &source, &opts, &Arc::new(Progress::default()), &Cancel::new()).await.map(|(_, i)| i)
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_archive_reads_nothing_and_changes_invalidate() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cache) = (dir.path().join("img.tar"), dir.path().join("cache"));
    let bytes = archive();
    std::fs::write(&path, &bytes).unwrap();
    let engine = Arc::new(Engine::new(None, Arc::new(DirCache::new(&cache))).unwrap());

    let cold = scan(&engine, &path, &cache).await.unwrap();
    assert_eq!((cold.layers, cold.cached_layers), (1, 0));
    assert!(cold.content.packages.iter().any(|p| p.name == "tzdata"), "{:?}", cold.content.packages);
    // The remembered index is owner-only, like the layer indexes beside it.
    use std::os::unix::fs::PermissionsExt;
    let entries: Vec<_> = walk(&cache.join("archives"));
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(std::fs::metadata(&entries[0]).unwrap().permissions().mode() & 0o777, 0o600);

    // Not one byte of the tar is needed: it is all zeros now, yet the scan is the same.
    zero_keeping_identity(&path);
    let warm = scan(&engine, &path, &cache).await.unwrap();
    assert_eq!((warm.layers, warm.cached_layers, warm.bytes_walked), (1, 1, 0));
    assert_eq!(warm.content.packages, cold.content.packages);

    // A touch invalidates: the zeroed tar is read and has no manifest.
    let later = std::fs::metadata(&path).unwrap().modified().unwrap() + Duration::from_secs(2);
    File::options().write(true).open(&path).unwrap().set_times(FileTimes::new().set_modified(later)).unwrap();
    let err = scan(&engine, &path, &cache).await.expect_err("a touched archive is read again");
    assert!(err.to_string().contains("manifest.json"), "{err}");

    // Restored content re-indexes; then a same-size, same-mtime replacement (a new inode) is read again too.
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(scan(&engine, &path, &cache).await.unwrap().cached_layers, 1);
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let other = dir.path().join("other.tar");
    std::fs::write(&other, vec![0u8; bytes.len()]).unwrap();
    File::options().write(true).open(&other).unwrap().set_times(FileTimes::new().set_modified(mtime)).unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert!(scan(&engine, &path, &cache).await.is_err(), "a replaced archive is read again");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}
