//! An OCI layout built in the test: a multi-arch index, a gzip layer and a zstd layer with a
//! whiteout. Checks platform choice, decompression, digest verification and merge.

use crate::common::{WantsAll, walk_all};
use image::{OpenOptions, Source};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

fn digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn put(dir: &Path, b: &[u8]) -> String {
    let d = digest(b);
    std::fs::write(dir.join("blobs/sha256").join(&d[7..]), b).unwrap();
    d
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Returns (layout dir, amd64 config digest, diff ids).
fn build(dir: &Path) -> (String, Vec<String>) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let l1 = tar_of(&[("etc/os-release", b"ID=test\n"), ("app/secret.txt", b"s3cret")]);
    let l2 = tar_of(&[("app/.wh.secret.txt", b""), ("app/new.txt", b"hello")]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&l1).unwrap();
    let l1c = gz.finish().unwrap();
    let l2c = zstd::stream::encode_all(&l2[..], 3).unwrap();
    let diff_ids = vec![digest(&l1), digest(&l2)];
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"User": "1000", "Env": ["A=1"], "Cmd": ["/app/run"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "one"}, {"created_by": "two"}]
    });
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = put(dir, &config);
    let layers = [
        ("application/vnd.oci.image.layer.v1.tar+gzip", put(dir, &l1c), l1c.len()),
        ("application/vnd.oci.image.layer.v1.tar+zstd", put(dir, &l2c), l2c.len()),
    ];
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers.iter().map(|(t, d, s)| serde_json::json!({"mediaType": t, "digest": d, "size": s})).collect::<Vec<_>>()
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let md = put(dir, &manifest);
    // An arm64 entry pointing at a manifest that is not there: choosing it would fail.
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(b"absent"), "size": 6,
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
             "platform": {"os": "linux", "architecture": "amd64"}}
        ]
    });
    let index = serde_json::to_vec(&index).unwrap();
    let id = put(dir, &index);
    let top = serde_json::json!({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": id, "size": index.len(),
         "annotations": {"org.opencontainers.image.ref.name": "example/multi:2"}}
    ]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    (config_digest, diff_ids)
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_and_zstd_layers_in_a_multi_arch_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let (config_digest, diff_ids) = build(tmp.path());
    let src = Source::OciLayout { dir: tmp.path().into(), reference: Some("example/multi:2".into()) };
    let img = Arc::new(image::open(&src, &OpenOptions::default()).await.unwrap());
    assert_eq!(img.image().id, config_digest);
    assert_eq!(img.image().repo_tags, vec!["example/multi:2"]);
    assert_eq!(img.image().config.user, "1000");
    let got: Vec<_> = img.image().layers.iter().map(|l| l.diff_id.clone()).collect();
    assert_eq!(got, diff_ids);
    let layers = walk_all(img, Arc::new(WantsAll::default())).await;
    assert_eq!(layers[1].whiteouts, vec!["app/secret.txt"]);
    let content = layer::merge(&layers);
    let files: Vec<_> = ["app/new.txt", "etc/os-release", "app/secret.txt"].map(|p| layer::file_layer(&layers, p)).into();
    assert_eq!(files, vec![Some(1), Some(0), None]);
    assert!(!content.partial);

    // The arm64 manifest is absent: asking for it is a typed error.
    let arm = OpenOptions { platform: "linux/arm64".parse().unwrap(), ..Default::default() };
    let err = image::open(&src, &arm).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupted_layer_blob_fails_its_digest() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let src = Source::OciLayout { dir: tmp.path().into(), reference: None };
    let img = image::open(&src, &OpenOptions::default()).await.unwrap();
    let blob = &img.image().layers[1].digest.clone().unwrap();
    let path = tmp.path().join("blobs/sha256").join(&blob[7..]);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let mut r = img.layer_reader(1).unwrap();
    let err = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}
