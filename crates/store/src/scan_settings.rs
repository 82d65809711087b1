//! The scheduled image scan settings of an account (one row per account).

use model::AccountId;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Error, Store, now_unix};

/// Stored settings. Validation is the service's job; this is a faithful record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageScanSetting {
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
    pub scan_end_time: Option<String>,
    pub exclude_images: Vec<String>,
    pub cluster_ids: Vec<String>,
    /// Set by the scheduler after a scheduled scan ran.
    pub last_scan_time: Option<String>,
    pub scan_result: Option<String>,
}

const TABLE: &str = "image_scan_settings";

impl Store {
    pub async fn image_scan_setting(&self, account: AccountId) -> Result<Option<ImageScanSetting>, Error> {
        let row = sqlx::query(
            "SELECT enable, scan_time, scan_period, scan_virus, scan_risk, scan_vul, all_images, images, \
             container_running, scan_scope, scan_end_time, exclude_images, cluster_ids, last_scan_time, scan_result \
             FROM image_scan_settings WHERE account_id = $1",
        )
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| from_row(&r)).transpose()
    }

    /// Replaces the account's settings (keeps the scheduler's last-scan fields).
    pub async fn put_image_scan_setting(&self, account: AccountId, s: &ImageScanSetting) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO image_scan_settings (account_id, enable, scan_time, scan_period, scan_virus, scan_risk, \
             scan_vul, all_images, images, container_running, scan_scope, scan_end_time, exclude_images, cluster_ids, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (account_id) DO UPDATE SET enable = excluded.enable, scan_time = excluded.scan_time, \
             scan_period = excluded.scan_period, scan_virus = excluded.scan_virus, scan_risk = excluded.scan_risk, \
             scan_vul = excluded.scan_vul, all_images = excluded.all_images, images = excluded.images, \
             container_running = excluded.container_running, scan_scope = excluded.scan_scope, \
             scan_end_time = excluded.scan_end_time, exclude_images = excluded.exclude_images, \
             cluster_ids = excluded.cluster_ids, updated_at = excluded.updated_at",
        )
        .bind(account)
        .bind(s.enable as i64)
        .bind(&s.scan_time)
        .bind(to_i64(s.scan_period, "scan_period")?)
        .bind(s.scan_virus as i64)
        .bind(s.scan_risk as i64)
        .bind(s.scan_vul as i64)
        .bind(s.all as i64)
        .bind(json_list(&s.images))
        .bind(s.container_running as i64)
        .bind(to_i64(s.scan_scope, "scan_scope")?)
        .bind(s.scan_end_time.clone())
        .bind(json_list(&s.exclude_images))
        .bind(json_list(&s.cluster_ids))
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the outcome of a scheduled scan (for `LastScanTime` / `ScanResult`).
    pub async fn record_scheduled_image_scan(&self, account: AccountId, time: &str, result: &str) -> Result<(), Error> {
        sqlx::query("UPDATE image_scan_settings SET last_scan_time = $1, scan_result = $2 WHERE account_id = $3")
            .bind(time)
            .bind(result)
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn from_row(r: &AnyRow) -> Result<ImageScanSetting, Error> {
    let b = |i: usize| -> Result<bool, Error> { Ok(r.try_get::<i64, _>(i)? != 0) };
    let u = |i: usize, what: &str| -> Result<u64, Error> {
        u64::try_from(r.try_get::<i64, _>(i)?).map_err(|_| corrupt(format!("negative {what}")))
    };
    let list = |i: usize| -> Result<Vec<String>, Error> {
        let text: String = r.try_get(i)?;
        serde_json::from_str(&text).map_err(|e| corrupt(format!("list column {i}: {e}")))
    };
    Ok(ImageScanSetting {
        enable: b(0)?,
        scan_time: r.try_get(1)?,
        scan_period: u(2, "scan_period")?,
        scan_virus: b(3)?,
        scan_risk: b(4)?,
        scan_vul: b(5)?,
        all: b(6)?,
        images: list(7)?,
        container_running: b(8)?,
        scan_scope: u(9, "scan_scope")?,
        scan_end_time: r.try_get(10)?,
        exclude_images: list(11)?,
        cluster_ids: list(12)?,
        last_scan_time: r.try_get(13)?,
        scan_result: r.try_get(14)?,
    })
}

fn corrupt(reason: String) -> Error {
    Error::Corrupt { table: TABLE, reason }
}

fn to_i64(v: u64, what: &str) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| corrupt(format!("{what} {v} does not fit a BIGINT")))
}

fn json_list(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}
