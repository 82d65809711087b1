//! The compliance worker started by `serve`: discovers assets into the store on a schedule, claims
//! queued check tasks (durable, like image scans: a killed worker's task is re-claimed once its
//! heartbeat is stale and re-run; results are keyed by (asset, item), so nothing is duplicated),
//! re-collects the facts of exactly the assets a task names, evaluates the items with the compiled
//! Rego [`compliance::Engine`] and writes the results; fires the periodic tasks.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use compliance::{Asset, AssetType, Engine, Sources};
use store::Store;
use store::compliance::{ComplianceResult, ComplianceTask, DiscoveredAsset, PeriodTask, Target};
use time::OffsetDateTime;

use crate::Cancel;
use crate::claims::{self, ClaimJob, LoopConfig, WorkerHandle};

/// Compliance worker settings.
#[derive(Debug, Clone)]
pub struct ComplianceConfig {
    pub sources: Sources,
    /// How often assets are re-discovered.
    pub discover_every: Duration,
    pub heartbeat_every: Duration,
    pub stale_after: Duration,
}

impl ComplianceConfig {
    pub fn new(sources: Sources) -> ComplianceConfig {
        ComplianceConfig {
            sources,
            discover_every: Duration::from_secs(30),
            heartbeat_every: Duration::from_millis(500),
            stale_after: Duration::from_secs(10),
        }
    }
}

struct Ctx {
    store: Store,
    engine: Arc<Engine>,
    cfg: ComplianceConfig,
    stop: Cancel,
}

/// Starts discovery, the claim loop and the periodic trigger; they end at the handle's shutdown.
pub fn spawn(store: Store, engine: Arc<Engine>, cfg: ComplianceConfig) -> WorkerHandle {
    let handle = WorkerHandle::new();
    let ctx = Arc::new(Ctx { store, engine, cfg, stop: handle.stop() });
    let c = Arc::clone(&ctx);
    tokio::spawn(async move { discover_loop(c).await });
    let loops = LoopConfig { loops: 1, stale_after: ctx.cfg.stale_after, idle: Duration::from_millis(300) };
    handle.spawn_loops(Arc::clone(&ctx), "compliance", &loops);
    let c = Arc::clone(&ctx);
    tokio::spawn(async move { period_loop(c).await });
    handle
}

/// One discovery pass: every account sees this machine's assets. Types whose listing failed keep
/// their stored assets (an outage is not a disappearance).
pub async fn discover_once(store: &Store, sources: &Sources) -> Result<usize, store::Error> {
    let inv = compliance::discover(sources).await;
    let failed: Vec<AssetType> = inv.errors.iter().map(|(t, _)| *t).collect();
    let types: Vec<&str> = AssetType::ALL
        .iter()
        .filter(|t| sources.asset_types.as_ref().is_none_or(|v| v.contains(t)) && !failed.contains(t))
        .map(|t| t.as_str())
        .collect();
    let assets: Vec<DiscoveredAsset> = inv
        .assets
        .iter()
        .map(|a| DiscoveredAsset {
            asset_type: a.asset_type.as_str().to_string(),
            key: a.key.clone(),
            name: a.name.clone(),
            info: a.info().to_string(),
        })
        .collect();
    for account in store.account_ids().await? {
        store.sync_compliance_assets(account, &types, &assets).await?;
    }
    for (t, e) in &inv.errors {
        tracing::warn!(asset_type = t.as_str(), error = %e, "compliance discovery: source unavailable");
    }
    Ok(assets.len())
}

