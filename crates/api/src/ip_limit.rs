//! Per-client-address limit, checked before the body is read and before any key lookup, so a flood
//! from one address costs a map lookup per request and nothing else.
//!
//! A token bucket per address: `rate` requests per second sustained, bursts of `2 × rate`. IPv6
//! addresses count per /64 (one host usually has the whole prefix); IPv4-mapped IPv6 as IPv4.
//! Memory is bounded: at most `capacity` addresses are tracked; when the map is full, addresses whose
//! bucket has refilled are dropped (they are indistinguishable from new ones), and if none has,
//! untracked addresses share one overflow bucket until room frees up. The address is the TCP peer's:
//! behind a reverse proxy every client shares the proxy's bucket, so turn it off there
//! (`serve --ip-rate-limit 0`) and limit at the proxy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses tracked at most (≈ 64 bytes each).
pub const DEFAULT_CAPACITY: usize = 100_000;

pub struct IpLimiter {
    rate: f64,
    burst: f64,
    capacity: usize,
    inner: Mutex<Buckets>,
}

struct Buckets {
    map: HashMap<IpAddr, Bucket>,
    overflow: Bucket,
    /// A sweep that freed nothing is not repeated before this instant (keeps a full map O(1)).
    next_sweep: Option<Instant>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        (self.tokens + now.saturating_duration_since(self.at).as_secs_f64() * rate).min(burst)
    }

    fn take(&mut self, now: Instant, rate: f64, burst: f64) -> bool {
        self.tokens = self.refilled(now, rate, burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl IpLimiter {
    /// `per_second == 0` disables the limit.
    pub fn new(per_second: u32, capacity: usize) -> Self {
        let rate = f64::from(per_second);
        let burst = rate * 2.0;
        let now = Instant::now();
        IpLimiter {
            rate,
            burst,
            capacity: capacity.max(1),
            inner: Mutex::new(Buckets { map: HashMap::new(), overflow: Bucket { tokens: burst, at: now }, next_sweep: None }),
        }
    }

    pub fn per_second(&self) -> u32 {
        self.rate as u32
    }

    /// Takes one token for `addr`; false when its bucket is empty.
    pub fn check(&self, addr: IpAddr, now: Instant) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let key = normalise(addr);
        let (rate, burst) = (self.rate, self.burst);
        // A poisoned lock only means another request panicked mid-update; the map is still usable.
        let mut b = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = b.map.get_mut(&key) {
            return bucket.take(now, rate, burst);
        }
        if b.map.len() >= self.capacity && b.next_sweep.is_none_or(|t| now >= t) {
            b.map.retain(|_, bucket| bucket.refilled(now, rate, burst) < burst);
            // Nothing to free before a full bucket could refill.
            b.next_sweep = (b.map.len() >= self.capacity).then(|| now + Duration::from_secs_f64(burst / rate));
        }
        if b.map.len() >= self.capacity {
            return b.overflow.take(now, rate, burst);
        }
        let mut bucket = Bucket { tokens: burst, at: now };
        let ok = bucket.take(now, rate, burst);
        b.map.insert(key, bucket);
        ok
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.inner.lock().unwrap().map.len()
    }
}

fn normalise(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn burst_then_rate() {
        let l = IpLimiter::new(5, 100);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        assert!((0..10).all(|_| l.check(a, t0)), "a burst of 2 × rate");
        assert!(!l.check(a, t0));
        // Another address is unaffected.
        assert!(l.check(ip("192.0.2.2"), t0));
        // 200 ms later one token (5/s) is back, and only one.
        let t1 = t0 + Duration::from_millis(200);
        assert!(l.check(a, t1));
        assert!(!l.check(a, t1));
    }

    #[test]
    fn ipv6_per_64_and_mapped_v4() {
        let l = IpLimiter::new(1, 100);
        let t0 = Instant::now();
        assert!(l.check(ip("2001:db8::1"), t0));
        assert!(l.check(ip("2001:db8::ffff:2"), t0));
        assert!(!l.check(ip("2001:db8::3"), t0), "same /64: one bucket");
        assert!(l.check(ip("2001:db8:0:1::1"), t0));
        assert!(l.check(ip("198.51.100.7"), t0));
        assert!(l.check(ip("::ffff:198.51.100.7"), t0));
        assert!(!l.check(ip("198.51.100.7"), t0), "mapped v4 is the v4 address");
    }

    #[test]
    fn bounded_with_overflow_bucket() {
        let l = IpLimiter::new(1, 3);
        let t0 = Instant::now();
        for i in 1..=3 {
            assert!(l.check(ip(&format!("10.0.0.{i}")), t0));
        }
        // Full, nobody refilled: newcomers share the overflow bucket (burst 2).
        assert!(l.check(ip("10.0.1.1"), t0));
        assert!(l.check(ip("10.0.1.2"), t0));
        assert!(!l.check(ip("10.0.1.3"), t0));
        assert_eq!(l.tracked(), 3);
        // Once the tracked buckets have refilled they are dropped and newcomers tracked again.
        let t1 = t0 + Duration::from_secs(3);
        assert!(l.check(ip("10.0.2.1"), t1));
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn zero_disables() {
        let l = IpLimiter::new(0, 1);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| l.check(ip("192.0.2.1"), t0)));
    }
}
