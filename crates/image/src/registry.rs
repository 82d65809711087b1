//! OCI distribution registries, through `oci-client` (anonymous, basic, bearer; the token
//! dance for `WWW-Authenticate: Bearer` is the client's).

use crate::config::{Image, parse_config};
use crate::verify::{VerifyingReader, sha256_digest};
use crate::{Error, OpenOptions, RegistryAuth};
use oci_client::RegistryOperation;
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

/// A token realm's refusal, its body (JSON errors, or an HTML page) cut to a readable length.
fn realm_refusal(e: oci_client::errors::OciDistributionError) -> oci_client::errors::OciDistributionError {
    use oci_client::errors::OciDistributionError as E;
    match e {
        E::AuthenticationFailure(body) => {
            let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
            let cut = body.char_indices().nth(300).map_or(body.len(), |(i, _)| i);
            let more = if cut < body.len() { "…" } else { "" };
            E::AuthenticationFailure(format!("the registry's token service refused the credential: {}{more}", &body[..cut]))
        }
        other => other,
    }
}

fn client(opts: &OpenOptions) -> Client {
    let platform = opts.platform.clone();
    let config = ClientConfig {
        protocol: if opts.insecure { ClientProtocol::Http } else { ClientProtocol::Https },
        // TCSS `Insecure` 1: a self-signed or otherwise unverifiable certificate is accepted.
        accept_invalid_certificates: opts.accept_invalid_certs,
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
    // Authenticate before the first request: oci-client drops a refusal at a token realm (a
    // wrong robot password) and then asks the registry unauthenticated, whose 401 says nothing
    // of why. The token it gets is cached for the manifest and blob requests (the lazy path's
    // token request, made earlier; a registry without a challenge costs one more `GET /v2/`).
    client.auth(&parsed, &auth, RegistryOperation::Pull).await.map_err(|e| map_err(reference, realm_refusal(e)))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A registry behind a token realm (both on one port) whose realm refuses every credential;
    /// returns its address and the request lines it saw.
    async fn refusing_realm() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (realm, log) = (format!("http://{addr}/service/token"), seen.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let line = head.lines().next().unwrap_or_default().to_string();
                let authorized = head.lines().any(|l| l.to_ascii_lowercase().starts_with("authorization:"));
                log.lock().unwrap().push(format!("{line} auth={authorized}"));
                let (challenge, body) = if line.contains("/service/token") {
                    (String::new(), r#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid robot credential"}]}"#)
                } else {
                    (format!("WWW-Authenticate: Bearer realm=\"{realm}\",service=\"reg\"\r\n"), r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#)
                };
                let resp = format!(
                    "HTTP/1.1 401 Unauthorized\r\n{challenge}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        });
        (addr, seen)
    }

    #[tokio::test]
    async fn a_refusal_at_the_token_realm_is_reported() {
        let (addr, seen) = refusing_realm().await;
        let opts = OpenOptions {
            insecure: true,
            auth: RegistryAuth::Basic { username: "robot$e2e".into(), password: "wrong".into() },
            ..Default::default()
        };
        let err = open(&format!("{addr}/library/app:1"), &opts).await.err().expect("refused");
        let msg = err.to_string();
        assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
        assert!(msg.contains("token service refused the credential") && msg.contains("invalid robot credential"), "{msg}");
        let seen = seen.lock().unwrap().clone();
        assert!(
            seen.iter().any(|l| l.contains("/service/token?")
                && l.contains("scope=repository%3Alibrary%2Fapp%3Apull")
                && l.ends_with("auth=true")),
            "{seen:?}"
        );
        assert!(!seen.iter().any(|l| l.contains("/manifests/")), "no unauthenticated manifest request after the refusal: {seen:?}");
    }

    #[test]
    fn long_realm_bodies_are_cut() {
        use oci_client::errors::OciDistributionError as E;
        let long = format!("<html>\n  {}</html>", "é".repeat(1000));
        let E::AuthenticationFailure(m) = realm_refusal(E::AuthenticationFailure(long)) else { panic!() };
        assert!(m.ends_with('…') && m.chars().count() < 400, "{m}");
        assert!(matches!(realm_refusal(E::UnauthorizedError { url: "u".into() }), E::UnauthorizedError { .. }));
    }
}
