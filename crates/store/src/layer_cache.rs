//! The per-layer index cache of the scan pipeline (server side; the CLI keeps the same entries
//! in a directory). Values are opaque bytes to the store: `scan` serialises and versions them.
//! Content-addressed and derived from layer content, so shared by all accounts like advisories.

use sqlx::Row;

use crate::{Error, Store, now_unix};

impl Store {
    /// The cached entry under `key`, if any.
    pub async fn layer_cache_get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let row = sqlx::query("SELECT data FROM layer_cache WHERE cache_key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(match row {
            Some(r) => Some(r.try_get::<Vec<u8>, _>(0)?),
            None => None,
        })
    }

    /// Stores an entry; a concurrent writer of the same key wins (same key, same content).
    pub async fn layer_cache_put(&self, key: &str, diff_id: &str, data: &[u8]) -> Result<(), Error> {
        let now = now_unix();
        sqlx::query(
            "INSERT INTO layer_cache (cache_key, diff_id, data, size, created_at, used_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (cache_key) DO NOTHING",
        )
        .bind(key)
        .bind(diff_id)
        .bind(data.to_vec())
        .bind(data.len() as i64)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Number of entries and their total size in bytes.
    pub async fn layer_cache_stats(&self) -> Result<(u64, u64), Error> {
        let row = sqlx::query("SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM layer_cache").fetch_one(&self.pool).await?;
        let n: i64 = row.try_get(0)?;
        let size: i64 = row.try_get(1)?;
        Ok((n.max(0) as u64, size.max(0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[tokio::test]
    async fn put_get_both_backends() {
        let dir = tempfile::tempdir().unwrap();
        let mut stores = vec![Store::open(dir.path(), None).await.unwrap()];
        if let Some(url) = crate::testing::fresh_postgres().await.unwrap() {
            stores.push(Store::open(&dir.path().join("pg"), Some(&url)).await.unwrap());
        }
        for s in stores {
            assert_eq!(s.layer_cache_get("k1").await.unwrap(), None);
            s.layer_cache_put("k1", "sha256:aa", b"\x00\x01hello").await.unwrap();
            // Second put of the same key is not an error and keeps the first value.
            s.layer_cache_put("k1", "sha256:aa", b"other").await.unwrap();
            assert_eq!(s.layer_cache_get("k1").await.unwrap().as_deref(), Some(&b"\x00\x01hello"[..]));
            assert_eq!(s.layer_cache_stats().await.unwrap(), (1, 7));
        }
    }
}
