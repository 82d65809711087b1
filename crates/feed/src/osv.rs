//! OSV, in the layout of its public bucket: `<base>/ecosystems.txt` lists the ecosystems,
//! `<base>/<Ecosystem>/all.zip` holds one OSV JSON per advisory. One feed per ecosystem.

use futures::future::BoxFuture;

use crate::fetch::Http;
use crate::{Feed, FeedError, FeedKind, LISTING_CAP, UpdateConfig};

pub const DEFAULT_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// The biggest all.zip files are a few hundred MB; this only stops a runaway download. No
/// larger than what the importer will expand from one archive.
pub const ZIP_CAP: u64 = vuln::import::MAX_BUNDLE_BYTES;

pub(crate) fn kind(cfg: &UpdateConfig) -> Result<Option<Box<dyn FeedKind>>, FeedError> {
    if cfg.osv_url == crate::OFF {
        return Ok(None);
    }
    let base = crate::base_url("--osv-url", &cfg.osv_url)?;
    if let Some(list) = &cfg.ecosystems {
        check_names(list)?;
    }
    let cap = cfg.max_download.unwrap_or(ZIP_CAP);
    Ok(Some(Box::new(Osv { base, ecosystems: cfg.ecosystems.clone(), cap })))
}

struct Osv {
    base: String,
    ecosystems: Option<Vec<String>>,
    cap: u64,
}

impl FeedKind for Osv {
    fn prefix(&self) -> &'static str {
        "osv"
    }

    fn listing_url(&self) -> String {
        format!("{}/ecosystems.txt", self.base)
    }

    fn feeds<'a>(&'a self, http: &'a Http) -> BoxFuture<'a, Result<Vec<Feed>, FeedError>> {
        Box::pin(async move {
            let names = match &self.ecosystems {
                Some(list) => list.clone(),
                None => {
                    let url = self.listing_url();
                    let names = select(&http.text(&url, LISTING_CAP).await?);
                    if names.is_empty() {
                        let reason = "lists no ecosystem Shipshape can match".into();
                        return Err(FeedError::Listing { url, reason });
                    }
                    names
                }
            };
            Ok(names.iter().map(|e| self.feed(e)).collect())
        })
    }
}

impl Osv {
    fn feed(&self, ecosystem: &str) -> Feed {
        Feed {
            name: format!("osv/{ecosystem}"),
            url: format!("{}/{}/all.zip", self.base, encode_segment(ecosystem)),
            file_name: "all.zip".into(),
            cap: self.cap,
            optional: false,
        }
    }
}

/// Whether Shipshape can match advisories of this OSV ecosystem (the part before `:`).
fn matchable(name: &str) -> bool {
    vuln::ecosystem_of(name.split(':').next().unwrap_or(name)).is_some()
}

/// The ecosystems of an `ecosystems.txt` to fetch: base names only (`Debian`, not `Debian:12`:
/// the base's all.zip covers every release) that Shipshape can match, once each, in listing order.
pub fn select(listing: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in listing.lines().map(str::trim) {
        if line.is_empty() || line.contains(':') || !matchable(line) || out.iter().any(|e| e == line) {
            continue;
        }
        out.push(line.to_owned());
    }
    out
}

/// `--ecosystems`: every name must be one Shipshape can match.
pub fn check_names(names: &[String]) -> Result<(), FeedError> {
    if names.is_empty() {
        return Err(FeedError::Config("--ecosystems: no ecosystem given".into()));
    }
    match names.iter().find(|n| n.trim().is_empty() || !matchable(n)) {
        Some(bad) => Err(FeedError::Config(format!(
            "--ecosystems: {bad:?} is not an OSV ecosystem Shipshape can match (names as in OSV's ecosystems.txt, e.g. PyPI, npm, Go, crates.io, Maven, Debian, Ubuntu, Alpine, Rocky Linux)"
        ))),
        None => Ok(()),
    }
}

/// Percent-encodes one URL path segment (`Rocky Linux` → `Rocky%20Linux`), as the bucket's
/// object names need. Five lines, not worth a dependency.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_matchable_base_names_once() {
        let listing = "AlmaLinux\nAlpine\nAlpine:v3.19\nAndroid\nBitnami\ncrates.io\nDebian\nDebian:12\nGo\nHex\n\
                       Maven\nnpm\nPyPI\nRed Hat\nRocky Linux\nRubyGems\nUbuntu\nUbuntu:22.04:LTS\nWolfi\n\nPyPI\n";
        let got = select(listing);
        for want in ["Alpine", "crates.io", "Debian", "Go", "Maven", "npm", "PyPI", "Red Hat", "Rocky Linux", "Ubuntu", "Wolfi"] {
            assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
        }
        assert!(!got.iter().any(|g| g.contains(':')), "{got:?}");
        assert!(!got.iter().any(|g| g == "Android" || g == "Bitnami" || g == "Hex"), "{got:?}");
        assert_eq!(got.iter().filter(|g| *g == "PyPI").count(), 1);
        assert_eq!(got[..2], ["AlmaLinux".to_string(), "Alpine".to_string()], "listing order");
    }

    #[test]
    fn checks_explicit_names() {
        assert!(check_names(&["PyPI".into(), "Rocky Linux".into()]).is_ok());
        let e = check_names(&["PyPI".into(), "Cobol".into()]).unwrap_err();
        assert!(e.to_string().contains("\"Cobol\""), "{e}");
        assert!(check_names(&[]).is_err());
    }

    #[test]
    fn feed_urls_encode_the_ecosystem() {
        let osv = Osv { base: "http://m/osv".into(), ecosystems: None, cap: 1 };
        let f = osv.feed("Rocky Linux");
        assert_eq!(f.name, "osv/Rocky Linux");
        assert_eq!(f.url, "http://m/osv/Rocky%20Linux/all.zip");
        assert_eq!(osv.feed("crates.io").url, "http://m/osv/crates.io/all.zip");
    }
}
