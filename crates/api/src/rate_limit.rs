//! Per-(account, action) request rate limit (the TCSS pages state 20 requests per second per action).
//!
//! One process ([`RateLimiter`] alone): at most `N` accepted requests in any sliding one-second
//! window. A sliding log rather than a token bucket so the guarantee is exact: N+1 calls within one
//! second always see a refusal, whatever the arrival pattern. Memory: ≤ N instants per active key;
//! keys are bounded by accounts × known actions (unknown actions are refused before this point).
//!
//! Several replicas ([`RateLimiter::shared`], a [`SharedRateCounter`] over the database): a
//! per-(account, action) counter of the current wall-clock second is kept where all replicas see
//! it, and each replica *leases* tokens from it — 1, then 2, 4, … up to [`lease_size`] at a time —
//! and spends them locally. A replica that learns the second's budget is used up refuses locally
//! until the second ends. So a key costs a replica at most about `log2(B) + N/B + 1` database
//! round trips per second however many requests arrive (B = [`lease_size`]; N = 20: B = 5, ≤ 7),
//! instead of one per request on one hot row.
//!
//! How exact, with R replicas:
//! - Overshoot: none per calendar second. Every lease is one atomic upsert and is granted only
//!   what is left below N, so at most N requests are accepted per second across all replicas.
//!   As before it is a fixed window: a burst straddling a second boundary can get up to 2N
//!   accepted within one sliding second, and replicas' clocks must agree to well under a second
//!   (NTP); a lagging replica's lease counts in the newer stored second.
//! - Undershoot: tokens leased by one replica are not usable by another, so a request may be
//!   refused while other replicas still hold unspent tokens of that second: a refusal comes only
//!   after at least `N − (R−1)·B` acceptances in that second (N = 20, B = 5, two replicas: ≥ 15).
//!   One replica (R = 1) is exact per second.
//!
//! When the shared counter cannot be reached the replica falls back to its own sliding log (the
//! limit then holds per replica).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use model::AccountId;

use crate::credentials::LookupError;

/// The per-(account, action) counter of one-second windows where every replica sees it.
pub trait SharedRateCounter: Send + Sync + 'static {
    /// Adds `n` tokens taken by this replica to the window starting at `window` (unix seconds) and
    /// returns the window's count including them.
    fn take<'a>(&'a self, account: AccountId, action: &'static str, window: i64, n: u32) -> BoxFuture<'a, Result<u64, LookupError>>;
}

const WINDOW: Duration = Duration::from_secs(1);

/// The most tokens a replica leases at once for a limit of `per_second`: a quarter of the
/// second's budget, so two replicas strand at most a quarter of it between them.
pub fn lease_size(per_second: u32) -> u32 {
    per_second.div_ceil(4).max(1)
}

/// One replica's tokens of one key for one second.
#[derive(Default)]
struct Budget {
    window: i64,
    tokens: u32,
    leases: u32,
    /// The shared counter granted less than asked: nothing is left this second.
    exhausted: bool,
}

