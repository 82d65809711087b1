//! The Debian security tracker's JSON document (`--debian-tracker-url`, the full URL): one
//! feed, stored under the file name `debian-security-tracker.json` by which `vuln`'s importer
//! recognises it. Fetched only when configured.

use futures::future::BoxFuture;

use crate::fetch::Http;
use crate::{Feed, FeedError, FeedKind, UpdateConfig};

pub const FEED_NAME: &str = "debian-tracker";
/// The name `vuln` recognises the document by.
pub const FILE_NAME: &str = vuln::import::DEBIAN_TRACKER_JSON;
/// The document is some tens of MB.
pub const JSON_CAP: u64 = 256 << 20;

pub(crate) fn kind(cfg: &UpdateConfig) -> Result<Option<Box<dyn FeedKind>>, FeedError> {
    let Some(url) = &cfg.debian_tracker_url else {
        return Ok(None);
    };
    crate::base_url("--debian-tracker-url", url)?;
    let feed = Feed {
        name: FEED_NAME.into(),
        url: url.clone(),
        file_name: FILE_NAME.into(),
        cap: cfg.max_download.unwrap_or(JSON_CAP),
        optional: false,
    };
    Ok(Some(Box::new(Tracker(feed))))
}

struct Tracker(Feed);

impl FeedKind for Tracker {
    fn prefix(&self) -> &'static str {
        FEED_NAME
    }

    fn listing_url(&self) -> String {
        self.0.url.clone()
    }

    fn feeds<'a>(&'a self, _http: &'a Http) -> BoxFuture<'a, Result<Vec<Feed>, FeedError>> {
        Box::pin(async move { Ok(vec![self.0.clone()]) })
    }
}
