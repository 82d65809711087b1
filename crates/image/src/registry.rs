//! OCI distribution registries, through `oci-client` (anonymous, basic, bearer; the token
//! dance for `WWW-Authenticate: Bearer` is the client's).

use crate::config::{Image, parse_config};
use crate::verify::{VerifyingReader, sha256_digest};
use crate::{Error, OpenOptions, RegistryAuth};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::{Client, Reference};
use std::io::Read;
use std::sync::Arc;
use tokio_util::io::{StreamReader, SyncIoBridge};

/// An opened registry image: the client (keeps its auth tokens) and the layer descriptors.
pub(crate) struct Remote {
    client: Arc<Client>,
    reference: Reference,
    layers: Vec<OciDescriptor>,
    handle: tokio::runtime::Handle,
}

fn map_err(what: &str, e: oci_client::errors::OciDistributionError) -> Error {
    use oci_client::errors::OciDistributionError as E;
    let msg = format!("{what}: {e}");
    match &e {
        E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => Error::Unauthorized(msg),
        E::ImageManifestNotFoundError(_) => Error::NotFound(msg),
        E::ServerError { code: 401 | 403, .. } => Error::Unauthorized(msg),
        E::ServerError { code: 404, .. } => Error::NotFound(msg),
        _ => {
            let lower = msg.to_ascii_lowercase();
            if lower.contains("unauthorized") || lower.contains("denied") {
                Error::Unauthorized(msg)
            } else if lower.contains("unknown") || lower.contains("not found") {
                Error::NotFound(msg)
            } else {
                Error::Registry(msg)
            }
        }
    }
}

fn client(opts: &OpenOptions) -> Client {
    let platform = opts.platform.clone();
    let config = ClientConfig {
        protocol: if opts.insecure { ClientProtocol::Http } else { ClientProtocol::Https },
        platform_resolver: Some(Box::new(move |entries| {
            entries
                .iter()
                .find(|e| {
                    e.platform.as_ref().is_some_and(|p| {
                        p.os.to_string() == platform.os
                            && p.architecture.to_string() == platform.architecture
                            && (platform.variant.is_none() || p.variant.is_none() || p.variant == platform.variant)
                    })
                })
                .map(|e| e.digest.clone())
        })),
        ..Default::default()
    };
    Client::new(config)
}

fn auth(opts: &OpenOptions) -> oci_client::secrets::RegistryAuth {
    match &opts.auth {
        RegistryAuth::Anonymous => oci_client::secrets::RegistryAuth::Anonymous,
        RegistryAuth::Basic { username, password } => oci_client::secrets::RegistryAuth::Basic(username.clone(), password.clone()),
        RegistryAuth::Bearer(t) => oci_client::secrets::RegistryAuth::Bearer(t.clone()),
    }
}

/// Page size asked of `/v2/_catalog` and `/tags/list` (Docker Hub's cap; registries may return
/// fewer, so paging goes on until an empty page).
const PAGE: usize = 100;

/// Follows `n`/`last` paging to an empty page, or to a page with nothing new (a registry that
/// ignores `last` would repeat its first page forever). A page shorter than asked is not the
/// end: registries may cap `n` lower.
async fn all_pages<F, Fut>(mut fetch: F) -> Result<Vec<String>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>, Error>>,
{
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    loop {
        let page = fetch(out.last().cloned()).await?;
        let before = out.len();
        out.extend(page.into_iter().filter(|x| !x.is_empty() && seen.insert(x.clone())));
        if out.len() == before {
            return Ok(out);
        }
    }
}

/// Every `HOST/REPO:TAG` of a registry: the repositories given, or all of `/v2/_catalog`.
pub async fn list_references(host: &str, repositories: Option<&[String]>, opts: &OpenOptions) -> Result<Vec<String>, Error> {
    let client = client(opts);
    let auth = auth(opts);
    let probe = |repo: &str| -> Result<Reference, Error> {
        format!("{host}/{repo}").parse().map_err(|e| Error::InvalidReference(format!("{host}/{repo}: {e}")))
    };
    let (client, auth) = (&client, &auth);
    let repos = match repositories {
        Some(r) => r.to_vec(),
        None => {
            let at = &probe("catalog")?;
            all_pages(move |last| async move {
                let page = client.catalog(at, auth, Some(PAGE), last.as_deref()).await;
                Ok(page.map_err(|e| map_err(&format!("{host} catalog"), e))?.repositories)
            })
            .await?
        }
    };
    let mut out = Vec::new();
    for repo in repos {
        let at = &probe(&repo)?;
        let repo = repo.as_str();
        let tags = all_pages(move |last| async move {
            let page = client.list_tags(at, auth, Some(PAGE), last.as_deref()).await;
            Ok(page.map_err(|e| map_err(&format!("{host}/{repo} tags"), e))?.tags)
        })
        .await?;
        out.extend(tags.into_iter().map(|t| format!("{host}/{repo}:{t}")));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

pub(crate) async fn open(reference: &str, opts: &OpenOptions) -> Result<(Image, Remote), Error> {
    let parsed: Reference = reference.parse().map_err(|e| Error::InvalidReference(format!("{reference}: {e}")))?;
    let client = client(opts);
    let auth = auth(opts);
    let (manifest, digest, config_json, list_digest) =
        client.pull_manifest_and_config_and_list_digest(&parsed, &auth).await.map_err(|e| map_err(reference, e))?;
    let actual = sha256_digest(config_json.as_bytes());
    if manifest.config.digest.starts_with("sha256:") && actual != manifest.config.digest {
        return Err(Error::DigestMismatch { what: "image config".into(), expected: manifest.config.digest, actual });
    }
    let name = format!("{}/{}", parsed.registry(), parsed.repository());
    let tags = parsed.tag().map(|t| vec![format!("{name}:{t}")]).unwrap_or_default();
    let repo_digest = format!("{name}@{}", list_digest.as_deref().unwrap_or(&digest));
    let blobs = manifest.layers.iter().map(|l| (Some(l.digest.clone()), u64::try_from(l.size).ok(), l.media_type.clone())).collect();
    let image = parse_config(config_json.as_bytes())?.into_image(tags, vec![repo_digest], Some(digest), blobs)?;
    let remote = Remote { client: Arc::new(client), reference: parsed, layers: manifest.layers, handle: tokio::runtime::Handle::current() };
    Ok((image, remote))
}

impl Remote {
    /// Blocking: must run outside the async runtime (a blocking thread).
    pub(crate) fn layer_reader(&self, index: usize) -> Result<Box<dyn Read + Send>, Error> {
        let desc = self.layers.get(index).ok_or_else(|| Error::NotFound(format!("layer {index}")))?.clone();
        let client = self.client.clone();
        let reference = self.reference.clone();
        let what = format!("blob {}", desc.digest);
        let sized = self.handle.block_on(async move { client.pull_blob_stream(&reference, &desc).await }).map_err(|e| map_err(&what, e))?;
        let bridge = SyncIoBridge::new_with_handle(StreamReader::new(sized.stream), self.handle.clone());
        let digest = &self.layers[index].digest;
        Ok(Box::new(VerifyingReader::new(std::io::BufReader::with_capacity(256 * 1024, bridge), digest)))
    }
}
