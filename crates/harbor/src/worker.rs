//! Scans Harbor's requests: claims a queued request from the store, pulls the artifact from
//! Harbor's registry with the credential Harbor gave (only the layers the layer cache lacks are
//! fetched), scans it with the shared [`scan::Engine`] (vulnerabilities, and trojans and risks
//! so the TCSS lists show the image whole), and writes the results to the image, which joins
//! the account's inventory as source `harbor:HOST`.
//!
//! Crash safety is the store's: a claim whose heartbeat stops goes back to the queue after
//! `stale_after`, and results are written only while the claim is held.

use crate::wire::{ScanRequest, Target};
use base64::Engine as _;
use scan::claims::{self, ClaimJob, LoopConfig, WorkerHandle};
use scan::results::{self, ImageFindings};
use scan::{Cancel, Engine, Progress, Scanners};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use store::harbor::{HarborClaim, HarborResult};
use time::OffsetDateTime;

/// Inventory source prefix of Harbor-scanned images.
pub const SOURCE_PREFIX: &str = "harbor:";

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub heartbeat_every: Duration,
    pub stale_after: Duration,
    /// Requests scanned at the same time by this process.
    pub concurrency: usize,
    /// Claims of one request before it is failed (a crash on it each time).
    pub max_attempts: u64,
    /// How long an ended request is kept for Harbor to fetch its report.
    pub keep_ended: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            heartbeat_every: Duration::from_millis(400),
            stale_after: Duration::from_secs(10),
            concurrency: 1,
            max_attempts: 3,
            // Harbor polls until 200/500 and then keeps the report itself.
            keep_ended: Duration::from_secs(24 * 3600),
        }
    }
}

struct Ctx {
    store: Store,
    engine: Arc<Engine>,
    cfg: WorkerConfig,
    stop: Cancel,
}

/// Starts the claim loops and the pruning of ended requests on the current runtime; the
/// handle's waker is what [`crate::Adapter`] pokes after queueing a request.
pub fn spawn(store: Store, engine: Arc<Engine>, cfg: WorkerConfig) -> WorkerHandle {
    let handle = WorkerHandle::new();
    let ctx = Arc::new(Ctx { store, engine, cfg, stop: handle.stop() });
    let loops = LoopConfig { loops: ctx.cfg.concurrency, stale_after: ctx.cfg.stale_after, idle: Duration::from_millis(500) };
    handle.spawn_loops(Arc::clone(&ctx), "harbor", &loops);
    tokio::spawn(prune_loop(ctx));
    handle
}