async fn discover_loop(ctx: Arc<Ctx>) {
    let mut known_accounts = 0usize;
    let mut next = tokio::time::Instant::now();
    while !ctx.stop.is_cancelled() {
        // New accounts get the inventory within a second.
        let accounts = ctx.store.account_ids().await.map(|a| a.len()).unwrap_or(known_accounts);
        if tokio::time::Instant::now() >= next || accounts != known_accounts {
            match discover_once(&ctx.store, &ctx.cfg.sources).await {
                Ok(n) => tracing::debug!(assets = n, "compliance assets discovered"),
                Err(e) => tracing::warn!(error = %e, "compliance discovery failed"),
            }
            known_accounts = accounts;
            next = tokio::time::Instant::now() + ctx.cfg.discover_every;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl ClaimJob for Ctx {
    type Claim = ComplianceTask;
    const WHAT: &'static str = "a compliance task";

    async fn claim(&self, worker: &str, stale_before: i64) -> Result<Option<ComplianceTask>, store::Error> {
        self.store.claim_compliance_task(worker, stale_before).await
    }

    fn span(task: &ComplianceTask) -> tracing::Span {
        tracing::info_span!("compliance_task", task = task.task_id)
    }

    async fn run(&self, worker: &str, task: ComplianceTask) {
        run_claimed(self, worker, &task).await
    }
}

async fn run_claimed(ctx: &Ctx, worker: &str, task: &ComplianceTask) {
    tracing::info!(kind = %task.kind, assets = task.targets.len(), attempt = task.attempts, "compliance task");
    let error = match run_task(ctx, worker, task).await {
        Ok(true) => Some(String::new()),
        Ok(false) => None, // claim lost or shutting down: another claim finishes it
        Err(e) => Some(e.to_string()),
    };
    if let Some(error) = error
        && let Err(e) = ctx.store.finish_compliance_task(task.task_id, worker, &error).await
    {
        tracing::error!(error = %e, "finishing a compliance task failed");
    }
}

/// Runs a claimed task. Ok(false): the claim was lost or the server is stopping.
async fn run_task(ctx: &Ctx, worker: &str, task: &ComplianceTask) -> Result<bool, store::Error> {
    let store = &ctx.store;
    let assets: HashMap<u64, store::compliance::ComplianceAsset> =
        store.compliance_assets(task.account).await?.into_iter().map(|a| (a.asset_id, a)).collect();
    // Assets a node agent reported are checked on their node at each report: a task leaves their
    // results to the agent (this machine cannot collect their facts).
    let by_agent = |id: &u64| assets.get(id).is_some_and(|a| !a.node_id.is_empty());
    let pairs: Vec<(u64, u64)> =
        task.targets.iter().filter(|t| !by_agent(&t.asset_id)).flat_map(|t| t.items.iter().map(move |i| (t.asset_id, *i))).collect();
    store.mark_compliance_running(task.account, task.task_id, &pairs).await?;

    // Heartbeat while facts are collected (a whole-daemon refresh can take seconds).
    let hb = {
        let (store, id, worker) = (store.clone(), task.task_id, worker.to_string());
        claims::heartbeat(ctx.cfg.heartbeat_every, ctx.stop.clone(), Cancel::new(), move || {
            let (store, worker) = (store.clone(), worker.clone());
            async move { store.heartbeat_compliance_task(id, &worker, 0).await }
        })
    };
    let mut wanted = Vec::new();
    for t in &task.targets {
        if let Some(a) = assets.get(&t.asset_id).filter(|a| a.node_id.is_empty())
            && let Ok(ty) = a.asset_type.parse::<AssetType>()
        {
            wanted.push((ty, a.key.clone()));
        }
    }
    let fresh = compliance::refresh(&ctx.cfg.sources, &wanted).await;
    drop(hb);
    let by_key: HashMap<(AssetType, &str), &Asset> = fresh.iter().map(|a| ((a.asset_type, a.key.as_str()), a)).collect();

    for (n, t) in task.targets.iter().enumerate() {
        if ctx.stop.is_cancelled() {
            return Ok(false);
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let rows = match assets.get(&t.asset_id) {
            Some(_) if by_agent(&t.asset_id) => Vec::new(),
            None => failed_rows(task, t, now, "the asset is no longer known".into()),
            Some(a) => match a.asset_type.parse::<AssetType>().ok().and_then(|ty| by_key.get(&(ty, a.key.as_str()))) {
                None => failed_rows(task, t, now, format!("{} {} could not be collected", a.asset_type, a.key)),
                Some(asset) => {
                    let (engine, asset, items) = (Arc::clone(&ctx.engine), (*asset).clone(), t.items.clone());
                    // Rego evaluation is CPU work: off the async threads.
                    let ev = tokio::task::spawn_blocking(move || engine.evaluate(&asset, Some(&items))).await.unwrap_or_default();
                    evaluation_rows(task, t, &ev, now)
                }
            },
        };
        if !store.write_compliance_results(task, worker, n as u64 + 1, &rows).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn failed_rows(task: &ComplianceTask, t: &Target, now: i64, reason: String) -> Vec<ComplianceResult> {
    t.items
        .iter()
        .map(|i| ComplianceResult {
            asset_id: t.asset_id,
            item_id: *i,
            status: "CHECK_FAILED".into(),
            result: String::new(),
            reason: reason.clone(),
            evidence: "null".into(),
            checked_at: now,
            task_id: task.task_id,
        })
        .collect()
}

fn evaluation_rows(task: &ComplianceTask, t: &Target, ev: &compliance::Evaluation, now: i64) -> Vec<ComplianceResult> {
    t.items.iter().map(|item| ComplianceResult::from_report(t.asset_id, task.task_id, ev.item_report(*item, now))).collect()
}

/// The scheduler's clock (shares the image scheduler's test offset).
fn now() -> OffsetDateTime {
    crate::worker::scheduler_now()
}

/// Unix time of the run due at or before `now` for a rule (None: none due). Runs start with the first
/// daily slot after the rule was saved, then every `frequency` days; slots missed while the server was
/// down collapse into one run.
pub fn due_slot(rule: &PeriodTask, now: i64) -> Option<i64> {
    if !rule.enable {
        return None;
    }
    let mut parts = rule.execution_time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next().flatten()?, parts.next().flatten().unwrap_or(0), parts.next().flatten().unwrap_or(0));
    let today = now.div_euclid(86_400) * 86_400 + h * 3600 + m * 60 + s;
    let slot = if today <= now { today } else { today - 86_400 };
    let period = rule.frequency.max(1) as i64 * 86_400;
    let after_last = rule.last_trigger == 0 || slot - rule.last_trigger > period - 86_400;
    (slot > rule.saved_at && slot > rule.last_trigger && after_last).then_some(slot)
}

async fn period_loop(ctx: Arc<Ctx>) {
    while !ctx.stop.is_cancelled() {
        if let Err(e) = period_tick(&ctx).await {
            tracing::warn!(error = %e, "compliance periodic tasks");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn period_tick(ctx: &Ctx) -> Result<(), store::Error> {
    let now = now().unix_timestamp();
    for account in ctx.store.account_ids().await? {
        for mut rule in ctx.store.compliance_period_tasks(account).await? {
            let Some(slot) = due_slot(&rule, now) else {
                continue;
            };
            // One worker queues the slot's task; the others lose the claim.
            let job = format!("compliance-period:{account}:{}", rule.asset_type);
            if !ctx.store.claim_job_slot(&job, slot, crate::once::holder(), now).await? {
                continue;
            }
            let Ok(ty) = rule.asset_type.parse::<AssetType>() else {
                continue;
            };
            let assets = ctx.store.compliance_assets(account).await?;
            // A switched-off benchmark standard leaves the type with nothing to check.
            let items: Vec<u64> = if rule.disabled_standards.contains(&ty.benchmark_standard().0) {
                Vec::new()
            } else {
                ctx.engine.catalog().items_for(ty).map(|i| i.id).collect()
            };
            let whitelist = ctx.store.compliance_whitelist(account).await?;
            let targets: Vec<Target> = assets
                .iter()
                .filter(|a| a.present && a.asset_type == rule.asset_type)
                .map(|a| Target {
                    asset_id: a.asset_id,
                    items: items
                        .iter()
                        .copied()
                        .filter(|i| !whitelist.iter().any(|w| w.item_id == *i && (w.asset_id == 0 || w.asset_id == a.asset_id)))
                        .collect(),
                })
                .collect();
            // Record the slot first: a restart never fires the same slot twice.
            rule.last_trigger = slot;
            ctx.store.put_compliance_period_task(account, &rule).await?;
            if targets.iter().any(|t| !t.items.is_empty()) {
                let id = ctx.store.create_compliance_task(account, "periodic", &[rule.asset_type.clone()], &targets).await?;
                tracing::info!(account, task = id, asset_type = %rule.asset_type, "periodic compliance task queued");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(freq: u64, at: &str, last: i64) -> PeriodTask {
        PeriodTask { enable: true, frequency: freq, execution_time: at.into(), last_trigger: last, ..PeriodTask::defaults("ASSET_HOST") }
    }

    #[test]
    fn periodic_slots() {
        let day = 86_400;
        let now = 10 * day + 3 * 3600; // 03:00 on day 10
        assert_eq!(due_slot(&rule(1, "02:00:00", 0), now), Some(10 * day + 2 * 3600));
        let saved = |at: i64| PeriodTask { saved_at: at, ..rule(1, "02:00:00", 0) };
        assert_eq!(due_slot(&saved(10 * day + 2 * 3600 + 1), now), None, "saved after today's slot: tomorrow's is the first");
        assert_eq!(due_slot(&saved(10 * day + 3600), now), Some(10 * day + 2 * 3600));
        assert_eq!(due_slot(&rule(1, "04:00:00", 0), now), Some(9 * day + 4 * 3600), "yesterday's missed slot runs once");
        assert_eq!(due_slot(&rule(1, "02:00:00", 10 * day + 2 * 3600), now), None, "already fired");
        assert_eq!(due_slot(&rule(3, "02:00:00", 8 * day + 2 * 3600), now), None, "every 3 days: not yet");
        assert_eq!(due_slot(&rule(3, "02:00:00", 7 * day + 2 * 3600), now), Some(10 * day + 2 * 3600));
        assert_eq!(due_slot(&PeriodTask { enable: false, ..rule(1, "02:00:00", 0) }, now), None);
    }
}
