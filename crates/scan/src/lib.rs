//! Scan orchestration: index, match, the image scan task worker and scheduler.
//! This first step holds the scheduler's pure timing logic.

pub mod schedule;

pub use schedule::{ScheduleSettings, next_run};
