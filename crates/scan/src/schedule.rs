//! When the scheduled image scan fires: a pure function of the settings, the last fired slot
//! and the current time, so it is tested with a fixed clock and the worker only has to call it.
//!
//! Times are UTC (the TCSS page: "backend parses hour/minute/second in UTC"). `ScanPeriod` is
//! in days. Slots are `ScanTime` on every `ScanPeriod`-th day counted from the first slot, which
//! is the first `ScanTime` at or after the moment the settings were saved; after a run the next
//! slot is the last run's slot plus the period. Missed slots (server down) collapse into one run.

use time::{Duration, OffsetDateTime, Time};

/// What the scheduler needs from the image scan settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSettings {
    pub enable: bool,
    /// Time of day the scan starts, UTC.
    pub scan_time: Time,
    /// Days between two runs, at least 1.
    pub scan_period_days: u32,
    /// End of the scan window, UTC: a scheduled scan still running then is stopped (`Timeout`).
    pub scan_end_time: Option<Time>,
    /// When these settings were saved: the first slot is at or after it.
    pub updated_at: OffsetDateTime,
}

/// A `ScanTime` / `ScanEndTime` value that is not `HH:MM` or `HH:MM:SS`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a time of day HH:MM or HH:MM:SS")]
pub struct BadTimeOfDay(pub String);

/// Parses `HH:MM` or `HH:MM:SS` (24 h). TCSS sends both forms (`01:00`, `11:05:00`).
pub fn parse_time_of_day(s: &str) -> Result<Time, BadTimeOfDay> {
    let bad = || BadTimeOfDay(s.to_string());
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let num = |i: usize| parts.get(i).map_or(Ok(0u8), |p| p.parse::<u8>().map_err(|_| bad()));
    Time::from_hms(num(0)?, num(1)?, num(2)?).map_err(|_| bad())
}

/// Formats a time of day the way the settings were given back by TCSS (`HH:MM`, seconds only
/// when non-zero).
pub fn format_time_of_day(t: Time) -> String {
    if t.second() == 0 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

/// The slot the scheduler should fire next, or `None` when scheduling is off.
///
/// A result `<= now` means the scan is due: fire once and remember the returned slot as the
/// new `last_run`. When several slots were missed, the latest of them is returned, so a server
/// that was down for a week runs one scan, not seven.
pub fn next_run(s: &ScheduleSettings, last_run: Option<OffsetDateTime>, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if !s.enable {
        return None;
    }
    let period = Duration::days(i64::from(s.scan_period_days.max(1)));
    let first = match last_run {
        // Settings saved after the last run start a new series from the save time.
        Some(last) if last >= s.updated_at => at_time(last, s.scan_time) + period,
        _ => {
            let same_day = at_time(s.updated_at, s.scan_time);
            if same_day >= s.updated_at { same_day } else { same_day + Duration::days(1) }
        }
    };
    if first > now {
        return Some(first);
    }
    // Latest slot of the series not after `now`.
    let missed = (now - first).whole_seconds() / period.whole_seconds();
    Some(first + period * (missed as i32))
}

/// When a scheduled run started at `started` must stop: the window's length after the start
/// (`ScanEndTime` − `ScanTime`, wrapping past midnight). `None` without an end time or with an
/// empty window.
pub fn deadline(s: &ScheduleSettings, started: OffsetDateTime) -> Option<OffsetDateTime> {
    let end = s.scan_end_time?;
    let secs = |t: Time| i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second());
    let window = (secs(end) - secs(s.scan_time)).rem_euclid(86_400);
    (window > 0).then(|| started + Duration::seconds(window))
}

