//! Alpine secdb: `<base>/<branch>/main.json` and `<base>/<branch>/community.json` (when
//! published) per release branch; the branches are the `v3.N/` links of the index page
//! `<base>/`, or given. One feed per file; `edge` has no release to match and is skipped.

use futures::future::BoxFuture;

use crate::fetch::Http;
use crate::{Feed, FeedError, FeedKind, LISTING_CAP, UpdateConfig};

pub const DEFAULT_URL: &str = "https://secdb.alpinelinux.org";
/// A secdb file is a few hundred KB.
pub const JSON_CAP: u64 = 256 << 20;

pub(crate) fn kind(cfg: &UpdateConfig) -> Result<Option<Box<dyn FeedKind>>, FeedError> {
    if cfg.alpine_url == crate::OFF {
        return Ok(None);
    }
    let base = crate::base_url("--alpine-secdb-url", &cfg.alpine_url)?;
    if let Some(b) = &cfg.alpine_branches {
        check_branches(b)?;
    }
    let cap = cfg.max_download.unwrap_or(JSON_CAP);
    Ok(Some(Box::new(Secdb { base, branches: cfg.alpine_branches.clone(), cap })))
}

struct Secdb {
    base: String,
    branches: Option<Vec<String>>,
    cap: u64,
}

impl FeedKind for Secdb {
    fn prefix(&self) -> &'static str {
        "alpine"
    }

    fn listing_url(&self) -> String {
        format!("{}/", self.base)
    }

    fn feeds<'a>(&'a self, http: &'a Http) -> BoxFuture<'a, Result<Vec<Feed>, FeedError>> {
        Box::pin(async move {
            let branches = match &self.branches {
                Some(b) => b.clone(),
                None => {
                    let url = self.listing_url();
                    let b = parse_index(&http.text(&url, LISTING_CAP).await?);
                    if b.is_empty() {
                        return Err(FeedError::Listing { url, reason: "links no v3.N/ branch".into() });
                    }
                    b
                }
            };
            Ok(branches.iter().flat_map(|b| [self.feed(b, "main", false), self.feed(b, "community", true)]).collect())
        })
    }
}

impl Secdb {
    fn feed(&self, branch: &str, repo: &str, optional: bool) -> Feed {
        Feed {
            name: format!("alpine/{branch}/{repo}"),
            url: format!("{}/{branch}/{repo}.json", self.base),
            file_name: format!("{repo}.json"),
            cap: self.cap,
            optional,
        }
    }
}

/// `v3.19` → (3, 19).
fn release(branch: &str) -> Option<(u32, u32)> {
    let (major, minor) = branch.strip_prefix('v')?.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor)).then(|| Some((major.parse().ok()?, minor.parse().ok()?))).flatten()
}

/// The release branches an index page links to (`href="v3.19/"`, also `./v3.19/` or an
/// absolute link), oldest first, once each. A plain scan for `href`: the page is a generated
/// directory listing, not a document worth an HTML parser.
pub fn parse_index(html: &str) -> Vec<String> {
    let mut out: Vec<((u32, u32), String)> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("href=") {
        rest = &rest[i + 5..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let Some(end) = rest[1..].find(quote) else {
            break;
        };
        let target = &rest[1..1 + end];
        rest = &rest[1 + end..];
        let path = target.split(['?', '#']).next().unwrap_or("").trim_end_matches('/');
        let last = path.rsplit('/').next().unwrap_or(path);
        if let Some(v) = release(last)
            && !out.iter().any(|(w, _)| *w == v)
        {
            out.push((v, last.to_owned()));
        }
    }
    out.sort();
    out.into_iter().map(|(_, b)| b).collect()
}

/// `--alpine-branches`: release branches `vMAJOR.MINOR` only.
pub fn check_branches(branches: &[String]) -> Result<(), FeedError> {
    if branches.is_empty() {
        return Err(FeedError::Config("--alpine-branches: no branch given".into()));
    }
    match branches.iter().find(|b| release(b).is_none()) {
        Some(bad) => Err(FeedError::Config(format!(
            "--alpine-branches: {bad:?} is not a release branch like v3.20 (edge has no release to match against)"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_page_links() {
        // As secdb.alpinelinux.org and `python3 -m http.server` render it.
        let html = r#"<html><head><title>Index of /</title></head><body><h1>Index of /</h1><hr><pre>
<a href="../">../</a>
<a href="edge/">edge/</a>                                              20-Nov-2024 12:00       -
<a href="v3.10/">v3.10/</a>                                            01-Jan-2022 12:00       -
<a href="v3.9/">v3.9/</a>
<a href='./v3.20/'>v3.20/</a>
<a href="https://secdb.alpinelinux.org/v3.19/?C=M">v3.19</a>
<a href="v3.9/">again</a> <a href="v4/">v4/</a> <a href="v3.x/">x</a> <a href=v3.1/>unquoted</a>
<a href="README.md">README.md</a><a href="v3.11/main.json">file</a></pre></body></html>"#;
        // Unquoted attributes are not read (no generator writes them).
        assert_eq!(parse_index(html), ["v3.9", "v3.10", "v3.19", "v3.20"]);
    }

    #[test]
    fn branches_are_checked() {
        assert!(check_branches(&["v3.19".into(), "v3.20".into()]).is_ok());
        assert!(check_branches(&["edge".into()]).is_err());
        assert!(check_branches(&["3.19".into()]).is_err());
        assert!(check_branches(&[]).is_err());
    }

    #[test]
    fn two_feeds_per_branch() {
        let s = Secdb { base: "http://m/secdb".into(), branches: None, cap: 9 };
        let main = s.feed("v3.19", "main", false);
        assert_eq!(
            (main.name.as_str(), main.url.as_str(), main.file_name.as_str()),
            ("alpine/v3.19/main", "http://m/secdb/v3.19/main.json", "main.json")
        );
        assert!(s.feed("v3.19", "community", true).optional);
    }
}
