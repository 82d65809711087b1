//! The image inventory: one `image_assets` row per (account, image, source) where an image was
//! seen (the Docker Engine, a registry, Harbor, a node agent), read back as one [`ImageAsset`]
//! per image merged over its sources.

use model::AccountId;
use model::node::ImageFacts;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Tx, i, json_list, now_micros, parse_list, u};
use crate::{Error, Store};

/// Source name of inventory rows from the server's own Docker Engine.
pub const DOCKER_SOURCE: &str = "docker";

/// An image the account sees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageAsset {
    /// The image as its sources list it (merged over them): the one definition of an image's
    /// facts, shared with what a node's agent reports. Its layers let a scan find every layer
    /// cached without exporting.
    pub facts: ImageFacts,
    /// Where the image was seen, sorted: `docker` (the Docker Engine), `registry:HOST` (a
    /// configured registry), `node:ID` (a node's agent)... One asset per image id across all.
    pub sources: Vec<String>,
}

impl ImageAsset {
    /// The inventory row of an image as `source` lists it.
    pub fn from_facts(facts: ImageFacts, source: String) -> Self {
        ImageAsset { facts, sources: vec![source] }
    }

    /// Whether the image was seen in `source`.
    pub fn seen_in(&self, source: &str) -> bool {
        self.sources.iter().any(|s| s == source)
    }

    /// Hosts that hold the image (TCSS `HostCnt`): the server's own Docker Engine and each node
    /// whose agent reports it. Registries and Harbor are not hosts.
    pub fn host_cnt(&self) -> u64 {
        self.sources.iter().filter(|s| *s == DOCKER_SOURCE || s.starts_with(crate::nodes::NODE_SOURCE_PREFIX)).count() as u64
    }
}

fn asset_from_row(r: &AnyRow) -> Result<ImageAsset, Error> {
    let facts = ImageFacts {
        image_id: r.try_get(0)?,
        names: parse_list("image_assets", &r.try_get::<String, _>(1)?)?,
        repo_digests: parse_list("image_assets", &r.try_get::<String, _>(2)?)?,
        size: u(r.try_get(3)?),
        created: r.try_get(4)?,
        os: r.try_get(5)?,
        architecture: r.try_get(6)?,
        author: r.try_get(7)?,
        history: r.try_get(8)?,
        container_cnt: u(r.try_get(9)?),
        running_cnt: u(r.try_get(10)?),
        layers: parse_list("image_assets", &r.try_get::<String, _>(12)?)?,
    };
    Ok(ImageAsset::from_facts(facts, r.try_get(11)?))
}

const ASSET_COLS: &str =
    "image_id, names, repo_digests, size, created, os, architecture, author, history, container_cnt, running_cnt, source, layers";

/// Folds per-source rows (sorted by image id, then source) into one asset per image: names,
/// digests and sources united in that order; container counts added (only the Docker Engine
/// reports any); the rest comes from the config, the same bytes wherever the image is.
fn merge_sources(rows: Vec<ImageAsset>) -> Vec<ImageAsset> {
    let mut out: Vec<ImageAsset> = Vec::with_capacity(rows.len());
    for row in rows {
        match out.last_mut() {
            Some(last) if last.facts.image_id == row.facts.image_id => {
                let (m, r) = (&mut last.facts, row.facts);
                // Rows come by source name, so the Docker Engine's names lead (`ImageName`
                // shows the local name when there is one).
                for (into, from) in [(&mut m.names, r.names), (&mut m.repo_digests, r.repo_digests), (&mut last.sources, row.sources)] {
                    for x in from {
                        if !into.contains(&x) {
                            into.push(x);
                        }
                    }
                }
                m.container_cnt += r.container_cnt;
                m.running_cnt += r.running_cnt;
                // The engine's size (uncompressed) when it has the image; a registry's is the
                // compressed blob sum.
                if m.size == 0 {
                    m.size = r.size;
                }
                for (into, from) in [
                    (&mut m.created, r.created),
                    (&mut m.os, r.os),
                    (&mut m.architecture, r.architecture),
                    (&mut m.author, r.author),
                    (&mut m.history, r.history),
                ] {
                    if into.is_empty() {
                        *into = from;
                    }
                }
                if m.layers.is_empty() {
                    m.layers = r.layers;
                }
            }
            _ => out.push(row),
        }
    }
    out
}

