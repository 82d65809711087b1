//! The one skeleton of a durable-queue worker (image scans, compliance tasks, Harbor scans):
//! claim loops that take a row from a `store::queue` table (a pending one, or one whose worker
//! stopped heartbeating: [`LoopConfig::stale_after`]), run it in a span that names its task, keep
//! it alive with a [`heartbeat`] while it runs, and leave the finishing to the job, which writes
//! only while it still owns the row. A [`WorkerHandle`] wakes the loops, stops them and waits for
//! them. What differs between queues is a [`ClaimJob`]; the loop, the worker ids, the heartbeat
//! and the handle are written once, here.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::Cancel;

/// One kind of queued work.
pub trait ClaimJob: Send + Sync + 'static {
    type Claim: Send + 'static;
    /// What one claim is, for log lines ("an image scan").
    const WHAT: &'static str;
    /// Claims the next row for `worker`: a pending one, or a running one whose heartbeat is older
    /// than `stale_before` (unix seconds).
    fn claim(&self, worker: &str, stale_before: i64) -> impl Future<Output = Result<Option<Self::Claim>, store::Error>> + Send;
    /// The span every line logged while the claim runs carries: it names the task.
    fn span(claim: &Self::Claim) -> tracing::Span;
    /// Carries a claim out, and ends it only while `worker` still owns it. Errors are the job's
    /// to log: the loop goes on with the next claim.
    fn run(&self, worker: &str, claim: Self::Claim) -> impl Future<Output = ()> + Send;
}

/// How a job's claim loops run.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Claim loops (claims carried out at once by this process).
    pub loops: usize,
    /// A claim whose heartbeat is older than this is taken over (its worker died).
    pub stale_after: Duration,
    /// How long an idle loop waits before looking again (unless woken).
    pub idle: Duration,
}

/// The running loops of a worker: [`wake`](Self::wake) them after queueing work, [`shutdown`](Self::shutdown)
/// them and wait for them with [`stopped`](Self::stopped). Cheap to clone.
#[derive(Clone)]
pub struct WorkerHandle {
    stop: Cancel,
    wake: Arc<Notify>,
    refresh: Vec<Arc<Notify>>,
    loops: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Default for WorkerHandle {
    fn default() -> Self {
        WorkerHandle::new()
    }
}

impl WorkerHandle {
    pub fn new() -> WorkerHandle {
        WorkerHandle { stop: Cancel::new(), wake: Arc::new(Notify::new()), refresh: Vec::new(), loops: Arc::default() }
    }

    /// Cancelled by [`shutdown`](Self::shutdown): every loop of the worker watches it.
    pub fn stop(&self) -> Cancel {
        self.stop.clone()
    }

    /// What [`wake`](Self::wake) pokes, for whoever queues work (the Harbor adapter).
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Wakes idle claim loops (work was just queued).
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// Also poked by [`refresh`](Self::refresh).
    pub fn on_refresh(&mut self, n: Arc<Notify>) {
        self.refresh.push(n);
    }

    /// Re-reads what the worker watches now instead of at its next period (`serve` on SIGHUP).
    pub fn refresh(&self) {
        for n in &self.refresh {
            n.notify_one();
        }
    }

    /// Starts `cfg.loops` claim loops of `job`, ended by [`shutdown`](Self::shutdown).
    pub fn spawn_loops<J: ClaimJob>(&self, job: Arc<J>, kind: &str, cfg: &LoopConfig) {
        let id = worker_id(kind);
        let mut loops = self.loops.lock().unwrap_or_else(|e| e.into_inner());
        for n in 0..cfg.loops.max(1) {
            let (job, worker, cfg, stop, wake) = (Arc::clone(&job), format!("{id}#{n}"), cfg.clone(), self.stop(), self.waker());
            loops.push(tokio::spawn(claim_loop(job, worker, cfg, stop, wake)));
        }
    }

    pub fn shutdown(&self) {
        self.stop.cancel();
        self.wake.notify_waiters();
    }

    /// After [`shutdown`](Self::shutdown): waits until every claim loop has ended (each having
    /// handed its claim back or finished it), for at most `grace` (a claim slow to notice the
    /// stop is then left to go stale, as after a crash).
    pub async fn stopped(&self, grace: Duration) {
        let loops: Vec<_> = std::mem::take(&mut *self.loops.lock().unwrap_or_else(|e| e.into_inner()));
        if tokio::time::timeout(grace, futures::future::join_all(loops)).await.is_err() {
            tracing::warn!(grace = ?grace, "claims still running at shutdown: they are resumed once stale");
        }
    }
}

/// A worker id unique to this process and start: `host:pid:kind:nonce`.
fn worker_id(kind: &str) -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    format!("{host}:{}:{kind}:{:x}", std::process::id(), OffsetDateTime::now_utc().unix_timestamp_nanos() & 0xffff_ffff)
}

async fn claim_loop<J: ClaimJob>(job: Arc<J>, worker: String, cfg: LoopConfig, stop: Cancel, wake: Arc<Notify>) {
    while !stop.is_cancelled() {
        let stale = OffsetDateTime::now_utc().unix_timestamp() - cfg.stale_after.as_secs() as i64;
        match job.claim(&worker, stale).await {
            Ok(Some(claim)) => {
                let span = J::span(&claim);
                tracing::Instrument::instrument(job.run(&worker, claim), span).await;
            }
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(cfg.idle) => {}
                    _ = wake.notified() => {}
                    _ = stop.cancelled() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming {} failed", J::WHAT);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// A running heartbeat; it ends when dropped.
pub struct Heartbeat(JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Every `every`, `beat()` keeps a claim alive (in the current span). When it answers false (the
/// claim was lost: task stopped, row taken over) or `stop` is cancelled (shutdown), `cancel` is
/// cancelled and the heartbeat ends; a failed beat is logged and tried again.
pub fn heartbeat<F, Fut>(every: Duration, stop: Cancel, cancel: Cancel, mut beat: F) -> Heartbeat
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<bool, store::Error>> + Send,
{
    Heartbeat(crate::spawn_in_span(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => {
                    cancel.cancel();
                    return;
                }
            }
            match beat().await {
                Ok(true) => {}
                Ok(false) => {
                    cancel.cancel();
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
        }
    }))
}
