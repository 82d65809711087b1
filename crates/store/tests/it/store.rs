//! The store against real databases: SQLite in a temp dir always, PostgreSQL when SHIPSHAPE_TEST_PG is set.

use store::{ImageScanSetting, Store};

async fn backends(dir: &std::path::Path) -> Vec<Store> {
    let mut v = vec![Store::open(&dir.join("sqlite"), None).await.unwrap()];
    match store::testing::fresh_postgres().await.unwrap() {
        Some(url) => v.push(Store::open(&dir.join("pg"), Some(&url)).await.unwrap()),
        None if std::env::var("SHIPSHAPE_TEST_SERVICES").as_deref() == Ok("1") => {
            panic!("SHIPSHAPE_TEST_PG is required")
        }
        None => println!("SHIPSHAPE_TEST_PG unset: PostgreSQL part skipped"),
    }
    v
}

fn sample() -> ImageScanSetting {
    ImageScanSetting {
        enable: true,
        scan_time: "01:30".into(),
        scan_period: 3,
        scan_virus: true,
        scan_risk: false,
        scan_vul: true,
        all: false,
        images: vec!["nginx:1".into(), "redis:7".into()],
        container_running: true,
        scan_scope: 1,
        scan_end_time: Some("04:00".into()),
        exclude_images: vec![],
        cluster_ids: vec!["cls-1".into()],
        last_scan_time: None,
        scan_result: None,
    }
}

#[tokio::test]
async fn accounts_keys_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    for s in backends(dir.path()).await {
        let k1 = s.create_account_with_key().await.unwrap();
        let k2 = s.create_account_with_key().await.unwrap();
        assert_eq!(k1.app_id, store::accounts::FIRST_APP_ID);
        assert_eq!(k2.app_id, k1.app_id + 1);
        assert!(k1.secret_id.starts_with("AKID") && k1.secret_id.len() == 36);
        let k3 = s.create_key(k1.app_id).await.unwrap();
        assert!(matches!(s.create_key(42).await, Err(store::Error::AccountNotFound(42))));

        assert_eq!(s.lookup_key(&k1.secret_id).await.unwrap(), Some((k1.app_id, k1.secret_key.clone(), model::KeyRole::Full)));
        assert_eq!(s.lookup_key("AKIDnope").await.unwrap(), None);
        s.disable_key(&k3.secret_id).await.unwrap();
        assert_eq!(s.lookup_key(&k3.secret_id).await.unwrap(), None);
        assert!(matches!(s.disable_key("AKIDnope").await, Err(store::Error::KeyNotFound(_))));
        let keys = s.list_keys().await.unwrap();
        assert_eq!(keys.len(), 3);
        assert!(keys.iter().any(|k| k.secret_id == k3.secret_id && !k.enabled && k.disabled_at.is_some()));

        // The secret is not stored in plain text.
        let raw: Vec<u8> = sqlx::Row::get(
            &sqlx::query("SELECT secret_ciphertext FROM api_keys WHERE secret_id = $1")
                .bind(&k1.secret_id)
                .fetch_one(s.pool())
                .await
                .unwrap(),
            0,
        );
        assert!(!raw.windows(k1.secret_key.len()).any(|w| w == k1.secret_key.as_bytes()));

        // Settings: per account, upsert, last-scan fields kept.
        assert_eq!(s.image_scan_setting(k1.app_id).await.unwrap(), None);
        s.put_image_scan_setting(k1.app_id, &sample()).await.unwrap();
        assert_eq!(s.image_scan_setting(k1.app_id).await.unwrap(), Some(sample()));
        assert_eq!(s.image_scan_setting(k2.app_id).await.unwrap(), None);
        s.record_scheduled_image_scan(k1.app_id, "2026-11-29 01:30:00", "Success").await.unwrap();
        let mut changed = sample();
        changed.scan_period = 9;
        changed.images = vec![];
        changed.scan_end_time = None;
        s.put_image_scan_setting(k1.app_id, &changed).await.unwrap();
        let got = s.image_scan_setting(k1.app_id).await.unwrap().unwrap();
        assert_eq!(got.scan_period, 9);
        assert_eq!(got.images, Vec::<String>::new());
        assert_eq!(got.scan_end_time, None);
        assert_eq!(got.scan_result.as_deref(), Some("Success"));
        s.close().await;
    }
}

#[tokio::test]
async fn reopen_keeps_data_and_rejects_foreign_url() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), None).await.unwrap();
    let k = s.create_account_with_key().await.unwrap();
    s.close().await;
    let s = Store::open(dir.path(), None).await.unwrap();
    assert_eq!(s.lookup_key(&k.secret_id).await.unwrap().map(|x| x.1), Some(k.secret_key));
    assert_eq!(s.backend(), store::Backend::Sqlite);
    assert!(matches!(Store::open(dir.path(), Some("mysql://x")).await, Err(store::Error::UnsupportedUrl(_))));
}
