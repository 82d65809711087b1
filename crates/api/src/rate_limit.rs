//! Per-(account, action) request rate limit (the TCSS pages state 20 requests per second per action).
//!
//! One process ([`RateLimiter`] alone): at most `N` accepted requests in any sliding one-second
//! window. A sliding log rather than a token bucket so the guarantee is exact: N+1 calls within one
//! second always see a refusal, whatever the arrival pattern. Memory: ≤ N instants per active key;
//! keys are bounded by accounts × known actions (unknown actions are refused before this point).
//!
//! Several replicas ([`RateLimiter::shared`], a [`SharedRateCounter`] over the database): every
//! request counts itself in a per-(account, action) counter of the current wall-clock second, kept
//! where all replicas see it. Exact per calendar second across replicas (the count is one atomic
//! upsert), but a fixed window: a burst straddling a second boundary can get up to 2N accepted
//! within one sliding second, and replicas' clocks must agree to well under a second (NTP). When
//! the shared counter cannot be reached the replica falls back to its own sliding log (the limit
//! then holds per replica).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use model::AccountId;

use crate::credentials::LookupError;

/// Counts requests per (account, action) and one-second window where every replica sees them.
pub trait SharedRateCounter: Send + Sync + 'static {
    /// Counts one request in the window starting at `window` (unix seconds); returns the
    /// window's count including it.
    fn hit<'a>(&'a self, account: AccountId, action: &'static str, window: i64) -> BoxFuture<'a, Result<u64, LookupError>>;
}

const WINDOW: Duration = Duration::from_secs(1);

pub struct RateLimiter {
    per_second: u32,
    log: Mutex<HashMap<(AccountId, &'static str), VecDeque<Instant>>>,
    shared: Option<Arc<dyn SharedRateCounter>>,
}

impl RateLimiter {
    /// `per_second == 0` disables the limit (benchmarks).
    pub fn new(per_second: u32) -> Self {
        RateLimiter { per_second, log: Mutex::new(HashMap::new()), shared: None }
    }

    /// The limit across replicas, counted in `counter` (see the module docs for how exact).
    pub fn shared(per_second: u32, counter: Arc<dyn SharedRateCounter>) -> Self {
        RateLimiter { shared: Some(counter), ..RateLimiter::new(per_second) }
    }

    /// Counts the request and returns true when it is within the limit: in the shared counter
    /// when there is one, else (or when it fails) in this process's log.
    pub async fn admit(&self, account: AccountId, action: &'static str) -> bool {
        if self.per_second == 0 {
            return true;
        }
        if let Some(counter) = &self.shared {
            let window = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
            match counter.hit(account, action, window).await {
                Ok(n) => return n <= u64::from(self.per_second),
                Err(e) => tracing::warn!(error = %e, "shared rate limit counter unavailable: limiting per replica"),
            }
        }
        self.check(account, action, Instant::now())
    }

    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Records the request and returns true when it is within the limit.
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

#[cfg(test)]
mod tests {
    use super::*;

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

    struct Counter(Mutex<HashMap<(AccountId, &'static str, i64), u64>>);
    impl SharedRateCounter for Counter {
        fn hit<'a>(&'a self, account: AccountId, action: &'static str, window: i64) -> BoxFuture<'a, Result<u64, LookupError>> {
            let mut m = self.0.lock().unwrap();
            let n = m.entry((account, action, window)).or_default();
            *n += 1;
            let n = *n;
            Box::pin(async move { Ok(n) })
        }
    }

    #[tokio::test]
    async fn replicas_share_one_budget() {
        let counter = Arc::new(Counter(Mutex::new(HashMap::new())));
        let (a, b) = (RateLimiter::shared(5, counter.clone()), RateLimiter::shared(5, counter));
        let mut accepted = 0;
        // Two replicas, 10 requests each within far less than a second (at most one boundary).
        for _ in 0..10 {
            accepted += usize::from(a.admit(1, "A").await) + usize::from(b.admit(1, "A").await);
        }
        assert!((5..=10).contains(&accepted), "{accepted}");
    }

    #[test]
    fn zero_disables() {
        let rl = RateLimiter::new(0);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| rl.check(1, "A", t0)));
    }
}
