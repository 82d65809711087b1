//! `DescribeAssetImageScanSetting` / `CreateAssetImageScanSetting`: the account's scheduled image
//! scan settings (schema: ../shared/spec/schema/{Describe,Create}AssetImageScanSetting.json).
//!
//! Defaults for an account that never called Create: `Enable` false, `ScanTime` "00:00",
//! `ScanPeriod` 1, `ScanVirus`/`ScanRisk`/`ScanVul` true, `All` false, `Images` [], `ContainerRunning`
//! false, `ScanScope` 0, `ExcludeImages` [], `ClusterIDs` []; `ScanEndTime`, `LastScanTime` and
//! `ScanResult` are absent (no end time set, no scheduled scan has run).
//!
//! Create replaces the whole setting: optional fields left out take the defaults above.
//! Validation: `ScanTime`/`ScanEndTime` are "HH:MM" (or "HH:MM:SS", the form Describe shows in the
//! official example), UTC; `ScanEndTime` differs from `ScanTime` (it may be earlier: the window then
//! crosses midnight); `ScanPeriod` is days, 1..=365; `ScanScope` 0..=3; scope 1 needs `Images`, scope
//! 3 needs `ClusterIDs`; list entries are non-empty, at most 512 characters, at most 1000 per list.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use api::Caller;
use serde::{Deserialize, Serialize};
use store::ImageScanSetting;

use crate::Service;
use crate::error::ServiceError;

const MAX_LIST: usize = 1000;
const MAX_ENTRY: usize = 512;
const MAX_PERIOD_DAYS: u64 = 365;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribeAssetImageScanSettingRequest {}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAssetImageScanSettingResponse {
    pub enable: bool,
    pub scan_time: String,
    pub scan_period: u64,
    pub scan_virus: bool,
    pub scan_risk: bool,
    pub scan_vul: bool,
    pub all: bool,
    pub images: Vec<String>,
    pub container_running: bool,
    pub scan_scope: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_end_time: Option<String>,
    pub exclude_images: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_scan_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_result: Option<String>,
    #[serde(rename = "ClusterIDs")]
    pub cluster_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateAssetImageScanSettingRequest {
    pub enable: bool,
    pub scan_time: String,
    pub scan_period: u64,
    pub scan_virus: bool,
    pub scan_risk: bool,
    pub scan_vul: bool,
    pub all: Option<bool>,
    pub images: Option<Vec<String>>,
    pub container_running: Option<bool>,
    pub scan_scope: Option<u64>,
    pub scan_end_time: Option<String>,
    pub exclude_images: Option<Vec<String>>,
    #[serde(rename = "ClusterIDs")]
    pub cluster_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct CreateAssetImageScanSettingResponse {}

/// The settings of an account that never set any.
pub fn default_setting() -> ImageScanSetting {
    ImageScanSetting {
        enable: false,
        scan_time: "00:00".into(),
        scan_period: 1,
        scan_virus: true,
        scan_risk: true,
        scan_vul: true,
        all: false,
        images: vec![],
        container_running: false,
        scan_scope: 0,
        scan_end_time: None,
        exclude_images: vec![],
        cluster_ids: vec![],
        last_scan_time: None,
        scan_result: None,
    }
}

/// How long a read of an account's settings answers `DescribeAssetImageScanSetting` without asking
/// the store again: the action is polled (consoles, SDK loops) and the read was the whole cost of
/// a request on PostgreSQL. A change through this process is seen at once (the entry is dropped);
/// through another replica, or a worker's `LastScanTime`/`ScanResult`, within this time.
pub const SETTINGS_TTL: Duration = Duration::from_secs(1);
/// Accounts kept at most (emptied when full, as the credential cache).
const SETTINGS_MAX: usize = 10_000;

/// The per-account settings cache of [`describe`].
#[derive(Default)]
pub struct SettingsCache(Mutex<HashMap<model::AccountId, (Instant, Option<ImageScanSetting>)>>);

impl SettingsCache {
    async fn get(&self, store: &store::Store, account: model::AccountId) -> Result<Option<ImageScanSetting>, store::Error> {
        if let Some((at, s)) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&account)
            && at.elapsed() < SETTINGS_TTL
        {
            return Ok(s.clone());
        }
        let s = store.image_scan_setting(account).await?;
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SETTINGS_MAX {
            map.clear();
        }
        map.insert(account, (Instant::now(), s.clone()));
        Ok(s)
    }

    fn forget(&self, account: model::AccountId) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&account);
    }
}