type Key = (AccountId, &'static str);

pub struct RateLimiter {
    per_second: u32,
    log: Mutex<HashMap<Key, VecDeque<Instant>>>,
    shared: Option<Arc<dyn SharedRateCounter>>,
    /// Per key, so requests of one key wait for one lease round trip instead of racing to the
    /// database; the map lock itself is never held across an await.
    budgets: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<Budget>>>>,
}

impl RateLimiter {
    /// `per_second == 0` disables the limit (benchmarks).
    pub fn new(per_second: u32) -> Self {
        RateLimiter { per_second, log: Mutex::new(HashMap::new()), shared: None, budgets: Mutex::new(HashMap::new()) }
    }

    /// The limit across replicas, leased from `counter` (see the module docs for how exact).
    pub fn shared(per_second: u32, counter: Arc<dyn SharedRateCounter>) -> Self {
        RateLimiter { shared: Some(counter), ..RateLimiter::new(per_second) }
    }

    /// Counts the request and returns true when it is within the limit: against the shared
    /// counter's budget when there is one, else (or when it fails) in this process's log.
    pub async fn admit(&self, account: AccountId, action: &'static str) -> bool {
        self.admit_at(account, action, unix_now).await
    }

    /// [`Self::admit`] with the clock given: `window` is read once the key's turn has come.
    async fn admit_at(&self, account: AccountId, action: &'static str, window: impl FnOnce() -> i64) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let Some(counter) = &self.shared else {
            return self.check(account, action, Instant::now());
        };
        let cell = {
            let mut budgets = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(budgets.entry((account, action)).or_default())
        };
        let mut b = cell.lock().await;
        let window = window();
        if b.window != window {
            *b = Budget { window, ..Budget::default() };
        }
        if b.tokens == 0 {
            if b.exhausted {
                return false;
            }
            let want = lease_size(self.per_second).min(1 << b.leases.min(31));
            match counter.take(account, action, window, want).await {
                Ok(count) => {
                    let left = u64::from(self.per_second).saturating_sub(count.saturating_sub(u64::from(want)));
                    let granted = left.min(u64::from(want)) as u32;
                    b.leases += 1;
                    b.tokens = granted;
                    b.exhausted = granted < want;
                }
                Err(e) => {
                    drop(b);
                    tracing::warn!(error = %e, "shared rate limit counter unavailable: limiting per replica");
                    return self.check(account, action, Instant::now());
                }
            }
            if b.tokens == 0 {
                return false;
            }
        }
        b.tokens -= 1;
        true
    }

    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Records the request in this process's sliding log and returns true when it is within the limit.
    pub fn check(&self, account: AccountId, action: &'static str, now: Instant) -> bool {
        if self.per_second == 0 {
            return true;
        }
        // A poisoned lock only means another request panicked mid-update; the log is still usable.
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let q = log.entry((account, action)).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= self.per_second as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Checks of the shared limit's guarantees, for this crate's tests and for the same checks over a
/// real database (`service`).
pub mod exactness {
    use super::*;

    /// R replicas over `counter` with a limit of `per_second`, fed `per_replica` requests each in
    /// round-robin within each of `windows` consecutive seconds. Returns, per second, the accepted
    /// count and whether any request was refused.
    pub async fn round_robin(
        counter: Arc<dyn SharedRateCounter>,
        replicas: usize,
        per_second: u32,
        per_replica: usize,
        windows: std::ops::Range<i64>,
        account: AccountId,
    ) -> Vec<(u32, bool)> {
        let limiters: Vec<_> = (0..replicas).map(|_| RateLimiter::shared(per_second, Arc::clone(&counter))).collect();
        let mut out = Vec::new();
        for w in windows {
            let (mut accepted, mut refused) = (0, false);
            for _ in 0..per_replica {
                for l in &limiters {
                    if l.admit_at(account, "DescribeX", || w).await {
                        accepted += 1;
                    } else {
                        refused = true;
                    }
                }
            }
            out.push((accepted, refused));
        }
        out
    }

    /// The module docs' bounds for one second: never more than N accepted, and a refusal only
    /// after at least N − (R−1)·B.
    pub fn within_bounds(accepted: u32, refused: bool, replicas: usize, per_second: u32) -> bool {
        let floor = per_second.saturating_sub((replicas as u32 - 1) * lease_size(per_second));
        accepted <= per_second && (!refused || accepted >= floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn sliding_window() {
        let rl = RateLimiter::new(20);
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(rl.check(1, "A", t0 + Duration::from_millis(i * 10)));
        }
        // 21st within the second: refused; other action and other account unaffected.
        assert!(!rl.check(1, "A", t0 + Duration::from_millis(500)));
        assert!(rl.check(1, "B", t0 + Duration::from_millis(500)));
        assert!(rl.check(2, "A", t0 + Duration::from_millis(500)));
        // Once the first call is a second old one slot frees up.
        assert!(rl.check(1, "A", t0 + Duration::from_millis(1000)));
        assert!(!rl.check(1, "A", t0 + Duration::from_millis(1005)));
    }

    /// The shared counter's arithmetic in memory (the same over PostgreSQL and SQLite is checked in
    /// `service`), counting round trips.
    #[derive(Default)]
    struct Counter {
        windows: Mutex<HashMap<Key, (i64, u64)>>,
        trips: AtomicUsize,
    }
    impl SharedRateCounter for Counter {
        fn take<'a>(&'a self, account: AccountId, action: &'static str, window: i64, n: u32) -> BoxFuture<'a, Result<u64, LookupError>> {
            self.trips.fetch_add(1, Ordering::Relaxed);
            let mut m = self.windows.lock().unwrap();
            let e = m.entry((account, action)).or_insert((window, 0));
            if window > e.0 {
                *e = (window, 0);
            }
            e.1 += u64::from(n);
            let n = e.1;
            Box::pin(async move { Ok(n) })
        }
    }

    #[tokio::test]
    async fn replicas_share_one_budget_within_the_stated_bounds() {
        for (replicas, per_second, per_replica) in [(1, 20, 30), (2, 20, 15), (2, 20, 30), (3, 20, 12), (4, 5, 3), (2, 1, 5)] {
            let counter = Arc::new(Counter::default());
            let seconds = exactness::round_robin(counter.clone(), replicas, per_second, per_replica, 100..103, 1).await;
            for (accepted, refused) in &seconds {
                assert!(
                    exactness::within_bounds(*accepted, *refused, replicas, per_second),
                    "R={replicas} N={per_second} per replica {per_replica}: {seconds:?}"
                );
            }
            if replicas == 1 {
                assert!(seconds.iter().all(|s| *s == (per_second, true)), "one replica is exact: {seconds:?}");
            }
            // Most requests touch no counter: per replica and second, leases of 1, 2, 4, … up to
            // B, then one that finds the budget gone.
            let b = lease_size(per_second);
            let per_window = (b.ilog2() + 1 + per_second.div_ceil(b) + 1) as usize;
            let trips = counter.trips.load(Ordering::Relaxed);
            assert!(trips <= replicas * per_window * seconds.len(), "{trips} round trips");
        }
    }

    #[tokio::test]
    async fn a_refused_second_stops_asking_and_the_next_starts_afresh() {
        let counter = Arc::new(Counter::default());
        let rl = RateLimiter::shared(20, counter.clone());
        let accepted = {
            let mut n = 0;
            for _ in 0..1000 {
                n += usize::from(rl.admit_at(1, "A", || 7).await);
            }
            n
        };
        assert_eq!(accepted, 20);
        let trips = counter.trips.load(Ordering::Relaxed);
        assert!(trips <= 8, "1000 requests, {trips} round trips");
        assert!(rl.admit_at(1, "A", || 8).await, "a new second");
        assert!(rl.admit_at(2, "A", || 7).await, "another account has its own budget");
    }

    struct Down;
    impl SharedRateCounter for Down {
        fn take<'a>(&'a self, _: AccountId, _: &'static str, _: i64, _: u32) -> BoxFuture<'a, Result<u64, LookupError>> {
            Box::pin(async { Err(LookupError("database gone".into())) })
        }
    }

    #[tokio::test]
    async fn an_unreachable_counter_falls_back_to_the_local_log() {
        let rl = RateLimiter::shared(3, Arc::new(Down));
        let mut accepted = 0;
        for _ in 0..10 {
            accepted += usize::from(rl.admit(1, "A").await);
        }
        assert_eq!(accepted, 3);
    }

    #[test]
    fn zero_disables() {
        let rl = RateLimiter::new(0);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| rl.check(1, "A", t0)));
    }
}
