//! The item side: affected assets per item, the item summary and a task's item and asset summaries.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AffectedAssetListRequest {
    pub customer_policy_item_id: Option<u64>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub filters: Option<Vec<ComplianceFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceAffectedAsset {
    pub customer_asset_id: u64,
    pub asset_name: String,
    pub asset_type: String,
    pub check_status: String,
    pub node_name: String,
    pub last_check_time: String,
    pub check_result: String,
    #[serde(rename = "HostIP")]
    pub host_ip: String,
    pub image_tag: String,
    pub verify_info: String,
    pub instance_id: String,
    pub image_registry_info: ImageRegistryInfo,
    #[serde(rename = "ClusterID")]
    pub cluster_id: String,
    pub cluster_name: String,
    #[serde(rename = "AssetUniqueID")]
    pub asset_unique_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AffectedAssetListResponse {
    pub affected_asset_list: Vec<ComplianceAffectedAsset>,
    pub total_count: u64,
}

const AFFECTED_ASSET_LIST: ListSpec<ComplianceAffectedAsset> = ListSpec {
    filters: &[
        ("NodeName", Filter::Text(&[|r| &r.node_name])),
        ("CheckResult", Filter::Text(&[|r| &r.check_result])),
        ("AssetName", Filter::Text(&[|r| &r.asset_name])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

/// `DescribeCompliancePolicyItemAffectedAssetList`: the assets the item was checked on.
pub async fn describe_item_affected_assets(
    svc: &Service,
    caller: Caller,
    req: AffectedAssetListRequest,
) -> Result<AffectedAssetListResponse, ServiceError> {
    let it = item("CustomerPolicyItemId", req.customer_policy_item_id.ok_or_else(|| missing("CustomerPolicyItemId"))?)?;
    let query = AFFECTED_ASSET_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let view = View::load(svc, caller.account).await?;
    let mut list = Vec::new();
    for a in view.assets.iter().filter(|a| a.present && a.asset_type == it.asset_type.as_str()) {
        let (status, result, verify, time) = item_state(&view, a, it);
        if status == "CHECK_INIT" || view.results.get(&(a.asset_id, it.id)).is_some_and(|r| r.status == "NOT_APPLICABLE") {
            continue;
        }
        list.push(ComplianceAffectedAsset {
            customer_asset_id: a.asset_id,
            asset_name: a.name.clone(),
            asset_type: a.asset_type.clone(),
            check_status: status,
            node_name: info(a, "NodeName"),
            last_check_time: time,
            check_result: result,
            host_ip: String::new(),
            image_tag: info(a, "ImageTag"),
            verify_info: verify,
            instance_id: String::new(),
            image_registry_info: ImageRegistryInfo::default(),
            cluster_id: String::new(),
            cluster_name: String::new(),
            asset_unique_id: a.key.clone(),
        });
    }
    let page = query.run(list);
    Ok(AffectedAssetListResponse { affected_asset_list: page.rows, total_count: page.total })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompliancePolicyItemSummary {
    pub customer_policy_item_id: u64,
    pub base_policy_item_id: u64,
    pub name: String,
    pub category: String,
    pub benchmark_standard_name: String,
    pub risk_level: String,
    pub asset_type: String,
    pub last_check_time: String,
    pub check_status: String,
    pub check_result: String,
    pub passed_asset_count: u64,
    pub failed_asset_count: u64,
    pub whitelist_id: u64,
    pub fix_suggestion: String,
    pub benchmark_standard_id: u64,
    pub applicable_version: String,
    pub description: String,
    pub audit_procedure: String,
    pub is_enable: u64,
}

pub(super) fn item_summary(view: &View, it: &CatalogItem, disabled: &[u64]) -> CompliancePolicyItemSummary {
    let (mut passed, mut failed, mut running, mut check_failed, mut last) = (0u64, 0u64, 0u64, 0u64, 0i64);
    for a in view.assets.iter().filter(|a| a.present && a.asset_type == it.asset_type.as_str()) {
        if view.whitelist_id(it.id, a.asset_id) != 0 {
            continue;
        }
        if let Some(r) = view.results.get(&(a.asset_id, it.id)) {
            last = last.max(r.checked_at);
            match (r.status.as_str(), r.result.as_str()) {
                ("CHECK_FINISHED", "RESULT_PASSED") => passed += 1,
                ("CHECK_FINISHED", _) => failed += 1,
                ("CHECK_RUNNING", _) => running += 1,
                ("CHECK_FAILED", _) => check_failed += 1,
                _ => {}
            }
        }
    }
    let status = if running > 0 {
        "CHECK_RUNNING"
    } else if check_failed > 0 {
        "CHECK_FAILED"
    } else if passed + failed == 0 {
        "CHECK_INIT"
    } else {
        "CHECK_FINISHED"
    };
    let result = if failed > 0 {
        "RESULT_FAILED"
    } else if passed > 0 {
        "RESULT_PASSED"
    } else {
        ""
    };
    let (sid, sname) = it.asset_type.benchmark_standard();
    // An item ignored on every asset carries that entry's id.
    let global_wl = view.whitelist.iter().find(|w| w.item_id == it.id && w.asset_id == 0).map_or(0, |w| w.whitelist_id);
    CompliancePolicyItemSummary {
        customer_policy_item_id: it.id,
        base_policy_item_id: it.id,
        name: it.name.clone(),
        category: it.category.clone(),
        benchmark_standard_name: sname.into(),
        risk_level: it.risk.clone(),
        asset_type: it.asset_type.as_str().into(),
        last_check_time: time_or_empty(last),
        check_status: status.into(),
        check_result: result.into(),
        passed_asset_count: passed,
        failed_asset_count: failed,
        whitelist_id: global_wl,
        fix_suggestion: it.fix_suggestion.clone(),
        benchmark_standard_id: sid,
        applicable_version: it.cis.clone(),
        description: format!("Passes when {}.", it.pass_condition),
        audit_procedure: it.evidence.join("; "),
        is_enable: u64::from(!disabled.contains(&sid)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ItemSummaryRequest {
    pub customer_policy_item_id: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemSummaryResponse {
    pub policy_item_summary: CompliancePolicyItemSummary,
}

pub(super) async fn disabled_standards(svc: &Service, account: AccountId, ty: AssetType) -> Result<Vec<u64>, ServiceError> {
    Ok(svc
        .store
        .compliance_period_tasks(account)
        .await?
        .into_iter()
        .find(|p| p.asset_type == ty.as_str())
        .map(|p| p.disabled_standards)
        .unwrap_or_default())
}

/// `DescribeCompliancePolicyItemAffectedSummary`.
pub async fn describe_item_summary(svc: &Service, caller: Caller, req: ItemSummaryRequest) -> Result<ItemSummaryResponse, ServiceError> {
    let it = item("CustomerPolicyItemId", req.customer_policy_item_id.ok_or_else(|| missing("CustomerPolicyItemId"))?)?;
    let view = View::load(svc, caller.account).await?;
    let disabled = disabled_standards(svc, caller.account, it.asset_type).await?;
    Ok(ItemSummaryResponse { policy_item_summary: item_summary(&view, it, &disabled) })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TaskItemSummaryRequest {
    pub asset_type: Option<String>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub filters: Option<Vec<ComplianceFilters>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskItemSummaryResponse {
    pub task_id: u64,
    pub total_count: u64,
    pub policy_item_summary_list: Vec<CompliancePolicyItemSummary>,
}

const TASK_ITEM_LIST: ListSpec<CompliancePolicyItemSummary> = ListSpec {
    filters: &[
        ("Name", Filter::Text(&[|s| &s.name])),
        ("ItemType", Filter::Text(&[|s| &s.category])),
        ("RiskLevel", Filter::Text(&[|s| &s.risk_level])),
        ("IsOpen", Filter::Equals(|s| s.is_enable.to_string())),
        ("CheckResult", Filter::Text(&[|s| &s.check_result])),
    ],
    sorts: ListSpec::STORED_ORDER,
    tie_break: None,
};

/// `DescribeComplianceTaskPolicyItemSummaryList`: every item of the type with its latest outcome.
pub async fn describe_task_item_summaries(
    svc: &Service,
    caller: Caller,
    req: TaskItemSummaryRequest,
) -> Result<TaskItemSummaryResponse, ServiceError> {
    let ty = optional_type(&req.asset_type)?.unwrap_or(AssetType::Container);
    let query = TASK_ITEM_LIST.query(req.limit, req.offset, req.filters.as_deref(), None, None)?;
    let view = View::load(svc, caller.account).await?;
    let disabled = disabled_standards(svc, caller.account, ty).await?;
    let page = query.run(catalog().items_for(ty).map(|it| item_summary(&view, it, &disabled)).collect());
    let task_id = svc.store.latest_compliance_task_for(caller.account, ty.as_str()).await?.map_or(0, |t| t.task_id);
    Ok(TaskItemSummaryResponse { task_id, total_count: page.total, policy_item_summary_list: page.rows })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TaskAssetSummaryRequest {
    pub asset_type_set: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct CompliancePeriodTaskRule {
    pub frequency: u64,
    pub execution_time: String,
    pub enable: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceAssetSummary {
    pub asset_type: String,
    pub is_customer_first_check: bool,
    pub check_status: String,
    pub check_progress: f64,
    pub passed_policy_item_count: u64,
    pub failed_policy_item_count: u64,
    pub failed_critical_policy_item_count: u64,
    pub failed_high_risk_policy_item_count: u64,
    pub failed_medium_risk_policy_item_count: u64,
    pub failed_low_risk_policy_item_count: u64,
    pub notice_policy_item_count: u64,
    pub passed_asset_count: u64,
    pub failed_asset_count: u64,
    pub asset_passed_rate: f64,
    pub scan_failed_asset_count: u64,
    pub check_cost_time: f64,
    pub last_check_time: String,
    pub period_rule: CompliancePeriodTaskRule,
    pub open_policy_item_count: u64,
    pub ignored_policy_item_count: u64,
    pub total_policy_item_count: u64,
    pub detect_host_count: u64,
    pub left_time: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskAssetSummaryResponse {
    pub status: String,
    pub asset_summary_list: Vec<ComplianceAssetSummary>,
}

pub(super) fn period_rule(stored: &[PeriodTask], ty: AssetType) -> PeriodTask {
    stored.iter().find(|p| p.asset_type == ty.as_str()).cloned().unwrap_or_else(|| PeriodTask::defaults(ty.as_str()))
}

/// `DescribeComplianceTaskAssetSummary`: per asset type, the latest task's progress and the pass rates.
pub async fn describe_task_asset_summary(
    svc: &Service,
    caller: Caller,
    req: TaskAssetSummaryRequest,
) -> Result<TaskAssetSummaryResponse, ServiceError> {
    if req.asset_type_set.as_ref().is_none_or(Vec::is_empty) {
        return Err(ServiceError::MissingParameter { field: "AssetTypeSet", reason: "name at least one asset type".into() });
    }
    let types = parse_types("AssetTypeSet", &req.asset_type_set)?;
    let view = View::load(svc, caller.account).await?;
    let periods = svc.store.compliance_period_tasks(caller.account).await?;
    let mut out = Vec::new();
    for ty in types {
        let task = svc.store.latest_compliance_task_for(caller.account, ty.as_str()).await?;
        let mut s = ComplianceAssetSummary {
            asset_type: ty.as_str().into(),
            is_customer_first_check: task.is_none(),
            check_status: "CHECK_INIT".into(),
            check_progress: 0.0,
            passed_policy_item_count: 0,
            failed_policy_item_count: 0,
            failed_critical_policy_item_count: 0,
            failed_high_risk_policy_item_count: 0,
            failed_medium_risk_policy_item_count: 0,
            failed_low_risk_policy_item_count: 0,
            notice_policy_item_count: 0,
            passed_asset_count: 0,
            failed_asset_count: 0,
            asset_passed_rate: 0.0,
            scan_failed_asset_count: 0,
            check_cost_time: 0.0,
            last_check_time: String::new(),
            period_rule: {
                let p = period_rule(&periods, ty);
                CompliancePeriodTaskRule { frequency: p.frequency, execution_time: p.execution_time, enable: p.enable }
            },
            open_policy_item_count: 0,
            ignored_policy_item_count: 0,
            total_policy_item_count: catalog().items_for(ty).count() as u64,
            detect_host_count: 0,
            left_time: 0,
        };
        if let Some(t) = &task {
            s.check_status = match t.state.as_str() {
                "done" => "CHECK_FINISHED",
                "running" => "CHECK_RUNNING",
                _ => "CHECK_INIT",
            }
            .into();
            s.check_progress = if t.total == 0 { 100.0 } else { (t.done as f64 * 100.0 / t.total as f64).min(100.0) };
            if let (Some(a), Some(b)) = (t.started_at, t.finished_at) {
                s.check_cost_time = (b - a).max(0) as f64;
            }
            if let (Some(a), "running") = (t.started_at, t.state.as_str())
                && t.done > 0
            {
                let per = (now_unix() - a).max(0) as f64 / t.done as f64;
                s.left_time = (per * t.total.saturating_sub(t.done) as f64).round() as u64;
            }
        }
        // Item-level counts: an item passes when it passed on every asset it was checked on.
        for it in catalog().items_for(ty) {
            let sm = item_summary(&view, it, &[]);
            if sm.whitelist_id != 0 {
                s.ignored_policy_item_count += 1;
                continue;
            }
            s.open_policy_item_count += 1;
            match sm.check_result.as_str() {
                "RESULT_PASSED" => s.passed_policy_item_count += 1,
                "RESULT_FAILED" => {
                    s.failed_policy_item_count += 1;
                    match it.risk.as_str() {
                        "RISK_CRITICAL" => s.failed_critical_policy_item_count += 1,
                        "RISK_HIGH" => s.failed_high_risk_policy_item_count += 1,
                        "RISK_MEDIUM" => s.failed_medium_risk_policy_item_count += 1,
                        "RISK_LOW" => s.failed_low_risk_policy_item_count += 1,
                        _ => s.notice_policy_item_count += 1,
                    }
                }
                _ => {}
            }
        }
        let mut last = 0;
        for a in view.assets.iter().filter(|a| a.present && a.asset_type == ty.as_str()) {
            let t = view.tally(a);
            last = last.max(t.checked_at);
            if t.check_failed > 0 {
                s.scan_failed_asset_count += 1;
            }
            match t.result() {
                "RESULT_PASSED" => s.passed_asset_count += 1,
                "RESULT_FAILED" => s.failed_asset_count += 1,
                _ => {}
            }
            if matches!(ty, AssetType::Host | AssetType::Containerd) {
                s.detect_host_count += 1;
            }
        }
        let judged = s.passed_asset_count + s.failed_asset_count;
        s.asset_passed_rate = if judged == 0 { 0.0 } else { s.passed_asset_count as f64 * 100.0 / judged as f64 };
        s.last_check_time = time_or_empty(last);
        out.push(s);
    }
    Ok(TaskAssetSummaryResponse { status: "USER_NORMAL".into(), asset_summary_list: out })
}

pub(super) fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
