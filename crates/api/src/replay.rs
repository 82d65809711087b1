//! Replay protection: a TC3 signature is accepted once per action that changes state.
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
//! hop) could send it again and again for as long as its timestamp is within the ±300 s window. Now
//! a (signature, action) pair of a mutating action ([`crate::action::is_mutating_name`]) is carried
//! out at most once: it is claimed before the handler runs (so two copies racing each other cannot
//! both run), kept when the answer is a success, and released when the answer is an error (rate
//! limit, bad parameter, failed operation: nothing changed, so sending it again is a retry). A
//! claimed pair sent again is refused with `AuthFailure` and a message saying it was replayed,
//! until it expires. The pairs are recorded by the [`SeenSignatures`] store (shared by every API
//! replica on one PostgreSQL, kept across restarts) and in this process's memory, which answers
//! repeated replays without a store round trip.
//!
//! **What stays open, and why.** The action is part of the key because the SDKs do not sign it:
//! a signature alone cannot tell a replay under another `X-TC-Action` from a client calling two
//! actions with the same body in the same second, which the SDKs do all the time (`{}` bodies: a
//! `DescribeAssetImageScanTask` then a `ModifyAssetImageScanStop`). Refusing those would break
//! ordinary clients, so a captured request can still be re-sent once under each other mutating
//! action whose parameters its body fits. Reads are idempotent and stay replayable within the
//! window: whoever captured a signed request can read that account's data with it. Both are what
//! TLS (`serve --tls-cert`) is for: a request that cannot be seen cannot be replayed. A request that
//! failed can be sent again within its window and may then succeed (a scan refused while another one
//! ran). A client that sends the same mutating action with the same body twice within one second
//! (same timestamp) has the second refused: it must sign again a second later or change the body.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::credentials::LookupError;
use crate::tc3::MAX_SKEW_SECS;

/// Kept this long past the end of a signature's window, for replicas whose clocks differ a little.
pub const CLOCK_MARGIN_SECS: i64 = 60;
/// Mutating requests' digests kept in memory by one process (≈ 100 bytes each).
pub const MEMORY_CAPACITY: usize = 65_536;

/// The store side: records a signature digest once, shared by every process using the same database.
/// Implemented over the store by the `service` crate.
pub trait SeenSignatures: Send + Sync + 'static {
    /// Records `digest` until `expires_at` (Unix seconds). `Ok(true)` when it was not recorded yet
    /// (or only with an expiry before `now`), `Ok(false)` when it was: a replay.
    fn first_use<'a>(&'a self, digest: &'a [u8; 32], now: i64, expires_at: i64) -> BoxFuture<'a, Result<bool, LookupError>>;

    /// Removes `digest` (its request failed and changed nothing).
    fn forget<'a>(&'a self, digest: &'a [u8; 32]) -> BoxFuture<'a, Result<(), LookupError>>;
}

/// The digest remembered for a request: SHA-256 over the SecretId, the signature bytes and the
/// action (not covered by the signature, see the module doc).
pub fn digest(secret_id: &str, signature: &[u8; 32], action: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(secret_id.as_bytes());
    h.update([0]);
    h.update(signature);
    h.update(action.as_bytes());
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

    /// Reads pass; a mutating action is refused when its digest was seen before.
    pub async fn check(&self, digest: &[u8; 32], timestamp: i64, now: i64, mutating: bool) -> Result<(), Refusal> {
        if !mutating {
            return Ok(());
        }
        let expires = expires_at(timestamp);
        if !self.memory.insert(*digest, expires, now) {
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

impl ReplayGuard {
    /// Releases a digest claimed by [`ReplayGuard::check`] whose request was answered with an error.
    /// If the store cannot be reached the digest stays recorded (the request stays refused).
    pub async fn release(&self, digest: &[u8; 32]) {
        if let Some(store) = &self.store
            && let Err(e) = store.forget(digest).await
        {
            tracing::warn!(error = %e, "could not release the signature of a failed request; re-sending it is refused");
            return;
        }
        self.memory.remove(digest);
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

        fn forget<'a>(&'a self, digest: &'a [u8; 32]) -> BoxFuture<'a, Result<(), LookupError>> {
            Box::pin(async move {
                self.seen.lock().unwrap().remove(digest);
                Ok(())
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
        // A read's digest later used by a mutating request is not taken as a replay.
        assert!(g.check(&d(2), now, now, true).await.is_ok());
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
    async fn released_digest_may_be_used_again() {
        let store = Arc::new(MapStore::default());
        let g = ReplayGuard::new(Some(store.clone()), 100);
        assert!(g.check(&d(5), 0, 0, true).await.is_ok());
        g.release(&d(5)).await;
        assert!(g.check(&d(5), 0, 0, true).await.is_ok());
        assert!(matches!(g.check(&d(5), 0, 0, true).await, Err(Refusal::Replayed)));
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
    fn digest_depends_on_key_signature_and_action() {
        assert_ne!(digest("AKID1", &d(1), "A"), digest("AKID2", &d(1), "A"));
        assert_ne!(digest("AKID1", &d(1), "A"), digest("AKID1", &d(2), "A"));
        assert_ne!(digest("AKID1", &d(1), "A"), digest("AKID1", &d(1), "B"));
        assert_eq!(expires_at(1000), 1000 + 300 + 60);
    }
}
