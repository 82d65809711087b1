use std::path::PathBuf;

/// Why one feed (or the listing of a feed kind) could not be updated. The previous data of the
/// feed is kept whole in every case.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// Connection, TLS, timeout or a transfer cut short (after the retries).
    #[error("{url}: {}", chain(.source))]
    Http { url: String, source: reqwest::Error },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: larger than the {cap}-byte cap")]
    TooLarge { url: String, cap: u64 },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The download is not a readable archive or file (truncated zip, an entry over the caps).
    #[error("reading the download: {0}")]
    Read(#[from] vuln::ImportError),
    /// The store refused the data (a bad file in strict mode) or failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A listing (ecosystems.txt, the secdb index page) that makes no sense.
    #[error("{url}: {reason}")]
    Listing { url: String, reason: String },
    /// A bad argument: unknown ecosystem, malformed branch or URL.
    #[error("{0}")]
    Config(String),
    #[error("internal: {0}")]
    Internal(String),
}

/// reqwest's Display stops at "error sending request"; the cause (refused, timed out, reset)
/// is what the user needs.
fn chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}
