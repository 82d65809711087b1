//! The periodic tasks: `DescribeCompliancePeriodTaskList`, `ModifyCompliancePeriodTask`.

use super::*;

pub(super) fn period_task_id(ty: AssetType) -> u64 {
    AssetType::ALL.iter().position(|t| *t == ty).map_or(0, |i| i as u64 + 1)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PeriodTaskListRequest {
    pub asset_type: Option<String>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceBenchmarkStandard {
    pub standard_id: u64,
    pub name: String,
    pub policy_item_count: u64,
    pub enabled: bool,
    pub description: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompliancePeriodTask {
    pub period_task_id: u64,
    pub asset_type: String,
    pub last_trigger_time: String,
    pub total_policy_item_count: u64,
    pub period_rule: CompliancePeriodTaskRule,
    pub benchmark_standard_set: Vec<ComplianceBenchmarkStandard>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PeriodTaskListResponse {
    pub total_count: u64,
    pub period_task_set: Vec<CompliancePeriodTask>,
}

/// No filters, no sort keys: paging only.
const PERIOD_TASK_LIST: ListSpec<CompliancePeriodTask> = ListSpec { filters: &[], sorts: ListSpec::STORED_ORDER, tie_break: None };

/// `DescribeCompliancePeriodTaskList`: one periodic task per asset type.
pub async fn describe_period_tasks(
    svc: &Service,
    caller: Caller,
    req: PeriodTaskListRequest,
) -> Result<PeriodTaskListResponse, ServiceError> {
    let types = match optional_type(&req.asset_type)? {
        Some(t) => vec![t],
        None => AssetType::ALL.to_vec(),
    };
    let query = PERIOD_TASK_LIST.query(req.limit, req.offset, None, None, None)?;
    let stored = svc.store.compliance_period_tasks(caller.account).await?;
    let list: Vec<CompliancePeriodTask> = types
        .into_iter()
        .map(|ty| {
            let p = period_rule(&stored, ty);
            let (sid, sname) = ty.benchmark_standard();
            let count = catalog().items_for(ty).count() as u64;
            CompliancePeriodTask {
                period_task_id: period_task_id(ty),
                asset_type: ty.as_str().into(),
                last_trigger_time: time_or_empty(p.last_trigger),
                total_policy_item_count: count,
                period_rule: CompliancePeriodTaskRule {
                    frequency: p.frequency,
                    execution_time: p.execution_time.clone(),
                    enable: p.enable,
                },
                benchmark_standard_set: vec![ComplianceBenchmarkStandard {
                    standard_id: sid,
                    name: sname.into(),
                    policy_item_count: count,
                    enabled: !p.disabled_standards.contains(&sid),
                    description: format!("Shipshape's {sname} items for {}", ty.as_str()),
                }],
            }
        })
        .collect();
    let page = query.run(list);
    Ok(PeriodTaskListResponse { total_count: page.total, period_task_set: page.rows })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PeriodRuleIn {
    pub frequency: Option<u64>,
    pub execution_time: Option<String>,
    pub enable: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StandardEnable {
    pub standard_id: Option<u64>,
    pub enable: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyPeriodTaskRequest {
    pub period_task_id: Option<u64>,
    pub period_rule: Option<PeriodRuleIn>,
    pub standard_settings: Option<Vec<StandardEnable>>,
}

pub(super) fn valid_time(t: &str) -> bool {
    let p: Vec<&str> = t.split(':').collect();
    p.len() == 3
        && p.iter().all(|x| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit()))
        && p[0].parse::<u32>().is_ok_and(|h| h < 24)
        && p[1].parse::<u32>().is_ok_and(|m| m < 60)
        && p[2].parse::<u32>().is_ok_and(|s| s < 60)
}

/// `ModifyCompliancePeriodTask`: frequency (1, 3 or 7 days), time of day, on/off, standards.
pub async fn modify_period_task(svc: &Service, caller: Caller, req: ModifyPeriodTaskRequest) -> Result<Empty, ServiceError> {
    let id = req.period_task_id.ok_or_else(|| missing("PeriodTaskId"))?;
    let ty = id
        .checked_sub(1)
        .and_then(|i| AssetType::ALL.get(i as usize).copied())
        .ok_or_else(|| invalid("PeriodTaskId", format!("unknown periodic task {id} (1-6)")))?;
    let stored = svc.store.compliance_period_tasks(caller.account).await?;
    let mut p = period_rule(&stored, ty);
    if let Some(r) = &req.period_rule {
        if let Some(f) = r.frequency {
            if ![1, 3, 7].contains(&f) {
                return Err(invalid("PeriodRule.Frequency", format!("{f} is not 1, 3 or 7 (days)")));
            }
            p.frequency = f;
        }
        if let Some(t) = &r.execution_time {
            if !valid_time(t) {
                return Err(ServiceError::InvalidFormat { field: "PeriodRule.ExecutionTime", reason: format!("{t:?} is not HH:mm:SS") });
            }
            p.execution_time = t.clone();
        }
        if let Some(e) = r.enable {
            p.enable = e;
        }
    }
    let (sid, _) = ty.benchmark_standard();
    for s in req.standard_settings.iter().flatten() {
        let id = s.standard_id.ok_or_else(|| missing("StandardSettings.StandardId"))?;
        let enable = s
            .enable
            .ok_or_else(|| ServiceError::MissingParameter { field: "StandardSettings.Enable", reason: "say true or false".into() })?;
        if id != sid {
            return Err(invalid("StandardSettings.StandardId", format!("standard {id} has no items for {ty} (it uses {sid})")));
        }
        p.disabled_standards.retain(|x| *x != id);
        if !enable {
            p.disabled_standards.push(id);
        }
    }
    p.saved_at = now_unix();
    svc.store.put_compliance_period_task(caller.account, &p).await?;
    Ok(Empty {})
}
