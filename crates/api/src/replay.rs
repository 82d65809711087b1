//! Replay protection: a TC3 signature is accepted once for an action that changes state.
//!
//! **What the TC3 signature covers.** The HTTP method, the path, the query string, the headers named
//! in `SignedHeaders`, the SHA-256 of the body, `X-TC-Timestamp` and the credential scope (SecretId
//! by way of its key, the date, the service). The official SDKs (Python 3.1.x, tccli, Node 4.1.x)
//! sign `content-type;host` only, so these are **not** covered: `X-TC-Action`, `X-TC-Version`,
//! `X-TC-Region`, `X-TC-Language`, `X-TC-Token`, `X-TC-RequestClient`, `X-TC-TraceId`. A client
//! that lists `x-tc-action` in `SignedHeaders` (Tencent's documented hand-written example does) gets
//! the action covered too; the verifier checks whatever headers are listed. A client that sends
//! `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` (the Python SDK's opt-in `unsignedPayload`) leaves the body
//! uncovered as well. There is no nonce: two requests with the same key, body, Host and timestamp
//! second have the same signature.
//!
//! **What this closes.** Without it, anyone who sees one signed request (a proxy's log, a plain-HTTP
//! hop) could send it again, unchanged or with another `X-TC-Action`, for as long as its timestamp
//! is within the ±300 s window. Now:
//! - a signature accepted once is refused for every mutating action ([`crate::action::is_mutating_name`];
//!   `AuthFailure`, message saying it was replayed) until it expires: remembered by the
//!   [`SeenSignatures`] store (shared by every API replica on one PostgreSQL, kept across restarts),
//!   and by this process in memory, which also answers repeated replays without a store round trip;
//! - a signature accepted for a read by this process is remembered in memory too, so it cannot be
//!   re-sent with a mutating `X-TC-Action` (the header is not signed) to this process.
//!
//! **What stays open.** Reads are idempotent and stay replayable within the window: whoever captured
//! a signed request can read that account's data with it (same body, any read action) until it
//! expires; TLS (`serve --tls-cert`) is what keeps requests from being seen. A read's signature is
//! not shared between replicas, so one captured read can still become one mutating call on another
//! replica. A legitimate client that sends the same mutating request twice within one second (same
//! timestamp, same body) has the second refused: it must sign again a second later or change the body.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::credentials::LookupError;
use crate::tc3::MAX_SKEW_SECS;

/// Kept this long past the end of a signature's window, for replicas whose clocks differ a little.
pub const CLOCK_MARGIN_SECS: i64 = 60;
/// Signatures kept in memory by one process (≈ 100 bytes each).
pub const MEMORY_CAPACITY: usize = 65_536;

/// The store side: records a signature digest once, shared by every process using the same database.
/// Implemented over the store by the `service` crate.
pub trait SeenSignatures: Send + Sync + 'static {
    /// Records `digest` until `expires_at` (Unix seconds). `Ok(true)` when it was not recorded yet
    /// (or only with an expiry before `now`), `Ok(false)` when it was: a replay.
    fn first_use<'a>(&'a self, digest: &'a [u8; 32], now: i64, expires_at: i64) -> BoxFuture<'a, Result<bool, LookupError>>;
}

/// The digest remembered for a signature: SHA-256 over the SecretId and the signature bytes.
pub fn digest(secret_id: &str, signature: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(secret_id.as_bytes());
    h.update([0]);
    h.update(signature);
    h.finalize().into()
}

/// Until when a signature made at `timestamp` must be remembered.
pub fn expires_at(timestamp: i64) -> i64 {
    timestamp + MAX_SKEW_SECS + CLOCK_MARGIN_SECS
}

/// Why [`ReplayGuard::check`] refused.
#[derive(Debug)]
pub enum Refusal {
    Replayed,
    Store(LookupError),
}

/// The check the auth layer runs after a signature verified: memory first, then the store.
pub struct ReplayGuard {
    store: Option<Arc<dyn SeenSignatures>>,
    memory: RecentSignatures,
}

impl ReplayGuard {
    /// `store: None` keeps signatures in this process's memory only (tests, a router without a store).
    pub fn new(store: Option<Arc<dyn SeenSignatures>>, capacity: usize) -> Self {
        ReplayGuard { store, memory: RecentSignatures::new(capacity) }
    }

    /// Reads are only remembered; a mutating action is refused when the digest was seen before.
    pub async fn check(&self, digest: &[u8; 32], timestamp: i64, now: i64, mutating: bool) -> Result<(), Refusal> {
        let expires = expires_at(timestamp);
        let new_here = self.memory.insert(*digest, expires, now);
        if !mutating {
            return Ok(());
        }
        if !new_here {
            return Err(Refusal::Replayed);
        }
        match &self.store {
            None => Ok(()),
            Some(store) => match store.first_use(digest, now, expires).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Refusal::Replayed),
                Err(e) => {
                    // Not recorded anywhere durable: let a retry of the same request reach the store again.
                    self.memory.remove(digest);
                    Err(Refusal::Store(e))
                }
            },
        }
    }
}