pub async fn describe(
    svc: &Service,
    caller: Caller,
    _req: DescribeAssetImageScanSettingRequest,
) -> Result<DescribeAssetImageScanSettingResponse, ServiceError> {
    let s = svc.settings.get(&svc.store, caller.account).await?.unwrap_or_else(default_setting);
    Ok(DescribeAssetImageScanSettingResponse {
        enable: s.enable,
        scan_time: s.scan_time,
        scan_period: s.scan_period,
        scan_virus: s.scan_virus,
        scan_risk: s.scan_risk,
        scan_vul: s.scan_vul,
        all: s.all,
        images: s.images,
        container_running: s.container_running,
        scan_scope: s.scan_scope,
        scan_end_time: s.scan_end_time,
        exclude_images: s.exclude_images,
        last_scan_time: s.last_scan_time,
        scan_result: s.scan_result,
        cluster_ids: s.cluster_ids,
    })
}

pub async fn create(
    svc: &Service,
    caller: Caller,
    req: CreateAssetImageScanSettingRequest,
) -> Result<CreateAssetImageScanSettingResponse, ServiceError> {
    let setting = validate(req)?;
    svc.store.put_image_scan_setting(caller.account, &setting).await?;
    svc.settings.forget(caller.account);
    Ok(CreateAssetImageScanSettingResponse {})
}

/// Checks every rule and builds the record to store.
pub fn validate(req: CreateAssetImageScanSettingRequest) -> Result<ImageScanSetting, ServiceError> {
    let bad = |field, reason: String| ServiceError::InvalidFormat { field, reason };
    check_time("ScanTime", &req.scan_time)?;
    if let Some(end) = &req.scan_end_time {
        check_time("ScanEndTime", end)?;
        if minutes(end) == minutes(&req.scan_time) {
            return Err(bad("ScanEndTime", "must differ from ScanTime (the scan window would be empty)".into()));
        }
    }
    if !(1..=MAX_PERIOD_DAYS).contains(&req.scan_period) {
        return Err(bad("ScanPeriod", format!("must be between 1 and {MAX_PERIOD_DAYS} (days), got {}", req.scan_period)));
    }
    let scan_scope = req.scan_scope.unwrap_or(0);
    if scan_scope > 3 {
        return Err(bad("ScanScope", format!("must be 0, 1, 2 or 3, got {scan_scope}")));
    }
    let images = check_list("Images", req.images)?;
    let exclude_images = check_list("ExcludeImages", req.exclude_images)?;
    let cluster_ids = check_list("ClusterIDs", req.cluster_ids)?;
    if scan_scope == 1 && images.is_empty() {
        return Err(ServiceError::MissingParameter { field: "Images", reason: "ScanScope 1 scans the selected images".into() });
    }
    if scan_scope == 3 && cluster_ids.is_empty() {
        return Err(ServiceError::MissingParameter { field: "ClusterIDs", reason: "ScanScope 3 scans the selected clusters".into() });
    }
    Ok(ImageScanSetting {
        enable: req.enable,
        scan_time: req.scan_time,
        scan_period: req.scan_period,
        scan_virus: req.scan_virus,
        scan_risk: req.scan_risk,
        scan_vul: req.scan_vul,
        all: req.all.unwrap_or(false),
        images,
        container_running: req.container_running.unwrap_or(false),
        scan_scope,
        scan_end_time: req.scan_end_time,
        exclude_images,
        cluster_ids,
        last_scan_time: None,
        scan_result: None,
    })
}

/// "HH:MM" or "HH:MM:SS", two digits each, 24-hour.
pub(crate) fn check_time(field: &'static str, v: &str) -> Result<(), ServiceError> {
    let parts: Vec<&str> = v.split(':').collect();
    let ok = matches!(parts.len(), 2 | 3)
        && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0] < "24"
        && parts[1] < "60"
        && parts.get(2).is_none_or(|s| *s < "60");
    if ok { Ok(()) } else { Err(ServiceError::InvalidFormat { field, reason: format!("expected a UTC time \"HH:MM\", got {v:?}") }) }
}

fn minutes(v: &str) -> &str {
    v.get(..5).unwrap_or(v)
}

