//! Compliance actions: the ScanCompliance* tasks, the asset, item, summary and failed-asset lists,
//! the whitelist (ignore) actions and the periodic tasks (schemas: ../shared/spec/schema).
//!
//! Handlers validate against the store's assets and the built-in catalog, then only read and write
//! the store: tasks are queue rows the `scan::compliance` worker claims; assets are what its
//! discovery last saw. Bad input changes nothing.
//!
//! Conventions where TCSS leaves room:
//! - An item that does not apply to an asset (AppArmor on a host without it) is never counted as
//!   passed or failed: it is listed with an empty `CheckResult` and `VerifyInfo` saying why.
//! - A whitelisted (ignored) item is not checked; its entry id is in `WhitelistId`, and it counts
//!   as `IgnoredPolicyItemCount`, never as passed.
//! - `VerifyInfo`: the conclusion, then the evidence as JSON. Times are UTC `YYYY-MM-DD HH:MM:SS`.
//! - Benchmark standards: 1 CIS Docker (host, container, image items), 2 CIS Kubernetes, 3 the
//!   containerd baseline. PeriodTaskId: 1-6 in the order ASSET_CONTAINER, ASSET_IMAGE,
//!   ASSET_HOST, ASSET_K8S, ASSET_CONTAINERD, ASSET_CONTAINERD_CONTAINER.

use std::collections::{BTreeSet, HashMap};

use api::Caller;
use checks::{AssetType, Catalog, CatalogItem};
use model::AccountId;
use serde::{Deserialize, Serialize};
use store::compliance::{ComplianceAsset, ComplianceResult, PeriodTask, Target, WhitelistEntry};
use store::scan_tasks::format_utc;

use crate::Service;
use crate::error::ServiceError;
use crate::list::{AssetFilters as ComplianceFilters, Filter, ListSpec, invalid};

const MAX_IDS: usize = 10_000;

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(Catalog::builtin)
}

fn missing(field: &'static str) -> ServiceError {
    ServiceError::MissingParameter { field, reason: "give at least one id".into() }
}

fn parse_type(field: &'static str, t: &str) -> Result<AssetType, ServiceError> {
    t.parse::<AssetType>().map_err(|_| {
        invalid(
            field,
            format!(
                "{t:?} is not one of ASSET_CONTAINER, ASSET_IMAGE, ASSET_HOST, ASSET_K8S, ASSET_CONTAINERD, ASSET_CONTAINERD_CONTAINER"
            ),
        )
    })
}

fn parse_types(field: &'static str, v: &Option<Vec<String>>) -> Result<Vec<AssetType>, ServiceError> {
    match v {
        None => Ok(AssetType::ALL.to_vec()),
        Some(v) if v.is_empty() => Ok(AssetType::ALL.to_vec()),
        Some(v) => v.iter().map(|t| parse_type(field, t)).collect(),
    }
}

fn ids(field: &'static str, v: &Option<Vec<u64>>) -> Result<Vec<u64>, ServiceError> {
    let v = v.as_ref().filter(|v| !v.is_empty()).ok_or_else(|| missing(field))?;
    if v.len() > MAX_IDS {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_IDS} ids, got {}", v.len()) });
    }
    let set: BTreeSet<u64> = v.iter().copied().collect();
    Ok(set.into_iter().collect())
}