/// A bounded set of digests with expiries, oldest inserted evicted first when full.
struct RecentSignatures {
    capacity: usize,
    inner: Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    expiry: HashMap<[u8; 32], i64>,
    order: VecDeque<[u8; 32]>,
}

impl RecentSignatures {
    fn new(capacity: usize) -> Self {
        RecentSignatures { capacity: capacity.max(1), inner: Mutex::new(Recent::default()) }
    }

    /// Records `digest`; true when it was not present (or had expired).
    fn insert(&self, digest: [u8; 32], expires: i64, now: i64) -> bool {
        // A poisoned lock only means another request panicked mid-update; the set is still usable.
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = r.expiry.get_mut(&digest) {
            if *e >= now {
                return false;
            }
            *e = expires;
            return true;
        }
        // Drop expired entries from the front (insertion order is close to expiry order), then the
        // oldest ones while over capacity.
        while let Some(front) = r.order.front().copied() {
            let expired = r.expiry.get(&front).is_none_or(|e| *e < now);
            if !expired && r.order.len() < self.capacity {
                break;
            }
            r.order.pop_front();
            r.expiry.remove(&front);
        }
        r.expiry.insert(digest, expires);
        r.order.push_back(digest);
        true
    }

    /// Forgets `digest` (marks it expired; its slot goes when it reaches the front).
    fn remove(&self, digest: &[u8; 32]) {
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = r.expiry.get_mut(digest) {
            *e = i64::MIN;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap().expiry.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A store stand-in: a map, and a count of calls.
    #[derive(Default)]
    struct MapStore {
        seen: Mutex<HashMap<[u8; 32], i64>>,
        calls: AtomicUsize,
        fail: bool,
    }

    impl SeenSignatures for MapStore {
        fn first_use<'a>(&'a self, digest: &'a [u8; 32], now: i64, expires_at: i64) -> BoxFuture<'a, Result<bool, LookupError>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                if self.fail {
                    return Err(LookupError("database down".into()));
                }
                let mut m = self.seen.lock().unwrap();
                match m.get(digest) {
                    Some(e) if *e >= now => Ok(false),
                    _ => {
                        m.insert(*digest, expires_at);
                        Ok(true)
                    }
                }
            })
        }
    }

    fn d(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[tokio::test]
    async fn mutating_once_reads_always() {
        let store = Arc::new(MapStore::default());
        let g = ReplayGuard::new(Some(store.clone()), 100);
        let now = 1_000_000;
        assert!(g.check(&d(1), now, now, true).await.is_ok());
        assert!(matches!(g.check(&d(1), now, now + 1, true).await, Err(Refusal::Replayed)));
        // The second refusal came from memory: one store call in all.
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
        for _ in 0..3 {
            assert!(g.check(&d(2), now, now, false).await.is_ok());
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 1, "reads never reach the store");
        // A read's signature re-sent with a mutating action is a replay (X-TC-Action is not signed).
        assert!(matches!(g.check(&d(2), now, now, true).await, Err(Refusal::Replayed)));
        // A mutating signature may be re-sent as a read.
        assert!(g.check(&d(1), now, now, false).await.is_ok());
    }

    #[tokio::test]
    async fn shared_store_refuses_what_another_process_accepted() {
        let store = Arc::new(MapStore::default());
        let a = ReplayGuard::new(Some(store.clone()), 100);
        let b = ReplayGuard::new(Some(store.clone()), 100);
        let now = 1_000_000;
        assert!(a.check(&d(7), now, now, true).await.is_ok());
        assert!(matches!(b.check(&d(7), now, now, true).await, Err(Refusal::Replayed)));
        // Once the window (plus margin) is over the digest may be recorded again; by then the
        // timestamp check refuses the request anyway.
        let later = expires_at(now) + 1;
        assert!(b.check(&d(7), now, later, true).await.is_ok());
    }

    #[tokio::test]
    async fn store_failure_is_an_error_and_not_remembered() {
        let store = Arc::new(MapStore { fail: true, ..MapStore::default() });
        let g = ReplayGuard::new(Some(store.clone()), 100);
        assert!(matches!(g.check(&d(3), 0, 0, true).await, Err(Refusal::Store(_))));
        assert!(matches!(g.check(&d(3), 0, 0, true).await, Err(Refusal::Store(_))));
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn memory_is_bounded_and_expires() {
        let m = RecentSignatures::new(4);
        for i in 0..10u8 {
            assert!(m.insert(d(i), 100, 0));
        }
        assert_eq!(m.len(), 4);
        // The newest are kept, the oldest evicted.
        assert!(!m.insert(d(9), 100, 0));
        assert!(m.insert(d(0), 100, 0));
        // Expired entries make room and can be inserted again.
        assert!(m.insert(d(9), 200, 150));
        assert!(m.len() <= 4);
    }

    #[test]
    fn digest_depends_on_key_and_signature() {
        assert_ne!(digest("AKID1", &d(1)), digest("AKID2", &d(1)));
        assert_ne!(digest("AKID1", &d(1)), digest("AKID1", &d(2)));
        assert_eq!(expires_at(1000), 1000 + 300 + 60);
    }
}