fn at_time(day: OffsetDateTime, t: Time) -> OffsetDateTime {
    day.to_offset(time::UtcOffset::UTC).replace_time(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, time};

    fn settings(updated_at: OffsetDateTime) -> ScheduleSettings {
        ScheduleSettings { enable: true, scan_time: time!(01:00), scan_period_days: 1, scan_end_time: None, updated_at }
    }

    #[test]
    fn parses_both_forms() {
        assert_eq!(parse_time_of_day("01:00"), Ok(time!(01:00)));
        assert_eq!(parse_time_of_day("11:05:07"), Ok(time!(11:05:07)));
        for bad in ["", "1:00", "24:00", "12:60", "aa:bb", "12:00:00:00", "12-00", "+1:00"] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
        assert_eq!(format_time_of_day(time!(01:00)), "01:00");
        assert_eq!(format_time_of_day(time!(01:00:05)), "01:00:05");
    }

    #[test]
    fn disabled_never_fires() {
        let mut s = settings(datetime!(2026-01-01 00:00 UTC));
        s.enable = false;
        assert_eq!(next_run(&s, None, datetime!(2026-02-01 00:00 UTC)), None);
    }

    #[test]
    fn first_slot_is_at_or_after_save_time() {
        let s = settings(datetime!(2026-01-01 00:30 UTC));
        // Saved before today's slot: fires today.
        assert_eq!(next_run(&s, None, datetime!(2026-01-01 00:31 UTC)), Some(datetime!(2026-01-01 01:00 UTC)));
        // Saved after today's slot: tomorrow.
        let s = settings(datetime!(2026-01-01 01:00:01 UTC));
        assert_eq!(next_run(&s, None, datetime!(2026-01-01 02:00 UTC)), Some(datetime!(2026-01-02 01:00 UTC)));
        // A minute ahead fires a minute later.
        let mut s = settings(datetime!(2026-01-01 10:00:30 UTC));
        s.scan_time = time!(10:01);
        assert_eq!(next_run(&s, None, datetime!(2026-01-01 10:00:31 UTC)), Some(datetime!(2026-01-01 10:01 UTC)));
    }

    #[test]
    fn follows_the_period_after_a_run() {
        let mut s = settings(datetime!(2026-01-01 00:00 UTC));
        s.scan_period_days = 3;
        let last = datetime!(2026-01-01 01:00 UTC);
        let now = datetime!(2026-01-02 12:00 UTC);
        assert_eq!(next_run(&s, Some(last), now), Some(datetime!(2026-01-04 01:00 UTC)));
        // Not due until then.
        assert!(next_run(&s, Some(last), datetime!(2026-01-04 00:59:59 UTC)).unwrap() > datetime!(2026-01-04 00:59:59 UTC));
        // Due exactly at the slot.
        assert_eq!(next_run(&s, Some(last), datetime!(2026-01-04 01:00 UTC)), Some(datetime!(2026-01-04 01:00 UTC)));
    }

    #[test]
    fn missed_runs_collapse_into_one() {
        let s = settings(datetime!(2026-01-01 00:00 UTC));
        let last = datetime!(2026-01-01 01:00 UTC);
        // Down for a week: the latest missed slot is due, once.
        let now = datetime!(2026-01-08 15:00 UTC);
        let due = next_run(&s, Some(last), now).unwrap();
        assert_eq!(due, datetime!(2026-01-08 01:00 UTC));
        assert!(due <= now);
        // After recording it, the next slot is in the future.
        assert_eq!(next_run(&s, Some(due), now), Some(datetime!(2026-01-09 01:00 UTC)));
    }

    #[test]
    fn resaving_settings_restarts_the_series() {
        let mut s = settings(datetime!(2026-01-05 09:00 UTC));
        s.scan_period_days = 7;
        s.scan_time = time!(09:30);
        let last = datetime!(2026-01-04 01:00 UTC);
        assert_eq!(next_run(&s, Some(last), datetime!(2026-01-05 09:01 UTC)), Some(datetime!(2026-01-05 09:30 UTC)));
    }

    #[test]
    fn window_deadline() {
        let mut s = settings(datetime!(2026-01-01 00:00 UTC));
        assert_eq!(deadline(&s, datetime!(2026-01-01 01:00 UTC)), None);
        s.scan_end_time = Some(time!(03:00));
        assert_eq!(deadline(&s, datetime!(2026-01-01 01:00 UTC)), Some(datetime!(2026-01-01 03:00 UTC)));
        // Wraps past midnight.
        s.scan_time = time!(23:00);
        s.scan_end_time = Some(time!(01:00));
        assert_eq!(deadline(&s, datetime!(2026-01-01 23:00 UTC)), Some(datetime!(2026-01-02 01:00 UTC)));
        // Empty window: no deadline.
        s.scan_end_time = Some(time!(23:00));
        assert_eq!(deadline(&s, datetime!(2026-01-01 23:00 UTC)), None);
    }
}
