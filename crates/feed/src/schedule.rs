//! `serve --db-update-every`: the same [`update`](crate::update) on a period, in the background.

use std::time::Duration;

use store::Store;
use tokio::sync::watch;

use crate::{FeedError, UpdateConfig, now_unix};

/// `90s`, `30m`, `12h`, `1d`; `0` (any unit) turns the updates off (a zero duration).
pub fn parse_period(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 90s, 30m, 12h, 1d, or 0"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "" => return Err(format!("{s:?}: add a unit (s, m, h or d), e.g. {n}s")),
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (s, m, h or d)")),
    };
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(|| format!("{s:?}: too long"))
}

/// How long until the next periodic update is due: zero when no feed was ever fetched
/// successfully or the newest successful check is older than `period`.
pub async fn due_in(store: &Store, period: Duration) -> Result<Duration, FeedError> {
    let last = store.feed_states().await?.iter().filter(|s| s.error.is_none()).map(|s| s.checked_at).max();
    let Some(last) = last else {
        return Ok(Duration::ZERO);
    };
    let age = Duration::from_secs(now_unix().saturating_sub(last).max(0) as u64);
    Ok(period.saturating_sub(age))
}

/// Runs [`update`](crate::update) when due (see [`due_in`]), then every `period`, until `stop`
/// turns true (an update in flight is dropped: each feed's swap is one transaction, so the store
/// keeps the previous or the new data). Failures are logged, never fatal.
pub async fn run_every(store: Store, cfg: UpdateConfig, period: Duration, mut stop: watch::Receiver<bool>) {
    if period.is_zero() {
        return;
    }
    let mut wait = match due_in(&store, period).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "reading the advisory feed states failed; updating now");
            Duration::ZERO
        }
    };
    loop {
        if !wait.is_zero() {
            tracing::info!(in_secs = wait.as_secs(), "next advisory feed update");
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        tokio::select! {
            report = crate::update(&store, &cfg, &()) => log_report(&report),
            _ = stop.wait_for(|s| *s) => {
                tracing::info!("advisory feed update interrupted by shutdown");
                return;
            }
        }
        wait = period;
    }
}

fn log_report(report: &crate::UpdateReport) {
    use crate::FeedOutcome;
    for f in report.failures() {
        if let FeedOutcome::Failed(e) = &f.outcome {
            tracing::warn!(feed = %f.name, url = %f.url, error = %e, "advisory feed update failed; its previous data is kept");
        }
    }
    let count = |p: fn(&FeedOutcome) -> bool| report.feeds.iter().filter(|f| p(&f.outcome)).count();
    tracing::info!(
        feeds = report.feeds.len(),
        imported = count(|o| matches!(o, FeedOutcome::Imported { .. })),
        not_modified = count(|o| matches!(o, FeedOutcome::NotModified | FeedOutcome::Unchanged)),
        failed = count(|o| matches!(o, FeedOutcome::Failed(_))),
        "advisory feeds updated"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(parse_period("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_period("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_period("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_period("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_period("0"), Ok(Duration::ZERO));
        assert_eq!(parse_period("0h"), Ok(Duration::ZERO));
        for bad in ["", "12", "h", "1.5h", "-1h", "12 h", "1w", "99999999999999999999d"] {
            assert!(parse_period(bad).is_err(), "{bad:?} accepted");
        }
    }
}
