//! Coordination between the processes that share one database (API replicas, workers), with no
//! protocol of their own: each primitive is one atomic statement on both backends.
//!
//! - [`Store::claim_job_slot`]: exactly one process runs a periodic job per slot (the image scan
//!   scheduler, the compliance periodic tasks, the inventory refresh period).
//! - [`Store::take_rate_tokens`]: the per-(account, action) counter of the current one-second
//!   window from which every API replica on PostgreSQL takes its rate budget (`api::rate_limit`).
//! - [`Store::ping`]: the cheap query behind `/readyz`.

use model::AccountId;
use sqlx::Row;

use crate::{Error, Store};

impl Store {
    /// Claims slot `slot` of job `name` for `holder`: `true` for exactly one caller per (name,
    /// slot), however many processes race, `false` for the others and for any slot at or below
    /// the last one claimed (a slot never fires twice, nor goes back).
    pub async fn claim_job_slot(&self, name: &str, slot: i64, holder: &str, now: i64) -> Result<bool, Error> {
        // The conflicting row is locked by the upsert (PostgreSQL) or the write lock (SQLite):
        // the second of two racers sees the first one's slot and its WHERE fails.
        let claimed = sqlx::query(
            "INSERT INTO job_slots (name, slot, holder, claimed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET slot = excluded.slot, holder = excluded.holder, claimed_at = excluded.claimed_at \
             WHERE job_slots.slot < excluded.slot",
        )
        .bind(name)
        .bind(slot)
        .bind(holder)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        Ok(claimed)
    }

    /// Takes `n` tokens of (`account`, `action`)'s budget for the one-second window starting at
    /// `window` (unix seconds) and returns the window's count including them; the caller was
    /// granted `min(n, limit - (count - n))` of them. One atomic upsert, so leases from any number
    /// of replicas add up exactly. A lease stamped with an older window than the stored one (a
    /// replica whose clock lags) counts in the stored window.
    pub async fn take_rate_tokens(&self, account: AccountId, action: &str, window: i64, n: u32) -> Result<u64, Error> {
        let row = sqlx::query(
            "INSERT INTO api_rate_windows (account_id, action, window_start, hits) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, action) DO UPDATE SET \
               hits = CASE WHEN excluded.window_start > api_rate_windows.window_start THEN excluded.hits \
                      ELSE api_rate_windows.hits + excluded.hits END, \
               window_start = CASE WHEN excluded.window_start > api_rate_windows.window_start \
                              THEN excluded.window_start ELSE api_rate_windows.window_start END \
             RETURNING hits",
        )
        .bind(account)
        .bind(action)
        .bind(window)
        .bind(i64::from(n))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>(0)?.max(0) as u64)
    }

    /// One trivial round trip: the database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::stores_with_account;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_claim_per_slot_among_racers() {
        let dir = tempfile::tempdir().unwrap();
        for (store, _) in stores_with_account(dir.path()).await {
            let backend = store.backend();
            // Eight racers for each of three slots: one winner each.
            for slot in [100, 101, 105] {
                let racers: Vec<_> = (0..8)
                    .map(|i| {
                        let s = store.clone();
                        tokio::spawn(async move { s.claim_job_slot("job", slot, &format!("w{i}"), 0).await.unwrap() })
                    })
                    .collect();
                let mut won = 0;
                for r in racers {
                    won += usize::from(r.await.unwrap());
                }
                assert_eq!(won, 1, "{backend:?} slot {slot}");
            }
            // An older slot never fires again; another job name is independent.
            assert!(!store.claim_job_slot("job", 104, "late", 0).await.unwrap());
            assert!(store.claim_job_slot("other", 104, "w", 0).await.unwrap());
            store.ping().await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rate_tokens_add_up_and_roll_over() {
        let dir = tempfile::tempdir().unwrap();
        for (store, a) in stores_with_account(dir.path()).await {
            let backend = store.backend();
            // Ten racing leases of 3 tokens: each sees its own running total.
            let leases: Vec<_> = (0..10)
                .map(|_| {
                    let s = store.clone();
                    tokio::spawn(async move { s.take_rate_tokens(a, "DescribeX", 1000, 3).await.unwrap() })
                })
                .collect();
            let mut seen = Vec::new();
            for l in leases {
                seen.push(l.await.unwrap());
            }
            seen.sort_unstable();
            assert_eq!(seen, (1..=10).map(|i| 3 * i).collect::<Vec<u64>>(), "{backend:?}: every lease gets its own count");
            assert_eq!(store.take_rate_tokens(a, "DescribeY", 1000, 1).await.unwrap(), 1);
            // A late replica's older window counts in the current one; a new second starts afresh.
            assert_eq!(store.take_rate_tokens(a, "DescribeX", 999, 2).await.unwrap(), 32);
            assert_eq!(store.take_rate_tokens(a, "DescribeX", 1001, 5).await.unwrap(), 5);
            assert_eq!(store.take_rate_tokens(a, "DescribeX", 1001, 1).await.unwrap(), 6);
        }
    }
}