fn item(field: &'static str, id: u64) -> Result<&'static CatalogItem, ServiceError> {
    catalog().get(id).ok_or_else(|| invalid(field, format!("unknown check item id {id}")))
}

fn names(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// Everything the read actions combine, loaded once per request.
struct View {
    assets: Vec<ComplianceAsset>,
    results: HashMap<(u64, u64), ComplianceResult>,
    whitelist: Vec<WhitelistEntry>,
}

impl View {
    async fn load(svc: &Service, account: AccountId) -> Result<View, ServiceError> {
        let assets = svc.store.compliance_assets(account).await?;
        let results = svc.store.compliance_results(account).await?.into_iter().map(|r| ((r.asset_id, r.item_id), r)).collect();
        let whitelist = svc.store.compliance_whitelist(account).await?;
        Ok(View { assets, results, whitelist })
    }

    fn asset(&self, id: u64) -> Option<&ComplianceAsset> {
        self.assets.iter().find(|a| a.asset_id == id)
    }

    /// The whitelist entry ignoring `item` on `asset` (0: none).
    fn whitelist_id(&self, item: u64, asset: u64) -> u64 {
        self.whitelist.iter().find(|w| w.item_id == item && (w.asset_id == 0 || w.asset_id == asset)).map_or(0, |w| w.whitelist_id)
    }

    /// Assets of the request, validated: all known, all of `asset_type` when given.
    fn select(&self, field: &'static str, ids: &[u64], asset_type: Option<AssetType>) -> Result<Vec<&ComplianceAsset>, ServiceError> {
        let unknown: Vec<u64> = ids.iter().copied().filter(|i| self.asset(*i).is_none()).collect();
        if !unknown.is_empty() {
            return Err(invalid(field, format!("unknown asset ids: {}", names(&unknown))));
        }
        let found: Vec<&ComplianceAsset> = ids.iter().filter_map(|i| self.asset(*i)).collect();
        if let Some(t) = asset_type {
            let other: Vec<u64> = found.iter().filter(|a| a.asset_type != t.as_str()).map(|a| a.asset_id).collect();
            if !other.is_empty() {
                return Err(invalid(field, format!("assets {} are not of type {t}", names(&other))));
            }
        }
        Ok(found)
    }

    /// Per-asset tallies over the catalog items of its type.
    fn tally(&self, a: &ComplianceAsset) -> Tally {
        let mut t = Tally::default();
        let Ok(ty) = a.asset_type.parse::<AssetType>() else {
            return t;
        };
        for it in catalog().items_for(ty) {
            if self.whitelist_id(it.id, a.asset_id) != 0 {
                t.ignored += 1;
                continue;
            }
            let Some(r) = self.results.get(&(a.asset_id, it.id)) else {
                continue;
            };
            t.checked_at = t.checked_at.max(r.checked_at);
            match r.status.as_str() {
                "CHECK_RUNNING" => t.running += 1,
                "CHECK_FAILED" => {
                    t.check_failed += 1;
                    if t.failure.is_empty() {
                        t.failure = format!("item {}: {}", it.id, r.reason);
                    }
                }
                "CHECK_FINISHED" if r.result == "RESULT_PASSED" => t.passed += 1,
                "CHECK_FINISHED" => {
                    t.failed += 1;
                    *t.failed_by_risk.entry(it.risk.clone()).or_default() += 1;
                }
                _ => t.not_applicable += 1,
            }
        }
        t
    }
}

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    check_failed: u64,
    running: u64,
    ignored: u64,
    not_applicable: u64,
    failed_by_risk: HashMap<String, u64>,
    checked_at: i64,
    failure: String,
}

impl Tally {
    fn status(&self) -> &'static str {
        if self.running > 0 {
            "CHECK_RUNNING"
        } else if self.check_failed > 0 {
            "CHECK_FAILED"
        } else if self.passed + self.failed + self.not_applicable == 0 {
            "CHECK_INIT"
        } else {
            "CHECK_FINISHED"
        }
    }
    fn result(&self) -> &'static str {
        if self.failed > 0 {
            "RESULT_FAILED"
        } else if self.passed > 0 && self.check_failed == 0 && self.running == 0 {
            "RESULT_PASSED"
        } else {
            ""
        }
    }
}

fn time_or_empty(t: i64) -> String {
    if t > 0 { format_utc(t) } else { String::new() }
}

fn info(a: &ComplianceAsset, key: &str) -> String {
    serde_json::from_str::<serde_json::Value>(&a.info)
        .ok()
        .and_then(|v| v.get(key).and_then(|x| x.as_str()).map(str::to_string))
        .unwrap_or_default()
}

fn verify_info(r: &ComplianceResult) -> String {
    match r.status.as_str() {
        "NOT_APPLICABLE" => format!("not applicable: {}", r.reason),
        _ if r.evidence == "null" || r.evidence.is_empty() => r.reason.clone(),
        _ => format!("{} evidence: {}", r.reason, r.evidence),
    }
}

mod assets;
mod items;
mod period;
mod scan;
mod whitelist;
pub use assets::*;
pub use items::*;
pub use period::*;
pub use scan::*;
pub use whitelist::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ids() {
        assert!(valid_time("02:00:00") && valid_time("23:59:59"));
        assert!(!valid_time("24:00:00") && !valid_time("2:00:00") && !valid_time("02:00"));
        assert_eq!(period_task_id(AssetType::Container), 1);
        assert_eq!(period_task_id(AssetType::ContainerdContainer), 6);
        assert!(ids("X", &Some(vec![])).is_err() && ids("X", &None).is_err());
        assert_eq!(ids("X", &Some(vec![3, 1, 3])).unwrap(), vec![1, 3]);
    }

    #[test]
    fn tally_status_order() {
        let t = Tally { running: 1, check_failed: 1, ..Default::default() };
        assert_eq!(t.status(), "CHECK_RUNNING");
        let t = Tally { check_failed: 1, passed: 3, ..Default::default() };
        assert_eq!((t.status(), t.result()), ("CHECK_FAILED", ""));
        let t = Tally { failed: 1, passed: 3, ..Default::default() };
        assert_eq!((t.status(), t.result()), ("CHECK_FINISHED", "RESULT_FAILED"));
        assert_eq!(Tally::default().status(), "CHECK_INIT");
    }
}
