//! Unit tests of the registry actions over both store backends.

use super::*;
use std::sync::Arc;
use store::registries::{ConnectionCheck, FileRegistry, RegistryTag};
use store::scan_tasks::{ImageAsset, ImageScanOutcome};

/// Refuses the password `wrong`, accepts anything else.
struct FakeCheck;

impl ConnectionCheck for FakeCheck {
    fn check<'a>(
        &'a self,
        _spec: &'a RegistrySpec,
        password: Option<&'a str>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ConnStatus> + Send + 'a>> {
        Box::pin(async move {
            let bad = password == Some("wrong");
            ConnStatus {
                status: if bad { CONN_AUTH_FAILED } else { CONN_SUCCESS }.into(),
                message: if bad { "unauthorized: HTTP 401".into() } else { String::new() },
                checked_at: Some(1),
            }
        })
    }
}

fn caller(account: AccountId) -> Caller {
    Caller { request_id: "t".into(), account, secret_id: "AKIDtest".into(), action: "Test", region: None, origin: None }
}

async fn services(dir: &std::path::Path) -> Vec<(Arc<Service>, AccountId)> {
    let mut out = Vec::new();
    for (store, account) in store::testing::stores_with_account(dir).await {
        let svc = Service::new(store);
        let _ = svc.registry_check.set(Arc::new(FakeCheck));
        out.push((svc, account));
    }
    out
}

