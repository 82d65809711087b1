//! Check reports for the CLI (`shipshape compliance check`): run discovery and the catalog, render a table
//! or JSON.

use checks::{AssetType, Catalog};
use serde_json::{Value, json};

use crate::asset::Asset;
use crate::discover::{Sources, discover};
use crate::engine::Engine;
use crate::error::CollectError;
use crate::result::{CheckResult, CheckStatus, Evaluation};

/// One asset with what its check concluded.
#[derive(Debug)]
pub struct AssetReport {
    pub asset: Asset,
    pub evaluation: Evaluation,
}

/// Discovers the assets of `sources` and evaluates every applicable item on each.
pub async fn check(sources: &Sources, engine: &Engine) -> (Vec<AssetReport>, Vec<(AssetType, CollectError)>) {
    let inv = discover(sources).await;
    let reports = inv
        .assets
        .into_iter()
        .map(|asset| {
            let evaluation = engine.evaluate(&asset, None);
            AssetReport { asset, evaluation }
        })
        .collect();
    (reports, inv.errors)
}

/// JSON: one object per asset with its results (TCSS status/result names) and the items left out.
pub fn to_json(catalog: &Catalog, reports: &[AssetReport], errors: &[(AssetType, CollectError)]) -> Value {
    let assets: Vec<Value> = reports
        .iter()
        .map(|r| {
            let results: Vec<Value> = r
                .evaluation
                .results
                .iter()
                .map(|i| {
                    let item = catalog.get(i.item_id);
                    json!({
                        "CustomerPolicyItemId": i.item_id,
                        "Name": item.map(|c| c.name.as_str()),
                        "RiskLevel": item.map(|c| c.risk.as_str()),
                        "CheckStatus": i.status.as_str(),
                        "CheckResult": i.result.map(CheckResult::as_str),
                        "Reason": i.reason,
                        "Evidence": i.evidence,
                        "FixSuggestion": item.map(|c| c.fix_suggestion.as_str()),
                    })
                })
                .collect();
            json!({
                "AssetType": r.asset.asset_type.as_str(),
                "Key": r.asset.key,
                "Name": r.asset.name,
                "Results": results,
                "NotApplicable": r.evaluation.not_applicable,
            })
        })
        .collect();
    let errors: Vec<Value> = errors.iter().map(|(t, e)| json!({"AssetType": t.as_str(), "Error": e.to_string()})).collect();
    json!({"Assets": assets, "SourceErrors": errors})
}

/// A plain-text table: failed and check-failed items per asset, then a summary line per asset.
pub fn to_table(catalog: &Catalog, reports: &[AssetReport], errors: &[(AssetType, CollectError)]) -> String {
    let mut out = String::new();
    out.push_str(&format!("{:<27} {:<28} {:>5}  {:<14} {:<14} {}\n", "ASSET TYPE", "ASSET", "ITEM", "RISK", "STATUS", "REASON"));
    for r in reports {
        let name: String = r.asset.name.chars().take(28).collect();
        for i in &r.evaluation.results {
            if i.result == Some(CheckResult::Passed) {
                continue;
            }
            let risk = catalog.get(i.item_id).map(|c| c.risk.trim_start_matches("RISK_")).unwrap_or("");
            let status = match (i.status, i.result) {
                (CheckStatus::Failed, _) => "CHECK_FAILED",
                _ => "FAILED",
            };
            let reason: String = i.reason.chars().take(100).collect();
            out.push_str(&format!(
                "{:<27} {:<28} {:>5}  {:<14} {:<14} {}\n",
                r.asset.asset_type.as_str(),
                name,
                i.item_id,
                risk,
                status,
                reason
            ));
        }
    }
    out.push('\n');
    for r in reports {
        let passed = r.evaluation.results.iter().filter(|i| i.result == Some(CheckResult::Passed)).count();
        let failed = r.evaluation.results.iter().filter(|i| i.result == Some(CheckResult::Failed)).count();
        let check_failed = r.evaluation.results.iter().filter(|i| i.status == CheckStatus::Failed).count();
        out.push_str(&format!(
            "{} {}: {passed} passed, {failed} failed, {check_failed} could not be checked, {} not applicable\n",
            r.asset.asset_type.as_str(),
            r.asset.name,
            r.evaluation.not_applicable.len()
        ));
    }
    for (t, e) in errors {
        out.push_str(&format!("{}: source unavailable: {e}\n", t.as_str()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::asset_from_facts;

    #[test]
    fn table_and_json_list_failures_and_counts() {
        let catalog = Catalog::builtin();
        let engine = Engine::new(&catalog).unwrap();
        let facts = json!({"container": {"Config": {"User": "0:0"}, "HostConfig": {"Privileged": true}, "State": {}}, "running": false, "host": {}});
        let asset = asset_from_facts(AssetType::Container, "abc", facts);
        let evaluation = engine.evaluate(&asset, None);
        let reports = vec![AssetReport { asset, evaluation }];
        let table = to_table(&catalog, &reports, &[]);
        assert!(table.contains("2001"), "{table}");
        assert!(table.contains("CRITICAL"));
        assert!(table.contains("not applicable"));
        let j = to_json(&catalog, &reports, &[]);
        let r2026 = j["Assets"][0]["Results"].as_array().unwrap().iter().find(|r| r["CustomerPolicyItemId"] == 2026).unwrap();
        assert_eq!(r2026["CheckResult"], "RESULT_FAILED");
        assert_eq!(r2026["CheckStatus"], "CHECK_FINISHED");
    }
}
