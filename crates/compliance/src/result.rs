//! What one check of one item on one asset concluded.

use model::node::ComplianceItemReport;
use serde::Serialize;
use time::OffsetDateTime;

/// TCSS CheckStatus of an evaluated item. CHECK_INIT and CHECK_RUNNING are task states kept by the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CheckStatus {
    #[serde(rename = "CHECK_FINISHED")]
    Finished,
    /// The check could not complete: asset gone, daemon unreachable, file unreadable, Rego error.
    #[serde(rename = "CHECK_FAILED")]
    Failed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Finished => "CHECK_FINISHED",
            CheckStatus::Failed => "CHECK_FAILED",
        }
    }
}

/// TCSS CheckResult; only present when the check finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CheckResult {
    #[serde(rename = "RESULT_PASSED")]
    Passed,
    #[serde(rename = "RESULT_FAILED")]
    Failed,
}

impl CheckResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckResult::Passed => "RESULT_PASSED",
            CheckResult::Failed => "RESULT_FAILED",
        }
    }
}

/// The outcome of one item on one asset.
#[derive(Debug, Clone, Serialize)]
pub struct ItemResult {
    /// CustomerPolicyItemId.
    pub item_id: u64,
    pub status: CheckStatus,
    /// None when `status` is `Failed`.
    pub result: Option<CheckResult>,
    /// Human-readable conclusion, e.g. `Config.User="0:0" runs as uid 0`, or why the check failed.
    pub reason: String,
    /// Which field had which value.
    pub evidence: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
}

/// An item that does not apply to this asset (e.g. AppArmor on a host without AppArmor). Such items are left
/// out of the results, never reported as passed.
#[derive(Debug, Clone, Serialize)]
pub struct NotApplicable {
    pub item_id: u64,
    pub reason: String,
}

/// Everything one evaluation of one asset produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluation {
    pub results: Vec<ItemResult>,
    pub not_applicable: Vec<NotApplicable>,
}

impl Evaluation {
    pub fn get(&self, item_id: u64) -> Option<&ItemResult> {
        self.results.iter().find(|r| r.item_id == item_id)
    }

    pub fn is_not_applicable(&self, item_id: u64) -> bool {
        self.not_applicable.iter().any(|n| n.item_id == item_id)
    }

    /// The outcome of `item_id` as stored and reported: its result, `NOT_APPLICABLE` with why, or
    /// `CHECK_FAILED` when this evaluation did not cover it (an item of another asset type).
    /// `now`: unix time for the outcomes that carry no time of their own.
    pub fn item_report(&self, item_id: u64, now: i64) -> ComplianceItemReport {
        if let Some(r) = self.get(item_id) {
            return ComplianceItemReport {
                item_id,
                status: r.status.as_str().into(),
                result: r.result.map(CheckResult::as_str).unwrap_or_default().into(),
                reason: r.reason.clone(),
                evidence: r.evidence.clone(),
                checked_at: r.checked_at.unix_timestamp(),
            };
        }
        let (status, reason) = match self.not_applicable.iter().find(|n| n.item_id == item_id) {
            Some(na) => ("NOT_APPLICABLE", na.reason.clone()),
            None => ("CHECK_FAILED", "the item does not apply to this asset type".to_string()),
        };
        ComplianceItemReport {
            item_id,
            status: status.into(),
            result: String::new(),
            reason,
            evidence: serde_json::Value::Null,
            checked_at: now,
        }
    }
}