fn check_list(field: &'static str, v: Option<Vec<String>>) -> Result<Vec<String>, ServiceError> {
    let v = v.unwrap_or_default();
    if v.len() > MAX_LIST {
        return Err(ServiceError::LengthLimit { field, reason: format!("at most {MAX_LIST} entries, got {}", v.len()) });
    }
    for (i, s) in v.iter().enumerate() {
        if s.trim().is_empty() {
            return Err(ServiceError::InvalidFormat { field, reason: format!("entry {i} is empty") });
        }
        if s.chars().count() > MAX_ENTRY {
            return Err(ServiceError::LengthLimit { field, reason: format!("entry {i} is longer than {MAX_ENTRY} characters") });
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn describe_is_cached_a_second_and_own_writes_show_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::open(dir.path(), None).await.unwrap();
        let key = store.create_account_with_key().await.unwrap();
        let svc = Service::new(store.clone());
        let caller = || Caller {
            request_id: "t".into(),
            account: key.app_id,
            secret_id: key.secret_id.clone(),
            action: "x",
            region: None,
            origin: None,
        };
        let read = || async { describe(&svc, caller(), DescribeAssetImageScanSettingRequest {}).await.unwrap().scan_time };
        assert_eq!(read().await, default_setting().scan_time);
        create(&svc, caller(), req(with("ScanTime", serde_json::json!("03:30")))).await.unwrap();
        assert_eq!(read().await, "03:30", "a change through this process is seen at once");
        // A change by another process (straight to the store) shows after the TTL.
        let mut other = store.image_scan_setting(key.app_id).await.unwrap().unwrap();
        other.scan_time = "04:45".into();
        store.put_image_scan_setting(key.app_id, &other).await.unwrap();
        assert_eq!(read().await, "03:30");
        tokio::time::sleep(SETTINGS_TTL + Duration::from_millis(50)).await;
        assert_eq!(read().await, "04:45");
    }

    fn req(v: serde_json::Value) -> CreateAssetImageScanSettingRequest {
        serde_json::from_value(v).unwrap()
    }

    fn base() -> serde_json::Value {
        serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 2, "ScanVirus": true, "ScanRisk": false, "ScanVul": true})
    }

    fn with(k: &str, v: serde_json::Value) -> serde_json::Value {
        let mut b = base();
        b[k] = v;
        b
    }

    fn field_of(e: ServiceError) -> &'static str {
        match e {
            ServiceError::InvalidFormat { field, .. }
            | ServiceError::LengthLimit { field, .. }
            | ServiceError::MissingParameter { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn accepts_and_defaults() {
        let s = validate(req(base())).unwrap();
        assert_eq!(s.scan_scope, 0);
        assert!(!s.all && s.images.is_empty() && s.scan_end_time.is_none());
        assert!(validate(req(with("ScanTime", "23:59:59".into()))).is_ok());
        assert!(validate(req(with("ScanEndTime", "00:30".into()))).is_ok(), "window across midnight");
    }

    #[test]
    fn rejects_with_field_name() {
        for (k, v, field) in [
            ("ScanTime", serde_json::json!("24:00"), "ScanTime"),
            ("ScanTime", serde_json::json!("1:00"), "ScanTime"),
            ("ScanTime", serde_json::json!("01:60"), "ScanTime"),
            ("ScanTime", serde_json::json!(""), "ScanTime"),
            ("ScanTime", serde_json::json!("01:00:00:00"), "ScanTime"),
            ("ScanEndTime", serde_json::json!("noon"), "ScanEndTime"),
            ("ScanEndTime", serde_json::json!("01:00"), "ScanEndTime"),
            ("ScanPeriod", serde_json::json!(0), "ScanPeriod"),
            ("ScanPeriod", serde_json::json!(366), "ScanPeriod"),
            ("ScanScope", serde_json::json!(4), "ScanScope"),
            ("ScanScope", serde_json::json!(1), "Images"),
            ("ScanScope", serde_json::json!(3), "ClusterIDs"),
            ("Images", serde_json::json!([""]), "Images"),
            ("ExcludeImages", serde_json::json!(["x".repeat(513)]), "ExcludeImages"),
            ("ClusterIDs", serde_json::json!(vec!["c"; 1001]), "ClusterIDs"),
        ] {
            assert_eq!(field_of(validate(req(with(k, v.clone()))).unwrap_err()), field, "{k}={v}");
        }
    }

    #[test]
    fn describe_field_names_are_tcss() {
        let d = DescribeAssetImageScanSettingResponse {
            enable: false,
            scan_time: "00:00".into(),
            scan_period: 1,
            scan_virus: true,
            scan_risk: true,
            scan_vul: true,
            all: false,
            images: vec![],
            container_running: false,
            scan_scope: 0,
            scan_end_time: Some("02:00".into()),
            exclude_images: vec![],
            last_scan_time: None,
            scan_result: None,
            cluster_ids: vec![],
        };
        let v = serde_json::to_value(&d).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../testdata/DescribeAssetImageScanSetting.response-names.json")).unwrap();
        let mut want: Vec<&str> = schema.as_array().unwrap().iter().filter_map(|x| x.as_str()).collect();
        want.retain(|n| !["RequestId", "LastScanTime", "ScanResult"].contains(n));
        want.sort();
        assert_eq!(keys, want);
    }
}
