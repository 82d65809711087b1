//! Exactly one process per slot: the schedulers (image scans, registry scans, compliance periodic
//! tasks) and the periodic refreshes (Docker inventory, registry syncs) run in every worker, and
//! each firing first claims its slot in the store ([`store::Store::claim_job_slot`], one atomic
//! upsert on both backends). The losers skip it; a slot never fires twice, even across restarts.

use std::sync::OnceLock;
use std::time::Duration;

/// This process, as the holder of the slots it claims (`host:pid`).
pub fn holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(|| {
        let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        format!("{host}:{}", std::process::id())
    })
}

/// The period slot `now` (unix seconds) falls in: every process on the database agrees on it
/// as long as their clocks agree to well under the period.
pub fn period_slot(now: i64, every: Duration) -> i64 {
    now.div_euclid(every.as_secs().max(1) as i64)
}

/// Claims slot `slot` of job `name` for this process. A store error lets the job run: a duplicate
/// refresh is harmless, a refresh lost to a database hiccup is not.
pub async fn claim(store: &store::Store, name: &str, slot: i64) -> bool {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match store.claim_job_slot(name, slot, holder(), now).await {
        Ok(won) => won,
        Err(e) => {
            tracing::warn!(job = name, error = %e, "claiming a job slot failed: running it here");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_period() {
        let m = Duration::from_secs(60);
        assert_eq!(period_slot(0, m), 0);
        assert_eq!(period_slot(59, m), 0);
        assert_eq!(period_slot(60, m), 1);
        assert_eq!(period_slot(125, Duration::ZERO), 125);
    }
}
