//! A registry's contents over the OCI distribution API with one HTTP client: catalog and tag
//! paging, manifests (a multi-platform index resolved to the wanted platform), image configs,
//! and a `docker login` style check of the address and the credential.
//!
//! Listing a registry is the hot path of a registry sync (thousands of tags), so unlike
//! [`crate::open`] (oci-client, one client per image) everything here shares one connection pool
//! and one token per scope, and asks for a config only when the caller does not know the image
//! yet: a known tag costs one manifest request. Authentication follows the distribution spec: the
//! challenge of `GET /v2/` once, then nothing, HTTP Basic, or a bearer token from the challenge's
//! realm (Docker Hub, Harbor, Quay, GitLab, JFrog...) fetched with the Basic credential per scope.
//! Layers are not read here.

use crate::config::{Image, parse_config};
use crate::verify::sha256_digest;
use crate::{Error, OpenOptions, Platform, RegistryAuth};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, WWW_AUTHENTICATE};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OnceCell};

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, \
                              application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
/// Page size asked of `/v2/_catalog` and `/tags/list`; registries may cap it lower (Docker Hub: 100).
const PAGE: usize = 1000;
/// Most bytes of a manifest, a config or a token response read.
const MAX_DOC: usize = 8 << 20;

/// Caps on one paged listing (`/v2/_catalog`, `/tags/list`): a registry, or whatever a `Link`
/// header points at, must not keep us paging or growing a list without end. Past a cap the
/// listing fails with [`Error::TooLarge`] (a silently cut list would read as "these are all").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// Pages requested.
    pub max_pages: u32,
    /// Distinct entries kept.
    pub max_entries: usize,
    /// Response body bytes, all pages together.
    pub max_bytes: u64,
}

impl Default for ListLimits {
    /// 100,000 repositories or tags of one repository (Docker Hub's largest repositories
    /// have ~10,000 tags) in at most 2,000 pages and 64 MB.
    fn default() -> Self {
        ListLimits { max_pages: 2_000, max_entries: 100_000, max_bytes: 64 << 20 }
    }
}

/// How the registry wants to be authenticated (its answer to `GET /v2/`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Challenge {
    None,
    Basic,
    Bearer { realm: String, service: Option<String> },
}

/// What a tag points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    /// The tag's own digest (the index's, for a multi-platform tag): what `docker pull` shows.
    pub digest: String,
    /// The platform manifest's digest.
    pub manifest_digest: String,
    /// The config digest: the image id.
    pub config_digest: String,
    /// (digest, size, media type) per layer, bottom first.
    pub layers: Vec<(String, u64, String)>,
}

impl ManifestInfo {
    /// Compressed bytes of the layers.
    pub fn size(&self) -> u64 {
        self.layers.iter().map(|l| l.1).sum()
    }
}

/// One registry, one HTTP client, its tokens.
pub struct RegistryClient {
    http: reqwest::Client,
    base: String,
    host: String,
    auth: RegistryAuth,
    platform: Platform,
    challenge: OnceCell<Challenge>,
    tokens: Mutex<HashMap<String, String>>,
    requests: AtomicU64,
    list_limits: ListLimits,
}

#[derive(Deserialize)]
struct Catalog {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Tags {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    platform: Option<PlatformDoc>,
}

#[derive(Deserialize)]
struct PlatformDoc {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

fn transport(what: &str, e: reqwest::Error) -> Error {
    // reqwest's Display hides the cause (connection refused, certificate...): walk the chain.
    let mut msg = format!("{what}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    Error::Registry(msg)
}

fn status_error(what: &str, status: StatusCode) -> Error {
    let msg = format!("{what}: HTTP {status}");
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Unauthorized(msg),
        StatusCode::NOT_FOUND => Error::NotFound(msg),
        _ => Error::Registry(msg),
    }
}

/// `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
fn parse_challenge(h: &str) -> Challenge {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return if scheme.eq_ignore_ascii_case("basic") { Challenge::Basic } else { Challenge::None };
    }
    let mut params: HashMap<String, String> = HashMap::new();
    let mut s = rest;
    while !s.is_empty() {
        let Some((k, v)) = s.split_once('=') else { break };
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let v = v.trim_start();
        let (value, tail) = if let Some(q) = v.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            let end = v.find(',').unwrap_or(v.len());
            (&v[..end], &v[end..])
        };
        params.insert(k, value.to_string());
        s = tail.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    }
    match params.remove("realm") {
        Some(realm) => Challenge::Bearer { realm, service: params.remove("service") },
        None => Challenge::None,
    }
}