fn add_req(v: serde_json::Value) -> AddAssetImageRegistryRegistryDetailRequest {
    let mut base = serde_json::json!({"Name": "r1", "Username": "u", "Password": "p", "Url": "http://reg:5000",
        "RegistryType": "harbor", "NetType": "public"});
    for (k, x) in v.as_object().unwrap() {
        base[k] = x.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn code(e: ServiceError) -> String {
    api::ApiError::from(e).code.as_str().to_string()
}

#[tokio::test]
async fn registries_crud_and_bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (svc, a) in services(dir.path()).await {
        let c = || caller(a);
        let r = add_registry(&svc, c(), add_req(serde_json::json!({}))).await.unwrap();
        assert!(r.registry_id > 0 && r.health_check_err.is_empty() && r.name_repeat_err.is_empty());
        let id = r.registry_id as u64;
        // The same name again: said so, nothing stored.
        let again = add_registry(&svc, c(), add_req(serde_json::json!({"Url": "other:1"}))).await.unwrap();
        assert_eq!(again.registry_id, 0);
        assert!(again.name_repeat_err.contains("r1"));
        // A wrong password: stored, reported in HealthCheckErr and the connection status.
        let bad = add_registry(&svc, c(), add_req(serde_json::json!({"Name": "r2", "Password": "wrong"}))).await.unwrap();
        assert!(bad.registry_id > 0 && bad.health_check_err.contains("401"));
        let list = describe_registry_list(&svc, c(), ListRequest { limit: None, offset: None, filters: None, by: None, order: None })
            .await
            .unwrap();
        assert_eq!(list.total_count, 2);
        let det = &list.list[1].conn_detect_detail[0];
        assert_eq!((det.conn_detect_status.as_str(), det.quuid.as_str()), (CONN_AUTH_FAILED, "backend"));
        assert!(det.fail_reason.contains("401") && !det.solution.is_empty());

        for (body, want) in [
            (serde_json::json!({"Name": "n", "Url": "ftp://x"}), "InvalidParameter.InvalidFormat"),
            (serde_json::json!({"Name": "n", "Url": "http://a/b/c"}), "InvalidParameter.InvalidFormat"),
            (serde_json::json!({"Name": "n", "RegistryType": "nexus"}), "InvalidParameterValue"),
            (serde_json::json!({"Name": "n", "NetType": "moon"}), "InvalidParameterValue"),
            (serde_json::json!({"Name": "n", "Insecure": 2}), "InvalidParameterValue"),
            (serde_json::json!({"Name": "n", "SyncMode": 5}), "InvalidParameterValue"),
            (serde_json::json!({"Name": "n", "SpeedLimit": -1}), "InvalidParameterValue"),
            (serde_json::json!({"Name": "file:reg:5000"}), "InvalidParameterValue"),
            (serde_json::json!({"Name": " "}), "InvalidParameter.MissingParameter"),
            (serde_json::json!({"Name": "n", "Password": ""}), "InvalidParameter.MissingParameter"),
            (serde_json::json!({"Name": "n", "Username": ""}), "InvalidParameter.MissingParameter"),
            (serde_json::json!({"Name": "x".repeat(200)}), "InvalidParameterValue.LengthLimit"),
            (serde_json::json!({"Name": "n", "WebhookUrl": "nope"}), "InvalidParameter.InvalidFormat"),
        ] {
            let e = add_registry(&svc, c(), add_req(body.clone())).await.err().unwrap_or_else(|| panic!("{body}"));
            assert_eq!(code(e), want, "{body}");
        }
        assert_eq!(svc.store.registries(a).await.unwrap().len(), 2, "bad input changed nothing");

        // Detail never shows the password; an update with an empty password keeps it.
        let d = describe_registry_detail(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap();
        assert_eq!((d.username.as_str(), d.password.as_str(), d.insecure), ("u", "", 0));
        let upd: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(serde_json::json!({
            "RegistryId": id, "Name": "renamed", "Username": "u", "Password": "", "Url": "https://reg:5000",
            "RegistryType": "quay", "NetType": "private", "Insecure": 1, "SpeedLimit": 5}))
        .unwrap();
        let u = update_registry(&svc, c(), upd).await.unwrap();
        assert_eq!(u.registry_id, id as i64);
        assert_eq!(svc.store.registry_password(a, id as i64).await.unwrap().as_deref(), Some("p"));
        let d = describe_registry_detail(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap();
        assert_eq!((d.name.as_str(), d.registry_type.as_str(), d.insecure, d.speed_limit), ("renamed", "quay", 1, 5));
        // To a taken name: said so, nothing changed.
        let upd: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(serde_json::json!({
            "RegistryId": id, "Name": "r2", "Username": "u", "Password": "", "Url": "https://reg:5000",
            "RegistryType": "quay", "NetType": "private"}))
        .unwrap();
        assert!(!update_registry(&svc, c(), upd).await.unwrap().name_repeat_err.is_empty());
        assert!(check_repeat(&svc, c(), CheckRepeatAssetImageRegistryRequest { name: "renamed".into() }).await.unwrap().is_repeat);
        assert!(!check_repeat(&svc, c(), CheckRepeatAssetImageRegistryRequest { name: "r1".into() }).await.unwrap().is_repeat);
        let missing_id: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(serde_json::json!({
            "RegistryId": 999999, "Name": "z", "Username": "", "Password": "", "Url": "reg", "RegistryType": "other", "NetType": "public"}))
        .unwrap();
        assert_eq!(code(update_registry(&svc, c(), missing_id).await.unwrap_err()), "ResourceNotFound");

        // File registries: listed, read-only.
        svc.store
            .mirror_file_registries(a, &[FileRegistry { host: "f:5000".into(), plain_http: true, ..Default::default() }])
            .await
            .unwrap();
        let file = svc.store.registries(a).await.unwrap().into_iter().find(|r| r.read_only()).unwrap();
        let e = remove_registry(&svc, c(), RegistryIdRequest { registry_id: file.registry_id as u64 }).await.unwrap_err();
        assert_eq!(code(e), "FailedOperation");
        let upd: UpdateAssetImageRegistryRegistryDetailRequest = serde_json::from_value(serde_json::json!({
            "RegistryId": file.registry_id, "Name": "f", "Username": "", "Password": "", "Url": "f:5000", "RegistryType": "other", "NetType": "public"})).unwrap();
        assert_eq!(code(update_registry(&svc, c(), upd).await.unwrap_err()), "FailedOperation");

        // Sync requests: unknown ids refused; status doing until the worker ends them.
        let e =
            sync_assets(&svc, c(), SyncAssetImageRegistryAssetRequest { all: None, registry_ids: Some(vec![424242]) }).await.unwrap_err();
        assert_eq!(code(e), "ResourceNotFound");
        assert_eq!(
            code(sync_assets(&svc, c(), SyncAssetImageRegistryAssetRequest { all: None, registry_ids: None }).await.unwrap_err()),
            "InvalidParameter.MissingParameter"
        );
        sync_assets(&svc, c(), SyncAssetImageRegistryAssetRequest { all: Some(true), registry_ids: None }).await.unwrap();
        assert_eq!(describe_asset_status(&svc, c(), NoFieldsRequest {}).await.unwrap().status, "doing");

        remove_registry(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap();
        assert_eq!(code(remove_registry(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap_err()), "ResourceNotFound");
        assert_eq!(code(describe_registry_detail(&svc, c(), RegistryIdRequest { registry_id: id }).await.unwrap_err()), "ResourceNotFound");
    }
}

fn tag(repo: &str, t: &str, image: &str, created: &str) -> RegistryTag {
    RegistryTag {
        repository: repo.into(),
        tag: t.into(),
        image_id: image.into(),
        digest: format!("sha256:d{image}"),
        size: 5,
        created: created.into(),
        os: "linux".into(),
        architecture: "amd64".into(),
    }
}

fn risk_json(path: &str) -> String {
    serde_json::to_string(&model::RiskFinding {
        rule_id: "aws-access-key-id".into(),
        title: "AWS access key ID".into(),
        category: "secret".into(),
        severity: model::Severity::Critical,
        location: model::Location { path: path.into(), layer_index: 0, layer_digest: "sha256:l".into() },
        line: 1,
        masked: "AKIA****".into(),
        deleted_in_layer: None,
    })
    .unwrap()
}

#[tokio::test]
async fn registry_images_lists_tasks_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    for (svc, a) in services(dir.path()).await {
        let c = || caller(a);
        let id = add_registry(&svc, c(), add_req(serde_json::json!({}))).await.unwrap().registry_id;
        let reg = svc.store.registry(a, id).await.unwrap().unwrap();
        let tags: Vec<RegistryTag> = (0..25)
            .map(|n| {
                tag("team/app", &format!("v{n:02}"), if n % 2 == 0 { "sha256:1" } else { "sha256:2" }, &format!("2024-01-{:02}", n + 1))
            })
            .chain([tag("solo", "latest", "sha256:3", "2023-01-01")])
            .collect();
        let asset = |i: &str| ImageAsset {
            facts: model::node::ImageFacts {
                image_id: i.into(),
                names: vec![format!("reg:5000/x:{i}")],
                layers: vec!["sha256:l".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let assets = [asset("sha256:1"), asset("sha256:2"), asset("sha256:3")];
        let ok = ConnStatus { status: CONN_SUCCESS.into(), message: String::new(), checked_at: Some(1) };
        svc.store.finish_registry_sync(a, id, reg.updated_at, Ok((&tags, &assets)), &ok).await.unwrap();

        let list_req = |v: serde_json::Value| -> DescribeAssetImageRegistryListRequest { serde_json::from_value(v).unwrap() };
        let l = describe_image_list(&svc, c(), list_req(serde_json::json!({"Limit": 10, "Offset": 20}))).await.unwrap();
        assert_eq!((l.total_count, l.list.len()), (26, 6));
        let l = describe_image_list(&svc, c(), list_req(serde_json::json!({"OnlyShowLatest": true}))).await.unwrap();
        let mut latest: Vec<String> = l.list.iter().map(|x| format!("{}:{}", x.image_name, x.image_tag)).collect();
        latest.sort();
        assert_eq!(latest, ["solo:latest", "team/app:v24"]);
        let l = describe_image_list(&svc, c(), list_req(serde_json::json!({"Filters": [{"Name": "Namespace", "Values": ["team"], "ExactMatch": true}], "By": "ImageTag", "Order": "DESC", "Limit": 1}))).await.unwrap();
        assert_eq!(
            (l.total_count, l.list[0].image_tag.as_str(), l.list[0].instance_name.as_str(), l.list[0].image_repo_address.as_str()),
            (25, "v24", "r1", "reg:5000/team/app")
        );
        for bad in [
            serde_json::json!({"By": "Nope"}),
            serde_json::json!({"Limit": 101}),
            serde_json::json!({"Filters": [{"Name": "Bogus", "Values": ["x"]}]}),
            serde_json::json!({"Filters": [{"Name": "ScanStatus", "Values": ["weird"]}]}),
        ] {
            assert_eq!(code(describe_image_list(&svc, c(), list_req(bad.clone())).await.err().unwrap()), "InvalidParameter", "{bad}");
        }
        let summary = describe_summary(&svc, c(), DescribeAssetImageRegistrySummaryRequest { filters: None }).await.unwrap();
        assert_eq!(summary.un_scanned_image_cnt, 26);
        let ns = describe_namespace_list(&svc, c(), DescribeImageRegistryNamespaceListRequest { offset: None, limit: None, filters: None })
            .await
            .unwrap();
        assert_eq!((ns.total_count, ns.namespace_list.clone()), (1, vec!["team".to_string()]));
        assert_eq!((ns.namespace_detail[0].registry_cnt, ns.namespace_detail[0].image_cnt), (1, 25));

        // A scan of one tag: its image id is queued once; a second task waits.
        let solo = describe_image_list(
            &svc,
            c(),
            list_req(serde_json::json!({"Filters": [{"Name": "ImageName", "Values": ["solo"], "ExactMatch": true}]})),
        )
        .await
        .unwrap()
        .list[0]
            .id;
        let one_key = |v: serde_json::Value| -> CreateAssetImageRegistryScanTaskOneKeyRequest { serde_json::from_value(v).unwrap() };
        for (bad, want) in [
            (serde_json::json!({"Id": [9999999]}), "ResourceNotFound"),
            (serde_json::json!({"ScanType": ["TROJAN"]}), "InvalidParameter"),
            (serde_json::json!({"ScanScope": 1}), "InvalidParameter.MissingParameter"),
            (serde_json::json!({"Images": [{"Force": "x"}]}), "InvalidParameter.MissingParameter"),
            (serde_json::json!({"Timeout": 0}), "InvalidParameter"),
            (serde_json::json!({"ScanType": ["CVE"]}), "FailedOperation"),
        ] {
            assert_eq!(code(create_scan_task_one_key(&svc, c(), one_key(bad.clone())).await.err().unwrap()), want, "{bad}");
        }
        assert!(svc.store.active_registry_scan_task(a).await.unwrap().is_none(), "refused requests queue nothing");
        let t = create_scan_task_one_key(&svc, c(), one_key(serde_json::json!({"Id": [solo], "ScanType": ["RISK"]}))).await.unwrap();
        assert!(t.task_id > 0);
        let e = create_scan_task_one_key(&svc, c(), one_key(serde_json::json!({"ScanType": ["RISK"]}))).await.unwrap_err();
        assert_eq!(code(e), "FailedOperation.ErrAlreadyScanning");
        let st = |tid: Option<u64>| DescribeAssetImageRegistryScanStatusOneKeyRequest { images: None, all: None, id: None, task_id: tid };
        let s = describe_scan_status(&svc, c(), st(Some(t.task_id))).await.unwrap();
        assert_eq!(
            (s.image_total, s.image_scan_cnt, s.status.as_str(), s.image_status[0].scan_status.as_str()),
            (1, 0, "READY", "WAIT_SCAN")
        );
        assert_eq!(code(describe_scan_status(&svc, c(), st(Some(12345))).await.unwrap_err()), "ResourceNotFound");

        // The worker's part, by hand: claim and finish with a finding.
        let claim = svc.store.claim_image_scan("w", 0).await.unwrap().unwrap();
        assert_eq!(claim.image_id, "sha256:3");
        let o = ImageScanOutcome {
            summary: serde_json::json!({"os_name": "alpine 3.20", "risk": {"count": 1, "critical": 1}}).to_string(),
            kinds: vec![FindingKind::Risk],
            findings: vec![(FindingKind::Risk, risk_json("/app/.env"))],
            risk_count: 1,
        };
        svc.store.finish_image_scan(&claim, "w", Some(&o), None).await.unwrap();
        let s = describe_scan_status(&svc, c(), st(None)).await.unwrap();
        assert_eq!((s.status.as_str(), s.schedule, s.risk_count, s.success_count), ("END", 100, 1, 0));
        let row = &describe_image_list(&svc, c(), list_req(serde_json::json!({"Filters": [{"Name": "Id", "Values": [solo.to_string()]}]})))
            .await
            .unwrap()
            .list[0];
        assert_eq!(
            (row.scan_status.as_str(), row.risk_status.as_str(), row.cve_status.as_str(), row.risk_cnt, row.os_name.as_str()),
            ("SCANNED", "SCANNED", "NOT_SCAN", 1, "alpine 3.20")
        );

        // The findings: the local list's, in the registry shape; by Id or by ImageInfo.
        let fr = |v: serde_json::Value| -> RegistryFindingsRequest { serde_json::from_value(v).unwrap() };
        let risks = describe_risk_list(&svc, c(), fr(serde_json::json!({"Id": solo}))).await.unwrap();
        let local = images::describe_risk_list(&svc, c(), serde_json::from_value(serde_json::json!({"ImageID": "sha256:3"})).unwrap())
            .await
            .unwrap();
        assert_eq!(risks.total_count, 1);
        assert_eq!((risks.list[0].desc.as_str(), risks.list[0].level.as_str()), (local.list[0].desc.as_str(), "4"));
        let by_info = describe_risk_list(&svc, c(), fr(serde_json::json!({"ImageInfo": {"ImageName": "solo", "ImageTag": "latest", "InstanceName": "r1"}, "Filters": [{"Name": "Level", "Values": ["all"]}]}))).await.unwrap();
        assert_eq!(by_info.total_count, 1);
        // `Name` reads the description; the image list's filters and sort keys apply too.
        let svc_ref = &svc;
        let count = |filters: serde_json::Value, by: &str| {
            let req = fr(serde_json::json!({"Id": solo, "Filters": filters, "By": by, "Order": "DESC"}));
            async move { describe_risk_list(svc_ref, c(), req).await.map(|l| l.total_count) }
        };
        assert_eq!(count(serde_json::json!([{"Name": "Name", "Values": ["APP/.ENV"]}]), "Level").await.unwrap(), 1);
        assert_eq!(count(serde_json::json!([{"Name": "Name", "Values": ["line 2"]}]), "Type").await.unwrap(), 0);
        assert_eq!(
            count(serde_json::json!([{"Name": "Type", "Values": ["1"]}, {"Name": "Level", "Values": ["CRITICAL"]}]), "").await.unwrap(),
            1
        );
        assert_eq!(count(serde_json::json!([{"Name": "Behavior", "Values": ["2"]}]), "Behavior").await.unwrap(), 0);
        for (filters, by) in [(serde_json::json!([{"Name": "Tag", "Values": ["x"]}]), ""), (serde_json::json!([]), "Size")] {
            assert_eq!(code(count(filters, by).await.unwrap_err()), "InvalidParameter");
        }
        assert_eq!(code(describe_risk_list(&svc, c(), fr(serde_json::json!({}))).await.unwrap_err()), "InvalidParameter.MissingParameter");
        assert_eq!(code(describe_vul_list(&svc, c(), fr(serde_json::json!({"Id": 987654}))).await.unwrap_err()), "ResourceNotFound");
        assert_eq!(
            describe_vul_list(&svc, c(), fr(serde_json::json!({"Id": solo, "Filters": [{"Name": "Tag", "Values": ["all"]}]})))
                .await
                .unwrap()
                .total_count,
            0
        );
        let d = describe_image_detail(&svc, c(), DescribeAssetImageRegistryDetailRequest { id: Some(solo as u64), image_id: None })
            .await
            .unwrap();
        assert_eq!((d.image_id.as_str(), d.risk_cnt, d.layer_info.as_str()), ("sha256:3", 1, r#"[{"LayerId":"sha256:l"}]"#));

        // Stop: a task of two images, one cancelled by Id, then the rest.
        let t2: TaskIdResponse =
            create_scan_task(&svc, c(), serde_json::from_value(serde_json::json!({"All": true, "ScanType": ["VIRUS"]})).unwrap())
                .await
                .unwrap();
        let s = describe_scan_status(&svc, c(), st(Some(t2.task_id))).await.unwrap();
        assert_eq!(s.image_total, 3);
        let v24 = describe_image_list(
            &svc,
            c(),
            list_req(serde_json::json!({"Filters": [{"Name": "ImageTag", "Values": ["v24"], "ExactMatch": true}]})),
        )
        .await
        .unwrap()
        .list[0]
            .id;
        stop_scan_one_key(
            &svc,
            c(),
            ModifyAssetImageRegistryScanStopOneKeyRequest { all: None, images: None, id: Some(vec![v24 as u64]), task_id: None },
        )
        .await
        .unwrap();
        let q = svc.store.scan_task_queue(a, &t2.task_id.to_string()).await.unwrap();
        assert_eq!(q.iter().filter(|x| x.state == "cancelled").count(), 1);
        stop_scan(&svc, c(), serde_json::from_value(serde_json::json!({"All": true})).unwrap()).await.unwrap();
        assert_eq!(describe_scan_status(&svc, c(), st(None)).await.unwrap().status, "END");
        let e = create_scan_task(&svc, c(), serde_json::from_value(serde_json::json!({"ScanType": ["RISK"]})).unwrap()).await.unwrap_err();
        assert_eq!(code(e), "InvalidParameter.MissingParameter");
    }
}

#[tokio::test]
async fn timing_scan_round_trip_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    for (svc, a) in services(dir.path()).await {
        let c = || caller(a);
        let d = describe_timing_scan(&svc, c(), NoFieldsRequest {}).await.unwrap();
        assert!(!d.enable && d.all && d.scan_type.len() == 3 && d.last_scan_time.is_none());
        let req = |v: serde_json::Value| -> UpdateImageRegistryTimingScanTaskRequest { serde_json::from_value(v).unwrap() };
        for (bad, want) in [
            (serde_json::json!({"Enable": true, "ScanTime": "25:00", "ScanPeriod": 1}), "InvalidParameter.InvalidFormat"),
            (serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 0}), "InvalidParameter.InvalidFormat"),
            (
                serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 1, "ScanEndTime": "01:00"}),
                "InvalidParameter.InvalidFormat",
            ),
            (
                serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 1, "ScanScope": 1}),
                "InvalidParameter.MissingParameter",
            ),
            (serde_json::json!({"Enable": true, "ScanTime": "01:00", "ScanPeriod": 1, "ScanType": ["X"]}), "InvalidParameter"),
        ] {
            assert_eq!(code(update_timing_scan(&svc, c(), req(bad.clone())).await.unwrap_err()), want, "{bad}");
        }
        assert!(svc.store.registry_scan_setting(a).await.unwrap().is_none(), "bad input stored nothing");
        update_timing_scan(&svc, c(), req(serde_json::json!({"Enable": true, "ScanTime": "03:00:00", "ScanPeriod": 7, "ScanType": ["risk", "virus"],
            "Images": [{"ImageName": "team/app", "ImageTag": "v1", "InstanceName": "r1", "Namespace": "team", "Force": ""}], "Id": [4], "Latest": true,
            "ScanEndTime": "05:00", "Namespace": ["team"], "ExcludeImageAssetIds": [9]}))).await.unwrap();
        let d = describe_timing_scan(&svc, c(), NoFieldsRequest {}).await.unwrap();
        assert_eq!((d.enable, d.scan_time.as_str(), d.scan_period, d.scan_scope, d.all), (true, "03:00:00", 7, 1, false));
        assert_eq!(
            (d.scan_type.clone(), d.id.clone(), d.exclude_image_asset_ids.clone(), d.latest),
            (vec!["risk".to_string(), "virus".to_string()], vec![4], vec![9], true)
        );
        assert_eq!((d.images[0].image_name.as_str(), d.scan_end_time.as_deref()), ("team/app", Some("05:00")));
        let s = svc.store.registry_scan_setting(a).await.unwrap().unwrap().setting;
        assert!(!s.scan_vul && s.scan_virus && s.scan_risk);
    }
}

#[test]
fn urls() {
    assert_eq!(parse_url("https://reg.example.com").unwrap(), ("reg.example.com".into(), false));
    assert_eq!(parse_url("http://127.0.0.1:5000/").unwrap(), ("127.0.0.1:5000".into(), true));
    assert_eq!(parse_url("Harbor.Local:8443/v2/").unwrap(), ("harbor.local:8443".into(), false));
    assert_eq!(parse_url("http://[::1]:5000").unwrap(), ("[::1]:5000".into(), true));
    for bad in ["", "ftp://x", "http://", "http://a/b", "http://u@a", "a:0", "a:99999", "a:x", "a b", "http://a?x=1"] {
        assert!(matches!(parse_url(bad), Err(ServiceError::InvalidFormat { .. })), "{bad}");
    }
}

#[test]
fn types_and_scopes() {
    assert_eq!(scan_types(&None).unwrap(), (true, true, true));
    assert_eq!(scan_types(&Some(vec!["cve".into(), "RISK".into()])).unwrap(), (true, false, true));
    assert!(scan_types(&Some(vec![])).is_err());
    assert!(scan_types(&Some(vec!["TROJAN".into()])).is_err());
    assert_eq!(scope_of(None, &[], &[]).unwrap(), 0);
    assert_eq!(scope_of(None, &[1], &[]).unwrap(), 1);
    assert!(matches!(scope_of(Some(1), &[], &[]), Err(ServiceError::MissingParameter { .. })));
    assert!(scope_of(Some(3), &[], &[]).is_err());
}

#[test]
fn registry_finding_filters() {
    let query = |spec: &ListSpec<images::StoredVirus>, filters: serde_json::Value| {
        findings_query(spec, &serde_json::from_value(serde_json::json!({"Filters": filters, "By": "Size"})).unwrap()).map(|_| ())
    };
    let field = |r: Result<(), ServiceError>| match r {
        Err(ServiceError::InvalidParameter { field, reason }) => (field, reason),
        other => panic!("expected InvalidParameter, got {other:?}"),
    };
    // `all` is dropped from any filter, and so is a filter of only `all`, whatever its name.
    let all = serde_json::json!([{"Name": "Level", "Values": ["all"]}, {"Name": "Nope", "Values": [" ALL"]},
        {"Name": "Level", "Values": ["HIGH", "all"]}, {"Name": "RiskLevel", "Values": ["1"]}]);
    assert!(query(&REGISTRY_VIRUS_LIST, all).is_ok());
    // A filter without values is an error before `all` is dropped.
    assert_eq!(field(query(&REGISTRY_VIRUS_LIST, serde_json::json!([{"Name": "Level", "Values": []}]))).0, "Filters");
    // `Level` is `RiskLevel` here, and its errors name the field the image list names.
    assert_eq!(field(query(&REGISTRY_VIRUS_LIST, serde_json::json!([{"Name": "Level", "Values": ["9"]}]))).0, "Filters.RiskLevel");
    assert_eq!(
        field(query(&REGISTRY_VIRUS_LIST, serde_json::json!([{"Name": "Tag", "Values": ["x"]}]))),
        ("Filters", r#"unknown filter name "Tag" (Name, VirusName, Path, RiskLevel, Level)"#.to_string())
    );
    // The image list's sort keys.
    assert!(query(&images::VIRUS_LIST, serde_json::json!([])).is_ok());
    fn names<T>(spec: &ListSpec<T>) -> String {
        spec.filters.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",")
    }
    assert_eq!(names(&REGISTRY_VUL_LIST), "Name,CVEID,Component,Level,Tag");
    assert_eq!(names(&REGISTRY_RISK_LIST), "Level,Behavior,Type,Name");
}

mod paging_in_sql {
    use super::*;
    use crate::list::paged;

    /// The database's page equals the in-memory list's page for every filter and sort it takes.
    #[tokio::test(flavor = "multi_thread")]
    async fn sql_pages_equal_the_in_memory_list() {
        let dir = tempfile::tempdir().unwrap();
        for (store, a) in store::testing::stores_with_account(dir.path()).await {
            let svc = Service::new(store);
            let ok = ConnStatus { status: CONN_SUCCESS.into(), message: String::new(), checked_at: Some(1) };
            for (name, host, kind, n) in [("Reg-One", "one:5000", "harbor", 40), ("two", "two:5000", "quay", 25)] {
                let spec = RegistrySpec { name: name.into(), host: host.into(), registry_type: kind.into(), ..Default::default() };
                let RegistryWrite::Done(id) = svc.store.add_registry(a, &spec, None, &ok).await.unwrap() else { panic!() };
                let reg = svc.store.registry(a, id).await.unwrap().unwrap();
                let tags: Vec<store::registries::RegistryTag> = (0..n)
                    .map(|i| store::registries::RegistryTag {
                        repository: ["team/App", "team/app_x", "solo", "Ünï/x"][i % 4].into(),
                        tag: if i % 7 == 0 { "latest".into() } else { format!("v{}", i % 9) + if i % 2 == 0 { "B" } else { "a" } },
                        image_id: format!("sha256:{}", i % 5),
                        digest: format!("sha256:d{i}"),
                        size: (i % 6) as u64 * 10,
                        created: format!("2026-01-0{}T00:00:00Z", 1 + i % 3),
                        os: "linux".into(),
                        architecture: "amd64".into(),
                    })
                    .collect();
                let mut seen = std::collections::BTreeSet::new();
                let tags: Vec<_> = tags.into_iter().filter(|t| seen.insert((t.repository.clone(), t.tag.clone()))).collect();
                svc.store.finish_registry_sync(a, id, reg.updated_at, Ok((&tags, &[])), &ok).await.unwrap();
            }
            let all = svc.store.registry_images(a).await.unwrap();
            let some_id = all[3].id.to_string();
            let reqs = [
                serde_json::json!({}),
                serde_json::json!({"Limit": 7, "Offset": 5, "By": "ImageTag"}),
                serde_json::json!({"Limit": 100, "By": "ImageTag", "Order": "DESC"}),
                serde_json::json!({"Limit": 9, "Offset": 2, "By": "ImageName", "Order": "desc"}),
                serde_json::json!({"Limit": 100, "By": "ImageCreateTime", "Order": "DESC"}),
                serde_json::json!({"Limit": 11, "By": "ImageSize"}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["APP", "solo"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["team/App"], "ExactMatch": true}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["p_x"]}, {"Name": "ImageTag", "Values": ["b"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["%"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "InstanceName", "Values": ["reg-"]}], "By": "ImageSize", "Order": "DESC"}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "RegistryType", "Values": ["quay"], "ExactMatch": true}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "Id", "Values": [some_id, "0x1", "07"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageId", "Values": ["SHA256:3"]}, {"Name": "ImageDigest", "Values": ["d1"]}]}),
                serde_json::json!({"Limit": 100, "Filters": [{"Name": "ImageName", "Values": ["ünï"]}]}),
                serde_json::json!({"Limit": 100, "OnlyShowLatest": true, "By": "ImageName"}),
            ];
            let c = Caller { request_id: "t".into(), account: a, secret_id: "x".into(), action: "x", region: None, origin: None };
            for r in reqs {
                let req: DescribeAssetImageRegistryListRequest = serde_json::from_value(r.clone()).unwrap();
                let got = describe_image_list(&svc, c.clone(), req).await.unwrap();
                let req: DescribeAssetImageRegistryListRequest = serde_json::from_value(r.clone()).unwrap();
                let (all, total) = image_list(&svc, a, &req, None).await.unwrap();
                let want = paged(all, page(req.limit, req.offset).unwrap());
                assert_eq!(got.total_count, total, "{r}");
                assert_eq!(serde_json::to_value(&got.list).unwrap(), serde_json::to_value(&want).unwrap(), "{r}");
                assert!(total > 0 || r["Filters"].is_array(), "{r}");
            }
        }
    }
}

mod cost {
    use super::*;

    /// Where the time of a 2,000-row registry list goes (`cargo test -p service --release --lib
    /// registries::tests::cost -- --ignored --nocapture`).
    #[tokio::test(flavor = "multi_thread")]
    #[ignore]
    async fn list_of_2000_rows() {
        let dir = tempfile::tempdir().unwrap();
        for (store, a) in store::testing::stores_with_account(dir.path()).await {
            let svc = Service::new(store);
            let spec = RegistrySpec { name: "r".into(), host: "reg:5000".into(), ..Default::default() };
            let ok = ConnStatus { status: CONN_SUCCESS.into(), message: String::new(), checked_at: Some(1) };
            let RegistryWrite::Done(id) = svc.store.add_registry(a, &spec, None, &ok).await.unwrap() else { panic!() };
            let reg = svc.store.registry(a, id).await.unwrap().unwrap();
            let tags: Vec<store::registries::RegistryTag> = (0..2000)
                .map(|n| store::registries::RegistryTag {
                    repository: format!("bench/app-{}", n % 10),
                    tag: format!("t{n}"),
                    image_id: format!("sha256:{}", n % 4),
                    digest: format!("sha256:d{}", n % 4),
                    size: 1,
                    created: "2026-01-01T00:00:00Z".into(),
                    os: "linux".into(),
                    architecture: "amd64".into(),
                })
                .collect();
            let assets: Vec<store::scan_tasks::ImageAsset> = (0..4)
                .map(|i| store::scan_tasks::ImageAsset {
                    facts: model::node::ImageFacts {
                        image_id: format!("sha256:{i}"),
                        names: tags
                            .iter()
                            .filter(|t| t.image_id == format!("sha256:{i}"))
                            .map(|t| format!("reg:5000/{}:{}", t.repository, t.tag))
                            .collect(),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect();
            svc.store.finish_registry_sync(a, id, reg.updated_at, Ok((&tags, &assets)), &ok).await.unwrap();
            for _ in 0..3 {
                let t = std::time::Instant::now();
                let imgs = svc.store.registry_images(a).await.unwrap();
                let t1 = t.elapsed();
                let _ = svc.store.image_scan_results(a).await.unwrap();
                let t2 = t.elapsed();
                let _ = svc.store.image_scan_active_images(a).await.unwrap();
                let t3 = t.elapsed();
                let _ = svc.store.image_assets(a).await.unwrap();
                let t4 = t.elapsed();
                let _ = latest_ids(&imgs);
                let t5 = t.elapsed();
                let req: DescribeAssetImageRegistryListRequest = serde_json::from_str("{}").unwrap();
                let c = Caller { request_id: "t".into(), account: a, secret_id: "x".into(), action: "x", region: None, origin: None };
                let t6s = std::time::Instant::now();
                describe_image_list(&svc, c, req).await.unwrap();
                eprintln!(
                    "{:?}: registry_images {:?}, results {:?}, active {:?}, image_assets {:?}, latest {:?}; whole list {:?}",
                    svc.store.backend(),
                    t1,
                    t2 - t1,
                    t3 - t2,
                    t4 - t3,
                    t5 - t4,
                    t6s.elapsed()
                );
            }
        }
    }
}

/// `Debug` of a registry's settings: what names it, never its password or webhook token.
macro_rules! registry_debug {
    ($($ty:ident),*) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name)
                    .field("url", &self.url)
                    .field("username", &self.username)
                    .field("password", &if self.password.is_empty() { "" } else { "****" })
                    .finish_non_exhaustive()
            }
        }
    )*};
}
registry_debug!(
    AddAssetImageRegistryRegistryDetailRequest,
    UpdateAssetImageRegistryRegistryDetailRequest,
    DescribeAssetImageRegistryRegistryDetailResponse
);
