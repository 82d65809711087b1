//! What the image scan scheduler reads (accounts with scheduled scans on) and the slot it last fired.

use model::AccountId;
use sqlx::Row;

use crate::{Error, ImageScanSetting, Store};

/// An account's schedule input: its settings, when they were saved, the last fired slot.
#[derive(Debug, Clone)]
pub struct ImageScanSchedule {
    pub account: AccountId,
    pub setting: ImageScanSetting,
    pub updated_at: i64,
    pub last_slot: Option<i64>,
}

impl Store {
    /// Accounts with scheduled scans enabled, with what the scheduler needs.
    pub async fn image_scan_schedules(&self) -> Result<Vec<ImageScanSchedule>, Error> {
        let rows = sqlx::query(
            "SELECT s.account_id, s.updated_at, c.last_slot FROM image_scan_settings s \
             LEFT JOIN image_scan_schedule c ON c.account_id = s.account_id WHERE s.enable = 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let account: i64 = r.try_get(0)?;
            if let Some(setting) = self.image_scan_setting(account).await? {
                out.push(ImageScanSchedule { account, setting, updated_at: r.try_get(1)?, last_slot: r.try_get(2)? });
            }
        }
        Ok(out)
    }

    /// Remembers the slot the scheduler fired for the account.
    pub async fn set_image_scan_last_slot(&self, account: AccountId, slot: i64) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO image_scan_schedule (account_id, last_slot) VALUES ($1, $2) \
             ON CONFLICT (account_id) DO UPDATE SET last_slot = excluded.last_slot",
        )
        .bind(account)
        .bind(slot)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
