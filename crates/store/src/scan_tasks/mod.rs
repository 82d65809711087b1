//! Images: the inventory ([`inventory`]), scan tasks and their durable queue ([`tasks`]), the
//! latest results per image ([`results`]) and the scheduler's state ([`schedules`]). The public
//! names are re-exported here, so callers say `store::scan_tasks::ImageAsset` whatever the file.

use crate::Error;

mod inventory;
mod results;
mod schedules;
mod tasks;

pub(crate) use inventory::upsert_asset_row;
pub use inventory::{DOCKER_SOURCE, ImageAsset};
pub(crate) use results::write_outcome;
pub use results::{ImageScanOutcome, ImageScanResult};
pub use schedules::ImageScanSchedule;
pub use tasks::{CreatedTask, FAMILY_LOCAL, FAMILY_REGISTRY, ImageScanClaim, ImageScanProgress, ImageScanTask, NewImageScanTask};
pub(crate) use tasks::{end_task_if_drained, to_scan};

// TCSS time format: one definition in `model`, re-exported for the store's callers.
pub use model::format_utc;

fn json_list(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}

fn parse_list(table: &'static str, text: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt { table, reason: format!("list column: {e}") })
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}