/// Forgets ended requests once Harbor has had its time to fetch their reports.
async fn prune_loop(ctx: Arc<Ctx>) {
    while !ctx.stop.is_cancelled() {
        let before = OffsetDateTime::now_utc().unix_timestamp() - ctx.cfg.keep_ended.as_secs() as i64;
        match ctx.store.prune_harbor_scans(before).await {
            Ok(0) => {}
            Ok(k) => tracing::info!(requests = k, "forgot ended Harbor scan requests"),
            Err(e) => tracing::warn!(error = %e, "pruning Harbor scan requests failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = ctx.stop.cancelled() => {}
        }
    }
}

impl ClaimJob for Ctx {
    type Claim = HarborClaim;
    const WHAT: &'static str = "a harbor scan";

    async fn claim(&self, worker: &str, stale_before: i64) -> Result<Option<HarborClaim>, store::Error> {
        self.store.claim_harbor_scan(worker, stale_before).await
    }

    /// Harbor's scan id is the request's task id.
    fn span(claim: &HarborClaim) -> tracing::Span {
        tracing::info_span!("harbor_scan", task = %claim.scan_id)
    }

    async fn run(&self, worker: &str, claim: HarborClaim) {
        let outcome = scan_claim(self, worker, &claim).await;
        let written = match &outcome {
            Ok(Some(r)) => self.store.finish_harbor_scan(&claim, worker, Ok(r)).await,
            Ok(None) => return, // cancelled: the claim goes stale and is taken again
            Err(msg) => {
                tracing::warn!(scan = %claim.scan_id, error = %msg, "harbor scan failed");
                self.store.finish_harbor_scan(&claim, worker, Err(msg)).await
            }
        };
        match written {
            Ok(true) => tracing::info!(scan = %claim.scan_id, ok = outcome.is_ok(), "harbor scan ended"),
            Ok(false) => tracing::info!(scan = %claim.scan_id, "harbor scan claim lost: result dropped"),
            Err(e) => tracing::error!(scan = %claim.scan_id, error = %e, "writing a harbor scan result failed"),
        }
    }
}

/// How the registry is asked for the artifact: Harbor's credential as it gave it. A `Basic`
/// one is passed as user and password so the client can trade it at the registry's token
/// realm (Harbor's robot accounts work that way); a `Bearer` one is sent as is.
pub fn open_options(target: &Target, authorization: Option<&str>) -> Result<image::OpenOptions, String> {
    let auth = match authorization {
        None => image::RegistryAuth::Anonymous,
        Some(a) => {
            if let Some(b) = a.strip_prefix("Basic ") {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .map_err(|_| "registry.authorization: the Basic credential is not base64".to_string())?;
                let text = String::from_utf8(bytes).map_err(|_| "registry.authorization: the Basic credential is not UTF-8".to_string())?;
                let (user, pass) = text
                    .split_once(':')
                    .ok_or_else(|| "registry.authorization: the Basic credential has no `user:password`".to_string())?;
                image::RegistryAuth::Basic { username: user.to_string(), password: pass.to_string() }
            } else if let Some(t) = a.strip_prefix("Bearer ") {
                image::RegistryAuth::Bearer(t.trim().to_string())
            } else {
                return Err("registry.authorization: expected `Basic …` or `Bearer …`".into());
            }
        }
    };
    Ok(image::OpenOptions { insecure: target.insecure, auth, ..Default::default() })
}

/// Scans one claimed request. `Ok(None)`: cancelled (shutdown or the claim was lost).
async fn scan_claim(ctx: &Ctx, worker: &str, claim: &HarborClaim) -> Result<Option<HarborResult>, String> {
    if claim.attempts > ctx.cfg.max_attempts {
        return Err(format!("given up after {} attempts", claim.attempts - 1));
    }
    let req: ScanRequest = serde_json::from_str(&claim.request).map_err(|e| format!("stored request: {e}"))?;
    let target = req.validate().map_err(|r| r.message)?;
    let store = &ctx.store;
    let has_data = store.has_advisories().await.map_err(|e| e.to_string())?;
    if target.vulnerability && !has_data {
        return Err("no vulnerability data is loaded on the scanner: run `shipshape db update` (or `db import`)".into());
    }
    let opts = open_options(&target, claim.authorization.as_deref())?;
    let source = image::Source::Registry { reference: target.reference() };
    tracing::info!(scan = %claim.scan_id, reference = %target.reference(), attempt = claim.attempts, "harbor scan started");

    let cancel = Cancel::new();
    let progress = Arc::new(Progress::default());
    let hb = {
        let (store, claim, worker) = (store.clone(), claim.clone(), worker.to_string());
        claims::heartbeat(ctx.cfg.heartbeat_every, ctx.stop.clone(), cancel.clone(), move || {
            let (store, claim, worker) = (store.clone(), claim.clone(), worker.clone());
            async move { store.heartbeat_harbor_scan(&claim, &worker).await }
        })
    };
    let scanners = Scanners { packages: true, vuln: true, virus: ctx.engine.signatures.is_some(), risk: true };
    let indexed = scan::index_source(&ctx.engine, scanners, &source, &opts, &progress, &cancel).await;
    let matched = match &indexed {
        Ok((_, ix)) if has_data => Some(scan::match_vulns(store, &ix.content).await.map_err(|e| e.to_string())),
        Ok(_) => Some(Err("no vulnerability data is loaded".to_string())),
        Err(_) => None,
    };
    drop(hb);
    let (img, indexed) = match indexed {
        Ok(x) => x,
        Err(e) if e.is_cancelled() => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", target.reference())),
    };
    if cancel.is_cancelled() {
        return Ok(None);
    }
    let previous = store.image_scan_result(claim.account, &img.id).await.map_err(|e| e.to_string())?.map(|r| r.summary);
    let data_version = store.advisory_data_version().await.map_err(|e| e.to_string())?;
    let f = ImageFindings {
        data_version,
        indexed: &indexed,
        scan_vul: true,
        scan_virus: scanners.virus,
        scan_risk: true,
        vulns: matched.as_ref().map(|r| r.as_deref().map_err(Clone::clone)),
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let outcome = results::outcome(previous.as_deref(), &f, now).map_err(|e| e.to_string())?;
    let host_source = format!("{SOURCE_PREFIX}{}", target.host);
    let mut asset = scan::inventory::asset_of(&img, host_source.clone());
    let base = format!("{}/{}", target.host, target.repository);
    asset.facts.names = target.tag.iter().map(|t| format!("{base}:{t}")).collect();
    asset.facts.repo_digests = vec![format!("{base}@{}", target.digest)];
    tracing::info!(
        scan = %claim.scan_id, image = %img.id, layers = indexed.layers, cached = indexed.cached_layers,
        bytes_walked = indexed.bytes_walked, "harbor scan indexed"
    );
    Ok(Some(HarborResult { source: host_source, asset, outcome }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(insecure: bool) -> Target {
        Target {
            host: "r:5000".into(),
            insecure,
            repository: "a".into(),
            digest: String::new(),
            tag: None,
            vulnerability: true,
            sbom: false,
        }
    }

    #[test]
    fn credentials_become_registry_auth() {
        let o = open_options(&target(true), Some("Basic cm9ib3QkaGFyYm9yOnMzY3JldDpwYXJ0")).unwrap();
        assert!(o.insecure);
        match o.auth {
            image::RegistryAuth::Basic { username, password } => {
                assert_eq!((username.as_str(), password.as_str()), ("robot$harbor", "s3cret:part"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(open_options(&target(false), Some("Bearer abc")).unwrap().auth, image::RegistryAuth::Bearer(t) if t == "abc"));
        assert!(matches!(open_options(&target(false), None).unwrap().auth, image::RegistryAuth::Anonymous));
        for bad in ["Basic !!!", "Basic dXNlcg==", "Token x"] {
            assert!(open_options(&target(false), Some(bad)).is_err(), "{bad}");
        }
    }
}
