//! The Rego engine: every policy compiled once into one `regorus::Engine`; each evaluation works on a clone
//! (cheap: the compiled modules are shared), with the asset's facts as input.

use checks::{AssetType, Catalog, CatalogItem};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::asset::Asset;
use crate::error::ComplianceError;
use crate::result::{CheckResult, CheckStatus, Evaluation, ItemResult, NotApplicable};

/// The policy files, one per asset family plus shared helpers.
const POLICIES: &[(&str, &str)] = &[
    ("lib.rego", include_str!("../policy/lib.rego")),
    ("host.rego", include_str!("../policy/host.rego")),
    ("container.rego", include_str!("../policy/container.rego")),
    ("image.rego", include_str!("../policy/image.rego")),
    ("k8s.rego", include_str!("../policy/k8s.rego")),
    ("containerd.rego", include_str!("../policy/containerd.rego")),
    ("containerd_container.rego", include_str!("../policy/containerd_container.rego")),
];

/// Compiled checks for a catalog.
#[derive(Clone)]
pub struct Engine {
    base: regorus::Engine,
    catalog: Catalog,
}

#[derive(Deserialize)]
struct RuleOutput {
    result: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    evidence: serde_json::Value,
}

impl Engine {
    /// Compiles the built-in policies. Fails when a policy does not compile or when a catalog item has no
    /// rule, so a catalog/policy mismatch is found at start-up, not per asset.
    pub fn new(catalog: &Catalog) -> Result<Engine, ComplianceError> {
        let mut base = regorus::Engine::new();
        for (file, text) in POLICIES {
            base.add_policy(file.to_string(), text.to_string()).map_err(|e| ComplianceError::Policy { file, message: e.to_string() })?;
        }
        for item in catalog.items() {
            let (file, text) = policy_file(item.asset_type);
            if !text.contains(&format!("\nc{} :=", item.id)) {
                return Err(ComplianceError::Policy { file, message: format!("no rule c{} for item {}", item.id, item.id) });
            }
        }
        Ok(Engine { base, catalog: catalog.clone() })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Evaluates the items of `item_ids` (all items of the asset's type when None) on one asset. Items of
    /// another asset type and unknown ids are ignored; callers validate ids against the catalog first.
    pub fn evaluate(&self, asset: &Asset, item_ids: Option<&[u64]>) -> Evaluation {
        let items: Vec<&CatalogItem> =
            self.catalog.items_for(asset.asset_type).filter(|i| item_ids.is_none_or(|ids| ids.contains(&i.id))).collect();
        let mut out = Evaluation::default();
        let facts = match &asset.facts {
            Ok(f) => f,
            Err(e) => {
                let now = OffsetDateTime::now_utc();
                for item in items {
                    out.results.push(failed(item.id, e.to_string(), now));
                }
                return out;
            }
        };
        let mut engine = self.base.clone();
        let input = match serde_json::from_value::<regorus::Value>(facts.clone()) {
            Ok(v) => v,
            Err(e) => {
                let now = OffsetDateTime::now_utc();
                for item in items {
                    out.results.push(failed(item.id, format!("input not usable by Rego: {e}"), now));
                }
                return out;
            }
        };
        engine.set_input(input);
        let pkg = rego_package(asset.asset_type);
        // Fast path: one query over the whole package evaluates every rule once, sharing helper values
        // between items. If it errors (one broken item), fall back to per-item evaluation so only the
        // broken item ends CHECK_FAILED.
        let mut package: Option<serde_json::Value> = None;
        if items.len() > 3 {
            let q = engine.eval_query(format!("data.shipshape.{pkg}"), false);
            if let Ok(r) = q
                && let Some(v) = r.result.first().and_then(|r| r.expressions.first())
            {
                package = serde_json::to_value(&v.value).ok();
            }
        }
        for item in items {
            let now = OffsetDateTime::now_utc();
            let key = format!("c{}", item.id);
            let from_package = package.as_ref().and_then(|p| p.get(&key)).cloned();
            let json = match from_package {
                Some(v) => Ok(v),
                None => match engine.eval_rule(format!("data.shipshape.{pkg}.{key}")) {
                    Ok(regorus::Value::Undefined) => Err("Rego rule produced no result".to_string()),
                    Ok(v) => serde_json::to_value(&v).map_err(|e| format!("Rego rule output malformed: {e}")),
                    Err(e) => Err(format!("Rego error: {e}")),
                },
            };
            let o = match json.and_then(|v| serde_json::from_value::<RuleOutput>(v).map_err(|e| format!("Rego rule output malformed: {e}")))
            {
                Ok(o) => o,
                Err(e) => {
                    out.results.push(failed(item.id, e, now));
                    continue;
                }
            };
            let result = match o.result.as_str() {
                "PASSED" => Some(CheckResult::Passed),
                "FAILED" => Some(CheckResult::Failed),
                "NOT_APPLICABLE" => {
                    out.not_applicable.push(NotApplicable { item_id: item.id, reason: o.reason });
                    continue;
                }
                "ERROR" => None,
                other => {
                    out.results.push(failed(item.id, format!("Rego rule returned unknown result {other:?}"), now));
                    continue;
                }
            };
            out.results.push(ItemResult {
                item_id: item.id,
                status: if result.is_some() { CheckStatus::Finished } else { CheckStatus::Failed },
                result,
                reason: o.reason,
                evidence: o.evidence,
                checked_at: now,
            });
        }
        out
    }
}

fn failed(item_id: u64, reason: String, now: OffsetDateTime) -> ItemResult {
    ItemResult { item_id, status: CheckStatus::Failed, result: None, reason, evidence: serde_json::Value::Null, checked_at: now }
}

/// The Rego package holding this asset type's rules (`data.shipshape.<pkg>.c<id>`), in `policy/<pkg>.rego`.
fn rego_package(t: AssetType) -> &'static str {
    match t {
        AssetType::Container => "container",
        AssetType::Image => "image",
        AssetType::Host => "host",
        AssetType::K8s => "k8s",
        AssetType::Containerd => "containerd",
        AssetType::ContainerdContainer => "containerd_container",
    }
}

fn policy_file(t: AssetType) -> (&'static str, &'static str) {
    let name = format!("{}.rego", rego_package(t));
    POLICIES.iter().copied().find(|(f, _)| *f == name).unwrap_or(("?", ""))
}
