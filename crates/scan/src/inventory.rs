//! The images of a Docker Engine, as the store's inventory rows. ImageID is the config digest
//! (what Docker calls the image id); every repo tag is kept.

use crate::Error;
use bollard::Docker;
use bollard::query_parameters::{ListContainersOptions, ListImagesOptions};
use std::collections::HashMap;
use store::scan_tasks::ImageAsset;

/// Source name of inventory rows from the Docker Engine.
pub const DOCKER_SOURCE: &str = "docker";

/// Connects to `host` (`unix://…`, `tcp://…`), else `DOCKER_HOST`, else the local socket.
pub fn connect(host: Option<&str>) -> Result<Docker, Error> {
    let err = |e: bollard::errors::Error| Error::Docker(format!("connect: {e}"));
    let host = host.map(str::to_string).or_else(|| std::env::var("DOCKER_HOST").ok()).filter(|h| !h.is_empty());
    match host {
        None => Docker::connect_with_local_defaults().map_err(err),
        Some(h) if h.starts_with("unix://") || h.starts_with('/') => {
            Docker::connect_with_unix(&h, 120, bollard::API_DEFAULT_VERSION).map_err(err)
        }
        Some(h) if h.starts_with("tcp://") || h.starts_with("http://") => {
            Docker::connect_with_http(&h, 120, bollard::API_DEFAULT_VERSION).map_err(err)
        }
        Some(h) => Err(Error::Docker(format!("unsupported docker host {h:?} (use unix:// or tcp://)"))),
    }
}

/// Lists the engine's images with their containers, layers and history.
pub async fn docker_images(docker: &Docker) -> Result<Vec<ImageAsset>, Error> {
    let derr = |what: &'static str| move |e: bollard::errors::Error| Error::Docker(format!("{what}: {e}"));
    let images = docker.list_images(Some(ListImagesOptions { all: false, ..Default::default() })).await.map_err(derr("list images"))?;
    let containers =
        docker.list_containers(Some(ListContainersOptions { all: true, ..Default::default() })).await.map_err(derr("list containers"))?;
    let mut counts: HashMap<String, (u64, u64)> = HashMap::new();
    for c in &containers {
        let Some(id) = c.image_id.clone() else { continue };
        let e = counts.entry(id).or_default();
        e.0 += 1;
        if c.state.as_ref().map(|s| s.to_string()).as_deref() == Some("running") {
            e.1 += 1;
        }
    }
    let mut out = Vec::with_capacity(images.len());
    for s in images {
        let id = s.id.clone();
        // An image removed between list and inspect is simply not in this refresh.
        let Ok(inspect) = docker.inspect_image(&id).await else { continue };
        let history = docker.image_history(&id).await.unwrap_or_default();
        let mut steps: Vec<String> = history
            .iter()
            .rev()
            .map(|h| {
                let created = if h.created > 0 { store::scan_tasks::format_utc(h.created) } else { String::new() };
                format!("# {created}\n{}", h.created_by.trim())
            })
            .collect();
        steps.retain(|s| !s.trim().is_empty());
        let (containers, running) = counts.get(&id).copied().unwrap_or_default();
        let mut names: Vec<String> = s.repo_tags.iter().filter(|t| t.as_str() != "<none>:<none>").cloned().collect();
        names.sort();
        let mut digests: Vec<String> = s.repo_digests.iter().filter(|t| !t.starts_with("<none>")).cloned().collect();
        digests.sort();
        out.push(ImageAsset {
            image_id: id,
            names,
            repo_digests: digests,
            size: u64::try_from(s.size).unwrap_or(0),
            created: inspect.created.clone().unwrap_or_default(),
            os: inspect.os.clone().unwrap_or_default(),
            architecture: inspect.architecture.clone().unwrap_or_default(),
            author: inspect.author.clone().unwrap_or_default(),
            history: steps.join("\n"),
            layers: inspect.root_fs.as_ref().and_then(|r| r.layers.clone()).unwrap_or_default(),
            container_cnt: containers,
            running_cnt: running,
            source: DOCKER_SOURCE.into(),
        });
    }
    out.sort_by(|a, b| a.image_id.cmp(&b.image_id));
    Ok(out)
}

/// Refreshes every account's Docker inventory from the engine (the server's engine is the
/// same for all accounts).
pub async fn refresh(store: &store::Store, docker: &Docker) -> Result<usize, Error> {
    let assets = docker_images(docker).await?;
    for account in store.account_ids().await? {
        store.sync_image_assets(account, DOCKER_SOURCE, &assets).await?;
    }
    Ok(assets.len())
}