/// The `next` URL of an RFC 5988 `Link` header, relative to the registry.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    v.split(',').find(|p| p.contains("rel=\"next\"") || p.contains("rel=next")).and_then(|p| {
        let start = p.find('<')? + 1;
        let end = p[start..].find('>')? + start;
        Some(p[start..end].to_string())
    })
}

impl RegistryClient {
    /// A client for `host` (`HOST[:PORT]`) with `opts`' scheme, TLS checking, credential and
    /// platform; every request times out after `timeout`.
    pub fn new(host: &str, opts: &OpenOptions, timeout: Duration) -> Result<RegistryClient, Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .tls_danger_accept_invalid_certs(opts.accept_invalid_certs)
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| transport("HTTP client", e))?;
        let scheme = if opts.insecure { "http" } else { "https" };
        Ok(RegistryClient {
            http,
            base: format!("{scheme}://{host}"),
            host: host.to_string(),
            auth: opts.auth.clone(),
            platform: opts.platform.clone(),
            challenge: OnceCell::new(),
            tokens: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            list_limits: ListLimits::default(),
        })
    }

    /// The same client with other listing caps.
    pub fn with_list_limits(mut self, limits: ListLimits) -> RegistryClient {
        self.list_limits = limits;
        self
    }

    /// A `Link` target as a path of this registry: relative as sent, or an absolute URL of
    /// the same origin (scheme, host and port). Anything else is refused: following it would
    /// send the registry credential elsewhere.
    fn same_origin(&self, link: &str) -> Result<String, Error> {
        if link.starts_with('/') && !link.starts_with("//") {
            return Ok(link.to_string());
        }
        match link.strip_prefix(&self.base) {
            Some(rest) if rest.starts_with('/') => Ok(rest.to_string()),
            _ => Err(Error::Registry(format!("{}: a Link header points to another origin: {link}", self.host))),
        }
    }

    /// HTTP requests sent so far (token requests included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response, Error> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        req.send().await.map_err(|e| transport(what, e))
    }

    async fn challenge(&self) -> Result<&Challenge, Error> {
        self.challenge
            .get_or_try_init(|| async {
                let what = format!("{}/v2/", self.base);
                let resp = self.send(self.http.get(&what), &what).await?;
                if resp.status().is_success() {
                    return Ok(Challenge::None);
                }
                if resp.status() != StatusCode::UNAUTHORIZED {
                    return Err(status_error(&format!("{what} (is this an OCI registry?)"), resp.status()));
                }
                let header = resp.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("");
                Ok(match parse_challenge(header) {
                    // A 401 without a usable challenge: try Basic when there is a credential.
                    Challenge::None => Challenge::Basic,
                    c => c,
                })
            })
            .await
    }

    fn basic(&self) -> Option<(&str, &str)> {
        match &self.auth {
            RegistryAuth::Basic { username, password } => Some((username, password)),
            _ => None,
        }
    }

    /// A bearer token for `scope` (`None`: no scope, what `docker login` asks) from the realm.
    async fn token(&self, realm: &str, service: Option<&str>, scope: Option<&str>) -> Result<String, Error> {
        if let RegistryAuth::Bearer(t) = &self.auth {
            return Ok(t.clone());
        }
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = service {
            query.push(("service", s));
        }
        if let Some(s) = scope {
            query.push(("scope", s));
        }
        if let Some((user, _)) = self.basic() {
            query.push(("account", user));
        }
        let mut req = self.http.get(realm).query(&query);
        if let Some((u, p)) = self.basic() {
            req = req.basic_auth(u, Some(p));
        }
        let resp = self.send(req, realm).await?;
        let status = resp.status();
        if !status.is_success() {
            let what = "the registry's token service refused the credential";
            return Err(status_error(what, status));
        }
        let body = resp.bytes().await.map_err(|e| transport(realm, e))?;
        if body.len() > MAX_DOC {
            return Err(Error::TooLarge(format!("token response of {realm}")));
        }
        let t: Token = serde_json::from_slice(&body).map_err(|e| Error::Registry(format!("token response of {realm}: {e}")))?;
        t.token.or(t.access_token).filter(|t| !t.is_empty()).ok_or_else(|| Error::Registry(format!("{realm} sent no token")))
    }

    /// GET `path` (relative to the registry, or an absolute URL) under `scope`, authenticating
    /// as the registry asks; a token refused once (expired) is fetched again.
    async fn get(&self, path: &str, scope: &str, accept: Option<&str>) -> Result<reqwest::Response, Error> {
        self.request(reqwest::Method::GET, path, scope, accept).await
    }

    async fn request(&self, method: reqwest::Method, path: &str, scope: &str, accept: Option<&str>) -> Result<reqwest::Response, Error> {
        let url =
            if path.starts_with("http://") || path.starts_with("https://") { path.to_string() } else { format!("{}{path}", self.base) };
        let challenge = self.challenge().await?.clone();
        for attempt in 0..2 {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            match &challenge {
                Challenge::None => {}
                Challenge::Basic => {
                    if let Some((u, p)) = self.basic() {
                        req = req.basic_auth(u, Some(p));
                    }
                }
                Challenge::Bearer { realm, service } => {
                    let cached = self.tokens.lock().await.get(scope).cloned();
                    let token = match cached {
                        Some(t) if attempt == 0 => t,
                        _ => {
                            let t = self.token(realm, service.as_deref(), Some(scope)).await?;
                            self.tokens.lock().await.insert(scope.to_string(), t.clone());
                            t
                        }
                    };
                    req = req.header(AUTHORIZATION, format!("Bearer {token}"));
                }
            }
            let resp = self.send(req, &url).await?;
            let retry = resp.status() == StatusCode::UNAUTHORIZED
                && attempt == 0
                && matches!(challenge, Challenge::Bearer { .. })
                && !matches!(self.auth, RegistryAuth::Bearer(_));
            if retry {
                continue;
            }
            if !resp.status().is_success() {
                return Err(status_error(&url, resp.status()));
            }
            return Ok(resp);
        }
        Err(Error::Unauthorized(format!("{url}: HTTP 401")))
    }

    async fn body(&self, resp: reqwest::Response, what: &str) -> Result<bytes::Bytes, Error> {
        if resp.content_length().is_some_and(|n| n > MAX_DOC as u64) {
            return Err(Error::TooLarge(what.to_string()));
        }
        let b = resp.bytes().await.map_err(|e| transport(what, e))?;
        if b.len() > MAX_DOC {
            return Err(Error::TooLarge(what.to_string()));
        }
        Ok(b)
    }

    /// Checks the address and the credential the way `docker login` does: the registry answers
    /// `/v2/`, and a Basic registry or a token realm accepts the credential. `Unauthorized` for a
    /// refused credential, `Registry` when the registry cannot be reached or is not one.
    pub async fn check(&self) -> Result<(), Error> {
        match self.challenge().await?.clone() {
            Challenge::None => Ok(()),
            Challenge::Basic => {
                let what = format!("{}/v2/", self.base);
                let mut req = self.http.get(&what);
                match self.basic() {
                    Some((u, p)) => req = req.basic_auth(u, Some(p)),
                    None => return Err(Error::Unauthorized(format!("{what}: the registry asks for a username and password"))),
                }
                let resp = self.send(req, &what).await?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(status_error(&format!("{what} refused the credential"), resp.status()))
                }
            }
            Challenge::Bearer { realm, service } => self.token(&realm, service.as_deref(), None).await.map(|_| ()),
        }
    }

    /// Follows `Link: <…>; rel="next"` (same origin only), or `last=` when the registry sends
    /// no links, to the end, within [`ListLimits`].
    async fn pages<T>(
        &self,
        first: String,
        scope: &str,
        items: impl Fn(&[u8]) -> Result<Vec<String>, Error>,
        map: impl Fn(Vec<String>) -> Vec<T>,
    ) -> Result<Vec<T>, Error> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let lim = self.list_limits;
        let too_large = |what: String| Error::TooLarge(format!("{}{first}: {what}", self.host));
        let (mut pages, mut bytes) = (0u32, 0u64);
        let mut url = Some(first.clone());
        while let Some(u) = url.take() {
            pages += 1;
            if pages > lim.max_pages {
                return Err(too_large(format!("more than {} pages", lim.max_pages)));
            }
            let resp = self.get(&u, scope, None).await?;
            let link = next_link(resp.headers()).map(|l| self.same_origin(&l)).transpose()?;
            let body = self.body(resp, &u).await?;
            bytes += body.len() as u64;
            if bytes > lim.max_bytes {
                return Err(too_large(format!("more than {} bytes", lim.max_bytes)));
            }
            let page = items(&body)?;
            let before = out.len();
            out.extend(page.into_iter().filter(|x| !x.is_empty() && seen.insert(x.clone())));
            if out.len() > lim.max_entries {
                return Err(too_large(format!("more than {} entries", lim.max_entries)));
            }
            let added = out.len() - before;
            url = match link {
                Some(next) => Some(next),
                // No links: ask after the last entry until a page brings nothing new (a
                // registry ignoring `last` would repeat its first page forever).
                None if added >= PAGE => out.last().map(|l| format!("{first}&last={l}")),
                None => None,
            };
            if added == 0 {
                break;
            }
        }
        Ok(map(out))
    }

    /// Every repository of `/v2/_catalog`.
    pub async fn repositories(&self) -> Result<Vec<String>, Error> {
        let parse = |b: &[u8]| -> Result<Vec<String>, Error> {
            let c: Catalog = serde_json::from_slice(b).map_err(|e| Error::Registry(format!("catalog of {}: {e}", self.host)))?;
            Ok(c.repositories.unwrap_or_default())
        };
        let mut r = self.pages(format!("/v2/_catalog?n={PAGE}"), "registry:catalog:*", parse, |v| v).await?;
        r.sort();
        Ok(r)
    }

    /// Every tag of `repository`, sorted.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, Error> {
        let host = &self.host;
        let parse = |b: &[u8]| -> Result<Vec<String>, Error> {
            let t: Tags = serde_json::from_slice(b).map_err(|e| Error::Registry(format!("tags of {host}/{repository}: {e}")))?;
            Ok(t.tags.unwrap_or_default())
        };
        let mut t = self.pages(format!("/v2/{repository}/tags/list?n={PAGE}"), &pull_scope(repository), parse, |v| v).await?;
        t.sort();
        Ok(t)
    }

    async fn manifest_doc(&self, repository: &str, reference: &str) -> Result<(String, ManifestDoc), Error> {
        let what = format!("{}/{repository}:{reference}", self.host);
        let resp = self.get(&format!("/v2/{repository}/manifests/{reference}"), &pull_scope(repository), Some(MANIFEST_TYPES)).await?;
        let header = resp.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = self.body(resp, &what).await?;
        let actual = sha256_digest(&body);
        let digest = match header {
            Some(h) if h.starts_with("sha256:") && h != actual => {
                return Err(Error::DigestMismatch { what: format!("manifest {what}"), expected: h, actual });
            }
            Some(h) => h,
            None => actual,
        };
        if reference.starts_with("sha256:") && reference != digest {
            return Err(Error::DigestMismatch { what: format!("manifest {what}"), expected: reference.to_string(), actual: digest });
        }
        let doc: ManifestDoc = serde_json::from_slice(&body).map_err(|e| Error::Malformed(format!("manifest {what}: {e}")))?;
        Ok((digest, doc))
    }

    /// The digest `repository:tag` points at, from a HEAD request (`None` when the registry sends
    /// no `Docker-Content-Digest`). Registries that meter pulls (Docker Hub) count GETs of
    /// manifests, not HEADs: an unchanged tag is recognised without a pull.
    pub async fn manifest_digest(&self, repository: &str, tag: &str) -> Result<Option<String>, Error> {
        let resp = self
            .request(reqwest::Method::HEAD, &format!("/v2/{repository}/manifests/{tag}"), &pull_scope(repository), Some(MANIFEST_TYPES))
            .await?;
        Ok(resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .filter(|d| d.starts_with("sha256:"))
            .map(str::to_string))
    }

    /// What `repository:tag` points at, a multi-platform index resolved to the client's platform.
    pub async fn manifest(&self, repository: &str, tag: &str) -> Result<ManifestInfo, Error> {
        let (digest, mut doc) = self.manifest_doc(repository, tag).await?;
        let mut manifest_digest = digest.clone();
        let is_index = doc.manifests.is_some() || doc.media_type.as_deref().is_some_and(|m| m.contains("index") || m.contains("list"));
        if is_index {
            let p = &self.platform;
            let chosen = doc
                .manifests
                .unwrap_or_default()
                .into_iter()
                .find(|m| {
                    m.platform.as_ref().is_some_and(|x| {
                        x.os == p.os
                            && x.architecture == p.architecture
                            && (p.variant.is_none() || x.variant.is_none() || x.variant == p.variant)
                    })
                })
                .ok_or_else(|| Error::NotFound(format!("{}/{repository}:{tag}: no {} manifest in the index", self.host, self.platform)))?;
            let (d, inner) = self.manifest_doc(repository, &chosen.digest).await?;
            manifest_digest = d;
            doc = inner;
        }
        let what = format!("{}/{repository}:{tag}", self.host);
        let config = doc.config.ok_or_else(|| Error::Malformed(format!("manifest {what} has no config")))?;
        let layers =
            doc.layers.unwrap_or_default().into_iter().map(|l| (l.digest, u64::try_from(l.size).unwrap_or(0), l.media_type)).collect();
        Ok(ManifestInfo { digest, manifest_digest, config_digest: config.digest, layers })
    }

    /// The image of a manifest (its config fetched and checked), named `HOST/REPO:TAG`.
    pub async fn image(&self, repository: &str, tag: &str, m: &ManifestInfo) -> Result<Image, Error> {
        let what = format!("config {} of {}/{repository}:{tag}", m.config_digest, self.host);
        let resp = self.get(&format!("/v2/{repository}/blobs/{}", m.config_digest), &pull_scope(repository), None).await?;
        let body = self.body(resp, &what).await?;
        let actual = sha256_digest(&body);
        if m.config_digest.starts_with("sha256:") && actual != m.config_digest {
            return Err(Error::DigestMismatch { what, expected: m.config_digest.clone(), actual });
        }
        let name = format!("{}/{repository}", self.host);
        let blobs = m.layers.iter().map(|(d, s, t)| (Some(d.clone()), Some(*s), t.clone())).collect();
        parse_config(&body)?.into_image(
            vec![format!("{name}:{tag}")],
            vec![format!("{name}@{}", m.digest)],
            Some(m.manifest_digest.clone()),
            blobs,
        )
    }
}

fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull""#),
            Challenge::Bearer { realm: "https://auth.docker.io/token".into(), service: Some("registry.docker.io".into()) }
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm=https://h/t, service=reg"#),
            Challenge::Bearer { realm: "https://h/t".into(), service: Some("reg".into()) }
        );
        assert_eq!(parse_challenge(r#"Basic realm="Registry Realm""#), Challenge::Basic);
        assert_eq!(parse_challenge("Negotiate"), Challenge::None);
        assert_eq!(parse_challenge("Bearer service=x"), Challenge::None);
    }

    #[test]
    fn links() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::LINK, r#"</v2/_catalog?last=b&n=2>; rel="next""#.parse().unwrap());
        assert_eq!(next_link(&h).as_deref(), Some("/v2/_catalog?last=b&n=2"));
        assert_eq!(next_link(&HeaderMap::new()), None);
    }
}
