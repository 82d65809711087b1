//! Signatures already accepted for mutating actions (api's replay protection, `api::replay`): one
//! insert-if-absent per mutating request, shared by every API process on the same database (the
//! table is the same on both backends, so a SQLite server restarted within the window still refuses
//! a replay). Expired rows are pruned by the inserts themselves, about once every 256.

use crate::{Error, Store};

impl Store {
    /// Records `digest` until `expires_at`. `true` when it was new (or its row had expired before
    /// `now`), `false` when an unexpired row exists: the signature was accepted before.
    pub async fn first_signature_use(&self, digest: &[u8; 32], now: i64, expires_at: i64) -> Result<bool, Error> {
        // One statement, atomic on both backends: a concurrent insert of the same digest either
        // conflicts (and sees the unexpired row) or wins.
        let inserted = sqlx::query(
            "INSERT INTO seen_signatures (digest, expires_at) VALUES ($1, $2) \
             ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_signatures.expires_at < $3",
        )
        .bind(digest.to_vec())
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        // The digest is uniformly distributed: pruning on one byte value spreads it over ~1/256 of
        // the inserts without any shared counter, across every process.
        if inserted && digest[0] == 0 {
            self.prune_seen_signatures(now).await?;
        }
        Ok(inserted)
    }

    /// Deletes `digest` (its request failed and changed nothing, so it may be sent again).
    pub async fn forget_signature(&self, digest: &[u8; 32]) -> Result<(), Error> {
        sqlx::query("DELETE FROM seen_signatures WHERE digest = $1").bind(digest.to_vec()).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes the rows expired before `now`; returns how many.
    pub async fn prune_seen_signatures(&self, now: i64) -> Result<u64, Error> {
        Ok(sqlx::query("DELETE FROM seen_signatures WHERE expires_at < $1").bind(now).execute(&self.pool).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::stores_with_account;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn insert_if_absent_expires_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        for (store, _) in stores_with_account(dir.path()).await {
            let (a, b) = ([1u8; 32], [0u8; 32]);
            assert!(store.first_signature_use(&a, 1000, 1360).await.unwrap());
            assert!(!store.first_signature_use(&a, 1001, 1361).await.unwrap(), "{:?}", store.backend());
            assert!(!store.first_signature_use(&a, 1360, 1720).await.unwrap(), "still inside the window at its expiry");
            // Past its expiry the row no longer counts (and is reused).
            assert!(store.first_signature_use(&a, 1361, 1721).await.unwrap());
            assert!(!store.first_signature_use(&a, 1362, 1722).await.unwrap());
            store.forget_signature(&a).await.unwrap();
            assert!(store.first_signature_use(&a, 1362, 1722).await.unwrap());
            // Concurrent first uses of one digest: exactly one wins.
            let c = [2u8; 32];
            let tries: Vec<_> = (0..8)
                .map(|_| {
                    let s = store.clone();
                    tokio::spawn(async move { s.first_signature_use(&c, 1000, 1360).await.unwrap() })
                })
                .collect();
            let mut won = 0;
            for t in tries {
                won += usize::from(t.await.unwrap());
            }
            assert_eq!(won, 1);
            // A digest starting with 0 prunes what expired before `now`.
            assert!(store.first_signature_use(&b, 1500, 1860).await.unwrap());
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seen_signatures").fetch_one(store.pool()).await.unwrap();
            assert_eq!(left, 2, "c (expired at 1360) pruned; a (1721) and b kept");
            assert_eq!(store.prune_seen_signatures(2000).await.unwrap(), 2);
        }
    }

    /// The replay check's cost per mutating request, per backend: `cargo test -p store --lib
    /// seen_signatures::tests::cost -- --ignored --nocapture` (with SHIPSHAPE_TEST_PG for PostgreSQL).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "measurement, not a check"]
    async fn cost() {
        let dir = tempfile::tempdir().unwrap();
        for (store, _) in stores_with_account(dir.path()).await {
            let n = 2000u32;
            let digest = |i: u32, salt: u8| {
                let mut d = [salt; 32];
                d[1..5].copy_from_slice(&i.to_le_bytes());
                d
            };
            let t = std::time::Instant::now();
            for i in 0..n {
                assert!(store.first_signature_use(&digest(i, 1), 1000, 1360).await.unwrap());
            }
            let sequential = t.elapsed() / n;
            let t = std::time::Instant::now();
            let tasks: Vec<_> = (0..16u8)
                .map(|k| {
                    let s = store.clone();
                    tokio::spawn(async move {
                        for i in 0..n / 16 {
                            s.first_signature_use(&digest(i, 100 + k), 1000, 1360).await.unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let per_second = f64::from(n) / t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            for i in 0..n {
                assert!(!store.first_signature_use(&digest(i, 1), 1001, 1361).await.unwrap());
            }
            let replay = t.elapsed() / n;
            println!(
                "{:?}: first use {sequential:?}/call sequential, {per_second:.0}/s with 16 concurrent; replay (conflict) {replay:?}/call",
                store.backend()
            );
        }
    }
}
