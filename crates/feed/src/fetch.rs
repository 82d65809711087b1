//! HTTP for feeds: conditional GET, retries with exponential backoff, a size cap, streaming to
//! a file. Knows nothing about advisory formats.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER};
use tokio::io::AsyncWriteExt;

use crate::FeedError;

/// Timeouts and retries.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response (no limit on the whole transfer: all.zip
    /// files are large).
    pub read_timeout: Duration,
    /// Tries per request (1 = no retry).
    pub attempts: u32,
    /// Delay before the first retry; doubled for each next one.
    pub retry_delay: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            attempts: 3,
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// The validators of the stored copy, sent as `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a download gave.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the stored copy is current.
    NotModified,
    /// 404.
    Missing,
    /// The body, whole, in `path`.
    File { path: PathBuf, bytes: u64, validators: Validators },
}

/// Told how a download goes (for a progress bar).
pub trait Transfer: Send + Sync {
    fn started(&self, _total: Option<u64>) {}
    fn advanced(&self, _bytes: u64) {}
}

impl Transfer for () {}

/// One HTTP client for a whole update (connection reuse). Proxies come from `HTTPS_PROXY`,
/// `HTTP_PROXY`, `NO_PROXY` (reqwest's default).
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    cfg: HttpConfig,
}

/// A failed attempt, and whether trying again may help.
struct Attempt {
    error: FeedError,
    retry: bool,
    retry_after: Option<Duration>,
}

impl Attempt {
    fn fatal(error: FeedError) -> Attempt {
        Attempt { error, retry: false, retry_after: None }
    }
}

impl Http {
    pub fn new(cfg: &HttpConfig) -> Result<Http, FeedError> {
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .user_agent(concat!("shipshape/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FeedError::Internal(format!("building the HTTP client: {e}")))?;
        Ok(Http { client, cfg: cfg.clone() })
    }

    /// A small text document (a listing), at most `cap` bytes.
    pub async fn text(&self, url: &str, cap: u64) -> Result<String, FeedError> {
        self.with_retries(url, || async move {
            let mut resp = self.send(url, &Validators::default()).await?;
            if resp.status() != StatusCode::OK {
                return Err(status_error(url, &resp));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| transport(url, e))? {
                body.extend_from_slice(&chunk);
                if body.len() as u64 > cap {
                    return Err(Attempt::fatal(FeedError::TooLarge { url: url.into(), cap }));
                }
            }
            String::from_utf8(body).map_err(|_| Attempt::fatal(FeedError::Listing { url: url.into(), reason: "not UTF-8 text".into() }))
        })
        .await
    }

    /// Downloads `url` into `dest` unless the validators say the stored copy is current. More
    /// than `cap` bytes fails (the partial file stays for the caller's temp dir to remove).
    pub async fn download(
        &self,
        url: &str,
        stored: &Validators,
        dest: &Path,
        cap: u64,
        transfer: &dyn Transfer,
    ) -> Result<Fetched, FeedError> {
        self.with_retries(url, || async move {
            let mut resp = self.send(url, stored).await?;
            match resp.status() {
                StatusCode::NOT_MODIFIED => return Ok(Fetched::NotModified),
                StatusCode::NOT_FOUND => return Ok(Fetched::Missing),
                StatusCode::OK => {}
                _ => return Err(status_error(url, &resp)),
            }
            let total = header(&resp, CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
            if total.is_some_and(|n| n > cap) {
                return Err(Attempt::fatal(FeedError::TooLarge { url: url.into(), cap }));
            }
            let validators = Validators { etag: header(&resp, ETAG), last_modified: header(&resp, LAST_MODIFIED) };
            let io_err = |source| Attempt::fatal(FeedError::Io { path: dest.into(), source });
            // Created afresh per attempt: a retry never appends to a partial body.
            let mut out = tokio::io::BufWriter::with_capacity(1 << 20, tokio::fs::File::create(dest).await.map_err(io_err)?);
            transfer.started(total);
            let mut bytes = 0u64;
            while let Some(chunk) = resp.chunk().await.map_err(|e| transport(url, e))? {
                bytes += chunk.len() as u64;
                if bytes > cap {
                    return Err(Attempt::fatal(FeedError::TooLarge { url: url.into(), cap }));
                }
                out.write_all(&chunk).await.map_err(io_err)?;
                transfer.advanced(chunk.len() as u64);
            }
            out.flush().await.map_err(io_err)?;
            Ok(Fetched::File { path: dest.into(), bytes, validators })
        })
        .await
    }

    async fn send(&self, url: &str, v: &Validators) -> Result<reqwest::Response, Attempt> {
        let mut req = self.client.get(url);
        if let Some(e) = &v.etag {
            req = req.header(IF_NONE_MATCH, e);
        }
        if let Some(m) = &v.last_modified {
            req = req.header(IF_MODIFIED_SINCE, m);
        }
        req.send().await.map_err(|e| transport(url, e))
    }

    /// Runs `op` up to `attempts` times while its failure is worth retrying, waiting
    /// `retry_delay`, then twice that, ... (or the server's `Retry-After`, up to a minute).
    async fn with_retries<T, F, Fut>(&self, url: &str, op: F) -> Result<T, FeedError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let mut delay = self.cfg.retry_delay;
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(a) if a.retry && attempt < self.cfg.attempts => {
                    let wait = a.retry_after.map_or(delay, |r| r.min(Duration::from_secs(60)).max(delay));
                    tracing::debug!(url, attempt, error = %a.error, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
                Err(a) => return Err(a.error),
            }
        }
    }
}

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Network failures are retried: refused or timed-out connections, and a transfer cut short.
fn transport(url: &str, e: reqwest::Error) -> Attempt {
    let retry = e.is_connect() || e.is_timeout() || e.is_request() || e.is_body();
    Attempt {
        error: FeedError::Http {
            url: url.into(),
            // The URL leads the message already.
            source: e.without_url(),
        },
        retry,
        retry_after: None,
    }
}

/// 5xx and 429 are retried (overload, a restarting mirror); other statuses are final.
fn status_error(url: &str, resp: &reqwest::Response) -> Attempt {
    let status = resp.status();
    let retry_after = header(resp, RETRY_AFTER).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
    Attempt {
        error: FeedError::Status { url: url.into(), status: status.as_u16() },
        retry: status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
        retry_after,
    }
}
