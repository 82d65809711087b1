//! Per-(account, action) request rate limit: at most `N` accepted requests in any sliding
//! one-second window (the TCSS pages state 20 requests per second per action).
//!
//! A sliding log rather than a token bucket so the guarantee is exact: N+1 calls within one second
//! always see a refusal, whatever the arrival pattern. Memory: ≤ N instants per active key; keys are
//! bounded by accounts × known actions (unknown actions are refused before this point).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use model::AccountId;

const WINDOW: Duration = Duration::from_secs(1);

pub struct RateLimiter {
    per_second: u32,
    log: Mutex<HashMap<(AccountId, &'static str), VecDeque<Instant>>>,
}

impl RateLimiter {
    /// `per_second == 0` disables the limit (benchmarks).
    pub fn new(per_second: u32) -> Self {
        RateLimiter { per_second, log: Mutex::new(HashMap::new()) }
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

    #[test]
    fn zero_disables() {
        let rl = RateLimiter::new(0);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| rl.check(1, "A", t0)));
    }
}
