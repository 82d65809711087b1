//! Scan orchestration.
//!
//! Two phases, as Clair: [`index`] turns an image into per-layer [`layer::LayerIndex`]es (each
//! cached by a key over the layer diff-id, the analyzer versions, the walker limits and the
//! rule digests, see [`cache`]) merged into one content report ([`index_dir`]: the same for a
//! source tree, one walk, uncached), and [`match_vulns`] joins the merged packages with the
//! advisory data: cheap, re-run when advisories change without re-reading any image. On top of that: the Docker Engine [`inventory`], the durable image
//! scan task [`worker`] and the [`schedule`] driven by the image scan settings. Report formats
//! live in the `report` crate. No HTTP here (see `service`), no SQL (see `store`).

pub mod cache;
pub mod claims;
pub mod compliance;
mod error;
pub mod gate;
pub mod inventory;
pub mod nodes;
pub mod once;
mod pipeline;
pub mod registries;
pub mod results;
pub mod schedule;
pub mod vex;
pub mod worker;

pub use cache::{DirCache, LayerCache, StoreCache};
pub use error::Error;
pub use pipeline::{Engine, Indexed, Opener, Scanners, index, index_dir, index_source, match_vulns};
pub use schedule::{ScheduleSettings, next_run};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Live counters of one image scan, for a progress bar and for task status.
#[derive(Debug, Default)]
pub struct Progress {
    pub layers_total: AtomicU64,
    pub layers_done: AtomicU64,
    pub layers_cached: AtomicU64,
    /// Blob bytes of the image where the source says (0: unknown).
    pub bytes_total: AtomicU64,
    /// Uncompressed bytes of layers answered from the cache.
    pub cached_bytes: AtomicU64,
    /// Entries and uncompressed bytes walked so far.
    pub walk: Arc<layer::WalkProgress>,
}

impl Progress {
    /// Uncompressed layer bytes dealt with so far (walked or cached).
    pub fn bytes_done(&self) -> u64 {
        self.walk.bytes.load(Ordering::Relaxed) + self.cached_bytes.load(Ordering::Relaxed)
    }
}

/// `tokio::spawn` in the current span: what a task spawned for a claimed job logs carries the
/// job's task id like the rest of its lines.
pub fn spawn_in_span<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(tracing::Instrument::in_current_span(f))
}

/// A cancellation flag checked between layers and on every read of a layer stream.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    pub fn check(&self) -> Result<(), Error> {
        if self.is_cancelled() { Err(Error::Cancelled) } else { Ok(()) }
    }
    /// Resolves once cancelled (polled every 50 ms: cheap, and well within the one-second stop).
    pub async fn cancelled(&self) {
        while !self.is_cancelled() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