/// Inserts or refreshes one inventory row of `source`.
pub(crate) async fn upsert_asset_row(tx: &mut Tx, account: AccountId, source: &str, a: &ImageAsset, seen_at: i64) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO image_assets (account_id, image_id, names, repo_digests, size, created, os, architecture, \
         author, history, container_cnt, running_cnt, source, seen_at, layers) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (account_id, image_id, source) DO UPDATE SET names = excluded.names, \
         repo_digests = excluded.repo_digests, size = excluded.size, created = excluded.created, \
         os = excluded.os, architecture = excluded.architecture, author = excluded.author, \
         history = excluded.history, container_cnt = excluded.container_cnt, \
         running_cnt = excluded.running_cnt, seen_at = excluded.seen_at, \
         layers = excluded.layers",
    )
    .bind(account)
    .bind(&a.facts.image_id)
    .bind(json_list(&a.facts.names))
    .bind(json_list(&a.facts.repo_digests))
    .bind(i(a.facts.size))
    .bind(&a.facts.created)
    .bind(&a.facts.os)
    .bind(&a.facts.architecture)
    .bind(&a.facts.author)
    .bind(&a.facts.history)
    .bind(i(a.facts.container_cnt))
    .bind(i(a.facts.running_cnt))
    .bind(source)
    .bind(seen_at)
    .bind(json_list(&a.facts.layers))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Every account id (the inventory of the server's Docker Engine is shared by all).
    pub async fn account_ids(&self) -> Result<Vec<AccountId>, Error> {
        let rows = sqlx::query("SELECT app_id FROM accounts ORDER BY app_id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| r.try_get::<i64, _>(0).map_err(Error::from)).collect()
    }

    /// Makes the account's images of `source` exactly `assets` (insert, update, delete), in one
    /// transaction.
    pub async fn sync_image_assets(&self, account: AccountId, source: &str, assets: &[ImageAsset]) -> Result<(), Error> {
        // Microseconds: two refreshes within one second must still tell old rows from new.
        let now = now_micros();
        let mut tx = self.begin_write().await?;
        for a in assets {
            upsert_asset_row(&mut tx, account, source, a, now).await?;
        }
        sqlx::query("DELETE FROM image_assets WHERE account_id = $1 AND source = $2 AND seen_at <> $3")
            .bind(account)
            .bind(source)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every inventory source with rows, over all accounts.
    pub async fn image_asset_sources(&self) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT DISTINCT source FROM image_assets ORDER BY source").fetch_all(&self.pool).await?;
        rows.iter().map(|r| r.try_get::<String, _>(0).map_err(Error::from)).collect()
    }

    /// Deletes every row of `source` (a registry no longer configured), all accounts.
    pub async fn forget_image_asset_source(&self, source: &str) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM image_assets WHERE source = $1").bind(source).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// All images of the account, by image id, each merged over the sources it was seen in.
    pub async fn image_assets(&self, account: AccountId) -> Result<Vec<ImageAsset>, Error> {
        let rows = sqlx::query(&format!("SELECT {ASSET_COLS} FROM image_assets WHERE account_id = $1 ORDER BY image_id, source"))
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        Ok(merge_sources(rows.iter().map(asset_from_row).collect::<Result<_, _>>()?))
    }

    pub async fn image_asset(&self, account: AccountId, image_id: &str) -> Result<Option<ImageAsset>, Error> {
        let rows = sqlx::query(&format!("SELECT {ASSET_COLS} FROM image_assets WHERE account_id = $1 AND image_id = $2 ORDER BY source"))
            .bind(account)
            .bind(image_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(merge_sources(rows.iter().map(asset_from_row).collect::<Result<_, _>>()?).pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(id: &str, name: &str) -> ImageAsset {
        ImageAsset {
            facts: ImageFacts { image_id: id.into(), names: vec![name.into()], size: 100, ..Default::default() },
            sources: vec!["docker".into()],
        }
    }

    #[tokio::test]
    async fn inventory_sync_replaces() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            s.sync_image_assets(a, "docker", &[asset("sha256:1", "a:1"), asset("sha256:2", "b:1")]).await.unwrap();
            assert_eq!(s.image_assets(a).await.unwrap().len(), 2);
            // A second refresh (within the same second) deletes what vanished.
            s.sync_image_assets(a, "docker", &[asset("sha256:2", "b:2")]).await.unwrap();
            let all = s.image_assets(a).await.unwrap();
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].facts.names, vec!["b:2".to_string()]);
            // Another account sees nothing.
            let other = s.create_account().await.unwrap().app_id;
            assert!(s.image_assets(other).await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn one_asset_per_image_across_sources() {
        let dir = tempfile::tempdir().unwrap();
        for (s, a) in crate::testing::stores_with_account(dir.path()).await {
            let mut docker = asset("sha256:1", "app:1");
            docker.facts.container_cnt = 2;
            docker.facts.running_cnt = 1;
            s.sync_image_assets(a, "docker", &[docker, asset("sha256:2", "b:1")]).await.unwrap();
            let mut reg = asset("sha256:1", "reg:5000/app:1");
            reg.facts.repo_digests = vec!["reg:5000/app@sha256:m".into()];
            s.sync_image_assets(a, "registry:reg:5000", &[reg, asset("sha256:3", "reg:5000/only:1")]).await.unwrap();
            let all = s.image_assets(a).await.unwrap();
            assert_eq!(all.iter().map(|x| x.facts.image_id.as_str()).collect::<Vec<_>>(), ["sha256:1", "sha256:2", "sha256:3"]);
            let both = &all[0];
            assert_eq!(both.facts.names, ["app:1", "reg:5000/app:1"]);
            assert_eq!(both.sources, ["docker", "registry:reg:5000"]);
            assert_eq!(both.facts.repo_digests, ["reg:5000/app@sha256:m"]);
            assert_eq!((both.facts.container_cnt, both.facts.running_cnt), (2, 1));
            // Hosts: the engine's and each agent node's; a registry is not one.
            s.sync_image_assets(a, "node:n1", &[asset("sha256:1", "app:1"), asset("sha256:3", "reg:5000/only:1")]).await.unwrap();
            s.sync_image_assets(a, "node:n2", &[asset("sha256:1", "app:1")]).await.unwrap();
            let hosts = s.image_assets(a).await.unwrap().iter().map(ImageAsset::host_cnt).collect::<Vec<_>>();
            assert_eq!(hosts, [3, 1, 1]);
            s.sync_image_assets(a, "node:n1", &[]).await.unwrap();
            s.sync_image_assets(a, "node:n2", &[]).await.unwrap();
            let all = s.image_assets(a).await.unwrap();
            let both = &all[0];
            assert_eq!(s.image_asset(a, "sha256:1").await.unwrap().as_ref(), Some(both));
            // A registry refresh that no longer sees the image leaves the Docker row alone.
            s.sync_image_assets(a, "registry:reg:5000", &[asset("sha256:3", "reg:5000/only:1")]).await.unwrap();
            let one = s.image_asset(a, "sha256:1").await.unwrap().unwrap();
            assert_eq!((one.facts.names.as_slice(), one.sources.as_slice()), (&["app:1".to_string()][..], &["docker".to_string()][..]));
            s.sync_image_assets(a, "docker", &[]).await.unwrap();
            let left = s.image_assets(a).await.unwrap();
            assert_eq!(left.iter().map(|x| x.facts.image_id.as_str()).collect::<Vec<_>>(), ["sha256:3"]);
            assert_eq!(s.image_asset_sources().await.unwrap(), ["registry:reg:5000"]);
            assert_eq!(s.forget_image_asset_source("registry:reg:5000").await.unwrap(), 1);
            assert!(s.image_assets(a).await.unwrap().is_empty());
        }
    }
}
