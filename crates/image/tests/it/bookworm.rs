//! shipshape-test/bookworm-app:1 read from all four sources: same identity everywhere, and
//! the whiteout of layer 5 reported through merge.

use crate::common::{WantsAll, service, testimage, walk_all};
use image::{OpenOptions, RegistryAuth, Source};
use std::sync::Arc;

const NAME: &str = "shipshape-test/bookworm-app:1";

async fn identity(source: Source, opts: OpenOptions) -> (String, Vec<String>, image::Image) {
    let img = image::open(&source, &opts).await.unwrap_or_else(|e| panic!("{source:?}: {e}"));
    let i = img.image().clone();
    (i.id.clone(), i.layers.iter().map(|l| l.diff_id.clone()).collect(), i)
}

#[tokio::test(flavor = "multi_thread")]
async fn docker_archive_walk_reports_deleted_file() {
    let Some(path) = testimage("bookworm-app.docker.tar") else {
        return;
    };
    let img = Arc::new(image::open(&Source::DockerArchive { path, reference: None }, &OpenOptions::default()).await.unwrap());
    let i = img.image();
    assert_eq!(i.repo_tags, vec![NAME]);
    assert!(i.layers.len() >= 5);
    assert_eq!(i.os, "linux");
    let analyzer = Arc::new(WantsAll::default());
    let layers = walk_all(img.clone(), analyzer).await;
    let content = layer::merge(&layers);
    let old = content.risks.iter().find(|r| r.location.path == "/app/config/old_credentials.json").expect("old creds seen");
    assert_eq!(old.location.layer_index, 3);
    assert_eq!(old.deleted_in_layer, Some(4), "whited out in the 5th layer");
    let settings = content.risks.iter().find(|r| r.location.path == "/app/config/settings.py").expect("settings seen");
    assert_eq!(settings.deleted_in_layer, None);
    assert_eq!(layer::file_layer(&layers, "app/config/old_credentials.json"), None);
    assert_eq!(layer::file_layer(&layers, "var/lib/dpkg/status"), Some(0));
    // os-release style lookup inside the image root.
    let resolved = layer::resolve_symlink(&content.symlinks, "etc/os-release").unwrap();
    assert!(layer::file_layer(&layers, &resolved).is_some(), "{resolved}");
}

#[tokio::test(flavor = "multi_thread")]
async fn all_sources_agree() {
    let Some(archive) = testimage("bookworm-app.docker.tar") else {
        return;
    };
    let (id, diff_ids, first) =
        identity(Source::DockerArchive { path: archive, reference: Some(NAME.into()) }, OpenOptions::default()).await;
    assert!(id.starts_with("sha256:"));

    if let Some(dir) = testimage("bookworm-app.oci") {
        let (oid, odiffs, oimg) = identity(Source::OciLayout { dir, reference: Some(NAME.into()) }, OpenOptions::default()).await;
        // skopeo converts the Docker config to an OCI config (new bytes, so a new id): the
        // layers and the meaningful config must still be the same.
        assert!(oid.starts_with("sha256:"));
        assert_eq!(odiffs, diff_ids, "OCI layout");
        assert_eq!(oimg.config, first.config);
        assert_eq!(oimg.history, first.history);
        assert!(oimg.manifest_digest.is_some());
    }
    if let Some(host) = service("SHIPSHAPE_TEST_REGISTRY") {
        let opts = OpenOptions { insecure: true, ..Default::default() };
        let (rid, rdiffs, rimg) = identity(Source::Registry { reference: format!("{host}/{NAME}") }, opts).await;
        assert_eq!((&rid, &rdiffs), (&id, &diff_ids), "anonymous registry");
        assert!(rimg.repo_digests[0].contains("@sha256:"));
    }
    if let Some(host) = service("SHIPSHAPE_TEST_REGISTRY_AUTH") {
        let reference = format!("{host}/{NAME}");
        let denied =
            image::open(&Source::Registry { reference: reference.clone() }, &OpenOptions { insecure: true, ..Default::default() }).await;
        assert!(matches!(denied, Err(image::Error::Unauthorized(_))), "{denied:?}");
        let auth = RegistryAuth::Basic {
            username: service("SHIPSHAPE_TEST_REGISTRY_USER").unwrap_or_default(),
            password: service("SHIPSHAPE_TEST_REGISTRY_PASSWORD").unwrap_or_default(),
        };
        let (aid, adiffs, _) = identity(Source::Registry { reference }, OpenOptions { insecure: true, auth, ..Default::default() }).await;
        assert_eq!((&aid, &adiffs), (&id, &diff_ids), "basic-auth registry");
    }
    if let Some(host) = service("SHIPSHAPE_TEST_DOCKER") {
        let opts = OpenOptions { docker_host: Some(host), ..Default::default() };
        let (did, ddiffs, dimg) = identity(Source::Docker { name: NAME.into() }, opts).await;
        assert_eq!((&did, &ddiffs), (&id, &diff_ids), "docker engine");
        assert!(dimg.repo_tags.iter().any(|t| t == NAME));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_and_docker_layers_walk() {
    // Layers pulled from the registry (gzip, digest-checked) and from a Docker export (spooled)
    // give the same per-layer file lists as the archive.
    let Some(archive) = testimage("bookworm-app.docker.tar") else {
        return;
    };
    let Some(host) = service("SHIPSHAPE_TEST_REGISTRY") else {
        return;
    };
    let Some(docker) = service("SHIPSHAPE_TEST_DOCKER") else {
        return;
    };
    let base = Arc::new(image::open(&Source::DockerArchive { path: archive, reference: None }, &OpenOptions::default()).await.unwrap());
    let reg = Arc::new(
        image::open(&Source::Registry { reference: format!("{host}/{NAME}") }, &OpenOptions { insecure: true, ..Default::default() })
            .await
            .unwrap(),
    );
    let dock = Arc::new(
        image::open(&Source::Docker { name: NAME.into() }, &OpenOptions { docker_host: Some(docker), ..Default::default() }).await.unwrap(),
    );
    let a = walk_all(base, Arc::new(WantsAll::default())).await;
    let b = walk_all(reg, Arc::new(WantsAll::default())).await;
    let c = walk_all(dock, Arc::new(WantsAll::default())).await;
    for ((x, y), z) in a.iter().zip(&b).zip(&c) {
        assert_eq!(x.files, y.files);
        assert_eq!(x.whiteouts, y.whiteouts);
        assert_eq!(x.files, z.files);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_things_are_typed_errors() {
    let err = image::open(&Source::DockerArchive { path: "/nonexistent/x.tar".into(), reference: None }, &OpenOptions::default()).await;
    assert!(matches!(err, Err(image::Error::NotFound(_))), "{err:?}");
    let Some(archive) = testimage("bookworm-app.docker.tar") else {
        return;
    };
    let err = image::open(&Source::DockerArchive { path: archive, reference: Some("nope:1".into()) }, &OpenOptions::default()).await;
    assert!(matches!(err, Err(image::Error::NotFound(_))), "{err:?}");
    if let Some(host) = service("SHIPSHAPE_TEST_DOCKER") {
        let opts = OpenOptions { docker_host: Some(host), ..Default::default() };
        let err = image::open(&Source::Docker { name: "shipshape-test/absent:0".into() }, &opts).await;
        assert!(matches!(err, Err(image::Error::NotFound(_))), "{err:?}");
    }
}
