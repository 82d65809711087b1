//! The Docker Engine: `inspect` for names, the images-export API for content.
//!
//! The export is one tar stream with `manifest.json` written last and layers in an order
//! unrelated to the image's, so it is spooled, member by member, into a temp dir (bounded by
//! `OpenOptions::spool_budget`) and then read like a docker-archive. Memory stays flat; disk
//! holds the layers of this one image until the `OpenedImage` is dropped.

use crate::archive;
use crate::config::Image;
use crate::{Error, Member, OpenOptions};
use bollard::Docker;
use futures::TryStreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

const TIMEOUT_SECS: u64 = 3600;

fn connect(host: Option<&str>) -> Result<Docker, Error> {
    let err = |e: bollard::errors::Error| map_err("connect", e);
    let host = host.map(str::to_string).or_else(|| std::env::var("DOCKER_HOST").ok()).filter(|h| !h.is_empty());
    match host {
        None => Docker::connect_with_local_defaults().map_err(err),
        Some(h) if h.starts_with("unix://") || h.starts_with('/') => {
            Docker::connect_with_unix(&h, TIMEOUT_SECS, bollard::API_DEFAULT_VERSION).map_err(err)
        }
        Some(h) if h.starts_with("tcp://") || h.starts_with("http://") => {
            Docker::connect_with_http(&h, TIMEOUT_SECS, bollard::API_DEFAULT_VERSION).map_err(err)
        }
        Some(h) => Err(Error::Unsupported(format!("docker host {h:?} (use unix:// or tcp://)"))),
    }
}

fn map_err(what: &str, e: bollard::errors::Error) -> Error {
    match &e {
        bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => Error::NotFound(format!("{what}: {e}")),
        bollard::errors::Error::DockerResponseServerError { status_code: 401 | 403, .. } => Error::Unauthorized(format!("{what}: {e}")),
        _ if never_connected(&e) => Error::EngineUnreachable(format!("{what}: {e}")),
        _ => Error::Docker(format!("{what}: {e}")),
    }
}

/// The connection to the engine was never made (no socket, refused): the engine is down or
/// restarting. A request cut off once sent (the engine died mid-answer) is not this.
fn never_connected(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as B;
    match e {
        B::SocketNotFoundError(_) => true,
        B::HyperLegacyError { err } => err.is_connect(),
        B::IOError { err } => matches!(err.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound),
        _ => false,
    }
}

pub(crate) async fn open(name: &str, opts: &OpenOptions) -> Result<(Image, Vec<Member>, tempfile::TempDir), Error> {
    let docker = connect(opts.docker_host.as_deref())?;
    let inspect = docker.inspect_image(name).await.map_err(|e| map_err(name, e))?;
    let id = inspect.id.clone().ok_or_else(|| Error::Docker(format!("{name}: inspect gave no image id")))?;
    let spool = match &opts.spool_dir {
        Some(d) => tempfile::Builder::new().prefix("shipshape-export").tempdir_in(d),
        None => tempfile::Builder::new().prefix("shipshape-export").tempdir(),
    }
    .map_err(Error::io("creating the spool dir"))?;
    let stream = Box::pin(docker.export_image(name).map_err(std::io::Error::other));
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let dir = spool.path().to_path_buf();
    let budget = opts.spool_budget;
    let members = tokio::task::spawn_blocking(move || archive::spool_stream(reader, &dir, budget))
        .await
        .map_err(|e| Error::Docker(format!("export task: {e}")))??;
    let (mut image, layers) = archive::load(&members, None)?;
    if image.id != id {
        return Err(Error::Malformed(format!("export of {name} holds image {}, inspect says {id}", image.id)));
    }
    image.repo_tags = inspect.repo_tags.unwrap_or_default();
    image.repo_digests = inspect.repo_digests.unwrap_or_default();
    Ok((image, layers, spool))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No engine at the address: `EngineUnreachable` (the worker retries later), not a failure of the image.
    #[tokio::test]
    async fn no_engine_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        // A socket file nobody listens on (connection refused), and no socket file at all.
        let refused = dir.path().join("refused.sock");
        drop(std::os::unix::net::UnixListener::bind(&refused).unwrap());
        for host in [format!("unix://{}", refused.display()), format!("unix://{}", dir.path().join("absent.sock").display())] {
            let opts = OpenOptions { docker_host: Some(host.clone()), ..Default::default() };
            let Err(err) = open("busybox:latest", &opts).await else { panic!("{host}: no engine there, yet it opened") };
            assert!(err.is_engine_unreachable(), "{host}: {err:?}");
        }
    }
}
